/** Relay authentication: JWTs (HS256, ES256, EdDSA) verified and signed with `jose`, scopes and prefix matching.
 *
 *  A token is a compact JWS whose claims are
 *  ```json
 *  { "publish": ["/a/"], "subscribe": ["/b/", "/c"], "exp": 1767225600, "iat": 1767222000 }
 *  ```
 *  - `publish`: broadcast paths the session may announce; `subscribe`: paths it may subscribe to and see announced.
 *    Both are lists of path prefixes (missing = none). "/" matches every path; a prefix ending in "/" ("/a/")
 *    matches the paths that start with it ("/a/x", "/a/x/y", not "/a" or "/ab"); one without ("/a") matches that
 *    path and the paths below it ("/a", "/a/x", not "/ab").
 *  - `exp` (seconds since the epoch) is required: the relay refuses tokens without it and closes a session when its
 *    token expires. `nbf` is honoured when present.
 *
 *  Keys (`RelayAuthKey`): an HS256 secret (bytes, at least 32 as RFC 7518 §3.2 asks), a PEM key (public or private;
 *  P-256 → ES256, Ed25519 → EdDSA; the relay only uses the public half), or a JWK / JWK Set (object or JSON text;
 *  `oct` → HS256, `EC` P-256 → ES256, `OKP` Ed25519 → EdDSA; `kid` and `alg` are honoured when present).
 *  Node only (node:crypto parses the keys; jose does the JWS work).
 *  @module */
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { SignJWT, decodeProtectedHeader, errors, jwtVerify, type JWK } from "jose";

export type TokenAlg = "HS256" | "ES256" | "EdDSA";
export const TOKEN_ALGS: readonly TokenAlg[] = ["HS256", "ES256", "EdDSA"];

/** A key as given: secret bytes (HS256), PEM text, a JWK or JWK Set object, or JWK / JWK Set JSON text. */
export type RelayAuthKey = Uint8Array | string | JWK | { keys: JWK[] };

/** What a session may do. */
export interface TokenScope {
  /** Path prefixes the session may announce. */
  publish: string[];
  /** Path prefixes the session may subscribe to and see announced. */
  subscribe: string[];
}

export interface RelayAuthOptions {
  /** Keys accepted for verification; a token is valid when one of them (with its algorithm) verifies it. */
  keys: RelayAuthKey[];
  /** Refuse sessions without a token (default true). When false, they get `anonymous`; a token that is present
   *  but bad is refused either way. */
  required?: boolean;
  /** The scope of tokenless sessions when `required` is false. Default: subscribe to everything, publish nothing. */
  anonymous?: TokenScope;
}

/** A verified token. */
export interface TokenGrant extends TokenScope {
  /** Expiry, milliseconds since the epoch (Infinity for anonymous sessions). */
  expiresAt: number;
}

/** Why a token was refused: "missing", "malformed", "signature" (no key verified it), "expired", "claims". */
export class TokenError extends Error {
  override readonly name = "TokenError";
  constructor(
    readonly reason: "missing" | "malformed" | "signature" | "expired" | "claims",
    message: string,
  ) {
    super(message);
  }
}

interface VerifyKey {
  alg: TokenAlg;
  key: KeyObject | Uint8Array;
  kid: string | undefined;
}

/** Does `prefix` cover `path`? See the module comment for the rules. */
export function prefixMatches(prefix: string, path: string): boolean {
  if (prefix === "/" || prefix === path) return true;
  return path.startsWith(prefix.endsWith("/") ? prefix : prefix + "/");
}

/** Does one of `prefixes` cover `path`? */
export function inScope(prefixes: readonly string[], path: string): boolean {
  for (const p of prefixes) if (prefixMatches(p, path)) return true;
  return false;
}

/** Read a key file's bytes as a RelayAuthKey: PEM or JSON text as such, anything else as an HS256 secret. */
export function keyFromFile(bytes: Uint8Array): RelayAuthKey {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  if (text.includes("-----BEGIN ")) return text;
  if (text.trimStart().startsWith("{")) return text;
  return bytes;
}

const MIN_SECRET = 32;

function secretOf(b: Uint8Array): Uint8Array {
  if (b.byteLength < MIN_SECRET)
    throw new TypeError(`moqt: HS256 secret too short (${b.byteLength} bytes; want at least ${MIN_SECRET})`);
  return b;
}

function algOfKeyObject(k: KeyObject): TokenAlg {
  if (k.asymmetricKeyType === "ec") {
    const curve = k.asymmetricKeyDetails?.namedCurve;
    if (curve === "prime256v1" || curve === "P-256") return "ES256";
    throw new TypeError(`moqt: EC key on curve ${curve}; only P-256 (ES256) is supported`);
  }
  if (k.asymmetricKeyType === "ed25519") return "EdDSA";
  throw new TypeError(
    `moqt: unsupported key type ${k.asymmetricKeyType} (want P-256, Ed25519 or an HS256 secret)`,
  );
}

function checkAlg(declared: unknown, actual: TokenAlg): void {
  if (declared === undefined) return;
  if (declared !== actual && !(actual === "EdDSA" && declared === "Ed25519"))
    throw new TypeError(`moqt: key says alg ${String(declared)} but is a ${actual} key`);
}

function b64uDecode(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, "base64url"));
}

function expand(k: RelayAuthKey): (Uint8Array | string | JWK)[] {
  if (typeof k === "string" && !k.includes("-----BEGIN ")) {
    let v: unknown;
    try {
      v = JSON.parse(k);
    } catch {
      throw new TypeError(
        "moqt: a key given as text must be PEM or JWK JSON (give an HS256 secret as bytes)",
      );
    }
    return expand(v as RelayAuthKey);
  }
  if (typeof k === "object" && !(k instanceof Uint8Array) && Array.isArray((k as { keys?: unknown }).keys))
    return (k as { keys: JWK[] }).keys;
  return [k as Uint8Array | string | JWK];
}

/** Normalise a key for verification (the public half of a private key). */
function verifyKeys(k: RelayAuthKey): VerifyKey[] {
  return expand(k).map((one): VerifyKey => {
    if (one instanceof Uint8Array) return { alg: "HS256", key: secretOf(one), kid: undefined };
    if (typeof one === "string") {
      const key = createPublicKey(one);
      return { alg: algOfKeyObject(key), key, kid: undefined };
    }
    if (one.kty === "oct") {
      checkAlg(one.alg, "HS256");
      if (typeof one.k !== "string") throw new TypeError("moqt: oct JWK without k");
      return { alg: "HS256", key: secretOf(b64uDecode(one.k)), kid: one.kid };
    }
    const pub: JWK = { ...one };
    for (const f of ["d", "p", "q", "dp", "dq", "qi"] as const) delete pub[f];
    const key = createPublicKey({ key: pub as import("node:crypto").JsonWebKey, format: "jwk" });
    const alg = algOfKeyObject(key);
    checkAlg(one.alg, alg);
    return { alg, key, kid: one.kid };
  });
}

/** Normalise a key for signing (HS256 secret or a private key). */
export function signingKey(k: RelayAuthKey): { alg: TokenAlg; key: KeyObject | Uint8Array; kid?: string } {
  const all = expand(k);
  if (all.length !== 1) throw new TypeError(`moqt: want one signing key, got ${all.length}`);
  const one = all[0]!;
  if (one instanceof Uint8Array) return { alg: "HS256", key: secretOf(one) };
  if (typeof one === "string") {
    const key = createPrivateKey(one);
    return { alg: algOfKeyObject(key), key };
  }
  if (one.kty === "oct") {
    checkAlg(one.alg, "HS256");
    if (typeof one.k !== "string") throw new TypeError("moqt: oct JWK without k");
    return { alg: "HS256", key: secretOf(b64uDecode(one.k)), ...(one.kid ? { kid: one.kid } : {}) };
  }
  if (one.d === undefined) throw new TypeError("moqt: a signing JWK needs its private part (d)");
  const key = createPrivateKey({ key: one as import("node:crypto").JsonWebKey, format: "jwk" });
  const alg = algOfKeyObject(key);
  checkAlg(one.alg, alg);
  return { alg, key, ...(one.kid ? { kid: one.kid } : {}) };
}

export interface SignTokenOptions extends Partial<TokenScope> {
  /** Lifetime in seconds (default 3600). */
  ttl?: number;
  /** Must match the key when given. */
  alg?: TokenAlg;
  /** Issued-at time (default now). */
  now?: Date;
}

/** Sign a token for a relay. */
export async function signToken(key: RelayAuthKey, opts: SignTokenOptions = {}): Promise<string> {
  const k = signingKey(key);
  if (opts.alg !== undefined && opts.alg !== k.alg)
    throw new TypeError(`moqt: --alg ${opts.alg} does not fit the key (a ${k.alg} key)`);
  const ttl = opts.ttl ?? 3600;
  if (!Number.isFinite(ttl)) throw new TypeError("moqt: ttl must be a number of seconds");
  const iat = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  const scope = { publish: opts.publish ?? [], subscribe: opts.subscribe ?? [] };
  for (const p of [...scope.publish, ...scope.subscribe]) checkPrefix(p);
  return new SignJWT(scope)
    .setProtectedHeader({ alg: k.alg, typ: "JWT", ...(k.kid ? { kid: k.kid } : {}) })
    .setIssuedAt(iat)
    .setExpirationTime(iat + Math.floor(ttl))
    .sign(k.key);
}

function checkPrefix(p: unknown): string {
  if (typeof p !== "string" || !p.startsWith("/"))
    throw new TokenError("claims", `path prefix must be a string starting with "/": ${JSON.stringify(p)}`);
  return p;
}

function scopeClaim(v: unknown, name: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new TokenError("claims", `claim ${name} must be an array of path prefixes`);
  return v.map(checkPrefix);
}

/** Verifies tokens against a fixed set of keys. */
export class TokenVerifier {
  readonly #keys: VerifyKey[];

  constructor(keys: readonly RelayAuthKey[]) {
    this.#keys = keys.flatMap(verifyKeys);
    if (this.#keys.length === 0) throw new TypeError("moqt: relay auth needs at least one key");
  }

  /** Verify `token`: signature by one of the keys, `exp` present and not passed, scope claims well-formed. */
  async verify(token: string | undefined | null): Promise<TokenGrant> {
    if (!token) throw new TokenError("missing", "no token (want ?jwt=… in the URL)");
    let header;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new TokenError("malformed", "token is not a compact JWS");
    }
    const candidates = this.#keys.filter(
      (k) =>
        (header.alg === k.alg || (k.alg === "EdDSA" && header.alg === "Ed25519")) &&
        (header.kid === undefined || k.kid === undefined || header.kid === k.kid),
    );
    if (candidates.length === 0)
      throw new TokenError(
        "signature",
        `no key for alg ${String(header.alg)}${header.kid ? ` kid ${header.kid}` : ""}`,
      );
    let last: unknown;
    for (const k of candidates) {
      try {
        const { payload } = await jwtVerify(token, k.key, {
          algorithms: [header.alg!],
          requiredClaims: ["exp"],
        });
        return {
          publish: scopeClaim(payload["publish"], "publish"),
          subscribe: scopeClaim(payload["subscribe"], "subscribe"),
          expiresAt: payload.exp! * 1000,
        };
      } catch (e) {
        if (e instanceof TokenError) throw e;
        if (e instanceof errors.JWTExpired) throw new TokenError("expired", "token expired");
        if (e instanceof errors.JWTClaimValidationFailed) throw new TokenError("claims", e.message);
        if (e instanceof errors.JWTInvalid) throw new TokenError("malformed", e.message);
        last = e;
      }
    }
    throw new TokenError(
      "signature",
      `signature not verified${last instanceof Error ? ` (${last.message})` : ""}`,
    );
  }
}
