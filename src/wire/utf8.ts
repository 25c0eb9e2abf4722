/** String fields without TextEncoder/TextDecoder on the common path: short ASCII strings (under 32 units or bytes:
 *  paths, track names, suffixes) are written with a plain store loop and read with one or two `String.fromCharCode`
 *  calls; longer or non-ASCII strings go through the platform's UTF-8 codec, which is cheaper there.
 *
 *  Pure. The byte count of a string is its UTF-8 length, lone surrogates counting as U+FFFD (3 bytes) as
 *  `TextEncoder` writes them. Decoding is strict: invalid UTF-8 throws (the caller maps it to `WireError`).
 *  Spec: gomoqt.md §1.2 (string = varint byte length || UTF-8 bytes).
 *  @module */
import { putVarint, varintLen } from "./varint.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Number of UTF-8 bytes needed for `s` (lone surrogates count as U+FFFD, 3 bytes, as TextEncoder writes them). */
export function utf8Length(s: string): number {
  const len = s.length;
  let i = 0;
  // ASCII prefix: one byte per UTF-16 unit.
  while (i < len && s.charCodeAt(i) < 0x80) i++;
  if (i === len) return len;
  let n = i;
  for (; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < len) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/** Encoded size of a string field: varint(UTF-8 byte length) + bytes. */
export function stringLen(s: string): number {
  const n = utf8Length(s);
  return varintLen(n) + n;
}

/** Size of a string field: exact (`stringLen`), or — with `exact` false — as if `s` were ASCII (one byte per UTF-16
 *  unit, no scan of the characters), which is a lower bound, equal to the exact size only for ASCII strings. */
export function stringSize(s: string, exact: boolean): number {
  if (exact) return stringLen(s);
  const n = s.length;
  return (n < 0x40 ? 1 : varintLen(n)) + n;
}

/** Write the string field `varint(byteLength) || UTF-8` at `out[pos]`; returns the position after it.
 *  `out` must have `stringLen(s)` bytes free from `pos`.
 *
 *  Both fast paths assume ASCII and size the prefix for `s.length` bytes; a non-ASCII string makes the field at least
 *  one byte longer than that, so whatever they stored stayed inside the field, and the exact path rewrites it. Under
 *  32 units a store loop is cheaper than a call into the platform's encoder; from 32 units, `encodeInto` is (about
 *  2 ns per unit for `charCodeAt` against a constant ~120 ns per call, measured on the 2-core box). */
export function putString(out: Uint8Array, pos: number, s: string): number {
  const len = s.length;
  if (len < 32) {
    const start = pos + 1;
    let i = 0;
    for (; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      out[start + i] = c;
    }
    if (i === len) {
      out[pos] = len;
      return start + len;
    }
  } else {
    const start = pos + (len < 0x40 ? 1 : varintLen(len));
    const r = encoder.encodeInto(s, out.subarray(start, start + len));
    // One byte per UTF-16 unit for every unit: all ASCII (anything else takes 2-4 bytes per unit).
    if (r.read === len && r.written === len) {
      putVarint(out, pos, len);
      return start + len;
    }
  }
  const n = utf8Length(s);
  const start = putVarint(out, pos, n);
  encoder.encodeInto(s, out.subarray(start, start + n));
  return start + n;
}

/** Decode `buf[pos, pos+n)` as strict UTF-8. Throws a TypeError on invalid input (the caller maps it).
 *  Up to 32 ASCII bytes: one or two `String.fromCharCode` calls; anything longer or non-ASCII: the platform's
 *  decoder, which wins from about 32 bytes (measured on the 2-core box: 12 bytes 82 vs 160 ns, 64 bytes 311 vs
 *  136 ns). */
export function readUtf8(buf: Uint8Array, pos: number, n: number): string {
  if (n <= 32) {
    let bits = 0;
    for (let i = 0; i < n; i++) bits |= buf[pos + i]!;
    if (bits < 0x80)
      return n <= 16 ? ascii16(buf, pos, n) : ascii16(buf, pos, 16) + ascii16(buf, pos + 16, n - 16);
  }
  return decoder.decode(buf.subarray(pos, pos + n));
}

/** `n` (0..16) ASCII bytes at `b[p]` as a string, with one `String.fromCharCode` call and no intermediate array. */
function ascii16(b: Uint8Array, p: number, n: number): string {
  switch (n) {
    case 0:
      return "";
    case 1:
      return String.fromCharCode(b[p]!);
    case 2:
      return String.fromCharCode(b[p]!, b[p + 1]!);
    case 3:
      return String.fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!);
    case 4:
      return String.fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!);
    case 5:
      return String.fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!);
    case 6:
      return String.fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!);
    case 7:
      return String.fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!);
    case 8:
      return String.fromCharCode(
        b[p]!,
        b[p + 1]!,
        b[p + 2]!,
        b[p + 3]!,
        b[p + 4]!,
        b[p + 5]!,
        b[p + 6]!,
        b[p + 7]!,
      );
    case 9:
      return String.fromCharCode(
        b[p]!,
        b[p + 1]!,
        b[p + 2]!,
        b[p + 3]!,
        b[p + 4]!,
        b[p + 5]!,
        b[p + 6]!,
        b[p + 7]!,
        b[p + 8]!,
      );
    case 10:
      return String.fromCharCode(
        b[p]!,
        b[p + 1]!,
        b[p + 2]!,
        b[p + 3]!,
        b[p + 4]!,
        b[p + 5]!,
        b[p + 6]!,
        b[p + 7]!,
        b[p + 8]!,
        b[p + 9]!,
      );
    case 11:
      return String.fromCharCode(
        b[p]!,
        b[p + 1]!,
        b[p + 2]!,
        b[p + 3]!,
        b[p + 4]!,
        b[p + 5]!,
        b[p + 6]!,
        b[p + 7]!,
        b[p + 8]!,
        b[p + 9]!,
        b[p + 10]!,
      );
    case 12:
      return String.fromCharCode(
        b[p]!,
        b[p + 1]!,
        b[p + 2]!,
        b[p + 3]!,
        b[p + 4]!,
        b[p + 5]!,
        b[p + 6]!,
        b[p + 7]!,
        b[p + 8]!,
        b[p + 9]!,
        b[p + 10]!,
        b[p + 11]!,
      );
    case 13:
      return String.fromCharCode(
        b[p]!,
        b[p + 1]!,
        b[p + 2]!,
        b[p + 3]!,
        b[p + 4]!,
        b[p + 5]!,
        b[p + 6]!,
        b[p + 7]!,
        b[p + 8]!,
        b[p + 9]!,
        b[p + 10]!,
        b[p + 11]!,
        b[p + 12]!,
      );
    case 14:
      return String.fromCharCode(
        b[p]!,
        b[p + 1]!,
        b[p + 2]!,
        b[p + 3]!,
        b[p + 4]!,
        b[p + 5]!,
        b[p + 6]!,
        b[p + 7]!,
        b[p + 8]!,
        b[p + 9]!,
        b[p + 10]!,
        b[p + 11]!,
        b[p + 12]!,
        b[p + 13]!,
      );
    case 15:
      return String.fromCharCode(
        b[p]!,
        b[p + 1]!,
        b[p + 2]!,
        b[p + 3]!,
        b[p + 4]!,
        b[p + 5]!,
        b[p + 6]!,
        b[p + 7]!,
        b[p + 8]!,
        b[p + 9]!,
        b[p + 10]!,
        b[p + 11]!,
        b[p + 12]!,
        b[p + 13]!,
        b[p + 14]!,
      );
    case 16:
      return String.fromCharCode(
        b[p]!,
        b[p + 1]!,
        b[p + 2]!,
        b[p + 3]!,
        b[p + 4]!,
        b[p + 5]!,
        b[p + 6]!,
        b[p + 7]!,
        b[p + 8]!,
        b[p + 9]!,
        b[p + 10]!,
        b[p + 11]!,
        b[p + 12]!,
        b[p + 13]!,
        b[p + 14]!,
        b[p + 15]!,
      );
    default:
      throw new RangeError(`ascii16: ${n} units`);
  }
}
