/** Summarise a V8 .cpuprofile (from `node --cpu-prof`): self time per function, top N.
 *  Run: `npx tsx bench/prof_top.ts FILE.cpuprofile [N]`.
 *  @module */
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
const file = process.argv[2]!;
const top = Number(process.argv[3] ?? 30);
const prof = JSON.parse(readFileSync(file, "utf8")) as { nodes: Node[]; samples: number[] };
const counts = new Map<number, number>();
for (const s of prof.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
const self = new Map<string, number>();
for (const n of prof.nodes) {
  const c = counts.get(n.id) ?? 0;
  if (!c) continue;
  const url = n.callFrame.url.replace(/^.*\/work\/main\//, "").replace(/^file:\/\//, "");
  const key = `${n.callFrame.functionName || "(anon)"} ${url}:${n.callFrame.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + c);
}
const total = prof.samples.length;
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
