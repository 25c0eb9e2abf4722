// Relay auth over real loopback QUIC (WebTransport and raw moq-00): JWT setup checks (missing, bad signature,
// expired, malformed), scopes enforced for the whole session (announce, subscribe, announcement listings), expiry
// mid-session, HS256/ES256/EdDSA keys as bytes, PEM and JWK, anonymous mode, Origin allow-lists, the
// SetupRequest.url plumbing, and the `moqt token` / `relay --auth-key` / `--token` CLI.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import {
  Client,
  Server,
  SessionError,
  SubscribeError,
  TrackMux,
  accept,
  nativeAvailable,
  type Session,
  type SetupRequest,
  type TrackWriter,
} from "../../src/index.js";
import {
  allowOrigins,
  inScope,
  prefixMatches,
  signToken,
  startRelay,
  TokenVerifier,
  type Relay,
  type RelayAuthKey,
  type RelayOptions,
} from "../../src/relay/index.js";
import { loadNative } from "../../src/transport/native/binding.js";

const skip =
  !nativeAvailable() && !process.env["CI"] ? "native addon not built: run `npm run build:native`" : false;
const enc = new TextEncoder();
const dec = new TextDecoder();
const SCHEMES = ["https", "moqt"] as const;
type Scheme = (typeof SCHEMES)[number];

const SECRET = new Uint8Array(randomBytes(32));
const OTHER_SECRET = new Uint8Array(randomBytes(32));
const ALL = { publish: ["/"], subscribe: ["/"] };

async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, 10));
}

interface Env {
  relay: Relay;
  client: Client;
  url(token?: string, path?: string): string;
  dial(token?: string, mux?: TrackMux): Promise<Session>;
}

async function withRelay(scheme: Scheme, opts: RelayOptions, fn: (env: Env) => Promise<void>): Promise<void> {
  const relay = await startRelay({ listen: "127.0.0.1:0", http: "127.0.0.1:0", ...opts });
  const client = new Client({ tls: { insecureSkipVerify: true }, bitrateMonitor: false });
  const url = (token?: string, path = "/") =>
    `${scheme}://127.0.0.1:${relay.port}${path}${token !== undefined ? `?jwt=${token}` : ""}`;
  try {
    await fn({ relay, client, url, dial: (token, mux) => client.dial(url(token), mux ?? new TrackMux()) });
  } finally {
    await client.close().catch(() => {});
    await relay.close();
  }
}

const authed = (keys: RelayAuthKey[] = [SECRET]): RelayOptions => ({ auth: { keys } });

async function rejectsWith(p: Promise<unknown>, code: number): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof SessionError, `want a SessionError, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}

/** A mux publishing `paths`; each track gets one group with the frame "<path> <track>". */
function publisher(paths: string[]): TrackMux {
  const mux = new TrackMux();
  for (const p of paths)
    mux.publishFunc(undefined, p, async (tw: TrackWriter) => {
      const g = await tw.openGroup(0);
      await g.writeFrame(enc.encode(`${p} ${tw.trackName}`));
      await g.close();
    });
  return mux;
}

async function firstFrame(s: Session, path: string, track = "t"): Promise<string> {
  const tr = await s.subscribe(path, track);
  const g = await tr.acceptGroup();
  const f = await g!.readFrame();
  void tr.close();
  return dec.decode(f!.body());
}

/** Read `s`'s announcements under "/" until `sentinel` is active; the paths seen on the way. */
async function seenUntil(s: Session, sentinel: string): Promise<string[]> {
  const ar = await s.acceptAnnounce("/");
  const seen: string[] = [];
  try {
    for (;;) {
      const a = await ar.receiveAnnouncement();
      seen.push(a.broadcastPath);
      if (a.broadcastPath === sentinel) return seen;
    }
  } finally {
    void ar.close();
  }
}

function metric(relay: Relay, kind: string): Promise<number> {
  return fetch(`http://127.0.0.1:${relay.httpPort}/metrics`)
    .then((r) => r.text())
    .then((t) => {
      const m = new RegExp(`^moqt_relay_auth_denied_total\\{kind="${kind}"\\} (\\d+)$`, "m").exec(t);
      assert.ok(m, `no auth metric for ${kind}`);
      return Number(m[1]);
    });
}

describe("relay auth: tokens and prefixes (no network)", () => {
  it("prefix matching respects path boundaries", () => {
    assert.ok(prefixMatches("/", "/x"));
    assert.ok(prefixMatches("/a/", "/a/x"));
    assert.ok(prefixMatches("/a/", "/a/x/y"));
    assert.ok(!prefixMatches("/a/", "/a"));
    assert.ok(!prefixMatches("/a/", "/ab"));
    assert.ok(prefixMatches("/a", "/a"));
    assert.ok(prefixMatches("/a", "/a/x"));
    assert.ok(!prefixMatches("/a", "/ab"));
    assert.ok(!inScope([], "/a"));
    assert.ok(inScope(["/b/", "/a"], "/a/z"));
  });

  it("verifies HS256 (bytes, oct JWK), ES256 (PEM, JWK) and EdDSA (PEM) tokens; refuses others", async () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const ed = generateKeyPairSync("ed25519");
    const ecPriv = ec.privateKey.export({ type: "pkcs8", format: "pem" });
    const ecPubJwk = ec.publicKey.export({ format: "jwk" });
    const edPriv = ed.privateKey.export({ type: "pkcs8", format: "pem" });
    const edPub = ed.publicKey.export({ type: "spki", format: "pem" });
    const oct = { kty: "oct", k: Buffer.from(SECRET).toString("base64url") };
    const v = new TokenVerifier([oct, JSON.stringify({ ...ecPubJwk, kid: "ec1" }), edPub]);
    const scope = { publish: ["/a/"], subscribe: ["/b/"] };
    for (const key of [SECRET, ecPriv, edPriv] as RelayAuthKey[]) {
      const g = await v.verify(await signToken(key, { ...scope, ttl: 60 }));
      assert.deepEqual([g.publish, g.subscribe], [scope.publish, scope.subscribe]);
      assert.ok(g.expiresAt > Date.now() && g.expiresAt <= Date.now() + 61_000);
    }
    await assert.rejects(v.verify(await signToken(OTHER_SECRET, scope)), { reason: "signature" });
    await assert.rejects(v.verify(await signToken(SECRET, { ...scope, ttl: -10 })), { reason: "expired" });
    await assert.rejects(v.verify(undefined), { reason: "missing" });
    await assert.rejects(v.verify("not.a.token"), { reason: "malformed" });
    await assert.rejects(v.verify(await signToken(SECRET, { ...scope, alg: "HS256" }).then((t) => t + "x")));
    await assert.rejects(signToken(SECRET, { alg: "ES256" }), /does not fit/);
    assert.throws(() => new TokenVerifier([new Uint8Array(16)]), /too short/);
  });
});

describe("relay auth", { skip, timeout: 60_000 }, () => {
  for (const scheme of SCHEMES) {
    it(`refuses setup without a token, with a bad signature, expired or malformed: SessionError 0x2 (${scheme})`, async () => {
      await withRelay(scheme, authed(), async ({ relay, dial }) => {
        await rejectsWith(dial(), 0x2);
        await rejectsWith(dial(await signToken(OTHER_SECRET, ALL)), 0x2);
        await rejectsWith(dial(await signToken(SECRET, { ...ALL, ttl: -5 })), 0x2);
        await rejectsWith(dial("garbage"), 0x2);
        assert.equal(relay.stats().authDenied.setup, 4);
        assert.equal(await metric(relay, "setup"), 4);
        // A good token still gets in, and the relay serves it.
        const s = await dial(await signToken(SECRET, ALL));
        assert.equal(s.path, "/", "the session path carries no query");
        assert.equal(relay.stats().sessionsOpen, 1);
      });
    });

    it(`keeps a session to its publish and subscribe prefixes (${scheme})`, async () => {
      await withRelay(scheme, authed(), async ({ relay, dial }) => {
        const full = await signToken(SECRET, ALL);
        // A may publish under /a/ and subscribe under /b/; it announces /a/x (allowed) and /c (not).
        const scoped = await signToken(SECRET, { publish: ["/a/"], subscribe: ["/b/"] });
        const observer = await dial(full);
        await dial(scoped, publisher(["/a/x", "/c"]));
        await until(() => relay.stats().authDenied.announce === 1);
        assert.equal(await firstFrame(observer, "/a/x"), "/a/x t", "the allowed announcement is relayed");
        await assert.rejects(
          observer.subscribe("/c", "t"),
          (e: unknown) => e instanceof SubscribeError && e.code === 3,
          "the refused announcement is not relayed",
        );
        // A full publisher P announces /a/y and /b/y; A may subscribe to /b/y only.
        const p = await dial(full, publisher(["/a/y", "/b/y", "/b/z"]));
        const a = await dial(scoped);
        assert.equal(await firstFrame(a, "/b/y"), "/b/y t");
        await assert.rejects(
          a.subscribe("/a/y", "t"),
          (e: unknown) => e instanceof SubscribeError && e.code === 4 && e.remote,
        );
        await assert.rejects(
          a.subscribe("/a/x", "t"),
          (e: unknown) => e instanceof SubscribeError && e.code === 4,
        );
        // A's listing shows /b/… only; /c (refused) and /a/x, /a/y (outside subscribe) never appear. The observer
        // sees everything relayed; /c never.
        const seenByA = await seenUntil(a, "/b/z");
        assert.deepEqual(
          seenByA.filter((x) => !x.startsWith("/b/")),
          [],
        );
        assert.ok(seenByA.includes("/b/y"));
        const seenByObserver = await seenUntil(observer, "/b/z");
        assert.ok(!seenByObserver.includes("/c"));
        assert.ok(seenByObserver.includes("/a/x") && seenByObserver.includes("/a/y"));
        assert.equal(relay.stats().authDenied.subscribe, 2);
        assert.equal(await metric(relay, "subscribe"), 2);
        assert.equal(await metric(relay, "announce"), 1);
        void p;
      });
    });

    it(`closes a session with SessionError 0x2 when its token expires (${scheme})`, async () => {
      await withRelay(scheme, authed(), async ({ relay, dial }) => {
        const s = await dial(await signToken(SECRET, { ...ALL, ttl: 2 }));
        const long = await dial(await signToken(SECRET, { ...ALL, ttl: 3600 }));
        const err = await s.closed;
        assert.ok(err instanceof SessionError, `want a SessionError, got ${String(err)}`);
        assert.equal(err.code, 0x2);
        assert.ok(err.remote);
        assert.equal(relay.stats().authDenied.expired, 1);
        assert.ok(!long.signal.aborted, "a session with a longer token stays open");
      });
    });

    it(`anonymous relay (no auth): everything allowed, a stray ?jwt= ignored (${scheme})`, async () => {
      await withRelay(scheme, {}, async ({ relay, dial }) => {
        await dial(undefined, publisher(["/demo"]));
        const sub = await dial("not-a-token");
        assert.equal(await firstFrame(sub, "/demo"), "/demo t");
        assert.deepEqual(relay.stats().authDenied, { setup: 0, expired: 0, announce: 0, subscribe: 0 });
      });
    });
  }

  it("accepts tokens from any configured key (ES256 public PEM, EdDSA JWK, HS256 secret)", async () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const ed = generateKeyPairSync("ed25519");
    const keys: RelayAuthKey[] = [
      ec.publicKey.export({ type: "spki", format: "pem" }),
      ed.publicKey.export({ format: "jwk" }),
      SECRET,
    ];
    await withRelay("https", authed(keys), async ({ dial }) => {
      for (const k of [
        ec.privateKey.export({ type: "pkcs8", format: "pem" }),
        ed.privateKey.export({ type: "pkcs8", format: "pem" }),
        SECRET,
      ] as RelayAuthKey[])
        await dial(await signToken(k, ALL));
      const other = generateKeyPairSync("ec", { namedCurve: "P-256" });
      await rejectsWith(
        dial(await signToken(other.privateKey.export({ type: "pkcs8", format: "pem" }), ALL)),
        0x2,
      );
    });
  });

  it("required: false lets tokenless sessions in with the anonymous scope; a bad token is still refused", async () => {
    await withRelay(
      "moqt",
      { auth: { keys: [SECRET], required: false, anonymous: { publish: [], subscribe: ["/pub/"] } } },
      async ({ relay, dial }) => {
        await dial(await signToken(SECRET, { publish: ["/pub/"] }), publisher(["/pub/x"]));
        const anon = await dial();
        assert.equal(await firstFrame(anon, "/pub/x"), "/pub/x t");
        await dial(undefined, publisher(["/pub/mine"]));
        await until(() => relay.stats().authDenied.announce === 1);
        await rejectsWith(dial(await signToken(OTHER_SECRET, ALL)), 0x2);
      },
    );
  });

  it("--allow-origin style checks: another origin gets HTTP 403, the allowed one and non-browser clients get in", async () => {
    await withRelay(
      "https",
      { checkOrigin: allowOrigins(["https://good.example"]) },
      async ({ relay, dial }) => {
        // The addon's connect takes an Origin header (a browser always sends one).
        const connect = loadNative().connect as (
          url: string,
          opts: Record<string, unknown>,
        ) => Promise<{ close(code: number, reason: string): void }>;
        const url = `https://127.0.0.1:${relay.port}/`;
        await assert.rejects(connect(url, { insecure: true, origin: "https://evil.example" }), /403/);
        const ok = await connect(url, { insecure: true, origin: "https://good.example" });
        ok.close(0, "");
        await dial();
      },
    );
    const check = allowOrigins(["https://a.example/", "http://localhost:8080"]);
    assert.ok(check("https://a.example") && check("http://localhost:8080") && check(undefined));
    assert.ok(!check("https://b.example") && !check("http://localhost:8081") && !check("null"));
    assert.ok(allowOrigins(["*"])("https://anything"));
  });

  for (const scheme of SCHEMES) {
    it(`SetupRequest: bare path, url with the query (${scheme})`, async () => {
      const seen: SetupRequest[] = [];
      const server = new Server({
        addr: "127.0.0.1:0",
        bitrateMonitor: false,
        setupHandler: async (w, r) => {
          seen.push(r);
          await accept(w, r, new TrackMux());
        },
      });
      server.listen();
      const client = new Client({ tls: { insecureSkipVerify: true }, bitrateMonitor: false });
      try {
        const s = await client.dial(`${scheme}://127.0.0.1:${server.port}/room/1?jwt=abc&x=1`);
        assert.equal(s.path, "/room/1");
        await client.dial(`${scheme}://127.0.0.1:${server.port}/plain`);
        assert.equal(seen[0]!.path, "/room/1");
        assert.equal(new URL(seen[0]!.url!, "moqt://h/").search, "?jwt=abc&x=1");
        assert.equal(seen[1]!.path, "/plain");
        assert.equal(new URL(seen[1]!.url!, "moqt://h/").pathname, "/plain");
        if (scheme === "moqt") assert.equal(seen[0]!.url, "/room/1?jwt=abc&x=1");
        else assert.equal(seen[0]!.url, `https://127.0.0.1:${server.port}/room/1?jwt=abc&x=1`);
      } finally {
        await client.close();
        await server.close();
      }
    });
  }
});

// ---- CLI ----

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const MAIN = join(root, "src", "cli", "main.ts");

function run(args: string[], input?: string): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", MAIN, ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 30_000,
    ...(input !== undefined ? { input } : {}),
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function runAsync(
  args: string[],
  input?: string,
): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], { cwd: root });
  let out = "",
    err = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
  if (input !== undefined) child.stdin.end(input);
  else child.stdin.end();
  return once(child, "exit").then(([code]) => ({ code: code as number | null, out, err }));
}

describe("relay auth CLI", { skip, timeout: 90_000 }, () => {
  it("moqt token signs tokens the relay takes; relay --auth-key; pub/sub --token; refusals are clear", async () => {
    const dir = mkdtempSync(join(tmpdir(), "moqt-auth-"));
    let relayProc: ChildProcessWithoutNullStreams | undefined;
    try {
      writeFileSync(join(dir, "secret.key"), randomBytes(32));
      const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
      writeFileSync(join(dir, "ec.pem"), ec.privateKey.export({ type: "sec1", format: "pem" }));
      writeFileSync(join(dir, "ec.pub.pem"), ec.publicKey.export({ type: "spki", format: "pem" }));
      relayProc = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          MAIN,
          "relay",
          "--listen",
          "127.0.0.1:0",
          "--http",
          "off",
          "--auth-key",
          join(dir, "secret.key"),
          "--auth-key",
          join(dir, "ec.pub.pem"),
        ],
        { cwd: root },
      );
      const rl = createInterface({ input: relayProc.stdout });
      let stderr = "";
      relayProc.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      const line = await Promise.race([
        once(rl, "line").then(([l]) => l as string),
        once(relayProc, "exit").then(() => {
          throw new Error(`relay exited: ${stderr}`);
        }),
      ]);
      rl.close();
      const quic = /quic=(\S+)/.exec(line)![1]!;

      const pubTok = run(["token", "--key", join(dir, "ec.pem"), "--publish", "/live/", "--ttl", "60"]);
      assert.equal(pubTok.code, 0, pubTok.err);
      const subTok = run([
        "token",
        "--key",
        join(dir, "secret.key"),
        "--alg",
        "HS256",
        "--subscribe",
        "/live/",
      ]);
      assert.equal(subTok.code, 0, subTok.err);
      const [pt, st] = [pubTok.out.trim(), subTok.out.trim()];
      assert.match(pt, /^[\w-]+\.[\w-]+\.[\w-]+$/);

      for (const scheme of SCHEMES) {
        const url = `${scheme}://${quic}/`;
        const path = `/live/${scheme}`;
        const pub = runAsync(["pub", url, path, "text", "--insecure", "--token", pt], "one\ntwo\n");
        const sub = await runAsync(["sub", url, path, "text", "--insecure", "--token", st]);
        assert.equal(sub.code, 0, sub.err);
        assert.equal(sub.out, "one\ntwo\n");
        assert.equal((await pub).code, 0);
      }
      const noTok = await runAsync(["sub", `moqt://${quic}/`, "/live/x", "text", "--insecure"]);
      assert.equal(noTok.code, 1);
      assert.match(noTok.err, /Unauthorized[\s\S]*--token/);
      assert.ok(!noTok.err.includes(st));
      const badScope = await runAsync([
        "sub",
        `https://${quic}/`,
        "/other",
        "text",
        "--insecure",
        "--token",
        st,
      ]);
      assert.equal(badScope.code, 1);
      assert.match(badScope.err, /Unauthorized/);
    } finally {
      if (relayProc && relayProc.exitCode === null) {
        relayProc.kill("SIGTERM");
        await once(relayProc, "exit").catch(() => {});
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("--help for token, relay (auth options) and --token on pub/sub/announce; usage errors", () => {
    const t = run(["token", "--help"]);
    assert.equal(t.code, 0);
    assert.match(t.out, /--publish PREFIX/);
    assert.match(run(["relay", "--help"]).out, /--auth-key FILE[\s\S]*--allow-origin ORIGIN/);
    for (const c of ["pub", "sub", "announce"]) assert.match(run([c, "--help"]).out, /--token TOKEN/);
    assert.equal(run(["token"]).code, 2);
    assert.equal(run(["token", "--key", "/nonexistent", "--alg", "RS256"]).code, 2);
    assert.equal(run(["token", "--key", "/nonexistent", "--publish", "/a", "--ttl", "0"]).code, 2);
  });
});
