// Priorities really schedule streams: two saturating tracks share a 2 MB/s bottleneck (throttling UDP proxy on
// loopback); the subscriber asked for one at priority 255 and the other at 0, and the first must get most of the link.
import { it } from "node:test";
import assert from "node:assert/strict";
import * as moqt from "../../src/index.js";
import { UdpProxy } from "../support/udp_proxy.js";

it("track priority decides who gets a congested link", { timeout: 60_000 }, async () => {
  const mux = new moqt.TrackMux();
  const payload = new Uint8Array(16 * 1024);
  for (const path of ["/hi", "/lo"]) {
    mux.publishFunc(undefined, path, async (tw) => {
      while (!tw.signal.aborted) {
        const g = await tw.openGroup().catch(() => undefined);
        if (!g) return;
        for (let i = 0; i < 4 && !tw.signal.aborted; i++) await g.writeFrame(payload).catch(() => {});
        await g.close().catch(() => {});
      }
    });
  }
  const router = new moqt.SetupRouter();
  router.handleFunc("/", async (w, r) => {
    await moqt.accept(w, r, mux);
  });
  const server = new moqt.Server({ addr: "127.0.0.1:0", setupHandler: router, bitrateMonitor: false });
  server.listen();
  const proxy = await UdpProxy.start({ targetPort: server.port, rateBytesPerSec: 2_000_000 });
  const client = new moqt.Client({
    tls: { serverCertificateHashes: [server.certificateHash!] },
    bitrateMonitor: false,
  });
  try {
    const session = await client.dial(`moqt://127.0.0.1:${proxy.port}/`);
    const bytes = { hi: 0, lo: 0 };
    const readers: Promise<void>[] = [];
    const tracks: moqt.TrackReader[] = [];
    for (const [name, prio] of [
      ["hi", 255],
      ["lo", 0],
    ] as const) {
      const tr = await session.subscribe(`/${name}`, "data", { trackPriority: prio });
      tracks.push(tr);
      readers.push(
        (async () => {
          // Read every group concurrently, so the reader never holds back a stream.
          for await (const g of tr) {
            void (async () => {
              for await (const f of g.frames()) bytes[name] += f.len;
            })().catch(() => {});
          }
        })().catch(() => {}),
      );
    }
    await new Promise((r) => setTimeout(r, 4000));
    const snapshot = { ...bytes };
    for (const tr of tracks) await tr.close();
    await session.closeWithError(0, "done");
    await Promise.all(readers);
    assert.ok(snapshot.hi + snapshot.lo > 0, "nothing delivered");
    assert.ok(
      snapshot.hi > 3 * snapshot.lo,
      `priority 255 got ${snapshot.hi} bytes, priority 0 got ${snapshot.lo}`,
    );
  } finally {
    await client.close();
    await server.close();
    proxy.close();
  }
});
