/** Message framing: every control message is `varint(body length) || body`; a Codec encodes/decodes one body.
 *
 *  Pure: no I/O. `encodeMessage` builds the whole message in one buffer so it goes out in one write (as gomoqt does).
 *  Spec: gomoqt.md §1.2, §1.4.
 *  @module */
import { Reader } from "./reader.js";
import { Writer } from "./writer.js";
import { writeFrameHeader } from "./frame.js";
import { varintLen } from "./varint.js";

/** Encoder/decoder of one message body (without its length prefix). */
export interface Codec<M> {
  readonly name: string;
  encode(w: Writer, m: M): void;
  /** Decode a complete body; throws WireError on any problem, including trailing bytes. */
  decode(r: Reader): M;
}

const scratch = new Writer(256);

/** `varint(len) || body` as a fresh Uint8Array. */
export function encodeMessage<M>(codec: Codec<M>, m: M): Uint8Array {
  scratch.reset();
  codec.encode(scratch, m);
  const body = scratch.view();
  // Exact size, no Writer (its DataView costs more than the whole encode of a small message).
  const out = new Uint8Array(varintLen(body.length) + body.length);
  out.set(body, writeFrameHeader(out, 0, body.length));
  return out;
}

/** Append `varint(len) || body` to `w` (for building a stream prefix plus message in one buffer). */
export function appendMessage<M>(w: Writer, codec: Codec<M>, m: M): Writer {
  scratch.reset();
  codec.encode(scratch, m);
  const body = scratch.view();
  return w.varint(body.length).raw(body);
}

/** Decode a complete body with `codec`, rejecting trailing bytes. */
export function decodeBody<M>(codec: Codec<M>, body: Uint8Array): M {
  const r = new Reader(body);
  const m = codec.decode(r);
  r.end(codec.name);
  return m;
}
