//! Misbehaving TCP peers written for the tests. Each listens on 127.0.0.1:0 and treats
//! every connection as its behaviour says, on a thread of its own; dropping the [`Peer`]
//! stops them all. A connection thread ends when the client goes away, when the peer is
//! dropped, or after [`LIFETIME`], whichever comes first.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// No connection thread outlives this, whatever the client does.
const LIFETIME: Duration = Duration::from_secs(20);
/// How often a blocked connection thread looks up to see whether it should stop.
const POLL: Duration = Duration::from_millis(50);

/// What a peer does with each accepted connection.
pub type Behaviour = fn(&mut Conn);

/// One accepted connection and the peer's stop flag.
pub struct Conn {
    pub stream: TcpStream,
    stop: Arc<AtomicBool>,
    born: Instant,
}

impl Conn {
    /// Whether the connection thread should keep going.
    pub fn alive(&self) -> bool {
        !self.stop.load(Ordering::Relaxed) && self.born.elapsed() < LIFETIME
    }

    /// Read one request: its head, and a body of its Content-Length. False when the
    /// client closed the connection (or the peer is stopping) first.
    pub fn read_request(&mut self) -> bool {
        self.read_request_parts().is_some()
    }

    /// Read one request: its head (lowercased) and its body of Content-Length bytes.
    pub fn read_request_parts(&mut self) -> Option<(String, Vec<u8>)> {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match self.stream.read(&mut byte) {
                Ok(0) => return None,
                Ok(_) => head.push(byte[0]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) && self.alive() => {}
                Err(_) => return None,
            }
        }
        let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
        let length = text
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse::<u64>().unwrap_or(0));
        let (mut left, mut buf, mut body) = (length, [0u8; 8192], Vec::new());
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            match self.stream.read(&mut buf[..want]) {
                Ok(0) => return None,
                Ok(n) => {
                    left -= n as u64;
                    // Kept up to 1 MiB: the hostile tests send far more, to be thrown away.
                    if body.len() < 1 << 20 {
                        body.extend_from_slice(&buf[..n]);
                    }
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) && self.alive() => {}
                Err(_) => return None,
            }
        }
        Some((text, body))
    }

    /// Write all of `bytes`; false once the client is gone.
    pub fn send(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).is_ok()
    }

    /// Read one request, answer it with `bytes` as they are, and close.
    pub fn answer_once(&mut self, bytes: &[u8]) {
        if self.read_request() {
            self.send(bytes);
        }
    }

    /// Read one request and never answer it, holding the connection open.
    pub fn never_answer(&mut self) {
        if self.read_request() {
            self.hold();
        }
    }

    /// Keep the connection open, doing nothing, until the peer stops.
    pub fn hold(&self) {
        while self.alive() {
            std::thread::sleep(POLL);
        }
    }

    /// Answer every request on this connection with `answer`, until either side stops.
    pub fn serve(&mut self, mut answer: impl FnMut(&mut Conn) -> bool) {
        while self.alive() && self.read_request() && answer(self) {}
    }

    /// Make the close a TCP reset instead of a FIN (the socket closes when the
    /// connection thread ends).
    pub fn reset(&self) {
        let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
    }
}

/// A listening peer; dropping it stops the accept loop and every connection thread.
pub struct Peer {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    /// A peer that never accepts keeps its listener and the connections filling its backlog.
    _held: Vec<Box<dyn std::any::Any>>,
}

impl Peer {
    pub fn start(behave: impl Fn(&mut Conn) + Send + Sync + 'static) -> Peer {
        let behave = Arc::new(behave);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let accept = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        let _ = stream.set_read_timeout(Some(POLL));
                        let _ = stream.set_nodelay(true);
                        let mut conn = Conn { stream, stop: flag.clone(), born: Instant::now() };
                        let behave = behave.clone();
                        std::thread::spawn(move || behave(&mut conn));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Peer { addr, stop, accept: Some(accept), _held: Vec::new() }
    }

    /// A listener that never accepts, with its backlog already full: the kernel drops
    /// further SYNs, so a connect can only time out.
    pub fn backlog_full() -> Peer {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into()).unwrap();
        socket.listen(1).unwrap();
        let addr = socket.local_addr().unwrap().as_socket().unwrap();
        let mut held: Vec<Box<dyn std::any::Any>> = Vec::new();
        // Connect until one no longer completes: then the accept queue is full.
        for _ in 0..64 {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                Ok(s) => held.push(Box::new(s)),
                Err(_) => break,
            }
        }
        held.push(Box::new(socket));
        Peer { addr, stop: Arc::new(AtomicBool::new(true)), accept: None, _held: held }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}
