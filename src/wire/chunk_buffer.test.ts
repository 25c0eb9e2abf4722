import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  Announce,
  AnnounceInit,
  AnnouncePlease,
  BiStreamType,
  ChunkBuffer,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  Group,
  SessionClient,
  Subscribe,
  SubscribeOk,
  SubscribeUpdate,
  UniStreamType,
  WireError,
  Writer,
  appendMessage,
  encodeFrame,
  type Codec,
  type WireErrorKind,
} from "./index.js";
import { bytesToHex, hexToBytes } from "../../test/support/vectors.js";

const utf8 = new TextEncoder();

function isWire(kind: WireErrorKind) {
  return (e: unknown) => {
    assert.ok(WireError.is(e), `expected a WireError, got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    return true;
  };
}

type Item =
  | { kind: "byte"; value: number }
  | { kind: "message"; codec: Codec<unknown>; value: unknown }
  | { kind: "frame"; value: Uint8Array };

function msg<M>(codec: Codec<M>, value: M): Item {
  return { kind: "message", codec: codec as Codec<unknown>, value };
}

function encode(items: Item[]): Uint8Array {
  const w = new Writer();
  for (const it of items) {
    if (it.kind === "byte") w.u8(it.value);
    else if (it.kind === "message") appendMessage(w, it.codec, it.value);
    else w.raw(encodeFrame(it.value));
  }
  return w.bytes();
}

/** Feed `chunks` one at a time, draining every complete item after each push; returns what was decoded. */
function decode(items: Item[], chunks: Uint8Array[]): unknown[] {
  const cb = new ChunkBuffer();
  const out: unknown[] = [];
  let i = 0;
  const drain = () => {
    while (i < items.length) {
      const it = items[i]!;
      const got =
        it.kind === "byte"
          ? cb.tryByte()
          : it.kind === "message"
            ? cb.tryMessage(it.codec, DEFAULT_MAX_MESSAGE_BYTES)
            : cb.tryFrame(DEFAULT_MAX_FRAME_BYTES);
      if (got === undefined) return;
      // Frames may be views into pushed chunks: copy, as a consumer keeping them would.
      out.push(got instanceof Uint8Array ? got.slice() : got);
      i++;
    }
  };
  for (const c of chunks) {
    cb.push(c);
    drain();
  }
  drain();
  assert.equal(cb.available, 0);
  cb.assertEmpty("stream");
  return out;
}

function expected(items: Item[]): unknown[] {
  return items.map((it) => it.value);
}

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [0, ...[...cuts].sort((a, b) => a - b), bytes.length];
  const out: Uint8Array[] = [];
  for (let i = 0; i + 1 < points.length; i++) out.push(bytes.subarray(points[i]!, points[i + 1]!));
  return out;
}

const SUBSCRIBE_STREAM: Item[] = [
  { kind: "byte", value: BiStreamType.Subscribe },
  msg(Subscribe, {
    subscribeId: 2n ** 62n - 1n,
    broadcastPath: "/live/日本",
    trackName: "video😀",
    trackPriority: 128,
  }),
  msg(SubscribeOk, {}),
  msg(SubscribeUpdate, { trackPriority: 5 }),
  msg(SubscribeUpdate, { trackPriority: 200 }),
];

const GROUP_STREAM: Item[] = [
  { kind: "byte", value: UniStreamType.Group },
  msg(Group, { subscribeId: 1, groupSequence: 2n ** 62n - 1n }),
  { kind: "frame", value: utf8.encode("HELLO") },
  { kind: "frame", value: new Uint8Array(0) },
  { kind: "frame", value: Uint8Array.from({ length: 300 }, (_, i) => i & 0xff) },
  { kind: "frame", value: new Uint8Array(0) },
  { kind: "frame", value: utf8.encode("WORLD!") },
];

const MIXED_STREAM: Item[] = [
  { kind: "byte", value: BiStreamType.Session },
  msg(SessionClient, { versions: [0xfeedbabe, 1], parameters: new Map([[1, utf8.encode("/path")]]) }),
  msg(AnnouncePlease, { prefix: "/" }),
  msg(AnnounceInit, { suffixes: ["a", "bé", ""] }),
  msg(Announce, { status: 1, suffix: "x".repeat(70) }),
  { kind: "frame", value: utf8.encode("f") },
  msg(Announce, { status: 0, suffix: "" }),
  { kind: "frame", value: new Uint8Array(0) },
];

const STREAMS: [string, Item[]][] = [
  ["subscribe stream", SUBSCRIBE_STREAM],
  ["group stream", GROUP_STREAM],
  ["mixed messages and frames", MIXED_STREAM],
];

describe("ChunkBuffer: split streams decode identically", () => {
  for (const [name, items] of STREAMS) {
    const bytes = encode(items);
    const want = expected(items);

    it(`${name}: in one chunk`, () => {
      assert.deepStrictEqual(decode(items, [bytes]), want);
    });

    it(`${name}: split at every position (${bytes.length + 1} splits)`, () => {
      for (let i = 0; i <= bytes.length; i++)
        assert.deepStrictEqual(decode(items, splitAt(bytes, [i])), want, `split ${i}`);
    });

    it(`${name}: one byte per chunk`, () => {
      assert.deepStrictEqual(
        decode(
          items,
          splitAt(
            bytes,
            Array.from({ length: bytes.length }, (_, i) => i),
          ),
        ),
        want,
      );
    });

    it(`${name}: every pair of split positions around the first 64 bytes`, () => {
      const n = Math.min(bytes.length, 64);
      for (let i = 0; i <= n; i++)
        for (let j = i; j <= n; j++)
          assert.deepStrictEqual(decode(items, splitAt(bytes, [i, j])), want, `${i},${j}`);
    });

    it(`${name}: random splits (fast-check)`, () => {
      fc.assert(
        fc.property(fc.array(fc.integer({ min: 0, max: bytes.length }), { maxLength: 40 }), (cuts) => {
          assert.deepStrictEqual(decode(items, splitAt(bytes, cuts)), want);
        }),
        { numRuns: 500 },
      );
    });

    it(`${name}: chunks that are copies of the data (not views of one buffer)`, () => {
      const chunks = splitAt(bytes, [3, 7, 11]).map((c) => c.slice());
      assert.deepStrictEqual(decode(items, chunks), want);
    });
  }

  it("every item decoded with empty pushes interleaved", () => {
    const bytes = encode(GROUP_STREAM);
    const chunks: Uint8Array[] = [];
    for (const c of splitAt(bytes, [1, 2, 5, 9])) chunks.push(new Uint8Array(0), c, new Uint8Array(0));
    assert.deepStrictEqual(decode(GROUP_STREAM, chunks), expected(GROUP_STREAM));
  });
});

describe("ChunkBuffer: caps", () => {
  it("message too-large is thrown as soon as the length prefix is known", () => {
    const cb = new ChunkBuffer();
    cb.push(hexToBytes("41")); // first byte of a 2-byte length: not known yet
    assert.equal(cb.tryMessage(AnnouncePlease, 255), undefined);
    cb.push(hexToBytes("00")); // 256: body not yet received
    assert.throws(() => cb.tryMessage(AnnouncePlease, 255), isWire("too-large"));
  });

  it("a message of exactly the cap passes; one byte more does not", () => {
    const prefix = "p".repeat(60);
    const bytes = encode([msg(AnnouncePlease, { prefix })]); // body = 1 + 60 = 61 bytes
    assert.equal(bytes[0], 61);
    const ok = new ChunkBuffer();
    ok.push(bytes);
    assert.deepStrictEqual(ok.tryMessage(AnnouncePlease, 61), { prefix });
    const bad = new ChunkBuffer();
    bad.push(bytes.subarray(0, 2)); // only the prefix and one body byte
    assert.throws(() => bad.tryMessage(AnnouncePlease, 60), isWire("too-large"));
  });

  it("frame too-large is thrown from the length prefix alone (no body buffered)", () => {
    const cb = new ChunkBuffer();
    cb.push(new Writer().varint(DEFAULT_MAX_FRAME_BYTES + 1).bytes());
    assert.throws(() => cb.tryFrame(DEFAULT_MAX_FRAME_BYTES), isWire("too-large"));
  });

  it("8-byte lengths, including bigint ones, are too-large before any body", () => {
    for (const hex of ["c000000100000000", "c020000000000000", "ffffffffffffffff"]) {
      const f = new ChunkBuffer();
      f.push(hexToBytes(hex));
      assert.throws(() => f.tryFrame(DEFAULT_MAX_FRAME_BYTES), isWire("too-large"), hex);
      const m = new ChunkBuffer();
      m.push(hexToBytes(hex));
      assert.throws(() => m.tryMessage(Group, DEFAULT_MAX_MESSAGE_BYTES), isWire("too-large"), hex);
    }
  });

  it("frames at the cap pass, including when split", () => {
    const payload = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff);
    const bytes = encodeFrame(payload);
    for (const cut of [0, 1, 2, 500, bytes.length]) {
      const cb = new ChunkBuffer();
      const [a, b] = splitAt(bytes, [cut]);
      cb.push(a!);
      if (cut < bytes.length) assert.equal(cb.tryFrame(1000), undefined);
      cb.push(b!);
      assert.deepStrictEqual(cb.tryFrame(1000), payload);
      cb.assertEmpty("frame");
    }
    const over = new ChunkBuffer();
    over.push(bytes.subarray(0, 2));
    assert.throws(() => over.tryFrame(999), isWire("too-large"));
  });

  it("zero-length frames: one byte 00, pass even with a cap of 0", () => {
    assert.equal(bytesToHex(encodeFrame(new Uint8Array(0))), "00");
    const cb = new ChunkBuffer();
    cb.push(hexToBytes("000000"));
    for (let i = 0; i < 3; i++) assert.deepStrictEqual(cb.tryFrame(0), new Uint8Array(0));
    assert.equal(cb.tryFrame(0), undefined);
    cb.assertEmpty("frames");
    // Non-minimal zero length.
    cb.push(hexToBytes("4000"));
    assert.deepStrictEqual(cb.tryFrame(0), new Uint8Array(0));
    cb.push(hexToBytes("01"));
    assert.throws(() => cb.tryFrame(0), isWire("too-large"));
  });

  it("SUBSCRIBE_OK (empty body) passes with a cap of 0", () => {
    const cb = new ChunkBuffer();
    cb.push(hexToBytes("00"));
    assert.deepStrictEqual(cb.tryMessage(SubscribeOk, 0), {});
  });
});

describe("ChunkBuffer: bytes, views and errors", () => {
  it("tryByte returns raw bytes across chunks and undefined when empty", () => {
    const cb = new ChunkBuffer();
    assert.equal(cb.tryByte(), undefined);
    cb.push(hexToBytes("0102"));
    cb.push(new Uint8Array(0));
    cb.push(hexToBytes("ff"));
    assert.equal(cb.available, 3);
    assert.equal(cb.tryByte(), 1);
    assert.equal(cb.tryByte(), 2);
    assert.equal(cb.tryByte(), 0xff);
    assert.equal(cb.tryByte(), undefined);
    assert.equal(cb.available, 0);
  });

  it("tryByte does not interpret the byte as a varint", () => {
    const cb = new ChunkBuffer();
    cb.push(hexToBytes("c0"));
    assert.equal(cb.tryByte(), 0xc0);
  });

  it("incomplete items return undefined and consume nothing", () => {
    const bytes = encode([
      msg(Subscribe, { subscribeId: 1, broadcastPath: "/live", trackName: "video", trackPriority: 128 }),
    ]);
    const cb = new ChunkBuffer();
    for (let i = 0; i < bytes.length - 1; i++) {
      cb.push(bytes.subarray(i, i + 1));
      assert.equal(cb.tryMessage(Subscribe, 1000), undefined);
      assert.equal(cb.available, i + 1);
    }
  });

  it("tryFrame returns a view when the frame sits inside one chunk, and correct bytes when spanning chunks", () => {
    const bytes = encode(GROUP_STREAM.slice(2));
    const whole = new ChunkBuffer();
    whole.push(bytes);
    const f = whole.tryFrame(100)!;
    assert.equal(f.buffer, bytes.buffer);
    assert.deepStrictEqual(f, utf8.encode("HELLO"));

    const spanning = new ChunkBuffer();
    spanning.push(bytes.subarray(0, 3));
    spanning.push(bytes.subarray(3, 4));
    spanning.push(bytes.subarray(4));
    assert.deepStrictEqual(spanning.tryFrame(100), utf8.encode("HELLO"));
  });

  it("a varint length prefix split across chunks is read correctly", () => {
    const payload = new Uint8Array(20000).fill(3);
    const bytes = encodeFrame(payload); // 4-byte length prefix
    assert.equal(bytes[0]! >> 6, 2);
    const cb = new ChunkBuffer();
    cb.push(bytes.subarray(0, 1));
    cb.push(bytes.subarray(1, 3));
    assert.equal(cb.tryFrame(20000), undefined);
    cb.push(bytes.subarray(3, 10));
    cb.push(bytes.subarray(10));
    assert.deepStrictEqual(cb.tryFrame(20000), payload);
  });

  it("a body decode error surfaces as the codec's WireError and consumes the message", () => {
    const cb = new ChunkBuffer();
    cb.push(hexToBytes("020200" + "0105"));
    assert.throws(() => cb.tryMessage(Announce, 100), isWire("invalid-value"));
    assert.deepStrictEqual(cb.tryMessage(SubscribeUpdate, 100), { trackPriority: 5 });
    cb.push(hexToBytes("0100")); // SUBSCRIBE_OK with a 1-byte body
    assert.throws(() => cb.tryMessage(SubscribeOk, 100), isWire("trailing"));
    cb.push(hexToBytes("0101")); // ANNOUNCE_PLEASE whose string length exceeds the body
    assert.throws(() => cb.tryMessage(AnnouncePlease, 100), isWire("truncated"));
    cb.assertEmpty("x");
  });

  it("assertEmpty throws truncated on partial data, and passes when empty", () => {
    const cb = new ChunkBuffer();
    cb.assertEmpty("nothing");
    cb.push(hexToBytes("40"));
    assert.throws(() => cb.assertEmpty("length prefix"), isWire("truncated"));
    const cb2 = new ChunkBuffer();
    cb2.push(hexToBytes("0548454c"));
    assert.equal(cb2.tryFrame(10), undefined);
    assert.throws(() => cb2.assertEmpty("frame"), isWire("truncated"));
    const cb3 = new ChunkBuffer();
    cb3.push(hexToBytes("0100"));
    assert.deepStrictEqual(cb3.tryMessage(SubscribeUpdate, 10), { trackPriority: 0 });
    cb3.assertEmpty("done");
  });
});
