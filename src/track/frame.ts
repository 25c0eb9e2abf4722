/** Frame: one payload of a group, with gomoqt's buffer semantics (len/cap, write appends, reset, clone).
 *
 *  A Frame read from a group may borrow the received bytes (no copy); it copies them on the first `write` so a
 *  borrowed buffer is never modified. Spec: gomoqt.md §2.7.
 *  @module */

export class Frame {
  #buf: Uint8Array;
  #len: number;
  #borrowed: boolean;

  /** @internal use `newFrame()` or `Frame.wrap()` */
  constructor(buf: Uint8Array, len: number, borrowed: boolean) {
    this.#buf = buf;
    this.#len = len;
    this.#borrowed = borrowed;
  }

  /** A frame over `bytes` without copying (the caller must not modify `bytes` afterwards). */
  static wrap(bytes: Uint8Array): Frame {
    return new Frame(bytes, bytes.length, true);
  }

  /** The payload: a view of `len` bytes, valid until the next `write`/`reset`. */
  body(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }
  get len(): number {
    return this.#len;
  }
  get cap(): number {
    return this.#borrowed ? this.#len : this.#buf.length;
  }

  /** Append `b` to the payload; returns the number of bytes written. */
  write(b: Uint8Array): number {
    const need = this.#len + b.length;
    if (this.#borrowed || need > this.#buf.length) {
      let cap = Math.max(need, this.#borrowed ? need : this.#buf.length * 2, 64);
      if (cap < need) cap = need;
      const next = new Uint8Array(cap);
      next.set(this.#buf.subarray(0, this.#len));
      this.#buf = next;
      this.#borrowed = false;
    }
    this.#buf.set(b, this.#len);
    this.#len = need;
    return b.length;
  }

  /** Empty the payload, keeping the capacity (a borrowed buffer is dropped). */
  reset(): void {
    if (this.#borrowed) {
      this.#buf = new Uint8Array(0);
      this.#borrowed = false;
    }
    this.#len = 0;
  }

  /** An independent copy. */
  clone(): Frame {
    const b = this.#buf.slice(0, this.#len);
    return new Frame(b, b.length, false);
  }

  /** @internal replace the payload with borrowed bytes (readFrame into a caller's Frame copies instead). */
  setBorrowed(bytes: Uint8Array): void {
    this.#buf = bytes;
    this.#len = bytes.length;
    this.#borrowed = true;
  }
}

/** A new empty frame with room for `capacity` bytes. */
export function newFrame(capacity = 0): Frame {
  return new Frame(new Uint8Array(capacity), 0, false);
}
