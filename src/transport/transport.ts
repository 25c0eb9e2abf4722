/** The internal transport boundary: the small pull-based interface the session core runs on.
 *
 *  Every concrete stack (W3C WebTransport, the native QUIC/WebTransport addon, the in-memory pair) is adapted to this
 *  interface once; protocol code never imports a concrete transport. Codes travel as numbers (`StreamError.code`),
 *  never inside message strings. FIN is attached to the last write where possible (`write(chunk, true)`).
 *  @module @internal */

/** How a connection or session ended. */
export interface CloseInfo {
  /** Application close code (QUIC CONNECTION_CLOSE app code, or WebTransport session close code). */
  readonly code: number;
  readonly reason: string;
  /** True when the peer closed; false when we did (or the local stack gave up). */
  readonly remote: boolean;
  /** Set when the connection ended without an application close — "idle-timeout", "stateless-reset",
   *  "transport-error", … — so `code` carries no application meaning and the session reports a failure. */
  readonly failure?: string;
}

/** Connection statistics; a field is undefined when the stack does not track it. */
export interface TransportStats {
  readonly rttMs?: number;
  readonly cwndBytes?: number;
  readonly bytesSent?: number;
  readonly bytesReceived?: number;
  readonly bytesLost?: number;
  /** Delivery-rate / bandwidth estimate in bits per second. */
  readonly bandwidthBps?: number;
}

export interface SendStream {
  /** Queue `chunk` (and FIN when `fin`); resolves once the stack accepted it (backpressure). Rejects with
   *  `StreamError` (remote: true) after the peer sent STOP_SENDING, or (remote: false) after a local reset. */
  write(chunk: Uint8Array, fin?: boolean): Promise<void>;
  /** FIN without data. Resolves once queued. */
  finish(): Promise<void>;
  /** RESET_STREAM with `code`. Idempotent; no effect after FIN was fully acknowledged. */
  reset(code: number): void;
  /** Send priority: higher values are scheduled first (0..255 for MoQ track priority; the adapter maps it). */
  setPriority(priority: number): void;
  /** Resolves with the peer's STOP_SENDING code, or `undefined` when the stream ended otherwise (FIN sent, reset,
   *  connection closed). Never rejects. */
  readonly stopped: Promise<number | undefined>;
}

export interface RecvStream {
  /** Next chunk of data, or `null` at FIN. Rejects with `StreamError` (remote: true) when the peer reset the stream,
   *  with `StreamError` (remote: false) after a local `stop`, or with the session's close error. */
  read(): Promise<Uint8Array | null>;
  /** STOP_SENDING with `code`; pending and later reads reject. Idempotent. */
  stop(code: number): void;
}

export interface BiStream {
  readonly send: SendStream;
  readonly recv: RecvStream;
}

export interface Transport {
  /** Negotiated ALPN ("h3", "moq-00") or "memory"/"webtransport" for adapters that cannot tell. */
  readonly protocol: string;
  openBi(): Promise<BiStream>;
  openUni(): Promise<SendStream>;
  /** Next peer-opened bidi stream, or `null` once the transport is closed. */
  acceptBi(): Promise<BiStream | null>;
  /** Next peer-opened uni stream, or `null` once the transport is closed. */
  acceptUni(): Promise<RecvStream | null>;
  /** Close with an application code and reason. Idempotent. */
  close(code: number, reason: string): void;
  /** Resolves once the transport is closed, whoever closed it. Never rejects. */
  readonly closed: Promise<CloseInfo>;
  /** Snapshot of connection statistics, when the stack has any. */
  stats?(): TransportStats | undefined;
}
