//! Endpoints: a server on one UDP port that dispatches by ALPN (h3 → WebTransport over our HTTP/3 layer, `h3.rs`;
//! anything else → raw QUIC), and client connect for both.
//!
//! Handshakes run concurrently in their own tasks and queue finished ones on a bounded channel (no unbounded
//! buffering when JS accepts slowly). Teardown rule (lib.rs): futures own clones.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use tokio::sync::mpsc;

use crate::counters::{Count, Gauge};
use crate::fast::{now_or_promise, NowOr};
use crate::h3::{self, SettingsMode, H3};
use crate::session::{closed_err, NativeSession};
use crate::tls::{self, ALPN_H3, ALPN_MOQ};
use crate::wt::Session;

const DEFAULT_MAX_STREAMS: u32 = 1024;
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Server socket receive buffer asked for (the kernel caps it at net.core.rmem_max): a burst of connection attempts
/// (each Initial is ≥ 1200 bytes) overflowed the default ~208 KiB, and every dropped Initial costs its client a
/// one-second retransmission timeout.
const SERVER_RECV_BUFFER: usize = 4 << 20;

/// The server's UDP socket, bound to `addr` with a large receive buffer (best effort).
fn server_socket(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    let _ = socket.set_recv_buffer_size(SERVER_RECV_BUFFER);
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

#[napi(object)]
pub struct ListenOptions {
    /// Address to bind, default "::" (dual-stack where the OS allows it).
    pub host: Option<String>,
    /// UDP port, 0 (default) picks a free one.
    pub port: Option<u32>,
    pub cert_pem: String,
    pub key_pem: String,
    /// Raw QUIC ALPNs accepted besides "h3"; default ["moq-00"].
    pub alpns: Option<Vec<String>>,
    /// Concurrent bidi and uni streams the peer may open (each), default 1024.
    pub max_streams: Option<u32>,
    /// Close a connection after this many ms without a packet from the peer (0: no limit of ours); default 30000.
    pub idle_timeout_ms: Option<u32>,
    /// Send a PING after this many ms of silence (0: never); default 10000, at most a third of the idle timeout.
    pub keep_alive_ms: Option<u32>,
}

enum Pending {
    Raw(quinn::Connection),
    /// An HTTP/3 connection with its (unanswered) CONNECT request.
    Web(Arc<H3>, h3::Request),
}

/// A handshaken connection waiting for the application's decision (`accept` / `reject`).
#[napi]
pub struct NativeIncoming {
    /// The connection until decided; the count (`incoming`) goes with it.
    pending: Arc<Mutex<Option<(Pending, Count)>>>,
    protocol: String,
    url: String,
    path: String,
    origin: Option<String>,
    protocols: Vec<String>,
    remote: String,
}

fn negotiated_alpn(conn: &quinn::Connection) -> Option<String> {
    let data = conn.handshake_data()?;
    let data = data.downcast::<quinn::crypto::rustls::HandshakeData>().ok()?;
    String::from_utf8(data.protocol?).ok()
}

/// The HTTP/3 handshake of a server connection: our SETTINGS out, the first CONNECT request in.
async fn h3_handshake(conn: quinn::Connection) -> std::result::Result<(Arc<H3>, h3::Request), String> {
    let (h3, mut requests) = H3::start(conn, true, SettingsMode::Full).await?;
    // Later requests on this connection are refused once `requests` is dropped (one session per connection).
    let req = requests.recv().await.ok_or("connection ended before a CONNECT request")?;
    Ok((h3, req))
}

async fn handshake(incoming: quinn::Incoming) -> Option<NativeIncoming> {
    let _handshaking = Count::new(Gauge::Handshakes);
    let conn = incoming.await.ok()?;
    let remote = conn.remote_address().to_string();
    let alpn = negotiated_alpn(&conn)?;
    if alpn == ALPN_H3 {
        let (h3, req) = match tokio::time::timeout(HANDSHAKE_TIMEOUT, h3_handshake(conn.clone())).await {
            Ok(Ok(r)) => r,
            _ => {
                conn.close(h3::H3_NO_ERROR.into(), b"webtransport handshake failed");
                return None;
            }
        };
        let url = req.request.url.to_string();
        let path = req.request.url.path().to_string();
        let origin = req.request.headers.get("origin").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let protocols = req.request.protocols.clone();
        Some(NativeIncoming {
            pending: Arc::new(Mutex::new(Some((Pending::Web(h3, req), Count::new(Gauge::Incoming))))),
            protocol: alpn,
            url,
            path,
            origin,
            protocols,
            remote,
        })
    } else {
        Some(NativeIncoming {
            pending: Arc::new(Mutex::new(Some((Pending::Raw(conn), Count::new(Gauge::Incoming))))),
            protocol: alpn,
            url: String::new(),
            path: String::new(),
            origin: None,
            protocols: Vec::new(),
            remote,
        })
    }
}

#[napi]
impl NativeIncoming {
    /// "h3" (WebTransport) or the raw QUIC ALPN.
    #[napi(getter)]
    pub fn protocol(&self) -> String {
        self.protocol.clone()
    }
    #[napi(getter)]
    pub fn url(&self) -> String {
        self.url.clone()
    }
    #[napi(getter)]
    pub fn path(&self) -> String {
        self.path.clone()
    }
    #[napi(getter)]
    pub fn origin(&self) -> Option<String> {
        self.origin.clone()
    }
    /// WebTransport subprotocols offered by the client (wt-available-protocols).
    #[napi(getter)]
    pub fn protocols(&self) -> Vec<String> {
        self.protocols.clone()
    }
    #[napi(getter)]
    pub fn remote_address(&self) -> String {
        self.remote.clone()
    }

    /// Accept: WebTransport answers 200 (with `subprotocol` when given). Synchronous when that completes at once
    /// (raw QUIC always; WebTransport when the answer fits the stream's credit), else a Promise. Throws / rejects
    /// when already decided or the handshake failed.
    #[napi(ts_return_type = "NativeSession | Promise<NativeSession>")]
    pub fn accept<'env>(&self, env: &'env Env, subprotocol: Option<String>) -> Result<NowOr<'env, NativeSession>> {
        let pending = self.pending.lock().ok().and_then(|mut g| g.take()).map(|(p, _decided)| p);
        let (url, path, origin) = (self.url.clone(), self.path.clone(), self.origin.clone());
        let protocol = self.protocol.clone();
        now_or_promise(env, async move {
            let session = match pending {
                None => return Err(Error::new(Status::GenericFailure, "EDECIDED: already accepted or rejected")),
                Some(Pending::Raw(conn)) => Session::raw(conn),
                Some(Pending::Web(h3, mut req)) => {
                    if let Some(p) = &subprotocol {
                        if !req.request.protocols.contains(p) {
                            return Err(closed_err(format!("subprotocol {p:?} was not offered by the client")));
                        }
                    }
                    h3::respond(&mut req.send, 200, subprotocol.clone()).await.map_err(closed_err)?;
                    Session::web(h3, req.send, req.recv, subprotocol)
                }
            };
            Ok(NativeSession::new(session, protocol, url, path, origin, None))
        })
    }

    /// Reject: WebTransport answers `status` (e.g. 403, 404); raw QUIC closes the connection with `status` as code.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn reject<'env>(&self, env: &'env Env, status: u32) -> Result<PromiseRaw<'env, ()>> {
        let pending = self.pending.lock().ok().and_then(|mut g| g.take()).map(|(p, _decided)| p);
        env.spawn_future(async move {
            match pending {
                None => {}
                Some(Pending::Raw(conn)) => conn.close(status.into(), b"rejected"),
                Some(Pending::Web(h3, mut req)) => {
                    let status = if (400..600).contains(&status) { status as u16 } else { 403 };
                    if h3::respond(&mut req.send, status, None).await.is_ok() {
                        let _ = req.send.finish();
                    }
                    // Let the response reach the peer before the connection goes.
                    let _ = tokio::time::timeout(Duration::from_secs(1), h3.conn.closed()).await;
                    h3.conn.close(h3::H3_NO_ERROR.into(), b"rejected");
                }
            }
            Ok(())
        })
    }
}

#[napi]
pub struct NativeServer {
    endpoint: quinn::Endpoint,
    rx: Arc<tokio::sync::Mutex<mpsc::Receiver<NativeIncoming>>>,
    addr: SocketAddr,
    _count: Count,
}

#[napi]
impl NativeServer {
    /// Bind one UDP socket serving WebTransport (ALPN h3) and raw QUIC (ALPN moq-00 by default).
    #[napi(factory)]
    pub fn listen(opts: ListenOptions) -> Result<NativeServer> {
        let host = opts.host.unwrap_or_else(|| "::".into());
        let port = opts.port.unwrap_or(0);
        if port > 65535 {
            return Err(Error::new(Status::InvalidArg, "port out of range"));
        }
        let addr = (host.as_str(), port as u16)
            .to_socket_addrs()
            .map_err(|e| Error::new(Status::InvalidArg, format!("bad host: {e}")))?
            .next()
            .ok_or_else(|| Error::new(Status::InvalidArg, "bad host"))?;
        let mut alpns = vec![ALPN_H3.to_string()];
        alpns.extend(opts.alpns.unwrap_or_else(|| vec![ALPN_MOQ.to_string()]));
        let live = tls::Liveness::from_options(opts.idle_timeout_ms, opts.keep_alive_ms)?;
        let max_streams = opts.max_streams.unwrap_or(DEFAULT_MAX_STREAMS);
        let config = tls::server_config(&opts.cert_pem, &opts.key_pem, &alpns, max_streams, live)?;
        let (tx, rx) = mpsc::channel::<NativeIncoming>(64);
        napi::bindgen_prelude::within_runtime_if_available(move || {
            let bind_err = |e: std::io::Error| Error::new(Status::GenericFailure, format!("EBIND: {e}"));
            let runtime = quinn::default_runtime().ok_or_else(|| bind_err(std::io::Error::other("no async runtime")))?;
            let socket = server_socket(addr).map_err(bind_err)?;
            let endpoint = quinn::Endpoint::new(quinn::EndpointConfig::default(), Some(config), socket, runtime)
                .map_err(bind_err)?;
            let addr = endpoint.local_addr().map_err(|e| Error::new(Status::GenericFailure, e.to_string()))?;
            let ep = endpoint.clone();
            napi::bindgen_prelude::spawn(async move {
                while let Some(incoming) = ep.accept().await {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        if let Some(inc) = handshake(incoming).await {
                            let _ = tx.send(inc).await;
                        }
                    });
                }
            });
            Ok(NativeServer { endpoint, rx: Arc::new(tokio::sync::Mutex::new(rx)), addr, _count: Count::new(Gauge::Endpoints) })
        })
    }

    #[napi(getter)]
    pub fn port(&self) -> u32 {
        self.addr.port() as u32
    }

    #[napi(getter)]
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Next handshaken connection (synchronously when one is queued), or `null` once the server is closed.
    #[napi(ts_return_type = "NativeIncoming | null | Promise<NativeIncoming | null>")]
    pub fn accept<'env>(&self, env: &'env Env) -> Result<NowOr<'env, Option<NativeIncoming>>> {
        let rx = self.rx.clone();
        now_or_promise(env, async move { Ok(rx.lock().await.recv().await) })
    }

    /// Stop accepting and close every connection with `code` and `reason`. Pending `accept()`s resolve `null`.
    #[napi]
    pub fn close(&self, code: Option<u32>, reason: Option<String>) {
        let endpoint = self.endpoint.clone();
        let reason = reason.unwrap_or_default();
        napi::bindgen_prelude::within_runtime_if_available(move || {
            endpoint.close(code.unwrap_or(0).into(), reason.as_bytes());
        });
        // Drain queued, undecided connections so `accept()` ends.
        if let Ok(mut rx) = self.rx.try_lock() {
            rx.close();
        }
    }
}

#[napi(object)]
pub struct ConnectOptions {
    /// "h3" (default for https URLs) → WebTransport; anything else → raw QUIC with that ALPN (e.g. "moq-00").
    pub alpn: Option<String>,
    /// Trust anchors in PEM (instead of the system roots).
    pub ca_pem: Option<String>,
    /// Accept a server certificate whose DER SHA-256 is one of these (like `serverCertificateHashes`).
    pub cert_hashes: Option<Vec<Buffer>>,
    /// Skip certificate verification (tests only).
    pub insecure: Option<bool>,
    /// WebTransport subprotocols to offer.
    pub protocols: Option<Vec<String>>,
    pub max_streams: Option<u32>,
    /// WebTransport: an Origin header to send (none by default: a non-browser client).
    pub origin: Option<String>,
    /// WebTransport: "full" (default) or "minimal" — only H3_DATAGRAM in our SETTINGS, like webtransport-go's
    /// client (a test mode for server leniency).
    pub h3_settings: Option<String>,
    /// Close the connection after this many ms without a packet from the peer (0: no limit of ours); default 30000.
    pub idle_timeout_ms: Option<u32>,
    /// Send a PING after this many ms of silence (0: never); default 10000, at most a third of the idle timeout.
    pub keep_alive_ms: Option<u32>,
}

fn conn_err(e: impl std::fmt::Display) -> Error {
    Error::new(Status::GenericFailure, format!("ECONNECT: {e}"))
}

/// Connect to `url` (`https://host:port/path`; for raw QUIC the scheme is ignored and only host:port are used).
#[napi(ts_return_type = "Promise<NativeSession>")]
pub fn connect<'env>(env: &'env Env, url: String, opts: Option<ConnectOptions>) -> Result<PromiseRaw<'env, NativeSession>> {
    let opts = opts.unwrap_or(ConnectOptions {
        alpn: None,
        ca_pem: None,
        cert_hashes: None,
        insecure: None,
        protocols: None,
        max_streams: None,
        origin: None,
        h3_settings: None,
        idle_timeout_ms: None,
        keep_alive_ms: None,
    });
    let parsed = url::Url::parse(&url).map_err(|e| Error::new(Status::InvalidArg, format!("bad url: {e}")))?;
    let alpn = opts.alpn.clone().unwrap_or_else(|| ALPN_H3.to_string());
    let tls_opts = tls::ClientTls {
        ca_pem: opts.ca_pem.clone(),
        cert_hashes: opts.cert_hashes.as_ref().map(|v| v.iter().map(|b| b.to_vec()).collect()).unwrap_or_default(),
        insecure: opts.insecure.unwrap_or(false),
    };
    let live = tls::Liveness::from_options(opts.idle_timeout_ms, opts.keep_alive_ms)?;
    let config = tls::client_config(&alpn, &tls_opts, opts.max_streams.unwrap_or(DEFAULT_MAX_STREAMS), live)?;
    let protocols = opts.protocols.clone().unwrap_or_default();
    let origin = opts.origin.clone();
    let mode = match opts.h3_settings.as_deref() {
        None | Some("full") => SettingsMode::Full,
        Some("minimal") => SettingsMode::Minimal,
        Some(o) => return Err(Error::new(Status::InvalidArg, format!("h3Settings must be \"full\" or \"minimal\", got {o:?}"))),
    };
    env.spawn_future(async move {
        let host = parsed.host_str().ok_or_else(|| conn_err("url has no host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let port = parsed.port_or_known_default().unwrap_or(443);
        let remote = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(conn_err)?
            .next()
            .ok_or_else(|| conn_err("host did not resolve"))?;
        let bind: SocketAddr = if remote.is_ipv6() { "[::]:0".parse().unwrap() } else { "0.0.0.0:0".parse().unwrap() };
        let endpoint = quinn::Endpoint::client(bind).map_err(conn_err)?;
        let connecting = endpoint.connect_with(config, remote, &host).map_err(conn_err)?;
        let conn = connecting.await.map_err(|e| conn_err(tls_opts.explain(&e)))?;
        if alpn == ALPN_H3 {
            let attempt = async {
                let (h3, _requests) = H3::start(conn.clone(), false, mode).await?;
                let (send, recv, resp) = h3.request(parsed.clone(), protocols, origin.clone()).await?;
                Ok::<_, String>(Session::web(h3, send, recv, resp.protocol))
            };
            let session = match tokio::time::timeout(HANDSHAKE_TIMEOUT, attempt).await {
                Ok(Ok(s)) => s,
                failed => {
                    conn.close(h3::H3_NO_ERROR.into(), b"");
                    return Err(match failed {
                        Ok(Err(e)) => conn_err(e),
                        _ => conn_err("webtransport handshake timed out"),
                    });
                }
            };
            let path = parsed.path().to_string();
            Ok(NativeSession::new(session, alpn, parsed.to_string(), path, origin, Some(endpoint)))
        } else {
            let session = Session::raw(conn);
            Ok(NativeSession::new(session, alpn, String::new(), String::new(), None, Some(endpoint)))
        }
    })
}
