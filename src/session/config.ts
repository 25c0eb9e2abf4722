/** Session configuration: timeouts and caps, with documented defaults.
 *
 *  Every wait on the peer has a timeout and every queue a bound; 0 disables a timeout where noted.
 *
 *  There is deliberately no session-level idle timeout: the transport's own idle timeout (QUIC max_idle_timeout,
 *  WebTransport's underlying connection) already ends a dead connection, and gomoqt never sends SESSION_UPDATE, so a
 *  silent session stream is normal for a healthy gomoqt session and a session-layer timer would close it.
 *  @module */
import { DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_MESSAGE_BYTES } from "../wire/index.js";

export interface SessionConfig {
  /** Session setup (SESSION_CLIENT/SESSION_SERVER exchange), ms. Default 5000 (gomoqt's SetupTimeout). */
  setupTimeout?: number;
  /** Wait for SUBSCRIBE_OK, ms; on expiry the subscribe stream is reset with SubscribeTimeout (5). Default 30000;
   *  0 waits forever like gomoqt Dec 2025. */
  subscribeTimeout?: number;
  /** Wait for ANNOUNCE_INIT after ANNOUNCE_PLEASE, ms. Default 10000; 0 waits forever. */
  announceInitTimeout?: number;
  /** Wait for the type byte and first message of a stream the peer opened, ms; on expiry the stream is reset and
   *  stopped (bidi: 0; subscribe stream: SubscribeError Internal 0; announce stream: AnnounceError Internal 0; group
   *  stream: STOP_SENDING GroupError Internal 0) and its buffered bytes are released. Default 10000; 0 waits forever. */
  streamHeaderTimeout?: number;
  /** Streams the peer opened that are still waiting for their header (type byte and first message), per direction
   *  (bidi and uni counted separately). At the cap the session stops accepting new streams of that direction until
   *  one is identified or timed out (`streamHeaderTimeout`): the peer's further streams wait in the transport, whose
   *  own stream limit pushes back. Bounds what a stalling peer can make us buffer to about
   *  2 × maxPendingStreams × maxMessageBytes. Default 64. */
  maxPendingStreams?: number;
  /** Cap on a control message body, bytes. Default 1 MiB. */
  maxMessageBytes?: number;
  /** Cap on one frame payload, bytes. Default 16 MiB. */
  maxFrameBytes?: number;
  /** Groups received but not yet accepted, per subscription; on overflow the oldest is cancelled with ExpiredGroup (3).
   *  Default 32. */
  maxQueuedGroups?: number;
  /** Announcements waiting to be sent to one listener; a slower listener is dropped with AnnounceError Internal (0).
   *  Default 1024. */
  maxPendingAnnouncements?: number;
  /** Announcements received but not yet taken by `receiveAnnouncement`, and active announcements tracked, per
   *  AnnouncementReader; above this the announce stream is reset with Internal (0). Default 65536. */
  maxAnnouncements?: number;
  /** Concurrent subscriptions the peer may hold on this session; above it the session is closed with
   *  TooManySubscribe (6). Default 4096. */
  maxIncomingSubscriptions?: number;
  /** Concurrent announcement listeners (ANNOUNCE_PLEASE streams) the peer may hold on this session; an extra
   *  ANNOUNCE_PLEASE is reset and stopped with AnnounceError Internal (0) — gomoqt has no "too many" announce code —
   *  and the session goes on. Default 256. */
  maxAnnounceListeners?: number;
  /** After the publisher ends a subscription (FIN), group streams still in flight are accepted for this long, ms.
   *  Default 500. */
  endLinger?: number;
  /** When the peer ends the session stream (FIN, RESET_STREAM, STOP_SENDING) the session waits this long, ms, for
   *  the peer's close before it closes with ProtocolViolation (3): a closing peer may end its streams before its
   *  close is processed here, and QUIC orders nothing across streams. Raised to 3 × the smoothed RTT (at most
   *  1000 ms) where the transport measures it. Default 20. */
  peerCloseGrace?: number;
}

export type ResolvedSessionConfig = Required<SessionConfig>;

export const DEFAULT_SESSION_CONFIG: ResolvedSessionConfig = {
  setupTimeout: 5000,
  subscribeTimeout: 30000,
  announceInitTimeout: 10000,
  streamHeaderTimeout: 10000,
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxQueuedGroups: 32,
  maxPendingAnnouncements: 1024,
  maxAnnouncements: 65536,
  maxIncomingSubscriptions: 4096,
  maxAnnounceListeners: 256,
  maxPendingStreams: 64,
  endLinger: 500,
  peerCloseGrace: 20,
};

export function resolveConfig(c: SessionConfig | undefined): ResolvedSessionConfig {
  const out = { ...DEFAULT_SESSION_CONFIG };
  if (c)
    for (const [k, v] of Object.entries(c))
      if (v !== undefined) (out as Record<string, number>)[k] = v as number;
  return out;
}
