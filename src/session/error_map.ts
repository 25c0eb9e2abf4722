/** Error mapping, done once: transport StreamError / TransportClosedError / WireError → the public error classes.
 *  @module @internal */
import {
  AnnounceError,
  GroupError,
  isMoqtError,
  SessionError,
  SubscribeError,
  type MoqtError,
} from "../errors.js";
import { StreamError, TransportClosedError } from "../transport/stream_error.js";
import { WireError } from "../wire/index.js";

type Ctor = new (code: number, remote: boolean, detail?: string, options?: { cause?: unknown }) => MoqtError;

function mapWith(C: Ctor, e: unknown, internal: number): MoqtError {
  if (isMoqtError(e)) return e;
  if (e instanceof StreamError) return new C(e.code, e.remote, undefined, { cause: e });
  if (e instanceof TransportClosedError)
    return new SessionError(e.code, e.remote, e.reason || undefined, { cause: e });
  if (WireError.is(e)) return new C(internal, false, e.message, { cause: e });
  const msg = e instanceof Error ? e.message : String(e);
  return new C(internal, false, msg, { cause: e });
}

export const toGroupError = (e: unknown): MoqtError => mapWith(GroupError, e, 0);
export const toSubscribeError = (e: unknown): MoqtError => mapWith(SubscribeError, e, 0);
export const toAnnounceError = (e: unknown): MoqtError => mapWith(AnnounceError, e, 0);
export const toSessionError = (e: unknown): MoqtError => mapWith(SessionError, e, 1);
