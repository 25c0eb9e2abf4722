/** Interop server: plays gomoqt's interop server sequence (gomoqt.md §4.8) with moqt, for gomoqt's client.
 *
 *  Usage: tsx interop/gomoqt/moqt_server.ts --addr 127.0.0.1:PORT --cert leaf.pem --key leaf-key.pem
 *  Serves WebTransport (h3) and raw QUIC (moq-00) on one port, route "/". Prints "listening" once bound and the same
 *  step lines as gomoqt's server; exits after the first session.
 *  @module */
import { readFileSync } from "node:fs";
import * as moqt from "../../src/index.js";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const addr = arg("--addr") ?? "127.0.0.1:9000";
const cert = arg("--cert");
const key = arg("--key");
const dec = new TextDecoder();

function within<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`timed out after ${ms} ms`)), ms).unref()),
  ]);
}

async function runSession(session: moqt.Session, served: Promise<void>): Promise<void> {
  try {
    await within(served, 5000);
    console.log("Writing frame to client...ok");
    const ar = await within(session.acceptAnnounce("/"), 5000);
    const ann = await within(ar.receiveAnnouncement(), 5000);
    console.log(`Discovered broadcast: ${ann.broadcastPath}`);
    const tr = await within(session.subscribe(ann.broadcastPath, ""), 5000);
    const g = await within(tr.acceptGroup(), 5000);
    const f = await within(g.readFrame(), 5000);
    if (!f) throw new Error("group ended without a frame");
    console.log(`Reading the first frame from client...ok (payload: ${dec.decode(f.body())})`);
    await session.closeWithError(moqt.SessionErrorCode.NoError, "done");
    console.log("Closing session...ok");
  } catch (e) {
    console.log(`Interop step...failed: ${e instanceof Error ? e.message : String(e)}`);
    await session.closeWithError(moqt.SessionErrorCode.Internal, "interop failed");
  }
}

let done!: () => void;
const finished = new Promise<void>((r) => (done = r));
const router = new moqt.SetupRouter();
router.handleFunc("/", async (w, r) => {
  const mux = new moqt.TrackMux();
  let served!: () => void;
  const servedP = new Promise<void>((res) => (served = res));
  mux.publishFunc(undefined, "/interop/server", async (tw) => {
    console.log(`Serving a track: ${tw.broadcastPath},`);
    const g = await tw.openGroup();
    await g.writeFrame(new TextEncoder().encode("HELLO"));
    await g.close();
    served();
  });
  const session = await moqt.accept(w, r, mux);
  console.log("Setting up session...ok");
  void runSession(session, servedP).then(done);
});

const server = new moqt.Server({
  addr,
  ...(cert && key ? { cert: readFileSync(cert, "utf8"), key: readFileSync(key, "utf8") } : {}),
  setupHandler: router,
  onError: (e) => console.error(`setup error: ${e instanceof Error ? e.message : String(e)}`),
});
server.listen();
console.log(`listening on ${addr} (port ${server.port})`);
await finished;
await server.close();
process.exit(0);
