/** Every SessionConfig limit and timeout (src/session/config.ts), each driven past its value by a ScriptedPeer: the
 *  peer gets the documented code, the session (or only the offending stream) ends as documented, nothing escapes,
 *  the session's bookkeeping returns to zero, and a bystander session on its own transport keeps working. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  AnnounceError,
  AnnounceErrorCode,
  GroupError,
  GroupErrorCode,
  SessionError,
  SessionErrorCode,
  SubscribeError,
  SubscribeErrorCode,
  TrackMux,
  acceptTransport,
  dialTransport,
  newMemoryTransportPair,
  type Session,
} from "../../src/index.js";
import { sessionCounters } from "../../src/session/session.js";
import {
  Announce,
  AnnounceInit,
  AnnouncePlease,
  BiStreamType,
  Group,
  Subscribe,
  SubscribeOk,
  UniStreamType,
  Writer,
  peekVarint,
} from "../../src/wire/index.js";
import { ScriptedPeer, bytes, libClient, libServer, streamPrefix } from "../support/scripted_peer.js";
import { aborted, dec, enc, pair, rejection, type Pair } from "./helpers.js";

async function done(peer: ScriptedPeer, session: Session): Promise<void> {
  peer.close(0, "");
  await session.closed;
  const c = sessionCounters(session);
  assert.deepEqual(c, {
    trackReaders: 0,
    trackWriters: 0,
    announceWriters: 0,
    updateListeners: 0,
    unidentifiedStreams: 0,
  });
}

const subscribeMsg = (id: number, path: string, name = "t", priority = 0): Uint8Array =>
  streamPrefix(BiStreamType.Subscribe, Subscribe, {
    subscribeId: id,
    broadcastPath: path,
    trackName: name,
    trackPriority: priority,
  });

/** A normal client/server pair with a live track: proves a hostile session next to it changed nothing. */
async function bystander(): Promise<Pair> {
  const p = await pair();
  p.serverMux.publishFunc(undefined, "/bystander", async (tw) => {
    const g = await tw.openGroup();
    await g.writeFrame(enc("still here"));
    await g.close();
  });
  return p;
}

async function assertBystanderWorks(p: Pair): Promise<void> {
  const tr = await p.client.subscribe("/bystander", "v");
  const g = await tr.acceptGroup();
  assert.equal(dec((await g.readFrame())!.body()), "still here");
  await tr.close();
  assert.equal(p.client.signal.aborted, false);
  assert.equal(p.server.signal.aborted, false);
  await p.close();
}

/** Let the event loop turn `n` times (macrotasks), for "nothing happened yet" checks. */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/** Resolve once `cond()` holds (checked every loop turn). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setImmediate(r));
}

// ---- guards: no uncaught exception or unhandled rejection

const escaped: unknown[] = [];
const onEscape = (e: unknown) => escaped.push(e);
function installGuards(): void {
  process.on("unhandledRejection", onEscape);
  process.on("uncaughtException", onEscape);
}
function removeGuards(): void {
  process.off("unhandledRejection", onEscape);
  process.off("uncaughtException", onEscape);
}
async function assertNothingEscaped(): Promise<void> {
  await turns(2);
  assert.deepEqual(escaped, [], `escaped: ${escaped.map(String).join("; ")}`);
}

before(installGuards);
after(removeGuards);

const T = { timeout: 10_000 };

/** A mux serving `/live` with handlers that send SUBSCRIBE_OK and hold the subscription until it ends. */
function holdingMux(): TrackMux {
  const mux = new TrackMux();
  mux.publishFunc(undefined, "/live", async (tw) => {
    await tw.writeInfo();
    await aborted(tw.signal);
  });
  return mux;
}

// ---- limits

test("maxIncomingSubscriptions: one too many closes the session with TooManySubscribe (6)", T, async () => {
  const by = await bystander();
  const { peer, session } = await libServer({ maxIncomingSubscriptions: 2 }, holdingMux());
  const s1 = await peer.openBi(subscribeMsg(1, "/live"));
  await s1.recv.message(SubscribeOk);
  const s2 = await peer.openBi(subscribeMsg(2, "/live"));
  await s2.recv.message(SubscribeOk);
  // An ended subscription frees its slot.
  await s2.send.fin();
  await until(() => sessionCounters(session).trackWriters === 1);
  const s3 = await peer.openBi(subscribeMsg(3, "/live"));
  await s3.recv.message(SubscribeOk);
  await peer.openBi(subscribeMsg(4, "/live"));
  assert.equal((await peer.closed).closeCode, SessionErrorCode.TooManySubscribe);
  const e = await session.closed;
  assert.equal(e?.code, SessionErrorCode.TooManySubscribe);
  assert.equal(e?.remote, false);
  await done(peer, session);
  await assertBystanderWorks(by);
});

test(
  "maxAnnounceListeners: an extra ANNOUNCE_PLEASE is reset with Internal (0); the session goes on",
  T,
  async () => {
    const by = await bystander();
    const { peer, session } = await libServer({ maxAnnounceListeners: 2 });
    const please = () => peer.openBi(streamPrefix(BiStreamType.Announce, AnnouncePlease, { prefix: "/" }));
    const a1 = await please();
    await a1.recv.message(AnnounceInit);
    const a2 = await please();
    await a2.recv.message(AnnounceInit);
    const a3 = await please();
    assert.deepEqual(await a3.recv.end(), { kind: "reset", code: AnnounceErrorCode.Internal });
    assert.equal(await a3.send.stopped, AnnounceErrorCode.Internal);
    assert.equal(sessionCounters(session).announceWriters, 2);
    // A listener that ends (FIN) frees its slot.
    await a1.send.fin();
    await until(() => sessionCounters(session).announceWriters === 1);
    const a4 = await please();
    await a4.recv.message(AnnounceInit);
    assert.equal(session.signal.aborted, false);
    await done(peer, session);
    await assertBystanderWorks(by);
  },
);

test("maxPendingStreams: streams beyond the cap wait until an unidentified one is settled", T, async () => {
  const by = await bystander();
  // No header timeout: only the cap keeps the stalled streams from piling up.
  const { peer, session } = await libServer({ maxPendingStreams: 2, streamHeaderTimeout: 0 });
  const stalled = [await peer.openBi(), await peer.openBi(bytes(BiStreamType.Subscribe, 40, 1))];
  await until(() => sessionCounters(session).unidentifiedStreams === 2);
  const third = await peer.openBi(subscribeMsg(1, "/nope"));
  const thirdEnd = third.recv.end();
  assert.equal(await Promise.race([thirdEnd, turns(20).then(() => "waiting")]), "waiting");
  assert.equal(sessionCounters(session).unidentifiedStreams, 2);
  // Settle one stalled stream (FIN before the type byte): it is reset with 0 and the third is served.
  await stalled[0]!.send.fin();
  assert.deepEqual(await stalled[0]!.recv.end(), { kind: "reset", code: 0 });
  assert.deepEqual(await thirdEnd, { kind: "reset", code: SubscribeErrorCode.TrackNotFound });

  // The same for uni streams, counted on their own.
  const u1 = await peer.openUni();
  const u2 = await peer.openUni(bytes(UniStreamType.Group));
  await until(() => sessionCounters(session).unidentifiedStreams === 3); // 2 uni + the half SUBSCRIBE
  const u3 = await peer.openUni(
    streamPrefix(UniStreamType.Group, Group, { subscribeId: 9, groupSequence: 0 }),
  );
  assert.equal(await Promise.race([u3.stopped, turns(20).then(() => "waiting")]), "waiting");
  await u1.fin();
  assert.equal(await u3.stopped, GroupErrorCode.InvalidSubscribeID);
  await u2.fin();
  assert.equal(session.signal.aborted, false);
  await done(peer, session);
  await assertBystanderWorks(by);
});

test(
  "maxMessageBytes: a message of exactly the cap is read, one byte more resets the stream with 0",
  T,
  async () => {
    const by = await bystander();
    const cap = 64;
    const { peer, session } = await libServer({ maxMessageBytes: cap, streamHeaderTimeout: 0 });
    const sized = (bodyLen: number) => {
      // SUBSCRIBE{id 1, path "/" + padding, name "t", priority 0}: 1 + (1 + len) + 2 + 1 bytes of body.
      const path = "/" + "x".repeat(bodyLen - 6);
      const m = subscribeMsg(1, path);
      assert.equal(peekVarint(m, 1)![0], bodyLen);
      return m;
    };
    const ok = await peer.openBi(sized(cap));
    assert.deepEqual(await ok.recv.end(), { kind: "reset", code: SubscribeErrorCode.TrackNotFound });
    const big = await peer.openBi(sized(cap + 1).subarray(0, 3)); // the prefix alone is enough
    assert.deepEqual(await big.recv.end(), { kind: "reset", code: SubscribeErrorCode.Internal });
    assert.equal(await big.send.stopped, SubscribeErrorCode.Internal);
    // On the session stream, an oversize message is a protocol violation (3).
    await peer.session!.send.write(new Writer().varint(cap + 1).bytes());
    assert.equal((await peer.closed).closeCode, SessionErrorCode.ProtocolViolation);
    await done(peer, session);
    await assertBystanderWorks(by);
  },
);

test(
  "maxFrameBytes: a frame of exactly the cap is read, one more byte fails the group with 0",
  T,
  async () => {
    const by = await bystander();
    const { peer, session } = await libClient({ maxFrameBytes: 100 });
    const trP = session.subscribe("/f", "v");
    const s = (await peer.acceptBi())!;
    await s.recv.byte();
    const sub = await s.recv.message(Subscribe);
    await s.send.message(SubscribeOk, {});
    const tr = await trP;
    const g = await peer.openUni(
      streamPrefix(UniStreamType.Group, Group, { subscribeId: sub.subscribeId, groupSequence: 0 }),
      new Writer().varint(100).raw(new Uint8Array(100)).varint(101).bytes(),
    );
    const gr = await tr.acceptGroup();
    assert.equal((await gr.readFrame())!.len, 100);
    const e = await rejection(gr.readFrame());
    assert.ok(e instanceof GroupError);
    assert.equal(e.code, GroupErrorCode.Internal);
    assert.equal(await g.stopped, GroupErrorCode.Internal);
    assert.equal(tr.signal.aborted, false);
    await done(peer, session);
    await assertBystanderWorks(by);
  },
);

test(
  "maxQueuedGroups: unaccepted groups beyond the cap are stopped oldest first with ExpiredGroup (3)",
  T,
  async () => {
    const by = await bystander();
    const { peer, session } = await libClient({ maxQueuedGroups: 1 });
    const trP = session.subscribe("/q", "v");
    const s = (await peer.acceptBi())!;
    await s.recv.byte();
    const sub = await s.recv.message(Subscribe);
    await s.send.message(SubscribeOk, {});
    const tr = await trP;
    const open = (seq: number) =>
      peer.openUni(
        streamPrefix(UniStreamType.Group, Group, { subscribeId: sub.subscribeId, groupSequence: seq }),
        bytes(1, seq),
      );
    const g0 = await open(0);
    const g1 = await open(1);
    const g2 = await open(2);
    assert.equal(await g0.stopped, GroupErrorCode.ExpiredGroup);
    assert.equal(await g1.stopped, GroupErrorCode.ExpiredGroup);
    const gr = await tr.acceptGroup();
    assert.equal(gr.groupSequence, 2);
    await g2.fin();
    assert.deepEqual((await gr.readFrame())!.body(), bytes(2));
    await done(peer, session);
    await assertBystanderWorks(by);
  },
);

test("maxPendingAnnouncements: a listener that stops reading is dropped with Internal (0)", T, async () => {
  const by = await bystander();
  const mux = new TrackMux();
  const { peer, session } = await libServer({ maxPendingAnnouncements: 3 }, mux, 64);
  const s = await peer.openBi(streamPrefix(BiStreamType.Announce, AnnouncePlease, { prefix: "/" }));
  await s.recv.message(AnnounceInit);
  for (let i = 0; i < 100; i++) mux.publishFunc(undefined, `/a/fairly/long/broadcast/path/${i}`, () => {});
  assert.equal(await s.send.stopped, AnnounceErrorCode.Internal);
  assert.deepEqual(await s.recv.end(), { kind: "reset", code: AnnounceErrorCode.Internal });
  await until(() => sessionCounters(session).announceWriters === 0);
  assert.equal(session.signal.aborted, false);
  await done(peer, session);
  await assertBystanderWorks(by);
});

test(
  "maxAnnouncements: a responder announcing more than the cap gets the stream reset with 0",
  T,
  async () => {
    const by = await bystander();
    const { peer, session } = await libClient({ maxAnnouncements: 3 });
    const arP = session.acceptAnnounce("/");
    const s = (await peer.acceptBi())!;
    await s.recv.byte();
    await s.recv.message(AnnouncePlease);
    await s.send.message(AnnounceInit, { suffixes: ["a", "b"] });
    const ar = await arP;
    await s.send.message(Announce, { status: 1, suffix: "c" });
    await s.send.message(Announce, { status: 1, suffix: "d" });
    assert.deepEqual(await s.recv.end(), { kind: "reset", code: AnnounceErrorCode.Internal });
    assert.equal(await s.send.stopped, AnnounceErrorCode.Internal);
    const reason = (await aborted(ar.signal)) as AnnounceError;
    assert.equal(reason.code, AnnounceErrorCode.Internal);

    // An ANNOUNCE_INIT already above the cap fails acceptAnnounce itself.
    const arP2 = session.acceptAnnounce("/x/");
    const s2 = (await peer.acceptBi())!;
    await s2.recv.byte();
    await s2.recv.message(AnnouncePlease);
    await s2.send.message(AnnounceInit, { suffixes: ["1", "2", "3", "4"] });
    const e = await rejection(arP2);
    assert.ok(e instanceof AnnounceError);
    assert.equal(e.code, AnnounceErrorCode.Internal);
    assert.deepEqual(await s2.recv.end(), { kind: "reset", code: AnnounceErrorCode.Internal });
    assert.equal(session.signal.aborted, false);
    await done(peer, session);
    await assertBystanderWorks(by);
  },
);

// ---- timeouts

test("setupTimeout, server side: no session stream, or SESSION_CLIENT cut short", T, async () => {
  for (const script of [async () => {}, async (p: ScriptedPeer) => void (await p.openBi(bytes(0, 5, 1)))]) {
    const [c, s] = newMemoryTransportPair();
    const peer = new ScriptedPeer(c);
    const serverP = acceptTransport(s, { mux: new TrackMux(), config: { setupTimeout: 20 } });
    await script(peer);
    const e = await rejection(serverP);
    assert.ok(e instanceof SessionError);
    assert.equal(e.code, SessionErrorCode.Internal);
    assert.equal((await peer.closed).closeCode, SessionErrorCode.Internal);
  }
});

test("setupTimeout, client side: a server that never answers SESSION_SERVER", T, async () => {
  const [c, s] = newMemoryTransportPair();
  const peer = new ScriptedPeer(s);
  const clientP = dialTransport(c, { mux: new TrackMux(), config: { setupTimeout: 20 } });
  const st = (await peer.acceptBi())!;
  assert.equal(await st.recv.byte(), BiStreamType.Session);
  const e = await rejection(clientP);
  assert.ok(e instanceof SessionError);
  assert.equal(e.code, SessionErrorCode.Internal);
  assert.equal((await peer.closed).closeCode, SessionErrorCode.Internal);
});

test(
  "subscribeTimeout: no SUBSCRIBE_OK resets the subscribe stream with SubscribeTimeout (5)",
  T,
  async () => {
    const by = await bystander();
    const { peer, session } = await libClient({ subscribeTimeout: 20 });
    const trP = session.subscribe("/silent", "v");
    const s = (await peer.acceptBi())!;
    const e = await rejection(trP);
    assert.ok(e instanceof SubscribeError);
    assert.equal(e.code, SubscribeErrorCode.SubscribeTimeout);
    assert.equal(await s.send.stopped, SubscribeErrorCode.SubscribeTimeout);
    assert.equal(sessionCounters(session).trackReaders, 0);
    assert.equal(session.signal.aborted, false);
    await done(peer, session);
    await assertBystanderWorks(by);
  },
);

test("announceInitTimeout: no ANNOUNCE_INIT resets the announce stream with Internal (0)", T, async () => {
  const { peer, session } = await libClient({ announceInitTimeout: 20 });
  const arP = session.acceptAnnounce("/");
  const s = (await peer.acceptBi())!;
  const e = await rejection(arP);
  assert.ok(e instanceof AnnounceError);
  assert.equal(e.code, AnnounceErrorCode.Internal);
  assert.equal(await s.send.stopped, AnnounceErrorCode.Internal);
  assert.equal(session.signal.aborted, false);
  await done(peer, session);
});

test(
  "streamHeaderTimeout: a stream stalled mid-header is reset and its buffered bytes released",
  T,
  async () => {
    const by = await bystander();
    const { peer, session } = await libServer({ streamHeaderTimeout: 20, maxMessageBytes: 4096 });
    // A SUBSCRIBE announcing 4000 bytes of body, of which 3000 arrive; an ANNOUNCE_PLEASE cut short; a GROUP header
    // cut short; a stream with no byte at all.
    const sub = await peer.openBi(
      new Writer().u8(BiStreamType.Subscribe).varint(4000).raw(new Uint8Array(3000)).bytes(),
    );
    const ann = await peer.openBi(bytes(BiStreamType.Announce, 10, 8));
    const grp = await peer.openUni(bytes(UniStreamType.Group, 4, 1));
    const empty = await peer.openBi();
    await until(() => sessionCounters(session).unidentifiedStreams > 0);
    assert.deepEqual(await sub.recv.end(), { kind: "reset", code: SubscribeErrorCode.Internal });
    assert.equal(await sub.send.stopped, SubscribeErrorCode.Internal);
    assert.deepEqual(await ann.recv.end(), { kind: "reset", code: AnnounceErrorCode.Internal });
    assert.equal(await grp.stopped, GroupErrorCode.Internal);
    assert.deepEqual(await empty.recv.end(), { kind: "reset", code: 0 });
    await until(() => sessionCounters(session).unidentifiedStreams === 0);
    assert.equal(session.signal.aborted, false);
    await done(peer, session);
    await assertBystanderWorks(by);
  },
);

test("nothing escaped", async () => {
  await assertNothingEscaped();
});
