/** Client: dials MoQ sessions by URL — `https://` over WebTransport, `moqt://` over raw QUIC (ALPN moq-00, with the
 *  path, and the query if any, sent as setup parameter 0x01).
 *
 *  Transport-agnostic: the stack comes from a Connector installed by the entry point (native addon in Node, the
 *  browser's WebTransport in browsers). Spec: gomoqt.md §1.1, §2.2.
 *  @module */
import { SessionError, SessionErrorCode } from "../errors.js";
import type { Transport } from "../transport/transport.js";
import type { SessionConfig } from "../session/config.js";
import { dialSession } from "../session/setup.js";
import type { Session } from "../session/session.js";
import type { Parameters } from "../wire/parameters.js";
import type { TrackMux } from "../track/track_mux.js";
import { BitrateMonitor, type BitrateMonitorOptions } from "../session/bitrate_monitor.js";

export interface TlsOptions {
  /** SHA-256 hashes of acceptable server certificates (ECDSA P-256, valid ≤ 14 days in browsers). */
  serverCertificateHashes?: Uint8Array[];
  /** Trust these CA certificates (PEM) instead of the system roots (Node). */
  ca?: string | Uint8Array;
  /** Skip certificate verification (development only; Node). */
  insecureSkipVerify?: boolean;
}

/** QUIC liveness settings (Node's native transport; browsers' WebTransport has no such knobs and ignores them). */
export interface LivenessOptions {
  /** Milliseconds without any packet from the peer after which the connection is closed and the session ends with
   *  SessionError Internal (`CloseInfo.failure` "idle-timeout"). Default 30000; 0 leaves it to the peer (QUIC uses
   *  the smaller of both peers' values, so either side can shorten it). Integer 0..86400000. */
  idleTimeoutMs?: number;
  /** Milliseconds of silence after which a PING is sent, keeping an idle session (and NAT bindings) alive. Default
   *  10000, or a third of `idleTimeoutMs` when that is shorter than 30 s; 0 disables. Integer 0..86400000, below
   *  `idleTimeoutMs` unless that is 0. */
  keepAliveMs?: number;
}

export interface ClientOptions extends LivenessOptions {
  config?: SessionConfig;
  versions?: number[];
  extensions?: Parameters;
  tls?: TlsOptions;
  /** Send SESSION_UPDATE from connection statistics (where the stack has them). Default on; `false` disables. */
  bitrateMonitor?: BitrateMonitorOptions | false;
}

const MAX_TIMER_MS = 86_400_000;

/** @internal Throws TypeError (not an integer) or RangeError (out of range, keep-alive not below the idle timeout)
 *  for bad liveness options; returns only the ones that are set. */
export function checkLiveness(opts: LivenessOptions): LivenessOptions {
  const out: LivenessOptions = {};
  for (const name of ["idleTimeoutMs", "keepAliveMs"] as const) {
    const v: unknown = opts[name];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isInteger(v))
      throw new TypeError(`moqt: ${name} must be an integer number of milliseconds, got ${String(v)}`);
    if (v < 0 || v > MAX_TIMER_MS)
      throw new RangeError(`moqt: ${name} must be 0..${MAX_TIMER_MS} ms, got ${v}`);
    out[name] = v;
  }
  const idle = out.idleTimeoutMs ?? 30_000;
  if (out.keepAliveMs !== undefined && idle > 0 && out.keepAliveMs >= idle)
    throw new RangeError(
      `moqt: keepAliveMs (${out.keepAliveMs}) must be below idleTimeoutMs (${idle}), or 0 to disable keep-alive`,
    );
  return out;
}

/** How a platform opens a connection: `alpn` is "h3" for WebTransport or "moq-00" for raw QUIC. `liveness` holds
 *  only checked, set values; a platform without such settings ignores it. */
export type Connector = (
  url: URL,
  alpn: "h3" | "moq-00",
  tls: TlsOptions,
  liveness?: LivenessOptions,
) => Promise<Transport>;

let connector: Connector | undefined;

/** @internal installed by the entry point for its platform. */
export function setConnector(c: Connector): void {
  connector = c;
}

export class ErrInvalidScheme extends TypeError {
  override readonly name = "ErrInvalidScheme";
}

export class Client {
  readonly #opts: ClientOptions;
  readonly #liveness: LivenessOptions;
  #sessions = new Set<Session>();
  #closed = false;

  /** Throws TypeError/RangeError for bad `idleTimeoutMs`/`keepAliveMs`. */
  constructor(opts: ClientOptions = {}) {
    this.#opts = opts;
    this.#liveness = checkLiveness(opts);
  }

  /** Dial `url` and set up a session. Incoming subscriptions are served by `mux` (default DefaultTrackMux). */
  async dial(url: string, mux?: TrackMux): Promise<Session> {
    if (this.#closed) throw new SessionError(SessionErrorCode.Internal, false, "client is closed");
    const u = new URL(url);
    let alpn: "h3" | "moq-00";
    if (u.protocol === "https:") alpn = "h3";
    else if (u.protocol === "moqt:") alpn = "moq-00";
    else throw new ErrInvalidScheme(`moqt: unsupported URL scheme ${u.protocol} (use https:// or moqt://)`);
    if (!connector) throw new Error("moqt: no transport available on this platform");
    const transport = await connector(u, alpn, this.#opts.tls ?? {}, this.#liveness);
    // moqt://: the path parameter carries the query too ("/room?jwt=…"), which our Server splits off into
    // SetupRequest.url. gomoqt routes on the exact path parameter, so only put a query in URLs for moqt servers.
    const path = (u.pathname || "/") + (alpn === "moq-00" ? u.search : "");
    const session = await dialSession(transport, {
      path,
      sendPathParameter: alpn === "moq-00",
      ...(this.#opts.versions ? { versions: this.#opts.versions } : {}),
      ...(this.#opts.extensions ? { extensions: this.#opts.extensions } : {}),
      ...(mux ? { mux } : {}),
      ...(this.#opts.config ? { config: this.#opts.config } : {}),
    });
    this.#sessions.add(session);
    void session.closed.then(() => this.#sessions.delete(session));
    if (this.#opts.bitrateMonitor !== false && transport.stats)
      new BitrateMonitor(session, this.#opts.bitrateMonitor ?? {});
    return session;
  }

  /** Close every session with NoError and wait for them. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(
      [...this.#sessions].map((s) => s.closeWithError(SessionErrorCode.NoError, "client closed")),
    );
  }

  /** Wait for sessions to end by themselves; when `signal` aborts, close the rest with GoAwayTimeout (0x10). */
  async shutdown(signal?: AbortSignal): Promise<void> {
    this.#closed = true;
    await shutdownSessions(this.#sessions, signal);
  }
}

/** @internal shared by Client and Server: wait for sessions, then close the stragglers with GoAwayTimeout. */
export async function shutdownSessions(
  sessions: Set<Session>,
  signal: AbortSignal | undefined,
): Promise<void> {
  const all = Promise.all([...sessions].map((s) => s.closed));
  if (!signal) {
    await all;
    return;
  }
  await new Promise<void>((resolve) => {
    const onAbort = () => {
      for (const s of sessions) void s.closeWithError(SessionErrorCode.GoAwayTimeout, "shutdown timed out");
      resolve();
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    void all.then(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
  });
  await all;
}
