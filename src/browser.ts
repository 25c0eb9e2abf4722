/** moqt browser entry: the platform-neutral core, with Client over the browser's native WebTransport.
 *
 *  No Node or native imports. `Server` exists so imports type-check, but throws: browsers cannot accept QUIC.
 *  @module */
import { setConnector } from "./client/client.js";
import { browserConnector } from "./client/browser_connector.js";

setConnector(browserConnector);

export * from "./core.js";

export class Server {
  constructor() {
    throw new Error("moqt: Server needs Node (the native QUIC/WebTransport addon); browsers can only dial");
  }
}
