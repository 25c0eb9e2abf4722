/** moqt core: everything that runs on any platform (no Node-only or native imports), re-exported by both entries.
 *
 *  @module */
export {
  SessionError,
  AnnounceError,
  SubscribeError,
  GroupError,
  MoqtError,
  isMoqtError,
  SessionErrorCode,
  AnnounceErrorCode,
  SubscribeErrorCode,
  GroupErrorCode,
  TrackEndedError,
} from "./errors.js";
export { Frame, newFrame } from "./track/frame.js";
export { Announcement, newAnnouncement } from "./track/announcement.js";
export {
  TrackMux,
  DefaultTrackMux,
  NotFoundTrackHandler,
  publish,
  publishFunc,
  announce,
  type TrackHandler,
  type TrackHandlerFunc,
} from "./track/track_mux.js";
export { TrackWriter, type TrackConfig, type Info } from "./track/track_writer.js";
export { GroupWriter, type GroupSequence } from "./track/group_writer.js";
export { TrackReader } from "./track/track_reader.js";
export { GroupReader } from "./track/group_reader.js";
export { AnnouncementReader } from "./track/announcement_reader.js";
export {
  isValidPath,
  isValidPrefix,
  type BroadcastPath,
  type TrackName,
  type TrackPrefix,
} from "./track/path.js";
export { Session, type SessionUpdateEvent } from "./session/session.js";
export { type SessionConfig, DEFAULT_SESSION_CONFIG } from "./session/config.js";
export {
  Versions,
  DefaultClientVersions,
  DefaultServerVersion,
  NextProtoMOQ,
  NextProtoH3,
  SetupRouter,
  DefaultRouter,
  RejectSetupHandler,
  handle,
  handleFunc,
  accept,
  dialTransport,
  acceptTransport,
  type Version,
  type SetupRequest,
  type SetupResponseWriter,
  type SetupHandler,
  type DialOptions,
  type AcceptOptions,
} from "./session/setup.js";
export { type Parameters, PARAM_PATH } from "./wire/parameters.js";
export { DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_MESSAGE_BYTES } from "./wire/limits.js";
export { newMemoryTransportPair, type MemoryTransportOptions } from "./transport/memory.js";
export type {
  WebTransportLike,
  WebTransportBidirectionalStreamLike,
  WebTransportCloseInfoLike,
  WebTransportSendStreamOptionsLike,
} from "./transport/webtransport_like.js";
export {
  Client,
  ErrInvalidScheme,
  type ClientOptions,
  type LivenessOptions,
  type TlsOptions,
} from "./client/client.js";
export { BitrateMonitor, type BitrateMonitorOptions } from "./session/bitrate_monitor.js";
