//! One established session: raw QUIC (ALPN moq-00) or WebTransport over HTTP/3, behind our `wt::Session`. Streams, datagrams, close with code + reason, the close info of whoever closed, and stats.
//!
//! Transport only. Close info and stream outcomes are values. Teardown rule (lib.rs): futures own clones.

use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::counters::{Count, Gauge};
use crate::wt::Session;

use crate::fast::{now_or_promise, NowOr};
use crate::stream::{NativeRecvStream, NativeSendStream};

#[napi(object)]
pub struct CloseInfo {
    pub code: u32,
    pub reason: String,
    /// True when the peer closed (or reset) the connection; false when we did or the stack gave up (idle timeout).
    pub remote: bool,
    /// Set when the connection ended without an application close: "idle-timeout", "stateless-reset",
    /// "transport-error". `code` then carries no application meaning.
    pub failure: Option<String>,
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
    session: Session,
    // Keeps a client endpoint (its UDP socket) alive as long as the session.
    _endpoint: Option<(quinn::Endpoint, Count)>,
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
        session: Session,
        protocol: String,
        url: String,
        path: String,
        origin: Option<String>,
        endpoint: Option<quinn::Endpoint>,
    ) -> Self {
        let endpoint = endpoint.map(|e| (e, Count::new(Gauge::Endpoints)));
        Self { inner: Arc::new(SessionShared { session, _endpoint: endpoint }), protocol, url, path, origin }
    }
}

/// The error of an operation the session (or its handshake) can no longer do: "ECLOSED: <why>".
pub fn closed_err(e: impl std::fmt::Display) -> Error {
    Error::new(Status::GenericFailure, format!("ECLOSED: {e}"))
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
        self.inner.session.protocol()
    }

    #[napi(getter)]
    pub fn remote_address(&self) -> String {
        self.inner.session.conn.remote_address().to_string()
    }

    /// Open a bidi stream: synchronously when stream credit is available, else as a Promise.
    #[napi(ts_return_type = "[NativeSendStream, NativeRecvStream] | Promise<[NativeSendStream, NativeRecvStream]>")]
    pub fn open_bi<'env>(&self, env: &'env Env) -> Result<NowOr<'env, (NativeSendStream, NativeRecvStream)>> {
        let inner = self.inner.clone();
        now_or_promise(env, async move {
            let (s, r) = inner.session.open_bi().await.map_err(closed_err)?;
            let web = inner.session.is_web();
            Ok((NativeSendStream::new(s, web), NativeRecvStream::new(r, web)))
        })
    }

    /// Open a uni stream: synchronously when stream credit is available, else as a Promise.
    #[napi(ts_return_type = "NativeSendStream | Promise<NativeSendStream>")]
    pub fn open_uni<'env>(&self, env: &'env Env) -> Result<NowOr<'env, NativeSendStream>> {
        let inner = self.inner.clone();
        now_or_promise(env, async move {
            let s = inner.session.open_uni().await.map_err(closed_err)?;
            Ok(NativeSendStream::new(s, inner.session.is_web()))
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
            let web = inner.session.is_web();
            Ok(inner.session.accept_bi().await.map(|(s, r)| (NativeSendStream::new(s, web), NativeRecvStream::new(r, web))))
        })
    }

    /// Next peer-opened uni stream (synchronously when one is queued), or `null` once the session is closed.
    #[napi(ts_return_type = "NativeRecvStream | null | Promise<NativeRecvStream | null>")]
    pub fn accept_uni<'env>(&self, env: &'env Env) -> Result<NowOr<'env, Option<NativeRecvStream>>> {
        let inner = self.inner.clone();
        now_or_promise(env, async move {
            let web = inner.session.is_web();
            Ok(inner.session.accept_uni().await.map(|r| NativeRecvStream::new(r, web)))
        })
    }

    /// Close with an application code and reason (WebTransport: CLOSE_WEBTRANSPORT_SESSION capsule, then the
    /// connection once the peer answered, or after `graceMs`, by default max(3 RTT, 200 ms); raw QUIC:
    /// CONNECTION_CLOSE, `graceMs` unused). Idempotent; the first close wins.
    #[napi]
    pub fn close(&self, code: u32, reason: String, grace_ms: Option<u32>) {
        let inner = self.inner.clone();
        let grace = grace_ms.map(|ms| std::time::Duration::from_millis(u64::from(ms)));
        napi::bindgen_prelude::within_runtime_if_available(move || inner.session.close(code, &reason, grace));
    }

    /// Resolves once the session is closed, with who closed it and why. Never rejects.
    #[napi(ts_return_type = "Promise<CloseInfo>")]
    pub fn closed<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, CloseInfo>> {
        let inner = self.inner.clone();
        env.spawn_future(async move {
            let c = inner.session.closed().await;
            Ok(CloseInfo { code: c.code, reason: c.reason, remote: c.remote, failure: c.failure })
        })
    }

    /// Send one datagram; false when it could not be queued (too large, unsupported, closed).
    #[napi]
    pub fn send_datagram(&self, data: Uint8ArraySlice) -> bool {
        let inner = self.inner.clone();
        napi::bindgen_prelude::within_runtime_if_available(move || inner.session.send_datagram(&data))
    }

    /// Next datagram, or `null` once the session is closed.
    #[napi(ts_return_type = "Promise<Buffer | null>")]
    pub fn read_datagram<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Option<Buffer>>> {
        let inner = self.inner.clone();
        env.spawn_future(async move {
            Ok(inner.session.read_datagram().await.map(|b| Buffer::from(Vec::<u8>::from(b))))
        })
    }

    #[napi]
    pub fn max_datagram_size(&self) -> u32 {
        self.inner.session.max_datagram_size() as u32
    }

    /// Snapshot of the connection statistics.
    #[napi]
    pub fn stats(&self) -> NativeStats {
        let s = self.inner.session.conn.stats();
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
