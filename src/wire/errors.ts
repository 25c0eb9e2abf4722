/** WireError: the one error type every decoder in `src/wire` throws on bad input.
 *
 *  Pure: no I/O, no timers. The session maps each kind to the protocol's stream reset / session close code.
 *  @module */

export type WireErrorKind =
  /** The input ended in the middle of a field (only for complete, length-delimited bodies). */
  | "truncated"
  /** A length-delimited body had bytes left over after its last field (gomoqt's ErrMessageTooShort). */
  | "trailing"
  /** A length prefix or count is above the configured cap. */
  | "too-large"
  /** A field is not well formed (bad UTF-8, a count that cannot fit, a varint out of range). */
  | "malformed"
  /** A field has a value the protocol does not define (ANNOUNCE status other than 0/1). */
  | "invalid-value";

const WIRE_ERROR = Symbol.for("moqt.WireError");

export class WireError extends Error {
  override readonly name = "WireError";
  readonly [WIRE_ERROR] = true;
  constructor(
    readonly kind: WireErrorKind,
    message: string,
  ) {
    super(`moqt wire: ${message}`);
  }
  static is(e: unknown): e is WireError {
    return typeof e === "object" && e !== null && (e as Record<symbol, unknown>)[WIRE_ERROR] === true;
  }
}
