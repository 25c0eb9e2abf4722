import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  Announce,
  AnnounceInit,
  AnnouncePlease,
  BiStreamType,
  ChunkBuffer,
  Group,
  SessionClient,
  SessionServer,
  SessionUpdate,
  Subscribe,
  SubscribeOk,
  SubscribeUpdate,
  UniStreamType,
  Writer,
  appendMessage,
  decodeBody,
  encodeFrame,
  encodeMessage,
  peekVarint,
  type Codec,
} from "./index.js";
import {
  bytesToHex,
  frameVectors,
  hexToBytes,
  messageVectors,
  vectorCount,
} from "../../test/support/vectors.js";

const MAX = 1 << 20;
const utf8 = new TextEncoder();

/** Strip the varint length prefix and check it matches the rest of the buffer exactly. */
function body(bytes: Uint8Array): Uint8Array {
  const p = peekVarint(bytes, 0);
  assert.ok(p, "length prefix present");
  const [len, size] = p;
  assert.equal(len, bytes.length - size, "length prefix covers exactly the body");
  return bytes.subarray(size);
}

const EXPECTED_PREFIX: Record<string, number> = {
  SESSION_CLIENT: BiStreamType.Session,
  ANNOUNCE_PLEASE: BiStreamType.Announce,
  SUBSCRIBE: BiStreamType.Subscribe,
  GROUP: UniStreamType.Group,
};

describe("gomoqt-dev.json vectors", () => {
  it("loads every vector (messages + frames)", () => {
    assert.equal(messageVectors.length + frameVectors.length, vectorCount);
    assert.ok(messageVectors.length >= 14);
    assert.ok(frameVectors.length >= 1);
    const seen = new Set(messageVectors.map((v) => v.message));
    for (const m of [
      "SESSION_CLIENT",
      "SESSION_SERVER",
      "SESSION_UPDATE",
      "ANNOUNCE_PLEASE",
      "ANNOUNCE_INIT",
      "ANNOUNCE",
      "SUBSCRIBE",
      "SUBSCRIBE_OK",
      "SUBSCRIBE_UPDATE",
      "GROUP",
    ])
      assert.ok(seen.has(m), `a vector for ${m}`);
  });

  for (const v of messageVectors) {
    describe(v.name, () => {
      it("encodes to exactly hex", () => {
        assert.equal(bytesToHex(encodeMessage(v.codec, v.value)), v.hex);
      });
      it("appendMessage after the stream prefix gives prefix || hex", () => {
        const w = new Writer(4);
        if (v.streamPrefixHex !== undefined) w.raw(hexToBytes(v.streamPrefixHex));
        appendMessage(w, v.codec, v.value);
        assert.equal(bytesToHex(w.bytes()), (v.streamPrefixHex ?? "") + v.hex);
      });
      it("decodes via decodeBody after stripping the length", () => {
        assert.deepStrictEqual(decodeBody(v.codec, body(hexToBytes(v.hex))), v.value);
      });
      it("decodes via ChunkBuffer.tryMessage (whole, then byte by byte)", () => {
        const whole = new ChunkBuffer();
        whole.push(hexToBytes(v.hex));
        assert.deepStrictEqual(whole.tryMessage(v.codec, MAX), v.value);
        assert.equal(whole.available, 0);
        whole.assertEmpty(v.name);

        const bytes = hexToBytes(v.hex);
        const cb = new ChunkBuffer();
        let got: unknown;
        for (let i = 0; i < bytes.length; i++) {
          assert.equal(got, undefined, "nothing decoded before the last byte");
          cb.push(bytes.subarray(i, i + 1));
          got = cb.tryMessage(v.codec, MAX);
        }
        assert.deepStrictEqual(got, v.value);
      });
      if (v.streamPrefixHex !== undefined) {
        it("stream prefix byte matches the stream type", () => {
          const prefix = hexToBytes(v.streamPrefixHex!);
          assert.equal(prefix.length, 1, "the stream type is one raw byte");
          const expected = EXPECTED_PREFIX[v.message];
          assert.notEqual(expected, undefined, `${v.message} opens a stream`);
          assert.equal(prefix[0], expected);
          const cb = new ChunkBuffer();
          cb.push(hexToBytes(v.streamPrefixHex! + v.hex));
          assert.equal(cb.tryByte(), expected);
          assert.deepStrictEqual(cb.tryMessage(v.codec, MAX), v.value);
          cb.assertEmpty(v.name);
        });
      }
    });
  }

  for (const f of frameVectors) {
    it(`frame ${f.name}: encodes to hex and decodes back`, () => {
      assert.equal(bytesToHex(encodeFrame(f.payload)), f.hex);
      const cb = new ChunkBuffer();
      cb.push(hexToBytes(f.hex));
      assert.deepStrictEqual(cb.tryFrame(MAX), f.payload);
      cb.assertEmpty(f.name);
    });
  }
});

/** A stream described as a list of expected items, decoded with a ChunkBuffer. */
type Item =
  | { kind: "byte"; value: number }
  | { kind: "message"; codec: Codec<unknown>; value: unknown }
  | { kind: "frame"; value: Uint8Array };

function decodeStream(bytes: Uint8Array, items: Item[]): void {
  const cb = new ChunkBuffer();
  cb.push(bytes);
  for (const it of items) {
    if (it.kind === "byte") assert.equal(cb.tryByte(), it.value);
    else if (it.kind === "message") assert.deepStrictEqual(cb.tryMessage(it.codec, MAX), it.value);
    else assert.deepStrictEqual(cb.tryFrame(MAX), it.value);
  }
  cb.assertEmpty("stream");
}

function msg<M>(codec: Codec<M>, value: M): Item {
  return { kind: "message", codec: codec as Codec<unknown>, value };
}

function encodeStream(items: Item[]): string {
  const w = new Writer();
  for (const it of items) {
    if (it.kind === "byte") w.u8(it.value);
    else if (it.kind === "message") appendMessage(w, it.codec, it.value);
    else w.raw(encodeFrame(it.value));
  }
  return bytesToHex(w.bytes());
}

function example(name: string, hex: string, items: Item[]): void {
  it(name, () => {
    const want = hex.replace(/\s+/g, "").toLowerCase();
    assert.equal(encodeStream(items), want, "encode");
    decodeStream(hexToBytes(want), items);
  });
}

describe("gomoqt.md §1.10 worked hex examples", () => {
  const V = 0xfeedbabe;
  example("SESSION_CLIENT over WebTransport", "00 0A 01 C0 00 00 00 FE ED BA BE 00", [
    { kind: "byte", value: BiStreamType.Session },
    msg(SessionClient, { versions: [V], parameters: new Map() }),
  ]);
  example(
    "SESSION_CLIENT over native QUIC with path",
    "00 17 01 C0 00 00 00 FE ED BA BE 01 01 0B 2F 6E 61 74 69 76 65 71 75 69 63",
    [
      { kind: "byte", value: BiStreamType.Session },
      msg(SessionClient, { versions: [V], parameters: new Map([[1, utf8.encode("/nativequic")]]) }),
    ],
  );
  example("SESSION_SERVER", "09 C0 00 00 00 FE ED BA BE 00", [
    msg(SessionServer, { version: V, parameters: new Map() }),
  ]);
  example("SESSION_UPDATE 1 000 000", "04 80 0F 42 40", [msg(SessionUpdate, { bitrate: 1_000_000 })]);
  example(
    "SUBSCRIBE from the Go interop client",
    "02 13 01 0F 2F 69 6E 74 65 72 6F 70 2F 73 65 72 76 65 72 00 00",
    [
      { kind: "byte", value: BiStreamType.Subscribe },
      msg(Subscribe, { subscribeId: 1, broadcastPath: "/interop/server", trackName: "", trackPriority: 0 }),
    ],
  );
  example("SUBSCRIBE priority 128", "02 0F 01 05 2F 6C 69 76 65 05 76 69 64 65 6F 40 80", [
    { kind: "byte", value: BiStreamType.Subscribe },
    msg(Subscribe, { subscribeId: 1, broadcastPath: "/live", trackName: "video", trackPriority: 128 }),
  ]);
  example("SUBSCRIBE_OK", "00", [msg(SubscribeOk, {})]);
  example("SUBSCRIBE_UPDATE priority 5", "01 05", [msg(SubscribeUpdate, { trackPriority: 5 })]);
  example(
    "subscribe stream: SUBSCRIBE, SUBSCRIBE_OK, SUBSCRIBE_UPDATE",
    "02 0F 01 05 2F 6C 69 76 65 05 76 69 64 65 6F 40 80 00 01 05",
    [
      { kind: "byte", value: BiStreamType.Subscribe },
      msg(Subscribe, { subscribeId: 1, broadcastPath: "/live", trackName: "video", trackPriority: 128 }),
      msg(SubscribeOk, {}),
      msg(SubscribeUpdate, { trackPriority: 5 }),
    ],
  );
  example("group stream with two frames", "00 02 01 00 05 48 45 4C 4C 4F 06 57 4F 52 4C 44 21", [
    { kind: "byte", value: UniStreamType.Group },
    msg(Group, { subscribeId: 1, groupSequence: 0 }),
    { kind: "frame", value: utf8.encode("HELLO") },
    { kind: "frame", value: utf8.encode("WORLD!") },
  ]);
  example("ANNOUNCE_PLEASE prefix /", "01 02 01 2F", [
    { kind: "byte", value: BiStreamType.Announce },
    msg(AnnouncePlease, { prefix: "/" }),
  ]);
  example("ANNOUNCE_INIT empty", "01 00", [msg(AnnounceInit, { suffixes: [] })]);
  example("ANNOUNCE_INIT [interop/server]", "10 01 0E 69 6E 74 65 72 6F 70 2F 73 65 72 76 65 72", [
    msg(AnnounceInit, { suffixes: ["interop/server"] }),
  ]);
  example("ANNOUNCE ACTIVE interop/client", "10 01 0E 69 6E 74 65 72 6F 70 2F 63 6C 69 65 6E 74", [
    msg(Announce, { status: 1, suffix: "interop/client" }),
  ]);
  example("ANNOUNCE ENDED interop/client", "10 00 0E 69 6E 74 65 72 6F 70 2F 63 6C 69 65 6E 74", [
    msg(Announce, { status: 0, suffix: "interop/client" }),
  ]);
  example(
    "whole announce stream: prefix, ANNOUNCE_PLEASE, ANNOUNCE_INIT, ANNOUNCE ACTIVE, ANNOUNCE ENDED",
    "01 02 01 2F 10 01 0E 69 6E 74 65 72 6F 70 2F 73 65 72 76 65 72 " +
      "10 01 0E 69 6E 74 65 72 6F 70 2F 63 6C 69 65 6E 74 10 00 0E 69 6E 74 65 72 6F 70 2F 63 6C 69 65 6E 74",
    [
      { kind: "byte", value: BiStreamType.Announce },
      msg(AnnouncePlease, { prefix: "/" }),
      msg(AnnounceInit, { suffixes: ["interop/server"] }),
      msg(Announce, { status: 1, suffix: "interop/client" }),
      msg(Announce, { status: 0, suffix: "interop/client" }),
    ],
  );
});
