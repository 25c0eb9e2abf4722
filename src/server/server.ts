/** Server: listens on one UDP port for WebTransport (h3) and raw QUIC (moq-00) and sets up a MoQ session on each
 *  connection through a SetupHandler (default `DefaultRouter`).
 *
 *  Node only (native addon). Without `cert`/`key` it generates an ECDSA P-256 self-signed certificate valid 10 days
 *  and exposes its SHA-256 (`certificateHash`) for browsers' `serverCertificateHashes`. `checkOrigin` vets the
 *  WebTransport Origin header (a refusal answers 403). `shutdown(signal)` waits for sessions to end, then closes the
 *  rest with GoAwayTimeout (0x10). Spec: gomoqt.md §1.1, §2.3.
 *  @module */
import { SessionErrorCode } from "../errors.js";
import type { SessionConfig } from "../session/config.js";
import type { Session } from "../session/session.js";
import { acceptSession, DefaultRouter, SetupRouter, type SetupHandler } from "../session/setup.js";
import { BitrateMonitor, type BitrateMonitorOptions } from "../session/bitrate_monitor.js";
import { generateCertificate, listenNative, type NativeListener } from "../transport/native/index.js";
import { checkLiveness, shutdownSessions, type LivenessOptions } from "../client/client.js";

/** `idleTimeoutMs` / `keepAliveMs`: see LivenessOptions (same defaults, applied to every connection). */
export interface ServerOptions extends LivenessOptions {
  /** "host:port"; ":0" or "127.0.0.1:0" picks a free port; ":4443" binds all interfaces. */
  addr: string;
  /** Certificate and key in PEM. Both omitted: a self-signed development certificate is generated. */
  cert?: string | Uint8Array;
  key?: string | Uint8Array;
  setupHandler?: SetupHandler | SetupRouter;
  /** WebTransport Origin check (undefined origin = non-browser client). Default: accept all. */
  checkOrigin?: (origin: string | undefined) => boolean;
  config?: SessionConfig;
  /** Send SESSION_UPDATE from connection statistics. Default on; `false` disables. */
  bitrateMonitor?: BitrateMonitorOptions | false;
  /** Called with each session-setup failure (bad peer, rejected setup); default: ignored. */
  onError?: (e: unknown) => void;
}

const dec = new TextDecoder();
const pem = (v: string | Uint8Array): string => (typeof v === "string" ? v : dec.decode(v));

/** Split "host:port" ("[::1]:443", ":443"). */
export function parseAddr(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(addr.trim());
  if (!m) throw new TypeError(`moqt: invalid address ${JSON.stringify(addr)} (want host:port)`);
  const host = m[1] ?? m[2] ?? "";
  const port = Number(m[3]);
  if (port > 65535) throw new RangeError(`moqt: port out of range in ${addr}`);
  return { host: host === "" ? "::" : host, port };
}

export class Server {
  readonly #opts: ServerOptions;
  readonly #liveness: LivenessOptions;
  #listener: NativeListener | undefined;
  #sessions = new Set<Session>();
  #certHash: Uint8Array | undefined;
  #certPem: string | undefined;
  #closed = false;
  #serving: Promise<void> | undefined;

  /** Throws TypeError for cert without key (or the reverse), TypeError/RangeError for bad liveness options. */
  constructor(opts: ServerOptions) {
    this.#opts = opts;
    this.#liveness = checkLiveness(opts);
    if ((opts.cert === undefined) !== (opts.key === undefined))
      throw new TypeError(
        "moqt: give both cert and key, or neither (a development certificate is generated)",
      );
  }

  /** The bound UDP port (after `listen`/`listenAndServe` started). */
  get port(): number {
    if (!this.#listener) throw new Error("moqt: server is not listening");
    return this.#listener.port;
  }

  /** SHA-256 of the generated development certificate (undefined when cert/key were given). */
  get certificateHash(): Uint8Array | undefined {
    return this.#certHash;
  }

  /** The certificate in use, PEM. */
  get certificatePem(): string | undefined {
    return this.#certPem;
  }

  /** Active sessions. */
  get sessions(): ReadonlySet<Session> {
    return this.#sessions;
  }

  /** Bind the socket (synchronously, so `port` is known right after) without waiting for it to close. */
  listen(): void {
    if (this.#listener) return;
    if (this.#closed) throw new Error("moqt: server is closed");
    const { host, port } = parseAddr(this.#opts.addr);
    let certPem: string, keyPem: string;
    if (this.#opts.cert !== undefined && this.#opts.key !== undefined) {
      certPem = pem(this.#opts.cert);
      keyPem = pem(this.#opts.key);
    } else {
      const c = generateCertificate();
      certPem = c.certPem;
      keyPem = c.keyPem;
      this.#certHash = c.sha256;
    }
    this.#certPem = certPem;
    const checkOrigin = this.#opts.checkOrigin;
    this.#listener = listenNative({
      host,
      port,
      certPem,
      keyPem,
      ...this.#liveness,
      ...(checkOrigin
        ? { authorize: (req) => (req.protocol === "h3" ? checkOrigin(req.origin) : true) }
        : {}),
    });
    this.#serving = this.#serve(this.#listener);
  }

  /** Listen and serve until `close()`; resolves then. */
  async listenAndServe(): Promise<void> {
    this.listen();
    await this.#serving;
  }

  async #serve(listener: NativeListener): Promise<void> {
    // One call per connection, so this loop's suspended frame holds no accepted transport: a loop-local variable
    // would keep the last connection's native session alive (V8 keeps it in the suspended frame) until the next one.
    while (await this.#acceptOne(listener));
  }

  async #acceptOne(listener: NativeListener): Promise<boolean> {
    const acc = await listener.accept();
    if (acc === null) return false;
    const wt = acc.protocol === "h3";
    void this.#setup(acc.transport, wt ? acc.path || "/" : undefined, wt && acc.url ? acc.url : undefined);
    return true;
  }

  async #setup(
    transport: import("../transport/transport.js").Transport,
    path: string | undefined,
    url: string | undefined,
  ): Promise<void> {
    try {
      const session = await acceptSession(transport, {
        ...(path !== undefined ? { path } : {}),
        ...(url !== undefined ? { url } : {}),
        setupHandler: this.#opts.setupHandler ?? DefaultRouter,
        ...(this.#opts.config ? { config: this.#opts.config } : {}),
      });
      if (this.#closed) {
        void session.closeWithError(SessionErrorCode.NoError, "server closed");
        return;
      }
      this.#sessions.add(session);
      void session.closed.then(() => this.#sessions.delete(session));
      if (this.#opts.bitrateMonitor !== false) new BitrateMonitor(session, this.#opts.bitrateMonitor ?? {});
    } catch (e) {
      this.#opts.onError?.(e);
    }
  }

  /** Stop listening and close every session with NoError. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(
      [...this.#sessions].map((s) => s.closeWithError(SessionErrorCode.NoError, "server closed")),
    );
    this.#listener?.close(SessionErrorCode.NoError, "server closed");
    await this.#serving;
  }

  /** Stop accepting, wait for sessions to end; when `signal` aborts, close the rest with GoAwayTimeout (0x10). */
  async shutdown(signal?: AbortSignal): Promise<void> {
    this.#closed = true;
    await shutdownSessions(this.#sessions, signal);
    this.#listener?.close(SessionErrorCode.NoError, "server shut down");
    await this.#serving;
  }
}
