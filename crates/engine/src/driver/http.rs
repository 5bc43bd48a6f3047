//! One client connection: TCP connect with a timeout, the TLS handshake (for TLS
//! targets), the HTTP/1.1 or HTTP/2 handshake, request/response. The worker sees only
//! [`Conn`]: which protocol is on the wire is decided here, once per connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use einv_report::ErrorClass;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::{http1, http2};
use hyper::rt::{Read, Write};
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::tls::TlsClient;
use crate::profile::Protocol;

/// Connection counts shared by all workers (for the summary and the live gauge).
#[derive(Debug, Default)]
pub struct ConnStats {
    /// How new connections are opened (paced, from which source addresses): shared by
    /// every worker, as the counts are.
    pub dialer: super::dial::Dialer,
    pub open: AtomicU64,
    pub opened: AtomicU64,
    pub max_open: AtomicU64,
    /// TLS handshakes completed, and how many of them resumed an earlier session.
    pub tls_handshakes: AtomicU64,
    pub tls_resumed: AtomicU64,
    /// TLS handshakes that failed (each also counted as a `connect_error`).
    pub tls_failed: AtomicU64,
    /// Connections that speak HTTP/2 (the rest of `opened` speak HTTP/1.1).
    pub http2: AtomicU64,
    /// Why the first failed TLS handshake failed, for the summary's warning.
    pub tls_error: Mutex<Option<String>>,
}

impl ConnStats {
    /// A warning for the summary when TLS handshakes failed, naming the first cause.
    pub fn tls_warning(&self) -> Option<String> {
        let n = self.tls_failed.load(Ordering::Relaxed);
        let first = self.tls_error.lock().unwrap_or_else(|e| e.into_inner()).clone();
        (n > 0).then(|| {
            format!("{n} TLS handshakes failed (counted as connect_error); the first: {}", first.unwrap_or_default())
        })
    }

    fn tls_failure(&self, e: &std::io::Error) {
        if self.tls_failed.fetch_add(1, Ordering::Relaxed) == 0 {
            let why = e.get_ref().map_or_else(|| e.to_string(), ToString::to_string);
            tracing::warn!("TLS handshake failed: {why}");
            *self.tls_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
        }
    }
}

/// Bodies kept for checks and extraction are cut here: an invoice API's answers are small,
/// and a huge one must not grow memory.
pub const MAX_KEPT_BODY: usize = 1 << 20;

/// Why a send did not produce a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The connection was already closed; the request was not written.
    NotSent,
    /// The request went out and failed.
    Failed(ErrorClass),
}

/// The protocol half of a connection: hyper's request sender for what was negotiated.
enum Sender {
    Http1(http1::SendRequest<Full<Bytes>>),
    Http2(http2::SendRequest<Full<Bytes>>),
}

impl Sender {
    /// The HTTP handshake on a connected (and, for TLS, secured) stream. HTTP/2 when the
    /// profile asks for it (prior knowledge in the clear), or when ALPN chose `h2`.
    async fn handshake<S>(io: S, h2: bool) -> Result<Sender, ErrorClass>
    where
        S: Read + Write + Unpin + Send + 'static,
    {
        if h2 {
            let (sender, connection) = http2::handshake(TokioExecutor::new(), io).await.map_err(|e| classify(&e))?;
            tokio::spawn(connection);
            return Ok(Sender::Http2(sender));
        }
        let (sender, connection) = http1::handshake(io).await.map_err(|e| classify(&e))?;
        tokio::spawn(connection);
        Ok(Sender::Http1(sender))
    }

    fn is_closed(&self) -> bool {
        match self {
            Sender::Http1(s) => s.is_closed(),
            Sender::Http2(s) => s.is_closed(),
        }
    }

    async fn ready(&mut self) -> Result<(), hyper::Error> {
        match self {
            Sender::Http1(s) => s.ready().await,
            Sender::Http2(s) => s.ready().await,
        }
    }

    async fn try_send(
        &mut self,
        req: Request<Full<Bytes>>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, hyper::client::conn::TrySendError<Request<Full<Bytes>>>> {
        match self {
            Sender::Http1(s) => s.try_send_request(req).await,
            Sender::Http2(s) => s.try_send_request(req).await,
        }
    }
}

/// An open connection. Dropping it closes the socket and updates the counts.
pub struct Conn {
    sender: Sender,
    stats: Arc<ConnStats>,
    /// How long the TCP connect took (the request that opened it records this).
    pub connected_in: Duration,
    /// How long the TLS handshake took, for a TLS connection.
    pub tls_in: Option<Duration>,
}

/// A response as [`Conn::send`] returns it.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// The body, if kept.
    pub body: Vec<u8>,
    /// From handing the request to hyper (which writes it at once) to the response head.
    pub ttfb: Duration,
}

impl Conn {
    /// Open a connection, over TLS when `tls` is given. `timeout` bounds the TCP connect
    /// and, separately, the TLS handshake. A failed handshake is a `connect_error` (its
    /// cause goes to `stats` for the summary's warning).
    pub async fn connect(
        addr: SocketAddr,
        (timeout, protocol): (Duration, Protocol),
        stats: &Arc<ConnStats>,
        tls: Option<&TlsClient>,
    ) -> Result<Conn, ErrorClass> {
        let (stream, began) = stats.dialer.connect(addr, timeout).await?;
        let connected_in = began.elapsed();
        // Requests are small and latency is the point: never wait for Nagle.
        let _ = stream.set_nodelay(true);
        let (sender, tls_in) = match tls {
            // In the clear `auto` is HTTP/1.1: there is no ALPN to ask, and h2c upgrades
            // are rare in gateways.
            None => (Sender::handshake(TokioIo::new(stream), protocol == Protocol::Http2).await?, None),
            Some(tls) => {
                let began = Instant::now();
                let stream = match tokio::time::timeout(timeout, tls.handshake(stream)).await {
                    Err(_) => return Err(ErrorClass::ConnectTimeout),
                    Ok(Err(e)) => {
                        stats.tls_failure(&e);
                        return Err(ErrorClass::Connect);
                    }
                    Ok(Ok(s)) => s,
                };
                let tls_in = began.elapsed();
                stats.tls_handshakes.fetch_add(1, Ordering::Relaxed);
                if stream.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed) {
                    stats.tls_resumed.fetch_add(1, Ordering::Relaxed);
                }
                let h2 = match protocol {
                    Protocol::Http1 => false,
                    Protocol::Http2 => true,
                    Protocol::Auto => stream.get_ref().1.alpn_protocol() == Some(b"h2"),
                };
                (Sender::handshake(TokioIo::new(stream), h2).await?, Some(tls_in))
            }
        };
        let open = stats.open.fetch_add(1, Ordering::Relaxed) + 1;
        stats.opened.fetch_add(1, Ordering::Relaxed);
        if matches!(sender, Sender::Http2(_)) {
            stats.http2.fetch_add(1, Ordering::Relaxed);
        }
        stats.max_open.fetch_max(open, Ordering::Relaxed);
        Ok(Conn { sender, stats: stats.clone(), connected_in, tls_in })
    }

    /// The protocol this connection speaks (for the summary).
    pub fn protocol(&self) -> Protocol {
        match self.sender {
            Sender::Http1(_) => Protocol::Http1,
            Sender::Http2(_) => Protocol::Http2,
        }
    }

    /// Whether the peer or hyper has closed this connection (reconnect before reuse).
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    /// Send one request and read the whole response body; returns the status, and the
    /// first `keep(status)` bytes of the body (ops that extract or check keep up to
    /// [`MAX_KEPT_BODY`], a failing answer its start for the report; most keep none).
    pub async fn send(
        &mut self,
        req: Request<Full<Bytes>>,
        keep: impl Fn(u16) -> usize,
    ) -> Result<Response, SendError> {
        // A server may close an idle keep-alive connection (keepalive_requests, idle
        // timeouts) an instant before we reuse it: then the request never left, and that
        // is no error of the target's. hyper hands such a request back.
        if self.sender.ready().await.is_err() {
            return Err(SendError::NotSent);
        }
        let handed = Instant::now();
        let resp = match self.sender.try_send(req).await {
            Ok(resp) => resp,
            Err(mut e) => {
                let sent = e.take_message().is_none();
                return Err(if sent { SendError::Failed(classify(e.error())) } else { SendError::NotSent });
            }
        };
        let ttfb = handed.elapsed();
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

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn").field("closed", &self.is_closed()).finish()
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.stats.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Map a hyper error to the class a user sees in the report.
fn classify(e: &hyper::Error) -> ErrorClass {
    if e.is_parse() || e.is_parse_status() || e.is_parse_too_large() {
        return ErrorClass::Protocol;
    }
    if e.is_timeout() {
        return ErrorClass::Timeout;
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
