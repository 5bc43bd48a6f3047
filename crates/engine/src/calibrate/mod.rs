//! `einv-load calibrate REPORT_DIR`: a `[model]` fitted from a run against the real
//! service ([`fit`] holds the arithmetic), then replayed through the simulator on the
//! run's own profile, so the user sees how well it reproduces what was measured.

mod fit;
mod timings;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use einv_report::{Folder, Quantile, Summary, Timing};

pub use fit::{Fit, OpHold};
use fit::{MIN_LOW_REQUESTS, Second};

use crate::error::Error;
use crate::profile::{PROFILE_CAP, Plan};
use crate::run::RunOptions;

/// An op needs this many low-load requests of its own for a hold worth fitting.
const MIN_OP_REQUESTS: u64 = MIN_LOW_REQUESTS / 10;

#[derive(Debug, Clone, Default)]
pub struct CalibrateOptions {
    /// The profile of the run (its schedule and mix, for the replay); else the one its
    /// summary names.
    pub profile: Option<PathBuf>,
    /// Where the model goes (atomically; a FIFO or device is written through); else
    /// nowhere: the caller prints [`Calibrated::model`].
    pub out: Option<PathBuf>,
    /// The replay's report folder; else `reports/NAME-STAMP/` as `simulate` makes.
    pub replay_out: Option<PathBuf>,
    /// The service's own timings (a Prometheus text scrape with one histogram labelled by op): the holds
    /// of the ops it times, and the bottleneck's size from their mean.
    pub service_timings: Option<PathBuf>,
}

/// The fitted model and how it replays the run.
#[derive(Debug, Clone)]
pub struct Calibrated {
    /// The `[model]` tables, as written.
    pub model: String,
    pub fit: Fit,
    pub holds: Vec<OpHold>,
    /// Per op of the mix: the run's latency p50 and p99 (ms), then the replay's.
    pub replay: Vec<Replayed>,
    /// The replay's report folder.
    pub folder: PathBuf,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Replayed {
    pub op: String,
    pub run: [f64; 2],
    pub simulated: [f64; 2],
}

/// Fit a model from the run in `dir`, write it (if asked), and replay the run through it.
/// Nothing is written when the run cannot be fitted or its profile cannot be read.
pub fn calibrate(dir: &Path, opts: &CalibrateOptions) -> Result<Calibrated, Error> {
    let run = Folder::open(dir)?;
    let unfit = |message: String| Error::Folder { path: dir.into(), message };
    let mut fit = fit::fit(&seconds(&run)?).map_err(|e| unfit(e.to_string()))?;
    let low: BTreeSet<u64> = fit.low.iter().copied().collect();
    let sums = run.op_sums(Timing::Service, |start| low.contains(&start.as_secs()))?;
    let profile = opts.profile.clone().unwrap_or_else(|| PathBuf::from(&run.summary.run.profile));
    let base = einv_core::input::read_to_string(&profile, PROFILE_CAP)
        .map_err(|error| Error::Input { path: profile.clone(), error })?;
    let names: Vec<String> = Plan::parse(&base, &profile)?.ops.iter().map(|o| o.name.clone()).collect();
    let mut holds = Vec::new();
    for name in &names {
        let h = sums.get(name).filter(|h| h.len() >= MIN_OP_REQUESTS).ok_or_else(|| {
            let n = sums.get(name).map_or(0, |h| h.len());
            unfit(format!("too few low-load requests of op {name:?}: {n}, {MIN_OP_REQUESTS} needed"))
        })?;
        let at = |q| Duration::from_micros(h.value_at_quantile(q));
        holds.push(OpHold { name: name.clone(), requests: h.len(), own: false, p50: at(0.5), p99: at(0.99) });
    }
    if let Some(path) = &opts.service_timings {
        own_timings(path, &mut holds, &mut fit)?;
    }
    let model = fit::model_toml(&fit, &holds, &dir.display().to_string());
    let plan = with_model(&base, &profile, &model)?;
    if let Some(out) = &opts.out {
        einv_report::write_file(out, model.as_bytes())?;
    }
    let replayed = crate::simulate(&plan, &RunOptions { out: opts.replay_out.clone(), ..RunOptions::default() })?;
    let replay = names.iter().map(|op| side_by_side(op, &run.summary, &replayed.summary)).collect();
    Ok(Calibrated { model, fit, holds, replay, folder: replayed.folder })
}

/// Replace the holds of the ops the scrape at `path` times with its figures, and size
/// the bottleneck by their mean when it times every op.
fn own_timings(path: &Path, holds: &mut [OpHold], fit: &mut Fit) -> Result<(), Error> {
    const CAP: einv_core::input::Cap = einv_core::input::Cap { bytes: 16 << 20, what: "a Prometheus scrape" };
    let text =
        einv_core::input::read_to_string(path, CAP).map_err(|error| Error::Input { path: path.into(), error })?;
    let bad = |message: String| Error::Folder { path: path.into(), message };
    let ops = timings::parse(&text).map_err(bad)?;
    let (mut sum, mut count, mut all) = (0.0, 0.0, true);
    for h in holds.iter_mut() {
        match ops.get(&h.name).filter(|t| t.count() > 0.0) {
            Some(t) => {
                (h.p50, h.p99, h.own, h.requests) = (t.at(0.5), t.at(0.99), true, t.count() as u64);
                sum += t.sum_s();
                count += t.count();
            }
            None => all = false,
        }
    }
    if count == 0.0 {
        let named: Vec<&str> = ops.keys().map(String::as_str).collect();
        return Err(bad(format!("times none of the mix's ops (it has op=\"{}\")", named.join("\", \""))));
    }
    if all && sum > 0.0 {
        fit.held(sum / count);
    }
    Ok(())
}

/// The run's seconds, all ops together, from its service-time histograms.
fn seconds(run: &Folder) -> Result<Vec<Second>, Error> {
    // (requests, sum of their service times in us) per second.
    let mut by_second: BTreeMap<u64, (u64, f64)> = BTreeMap::new();
    run.op_windows(Timing::Service, 1.0, |_, at, h| {
        let s = by_second.entry(at).or_default();
        s.0 += h.len();
        s.1 += h.mean() * h.len() as f64;
    })?;
    let seconds = by_second.into_iter().filter(|(_, (n, _))| *n > 0);
    Ok(seconds.map(|(at, (n, sum))| Second { at, requests: n, service_s: sum / n as f64 / 1e6 }).collect())
}

/// The profile `base` (at `path`) with its model replaced by `model`: the plan the
/// replay simulates, checked by the one profile reader.
fn with_model(base: &str, path: &Path, model: &str) -> Result<Plan, Error> {
    let bad = |message: String| Error::Folder { path: path.into(), message };
    let mut doc: toml::Table = toml::from_str(base).map_err(|e| bad(e.to_string()))?;
    let fitted: toml::Table = toml::from_str(model).map_err(|e| bad(e.to_string()))?;
    doc.remove("model");
    if let Some(toml::Value::Table(target)) = doc.get_mut("target") {
        target.remove("builtin");
    }
    doc.extend(fitted);
    let text = toml::to_string(&doc).map_err(|e| bad(e.to_string()))?;
    Plan::parse(&text, path)
}

fn side_by_side(op: &str, run: &Summary, simulated: &Summary) -> Replayed {
    let ms = |s: &Summary| {
        s.ops.get(op).map_or([f64::NAN; 2], |o| [o.latency_ms.ms(Quantile::P50), o.latency_ms.ms(Quantile::P99)])
    };
    Replayed { op: op.to_string(), run: ms(run), simulated: ms(simulated) }
}
