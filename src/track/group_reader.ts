/** GroupReader: reads the frames of one incoming group stream until FIN.
 *
 *  `readFrame` returns null at the end of the group and throws GroupError on a reset (the publisher's code, remote).
 *  Frames borrow the received bytes (no copy per frame) unless the caller passes a Frame to fill.
 *  Spec: gomoqt.md §1.8, §2.7.
 *  @module */
import { GroupError, GroupErrorCode, isMoqtError, SessionError } from "../errors.js";
import { toGroupError } from "../session/error_map.js";
import type { MessageReader } from "../session/stream_reader.js";
import { WireError, type VarInt } from "../wire/index.js";
import { Frame } from "./frame.js";
import { abortable, follow, withTimeout } from "../internal/signal.js";

/** Marker for a read that hit its deadline (mapped to ExpiredGroup by #onError). */
const EXPIRED = new Error("moqt: read deadline exceeded");
const expired = (): Error => EXPIRED;

export class GroupReader {
  readonly groupSequence: VarInt;
  readonly signal: AbortSignal;
  #reader: MessageReader;
  #ctrl = new AbortController();
  #unfollow: () => void = () => {};
  #maxFrameBytes: number;
  #done = false;
  #error: Error | undefined;
  #deadline: number | undefined;
  #onDone: (g: GroupReader) => void;
  /** A read the caller gave up on (abort): kept so its frame is not lost, and handed to the next call. */
  #pending: Promise<Uint8Array | null> | undefined;

  /** @internal created by the session for each GROUP stream of a subscription */
  constructor(
    reader: MessageReader,
    seq: VarInt,
    maxFrameBytes: number,
    parent: AbortSignal,
    onDone: (g: GroupReader) => void,
  ) {
    this.#reader = reader;
    this.groupSequence = seq;
    this.#maxFrameBytes = maxFrameBytes;
    this.#onDone = onDone;
    this.signal = this.#ctrl.signal;
    this.#unfollow = follow(this.#ctrl, parent);
    this.signal.addEventListener(
      "abort",
      () => {
        if (this.#done) return;
        const r: unknown = this.signal.reason;
        const code = r instanceof GroupError ? r.code : GroupErrorCode.SubscribeCanceled;
        this.#finish(r instanceof Error ? r : new GroupError(code, false));
        this.#reader.stream.stop(code);
      },
      { once: true },
    );
  }

  #finish(err: Error | undefined): void {
    if (this.#done) return;
    this.#done = true;
    this.#unfollow();
    this.#error = err;
    if (err && !this.#ctrl.signal.aborted) this.#ctrl.abort(err);
    this.#onDone(this);
  }

  /** The next frame, or null at the end of the group. With `frame`, its buffer is reused (the payload is copied in). */
  async readFrame(frame?: Frame, signal?: AbortSignal): Promise<Frame | null> {
    if (this.#error) throw this.#error;
    if (this.#done) return null;
    let payload: Uint8Array | null;
    try {
      // A deadline already passed fails the read even when a frame is buffered (as a Go/quic-go read does).
      if (this.#deadline !== undefined && this.#deadline <= Date.now()) throw expired();
      // Fast path: a frame already buffered needs no promise race, abort listener or timer.
      const ready =
        this.#pending === undefined && !signal?.aborted
          ? this.#reader.buffer.tryFrame(this.#maxFrameBytes)
          : undefined;
      if (ready !== undefined) return frame ? (frame.reset(), frame.write(ready), frame) : Frame.wrap(ready);
      const pending = (this.#pending ??= this.#reader.readFrame(this.#maxFrameBytes));
      pending.catch(() => {});
      // Two plain races, not AbortSignal.any: Node 20 keeps an entry for every composite in the caller's signal
      // (which may live for the whole application) until that signal aborts.
      payload = await withTimeout(
        abortable(abortable(pending, this.signal), signal),
        this.#deadline === undefined ? undefined : Math.max(1, this.#deadline - Date.now()),
        expired,
      );
      this.#pending = undefined;
    } catch (e) {
      throw this.#onError(e, signal);
    }
    if (payload === null) {
      this.#finish(undefined);
      return null;
    }
    if (frame) {
      frame.reset();
      frame.write(payload);
      return frame;
    }
    return Frame.wrap(payload);
  }

  #onError(e: unknown, callerSignal: AbortSignal | undefined): Error {
    if (this.#error) return this.#error;
    if (callerSignal?.aborted && e === callerSignal.reason)
      return e instanceof Error ? e : new Error(String(e));
    if (e === EXPIRED) {
      this.cancelRead(GroupErrorCode.ExpiredGroup);
      return this.#error!;
    }
    if (WireError.is(e)) {
      // Oversize or truncated frame: stop the stream so the publisher learns of it.
      this.cancelRead(GroupErrorCode.Internal);
      return new GroupError(GroupErrorCode.Internal, false, e.message, { cause: e });
    }
    const err = isMoqtError(e) || e instanceof SessionError ? e : toGroupError(e);
    this.#finish(err);
    return err;
  }

  /** Iterate the frames until the end of the group. Breaking out early cancels the group (SubscribeCanceled). */
  async *frames(): AsyncGenerator<Frame, void, undefined> {
    let complete = false;
    try {
      for (;;) {
        const f = await this.readFrame();
        if (f === null) {
          complete = true;
          return;
        }
        yield f;
      }
    } finally {
      if (!complete && !this.#done) this.cancelRead(GroupErrorCode.SubscribeCanceled);
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<Frame, void, undefined> {
    return this.frames();
  }

  /** Reads pending at or started after `deadline` fail, and the group is stopped with ExpiredGroup (3). */
  setReadDeadline(deadline: Date | number | undefined): void {
    this.#deadline =
      deadline === undefined ? undefined : typeof deadline === "number" ? deadline : deadline.getTime();
  }

  /** STOP_SENDING with `code`; later reads throw GroupError(code, local). */
  cancelRead(code: number): void {
    if (this.#done) return;
    this.#finish(new GroupError(code, false, "group cancelled"));
    this.#reader.stream.stop(code);
  }
}
