/** ChunkBuffer: incremental decoding of a stream's bytes as they arrive in arbitrarily split chunks.
 *
 *  Pure: no I/O, no timers. Holds received chunks without copying; a message or frame is copied only when it spans
 *  chunks. Length prefixes are checked against caps *before* buffering the body, so a peer cannot make us wait for
 *  (or allocate) more than the cap. Spec: gomoqt.md §1.2 (framing), §1.8 (frames).
 *  @module */
import { WireError } from "./errors.js";
import { decodeBody, type Codec } from "./message.js";
import { Reader, peekVarint } from "./reader.js";

export class ChunkBuffer {
  #chunks: Uint8Array[] = [];
  #head = 0; // offset into #chunks[0]
  #available = 0;

  /** Bytes buffered and not yet consumed. */
  get available(): number {
    return this.#available;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#available += chunk.length;
  }

  /** Take one raw byte (stream type), or undefined if none is buffered. */
  tryByte(): number | undefined {
    if (this.#available === 0) return undefined;
    const first = this.#chunks[0]!;
    const b = first[this.#head]!;
    this.#consume(1);
    return b;
  }

  /** Peek a varint at the read position without consuming it: [value, size] or undefined if incomplete. */
  #peekVarint(): [number | bigint, number] | undefined {
    if (this.#available === 0) return undefined;
    const first = this.#chunks[0]!;
    const size = 1 << (first[this.#head]! >> 6);
    if (this.#available < size) return undefined;
    if (first.length - this.#head >= size) return peekVarint(first, this.#head);
    return peekVarint(this.#peekBytes(size), 0);
  }

  /** Copy the next `n` buffered bytes (n <= available) without consuming them. */
  #peekBytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let off = 0;
    let pos = this.#head;
    for (const c of this.#chunks) {
      const take = Math.min(c.length - pos, n - off);
      out.set(c.subarray(pos, pos + take), off);
      off += take;
      pos = 0;
      if (off === n) break;
    }
    return out;
  }

  /** Consume `n` bytes and return them: a view when inside one chunk, else a copy. */
  #take(n: number): Uint8Array {
    const first = this.#chunks[0];
    if (first && first.length - this.#head >= n) {
      const v = first.subarray(this.#head, this.#head + n);
      this.#consume(n);
      return v;
    }
    const out = this.#peekBytes(n);
    this.#consume(n);
    return out;
  }

  #consume(n: number): void {
    this.#available -= n;
    while (n > 0) {
      const first = this.#chunks[0]!;
      const left = first.length - this.#head;
      if (n < left) {
        this.#head += n;
        return;
      }
      n -= left;
      this.#chunks.shift();
      this.#head = 0;
    }
  }

  /** Length-prefixed item: returns the body bytes once complete, undefined while incomplete.
   *  Throws WireError("too-large") as soon as the prefix exceeds `maxBytes`. */
  #tryLengthPrefixed(maxBytes: number, what: string): Uint8Array | undefined {
    const p = this.#peekVarint();
    if (!p) return undefined;
    const [len, size] = p;
    if (typeof len !== "number" || len > maxBytes)
      throw new WireError("too-large", `${what} of ${len} bytes exceeds the cap of ${maxBytes}`);
    if (this.#available < size + len) return undefined;
    this.#consume(size);
    return this.#take(len);
  }

  /** Decode one `varint(len) || body` message with `codec`, or undefined while incomplete. */
  tryMessage<M>(codec: Codec<M>, maxBytes: number): M | undefined {
    const first = this.#chunks[0];
    if (first !== undefined && first.length - this.#head >= 1 << (first[this.#head]! >> 6)) {
      // The length prefix is in the first chunk: read it in place; if the body is there too, decode it in place
      // (no view, no copy). The cap is checked before waiting for the body, as below.
      const r = new Reader(first, this.#head);
      const len = r.varint();
      if (typeof len !== "number" || len > maxBytes)
        throw new WireError("too-large", `${codec.name} of ${len} bytes exceeds the cap of ${maxBytes}`);
      const end = r.position + len;
      if (end <= first.length) {
        this.#consume(end - this.#head);
        r.limit(end);
        const m = codec.decode(r);
        r.end(codec.name);
        return m;
      }
    }
    const body = this.#tryLengthPrefixed(maxBytes, codec.name);
    return body === undefined ? undefined : decodeBody(codec, body);
  }

  /** One frame payload (`varint(len) || payload`), or undefined while incomplete. The result may be a view into a
   *  received chunk: consumers that keep it past the next push must copy it. */
  tryFrame(maxBytes: number): Uint8Array | undefined {
    const first = this.#chunks[0];
    if (first !== undefined && first.length - this.#head >= 1 << (first[this.#head]! >> 6)) {
      // As in tryMessage: prefix (and usually payload) in the first chunk, read without a [value, size] tuple.
      const r = new Reader(first, this.#head);
      const len = r.varint();
      if (typeof len !== "number" || len > maxBytes)
        throw new WireError("too-large", `frame of ${len} bytes exceeds the cap of ${maxBytes}`);
      const start = r.position;
      const end = start + len;
      if (end <= first.length) {
        this.#consume(end - this.#head);
        return first.subarray(start, end);
      }
    }
    return this.#tryLengthPrefixed(maxBytes, "frame");
  }

  /** At end of stream: throws WireError("truncated") if a partial item is buffered. */
  assertEmpty(what: string): void {
    if (this.#available !== 0)
      throw new WireError("truncated", `stream ended inside ${what} (${this.#available} bytes left)`);
  }
}
