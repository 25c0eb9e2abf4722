// GroupWriter over the native addon's streams (raw QUIC and WebTransport, loopback): batched small frames and
// prefix + payload writes (`writeParts` → `tryWrite2`) stay intact and in order when quinn's flow control makes the
// writes wait (several MB on one stream, read slowly), and a reset after batched frames reaches the reader with its
// code.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  connectNative,
  generateCertificate,
  listenNative,
  nativeAvailable,
  type NativeListener,
  type NativeTransport,
} from "../../src/transport/native/index.js";
import { StreamError } from "../../src/transport/stream_error.js";
import type { RecvStream } from "../../src/transport/transport.js";
import { GroupWriter } from "../../src/track/group_writer.js";
import { ChunkBuffer } from "../../src/wire/index.js";

const skip =
  !nativeAvailable() && !process.env["CI"] ? "native addon not built: run `npm run build:native`" : false;
const T = { timeout: 30_000 };

const payload = (n: number, seed: number): Uint8Array => {
  const p = new Uint8Array(n);
  for (let i = 0; i < n; i++) p[i] = (i * 13 + seed) & 0xff;
  return p;
};

/** Read frames until FIN, yielding to timers between reads (a slow reader, so the writer meets backpressure). */
async function readFrames(r: RecvStream): Promise<Uint8Array[]> {
  const b = new ChunkBuffer();
  const out: Uint8Array[] = [];
  for (let c = await r.read(); c !== null; c = await r.read()) {
    b.push(c);
    for (let f = b.tryFrame(1 << 24); f !== undefined; f = b.tryFrame(1 << 24)) out.push(f.slice());
    await new Promise((res) => setTimeout(res, 1));
  }
  b.assertEmpty("frame");
  return out;
}

for (const alpn of ["moq-00", "h3"] as const) {
  describe(`GroupWriter over native streams (${alpn})`, { skip }, () => {
    let listener: NativeListener;
    let client: NativeTransport;
    let server: NativeTransport;
    before(async () => {
      const cert = generateCertificate();
      listener = listenNative({ host: "127.0.0.1", port: 0, certPem: cert.certPem, keyPem: cert.keyPem });
      const accepted = listener.accept();
      client = await connectNative(`https://127.0.0.1:${listener.port}/`, {
        alpn,
        certHashes: [cert.sha256],
      });
      server = (await accepted)!.transport;
    });
    after(() => {
      client.close(0, "");
      listener.close();
    });

    it(
      "6 MB of mixed frames (batched, prefix + payload, > 64 KiB) arrive intact under backpressure",
      T,
      async () => {
        const sizes: number[] = [];
        for (let i = 0, total = 0; total < 6e6; i++) {
          const n = i % 50 === 0 ? 300_000 : i % 7 === 0 ? 20_000 + i : i % 3 === 0 ? 5000 : (i * 53) % 2000;
          sizes.push(n);
          total += n;
        }
        const send = await client.openUni();
        const accepted = server.acceptUni();
        const g = new GroupWriter(send, undefined, 0, new AbortController().signal, () => {});
        const writing = (async () => {
          for (const [i, n] of sizes.entries()) await g.writeFrame(payload(n, i));
          await g.close();
        })();
        const recv = (await accepted)!;
        const got = await readFrames(recv);
        await writing;
        assert.equal(got.length, sizes.length);
        for (const [i, n] of sizes.entries()) assert.deepEqual(got[i], payload(n, i), `frame ${i} (${n} B)`);
      },
    );

    it("cancelWrite(c) after batched frames resets the stream with c", T, async () => {
      const send = await client.openUni();
      const accepted = server.acceptUni();
      const g = new GroupWriter(send, undefined, 0, new AbortController().signal, () => {});
      await g.writeFrame(payload(10_000, 1)); // prefix + payload: opens the stream on the wire
      await g.writeFrame(payload(100, 2)); // batched
      g.cancelWrite(0x1234);
      const recv = (await accepted)!;
      await assert.rejects(
        (async () => {
          while ((await recv.read()) !== null);
        })(),
        (e: unknown) => e instanceof StreamError && e.code === 0x1234 && e.remote,
      );
    });
  });
}
