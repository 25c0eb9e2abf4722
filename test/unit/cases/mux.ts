/** TrackMux end to end over the transport under test (memory, raw QUIC, WebTransport): routing, overwrite semantics,
 *  ending announcements, DefaultTrackMux and the package-level publish/publishFunc/announce. */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DefaultTrackMux,
  NotFoundTrackHandler,
  SubscribeError,
  SubscribeErrorCode,
  TrackMux,
  announce,
  newAnnouncement,
  publish,
  publishFunc,
  type TrackWriter,
} from "../../../src/index.js";
import { aborted, dec, defer, enc, rejection, within, type Harness } from "../helpers.js";

/** Register this suite's tests for transport `h`. */
export function register(h: Harness): void {
  const T = { timeout: 10_000 };

  test("routing is by exact broadcast path; one handler serves every track name", T, async () => {
    const p = await h.pair();
    const names: string[] = [];
    p.serverMux.publishFunc(undefined, "/room/a", async (tw) => {
      names.push(tw.trackName);
      const g = await tw.openGroup();
      await g.writeFrame(enc(tw.trackName));
      await g.close();
    });
    for (const n of ["video", "audio"]) {
      const tr = await p.client.subscribe("/room/a", n);
      const g = await tr.acceptGroup();
      assert.equal(dec((await g.readFrame())!.body()), n);
    }
    assert.deepEqual(names, ["video", "audio"]);
    for (const path of ["/room", "/room/a/", "/room/ab", "/"]) {
      const e = await rejection(p.client.subscribe(path, "video"));
      assert.ok(e instanceof SubscribeError);
      assert.equal(e.code, SubscribeErrorCode.TrackNotFound);
    }
    const [ann, handler] = p.serverMux.trackHandler("/room/a");
    assert.equal(ann?.broadcastPath, "/room/a");
    assert.notEqual(handler, NotFoundTrackHandler);
    assert.deepEqual(p.serverMux.trackHandler("/none"), [undefined, NotFoundTrackHandler]);
    assert.throws(() => p.serverMux.publishFunc(undefined, "bad", () => {}), TypeError);
    await p.close();
  });

  test(
    "publishing the same path twice: listeners see ENDED then ACTIVE, the first handler's writers are closed",
    T,
    async () => {
      const p = await h.pair();
      const firstTw = defer<TrackWriter>();
      p.serverMux.publishFunc(undefined, "/dup", async (tw) => {
        firstTw.resolve(tw);
        await tw.writeInfo();
        await aborted(tw.signal);
      });
      const ar = await p.client.acceptAnnounce("/");
      const a1 = await ar.receiveAnnouncement();
      assert.equal(a1.broadcastPath, "/dup");
      const tr = await p.client.subscribe("/dup", "v");
      const tw1 = await firstTw.promise;

      const served: string[] = [];
      p.serverMux.publishFunc(undefined, "/dup", async (tw) => {
        served.push(tw.trackName);
        await tw.writeInfo();
      });
      // The listener sees the old one end, then the new one become active.
      const a2 = await ar.receiveAnnouncement();
      assert.equal(a2.broadcastPath, "/dup");
      assert.notEqual(a2, a1);
      assert.equal(a1.isActive(), false);
      assert.equal(a2.isActive(), true);
      // The first handler's subscription was closed gracefully (FIN), so the subscriber's track ends cleanly.
      await aborted(tw1.signal);
      for await (const g of tr) assert.fail(`unexpected group ${g.groupSequence}`);
      // New subscriptions go to the second handler.
      await p.client.subscribe("/dup", "w");
      assert.deepEqual(served, ["w"]);
      await p.close();
    },
  );

  test(
    "ending an announcement closes its active TrackWriters, listeners get ENDED and new subscribes are not found",
    T,
    async () => {
      const p = await h.pair();
      const ac = new AbortController();
      const tws: TrackWriter[] = [];
      const two = defer();
      p.serverMux.publishFunc(ac.signal, "/live", async (tw) => {
        tws.push(tw);
        if (tws.length === 2) two.resolve();
        await tw.writeInfo();
        await aborted(tw.signal);
      });
      const ar = await p.client.acceptAnnounce("/");
      const a = await ar.receiveAnnouncement();
      const t1 = await p.client.subscribe("/live", "a");
      const t2 = await p.client.subscribe("/live", "b");
      await two.promise;
      ac.abort();
      await a.ended;
      await Promise.all([aborted(tws[0]!.signal), aborted(tws[1]!.signal)]);
      await Promise.all([aborted(t1.signal), aborted(t2.signal)]);
      const e = await rejection(p.client.subscribe("/live", "c"));
      assert.equal((e as SubscribeError).code, SubscribeErrorCode.TrackNotFound);
      assert.equal(p.serverMux.trackHandler("/live")[0], undefined);
      await p.close();
    },
  );

  test("TrackMux.announce with an object handler; an inactive announcement is ignored", T, async () => {
    const p = await h.pair();
    const [ann, end] = newAnnouncement(undefined, "/obj");
    p.serverMux.announce(ann, {
      async serveTrack(tw) {
        const g = await tw.openGroup();
        await g.writeFrame(enc("obj"));
        await g.close();
      },
    });
    const [dead, endDead] = newAnnouncement(undefined, "/dead");
    endDead();
    p.serverMux.announce(dead, { serveTrack: () => {} });
    assert.equal(p.serverMux.trackHandler("/dead")[0], undefined);
    const tr = await p.client.subscribe("/obj", "x");
    assert.equal(dec((await (await tr.acceptGroup()).readFrame())!.body()), "obj");
    end();
    await p.close();
  });

  test("TrackMux.publish with a handler object", T, async () => {
    const p = await h.pair();
    p.serverMux.publish(undefined, "/h", {
      serveTrack: async (tw) => {
        const g = await tw.openGroup(5);
        await g.close();
      },
    });
    const tr = await p.client.subscribe("/h", "x");
    assert.equal((await tr.acceptGroup()).groupSequence, 5);
    await p.close();
  });

  test("DefaultTrackMux with package-level publish, publishFunc and announce", T, async () => {
    const ac = new AbortController();
    publishFunc(ac.signal, "/default/func", async (tw) => {
      const g = await tw.openGroup();
      await g.writeFrame(enc("func"));
      await g.close();
    });
    publish(ac.signal, "/default/obj", {
      serveTrack: async (tw) => {
        const g = await tw.openGroup();
        await g.writeFrame(enc("obj"));
        await g.close();
      },
    });
    const [ann] = newAnnouncement(ac.signal, "/default/ann");
    announce(ann, {
      serveTrack: async (tw) => {
        const g = await tw.openGroup();
        await g.writeFrame(enc("ann"));
        await g.close();
      },
    });
    // A server without a mux option serves DefaultTrackMux.
    const conn = await h.connect({ dial: { mux: new TrackMux() } });
    const [client, server] = await within(Promise.all([conn.client, conn.server]), "setup");
    assert.equal(server.mux, DefaultTrackMux);
    const ar = await client.acceptAnnounce("/default/");
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) seen.add((await ar.receiveAnnouncement()).broadcastPath);
    assert.deepEqual([...seen].sort(), ["/default/ann", "/default/func", "/default/obj"]);
    for (const n of ["func", "obj", "ann"]) {
      const tr = await client.subscribe(`/default/${n}`, "x");
      assert.equal(dec((await (await tr.acceptGroup()).readFrame())!.body()), n);
    }
    ac.abort();
    assert.equal(DefaultTrackMux.trackHandler("/default/func")[0], undefined);
    await client.closeWithError(0, "");
    await within(server.closed, "the server session to close");
    await conn.dispose();
  });

  test("the server can subscribe to the client's mux (both directions)", T, async () => {
    const p = await h.pair();
    p.clientMux.publishFunc(undefined, "/from-client", async (tw) => {
      const g = await tw.openGroup();
      await g.writeFrame(enc("up"));
      await g.close();
    });
    const ar = await p.server.acceptAnnounce("/");
    assert.equal((await ar.receiveAnnouncement()).broadcastPath, "/from-client");
    const tr = await p.server.subscribe("/from-client", "x");
    assert.equal(tr.subscribeId, 1);
    assert.equal(dec((await (await tr.acceptGroup()).readFrame())!.body()), "up");
    await p.close();
  });
}
