// The MoQ session end to end over real loopback QUIC: raw QUIC (moqt://, ALPN moq-00) and WebTransport (https://,
// HTTP/3), through the public Client/Server API. Error codes passed to closeWithError / cancelWrite / cancelRead /
// TrackWriter.closeWithError must arrive at the peer unchanged.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as moqt from "../../src/index.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

interface Pair {
  server: moqt.Server;
  client: moqt.Client;
  clientSession: moqt.Session;
  serverSession: moqt.Session;
  serverMux: moqt.TrackMux;
  clientMux: moqt.TrackMux;
  [Symbol.asyncDispose](): Promise<void>;
}

async function connect(scheme: "https" | "moqt", path = "/moq"): Promise<Pair> {
  const serverMux = new moqt.TrackMux();
  const clientMux = new moqt.TrackMux();
  let resolveSession!: (s: moqt.Session) => void;
  const serverSessionP = new Promise<moqt.Session>((r) => (resolveSession = r));
  const router = new moqt.SetupRouter();
  router.handleFunc(path, async (w, r) => resolveSession(await moqt.accept(w, r, serverMux)));
  const server = new moqt.Server({ addr: "127.0.0.1:0", setupHandler: router, bitrateMonitor: false });
  server.listen();
  const client = new moqt.Client({
    tls: { serverCertificateHashes: [server.certificateHash!] },
    bitrateMonitor: false,
  });
  const clientSession = await client.dial(`${scheme}://127.0.0.1:${server.port}${path}`, clientMux);
  const serverSession = await serverSessionP;
  return {
    server,
    client,
    clientSession,
    serverSession,
    serverMux,
    clientMux,
    async [Symbol.asyncDispose]() {
      await client.close();
      await server.close();
    },
  };
}

async function withPair(
  scheme: "https" | "moqt",
  fn: (p: Pair) => Promise<void>,
  path?: string,
): Promise<void> {
  const p = await connect(scheme, path);
  try {
    await fn(p);
  } finally {
    await p[Symbol.asyncDispose]();
  }
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

for (const scheme of ["moqt", "https"] as const) {
  describe(`session over ${scheme === "moqt" ? "raw QUIC (moqt://)" : "WebTransport (https://)"}`, () => {
    it("sets up with the path and version; the server sees the path", async () => {
      await withPair(
        scheme,
        async (p) => {
          assert.equal(p.clientSession.version, moqt.Versions.Development);
          assert.equal(p.serverSession.version, moqt.Versions.Development);
          assert.equal(p.serverSession.path, "/room/1");
          if (scheme === "moqt") {
            assert.equal(dec.decode(p.serverSession.clientExtensions.get(moqt.PARAM_PATH)), "/room/1");
          } else {
            assert.equal(p.serverSession.clientExtensions.has(moqt.PARAM_PATH), false);
          }
        },
        "/room/1",
      );
    });

    it("an unrouted path is rejected with SetupFailed (0x13)", async () => {
      const server = new moqt.Server({ addr: "127.0.0.1:0", setupHandler: new moqt.SetupRouter() });
      server.listen();
      try {
        const client = new moqt.Client({ tls: { serverCertificateHashes: [server.certificateHash!] } });
        await assert.rejects(client.dial(`${scheme}://127.0.0.1:${server.port}/nowhere`), (e: unknown) => {
          assert.ok(e instanceof moqt.SessionError);
          assert.equal(e.code, moqt.SessionErrorCode.SetupFailed);
          return true;
        });
      } finally {
        await server.close();
      }
    });

    it("publishes, announces and subscribes in both directions", async () => {
      await withPair(scheme, async (p) => {
        const payloads = ["a", "", "c".repeat(100_000)];
        for (const [mux, path] of [
          [p.serverMux, "/from-server"],
          [p.clientMux, "/from-client"],
        ] as const) {
          mux.publishFunc(undefined, path, async (tw) => {
            for (const text of payloads) {
              const g = await tw.openGroup();
              await g.writeFrame(enc.encode(text));
              await g.writeFrame(enc.encode(`${tw.trackName}:${text.length}`));
              await g.close();
            }
          });
        }
        for (const [session, path] of [
          [p.clientSession, "/from-server"],
          [p.serverSession, "/from-client"],
        ] as const) {
          const ar = await session.acceptAnnounce("/");
          const ann = await ar.receiveAnnouncement();
          assert.equal(ann.broadcastPath, path);
          const tr = await session.subscribe(path, "t");
          // Groups are separate streams (newest first under congestion): arrival order is not sequence order.
          const got = new Map<number, string[]>();
          for await (const g of tr) {
            const frames: string[] = [];
            for await (const f of g.frames()) frames.push(dec.decode(f.body()));
            got.set(Number(g.groupSequence), frames);
          }
          assert.deepEqual(
            [...got.keys()].sort((a, b) => a - b),
            [0, 1, 2],
          );
          payloads.forEach((t, i) => assert.deepEqual(got.get(i), [t, `t:${t.length}`]));
          await ar.close();
        }
      });
    });

    it("TrackWriter.closeWithError(code) reaches the subscriber as SubscribeError(code)", async () => {
      await withPair(scheme, async (p) => {
        const groupAborted = deferred<unknown>();
        p.serverMux.publishFunc(undefined, "/x", async (tw) => {
          const g = await tw.openGroup();
          await g.writeFrame(enc.encode("first"));
          g.signal.addEventListener("abort", () => groupAborted.resolve(g.signal.reason));
          await tw.closeWithError(0xfffffff0);
        });
        // The reset may overtake SUBSCRIBE_OK, so the code can surface from subscribe() itself or from acceptGroup().
        await assert.rejects(
          (async () => {
            const tr = await p.clientSession.subscribe("/x", "t");
            for (;;) await tr.acceptGroup();
          })(),
          (e: unknown) => e instanceof moqt.SubscribeError && e.code === 0xfffffff0 && e.remote,
        );
        const reason = await groupAborted.promise;
        assert.ok(reason instanceof moqt.GroupError);
        assert.equal(reason.code, moqt.GroupErrorCode.PublishAborted);
      });
    });

    it("GroupWriter.cancelWrite(code) reaches the reader as GroupError(code)", async () => {
      await withPair(scheme, async (p) => {
        // A reset may overtake the stream's data (QUIC discards it), so cancel only once the reader has the group.
        const readerHasGroup = deferred<void>();
        p.serverMux.publishFunc(undefined, "/x", async (tw) => {
          const g = await tw.openGroup();
          await g.writeFrame(enc.encode("partial"));
          await readerHasGroup.promise;
          g.cancelWrite(0x13);
          await new Promise((r) => tw.signal.addEventListener("abort", r));
        });
        const tr = await p.clientSession.subscribe("/x", "t");
        const g = await tr.acceptGroup();
        assert.equal(dec.decode((await g.readFrame())!.body()), "partial");
        readerHasGroup.resolve();
        await assert.rejects(
          (async () => {
            for (;;) if ((await g.readFrame()) === null) return;
          })(),
          (e: unknown) => e instanceof moqt.GroupError && e.code === 0x13 && e.remote,
        );
        await tr.close();
      });
    });

    it("GroupReader.cancelRead(code) reaches the writer as GroupError(code)", async () => {
      await withPair(scheme, async (p) => {
        const aborted = deferred<unknown>();
        p.serverMux.publishFunc(undefined, "/x", async (tw) => {
          const g = await tw.openGroup();
          g.signal.addEventListener("abort", () => aborted.resolve(g.signal.reason));
          // Keep writing until the subscriber's STOP_SENDING lands.
          while (!g.signal.aborted) {
            await g.writeFrame(enc.encode("tick")).catch(() => {});
            await new Promise((r) => setTimeout(r, 5));
          }
        });
        const tr = await p.clientSession.subscribe("/x", "t");
        const g = await tr.acceptGroup();
        await g.readFrame();
        g.cancelRead(7);
        const reason = await aborted.promise;
        assert.ok(reason instanceof moqt.GroupError, String(reason));
        assert.equal(reason.code, 7);
        assert.equal(reason.remote, true);
        await tr.close();
      });
    });

    it("TrackReader.closeWithError(code) reaches the publisher as SubscribeError(code)", async () => {
      await withPair(scheme, async (p) => {
        const aborted = deferred<unknown>();
        p.serverMux.publishFunc(undefined, "/x", async (tw) => {
          await tw.writeInfo();
          await new Promise((r) => tw.signal.addEventListener("abort", r));
          aborted.resolve(tw.signal.reason);
        });
        const tr = await p.clientSession.subscribe("/x", "t");
        await tr.closeWithError(0x1234);
        const reason = await aborted.promise;
        assert.ok(reason instanceof moqt.SubscribeError);
        assert.equal(reason.code, 0x1234);
        assert.equal(reason.remote, true);
      });
    });

    it("TrackReader.close() ends the subscription at the publisher (FIN is observed)", async () => {
      await withPair(scheme, async (p) => {
        const ended = deferred<unknown>();
        p.serverMux.publishFunc(undefined, "/x", async (tw) => {
          await tw.writeInfo();
          await new Promise((r) => tw.signal.addEventListener("abort", r));
          ended.resolve(tw.signal.reason);
        });
        const tr = await p.clientSession.subscribe("/x", "t");
        await tr.close();
        const reason = await ended.promise;
        assert.ok(reason instanceof moqt.SubscribeError);
        assert.equal(reason.remote, true);
      });
    });

    it("subscribing to an unknown path gives SubscribeError TrackNotFound (3)", async () => {
      await withPair(scheme, async (p) => {
        await assert.rejects(
          p.clientSession.subscribe("/missing", "t"),
          (e: unknown) =>
            e instanceof moqt.SubscribeError && e.code === moqt.SubscribeErrorCode.TrackNotFound && e.remote,
        );
      });
    });

    it("Session.closeWithError(code, reason) reaches the peer as SessionError(code)", async () => {
      const p = await connect(scheme);
      try {
        await p.clientSession.closeWithError(0x2a, "bye now");
        const err = await p.serverSession.closed;
        assert.ok(err instanceof moqt.SessionError);
        assert.equal(err.code, 0x2a);
        assert.equal(err.remote, true);
        assert.match(err.message, /bye now/);
        const reason: unknown = p.serverSession.signal.reason;
        assert.ok(reason instanceof moqt.SessionError && reason.code === 0x2a);
      } finally {
        await p[Symbol.asyncDispose]();
      }
    });

    it("SESSION_UPDATE: updated() and remoteBitrate follow the peer's updateBitrate", async () => {
      await withPair(scheme, async (p) => {
        const it = p.clientSession.updated()[Symbol.asyncIterator]();
        const next = it.next();
        await p.serverSession.updateBitrate(2_500_000);
        const r = await next;
        assert.equal(r.done, false);
        assert.equal(r.value?.bitrate, 2_500_000);
        assert.equal(p.clientSession.remoteBitrate, 2_500_000);
        await it.return?.();
      });
    });

    it("TrackReader.update reaches TrackWriter.updated()", async () => {
      await withPair(scheme, async (p) => {
        const seen = deferred<moqt.TrackConfig>();
        p.serverMux.publishFunc(undefined, "/x", async (tw) => {
          await tw.writeInfo();
          for await (const c of tw.updated()) {
            seen.resolve(c);
            break;
          }
        });
        const tr = await p.clientSession.subscribe("/x", "t", { trackPriority: 1 });
        await tr.update({ trackPriority: 200 });
        assert.deepEqual(await seen.promise, { trackPriority: 200 });
        await tr.close();
      });
    });
  });
}
