//! Ctrl-C and SIGTERM end a run cleanly: the driver stops sending, the report is written
//! and marked interrupted.

use tokio::sync::watch;

/// Wait for Ctrl-C or SIGTERM, log `why`, then set `stop`.
pub async fn forward(stop: watch::Sender<bool>, why: &'static str) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else { return ctrl_c(stop, why).await };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::warn!("{why}");
        let _ = stop.send(true);
    }
    #[cfg(not(unix))]
    ctrl_c(stop, why).await
}

#[cfg_attr(unix, allow(dead_code))]
async fn ctrl_c(stop: watch::Sender<bool>, why: &'static str) {
    if tokio::signal::ctrl_c().await.is_ok() {
        tracing::warn!("{why}");
        let _ = stop.send(true);
    }
}
