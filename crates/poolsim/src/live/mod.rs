//! The built-in target: the [`ModelSpec`] in real time behind a hyper HTTP/1.1 server.
//!
//! It runs on its own tokio runtime and threads, so that a load test run in the same
//! process does not share a scheduler with the service it measures.

mod handler;

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
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
}

impl Server {
    /// Validate `spec`, bind `addr` (port 0 picks a free port) and start serving on
    /// `threads` worker threads.
    pub fn start(spec: ModelSpec, addr: SocketAddr, threads: usize) -> Result<Server, Error> {
        spec.validate()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("einv-target")
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        let listener = runtime
            .block_on(TcpListener::bind(addr))
            .map_err(|source| Error::Bind { addr: addr.to_string(), source })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind { addr: addr.to_string(), source })?;
        let (shutdown, stop) = watch::channel(false);
        let state = Arc::new(State::new(spec));
        runtime.spawn(accept_loop(listener, state, stop));
        Ok(Server { addr, shutdown, runtime: Some(runtime) })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL of the server, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
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

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>, mut stop: watch::Receiver<bool>) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors and the like: keep serving the connections we have.
                Err(_) => continue,
            },
            _ = stop.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handler::handle(state.clone(), req));
            let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.changed() => conn.as_mut().graceful_shutdown(),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::time::Duration;

    fn get(addr: SocketAddr, req: &str) -> String {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(req.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn issues_then_queries_an_invoice() {
        let spec = ModelSpec { issue_hold: Duration::ZERO, query_hold: Duration::ZERO, ..ModelSpec::default() };
        let server = Server::start(spec, "127.0.0.1:0".parse().unwrap(), 1).unwrap();
        let issued = get(
            server.addr(),
            "POST /api/v1/invoices HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
        );
        assert!(issued.starts_with("HTTP/1.1 200"), "{issued}");
        let no = issued.split("\"invoice_no\":\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let found =
            get(server.addr(), &format!("GET /api/v1/invoices/{no} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"));
        assert!(found.starts_with("HTTP/1.1 200"), "{found}");
        let missing = get(
            server.addr(),
            "GET /api/v1/invoices/26119999999999999999 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        );
        assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
        server.stop();
    }

    #[test]
    fn pool_timeout_answers_500() {
        let spec = ModelSpec {
            pool_size: 1,
            acquire_timeout: Duration::from_millis(10),
            issue_hold: Duration::from_millis(300),
            ..ModelSpec::default()
        };
        let server = Server::start(spec, "127.0.0.1:0".parse().unwrap(), 1).unwrap();
        let addr = server.addr();
        let req = "POST /api/v1/invoices HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
        let first = std::thread::spawn(move || get(addr, req));
        std::thread::sleep(Duration::from_millis(50));
        let second = get(addr, req);
        assert!(second.starts_with("HTTP/1.1 500"), "{second}");
        assert!(second.contains("pool"), "{second}");
        assert!(first.join().unwrap().starts_with("HTTP/1.1 200"));
    }
}
