//! HTTP/2 through hyper's client connections: the op's request in hyper's types (built
//! once), the handshake on a connected stream, one exchange, and hyper's errors in the
//! report's classes. (HTTP/1.1 is einv-load's own: [`super::h1`].)

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use einv_report::ErrorClass;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, SizeHint};
use hyper::client::conn::http2;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Uri};
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::{MAX_KEPT_BODY, Parts, Request, Response, SendError};

/// An op's request in hyper's types; each send clones its cheap parts.
#[derive(Debug)]
pub struct Prepared {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    /// Names of the headers whose values are rendered per request.
    templated: Vec<HeaderName>,
}

impl Prepared {
    /// Built from a validated [`Request`]: its method, names and values are valid already,
    /// so a conversion that fails (it cannot) leaves the part out rather than panic.
    pub fn new(r: &Request) -> Prepared {
        let mut headers = HeaderMap::new();
        for (k, v) in &r.headers {
            if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_maybe_shared(v.clone())) {
                headers.insert(k, v);
            }
        }
        Prepared {
            method: Method::from_bytes(r.method.as_bytes()).unwrap_or_default(),
            uri: Uri::from_maybe_shared(r.path.clone()).unwrap_or_default(),
            headers,
            body: r.body.clone(),
            templated: r.templated.iter().filter_map(|n| HeaderName::from_bytes(n.as_bytes()).ok()).collect(),
        }
    }

    /// The request to send: the op's static request with this request's parts put in.
    /// `None` if a part is one hyper refuses though the neutral rules let it through.
    fn request(&self, parts: Option<&Parts>, progress: &Progress) -> Option<hyper::Request<Tracked>> {
        let body = parts.and_then(|p| p.body.clone()).unwrap_or_else(|| self.body.clone());
        // Only a body can stall: a request without one shares no state with its handle.
        let progress = (!body.is_empty()).then(|| progress.clone().queued());
        let mut req = hyper::Request::new(Tracked { body: Full::new(body), progress });
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = match parts.and_then(|p| p.path.clone()) {
            Some(path) => Uri::from_maybe_shared(path).ok()?,
            None => self.uri.clone(),
        };
        let mut headers = self.headers.clone();
        for (name, value) in self.templated.iter().zip(parts.map_or(&[][..], |p| &p.headers)) {
            headers.insert(name.clone(), HeaderValue::from_maybe_shared(value.clone()).ok()?);
        }
        *req.headers_mut() = headers;
        Some(req)
    }
}

/// Where the body of a handle's request in flight is, so that a timeout can tell a
/// flow-control stall: hyper pulls a body only once its stream is open (HEADERS sent),
/// then holds the chunk until the stream and connection windows have room, and drops the
/// body when it has handed all of it to h2. Pulled but not yet dropped at the deadline:
/// the request waited for the server's window. One word per handle: the request's
/// number × 4 + its state, so a late drop of an earlier request's body changes nothing.
#[derive(Debug, Clone)]
struct Progress {
    word: Arc<AtomicU64>,
    request: u64,
}

const IDLE: u64 = 0;
const QUEUED: u64 = 1;
const PULLED: u64 = 2;

impl Progress {
    fn new() -> Progress {
        Progress { word: Arc::new(AtomicU64::new(IDLE)), request: 0 }
    }

    /// The handle's next request: its body is queued.
    fn queued(self) -> Progress {
        self.word.store(self.request * 4 + QUEUED, Ordering::Relaxed);
        self
    }

    /// From `from` to `to`, if the word is still this request's.
    fn step(&self, from: u64, to: u64) {
        let _ = self.word.compare_exchange(
            self.request * 4 + from,
            self.request * 4 + to,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
    }

    fn stalled(&self) -> bool {
        self.word.load(Ordering::Relaxed) == self.request * 4 + PULLED
    }
}

/// A request body that tells its [`Progress`] when hyper pulls it and when it lets go.
#[derive(Debug)]
struct Tracked {
    body: Full<Bytes>,
    /// `None` for an empty body (sent with the headers; it cannot stall).
    progress: Option<Progress>,
}

impl Body for Tracked {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some(p) = &this.progress {
            p.step(QUEUED, PULLED);
        }
        Pin::new(&mut this.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(p) = &self.progress {
            p.step(PULLED, IDLE);
            p.step(QUEUED, IDLE);
        }
    }
}

/// hyper's HTTP/2 request sender (one stream slot's handle on the connection, which runs
/// as a task of its own).
#[derive(Debug)]
pub struct Sender {
    send: http2::SendRequest<Tracked>,
    progress: Progress,
}

impl Sender {
    /// The HTTP/2 handshake on a connected (and, for TLS, secured) stream.
    pub async fn handshake<S>(io: S) -> Result<Sender, ErrorClass>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let io = TokioIo::new(io);
        let (send, connection) = http2::handshake(TokioExecutor::new(), io).await.map_err(|e| classify(&e))?;
        tokio::spawn(connection);
        Ok(Sender { send, progress: Progress::new() })
    }

    pub fn is_closed(&self) -> bool {
        self.send.is_closed()
    }

    /// Another handle on the same connection (its streams share it).
    pub fn share(&self) -> Sender {
        Sender { send: self.send.clone(), progress: Progress::new() }
    }

    /// Whether the request in flight on this handle has its stream open and its body
    /// waiting for flow-control window (asked when it timed out).
    pub fn flow_stalled(&self) -> bool {
        self.progress.stalled()
    }

    /// Send one request and read the whole response body, keeping the first
    /// `keep(status)` bytes of it.
    pub async fn exchange(
        &mut self,
        prepared: &Prepared,
        parts: Option<&Parts>,
        keep: impl Fn(u16) -> usize,
    ) -> Result<Response, SendError> {
        self.progress.request += 1;
        let Some(req) = prepared.request(parts, &self.progress) else {
            return Err(SendError::Failed(ErrorClass::Other));
        };
        // A server may close an idle keep-alive connection (keepalive_requests, idle
        // timeouts) an instant before we reuse it: then the request never left, and that
        // is no error of the target's. hyper hands such a request back.
        if self.send.ready().await.is_err() {
            return Err(SendError::NotSent);
        }
        let handed = Instant::now();
        let resp = match self.send.try_send_request(req).await {
            Ok(resp) => resp,
            Err(mut e) => {
                let sent = e.take_message().is_none();
                return Err(if sent { SendError::Failed(classify(e.error())) } else { SendError::NotSent });
            }
        };
        let ttfb: Duration = handed.elapsed();
        let status = resp.status().as_u16();
        let mut body = resp.into_body();
        let mut kept = Vec::new();
        let limit = keep(status).min(MAX_KEPT_BODY);
        // Read frame by frame; most ops only wait for the body and drop it.
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| SendError::Failed(classify(&e)))?;
            if let Some(data) = frame.data_ref().filter(|_| kept.len() < limit) {
                kept.extend_from_slice(&data[..data.len().min(limit - kept.len())]);
            }
        }
        Ok(Response { status, body: kept, ttfb })
    }
}

/// An HTTP/2 error the peer sent, from hyper's source chain: GOAWAY ends the connection
/// (with its streams), RST_STREAM one request. A flow-control stall raises no error: it
/// is told at the timeout ([`Sender::flow_stalled`]).
fn h2_class(e: &hyper::Error) -> Option<ErrorClass> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(h2) = s.downcast_ref::<h2::Error>() {
            tracing::debug!("HTTP/2 error: {h2} (reason {:?})", h2.reason());
            return match () {
                _ if h2.is_go_away() && h2.is_remote() => Some(ErrorClass::GoAway),
                _ if h2.is_reset() && h2.is_remote() => Some(ErrorClass::StreamReset),
                _ => None,
            };
        }
        source = s.source();
    }
    None
}

/// Map a hyper error to the class a user sees in the report.
fn classify(e: &hyper::Error) -> ErrorClass {
    if e.is_parse() || e.is_parse_status() || e.is_parse_too_large() {
        return ErrorClass::Protocol;
    }
    if e.is_timeout() {
        return ErrorClass::Timeout;
    }
    if let Some(class) = h2_class(e) {
        return class;
    }
    if e.is_incomplete_message() || e.is_closed() || e.is_canceled() {
        return ErrorClass::Reset;
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            return match io.kind() {
                ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => ErrorClass::Reset,
                TimedOut => ErrorClass::Timeout,
                // hyper's body decoder: a bad chunk size or chunk framing.
                InvalidData | InvalidInput => ErrorClass::Protocol,
                _ => ErrorClass::Other,
            };
        }
        source = s.source();
    }
    ErrorClass::Other
}
