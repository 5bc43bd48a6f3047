//! Every file derived from a report folder's data: .hgrm, the charts, index.html,
//! summary.md and junit.xml. One entry point, [`render_folder`], used by `run`, `simulate`
//! and `einv-load report` alike, so the three give the same files for the same data.

mod answer;
mod failures;
mod fmt;
mod latency;

pub(crate) use fmt::{check_value, count, esc, knee_sentence, offered, stage_rows, start_sentence};
mod html;
mod junit;
mod markdown;
#[cfg(test)]
mod tests;

use std::path::Path;

use crate::Error;
use crate::chart;
use crate::folder::{Saved, files};
use crate::hgrm::hgrm;
use crate::histograms::{Histograms, Timing};
use crate::write::{NotWritten, write_file};

/// A rendered chart: its file, what it shows, and the SVG itself.
#[derive(Debug)]
struct Chart {
    file: &'static str,
    /// The heading above it in index.html.
    heading: String,
    svg: String,
}

/// Render every derived file of `saved` in memory: (file name, bytes), in writing order.
/// Pure: the same data gives the same bytes.
pub fn render(saved: &Saved) -> Result<Vec<(&'static str, Vec<u8>)>, Error> {
    let charts = charts(saved)?;
    let mut out = vec![
        (files::LATENCY_HGRM, hgrm(&saved.totals.overall[Timing::Latency]).into_bytes()),
        (files::SERVICE_HGRM, hgrm(&saved.totals.overall[Timing::Service]).into_bytes()),
    ];
    let errors = &saved.folder.errors;
    let page = html::page(&saved.folder.summary, &saved.folder.timeseries, errors, &charts);
    out.push((files::INDEX_HTML, page.into_bytes()));
    out.push((files::SUMMARY_MD, markdown::summary_md(&saved.folder.summary).into_bytes()));
    out.push((files::JUNIT_XML, junit::junit_xml(&saved.folder.summary).into_bytes()));
    out.extend(charts.into_iter().map(|c| (c.file, c.svg.into_bytes())));
    Ok(out)
}

/// What [`render_folder`] wrote, and what it could not.
#[derive(Debug, Default)]
pub struct Rendered {
    pub written: Vec<&'static str>,
    pub not_written: Vec<NotWritten>,
}

/// Write every derived file of `saved` into `dir` (each atomically). A file that cannot be
/// written (a full disk) is listed and the others are still tried: each is independent,
/// and a failed one leaves no temp file. Never touches the data files (summary.json,
/// timeseries.csv, histograms.hlog, pool.csv). `Err` only when rendering itself fails.
pub fn render_folder(dir: &Path, saved: &Saved) -> Result<Rendered, Error> {
    let mut done = Rendered::default();
    for (file, bytes) in render(saved)? {
        match write_file(&dir.join(file), &bytes) {
            Ok(()) => done.written.push(file),
            Err(e) => done.not_written.push(NotWritten { file: file.into(), error: e.to_string() }),
        }
    }
    Ok(done)
}

/// The timeline's marks: the SLO's overall latency limits and the knee.
fn marks(s: &crate::summary::Summary) -> chart::Marks {
    let limits = spectrum_limits(s).into_iter().map(|(label, _, ms)| (label, ms));
    chart::Marks { limits: limits.collect(), knee_s: s.knee.as_ref().map(|k| k.at_s) }
}

/// The SLO's overall latency limits, labelled: "p99 limit (200.00 ms)".
fn spectrum_limits(s: &crate::summary::Summary) -> Vec<chart::SpectrumLimit> {
    let label = |q: crate::Quantile, ms| format!("{} limit ({} ms)", q.label(), fmt::ms(ms));
    answer::latency_limits(s).map(|(q, ms)| (label(q, ms), q.fraction(), ms)).collect()
}

/// The p99 latency limit the SLO sets on `scope` ("overall" or an op), in ms.
fn limit_of(s: &crate::summary::Summary, scope: &str) -> Option<f64> {
    let p99 = Some(crate::slo::Metric::Percentile(crate::Quantile::P99));
    s.slo.checks.iter().find(|c| c.scope == scope && crate::slo::Metric::from_name(&c.name) == p99).map(|c| c.threshold)
}

fn charts(saved: &Saved) -> Result<Vec<Chart>, Error> {
    let s = &saved.folder.summary;
    let name = &s.run.name;
    let rows = &saved.folder.timeseries;
    // A simulation models no client queue: both clocks are the same line, drawn twice.
    let same = if s.pool.is_some() { " (simulated: latency and service coincide)" } else { "" };
    let mut charts = vec![
        Chart {
            file: files::TIMELINE_SVG,
            heading: "Latency and throughput over time".into(),
            svg: chart::timeline_svg(&format!("{name}: latency and throughput over time"), rows, &marks(s))?,
        },
        Chart {
            file: files::SPECTRUM_SVG,
            heading: format!("Latency percentile spectrum{same}"),
            svg: chart::spectrum_svg(
                &format!("{name}: latency percentile spectrum"),
                &[
                    ("latency (from intended send)", &saved.totals.overall[Timing::Latency]),
                    ("service (from actual send)", &saved.totals.overall[Timing::Service]),
                ],
                &spectrum_limits(s),
            )?,
        },
    ];
    // Several ops: each one's latency over time, in small multiples.
    if s.ops.len() > 1 {
        // An unreadable log loses this chart only; `report` names the file when it reads it.
        let timelines = saved.folder.op_timelines().unwrap_or_default();
        let overall = limit_of(s, "overall");
        let ops: Vec<chart::OpTimeline> = s
            .ops
            .keys()
            .map(|op| (op.as_str(), timelines.get(op).map_or(&[][..], Vec::as_slice), limit_of(s, op).or(overall)))
            .collect();
        charts.push(Chart {
            file: files::OPS_TIMELINE_SVG,
            heading: "Latency over time per op".into(),
            svg: chart::timeline_ops_svg(&format!("{name}: latency per op over time (p50, p99)"), &ops)?,
        });
    }
    // An op that never sent has no intervals in histograms.hlog: it still gets its panel.
    let empty = Histograms::default();
    let ops: Vec<chart::OpSpectrum> = s
        .ops
        .keys()
        .map(|op| {
            let h = saved.totals.ops.get(op).unwrap_or(&empty);
            (op.as_str(), &h[Timing::Latency], &h[Timing::Service])
        })
        .collect();
    charts.push(Chart {
        file: files::SPECTRUM_OPS_SVG,
        heading: format!("Percentile spectrum per op{same}"),
        svg: chart::spectrum_ops_svg(&format!("{name}: percentile spectrum per op (latency vs service)"), &ops)?,
    });
    charts.push(Chart {
        file: files::ERRORS_SVG,
        heading: "Errors by class over time".into(),
        svg: chart::errors_svg(&format!("{name}: errors by class over time"), rows)?,
    });
    // A simulation has no client connections; its pool gauges tell that story instead.
    if s.pool.is_none() {
        let (streams, limit) = (s.connections.http2 > 0, s.connections.limit);
        let (heading, title) = match streams {
            true => ("Client connections and HTTP/2 streams over time", "open client connections, streams in flight"),
            false => ("Client connections over time", "open client connections"),
        };
        charts.push(Chart {
            file: files::CONNECTIONS_SVG,
            heading: heading.into(),
            svg: chart::connections_svg(&format!("{name}: {title}"), rows, limit, streams)?,
        });
    }
    if let Some(pool) = &saved.pool {
        let size = s.pool.as_ref().map_or(0, |p| p.size);
        charts.push(Chart {
            file: files::POOL_SVG,
            heading: "Database pool (simulated) over time".into(),
            svg: chart::pool_svg(&format!("{name}: simulated database pool"), pool, size)?,
        });
    }
    Ok(charts)
}
