// Faults on real QUIC: a publisher streams hashed groups to a subscriber through an impairment proxy on loopback
// (loss, delay, reordering, then a 3 s blackhole, then a clean link). Every group that completes must arrive intact
// (its last frame is the SHA-256 of the others), the session must survive the blackhole and deliver again, and once
// the publisher ends, no accepted group may stay pending.
import { it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as moqt from "../../src/index.js";
import { UdpProxy } from "../support/udp_proxy.js";

function frameBytes(seq: number, i: number): Uint8Array {
  const n = 1024 + ((seq * 7919 + i * 104729) % 7168);
  const b = new Uint8Array(n);
  for (let k = 0; k < n; k++) b[k] = (seq * 31 + i * 17 + k) & 0xff;
  return b;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const scheme of ["moqt", "https"] as const) {
  it(
    `groups arrive intact through loss, reordering and a blackhole (${scheme})`,
    { timeout: 90_000 },
    async () => {
      const mux = new moqt.TrackMux();
      let publishing = true;
      let published = 0;
      mux.publishFunc(undefined, "/faulty", async (tw) => {
        for (let seq = 0; publishing && !tw.signal.aborted; seq++) {
          const g = await tw.openGroup(seq);
          const h = createHash("sha256");
          for (let i = 0; i < 8; i++) {
            const f = frameBytes(seq, i);
            h.update(f);
            await g.writeFrame(f);
          }
          await g.writeFrame(h.digest());
          await g.close();
          published++;
          await sleep(50);
        }
      });
      const router = new moqt.SetupRouter();
      router.handleFunc("/", async (w, r) => {
        await moqt.accept(w, r, mux);
      });
      const server = new moqt.Server({ addr: "127.0.0.1:0", setupHandler: router, bitrateMonitor: false });
      server.listen();
      const proxy = await UdpProxy.start({
        targetPort: server.port,
        loss: 0.03,
        delayMs: 10,
        reorder: 0.02,
        seed: 7,
      });
      const client = new moqt.Client({
        tls: { serverCertificateHashes: [server.certificateHash!] },
        bitrateMonitor: false,
      });
      try {
        const session = await client.dial(`${scheme}://127.0.0.1:${proxy.port}/`);
        const tr = await session.subscribe("/faulty", "data");
        const stats = { intact: 0, corrupt: 0, failed: 0, intactAfterBlackhole: 0 };
        let afterBlackhole = false;
        const pending = new Set<Promise<void>>();
        const reading = (async () => {
          for await (const g of tr) {
            const p = (async () => {
              const frames: Uint8Array[] = [];
              try {
                for await (const f of g.frames()) frames.push(f.body().slice());
              } catch {
                stats.failed++;
                return;
              }
              const digest = frames.pop();
              const h = createHash("sha256");
              const seq = Number(g.groupSequence);
              frames.forEach((f, i) => {
                assert.deepEqual(f, frameBytes(seq, i));
                h.update(f);
              });
              if (digest && Buffer.from(digest).equals(h.digest()) && frames.length === 8) {
                stats.intact++;
                if (afterBlackhole) stats.intactAfterBlackhole++;
              } else stats.corrupt++;
            })().catch(() => {
              stats.corrupt++;
            });
            pending.add(p);
            void p.then(() => pending.delete(p));
          }
        })().catch(() => {});

        await sleep(5000); // lossy, reordered link
        proxy.blackhole(3000);
        await sleep(3000);
        proxy.set({ loss: 0, reorder: 0, delayMs: 0 });
        afterBlackhole = true;
        await sleep(3000);
        publishing = false;

        // The publisher ends the track; every group accepted so far must settle.
        await reading;
        await Promise.race([
          Promise.all([...pending]),
          sleep(30_000).then(() => assert.fail(`${pending.size} groups never settled`)),
        ]);
        const detail = JSON.stringify({ ...stats, published, dropped: proxy.dropped });
        assert.equal(stats.corrupt, 0, detail);
        assert.ok(stats.intact > 0, detail);
        assert.ok(stats.intactAfterBlackhole > 0, `nothing delivered after the blackhole: ${detail}`);
        if (process.env.MOQT_TEST_VERBOSE) console.log(detail);
        await session.closeWithError(0, "done");
      } finally {
        await client.close();
        await server.close();
        proxy.close();
      }
    },
  );
}
