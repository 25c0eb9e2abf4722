/** Size caps applied by the decoders, with their documented defaults.
 *
 *  Pure constants. Sessions take overrides through their options (`maxMessageBytes`, `maxFrameBytes`).
 *  @module */

/** Default cap on a control message body (SESSION_*, ANNOUNCE*, SUBSCRIBE*, GROUP): 1 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1 << 20;
/** Default cap on one frame payload: 16 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 16 << 20;
/** Largest value a QUIC varint can carry: 2^62 - 1. */
export const MAX_VARINT = (1n << 62n) - 1n;
