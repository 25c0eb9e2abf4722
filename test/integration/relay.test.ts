// Relay over real loopback QUIC (raw moq-00 and WebTransport): shared upstream fan-out, late joiners, publisher
// loss, slow subscribers and memory bounds, announcement routing, and the HTTP side (certificate hash, metrics, files).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Client,
  GroupError,
  GroupErrorCode,
  SubscribeError,
  TrackMux,
  generateCertificate,
  nativeAvailable,
  type Announcement,
  type GroupReader,
  type Session,
  type TrackReader,
  type TrackWriter,
} from "../../src/index.js";
import { PUBLISHER_GONE, startRelay, type Relay, type RelayOptions } from "../../src/relay/index.js";

const skip =
  !nativeAvailable() && !process.env["CI"] ? "native addon not built: run `npm run build:native`" : false;
const enc = new TextEncoder();
const dec = new TextDecoder();

const SCHEMES = ["https", "moqt"] as const;
type Scheme = (typeof SCHEMES)[number];

class Deferred<T = void> {
  resolve!: (v: T) => void;
  reject!: (e: unknown) => void;
  promise = new Promise<T>((res, rej) => {
    this.resolve = res;
    this.reject = rej;
  });
}

/** Poll `cond` until it holds (the test's own timeout bounds the wait). */
async function until(cond: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await cond())) await new Promise((r) => setTimeout(r, 10));
}

interface Env {
  relay: Relay;
  client: Client;
  dial(mux?: TrackMux, path?: string): Promise<Session>;
}

async function withRelay(scheme: Scheme, opts: RelayOptions, fn: (env: Env) => Promise<void>): Promise<void> {
  const relay = await startRelay({ listen: "127.0.0.1:0", http: "127.0.0.1:0", ...opts });
  const client = new Client({ tls: { insecureSkipVerify: true }, bitrateMonitor: false });
  try {
    await fn({
      relay,
      client,
      dial: (mux, path = "/") =>
        client.dial(`${scheme}://127.0.0.1:${relay.port}${path}`, mux ?? new TrackMux()),
    });
  } finally {
    await client.close().catch(() => {});
    await relay.close();
  }
}

/** Wait until `session` sees `path` announced; returns the announcement. */
async function announced(session: Session, path: string): Promise<Announcement> {
  const ar = await session.acceptAnnounce("/");
  for (;;) {
    const a = await ar.receiveAnnouncement();
    if (a.broadcastPath === path) return a;
  }
}

interface Got {
  seq: number;
  frames: string[];
  error?: unknown;
}

/** Read every group of `tr` concurrently until the track ends; groups sorted by sequence. */
async function collect(tr: TrackReader, onFrame?: (seq: number, f: string) => void): Promise<Got[]> {
  const out: Got[] = [];
  const reads: Promise<void>[] = [];
  for await (const g of tr) {
    const got: Got = { seq: Number(g.groupSequence), frames: [] };
    out.push(got);
    reads.push(
      (async () => {
        try {
          for (let f = await g.readFrame(); f !== null; f = await g.readFrame()) {
            const s = dec.decode(f.body());
            got.frames.push(s);
            onFrame?.(got.seq, s);
          }
        } catch (e) {
          got.error = e;
        }
      })(),
    );
  }
  await Promise.all(reads);
  return out.sort((a, b) => a.seq - b.seq);
}

async function writeGroup(tw: TrackWriter, seq: number, frames: (string | Uint8Array)[]): Promise<void> {
  const g = await tw.openGroup(seq);
  for (const f of frames) await g.writeFrame(typeof f === "string" ? enc.encode(f) : f);
  await g.close();
}

async function fetchText(
  relay: Relay,
  path: string,
): Promise<{ status: number; text: string; headers: Headers }> {
  const r = await fetch(`http://127.0.0.1:${relay.httpPort}${path}`);
  return { status: r.status, text: await r.text(), headers: r.headers };
}

/** Parse the Prometheus text format into "name{labels}" → value, checking every line's shape. */
function parseMetrics(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    const r = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+]+|NaN|[+-]Inf)$/.exec(line);
    assert.ok(r, `bad metrics line: ${line}`);
    m.set(r[1]!, Number(r[2]));
  }
  return m;
}

const expectedGroups = (n: number, frames: number) =>
  Array.from({ length: n }, (_, k) => ({
    seq: k,
    frames: Array.from({ length: frames }, (_, i) => `g${k}f${i}`),
  }));

describe("relay", { skip, timeout: 60_000 }, () => {
  for (const scheme of SCHEMES) {
    it(`fans one upstream subscription out to 20 subscribers, keeping sequences (${scheme})`, async () => {
      await withRelay(scheme, {}, async ({ relay, dial }) => {
        const go = new Deferred();
        let handlerCalls = 0;
        const pubMux = new TrackMux();
        pubMux.publishFunc(undefined, "/live", async (tw) => {
          handlerCalls++;
          assert.equal(tw.trackName, "video");
          await tw.writeInfo();
          await go.promise;
          for (let k = 0; k < 5; k++)
            await writeGroup(
              tw,
              k,
              [0, 1, 2].map((i) => `g${k}f${i}`),
            );
        });
        await dial(pubMux);
        const subs = await Promise.all(Array.from({ length: 20 }, () => dial()));
        await Promise.all(subs.map((s) => announced(s, "/live")));
        const readers = await Promise.all(subs.map((s) => s.subscribe("/live", "video")));
        await until(() => relay.stats().broadcasts.get("/live")?.subscriptions === 20);

        const m = parseMetrics((await fetchText(relay, "/metrics")).text);
        assert.equal(m.get('moqt_relay_subscriptions{broadcast="/live"}'), 20);
        assert.equal(m.get('moqt_relay_upstream_subscriptions{broadcast="/live"}'), 1);
        assert.equal(m.get("moqt_relay_sessions_open"), 21);
        assert.equal(m.get("moqt_relay_announcements_active"), 1);

        go.resolve();
        const results = await Promise.all(readers.map((tr) => collect(tr)));
        for (const got of results) assert.deepEqual(got, expectedGroups(5, 3));
        assert.equal(handlerCalls, 1, "the publisher saw one subscription");

        const after = parseMetrics((await fetchText(relay, "/metrics")).text);
        assert.equal(after.get("moqt_relay_groups_in_total"), 5);
        assert.equal(after.get("moqt_relay_groups_out_total"), 100);
        assert.equal(after.get("moqt_relay_frames_out_total"), 300);
        assert.equal(after.get("moqt_relay_groups_dropped_total"), 0);
        assert.equal(after.get("moqt_relay_sessions_total"), 21);
      });
    });
  }

  it("gives a late joiner the current group first (its earlier frames, then the live ones)", async () => {
    await withRelay("https", {}, async ({ dial }) => {
      const step = [new Deferred(), new Deferred(), new Deferred()];
      const pubMux = new TrackMux();
      pubMux.publishFunc(undefined, "/cam", async (tw) => {
        await writeGroup(tw, 0, ["a", "b"]);
        const g1 = await tw.openGroup(1);
        await g1.writeFrame(enc.encode("c"));
        await g1.writeFrame(enc.encode("d"));
        await step[0]!.promise; // the late joiner is in
        await g1.writeFrame(enc.encode("e"));
        await g1.close();
        await writeGroup(tw, 2, ["f"]);
      });
      await dial(pubMux);
      const early = await dial();
      await announced(early, "/cam");
      const seenD = new Deferred();
      const trA = await early.subscribe("/cam", "t");
      const gotA = collect(trA, (_, f) => f === "d" && seenD.resolve());
      await seenD.promise;

      const late = await dial();
      const trB = await late.subscribe("/cam", "t");
      const first: GroupReader = await trB.acceptGroup();
      assert.equal(Number(first.groupSequence), 1, "the late joiner starts with the current group");
      assert.equal(dec.decode((await first.readFrame())!.body()), "c");
      assert.equal(dec.decode((await first.readFrame())!.body()), "d");
      step[0]!.resolve();
      assert.equal(dec.decode((await first.readFrame())!.body()), "e");
      assert.equal(await first.readFrame(), null);
      const rest = await collect(trB);
      assert.deepEqual(rest, [{ seq: 2, frames: ["f"] }]);
      assert.deepEqual(await gotA, [
        { seq: 0, frames: ["a", "b"] },
        { seq: 1, frames: ["c", "d", "e"] },
        { seq: 2, frames: ["f"] },
      ]);
    });
  });

  for (const scheme of SCHEMES) {
    it(`ends downstream when the publisher goes away: subscriptions reset with PUBLISHER_GONE, ENDED to listeners (${scheme})`, async () => {
      await withRelay(scheme, {}, async ({ dial, relay }) => {
        const pubMux = new TrackMux();
        const groupOpen = new Deferred();
        pubMux.publishFunc(undefined, "/gone", async (tw) => {
          await writeGroup(tw, 0, ["x"]);
          const g = await tw.openGroup(1);
          await g.writeFrame(enc.encode("y"));
          groupOpen.resolve();
          await new Promise((r) => tw.signal.addEventListener("abort", r));
        });
        const pub = await dial(pubMux);
        const watcher = await dial();
        const ann = await announced(watcher, "/gone");
        const sub = await dial();
        await announced(sub, "/gone");
        const tr = await sub.subscribe("/gone", "t");
        const g0 = await tr.acceptGroup();
        assert.equal(dec.decode((await g0.readFrame())!.body()), "x");
        await groupOpen.promise;
        const g1 = await tr.acceptGroup();
        assert.equal(dec.decode((await g1.readFrame())!.body()), "y");

        await pub.closeWithError(0x1, "publisher crashed");

        await ann.ended;
        assert.equal(ann.isActive(), false);
        await assert.rejects(tr.acceptGroup(), (e: unknown) => {
          assert.ok(e instanceof SubscribeError, `expected SubscribeError, got ${String(e)}`);
          assert.equal(e.code, PUBLISHER_GONE);
          assert.equal(e.remote, true);
          return true;
        });
        await assert.rejects(g1.readFrame(), (e: unknown) => {
          assert.ok(e instanceof GroupError, `expected GroupError, got ${String(e)}`);
          assert.equal(e.code, GroupErrorCode.PublishAborted);
          return true;
        });
        await until(() => relay.stats().announcementsActive === 0);
        // A new subscription to the path is refused with the same code.
        await assert.rejects(sub.subscribe("/gone", "t"), (e: unknown) => {
          assert.ok(e instanceof SubscribeError);
          assert.equal(e.code, PUBLISHER_GONE);
          return true;
        });
      });
    });
  }

  it("lets a slow subscriber skip groups (ExpiredGroup) within the memory bound, others unaffected", async () => {
    const FRAME = 64 * 1024;
    const FRAMES = 64; // 4 MiB per group: more than a QUIC stream window, so writes to a reader that stalls block
    const GROUPS = 8;
    const limits = { lagBytes: 1 << 20, maxPendingBytes: 6 << 20 };
    await withRelay("moqt", { limits }, async ({ dial, relay }) => {
      const groupDone = Array.from({ length: GROUPS }, () => [new Deferred(), new Deferred()]);
      const payload = (k: number, i: number) => {
        const b = new Uint8Array(FRAME);
        b.fill((k * FRAMES + i) & 0xff);
        return b;
      };
      const pubMux = new TrackMux();
      pubMux.publishFunc(undefined, "/big", async (tw) => {
        for (let k = 0; k < GROUPS; k++) {
          await writeGroup(
            tw,
            k,
            Array.from({ length: FRAMES }, (_, i) => payload(k, i)),
          );
          // Pace on the fast subscribers only: they have read group k before group k+1 starts.
          await Promise.all(groupDone[k]!.map((d) => d.promise));
        }
      });
      await dial(pubMux);
      const slow = await dial();
      await announced(slow, "/big");
      const slowTr = await slow.subscribe("/big", "t"); // never reads until the end
      const fast = await Promise.all([dial(), dial()]);
      const fastTrs = await Promise.all(fast.map((s) => s.subscribe("/big", "t")));
      await until(() => relay.stats().broadcasts.get("/big")?.subscriptions === 3);

      const fastResults = fastTrs.map(async (tr, j) => {
        const sizes = new Map<number, number>();
        const reads: Promise<void>[] = [];
        for await (const g of tr) {
          reads.push(
            (async () => {
              const k = Number(g.groupSequence);
              let n = 0;
              for (let f = await g.readFrame(); f !== null; f = await g.readFrame()) {
                assert.equal(f.body()[0], (k * FRAMES + n) & 0xff);
                n++;
              }
              sizes.set(k, n);
              groupDone[k]![j]!.resolve();
            })(),
          );
        }
        await Promise.all(reads);
        return sizes;
      });
      for (const sizes of await Promise.all(fastResults)) {
        assert.equal(sizes.size, GROUPS, "fast subscribers got every group");
        for (const n of sizes.values()) assert.equal(n, FRAMES);
      }
      const s = relay.stats();
      assert.ok(s.groupsDropped > 0, "the slow subscriber's old groups were expired");
      assert.ok(
        s.maxPendingBytesSeen <= limits.maxPendingBytes + FRAME,
        `pending bytes peaked at ${s.maxPendingBytesSeen}, over the bound ${limits.maxPendingBytes}`,
      );
      // The slow subscriber now reads what it got: its old groups were reset with ExpiredGroup.
      let expired = 0;
      for (;;) {
        let g: GroupReader;
        try {
          g = await slowTr.acceptGroup();
        } catch {
          break;
        }
        try {
          while ((await g.readFrame()) !== null);
        } catch (e) {
          if (e instanceof GroupError && e.code === GroupErrorCode.ExpiredGroup && e.remote) expired++;
          else throw e;
        }
      }
      assert.ok(expired > 0, "the slow subscriber saw ExpiredGroup resets");
    });
  });

  it("routes announcements to every other session, never back to the publisher, and closes the upstream when the last subscriber leaves", async () => {
    await withRelay("https", {}, async ({ dial, relay }) => {
      const upstreamEnded = new Deferred();
      const muxA = new TrackMux();
      muxA.publishFunc(undefined, "/a/one", async (tw) => {
        await writeGroup(tw, 0, ["hi"]);
        await new Promise((r) => tw.signal.addEventListener("abort", r));
        upstreamEnded.resolve();
      });
      const muxB = new TrackMux();
      muxB.publishFunc(undefined, "/b/two", () => new Promise(() => {}));
      const a = await dial(muxA, "/any/path");
      const b = await dial(muxB, "/another");
      // Each sees the other's broadcast, not its own.
      const arA = await a.acceptAnnounce("/");
      const arB = await b.acceptAnnounce("/");
      assert.equal((await arA.receiveAnnouncement()).broadcastPath, "/b/two");
      assert.equal((await arB.receiveAnnouncement()).broadcastPath, "/a/one");
      const c = await dial();
      const arC = await c.acceptAnnounce("/a/");
      assert.equal((await arC.receiveAnnouncement()).broadcastPath, "/a/one");
      await until(() => relay.stats().announcementsActive === 2);

      const tr = await b.subscribe("/a/one", "t");
      const g = await tr.acceptGroup();
      assert.equal(dec.decode((await g.readFrame())!.body()), "hi");
      assert.equal(relay.stats().broadcasts.get("/a/one")?.upstream, 1);
      await tr.close();
      await upstreamEnded.promise;
      await until(() => relay.stats().broadcasts.get("/a/one")?.upstream === 0);
    });
  });
});

describe("relay HTTP", { skip, timeout: 30_000 }, () => {
  it("serves /certificate.sha256 for the generated certificate, with CORS", async () => {
    await withRelay("https", {}, async ({ relay }) => {
      const r = await fetchText(relay, "/certificate.sha256");
      assert.equal(r.status, 200);
      assert.match(r.headers.get("content-type") ?? "", /^text\/plain/);
      assert.equal(r.headers.get("access-control-allow-origin"), "*");
      const want = Buffer.from(relay.server.certificateHash!).toString("hex");
      assert.equal(r.text.trim(), want);
      // and a client pinning that hash connects
      const c = new Client({ tls: { serverCertificateHashes: [Buffer.from(r.text.trim(), "hex")] } });
      try {
        await c.dial(`https://127.0.0.1:${relay.port}/`, new TrackMux());
      } finally {
        await c.close();
      }
    });
  });

  it("serves /certificate.sha256 for given certificate files", async () => {
    const cert = generateCertificate();
    await withRelay("https", { cert: cert.certPem, key: cert.keyPem }, async ({ relay }) => {
      const r = await fetchText(relay, "/certificate.sha256");
      const x = new X509Certificate(cert.certPem);
      assert.equal(r.text.trim(), x.fingerprint256.replace(/:/g, "").toLowerCase());
      assert.equal(r.text.trim(), Buffer.from(cert.sha256).toString("hex"));
    });
  });

  it("serves /metrics in the Prometheus text format, counting sessions", async () => {
    await withRelay("moqt", {}, async ({ relay, dial }) => {
      const s1 = await dial();
      await dial();
      await until(() => relay.stats().sessionsOpen === 2);
      const r = await fetchText(relay, "/metrics");
      assert.equal(r.status, 200);
      assert.match(r.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      const m = parseMetrics(r.text);
      assert.equal(m.get("moqt_relay_sessions_open"), 2);
      assert.equal(m.get("moqt_relay_sessions_total"), 2);
      for (const name of [
        "moqt_relay_bytes_in_total",
        "moqt_relay_bytes_out_total",
        "moqt_relay_groups_in_total",
        "moqt_relay_groups_out_total",
        "moqt_relay_groups_dropped_total",
        "moqt_relay_announcements_active",
        "moqt_relay_upstream_subscribes_total",
        "moqt_relay_upstream_updates_total",
        'moqt_relay_upstream_closed_total{reason="idle"}',
        "nodejs_eventloop_delay_p99_seconds",
        "nodejs_eventloop_delay_max_seconds",
      ])
        assert.ok(m.has(name), `missing ${name}`);
      assert.match(r.text, /# TYPE moqt_relay_sessions_total counter/);
      // The relay runs in this process: block its event loop for 150 ms, then the delay gauge shows it.
      const t = Date.now();
      while (Date.now() - t < 150);
      await new Promise((res) => setTimeout(res, 30));
      const lag = parseMetrics((await fetchText(relay, "/metrics")).text);
      assert.ok(
        lag.get("nodejs_eventloop_delay_max_seconds")! >= 0.1,
        `the 150 ms block is seen: ${lag.get("nodejs_eventloop_delay_max_seconds")} p99 ${lag.get("nodejs_eventloop_delay_p99_seconds")}`,
      );
      await s1.closeWithError(0, "bye");
      await until(() => relay.stats().sessionsOpen === 1);
    });
  });

  it("serves static files from the web root, index.html at /, and refuses paths outside it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "moqt-web-"));
    try {
      writeFileSync(join(dir, "index.html"), "<h1>demo</h1>");
      writeFileSync(join(dir, "app.js"), "console.log(1)");
      await withRelay("https", { webRoot: dir }, async ({ relay }) => {
        const index = await fetchText(relay, "/");
        assert.equal(index.status, 200);
        assert.equal(index.text, "<h1>demo</h1>");
        assert.match(index.headers.get("content-type") ?? "", /^text\/html/);
        const js = await fetchText(relay, "/app.js");
        assert.match(js.headers.get("content-type") ?? "", /^text\/javascript/);
        assert.equal((await fetchText(relay, "/missing.js")).status, 404);
        assert.notEqual((await fetchText(relay, "/%2e%2e/%2e%2e/etc/passwd")).status, 200);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
