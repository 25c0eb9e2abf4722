/** ANNOUNCE_PLEASE: first message on an announce stream (bidi 0x01), asking for broadcasts under a prefix.
 *
 *  Pure codec. Body: string track_prefix. Prefix validity is checked by the session, not here. Spec: gomoqt.md §1.6.
 *  @module */
import { defineCodec, type Codec } from "./message.js";
import { putString, stringSize } from "./utf8.js";

export interface AnnouncePlease {
  readonly prefix: string;
}

export const AnnouncePlease: Codec<AnnouncePlease> = defineCodec<AnnouncePlease>(
  "ANNOUNCE_PLEASE",
  (m, exact) => stringSize(m.prefix, exact),
  (out, pos, m) => putString(out, pos, m.prefix),
  (r) => ({ prefix: r.string("track prefix") }),
);
