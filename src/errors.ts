/** Public error classes and code tables: SessionError, AnnounceError, SubscribeError, GroupError.
 *
 *  Codes are gomoqt's (gomoqt.md §1.9). Each error carries `.code` (the number on the wire) and `.remote` (true when
 *  the peer sent it). A `Symbol.for` brand lets `isMoqtError` work across duplicate copies of the package.
 *  @module */

export const SessionErrorCode = {
  NoError: 0x0,
  Internal: 0x1,
  Unauthorized: 0x2,
  ProtocolViolation: 0x3,
  ParameterLengthMismatch: 0x5,
  TooManySubscribe: 0x6,
  GoAwayTimeout: 0x10,
  UnsupportedVersion: 0x12,
  SetupFailed: 0x13,
} as const;
export type SessionErrorCode = (typeof SessionErrorCode)[keyof typeof SessionErrorCode];

export const AnnounceErrorCode = {
  Internal: 0x0,
  Duplicated: 0x1,
  InvalidAnnounceStatus: 0x2,
  Uninterested: 0x3,
  BannedPrefix: 0x4,
  InvalidPrefix: 0x5,
} as const;
export type AnnounceErrorCode = (typeof AnnounceErrorCode)[keyof typeof AnnounceErrorCode];

export const SubscribeErrorCode = {
  Internal: 0x0,
  InvalidRange: 0x1,
  DuplicateSubscribeID: 0x2,
  TrackNotFound: 0x3,
  Unauthorized: 0x4,
  SubscribeTimeout: 0x5,
} as const;
export type SubscribeErrorCode = (typeof SubscribeErrorCode)[keyof typeof SubscribeErrorCode];

export const GroupErrorCode = {
  Internal: 0x0,
  OutOfRange: 0x2,
  ExpiredGroup: 0x3,
  SubscribeCanceled: 0x4,
  PublishAborted: 0x5,
  ClosedSession: 0x6,
  InvalidSubscribeID: 0x7,
} as const;
export type GroupErrorCode = (typeof GroupErrorCode)[keyof typeof GroupErrorCode];

function textOf(table: Record<string, number>, code: number): string | undefined {
  for (const [k, v] of Object.entries(table)) if (v === code) return k;
  return undefined;
}

const BRAND = Symbol.for("moqt.error");

/** Base of the four public error classes. */
export abstract class MoqtError extends Error {
  readonly [BRAND] = true;
  constructor(
    readonly code: number,
    readonly remote: boolean,
    kind: string,
    table: Record<string, number>,
    detail?: string,
    options?: { cause?: unknown },
  ) {
    const name = textOf(table, code) ?? `code ${code}`;
    super(
      `moqt: ${kind} ${name} (${code}, ${remote ? "remote" : "local"})${detail ? `: ${detail}` : ""}`,
      options,
    );
  }
}

export function isMoqtError(e: unknown): e is MoqtError {
  return typeof e === "object" && e !== null && (e as Record<symbol, unknown>)[BRAND] === true;
}

export class SessionError extends MoqtError {
  override readonly name = "SessionError";
  constructor(code: number, remote: boolean, detail?: string, options?: { cause?: unknown }) {
    super(code, remote, "session", SessionErrorCode, detail, options);
  }
}

export class AnnounceError extends MoqtError {
  override readonly name = "AnnounceError";
  constructor(code: number, remote: boolean, detail?: string, options?: { cause?: unknown }) {
    super(code, remote, "announce", AnnounceErrorCode, detail, options);
  }
}

export class SubscribeError extends MoqtError {
  override readonly name: string = "SubscribeError";
  constructor(code: number, remote: boolean, detail?: string, options?: { cause?: unknown }) {
    super(code, remote, "subscribe", SubscribeErrorCode, detail, options);
  }
}

/** The publisher ended the track cleanly: FIN on the subscribe stream (`TrackWriter.close()`, or its handler
 *  returning), then `endLinger` ms for groups still in flight. Not a failure and no code on the wire — the Go idiom
 *  would be io.EOF: `for await (const g of trackReader)` just ends, and `acceptGroup()` rejects with this error,
 *  which is also the TrackReader's `signal.reason`. It extends SubscribeError (code Internal 0, remote) so code
 *  written for `acceptGroup` "rejecting with SubscribeError when over" keeps working; tell a clean end apart from a
 *  publisher's reset with code 0 by `instanceof TrackEndedError` or `e.ended === true`. (gomoqt's Dec 2025
 *  subscriber does not notice a clean end at all: its AcceptGroup waits until the session ends, gomoqt.md §1.7.) */
export class TrackEndedError extends SubscribeError {
  override readonly name: string = "TrackEndedError";
  /** Always true: tells a clean end apart from a SubscribeError with code 0 (Internal) without `instanceof`. */
  readonly ended = true;
  constructor(detail = "track ended by publisher") {
    super(SubscribeErrorCode.Internal, true, detail);
  }
}

export class GroupError extends MoqtError {
  override readonly name = "GroupError";
  constructor(code: number, remote: boolean, detail?: string, options?: { cause?: unknown }) {
    super(code, remote, "group", GroupErrorCode, detail, options);
  }
}
