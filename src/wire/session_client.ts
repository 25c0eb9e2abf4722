/** SESSION_CLIENT: first message on the session stream (bidi 0x00), client → server.
 *
 *  Pure codec. Body: varint count, count × varint version, parameters. Spec: gomoqt.md §1.4, §1.5.
 *  @module */
import { defineCodec, type Codec } from "./message.js";
import { decodeParameters, parametersLen, putParameters, type Parameters } from "./parameters.js";
import { putVarint, varintLen } from "./varint.js";

export interface SessionClient {
  readonly versions: readonly number[];
  readonly parameters: Parameters;
}

export const SessionClient: Codec<SessionClient> = defineCodec<SessionClient>(
  "SESSION_CLIENT",
  (m) => {
    const vs = m.versions;
    let n = varintLen(vs.length);
    for (let i = 0; i < vs.length; i++) n += varintLen(vs[i]!);
    return n + parametersLen(m.parameters);
  },
  (out, pos, m) => {
    const vs = m.versions;
    pos = putVarint(out, pos, vs.length);
    for (let i = 0; i < vs.length; i++) pos = putVarint(out, pos, vs[i]!);
    return putParameters(out, pos, m.parameters);
  },
  (r) => {
    const n = r.count("version");
    const versions: number[] = [];
    for (let i = 0; i < n; i++) {
      const v = r.varint();
      // Versions above 2^53 cannot match any version we know; keep them out of the list rather than fail.
      if (typeof v === "number") versions.push(v);
    }
    return { versions, parameters: decodeParameters(r) };
  },
);
