/** TrackReader: the subscriber's side of one subscription; hands out incoming groups in arrival order.
 *
 *  Groups that arrive before SUBSCRIBE_OK are queued. At most `maxQueuedGroups` wait to be accepted; on overflow the
 *  oldest is cancelled with ExpiredGroup (3) so a slow consumer skips ahead instead of growing memory. The publisher's
 *  FIN ends the subscription cleanly (after a short linger for groups still in flight): iteration ends, acceptGroup
 *  rejects with TrackEndedError; its reset fails it with its code.
 *  Spec: gomoqt.md §1.7, §1.8, §2.7.
 *  @module */
import { GroupErrorCode, SubscribeError, SubscribeErrorCode, TrackEndedError } from "../errors.js";
import type { BiStream } from "../transport/transport.js";
import { toSubscribeError } from "../session/error_map.js";
import type { MessageReader } from "../session/stream_reader.js";
import { encodeMessage, SubscribeUpdate, type VarInt } from "../wire/index.js";
import { GroupReader } from "./group_reader.js";
import type { BroadcastPath, TrackName } from "./path.js";
import type { TrackConfig } from "./track_writer.js";
import { AsyncQueue } from "../internal/queue.js";
import { abortable, follow } from "../internal/signal.js";

/** @internal */
export interface TrackReaderDeps {
  sessionSignal: AbortSignal;
  maxQueuedGroups: number;
  maxFrameBytes: number;
  endLinger: number;
  onClosed(tr: TrackReader): void;
}

export class TrackReader implements AsyncIterable<GroupReader> {
  readonly broadcastPath: BroadcastPath;
  readonly trackName: TrackName;
  readonly subscribeId: VarInt;
  readonly signal: AbortSignal;
  #config: TrackConfig;
  #stream: BiStream;
  #deps: TrackReaderDeps;
  #ctrl = new AbortController();
  #queue: AsyncQueue<GroupReader>;
  #accepted = new Set<GroupReader>();
  #ending = false;
  #closed = false;

  /** @internal created by Session.subscribe */
  constructor(
    stream: BiStream,
    id: VarInt,
    path: BroadcastPath,
    name: TrackName,
    config: TrackConfig,
    deps: TrackReaderDeps,
  ) {
    this.#stream = stream;
    this.#deps = deps;
    this.subscribeId = id;
    this.broadcastPath = path;
    this.trackName = name;
    this.#config = { trackPriority: config.trackPriority ?? 0 };
    this.#queue = new AsyncQueue<GroupReader>();
    // Not AbortSignal.any: on Node 20 a composite lives (with this object) as long as the session signal.
    this.signal = this.#ctrl.signal;
    follow(this.#ctrl, deps.sessionSignal);
    this.signal.addEventListener("abort", () => this.#teardown(this.signal.reason), { once: true });
  }

  get trackConfig(): TrackConfig {
    return { ...this.#config };
  }

  /** @internal watch the subscribe stream after SUBSCRIBE_OK: FIN ends, reset fails the subscription. */
  async watch(reader: MessageReader): Promise<void> {
    try {
      const b = await reader.readByte();
      if (b !== null)
        throw new SubscribeError(SubscribeErrorCode.Internal, false, "unexpected data after SUBSCRIBE_OK");
      this.#endGracefully();
    } catch (e) {
      if (this.#closed) return;
      const err = toSubscribeError(e);
      if (!err.remote) {
        this.#stream.send.reset(err.code);
        this.#cancelGroups();
      } else {
        // The publisher aborted: groups not yet accepted are dropped so acceptGroup fails now; accepted ones end
        // with the publisher's own group resets (PublishAborted).
        for (const g of this.#queue.drain()) g.cancelRead(GroupErrorCode.SubscribeCanceled);
      }
      this.#fail(err);
    }
  }

  /** @internal a group stream arrived for this subscription. */
  enqueue(reader: MessageReader, seq: VarInt): void {
    if (this.#closed || this.signal.aborted) {
      reader.stream.stop(GroupErrorCode.SubscribeCanceled);
      return;
    }
    // Groups hang off the session, not this track's signal: a graceful end (publisher FIN, then linger) or a
    // publisher reset must not cut off groups already received. Local close/closeWithError cancel them explicitly.
    const g = new GroupReader(reader, seq, this.#deps.maxFrameBytes, this.#deps.sessionSignal, (x) =>
      this.#accepted.delete(x),
    );
    if (this.#queue.size >= this.#deps.maxQueuedGroups)
      this.#queue.shift()?.cancelRead(GroupErrorCode.ExpiredGroup);
    this.#queue.push(g);
  }

  /** The publisher ended the track: accept groups still in flight for `endLinger` ms, then end. */
  #endGracefully(): void {
    if (this.#ending || this.signal.aborted) return;
    this.#ending = true;
    const t = setTimeout(() => this.#fail(new TrackEndedError(), true), this.#deps.endLinger);
    this.signal.addEventListener("abort", () => clearTimeout(t), { once: true });
  }

  #fail(err: Error, graceful = false): void {
    if (this.#ctrl.signal.aborted) return;
    if (graceful) this.#queue.close();
    else this.#queue.close(err);
    this.#ctrl.abort(err);
  }

  #teardown(reason: unknown): void {
    if (!this.#queue.closed) this.#queue.close(reason);
    this.#deps.onClosed(this);
  }

  /** The next group, in arrival order. Rejects once the subscription is over: with TrackEndedError (a SubscribeError)
   *  when the publisher ended the track cleanly, else with the SubscribeError/SessionError that ended it. */
  async acceptGroup(signal?: AbortSignal): Promise<GroupReader> {
    const p = this.#queue.next();
    let g: GroupReader | undefined;
    try {
      g = await abortable(p, signal);
    } catch (e) {
      this.#queue.cancelWaiter(p);
      throw e;
    }
    if (g === undefined) throw this.signal.reason ?? new TrackEndedError();
    this.#accepted.add(g);
    return g;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<GroupReader, void, undefined> {
    for (;;) {
      const g = await this.#queue.next();
      if (g === undefined) return;
      this.#accepted.add(g);
      yield g;
    }
  }

  /** Send SUBSCRIBE_UPDATE with a new priority. */
  async update(config: TrackConfig): Promise<void> {
    this.signal.throwIfAborted();
    const p = config.trackPriority ?? 0;
    if (!Number.isInteger(p) || p < 0 || p > 255)
      throw new RangeError(`moqt: trackPriority must be 0..255, got ${p}`);
    try {
      await this.#stream.send.write(encodeMessage(SubscribeUpdate, { trackPriority: p }));
    } catch (e) {
      throw toSubscribeError(e);
    }
    this.#config = { trackPriority: p };
  }

  #cancelGroups(): void {
    for (const g of this.#queue.drain()) g.cancelRead(GroupErrorCode.SubscribeCanceled);
    for (const g of [...this.#accepted]) g.cancelRead(GroupErrorCode.SubscribeCanceled);
  }

  /** Unsubscribe: STOP_SENDING(SubscribeCanceled) on queued and accepted groups, then FIN the subscribe stream. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelGroups();
    const err = new SubscribeError(SubscribeErrorCode.Internal, false, "subscription closed");
    this.#fail(err, true);
    try {
      await this.#stream.send.finish();
    } catch {
      // already gone
    }
  }

  /** Abort the subscription: reset and stop the subscribe stream with `code`; groups are cancelled. */
  async closeWithError(code: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelGroups();
    this.#stream.send.reset(code);
    this.#stream.recv.stop(code);
    this.#fail(new SubscribeError(code, false, "subscription closed with error"));
  }
}
