//! The built-in target's connections: accepting them (at most `max-connections` at once,
//! backing off when the process runs out of file descriptors) and watching each one, so
//! that a client that sends its request head too slowly, or leaves its connection idle,
//! is disconnected ([`ServerLimits`]).

use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::handler::{self, State};
use crate::ServerLimits;

/// Largest request head (request line and headers): an invoice API's are well under 1 KiB;
/// longer is answered 431.
const MAX_HEAD: usize = 16 * 1024;
/// hyper's read buffer per connection: bounds what a connection holds while it reads.
const MAX_READ_BUF: usize = 64 * 1024;
/// Accept back-off after running out of file descriptors (or anything else unexpected):
/// from this, doubling, ...
const MIN_PAUSE: Duration = Duration::from_millis(5);
/// ... to at most this.
const MAX_PAUSE: Duration = Duration::from_secs(1);
/// After a 413, how long the connection stays open (unread) before it is closed: the
/// client has time to read the answer before the reset that its unread body causes.
const LINGER: Duration = Duration::from_secs(2);

/// The connection slots: taken on accept, given back when the connection ends.
#[derive(Debug)]
pub(super) struct Slots {
    free: Arc<Semaphore>,
    pub(super) max: usize,
    refused: AtomicU64,
}

impl Slots {
    pub(super) fn new(max: usize) -> Slots {
        Slots { free: Arc::new(Semaphore::new(max)), max, refused: AtomicU64::new(0) }
    }

    /// Connections open now, and refused so far for want of a slot.
    pub(super) fn gauges(&self) -> (usize, u64) {
        (self.max - self.free.available_permits(), self.refused.load(Ordering::Relaxed))
    }
}

/// Accept connections until `stop`, each served on its own task.
pub(super) async fn accept_loop(
    listener: TcpListener,
    state: Arc<State>,
    mut stop: watch::Receiver<bool>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    http2: bool,
) {
    let mut pause = None;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                pause = accept_pause(&e, pause);
                if let Some(pause) = pause {
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = stop.changed() => return,
                    }
                }
                continue;
            }
        };
        pause = None;
        let Ok(slot) = state.connections.free.clone().try_acquire_owned() else {
            state.connections.refused.fetch_add(1, Ordering::Relaxed);
            turn_away(&stream, tls.is_some());
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (state, stop, tls) = (state.clone(), stop.clone(), tls.clone());
        tokio::spawn(async move {
            let accepted = Instant::now();
            match tls {
                // The handshake runs on the connection's own task, so a handshake storm
                // costs the server's threads but never stalls accepting; it counts
                // against the first request's header timeout, so a silent client cannot
                // keep its slot.
                Some(acceptor) => {
                    let deadline = tokio::time::Instant::from_std(accepted + state.spec.limits.header_timeout);
                    if let Ok(Ok(stream)) = tokio::time::timeout_at(deadline, acceptor.accept(stream)).await {
                        serve(stream, (state, http2), stop, accepted, slot).await;
                    }
                }
                None => serve(stream, (state, http2), stop, accepted, slot).await,
            }
        });
    }
}

/// How long to wait before accepting again after `e`, the last wait having been `last`.
/// None when the peer gave up before we took its connection: nothing is wrong here.
/// Otherwise (out of file descriptors or memory, or anything unforeseen) a pause doubling
/// from 5 ms to 1 s: the connection waiting in the backlog keeps the listener ready, so
/// retrying at once would spin a core and serve nobody.
fn accept_pause(e: &io::Error, last: Option<Duration>) -> Option<Duration> {
    use io::ErrorKind::{ConnectionAborted, ConnectionReset, Interrupted};
    match e.kind() {
        ConnectionAborted | ConnectionReset | Interrupted => None,
        _ => Some(last.map_or(MIN_PAUSE, |d| (d * 2).min(MAX_PAUSE))),
    }
}

/// A connection over the limit: told so (over plain HTTP) and closed at once.
fn turn_away(stream: &tokio::net::TcpStream, tls: bool) {
    if !tls {
        let body = r#"{"code":"E503","msg":"server busy: too many connections"}"#;
        let head = "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1";
        let answer = format!("{head}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}", body.len());
        // A fresh socket's send buffer is empty: the answer fits, or the client is gone.
        let _ = stream.try_write(answer.as_bytes());
    }
}

/// Serve HTTP/1.1 (and, with `http2`, HTTP/2 as well) on one accepted connection until it
/// closes, the server stops, or the connection's deadline passes; `_slot` is given back
/// when it ends.
async fn serve<S>(
    stream: S,
    (state, http2): (Arc<State>, bool),
    stop: watch::Receiver<bool>,
    accepted: Instant,
    _slot: OwnedSemaphorePermit,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = state.spec.limits;
    let watch = Arc::new(Watch::new(accepted));
    let io = Watched { io: stream, watch: watch.clone(), shut: false, linger: None };
    let service = {
        let watch = watch.clone();
        service_fn(move |req| {
            let (state, watch) = (state.clone(), watch.clone());
            let serving = Serving::start(watch);
            async move {
                let resp = handler::handle(state, req).await;
                if resp.as_ref().is_ok_and(|r| r.status() == hyper::StatusCode::PAYLOAD_TOO_LARGE) {
                    serving.0.linger.store(true, Ordering::Relaxed);
                }
                resp
            }
        })
    };
    if http2 {
        // hyper-util's auto server tells h2c prior knowledge and HTTP/1.1 apart by the
        // first bytes (and over TLS ALPN has already chosen): one port serves both.
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder.http1().max_buf_size(MAX_READ_BUF);
        let conn = builder.serve_connection(TokioIo::new(io), service);
        drive(pin!(conn), |c| c.graceful_shutdown(), stop, (&watch, &limits, accepted)).await;
    } else {
        let conn = http1::Builder::new()
            .max_header_size(MAX_HEAD)
            .max_buf_size(MAX_READ_BUF)
            .serve_connection(TokioIo::new(io), service);
        drive(pin!(conn), |c| c.graceful_shutdown(), stop, (&watch, &limits, accepted)).await;
    }
}

/// Poll a served connection to its end: shut it down gracefully when the server stops,
/// drop it when its deadline passes.
async fn drive<C: Future>(
    mut conn: Pin<&mut C>,
    shutdown: impl Fn(Pin<&mut C>),
    mut stop: watch::Receiver<bool>,
    (watch, limits, accepted): (&Watch, &ServerLimits, Instant),
) {
    let mut stopped = pin!(stop.changed());
    let mut timer = pin!(tokio::time::sleep_until(tokio::time::Instant::from_std(accepted)));
    let mut stopping = false;
    std::future::poll_fn(|cx| {
        if conn.as_mut().poll(cx).is_ready() {
            return Poll::Ready(());
        }
        if !stopping && stopped.as_mut().poll(cx).is_ready() {
            stopping = true;
            shutdown(conn.as_mut());
            if conn.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
        }
        // Everything that moves the deadline happens inside `conn`'s poll on this task,
        // so checking it here, after each poll, never misses a change.
        let Some(deadline) = watch.deadline(limits) else { return Poll::Pending };
        let deadline = tokio::time::Instant::from_std(deadline);
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        // Past the deadline: dropping the connection closes it.
        timer.as_mut().poll(cx)
    })
    .await;
}

/// What one connection is doing, as far as its deadline goes.
#[derive(Debug)]
struct Watch {
    phase: Mutex<Phase>,
    /// Set when the body of a request was left unread (413): close slowly.
    linger: AtomicBool,
}

#[derive(Debug, Clone, Copy)]
struct Phase {
    /// Requests the service is working on (no deadline while it does: holds, stalls).
    serving: u32,
    /// The last byte read or written, or the end of the last request's service.
    last_io: Instant,
    /// The first byte of the request head being read, if one is.
    head_since: Option<Instant>,
}

impl Watch {
    /// A connection accepted at `accepted`: its first request head is due within the
    /// header timeout of the accept.
    fn new(accepted: Instant) -> Watch {
        let phase = Phase { serving: 0, last_io: accepted, head_since: Some(accepted) };
        Watch { phase: Mutex::new(phase), linger: AtomicBool::new(false) }
    }

    fn update(&self, change: impl FnOnce(&mut Phase)) {
        change(&mut self.phase.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn read(&self, now: Instant) {
        self.update(|p| {
            p.last_io = now;
            if p.serving == 0 && p.head_since.is_none() {
                p.head_since = Some(now);
            }
        });
    }

    fn wrote(&self, now: Instant) {
        self.update(|p| p.last_io = now);
    }

    fn deadline(&self, limits: &ServerLimits) -> Option<Instant> {
        self.phase.lock().unwrap_or_else(|e| e.into_inner()).deadline(limits)
    }
}

impl Phase {
    /// When the connection is to be closed, if nothing changes: an idle timeout after the
    /// last activity, or a header timeout after a head began, whichever is first; none
    /// while a request is being served.
    fn deadline(&self, limits: &ServerLimits) -> Option<Instant> {
        if self.serving > 0 {
            return None;
        }
        let idle = self.last_io + limits.idle_timeout;
        Some(self.head_since.map_or(idle, |head| idle.min(head + limits.header_timeout)))
    }
}

/// A request in the service's hands: from its parsed head until its answer is built.
struct Serving(Arc<Watch>);

impl Serving {
    fn start(watch: Arc<Watch>) -> Serving {
        watch.update(|p| {
            p.serving += 1;
            p.head_since = None;
        });
        Serving(watch)
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let now = Instant::now();
        self.0.update(|p| {
            p.serving = p.serving.saturating_sub(1);
            p.last_io = now;
        });
    }
}

/// A connection's stream, telling its [`Watch`] when bytes move, and lingering on close
/// when asked to.
struct Watched<S> {
    io: S,
    watch: Arc<Watch>,
    shut: bool,
    linger: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.watch.read(Instant::now());
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.watch.wrote(Instant::now());
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.watch.wrote(Instant::now());
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    /// Shut the write side, then (after a 413) wait before the socket is closed.
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.shut {
            ready!(Pin::new(&mut self.io).poll_shutdown(cx))?;
            self.shut = true;
        }
        if self.watch.linger.load(Ordering::Relaxed) {
            ready!(self.linger.get_or_insert_with(|| Box::pin(tokio::time::sleep(LINGER))).as_mut().poll(cx));
        }
        Poll::Ready(Ok(()))
    }
}

/// The soft limit on open files (RLIMIT_NOFILE), from /proc/self/limits on Linux.
pub(super) fn open_file_limit() -> Option<u64> {
    use std::io::Read;
    let mut text = String::new();
    // The file is a few lines long: read at most 16 KiB of it, whatever it claims.
    std::fs::File::open("/proc/self/limits").ok()?.take(16 * 1024).read_to_string(&mut text).ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_backs_off_on_exhaustion_and_not_on_a_peer_that_left() {
        // EMFILE and ENFILE (Linux numbers): out of file descriptors.
        for errno in [24, 23] {
            let e = io::Error::from_raw_os_error(errno);
            assert_eq!(accept_pause(&e, None), Some(MIN_PAUSE), "{e}");
            assert_eq!(accept_pause(&e, Some(MIN_PAUSE)), Some(MIN_PAUSE * 2), "doubling: {e}");
            assert_eq!(accept_pause(&e, Some(MAX_PAUSE)), Some(MAX_PAUSE), "at most 1 s: {e}");
        }
        let mut pause = None;
        for _ in 0..20 {
            pause = accept_pause(&io::Error::from_raw_os_error(24), pause);
        }
        assert_eq!(pause, Some(MAX_PAUSE), "a run of failures settles at the longest pause");
        let aborted = io::Error::from(io::ErrorKind::ConnectionAborted);
        assert_eq!(accept_pause(&aborted, Some(MAX_PAUSE)), None, "a peer that left is no reason to wait");
    }

    #[test]
    fn a_connection_has_one_deadline_for_its_phase() {
        let limits = ServerLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            ..ServerLimits::default()
        };
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let watch = Arc::new(Watch::new(t0));
        assert_eq!(watch.deadline(&limits), Some(at(10)), "a new connection owes its head within 10 s");
        watch.read(at(3));
        assert_eq!(watch.deadline(&limits), Some(at(10)), "a slow head does not restart the clock");
        let serving = Serving::start(watch.clone());
        assert_eq!(watch.deadline(&limits), None, "no deadline while the service works, however long");
        watch.read(at(4));
        assert_eq!(watch.deadline(&limits), None, "body bytes are the request's");
        drop(serving);
        watch.wrote(at(100));
        assert_eq!(watch.deadline(&limits), Some(at(160)), "idle: 60 s after the last byte of the answer");
        watch.read(at(150));
        assert_eq!(watch.deadline(&limits), Some(at(160)), "the next head: 10 s from its first byte");
        watch.read(at(155));
        assert_eq!(watch.deadline(&limits), Some(at(160)), "and more of it does not extend that");
    }
}
