/** moqt relay: a MoQ server where every session publishes and subscribes, with shared upstream subscriptions,
 *  a latest-group cache, bounded per-subscriber memory, JWT auth and an HTTP side (demo page, certificate hash,
 *  metrics).
 *  @module */
export {
  Relay,
  startRelay,
  parseHostPort,
  allowOrigins,
  PUBLISHER_GONE,
  type RelayOptions,
  type RelayStats,
  type AuthDeniedCounts,
  type UpstreamCloseReason,
} from "./relay.js";
export {
  TokenVerifier,
  TokenError,
  signToken,
  signingKey,
  keyFromFile,
  prefixMatches,
  inScope,
  TOKEN_ALGS,
  type TokenAlg,
  type TokenScope,
  type TokenGrant,
  type RelayAuthKey,
  type RelayAuthOptions,
  type SignTokenOptions,
} from "./auth.js";
export {
  Fanout,
  FanGroup,
  DEFAULT_FANOUT_LIMITS,
  newFanoutCounters,
  type FanoutLimits,
  type FanoutCounters,
} from "./fanout.js";
export { renderMetrics, type Metric, type Sample } from "./metrics.js";
