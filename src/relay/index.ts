/** moqt relay: a MoQ server where every session publishes and subscribes, with shared upstream subscriptions,
 *  a latest-group cache, bounded per-subscriber memory and an HTTP side (demo page, certificate hash, metrics).
 *  @module */
export {
  Relay,
  startRelay,
  parseHostPort,
  PUBLISHER_GONE,
  type RelayOptions,
  type RelayStats,
} from "./relay.js";
export {
  Fanout,
  FanGroup,
  DEFAULT_FANOUT_LIMITS,
  newFanoutCounters,
  type FanoutLimits,
  type FanoutCounters,
} from "./fanout.js";
export { renderMetrics, type Metric, type Sample } from "./metrics.js";
