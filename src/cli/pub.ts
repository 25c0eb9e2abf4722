/** `moqt pub`: publish stdin as a track, one frame per line.
 *  @module */
import { SessionErrorCode, SubscribeErrorCode, TrackMux, type TrackWriter } from "../index.js";
import { Fanout, type FanGroup } from "../relay/fanout.js";
import {
  CliError,
  connect,
  describe,
  onSignal,
  parse,
  printedHelp,
  Progress,
  progressWanted,
  sleep,
  TLS_HELP,
  TLS_OPTIONS,
  trackArgs,
} from "./common.js";

export const PUB_HELP = `usage: moqt pub URL BROADCAST_PATH TRACK [--group-frames N] [--token JWT] [--insecure | --cert-hash HEX]

Announce BROADCAST_PATH and publish stdin on TRACK: one frame per line (the newline is not sent), a new group every
N frames. Every subscriber gets groups from where it joins; the latest group is kept, so a subscriber joining now
gets it whole. Reading stdin starts when the first subscriber arrives (so a file piped in is delivered whole);
--no-wait starts at once. At the end of stdin the last group is finished, subscribers are given time to receive it,
then the track and the session are closed cleanly.

URL is https://host:port/path (WebTransport) or moqt://host:port/path (raw QUIC).

  --group-frames N     frames per group (default 1)
  --linger MS          after the end of stdin, keep the session this long once every subscriber is served
                       (default 1500)
  --no-wait            read stdin before any subscriber arrives
${TLS_HELP}`;

/** Pause stdin while a subscriber has more than this queued (up to MAX_STALL ms), so bursts are not dropped. */
const SOFT_PENDING_BYTES = 256 * 1024;
const SOFT_PENDING_FRAMES = 1024;
const MAX_STALL_MS = 10_000;

export async function pubMain(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    ...TLS_OPTIONS,
    "group-frames": { type: "string" },
    linger: { type: "string" },
    "no-wait": { type: "boolean" },
  });
  if (printedHelp(values, PUB_HELP)) return 0;
  const { url, path, track } = trackArgs(positionals, "pub");
  const groupFrames = Number(values["group-frames"] ?? "1");
  if (!Number.isInteger(groupFrames) || groupFrames < 1)
    throw new CliError(`--group-frames wants a positive integer, got ${values["group-frames"]}`, true);
  const linger = Number(values.linger ?? "1500");
  if (!Number.isFinite(linger) || linger < 0)
    throw new CliError(`--linger wants milliseconds, got ${values.linger}`, true);

  const fanout = new Fanout();
  let firstSubscriber!: () => void;
  const subscribed = new Promise<void>((r) => (firstSubscriber = r));
  const progress = new Progress(`pub ${path} ${track}`, progressWanted(values), () => {
    const n = fanout.size;
    return `${n} subscriber${n === 1 ? "" : "s"}`;
  });

  const mux = new TrackMux();
  const ctrl = new AbortController();
  mux.publishFunc(ctrl.signal, path, (tw: TrackWriter) => {
    if (tw.trackName !== track) return tw.closeWithError(SubscribeErrorCode.TrackNotFound);
    const done = fanout.addDownstream(tw);
    fanout.ready();
    firstSubscriber();
    return done;
  });

  const { client, session } = await connect(values, url, mux);
  let interrupted = false;
  const stopSignals = onSignal(() => {
    interrupted = true;
    process.stdin.destroy();
  });
  const sessionGone = session.closed.then((err) => err);

  try {
    if (!values["no-wait"]) {
      const r = await Promise.race([subscribed.then(() => "sub" as const), sessionGone]);
      if (r !== "sub") throw new CliError(`session closed: ${r ? describe(r) : "by the server"}`);
    }
    let group: FanGroup | undefined;
    let inGroup = 0;
    let seq = 0;
    const emit = (frame: Uint8Array) => {
      if (!group || inGroup >= groupFrames) {
        group?.end();
        group = fanout.startGroup(seq++);
        inGroup = 0;
        progress.groups++;
      }
      group.push(frame);
      inGroup++;
      progress.frames++;
      progress.bytes += frame.length;
    };
    const behind = (): boolean => {
      const p = fanout.pending();
      return p.maxBytes > SOFT_PENDING_BYTES || p.maxFrames > SOFT_PENDING_FRAMES;
    };
    // Backpressure: let a subscriber that is behind catch up before reading more (bounded wait; after that the
    // fanout's own bounds apply and a stuck subscriber skips groups).
    const catchUp = async (): Promise<void> => {
      const t0 = Date.now();
      while (behind() && Date.now() - t0 < MAX_STALL_MS && !session.signal.aborted) await sleep(2);
    };
    let rest: Uint8Array = new Uint8Array(0);
    const input = (async function* () {
      try {
        for await (const chunk of process.stdin as AsyncIterable<Uint8Array>) yield chunk;
      } catch (e) {
        if (!interrupted) throw new CliError(`reading stdin: ${describe(e)}`);
      }
    })();
    for await (const chunk of input) {
      if (session.signal.aborted) break;
      let data = chunk;
      if (rest.length > 0) {
        data = new Uint8Array(rest.length + chunk.length);
        data.set(rest);
        data.set(chunk, rest.length);
      }
      let start = 0;
      for (let i = data.indexOf(10, start); i >= 0; i = data.indexOf(10, start)) {
        emit(data.slice(start, i));
        start = i + 1;
        if (behind()) await catchUp();
      }
      rest = data.slice(start);
    }
    if (rest.length > 0) emit(rest);
    group?.end();
    if (session.signal.aborted) {
      const err = await sessionGone;
      throw new CliError(`session closed: ${err ? describe(err) : "by the server"}`);
    }
    // End of input: drain every subscriber and FIN its subscription, then linger so the last data is delivered.
    fanout.finish();
    const t0 = Date.now();
    while (fanout.size > 0 && Date.now() - t0 < 10_000 && !session.signal.aborted) await sleep(10);
    if (!interrupted) await Promise.race([sleep(linger), sessionGone]);
    ctrl.abort();
    await session.closeWithError(SessionErrorCode.NoError, "publisher done");
    return 0;
  } finally {
    stopSignals();
    progress.stop();
    ctrl.abort();
    await client.close().catch(() => {});
  }
}
