/** Session-level calls end to end over the transport under test (memory, raw QUIC, WebTransport): closeWithError
 *  both ways, closed, SESSION_UPDATE. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SessionError, SessionErrorCode, Versions, type SessionUpdateEvent } from "../../../src/index.js";
import { BiStreamType, SessionClient, SessionServer, encodeMessage } from "../../../src/wire/index.js";
import { MessageReader } from "../../../src/session/stream_reader.js";
import type { BiStream } from "../../../src/transport/transport.js";
import { aborted, defer, within, type Harness } from "../helpers.js";

/** Register this suite's tests for transport `h`. */
export function register(h: Harness): void {
  const T = { timeout: 10_000 };

  test(
    "closeWithError(code, msg): both sides' signal abort with SessionError(code), remote on the peer",
    T,
    async () => {
      const p = await h.pair();
      await p.client.closeWithError(0x2a, "going away");
      const local = await aborted(p.client.signal);
      const remote = await aborted(p.server.signal);
      assert.ok(local instanceof SessionError);
      assert.equal(local.code, 0x2a);
      assert.equal(local.remote, false);
      assert.ok(remote instanceof SessionError);
      assert.equal(remote.code, 0x2a);
      assert.equal(remote.remote, true);
      assert.match(remote.message, /going away/);
      const [cc, sc] = await Promise.all([p.client.closed, p.server.closed]);
      assert.equal(cc?.code, 0x2a);
      assert.equal(sc?.code, 0x2a);
      assert.equal(sc?.remote, true);
      // Idempotent, and the first code wins.
      await p.client.closeWithError(1, "again");
      await p.server.closeWithError(2, "late");
      assert.equal((await p.client.closed)?.code, 0x2a);
    },
  );

  test("closeWithError from the server side; NoError resolves closed with undefined", T, async () => {
    const p = await h.pair();
    await p.server.closeWithError(SessionErrorCode.NoError, "");
    assert.equal(await p.server.closed, undefined);
    assert.equal(await p.client.closed, undefined);
    const r = await aborted(p.client.signal);
    assert.ok(r instanceof SessionError);
    assert.equal(r.code, 0);
    assert.equal(r.remote, true);
  });

  test("error codes from closeWithError arrive unchanged (full uint32 range)", T, async () => {
    for (const code of [SessionErrorCode.ProtocolViolation, SessionErrorCode.GoAwayTimeout, 0xffffffff]) {
      const p = await h.pair();
      await p.server.closeWithError(code, "x");
      assert.equal((await p.client.closed)?.code, code);
    }
  });

  test("updateBitrate(n): the peer's updated() yields it and remoteBitrate reads it", T, async () => {
    const p = await h.pair();
    assert.equal(p.server.remoteBitrate, undefined);
    const got: SessionUpdateEvent[] = [];
    const two = defer();
    const it = p.server.updated();
    const loop = (async () => {
      for await (const u of it) {
        got.push(u);
        if (got.length === 2) two.resolve();
      }
    })();
    await p.client.updateBitrate(1_000_000);
    await p.client.updateBitrate(2_500_000.4);
    await two.promise;
    assert.deepEqual(
      got.map((u) => u.bitrate),
      [1_000_000, 2_500_000],
    );
    assert.equal(p.server.remoteBitrate, 2_500_000);
    // The other direction too.
    const back = p.client.updated()[Symbol.asyncIterator]();
    const first = back.next();
    await p.server.updateBitrate(64_000);
    assert.equal((await first).value?.bitrate, 64_000);
    assert.equal(p.client.remoteBitrate, 64_000);
    // updated() ends with the session.
    await p.close();
    await loop;
    assert.equal((await back.next()).done, true);
    await assert.rejects(p.client.updateBitrate(1), SessionError);
  });

  test("updated() after the session ended returns at once", T, async () => {
    const p = await h.pair();
    await p.close();
    for await (const u of p.client.updated()) assert.fail(`unexpected ${u.bitrate}`);
  });

  test("a closing session takes no new calls, even before its signal aborts", T, async () => {
    const p = await h.pair();
    const closing = p.client.closeWithError(0x9, "closing");
    // The signal aborts once the transport reports the close (so no stream reset overtakes it); calls made meanwhile
    // already fail with the close's code.
    await assert.rejects(
      p.client.subscribe("/x", "y"),
      (e: unknown) => e instanceof SessionError && e.code === 9 && !e.remote,
    );
    await assert.rejects(
      p.client.acceptAnnounce("/"),
      (e: unknown) => e instanceof SessionError && e.code === 9,
    );
    await assert.rejects(
      p.client.updateBitrate(1),
      (e: unknown) => e instanceof SessionError && e.code === 9,
    );
    await closing;
    assert.equal((p.client.signal.reason as SessionError).code, 9);
    assert.equal((await p.server.closed)?.code, 9);
    await p.close();
  });

  // A peer that closes may end the session stream just before (webtransport-go resets every stream of a closing
  // session); the close travels on no stream (raw QUIC) or another one (WebTransport capsule), so either can be
  // processed first here. Both orders must end the session with the peer's code, not ProtocolViolation (3).
  const ends: [string, (st: BiStream) => Promise<void>][] = [
    ["RESET_STREAM", async (st) => st.send.reset(0x99)],
    ["FIN", (st) => st.send.finish()],
    ["STOP_SENDING", async (st) => st.recv.stop(0x98)],
  ];
  for (const [what, end] of ends) {
    for (const order of ["end, then close", "close, then end"] as const) {
      test(
        `the peer's session stream ${what} and close with 0x42 (${order}): the session reports 0x42`,
        T,
        async () => {
          const c = await h.connect({ runAccept: false, dial: { config: { peerCloseGrace: 5000 } } });
          try {
            const st = c.serverTransport;
            const ss = await within(st.acceptBi(), "the session stream");
            assert.ok(ss);
            const reader = new MessageReader(ss.recv);
            assert.equal(await within(reader.readByte(), "the stream type"), BiStreamType.Session);
            await within(reader.readMessage(SessionClient, 1 << 16), "SESSION_CLIENT");
            await ss.send.write(
              encodeMessage(SessionServer, { version: Versions.Development, parameters: new Map() }),
            );
            const client = await within(c.client, "the client's setup");
            if (order === "end, then close") {
              await end(ss);
              // The close comes a little later, as over a lossy path (well inside the 5 s grace configured above).
              await new Promise((r) => setTimeout(r, 30));
              st.close(0x42, "bye");
            } else {
              st.close(0x42, "bye");
              await end(ss).catch(() => {});
            }
            const e = await within(client.closed, "the client session to end");
            assert.ok(e instanceof SessionError, String(e));
            assert.equal(e.code, 0x42);
            assert.equal(e.remote, true);
          } finally {
            await c.dispose();
          }
        },
      );
    }
  }

  test("calls after close fail with the SessionError", T, async () => {
    const p = await h.pair();
    await p.client.closeWithError(0x7, "done");
    await assert.rejects(
      p.client.subscribe("/x", "y"),
      (e: unknown) => e instanceof SessionError && e.code === 7,
    );
    await assert.rejects(
      p.client.acceptAnnounce("/"),
      (e: unknown) => e instanceof SessionError && e.code === 7,
    );
    await assert.rejects(
      p.server.subscribe("/x", "y"),
      (e: unknown) => e instanceof SessionError && e.code === 7,
    );
  });
}
