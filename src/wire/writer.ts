/** Writer: a growable byte sink for encoding messages (varints, strings, raw bytes, codec bodies).
 *
 *  Pure: no I/O. One Writer can be reused across messages with `reset()`; `bytes()` returns a copy and `view()` a view
 *  of what was written. Fields are written with plain byte stores (`putVarint`, `putString`), no DataView.
 *  Spec: gomoqt.md §1.2.
 *  @module */
import type { Codec } from "./message.js";
import { putString, stringLen } from "./utf8.js";
import { putVarint, varintLen, type VarInt } from "./varint.js";

export class Writer {
  #buf: Uint8Array;
  #pos = 0;

  constructor(initialCapacity = 64) {
    this.#buf = new Uint8Array(initialCapacity);
  }

  get length(): number {
    return this.#pos;
  }

  /** Discard what was written, keeping the capacity. */
  reset(): void {
    this.#pos = 0;
  }

  /** A view (not a copy) of the written bytes; valid until the next write or reset. */
  view(): Uint8Array {
    return this.#buf.subarray(0, this.#pos);
  }

  /** A copy of the written bytes. */
  bytes(): Uint8Array {
    return this.#buf.slice(0, this.#pos);
  }

  #ensure(n: number): void {
    const need = this.#pos + n;
    if (need <= this.#buf.length) return;
    let cap = Math.max(this.#buf.length * 2, 16);
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
  }

  u8(b: number): this {
    this.#ensure(1);
    this.#buf[this.#pos++] = b & 0xff;
    return this;
  }

  varint(v: VarInt): this {
    const n = varintLen(v);
    this.#ensure(n);
    this.#pos = putVarint(this.#buf, this.#pos, v);
    return this;
  }

  raw(b: Uint8Array): this {
    this.#ensure(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
    return this;
  }

  /** varint(byte length) || bytes */
  bytesField(b: Uint8Array): this {
    return this.varint(b.length).raw(b);
  }

  /** varint(UTF-8 byte length) || UTF-8 bytes (the length counts bytes, not UTF-16 units). */
  string(s: string): this {
    // Under 64 units the UTF-8 length is at most 189 bytes: a 2-byte prefix at most.
    this.#ensure(s.length < 0x40 ? 2 + 3 * s.length : stringLen(s));
    this.#pos = putString(this.#buf, this.#pos, s);
    return this;
  }

  /** `varint(body length) || body` of `m`, sized as `encodeMessage` does: strings counted as ASCII first, the message
   *  rewritten in place with its exact size only when a non-ASCII string made it longer. */
  message<M>(codec: Codec<M>, m: M): this {
    const n = codec.size(m, false);
    const start = this.#pos;
    this.#ensure((n < 0x40 ? 1 : varintLen(n)) + n);
    const buf = this.#buf;
    const bodyStart = putVarint(buf, start, n);
    let end: number;
    try {
      end = codec.write(buf, bodyStart, m);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      end = -1;
    }
    if (end === bodyStart + n) {
      this.#pos = end;
      return this;
    }
    // #pos is still `start`: the failed attempt is overwritten.
    const x = codec.size(m, true);
    this.#ensure(varintLen(x) + x);
    this.#pos = putVarint(this.#buf, start, x);
    return this.#exactBody(codec, m, x);
  }

  /** `codec`'s body for `m` (no length prefix), sized first so the buffer grows at most once. */
  body<M>(codec: Codec<M>, m: M): this {
    const n = codec.size(m, true);
    this.#ensure(n);
    return this.#exactBody(codec, m, n);
  }

  /** Write the body at the current position; the buffer has `n` (its exact size) bytes free there. */
  #exactBody<M>(codec: Codec<M>, m: M, n: number): this {
    const start = this.#pos;
    const end = codec.write(this.#buf, start, m);
    if (end - start !== n) throw new Error(`moqt wire: ${codec.name} wrote ${end - start} bytes, sized ${n}`);
    this.#pos = end;
    return this;
  }
}
