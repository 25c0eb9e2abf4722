//! A session over one quinn connection: raw QUIC (plain quinn streams, codes unmapped) or a WebTransport session
//! over HTTP/3 (`h3.rs`): streams prefixed with 0x41/0x54 + session id, datagrams with the quarter-stream-id prefix,
//! close via the CLOSE_WEBTRANSPORT_SESSION capsule on the CONNECT stream.
//!
//! Peer streams surface in the order they become readable, on both kinds: WebTransport streams once their header is
//! in (`h3.rs` routes them), raw QUIC streams once their first data, FIN or reset is in (`raw_accept`). Not in
//! stream-id order: QUIC opens every lower-numbered stream implicitly when a frame for a higher one arrives, so
//! id order would hand out streams whose bytes the sender has not even scheduled yet (a lower send priority, e.g. an
//! older group behind newer ones), and a consumer that bounds how many streams may wait for their header (the MoQ
//! session's `maxPendingStreams`) would fill up with those and stop accepting the streams that do carry data. The
//! first read outcome of a raw stream rides along (`PeerRecv::first`) and is returned by its first read.
//!
//! Close bookkeeping: the first close wins — ours (`close`) or the peer's (its capsule, or the end of its CONNECT
//! stream, recorded by the capsule reader); a connection that ends otherwise is described by its connection error.
//! WebTransport close handshake: whoever closes sends the capsule and waits for the peer to close the connection.
//! When both close at once, each side's capsule reaches a side that has already closed: that capsule is the answer,
//! and the side closes the connection then (with its own code), instead of waiting out the close timeout for a
//! CONNECTION_CLOSE the peer, itself waiting, would never send first. Each side reports its own close. Only the
//! peer's capsule counts as that answer, not a bare FIN on its CONNECT stream: Chromium FINs as soon as it reads our
//! capsule, and a CONNECTION_CLOSE sent then can overtake the close on its way to the page ("Connection lost").
//! Transport only; no future here borrows anything but an owned `Arc` (teardown rule, lib.rs).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, watch};

use crate::counters::{count_connection, Count, Gauge};
use crate::fast::now_or_spawn;
use crate::h3::{self, ConnectEnd, H3};

/// The outcome of a stream's first read, taken before the stream was handed out.
pub type FirstRead = Result<Option<quinn::Chunk>, quinn::ReadError>;

/// A peer stream's receive side, with the outcome of a read already made on it (raw QUIC: the read that showed it
/// readable), to be returned before reading on.
pub struct PeerRecv {
    pub stream: quinn::RecvStream,
    pub first: Option<FirstRead>,
}

impl From<quinn::RecvStream> for PeerRecv {
    fn from(stream: quinn::RecvStream) -> Self {
        PeerRecv { stream, first: None }
    }
}

/// Raw QUIC: peer streams, queued as they become readable.
struct Raw {
    uni: tokio::sync::Mutex<mpsc::UnboundedReceiver<((), PeerRecv, Count)>>,
    bi: tokio::sync::Mutex<mpsc::UnboundedReceiver<(quinn::SendStream, PeerRecv, Count)>>,
}

/// Who closed the session and why.
#[derive(Clone, Debug)]
pub struct Close {
    pub code: u32,
    pub reason: String,
    pub remote: bool,
    /// Set when the connection ended without an application close (idle timeout, stateless reset, transport error).
    pub failure: Option<String>,
}

struct Web {
    h3: Arc<H3>,
    /// The CONNECT stream's id (the session id).
    id: u64,
    header_bi: Vec<u8>,
    header_uni: Vec<u8>,
    /// Quarter stream id, prefixed to every datagram (RFC 9297).
    datagram_prefix: Vec<u8>,
    /// Our side of the CONNECT stream; taken by `close` to send the capsule. Dropping it would end the session.
    connect_send: Mutex<Option<quinn::SendStream>>,
    protocol: Option<String>,
    /// The capsule reader's progress (once not `Reading`, its outcome, if any, is recorded).
    reader: watch::Receiver<Reader>,
}

pub struct Session {
    pub conn: quinn::Connection,
    web: Option<Web>,
    raw: Option<Raw>,
    outcome: Arc<Mutex<Option<Close>>>,
    _count: Count,
}

pub type Streams = (quinn::SendStream, quinn::RecvStream);

impl Session {
    /// A raw QUIC session. Starts the accept loops (needs the runtime context); they end with the connection or
    /// when the session is dropped.
    pub fn raw(conn: quinn::Connection) -> Self {
        let (uni_tx, uni_rx) = mpsc::unbounded_channel();
        let (bi_tx, bi_rx) = mpsc::unbounded_channel();
        tokio::spawn(raw_accept(conn.clone(), uni_tx, |c| async move { c.accept_uni().await.map(|r| ((), r)) }));
        tokio::spawn(raw_accept(conn.clone(), bi_tx, |c| async move { c.accept_bi().await }));
        let raw = Raw { uni: tokio::sync::Mutex::new(uni_rx), bi: tokio::sync::Mutex::new(bi_rx) };
        count_connection(&conn, false);
        Session { conn, web: None, raw: Some(raw), outcome: Arc::new(Mutex::new(None)), _count: Count::new(Gauge::Sessions) }
    }

    /// A WebTransport session on an answered CONNECT stream. Starts the capsule reader.
    pub fn web(
        h3: Arc<H3>,
        send: quinn::SendStream,
        recv: quinn::RecvStream,
        protocol: Option<String>,
    ) -> Self {
        let id = quinn::VarInt::from(send.id()).into_inner();
        let mut header_bi = Vec::new();
        h3::put_varint(&mut header_bi, 0x41);
        h3::put_varint(&mut header_bi, id);
        let mut header_uni = Vec::new();
        h3::put_varint(&mut header_uni, 0x54);
        h3::put_varint(&mut header_uni, id);
        let mut datagram_prefix = Vec::new();
        h3::put_varint(&mut datagram_prefix, id / 4);
        let outcome = Arc::new(Mutex::new(None));
        let (done_tx, done_rx) = watch::channel(Reader::Reading);
        let conn = h3.conn.clone();
        count_connection(&conn, true);
        tokio::spawn(read_peer_close(conn.clone(), recv, outcome.clone(), done_tx));
        Session {
            conn,
            raw: None,
            web: Some(Web {
                h3,
                id,
                header_bi,
                header_uni,
                datagram_prefix,
                connect_send: Mutex::new(Some(send)),
                protocol,
                reader: done_rx,
            }),
            outcome,
            _count: Count::new(Gauge::Sessions),
        }
    }

    pub fn is_web(&self) -> bool {
        self.web.is_some()
    }

    /// The WebTransport subprotocol the server selected.
    pub fn protocol(&self) -> Option<String> {
        self.web.as_ref().and_then(|w| w.protocol.clone())
    }

    pub async fn open_bi(&self) -> Result<Streams, String> {
        let (mut s, r) = self.conn.open_bi().await.map_err(|e| e.to_string())?;
        if let Some(w) = &self.web {
            // A fresh stream has credit for the few header bytes: this completes at once.
            s.write_all(&w.header_bi).await.map_err(|e| e.to_string())?;
        }
        Ok((s, r))
    }

    pub async fn open_uni(&self) -> Result<quinn::SendStream, String> {
        let mut s = self.conn.open_uni().await.map_err(|e| e.to_string())?;
        if let Some(w) = &self.web {
            s.write_all(&w.header_uni).await.map_err(|e| e.to_string())?;
        }
        Ok(s)
    }

    /// Next peer bidi stream (in the order they become readable), `None` once the session is gone.
    pub async fn accept_bi(&self) -> Option<(quinn::SendStream, PeerRecv)> {
        match (&self.web, &self.raw) {
            (Some(w), _) => w.h3.accept_bi(w.id).await.map(|(s, r)| (s, r.into())),
            (None, Some(raw)) => raw.bi.lock().await.recv().await.map(|(s, r, _queued)| (s, r)),
            (None, None) => None,
        }
    }

    /// Next peer uni stream (in the order they become readable), `None` once the session is gone.
    pub async fn accept_uni(&self) -> Option<PeerRecv> {
        match (&self.web, &self.raw) {
            (Some(w), _) => w.h3.accept_uni(w.id).await.map(PeerRecv::from),
            (None, Some(raw)) => raw.uni.lock().await.recv().await.map(|((), r, _queued)| r),
            (None, None) => None,
        }
    }

    /// Queue one datagram (WebTransport: behind the quarter-stream-id prefix). False when it cannot be queued.
    pub fn send_datagram(&self, data: &[u8]) -> bool {
        let bytes = match &self.web {
            None => Bytes::copy_from_slice(data),
            Some(w) => {
                let mut b = Vec::with_capacity(w.datagram_prefix.len() + data.len());
                b.extend_from_slice(&w.datagram_prefix);
                b.extend_from_slice(data);
                Bytes::from(b)
            }
        };
        self.conn.send_datagram(bytes).is_ok()
    }

    /// Next datagram of this session (others are dropped), `None` once the connection is gone.
    pub async fn read_datagram(&self) -> Option<Bytes> {
        loop {
            let d = self.conn.read_datagram().await.ok()?;
            let Some(w) = &self.web else { return Some(d) };
            if let Some((q, n)) = h3::get_varint(&d) {
                if q == w.id / 4 {
                    return Some(d.slice(n..));
                }
            }
        }
    }

    pub fn max_datagram_size(&self) -> usize {
        let prefix = self.web.as_ref().map_or(0, |w| w.datagram_prefix.len());
        self.conn.max_datagram_size().unwrap_or(0).saturating_sub(prefix)
    }

    /// Close with `code` and `reason`; the first close (ours or the peer's) wins, later calls do nothing.
    /// WebTransport: the capsule and FIN on the CONNECT stream, then the connection once the peer answered — it
    /// closed the connection, or its own capsule (or the end of its CONNECT stream) arrived: a simultaneous close —
    /// or after `grace` (default max(3 RTT, 200 ms)); the connection close carries the mapped code and reason too.
    /// Needs the tokio runtime context for the graceful part; without it the connection closes at once with the
    /// mapped code and the reason.
    pub fn close(&self, code: u32, reason: &str, grace: Option<Duration>) {
        if self.conn.close_reason().is_some() {
            return;
        }
        {
            let Ok(mut g) = self.outcome.lock() else { return };
            if g.is_some() {
                return;
            }
            *g = Some(Close { code, reason: reason.to_owned(), remote: false, failure: None });
        }
        let Some(w) = &self.web else {
            self.conn.close(quinn::VarInt::from_u32(code), reason.as_bytes());
            return;
        };
        let wire = h3::code_to_wire(code, true);
        let send = w.connect_send.lock().ok().and_then(|mut g| g.take());
        let conn = self.conn.clone();
        let peer_done = w.reader.clone();
        match (send, tokio::runtime::Handle::try_current()) {
            (Some(send), Ok(rt)) => {
                let reason = reason.to_owned();
                rt.spawn(async move {
                    let timeout = grace.unwrap_or_else(|| (conn.rtt() * 3).max(Duration::from_millis(200)));
                    let capsule = send_close_capsule(&conn, send, code, &reason, peer_done);
                    let _ = tokio::time::timeout(timeout, capsule).await;
                    conn.close(wire, reason.as_bytes());
                });
            }
            _ => conn.close(wire, reason.as_bytes()),
        }
    }

    /// Resolves once the connection is closed: who closed the session and why.
    pub async fn closed(&self) -> Close {
        let err = self.conn.closed().await;
        if let Some(w) = &self.web {
            // The capsule reader finishes promptly once the connection is gone; its outcome may be the one to report.
            let mut done = w.reader.clone();
            let _ = tokio::time::timeout(Duration::from_millis(500), done.wait_for(|r| *r != Reader::Reading)).await;
        }
        if let Some(c) = self.outcome.lock().ok().and_then(|g| g.clone()) {
            return c;
        }
        connection_close(err, self.is_web())
    }
}

/// Raw QUIC: take every peer stream `accept` yields (stream-id order; uni streams with `()` as their send side) and
/// queue each once it is readable.
async fn raw_accept<S, A, F>(conn: quinn::Connection, tx: mpsc::UnboundedSender<(S, PeerRecv, Count)>, accept: A)
where
    S: Send + 'static,
    A: Fn(quinn::Connection) -> F,
    F: std::future::Future<Output = Result<(S, quinn::RecvStream), quinn::ConnectionError>>,
{
    loop {
        let (send, recv) = tokio::select! {
            r = accept(conn.clone()) => match r {
                Ok(r) => r,
                Err(_) => return,
            },
            _ = tx.closed() => return,
        };
        let tx = tx.clone();
        now_or_spawn(async move {
            if let Some(first) = first_read(recv, &tx).await {
                let _ = tx.send((send, first, Count::new(Gauge::StreamsQueued)));
            }
        });
    }
}

/// Wait until `recv` is readable: its first chunk, FIN or reset, returned with the stream. `None` (the stream is
/// dropped) when the connection went first or the session (the queue's receiver) is gone.
async fn first_read<T>(mut recv: quinn::RecvStream, queue: &mpsc::UnboundedSender<T>) -> Option<PeerRecv> {
    let first = tokio::select! {
        biased;
        r = recv.read_chunk(usize::MAX, true) => r,
        _ = queue.closed() => return None,
    };
    match first {
        Ok(_) | Err(quinn::ReadError::Reset(_)) => Some(PeerRecv { stream: recv, first: Some(first) }),
        Err(_) => None,
    }
}

/// Send our close capsule and FIN, then wait for the peer's answer: the connection closed by the peer, or the peer's
/// own close capsule (`peer_done`: it closed too).
async fn send_close_capsule(
    conn: &quinn::Connection,
    mut send: quinn::SendStream,
    code: u32,
    reason: &str,
    mut peer_done: watch::Receiver<Reader>,
) {
    if send.write_all(&h3::close_capsule_frame(code, reason)).await.is_err() || send.finish().is_err() {
        return;
    }
    // Acknowledged is not enough: a browser may still be handing the capsule to its session when our
    // CONNECTION_CLOSE lands, and then reports "connection lost". Peers close the connection themselves once they
    // read the capsule (Chromium, this addon); wait for that, bounded by the caller's timeout. A peer that closed
    // at the same time waits for us just the same: its capsule, already here or still to come, ends our wait.
    let peer_capsule = async move {
        // Err: the reader is gone without a capsule (its value stays what it was), so no capsule is coming.
        if peer_done.wait_for(|r| *r == Reader::PeerCapsule).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        _ = conn.closed() => {}
        _ = peer_capsule => {}
    }
}

/// Where the capsule reader is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Reader {
    Reading,
    /// The CONNECT stream ended (FIN, reset, the connection gone) without a close capsule.
    Ended,
    /// The peer's CLOSE_WEBTRANSPORT_SESSION arrived.
    PeerCapsule,
}

/// The capsule reader: the peer's close capsule (or the end of its CONNECT stream) closes the session, remotely.
async fn read_peer_close(
    conn: quinn::Connection,
    mut recv: quinn::RecvStream,
    outcome: Arc<Mutex<Option<Close>>>,
    done: watch::Sender<Reader>,
) {
    let end = h3::read_close_capsule(&mut recv).await;
    let (code, reason, state) = match end {
        ConnectEnd::Closed(code, reason) => (code, reason, Reader::PeerCapsule),
        // The stream failing because the whole connection went is not the peer ending the session.
        ConnectEnd::Ended if conn.close_reason().is_some() => {
            done.send_replace(Reader::Ended);
            return;
        }
        ConnectEnd::Ended => (0, String::new(), Reader::Ended),
    };
    let first = match outcome.lock() {
        Ok(mut g) if g.is_none() => {
            *g = Some(Close { code, reason: reason.clone(), remote: true, failure: None });
            true
        }
        _ => false,
    };
    done.send_replace(state);
    if first {
        conn.close(h3::code_to_wire(code, true), reason.as_bytes());
    }
}

/// Describe a connection that ended without a recorded session close.
fn connection_close(err: quinn::ConnectionError, web: bool) -> Close {
    use quinn::ConnectionError as C;
    match err {
        C::ApplicationClosed(a) => {
            let c = a.error_code.into_inner();
            let code = if web { h3::session_code_from_wire(c) } else { u32::try_from(c).unwrap_or(u32::MAX) };
            Close { code, reason: String::from_utf8_lossy(&a.reason).into_owned(), remote: true, failure: None }
        }
        C::ConnectionClosed(c) => Close {
            code: u32::try_from(u64::from(c.error_code)).unwrap_or(u32::MAX),
            reason: format!("transport: {}", String::from_utf8_lossy(&c.reason)),
            remote: true,
            failure: Some("transport-error".into()),
        },
        C::Reset => Close { code: 0, reason: "stateless reset".into(), remote: true, failure: Some("stateless-reset".into()) },
        C::TimedOut => Close { code: 0, reason: "idle timeout".into(), remote: false, failure: Some("idle-timeout".into()) },
        C::LocallyClosed => Close { code: 0, reason: String::new(), remote: false, failure: None },
        e => Close { code: 0, reason: e.to_string(), remote: false, failure: Some("transport-error".into()) },
    }
}
