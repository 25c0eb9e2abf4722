/** AsyncQueue: a bounded FIFO with async consumers; closing it fails or ends pending and later `next` calls.
 *
 *  Producers never wait: `push` returns false when the queue is full, and the caller decides (drop oldest, drop the
 *  consumer, reset). This keeps a slow consumer from blocking the producer or growing memory.
 *  @module @internal */
import { Deferred } from "./deferred.js";

export class AsyncQueue<T> {
  #items: T[] = [];
  #head = 0;
  #waiters: Deferred<T | undefined>[] = [];
  #closed = false;
  #error: unknown = undefined;
  #hasError = false;

  constructor(readonly capacity = Infinity) {}

  get size(): number {
    return this.#items.length - this.#head;
  }
  get closed(): boolean {
    return this.#closed;
  }

  /** Add an item; false when full or closed. */
  push(item: T): boolean {
    if (this.#closed) return false;
    const w = this.#waiters.shift();
    if (w) {
      w.resolve(item);
      return true;
    }
    if (this.size >= this.capacity) return false;
    this.#items.push(item);
    return true;
  }

  /** Add an item, dropping (and returning) the oldest one when full. */
  pushDropOldest(item: T): T | undefined {
    if (this.push(item)) return undefined;
    const old = this.shift();
    this.push(item);
    return old;
  }

  /** Remove and return the oldest item (for drop-oldest policies). */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const v = this.#items[this.#head]!;
    this.#items[this.#head] = undefined as T;
    this.#head++;
    if (this.#head > 64 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return v;
  }

  /** Items still queued (for cleanup on close). */
  drain(): T[] {
    const out = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return out;
  }

  /** Next item; `undefined` once closed cleanly and empty; rejects with the close error once closed with one. */
  next(): Promise<T | undefined> {
    if (this.size > 0) return Promise.resolve(this.shift());
    if (this.#closed) return this.#hasError ? Promise.reject(this.#error) : Promise.resolve(undefined);
    const d = new Deferred<T | undefined>();
    this.#waiters.push(d);
    return d.promise;
  }

  /** Forget a waiter (after its caller gave up, e.g. on abort). */
  cancelWaiter(p: Promise<T | undefined>): void {
    const i = this.#waiters.findIndex((w) => w.promise === p);
    if (i >= 0) this.#waiters.splice(i, 1);
  }

  /** Close: queued items stay readable; then `next` ends (no error) or rejects with `error`. */
  close(error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    if (error !== undefined) {
      this.#hasError = true;
      this.#error = error;
    }
    for (const w of this.#waiters.splice(0)) {
      if (this.#hasError) w.reject(error);
      else w.resolve(undefined);
    }
  }
}
