import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ChunkBuffer,
  Group,
  Subscribe,
  Reader,
  WireError,
  Writer,
  appendMessage,
  decodeBody,
  encodeFrame,
  encodeMessage,
  peekVarint,
  toVarInt,
  varintLen,
} from "./index.js";
import { allMessages, subscribe, text } from "../../test/support/arbitraries.js";

function rethrowUnlessWire(e: unknown): void {
  if (!WireError.is(e)) throw e;
  assert.ok(e instanceof WireError);
  assert.ok(["truncated", "trailing", "too-large", "malformed", "invalid-value"].includes(e.kind), e.kind);
}

describe("property: encode ∘ decode is the identity", () => {
  for (const { codec, arb } of allMessages) {
    it(`${codec.name}`, () => {
      fc.assert(
        fc.property(arb, (m) => {
          const bytes = encodeMessage(codec, m);
          const [len, size] = peekVarint(bytes, 0)!;
          assert.equal(typeof len, "number");
          assert.deepStrictEqual(decodeBody(codec, bytes.subarray(size)), m);
          // Via the ChunkBuffer too, in one chunk.
          const cb = new ChunkBuffer();
          cb.push(bytes);
          assert.deepStrictEqual(cb.tryMessage(codec, bytes.length), m);
          cb.assertEmpty(codec.name);
        }),
        { numRuns: 1000 },
      );
    });
  }

  it("small bigints are normalised to numbers on decode", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 62n - 1n }),
        fc.bigInt({ min: 0n, max: 2n ** 62n - 1n }),
        (a, b) => {
          const m = decodeBody(Group, new Writer().varint(a).varint(b).bytes());
          assert.deepStrictEqual(m, { subscribeId: toVarInt(a), groupSequence: toVarInt(b) });
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("Writer.string / Reader.string round-trip any well-formed string with a UTF-8 byte length prefix", () => {
    const utf8 = new TextEncoder();
    fc.assert(
      fc.property(text(200), (s) => {
        const b = new Writer(1).string(s).bytes();
        const n = utf8.encode(s).length;
        assert.equal(b.length, varintLen(n) + n);
        const r = new Reader(b);
        assert.equal(r.string("s"), s);
        r.end("s");
      }),
      { numRuns: 1000 },
    );
  });
});

describe("property: encoded length equals varintLen(bodyLen) + bodyLen", () => {
  for (const { codec, arb } of allMessages) {
    it(`${codec.name}`, () => {
      fc.assert(
        fc.property(arb, (m) => {
          const w = new Writer();
          codec.encode(w, m);
          const bodyLen = w.length;
          const bytes = encodeMessage(codec, m);
          assert.equal(bytes.length, varintLen(bodyLen) + bodyLen);
          assert.deepStrictEqual(peekVarint(bytes, 0), [bodyLen, varintLen(bodyLen)]);
          assert.deepStrictEqual(appendMessage(new Writer(), codec, m).bytes(), bytes);
        }),
        { numRuns: 500 },
      );
    });
  }
});

describe("property: decodeBody on random bytes returns or throws WireError, nothing else", () => {
  const bytesArb = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc.uint8Array({ minLength: 1, maxLength: 8 }),
    // Random mutations of valid encodings reach deeper into the decoders.
    fc
      .tuple(fc.constantFrom(...allMessages), fc.nat(), fc.nat({ max: 255 }), fc.nat())
      .chain(([{ codec, arb }, pos, byte, cut]) =>
        arb.map((m) => {
          const b = encodeMessage(codec, m).slice(1);
          if (b.length > 0) b[pos % b.length] = byte;
          return b.subarray(0, b.length === 0 ? 0 : cut % (b.length + 1));
        }),
      ),
  );
  for (const { codec } of allMessages) {
    it(`${codec.name}`, () => {
      fc.assert(
        fc.property(bytesArb, (bytes) => {
          let m: unknown;
          try {
            m = decodeBody(codec, bytes);
          } catch (e) {
            rethrowUnlessWire(e);
            return;
          }
          // Whatever decodes re-encodes, and decoding that is stable.
          const again = encodeMessage(codec, m);
          const [, size] = peekVarint(again, 0)!;
          assert.deepStrictEqual(decodeBody(codec, again.subarray(size)), m);
        }),
        { numRuns: 2000 },
      );
    });
  }
});

describe("property: ChunkBuffer fed random bytes only ever throws WireError", () => {
  const op = fc.oneof(
    fc.constant({ op: "byte" as const }),
    fc.record({ op: fc.constant("frame" as const), max: fc.oneof(fc.nat({ max: 64 }), fc.nat()) }),
    fc.record({
      op: fc.constant("message" as const),
      codec: fc.nat({ max: allMessages.length - 1 }),
      max: fc.oneof(fc.nat({ max: 64 }), fc.nat()),
    }),
    fc.constant({ op: "end" as const }),
  );

  it("random chunks, random operations, random caps", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 24 }), { maxLength: 12 }),
        fc.array(op, { minLength: 1, maxLength: 30 }),
        (chunks, ops) => {
          const cb = new ChunkBuffer();
          let pushed = 0;
          let i = 0;
          for (const o of ops) {
            if (i < chunks.length) {
              pushed += chunks[i]!.length;
              cb.push(chunks[i++]!);
            }
            const before = cb.available;
            try {
              if (o.op === "byte") cb.tryByte();
              else if (o.op === "frame") {
                const f = cb.tryFrame(o.max);
                if (f !== undefined) assert.ok(f.length <= o.max);
              } else if (o.op === "message") cb.tryMessage(allMessages[o.codec]!.codec, o.max);
              else cb.assertEmpty("fuzz");
            } catch (e) {
              rethrowUnlessWire(e);
            }
            assert.ok(cb.available <= before && cb.available >= 0);
          }
          assert.ok(cb.available <= pushed);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("a valid stream of frames and messages survives random chunking", () => {
    fc.assert(
      fc.property(
        subscribe,
        fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (sub, frames, cutsRaw) => {
          const w = new Writer().u8(2);
          appendMessage(w, Subscribe, sub);
          for (const f of frames) w.raw(encodeFrame(f));
          const bytes = w.bytes();
          const cuts = [...new Set(cutsRaw.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const points = [0, ...cuts, bytes.length];
          const cb = new ChunkBuffer();
          const got: unknown[] = [];
          let stage = 0;
          for (let k = 0; k + 1 < points.length; k++) {
            cb.push(bytes.subarray(points[k]!, points[k + 1]!));
            for (;;) {
              if (stage === 0) {
                const b = cb.tryByte();
                if (b === undefined) break;
                got.push(b);
              } else if (stage === 1) {
                const m = cb.tryMessage(Subscribe, 1 << 20);
                if (m === undefined) break;
                got.push(m);
              } else {
                if (stage - 2 >= frames.length) break;
                const f = cb.tryFrame(100);
                if (f === undefined) break;
                got.push(f.slice());
              }
              stage++;
            }
          }
          cb.assertEmpty("stream");
          assert.deepStrictEqual(got, [2, sub, ...frames]);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
