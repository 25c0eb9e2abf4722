/** The relay's HTTP side (node:http): the demo page, the certificate hash and Prometheus metrics.
 *
 *  - `GET /certificate.sha256`: hex SHA-256 of the DER certificate the relay serves (for `serverCertificateHashes`),
 *    text/plain, with `Access-Control-Allow-Origin: *` so a page on another origin can fetch it;
 *  - `GET /relay.json`: `{ "url", "port", "certificateSha256" }` for pages that need the MoQ address (CORS too);
 *  - `GET /metrics`: Prometheus text exposition;
 *  - anything else: static files from the web root (`web/dist/` of the package by default), `index.html` at `/`.
 *  @module */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, normalize, sep } from "node:path";
import { renderMetrics, type Metric } from "./metrics.js";

export interface HttpSource {
  /** Hex SHA-256 of the DER certificate. */
  certificateSha256(): string;
  /** The MoQ URL a page should dial (https://host:port/). */
  moqUrl(): string;
  port: number;
  metrics(): Metric[];
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".wasm": "application/wasm",
  ".txt": "text/plain; charset=utf-8",
};

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  head: boolean,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, {
    "Content-Type": type,
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-cache",
    ...extra,
  });
  res.end(head ? undefined : body);
}

const CORS = { "Access-Control-Allow-Origin": "*" };

function fallbackPage(src: HttpSource): string {
  return `<!doctype html><meta charset="utf-8"><title>moqt relay</title>
<h1>moqt relay</h1>
<p>MoQ URL: <code>${src.moqUrl()}</code></p>
<p>Certificate SHA-256: <code>${src.certificateSha256()}</code> (<a href="/certificate.sha256">/certificate.sha256</a>)</p>
<p><a href="/metrics">/metrics</a></p>
<p>No demo page found (build <code>web/</code> into <code>web/dist/</code>).</p>
`;
}

/** A request handler for node:http serving `src` and the files under `webRoot`. */
export function httpHandler(
  src: HttpSource,
  webRoot: string,
): (req: IncomingMessage, res: ServerResponse) => void {
  const root = normalize(webRoot.endsWith(sep) ? webRoot : webRoot + sep);
  return (req, res) => {
    void (async () => {
      const method = req.method ?? "GET";
      const head = method === "HEAD";
      if (method === "OPTIONS") {
        res.writeHead(204, {
          ...CORS,
          "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
          "Access-Control-Max-Age": "86400",
        });
        res.end();
        return;
      }
      if (method !== "GET" && !head) {
        send(res, 405, "text/plain; charset=utf-8", "method not allowed\n", head, { Allow: "GET, HEAD" });
        return;
      }
      let pathname: string;
      try {
        pathname = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
      } catch {
        send(res, 400, "text/plain; charset=utf-8", "bad request\n", head);
        return;
      }
      switch (pathname) {
        case "/certificate.sha256":
          send(res, 200, "text/plain; charset=utf-8", src.certificateSha256(), head, CORS);
          return;
        case "/relay.json":
          send(
            res,
            200,
            "application/json",
            JSON.stringify({ url: src.moqUrl(), port: src.port, certificateSha256: src.certificateSha256() }),
            head,
            CORS,
          );
          return;
        case "/metrics":
          send(res, 200, "text/plain; version=0.0.4; charset=utf-8", renderMetrics(src.metrics()), head);
          return;
      }
      if (pathname.includes("\0")) {
        send(res, 400, "text/plain; charset=utf-8", "bad request\n", head);
        return;
      }
      let file = normalize(join(root, pathname));
      if (!file.startsWith(root) && file + sep !== root) {
        send(res, 403, "text/plain; charset=utf-8", "forbidden\n", head);
        return;
      }
      try {
        let st = await stat(file);
        if (st.isDirectory()) {
          file = join(file, "index.html");
          st = await stat(file);
        }
        if (!st.isFile()) throw new Error("not a file");
        res.writeHead(200, {
          "Content-Type": TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
          "Content-Length": st.size,
          "Cache-Control": "no-cache",
        });
        if (head) {
          res.end();
          return;
        }
        const rs = createReadStream(file);
        rs.on("error", () => res.destroy());
        rs.pipe(res);
      } catch {
        if (pathname === "/" || pathname === "/index.html")
          send(res, 200, "text/html; charset=utf-8", fallbackPage(src), head);
        else send(res, 404, "text/plain; charset=utf-8", "not found\n", head);
      }
    })().catch(() => res.destroy());
  };
}
