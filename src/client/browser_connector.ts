/** Browser connector for Client: the platform's native WebTransport (raw QUIC is not available in browsers).
 *  @module @internal */
import type { Connector } from "./client.js";
import { fromWebTransport } from "../transport/webtransport.js";
import type { WebTransportLike } from "../transport/webtransport_like.js";

type WebTransportCtor = new (
  url: string,
  options?: { serverCertificateHashes?: { algorithm: string; value: BufferSource }[] },
) => WebTransportLike;

export const browserConnector: Connector = async (url, alpn, tls) => {
  if (alpn !== "h3")
    throw new TypeError("moqt: raw QUIC (moqt://) is not available in browsers; use https://");
  const WT = (globalThis as { WebTransport?: WebTransportCtor }).WebTransport;
  if (!WT) throw new Error("moqt: this browser has no WebTransport");
  const hashes = tls.serverCertificateHashes?.map((value) => ({
    algorithm: "sha-256",
    value: value as BufferSource,
  }));
  const wt = new WT(url.href, hashes ? { serverCertificateHashes: hashes } : {});
  await wt.ready;
  return fromWebTransport(wt, "h3");
};
