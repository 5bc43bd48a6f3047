//! Opening TCP connections: at most `connect-rate` a second across the whole run, from the
//! profile's `source-addrs` in turn, each within `connect-timeout`; and the open-file limit
//! that many connections need.
//!
//! Source addresses matter past one address's ephemeral ports: every connection to one
//! target address needs its own local port, about 28,000 of them per source address with
//! Linux's default `ip_local_port_range`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use einv_report::ErrorClass;
use tokio::net::{TcpSocket, TcpStream};

use crate::error::Error;
use crate::profile::Target;

/// Files a run needs besides its client connections: the listener and connections of the
/// built-in target's own bookkeeping, the timer, the report files, stdio.
const FD_MARGIN: u64 = 128;

/// How TCP connections are opened (paced, from which source addresses); shared by every
/// worker of a run.
#[derive(Debug, Default)]
pub struct TcpDialer {
    /// Time between two connects' starts; `None`: as fast as they come.
    gap: Option<Duration>,
    /// When the next connect may start (paced runs only).
    next: Mutex<Option<Instant>>,
    sources: Vec<IpAddr>,
    turn: AtomicUsize,
}

impl TcpDialer {
    pub fn new(target: &Target) -> TcpDialer {
        TcpDialer::paced(target.connect_rate, target.source_addrs.clone())
    }

    /// `rate`: connects a second at most (validated: positive and finite).
    fn paced(rate: Option<f64>, sources: Vec<IpAddr>) -> TcpDialer {
        TcpDialer {
            gap: rate.and_then(|r| Duration::try_from_secs_f64(1.0 / r).ok()),
            next: Mutex::new(None),
            sources,
            turn: AtomicUsize::new(0),
        }
    }

    /// Wait for the next connect's turn under `connect-rate` (at once without one). The
    /// wait is the client's own pacing, not the target's: it stays out of the connect
    /// time (it still counts in the latency, which runs from the request's intended time).
    /// Apart from [`TcpDialer::connect`], so that the many users of a connect storm wait
    /// holding a timer, not a connect's state.
    pub async fn turn(&self) {
        if let Some(at) = self.slot() {
            tokio::time::sleep_until(at.into()).await;
        }
    }

    /// Connect within `timeout` (after [`TcpDialer::turn`]). Returns the stream and when
    /// the connect began.
    pub async fn connect(&self, addr: SocketAddr, timeout: Duration) -> Result<(TcpStream, Instant), ErrorClass> {
        let began = Instant::now();
        match tokio::time::timeout(timeout, self.open(addr)).await {
            Err(_) => Err(ErrorClass::ConnectTimeout),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => Err(ErrorClass::ConnectRefused),
            Ok(Err(_)) => Err(ErrorClass::Connect),
            Ok(Ok(s)) => Ok((s, began)),
        }
    }

    /// The start time reserved for the next connect. Slots are spaced from the last one
    /// reserved, not from now, so timer granularity does not lower the rate; a run that
    /// connected nothing for a while starts again from now (no burst to catch up).
    fn slot(&self) -> Option<Instant> {
        let gap = self.gap?;
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let at = next.map_or(now, |n| n.max(now));
        *next = Some(at + gap);
        Some(at)
    }

    async fn open(&self, addr: SocketAddr) -> std::io::Result<TcpStream> {
        if self.sources.is_empty() {
            return TcpStream::connect(addr).await;
        }
        let source = self.sources[self.turn.fetch_add(1, Ordering::Relaxed) % self.sources.len()];
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        // Port 0: the kernel picks a free local port of this source address.
        socket.bind(SocketAddr::new(source, 0))?;
        socket.connect(addr).await
    }
}

/// Make room for `connections` client connections (twice that with the built-in target in
/// the same process, which holds the other end): raise the soft open-file limit to the
/// hard one, and refuse to start, naming the command, when even that is too low.
pub fn ensure_fd_limit(connections: usize, builtin: bool) -> Result<(), Error> {
    let per = if builtin { 2 } else { 1 };
    let need = connections as u64 * per + FD_MARGIN;
    let (soft, hard) = fd_limits();
    if soft.is_some_and(|s| s >= need) {
        return Ok(());
    }
    let raised = raise_soft_limit(hard);
    match raised {
        Some(limit) if limit < need => Err(Error::FdLimit { connections, need, limit }),
        _ => Ok(()),
    }
}

/// The soft and hard RLIMIT_NOFILE (`None`: unlimited or unknown).
#[cfg(target_os = "linux")]
fn fd_limits() -> (Option<u64>, Option<u64>) {
    let l = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    (l.current, l.maximum)
}

/// Soft limit := hard limit; the soft limit in force afterwards.
#[cfg(target_os = "linux")]
fn raise_soft_limit(hard: Option<u64>) -> Option<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let _ = setrlimit(Resource::Nofile, Rlimit { current: hard, maximum: hard });
    getrlimit(Resource::Nofile).current
}

#[cfg(not(target_os = "linux"))]
fn fd_limits() -> (Option<u64>, Option<u64>) {
    (None, None)
}

#[cfg(not(target_os = "linux"))]
fn raise_soft_limit(_hard: Option<u64>) -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paced_connects_are_spaced_by_the_rate_from_the_last_slot() {
        let dialer = TcpDialer::paced(Some(1000.0), Vec::new());
        let first = dialer.slot().expect("paced");
        let slots: Vec<Instant> = (0..5).map(|_| dialer.slot().expect("paced")).collect();
        let gap = dialer.gap.expect("paced");
        assert!(gap.abs_diff(Duration::from_millis(1)) < Duration::from_nanos(2), "{gap:?}");
        // Reserved back to back: each exactly one gap after the one before, however slowly
        // this loop ran.
        let mut prev = first;
        for s in slots {
            assert_eq!(s.duration_since(prev), gap);
            prev = s;
        }
        assert!(TcpDialer::paced(None, Vec::new()).slot().is_none(), "unpaced by default");
    }

    #[tokio::test]
    async fn connections_come_from_the_source_addresses_in_turn() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
        let addr = listener.local_addr().expect("addr");
        let sources: Vec<IpAddr> = ["127.0.0.2", "127.0.0.3"].iter().map(|s| s.parse().expect("ip")).collect();
        let dialer = TcpDialer::paced(None, sources.clone());
        let mut seen = Vec::new();
        for _ in 0..4 {
            let (stream, _) = dialer.connect(addr, Duration::from_secs(5)).await.expect("connect");
            seen.push(stream.local_addr().expect("local").ip());
        }
        assert_eq!(seen, [sources[0], sources[1], sources[0], sources[1]]);
    }

    #[tokio::test]
    async fn a_source_address_that_is_not_local_is_a_connect_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
        let addr = listener.local_addr().expect("addr");
        // TEST-NET-1 (RFC 5737): never an address of this machine.
        let dialer = TcpDialer::paced(None, vec!["192.0.2.1".parse().expect("ip")]);
        assert_eq!(dialer.connect(addr, Duration::from_secs(5)).await.err(), Some(ErrorClass::Connect));
    }
}
