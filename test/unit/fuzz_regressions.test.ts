/** Regression tests for failures found by `npm run fuzz` (fuzz/README.md), each hand-minimised from the fuzzer's
 *  counterexample and named after what went wrong. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  SessionError,
  SessionErrorCode,
  TrackMux,
  acceptTransport,
  newMemoryTransportPair,
} from "../../src/index.js";
import { ScriptedPeer } from "../support/scripted_peer.js";
import { rejection } from "./helpers.js";
import { runScenario, scenario } from "../../fuzz/session.js";

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

test("STOP_SENDING on the session stream closes the session with ProtocolViolation (3)", T, async () => {
  // Found while fixing the updateBitrate case above: the session kept running with a session stream that could no
  // longer carry SESSION_UPDATE; gomoqt closes with 3 when the session stream's context ends.
  const { peer, session } = await libServer();
  peer.session!.recv.stop(7);
  assert.equal((await peer.closed).closeCode, SessionErrorCode.ProtocolViolation);
  const e = await session.closed;
  assert.equal(e?.code, SessionErrorCode.ProtocolViolation);
  assert.equal(e?.remote, false);
});

// The session fuzz targets themselves, on fixed seeds, so the harness and its invariants keep running in CI.
for (const role of ["server", "client"] as const)
  test(`session fuzz target (${role}), 40 fixed-seed scripts`, { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(scenario, (sc) => runScenario(role, sc)),
      { seed: 20260101, numRuns: 40 },
    );
  });
