/** Session fuzz targets: a ScriptedPeer drives a real Session (library as client, dialled; or as server, accepted)
 *  with a random script of valid and invalid messages on every stream type, resets and STOP_SENDING with random codes,
 *  FINs and session closes at random points, interleaved with the library's own API calls (subscribe, acceptAnnounce,
 *  publish, openGroup/writeFrame/close, cancelRead, ...). Peer-opened streams from the library are answered by
 *  a responder following a random list of choices.
 *
 *  Invariants checked per case: nothing escapes (uncaught exception / unhandled rejection); every API promise settles
 *  once the peer has closed (none hangs); API calls reject only with the public error classes; the session closes
 *  with the peer's code, the application's code or a documented one (0, 1, 3, 6, 0x12, 0x13); the session's
 *  bookkeeping (track readers/writers, announce listeners, update listeners, unidentified streams) is back to 0.
 *  @module */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  SessionError,
  TrackMux,
  acceptTransport,
  dialTransport,
  isMoqtError,
  newMemoryTransportPair,
  type GroupReader,
  type Session,
  type SessionConfig,
  type TrackWriter,
} from "../src/index.js";
import { sessionCounters } from "../src/session/session.js";
import {
  AnnounceInit,
  AnnouncePlease,
  BiStreamType,
  Group,
  SessionClient,
  SessionUpdate,
  Subscribe,
  SubscribeOk,
  SubscribeUpdate,
  UniStreamType,
  Writer,
  encodeFrame,
  encodeMessage,
} from "../src/wire/index.js";
import {
  ScriptedPeer,
  bytes,
  streamPrefix,
  type RawBi,
  type RawSend,
} from "../test/support/scripted_peer.js";
import type { Target } from "./target.js";

// ---- the script

const code = fc.oneof(
  fc.integer({ min: 0, max: 8 }),
  fc.constantFrom(0x10, 0x12, 0x13, 0xffffffff),
  fc.nat({ max: 0xffffffff }),
);
const junk = fc.uint8Array({ maxLength: 24 });
const path = fc.constantFrom("/p", "/p/x", "/q", "relative", "", "/p/");
const prefix = fc.constantFrom("/", "/p/", "/q/", "p", "/p", "");
const suffix = fc.constantFrom("a", "b", "x/y", "", "a");
/** How a stream the peer writes ends. */
const ending = fc.oneof(
  fc.constant({ end: "fin" as const }),
  fc.constant({ end: "none" as const }),
  code.map((c) => ({ end: "reset" as const, code: c })),
  code.map((c) => ({ end: "stop" as const, code: c })),
);
type Ending = { end: "fin" | "none" } | { end: "reset" | "stop"; code: number };

const peerAction = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      a: fc.constant("subscribe" as const),
      id: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant(2 ** 62 - 1)),
      path,
      after: fc.array(
        fc.oneof(
          fc.integer({ min: 0, max: 255 }).map((p) => encodeMessage(SubscribeUpdate, { trackPriority: p })),
          junk,
        ),
        { maxLength: 2 },
      ),
      ending,
    }),
  },
  { weight: 3, arbitrary: fc.record({ a: fc.constant("announcePlease" as const), prefix, ending }) },
  { weight: 1, arbitrary: fc.record({ a: fc.constant("rawBi" as const), bytes: junk, ending }) },
  { weight: 1, arbitrary: fc.record({ a: fc.constant("rawUni" as const), bytes: junk, ending }) },
  {
    weight: 4,
    arbitrary: fc.record({
      a: fc.constant("group" as const),
      sub: fc.nat({ max: 6 }),
      seq: fc.nat({ max: 3 }),
      frames: fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 3 }),
      tail: fc.oneof(fc.constant(new Uint8Array(0)), junk),
      ending,
    }),
  },
  { weight: 2, arbitrary: fc.record({ a: fc.constant("sessionUpdate" as const), bitrate: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ a: fc.constant("sessionJunk" as const), bytes: junk }) },
  { weight: 1, arbitrary: fc.record({ a: fc.constant("sessionEnd" as const), ending }) },
  { weight: 1, arbitrary: fc.record({ a: fc.constant("close" as const), code }) },
  {
    weight: 3,
    arbitrary: fc.record({ a: fc.constant("wait" as const), ms: fc.integer({ min: 0, max: 15 }) }),
  },
);

const libAction = fc.oneof(
  fc.record({
    a: fc.constant("libSubscribe" as const),
    path: fc.constantFrom("/p", "/p/x", "/r"),
    then: fc.constantFrom(
      "read",
      "readAll",
      "close",
      "closeWithError",
      "update",
      "none",
      "cancelRead",
      "iterate",
    ),
    code,
  }),
  fc.record({
    a: fc.constant("libAnnounce" as const),
    prefix: fc.constantFrom("/", "/p/"),
    then: fc.constantFrom("receive", "close", "closeWithError", "none", "iterate"),
    code,
  }),
  fc.record({
    a: fc.constant("libPublish" as const),
    path: fc.constantFrom("/p", "/p/x", "/p/y"),
    handler: fc.constantFrom("groups", "hold", "throw", "return", "big", "closeWithError", "updates"),
    n: fc.integer({ min: 0, max: 3 }),
    code,
    endAfter: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
  }),
  fc.record({ a: fc.constant("libUpdated" as const) }),
  fc.record({ a: fc.constant("libBitrate" as const), bitrate: fc.nat() }),
  fc.record({ a: fc.constant("libClose" as const), code: fc.constantFrom(0, 1, 3, 0x99) }),
);

/** The responder's answer to a stream the library opened. */
const response = fc.oneof(
  fc.record({
    r: fc.constant("ok" as const),
    frames: fc.nat({ max: 2 }),
    later: fc.constantFrom("none", "fin", "junk", "reset"),
    code,
  }),
  fc.record({ r: fc.constant("reset" as const), code }),
  fc.record({ r: fc.constant("fin" as const) }),
  fc.record({ r: fc.constant("silent" as const) }),
  fc.record({ r: fc.constant("junk" as const), bytes: junk }),
  fc.record({
    r: fc.constant("init" as const),
    suffixes: fc.array(suffix, { maxLength: 3 }),
    then: fc.array(
      fc.oneof(
        fc.record({ status: fc.constantFrom<0 | 1>(0, 1), suffix }),
        fc.record({ status: fc.integer({ min: 2, max: 70 }), suffix }),
      ),
      { maxLength: 4 },
    ),
    fin: fc.boolean(),
  }),
);
const groupResponse = fc.oneof(
  fc.constant({ g: "read" as const }),
  fc.constant({ g: "ignore" as const }),
  code.map((c) => ({ g: "stop" as const, code: c })),
);

const setup = fc.oneof(
  { weight: 12, arbitrary: fc.constant({ s: "good" as const }) },
  { weight: 1, arbitrary: junk.map((b) => ({ s: "junk" as const, bytes: b })) },
  { weight: 1, arbitrary: fc.constant({ s: "stall" as const }) },
  { weight: 1, arbitrary: fc.constant({ s: "badVersion" as const }) },
);

const scenario = fc.record({
  setup,
  config: fc.record({
    maxIncomingSubscriptions: fc.constantFrom(1, 2, 4096),
    maxAnnounceListeners: fc.constantFrom(1, 256),
    maxPendingStreams: fc.constantFrom(1, 2, 64),
    maxQueuedGroups: fc.constantFrom(1, 32),
    maxFrameBytes: fc.constantFrom(16, 1 << 20),
    maxMessageBytes: fc.constantFrom(24, 1 << 20),
    maxAnnouncements: fc.constantFrom(2, 65536),
    maxPendingAnnouncements: fc.constantFrom(1, 1024),
    streamHeaderTimeout: fc.constantFrom(0, 15, 60),
    subscribeTimeout: fc.constantFrom(0, 30),
    announceInitTimeout: fc.constantFrom(0, 30),
  }),
  prePublish: fc.boolean(),
  actions: fc.array(fc.oneof({ weight: 3, arbitrary: peerAction }, { weight: 2, arbitrary: libAction }), {
    maxLength: 14,
  }),
  responses: fc.array(response, { minLength: 1, maxLength: 6 }),
  groupResponses: fc.array(groupResponse, { minLength: 1, maxLength: 3 }),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer S> ? S : never;
type Response = typeof response extends fc.Arbitrary<infer R> ? R : never;

// ---- running one scenario

const DOCUMENTED = new Set([0, 1, 3, 6, 0x12, 0x13]);
const SETTLE_MS = 3000;

/** Escape guards, installed once for the run. */
const escaped: unknown[] = [];
let guarded = false;
function installGuards(): void {
  if (guarded) return;
  guarded = true;
  process.on("unhandledRejection", (e) => escaped.push(e));
  process.on("uncaughtException", (e) => escaped.push(e));
}

/** How often each API call resolved or rejected (printed with --stats, to see what the scripts reach). */
export const outcomeStats = new Map<string, number>();
function count(key: string): void {
  outcomeStats.set(key, (outcomeStats.get(key) ?? 0) + 1);
}

const turn = () => new Promise<void>((r) => setImmediate(r));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function endStream(
  send: RawSend,
  recv: { stop(c: number): void } | undefined,
  e: Ending,
): Promise<void> | void {
  if (e.end === "fin") return send.fin();
  if (e.end === "reset") return send.reset(e.code);
  if (e.end === "stop") return recv?.stop(e.code);
}

class Run {
  readonly tracked: { name: string; settled: boolean; p: Promise<unknown> }[] = [];
  readonly problems: string[] = [];
  readonly observedIds: (number | bigint)[] = [];
  readonly appCloseCodes = new Set<number>();
  peerCloseCode: number | undefined;
  session: Session | undefined;
  #resp = 0;
  #gresp = 0;
  constructor(
    readonly sc: Scenario,
    readonly peer: ScriptedPeer,
    readonly mux: TrackMux,
  ) {}

  /** Track an API promise: it must settle, and reject only with a public error. */
  track<T>(name: string, p: Promise<T>, anyError = false): Promise<T | undefined> {
    const t = { name, settled: false, p: p as Promise<unknown> };
    this.tracked.push(t);
    return p.then(
      (v) => {
        t.settled = true;
        count(`${name} ok`);
        return v;
      },
      (e: unknown) => {
        t.settled = true;
        count(`${name} ${isMoqtError(e) ? `${e.name}(${e.code})` : "error"}`);
        if (!isMoqtError(e) && !anyError)
          this.problems.push(`${name} rejected with a non-moqt error: ${String(e)}`);
        return undefined;
      },
    );
  }

  nextResponse(): Response {
    return this.sc.responses[this.#resp++ % this.sc.responses.length]!;
  }

  nextGroupResponse() {
    return this.sc.groupResponses[this.#gresp++ % this.sc.groupResponses.length]!;
  }

  /** Answer streams the library opens towards the peer. */
  async respondBi(): Promise<void> {
    for (;;) {
      const s = await this.peer.acceptBi();
      if (!s) return;
      void this.answer(s).catch(() => {});
    }
  }

  async respondUni(): Promise<void> {
    for (;;) {
      const r = await this.peer.acceptUni();
      if (!r) return;
      const g = this.nextGroupResponse();
      if (g.g === "read") void r.end();
      else if (g.g === "stop") r.stop(g.code);
    }
  }

  async answer(s: RawBi): Promise<void> {
    const type = await s.recv.byte();
    const res = this.nextResponse();
    if (type === BiStreamType.Subscribe) {
      const m = await s.recv.message(Subscribe);
      this.observedIds.push(m.subscribeId);
      if (res.r === "ok" || res.r === "init") {
        await s.send.message(SubscribeOk, {});
        if (res.r === "ok") {
          for (let i = 0; i < res.frames; i++) {
            const g = await this.peer.openUni(
              streamPrefix(UniStreamType.Group, Group, { subscribeId: m.subscribeId, groupSequence: i }),
              encodeFrame(bytes(i)),
            );
            await g.fin();
          }
          if (res.later === "fin") await s.send.fin();
          else if (res.later === "junk") await s.send.write(bytes(7, 7, 7));
          else if (res.later === "reset") s.send.reset(res.code);
        }
      } else this.answerOther(s, res);
    } else if (type === BiStreamType.Announce) {
      await s.recv.message(AnnouncePlease);
      if (res.r === "init") {
        await s.send.message(AnnounceInit, { suffixes: res.suffixes });
        for (const m of res.then) {
          const body = new Writer().varint(m.status).string(m.suffix).bytes();
          await s.send.write(new Writer().varint(body.length).raw(body).bytes());
        }
        if (res.fin) await s.send.fin();
      } else if (res.r === "ok") await s.send.message(AnnounceInit, { suffixes: [] });
      else this.answerOther(s, res);
    }
  }

  answerOther(s: RawBi, res: Response): void {
    if (res.r === "reset") {
      s.send.reset(res.code);
      s.recv.stop(res.code);
    } else if (res.r === "fin") void s.send.fin();
    else if (res.r === "junk") void s.send.write(res.bytes);
  }

  publish(path: string, handler: string, n: number, c: number, endAfter: number | undefined): void {
    const ctrl = new AbortController();
    const serve = async (tw: TrackWriter): Promise<void> => {
      const t = <T>(name: string, p: Promise<T>) => this.track(`${handler}:${name}`, p);
      switch (handler) {
        case "groups":
          for (let i = 0; i < n; i++) {
            const g = await t("openGroup", tw.openGroup());
            if (!g) return;
            await t("writeFrame", g.writeFrame(bytes(i, i)));
            await t("close", g.close());
          }
          return;
        case "hold":
          await t("writeInfo", tw.writeInfo());
          await new Promise((r) =>
            tw.signal.aborted ? r(undefined) : tw.signal.addEventListener("abort", r, { once: true }),
          );
          return;
        case "throw":
          throw new Error("handler failed");
        case "big": {
          const g = await t("openGroup", tw.openGroup());
          if (!g) return;
          for (let i = 0; i < n + 1; i++) await t("writeFrame", g.writeFrame(new Uint8Array(200_000)));
          if (n === 2) g.cancelWrite(c);
          else await t("close", g.close());
          return;
        }
        case "closeWithError":
          await t("closeWithError", tw.closeWithError(c));
          return;
        case "updates":
          await t("writeInfo", tw.writeInfo());
          for await (const _u of tw.updated()) {
            /* drain */
          }
          return;
        default:
          return;
      }
    };
    this.mux.publishFunc(ctrl.signal, path, (tw) => this.track(`handler ${handler}`, serve(tw), true));
    if (endAfter !== undefined) setTimeout(() => ctrl.abort(), endAfter);
  }

  async readGroup(g: GroupReader, all: boolean): Promise<void> {
    for (;;) {
      const f = await this.track("readFrame", g.readFrame());
      if (!f || !all) return;
    }
  }

  async lib(action: Extract<Scenario["actions"][number], { a: `lib${string}` }>): Promise<void> {
    const s = this.session!;
    switch (action.a) {
      case "libSubscribe": {
        const tr = await this.track("subscribe", s.subscribe(action.path, "v"));
        if (!tr) return;
        switch (action.then) {
          case "read":
          case "readAll":
          case "cancelRead": {
            const g = await this.track("acceptGroup", tr.acceptGroup());
            if (!g) return;
            if (action.then === "cancelRead") g.cancelRead(action.code);
            else await this.readGroup(g, action.then === "readAll");
            return;
          }
          case "iterate":
            await this.track(
              "iterate groups",
              (async () => {
                for await (const g of tr) await this.readGroup(g, true);
              })(),
            );
            return;
          case "close":
            await this.track("tr.close", tr.close());
            return;
          case "closeWithError":
            await this.track("tr.closeWithError", tr.closeWithError(action.code));
            return;
          case "update":
            await this.track("tr.update", tr.update({ trackPriority: action.code & 0xff }));
            return;
        }
        return;
      }
      case "libAnnounce": {
        const ar = await this.track("acceptAnnounce", s.acceptAnnounce(action.prefix));
        if (!ar) return;
        if (action.then === "receive") await this.track("receiveAnnouncement", ar.receiveAnnouncement());
        else if (action.then === "close") await this.track("ar.close", ar.close());
        else if (action.then === "closeWithError")
          await this.track("ar.closeWithError", ar.closeWithError(action.code));
        else if (action.then === "iterate")
          await this.track(
            "iterate announcements",
            (async () => {
              for await (const _a of ar) {
                /* drain */
              }
            })(),
          );
        return;
      }
      case "libPublish":
        this.publish(action.path, action.handler, action.n, action.code, action.endAfter);
        return;
      case "libUpdated":
        await this.track(
          "updated",
          (async () => {
            for await (const _u of s.updated()) {
              /* drain */
            }
          })(),
        );
        return;
      case "libBitrate":
        await this.track("updateBitrate", s.updateBitrate(action.bitrate));
        return;
      case "libClose":
        this.appCloseCodes.add(action.code);
        await this.track("closeWithError", s.closeWithError(action.code, "fuzz"));
        return;
    }
  }

  async peerDo(
    action: Extract<Scenario["actions"][number], { a: Exclude<string, `lib${string}`> }>,
  ): Promise<void> {
    const p = this.peer;
    switch (action.a) {
      case "subscribe": {
        const s = await p.openBi(
          streamPrefix(BiStreamType.Subscribe, Subscribe, {
            subscribeId: action.id,
            broadcastPath: action.path,
            trackName: "v",
            trackPriority: 1,
          }),
        );
        void s.recv.end();
        for (const b of action.after) await s.send.write(b);
        await endStream(s.send, s.recv, action.ending);
        return;
      }
      case "announcePlease": {
        const s = await p.openBi(
          streamPrefix(BiStreamType.Announce, AnnouncePlease, { prefix: action.prefix }),
        );
        void s.recv.end();
        await endStream(s.send, s.recv, action.ending);
        return;
      }
      case "rawBi": {
        const s = await p.openBi(action.bytes);
        void s.recv.end();
        await endStream(s.send, s.recv, action.ending);
        return;
      }
      case "rawUni": {
        const s = await p.openUni(action.bytes);
        await endStream(s, undefined, action.ending);
        return;
      }
      case "group": {
        const id =
          this.observedIds.length > 0 && action.sub < 5
            ? this.observedIds[action.sub % this.observedIds.length]!
            : action.sub * 1000;
        const w = new Writer();
        for (const f of action.frames) w.raw(encodeFrame(f));
        w.raw(action.tail);
        const s = await p.openUni(
          streamPrefix(UniStreamType.Group, Group, { subscribeId: id, groupSequence: action.seq }),
          w.bytes(),
        );
        await endStream(s, undefined, action.ending);
        return;
      }
      case "sessionUpdate":
        await p.session?.send.message(SessionUpdate, { bitrate: action.bitrate });
        return;
      case "sessionJunk":
        await p.session?.send.write(action.bytes);
        return;
      case "sessionEnd":
        if (p.session) await endStream(p.session.send, p.session.recv, action.ending);
        return;
      case "close":
        this.peerCloseCode ??= action.code;
        p.close(action.code, "fuzz peer");
        return;
      case "wait":
        await sleep(action.ms);
        return;
    }
  }
}

async function setupSession(run: Run, role: "client" | "server", config: SessionConfig, wtLib: unknown) {
  const sc = run.sc;
  const peer = run.peer;
  const opts = { mux: run.mux, config: { ...config, setupTimeout: 40, endLinger: 5 } };
  if (role === "server") {
    const p = run.track("acceptTransport", acceptTransport(wtLib as never, opts));
    if (sc.setup.s === "good") await peer.setupAsClient();
    else if (sc.setup.s === "badVersion") await peer.setupAsClient([0x1234]).catch(() => {});
    else if (sc.setup.s === "junk") await peer.openBi(bytes(BiStreamType.Session), sc.setup.bytes);
    return p;
  }
  const p = run.track("dialTransport", dialTransport(wtLib as never, opts));
  if (sc.setup.s === "good") await peer.setupAsServer();
  else if (sc.setup.s === "badVersion") await peer.setupAsServer(0x1234).catch(() => {});
  else if (sc.setup.s === "junk") {
    const s = await peer.acceptBi();
    if (s) {
      await s.recv.byte().catch(() => {});
      await s.recv.message(SessionClient).catch(() => {});
      await s.send.write(sc.setup.bytes);
      await s.send.fin();
    }
  }
  return p;
}

async function runScenario(role: "client" | "server", sc: Scenario): Promise<void> {
  installGuards();
  const escapedBefore = escaped.length;
  const [c, s] = newMemoryTransportPair({ windowBytes: 4096 });
  const [wtLib, wtPeer] = role === "server" ? [s, c] : [c, s];
  const peer = new ScriptedPeer(wtPeer);
  const mux = new TrackMux();
  const run = new Run(sc, peer, mux);
  if (sc.prePublish) run.publish("/p", "groups", 2, 0, undefined);
  const session = await setupSession(run, role, sc.config, wtLib);
  run.session = session;
  const responders = role === "client" || sc.setup.s === "good" ? [run.respondBi(), run.respondUni()] : [];
  if (session) {
    const bg: Promise<unknown>[] = [];
    for (const action of sc.actions) {
      if (action.a.startsWith("lib"))
        bg.push(
          run.lib(action as Parameters<Run["lib"]>[0]).catch((e: unknown) => run.problems.push(`lib: ${e}`)),
        );
      else await run.peerDo(action as Parameters<Run["peerDo"]>[0]).catch(() => {});
      await turn();
    }
    await sleep(5);
  }
  // The peer hangs up; everything must settle.
  peer.close(0, "done");
  if (session) {
    const closed = await Promise.race([
      session.closed.then((e) => ({ e })),
      sleep(SETTLE_MS).then(() => null),
    ]);
    if (closed === null) run.problems.push("session.closed never settled");
    else if (closed.e) {
      const e = closed.e;
      assert.ok(e instanceof SessionError);
      if (e.remote) {
        if (e.code !== (run.peerCloseCode ?? 0)) run.problems.push(`remote close code ${e.code}`);
      } else if (!DOCUMENTED.has(e.code) && !run.appCloseCodes.has(e.code))
        run.problems.push(`session closed locally with undocumented code ${e.code}`);
    }
  }
  const deadline = Date.now() + SETTLE_MS;
  while (run.tracked.some((t) => !t.settled) && Date.now() < deadline) await sleep(5);
  const hung = run.tracked.filter((t) => !t.settled).map((t) => t.name);
  if (hung.length) run.problems.push(`never settled after the peer closed: ${hung.join(", ")}`);
  if (session) {
    await turn();
    const counters = sessionCounters(session);
    for (const [k, v] of Object.entries(counters))
      if (v !== 0) run.problems.push(`${k} is ${v} after the session closed`);
  }
  await Promise.all(responders);
  await turn();
  await turn();
  if (escaped.length > escapedBefore)
    run.problems.push(
      `escaped: ${escaped
        .slice(escapedBefore)
        .map((e) => (e instanceof Error ? e.stack : String(e)))
        .join("; ")}`,
    );
  assert.deepEqual(run.problems, []);
}

export function sessionTarget(role: "client" | "server"): Target {
  return {
    name: `session/${role}`,
    weight: 10,
    property: () => fc.asyncProperty(scenario, (sc) => runScenario(role, sc)),
  };
}

export const sessionTargets: Target[] = [sessionTarget("server"), sessionTarget("client")];
export { runScenario, scenario, type Scenario };
