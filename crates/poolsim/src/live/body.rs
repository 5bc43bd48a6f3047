//! Response bodies: whole, or dribbled out in timed chunks (the slow-body fault).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::{Body as HttpBody, Frame, SizeHint};

/// A slow body sends one chunk per tick: fine enough that a short answer is not a single
/// late chunk, coarse enough not to wake the runtime for every byte.
const TICK: Duration = Duration::from_millis(10);

/// The built-in target's response body.
#[derive(Debug)]
pub(crate) enum Body {
    Full(Full<Bytes>),
    Slow(Slow),
}

impl Body {
    /// `bytes` sent at `bytes_per_s`: the headers go at once, the first chunk one tick
    /// later, so the time to the last byte is about size / rate.
    pub(crate) fn slow(bytes: Bytes, bytes_per_s: u64) -> Body {
        let chunk = usize::try_from((bytes_per_s as u128 * TICK.as_millis() / 1000).max(1)).unwrap_or(usize::MAX);
        Body::Slow(Slow { rest: bytes, chunk, sleep: Box::pin(tokio::time::sleep(TICK)) })
    }
}

impl From<Full<Bytes>> for Body {
    fn from(b: Full<Bytes>) -> Body {
        Body::Full(b)
    }
}

#[derive(Debug)]
pub(crate) struct Slow {
    rest: Bytes,
    chunk: usize,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl HttpBody for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Body::Full(full) => Pin::new(full).poll_frame(cx),
            Body::Slow(slow) => {
                if slow.rest.is_empty() {
                    return Poll::Ready(None);
                }
                if slow.sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                let next = slow.sleep.deadline() + TICK;
                slow.sleep.as_mut().reset(next);
                let n = slow.chunk.min(slow.rest.len());
                Poll::Ready(Some(Ok(Frame::data(slow.rest.split_to(n)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Full(full) => full.is_end_stream(),
            Body::Slow(slow) => slow.rest.is_empty(),
        }
    }

    /// Exact, so hyper sends a content-length rather than chunked encoding.
    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(full) => full.size_hint(),
            Body::Slow(slow) => SizeHint::with_exact(slow.rest.len() as u64),
        }
    }
}
