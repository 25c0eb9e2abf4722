/** Session setup end to end over the memory pair: versions, paths, extensions, SetupRouter, rejections. */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DefaultRouter,
  DefaultTrackMux,
  PARAM_PATH,
  SessionError,
  SessionErrorCode,
  SetupRouter,
  TrackMux,
  Versions,
  accept,
  acceptTransport,
  dialTransport,
  handleFunc,
  newMemoryTransportPair,
  type SetupRequest,
} from "../../src/index.js";
import { dec, enc, rejection } from "./helpers.js";

test("version, path and extensions travel both ways", async () => {
  const [c, s] = newMemoryTransportPair();
  const mux = new TrackMux();
  let req: SetupRequest | undefined;
  const serverP = acceptTransport(s, {
    setupHandler: async (w, r) => {
      req = r;
      w.setExtensions(new Map([[0x20, enc("server-ext")]]));
      await accept(w, r, mux);
    },
  });
  const client = await dialTransport(c, {
    path: "/room",
    extensions: new Map([[0x10, enc("client-ext")]]),
  });
  const server = await serverP;
  assert.equal(client.version, Versions.Development);
  assert.equal(server.version, Versions.Development);
  assert.deepEqual(client.versions, [Versions.Development]);
  assert.deepEqual(server.versions, [Versions.Development]);
  assert.equal(dec(server.clientExtensions.get(0x10)!), "client-ext");
  assert.equal(dec(client.serverExtensions.get(0x20)!), "server-ext");
  assert.equal(dec(server.serverExtensions.get(0x20)!), "server-ext");
  // Without sendPathParameter (WebTransport) no path parameter is sent.
  assert.equal(server.clientExtensions.has(PARAM_PATH), false);
  assert.equal(req!.path, "/");
  assert.equal(client.path, "/room");
  assert.equal(server.mux, mux);
  assert.equal(client.mux, DefaultTrackMux);
  await client.closeWithError(0, "");
  await server.closed;
});

test("sendPathParameter puts the path in parameter 0x01 and the server's SetupRequest.path uses it", async () => {
  const [c, s] = newMemoryTransportPair();
  let req: SetupRequest | undefined;
  const serverP = acceptTransport(s, {
    setupHandler: async (w, r) => {
      req = r;
      await accept(w, r, new TrackMux());
    },
  });
  const client = await dialTransport(c, { path: "/raw/quic", sendPathParameter: true });
  const server = await serverP;
  assert.equal(dec(req!.clientExtensions.get(PARAM_PATH)!), "/raw/quic");
  assert.equal(req!.path, "/raw/quic");
  assert.equal(server.path, "/raw/quic");
  assert.equal(dec(client.clientExtensions.get(PARAM_PATH)!), "/raw/quic");
  await server.closeWithError(0, "");
  await client.closed;
});

test("acceptTransport's path option (the WebTransport URL path) overrides the parameter", async () => {
  const [c, s] = newMemoryTransportPair();
  const serverP = acceptTransport(s, { path: "/from-url", mux: new TrackMux() });
  const client = await dialTransport(c, { path: "/param", sendPathParameter: true });
  const server = await serverP;
  assert.equal(server.path, "/from-url");
  await client.closeWithError(0, "");
});

async function routed(router: SetupRouter, path: string) {
  const [c, s] = newMemoryTransportPair();
  const serverP = acceptTransport(s, { setupHandler: router });
  const dialP = dialTransport(c, { path, sendPathParameter: true });
  return { serverP, dialP };
}

test("SetupRouter routes exact paths; an unknown path is rejected with SetupFailed (0x13)", async () => {
  const router = new SetupRouter();
  const mux = new TrackMux();
  const seen: string[] = [];
  router.handleFunc("/a", async (w, r) => {
    seen.push(r.path);
    await accept(w, r, mux);
  });
  router.handle("/b", async (w, r) => {
    seen.push(r.path);
    await accept(w, r, mux);
  });

  for (const p of ["/a", "/b"]) {
    const { serverP, dialP } = await routed(router, p);
    const [server, client] = await Promise.all([serverP, dialP]);
    assert.equal(server.path, p);
    await client.closeWithError(0, "");
  }
  assert.deepEqual(seen, ["/a", "/b"]);

  for (const p of ["/a/", "/c", "/", "/ab"]) {
    const { serverP, dialP } = await routed(router, p);
    const dialErr = await rejection(dialP);
    assert.ok(dialErr instanceof SessionError, String(dialErr));
    assert.equal(dialErr.code, SessionErrorCode.SetupFailed);
    assert.equal(dialErr.remote, true);
    const serverErr = await rejection(serverP);
    assert.ok(serverErr instanceof SessionError);
    assert.equal(serverErr.code, SessionErrorCode.SetupFailed);
  }
  assert.deepEqual(seen, ["/a", "/b"]);
  assert.throws(() => router.handle("no-slash", () => {}), TypeError);
});

test("DefaultRouter and the package-level handleFunc", async () => {
  const mux = new TrackMux();
  handleFunc("/default-router-test", (w, r) => accept(w, r, mux).then(() => {}));
  const [c, s] = newMemoryTransportPair();
  const serverP = acceptTransport(s, { setupHandler: DefaultRouter });
  const client = await dialTransport(c, { path: "/default-router-test", sendPathParameter: true });
  const server = await serverP;
  assert.equal(server.mux, mux);
  await client.closeWithError(0, "");
});

test("selectVersion picks an offered version and throws UnsupportedVersion for one not offered", async () => {
  const [c, s] = newMemoryTransportPair();
  let thrown: unknown;
  const serverP = acceptTransport(s, {
    setupHandler: async (w, r) => {
      try {
        w.selectVersion(Versions.LiteDraft01);
      } catch (e) {
        thrown = e;
      }
      w.selectVersion(Versions.LiteDraft02);
      await accept(w, r, new TrackMux());
    },
  });
  const client = await dialTransport(c, { versions: [Versions.LiteDraft02, Versions.Development] });
  const server = await serverP;
  assert.ok(thrown instanceof SessionError);
  assert.equal(thrown.code, SessionErrorCode.UnsupportedVersion);
  assert.equal(client.version, Versions.LiteDraft02);
  assert.equal(server.version, Versions.LiteDraft02);
  assert.deepEqual(server.versions, [Versions.LiteDraft02, Versions.Development]);
  await client.closeWithError(0, "");
});

test("a client offering only an unknown version gets UnsupportedVersion (0x12)", async () => {
  const [c, s] = newMemoryTransportPair();
  const serverP = acceptTransport(s, { mux: new TrackMux() });
  const dialErr = await rejection(dialTransport(c, { versions: [0x12345678] }));
  assert.ok(dialErr instanceof SessionError);
  assert.equal(dialErr.code, SessionErrorCode.UnsupportedVersion);
  const serverErr = await rejection(serverP);
  assert.ok(serverErr instanceof SessionError);
  assert.equal(serverErr.code, SessionErrorCode.UnsupportedVersion);
});

test("a setup handler that rejects with a code: the client's dial gets that code", async () => {
  const [c, s] = newMemoryTransportPair();
  const serverP = acceptTransport(s, { setupHandler: (w) => w.reject(SessionErrorCode.Unauthorized) });
  const dialErr = await rejection(dialTransport(c));
  assert.ok(dialErr instanceof SessionError);
  assert.equal(dialErr.code, SessionErrorCode.Unauthorized);
  assert.equal(((await rejection(serverP)) as SessionError).code, SessionErrorCode.Unauthorized);
});

test("a setup handler that returns without accepting rejects with SetupFailed", async () => {
  const [c, s] = newMemoryTransportPair();
  const serverP = acceptTransport(s, { setupHandler: () => {} });
  const dialErr = await rejection(dialTransport(c));
  assert.equal((dialErr as SessionError).code, SessionErrorCode.SetupFailed);
  assert.equal(((await rejection(serverP)) as SessionError).code, SessionErrorCode.SetupFailed);
});

test("setupTimeout: a server that never answers fails the dial", async () => {
  const [c, s] = newMemoryTransportPair();
  // The server end never reads: nobody answers SESSION_CLIENT.
  void s;
  const err = await rejection(dialTransport(c, { setupTimeout: 30 }));
  assert.ok(err instanceof SessionError);
  assert.equal(err.remote, false);
  const info = await s.closed;
  assert.equal(info.closeCode, err.code);
});
