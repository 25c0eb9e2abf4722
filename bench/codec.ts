/** Codec benchmark: ns/op to encode and decode each control message and a frame, plus (when Go is available) the
 *  same messages through gomoqt v0.9.0's own codecs (`moqt/internal/message`) and gomoqt's own frame benchmarks,
 *  in the same run, for a side-by-side table.
 *
 *  Run alone: `npx tsx bench/codec.ts [--quick] [--no-go]`. Used by `bench/run.ts`.
 *
 *  Method (TS): per case, a warm-up loop, then `samples` timed batches, each running the op until the batch lasts at
 *  least `minMs`; ns/op = median over batches. Encode = `encodeMessage(codec, m)` (length prefix + body into a fresh
 *  buffer, as gomoqt's `Encode` builds one slice and writes it). Decode = read the length varint, then
 *  `decodeBody(codec, body)` (gomoqt's `Decode` reads the length from an io.Reader, then the body).
 *  The Go side (bench/gomoqt/message_bench_test.go, ours) uses the same field values; v0.9.0 itself ships no
 *  benchmarks in `moqt/internal/message` (they arrived later), so that file is copied into a writable copy of the
 *  module and run with `go test -run '^$' -bench . -benchmem ./moqt/internal/message/`.
 *  @module */
import { execFile } from "node:child_process";
import { cpSync, chmodSync, existsSync, mkdtempSync, readdirSync, statSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  Announce,
  AnnounceInit,
  AnnouncePlease,
  ChunkBuffer,
  Group,
  SessionClient,
  SessionServer,
  SessionUpdate,
  Subscribe,
  SubscribeOk,
  SubscribeUpdate,
  decodeBody,
  encodeFrame,
  encodeMessage,
  peekVarint,
  type Codec,
} from "../src/wire/index.js";

const run = promisify(execFile);

export interface CodecRow {
  name: string;
  tsNs: number;
  goNs?: number;
  goAllocs?: number;
}

// The same field values as bench/gomoqt/message_bench_test.go.
const params = new Map<number, Uint8Array>([[1, new TextEncoder().encode("/live/room-1")]]);
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const cases: [string, Codec<any>, unknown][] = [
  ["SESSION_CLIENT", SessionClient, { versions: [0xfeedbabe, 0xff000001], parameters: params }],
  ["SESSION_SERVER", SessionServer, { version: 0xfeedbabe, parameters: params }],
  ["SESSION_UPDATE", SessionUpdate, { bitrate: 2_500_000 }],
  ["ANNOUNCE_PLEASE", AnnouncePlease, { prefix: "/live/" }],
  ["ANNOUNCE_INIT", AnnounceInit, { suffixes: ["room-1", "room-2", "room-3/cam"] }],
  ["ANNOUNCE", Announce, { status: 1, suffix: "room-1" }],
  [
    "SUBSCRIBE",
    Subscribe,
    { subscribeId: 42, broadcastPath: "/live/room-1", trackName: "video", trackPriority: 3 },
  ],
  ["SUBSCRIBE_OK", SubscribeOk, {}],
  ["SUBSCRIBE_UPDATE", SubscribeUpdate, { trackPriority: 7 }],
  ["GROUP", Group, { subscribeId: 42, groupSequence: 123_456 }],
];
export const FRAME_SIZES = [1024, 16384, 65536];

let sink = 0;

/** Median ns/op of `fn` (which runs the op once). */
export function measure(fn: () => void, minMs: number, samples: number): number {
  const warmEnd = performance.now() + Math.max(20, minMs);
  while (performance.now() < warmEnd) for (let i = 0; i < 100; i++) fn();
  let batch = 100;
  const out: number[] = [];
  while (out.length < samples) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) fn();
    const dt = performance.now() - t0;
    if (dt < minMs) {
      batch = Math.ceil(batch * Math.min(10, Math.max(2, minMs / Math.max(dt, 0.01))));
      continue;
    }
    out.push((dt * 1e6) / batch);
  }
  out.sort((a, b) => a - b);
  return out[out.length >> 1]!;
}

export function runTsCodec(quick: boolean): Map<string, number> {
  const minMs = quick ? 30 : 200;
  const samples = quick ? 5 : 9;
  const res = new Map<string, number>();
  for (const [name, codec, m] of cases) {
    res.set(
      `${name} encode`,
      measure(() => (sink += encodeMessage(codec, m).length), minMs, samples),
    );
    const wire = encodeMessage(codec, m);
    res.set(
      `${name} decode`,
      measure(
        () => {
          const [len, n] = peekVarint(wire, 0)!;
          const body = wire.subarray(n, n + (len as number));
          sink += decodeBody(codec, body) ? 1 : 0;
        },
        minMs,
        samples,
      ),
    );
  }
  for (const size of FRAME_SIZES) {
    const payload = new Uint8Array(size).fill(1);
    res.set(
      `FRAME ${size / 1024}K encode`,
      measure(() => (sink += encodeFrame(payload).length), minMs, samples),
    );
    const wire = encodeFrame(payload);
    res.set(
      `FRAME ${size / 1024}K decode`,
      measure(
        () => {
          const cb = new ChunkBuffer();
          cb.push(wire);
          sink += cb.tryFrame(1 << 24)!.length;
        },
        minMs,
        samples,
      ),
    );
  }
  return res;
}

export interface GoResult {
  rows: Map<string, { ns: number; allocs: number }>;
  command: string;
  goVersion: string;
  error?: string;
}

/** Run gomoqt's message codecs (our harness) and its own frame benchmarks from a writable copy of the module. */
export async function runGoCodec(quick: boolean): Promise<GoResult> {
  const rows = new Map<string, { ns: number; allocs: number }>();
  let goVersion = "";
  const benchtime = quick ? "100ms" : "1s";
  const command =
    `go test -run '^$' -bench . -benchmem -benchtime=${benchtime} ./moqt/internal/message/` +
    (quick ? "" : ` && go test -run '^$' -bench 'Frame_(Encode|Decode)$' -benchmem -benchtime=5000x ./moqt/`);
  try {
    goVersion = (await run("go", ["version"])).stdout.trim();
    const dl = await run("go", ["mod", "download", "-json", "github.com/okdaichi/gomoqt@v0.9.0"], {
      cwd: tmpdir(),
      env: { ...process.env, GOFLAGS: "-mod=mod" },
    });
    const dir = (JSON.parse(dl.stdout) as { Dir: string }).Dir;
    const copy = mkdtempSync(join(tmpdir(), "gomoqt-bench-"));
    cpSync(dir, copy, { recursive: true });
    const makeWritable = (p: string): void => {
      chmodSync(p, statSync(p).isDirectory() ? 0o755 : 0o644);
      if (statSync(p).isDirectory()) for (const e of readdirSync(p)) makeWritable(join(p, e));
    };
    makeWritable(copy);
    cpSync(
      fileURLToPath(new URL("./gomoqt/message_bench_test.go", import.meta.url)),
      join(copy, "moqt/internal/message/zz_moqt_bench_test.go"),
    );
    const env = { ...process.env, GOFLAGS: "-mod=mod", GOWORK: "off" };
    const opts = { cwd: copy, env, maxBuffer: 1 << 24, timeout: 600_000 };
    const a = await run(
      "go",
      [
        "test",
        "-run",
        "^$",
        "-bench",
        ".",
        "-benchmem",
        `-benchtime=${benchtime}`,
        "./moqt/internal/message/",
      ],
      opts,
    );
    // gomoqt's own frame benchmarks (package moqt: a much longer compile), full mode only. A fixed 5000 iterations:
    // BenchmarkFrame_Decode pre-builds b.N encoded frames, i.e. ~11 GB at 64 KiB with -benchtime=1s.
    const b = quick
      ? { stdout: "" }
      : await run(
          "go",
          [
            "test",
            "-run",
            "^$",
            "-bench",
            "Frame_(Encode|Decode)$",
            "-benchmem",
            "-benchtime=5000x",
            "./moqt/",
          ],
          opts,
        );
    for (const line of (a.stdout + "\n" + b.stdout).split("\n")) {
      // BenchmarkMsg/SUBSCRIBE/encode-2   1234   56.7 ns/op   48 B/op   1 allocs/op
      // BenchmarkFrame_Encode/1KB-2 ...
      const m = /^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns\/op.*?(\d+) allocs\/op/.exec(line);
      if (!m) continue;
      let key = m[1]!;
      const msg = /^Msg\/(\w+)\/(encode|decode)$/.exec(key);
      if (msg) key = `${msg[1]} ${msg[2]}`;
      const fr = /^Frame_(Encode|Decode)\/(\d+)KB$/.exec(key);
      if (fr) key = `FRAME ${fr[2]}K ${fr[1]!.toLowerCase()}`;
      rows.set(key, { ns: Number(m[2]), allocs: Number(m[3]) });
    }
    rmSync(copy, { recursive: true, force: true });
    if (rows.size === 0) return { rows, command, goVersion, error: "no benchmark lines in go test output" };
    return { rows, command, goVersion };
  } catch (e) {
    return { rows, command, goVersion, error: e instanceof Error ? e.message.split("\n")[0]! : String(e) };
  }
}

export async function runCodec(
  quick: boolean,
  withGo: boolean,
): Promise<{ rows: CodecRow[]; go: GoResult | undefined }> {
  const go = withGo ? await runGoCodec(quick) : undefined;
  const ts = runTsCodec(quick);
  const rows: CodecRow[] = [];
  for (const [name, tsNs] of ts) {
    const g = go?.rows.get(name);
    rows.push({ name, tsNs, ...(g ? { goNs: g.ns, goAllocs: g.allocs } : {}) });
  }
  return { rows, go };
}

export function codecTable(rows: CodecRow[]): string {
  const lines = ["| op | moqt ns/op | gomoqt ns/op (allocs/op) | gomoqt / moqt |", "|---|---:|---:|---:|"];
  for (const r of rows)
    lines.push(
      `| ${r.name} | ${r.tsNs.toFixed(1)} | ${r.goNs !== undefined ? `${r.goNs.toFixed(1)} (${r.goAllocs})` : "—"} | ` +
        `${r.goNs !== undefined ? (r.goNs / r.tsNs).toFixed(2) : "—"} |`,
    );
  return lines.join("\n");
}

/** Geometric mean of gomoqt/moqt over message rows both measured (>1: moqt is faster). */
export function geomeanRatio(
  rows: CodecRow[],
  filter: (r: CodecRow) => boolean = () => true,
): number | undefined {
  const rs = rows.filter((r) => r.goNs !== undefined && filter(r)).map((r) => r.goNs! / r.tsNs);
  if (rs.length === 0) return undefined;
  return Math.exp(rs.reduce((a, b) => a + Math.log(b), 0) / rs.length);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const quick = process.argv.includes("--quick");
  const { rows, go } = await runCodec(
    quick,
    !process.argv.includes("--no-go") && existsSync("/usr/local/go/bin/go"),
  );
  if (go?.error) console.log(`gomoqt: not measured: ${go.error}`);
  console.log(codecTable(rows));
  console.log(`sink ${sink > 0}`);
}
