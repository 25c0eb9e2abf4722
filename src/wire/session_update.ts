/** SESSION_UPDATE: a bitrate (bits per second) sent on the session stream after setup, either direction.
 *
 *  Pure codec. Body: varint bitrate. Spec: gomoqt.md §1.4, §1.5.
 *  @module */
import type { Codec } from "./message.js";

export interface SessionUpdate {
  readonly bitrate: number;
}

export const SessionUpdate: Codec<SessionUpdate> = {
  name: "SESSION_UPDATE",
  encode(w, m) {
    w.varint(m.bitrate);
  },
  decode(r) {
    return { bitrate: r.varintNumber("bitrate") };
  },
};
