/** Session setup rate: MoQ sessions per second dialled from this process to a `Server` in a child process, over raw
 *  QUIC (`moqt://`) and WebTransport (`https://`), sequentially and with `concurrency` dials in flight, with the
 *  p50/p99 latency of one dial (QUIC + TLS handshake, WebTransport CONNECT when https, SESSION_CLIENT/SERVER).
 *
 *  `npx tsx bench/setup.ts [--quick] [--busy=PCT] [--sessions=N] [--concurrency=N] [--server-cpu-prof=DIR]` prints a markdown table and then one JSON line. `--busy=PCT` keeps
 *  the server's JS thread busy PCT % of the time (a synchronous spin in 10 ms slices, like a process also serving
 *  media) to show where setup queues when the server is loaded. `runSetup(opts)` returns the figures (bench/run.ts).
 *
 *  The server verifies nothing and accepts every session (no auth, bitrate monitor off); the client trusts the
 *  server's certificate by its SHA-256. Sessions stay open until the end of each run, then are closed. The server
 *  samples its native counters (`nativeStats()`) every 5 ms: the peak of connections in their handshake and of
 *  handshaken connections waiting for the JS accept loop (`incoming`) show which side queues.
 *  @module */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const SELF = fileURLToPath(import.meta.url);

export interface SetupOptions {
  /** Fewer sessions per run (for `npm run bench -- --quick`). */
  quick?: boolean;
  /** Sessions per run; default 200 (quick) or 1000. */
  sessions?: number;
  /** Dials in flight in the concurrent runs; default 50. */
  concurrency?: number;
  /** Keep the server's JS thread busy this share of the time (0..90 %); default 0. */
  busyPct?: number;
  /** Write a V8 CPU profile of the server process into this folder (`--server-cpu-prof=DIR`). */
  serverCpuProfDir?: string;
  log?: (s: string) => void;
}

export interface SetupRun {
  transport: "raw QUIC" | "WebTransport";
  /** Dials in flight. */
  concurrency: number;
  sessions: number;
  failed: number;
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Server side, sampled every 5 ms during the run: the most handshaken connections waiting for the JS accept loop
   *  (`incoming`), and the most connections in their QUIC/HTTP/3 handshake at once. */
  serverIncomingMax: number;
  serverHandshakesMax: number;
}

export interface SetupResult {
  busyPct: number;
  runs: SetupRun[];
}

// ---- server role (child process)

async function serverRole(busyPct: number): Promise<void> {
  const moqt = await import("../src/index.js");
  const { nativeStats } = await import("../src/transport/native/index.js");
  let setups = 0;
  const server = new moqt.Server({
    addr: "127.0.0.1:0",
    bitrateMonitor: false,
    setupHandler: async (w, r) => {
      await moqt.accept(w, r, new moqt.TrackMux());
      setups++;
    },
  });
  server.listen();
  if (busyPct > 0) {
    // A busy JS thread: spin busyPct % of every 10 ms.
    const spin = (busyPct / 100) * 10;
    setInterval(() => {
      const until = performance.now() + spin;
      while (performance.now() < until);
    }, 10);
  }
  process.stdout.write(
    JSON.stringify({ port: server.port, hash: Buffer.from(server.certificateHash!).toString("hex") }) + "\n",
  );
  // The peaks of the native queues since the last "stats" request.
  let incomingMax = 0;
  let handshakesMax = 0;
  const sampler = setInterval(() => {
    const n = nativeStats();
    incomingMax = Math.max(incomingMax, n.incoming);
    handshakesMax = Math.max(handshakesMax, n.handshakes);
  }, 5);
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === "stats") {
      process.stdout.write(JSON.stringify({ setups, incomingMax, handshakesMax }) + "\n");
      incomingMax = handshakesMax = 0;
    }
  }
  clearInterval(sampler);
  await server.close();
  process.exit(0);
}

// ---- client side

interface ServerChild {
  child: ChildProcess;
  port: number;
  hash: Uint8Array;
  next: () => Promise<string>;
}

async function startServer(busyPct: number, profDir: string | undefined): Promise<ServerChild> {
  const prof = profDir ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : [];
  const child = spawn(
    process.execPath,
    [...prof, "--import", "tsx", SELF, "--role=server", `--busy=${busyPct}`],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await lines.next();
    if (r.done) throw new Error("setup bench server exited");
    return r.value;
  };
  const info = JSON.parse(await next()) as { port: number; hash: string };
  return { child, port: info.port, hash: new Uint8Array(Buffer.from(info.hash, "hex")), next };
}

const quantile = (sorted: number[], q: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]! : NaN;

/** Measure sessions/s and dial latency: `sessions` dials over `scheme`, `concurrency` in flight. */
async function measure(
  srv: ServerChild,
  scheme: "moqt" | "https",
  sessions: number,
  concurrency: number,
): Promise<SetupRun> {
  const moqt = await import("../src/index.js");
  const client = new moqt.Client({ tls: { serverCertificateHashes: [srv.hash] }, bitrateMonitor: false });
  const url = `${scheme}://127.0.0.1:${srv.port}/`;
  const lat: number[] = [];
  let started = 0;
  let failed = 0;
  srv.child.stdin!.write("stats\n"); // resets the server's peaks
  await srv.next();
  const t0 = performance.now();
  const worker = async () => {
    while (started < sessions) {
      started++;
      const s0 = performance.now();
      try {
        await client.dial(url);
        lat.push(performance.now() - s0);
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  srv.child.stdin!.write("stats\n");
  const stats = JSON.parse(await srv.next()) as { incomingMax: number; handshakesMax: number };
  await client.close();
  lat.sort((a, b) => a - b);
  return {
    transport: scheme === "moqt" ? "raw QUIC" : "WebTransport",
    concurrency,
    sessions: lat.length,
    failed,
    perSec: lat.length / seconds,
    p50Ms: quantile(lat, 0.5),
    p99Ms: quantile(lat, 0.99),
    serverIncomingMax: stats.incomingMax,
    serverHandshakesMax: stats.handshakesMax,
  };
}

export async function runSetup(opts: SetupOptions = {}): Promise<SetupResult> {
  const sessions = opts.sessions ?? (opts.quick ? 200 : 1000);
  const concurrency = opts.concurrency ?? 50;
  const busyPct = Math.max(0, Math.min(90, opts.busyPct ?? 0));
  const srv = await startServer(busyPct, opts.serverCpuProfDir);
  const runs: SetupRun[] = [];
  try {
    // A few warm-up dials (JIT, first handshake) are not counted.
    await measure(srv, "moqt", 10, 1);
    for (const scheme of ["moqt", "https"] as const)
      for (const c of [1, concurrency]) {
        const r = await measure(srv, scheme, c === 1 ? Math.ceil(sessions / 2) : sessions, c);
        opts.log?.(
          `setup ${r.transport} ×${c}: ${r.perSec.toFixed(0)} sessions/s, p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms`,
        );
        runs.push(r);
      }
  } finally {
    srv.child.stdin!.end();
    await new Promise((r) => srv.child.once("exit", r));
  }
  return { busyPct, runs };
}

export function setupTable(r: SetupResult): string {
  const rows = r.runs.map(
    (x) =>
      `| ${x.transport} | ${x.concurrency} | ${x.sessions} | ${x.failed} | ${x.perSec.toFixed(0)} | ${x.p50Ms.toFixed(1)} | ${x.p99Ms.toFixed(1)} | ${x.serverHandshakesMax} | ${x.serverIncomingMax} |`,
  );
  return [
    `Server JS thread busy: ${r.busyPct} %`,
    "",
    "| transport | in flight | sessions | failed | sessions/s | p50 ms | p99 ms | server: max handshaking | server: max waiting for JS accept |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ...rows,
  ].join("\n");
}

if (process.argv[1] === SELF) {
  const argv = process.argv.slice(2);
  const val = (k: string) => argv.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
  if (val("role") === "server") await serverRole(Number(val("busy") ?? 0));
  else {
    const r = await runSetup({
      quick: argv.includes("--quick"),
      busyPct: Number(val("busy") ?? 0),
      ...(val("sessions") ? { sessions: Number(val("sessions")) } : {}),
      ...(val("concurrency") ? { concurrency: Number(val("concurrency")) } : {}),
      ...(val("server-cpu-prof") ? { serverCpuProfDir: val("server-cpu-prof")! } : {}),
      log: (s) => console.error(s),
    });
    console.log(setupTable(r) + "\n");
    const key = (x: SetupRun) =>
      `${x.transport === "raw QUIC" ? "raw" : "wt"}${x.concurrency === 1 ? "Seq" : "Conc"}`;
    const summary: Record<string, number> = { busyPct: r.busyPct };
    for (const x of r.runs) {
      summary[`setup_${key(x)}PerSec`] = Math.round(x.perSec);
      summary[`setup_${key(x)}P50Ms`] = Math.round(x.p50Ms * 10) / 10;
      summary[`setup_${key(x)}P99Ms`] = Math.round(x.p99Ms * 10) / 10;
    }
    console.log(JSON.stringify(summary));
  }
}
