// Bitrate monitor under a real bandwidth change: a publisher streams through a throttling UDP proxy on loopback;
// its BitrateMonitor samples the connection's estimate and sends SESSION_UPDATE; the subscriber's `updated()` sees
// the estimate follow the link when the proxy's rate goes from 1 MB/s to 8 MB/s.
import { it } from "node:test";
import assert from "node:assert/strict";
import * as moqt from "../../src/index.js";
import { UdpProxy } from "../support/udp_proxy.js";

const LOW = 1_000_000; // bytes/s
const HIGH = 8_000_000;
const PHASE_MS = 4000;

it("SESSION_UPDATE follows a real bandwidth change", { timeout: 60_000 }, async () => {
  const mux = new moqt.TrackMux();
  const payload = new Uint8Array(32 * 1024);
  mux.publishFunc(undefined, "/bulk", async (tw) => {
    while (!tw.signal.aborted) {
      const g = await tw.openGroup();
      for (let i = 0; i < 8 && !tw.signal.aborted; i++) await g.writeFrame(payload);
      await g.close();
    }
  });
  const router = new moqt.SetupRouter();
  router.handleFunc("/", async (w, r) => {
    await moqt.accept(w, r, mux);
  });
  const server = new moqt.Server({
    addr: "127.0.0.1:0",
    setupHandler: router,
    bitrateMonitor: { intervalMs: 100, threshold: 0.25, minIntervalMs: 200 },
  });
  server.listen();
  const proxy = await UdpProxy.start({ targetPort: server.port, rateBytesPerSec: LOW });
  const client = new moqt.Client({
    tls: { serverCertificateHashes: [server.certificateHash!] },
    bitrateMonitor: false,
  });
  try {
    const session = await client.dial(`moqt://127.0.0.1:${proxy.port}/`);
    const updates: { at: number; bitrate: number }[] = [];
    const collecting = (async () => {
      for await (const u of session.updated()) updates.push({ at: performance.now(), bitrate: u.bitrate });
    })();
    const tr = await session.subscribe("/bulk", "data");
    let received = 0;
    const draining = (async () => {
      for await (const g of tr) for await (const f of g.frames()) received += f.len;
    })().catch(() => {});

    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, PHASE_MS));
    const switchAt = performance.now();
    proxy.setRate(HIGH);
    await new Promise((r) => setTimeout(r, PHASE_MS));

    // The estimate settles in the low phase (then stays within the threshold, so updates stop): take the last one
    // sent before the switch. After the switch it is noisier: take the median of what came in the second half.
    const lastLow = updates.filter((u) => u.at <= switchAt).at(-1)?.bitrate;
    const high = updates.filter((u) => u.at > switchAt + PHASE_MS / 2).map((u) => u.bitrate);
    high.sort((a, b) => a - b);
    const medianHigh = high[Math.floor(high.length / 2)];
    const detail = JSON.stringify({
      updates: updates.map((u) => [Math.round(u.at - t0), u.bitrate]),
      received,
      dropped: proxy.dropped,
    });
    assert.ok(updates.length >= 2, `expected SESSION_UPDATEs, got ${detail}`);
    assert.ok(lastLow !== undefined, `no update before the rate change: ${detail}`);
    assert.ok(medianHigh !== undefined, `no update after the rate change: ${detail}`);
    // The link went 8x faster; the announced estimate must follow it up clearly.
    assert.ok(medianHigh > 2 * lastLow, `estimate did not follow the link: ${detail}`);
    if (process.env.MOQT_TEST_VERBOSE) console.log(detail);
    assert.equal(session.remoteBitrate, updates.at(-1)!.bitrate);
    await tr.close();
    await session.closeWithError(0, "done");
    await Promise.all([collecting, draining]);
  } finally {
    await client.close();
    await server.close();
    proxy.close();
  }
});
