//! `einv-load compare`: two runs, distribution to distribution.
//!
//! Percentiles come from each run's saved histograms (histograms.hlog summed over the
//! run), error rates and throughput from summary.json. What counts as a regression, and
//! what is too small or too thin to judge, is in [`rules`] and the README.

mod render;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use render::{compare_markdown, compare_table};

use crate::Error;
use crate::chart;
use crate::folder::{Folder, Totals};
use crate::histograms::{Timing, max_ms, quantile_ms};
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
    /// The error rate must also grow by at least this much (0.001 = 0.1 percentage point).
    pub const ERROR_RATE_FLOOR: f64 = 0.001;
    /// Error rates of a scope with fewer requests (in either run) are shown, not judged.
    pub const MIN_REQUESTS: u64 = 100;
}

/// compare.json: the verdict, and every figure it was drawn from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Comparison {
    pub schema_version: u32,
    /// True when any judged figure is worse by more than the thresholds.
    pub regression: bool,
    /// One line per regression, e.g. "overall latency p99: 12.000 -> 14.500 ms (+20.8%)".
    pub regressions: Vec<String>,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A saved run opened for comparison.
struct Side {
    folder: Folder,
    totals: Totals,
}

impl Side {
    fn open(dir: &Path) -> Result<Side, Error> {
        let folder = Folder::open(dir)?;
        let totals = folder.totals()?;
        Ok(Side { folder, totals })
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
    let mut scopes = vec![diff_scope(
        "overall",
        (&b.totals.overall[Timing::Latency], &bs.overall),
        (&c.totals.overall[Timing::Latency], &cs.overall),
        max_regression,
        true,
    )];
    let mut notes = Vec::new();
    for (name, op) in &bs.ops {
        match (cs.ops.get(name), b.totals.ops.get(name), c.totals.ops.get(name)) {
            (Some(cop), Some(bh), Some(ch)) => scopes.push(diff_scope(
                name,
                (&bh[Timing::Latency], op),
                (&ch[Timing::Latency], cop),
                max_regression,
                false,
            )),
            _ => notes.push(format!("op {name} is only in the baseline")),
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
    let mut comparison = Comparison {
        schema_version: COMPARE_SCHEMA_VERSION,
        regression: !regressions.is_empty(),
        regressions,
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

fn diff_scope(
    scope: &str,
    (bh, bs): (&hdrhistogram::Histogram<u64>, &OpSummary),
    (ch, cs): (&hdrhistogram::Histogram<u64>, &OpSummary),
    t: f64,
    overall: bool,
) -> ScopeDiff {
    let mut metrics = Vec::new();
    let samples = bh.len().min(ch.len()) as f64;
    let latency = Metric::ALL.into_iter().filter_map(|m| Some((m, m.quantile()?)));
    for (m, q) in latency {
        let (b, c) = if q < 1.0 { (quantile_ms(bh, q), quantile_ms(ch, q)) } else { (max_ms(bh), max_ms(ch)) };
        let need = (rules::TAIL_SAMPLES / (1.0 - q)).round();
        let (judged, note) = match q {
            0.5 => (false, Some("shown, not judged: the tail is what regresses".to_string())),
            1.0 => (false, Some("shown, not judged: one request".to_string())),
            _ if samples < need => (false, Some(format!("too few samples to judge (need {need:.0} in both runs)"))),
            _ => (true, None),
        };
        let worse = c > b * (1.0 + t) && c - b >= rules::LATENCY_FLOOR_MS;
        metrics.push(metric(m.name(), m.unit(), b, c, judged, judged && worse, note));
    }
    // Check failures are wrong answers: judged by the error rate's rules.
    let enough = bs.requests.sent.min(cs.requests.sent) >= rules::MIN_REQUESTS;
    for m in [Metric::ErrorRate, Metric::CheckFailureRate] {
        let (b, c) = (m.measure(bs).0, m.measure(cs).0);
        let note = (!enough).then(|| format!("too few requests to judge (need {} in both runs)", rules::MIN_REQUESTS));
        let worse = c - b > rules::ERROR_RATE_FLOOR && c > b * (1.0 + t);
        metrics.push(metric(m.name(), m.unit(), b, c, enough, enough && worse, note));
    }
    let (b, c) = (bs.rate.achieved_per_s, cs.rate.achieved_per_s);
    let note = (!overall).then(|| "shown, not judged: an op's throughput follows the mix".to_string());
    metrics.push(metric("throughput", Unit::PerSecond, b, c, overall, overall && c < b * (1.0 - t), note));
    ScopeDiff { scope: scope.into(), metrics }
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
        note,
    }
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
