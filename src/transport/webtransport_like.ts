/** WebTransportLike: the subset of the W3C WebTransport interface the session needs (browser, polyfills, fakes).
 *
 *  Stream error codes travel as WebTransportError-like objects carrying `streamErrorCode` (abort/cancel reasons and
 *  read/write rejections); session close info as `{closeCode, reason}`.
 *  @module */

export interface WebTransportCloseInfoLike {
  closeCode?: number;
  reason?: string;
}

export interface WebTransportSendStreamOptionsLike {
  sendOrder?: number;
}

export interface WebTransportBidirectionalStreamLike {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
}

export interface WebTransportLike {
  readonly ready: Promise<unknown>;
  /** Resolves with the close info when the session closes (rejects on an abrupt failure). */
  readonly closed: Promise<WebTransportCloseInfoLike>;
  close(info?: WebTransportCloseInfoLike): void;
  createBidirectionalStream(
    options?: WebTransportSendStreamOptionsLike,
  ): Promise<WebTransportBidirectionalStreamLike>;
  createUnidirectionalStream(
    options?: WebTransportSendStreamOptionsLike,
  ): Promise<WritableStream<Uint8Array>>;
  readonly incomingBidirectionalStreams: ReadableStream<WebTransportBidirectionalStreamLike>;
  readonly incomingUnidirectionalStreams: ReadableStream<ReadableStream<Uint8Array>>;
}

/** The shape of a WebTransportError as far as we use it. */
export interface WebTransportErrorLike {
  readonly source?: "stream" | "session" | string;
  readonly streamErrorCode?: number | null;
  readonly message?: string;
}

/** The stream code carried by an error, if any. */
export function streamErrorCodeOf(e: unknown): number | undefined {
  if (typeof e !== "object" || e === null) return undefined;
  const c = (e as WebTransportErrorLike).streamErrorCode;
  return typeof c === "number" ? c : undefined;
}

type WebTransportErrorCtor = new (
  message?: string,
  init?: { source?: string; streamErrorCode?: number },
) => Error;

/** An abort/cancel reason that makes a W3C stack send RESET_STREAM / STOP_SENDING with `code`: a real
 *  `WebTransportError` where the platform has one (browsers), else an Error with the same fields. */
export function streamErrorReason(code: number): Error {
  const Ctor = (globalThis as { WebTransportError?: WebTransportErrorCtor }).WebTransportError;
  if (Ctor) {
    try {
      return new Ctor(`stream error ${code}`, { source: "stream", streamErrorCode: code });
    } catch {
      // fall through to the plain shape
    }
  }
  const e = new Error(`stream error ${code}`) as Error & { source: string; streamErrorCode: number };
  e.name = "WebTransportError";
  e.source = "stream";
  e.streamErrorCode = code;
  return e;
}
