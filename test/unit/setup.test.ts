/** Session setup over the in-memory transport pair; the same cases run over raw QUIC and WebTransport in
 *  test/integration/api_native.test.ts. The cases live in ./cases/setup.ts. */
import { register } from "./cases/setup.js";
import { memory } from "./helpers.js";

register(memory);
