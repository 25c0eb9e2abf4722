/** SUBSCRIBE_UPDATE: the subscriber changes its track priority (any number of times after SUBSCRIBE).
 *
 *  Pure codec. Body: varint track_priority (uint8, truncated on decode like gomoqt). Spec: gomoqt.md §1.4, §1.7.
 *  @module */
import { defineCodec, type Codec } from "./message.js";
import { putVarint, varintLen } from "./varint.js";

export interface SubscribeUpdate {
  readonly trackPriority: number;
}

export const SubscribeUpdate: Codec<SubscribeUpdate> = defineCodec<SubscribeUpdate>(
  "SUBSCRIBE_UPDATE",
  (m) => varintLen(m.trackPriority & 0xff),
  (out, pos, m) => putVarint(out, pos, m.trackPriority & 0xff),
  (r) => {
    const p = r.varint();
    return { trackPriority: typeof p === "number" ? p & 0xff : Number(p & 0xffn) };
  },
);
