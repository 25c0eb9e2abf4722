/** Shared helpers for the session-level unit tests: a connected client/server session pair over the memory transport,
 *  and small event-based waits (no sleeps).
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

export interface Pair {
  client: Session;
  server: Session;
  /** The server's mux (serves the client's subscriptions). */
  serverMux: TrackMux;
  /** The client's mux (serves the server's subscriptions). */
  clientMux: TrackMux;
  close(): Promise<void>;
}

/** Short linger so graceful track ends complete quickly in tests. */
export const TEST_CONFIG: SessionConfig = { endLinger: 20 };

/** Dial and accept over a fresh memory pair. */
export async function pair(
  opts: { dial?: DialOptions; accept?: AcceptOptions; config?: SessionConfig } = {},
): Promise<Pair> {
  const [c, s] = newMemoryTransportPair();
  const serverMux = opts.accept?.mux ?? new TrackMux();
  const clientMux = opts.dial?.mux ?? new TrackMux();
  const config = { ...TEST_CONFIG, ...opts.config };
  const [server, client] = await Promise.all([
    acceptTransport(s, { config, ...opts.accept, mux: serverMux }),
    dialTransport(c, { config, ...opts.dial, mux: clientMux }),
  ]);
  return {
    client,
    server,
    serverMux,
    clientMux,
    async close() {
      await Promise.all([client.closeWithError(0, ""), server.closeWithError(0, "")]);
    },
  };
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
