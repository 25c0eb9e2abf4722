/** SUBSCRIBE_OK: the publisher's answer on a subscribe stream; an empty body (the message is the byte 0x00).
 *
 *  Pure codec. A non-empty body is rejected as trailing bytes. Spec: gomoqt.md §1.4, §1.7.
 *  @module */
import { defineCodec, type Codec } from "./message.js";

export type SubscribeOk = Record<string, never>;

export const SubscribeOk: Codec<SubscribeOk> = defineCodec<SubscribeOk>(
  "SUBSCRIBE_OK",
  () => 0,
  (_out, pos) => pos,
  () => ({}),
);
