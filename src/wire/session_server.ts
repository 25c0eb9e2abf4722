/** SESSION_SERVER: the server's answer on the session stream, selecting one version.
 *
 *  Pure codec. Body: varint selected_version, parameters. Spec: gomoqt.md §1.4, §1.5.
 *  @module */
import type { Codec } from "./message.js";
import { decodeParameters, encodeParameters, type Parameters } from "./parameters.js";

export interface SessionServer {
  readonly version: number;
  readonly parameters: Parameters;
}

export const SessionServer: Codec<SessionServer> = {
  name: "SESSION_SERVER",
  encode(w, m) {
    w.varint(m.version);
    encodeParameters(w, m.parameters);
  },
  decode(r) {
    const version = r.varintNumber("version");
    return { version, parameters: decodeParameters(r) };
  },
};
