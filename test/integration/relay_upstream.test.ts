// Relay upstream subscriptions over real loopback QUIC: the upstream is kept for `upstreamLinger` after the last
// subscriber leaves (so churn through zero subscribers does not re-subscribe to the publisher), closed once idle, and
// carries the highest downstream priority through SUBSCRIBE_UPDATE (joins, updates, the highest one leaving).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  Client,
  SubscribeError,
  TrackMux,
  nativeAvailable,
  type Session,
  type TrackConfig,
  type TrackReader,
  type TrackWriter,
} from "../../src/index.js";
import { PUBLISHER_GONE, startRelay, type Relay, type RelayOptions } from "../../src/relay/index.js";

const skip =
  !nativeAvailable() && !process.env["CI"] ? "native addon not built: run `npm run build:native`" : false;
const enc = new TextEncoder();
const dec = new TextDecoder();

const SCHEMES = ["https", "moqt"] as const;
type Scheme = (typeof SCHEMES)[number];

/** Poll `cond` until it holds (the test's own timeout bounds the wait). */
async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, 10));
}

interface Env {
  relay: Relay;
  dial(mux?: TrackMux): Promise<Session>;
}

async function withRelay(scheme: Scheme, opts: RelayOptions, fn: (env: Env) => Promise<void>): Promise<void> {
  const relay = await startRelay({ listen: "127.0.0.1:0", http: "127.0.0.1:0", ...opts });
  const client = new Client({ tls: { insecureSkipVerify: true }, bitrateMonitor: false });
  try {
    await fn({
      relay,
      dial: (mux) => client.dial(`${scheme}://127.0.0.1:${relay.port}/`, mux ?? new TrackMux()),
    });
  } finally {
    await client.close().catch(() => {});
    await relay.close();
  }
}

async function metric(relay: Relay, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${relay.httpPort}/metrics`)).text();
  for (const line of text.split("\n")) {
    const sp = line.lastIndexOf(" ");
    if (!line.startsWith("#") && line.slice(0, sp) === name) return Number(line.slice(sp + 1));
  }
  return undefined;
}

/** Subscribe once `path` is announced to `session` (the relay refuses a subscription before that). */
async function subscribeWhenAnnounced(
  session: Session,
  path: string,
  name: string,
  config?: TrackConfig,
): Promise<TrackReader> {
  const ar = await session.acceptAnnounce("/");
  for (;;) {
    const a = await ar.receiveAnnouncement();
    if (a.broadcastPath === path) break;
  }
  void ar.close();
  return session.subscribe(path, name, config);
}

async function firstFrame(tr: TrackReader): Promise<string> {
  const g = await tr.acceptGroup();
  const f = await g.readFrame();
  assert.ok(f, "the group has a frame");
  return dec.decode(f.body());
}

/** A publisher of `path` whose handler writes group 0 ["hello"] and then holds the subscription open. */
function holdingPublisher(path: string) {
  const subscriptions: TrackWriter[] = [];
  const mux = new TrackMux();
  mux.publishFunc(undefined, path, async (tw) => {
    subscriptions.push(tw);
    const g = await tw.openGroup(0);
    await g.writeFrame(enc.encode("hello"));
    await g.close();
    await new Promise((r) => tw.signal.addEventListener("abort", r, { once: true }));
  });
  return { mux, subscriptions };
}

describe("relay upstream lifetime", { skip, timeout: 60_000 }, () => {
  for (const scheme of SCHEMES) {
    it(`subscribers churning through zero reuse one upstream subscription within the linger (${scheme})`, async () => {
      // A long linger: every re-subscription below happens well within it.
      await withRelay(scheme, { upstreamLinger: 30_000 }, async ({ relay, dial }) => {
        const pub = holdingPublisher("/churn");
        await dial(pub.mux);
        for (let i = 0; i < 5; i++) {
          const s = await dial();
          const tr = await subscribeWhenAnnounced(s, "/churn", "video");
          assert.equal(await firstFrame(tr), "hello", `subscriber ${i} gets the (cached) group`);
          await s.closeWithError(0, "churn");
          await until(() => relay.stats().broadcasts.get("/churn")?.subscriptions === 0);
        }
        assert.equal(pub.subscriptions.length, 1, "the publisher saw one subscription");
        assert.equal(pub.subscriptions[0]!.signal.aborted, false, "it is still open (lingering)");
        assert.equal(relay.stats().broadcasts.get("/churn")?.upstream, 1);
        assert.equal(await metric(relay, "moqt_relay_upstream_subscribes_total"), 1);
        assert.equal(await metric(relay, 'moqt_relay_upstream_closed_total{reason="idle"}'), 0);
      });
    });
  }

  it("with upstreamLinger 0, every subscriber after the last one left subscribes upstream again", async () => {
    await withRelay("moqt", { upstreamLinger: 0 }, async ({ relay, dial }) => {
      const pub = holdingPublisher("/churn0");
      await dial(pub.mux);
      for (let i = 0; i < 3; i++) {
        const s = await dial();
        const tr = await subscribeWhenAnnounced(s, "/churn0", "video");
        assert.equal(await firstFrame(tr), "hello");
        await s.closeWithError(0, "churn");
        await until(() => relay.stats().broadcasts.get("/churn0")?.upstream === 0);
      }
      assert.equal(pub.subscriptions.length, 3);
      await until(() => pub.subscriptions.every((tw) => tw.signal.aborted));
      assert.equal(await metric(relay, "moqt_relay_upstream_subscribes_total"), 3);
      assert.equal(await metric(relay, 'moqt_relay_upstream_closed_total{reason="idle"}'), 3);
    });
  });

  it("closes the upstream once no subscriber came back within the linger, and counts why", async () => {
    await withRelay("https", { upstreamLinger: 200 }, async ({ relay, dial }) => {
      const pub = holdingPublisher("/idle");
      await dial(pub.mux);
      const s = await dial();
      const tr = await subscribeWhenAnnounced(s, "/idle", "video");
      assert.equal(await firstFrame(tr), "hello");
      await tr.close();
      await until(() => pub.subscriptions[0]?.signal.aborted === true);
      assert.equal(relay.stats().broadcasts.get("/idle")?.upstream, 0);
      assert.equal(await metric(relay, 'moqt_relay_upstream_closed_total{reason="idle"}'), 1);
      // A new subscriber now opens a new upstream subscription.
      const tr2 = await s.subscribe("/idle", "video");
      assert.equal(await firstFrame(tr2), "hello");
      assert.equal(pub.subscriptions.length, 2);
      assert.equal(await metric(relay, "moqt_relay_upstream_subscribes_total"), 2);
    });
  });

  it("a publisher leaving while its upstream lingers ends it as publisher_gone; a later subscriber is refused", async () => {
    await withRelay("moqt", { upstreamLinger: 30_000 }, async ({ relay, dial }) => {
      const pub = holdingPublisher("/gone");
      const ps = await dial(pub.mux);
      const s = await dial();
      const tr = await subscribeWhenAnnounced(s, "/gone", "video");
      assert.equal(await firstFrame(tr), "hello");
      await tr.close();
      await until(() => relay.stats().broadcasts.get("/gone")?.subscriptions === 0);
      assert.equal(relay.stats().broadcasts.get("/gone")?.upstream, 1, "lingering");
      await ps.closeWithError(0, "publisher leaves");
      await until(() => relay.stats().announcementsActive === 0);
      assert.equal(await metric(relay, 'moqt_relay_upstream_closed_total{reason="publisher_gone"}'), 1);
      assert.equal(await metric(relay, 'moqt_relay_upstream_closed_total{reason="idle"}'), 0);
      await assert.rejects(s.subscribe("/gone", "video"), (e: unknown) => {
        assert.ok(e instanceof SubscribeError);
        assert.equal(e.code, PUBLISHER_GONE);
        return true;
      });
    });
  });

  it("rejects a negative upstreamLinger", async () => {
    await assert.rejects(startRelay({ listen: "127.0.0.1:0", http: false, upstreamLinger: -1 }), RangeError);
  });
});

describe("relay SUBSCRIBE_UPDATE upstream (highest downstream priority)", { skip, timeout: 60_000 }, () => {
  it("a higher subscriber joining before the upstream SUBSCRIBE_OK is sent as an update once it is OK", async () => {
    await withRelay("moqt", {}, async ({ relay, dial }) => {
      const initial: number[] = [];
      const updates: number[] = [];
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const mux = new TrackMux();
      mux.publishFunc(undefined, "/late-ok", async (tw) => {
        initial.push(tw.trackConfig.trackPriority ?? -1);
        await gate; // SUBSCRIBE_OK (lazy) goes out only now
        await tw.writeInfo();
        for await (const c of tw.updated()) updates.push(c.trackPriority ?? -1);
      });
      await dial(mux);
      const [a, b] = await Promise.all([dial(), dial()]);
      const pa = subscribeWhenAnnounced(a, "/late-ok", "v", { trackPriority: 3 });
      await until(() => initial.length === 1);
      const pb = subscribeWhenAnnounced(b, "/late-ok", "v", { trackPriority: 7 });
      await until(() => relay.stats().broadcasts.get("/late-ok")?.subscriptions === 2);
      assert.deepEqual(updates, []);
      release();
      await Promise.all([pa, pb]);
      await until(() => updates.length === 1);
      assert.deepEqual(initial, [3]);
      assert.deepEqual(updates, [7]);
    });
  });

  for (const scheme of SCHEMES) {
    it(`follows joins, updates and the highest subscriber leaving (${scheme})`, async () => {
      await withRelay(scheme, {}, async ({ relay, dial }) => {
        const initial: number[] = [];
        const updates: number[] = [];
        let writer: TrackWriter | undefined;
        const mux = new TrackMux();
        mux.publishFunc(undefined, "/prio", async (tw) => {
          writer = tw;
          initial.push(tw.trackConfig.trackPriority ?? -1);
          await tw.writeInfo();
          for await (const c of tw.updated()) updates.push(c.trackPriority ?? -1);
        });
        await dial(mux);
        const subs = () => relay.stats().broadcasts.get("/prio")?.subscriptions;
        const [a, b, c] = await Promise.all([dial(), dial(), dial()]);

        const trA = await subscribeWhenAnnounced(a, "/prio", "v", { trackPriority: 10 });
        await until(() => initial.length === 1);
        assert.deepEqual(initial, [10], "the upstream SUBSCRIBE carries the first subscriber's priority");

        const trB = await subscribeWhenAnnounced(b, "/prio", "v", { trackPriority: 200 });
        await until(() => updates.length === 1);
        assert.deepEqual(updates, [200], "a higher subscriber joining raises the upstream priority");

        const trC = await subscribeWhenAnnounced(c, "/prio", "v", { trackPriority: 50 });
        await until(() => subs() === 3);

        await trB.update({ trackPriority: 20 }); // highest is now C's 50 (a lower joiner sent nothing)
        await until(() => updates.length === 2);
        assert.deepEqual(updates, [200, 50]);

        await trC.close(); // the highest leaves: max(10, 20)
        await until(() => updates.length === 3);
        assert.deepEqual(updates, [200, 50, 20]);

        await trA.update({ trackPriority: 100 });
        await until(() => updates.length === 4);
        await a.closeWithError(0, "bye"); // the highest's session goes: back to B's 20
        await until(() => updates.length === 5);
        assert.deepEqual(updates, [200, 50, 20, 100, 20]);
        assert.equal(writer?.trackConfig.trackPriority, 20);

        await trB.update({ trackPriority: 20 }); // no change of the maximum: nothing sent
        await trB.close(); // the last one leaves: the (lingering) upstream keeps its priority
        await until(() => subs() === 0);
        assert.equal(await metric(relay, "moqt_relay_upstream_updates_total"), 5);
        assert.deepEqual(updates, [200, 50, 20, 100, 20]);
        assert.equal(initial.length, 1, "one upstream subscription throughout");
      });
    });
  }
});
