/** FRAME encoding: `varint(payload length) || payload`, the only payload framing on a group stream.
 *
 *  Pure. Zero-length frames are legal. Spec: gomoqt.md §1.4, §1.8.
 *  @module */
import { varintLen } from "./varint.js";

/** Write the frame's length prefix into `out` at `pos`; returns bytes written. `out` must have 8 bytes free. */
export function writeFrameHeader(out: Uint8Array, pos: number, payloadLength: number): number {
  const n = varintLen(payloadLength);
  switch (n) {
    case 1:
      out[pos] = payloadLength;
      break;
    case 2:
      out[pos] = 0x40 | (payloadLength >> 8);
      out[pos + 1] = payloadLength & 0xff;
      break;
    case 4:
      out[pos] = 0x80 | (payloadLength >>> 24);
      out[pos + 1] = (payloadLength >>> 16) & 0xff;
      out[pos + 2] = (payloadLength >>> 8) & 0xff;
      out[pos + 3] = payloadLength & 0xff;
      break;
    default: {
      const hi = Math.floor(payloadLength / 0x100000000);
      const lo = payloadLength >>> 0;
      out[pos] = 0xc0 | (hi >>> 24);
      out[pos + 1] = (hi >>> 16) & 0xff;
      out[pos + 2] = (hi >>> 8) & 0xff;
      out[pos + 3] = hi & 0xff;
      out[pos + 4] = lo >>> 24;
      out[pos + 5] = (lo >>> 16) & 0xff;
      out[pos + 6] = (lo >>> 8) & 0xff;
      out[pos + 7] = lo & 0xff;
    }
  }
  return n;
}

/** `varint(len) || payload` in one new buffer (one write per frame). */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(varintLen(payload.length) + payload.length);
  const n = writeFrameHeader(out, 0, payload.length);
  out.set(payload, n);
  return out;
}
