/** The demo's frame container: one MoQ frame = one encoded video chunk with a small header. See web/README.md.
 *
 *  ```
 *  offset  size  field
 *  0       8     capture time, µs since the Unix epoch, unsigned big-endian (the sender's wall clock)
 *  8       1     flags: bit 0 = keyframe, bit 1 = decoder config follows; other bits 0 (ignored on read)
 *  9       2     config length N, unsigned big-endian            } only when bit 1 is set
 *  11      N     decoder config, UTF-8 JSON (see DecoderConfigJson) }
 *  …       rest  the encoded chunk (EncodedVideoChunk bytes)
 *  ```
 *  Each group is one GOP: its first frame is a keyframe and carries the decoder config.
 *  @module */

export const FLAG_KEY = 0x01;
export const FLAG_CONFIG = 0x02;
const HEADER = 9;

/** VideoDecoderConfig as JSON: `description` (binary) is base64. */
export interface DecoderConfigJson {
  codec: string;
  codedWidth?: number;
  codedHeight?: number;
  description?: string;
}

export interface ContainerFrame {
  /** Capture time, µs since the Unix epoch. */
  captureUs: number;
  keyframe: boolean;
  config?: DecoderConfigJson;
  data: Uint8Array;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeFrame(f: ContainerFrame): Uint8Array {
  const cfg = f.config ? enc.encode(JSON.stringify(f.config)) : undefined;
  if (cfg && cfg.length > 0xffff) throw new RangeError("decoder config too large");
  const out = new Uint8Array(HEADER + (cfg ? 2 + cfg.length : 0) + f.data.length);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, BigInt(Math.max(0, Math.round(f.captureUs))));
  out[8] = (f.keyframe ? FLAG_KEY : 0) | (cfg ? FLAG_CONFIG : 0);
  let o = HEADER;
  if (cfg) {
    v.setUint16(o, cfg.length);
    out.set(cfg, o + 2);
    o += 2 + cfg.length;
  }
  out.set(f.data, o);
  return out;
}

export function decodeFrame(b: Uint8Array): ContainerFrame {
  if (b.length < HEADER) throw new RangeError(`frame too short (${b.length} bytes)`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const captureUs = Number(v.getBigUint64(0));
  const flags = b[8]!;
  let o = HEADER;
  let config: DecoderConfigJson | undefined;
  if (flags & FLAG_CONFIG) {
    if (b.length < o + 2) throw new RangeError("truncated config length");
    const n = v.getUint16(o);
    if (b.length < o + 2 + n) throw new RangeError("truncated config");
    config = JSON.parse(dec.decode(b.subarray(o + 2, o + 2 + n))) as DecoderConfigJson;
    if (typeof config?.codec !== "string") throw new TypeError("decoder config without codec");
    o += 2 + n;
  }
  return {
    captureUs,
    keyframe: (flags & FLAG_KEY) !== 0,
    ...(config ? { config } : {}),
    data: b.subarray(o),
  };
}

export function toBase64(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s);
}

export function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Wall-clock time in µs since the Unix epoch (sub-millisecond where the platform allows). */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}
