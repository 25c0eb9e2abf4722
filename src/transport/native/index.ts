/** Native transport entry (Node only): listen for / connect raw QUIC (ALPN moq-00) and WebTransport over HTTP/3 on one
 *  UDP port, and generate a browser-acceptable development certificate.
 *
 *  API shape (for Client/Server wiring):
 *  ```ts
 *  const cert = generateCertificate();                         // {certPem, keyPem, sha256, notAfter}
 *  const listener = listenNative({ host: "127.0.0.1", port: 0, certPem: cert.certPem, keyPem: cert.keyPem,
 *                                  authorize: (req) => req.path.startsWith("/moq") });   // optional
 *  listener.port;                                              // bound UDP port
 *  const acc = await listener.accept();                        // null once closed
 *  //   acc = { transport: NativeTransport, protocol: "h3" | "moq-00", path: "/moq" | "", url, origin?, remoteAddress }
 *  listener.close();
 *  const t = await connectNative("https://127.0.0.1:4443/moq", { alpn: "h3", certHashes: [cert.sha256] });
 *  const q = await connectNative("https://127.0.0.1:4443", { alpn: "moq-00", ca: cert.certPem });
 *  ```
 *  Every transport is a `Transport` (see ../transport.ts). The addon is loaded on first call (binding.ts).
 *  @module @internal */
import { loadNative, type NativeIncoming, type NativeServer } from "./binding.js";
import { NativeTransport } from "./transport.js";

export { NativeTransport, READ_MAX_BYTES } from "./transport.js";
export { NativeAddonError, nativeAvailable, nativeAddonPath } from "./binding.js";

export const ALPN_WEBTRANSPORT = "h3";
export const ALPN_MOQ = "moq-00";

/** What the server knows about a connection before deciding to accept it. */
export interface NativeRequestInfo {
  /** "h3" (WebTransport) or the raw QUIC ALPN ("moq-00"). */
  readonly protocol: string;
  /** WebTransport request URL and its path; empty for raw QUIC. */
  readonly url: string;
  readonly path: string;
  /** WebTransport Origin header, when sent (browsers always send it). */
  readonly origin: string | undefined;
  /** WebTransport subprotocols the client offered. */
  readonly protocols: readonly string[];
  readonly remoteAddress: string;
}

/** `true`/`undefined` accept; `false` rejects with 403; a number rejects with that HTTP status (raw QUIC: closes the
 *  connection with it as the code). `{ subprotocol }` accepts and selects a WebTransport subprotocol. */
export type NativeAuthorizeResult = boolean | number | undefined | { readonly subprotocol: string };

export interface ListenNativeOptions {
  /** Default "::". */
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
  readonly certPem: string;
  readonly keyPem: string;
  /** Raw QUIC ALPNs accepted besides "h3"; default ["moq-00"]. */
  readonly alpns?: readonly string[];
  /** Concurrent bidi and uni streams a peer may open (each); default 1024. */
  readonly maxStreams?: number;
  /** Decide per connection (origin checks, path routing). Default: accept all. */
  readonly authorize?: (req: NativeRequestInfo) => NativeAuthorizeResult | Promise<NativeAuthorizeResult>;
}

export interface NativeAccepted extends NativeRequestInfo {
  readonly transport: NativeTransport;
}

export interface NativeListener {
  readonly port: number;
  /** Bound socket address, e.g. "[::]:4443". */
  readonly address: string;
  /** Next accepted session, or `null` once the listener is closed. Connections whose handshake fails are skipped. */
  accept(): Promise<NativeAccepted | null>;
  /** Stop listening and close every connection (code 0 unless given). Pending `accept()` calls resolve `null`. */
  close(code?: number, reason?: string): void;
}

function infoOf(inc: NativeIncoming): NativeRequestInfo {
  return {
    protocol: inc.protocol,
    url: inc.url,
    path: inc.path,
    origin: inc.origin ?? undefined,
    protocols: inc.protocols,
    remoteAddress: inc.remoteAddress,
  };
}

class Listener implements NativeListener {
  #server: NativeServer;
  #authorize: ListenNativeOptions["authorize"];
  #closed = false;

  constructor(server: NativeServer, authorize: ListenNativeOptions["authorize"]) {
    this.#server = server;
    this.#authorize = authorize;
  }

  get port(): number {
    return this.#server.port;
  }

  get address(): string {
    return this.#server.address;
  }

  async accept(): Promise<NativeAccepted | null> {
    for (;;) {
      if (this.#closed) return null;
      const inc = await this.#server.accept();
      if (!inc) return null;
      const info = infoOf(inc);
      let decision: NativeAuthorizeResult = true;
      if (this.#authorize) {
        try {
          decision = await this.#authorize(info);
        } catch {
          decision = 500;
        }
      }
      if (decision === false || (typeof decision === "number" && decision !== 200)) {
        void inc.reject(decision === false ? 403 : decision).catch(() => undefined);
        continue;
      }
      const sub = typeof decision === "object" ? decision.subprotocol : undefined;
      try {
        const session = await inc.accept(sub ?? null);
        return { ...info, transport: new NativeTransport(session) };
      } catch {
        continue; // peer went away during the handshake
      }
    }
  }

  close(code = 0, reason = ""): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#server.close(code, reason);
  }
}

/** Listen on one UDP port for WebTransport (h3) and raw QUIC (moq-00). Throws `NativeAddonError` without the addon. */
export function listenNative(opts: ListenNativeOptions): NativeListener {
  const server = loadNative().NativeServer.listen({
    host: opts.host ?? "::",
    port: opts.port ?? 0,
    certPem: opts.certPem,
    keyPem: opts.keyPem,
    ...(opts.alpns ? { alpns: [...opts.alpns] } : {}),
    ...(opts.maxStreams !== undefined ? { maxStreams: opts.maxStreams } : {}),
  });
  return new Listener(server, opts.authorize);
}

export interface ConnectNativeOptions {
  /** "h3" (default) → WebTransport to the URL; "moq-00" (or another ALPN) → raw QUIC to the URL's host:port. */
  readonly alpn?: string;
  /** Trust these CA certificates (PEM) instead of the system roots. */
  readonly ca?: string;
  /** Accept a server certificate whose DER SHA-256 is listed (like browsers' serverCertificateHashes). */
  readonly certHashes?: readonly (Uint8Array | ArrayBuffer)[];
  /** Skip certificate verification. Tests only. */
  readonly insecure?: boolean;
  /** WebTransport subprotocols to offer. */
  readonly protocols?: readonly string[];
  readonly maxStreams?: number;
}

/** Connect over raw QUIC or WebTransport. Rejects with an Error whose message starts with "ECONNECT:" on failure. */
export async function connectNative(url: string | URL, opts: ConnectNativeOptions = {}): Promise<NativeTransport> {
  const session = await loadNative().connect(String(url), {
    alpn: opts.alpn ?? ALPN_WEBTRANSPORT,
    ...(opts.ca !== undefined ? { caPem: opts.ca } : {}),
    ...(opts.certHashes
      ? { certHashes: opts.certHashes.map((h) => (h instanceof Uint8Array ? h : new Uint8Array(h))) }
      : {}),
    ...(opts.insecure !== undefined ? { insecure: opts.insecure } : {}),
    ...(opts.protocols ? { protocols: [...opts.protocols] } : {}),
    ...(opts.maxStreams !== undefined ? { maxStreams: opts.maxStreams } : {}),
  });
  return new NativeTransport(session);
}

export interface DevCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  /** SHA-256 of the DER certificate: pass as `serverCertificateHashes[].value` in browsers or `certHashes` here. */
  readonly sha256: Uint8Array;
  readonly notAfter: Date;
}

/** Self-signed ECDSA P-256 certificate for localhost, 127.0.0.1 and ::1 (or `names`), valid `days` (1..14, default
 *  10) so that Chromium accepts it through serverCertificateHashes. */
export function generateCertificate(opts: { days?: number; names?: readonly string[] } = {}): DevCertificate {
  const c = loadNative().generateCertificate(opts.days ?? null, opts.names ? [...opts.names] : null);
  return {
    certPem: c.certPem,
    keyPem: c.keyPem,
    sha256: new Uint8Array(c.sha256.buffer, c.sha256.byteOffset, c.sha256.byteLength),
    notAfter: new Date(c.notAfterMs),
  };
}
