/** Fan-out: 1 publisher → N subscribers, 30 fps × 10 KB frames, one group per second, every role in its own process
 *  on 127.0.0.1 (raw QUIC, moq-00):
 *
 *  - mode `relay`: publisher process (Client, announces `/bench/fanout`) → relay process (`startRelay`, src/relay) →
 *    subscriber worker processes;
 *  - mode `direct`: a publisher process running a plain `Server` (the same Fanout-based producer) → subscribers;
 *  - mode `gomoqt`: gomoqt v0.9.0 as the publisher server (bench/gomoqt/fanout_pub, our Go program on the gomoqt
 *    library) → the same subscribers.
 *
 *  Subscribers: N sessions spread over W worker processes (1 for N ≤ 10, 2 for N ≤ 100, 4 above), each session its own
 *  QUIC connection and one subscription. Payload: bytes 0–7 = send time (float64 ms, process.hrtime = CLOCK_MONOTONIC,
 *  shared by every process on the machine), 8–11 = frame counter. Only frames *sent* inside the measurement window
 *  (after every subscriber is in, and after a warm-up) count: delivered = frames received ÷ (frames sent × N);
 *  latency = receive time (frame fully read) − send time. CPU = process.cpuUsage() over the window, per process.
 *  Egress = frame payload bytes delivered per second (without QUIC/MoQ overhead); egress per core = egress ÷ CPU
 *  cores used by the process that sends to subscribers (relay, or the publisher in direct/gomoqt modes).
 *
 *  Setup: the subscribers dial (10 at a time per worker, `--setup-timeout` ms each, failures counted with their error)
 *  and subscribe *before* the publisher starts the media (`--media-first` restores the old order, where setup
 *  competes with the running fan-out); the row reports how many got in and how long that took. gomoqt's publisher
 *  always sends from its start. Diagnostics per row: p99 of the first frame of each group (it opens a new stream on
 *  every subscriber) vs the other frames, event-loop delay (monitorEventLoopDelay) and GC pauses over the window in the
 *  sending process and the worst worker, and (direct mode) the synchronous part of one frame's fan-out.
 *
 *  Run alone: `npx tsx bench/fanout.ts [--quick] [--subs=1,10,100] [--modes=relay,direct,gomoqt] [--window=S]
 *  [--transport=h3] [--setup-timeout=MS] [--media-first] [--prof=DIR]` (--prof: the relay, or the direct publisher,
 *  runs with --cpu-prof into DIR; summarise with bench/prof_top.ts).
 *  @module */
import { execFile, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync } from "node:fs";
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import * as moqt from "../src/index.js";
import { Fanout, type FanGroup } from "../src/relay/fanout.js";
import { startRelay } from "../src/relay/index.js";
import { request, spawnBin, spawnChild, stopChild, type Child } from "./child.js";

const SELF = fileURLToPath(import.meta.url);
const PATH = "/bench/fanout";
const TRACK = "video";
const FPS = 30;
const FRAME_BYTES = 10 * 1024;

export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const arg = (k: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);

/** CPU and memory sampled at window start/end (in the child), event-loop delay and GC pauses over the window,
 *  reported on "report". */
class Meter {
  #c0: NodeJS.CpuUsage | undefined;
  #cpuMs = 0;
  #t0 = 0;
  #t1 = 0;
  rssMax = 0;
  #loop = monitorEventLoopDelay({ resolution: 1 });
  #loopP99 = NaN;
  #loopMax = NaN;
  #inWindow = false;
  #gc: number[] = [];
  constructor() {
    new PerformanceObserver((list) => {
      if (this.#inWindow) for (const e of list.getEntries()) this.#gc.push(e.duration);
    }).observe({ entryTypes: ["gc"] });
  }
  window(t0: number, t1: number): void {
    setTimeout(
      () => {
        this.#c0 = process.cpuUsage();
        this.#loop.reset();
        this.#loop.enable();
        this.#inWindow = true;
      },
      Math.max(0, t0 - nowMs()),
    );
    setTimeout(
      () => {
        const c = process.cpuUsage(this.#c0);
        this.#cpuMs = (c.user + c.system) / 1000;
        this.rssMax = process.memoryUsage().rss;
        this.#loop.disable();
        this.#inWindow = false;
        this.#loopP99 = this.#loop.percentile(99) / 1e6;
        this.#loopMax = this.#loop.max / 1e6;
      },
      Math.max(0, t1 - nowMs()),
    );
    this.#t0 = t0;
    this.#t1 = t1;
  }
  /** CPU cores used over the window. */
  get cores(): number {
    return this.#cpuMs / (this.#t1 - this.#t0);
  }
  /** Event-loop delay p99/max (ms) and GC pauses (count, total ms, max ms) over the window. */
  probes(): Probes {
    return {
      loopP99Ms: this.#loopP99,
      loopMaxMs: this.#loopMax,
      gcCount: this.#gc.length,
      gcMs: this.#gc.reduce((a, b) => a + b, 0),
      gcMaxMs: this.#gc.reduce((a, b) => Math.max(a, b), 0),
    };
  }
}

export interface Probes {
  loopP99Ms: number;
  loopMaxMs: number;
  gcCount: number;
  gcMs: number;
  gcMaxMs: number;
}

/** Children read JSON lines on stdin: {start:true} starts the producer (publishers), {t0,t1} sets the window;
 *  {report:true} asks for the report line. */
function control(
  onWindow: (t0: number, t1: number) => void,
  report: () => object,
  onStart?: () => void,
): void {
  const rl = createInterface({ input: process.stdin });
  rl.on("line", (l) => {
    const m = JSON.parse(l) as { t0?: number; t1?: number; report?: boolean; start?: boolean };
    if (m.start) onStart?.();
    if (m.t0 !== undefined && m.t1 !== undefined) onWindow(m.t0, m.t1);
    if (m.report) process.stdout.write(JSON.stringify(report()) + "\n");
  });
  rl.on("close", () => process.exit(0));
}

// ---------------------------------------------------------------- publisher (relay client or direct server)

/** The 30 fps producer shared by every downstream of this process. */
function startProducer(
  fanout: Fanout,
  counter: { sent: number; t0: number; t1: number; pushMs: number[] },
): void {
  const start = nowMs();
  let k = 0;
  let group: FanGroup | undefined;
  const tick = (): void => {
    const seq = Math.floor(k / FPS);
    if (k % FPS === 0) {
      group?.end();
      group = fanout.startGroup(seq);
    }
    const f = new Uint8Array(FRAME_BYTES);
    const dv = new DataView(f.buffer);
    const t = nowMs();
    dv.setFloat64(0, t);
    dv.setUint32(8, k);
    group!.push(f);
    if (t >= counter.t0 && t < counter.t1) {
      counter.sent++;
      // the synchronous part of the fan-out: every downstream's writeFrame up to its first await
      counter.pushMs.push(nowMs() - t);
    }
    k++;
    setTimeout(tick, Math.max(0, start + (k * 1000) / FPS - nowMs()));
  };
  tick();
}

async function publisher(mode: "relay" | "direct"): Promise<void> {
  const fanout = new Fanout();
  fanout.ready();
  const counter = { sent: 0, t0: Infinity, t1: Infinity, pushMs: [] as number[] };
  const meter = new Meter();
  const mux = new moqt.TrackMux();
  mux.publishFunc(undefined, PATH, (tw) => {
    if (tw.trackName !== TRACK) return tw.closeWithError(moqt.SubscribeErrorCode.TrackNotFound);
    return fanout.addDownstream(tw);
  });
  let started = false;
  const start = () => {
    if (!started) startProducer(fanout, counter);
    started = true;
  };
  let info: object;
  if (mode === "direct") {
    const router = new moqt.SetupRouter();
    router.handleFunc("/", async (w, r) => {
      await moqt.accept(w, r, mux);
    });
    const server = new moqt.Server({ addr: "127.0.0.1:0", setupHandler: router, bitrateMonitor: false });
    server.listen();
    info = { port: server.port, hash: Buffer.from(server.certificateHash!).toString("hex") };
  } else {
    const client = new moqt.Client({
      tls: { serverCertificateHashes: [Buffer.from(arg("hash")!, "hex")] },
      bitrateMonitor: false,
    });
    // every subscriber reaches the track through the relay's one upstream subscription, so the publisher needs no
    // longer setup timeout
    await client.dial(arg("url")!, mux);
    info = { ok: true };
  }
  process.stdout.write(JSON.stringify(info) + "\n");
  control(
    (t0, t1) => {
      counter.t0 = t0;
      counter.t1 = t1;
      meter.window(t0, t1);
      setTimeout(
        () => {
          const c = fanout.counters;
          c.firstFrames = c.firstFrameMsTotal = c.firstFrameMsMax = 0;
        },
        Math.max(0, t0 - nowMs()),
      );
    },
    () => {
      const p = [...counter.pushMs].sort((a, b) => a - b);
      const c = fanout.counters;
      return {
        firstFrameAvgMs: c.firstFrames ? c.firstFrameMsTotal / c.firstFrames : NaN,
        firstFrameMaxMs: c.firstFrameMsMax,
        sent: counter.sent,
        cores: meter.cores,
        rss: meter.rssMax,
        subs: fanout.size,
        pushP50Ms: quantile(p, 0.5),
        pushP99Ms: quantile(p, 0.99),
        pushMaxMs: p.at(-1) ?? NaN,
        ...meter.probes(),
      };
    },
    start,
  );
  if (process.argv.includes("--start")) start();
}

// ---------------------------------------------------------------- relay

async function relayMain(): Promise<void> {
  const meter = new Meter();
  const relay = await startRelay({ listen: "127.0.0.1:0", http: false });
  process.stdout.write(JSON.stringify({ port: relay.port, hash: relay.certificateSha256() }) + "\n");
  let at0 = { n: 0, ms: 0 };
  control(
    (t0, t1) => {
      meter.window(t0, t1);
      setTimeout(
        () => {
          const s = relay.stats();
          at0 = { n: s.firstFrames, ms: s.firstFrameMsTotal };
        },
        Math.max(0, t0 - nowMs()),
      );
    },
    () => {
      const s = relay.stats();
      const n = s.firstFrames - at0.n;
      return {
        cores: meter.cores,
        rss: meter.rssMax,
        sessions: s.sessionsOpen,
        // average over the window; the max is over the relay's life (warm-up included)
        firstFrameAvgMs: n > 0 ? (s.firstFrameMsTotal - at0.ms) / n : NaN,
        firstFrameMaxMs: s.firstFrameMsMax,
        ...meter.probes(),
      };
    },
  );
}

// ---------------------------------------------------------------- subscriber worker

async function subscriberWorker(): Promise<void> {
  const n = Number(arg("n"));
  const url = arg("url")!;
  const hash = arg("hash");
  const meter = new Meter();
  let t0 = Infinity;
  let t1 = Infinity;
  let got = 0;
  let other = 0;
  const lat: number[] = [];
  /** Latency of the first frame of each group (a new stream on every subscriber). */
  const latFirst: number[] = [];
  const client = new moqt.Client({
    tls: hash ? { serverCertificateHashes: [Buffer.from(hash, "hex")] } : { insecureSkipVerify: true },
    bitrateMonitor: false,
    config: { setupTimeout: Number(arg("setup-timeout") ?? 5000) },
  });
  const sessions: moqt.Session[] = [];
  const one = async (): Promise<void> => {
    const s = await client.dial(url);
    sessions.push(s);
    let tr: moqt.TrackReader | undefined;
    for (let attempt = 0; !tr; attempt++) {
      try {
        tr = await s.subscribe(PATH, TRACK);
      } catch (e) {
        if (attempt > 50) throw e;
        await sleep(100); // the relay has not seen the announcement yet
      }
    }
    void (async () => {
      for await (const g of tr) {
        void (async () => {
          try {
            for (;;) {
              const f = await g.readFrame();
              if (f === null) return;
              const now = nowMs();
              const b = f.body();
              const dv = new DataView(b.buffer, b.byteOffset, 12);
              const sent = dv.getFloat64(0);
              if (sent >= t0 && sent < t1) {
                got++;
                lat.push(now - sent);
                if (dv.getUint32(8) % FPS === 0) latFirst.push(now - sent);
              } else other++;
            }
          } catch {
            // expired or reset group: its missing frames count as lost
          }
        })();
      }
    })().catch(() => undefined);
  };
  // Dial in batches so a 100-session worker does not open everything in the same tick. A failed dial or subscribe
  // is counted with its error, not fatal: the row then says how many subscribers were in and why the rest were not.
  const errors = new Map<string, number>();
  let ok = 0;
  const setup0 = nowMs();
  for (let i = 0; i < n; i += 10)
    await Promise.all(
      Array.from({ length: Math.min(10, n - i) }, () =>
        one().then(
          () => void ok++,
          (e: unknown) => {
            const m = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
            errors.set(m, (errors.get(m) ?? 0) + 1);
          },
        ),
      ),
    );
  process.stdout.write(
    JSON.stringify({
      ready: ok,
      failed: n - ok,
      errors: Object.fromEntries(errors),
      setupMs: nowMs() - setup0,
    }) + "\n",
  );
  control(
    (a, b) => {
      t0 = a;
      t1 = b;
      meter.window(a, b);
    },
    () => ({ got, other, lat, latFirst, cores: meter.cores, rss: meter.rssMax, ...meter.probes() }),
  );
}

// ---------------------------------------------------------------- gomoqt publisher (Go)

const run = promisify(execFile);

/** Build bench/gomoqt/fanout_pub (our Go program on gomoqt v0.9.0) into .cache/bench/; undefined + reason if not. */
export async function buildGomoqtPub(): Promise<{ bin?: string; error?: string }> {
  const dir = fileURLToPath(new URL("./gomoqt/fanout_pub/", import.meta.url));
  const out = fileURLToPath(new URL("../.cache/bench/gomoqt_fanout_pub", import.meta.url));
  if (!existsSync("/usr/local/go/bin/go") && !(await run("which", ["go"]).catch(() => undefined)))
    return { error: "no go on PATH" };
  try {
    await run("go", ["build", "-C", dir, "-trimpath", "-o", out, "."], {
      env: { ...process.env, GOFLAGS: "-mod=mod", GOWORK: "off" },
      timeout: 600_000,
    });
    return { bin: out };
  } catch (e) {
    return {
      error: `go build failed: ${e instanceof Error ? e.message.split("\n").slice(0, 3).join(" ") : e}`,
    };
  }
}

// ---------------------------------------------------------------- orchestration

export interface FanoutRow {
  mode: "relay" | "direct" | "gomoqt";
  /** Transport of the subscribers (and of the publisher's session to the relay). */
  transport: "moq-00" | "h3";
  subs: number;
  workers: number;
  /** Subscribers set up and subscribed; seconds until the last one was; dial/subscribe failures by message. */
  connected: number;
  setupS: number;
  dialErrors: Record<string, number>;
  sent: number;
  /** Frames received ÷ (frames sent × connected subscribers). */
  delivered: number;
  p50: number;
  p99: number;
  max: number;
  /** p99 of the first frame of each group (a new stream per subscriber) and of the other frames. */
  p99First: number;
  p99Rest: number;
  /** CPU cores used over the window, per role. */
  cpu: { relay?: number; pub: number; subsPerWorker: number };
  rssMB: { relay?: number; pub?: number };
  /** Event-loop delay p99 / max and GC pauses over the window: the process sending to the subscribers (relay, or
   *  our publisher in direct mode; absent for gomoqt) and the worst subscriber worker. */
  sender?: Probes;
  worker: Probes;
  /** Sender's Fanout: ms from a group's start to its first frame accepted per downstream (avg over the window;
   *  max: window for direct, relay life for relay). */
  firstFrameAvgMs?: number;
  firstFrameMaxMs?: number;
  /** direct mode: the synchronous part of one frame's fan-out (every downstream's writeFrame), ms p50/p99/max. */
  push?: { p50: number; p99: number; max: number };
  egressMbps: number;
  /** Egress Mbps per core of the process that sends to the subscribers. */
  egressPerCoreMbps: number;
  error?: string;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export async function runFanout(opts: {
  mode: "relay" | "direct" | "gomoqt";
  subs: number;
  warmS: number;
  windowS: number;
  transport?: "moq-00" | "h3";
  /** Client setup timeout of the subscribers, ms (default 5000, the library's). */
  setupTimeoutMs?: number;
  /** Start the media before the subscribers dial (as before: setup then competes with the fan-out); by default the
   *  publisher starts once every subscriber is in (gomoqt's publisher always sends from the start). */
  mediaFirst?: boolean;
  gomoqtBin?: string;
  /** Run the relay (or direct publisher) with --cpu-prof into this directory. */
  prof?: string;
  log?: (s: string) => void;
}): Promise<FanoutRow> {
  const log = opts.log ?? (() => {});
  const transport = opts.transport ?? "moq-00";
  const scheme = transport === "h3" ? "https" : "moqt";
  const workers = opts.subs <= 10 ? 1 : opts.subs <= 100 ? 2 : 4;
  const children: { child: ChildProcess }[] = [];
  try {
    let url: string;
    let hash: string | undefined;
    let relay: Child<{ port: number; hash: string }> | undefined;
    let pub: Child<{ port?: number; hash?: string }>;
    const startNow = opts.mediaFirst ? ["--start"] : [];
    const profArgs = opts.prof ? ["--cpu-prof", `--cpu-prof-dir=${opts.prof}`] : [];
    if (opts.mode === "relay") {
      relay = await spawnChild<{ port: number; hash: string }>(SELF, ["--role=relay"], profArgs);
      children.push(relay);
      url = `${scheme}://127.0.0.1:${relay.info.port}/`;
      hash = relay.info.hash;
      pub = await spawnChild(SELF, ["--role=pub", `--url=${url}`, `--hash=${hash}`, ...startNow]);
      children.push(pub);
    } else if (opts.mode === "direct") {
      pub = await spawnChild<{ port: number; hash: string }>(
        SELF,
        ["--role=pubserver", ...startNow],
        profArgs,
      );
      children.push(pub);
      url = `${scheme}://127.0.0.1:${pub.info.port}/`;
      hash = pub.info.hash;
    } else {
      pub = await spawnBin<{ port: number }>(opts.gomoqtBin!, [`--port=${await freeUdpPort()}`]);
      children.push(pub);
      url = `${scheme}://127.0.0.1:${pub.info.port}/`;
      hash = undefined; // gomoqt's generated cert: skip verification (loopback)
    }
    const per = Math.ceil(opts.subs / workers);
    const setup0 = nowMs();
    const ws = await Promise.all(
      Array.from({ length: workers }, (_, i) =>
        spawnChild<{ ready: number; failed: number; errors: Record<string, number>; setupMs: number }>(SELF, [
          "--role=subs",
          `--n=${Math.min(per, opts.subs - i * per)}`,
          `--url=${url}`,
          `--setup-timeout=${opts.setupTimeoutMs ?? 5000}`,
          ...(hash ? [`--hash=${hash}`] : []),
        ]),
      ),
    );
    children.push(...ws);
    const setupS = (nowMs() - setup0) / 1000;
    const connected = ws.reduce((a, w) => a + w.info.ready, 0);
    const dialErrors: Record<string, number> = {};
    for (const w of ws)
      for (const [m, n] of Object.entries(w.info.errors)) dialErrors[m] = (dialErrors[m] ?? 0) + n;
    if (connected < opts.subs)
      log(
        `fanout ${opts.mode} ${transport} ${opts.subs}: only ${connected} subscribers in after ${setupS.toFixed(1)} s: ` +
          JSON.stringify(dialErrors),
      );
    pub.child.stdin!.write(JSON.stringify({ start: true }) + "\n");
    const t0 = nowMs() + opts.warmS * 1000;
    const t1 = t0 + opts.windowS * 1000;
    const win = { t0, t1 };
    for (const c of [...(relay ? [relay] : []), pub, ...ws]) c.child.stdin!.write(JSON.stringify(win) + "\n");
    log(
      `fanout ${opts.mode} ${transport} ${opts.subs}: ${connected} subscribers in ${workers} workers up after ` +
        `${setupS.toFixed(1)} s, window ${opts.windowS}s after ${opts.warmS}s warm-up`,
    );
    await sleep(t1 - nowMs() + 1000); // + grace for frames in flight
    type PubReport = Partial<Probes> & {
      sent: number;
      cores: number;
      rss: number;
      pushP50Ms?: number;
      pushP99Ms?: number;
      pushMaxMs?: number;
    };
    const pr = await request<PubReport>(pub, { report: true });
    type FirstFrame = { firstFrameAvgMs?: number; firstFrameMaxMs?: number };
    const rr = relay
      ? await request<Probes & FirstFrame & { cores: number; rss: number }>(relay, { report: true })
      : undefined;
    const ff: FirstFrame = rr ?? (opts.mode === "direct" ? (pr as FirstFrame) : {});
    const wr = await Promise.all(
      ws.map((w) =>
        request<Probes & { got: number; lat: number[]; latFirst: number[]; cores: number }>(w, {
          report: true,
        }),
      ),
    );
    const lat = wr.flatMap((w) => w.lat).sort((a, b) => a - b);
    const latFirst = wr.flatMap((w) => w.latFirst).sort((a, b) => a - b);
    // the other frames: remove the first-frame latencies from the full list (multiset difference)
    const firstCount = new Map<number, number>();
    for (const v of latFirst) firstCount.set(v, (firstCount.get(v) ?? 0) + 1);
    const latRest = lat.filter((v) => {
      const c = firstCount.get(v);
      if (!c) return true;
      firstCount.set(v, c - 1);
      return false;
    });
    const got = wr.reduce((a, w) => a + w.got, 0);
    const delivered = pr.sent > 0 && connected > 0 ? got / (pr.sent * connected) : 0;
    const egressMbps = (got * FRAME_BYTES * 8) / 1e6 / opts.windowS;
    const senderCores = rr ? rr.cores : pr.cores;
    const worstWorker = (k: keyof Probes): number => Math.max(...wr.map((w) => w[k]));
    const senderProbes: Partial<Probes> | undefined = rr ?? (opts.mode === "direct" ? pr : undefined);
    const row: FanoutRow = {
      mode: opts.mode,
      transport,
      subs: opts.subs,
      workers,
      connected,
      setupS,
      dialErrors,
      sent: pr.sent,
      delivered,
      p50: quantile(lat, 0.5),
      p99: quantile(lat, 0.99),
      max: lat.length ? lat[lat.length - 1]! : NaN,
      p99First: quantile(latFirst, 0.99),
      p99Rest: quantile(latRest, 0.99),
      cpu: {
        ...(rr ? { relay: rr.cores } : {}),
        pub: pr.cores,
        subsPerWorker: wr.reduce((a, w) => a + w.cores, 0) / workers,
      },
      rssMB: { ...(rr ? { relay: rr.rss / 2 ** 20 } : {}), ...(pr.rss ? { pub: pr.rss / 2 ** 20 } : {}) },
      ...(senderProbes && senderProbes.loopP99Ms !== undefined ? { sender: senderProbes as Probes } : {}),
      worker: {
        loopP99Ms: worstWorker("loopP99Ms"),
        loopMaxMs: worstWorker("loopMaxMs"),
        gcCount: worstWorker("gcCount"),
        gcMs: worstWorker("gcMs"),
        gcMaxMs: worstWorker("gcMaxMs"),
      },
      ...(ff.firstFrameAvgMs !== undefined
        ? { firstFrameAvgMs: ff.firstFrameAvgMs, firstFrameMaxMs: ff.firstFrameMaxMs! }
        : {}),
      ...(pr.pushP99Ms !== undefined
        ? { push: { p50: pr.pushP50Ms!, p99: pr.pushP99Ms, max: pr.pushMaxMs! } }
        : {}),
      egressMbps,
      egressPerCoreMbps: senderCores > 0 ? egressMbps / senderCores : NaN,
    };
    log(
      `fanout ${opts.mode} ${transport} ${opts.subs}: delivered ${(delivered * 100).toFixed(2)} %, p50 ${fx(row.p50, 2)} ms, ` +
        `p99 ${fx(row.p99, 2)} ms (first frame of a group ${fx(row.p99First, 2)}, others ${fx(row.p99Rest, 2)}), ` +
        `max ${fx(row.max, 1)} ms, sender ${senderCores.toFixed(2)} cores` +
        (row.sender
          ? `, sender loop delay p99 ${fx(row.sender.loopP99Ms, 1)} max ${fx(row.sender.loopMaxMs, 1)} ms, GC ${row.sender.gcCount}× ${fx(row.sender.gcMs, 1)} ms (max ${fx(row.sender.gcMaxMs, 1)})`
          : "") +
        `, worker loop delay p99 ${fx(row.worker.loopP99Ms, 1)} max ${fx(row.worker.loopMaxMs, 1)} ms, GC max ${fx(row.worker.gcMaxMs, 1)} ms` +
        (row.push ? `, sync fan-out per frame p50 ${fx(row.push.p50)} p99 ${fx(row.push.p99)} ms` : "") +
        (row.firstFrameAvgMs !== undefined
          ? `, group start → first frame accepted per downstream avg ${fx(row.firstFrameAvgMs)} max ` +
            `${fx(row.firstFrameMaxMs, 1)} ms`
          : ""),
    );
    return row;
  } finally {
    await Promise.all(children.map((c) => stopChild(c.child)));
  }
}

/** A figure or "—" (NaN travels as null through the children's JSON). */
const fx = (v: number | null | undefined, d = 2) => (v == null || Number.isNaN(v) ? "—" : v.toFixed(d));
const label = (r: FanoutRow) => `${r.mode}${r.transport === "h3" ? " (h3)" : ""}`;

export function fanoutTable(rows: FanoutRow[]): string {
  const f = fx;
  const lines = [
    "| publisher path | subscribers (workers) | in (setup s) | frames sent | delivered | p50 ms | p99 ms | max ms | relay CPU | publisher CPU | CPU per sub worker | relay RSS MB | egress Mbps | egress Mbps per sending core |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    if (r.error) {
      lines.push(`| ${label(r)} | ${r.subs} | not measured: ${r.error} ||||||||||||`);
      continue;
    }
    lines.push(
      `| ${label(r)} | ${r.subs} (${r.workers}) | ${r.connected} (${r.setupS.toFixed(1)}) | ${r.sent} | ` +
        `${(r.delivered * 100).toFixed(2)} % | ${f(r.p50)} | ` +
        `${f(r.p99)} | ${f(r.max, 1)} | ${f(r.cpu.relay)} | ${f(r.cpu.pub)} | ${f(r.cpu.subsPerWorker)} | ` +
        `${f(r.rssMB.relay, 0)} | ${f(r.egressMbps, 1)} | ${f(r.egressPerCoreMbps, 0)} |`,
    );
  }
  const failed = rows.filter((r) => !r.error && r.connected < r.subs);
  for (const r of failed)
    lines.push(
      `\n${label(r)} ${r.subs}: ${r.subs - r.connected} subscribers not in after ${r.setupS.toFixed(1)} s: ` +
        Object.entries(r.dialErrors)
          .map(([m, n]) => `${n}× ${m}`)
          .join("; "),
    );
  return lines.join("\n");
}

/** Where the tail comes from: latency of group-opening frames vs the rest, event-loop delay and GC per role. */
export function fanoutProbeTable(rows: FanoutRow[]): string {
  const f = fx;
  const lines = [
    "| publisher path | subscribers | p99 ms | p99 first frame of group | p99 other frames | sender: group start → first frame accepted, avg / max ms | sender loop delay p99 / max ms | sender GC count / total / max ms | sync fan-out per frame p50 / p99 ms | worst worker loop delay p99 / max ms | worst worker GC max ms |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    if (r.error) continue;
    const s = r.sender;
    lines.push(
      `| ${label(r)} | ${r.subs} | ${f(r.p99)} | ${f(r.p99First)} | ${f(r.p99Rest)} | ` +
        `${r.firstFrameAvgMs !== undefined ? `${f(r.firstFrameAvgMs)} / ${f(r.firstFrameMaxMs, 1)}` : "—"} | ` +
        `${s ? `${f(s.loopP99Ms, 1)} / ${f(s.loopMaxMs, 1)}` : "—"} | ` +
        `${s ? `${s.gcCount} / ${f(s.gcMs, 1)} / ${f(s.gcMaxMs, 1)}` : "—"} | ` +
        `${r.push ? `${f(r.push.p50)} / ${f(r.push.p99)}` : "—"} | ` +
        `${f(r.worker.loopP99Ms, 1)} / ${f(r.worker.loopMaxMs, 1)} | ${f(r.worker.gcMaxMs, 1)} |`,
    );
  }
  return lines.join("\n");
}

if (process.argv[1] === SELF) {
  const role = arg("role");
  if (role === "relay") await relayMain();
  else if (role === "pub") await publisher("relay");
  else if (role === "pubserver") await publisher("direct");
  else if (role === "subs") await subscriberWorker();
  else {
    const quick = process.argv.includes("--quick");
    const subs = (arg("subs") ?? (quick ? "1,10,100" : "1,10,100,500")).split(",").map(Number);
    const modes = (arg("modes") ?? "relay,direct,gomoqt").split(",") as FanoutRow["mode"][];
    const transport = (arg("transport") ?? "moq-00") as "moq-00" | "h3";
    const windowS = Number(arg("window") ?? (quick ? 5 : 15));
    const setupTimeoutMs = Number(arg("setup-timeout") ?? 5000);
    const gobin = modes.includes("gomoqt") ? await buildGomoqtPub() : {};
    const rows: FanoutRow[] = [];
    for (const mode of modes)
      for (const n of subs) {
        if (mode === "gomoqt" && !gobin.bin) {
          rows.push({ mode, transport, subs: n, error: gobin.error } as FanoutRow);
          continue;
        }
        rows.push(
          await runFanout({
            mode,
            subs: n,
            transport,
            setupTimeoutMs,
            mediaFirst: process.argv.includes("--media-first"),
            ...(arg("prof") ? { prof: arg("prof")! } : {}),
            warmS: 2,
            windowS,
            ...(gobin.bin ? { gomoqtBin: gobin.bin } : {}),
            log: (s) => console.error(s),
          }),
        );
      }
    console.log(fanoutTable(rows));
    console.log();
    console.log(fanoutProbeTable(rows));
  }
}

/** A UDP port that was free a moment ago. */
async function freeUdpPort(): Promise<number> {
  const sock = createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
  const port = sock.address().port;
  await new Promise<void>((r) => sock.close(() => r()));
  return port;
}
