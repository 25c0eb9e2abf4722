/** The `moqt` command: relay, pub, sub, announce, token.
 *  @module */
import { announceMain, ANNOUNCE_HELP } from "./announce.js";
import { CliError } from "./common.js";
import { pubMain, PUB_HELP } from "./pub.js";
import { relayMain, RELAY_HELP } from "./relay.js";
import { subMain, SUB_HELP } from "./sub.js";
import { tokenMain, TOKEN_HELP } from "./token.js";

const HELP = `usage: moqt <command> [options]

Media over QUIC (MoQ Lite, gomoqt's Development protocol) from the command line.

commands:
  relay      run a relay (WebTransport + raw QUIC, demo page, /certificate.sha256, /metrics)
  pub        publish stdin as a track, one frame per line
  sub        print a track's frames, one per line
  announce   list broadcasts under a prefix as they come and go
  token      sign a relay auth token (for "moqt relay --auth-key" and "--token")

Run "moqt <command> --help" for a command's options.

example:
  moqt relay
  seq 100 | moqt pub https://127.0.0.1:4443/ /demo text --insecure --group-frames 10
  moqt sub https://127.0.0.1:4443/ /demo text --insecure`;

const COMMANDS: Record<string, { run: (args: string[]) => Promise<number>; help: string }> = {
  relay: { run: relayMain, help: RELAY_HELP },
  pub: { run: pubMain, help: PUB_HELP },
  sub: { run: subMain, help: SUB_HELP },
  announce: { run: announceMain, help: ANNOUNCE_HELP },
  token: { run: tokenMain, help: TOKEN_HELP },
};

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === "-h" || cmd === "--help" || cmd === "help") {
    const topic = cmd === "help" ? rest[0] : undefined;
    const c = topic !== undefined ? COMMANDS[topic] : undefined;
    process.stdout.write((c ? c.help : HELP) + "\n");
    return cmd === undefined ? 2 : 0;
  }
  const c = COMMANDS[cmd];
  if (!c) {
    process.stderr.write(`moqt: unknown command ${JSON.stringify(cmd)}\n\n${HELP}\n`);
    return 2;
  }
  try {
    return await c.run(rest);
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`moqt ${cmd}: ${e.message}\n`);
      if (e.usage) process.stderr.write(`run "moqt ${cmd} --help" for usage\n`);
      return e.usage ? 2 : 1;
    }
    process.stderr.write(`moqt ${cmd}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Open handles (sockets in teardown) must not keep a finished command alive.
setTimeout(() => process.exit(code), 200).unref();
