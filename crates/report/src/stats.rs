use std::time::Duration;

use crate::histograms::{Histograms, Timing};
use crate::outcome::{ErrorCounts, Sample, TagCounts};
use crate::summary::OpSummary;

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// Everything recorded for one operation (or overall) over some span of time.
/// Fixed size: recording never allocates, except the first time a new status code is seen.
#[derive(Debug, Clone)]
pub struct Stats {
    /// Latency and service of timed requests, send lag of all; each phase of the
    /// requests that had it (a connect, a TLS handshake, a response head).
    pub hist: Histograms,
    /// Requests that finished (ok or not).
    pub sent: u64,
    pub ok: u64,
    pub errors: ErrorCounts,
    /// Requests that found every connection busy and waited for one.
    pub queued: u64,
    /// (status code, count), few distinct codes so a linear scan wins.
    pub statuses: Vec<(u16, u64)>,
    /// Responses that failed the op's checks.
    pub check_failed: u64,
    /// (index of the op's check failed first, count); an overall `Stats` adds different
    /// ops' indices and is not read by check.
    pub failed_checks: Vec<(u16, u64)>,
    /// Arrivals not sent because their data was missing (empty capture, exhausted feeder) or
    /// unusable (`unsendable`).
    pub skipped: u64,
    /// Of `skipped`: rendered into a request that is not valid HTTP.
    pub unsendable: u64,
    /// Requests sent wrong on purpose, by tag index.
    pub tags: [TagCounts; MAX_TAGS],
}

/// How many distinct injected-fault tags a run can have.
pub const MAX_TAGS: usize = 8;

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    pub fn new() -> Self {
        Self {
            hist: Histograms::new(),
            sent: 0,
            ok: 0,
            errors: ErrorCounts::default(),
            queued: 0,
            statuses: Vec::new(),
            check_failed: 0,
            failed_checks: Vec::new(),
            skipped: 0,
            unsendable: 0,
            tags: [TagCounts::default(); MAX_TAGS],
        }
    }

    pub fn record(&mut self, s: &Sample) {
        self.sent += 1;
        self.queued += u64::from(s.queued);
        let mut time = |t: Timing, d: Duration| crate::histograms::record_us(&mut self.hist[t], micros(d));
        time(Timing::SendLag, s.send_lag);
        let phases = [(Timing::Connect, s.phases.connect), (Timing::Tls, s.phases.tls), (Timing::Ttfb, s.phases.ttfb)];
        for (t, d) in phases {
            if let Some(d) = d {
                time(t, d);
            }
        }
        if s.outcome.is_timed() {
            time(Timing::Latency, s.latency);
            if let Some(service) = s.service {
                time(Timing::Service, service);
            }
        }
        match s.outcome.error() {
            Some(crate::ErrorClass::Http4xx) if s.expects_rejection => self.ok += 1,
            Some(class) => self.errors.add(class, 1),
            None => self.ok += 1,
        }
        if let crate::Outcome::Response(code) = s.outcome {
            self.count_status(code, 1);
        }
        if let Some(check) = s.failed_check {
            self.check_failed += 1;
            self.count_check(check, 1);
        }
        if let Some(t) = s.tag.and_then(|t| self.tags.get_mut(t)) {
            t.record(s.outcome);
        }
    }

    fn count_status(&mut self, code: u16, n: u64) {
        bump(&mut self.statuses, code, n);
    }

    fn count_check(&mut self, check: u16, n: u64) {
        bump(&mut self.failed_checks, check, n);
    }

    /// Add `other` into `self` (exact: histograms are added bucket by bucket).
    pub fn merge(&mut self, other: &Stats) {
        self.hist.merge(&other.hist);
        self.sent += other.sent;
        self.ok += other.ok;
        self.errors.merge(&other.errors);
        self.queued += other.queued;
        for &(code, n) in &other.statuses {
            self.count_status(code, n);
        }
        self.check_failed += other.check_failed;
        for &(check, n) in &other.failed_checks {
            self.count_check(check, n);
        }
        self.skipped += other.skipped;
        self.unsendable += other.unsendable;
        for (a, b) in self.tags.iter_mut().zip(&other.tags) {
            a.merge(b);
        }
    }

    pub fn reset(&mut self) {
        self.hist.reset();
        self.sent = 0;
        self.ok = 0;
        self.errors = ErrorCounts::default();
        self.queued = 0;
        self.statuses.clear();
        self.check_failed = 0;
        self.failed_checks.clear();
        self.skipped = 0;
        self.unsendable = 0;
        self.tags = [TagCounts::default(); MAX_TAGS];
    }

    /// Rebuild the totals of a saved op (e.g. a shard's, to merge it) from its summary.json
    /// counters and its histograms summed from histograms.hlog. `tags` names the tag
    /// indices, `checks` the op's check indices. The error names the field that cannot be
    /// read back.
    pub fn from_saved(op: &OpSummary, hist: Histograms, tags: &[String], checks: &[String]) -> Result<Stats, String> {
        let r = &op.requests;
        let mut s = Stats { hist, ..Stats::new() };
        (s.sent, s.ok, s.queued, s.check_failed) = (r.sent, r.ok, r.queued, r.check_failed);
        (s.skipped, s.unsendable) = (r.skipped, r.unsendable);
        for (name, &n) in &op.errors {
            let class =
                crate::ErrorClass::from_name(name).ok_or_else(|| format!("errors.{name}: unknown error class"))?;
            s.errors.add(class, n);
        }
        for (code, &n) in &op.status {
            let code: u16 = code.parse().map_err(|_| format!("status.{code}: not an HTTP status code"))?;
            s.count_status(code, n);
        }
        for (name, &n) in &op.failed_checks {
            let index = checks.iter().position(|c| c == name).and_then(|i| u16::try_from(i).ok());
            s.count_check(index.ok_or_else(|| format!("failed_checks.{name}: not a check of the op"))?, n);
        }
        for (name, inj) in &op.injected {
            let slot = tags.iter().position(|t| t == name).and_then(|i| s.tags.get_mut(i));
            let slot = slot.ok_or_else(|| format!("injected.{name}: more than {MAX_TAGS} tags"))?;
            *slot = TagCounts {
                sent: inj.sent,
                accepted: inj.accepted,
                rejected: inj.rejected,
                server_error: inj.server_error,
                failed: inj.failed,
            };
        }
        Ok(s)
    }

    /// Anything at all recorded (requests or skips)?
    pub fn is_idle(&self) -> bool {
        self.sent == 0 && self.skipped == 0
    }

    /// Error count over all classes.
    pub fn error_count(&self) -> u64 {
        self.errors.total()
    }

    /// The non-zero error classes by name, as summary.json's `errors` holds them.
    pub fn errors_by_name(&self) -> std::collections::BTreeMap<String, u64> {
        self.errors.iter().map(|(c, n)| (c.as_str().to_string(), n)).collect()
    }

    /// Responses by status code, as summary.json's `status` holds them.
    pub fn status_by_code(&self) -> std::collections::BTreeMap<String, u64> {
        self.statuses.iter().map(|(c, n)| (c.to_string(), *n)).collect()
    }
}

/// Add `n` to `key`'s count in `counts`, sorted by key: few distinct keys, so a linear
/// scan wins, and only a new key allocates.
fn bump(counts: &mut Vec<(u16, u64)>, key: u16, n: u64) {
    match counts.iter_mut().find(|(k, _)| *k == key) {
        Some((_, count)) => *count += n,
        None => {
            counts.push((key, n));
            counts.sort_unstable();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorClass, Outcome};

    fn sample(ms: u64, outcome: Outcome) -> Sample {
        Sample {
            latency: Duration::from_millis(ms),
            service: Some(Duration::from_millis(ms / 2)),
            send_lag: Duration::from_millis(ms / 2),
            outcome,
            queued: false,
            failed_check: None,
            tag: None,
            expects_rejection: false,
            phases: crate::Phases::default(),
        }
    }

    #[test]
    fn merge_equals_recording_everything_in_one() {
        let mut a = Stats::new();
        let mut b = Stats::new();
        let mut all = Stats::new();
        for i in 1..=1000u64 {
            let s = sample(i, if i % 10 == 0 { Outcome::Response(500) } else { Outcome::Response(200) });
            if i % 3 == 0 {
                a.record(&s)
            } else {
                b.record(&s)
            }
            all.record(&s);
        }
        a.merge(&b);
        assert_eq!(a.hist[Timing::Latency], all.hist[Timing::Latency]);
        assert_eq!(a.sent, 1000);
        assert_eq!(a.ok, 900);
        assert_eq!(a.errors.get(ErrorClass::Http5xx), 100);
        assert_eq!(a.statuses, vec![(200, 900), (500, 100)]);
    }

    #[test]
    fn saved_totals_rebuild_the_same_summary() {
        let mut s = Stats::new();
        for i in 1..=500u64 {
            let mut x = sample(i, if i % 7 == 0 { Outcome::Response(503) } else { Outcome::Response(200) });
            x.tag = (i % 50 == 0).then_some(1);
            x.failed_check = (i % 11 == 0).then_some(1);
            s.record(&x);
        }
        s.skipped = 3;
        let tags = ["duplicate".to_string(), "bad_check_digit".to_string()];
        let named: Vec<(String, bool)> = tags.iter().map(|t| (t.clone(), false)).collect();
        let checks = ["rejects".to_string(), "status in [200]".to_string()];
        let saved = OpSummary::new(&s, &[], 510, 100.0, 5.0).with_injected(&s, &named).with_checks(&s, &checks);
        assert_eq!(saved.failed_checks["status in [200]"], 45);
        let back = Stats::from_saved(&saved, s.hist.clone(), &tags, &checks).unwrap();
        assert_eq!(
            OpSummary::new(&back, &[], 510, 100.0, 5.0).with_injected(&back, &named).with_checks(&back, &checks),
            saved
        );
        assert_eq!(back.tags[1].sent, 10);

        let mut bad = saved.clone();
        bad.errors.insert("teapot".into(), 1);
        assert_eq!(
            Stats::from_saved(&bad, s.hist.clone(), &tags, &checks).unwrap_err(),
            "errors.teapot: unknown error class"
        );
    }

    #[test]
    fn refused_connects_are_counted_but_not_timed() {
        let mut s = Stats::new();
        s.record(&sample(5, Outcome::Failed(ErrorClass::ConnectRefused)));
        assert_eq!(s.sent, 1);
        assert_eq!(s.error_count(), 1);
        assert!(s.hist[Timing::Latency].is_empty());
    }

    #[test]
    fn phases_are_recorded_only_when_they_happened() {
        let mut s = Stats::new();
        let mut fresh = sample(8, Outcome::Response(200));
        fresh.phases = crate::Phases {
            connect: Some(Duration::from_micros(300)),
            ttfb: Some(Duration::from_millis(3)),
            tls: None,
        };
        s.record(&fresh);
        s.record(&sample(8, Outcome::Response(200)));
        let (connect, ttfb) = (&s.hist[Timing::Connect], &s.hist[Timing::Ttfb]);
        assert_eq!(connect.len(), 1, "a reused connection has no connect phase");
        assert_eq!(ttfb.len(), 1);
        assert_eq!(connect.max(), connect.highest_equivalent(300));
        let mut merged = Stats::new();
        merged.merge(&s);
        assert_eq!((merged.hist[Timing::Connect].len(), merged.hist[Timing::Ttfb].len()), (1, 1));
        merged.reset();
        assert!(merged.hist[Timing::Connect].is_empty() && merged.hist[Timing::Ttfb].is_empty());
    }

    #[test]
    fn huge_values_saturate_instead_of_vanishing() {
        let mut s = Stats::new();
        s.record(&sample(10 * 3_600_000, Outcome::Response(200)));
        assert_eq!(s.hist[Timing::Latency].len(), 1);
        assert!(crate::quantile_ms(&s.hist[Timing::Latency], 1.0) >= 3_599_000.0);
    }
}
