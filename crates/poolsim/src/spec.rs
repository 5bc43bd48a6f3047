use std::time::Duration;

use crate::Error;

/// The operations of the invoice API the model knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// POST /api/v1/invoices: issue an invoice (a write; the longest hold).
    Issue,
    /// GET /api/v1/invoices/{no}: read one back.
    Query,
    /// POST /api/v1/invoices/{no}/red-flush: reverse an issued invoice (a write).
    RedFlush,
    /// GET /api/v1/taxpayers/{tax_id}: verify a taxpayer.
    VerifyTaxpayer,
    /// GET /api/v1/invoices/{no}/pdf: download (reprint) the invoice file.
    Download,
    /// POST /api/v1/payments/callback: the payment provider's notification.
    PaymentCallback,
}

impl Operation {
    pub const ALL: [Operation; 6] = [
        Operation::Issue,
        Operation::Query,
        Operation::RedFlush,
        Operation::VerifyTaxpayer,
        Operation::Download,
        Operation::PaymentCallback,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Issue => "issue",
            Operation::Query => "query",
            Operation::RedFlush => "red_flush",
            Operation::VerifyTaxpayer => "verify_taxpayer",
            Operation::Download => "download",
            Operation::PaymentCallback => "payment_callback",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A periodic stall: every `every`, the service stops answering for `length` (a GC pause,
/// a lock wait, a failover). Requests arriving in the window wait until it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stall {
    pub every: Duration,
    pub length: Duration,
}

impl Stall {
    /// How long a request arriving `since_start` into the service's life must wait.
    pub fn wait_at(&self, since_start: Duration) -> Duration {
        let every = self.every.as_nanos();
        let phase = since_start.as_nanos() % every;
        // The window sits at the end of each period, so a service starts healthy.
        let window_start = every - self.length.as_nanos();
        if phase >= window_start {
            Duration::from_nanos(u64::try_from(every - phase).unwrap_or(u64::MAX))
        } else {
            Duration::ZERO
        }
    }
}

/// The service model shared by the simulator and the live target.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    /// Database connections in the pool.
    pub pool_size: usize,
    /// How long a request waits for a connection before failing with HTTP 500.
    pub acquire_timeout: Duration,
    /// How long each operation holds its connection, indexed like [`Operation::ALL`].
    pub holds: [Duration; 6],
    pub stall: Option<Stall>,
}

impl Default for ModelSpec {
    fn default() -> Self {
        Self {
            pool_size: 100,
            acquire_timeout: Duration::from_secs(1),
            // issue, query, red-flush, verify, download, callback: writes hold longest.
            holds: [20, 5, 15, 3, 8, 5].map(Duration::from_millis),
            stall: None,
        }
    }
}

impl ModelSpec {
    pub fn validate(&self) -> Result<(), Error> {
        if self.pool_size == 0 {
            return Err(Error::EmptyPool);
        }
        if let Some(s) = self.stall
            && (s.length >= s.every || s.every.is_zero())
        {
            return Err(Error::BadStall { every: s.every, length: s.length });
        }
        Ok(())
    }

    /// How long `op` holds its connection.
    pub fn hold(&self, op: Operation) -> Duration {
        self.holds[op.index()]
    }

    /// Set how long `op` holds its connection.
    pub fn set_hold(&mut self, op: Operation, hold: Duration) {
        self.holds[op.index()] = hold;
    }

    /// Requests per second the pool can serve if every request holds for `hold`.
    pub fn capacity_per_s(&self, hold: Duration) -> f64 {
        if hold.is_zero() { f64::INFINITY } else { self.pool_size as f64 / hold.as_secs_f64() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stall_window_is_at_the_end_of_each_period() {
        let s = Stall { every: Duration::from_secs(5), length: Duration::from_secs(1) };
        assert_eq!(s.wait_at(Duration::from_secs(1)), Duration::ZERO);
        assert_eq!(s.wait_at(Duration::from_millis(4_250)), Duration::from_millis(750));
        assert_eq!(s.wait_at(Duration::from_millis(9_900)), Duration::from_millis(100));
        assert_eq!(s.wait_at(Duration::from_secs(10)), Duration::ZERO);
    }

    #[test]
    fn bad_specs_are_rejected() {
        assert!(ModelSpec { pool_size: 0, ..ModelSpec::default() }.validate().is_err());
        let stall = Some(Stall { every: Duration::from_secs(1), length: Duration::from_secs(1) });
        assert!(ModelSpec { stall, ..ModelSpec::default() }.validate().is_err());
        assert!(ModelSpec::default().validate().is_ok());
    }
}
