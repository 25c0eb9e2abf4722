/** Property tests for the codec fast paths: ASCII-first string writes and reads, ASCII-optimistic message sizing,
 *  inline varints, in-place decoding (`decodeMessage`, `ChunkBuffer.tryMessage` on one chunk). Each fast path is
 *  checked against a slow reference built here from TextEncoder / TextDecoder and a DataView, at the boundary
 *  lengths where the paths switch (0, 1, 15-17, 31-33, 63, 64, 16383, 16384), and with the caps still enforced by
 *  a typed WireError before anything is allocated for the body. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  Announce,
  AnnounceInit,
  AnnouncePlease,
  ChunkBuffer,
  Group,
  Reader,
  SessionClient,
  Subscribe,
  SubscribeOk,
  WireError,
  Writer,
  appendMessage,
  decodeBody,
  decodeMessage,
  encodeMessage,
  peekVarint,
  putString,
  putVarint,
  readUtf8,
  stringLen,
  stringSize,
  utf8Length,
  varintLen,
  type Codec,
  type VarInt,
  type WireErrorKind,
} from "./index.js";
import { allMessages, text, varint } from "../../test/support/arbitraries.js";

const utf8 = new TextEncoder();
const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Reference varint: shortest form through a DataView. */
function refVarint(v: VarInt): number[] {
  const b = BigInt(v);
  const dv = new DataView(new ArrayBuffer(8));
  if (b < 64n) return [Number(b)];
  if (b < 16384n) {
    dv.setUint16(0, Number(b) | 0x4000);
    return [...new Uint8Array(dv.buffer, 0, 2)];
  }
  if (b < 2n ** 30n) {
    dv.setUint32(0, (Number(b) | 0x80000000) >>> 0);
    return [...new Uint8Array(dv.buffer, 0, 4)];
  }
  dv.setBigUint64(0, b | 0xc000000000000000n);
  return [...new Uint8Array(dv.buffer)];
}

/** Reference string field: varint(UTF-8 byte length) || TextEncoder bytes. */
function refString(s: string): number[] {
  const b = utf8.encode(s);
  return [...refVarint(b.length), ...b];
}

function refMessage(body: number[]): Uint8Array {
  return Uint8Array.from([...refVarint(body.length), ...body]);
}

const isWire =
  (kind: WireErrorKind) =>
  (e: unknown): boolean =>
    WireError.is(e) && e.kind === kind;

const BOUNDARY_LENGTHS = [0, 1, 2, 15, 16, 17, 31, 32, 33, 62, 63, 64, 65, 255, 256, 257, 16383, 16384];

/** Strings at the boundary lengths (in UTF-16 units): pure ASCII, ASCII with one non-ASCII unit at the start, middle
 *  or end, and one astral character (a surrogate pair) at the end. */
function boundaryStrings(): string[] {
  const out: string[] = [];
  for (const n of BOUNDARY_LENGTHS) {
    const ascii = Array.from({ length: n }, (_, i) => String.fromCharCode(0x20 + (i % 95))).join("");
    out.push(ascii);
    if (n >= 1) {
      out.push("é" + ascii.slice(1), ascii.slice(0, n >> 1) + "\u0800" + ascii.slice((n >> 1) + 1));
      out.push(ascii.slice(0, n - 1) + "\u007f", ascii.slice(0, n - 1) + "\u0080");
    }
    if (n >= 2) out.push(ascii.slice(0, n - 2) + "😀");
  }
  return out;
}

/** Mostly-ASCII strings of random length, sometimes with one non-ASCII unit spliced in. */
const mixed: fc.Arbitrary<string> = fc
  .tuple(
    fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 300 }),
    fc.option(
      fc.tuple(
        fc.nat(),
        fc.constantFrom("\u0080", "ÿ", "Ā", "\u07ff", "\u0800", "\uffff", "😀", "\ud800", "\udfff"),
      ),
    ),
  )
  .map(([s, ins]) =>
    ins ? s.slice(0, ins[0] % (s.length + 1)) + ins[1] + s.slice(ins[0] % (s.length + 1)) : s,
  );

describe("fast path: string fields", () => {
  it("putString, Writer.string and stringLen match TextEncoder at every boundary length", () => {
    for (const s of boundaryStrings()) {
      const ref = refString(s);
      const out = new Uint8Array(stringLen(s));
      assert.equal(putString(out, 0, s), out.length, `putString end, length ${s.length}`);
      assert.deepStrictEqual([...out], ref, `putString bytes, length ${s.length}`);
      assert.deepStrictEqual([...new Writer(1).u8(9).string(s).bytes()], [9, ...ref]);
      assert.equal(utf8Length(s), utf8.encode(s).length);
    }
  });

  it("Writer.string and appendMessage are exact whatever the Writer's spare capacity (no store past the end)", () => {
    const wide = Array.from({ length: 64 }, (_, k) => [
      "中".repeat(k),
      "😀".repeat(k >> 1),
      "é".repeat(k),
    ]).flat();
    for (const s of [...boundaryStrings(), ...wide]) {
      const n = stringLen(s);
      for (const cap of [0, n - 1, n, n + 1, 1 + 3 * s.length, 2 + 3 * s.length]) {
        const w = new Writer(Math.max(0, cap));
        assert.deepStrictEqual([...w.string(s).bytes()], refString(s), `length ${s.length}, capacity ${cap}`);
      }
    }
    fc.assert(
      fc.property(fc.oneof(mixed, text(80)), fc.nat({ max: 200 }), fc.nat({ max: 3 }), (s, cap, pre) => {
        const w = new Writer(cap);
        for (let i = 0; i < pre; i++) w.u8(0xaa);
        appendMessage(w, AnnounceInit, { suffixes: [s, s] });
        const body = [2, ...refString(s), ...refString(s)];
        assert.deepStrictEqual([...w.bytes()], [...Array<number>(pre).fill(0xaa), ...refMessage(body)]);
      }),
      { numRuns: 2000 },
    );
  });

  it("stringSize(s, false) counts one byte per unit: exact for ASCII, a strict lower bound otherwise", () => {
    fc.assert(
      fc.property(fc.oneof(mixed, text(80)), (s) => {
        const ascii = [...s].every((c) => c.charCodeAt(0) < 0x80);
        assert.equal(stringSize(s, true), stringLen(s));
        if (ascii) assert.equal(stringSize(s, false), stringLen(s));
        else assert.ok(stringSize(s, false) < stringLen(s));
      }),
      { numRuns: 2000 },
    );
    for (const s of boundaryStrings()) assert.ok(stringSize(s, false) <= stringLen(s));
  });

  it("putString keeps the bytes before and after the field intact (random strings, random offsets)", () => {
    fc.assert(
      fc.property(fc.oneof(mixed, text(80)), fc.nat({ max: 9 }), (s, at) => {
        const n = stringLen(s);
        const out = new Uint8Array(at + n + 3).fill(0xee);
        assert.equal(putString(out, at, s), at + n);
        assert.deepStrictEqual([...out.subarray(at, at + n)], refString(s));
        assert.ok(out.subarray(0, at).every((b) => b === 0xee));
        assert.ok(out.subarray(at + n).every((b) => b === 0xee));
      }),
      { numRuns: 2000 },
    );
  });

  it("readUtf8 / Reader.string match the strict TextDecoder on valid and invalid bytes of every boundary length", () => {
    for (const s of boundaryStrings()) {
      const b = utf8.encode(s);
      assert.equal(readUtf8(b, 0, b.length), s);
      const r = new Reader(Uint8Array.from(refString(s)));
      assert.equal(r.string("s"), s);
      r.end("s");
    }
    for (const n of BOUNDARY_LENGTHS) {
      // ASCII except one byte that cannot start or continue anything: malformed at every position class.
      for (const at of [0, n >> 1, n - 1]) {
        if (n === 0) continue;
        const b = new Uint8Array(n).fill(0x61);
        b[at] = 0xff;
        assert.throws(() => readUtf8(b, 0, n), TypeError);
        const body = Uint8Array.from([...refVarint(n), ...b]);
        assert.throws(() => new Reader(body).string("s"), isWire("malformed"));
      }
    }
  });

  it("readUtf8 agrees with the strict TextDecoder on random bytes (mostly ASCII) at random offsets", () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.uint8Array({ max: 0x7f, maxLength: 300 }),
      fc
        .tuple(fc.uint8Array({ max: 0x7f, maxLength: 300 }), fc.nat(), fc.integer({ min: 0x80, max: 0xff }))
        .map(([b, at, v]) => {
          if (b.length) b[at % b.length] = v;
          return b;
        }),
    );
    fc.assert(
      fc.property(bytes, fc.nat({ max: 5 }), (b, pad) => {
        const buf = new Uint8Array(pad + b.length + pad).fill(0xff);
        buf.set(b, pad);
        let want: string | undefined;
        try {
          want = strict.decode(b);
        } catch {
          want = undefined;
        }
        if (want === undefined) assert.throws(() => readUtf8(buf, pad, b.length));
        else assert.equal(readUtf8(buf, pad, b.length), want);
      }),
      { numRuns: 3000 },
    );
  });

  it("a string length beyond the bytes left is truncated before any string is built", () => {
    // Declares 16384 bytes, carries 3: the check is on the length, not on a copy.
    const body = Uint8Array.from([...refVarint(16384), 0x61, 0x62, 0x63]);
    assert.throws(() => new Reader(body).string("s"), isWire("truncated"));
    assert.throws(() => new Reader(body).bytes("b"), isWire("truncated"));
  });
});

describe("fast path: varints", () => {
  const edges: VarInt[] = [
    0,
    1,
    63,
    64,
    16383,
    16384,
    2 ** 30 - 1,
    2 ** 30,
    2 ** 31,
    2 ** 32 - 1,
    2 ** 32,
    2 ** 53 - 1,
    2n ** 53n,
    2n ** 62n - 1n,
    0n,
    63n,
    64n,
  ];

  it("putVarint writes the shortest form (DataView reference) and returns the end, at every size edge", () => {
    for (const v of edges) {
      const ref = refVarint(v);
      const out = new Uint8Array(10).fill(0xee);
      assert.equal(putVarint(out, 1, v), 1 + ref.length, String(v));
      assert.deepStrictEqual([...out.subarray(1, 1 + ref.length)], ref, String(v));
      assert.equal(out[0], 0xee);
      assert.equal(out[1 + ref.length], 0xee);
      assert.equal(varintLen(v), ref.length);
    }
  });

  it("putVarint matches the reference for any varint", () => {
    fc.assert(
      fc.property(varint, (v) => {
        const out = new Uint8Array(8);
        const end = putVarint(out, 0, v);
        assert.deepStrictEqual([...out.subarray(0, end)], refVarint(v));
      }),
      { numRuns: 3000 },
    );
  });

  it("putVarint rejects what varintLen rejects, as WireError malformed", () => {
    for (const v of [-1, -0.5, 1.5, NaN, Infinity, 2 ** 53, -1n, 2n ** 62n]) {
      assert.throws(() => putVarint(new Uint8Array(8), 0, v), isWire("malformed"), String(v));
      assert.throws(() => encodeMessage(Group, { subscribeId: v, groupSequence: 0 }), isWire("malformed"));
    }
  });

  it("Reader.varint (inline) agrees with peekVarint on random bytes, and is truncated where peekVarint is undefined", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), fc.nat({ max: 12 }), (b, cut) => {
        const end = Math.min(cut, b.length);
        const r = new Reader(b, 0, end);
        const p = peekVarint(b.subarray(0, end), 0);
        if (p === undefined) assert.throws(() => r.varint(), isWire("truncated"));
        else {
          assert.equal(r.varint(), p[0]);
          assert.equal(r.position, p[1]);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe("fast path: ASCII-optimistic encodeMessage", () => {
  const stringCodecs: [Codec<never>, (s: string) => unknown, (s: string) => number[]][] = [
    [AnnouncePlease as Codec<never>, (s) => ({ prefix: s }), (s) => refString(s)],
    [Announce as Codec<never>, (s) => ({ status: 1, suffix: s }), (s) => [1, ...refString(s)]],
    [
      AnnounceInit as Codec<never>,
      (s) => ({ suffixes: ["a", s, s + "é", ""] }),
      (s) => [4, ...refString("a"), ...refString(s), ...refString(s + "é"), ...refString("")],
    ],
    [
      Subscribe as Codec<never>,
      (s) => ({ subscribeId: 70000, broadcastPath: s, trackName: "x" + s, trackPriority: 300 }),
      (s) => [...refVarint(70000), ...refString(s), ...refString("x" + s), ...refVarint(300 & 0xff)],
    ],
  ];

  it("equals the reference encoding for ASCII and non-ASCII strings at every boundary length", () => {
    for (const [codec, make, ref] of stringCodecs)
      for (const s of boundaryStrings()) {
        const m = make(s) as never;
        const want = refMessage(ref(s));
        assert.deepStrictEqual(encodeMessage(codec, m), want, `${codec.name}, length ${s.length}`);
        assert.deepStrictEqual(appendMessage(new Writer(1), codec, m).bytes(), want, codec.name);
        const w = new Writer(1);
        codec.encode(w, m);
        assert.deepStrictEqual(w.bytes(), want.subarray(want.length - w.length), codec.name);
      }
  });

  it("equals the reference encoding for random mixed strings", () => {
    fc.assert(
      fc.property(fc.constantFrom(...stringCodecs), fc.oneof(mixed, text(70)), ([codec, make, ref], s) => {
        assert.deepStrictEqual(encodeMessage(codec, make(s) as never), refMessage(ref(s)));
      }),
      { numRuns: 3000 },
    );
  });

  it("returns a buffer of exactly the message (its own, not a view of a larger one)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...allMessages), fc.nat(), (ca, seed) => {
        const m = fc.sample(ca.arb, { numRuns: 1, seed })[0]!;
        const out = encodeMessage(ca.codec, m);
        assert.equal(out.byteOffset, 0);
        assert.equal(out.buffer.byteLength, out.length);
        const [len, size] = peekVarint(out, 0)!;
        assert.equal(len, out.length - size);
      }),
      { numRuns: 300 },
    );
  });

  it("a non-ASCII string inside a message that also carries parameters still encodes exactly", () => {
    // SESSION_CLIENT has no strings; its sized body must always fit without the exact re-encode.
    const m = { versions: [0xfeedbabe], parameters: new Map([[1, utf8.encode("/é/😀")]]) };
    const out = encodeMessage(SessionClient, m);
    assert.deepStrictEqual(decodeMessage(SessionClient, out, 1 << 20), m);
  });
});

describe("fast path: decodeMessage (whole message in memory, in place)", () => {
  it("decodes every message at any offset inside a larger buffer, without touching the bytes around it", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...allMessages),
        fc.nat(),
        fc.nat({ max: 7 }),
        fc.nat({ max: 7 }),
        (ca, seed, a, z) => {
          const m = fc.sample(ca.arb, { numRuns: 1, seed })[0]!;
          const msg = encodeMessage(ca.codec, m);
          const buf = new Uint8Array(a + msg.length + z).fill(0xff);
          buf.set(msg, a);
          assert.deepStrictEqual(decodeMessage(ca.codec, buf, 1 << 20, a, a + msg.length), m);
          assert.deepStrictEqual(decodeMessage(ca.codec, msg, msg.length), m);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("checks the cap on the length prefix first: too-large even when the body is missing", () => {
    const declared = [...refVarint(1 << 20), 0x00];
    assert.throws(
      () => decodeMessage(Subscribe, Uint8Array.from(declared), (1 << 20) - 1),
      isWire("too-large"),
    );
    // A length above 2^53 (bigint) is too-large for any cap.
    const huge = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    assert.throws(() => decodeMessage(Subscribe, huge, Number.MAX_SAFE_INTEGER), isWire("too-large"));
    // Within the cap: the missing body is truncated; extra bytes after the body are trailing.
    assert.throws(() => decodeMessage(Subscribe, Uint8Array.from(declared), 1 << 20), isWire("truncated"));
    assert.throws(() => decodeMessage(SubscribeOk, Uint8Array.from([0x00, 0x00]), 10), isWire("trailing"));
    assert.throws(() => decodeMessage(SubscribeOk, Uint8Array.from([0x01, 0x00]), 10), isWire("trailing"));
    assert.throws(() => decodeMessage(SubscribeOk, new Uint8Array(0), 10), isWire("truncated"));
    assert.throws(() => decodeMessage(SubscribeOk, Uint8Array.from([0x40]), 10), isWire("truncated"));
    assert.deepStrictEqual(decodeMessage(SubscribeOk, Uint8Array.from([0x00]), 0), {});
  });

  it("a decode that throws midway leaves the next decode (either entry point) correct", () => {
    const sub = { subscribeId: 1, broadcastPath: "/a", trackName: "b", trackPriority: 0 };
    const good = encodeMessage(Subscribe, sub);
    const bad = Uint8Array.from([0x03, 0x01, 0x05, 0x61]); // the path's length runs past the body
    const cb = new ChunkBuffer();
    for (let i = 0; i < 3; i++) {
      assert.throws(() => decodeMessage(Subscribe, bad, 100), isWire("truncated"));
      assert.deepStrictEqual(decodeMessage(Subscribe, good, 100), sub);
      cb.push(bad);
      assert.throws(() => cb.tryMessage(Subscribe, 100), isWire("truncated"));
      cb.push(good);
      assert.deepStrictEqual(cb.tryMessage(Subscribe, 100), sub);
      assert.deepStrictEqual(decodeMessage(Subscribe, good, 100), sub);
    }
    cb.assertEmpty("stream");
  });

  it("on random bytes returns what decodeBody returns for the same body, or throws a WireError", () => {
    fc.assert(
      fc.property(fc.constantFrom(...allMessages), fc.uint8Array({ maxLength: 40 }), (ca, b) => {
        let got: unknown;
        try {
          got = decodeMessage(ca.codec, b, 1 << 20);
        } catch (e) {
          if (!WireError.is(e)) throw e;
          return;
        }
        const [len, size] = peekVarint(b, 0)!;
        assert.equal(size + (len as number), b.length);
        assert.deepStrictEqual(got, decodeBody(ca.codec, b.subarray(size)));
      }),
      { numRuns: 3000 },
    );
  });
});

describe("fast path: ChunkBuffer.tryMessage decoding inside one chunk", () => {
  it("several messages and a raw byte in one chunk decode in order, and the buffer ends empty", () => {
    const sub = { subscribeId: 7, broadcastPath: "/live/é", trackName: "video", trackPriority: 2 };
    const g = { subscribeId: 2n ** 60n, groupSequence: 16384 };
    const w = new Writer().u8(2);
    appendMessage(w, Subscribe, sub);
    appendMessage(w, Group, g);
    appendMessage(w, SubscribeOk, {});
    const cb = new ChunkBuffer();
    cb.push(w.bytes());
    assert.equal(cb.tryByte(), 2);
    assert.deepStrictEqual(cb.tryMessage(Subscribe, 1 << 20), sub);
    assert.deepStrictEqual(cb.tryMessage(Group, 1 << 20), g);
    assert.deepStrictEqual(cb.tryMessage(SubscribeOk, 1 << 20), {});
    assert.equal(cb.tryMessage(SubscribeOk, 1 << 20), undefined);
    cb.assertEmpty("stream");
  });

  it("a body with a byte too many is trailing; the message's bytes are consumed, the next message still decodes", () => {
    const cb = new ChunkBuffer();
    cb.push(Uint8Array.from([0x01, 0x00, 0x00]));
    assert.throws(() => cb.tryMessage(SubscribeOk, 10), isWire("trailing"));
    assert.equal(cb.available, 1);
    assert.deepStrictEqual(cb.tryMessage(SubscribeOk, 10), {});
  });

  it("the cap is checked as soon as the prefix is in the first chunk, before the body arrives", () => {
    const cb = new ChunkBuffer();
    cb.push(Uint8Array.from(refVarint(5000)));
    assert.throws(() => cb.tryMessage(AnnounceInit, 4999), isWire("too-large"));
    const cb2 = new ChunkBuffer();
    cb2.push(Uint8Array.from(refVarint(5000)));
    assert.equal(cb2.tryMessage(AnnounceInit, 5000), undefined);
    assert.equal(cb2.available, 2);
  });

  it("a message split anywhere (prefix or body across chunks) decodes the same as in one chunk", () => {
    fc.assert(
      fc.property(fc.constantFrom(...allMessages), fc.nat(), fc.nat(), (ca, seed, cutRaw) => {
        const m = fc.sample(ca.arb, { numRuns: 1, seed })[0]!;
        const bytes = encodeMessage(ca.codec, m);
        const cut = cutRaw % (bytes.length + 1);
        const cb = new ChunkBuffer();
        cb.push(bytes.subarray(0, cut));
        const first = cb.tryMessage(ca.codec, 1 << 20);
        if (cut < bytes.length) {
          assert.equal(first, undefined);
          cb.push(bytes.subarray(cut));
          assert.deepStrictEqual(cb.tryMessage(ca.codec, 1 << 20), m);
        } else assert.deepStrictEqual(first, m);
        cb.assertEmpty(ca.codec.name);
      }),
      { numRuns: 1000 },
    );
  });
});
