//! Resolve-now-or-promise: poll a `'static` future once on the JS thread (noop waker, inside the runtime context); if
//! it is ready, return the value synchronously, otherwise hand the *same* future to the runtime as a Promise.
//!
//! Saves a runtime hop and a threadsafe-function call whenever the result is already available (buffered data,
//! stream credit, a queued incoming stream). Nothing is dropped mid-flight, so no cancel-safety is required of the
//! future.

use std::future::Future;
use std::task::{Context, Poll, Waker};

use napi::bindgen_prelude::*;

pub type NowOr<'env, T> = Either<T, PromiseRaw<'env, T>>;

pub fn now_or_promise<'env, T, F>(env: &'env Env, fut: F) -> Result<NowOr<'env, T>>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = Result<T>> + Send + 'static,
{
    let mut fut = Box::pin(fut);
    let mut cx = Context::from_waker(Waker::noop());
    let polled = within_runtime_if_available(|| fut.as_mut().poll(&mut cx));
    match polled {
        Poll::Ready(r) => Ok(Either::A(r?)),
        Poll::Pending => Ok(Either::B(env.spawn_future(fut)?)),
    }
}

/// Run a `'static` future inline up to its first wait (noop waker), and only if it has to wait hand it to the tokio
/// runtime, which polls it again with a real waker. Saves a task spawn per incoming stream whose header is already
/// buffered. Must be called inside the runtime.
pub fn now_or_spawn<F>(fut: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let mut fut = Box::pin(fut);
    let mut cx = Context::from_waker(Waker::noop());
    if fut.as_mut().poll(&mut cx).is_pending() {
        tokio::spawn(fut);
    }
}
