// MoQ over real WebTransport between headless Chromium (the web bundle, web/dist/moqt.js, built fresh) and a Node
// Server (native addon, generated ECDSA dev certificate, browser trusting it by serverCertificateHashes).
//
// Both directions: Node publishes and the page subscribes (including a group whose FIN comes alone after a pause —
// the Chromium FIN caveat in transports.md), the page publishes and Node discovers it with acceptAnnounce and
// subscribes; announcements ACTIVE/ENDED both ways; error codes both ways for subscriptions, groups and sessions,
// with codes 7, 0x13 and 0xfffffff0 so the HTTP/3 stream-error-code mapping is exercised at its edges.
//
// Page code runs through page.evaluate; each function is self-contained (it runs in the page, not in Node) and reads
// the bundle from `globalThis.moqt` and test state from `globalThis.T`.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import type { Page } from "playwright-core";
import {
  accept,
  GroupError,
  nativeAvailable,
  Server,
  SessionError,
  SubscribeError,
  TrackMux,
  type GroupReader,
  type Session,
  type TrackWriter,
} from "../../src/index.js";
import type * as Moqt from "../../src/browser.js";
import {
  browserSkip,
  buildWeb,
  launchBrowser,
  openMoqtPage,
  serveStatic,
  type BrowserHandle,
  type StaticServer,
} from "../support/browser.js";

const skip = browserSkip() || (!nativeAvailable() && !process.env["CI"] ? "native addon not built" : false);

const CODES = [7, 0x13, 0xffff_fff0];
const enc = new TextEncoder();
const dec = new TextDecoder();
const T_OUT = 30_000;

// ---- page-side types (the functions below run in Chromium)

interface ErrInfo {
  kind: string;
  code?: number;
  remote?: boolean;
  message: string;
}
interface PageState {
  client: Moqt.Client;
  session: Moqt.Session;
  mux: Moqt.TrackMux;
  closed: Promise<ErrInfo | null>;
  tracks: Map<string, Moqt.TrackReader>;
  groups: Map<string, Moqt.GroupReader>;
  annReaders: Map<string, Moqt.AnnouncementReader>;
  anns: Map<string, Moqt.Announcement>;
  pubs: Map<string, AbortController>;
  events: Map<string, ErrInfo[]>;
  gates: Map<string, () => void>;
  describe(e: unknown): ErrInfo;
}
interface PageGlobals {
  moqt: typeof Moqt;
  T: PageState;
}

/** Dial from the page; installs `globalThis.T`. */
async function pageDial(page: Page, url: string, hash: Uint8Array): Promise<void> {
  await page.evaluate(
    async ({ url, hash }) => {
      const g = globalThis as unknown as PageGlobals;
      const { moqt } = g;
      const describe = (e: unknown): ErrInfo => {
        const kind =
          e instanceof moqt.SessionError
            ? "SessionError"
            : e instanceof moqt.SubscribeError
              ? "SubscribeError"
              : e instanceof moqt.GroupError
                ? "GroupError"
                : e instanceof moqt.AnnounceError
                  ? "AnnounceError"
                  : e instanceof Error
                    ? e.name
                    : typeof e;
        const x = e as { code?: unknown; remote?: unknown };
        return {
          kind,
          ...(typeof x?.code === "number" ? { code: x.code } : {}),
          ...(typeof x?.remote === "boolean" ? { remote: x.remote } : {}),
          message: e instanceof Error ? e.message : String(e),
        };
      };
      const mux = new moqt.TrackMux();
      const client = new moqt.Client({
        tls: { serverCertificateHashes: [new Uint8Array(hash)] },
        bitrateMonitor: false,
      });
      const session = await client.dial(url, mux);
      g.T = {
        client,
        session,
        mux,
        closed: session.closed.then((e) => (e ? describe(e) : null)),
        tracks: new Map(),
        groups: new Map(),
        annReaders: new Map(),
        anns: new Map(),
        pubs: new Map(),
        events: new Map(),
        gates: new Map(),
        describe,
      };
    },
    { url, hash: [...hash] },
  );
}

/** Subscribe from the page; resolves with null or the error. */
function pageSubscribe(page: Page, key: string, path: string, name: string): Promise<ErrInfo | null> {
  return page.evaluate(
    async ({ key, path, name }) => {
      const { T } = globalThis as unknown as PageGlobals;
      try {
        T.tracks.set(key, await T.session.subscribe(path, name));
        return null;
      } catch (e) {
        return T.describe(e);
      }
    },
    { key, path, name },
  );
}

/** Accept the next group of track `key` as group `gkey` (a trailing "*" is replaced by the group sequence);
 *  resolves with its sequence or the error. */
function pageAcceptGroup(
  page: Page,
  key: string,
  gkey: string,
): Promise<{ seq: string } | { error: ErrInfo }> {
  return page.evaluate(
    async ({ key, gkey }) => {
      const { T } = globalThis as unknown as PageGlobals;
      try {
        const g = await T.tracks.get(key)!.acceptGroup();
        T.groups.set(gkey.endsWith("*") ? gkey.slice(0, -1) + String(g.groupSequence) : gkey, g);
        return { seq: String(g.groupSequence) };
      } catch (e) {
        return { error: T.describe(e) };
      }
    },
    { key, gkey },
  );
}

type FrameResult = { frame: string; len: number; sum: number } | { end: true } | { error: ErrInfo };

/** Read `n` frames (or up to the end / error) of group `gkey`. Frames are decoded as text (first 64 bytes),
 *  with their length and a byte sum to check large ones. */
function pageReadFrames(page: Page, gkey: string, n: number): Promise<FrameResult[]> {
  return page.evaluate(
    async ({ gkey, n }) => {
      const { T } = globalThis as unknown as PageGlobals;
      const g = T.groups.get(gkey)!;
      const out: FrameResult[] = [];
      const td = new TextDecoder();
      while (out.length < n) {
        try {
          const f = await g.readFrame();
          if (f === null) {
            out.push({ end: true });
            break;
          }
          const b = f.body();
          let sum = 0;
          for (const x of b) sum = (sum + x) >>> 0;
          out.push({ frame: td.decode(b.subarray(0, 64)), len: b.length, sum });
        } catch (e) {
          out.push({ error: T.describe(e) });
          break;
        }
      }
      return out;
    },
    { gkey, n },
  );
}

/** The code a stream reset/stop from the page can actually carry: Chromium's WebTransportError clamps
 *  `streamErrorCode` to an octet (0..255), so larger codes arrive clamped; session close codes are 32-bit. */
function pageSendableCode(page: Page, code: number): Promise<number> {
  return page.evaluate((code) => {
    type Ctor = new (a?: unknown, b?: unknown) => { streamErrorCode?: number | null };
    const E = (globalThis as unknown as { WebTransportError: Ctor }).WebTransportError;
    for (const make of [() => new E("", { streamErrorCode: code }), () => new E({ streamErrorCode: code })]) {
      try {
        const c = make().streamErrorCode;
        if (typeof c === "number") return c;
      } catch {
        // the other constructor shape
      }
    }
    return -1;
  }, code);
}

// ---- Node side

interface Waiter<T> {
  next(): Promise<T>;
  push(v: T): void;
}
function waiter<T>(): Waiter<T> {
  const items: T[] = [];
  const waiting: ((v: T) => void)[] = [];
  return {
    next: () => (items.length ? Promise.resolve(items.shift()!) : new Promise<T>((r) => waiting.push(r))),
    push: (v) => (waiting.length ? waiting.shift()!(v) : items.push(v)),
  };
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((r) =>
    signal.aborted ? r(signal.reason) : signal.addEventListener("abort", () => r(signal.reason)),
  );
}

function within<T>(p: Promise<T>, what: string, ms = T_OUT): Promise<T> {
  let t: ReturnType<typeof setTimeout>;
  return Promise.race([
    p,
    new Promise<T>((_, rej) => (t = setTimeout(() => rej(new Error(`timed out waiting for ${what}`)), ms))),
  ]).finally(() => clearTimeout(t));
}

function bigPayload(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  const head = enc.encode(`big-${seed}`);
  b.set(head);
  return b;
}
const sumOf = (b: Uint8Array): number => {
  let s = 0;
  for (const x of b) s = (s + x) >>> 0;
  return s;
};

async function readAllFrames(g: GroupReader): Promise<string[]> {
  const out: string[] = [];
  for (let f = await g.readFrame(); f !== null; f = await g.readFrame()) out.push(dec.decode(f.body()));
  return out;
}

describe("MoQ between Chromium and a Node Server", { skip, timeout: 240_000 }, () => {
  let webDir: string;
  let http: StaticServer;
  let browser: BrowserHandle;
  let server: Server;
  let hash: Uint8Array;
  let url: string;
  const nodeMux = new TrackMux();
  const sessions = waiter<Session>();
  let page: Page;
  let node: Session;

  before(async () => {
    webDir = await buildWeb();
    http = await serveStatic(webDir);
    server = new Server({
      addr: "127.0.0.1:0",
      bitrateMonitor: false,
      setupHandler: async (w, r) => {
        sessions.push(await accept(w, r, nodeMux));
      },
    });
    server.listen();
    hash = server.certificateHash!;
    url = `https://127.0.0.1:${server.port}/moq`;
    browser = await launchBrowser();
    page = await openMoqtPage(browser, http.origin);
    await within(pageDial(page, url, hash), "the page to dial");
    node = await within(sessions.next(), "the Node session");
    assert.equal(node.path, "/moq");
  });

  after(async () => {
    try {
      await browser?.close();
    } finally {
      await server?.close();
      await http?.close();
      if (webDir) await rm(webDir, { recursive: true, force: true });
    }
  });

  const diag = () => (browser.log.length ? `\npage log:\n${browser.log.join("\n")}` : "");

  it("page subscribes to a Node track: groups in order, a large frame, a group that ends after a pause", async () => {
    const ctrl = new AbortController();
    const g1more = gate();
    const g1fin = gate();
    const big = bigPayload(200_000, 3);
    const served = waiter<TrackWriter>();
    nodeMux.publishFunc(ctrl.signal, "/node/clock", async (tw) => {
      served.push(tw);
      const g0 = await tw.openGroup();
      for (const f of ["a0", "a1", "a2"]) await g0.writeFrame(enc.encode(f));
      await g0.close();
      const g1 = await tw.openGroup();
      await g1.writeFrame(enc.encode("b0"));
      await g1more.promise;
      await g1.writeFrame(enc.encode("b1"));
      await g1fin.promise;
      await g1.close(); // FIN alone, well after the last data
      const g2 = await tw.openGroup();
      await g2.writeFrame(enc.encode("c0"));
      await g2.writeFrame(big);
      await g2.writeFrame(new Uint8Array(0));
      await g2.close();
    });
    try {
      assert.equal(await pageSubscribe(page, "clock", "/node/clock", "video"), null, diag());
      const tw = await within(served.next(), "the Node handler");
      assert.equal(tw.trackName, "video");

      // Groups are separate streams: arrival order is not sequence order.
      const first = [await pageAcceptGroup(page, "clock", "g*"), await pageAcceptGroup(page, "clock", "g*")];
      assert.deepEqual(first.map((x) => ("seq" in x ? x.seq : x)).sort(), ["0", "1"]);
      const r0 = await pageReadFrames(page, "g0", 10);
      assert.deepEqual(
        r0.map((x) => ("frame" in x ? x.frame : x)),
        ["a0", "a1", "a2", { end: true }],
      );

      assert.deepEqual(
        (await pageReadFrames(page, "g1", 1)).map((x) => ("frame" in x ? x.frame : x)),
        ["b0"],
      );
      g1more.open();
      assert.deepEqual(
        (await pageReadFrames(page, "g1", 1)).map((x) => ("frame" in x ? x.frame : x)),
        ["b1"],
      );
      // The page is now blocked in readFrame; the FIN arrives on its own.
      const end = pageReadFrames(page, "g1", 1);
      await new Promise((r) => setTimeout(r, 300));
      g1fin.open();
      assert.deepEqual(await within(end, "FIN after a pause"), [{ end: true }]);

      assert.deepEqual(await pageAcceptGroup(page, "clock", "g2"), { seq: "2" });
      const r2 = await pageReadFrames(page, "g2", 10);
      assert.equal(r2.length, 4);
      assert.deepEqual(r2[0], { frame: "c0", len: 2, sum: sumOf(enc.encode("c0")) });
      assert.deepEqual(r2[1], { frame: dec.decode(big.subarray(0, 64)), len: big.length, sum: sumOf(big) });
      assert.deepEqual(r2[2], { frame: "", len: 0, sum: 0 });
      assert.deepEqual(r2[3], { end: true });

      // The handler returned: the track ends gracefully.
      const last = await pageAcceptGroup(page, "clock", "g3");
      assert.ok("error" in last, "track should be over");
      assert.equal(last.error.kind, "SubscribeError");
    } finally {
      ctrl.abort();
    }
  });

  it("Node discovers a broadcast the page publishes (ACTIVE, ENDED) and subscribes to it", async () => {
    const ar = await node.acceptAnnounce("/browser/");
    await page.evaluate(() => {
      const { T } = globalThis as unknown as PageGlobals;
      const ctrl = new AbortController();
      T.pubs.set("/browser/live", ctrl);
      T.mux.publishFunc(ctrl.signal, "/browser/live", async (tw) => {
        for (let i = 0; i < 3; i++) {
          const g = await tw.openGroup();
          for (let j = 0; j < 4; j++)
            await g.writeFrame(new TextEncoder().encode(`${tw.trackName}:g${i}f${j}`));
          await g.close();
        }
      });
    });
    const ann = await within(ar.receiveAnnouncement(), "ACTIVE from the page");
    assert.equal(ann.broadcastPath, "/browser/live");
    assert.ok(ann.isActive());

    const tr = await node.subscribe("/browser/live", "cam");
    for (let i = 0; i < 3; i++) {
      const g = await within(tr.acceptGroup(), `group ${i}`);
      assert.equal(Number(g.groupSequence), i);
      assert.deepEqual(
        await readAllFrames(g),
        [0, 1, 2, 3].map((j) => `cam:g${i}f${j}`),
      );
    }
    await assert.rejects(tr.acceptGroup(), (e) => e instanceof SubscribeError);

    await page.evaluate(() => {
      const { T } = globalThis as unknown as PageGlobals;
      T.pubs.get("/browser/live")!.abort();
    });
    await within(ann.ended, "ENDED from the page");
    assert.equal(ann.isActive(), false);
    await ar.close();
  });

  it("the page discovers a broadcast Node publishes (ACTIVE, ENDED)", async () => {
    await page.evaluate(async () => {
      const { T } = globalThis as unknown as PageGlobals;
      T.annReaders.set("/node/ann/", await T.session.acceptAnnounce("/node/ann/"));
    });
    const ctrl = new AbortController();
    nodeMux.publishFunc(ctrl.signal, "/node/ann/one", async (tw) => {
      const g = await tw.openGroup();
      await g.writeFrame(enc.encode("hello"));
      await g.close();
    });
    const path = await within(
      page.evaluate(async () => {
        const { T } = globalThis as unknown as PageGlobals;
        const a = await T.annReaders.get("/node/ann/")!.receiveAnnouncement();
        T.anns.set(a.broadcastPath, a);
        return { path: a.broadcastPath, active: a.isActive() };
      }),
      "ACTIVE in the page",
    );
    assert.deepEqual(path, { path: "/node/ann/one", active: true });
    assert.equal(await pageSubscribe(page, "one", "/node/ann/one", "t"), null);
    assert.deepEqual(await pageAcceptGroup(page, "one", "one0"), { seq: "0" });
    assert.deepEqual(
      (await pageReadFrames(page, "one0", 5)).map((x) => ("frame" in x ? x.frame : x)),
      ["hello", { end: true }],
    );
    ctrl.abort();
    const ended = await within(
      page.evaluate(async () => {
        const { T } = globalThis as unknown as PageGlobals;
        const a = T.anns.get("/node/ann/one")!;
        await a.ended;
        return a.isActive();
      }),
      "ENDED in the page",
    );
    assert.equal(ended, false);
  });

  for (const code of CODES) {
    const hex = `0x${code.toString(16)}`;

    it(`Node TrackWriter.closeWithError(${hex}) → the page sees SubscribeError ${hex}`, async () => {
      const ctrl = new AbortController();
      const go = gate();
      nodeMux.publishFunc(ctrl.signal, `/err/node-sub-${code}`, async (tw) => {
        if (tw.trackName === "before") {
          await tw.closeWithError(code);
          return;
        }
        const g = await tw.openGroup();
        await g.writeFrame(enc.encode("x"));
        await g.close();
        await go.promise;
        await tw.closeWithError(code);
      });
      try {
        // Before SUBSCRIBE_OK: subscribe itself fails.
        const e1 = await pageSubscribe(page, `b${code}`, `/err/node-sub-${code}`, "before");
        assert.deepEqual(
          e1 && { kind: e1.kind, code: e1.code, remote: e1.remote },
          { kind: "SubscribeError", code, remote: true },
          diag(),
        );
        // After SUBSCRIBE_OK: the next acceptGroup fails.
        assert.equal(await pageSubscribe(page, `a${code}`, `/err/node-sub-${code}`, "after"), null);
        assert.deepEqual(await pageAcceptGroup(page, `a${code}`, `a${code}g0`), { seq: "0" });
        const next = pageAcceptGroup(page, `a${code}`, `a${code}g1`);
        go.open();
        const r = await within(next, "the subscription error");
        assert.ok("error" in r);
        assert.deepEqual(
          { kind: r.error.kind, code: r.error.code, remote: r.error.remote },
          { kind: "SubscribeError", code, remote: true },
        );
      } finally {
        ctrl.abort();
      }
    });

    it(`page GroupReader.cancelRead(${hex}) → Node's GroupWriter signal aborts with GroupError ${hex}`, async () => {
      const ctrl = new AbortController();
      const reasons = waiter<unknown>();
      nodeMux.publishFunc(ctrl.signal, `/err/cancel-read-${code}`, async (tw) => {
        const g = await tw.openGroup();
        await g.writeFrame(enc.encode("first"));
        reasons.push(await aborted(g.signal));
        // Writes fail from now on with the same error.
        await assert.rejects(g.writeFrame(enc.encode("more")), (e) => e === g.signal.reason);
        await tw.close();
      });
      try {
        assert.equal(await pageSubscribe(page, `cr${code}`, `/err/cancel-read-${code}`, "t"), null);
        assert.deepEqual(await pageAcceptGroup(page, `cr${code}`, `cr${code}g0`), { seq: "0" });
        assert.deepEqual(
          (await pageReadFrames(page, `cr${code}g0`, 1)).map((x) => ("frame" in x ? x.frame : x)),
          ["first"],
        );
        await page.evaluate(
          ({ gkey, code }) => {
            const { T } = globalThis as unknown as PageGlobals;
            T.groups.get(gkey)!.cancelRead(code);
          },
          { gkey: `cr${code}g0`, code },
        );
        const reason = await within(reasons.next(), "STOP_SENDING at Node");
        assert.ok(reason instanceof GroupError, String(reason));
        assert.equal(reason.code, await pageSendableCode(page, code));
        assert.equal(reason.remote, true);
      } finally {
        ctrl.abort();
      }
    });

    it(`Node GroupWriter.cancelWrite(${hex}) → the page's readFrame fails with GroupError ${hex}`, async () => {
      const ctrl = new AbortController();
      const go = gate();
      nodeMux.publishFunc(ctrl.signal, `/err/cancel-write-${code}`, async (tw) => {
        const g = await tw.openGroup();
        await g.writeFrame(enc.encode("first"));
        await go.promise;
        g.cancelWrite(code);
        await new Promise((r) => setTimeout(r, 100));
      });
      try {
        assert.equal(await pageSubscribe(page, `cw${code}`, `/err/cancel-write-${code}`, "t"), null);
        assert.deepEqual(await pageAcceptGroup(page, `cw${code}`, `cw${code}g0`), { seq: "0" });
        assert.deepEqual(
          (await pageReadFrames(page, `cw${code}g0`, 1)).map((x) => ("frame" in x ? x.frame : x)),
          ["first"],
        );
        const rest = pageReadFrames(page, `cw${code}g0`, 5);
        go.open();
        const r = await within(rest, "the reset in the page");
        const last = r.at(-1)!;
        assert.ok("error" in last, JSON.stringify(r));
        assert.deepEqual(
          { kind: last.error.kind, code: last.error.code, remote: last.error.remote },
          { kind: "GroupError", code, remote: true },
        );
      } finally {
        ctrl.abort();
      }
    });

    it(`page TrackWriter.closeWithError(${hex}) and GroupWriter.cancelWrite(${hex}) → Node sees ${hex}`, async () => {
      await page.evaluate(
        ({ path, code }) => {
          const { T } = globalThis as unknown as PageGlobals;
          const ctrl = new AbortController();
          T.pubs.set(path, ctrl);
          T.mux.publishFunc(ctrl.signal, path, async (tw) => {
            if (tw.trackName === "reject") {
              await tw.closeWithError(code);
              return;
            }
            const g = await tw.openGroup();
            await g.writeFrame(new TextEncoder().encode("first"));
            await new Promise<void>((r) => T.gates.set(path, r));
            g.cancelWrite(code);
            await new Promise((r) => setTimeout(r, 100));
          });
        },
        { path: `/err/page-${code}`, code },
      );
      try {
        const sendable = await pageSendableCode(page, code);
        if (code <= 0xff) assert.equal(sendable, code);
        await assert.rejects(node.subscribe(`/err/page-${code}`, "reject"), (e) => {
          assert.ok(e instanceof SubscribeError, String(e));
          assert.equal(e.code, sendable);
          assert.equal(e.remote, true);
          return true;
        });
        const tr = await node.subscribe(`/err/page-${code}`, "data");
        const g = await within(tr.acceptGroup(), "the page's group");
        const f = await g.readFrame();
        assert.equal(f && dec.decode(f.body()), "first");
        await page.evaluate((path) => {
          const { T } = globalThis as unknown as PageGlobals;
          T.gates.get(path)!();
        }, `/err/page-${code}`);
        await assert.rejects(within(g.readFrame(), "the reset at Node"), (e) => {
          assert.ok(e instanceof GroupError, String(e));
          assert.equal(e.code, sendable);
          assert.equal(e.remote, true);
          return true;
        });
        await tr.close();
      } finally {
        await page.evaluate((path) => {
          const { T } = globalThis as unknown as PageGlobals;
          T.pubs.get(path)!.abort();
        }, `/err/page-${code}`);
      }
    });

    it(`Node GroupReader.cancelRead(${hex}) → the page's GroupWriter signal aborts with GroupError ${hex}`, async () => {
      const path = `/err/page-stop-${code}`;
      await page.evaluate((path) => {
        const { T } = globalThis as unknown as PageGlobals;
        const ctrl = new AbortController();
        T.pubs.set(path, ctrl);
        T.events.set(path, []);
        T.mux.publishFunc(ctrl.signal, path, async (tw) => {
          const g = await tw.openGroup();
          await g.writeFrame(new TextEncoder().encode("first"));
          const reason = await new Promise<unknown>((r) =>
            g.signal.addEventListener("abort", () => r(g.signal.reason), { once: true }),
          );
          T.events.get(path)!.push(T.describe(reason));
        });
      }, path);
      try {
        const tr = await node.subscribe(path, "t");
        const g = await within(tr.acceptGroup(), "the page's group");
        const f = await g.readFrame();
        assert.equal(f && dec.decode(f.body()), "first");
        g.cancelRead(code);
        const seen = await within(
          page.evaluate(async (path) => {
            const { T } = globalThis as unknown as PageGlobals;
            const ev = T.events.get(path)!;
            while (ev.length === 0) await new Promise((r) => setTimeout(r, 20));
            return ev[0]!;
          }, path),
          "STOP_SENDING in the page",
        );
        assert.deepEqual(
          { kind: seen.kind, code: seen.code, remote: seen.remote },
          { kind: "GroupError", code, remote: true },
        );
        await tr.close();
      } finally {
        await page.evaluate((path) => {
          const { T } = globalThis as unknown as PageGlobals;
          T.pubs.get(path)!.abort();
        }, path);
      }
    });
  }

  describe("session close codes", () => {
    for (const code of CODES) {
      const hex = `0x${code.toString(16)}`;

      it(`page session.closeWithError(${hex}) → Node sees SessionError ${hex} with the reason`, async () => {
        const p = await openMoqtPage(browser, http.origin);
        try {
          await within(pageDial(p, url, hash), "dial");
          const s = await within(sessions.next(), "the Node session");
          await p.evaluate(
            async ({ code }) => {
              const { T } = globalThis as unknown as PageGlobals;
              await T.session.closeWithError(code, `bye ${code}`);
            },
            { code },
          );
          const err = await within(s.closed, "Node to see the close");
          assert.ok(err instanceof SessionError, String(err));
          assert.equal(err.code, code);
          assert.equal(err.remote, true);
          assert.match(err.message, new RegExp(`bye ${code}`));
          assert.ok(s.signal.aborted);
        } finally {
          await p.close();
        }
      });

      it(`Node session.closeWithError(${hex}) → the page sees SessionError ${hex} with the reason`, async () => {
        const p = await openMoqtPage(browser, http.origin);
        try {
          await within(pageDial(p, url, hash), "dial");
          const s = await within(sessions.next(), "the Node session");
          await s.closeWithError(code, `node bye ${code}`);
          const seen = await within(
            p.evaluate(async () => {
              const { T } = globalThis as unknown as PageGlobals;
              const closed = await T.closed;
              return { closed, aborted: T.session.signal.aborted };
            }),
            "the page to see the close",
          );
          assert.equal(seen.aborted, true);
          assert.ok(seen.closed);
          assert.deepEqual(
            { kind: seen.closed.kind, code: seen.closed.code, remote: seen.closed.remote },
            { kind: "SessionError", code, remote: true },
          );
          assert.match(seen.closed.message, new RegExp(`node bye ${code}`));
        } finally {
          await p.close();
        }
      });
    }
  });
});
