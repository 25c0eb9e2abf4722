// Leak checks for tests over the native transports: a forced full GC, the native addon's resource counters polled
// back to a baseline, FinalizationRegistry liveness counts of JS objects, and live JS objects per kind counted in a
// heap snapshot.
//
// The native counters (`nativeStats()`) follow native objects, which their JS wrappers keep alive until collected, so
// every comparison runs after a GC; drops can lag a turn (a finalizer, a quinn task), so checks poll with a bound.
import assert from "node:assert/strict";
import { getHeapSnapshot, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { nativeStats, type NativeResourceStats } from "../../src/index.js";

setFlagsFromString("--expose-gc");
/** A full, synchronous GC (works under `node --import tsx --test` without `--expose-gc` on the command line). */
export const gc = runInNewContext("gc") as () => void;

const turn = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** GC, then let finalizers and native drops run (FinalizationRegistry callbacks are tasks after the GC). */
export async function fullGc(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await turn();
  }
}

/** The counters once two reads after GCs agree (bounded). Use as the baseline after a setup. */
export async function settledStats(tries = 100): Promise<NativeResourceStats> {
  let last = "";
  for (let i = 0; i < tries; i++) {
    await fullGc();
    await turn(10);
    const now = JSON.stringify(nativeStats());
    if (now === last) break;
    last = now;
  }
  return nativeStats();
}

/** Poll with GCs (at most ~`tries` x 20 ms) until every counter equals `want`, then assert it (the diff names the
 *  counter that stayed off). */
export async function expectStats(want: NativeResourceStats, what: string, tries = 300): Promise<void> {
  const same = () => JSON.stringify(nativeStats()) === JSON.stringify(want);
  for (let i = 0; i < tries && !same(); i++) {
    await fullGc();
    await turn(20);
  }
  assert.deepEqual(nativeStats(), want, `native resources after ${what}`);
}

/** Counts of tracked JS objects not yet collected, by kind. */
export class Liveness {
  #made = new Map<string, number>();
  #alive = new Map<string, number>();
  #registry = new FinalizationRegistry<string>((kind) => this.#alive.set(kind, this.#alive.get(kind)! - 1));

  /** Watch `o` (returned as is). */
  track<T extends object>(kind: string, o: T): T {
    this.#made.set(kind, (this.#made.get(kind) ?? 0) + 1);
    this.#alive.set(kind, (this.#alive.get(kind) ?? 0) + 1);
    this.#registry.register(o, kind);
    return o;
  }

  made(kind: string): number {
    return this.#made.get(kind) ?? 0;
  }

  alive(kind: string): number {
    return this.#alive.get(kind) ?? 0;
  }

  /** Poll with GCs until at most `keep[kind]` (default 0) objects of each tracked kind are alive, then assert it. */
  async expectCollected(what: string, keep: Record<string, number> = {}, tries = 200): Promise<void> {
    const counts = () => Object.fromEntries([...this.#alive].map(([k, n]) => [k, Math.max(n, keep[k] ?? 0)]));
    const want = () => Object.fromEntries([...this.#alive.keys()].map((k) => [k, keep[k] ?? 0]));
    for (let i = 0; i < tries && JSON.stringify(counts()) !== JSON.stringify(want()); i++) {
      await fullGc();
      await turn(10);
    }
    assert.deepEqual(
      counts(),
      want(),
      `objects still alive after ${what} (made: ${JSON.stringify([...this.#made])})`,
    );
  }
}

/** Live JS objects by kind ("object:TrackReader", "closure:onAbort", "string", ...), from a heap snapshot taken
 *  after a full GC. Compiled code, bytecode, feedback and other V8 internals ("code", "hidden", shapes, heap numbers)
 *  are left out: they come and go as functions are tiered up, and would drown a leak in bytes. */
export async function heapObjects(): Promise<Map<string, number>> {
  // The first snapshot fills the table of kind names; counted again, that table would read as growth.
  if (kinds.size === 0) await countObjects();
  return countObjects();
}

async function countObjects(): Promise<Map<string, number>> {
  await fullGc();
  const chunks: Buffer[] = [];
  for await (const c of getHeapSnapshot()) chunks.push(c as Buffer);
  const snap = JSON.parse(Buffer.concat(chunks).toString("utf8")) as HeapSnapshotJson;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const counts = new Map<string, number>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!]!;
    if (!COUNTED.has(type)) continue;
    const raw =
      type === "object" || type === "closure" ? `${type}:${snap.strings[snap.nodes[i + nameAt]!]}` : type;
    if (raw.startsWith("object:system /")) continue; // V8's own structures (contexts, shapes, feedback cells)
    // One string per kind for the whole process, so that the counts kept by the caller are not counted as growth.
    let key = kinds.get(raw);
    if (key === undefined) kinds.set(raw, (key = raw));
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

const kinds = new Map<string, string>();
const COUNTED = new Set([
  "object",
  "closure",
  "array",
  "regexp",
  "string",
  "concatenated string",
  "sliced string",
  "bigint",
]);

interface HeapSnapshotJson {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Objects of `after` not in `before`, per kind (kinds that grew only), largest growth first. */
export function grownObjects(before: Map<string, number>, after: Map<string, number>): [string, number][] {
  const out: [string, number][] = [];
  for (const [k, n] of after) {
    const d = n - (before.get(k) ?? 0);
    if (d > 0) out.push([k, d]);
  }
  return out.sort((a, b) => b[1] - a[1]);
}
