// Test launcher: finds *.test.ts files for the chosen suites and runs them with node:test (via tsx).
// Usage: node scripts/test.mjs [unit|integration|interop|browser ...]   (no argument: every suite)
import { spawnSync } from "node:child_process";
import { readdirSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";

const SUITES = {
  unit: ["src", "test/unit"],
  integration: ["test/integration"],
  interop: ["test/interop"],
  browser: ["test/browser"],
};

function find(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const names = wanted.length ? wanted : Object.keys(SUITES);
const files = [];
for (const n of names) {
  if (!SUITES[n]) {
    console.error(`unknown suite ${n}; known: ${Object.keys(SUITES).join(", ")}`);
    process.exit(2);
  }
  for (const d of SUITES[n]) find(d, files);
}
if (files.length === 0) {
  console.error("no test files found");
  process.exit(1);
}
files.sort();
const conc = process.env.TEST_CONCURRENCY ?? "2";
const r = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", `--test-concurrency=${conc}`, "--test-reporter=spec", ...files],
  { stdio: "inherit" },
);
process.exit(r.status ?? 1);
