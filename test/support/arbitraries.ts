/** fast-check arbitraries for every wire message, generating values in their *decoded* (normalised) shape:
 *  varints are `number` up to 2^53-1 and `bigint` only above, so `decode(encode(x))` deep-equals `x`.
 *  @module */
import fc from "fast-check";
import {
  Announce,
  AnnounceInit,
  AnnouncePlease,
  Group,
  SessionClient,
  SessionServer,
  SessionUpdate,
  Subscribe,
  SubscribeOk,
  SubscribeUpdate,
  type Codec,
  type Parameters,
  type VarInt,
} from "../../src/wire/index.js";

/** Any well-formed Unicode string (full code point range, including astral characters, no lone surrogates). */
export const text = (maxLength = 40): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ unit: "grapheme", maxLength }),
    fc.string({ unit: "binary", maxLength }),
    fc.string({ unit: "grapheme-ascii", maxLength }),
  );

/** fc.record with ordinary (Object.prototype) objects, so deepStrictEqual matches decoded values. */
function record<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;
}

/** A safe varint (`number`). */
export const safeNat: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 0, max: 63 }),
  fc.integer({ min: 64, max: 16383 }),
  fc.nat(),
  fc.maxSafeNat(),
  fc.constantFrom(0, 63, 64, 16383, 16384, 2 ** 30 - 1, 2 ** 30, Number.MAX_SAFE_INTEGER),
);

/** Any varint in its normalised decoded form: number when safe, bigint above 2^53-1. */
export const varint: fc.Arbitrary<VarInt> = fc.oneof(
  fc.nat(),
  safeNat,
  fc.bigInt({ min: 2n ** 53n, max: 2n ** 62n - 1n }),
  fc.constantFrom<VarInt>(2n ** 53n, 2n ** 62n - 1n),
);

export const priority: fc.Arbitrary<number> = fc.integer({ min: 0, max: 255 });

export const parameters: fc.Arbitrary<Parameters> = fc
  .uniqueArray(fc.tuple(safeNat, fc.uint8Array({ maxLength: 40 })), { selector: ([k]) => k, maxLength: 6 })
  .map((entries) => new Map(entries));

export const sessionClient: fc.Arbitrary<SessionClient> = record({
  versions: fc.array(safeNat, { maxLength: 6 }),
  parameters,
});

export const sessionServer: fc.Arbitrary<SessionServer> = record({ version: safeNat, parameters });

export const sessionUpdate: fc.Arbitrary<SessionUpdate> = record({ bitrate: safeNat });

export const announcePlease: fc.Arbitrary<AnnouncePlease> = record({ prefix: text() });

export const announceInit: fc.Arbitrary<AnnounceInit> = record({
  suffixes: fc.array(text(), { maxLength: 8 }),
});

export const announce: fc.Arbitrary<Announce> = record({
  status: fc.constantFrom<0 | 1>(0, 1),
  suffix: text(),
});

export const subscribe: fc.Arbitrary<Subscribe> = record({
  subscribeId: varint,
  broadcastPath: text(),
  trackName: text(),
  trackPriority: priority,
});

export const subscribeOk: fc.Arbitrary<SubscribeOk> = fc.constant({});

export const subscribeUpdate: fc.Arbitrary<SubscribeUpdate> = record({ trackPriority: priority });

export const group: fc.Arbitrary<Group> = record({ subscribeId: varint, groupSequence: varint });

/** Every codec paired with its arbitrary. */
export interface CodecArb<M> {
  readonly codec: Codec<M>;
  readonly arb: fc.Arbitrary<M>;
}

function pair<M>(codec: Codec<M>, arb: fc.Arbitrary<M>): CodecArb<unknown> {
  return { codec, arb } as unknown as CodecArb<unknown>;
}

export const allMessages: readonly CodecArb<unknown>[] = [
  pair(SessionClient, sessionClient),
  pair(SessionServer, sessionServer),
  pair(SessionUpdate, sessionUpdate),
  pair(AnnouncePlease, announcePlease),
  pair(AnnounceInit, announceInit),
  pair(Announce, announce),
  pair(Subscribe, subscribe),
  pair(SubscribeOk, subscribeOk),
  pair(SubscribeUpdate, subscribeUpdate),
  pair(Group, group),
];
