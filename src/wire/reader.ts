/** Reader: a cursor over one complete, length-delimited message body.
 *
 *  Pure: no I/O. Running out of bytes mid-field throws `WireError("truncated")`; `end()` throws
 *  `WireError("trailing")` if bytes remain (gomoqt rejects trailing bytes too). Spec: gomoqt.md §1.2.
 *  @module */
import { WireError } from "./errors.js";
import { toVarInt, type VarInt } from "./varint.js";

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Decode one varint at `buf[pos]`; returns [value, size] or undefined if `buf` ends first. */
export function peekVarint(buf: Uint8Array, pos: number): [VarInt, number] | undefined {
  if (pos >= buf.length) return undefined;
  const first = buf[pos]!;
  const size = 1 << (first >> 6);
  if (pos + size > buf.length) return undefined;
  switch (size) {
    case 1:
      return [first, 1];
    case 2:
      return [((first & 0x3f) << 8) | buf[pos + 1]!, 2];
    case 4:
      return [(first & 0x3f) * 0x1000000 + ((buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!), 4];
    default: {
      const hi = (first & 0x3f) * 0x1000000 + ((buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!);
      const lo =
        ((buf[pos + 4]! << 24) >>> 0) + ((buf[pos + 5]! << 16) | (buf[pos + 6]! << 8) | buf[pos + 7]!);
      // hi < 2^30, so hi * 2^32 + lo is exact while hi < 2^21.
      if (hi < 0x200000) return [hi * 0x100000000 + lo, 8];
      return [toVarInt((BigInt(hi) << 32n) | BigInt(lo)), 8];
    }
  }
}

export class Reader {
  #buf: Uint8Array;
  #pos = 0;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
  }

  get remaining(): number {
    return this.#buf.length - this.#pos;
  }

  /** Any varint, as number (safe) or bigint. */
  varint(): VarInt {
    const r = peekVarint(this.#buf, this.#pos);
    if (!r) throw new WireError("truncated", "message ends inside a varint");
    this.#pos += r[1];
    return r[0];
  }

  /** A varint that must fit a JS safe integer (counts, lengths, versions, bitrates). */
  varintNumber(what: string): number {
    const v = this.varint();
    if (typeof v !== "number") throw new WireError("malformed", `${what} ${v} is too large`);
    return v;
  }

  u8(): number {
    if (this.#pos >= this.#buf.length) throw new WireError("truncated", "message ends inside a byte field");
    return this.#buf[this.#pos++]!;
  }

  /** varint(length) || bytes; returns a view (no copy) into the message body. */
  bytes(what: string): Uint8Array {
    const n = this.varintNumber(`${what} length`);
    if (n > this.remaining)
      throw new WireError("truncated", `${what} length ${n} exceeds the ${this.remaining} bytes left`);
    const out = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  /** varint(length) || UTF-8 bytes. Invalid UTF-8 is `malformed`. */
  string(what: string): string {
    const b = this.bytes(what);
    // Short ASCII (paths, track names): no TextDecoder call.
    if (b.length <= 64) {
      let i = 0;
      while (i < b.length && b[i]! < 0x80) i++;
      if (i === b.length) return String.fromCharCode.apply(null, b as unknown as number[]);
    }
    try {
      return decoder.decode(b);
    } catch {
      throw new WireError("malformed", `${what} is not valid UTF-8`);
    }
  }

  /** A count of following elements, each at least `minElementBytes` long: bounded by the bytes left. */
  count(what: string, minElementBytes = 1): number {
    const n = this.varintNumber(`${what} count`);
    if (n * minElementBytes > this.remaining)
      throw new WireError("truncated", `${what} count ${n} cannot fit in ${this.remaining} bytes`);
    return n;
  }

  /** Assert the body is fully consumed. */
  end(what: string): void {
    if (this.#pos !== this.#buf.length)
      throw new WireError("trailing", `${this.remaining} trailing bytes after ${what}`);
  }
}
