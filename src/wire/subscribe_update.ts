/** SUBSCRIBE_UPDATE: the subscriber changes its track priority (any number of times after SUBSCRIBE).
 *
 *  Pure codec. Body: varint track_priority (uint8, truncated on decode like gomoqt). Spec: gomoqt.md §1.4, §1.7.
 *  @module */
import type { Codec } from "./message.js";

export interface SubscribeUpdate {
  readonly trackPriority: number;
}

export const SubscribeUpdate: Codec<SubscribeUpdate> = {
  name: "SUBSCRIBE_UPDATE",
  encode(w, m) {
    w.varint(m.trackPriority & 0xff);
  },
  decode(r) {
    const p = r.varint();
    return { trackPriority: typeof p === "number" ? p & 0xff : Number(p & 0xffn) };
  },
};
