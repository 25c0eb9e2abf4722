#!/usr/bin/env node
// moqt command launcher: runs the built CLI (dist/cli/main.js), or the TypeScript source through tsx when the package
// has not been built (a checkout before `npm run build`).
import { existsSync } from "node:fs";
import { spawn } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const built = join(root, "dist", "cli", "main.js");
if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  const src = join(root, "src", "cli", "main.ts");
  let tsx;
  try {
    tsx = import.meta.resolve("tsx");
  } catch {
    console.error("moqt: dist/cli/main.js is missing and tsx is not installed: run `npm run build`");
    process.exit(1);
  }
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
