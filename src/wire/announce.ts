/** ANNOUNCE: a broadcast under the requested prefix became active (1) or ended (0).
 *
 *  Pure codec. Body: varint status, string suffix. Any status other than 0/1 is `invalid-value` (gomoqt closes the
 *  stream with InvalidAnnounceStatus 0x2). Spec: gomoqt.md §1.4, §1.6.
 *  @module */
import { WireError } from "./errors.js";
import { defineCodec, type Codec } from "./message.js";
import { putString, stringSize } from "./utf8.js";
import { putVarint, varintLen } from "./varint.js";

export const AnnounceStatus = { Ended: 0, Active: 1 } as const;
export type AnnounceStatus = (typeof AnnounceStatus)[keyof typeof AnnounceStatus];

export interface Announce {
  readonly status: AnnounceStatus;
  readonly suffix: string;
}

export const Announce: Codec<Announce> = defineCodec<Announce>(
  "ANNOUNCE",
  (m, exact) => varintLen(m.status) + stringSize(m.suffix, exact),
  (out, pos, m) => putString(out, putVarint(out, pos, m.status), m.suffix),
  (r) => {
    const status = r.varint();
    if (status !== 0 && status !== 1)
      throw new WireError("invalid-value", `unknown ANNOUNCE status ${status}`);
    return { status, suffix: r.string("suffix") };
  },
);
