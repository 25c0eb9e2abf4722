/** moqt: Media over QUIC (MoQ Lite) for TypeScript, wire-compatible with gomoqt's Development protocol — Node entry.
 *
 *  The api.md contract: the platform-neutral core, plus Client over the native QUIC/WebTransport addon and Server.
 *  The addon loads on first use, so the core works without it.
 *  @module */
import { setConnector } from "./client/client.js";
import { nodeConnector } from "./client/node_connector.js";

setConnector(nodeConnector);

export * from "./core.js";
export { Server, parseAddr, type ServerOptions } from "./server/server.js";
export {
  generateCertificate,
  nativeAvailable,
  nativeStats,
  type DevCertificate,
  type NativeResourceStats,
} from "./transport/native/index.js";
export {
  Relay,
  startRelay,
  PUBLISHER_GONE,
  signToken,
  TokenVerifier,
  allowOrigins,
  type RelayOptions,
  type RelayStats,
  type TokenScope,
} from "./relay/index.js";
