/** SESSION_CLIENT: first message on the session stream (bidi 0x00), client → server.
 *
 *  Pure codec. Body: varint count, count × varint version, parameters. Spec: gomoqt.md §1.4, §1.5.
 *  @module */
import type { Codec } from "./message.js";
import { decodeParameters, encodeParameters, type Parameters } from "./parameters.js";

export interface SessionClient {
  readonly versions: readonly number[];
  readonly parameters: Parameters;
}

export const SessionClient: Codec<SessionClient> = {
  name: "SESSION_CLIENT",
  encode(w, m) {
    w.varint(m.versions.length);
    for (const v of m.versions) w.varint(v);
    encodeParameters(w, m.parameters);
  },
  decode(r) {
    const n = r.count("version");
    const versions: number[] = [];
    for (let i = 0; i < n; i++) {
      const v = r.varint();
      // Versions above 2^53 cannot match any version we know; keep them out of the list rather than fail.
      if (typeof v === "number") versions.push(v);
    }
    return { versions, parameters: decodeParameters(r) };
  },
};
