/** Raw transport benchmark for the native addon: one-stream and many-stream throughput and echo streams/s, over raw
 *  QUIC (moq-00) and WebTransport (h3), with the server in a separate process on loopback.
 *
 *  Run: `npx tsx bench/raw_transport.ts` (options: --mb=256 --streams=16 --stream-mb=16 --echo=5000 --conc=100).
 *  The child (`--server`) prints `{port, hash}` as its first stdout line. Bidi streams start with a mode byte:
 *  1 = echo everything back, 2 = sink (read to FIN, reply with the byte count as 8 bytes), 3 = source (then u32 write
 *  size, u64 byte count: the server writes that many bytes back in writes of that size, then FIN).
 *  @module */
import { fileURLToPath } from "node:url";
import { cpus } from "node:os";
import {
  connectNative,
  generateCertificate,
  listenNative,
  type NativeTransport,
} from "../src/transport/native/index.js";
import type { BiStream } from "../src/transport/transport.js";
import { serveCpu, spawnChild, stopChild } from "./child.js";

const SELF = fileURLToPath(import.meta.url);

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, "").split("=");
    return [k!, v ?? "true"] as const;
  }),
);
const num = (k: string, d: number): number => Number(args.get(k) ?? d);

async function serveStream(bi: BiStream): Promise<void> {
  const head = await bi.recv.read();
  if (!head) return;
  const mode = head[0];
  let first: Uint8Array = head.subarray(1);
  if (mode === 3) {
    while (first.byteLength < 12) {
      const more = await bi.recv.read();
      if (!more) return;
      const b = new Uint8Array(first.byteLength + more.byteLength);
      b.set(first);
      b.set(more, first.byteLength);
      first = b;
    }
    const dv = new DataView(first.buffer, first.byteOffset, 12);
    const size = dv.getUint32(0);
    const total = Number(dv.getBigUint64(4));
    const chunk = new Uint8Array(size).fill(7);
    for (let sent = 0; sent < total;) {
      const n = Math.min(size, total - sent);
      sent += n;
      await bi.send.write(n === size ? chunk : chunk.subarray(0, n), sent >= total);
    }
    return;
  }
  if (mode === 1) {
    if (first.byteLength) await bi.send.write(first);
    for (let c = await bi.recv.read(); c !== null; c = await bi.recv.read()) await bi.send.write(c);
    await bi.send.finish();
  } else {
    let n = first.byteLength;
    for (let c = await bi.recv.read(); c !== null; c = await bi.recv.read()) n += c.byteLength;
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, BigInt(n));
    await bi.send.write(out, true);
  }
}

async function server(): Promise<void> {
  const cert = generateCertificate();
  const l = listenNative({ host: "127.0.0.1", port: 0, certPem: cert.certPem, keyPem: cert.keyPem });
  process.stdout.write(
    JSON.stringify({ port: l.port, hash: Buffer.from(cert.sha256).toString("hex") }) + "\n",
  );
  serveCpu(() => process.exit(0));
  for (let a = await l.accept(); a; a = await l.accept()) {
    const t = a.transport;
    void (async () => {
      for (let bi = await t.acceptBi(); bi; bi = await t.acceptBi())
        void serveStream(bi).catch(() => undefined);
    })();
  }
}

/** Sink mode: write `bytes` on one new bidi stream in writes of `chunk` (FIN on the last), and check the server's
 *  byte count. Also the raw baseline of bench/throughput.ts. */
export async function sink(t: NativeTransport, bytes: number, chunk: Uint8Array): Promise<void> {
  const bi = await t.openBi();
  await bi.send.write(new Uint8Array([2]));
  let sent = 0;
  while (sent < bytes) {
    const n = Math.min(chunk.byteLength, bytes - sent);
    sent += n;
    await bi.send.write(n === chunk.byteLength ? chunk : chunk.subarray(0, n), sent >= bytes);
  }
  const reply = await bi.recv.read();
  const got = Number(new DataView(reply!.buffer, reply!.byteOffset, 8).getBigUint64(0));
  if (got !== bytes) throw new Error(`server counted ${got}, sent ${bytes}`);
}

/** Source mode: the server writes `bytes` on one new bidi stream in writes of `size` (the direction of a MoQ
 *  publisher server → subscriber client); read them all to FIN. */
export async function source(t: NativeTransport, bytes: number, size: number): Promise<void> {
  const bi = await t.openBi();
  const req = new Uint8Array(13);
  req[0] = 3;
  new DataView(req.buffer).setUint32(1, size);
  new DataView(req.buffer).setBigUint64(5, BigInt(bytes));
  await bi.send.write(req, true);
  let n = 0;
  for (let c = await bi.recv.read(); c !== null; c = await bi.recv.read()) n += c.byteLength;
  if (n !== bytes) throw new Error(`server sent ${n}, asked for ${bytes}`);
}

async function echoOnce(t: NativeTransport, payload: Uint8Array): Promise<void> {
  const bi = await t.openBi();
  await bi.send.write(payload, true);
  let n = 0;
  for (let c = await bi.recv.read(); c !== null; c = await bi.recv.read()) n += c.byteLength;
  if (n !== payload.byteLength - 1) throw new Error("short echo");
}

async function client(): Promise<void> {
  const srv = await spawnChild<{ port: number; hash: string }>(SELF, ["--server"]);
  const { port, hash } = srv.info;
  const MB = 1024 * 1024;
  const oneMb = num("mb", 256);
  const streams = num("streams", 16);
  const streamMb = num("stream-mb", 16);
  const echoN = num("echo", 5000);
  const conc = num("conc", 100);
  const chunk = new Uint8Array(num("chunk-kb", 64) * 1024).fill(7);
  const rows: string[] = [];
  try {
    for (const alpn of ["moq-00", "h3"]) {
      const t = await connectNative(`https://127.0.0.1:${port}/bench`, {
        alpn,
        certHashes: [Buffer.from(hash, "hex")],
      });
      await sink(t, 4 * MB, chunk); // warm-up (congestion window, JIT)
      let t0 = performance.now();
      await sink(t, oneMb * MB, chunk);
      const one = (oneMb * MB) / 1e6 / ((performance.now() - t0) / 1000);

      t0 = performance.now();
      await Promise.all(Array.from({ length: streams }, () => sink(t, streamMb * MB, chunk)));
      const many = (streams * streamMb * MB) / 1e6 / ((performance.now() - t0) / 1000);

      const payload = new Uint8Array(33).fill(1);
      payload[0] = 1;
      t0 = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: conc }, async () => {
          while (next < echoN) {
            next++;
            await echoOnce(t, payload);
          }
        }),
      );
      const echo = echoN / ((performance.now() - t0) / 1000);
      const s = t.stats();
      rows.push(
        `| ${alpn === "h3" ? "WebTransport (h3)" : "raw QUIC (moq-00)"} | ${one.toFixed(0)} MB/s | ` +
          `${many.toFixed(0)} MB/s | ${Math.round(echo).toLocaleString("en-US")} /s | ${s.rttMs?.toFixed(2)} ms |`,
      );
      t.close(0, "");
      await t.closed;
    }
  } finally {
    await stopChild(srv.child);
  }
  const cpu = cpus()[0]?.model ?? "?";
  console.log(`machine: ${cpus().length} cores, ${cpu}, Node ${process.version}`);
  console.log(
    `params: one stream ${oneMb} MB; ${streams} parallel streams x ${streamMb} MB; ${echoN} echo streams ` +
      `(33 B, ${conc} concurrent); writes of ${chunk.byteLength / 1024} KiB`,
  );
  console.log("| transport | 1 stream | " + streams + " parallel streams | echo streams | RTT at end |");
  console.log("|---|---|---|---|---|");
  for (const r of rows) console.log(r);
}

if (process.argv[1] === SELF) {
  if (args.has("server")) await server();
  else await client();
}
