// Relay under a burst of connecting subscribers while it forwards media (real loopback QUIC, both transports):
// every subscriber either gets the media or fails with a typed error (no hang), a subscriber that was already
// watching loses nothing, and the relay's gauges come back to the baseline after the burst leaves.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  Client,
  SessionErrorCode,
  TrackMux,
  isMoqtError,
  nativeAvailable,
  type GroupWriter,
  type Session,
} from "../../src/index.js";
import { startRelay } from "../../src/relay/index.js";
import { connectNative } from "../../src/transport/native/index.js";

const skip =
  !nativeAvailable() && !process.env["CI"] ? "native addon not built: run `npm run build:native`" : false;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const BURST = 200;
const FRAMES_PER_GROUP = 10;

/** Poll `cond` until it holds (the test's own timeout bounds the wait). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await sleep(20);
}

describe("relay under a burst of subscribers", { skip, timeout: 120_000 }, () => {
  it(`${BURST} subscribers connecting at once while media flows: typed outcomes, no loss for a watcher, back to baseline`, async () => {
    const relay = await startRelay({ listen: "127.0.0.1:0", http: false });
    const client = new Client({ tls: { insecureSkipVerify: true }, bitrateMonitor: false });
    let publishing = true;
    try {
      // Publisher: 30 frames/s, a group every 10 frames; each frame names its group and index.
      const mux = new TrackMux();
      mux.publishFunc(undefined, "/burst", async (tw) => {
        let g: GroupWriter | undefined;
        try {
          for (let n = 0; publishing && !tw.signal.aborted; n++) {
            if (n % FRAMES_PER_GROUP === 0) {
              await g?.close();
              g = await tw.openGroup(n / FRAMES_PER_GROUP);
            }
            await g!.writeFrame(
              new TextEncoder().encode(`${Math.floor(n / FRAMES_PER_GROUP)}:${n % FRAMES_PER_GROUP}`),
            );
            await sleep(33);
          }
          await g?.close();
          await tw.close();
        } catch {
          // the subscription went away
        }
      });
      const url = (scheme: string) => `${scheme}://127.0.0.1:${relay.port}/`;
      await client.dial(url("moqt"), mux);

      // A watcher subscribed before the burst: it must see every frame of every group it was given.
      const watcher = await client.dial(url("moqt"));
      const ar = await watcher.acceptAnnounce("/");
      await ar.receiveAnnouncement();
      const wtr = await watcher.subscribe("/burst", "video");
      const seen = new Map<number, string[]>();
      const watching = (async () => {
        const reads: Promise<void>[] = [];
        for await (const g of wtr) {
          const frames: string[] = [];
          seen.set(Number(g.groupSequence), frames);
          reads.push(
            (async () => {
              for await (const f of g.frames()) frames.push(new TextDecoder().decode(f.body()));
            })(),
          );
        }
        await Promise.all(reads);
      })();
      await until(() => seen.size >= 2);

      // The burst: every subscriber dials, subscribes and reads one frame; half WebTransport, half raw QUIC.
      const outcomes = await Promise.all(
        Array.from({ length: BURST }, async (_, i) => {
          let s: Session | undefined;
          try {
            s = await client.dial(url(i % 2 === 0 ? "https" : "moqt"));
            const tr = await s.subscribe("/burst", "video");
            const g = await tr.acceptGroup();
            const f = await g.readFrame();
            assert.ok(f, "a frame");
            assert.match(new TextDecoder().decode(f.body()), new RegExp(`^${g.groupSequence}:\\d$`));
            return { ok: true as const, s };
          } catch (e) {
            return { ok: false as const, e, s };
          }
        }),
      );
      const failures = outcomes.filter((o) => !o.ok);
      for (const f of failures) {
        // A session refused or timed out under load is a typed MoQ error, or the transport's connect error.
        const e = f.e;
        assert.ok(
          isMoqtError(e) || (e instanceof Error && /^ECONNECT/.test(e.message)),
          `untyped failure: ${String(e)}`,
        );
      }
      assert.ok(outcomes.length - failures.length > 0, "some subscribers got media");

      // The burst leaves.
      await Promise.all(outcomes.map((o) => o.s?.closeWithError(0, "bye").catch(() => {})));
      await until(() => relay.stats().sessionsOpen === 2);
      await until(() => relay.stats().broadcasts.get("/burst")?.subscriptions === 1);

      // The watcher: consecutive groups, each complete and in order, from before the burst until a group begun
      // after it (a fast machine can finish the burst within one group's 330 ms).
      const afterBurst = seen.size;
      await until(() => seen.size > afterBurst);
      publishing = false;
      await watching;
      const seqs = [...seen.keys()].sort((a, b) => a - b);
      assert.ok(seqs.length >= 3, `the watcher saw ${seqs.length} groups`);
      for (let k = 1; k < seqs.length; k++) assert.equal(seqs[k], seqs[k - 1]! + 1, "no group skipped");
      for (const seq of seqs) {
        const frames = seen.get(seq)!;
        assert.deepEqual(
          frames,
          Array.from({ length: frames.length }, (_, i) => `${seq}:${i}`),
          `group ${seq} in order`,
        );
        if (seq !== seqs[seqs.length - 1])
          assert.equal(frames.length, FRAMES_PER_GROUP, `group ${seq} complete`);
      }
      assert.equal(relay.stats().groupsDropped, 0);
    } finally {
      publishing = false;
      await client.close().catch(() => {});
      await relay.close();
    }
  });

  it("a connection that never sets up a session is closed after the setup timeout and counted, not kept", async () => {
    const relay = await startRelay({
      listen: "127.0.0.1:0",
      http: "127.0.0.1:0",
      config: { setupTimeout: 200 },
    });
    try {
      const t = await connectNative(`moqt://127.0.0.1:${relay.port}/`, { alpn: "moq-00", insecure: true });
      const info = await t.closed; // we never open the session stream
      assert.equal(info.remote, true, "the relay closed it");
      assert.equal(info.code, SessionErrorCode.Internal);
      await until(() => relay.stats().setupFailures === 1);
      assert.equal(relay.stats().sessionsOpen, 0);
      assert.equal(relay.stats().sessionsTotal, 0);
      const text = await (await fetch(`http://127.0.0.1:${relay.httpPort}/metrics`)).text();
      assert.match(text, /^moqt_relay_setup_failures_total 1$/m);
    } finally {
      await relay.close();
    }
  });
});
