//! The built-in target holds against clients that try to knock it over: bodies over the
//! limit, over-long order numbers, slow heads and bodies, idle connections, silent TLS
//! clients, too many connections; and it forgets what has left the ledger's window.
//! Each test makes its limit small, then checks *what* the server does, not when.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use super::Server;
use super::test_client::{connect, exchange, read_response, request, until_closed};
use super::validate::tests::GOOD;
use crate::{Hold, ModelSpec, Operation, ServerLimits};

const INVOICES: &str = "/api/v1/invoices";
const CALLBACK: &str = "/api/v1/payments/callback";

fn start(limits: ServerLimits) -> Server {
    let holds = std::array::from_fn(|_| Hold::Constant(Duration::ZERO));
    Server::start(ModelSpec { holds, limits, ..ModelSpec::default() }, "127.0.0.1:0".parse().unwrap(), 1).unwrap()
}

fn limits() -> ServerLimits {
    ServerLimits::default()
}

/// Push `total` bytes of a body (made by `chunk`) from another thread, until the server
/// stops taking them; returns how many it took.
fn push_body(s: &TcpStream, total: usize, chunk: Vec<u8>) -> std::thread::JoinHandle<usize> {
    let mut w = s.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut sent = 0;
        while sent < total {
            match w.write(&chunk) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        sent
    })
}

const BIG: usize = 64 << 20;

#[test]
fn a_declared_body_over_the_limit_is_answered_413_unread() {
    let server = start(ServerLimits { max_body: 64 * 1024, ..limits() });
    let mut s = connect(server.addr());
    s.write_all(format!("POST {INVOICES} HTTP/1.1\r\nhost: x\r\ncontent-length: {BIG}\r\n\r\n").as_bytes()).unwrap();
    let pushed = push_body(&s, BIG, vec![b'x'; 64 * 1024]);
    let answer = read_response(&mut s).unwrap();
    assert!(answer.starts_with("HTTP/1.1 413") && answer.contains("E413"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
    assert!(until_closed(&mut s).is_ok(), "the server closes the connection after the 413");
    let taken = pushed.join().unwrap();
    // What the kernel buffers on loopback is a few MiB: a server reading the body would
    // have taken all 64.
    assert!(taken < BIG / 2, "the server took {taken} of {BIG} bytes: it must not read the body");
}

#[test]
fn a_chunked_body_is_cut_off_at_the_limit() {
    let server = start(ServerLimits { max_body: 64 * 1024, ..limits() });
    let mut s = connect(server.addr());
    s.write_all(format!("POST {INVOICES} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n").as_bytes())
        .unwrap();
    let chunk = [b"4000\r\n".as_slice(), &[b'x'; 0x4000], b"\r\n"].concat();
    let pushed = push_body(&s, BIG, chunk);
    let answer = read_response(&mut s).unwrap();
    assert!(answer.starts_with("HTTP/1.1 413") && answer.contains("larger than 65536 bytes"), "{answer}");
    assert!(until_closed(&mut s).is_ok(), "the server closes the connection after the 413");
    let taken = pushed.join().unwrap();
    assert!(taken < BIG / 2, "the server took {taken} of {BIG} bytes of a chunked body");
}

#[test]
fn an_order_number_over_the_limit_is_answered_400_and_not_issued() {
    let server = start(ServerLimits { max_order_no: 16, ..limits() });
    let long = GOOD.replace("\"A1\"", &format!("\"{}\"", "9".repeat(100_000)));
    let answer = exchange(server.addr(), &request("POST", INVOICES, &long, true));
    assert!(answer.starts_with("HTTP/1.1 400") && answer.contains("E4006"), "{answer}");
    assert!(answer.contains("longer than 16 characters"), "{answer}");
    let ok = exchange(server.addr(), &request("POST", INVOICES, &GOOD.replace("\"A1\"", "\"A234567890123456\""), true));
    assert!(ok.starts_with("HTTP/1.1 200"), "16 characters are allowed: {ok}");
    let metrics = exchange(server.addr(), &request("GET", "/metrics", "", true));
    assert!(metrics.contains("einv_invoices_issued_total 1\n"), "{metrics}");
    assert!(metrics.contains("einv_requests_total 2\n"), "both requests are counted, the 400 too: {metrics}");
}

#[test]
fn a_head_sent_too_slowly_is_cut_off() {
    let server = start(ServerLimits { header_timeout: Duration::from_millis(300), ..limits() });
    let mut s = connect(server.addr());
    s.write_all(format!("POST {INVOICES} HTTP/1.1\r\nhost: x\r\n").as_bytes()).unwrap();
    // One byte of a header every 50 ms, up to 10 s: each byte is news, the head is never
    // done. The idle timeout (60 s) never applies; the header timeout does.
    let mut w = s.try_clone().unwrap();
    let trickle = std::thread::spawn(move || {
        for _ in 0..200 {
            if w.write_all(b"x").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    let sent = until_closed(&mut s).expect("the server closes a connection whose head does not come");
    assert!(sent.is_empty() || sent.starts_with("HTTP/1.1 408"), "{sent}");
    trickle.join().unwrap();
}

#[test]
fn a_body_that_stops_coming_is_answered_408() {
    let server = start(ServerLimits { header_timeout: Duration::from_millis(300), ..limits() });
    let mut s = connect(server.addr());
    s.write_all(format!("POST {CALLBACK} HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{{\"a\":").as_bytes())
        .unwrap();
    let answer = read_response(&mut s).unwrap();
    assert!(answer.starts_with("HTTP/1.1 408") && answer.contains("E408"), "{answer}");
    assert!(until_closed(&mut s).is_ok());
}

#[test]
fn an_idle_keep_alive_connection_is_closed_but_a_slow_request_is_not() {
    let limits = ServerLimits { idle_timeout: Duration::from_millis(500), ..limits() };
    let mut spec = ModelSpec { limits, ..ModelSpec::default() };
    // The request takes three idle timeouts to serve: serving is not idling.
    spec.set_hold(Operation::PaymentCallback, Hold::Constant(Duration::from_millis(1500)));
    let server = Server::start(spec, "127.0.0.1:0".parse().unwrap(), 1).unwrap();
    let mut s = connect(server.addr());
    s.write_all(request("POST", CALLBACK, "{}", false).as_bytes()).unwrap();
    let answer = read_response(&mut s).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(!answer.to_ascii_lowercase().contains("connection: close"), "kept alive: {answer}");
    assert_eq!(until_closed(&mut s), Ok(String::new()), "then, idle, it is closed without a word");
}

#[test]
fn a_silent_tls_client_is_disconnected() {
    let spec = ModelSpec {
        limits: ServerLimits { header_timeout: Duration::from_millis(300), ..limits() },
        ..ModelSpec::default()
    };
    let server = Server::start_tls(spec, "127.0.0.1:0".parse().unwrap(), 1).unwrap();
    let mut s = connect(server.addr());
    assert_eq!(until_closed(&mut s), Ok(String::new()), "no handshake, no slot");
}

#[test]
fn connections_over_the_limit_are_turned_away_until_one_closes() {
    let server = start(ServerLimits { max_connections: Some(2), ..limits() });
    let addr = server.addr();
    let mut held: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut s = connect(addr);
            s.write_all(request("GET", "/healthz", "", false).as_bytes()).unwrap();
            assert!(read_response(&mut s).unwrap().starts_with("HTTP/1.1 200"));
            s
        })
        .collect();
    let third = exchange(addr, &request("GET", "/healthz", "", true));
    assert!(third.is_empty() || third.starts_with("HTTP/1.1 503"), "the third of 2 is not served: {third}");
    drop(held.pop());
    // The slot comes back once the server has seen the close: ask until it has (at most
    // 10 s; each try is a refusal, so nothing here waits on a clock but the bound).
    let metrics = (0..500).find_map(|_| {
        let answer = exchange(addr, &request("GET", "/metrics", "", true));
        if answer.starts_with("HTTP/1.1 200") {
            return Some(answer);
        }
        std::thread::sleep(Duration::from_millis(20));
        None
    });
    let metrics = metrics.expect("a connection is served again once one closed");
    assert!(metrics.contains("einv_connections_open 2\n"), "the held one and this one: {metrics}");
    assert!(!metrics.contains("einv_connections_refused_total 0\n"), "{metrics}");
}

/// The ledger's window over HTTP: what left it is archived (410), and its order number is
/// a new order; what is in it answers as before.
#[test]
fn an_invoice_older_than_the_window_is_archived() {
    let server = start(ServerLimits { ledger_window: 2, ..limits() });
    let send = |method: &str, path: &str, body: &str| exchange(server.addr(), &request(method, path, body, true));
    let issue = |order: &str| send("POST", INVOICES, &GOOD.replace("\"A1\"", &format!("\"{order}\"")));
    let no = |answer: &str| answer.split("\"invoice_no\":\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let first = no(&issue("O1"));
    issue("O2");
    let third = no(&issue("O3"));
    for (method, path) in [("GET", ""), ("POST", "/red-flush"), ("GET", "/pdf")] {
        let answer = send(method, &format!("{INVOICES}/{first}{path}"), "");
        assert!(answer.starts_with("HTTP/1.1 410") && answer.contains("E410"), "{method} {path}: {answer}");
    }
    assert!(send("GET", &format!("{INVOICES}/{third}"), "").contains("\"status\":\"issued\""));
    let again = issue("O3");
    assert!(again.contains(&third) && again.contains("\"duplicate\":true"), "{again}");
    let renewed = issue("O1");
    assert!(renewed.starts_with("HTTP/1.1 200") && !renewed.contains("duplicate"), "{renewed}");
    assert_ne!(no(&renewed), first, "a forgotten order number is a new order");
}
