/** Shared helpers for the session-level API tests: a connected client/server session pair over a chosen transport —
 *  the in-memory pair (unit suite) or the native addon over loopback, raw QUIC `moqt://` or WebTransport `https://`
 *  (integration suite, test/integration/api_native.test.ts) — and small event-based waits (no sleeps), each bounded.
 *
 *  The same test bodies (test/unit/cases/*.ts) are registered once per transport through a `Harness`.
 *  @module */
import {
  TrackMux,
  acceptTransport,
  dialTransport,
  newMemoryTransportPair,
  type AcceptOptions,
  type DialOptions,
  type Session,
  type SessionConfig,
} from "../../src/index.js";
import { acceptSession, dialSession } from "../../src/session/setup.js";
import { fromWebTransport } from "../../src/transport/webtransport.js";
import type { Transport } from "../../src/transport/transport.js";
import {
  connectNative,
  generateCertificate,
  listenNative,
  type DevCertificate,
} from "../../src/transport/native/index.js";

export type TransportKind = "memory" | "quic" | "webtransport";

export interface Pair {
  client: Session;
  server: Session;
  /** The server's mux (serves the client's subscriptions). */
  serverMux: TrackMux;
  /** The client's mux (serves the server's subscriptions). */
  clientMux: TrackMux;
  close(): Promise<void>;
}

export interface PairOptions {
  dial?: DialOptions;
  accept?: AcceptOptions;
  config?: SessionConfig;
}

/** A setup in progress: both sides' promises, so tests can watch either one fail. */
export interface Connecting {
  client: Promise<Session>;
  /** Rejects with the server's setup error; never settles when `accept: false`. */
  server: Promise<Session>;
  /** The server transport's close code and reason (whoever closed it). */
  serverClosed(): Promise<{ code: number; reason: string }>;
  /** The server end as the internal Transport, for a hand-played server (only with `runAccept: false`). */
  serverTransport: Transport;
  /** Close both transports (and the listener of a native pair). Idempotent. */
  dispose(): Promise<void>;
}

export interface ConnectOptions {
  dial?: DialOptions;
  accept?: AcceptOptions;
  /** false: the server side never runs setup (nobody answers SESSION_CLIENT). Default true. */
  runAccept?: boolean;
}

/** One transport under test: how to connect a client and a server session over it. */
export interface Harness {
  readonly kind: TransportKind;
  /** Label for test names: "memory", "raw QUIC (moqt://)", "WebTransport (https://)". */
  readonly label: string;
  /** Start a client and a server setup over a fresh connection. Options are passed through to dial/accept; on the
   *  native transports the dial path travels like the Client sends it (URL path for WebTransport, setup parameter
   *  0x01 for raw QUIC) unless `sendPathParameter` is given. */
  connect(opts?: ConnectOptions): Promise<Connecting>;
  /** A connected pair with TEST_CONFIG (plus `config`) on both sides. */
  pair(opts?: PairOptions): Promise<Pair>;
}

/** Short linger so graceful track ends complete quickly in tests. */
export const TEST_CONFIG: SessionConfig = { endLinger: 20 };

/** Reject with a descriptive error when `p` has not settled within `ms` (a bound on every wait in a test body, so a
 *  hang names what it waited for instead of timing out the whole test). */
export function within<T>(p: Promise<T>, what: string, ms = 5000): Promise<T> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const timer = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timer]).finally(() => clearTimeout(t));
}

async function pairFrom(h: Harness, opts: PairOptions): Promise<Pair> {
  const serverMux = opts.accept?.mux ?? new TrackMux();
  const clientMux = opts.dial?.mux ?? new TrackMux();
  const config = { ...TEST_CONFIG, ...opts.config };
  const c = await h.connect({
    dial: { ...opts.dial, config: { ...config, ...opts.dial?.config }, mux: clientMux },
    accept: { ...opts.accept, config: { ...config, ...opts.accept?.config }, mux: serverMux },
  });
  let server: Session, client: Session;
  try {
    [server, client] = await within(Promise.all([c.server, c.client]), `${h.label} session setup`);
  } catch (e) {
    await c.dispose();
    throw e;
  }
  return {
    client,
    server,
    serverMux,
    clientMux,
    async close() {
      // One side closes and the other follows the peer's close. (Both at once works too, but the native WebTransport
      // close then waits its full timeout, ~200 ms: each side has recorded its own close first and neither closes the
      // connection on the peer's capsule.)
      await within(client.closeWithError(0, ""), "the client session to close");
      await within(server.closeWithError(0, ""), "the server session to close");
      await c.dispose();
    },
  };
}

/** The in-memory pair, through the public W3C-shaped entry points dialTransport/acceptTransport. */
export const memory: Harness = {
  kind: "memory",
  label: "memory",
  async connect(opts = {}) {
    const [c, s] = newMemoryTransportPair();
    const server =
      opts.runAccept === false ? new Promise<Session>(() => {}) : acceptTransport(s, opts.accept ?? {});
    // The W3C adapter takes the stream readers, so only build it for a hand-played server.
    const serverTransport =
      opts.runAccept === false ? fromWebTransport(s) : (undefined as unknown as Transport);
    server.catch(() => {});
    const client = dialTransport(c, opts.dial ?? {});
    client.catch(() => {});
    return {
      client,
      server,
      serverClosed: async () => {
        const i = await s.closed;
        return { code: i.closeCode ?? 0, reason: i.reason ?? "" };
      },
      serverTransport,
      dispose: async () => {
        c.close({ closeCode: 0, reason: "" });
      },
    };
  },
  pair(opts = {}) {
    return pairFrom(memory, opts);
  },
};

let cert: DevCertificate | undefined;

function nativeHarness(kind: "quic" | "webtransport"): Harness {
  const h: Harness = {
    kind,
    label: kind === "quic" ? "raw QUIC (moqt://)" : "WebTransport (https://)",
    async connect(opts = {}) {
      cert ??= generateCertificate();
      const listener = listenNative({
        host: "127.0.0.1",
        port: 0,
        certPem: cert.certPem,
        keyPem: cert.keyPem,
      });
      const dialPath = opts.dial?.path ?? "/";
      const wt = kind === "webtransport";
      const acceptedP = listener.accept();
      let ct;
      try {
        ct = await within(
          connectNative(
            wt ? `https://127.0.0.1:${listener.port}${dialPath}` : `https://127.0.0.1:${listener.port}/`,
            { alpn: wt ? "h3" : "moq-00", certHashes: [cert.sha256] },
          ),
          `${h.label} connect`,
        );
      } catch (e) {
        listener.close();
        throw e;
      }
      const acc = await within(acceptedP, `${h.label} accept`).catch((e: unknown) => {
        ct.close(0, "");
        listener.close();
        throw e;
      });
      if (!acc) {
        ct.close(0, "");
        listener.close();
        throw new Error("listener closed before accepting");
      }
      const st = acc.transport;
      const server =
        opts.runAccept === false
          ? new Promise<Session>(() => {})
          : acceptSession(st, {
              ...(wt ? { path: acc.path || "/", ...(acc.url ? { url: acc.url } : {}) } : {}),
              ...opts.accept,
            });
      server.catch(() => {});
      const client = dialSession(ct, { sendPathParameter: !wt, ...opts.dial, path: dialPath });
      client.catch(() => {});
      let disposed: Promise<void> | undefined;
      return {
        client,
        server,
        serverClosed: async () => {
          const i = await st.closed;
          return { code: i.code, reason: i.reason };
        },
        serverTransport: st,
        dispose: () =>
          (disposed ??= (async () => {
            ct.close(0, "");
            st.close(0, "");
            await within(Promise.all([ct.closed, st.closed]), `${h.label} transports to close`);
            listener.close();
          })()),
      };
    },
    pair(opts = {}) {
      return pairFrom(h, opts);
    },
  };
  return h;
}

export const quic: Harness = nativeHarness("quic");
export const webtransport: Harness = nativeHarness("webtransport");

/** Dial and accept over a fresh memory pair (unit tests that are about the memory transport itself). */
export function pair(opts: PairOptions = {}): Promise<Pair> {
  return memory.pair(opts);
}

/** Resolves with the signal's reason when it aborts. */
export function aborted(signal: AbortSignal): Promise<unknown> {
  if (signal.aborted) return Promise.resolve(signal.reason);
  return new Promise((r) => signal.addEventListener("abort", () => r(signal.reason), { once: true }));
}

/** A promise with its resolver, for hand-offs from handlers to the test body. */
export function defer<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Settle a rejection into its value, for assertions. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
