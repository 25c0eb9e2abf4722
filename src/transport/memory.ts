/** newMemoryTransportPair: two connected in-memory WebTransport-shaped ends, for tests and in-process use.
 *
 *  Real semantics, no shortcuts: per-stream flow control (writes wait once `windowBytes` are buffered unread), FIN,
 *  RESET_STREAM and STOP_SENDING carrying codes (as `streamErrorCode`), session close with code + reason seen by both
 *  ends, and every open stream failing with a session error on close. Chunks are copied on write, as a network would.
 *  @module */
import {
  streamErrorCodeOf,
  type WebTransportBidirectionalStreamLike,
  type WebTransportCloseInfoLike,
  type WebTransportLike,
} from "./webtransport_like.js";

const DEFAULT_WINDOW_BYTES = 256 * 1024;

function wtError(source: "stream" | "session", code: number | null, message: string): Error {
  const e = new Error(message) as Error & { source: string; streamErrorCode: number | null };
  e.name = "WebTransportError";
  e.source = source;
  e.streamErrorCode = code;
  return e;
}

/** One direction of a stream: a WritableStream feeding a ReadableStream through a bounded byte window. */
class Pipe {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  #rc!: ReadableStreamDefaultController<Uint8Array>;
  #wc!: WritableStreamDefaultController;
  #drained: (() => void) | undefined;
  #ended = false;

  constructor(windowBytes: number, onEnd: (p: Pipe) => void) {
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          this.#rc = c;
        },
        pull: () => {
          const d = this.#drained;
          this.#drained = undefined;
          d?.();
        },
        cancel: (reason: unknown) => {
          // STOP_SENDING: the writer side fails with the code.
          const code = streamErrorCodeOf(reason) ?? 0;
          this.#wc.error(wtError("stream", code, `stream stopped by peer with code ${code}`));
          this.#release();
          this.#end(onEnd);
        },
      },
      { highWaterMark: windowBytes, size: (c) => c.byteLength },
    );
    this.writable = new WritableStream<Uint8Array>({
      start: (c) => {
        this.#wc = c;
      },
      write: async (chunk) => {
        this.#rc.enqueue(chunk.slice());
        if ((this.#rc.desiredSize ?? 0) <= 0) {
          // Wait for the reader to drain, but not past an abort: RESET_STREAM does not need flow-control credit,
          // and the stream only runs the sink's abort once this in-flight write has settled.
          const signal = this.#wc.signal;
          await new Promise<void>((resolve) => {
            const onAbort = () => {
              this.#reset(signal.reason, onEnd);
              resolve();
            };
            this.#drained = () => {
              signal.removeEventListener("abort", onAbort);
              resolve();
            };
            if (signal.aborted) onAbort();
            else signal.addEventListener("abort", onAbort, { once: true });
          });
        }
      },
      close: () => {
        this.#rc.close();
        this.#end(onEnd);
      },
      abort: (reason: unknown) => this.#reset(reason, onEnd),
    });
  }

  /** RESET_STREAM: the reader side fails with the code (unread data is discarded, as QUIC may do). */
  #reset(reason: unknown, onEnd: (p: Pipe) => void): void {
    const code = streamErrorCodeOf(reason) ?? 0;
    try {
      this.#rc.error(wtError("stream", code, `stream reset by peer with code ${code}`));
    } catch {
      /* already closed or errored */
    }
    this.#release();
    this.#end(onEnd);
  }

  #release(): void {
    const d = this.#drained;
    this.#drained = undefined;
    d?.();
  }

  #end(onEnd: (p: Pipe) => void): void {
    if (this.#ended) return;
    this.#ended = true;
    onEnd(this);
  }

  /** Session closed: both sides fail. */
  fail(e: Error): void {
    try {
      this.#rc.error(e);
    } catch {
      /* already closed */
    }
    try {
      this.#wc.error(e);
    } catch {
      /* already closed */
    }
    this.#release();
  }
}

class MemoryConnection {
  readonly pipes = new Set<Pipe>();
  closeInfo: { closeCode: number; reason: string } | undefined;
  readonly ends: MemoryEnd[] = [];
  constructor(readonly windowBytes: number) {}

  pipe(): Pipe {
    const p = new Pipe(this.windowBytes, (x) => this.pipes.delete(x));
    this.pipes.add(p);
    return p;
  }

  close(info: { closeCode: number; reason: string }): void {
    if (this.closeInfo) return;
    this.closeInfo = info;
    const err = wtError("session", null, `session closed with code ${info.closeCode}`);
    for (const p of this.pipes) p.fail(err);
    this.pipes.clear();
    for (const e of this.ends) e.onClose(info);
  }
}

class MemoryEnd implements WebTransportLike {
  readonly ready = Promise.resolve();
  readonly closed: Promise<WebTransportCloseInfoLike>;
  readonly incomingBidirectionalStreams: ReadableStream<WebTransportBidirectionalStreamLike>;
  readonly incomingUnidirectionalStreams: ReadableStream<ReadableStream<Uint8Array>>;
  peer!: MemoryEnd;
  #bidiCtl!: ReadableStreamDefaultController<WebTransportBidirectionalStreamLike>;
  #uniCtl!: ReadableStreamDefaultController<ReadableStream<Uint8Array>>;
  #resolveClosed!: (i: WebTransportCloseInfoLike) => void;

  constructor(readonly conn: MemoryConnection) {
    this.closed = new Promise((r) => (this.#resolveClosed = r));
    this.incomingBidirectionalStreams = new ReadableStream({ start: (c) => void (this.#bidiCtl = c) });
    this.incomingUnidirectionalStreams = new ReadableStream({ start: (c) => void (this.#uniCtl = c) });
  }

  #checkOpen(): void {
    if (this.conn.closeInfo) throw wtError("session", null, "session is closed");
  }

  async createBidirectionalStream(): Promise<WebTransportBidirectionalStreamLike> {
    this.#checkOpen();
    const out = this.conn.pipe();
    const back = this.conn.pipe();
    this.peer.#bidiCtl.enqueue({ readable: out.readable, writable: back.writable });
    return { readable: back.readable, writable: out.writable };
  }

  async createUnidirectionalStream(): Promise<WritableStream<Uint8Array>> {
    this.#checkOpen();
    const p = this.conn.pipe();
    this.peer.#uniCtl.enqueue(p.readable);
    return p.writable;
  }

  close(info?: WebTransportCloseInfoLike): void {
    this.conn.close({ closeCode: info?.closeCode ?? 0, reason: info?.reason ?? "" });
  }

  onClose(info: { closeCode: number; reason: string }): void {
    this.#bidiCtl.close();
    this.#uniCtl.close();
    this.#resolveClosed({ closeCode: info.closeCode, reason: info.reason });
  }
}

export interface MemoryTransportOptions {
  /** Unread bytes buffered per stream direction before writes wait (flow-control window). Default 256 KiB. */
  windowBytes?: number;
}

/** Two connected in-memory WebTransport-shaped ends: [client end, server end]. */
export function newMemoryTransportPair(
  options: MemoryTransportOptions = {},
): [WebTransportLike, WebTransportLike] {
  const conn = new MemoryConnection(options.windowBytes ?? DEFAULT_WINDOW_BYTES);
  const a = new MemoryEnd(conn);
  const b = new MemoryEnd(conn);
  a.peer = b;
  b.peer = a;
  conn.ends.push(a, b);
  return [a, b];
}
