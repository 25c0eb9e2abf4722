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
  messageOrInit?: string | { message?: string; streamErrorCode?: number },
  init?: { source?: string; streamErrorCode?: number },
) => Error;

/** An abort/cancel reason that makes a W3C stack send RESET_STREAM / STOP_SENDING with `code`: a real
 *  `WebTransportError` where the platform has one (browsers), else an Error with the same fields.
 *
 *  Two constructor shapes exist: the current spec's `(message, {source, streamErrorCode})` and the older
 *  `({message, streamErrorCode})` that Chromium (156) still has — it rejects the first shape, and clamps the code
 *  to 0..255 (octet), so larger codes cannot leave a Chromium page. */
export function streamErrorReason(code: number): Error {
  const Ctor = (globalThis as { WebTransportError?: WebTransportErrorCtor }).WebTransportError;
  if (Ctor) {
    const message = `stream error ${code}`;
    let best: Error | undefined;
    for (const make of [
      () => new Ctor(message, { source: "stream", streamErrorCode: code }),
      () => new Ctor({ message, streamErrorCode: code }),
    ]) {
      try {
        const e = make();
        if (streamErrorCodeOf(e) === code) return e;
        best ??= streamErrorCodeOf(e) !== undefined ? e : undefined;
      } catch {
        // not this shape
      }
    }
    if (best) return best;
  }
  const e = new Error(`stream error ${code}`) as Error & { source: string; streamErrorCode: number };
  e.name = "WebTransportError";
  e.source = "stream";
  e.streamErrorCode = code;
  return e;
}
