/** ANNOUNCE_INIT: the responder's first message on an announce stream: suffixes of all active broadcasts.
 *
 *  Pure codec. Body: varint count, count × string suffix. Spec: gomoqt.md §1.4, §1.6.
 *  @module */
import { defineCodec, type Codec } from "./message.js";
import { putString, stringSize } from "./utf8.js";
import { putVarint, varintLen } from "./varint.js";

export interface AnnounceInit {
  readonly suffixes: readonly string[];
}

export const AnnounceInit: Codec<AnnounceInit> = defineCodec<AnnounceInit>(
  "ANNOUNCE_INIT",
  (m, exact) => {
    const ss = m.suffixes;
    let n = varintLen(ss.length);
    for (let i = 0; i < ss.length; i++) n += stringSize(ss[i]!, exact);
    return n;
  },
  (out, pos, m) => {
    const ss = m.suffixes;
    pos = putVarint(out, pos, ss.length);
    for (let i = 0; i < ss.length; i++) pos = putString(out, pos, ss[i]!);
    return pos;
  },
  (r) => {
    const n = r.count("suffix");
    const suffixes: string[] = [];
    for (let i = 0; i < n; i++) suffixes.push(r.string("suffix"));
    return { suffixes };
  },
);
