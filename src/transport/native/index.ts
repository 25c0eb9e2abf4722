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
import { checkLiveness, type LivenessOptions } from "../../client/client.js";

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

/** `idleTimeoutMs` (default 30000, 0: the peer's) and `keepAliveMs` (default 10000 or a third of the idle timeout,
 *  0: off), in ms: see LivenessOptions in client.ts. TypeError/RangeError on bad values. */
export interface ListenNativeOptions extends LivenessOptions {
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
  const liveness = checkLiveness(opts);
  const server = loadNative().NativeServer.listen({
    host: opts.host ?? "::",
    port: opts.port ?? 0,
    certPem: opts.certPem,
    keyPem: opts.keyPem,
    ...(opts.alpns ? { alpns: [...opts.alpns] } : {}),
    ...(opts.maxStreams !== undefined ? { maxStreams: opts.maxStreams } : {}),
    ...liveness,
  });
  return new Listener(server, opts.authorize);
}

/** `idleTimeoutMs` / `keepAliveMs`: as for listenNative. */
export interface ConnectNativeOptions extends LivenessOptions {
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
  const liveness = checkLiveness(opts);
  const session = await loadNative().connect(String(url), {
    alpn: opts.alpn ?? ALPN_WEBTRANSPORT,
    ...(opts.ca !== undefined ? { caPem: opts.ca } : {}),
    ...(opts.certHashes
      ? { certHashes: opts.certHashes.map((h) => (h instanceof Uint8Array ? h : new Uint8Array(h))) }
      : {}),
    ...(opts.insecure !== undefined ? { insecure: opts.insecure } : {}),
    ...(opts.protocols ? { protocols: [...opts.protocols] } : {}),
    ...(opts.maxStreams !== undefined ? { maxStreams: opts.maxStreams } : {}),
    ...liveness,
  });
  return new NativeTransport(session);
}

/** What the native addon holds right now, process-wide (all listeners and connections of this process). Gauges, not
 *  totals: each rises when the thing is made and falls when it is released.
 *
 *  `connectionsRaw` / `connectionsWeb` follow the connection (until QUIC reports it closed, whatever JS still holds);
 *  `sessions`, `sendStreams`, `recvStreams` and `endpoints` follow the native objects, which JS wrappers keep alive
 *  until they are garbage-collected — compare them with a baseline after a forced GC (a count that stays above it is a
 *  leaked handle). `streamsQueued` (peer streams not yet accepted), `handshakes` (server connections mid-handshake)
 *  and `incoming` (handshaken, not yet accepted or rejected) are work waiting. */
export interface NativeResourceStats {
  /** UDP endpoints: one per listener, one per client connection. */
  readonly endpoints: number;
  /** Established raw QUIC (moq-00) connections not yet closed. */
  readonly connectionsRaw: number;
  /** Established WebTransport (HTTP/3) connections not yet closed. */
  readonly connectionsWeb: number;
  /** Native session objects alive (including ones whose JS wrapper awaits GC). */
  readonly sessions: number;
  /** Stream halves alive: a bidi stream counts once in each, a uni stream in one. */
  readonly sendStreams: number;
  readonly recvStreams: number;
  /** Peer-opened streams received but not yet accepted by the application. */
  readonly streamsQueued: number;
  /** Server connections in their QUIC/HTTP/3 handshake. */
  readonly handshakes: number;
  /** Handshaken server connections awaiting accept/reject. */
  readonly incoming: number;
}

/** A snapshot of the native addon's resource counters (see NativeResourceStats). Throws `NativeAddonError` without
 *  the addon. */
export function nativeStats(): NativeResourceStats {
  return { ...loadNative().nativeCounters() };
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
