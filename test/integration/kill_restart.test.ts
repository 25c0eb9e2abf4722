// Processes killed with SIGKILL over real loopback: a publisher process killed while a group is half written (the
// relay, a `moqt relay` child, must end the broadcast with typed errors once QUIC gives up on the dead publisher, and
// serve a new `moqt pub` afterwards), and the `moqt relay` killed while a group is half written (publisher and
// subscriber sessions must end, and a relay restarted on the same port must serve again).
//
// Nothing here measures time: the waits are "eventually", bounded by the test timeout. The dead peer is only noticed
// through the QUIC idle timeout, which QUIC takes as the smaller of both peers' values: the killed publisher (a child
// running the library's Client, since `moqt pub` has no idle-timeout flag) and the in-test Client of the relay test
// set `idleTimeoutMs: IDLE_MS`, so neither waits out the 30 s default.
import { describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import {
  Client,
  GroupError,
  GroupErrorCode,
  SessionError,
  SessionErrorCode,
  SubscribeError,
  TrackMux,
  nativeAvailable,
  type Announcement,
  type GroupReader,
  type Session,
  type TrackReader,
} from "../../src/index.js";
import { PUBLISHER_GONE } from "../../src/relay/index.js";

const skip =
  !nativeAvailable() && !process.env["CI"] ? "native addon not built: run `npm run build:native`" : false;
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const MAIN = join(root, "src", "cli", "main.ts");
const enc = new TextEncoder();
const dec = new TextDecoder();
/** The idle timeout the dying peers' sessions negotiate (ms). */
const IDLE_MS = 3000;

interface Proc {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A publisher process on the library (from source): dials `url` with `idleTimeoutMs: IDLE_MS`, serves `path`
 *  track `text` with frames f0..f4 in group 0 and keeps that group open, printing "half-written" once it is. */
function halfWritingPublisher(url: string, path: string): Proc {
  const code = `
    const [root, url, path, idle] = process.argv.slice(1);
    const { Client, TrackMux } = await import(root + "/src/index.ts");
    const mux = new TrackMux();
    mux.publishFunc(undefined, path, async (tw) => {
      const g = await tw.openGroup(0);
      for (let i = 0; i < 5; i++) await g.writeFrame(new TextEncoder().encode("f" + i));
      console.log("half-written");
      await new Promise(() => {});
    });
    const client = new Client({ tls: { insecureSkipVerify: true }, bitrateMonitor: false, idleTimeoutMs: Number(idle) });
    await client.dial(url, mux);
    setInterval(() => {}, 1 << 30);
  `;
  return spawnProc(["--import", "tsx", "--input-type=module", "-e", code, root, url, path, String(IDLE_MS)]);
}

/** Run the CLI from source. */
function moqt(args: string[]): Proc {
  return spawnProc(["--import", "tsx", MAIN, ...args]);
}

function spawnProc(args: string[]): Proc {
  const child = spawn(process.execPath, args, {
    cwd: root,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
  const exit = once(child, "exit").then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return { child, stdout: () => out, stderr: () => err, exit };
}

const running = (p: Proc | undefined): p is Proc =>
  p !== undefined && p.child.exitCode === null && p.child.signalCode === null;

async function stop(p: Proc | undefined): Promise<void> {
  if (!running(p)) return;
  p.child.kill("SIGTERM");
  const t = setTimeout(() => p.child.kill("SIGKILL"), 5000);
  await p.exit;
  clearTimeout(t);
}

async function kill(p: Proc): Promise<void> {
  p.child.kill("SIGKILL");
  const { signal } = await p.exit;
  assert.equal(signal, "SIGKILL");
}

interface RelayInfo {
  quic: string;
  http: string;
  port: number;
}

/** Start `moqt relay` (UDP `listen`, HTTP on a free port); parse its first stdout line. */
async function startRelay(listen = "127.0.0.1:0"): Promise<[Proc, RelayInfo]> {
  const p = moqt(["relay", "--listen", listen, "--http", "127.0.0.1:0"]);
  const rl = createInterface({ input: p.child.stdout });
  const exited = p.exit.then(({ code }) => {
    throw new Error(`relay exited (${code}): ${p.stderr()}`);
  });
  try {
    const line = await Promise.race([once(rl, "line").then(([l]) => l as string), exited]);
    const m = /^listening quic=(\S+) http=(\S+) cert-sha256=[0-9a-f]{64}$/.exec(line);
    assert.ok(m, `unexpected first line: ${line}`);
    return [p, { quic: m[1]!, http: m[2]!, port: Number(m[1]!.split(":").pop()) }];
  } catch (e) {
    await stop(p);
    throw e;
  } finally {
    rl.close();
  }
}

/** Gauges and counters from the relay's /metrics ("name{labels}" → value). */
async function metrics(info: RelayInfo): Promise<Map<string, number>> {
  const text = await (await fetch(`http://${info.http}/metrics`)).text();
  const m = new Map<string, number>();
  for (const line of text.split("\n")) {
    const r = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (r) m.set(r[1]!, Number(r[2]));
  }
  return m;
}

/** Poll `cond` until it holds (the test's own timeout bounds the wait). */
async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, 50));
}

/** Wait until `session` sees `path` announced and active. */
async function announced(session: Session, path: string): Promise<Announcement> {
  const ar = await session.acceptAnnounce("/");
  for (;;) {
    const a = await ar.receiveAnnouncement();
    if (a.broadcastPath === path && a.isActive()) return a;
  }
}

/** Subscribe, retrying TrackNotFound while the broadcast is still being announced. */
async function subscribeWhenAnnounced(session: Session, path: string, track: string): Promise<TrackReader> {
  await announced(session, path);
  for (;;) {
    try {
      return await session.subscribe(path, track);
    } catch (e) {
      if (!(e instanceof SubscribeError && e.code === PUBLISHER_GONE)) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Read `n` frames of `g` as strings. */
async function readFrames(g: GroupReader, n: number): Promise<string[]> {
  const out: string[] = [];
  while (out.length < n) {
    const f = await g.readFrame();
    assert.ok(f !== null, `group ${g.groupSequence} ended after ${out.length} frames`);
    out.push(dec.decode(f.body()));
  }
  return out;
}

/** Every frame of every group of `tr` until it ends, in sequence order. */
async function collectAll(tr: TrackReader): Promise<string[]> {
  const groups: { seq: number; frames: string[] }[] = [];
  const reads: Promise<void>[] = [];
  for await (const g of tr) {
    const got = { seq: Number(g.groupSequence), frames: [] as string[] };
    groups.push(got);
    reads.push(
      (async () => {
        for await (const f of g.frames()) got.frames.push(dec.decode(f.body()));
      })(),
    );
  }
  await Promise.all(reads);
  return groups.sort((a, b) => a.seq - b.seq).flatMap((g) => g.frames);
}

/** How a session ended: what `closed` resolved to and the signal's reason. */
async function ending(s: Session): Promise<string> {
  const err = await s.closed;
  assert.ok(s.signal.aborted, "the session signal aborts when the session ends");
  const reason: unknown = s.signal.reason;
  assert.ok(reason instanceof SessionError, `signal reason is a SessionError, got ${String(reason)}`);
  return `closed → ${err === undefined ? "undefined (NoError)" : `SessionError ${err.code} remote=${err.remote}`}; signal.reason: ${reason.message}`;
}

/** `p`, marked handled now (it may reject before the test awaits it). */
function settled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

const describeError = (e: unknown): string =>
  e instanceof SubscribeError || e instanceof GroupError || e instanceof SessionError
    ? `${e.constructor.name} ${e.code} remote=${e.remote}`
    : String(e);

describe("kill and restart (SIGKILL, real loopback)", { skip, timeout: 120_000, concurrency: true }, () => {
  it("a publisher killed mid-group: the relay ends the broadcast (ENDED, SubscribeError 3, GroupError 5) and serves a new publisher", async (t: TestContext) => {
    let relay: Proc | undefined, pub: Proc | undefined, pub2: Proc | undefined, cliSub: Proc | undefined;
    const client = new Client({ tls: { insecureSkipVerify: true }, bitrateMonitor: false });
    try {
      const [r, info] = await startRelay();
      relay = r;
      const url = `https://${info.quic}/`;
      // The publisher writes 5 frames of group 0 and keeps it open: a half-written group.
      pub = halfWritingPublisher(url, "/kill");

      const watcher = await client.dial(`moqt://${info.quic}/`);
      const ann = await announced(watcher, "/kill");
      const sub = await client.dial(url);
      const tr = await subscribeWhenAnnounced(sub, "/kill", "text");
      const g0 = await tr.acceptGroup();
      assert.equal(g0.groupSequence, 0);
      assert.deepEqual(await readFrames(g0, 5), ["f0", "f1", "f2", "f3", "f4"]);
      // A CLI subscriber too: it must exit (not hang) with the error on stderr.
      cliSub = moqt(["sub", url, "/kill", "text", "--insecure"]);
      await until(async () => (await metrics(info)).get('moqt_relay_subscriptions{broadcast="/kill"}') === 2);

      await kill(pub);

      // The relay notices only when QUIC gives up on the dead connection (idle timeout).
      const nextFrame = settled(g0.readFrame());
      const nextGroup = settled(tr.acceptGroup());
      await ann.ended;
      assert.equal(ann.isActive(), false);
      await assert.rejects(nextGroup, (e: unknown) => {
        assert.ok(e instanceof SubscribeError, `expected SubscribeError, got ${String(e)}`);
        assert.equal(e.code, PUBLISHER_GONE);
        assert.equal(e.remote, true);
        return true;
      });
      await assert.rejects(nextFrame, (e: unknown) => {
        assert.ok(e instanceof GroupError, `expected GroupError, got ${String(e)}`);
        assert.equal(e.code, GroupErrorCode.PublishAborted);
        assert.equal(e.remote, true);
        return true;
      });
      const cliExit = await cliSub.exit;
      assert.equal(cliExit.code, 1, cliSub.stderr());
      assert.match(cliSub.stderr(), /subscription to \/kill text ended: .*TrackNotFound \(3, remote\)/);
      t.diagnostic(`moqt sub stderr: ${cliSub.stderr().trim().replace(/\n/g, " | ")}`);

      // The relay is alive and back to its baseline: the publisher's and the CLI subscriber's sessions are gone.
      assert.ok(running(relay), "the relay is still running");
      await until(async () => {
        const m = await metrics(info);
        return m.get("moqt_relay_sessions_open") === 2 && m.get("moqt_relay_announcements_active") === 0;
      });
      assert.equal(sub.signal.aborted, false, "the subscriber's session survives its publisher");
      assert.equal(watcher.signal.aborted, false);

      // A new publisher on the same path is served to the surviving sessions.
      const lines = Array.from({ length: 20 }, (_, i) => `again ${i}`);
      pub2 = moqt(["pub", url, "/kill", "text", "--insecure", "--group-frames", "5"]);
      pub2.child.stdin.end(lines.join("\n") + "\n");
      const ann2 = await announced(watcher, "/kill");
      const tr2 = await subscribeWhenAnnounced(sub, "/kill", "text");
      assert.deepEqual(await collectAll(tr2), lines);
      assert.equal((await pub2.exit).code, 0, pub2.stderr());
      await ann2.ended;
      assert.ok(running(relay), "the relay is still running");
      assert.equal(relay.stderr(), "", "the relay printed nothing on stderr");
    } finally {
      await client.close().catch(() => {});
      await Promise.all([stop(pub), stop(pub2), stop(cliSub)]);
      await stop(relay);
    }
  });

  it("the relay killed mid-group: publisher and subscriber sessions end; a relay restarted on the same port serves again", async (t: TestContext) => {
    let relay: Proc | undefined, relay2: Proc | undefined;
    // The short idle timeout ends the sessions to the killed relay soon (both sessions negotiate it).
    const client = new Client({
      tls: { insecureSkipVerify: true },
      bitrateMonitor: false,
      idleTimeoutMs: IDLE_MS,
    });
    try {
      const [r, info] = await startRelay();
      relay = r;
      // The publisher (raw QUIC) writes group 0 halfway and keeps it open.
      let groupOpen!: () => void;
      const halfWritten = new Promise<void>((res) => (groupOpen = res));
      const pubWrites: string[] = [];
      const pubMux = new TrackMux();
      pubMux.publishFunc(undefined, "/restart", async (tw) => {
        const g = await tw.openGroup(0);
        for (let i = 0; i < 5; i++) await g.writeFrame(enc.encode(`f${i}`));
        groupOpen();
        try {
          await new Promise((res, rej) => tw.signal.addEventListener("abort", () => rej(tw.signal.reason)));
        } catch (e) {
          pubWrites.push(`track writer signal: ${describeError(e)}`);
        }
        try {
          await g.writeFrame(enc.encode("late"));
          pubWrites.push("write after the end: accepted");
        } catch (e) {
          pubWrites.push(`write after the end: ${describeError(e)}`);
        }
      });
      const pubSession = await client.dial(`moqt://${info.quic}/`, pubMux);
      const subSession = await client.dial(`https://${info.quic}/`);
      const tr = await subscribeWhenAnnounced(subSession, "/restart", "t");
      const g0 = await tr.acceptGroup();
      assert.deepEqual(await readFrames(g0, 5), ["f0", "f1", "f2", "f3", "f4"]);
      await halfWritten;

      await kill(relay);
      const nextFrame = g0.readFrame().then(
        (f) => `frame ${f === null ? "null (FIN)" : dec.decode(f.body())}`,
        (e: unknown) => `group: ${describeError(e)}`,
      );
      const nextGroup = tr.acceptGroup().then(
        (g) => `group ${g.groupSequence}`,
        (e: unknown) => `track: ${describeError(e)}`,
      );

      // Restart at once on the same UDP port (the old clients' packets now reach a relay that does not know them).
      [relay2] = await startRelay(`127.0.0.1:${info.port}`);

      // Both old sessions end (QUIC idle timeout: nothing answers them any more).
      const [pubEnd, subEnd] = await Promise.all([ending(pubSession), ending(subSession)]);
      t.diagnostic(`publisher session (moqt://): ${pubEnd}`);
      t.diagnostic(`subscriber session (https://): ${subEnd}`);
      // An idle timeout is a failure (SessionError Internal, 1), never a clean NoError close.
      for (const s of [pubSession, subSession]) {
        const err = await s.closed;
        assert.ok(err instanceof SessionError, `expected a SessionError, got ${String(err)}`);
        assert.equal(err.code, SessionErrorCode.Internal);
        assert.match(err.message, /idle-timeout|stateless-reset|transport-error/);
      }
      t.diagnostic(`subscriber open group: ${await nextFrame}; subscriber track: ${await nextGroup}`);
      await until(() => pubWrites.length === 2);
      t.diagnostic(`publisher: ${pubWrites.join("; ")}`);
      // Whatever the code, the subscriber's reads ended with typed errors, not a hang or a clean end.
      assert.match(await nextFrame, /^group: (GroupError|SessionError|SubscribeError) /);
      assert.match(await nextGroup, /^track: (SubscribeError|SessionError) /);

      // The restarted relay serves a new publisher and subscriber.
      const pubMux2 = new TrackMux();
      pubMux2.publishFunc(undefined, "/restart", async (tw) => {
        for (let k = 0; k < 3; k++) {
          const g = await tw.openGroup(k);
          for (let i = 0; i < 3; i++) await g.writeFrame(enc.encode(`g${k}f${i}`));
          await g.close();
        }
      });
      const pub2 = await client.dial(`moqt://${info.quic}/`, pubMux2);
      const sub2 = await client.dial(`https://${info.quic}/`);
      const tr2 = await subscribeWhenAnnounced(sub2, "/restart", "t");
      assert.deepEqual(
        await collectAll(tr2),
        [0, 1, 2].flatMap((k) => [0, 1, 2].map((i) => `g${k}f${i}`)),
      );
      await Promise.all([pub2.closeWithError(0, "done"), sub2.closeWithError(0, "done")]);
      assert.ok(running(relay2), "the restarted relay is still running");
    } finally {
      await client.close().catch(() => {});
      await stop(relay);
      await stop(relay2);
    }
  });
});
