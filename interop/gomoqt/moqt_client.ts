/** Interop client: plays gomoqt's interop client sequence (gomoqt.md §4.8) with moqt, against gomoqt's server.
 *
 *  Usage: tsx interop/gomoqt/moqt_client.ts --url https://localhost:PORT/ | moqt://localhost:PORT/
 *  Trusts the CA in MOQT_INTEROP_CA_FILE. Prints the same step lines as gomoqt's client; exits 1 on any failure.
 *  @module */
import { readFileSync } from "node:fs";
import * as moqt from "../../src/index.js";

const args = process.argv.slice(2);
const url = args[args.indexOf("--url") + 1];
if (!url || args.indexOf("--url") < 0) {
  console.error("usage: moqt_client.ts --url URL");
  process.exit(2);
}
const caFile = process.env.MOQT_INTEROP_CA_FILE;
const dec = new TextDecoder();

async function step<T>(label: string, p: Promise<T>, ms = 5000): Promise<T> {
  process.stdout.write(`${label}...`);
  try {
    const v = await Promise.race([
      p,
      new Promise<never>((_, rej) =>
        setTimeout(() => rej(new Error(`timed out after ${ms} ms`)), ms).unref(),
      ),
    ]);
    return v;
  } catch (e) {
    console.log("...failed");
    console.error(`Error: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
}

const mux = new moqt.TrackMux();
const client = new moqt.Client({
  config: { setupTimeout: 10000 },
  tls: caFile ? { ca: readFileSync(caFile, "utf8") } : {},
});
const session = await step("Connecting to server", client.dial(url, mux), 10000);
console.log("...ok");

const ar = await step("Accepting announcements", session.acceptAnnounce("/"));
const ann = await step("Receiving an announcement", ar.receiveAnnouncement());
console.log("...ok");
console.log(`Discovered broadcast: ${ann.broadcastPath}`);

const tr = await step("Subscribing to the server's track", session.subscribe(ann.broadcastPath, ""));
console.log("...ok");
const group = await step("Accepting a group", tr.acceptGroup());
const frame = await step("Reading the first frame from server", group.readFrame());
if (!frame) {
  console.log("...failed");
  console.error("Error: group ended without a frame");
  process.exit(1);
}
console.log(`...ok (payload: ${dec.decode(frame.body())})`);

let served!: () => void;
const handled = new Promise<void>((r) => (served = r));
mux.publishFunc(session.signal, "/interop/client", async (tw) => {
  const g = await tw.openGroup();
  await g.writeFrame(new TextEncoder().encode("HELLO"));
  await g.close();
  served();
});
await step("Writing frame to server", handled);
console.log("...ok");

// The server closes the session once it has read our frame.
const closed = await Promise.race([
  session.closed.then(() => true),
  new Promise<boolean>((r) => setTimeout(() => r(false), 5000).unref()),
]);
if (!closed) await session.closeWithError(moqt.SessionErrorCode.NoError, "done");
console.log("Closing session...ok");
process.exit(0);
