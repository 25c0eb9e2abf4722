/** The demo page: publish the camera (or a test pattern) and watch any live broadcast through a moqt relay.
 *
 *  Query parameters (all optional):
 *  - `relay=https://host:port/`  MoQ URL. Default: this page's host with the port from `/relay.json` (served by the
 *    relay), else port 4443.
 *  - `cert=<hex sha-256>`        certificate hash for `serverCertificateHashes`. Default: `/relay.json`, else
 *    `/certificate.sha256` from this page's origin; none found → dial without (a CA-signed certificate).
 *  - `publish=/demo/name`        start publishing at once under this path (`pattern=1`: the test pattern, no camera;
 *    `codec=vp8|avc1|vp09`: only that codec).
 *  - `watch=/demo/name | auto`   start watching that broadcast, or (auto) the first live one.
 *  The page state is on `window.demo` (used by the browser test).
 *  @module */
import * as moqt from "../../src/browser.js";
import { Publisher, type PublisherStats } from "./publisher.js";
import { Watcher, type WatcherStats } from "./watcher.js";

interface DemoState {
  state: "connecting" | "connected" | "closed" | "error";
  error: string;
  relay: string;
  broadcasts: string[];
  publisher: PublisherStats | undefined;
  watcher: WatcherStats | undefined;
}

const demo: DemoState = {
  state: "connecting",
  error: "",
  relay: "",
  broadcasts: [],
  publisher: undefined,
  watcher: undefined,
};
(globalThis as unknown as { demo: DemoState }).demo = demo;

const params = new URLSearchParams(location.search);
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

let session: moqt.Session | undefined;
let publisher: Publisher | undefined;
let watcher: Watcher | undefined;
const live = new Map<string, moqt.Announcement>();

function hexBytes(hex: string): Uint8Array {
  const h = hex
    .trim()
    .toLowerCase()
    .replace(/[^0-9a-f]/g, "");
  if (h.length !== 64) throw new Error(`certificate hash must be 64 hex digits, got ${h.length}`);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(h.slice(i * 2, i * 2 + 2), 16);
  return out;
}

async function fetchText(url: string): Promise<string | undefined> {
  try {
    const r = await fetch(url, { cache: "no-store" });
    return r.ok ? await r.text() : undefined;
  } catch {
    return undefined;
  }
}

/** Where to dial and which certificate hash to trust. */
async function relayAddress(): Promise<{ url: string; hash: string | undefined }> {
  let info: { url?: string; port?: number; certificateSha256?: string } = {};
  const json = await fetchText("/relay.json");
  if (json) {
    try {
      info = JSON.parse(json) as typeof info;
    } catch {
      // not the relay's
    }
  }
  const host = location.hostname.includes(":") ? `[${location.hostname}]` : location.hostname || "127.0.0.1";
  const url = params.get("relay") ?? `https://${host}:${info.port ?? 4443}/`;
  let hash = params.get("cert") ?? info.certificateSha256;
  if (!hash && !params.get("relay")) hash = (await fetchText("/certificate.sha256"))?.trim();
  return { url, hash: hash || undefined };
}

function setStatus(text: string, cls: string): void {
  const el = $("status");
  el.textContent = text;
  el.className = cls;
}

async function connect(): Promise<void> {
  const { url, hash } = await relayAddress();
  demo.relay = url;
  ($("relay") as HTMLInputElement).value = url;
  setStatus(`connecting to ${url}…`, "connecting");
  const client = new moqt.Client({
    ...(hash ? { tls: { serverCertificateHashes: [hexBytes(hash)] } } : {}),
  });
  const mux = new moqt.TrackMux();
  session = await client.dial(url, mux);
  demo.state = "connected";
  setStatus(`connected to ${url}`, "ok");
  void session.closed.then((e) => {
    demo.state = "closed";
    setStatus(e ? `session closed: ${e.message}` : "session closed", "error");
  });
  void listBroadcasts(session);
}

async function listBroadcasts(s: moqt.Session): Promise<void> {
  try {
    const ar = await s.acceptAnnounce("/");
    for await (const ann of ar) {
      const path = ann.broadcastPath;
      live.set(path, ann);
      renderList();
      void ann.ended.then(() => {
        if (live.get(path) === ann) live.delete(path);
        renderList();
      });
    }
  } catch (e) {
    if (!s.signal.aborted) $("list-error").textContent = `announcements: ${String(e)}`;
  }
}

function renderList(): void {
  demo.broadcasts = [...live.keys()].sort();
  const ul = $("broadcasts");
  ul.replaceChildren();
  if (demo.broadcasts.length === 0) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = "no live broadcasts";
    ul.append(li);
  }
  for (const path of demo.broadcasts) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.textContent = path;
    b.className = watcher?.path === path ? "watching" : "";
    b.onclick = () => void watch(path);
    li.append(b);
    ul.append(li);
  }
  const auto = params.get("watch");
  if (auto === "auto" && (!watcher || watcher.stats.ended) && demo.broadcasts[0])
    void watch(demo.broadcasts[0]);
  else if (auto && auto !== "auto" && !watcher && live.has(auto)) void watch(auto);
}

async function watch(path: string): Promise<void> {
  if (!session) return;
  watcher?.stop();
  const w = new Watcher(moqt, session, path, $("watch-canvas") as HTMLCanvasElement);
  watcher = w;
  demo.watcher = w.stats;
  renderList();
  try {
    await w.start();
  } catch (e) {
    w.stats.errors.push(`subscribe: ${String(e)}`);
    w.stats.ended = true;
  }
}

async function publish(path: string, pattern: boolean): Promise<void> {
  if (!session) return;
  publisher?.stop();
  const p = new Publisher(moqt, session, {
    path,
    pattern,
    codec: params.get("codec") ?? "",
    preview: $("preview-canvas") as HTMLCanvasElement,
  });
  publisher = p;
  demo.publisher = p.stats;
  try {
    await p.start();
    ($("publish-btn") as HTMLButtonElement).textContent = "Stop";
  } catch (e) {
    p.stats.errors.push(String(e));
  }
}

function fmt(n: number, unit: string): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M${unit}`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k${unit}`;
  return `${Math.round(n)} ${unit}`;
}

function renderStats(): void {
  const p = publisher?.stats;
  $("pub-stats").textContent = p
    ? [
        `source ${p.source}, codec ${p.codec}`,
        `frames ${p.framesEncoded}, groups ${p.groups}, sent ${fmt(p.bytesOut, "B")}`,
        `subscribers ${p.subscribers}`,
        ...p.errors.slice(-3),
      ].join("\n")
    : "not publishing";
  const w = watcher?.stats;
  $("watch-stats").textContent = w
    ? [
        `${w.path} (${w.codec || "…"}) ${w.width}×${w.height}${w.ended ? " — ended" : ""}`,
        `latency ${w.latencyMs.toFixed(1)} ms (avg ${w.latencyAvgMs.toFixed(1)} ms)`,
        `bitrate ${fmt(w.bitrate, "bit/s")}`,
        `frames received ${w.framesReceived}, decoded ${w.framesDecoded}`,
        `groups ${w.groupsReceived}, dropped ${w.groupsDropped}`,
        ...w.errors.slice(-3),
      ].join("\n")
    : "not watching";
}

function init(): void {
  const name =
    ($("publish-path") as HTMLInputElement).value || `/demo/${Math.random().toString(36).slice(2, 8)}`;
  ($("publish-path") as HTMLInputElement).value = params.get("publish") ?? name;
  ($("pattern") as HTMLInputElement).checked = params.get("pattern") === "1";
  $("publish-btn").onclick = () => {
    if (publisher) {
      publisher.stop();
      publisher = undefined;
      demo.publisher = undefined;
      $("publish-btn").textContent = "Publish";
      return;
    }
    const path = ($("publish-path") as HTMLInputElement).value.trim();
    void publish(path.startsWith("/") ? path : `/${path}`, ($("pattern") as HTMLInputElement).checked);
  };
  renderList();
  setInterval(renderStats, 250);
  connect()
    .then(() => {
      const path = params.get("publish");
      if (path) void publish(path, params.get("pattern") === "1");
    })
    .catch((e: unknown) => {
      demo.state = "error";
      demo.error = String(e);
      setStatus(`could not connect: ${String(e)}`, "error");
    });
}

init();
