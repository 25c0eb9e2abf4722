/** AnnouncementReader: the requester's side of an announce stream; yields broadcasts as they become active.
 *
 *  Built after ANNOUNCE_INIT (its suffixes are the first announcements). Then ANNOUNCE messages: ACTIVE for an active
 *  suffix or ENDED for an unknown one → Duplicated (1); an unknown status → InvalidAnnounceStatus (2). The responder's
 *  FIN ends every announcement and the reader. Spec: gomoqt.md §1.6, §2.6.
 *  @module */
import { AnnounceError, AnnounceErrorCode } from "../errors.js";
import type { BiStream } from "../transport/transport.js";
import { toAnnounceError } from "../session/error_map.js";
import type { MessageReader } from "../session/stream_reader.js";
import { Announce, AnnounceStatus, WireError } from "../wire/index.js";
import { Announcement } from "./announcement.js";
import type { TrackPrefix } from "./path.js";
import { AsyncQueue } from "../internal/queue.js";
import { abortable, follow } from "../internal/signal.js";

/** @internal */
export interface AnnouncementReaderDeps {
  sessionSignal: AbortSignal;
  maxMessageBytes: number;
  maxAnnouncements: number;
}

export class AnnouncementReader implements AsyncIterable<Announcement> {
  readonly prefix: TrackPrefix;
  readonly signal: AbortSignal;
  #stream: BiStream;
  #reader: MessageReader;
  #deps: AnnouncementReaderDeps;
  #ctrl = new AbortController();
  #active = new Map<string, Announcement>();
  #queue = new AsyncQueue<Announcement>();
  #closed = false;

  /** @internal created by Session.acceptAnnounce after ANNOUNCE_INIT */
  constructor(
    stream: BiStream,
    reader: MessageReader,
    prefix: TrackPrefix,
    initial: readonly string[],
    deps: AnnouncementReaderDeps,
  ) {
    this.#stream = stream;
    this.#reader = reader;
    this.prefix = prefix;
    this.#deps = deps;
    // Not AbortSignal.any: on Node 20 a composite lives (with this object) as long as the session signal.
    this.signal = this.#ctrl.signal;
    follow(this.#ctrl, deps.sessionSignal);
    this.signal.addEventListener("abort", () => this.#teardown(this.signal.reason), { once: true });
    for (const s of initial) this.#activate(s);
    void this.#run();
  }

  #activate(suffix: string): void {
    if (this.#active.has(suffix))
      throw new AnnounceError(AnnounceErrorCode.Duplicated, false, `duplicate announcement ${suffix}`);
    if (this.#active.size >= this.#deps.maxAnnouncements || this.#queue.size >= this.#deps.maxAnnouncements)
      throw new AnnounceError(AnnounceErrorCode.Internal, false, "too many announcements");
    const path = this.prefix + suffix;
    let ann: Announcement;
    try {
      ann = new Announcement(path);
    } catch {
      throw new AnnounceError(
        AnnounceErrorCode.InvalidPrefix,
        false,
        `invalid broadcast path ${JSON.stringify(path)}`,
      );
    }
    this.#active.set(suffix, ann);
    this.#queue.push(ann);
  }

  async #run(): Promise<void> {
    try {
      for (;;) {
        const m = await this.#reader.readMessage(Announce, this.#deps.maxMessageBytes);
        if (m === null) break;
        if (m.status === AnnounceStatus.Active) this.#activate(m.suffix);
        else {
          const a = this.#active.get(m.suffix);
          if (!a)
            throw new AnnounceError(
              AnnounceErrorCode.Duplicated,
              false,
              `ENDED for unknown suffix ${m.suffix}`,
            );
          this.#active.delete(m.suffix);
          a.end();
        }
      }
      // Responder FIN: every announcement ends, and so does the reader.
      this.#finish(undefined);
    } catch (e) {
      if (this.#closed) return;
      let err: AnnounceError;
      if (WireError.is(e) && e.kind === "invalid-value")
        err = new AnnounceError(AnnounceErrorCode.InvalidAnnounceStatus, false, e.message);
      else err = toAnnounceError(e) as AnnounceError;
      if (!err.remote) {
        this.#stream.send.reset(err.code);
        this.#stream.recv.stop(err.code);
      }
      this.#finish(err);
    }
  }

  #finish(err: Error | undefined): void {
    if (this.#ctrl.signal.aborted) return;
    this.#queue.close(err);
    this.#ctrl.abort(err ?? new AnnounceError(AnnounceErrorCode.Internal, true, "announce stream ended"));
  }

  #teardown(reason: unknown): void {
    if (!this.#queue.closed) this.#queue.close(reason);
    for (const a of this.#active.values()) a.end();
    this.#active.clear();
  }

  /** The next newly active announcement (FIFO). Rejects with AnnounceError/SessionError once the stream is over. */
  async receiveAnnouncement(signal?: AbortSignal): Promise<Announcement> {
    const p = this.#queue.next();
    let a: Announcement | undefined;
    try {
      a = await abortable(p, signal);
    } catch (e) {
      this.#queue.cancelWaiter(p);
      throw e;
    }
    if (a === undefined)
      throw (
        this.signal.reason ?? new AnnounceError(AnnounceErrorCode.Internal, true, "announce stream ended")
      );
    return a;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Announcement, void, undefined> {
    for (;;) {
      const a = await this.#queue.next();
      if (a === undefined) return;
      yield a;
    }
  }

  /** Stop listening: FIN the announce stream; announcements from it end. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#finish(undefined);
    try {
      await this.#stream.send.finish();
    } catch {
      // already gone
    }
    this.#stream.recv.stop(AnnounceErrorCode.Internal);
  }

  /** Abort: reset and stop the announce stream with `code`. */
  async closeWithError(code: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stream.send.reset(code);
    this.#stream.recv.stop(code);
    this.#finish(new AnnounceError(code, false, "announcement reader closed with error"));
  }
}
