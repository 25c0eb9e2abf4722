/** Session-level calls over the in-memory transport pair; the same cases run over raw QUIC and WebTransport in
 *  test/integration/api_native.test.ts. The cases live in ./cases/session.ts; below, checks that need to watch the
 *  transport boundary itself. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SessionError, TrackMux, newMemoryTransportPair } from "../../src/index.js";
import { acceptSession, dialSession } from "../../src/session/setup.js";
import { fromWebTransport } from "../../src/transport/webtransport.js";
import type { BiStream, RecvStream, SendStream, Transport } from "../../src/transport/transport.js";
import { register } from "./cases/session.js";
import { aborted, defer, enc, memory, rejection, within, TEST_CONFIG } from "./helpers.js";

register(memory);

/** `t` with every stream reset/stop and the close recorded in `log`, in call order. */
function recording(t: Transport, log: string[]): Transport {
  const send = (s: SendStream): SendStream => {
    const reset = s.reset.bind(s);
    s.reset = (code) => {
      log.push(`reset ${code}`);
      reset(code);
    };
    return s;
  };
  const recv = (r: RecvStream): RecvStream => {
    const stop = r.stop.bind(r);
    r.stop = (code) => {
      log.push(`stop ${code}`);
      stop(code);
    };
    return r;
  };
  const bi = (b: BiStream): BiStream => ({ send: send(b.send), recv: recv(b.recv) });
  return {
    protocol: t.protocol,
    closed: t.closed,
    openBi: async () => bi(await t.openBi()),
    openUni: async () => send(await t.openUni()),
    acceptBi: async () => {
      const b = await t.acceptBi();
      return b && bi(b);
    },
    acceptUni: async () => {
      const r = await t.acceptUni();
      return r && recv(r);
    },
    close: (code, reason) => {
      log.push(`close ${code}`);
      t.close(code, reason);
    },
  };
}

// Regression: closeWithError aborted the session's signal before closing the transport, so the teardown of every
// subscription and group reset its stream ahead of the close; over a real transport those resets overtook the close
// and the peer's acceptGroup failed with SubscribeError 0 instead of the session's code (api_native.test.ts, "the
// session ending fails pending subscription calls"). On the wire nothing may be reset before the close.
test("closeWithError closes the transport before any stream of the session is reset or stopped", async () => {
  const [c, s] = newMemoryTransportPair();
  const log: string[] = [];
  const serverMux = new TrackMux();
  const [server, client] = await within(
    Promise.all([
      acceptSession(recording(fromWebTransport(s), log), { mux: serverMux, config: TEST_CONFIG }),
      dialSession(fromWebTransport(c), { mux: new TrackMux(), config: TEST_CONFIG }),
    ]),
    "setup",
  );
  const writing = defer();
  serverMux.publishFunc(undefined, "/live", async (tw) => {
    const g = await tw.openGroup();
    await g.writeFrame(enc("a"));
    writing.resolve();
    await aborted(tw.signal);
  });
  const tr = await client.subscribe("/live", "v");
  const g = await within(tr.acceptGroup(), "the group");
  await within(writing.promise, "the publisher's first frame");
  const pending = rejection(tr.acceptGroup());
  await g.readFrame();
  // The client also listens for announcements: the server has an announcement writer to tear down too.
  await client.acceptAnnounce("/");
  assert.deepEqual(log, []);
  await server.closeWithError(0x42, "bye");
  assert.equal(log[0], "close 66", log.join(", "));
  const e = await within(pending, "acceptGroup to fail");
  assert.ok(e instanceof SessionError, String(e));
  assert.equal(e.code, 0x42);
  assert.ok(server.signal.aborted);
});
