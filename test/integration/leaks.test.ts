// Leak regressions over the real native transports, raw QUIC (moqt://) and WebTransport (https://), Server and
// Client in this process. Each case takes the addon's resource counters (nativeStats) as a baseline after its setup,
// does many groups / subscriptions / announcement listeners / sessions, and then, after a forced GC, expects every
// counter back at that baseline while the session is still open (a stream kept reachable from the session shows as
// sendStreams/recvStreams above it) and the JS objects involved collected (FinalizationRegistry). The heap is checked
// by counting live JS objects per kind in a heap snapshot between two batches: a second batch must add fewer objects
// than half its cycles. (Heap bytes cannot tell: bytecode and feedback in old space move by ~100 KB as functions
// tier up, more than what a small per-cycle leak such as Node 20's AbortSignal.any WeakRef adds.) No timing
// thresholds: waits are bounded polls.
//
// Each family has been seen failing against the leak it guards (src trees with the fix reverted): groups read
// (GroupReader's AbortSignal.any before f4fc2b1: recvStreams +300; GroupWriter.signal before a2d3b83: sendStreams
// +300; the session's accept loops before f4fc2b1: +1), subscription and announcement churn (AbortSignal.any in
// TrackReader/TrackWriter/AnnouncementReader before d4d6522: +1 WeakRef per cycle each; accept loops: +1 stream),
// session churn (the server's accept loop before 607de19: sessions +1).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as moqt from "../../src/index.js";
import { expectStats, grownObjects, heapObjects, Liveness, settledStats } from "../support/leaks.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

type Scheme = "moqt" | "https";
const SCHEMES: readonly [Scheme, string][] = [
  ["moqt", "raw QUIC (moqt://)"],
  ["https", "WebTransport (https://)"],
];

interface Pair {
  server: moqt.Server;
  client: moqt.Client;
  clientSession: moqt.Session;
  serverSession: moqt.Session;
  serverMux: moqt.TrackMux;
  clientMux: moqt.TrackMux;
}

/** One server, one client, one session. A short endLinger: a track the publisher ends is over at once. */
async function withPair(scheme: Scheme, fn: (p: Pair) => Promise<void>): Promise<void> {
  const serverMux = new moqt.TrackMux();
  const clientMux = new moqt.TrackMux();
  let resolveSession!: (s: moqt.Session) => void;
  const serverSessionP = new Promise<moqt.Session>((r) => (resolveSession = r));
  const router = new moqt.SetupRouter();
  router.handleFunc("/moq", async (w, r) => resolveSession(await moqt.accept(w, r, serverMux)));
  const server = new moqt.Server({ addr: "127.0.0.1:0", setupHandler: router, bitrateMonitor: false });
  server.listen();
  const client = new moqt.Client({
    tls: { serverCertificateHashes: [server.certificateHash!] },
    bitrateMonitor: false,
    config: { endLinger: 1 },
  });
  try {
    const clientSession = await client.dial(`${scheme}://127.0.0.1:${server.port}/moq`, clientMux);
    const serverSession = await serverSessionP;
    await fn({ server, client, clientSession, serverSession, serverMux, clientMux });
  } finally {
    await client.close();
    await server.close();
  }
}

/** Flow control between the publisher and the reader in this process: at most `n` groups ahead, so none is
 *  dropped by the subscriber's queue (maxQueuedGroups) and every group is read. */
class Credits {
  #n: number;
  #waiting: (() => void)[] = [];
  constructor(n: number) {
    this.#n = n;
  }
  async take(): Promise<void> {
    while (this.#n === 0) await new Promise<void>((r) => this.#waiting.push(r));
    this.#n--;
  }
  give(): void {
    this.#n++;
    this.#waiting.shift()?.();
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function onceAborted(signal: AbortSignal, fn: () => void): void {
  if (signal.aborted) fn();
  else signal.addEventListener("abort", () => fn(), { once: true });
}

const GROUPS = 300;
const FRAMES = 3;

const count = (g: [string, number][]): number => g.reduce((a, [, n]) => a + n, 0);

type ReadMode = "frames()" | "readFrame(frame, signal)";

/** Read `n` groups of `tr` to their end (credits let the publisher go on), checking each group's frames as it goes
 *  (nothing read is kept: the heap is compared between batches). Marks the sequences seen in `seen`. */
async function readGroups(
  tr: moqt.TrackReader,
  n: number,
  mode: ReadMode,
  caller: AbortSignal | undefined,
  live: Liveness,
  credits: Credits,
  seen: Uint8Array,
): Promise<void> {
  for (let i = 0; i < n; i++) {
    const g = live.track("GroupReader", await tr.acceptGroup());
    const seq = Number(g.groupSequence);
    let j = 0;
    const check = (f: moqt.Frame) => assert.equal(dec.decode(f.body()), `${seq}.${j++}`);
    if (mode === "frames()") {
      for await (const f of g.frames()) check(f);
    } else {
      const f = moqt.newFrame();
      while ((await g.readFrame(f, caller)) !== null) check(f);
    }
    assert.equal(j, FRAMES);
    assert.equal(seen[seq], 0, `group ${seq} twice`);
    seen[seq] = 1;
    credits.give();
  }
}

for (const [scheme, label] of SCHEMES) {
  describe(`leaks over ${label}`, () => {
    // [what, how the subscriber reads, the publisher listens to group.signal]
    const cases: [string, ReadMode, boolean][] = [
      ["group.frames()", "frames()", false],
      ["readFrame(frame, signal) with a long-lived caller signal", "readFrame(frame, signal)", false],
      ["group.signal read (and listened to) on the writer side", "frames()", true],
    ];
    for (const [name, mode, writerSignal] of cases) {
      it(`${GROUPS} groups read with ${name}: their streams and objects are released while the track is open`, async () => {
        const live = new Liveness();
        await withPair(scheme, async (p) => {
          const credits = new Credits(8);
          let endTrack!: () => void;
          const trackEnds = new Promise<void>((r) => (endTrack = r));
          p.serverMux.publishFunc(undefined, "/leaks", async (tw) => {
            live.track("TrackWriter", tw);
            for (let i = 0; i < GROUPS; i++) {
              await credits.take();
              const g = live.track("GroupWriter", await tw.openGroup());
              // What an application might do: note the group's abort, referring to the group.
              if (writerSignal)
                g.signal.addEventListener("abort", () => void g.groupSequence, { once: true });
              for (let j = 0; j < FRAMES; j++) await g.writeFrame(enc.encode(`${i}.${j}`));
              await g.close();
            }
            await trackEnds;
            await tw.close();
          });
          const base = await settledStats();
          const caller = mode === "readFrame(frame, signal)" ? new AbortController() : undefined;
          let tr: moqt.TrackReader | undefined = live.track(
            "TrackReader",
            await p.clientSession.subscribe("/leaks", "t"),
          );
          const seen = new Uint8Array(GROUPS);
          await readGroups(tr, GROUPS / 2, mode, caller?.signal, live, credits, seen);
          const o1 = await heapObjects();
          await readGroups(tr, GROUPS / 2, mode, caller?.signal, live, credits, seen);
          const o2 = await heapObjects();
          assert.deepEqual(seen, new Uint8Array(GROUPS).fill(1));
          // Nothing retained per group: fewer new JS objects over the second half than half its groups.
          const grown = grownObjects(o1, o2);
          assert.ok(
            count(grown) < GROUPS / 4,
            `${count(grown)} more JS objects after groups ${GROUPS / 2}..${GROUPS - 1}: ${JSON.stringify(grown.slice(0, 10))}`,
          );
          // The subscription is open: its bidi stream (a send and a recv half on each side) and nothing else.
          await live.expectCollected(`${GROUPS} groups, track open`, { TrackReader: 1, TrackWriter: 1 });
          await expectStats(
            { ...base, sendStreams: base.sendStreams + 2, recvStreams: base.recvStreams + 2 },
            `${GROUPS} groups, track open`,
          );
          assert.equal(live.made("GroupReader"), GROUPS);
          assert.equal(live.made("GroupWriter"), GROUPS);
          // The publisher ends the track; then nothing is left but the session.
          endTrack();
          await assert.rejects(tr.acceptGroup(), moqt.TrackEndedError);
          await tr.close();
          tr = undefined; // the application lets go of it
          await live.expectCollected("the track's end");
          await expectStats(base, "the track's end");
          // The caller's signal lives on (as an application-wide one would) and was never aborted.
          assert.equal(caller?.signal.aborted ?? false, false);
        });
      });
    }
  });
}

type ChurnEnd = "subscriber closes" | "subscriber closes with an error" | "publisher ends";
const CHURN = 200;

for (const [scheme, label] of SCHEMES) {
  describe(`subscription churn over ${label}`, () => {
    for (const end of [
      "subscriber closes",
      "subscriber closes with an error",
      "publisher ends",
    ] as ChurnEnd[]) {
      it(`${2 * CHURN} subscriptions, ${end}: streams back to the baseline, objects collected, heap flat`, async () => {
        const live = new Liveness();
        await withPair(scheme, async (p) => {
          // The publisher's end (also when its handler returns) waits until the group has been read: the end of
          // the subscribe stream could overtake the group's stream (and endLinger is 1 ms here).
          let groupRead = deferred();
          p.serverMux.publishFunc(undefined, "/churn", async (tw) => {
            live.track("TrackWriter", tw);
            const g = live.track("GroupWriter", await tw.openGroup());
            await g.writeFrame(enc.encode("x"));
            await g.close();
            await groupRead.promise;
            if (end === "publisher ends") await tw.close();
            else await new Promise<void>((r) => onceAborted(tw.signal, r));
          });
          const cycle = async (): Promise<void> => {
            groupRead = deferred();
            const tr = live.track("TrackReader", await p.clientSession.subscribe("/churn", "t"));
            const g = live.track("GroupReader", await tr.acceptGroup());
            let n = 0;
            for await (const f of g.frames()) n += f.len;
            assert.equal(n, 1);
            groupRead.resolve();
            if (end === "subscriber closes") await tr.close();
            else if (end === "subscriber closes with an error")
              await tr.closeWithError(moqt.SubscribeErrorCode.Internal);
            else await assert.rejects(tr.acceptGroup(), moqt.TrackEndedError);
          };
          const base = await settledStats();
          const o0 = await heapObjects();
          for (let i = 0; i < CHURN; i++) await cycle();
          await live.expectCollected(`${CHURN} subscriptions`);
          await expectStats(base, `${CHURN} subscriptions`);
          const o1 = await heapObjects();
          for (let i = 0; i < CHURN; i++) await cycle();
          await live.expectCollected(`${2 * CHURN} subscriptions`);
          await expectStats(base, `${2 * CHURN} subscriptions`);
          const o2 = await heapObjects();
          // The first batch may create one-off things (lazy caches, a grown table); the second must not retain
          // anything per subscription: fewer new objects than half its cycles (a leak of one object a cycle fails).
          const grown = grownObjects(o1, o2);
          const total = count(grown);
          assert.ok(
            total < CHURN / 2,
            `${total} more JS objects after cycles ${CHURN + 1}..${2 * CHURN} (first batch: ${count(grownObjects(o0, o1))}): ` +
              JSON.stringify(grown.slice(0, 10)),
          );
        });
      });
    }
  });
}

const LISTENERS = 200;

for (const [scheme, label] of SCHEMES) {
  describe(`announcement listener churn over ${label}`, () => {
    for (const how of ["close()", "closeWithError()"] as const) {
      it(`${LISTENERS} acceptAnnounce / ${how} cycles: streams back to the baseline, objects collected`, async () => {
        const live = new Liveness();
        await withPair(scheme, async (p) => {
          p.serverMux.publishFunc(undefined, "/ann/live", async (tw) => {
            await tw.close();
          });
          const base = await settledStats();
          const cycle = async (): Promise<void> => {
            const ar = live.track("AnnouncementReader", await p.clientSession.acceptAnnounce("/ann/"));
            const a = live.track("Announcement", await ar.receiveAnnouncement());
            assert.equal(a.broadcastPath, "/ann/live");
            if (how === "close()") await ar.close();
            else await ar.closeWithError(moqt.AnnounceErrorCode.Internal);
            // Closing the listener ends what it announced.
            await a.ended;
          };
          for (let i = 0; i < LISTENERS / 2; i++) await cycle();
          await live.expectCollected(`${LISTENERS / 2} announcement listeners`);
          await expectStats(base, `${LISTENERS / 2} announcement listeners`);
          const o1 = await heapObjects();
          for (let i = 0; i < LISTENERS / 2; i++) await cycle();
          await live.expectCollected(`${LISTENERS} announcement listeners`);
          await expectStats(base, `${LISTENERS} announcement listeners`);
          const grown = grownObjects(o1, await heapObjects());
          assert.ok(
            count(grown) < LISTENERS / 4,
            `${count(grown)} more JS objects after listeners ${LISTENERS / 2}..${LISTENERS - 1}: ${JSON.stringify(grown.slice(0, 10))}`,
          );
        });
      });
    }
  });
}

const SESSIONS = 50;

describe("session churn", () => {
  for (const [scheme, label] of SCHEMES) {
    for (const first of ["client", "server"] as const) {
      it(`${SESSIONS} sessions over ${label}, the ${first} closing first: connections, sessions and streams back to the baseline`, async () => {
        const live = new Liveness();
        const serverMux = new moqt.TrackMux();
        let groupRead = deferred(); // see the subscription churn
        serverMux.publishFunc(undefined, "/s", async (tw) => {
          const g = await tw.openGroup();
          await g.writeFrame(enc.encode("s"));
          await g.close();
          await groupRead.promise;
          await tw.close();
        });
        let accepted: ((s: moqt.Session) => void) | undefined;
        const router = new moqt.SetupRouter();
        router.handleFunc("/moq", async (w, r) => accepted?.(await moqt.accept(w, r, serverMux)));
        const server = new moqt.Server({ addr: "127.0.0.1:0", setupHandler: router, bitrateMonitor: false });
        server.listen();
        const client = new moqt.Client({
          tls: { serverCertificateHashes: [server.certificateHash!] },
          bitrateMonitor: false,
          config: { endLinger: 1 },
        });
        try {
          const base = await settledStats();
          const one = async (i: number): Promise<void> => {
            const serverSession = new Promise<moqt.Session>((r) => (accepted = r));
            const cs = live.track(
              "client Session",
              await client.dial(`${scheme}://127.0.0.1:${server.port}/moq`),
            );
            const ss = live.track("server Session", await serverSession);
            accepted = undefined; // its promise holds the session
            // Some traffic, so the sessions have had streams of both kinds.
            groupRead = deferred();
            const tr = await cs.subscribe("/s", "t");
            const g = await tr.acceptGroup();
            for await (const f of g.frames()) assert.equal(dec.decode(f.body()), "s");
            groupRead.resolve();
            await assert.rejects(tr.acceptGroup(), moqt.TrackEndedError);
            const [closer, other] = first === "client" ? [cs, ss] : [ss, cs];
            await closer.closeWithError(moqt.SessionErrorCode.NoError, `bye ${i}`);
            await closer.closed;
            await other.closed;
          };
          for (let i = 0; i < SESSIONS; i++) await one(i);
          await live.expectCollected(`${SESSIONS} sessions`);
          await expectStats(base, `${SESSIONS} sessions`);
          assert.equal(live.made("client Session"), SESSIONS);
          assert.equal(live.made("server Session"), SESSIONS);
        } finally {
          await client.close();
          await server.close();
        }
      });
    }
  }
});
