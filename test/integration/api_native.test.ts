/** The session/track API suites (test/unit/cases/*.ts, run over the memory pair by the unit suite) over the native
 *  transports on loopback: raw QUIC (`moqt://`, ALPN moq-00) and WebTransport over HTTP/3 (`https://`). The same test
 *  bodies, so an in-memory transport is never their only proof. */
import { describe } from "node:test";
import { quic, webtransport } from "../unit/helpers.js";
import { register as session } from "../unit/cases/session.js";
import { register as track } from "../unit/cases/track.js";
import { register as announce } from "../unit/cases/announce.js";
import { register as mux } from "../unit/cases/mux.js";
import { register as setup } from "../unit/cases/setup.js";

for (const h of [quic, webtransport]) {
  describe(`API over ${h.label}`, () => {
    describe("setup", () => setup(h));
    describe("session", () => session(h));
    describe("track", () => track(h));
    describe("announce", () => announce(h));
    describe("mux", () => mux(h));
  });
}
