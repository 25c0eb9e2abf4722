/** Soak with subscription churn through a `moqt relay` child process (issue 6).
 *
 *  `npx tsx scripts/soak.ts [--minutes 10] [--subs 1000] [--workers 4] [--out FILE.json]`
 *
 *  Processes on 127.0.0.1: the relay (`src/cli/main.ts relay`, from source, with --expose-gc), one publisher (raw QUIC:
 *  `/soak` track `video`, 30 frames/s × 2 KB, a group per second) and `--workers` subscriber processes holding
 *  `--subs` subscriber slots between them. Each slot dials a session (every other one over WebTransport, the rest
 *  over raw QUIC), subscribes, reads for a random 2–10 s, closes the session and starts over, so about `--subs`
 *  subscriptions are live at any time and ~subs/6 sessions are replaced per second.
 *
 *  Every 10 s the relay is sampled through its /metrics (after a forced GC, triggered by SIGUSR2 through the hook
 *  below): RSS, heap, sessions/subscriptions/upstream gauges, pending bytes, counters; the workers report live
 *  subscriptions, dials, failures and errors seen. Every process (relay, publisher, workers, this one) counts and
 *  prints unhandled rejections, uncaught exceptions and process warnings (`[soak-hook] …` on stderr).
 *  With each sample the relay's native addon counters (`nativeStats()`: connections, sessions, stream halves, queued
 *  streams, undecided incoming connections, endpoints) are read after the GC, through the hook (a
 *  `[soak-native] relay {…}` line on its stderr).
 *  After the churn: every subscriber session is closed and the relay's gauges must return to the baseline taken
 *  before the subscribers started (1 session: the publisher; 0 subscriptions, 0 upstream, 0 pending), and so must
 *  its native counters (no leaked connection, session or stream handle); then the publisher leaves (0 sessions, 0
 *  broadcasts, and natively 0 connections, sessions and streams: only the listener's endpoint) and the relay is
 *  stopped with SIGTERM (exit 0 expected).
 *  @module */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { hostname, cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { NativeResourceStats } from "../src/transport/native/index.js";

const SELF = fileURLToPath(import.meta.url);
const ROOT = join(dirname(SELF), "..");
const MAIN = join(ROOT, "src", "cli", "main.ts");
const PATH = "/soak";
const TRACK = "video";
const FPS = 30;
const FRAME_BYTES = 2048;
const SAMPLE_MS = 10_000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---- hook: installed in every process (the relay gets it with `--import scripts/soak.ts`, MOQT_SOAK_HOOK set)

interface HookCounts {
  unhandledRejections: number;
  uncaughtExceptions: number;
  warnings: number;
}
const hookCounts: HookCounts = { unhandledRejections: 0, uncaughtExceptions: 0, warnings: 0 };

function installHook(name: string): void {
  const say = (what: string, e: unknown) =>
    process.stderr.write(
      `[soak-hook] ${name} ${what}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
  process.on("unhandledRejection", (e) => {
    hookCounts.unhandledRejections++;
    say("unhandledRejection", e);
  });
  process.on("uncaughtException", (e) => {
    hookCounts.uncaughtExceptions++;
    say("uncaughtException", e);
  });
  process.on("warning", (w) => {
    hookCounts.warnings++;
    say("warning", w);
  });
  // SIGUSR2: a full GC (when run with --expose-gc), so the next /metrics read shows the live heap; then (a GC again
  // after the finalizers of collected native wrappers had a turn) the native counters, on stderr.
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on("SIGUSR2", () => {
    gc?.();
    setTimeout(() => {
      gc?.();
      setTimeout(() => void reportNative(name), 20);
    }, 20);
  });
}

const NATIVE_TAG = "[soak-native]";

/** Print this process's native addon counters (when it has loaded the addon). */
async function reportNative(name: string): Promise<void> {
  try {
    const { nativeStats } = await import("../src/transport/native/index.js");
    process.stderr.write(`${NATIVE_TAG} ${name} ${JSON.stringify(nativeStats())}\n`);
  } catch (e) {
    process.stderr.write(`${NATIVE_TAG} ${name} unavailable: ${String(e)}\n`);
  }
}

/** The native counters the soak follows in the relay. */
type NativeCounts = NativeResourceStats;

const hookName = process.env["MOQT_SOAK_HOOK"];
if (hookName && process.argv[1] !== SELF) installHook(hookName);

// ---- roles

const arg = (k: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);

async function loadMoqt() {
  return import("../src/index.js");
}

/** Publisher: one session, `/soak` `video` at FPS × FRAME_BYTES, a group per second, to every subscription. */
async function pubRole(): Promise<void> {
  installHook("pub");
  const moqt = await loadMoqt();
  const payload = new Uint8Array(FRAME_BYTES);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
  const stats = { subscriptions: 0, frames: 0, groups: 0, errors: {} as Record<string, number> };
  const mux = new moqt.TrackMux();
  mux.publishFunc(undefined, PATH, async (tw) => {
    stats.subscriptions++;
    if (tw.trackName !== TRACK) return tw.closeWithError(moqt.SubscribeErrorCode.TrackNotFound);
    const t0 = performance.now();
    let g: Awaited<ReturnType<typeof tw.openGroup>> | undefined;
    let seq = -1;
    try {
      for (let n = 0; !tw.signal.aborted; n++) {
        const due = t0 + (n * 1000) / FPS;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        const s = Math.floor(n / FPS);
        if (s !== seq) {
          if (g) await g.close();
          g = await tw.openGroup(s);
          seq = s;
          stats.groups++;
        }
        await g!.writeFrame(payload);
        stats.frames++;
      }
    } catch (e) {
      const k = errKey(e);
      stats.errors[k] = (stats.errors[k] ?? 0) + 1;
    }
  });
  const client = new moqt.Client({
    tls: { serverCertificateHashes: [Buffer.from(arg("hash")!, "hex")] },
    bitrateMonitor: false,
  });
  const session = await client.dial(`moqt://${arg("quic")}/`, mux);
  process.stdout.write(JSON.stringify({ ready: true }) + "\n");
  createInterface({ input: process.stdin })
    .on("line", () =>
      process.stdout.write(
        JSON.stringify({ ...stats, hook: hookCounts, closed: session.signal.aborted }) + "\n",
      ),
    )
    .on("close", () => {
      void session
        .closeWithError(0, "publisher done")
        .then(() => client.close())
        .finally(() => process.exit(0));
    });
}

function errKey(e: unknown): string {
  if (e && typeof e === "object" && "code" in e && "remote" in e && e instanceof Error)
    return `${e.constructor.name} ${String(e.code)} ${e.remote ? "remote" : "local"}`;
  return e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e);
}

/** Subscriber worker: `n` churning slots. stdin lines: "stats" → one JSON line; "stop" → stop churning, close every
 *  session, then a final JSON line. */
async function workerRole(): Promise<void> {
  const id = arg("id")!;
  installHook(`worker${id}`);
  const moqt = await loadMoqt();
  const n = Number(arg("n"));
  const quic = arg("quic")!;
  const hash = Buffer.from(arg("hash")!, "hex");
  const client = new moqt.Client({ tls: { serverCertificateHashes: [hash] } });
  const st = {
    live: 0,
    sessions: 0,
    dials: 0,
    dialFailures: 0,
    subscribeFailures: 0,
    sessionsLost: 0,
    frames: 0,
    bytes: 0,
    groups: 0,
    errors: {} as Record<string, number>,
  };
  const count = (e: unknown) => {
    const k = errKey(e);
    st.errors[k] = (st.errors[k] ?? 0) + 1;
  };
  let running = true;
  let wakeAll: () => void = () => {};
  const stopped = new Promise<void>((r) => (wakeAll = r));

  const read = async (tr: import("../src/index.js").TrackReader, signal: AbortSignal): Promise<void> => {
    try {
      for await (const g of tr) {
        st.groups++;
        void (async () => {
          for await (const f of g.frames()) {
            st.frames++;
            st.bytes += f.body().byteLength;
          }
        })().catch((e: unknown) => {
          if (!signal.aborted) count(e);
        });
      }
    } catch (e) {
      if (!signal.aborted) count(e);
    }
  };

  const slot = async (i: number): Promise<void> => {
    await Promise.race([sleep(Math.random() * 10_000), stopped]); // ramp up over 10 s
    const scheme = i % 2 === 0 ? "https" : "moqt";
    while (running) {
      let s: import("../src/index.js").Session;
      try {
        s = await client.dial(`${scheme}://${quic}/`);
        st.dials++;
      } catch (e) {
        st.dialFailures++;
        count(e);
        await Promise.race([sleep(1000), stopped]);
        continue;
      }
      if (!running) {
        // Told to stop while dialling: leave without subscribing (a subscribe-then-leave here made the relay's
        // subscriber count flap 0 -> 1 -> 0 after every churn).
        await s.closeWithError(0, "stop").catch(() => {});
        break;
      }
      st.sessions++;
      const ours = new AbortController();
      try {
        const tr = await s.subscribe(PATH, TRACK);
        st.live++;
        const reading = read(tr, ours.signal);
        const hold = 2000 + Math.random() * 8000;
        const lost = await Promise.race([
          sleep(hold).then(() => false),
          stopped.then(() => false),
          s.closed.then(() => true),
        ]);
        if (lost) {
          st.sessionsLost++;
          count(s.signal.reason);
        }
        ours.abort();
        st.live--;
        await s.closeWithError(0, "churn");
        await reading;
      } catch (e) {
        st.subscribeFailures++;
        count(e);
        ours.abort();
        await s.closeWithError(0, "churn").catch(() => {});
        await Promise.race([sleep(500), stopped]);
      }
      st.sessions--;
    }
  };

  const slots = Array.from({ length: n }, (_, i) => slot(i));
  process.stdout.write(JSON.stringify({ ready: n }) + "\n");
  const report = () => JSON.stringify({ ...st, hook: hookCounts }) + "\n";
  createInterface({ input: process.stdin })
    .on("line", (l) => {
      if (l === "stop") {
        running = false;
        wakeAll();
        void Promise.all(slots).then(async () => {
          await client.close().catch(() => {});
          process.stdout.write(report());
        });
      } else process.stdout.write(report());
    })
    .on("close", () => process.exit(0));
}

// ---- parent

interface Proc {
  child: ChildProcess;
  lines: AsyncIterableIterator<string>;
  hook: HookCounts;
  stderrTail: string[];
  /** The latest `[soak-native]` report of this process. */
  native?: NativeCounts;
}

function run(name: string, args: string[], nodeArgs: string[] = []): Proc {
  const child = spawn(process.execPath, ["--import", "tsx", ...nodeArgs, ...args], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, MOQT_SOAK_HOOK: name },
  });
  const p: Proc = {
    child,
    lines: createInterface({ input: child.stdout! })[Symbol.asyncIterator](),
    hook: { unhandledRejections: 0, uncaughtExceptions: 0, warnings: 0 },
    stderrTail: [],
  };
  createInterface({ input: child.stderr! }).on("line", (l) => {
    if (l.startsWith(`${NATIVE_TAG} ${name} {`)) {
      p.native = JSON.parse(l.slice(NATIVE_TAG.length + name.length + 2)) as NativeCounts;
      return;
    }
    process.stderr.write(`[${name}] ${l}\n`);
    p.stderrTail.push(l);
    if (p.stderrTail.length > 50) p.stderrTail.shift();
    if (l.startsWith(`[soak-hook] ${name} unhandledRejection`)) p.hook.unhandledRejections++;
    if (l.startsWith(`[soak-hook] ${name} uncaughtException`)) p.hook.uncaughtExceptions++;
    if (l.startsWith(`[soak-hook] ${name} warning`)) p.hook.warnings++;
  });
  return p;
}

async function line(p: Proc, what: string): Promise<string> {
  const r = await p.lines.next();
  if (r.done) throw new Error(`${what}: the process exited (${p.stderrTail.slice(-5).join(" | ")})`);
  return r.value;
}

async function ask<T>(p: Proc, msg: string, what: string): Promise<T> {
  p.child.stdin!.write(msg + "\n");
  return JSON.parse(await line(p, what)) as T;
}

type WorkerStats = {
  live: number;
  sessions: number;
  dials: number;
  dialFailures: number;
  subscribeFailures: number;
  sessionsLost: number;
  frames: number;
  bytes: number;
  groups: number;
  errors: Record<string, number>;
  hook: HookCounts;
};

interface Sample {
  t: number;
  phase: "baseline" | "churn" | "drain" | "publisher-gone";
  rssMB: number;
  heapMB: number;
  heapTotalMB: number;
  externalMB: number;
  sessionsOpen: number;
  sessionsTotal: number;
  subscriptions: number;
  upstream: number;
  announcements: number;
  pendingBytes: number;
  groupsDropped: number;
  framesOut: number;
  liveSubs?: number;
  workerSessions?: number;
  dials?: number;
  dialFailures?: number;
  /** The relay's native counters after the GC. */
  native?: NativeCounts;
}

/** Native counters that must be back at the baseline once the clients have left (all but the endpoint count). */
const NATIVE_KEYS = [
  "connectionsRaw",
  "connectionsWeb",
  "sessions",
  "sendStreams",
  "recvStreams",
  "streamsQueued",
  "handshakes",
  "incoming",
] as const;

const nativeSame = (a: NativeCounts | undefined, b: NativeCounts | undefined): boolean =>
  a !== undefined && b !== undefined && NATIVE_KEYS.every((k) => a[k] === b[k]);

/** "recvStreams 65 (want 2), …" for the native counters that differ from `want`. */
const nativeDiff = (n: NativeCounts | undefined, want: Partial<NativeCounts> | undefined): string =>
  n === undefined || want === undefined
    ? "no native report"
    : NATIVE_KEYS.filter((k) => n[k] !== want[k])
        .map((k) => `${k} ${n[k]} (want ${want[k]})`)
        .join(", ");

const nativeText = (n: NativeCounts | undefined): string =>
  n
    ? `conns ${n.connectionsRaw}+${n.connectionsWeb}wt, sessions ${n.sessions}, streams ${n.sendStreams}s/${n.recvStreams}r, ` +
      `queued ${n.streamsQueued}, handshakes ${n.handshakes}, incoming ${n.incoming}, endpoints ${n.endpoints}`
    : "—";

function slope(samples: Sample[], key: "rssMB" | "heapMB"): number {
  const n = samples.length;
  if (n < 2) return NaN;
  const mx = samples.reduce((a, p) => a + p.t, 0) / n;
  const my = samples.reduce((a, p) => a + p[key], 0) / n;
  let num = 0,
    den = 0;
  for (const p of samples) {
    num += (p.t - mx) * (p[key] - my);
    den += (p.t - mx) ** 2;
  }
  return (num / den) * 60; // MB per minute (t in s)
}

async function main(): Promise<void> {
  installHook("soak");
  const { values } = parseArgs({
    options: {
      minutes: { type: "string", default: "10" },
      subs: { type: "string", default: "1000" },
      workers: { type: "string", default: "4" },
      out: { type: "string" },
    },
  });
  const minutes = Number(values.minutes);
  const subs = Number(values.subs);
  const workers = Math.max(1, Math.min(subs, Number(values.workers)));
  const log = (s: string) => process.stderr.write(`[soak] ${s}\n`);
  const procs: Proc[] = [];
  const t0 = performance.now();
  const now = () => (performance.now() - t0) / 1000;
  let relay: Proc | undefined;
  let pub: Proc | undefined;
  const ws: Proc[] = [];
  let relayExit: { code: number | null; signal: string | null } | undefined;
  try {
    relay = run(
      "relay",
      [MAIN, "relay", "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "-q"],
      ["--expose-gc", "--import", SELF],
    );
    procs.push(relay);
    const relayExited = once(relay.child, "exit").then(([code, signal]) => {
      relayExit = { code: code as number | null, signal: signal as string | null };
      return relayExit;
    });
    const first = await line(relay, "relay");
    const m = /^listening quic=(\S+) http=(\S+) cert-sha256=([0-9a-f]{64})$/.exec(first);
    if (!m) throw new Error(`relay: unexpected first line ${first}`);
    const [, quic, http, hash] = m as unknown as [string, string, string, string];
    void (async () => {
      for (;;) if ((await relay.lines.next()).done) return; // drain the banner
    })();
    log(`relay quic=${quic} http=${http}`);

    const metrics = async (): Promise<Map<string, number>> => {
      relay!.native = undefined;
      relay!.child.kill("SIGUSR2"); // full GC first (and a native counters report)
      await sleep(300);
      for (let i = 0; i < 50 && !relay!.native; i++) await sleep(20);
      const text = await (await fetch(`http://${http}/metrics`)).text();
      const out = new Map<string, number>();
      for (const l of text.split("\n")) {
        const r = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(l);
        if (r) out.set(r[1]!, Number(r[2]));
      }
      return out;
    };
    const samples: Sample[] = [];
    const sample = async (phase: Sample["phase"], withWorkers: boolean): Promise<Sample> => {
      const mm = await metrics();
      const get = (k: string) => mm.get(k) ?? 0;
      const s: Sample = {
        t: Math.round(now() * 10) / 10,
        phase,
        rssMB: get("process_resident_memory_bytes") / 2 ** 20,
        heapMB: get("nodejs_heap_used_bytes") / 2 ** 20,
        heapTotalMB: get("nodejs_heap_total_bytes") / 2 ** 20,
        externalMB: get("nodejs_external_memory_bytes") / 2 ** 20,
        sessionsOpen: get("moqt_relay_sessions_open"),
        sessionsTotal: get("moqt_relay_sessions_total"),
        subscriptions: get(`moqt_relay_subscriptions{broadcast="${PATH}"}`),
        upstream: get(`moqt_relay_upstream_subscriptions{broadcast="${PATH}"}`),
        announcements: get("moqt_relay_announcements_active"),
        pendingBytes: get("moqt_relay_pending_bytes"),
        groupsDropped: get("moqt_relay_groups_dropped_total"),
        framesOut: get("moqt_relay_frames_out_total"),
        ...(relay!.native ? { native: relay!.native } : {}),
      };
      if (withWorkers) {
        const st = await Promise.all(ws.map((w, i) => ask<WorkerStats>(w, "stats", `worker ${i}`)));
        s.liveSubs = st.reduce((a, x) => a + x.live, 0);
        s.workerSessions = st.reduce((a, x) => a + x.sessions, 0);
        s.dials = st.reduce((a, x) => a + x.dials, 0);
        s.dialFailures = st.reduce((a, x) => a + x.dialFailures, 0);
      }
      samples.push(s);
      log(
        `t=${s.t.toFixed(0)}s ${phase}: RSS ${s.rssMB.toFixed(1)} MB, heap ${s.heapMB.toFixed(1)} MB ` +
          `(ext ${s.externalMB.toFixed(1)}), sessions ${s.sessionsOpen} (total ${s.sessionsTotal}), ` +
          `subscriptions ${s.subscriptions}, upstream ${s.upstream}, pending ${s.pendingBytes} B, ` +
          `dropped ${s.groupsDropped}; native: ${nativeText(s.native)}` +
          (withWorkers
            ? `; workers: live ${s.liveSubs}, sessions ${s.workerSessions}, dials ${s.dials}, failed ${s.dialFailures}`
            : ""),
      );
      return s;
    };

    // Publisher.
    pub = run("pub", [SELF, "--role=pub", `--quic=${quic}`, `--hash=${hash}`]);
    procs.push(pub);
    await line(pub, "publisher");
    await sleep(2000);
    const baseline = await sample("baseline", false);

    // Subscribers, churning.
    const per = Math.ceil(subs / workers);
    for (let i = 0; i < workers; i++) {
      const n = Math.min(per, subs - i * per);
      if (n <= 0) break;
      const w = run(`worker${i}`, [
        SELF,
        "--role=worker",
        `--id=${i}`,
        `--n=${n}`,
        `--quic=${quic}`,
        `--hash=${hash}`,
      ]);
      procs.push(w);
      ws.push(w);
    }
    await Promise.all(ws.map((w, i) => line(w, `worker ${i}`)));
    log(
      `${minutes} min, ${subs} subscriber slots in ${ws.length} workers, sampling every ${SAMPLE_MS / 1000} s`,
    );
    const churnStart = now();
    const end = t0 + churnStart * 1000 + minutes * 60_000;
    while (performance.now() < end) {
      await sleep(Math.min(SAMPLE_MS, Math.max(0, end - performance.now())));
      await sample("churn", true);
      if (relayExit) throw new Error(`the relay exited during the soak: ${JSON.stringify(relayExit)}`);
    }

    // Stop the churn: every subscriber session closes; the relay's gauges must come back to the baseline.
    log("stopping the churn");
    const finals = await Promise.all(ws.map((w, i) => ask<WorkerStats>(w, "stop", `worker ${i} stop`)));
    const drainStart = now();
    let drained: Sample | undefined;
    for (let k = 0; k < 12; k++) {
      const s = await sample("drain", false);
      if (
        s.sessionsOpen === 1 &&
        s.subscriptions === 0 &&
        s.upstream === 0 &&
        s.pendingBytes === 0 &&
        nativeSame(s.native, baseline.native)
      ) {
        drained = s;
        break;
      }
      await sleep(5000);
    }
    const afterDrain = drained ?? samples[samples.length - 1]!;
    await Promise.all(ws.map((w) => stopProc(w)));

    // The publisher leaves: no session, no broadcast.
    const pubStats = await ask<{
      frames: number;
      groups: number;
      subscriptions: number;
      errors: object;
      hook: HookCounts;
    }>(pub, "stats", "publisher");
    await stopProc(pub);
    let empty: Sample | undefined;
    for (let k = 0; k < 12; k++) {
      const s = await sample("publisher-gone", false);
      if (
        s.sessionsOpen === 0 &&
        s.announcements === 0 &&
        s.native !== undefined &&
        NATIVE_KEYS.every((k) => s.native![k] === 0)
      ) {
        empty = s;
        break;
      }
      await sleep(2000);
    }
    relay.child.kill("SIGTERM");
    const rx = await Promise.race([relayExited, sleep(10_000).then(() => undefined)]);

    const churn = samples.filter((s) => s.phase === "churn");
    const steady = churn.slice(Math.floor(churn.length * 0.2));
    const sum = (k: keyof WorkerStats) => finals.reduce((a, f) => a + (f[k] as number), 0);
    const errors: Record<string, number> = {};
    for (const f of finals) for (const [k, v] of Object.entries(f.errors)) errors[k] = (errors[k] ?? 0) + v;
    const hooks = Object.fromEntries(
      procs.map((p, i) => [i === 0 ? "relay" : p === pub ? "pub" : `worker${ws.indexOf(p)}`, p.hook]),
    );
    hooks["soak"] = hookCounts;
    const unhandled = Object.values(hooks).reduce(
      (a, h) => a + h.unhandledRejections + h.uncaughtExceptions,
      0,
    );
    const result = {
      command: `npx tsx scripts/soak.ts --minutes ${minutes} --subs ${subs} --workers ${workers}`,
      machine: `${hostname()}: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
      minutes,
      subs,
      workers: ws.length,
      baseline,
      churnFirst: churn[0],
      churnLast: churn[churn.length - 1],
      rssSlopeMBmin: slope(steady, "rssMB"),
      heapSlopeMBmin: slope(steady, "heapMB"),
      rssMaxMB: Math.max(...churn.map((s) => s.rssMB)),
      heapMaxMB: Math.max(...churn.map((s) => s.heapMB)),
      liveSubsMin: Math.min(...steady.map((s) => s.liveSubs ?? 0)),
      liveSubsMax: Math.max(...steady.map((s) => s.liveSubs ?? 0)),
      relaySubsMin: Math.min(...steady.map((s) => s.subscriptions)),
      relaySubsMax: Math.max(...steady.map((s) => s.subscriptions)),
      afterDrain,
      drainedToBaseline: drained !== undefined,
      drainSeconds: drained ? drained.t - drainStart : undefined,
      afterPublisherLeft: empty,
      relayExit: rx,
      dials: sum("dials"),
      dialFailures: sum("dialFailures"),
      subscribeFailures: sum("subscribeFailures"),
      sessionsLost: sum("sessionsLost"),
      framesReceived: sum("frames"),
      bytesReceived: sum("bytes"),
      workerErrors: errors,
      publisher: pubStats,
      hooks,
      unhandled,
      samples,
    };
    if (values.out) writeFileSync(values.out, JSON.stringify(result, null, 2) + "\n");
    const f = (x: number | undefined, d = 1) => (x === undefined || Number.isNaN(x) ? "—" : x.toFixed(d));
    console.log(
      [
        `soak: ${minutes} min, ${subs} churning subscribers (${ws.length} workers); ${result.machine}`,
        `relay RSS: baseline ${f(baseline.rssMB)} MB, churn ${f(result.churnFirst?.rssMB)} → ${f(result.churnLast?.rssMB)} MB (max ${f(result.rssMaxMB)}), slope ${f(result.rssSlopeMBmin, 2)} MB/min, after drain ${f(afterDrain.rssMB)} MB`,
        `relay heap (after GC): baseline ${f(baseline.heapMB)} MB, churn ${f(result.churnFirst?.heapMB)} → ${f(result.churnLast?.heapMB)} MB (max ${f(result.heapMaxMB)}), slope ${f(result.heapSlopeMBmin, 2)} MB/min, after drain ${f(afterDrain.heapMB)} MB`,
        `live subscriptions (steady state): workers ${result.liveSubsMin}–${result.liveSubsMax}, relay ${result.relaySubsMin}–${result.relaySubsMax}`,
        `sessions dialled ${result.dials}, dial failures ${result.dialFailures}, subscribe failures ${result.subscribeFailures}, sessions lost ${result.sessionsLost}, frames received ${result.framesReceived}`,
        `relay native counters: baseline ${nativeText(baseline.native)}; churn max conns ${Math.max(...churn.map((s) => (s.native?.connectionsRaw ?? 0) + (s.native?.connectionsWeb ?? 0)))}, streams ${Math.max(...churn.map((s) => (s.native?.sendStreams ?? 0) + (s.native?.recvStreams ?? 0)))}; after drain ${nativeText(afterDrain.native)}; publisher gone ${nativeText(empty?.native)}`,
        `native counters after the churn: ${nativeSame(afterDrain.native, baseline.native) ? "back to baseline" : `NOT back to baseline: ${nativeDiff(afterDrain.native, baseline.native)}`}; publisher gone: ${empty ? "0 connections, sessions and streams" : `NOT 0: ${nativeDiff(samples[samples.length - 1]!.native, Object.fromEntries(NATIVE_KEYS.map((k) => [k, 0])))}`}`,
        `after the churn: ${drained ? `back to baseline in ${f(result.drainSeconds, 0)} s` : "NOT back to baseline"} (sessions ${afterDrain.sessionsOpen}, subscriptions ${afterDrain.subscriptions}, upstream ${afterDrain.upstream}, pending ${afterDrain.pendingBytes} B); publisher gone: ${empty ? `sessions ${empty.sessionsOpen}, broadcasts ${empty.announcements}` : "relay did not return to 0"}; relay exit ${JSON.stringify(rx)}`,
        `unhandled rejections/uncaught exceptions: ${unhandled} (${Object.entries(hooks)
          .map(([k, h]) => `${k} ${h.unhandledRejections}/${h.uncaughtExceptions}, ${h.warnings} warnings`)
          .join("; ")})`,
        `worker errors: ${JSON.stringify(errors)}`,
      ].join("\n"),
    );
    if (unhandled > 0 || !drained || !empty || rx?.code !== 0) process.exitCode = 1;
  } finally {
    await Promise.all([...ws, ...(pub ? [pub] : [])].map((p) => stopProc(p)));
    if (relay) await stopProc(relay, "SIGTERM");
  }
}

async function stopProc(p: Proc, sig: NodeJS.Signals = "SIGKILL"): Promise<void> {
  const c = p.child;
  if (c.exitCode !== null || c.signalCode !== null) return;
  const done = once(c, "exit");
  if (sig === "SIGKILL") c.stdin?.end();
  else c.kill(sig);
  const t = setTimeout(() => c.kill("SIGKILL"), 10_000);
  await done;
  clearTimeout(t);
}

if (process.argv[1] === SELF) {
  const role = arg("role");
  if (role === "pub") await pubRole();
  else if (role === "worker") await workerRole();
  else await main();
}
