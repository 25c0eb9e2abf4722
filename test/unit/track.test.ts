/** Subscriptions end to end over the memory pair: TrackReader/TrackWriter/GroupReader/GroupWriter calls and the codes
 *  each side sees. */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  GroupError,
  GroupErrorCode,
  SessionError,
  SubscribeError,
  SubscribeErrorCode,
  type GroupReader,
  type GroupWriter,
  type TrackConfig,
  type TrackWriter,
} from "../../src/index.js";
import { aborted, dec, defer, enc, pair, rejection } from "./helpers.js";

const T = { timeout: 10_000 };

test("subscribe ids start at 1 and increase; the publisher sees path, name, id and priority", T, async () => {
  const p = await pair();
  const seen: { id: number | bigint; path: string; name: string; prio: number | undefined }[] = [];
  p.serverMux.publishFunc(undefined, "/live", async (tw) => {
    seen.push({
      id: tw.subscribeId,
      path: tw.broadcastPath,
      name: tw.trackName,
      prio: tw.trackConfig.trackPriority,
    });
    await tw.writeInfo();
    await aborted(tw.signal);
  });
  const a = await p.client.subscribe("/live", "video", { trackPriority: 7 });
  const b = await p.client.subscribe("/live", "audio");
  const c = await p.client.subscribe("/live", "meta", { trackPriority: 255 });
  assert.deepEqual([a.subscribeId, b.subscribeId, c.subscribeId], [1, 2, 3]);
  assert.equal(a.broadcastPath, "/live");
  assert.equal(a.trackName, "video");
  assert.deepEqual(a.trackConfig, { trackPriority: 7 });
  assert.deepEqual(seen, [
    { id: 1, path: "/live", name: "video", prio: 7 },
    { id: 2, path: "/live", name: "audio", prio: 0 },
    { id: 3, path: "/live", name: "meta", prio: 255 },
  ]);
  await assert.rejects(p.client.subscribe("live", "x"), TypeError);
  await assert.rejects(p.client.subscribe("/live", "x", { trackPriority: 256 }), RangeError);
  await p.close();
});

test(
  "groups and frames flow; openGroup auto-sequence starts at 0; openGroup(10) then openGroup() gives 11",
  T,
  async () => {
    const p = await pair();
    p.serverMux.publishFunc(undefined, "/live", async (tw) => {
      for (const seq of [undefined, undefined, 10, undefined]) {
        const g = await tw.openGroup(seq);
        await g.writeFrame(enc(`g${g.groupSequence}`));
        await g.writeFrame(enc("second"));
        await g.close();
      }
    });
    const tr = await p.client.subscribe("/live", "video");
    const got: [number | bigint, string[]][] = [];
    for await (const g of tr) {
      const frames: string[] = [];
      for await (const f of g.frames()) frames.push(dec(f.body()));
      got.push([g.groupSequence, frames]);
    }
    assert.deepEqual(got, [
      [0, ["g0", "second"]],
      [1, ["g1", "second"]],
      [10, ["g10", "second"]],
      [11, ["g11", "second"]],
    ]);
    await p.close();
  },
);

test("frames of 0 bytes and 1 MB; readFrame(frame) reuses the given Frame; empty groups", T, async () => {
  const p = await pair();
  const big = new Uint8Array(1 << 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  p.serverMux.publishFunc(undefined, "/live", async (tw) => {
    const g = await tw.openGroup();
    await g.writeFrame(new Uint8Array(0));
    await g.writeFrame(big);
    await g.writeFrame(enc("x"));
    await g.close();
    const empty = await tw.openGroup();
    await empty.close();
  });
  const { newFrame } = await import("../../src/index.js");
  const tr = await p.client.subscribe("/live", "v");
  const g = await tr.acceptGroup();
  const buf = newFrame(16);
  const f0 = await g.readFrame(buf);
  assert.equal(f0, buf);
  assert.equal(buf.len, 0);
  const f1 = await g.readFrame(buf);
  assert.equal(f1, buf);
  assert.equal(buf.len, big.length);
  assert.deepEqual(buf.body(), big);
  const f2 = await g.readFrame(buf);
  assert.equal(f2, buf);
  assert.equal(dec(buf.body()), "x");
  assert.equal(await g.readFrame(buf), null);
  assert.equal(await g.readFrame(), null);
  const e = await tr.acceptGroup();
  assert.equal(e.groupSequence, 1);
  assert.equal(await e.readFrame(), null);
  await p.close();
});

test("groups that arrive before SUBSCRIBE_OK are queued", T, async () => {
  const p = await pair();
  const sent = defer();
  p.serverMux.publishFunc(undefined, "/live", async (tw) => {
    // Write the group first, SUBSCRIBE_OK only afterwards (openGroup sends it lazily; we delay it explicitly by
    // writing the group on a raw path: openGroup sends OK first, so instead hold OK until the group is complete).
    const g = await tw.openGroup();
    await g.writeFrame(enc("early"));
    await g.close();
    sent.resolve();
    await aborted(tw.signal);
  });
  const tr = await p.client.subscribe("/live", "v");
  await sent.promise;
  const g = await tr.acceptGroup();
  assert.equal(dec((await g.readFrame())!.body()), "early");
  await p.close();
});

test("subscribe to an unknown path: SubscribeError TrackNotFound (3), remote", T, async () => {
  const p = await pair();
  const err = await rejection(p.client.subscribe("/nothing", "v"));
  assert.ok(err instanceof SubscribeError, String(err));
  assert.equal(err.code, SubscribeErrorCode.TrackNotFound);
  assert.equal(err.remote, true);
  await p.close();
});

test("subscribeTimeout: SubscribeError 5 locally and the publisher's stream is reset with 5", T, async () => {
  const p = await pair({ dial: { config: { subscribeTimeout: 50 } } });
  const seen = defer<unknown>();
  p.serverMux.publishFunc(undefined, "/slow", async (tw) => {
    seen.resolve(await aborted(tw.signal));
  });
  const err = await rejection(p.client.subscribe("/slow", "v"));
  assert.ok(err instanceof SubscribeError);
  assert.equal(err.code, SubscribeErrorCode.SubscribeTimeout);
  assert.equal(err.remote, false);
  const reason = await seen.promise;
  assert.ok(reason instanceof SubscribeError, String(reason));
  assert.equal(reason.code, SubscribeErrorCode.SubscribeTimeout);
  assert.equal(reason.remote, true);
  await p.close();
});

test("TrackReader.update: the publisher's updated() yields it and trackConfig changes", T, async () => {
  const p = await pair();
  const updates: TrackConfig[] = [];
  const twP = defer<TrackWriter>();
  const two = defer();
  p.serverMux.publishFunc(undefined, "/live", async (tw) => {
    twP.resolve(tw);
    const it = tw.updated();
    await tw.writeInfo();
    for await (const c of it) {
      updates.push(c);
      if (updates.length === 2) two.resolve();
    }
  });
  const tr = await p.client.subscribe("/live", "v", { trackPriority: 1 });
  const tw = await twP.promise;
  assert.deepEqual(tw.trackConfig, { trackPriority: 1 });
  await tr.update({ trackPriority: 9 });
  assert.deepEqual(tr.trackConfig, { trackPriority: 9 });
  await tr.update({ trackPriority: 200 });
  await two.promise;
  assert.deepEqual(updates, [{ trackPriority: 9 }, { trackPriority: 200 }]);
  assert.deepEqual(tw.trackConfig, { trackPriority: 200 });
  await assert.rejects(tr.update({ trackPriority: -1 }), RangeError);
  await p.close();
});

test(
  "TrackReader.close(): the publisher's signal aborts (FIN is the end) and its groups get STOP_SENDING 4",
  T,
  async () => {
    const p = await pair();
    const gwP = defer<GroupWriter>();
    const done = defer<{ track: unknown; group: unknown }>();
    p.serverMux.publishFunc(undefined, "/live", async (tw) => {
      const g = await tw.openGroup();
      await g.writeFrame(enc("a"));
      gwP.resolve(g);
      const [track, group] = await Promise.all([aborted(tw.signal), aborted(g.signal)]);
      done.resolve({ track, group });
    });
    const tr = await p.client.subscribe("/live", "v");
    const g = await tr.acceptGroup();
    assert.equal(dec((await g.readFrame())!.body()), "a");
    const gw = await gwP.promise;
    await tr.close();
    const { track, group } = await done.promise;
    assert.ok(track instanceof SubscribeError, String(track));
    assert.ok(group instanceof GroupError, String(group));
    assert.equal(group.code, GroupErrorCode.SubscribeCanceled);
    assert.equal(group.remote, true);
    await assert.rejects(gw.writeFrame(enc("b")), (e: unknown) => e instanceof GroupError && e.code === 4);
    // The local group is cancelled too, and the reader is over.
    await assert.rejects(g.readFrame(), (e: unknown) => e instanceof GroupError && e.code === 4);
    assert.equal(tr.signal.aborted, true);
    await p.close();
  },
);

test("TrackReader.closeWithError(c): the publisher sees SubscribeError c", T, async () => {
  const p = await pair();
  const seen = defer<unknown>();
  p.serverMux.publishFunc(undefined, "/live", async (tw) => {
    await tw.writeInfo();
    seen.resolve(await aborted(tw.signal));
  });
  const tr = await p.client.subscribe("/live", "v");
  await tr.closeWithError(SubscribeErrorCode.Unauthorized);
  const r = await seen.promise;
  assert.ok(r instanceof SubscribeError);
  assert.equal(r.code, SubscribeErrorCode.Unauthorized);
  assert.equal(r.remote, true);
  const local = await rejection(tr.acceptGroup());
  assert.ok(local instanceof SubscribeError);
  assert.equal(local.code, SubscribeErrorCode.Unauthorized);
  assert.equal(local.remote, false);
  await p.close();
});

test("TrackWriter.close(): the subscriber's iteration ends cleanly after the queued groups", T, async () => {
  const p = await pair();
  p.serverMux.publishFunc(undefined, "/live", async (tw) => {
    for (let i = 0; i < 3; i++) {
      const g = await tw.openGroup();
      await g.writeFrame(enc(`f${i}`));
      await g.close();
    }
    await tw.close();
  });
  const tr = await p.client.subscribe("/live", "v");
  // Let the subscription end completely (after the linger) before reading anything: queued groups must still read.
  await aborted(tr.signal);
  const got: string[] = [];
  for await (const g of tr) for await (const f of g.frames()) got.push(dec(f.body()));
  assert.deepEqual(got, ["f0", "f1", "f2"]);
  await p.close();
});

test("TrackWriter.close() while a group is being read: the group still completes", T, async () => {
  const p = await pair();
  const go = defer();
  p.serverMux.publishFunc(undefined, "/live", async (tw) => {
    const g = await tw.openGroup();
    await g.writeFrame(enc("one"));
    await go.promise;
    await g.writeFrame(enc("two"));
    // tw.close() (on return) FINs the open group and the subscribe stream.
  });
  const tr = await p.client.subscribe("/live", "v");
  const g = await tr.acceptGroup();
  assert.equal(dec((await g.readFrame())!.body()), "one");
  go.resolve();
  assert.equal(dec((await g.readFrame())!.body()), "two");
  await aborted(tr.signal);
  assert.equal(await g.readFrame(), null);
  await p.close();
});

test(
  "TrackWriter.closeWithError(c): acceptGroup rejects with SubscribeError c; open groups get GroupError 5",
  T,
  async () => {
    const p = await pair();
    const twP = defer<TrackWriter>();
    p.serverMux.publishFunc(undefined, "/live", async (tw) => {
      const g = await tw.openGroup();
      await g.writeFrame(enc("a"));
      twP.resolve(tw);
      await aborted(tw.signal);
    });
    const tr = await p.client.subscribe("/live", "v");
    const g = await tr.acceptGroup();
    assert.equal(dec((await g.readFrame())!.body()), "a");
    const tw = await twP.promise;
    await tw.closeWithError(SubscribeErrorCode.Unauthorized);
    const ge = await rejection(g.readFrame());
    assert.ok(ge instanceof GroupError, String(ge));
    assert.equal(ge.code, GroupErrorCode.PublishAborted);
    assert.equal(ge.remote, true);
    const se = await rejection(tr.acceptGroup());
    assert.ok(se instanceof SubscribeError, String(se));
    assert.equal(se.code, SubscribeErrorCode.Unauthorized);
    assert.equal(se.remote, true);
    await assert.rejects(tw.openGroup(), SubscribeError);
    await p.close();
  },
);

test("GroupWriter.cancelWrite(c): the reader's readFrame rejects with GroupError c, remote", T, async () => {
  const p = await pair();
  p.serverMux.publishFunc(undefined, "/live", async (tw) => {
    const g = await tw.openGroup();
    await g.writeFrame(enc("a"));
    g.cancelWrite(77);
    assert.equal(g.signal.aborted, true);
    await assert.rejects(g.writeFrame(enc("b")), (e: unknown) => e instanceof GroupError && e.code === 77);
    await aborted(tw.signal);
  });
  const tr = await p.client.subscribe("/live", "v");
  const g = await tr.acceptGroup();
  // The reset may discard unread data (as QUIC may); either way the read ends with the code.
  let err: unknown;
  try {
    for (;;) if ((await g.readFrame()) === null) break;
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof GroupError, String(err));
  assert.equal(err.code, 77);
  assert.equal(err.remote, true);
  await p.close();
});

test(
  "GroupReader.cancelRead(c): the writer's signal aborts with GroupError c, remote, and writeFrame rejects",
  T,
  async () => {
    const p = await pair();
    const result = defer<{ reason: unknown; write: unknown }>();
    p.serverMux.publishFunc(undefined, "/live", async (tw) => {
      const g = await tw.openGroup();
      await g.writeFrame(enc("a"));
      const reason = await aborted(g.signal);
      const write = await rejection(g.writeFrame(enc("b")));
      result.resolve({ reason, write });
      await aborted(tw.signal);
    });
    const tr = await p.client.subscribe("/live", "v");
    const g = await tr.acceptGroup();
    await g.readFrame();
    g.cancelRead(99);
    await assert.rejects(
      g.readFrame(),
      (e: unknown) => e instanceof GroupError && e.code === 99 && !e.remote,
    );
    const { reason, write } = await result.promise;
    assert.ok(reason instanceof GroupError);
    assert.equal(reason.code, 99);
    assert.equal(reason.remote, true);
    assert.ok(write instanceof GroupError);
    assert.equal(write.code, 99);
    await p.close();
  },
);

test("deadlines in the past: writeFrame and readFrame fail with ExpiredGroup (3)", T, async () => {
  const p = await pair();
  const writerSide = defer<unknown>();
  p.serverMux.publishFunc(undefined, "/live", async (tw) => {
    const g1 = await tw.openGroup();
    await g1.writeFrame(enc("on time"));
    g1.setWriteDeadline(Date.now() - 1000);
    writerSide.resolve(await rejection(g1.writeFrame(enc("late"))));
    const g2 = await tw.openGroup();
    g2.setWriteDeadline(new Date(Date.now() + 60_000));
    await g2.writeFrame(enc("buffered"));
    g2.setWriteDeadline(undefined);
    await aborted(tw.signal);
  });
  const tr = await p.client.subscribe("/live", "v");
  const w = await writerSide.promise;
  assert.ok(w instanceof GroupError);
  assert.equal(w.code, GroupErrorCode.ExpiredGroup);
  assert.equal(w.remote, false);
  const g1 = await tr.acceptGroup();
  const r1 = await rejection(
    (async () => {
      for (;;) if ((await g1.readFrame()) === null) return;
    })(),
  );
  assert.ok(r1 instanceof GroupError);
  assert.equal(r1.code, GroupErrorCode.ExpiredGroup);
  assert.equal(r1.remote, true);
  const g2 = await tr.acceptGroup();
  // Let the frame arrive, then set a deadline in the past: the read fails even though data is buffered.
  g2.setReadDeadline(new Date(Date.now() - 1));
  const r2 = await rejection(g2.readFrame());
  assert.ok(r2 instanceof GroupError, String(r2));
  assert.equal(r2.code, GroupErrorCode.ExpiredGroup);
  assert.equal(r2.remote, false);
  await p.close();
});

test("a read deadline in the future that passes while waiting expires the group", T, async () => {
  const p = await pair();
  const stopped = defer<unknown>();
  p.serverMux.publishFunc(undefined, "/live", async (tw) => {
    const g = await tw.openGroup();
    await g.writeFrame(enc("a"));
    stopped.resolve(await aborted(g.signal));
    await aborted(tw.signal);
  });
  const tr = await p.client.subscribe("/live", "v");
  const g = await tr.acceptGroup();
  await g.readFrame();
  g.setReadDeadline(Date.now() + 20);
  const err = await rejection(g.readFrame());
  assert.ok(err instanceof GroupError);
  assert.equal(err.code, GroupErrorCode.ExpiredGroup);
  const r = await stopped.promise;
  assert.ok(r instanceof GroupError);
  assert.equal(r.code, GroupErrorCode.ExpiredGroup);
  assert.equal(r.remote, true);
  await p.close();
});

test(
  "acceptGroup(signal) rejects with the signal's reason and a later acceptGroup still gets the group",
  T,
  async () => {
    const p = await pair();
    const go = defer();
    p.serverMux.publishFunc(undefined, "/live", async (tw) => {
      await tw.writeInfo();
      await go.promise;
      const g = await tw.openGroup();
      await g.writeFrame(enc("x"));
      await g.close();
      await aborted(tw.signal);
    });
    const tr = await p.client.subscribe("/live", "v");
    const ac = new AbortController();
    const pending = tr.acceptGroup(ac.signal);
    ac.abort(new Error("gave up"));
    await assert.rejects(pending, /gave up/);
    go.resolve();
    const g: GroupReader = await tr.acceptGroup();
    assert.equal(dec((await g.readFrame())!.body()), "x");
    await p.close();
  },
);

test("a handler that throws closes the subscription with Internal (0)", T, async () => {
  const p = await pair();
  p.serverMux.publishFunc(undefined, "/live", async (tw) => {
    await tw.writeInfo();
    throw new Error("handler bug");
  });
  const tr = await p.client.subscribe("/live", "v");
  const err = await rejection(tr.acceptGroup());
  assert.ok(err instanceof SubscribeError);
  assert.equal(err.code, SubscribeErrorCode.Internal);
  assert.equal(err.remote, true);
  await p.close();
});

test("the session ending fails pending subscription calls with the SessionError", T, async () => {
  const p = await pair();
  p.serverMux.publishFunc(undefined, "/live", async (tw) => {
    const g = await tw.openGroup();
    await g.writeFrame(enc("a"));
    await aborted(tw.signal);
  });
  const tr = await p.client.subscribe("/live", "v");
  const g = await tr.acceptGroup();
  await g.readFrame();
  const pendingGroup = tr.acceptGroup();
  const pendingFrame = g.readFrame();
  await p.server.closeWithError(0x42, "bye");
  const e1 = await rejection(pendingGroup);
  const e2 = await rejection(pendingFrame);
  assert.ok(e1 instanceof SessionError, String(e1));
  assert.equal(e1.code, 0x42);
  assert.ok(e2 instanceof SessionError, String(e2));
  assert.equal(e2.code, 0x42);
  await assert.rejects(p.client.subscribe("/live", "v"), SessionError);
  await p.close();
});

test("cancelWrite / cancelRead / closeWithError codes arrive unchanged at 0 and 2^32-1", T, async () => {
  for (const code of [0, 0xffffffff]) {
    const p = await pair();
    const stopped = defer<unknown>();
    const subAbort = defer<unknown>();
    p.serverMux.publishFunc(undefined, "/w", async (tw) => {
      const g = await tw.openGroup();
      await g.writeFrame(enc("a"));
      g.cancelWrite(code);
    });
    p.serverMux.publishFunc(undefined, "/r", async (tw) => {
      const g = await tw.openGroup();
      await g.writeFrame(enc("a"));
      stopped.resolve(await aborted(g.signal));
      subAbort.resolve(await aborted(tw.signal));
    });
    const tw = await p.client.subscribe("/w", "v");
    const gw = await tw.acceptGroup();
    let e: unknown;
    try {
      while ((await gw.readFrame()) !== null);
    } catch (x) {
      e = x;
    }
    assert.equal((e as GroupError).code, code);
    const tr = await p.client.subscribe("/r", "v");
    const gr = await tr.acceptGroup();
    await gr.readFrame();
    gr.cancelRead(code);
    assert.equal(((await stopped.promise) as GroupError).code, code);
    await tr.closeWithError(code);
    assert.equal(((await subAbort.promise) as SubscribeError).code, code);
    await p.close();
  }
});
