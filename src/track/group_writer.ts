/** GroupWriter: writes the frames of one group on its own uni stream (type 0x00, GROUP header, frames, FIN).
 *
 *  TrackWriter.openGroup writes the stream-type byte and GROUP header when it opens the stream (as gomoqt does), so
 *  the subscriber sees the group at once. `signal` aborts with GroupError when the subscriber stops the stream (its
 *  code, remote), when the track is aborted, or with the session. Spec: gomoqt.md §1.8, §2.7.
 *
 *  Small frames are batched: a frame of up to `BATCH_FRAME_MAX` bytes (length prefix included) is copied into the
 *  group's batch buffer and `writeFrame` resolves at once; the batch goes to the transport as one write when it
 *  reaches `BATCH_FLUSH` bytes (that `writeFrame` then waits for the transport: backpressure), when a bigger frame
 *  or `close()` follows (FIN rides on the last batch), or when the writer has been idle for two microtask turns (so
 *  frames written in a loop within one event-loop turn share a write, and a lone frame is sent before the event
 *  loop moves on). Each transport write costs a native crossing (or a W3C writer call), which dominated the cost of
 *  a 1 KB frame. A batched frame's payload is copied before `writeFrame` returns; a bigger frame's payload goes to
 *  the transport as is (natively: prefix and payload in one crossing, no copy) and may be read until the returned
 *  promise resolves, so reuse a buffer only after awaiting `writeFrame`. A failure of a batch written in the
 *  background (peer STOP_SENDING, session gone) fails the group: the next `writeFrame`/`close` throws it, as
 *  `signal` already says. A reset (`cancelWrite`, abort) discards unsent frames.
 *  @module */
import { GroupError, GroupErrorCode, isMoqtError } from "../errors.js";
import type { SendStream } from "../transport/transport.js";
import { toGroupError } from "../session/error_map.js";
import { writeFrameHeader, varintLen, type VarInt } from "../wire/index.js";
import { Frame } from "./frame.js";
import { follow, ignore } from "../internal/signal.js";

export type GroupSequence = number | bigint;

/** Send priority of a group stream: the track priority first (0..255, higher first), then, within a track, newer
 *  groups before older ones (the low 20 bits of the sequence; it wraps after 2^20 groups). */
export function groupPriority(trackPriority: number, seq: GroupSequence): number {
  const low = typeof seq === "number" ? seq % 0x100000 : Number(seq % 0x100000n);
  return (trackPriority & 0xff) * 0x100000 + low;
}

/** Send priority of control streams (session, announce, subscribe): above every group, so a congested link never
 *  starves a SUBSCRIBE_OK or an announcement behind media. */
export const CONTROL_PRIORITY = 0x7fffffff;

/** Frames above this size are written as two writes (header, payload) instead of being copied into one buffer. */
const COALESCE_LIMIT = 64 * 1024;
/** Frames (with their length prefix) up to this size are batched; bigger ones are one write each (on the native
 *  transport prefix and payload go in one crossing without a copy: `writeParts`). */
export const BATCH_FRAME_MAX = 4 * 1024;
/** A batch is written as soon as it holds this many bytes. */
export const BATCH_FLUSH = 32 * 1024;
/** A pending batch up to this size is sent in the same write as a following big frame's prefix. */
const MERGE_MAX = 256;
/** Idle microtask turns before a partial batch is written. */
const IDLE_TURNS = 2;

const RESOLVED: Promise<void> = Promise.resolve();

/** A SendStream that takes a frame's prefix and payload as two buffers in one write (the native adapter). */
interface PartsWriter {
  writeParts(head: Uint8Array, body: Uint8Array, fin?: boolean): Promise<void>;
}
const hasParts = (s: SendStream): s is SendStream & PartsWriter =>
  typeof (s as Partial<PartsWriter>).writeParts === "function";

export class GroupWriter {
  readonly groupSequence: GroupSequence;
  #stream: SendStream;
  #parent: AbortSignal;
  /** Created on the first `signal` access only: an AbortController and AbortSignal.any cost ~25 µs in Node 20,
   *  per group and per subscriber in a fan-out, and most writers are never asked for their signal. */
  #ctrl: AbortController | undefined;
  #unfollow: (() => void) | undefined;
  #onParentAbort = (): void => this.#abortStream(this.#parent.reason);
  /** Bytes not yet handed to the transport: `#batch[0, #batchLen)`. */
  #batch: Uint8Array | undefined;
  #batchLen = 0;
  /** Size of the last batch written: the next one starts that big (a loop's batches need no regrowth; a lone
   *  frame per turn gets an exact buffer). */
  #hint = 0;
  /** An idle check is queued; frames were appended since the last check; consecutive idle checks. */
  #flushQueued = false;
  #appended = false;
  #idle = 0;
  #done = false;
  #error: Error | undefined;
  #deadline: number | undefined;
  #onDone: (g: GroupWriter) => void;

  /** @internal created by TrackWriter.openGroup */
  constructor(
    stream: SendStream,
    header: Uint8Array | undefined,
    seq: VarInt,
    parent: AbortSignal,
    onDone: (g: GroupWriter) => void,
  ) {
    this.#stream = stream;
    // A header not yet written goes out with the first frame written in this turn, else alone once idle (so the
    // subscriber sees the group at once either way), or with FIN.
    if (header && header.length > 0) {
      this.#batch = header;
      this.#batchLen = header.length;
      this.#flushQueued = true;
      queueMicrotask(this.#idleCheck);
    }
    this.groupSequence = seq;
    this.#onDone = onDone;
    this.#parent = parent;
    parent.addEventListener("abort", this.#onParentAbort, { once: true });
    stream.stopped.then((code) => {
      if (code !== undefined && !this.#done)
        this.#fail(new GroupError(code, true, "subscriber stopped the group"));
    });
  }

  /** Aborts when the subscriber stops the group (GroupError, its code, remote), when it is cancelled or fails,
   *  and with the track (its reason) while the group is open. Follows the track with a listener removed when the
   *  group ends (no AbortSignal.any: Node 20 keeps composite signals alive as long as the parent). */
  get signal(): AbortSignal {
    if (!this.#ctrl) {
      const c = (this.#ctrl = new AbortController());
      if (this.#error) c.abort(this.#error);
      else if (!this.#done) this.#unfollow = follow(c, this.#parent);
    }
    return this.#ctrl.signal;
  }

  #abortStream(reason: unknown): void {
    if (this.#done) return;
    const code =
      isMoqtError(reason) && reason instanceof GroupError ? reason.code : GroupErrorCode.PublishAborted;
    this.#fail(reason instanceof Error ? reason : new GroupError(code, false));
    this.#stream.reset(code);
  }

  #fail(e: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#error = e;
    this.#batch = undefined;
    this.#batchLen = 0;
    this.#parent.removeEventListener("abort", this.#onParentAbort);
    if (this.#ctrl && !this.#ctrl.signal.aborted) this.#ctrl.abort(e);
    this.#onDone(this);
  }

  #check(): void {
    if (this.#error) throw this.#error;
    if (this.#done) throw new GroupError(GroupErrorCode.Internal, false, "group already closed");
    if (this.#deadline !== undefined && Date.now() >= this.#deadline) this.#expire();
  }

  #expire(): never {
    this.cancelWrite(GroupErrorCode.ExpiredGroup);
    throw this.#error!;
  }

  /** Write one frame (`varint(len) || payload`). Resolves when the frame is batched or the transport accepted it
   *  (backpressure); the payload may be reused after that (see the module notes). */
  writeFrame(frame: Frame | Uint8Array): Promise<void> {
    try {
      this.#check();
    } catch (e) {
      return Promise.reject(e);
    }
    const payload = frame instanceof Frame ? frame.body() : frame;
    const need = varintLen(payload.length) + payload.length;
    if (need <= BATCH_FRAME_MAX) {
      let b = this.#batch;
      const len = this.#batchLen;
      if (!b || b.length - len < need) {
        // Grow (doubling, at most to COALESCE_LIMIT) or start a new batch after writing this one.
        if (b && len + need > COALESCE_LIMIT) {
          ignore(this.#writeBatch(false));
          b = undefined;
        }
        const from = b ? len : 0;
        const next = new Uint8Array(
          Math.min(COALESCE_LIMIT, b ? Math.max(2 * (from + need), this.#hint) : Math.max(need, this.#hint)),
        );
        if (b) next.set(b.subarray(0, len));
        this.#batch = b = next;
        this.#batchLen = from;
      }
      const at = this.#batchLen;
      const n = writeFrameHeader(b, at, payload.length);
      b.set(payload, at + n);
      this.#batchLen = at + need;
      if (this.#batchLen >= BATCH_FLUSH) return this.#guard(this.#writeBatch(false));
      this.#appended = true;
      if (!this.#flushQueued) {
        this.#flushQueued = true;
        this.#idle = 0;
        queueMicrotask(this.#idleCheck);
      }
      return RESOLVED;
    }
    // A big frame: prefix and payload apart in one write where the transport can (a short pending batch, e.g. the
    // group header, joins the prefix), else the batch first, then the frame in one buffer up to COALESCE_LIMIT.
    let p: Promise<void>;
    const s = this.#stream;
    if (hasParts(s)) {
      const len = this.#batchLen;
      if (len > MERGE_MAX) ignore(this.#writeBatch(false));
      const at = len > MERGE_MAX ? 0 : len;
      const pre = new Uint8Array(at + 8);
      if (at > 0) {
        pre.set(this.#batch!.subarray(0, at));
        this.#batch = undefined;
        this.#batchLen = 0;
      }
      p = s.writeParts(pre.subarray(0, at + writeFrameHeader(pre, at, payload.length)), payload);
      return this.#guard(p);
    }
    if (this.#batchLen > 0) ignore(this.#writeBatch(false));
    if (need <= COALESCE_LIMIT) {
      const buf = new Uint8Array(need);
      const n = writeFrameHeader(buf, 0, payload.length);
      buf.set(payload, n);
      p = this.#stream.write(buf);
    } else {
      const pre = new Uint8Array(8);
      const n = writeFrameHeader(pre, 0, payload.length);
      ignore(this.#stream.write(pre.subarray(0, n)));
      p = this.#stream.write(payload);
    }
    return this.#guard(p);
  }

  /** Hand the batch to the transport (with FIN when `fin`). */
  #writeBatch(fin: boolean): Promise<void> {
    const b = this.#batch;
    const n = this.#batchLen;
    this.#batch = undefined;
    this.#batchLen = 0;
    if (n > 0) this.#hint = n;
    if (!b || n === 0) return fin ? this.#stream.finish() : RESOLVED;
    return this.#stream.write(n === b.length ? b : b.subarray(0, n), fin);
  }

  /** Queued by writeFrame: write a partial batch once no frame was added for IDLE_TURNS microtask turns. */
  #idleCheck = (): void => {
    if (this.#appended) {
      this.#appended = false;
      this.#idle = 0;
    } else this.#idle++;
    if (this.#idle < IDLE_TURNS && !this.#done) {
      queueMicrotask(this.#idleCheck);
      return;
    }
    this.#flushQueued = false;
    if (this.#done || this.#batchLen === 0) return;
    this.#writeBatch(false).catch((e: unknown) => this.#fail(this.#error ?? toGroupError(e)));
  };

  /** Map a write's failure to the group's error (and fail the group); apply the write deadline. */
  #guard(p: Promise<void>): Promise<void> {
    if (this.#deadline === undefined)
      return p.then(undefined, (e: unknown) => {
        const err = this.#error ?? toGroupError(e);
        this.#fail(err);
        throw err;
      });
    return this.#withDeadline(p);
  }

  async #withDeadline(p: Promise<void>): Promise<void> {
    try {
      const ms = this.#deadline! - Date.now();
      let t: ReturnType<typeof setTimeout> | undefined;
      const timer = new Promise<void>((_, reject) => {
        t = setTimeout(
          () => {
            try {
              this.#expire();
            } catch (e) {
              reject(e);
            }
          },
          Math.max(0, ms),
        );
      });
      try {
        await Promise.race([p, timer]);
      } finally {
        clearTimeout(t);
      }
    } catch (e) {
      const err = this.#error ?? toGroupError(e);
      this.#fail(err);
      throw err;
    }
  }

  /** Writes still pending (or started) after `deadline` fail, and the group is reset with ExpiredGroup (3).
   *  `undefined` clears it. */
  setWriteDeadline(deadline: Date | number | undefined): void {
    this.#deadline =
      deadline === undefined ? undefined : typeof deadline === "number" ? deadline : deadline.getTime();
  }

  /** Reset the group stream with `code` (RESET_STREAM). */
  cancelWrite(code: number): void {
    if (this.#done) return;
    this.#fail(new GroupError(code, false, "group cancelled"));
    this.#stream.reset(code);
  }

  /** End the group: the batch still pending, then FIN (on the same write). */
  async close(): Promise<void> {
    if (this.#error) throw this.#error;
    if (this.#done) return;
    this.#done = true;
    this.#parent.removeEventListener("abort", this.#onParentAbort);
    this.#unfollow?.();
    try {
      await this.#writeBatch(true);
    } catch (e) {
      this.#error = toGroupError(e);
      if (this.#ctrl && !this.#ctrl.signal.aborted) this.#ctrl.abort(this.#error);
      throw this.#error;
    } finally {
      this.#onDone(this);
    }
  }

  /** @internal The track ended and closed this group as part of that end: the group's signal aborts with the
   *  track's reason (a group closed earlier by the application stays unaborted). */
  trackEnded(reason: unknown): void {
    if (this.#ctrl && !this.#ctrl.signal.aborted) this.#ctrl.abort(reason);
  }

  /** @internal */
  get done(): boolean {
    return this.#done;
  }

  /** @internal apply a new track priority to this group's stream */
  setTrackPriority(trackPriority: number): void {
    this.#stream.setPriority(groupPriority(trackPriority, this.groupSequence));
  }
}
