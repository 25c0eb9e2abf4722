/** SUBSCRIBE: first message on a subscribe stream (bidi 0x02).
 *
 *  Pure codec. Body: varint subscribe_id, string broadcast_path, string track_name, varint track_priority.
 *  The priority is a uint8; larger values are truncated to 8 bits on decode, as gomoqt does. Spec: gomoqt.md §1.4, §1.7.
 *  @module */
import { defineCodec, type Codec } from "./message.js";
import { putString, stringSize } from "./utf8.js";
import { putVarint, varintLen, type VarInt } from "./varint.js";

export interface Subscribe {
  readonly subscribeId: VarInt;
  readonly broadcastPath: string;
  readonly trackName: string;
  readonly trackPriority: number;
}

export const Subscribe: Codec<Subscribe> = defineCodec<Subscribe>(
  "SUBSCRIBE",
  (m, exact) =>
    varintLen(m.subscribeId) +
    stringSize(m.broadcastPath, exact) +
    stringSize(m.trackName, exact) +
    varintLen(m.trackPriority & 0xff),
  (out, pos, m) => {
    pos = putVarint(out, pos, m.subscribeId);
    pos = putString(out, pos, m.broadcastPath);
    pos = putString(out, pos, m.trackName);
    return putVarint(out, pos, m.trackPriority & 0xff);
  },
  (r) => {
    const subscribeId = r.varint();
    const broadcastPath = r.string("broadcast path");
    const trackName = r.string("track name");
    const p = r.varint();
    return {
      subscribeId,
      broadcastPath,
      trackName,
      trackPriority: typeof p === "number" ? p & 0xff : Number(p & 0xffn),
    };
  },
);
