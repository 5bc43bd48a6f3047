//! The seam between the request loop and the wire.
//!
//! The loop (the worker) knows four things, all protocol-neutral: an op's [`Prepared`]
//! request (built once per op from its [`Request`]: method, path and query, headers,
//! body bytes), [`Conn::connect`], [`Conn::exchange`] (one request with its templated
//! [`Parts`] spliced in: a status and the kept start of the body, or a [`SendError`]
//! carrying the report's [`ErrorClass`]), and close (dropping the [`Conn`]). TCP and TLS
//! are set up here once for every protocol; what speaks on the stream is chosen per
//! connection: HTTP/1.1 by einv-load's own client ([`h1`]), HTTP/2 through hyper ([`hyper`]).
//!
//! Adding a protocol (a raw TCP/XML gateway, gRPC) is one new
//! module here: a prepared form of [`Request`] in [`Prepared`], a [`Wire`] variant with
//! its handshake, exchange and error classes. The loop, the recorder and the reports do
//! not change.

mod h1;
mod hyper;
mod request;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use einv_report::ErrorClass;

pub use request::{Parts, Request, valid_target, valid_token, valid_value};

use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::dial::TcpDialer;
use super::tls::TlsClient;
use crate::profile::Protocol;

/// Connection counts shared by all workers (for the summary and the live gauge).
#[derive(Debug, Default)]
pub struct ConnStats {
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

/// Why an exchange did not produce a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The connection was already closed; the request was not written.
    NotSent,
    /// The request went out and failed.
    Failed(ErrorClass),
}

/// A response as [`Conn::exchange`] returns it.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// The body, if kept.
    pub body: Vec<u8>,
    /// From handing the request to the wire to the response head.
    pub ttfb: Duration,
}

/// An op's request in every form a wire sends it from, built once per op.
#[derive(Debug)]
pub struct Prepared {
    /// The op's name, for what is logged about it.
    pub name: String,
    pub request: Request,
    h1: h1::Prepared,
    hyper: hyper::Prepared,
}

impl Prepared {
    pub fn new(name: &str, request: Request) -> Prepared {
        Prepared { name: name.into(), h1: h1::Prepared::new(&request), hyper: hyper::Prepared::new(&request), request }
    }
}

/// What speaks on a connection's stream.
#[derive(Debug)]
enum Wire {
    Http1(h1::Conn<TcpStream>),
    Http1Tls(Box<h1::Conn<TlsStream<TcpStream>>>),
    Http2(hyper::Sender),
}

/// Where and how connections are made: the same for every connection of a run.
#[derive(Debug)]
pub struct Dialer<'a> {
    /// Opens the TCP connection: paced, from the run's source addresses.
    pub tcp: &'a TcpDialer,
    pub addr: SocketAddr,
    /// Bounds the TCP connect and, separately, the TLS handshake.
    pub timeout: Duration,
    pub protocol: Protocol,
    pub tls: Option<&'a TlsClient>,
}

/// An open connection. Dropping the last handle on it closes it and updates the counts.
#[derive(Debug)]
pub struct Conn {
    wire: Wire,
    /// Counts the connection open while any handle on it lives.
    _open: Arc<Open>,
    /// How long the TCP connect took (the request that opened it records this).
    pub connected_in: Duration,
    /// How long the TLS handshake took, for a TLS connection.
    pub tls_in: Option<Duration>,
}

#[derive(Debug)]
struct Open(Arc<ConnStats>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Conn {
    /// Open a connection, over TLS when the dialer has it. A failed handshake is a
    /// `connect_error` (its cause goes to `stats` for the summary's warning).
    pub async fn connect(d: &Dialer<'_>, stats: &Arc<ConnStats>) -> Result<Conn, ErrorClass> {
        let (addr, timeout) = (d.addr, d.timeout);
        let (stream, began) = d.tcp.connect(addr, timeout).await?;
        let connected_in = began.elapsed();
        // Requests are small and latency is the point: never wait for Nagle.
        let _ = stream.set_nodelay(true);
        let (wire, tls_in) = match d.tls {
            // In the clear `auto` is HTTP/1.1: there is no ALPN to ask, and h2c upgrades
            // are rare in gateways.
            None if d.protocol == Protocol::Http2 => (Wire::Http2(hyper::Sender::handshake(stream).await?), None),
            None => (Wire::Http1(h1::Conn::new(stream)), None),
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
                let h2 = match d.protocol {
                    Protocol::Http1 => false,
                    Protocol::Http2 => true,
                    Protocol::Auto => stream.get_ref().1.alpn_protocol() == Some(b"h2"),
                };
                let wire = match h2 {
                    true => Wire::Http2(hyper::Sender::handshake(stream).await?),
                    false => Wire::Http1Tls(Box::new(h1::Conn::new(stream))),
                };
                (wire, Some(tls_in))
            }
        };
        let open = stats.open.fetch_add(1, Ordering::Relaxed) + 1;
        stats.opened.fetch_add(1, Ordering::Relaxed);
        if matches!(wire, Wire::Http2(_)) {
            stats.http2.fetch_add(1, Ordering::Relaxed);
        }
        stats.max_open.fetch_max(open, Ordering::Relaxed);
        Ok(Conn { wire, _open: Arc::new(Open(stats.clone())), connected_in, tls_in })
    }

    /// The protocol this connection speaks.
    #[cfg(test)]
    pub fn protocol(&self) -> Protocol {
        match &self.wire {
            Wire::Http1(_) | Wire::Http1Tls(_) => Protocol::Http1,
            Wire::Http2(_) => Protocol::Http2,
        }
    }

    /// Another handle on this connection for one more stream slot (HTTP/2); `None` when
    /// the connection carries one request at a time.
    pub fn share(&self) -> Option<Conn> {
        let wire = match &self.wire {
            Wire::Http1(_) | Wire::Http1Tls(_) => return None,
            Wire::Http2(s) => Wire::Http2(s.share()),
        };
        Some(Conn { wire, _open: self._open.clone(), connected_in: self.connected_in, tls_in: self.tls_in })
    }

    /// Whether this handle's request, which timed out, was waiting for the server's
    /// HTTP/2 flow-control window to send its body.
    pub fn flow_stalled(&self) -> bool {
        match &self.wire {
            Wire::Http1(_) | Wire::Http1Tls(_) => false,
            Wire::Http2(s) => s.flow_stalled(),
        }
    }

    /// Whether the peer or the client has closed this connection (reconnect before reuse).
    pub fn is_closed(&self) -> bool {
        match &self.wire {
            Wire::Http1(c) => c.is_closed(),
            Wire::Http1Tls(c) => c.is_closed(),
            Wire::Http2(s) => s.is_closed(),
        }
    }

    /// Send one request of `prepared` with `parts` and read the whole response; returns
    /// the status, and the first `keep(status)` bytes of the body (ops that extract or
    /// check keep up to [`MAX_KEPT_BODY`], a failing answer its start for the report;
    /// most keep none).
    pub async fn exchange(
        &mut self,
        prepared: &Prepared,
        parts: Option<&Parts>,
        keep: impl Fn(u16) -> usize,
    ) -> Result<Response, SendError> {
        match &mut self.wire {
            Wire::Http1(c) => c.exchange(&prepared.h1, parts, keep).await,
            Wire::Http1Tls(c) => c.exchange(&prepared.h1, parts, keep).await,
            Wire::Http2(s) => s.exchange(&prepared.hyper, parts, keep).await,
        }
    }
}
