//! `einv-load serve`: the built-in target on its own, until Ctrl-C.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use einv_poolsim::live::Server;
use einv_poolsim::{Hold, ModelSpec, RateLimit, SlowBody, Stall};

use crate::error::Error;
use crate::profile::Plan;

/// `serve`'s flags for the model, each the `[target.builtin]` key of the same name; `None`
/// keeps the profile's value (or the default).
#[derive(Debug, Clone, Default)]
pub struct ModelOverrides {
    pub pool_size: Option<usize>,
    pub acquire_timeout: Option<Duration>,
    pub stall: Option<Stall>,
    pub error_burst: Option<Stall>,
    pub reset_rate: Option<f64>,
    pub workers: Option<usize>,
    pub queue_limit: Option<usize>,
    pub overhead: Option<Duration>,
    pub rate_limit: Option<RateLimit>,
    pub slow_body: Option<SlowBody>,
    pub max_body: Option<u64>,
    pub max_order_no: Option<usize>,
    pub header_timeout: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    pub max_connections: Option<usize>,
    pub ledger_window: Option<usize>,
}

/// The model `serve` runs and its threads: `profile`'s `[model]` (or the defaults) with
/// the flags applied, checked as a whole.
pub fn serve_model(profile: Option<&Path>, o: &ModelOverrides) -> Result<(ModelSpec, usize), Error> {
    let (mut spec, threads) = match profile {
        Some(p) => {
            let model = Plan::load(p)?.model;
            (*model.spec, model.threads)
        }
        None => (ModelSpec::default(), 1),
    };
    let one_pool = [o.pool_size.is_some(), o.acquire_timeout.is_some(), o.workers.is_some(), o.queue_limit.is_some()];
    if !spec.resources.is_empty() && (one_pool.contains(&true) || o.rate_limit.is_some()) {
        let message = "the profile's [model] has named resources: --pool-size, --acquire-timeout, --workers, \
                       --queue-limit and --rate-limit size the one-pool model; change the resources in the profile";
        return Err(Error::Flag { flag: "--profile", message: message.into() });
    }
    spec.pool_size = o.pool_size.unwrap_or(spec.pool_size);
    spec.acquire_timeout = o.acquire_timeout.unwrap_or(spec.acquire_timeout);
    spec.stall = o.stall.or(spec.stall);
    spec.error_burst = o.error_burst.or(spec.error_burst);
    spec.reset_rate = o.reset_rate.unwrap_or(spec.reset_rate);
    spec.workers = o.workers.or(spec.workers);
    spec.queue_limit = o.queue_limit.or(spec.queue_limit);
    spec.overhead = o.overhead.map_or(spec.overhead, Hold::Constant);
    spec.rate_limit = o.rate_limit.or(spec.rate_limit);
    spec.slow_body = o.slow_body.or(spec.slow_body);
    let l = &mut spec.limits;
    l.max_body = o.max_body.unwrap_or(l.max_body);
    l.max_order_no = o.max_order_no.unwrap_or(l.max_order_no);
    l.header_timeout = o.header_timeout.unwrap_or(l.header_timeout);
    l.idle_timeout = o.idle_timeout.unwrap_or(l.idle_timeout);
    l.max_connections = o.max_connections.or(l.max_connections);
    l.ledger_window = o.ledger_window.unwrap_or(l.ledger_window);
    // The model's own rules, as the profile's [target.builtin] is checked by them.
    match spec.problems().into_iter().next() {
        Some(p) => Err(Error::Flag { flag: flag_for(&p.key), message: p.message }),
        None => Ok((spec, threads)),
    }
}

/// `serve`'s flag for a model key (`stall.for`: `--stall`). A key no flag sets came from
/// the profile (which was valid alone, so a flag made it wrong with it).
fn flag_for(key: &str) -> &'static str {
    const FLAGS: [&str; 16] = [
        "--pool-size",
        "--acquire-timeout",
        "--stall",
        "--error-burst",
        "--reset-rate",
        "--workers",
        "--queue-limit",
        "--overhead",
        "--rate-limit",
        "--slow-body",
        "--max-body",
        "--max-order-no",
        "--header-timeout",
        "--idle-timeout",
        "--max-connections",
        "--ledger-window",
    ];
    let name = key.split('.').next().unwrap_or(key);
    FLAGS.into_iter().find(|f| f[2..] == *name).unwrap_or("--profile")
}

/// Serve the built-in target at `addr` until Ctrl-C or SIGTERM; `ready` is called with
/// the bound address (useful with port 0).
/// With `http2` it serves HTTP/2 (prior-knowledge h2c) on the same port too.
pub fn serve(
    spec: ModelSpec,
    (addr, http2): (SocketAddr, bool),
    threads: usize,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), Error> {
    warn_if_exposed(addr);
    let signals = signal_runtime()?;
    let server =
        if http2 { Server::start_h2(spec, addr, threads, false)? } else { Server::start(spec, addr, threads)? };
    ready(server.addr());
    wait_and_stop(&signals, server)
}

/// Like [`serve()`], over TLS with a self-signed certificate made at start. Its PEM is
/// written to `cert_out` (default: `einv-load-serve-PORT.pem` in the temporary folder) so
/// that clients can trust it (`tls-ca`); `ready` gets the address and that path. With
/// `http2` ALPN offers `h2` before `http/1.1`.
pub fn serve_tls(
    spec: ModelSpec,
    (addr, http2): (SocketAddr, bool),
    threads: usize,
    cert_out: Option<&Path>,
    ready: impl FnOnce(SocketAddr, &Path),
) -> Result<(), Error> {
    warn_if_exposed(addr);
    let signals = signal_runtime()?;
    let server =
        if http2 { Server::start_h2(spec, addr, threads, true)? } else { Server::start_tls(spec, addr, threads)? };
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
