/** GroupWriter's batching of small frames, against a recording SendStream (which writes happen, with which bytes
 *  and FIN, and when they resolve) and end to end over the memory pair (frames of every size class arrive intact
 *  and in order); FIN/reset/cancel semantics and codes unchanged by the batching. */
import { getEventListeners } from "node:events";
import { test } from "node:test";
import assert from "node:assert/strict";
import { GroupError, GroupErrorCode, newFrame } from "../../src/index.js";
import { BATCH_FLUSH, BATCH_FRAME_MAX, GroupWriter } from "../../src/track/group_writer.js";
import type { SendStream } from "../../src/transport/transport.js";
import { StreamError } from "../../src/transport/stream_error.js";
import { ChunkBuffer } from "../../src/wire/index.js";
import { aborted, defer, pair, rejection } from "./helpers.js";

const T = { timeout: 10_000 };

/** A SendStream that records every call; `hold` makes writes wait until released; `failWith` makes them reject. */
class RecordingStream implements SendStream {
  writes: { bytes: Uint8Array; fin: boolean }[] = [];
  resets: number[] = [];
  finishes = 0;
  hold: Promise<void> | undefined;
  failWith: Error | undefined;
  #stopped = defer<number | undefined>();
  readonly stopped = this.#stopped.promise;

  async write(chunk: Uint8Array, fin = false): Promise<void> {
    // Copy: the writer must not touch a chunk after handing it over, and this catches it if it does.
    this.writes.push({ bytes: chunk.slice(), fin });
    if (this.failWith) throw this.failWith;
    if (this.hold) await this.hold;
  }
  finish(): Promise<void> {
    this.finishes++;
    return this.write(new Uint8Array(0), true);
  }
  reset(code: number): void {
    this.resets.push(code);
  }
  setPriority(): void {}
  stop(code: number): void {
    this.#stopped.resolve(code);
  }
  /** Every byte written, in order. */
  bytes(): Uint8Array {
    const n = this.writes.reduce((a, w) => a + w.bytes.length, 0);
    const out = new Uint8Array(n);
    let off = 0;
    for (const w of this.writes) {
      out.set(w.bytes, off);
      off += w.bytes.length;
    }
    return out;
  }
}

function writer(s: RecordingStream, parent = new AbortController().signal): GroupWriter {
  return new GroupWriter(s, undefined, 0, parent, () => {});
}

/** Frame payloads decoded from a byte string (`varint(len) || payload`…); throws on a partial frame. */
function frames(bytes: Uint8Array): Uint8Array[] {
  const b = new ChunkBuffer();
  b.push(bytes);
  const out: Uint8Array[] = [];
  for (let f = b.tryFrame(1 << 24); f !== undefined; f = b.tryFrame(1 << 24)) out.push(f.slice());
  b.assertEmpty("frame");
  return out;
}

const payload = (n: number, seed: number): Uint8Array => {
  const p = new Uint8Array(n);
  for (let i = 0; i < n; i++) p[i] = (i * 7 + seed) & 0xff;
  return p;
};

const turn = () => new Promise((r) => setImmediate(r));

test("small frames written in one turn share transport writes and arrive intact, in order", T, async () => {
  const s = new RecordingStream();
  const g = writer(s);
  const sent: Uint8Array[] = [];
  for (let i = 0; i < 100; i++) {
    const p = payload(1000, i);
    sent.push(p);
    await g.writeFrame(p);
  }
  await turn();
  assert.ok(s.writes.length >= 2, `${s.writes.length} writes`);
  assert.ok(
    s.writes.length <= Math.ceil((100 * 1002) / BATCH_FLUSH) + 1,
    `${s.writes.length} writes for 100 frames`,
  );
  assert.deepEqual(frames(s.bytes()), sent);
  assert.equal(
    s.writes.some((w) => w.fin),
    false,
  );
});

test("a lone small frame is written before the event loop moves on (no close needed)", T, async () => {
  const s = new RecordingStream();
  const g = writer(s);
  await g.writeFrame(payload(10, 1));
  assert.equal(s.writes.length, 0, "batched, not yet written");
  await turn();
  assert.equal(s.writes.length, 1);
  assert.deepEqual(frames(s.bytes()), [payload(10, 1)]);
});

test("a batched frame's buffer or Frame may be reused as soon as writeFrame returns", T, async () => {
  const s = new RecordingStream();
  const g = writer(s);
  const buf = new Uint8Array(3);
  const f = newFrame(8);
  for (let i = 0; i < 5; i++) {
    buf.fill(i);
    void g.writeFrame(buf);
    f.reset();
    f.write(new Uint8Array([100 + i]));
    void g.writeFrame(f);
  }
  await g.close();
  assert.deepEqual(
    frames(s.bytes()).map((p) => [...p]),
    [0, 1, 2, 3, 4].flatMap((i) => [[i, i, i], [100 + i]]),
  );
});

test(
  "sizes around the batching limit, 0 bytes and a frame above the coalescing limit keep their order",
  T,
  async () => {
    const s = new RecordingStream();
    const g = writer(s);
    const sizes = [
      0,
      1,
      BATCH_FRAME_MAX - 3,
      BATCH_FRAME_MAX - 2,
      BATCH_FRAME_MAX,
      5,
      70_000,
      2,
      BATCH_FLUSH,
      3,
    ];
    const sent = sizes.map((n, i) => payload(n, i));
    for (const p of sent) await g.writeFrame(p);
    await g.close();
    assert.deepEqual(frames(s.bytes()), sent);
    assert.equal(s.writes.filter((w) => w.fin).length, 1);
    assert.equal(s.writes.at(-1)!.fin, true);
  },
);

test("close(): the pending batch and FIN go in one write; an empty group is a bare FIN", T, async () => {
  const s = new RecordingStream();
  const g = writer(s);
  await g.writeFrame(payload(5, 0));
  await g.writeFrame(payload(6, 0));
  await g.close();
  assert.equal(s.writes.length, 1);
  assert.equal(s.writes[0]!.fin, true);
  assert.deepEqual(frames(s.bytes()), [payload(5, 0), payload(6, 0)]);
  await g.close(); // idempotent
  assert.equal(s.writes.length, 1);
  await assert.rejects(g.writeFrame(payload(1, 0)), GroupError);

  const e = new RecordingStream();
  await writer(e).close();
  assert.deepEqual(
    e.writes.map((w) => [w.bytes.length, w.fin]),
    [[0, true]],
  );
});

test(
  "a batch reaching BATCH_FLUSH is written at once and writeFrame waits for the transport",
  T,
  async () => {
    const s = new RecordingStream();
    const release = defer<void>();
    s.hold = release.promise;
    const g = writer(s);
    const n = Math.ceil(BATCH_FLUSH / 1002);
    for (let i = 0; i < n - 1; i++) await g.writeFrame(payload(1000, i));
    assert.equal(s.writes.length, 0);
    let resolved = false;
    const last = g.writeFrame(payload(1000, n)).then(() => (resolved = true));
    assert.equal(s.writes.length, 1, "written synchronously when full");
    await turn();
    assert.equal(resolved, false, "backpressure: waits for the transport");
    release.resolve();
    await last;
    assert.equal(resolved, true);
  },
);

test(
  "cancelWrite(c) resets with c, drops the unsent batch, and later writes reject with GroupError c",
  T,
  async () => {
    const s = new RecordingStream();
    const g = writer(s);
    await g.writeFrame(payload(10, 0));
    g.cancelWrite(77);
    await turn();
    assert.deepEqual(s.resets, [77]);
    assert.equal(s.writes.length, 0, "the batch was discarded");
    assert.equal(g.signal.aborted, true);
    const e = await rejection(g.writeFrame(payload(1, 0)));
    assert.ok(e instanceof GroupError && e.code === 77 && !e.remote, String(e));
    await assert.rejects(g.close(), (x: unknown) => x instanceof GroupError && x.code === 77);
  },
);

test("the parent signal aborting resets with PublishAborted (5) and drops the batch", T, async () => {
  const s = new RecordingStream();
  const parent = new AbortController();
  const g = writer(s, parent.signal);
  await g.writeFrame(payload(10, 0));
  parent.abort(new Error("track gone"));
  await turn();
  assert.deepEqual(s.resets, [GroupErrorCode.PublishAborted]);
  assert.equal(s.writes.length, 0);
  await assert.rejects(g.writeFrame(payload(1, 0)));
});

test("a batch written in the background that fails fails the group with the peer's code", T, async () => {
  const s = new RecordingStream();
  s.failWith = new StreamError(9, true);
  const g = writer(s);
  await g.writeFrame(payload(10, 0)); // batched: resolves
  const reason = await aborted(g.signal);
  assert.ok(reason instanceof GroupError && reason.code === 9 && reason.remote, String(reason));
  const e = await rejection(g.writeFrame(payload(1, 0)));
  assert.ok(e instanceof GroupError && e.code === 9 && e.remote, String(e));
  await assert.rejects(g.close(), (x: unknown) => x instanceof GroupError && x.code === 9);
});

test("the peer's STOP_SENDING fails the group with its code, remote (batch dropped)", T, async () => {
  const s = new RecordingStream();
  const g = writer(s);
  await g.writeFrame(payload(10, 0));
  s.stop(4);
  const reason = await aborted(g.signal);
  assert.ok(reason instanceof GroupError && reason.code === 4 && reason.remote, String(reason));
  await turn();
  assert.equal(s.writes.length, 0);
  await assert.rejects(g.writeFrame(payload(1, 0)), (x: unknown) => x instanceof GroupError && x.code === 4);
});

test(
  "end to end over the memory pair: 1000 mixed-size frames in 3 groups arrive intact and in order",
  T,
  async () => {
    const p = await pair();
    const sizes = Array.from({ length: 1000 }, (_, i) =>
      i % 97 === 0 ? 40_000 : i % 13 === 0 ? BATCH_FRAME_MAX - 2 : (i * 37) % 1500,
    );
    const groups = [sizes.slice(0, 300), sizes.slice(300, 301), sizes.slice(301)];
    p.serverMux.publishFunc(undefined, "/live", async (tw) => {
      for (const [gi, gs] of groups.entries()) {
        const g = await tw.openGroup();
        for (const [i, n] of gs.entries()) await g.writeFrame(payload(n, gi * 1000 + i));
        await g.close();
      }
      await aborted(tw.signal);
    });
    const tr = await p.client.subscribe("/live", "v");
    for (const [gi, gs] of groups.entries()) {
      const g = await tr.acceptGroup();
      assert.equal(g.groupSequence, gi);
      const got: Uint8Array[] = [];
      for await (const f of g.frames()) got.push(f.body().slice());
      assert.equal(got.length, gs.length);
      for (const [i, n] of gs.entries())
        assert.deepEqual(got[i], payload(n, gi * 1000 + i), `group ${gi} frame ${i}`);
    }
    await p.close();
  },
);

/** A RecordingStream that also takes prefix and payload apart (like the native adapter's writeParts). */
class PartsStream extends RecordingStream {
  parts: { head: Uint8Array; body: Uint8Array }[] = [];
  async writeParts(head: Uint8Array, body: Uint8Array, fin = false): Promise<void> {
    this.parts.push({ head: head.slice(), body });
    const both = new Uint8Array(head.length + body.length);
    both.set(head);
    both.set(body, head.length);
    await this.write(both, fin);
  }
}

test(
  "frames above BATCH_FRAME_MAX go out as prefix + the caller's payload (no copy) where the stream allows",
  T,
  async () => {
    const s = new PartsStream();
    const g = writer(s);
    const small = payload(100, 1);
    const big = payload(BATCH_FRAME_MAX + 10, 2);
    await g.writeFrame(small);
    await g.writeFrame(big);
    await g.writeFrame(small);
    await g.close();
    assert.equal(s.parts.length, 1);
    assert.equal(s.parts[0]!.body, big, "the payload itself, not a copy");
    // the pending small frame (102 bytes) rides in the head, then varint(4106)
    assert.equal(s.parts[0]!.head.length, 104);
    assert.deepEqual([...s.parts[0]!.head.subarray(102)], [0x50, 0x0a]);
    assert.deepEqual(frames(s.bytes()), [small, big, small]);
  },
);

test(
  "a header given to the writer goes out with the first frame of the turn, or alone once idle",
  T,
  async () => {
    const hdr = new Uint8Array([0, 1, 2]);
    // alone: written without any frame, before the event loop moves on
    const a = new PartsStream();
    new GroupWriter(a, hdr, 0, new AbortController().signal, () => {});
    assert.equal(a.writes.length, 0);
    await turn();
    assert.deepEqual(
      a.writes.map((w) => [...w.bytes]),
      [[0, 1, 2]],
    );
    // with a small frame: one write
    const b = new PartsStream();
    const gb = new GroupWriter(b, hdr, 0, new AbortController().signal, () => {});
    await gb.writeFrame(payload(5, 0));
    await turn();
    assert.equal(b.writes.length, 1);
    assert.deepEqual([...b.writes[0]!.bytes.subarray(0, 3)], [0, 1, 2]);
    assert.deepEqual(frames(b.writes[0]!.bytes.subarray(3)), [payload(5, 0)]);
    // with a big frame: header + prefix in the head of one writeParts, the payload not copied
    const c = new PartsStream();
    const gc = new GroupWriter(c, hdr, 0, new AbortController().signal, () => {});
    const big = payload(BATCH_FRAME_MAX + 1, 3);
    await gc.writeFrame(big);
    await turn();
    assert.equal(c.writes.length, 1);
    assert.deepEqual([...c.parts[0]!.head.subarray(0, 3)], [0, 1, 2]);
    assert.equal(c.parts[0]!.body, big);
    assert.deepEqual(frames(c.writes[0]!.bytes.subarray(3)), [big]);
    // closed at once: header and FIN in one write
    const d = new PartsStream();
    await new GroupWriter(d, hdr, 0, new AbortController().signal, () => {}).close();
    await turn();
    assert.deepEqual(
      d.writes.map((w) => [[...w.bytes], w.fin]),
      [[[0, 1, 2], true]],
    );
  },
);

test(
  "writers that finish leave no listener on the track's signal; an open writer's signal follows the track",
  T,
  async () => {
    const parent = new AbortController();
    const base = getEventListeners(parent.signal, "abort").length;
    const ws = Array.from({ length: 50 }, () => writer(new RecordingStream(), parent.signal));
    assert.equal(getEventListeners(parent.signal, "abort").length, base + 50);
    for (const [i, w] of ws.entries()) {
      if (i % 2) w.cancelWrite(7);
      else await w.close();
    }
    assert.equal(getEventListeners(parent.signal, "abort").length, base);
    // a cancelled writer's signal, asked for afterwards, is aborted with its error
    const r = ws[1]!.signal.reason as unknown;
    assert.ok(r instanceof GroupError && r.code === 7, String(r));
    // a closed writer's signal is not aborted, and no longer follows the track
    const closed = ws[0]!;
    assert.equal(closed.signal.aborted, false);
    // an open writer's signal, once asked for, follows the track (and unlinks itself)
    const open = writer(new RecordingStream(), parent.signal);
    const sig = open.signal;
    parent.abort(new Error("track gone"));
    assert.equal(closed.signal.aborted, false);
    assert.equal(sig.aborted, true);
    assert.equal((sig.reason as Error).message, "track gone");
    assert.equal(getEventListeners(parent.signal, "abort").length, 0);
  },
);
