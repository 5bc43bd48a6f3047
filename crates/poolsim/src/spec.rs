use std::sync::Arc;
use std::time::Duration;

use rand::RngExt;
use rand::distr::OpenClosed01;

use crate::{Empirical, Error, ModelOp, RateLimit, ServerLimits, SlowBody};

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

    /// The `[target.builtin]` key of its hold time.
    pub fn hold_key(self) -> &'static str {
        match self {
            Operation::Issue => "issue-hold",
            Operation::Query => "query-hold",
            Operation::RedFlush => "red-flush-hold",
            Operation::VerifyTaxpayer => "verify-hold",
            Operation::Download => "download-hold",
            Operation::PaymentCallback => "callback-hold",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// How long an operation holds its connection: a distribution, sampled per request.
#[derive(Debug, Clone, PartialEq)]
pub enum Hold {
    Constant(Duration),
    /// Memoryless holds (the M/M/c model behind Erlang C).
    Exponential {
        mean: Duration,
    },
    /// Lognormal, given its median and 99th percentile: the long right tail of real queries.
    LogNormal {
        p50: Duration,
        p99: Duration,
    },
    /// Drawn from a measured distribution (a real run's service times).
    Empirical(Arc<Empirical>),
}

/// z of the 99th percentile of the standard normal distribution.
const Z99: f64 = 2.326_347_874_040_841;

impl Hold {
    /// One hold time. `unit` and `normal` are a uniform in (0, 1] and a standard normal
    /// draw; taking them as numbers keeps this crate's callers free to choose their RNG.
    pub fn sample_with(&self, unit: f64, normal: f64) -> Duration {
        match *self {
            Hold::Constant(d) => d,
            Hold::Exponential { mean } => Duration::from_secs_f64(-unit.ln() * mean.as_secs_f64()),
            Hold::LogNormal { p50, p99 } => {
                let mu = p50.as_secs_f64().ln();
                let sigma = (p99.as_secs_f64().ln() - mu) / Z99;
                Duration::from_secs_f64((mu + sigma * normal).exp().min(3600.0))
            }
            Hold::Empirical(ref e) => e.at(unit),
        }
    }

    /// Draw a hold from `rng` (rand's `Rng`).
    pub fn sample(&self, rng: &mut impl rand::Rng) -> Duration {
        let mut unit = || rng.sample(OpenClosed01);
        match self {
            Hold::Constant(d) => *d,
            Hold::Exponential { .. } | Hold::Empirical(_) => self.sample_with(unit(), 0.0),
            Hold::LogNormal { .. } => {
                // Box-Muller, not rand_distr's ziggurat `StandardNormal`: the simulator's
                // output for a seed (reports/example/, the tests' pinned runs) is this stream.
                let (u1, u2) = (unit(), unit());
                let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                self.sample_with(1.0, normal)
            }
        }
    }

    /// The mean hold, for capacity estimates.
    pub fn mean(&self) -> Duration {
        match *self {
            Hold::Constant(d) | Hold::Exponential { mean: d } => d,
            Hold::LogNormal { p50, p99 } => {
                let sigma = (p99.as_secs_f64().ln() - p50.as_secs_f64().ln()) / Z99;
                Duration::from_secs_f64(p50.as_secs_f64() * (sigma * sigma / 2.0).exp())
            }
            Hold::Empirical(ref e) => e.mean(),
        }
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
    /// How long each invoice operation holds its connection, indexed like
    /// [`Operation::ALL`]: the defaults of the profile's ops named like them, and what the
    /// built-in invoice routes hold when no op of the profile is theirs.
    pub holds: [Hold; 6],
    /// The profile's ops, in the order of its mix (empty: `serve` without a profile).
    pub ops: Vec<ModelOp>,
    /// Named resources (`[model.resources]`); empty: the one-pool keys above and below
    /// describe them (see [`ModelSpec::service`]).
    pub resources: Vec<crate::Resource>,
    pub stall: Option<Stall>,
    /// Stop-the-world pauses (`pause-every`, `pause`): no step makes progress in them.
    pub pause: Option<Stall>,
    /// A cold start (`warm-up`, `cold-factor`).
    pub warm_up: Option<crate::WarmUp>,
    /// Windows in which every request is answered 503 at once (a failing dependency).
    pub error_burst: Option<Stall>,
    /// Share of requests whose connection is dropped instead of answered (0..=1).
    pub reset_rate: f64,
    /// Request workers (server threads): requests served at once. `None`: no limit.
    pub workers: Option<usize>,
    /// Requests that may wait for a worker; an arrival finding the queue full is refused
    /// at once (HTTP 503). `None`: no bound. Needs `workers`.
    pub queue_limit: Option<usize>,
    /// Time a request keeps its worker after its database work (building and sending the
    /// answer), outside the pool.
    pub overhead: Hold,
    /// The round trip a client sees outside the service's steps: the network and both
    /// ends' HTTP stacks. The simulator adds one draw to every answer's latency; the live
    /// target ignores it (it has a real wire).
    pub wire: Hold,
    /// A token bucket in front of the service (HTTP 429 when empty).
    pub rate_limit: Option<RateLimit>,
    /// Windows in which response bodies trickle out (live target only: the simulator
    /// does not model the wire).
    pub slow_body: Option<SlowBody>,
    /// What the live target accepts and remembers (body size, timeouts, connections, the
    /// ledger's window); the simulator ignores it.
    pub limits: ServerLimits,
}

impl Default for ModelSpec {
    fn default() -> Self {
        Self {
            pool_size: 100,
            acquire_timeout: Duration::from_secs(1),
            // issue, query, red-flush, verify, download, callback: writes hold longest.
            holds: [20, 5, 15, 3, 8, 5].map(|ms| Hold::Constant(Duration::from_millis(ms))),
            ops: Vec::new(),
            resources: Vec::new(),
            stall: None,
            pause: None,
            warm_up: None,
            error_burst: None,
            reset_rate: 0.0,
            workers: None,
            queue_limit: None,
            overhead: Hold::Constant(Duration::ZERO),
            wire: Hold::Constant(Duration::ZERO),
            rate_limit: None,
            slow_body: None,
            limits: ServerLimits::default(),
        }
    }
}

impl ModelSpec {
    /// The model can run: else the first of [`ModelSpec::problems`].
    pub fn validate(&self) -> Result<(), Error> {
        self.problems().into_iter().next().map_or(Ok(()), |p| Err(Error::Model(p)))
    }

    /// Its pauses and warm-up, as both engines run them.
    pub fn tempo(&self) -> crate::Tempo {
        crate::Tempo { pause: self.pause, warm_up: self.warm_up }
    }

    /// How long `op` holds its connection.
    pub fn hold(&self, op: Operation) -> &Hold {
        &self.holds[op.index()]
    }

    /// Set how long `op` holds its connection.
    pub fn set_hold(&mut self, op: Operation, hold: Hold) {
        self.holds[op.index()] = hold;
    }

    /// Requests per second the pool can serve if every request holds for `hold`.
    pub fn capacity_per_s(&self, hold: Duration) -> f64 {
        if hold.is_zero() { f64::INFINITY } else { self.pool_size as f64 / hold.as_secs_f64() }
    }
}

/// Requests per second a service can serve of a mix (see [`ModelSpec::capacity`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Capacity {
    /// The tightest pool's.
    pub pool_per_s: f64,
    /// The tightest workers'; `None` without a worker limit.
    pub workers_per_s: Option<f64>,
    /// The tightest rate limit's; `None` without one.
    pub limit_per_s: Option<f64>,
    /// Every resource's, by name, in the service's order.
    pub resources: Vec<(String, f64)>,
}

impl Capacity {
    /// The figures of `resources`, each's capacity in `per_s` (in the same order).
    pub fn of(resources: &[crate::Resource], per_s: Vec<(String, f64)>) -> Capacity {
        let tightest = |f: fn(&crate::Kind) -> bool| {
            resources.iter().zip(&per_s).filter(|(r, _)| f(&r.kind)).map(|(_, (_, c))| *c).reduce(f64::min)
        };
        Capacity {
            pool_per_s: tightest(|k| *k == crate::Kind::Pool).unwrap_or(f64::INFINITY),
            workers_per_s: tightest(|k| *k == crate::Kind::Workers),
            limit_per_s: tightest(|k| matches!(k, crate::Kind::RateLimit(_))),
            resources: per_s,
        }
    }

    /// The resource that runs dry first as the rate grows: the one of least capacity.
    pub fn bottleneck(&self) -> Option<&str> {
        self.resources.iter().min_by(|a, b| a.1.total_cmp(&b.1)).map(|(n, _)| n.as_str())
    }

    /// The smallest of every resource's (the pools', workers', rate limits' and cores'):
    /// what the service as a whole can serve.
    pub fn per_s(&self) -> f64 {
        let all = self.resources.iter().map(|(_, c)| *c);
        [self.workers_per_s, self.limit_per_s].into_iter().flatten().chain(all).fold(self.pool_per_s, f64::min)
    }

    /// Whether the workers run out before the pool does (their queue fills first).
    pub fn workers_bind(&self) -> bool {
        self.workers_per_s.is_some_and(|w| w < self.pool_per_s)
    }

    /// Offered over capacity at `rate` requests per second: the busiest resource would be
    /// this busy on average (or the limiter refuse this share), and at 1 or more a queue
    /// has no end.
    pub fn utilisation(&self, rate: f64) -> f64 {
        rate / self.per_s()
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
    fn hold_distributions_hit_their_parameters() {
        let mut rng = <rand_pcg::Pcg64Mcg as rand::SeedableRng>::seed_from_u64(3);
        let ms = Duration::from_millis;
        let mut draw = |h: Hold| {
            let mut v: Vec<f64> = (0..200_000).map(|_| h.sample(&mut rng).as_secs_f64() * 1000.0).collect();
            v.sort_by(f64::total_cmp);
            (v.iter().sum::<f64>() / v.len() as f64, v[100_000], v[198_000])
        };
        let (mean, _, _) = draw(Hold::Exponential { mean: ms(20) });
        assert!((mean - 20.0).abs() < 0.3, "exponential mean {mean}");
        let (mean, p50, p99) = draw(Hold::LogNormal { p50: ms(15), p99: ms(80) });
        assert!((p50 - 15.0).abs() < 0.3 && (p99 - 80.0).abs() < 3.0, "lognormal p50 {p50} p99 {p99}");
        let expected = Hold::LogNormal { p50: ms(15), p99: ms(80) }.mean().as_secs_f64() * 1000.0;
        assert!((mean - expected).abs() / expected < 0.02, "lognormal mean {mean} vs {expected}");
        assert_eq!(draw(Hold::Constant(ms(7))).1, 7.0);
    }

    #[test]
    fn the_capacity_of_a_mix_is_its_tightest_resource_at_the_mean_hold() {
        let ms = Duration::from_millis;
        // issue 20 ms, query 5 ms, 1:3: a mean hold of 8.75 ms.
        let op = |name: &str, op: Operation| crate::ModelOp {
            name: name.into(),
            route: crate::Route::new("GET", "/"),
            hold: ModelSpec::default().hold(op).clone(),
            response: None,
            steps: None,
            defaulted: true,
        };
        let ops = vec![op("issue", Operation::Issue), op("query", Operation::Query)];
        let spec = ModelSpec { pool_size: 70, ops, ..ModelSpec::default() };
        let mix = [1.0, 3.0];
        let c = spec.capacity(&mix);
        assert!((c.pool_per_s - 8_000.0).abs() < 1e-6 && c.workers_per_s.is_none(), "{c:?}");
        assert!((c.utilisation(8_000.0) - 1.0).abs() < 1e-9);
        // 10 workers also keep each request 1.25 ms after the pool: 10 ms each, 1,000/s.
        let spec = ModelSpec { workers: Some(10), overhead: Hold::Constant(ms(1) + ms(1) / 4), ..spec.clone() };
        let c = spec.capacity(&mix);
        assert!((c.per_s() - 1_000.0).abs() < 1e-6, "{c:?}");
        assert!((c.utilisation(1_050.0) - 1.05).abs() < 1e-9);
    }

    #[test]
    fn bad_specs_are_rejected() {
        assert!(ModelSpec { pool_size: 0, ..ModelSpec::default() }.validate().is_err());
        let stall = Some(Stall { every: Duration::from_secs(1), length: Duration::from_secs(1) });
        assert!(ModelSpec { stall, ..ModelSpec::default() }.validate().is_err());
        assert!(ModelSpec::default().validate().is_ok());
        let mut spec = ModelSpec::default();
        spec.set_hold(
            Operation::Issue,
            Hold::LogNormal { p50: Duration::from_millis(9), p99: Duration::from_millis(5) },
        );
        assert!(spec.validate().is_err());
    }
}
