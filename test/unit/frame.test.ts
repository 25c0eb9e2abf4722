/** The public Frame API: newFrame, write, len/cap, reset, clone, body. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Frame, newFrame } from "../../src/index.js";
import { dec, enc } from "./helpers.js";

test("newFrame(capacity): empty with that capacity", () => {
  const f = newFrame(32);
  assert.ok(f instanceof Frame);
  assert.equal(f.len, 0);
  assert.equal(f.cap, 32);
  assert.equal(f.body().length, 0);
  assert.equal(newFrame().cap, 0);
});

test("write appends and returns the count; cap grows when needed", () => {
  const f = newFrame(4);
  assert.equal(f.write(enc("ab")), 2);
  assert.equal(f.write(enc("cd")), 2);
  assert.equal(f.cap, 4);
  assert.equal(f.write(enc("efgh")), 4);
  assert.equal(f.len, 8);
  assert.ok(f.cap >= 8);
  assert.equal(dec(f.body()), "abcdefgh");
  assert.equal(f.write(new Uint8Array(0)), 0);
  assert.equal(f.len, 8);
});

test("reset empties the payload and keeps the capacity", () => {
  const f = newFrame(16);
  f.write(enc("hello"));
  f.reset();
  assert.equal(f.len, 0);
  assert.equal(f.cap, 16);
  f.write(enc("x"));
  assert.equal(dec(f.body()), "x");
});

test("clone is independent of the original", () => {
  const f = newFrame(8);
  f.write(enc("abc"));
  const c = f.clone();
  f.reset();
  f.write(enc("zzz"));
  assert.equal(dec(c.body()), "abc");
  assert.equal(c.len, 3);
  c.write(enc("d"));
  assert.equal(dec(f.body()), "zzz");
  assert.equal(dec(c.body()), "abcd");
});

test("a wrapped (borrowed) frame copies before its first write, never modifying the source", () => {
  const src = enc("borrowed");
  const f = Frame.wrap(src);
  assert.equal(f.len, 8);
  assert.equal(f.cap, 8);
  f.write(enc("!"));
  assert.equal(dec(src), "borrowed");
  assert.equal(dec(f.body()), "borrowed!");
  const g = Frame.wrap(src);
  g.reset();
  g.write(enc("X"));
  assert.equal(dec(src), "borrowed");
  assert.equal(dec(g.body()), "X");
});
