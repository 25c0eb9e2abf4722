//! Send and receive streams: quinn streams; on a WebTransport session their reset/stop codes are mapped to/from the
//! HTTP/3 error space (`h3::code_to_wire` / `code_from_wire`), on raw QUIC they pass unchanged. Transport only.
//!
//! Send side: writes are poll-based under a short `std::sync::Mutex` (never held across an await), so `reset`,
//! `set_priority` and `stopped` never queue behind a write blocked on flow control. `try_write` is a synchronous fast
//! path that hands bytes straight to quinn from the JS buffer; only the part quinn cannot take now is copied and
//! awaited (`write`), and that promise resolving is the backpressure signal.
//! Receive side: `read_chunk` under a `tokio::sync::Mutex`, after the outcome of a read made before the stream was
//! handed out, if any (raw QUIC peer streams surface once readable: `wt.rs`); `stop()` first sets the cancellation
//! flag, which wakes a pending read (quinn's `read_chunk` is cancel-safe), then stops the stream. `try_read` polls
//! once without waiting.
//! Teardown rule (lib.rs): futures own `Arc`s only.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use napi::bindgen_prelude::*;
use napi_derive::napi;
use quinn::{ReadError, WriteError};

use crate::cancel::Cancel;
use crate::h3::{code_from_wire, code_to_wire};
use crate::fast::{now_or_promise, NowOr};
use crate::wt::{FirstRead, PeerRecv};

/// A send-side failure, as a value: `kind` is "stopped" (peer STOP_SENDING, `code` set when it decoded: a
/// WebTransport code outside the application range leaves it unset), "reset" (stream already reset or finished
/// locally) or "closed" (the session is gone).
#[napi(object)]
pub struct WriteFailure {
    pub kind: String,
    pub code: Option<u32>,
}

fn write_failure(e: WriteError, web: bool) -> WriteFailure {
    match e {
        WriteError::Stopped(code) => WriteFailure { kind: "stopped".into(), code: code_from_wire(code, web) },
        WriteError::ConnectionLost(_) | WriteError::ZeroRttRejected => WriteFailure { kind: "closed".into(), code: None },
        WriteError::ClosedStream => WriteFailure { kind: "reset".into(), code: None },
    }
}

pub struct SendShared {
    stream: Mutex<quinn::SendStream>,
    cancel: Cancel,
    /// WebTransport (codes mapped) or raw QUIC.
    web: bool,
}

#[napi]
pub struct NativeSendStream {
    inner: Arc<SendShared>,
    _count: crate::counters::Count,
}

impl NativeSendStream {
    pub fn new(stream: quinn::SendStream, web: bool) -> Self {
        let inner = Arc::new(SendShared { stream: Mutex::new(stream), cancel: Cancel::default(), web });
        Self { inner, _count: crate::counters::Count::new(crate::counters::Gauge::SendStreams) }
    }
}

/// Push `buf[*off..]` into quinn until it blocks; then FIN if asked. Called with the stream lock held.
fn poll_push(
    s: &mut quinn::SendStream,
    cx: &mut Context<'_>,
    buf: &[u8],
    off: &mut usize,
    fin: bool,
) -> Poll<std::result::Result<(), WriteError>> {
    while *off < buf.len() {
        match Pin::new(&mut *s).poll_write(cx, &buf[*off..]) {
            Poll::Ready(Ok(n)) => *off += n,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
    }
    if fin {
        s.finish().map_err(|_| WriteError::ClosedStream)?;
    }
    Poll::Ready(Ok(()))
}

#[napi]
impl NativeSendStream {
    /// Synchronous fast path: hands as much of `data` to quinn as it accepts right now (FIN too when all of it was
    /// accepted and `fin`). Returns the number of bytes accepted, or -1 when the stream failed (call `write` to learn
    /// why). Never waits.
    #[napi]
    pub fn try_write(&self, data: Uint8ArraySlice, fin: bool) -> i64 {
        if self.inner.cancel.is_cancelled() {
            return -1;
        }
        let Ok(mut s) = self.inner.stream.lock() else { return -1 };
        let mut cx = Context::from_waker(Waker::noop());
        let mut off = 0usize;
        match poll_push(&mut s, &mut cx, &data, &mut off, fin) {
            Poll::Ready(Ok(())) => off as i64,
            Poll::Ready(Err(_)) => -1,
            Poll::Pending => off as i64,
        }
    }

    /// `try_write` of `head` then `body` under one lock and one JS crossing (a frame's length prefix and its payload,
    /// without concatenating them in JS). Returns the bytes accepted from both together (FIN only once all of them
    /// were), or -1 when the stream failed. Never waits.
    #[napi]
    pub fn try_write2(&self, head: Uint8ArraySlice, body: Uint8ArraySlice, fin: bool) -> i64 {
        if self.inner.cancel.is_cancelled() {
            return -1;
        }
        let Ok(mut s) = self.inner.stream.lock() else { return -1 };
        let mut cx = Context::from_waker(Waker::noop());
        let mut off = 0usize;
        match poll_push(&mut s, &mut cx, &head, &mut off, false) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(_)) => return -1,
            Poll::Pending => return off as i64,
        }
        let mut off2 = 0usize;
        match poll_push(&mut s, &mut cx, &body, &mut off2, fin) {
            Poll::Ready(Ok(())) | Poll::Pending => (off + off2) as i64,
            Poll::Ready(Err(_)) => -1,
        }
    }

    /// Copies `data` and writes all of it (then FIN when `fin`), resolving once quinn accepted it: `undefined` on
    /// success, a `WriteFailure` otherwise. Only one write may be pending at a time.
    #[napi(ts_return_type = "Promise<WriteFailure | undefined>")]
    pub fn write<'env>(&self, env: &'env Env, data: Uint8ArraySlice, fin: bool) -> Result<PromiseRaw<'env, Option<WriteFailure>>> {
        let buf: Vec<u8> = data.to_vec();
        let inner = self.inner.clone();
        env.spawn_future(async move {
            let mut off = 0usize;
            let push = poll_fn(|cx| {
                let mut s = inner.stream.lock().map_err(|_| WriteError::ClosedStream)?;
                poll_push(&mut s, cx, &buf, &mut off, fin)
            });
            let res = tokio::select! {
                biased;
                _ = inner.cancel.cancelled() => Err(WriteError::ClosedStream),
                r = push => r,
            };
            Ok(res.err().map(|e| write_failure(e, inner.web)))
        })
    }

    /// RESET_STREAM with `code` (mapped into the HTTP/3 space for WebTransport). Idempotent; wakes a pending write.
    #[napi]
    pub fn reset(&self, code: u32) {
        self.inner.cancel.cancel();
        if let Ok(mut s) = self.inner.stream.lock() {
            let _ = s.reset(code_to_wire(code, self.inner.web));
        }
    }

    /// quinn send priority (higher first).
    #[napi]
    pub fn set_priority(&self, priority: i32) {
        if let Ok(s) = self.inner.stream.lock() {
            let _ = s.set_priority(priority);
        }
    }

    /// Resolves with the peer's STOP_SENDING code, or `undefined` when the stream ended otherwise (all data acked
    /// after FIN, local reset, session closed).
    #[napi(ts_return_type = "Promise<number | undefined>")]
    pub fn stopped<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Option<u32>>> {
        let inner = self.inner.clone();
        env.spawn_future(async move {
            // quinn's `stopped` future owns its handles: the stream lock is not held while it waits.
            let Some(stopped) = inner.stream.lock().ok().map(|s| s.stopped()) else { return Ok(None) };
            let code = tokio::select! {
                biased;
                _ = inner.cancel.cancelled() => None,
                r = stopped => match r {
                    Ok(Some(code)) => Some(code_from_wire(code, inner.web).unwrap_or(0)),
                    _ => None,
                },
            };
            Ok(code)
        })
    }
}

/// One read, as a value: `data` (up to `max` bytes) and/or a terminal outcome: `fin`, `resetCode` (peer RESET_STREAM)
/// or `error`: "stopped" (we sent STOP_SENDING), "closed" (session gone), "invalid-reset" (a reset code outside the
/// WebTransport space). When both data and an outcome are set, the data came first.
#[napi(object)]
pub struct ReadResult {
    pub data: Option<Buffer>,
    pub fin: bool,
    pub reset_code: Option<u32>,
    pub error: Option<String>,
}

impl ReadResult {
    pub fn error(kind: &str) -> Self {
        Self { data: None, fin: false, reset_code: None, error: Some(kind.into()) }
    }
}

/// Turn the first outcome into a ReadResult, then keep taking chunks that are already buffered (no waiting) until
/// `max` bytes, FIN or an error: quinn hands out one chunk per received STREAM frame, so this makes one JS crossing
/// carry many packets' worth of data. A terminal outcome found after some data rides along with that data.
fn drain(
    s: &mut RecvState,
    web: bool,
    first: std::result::Result<Option<quinn::Chunk>, ReadError>,
    max: usize,
) -> ReadResult {
    let mut out = ReadResult { data: None, fin: false, reset_code: None, error: None };
    let mut buf: Vec<u8> = Vec::new();
    let mut next = Some(first);
    let mut cx = Context::from_waker(Waker::noop());
    while let Some(r) = next.take() {
        match r {
            Ok(Some(chunk)) => {
                if buf.is_empty() {
                    buf.reserve(chunk.bytes.len());
                }
                buf.extend_from_slice(&chunk.bytes);
                if buf.len() < max {
                    if let Poll::Ready(r) = s.poll_next(&mut cx, max - buf.len()) {
                        next = Some(r);
                    }
                }
            }
            Ok(None) => out.fin = true,
            Err(ReadError::Reset(code)) => match code_from_wire(code, web) {
                Some(code) => out.reset_code = Some(code),
                None => out.error = Some("invalid-reset".into()),
            },
            Err(ReadError::ConnectionLost(_) | ReadError::IllegalOrderedRead | ReadError::ZeroRttRejected) => {
                out.error = Some("closed".into())
            }
            Err(ReadError::ClosedStream) => out.error = Some("stopped".into()),
        }
    }
    if !buf.is_empty() {
        out.data = Some(Buffer::from(buf));
    }
    out
}

/// A receive stream and the outcome of a read made before it was handed out (`PeerRecv::first`), returned first.
struct RecvState {
    stream: quinn::RecvStream,
    first: Option<FirstRead>,
}

impl RecvState {
    /// The next outcome: the stored first one (a chunk longer than `max` is split, the rest kept), else quinn's
    /// `read_chunk` polled with `cx`.
    fn poll_next(&mut self, cx: &mut Context<'_>, max: usize) -> Poll<FirstRead> {
        match self.first.take() {
            Some(Ok(Some(mut chunk))) if chunk.bytes.len() > max => {
                let head = chunk.bytes.split_to(max);
                let offset = chunk.offset;
                chunk.offset += max as u64;
                self.first = Some(Ok(Some(chunk)));
                Poll::Ready(Ok(Some(quinn::Chunk { offset, bytes: head })))
            }
            Some(r) => Poll::Ready(r),
            None => pin!(self.stream.read_chunk(max, true)).poll(cx),
        }
    }
}

pub struct RecvShared {
    stream: tokio::sync::Mutex<RecvState>,
    cancel: Cancel,
    /// WebTransport (codes mapped) or raw QUIC.
    web: bool,
}

#[napi]
pub struct NativeRecvStream {
    inner: Arc<RecvShared>,
    _count: crate::counters::Count,
}

impl NativeRecvStream {
    pub fn new(recv: impl Into<PeerRecv>, web: bool) -> Self {
        let PeerRecv { stream, first } = recv.into();
        Self {
            inner: Arc::new(RecvShared {
                stream: tokio::sync::Mutex::new(RecvState { stream, first }),
                cancel: Cancel::default(),
                web,
            }),
            _count: crate::counters::Count::new(crate::counters::Gauge::RecvStreams),
        }
    }
}

#[napi]
impl NativeRecvStream {
    /// Synchronous fast path: a chunk (≤ `max` bytes), FIN, reset or error when one is ready now, else `null`.
    #[napi]
    pub fn try_read(&self, max: u32) -> Option<ReadResult> {
        if self.inner.cancel.is_cancelled() {
            return Some(ReadResult::error("stopped"));
        }
        let mut s = self.inner.stream.try_lock().ok()?;
        let max = max.max(1) as usize;
        let mut cx = Context::from_waker(Waker::noop());
        let first = match s.poll_next(&mut cx, max) {
            Poll::Ready(r) => r,
            Poll::Pending => return None,
        };
        Some(drain(&mut s, self.inner.web, first, max))
    }

    /// The next chunk (≤ `max` bytes, buffered chunks coalesced), FIN, reset or error: synchronously when one is
    /// ready now, else as a Promise. One read at a time.
    #[napi(ts_return_type = "ReadResult | Promise<ReadResult>")]
    pub fn read<'env>(&self, env: &'env Env, max: u32) -> Result<NowOr<'env, ReadResult>> {
        let inner = self.inner.clone();
        now_or_promise(env, async move {
            let read = async {
                let mut s = inner.stream.lock().await;
                if inner.cancel.is_cancelled() {
                    return ReadResult::error("stopped");
                }
                let max = max.max(1) as usize;
                let first = poll_fn(|cx| s.poll_next(cx, max)).await;
                drain(&mut s, inner.web, first, max)
            };
            Ok(tokio::select! {
                biased;
                _ = inner.cancel.cancelled() => ReadResult::error("stopped"),
                r = read => r,
            })
        })
    }

    /// STOP_SENDING with `code` (mapped into the HTTP/3 space for WebTransport). Idempotent; a pending read resolves
    /// with error "stopped".
    #[napi]
    pub fn stop(&self, code: u32) {
        if self.inner.cancel.is_cancelled() {
            return;
        }
        self.inner.cancel.cancel();
        let wire = code_to_wire(code, self.inner.web);
        if let Ok(mut s) = self.inner.stream.try_lock() {
            let _ = s.stream.stop(wire);
            return;
        }
        let inner = self.inner.clone();
        napi::bindgen_prelude::spawn(async move {
            let _ = inner.stream.lock().await.stream.stop(wire);
        });
    }
}
