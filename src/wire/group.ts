/** GROUP: header of a group stream (uni 0x00): which subscription and which group sequence.
 *
 *  Pure codec. Body: varint subscribe_id, varint group_sequence (up to 2^62-1: bigint above 2^53-1).
 *  Spec: gomoqt.md §1.4, §1.8.
 *  @module */
import { defineCodec, type Codec } from "./message.js";
import { putVarint, varintLen, type VarInt } from "./varint.js";

export interface Group {
  readonly subscribeId: VarInt;
  readonly groupSequence: VarInt;
}

export const Group: Codec<Group> = defineCodec<Group>(
  "GROUP",
  (m) => varintLen(m.subscribeId) + varintLen(m.groupSequence),
  (out, pos, m) => putVarint(out, putVarint(out, pos, m.subscribeId), m.groupSequence),
  (r) => ({ subscribeId: r.varint(), groupSequence: r.varint() }),
);
