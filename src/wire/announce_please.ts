/** ANNOUNCE_PLEASE: first message on an announce stream (bidi 0x01), asking for broadcasts under a prefix.
 *
 *  Pure codec. Body: string track_prefix. Prefix validity is checked by the session, not here. Spec: gomoqt.md §1.6.
 *  @module */
import type { Codec } from "./message.js";

export interface AnnouncePlease {
  readonly prefix: string;
}

export const AnnouncePlease: Codec<AnnouncePlease> = {
  name: "ANNOUNCE_PLEASE",
  encode(w, m) {
    w.string(m.prefix);
  },
  decode(r) {
    return { prefix: r.string("track prefix") };
  },
};
