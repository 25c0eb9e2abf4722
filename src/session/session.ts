/** Session: one MoQ session over a Transport, after setup; both roles share it.
 *
 *  Runs the accept loops (bidi: announce 0x01 / subscribe 0x02; uni: group 0x00), keeps the session stream open and
 *  reads SESSION_UPDATE from it, routes incoming SUBSCRIBE through the TrackMux and group streams to TrackReaders.
 *  Unknown stream types close the session with ProtocolViolation (3); a group for an unknown subscribe id is stopped
 *  with InvalidSubscribeID (7); an unknown path is reset with TrackNotFound (3). `signal` aborts with the SessionError
 *  when the transport reports the session's end, whoever ended it (a local close first closes the transport, so no
 *  stream reset of the teardown overtakes it). A peer's end of the session stream without a close is a
 *  ProtocolViolation (3) after `peerCloseGrace` (#peerEnded). Spec: gomoqt.md §1.5–§1.8, §4.1.
 *  @module */
import {
  AnnounceError,
  AnnounceErrorCode,
  isMoqtError,
  SessionError,
  SessionErrorCode,
  SubscribeError,
  SubscribeErrorCode,
  GroupErrorCode,
} from "../errors.js";
import type { BiStream, CloseInfo, RecvStream, Transport } from "../transport/transport.js";
import { StreamError, TransportClosedError } from "../transport/stream_error.js";
import {
  AnnounceInit,
  AnnouncePlease,
  BiStreamType,
  Group,
  SessionUpdate,
  Subscribe,
  SubscribeOk,
  UniStreamType,
  Writer,
  appendMessage,
  encodeMessage,
  type Parameters,
  type VarInt,
  WireError,
} from "../wire/index.js";
import { AnnouncementReader } from "../track/announcement_reader.js";
import { AnnouncementWriter } from "../track/announcement_writer.js";
import {
  isValidPath,
  isValidPrefix,
  type BroadcastPath,
  type TrackName,
  type TrackPrefix,
} from "../track/path.js";
import { TrackReader } from "../track/track_reader.js";
import { TrackWriter, type TrackConfig } from "../track/track_writer.js";
import { CONTROL_PRIORITY } from "../track/group_writer.js";
import type { TrackMux } from "../track/track_mux.js";
import type { ResolvedSessionConfig } from "./config.js";
import { toAnnounceError, toSubscribeError } from "./error_map.js";
import { MessageReader } from "./stream_reader.js";
import { AsyncQueue } from "../internal/queue.js";
import { abortable, withTimeout } from "../internal/signal.js";

/** @internal everything setup learned, handed to the Session. */
export interface SessionInit {
  transport: Transport;
  sessionStream: BiStream;
  sessionReader: MessageReader;
  version: number;
  path: string;
  versions: number[];
  clientExtensions: Parameters;
  serverExtensions: Parameters;
  mux: TrackMux;
  config: ResolvedSessionConfig;
}

export interface SessionUpdateEvent {
  readonly bitrate: number;
}

/** @internal test-only: sizes of the session's bookkeeping; every one returns to 0 once the session has closed. */
export interface SessionCounters {
  trackReaders: number;
  trackWriters: number;
  announceWriters: number;
  updateListeners: number;
  /** Streams the peer opened whose type byte and first message have not arrived yet (bidi + uni). */
  unidentifiedStreams: number;
}

/** @internal test-only accessor (not exported from the package entry points). */
export let sessionCounters: (s: Session) => SessionCounters;

export class Session {
  readonly version: number;
  readonly path: string;
  readonly versions: number[];
  readonly clientExtensions: Parameters;
  readonly serverExtensions: Parameters;
  readonly signal: AbortSignal;
  /** Resolves when the session has ended: undefined for a NoError close, else the SessionError. */
  readonly closed: Promise<SessionError | undefined>;
  readonly mux: TrackMux;
  #transport: Transport;
  #sessionStream: BiStream;
  #sessionReader: MessageReader;
  #config: ResolvedSessionConfig;
  #ctrl = new AbortController();
  #nextSubscribeId = 1;
  #trackReaders = new Map<VarInt, TrackReader>();
  #trackWriters = new Map<VarInt, TrackWriter>();
  #announceWriters = new Set<AnnouncementWriter>();
  #remoteBitrate: number | undefined;
  #updateListeners = new Set<AsyncQueue<SessionUpdateEvent>>();
  #localClose: { code: number; reason: string } | undefined;
  /** Peer-opened streams still waiting for their header, per direction; the accept loop waits at the cap. */
  #unidentified = { bi: 0, uni: 0 };
  #slotFreed: { bi: (() => void) | undefined; uni: (() => void) | undefined } = {
    bi: undefined,
    uni: undefined,
  };

  static {
    sessionCounters = (s) => ({
      trackReaders: s.#trackReaders.size,
      trackWriters: s.#trackWriters.size,
      announceWriters: s.#announceWriters.size,
      updateListeners: s.#updateListeners.size,
      unidentifiedStreams: s.#unidentified.bi + s.#unidentified.uni,
    });
  }

  /** @internal created by dialTransport / accept */
  constructor(init: SessionInit) {
    this.#transport = init.transport;
    this.#sessionStream = init.sessionStream;
    this.#sessionReader = init.sessionReader;
    this.version = init.version;
    this.path = init.path;
    this.versions = init.versions;
    this.clientExtensions = init.clientExtensions;
    this.serverExtensions = init.serverExtensions;
    this.mux = init.mux;
    this.#config = init.config;
    this.signal = this.#ctrl.signal;
    this.#sessionStream.send.setPriority(CONTROL_PRIORITY);
    this.closed = init.transport.closed.then((info) => this.#onClosed(info));
    void this.#acceptBiLoop();
    void this.#acceptUniLoop();
    void this.#readUpdates();
    void this.#watchSessionStreamStop();
  }

  /** The transport this session runs on (its stats feed the bitrate monitor). @internal */
  get transport(): Transport {
    return this.#transport;
  }

  /** The last bitrate the peer announced with SESSION_UPDATE (bits per second), if any. */
  get remoteBitrate(): number | undefined {
    return this.#remoteBitrate;
  }

  #onClosed(info: CloseInfo): SessionError | undefined {
    // Our close counts only if the transport says it won: when the peer's close reached the transport first (a
    // close from both sides at once, or our ProtocolViolation just after a close still in flight), report the
    // peer's, as the transport does.
    const local = info.remote ? undefined : this.#localClose;
    // A connection that ended without an application close (idle timeout, stateless reset, transport error) is a
    // failure, never a clean NoError close, whatever number the stack put in `code`.
    const err = local
      ? new SessionError(local.code, false, local.reason || undefined)
      : info.failure
        ? new SessionError(
            SessionErrorCode.Internal,
            info.remote,
            `${info.failure}${info.reason ? `: ${info.reason}` : ""}`,
          )
        : new SessionError(info.code, info.remote, info.reason || undefined);
    if (!this.#ctrl.signal.aborted) this.#ctrl.abort(err);
    this.#cleanup();
    return err.code === SessionErrorCode.NoError ? undefined : err;
  }

  #cleanup(): void {
    for (const q of this.#updateListeners) q.close();
    this.#updateListeners.clear();
    for (const w of this.#announceWriters) this.mux.removeListener(w);
    this.#announceWriters.clear();
    this.#slotFreed.bi?.();
    this.#slotFreed.uni?.();
  }

  /** Close the session with an application code and message (idempotent). Resolves once the transport is closed;
   *  `signal` aborts then, not before: aborting runs the teardown of every subscription, group and announcement,
   *  which resets their streams, and a reset sent while the close is still on its way (a WebTransport close is a
   *  capsule on the CONNECT stream, other streams can overtake it) would reach the peer first and fail its calls
   *  with that stream's code (e.g. SubscribeError 0) instead of this session's code. Once the transport is closed
   *  those resets are no-ops. */
  async closeWithError(code: number, message: string): Promise<void> {
    if (!this.#localClose && !this.#ctrl.signal.aborted) {
      this.#localClose = { code, reason: message };
      try {
        this.#transport.close(code, message);
      } catch (e) {
        this.#localClose = undefined; // e.g. a code outside 0..2^32-1: nothing was closed
        throw e;
      }
    }
    await this.closed;
  }

  /** True from closeWithError (or a local violation) on, before `signal` aborts: a closing session takes no new
   *  streams and no new calls (e.g. a relay closing a session whose token expired serves nothing more). */
  get #closing(): boolean {
    return this.signal.aborted || this.#localClose !== undefined;
  }

  #throwIfClosing(): void {
    this.signal.throwIfAborted();
    const l = this.#localClose;
    if (l) throw new SessionError(l.code, false, l.reason || undefined);
  }

  /** Internal failure or protocol violation detected locally: close the session. */
  #violation(code: number, message: string): void {
    void this.closeWithError(code, message);
  }

  // ---- subscribing side

  /** Subscribe to `name` of broadcast `path`. Resolves on SUBSCRIBE_OK (gomoqt sends it with the first group),
   *  rejects with SubscribeError (the publisher's code, or SubscribeTimeout after `subscribeTimeout`). */
  async subscribe(path: BroadcastPath, name: TrackName, config: TrackConfig = {}): Promise<TrackReader> {
    if (!isValidPath(path))
      throw new TypeError(`moqt: invalid broadcast path ${JSON.stringify(path)} (must start with "/")`);
    const priority = config.trackPriority ?? 0;
    if (!Number.isInteger(priority) || priority < 0 || priority > 255)
      throw new RangeError(`moqt: trackPriority must be 0..255, got ${priority}`);
    this.#throwIfClosing();
    const id = this.#nextSubscribeId++;
    let stream: BiStream;
    try {
      stream = await this.#transport.openBi();
    } catch (e) {
      throw this.#sessionErrorOr(e, toSubscribeError);
    }
    stream.send.setPriority(CONTROL_PRIORITY);
    const tr = new TrackReader(
      stream,
      id,
      path,
      name,
      { trackPriority: priority },
      {
        sessionSignal: this.signal,
        maxQueuedGroups: this.#config.maxQueuedGroups,
        maxFrameBytes: this.#config.maxFrameBytes,
        endLinger: this.#config.endLinger,
        onClosed: (x) => {
          if (this.#trackReaders.get(id) === x) this.#trackReaders.delete(id);
        },
      },
    );
    this.#trackReaders.set(id, tr);
    const reader = new MessageReader(stream.recv);
    try {
      const msg = appendMessage(new Writer(64).u8(BiStreamType.Subscribe), Subscribe, {
        subscribeId: id,
        broadcastPath: path,
        trackName: name,
        trackPriority: priority,
      }).bytes();
      await stream.send.write(msg);
      const ok = await withTimeout(
        abortable(reader.readMessage(SubscribeOk, this.#config.maxMessageBytes), this.signal),
        this.#config.subscribeTimeout,
        () =>
          new SubscribeError(
            SubscribeErrorCode.SubscribeTimeout,
            false,
            `no SUBSCRIBE_OK within ${this.#config.subscribeTimeout} ms`,
          ),
      );
      if (ok === null)
        throw new SubscribeError(
          SubscribeErrorCode.Internal,
          true,
          "publisher ended the subscription before SUBSCRIBE_OK",
        );
    } catch (e) {
      const err = this.#sessionErrorOr(e, toSubscribeError);
      if (!err.remote && !(err instanceof SessionError)) {
        stream.send.reset(err.code);
        stream.recv.stop(err.code);
      }
      await tr
        .closeWithError(err instanceof SessionError ? SubscribeErrorCode.Internal : err.code)
        .catch(() => {});
      this.#trackReaders.delete(id);
      throw err;
    }
    void tr.watch(reader);
    return tr;
  }

  /** Ask the peer for broadcasts under `prefix` ("/" or "/a/b/"). Resolves after ANNOUNCE_INIT. */
  async acceptAnnounce(prefix: TrackPrefix): Promise<AnnouncementReader> {
    if (!isValidPrefix(prefix))
      throw new AnnounceError(
        AnnounceErrorCode.InvalidPrefix,
        false,
        `invalid prefix ${JSON.stringify(prefix)} (must be "/" or start and end with "/")`,
      );
    this.#throwIfClosing();
    let stream: BiStream;
    try {
      stream = await this.#transport.openBi();
    } catch (e) {
      throw this.#sessionErrorOr(e, toAnnounceError);
    }
    stream.send.setPriority(CONTROL_PRIORITY);
    const reader = new MessageReader(stream.recv);
    try {
      await stream.send.write(
        appendMessage(new Writer(32).u8(BiStreamType.Announce), AnnouncePlease, { prefix }).bytes(),
      );
      const init = await withTimeout(
        abortable(reader.readMessage(AnnounceInit, this.#config.maxMessageBytes), this.signal),
        this.#config.announceInitTimeout,
        () =>
          new AnnounceError(
            AnnounceErrorCode.Internal,
            false,
            `no ANNOUNCE_INIT within ${this.#config.announceInitTimeout} ms`,
          ),
      );
      if (init === null)
        throw new AnnounceError(
          AnnounceErrorCode.Internal,
          true,
          "announce stream ended before ANNOUNCE_INIT",
        );
      return new AnnouncementReader(stream, reader, prefix, init.suffixes, {
        sessionSignal: this.signal,
        maxMessageBytes: this.#config.maxMessageBytes,
        maxAnnouncements: this.#config.maxAnnouncements,
      });
    } catch (e) {
      const err = this.#sessionErrorOr(e, toAnnounceError);
      if (!err.remote && !(err instanceof SessionError)) {
        stream.send.reset(err.code);
        stream.recv.stop(err.code);
      }
      throw err;
    }
  }

  /** Map an error; once the session is over, its SessionError wins over stream-level noise. */
  #sessionErrorOr(
    e: unknown,
    map: (e: unknown) => ReturnType<typeof toSubscribeError>,
  ): ReturnType<typeof toSubscribeError> {
    if (this.signal.aborted && !(isMoqtError(e) && e === this.signal.reason)) {
      const r: unknown = this.signal.reason;
      if (r instanceof SessionError) return r;
    }
    if (e instanceof TransportClosedError) return new SessionError(e.code, e.remote, e.reason || undefined);
    return map(e);
  }

  // ---- session stream

  /** Each SESSION_UPDATE from the peer. Ends with the session. */
  async *updated(): AsyncGenerator<SessionUpdateEvent, void, undefined> {
    if (this.signal.aborted) return;
    const q = new AsyncQueue<SessionUpdateEvent>(64);
    this.#updateListeners.add(q);
    try {
      for (;;) {
        const u = await q.next();
        if (u === undefined) return;
        yield u;
      }
    } finally {
      this.#updateListeners.delete(q);
    }
  }

  /** Send SESSION_UPDATE with our bitrate estimate (bits per second). Used by the bitrate monitor. */
  async updateBitrate(bitrate: number): Promise<void> {
    this.#throwIfClosing();
    try {
      await this.#sessionStream.send.write(
        encodeMessage(SessionUpdate, { bitrate: Math.max(0, Math.round(bitrate)) }),
      );
    } catch (e) {
      // The session stream is gone (stopped by the peer, or the session is closing): a session-level failure.
      throw this.#sessionErrorOr(
        e,
        (x) =>
          new SessionError(SessionErrorCode.ProtocolViolation, true, "session stream stopped by the peer", {
            cause: x,
          }),
      );
    }
  }

  async #readUpdates(): Promise<void> {
    let why: string;
    try {
      for (;;) {
        const u = await this.#sessionReader.readMessage(SessionUpdate, this.#config.maxMessageBytes);
        if (u === null) break;
        this.#remoteBitrate = u.bitrate;
        for (const q of this.#updateListeners) q.pushDropOldest(u);
      }
      why = "session stream ended";
    } catch (e) {
      if (this.signal.aborted) return;
      // The transport is closed: not the peer's doing on this stream, and `closed` reports how the session ended.
      if (e instanceof TransportClosedError) return;
      if (e instanceof StreamError && !e.remote) return; // we stopped it ourselves (only while closing)
      if (WireError.is(e)) {
        // Bad bytes are the peer's fault whatever comes next.
        this.#violation(SessionErrorCode.ProtocolViolation, "bad SESSION_UPDATE");
        return;
      }
      // A peer's reset, or an error the stack did not classify (a W3C stack's session-sourced error can come just
      // before `closed` resolves, which the wait below absorbs).
      why =
        e instanceof StreamError
          ? `session stream reset (${e.code})`
          : `session stream failed${e instanceof Error ? `: ${e.message}` : ""}`;
    }
    // FIN or RESET_STREAM from the peer: see #peerEnded.
    if (await this.#peerEnded()) this.#violation(SessionErrorCode.ProtocolViolation, why);
  }

  /** STOP_SENDING on the session stream ends the session with ProtocolViolation (3), as gomoqt does when the
   *  session stream's context ends (gomoqt.md §1.5 step 6). */
  async #watchSessionStreamStop(): Promise<void> {
    const code = await this.#sessionStream.send.stopped;
    if (code === undefined) return;
    if (await this.#peerEnded())
      this.#violation(SessionErrorCode.ProtocolViolation, `session stream stopped by the peer (${code})`);
  }

  /** The peer ended the session stream (FIN, RESET_STREAM or STOP_SENDING on it). That is a protocol violation —
   *  unless the peer is closing the session, because a closing peer may end its streams first: webtransport-go resets
   *  every stream of a closing session (WT_SESSION_GONE, which arrives here as a reset with a code outside the
   *  application space, i.e. 0), a peer library may FIN or reset its streams on the way out. The close itself
   *  (CONNECTION_CLOSE, or the CLOSE_WEBTRANSPORT_SESSION capsule on the CONNECT stream) travels on no stream or on
   *  another one, and QUIC orders nothing across streams, so it can be processed after the stream's end even when it
   *  was sent before it. There is no event that says "no close is coming", so this waits for the transport's
   *  `closed` for a bounded time: `peerCloseGrace` (default 20 ms), or about one loss-recovery round (3 × smoothed
   *  RTT, at most 1 s) where the transport measures a longer one. Resolves true when the session is still open
   *  afterwards (judge it a violation).
   *
   *  Failures *caused* by the close need no wait: the native adapter reports them as TransportClosedError after
   *  `closed` resolved, and #readUpdates does not judge those. (The W3C adapter may report a session-sourced error
   *  a few microtasks before its `closed` resolves; that goes through here and ends as soon as `closed` does.) */
  async #peerEnded(): Promise<boolean> {
    if (this.signal.aborted) return false;
    const rtt = this.#transport.stats?.()?.rttMs;
    const ms = Math.max(
      this.#config.peerCloseGrace,
      Math.min(1000, rtt !== undefined && rtt > 0 ? 3 * rtt : 0),
    );
    let t: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.#transport.closed, new Promise((r) => (t = setTimeout(r, ms)))]);
    clearTimeout(t);
    // `closed` settles Session.closed's reaction first (registered in the constructor), so the signal is set now.
    return !this.signal.aborted && !this.#localClose;
  }

  // ---- incoming streams

  // One call per stream: a stream held in a loop variable would stay referenced by the suspended loop frame (and so
  // alive) until the next stream arrives.
  async #acceptBiLoop(): Promise<void> {
    while (await this.#acceptBiOne());
  }

  async #acceptBiOne(): Promise<boolean> {
    await this.#freeSlot("bi");
    const s = await this.#transport.acceptBi().catch(() => null);
    if (s === null || this.#closing) return false; // a stream left unaccepted ends with the transport's close
    void this.#handleBi(s, this.#claim("bi"));
    return true;
  }

  async #acceptUniLoop(): Promise<void> {
    while (await this.#acceptUniOne());
  }

  async #acceptUniOne(): Promise<boolean> {
    await this.#freeSlot("uni");
    const s = await this.#transport.acceptUni().catch(() => null);
    if (s === null || this.#closing) return false; // a stream left unaccepted ends with the transport's close
    void this.#handleUni(s, this.#claim("uni"));
    return true;
  }

  /** Wait while `maxPendingStreams` peer streams of this direction are still waiting for their header. */
  async #freeSlot(kind: "bi" | "uni"): Promise<void> {
    while (this.#unidentified[kind] >= this.#config.maxPendingStreams && !this.signal.aborted)
      await new Promise<void>((r) => (this.#slotFreed[kind] = r));
  }

  /** Count a stream as unidentified; the returned function (idempotent) ends that once its header is in. */
  #claim(kind: "bi" | "uni"): () => void {
    this.#unidentified[kind]++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#unidentified[kind]--;
      const wake = this.#slotFreed[kind];
      this.#slotFreed[kind] = undefined;
      wake?.();
    };
  }

  #header<T>(p: Promise<T>): Promise<T> {
    return withTimeout(
      abortable(p, this.signal),
      this.#config.streamHeaderTimeout,
      () => new Error("stream header timeout"),
    );
  }

  async #handleBi(s: BiStream, identified: () => void): Promise<void> {
    try {
      await this.#routeBi(s, identified);
    } finally {
      identified();
    }
  }

  async #routeBi(s: BiStream, identified: () => void): Promise<void> {
    s.send.setPriority(CONTROL_PRIORITY);
    const reader = new MessageReader(s.recv);
    let type: number | null;
    try {
      type = await this.#header(reader.readByte());
    } catch {
      s.send.reset(0);
      s.recv.stop(0);
      return;
    }
    if (type === null) {
      s.send.reset(0);
      return;
    }
    switch (type) {
      case BiStreamType.Subscribe:
        return this.#handleSubscribe(s, reader, identified);
      case BiStreamType.Announce:
        return this.#handleAnnouncePlease(s, reader, identified);
      default:
        this.#violation(SessionErrorCode.ProtocolViolation, `unexpected bidirectional stream type ${type}`);
    }
  }

  async #handleSubscribe(s: BiStream, reader: MessageReader, identified: () => void): Promise<void> {
    let m;
    try {
      m = await this.#header(reader.readMessage(Subscribe, this.#config.maxMessageBytes));
    } catch {
      m = undefined;
    }
    identified();
    if (!m) {
      s.send.reset(SubscribeErrorCode.Internal);
      s.recv.stop(SubscribeErrorCode.Internal);
      return;
    }
    if (this.#trackWriters.has(m.subscribeId)) {
      s.send.reset(SubscribeErrorCode.DuplicateSubscribeID);
      s.recv.stop(SubscribeErrorCode.DuplicateSubscribeID);
      return;
    }
    if (this.#trackWriters.size >= this.#config.maxIncomingSubscriptions) {
      this.#violation(
        SessionErrorCode.TooManySubscribe,
        `more than ${this.#config.maxIncomingSubscriptions} subscriptions`,
      );
      return;
    }
    const id = m.subscribeId;
    const tw = new TrackWriter(s, reader, m, {
      openUni: () => this.#transport.openUni(),
      sessionSignal: this.signal,
      maxMessageBytes: this.#config.maxMessageBytes,
      onClosed: (x) => {
        if (this.#trackWriters.get(id) === x) this.#trackWriters.delete(id);
      },
    });
    this.#trackWriters.set(id, tw);
    await this.mux.serveTrack(tw);
  }

  async #handleAnnouncePlease(s: BiStream, reader: MessageReader, identified: () => void): Promise<void> {
    let m;
    try {
      m = await this.#header(reader.readMessage(AnnouncePlease, this.#config.maxMessageBytes));
    } catch {
      m = undefined;
    }
    identified();
    if (!m) {
      s.send.reset(AnnounceErrorCode.Internal);
      s.recv.stop(AnnounceErrorCode.Internal);
      return;
    }
    if (!isValidPrefix(m.prefix)) {
      // gomoqt panics here (gomoqt.md §7.1); we answer with the code meant for it.
      s.send.reset(AnnounceErrorCode.InvalidPrefix);
      s.recv.stop(AnnounceErrorCode.InvalidPrefix);
      return;
    }
    if (this.#announceWriters.size >= this.#config.maxAnnounceListeners) {
      s.send.reset(AnnounceErrorCode.Internal);
      s.recv.stop(AnnounceErrorCode.Internal);
      return;
    }
    const w = new AnnouncementWriter(s, m.prefix, this.#config.maxPendingAnnouncements, (x) => {
      this.mux.removeListener(x);
      this.#announceWriters.delete(x);
    });
    this.#announceWriters.add(w);
    this.mux.serveAnnouncements(w);
    // Watch the requester: FIN ends the listener; data or a reset drops it.
    try {
      const b = await abortable(reader.readByte(), this.signal);
      if (b === null) await w.close();
      else w.closeWithError(AnnounceErrorCode.Internal);
    } catch {
      w.closeWithError(AnnounceErrorCode.Internal);
    }
  }

  async #handleUni(recv: RecvStream, identified: () => void): Promise<void> {
    try {
      await this.#routeUni(recv);
    } finally {
      identified();
    }
  }

  async #routeUni(recv: RecvStream): Promise<void> {
    const reader = new MessageReader(recv);
    let type: number | null;
    try {
      type = await this.#header(reader.readByte());
    } catch {
      recv.stop(GroupErrorCode.Internal);
      return;
    }
    if (type === null) return;
    if (type !== UniStreamType.Group) {
      this.#violation(SessionErrorCode.ProtocolViolation, `unexpected unidirectional stream type ${type}`);
      return;
    }
    let g;
    try {
      g = await this.#header(reader.readMessage(Group, this.#config.maxMessageBytes));
    } catch {
      g = undefined;
    }
    if (!g) {
      recv.stop(GroupErrorCode.Internal);
      return;
    }
    const tr = this.#trackReaders.get(g.subscribeId);
    if (!tr) {
      recv.stop(GroupErrorCode.InvalidSubscribeID);
      return;
    }
    tr.enqueue(reader, g.groupSequence);
  }
}
