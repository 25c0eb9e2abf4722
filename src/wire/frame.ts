/** FRAME encoding: `varint(payload length) || payload`, the only payload framing on a group stream.
 *
 *  Pure. Zero-length frames are legal. Spec: gomoqt.md §1.4, §1.8.
 *  @module */
import { putVarint, varintLen } from "./varint.js";

/** Write the frame's length prefix into `out` at `pos`; returns bytes written. `out` must have 8 bytes free. */
export function writeFrameHeader(out: Uint8Array, pos: number, payloadLength: number): number {
  return putVarint(out, pos, payloadLength) - pos;
}

/** `varint(len) || payload` in one new buffer (one write per frame). */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(varintLen(payload.length) + payload.length);
  const n = writeFrameHeader(out, 0, payload.length);
  out.set(payload, n);
  return out;
}
