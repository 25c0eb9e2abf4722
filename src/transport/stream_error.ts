/** StreamError: a stream ended by RESET_STREAM / STOP_SENDING, with its application code as data.
 *
 *  Thrown by transport adapters; the session maps it to Group/Subscribe/Announce errors in one place.
 *  @module @internal */

export class StreamError extends Error {
  override readonly name = "StreamError";
  constructor(
    readonly code: number,
    /** True when the peer reset/stopped the stream; false when we did. */
    readonly remote: boolean,
    message?: string,
  ) {
    super(message ?? `stream ${remote ? "reset by peer" : "cancelled locally"} with code ${code}`);
  }
}

/** The transport was closed while a stream operation was pending. */
export class TransportClosedError extends Error {
  override readonly name = "TransportClosedError";
  constructor(
    readonly code: number,
    readonly reason: string,
    readonly remote: boolean,
  ) {
    super(
      `transport closed (${remote ? "remote" : "local"}) with code ${code}${reason ? `: ${reason}` : ""}`,
    );
  }
}
