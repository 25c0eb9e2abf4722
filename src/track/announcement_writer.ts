/** AnnouncementWriter: the responder's side of an announce stream; sends ANNOUNCE_INIT then ACTIVE/ENDED.
 *
 *  Driven by TrackMux. Messages go through a bounded queue written in order; a listener that falls
 *  `maxPending` messages behind is dropped with AnnounceError Internal (0) instead of blocking the publisher or
 *  growing memory. Closing sends ENDED for every active suffix, then FIN. Spec: gomoqt.md §1.6, §4.3.
 *  @module @internal */
import { AnnounceErrorCode } from "../errors.js";
import type { BiStream } from "../transport/transport.js";
import { Announce, AnnounceInit, AnnounceStatus, encodeMessage } from "../wire/index.js";
import type { Announcement } from "./announcement.js";
import type { TrackPrefix } from "./path.js";

export class AnnouncementWriter {
  readonly prefix: TrackPrefix;
  #stream: BiStream;
  #maxPending: number;
  #active = new Map<string, Announcement>();
  #pending: Uint8Array[] = [];
  #pump: Promise<void> | undefined;
  #closed = false;
  #onClosed: (w: AnnouncementWriter) => void;
  readonly done: Promise<void>;
  #resolveDone!: () => void;

  constructor(
    stream: BiStream,
    prefix: TrackPrefix,
    maxPending: number,
    onClosed: (w: AnnouncementWriter) => void,
  ) {
    this.#stream = stream;
    this.prefix = prefix;
    this.#maxPending = maxPending;
    this.#onClosed = onClosed;
    this.done = new Promise((r) => (this.#resolveDone = r));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Send ANNOUNCE_INIT with the currently active announcements under the prefix. */
  init(active: Announcement[]): void {
    const suffixes: string[] = [];
    for (const a of active) {
      const s = a.broadcastPath.slice(this.prefix.length);
      this.#active.set(s, a);
      suffixes.push(s);
    }
    this.#enqueue(encodeMessage(AnnounceInit, { suffixes }));
  }

  /** A broadcast under the prefix became active. Replaces (ENDED, then ACTIVE) a different one on the same suffix. */
  active(a: Announcement): void {
    if (this.#closed) return;
    const s = a.broadcastPath.slice(this.prefix.length);
    const old = this.#active.get(s);
    if (old === a) return;
    if (old) this.#enqueue(encodeMessage(Announce, { status: AnnounceStatus.Ended, suffix: s }));
    this.#active.set(s, a);
    this.#enqueue(encodeMessage(Announce, { status: AnnounceStatus.Active, suffix: s }));
  }

  /** A broadcast under the prefix ended. */
  ended(a: Announcement): void {
    if (this.#closed) return;
    const s = a.broadcastPath.slice(this.prefix.length);
    if (this.#active.get(s) !== a) return;
    this.#active.delete(s);
    this.#enqueue(encodeMessage(Announce, { status: AnnounceStatus.Ended, suffix: s }));
  }

  #enqueue(msg: Uint8Array): void {
    if (this.#closed) return;
    if (this.#pending.length >= this.#maxPending) {
      this.closeWithError(AnnounceErrorCode.Internal);
      return;
    }
    this.#pending.push(msg);
    this.#pump ??= this.#runPump();
  }

  async #runPump(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        // Coalesce everything queued into one write.
        const batch = this.#pending.splice(0);
        const total = batch.reduce((n, b) => n + b.length, 0);
        const buf = batch.length === 1 ? batch[0]! : new Uint8Array(total);
        if (batch.length > 1) {
          let off = 0;
          for (const b of batch) {
            buf.set(b, off);
            off += b.length;
          }
        }
        await this.#stream.send.write(buf);
      }
    } catch {
      this.#shut();
    } finally {
      this.#pump = undefined;
    }
  }

  #shut(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = [];
    this.#active.clear();
    this.#onClosed(this);
    this.#resolveDone();
  }

  /** ENDED for every active suffix, then FIN. */
  async close(): Promise<void> {
    if (this.#closed) return;
    for (const s of this.#active.keys())
      this.#pending.push(encodeMessage(Announce, { status: AnnounceStatus.Ended, suffix: s }));
    this.#active.clear();
    const rest = this.#pending.splice(0);
    this.#closed = true;
    this.#onClosed(this);
    try {
      await this.#pump;
      const total = rest.reduce((n, b) => n + b.length, 0);
      const buf = new Uint8Array(total);
      let off = 0;
      for (const b of rest) {
        buf.set(b, off);
        off += b.length;
      }
      await this.#stream.send.write(buf, true);
    } catch {
      // the requester is gone
    }
    this.#resolveDone();
  }

  /** Reset and stop the stream with `code`. */
  closeWithError(code: number): void {
    if (this.#closed) return;
    this.#stream.send.reset(code);
    this.#stream.recv.stop(code);
    this.#shut();
  }
}
