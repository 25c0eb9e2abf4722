/** ScriptedPeer: a raw, hand-driven MoQ peer on one end of a W3C-shaped transport (normally the memory pair).
 *
 *  Tests use it to play a hostile or unusual peer against the library: it writes exactly the bytes it is told to on
 *  streams it opens, reads what the library writes (whole messages via the wire codecs, or raw bytes), and observes
 *  RESET_STREAM / STOP_SENDING codes through the W3C errors' `streamErrorCode` and the session close code via
 *  `closed`. It never interprets the protocol on its own.
 *  @module */
import {
  TrackMux,
  acceptTransport,
  dialTransport,
  newMemoryTransportPair,
  type SessionConfig,
} from "../../src/index.js";
import {
  BiStreamType,
  ChunkBuffer,
  SessionClient,
  SessionServer,
  Writer,
  appendMessage,
  encodeMessage,
  type Codec,
  type Parameters,
} from "../../src/wire/index.js";
import type {
  WebTransportBidirectionalStreamLike,
  WebTransportCloseInfoLike,
  WebTransportLike,
} from "../../src/transport/webtransport_like.js";

/** How a read side ended. */
export type RecvEnd = { kind: "fin" } | { kind: "reset"; code: number } | { kind: "session" };

function codeOf(e: unknown): number | null | undefined {
  if (typeof e !== "object" || e === null) return undefined;
  const c = (e as { streamErrorCode?: unknown }).streamErrorCode;
  return typeof c === "number" ? c : c === null ? null : undefined;
}

function errorFor(code: number): Error {
  const e = new Error(`scripted stream error ${code}`) as Error & { source: string; streamErrorCode: number };
  e.name = "WebTransportError";
  e.source = "stream";
  e.streamErrorCode = code;
  return e;
}

/** Outgoing direction of a stream. */
export class RawSend {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #aborted = false;
  /** The library's STOP_SENDING code, `undefined` when the stream ended otherwise (FIN, our reset, session close). */
  readonly stopped: Promise<number | undefined>;

  constructor(writable: WritableStream<Uint8Array>) {
    this.#writer = writable.getWriter();
    this.stopped = this.#writer.closed.then(
      () => undefined,
      (e: unknown) => {
        if (this.#aborted) return undefined;
        const c = codeOf(e);
        return typeof c === "number" ? c : undefined;
      },
    );
  }

  /** Write bytes; resolves when accepted (flow control). Rejections are swallowed: tests observe `stopped`. */
  async write(...chunks: Uint8Array[]): Promise<void> {
    for (const c of chunks) await this.#writer.write(c).catch(() => {});
  }

  /** Write `varint(len) || body` of `m`. */
  async message<M>(codec: Codec<M>, m: M): Promise<void> {
    await this.write(encodeMessage(codec, m));
  }

  /** FIN. */
  async fin(): Promise<void> {
    await this.#writer.close().catch(() => {});
  }

  /** RESET_STREAM with `code`. */
  reset(code: number): void {
    this.#aborted = true;
    this.#writer.abort(errorFor(code)).catch(() => {});
  }
}

/** Incoming direction of a stream. */
export class RawRecv {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly buffer = new ChunkBuffer();
  #end: RecvEnd | undefined;

  /** Resolves with the library's RESET_STREAM code once the stream is errored, without reading it (`undefined`
   *  for FIN or a session close). */
  readonly reset: Promise<number | undefined>;

  constructor(readable: ReadableStream<Uint8Array>) {
    this.#reader = readable.getReader();
    this.reset = this.#reader.closed.then(
      () => undefined,
      (e: unknown) => {
        const c = codeOf(e);
        return typeof c === "number" ? c : undefined;
      },
    );
  }

  /** How the stream ended, once it has (after a read hit it). */
  get ended(): RecvEnd | undefined {
    return this.#end;
  }

  /** Pull one chunk into the buffer; false when the stream ended. */
  async #fill(): Promise<boolean> {
    if (this.#end) return false;
    try {
      const r = await this.#reader.read();
      if (r.done) {
        this.#end = { kind: "fin" };
        return false;
      }
      this.buffer.push(r.value);
      return true;
    } catch (e) {
      const c = codeOf(e);
      this.#end = typeof c === "number" ? { kind: "reset", code: c } : { kind: "session" };
      return false;
    }
  }

  /** One message decoded with `codec`; throws if the stream ends first (with how it ended). */
  async message<M>(codec: Codec<M>, maxBytes = 1 << 20): Promise<M> {
    for (;;) {
      const m = this.buffer.tryMessage(codec, maxBytes);
      if (m !== undefined) return m;
      if (!(await this.#fill()))
        throw new Error(`stream ended (${JSON.stringify(this.#end)}) before ${codec.name}`);
    }
  }

  /** One raw byte (a stream type). */
  async byte(): Promise<number> {
    for (;;) {
      const b = this.buffer.tryByte();
      if (b !== undefined) return b;
      if (!(await this.#fill())) throw new Error(`stream ended (${JSON.stringify(this.#end)}) before a byte`);
    }
  }

  /** Read (and discard) everything until the stream ends; how it ended. */
  async end(): Promise<RecvEnd> {
    while (await this.#fill()) {
      /* discard */
    }
    return this.#end!;
  }

  /** STOP_SENDING with `code`. */
  stop(code: number): void {
    this.#reader.cancel(errorFor(code)).catch(() => {});
  }
}

export interface RawBi {
  readonly send: RawSend;
  readonly recv: RawRecv;
}

function bi(s: WebTransportBidirectionalStreamLike): RawBi {
  return { send: new RawSend(s.writable), recv: new RawRecv(s.readable) };
}

/** A raw peer driving one end of a WebTransport-shaped connection. */
export class ScriptedPeer {
  readonly #bidi: ReadableStreamDefaultReader<WebTransportBidirectionalStreamLike>;
  readonly #uni: ReadableStreamDefaultReader<ReadableStream<Uint8Array>>;
  /** Close info once the connection closed (whoever closed it). */
  readonly closed: Promise<WebTransportCloseInfoLike>;
  /** The session stream after `setupAsClient` / `setupAsServer`. */
  session: RawBi | undefined;

  constructor(readonly wt: WebTransportLike) {
    this.#bidi = wt.incomingBidirectionalStreams.getReader();
    this.#uni = wt.incomingUnidirectionalStreams.getReader();
    this.closed = wt.closed.then(
      (i) => i,
      () => ({ closeCode: undefined, reason: "failed" }),
    );
  }

  async openBi(...prefix: Uint8Array[]): Promise<RawBi> {
    const s = bi(await this.wt.createBidirectionalStream());
    if (prefix.length) await s.send.write(...prefix);
    return s;
  }

  async openUni(...prefix: Uint8Array[]): Promise<RawSend> {
    const s = new RawSend(await this.wt.createUnidirectionalStream());
    if (prefix.length) await s.write(...prefix);
    return s;
  }

  /** Next stream the library opened, or null once the connection is closed. */
  async acceptBi(): Promise<RawBi | null> {
    const r = await this.#bidi.read().catch(() => ({ done: true as const, value: undefined }));
    return r.done ? null : bi(r.value);
  }

  async acceptUni(): Promise<RawRecv | null> {
    const r = await this.#uni.read().catch(() => ({ done: true as const, value: undefined }));
    return r.done ? null : new RawRecv(r.value);
  }

  close(code = 0, reason = ""): void {
    try {
      this.wt.close({ closeCode: code, reason });
    } catch {
      /* already closed */
    }
  }

  /** Play the client side of setup: open the session stream, send SESSION_CLIENT, read SESSION_SERVER. */
  async setupAsClient(
    versions: number[] = [0xfeedbabe],
    parameters: Parameters = new Map(),
  ): Promise<SessionServer> {
    this.session = await this.openBi(
      appendMessage(new Writer().u8(BiStreamType.Session), SessionClient, { versions, parameters }).bytes(),
    );
    return this.session.recv.message(SessionServer);
  }

  /** Play the server side of setup: accept the session stream, read SESSION_CLIENT, answer with SESSION_SERVER. */
  async setupAsServer(version = 0xfeedbabe, parameters: Parameters = new Map()): Promise<SessionClient> {
    const s = await this.acceptBi();
    if (!s) throw new Error("connection closed before the session stream");
    this.session = s;
    const type = await s.recv.byte();
    if (type !== BiStreamType.Session) throw new Error(`first stream has type ${type}`);
    const sc = await s.recv.message(SessionClient);
    await s.send.message(SessionServer, { version, parameters });
    return sc;
  }
}

/** `u8(type) || varint(len) || body` for a stream opening. */
export function streamPrefix<M>(type: number, codec: Codec<M>, m: M): Uint8Array {
  return appendMessage(new Writer().u8(type), codec, m).bytes();
}

/** Bytes from numbers, for hand-written wire input. */
export function bytes(...b: number[]): Uint8Array {
  return Uint8Array.from(b);
}

/** The library as server (accepting with `mux`), the scripted peer as client, after a good setup. */
export async function libServer(config: SessionConfig = {}, mux = new TrackMux(), windowBytes?: number) {
  const [c, s] = newMemoryTransportPair(windowBytes ? { windowBytes } : {});
  const peer = new ScriptedPeer(c);
  const serverP = acceptTransport(s, { mux, config });
  await peer.setupAsClient();
  const session = await serverP;
  return { peer, session, mux };
}

/** The library as client (dialing with `mux`), the scripted peer as server, after a good setup. */
export async function libClient(config: SessionConfig = {}, mux = new TrackMux()) {
  const [c, s] = newMemoryTransportPair();
  const peer = new ScriptedPeer(s);
  const clientP = dialTransport(c, { mux, config });
  await peer.setupAsServer();
  const session = await clientP;
  return { peer, session, mux };
}
