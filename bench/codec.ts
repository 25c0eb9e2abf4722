/** Codec benchmark: ns/op to encode and decode each control message and a frame, plus (when Go is available) the
 *  same messages through gomoqt v0.9.0's own codecs (`moqt/internal/message`) and gomoqt's own frame benchmarks,
 *  in the same run, for a side-by-side table.
 *
 *  Run alone: `npx tsx bench/codec.ts [--quick] [--no-go] [--reused] [--rounds=N]`, or before/after against an older copy of
 *  src/wire: `npx tsx bench/codec.ts --quick --baseline=DIR [--rounds=N]`. Used by `bench/run.ts`.
 *
 *  Method (TS): all ops are first run together, untimed (JIT steady state); then per op `samples` timed batches,
 *  each running the op until the batch lasts at least `minMs`; ns/op = median over batches. The machine is shared,
 *  so TS and gomoqt are timed in alternating rounds (gomoqt's test binary is compiled once) and each cell is the
 *  median over rounds. Both sides measure the same work per op:
 *  - encode: one message value built beforehand → `varint(len) || body` in one new exact-size buffer
 *    (`encodeMessage`; gomoqt's `Encode` computes `Len()`, makes one slice — its one alloc/op — and writes it into a
 *    reused bytes.Buffer). `--reused` adds rows encoding into a reused Writer (`appendMessage`), the literal reading
 *    of gomoqt's harness; gomoqt has no allocation-free form, so those rows are compared with the same Go numbers
 *    and kept out of the geomeans;
 *  - decode: the whole encoded message (length prefix included) already in memory → a message value, trailing bytes
 *    rejected (`decodeMessage`; gomoqt's `Decode` reads the prefix and then the body from a reset bytes.Reader).
 *  Allocation is included on both sides (the GC's share in the TS batches, Go's allocs in ns/op; Go reports
 *  allocs/op); the "floor" row is one bare 2-byte allocation on each side. Differences that remain: gomoqt copies
 *  the body out of the reader and does not check UTF-8; we read in place and reject invalid UTF-8.
 *  The Go side (bench/gomoqt/message_bench_test.go, ours) uses the same field values; v0.9.0 itself ships no
 *  benchmarks in `moqt/internal/message` (they arrived later), so that file is copied into a writable copy of the
 *  module, compiled with `go test -c` and run with `-test.bench . -test.benchmem`.
 *  @module */
import { execFile } from "node:child_process";
import {
  cpSync,
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  statSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
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
  DEFAULT_MAX_MESSAGE_BYTES,
  Writer,
  appendMessage,
  decodeMessage,
  encodeFrame,
  encodeMessage,
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
let floorSink: Uint8Array | undefined;
/** Row name of the allocation floor (excluded from the encode/decode geomeans: it ends in neither). */
export const FLOOR = "new 2-byte buffer (floor)";
/** Suffix of the optional encode-into-a-reused-buffer rows (excluded from the geomeans, like FLOOR). */
export const REUSED = " into a reused buffer";

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

/** The TS ops, in table order: one closure per op. */
function tsOps(reused: boolean): [string, () => void][] {
  const ops: [string, () => void][] = [];
  const w = new Writer(256);
  for (const [name, codec, m] of cases) {
    ops.push([`${name} encode`, () => (sink += encodeMessage(codec, m).length)]);
    const wire = encodeMessage(codec, m);
    ops.push([
      `${name} decode`,
      () => (sink += decodeMessage(codec, wire, DEFAULT_MAX_MESSAGE_BYTES) ? 1 : 0),
    ]);
  }
  // Encode into a reused buffer, the literal reading of gomoqt's harness (`buf.Reset(); m.Encode(&buf)`): one
  // Writer, reset per op, no allocation. gomoqt's Encode still makes its own slice per call.
  if (reused)
    for (const [name, codec, m] of cases)
      ops.push([
        `${name} encode${REUSED}`,
        () => {
          w.reset();
          sink += appendMessage(w, codec, m).length;
        },
      ]);
  // Not a codec: the cost of the one allocation every encode above makes (on both sides), for reading the table.
  ops.push([FLOOR, () => (floorSink = new Uint8Array(2))]);
  for (const size of FRAME_SIZES) {
    const payload = new Uint8Array(size).fill(1);
    ops.push([`FRAME ${size / 1024}K encode`, () => (sink += encodeFrame(payload).length)]);
    const wire = encodeFrame(payload);
    ops.push([
      `FRAME ${size / 1024}K decode`,
      () => {
        const cb = new ChunkBuffer();
        cb.push(wire);
        sink += cb.tryFrame(1 << 24)!.length;
      },
    ]);
  }
  return ops;
}

let warmed = false;

/** One TS round: ns/op per op. The first call first runs every op for a while, untimed: the shared functions
 *  (`encodeMessage`, `decodeMessage`, the `Reader`) see every codec before any timing, so no op is timed while the
 *  JIT is still re-optimising them for the next codec (a steady state, as Go's compiled code is from the start). */
export function runTsCodec(quick: boolean, reused = false): Map<string, number> {
  const minMs = quick ? 20 : 100;
  const samples = quick ? 3 : 5;
  const ops = tsOps(reused);
  if (!warmed) {
    // Measured on the 2-core box: with 2 passes of 15 ms, the first timed round still read up to 4x the later ones.
    for (let pass = 0; pass < 4; pass++)
      for (const [, fn] of ops) {
        const end = performance.now() + (quick ? 20 : 50);
        while (performance.now() < end) for (let i = 0; i < 100; i++) fn();
      }
    warmed = true;
  }
  const res = new Map<string, number>();
  for (const [name, fn] of ops) res.set(name, measure(fn, minMs, samples));
  return res;
}

export interface GoResult {
  rows: Map<string, { ns: number; allocs: number }>;
  command: string;
  goVersion: string;
  error?: string;
}

/** gomoqt's message codecs (our harness, bench/gomoqt/message_bench_test.go) compiled once into a test binary in a
 *  writable copy of the module, so rounds of it can run interleaved with the TS rounds. */
interface GoBench {
  goVersion: string;
  /** One round of the message benchmarks: op → ns/op, allocs/op. */
  round(): Promise<Map<string, { ns: number; allocs: number }>>;
  /** gomoqt's own frame benchmarks (package moqt: a much longer compile). */
  frames(): Promise<Map<string, { ns: number; allocs: number }>>;
  cleanup(): void;
}

function parseGoBench(out: string): Map<string, { ns: number; allocs: number }> {
  const rows = new Map<string, { ns: number; allocs: number }>();
  for (const line of out.split("\n")) {
    // BenchmarkMsg/SUBSCRIBE/encode-2   1234   56.7 ns/op   48 B/op   1 allocs/op
    // BenchmarkFrame_Encode/1KB-2 ...
    const m = /^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns\/op.*?(\d+) allocs\/op/.exec(line);
    if (!m) continue;
    let key = m[1]!;
    const msg = /^Msg\/(\w+)\/(encode|decode)$/.exec(key);
    if (msg) key = `${msg[1]} ${msg[2]}`;
    if (key === "Floor/alloc2") key = FLOOR;
    const fr = /^Frame_(Encode|Decode)\/(\d+)KB$/.exec(key);
    if (fr) key = `FRAME ${fr[2]}K ${fr[1]!.toLowerCase()}`;
    rows.set(key, { ns: Number(m[2]), allocs: Number(m[3]) });
  }
  return rows;
}

async function prepareGo(benchtime: string): Promise<GoBench> {
  const goVersion = (await run("go", ["version"])).stdout.trim();
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
  const bin = join(copy, "message.test");
  await run("go", ["test", "-c", "-o", bin, "./moqt/internal/message/"], opts);
  return {
    goVersion,
    round: async () =>
      parseGoBench(
        (
          await run(
            bin,
            ["-test.run", "^$", "-test.bench", ".", "-test.benchmem", `-test.benchtime=${benchtime}`],
            opts,
          )
        ).stdout,
      ),
    // A fixed 5000 iterations: BenchmarkFrame_Decode pre-builds b.N encoded frames, i.e. ~11 GB at 64 KiB with
    // -benchtime=1s.
    frames: async () =>
      parseGoBench(
        (
          await run(
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
          )
        ).stdout,
      ),
    cleanup: () => rmSync(copy, { recursive: true, force: true }),
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** Codec rows, TS and (with `withGo`) gomoqt side by side. The machine is shared, so the two are not timed once
 *  each, minutes apart: `rounds` rounds alternate one gomoqt run of every message benchmark with one TS run of every
 *  case, and each cell is the median over the rounds. gomoqt's frame benchmarks (full mode) run once, after. */
export async function runCodec(
  quick: boolean,
  withGo: boolean,
  rounds = 3,
  reused = false,
): Promise<{ rows: CodecRow[]; go: GoResult | undefined }> {
  const benchtime = quick ? "100ms" : "1s";
  const command =
    `go test -c ./moqt/internal/message/ && ./message.test -test.run '^$' -test.bench . -test.benchmem ` +
    `-test.benchtime=${benchtime} (${rounds} rounds, alternating with the TS rounds; median)` +
    (quick ? "" : ` && go test -run '^$' -bench 'Frame_(Encode|Decode)$' -benchmem -benchtime=5000x ./moqt/`);
  let go: GoResult | undefined;
  let gb: GoBench | undefined;
  if (withGo) {
    go = { rows: new Map(), command, goVersion: "" };
    try {
      gb = await prepareGo(benchtime);
      go.goVersion = gb.goVersion;
    } catch (e) {
      go.error = e instanceof Error ? e.message.split("\n")[0]! : String(e);
    }
  }
  const tsRounds = new Map<string, number[]>();
  const goRounds = new Map<string, { ns: number[]; allocs: number }>();
  for (let r = 0; r < rounds; r++) {
    if (gb && !go?.error) {
      try {
        for (const [k, v] of await gb.round()) {
          const g = goRounds.get(k) ?? { ns: [], allocs: v.allocs };
          g.ns.push(v.ns);
          goRounds.set(k, g);
        }
      } catch (e) {
        go!.error = e instanceof Error ? e.message.split("\n")[0]! : String(e);
      }
    }
    for (const [k, v] of runTsCodec(quick, reused)) tsRounds.set(k, [...(tsRounds.get(k) ?? []), v]);
  }
  if (go && gb && !go.error) {
    for (const [k, v] of goRounds) go.rows.set(k, { ns: median(v.ns), allocs: v.allocs });
    if (!quick) {
      try {
        for (const [k, v] of await gb.frames()) go.rows.set(k, v);
      } catch (e) {
        go.error = e instanceof Error ? e.message.split("\n")[0]! : String(e);
      }
    }
    if (go.rows.size === 0) go.error = "no benchmark lines in go test output";
  }
  gb?.cleanup();
  const rows: CodecRow[] = [];
  for (const [name, xs] of tsRounds) {
    // A reused-buffer row compares with gomoqt's one Encode row (gomoqt has no allocation-free form).
    const g = go?.rows.get(name.endsWith(REUSED) ? name.slice(0, -REUSED.length) : name);
    rows.push({ name, tsNs: median(xs), ...(g ? { goNs: g.ns, goAllocs: g.allocs } : {}) });
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

/** Before/after on this machine in one process: the same cases through an older copy of `src/wire` (a directory
 *  holding its files, e.g. extracted with `git show <rev>:src/wire/<file>`) and through the current one, interleaved
 *  (after a common warm-up, `rounds` rounds, each measuring old then new for every op; ns/op = median over rounds).
 *  Decode goes through `decodeMessage` on both sides when the old copy has it; an older copy without it is timed
 *  through what it has (peek the length, `subarray` the body, `decodeBody`), and the current code is then also timed
 *  that way (last column) so the code change can be read apart from the harness change. */
export async function runBaseline(dir: string, quick: boolean, rounds: number): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type AnyWire = any;
  const cur: AnyWire = await import("../src/wire/index.js");
  // Import a copy next to a package.json of type "module": without it, tsx compiles a copy outside this package as
  // CommonJS (every cross-module call through an export getter), which reads 2x slower for identical code.
  const copy = mkdtempSync(join(tmpdir(), "moqt-wire-baseline-"));
  cpSync(dir, copy, { recursive: true });
  writeFileSync(join(copy, "package.json"), '{ "type": "module" }\n');
  const old: AnyWire = await import(pathToFileURL(join(copy, "index.ts")).href);
  const minMs = quick ? 20 : 100;
  const samples = quick ? 3 : 5;
  const oldHarness = (w: AnyWire, codec: unknown, wire: Uint8Array) => (): void => {
    const [len, n] = w.peekVarint(wire, 0) as [number, number];
    sink += w.decodeBody(codec, wire.subarray(n, n + len)) ? 1 : 0;
  };
  const ops: { name: string; before: () => void; after: () => void; alt?: () => void }[] = [];
  for (const [name, , m] of cases) {
    const oc = old[codecExport[name]!];
    const nc = cur[codecExport[name]!];
    ops.push({
      name: `${name} encode`,
      before: () => (sink += old.encodeMessage(oc, m).length),
      after: () => (sink += cur.encodeMessage(nc, m).length),
    });
    const wire = cur.encodeMessage(nc, m) as Uint8Array;
    ops.push({
      name: `${name} decode`,
      before:
        typeof old.decodeMessage === "function"
          ? () => (sink += old.decodeMessage(oc, wire, DEFAULT_MAX_MESSAGE_BYTES) ? 1 : 0)
          : oldHarness(old, oc, wire),
      after: () => (sink += cur.decodeMessage(nc, wire, DEFAULT_MAX_MESSAGE_BYTES) ? 1 : 0),
      alt: oldHarness(cur, nc, wire),
    });
  }
  for (let pass = 0; pass < 4; pass++)
    for (const op of ops)
      for (const fn of [op.before, op.after, op.alt])
        if (fn) {
          const end = performance.now() + 20;
          while (performance.now() < end) for (let i = 0; i < 100; i++) fn();
        }
  const got = new Map<string, { before: number[]; after: number[]; alt: number[] }>();
  for (let r = 0; r < rounds; r++)
    for (const op of ops) {
      const g = got.get(op.name) ?? { before: [], after: [], alt: [] };
      got.set(op.name, g);
      g.before.push(measure(op.before, minMs, samples));
      g.after.push(measure(op.after, minMs, samples));
      if (op.alt) g.alt.push(measure(op.alt, minMs, samples));
    }
  const lines = [
    "| op | before ns/op | after ns/op | before / after | after, old harness ns/op |",
    "|---|---:|---:|---:|---:|",
  ];
  const ratios: Record<"encode" | "decode", number[]> = { encode: [], decode: [] };
  const gms: Record<string, number[]> = { be: [], ae: [], bd: [], ad: [] };
  for (const [name, g] of got) {
    const b = median(g.before);
    const a = median(g.after);
    const kind = name.endsWith("encode") ? "encode" : "decode";
    ratios[kind].push(b / a);
    gms[kind === "encode" ? "be" : "bd"]!.push(b);
    gms[kind === "encode" ? "ae" : "ad"]!.push(a);
    lines.push(
      `| ${name} | ${b.toFixed(1)} | ${a.toFixed(1)} | ${(b / a).toFixed(2)} | ${g.alt.length ? median(g.alt).toFixed(1) : ""} |`,
    );
  }
  const gm = (xs: number[]): number => Math.exp(xs.reduce((x, y) => x + Math.log(y), 0) / xs.length);
  lines.push(
    `| geomean encode | ${gm(gms.be!).toFixed(1)} | ${gm(gms.ae!).toFixed(1)} | ${gm(ratios.encode).toFixed(2)} | |`,
    `| geomean decode | ${gm(gms.bd!).toFixed(1)} | ${gm(gms.ad!).toFixed(1)} | ${gm(ratios.decode).toFixed(2)} | |`,
  );
  rmSync(copy, { recursive: true, force: true });
  return lines.join("\n");
}

// Export names of the codecs, for loading them from another copy of src/wire.
const codecExport: Record<string, string> = {
  SESSION_CLIENT: "SessionClient",
  SESSION_SERVER: "SessionServer",
  SESSION_UPDATE: "SessionUpdate",
  ANNOUNCE_PLEASE: "AnnouncePlease",
  ANNOUNCE_INIT: "AnnounceInit",
  ANNOUNCE: "Announce",
  SUBSCRIBE: "Subscribe",
  SUBSCRIBE_OK: "SubscribeOk",
  SUBSCRIBE_UPDATE: "SubscribeUpdate",
  GROUP: "Group",
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const quick = process.argv.includes("--quick");
  const base = process.argv.find((a) => a.startsWith("--baseline="));
  const roundsArg = process.argv.find((a) => a.startsWith("--rounds="));
  const rounds = roundsArg ? Number(roundsArg.slice(9)) : undefined;
  if (base) {
    console.log(await runBaseline(base.slice(11), quick, rounds ?? 5));
  } else {
    const { rows, go } = await runCodec(
      quick,
      !process.argv.includes("--no-go") && existsSync("/usr/local/go/bin/go"),
      rounds,
      process.argv.includes("--reused"),
    );
    if (go?.error) console.log(`gomoqt: not measured: ${go.error}`);
    console.log(codecTable(rows));
    const enc = geomeanRatio(rows, (r) => r.name.endsWith("encode"));
    const dec = geomeanRatio(rows, (r) => r.name.endsWith("decode"));
    const reu = geomeanRatio(rows, (r) => r.name.endsWith(REUSED));
    if (enc !== undefined && dec !== undefined)
      console.log(
        `\ngeomean gomoqt / moqt: encode ${enc.toFixed(2)}, decode ${dec.toFixed(2)}` +
          (reu !== undefined ? `, encode into a reused buffer ${reu.toFixed(2)}` : ""),
      );
  }
  console.log(`sink ${sink > 0 && floorSink !== undefined}`);
}
