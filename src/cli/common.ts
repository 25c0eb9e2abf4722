/** Shared pieces of the `moqt` subcommands: argument parsing, dialing, progress lines, errors.
 *  @module */
import { parseArgs, type ParseArgsConfig } from "node:util";
import {
  Client,
  isMoqtError,
  SessionError,
  SessionErrorCode,
  type ClientOptions,
  type SessionConfig,
} from "../index.js";

/** A user-facing error: printed without a stack, exit code 2 when `usage`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly usage = false,
  ) {
    super(message);
  }
}

export const TLS_HELP = `  --token TOKEN        a relay auth token (JWT, from "moqt token"); sent as ?jwt=TOKEN in the URL (for moqt://
                       in the setup path parameter, which gomoqt servers route on: use it with moqt relays only)
  --insecure           skip certificate verification (development only)
  --cert-hash HEX      accept the server certificate with this SHA-256 (hex, as served at /certificate.sha256);
                       repeatable
  -q, --quiet          no progress on stderr
  -h, --help           this help`;

export const TLS_OPTIONS = {
  token: { type: "string" },
  insecure: { type: "boolean" },
  "cert-hash": { type: "string", multiple: true },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
} as const satisfies NonNullable<ParseArgsConfig["options"]>;

/** parseArgs (strict, positionals allowed) with usage errors turned into CliError. */
export function parse<O extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: O,
): ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new CliError(e instanceof Error ? e.message : String(e), true);
  }
}

function hexToBytes(hex: string): Uint8Array {
  const h = hex.trim().replace(/:/g, "").toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(h))
    throw new CliError(`--cert-hash wants 64 hex digits (SHA-256), got ${hex}`, true);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Validate a MoQ URL: https://host:port/path (WebTransport) or moqt://host:port/path (raw QUIC). */
export function checkUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CliError(
      `invalid URL ${JSON.stringify(url)} (want https://host:port/path or moqt://host:port/path)`,
      true,
    );
  }
  if (u.protocol !== "https:" && u.protocol !== "moqt:")
    throw new CliError(
      `unsupported URL scheme ${u.protocol} (use https:// for WebTransport or moqt:// for raw QUIC)`,
      true,
    );
  return u;
}

export function checkPath(path: string): string {
  if (!path.startsWith("/"))
    throw new CliError(`broadcast path must start with "/": ${JSON.stringify(path)}`, true);
  return path;
}

/** A Client configured from --insecure / --cert-hash. */
export function makeClient(
  values: { insecure?: boolean | undefined; "cert-hash"?: string[] | undefined },
  config?: SessionConfig,
): Client {
  const tls: NonNullable<ClientOptions["tls"]> = {};
  if (values.insecure) tls.insecureSkipVerify = true;
  const hashes = values["cert-hash"] ?? [];
  if (hashes.length > 0) tls.serverCertificateHashes = hashes.map(hexToBytes);
  return new Client({ tls, ...(config ? { config } : {}) });
}

/** `url` with `?jwt=token` set (other query parameters kept). */
export function withToken(url: string, token: string | undefined): string {
  if (token === undefined) return url;
  if (token === "" || /\s/.test(token)) throw new CliError("--token wants a JWT (no spaces)", true);
  const u = new URL(url);
  u.searchParams.set("jwt", token);
  return u.href;
}

/** The positionals of `pub` and `sub`: URL BROADCAST_PATH TRACK, checked. */
export function trackArgs(positionals: string[], cmd: string): { url: string; path: string; track: string } {
  if (positionals.length !== 3)
    throw new CliError(`want URL BROADCAST_PATH TRACK (see moqt ${cmd} --help)`, true);
  const [url, path, track] = positionals as [string, string, string];
  checkUrl(url);
  checkPath(path);
  return { url, path, track };
}

/** Print `help` on stdout when --help was given; true then (the command returns 0). */
export function printedHelp(values: { help?: boolean | undefined }, help: string): boolean {
  if (!values.help) return false;
  process.stdout.write(help + "\n");
  return true;
}

/** Whether to show the progress line: stderr is a terminal and --quiet was not given. */
export function progressWanted(values: { quiet?: boolean | undefined }): boolean {
  return process.stderr.isTTY === true && !values.quiet;
}

/** The TLS options (--insecure, --cert-hash) and --token as parsed from TLS_OPTIONS. */
export type ConnectValues = Parameters<typeof makeClient>[0] & { token?: string | undefined };

/** A client from the TLS options, and a session dialled to `url` with `mux` (and the --token). */
export async function connect(
  values: ConnectValues,
  url: string,
  mux: NonNullable<Parameters<Client["dial"]>[1]>,
  config?: SessionConfig,
): Promise<{ client: Client; session: Awaited<ReturnType<Client["dial"]>> }> {
  const client = makeClient(values, config);
  const session = await dial(client, url, mux, values.token);
  return { client, session };
}

/** Dial (with `?jwt=token` when given) with a readable error that does not repeat the token. */
export async function dial(client: Client, url: string, mux?: Parameters<Client["dial"]>[1], token?: string) {
  const full = withToken(url, token);
  try {
    return await client.dial(full, mux);
  } catch (e) {
    const hint =
      e instanceof SessionError && e.code === SessionErrorCode.Unauthorized
        ? token === undefined
          ? " (the relay wants a token: --token)"
          : " (the token was refused: bad signature, expired or malformed)"
        : "";
    throw new CliError(`cannot connect to ${url}: ${describe(e)}${hint}`);
  }
}

export function describe(e: unknown): string {
  if (isMoqtError(e)) return e.message.replace(/^moqt: /, "");
  if (e instanceof Error) return e.message;
  return String(e);
}

export function fmtBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** A one-line progress display on stderr, refreshed every second; silent unless stderr is a TTY. */
export class Progress {
  frames = 0;
  groups = 0;
  bytes = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #last = { t: Date.now(), frames: 0, bytes: 0 };
  #shown = false;

  constructor(
    readonly label: string,
    readonly enabled: boolean = process.stderr.isTTY === true,
    readonly extra: () => string = () => "",
  ) {
    if (this.enabled) {
      this.#timer = setInterval(() => this.#show(), 1000);
      this.#timer.unref();
    }
  }

  #show(): void {
    const now = Date.now();
    const dt = Math.max(1, now - this.#last.t) / 1000;
    const fps = (this.frames - this.#last.frames) / dt;
    const bps = (this.bytes - this.#last.bytes) / dt;
    this.#last = { t: now, frames: this.frames, bytes: this.bytes };
    const x = this.extra();
    process.stderr.write(
      `\r\x1b[K${this.label}: ${this.frames} frames (${fps.toFixed(1)}/s), ${this.groups} groups, ` +
        `${fmtBytes(this.bytes)} (${fmtBytes(bps)}/s)${x ? `, ${x}` : ""}`,
    );
    this.#shown = true;
  }

  /** Print a message without garbling the progress line. */
  note(msg: string): void {
    if (this.#shown) process.stderr.write("\r\x1b[K");
    process.stderr.write(msg + "\n");
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.enabled) {
      this.#show();
      process.stderr.write("\n");
    }
  }
}

/** Resolve on the first SIGINT/SIGTERM. */
export function onSignal(fn: () => void): () => void {
  const h = () => fn();
  process.once("SIGINT", h);
  process.once("SIGTERM", h);
  return () => {
    process.off("SIGINT", h);
    process.off("SIGTERM", h);
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
