/** Adapter: a native addon session (raw QUIC or WebTransport over HTTP/3) → the internal `Transport`.
 *
 *  Maps the addon's value outcomes once: peer RESET_STREAM / STOP_SENDING → `StreamError(code, remote: true)`, local
 *  reset/stop → `StreamError(code, remote: false)`, a gone session → `TransportClosedError` from the close info. The
 *  HTTP/3 code-space mapping for WebTransport happens in Rust (`native/src/h3.rs`), so codes here are the u32
 *  application codes both ways. Writes take the synchronous fast path (`tryWrite`, or `tryWrite2` for a frame's prefix
 *  and payload given apart: `writeParts`) and await only what quinn could not accept now: that promise is the
 *  backpressure. Reads pull up to `READ_MAX_BYTES` per crossing.
 *  @module @internal */
import type { BiStream, CloseInfo, RecvStream, SendStream, Transport, TransportStats } from "../transport.js";
import { StreamError, TransportClosedError } from "../stream_error.js";
import type {
  NativeReadResult,
  NativeRecvStream as RawRecv,
  NativeSendStream as RawSend,
  NativeSession,
  NativeWriteFailure,
  NowOr,
} from "./binding.js";

/** Largest chunk one read returns (one JS↔native crossing). */
export const READ_MAX_BYTES = 256 * 1024;

const MAX_CODE = 0xffff_ffff;

function checkCode(code: number): number {
  if (!Number.isInteger(code) || code < 0 || code > MAX_CODE) {
    throw new RangeError(`stream/session code must be an integer in 0..2^32-1, got ${code}`);
  }
  return code;
}

const EMPTY = new Uint8Array(0);

class NativeSendStreamAdapter implements SendStream {
  #raw: RawSend;
  #transport: NativeTransport;
  #pending: Promise<unknown> | undefined;
  #localError: StreamError | undefined;
  #failure: Error | undefined;
  #finished = false;
  #stopped: Promise<number | undefined> | undefined;

  constructor(raw: RawSend, transport: NativeTransport) {
    this.#raw = raw;
    this.#transport = transport;
  }

  get stopped(): Promise<number | undefined> {
    // Started lazily: one native crossing per stream only when someone watches.
    this.#stopped ??= this.#raw.stopped().then(
      (code) => (this.#localError ? undefined : (code ?? undefined)),
      () => undefined,
    );
    return this.#stopped;
  }

  async write(chunk: Uint8Array, fin = false): Promise<void> {
    while (this.#pending) await this.#pending.catch(() => undefined);
    this.#checkWritable();
    if (chunk.byteLength === 0 && !fin) return;
    const n = this.#raw.tryWrite(chunk, fin);
    if (n === chunk.byteLength) {
      if (fin) this.#finished = true;
      return;
    }
    await this.#writeRest(n > 0 ? chunk.subarray(n) : chunk, fin);
  }

  /** `head` then `body` as one write (GroupWriter: a frame's length prefix and payload) in one native crossing,
   *  without concatenating them; only what quinn cannot take now is copied. */
  async writeParts(head: Uint8Array, body: Uint8Array, fin = false): Promise<void> {
    while (this.#pending) await this.#pending.catch(() => undefined);
    this.#checkWritable();
    const total = head.byteLength + body.byteLength;
    if (total === 0 && !fin) return;
    const n = this.#raw.tryWrite2(head, body, fin);
    if (n === total) {
      if (fin) this.#finished = true;
      return;
    }
    let rest: Uint8Array;
    if (n >= head.byteLength) rest = body.subarray(n - head.byteLength);
    else {
      const from = Math.max(0, n);
      rest = new Uint8Array(total - from);
      rest.set(head.subarray(from));
      rest.set(body, head.byteLength - from);
    }
    await this.#writeRest(rest, fin);
  }

  #checkWritable(): void {
    if (this.#localError) throw this.#localError;
    if (this.#failure) throw this.#failure;
    if (this.#finished) throw new StreamError(0, false, "write after FIN");
  }

  /** The part quinn did not accept synchronously: copied by the addon and awaited (backpressure). */
  async #writeRest(rest: Uint8Array, fin: boolean): Promise<void> {
    const p = this.#raw.write(rest, fin);
    this.#pending = p;
    let failure: NativeWriteFailure | undefined;
    try {
      failure = await p;
    } finally {
      this.#pending = undefined;
    }
    if (failure) {
      this.#failure = await this.#mapFailure(failure);
      throw this.#failure;
    }
    if (fin) this.#finished = true;
  }

  finish(): Promise<void> {
    return this.write(EMPTY, true);
  }

  reset(code: number): void {
    checkCode(code);
    if (this.#localError) return;
    this.#localError = new StreamError(code, false);
    this.#raw.reset(code);
  }

  setPriority(priority: number): void {
    this.#raw.setPriority(Math.max(-0x8000_0000, Math.min(0x7fff_ffff, Math.trunc(priority))));
  }

  async #mapFailure(f: NativeWriteFailure): Promise<Error> {
    switch (f.kind) {
      case "stopped":
        return new StreamError(f.code ?? 0, true);
      case "reset":
        return this.#localError ?? new StreamError(0, false, "stream already finished or reset");
      default:
        return this.#localError ?? (await this.#transport.closedError());
    }
  }
}

class NativeRecvStreamAdapter implements RecvStream {
  #raw: RawRecv;
  #transport: NativeTransport;
  /** Terminal outcome that arrived together with data; delivered by the next read. */
  #end: NativeReadResult | undefined;
  #error: Error | undefined;
  #fin = false;
  #stopCode: number | undefined;

  constructor(raw: RawRecv, transport: NativeTransport) {
    this.#raw = raw;
    this.#transport = transport;
  }

  async read(): Promise<Uint8Array | null> {
    if (this.#error) throw this.#error;
    if (this.#fin) return null;
    if (this.#stopCode !== undefined) throw new StreamError(this.#stopCode, false);
    let r: NativeReadResult;
    if (this.#end) {
      r = this.#end;
      this.#end = undefined;
    } else {
      const now = this.#raw.read(READ_MAX_BYTES);
      r = now instanceof Promise ? await now : now;
    }
    // stop() while this read was in flight wins over whatever the read returned.
    if (this.#stopCode !== undefined) throw new StreamError(this.#stopCode, false);
    if (r.data) {
      if (r.fin || r.resetCode != null || r.error) this.#end = { fin: r.fin, resetCode: r.resetCode, error: r.error };
      return new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.byteLength);
    }
    if (r.fin) {
      this.#fin = true;
      return null;
    }
    if (this.#stopCode !== undefined) throw new StreamError(this.#stopCode, false);
    if (r.resetCode != null) this.#error = new StreamError(r.resetCode, true);
    else if (r.error === "stopped") this.#error = new StreamError(this.#stopCode ?? 0, false);
    else if (r.error === "invalid-reset") this.#error = new StreamError(0, true, "stream reset with a code outside the application space");
    else this.#error = await this.#transport.closedError();
    throw this.#error;
  }

  stop(code: number): void {
    checkCode(code);
    if (this.#stopCode !== undefined || this.#fin || this.#error) return;
    this.#stopCode = code;
    this.#raw.stop(code);
  }
}

/** A native session as a `Transport`. Extras beyond the interface: request info, datagrams. */
export class NativeTransport implements Transport {
  readonly protocol: string;
  /** WebTransport: request URL, path and Origin header; raw QUIC: empty strings / undefined. */
  readonly url: string;
  readonly path: string;
  readonly origin: string | undefined;
  readonly closed: Promise<CloseInfo>;
  #session: NativeSession;
  #info: CloseInfo | undefined;

  constructor(session: NativeSession) {
    this.#session = session;
    this.protocol = session.protocol;
    this.url = session.url;
    this.path = session.path;
    this.origin = session.origin ?? undefined;
    this.closed = session.closed().then(
      (i): CloseInfo =>
        (this.#info = {
          code: i.code,
          reason: i.reason,
          remote: i.remote,
          ...(i.failure ? { failure: i.failure } : {}),
        }),
      (e: unknown): CloseInfo => (this.#info = { code: 0, reason: String(e), remote: false, failure: "transport-error" }),
    );
  }

  /** The WebTransport subprotocol the server selected, when any. */
  get subprotocol(): string | undefined {
    return this.#session.subprotocol ?? undefined;
  }

  get remoteAddress(): string {
    return this.#session.remoteAddress;
  }

  /** The error for operations on a closed session (waits for the close info). */
  async closedError(): Promise<TransportClosedError> {
    const i = this.#info ?? (await this.closed);
    return new TransportClosedError(i.code, i.reason, i.remote);
  }

  async #wrapOpen<T>(open: () => NowOr<T>): Promise<T> {
    try {
      const now = open();
      return now instanceof Promise ? await now : now;
    } catch {
      throw await this.closedError();
    }
  }

  async openBi(): Promise<BiStream> {
    const [s, r] = await this.#wrapOpen(() => this.#session.openBi());
    return { send: new NativeSendStreamAdapter(s, this), recv: new NativeRecvStreamAdapter(r, this) };
  }

  async openUni(): Promise<SendStream> {
    return new NativeSendStreamAdapter(await this.#wrapOpen(() => this.#session.openUni()), this);
  }

  async acceptBi(): Promise<BiStream | null> {
    const now = this.#session.acceptBi();
    const pair = now instanceof Promise ? await now : now;
    if (!pair) return null;
    return { send: new NativeSendStreamAdapter(pair[0], this), recv: new NativeRecvStreamAdapter(pair[1], this) };
  }

  async acceptUni(): Promise<RecvStream | null> {
    const now = this.#session.acceptUni();
    const r = now instanceof Promise ? await now : now;
    return r ? new NativeRecvStreamAdapter(r, this) : null;
  }

  close(code: number, reason: string): void {
    this.#session.close(checkCode(code), reason);
  }

  stats(): TransportStats {
    const s = this.#session.stats();
    return {
      rttMs: s.rttMs,
      cwndBytes: s.cwndBytes,
      bytesSent: s.bytesSent,
      bytesReceived: s.bytesReceived,
      bytesLost: s.bytesLost,
      bandwidthBps: s.bandwidthBps,
    };
  }

  /** Send one unreliable datagram; false when it could not be queued (too large, closed). */
  sendDatagram(data: Uint8Array): boolean {
    return this.#session.sendDatagram(data);
  }

  /** Next datagram, or `null` once the session is closed. */
  async readDatagram(): Promise<Uint8Array | null> {
    const d = await this.#session.readDatagram();
    return d ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : null;
  }

  /** Largest datagram payload that fits now. */
  maxDatagramSize(): number {
    return this.#session.maxDatagramSize();
  }
}
