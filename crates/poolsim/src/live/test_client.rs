//! A small HTTP/1.1 client for the built-in target's tests: raw bytes on a std socket, so
//! a test can send what no well-behaved client would, and see exactly what comes back.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long a test waits for the server at most: a bound on a hang, never a claim on speed.
pub(super) const PATIENCE: Duration = Duration::from_secs(10);

/// A connection with reads and writes bounded by [`PATIENCE`].
pub(super) fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s.set_write_timeout(Some(PATIENCE)).unwrap();
    s
}

/// A request with a body; `close` asks the server to close the connection after it.
pub(super) fn request(method: &str, path: &str, body: &str, close: bool) -> String {
    let connection = if close { "close" } else { "keep-alive" };
    format!(
        "{method} {path} HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\nconnection: {connection}\r\n\r\n{body}",
        body.len()
    )
}

/// Send `req` on a new connection and read until the server closes it: what came before
/// the end (or a reset; empty if nothing did).
pub(super) fn exchange(addr: SocketAddr, req: &str) -> String {
    let mut s = connect(addr);
    let _ = s.write_all(req.as_bytes());
    until_closed(&mut s).unwrap_or_else(|open| panic!("the server left the connection open: {open:?}"))
}

/// One response read off a connection that stays open: its head and its body (by
/// content-length).
pub(super) fn read_response(s: &mut TcpStream) -> io::Result<String> {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        got.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&got).to_ascii_lowercase();
    let length = head.split("content-length:").nth(1).and_then(|v| v.split("\r\n").next()?.trim().parse().ok());
    let mut body = vec![0; length.unwrap_or(0)];
    s.read_exact(&mut body)?;
    got.extend_from_slice(&body);
    Ok(String::from_utf8_lossy(&got).into_owned())
}

/// What the server sent on `s` until it closed it (end of stream or reset); `Err` with
/// what it sent if it left it open until [`PATIENCE`] ran out.
pub(super) fn until_closed(s: &mut TcpStream) -> Result<String, String> {
    let (mut got, mut buf) = (Vec::new(), [0u8; 4096]);
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break,
            Err(_) => return Err(String::from_utf8_lossy(&got).into_owned()),
        }
    }
    Ok(String::from_utf8_lossy(&got).into_owned())
}

/// Ask /metrics until `line` is in it (at most [`PATIENCE`]): a state the test waits to
/// see, never one it assumes after a sleep. The last answer either way.
pub(super) fn await_metric(addr: SocketAddr, line: &str) -> String {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let metrics = exchange(addr, &request("GET", "/metrics", "", true));
        if metrics.contains(line) || std::time::Instant::now() > deadline {
            return metrics;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
