/** TrackWriter: the publisher's side of one incoming subscription; opens groups for the subscriber.
 *
 *  SUBSCRIBE_OK is lazy like gomoqt (sent by the first `openGroup` or by `writeInfo`). `signal` aborts when the
 *  subscriber resets the subscribe stream (SubscribeError with its code), when it ends it gracefully (FIN —
 *  gomoqt misses this), or with the session. `close()` FINs open groups and the stream; `closeWithError(code)`
 *  resets open groups with PublishAborted (5) and the stream with `code`. Spec: gomoqt.md §1.7, §1.8, §2.7.
 *  @module */
import { follow } from "../internal/signal.js";
import { GroupErrorCode, SubscribeError, SubscribeErrorCode } from "../errors.js";
import type { BiStream, SendStream } from "../transport/transport.js";
import { toSubscribeError } from "../session/error_map.js";
import type { MessageReader } from "../session/stream_reader.js";
import {
  encodeMessage,
  Group,
  SubscribeOk,
  SubscribeUpdate,
  UniStreamType,
  Writer,
  appendMessage,
  type VarInt,
} from "../wire/index.js";
import { GroupWriter, groupPriority, type GroupSequence } from "./group_writer.js";
import type { BroadcastPath, TrackName } from "./path.js";
import { AsyncQueue } from "../internal/queue.js";

export interface TrackConfig {
  /** 0..255; higher is more important. */
  trackPriority?: number;
}

/** Placeholder carried by SUBSCRIBE_OK (empty in gomoqt's Development protocol). */
export type Info = Record<string, never>;

/** @internal what a TrackWriter needs from its session */
export interface TrackWriterDeps {
  openUni(): Promise<SendStream>;
  sessionSignal: AbortSignal;
  maxMessageBytes: number;
  onClosed(tw: TrackWriter): void;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
function nextOf(s: GroupSequence): GroupSequence {
  if (typeof s === "number" && s < MAX_SAFE) return s + 1;
  return BigInt(s) + 1n;
}

export class TrackWriter {
  readonly broadcastPath: BroadcastPath;
  readonly trackName: TrackName;
  readonly subscribeId: VarInt;
  readonly signal: AbortSignal;
  #config: TrackConfig;
  #stream: BiStream;
  #reader: MessageReader;
  #deps: TrackWriterDeps;
  #ctrl = new AbortController();
  #okSent: Promise<void> | undefined;
  #next: GroupSequence = 0;
  #groups = new Set<GroupWriter>();
  #closed = false;
  #updateListeners = new Set<AsyncQueue<TrackConfig>>();

  /** @internal created by the session for each incoming SUBSCRIBE */
  constructor(
    stream: BiStream,
    reader: MessageReader,
    m: { subscribeId: VarInt; broadcastPath: string; trackName: string; trackPriority: number },
    deps: TrackWriterDeps,
  ) {
    this.#stream = stream;
    this.#reader = reader;
    this.#deps = deps;
    this.subscribeId = m.subscribeId;
    this.broadcastPath = m.broadcastPath;
    this.trackName = m.trackName;
    this.#config = { trackPriority: m.trackPriority };
    // Not AbortSignal.any: on Node 20 a composite lives (with this object) as long as the session signal.
    this.signal = this.#ctrl.signal;
    follow(this.#ctrl, deps.sessionSignal);
    this.signal.addEventListener("abort", () => this.#teardown(this.signal.reason), { once: true });
    void this.#readUpdates();
  }

  get trackConfig(): TrackConfig {
    return { ...this.#config };
  }

  async #readUpdates(): Promise<void> {
    try {
      for (;;) {
        const u = await this.#reader.readMessage(SubscribeUpdate, this.#deps.maxMessageBytes);
        if (u === null) break;
        this.#config = { trackPriority: u.trackPriority };
        for (const g of this.#groups) g.setTrackPriority(u.trackPriority);
        for (const q of this.#updateListeners) q.pushDropOldest(this.trackConfig);
      }
      // FIN from the subscriber: the subscription is over; end our side gracefully too.
      const reason = new SubscribeError(
        SubscribeErrorCode.Internal,
        true,
        "subscriber ended the subscription",
      );
      await this.#end(reason);
    } catch (e) {
      if (this.#closed) return;
      const err = toSubscribeError(e);
      this.#abort(err, err.remote === false);
    }
  }

  /** Abort the subscription: reset the stream if `resetStream`, cancel groups. */
  #abort(err: Error, resetStream: boolean): void {
    if (resetStream && !this.#closed) {
      const code = err instanceof SubscribeError ? err.code : SubscribeErrorCode.Internal;
      this.#stream.send.reset(code);
      this.#stream.recv.stop(code);
    }
    if (!this.#ctrl.signal.aborted) this.#ctrl.abort(err);
  }

  #teardown(_reason: unknown): void {
    for (const g of this.#groups) g.cancelWrite(GroupErrorCode.PublishAborted);
    this.#groups.clear();
    for (const q of this.#updateListeners) q.close();
    if (!this.#closed) {
      this.#closed = true;
      // The subscriber went away or the session ended: make sure our side of the stream is closed too.
      this.#stream.send.reset(SubscribeErrorCode.Internal);
      this.#deps.onClosed(this);
    }
  }

  /** Send SUBSCRIBE_OK if not yet sent. */
  writeInfo(_info?: Info): Promise<void> {
    this.#okSent ??= this.#stream.send.write(encodeMessage(SubscribeOk, {})).catch((e: unknown) => {
      throw toSubscribeError(e);
    });
    return this.#okSent;
  }

  /** Open the next group (auto-sequence from 0, like gomoqt) or group `seq`; sends SUBSCRIBE_OK first if needed. */
  async openGroup(seq?: GroupSequence): Promise<GroupWriter> {
    this.signal.throwIfAborted();
    if (this.#closed) throw new SubscribeError(SubscribeErrorCode.Internal, false, "track writer is closed");
    let s: GroupSequence;
    if (seq === undefined) {
      s = this.#next;
      this.#next = nextOf(s);
    } else {
      s = seq;
      if (s >= this.#next) this.#next = nextOf(s);
    }
    await this.writeInfo();
    let stream: SendStream;
    try {
      stream = await this.#deps.openUni();
    } catch (e) {
      throw toSubscribeError(e);
    }
    if (this.signal.aborted) {
      stream.reset(GroupErrorCode.PublishAborted);
      throw this.signal.reason;
    }
    stream.setPriority(groupPriority(this.#config.trackPriority ?? 0, s));
    const header = appendMessage(new Writer(16).u8(UniStreamType.Group), Group, {
      subscribeId: this.subscribeId,
      groupSequence: s,
    }).bytes();
    // The header leaves with the group's first frame (one transport write per subscriber at a group start, where a
    // fan-out's tail latency is), or alone once idle; a failure to send it fails the group's first write or close.
    const g = new GroupWriter(stream, header, s, this.signal, (x) => this.#groups.delete(x));
    this.#groups.add(g);
    return g;
  }

  /** Each SUBSCRIBE_UPDATE from the subscriber (the new config); ends with the subscription. */
  async *updated(): AsyncGenerator<TrackConfig, void, undefined> {
    const q = new AsyncQueue<TrackConfig>(16);
    if (this.signal.aborted) return;
    this.#updateListeners.add(q);
    try {
      for (;;) {
        const c = await q.next();
        if (c === undefined) return;
        yield c;
      }
    } finally {
      this.#updateListeners.delete(q);
    }
  }

  /** End the subscription gracefully: FIN open groups, then FIN the subscribe stream. */
  close(): Promise<void> {
    return this.#end(new SubscribeError(SubscribeErrorCode.Internal, false, "track writer closed"));
  }

  async #end(reason: SubscribeError): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const groups = [...this.#groups];
    this.#groups.clear();
    await Promise.allSettled(groups.map((g) => g.close()));
    try {
      await this.#stream.send.finish();
    } catch {
      // the stream is already gone; nothing left to end
    }
    this.#deps.onClosed(this);
    if (!this.#ctrl.signal.aborted) this.#ctrl.abort(reason);
    for (const g of groups) g.trackEnded(this.#ctrl.signal.reason);
  }

  /** Abort the subscription: open groups reset with PublishAborted (5), the stream reset/stopped with `code`. */
  async closeWithError(code: number): Promise<void> {
    if (this.#closed) return;
    for (const g of this.#groups) g.cancelWrite(GroupErrorCode.PublishAborted);
    this.#groups.clear();
    this.#stream.send.reset(code);
    this.#stream.recv.stop(code);
    this.#closed = true;
    this.#deps.onClosed(this);
    if (!this.#ctrl.signal.aborted)
      this.#ctrl.abort(new SubscribeError(code, false, "track writer closed with error"));
  }
}
