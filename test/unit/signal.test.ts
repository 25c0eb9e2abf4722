/** Internal AbortSignal helpers: one listener per parent however many waiters, unlinking, abort propagation. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { abortable, follow, onAbort } from "../../src/internal/signal.js";

test("1,000 followers and 1,000 abortable waits on one signal use one listener and all see the parent's reason", async () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on("warning", onWarning);
  try {
    const parent = new AbortController();
    const kids = Array.from({ length: 1000 }, () => new AbortController());
    for (const k of kids) follow(k, parent.signal);
    const waits = Array.from({ length: 1000 }, () =>
      abortable(new Promise<never>(() => {}), parent.signal).catch((e: unknown) => e),
    );
    assert.equal(getEventListeners(parent.signal, "abort").length, 1);
    const reason = new Error("gone");
    parent.abort(reason);
    assert.ok(kids.every((k) => k.signal.aborted && k.signal.reason === reason));
    for (const r of await Promise.all(waits)) assert.equal(r, reason);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(
      warnings.filter((w) => w.name === "MaxListenersExceededWarning"),
      [],
    );
  } finally {
    process.off("warning", onWarning);
  }
});

test("a child that aborts on its own, or is unlinked, no longer follows; settled waits are removed", async () => {
  const parent = new AbortController();
  const a = new AbortController();
  const b = new AbortController();
  const c = new AbortController();
  follow(a, parent.signal);
  const unlinkB = follow(b, parent.signal);
  follow(c, parent.signal);
  a.abort("own");
  unlinkB();
  let calls = 0;
  const off = onAbort(parent.signal, () => calls++);
  off();
  assert.equal(await abortable(Promise.resolve(7), parent.signal), 7);
  parent.abort("parent");
  assert.equal(a.signal.reason, "own");
  assert.equal(b.signal.aborted, false);
  assert.equal(c.signal.reason, "parent");
  assert.equal(calls, 0);
});

test("follow on an already aborted parent aborts at once with its reason", () => {
  const parent = new AbortController();
  parent.abort("early");
  const k = new AbortController();
  follow(k, parent.signal);
  assert.equal(k.signal.reason, "early");
  let called = false;
  onAbort(parent.signal, () => (called = true));
  assert.equal(called, false);
});
