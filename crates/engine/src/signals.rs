//! Ctrl-C and SIGTERM end a run cleanly: the driver stops sending, the report is written
//! and marked interrupted. Work without an async runtime of its own (`simulate`,
//! `generate`) polls an [`Interrupt`] instead.

use tokio::sync::{oneshot, watch};

use crate::error::Error;

/// Ctrl-C and SIGTERM, registered when made: a signal that comes after [`Signals::new`]
/// returns is seen, even before the first `recv`.
struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    /// Must be called inside a tokio runtime.
    fn new() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals { int: signal(SignalKind::interrupt())?, term: signal(SignalKind::terminate())? })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Wait for Ctrl-C or SIGTERM (never returns if they cannot be watched).
pub async fn received() {
    match Signals::new() {
        Ok(mut signals) => signals.recv().await,
        Err(_) => std::future::pending().await,
    }
}

/// Wait for Ctrl-C or SIGTERM, log `why`, then set `stop`.
pub async fn forward(stop: watch::Sender<bool>, why: &'static str) {
    let Ok(mut signals) = Signals::new() else { return };
    signals.recv().await;
    tracing::warn!("{why}");
    let _ = stop.send(true);
}

/// Ctrl-C or SIGTERM, watched by a thread of its own for as long as this lives. Without
/// it a signal kills the process mid-write and leaves temp files; with it the work stops
/// at its next check and finishes its files.
#[derive(Debug)]
pub(crate) struct Interrupt {
    fired: watch::Receiver<bool>,
    done: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Interrupt {
    /// Start watching; `why` is logged when a signal comes.
    pub(crate) fn start(why: &'static str) -> Result<Interrupt, Error> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(Error::Runtime)?;
        let mut signals = {
            let _inside = rt.enter();
            Signals::new().map_err(Error::Runtime)?
        };
        let (stop, fired) = watch::channel(false);
        let (done, finished) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("einv-load-signals".into())
            .spawn(move || {
                rt.block_on(async move {
                    tokio::select! {
                        () = signals.recv() => {
                            tracing::warn!("{why}");
                            let _ = stop.send(true);
                        }
                        _ = finished => {}
                    }
                });
            })
            .map_err(Error::Runtime)?;
        Ok(Interrupt { fired, done: Some(done), thread: Some(thread) })
    }

    /// Whether Ctrl-C or SIGTERM came.
    pub(crate) fn fired(&self) -> bool {
        *self.fired.borrow()
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        if let Some(done) = self.done.take() {
            let _ = done.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
