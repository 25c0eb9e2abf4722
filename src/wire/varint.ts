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
