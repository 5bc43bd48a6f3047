//! `einv-load compare`: two runs, distribution to distribution.
//!
//! Percentiles come from each run's saved histograms (histograms.hlog summed over the
//! run), error rates and throughput from summary.json. What counts as a regression, and
//! what is too small or too thin to judge, is in [`rules`] and the README; whether a
//! percentile's shift is more than chance, in [`significance`]; when the comparison is
//! inconclusive instead, in [`conclusion`].

mod conclusion;
mod render;
mod significance;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use conclusion::Conclusion;
pub use render::{compare_markdown, compare_table};
pub use significance::{ErrorSource, Estimate, Significance};

use crate::Error;
use crate::chart;
use crate::folder::{Folder, Totals, files, unreadable};
use crate::histograms::{Timing, max_ms, quantile_ms};
use crate::hlog::parse_tag;
use crate::hlog_sum::sum_hlog_by;
use crate::quantile::Quantile;
use crate::slo::{Metric, Unit};
use crate::summary::OpSummary;
use crate::write::write_file;

/// The file whose presence means a folder holds a comparison.
pub const COMPARE_JSON: &str = "compare.json";

/// Bumped when a reader of compare.json could break.
pub const COMPARE_SCHEMA_VERSION: u32 = 1;

/// Thresholds under which a difference is noise, not a regression.
pub mod rules {
    /// A latency percentile must also grow by at least this much (ms): at a 2 ms p99 a
    /// 10 % change is 0.2 ms, below what a scheduler hiccup moves.
    pub const LATENCY_FLOOR_MS: f64 = 1.0;
    /// A percentile q is judged only when both runs have at least this many samples above
    /// it (count x (1 - q)): p99 needs 5,000 samples, p99.9 needs 50,000. Fewer, and the
    /// "percentile" is a handful of unlucky requests: with 16 samples above p99.9, two
    /// identical nightly runs on a busy machine differed by 66 % there.
    pub const TAIL_SAMPLES: f64 = 50.0;
    /// Percentiles below this quantile (p50, p75) are shown, not judged: the tail is what
    /// regresses, and a median moves with the mix.
    pub const TAIL_FROM: f64 = 0.9;
    /// The error rate must also grow by at least this much (0.001 = 0.1 percentage point).
    pub const ERROR_RATE_FLOOR: f64 = 0.001;
    /// Error rates of a scope with fewer requests (in either run) are shown, not judged.
    pub const MIN_REQUESTS: u64 = 100;
    /// A side whose send lag p99 is above this (ms) with free connections had a starved
    /// generator: the default `[load] max-send-lag`.
    pub const STARVED_LAG_MS: f64 = 10.0;
    /// A side that offered less than this share under its planned rate, with free
    /// connections, had a starved generator.
    pub const RATE_SHORTFALL: f64 = 0.1;
}

/// compare.json's `test`: how a latency percentile's shift is judged.
pub const TEST: &str = "latency percentiles: the shift must exceed max-regression and 1 ms, and 3 standard errors \
     of the difference; each side's standard error is the wider of the order-statistic one (binomial spread of \
     ranks, from the sample count) and batch means (the spread of the quantile over 10 consecutive time batches \
     of histograms.hlog)";

/// compare.json: the verdict, and every figure it was drawn from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Comparison {
    pub schema_version: u32,
    /// "regression", "no regression" or "inconclusive" (see `inconclusive`).
    #[serde(default)]
    pub verdict: Conclusion,
    /// True when the verdict is "regression" (kept for readers of the first compare.json).
    pub regression: bool,
    /// One line per figure judged worse, e.g. "overall latency p99: 12.000 -> 14.500 ms
    /// (+20.8%)"; when the verdict is inconclusive, what would have been regressions.
    pub regressions: Vec<String>,
    /// Why the verdict is inconclusive: which side's generator was starved, and how.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inconclusive: Vec<String>,
    /// How a latency percentile's shift is judged ([`TEST`]).
    #[serde(default)]
    pub test: String,
    /// The relative threshold (0.1 = 10 %).
    pub max_regression: f64,
    pub baseline: RunRef,
    pub current: RunRef,
    /// Why the comparison may not be like for like (different target rates, ops ...).
    pub notes: Vec<String>,
    /// "overall" first, then each op found in both runs.
    pub scopes: Vec<ScopeDiff>,
}

/// Which run a side of the comparison is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunRef {
    pub folder: String,
    pub name: String,
    pub started_at: String,
    pub seed: u64,
    pub duration_s: f64,
    pub target_per_s: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScopeDiff {
    /// "overall" or an op name.
    pub scope: String,
    pub metrics: Vec<MetricDiff>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MetricDiff {
    /// "latency p99", "error rate", "throughput" ...
    pub metric: String,
    /// "ms", "ratio" or "req/s".
    pub unit: String,
    pub baseline: f64,
    pub current: f64,
    /// (current - baseline) / baseline; `None` when the baseline is 0.
    pub change: Option<f64>,
    /// Whether this figure can make a regression (see `note` when not).
    pub judged: bool,
    pub regression: bool,
    /// Worse by more than the thresholds, but within the runs' noise: not a regression.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub noise: bool,
    /// The significance test of a latency percentile (p90, p99, p99.9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub significance: Option<Significance>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A saved run opened for comparison.
struct Side {
    folder: Folder,
    totals: Totals,
    /// Latency per scope (`None` = overall) summed over each of
    /// [`significance::BATCHES`] stretches of consecutive time.
    batches: BTreeMap<Option<String>, Vec<hdrhistogram::Histogram<u64>>>,
}

/// One scope of one side: what its figures are drawn from.
struct Scope<'a> {
    latency: &'a hdrhistogram::Histogram<u64>,
    batches: &'a [hdrhistogram::Histogram<u64>],
    summary: &'a OpSummary,
}

impl Side {
    fn open(dir: &Path) -> Result<Side, Error> {
        let folder = Folder::open(dir)?;
        let totals = folder.totals()?;
        let batches = read_batches(&folder)?;
        Ok(Side { folder, totals, batches })
    }

    fn scope(&self, op: Option<&str>) -> Option<Scope<'_>> {
        let (latency, summary) = match op {
            None => (&self.totals.overall[Timing::Latency], &self.folder.summary.overall),
            Some(name) => (&self.totals.ops.get(name)?[Timing::Latency], self.folder.summary.ops.get(name)?),
        };
        let batches = self.batches.get(&op.map(str::to_string)).map_or(&[][..], Vec::as_slice);
        Some(Scope { latency, batches, summary })
    }

    fn run_ref(&self) -> RunRef {
        let r = &self.folder.summary.run;
        RunRef {
            folder: self.folder.dir.display().to_string(),
            name: r.name.clone(),
            started_at: r.started_at.clone(),
            seed: r.seed,
            duration_s: r.duration_s,
            target_per_s: self.folder.summary.overall.rate.target_per_s,
        }
    }
}

/// A comparison with its rendered overlay charts, ready to be written.
#[derive(Debug)]
pub struct Compared {
    pub comparison: Comparison,
    /// (file name, SVG)
    charts: Vec<(String, String)>,
}

impl Compared {
    /// Write compare.json (last), compare.md, compare.html and the overlay charts into
    /// `out`, an existing folder.
    pub fn write(&self, out: &Path) -> Result<(), Error> {
        for (file, svg) in &self.charts {
            write_file(&out.join(file), svg.as_bytes())?;
        }
        write_file(&out.join("compare.md"), compare_markdown(&self.comparison).as_bytes())?;
        write_file(&out.join("compare.html"), render::compare_html(&self.comparison, &self.charts).as_bytes())?;
        write_file(&out.join(COMPARE_JSON), &serde_json::to_vec_pretty(&self.comparison)?)
    }
}

/// Compare the report folders `baseline` and `current` and draw the overlays.
/// `max_regression` is relative: 0.1 = 10 %.
pub fn compare(baseline: &Path, current: &Path, max_regression: f64) -> Result<Compared, Error> {
    let (b, c) = (Side::open(baseline)?, Side::open(current)?);
    let (bs, cs) = (&b.folder.summary, &c.folder.summary);
    let mut scopes = Vec::new();
    let mut notes = Vec::new();
    let quantiles = compared_quantiles([bs, cs]);
    for op in std::iter::once(None).chain(bs.ops.keys().map(|n| Some(n.as_str()))) {
        match (b.scope(op), c.scope(op)) {
            (Some(bo), Some(co)) => {
                let scope = op.unwrap_or("overall");
                scopes.push(diff_scope(scope, (&bo, &co), &quantiles, max_regression, op.is_none()))
            }
            _ => notes.push(format!("op {} is only in the baseline", op.unwrap_or_default())),
        }
    }
    notes.extend(
        cs.ops.keys().filter(|n| !bs.ops.contains_key(*n)).map(|n| format!("op {n} is only in the current run")),
    );
    let (bt, ct) = (bs.overall.rate.target_per_s, cs.overall.rate.target_per_s);
    if (bt - ct).abs() > 0.01 * bt.max(ct) {
        notes.push(format!(
            "the runs had different target rates ({bt:.1} vs {ct:.1} req/s): not a like-for-like comparison"
        ));
    }
    for (side, s) in [("baseline", bs), ("current", cs)] {
        if s.interrupted {
            notes.push(format!("the {side} run was interrupted: its figures cover part of the schedule"));
        }
        if let Some(a) = &s.aborted {
            notes
                .push(format!("the {side} run was aborted at {:.1} s: its figures cover part of the schedule", a.at_s));
        }
    }
    if bs.run.name != cs.run.name {
        notes.push(format!("different profiles: {:?} vs {:?}", bs.run.name, cs.run.name));
    }
    let regressions: Vec<String> = scopes
        .iter()
        .flat_map(|s| s.metrics.iter().filter(|m| m.regression).map(move |m| describe(&s.scope, m)))
        .collect();
    let mut inconclusive: Vec<String> = [("baseline", bs), ("current", cs)]
        .into_iter()
        .filter_map(|(side, s)| Some(format!("the {side} run's generator was starved: {}", conclusion::starved(s)?)))
        .collect();
    if inconclusive.is_empty() {
        inconclusive.extend(conclusion::lag_apart(bs, cs, max_regression));
    }
    let verdict = Conclusion::of(&inconclusive, &regressions);
    let mut comparison = Comparison {
        schema_version: COMPARE_SCHEMA_VERSION,
        verdict,
        regression: verdict == Conclusion::Regression,
        regressions,
        inconclusive,
        test: TEST.into(),
        max_regression,
        baseline: b.run_ref(),
        current: c.run_ref(),
        notes,
        scopes,
    };
    let mut charts = Vec::new();
    for (file, svg) in render_charts(&b, &c) {
        match svg {
            Ok(svg) => charts.push((file, svg)),
            Err(e) => comparison.notes.push(format!("chart {file} not drawn: {e}")),
        }
    }
    Ok(Compared { comparison, charts })
}

fn describe(scope: &str, m: &MetricDiff) -> String {
    let change = m.change.map_or(String::new(), |c| format!(" ({:+.1}%)", c * 100.0));
    let (b, c) = if Unit::parse(&m.unit) == Some(Unit::Ratio) {
        (format!("{:.3}%", m.baseline * 100.0), format!("{:.3}%", m.current * 100.0))
    } else {
        (format!("{:.3}", m.baseline), format!("{:.3} {}", m.current, m.unit))
    };
    format!("{scope} {}: {b} -> {c}{change}", m.metric)
}

/// The percentiles compared: p50, p90, p99 and p99.9, and those either run's reports show
/// or its SLO limited.
fn compared_quantiles(summaries: [&crate::Summary; 2]) -> Vec<Quantile> {
    let mut all: std::collections::BTreeSet<Quantile> = Quantile::DEFAULT.into();
    for s in summaries {
        all.extend(&s.percentiles);
        all.extend(s.slo.checks.iter().filter_map(|c| match c.metric()? {
            Metric::Percentile(q) => Some(q),
            _ => None,
        }));
    }
    all.into_iter().collect()
}

fn diff_scope(scope: &str, (b, c): (&Scope, &Scope), quantiles: &[Quantile], t: f64, overall: bool) -> ScopeDiff {
    let mut metrics = diff_latency(b, c, quantiles, t);
    let (bs, cs) = (b.summary, c.summary);
    // Check failures are wrong answers: judged by the error rate's rules.
    let enough = bs.requests.sent.min(cs.requests.sent) >= rules::MIN_REQUESTS;
    for m in [Metric::ErrorRate, Metric::CheckFailureRate] {
        let (b, c) = (m.measure(bs).0, m.measure(cs).0);
        let note = (!enough).then(|| format!("too few requests to judge (need {} in both runs)", rules::MIN_REQUESTS));
        let worse = c - b > rules::ERROR_RATE_FLOOR && c > b * (1.0 + t);
        metrics.push(metric(&m.name(), m.unit(), b, c, enough, enough && worse, note));
    }
    let (b, c) = (bs.rate.achieved_per_s, cs.rate.achieved_per_s);
    let note = (!overall).then(|| "shown, not judged: an op's throughput follows the mix".to_string());
    metrics.push(metric("throughput", Unit::PerSecond, b, c, overall, overall && c < b * (1.0 - t), note));
    ScopeDiff { scope: scope.into(), metrics }
}

/// The latency percentiles at `quantiles`, then max: a judged one regresses when it is
/// worse by more than the thresholds and the shift is significant ([`significance`]).
fn diff_latency(bo: &Scope, co: &Scope, quantiles: &[Quantile], t: f64) -> Vec<MetricDiff> {
    let (bh, ch) = (bo.latency, co.latency);
    let samples = bh.len().min(ch.len()) as f64;
    let latency = Metric::latency(quantiles).filter_map(|m| Some((m, m.quantile()?)));
    let mut metrics = Vec::new();
    for (m, q) in latency {
        let (b, c) = if q < 1.0 { (quantile_ms(bh, q), quantile_ms(ch, q)) } else { (max_ms(bh), max_ms(ch)) };
        let need = (rules::TAIL_SAMPLES / (1.0 - q)).round();
        let (judged, mut note) = match q {
            1.0 => (false, Some("shown, not judged: one request".to_string())),
            _ if q < rules::TAIL_FROM => (false, Some("shown, not judged: the tail is what regresses".to_string())),
            _ if samples < need => (false, Some(format!("too few samples to judge (need {need:.0} in both runs)"))),
            _ => (true, None),
        };
        let worse = judged && c > b * (1.0 + t) && c - b >= rules::LATENCY_FLOOR_MS;
        let significance = (q < 1.0 && samples > 0.0).then(|| {
            let (be, ce) = (significance::estimate(bh, bo.batches, q), significance::estimate(ch, co.batches, q));
            significance::test(b, be, c, ce)
        });
        let significant = significance.as_ref().is_some_and(|s| s.significant);
        let noise = worse && !significant;
        if let Some(s) = significance.as_ref().filter(|_| noise) {
            note = Some(format!(
                "worse, but within the runs' noise: a shift of {:.1} standard errors (a regression needs {})",
                s.z,
                significance::Z
            ));
        }
        let mut d = metric(&m.name(), m.unit(), b, c, judged, worse && significant, note);
        d.noise = noise;
        d.significance = significance;
        metrics.push(d);
    }
    metrics
}

fn metric(name: &str, unit: Unit, b: f64, c: f64, judged: bool, regression: bool, note: Option<String>) -> MetricDiff {
    MetricDiff {
        metric: name.into(),
        unit: unit.as_str().into(),
        baseline: b,
        current: c,
        change: (b != 0.0).then(|| (c - b) / b),
        judged,
        regression,
        noise: false,
        significance: None,
        note,
    }
}

/// Each scope's latency (`None` = overall) summed over [`significance::BATCHES`]
/// stretches of consecutive time; intervals after the schedule's span (the drain) fall
/// into the last.
fn read_batches(folder: &Folder) -> Result<BTreeMap<Option<String>, Vec<hdrhistogram::Histogram<u64>>>, Error> {
    let span = folder.summary.run.duration_s.max(1e-9);
    let path = folder.dir.join(files::HLOG);
    let sums = sum_hlog_by(&path, |tag, start| {
        let scope = match tag.map(parse_tag) {
            None => None,
            Some(Some((op, Timing::Latency))) => Some(op.to_string()),
            Some(_) => return None,
        };
        let batch = (start.as_secs_f64() / span * significance::BATCHES as f64) as usize;
        Some((scope, batch.min(significance::BATCHES - 1)))
    })
    .map_err(|e| unreadable(&path, e))?;
    let mut batches: BTreeMap<Option<String>, Vec<_>> = BTreeMap::new();
    for ((scope, _), h) in sums {
        batches.entry(scope).or_default().push(h);
    }
    Ok(batches)
}

/// Overlay charts: (file name, SVG or why not).
fn render_charts(b: &Side, c: &Side) -> Vec<(String, Result<String, Error>)> {
    let (bn, cn) = (format!("baseline ({})", b.folder.label()), format!("current ({})", c.folder.label()));
    let mut out = vec![(
        "overlay-spectrum.svg".to_string(),
        chart::spectrum_overlay_svg(
            "overall latency percentile spectrum",
            (&bn, &b.totals.overall[Timing::Latency]),
            (&cn, &c.totals.overall[Timing::Latency]),
        ),
    )];
    let ops: BTreeMap<&String, _> = b.totals.ops.iter().filter(|(n, _)| c.totals.ops.contains_key(*n)).collect();
    for (name, bh) in ops {
        let title = format!("{name}: latency percentile spectrum");
        let (bh, ch) = (&bh[Timing::Latency], &c.totals.ops[name][Timing::Latency]);
        let svg = chart::spectrum_overlay_svg(&title, (&bn, bh), (&cn, ch));
        out.push((format!("overlay-spectrum-{}.svg", file_safe(name)), svg));
    }
    let svg = chart::timeline_overlay_svg(
        "latency over time (p50, p99)",
        (&bn, &b.folder.timeseries),
        (&cn, &c.folder.timeseries),
    );
    out.push(("overlay-timeline.svg".to_string(), svg));
    out
}

/// Op names become file names: keep letters, digits, '-' and '_'.
fn file_safe(name: &str) -> String {
    name.chars().map(|ch| if ch.is_ascii_alphanumeric() || ch == '-' || ch == '_' { ch } else { '_' }).collect()
}
