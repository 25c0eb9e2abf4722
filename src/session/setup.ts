/** Session setup for both roles: dialSession/acceptSession over a Transport, and the W3C-shaped entry points
 *  dialTransport/acceptTransport; SetupRequest, SetupResponseWriter, accept(), SetupRouter.
 *
 *  Client: opens the session stream, sends 0x00 + SESSION_CLIENT (path parameter only when asked — raw QUIC), reads
 *  SESSION_SERVER within `setupTimeout` and checks the version is one it offered. Server: accepts the first bidi
 *  stream within `setupTimeout`, requires type 0x00, runs the setup handler; `reject(code)` resets the session stream
 *  with `code` and closes the transport with it. Spec: gomoqt.md §1.5, §2.3.
 *  @module */
import { SessionError, SessionErrorCode, isMoqtError } from "../errors.js";
import type { BiStream, Transport } from "../transport/transport.js";
import { StreamError, TransportClosedError } from "../transport/stream_error.js";
import { fromWebTransport } from "../transport/webtransport.js";
import type { WebTransportLike } from "../transport/webtransport_like.js";
import {
  BiStreamType,
  PARAM_PATH,
  SessionClient,
  SessionServer,
  Writer,
  appendMessage,
  encodeMessage,
  getStringParameter,
  setStringParameter,
  type Parameters,
} from "../wire/index.js";
import { DefaultTrackMux, type TrackMux } from "../track/track_mux.js";
import { resolveConfig, type ResolvedSessionConfig, type SessionConfig } from "./config.js";
import { Session } from "./session.js";
import { MessageReader } from "./stream_reader.js";
import { withTimeout } from "../internal/signal.js";

export const Versions = {
  LiteDraft01: 0xff0dad01,
  LiteDraft02: 0xff0dad02,
  Development: 0xfeedbabe,
} as const;
export type Version = number;
export const DefaultClientVersions: readonly number[] = [Versions.Development];
export const DefaultServerVersion: number = Versions.Development;

export const NextProtoMOQ = "moq-00";
export const NextProtoH3 = "h3";

export interface SetupRequest {
  /** The session path, without any query (what SetupRouter routes on). */
  readonly path: string;
  /** The full request, when known: the WebTransport CONNECT URL with its query on our Server; for raw QUIC the path
   *  parameter as sent (path plus any `?query`). Undefined when the transport gave only a path. */
  readonly url?: string;
  readonly versions: number[];
  readonly clientExtensions: Parameters;
}

export interface SetupResponseWriter {
  /** Choose the version to answer with; throws if the client did not offer it. */
  selectVersion(v: number): void;
  /** Extensions sent in SESSION_SERVER. */
  setExtensions(p: Parameters): void;
  /** Refuse the session: reset the session stream with `code` (SetupFailed 0x13 by convention) and close. */
  reject(code: number): Promise<void>;
}

export type SetupHandler = (w: SetupResponseWriter, r: SetupRequest) => void | Promise<void>;

export interface DialOptions {
  /** Session path; sent as parameter 0x01 when `sendPathParameter` (raw QUIC), with any `?query` (the Session's
   *  `path` is the part before it). Default "/". */
  path?: string;
  versions?: number[];
  extensions?: Parameters;
  mux?: TrackMux;
  setupTimeout?: number;
  /** Send the path as setup parameter 0x01 (raw QUIC; WebTransport carries it in the URL). Default false. */
  sendPathParameter?: boolean;
  /** Timeouts and caps for the session. */
  config?: SessionConfig;
}

export interface AcceptOptions {
  /** The session path from the transport (the WebTransport URL path); raw QUIC takes parameter 0x01. */
  path?: string;
  /** The full request URL from the transport (WebTransport, with its query), passed on as `SetupRequest.url`. */
  url?: string;
  mux?: TrackMux;
  setupHandler?: SetupHandler | SetupRouter;
  setupTimeout?: number;
  config?: SessionConfig;
}

/** The server's response writer; `accept()` only works with this one. */
class ResponseWriter implements SetupResponseWriter {
  version: number = DefaultServerVersion;
  extensions: Parameters = new Map();
  session: Session | undefined;
  rejected: number | undefined;
  constructor(
    readonly transport: Transport,
    readonly stream: BiStream,
    readonly reader: MessageReader,
    readonly request: SetupRequest,
    readonly config: ResolvedSessionConfig,
  ) {}

  selectVersion(v: number): void {
    if (!this.request.versions.includes(v))
      throw new SessionError(
        SessionErrorCode.UnsupportedVersion,
        false,
        `version 0x${v.toString(16)} was not offered by the client`,
      );
    this.version = v;
  }

  setExtensions(p: Parameters): void {
    this.extensions = new Map(p);
  }

  async reject(code: number): Promise<void> {
    if (this.session || this.rejected !== undefined) return;
    this.rejected = code;
    this.stream.send.reset(code);
    this.stream.recv.stop(code);
    this.transport.close(code, "setup rejected");
  }
}

/** Accept a session from a setup handler: sends SESSION_SERVER and returns the running Session. */
export async function accept(w: SetupResponseWriter, r: SetupRequest, mux?: TrackMux): Promise<Session> {
  if (!(w instanceof ResponseWriter))
    throw new TypeError("moqt.accept: not a SetupResponseWriter from this server");
  if (w.session) return w.session;
  if (w.rejected !== undefined) throw new SessionError(w.rejected, false, "setup was rejected");
  if (!r.versions.includes(w.version)) {
    await w.reject(SessionErrorCode.UnsupportedVersion);
    throw new SessionError(
      SessionErrorCode.UnsupportedVersion,
      false,
      `client offered none of our versions (${r.versions.map((v) => "0x" + v.toString(16)).join(", ")})`,
    );
  }
  try {
    await w.stream.send.write(encodeMessage(SessionServer, { version: w.version, parameters: w.extensions }));
  } catch (e) {
    throw mapSetupError(e);
  }
  w.session = new Session({
    transport: w.transport,
    sessionStream: w.stream,
    sessionReader: w.reader,
    version: w.version,
    path: r.path,
    versions: r.versions,
    clientExtensions: r.clientExtensions,
    serverExtensions: w.extensions,
    mux: mux ?? DefaultTrackMux,
    config: w.config,
  });
  return w.session;
}

/** Exact-path routing of session setups; an unknown path is rejected with SetupFailed (0x13). */
export class SetupRouter {
  #routes = new Map<string, SetupHandler>();

  handle(pattern: string, h: SetupHandler): void {
    if (!pattern.startsWith("/"))
      throw new TypeError(`moqt: setup pattern must start with "/": ${JSON.stringify(pattern)}`);
    if (typeof h !== "function") throw new TypeError("moqt: setup handler must be a function");
    this.#routes.set(pattern, h);
  }

  handleFunc(pattern: string, h: SetupHandler): void {
    this.handle(pattern, h);
  }

  /** The handler for `path`, or one that rejects with SetupFailed. */
  handler(path: string): SetupHandler {
    return this.#routes.get(path) ?? RejectSetupHandler;
  }

  async serveMOQ(w: SetupResponseWriter, r: SetupRequest): Promise<void> {
    await this.handler(r.path)(w, r);
  }
}

export const RejectSetupHandler: SetupHandler = (w) => w.reject(SessionErrorCode.SetupFailed);

export const DefaultRouter = new SetupRouter();
export function handle(pattern: string, h: SetupHandler): void {
  DefaultRouter.handle(pattern, h);
}
export function handleFunc(pattern: string, h: SetupHandler): void {
  DefaultRouter.handleFunc(pattern, h);
}

function mapSetupError(e: unknown): SessionError {
  if (e instanceof SessionError) return e;
  if (e instanceof StreamError)
    return new SessionError(e.code, e.remote, "session stream reset during setup", { cause: e });
  if (e instanceof TransportClosedError)
    return new SessionError(e.code, e.remote, e.reason || undefined, { cause: e });
  if (isMoqtError(e)) return new SessionError(SessionErrorCode.Internal, false, e.message, { cause: e });
  return new SessionError(
    SessionErrorCode.ProtocolViolation,
    false,
    e instanceof Error ? e.message : String(e),
    { cause: e },
  );
}

/** Client side of setup over an internal Transport. */
export async function dialSession(transport: Transport, opts: DialOptions = {}): Promise<Session> {
  const config = resolveConfig({
    ...opts.config,
    ...(opts.setupTimeout !== undefined ? { setupTimeout: opts.setupTimeout } : {}),
  });
  const versions = opts.versions ?? [...DefaultClientVersions];
  const path = opts.path ?? "/";
  const params: Parameters = new Map(opts.extensions ?? []);
  if (opts.sendPathParameter) setStringParameter(params, PARAM_PATH, path);
  try {
    const stream = await withTimeout(
      transport.openBi(),
      config.setupTimeout,
      () => new SessionError(SessionErrorCode.Internal, false, "setup timed out"),
    );
    const reader = new MessageReader(stream.recv);
    await stream.send.write(
      appendMessage(new Writer(64).u8(BiStreamType.Session), SessionClient, {
        versions,
        parameters: params,
      }).bytes(),
    );
    const ss = await withTimeout(
      reader.readMessage(SessionServer, config.maxMessageBytes),
      config.setupTimeout,
      () =>
        new SessionError(
          SessionErrorCode.Internal,
          false,
          `no SESSION_SERVER within ${config.setupTimeout} ms`,
        ),
    );
    if (ss === null)
      throw new SessionError(
        SessionErrorCode.ProtocolViolation,
        false,
        "session stream ended before SESSION_SERVER",
      );
    if (!versions.includes(ss.version))
      throw new SessionError(
        SessionErrorCode.UnsupportedVersion,
        false,
        `server selected version 0x${ss.version.toString(16)}, which we did not offer`,
      );
    return new Session({
      transport,
      sessionStream: stream,
      sessionReader: reader,
      version: ss.version,
      path: path.split("?")[0] || "/",
      versions,
      clientExtensions: params,
      serverExtensions: ss.parameters,
      mux: opts.mux ?? DefaultTrackMux,
      config,
    });
  } catch (e) {
    const err = mapSetupError(e);
    transport.close(err.code, err.message);
    throw err;
  }
}

/** Server side of setup over an internal Transport. Without a setup handler the session is accepted with `mux`. */
export async function acceptSession(transport: Transport, opts: AcceptOptions = {}): Promise<Session> {
  const config = resolveConfig({
    ...opts.config,
    ...(opts.setupTimeout !== undefined ? { setupTimeout: opts.setupTimeout } : {}),
  });
  let w: ResponseWriter;
  try {
    const stream = await withTimeout(
      transport.acceptBi(),
      config.setupTimeout,
      () => new SessionError(SessionErrorCode.Internal, false, "no session stream within the setup timeout"),
    );
    if (stream === null)
      throw new SessionError(SessionErrorCode.Internal, true, "transport closed before setup");
    const reader = new MessageReader(stream.recv);
    const type = await withTimeout(
      reader.readByte(),
      config.setupTimeout,
      () => new SessionError(SessionErrorCode.Internal, false, "setup timed out"),
    );
    if (type !== BiStreamType.Session)
      throw new SessionError(
        SessionErrorCode.ProtocolViolation,
        false,
        `first stream has type ${type}, expected the session stream (0)`,
      );
    const sc = await withTimeout(
      reader.readMessage(SessionClient, config.maxMessageBytes),
      config.setupTimeout,
      () =>
        new SessionError(
          SessionErrorCode.Internal,
          false,
          `no SESSION_CLIENT within ${config.setupTimeout} ms`,
        ),
    );
    if (sc === null)
      throw new SessionError(
        SessionErrorCode.ProtocolViolation,
        false,
        "session stream ended before SESSION_CLIENT",
      );
    // Raw QUIC: the path parameter may carry a query ("/room?jwt=…"); the path is what precedes it, `url` all of it.
    let path: string;
    let url: string | undefined;
    if (opts.path !== undefined) {
      path = opts.path;
      url = opts.url;
    } else {
      const p = getStringParameter(sc.parameters, PARAM_PATH);
      const q = p?.indexOf("?") ?? -1;
      path = p === undefined ? "/" : q < 0 ? p : p.slice(0, q) || "/";
      url = p;
    }
    const request: SetupRequest = {
      path,
      ...(url !== undefined ? { url } : {}),
      versions: [...sc.versions],
      clientExtensions: sc.parameters,
    };
    w = new ResponseWriter(transport, stream, reader, request, config);
  } catch (e) {
    const err = mapSetupError(e);
    transport.close(err.code, err.message);
    throw err;
  }
  const h = opts.setupHandler;
  try {
    if (h === undefined) await accept(w, w.request, opts.mux);
    else if (h instanceof SetupRouter) await h.serveMOQ(w, w.request);
    else await h(w, w.request);
  } catch (e) {
    if (!w.session) {
      const err = mapSetupError(e);
      await w.reject(err.remote ? SessionErrorCode.Internal : err.code);
      throw err;
    }
  }
  if (w.session) return w.session;
  if (w.rejected === undefined) await w.reject(SessionErrorCode.SetupFailed);
  throw new SessionError(w.rejected ?? SessionErrorCode.SetupFailed, false, "setup rejected");
}

/** Dial a MoQ session over any W3C-shaped WebTransport (browser WebTransport, polyfill, memory pair). */
export async function dialTransport(wt: WebTransportLike, opts: DialOptions = {}): Promise<Session> {
  await wt.ready;
  return dialSession(fromWebTransport(wt), opts);
}

/** Accept a MoQ session on a W3C-shaped WebTransport (server end). */
export async function acceptTransport(wt: WebTransportLike, opts: AcceptOptions = {}): Promise<Session> {
  await wt.ready;
  return acceptSession(fromWebTransport(wt), opts);
}
