/** Writer: a growable byte sink for encoding messages (varints, strings, raw bytes).
 *
 *  Pure: no I/O. One Writer can be reused across messages with `reset()`; `bytes()` returns a view of what was written.
 *  Spec: gomoqt.md §1.2.
 *  @module */
import { varintLen, type VarInt } from "./varint.js";

const encoder = new TextEncoder();

export class Writer {
  #buf: Uint8Array;
  #view: DataView;
  #pos = 0;

  constructor(initialCapacity = 64) {
    this.#buf = new Uint8Array(initialCapacity);
    this.#view = new DataView(this.#buf.buffer);
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
    this.#view = new DataView(next.buffer);
  }

  u8(b: number): this {
    this.#ensure(1);
    this.#buf[this.#pos++] = b & 0xff;
    return this;
  }

  varint(v: VarInt): this {
    const n = varintLen(v);
    this.#ensure(n);
    const p = this.#pos;
    switch (n) {
      case 1:
        this.#buf[p] = Number(v);
        break;
      case 2:
        this.#view.setUint16(p, Number(v) | 0x4000);
        break;
      case 4:
        this.#view.setUint32(p, (Number(v) | 0x80000000) >>> 0);
        break;
      case 8:
        this.#view.setBigUint64(p, BigInt(v) | 0xc000000000000000n);
        break;
    }
    this.#pos += n;
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
    // Short ASCII (paths, track names): one length byte and a plain copy loop, no encodeInto/subarray.
    if (s.length <= 63) {
      this.#ensure(1 + s.length);
      const buf = this.#buf;
      const start = this.#pos + 1;
      let i = 0;
      for (; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      if (i === s.length) {
        buf[this.#pos] = i;
        this.#pos = start + i;
        return this;
      }
    }
    // Worst case 3 bytes per UTF-16 unit; encode straight into the buffer after a provisional length.
    const max = s.length * 3;
    const lenBytes = varintLen(max);
    this.#ensure(lenBytes + max);
    const start = this.#pos + lenBytes;
    const { written } = encoder.encodeInto(s, this.#buf.subarray(start, start + max));
    const actualLen = varintLen(written);
    if (actualLen !== lenBytes) this.#buf.copyWithin(this.#pos + actualLen, start, start + written);
    this.varint(written);
    this.#pos += written;
    return this;
  }
}

/** Encoded size of a UTF-8 string field (varint length + bytes). */
export function stringLen(s: string): number {
  const n = utf8Length(s);
  return varintLen(n) + n;
}

/** Number of UTF-8 bytes needed for `s` (lone surrogates count as U+FFFD, 3 bytes, as TextEncoder writes them). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}
