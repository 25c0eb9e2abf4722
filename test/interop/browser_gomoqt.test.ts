// Interop: a real Chromium page running the moqt browser bundle as the client of gomoqt's own interop server
// (v0.9.0, built from its Go module by interop/gomoqt/build.sh), over WebTransport with the server's certificate
// pinned by hash (ECDSA P-256, valid < 14 days). The page plays gomoqt's interop client sequence; success is judged
// by the page's results and by the exact lines the Go server prints.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import {
  buildWeb,
  browserSkip,
  launchBrowser,
  openMoqtPage,
  serveStatic,
  type BrowserHandle,
  type StaticServer,
} from "../support/browser.js";

const skip = browserSkip();

function env(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(".cache/gomoqt/certs/certs.env", "utf8").split("\n")) {
    const m = /^(\w+)='(.*)'$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

async function freeUdpPort(): Promise<number> {
  const s = createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe(
  "Chromium (moqt bundle) -> gomoqt interop server over WebTransport",
  { skip, timeout: 300_000 },
  () => {
    let server: ChildProcess | undefined;
    let out = "";
    let web: StaticServer | undefined;
    let browser: BrowserHandle | undefined;
    let port = 0;
    let hashHex = "";

    before(async () => {
      for (const script of ["build.sh", "certs.sh"]) {
        const r = spawnSync("bash", [`interop/gomoqt/${script}`], { encoding: "utf8" });
        assert.equal(r.status, 0, `${script} failed:\n${r.stdout}\n${r.stderr}`);
      }
      const e = env();
      hashHex = e["GOMOQT_CERT_SHA256_HEX"]!;
      port = await freeUdpPort();
      server = spawn(resolve(".cache/gomoqt/bin/server"), ["-addr", `127.0.0.1:${port}`], {
        cwd: e["GOMOQT_WORKDIR"],
        stdio: ["ignore", "pipe", "pipe"],
      });
      server.stdout!.on("data", (d: Buffer) => (out += d.toString()));
      server.stderr!.on("data", (d: Buffer) => (out += d.toString()));
      // gomoqt prints "Listening" before it binds: wait until the UDP port is taken.
      for (let i = 0; i < 200; i++) {
        const s = createSocket("udp4");
        const bound = await new Promise<boolean>((r) => {
          s.once("error", () => r(true));
          s.bind(port, "127.0.0.1", () => r(false));
        });
        s.close();
        if (bound) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      web = await serveStatic(await buildWeb());
      browser = await launchBrowser();
    });

    after(async () => {
      await browser?.close();
      await web?.close();
      server?.kill("SIGTERM");
    });

    it("discovers /interop/server, reads HELLO, publishes /interop/client and is read by the server", async () => {
      const page = await openMoqtPage(browser!, web!.origin);
      const result = await page.evaluate(
        async ({ url, hashHex }) => {
          type M = typeof import("../../src/browser.js");
          const moqt = (globalThis as unknown as { moqt: M }).moqt;
          const hash = new Uint8Array(hashHex.match(/../g)!.map((h) => parseInt(h, 16)));
          const mux = new moqt.TrackMux();
          const client = new moqt.Client({ tls: { serverCertificateHashes: [hash] }, bitrateMonitor: false });
          const session = await client.dial(url, mux);
          const ar = await session.acceptAnnounce("/");
          const ann = await ar.receiveAnnouncement();
          const tr = await session.subscribe(ann.broadcastPath, "");
          const g = await tr.acceptGroup();
          const f = await g.readFrame();
          const payload = f ? new TextDecoder().decode(f.body()) : null;
          let served!: () => void;
          const handled = new Promise<void>((r) => (served = r));
          mux.publishFunc(session.signal, "/interop/client", async (tw) => {
            const w = await tw.openGroup();
            await w.writeFrame(new TextEncoder().encode("HELLO"));
            // The Go server may exit as soon as it has read the frame, before our FIN is acknowledged:
            // don't hold the hand-off on close().
            served();
            await w.close();
          });
          await handled;
          // The Go server closes the session once it has read our frame; it may exit before its close reaches us,
          // so do not wait on `closed` for ever: give it a few seconds, then close our side.
          await Promise.race([session.closed, new Promise((r) => setTimeout(r, 5000))]);
          if (!session.signal.aborted) await session.closeWithError(0, "done");
          return { discovered: ann.broadcastPath, payload };
        },
        { url: `https://127.0.0.1:${port}/`, hashHex },
      );
      assert.deepEqual(result, { discovered: "/interop/server", payload: "HELLO" });
      // Wait (bounded) for the Go server to print that it read our frame.
      for (let i = 0; i < 200 && !/payload: HELLO\)$/m.test(out); i++)
        await new Promise((r) => setTimeout(r, 100));
      assert.match(out, /^Setting up session\.\.\.ok$/m, out);
      assert.match(out, /^Discovered broadcast: \/interop\/client$/m, out);
      assert.match(out, /^Reading the first frame from client\.\.\.\.\.\.ok \(payload: HELLO\)$/m, out);
      assert.doesNotMatch(out, /\.\.\.failed|panic:/, out);
    });
  },
);
