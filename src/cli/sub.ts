/** `moqt sub`: subscribe to a track and print each frame as a line.
 *  @module */
import { once } from "node:events";
import {
  GroupError,
  GroupErrorCode,
  SubscribeError,
  SubscribeErrorCode,
  TrackMux,
  type GroupReader,
  type Session,
  type TrackReader,
} from "../index.js";
import {
  CliError,
  connect,
  describe,
  onSignal,
  parse,
  printedHelp,
  Progress,
  progressWanted,
  TLS_HELP,
  TLS_OPTIONS,
  trackArgs,
} from "./common.js";

export const SUB_HELP = `usage: moqt sub URL BROADCAST_PATH TRACK [--token JWT] [--insecure | --cert-hash HEX]

Subscribe to TRACK of BROADCAST_PATH and write each frame's payload followed by a newline to stdout, group after
group, until the track ends. Exit status 0 when the publisher ends the track cleanly, 1 on an error (message on
stderr). When the broadcast is not there yet, wait up to --wait seconds for it to be announced.

URL is https://host:port/path (WebTransport) or moqt://host:port/path (raw QUIC).

  --wait SECONDS       how long to wait for the broadcast to appear (default 10; 0: fail at once)
${TLS_HELP}`;

const NL = new Uint8Array([10]);
const GAP_WAIT_MS = 500;
const GAP_GROUPS = 64;

/** The parent prefix of a broadcast path: "/a/b" → "/a/", "/x" → "/". */
function parentPrefix(path: string): string {
  return path.slice(0, path.lastIndexOf("/") + 1) || "/";
}

/** Wait until `path` is announced (or the time is up). */
async function waitAnnounced(session: Session, path: string, ms: number): Promise<boolean> {
  const signal = AbortSignal.timeout(ms);
  let ar;
  try {
    ar = await session.acceptAnnounce(parentPrefix(path));
  } catch {
    return false;
  }
  try {
    for (;;) {
      const ann = await ar.receiveAnnouncement(signal);
      if (ann.broadcastPath === path && ann.isActive()) return true;
    }
  } catch {
    return false;
  } finally {
    void ar.close();
  }
}

async function subscribe(
  session: Session,
  path: string,
  track: string,
  waitMs: number,
): Promise<TrackReader> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await session.subscribe(path, track);
    } catch (e) {
      const left = deadline - Date.now();
      if (
        !(e instanceof SubscribeError && e.code === SubscribeErrorCode.TrackNotFound && e.remote) ||
        left <= 0
      )
        throw new CliError(`cannot subscribe to ${path} ${track}: ${describe(e)}`);
      if (!(await waitAnnounced(session, path, left)))
        throw new CliError(`cannot subscribe to ${path} ${track}: not announced within ${waitMs / 1000} s`);
    }
  }
}

/** One group being read while earlier ones are printed. */
class GroupBuf {
  frames: Uint8Array[] = [];
  done = false;
  error: unknown;
  #wake: (() => void) | undefined;
  constructor(readonly g: GroupReader) {}
  notify(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }
  wait(): Promise<void> {
    return new Promise((r) => (this.#wake = r));
  }
}

export async function subMain(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...TLS_OPTIONS, wait: { type: "string" } });
  if (printedHelp(values, SUB_HELP)) return 0;
  const { url, path, track } = trackArgs(positionals, "sub");
  const wait = Number(values.wait ?? "10");
  if (!Number.isFinite(wait) || wait < 0)
    throw new CliError(`--wait wants seconds, got ${values.wait}`, true);

  const { client, session } = await connect(values, url, new TrackMux(), { maxQueuedGroups: 1024 });
  const progress = new Progress(`sub ${path} ${track}`, progressWanted(values));
  let stdoutGone = false;
  process.stdout.on("error", () => {
    stdoutGone = true;
  });
  let interrupted = false;
  let tr: TrackReader | undefined;
  const stopSignals = onSignal(() => {
    interrupted = true;
    void tr?.close();
  });
  try {
    tr = await subscribe(session, path, track, wait * 1000);
    // Groups can arrive out of order (each is its own stream): print them by sequence. A missing sequence is
    // waited for until GAP_WAIT_MS pass or GAP_GROUPS later groups are waiting, then skipped; a group older than
    // what was already printed is dropped.
    const waiting = new Map<bigint, GroupBuf>();
    let next: bigint | undefined;
    let wakeWriter: (() => void) | undefined;
    let accepting = true;
    let trackError: unknown;
    let skipped = 0;
    let gapSince: number | undefined;
    const wake = () => {
      const w = wakeWriter;
      wakeWriter = undefined;
      w?.();
    };

    const write = async (b: Uint8Array): Promise<void> => {
      if (stdoutGone) return;
      if (!process.stdout.write(b))
        await Promise.race([once(process.stdout, "drain"), once(process.stdout, "error")]);
    };

    const minWaiting = (): bigint => {
      let m: bigint | undefined;
      for (const k of waiting.keys()) if (m === undefined || k < m) m = k;
      return m!;
    };

    const writer = (async () => {
      for (;;) {
        if (next === undefined && waiting.size > 0) {
          // Let groups that arrived together be queued before choosing where to start.
          await new Promise((r) => setImmediate(r));
          next = minWaiting();
        }
        const gb = next !== undefined ? waiting.get(next) : undefined;
        if (!gb) {
          if (waiting.size === 0) {
            if (!accepting) return;
            await new Promise<void>((r) => (wakeWriter = r));
            continue;
          }
          if (accepting && waiting.size < GAP_GROUPS) {
            gapSince ??= Date.now();
            const left = GAP_WAIT_MS - (Date.now() - gapSince);
            if (left > 0) {
              const t = setTimeout(wake, left);
              await new Promise<void>((r) => (wakeWriter = r));
              clearTimeout(t);
              continue;
            }
          }
          const m = minWaiting();
          skipped += Number(m - next!);
          next = m;
          gapSince = undefined;
          continue;
        }
        gapSince = undefined;
        waiting.delete(next!);
        next = next! + 1n;
        for (;;) {
          while (gb.frames.length > 0) {
            const f = gb.frames.shift()!;
            const line = new Uint8Array(f.length + 1);
            line.set(f);
            line.set(NL, f.length);
            await write(line);
          }
          if (gb.done) break;
          await gb.wait();
        }
        if (gb.error !== undefined && !interrupted)
          progress.note(`moqt sub: group ${gb.g.groupSequence} incomplete: ${describe(gb.error)}`);
      }
    })();

    const readGroup = async (gb: GroupBuf): Promise<void> => {
      try {
        for (;;) {
          const f = await gb.g.readFrame();
          if (f === null) break;
          const b = f.body();
          gb.frames.push(b);
          progress.frames++;
          progress.bytes += b.length;
          gb.notify();
        }
      } catch (e) {
        if (!(e instanceof GroupError) || e.remote) gb.error = e;
      } finally {
        gb.done = true;
        gb.notify();
      }
    };

    try {
      for await (const g of tr) {
        progress.groups++;
        const gb = new GroupBuf(g);
        void readGroup(gb);
        const seq = BigInt(g.groupSequence);
        if ((next !== undefined && seq < next) || waiting.has(seq)) {
          g.cancelRead(GroupErrorCode.ExpiredGroup);
          progress.note(`moqt sub: group ${seq} arrived late, skipped`);
          continue;
        }
        waiting.set(seq, gb);
        wake();
      }
    } catch (e) {
      trackError = e;
    }
    accepting = false;
    wake();
    await writer;
    if (skipped > 0 && !interrupted) progress.note(`moqt sub: ${skipped} group(s) never arrived`);
    if (trackError !== undefined && !interrupted) {
      throw new CliError(`subscription to ${path} ${track} ended: ${describe(trackError)}`);
    }
    return 0;
  } finally {
    stopSignals();
    progress.stop();
    await client.close().catch(() => {});
  }
}
