/** MessageReader: pulls chunks from a RecvStream into a ChunkBuffer and hands out whole messages, bytes and frames.
 *
 *  The only place where stream I/O meets the pure decoders. A clean FIN between items gives `null`; a FIN inside an
 *  item is WireError("truncated"); resets surface as the transport's StreamError.
 *  @module @internal */
import { ChunkBuffer, type Codec } from "../wire/index.js";
import type { RecvStream } from "../transport/transport.js";

export class MessageReader {
  readonly buffer = new ChunkBuffer();
  #fin = false;

  constructor(readonly stream: RecvStream) {}

  /** True once FIN was received (buffered data may remain). */
  get finished(): boolean {
    return this.#fin;
  }

  /** Read more bytes; false at FIN. */
  async #fill(): Promise<boolean> {
    if (this.#fin) return false;
    const chunk = await this.stream.read();
    if (chunk === null) {
      this.#fin = true;
      return false;
    }
    this.buffer.push(chunk);
    return true;
  }

  /** The stream-type byte, or null at a clean FIN. */
  async readByte(): Promise<number | null> {
    for (;;) {
      const b = this.buffer.tryByte();
      if (b !== undefined) return b;
      if (!(await this.#fill())) return null;
    }
  }

  /** One message, or null at a clean FIN before its first byte. */
  async readMessage<M>(codec: Codec<M>, maxBytes: number): Promise<M | null> {
    for (;;) {
      const m = this.buffer.tryMessage(codec, maxBytes);
      if (m !== undefined) return m;
      if (!(await this.#fill())) {
        this.buffer.assertEmpty(codec.name);
        return null;
      }
    }
  }

  /** One frame payload, or null at a clean FIN between frames. The payload may be a view into a received chunk. */
  async readFrame(maxBytes: number): Promise<Uint8Array | null> {
    for (;;) {
      const f = this.buffer.tryFrame(maxBytes);
      if (f !== undefined) return f;
      if (!(await this.#fill())) {
        this.buffer.assertEmpty("FRAME");
        return null;
      }
    }
  }
}
