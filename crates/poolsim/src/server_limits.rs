//! What the built-in target accepts from a client and what it keeps, so that no client
//! can make it grow without bound or hold it forever. These belong to the live target
//! only: the simulator has no wire and no ledger.

use std::time::Duration;

use crate::Error;

/// The built-in target's bounds, each with a default fit for an invoice API (bodies of a
/// few KB, order numbers of a few dozen characters, clients that send at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Largest request body read, in bytes; a larger one is answered 413 without being
    /// read.
    pub max_body: u64,
    /// Longest order number an invoice may carry, in characters; longer is answered 400.
    pub max_order_no: usize,
    /// Time a client has to send a request's head: from its first byte (on a new
    /// connection, from the accept). Also the longest pause inside a request body.
    pub header_timeout: Duration,
    /// How long a connection may sit with nothing moving (no byte read or written, no
    /// request being served) before it is closed: the keep-alive idle timeout.
    pub idle_timeout: Duration,
    /// Connections served at once; more are answered 503 and closed. `None`: what fits
    /// the process's open-file limit (see [`ServerLimits::connections_for`]).
    pub max_connections: Option<usize>,
    /// Invoices the ledger remembers (the idempotency window): the last this many issued.
    pub ledger_window: usize,
}

/// Window sizes the ledger's 32-bit index can address, with room to spare.
pub const MAX_LEDGER_WINDOW: usize = 100_000_000;

/// Connections at most by default, whatever the open-file limit: each costs some
/// kilobytes of buffers, so ten thousand stay in the tens of megabytes.
const DEFAULT_CONNECTIONS_CAP: usize = 10_000;

/// File descriptors left to the rest of the process: the listener, the timer, report
/// files, and (with `url = "builtin"`) a run's own client connections.
const FD_RESERVE: u64 = 128;

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_body: 1024 * 1024,
            max_order_no: 64,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: None,
            ledger_window: 1_000_000,
        }
    }
}

impl ServerLimits {
    /// The limits can work: else the first of [`ServerLimits::problems`].
    pub fn validate(&self) -> Result<(), Error> {
        self.problems().into_iter().next().map_or(Ok(()), |p| Err(Error::Model(p)))
    }

    /// Connections served at once when the process may open `fd_limit` files (its soft
    /// RLIMIT_NOFILE; `None` if unknown): the configured number, or what fits.
    pub fn connections_for(&self, fd_limit: Option<u64>) -> usize {
        self.max_connections.unwrap_or_else(|| {
            let fits = fd_limit.map_or(1024, |n| n.saturating_sub(FD_RESERVE)).max(16);
            usize::try_from(fits).unwrap_or(usize::MAX).min(DEFAULT_CONNECTIONS_CAP)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_connection_limit_fits_the_open_file_limit() {
        let limits = ServerLimits::default();
        assert_eq!(limits.connections_for(Some(1024)), 896, "room is left for the rest of the process");
        assert_eq!(limits.connections_for(Some(64)), 16, "a tiny limit still serves a few");
        assert_eq!(limits.connections_for(Some(1 << 20)), 10_000, "a huge limit is capped");
        let set = ServerLimits { max_connections: Some(50_000), ..limits };
        assert_eq!(set.connections_for(Some(64)), 50_000, "a configured limit is taken as it is");
    }

    #[test]
    fn zero_limits_are_refused() {
        let d = ServerLimits::default();
        assert!(d.validate().is_ok());
        for bad in [
            ServerLimits { max_body: 0, ..d },
            ServerLimits { max_order_no: 0, ..d },
            ServerLimits { header_timeout: Duration::ZERO, ..d },
            ServerLimits { max_connections: Some(0), ..d },
            ServerLimits { ledger_window: MAX_LEDGER_WINDOW + 1, ..d },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
