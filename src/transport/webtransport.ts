/** Adapter: any W3C-shaped WebTransport (browser, polyfill, conformance fake, memory pair) → the internal Transport.
 *
 *  Maps W3C errors once: `streamErrorCode` on read/write rejections → StreamError(code, remote: true); local
 *  reset/stop → abort/cancel with a WebTransportError-like reason carrying the code; session close → TransportClosedError.
 *  FIN is attached to the last write by issuing `close()` right after the final `write()` without waiting in between.
 *
 *  A stream operation that fails without a stream error code (a session-sourced WebTransportError, or anything else
 *  the stack throws) waits for `closed` — at most `CLOSE_WAIT_MS` — and then fails with the session's
 *  TransportClosedError, like the native adapter: Chromium rejects pending reads and writes ("The session is
 *  closed.") a little before `closed` settles, and the session must see the close's code, not a bare stream error.
 *  A failure that is still not explained by a close after the wait is rethrown as it came.
 *  @module @internal */
import type { BiStream, CloseInfo, RecvStream, SendStream, Transport } from "./transport.js";
import { StreamError, TransportClosedError } from "./stream_error.js";
import {
  streamErrorCodeOf,
  streamErrorReason,
  type WebTransportBidirectionalStreamLike,
  type WebTransportLike,
} from "./webtransport_like.js";

/** How long a failed stream operation waits for the session's `closed` before giving up on explaining it by a close
 *  (ms). A stack reports the close moments after the stream failure; the bound is what a failure that is not a close
 *  (Chromium sometimes reports a peer's STOP_SENDING as a code-less NetworkError) or a stack whose `closed` never
 *  settles costs. */
export const CLOSE_WAIT_MS = 500;

/** The error itself, as an Error. */
function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/** A stream error code carried by a stream-sourced error (session-sourced errors carry none worth mapping). */
function streamCode(e: unknown): number | undefined {
  const code = streamErrorCodeOf(e);
  return code !== undefined && (e as { source?: string }).source !== "session" ? code : undefined;
}

class W3CSendStream implements SendStream {
  #writable: WritableStream<Uint8Array>;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #transport: W3CTransport;
  #done = false; // FIN queued or reset
  #localError: StreamError | undefined;
  readonly stopped: Promise<number | undefined>;

  constructor(writable: WritableStream<Uint8Array>, transport: W3CTransport) {
    this.#writable = writable;
    this.#writer = writable.getWriter();
    this.#transport = transport;
    this.stopped = this.#writer.closed.then(
      () => undefined,
      (e: unknown) => (this.#localError ? undefined : streamErrorCodeOf(e)),
    );
  }

  async #mapError(e: unknown): Promise<Error> {
    if (this.#localError) return this.#localError;
    const code = streamCode(e);
    if (code !== undefined) return new StreamError(code, true);
    const closed = await this.#transport.closedErrorSoon();
    return this.#localError ?? closed ?? asError(e);
  }

  async write(chunk: Uint8Array, fin = false): Promise<void> {
    if (this.#localError) throw this.#localError;
    if (this.#done) throw new StreamError(0, false, "write after FIN");
    try {
      await this.#writer.ready;
      const w = this.#writer.write(chunk);
      if (fin) {
        this.#done = true;
        const c = this.#writer.close();
        await Promise.all([w, c]);
      } else {
        // Backpressure comes from `ready`; a failed write surfaces on the next call or on `stopped`.
        w.catch(() => {});
      }
    } catch (e) {
      throw await this.#mapError(e);
    }
  }

  async finish(): Promise<void> {
    if (this.#localError) throw this.#localError;
    if (this.#done) return;
    this.#done = true;
    try {
      await this.#writer.close();
    } catch (e) {
      throw await this.#mapError(e);
    }
  }

  reset(code: number): void {
    if (this.#localError) return;
    this.#localError = new StreamError(code, false);
    this.#done = true;
    this.#writer.abort(streamErrorReason(code)).catch(() => {});
  }

  setPriority(priority: number): void {
    const w = this.#writable as WritableStream<Uint8Array> & { sendOrder?: number | null };
    try {
      if ("sendOrder" in w) w.sendOrder = priority;
    } catch {
      // not supported by this stack
    }
  }
}

class W3CRecvStream implements RecvStream {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #transport: W3CTransport;
  #localError: StreamError | undefined;

  constructor(readable: ReadableStream<Uint8Array>, transport: W3CTransport) {
    this.#reader = readable.getReader();
    this.#transport = transport;
  }

  async read(): Promise<Uint8Array | null> {
    if (this.#localError) throw this.#localError;
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await this.#reader.read();
    } catch (e) {
      if (this.#localError) throw this.#localError;
      const code = streamCode(e);
      if (code !== undefined) throw new StreamError(code, true);
      const closed = await this.#transport.closedErrorSoon();
      throw this.#localError ?? closed ?? asError(e);
    }
    if (this.#localError) throw this.#localError;
    if (r.done) return null;
    return r.value;
  }

  stop(code: number): void {
    if (this.#localError) return;
    this.#localError = new StreamError(code, false);
    this.#reader.cancel(streamErrorReason(code)).catch(() => {});
  }
}

class W3CTransport implements Transport {
  readonly protocol: string;
  readonly closed: Promise<CloseInfo>;
  #wt: WebTransportLike;
  #bidiReader: ReadableStreamDefaultReader<WebTransportBidirectionalStreamLike>;
  #uniReader: ReadableStreamDefaultReader<ReadableStream<Uint8Array>>;
  #closeInfo: CloseInfo | undefined;
  #localClose: { code: number; reason: string } | undefined;

  constructor(wt: WebTransportLike, protocol: string) {
    this.#wt = wt;
    this.protocol = protocol;
    this.#bidiReader = wt.incomingBidirectionalStreams.getReader();
    this.#uniReader = wt.incomingUnidirectionalStreams.getReader();
    this.closed = wt.closed.then(
      (info) => this.#setClosed(info?.closeCode ?? 0, info?.reason ?? ""),
      (e: unknown) => {
        // `closed` rejects when the session ended abruptly (no CLOSE_WEBTRANSPORT_SESSION): a failure.
        const info = e as { closeCode?: number; reason?: string; message?: string };
        return this.#setClosed(
          info?.closeCode ?? 0,
          info?.reason ?? info?.message ?? "transport failed",
          "transport-error",
        );
      },
    );
  }

  #setClosed(code: number, reason: string, failure?: string): CloseInfo {
    if (!this.#closeInfo) {
      this.#closeInfo = this.#localClose
        ? { code: this.#localClose.code, reason: this.#localClose.reason, remote: false }
        : { code, reason, remote: true, ...(failure ? { failure } : {}) };
    }
    return this.#closeInfo;
  }

  /** The error pending operations fail with once the transport is closed. */
  closedError(): TransportClosedError | undefined {
    const c = this.#closeInfo ?? (this.#localClose ? { ...this.#localClose, remote: false } : undefined);
    return c ? new TransportClosedError(c.code, c.reason, c.remote) : undefined;
  }

  /** `closedError()`, once `closed` has settled or `CLOSE_WAIT_MS` has passed (then undefined if still open). */
  async closedErrorSoon(): Promise<TransportClosedError | undefined> {
    const now = this.closedError();
    if (now) return now;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.closed, new Promise((r) => (timer = setTimeout(r, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
    return this.closedError();
  }

  async #fail(e: unknown): Promise<never> {
    throw (await this.closedErrorSoon()) ?? e;
  }

  async openBi(): Promise<BiStream> {
    try {
      const s = await this.#wt.createBidirectionalStream();
      return { send: new W3CSendStream(s.writable, this), recv: new W3CRecvStream(s.readable, this) };
    } catch (e) {
      return this.#fail(e);
    }
  }

  async openUni(): Promise<SendStream> {
    try {
      return new W3CSendStream(await this.#wt.createUnidirectionalStream(), this);
    } catch (e) {
      return this.#fail(e);
    }
  }

  async acceptBi(): Promise<BiStream | null> {
    try {
      const r = await this.#bidiReader.read();
      if (r.done) return null;
      return {
        send: new W3CSendStream(r.value.writable, this),
        recv: new W3CRecvStream(r.value.readable, this),
      };
    } catch {
      return null;
    }
  }

  async acceptUni(): Promise<RecvStream | null> {
    try {
      const r = await this.#uniReader.read();
      if (r.done) return null;
      return new W3CRecvStream(r.value, this);
    } catch {
      return null;
    }
  }

  close(code: number, reason: string): void {
    if (this.#localClose || this.#closeInfo) return;
    this.#localClose = { code, reason };
    try {
      this.#wt.close({ closeCode: code, reason });
    } catch {
      // already closed
    }
  }
}

/** Wrap a W3C-shaped WebTransport. `protocol` names the stack for logs/stats ("webtransport" by default). */
export function fromWebTransport(wt: WebTransportLike, protocol = "webtransport"): Transport {
  return new W3CTransport(wt, protocol);
}
