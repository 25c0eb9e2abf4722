/** Session setup end to end over the transport under test (memory, raw QUIC, WebTransport): versions, paths,
 *  extensions, SetupRouter, rejections. Where the path travels differs by transport (nothing but the dial options on
 *  the memory pair, the URL on WebTransport, setup parameter 0x01 on raw QUIC); the tests say so where it matters. */
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
  handleFunc,
  type Session,
  type SetupRequest,
} from "../../../src/index.js";
import {
  dec,
  enc,
  rejection,
  within,
  type Connecting,
  type ConnectOptions,
  type Harness,
} from "../helpers.js";

/** Register this suite's tests for transport `h`. */
export function register(h: Harness): void {
  const T = { timeout: 10_000 };

  /** Connect, run `fn`, always dispose the connection. */
  async function withConnection(opts: ConnectOptions, fn: (c: Connecting) => Promise<void>): Promise<void> {
    const c = await h.connect(opts);
    try {
      await fn(c);
    } finally {
      await c.dispose();
    }
  }

  const both = (c: Connecting): Promise<[Session, Session]> =>
    within(Promise.all([c.client, c.server]), "client and server setup");

  test("version, path and extensions travel both ways", T, async () => {
    const mux = new TrackMux();
    let req: SetupRequest | undefined;
    await withConnection(
      {
        accept: {
          setupHandler: async (w, r) => {
            req = r;
            w.setExtensions(new Map([[0x20, enc("server-ext")]]));
            await accept(w, r, mux);
          },
        },
        dial: { path: "/room", extensions: new Map([[0x10, enc("client-ext")]]) },
      },
      async (c) => {
        const [client, server] = await both(c);
        assert.equal(client.version, Versions.Development);
        assert.equal(server.version, Versions.Development);
        assert.deepEqual(client.versions, [Versions.Development]);
        assert.deepEqual(server.versions, [Versions.Development]);
        assert.equal(dec(server.clientExtensions.get(0x10)!), "client-ext");
        assert.equal(dec(client.serverExtensions.get(0x20)!), "server-ext");
        assert.equal(dec(server.serverExtensions.get(0x20)!), "server-ext");
        if (h.kind === "quic") {
          // Raw QUIC: the path rides in parameter 0x01 (as gomoqt's native QUIC client sends it).
          assert.equal(dec(server.clientExtensions.get(PARAM_PATH)!), "/room");
          assert.equal(req!.path, "/room");
        } else {
          // WebTransport sends no path parameter; the server takes the URL's path (the memory pair has none).
          assert.equal(server.clientExtensions.has(PARAM_PATH), false);
          assert.equal(req!.path, h.kind === "webtransport" ? "/room" : "/");
        }
        assert.equal(client.path, "/room");
        assert.equal(server.mux, mux);
        assert.equal(client.mux, DefaultTrackMux);
        await client.closeWithError(0, "");
        await within(server.closed, "the server session to close");
      },
    );
  });

  test(
    "sendPathParameter puts the path in parameter 0x01 and the server's SetupRequest.path uses it",
    T,
    async () => {
      let req: SetupRequest | undefined;
      await withConnection(
        {
          accept: {
            setupHandler: async (w, r) => {
              req = r;
              await accept(w, r, new TrackMux());
            },
          },
          dial: { path: "/raw/quic", sendPathParameter: true },
        },
        async (c) => {
          const [client, server] = await both(c);
          assert.equal(dec(req!.clientExtensions.get(PARAM_PATH)!), "/raw/quic");
          assert.equal(req!.path, "/raw/quic");
          assert.equal(server.path, "/raw/quic");
          assert.equal(dec(client.clientExtensions.get(PARAM_PATH)!), "/raw/quic");
          await server.closeWithError(0, "");
          await within(client.closed, "the client session to close");
        },
      );
    },
  );

  test("acceptTransport's path option (the WebTransport URL path) overrides the parameter", T, async () => {
    await withConnection(
      {
        accept: { path: "/from-url", mux: new TrackMux() },
        dial: { path: "/param", sendPathParameter: true },
      },
      async (c) => {
        const [client, server] = await both(c);
        assert.equal(server.path, "/from-url");
        await client.closeWithError(0, "");
      },
    );
  });

  test("SetupRouter routes exact paths; an unknown path is rejected with SetupFailed (0x13)", T, async () => {
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
    const routed = (path: string): ConnectOptions => ({
      accept: { setupHandler: router },
      dial: { path, sendPathParameter: true },
    });

    for (const p of ["/a", "/b"]) {
      await withConnection(routed(p), async (c) => {
        const [client, server] = await both(c);
        assert.equal(server.path, p);
        await client.closeWithError(0, "");
      });
    }
    assert.deepEqual(seen, ["/a", "/b"]);

    for (const p of ["/a/", "/c", "/", "/ab"]) {
      await withConnection(routed(p), async (c) => {
        const dialErr = await within(rejection(c.client), "the dial to fail");
        assert.ok(dialErr instanceof SessionError, String(dialErr));
        assert.equal(dialErr.code, SessionErrorCode.SetupFailed);
        assert.equal(dialErr.remote, true);
        const serverErr = await within(rejection(c.server), "the server setup to fail");
        assert.ok(serverErr instanceof SessionError);
        assert.equal(serverErr.code, SessionErrorCode.SetupFailed);
      });
    }
    assert.deepEqual(seen, ["/a", "/b"]);
    assert.throws(() => router.handle("no-slash", () => {}), TypeError);
  });

  test("DefaultRouter and the package-level handleFunc", T, async () => {
    const mux = new TrackMux();
    const path = `/default-router-test-${h.kind}`;
    handleFunc(path, (w, r) => accept(w, r, mux).then(() => {}));
    await withConnection(
      { accept: { setupHandler: DefaultRouter }, dial: { path, sendPathParameter: true } },
      async (c) => {
        const [client, server] = await both(c);
        assert.equal(server.mux, mux);
        await client.closeWithError(0, "");
      },
    );
  });

  test(
    "selectVersion picks an offered version and throws UnsupportedVersion for one not offered",
    T,
    async () => {
      let thrown: unknown;
      await withConnection(
        {
          accept: {
            setupHandler: async (w, r) => {
              try {
                w.selectVersion(Versions.LiteDraft01);
              } catch (e) {
                thrown = e;
              }
              w.selectVersion(Versions.LiteDraft02);
              await accept(w, r, new TrackMux());
            },
          },
          dial: { versions: [Versions.LiteDraft02, Versions.Development] },
        },
        async (c) => {
          const [client, server] = await both(c);
          assert.ok(thrown instanceof SessionError);
          assert.equal(thrown.code, SessionErrorCode.UnsupportedVersion);
          assert.equal(client.version, Versions.LiteDraft02);
          assert.equal(server.version, Versions.LiteDraft02);
          assert.deepEqual(server.versions, [Versions.LiteDraft02, Versions.Development]);
          await client.closeWithError(0, "");
        },
      );
    },
  );

  test("a client offering only an unknown version gets UnsupportedVersion (0x12)", T, async () => {
    await withConnection({ accept: { mux: new TrackMux() }, dial: { versions: [0x12345678] } }, async (c) => {
      const dialErr = await within(rejection(c.client), "the dial to fail");
      assert.ok(dialErr instanceof SessionError);
      assert.equal(dialErr.code, SessionErrorCode.UnsupportedVersion);
      const serverErr = await within(rejection(c.server), "the server setup to fail");
      assert.ok(serverErr instanceof SessionError);
      assert.equal(serverErr.code, SessionErrorCode.UnsupportedVersion);
    });
  });

  test("a setup handler that rejects with a code: the client's dial gets that code", T, async () => {
    await withConnection(
      { accept: { setupHandler: (w) => w.reject(SessionErrorCode.Unauthorized) } },
      async (c) => {
        const dialErr = await within(rejection(c.client), "the dial to fail");
        assert.ok(dialErr instanceof SessionError);
        assert.equal(dialErr.code, SessionErrorCode.Unauthorized);
        const serverErr = await within(rejection(c.server), "the server setup to fail");
        assert.equal((serverErr as SessionError).code, SessionErrorCode.Unauthorized);
      },
    );
  });

  test("a setup handler that returns without accepting rejects with SetupFailed", T, async () => {
    await withConnection({ accept: { setupHandler: () => {} } }, async (c) => {
      const dialErr = await within(rejection(c.client), "the dial to fail");
      assert.equal((dialErr as SessionError).code, SessionErrorCode.SetupFailed);
      const serverErr = await within(rejection(c.server), "the server setup to fail");
      assert.equal((serverErr as SessionError).code, SessionErrorCode.SetupFailed);
    });
  });

  test("setupTimeout: a server that never answers fails the dial", T, async () => {
    // The server side never runs setup: nobody answers SESSION_CLIENT.
    await withConnection({ runAccept: false, dial: { setupTimeout: 30 } }, async (c) => {
      const err = await within(rejection(c.client), "the dial to time out");
      assert.ok(err instanceof SessionError);
      assert.equal(err.remote, false);
      const info = await within(c.serverClosed(), "the server transport to close");
      assert.equal(info.code, err.code);
    });
  });
}
