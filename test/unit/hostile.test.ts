/** Hostile and broken peers, played by ScriptedPeer on one end of the memory pair against the library on the other:
 *  every case ends with the documented code (gomoqt.md §1.9 / our session code), and never crashes, hangs or grows
 *  memory without bound. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  AnnounceError,
  AnnounceErrorCode,
  GroupError,
  GroupErrorCode,
  SessionError,
  SessionErrorCode,
  SubscribeErrorCode,
  TrackMux,
  acceptTransport,
  dialTransport,
  newMemoryTransportPair,
  type Session,
} from "../../src/index.js";
import {
  Announce,
  AnnounceInit,
  AnnouncePlease,
  BiStreamType,
  Group,
  SessionClient,
  SessionUpdate,
  Subscribe,
  SubscribeOk,
  UniStreamType,
  Writer,
  encodeMessage,
} from "../../src/wire/index.js";
import { ScriptedPeer, bytes, streamPrefix, libClient, libServer } from "../support/scripted_peer.js";
import { aborted, defer, enc, rejection } from "./helpers.js";

const T = { timeout: 10_000 };

// ---- guards: no uncaught exception or unhandled rejection anywhere in this file
const escaped: unknown[] = [];
const onEscape = (e: unknown) => escaped.push(e);
before(() => {
  process.on("unhandledRejection", onEscape);
  process.on("uncaughtException", onEscape);
});
after(() => {
  process.off("unhandledRejection", onEscape);
  process.off("uncaughtException", onEscape);
});
async function assertNothingEscaped(): Promise<void> {
  // Unhandled rejections are reported after the microtask queue drains; give the loop two turns.
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(escaped, [], `escaped: ${escaped.map(String).join("; ")}`);
}

async function done(peer: ScriptedPeer, session: Session): Promise<void> {
  peer.close(0, "");
  await session.closed;
}

const subscribeMsg = (id: number, path: string, name = "t", priority = 0) =>
  streamPrefix(BiStreamType.Subscribe, Subscribe, {
    subscribeId: id,
    broadcastPath: path,
    trackName: name,
    trackPriority: priority,
  });

// ---- stream types

test("unknown bidi stream type closes the session with ProtocolViolation (3)", T, async () => {
  const { peer, session } = await libServer();
  await peer.openBi(bytes(0x07));
  assert.equal((await peer.closed).closeCode, SessionErrorCode.ProtocolViolation);
  const e = await session.closed;
  assert.equal(e?.code, SessionErrorCode.ProtocolViolation);
  assert.equal(e?.remote, false);
});

test("a second session stream (bidi type 0 after setup) closes the session with 3", T, async () => {
  const { peer, session } = await libServer();
  await peer.openBi(bytes(BiStreamType.Session));
  assert.equal((await peer.closed).closeCode, SessionErrorCode.ProtocolViolation);
  await session.closed;
});

test("unknown uni stream type closes the session with ProtocolViolation (3)", T, async () => {
  const { peer, session } = await libServer();
  await peer.openUni(bytes(0x05));
  assert.equal((await peer.closed).closeCode, SessionErrorCode.ProtocolViolation);
  assert.equal((await session.closed)?.code, SessionErrorCode.ProtocolViolation);
});

test("a group for an unknown subscribe id is stopped with InvalidSubscribeID (7)", T, async () => {
  const { peer, session } = await libServer();
  const g = await peer.openUni(
    streamPrefix(UniStreamType.Group, Group, { subscribeId: 99, groupSequence: 0 }),
    bytes(3, 1, 2, 3),
  );
  assert.equal(await g.stopped, GroupErrorCode.InvalidSubscribeID);
  assert.equal(session.signal.aborted, false);
  await done(peer, session);
});

// ---- subscribe stream

test("malformed SUBSCRIBE is reset with Internal (0)", T, async () => {
  const { peer, session } = await libServer();
  // Body of 2 bytes: subscribe id 5, then a string length 9 that runs past the body.
  const s = await peer.openBi(bytes(BiStreamType.Subscribe, 2, 5, 9));
  assert.deepEqual(await s.recv.end(), { kind: "reset", code: SubscribeErrorCode.Internal });
  assert.equal(await s.send.stopped, SubscribeErrorCode.Internal);
  assert.equal(session.signal.aborted, false);
  await done(peer, session);
});

test("SUBSCRIBE for an unknown path is reset with TrackNotFound (3)", T, async () => {
  const { peer, session } = await libServer();
  const s = await peer.openBi(subscribeMsg(1, "/nope"));
  assert.deepEqual(await s.recv.end(), { kind: "reset", code: SubscribeErrorCode.TrackNotFound });
  assert.equal(await s.send.stopped, SubscribeErrorCode.TrackNotFound);
  await done(peer, session);
});

test("SUBSCRIBE with a path not starting with '/' is not found (3), not a crash", T, async () => {
  const { peer, session } = await libServer();
  const s = await peer.openBi(subscribeMsg(1, "relative"));
  assert.deepEqual(await s.recv.end(), { kind: "reset", code: SubscribeErrorCode.TrackNotFound });
  await done(peer, session);
});

test(
  "a duplicate subscribe id is reset with DuplicateSubscribeID (2); the first subscription is untouched",
  T,
  async () => {
    const mux = new TrackMux();
    const served = defer();
    mux.publishFunc(undefined, "/live", async (tw) => {
      await tw.writeInfo();
      served.resolve();
      await aborted(tw.signal);
    });
    const { peer, session } = await libServer({}, mux);
    const s1 = await peer.openBi(subscribeMsg(4, "/live"));
    await s1.recv.message(SubscribeOk);
    await served.promise;
    const s2 = await peer.openBi(subscribeMsg(4, "/live"));
    assert.deepEqual(await s2.recv.end(), { kind: "reset", code: SubscribeErrorCode.DuplicateSubscribeID });
    assert.equal(s1.recv.ended, undefined);
    await done(peer, session);
  },
);

test("SUBSCRIBE_UPDATE garbage after SUBSCRIBE resets the subscription with Internal (0)", T, async () => {
  const mux = new TrackMux();
  const reason = defer<unknown>();
  mux.publishFunc(undefined, "/live", async (tw) => {
    await tw.writeInfo();
    reason.resolve(await aborted(tw.signal));
  });
  const { peer, session } = await libServer({}, mux);
  const s = await peer.openBi(subscribeMsg(1, "/live"));
  await s.recv.message(SubscribeOk);
  await s.send.write(bytes(1, 0x40)); // SUBSCRIBE_UPDATE body: a 2-byte varint cut after its first byte
  assert.deepEqual(await s.recv.end(), { kind: "reset", code: SubscribeErrorCode.Internal });
  const r = await reason.promise;
  assert.equal((r as { code?: number }).code, SubscribeErrorCode.Internal);
  await done(peer, session);
});

// ---- announce stream

test("ANNOUNCE_PLEASE with an invalid prefix is reset with InvalidPrefix (5)", T, async () => {
  const { peer, session } = await libServer();
  for (const prefix of ["live", "/a", ""]) {
    const s = await peer.openBi(streamPrefix(BiStreamType.Announce, AnnouncePlease, { prefix }));
    assert.deepEqual(await s.recv.end(), { kind: "reset", code: AnnounceErrorCode.InvalidPrefix }, prefix);
  }
  assert.equal(session.signal.aborted, false);
  await done(peer, session);
});

test("ANNOUNCE with status 2 resets the announce stream with InvalidAnnounceStatus (2)", T, async () => {
  const { peer, session } = await libClient();
  const arP = session.acceptAnnounce("/");
  const s = (await peer.acceptBi())!;
  assert.equal(await s.recv.byte(), BiStreamType.Announce);
  assert.deepEqual(await s.recv.message(AnnouncePlease), { prefix: "/" });
  await s.send.message(AnnounceInit, { suffixes: ["x"] });
  const ar = await arP;
  const x = await ar.receiveAnnouncement();
  const body = new Writer().varint(2).string("y").bytes(); // status 2 (LIVE, commented out in gomoqt)
  await s.send.write(new Writer().varint(body.length).raw(body).bytes());
  assert.deepEqual(await s.recv.end(), { kind: "reset", code: AnnounceErrorCode.InvalidAnnounceStatus });
  assert.equal(await s.send.stopped, AnnounceErrorCode.InvalidAnnounceStatus);
  const e = await rejection(ar.receiveAnnouncement());
  assert.ok(e instanceof AnnounceError);
  assert.equal(e.code, AnnounceErrorCode.InvalidAnnounceStatus);
  await x.ended; // announcements from a failed reader end
  await done(peer, session);
});

for (const [what, msgs] of [
  [
    "duplicate ACTIVE",
    [
      { status: 1, suffix: "a" },
      { status: 1, suffix: "a" },
    ],
  ],
  ["ACTIVE for an INIT suffix", [{ status: 1, suffix: "init" }]],
  ["ENDED for an unknown suffix", [{ status: 0, suffix: "never" }]],
] as const) {
  test(`${what} resets the announce stream with Duplicated (1)`, T, async () => {
    const { peer, session } = await libClient();
    const arP = session.acceptAnnounce("/");
    const s = (await peer.acceptBi())!;
    await s.recv.byte();
    await s.recv.message(AnnouncePlease);
    await s.send.message(AnnounceInit, { suffixes: ["init"] });
    const ar = await arP;
    for (const m of msgs) await s.send.message(Announce, m);
    assert.deepEqual(await s.recv.end(), { kind: "reset", code: AnnounceErrorCode.Duplicated });
    assert.equal(((await aborted(ar.signal)) as AnnounceError).code, AnnounceErrorCode.Duplicated);
    await done(peer, session);
  });
}

test("ACTIVE after ENDED for the same suffix is a new announcement", T, async () => {
  const { peer, session } = await libClient();
  const arP = session.acceptAnnounce("/p/");
  const s = (await peer.acceptBi())!;
  await s.recv.byte();
  await s.recv.message(AnnouncePlease);
  await s.send.message(AnnounceInit, { suffixes: ["a"] });
  const ar = await arP;
  const a1 = await ar.receiveAnnouncement();
  assert.equal(a1.broadcastPath, "/p/a");
  await s.send.message(Announce, { status: 0, suffix: "a" });
  await s.send.message(Announce, { status: 1, suffix: "a" });
  const a2 = await ar.receiveAnnouncement();
  assert.equal(a1.isActive(), false);
  assert.equal(a2.isActive(), true);
  // The responder's FIN ends the reader and its announcements.
  await s.send.fin();
  await a2.ended;
  await done(peer, session);
});

// ---- caps

test(
  "an oversize control message length prefix resets the stream without waiting for the body",
  T,
  async () => {
    // streamHeaderTimeout 0 = no timeout: only an immediate reaction to the prefix can end this stream.
    const { peer, session } = await libServer({ streamHeaderTimeout: 0, maxMessageBytes: 1 << 20 });
    const huge = new Writer()
      .u8(BiStreamType.Subscribe)
      .varint(2 ** 30)
      .bytes(); // 8-byte varint, no body follows
    const s = await peer.openBi(huge);
    assert.deepEqual(await s.recv.end(), { kind: "reset", code: SubscribeErrorCode.Internal });
    const a = await peer.openBi(
      new Writer()
        .u8(BiStreamType.Announce)
        .varint(2 ** 40)
        .bytes(),
    );
    assert.deepEqual(await a.recv.end(), { kind: "reset", code: AnnounceErrorCode.Internal });
    const u = await peer.openUni(
      new Writer()
        .u8(UniStreamType.Group)
        .varint((1n << 62n) - 1n)
        .bytes(),
    );
    assert.equal(await u.stopped, GroupErrorCode.Internal);
    assert.equal(session.signal.aborted, false);
    await done(peer, session);
  },
);

test(
  "an oversize SESSION_UPDATE prefix closes the session with 3 without waiting for the body",
  T,
  async () => {
    const { peer, session } = await libServer({ maxMessageBytes: 1024 });
    await peer.session!.send.write(new Writer().varint(2 ** 30).bytes());
    assert.equal((await peer.closed).closeCode, SessionErrorCode.ProtocolViolation);
    await session.closed;
  },
);

test("an oversize frame: GroupError on the reader and STOP_SENDING to the publisher", T, async () => {
  const { peer, session } = await libClient({ maxFrameBytes: 1000 });
  const trP = session.subscribe("/big", "v");
  const s = (await peer.acceptBi())!;
  assert.equal(await s.recv.byte(), BiStreamType.Subscribe);
  const sub = await s.recv.message(Subscribe);
  assert.equal(sub.subscribeId, 1);
  await s.send.message(SubscribeOk, {});
  const tr = await trP;
  const g = await peer.openUni(
    streamPrefix(UniStreamType.Group, Group, { subscribeId: sub.subscribeId, groupSequence: 0 }),
    new Writer().varint(10).raw(new Uint8Array(10)).varint(1_000_000).bytes(), // one good frame, then 1 MB claimed
  );
  const gr = await tr.acceptGroup();
  assert.equal((await gr.readFrame())!.len, 10);
  const e = await rejection(gr.readFrame());
  assert.ok(e instanceof GroupError, String(e));
  assert.equal(e.code, GroupErrorCode.Internal);
  assert.equal(await g.stopped, GroupErrorCode.Internal);
  assert.equal(session.signal.aborted, false);
  await done(peer, session);
});

test("maxQueuedGroups: overflow cancels the oldest queued group with ExpiredGroup (3)", T, async () => {
  const { peer, session } = await libClient({ maxQueuedGroups: 2 });
  const trP = session.subscribe("/q", "v");
  const s = (await peer.acceptBi())!;
  await s.recv.byte();
  const sub = await s.recv.message(Subscribe);
  await s.send.message(SubscribeOk, {});
  const tr = await trP;
  const groups = [];
  for (let i = 0; i < 4; i++)
    groups.push(
      await peer.openUni(
        streamPrefix(UniStreamType.Group, Group, { subscribeId: sub.subscribeId, groupSequence: i }),
        bytes(1, i),
      ),
    );
  // Groups 0 and 1 are pushed out by 2 and 3 (arrival order); the consumer never accepted anything.
  assert.equal(await groups[0]!.stopped, GroupErrorCode.ExpiredGroup);
  assert.equal(await groups[1]!.stopped, GroupErrorCode.ExpiredGroup);
  const g2 = await tr.acceptGroup();
  const g3 = await tr.acceptGroup();
  assert.deepEqual([g2.groupSequence, g3.groupSequence], [2, 3]);
  assert.deepEqual((await g3.readFrame())!.body(), bytes(3));
  await done(peer, session);
});

test("maxPendingAnnouncements: a listener that does not read is dropped with Internal (0)", T, async () => {
  const mux = new TrackMux();
  // A flow-control window of 64 bytes lets the library's writes stall against a peer that never reads.
  const [c, srv] = newMemoryTransportPair({ windowBytes: 64 });
  const peer = new ScriptedPeer(c);
  const serverP = acceptTransport(srv, { mux, config: { maxPendingAnnouncements: 4 } });
  await peer.setupAsClient();
  const session = await serverP;
  const s = await peer.openBi(streamPrefix(BiStreamType.Announce, AnnouncePlease, { prefix: "/" }));
  assert.deepEqual(await s.recv.message(AnnounceInit), { suffixes: [] }); // registered; from now on we stop reading
  // Publish far more than window + cap allow; the listener must be dropped, not buffered without bound.
  for (let i = 0; i < 200; i++) mux.publishFunc(undefined, `/slow/listener/path/number/${i}`, () => {});
  assert.equal(await s.send.stopped, AnnounceErrorCode.Internal);
  const end = await s.recv.end();
  assert.deepEqual(end, { kind: "reset", code: AnnounceErrorCode.Internal });
  assert.equal(session.signal.aborted, false);
  await done(peer, session);
});

test(
  "a group reset reaches a subscriber that is not reading (RESET_STREAM needs no flow-control credit)",
  T,
  async () => {
    const mux = new TrackMux();
    const cancelled = defer();
    mux.publishFunc(undefined, "/big", async (tw) => {
      const g = await tw.openGroup();
      // Far above the 256 KiB window: the first frame is accepted into the stream's queue but blocks on flow
      // control, the second waits for it until the deadline resets the group.
      await g.writeFrame(new Uint8Array(1 << 20));
      g.setWriteDeadline(Date.now() + 20);
      const e = await rejection(g.writeFrame(new Uint8Array(1 << 20)));
      assert.equal((e as GroupError).code, GroupErrorCode.ExpiredGroup);
      cancelled.resolve();
      await aborted(tw.signal);
    });
    const { peer, session } = await libServer({}, mux);
    const s = await peer.openBi(subscribeMsg(1, "/big"));
    await s.recv.message(SubscribeOk);
    const uni = (await peer.acceptUni())!;
    await cancelled.promise;
    assert.equal(await uni.reset, GroupErrorCode.ExpiredGroup);
    await done(peer, session);
  },
);

// ---- setup

test("trailing bytes in SESSION_CLIENT fail the setup", T, async () => {
  const [c, s] = newMemoryTransportPair();
  const peer = new ScriptedPeer(c);
  const serverP = acceptTransport(s, { mux: new TrackMux() });
  const body = new Writer().varint(1).varint(0xfeedbabe).varint(0).u8(0xff).bytes(); // one byte too many
  await peer.openBi(new Writer().u8(BiStreamType.Session).varint(body.length).raw(body).bytes());
  const e = await rejection(serverP);
  assert.ok(e instanceof SessionError);
  assert.equal(e.code, SessionErrorCode.ProtocolViolation);
  assert.equal((await peer.closed).closeCode, SessionErrorCode.ProtocolViolation);
});

test(
  "a first stream that is not the session stream fails the setup with ProtocolViolation (3)",
  T,
  async () => {
    const [c, s] = newMemoryTransportPair();
    const peer = new ScriptedPeer(c);
    const serverP = acceptTransport(s, { mux: new TrackMux() });
    await peer.openBi(subscribeMsg(1, "/x"));
    const e = await rejection(serverP);
    assert.equal((e as SessionError).code, SessionErrorCode.ProtocolViolation);
    assert.equal((await peer.closed).closeCode, SessionErrorCode.ProtocolViolation);
  },
);

test("a server answering with a version the client did not offer: UnsupportedVersion (0x12)", T, async () => {
  const [c, s] = newMemoryTransportPair();
  const peer = new ScriptedPeer(s);
  const clientP = dialTransport(c, { mux: new TrackMux() });
  await peer.setupAsServer(0xff0dad01);
  const e = await rejection(clientP);
  assert.equal((e as SessionError).code, SessionErrorCode.UnsupportedVersion);
  assert.equal((await peer.closed).closeCode, SessionErrorCode.UnsupportedVersion);
});

test("the session stream reset by the peer closes the session with ProtocolViolation (3)", T, async () => {
  const { peer, session } = await libServer();
  peer.session!.send.reset(0x99);
  assert.equal((await peer.closed).closeCode, SessionErrorCode.ProtocolViolation);
  assert.equal((await session.closed)?.code, SessionErrorCode.ProtocolViolation);
});

test("the session stream FINed by the peer closes the session with ProtocolViolation (3)", T, async () => {
  const { peer, session } = await libClient();
  await peer.session!.send.fin();
  assert.equal((await peer.closed).closeCode, SessionErrorCode.ProtocolViolation);
  await session.closed;
});

test(
  "the session stream stopped by the peer (STOP_SENDING) closes the session with ProtocolViolation (3)",
  T,
  async () => {
    const { peer, session } = await libServer();
    peer.session!.recv.stop(0x98);
    assert.equal((await peer.closed).closeCode, SessionErrorCode.ProtocolViolation);
    assert.equal((await session.closed)?.code, SessionErrorCode.ProtocolViolation);
  },
);

// A closing peer may end its streams before its close is processed here (webtransport-go resets every stream of a
// closing session; QUIC orders nothing across streams): the session waits a bounded moment for the close before it
// calls the end of the session stream a violation (Session #peerEnded). Both orders must report the peer's code.
const sessionStreamEnds: [string, (peer: ScriptedPeer) => Promise<void>][] = [
  ["RESET_STREAM", async (peer) => peer.session!.send.reset(0x99)],
  ["FIN", (peer) => peer.session!.send.fin()],
  ["STOP_SENDING", async (peer) => peer.session!.recv.stop(0x98)],
];
for (const [what, end] of sessionStreamEnds) {
  test(
    `the peer ends the session stream (${what}), then closes with 0x42: the session reports 0x42`,
    T,
    async () => {
      // A long grace, so that however loaded the machine is the library sees the stream's end before the close.
      const { peer, session } = await libServer({ peerCloseGrace: 10_000 });
      await end(peer);
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
      assert.equal(session.signal.aborted, false);
      peer.close(0x42, "bye");
      const e = await session.closed;
      assert.ok(e instanceof SessionError, String(e));
      assert.equal(e.code, 0x42);
      assert.equal(e.remote, true);
      assert.equal((await peer.closed).closeCode, 0x42);
      await assertNothingEscaped();
    },
  );

  test(
    `the peer closes with 0x42, then its session stream ends (${what}): the session reports 0x42`,
    T,
    async () => {
      const { peer, session } = await libServer();
      peer.close(0x42, "bye");
      await end(peer).catch(() => {}); // the stream is already gone with the session
      const e = await session.closed;
      assert.ok(e instanceof SessionError, String(e));
      assert.equal(e.code, 0x42);
      assert.equal(e.remote, true);
      await assertNothingEscaped();
    },
  );
}

test("SESSION_UPDATE from a scripted peer reaches updated()", T, async () => {
  const { peer, session } = await libServer();
  const it = session.updated()[Symbol.asyncIterator]();
  const first = it.next();
  await peer.session!.send.message(SessionUpdate, { bitrate: 12345 });
  assert.equal((await first).value?.bitrate, 12345);
  assert.equal(session.remoteBitrate, 12345);
  await done(peer, session);
});

// ---- silent peers

test("a peer that opens streams and never sends a byte is timed out and cleaned up", T, async () => {
  const { peer, session } = await libServer({ streamHeaderTimeout: 30 });
  const bi = await peer.openBi();
  const uni = await peer.openUni();
  const half = await peer.openBi(bytes(BiStreamType.Subscribe, 10, 1)); // type and part of a SUBSCRIBE
  assert.deepEqual(await bi.recv.end(), { kind: "reset", code: 0 });
  assert.equal(await bi.send.stopped, 0);
  assert.equal(await uni.stopped, GroupErrorCode.Internal);
  assert.deepEqual(await half.recv.end(), { kind: "reset", code: SubscribeErrorCode.Internal });
  assert.equal(session.signal.aborted, false);
  await done(peer, session);
});

test(
  "a peer that never opens the session stream, or never finishes SESSION_CLIENT, times out the setup",
  T,
  async () => {
    for (const script of [async () => {}, async (p: ScriptedPeer) => void (await p.openBi(bytes(0, 5, 1)))]) {
      const [c, s] = newMemoryTransportPair();
      const peer = new ScriptedPeer(c);
      const serverP = acceptTransport(s, { mux: new TrackMux(), setupTimeout: 30 });
      await script(peer);
      const e = await rejection(serverP);
      assert.ok(e instanceof SessionError);
      assert.equal(e.remote, false);
      assert.equal((await peer.closed).closeCode, e.code);
    }
  },
);

test("a publisher that never answers SUBSCRIBE: subscribeTimeout resets the stream with 5", T, async () => {
  const { peer, session } = await libClient({ subscribeTimeout: 30 });
  const trP = session.subscribe("/silent", "v");
  const s = (await peer.acceptBi())!;
  const e = await rejection(trP);
  assert.equal((e as { code?: number }).code, SubscribeErrorCode.SubscribeTimeout);
  // (The reset may discard the unread SUBSCRIBE, as QUIC may.)
  assert.deepEqual(await s.recv.end(), { kind: "reset", code: SubscribeErrorCode.SubscribeTimeout });
  assert.equal(await s.send.stopped, SubscribeErrorCode.SubscribeTimeout);
  await done(peer, session);
});

test("a responder that never sends ANNOUNCE_INIT: announceInitTimeout fails acceptAnnounce", T, async () => {
  const { peer, session } = await libClient({ announceInitTimeout: 30 });
  const arP = session.acceptAnnounce("/");
  const s = (await peer.acceptBi())!;
  const e = await rejection(arP);
  assert.ok(e instanceof AnnounceError);
  assert.equal(e.code, AnnounceErrorCode.Internal);
  assert.equal(e.remote, false);
  assert.deepEqual(await s.recv.end(), { kind: "reset", code: AnnounceErrorCode.Internal });
  await done(peer, session);
});

test("no escaped errors so far", async () => {
  await assertNothingEscaped();
});

// ---- random bytes on every stream type

const CLOSE_CODES = new Set<number>([
  SessionErrorCode.NoError,
  SessionErrorCode.Internal,
  SessionErrorCode.ProtocolViolation,
  SessionErrorCode.TooManySubscribe,
  SessionErrorCode.UnsupportedVersion,
  SessionErrorCode.SetupFailed,
]);

/** A publisher mux for the liveness probe. */
function probeMux(): TrackMux {
  const mux = new TrackMux();
  mux.publishFunc(undefined, "/probe", async (tw) => {
    const g = await tw.openGroup();
    await g.writeFrame(enc("alive"));
    await g.close();
  });
  return mux;
}

/** After hostile input: either the session closed with a documented code, or it still serves a subscription. */
async function survivesOrClosesCleanly(peer: ScriptedPeer, session: Session, probeId: number): Promise<void> {
  const closed = peer.closed.then((i) => ({ closed: i.closeCode }));
  const probe = (async () => {
    const s = await peer.openBi(subscribeMsg(probeId, "/probe"));
    await s.recv.message(SubscribeOk);
    return { alive: true };
  })().catch(() => closed);
  const r = await Promise.race([closed, probe]);
  if ("closed" in r) assert.ok(CLOSE_CODES.has(r.closed ?? -1), `closed with undocumented code ${r.closed}`);
  peer.close(0, "");
  await session.closed;
}

const junk = fc.uint8Array({ minLength: 0, maxLength: 64 });
const RUNS = { numRuns: 200 };

for (const [name, open] of [
  ["bidi 0x01 (announce)", (p: ScriptedPeer, b: Uint8Array) => p.openBi(bytes(BiStreamType.Announce), b)],
  ["bidi 0x02 (subscribe)", (p: ScriptedPeer, b: Uint8Array) => p.openBi(bytes(BiStreamType.Subscribe), b)],
  ["bidi, any type byte", (p: ScriptedPeer, b: Uint8Array) => p.openBi(b)],
  ["uni 0x00 (group)", (p: ScriptedPeer, b: Uint8Array) => p.openUni(bytes(UniStreamType.Group), b)],
  ["uni, any type byte", (p: ScriptedPeer, b: Uint8Array) => p.openUni(b)],
] as const) {
  test(`200 random byte strings on ${name}`, { timeout: 30_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(junk, async (b) => {
        const { peer, session } = await libServer({ streamHeaderTimeout: 0 }, probeMux());
        const s = await open(peer, b);
        if ("fin" in s) await s.fin();
        else await s.send.fin();
        await survivesOrClosesCleanly(peer, session, 1_000_000);
      }),
      RUNS,
    );
    await assertNothingEscaped();
  });
}

test("200 random byte strings on the session stream after setup", { timeout: 30_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(junk, async (b) => {
      const { peer, session } = await libServer({}, probeMux());
      await peer.session!.send.write(b);
      await survivesOrClosesCleanly(peer, session, 1);
    }),
    RUNS,
  );
  await assertNothingEscaped();
});

test(
  "200 random SESSION_CLIENT bodies and raw session streams during setup",
  { timeout: 30_000 },
  async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), junk, async (framed, b) => {
        const [c, s] = newMemoryTransportPair();
        const peer = new ScriptedPeer(c);
        const serverP = acceptTransport(s, { mux: new TrackMux() });
        const payload = framed
          ? new Writer().u8(BiStreamType.Session).varint(b.length).raw(b).bytes()
          : new Writer().u8(BiStreamType.Session).raw(b).bytes();
        const st = await peer.openBi(payload);
        await st.send.fin();
        try {
          const session = await serverP;
          // A valid SESSION_CLIENT followed by FIN: the session starts and then ends on the FIN.
          await session.closed;
        } catch (e) {
          assert.ok(e instanceof SessionError, String(e));
          assert.ok(CLOSE_CODES.has(e.code), `setup failed with undocumented code ${e.code}`);
        }
        const info = await peer.closed;
        assert.ok(CLOSE_CODES.has(info.closeCode ?? -1), `closed with ${info.closeCode}`);
      }),
      RUNS,
    );
    await assertNothingEscaped();
  },
);

test(
  "200 random SESSION_CLIENT messages (valid framing, random fields) through the codec",
  { timeout: 30_000 },
  async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.array(fc.tuple(fc.nat({ max: 1000 }), fc.uint8Array({ maxLength: 8 })), { maxLength: 3 }),
        async (versions, params) => {
          const [c, s] = newMemoryTransportPair();
          const peer = new ScriptedPeer(c);
          const serverP = acceptTransport(s, { mux: new TrackMux() });
          await peer.openBi(
            bytes(BiStreamType.Session),
            encodeMessage(SessionClient, { versions, parameters: new Map(params) }),
          );
          try {
            const session = await serverP;
            assert.ok(versions.includes(0xfeedbabe) || versions.length === 0 || session);
            peer.close(0, "");
            await session.closed;
          } catch (e) {
            assert.ok(e instanceof SessionError);
            assert.equal(e.code, SessionErrorCode.UnsupportedVersion);
          }
        },
      ),
      RUNS,
    );
    await assertNothingEscaped();
  },
);
