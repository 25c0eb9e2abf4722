/** Memory: a soak through the relay with subscriber churn, and the heap cost of an idle subscription.
 *
 *  Processes (127.0.0.1, raw QUIC): relay (`startRelay`, run with --expose-gc), publisher (bench/fanout.ts
 *  `--role=pub`: 30 fps × 10 KB, one group per second), and one churn worker holding `subs` sessions, each subscribed;
 *  every second it closes `churn` random sessions and dials as many new ones. The relay samples RSS and heapUsed
 *  (after a forced GC) every `interval` ms. Reported: start/end and the least-squares slope (MB/min) over the samples
 *  after the first 20 % of the run.
 *  Idle subscriptions: a second publisher announces `/bench/idle` and never writes; a worker opens `idle` sessions with
 *  one subscription each; heap per idle subscription = Δ relay heapUsed (after GC) ÷ idle.
 *
 *  Run alone: `npx tsx bench/soak.ts [--quick] [--seconds=N]`.
 *  @module */
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import * as moqt from "../src/index.js";
import { startRelay } from "../src/relay/index.js";
import { spawnChild, stopChild } from "./child.js";

const SELF = fileURLToPath(import.meta.url);
const FANOUT = fileURLToPath(new URL("./fanout.ts", import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const arg = (k: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
const gc = (globalThis as { gc?: () => void }).gc;

interface Sample {
  t: number;
  rss: number;
  heap: number;
}

function memNow(): { rss: number; heap: number } {
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

async function relayRole(): Promise<void> {
  const relay = await startRelay({ listen: "127.0.0.1:0", http: false });
  process.stdout.write(JSON.stringify({ port: relay.port, hash: relay.certificateSha256() }) + "\n");
  const samples: Sample[] = [];
  let timer: ReturnType<typeof setInterval> | undefined;
  const t0 = performance.now();
  createInterface({ input: process.stdin })
    .on("line", (l) => {
      const m = JSON.parse(l) as { sample?: boolean; every?: number; stop?: boolean };
      if (m.every) {
        samples.push({ t: 0, ...memNow() });
        timer = setInterval(() => samples.push({ t: (performance.now() - t0) / 1000, ...memNow() }), m.every);
      }
      if (m.stop) {
        clearInterval(timer);
        const s = relay.stats();
        process.stdout.write(
          JSON.stringify({ samples, sessions: s.sessionsOpen, stats: { ...s, broadcasts: undefined } }) +
            "\n",
        );
      }
      if (m.sample)
        process.stdout.write(JSON.stringify({ ...memNow(), sessions: relay.stats().sessionsOpen }) + "\n");
    })
    .on("close", () => process.exit(0));
}

async function idlePubRole(): Promise<void> {
  const mux = new moqt.TrackMux();
  mux.publishFunc(undefined, "/bench/idle", async (tw) => {
    await tw.writeInfo(); // SUBSCRIBE_OK is lazy: send it, then never write
    await new Promise<void>((r) => tw.signal.addEventListener("abort", () => r()));
  });
  const client = new moqt.Client({
    tls: { serverCertificateHashes: [Buffer.from(arg("hash")!, "hex")] },
    bitrateMonitor: false,
  });
  await client.dial(arg("url")!, mux);
  process.stdout.write(JSON.stringify({ ok: true }) + "\n");
  process.stdin.on("end", () => process.exit(0)).resume();
}

/** Holds `n` sessions subscribed to `path`/`track`; with `churn`, replaces that many random sessions per second. */
async function workerRole(): Promise<void> {
  const n = Number(arg("n"));
  const churn = Number(arg("churn") ?? 0);
  const path = arg("path")!;
  const track = arg("track")!;
  const client = new moqt.Client({
    tls: { serverCertificateHashes: [Buffer.from(arg("hash")!, "hex")] },
    bitrateMonitor: false,
  });
  let frames = 0;
  let dials = 0;
  const open = async (): Promise<moqt.Session> => {
    const s = await client.dial(arg("url")!);
    dials++;
    for (let attempt = 0; ; attempt++) {
      try {
        const tr = await s.subscribe(path, track);
        void (async () => {
          for await (const g of tr)
            void (async () => {
              for await (const _f of g) frames++;
            })().catch(() => undefined);
        })().catch(() => undefined);
        return s;
      } catch (e) {
        if (attempt > 50) throw e;
        await sleep(100);
      }
    }
  };
  const sessions: moqt.Session[] = [];
  for (let i = 0; i < n; i += 10)
    sessions.push(...(await Promise.all(Array.from({ length: Math.min(10, n - i) }, open))));
  process.stdout.write(JSON.stringify({ ready: n }) + "\n");
  if (churn > 0) {
    const loop = async (): Promise<void> => {
      for (;;) {
        await sleep(1000);
        for (let i = 0; i < churn; i++) {
          const k = Math.floor(Math.random() * sessions.length);
          void sessions[k]!.closeWithError(0, "churn").catch(() => undefined);
          sessions[k] = await open();
        }
      }
    };
    void loop();
  }
  createInterface({ input: process.stdin })
    .on("line", () => process.stdout.write(JSON.stringify({ frames, dials }) + "\n"))
    .on("close", () => process.exit(0));
}

function slope(samples: Sample[], key: "rss" | "heap"): number {
  const s = samples.slice(Math.floor(samples.length * 0.2));
  const n = s.length;
  if (n < 2) return NaN;
  const mx = s.reduce((a, p) => a + p.t, 0) / n;
  const my = s.reduce((a, p) => a + p[key], 0) / n;
  let num = 0;
  let den = 0;
  for (const p of s) {
    num += (p.t - mx) * (p[key] - my);
    den += (p.t - mx) ** 2;
  }
  return ((num / den) * 60) / 2 ** 20; // MB per minute
}

export interface SoakResult {
  seconds: number;
  subs: number;
  churnPerS: number;
  dials: number;
  rssStartMB: number;
  rssEndMB: number;
  rssSlopeMBmin: number;
  heapStartMB: number;
  heapEndMB: number;
  heapSlopeMBmin: number;
  idleSubs: number;
  heapPerIdleSubKB: number;
  samples: Sample[];
}

export async function runSoak(opts: {
  seconds: number;
  subs?: number;
  churn?: number;
  idle?: number;
  log?: (s: string) => void;
}): Promise<SoakResult> {
  const log = opts.log ?? (() => {});
  const subs = opts.subs ?? 20;
  const churn = opts.churn ?? 2;
  const idle = opts.idle ?? 200;
  const kids: { child: import("node:child_process").ChildProcess }[] = [];
  try {
    const relay = await spawnChild<{ port: number; hash: string }>(SELF, ["--role=relay"], ["--expose-gc"]);
    kids.push(relay);
    const url = `moqt://127.0.0.1:${relay.info.port}/`;
    const common = [`--url=${url}`, `--hash=${relay.info.hash}`];
    const ask = async (msg: object): Promise<Record<string, unknown>> => {
      relay.child.stdin!.write(JSON.stringify(msg) + "\n");
      return JSON.parse((await relay.lines.next()).value as string) as Record<string, unknown>;
    };
    // 1) idle subscriptions
    const idlePub = await spawnChild(SELF, ["--role=idlepub", ...common]);
    kids.push(idlePub);
    await sleep(500);
    const before = await ask({ sample: true });
    const idleW = await spawnChild(SELF, [
      "--role=worker",
      `--n=${idle}`,
      "--path=/bench/idle",
      "--track=t",
      ...common,
    ]);
    await sleep(1000);
    const after = await ask({ sample: true });
    const heapPerIdleSubKB = ((after.heap as number) - (before.heap as number)) / idle / 1024;
    log(
      `soak: ${idle} idle subscriptions: relay heap +${(((after.heap as number) - (before.heap as number)) / 2 ** 20).toFixed(2)} MB (${heapPerIdleSubKB.toFixed(1)} KB each)`,
    );
    await stopChild(idleW.child);
    await stopChild(idlePub.child);
    await sleep(500);
    // 2) soak with churn
    const pub = await spawnChild(FANOUT, ["--role=pub", "--start", ...common]);
    kids.push(pub);
    const w = await spawnChild(SELF, [
      "--role=worker",
      `--n=${subs}`,
      `--churn=${churn}`,
      "--path=/bench/fanout",
      "--track=video",
      ...common,
    ]);
    kids.push(w);
    const every = Math.max(500, Math.round((opts.seconds * 1000) / 60));
    relay.child.stdin!.write(JSON.stringify({ every }) + "\n");
    log(
      `soak: ${opts.seconds}s, ${subs} subscribers, ${churn} replaced per second, sampling every ${every} ms`,
    );
    await sleep(opts.seconds * 1000);
    w.child.stdin!.write("{}\n");
    const wr = JSON.parse((await w.lines.next()).value as string) as { frames: number; dials: number };
    const fin = await ask({ stop: true });
    const samples = fin.samples as Sample[];
    const first = samples[0]!;
    const last = samples[samples.length - 1]!;
    const r: SoakResult = {
      seconds: opts.seconds,
      subs,
      churnPerS: churn,
      dials: wr.dials,
      rssStartMB: first.rss / 2 ** 20,
      rssEndMB: last.rss / 2 ** 20,
      rssSlopeMBmin: slope(samples, "rss"),
      heapStartMB: first.heap / 2 ** 20,
      heapEndMB: last.heap / 2 ** 20,
      heapSlopeMBmin: slope(samples, "heap"),
      idleSubs: idle,
      heapPerIdleSubKB,
      samples,
    };
    log(
      `soak: relay RSS ${r.rssStartMB.toFixed(1)} → ${r.rssEndMB.toFixed(1)} MB (${r.rssSlopeMBmin.toFixed(2)} MB/min), ` +
        `heap ${r.heapStartMB.toFixed(1)} → ${r.heapEndMB.toFixed(1)} MB (${r.heapSlopeMBmin.toFixed(2)} MB/min), ${wr.dials} dials, ${wr.frames} frames`,
    );
    return r;
  } finally {
    await Promise.all(kids.map((k) => stopChild(k.child)));
  }
}

export function soakTable(r: SoakResult): string {
  return [
    "| run | subscribers | churn | sessions dialled | relay RSS start → end (MB) | RSS slope MB/min | relay heap start → end (MB) | heap slope MB/min | heap per idle subscription |",
    "|---|---:|---:|---:|---|---:|---|---:|---:|",
    `| ${r.seconds} s | ${r.subs} | ${r.churnPerS}/s | ${r.dials} | ${r.rssStartMB.toFixed(1)} → ${r.rssEndMB.toFixed(1)} | ` +
      `${r.rssSlopeMBmin.toFixed(2)} | ${r.heapStartMB.toFixed(1)} → ${r.heapEndMB.toFixed(1)} | ${r.heapSlopeMBmin.toFixed(2)} | ` +
      `${r.heapPerIdleSubKB.toFixed(1)} KB (${r.idleSubs} subscriptions, 1 per session) |`,
  ].join("\n");
}

if (process.argv[1] === SELF) {
  const role = arg("role");
  if (role === "relay") await relayRole();
  else if (role === "idlepub") await idlePubRole();
  else if (role === "worker") await workerRole();
  else {
    const r = await runSoak({
      seconds: Number(arg("seconds") ?? (process.argv.includes("--quick") ? 20 : 600)),
      log: (s) => console.error(s),
    });
    console.log(soakTable(r));
  }
}
