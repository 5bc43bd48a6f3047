//! The own HTTP/1.1 client against an in-process peer on 127.0.0.1 that answers each
//! request with the next of its raw replies.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use einv_report::ErrorClass;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use super::super::{Parts, Request};
use super::{Conn, Prepared};
use crate::driver::testing::{PATIENCE, plan};

/// What the peer does after a reply.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Then {
    Stay,
    /// Closes the connection (without saying so in the reply).
    Close,
}

/// The peer: the requests it read (raw), the connections it accepted; `closed` is
/// notified each time it has closed one.
struct Peer {
    conn: Conn<TcpStream>,
    got: Arc<Mutex<Vec<Vec<u8>>>>,
    accepted: Arc<AtomicUsize>,
    closed: Arc<Notify>,
}

impl Peer {
    async fn start(replies: &'static [(&'static [u8], Then)]) -> Peer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (got, accepted, closed): (Arc<Mutex<Vec<Vec<u8>>>>, _, _) =
            (Arc::default(), Arc::new(AtomicUsize::new(0)), Arc::new(Notify::new()));
        let next = Arc::new(AtomicUsize::new(0));
        let (g, a, c) = (Arc::clone(&got), Arc::clone(&accepted), Arc::clone(&closed));
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                a.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(serve(s, replies, (g.clone(), next.clone(), c.clone())));
            }
        });
        Peer { conn: connect(addr).await, got, accepted, closed }
    }

    fn got(&self) -> Vec<Vec<u8>> {
        self.got.lock().unwrap().clone()
    }
}

async fn connect(addr: std::net::SocketAddr) -> Conn<TcpStream> {
    Conn::new(TcpStream::connect(addr).await.unwrap())
}

type Shared = (Arc<Mutex<Vec<Vec<u8>>>>, Arc<AtomicUsize>, Arc<Notify>);

async fn serve(mut s: TcpStream, replies: &'static [(&'static [u8], Then)], (got, next, closed): Shared) {
    let mut buf = Vec::new();
    while let Some(request) = read_request(&mut s, &mut buf).await {
        got.lock().unwrap().push(request);
        let Some(&(reply, then)) = replies.get(next.fetch_add(1, Ordering::Relaxed)) else {
            return std::future::pending().await;
        };
        if s.write_all(reply).await.is_err() || then == Then::Close {
            drop(s);
            closed.notify_one();
            return;
        }
    }
}

/// One request (head and Content-Length body) off the front of `buf`, reading as needed.
async fn read_request(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4) {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let length = head.split("content-length: ").nth(1).and_then(|r| r.split('\r').next()?.parse().ok());
            if buf.len() >= end + length.unwrap_or(0) {
                return Some(buf.drain(..end + length.unwrap_or(0)).collect());
            }
        }
        let mut chunk = [0; 4096];
        match s.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The test plan's op `i` (0: POST /i with body `{}`, 1: GET /q).
fn prepared(i: usize, keep_alive: bool) -> Prepared {
    let load = "[load]\n[[load.stage]]\nkind = \"constant\"\nrate = 1\nduration = \"1s\"";
    Prepared::new(&Request::new(&plan(load).ops[i], "127.0.0.1:1", "", keep_alive))
}

async fn exchange(
    c: &mut Conn<TcpStream>,
    p: &Prepared,
    parts: Option<&Parts>,
) -> Result<super::Response, super::SendError> {
    tokio::time::timeout(PATIENCE, c.exchange(p, parts, |_| 1024)).await.expect("the exchange hung")
}

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/// The bytes a target gets: the op's request with this request's path and body spliced
/// in, its length said; a GET says none; `keep-alive = false` asks for the close.
#[tokio::test]
async fn requests_go_out_with_their_parts_spliced_in() {
    let mut peer = Peer::start(&[(OK, Then::Stay), (OK, Then::Stay), (OK, Then::Stay)]).await;
    let parts = Parts {
        path: Some(Bytes::from_static(b"/i?no=7")),
        body: Some(Bytes::from_static(b"abc")),
        ..Parts::default()
    };
    exchange(&mut peer.conn, &prepared(0, true), Some(&parts)).await.unwrap();
    exchange(&mut peer.conn, &prepared(1, true), None).await.unwrap();
    exchange(&mut peer.conn, &prepared(1, false), None).await.unwrap();
    let got = peer.got();
    assert_eq!(got[0], b"POST /i?no=7 HTTP/1.1\r\nhost: 127.0.0.1:1\r\ncontent-length: 3\r\n\r\nabc");
    assert_eq!(got[1], b"GET /q HTTP/1.1\r\nhost: 127.0.0.1:1\r\n\r\n");
    assert_eq!(got[2], b"GET /q HTTP/1.1\r\nhost: 127.0.0.1:1\r\nconnection: close\r\n\r\n");
}

/// A chunked body comes back whole (extensions and trailers skipped), and the connection
/// carries the next request.
#[tokio::test]
async fn a_chunked_body_is_reassembled_and_kept() {
    const CHUNKED: &[u8] =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n";
    let mut peer = Peer::start(&[(CHUNKED, Then::Stay), (OK, Then::Stay)]).await;
    let r = exchange(&mut peer.conn, &prepared(1, true), None).await.unwrap();
    assert_eq!((r.status, &r.body[..]), (200, &b"hello world"[..]));
    assert!(!peer.conn.is_closed());
    let r = exchange(&mut peer.conn, &prepared(1, true), None).await.unwrap();
    assert_eq!((r.status, &r.body[..], peer.accepted.load(Ordering::Relaxed)), (200, &b"ok"[..], 1));
}

/// 100 Continue and 103 Early Hints come before the answer; the answer is what counts.
#[tokio::test]
async fn informational_answers_are_skipped() {
    const HINTS: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n\
        HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
    let mut peer = Peer::start(&[(HINTS, Then::Stay)]).await;
    let r = exchange(&mut peer.conn, &prepared(1, true), None).await.unwrap();
    assert_eq!((r.status, &r.body[..], peer.conn.is_closed()), (201, &b"ok"[..], false));
}

/// `Connection: close`, and HTTP/1.0 without keep-alive, end the connection after the
/// answer: the loop reconnects for the next request. HTTP/1.0 with keep-alive stays.
#[tokio::test]
async fn a_server_that_says_close_is_not_reused() {
    for (answer, closed) in [
        (&b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"[..], true),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", true),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", false),
        // No length: the body ends with the connection.
        (b"HTTP/1.1 200 OK\r\n\r\nok", true),
    ] {
        // A peer that said close closes (a body framed by the close ends only so).
        let then = if closed { Then::Close } else { Then::Stay };
        let replies: &'static [(&[u8], Then)] = Box::leak(Box::new([(answer, then)]));
        let mut peer = Peer::start(replies).await;
        let r = exchange(&mut peer.conn, &prepared(1, true), None).await.unwrap();
        assert_eq!((r.status, &r.body[..], peer.conn.is_closed()), (200, &b"ok"[..], closed), "{answer:?}");
    }
}

/// A keep-alive connection the server closed while it was idle: the next request is not
/// sent (no error of the target's), and the connection reports itself closed.
#[tokio::test]
async fn a_connection_closed_while_idle_is_not_sent_on() {
    let mut peer = Peer::start(&[(OK, Then::Close)]).await;
    exchange(&mut peer.conn, &prepared(1, true), None).await.unwrap();
    assert!(!peer.conn.is_closed(), "the server did not say it would close");
    tokio::time::timeout(PATIENCE, peer.closed.notified()).await.unwrap();
    // Let the runtime poll the socket's readiness: the FIN is in already.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let r = exchange(&mut peer.conn, &prepared(1, true), None).await;
    assert_eq!(r.unwrap_err(), super::SendError::NotSent);
    assert!(peer.conn.is_closed());
    assert_eq!(peer.got().len(), 1, "the second request never reached the peer");
}

/// What a user sees in the report's error classes for peers that break HTTP/1.1.
#[tokio::test]
async fn broken_answers_fall_in_their_error_classes() {
    use super::SendError::Failed;
    let cases: [(&'static [u8], ErrorClass); 5] = [
        (b"\x00\x01 no HTTP here\r\n\r\n", ErrorClass::Protocol),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n0\r\n\r\n", ErrorClass::Protocol),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxxyy\r\n0\r\n\r\n", ErrorClass::Protocol),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", ErrorClass::Protocol),
        // Cut short: the peer closes with 8 of 100 bytes sent.
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten", ErrorClass::Reset),
    ];
    for (answer, class) in cases {
        let replies: &'static [(&[u8], Then)] = Box::leak(Box::new([(answer, Then::Close)]));
        let mut peer = Peer::start(replies).await;
        let r = exchange(&mut peer.conn, &prepared(1, true), None).await;
        assert_eq!(r.unwrap_err(), Failed(class), "{:?}", String::from_utf8_lossy(answer));
        assert!(peer.conn.is_closed());
    }
    // A head that never ends is refused, not read on forever.
    let filler: &'static [u8] =
        Box::leak([&b"HTTP/1.1 200 OK\r\n"[..], &b"X-Filler: aaaa\r\n".repeat(8000)].concat().into());
    let replies: &'static [(&[u8], Then)] = Box::leak(Box::new([(filler, Then::Stay)]));
    let mut peer = Peer::start(replies).await;
    let r = exchange(&mut peer.conn, &prepared(1, true), None).await;
    assert_eq!(r.unwrap_err(), Failed(ErrorClass::Protocol));
}
