// The demo page end to end: a relay serving web/dist (built fresh) and MoQ, a publisher page with Chromium's fake
// camera, a second publisher with the synthetic test pattern, and a watcher page that lists live broadcasts and
// decodes one. Asserts the watcher decoded frames, that the broadcast list follows ACTIVE/ENDED, and that the
// watcher canvas is not blank (pixel variance); the screenshot is saved under .cache/ (gitignored).
//
// Uses the relay (src/relay) when it is there; otherwise a small Node forwarder stands in (same HTTP endpoints
// the page uses: /relay.json, /certificate.sha256); MOQT_DEMO_FORWARDER=1 forces it.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Page } from "playwright-core";
import { accept, nativeAvailable, Server, TrackMux, type Session } from "../../src/index.js";
import {
  browserSkip,
  buildWeb,
  launchBrowser,
  serveStatic,
  type BrowserHandle,
  type Route,
} from "../support/browser.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const skip = browserSkip() || (!nativeAvailable() && !process.env["CI"] ? "native addon not built" : false);
const FRAMES = 60;
const T_OUT = 90_000;

interface RelayHandle {
  /** The demo page's origin, e.g. http://127.0.0.1:PORT */
  origin: string;
  kind: string;
  close(): Promise<void>;
}

interface RelayModule {
  startRelay(opts: { listen: string; http: string; webRoot: string }): Promise<{
    httpUrl(): string | undefined;
    close(): Promise<void>;
  }>;
}

/** The real relay when src/relay exists, else a forwarder (every session's broadcasts offered to every session). */
async function startDemoRelay(webRoot: string): Promise<RelayHandle> {
  const relayEntry = join(root, "src/relay/index.ts");
  if (existsSync(relayEntry) && !process.env["MOQT_DEMO_FORWARDER"]) {
    const mod = (await import(pathToFileURL(relayEntry).href)) as RelayModule;
    const relay = await mod.startRelay({ listen: "127.0.0.1:0", http: "127.0.0.1:0", webRoot });
    return { origin: new URL(relay.httpUrl()!).origin, kind: "relay", close: () => relay.close() };
  }
  const mux = new TrackMux();
  const forward = async (s: Session) => {
    const ar = await s.acceptAnnounce("/");
    for await (const ann of ar) {
      const ctrl = new AbortController();
      void ann.ended.then(() => ctrl.abort());
      mux.publishFunc(ctrl.signal, ann.broadcastPath, async (tw) => {
        const tr = await s.subscribe(ann.broadcastPath, tw.trackName);
        tw.signal.addEventListener("abort", () => void tr.close(), { once: true });
        for await (const g of tr) {
          void (async () => {
            const out = await tw.openGroup(g.groupSequence);
            for await (const f of g.frames()) await out.writeFrame(f.body());
            await out.close();
          })().catch(() => {});
        }
      });
    }
  };
  const server = new Server({
    addr: "127.0.0.1:0",
    setupHandler: async (w, r) => {
      const s = await accept(w, r, mux);
      void forward(s).catch(() => {});
    },
  });
  server.listen();
  const hex = Buffer.from(server.certificateHash!).toString("hex");
  const info: Route = (req, res) => {
    const p = new URL(req.url ?? "/", "http://x").pathname;
    if (p === "/certificate.sha256") res.writeHead(200, { "content-type": "text/plain" }).end(hex);
    else if (p === "/relay.json")
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          url: `https://127.0.0.1:${server.port}/`,
          port: server.port,
          certificateSha256: hex,
        }),
      );
    else return false;
    return true;
  };
  const http = await serveStatic(webRoot, [info]);
  return {
    origin: http.origin,
    kind: "forwarder",
    close: async () => {
      await http.close();
      await server.close();
    },
  };
}

interface DemoWindow {
  demo: {
    state: string;
    error: string;
    broadcasts: string[];
    publisher?: {
      source: string;
      codec: string;
      framesEncoded: number;
      subscribers: number;
      errors: string[];
    };
    watcher?: {
      path: string;
      codec: string;
      framesDecoded: number;
      framesReceived: number;
      groupsReceived: number;
      groupsDropped: number;
      latencyMs: number;
      bitrate: number;
      errors: string[];
    };
  };
}

const demoState = (page: Page) =>
  page.evaluate(
    () => JSON.parse(JSON.stringify((globalThis as unknown as DemoWindow).demo)) as DemoWindow["demo"],
  );

describe("demo page through the relay", { skip, timeout: 240_000 }, () => {
  let webDir: string;
  let relay: RelayHandle;
  let browser: BrowserHandle;

  before(async () => {
    webDir = await buildWeb();
    relay = await startDemoRelay(webDir);
    browser = await launchBrowser({
      fakeMedia: true,
      // Several pages at once: none of them may be throttled as a background tab.
      args: [
        "--disable-background-timer-throttling",
        "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows",
      ],
    });
  });

  after(async () => {
    try {
      await browser?.close();
    } finally {
      await relay?.close();
      if (webDir) await rm(webDir, { recursive: true, force: true });
    }
  });

  it("a watcher page decodes the camera broadcast of a publisher page; the list follows ACTIVE/ENDED", async (t) => {
    const diag = async (p: Page) =>
      `\nstate: ${JSON.stringify(await demoState(p))}\nlog:\n${browser.log.join("\n")}`;

    const pub = await browser.open(`${relay.origin}/?publish=/demo/cam`);
    await pub.waitForFunction(
      () => ((globalThis as unknown as DemoWindow).demo.publisher?.framesEncoded ?? 0) > 0,
      undefined,
      { timeout: T_OUT },
    );
    const ps = await demoState(pub);
    assert.equal(ps.state, "connected", await diag(pub));
    assert.equal(ps.publisher?.source, "camera", await diag(pub));

    const watcher = await browser.open(`${relay.origin}/?watch=auto`);
    try {
      await watcher.waitForFunction(
        (n) => ((globalThis as unknown as DemoWindow).demo.watcher?.framesDecoded ?? 0) >= n,
        FRAMES,
        { timeout: T_OUT, polling: 100 },
      );
    } catch (e) {
      throw new Error(
        `watcher did not decode ${FRAMES} frames (${relay.kind}): ${String(e)}${await diag(watcher)}`,
      );
    }
    const ws = (await demoState(watcher)).watcher!;
    t.diagnostic(`${relay.kind}; publisher ${JSON.stringify((await demoState(pub)).publisher)}`);
    t.diagnostic(`watcher ${JSON.stringify(ws)}`);
    assert.equal(ws.path, "/demo/cam");
    assert.ok(ws.codec, "a codec was configured");
    assert.ok(ws.groupsReceived >= 1);
    assert.ok(ws.bitrate > 0);
    assert.ok(Number.isFinite(ws.latencyMs));
    assert.deepEqual(ws.errors, [], await diag(watcher));

    // The canvas shows a picture: not one flat colour.
    const pixels = await watcher.evaluate(() => {
      const c = document.getElementById("watch-canvas") as HTMLCanvasElement;
      const d = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      let n = 0,
        sum = 0,
        sq = 0;
      const colours = new Set<number>();
      for (let i = 0; i < d.length; i += 16) {
        const y = 0.299 * d[i]! + 0.587 * d[i + 1]! + 0.114 * d[i + 2]!;
        sum += y;
        sq += y * y;
        n++;
        colours.add(((d[i]! >> 4) << 8) | ((d[i + 1]! >> 4) << 4) | (d[i + 2]! >> 4));
      }
      const mean = sum / n;
      return { w: c.width, h: c.height, stddev: Math.sqrt(sq / n - mean * mean), colours: colours.size };
    });
    await mkdir(join(root, ".cache"), { recursive: true });
    await watcher.locator("#watch-canvas").screenshot({ path: join(root, ".cache/demo-watcher.png") });
    await watcher.screenshot({ path: join(root, ".cache/demo-watcher-page.png") });
    assert.ok(pixels.w > 0 && pixels.h > 0);
    assert.ok(pixels.stddev > 5, `watcher canvas looks blank: ${JSON.stringify(pixels)}`);
    assert.ok(pixels.colours > 4, `watcher canvas looks blank: ${JSON.stringify(pixels)}`);

    // A second publisher (test pattern, VP8) shows up in the watcher's list; clicking it switches the watcher to it.
    const pat = await browser.open(`${relay.origin}/?publish=/demo/pattern&pattern=1&codec=vp8`);
    await watcher.waitForFunction(
      () => (globalThis as unknown as DemoWindow).demo.broadcasts.includes("/demo/pattern"),
      undefined,
      { timeout: T_OUT },
    );
    assert.equal((await demoState(pat)).publisher?.source, "pattern");
    assert.deepEqual((await demoState(watcher)).broadcasts, ["/demo/cam", "/demo/pattern"]);
    await watcher.getByRole("button", { name: "/demo/pattern" }).click();
    await watcher.waitForFunction(
      (n) => {
        const w = (globalThis as unknown as DemoWindow).demo.watcher;
        return w?.path === "/demo/pattern" && w.framesDecoded >= n;
      },
      FRAMES / 2,
      { timeout: T_OUT, polling: 100 },
    );
    const ws2 = (await demoState(watcher)).watcher!;
    t.diagnostic(`watcher (pattern) ${JSON.stringify(ws2)}`);
    assert.equal(ws2.codec, "vp8");
    assert.deepEqual(ws2.errors, [], await diag(watcher));
    await watcher
      .locator("#watch-canvas")
      .screenshot({ path: join(root, ".cache/demo-watcher-pattern.png") });

    // The pattern publisher leaves: ENDED takes it off the list and the watcher's track ends.
    await pat.close();
    await watcher.waitForFunction(
      () => !(globalThis as unknown as DemoWindow).demo.broadcasts.includes("/demo/pattern"),
      undefined,
      { timeout: T_OUT },
    );
    assert.deepEqual((await demoState(watcher)).broadcasts, ["/demo/cam"]);
  });
});
