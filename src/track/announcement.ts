/** Announcement: a broadcast path that is active until its signal aborts or its end function is called.
 *
 *  `afterFunc` registers cleanup run once at the end (asynchronously if already ended); its stop function returns
 *  true when it prevented the call. Spec: gomoqt.md §2.6.
 *  @module */
import { isValidPath, type BroadcastPath } from "./path.js";

export class Announcement {
  readonly broadcastPath: BroadcastPath;
  readonly ended: Promise<void>;
  #active = true;
  #resolveEnded!: () => void;
  #after = new Set<() => void>();

  /** @internal use `newAnnouncement()` */
  constructor(path: BroadcastPath, signal?: AbortSignal) {
    if (!isValidPath(path))
      throw new TypeError(`moqt: invalid broadcast path ${JSON.stringify(path)} (must start with "/")`);
    this.broadcastPath = path;
    this.ended = new Promise((r) => (this.#resolveEnded = r));
    if (signal) {
      if (signal.aborted) this.end();
      else signal.addEventListener("abort", () => this.end(), { once: true });
    }
  }

  isActive(): boolean {
    return this.#active;
  }

  /** Run `fn` once when the announcement ends. Returns `stop()`: true if it unregistered `fn` before it ran. */
  afterFunc(fn: () => void): () => boolean {
    if (!this.#active) {
      let done = false;
      queueMicrotask(() => {
        if (done) return;
        done = true;
        fn();
      });
      return () => {
        if (done) return false;
        done = true;
        return true;
      };
    }
    const wrapped = () => fn();
    this.#after.add(wrapped);
    return () => this.#after.delete(wrapped);
  }

  /** @internal end the announcement (idempotent). */
  end(): void {
    if (!this.#active) return;
    this.#active = false;
    const fns = [...this.#after];
    this.#after.clear();
    for (const f of fns) {
      try {
        f();
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
    this.#resolveEnded();
  }

  toString(): string {
    return `Announcement(${this.broadcastPath}${this.#active ? "" : ", ended"})`;
  }
}

/** A new active announcement and the function that ends it. It also ends when `signal` aborts. */
export function newAnnouncement(
  signal: AbortSignal | undefined,
  path: BroadcastPath,
): [Announcement, () => void] {
  const a = new Announcement(path, signal);
  return [a, () => a.end()];
}
