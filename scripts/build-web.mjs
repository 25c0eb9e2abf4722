// Browser build: bundles the package's browser entry (src/browser.ts) into web/dist/moqt.js and the demo app
// (web/src/demo.ts + web/*.html, web/*.css) into web/dist/. ESM, platform "browser".
//
// The bundle must stay free of Node: the build fails if any input is the native addon (native/, *.node), a
// Node-only module of the library (src/server/, src/transport/native/, src/client/node_connector.ts), or if the
// output imports anything at all (a Node built-in would be left as an external import). Both come from esbuild's
// metafile, so nothing slips in through a re-export or a transitive import.
//
// Usage: node scripts/build-web.mjs [--outdir DIR] [--minify]
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const outIdx = args.indexOf("--outdir");
const outdir = resolve(outIdx >= 0 && args[outIdx + 1] ? args[outIdx + 1] : join(root, "web/dist"));
const minify = args.includes("--minify");

/** Inputs that must never be part of a browser bundle. */
const FORBIDDEN_INPUTS = [
  /(^|\/)native\//,
  /\.node$/,
  /(^|\/)src\/server\//,
  /(^|\/)src\/transport\/native\//,
  /(^|\/)src\/client\/node_connector\.ts$/,
  /(^|\/)src\/index\.ts$/,
];
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

function check(metafile, label) {
  const problems = [];
  for (const input of Object.keys(metafile.inputs)) {
    if (builtins.has(input) || input.startsWith("node:")) problems.push(`Node built-in ${input}`);
    if (FORBIDDEN_INPUTS.some((re) => re.test(input))) problems.push(`Node-only input ${input}`);
  }
  for (const [out, info] of Object.entries(metafile.outputs)) {
    for (const imp of info.imports) {
      // Chunks of this build importing each other are fine; anything external is not.
      if (imp.external || builtins.has(imp.path) || imp.path.startsWith("node:"))
        problems.push(`${out} imports ${imp.path}${imp.external ? " (external)" : ""}`);
    }
  }
  if (problems.length) {
    console.error(`build-web: ${label} is not browser-clean:\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
}

const common = {
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["chrome120", "firefox120", "safari17"],
  sourcemap: true,
  metafile: true,
  minify,
  logLevel: "warning",
  absWorkingDir: root,
  // Resolving the package's own "browser" condition, never "node".
  conditions: ["browser"],
  // Left external (instead of esbuild's resolve error) so the metafile check below names every offender at once.
  external: [...builtins],
};

mkdirSync(outdir, { recursive: true });

const lib = await build({
  ...common,
  entryPoints: { moqt: "src/browser.ts" },
  outdir,
});
check(lib.metafile, "moqt.js");

const demo = await build({
  ...common,
  entryPoints: { demo: "web/src/demo.ts" },
  outdir,
});
check(demo.metafile, "demo.js");

for (const name of readdirSync(join(root, "web")))
  if (name.endsWith(".html") || name.endsWith(".css"))
    copyFileSync(join(root, "web", name), join(outdir, name));

console.error(`build-web: wrote ${outdir}`);
