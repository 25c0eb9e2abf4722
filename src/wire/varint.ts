/** QUIC variable-length integers (RFC 9000 §16): sizes and bounds.
 *
 *  Pure. Values are `number` below 2^53 and `bigint` above (up to 2^62-1); writers always use the shortest form,
 *  readers accept non-minimal forms, as gomoqt does. Spec: gomoqt.md §1.2.
 *  @module */
import { MAX_VARINT } from "./limits.js";
import { WireError } from "./errors.js";

/** A varint value: a safe integer `number`, or a `bigint` for values above 2^53-1. */
export type VarInt = number | bigint;

/** Encoded size in bytes of `v` (1, 2, 4 or 8). Throws `WireError("malformed")` for negative or > 2^62-1. */
export function varintLen(v: VarInt): 1 | 2 | 4 | 8 {
  if (typeof v === "number") {
    if (!Number.isInteger(v) || v < 0) throw new WireError("malformed", `varint out of range: ${v}`);
    if (v <= 63) return 1;
    if (v <= 16383) return 2;
    if (v <= 1073741823) return 4;
    if (v <= Number.MAX_SAFE_INTEGER) return 8;
    throw new WireError("malformed", `varint ${v} is not a safe integer; pass a bigint`);
  }
  if (v < 0n || v > MAX_VARINT) throw new WireError("malformed", `varint out of range: ${v}`);
  if (v <= 63n) return 1;
  if (v <= 16383n) return 2;
  if (v <= 1073741823n) return 4;
  return 8;
}

/** Normalise a decoded value: `number` when safe, else `bigint`. */
export function toVarInt(v: bigint): VarInt {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Write `v` at `out[pos]` in its shortest form; returns the position after it. `out` must have room (see
 *  `varintLen`). Throws `WireError("malformed")` for values `varintLen` rejects. No DataView: plain byte stores. */
export function putVarint(out: Uint8Array, pos: number, v: VarInt): number {
  // Fast path: an integer number in [0, 2^32), checked with one comparison.
  if (typeof v === "number" && v >>> 0 === v) {
    if (v < 0x40) {
      out[pos] = v;
      return pos + 1;
    }
    if (v < 0x4000) {
      out[pos] = 0x40 | (v >>> 8);
      out[pos + 1] = v & 0xff;
      return pos + 2;
    }
    if (v < 0x40000000) {
      out[pos] = 0x80 | (v >>> 24);
      out[pos + 1] = (v >>> 16) & 0xff;
      out[pos + 2] = (v >>> 8) & 0xff;
      out[pos + 3] = v & 0xff;
      return pos + 4;
    }
  }
  const n = varintLen(v); // validates (throws on negative, fractional, unsafe or > 2^62-1)
  if (n < 8) return putVarint(out, pos, Number(v));
  let hi: number;
  let lo: number;
  if (typeof v === "number") {
    hi = Math.floor(v / 0x100000000);
    lo = v >>> 0;
  } else {
    hi = Number(v >> 32n);
    lo = Number(v & 0xffffffffn);
  }
  out[pos] = 0xc0 | (hi >>> 24);
  out[pos + 1] = (hi >>> 16) & 0xff;
  out[pos + 2] = (hi >>> 8) & 0xff;
  out[pos + 3] = hi & 0xff;
  out[pos + 4] = lo >>> 24;
  out[pos + 5] = (lo >>> 16) & 0xff;
  out[pos + 6] = (lo >>> 8) & 0xff;
  out[pos + 7] = lo & 0xff;
  return pos + 8;
}
