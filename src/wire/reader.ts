/** Reader: a cursor over one complete, length-delimited message body.
 *
 *  Pure: no I/O. Reads `buf[start, end)` in place (no copy; `bytes()` returns views). Running out of bytes mid-field
 *  throws `WireError("truncated")`; `end()` throws `WireError("trailing")` if bytes remain (gomoqt rejects trailing
 *  bytes too). Varints are decoded inline, without a [value, size] tuple per field. Spec: gomoqt.md §1.2.
 *  @module */
import { WireError } from "./errors.js";
import { readUtf8 } from "./utf8.js";
import { toVarInt, type VarInt } from "./varint.js";

/** Decode one varint at `buf[pos]`; returns [value, size] or undefined if `buf` ends first. */
export function peekVarint(buf: Uint8Array, pos: number): [VarInt, number] | undefined {
  if (pos >= buf.length) return undefined;
  const size = 1 << (buf[pos]! >> 6);
  if (pos + size > buf.length) return undefined;
  return [varintAt(buf, pos, size), size];
}

/** The varint of `size` bytes (1, 2, 4 or 8, from its first byte) at `buf[pos]`, which must all be present. */
function varintAt(buf: Uint8Array, pos: number, size: number): VarInt {
  const first = buf[pos]!;
  switch (size) {
    case 1:
      return first;
    case 2:
      return ((first & 0x3f) << 8) | buf[pos + 1]!;
    case 4:
      return (first & 0x3f) * 0x1000000 + ((buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!);
    default: {
      const hi = (first & 0x3f) * 0x1000000 + ((buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!);
      const lo =
        ((buf[pos + 4]! << 24) >>> 0) + ((buf[pos + 5]! << 16) | (buf[pos + 6]! << 8) | buf[pos + 7]!);
      // hi < 2^30, so hi * 2^32 + lo is exact while hi < 2^21.
      if (hi < 0x200000) return hi * 0x100000000 + lo;
      return toVarInt((BigInt(hi) << 32n) | BigInt(lo));
    }
  }
}

export class Reader {
  #buf: Uint8Array;
  #pos: number;
  #end: number;

  /** A cursor over `buf[start, end)` (default: all of `buf`). */
  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.#buf = buf;
    this.#pos = start;
    this.#end = end;
  }

  /** Stop the cursor at `end` (at most the current end): reading a length-delimited body after its prefix. */
  limit(end: number): void {
    if (end < this.#end) this.#end = end;
  }

  get remaining(): number {
    return this.#end - this.#pos;
  }

  /** Offset of the next byte in the underlying buffer. */
  get position(): number {
    return this.#pos;
  }

  /** Any varint, as number (safe) or bigint. */
  varint(): VarInt {
    const pos = this.#pos;
    if (pos >= this.#end) throw new WireError("truncated", "message ends inside a varint");
    const buf = this.#buf;
    const first = buf[pos]!;
    if (first < 0x40) {
      this.#pos = pos + 1;
      return first;
    }
    const size = 1 << (first >> 6);
    if (pos + size > this.#end) throw new WireError("truncated", "message ends inside a varint");
    this.#pos = pos + size;
    if (size === 2) return ((first & 0x3f) << 8) | buf[pos + 1]!;
    return varintAt(buf, pos, size);
  }

  /** A varint that must fit a JS safe integer (counts, lengths, versions, bitrates). */
  varintNumber(what: string): number {
    const v = this.varint();
    if (typeof v !== "number") throw new WireError("malformed", `${what} ${v} is too large`);
    return v;
  }

  u8(): number {
    if (this.#pos >= this.#end) throw new WireError("truncated", "message ends inside a byte field");
    return this.#buf[this.#pos++]!;
  }

  /** A field's varint length, checked against the bytes left (before anything is allocated for it). */
  #length(what: string): number {
    const n = this.varint();
    if (typeof n !== "number") throw new WireError("malformed", `${what} length ${n} is too large`);
    if (n > this.#end - this.#pos)
      throw new WireError("truncated", `${what} length ${n} exceeds the ${this.#end - this.#pos} bytes left`);
    return n;
  }

  /** varint(length) || bytes; returns a view (no copy) into the message body. */
  bytes(what: string): Uint8Array {
    const n = this.#length(what);
    const pos = this.#pos;
    this.#pos = pos + n;
    return this.#buf.subarray(pos, pos + n);
  }

  /** varint(length) || UTF-8 bytes. Invalid UTF-8 is `malformed`. */
  string(what: string): string {
    const n = this.#length(what);
    const pos = this.#pos;
    this.#pos = pos + n;
    try {
      return readUtf8(this.#buf, pos, n);
    } catch {
      throw new WireError("malformed", `${what} is not valid UTF-8`);
    }
  }

  /** A count of following elements, each at least `minElementBytes` long: bounded by the bytes left. */
  count(what: string, minElementBytes = 1): number {
    const n = this.varint();
    if (typeof n !== "number") throw new WireError("malformed", `${what} count ${n} is too large`);
    if (n * minElementBytes > this.#end - this.#pos)
      throw new WireError("truncated", `${what} count ${n} cannot fit in ${this.#end - this.#pos} bytes`);
    return n;
  }

  /** Assert the body is fully consumed. */
  end(what: string): void {
    if (this.#pos !== this.#end)
      throw new WireError("trailing", `${this.#end - this.#pos} trailing bytes after ${what}`);
  }
}
