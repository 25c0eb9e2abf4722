import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  Announce,
  AnnounceInit,
  AnnouncePlease,
  Group,
  PARAM_PATH,
  Reader,
  SessionClient,
  SessionServer,
  SessionUpdate,
  Subscribe,
  SubscribeOk,
  SubscribeUpdate,
  WireError,
  Writer,
  appendMessage,
  decodeBody,
  encodeMessage,
  getStringParameter,
  peekVarint,
  setStringParameter,
  stringLen,
  utf8Length,
  varintLen,
  type Codec,
  type Parameters,
  type WireErrorKind,
} from "./index.js";
import { bytesToHex, hexToBytes } from "../../test/support/vectors.js";

const utf8 = new TextEncoder();
const V = 0xfeedbabe;

function isWire(kind: WireErrorKind) {
  return (e: unknown) => {
    assert.ok(WireError.is(e), `expected a WireError, got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    return true;
  };
}

/** The body of an encoded message (length prefix stripped and checked). */
function bodyOf<M>(codec: Codec<M>, m: M): Uint8Array {
  const bytes = encodeMessage(codec, m);
  const [len, size] = peekVarint(bytes, 0)!;
  assert.equal(len, bytes.length - size);
  return bytes.subarray(size);
}

function fromHex<M>(codec: Codec<M>, hex: string): M {
  return decodeBody(codec, hexToBytes(hex));
}

function params(entries: [number, string][]): Parameters {
  return new Map(entries.map(([k, v]) => [k, utf8.encode(v)]));
}

interface Case {
  name: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- heterogeneous table
  codec: Codec<any>;
  value: unknown;
}

const CASES: Case[] = [
  { name: "SESSION_CLIENT no params", codec: SessionClient, value: { versions: [V], parameters: new Map() } },
  {
    name: "SESSION_CLIENT no versions",
    codec: SessionClient,
    value: { versions: [], parameters: new Map() },
  },
  {
    name: "SESSION_CLIENT several versions and params",
    codec: SessionClient,
    value: {
      versions: [0, 63, 64, 16384, V, Number.MAX_SAFE_INTEGER],
      parameters: new Map([
        [PARAM_PATH, utf8.encode("/päth/日本")],
        [0x02, new Uint8Array([])],
        [0x4000, new Uint8Array(300).fill(7)],
        [Number.MAX_SAFE_INTEGER, new Uint8Array([1, 2, 3])],
      ]),
    },
  },
  { name: "SESSION_SERVER", codec: SessionServer, value: { version: V, parameters: params([[1, "/x"]]) } },
  { name: "SESSION_SERVER version 0", codec: SessionServer, value: { version: 0, parameters: new Map() } },
  { name: "SESSION_UPDATE 0", codec: SessionUpdate, value: { bitrate: 0 } },
  { name: "SESSION_UPDATE max safe", codec: SessionUpdate, value: { bitrate: Number.MAX_SAFE_INTEGER } },
  { name: "ANNOUNCE_PLEASE empty", codec: AnnouncePlease, value: { prefix: "" } },
  { name: "ANNOUNCE_PLEASE unicode", codec: AnnouncePlease, value: { prefix: "/é/日本/🎥" } },
  { name: "ANNOUNCE_INIT empty", codec: AnnounceInit, value: { suffixes: [] } },
  {
    name: "ANNOUNCE_INIT several",
    codec: AnnounceInit,
    value: { suffixes: ["a", "", "b/c", "ü", "x".repeat(100)] },
  },
  { name: "ANNOUNCE active", codec: Announce, value: { status: 1, suffix: "live/cam" } },
  { name: "ANNOUNCE ended empty", codec: Announce, value: { status: 0, suffix: "" } },
  {
    name: "SUBSCRIBE",
    codec: Subscribe,
    value: { subscribeId: 7, broadcastPath: "/live", trackName: "video", trackPriority: 255 },
  },
  {
    name: "SUBSCRIBE bigint id",
    codec: Subscribe,
    value: { subscribeId: 2n ** 62n - 1n, broadcastPath: "", trackName: "", trackPriority: 0 },
  },
  { name: "SUBSCRIBE_OK", codec: SubscribeOk, value: {} },
  { name: "SUBSCRIBE_UPDATE 0", codec: SubscribeUpdate, value: { trackPriority: 0 } },
  { name: "SUBSCRIBE_UPDATE 200", codec: SubscribeUpdate, value: { trackPriority: 200 } },
  { name: "GROUP", codec: Group, value: { subscribeId: 1, groupSequence: 0 } },
  { name: "GROUP max", codec: Group, value: { subscribeId: 2n ** 53n, groupSequence: 2n ** 62n - 1n } },
];

describe("every message", () => {
  for (const c of CASES) {
    describe(c.name, () => {
      it("round-trips through encodeMessage / decodeBody", () => {
        assert.deepStrictEqual(decodeBody(c.codec, bodyOf(c.codec, c.value)), c.value);
      });

      it("every strict prefix of the body throws WireError(truncated)", () => {
        const body = bodyOf(c.codec, c.value);
        for (let n = 0; n < body.length; n++)
          assert.throws(
            () => decodeBody(c.codec, body.slice(0, n)),
            isWire("truncated"),
            `prefix of ${n}/${body.length}`,
          );
      });

      it("one extra byte throws WireError(trailing)", () => {
        const body = bodyOf(c.codec, c.value);
        for (const extra of [0x00, 0x3f, 0xff]) {
          const longer = new Uint8Array(body.length + 1);
          longer.set(body);
          longer[body.length] = extra;
          assert.throws(() => decodeBody(c.codec, longer), isWire("trailing"));
        }
      });

      it("encodeMessage and appendMessage agree, and the length equals varintLen(body) + body", () => {
        const msg = encodeMessage(c.codec, c.value);
        const body = bodyOf(c.codec, c.value);
        assert.equal(msg.length, varintLen(body.length) + body.length);
        const w = new Writer(1).u8(0xaa);
        appendMessage(w, c.codec, c.value);
        assert.equal(bytesToHex(w.bytes()), "aa" + bytesToHex(msg));
      });
    });
  }

  it("encodeMessage returns a fresh buffer each time (not a view of shared scratch)", () => {
    const a = encodeMessage(AnnouncePlease, { prefix: "first" });
    const b = encodeMessage(AnnouncePlease, { prefix: "second-longer" });
    assert.deepStrictEqual(decodeBody(AnnouncePlease, a.subarray(1)), { prefix: "first" });
    assert.deepStrictEqual(decodeBody(AnnouncePlease, b.subarray(1)), { prefix: "second-longer" });
    assert.notEqual(a.buffer, b.buffer);
  });

  it("encodes a message bigger than the scratch buffer and a 2-byte length prefix", () => {
    const prefix = "p".repeat(5000);
    const msg = encodeMessage(AnnouncePlease, { prefix });
    assert.equal(msg.length, 2 + 2 + 5000);
    assert.equal(bytesToHex(msg.subarray(0, 4)), "538a5388");
    assert.deepStrictEqual(decodeBody(AnnouncePlease, msg.subarray(2)), { prefix });
  });

  it("a failed encode does not poison the next one", () => {
    assert.throws(() => encodeMessage(Group, { subscribeId: -1, groupSequence: 0 }), isWire("malformed"));
    assert.equal(bytesToHex(encodeMessage(Group, { subscribeId: 1, groupSequence: 0 })), "020100");
  });
});

describe("strings", () => {
  const cases: [string, string][] = [
    ["é", "02c3a9"],
    ["日本", "06e697a5e69cac"],
    ["😀", "04f09f9880"],
    ["a😀é", "0761f09f9880c3a9"],
    ["", "00"],
  ];
  for (const [s, hex] of cases) {
    it(`${JSON.stringify(s)} is length-prefixed by its UTF-8 byte count`, () => {
      assert.equal(bytesToHex(bodyOf(AnnouncePlease, { prefix: s })), hex);
      assert.equal(bytesToHex(bodyOf(Announce, { status: 1, suffix: s })), "01" + hex);
      assert.equal(utf8Length(s), utf8.encode(s).length);
      assert.equal(stringLen(s), hex.length / 2);
      assert.deepStrictEqual(fromHex(AnnouncePlease, hex), { prefix: s });
    });
  }

  it("non-ASCII SUBSCRIBE path/name: exact length bytes", () => {
    const body = bodyOf(Subscribe, {
      subscribeId: 1,
      broadcastPath: "/é",
      trackName: "日本😀",
      trackPriority: 1,
    });
    assert.equal(bytesToHex(body), "01" + "032fc3a9" + "0ae697a5e69cacf09f9880" + "01");
  });

  it("length prefix class is chosen from the byte count, not the UTF-16 length (provisional length shrinks)", () => {
    // ASCII: the writer reserves 3 bytes per unit, so 22..63 chars reserve a 2-byte length but need 1.
    for (const n of [21, 22, 63, 64, 5461, 5462, 16383, 16384]) {
      const s = "a".repeat(n);
      const body = bodyOf(AnnouncePlease, { prefix: s });
      assert.equal(body.length, varintLen(n) + n, `n=${n}`);
      assert.deepStrictEqual(peekVarint(body, 0), [n, varintLen(n)]);
      assert.deepStrictEqual(decodeBody(AnnouncePlease, body), { prefix: s });
    }
    // 21 × "é" = 42 bytes (1-byte length); 32 × "é" = 64 bytes (2-byte length).
    assert.equal(bytesToHex(bodyOf(AnnouncePlease, { prefix: "é".repeat(21) }).subarray(0, 1)), "2a");
    assert.equal(bytesToHex(bodyOf(AnnouncePlease, { prefix: "é".repeat(32) }).subarray(0, 2)), "4040");
    // 16 emoji = 64 bytes from 32 UTF-16 units.
    assert.equal(bytesToHex(bodyOf(AnnouncePlease, { prefix: "😀".repeat(16) }).subarray(0, 2)), "4040");
  });

  it("strings after other fields in a reused Writer keep earlier bytes intact", () => {
    const w = new Writer(2);
    w.varint(300).string("a".repeat(30)).string("é").varint(1);
    const r = new Reader(w.bytes());
    assert.equal(r.varint(), 300);
    assert.equal(r.string("a"), "a".repeat(30));
    assert.equal(r.string("b"), "é");
    assert.equal(r.varint(), 1);
    r.end("test");
  });

  it("lone surrogates are written as U+FFFD (3 bytes), like TextEncoder", () => {
    assert.equal(utf8Length("\ud800"), 3);
    assert.equal(bytesToHex(bodyOf(AnnouncePlease, { prefix: "\ud800" })), "03efbfbd");
    assert.equal(bytesToHex(bodyOf(AnnouncePlease, { prefix: "\udc00x" })), "04efbfbd78");
    assert.equal(stringLen("\ud800\ud800"), 7);
  });

  it("a leading BOM is kept, not stripped", () => {
    assert.deepStrictEqual(fromHex(AnnouncePlease, "03efbbbf"), { prefix: "\ufeff" });
  });

  for (const [what, hex] of [
    ["lone 0xff", "01ff"],
    ["truncated 2-byte sequence", "01c3"],
    ["overlong slash", "02c0af"],
    ["UTF-16 surrogate encoded in UTF-8", "03eda080"],
    ["above U+10FFFF", "04f4908080"],
    ["continuation byte first", "0180"],
  ]) {
    it(`invalid UTF-8 (${what}) is malformed`, () => {
      assert.throws(() => fromHex(AnnouncePlease, hex!), isWire("malformed"));
      assert.throws(() => fromHex(AnnounceInit, "01" + hex!), isWire("malformed"));
      assert.throws(() => fromHex(Announce, "00" + hex!), isWire("malformed"));
      assert.throws(() => fromHex(Subscribe, "01" + hex! + "0000"), isWire("malformed"));
      assert.throws(() => fromHex(Subscribe, "0100" + hex! + "00"), isWire("malformed"));
    });
  }

  it("a string length beyond the body is truncated; a length above 2^53-1 is malformed", () => {
    assert.throws(() => fromHex(AnnouncePlease, "05616263"), isWire("truncated"));
    assert.throws(() => fromHex(AnnouncePlease, "bfffffff"), isWire("truncated"));
    assert.throws(() => fromHex(AnnouncePlease, "ffffffffffffffff"), isWire("malformed"));
  });
});

describe("parameters", () => {
  it("accepts any order on the wire", () => {
    // count 2: key 2 = "b", key 1 = "/a"
    const p = fromHex(SessionServer, "01" + "02" + "020162" + "01022f61").parameters;
    assert.equal(p.size, 2);
    assert.equal(getStringParameter(p, 1), "/a");
    assert.equal(getStringParameter(p, 2), "b");
  });

  it("a repeated key: the last one wins", () => {
    const p = fromHex(SessionClient, "00" + "03" + "0101" + "61" + "020162" + "010163").parameters;
    assert.equal(p.size, 2);
    assert.equal(getStringParameter(p, 1), "c");
    assert.equal(getStringParameter(p, 2), "b");
  });

  it("keys above 2^53-1 are skipped, the rest kept", () => {
    const p = fromHex(SessionServer, "00" + "02" + "ffffffffffffffff" + "0178" + "0101" + "79").parameters;
    assert.deepStrictEqual([...p.keys()], [1]);
    assert.equal(getStringParameter(p, 1), "y");
  });

  it("decoded values are copies, independent of the input buffer", () => {
    const buf = hexToBytes("00010103414243");
    const p = decodeBody(SessionServer, buf).parameters;
    buf.fill(0);
    assert.deepStrictEqual(p.get(1), utf8.encode("ABC"));
  });

  it("values are raw bytes; getStringParameter returns undefined for invalid UTF-8 and missing keys", () => {
    const p = fromHex(SessionServer, "00" + "02" + "0102fffe" + "0200").parameters;
    assert.deepStrictEqual(p.get(1), new Uint8Array([0xff, 0xfe]));
    assert.equal(getStringParameter(p, 1), undefined);
    assert.equal(getStringParameter(p, 2), "");
    assert.equal(getStringParameter(p, 3), undefined);
  });

  it("setStringParameter stores UTF-8; BOMs survive getStringParameter", () => {
    const p: Parameters = new Map();
    setStringParameter(p, PARAM_PATH, "/日本");
    assert.deepStrictEqual(p.get(PARAM_PATH), utf8.encode("/日本"));
    setStringParameter(p, 2, "\ufeff/x");
    assert.equal(getStringParameter(p, 2), "\ufeff/x");
  });

  it("encodes in Map insertion order", () => {
    const p = params([
      [2, "b"],
      [1, "a"],
    ]);
    assert.equal(
      bytesToHex(bodyOf(SessionServer, { version: 1, parameters: p })),
      "01" + "02" + "020162" + "010161",
    );
  });

  it("a parameter count that cannot fit (2 bytes each) fails before reading entries", () => {
    assert.throws(() => fromHex(SessionServer, "00" + "02" + "0100"), isWire("truncated"));
    assert.throws(() => fromHex(SessionServer, "00" + "03" + "01000200"), isWire("truncated"));
  });
});

describe("SESSION_CLIENT / SESSION_SERVER / SESSION_UPDATE specifics", () => {
  it("versions above 2^53-1 are dropped from the list, not fatal", () => {
    const m = fromHex(SessionClient, "02" + "ffffffffffffffff" + "c0000000feedbabe" + "00");
    assert.deepStrictEqual(m.versions, [V]);
  });

  it("non-minimal version varints decode", () => {
    assert.deepStrictEqual(fromHex(SessionClient, "01" + "c000000000000001" + "00").versions, [1]);
  });

  it("SESSION_SERVER version or SESSION_UPDATE bitrate above 2^53-1 is malformed", () => {
    assert.throws(() => fromHex(SessionServer, "c020000000000000" + "00"), isWire("malformed"));
    assert.throws(() => fromHex(SessionUpdate, "c020000000000000"), isWire("malformed"));
  });
});

describe("ANNOUNCE status", () => {
  for (const [what, hex] of [
    ["2 (LIVE, commented out in gomoqt)", "02"],
    ["63", "3f"],
    ["non-minimal 2", "4002"],
    ["2^40", "c000010000000000"],
    ["2^62-1 (bigint)", "ffffffffffffffff"],
  ]) {
    it(`status ${what} is invalid-value`, () => {
      assert.throws(() => fromHex(Announce, hex + "00"), isWire("invalid-value"));
    });
  }
  it("non-minimal 0 and 1 are accepted", () => {
    assert.deepStrictEqual(fromHex(Announce, "4001" + "00"), { status: 1, suffix: "" });
    assert.deepStrictEqual(fromHex(Announce, "c000000000000000" + "0161"), { status: 0, suffix: "a" });
  });
});

describe("SUBSCRIBE / SUBSCRIBE_UPDATE priority", () => {
  it("priority 63 is 1 byte, 64 and 128 are 2 bytes, 255 is 2 bytes", () => {
    const last = (p: number) => bytesToHex(bodyOf(SubscribeUpdate, { trackPriority: p }));
    assert.equal(last(63), "3f");
    assert.equal(last(64), "4040");
    assert.equal(last(128), "4080");
    assert.equal(last(255), "40ff");
    assert.equal(
      bytesToHex(bodyOf(Subscribe, { subscribeId: 1, broadcastPath: "", trackName: "", trackPriority: 128 })),
      "0100004080",
    );
  });

  it("priority > 255 on the wire is truncated to 8 bits, like gomoqt's uint8 conversion", () => {
    const cases: [string, number][] = [
      ["4100", 0],
      ["4101", 1],
      ["41ff", 255],
      ["7fff", 255],
      ["80010080", 128],
      ["c000000100000005", 5],
      ["ffffffffffffffff", 255],
      ["fffffffffffffff0", 0xf0],
    ];
    for (const [hex, p] of cases) {
      assert.deepStrictEqual(fromHex(SubscribeUpdate, hex), { trackPriority: p }, hex);
      assert.equal(fromHex(Subscribe, "010000" + hex).trackPriority, p, hex);
    }
  });

  it("encoding a priority > 255 writes its low 8 bits", () => {
    assert.equal(bytesToHex(bodyOf(SubscribeUpdate, { trackPriority: 256 + 7 })), "07");
  });
});

describe("SUBSCRIBE_OK", () => {
  it("is the single byte 00", () => {
    assert.equal(bytesToHex(encodeMessage(SubscribeOk, {})), "00");
    assert.deepStrictEqual(decodeBody(SubscribeOk, new Uint8Array(0)), {});
  });
  it("a non-empty body is trailing", () => {
    for (const hex of ["00", "01", "0000", "c0000000feedbabe"])
      assert.throws(() => fromHex(SubscribeOk, hex), isWire("trailing"), hex);
  });
});

describe("GROUP", () => {
  it("sequence 2^62-1 round-trips as a bigint", () => {
    const body = bodyOf(Group, { subscribeId: 1, groupSequence: 2n ** 62n - 1n });
    assert.equal(bytesToHex(body), "01ffffffffffffffff");
    const m = decodeBody(Group, body);
    assert.equal(typeof m.groupSequence, "bigint");
    assert.equal(m.groupSequence, 2n ** 62n - 1n);
  });
  it("a bigint below 2^53 decodes as a number", () => {
    const m = decodeBody(Group, bodyOf(Group, { subscribeId: 5n, groupSequence: 2n ** 53n - 1n }));
    assert.deepStrictEqual(m, { subscribeId: 5, groupSequence: Number.MAX_SAFE_INTEGER });
  });
  it("2^53 decodes as a bigint", () => {
    assert.deepStrictEqual(fromHex(Group, "00c020000000000000"), {
      subscribeId: 0,
      groupSequence: 2n ** 53n,
    });
  });
});

describe("counts that cannot fit the remaining bytes fail fast", () => {
  const huge = [
    ["2^30-1", "bfffffff"],
    ["2^53-1", "c01fffffffffffff"],
  ];
  for (const [what, count] of huge) {
    it(`count ${what}`, () => {
      const t0 = performance.now();
      assert.throws(() => fromHex(AnnounceInit, count!), isWire("truncated"));
      assert.throws(() => fromHex(AnnounceInit, count! + "00"), isWire("truncated"));
      assert.throws(() => fromHex(SessionClient, count! + "00"), isWire("truncated"));
      assert.throws(() => fromHex(SessionServer, "01" + count!), isWire("truncated"));
      assert.throws(() => fromHex(SessionClient, "00" + count!), isWire("truncated"));
      assert.ok(performance.now() - t0 < 50, "no per-element work before the check");
    });
  }
  it("a count above 2^53-1 is malformed", () => {
    assert.throws(() => fromHex(AnnounceInit, "ffffffffffffffff"), isWire("malformed"));
    assert.throws(() => fromHex(SessionClient, "ffffffffffffffff00"), isWire("malformed"));
  });
  it("a count exactly fitting 1-byte elements decodes", () => {
    assert.deepStrictEqual(fromHex(AnnounceInit, "03000000"), { suffixes: ["", "", ""] });
    assert.deepStrictEqual(fromHex(SessionClient, "0301020300").versions, [1, 2, 3]);
  });
});

describe("Writer / Reader", () => {
  it("Writer(0) grows instead of looping forever", () => {
    const w = new Writer(0);
    w.u8(1).varint(300).raw(new Uint8Array(100));
    assert.equal(w.length, 1 + 2 + 100);
  });
  it("reset keeps capacity; view is a view, bytes is a copy", () => {
    const w = new Writer(4).u8(1).u8(2);
    const v = w.view();
    const b = w.bytes();
    w.reset();
    w.u8(9);
    assert.equal(v[0], 9);
    assert.equal(b[0], 1);
    assert.equal(w.length, 1);
  });
  it("u8 masks to a byte; bytesField prefixes the length", () => {
    assert.equal(bytesToHex(new Writer().u8(0x1ff).bytes()), "ff");
    assert.equal(bytesToHex(new Writer().bytesField(new Uint8Array([1, 2])).bytes()), "020102");
  });
  it("Reader.u8, bytes (a view), remaining and end", () => {
    const buf = hexToBytes("aa02bbcc");
    const r = new Reader(buf);
    assert.equal(r.u8(), 0xaa);
    assert.equal(r.remaining, 3);
    const b = r.bytes("x");
    assert.equal(b.buffer, buf.buffer);
    assert.deepStrictEqual([...b], [0xbb, 0xcc]);
    r.end("x");
    assert.throws(() => r.u8(), isWire("truncated"));
    const r2 = new Reader(hexToBytes("00"));
    assert.throws(() => r2.end("x"), isWire("trailing"));
  });
  it("WireError.is recognises only WireErrors", () => {
    const e = new WireError("malformed", "x");
    assert.ok(WireError.is(e));
    assert.ok(e instanceof Error);
    assert.equal(e.name, "WireError");
    assert.match(e.message, /^moqt wire: x$/);
    assert.equal(WireError.is(new Error("x")), false);
    assert.equal(WireError.is(null), false);
    assert.equal(WireError.is("x"), false);
  });
});
