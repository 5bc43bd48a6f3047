//! Statistics per stage of a schedule (and per step of a `steps` stage), and the knee: the
//! first interval whose own figures cross an SLO limit, with the rate offered then.
//!
//! Both come from the interval statistics a run already drains once a second ([`Stages`]
//! is fed by [`crate::RunLog::push`]): no second recorder. A request counts in the span its
//! interval starts in, which is when it *finished* (to the second): a request sent late in a
//! stage and answered in the next counts in the next. Requests finishing after the schedule
//! (the drain) count in the last span, so an overloaded last stage is not flattered by the
//! requests still in flight at its end. Memory is fixed: one open accumulator per level
//! (stage, step), however many spans.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::slo::{Metric, SloCheck, SloReport, SloSpec};
use crate::stats::Stats;
use crate::summary::OpSummary;

/// What kind of span of the schedule a [`StageSummary`] covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageKind {
    Constant,
    Ramp,
    Steps,
    Spike,
    /// One plateau of a `steps` stage.
    Step,
}

impl StageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StageKind::Constant => "constant",
            StageKind::Ramp => "ramp",
            StageKind::Steps => "steps",
            StageKind::Spike => "spike",
            StageKind::Step => "step",
        }
    }
}

/// A span of the schedule to summarise, known before the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub kind: StageKind,
    /// The stage's index in the profile, from 0.
    pub stage: usize,
    /// A step's index in its stage, from 0.
    pub step: Option<usize>,
    pub start: Duration,
    pub end: Duration,
    /// The intended rate at its start and end (the peak for a spike), requests/s.
    pub from_per_s: f64,
    pub to_per_s: f64,
    /// Arrivals the schedule intends in it (this shard's).
    pub scheduled: u64,
}

/// The statistics of one stage or step: summary.json `stages[]` (steps nested).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StageSummary {
    pub kind: StageKind,
    /// The stage's index in the profile, from 0.
    pub stage: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
    pub start_s: f64,
    pub end_s: f64,
    pub from_per_s: f64,
    pub to_per_s: f64,
    /// Requests that finished in the span; rates over its planned length (a run stopped
    /// early: up to where it stopped).
    pub overall: OpSummary,
    /// The ops that have SLO limits of their own.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ops: BTreeMap<String, OpSummary>,
    /// The profile's SLO checked on this span alone.
    pub slo: SloReport,
    /// A `steps` stage's plateaus.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StageSummary>,
}

/// Where the run first crossed a limit, interval by interval: summary.json `knee`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Knee {
    /// The interval's start, seconds from run start.
    pub at_s: f64,
    /// The schedule's intended rate over that interval.
    pub offered_per_s: f64,
    /// The limit crossed, with the interval's own figure.
    pub check: SloCheck,
}

/// The per-span statistics of a run being recorded, and its knee.
#[derive(Debug)]
pub struct Stages {
    ops: Vec<String>,
    spec: SloSpec,
    /// The limits an interval is judged on: a minimum rate over the run says nothing of one second.
    per_interval: SloSpec,
    levels: [Level; 2],
    knee: Option<Knee>,
    /// The spec's percentiles ([`SloSpec::quantiles`]), which every interval is summarised at.
    quantiles: Vec<crate::Quantile>,
}

/// One level of spans (the stages, or the steps), which follow each other in time.
#[derive(Debug, Default)]
struct Level {
    spans: Vec<Span>,
    open: Option<(usize, Window)>,
    done: Vec<StageSummary>,
    /// The end of the last interval pushed: a run stopped early ends its span there.
    last_end: Duration,
}

/// The statistics of an open span so far: overall, and per op that has limits.
#[derive(Debug)]
pub struct Window {
    pub overall: Stats,
    /// Per op of the run, `Some` for the ops with limits of their own.
    pub ops: Vec<Option<Stats>>,
}

impl Stages {
    /// Track `spans` (stages and steps, in any order) of a run of `ops`, judged by `spec`.
    pub fn new(ops: &[String], spans: Vec<Span>, spec: &SloSpec) -> Stages {
        let (steps, stages): (Vec<Span>, Vec<Span>) = spans.into_iter().partition(|s| s.step.is_some());
        let level = |mut spans: Vec<Span>| {
            spans.sort_by_key(|s| s.start);
            Level { spans, ..Level::default() }
        };
        Stages {
            ops: ops.to_vec(),
            spec: spec.clone(),
            per_interval: spec.without(Metric::MinRate),
            levels: [level(stages), level(steps)],
            knee: None,
            quantiles: spec.quantiles(),
        }
    }

    /// Add one interval: `ops` per op, `overall` their sum, `rate` its intended rate.
    pub fn push(&mut self, start: Duration, length: Duration, rate: f64, ops: &[Stats], overall: &Stats) {
        if self.knee.is_none() {
            self.knee = self.crossed(start, length, rate, ops, overall);
        }
        let end = self.levels[0].spans.last().map_or(Duration::ZERO, |s| s.end);
        for level in &mut self.levels {
            level.push((start, length, end), &self.ops, &self.spec, ops, overall);
        }
    }

    /// The stage whose span is open (the one the last interval fell in), and its figures so far.
    pub fn current(&self) -> Option<(&Span, &Window)> {
        let level = &self.levels[0];
        level.open.as_ref().map(|(i, w)| (&level.spans[*i], w))
    }

    /// The checks the last stage is already certain to fail ([`Window::certain_to_fail`]),
    /// once it is open: what lets a capacity step stop early.
    pub fn last_certain_to_fail(&self) -> Vec<SloCheck> {
        let level = &self.levels[0];
        match &level.open {
            Some((i, w)) if i + 1 == level.spans.len() => {
                w.certain_to_fail(&self.ops, &self.spec, level.spans[*i].scheduled)
            }
            _ => Vec::new(),
        }
    }

    /// Close the open spans; the stages (steps nested) and the knee.
    pub fn finish(mut self) -> (Vec<StageSummary>, Option<Knee>) {
        for level in &mut self.levels {
            level.close(&self.ops, &self.spec);
        }
        let [mut stages, steps] = self.levels.map(|l| l.done);
        for step in steps {
            if let Some(stage) = stages.iter_mut().find(|s| s.stage == step.stage) {
                stage.steps.push(step);
            }
        }
        (stages, self.knee)
    }

    /// The first limit this interval's own figures cross, if any, judged only where the
    /// interval holds enough requests to say (a p99 needs 100 timed requests).
    fn crossed(&self, start: Duration, length: Duration, rate: f64, ops: &[Stats], overall: &Stats) -> Option<Knee> {
        let secs = length.as_secs_f64();
        let op_summaries = self
            .ops
            .iter()
            .zip(ops)
            .filter(|(name, _)| self.per_interval.ops.contains_key(*name))
            .map(|(name, s)| (name.clone(), OpSummary::new(s, &self.quantiles, 0, 0.0, secs)))
            .collect();
        let report = self.per_interval.evaluate(&OpSummary::new(overall, &self.quantiles, 0, 0.0, secs), &op_summaries);
        let counted = |c: &SloCheck| {
            let scope = if c.scope == "overall" {
                Some(overall)
            } else {
                self.ops.iter().position(|o| *o == c.scope).map(|i| &ops[i])
            };
            scope.is_some_and(|s| enough(c, s))
        };
        let check = report.checks.into_iter().find(|c| !c.passed && c.measured && counted(c))?;
        Some(Knee { at_s: start.as_secs_f64(), offered_per_s: crate::summary::round3(rate), check })
    }
}

/// Whether `stats` hold enough requests to judge check `c` on them: 1/(1-q) timed ones
/// for a quantile q, 1/limit sent ones for a share (at most 10,000).
fn enough(c: &SloCheck, stats: &Stats) -> bool {
    let Some(metric) = c.metric() else { return false };
    let timed = stats.hist[crate::Timing::Latency].len();
    match metric.quantile() {
        Some(q) if q >= 1.0 => timed >= 1,
        Some(q) => timed as f64 >= (1.0 / (1.0 - q)).round(),
        None => stats.sent as f64 >= (1.0 / c.threshold.max(1e-4)).min(10_000.0),
    }
}

impl Window {
    /// The checks of `spec` this span is already certain to fail, whatever its remaining
    /// requests do, when it plans `planned` arrivals (`names`: the run's ops). Counts, not
    /// figures so far: an error rate fails for certain once its errors exceed the limit's
    /// share of every request the span can finish; a latency quantile q once more than
    /// (1 - q) of them took longer than the limit (a max: one). The span can finish a few
    /// more than it planned (requests of the span before it that finish in it): 5 % more
    /// are allowed for. A minimum rate is never certain before the end.
    pub fn certain_to_fail(&self, names: &[String], spec: &SloSpec, planned: u64) -> Vec<SloCheck> {
        let op = |name: &String| names.iter().position(|n| n == name).and_then(|i| self.ops[i].as_ref());
        let scopes = std::iter::once(("overall", &spec.overall, Some(&self.overall)))
            .chain(spec.ops.iter().map(|(name, limits)| (name.as_str(), limits, op(name))));
        let mut out = Vec::new();
        for (scope, limits, stats) in scopes {
            let Some(s) = stats else { continue };
            let most = planned.max(s.sent) as f64 * 1.05;
            let so_far = OpSummary::new(s, &spec.quantiles(), 0, 0.0, 1.0);
            for (metric, limit) in limits.iter() {
                let threshold = limit.threshold();
                let (bad, allowed) = match (metric, metric.quantile()) {
                    (_, Some(q)) => {
                        let h = &s.hist[crate::Timing::Latency];
                        let within = h.count_between(0, (threshold * 1000.0) as u64);
                        (h.len().saturating_sub(within) as f64, (1.0 - q) * most)
                    }
                    (Metric::ErrorRate, None) => (s.error_count() as f64, threshold * most),
                    (Metric::CheckFailureRate, None) => (s.check_failed as f64, threshold * most),
                    _ => continue,
                };
                if bad > allowed {
                    let (actual, _) = metric.measure(&so_far);
                    let (name, unit) = (metric.name(), metric.unit().as_str().into());
                    out.push(SloCheck {
                        name,
                        scope: scope.into(),
                        threshold,
                        actual,
                        unit,
                        passed: false,
                        measured: true,
                    });
                }
            }
        }
        out
    }
}

impl Level {
    fn push(
        &mut self,
        (start, length, end): (Duration, Duration, Duration),
        names: &[String],
        spec: &SloSpec,
        ops: &[Stats],
        all: &Stats,
    ) {
        // The drain after the schedule belongs to the span that ends it.
        self.last_end = start + length;
        let at = |s: &Span| (s.start..s.end).contains(&start) || (start >= end && s.end >= end);
        let found = self.spans.iter().position(at);
        if self.open.as_ref().map(|(i, _)| *i) != found {
            self.close(names, spec);
            self.open = found.map(|i| {
                let limited = |name: &String| spec.ops.contains_key(name).then(Stats::new);
                (i, Window { overall: Stats::new(), ops: names.iter().map(limited).collect() })
            });
        }
        if let Some((_, w)) = &mut self.open {
            w.overall.merge(all);
            for (acc, s) in w.ops.iter_mut().zip(ops) {
                if let Some(acc) = acc {
                    acc.merge(s);
                }
            }
        }
    }

    fn close(&mut self, names: &[String], spec: &SloSpec) {
        let Some((i, w)) = self.open.take() else { return };
        let span = &self.spans[i];
        // Rates over the span's planned length, or as far as a stopped run got into it.
        let secs = (span.end.min(self.last_end.max(span.start)) - span.start).as_secs_f64();
        let rate = if secs > 0.0 { span.scheduled as f64 / secs } else { 0.0 };
        let quantiles = spec.quantiles();
        let overall = OpSummary::new(&w.overall, &quantiles, span.scheduled, rate, secs);
        let ops: BTreeMap<String, OpSummary> = names
            .iter()
            .zip(&w.ops)
            .filter_map(|(name, s)| Some((name.clone(), OpSummary::new(s.as_ref()?, &quantiles, 0, 0.0, secs))))
            .collect();
        let slo = spec.evaluate(&overall, &ops);
        self.done.push(StageSummary {
            kind: span.kind,
            stage: span.stage,
            step: span.step,
            start_s: span.start.as_secs_f64(),
            end_s: span.end.as_secs_f64(),
            from_per_s: crate::summary::round3(span.from_per_s),
            to_per_s: crate::summary::round3(span.to_per_s),
            overall,
            ops,
            slo,
            steps: Vec::new(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Sample;
    use crate::slo::{Limit, Limits};

    fn stats(n: u64, ms: u64, status: u16) -> Stats {
        let mut s = Stats::new();
        for _ in 0..n {
            s.record(&Sample::answered(ms, status));
        }
        s
    }

    fn span(kind: StageKind, stage: usize, step: Option<usize>, secs: (u64, u64), rate: f64) -> Span {
        let (start, end) = (Duration::from_secs(secs.0), Duration::from_secs(secs.1));
        let scheduled = (rate * (secs.1 - secs.0) as f64) as u64;
        Span { kind, stage, step, start, end, from_per_s: rate, to_per_s: rate, scheduled }
    }

    /// A constant stage, then two steps: each span gets its own seconds (the drain the
    /// last one's), the steps sit in their stage, and the knee is the first second over.
    #[test]
    fn each_span_counts_its_own_seconds_and_the_knee_is_the_first_crossing() {
        let spec = SloSpec {
            overall: Limits::from([(Metric::Percentile(crate::Quantile::P99), Limit::Value(50.0))]),
            ..SloSpec::default()
        };
        let spans = vec![
            span(StageKind::Constant, 0, None, (0, 2), 100.0),
            span(StageKind::Steps, 1, None, (2, 4), 150.0),
            span(StageKind::Step, 1, Some(0), (2, 3), 100.0),
            span(StageKind::Step, 1, Some(1), (3, 4), 200.0),
        ];
        let mut st = Stages::new(&["a".into()], spans, &spec);
        let seconds = [(100, 10), (100, 10), (100, 20), (200, 90), (5, 90)];
        for (i, (n, ms)) in seconds.into_iter().enumerate() {
            let s = stats(n, ms, 200);
            let rate = if i == 3 { 200.0 } else { 100.0 };
            st.push(Duration::from_secs(i as u64), Duration::from_secs(1), rate, std::slice::from_ref(&s), &s);
        }
        let (stages, knee) = st.finish();
        let sent: Vec<u64> = stages.iter().map(|s| s.overall.requests.sent).collect();
        assert_eq!(sent, [200, 305]);
        let steps: Vec<u64> = stages[1].steps.iter().map(|s| s.overall.requests.sent).collect();
        assert_eq!(steps, [100, 205], "the drain second counts in the last step");
        assert!(stages[0].slo.passed && !stages[1].slo.passed && stages[1].steps[0].slo.passed);
        let knee = knee.unwrap();
        assert_eq!((knee.at_s, knee.offered_per_s, knee.check.name.as_str()), (3.0, 200.0, "latency p99"));
    }

    /// Certain only when the rest of the span cannot save it: 9 of 1,000 planned requests
    /// over a 100 ms p99 limit are not (10.5 of the 1,050 allowed for may be), 11 are;
    /// errors likewise.
    #[test]
    fn a_span_is_certain_to_fail_only_when_the_rest_cannot_save_it() {
        let spec = SloSpec {
            overall: Limits::from([
                (Metric::Percentile(crate::Quantile::P99), Limit::Value(100.0)),
                (Metric::ErrorRate, Limit::Value(0.05)),
            ]),
            ..SloSpec::default()
        };
        let names = ["a".to_string()];
        let mut w = Window { overall: stats(9, 500, 200), ops: vec![None] };
        assert!(w.certain_to_fail(&names, &spec, 1000).is_empty(), "9 slow of 1,050 possible: p99 can still pass");
        w.overall.merge(&stats(2, 500, 200));
        let failed = w.certain_to_fail(&names, &spec, 1000);
        assert_eq!(failed.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["latency p99"]);
        let errors = Window { overall: stats(52, 1, 500), ops: vec![None] };
        assert!(errors.certain_to_fail(&names, &spec, 1000).is_empty(), "52 errors of 1,050: 4.95 %");
        let errors = Window { overall: stats(53, 1, 500), ops: vec![None] };
        assert_eq!(errors.certain_to_fail(&names, &spec, 1000)[0].name, "error rate");
    }

    /// A second of few requests says nothing of a p99: no knee from 5 slow requests.
    #[test]
    fn a_thin_interval_is_no_knee() {
        let spec = SloSpec {
            overall: Limits::from([(Metric::Percentile(crate::Quantile::P99), Limit::Value(50.0))]),
            ..SloSpec::default()
        };
        let mut st = Stages::new(&["a".into()], vec![span(StageKind::Ramp, 0, None, (0, 1), 5.0)], &spec);
        let s = stats(5, 900, 200);
        st.push(Duration::ZERO, Duration::from_secs(1), 5.0, std::slice::from_ref(&s), &s);
        let (stages, knee) = st.finish();
        assert!(knee.is_none());
        assert!(!stages[0].slo.passed, "the stage's own verdict still counts them");
    }
}
