/** Fanout: one source of groups (an upstream subscription, or a local producer) served to many TrackWriters.
 *
 *  Groups keep their sequence on every downstream (`openGroup(seq)`); frame payloads are passed on as bytes, never
 *  re-encoded, and shared between downstreams (one copy in memory). The latest group is cached (its frames so far,
 *  then the ones still arriving), so a downstream that joins late starts at once with the current group.
 *
 *  Memory is bounded per downstream. Each one has its own queue of frames not yet accepted by its transport:
 *  - when a newer group starts while the downstream has more than `lagBytes`/`lagFrames` pending, its older groups
 *    that still have unwritten frames are cancelled with ExpiredGroup (3): a slow subscriber skips to the new group;
 *  - above `maxPendingBytes`/`maxPendingFrames` the oldest groups with unwritten frames are cancelled with
 *    ExpiredGroup (3) right away, the current one included, until the downstream is under the bound again.
 *  The cached group is capped at `maxCachedGroupBytes`; a bigger group is not offered to late joiners.
 *  @module */
import { GroupErrorCode, SubscribeErrorCode } from "../errors.js";
import type { GroupSequence, GroupWriter } from "../track/group_writer.js";
import type { TrackWriter } from "../track/track_writer.js";

export interface FanoutLimits {
  /** Pending bytes per downstream above which a new group expires its older unfinished groups. Default 1 MiB. */
  lagBytes?: number;
  /** Pending frames per downstream above which a new group expires its older unfinished groups. Default 16384. */
  lagFrames?: number;
  /** Hard bound on pending bytes per downstream. Default 8 MiB. */
  maxPendingBytes?: number;
  /** Hard bound on pending frames per downstream. Default 65536. */
  maxPendingFrames?: number;
  /** Largest group kept for late joiners, bytes. Default 16 MiB. */
  maxCachedGroupBytes?: number;
  /** After the source ended cleanly, how long a downstream may take to drain before its groups expire, ms.
   *  Default 10000. */
  drainTimeout?: number;
}

export const DEFAULT_FANOUT_LIMITS: Required<FanoutLimits> = {
  lagBytes: 1 << 20,
  lagFrames: 16384,
  maxPendingBytes: 8 << 20,
  maxPendingFrames: 65536,
  maxCachedGroupBytes: 16 << 20,
  drainTimeout: 10000,
};

/** Counters a fanout adds to (shared by every fanout of a relay). */
export interface FanoutCounters {
  bytesOut: number;
  framesOut: number;
  groupsOut: number;
  groupsDropped: number;
  /** Highest pending bytes / frames seen on any single downstream. */
  maxPendingBytesSeen: number;
  maxPendingFramesSeen: number;
  /** Per downstream group: ms from the group's start at the source to its first frame accepted downstream (stream
   *  opened, header and frame written): count, sum and max. Where a fan-out's group-opening frames lose time. */
  firstFrames: number;
  firstFrameMsTotal: number;
  firstFrameMsMax: number;
}

export function newFanoutCounters(): FanoutCounters {
  return {
    bytesOut: 0,
    framesOut: 0,
    groupsOut: 0,
    groupsDropped: 0,
    maxPendingBytesSeen: 0,
    maxPendingFramesSeen: 0,
    firstFrames: 0,
    firstFrameMsTotal: 0,
    firstFrameMsMax: 0,
  };
}

/** One group of the source, as seen by the fanout. */
export class FanGroup {
  readonly seq: GroupSequence;
  /** performance.now() when the group started at the source. */
  readonly startedAt = performance.now();
  #fan: Fanout;
  /** Cached frames (only while this is the latest group and under the cache cap). */
  frames: Uint8Array[] | undefined = [];
  #cacheBytes = 0;
  ended = false;
  aborted = false;

  /** @internal */
  constructor(fan: Fanout, seq: GroupSequence) {
    this.#fan = fan;
    this.seq = seq;
  }

  /** Append a frame payload (not copied: the caller must not modify it afterwards). */
  push(bytes: Uint8Array): void {
    if (this.ended || this.aborted) return;
    if (this.frames) {
      if (this.#cacheBytes + bytes.length > this.#fan.limits.maxCachedGroupBytes) this.frames = undefined;
      else {
        this.frames.push(bytes);
        this.#cacheBytes += bytes.length;
      }
    }
    for (const d of this.#fan.downstreams) d.push(this, bytes);
  }

  /** The group ended (FIN): downstreams close it after writing what they have. */
  end(): void {
    if (this.ended || this.aborted) return;
    this.ended = true;
    for (const d of this.#fan.downstreams) d.end(this);
  }

  /** The group failed: downstreams reset it with `code`. */
  abort(code: number): void {
    if (this.ended || this.aborted) return;
    this.aborted = true;
    this.frames = undefined;
    for (const d of this.#fan.downstreams) d.abort(this, code);
  }

  /** @internal no longer the latest group: drop the cache. */
  uncache(): void {
    this.frames = undefined;
  }
}

interface DGroup {
  readonly g: FanGroup;
  gw: GroupWriter | undefined;
  queue: (Uint8Array | undefined)[];
  head: number;
  ended: boolean;
  dead: boolean;
  deadCode: number | undefined;
  writing: boolean;
  /** No frame written yet. */
  fresh: boolean;
}

/** One downstream subscription of a fanout. */
export class Downstream {
  readonly tw: TrackWriter;
  #fan: Fanout;
  #groups = new Map<FanGroup, DGroup>();
  pendingBytes = 0;
  pendingFrames = 0;
  #ending = false;
  #over = false;
  #drainTimer: ReturnType<typeof setTimeout> | undefined;
  /** Group streams are opened one after the other, so they reach the subscriber in the order the groups started. */
  #opening: Promise<unknown> = Promise.resolve();
  readonly done: Promise<void>;
  #resolveDone!: () => void;

  /** @internal */
  constructor(tw: TrackWriter, fan: Fanout) {
    this.tw = tw;
    this.#fan = fan;
    this.done = new Promise((r) => (this.#resolveDone = r));
    if (tw.signal.aborted) queueMicrotask(() => this.#gone());
    else tw.signal.addEventListener("abort", () => this.#gone(), { once: true });
  }

  get over(): boolean {
    return this.#over;
  }

  /** @internal a group starts; `backlog` are frames already received (late join). */
  start(g: FanGroup, backlog: Uint8Array[], newest: boolean): void {
    if (this.#over) return;
    const lim = this.#fan.limits;
    if (newest && (this.pendingBytes > lim.lagBytes || this.pendingFrames > lim.lagFrames)) {
      for (const dg of [...this.#groups.values()])
        if (dg.g.seq < g.seq && dg.head < dg.queue.length) this.#kill(dg, GroupErrorCode.ExpiredGroup);
    }
    const dg: DGroup = {
      g,
      gw: undefined,
      queue: [...backlog],
      head: 0,
      ended: g.ended,
      dead: false,
      deadCode: undefined,
      writing: false,
      fresh: true,
    };
    for (const b of backlog) this.#add(b.length);
    this.#groups.set(g, dg);
    this.#bound();
    void this.#pump(dg);
  }

  /** @internal */
  push(g: FanGroup, bytes: Uint8Array): void {
    const dg = this.#groups.get(g);
    if (!dg || dg.dead) return;
    dg.queue.push(bytes);
    this.#add(bytes.length);
    this.#bound();
    if (!dg.dead) void this.#pump(dg);
  }

  /** @internal */
  end(g: FanGroup): void {
    const dg = this.#groups.get(g);
    if (!dg || dg.dead) return;
    dg.ended = true;
    void this.#pump(dg);
  }

  /** @internal */
  abort(g: FanGroup, code: number): void {
    const dg = this.#groups.get(g);
    if (dg) this.#kill(dg, code);
  }

  #add(n: number): void {
    this.pendingBytes += n;
    this.pendingFrames += 1;
    const c = this.#fan.counters;
    if (this.pendingBytes > c.maxPendingBytesSeen) c.maxPendingBytesSeen = this.pendingBytes;
    if (this.pendingFrames > c.maxPendingFramesSeen) c.maxPendingFramesSeen = this.pendingFrames;
  }

  /** Enforce the hard bound: expire the oldest groups with unwritten frames. */
  #bound(): void {
    const lim = this.#fan.limits;
    while (this.pendingBytes > lim.maxPendingBytes || this.pendingFrames > lim.maxPendingFrames) {
      let victim: DGroup | undefined;
      for (const dg of this.#groups.values())
        if (dg.head < dg.queue.length && (!victim || dg.g.seq < victim.g.seq)) victim = dg;
      if (!victim) break;
      this.#kill(victim, GroupErrorCode.ExpiredGroup);
    }
  }

  /** Drop a group for this downstream: forget its pending frames, reset its stream with `code`. */
  #kill(dg: DGroup, code: number | undefined): void {
    if (dg.dead) return;
    dg.dead = true;
    dg.deadCode = code;
    for (let i = dg.head; i < dg.queue.length; i++) {
      const b = dg.queue[i];
      if (b) {
        this.pendingBytes -= b.length;
        this.pendingFrames -= 1;
      }
    }
    dg.queue = [];
    dg.head = 0;
    this.#groups.delete(dg.g);
    if (code === GroupErrorCode.ExpiredGroup) this.#fan.counters.groupsDropped++;
    if (dg.gw && code !== undefined) dg.gw.cancelWrite(code);
    this.#maybeDone();
  }

  async #pump(dg: DGroup): Promise<void> {
    if (dg.writing || dg.dead || this.#over) return;
    dg.writing = true;
    const c = this.#fan.counters;
    try {
      if (!dg.gw) {
        const open = this.#opening.then(() => (dg.dead ? undefined : this.tw.openGroup(dg.g.seq)));
        this.#opening = open.catch(() => {});
        const gw = await open;
        if (!gw) return;
        dg.gw = gw;
        if (dg.dead) {
          if (dg.deadCode !== undefined) gw.cancelWrite(dg.deadCode);
          return;
        }
      }
      const gw = dg.gw;
      while (!dg.dead) {
        if (dg.head < dg.queue.length) {
          const b = dg.queue[dg.head]!;
          await gw.writeFrame(b);
          if (dg.fresh) {
            dg.fresh = false;
            const ms = performance.now() - dg.g.startedAt;
            c.firstFrames++;
            c.firstFrameMsTotal += ms;
            if (ms > c.firstFrameMsMax) c.firstFrameMsMax = ms;
          }
          if (dg.dead) return;
          dg.queue[dg.head] = undefined;
          dg.head++;
          if (dg.head > 256 && dg.head * 2 > dg.queue.length) {
            dg.queue = dg.queue.slice(dg.head);
            dg.head = 0;
          }
          this.pendingBytes -= b.length;
          this.pendingFrames -= 1;
          c.bytesOut += b.length;
          c.framesOut += 1;
          continue;
        }
        if (dg.ended) {
          dg.dead = true;
          this.#groups.delete(dg.g);
          await gw.close();
          c.groupsOut += 1;
        }
        return;
      }
    } catch {
      // The subscriber stopped this group, or the subscription is gone: forget the group.
      this.#kill(dg, undefined);
    } finally {
      dg.writing = false;
      this.#maybeDone();
    }
  }

  /** @internal the source ended cleanly: drain, then FIN the subscription. */
  finish(): void {
    if (this.#over || this.#ending) return;
    this.#ending = true;
    for (const dg of this.#groups.values())
      if (!dg.ended && !dg.dead) {
        dg.ended = true;
        void this.#pump(dg);
      }
    this.#drainTimer = setTimeout(() => {
      for (const dg of [...this.#groups.values()]) this.#kill(dg, GroupErrorCode.ExpiredGroup);
    }, this.#fan.limits.drainTimeout);
    this.#maybeDone();
  }

  #maybeDone(): void {
    if (!this.#ending || this.#over || this.#groups.size > 0) return;
    this.#over = true;
    clearTimeout(this.#drainTimer);
    void this.tw.close().finally(() => this.#resolveDone());
  }

  /** @internal the source failed: reset the subscription with `code` (open groups get PublishAborted). */
  fail(code: number): void {
    if (this.#over) return;
    this.#over = true;
    clearTimeout(this.#drainTimer);
    for (const dg of [...this.#groups.values()]) this.#kill(dg, undefined);
    void this.tw.closeWithError(code).finally(() => this.#resolveDone());
  }

  /** The subscriber left (or the session ended, or we closed the writer). */
  #gone(): void {
    clearTimeout(this.#drainTimer);
    for (const dg of [...this.#groups.values()]) this.#kill(dg, undefined);
    this.#over = true;
    this.#resolveDone();
  }
}

/** A source of groups served to many downstream TrackWriters. */
export class Fanout {
  readonly limits: Required<FanoutLimits>;
  readonly counters: FanoutCounters;
  /** @internal */
  readonly downstreams = new Set<Downstream>();
  #current: FanGroup | undefined;
  #ready = false;
  #finished = false;
  #failed: number | undefined;
  #onEmpty: (() => void) | undefined;

  constructor(opts: { limits?: FanoutLimits; counters?: FanoutCounters; onEmpty?: () => void } = {}) {
    this.limits = { ...DEFAULT_FANOUT_LIMITS };
    for (const [k, v] of Object.entries(opts.limits ?? {}))
      if (v !== undefined) (this.limits as Record<string, number>)[k] = v as number;
    this.counters = opts.counters ?? newFanoutCounters();
    this.#onEmpty = opts.onEmpty;
  }

  /** The latest group (by sequence), if any. */
  get current(): FanGroup | undefined {
    return this.#current;
  }

  get size(): number {
    return this.downstreams.size;
  }

  /** Sum of pending bytes / frames over the downstreams. */
  pending(): { bytes: number; frames: number; maxBytes: number; maxFrames: number } {
    let bytes = 0,
      frames = 0,
      maxBytes = 0,
      maxFrames = 0;
    for (const d of this.downstreams) {
      bytes += d.pendingBytes;
      frames += d.pendingFrames;
      maxBytes = Math.max(maxBytes, d.pendingBytes);
      maxFrames = Math.max(maxFrames, d.pendingFrames);
    }
    return { bytes, frames, maxBytes, maxFrames };
  }

  /** The source is subscribed (upstream SUBSCRIBE_OK): answer SUBSCRIBE_OK downstream without waiting for a group. */
  ready(): void {
    if (this.#ready) return;
    this.#ready = true;
    for (const d of this.downstreams) void d.tw.writeInfo().catch(() => {});
  }

  /** A group starts at the source. */
  startGroup(seq: GroupSequence): FanGroup {
    const g = new FanGroup(this, seq);
    const newest = this.#current === undefined || seq > this.#current.seq;
    if (newest) {
      this.#current?.uncache();
      this.#current = g;
    } else g.uncache();
    for (const d of this.downstreams) d.start(g, [], newest);
    return g;
  }

  /** Serve `tw` until the source ends, the subscriber leaves or the session goes; resolves then. */
  addDownstream(tw: TrackWriter): Promise<void> {
    if (this.#failed !== undefined) return tw.closeWithError(this.#failed);
    const d = new Downstream(tw, this);
    this.downstreams.add(d);
    if (this.#ready) void tw.writeInfo().catch(() => {});
    const c = this.#current;
    if (c && !c.aborted && c.frames) d.start(c, c.frames, true);
    if (this.#finished) d.finish();
    return d.done.then(() => {
      this.downstreams.delete(d);
      if (this.downstreams.size === 0) this.#onEmpty?.();
    });
  }

  /** The source ended cleanly: every downstream drains, then its subscription is FINed. */
  finish(): void {
    if (this.#finished || this.#failed !== undefined) return;
    this.#finished = true;
    for (const d of this.downstreams) d.finish();
  }

  /** The source failed: every downstream subscription is reset with `code`; later joiners too. */
  fail(code: number = SubscribeErrorCode.Internal): void {
    if (this.#failed !== undefined) return;
    this.#failed = code;
    this.#current = undefined;
    for (const d of [...this.downstreams]) d.fail(code);
  }

  get finished(): boolean {
    return this.#finished;
  }
  get failed(): number | undefined {
    return this.#failed;
  }
}
