//! `einv-load simulate --sweep-pool ... --sweep-rate ...`: a grid of predictions, to find
//! the smallest pool that passes at each rate: meets the SLO, under 100 % utilisation, with
//! waits that stopped growing (see einv-report's sweep module).

use std::path::PathBuf;
use std::time::SystemTime;

use einv_poolsim::des::Thirds;
use einv_report::{OpSummary, Quantile, Stats, SweepCell, write_file};

use crate::error::Error;
use crate::folder;
use crate::model_run::ModelRun;
use crate::profile::{Overrides, Plan};
use crate::verdict::Verdict;
use crate::workload::Workload;

/// A finished sweep: its cells and the folder holding sweep.csv, sweep.md and heatmaps.
#[derive(Debug)]
pub struct SweepResult {
    pub cells: Vec<SweepCell>,
    pub folder: PathBuf,
}

impl SweepResult {
    /// Failed when at some rate of the sweep no pool passed: the sweep has no answer there.
    pub fn verdict(&self) -> Verdict {
        let answered = einv_report::smallest_passing(&self.cells).iter().all(|(_, pool)| pool.is_some());
        if answered { Verdict::Pass } else { Verdict::Failed }
    }
}

/// Predict every (pool size, rate) pair; an empty list keeps the profile's value.
pub fn sweep(plan: &Plan, pools: &[usize], rates: &[f64], out: Option<&std::path::Path>) -> Result<SweepResult, Error> {
    folder::check(out)?;
    if !pools.is_empty() && !plan.model.spec.resources.is_empty() {
        let message = "sizes the one-pool model; this profile's [model] has named resources (size them there)";
        return Err(Error::Flag { flag: "--sweep-pool", message: message.into() });
    }
    let pools = if pools.is_empty() { vec![plan.model.spec.pool_size] } else { pools.to_vec() };
    let rates: Vec<Option<f64>> = if rates.is_empty() { vec![None] } else { rates.iter().copied().map(Some).collect() };
    let mut cells = Vec::new();
    for &rate in &rates {
        for &size in &pools {
            let mut p = plan.clone();
            p.apply(&Overrides { rate, ..Overrides::default() })?;
            p.model.spec.pool_size = size.max(1);
            cells.push(cell(&p, rate)?);
        }
    }
    let dir = folder::create(out, &format!("{}-sweep", plan.name), SystemTime::now())?;
    write_file(&dir.join("sweep.csv"), einv_report::sweep_csv(&cells).as_bytes())?;
    write_file(&dir.join("sweep.md"), einv_report::sweep_markdown(&cells).as_bytes())?;
    let p99 =
        einv_report::chart::heatmap_svg(&format!("{}: predicted p99 latency", plan.name), "ms", &cells, |c| c.p99_ms)?;
    write_file(&dir.join("sweep-p99.svg"), p99.as_bytes())?;
    let title = format!("{}: predicted error rate", plan.name);
    let errors = einv_report::chart::heatmap_svg(&title, "%", &cells, |c| c.error_rate)?;
    write_file(&dir.join("sweep-errors.svg"), errors.as_bytes())?;
    Ok(SweepResult { cells, folder: dir })
}

/// One prediction: the whole run through the model, summarised, with the service's use
/// and whether its waits settled (judged before `finish` drains the queue).
fn cell(plan: &Plan, nominal_rate: Option<f64>) -> Result<SweepCell, Error> {
    let mut model = ModelRun::new(plan);
    let workload = Workload::new(plan)?;
    let arrivals =
        workload.arrivals(plan.shard)?.ok_or(Error::Internal("an open-loop or replay plan without arrivals"))?;
    let mut stats = Stats::new();
    let mut scheduled = 0u64;
    let mut thirds = Thirds::new(plan.load.duration());
    let mut wire = model.wire();
    let mut record = |c: einv_poolsim::des::Completion| stats.record(&wire.sample_of(&c));
    for a in arrivals {
        scheduled += 1;
        model.offer(&a, &mut record);
        thirds.observe(model.sim());
    }
    let run = thirds.stats(model.sim());
    model.finish(&mut record);
    let duration = plan.load.duration().as_secs_f64();
    let summary =
        OpSummary::new(&stats, &plan.slo.quantiles(), scheduled, scheduled as f64 / duration.max(1e-9), duration);
    let rate = nominal_rate.unwrap_or_else(|| workload.target_rate(&plan.load, plan.shard));
    Ok(SweepCell {
        pool_size: model.spec().pool_size as u64,
        rate,
        p50_ms: summary.latency_ms.ms(Quantile::P50),
        p99_ms: summary.latency_ms.ms(Quantile::P99),
        error_rate: summary.requests.error_rate,
        slo_passed: plan.slo.overall.check("overall", &summary).passed,
        utilisation: model.capacity(plan).utilisation(rate),
        pool_busy: run.whole.pool,
        workers_busy: run.whole.workers,
        stationary: run.stationary,
    })
}
