/** `moqt token`: sign a relay auth token (JWT) with a key file.
 *  @module */
import { readFileSync } from "node:fs";
import { keyFromFile, signToken, TOKEN_ALGS, type TokenAlg } from "../relay/index.js";
import { CliError, parse } from "./common.js";

export const TOKEN_HELP = `usage: moqt token --key FILE [--alg HS256|ES256|EdDSA] [--publish PREFIX]... [--subscribe PREFIX]... [--ttl SECONDS]

Print a token for "moqt relay --auth-key": a JWT signed with FILE whose claims let the holder announce under the
--publish prefixes and subscribe under the --subscribe prefixes, until it expires. Give it to clients with
--token TOKEN (it travels as ?jwt=TOKEN in the URL).

  --key FILE           signing key: an HS256 secret (a file of at least 32 random bytes, or an "oct" JWK), or a
                       private key (PEM or JWK): P-256 → ES256, Ed25519 → EdDSA. The relay takes the same file,
                       or just the public key, with --auth-key
  --alg ALG            HS256, ES256 or EdDSA; must fit the key (default: the key's own)
  --publish PREFIX     a path prefix the holder may announce (repeatable); "/" = every path, "/a/" = paths
                       under /a/, "/a" = /a and the paths under it
  --subscribe PREFIX   a path prefix the holder may subscribe to and see announced (repeatable)
  --ttl SECONDS        lifetime (default 3600); the relay closes the holder's sessions when it expires
  -h, --help           this help

keys:
  head -c 32 /dev/urandom > secret.key                                      # HS256
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out es256.pem  # ES256
  openssl genpkey -algorithm ed25519 -out ed25519.pem                     # EdDSA
  openssl pkey -in es256.pem -pubout -out es256.pub.pem                    # public half, for the relay

example:
  moqt relay --auth-key secret.key
  moqt token --key secret.key --publish /live/ --subscribe / --ttl 600`;

export async function tokenMain(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    key: { type: "string" },
    alg: { type: "string" },
    publish: { type: "string", multiple: true },
    subscribe: { type: "string", multiple: true },
    ttl: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    process.stdout.write(TOKEN_HELP + "\n");
    return 0;
  }
  if (positionals.length > 0) throw new CliError(`unexpected argument ${positionals[0]}`, true);
  if (values.key === undefined) throw new CliError("--key FILE is required", true);
  const alg = values.alg;
  if (alg !== undefined && !TOKEN_ALGS.includes(alg as TokenAlg))
    throw new CliError(`--alg wants one of ${TOKEN_ALGS.join(", ")}, got ${alg}`, true);
  const ttl = Number(values.ttl ?? "3600");
  if (!Number.isInteger(ttl) || ttl <= 0)
    throw new CliError(`--ttl wants a positive whole number of seconds, got ${values.ttl}`, true);
  const publish = values.publish ?? [];
  const subscribe = values.subscribe ?? [];
  for (const p of [...publish, ...subscribe])
    if (!p.startsWith("/"))
      throw new CliError(`a path prefix must start with "/": ${JSON.stringify(p)}`, true);
  if (publish.length === 0 && subscribe.length === 0)
    process.stderr.write("moqt token: warning: no --publish or --subscribe: the token allows nothing\n");
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(values.key);
  } catch (e) {
    throw new CliError(`cannot read ${values.key}: ${e instanceof Error ? e.message : String(e)}`);
  }
  let token: string;
  try {
    token = await signToken(keyFromFile(bytes), {
      publish,
      subscribe,
      ttl,
      ...(alg !== undefined ? { alg: alg as TokenAlg } : {}),
    });
  } catch (e) {
    throw new CliError(`cannot sign with ${values.key}: ${e instanceof Error ? e.message : String(e)}`);
  }
  process.stdout.write(token + "\n");
  return 0;
}
