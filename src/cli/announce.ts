/** `moqt announce`: list broadcasts under a prefix as they become active and end.
 *  @module */
import { TrackMux } from "../index.js";
import {
  CliError,
  checkUrl,
  connect,
  describe,
  onSignal,
  parse,
  printedHelp,
  TLS_HELP,
  TLS_OPTIONS,
} from "./common.js";

export const ANNOUNCE_HELP = `usage: moqt announce URL PREFIX [--token JWT] [--insecure | --cert-hash HEX]

Print the broadcasts under PREFIX ("/" or "/a/b/") as they become active ("+ /path") and as they end ("- /path"),
one per line, until interrupted or the session ends.

URL is https://host:port/path (WebTransport) or moqt://host:port/path (raw QUIC).

${TLS_HELP}`;

export async function announceMain(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, TLS_OPTIONS);
  if (printedHelp(values, ANNOUNCE_HELP)) return 0;
  if (positionals.length !== 2) throw new CliError("want URL PREFIX (see moqt announce --help)", true);
  const [url, prefix] = positionals as [string, string];
  checkUrl(url);
  if (prefix !== "/" && !(prefix.startsWith("/") && prefix.endsWith("/")))
    throw new CliError(`prefix must be "/" or start and end with "/": ${JSON.stringify(prefix)}`, true);

  const { client, session } = await connect(values, url, new TrackMux());
  let interrupted = false;
  const stopSignals = onSignal(() => {
    interrupted = true;
    void ar?.close();
  });
  let ar: Awaited<ReturnType<typeof session.acceptAnnounce>> | undefined;
  try {
    try {
      ar = await session.acceptAnnounce(prefix);
    } catch (e) {
      throw new CliError(`cannot list announcements under ${prefix}: ${describe(e)}`);
    }
    try {
      for await (const ann of ar) {
        process.stdout.write(`+ ${ann.broadcastPath}\n`);
        ann.afterFunc(() => {
          if (!interrupted && !session.signal.aborted) process.stdout.write(`- ${ann.broadcastPath}\n`);
        });
      }
    } catch (e) {
      if (!interrupted) throw new CliError(`announcements ended: ${describe(e)}`);
    }
    if (!interrupted && session.signal.aborted) {
      const err = await session.closed;
      if (err) throw new CliError(`session closed: ${describe(err)}`);
    }
    return 0;
  } finally {
    stopSignals();
    await client.close().catch(() => {});
  }
}
