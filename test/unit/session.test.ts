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

// A WebTransport close takes up to a round trip (the capsule, then the peer's close); a session that is closing must
// not serve what the peer opens meanwhile (e.g. a relay closing a session whose token expired).
test("a closing session serves no stream the peer opens before the close completes", async () => {
  const [c, s] = newMemoryTransportPair();
  const release = defer();
  const inner = fromWebTransport(s);
  const slowClose: Transport = {
    ...recording(inner, []),
    close: (code, reason) => void release.promise.then(() => inner.close(code, reason)),
  };
  const serverMux = new TrackMux();
  let served = 0;
  serverMux.publishFunc(undefined, "/live", async (tw) => {
    served++;
    await tw.writeInfo();
    await aborted(tw.signal);
  });
  const [server, client] = await within(
    Promise.all([
      acceptSession(slowClose, { mux: serverMux, config: TEST_CONFIG }),
      dialSession(fromWebTransport(c), { mux: new TrackMux(), config: TEST_CONFIG }),
    ]),
    "setup",
  );
  await client.subscribe("/live", "before");
  assert.equal(served, 1);
  const closing = server.closeWithError(0x42, "bye");
  assert.equal(server.signal.aborted, false); // the transport has not reported the close yet
  const late = rejection(client.subscribe("/live", "during"));
  // Give the server every chance to take the stream: many loop turns while the close is held back.
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  assert.equal(served, 1);
  release.resolve();
  await within(closing, "the close");
  const e = await within(late, "the late subscribe to fail");
  assert.ok(e instanceof SessionError, String(e));
  assert.equal(e.code, 0x42);
  assert.equal(served, 1);
});
