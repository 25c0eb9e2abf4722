//! The HTTP/3 layer WebTransport needs, on one quinn connection (ALPN h3), written for this addon on top of
//! web-transport-proto's codecs (SETTINGS, HEADERS/QPACK for the extended CONNECT, capsules, varints).
//!
//! Per connection: we open our control stream (type 0x00 + SETTINGS) and accept every peer stream. Peer uni streams:
//! control → SETTINGS read *leniently* (no WebTransport setting is required of the peer: webtransport-go's client
//! sends only H3_DATAGRAM) and the rest drained; QPACK encoder/decoder → kept open and drained; WebTransport (0x54 +
//! session id) → queued for the session; anything else → STOP_SENDING. Peer bidi streams: 0x41 + session id →
//! queued for the session; a HEADERS frame (server only) → a CONNECT request for `endpoint.rs` to answer; anything
//! else → refused. Transport only: no MoQ logic.
//!
//! The WebTransport ↔ HTTP/3 error-code mapping lives here (`code_to_wire` / `code_from_wire`), the one place it
//! happens, and is applied to every stream reset/stop code of a WebTransport session, both ways.

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, watch};
use web_transport_proto::http::{HeaderName, HeaderValue, StatusCode};
use web_transport_proto::{ConnectError, ConnectRequest, ConnectResponse, Frame, Setting, Settings, VarInt};

use crate::counters::{Count, Gauge};
use crate::fast::now_or_spawn;

/// HTTP/3 error codes (RFC 9114 §8.1) we send.
pub const H3_NO_ERROR: u32 = 0x100;
const H3_STREAM_CREATION_ERROR: u32 = 0x103;
const H3_FRAME_UNEXPECTED: u32 = 0x105;
const H3_ID_ERROR: u32 = 0x108;
const H3_REQUEST_REJECTED: u32 = 0x10b;
const H3_MESSAGE_ERROR: u32 = 0x10e;

/// Stream types and frame types used here.
const UNI_CONTROL: u64 = 0x00;
const UNI_QPACK_ENCODER: u64 = 0x02;
const UNI_QPACK_DECODER: u64 = 0x03;
const UNI_WEBTRANSPORT: u64 = 0x54;
const FRAME_DATA: u64 = 0x00;
const FRAME_HEADERS: u64 = 0x01;
const FRAME_SETTINGS: u64 = 0x04;
const BIDI_WEBTRANSPORT: u64 = 0x41;

/// Largest frame payload we buffer (SETTINGS, DATA carrying capsules), and largest HEADERS payload.
const MAX_FRAME: u64 = 64 * 1024;
const MAX_HEADERS: u64 = 16 * 1024;

/// First and last code of the WebTransport application range inside the HTTP/3 error space
/// (draft-ietf-webtrans-http3: `0x52e4a40fa8db + code + floor(code / 0x1e)`, skipping the reserved points).
const WT_FIRST: u64 = 0x52e4_a40f_a8db;
const WT_LAST: u64 = 0x52e5_ac98_3162;

/// A WebTransport application code (u32) → its HTTP/3 code.
pub const fn wt_to_http3(code: u32) -> u64 {
    WT_FIRST + code as u64 + code as u64 / 0x1e
}

/// An HTTP/3 code → the WebTransport application code, or `None` when it is outside the range or one of the
/// reserved code points (every 0x1f-th, which no application code maps to).
pub fn wt_from_http3(h3: u64) -> Option<u32> {
    if !(WT_FIRST..=WT_LAST).contains(&h3) {
        return None;
    }
    let off = h3 - WT_FIRST;
    if off % 0x1f == 0x1e {
        return None;
    }
    u32::try_from(off - off / 0x1f).ok()
}

/// The code to put on the wire for a stream reset/stop: mapped for WebTransport, unchanged for raw QUIC.
pub fn code_to_wire(code: u32, web: bool) -> quinn::VarInt {
    if web {
        // Every u32 maps below 2^62.
        quinn::VarInt::from_u64(wt_to_http3(code)).unwrap_or(quinn::VarInt::MAX)
    } else {
        quinn::VarInt::from_u32(code)
    }
}

/// The application code of a peer's stream reset/stop, or `None` when it does not decode (a WebTransport code
/// outside the application range, a raw code above u32).
pub fn code_from_wire(code: quinn::VarInt, web: bool) -> Option<u32> {
    let c = code.into_inner();
    if web {
        wt_from_http3(c)
    } else {
        u32::try_from(c).ok()
    }
}

/// The application code of a peer's CONNECTION_CLOSE on a WebTransport connection: a mapped WebTransport code,
/// H3_NO_ERROR as 0, anything else as is (u32::MAX when it does not fit).
pub fn session_code_from_wire(code: u64) -> u32 {
    if code == u64::from(H3_NO_ERROR) {
        return 0;
    }
    wt_from_http3(code).unwrap_or_else(|| u32::try_from(code).unwrap_or(u32::MAX))
}

/// Which SETTINGS we send.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SettingsMode {
    /// WebTransport enabled the draft-02 way (Chromium 156: ENABLE_WEBTRANSPORT 0x2b603742 = 1 and the deprecated
    /// max-sessions) and the current way (WEBTRANSPORT_MAX_SESSIONS), H3_DATAGRAM (both code points),
    /// ENABLE_CONNECT_PROTOCOL and our header-size limit.
    Full,
    /// Only H3_DATAGRAM = 1, as webtransport-go's client sends: a test mode pinning that our server does not
    /// require the WebTransport settings of a client.
    Minimal,
}

/// Our control stream's opening bytes: stream type 0x00, then the SETTINGS frame.
pub fn control_stream_bytes(mode: SettingsMode) -> Vec<u8> {
    let one = VarInt::from_u32(1);
    let mut s = Settings::default();
    s.insert(Setting::ENABLE_DATAGRAM, one);
    if mode == SettingsMode::Full {
        s.insert(Setting::MAX_FIELD_SECTION_SIZE, VarInt::from_u32(MAX_HEADERS as u32));
        s.insert(Setting::ENABLE_CONNECT_PROTOCOL, one);
        s.insert(Setting::ENABLE_DATAGRAM_DEPRECATED, one);
        s.insert(Setting::WEBTRANSPORT_ENABLE_DEPRECATED, one);
        s.insert(Setting::WEBTRANSPORT_MAX_SESSIONS_DEPRECATED, one);
        s.insert(Setting::WEBTRANSPORT_MAX_SESSIONS, one);
    }
    let mut out = Vec::new();
    s.encode(&mut out); // writes the control stream type, then the frame
    out
}

fn is_reserved_frame(t: u64) -> bool {
    t >= 0x21 && (t - 0x21) % 0x1f == 0
}

/// Append a QUIC varint.
pub fn put_varint(out: &mut Vec<u8>, v: u64) {
    if let Ok(v) = VarInt::from_u64(v) {
        v.encode(out);
    }
}

/// Decode a QUIC varint from the front of `buf`: (value, length).
pub fn get_varint(buf: &[u8]) -> Option<(u64, usize)> {
    let first = *buf.first()?;
    let len = 1usize << (first >> 6);
    if buf.len() < len {
        return None;
    }
    let mut v = u64::from(first & 0x3f);
    for b in &buf[1..len] {
        v = (v << 8) | u64::from(*b);
    }
    Some((v, len))
}

/// Why reading from a stream stopped.
#[derive(Debug)]
pub enum ReadFail {
    /// The stream ended cleanly where a new item could start.
    End,
    /// Truncated, reset, stopped, too large or malformed.
    Broken(String),
}

impl From<quinn::ReadExactError> for ReadFail {
    fn from(e: quinn::ReadExactError) -> Self {
        ReadFail::Broken(e.to_string())
    }
}

/// One varint from the stream, consuming exactly its bytes. `End` when the stream finished before its first byte.
pub async fn read_varint(recv: &mut quinn::RecvStream) -> Result<u64, ReadFail> {
    let mut b = [0u8; 8];
    match recv.read_exact(&mut b[..1]).await {
        Ok(()) => {}
        Err(quinn::ReadExactError::FinishedEarly(0)) => return Err(ReadFail::End),
        Err(e) => return Err(e.into()),
    }
    let len = 1usize << (b[0] >> 6);
    if len > 1 {
        recv.read_exact(&mut b[1..len]).await?;
    }
    Ok(get_varint(&b[..len]).map(|(v, _)| v).unwrap_or(0))
}

async fn read_payload(recv: &mut quinn::RecvStream, len: u64, max: u64) -> Result<Vec<u8>, ReadFail> {
    if len > max {
        return Err(ReadFail::Broken(format!("frame of {len} bytes exceeds {max}")));
    }
    let mut buf = vec![0u8; len as usize];
    recv.read_exact(&mut buf).await?;
    Ok(buf)
}

/// Discard `len` bytes.
async fn skip(recv: &mut quinn::RecvStream, mut len: u64) -> Result<(), ReadFail> {
    while len > 0 {
        match recv.read_chunk(len.min(usize::MAX as u64) as usize, true).await {
            Ok(Some(c)) => len -= c.bytes.len() as u64,
            Ok(None) => return Err(ReadFail::Broken("stream ended inside a frame".into())),
            Err(e) => return Err(ReadFail::Broken(e.to_string())),
        }
    }
    Ok(())
}

/// The next non-reserved frame: (type, payload ≤ `max`). `End` at a clean end between frames.
pub async fn read_frame(recv: &mut quinn::RecvStream, max: u64) -> Result<(u64, Vec<u8>), ReadFail> {
    loop {
        let typ = read_varint(recv).await?;
        let len = match read_varint(recv).await {
            Ok(l) => l,
            Err(ReadFail::End) => return Err(ReadFail::Broken("stream ended inside a frame header".into())),
            Err(e) => return Err(e),
        };
        if is_reserved_frame(typ) {
            skip(recv, len).await?;
            continue;
        }
        return Ok((typ, read_payload(recv, len, max).await?));
    }
}

/// Read to the end, discarding (QPACK streams, the rest of a control stream): keeps the stream open, as HTTP/3
/// requires of critical streams, without buffering.
async fn drain(mut recv: quinn::RecvStream) {
    while let Ok(Some(_)) = recv.read_chunk(usize::MAX, true).await {}
}

/// Re-frame a HEADERS payload so web-transport-proto's decoders can read it.
fn headers_frame(payload: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(payload.len() + 10);
    Frame::HEADERS.encode(&mut buf);
    put_varint(&mut buf, payload.len() as u64);
    buf.extend_from_slice(payload);
    buf
}

/// A CONNECT request received by the server, with its stream (the session's CONNECT stream once answered).
pub struct Request {
    pub request: ConnectRequest,
    pub send: quinn::SendStream,
    pub recv: quinn::RecvStream,
}

/// Where the stream-routing tasks deliver.
struct Routes {
    server: bool,
    uni: mpsc::UnboundedSender<(u64, quinn::RecvStream, Count)>,
    bi: mpsc::UnboundedSender<(u64, quinn::SendStream, quinn::RecvStream, Count)>,
    requests: mpsc::UnboundedSender<Request>,
    settings: watch::Sender<bool>,
}

/// One HTTP/3 connection carrying (at most) one WebTransport session.
pub struct H3 {
    pub conn: quinn::Connection,
    /// Our control stream: held open for the connection's life (closing it is a connection error in HTTP/3).
    _control: Mutex<quinn::SendStream>,
    settings: watch::Receiver<bool>,
    uni: tokio::sync::Mutex<mpsc::UnboundedReceiver<(u64, quinn::RecvStream, Count)>>,
    bi: tokio::sync::Mutex<mpsc::UnboundedReceiver<(u64, quinn::SendStream, quinn::RecvStream, Count)>>,
}

impl H3 {
    /// Open our control stream with SETTINGS and start routing the peer's streams. The server gets the CONNECT
    /// requests on the returned receiver; requests arriving after it is dropped are refused.
    pub async fn start(
        conn: quinn::Connection,
        server: bool,
        mode: SettingsMode,
    ) -> Result<(Arc<H3>, mpsc::UnboundedReceiver<Request>), String> {
        let mut control = conn.open_uni().await.map_err(|e| e.to_string())?;
        control.write_all(&control_stream_bytes(mode)).await.map_err(|e| e.to_string())?;
        let (uni_tx, uni_rx) = mpsc::unbounded_channel();
        let (bi_tx, bi_rx) = mpsc::unbounded_channel();
        let (req_tx, req_rx) = mpsc::unbounded_channel();
        let (set_tx, set_rx) = watch::channel(false);
        let routes = Arc::new(Routes { server, uni: uni_tx, bi: bi_tx, requests: req_tx, settings: set_tx });
        tokio::spawn(accept_uni_loop(conn.clone(), routes.clone()));
        tokio::spawn(accept_bi_loop(conn.clone(), routes));
        let h3 = H3 {
            conn,
            _control: Mutex::new(control),
            settings: set_rx,
            uni: tokio::sync::Mutex::new(uni_rx),
            bi: tokio::sync::Mutex::new(bi_rx),
        };
        Ok((Arc::new(h3), req_rx))
    }

    /// Next peer uni stream of session `id`; streams of another session are stopped. `None` once the connection is
    /// gone and the queue is empty.
    pub async fn accept_uni(&self, id: u64) -> Option<quinn::RecvStream> {
        let mut rx = self.uni.lock().await;
        loop {
            let (sid, mut r, _queued) = rx.recv().await?;
            if sid == id {
                return Some(r);
            }
            let _ = r.stop(quinn::VarInt::from_u32(H3_ID_ERROR));
        }
    }

    /// Next peer bidi stream of session `id`, as `accept_uni`.
    pub async fn accept_bi(&self, id: u64) -> Option<(quinn::SendStream, quinn::RecvStream)> {
        let mut rx = self.bi.lock().await;
        loop {
            let (sid, mut s, mut r, _queued) = rx.recv().await?;
            if sid == id {
                return Some((s, r));
            }
            let _ = s.reset(quinn::VarInt::from_u32(H3_ID_ERROR));
            let _ = r.stop(quinn::VarInt::from_u32(H3_ID_ERROR));
        }
    }

    /// Client: wait for the server's SETTINGS (nothing in them is required), send the extended CONNECT for `url`
    /// and read the answer. Errors are messages; a non-2xx answer says "server answered <status>".
    pub async fn request(
        &self,
        url: url::Url,
        protocols: Vec<String>,
        origin: Option<String>,
    ) -> Result<(quinn::SendStream, quinn::RecvStream, ConnectResponse), String> {
        let mut settings = self.settings.clone();
        let _ = settings.wait_for(|got| *got).await;
        let (mut send, mut recv) = self.conn.open_bi().await.map_err(|e| e.to_string())?;
        let mut req = ConnectRequest::new(url)
            .with_protocols(protocols.clone())
            .with_header(HeaderName::from_static("sec-webtransport-http3-draft02"), HeaderValue::from_static("1"));
        if let Some(o) = origin {
            let v = HeaderValue::from_str(&o).map_err(|_| "origin is not a valid header value".to_string())?;
            req = req.with_header(HeaderName::from_static("origin"), v);
        }
        let mut buf = Vec::new();
        req.encode(&mut buf).map_err(|e| e.to_string())?;
        send.write_all(&buf).await.map_err(|e| e.to_string())?;
        let response = loop {
            match read_frame(&mut recv, MAX_HEADERS).await {
                Ok((FRAME_HEADERS, payload)) => {
                    let frame = headers_frame(&payload);
                    match ConnectResponse::decode(&mut frame.as_slice()) {
                        Ok(r) => break r,
                        Err(ConnectError::WrongStatus(Some(s))) if s.is_informational() => continue,
                        Err(ConnectError::WrongStatus(Some(s))) => return Err(format!("server answered {}", s.as_u16())),
                        Err(e) => return Err(format!("bad CONNECT response: {e}")),
                    }
                }
                Ok((t, _)) => return Err(format!("unexpected frame 0x{t:x} before the CONNECT response")),
                Err(ReadFail::End) => return Err("CONNECT stream ended without a response".into()),
                Err(ReadFail::Broken(e)) => return Err(format!("reading the CONNECT response: {e}")),
            }
        };
        if let Some(p) = &response.protocol {
            if !protocols.contains(p) {
                return Err(format!("server selected subprotocol {p:?}, which was not offered"));
            }
        }
        Ok((send, recv, response))
    }
}

/// Server: answer a CONNECT request with `status` (200 carries `sec-webtransport-http3-draft: draft02`, which
/// Chromium 156 expects, and the selected `wt-protocol` when any).
pub async fn respond(send: &mut quinn::SendStream, status: u16, protocol: Option<String>) -> Result<(), String> {
    let status = StatusCode::from_u16(status).map_err(|_| format!("bad status {status}"))?;
    let mut resp = ConnectResponse::new(status);
    if let Some(p) = protocol {
        resp = resp.with_protocol(p);
    }
    let mut buf = Vec::new();
    resp.encode(&mut buf).map_err(|e| e.to_string())?;
    send.write_all(&buf).await.map_err(|e| e.to_string())
}

async fn accept_uni_loop(conn: quinn::Connection, routes: Arc<Routes>) {
    while let Ok(recv) = conn.accept_uni().await {
        now_or_spawn(route_uni(recv, routes.clone()));
    }
}

async fn accept_bi_loop(conn: quinn::Connection, routes: Arc<Routes>) {
    while let Ok((send, recv)) = conn.accept_bi().await {
        now_or_spawn(route_bi(send, recv, routes.clone()));
    }
}

async fn route_uni(mut recv: quinn::RecvStream, routes: Arc<Routes>) {
    let Ok(typ) = read_varint(&mut recv).await else { return };
    match typ {
        UNI_CONTROL => {
            // Lenient: the first frame should be SETTINGS; whatever it holds (or lacks) is accepted.
            loop {
                match read_frame(&mut recv, MAX_FRAME).await {
                    Ok((FRAME_SETTINGS, _)) => break,
                    Ok(_) => continue,
                    Err(_) => return,
                }
            }
            routes.settings.send_replace(true);
            drain(recv).await;
        }
        UNI_QPACK_ENCODER | UNI_QPACK_DECODER => drain(recv).await,
        UNI_WEBTRANSPORT => {
            if let Ok(id) = read_varint(&mut recv).await {
                let _ = routes.uni.send((id, recv, Count::new(Gauge::StreamsQueued)));
            }
        }
        _ => {
            let _ = recv.stop(quinn::VarInt::from_u32(H3_STREAM_CREATION_ERROR));
        }
    }
}

fn refuse(send: &mut quinn::SendStream, recv: &mut quinn::RecvStream, code: u32) {
    let _ = send.reset(quinn::VarInt::from_u32(code));
    let _ = recv.stop(quinn::VarInt::from_u32(code));
}

async fn route_bi(mut send: quinn::SendStream, mut recv: quinn::RecvStream, routes: Arc<Routes>) {
    loop {
        let Ok(typ) = read_varint(&mut recv).await else { return };
        match typ {
            BIDI_WEBTRANSPORT => {
                if let Ok(id) = read_varint(&mut recv).await {
                    let _ = routes.bi.send((id, send, recv, Count::new(Gauge::StreamsQueued)));
                }
                return;
            }
            FRAME_HEADERS if routes.server => {
                let parsed = match read_varint(&mut recv).await {
                    Ok(len) if len <= MAX_HEADERS => match read_payload(&mut recv, len, MAX_HEADERS).await {
                        Ok(payload) => ConnectRequest::decode(&mut headers_frame(&payload).as_slice()).ok(),
                        Err(_) => None,
                    },
                    _ => None,
                };
                match parsed {
                    Some(request) => {
                        if let Err(mpsc::error::SendError(mut r)) = routes.requests.send(Request { request, send, recv }) {
                            refuse(&mut r.send, &mut r.recv, H3_REQUEST_REJECTED);
                        }
                    }
                    None => refuse(&mut send, &mut recv, H3_MESSAGE_ERROR),
                }
                return;
            }
            t if is_reserved_frame(t) => {
                let ok = match read_varint(&mut recv).await {
                    Ok(len) => skip(&mut recv, len).await.is_ok(),
                    Err(_) => false,
                };
                if !ok {
                    return;
                }
            }
            _ => {
                refuse(&mut send, &mut recv, H3_FRAME_UNEXPECTED);
                return;
            }
        }
    }
}

/// How a session's CONNECT stream ended, as seen by its reader.
pub enum ConnectEnd {
    /// CLOSE_WEBTRANSPORT_SESSION (code, reason).
    Closed(u32, String),
    /// FIN, reset or malformed capsules without a close capsule.
    Ended,
}

/// Read the peer's capsules (carried in DATA frames) on the CONNECT stream until the close capsule or the end.
pub async fn read_close_capsule(recv: &mut quinn::RecvStream) -> ConnectEnd {
    use web_transport_proto::{Capsule, CapsuleError};
    let mut buf: Vec<u8> = Vec::new();
    loop {
        match read_frame(recv, MAX_FRAME).await {
            Ok((FRAME_DATA, payload)) => buf.extend_from_slice(&payload),
            Ok(_) => continue,
            Err(_) => return ConnectEnd::Ended,
        }
        loop {
            let mut cur = buf.as_slice();
            match Capsule::decode(&mut cur) {
                Ok(Capsule::CloseWebTransportSession { code, reason }) => return ConnectEnd::Closed(code, reason),
                Ok(_) => {
                    let used = buf.len() - cur.len();
                    buf.drain(..used);
                }
                Err(CapsuleError::UnexpectedEnd) | Err(CapsuleError::VarInt(_)) => break,
                Err(_) => return ConnectEnd::Ended,
            }
        }
        if buf.len() as u64 > 2 * MAX_FRAME {
            return ConnectEnd::Ended;
        }
    }
}

/// The DATA frame carrying a CLOSE_WEBTRANSPORT_SESSION capsule.
pub fn close_capsule_frame(code: u32, reason: &str) -> Vec<u8> {
    let mut capsule = Vec::new();
    web_transport_proto::Capsule::CloseWebTransportSession { code, reason: reason.to_owned() }.encode(&mut capsule);
    let mut frame = Vec::with_capacity(capsule.len() + 4);
    put_varint(&mut frame, FRAME_DATA);
    put_varint(&mut frame, capsule.len() as u64);
    frame.extend_from_slice(&capsule);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wt_code_mapping_both_ways() {
        for code in [0u32, 1, 7, 0x1d, 0x1e, 0x1f, 0x13, 0xffff, 0xdead, 0xffff_fffe, 0xffff_ffff] {
            let h = wt_to_http3(code);
            assert!((WT_FIRST..=WT_LAST).contains(&h));
            assert_eq!(wt_from_http3(h), Some(code), "code {code:#x}");
        }
        assert_eq!(wt_to_http3(0), WT_FIRST);
        assert_eq!(wt_to_http3(u32::MAX), WT_LAST);
        assert_eq!(wt_to_http3(0x1e), WT_FIRST + 0x1f); // 0x1e skips the first reserved point
        assert_eq!(wt_from_http3(WT_FIRST + 0x1e), None); // reserved
        assert_eq!(wt_from_http3(WT_FIRST - 1), None);
        assert_eq!(wt_from_http3(WT_LAST + 1), None);
        assert_eq!(wt_from_http3(0x100), None);
        assert_eq!(code_from_wire(code_to_wire(7, false), false), Some(7));
        assert_eq!(code_to_wire(7, true).into_inner(), WT_FIRST + 7);
        assert_eq!(session_code_from_wire(u64::from(H3_NO_ERROR)), 0);
        assert_eq!(session_code_from_wire(wt_to_http3(42)), 42);
    }

    #[test]
    fn settings_modes() {
        let full = control_stream_bytes(SettingsMode::Full);
        let minimal = control_stream_bytes(SettingsMode::Minimal);
        assert_eq!(full[0], 0x00);
        let parsed = Settings::decode(&mut full.as_slice()).unwrap();
        assert_eq!(parsed.get(&Setting::WEBTRANSPORT_ENABLE_DEPRECATED).map(|v| v.into_inner()), Some(1));
        assert_eq!(parsed.get(&Setting::ENABLE_CONNECT_PROTOCOL).map(|v| v.into_inner()), Some(1));
        let parsed = Settings::decode(&mut minimal.as_slice()).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed.supports_webtransport(), 0);
    }

    #[test]
    fn varints_and_capsule_frame() {
        for v in [0u64, 63, 64, 16383, 16384, (1 << 30) - 1, 1 << 30, (1 << 62) - 1] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(get_varint(&b), Some((v, b.len())));
            assert_eq!(get_varint(&b[..b.len() - 1]), None);
        }
        let f = close_capsule_frame(0xdead, "bye");
        assert_eq!(get_varint(&f), Some((FRAME_DATA, 1)));
        let mut rest = &f[2..];
        let c = web_transport_proto::Capsule::decode(&mut rest).unwrap();
        assert_eq!(c, web_transport_proto::Capsule::CloseWebTransportSession { code: 0xdead, reason: "bye".into() });
    }
}
