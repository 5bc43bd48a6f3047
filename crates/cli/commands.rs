//! What each command does: call the engine with the parsed arguments, print what it
//! returns, and exit as its verdict says.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use einv_engine::{Finished, InitOptions, InitSource, ModelOverrides, Overrides, Plan, RunOptions, Shortfall, Verdict};
use einv_report::Existing;

use crate::args::{
    CalibrateArgs, CapacityArgs, Command, CompareArgs, GenerateArgs, InitArgs, K8sArgs, MergeArgs, ReportArgs, RunArgs,
    ServeArgs, ShardArg, SimulateArgs,
};
use crate::out;

impl Command {
    pub fn execute(self) -> anyhow::Result<ExitCode> {
        match self {
            Command::Run(args) => run(args),
            Command::Capacity(args) => capacity(args),
            Command::Calibrate(args) => calibrate(args),
            Command::Validate { profile } => validate(&profile),
            Command::Serve(args) => serve(*args),
            Command::Generate(args) => generate(args),
            Command::Simulate(args) => simulate(args),
            Command::Merge(args) => merge(args),
            Command::Compare(args) => compare(args),
            Command::Report(args) => report(args),
            Command::Init(args) => init(args),
            Command::K8s(args) => k8s(args),
        }
    }
}

fn run(a: RunArgs) -> anyhow::Result<ExitCode> {
    let mut plan = Plan::load(&a.profile)?;
    let overrides = Overrides {
        target: a.target,
        rate: a.rate,
        duration: a.duration,
        connections: a.connections,
        seed: a.seed,
        shard: ShardArg::resolve(a.shard)?,
    };
    plan.apply(&overrides)?;
    let json_to_stdout = a.json_stream.as_ref().is_some_and(|p| p.as_os_str() == "-");
    let opts = RunOptions {
        out: a.out,
        progress: !a.no_progress,
        metrics_addr: a.metrics_addr,
        json_stream: a.json_stream,
        metrics_linger: a.metrics_linger.unwrap_or_default(),
        error_samples: Some(a.error_samples),
        start_at: a.start_at,
        threads: a.threads.map(usize::from),
        ..RunOptions::default()
    };
    let result = einv_engine::run(&plan, &opts)?;
    let errors = kept_errors(&result.folder);
    let text = einv_report::text_summary(&result.summary, &errors, &result.folder.display().to_string());
    // Standard output holds the JSON lines then, and only them.
    if json_to_stdout {
        eprint!("{text}")
    } else {
        out::print(&text)?
    }
    Ok(out::finish(&result.summary, Finished::Run, &result.folder))
}

/// The failing exchanges the report folder `dir` keeps, to show on the terminal; none when
/// it has no errors.jsonl (nothing failed, or it could not be written: the summary says so).
fn kept_errors(dir: &Path) -> Vec<einv_report::FailedExchange> {
    let path = dir.join(einv_report::files::ERRORS_JSONL);
    if !path.exists() {
        return Vec::new();
    }
    einv_report::read_errors_jsonl(&path).unwrap_or_default()
}

fn capacity(a: CapacityArgs) -> anyhow::Result<ExitCode> {
    let mut plan = Plan::load(&a.profile)?;
    plan.apply(&Overrides { target: a.target, seed: a.seed, ..Overrides::default() })?;
    let opts = einv_engine::CapacityOptions {
        min: a.min,
        max: a.max,
        step_time: a.step_time,
        precision: a.precision,
        max_steps: a.max_steps,
        budget: a.budget,
        cool_down: a.cool_down,
        require: a.require,
        out: a.out,
        simulate: a.simulate,
    };
    let result = einv_engine::capacity(&plan, &opts)?;
    let c = &result.report;
    let mut text = format!("\n{}\n", c.answer.sentence);
    if let Some(p) = c.predicted_per_s {
        text.push_str(&format!("predicted {p:.1}/s by the model\n"));
    }
    if let Some(b) = &c.breaks_first {
        text.push_str(&format!("at {:.1}/s: {} failed first; {}\n", b.offered_per_s, b.limit.name, b.cause.describe()));
    }
    text.push_str(&format!("{} steps in {:.0} s\nreport    {}\n", c.steps.len(), c.elapsed_s, result.folder.display()));
    out::print(&text)?;
    match &result.verdict {
        Verdict::NotCarriedOut(Some(Shortfall::NothingMeasured(why))) => eprintln!("{why}"),
        Verdict::NotCarriedOut(Some(Shortfall::Interrupted)) => eprintln!("capacity search interrupted"),
        _ => {}
    }
    Ok(out::exit(&result.verdict))
}

fn calibrate(a: CalibrateArgs) -> anyhow::Result<ExitCode> {
    let to_stdout = a.out.as_ref().is_none_or(|p| p.as_os_str() == "-");
    let opts = einv_engine::CalibrateOptions {
        profile: a.profile,
        out: a.out.filter(|_| !to_stdout),
        replay_out: a.replay_out,
        service_timings: a.service_timings,
    };
    let c = einv_engine::calibrate(&a.dir, &opts)?;
    let f = &c.fit;
    let mut text = format!(
        "low load  {} requests, mean service {:.2} ms\nknee      {:.1}/s past it x {:.2} ms = {:.2} in flight: bottleneck size {}\n\n\
         {:<16} {:>10} {:>10} {:>10} {:>10}\n",
        f.low_requests,
        f.low_service_s * 1e3,
        f.top_per_s,
        f.low_service_s * 1e3,
        f.knee_in_flight,
        f.size,
        "op",
        "run p50",
        "sim p50",
        "run p99",
        "sim p99"
    );
    for r in &c.replay {
        text.push_str(&format!(
            "{:<16} {:>10.2} {:>10.2} {:>10.2} {:>10.2}\n",
            r.op, r.run[0], r.simulated[0], r.run[1], r.simulated[1]
        ));
    }
    text.push_str(&format!("replay    {}\n", c.folder.display()));
    // The model alone on standard output then, so that it can be redirected to a file.
    if to_stdout {
        out::print(&c.model)?;
        eprint!("{text}");
    } else {
        out::print(&text)?;
    }
    Ok(out::exit(&Verdict::Pass))
}

fn validate(path: &Path) -> anyhow::Result<ExitCode> {
    let plan = Plan::load(path)?;
    let mut text = format!("{}: ok\n", path.display());
    for (label, line) in plan.describe() {
        text.push_str(&format!("  {label:<11} {line}\n"));
    }
    out::print(&text)?;
    for w in plan.shard_warnings() {
        eprintln!("warning: {w}");
    }
    Ok(out::exit(&Verdict::Pass))
}

fn serve(a: ServeArgs) -> anyhow::Result<ExitCode> {
    let model = ModelOverrides {
        pool_size: a.pool_size,
        acquire_timeout: a.acquire_timeout,
        stall: a.stall,
        error_burst: a.error_burst,
        reset_rate: a.reset_rate,
        workers: a.workers,
        queue_limit: a.queue_limit,
        overhead: a.overhead,
        rate_limit: a.rate_limit,
        slow_body: a.slow_body,
        max_body: a.max_body,
        max_order_no: a.max_order_no,
        header_timeout: a.header_timeout,
        idle_timeout: a.idle_timeout,
        max_connections: a.max_connections,
        ledger_window: a.ledger_window,
    };
    let (spec, threads) = einv_engine::serve_model(a.profile.as_deref(), &model)?;
    if a.tls {
        einv_engine::serve_tls(spec, (a.addr, a.http2), threads, a.cert_out.as_deref(), |addr, cert| {
            let _ = out::print(&format!(
                "einv-load built-in target listening on https://{addr} (Ctrl-C to stop)\n\
                 certificate (self-signed) written to {}: trust it with tls-ca\n",
                cert.display()
            ));
        })
        .with_context(|| format!("serving on {}", a.addr))?;
        return Ok(out::exit(&Verdict::Pass));
    }
    einv_engine::serve(spec, (a.addr, a.http2), threads, |addr| {
        let _ = out::print(&format!("einv-load built-in target listening on http://{addr} (Ctrl-C to stop)\n"));
    })
    .with_context(|| format!("serving on {}", a.addr))?;
    Ok(out::exit(&Verdict::Pass))
}

fn simulate(a: SimulateArgs) -> anyhow::Result<ExitCode> {
    let mut plan = Plan::load(&a.profile)?;
    plan.apply(&Overrides { rate: a.rate, duration: a.duration, seed: a.seed, ..Overrides::default() })?;
    if !a.sweep_pool.is_empty() || !a.sweep_rate.is_empty() {
        let result = einv_engine::sweep(&plan, &a.sweep_pool, &a.sweep_rate, a.out.as_deref())?;
        let md = einv_report::sweep_markdown(&result.cells);
        out::print(&format!("{md}\nsweep     {}\n", result.folder.display()))?;
        return Ok(out::exit(&result.verdict()));
    }
    let result = einv_engine::simulate(&plan, &RunOptions { out: a.out, ..RunOptions::default() })?;
    let s = &result.summary;
    let mut text = einv_report::text_summary(s, &[], &result.folder.display().to_string());
    if let Some(pool) = &s.pool {
        let knee = pool.first_timeout_s.map_or("none".to_string(), |t| format!("at {t:.0} s"));
        text.push_str(&format!(
            "pool      size {}, peak mean active {:.1}, max pending {}, acquire p99 {:.3} ms, timeouts {} (first {knee})\n",
            pool.size, pool.peak_mean_active, pool.max_pending, pool.acquire_ms.ms(einv_report::Quantile::P99), pool.timeouts
        ));
        if pool.rate_limited + pool.queue_full > 0 {
            text.push_str(&format!(
                "refused   {} by the rate limit (429), {} with the worker queue full (503)\n",
                pool.rate_limited, pool.queue_full
            ));
        }
        let first = einv_report::ResourceSummary::first_dry(&pool.resources).map(|r| r.name.clone());
        for r in pool.resources.iter().filter(|_| pool.resources.len() > 1) {
            let dry = r.first_dry_s.map_or("never ran dry".to_string(), |t| format!("ran dry at {t:.0} s"));
            let mark = if first.as_ref() == Some(&r.name) { " (first)" } else { "" };
            text.push_str(&format!(
                "resource  {} ({} {}): peak mean active {:.1}, max pending {}, timeouts {}, refused {}, {dry}{mark}\n",
                r.name, r.kind, r.size, r.peak_mean_active, r.max_pending, r.timeouts, r.refused
            ));
        }
    }
    out::print(&text)?;
    Ok(out::finish(s, Finished::Simulation, &result.folder))
}

fn report(a: ReportArgs) -> anyhow::Result<ExitCode> {
    let done = einv_engine::rerender(&a.dir, a.out.as_deref())?;
    let (n, folder, list) = (done.files.len(), done.folder.display(), done.files.join(", "));
    let index = done.folder.join(einv_report::files::INDEX_HTML);
    out::print(&format!("rendered {n} files in {folder}: {list}\nopen {}\n", index.display()))?;
    for n in &done.not_written {
        eprintln!("error: {} was not written: {}", n.file, n.error);
    }
    Ok(out::exit(&if done.not_written.is_empty() { Verdict::Pass } else { Verdict::NotCarriedOut(None) }))
}

fn generate(a: GenerateArgs) -> anyhow::Result<ExitCode> {
    let mut plan = Plan::load(&a.profile)?;
    plan.apply(&Overrides { seed: a.seed, shard: ShardArg::resolve(a.shard)?, ..Overrides::default() })?;
    let existing = if a.force { Existing::ReplaceOutsideReports } else { Existing::Refuse };
    let done = einv_engine::generate(&plan, a.count, &a.out, existing)?;
    if done.skipped > 0 {
        eprintln!(
            "{} of {} requests draw from an empty capture (a dry run gets no responses)",
            done.skipped, done.requests
        );
    }
    if done.interrupted {
        eprintln!("interrupted after {} requests; a file --out was not written", done.requests);
        return Ok(out::exit(&Verdict::NotCarriedOut(None)));
    }
    Ok(out::exit(&Verdict::Pass))
}

fn init(a: InitArgs) -> anyhow::Result<ExitCode> {
    let source = match (a.from_curl, a.from_har) {
        (Some(cmd), _) => InitSource::Curl(cmd),
        (None, Some(har)) => InitSource::Har(har),
        (None, None) => InitSource::Url(a.url.unwrap_or_else(|| format!("{}/", InitOptions::default_url()))),
    };
    let opts = InitOptions { name: a.name, source, rate: a.rate, duration: a.duration };
    let out = a.out.unwrap_or_else(|| format!("{}.toml", opts.name).into());
    let existing = if a.force { Existing::ReplaceOutsideReports } else { Existing::Refuse };
    let done = einv_engine::init(&opts, &out, existing)?;
    // On stderr: standard output may be the profile itself (--out -).
    for note in &done.notes {
        eprintln!("note: {note}");
    }
    if !done.env.is_empty() {
        eprintln!("set before a run (the profile holds only ${{env.NAME}} placeholders):");
        for v in &done.env {
            eprintln!("  {:<22} {}", v.name, v.holds);
        }
    }
    if out.as_os_str() != "-" {
        let file = out.display();
        let ops = if done.ops == 1 { "1 op".to_string() } else { format!("{} ops", done.ops) };
        eprintln!("wrote {file}: {ops} against {}; next: einv-load validate {file}", done.target);
    }
    Ok(out::exit(&Verdict::Pass))
}

fn merge(a: MergeArgs) -> anyhow::Result<ExitCode> {
    let s = einv_engine::merge(&a.dirs, &a.out)?;
    out::print(&einv_report::text_summary(&s, &kept_errors(&a.out), &a.out.display().to_string()))?;
    for w in &s.warnings {
        eprintln!("warning: {w}");
    }
    Ok(out::finish(&s, Finished::Merge, &a.out))
}

fn compare(a: CompareArgs) -> anyhow::Result<ExitCode> {
    let result = einv_engine::compare(&a.baseline, &a.current, a.max_regression, a.out.as_deref())?;
    let c = &result.compared.comparison;
    let html = result.folder.join("compare.html");
    out::print(&format!("{}\ncompare   {}\n", einv_report::compare_table(c), html.display()))?;
    Ok(out::exit(&Verdict::of_comparison(c)))
}

fn k8s(a: K8sArgs) -> anyhow::Result<ExitCode> {
    let plan = Plan::load(&a.profile)?;
    let opts =
        einv_engine::K8sOptions { shards: a.shards, image: a.image, namespace: a.namespace, start_in: a.start_in };
    let m = einv_engine::manifests(&plan, &opts, std::time::SystemTime::now())?;
    let shards = opts.shards.unwrap_or_else(|| plan.shard_count());
    for w in plan.per_shard_warnings(shards) {
        eprintln!("warning: {w}");
    }
    for note in &m.notes {
        eprintln!("note: {note}");
    }
    if a.out.as_os_str() == "-" {
        out::print(&m.to_stream(shards))?;
    } else {
        einv_engine::write_manifests(&m, &a.out)?;
        eprintln!("wrote {} files to {}", m.documents.len(), a.out.display());
    }
    let at = humantime::format_rfc3339_seconds(m.start_at);
    eprintln!("the {shards} shards start at {at}: apply before then; gate: kubectl wait job/{}-merge", m.run);
    Ok(out::exit(&Verdict::Pass))
}
