/** SESSION_UPDATE: a bitrate (bits per second) sent on the session stream after setup, either direction.
 *
 *  Pure codec. Body: varint bitrate. Spec: gomoqt.md §1.4, §1.5.
 *  @module */
import { defineCodec, type Codec } from "./message.js";
import { putVarint, varintLen } from "./varint.js";

export interface SessionUpdate {
  readonly bitrate: number;
}

export const SessionUpdate: Codec<SessionUpdate> = defineCodec<SessionUpdate>(
  "SESSION_UPDATE",
  (m) => varintLen(m.bitrate),
  (out, pos, m) => putVarint(out, pos, m.bitrate),
  (r) => ({ bitrate: r.varintNumber("bitrate") }),
);
