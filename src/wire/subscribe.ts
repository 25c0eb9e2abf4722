/** SUBSCRIBE: first message on a subscribe stream (bidi 0x02).
 *
 *  Pure codec. Body: varint subscribe_id, string broadcast_path, string track_name, varint track_priority.
 *  The priority is a uint8; larger values are truncated to 8 bits on decode, as gomoqt does. Spec: gomoqt.md §1.4, §1.7.
 *  @module */
import type { Codec } from "./message.js";
import type { VarInt } from "./varint.js";

export interface Subscribe {
  readonly subscribeId: VarInt;
  readonly broadcastPath: string;
  readonly trackName: string;
  readonly trackPriority: number;
}

export const Subscribe: Codec<Subscribe> = {
  name: "SUBSCRIBE",
  encode(w, m) {
    w.varint(m.subscribeId)
      .string(m.broadcastPath)
      .string(m.trackName)
      .varint(m.trackPriority & 0xff);
  },
  decode(r) {
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
};
