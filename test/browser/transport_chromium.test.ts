// Raw WebTransport between headless Chromium (W3C API, draft-02 on the wire) and the native addon's server: bidi
// echo, uni streams both ways, FIN attached vs FIN sent later, stream reset and STOP_SENDING codes in both directions
// (the HTTP/3 code-space mapping), datagrams, and session close code + reason in both directions.
//
// Page code runs through page.evaluate; each function is self-contained and keeps its state on `globalThis.W`.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import type { Page } from "playwright-core";
import {
  generateCertificate,
  listenNative,
  nativeAvailable,
  type DevCertificate,
  type NativeListener,
  type NativeTransport,
} from "../../src/transport/native/index.js";
import { StreamError } from "../../src/transport/stream_error.js";
import type { RecvStream, Transport } from "../../src/transport/transport.js";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import {
  browserSkip,
  launchBrowser,
  serveStatic,
  type BrowserHandle,
  type StaticServer,
} from "../support/browser.js";

const skip = browserSkip() || (!nativeAvailable() && !process.env["CI"] ? "native addon not built" : false);
const CODES = [0, 7, 0x13, 0xffff_ffff];
const enc = new TextEncoder();
const dec = new TextDecoder();

const PAGE = `<!doctype html><meta charset="utf-8"><title>wt</title><p>transport test</p>`;

/** The W3C adapter (src/transport/webtransport.ts) bundled for the page, served as /adapter.js. */
async function adapterBundle(): Promise<string> {
  const out = await build({
    entryPoints: [fileURLToPath(new URL("../../src/transport/webtransport.ts", import.meta.url))],
    bundle: true,
    format: "esm",
    platform: "browser",
    write: false,
    logLevel: "warning",
  });
  return out.outputFiles[0]!.text;
}

/** What the page saw of an error: its class name and, for a TransportClosedError, the close info. */
interface SeenError {
  name: string;
  code?: number;
  reason?: string;
  remote?: boolean;
  message: string;
}

/** Page-side state of the adapter tests (`globalThis.A`). */
interface PageA {
  t: Transport;
  pending: Map<string, Promise<SeenError | "resolved">>;
  see(p: Promise<unknown>): Promise<SeenError | "resolved">;
}

interface PageW {
  wt: WebTransport;
  bidi: ReadableStreamDefaultReader<WebTransportBidirectionalStream>;
  uni: ReadableStreamDefaultReader<ReadableStream<Uint8Array>>;
  closed: Promise<{ closeCode?: number; reason?: string; error?: string }>;
  streams: Map<string, WebTransportBidirectionalStream>;
  writers: Map<string, WritableStream<Uint8Array>>;
}

async function readAll(r: RecvStream): Promise<string> {
  let s = "";
  for (let c = await r.read(); c !== null; c = await r.read()) s += dec.decode(c, { stream: true });
  return s;
}

/** Read until the stream errors (data may precede a reset). */
async function readUntilError(r: RecvStream): Promise<void> {
  for (;;) if ((await r.read()) === null) throw new Error("unexpected FIN");
}

async function pageConnect(page: Page, url: string, hash: Uint8Array): Promise<void> {
  await page.evaluate(
    async ({ url, hash }) => {
      const wt = new WebTransport(url, {
        serverCertificateHashes: [{ algorithm: "sha-256", value: new Uint8Array(hash) }],
      });
      await wt.ready;
      const g = globalThis as unknown as { W: PageW };
      g.W = {
        wt,
        bidi: wt.incomingBidirectionalStreams.getReader(),
        uni: wt.incomingUnidirectionalStreams.getReader(),
        closed: wt.closed.then(
          (i) => ({ closeCode: i.closeCode, reason: i.reason }),
          (e: unknown) => ({ error: String(e) }),
        ),
        streams: new Map(),
        writers: new Map(),
      };
    },
    { url, hash: [...hash] },
  );
}

describe("Chromium WebTransport ↔ native server", { skip, timeout: 120_000 }, () => {
  let cert: DevCertificate;
  let listener: NativeListener;
  let web: StaticServer;
  let browser: BrowserHandle;
  let page: Page;
  let server: NativeTransport;
  let origin: string | undefined;

  /** Connect the page's WebTransport to a fresh session; returns the server side. */
  async function connect(path = "/wt"): Promise<NativeTransport> {
    const acc = listener.accept();
    await pageConnect(page, `https://127.0.0.1:${listener.port}${path}`, cert.sha256);
    const a = await acc;
    assert.ok(a);
    assert.equal(a.protocol, "h3");
    assert.equal(a.path, path);
    origin = a.origin;
    return a.transport;
  }

  before(async () => {
    cert = generateCertificate();
    listener = listenNative({ host: "127.0.0.1", port: 0, certPem: cert.certPem, keyPem: cert.keyPem });
    const adapter = await adapterBundle();
    web = await serveStatic(tmpdir(), [
      (req, res) => {
        if (req.url === "/adapter.js") {
          res.writeHead(200, { "content-type": "text/javascript" }).end(adapter);
          return true;
        }
        if (req.url !== "/") return false;
        res.writeHead(200, { "content-type": "text/html" }).end(PAGE);
        return true;
      },
    ]);
    browser = await launchBrowser();
    page = await browser.open(`${web.origin}/`);
    server = await connect();
  });

  after(async () => {
    await browser?.close();
    listener?.close();
    await web?.close();
  });

  it("sends the page Origin and the request path", () => {
    assert.equal(origin, web.origin);
  });

  it("bidi echo: page opens, writes with FIN, server echoes with FIN attached", async () => {
    const echo = (async () => {
      const bi = await server.acceptBi();
      assert.ok(bi);
      await bi.send.write(enc.encode(await readAll(bi.recv)), true);
    })();
    const got = await page.evaluate(async () => {
      const { W } = globalThis as unknown as { W: PageW };
      const s = await W.wt.createBidirectionalStream();
      const w = s.writable.getWriter();
      await w.write(new TextEncoder().encode("hello from chromium"));
      await w.close();
      let out = "";
      const r = s.readable.getReader();
      for (;;) {
        const { value, done } = await r.read();
        if (done) break;
        out += new TextDecoder().decode(value);
      }
      return out;
    });
    await echo;
    assert.equal(got, "hello from chromium");
  });

  it("server-opened bidi, FIN sent later as its own frame", async () => {
    const bi = await server.openBi();
    await bi.send.write(enc.encode("part one;"));
    const pageSide = page.evaluate(async () => {
      const { W } = globalThis as unknown as { W: PageW };
      const { value: s } = await W.bidi.read();
      const r = s!.readable.getReader();
      let out = "";
      for (;;) {
        const { value, done } = await r.read();
        if (done) break;
        out += new TextDecoder().decode(value);
      }
      const w = s!.writable.getWriter();
      await w.write(new TextEncoder().encode(out.toUpperCase()));
      await w.close();
      return out;
    });
    await bi.send.write(enc.encode("part two"));
    await bi.send.finish();
    assert.equal(await pageSide, "part one;part two");
    assert.equal(await readAll(bi.recv), "PART ONE;PART TWO");
  });

  it("uni streams both ways", async () => {
    const srv = (async () => {
      const u = await server.acceptUni();
      assert.ok(u);
      const text = await readAll(u);
      const back = await server.openUni();
      await back.write(enc.encode(`${text} / back`), true);
      return text;
    })();
    const got = await page.evaluate(async () => {
      const { W } = globalThis as unknown as { W: PageW };
      const s = await W.wt.createUnidirectionalStream();
      const w = s.getWriter();
      await w.write(new TextEncoder().encode("uni up"));
      await w.close();
      const { value: rs } = await W.uni.read();
      const r = rs!.getReader();
      let out = "";
      for (;;) {
        const { value, done } = await r.read();
        if (done) break;
        out += new TextDecoder().decode(value);
      }
      return out;
    });
    assert.equal(await srv, "uni up");
    assert.equal(got, "uni up / back");
  });

  for (const code of CODES) {
    // Chromium 156 declares WebTransportErrorInit.streamErrorCode as an octet: codes the page sends are taken mod 256.
    const fromPage = code % 256;

    it(`reset code ${code}: page → server (writer.abort, arrives as ${fromPage}) and server → page`, async () => {
      // 1. page opens and writes; the server must have the stream before the reset, or the reset may overtake the
      //    WebTransport stream header and the stream can never be attributed to the session.
      await page.evaluate(async (key) => {
        const { W } = globalThis as unknown as { W: PageW };
        const s = await W.wt.createBidirectionalStream();
        W.streams.set(key, s);
        const w = s.writable.getWriter();
        await w.write(new Uint8Array([1, 2, 3]));
        w.releaseLock();
      }, `reset-${code}`);
      const bi = await server.acceptBi();
      assert.ok(bi);
      assert.deepEqual([...(await bi.recv.read())!], [1, 2, 3]);
      // 2. page resets its send side
      await page.evaluate(
        async ({ key, code }) => {
          const { W } = globalThis as unknown as { W: PageW };
          const w = W.streams.get(key)!.writable.getWriter();
          // Chromium's constructor takes one init dictionary (message, streamErrorCode).
          const Err = WebTransportError as unknown as new (init: object) => WebTransportError;
          await w.abort(new Err({ message: "abort", streamErrorCode: code }));
        },
        { key: `reset-${code}`, code },
      );
      await assert.rejects(readUntilError(bi.recv), (e: unknown) => {
        assert.ok(e instanceof StreamError);
        assert.deepEqual([e.code, e.remote], [fromPage, true]);
        return true;
      });
      // 3. the server resets its send side towards the page
      await bi.send.write(enc.encode("doomed"));
      bi.send.reset(code);
      const pageCode = await page.evaluate(async (key) => {
        const { W } = globalThis as unknown as { W: PageW };
        const r = W.streams.get(key)!.readable.getReader();
        try {
          for (;;) if ((await r.read()).done) return "fin";
        } catch (e) {
          return (e as WebTransportError).streamErrorCode;
        }
      }, `reset-${code}`);
      assert.equal(pageCode, code);
    });

    it(`stop-sending code ${code}: page → server (reader.cancel, arrives as ${fromPage}) and server → page`, async () => {
      const bi = await server.openBi();
      await bi.send.write(enc.encode("x"));
      const first = await page.evaluate(
        async ({ key, code }) => {
          const { W } = globalThis as unknown as { W: PageW };
          const { value: s } = await W.bidi.read();
          W.streams.set(key, s!);
          const r = s!.readable.getReader();
          const { value } = await r.read();
          const Err = WebTransportError as unknown as new (init: object) => WebTransportError;
          await r.cancel(new Err({ message: "cancel", streamErrorCode: code }));
          return new TextDecoder().decode(value);
        },
        { key: `stop-${code}`, code },
      );
      assert.equal(first, "x");
      assert.equal(await bi.send.stopped, fromPage);
      await assert.rejects(
        (async () => {
          for (;;) await bi.send.write(new Uint8Array(1024));
        })(),
        (e: unknown) => e instanceof StreamError && e.code === fromPage && e.remote,
      );
      // Now the server stops the page's send side, on a fresh page-opened uni stream. (On a bidi stream whose read
      // side was reset, Chromium 156 sometimes errors the writer with a code-less NetworkError instead.)
      await page.evaluate(async (key) => {
        const { W } = globalThis as unknown as { W: PageW };
        const u = await W.wt.createUnidirectionalStream();
        W.writers.set(key, u);
        const w = u.getWriter();
        await w.write(new TextEncoder().encode("go"));
        w.releaseLock();
      }, `stop-${code}`);
      const u = await server.acceptUni();
      assert.ok(u);
      assert.equal(dec.decode((await u.read())!), "go");
      u.stop(code);
      const pageErr = await page.evaluate(async (key) => {
        const { W } = globalThis as unknown as { W: PageW };
        const w = W.writers.get(key)!.getWriter();
        try {
          for (;;) await w.write(new Uint8Array(1024));
        } catch (e) {
          return { code: (e as WebTransportError).streamErrorCode ?? null, text: String(e) };
        }
      }, `stop-${code}`);
      // Chromium 156 usually reports STOP_SENDING's code on the writer ("Received STOP_SENDING."), but in some runs
      // the writer fails with a code-less "NetworkError: The stream was aborted by the remote server" instead. When a
      // code is reported it must be exactly ours.
      if (pageErr.code === null) assert.match(pageErr.text, /aborted by the remote server/);
      else assert.equal(pageErr.code, code, pageErr.text);
    });
  }

  it("datagrams both ways", async () => {
    const srv = (async () => {
      const d = await server.readDatagram();
      assert.ok(d);
      // unreliable: the page waits for one, send a few
      for (let i = 0; i < 20; i++) server.sendDatagram(enc.encode(`re:${dec.decode(d)}`));
      return dec.decode(d);
    })();
    const got = await page.evaluate(async () => {
      const { W } = globalThis as unknown as { W: PageW };
      const w = W.wt.datagrams.writable.getWriter();
      const r = W.wt.datagrams.readable.getReader();
      const first = r.read();
      let done = false;
      void first.then(() => (done = true));
      for (let i = 0; i < 200 && !done; i++) {
        await w.write(new TextEncoder().encode("dgram"));
        await new Promise((res) => setTimeout(res, 5));
      }
      w.releaseLock();
      r.releaseLock();
      return new TextDecoder().decode((await first).value);
    });
    assert.equal(await srv, "dgram");
    assert.equal(got, "re:dgram");
  });

  describe("the W3C adapter (fromWebTransport) when the server closes the session", () => {
    /** A page session through the adapter (`A.t`) and its server side. */
    async function adapterConnect(path: string, closedNeverSettles = false): Promise<NativeTransport> {
      const acc = listener.accept();
      await page.evaluate(
        async ({ url, hash, closedNeverSettles }) => {
          const { fromWebTransport } = (await import("/adapter.js" as string)) as {
            fromWebTransport(wt: WebTransport, protocol?: string): Transport;
          };
          const real = new WebTransport(url, {
            serverCertificateHashes: [{ algorithm: "sha-256", value: new Uint8Array(hash) }],
          });
          await real.ready;
          // Optionally a stack that never reports the close: `closed` pending forever, the rest the real thing.
          const wt = closedNeverSettles
            ? ({
                ready: real.ready,
                closed: new Promise(() => {}),
                close: (i?: WebTransportCloseInfo) => real.close(i),
                createBidirectionalStream: () => real.createBidirectionalStream(),
                createUnidirectionalStream: () => real.createUnidirectionalStream(),
                incomingBidirectionalStreams: real.incomingBidirectionalStreams,
                incomingUnidirectionalStreams: real.incomingUnidirectionalStreams,
              } as unknown as WebTransport)
            : real;
          const see = (p: Promise<unknown>): Promise<SeenError | "resolved"> =>
            p.then(
              () => "resolved" as const,
              (e: unknown) => {
                const x = e as { name?: string; code?: number; reason?: string; remote?: boolean };
                return {
                  name: String(x?.name),
                  ...(typeof x?.code === "number" ? { code: x.code } : {}),
                  ...(typeof x?.reason === "string" ? { reason: x.reason } : {}),
                  ...(typeof x?.remote === "boolean" ? { remote: x.remote } : {}),
                  message: String((e as Error)?.message ?? e),
                };
              },
            );
          (globalThis as unknown as { A: PageA }).A = {
            t: fromWebTransport(wt, "h3"),
            pending: new Map(),
            see,
          };
        },
        { url: `https://127.0.0.1:${listener.port}${path}`, hash: [...cert.sha256], closedNeverSettles },
      );
      const a = await acc;
      assert.ok(a);
      return a.transport;
    }

    const CLOSED = { name: "TransportClosedError", code: 0x2345, reason: "server leaves", remote: true };

    it("reads and writes pending at the close, and operations after it, fail with the session's close code", async () => {
      const srv = await adapterConnect("/adapter-close");
      // Page-opened bidi with a read pending; page-opened uni whose writes wait on flow control; a server-opened uni
      // with a read pending.
      await page.evaluate(async () => {
        const { A } = globalThis as unknown as { A: PageA };
        const bi = await A.t.openBi();
        await bi.send.write(new TextEncoder().encode("hi"));
        A.pending.set("bidi read", A.see(bi.recv.read()));
        const uni = await A.t.openUni();
        await uni.write(new TextEncoder().encode("up"));
        A.pending.set(
          "blocked write",
          A.see(
            (async () => {
              for (;;) await uni.write(new Uint8Array(64 * 1024));
            })(),
          ),
        );
      });
      const sbi = await srv.acceptBi();
      assert.ok(sbi);
      assert.equal(dec.decode((await sbi.recv.read())!), "hi");
      const suni = await srv.acceptUni();
      assert.ok(suni);
      assert.equal(dec.decode((await suni.read())!.subarray(0, 2)), "up"); // then the writes that fill the window
      const down = await srv.openUni();
      await down.write(enc.encode("down"));
      await page.evaluate(async () => {
        const { A } = globalThis as unknown as { A: PageA };
        const r = (await A.t.acceptUni())!;
        await r.read();
        A.pending.set("uni read", A.see(r.read()));
      });
      srv.close(CLOSED.code, CLOSED.reason);
      const seen = await page.evaluate(async () => {
        const { A } = globalThis as unknown as { A: PageA };
        const out: Record<string, SeenError | "resolved"> = {};
        for (const [k, p] of A.pending) out[k] = await p;
        out["openBi after"] = await A.see(A.t.openBi());
        out["openUni after"] = await A.see(A.t.openUni());
        return out;
      });
      for (const [what, e] of Object.entries(seen)) {
        assert.notEqual(e, "resolved", what);
        const { message, ...rest } = e as SeenError;
        assert.deepEqual(rest, CLOSED, `${what}: ${message}`);
      }
      assert.deepEqual(await page.evaluate(() => (globalThis as unknown as { A: PageA }).A.t.closed), {
        code: CLOSED.code,
        reason: CLOSED.reason,
        remote: true,
      });
      assert.deepEqual(await srv.closed, { code: CLOSED.code, reason: CLOSED.reason, remote: false });
    });

    it("with a stack that never settles `closed`, a failed read still fails (as the stack reported it) after the bounded wait", async () => {
      const srv = await adapterConnect("/adapter-no-closed", true);
      await page.evaluate(async () => {
        const { A } = globalThis as unknown as { A: PageA };
        const bi = await A.t.openBi();
        await bi.send.write(new TextEncoder().encode("hi"));
        A.pending.set("bidi read", A.see(bi.recv.read()));
      });
      const sbi = await srv.acceptBi();
      assert.ok(sbi);
      assert.equal(dec.decode((await sbi.recv.read())!), "hi");
      srv.close(CLOSED.code, CLOSED.reason);
      const seen = await page.evaluate(() =>
        (globalThis as unknown as { A: PageA }).A.pending.get("bidi read")!,
      );
      assert.notEqual(seen, "resolved");
      assert.equal((seen as SeenError).name, "WebTransportError", (seen as SeenError).message);
      await srv.closed;
    });
  });

  it("server close code + reason reach the page", async () => {
    server.close(0x1234, "server says bye");
    const info = await page.evaluate(() => (globalThis as unknown as { W: PageW }).W.closed);
    assert.deepEqual(info, { closeCode: 0x1234, reason: "server says bye" });
    assert.deepEqual(await server.closed, { code: 0x1234, reason: "server says bye", remote: false });
  });

  it("page close code + reason reach the server", async () => {
    server = await connect("/second");
    await page.evaluate(() =>
      (globalThis as unknown as { W: PageW }).W.wt.close({ closeCode: 0xffff_ffff, reason: "page says bye" }),
    );
    assert.deepEqual(await server.closed, { code: 0xffff_ffff, reason: "page says bye", remote: true });
  });
});
