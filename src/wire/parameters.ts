/** Setup parameters (SESSION_CLIENT / SESSION_SERVER extensions): varint count, then (varint key, bytes value)*.
 *
 *  Pure. Any order on the wire (gomoqt iterates a Go map); a repeated key: the last one wins. Keys above 2^53-1
 *  cannot be represented in a `Map<number, …>` and are skipped. Spec: gomoqt.md §1.2, §1.4.
 *  @module */
import type { Reader } from "./reader.js";
import type { Writer } from "./writer.js";
import { putVarint, varintLen } from "./varint.js";

/** Setup extensions; key 0x01 is the path (raw QUIC only). */
export type Parameters = Map<number, Uint8Array>;

/** Parameter key carrying the session path on raw QUIC. */
export const PARAM_PATH = 0x01;

/** Encoded size of a parameter list: varint count, then per entry varint key + varint length + value. */
export function parametersLen(p: ReadonlyMap<number, Uint8Array>): number {
  let n = varintLen(p.size);
  for (const [k, v] of p) n += varintLen(k) + varintLen(v.length) + v.length;
  return n;
}

/** Write a parameter list at `out[pos]` (sized by `parametersLen`); returns the position after it. */
export function putParameters(out: Uint8Array, pos: number, p: ReadonlyMap<number, Uint8Array>): number {
  pos = putVarint(out, pos, p.size);
  for (const [k, v] of p) {
    pos = putVarint(out, putVarint(out, pos, k), v.length);
    out.set(v, pos);
    pos += v.length;
  }
  return pos;
}

export function encodeParameters(w: Writer, p: ReadonlyMap<number, Uint8Array>): void {
  w.varint(p.size);
  for (const [k, v] of p) w.varint(k).bytesField(v);
}

export function decodeParameters(r: Reader): Parameters {
  const n = r.count("parameter", 2);
  const out: Parameters = new Map();
  for (let i = 0; i < n; i++) {
    const k = r.varint();
    const v = r.bytes("parameter value");
    if (typeof k === "number") out.set(k, v.slice());
  }
  return out;
}

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Helpers matching gomoqt's typed Extension accessors (string = raw UTF-8). */
export function setStringParameter(p: Parameters, key: number, value: string): void {
  p.set(key, enc.encode(value));
}
export function getStringParameter(p: ReadonlyMap<number, Uint8Array>, key: number): string | undefined {
  const v = p.get(key);
  if (v === undefined) return undefined;
  try {
    return dec.decode(v);
  } catch {
    return undefined;
  }
}
