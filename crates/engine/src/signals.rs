//! Ctrl-C and SIGTERM end a run cleanly: the driver stops sending, the report is written
//! and marked interrupted.

use tokio::sync::watch;

/// Wait for Ctrl-C or SIGTERM, then set `stop`.
pub async fn forward(stop: watch::Sender<bool>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else { return ctrl_c(stop).await };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::warn!("interrupted: finishing in-flight requests and writing the report");
        let _ = stop.send(true);
    }
    #[cfg(not(unix))]
    ctrl_c(stop).await
}

#[cfg_attr(unix, allow(dead_code))]
async fn ctrl_c(stop: watch::Sender<bool>) {
    if tokio::signal::ctrl_c().await.is_ok() {
        tracing::warn!("interrupted: finishing in-flight requests and writing the report");
        let _ = stop.send(true);
    }
}
