// Headless Chromium for browser tests: Debian's /usr/bin/chromium driven by playwright-core (no browser download),
// pages served from a loopback node:http server, the web bundle built fresh into a temporary directory per test
// file (no races between test files running concurrently, never a stale web/dist).
//
// Flags follow shared/reference/transports.md: headless as root needs --no-sandbox; QUIC stays enabled (never
// --disable-quic); a new empty user-data-dir per launch. Pages are served from http://127.0.0.1:PORT, a secure
// context, so WebTransport and getUserMedia are available.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from "playwright-core";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Chromium binary: $CHROMIUM_PATH, else Debian's. */
export function chromiumPath(): string | undefined {
  const candidates = [process.env["CHROMIUM_PATH"], "/usr/bin/chromium", "/usr/bin/chromium-browser"];
  return candidates.find((p): p is string => !!p && existsSync(p));
}

/** `skip` value for node:test: locally a missing Chromium skips with a hint; in CI it must fail. */
export function browserSkip(): string | false {
  if (chromiumPath() || process.env["CI"]) return false;
  return "Chromium not installed: apt-get install -y chromium";
}

/** Build the browser bundle and demo (scripts/build-web.mjs) into a fresh temporary directory; returns it. */
export async function buildWeb(): Promise<string> {
  const out = await mkdtemp(join(tmpdir(), "moqt-web-"));
  await promisify(execFile)(process.execPath, [join(root, "scripts/build-web.mjs"), "--outdir", out], {
    cwd: root,
  });
  return out;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json",
  ".json": "application/json",
  ".png": "image/png",
};

/** A blank page that imports the bundle and exposes it as `window.moqt`; resolves `window.moqtReady`. */
export const MOQT_PAGE = `<!doctype html><meta charset="utf-8"><title>moqt test</title>
<script type="module">
  import * as moqt from "/moqt.js";
  window.moqt = moqt;
  window.dispatchEvent(new Event("moqt-ready"));
</script>`;

export type Route = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

export interface StaticServer {
  readonly origin: string;
  close(): Promise<void>;
}

/** Serve `dir` on 127.0.0.1:0. `/moqt-test.html` is MOQT_PAGE; `routes` get first pick of each request. */
export async function serveStatic(dir: string, routes: Route[] = []): Promise<StaticServer> {
  const base = resolve(dir);
  const server: HttpServer = createServer((req, res) => {
    void (async () => {
      try {
        for (const r of routes) if (await r(req, res)) return;
        const url = new URL(req.url ?? "/", "http://x");
        if (url.pathname === "/moqt-test.html") {
          res.writeHead(200, { "content-type": TYPES[".html"]!, "cache-control": "no-store" });
          res.end(MOQT_PAGE);
          return;
        }
        const rel = url.pathname === "/" ? "index.html" : decodeURIComponent(url.pathname).slice(1);
        const file = normalize(join(base, rel));
        if (!file.startsWith(base + sep) || !(await stat(file).catch(() => null))?.isFile()) {
          res.writeHead(404).end("not found");
          return;
        }
        res.writeHead(200, {
          "content-type": TYPES[extname(file)] ?? "application/octet-stream",
          "cache-control": "no-store",
        });
        res.end(await readFile(file));
      } catch (e) {
        res.writeHead(500).end(String(e));
      }
    })();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface BrowserOptions {
  /** Fake camera/microphone and auto-accepted permission prompts. */
  fakeMedia?: boolean;
  /** Extra Chromium flags. */
  args?: string[];
}

export interface BrowserHandle {
  readonly context: BrowserContext;
  /** Open `url` in a new page; console errors and page errors are collected in `log`. */
  open(url: string): Promise<Page>;
  /** Console and page-error lines seen so far (for assertion messages). */
  readonly log: string[];
  close(): Promise<void>;
}

/** Launch headless Chromium with a fresh profile. Always `close()` it (in `finally`). */
export async function launchBrowser(opts: BrowserOptions = {}): Promise<BrowserHandle> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error("Chromium not found (apt-get install -y chromium)");
  const userDataDir = await mkdtemp(join(tmpdir(), "moqt-chromium-"));
  const args = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    ...(opts.fakeMedia ? ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"] : []),
    ...(opts.args ?? []),
  ];
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args,
      viewport: { width: 1280, height: 800 },
      ...(opts.fakeMedia ? { permissions: ["camera", "microphone"] } : {}),
    });
  } catch (e) {
    await rm(userDataDir, { recursive: true, force: true });
    throw e;
  }
  // Functions handed to page.evaluate are compiled by tsx/esbuild, which may wrap them with `__name(...)`.
  await context.addInitScript("globalThis.__name = (f) => f;");
  const log: string[] = [];
  const verbose = !!process.env["MOQT_BROWSER_LOG"];
  return {
    context,
    log,
    async open(url: string): Promise<Page> {
      const page = await context.newPage();
      page.on("console", (m: ConsoleMessage) => {
        const line = `[${m.type()}] ${m.text()}`;
        if (m.type() === "error" || m.type() === "warning") log.push(line);
        if (verbose) console.error(`page ${url}: ${line}`);
      });
      page.on("pageerror", (e) => {
        log.push(`[pageerror] ${e.message}`);
        if (verbose) console.error(`page ${url}: pageerror ${e.stack ?? e.message}`);
      });
      await page.goto(url);
      return page;
    },
    async close(): Promise<void> {
      try {
        await context.close();
      } finally {
        await rm(userDataDir, { recursive: true, force: true });
      }
    },
  };
}

/** Open MOQT_PAGE on `origin` and wait until `window.moqt` is there. */
export async function openMoqtPage(b: BrowserHandle, origin: string): Promise<Page> {
  const page = await b.open(`${origin}/moqt-test.html`);
  await page.waitForFunction(() => "moqt" in globalThis, undefined, { timeout: 30_000 });
  return page;
}
