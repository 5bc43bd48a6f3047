//! The built-in target: the [`ModelSpec`] in real time behind a hyper HTTP/1.1 server,
//! over plain TCP or ([`Server::start_tls`]) TLS with a self-signed certificate.
//!
//! It runs on its own tokio runtime and threads, so that a load test run in the same
//! process does not share a scheduler with the service it measures.

mod bag;
mod body;
mod conn;
mod handler;
mod ledger;
mod metrics;
mod resources;
mod routes;
mod tls;
mod validate;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::{Error, ModelSpec};
use handler::State;

/// A running built-in target. Dropping it stops the server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    runtime: Option<tokio::runtime::Runtime>,
    /// The certificate served, in PEM, when the server speaks TLS.
    cert_pem: Option<String>,
}

impl Server {
    /// Validate `spec`, bind `addr` (port 0 picks a free port) and start serving on
    /// `threads` worker threads.
    pub fn start(spec: ModelSpec, addr: SocketAddr, threads: usize) -> Result<Server, Error> {
        Server::launch(spec, addr, threads, (None, false))
    }

    /// Like [`Server::start`] (or with `tls` [`Server::start_tls`]), serving HTTP/2 besides
    /// HTTP/1.1 on the same port: prior-knowledge h2c in the clear, ALPN `h2` over TLS.
    pub fn start_h2(spec: ModelSpec, addr: SocketAddr, threads: usize, tls: bool) -> Result<Server, Error> {
        let identity = if tls { Some(tls::self_signed(true)?) } else { None };
        Server::launch(spec, addr, threads, (identity, true))
    }

    /// Like [`Server::start`], over TLS with a self-signed certificate made now for
    /// `localhost`, 127.0.0.1 and ::1 (see [`Server::cert_pem`]).
    pub fn start_tls(spec: ModelSpec, addr: SocketAddr, threads: usize) -> Result<Server, Error> {
        Server::launch(spec, addr, threads, (Some(tls::self_signed(false)?), false))
    }

    fn launch(
        spec: ModelSpec,
        addr: SocketAddr,
        threads: usize,
        (tls, http2): (Option<tls::Identity>, bool),
    ) -> Result<Server, Error> {
        spec.validate()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("einv-target")
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        let listener = runtime
            .block_on(async { listen(addr) })
            .map_err(|source| Error::Bind { addr: addr.to_string(), source })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind { addr: addr.to_string(), source })?;
        let (shutdown, stop) = watch::channel(false);
        let timer = runtime.block_on(async { einv_timer::Timer::start() });
        let state = Arc::new(State::new(spec, timer));
        let cert_pem = tls.as_ref().map(|t| t.cert_pem.clone());
        runtime.spawn(conn::accept_loop(listener, state, stop, tls.map(|t| t.acceptor), http2));
        Ok(Server { addr, shutdown, runtime: Some(runtime), cert_pem })
    }

    /// The self-signed certificate in PEM, when the server speaks TLS.
    pub fn cert_pem(&self) -> Option<&str> {
        self.cert_pem.as_deref()
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL of the server, e.g. `http://127.0.0.1:41234` (`https://` over TLS).
    pub fn url(&self) -> String {
        let scheme = if self.cert_pem.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Stop accepting, close connections, and wait (briefly) for the threads.
    pub fn stop(mut self) {
        self.shutdown_now();
    }

    fn shutdown_now(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(std::time::Duration::from_secs(1));
        }
    }
}

/// Connections the kernel may hold for us before we accept them. tokio's default, 1,024,
/// overflows under a flood of connections, and a client whose SYN is dropped waits a
/// whole second to retry; the kernel caps this at net.core.somaxconn.
const BACKLOG: u32 = 4096;

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    // As std's bind does on Unix: a restarted server can take its port back at once.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}

#[cfg(test)]
mod discipline_tests;
#[cfg(test)]
mod guard_tests;
#[cfg(test)]
mod limits_tests;
#[cfg(test)]
mod test_client;

#[cfg(test)]
mod tests {
    use super::test_client::{await_metric, exchange, request};
    use super::*;
    use crate::Hold;
    use std::time::Duration;

    #[test]
    fn issues_queries_reverses_and_refuses_like_an_invoice_service() {
        let spec = ModelSpec { holds: std::array::from_fn(|_| Hold::Constant(Duration::ZERO)), ..ModelSpec::default() };
        let server = Server::start(spec, "127.0.0.1:0".parse().unwrap(), 1).unwrap();
        let send = |method: &str, path: &str, body: &str| exchange(server.addr(), &request(method, path, body, true));
        let good = validate::tests::GOOD;
        let issued = send("POST", "/api/v1/invoices", good);
        assert!(issued.starts_with("HTTP/1.1 200"), "{issued}");
        let no = issued.split("\"invoice_no\":\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let again = send("POST", "/api/v1/invoices", good);
        assert!(
            again.contains(&no) && again.contains("\"duplicate\":true"),
            "a duplicate gets the first invoice: {again}"
        );
        assert!(send("GET", &format!("/api/v1/invoices/{no}"), "").contains("\"status\":\"issued\""));
        assert!(send("POST", &format!("/api/v1/invoices/{no}/red-flush"), "").starts_with("HTTP/1.1 200"));
        assert!(send("POST", &format!("/api/v1/invoices/{no}/red-flush"), "").starts_with("HTTP/1.1 409"));
        assert!(send("GET", &format!("/api/v1/invoices/{no}"), "").contains("\"status\":\"reversed\""));
        assert!(send("GET", &format!("/api/v1/invoices/{no}/pdf"), "").contains("application/pdf"));
        assert!(send("GET", "/api/v1/invoices/26119999999999999999", "").starts_with("HTTP/1.1 404"));
        assert!(send("GET", "/api/v1/taxpayers/91350100M000100Y43", "").contains("\"valid\":true"));
        assert!(send("GET", "/api/v1/taxpayers/91350100M000100Y44", "").contains("\"valid\":false"));
        assert!(send("POST", "/api/v1/payments/callback", "{}").starts_with("HTTP/1.1 200"));
        let bad = send("POST", "/api/v1/invoices", &good.replace("113.51", "113.52"));
        assert!(bad.starts_with("HTTP/1.1 400") && bad.contains("E4005"), "{bad}");
        server.stop();
    }

    const QUERY: &str = "/api/v1/invoices/26110000000000000001";

    #[test]
    fn metrics_and_injected_faults() {
        // A burst window from the first nanosecond of the service's life to its 1,000th
        // second: whatever this test's pace, every request falls in it.
        let every = Duration::from_secs(1000);
        let burst = crate::Stall { every, length: every - Duration::from_nanos(1) };
        let server = Server::start(
            ModelSpec { error_burst: Some(burst), ..ModelSpec::default() },
            "127.0.0.1:0".parse().unwrap(),
            1,
        )
        .unwrap();
        let metrics = exchange(server.addr(), &request("GET", "/metrics", "", true));
        assert!(metrics.contains("einv_pool_size 100") && metrics.contains("einv_pool_active 0"), "{metrics}");
        assert!(metrics.contains("# TYPE einv_pool_timeouts_total counter"));
        let q = exchange(server.addr(), &request("GET", QUERY, "", true));
        assert!(q.starts_with("HTTP/1.1 503") && q.contains("injected burst"), "{q}");
        server.stop();

        let server =
            Server::start(ModelSpec { reset_rate: 1.0, ..ModelSpec::default() }, "127.0.0.1:0".parse().unwrap(), 1)
                .unwrap();
        let dropped = exchange(server.addr(), &request("GET", QUERY, "", true));
        assert!(dropped.is_empty(), "the connection is dropped without an answer: {dropped}");
        server.stop();
    }

    #[test]
    fn pool_timeout_answers_500() {
        // The first issue holds the only connection for 3 s; the second, sent once the
        // first holds it, gives up after 10 ms. The 3 s are slack for a busy machine.
        let spec = ModelSpec {
            pool_size: 1,
            acquire_timeout: Duration::from_millis(10),
            holds: [3000, 0, 0, 0, 0, 0].map(|ms| Hold::Constant(Duration::from_millis(ms))),
            ..ModelSpec::default()
        };
        let server = Server::start(spec, "127.0.0.1:0".parse().unwrap(), 1).unwrap();
        let addr = server.addr();
        let good = validate::tests::GOOD;
        let first = std::thread::spawn(move || exchange(addr, &request("POST", "/api/v1/invoices", good, true)));
        let metrics = await_metric(addr, "einv_pool_active 1\n");
        assert!(metrics.contains("einv_pool_active 1\n"), "the first issue holds the connection: {metrics}");
        let second = exchange(addr, &request("POST", "/api/v1/invoices", &good.replace("\"A1\"", "\"A2\""), true));
        assert!(second.starts_with("HTTP/1.1 500"), "{second}");
        assert!(second.contains("pool"), "{second}");
        assert!(first.join().unwrap().starts_with("HTTP/1.1 200"));
    }
}
