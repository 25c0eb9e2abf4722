//! Process-wide resource counters: how many endpoints, connections, sessions, streams and undecided incoming
//! connections this addon holds right now. Each is a gauge moved by a `Count` guard: +1 when the guard is made, -1
//! when it is dropped, so a counter follows the lifetime of the thing that owns the guard.
//!
//! Two kinds of lifetime are counted. Connections (`connections_raw`, `connections_web`) live until quinn reports
//! the connection closed, whatever JS holds. Handles (`sessions`, `send_streams`, `recv_streams`, `endpoints`,
//! `incoming`) live as long as the object that owns them — for objects handed to JS, until the JS wrapper is
//! garbage-collected and every pending future on it has finished. After a forced GC, a count above its baseline
//! is a leak. `streams_queued`, `handshakes` and `incoming` are work waiting on the application or the network.

use std::sync::atomic::{AtomicI64, Ordering};

use napi_derive::napi;

#[derive(Clone, Copy)]
pub enum Gauge {
    Endpoints,
    ConnectionsRaw,
    ConnectionsWeb,
    Sessions,
    SendStreams,
    RecvStreams,
    StreamsQueued,
    Handshakes,
    Incoming,
}

const N: usize = 9;
static GAUGES: [AtomicI64; N] = [const { AtomicI64::new(0) }; N];

/// +1 on `Gauge` while this lives.
pub struct Count(Gauge);

impl Count {
    pub fn new(g: Gauge) -> Self {
        GAUGES[g as usize].fetch_add(1, Ordering::Relaxed);
        Count(g)
    }
}

impl Drop for Count {
    fn drop(&mut self) {
        GAUGES[self.0 as usize].fetch_sub(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Count")
    }
}

/// Holds a connection gauge until quinn reports the connection closed (needs the runtime context).
pub fn count_connection(conn: &quinn::Connection, web: bool) {
    let count = Count::new(if web { Gauge::ConnectionsWeb } else { Gauge::ConnectionsRaw });
    let conn = conn.clone();
    tokio::spawn(async move {
        conn.closed().await;
        drop(count);
    });
}

/// A snapshot of the process-wide counters (see the module comment for what each one follows).
#[napi(object)]
pub struct NativeCounters {
    /// quinn endpoints (UDP sockets): one per listener, one per client connection.
    pub endpoints: i64,
    /// Established raw QUIC connections not yet closed.
    pub connections_raw: i64,
    /// Established HTTP/3 (WebTransport) connections not yet closed.
    pub connections_web: i64,
    /// Session objects alive (JS wrappers not yet collected included).
    pub sessions: i64,
    /// Send-stream halves alive (bidi streams count once here and once in `recvStreams`).
    pub send_streams: i64,
    /// Receive-stream halves alive.
    pub recv_streams: i64,
    /// Peer-opened streams received but not yet taken by `acceptBi` / `acceptUni`.
    pub streams_queued: i64,
    /// Server connections in their QUIC / HTTP/3 handshake.
    pub handshakes: i64,
    /// Handshaken server connections waiting for `accept` / `reject`.
    pub incoming: i64,
}

/// The current values of the process-wide counters.
#[napi]
pub fn native_counters() -> NativeCounters {
    let g = |x: Gauge| GAUGES[x as usize].load(Ordering::Relaxed);
    NativeCounters {
        endpoints: g(Gauge::Endpoints),
        connections_raw: g(Gauge::ConnectionsRaw),
        connections_web: g(Gauge::ConnectionsWeb),
        sessions: g(Gauge::Sessions),
        send_streams: g(Gauge::SendStreams),
        recv_streams: g(Gauge::RecvStreams),
        streams_queued: g(Gauge::StreamsQueued),
        handshakes: g(Gauge::Handshakes),
        incoming: g(Gauge::Incoming),
    }
}
