/** Shared gomoqt Development wire vectors (test/data/gomoqt-dev.json), mapped onto our codecs and value shapes.
 *
 *  Each message vector becomes `{ name, codec, value, hex, streamPrefixHex }`; FRAME vectors are kept apart
 *  (`frameVectors`) because a frame is not a Codec message. Spec: gomoqt.md §1.4, §1.10.
 *  @module */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  Announce,
  AnnounceInit,
  AnnouncePlease,
  Group,
  SessionClient,
  SessionServer,
  SessionUpdate,
  Subscribe,
  SubscribeOk,
  SubscribeUpdate,
  type Codec,
  type Parameters,
} from "../../src/wire/index.js";

interface RawVector {
  name: string;
  message: string;
  fields: Record<string, unknown>;
  hex: string;
  stream_prefix_hex?: string;
}

export interface MessageVector {
  readonly name: string;
  readonly message: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- heterogeneous list of codecs
  readonly codec: Codec<any>;
  readonly value: unknown;
  readonly hex: string;
  readonly streamPrefixHex: string | undefined;
}

export interface FrameVector {
  readonly name: string;
  readonly payload: Uint8Array;
  readonly hex: string;
}

const utf8 = new TextEncoder();

export function hexToBytes(hex: string): Uint8Array {
  const clean = hex.replace(/[\s:]/g, "");
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`bad hex: ${hex}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function params(raw: unknown): Parameters {
  const out: Parameters = new Map();
  for (const [k, v] of Object.entries(raw as Record<string, string>)) out.set(Number(k), utf8.encode(v));
  return out;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see MessageVector.codec
const CODECS: Record<string, { codec: Codec<any>; value: (f: Record<string, unknown>) => unknown }> = {
  SESSION_CLIENT: {
    codec: SessionClient,
    value: (f) => ({ versions: f.versions, parameters: params(f.parameters) }),
  },
  SESSION_SERVER: {
    codec: SessionServer,
    value: (f) => ({ version: f.version, parameters: params(f.parameters) }),
  },
  SESSION_UPDATE: { codec: SessionUpdate, value: (f) => ({ ...f }) },
  ANNOUNCE_PLEASE: { codec: AnnouncePlease, value: (f) => ({ ...f }) },
  ANNOUNCE_INIT: { codec: AnnounceInit, value: (f) => ({ ...f }) },
  ANNOUNCE: { codec: Announce, value: (f) => ({ ...f }) },
  SUBSCRIBE: { codec: Subscribe, value: (f) => ({ ...f }) },
  SUBSCRIBE_OK: { codec: SubscribeOk, value: (f) => ({ ...f }) },
  SUBSCRIBE_UPDATE: { codec: SubscribeUpdate, value: (f) => ({ ...f }) },
  GROUP: { codec: Group, value: (f) => ({ ...f }) },
};

const file = fileURLToPath(new URL("../data/gomoqt-dev.json", import.meta.url));
const raw = (JSON.parse(readFileSync(file, "utf8")) as { vectors: RawVector[] }).vectors;

export const messageVectors: readonly MessageVector[] = raw
  .filter((v) => v.message !== "FRAME")
  .map((v) => {
    const entry = CODECS[v.message];
    if (!entry) throw new Error(`vector ${v.name}: unknown message ${v.message}`);
    return {
      name: v.name,
      message: v.message,
      codec: entry.codec,
      value: entry.value(v.fields),
      hex: v.hex,
      streamPrefixHex: v.stream_prefix_hex,
    };
  });

export const frameVectors: readonly FrameVector[] = raw
  .filter((v) => v.message === "FRAME")
  .map((v) => ({ name: v.name, payload: utf8.encode(String(v.fields.payloadUtf8)), hex: v.hex }));

/** Total number of vectors in the file (messages + frames), to guard against silently skipping any. */
export const vectorCount = raw.length;
