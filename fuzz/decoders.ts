/** Decoder fuzz targets: every codec's `decodeBody`, `ChunkBuffer` under random chunking and caps, and frame decoding
 *  through `MessageReader` over a fake stream. Inputs are valid encodings, mutated valid encodings and random bytes;
 *  the only thing allowed to escape a decoder is a `WireError`.
 *  @module */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ChunkBuffer, WireError, Writer, decodeBody, encodeFrame, type Codec } from "../src/wire/index.js";
import { MessageReader } from "../src/session/stream_reader.js";
import { StreamError } from "../src/transport/stream_error.js";
import type { RecvStream } from "../src/transport/transport.js";
import { allMessages, type CodecArb } from "../test/support/arbitraries.js";
import type { Target } from "./target.js";

const KINDS = new Set(["truncated", "trailing", "too-large", "malformed", "invalid-value"]);

/** Rethrow anything that is not a WireError of a known kind. */
export function onlyWireError(e: unknown): WireError {
  if (!WireError.is(e)) throw e;
  assert.ok(KINDS.has(e.kind), `unknown WireError kind ${e.kind}`);
  return e;
}

function encodeBody<M>(codec: Codec<M>, m: M): Uint8Array {
  const w = new Writer(64);
  codec.encode(w, m);
  return w.bytes();
}

/** Byte-level mutations of a valid body: flips, varint-prefix bytes, inserts, deletes, truncations, extensions. */
type Mutation =
  | { op: "set"; at: number; value: number }
  | { op: "insert"; at: number; value: number }
  | { op: "delete"; at: number }
  | { op: "truncate"; at: number }
  | { op: "append"; bytes: Uint8Array };

const byteValue = fc.oneof(
  fc.integer({ min: 0, max: 255 }),
  fc.constantFrom(0x00, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xff, 0xed, 0xa0, 0xf4),
);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("set" as const), at: fc.nat(), value: byteValue }),
  fc.record({ op: fc.constant("insert" as const), at: fc.nat(), value: byteValue }),
  fc.record({ op: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("append" as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 9 }) }),
);

export function mutate(body: Uint8Array, muts: readonly Mutation[]): Uint8Array {
  let b = Array.from(body);
  for (const m of muts) {
    const at = b.length === 0 ? 0 : m.op === "append" ? 0 : ("at" in m ? m.at : 0) % (b.length + 1);
    switch (m.op) {
      case "set":
        if (b.length) b[at % b.length] = m.value;
        else b.push(m.value);
        break;
      case "insert":
        b.splice(at, 0, m.value);
        break;
      case "delete":
        if (b.length) b.splice(at % b.length, 1);
        break;
      case "truncate":
        b = b.slice(0, at);
        break;
      case "append":
        b.push(...m.bytes);
        break;
    }
  }
  return Uint8Array.from(b);
}

/** A body for `codec`: valid, mutated-valid, or random. */
function bodyFor(ca: CodecArb<unknown>): fc.Arbitrary<{ kind: string; body: Uint8Array; value?: unknown }> {
  return fc.oneof(
    ca.arb.map((m) => ({ kind: "valid", body: encodeBody(ca.codec, m), value: m })),
    fc
      .tuple(ca.arb, fc.array(mutation, { minLength: 1, maxLength: 4 }))
      .map(([m, muts]) => ({ kind: "mutated", body: mutate(encodeBody(ca.codec, m), muts) })),
    fc.uint8Array({ maxLength: 48 }).map((body) => ({ kind: "random", body })),
  );
}

/** One decodeBody target per codec. */
function codecTarget(ca: CodecArb<unknown>): Target {
  return {
    name: `decode/${ca.codec.name}`,
    weight: 1,
    property: () =>
      fc.property(bodyFor(ca), ({ kind, body, value }) => {
        let decoded: unknown;
        try {
          decoded = decodeBody(ca.codec, body);
        } catch (e) {
          onlyWireError(e);
          assert.notEqual(kind, "valid", `a valid encoding failed to decode: ${String(e)}`);
          return;
        }
        if (kind === "valid") assert.deepStrictEqual(decoded, value);
        // Whatever decodes must re-encode, and re-decode to the same value (decoding canonicalises).
        const again = encodeBody(ca.codec, decoded);
        assert.deepStrictEqual(decodeBody(ca.codec, again), decoded);
      }),
  };
}

// ---- ChunkBuffer: the same bytes, fed in one chunk or in random chunks, give the same items and errors

type Op = { t: "byte" } | { t: "frame" } | { t: "msg"; i: number };
type Item = { op: Op; bytes: Uint8Array };
type Outcome = { ok: string } | { err: string } | { pending: true };

const codecs = allMessages;
const frameItem: fc.Arbitrary<Item> = fc
  .oneof(
    fc.uint8Array({ maxLength: 80 }).map((p) => encodeFrame(p)),
    fc
      .tuple(fc.uint8Array({ maxLength: 80 }), fc.array(mutation, { minLength: 1, maxLength: 3 }))
      .map(([p, m]) => mutate(encodeFrame(p), m)),
  )
  .map((bytes) => ({ op: { t: "frame" }, bytes }));

const msgItem: fc.Arbitrary<Item> = fc.integer({ min: 0, max: codecs.length - 1 }).chain((i) =>
  fc
    .tuple(bodyFor(codecs[i]!), fc.oneof(fc.constant(undefined), fc.nat({ max: 70 }), fc.constant(2 ** 40)))
    .map(([b, lie]) => ({
      op: { t: "msg", i } as Op,
      // Usually an honest length prefix; sometimes a lying one (shorter, longer, huge).
      bytes: new Writer()
        .varint(lie ?? b.body.length)
        .raw(b.body)
        .bytes(),
    })),
);

const item: fc.Arbitrary<Item> = fc.oneof(
  { weight: 5, arbitrary: msgItem },
  { weight: 3, arbitrary: frameItem },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 0, max: 255 })
      .map((b) => ({ op: { t: "byte" } as Op, bytes: Uint8Array.of(b) })),
  },
);

function show(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    typeof x === "bigint" ? `${x}n` : x instanceof Uint8Array ? Array.from(x) : x instanceof Map ? [...x] : x,
  );
}

/** Try the next op on `cb`: an outcome, or pending when more bytes are needed. */
function step(cb: ChunkBuffer, op: Op, cap: number): Outcome {
  try {
    let v: unknown;
    if (op.t === "byte") v = cb.tryByte();
    else if (op.t === "frame") v = cb.tryFrame(cap);
    else v = cb.tryMessage(codecs[op.i]!.codec, cap);
    return v === undefined ? { pending: true } : { ok: show(v) };
  } catch (e) {
    return { err: onlyWireError(e).kind };
  }
}

/** Run `ops` over `chunks`; each op is retried after every push until it completes or fails. */
function runOps(
  ops: Op[],
  chunks: Uint8Array[],
  cap: number,
): { outcomes: Outcome[]; errAt: number; opStart: number } {
  const cb = new ChunkBuffer();
  const outcomes: Outcome[] = [];
  let pushed = 0;
  let errAt = -1;
  let opStart = 0;
  let k = 0;
  const drive = (): boolean => {
    while (k < ops.length) {
      const o = step(cb, ops[k]!, cap);
      if ("pending" in o) return true;
      outcomes.push(o);
      k++;
      if ("err" in o) {
        errAt = pushed;
        return false;
      }
      opStart = pushed - cb.available;
    }
    return true;
  };
  let going = drive();
  for (const c of chunks) {
    if (!going) break;
    cb.push(c);
    pushed += c.length;
    going = drive();
  }
  if (going && k < ops.length) {
    // End of stream inside an op: the buffer must say so.
    try {
      cb.assertEmpty("item");
      outcomes.push({ pending: true });
    } catch (e) {
      outcomes.push({ err: onlyWireError(e).kind });
    }
  }
  return { outcomes, errAt, opStart };
}

function split(all: Uint8Array, cuts: number[]): Uint8Array[] {
  const pts = [...new Set(cuts.map((c) => (all.length ? c % (all.length + 1) : 0)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...pts, all.length]) {
    if (p > prev) out.push(all.subarray(prev, p));
    prev = Math.max(prev, p);
  }
  return out;
}

const chunkBufferTarget: Target = {
  name: "chunk-buffer",
  weight: 4,
  property: () =>
    fc.property(
      fc.array(item, { minLength: 1, maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constant(1 << 20)),
      fc.boolean(),
      (items, cuts, cap, oneByteChunks) => {
        const all = new Writer();
        for (const it of items) all.raw(it.bytes);
        const bytes = all.bytes();
        const ops = items.map((i) => i.op);
        const whole = runOps(ops, [bytes], cap);
        const chunks = oneByteChunks ? Array.from(bytes, (b) => Uint8Array.of(b)) : split(bytes, cuts);
        const pieces = runOps(ops, chunks, cap);
        assert.deepStrictEqual(pieces.outcomes, whole.outcomes);
        // A too-large length prefix fails as soon as the prefix is in, without waiting for the body.
        if (oneByteChunks) {
          const last = pieces.outcomes[pieces.outcomes.length - 1];
          if (last && "err" in last && last.err === "too-large") {
            const off = pieces.opStart;
            const prefixLen = 1 << (bytes[off]! >> 6);
            assert.equal(pieces.errAt, off + prefixLen, "too-large reported only after more than the prefix");
          }
        }
      },
    ),
};

// ---- frames through MessageReader over a fake RecvStream (FIN, reset, random chunking)

class FakeRecv implements RecvStream {
  #chunks: Uint8Array[];
  #end: "fin" | number;
  #stopped: number | undefined;
  constructor(chunks: Uint8Array[], end: "fin" | number) {
    this.#chunks = chunks;
    this.#end = end;
  }
  async read(): Promise<Uint8Array | null> {
    if (this.#stopped !== undefined) throw new StreamError(this.#stopped, false);
    const c = this.#chunks.shift();
    if (c) return c;
    if (this.#end === "fin") return null;
    throw new StreamError(this.#end, true);
  }
  stop(code: number): void {
    this.#stopped ??= code;
  }
}

const frameReaderTarget: Target = {
  name: "frame-reader",
  weight: 2,
  property: () =>
    fc.asyncProperty(
      fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 6 }),
      fc.array(mutation, { maxLength: 2 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      fc.oneof(fc.constant<"fin">("fin"), fc.nat({ max: 0xffffffff })),
      fc.integer({ min: 0, max: 70 }),
      async (payloads, muts, cuts, end, cap) => {
        const w = new Writer();
        for (const p of payloads) w.raw(encodeFrame(p));
        const clean = muts.length === 0;
        const bytes = clean ? w.bytes() : mutate(w.bytes(), muts);
        const r = new MessageReader(new FakeRecv(split(bytes, cuts), end));
        const got: Uint8Array[] = [];
        try {
          for (;;) {
            const f = await r.readFrame(cap);
            if (f === null) break;
            got.push(f.slice());
          }
        } catch (e) {
          if (e instanceof StreamError) {
            assert.equal(e.code, end);
            return;
          }
          const we = onlyWireError(e);
          if (clean && end === "fin") {
            // Valid input only fails on the cap.
            assert.equal(we.kind, "too-large");
            assert.ok(payloads.some((p) => p.length > cap));
          }
          return;
        }
        assert.equal(end, "fin", "a reset stream ended cleanly");
        if (clean) assert.deepStrictEqual(got, payloads);
      },
    ),
};

export const decoderTargets: Target[] = [
  ...allMessages.map(codecTarget),
  chunkBufferTarget,
  frameReaderTarget,
];
