/** Message framing: every control message is `varint(body length) || body`; a Codec sizes, writes and reads one body.
 *
 *  Pure: no I/O. `encodeMessage` sizes the body first and writes prefix and body into one exact-size buffer, so the
 *  message goes out in one write (as gomoqt's `Encode` does with its `Len()`). Decoding reads through a `Reader`
 *  cursor over the received bytes, without copying the body. Spec: gomoqt.md §1.2, §1.4.
 *  @module */
import { WireError } from "./errors.js";
import { Reader } from "./reader.js";
import type { Writer } from "./writer.js";
import { putVarint, varintLen } from "./varint.js";

/** Encoder/decoder of one message body (without its length prefix). */
export interface Codec<M> {
  readonly name: string;
  /** Encoded body size of `m`: exact when `exact`, else with every string counted as ASCII (no scan of its
   *  characters; a lower bound, exact when all strings are ASCII). Throws WireError("malformed") for a field out of
   *  range. */
  size(m: M, exact: boolean): number;
  /** Write the body of `m` at `out[pos]` (which has `size(m, true)` bytes free); returns the position after it. */
  write(out: Uint8Array, pos: number, m: M): number;
  /** Append the body of `m` to `w` (same bytes as `write`). */
  encode(w: Writer, m: M): void;
  /** Decode a complete body; throws WireError on any problem, including trailing bytes. */
  decode(r: Reader): M;
}

/** Build a Codec from its sizing, writing and reading functions (every codec object has the same shape). */
export function defineCodec<M>(
  name: string,
  size: (m: M, exact: boolean) => number,
  write: (out: Uint8Array, pos: number, m: M) => number,
  decode: (r: Reader) => M,
): Codec<M> {
  const codec: Codec<M> = {
    name,
    size,
    write,
    encode(w, m) {
      w.body(codec, m);
    },
    decode,
  };
  return codec;
}

/** `varint(len) || body` as a fresh Uint8Array of exactly that size.
 *
 *  Strings are almost always ASCII (paths, track names), so the buffer is first sized as if they were, without a
 *  pass over their characters; `putString` checks each character as it stores it. A non-ASCII string makes the body
 *  longer than that size: the write then ends past the buffer (stores out of range are dropped, a typed array's
 *  `set` throws RangeError) and the message is encoded again with the exact size. */
export function encodeMessage<M>(codec: Codec<M>, m: M): Uint8Array {
  const n = codec.size(m, false);
  const out = new Uint8Array((n < 0x40 ? 1 : varintLen(n)) + n);
  let end: number;
  try {
    end = codec.write(out, putVarint(out, 0, n), m);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    end = -1;
  }
  return end === out.length ? out : encodeExact(codec, m);
}

function encodeExact<M>(codec: Codec<M>, m: M): Uint8Array {
  const n = codec.size(m, true);
  const out = new Uint8Array(varintLen(n) + n);
  const end = codec.write(out, putVarint(out, 0, n), m);
  if (end !== out.length) throw new Error(`moqt wire: ${codec.name} wrote ${end} bytes into ${out.length}`);
  return out;
}

/** Append `varint(len) || body` to `w` (for building a stream prefix plus message in one buffer). */
export function appendMessage<M>(w: Writer, codec: Codec<M>, m: M): Writer {
  return w.message(codec, m);
}

/** Decode a complete body with `codec`, rejecting trailing bytes. */
export function decodeBody<M>(codec: Codec<M>, body: Uint8Array): M {
  const r = new Reader(body);
  const m = codec.decode(r);
  r.end(codec.name);
  return m;
}

/** Decode one whole message `varint(len) || body` that fills `bytes[pos, end)` exactly (default: all of `bytes`).
 *  The length prefix is checked against `maxBytes` before anything else (`too-large`); a body longer than what is
 *  there is `truncated`, bytes after the body are `trailing`. Reads in place: no copy of the body. */
export function decodeMessage<M>(
  codec: Codec<M>,
  bytes: Uint8Array,
  maxBytes: number,
  pos = 0,
  end = bytes.length,
): M {
  const r = new Reader(bytes, pos, end);
  const len = r.varint();
  if (typeof len !== "number" || len > maxBytes)
    throw new WireError("too-large", `${codec.name} of ${len} bytes exceeds the cap of ${maxBytes}`);
  const bodyEnd = r.position + len;
  if (bodyEnd > end)
    throw new WireError("truncated", `${codec.name} of ${len} bytes has only ${end - r.position} bytes`);
  if (bodyEnd < end) throw new WireError("trailing", `${end - bodyEnd} trailing bytes after ${codec.name}`);
  const m = codec.decode(r);
  r.end(codec.name);
  return m;
}
