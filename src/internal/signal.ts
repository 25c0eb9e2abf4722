/** AbortSignal helpers: race a promise against a signal (listener always removed), combine signals, timeouts.
 *  @module @internal */

/** Resolve/reject like `p`, or reject with `signal.reason` when the signal aborts first. The listener is removed. */
export function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** Signals combined: aborts when any aborts (reason of the first). */
export function anySignal(signals: (AbortSignal | undefined)[]): AbortSignal {
  const list = signals.filter((s): s is AbortSignal => s !== undefined);
  if (list.length === 1) return list[0]!;
  return AbortSignal.any(list);
}

/** Reject with `makeError()` after `ms` unless `p` settles first; `ms <= 0` or non-finite means no timeout. */
export function withTimeout<T>(p: Promise<T>, ms: number | undefined, makeError: () => unknown): Promise<T> {
  if (ms === undefined || !(ms > 0) || !Number.isFinite(ms)) return p;
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(makeError()), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

/** Swallow a rejection on purpose (fire-and-forget cleanup whose failure has nowhere to go). */
export function ignore(p: Promise<unknown> | undefined): void {
  p?.catch(() => {});
}

/** Abort `ctrl` when `parent` aborts, without AbortSignal.any (which on Node 20 keeps every composite signal, and
 *  whatever its listeners hold, alive as long as the parent). The link is removed as soon as `ctrl` aborts for any
 *  reason, or by calling the returned unlink function. */
export function follow(ctrl: AbortController, parent: AbortSignal): () => void {
  if (parent.aborted) {
    ctrl.abort(parent.reason);
    return () => {};
  }
  const on = () => ctrl.abort(parent.reason);
  const unlink = () => parent.removeEventListener("abort", on);
  parent.addEventListener("abort", on, { once: true });
  ctrl.signal.addEventListener("abort", unlink, { once: true });
  return unlink;
}
