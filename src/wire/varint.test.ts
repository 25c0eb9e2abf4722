import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  MAX_VARINT,
  Reader,
  WireError,
  Writer,
  peekVarint,
  toVarInt,
  varintLen,
  writeFrameHeader,
  type VarInt,
} from "./index.js";
import { bytesToHex, hexToBytes } from "../../test/support/vectors.js";

function enc(v: VarInt): string {
  return bytesToHex(new Writer(1).varint(v).bytes());
}

function dec(hex: string): VarInt {
  const r = new Reader(hexToBytes(hex));
  const v = r.varint();
  r.end("varint");
  return v;
}

function isWire(kind: string) {
  return (e: unknown) => WireError.is(e) && e instanceof WireError && e.kind === kind;
}

const BOUNDARIES: [VarInt, number, string][] = [
  [0, 1, "00"],
  [63, 1, "3f"],
  [64, 2, "4040"],
  [16383, 2, "7fff"],
  [16384, 4, "80004000"],
  [2 ** 30 - 1, 4, "bfffffff"],
  [2 ** 30, 8, "c000000040000000"],
  [Number.MAX_SAFE_INTEGER, 8, "c01fffffffffffff"],
  [2n ** 53n, 8, "c020000000000000"],
  [2n ** 62n - 1n, 8, "ffffffffffffffff"],
];

describe("varint encoding", () => {
  for (const [v, len, hex] of BOUNDARIES) {
    it(`${v} (${typeof v}) takes ${len} bytes: ${hex}`, () => {
      assert.equal(varintLen(v), len);
      assert.equal(enc(v), hex);
      assert.equal(dec(hex), v);
      assert.equal(typeof dec(hex), typeof v, "safe values decode as number, larger as bigint");
      const p = peekVarint(hexToBytes(hex), 0);
      assert.deepStrictEqual(p, [v, len]);
    });
  }

  it("small bigints encode like numbers and decode as numbers", () => {
    for (const [v, len, hex] of BOUNDARIES) {
      if (typeof v !== "number") continue;
      const b = BigInt(v);
      assert.equal(varintLen(b), len);
      assert.equal(enc(b), hex);
      assert.equal(dec(hex), v);
    }
  });

  it("uses the shortest form just inside and outside every boundary", () => {
    const cases: [VarInt, number][] = [
      [1, 1],
      [62, 1],
      [65, 2],
      [16382, 2],
      [16385, 4],
      [2 ** 30 - 2, 4],
      [2 ** 30 + 1, 8],
      [2 ** 32, 8],
      [2n ** 62n - 2n, 8],
    ];
    for (const [v, n] of cases) {
      assert.equal(varintLen(v), n, String(v));
      assert.equal(enc(v).length, 2 * n, String(v));
      assert.equal(dec(enc(v)), typeof v === "bigint" ? toVarInt(v) : v);
    }
  });

  it("MAX_VARINT is 2^62-1", () => {
    assert.equal(MAX_VARINT, 2n ** 62n - 1n);
  });

  it("rejects negative, non-integer, out-of-range and unsafe values with WireError(malformed)", () => {
    const bad: VarInt[] = [
      -1,
      -0.5,
      1.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -1n,
      2n ** 62n,
      2n ** 64n,
      2 ** 53, // not a safe integer: must be passed as bigint
      2 ** 62,
      Number.MAX_VALUE,
    ];
    for (const v of bad) {
      assert.throws(() => varintLen(v), isWire("malformed"), `varintLen(${v})`);
      assert.throws(() => new Writer().varint(v), isWire("malformed"), `Writer.varint(${v})`);
    }
  });

  it("a rejected varint leaves the Writer unchanged", () => {
    const w = new Writer(4).varint(5);
    assert.throws(() => w.varint(-1));
    assert.throws(() => w.varint(2n ** 62n));
    assert.equal(bytesToHex(w.bytes()), "05");
  });

  it("round-trips random values in every size class (number and bigint)", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.integer({ min: 0, max: 63 }),
          fc.integer({ min: 64, max: 16383 }),
          fc.integer({ min: 16384, max: 2 ** 30 - 1 }),
          fc.integer({ min: 2 ** 30, max: Number.MAX_SAFE_INTEGER }),
          fc.bigInt({ min: 0n, max: 2n ** 62n - 1n }),
        ),
        (v) => {
          const bytes = new Writer(1).varint(v).bytes();
          assert.equal(bytes.length, varintLen(v));
          const expected = typeof v === "bigint" ? toVarInt(v) : v;
          assert.deepStrictEqual(peekVarint(bytes, 0), [expected, bytes.length]);
          // Length class from the top 2 bits.
          assert.equal(1 << (bytes[0]! >> 6), bytes.length);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("varint decoding", () => {
  it("accepts non-minimal encodings", () => {
    assert.equal(dec("4005"), 5);
    assert.equal(dec("80000005"), 5);
    assert.equal(dec("c000000000000005"), 5);
    assert.equal(dec("4000"), 0);
    assert.equal(dec("80000000"), 0);
    assert.equal(dec("c000000000000000"), 0);
    assert.equal(dec("c000000000003fff"), 16383);
  });

  it("gomoqt reader vectors", () => {
    assert.equal(dec("4040"), 64);
    assert.equal(dec("80004000"), 16384);
    assert.equal(dec("c000000040000000"), 2 ** 30);
  });

  it("RFC 9000 §A.1 sample encodings", () => {
    assert.equal(dec("c2197c5eff14e88c"), 151288809941952652n);
    assert.equal(dec("9d7f3e7d"), 494878333);
    assert.equal(dec("7bbd"), 15293);
    assert.equal(dec("25"), 37);
    assert.equal(dec("4025"), 37);
    assert.equal(enc(151288809941952652n), "c2197c5eff14e88c");
    assert.equal(enc(494878333), "9d7f3e7d");
    assert.equal(enc(15293), "7bbd");
    assert.equal(enc(37), "25");
  });

  it("switches from number to bigint exactly above 2^53-1", () => {
    assert.equal(dec("c01fffffffffffff"), Number.MAX_SAFE_INTEGER);
    assert.equal(dec("c020000000000000"), 2n ** 53n);
    assert.equal(dec("c020000000000001"), 2n ** 53n + 1n);
    assert.equal(dec("c01ffffffffffffe"), Number.MAX_SAFE_INTEGER - 1);
    assert.equal(toVarInt(BigInt(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
    assert.equal(toVarInt(2n ** 53n), 2n ** 53n);
    assert.equal(toVarInt(0n), 0);
  });

  it("high bits of the low word are decoded unsigned", () => {
    assert.equal(dec("c0000000ffffffff"), 2 ** 32 - 1);
    assert.equal(dec("c000000180000000"), 2 ** 32 + 2 ** 31);
    assert.equal(dec("bfffffff"), 2 ** 30 - 1);
    assert.equal(dec("c0000000ffffff00"), 0xffffff00);
  });

  it("peekVarint returns undefined when the buffer ends inside the varint, and honours pos", () => {
    for (const hex of ["", "40", "800000", "c0000000000000"])
      assert.equal(peekVarint(hexToBytes(hex), 0), undefined, hex);
    const buf = hexToBytes("ff4040");
    assert.deepStrictEqual(peekVarint(buf, 1), [64, 2]);
    assert.equal(peekVarint(buf, 2), undefined);
    assert.equal(peekVarint(buf, 3), undefined);
  });

  it("Reader.varint throws truncated on a partial varint", () => {
    for (const hex of ["", "40", "800000", "c0000000000000"])
      assert.throws(() => new Reader(hexToBytes(hex)).varint(), isWire("truncated"), hex);
  });

  it("Reader.varintNumber rejects values above 2^53-1 as malformed", () => {
    assert.equal(new Reader(hexToBytes("c01fffffffffffff")).varintNumber("x"), Number.MAX_SAFE_INTEGER);
    assert.throws(() => new Reader(hexToBytes("c020000000000000")).varintNumber("x"), isWire("malformed"));
  });

  it("every 8-byte encoding decodes to the same value as a bigint computation", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), (b) => {
        b[0] = b[0]! | 0xc0;
        let x = 0n;
        for (const byte of b) x = (x << 8n) | BigInt(byte);
        x &= (1n << 62n) - 1n;
        assert.deepStrictEqual(peekVarint(b, 0), [toVarInt(x), 8]);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("writeFrameHeader", () => {
  for (const [v, len, hex] of BOUNDARIES) {
    if (typeof v !== "number") continue;
    it(`writes ${v} like Writer.varint (${hex})`, () => {
      const out = new Uint8Array(12).fill(0xaa);
      assert.equal(writeFrameHeader(out, 2, v), len);
      assert.equal(bytesToHex(out.subarray(2, 2 + len)), hex);
      // Bytes around the header are untouched.
      assert.equal(out[0], 0xaa);
      assert.equal(out[1], 0xaa);
      assert.equal(out[2 + len], 0xaa);
    });
  }

  it("matches Writer.varint for random safe lengths", () => {
    fc.assert(
      fc.property(fc.oneof(fc.nat({ max: 20000 }), fc.nat(), fc.maxSafeNat()), (v) => {
        const out = new Uint8Array(8);
        const n = writeFrameHeader(out, 0, v);
        assert.equal(bytesToHex(out.subarray(0, n)), enc(v));
      }),
      { numRuns: 2000 },
    );
  });

  it("rejects negative and non-integer lengths", () => {
    assert.throws(() => writeFrameHeader(new Uint8Array(8), 0, -1), isWire("malformed"));
    assert.throws(() => writeFrameHeader(new Uint8Array(8), 0, 1.5), isWire("malformed"));
  });
});
