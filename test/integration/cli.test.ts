// The `moqt` command as child processes over real loopback: relay + pub + sub round trips (WebTransport and raw
// QUIC, --insecure and --cert-hash), announce, errors, help, and the bin launcher.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { nativeAvailable } from "../../src/index.js";

const skip =
  !nativeAvailable() && !process.env["CI"] ? "native addon not built: run `npm run build:native`" : false;
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const MAIN = join(root, "src", "cli", "main.ts");

interface Proc {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** Run the CLI from source (the tree under test, never a stale build). */
function moqt(args: string[]): Proc {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
    cwd: root,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exit = once(child, "exit").then(([code]) => code as number | null);
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function stop(p: Proc | undefined): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill("SIGTERM");
  await p.exit;
}

interface RelayInfo {
  quic: string;
  http: string;
  hash: string;
}

/** Start `moqt relay` on free ports; parse its first stdout line. */
async function startRelay(): Promise<[Proc, RelayInfo]> {
  const p = moqt(["relay", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"]);
  const rl = createInterface({ input: p.child.stdout });
  const exited = p.exit.then((c) => {
    throw new Error(`relay exited (${c}): ${p.stderr()}`);
  });
  const line = await Promise.race([once(rl, "line").then(([l]) => l as string), exited]);
  rl.close();
  const m = /^listening quic=(\S+) http=(\S+) cert-sha256=([0-9a-f]{64})$/.exec(line);
  assert.ok(m, `unexpected first line: ${line}`);
  return [p, { quic: m[1]!, http: m[2]!, hash: m[3]! }];
}

const lines = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1} ${"x".repeat(i % 7)}`);

async function roundTrip(scheme: "https" | "moqt", auth: "insecure" | "hash"): Promise<void> {
  let relay: Proc | undefined, pub: Proc | undefined, sub: Proc | undefined;
  try {
    const [r, info] = await startRelay();
    relay = r;
    const url = `${scheme}://${info.quic}/`;
    const subAuth = auth === "insecure" ? ["--insecure"] : ["--cert-hash", info.hash];
    const input = lines(100);
    // The publisher gets all its input at once; it starts reading when its first subscriber arrives.
    pub = moqt(["pub", url, "/demo", "text", "--insecure", "--group-frames", "10"]);
    pub.child.stdin.end(input.join("\n") + "\n");
    sub = moqt(["sub", url, "/demo", "text", ...subAuth]);
    const [subCode, pubCode] = await Promise.all([sub.exit, pub.exit]);
    assert.equal(subCode, 0, `sub failed: ${sub.stderr()}`);
    assert.equal(pubCode, 0, `pub failed: ${pub.stderr()}`);
    assert.equal(sub.stdout(), input.join("\n") + "\n");

    const hash = await (await fetch(`http://${info.http}/certificate.sha256`)).text();
    assert.equal(hash.trim(), info.hash);
    const metrics = await (await fetch(`http://${info.http}/metrics`)).text();
    assert.match(metrics, /^moqt_relay_sessions_total 2$/m);
    assert.match(metrics, /^moqt_relay_groups_in_total 10$/m);
    assert.match(metrics, /^moqt_relay_groups_out_total 10$/m);
    assert.match(metrics, /^moqt_relay_frames_out_total 100$/m);
  } finally {
    await Promise.all([stop(sub), stop(pub)]);
    await stop(relay);
  }
}

describe("moqt CLI", { skip, timeout: 60_000 }, () => {
  it("round trip through `moqt relay`: pub --group-frames 10 of 100 lines, sub prints them in order (WebTransport, --insecure)", () =>
    roundTrip("https", "insecure"));

  it("round trip over raw QUIC (moqt://) with the subscriber pinning --cert-hash", () =>
    roundTrip("moqt", "hash"));

  it("announce prints broadcasts as they come (+) and go (-)", async () => {
    let relay: Proc | undefined, ann: Proc | undefined, pub: Proc | undefined;
    try {
      const [r, info] = await startRelay();
      relay = r;
      const url = `https://${info.quic}/`;
      ann = moqt(["announce", url, "/", "--insecure"]);
      const rl = createInterface({ input: ann.child.stdout });
      const seen: string[] = [];
      const it = rl[Symbol.asyncIterator]();
      const next = async () => String((await it.next()).value);
      pub = moqt(["pub", url, "/room/1", "chat", "--insecure", "--no-wait", "--linger", "0"]);
      seen.push(await next());
      assert.deepEqual(seen, ["+ /room/1"]);
      pub.child.stdin.end("hello\n");
      assert.equal(await pub.exit, 0, pub.stderr());
      seen.push(await next());
      assert.deepEqual(seen, ["+ /room/1", "- /room/1"]);
      rl.close();
    } finally {
      await Promise.all([stop(ann), stop(pub)]);
      await stop(relay);
    }
  });

  it("sub exits non-zero with a clear message when the broadcast does not exist", async () => {
    let relay: Proc | undefined;
    try {
      const [r, info] = await startRelay();
      relay = r;
      const sub = moqt(["sub", `https://${info.quic}/`, "/nothing", "t", "--insecure", "--wait", "0"]);
      assert.equal(await sub.exit, 1);
      assert.match(sub.stderr(), /moqt sub: cannot subscribe to \/nothing t: .*TrackNotFound/);
      assert.equal(sub.stdout(), "");
    } finally {
      await stop(relay);
    }
  });

  it("sub fails clearly when the certificate cannot be verified", async () => {
    let relay: Proc | undefined;
    try {
      const [r, info] = await startRelay();
      relay = r;
      const sub = moqt(["sub", `https://${info.quic}/`, "/x", "t", "--cert-hash", "00".repeat(32)]);
      assert.equal(await sub.exit, 1);
      assert.match(sub.stderr(), /moqt sub: cannot connect to https:\/\//);
    } finally {
      await stop(relay);
    }
  });

  it("--help for every subcommand; usage errors exit 2", () => {
    for (const cmd of ["relay", "pub", "sub", "announce"]) {
      const r = spawnSync(process.execPath, ["--import", "tsx", MAIN, cmd, "--help"], {
        cwd: root,
        encoding: "utf8",
      });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^usage: moqt ${cmd} `));
    }
    const bad = spawnSync(process.execPath, ["--import", "tsx", MAIN, "sub", "ftp://x/", "/a", "t"], {
      cwd: root,
      encoding: "utf8",
    });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unsupported URL scheme ftp:/);
    const linger = spawnSync(
      process.execPath,
      ["--import", "tsx", MAIN, "relay", "--upstream-linger=-5", "--http", "off"],
      { cwd: root, encoding: "utf8" },
    );
    assert.equal(linger.status, 2);
    assert.match(linger.stderr, /--upstream-linger wants milliseconds, got -5/);
    const unknown = spawnSync(process.execPath, ["--import", "tsx", MAIN, "frobnicate"], {
      cwd: root,
      encoding: "utf8",
    });
    assert.equal(unknown.status, 2);
  });

  it("the bin launcher runs the CLI", () => {
    const r = spawnSync(process.execPath, [join(root, "bin", "moqt.js"), "--help"], {
      cwd: root,
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^usage: moqt <command>/);
  });
});
