#!/usr/bin/env node
// moqt command launcher: runs the built CLI (dist/cli/main.js). In a checkout where the TypeScript sources are newer
// than the build (or there is no build yet), it runs src/cli/main.ts through tsx instead, so `npx moqt` never runs a
// stale build.
import { existsSync, readdirSync, statSync } from "node:fs";
import { spawn } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const built = join(root, "dist", "cli", "main.js");
const src = join(root, "src", "cli", "main.ts");

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function tsxLoader() {
  try {
    return import.meta.resolve("tsx");
  } catch {
    return undefined;
  }
}

const hasSrc = existsSync(src);
const stale = existsSync(built) && hasSrc && newest(join(root, "src")) > statSync(built).mtimeMs;
const tsx = hasSrc && (!existsSync(built) || stale) ? tsxLoader() : undefined;

if (tsx === undefined) {
  if (!existsSync(built)) {
    console.error("moqt: dist/cli/main.js is missing and tsx is not installed: run `npm run build`");
    process.exit(1);
  }
  await import(pathToFileURL(built).href);
} else {
  // The source runs in a child Node with the tsx loader; signals are passed on and its exit status returned.
  const child = spawn(process.execPath, ["--import", tsx, src, ...process.argv.slice(2)], {
    stdio: "inherit",
  });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
  child.on("error", (e) => {
    console.error(`moqt: cannot run the TypeScript source: ${e.message}`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
