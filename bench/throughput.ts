/** Throughput: the raw addon (one stream) against one MoQ track, at 1 KB, 10 KB and 100 KB writes/frames, over raw
 *  QUIC (moq-00) and WebTransport (h3), every figure measured in the same run as its baseline; the two ends are
 *  separate Node processes on 127.0.0.1.
 *
 *  - raw: the server of `bench/raw_transport.ts` (run as a child with `--server`); the client writes `mb` MB on one
 *    bidi stream in writes of the frame size and stops the clock when the server confirms the byte count (sink mode).
 *  - MoQ: a child runs a `Server` publishing `/bench`; track name = frame size in bytes; the publisher writes frames
 *    as fast as backpressure lets it, `framesPerGroup` = ceil(4 MiB / size) frames per group (group = stream). The
 *    parent subscribes and stops the clock when `mb` MB of frame payload have arrived.
 *  The data flows client→server for raw, server→client for MoQ (both directions are loopback between two processes
 *  on the same cores). `moqOverRaw` = MoQ MB/s ÷ raw MB/s of the same size and transport.
 *
 *  Noise: each size runs `reps` interleaved pairs (raw, MoQ, raw, MoQ, …) after an untimed warm-up at that size; the
 *  table gives the medians and `moqOverRaw` is the median of the per-pair ratios, with their min–max as the spread.
 *
 *  Run alone: `npx tsx bench/throughput.ts [--quick] [--mb=N] [--reps=N] [--sizes=1024,…] [--transports=moq-00,h3]
 *  [--ab=OTHER/bench/throughput.ts] [--prof=DIR]` (--ab: A/B against the MoQ publisher of another checkout; --prof: the MoQ publisher child runs with --cpu-prof into DIR; run the parent with
 *  `node --cpu-prof --import tsx` for the subscriber side).
 *  @module */
import { fileURLToPath } from "node:url";
import * as moqt from "../src/index.js";
import { connectNative } from "../src/transport/native/index.js";
import { childCpuUs, serveCpu, spawnChild, stopChild } from "./child.js";
import { sink as rawSink, source as rawSource } from "./raw_transport.js";

export const SIZES = [1024, 10 * 1024, 100 * 1024];
const MB = 1e6;
const SELF = fileURLToPath(import.meta.url);

export interface ThroughputRow {
  transport: "moq-00" | "h3";
  size: number;
  /** Medians over the repeats. raw: client → server (sink), the historical baseline; rawDown: server → client
   *  (source), the same direction and process roles as the MoQ publisher server → subscriber client. */
  rawMBps: number;
  rawDownMBps: number;
  moqMBps: number;
  /** Median of the per-repeat ratios (each MoQ run ÷ the raw run just before it). */
  ratio: number;
  /** Median of MoQ ÷ the server → client raw run of the same repeat. */
  ratioDown: number;
  /** Lowest and highest per-repeat ratio. */
  ratioMin: number;
  ratioMax: number;
  reps: number;
  /** Process CPU (user+system, every thread) µs per MB, medians: raw sender and receiver, MoQ publisher and
   *  subscriber. */
  cpuUsPerMB: { rawSend: number; rawRecv: number; moqPub: number; moqSub: number };
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// ---- MoQ publisher child ----

async function moqServer(): Promise<void> {
  const mux = new moqt.TrackMux();
  mux.publishFunc(undefined, "/bench", async (tw) => {
    const size = Number(tw.trackName);
    const perGroup = Math.ceil((4 << 20) / size);
    const payload = new Uint8Array(size).fill(7);
    try {
      for (let seq = 0; !tw.signal.aborted; seq++) {
        const g = await tw.openGroup(seq);
        for (let i = 0; i < perGroup && !tw.signal.aborted; i++) await g.writeFrame(payload);
        await g.close();
      }
    } catch {
      // the subscriber went away
    }
  });
  const router = new moqt.SetupRouter();
  router.handleFunc("/", async (w, r) => {
    await moqt.accept(w, r, mux);
  });
  const server = new moqt.Server({ addr: "127.0.0.1:0", setupHandler: router, bitrateMonitor: false });
  server.listen();
  process.stdout.write(
    JSON.stringify({ port: server.port, hash: Buffer.from(server.certificateHash!).toString("hex") }) + "\n",
  );
  serveCpu(() => void server.close().finally(() => process.exit(0)));
}

/** Subscriber-side CPU (user+system µs) per MB of the last moqReceive. */
export let lastRecvCpuPerMB = 0;

async function moqReceive(session: moqt.Session, size: number, bytes: number): Promise<number> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const tr = await session.subscribe("/bench", String(size));
  let got = 0;
  outer: for await (const g of tr) {
    for (;;) {
      const f = await g.readFrame();
      if (f === null) break;
      got += f.len;
      if (got >= bytes) break outer;
    }
  }
  const dt = performance.now() - t0;
  const c = process.cpuUsage(c0);
  lastRecvCpuPerMB = (c.user + c.system) / (bytes / MB);
  await tr.close().catch(() => undefined);
  return bytes / MB / (dt / 1000);
}

export async function runThroughput(opts: {
  quick: boolean;
  /** MB per measurement (default 64 quick, 256 full). */
  mb?: number;
  /** Interleaved raw/MoQ pairs per size and transport (default 4 quick, 7 full). */
  reps?: number;
  prof?: string;
  sizes?: number[];
  transports?: ("moq-00" | "h3")[];
  /** A/B: a second MoQ publisher child from this file (e.g. bench/throughput.ts of another checkout), measured in
   *  every repeat right after ours; its median ratio is logged. */
  abFile?: string;
  log?: (s: string) => void;
}): Promise<ThroughputRow[]> {
  const log = opts.log ?? (() => {});
  const bytes = (opts.mb ?? (opts.quick ? 64 : 256)) * MB;
  const reps = opts.reps ?? (opts.quick ? 4 : 7);
  const rawFile = fileURLToPath(new URL("./raw_transport.ts", import.meta.url));
  const raw = await spawnChild<{ port: number; hash: string }>(rawFile, ["--server"]);
  const moq = await spawnChild<{ port: number; hash: string }>(
    SELF,
    ["--moq-server"],
    opts.prof ? ["--cpu-prof", `--cpu-prof-dir=${opts.prof}`] : [],
  );
  const moqB = opts.abFile
    ? await spawnChild<{ port: number; hash: string }>(opts.abFile, ["--moq-server"])
    : undefined;
  const rows: ThroughputRow[] = [];
  try {
    for (const alpn of opts.transports ?? (["moq-00", "h3"] as const)) {
      const t = await connectNative(`https://127.0.0.1:${raw.info.port}/bench`, {
        alpn,
        certHashes: [Buffer.from(raw.info.hash, "hex")],
      });
      const client = new moqt.Client({
        tls: { serverCertificateHashes: [Buffer.from(moq.info.hash, "hex")] },
        bitrateMonitor: false,
      });
      const session = await client.dial(`${alpn === "h3" ? "https" : "moqt"}://127.0.0.1:${moq.info.port}/`);
      const clientB = moqB
        ? new moqt.Client({
            tls: { serverCertificateHashes: [Buffer.from(moqB.info.hash, "hex")] },
            bitrateMonitor: false,
          })
        : undefined;
      const sessionB = await clientB?.dial(
        `${alpn === "h3" ? "https" : "moqt"}://127.0.0.1:${moqB!.info.port}/`,
      );
      try {
        if (sessionB) await moqReceive(sessionB, 10240, 8 * MB);
        // warm-up: congestion window and JIT on both paths
        await rawSink(t, 8 * MB, new Uint8Array(10240));
        await moqReceive(session, 10240, 8 * MB);
        for (const size of opts.sizes ?? SIZES) {
          const chunk = new Uint8Array(size).fill(7);
          // untimed warm-up at this size (JIT of the size-specific paths), then raw, MoQ, raw, MoQ, …: each ratio
          // compares two runs a fraction of a second apart, and the median ignores the runs another process spoiled
          await rawSink(t, bytes / 4, chunk);
          await moqReceive(session, size, bytes / 4);
          const rawR: number[] = [];
          const downR: number[] = [];
          const ratiosDown: number[] = [];
          const ratiosB: number[] = [];
          const cpuB = { pub: [] as number[], sub: [] as number[] };
          if (sessionB) await moqReceive(sessionB, size, bytes / 4);
          const moqR: number[] = [];
          const ratios: number[] = [];
          const cpu = {
            rawSend: [] as number[],
            rawRecv: [] as number[],
            moqPub: [] as number[],
            moqSub: [] as number[],
          };
          const perMB = (us: number) => us / (bytes / MB);
          for (let rep = 0; rep < reps; rep++) {
            let k0 = await childCpuUs(raw);
            const c0 = process.cpuUsage();
            const t0 = performance.now();
            await rawSink(t, bytes, chunk);
            rawR.push(bytes / MB / ((performance.now() - t0) / 1000));
            const c = process.cpuUsage(c0);
            cpu.rawSend.push(perMB(c.user + c.system));
            cpu.rawRecv.push(perMB((await childCpuUs(raw)) - k0));
            const t1 = performance.now();
            await rawSource(t, bytes, size);
            downR.push(bytes / MB / ((performance.now() - t1) / 1000));
            k0 = await childCpuUs(moq);
            moqR.push(await moqReceive(session, size, bytes));
            cpu.moqPub.push(perMB((await childCpuUs(moq)) - k0));
            cpu.moqSub.push(lastRecvCpuPerMB);
            ratios.push(moqR[rep]! / rawR[rep]!);
            ratiosDown.push(moqR[rep]! / downR[rep]!);
            if (sessionB) {
              const kb = await childCpuUs(moqB!);
              ratiosB.push((await moqReceive(sessionB, size, bytes)) / rawR[rep]!);
              cpuB.pub.push(perMB((await childCpuUs(moqB!)) - kb));
              cpuB.sub.push(lastRecvCpuPerMB);
            }
          }
          const row: ThroughputRow = {
            transport: alpn,
            size,
            rawMBps: median(rawR),
            rawDownMBps: median(downR),
            ratioDown: median(ratiosDown),
            moqMBps: median(moqR),
            ratio: median(ratios),
            ratioMin: Math.min(...ratios),
            ratioMax: Math.max(...ratios),
            reps,
            cpuUsPerMB: {
              rawSend: median(cpu.rawSend),
              rawRecv: median(cpu.rawRecv),
              moqPub: median(cpu.moqPub),
              moqSub: median(cpu.moqSub),
            },
          };
          log(
            `throughput ${alpn} ${size} B: raw ${row.rawMBps.toFixed(0)} MB/s, raw down ${row.rawDownMBps.toFixed(0)} MB/s (moq/down ${row.ratioDown.toFixed(2)}), moq ${row.moqMBps.toFixed(0)} MB/s, ` +
              `moq/raw ${row.ratio.toFixed(2)} (${ratios.map((r) => r.toFixed(2)).join(" ")}); CPU µs/MB raw ` +
              `send ${row.cpuUsPerMB.rawSend.toFixed(0)} recv ${row.cpuUsPerMB.rawRecv.toFixed(0)}, MoQ pub ` +
              `${row.cpuUsPerMB.moqPub.toFixed(0)} sub ${row.cpuUsPerMB.moqSub.toFixed(0)}`,
          );
          if (sessionB)
            log(
              `  A/B ${alpn} ${size} B: moq/raw ours ${row.ratio.toFixed(2)} (${ratios.map((r) => r.toFixed(2)).join(" ")}), ` +
                `B ${median(ratiosB).toFixed(2)} (${ratiosB.map((r) => r.toFixed(2)).join(" ")}); CPU µs/MB pub/sub ours ` +
                `${row.cpuUsPerMB.moqPub.toFixed(0)}/${row.cpuUsPerMB.moqSub.toFixed(0)}, B ${median(cpuB.pub).toFixed(0)}/` +
                `${median(cpuB.sub).toFixed(0)}`,
            );
          rows.push(row);
        }
      } finally {
        await sessionB?.closeWithError(0, "done").catch(() => undefined);
        await clientB?.close();
        await session.closeWithError(0, "done").catch(() => undefined);
        await client.close();
        t.close(0, "");
        await t.closed;
      }
    }
  } finally {
    await stopChild(raw.child);
    await stopChild(moq.child);
    if (moqB) await stopChild(moqB.child);
  }
  return rows;
}

export function throughputTable(rows: ThroughputRow[]): string {
  const lines = [
    "| transport | frame / write size | raw stream MB/s | MoQ track MB/s | MoQ / raw (median) | MoQ / raw (min–max) | " +
      "CPU µs/MB raw sender / receiver | CPU µs/MB MoQ publisher / subscriber |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows)
    lines.push(
      `| ${r.transport === "h3" ? "WebTransport (h3)" : "raw QUIC (moq-00)"} | ${r.size / 1024} KiB | ` +
        `${r.rawMBps.toFixed(0)} | ${r.moqMBps.toFixed(0)} | ${r.ratio.toFixed(2)} | ` +
        `${r.ratioMin.toFixed(2)}–${r.ratioMax.toFixed(2)} (${r.reps} pairs) | ` +
        `${r.cpuUsPerMB.rawSend.toFixed(0)} / ${r.cpuUsPerMB.rawRecv.toFixed(0)} | ` +
        `${r.cpuUsPerMB.moqPub.toFixed(0)} / ${r.cpuUsPerMB.moqSub.toFixed(0)} |`,
    );
  return lines.join("\n");
}

if (process.argv[1] === SELF) {
  if (process.argv.includes("--moq-server")) await moqServer();
  else {
    const arg = (k: string) => process.argv.find((a) => a.startsWith(`--${k}=`))?.split("=")[1];
    const rows = await runThroughput({
      quick: process.argv.includes("--quick"),
      ...(arg("mb") ? { mb: Number(arg("mb")) } : {}),
      ...(arg("reps") ? { reps: Number(arg("reps")) } : {}),
      ...(arg("ab") ? { abFile: arg("ab")! } : {}),
      ...(arg("transports") ? { transports: arg("transports")!.split(",") as ("moq-00" | "h3")[] } : {}),
      ...(arg("prof") ? { prof: arg("prof")! } : {}),
      ...(arg("sizes") ? { sizes: arg("sizes")!.split(",").map(Number) } : {}),
      log: (s) => console.error(s),
    });
    console.log(throughputTable(rows));
  }
}
