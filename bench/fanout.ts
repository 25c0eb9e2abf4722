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
 *  Run alone: `npx tsx bench/fanout.ts [--quick] [--subs=1,10,100] [--modes=relay,direct,gomoqt] [--window=S]`.
 *  @module */
import { execFile, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import * as moqt from "../src/index.js";
import { Fanout, type FanGroup } from "../src/relay/fanout.js";
import { startRelay } from "../src/relay/index.js";
import { request, spawnBin, spawnChild, stopChild } from "./child.js";

const SELF = fileURLToPath(import.meta.url);
const PATH = "/bench/fanout";
const TRACK = "video";
const FPS = 30;
const FRAME_BYTES = 10 * 1024;

export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const arg = (k: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);

/** CPU and memory sampled at window start/end (in the child), reported on "report". */
class Meter {
  #c0: NodeJS.CpuUsage | undefined;
  #cpuMs = 0;
  #t0 = 0;
  #t1 = 0;
  rssMax = 0;
  window(t0: number, t1: number): void {
    setTimeout(() => (this.#c0 = process.cpuUsage()), Math.max(0, t0 - nowMs()));
    setTimeout(
      () => {
        const c = process.cpuUsage(this.#c0);
        this.#cpuMs = (c.user + c.system) / 1000;
        this.rssMax = process.memoryUsage().rss;
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
}

/** Children read JSON lines on stdin: {t0,t1} sets the window; {report:true} asks for the report line. */
function control(onWindow: (t0: number, t1: number) => void, report: () => object): void {
  const rl = createInterface({ input: process.stdin });
  rl.on("line", (l) => {
    const m = JSON.parse(l) as { t0?: number; t1?: number; report?: boolean };
    if (m.t0 !== undefined && m.t1 !== undefined) onWindow(m.t0, m.t1);
    if (m.report) process.stdout.write(JSON.stringify(report()) + "\n");
  });
  rl.on("close", () => process.exit(0));
}

// ---------------------------------------------------------------- publisher (relay client or direct server)

/** The 30 fps producer shared by every downstream of this process. */
function startProducer(fanout: Fanout, counter: { sent: number; t0: number; t1: number }): void {
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
    if (t >= counter.t0 && t < counter.t1) counter.sent++;
    k++;
    setTimeout(tick, Math.max(0, start + (k * 1000) / FPS - nowMs()));
  };
  tick();
}

async function publisher(mode: "relay" | "direct"): Promise<void> {
  const fanout = new Fanout();
  fanout.ready();
  const counter = { sent: 0, t0: Infinity, t1: Infinity };
  const meter = new Meter();
  const mux = new moqt.TrackMux();
  mux.publishFunc(undefined, PATH, (tw) => {
    if (tw.trackName !== TRACK) return tw.closeWithError(moqt.SubscribeErrorCode.TrackNotFound);
    return fanout.addDownstream(tw);
  });
  startProducer(fanout, counter);
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
    await client.dial(arg("url")!, mux);
    info = { ok: true };
  }
  process.stdout.write(JSON.stringify(info) + "\n");
  control(
    (t0, t1) => {
      counter.t0 = t0;
      counter.t1 = t1;
      meter.window(t0, t1);
    },
    () => ({ sent: counter.sent, cores: meter.cores, rss: meter.rssMax, subs: fanout.size }),
  );
}

// ---------------------------------------------------------------- relay

async function relayMain(): Promise<void> {
  const meter = new Meter();
  const relay = await startRelay({ listen: "127.0.0.1:0", http: false });
  process.stdout.write(JSON.stringify({ port: relay.port, hash: relay.certificateSha256() }) + "\n");
  control(
    (t0, t1) => meter.window(t0, t1),
    () => {
      const s = relay.stats();
      return { cores: meter.cores, rss: meter.rssMax, sessions: s.sessionsOpen };
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
  const client = new moqt.Client({
    tls: hash ? { serverCertificateHashes: [Buffer.from(hash, "hex")] } : { insecureSkipVerify: true },
    bitrateMonitor: false,
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
              const sent = new DataView(b.buffer, b.byteOffset, 8).getFloat64(0);
              if (sent >= t0 && sent < t1) {
                got++;
                lat.push(now - sent);
              } else other++;
            }
          } catch {
            // expired or reset group: its missing frames count as lost
          }
        })();
      }
    })().catch(() => undefined);
  };
  // Dial in batches so a 100-session worker does not open everything in the same tick.
  for (let i = 0; i < n; i += 10) await Promise.all(Array.from({ length: Math.min(10, n - i) }, one));
  process.stdout.write(JSON.stringify({ ready: n }) + "\n");
  control(
    (a, b) => {
      t0 = a;
      t1 = b;
      meter.window(a, b);
    },
    () => ({ got, other, lat, cores: meter.cores, rss: meter.rssMax }),
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
  subs: number;
  workers: number;
  sent: number;
  delivered: number;
  p50: number;
  p99: number;
  max: number;
  /** CPU cores used over the window, per role. */
  cpu: { relay?: number; pub: number; subsPerWorker: number };
  rssMB: { relay?: number; pub?: number };
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
  gomoqtBin?: string;
  log?: (s: string) => void;
}): Promise<FanoutRow> {
  const log = opts.log ?? (() => {});
  const workers = opts.subs <= 10 ? 1 : opts.subs <= 100 ? 2 : 4;
  const children: { child: import("node:child_process").ChildProcess }[] = [];
  try {
    let url: string;
    let hash: string | undefined;
    let relay: Awaited<ReturnType<typeof spawnChild<{ port: number; hash: string }>>> | undefined;
    let pub: {
      child: ChildProcess;
      info: { port?: number; hash?: string };
      lines: AsyncIterableIterator<string>;
    };
    if (opts.mode === "relay") {
      relay = await spawnChild<{ port: number; hash: string }>(SELF, ["--role=relay"]);
      children.push(relay);
      url = `moqt://127.0.0.1:${relay.info.port}/`;
      hash = relay.info.hash;
      pub = await spawnChild(SELF, ["--role=pub", `--url=${url}`, `--hash=${hash}`]);
      children.push(pub);
    } else if (opts.mode === "direct") {
      pub = await spawnChild<{ port: number; hash: string }>(SELF, ["--role=pubserver"]);
      children.push(pub);
      url = `moqt://127.0.0.1:${pub.info.port}/`;
      hash = pub.info.hash;
    } else {
      pub = await spawnBin<{ port: number }>(opts.gomoqtBin!, [`--port=${await freeUdpPort()}`]);
      children.push(pub);
      url = `moqt://127.0.0.1:${pub.info.port}/`;
      hash = undefined; // gomoqt's generated cert: skip verification (loopback)
    }
    const per = Math.ceil(opts.subs / workers);
    const ws = await Promise.all(
      Array.from({ length: workers }, (_, i) =>
        spawnChild<{ ready: number }>(SELF, [
          "--role=subs",
          `--n=${Math.min(per, opts.subs - i * per)}`,
          `--url=${url}`,
          ...(hash ? [`--hash=${hash}`] : []),
        ]),
      ),
    );
    children.push(...ws);
    const t0 = nowMs() + opts.warmS * 1000;
    const t1 = t0 + opts.windowS * 1000;
    const win = { t0, t1 };
    for (const c of [...(relay ? [relay] : []), pub, ...ws]) c.child.stdin!.write(JSON.stringify(win) + "\n");
    log(
      `fanout ${opts.mode} ${opts.subs}: ${workers} workers up, window ${opts.windowS}s after ${opts.warmS}s warm-up`,
    );
    await sleep(t1 - nowMs() + 1000); // + grace for frames in flight
    const pr = (await request(pub, { report: true })) as { sent: number; cores: number; rss: number };
    const rr = relay
      ? ((await request(relay, { report: true })) as { cores: number; rss: number })
      : undefined;
    const wr = (await Promise.all(ws.map((w) => request(w, { report: true })))) as {
      got: number;
      lat: number[];
      cores: number;
    }[];
    const lat = wr.flatMap((w) => w.lat).sort((a, b) => a - b);
    const got = wr.reduce((a, w) => a + w.got, 0);
    const delivered = pr.sent > 0 ? got / (pr.sent * opts.subs) : 0;
    const egressMbps = (got * FRAME_BYTES * 8) / 1e6 / opts.windowS;
    const senderCores = rr ? rr.cores : pr.cores;
    const row: FanoutRow = {
      mode: opts.mode,
      subs: opts.subs,
      workers,
      sent: pr.sent,
      delivered,
      p50: quantile(lat, 0.5),
      p99: quantile(lat, 0.99),
      max: lat.length ? lat[lat.length - 1]! : NaN,
      cpu: {
        ...(rr ? { relay: rr.cores } : {}),
        pub: pr.cores,
        subsPerWorker: wr.reduce((a, w) => a + w.cores, 0) / workers,
      },
      rssMB: { ...(rr ? { relay: rr.rss / 2 ** 20 } : {}), ...(pr.rss ? { pub: pr.rss / 2 ** 20 } : {}) },
      egressMbps,
      egressPerCoreMbps: senderCores > 0 ? egressMbps / senderCores : NaN,
    };
    log(
      `fanout ${opts.mode} ${opts.subs}: delivered ${(delivered * 100).toFixed(2)} %, p50 ${row.p50.toFixed(2)} ms, ` +
        `p99 ${row.p99.toFixed(2)} ms, max ${row.max.toFixed(1)} ms, sender ${senderCores.toFixed(2)} cores`,
    );
    return row;
  } finally {
    await Promise.all(children.map((c) => stopChild(c.child)));
  }
}

export function fanoutTable(rows: FanoutRow[]): string {
  const f = (v: number | undefined, d = 2) => (v === undefined || Number.isNaN(v) ? "—" : v.toFixed(d));
  const lines = [
    "| publisher path | subscribers (workers) | frames sent | delivered | p50 ms | p99 ms | max ms | relay CPU | publisher CPU | CPU per sub worker | relay RSS MB | egress Mbps | egress Mbps per sending core |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    if (r.error) {
      lines.push(`| ${r.mode} | ${r.subs} | not measured: ${r.error} |||||||||||`);
      continue;
    }
    lines.push(
      `| ${r.mode} | ${r.subs} (${r.workers}) | ${r.sent} | ${(r.delivered * 100).toFixed(2)} % | ${f(r.p50)} | ` +
        `${f(r.p99)} | ${f(r.max, 1)} | ${f(r.cpu.relay)} | ${f(r.cpu.pub)} | ${f(r.cpu.subsPerWorker)} | ` +
        `${f(r.rssMB.relay, 0)} | ${f(r.egressMbps, 1)} | ${f(r.egressPerCoreMbps, 0)} |`,
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
    const windowS = Number(arg("window") ?? (quick ? 5 : 15));
    const gobin = modes.includes("gomoqt") ? await buildGomoqtPub() : {};
    const rows: FanoutRow[] = [];
    for (const mode of modes)
      for (const n of subs) {
        if (mode === "gomoqt" && !gobin.bin) {
          rows.push({ mode, subs: n, error: gobin.error } as FanoutRow);
          continue;
        }
        rows.push(
          await runFanout({
            mode,
            subs: n,
            warmS: 2,
            windowS,
            ...(gobin.bin ? { gomoqtBin: gobin.bin } : {}),
            log: (s) => console.error(s),
          }),
        );
      }
    console.log(fanoutTable(rows));
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
