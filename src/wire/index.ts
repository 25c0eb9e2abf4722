/** The wire layer: pure codecs for gomoqt's Development protocol (version 0xfeedbabe), re-exported in one place.
 *
 *  Pure: no I/O, no timers, no Node imports. Spec: gomoqt.md §1.
 *  @module @internal */
export * from "./errors.js";
export * from "./limits.js";
export * from "./varint.js";
export * from "./utf8.js";
export * from "./writer.js";
export * from "./reader.js";
export * from "./message.js";
export * from "./parameters.js";
export * from "./stream_type.js";
export * from "./chunk_buffer.js";
export * from "./frame.js";
export { SessionClient } from "./session_client.js";
export { SessionServer } from "./session_server.js";
export { SessionUpdate } from "./session_update.js";
export { AnnouncePlease } from "./announce_please.js";
export { AnnounceInit } from "./announce_init.js";
export { Announce, AnnounceStatus } from "./announce.js";
export { Subscribe } from "./subscribe.js";
export { SubscribeOk } from "./subscribe_ok.js";
export { SubscribeUpdate } from "./subscribe_update.js";
export { Group } from "./group.js";
