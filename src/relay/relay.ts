/** Relay: a MoQ server where every session can publish and subscribe, with one upstream subscription per track
 *  shared by all its downstream subscribers.
 *
 *  - Announcements: the relay asks each session for its broadcasts (`acceptAnnounce("/")`) and re-announces them to
 *    every *other* session (each session gets its own TrackMux view, so its own broadcasts are never echoed back).
 *    When the publisher's announcement ends or its session goes, the broadcast ends downstream (ENDED). Two sessions
 *    announcing the same path: the newest wins; when it goes, the previous one (if still active) is announced again.
 *  - Subscriptions: the first downstream SUBSCRIBE to a (broadcast, track) opens one upstream subscription; groups fan
 *    out with their sequences and frames are passed on as bytes (see fanout.ts for caching and memory bounds). When
 *    the last downstream leaves, the upstream subscription is kept for `upstreamLinger` ms (default 2 s) for the next
 *    subscriber, then closed. The upstream carries the highest priority among the downstreams present: when that
 *    changes (a join, a SUBSCRIBE_UPDATE, the highest one leaving) the relay sends SUBSCRIBE_UPDATE upstream.
 *  - Endings, and the codes used:
 *    - the publisher ends the track cleanly (FIN): downstream groups drain, then each subscription is FINed;
 *    - the publisher resets the subscription with a code: downstream subscriptions are reset with the same code;
 *    - the publisher goes away (its announcement ends, its session closes, or a newer publisher takes the path):
 *      downstream subscriptions are reset with `PUBLISHER_GONE` = SubscribeErrorCode.TrackNotFound (3), the code a
 *      new subscribe to that path now gets; their open groups are reset with GroupErrorCode.PublishAborted (5);
 *    - upstream group resets are passed on with the publisher's code (PublishAborted (5) when it was local);
 *    - a slow downstream's old groups are reset with GroupErrorCode.ExpiredGroup (3).
 *  - Authentication (`auth` option; see auth.ts for the token format): every session needs a JWT in its URL query
 *    (`?jwt=…`; over raw QUIC in the path parameter, which the client fills from a moqt:// URL's query), verified
 *    with the configured keys, whose `publish`/`subscribe` path prefixes bind the session until it ends:
 *    - a missing, badly signed, malformed or expired token: setup rejected with SessionErrorCode.Unauthorized (0x2);
 *    - the token expires while the session is open: the session is closed with Unauthorized (0x2) at `exp`;
 *    - the session announces a path outside `publish`: the announcement is ignored (not relayed to anyone);
 *    - the session subscribes outside `subscribe`: SubscribeErrorCode.Unauthorized (4);
 *    - the session's announcement listeners only ever see broadcasts inside `subscribe`.
 *    Every refusal counts in `moqt_relay_auth_denied_total{kind="setup"|"expired"|"announce"|"subscribe"}`.
 *    Without `auth` the relay is open: every session may publish and subscribe everything (the demo).
 *  - Origins: `checkOrigin` vets the WebTransport Origin header; a refusal is HTTP 403 at the handshake.
 *  @module */
import { X509Certificate } from "node:crypto";
import { createServer, type Server as HttpServer } from "node:http";
import { fileURLToPath } from "node:url";
import {
  GroupError,
  GroupErrorCode,
  SessionErrorCode,
  SubscribeError,
  SubscribeErrorCode,
} from "../errors.js";
import { Server } from "../server/server.js";
import type { SessionConfig } from "../session/config.js";
import type { Session } from "../session/session.js";
import { accept, type SetupRequest, type SetupResponseWriter } from "../session/setup.js";
import { newAnnouncement, type Announcement } from "../track/announcement.js";
import type { GroupReader } from "../track/group_reader.js";
import type { BroadcastPath, TrackName } from "../track/path.js";
import { TrackMux, type TrackHandler } from "../track/track_mux.js";
import type { TrackReader } from "../track/track_reader.js";
import type { TrackWriter } from "../track/track_writer.js";
import { inScope, TokenError, TokenVerifier, type RelayAuthOptions, type TokenScope } from "./auth.js";
import { Fanout, newFanoutCounters, type FanoutCounters, type FanoutLimits } from "./fanout.js";
import { httpHandler } from "./http.js";
import { LoopDelay, type Metric } from "./metrics.js";

/** Code downstream subscriptions are reset with when their publisher goes away. */
export const PUBLISHER_GONE: number = SubscribeErrorCode.TrackNotFound;

export interface RelayOptions {
  /** UDP address for WebTransport and raw QUIC. Default "127.0.0.1:4443"; port 0 picks a free one. */
  listen?: string;
  /** Certificate and key (PEM). Omitted: a development certificate is generated. */
  cert?: string | Uint8Array;
  key?: string | Uint8Array;
  /** TCP address of the HTTP listener (demo page, /certificate.sha256, /metrics). Default "127.0.0.1:8080";
   *  port 0 picks a free one; false: no HTTP listener. */
  http?: string | false;
  /** Folder of static files served over HTTP. Default: the package's `web/dist/`. */
  webRoot?: string;
  /** WebTransport Origin check (undefined: no Origin header, a non-browser client); a refusal answers HTTP 403.
   *  Default: accept all. */
  checkOrigin?: (origin: string | undefined) => boolean;
  /** JWT authentication (see the module comment and auth.ts). Omitted: anonymous, everything allowed. */
  auth?: RelayAuthOptions;
  /** Session timeouts and caps. */
  config?: SessionConfig;
  /** Per-downstream memory bounds and the late-join cache cap. */
  limits?: FanoutLimits;
  /** After the last downstream subscriber of a track leaves, keep its upstream subscription open this long (ms),
   *  so a subscriber arriving meanwhile reuses it (and gets the cached group at once) instead of the relay
   *  subscribing again. Default 2000; 0 closes it at once. */
  upstreamLinger?: number;
  /** Diagnostic lines (sessions, broadcasts); default: none. */
  log?: (line: string) => void;
}

/** A snapshot of the relay's counters. */
export interface RelayStats extends FanoutCounters {
  /** Refusals by the auth checks, by kind. */
  authDenied: AuthDeniedCounts;
  sessionsOpen: number;
  sessionsTotal: number;
  /** Connections whose MoQ session setup failed: no session stream or SESSION_CLIENT within the setup timeout, a
   *  malformed setup, or a setup refused (by auth too: see `authDenied.setup`). */
  setupFailures: number;
  announcementsActive: number;
  bytesIn: number;
  framesIn: number;
  groupsIn: number;
  /** Upstream SUBSCRIBEs sent (one per track while it has subscribers; again after it was closed). */
  upstreamSubscribes: number;
  /** SUBSCRIBE_UPDATEs sent upstream (the highest downstream priority changed). */
  upstreamUpdates: number;
  /** Upstream subscriptions ended, by why: idle (no subscriber for `upstreamLinger` ms), ended (publisher FIN),
   *  failed (refused or reset by the publisher), publisher_gone (its announcement or session ended). */
  upstreamClosed: Record<UpstreamCloseReason, number>;
  /** Per broadcast path: downstream subscriptions and upstream subscriptions. */
  broadcasts: Map<BroadcastPath, { subscriptions: number; upstream: number }>;
  /** Pending bytes/frames summed over all downstreams, and the largest on one downstream, now. */
  pendingBytes: number;
  pendingFrames: number;
  pendingBytesMax: number;
  pendingFramesMax: number;
}

/** Refusals counted by kind: at setup (bad or missing token), sessions closed at their token's `exp`, ignored
 *  announcements (outside `publish`), refused subscriptions (outside `subscribe`). */
export interface AuthDeniedCounts {
  setup: number;
  expired: number;
  announce: number;
  subscribe: number;
}

let nextPeerId = 1;

/** A session's mux view: refuses subscriptions outside the session's `subscribe` scope with Unauthorized (4). */
class PeerMux extends TrackMux {
  constructor(readonly peer: Peer) {
    super();
  }

  override async serveTrack(tw: TrackWriter): Promise<void> {
    if (!this.peer.maySubscribe(tw.broadcastPath)) {
      this.peer.denied("subscribe", tw.broadcastPath);
      await tw.closeWithError(SubscribeErrorCode.Unauthorized);
      return;
    }
    await super.serveTrack(tw);
  }
}

class Peer {
  readonly id = nextPeerId++;
  readonly mux: TrackMux = new PeerMux(this);
  /** Aborted when the session ends (or its setup fails). */
  readonly ctrl = new AbortController();
  session: Session | undefined;
  /** What the session may do; undefined: anything (anonymous relay). */
  constructor(
    readonly path: string,
    readonly scope: TokenScope | undefined,
    readonly denied: (kind: keyof AuthDeniedCounts, path: string) => void,
  ) {}

  maySubscribe(path: string): boolean {
    return this.scope === undefined || inScope(this.scope.subscribe, path);
  }

  mayPublish(path: string): boolean {
    return this.scope === undefined || inScope(this.scope.publish, path);
  }

  /** Announce `ann` in this session's mux view (when inside its subscribe scope). The mux gets its own
   *  announcement, ended with `ann` or with the session, so a closed session leaves nothing registered on the
   *  long-lived `ann`. */
  announce(ann: Announcement, handler: TrackHandler): void {
    if (this.ctrl.signal.aborted || !this.maySubscribe(ann.broadcastPath)) return;
    const [mine, end] = newAnnouncement(this.ctrl.signal, ann.broadcastPath);
    const stop = ann.afterFunc(end);
    mine.afterFunc(() => stop());
    this.mux.announce(mine, handler);
  }
}

/** Why an upstream subscription ended (the `reason` label of `moqt_relay_upstream_closed_total`). */
export type UpstreamCloseReason = "idle" | "ended" | "failed" | "publisher_gone";

/** One upstream subscription and its downstreams.
 *
 *  Lifetime: opened by the first downstream SUBSCRIBE; kept while any downstream remains and for `upstreamLinger`
 *  ms after the last one leaves (a subscriber arriving meanwhile reuses it, and gets the cached group at once); then
 *  closed ("idle"). It also ends when the publisher ends the track ("ended"), resets it or refuses it ("failed"), or
 *  goes away ("publisher_gone").
 *
 *  Priority policy: the upstream subscription carries the highest `trackPriority` among the downstream
 *  subscriptions present now. Whenever that maximum changes — a subscriber joins with a higher priority, one sends
 *  SUBSCRIBE_UPDATE, or the highest one leaves — the relay sends SUBSCRIBE_UPDATE upstream with the new maximum
 *  (updates are sent in order, one at a time). With no downstream left (lingering) the priority is kept. */
class RelayTrack {
  readonly fanout: Fanout;
  #upstream: TrackReader | undefined;
  #closed = false;
  #ended = false;
  #linger: ReturnType<typeof setTimeout> | undefined;
  /** Current priority of each downstream subscription. */
  #prios = new Map<TrackWriter, number>();
  /** The priority the upstream subscription has (asked for in SUBSCRIBE or the last SUBSCRIBE_UPDATE). */
  #sentPriority: number;
  #updating: Promise<void> = Promise.resolve();

  constructor(
    readonly source: Source,
    readonly name: TrackName,
    priority: number,
  ) {
    this.#sentPriority = priority;
    this.fanout = new Fanout({
      limits: source.relay.limits,
      counters: source.relay.counters,
      onEmpty: () => this.#idle(),
    });
  }

  get upstreamOpen(): boolean {
    return this.#upstream !== undefined && !this.#closed;
  }

  /** Serve one downstream subscription until it ends. */
  serve(tw: TrackWriter): Promise<void> {
    if (this.#linger !== undefined) {
      clearTimeout(this.#linger);
      this.#linger = undefined;
    }
    const done = this.fanout.addDownstream(tw);
    if (tw.signal.aborted) return done;
    this.#prios.set(tw, tw.trackConfig.trackPriority ?? 0);
    this.#syncPriority();
    void (async () => {
      for await (const c of tw.updated()) {
        if (!this.#prios.has(tw)) break;
        this.#prios.set(tw, c.trackPriority ?? 0);
        this.#syncPriority();
      }
    })().catch(() => {});
    return done.finally(() => {
      this.#prios.delete(tw);
      this.#syncPriority();
    });
  }

  /** Send SUBSCRIBE_UPDATE upstream when the highest downstream priority differs from the upstream's. */
  #syncPriority(): void {
    const tr = this.#upstream;
    if (!tr || this.#closed || this.#ended || this.#prios.size === 0) return;
    let want = 0;
    for (const p of this.#prios.values()) if (p > want) want = p;
    if (want === this.#sentPriority) return;
    this.#sentPriority = want;
    this.source.relay.counters.upstreamUpdates++;
    this.#updating = this.#updating.then(() => tr.update({ trackPriority: want })).catch(() => {});
  }

  /** The last downstream left: close the upstream after the linger (at once when it is 0). */
  #idle(): void {
    if (this.#closed) return;
    const ms = this.source.relay.upstreamLinger;
    if (ms <= 0) {
      this.close("idle");
      return;
    }
    clearTimeout(this.#linger);
    this.#linger = setTimeout(() => {
      this.#linger = undefined;
      if (this.fanout.size === 0) this.close("idle");
    }, ms);
    this.#linger.unref?.();
  }

  async run(): Promise<void> {
    const relay = this.source.relay;
    const session = this.source.peer.session!;
    let tr: TrackReader;
    relay.counters.upstreamSubscribes++;
    try {
      tr = await session.subscribe(this.source.path, this.name, { trackPriority: this.#sentPriority });
    } catch (e) {
      this.fanout.fail(e instanceof SubscribeError && e.remote ? e.code : PUBLISHER_GONE);
      this.#finalize("failed");
      return;
    }
    if (this.#closed) {
      void tr.close();
      return;
    }
    this.#upstream = tr;
    this.fanout.ready();
    this.#syncPriority();
    const groups = new Set<Promise<void>>();
    let failed: unknown;
    try {
      for await (const g of tr) {
        relay.counters.groupsIn++;
        const p = this.#readGroup(g).finally(() => groups.delete(p));
        groups.add(p);
      }
    } catch (e) {
      failed = e ?? new Error("upstream failed");
    }
    if (this.#closed) return;
    if (failed === undefined) {
      this.#ended = true;
      await Promise.allSettled([...groups]);
      this.fanout.finish();
      this.#finalize("ended");
      return;
    }
    // A publisher whose session is closing resets its streams as the close goes out (the reset can overtake the
    // session close): give the session a moment to report its end before passing the stream's code on.
    this.#ended = true;
    let code = failed instanceof SubscribeError && failed.remote ? failed.code : PUBLISHER_GONE;
    if (code !== PUBLISHER_GONE) {
      await Promise.race([session.closed, new Promise((r) => setTimeout(r, 250))]);
      if (session.signal.aborted) code = PUBLISHER_GONE;
    }
    if (this.#closed) return;
    this.fanout.fail(code);
    this.#finalize(code === PUBLISHER_GONE ? "publisher_gone" : "failed");
  }

  async #readGroup(g: GroupReader): Promise<void> {
    const c = this.source.relay.counters;
    const fg = this.fanout.startGroup(g.groupSequence);
    try {
      for (;;) {
        const f = await g.readFrame();
        if (f === null) break;
        let b = f.body();
        // A small frame may be a view into a large received chunk: copy it so the chunk is not kept alive.
        if (b.byteLength * 4 < b.buffer.byteLength) b = b.slice();
        c.bytesIn += b.byteLength;
        c.framesIn++;
        fg.push(b);
      }
      fg.end();
    } catch (e) {
      fg.abort(e instanceof GroupError && e.remote ? e.code : GroupErrorCode.PublishAborted);
    }
  }

  /** Stop: the upstream subscription is closed (idle after the last downstream left, or the source went away). */
  close(reason: UpstreamCloseReason): void {
    if (this.#closed) return;
    this.#finalize(reason);
    void this.#upstream?.close();
  }

  #finalize(reason: UpstreamCloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#linger);
    this.#linger = undefined;
    this.source.relay.counters.upstreamClosed[reason]++;
    if (this.source.tracks.get(this.name) === this) this.source.tracks.delete(this.name);
  }
}

/** One publisher's announcement of a broadcast path, and the handler serving it to other sessions. */
class Source implements TrackHandler {
  readonly path: BroadcastPath;
  readonly tracks = new Map<TrackName, RelayTrack>();
  #relayAnn: Announcement | undefined;
  #end: (() => void) | undefined;
  #endCode = PUBLISHER_GONE;

  constructor(
    readonly relay: Relay,
    readonly peer: Peer,
    readonly upstream: Announcement,
  ) {
    this.path = upstream.broadcastPath;
  }

  get active(): Announcement | undefined {
    return this.#relayAnn?.isActive() ? this.#relayAnn : undefined;
  }

  /** Announce to every other session. */
  activate(peers: Iterable<Peer>): void {
    if (this.active) return;
    const [ann, end] = newAnnouncement(undefined, this.path);
    this.#relayAnn = ann;
    this.#end = end;
    // Registered before the muxes' own: subscriptions are reset with a code before the muxes FIN them.
    ann.afterFunc(() => {
      for (const t of [...this.tracks.values()]) {
        t.fanout.fail(this.#endCode);
        t.close("publisher_gone");
      }
    });
    for (const p of peers) if (p !== this.peer) p.announce(ann, this);
  }

  /** End downstream (ENDED to listeners, subscriptions reset with `code`). */
  deactivate(code: number): void {
    this.#endCode = code;
    this.#end?.();
    this.#relayAnn = undefined;
    this.#end = undefined;
  }

  serveTrack(tw: TrackWriter): Promise<void> {
    if (!this.active || !this.peer.session || this.peer.session.signal.aborted)
      return tw.closeWithError(SubscribeErrorCode.TrackNotFound);
    let t = this.tracks.get(tw.trackName);
    if (!t) {
      t = new RelayTrack(this, tw.trackName, tw.trackConfig.trackPriority ?? 0);
      this.tracks.set(tw.trackName, t);
      void t.run();
    }
    return t.serve(tw);
  }
}

export class Relay {
  readonly server: Server;
  readonly limits: FanoutLimits;
  /** See RelayOptions.upstreamLinger. */
  readonly upstreamLinger: number;
  readonly counters = {
    ...newFanoutCounters(),
    sessionsTotal: 0,
    setupFailures: 0,
    bytesIn: 0,
    framesIn: 0,
    groupsIn: 0,
    upstreamSubscribes: 0,
    upstreamUpdates: 0,
    upstreamClosed: { idle: 0, ended: 0, failed: 0, publisher_gone: 0 } as Record<
      UpstreamCloseReason,
      number
    >,
    authDenied: { setup: 0, expired: 0, announce: 0, subscribe: 0 } as AuthDeniedCounts,
  };
  #verifier: TokenVerifier | undefined;
  #log: (line: string) => void;
  #peers = new Set<Peer>();
  /** Per path: every still-active source, oldest first; the last one is announced. */
  #sources = new Map<BroadcastPath, Source[]>();
  #closed = false;
  #opts: RelayOptions;
  #http: HttpServer | undefined;
  #certHash: string | undefined;
  /** Event-loop delay of this process (sampled every 10 ms while listening; reset by each metrics() read). */
  #loopDelay = new LoopDelay();

  constructor(opts: RelayOptions = {}) {
    this.#opts = opts;
    this.limits = opts.limits ?? {};
    const linger = opts.upstreamLinger ?? 2000;
    if (!(linger >= 0)) throw new RangeError(`moqt: upstreamLinger must be >= 0 ms, got ${linger}`);
    this.upstreamLinger = linger;
    this.#log = opts.log ?? (() => {});
    if (opts.auth) this.#verifier = new TokenVerifier(opts.auth.keys);
    this.server = new Server({
      addr: opts.listen ?? "127.0.0.1:4443",
      ...(opts.cert !== undefined ? { cert: opts.cert } : {}),
      ...(opts.key !== undefined ? { key: opts.key } : {}),
      ...(opts.checkOrigin ? { checkOrigin: opts.checkOrigin } : {}),
      ...(opts.config ? { config: opts.config } : {}),
      // Every session path is accepted: the relay is one space of broadcasts whatever the URL path.
      setupHandler: (w, r) => this.#setup(w, r),
      onError: (e) => {
        this.counters.setupFailures++;
        this.#log(`setup failed: ${e instanceof Error ? e.message : String(e)}`);
      },
    });
  }

  /** Bind the UDP socket (synchronously). */
  listen(): void {
    this.server.listen();
    this.#loopDelay.start();
  }

  /** Bind the UDP socket and start the HTTP listener. */
  async start(): Promise<void> {
    this.listen();
    const addr = this.#opts.http ?? "127.0.0.1:8080";
    if (addr === false) return;
    const { host, port } = parseHostPort(addr);
    const webRoot = this.#opts.webRoot ?? fileURLToPath(new URL("../../web/dist/", import.meta.url));
    const http = createServer(httpHandler(this, webRoot));
    this.#http = http;
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(port, host === "" ? undefined : host, () => {
        http.off("error", reject);
        resolve();
      });
    });
  }

  /** The bound UDP port. */
  get port(): number {
    return this.server.port;
  }

  /** The host the UDP socket is bound to, as given (wildcards shown as 127.0.0.1 in URLs). */
  get host(): string {
    return parseHostPort(this.#opts.listen ?? "127.0.0.1:4443").host;
  }

  /** The bound HTTP port (undefined without an HTTP listener). */
  get httpPort(): number | undefined {
    const a = this.#http?.address();
    return a && typeof a === "object" ? a.port : undefined;
  }

  /** The host the HTTP listener is bound to. */
  get httpHost(): string | undefined {
    const a = this.#opts.http;
    return a === false ? undefined : parseHostPort(a ?? "127.0.0.1:8080").host;
  }

  /** Hex SHA-256 of the DER certificate (given or generated). */
  certificateSha256(): string {
    this.#certHash ??= new X509Certificate(this.certificatePem).fingerprint256
      .replace(/:/g, "")
      .toLowerCase();
    return this.#certHash;
  }

  /** The WebTransport URL of the relay. */
  moqUrl(): string {
    return `https://${urlHost(this.host)}:${this.port}/`;
  }

  /** The demo page URL (undefined without an HTTP listener). */
  httpUrl(): string | undefined {
    const p = this.httpPort;
    return p === undefined ? undefined : `http://${urlHost(this.httpHost!)}:${p}/`;
  }

  /** The certificate in use (PEM). */
  get certificatePem(): string {
    const pem = this.server.certificatePem;
    if (pem === undefined) throw new Error("moqt: relay is not listening");
    return pem;
  }

  /** The session's scope from its token (undefined: anonymous relay); throws TokenError when refused. */
  async #authorize(r: SetupRequest): Promise<{ scope: TokenScope; expiresAt: number } | undefined> {
    const auth = this.#opts.auth;
    if (!this.#verifier || !auth) return undefined;
    let token: string | null = null;
    try {
      token = new URL(r.url ?? r.path, "moqt://relay/").searchParams.get("jwt");
    } catch {
      throw new TokenError("malformed", "bad request URL");
    }
    if (!token && auth.required === false)
      return { scope: auth.anonymous ?? { publish: [], subscribe: ["/"] }, expiresAt: Infinity };
    return this.#verifier.verify(token).then((g) => ({ scope: g, expiresAt: g.expiresAt }));
  }

  #denied(peer: { id: number }, kind: keyof AuthDeniedCounts, path: string): void {
    this.counters.authDenied[kind]++;
    this.#log(`session #${peer.id}: ${kind} ${path} not allowed by its token`);
  }

  async #setup(w: SetupResponseWriter, r: SetupRequest): Promise<void> {
    let grant: { scope: TokenScope; expiresAt: number } | undefined;
    try {
      grant = await this.#authorize(r);
    } catch (e) {
      this.counters.authDenied.setup++;
      this.#log(`setup refused (path ${r.path}): ${e instanceof Error ? e.message : String(e)}`);
      await w.reject(SessionErrorCode.Unauthorized);
      return;
    }
    const peer: Peer = new Peer(r.path, grant?.scope, (kind, path) => this.#denied(peer, kind, path));
    // The new session sees every broadcast announced so far (none of them are its own yet).
    for (const list of this.#sources.values()) {
      const src = list[list.length - 1];
      const ann = src?.active;
      if (src && ann) peer.announce(ann, src);
    }
    this.#peers.add(peer);
    let session: Session;
    try {
      session = await accept(w, r, peer.mux);
    } catch (e) {
      this.#peers.delete(peer);
      peer.ctrl.abort();
      throw e;
    }
    peer.session = session;
    this.counters.sessionsTotal++;
    this.#log(`session #${peer.id} open (path ${r.path})`);
    void session.closed.then((err) => {
      this.#peers.delete(peer);
      peer.ctrl.abort();
      this.#log(`session #${peer.id} closed${err ? `: ${err.message}` : ""}`);
    });
    if (grant && grant.expiresAt !== Infinity) this.#expireAt(peer, session, grant.expiresAt);
    void this.#watchAnnouncements(peer, session);
  }

  /** Close `session` with Unauthorized (0x2) when its token expires. */
  #expireAt(peer: Peer, session: Session, at: number): void {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      const left = at - Date.now();
      if (left > 0) {
        // setTimeout holds at most 2^31-1 ms: re-arm for long-lived tokens.
        timer = setTimeout(arm, Math.min(left, 0x7fffffff));
        timer.unref?.();
        return;
      }
      if (session.signal.aborted) return;
      this.counters.authDenied.expired++;
      this.#log(`session #${peer.id}: token expired`);
      void session.closeWithError(SessionErrorCode.Unauthorized, "token expired");
    };
    peer.ctrl.signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
    arm();
  }

  async #watchAnnouncements(peer: Peer, session: Session): Promise<void> {
    try {
      const ar = await session.acceptAnnounce("/");
      for await (const ann of ar) this.#addSource(peer, ann);
    } catch (e) {
      if (!session.signal.aborted && !this.#closed)
        this.#log(
          `session #${peer.id}: announcements unavailable: ${e instanceof Error ? e.message : String(e)}`,
        );
    }
  }

  #addSource(peer: Peer, ann: Announcement): void {
    if (!ann.isActive() || this.#closed) return;
    const path = ann.broadcastPath;
    if (!peer.mayPublish(path)) {
      peer.denied("announce", path);
      return;
    }
    const src = new Source(this, peer, ann);
    let list = this.#sources.get(path);
    if (!list) this.#sources.set(path, (list = []));
    const prev = list[list.length - 1];
    list.push(src);
    prev?.deactivate(PUBLISHER_GONE);
    src.activate(this.#peers);
    this.#log(`broadcast ${path} announced by session #${peer.id}`);
    ann.afterFunc(() => this.#removeSource(src));
  }

  #removeSource(src: Source): void {
    const list = this.#sources.get(src.path);
    if (!list) return;
    const i = list.indexOf(src);
    if (i < 0) return;
    list.splice(i, 1);
    const wasActive = src.active !== undefined;
    src.deactivate(PUBLISHER_GONE);
    this.#log(`broadcast ${src.path} from session #${src.peer.id} ended`);
    if (list.length === 0) this.#sources.delete(src.path);
    else if (wasActive && !this.#closed) list[list.length - 1]!.activate(this.#peers);
  }

  /** Counters and gauges now. */
  stats(): RelayStats {
    const broadcasts = new Map<BroadcastPath, { subscriptions: number; upstream: number }>();
    let pendingBytes = 0,
      pendingFrames = 0,
      pendingBytesMax = 0,
      pendingFramesMax = 0,
      active = 0;
    for (const [path, list] of this.#sources) {
      const entry = { subscriptions: 0, upstream: 0 };
      for (const src of list) {
        if (src.active) active++;
        for (const t of src.tracks.values()) {
          entry.subscriptions += t.fanout.size;
          if (t.upstreamOpen) entry.upstream++;
          const p = t.fanout.pending();
          pendingBytes += p.bytes;
          pendingFrames += p.frames;
          pendingBytesMax = Math.max(pendingBytesMax, p.maxBytes);
          pendingFramesMax = Math.max(pendingFramesMax, p.maxFrames);
        }
      }
      broadcasts.set(path, entry);
    }
    let open = 0;
    for (const p of this.#peers) if (p.session && !p.session.signal.aborted) open++;
    return {
      ...this.counters,
      authDenied: { ...this.counters.authDenied },
      upstreamClosed: { ...this.counters.upstreamClosed },
      sessionsOpen: open,
      announcementsActive: active,
      broadcasts,
      pendingBytes,
      pendingFrames,
      pendingBytesMax,
      pendingFramesMax,
    };
  }

  /** The relay's metrics, for the Prometheus exposition. */
  metrics(): Metric[] {
    const s = this.stats();
    const mem = process.memoryUsage();
    const lag = this.#loopDelay.read();
    const g = (name: string, help: string, value: number): Metric => ({
      name,
      help,
      type: "gauge",
      samples: [{ value }],
    });
    const c = (name: string, help: string, value: number): Metric => ({
      name,
      help,
      type: "counter",
      samples: [{ value }],
    });
    const per = (pick: (e: { subscriptions: number; upstream: number }) => number) =>
      [...s.broadcasts].map(([broadcast, e]) => ({ labels: { broadcast }, value: pick(e) }));
    return [
      g("moqt_relay_sessions_open", "MoQ sessions currently open.", s.sessionsOpen),
      c("moqt_relay_sessions_total", "MoQ sessions accepted since start.", s.sessionsTotal),
      c(
        "moqt_relay_setup_failures_total",
        "Connections whose session setup failed (timed out, malformed, or refused, auth refusals included).",
        s.setupFailures,
      ),
      g("moqt_relay_announcements_active", "Broadcasts currently announced.", s.announcementsActive),
      {
        name: "moqt_relay_subscriptions",
        help: "Downstream subscriptions currently served, per broadcast.",
        type: "gauge",
        samples: per((e) => e.subscriptions),
      },
      {
        name: "moqt_relay_upstream_subscriptions",
        help: "Upstream subscriptions currently open (one per subscribed track), per broadcast.",
        type: "gauge",
        samples: per((e) => e.upstream),
      },
      c(
        "moqt_relay_upstream_subscribes_total",
        "Upstream SUBSCRIBEs sent (a track's first subscriber, or again after its upstream was closed).",
        s.upstreamSubscribes,
      ),
      c(
        "moqt_relay_upstream_updates_total",
        "SUBSCRIBE_UPDATEs sent upstream (the highest downstream priority changed).",
        s.upstreamUpdates,
      ),
      {
        name: "moqt_relay_upstream_closed_total",
        help:
          "Upstream subscriptions ended: idle (no subscriber for the linger), ended (publisher FIN), " +
          "failed (refused or reset by the publisher), publisher_gone (announcement or session ended).",
        type: "counter",
        samples: Object.entries(s.upstreamClosed).map(([reason, value]) => ({ labels: { reason }, value })),
      },
      c("moqt_relay_bytes_in_total", "Frame payload bytes received from publishers.", s.bytesIn),
      c("moqt_relay_bytes_out_total", "Frame payload bytes sent to subscribers.", s.bytesOut),
      c("moqt_relay_frames_in_total", "Frames received from publishers.", s.framesIn),
      c("moqt_relay_frames_out_total", "Frames sent to subscribers.", s.framesOut),
      c("moqt_relay_groups_in_total", "Groups received from publishers.", s.groupsIn),
      c("moqt_relay_groups_out_total", "Groups delivered complete to subscribers.", s.groupsOut),
      c(
        "moqt_relay_groups_dropped_total",
        "Groups cancelled for a slow subscriber (ExpiredGroup).",
        s.groupsDropped,
      ),
      {
        name: "moqt_relay_auth_denied_total",
        help:
          "Refused by the auth checks: setup (bad or missing token), expired (session closed at exp), " +
          "announce (outside publish, not relayed), subscribe (outside subscribe, Unauthorized).",
        type: "counter",
        samples: Object.entries(s.authDenied).map(([kind, value]) => ({ labels: { kind }, value })),
      },
      g("moqt_relay_pending_bytes", "Frame bytes queued for subscribers, all downstreams.", s.pendingBytes),
      g("moqt_relay_pending_frames", "Frames queued for subscribers, all downstreams.", s.pendingFrames),
      g("moqt_relay_pending_bytes_max", "Largest frame-byte queue of one downstream now.", s.pendingBytesMax),
      g(
        "moqt_relay_pending_bytes_peak",
        "Largest frame-byte queue of one downstream since start.",
        s.maxPendingBytesSeen,
      ),
      // The process hosting the relay (for soaks and leak hunting).
      g("process_resident_memory_bytes", "Resident set size of the process, bytes.", mem.rss),
      g("nodejs_heap_used_bytes", "V8 heap in use, bytes.", mem.heapUsed),
      g(
        "nodejs_eventloop_delay_p99_seconds",
        "Event-loop delay of the relay process, 99th percentile since the previous metrics read (10 ms sampling).",
        lag.p99,
      ),
      g(
        "nodejs_eventloop_delay_max_seconds",
        "Event-loop delay of the relay process, largest since the previous metrics read (10 ms sampling).",
        lag.max,
      ),
      g("nodejs_heap_total_bytes", "V8 heap allocated, bytes.", mem.heapTotal),
      g(
        "nodejs_external_memory_bytes",
        "Memory of C++ objects bound to JS (incl. ArrayBuffers), bytes.",
        mem.external,
      ),
    ];
  }

  /** Close every session (NoError) and stop listening. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#loopDelay.stop();
    const http = this.#http;
    if (http) {
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    }
    await this.server.close();
  }
}

/** Start a relay: UDP (WebTransport + raw QUIC) and HTTP listeners. */
export async function startRelay(opts: RelayOptions = {}): Promise<Relay> {
  const relay = new Relay(opts);
  try {
    await relay.start();
  } catch (e) {
    await relay.close();
    throw e;
  }
  return relay;
}

/** A `checkOrigin` for an allow-list of origins ("https://example.com", "http://localhost:8080"; "*" = any).
 *  Browsers always send Origin, so a page served from another origin is refused (HTTP 403); a request without
 *  Origin (a non-browser client such as `moqt sub`, which could send any Origin it liked) is let through. */
export function allowOrigins(origins: readonly string[]): (origin: string | undefined) => boolean {
  const norm = (o: string): string => {
    try {
      const u = new URL(o);
      return u.origin === "null" ? o.toLowerCase() : u.origin.toLowerCase();
    } catch {
      return o.toLowerCase();
    }
  };
  if (origins.includes("*")) return () => true;
  const allowed = new Set(origins.map(norm));
  return (origin) => origin === undefined || allowed.has(norm(origin));
}

/** Split "host:port" ("[::1]:8080", ":8080" = every interface). */
export function parseHostPort(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d+)$/.exec(addr.trim());
  if (!m) throw new TypeError(`moqt: invalid address ${JSON.stringify(addr)} (want host:port)`);
  const port = Number(m[3]);
  if (port > 65535) throw new RangeError(`moqt: port out of range in ${addr}`);
  return { host: m[1] ?? m[2] ?? "", port };
}

function urlHost(host: string): string {
  if (host === "" || host === "0.0.0.0" || host === "::") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}
