/** TrackMux: routes incoming subscriptions to handlers by broadcast path and feeds announcement listeners by prefix.
 *
 *  Exact-path routing (track names are for the handler to dispatch). Announcing a path that already has a handler
 *  ends the old announcement (ENDED to listeners, its track writers closed). Ending an announcement removes its
 *  handler and closes the subscriptions it serves. Listeners are registered per prefix node and fed through bounded
 *  queues (AnnouncementWriter). Spec: gomoqt.md §2.5, §4.2, §4.3.
 *  @module */
import { SubscribeErrorCode } from "../errors.js";
import { Announcement, newAnnouncement } from "./announcement.js";
import type { AnnouncementWriter } from "./announcement_writer.js";
import { ancestorPrefixes, isValidPath, type BroadcastPath, type TrackPrefix } from "./path.js";
import type { TrackWriter } from "./track_writer.js";

export interface TrackHandler {
  serveTrack(tw: TrackWriter): void | Promise<void>;
}

export type TrackHandlerFunc = (tw: TrackWriter) => void | Promise<void>;

/** A handler that rejects every subscription with TrackNotFound (3). */
export const NotFoundTrackHandler: TrackHandler = {
  serveTrack: (tw) => tw.closeWithError(SubscribeErrorCode.TrackNotFound),
};

interface Entry {
  readonly ann: Announcement;
  readonly handler: TrackHandler;
  readonly writers: Set<TrackWriter>;
}

export class TrackMux {
  #entries = new Map<BroadcastPath, Entry>();
  #listeners = new Map<TrackPrefix, Set<AnnouncementWriter>>();

  /** Announce `path` (active until `signal` aborts) and serve its subscriptions with `handler`. */
  publish(signal: AbortSignal | undefined, path: BroadcastPath, handler: TrackHandler): void {
    if (!isValidPath(path)) throw new TypeError(`moqt: invalid broadcast path ${JSON.stringify(path)}`);
    const [ann] = newAnnouncement(signal, path);
    this.announce(ann, handler);
  }

  /** `publish` with a function handler. */
  publishFunc(signal: AbortSignal | undefined, path: BroadcastPath, fn: TrackHandlerFunc): void {
    this.publish(signal, path, { serveTrack: fn });
  }

  /** Register `handler` for `ann`'s path while `ann` is active. */
  announce(ann: Announcement, handler: TrackHandler): void {
    if (!ann.isActive()) return;
    const path = ann.broadcastPath;
    const old = this.#entries.get(path);
    if (old?.ann === ann) {
      this.#entries.set(path, { ann, handler, writers: old.writers });
      return;
    }
    const entry: Entry = { ann, handler, writers: new Set() };
    this.#entries.set(path, entry);
    if (old) old.ann.end(); // its afterFunc sees that the entry was replaced and only sends ENDED / closes writers
    for (const p of ancestorPrefixes(path)) for (const l of this.#listeners.get(p) ?? []) l.active(ann);
    ann.afterFunc(() => {
      if (this.#entries.get(path) === entry) this.#entries.delete(path);
      for (const p of ancestorPrefixes(path)) for (const l of this.#listeners.get(p) ?? []) l.ended(ann);
      for (const tw of [...entry.writers]) void tw.close();
      entry.writers.clear();
    });
  }

  /** The announcement and handler serving `path` (undefined, NotFoundTrackHandler when none). */
  trackHandler(path: BroadcastPath): [Announcement | undefined, TrackHandler] {
    const e = this.#entries.get(path);
    return e ? [e.ann, e.handler] : [undefined, NotFoundTrackHandler];
  }

  /** Active announcements under `prefix`. */
  announcements(prefix: TrackPrefix): Announcement[] {
    const out: Announcement[] = [];
    for (const [path, e] of this.#entries) if (path.startsWith(prefix)) out.push(e.ann);
    return out;
  }

  /** @internal serve one incoming subscription: run its handler, close the writer when the handler returns. */
  async serveTrack(tw: TrackWriter): Promise<void> {
    const e = this.#entries.get(tw.broadcastPath);
    if (!e || !e.ann.isActive()) {
      await tw.closeWithError(SubscribeErrorCode.TrackNotFound);
      return;
    }
    e.writers.add(tw);
    try {
      await e.handler.serveTrack(tw);
      await tw.close();
    } catch {
      await tw.closeWithError(SubscribeErrorCode.Internal);
    } finally {
      e.writers.delete(tw);
    }
  }

  /** @internal register an announcement listener: ANNOUNCE_INIT now, ACTIVE/ENDED later, until it closes. */
  serveAnnouncements(w: AnnouncementWriter): void {
    const prefix = w.prefix;
    let set = this.#listeners.get(prefix);
    if (!set) this.#listeners.set(prefix, (set = new Set()));
    set.add(w);
    w.init(this.announcements(prefix));
  }

  /** @internal unregister a listener (after it closed). */
  removeListener(w: AnnouncementWriter): void {
    const set = this.#listeners.get(w.prefix);
    if (!set) return;
    set.delete(w);
    if (set.size === 0) this.#listeners.delete(w.prefix);
  }
}

/** The mux used when none is given. */
export const DefaultTrackMux = new TrackMux();

export function publish(signal: AbortSignal | undefined, path: BroadcastPath, handler: TrackHandler): void {
  DefaultTrackMux.publish(signal, path, handler);
}
export function publishFunc(
  signal: AbortSignal | undefined,
  path: BroadcastPath,
  fn: TrackHandlerFunc,
): void {
  DefaultTrackMux.publishFunc(signal, path, fn);
}
export function announce(ann: Announcement, handler: TrackHandler): void {
  DefaultTrackMux.announce(ann, handler);
}
