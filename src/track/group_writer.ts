/** GroupWriter: writes the frames of one group on its own uni stream (type 0x00, GROUP header, frames, FIN).
 *
 *  TrackWriter.openGroup writes the stream-type byte and GROUP header when it opens the stream (as gomoqt does), so
 *  the subscriber sees the group at once; each frame is then one transport write. `signal` aborts with GroupError when the subscriber stops the stream (its code,
 *  remote), when the track is aborted, or with the session. Spec: gomoqt.md §1.8, §2.7.
 *  @module */
import { GroupError, GroupErrorCode, isMoqtError } from "../errors.js";
import type { SendStream } from "../transport/transport.js";
import { toGroupError } from "../session/error_map.js";
import { writeFrameHeader, varintLen, type VarInt } from "../wire/index.js";
import { Frame } from "./frame.js";
import { ignore } from "../internal/signal.js";

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

export class GroupWriter {
  readonly groupSequence: GroupSequence;
  readonly signal: AbortSignal;
  #stream: SendStream;
  #header: Uint8Array | undefined;
  #ctrl = new AbortController();
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
    this.#header = header;
    this.groupSequence = seq;
    this.#onDone = onDone;
    this.signal = AbortSignal.any([this.#ctrl.signal, parent]);
    this.signal.addEventListener("abort", () => this.#abortStream(this.signal.reason), { once: true });
    stream.stopped.then((code) => {
      if (code !== undefined && !this.#done)
        this.#fail(new GroupError(code, true, "subscriber stopped the group"));
    });
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
    if (!this.#ctrl.signal.aborted) this.#ctrl.abort(e);
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

  /** Write one frame (`varint(len) || payload`). Resolves when the transport accepted it (backpressure). */
  async writeFrame(frame: Frame | Uint8Array): Promise<void> {
    this.#check();
    const payload = frame instanceof Frame ? frame.body() : frame;
    const head = this.#header;
    this.#header = undefined;
    const headLen = head ? head.length : 0;
    let p: Promise<void>;
    if (payload.length <= COALESCE_LIMIT) {
      const buf = new Uint8Array(headLen + varintLen(payload.length) + payload.length);
      if (head) buf.set(head);
      const n = writeFrameHeader(buf, headLen, payload.length);
      buf.set(payload, headLen + n);
      p = this.#stream.write(buf);
    } else {
      const pre = new Uint8Array(headLen + 8);
      if (head) pre.set(head);
      const n = writeFrameHeader(pre, headLen, payload.length);
      ignore(this.#stream.write(pre.subarray(0, headLen + n)));
      p = this.#stream.write(payload);
    }
    await this.#withDeadline(p);
  }

  async #withDeadline(p: Promise<void>): Promise<void> {
    try {
      if (this.#deadline === undefined) return await p;
      const ms = this.#deadline - Date.now();
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

  /** End the group (FIN, attached to the header when no frame was written). */
  async close(): Promise<void> {
    if (this.#error) throw this.#error;
    if (this.#done) return;
    this.#done = true;
    const head = this.#header;
    this.#header = undefined;
    try {
      if (head) await this.#stream.write(head, true);
      else await this.#stream.finish();
    } catch (e) {
      this.#error = toGroupError(e);
      throw this.#error;
    } finally {
      this.#onDone(this);
    }
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
