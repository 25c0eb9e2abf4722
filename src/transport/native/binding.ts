/** Loader and types for the native transport addon (`native/index.node`, built by `npm run build:native`).
 *
 *  Node only. Loads lazily on first use with `createRequire`, so importing moqt without the addon works until a
 *  native transport is actually requested. `MOQT_NATIVE_PATH` overrides the file location. The interfaces below mirror
 *  the Rust surface (`native/src/*.rs`, generated `native/index.d.ts`); they are internal and never re-exported as is.
 *  @module @internal */
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** A value available now, or a Promise of it (the addon resolves synchronously when it can). */
export type NowOr<T> = T | Promise<T>;

/** One read as a value; data first when both data and an outcome are set. */
export interface NativeReadResult {
  data?: Uint8Array;
  fin: boolean;
  resetCode?: number;
  /** "stopped" (we sent STOP_SENDING), "closed" (session gone), "invalid-reset". */
  error?: string;
}

export interface NativeWriteFailure {
  /** "stopped" (peer STOP_SENDING), "reset" (reset/finished locally), "closed" (session gone). */
  kind: string;
  code?: number;
}

export interface NativeSendStream {
  tryWrite(data: Uint8Array, fin: boolean): number;
  /** `head` then `body` under one lock and one crossing; returns the bytes taken now (like `tryWrite`). */
  tryWrite2(head: Uint8Array, body: Uint8Array, fin: boolean): number;
  write(data: Uint8Array, fin: boolean): Promise<NativeWriteFailure | undefined>;
  reset(code: number): void;
  setPriority(priority: number): void;
  stopped(): Promise<number | undefined | null>;
}

export interface NativeRecvStream {
  tryRead(max: number): NativeReadResult | null;
  /** Synchronous when a result is ready now, else a Promise. */
  read(max: number): NativeReadResult | Promise<NativeReadResult>;
  stop(code: number): void;
}

export interface NativeCloseInfo {
  code: number;
  reason: string;
  remote: boolean;
  /** Set when the connection ended without an application close (idle timeout, stateless reset, transport error). */
  failure?: string | null;
}

export interface NativeStats {
  rttMs: number;
  minRttMs: number;
  cwndBytes: number;
  bytesSent: number;
  bytesReceived: number;
  bytesLost: number;
  packetsSent: number;
  packetsLost: number;
  bandwidthBps: number;
  mtu: number;
}

export interface NativeSession {
  readonly protocol: string;
  readonly url: string;
  readonly path: string;
  readonly origin: string | null;
  readonly subprotocol: string | null;
  readonly remoteAddress: string;
  // Each of these returns synchronously when the result is available now (stream credit, a queued stream).
  openBi(): NowOr<[NativeSendStream, NativeRecvStream]>;
  openUni(): NowOr<NativeSendStream>;
  acceptBi(): NowOr<[NativeSendStream, NativeRecvStream] | null>;
  acceptUni(): NowOr<NativeRecvStream | null>;
  /** `graceMs`: how long a WebTransport close waits for the peer's answer (default max(3 × RTT, 200 ms)). */
  close(code: number, reason: string, graceMs?: number | null): void;
  closed(): Promise<NativeCloseInfo>;
  sendDatagram(data: Uint8Array): boolean;
  readDatagram(): Promise<Uint8Array | null>;
  maxDatagramSize(): number;
  stats(): NativeStats;
}

export interface NativeIncoming {
  readonly protocol: string;
  readonly url: string;
  readonly path: string;
  readonly origin: string | null;
  readonly protocols: string[];
  readonly remoteAddress: string;
  /** Synchronous when the answer completes at once (always for raw QUIC). */
  accept(subprotocol?: string | null): NowOr<NativeSession>;
  reject(status: number): Promise<void>;
}

export interface NativeServer {
  readonly port: number;
  readonly address: string;
  /** Synchronous when a handshaken connection is queued. */
  accept(): NowOr<NativeIncoming | null>;
  close(code?: number | null, reason?: string | null): void;
}

export interface NativeListenOptions {
  host?: string;
  port?: number;
  certPem: string;
  keyPem: string;
  alpns?: string[];
  maxStreams?: number;
  idleTimeoutMs?: number;
  keepAliveMs?: number;
}

export interface NativeConnectOptions {
  alpn?: string;
  caPem?: string;
  certHashes?: Uint8Array[];
  insecure?: boolean;
  protocols?: string[];
  maxStreams?: number;
  /** WebTransport: an Origin header to send (none by default). */
  origin?: string;
  /** WebTransport: "full" (default) or "minimal" (only H3_DATAGRAM in our SETTINGS, like webtransport-go's client;
   *  a test mode for server leniency). */
  h3Settings?: "full" | "minimal";
  idleTimeoutMs?: number;
  keepAliveMs?: number;
}

export interface NativeGeneratedCertificate {
  certPem: string;
  keyPem: string;
  sha256: Uint8Array;
  notAfterMs: number;
}

/** Process-wide addon counters (native/src/counters.rs). */
export interface NativeCounters {
  endpoints: number;
  connectionsRaw: number;
  connectionsWeb: number;
  sessions: number;
  sendStreams: number;
  recvStreams: number;
  streamsQueued: number;
  handshakes: number;
  incoming: number;
}

export interface NativeAddon {
  NativeServer: { listen(opts: NativeListenOptions): NativeServer };
  nativeCounters(): NativeCounters;
  connect(url: string, opts?: NativeConnectOptions | null): Promise<NativeSession>;
  generateCertificate(days?: number | null, names?: string[] | null): NativeGeneratedCertificate;
}

/** Thrown when the addon file is missing or fails to load. */
export class NativeAddonError extends Error {
  override readonly name = "NativeAddonError";
}

let cached: NativeAddon | undefined;

/** Where the addon is looked for: `$MOQT_NATIVE_PATH`, else `<package root>/native/index.node` (this file sits three
 *  levels below the root both as `src/transport/native/binding.ts` and as `dist/transport/native/binding.js`). */
export function nativeAddonPath(): string {
  const fromEnv = process.env["MOQT_NATIVE_PATH"];
  if (fromEnv) return fromEnv;
  return fileURLToPath(new URL("../../../native/index.node", import.meta.url));
}

/** Load (once) and return the native addon. Throws `NativeAddonError` with build instructions when it is missing. */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  const path = nativeAddonPath();
  if (!existsSync(path)) {
    throw new NativeAddonError(
      `moqt native transport addon not found at ${path}: run \`npm run build:native\` (needs a Rust toolchain) ` +
        `or set MOQT_NATIVE_PATH`,
    );
  }
  try {
    cached = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (e) {
    throw new NativeAddonError(
      `moqt native transport addon at ${path} failed to load (${(e as Error).message}): rebuild it with ` +
        `\`npm run build:native\``,
      { cause: e },
    );
  }
  return cached;
}

/** True when the addon file exists and loads. */
export function nativeAvailable(): boolean {
  try {
    loadNative();
    return true;
  } catch {
    return false;
  }
}
