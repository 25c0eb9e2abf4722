/** Node connector for Client: the native addon (WebTransport over HTTP/3, or raw QUIC with ALPN moq-00).
 *  @module @internal */
import type { Connector } from "./client.js";
import { connectNative } from "../transport/native/index.js";

const dec = new TextDecoder();

export const nodeConnector: Connector = async (url, alpn, tls, liveness = {}) => {
  const port = url.port || "443";
  const target = alpn === "h3" ? url.href : `https://${url.hostname}:${port}/`;
  return connectNative(target, {
    alpn,
    ...(tls.ca !== undefined ? { ca: typeof tls.ca === "string" ? tls.ca : dec.decode(tls.ca) } : {}),
    ...(tls.serverCertificateHashes ? { certHashes: tls.serverCertificateHashes } : {}),
    ...(tls.insecureSkipVerify ? { insecure: true } : {}),
    ...liveness,
  });
};
