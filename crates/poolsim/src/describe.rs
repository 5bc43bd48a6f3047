//! The model in words, for `einv-load validate` and `serve`.

use std::fmt;

use crate::{Hold, ModelSpec, Operation};

impl fmt::Display for Hold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hold::Constant(d) => write!(f, "{d:?}"),
            Hold::Exponential { mean } => write!(f, "exponential mean {mean:?}"),
            Hold::LogNormal { p50, p99 } => write!(f, "lognormal p50 {p50:?} p99 {p99:?}"),
            Hold::Empirical(e) => {
                write!(f, "measured ({} samples, p50 {:?}, mean {:?})", e.count(), e.at(0.5), e.mean())
            }
        }
    }
}

impl ModelSpec {
    /// Labelled lines describing the service: ("service", ...), ("holds", ...), ("default",
    /// ...) naming the ops without a model entry, ("limits", ...), ("faults", ...).
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        let mut service = vec![format!("pool {}, acquire timeout {:?}", self.pool_size, self.acquire_timeout)];
        service.push(self.workers.map_or("workers unlimited".into(), |w| format!("workers {w}")));
        if let Some(q) = self.queue_limit {
            service.push(format!("queue-limit {q}"));
        }
        service.push(format!("overhead {}", self.overhead));
        if let Some(r) = self.rate_limit {
            service.push(format!("rate-limit {}/s burst {}", r.rate, r.burst));
        }
        let holds: Vec<String> = match self.ops.is_empty() {
            true => Operation::ALL.iter().map(|&op| format!("{} {}", op.as_str(), self.hold(op))).collect(),
            false => self.ops.iter().map(|op| format!("{} {}", op.name, op.hold)).collect(),
        };
        let defaulted: Vec<String> = self
            .ops
            .iter()
            .filter(|op| op.defaulted)
            .map(|op| format!("{} (as {})", op.name, Operation::default_for(&op.name).hold_key()))
            .collect();
        let mut faults = Vec::new();
        if let Some(s) = self.stall {
            faults.push(format!("stall {:?} every {:?}", s.length, s.every));
        }
        if let Some(s) = self.error_burst {
            faults.push(format!("error-burst {:?} every {:?}", s.length, s.every));
        }
        if self.reset_rate > 0.0 {
            faults.push(format!("reset-rate {}", self.reset_rate));
        }
        if let Some(s) = self.slow_body {
            faults.push(format!("slow-body {:?} every {:?} at {} B/s", s.window.length, s.window.every, s.bytes_per_s));
        }
        let l = &self.limits;
        let connections = l.max_connections.map_or("fit the open-file limit".into(), |n| n.to_string());
        let limits = format!(
            "body {} B, order-no {} chars, header-timeout {:?}, idle-timeout {:?}, connections {connections}, \
             ledger-window {} invoices",
            l.max_body, l.max_order_no, l.header_timeout, l.idle_timeout, l.ledger_window
        );
        let mut out = vec![("service", service.join(", ")), ("holds", holds.join(", "))];
        if !defaulted.is_empty() {
            let line = format!("no [model.ops] entry, so the default hold: {}", defaulted.join(", "));
            out.push(("default", line));
        }
        out.push(("limits", limits));
        if !faults.is_empty() {
            out.push(("faults", faults.join(", ")));
        }
        out
    }
}
