//! `einv-load serve`: the built-in target on its own, until Ctrl-C.

use std::net::SocketAddr;

use einv_poolsim::ModelSpec;
use einv_poolsim::live::Server;

use crate::error::Error;

/// Serve the built-in target at `addr` until Ctrl-C or SIGTERM; `ready` is called with
/// the bound address (useful with port 0).
pub fn serve(spec: ModelSpec, addr: SocketAddr, threads: usize, ready: impl FnOnce(SocketAddr)) -> Result<(), Error> {
    let server = Server::start(spec, addr, threads)?;
    ready(server.addr());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(Error::Runtime)?;
    let (tx, mut rx) = tokio::sync::watch::channel(false);
    rt.block_on(async {
        tokio::spawn(crate::signals::forward(tx, "stopping the built-in target"));
        let _ = rx.wait_for(|s| *s).await;
    });
    server.stop();
    Ok(())
}
