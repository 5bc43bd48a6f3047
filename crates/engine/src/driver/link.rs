//! One HTTP/2 connection shared by its stream slots: the first slot to need it opens it,
//! those that came meanwhile wait for that connect and take a handle on the connection,
//! or fail with it (a refused connect is one error per waiting request, not a storm of
//! reconnects); a closed connection (GOAWAY, reset) is reopened by the next slot.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use einv_report::ErrorClass;
use tokio::sync::Mutex;

use super::Ctx;
use super::transport::Conn;

#[derive(Debug, Default)]
pub struct Link {
    state: Mutex<State>,
    /// Connect attempts begun, read before waiting for the lock.
    attempts: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    conn: Option<Conn>,
    /// How the last connect attempt failed, while no connection is open.
    failed: Option<ErrorClass>,
}

impl Link {
    /// A handle on the open connection, opening it with `dial` if there is none; `true`
    /// when this call opened it (its request records the connect).
    pub async fn stream<F>(&self, dial: impl FnOnce() -> F) -> Result<(Conn, bool), ErrorClass>
    where
        F: Future<Output = Result<Conn, ErrorClass>>,
    {
        let seen = self.attempts.load(Ordering::Acquire);
        let mut st = self.state.lock().await;
        if let Some(handle) = st.conn.as_ref().filter(|c| !c.is_closed()).and_then(Conn::share) {
            return Ok((handle, false));
        }
        // A connect began while this slot waited and failed: this request fails with it.
        if let Some(class) = st.failed.filter(|_| self.attempts.load(Ordering::Acquire) != seen) {
            return Err(class);
        }
        self.attempts.fetch_add(1, Ordering::AcqRel);
        st.conn = None;
        match dial().await {
            Ok(conn) => {
                st.failed = None;
                // An HTTP/2 connection always shares; were it not to, the slot keeps it alone.
                let handle = conn.share();
                match handle {
                    Some(handle) => {
                        st.conn = Some(conn);
                        Ok((handle, true))
                    }
                    None => Ok((conn, true)),
                }
            }
            Err(class) => {
                st.failed = Some(class);
                Err(class)
            }
        }
    }
}

/// Stream slots per connection for `protocol = "auto"` over TLS, where only the handshake
/// says whether a connection can carry several requests: one connection opened before
/// the run (counted nowhere, carrying no request) learns the server's ALPN choice, and
/// the run takes `h2_streams` slots per connection when it is h2. A probe that fails
/// leaves one request per connection; the run's own connects then say why.
pub async fn auto_streams(ctx: &Ctx, h2_streams: usize) -> usize {
    match Conn::connect(&ctx.dialer(), &Arc::default()).await {
        Ok(conn) if conn.share().is_some() => h2_streams,
        Ok(_) => 1,
        Err(class) => {
            tracing::debug!("auto: the ALPN probe failed ({}): one request per connection", class.as_str());
            1
        }
    }
}
