/** `moqt relay`: run a relay (WebTransport + raw QUIC on one UDP port) with its HTTP side.
 *  @module */
import { readFileSync } from "node:fs";
import { allowOrigins, keyFromFile, startRelay, type Relay, type RelayAuthKey } from "../relay/index.js";
import { CliError, fmtBytes, onSignal, parse } from "./common.js";

export const RELAY_HELP = `usage: moqt relay [--listen HOST:PORT] [--http HOST:PORT|off] [--cert FILE --key FILE] [--web DIR]
                  [--auth-key FILE]... [--allow-origin ORIGIN]... [--upstream-linger MS]

Run a MoQ relay: sessions publish and subscribe; each track is subscribed upstream once and fanned out. Without
--auth-key every session may publish and subscribe everything.

  --listen HOST:PORT   UDP address for WebTransport (https://) and raw QUIC (moqt://); default 127.0.0.1:4443
                       (port 0 picks a free port)
  --http HOST:PORT     HTTP address for the demo page, /certificate.sha256 and /metrics; default 127.0.0.1:8080;
                       "off" disables it
  --cert FILE          certificate chain (PEM); with --key. Default: a generated development certificate
                       (ECDSA P-256, 10 days), pinned by browsers through /certificate.sha256
  --key FILE           private key (PEM)
  --web DIR            static files to serve (default: the package's web/dist/)
  --auth-key FILE      require a token (JWT, see "moqt token") verified by this key: an HS256 secret (file of
                       >= 32 bytes, or an "oct" JWK), or an ES256 (P-256) / EdDSA (Ed25519) key as PEM or JWK
                       (public or private; only the public half is used). Repeatable: any listed key will do.
                       Clients send the token as ?jwt=TOKEN ("--token" in pub/sub/announce). A token grants
                       "publish" and "subscribe" path prefixes until its "exp": setup without a valid token is
                       refused with Unauthorized (0x2), a session is closed with 0x2 when its token expires,
                       announcements outside "publish" are not relayed, subscriptions outside "subscribe" get
                       Unauthorized (4) and announcements outside it are not shown
  --allow-origin ORIGIN
                       accept WebTransport requests from browser pages of ORIGIN only (e.g. https://example.com;
                       repeatable; "*" = any); others get HTTP 403. Clients that send no Origin (non-browser)
                       are let through. Default: any origin
  --upstream-linger MS after a track's last subscriber leaves, keep its upstream subscription this long for the
                       next one (default 2000; 0: unsubscribe at once)
  -v, --verbose        log sessions and broadcasts on stderr
  -q, --quiet          no progress on stderr
  -h, --help           this help

The first line on stdout is machine-readable:
  listening quic=HOST:PORT http=HOST:PORT cert-sha256=HEX`;

export async function relayMain(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    listen: { type: "string" },
    http: { type: "string" },
    cert: { type: "string" },
    key: { type: "string" },
    web: { type: "string" },
    "auth-key": { type: "string", multiple: true },
    "allow-origin": { type: "string", multiple: true },
    "upstream-linger": { type: "string" },
    verbose: { type: "boolean", short: "v" },
    quiet: { type: "boolean", short: "q" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    process.stdout.write(RELAY_HELP + "\n");
    return 0;
  }
  if (positionals.length > 0) throw new CliError(`unexpected argument ${positionals[0]}`, true);
  if ((values.cert === undefined) !== (values.key === undefined))
    throw new CliError("give both --cert and --key, or neither", true);
  const read = (f: string) => {
    try {
      return readFileSync(f, "utf8");
    } catch (e) {
      throw new CliError(`cannot read ${f}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const authKeys: RelayAuthKey[] = (values["auth-key"] ?? []).map((f) => {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(f);
    } catch (e) {
      throw new CliError(`cannot read ${f}: ${e instanceof Error ? e.message : String(e)}`);
    }
    return keyFromFile(bytes);
  });
  const origins = values["allow-origin"] ?? [];
  const linger = values["upstream-linger"] === undefined ? undefined : Number(values["upstream-linger"]);
  if (linger !== undefined && !(Number.isFinite(linger) && linger >= 0))
    throw new CliError(`--upstream-linger wants milliseconds, got ${values["upstream-linger"]}`, true);
  const verbose = values.verbose === true;
  const progressOn = process.stderr.isTTY === true && !values.quiet;
  let relay: Relay;
  try {
    relay = await startRelay({
      listen: values.listen ?? "127.0.0.1:4443",
      http: values.http === "off" ? false : (values.http ?? "127.0.0.1:8080"),
      ...(values.cert !== undefined ? { cert: read(values.cert), key: read(values.key!) } : {}),
      ...(values.web !== undefined ? { webRoot: values.web } : {}),
      ...(authKeys.length > 0 ? { auth: { keys: authKeys, required: true } } : {}),
      ...(origins.length > 0 ? { checkOrigin: allowOrigins(origins) } : {}),
      ...(linger !== undefined ? { upstreamLinger: linger } : {}),
      ...(verbose
        ? { log: (l: string) => process.stderr.write(`${progressOn ? "\r\x1b[K" : ""}${l}\n`) }
        : {}),
    });
  } catch (e) {
    throw new CliError(`cannot start the relay: ${e instanceof Error ? e.message : String(e)}`);
  }
  const hash = relay.certificateSha256();
  const quic = `${relay.host || "0.0.0.0"}:${relay.port}`;
  const http = relay.httpPort !== undefined ? `${relay.httpHost || "0.0.0.0"}:${relay.httpPort}` : "off";
  const moq = relay.moqUrl();
  const page = relay.httpUrl();
  const lines = [
    `listening quic=${quic} http=${http} cert-sha256=${hash}`,
    ...(page ? [`demo page:    ${page}`] : []),
    `MoQ URL:      ${moq}  (raw QUIC: ${moq.replace(/^https:/, "moqt:")})`,
    `cert sha256:  ${hash}${page ? `  (${page}certificate.sha256)` : ""}`,
    ...(page ? [`metrics:      ${page}metrics`] : []),
    `auth:         ${authKeys.length > 0 ? `token required (${authKeys.length} key${authKeys.length === 1 ? "" : "s"})` : "none (anyone may publish and subscribe)"}`,
    ...(origins.length > 0 ? [`origins:      ${origins.join(" ")}`] : []),
    `try:          moqt sub ${moq} /demo text --insecure${authKeys.length > 0 ? " --token TOKEN" : ""}`,
  ];
  process.stdout.write(lines.join("\n") + "\n");

  let timer: ReturnType<typeof setInterval> | undefined;
  if (progressOn) {
    let last = { t: Date.now(), in: 0, out: 0 };
    timer = setInterval(() => {
      const s = relay.stats();
      const dt = Math.max(1, Date.now() - last.t) / 1000;
      const rin = (s.bytesIn - last.in) / dt;
      const rout = (s.bytesOut - last.out) / dt;
      last = { t: Date.now(), in: s.bytesIn, out: s.bytesOut };
      process.stderr.write(
        `\r\x1b[Krelay: ${s.sessionsOpen} sessions, ${s.announcementsActive} broadcasts, ` +
          `in ${fmtBytes(rin)}/s (${s.groupsIn} groups), out ${fmtBytes(rout)}/s (${s.groupsOut} groups), ` +
          `${s.groupsDropped} dropped`,
      );
    }, 1000);
  }

  await new Promise<void>((resolve) => onSignal(resolve));
  if (timer) {
    clearInterval(timer);
    process.stderr.write("\n");
  }
  await relay.close();
  return 0;
}
