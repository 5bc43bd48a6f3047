//! The model's rules, written once: what a profile's `[model]`, `serve`'s flags
//! and the live target all accept. [`ModelSpec::problems`] finds every value that cannot
//! work, each keyed as `[model]` names it.

use std::time::Duration;

use crate::{Hold, MAX_LEDGER_WINDOW, ModelSpec, Operation, ServerLimits, Stall};

/// Most connections in a pool, workers, and connections served at once: far beyond any
/// real service, small enough that nothing sized by them overflows.
const MAX_COUNT: usize = 1_000_000;
/// Most requests waiting for a worker, and the largest rate-limit bucket.
pub const MAX_QUEUE: usize = 100_000_000;
/// Longest order number the live target can be told to accept, in characters.
const MAX_ORDER_NO: usize = 4096;

/// A value of the model that cannot work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The key as `[model]` names it: `pool-size`, `stall.for`, `issue-hold`, `ops.get.hold`.
    /// `serve`'s flag for it is `--` and the part before any dot.
    pub key: String,
    /// What is wrong, in words that name the key (they are read without it too).
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn fail(&mut self, key: &str, message: impl Into<String>) {
        self.0.push(Problem { key: key.into(), message: message.into() });
    }

    /// A count of at least 1 and at most `max`.
    fn count(&mut self, key: &str, v: usize, max: usize) {
        match v {
            0 => self.fail(key, format!("{key} must be at least 1")),
            v if v > max => self.fail(key, format!("{key} must be at most {max}, got {v}")),
            _ => {}
        }
    }

    /// A window of `length` in every `every` (`keys`: the window's, its `every`'s and
    /// its `for`'s).
    fn window(&mut self, keys: [&str; 3], w: Stall) {
        let [name, every, length] = keys;
        if w.every.is_zero() {
            self.fail(every, format!("{name}: `every` must be more than 0"));
        }
        if w.length.is_zero() {
            self.fail(length, format!("{name}: `for` must be more than 0"));
        } else if !w.every.is_zero() && w.length >= w.every {
            let message = format!("{name}: `for` ({:?}) must be shorter than `every` ({:?})", w.length, w.every);
            self.fail(length, message);
        }
    }

    fn hold(&mut self, key: &str, hold: &Hold) {
        if let Hold::LogNormal { p50, p99 } = *hold
            && (p50.is_zero() || p99 < p50)
        {
            self.fail(key, format!("{key}: a lognormal hold needs 0 < p50 <= p99, got p50 {p50:?} and p99 {p99:?}"));
        }
    }
}

impl ModelSpec {
    /// Every value of the model that cannot work (none: the model can run).
    pub fn problems(&self) -> Vec<Problem> {
        let mut p = Problems::default();
        p.count("pool-size", self.pool_size, MAX_COUNT);
        if self.acquire_timeout.is_zero() {
            p.fail("acquire-timeout", "acquire-timeout must be more than 0");
        }
        for (op, hold) in Operation::ALL.iter().zip(&self.holds) {
            p.hold(op.hold_key(), hold);
        }
        for r in &self.resources {
            let key = |k: &str| format!("resources.{}.{k}", r.name);
            match r.kind {
                crate::Kind::RateLimit(l) => {
                    if !(l.rate.is_finite() && l.rate > 0.0) {
                        p.fail(&key("rate"), format!("a rate limit needs a rate > 0 requests/s, got {}", l.rate));
                    }
                    p.count(&key("burst"), l.burst as usize, MAX_QUEUE);
                }
                _ => p.count(&key("size"), r.size, MAX_COUNT),
            }
            if r.acquire_timeout.is_some_and(|t| t.is_zero()) {
                p.fail(&key("acquire-timeout"), "acquire-timeout must be more than 0");
            }
            if let Some(q) = r.queue_limit.filter(|&q| q > MAX_QUEUE) {
                p.fail(&key("queue-limit"), format!("queue-limit must be at most {MAX_QUEUE}, got {q}"));
            }
        }
        let list = self.resource_list();
        let resources = list.len();
        for op in &self.ops {
            // (resource, step) of each unit kept to the end of the request.
            let mut kept: Vec<(usize, usize)> = Vec::new();
            for (i, step) in op.steps.iter().flatten().enumerate() {
                let key = format!("ops.{}.steps[{i}]", op.name);
                // A second unit taken while one is kept waits for itself once the resource
                // runs dry: every request holds one and waits for another, for ever.
                if let crate::Step::Keep(r) | crate::Step::Hold(r, _) = step
                    && let Some(&(_, j)) = kept.iter().find(|(k, _)| k == r)
                {
                    let name = &list[*r].name;
                    let message = format!(
                        "{key}: {name} is kept from steps[{j}] to the end of the request, so this second unit of it \
                         waits for itself when {name} runs dry; use {name} once, or give each use a hold"
                    );
                    p.fail(&format!("{key}.use"), message);
                }
                if let crate::Step::Keep(r) = step
                    && list.get(*r).is_some_and(|res| !matches!(res.kind, crate::Kind::RateLimit(_)))
                {
                    kept.push((*r, i));
                }
                if let crate::Step::Keep(r) | crate::Step::Hold(r, _) = step
                    && *r >= resources
                {
                    p.fail(&key, format!("{key} uses resource {r}, and the model has {resources}"));
                }
                if let Some(h) = step.hold() {
                    p.hold(&format!("{key}.hold"), h);
                }
            }
        }
        // A defaulted op's hold is an invoice op's, checked under its own key.
        for op in self.ops.iter().filter(|o| !o.defaulted) {
            p.hold(&format!("ops.{}.hold", op.name), &op.hold);
        }
        p.hold("overhead", &self.overhead);
        if let Some(w) = self.stall {
            p.window(["stall", "stall.every", "stall.for"], w);
        }
        if let Some(w) = self.error_burst {
            p.window(["error-burst", "error-burst.every", "error-burst.for"], w);
        }
        if let Some(s) = self.slow_body {
            p.window(["slow-body", "slow-body.every", "slow-body.for"], s.window);
        }
        if !(0.0..=1.0).contains(&self.reset_rate) {
            p.fail("reset-rate", format!("reset-rate must be a fraction from 0 to 1, got {}", self.reset_rate));
        }
        if let Some(w) = self.workers {
            p.count("workers", w, MAX_COUNT);
        }
        match self.queue_limit {
            Some(_) if self.workers.is_none() => {
                p.fail("queue-limit", "queue-limit needs workers: with unlimited workers no request waits for one");
            }
            Some(q) if q > MAX_QUEUE => {
                p.fail("queue-limit", format!("queue-limit must be at most {MAX_QUEUE}, got {q}"))
            }
            _ => {}
        }
        if let Some(r) = self.rate_limit {
            if !(r.rate.is_finite() && r.rate > 0.0) {
                p.fail("rate-limit.rate", format!("rate-limit needs a rate > 0 requests/s, got {}", r.rate));
            }
            p.count("rate-limit.burst", r.burst as usize, MAX_QUEUE);
        }
        p.0.extend(self.limits.problems());
        p.0
    }
}

impl ServerLimits {
    /// Every limit that cannot work.
    pub fn problems(&self) -> Vec<Problem> {
        let mut p = Problems::default();
        if self.max_body == 0 {
            p.fail("max-body", "max-body must be at least 1 byte");
        }
        p.count("max-order-no", self.max_order_no, MAX_ORDER_NO);
        for (key, d) in [("header-timeout", self.header_timeout), ("idle-timeout", self.idle_timeout)] {
            if d == Duration::ZERO {
                p.fail(key, "header-timeout and idle-timeout must be more than 0");
            }
        }
        if let Some(n) = self.max_connections {
            p.count("max-connections", n, MAX_COUNT);
        }
        if !(1..=MAX_LEDGER_WINDOW).contains(&self.ledger_window) {
            let message = format!("ledger-window must be from 1 to {MAX_LEDGER_WINDOW}, got {}", self.ledger_window);
            p.fail("ledger-window", message);
        }
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RateLimit, SlowBody};

    #[test]
    fn the_default_model_can_run() {
        assert_eq!(ModelSpec::default().problems(), []);
    }

    #[test]
    fn every_problem_is_found_and_keyed() {
        let ms = Duration::from_millis;
        let mut spec = ModelSpec {
            pool_size: 0,
            stall: Some(Stall { every: ms(100), length: ms(100) }),
            slow_body: Some(SlowBody { window: Stall { every: ms(0), length: ms(0) }, bytes_per_s: 1 }),
            queue_limit: Some(5),
            rate_limit: Some(RateLimit { rate: f64::NAN, burst: 0 }),
            reset_rate: 1.5,
            ..ModelSpec::default()
        };
        spec.set_hold(Operation::Download, Hold::LogNormal { p50: ms(9), p99: ms(5) });
        spec.limits.idle_timeout = Duration::ZERO;
        let problems = spec.problems();
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "pool-size",
                "download-hold",
                "stall.for",
                "slow-body.every",
                "slow-body.for",
                "reset-rate",
                "queue-limit",
                "rate-limit.rate",
                "rate-limit.burst",
                "idle-timeout"
            ]
        );
        assert!(spec.validate().is_err());
    }
}
