// npm "prepare" hook (runs on `npm install` / `npm ci` in a checkout): builds the native addon when its Rust
// sources are newer than the built .node, then the TypeScript package. Set MOQT_SKIP_NATIVE=1 to skip the addon.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function newest(dir) {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newest(p) : s.mtimeMs);
  }
  return t;
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: "inherit", shell: false });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const addon = "native/index.node";
if (process.env.MOQT_SKIP_NATIVE !== "1" && existsSync("native/Cargo.toml")) {
  const src = Math.max(
    newest("native/src"),
    statSync("native/Cargo.toml").mtimeMs,
    statSync("native/Cargo.lock").mtimeMs,
  );
  if (!existsSync(addon) || statSync(addon).mtimeMs < src) {
    console.error("moqt: building the native QUIC/WebTransport addon (cargo, release)…");
    run("npm", ["run", "build:native"]);
  }
}
run("npm", ["run", "build"]);
