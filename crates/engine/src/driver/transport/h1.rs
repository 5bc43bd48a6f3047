//! HTTP/1.1 spoken by einv-load itself: the op's request serialized once, this request's
//! parts spliced into a reused buffer, one write; the response head parsed by `httparse`
//! from a reused read buffer, the body framed by Content-Length, chunked coding or the
//! close. The exchange drives the socket itself: no task per connection, no hand-off
//! between a request future and a connection future (hyper's per-request cost, which
//! profiling found to be the part of a request's cost that is ours). No pipelining.

use std::io;
use std::pin::Pin;
use std::task::Poll;
use std::time::Instant;

use bytes::Bytes;
use einv_report::ErrorClass;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use super::{MAX_KEPT_BODY, Parts, Request, Response, SendError};

/// A response head (or a chunk-size line, or trailers) longer than this is no HTTP peer
/// we can talk to: a protocol error, and a bound on the read buffer.
const MAX_HEAD: usize = 64 << 10;
/// hyper's limit too: more header fields than this is a protocol error.
const MAX_HEADERS: usize = 100;
/// The read buffer's size between exchanges: an invoice API's answers fit (a head and a
/// JSON body of a few hundred bytes), a larger one takes more reads. It is most of an idle
/// keep-alive connection's memory: 4 KiB, one page, keeps 16,000 held connections near
/// 6 KiB each.
const READ_BUF: usize = 4 << 10;
/// Bodies above this are written from the op's bytes after the head rather than copied.
const SPLICE_BODY: usize = 16 << 10;

/// An op's request as bytes: the static runs between the parts a request renders.
#[derive(Debug)]
pub struct Prepared {
    /// `METHOD `.
    method: Vec<u8>,
    path: Bytes,
    /// ` HTTP/1.1`, then the static header lines (each ending in CRLF).
    fixed: Vec<u8>,
    /// `name: ` of each templated header, in template order.
    templated: Vec<Vec<u8>>,
    body: Bytes,
    /// Methods whose requests carry content say its length even when it is empty.
    length_always: bool,
    /// A HEAD request's answer has no body whatever its head says.
    head: bool,
    /// The whole request of a request without parts (most ops): sent as it is.
    whole: Vec<u8>,
}

impl Prepared {
    pub fn new(r: &Request) -> Prepared {
        let mut fixed = b" HTTP/1.1\r\n".to_vec();
        // Later headers of a name replace earlier ones (an op's `host` the authority's).
        for (i, (name, value)) in r.headers.iter().enumerate() {
            let replaced = r.headers[i + 1..].iter().any(|(n, _)| n == name) || r.templated.contains(name);
            if !replaced {
                line(&mut fixed, name.as_bytes(), value);
            }
        }
        if !r.keep_alive {
            fixed.extend_from_slice(b"connection: close\r\n");
        }
        let mut p = Prepared {
            method: [r.method.as_bytes(), b" "].concat(),
            path: r.path.clone(),
            fixed,
            templated: r.templated.iter().map(|n| [n.as_bytes(), b": "].concat()).collect(),
            body: r.body.clone(),
            length_always: matches!(r.method.as_str(), "POST" | "PUT" | "PATCH"),
            head: r.method == "HEAD",
            whole: Vec::new(),
        };
        let mut whole = Vec::new();
        p.render(None, &mut whole, true);
        p.whole = whole;
        p
    }

    /// The request's bytes with `parts` spliced in, into `out` (cleared first); the body
    /// too when `with_body` (else the caller writes it after).
    fn render(&self, parts: Option<&Parts>, out: &mut Vec<u8>, with_body: bool) {
        out.clear();
        out.extend_from_slice(&self.method);
        out.extend_from_slice(parts.and_then(|p| p.path.as_ref()).unwrap_or(&self.path));
        out.extend_from_slice(&self.fixed);
        for (name, value) in self.templated.iter().zip(parts.map_or(&[][..], |p| &p.headers)) {
            out.extend_from_slice(name);
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        let body = self.body(parts);
        if !body.is_empty() || self.length_always {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if with_body {
            out.extend_from_slice(body);
        }
    }

    fn body<'a>(&'a self, parts: Option<&'a Parts>) -> &'a Bytes {
        parts.and_then(|p| p.body.as_ref()).unwrap_or(&self.body)
    }
}

fn line(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// How a response's body ends (RFC 9112 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked,
    /// At the close of the connection.
    Close,
}

/// What the exchange needs of a parsed head.
#[derive(Debug)]
struct Head {
    status: u16,
    framing: Framing,
    /// The server keeps the connection open after this answer.
    keep_alive: bool,
}

/// One HTTP/1.1 connection over a connected (for TLS, secured) stream.
#[derive(Debug)]
pub struct Conn<S> {
    io: S,
    /// Bytes read and not yet consumed are `rbuf[pos..filled]`.
    rbuf: Vec<u8>,
    pos: usize,
    filled: usize,
    /// The rendered request of a request with parts, reused.
    wbuf: Vec<u8>,
    closed: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    pub fn new(io: S) -> Conn<S> {
        Conn { io, rbuf: vec![0; READ_BUF], pos: 0, filled: 0, wbuf: Vec::new(), closed: false }
    }

    /// Whether the connection cannot carry another request (the server said close, an
    /// exchange failed, or the peer hung up while it was idle).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Send one request and read the whole answer, keeping the first `keep(status)` bytes
    /// of its body. Any failure closes the connection.
    pub async fn exchange(
        &mut self,
        p: &Prepared,
        parts: Option<&Parts>,
        keep: impl Fn(u16) -> usize,
    ) -> Result<Response, SendError> {
        // A server may close an idle keep-alive connection (keepalive_requests, idle
        // timeouts) an instant before we reuse it: then the request never leaves, and
        // that is no error of the target's.
        if self.closed || self.hung_up().await {
            self.closed = true;
            return Err(SendError::NotSent);
        }
        let result = self.round_trip(p, parts, keep).await;
        if result.is_err() {
            self.closed = true;
        }
        result
    }

    /// Polls the read side once without waiting: an end of stream, an error or bytes
    /// nobody asked for (a 408 before the close) all mean the connection is gone. On an
    /// idle socket tokio answers from its readiness flags, without a system call.
    async fn hung_up(&mut self) -> bool {
        let Conn { io, rbuf, .. } = self;
        std::future::poll_fn(|cx| {
            let mut buf = ReadBuf::new(&mut rbuf[..]);
            Poll::Ready(Pin::new(&mut *io).poll_read(cx, &mut buf).is_ready())
        })
        .await
    }

    async fn round_trip(
        &mut self,
        p: &Prepared,
        parts: Option<&Parts>,
        keep: impl Fn(u16) -> usize,
    ) -> Result<Response, SendError> {
        let handed = Instant::now();
        self.send(p, parts).await?;
        let head = loop {
            let head = self.read_head().await.map_err(SendError::Failed)?;
            // Informational answers precede the real one (100 Continue, 103 Early Hints);
            // a 101 is returned: the peer stops speaking HTTP/1.1 to us.
            if head.status >= 200 || head.status < 100 || head.status == 101 {
                break head;
            }
        };
        let ttfb = handed.elapsed();
        let mut body = Vec::new();
        let limit = keep(head.status).min(MAX_KEPT_BODY);
        let framing = match head.status {
            101 | 204 | 304 => Framing::Length(0),
            _ if p.head => Framing::Length(0),
            _ => head.framing,
        };
        self.read_body(framing, limit, &mut body).await.map_err(SendError::Failed)?;
        // Bytes past the answer were never asked for: the stream is out of step.
        if !head.keep_alive || head.status == 101 || framing == Framing::Close || self.pos != self.filled {
            self.closed = true;
        }
        self.pos = 0;
        self.filled = 0;
        if self.rbuf.len() > READ_BUF {
            self.rbuf = vec![0; READ_BUF];
        }
        Ok(Response { status: head.status, body, ttfb })
    }

    /// One write of the request (two for a large body, which is not copied). An error
    /// before any byte left means the request was not sent.
    async fn send(&mut self, p: &Prepared, parts: Option<&Parts>) -> Result<(), SendError> {
        let body = p.body(parts);
        let big = body.len() > SPLICE_BODY;
        let request: &[u8] = match parts {
            None if !big => &p.whole,
            _ => {
                p.render(parts, &mut self.wbuf, !big);
                &self.wbuf
            }
        };
        let first = match self.io.write(request).await {
            Ok(0) => return Err(SendError::NotSent),
            Ok(n) => n,
            Err(e) if matches!(io_class(&e), ErrorClass::Reset) => return Err(SendError::NotSent),
            Err(e) => return Err(SendError::Failed(io_class(&e))),
        };
        let failed = |e: io::Error| SendError::Failed(io_class(&e));
        self.io.write_all(&request[first..]).await.map_err(failed)?;
        if big {
            self.io.write_all(body).await.map_err(failed)?;
        }
        self.io.flush().await.map_err(failed)
    }

    /// Read and parse the next response head; its bytes are consumed.
    async fn read_head(&mut self) -> Result<Head, ErrorClass> {
        loop {
            if let Some((len, head)) = parse_head(&self.rbuf[self.pos..self.filled])? {
                self.pos += len;
                return Ok(head);
            }
            if self.filled - self.pos >= MAX_HEAD {
                return Err(ErrorClass::Protocol);
            }
            self.fill().await?;
        }
    }

    /// Read the body as `framing` says, keeping its first `limit` bytes in `kept`.
    async fn read_body(&mut self, framing: Framing, limit: usize, kept: &mut Vec<u8>) -> Result<(), ErrorClass> {
        match framing {
            Framing::Length(n) => self.read_exact(n, limit, kept).await,
            Framing::Close => loop {
                self.take(u64::MAX, limit, kept);
                if self.read_more().await? == 0 {
                    return Ok(());
                }
            },
            Framing::Chunked => loop {
                let size = self.chunk_size().await?;
                if size == 0 {
                    return self.skip_trailers().await;
                }
                self.read_exact(size, limit, kept).await?;
                while self.filled - self.pos < 2 {
                    self.fill().await?;
                }
                if self.rbuf[self.pos..self.pos + 2] != *b"\r\n" {
                    return Err(ErrorClass::Protocol);
                }
                self.pos += 2;
            },
        }
    }

    /// Consume `n` body bytes, reading as needed; the end of the stream before them is a
    /// reset (the answer was cut short).
    async fn read_exact(&mut self, mut n: u64, limit: usize, kept: &mut Vec<u8>) -> Result<(), ErrorClass> {
        loop {
            n -= self.take(n, limit, kept);
            if n == 0 {
                return Ok(());
            }
            self.fill().await?;
        }
    }

    /// Consume up to `n` of the bytes read, keeping what `limit` allows; how many.
    fn take(&mut self, n: u64, limit: usize, kept: &mut Vec<u8>) -> u64 {
        let avail = self.filled - self.pos;
        let took = avail.min(usize::try_from(n).unwrap_or(usize::MAX));
        let room = limit.saturating_sub(kept.len()).min(took);
        kept.extend_from_slice(&self.rbuf[self.pos..self.pos + room]);
        self.pos += took;
        took as u64
    }

    async fn chunk_size(&mut self) -> Result<u64, ErrorClass> {
        loop {
            match httparse::parse_chunk_size(&self.rbuf[self.pos..self.filled]) {
                Ok(httparse::Status::Complete((used, size))) => {
                    self.pos += used;
                    return Ok(size);
                }
                Ok(httparse::Status::Partial) if self.filled - self.pos < MAX_HEAD => self.fill().await?,
                _ => return Err(ErrorClass::Protocol),
            }
        }
    }

    /// Trailer fields are read and ignored, up to the empty line that ends them.
    async fn skip_trailers(&mut self) -> Result<(), ErrorClass> {
        let mut seen = 0;
        loop {
            let rest = &self.rbuf[self.pos..self.filled];
            match rest.windows(2).position(|w| w == b"\r\n") {
                Some(0) => {
                    self.pos += 2;
                    return Ok(());
                }
                Some(i) => {
                    self.pos += i + 2;
                    seen += i + 2;
                }
                None => self.fill().await?,
            }
            if seen + (self.filled - self.pos) > MAX_HEAD {
                return Err(ErrorClass::Protocol);
            }
        }
    }

    /// Read more bytes; the end of the stream here cuts an answer short: a reset.
    async fn fill(&mut self) -> Result<(), ErrorClass> {
        match self.read_more().await? {
            0 => Err(ErrorClass::Reset),
            _ => Ok(()),
        }
    }

    /// One read into the free end of the buffer (moving what is unconsumed to its start,
    /// or growing it up to a head's bound first); 0 at the end of the stream.
    async fn read_more(&mut self) -> Result<usize, ErrorClass> {
        if self.pos == self.filled {
            (self.pos, self.filled) = (0, 0);
        } else if self.filled == self.rbuf.len() && self.pos > 0 {
            self.rbuf.copy_within(self.pos..self.filled, 0);
            (self.pos, self.filled) = (0, self.filled - self.pos);
        }
        if self.filled == self.rbuf.len() {
            let grown = (self.rbuf.len() * 2).min(MAX_HEAD + READ_BUF);
            self.rbuf.resize(grown, 0);
        }
        let n = self.io.read(&mut self.rbuf[self.filled..]).await.map_err(|e| io_class(&e))?;
        self.filled += n;
        Ok(n)
    }
}

/// A complete head at the start of `buf`: its length and what it says; `None` if more is
/// needed. What httparse refuses (garbage, bad field syntax, too many fields) and a
/// Content-Length that is no number are protocol errors.
fn parse_head(buf: &[u8]) -> Result<Option<(usize, Head)>, ErrorClass> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut r = httparse::Response::new(&mut fields);
    let len = match r.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(ErrorClass::Protocol),
    };
    let (status, http10) = (r.code.unwrap_or(0), r.version == Some(0));
    let (mut length, mut chunked, mut coded) = (None, false, false);
    let (mut close, mut keep_alive) = (false, false);
    for f in r.headers.iter() {
        if f.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(f.value).ok().and_then(|v| v.trim().parse::<u64>().ok());
            // Several fields (or a list) must all say the same length.
            match (n, length) {
                (Some(n), None) => length = Some(n),
                (Some(n), Some(l)) if n == l => {}
                _ => return Err(ErrorClass::Protocol),
            }
        } else if f.name.eq_ignore_ascii_case("transfer-encoding") {
            // The last coding decides: chunked is framed, anything else ends at the close.
            coded = true;
            chunked = tokens(f.value).last().is_some_and(|t| t.eq_ignore_ascii_case(b"chunked"));
        } else if f.name.eq_ignore_ascii_case("connection") {
            close |= tokens(f.value).any(|t| t.eq_ignore_ascii_case(b"close"));
            keep_alive |= tokens(f.value).any(|t| t.eq_ignore_ascii_case(b"keep-alive"));
        }
    }
    let framing = match (coded, chunked, length) {
        (true, true, _) => Framing::Chunked,
        (true, false, _) | (false, _, None) => Framing::Close,
        (false, _, Some(n)) => Framing::Length(n),
    };
    let keep_alive = !close && (!http10 || keep_alive);
    Ok(Some((len, Head { status, framing, keep_alive })))
}

/// The comma-separated tokens of a field value, trimmed.
fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(<[u8]>::trim_ascii).filter(|t| !t.is_empty())
}

/// The class a user sees for an I/O error on the stream.
fn io_class(e: &io::Error) -> ErrorClass {
    use io::ErrorKind::*;
    match e.kind() {
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof | NotConnected => ErrorClass::Reset,
        TimedOut => ErrorClass::Timeout,
        // A TLS stream's bad record.
        InvalidData => ErrorClass::Protocol,
        _ => ErrorClass::Other,
    }
}

#[cfg(test)]
#[path = "h1_tests.rs"]
mod tests;
