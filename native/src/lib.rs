//! moqt-native: QUIC + WebTransport (HTTP/3) transport for moqt on Node, as a napi-rs addon over quinn, with our
//! own WebTransport-over-HTTP/3 layer (`h3.rs`, `wt.rs`) on web-transport-proto's codecs.
//!
//! Transport only: Endpoint/Session/SendStream/RecvStream nouns, no MoQ logic (that lives in TypeScript, shared with
//! browsers). Expected outcomes (FIN, peer reset, STOP_SENDING, session closed) are returned as values; codes travel
//! as numbers. WebTransport stream codes are mapped to/from the HTTP/3 error space in `h3.rs` (one place); raw QUIC
//! codes pass unchanged.
//!
//! Teardown rule: every async method clones the `Arc` handles it needs *before* building its future and spawns a
//! `'static` future via `Env::spawn_future`; no future borrows `&self`. On process exit napi shuts its tokio runtime
//! down and then finalizes the JS wrappers; a parked future only owns `Arc`s, so nothing dangles. Locks are never
//! held across an `.await` on the send side (poll-based writes), and on the receive side a pending read is woken by a
//! cancellation flag before `stop()` takes the lock.

mod cancel;
mod cert;
mod counters;
mod endpoint;
mod fast;
mod h3;
mod session;
mod stream;
mod tls;
mod wt;
