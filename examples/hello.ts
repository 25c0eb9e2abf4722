/** hello: a runnable example — a publisher and a subscriber of one track, end to end through the public API.
 *
 *  Runs a server session and a client session over the in-memory transport pair, announces `/hello`, subscribes to
 *  its `greetings` track and prints each frame.
 *  @module */
import * as moqt from "../src/index.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

const mux = new moqt.TrackMux();
mux.publishFunc(undefined, "/hello", async (tw) => {
  for (let i = 0; i < 5; i++) {
    const group = await tw.openGroup();
    await group.writeFrame(enc.encode(`hello #${i} from ${tw.broadcastPath} ${tw.trackName}`));
    await group.close();
  }
});

const [clientEnd, serverEnd] = moqt.newMemoryTransportPair();
const [server, client] = await Promise.all([
  moqt.acceptTransport(serverEnd, { mux }),
  moqt.dialTransport(clientEnd, { path: "/" }),
]);
console.log(`session up: version 0x${client.version.toString(16)}`);

const announcements = await client.acceptAnnounce("/");
const ann = await announcements.receiveAnnouncement();
console.log(`discovered ${ann.broadcastPath}`);

const track = await client.subscribe(ann.broadcastPath, "greetings");
for await (const group of track) {
  for await (const frame of group.frames())
    console.log(`group ${group.groupSequence}: ${dec.decode(frame.body())}`);
}
await client.closeWithError(moqt.SessionErrorCode.NoError, "done");
await server.closed;
console.log("closed");
