//! `einv-load serve`: the built-in target on its own, until Ctrl-C.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use einv_poolsim::ModelSpec;
use einv_poolsim::live::Server;

use crate::error::Error;

/// Serve the built-in target at `addr` until Ctrl-C or SIGTERM; `ready` is called with
/// the bound address (useful with port 0).
pub fn serve(spec: ModelSpec, addr: SocketAddr, threads: usize, ready: impl FnOnce(SocketAddr)) -> Result<(), Error> {
    warn_if_exposed(addr);
    let signals = signal_runtime()?;
    let server = Server::start(spec, addr, threads)?;
    ready(server.addr());
    wait_and_stop(&signals, server)
}

/// Like [`serve()`], over TLS with a self-signed certificate made at start. Its PEM is
/// written to `cert_out` (default: `einv-load-serve-PORT.pem` in the temporary folder) so
/// that clients can trust it (`tls-ca`); `ready` gets the address and that path.
pub fn serve_tls(
    spec: ModelSpec,
    addr: SocketAddr,
    threads: usize,
    cert_out: Option<&Path>,
    ready: impl FnOnce(SocketAddr, &Path),
) -> Result<(), Error> {
    warn_if_exposed(addr);
    let signals = signal_runtime()?;
    let server = Server::start_tls(spec, addr, threads)?;
    let path = cert_out.map_or_else(
        || std::env::temp_dir().join(format!("einv-load-serve-{}.pem", server.addr().port())),
        PathBuf::from,
    );
    let pem = server.cert_pem().unwrap_or_default();
    einv_report::write_file(&path, pem.as_bytes()).map_err(Error::Certificate)?;
    ready(server.addr(), &path);
    wait_and_stop(&signals, server)
}

/// The built-in target is a test rig with no authentication: say so when it listens
/// beyond this machine.
fn warn_if_exposed(addr: SocketAddr) {
    if !addr.ip().is_loopback() {
        tracing::warn!(
            "{addr} is not a loopback address: anyone who can reach this machine can use the built-in target \
             (a test rig, without authentication); listen on 127.0.0.1 unless other machines must reach it"
        );
    }
}

/// The runtime that waits for Ctrl-C or SIGTERM, made before the server starts: once
/// clients hold every file descriptor the process may open, it could not be made.
fn signal_runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(Error::Runtime)
}

fn wait_and_stop(rt: &tokio::runtime::Runtime, server: Server) -> Result<(), Error> {
    let (tx, mut rx) = tokio::sync::watch::channel(false);
    rt.block_on(async {
        tokio::spawn(crate::signals::forward(tx, "stopping the built-in target"));
        let _ = rx.wait_for(|s| *s).await;
    });
    server.stop();
    Ok(())
}
