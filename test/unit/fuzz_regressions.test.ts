/** Regression tests for failures found by `npm run fuzz` (fuzz/README.md), each hand-minimised from the fuzzer's
 *  counterexample and named after what went wrong. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SessionError, TrackMux, acceptTransport, newMemoryTransportPair } from "../../src/index.js";
import { ScriptedPeer } from "../support/scripted_peer.js";
import { rejection } from "./helpers.js";

const T = { timeout: 10_000 };

async function libServer(mux = new TrackMux()) {
  const [c, s] = newMemoryTransportPair();
  const peer = new ScriptedPeer(c);
  const serverP = acceptTransport(s, { mux });
  await peer.setupAsClient();
  const session = await serverP;
  return { peer, session, mux };
}

test(
  "updateBitrate after the peer stopped the session stream rejects with a SessionError, not a StreamError",
  T,
  async () => {
    // fuzz session/server seed 1: [sessionEnd stop 0, libBitrate 0]
    const { peer, session } = await libServer();
    peer.session!.recv.stop(0);
    const e = await rejection(
      (async () => {
        for (;;) await session.updateBitrate(1000); // until the STOP_SENDING has arrived
      })(),
    );
    assert.ok(e instanceof SessionError, String(e));
    peer.close(0, "");
    await session.closed;
  },
);
