/** AbortSignal helpers: race a promise against a signal (listener always removed), follow a parent signal, timeouts.
 *  @module @internal */

/** Callbacks waiting on a signal's abort: one real listener per signal, however many waiters (Node warns past 10
 *  listeners on one EventTarget, and a session signal has one waiter per pending read, subscription and group). */
const waiters = new WeakMap<AbortSignal, Set<() => void>>();

/** The one real listener of `signal`, in its own function: a closure made inside `onAbort` would share that call's
 *  context, and so keep its first waiter alive for the signal's whole life. */
function watch(signal: AbortSignal): Set<() => void> {
  const fns = new Set<() => void>();
  waiters.set(signal, fns);
  signal.addEventListener(
    "abort",
    () => {
      waiters.delete(signal);
      for (const f of [...fns]) f();
      fns.clear();
    },
    { once: true },
  );
  return fns;
}

/** Call `fn` once when `signal` aborts (not if it already has). Returns the function that cancels the wait.
 *  Don't pass an `AbortSignal.any` composite: Node 20 keeps a composite with a listener alive until it aborts. */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  const set = waiters.get(signal) ?? watch(signal);
  const entry = () => fn();
  set.add(entry);
  return () => {
    set.delete(entry);
  };
}

/** Resolve/reject like `p`, or reject with `signal.reason` when the signal aborts first. The wait is removed. */
export function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const off = onAbort(signal, () => reject(signal.reason));
    p.then(
      (v) => {
        off();
        resolve(v);
      },
      (e) => {
        off();
        reject(e);
      },
    );
  });
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
  const unlink = onAbort(parent, () => ctrl.abort(parent.reason));
  ctrl.signal.addEventListener("abort", unlink, { once: true });
  return unlink;
}
