//! One established session: raw QUIC (ALPN moq-00) or WebTransport over HTTP/3, behind web-transport-quinn's
//! `Session`. Streams, datagrams, close with code + reason, the close info of whoever closed, and stats.
//!
//! Transport only. Close info and stream outcomes are values. Teardown rule (lib.rs): futures own clones.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use web_transport_quinn::{SessionError, WebTransportError};

use crate::fast::{now_or_promise, NowOr};
use crate::stream::{NativeRecvStream, NativeSendStream};

#[napi(object)]
pub struct CloseInfo {
    pub code: u32,
    pub reason: String,
    /// True when the peer closed (or reset) the connection; false when we did or the stack gave up (idle timeout).
    pub remote: bool,
}

/// Connection statistics. `bandwidthBps` is cwnd / smoothed RTT, in bits per second.
#[napi(object)]
pub struct NativeStats {
    pub rtt_ms: f64,
    pub min_rtt_ms: f64,
    pub cwnd_bytes: f64,
    pub bytes_sent: f64,
    pub bytes_received: f64,
    pub bytes_lost: f64,
    pub packets_sent: f64,
    pub packets_lost: f64,
    pub bandwidth_bps: f64,
    pub mtu: u32,
}

pub struct SessionShared {
    session: web_transport_quinn::Session,
    local_close: Mutex<Option<(u32, String)>>,
    // Keeps a client endpoint (its UDP socket) alive as long as the session.
    _endpoint: Option<quinn::Endpoint>,
}

#[napi]
pub struct NativeSession {
    inner: Arc<SessionShared>,
    protocol: String,
    url: String,
    path: String,
    origin: Option<String>,
}

impl NativeSession {
    pub fn new(
        session: web_transport_quinn::Session,
        protocol: String,
        url: String,
        path: String,
        origin: Option<String>,
        endpoint: Option<quinn::Endpoint>,
    ) -> Self {
        Self {
            inner: Arc::new(SessionShared { session, local_close: Mutex::new(None), _endpoint: endpoint }),
            protocol,
            url,
            path,
            origin,
        }
    }
}

fn open_err(e: SessionError) -> Error {
    Error::new(Status::GenericFailure, format!("ECLOSED: {e}"))
}

fn close_info(shared: &SessionShared, err: SessionError) -> CloseInfo {
    if let Some((code, reason)) = shared.local_close.lock().ok().and_then(|g| g.clone()) {
        return CloseInfo { code, reason, remote: false };
    }
    use quinn::ConnectionError as C;
    match err {
        SessionError::WebTransportError(WebTransportError::Closed(code, reason)) => {
            CloseInfo { code, reason, remote: true }
        }
        SessionError::ConnectionError(C::ApplicationClosed(a)) => CloseInfo {
            code: u32::try_from(a.error_code.into_inner()).unwrap_or(u32::MAX),
            reason: String::from_utf8_lossy(&a.reason).into_owned(),
            remote: true,
        },
        SessionError::ConnectionError(C::ConnectionClosed(c)) => CloseInfo {
            code: u32::try_from(u64::from(c.error_code)).unwrap_or(u32::MAX),
            reason: format!("transport: {}", String::from_utf8_lossy(&c.reason)),
            remote: true,
        },
        SessionError::ConnectionError(C::Reset) => CloseInfo { code: 0, reason: "stateless reset".into(), remote: true },
        SessionError::ConnectionError(C::TimedOut) => CloseInfo { code: 0, reason: "idle timeout".into(), remote: false },
        SessionError::ConnectionError(C::LocallyClosed) => CloseInfo { code: 0, reason: String::new(), remote: false },
        e => CloseInfo { code: 0, reason: e.to_string(), remote: false },
    }
}

#[napi]
impl NativeSession {
    /// "h3" for WebTransport, otherwise the negotiated ALPN (e.g. "moq-00").
    #[napi(getter)]
    pub fn protocol(&self) -> String {
        self.protocol.clone()
    }

    /// WebTransport: the request URL; raw QUIC: empty.
    #[napi(getter)]
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// WebTransport: the request URL path; raw QUIC: empty.
    #[napi(getter)]
    pub fn path(&self) -> String {
        self.path.clone()
    }

    /// WebTransport: the request's Origin header, when sent.
    #[napi(getter)]
    pub fn origin(&self) -> Option<String> {
        self.origin.clone()
    }

    /// WebTransport: the subprotocol the server selected, when any.
    #[napi(getter)]
    pub fn subprotocol(&self) -> Option<String> {
        if self.protocol == crate::tls::ALPN_H3 {
            self.inner.session.protocol().map(str::to_owned)
        } else {
            None
        }
    }

    #[napi(getter)]
    pub fn remote_address(&self) -> String {
        self.inner.session.remote_address().to_string()
    }

    /// Open a bidi stream: synchronously when stream credit is available, else as a Promise.
    #[napi(ts_return_type = "[NativeSendStream, NativeRecvStream] | Promise<[NativeSendStream, NativeRecvStream]>")]
    pub fn open_bi<'env>(&self, env: &'env Env) -> Result<NowOr<'env, (NativeSendStream, NativeRecvStream)>> {
        let inner = self.inner.clone();
        now_or_promise(env, async move {
            let (s, r) = inner.session.open_bi().await.map_err(open_err)?;
            Ok((NativeSendStream::new(s), NativeRecvStream::new(r)))
        })
    }

    /// Open a uni stream: synchronously when stream credit is available, else as a Promise.
    #[napi(ts_return_type = "NativeSendStream | Promise<NativeSendStream>")]
    pub fn open_uni<'env>(&self, env: &'env Env) -> Result<NowOr<'env, NativeSendStream>> {
        let inner = self.inner.clone();
        now_or_promise(env, async move {
            let s = inner.session.open_uni().await.map_err(open_err)?;
            Ok(NativeSendStream::new(s))
        })
    }

    /// Next peer-opened bidi stream (synchronously when one is queued), or `null` once the session is closed.
    #[napi(ts_return_type = "[NativeSendStream, NativeRecvStream] | null | Promise<[NativeSendStream, NativeRecvStream] | null>")]
    pub fn accept_bi<'env>(
        &self,
        env: &'env Env,
    ) -> Result<NowOr<'env, Option<(NativeSendStream, NativeRecvStream)>>> {
        let inner = self.inner.clone();
        now_or_promise(env, async move {
            Ok(match inner.session.accept_bi().await {
                Ok((s, r)) => Some((NativeSendStream::new(s), NativeRecvStream::new(r))),
                Err(_) => None,
            })
        })
    }

    /// Next peer-opened uni stream (synchronously when one is queued), or `null` once the session is closed.
    #[napi(ts_return_type = "NativeRecvStream | null | Promise<NativeRecvStream | null>")]
    pub fn accept_uni<'env>(&self, env: &'env Env) -> Result<NowOr<'env, Option<NativeRecvStream>>> {
        let inner = self.inner.clone();
        now_or_promise(env, async move { Ok(inner.session.accept_uni().await.ok().map(NativeRecvStream::new)) })
    }

    /// Close with an application code and reason (WebTransport: CLOSE_WEBTRANSPORT_SESSION capsule, then the
    /// connection; raw QUIC: CONNECTION_CLOSE). Idempotent; the first close wins.
    #[napi]
    pub fn close(&self, code: u32, reason: String) {
        let already = self.inner.session.close_reason().is_some();
        if let Ok(mut g) = self.inner.local_close.lock() {
            if g.is_none() && !already {
                *g = Some((code, reason.clone()));
            }
        }
        let session = self.inner.session.clone();
        napi::bindgen_prelude::within_runtime_if_available(move || session.close(code, reason.as_bytes()));
    }

    /// Resolves once the session is closed, with who closed it and why. Never rejects.
    #[napi(ts_return_type = "Promise<CloseInfo>")]
    pub fn closed<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, CloseInfo>> {
        let inner = self.inner.clone();
        env.spawn_future(async move {
            let err = inner.session.closed().await;
            Ok(close_info(&inner, err))
        })
    }

    /// Send one datagram; false when it could not be queued (too large, unsupported, closed).
    #[napi]
    pub fn send_datagram(&self, data: Uint8ArraySlice) -> bool {
        let session = self.inner.session.clone();
        let bytes = Bytes::copy_from_slice(&data);
        napi::bindgen_prelude::within_runtime_if_available(move || session.send_datagram(bytes).is_ok())
    }

    /// Next datagram, or `null` once the session is closed.
    #[napi(ts_return_type = "Promise<Buffer | null>")]
    pub fn read_datagram<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Option<Buffer>>> {
        let inner = self.inner.clone();
        env.spawn_future(async move {
            Ok(inner.session.read_datagram().await.ok().map(|b| Buffer::from(Vec::<u8>::from(b))))
        })
    }

    #[napi]
    pub fn max_datagram_size(&self) -> u32 {
        self.inner.session.max_datagram_size() as u32
    }

    /// Snapshot of the connection statistics.
    #[napi]
    pub fn stats(&self) -> NativeStats {
        let conn: &quinn::Connection = &self.inner.session;
        let s = conn.stats();
        let rtt = s.path.rtt.as_secs_f64();
        NativeStats {
            rtt_ms: rtt * 1000.0,
            min_rtt_ms: s.path.min_rtt.as_secs_f64() * 1000.0,
            cwnd_bytes: s.path.cwnd as f64,
            bytes_sent: s.udp_tx.bytes as f64,
            bytes_received: s.udp_rx.bytes as f64,
            bytes_lost: s.path.lost_bytes as f64,
            packets_sent: s.path.sent_packets as f64,
            packets_lost: s.path.lost_packets as f64,
            bandwidth_bps: if rtt > 0.0 { s.path.cwnd as f64 * 8.0 / rtt } else { 0.0 },
            mtu: s.path.current_mtu as u32,
        }
    }
}
