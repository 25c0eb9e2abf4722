/** SESSION_SERVER: the server's answer on the session stream, selecting one version.
 *
 *  Pure codec. Body: varint selected_version, parameters. Spec: gomoqt.md §1.4, §1.5.
 *  @module */
import { defineCodec, type Codec } from "./message.js";
import { decodeParameters, parametersLen, putParameters, type Parameters } from "./parameters.js";
import { putVarint, varintLen } from "./varint.js";

export interface SessionServer {
  readonly version: number;
  readonly parameters: Parameters;
}

export const SessionServer: Codec<SessionServer> = defineCodec<SessionServer>(
  "SESSION_SERVER",
  (m) => varintLen(m.version) + parametersLen(m.parameters),
  (out, pos, m) => putParameters(out, putVarint(out, pos, m.version), m.parameters),
  (r) => {
    const version = r.varintNumber("version");
    return { version, parameters: decodeParameters(r) };
  },
);
