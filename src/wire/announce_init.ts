/** ANNOUNCE_INIT: the responder's first message on an announce stream: suffixes of all active broadcasts.
 *
 *  Pure codec. Body: varint count, count × string suffix. Spec: gomoqt.md §1.4, §1.6.
 *  @module */
import type { Codec } from "./message.js";

export interface AnnounceInit {
  readonly suffixes: readonly string[];
}

export const AnnounceInit: Codec<AnnounceInit> = {
  name: "ANNOUNCE_INIT",
  encode(w, m) {
    w.varint(m.suffixes.length);
    for (const s of m.suffixes) w.string(s);
  },
  decode(r) {
    const n = r.count("suffix");
    const suffixes: string[] = [];
    for (let i = 0; i < n; i++) suffixes.push(r.string("suffix"));
    return { suffixes };
  },
};
