//! Live progress on stderr (hidden when stderr is not a terminal), one line that fits the
//! terminal's width: when it is narrow, the least useful figures go first.

use std::time::Duration;

use einv_report::TimeseriesRow;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    planned: Duration,
}

impl Progress {
    pub fn new(planned: Duration, enabled: bool) -> Self {
        let target = if enabled { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let bar = ProgressBar::with_draw_target(Some(planned.as_secs().max(1)), target);
        // The whole line is ours (see `line`): indicatif's own parts have no width budget.
        if let Ok(style) = ProgressStyle::with_template("{msg}") {
            bar.set_style(style);
        }
        Progress { bar, planned }
    }

    /// Show the last interval's figures and the running totals.
    pub fn update(&self, elapsed: Duration, row: &TimeseriesRow, sent: u64, errors: u64) {
        self.bar.set_position(elapsed.as_secs());
        if self.bar.is_hidden() {
            return;
        }
        let width = console::Term::stderr().size_checked().map_or(80, |(_, w)| usize::from(w));
        self.bar.set_message(line(width, (elapsed, self.planned), row, sent, errors));
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// The progress line for a terminal `width` columns wide. Parts are kept by priority
/// (time, rate, p99, errors first; then the target rate, sent, send lag, connections),
/// shown in reading order; the bar takes what room is left. One column stays free: some
/// terminals wrap a line that reaches the last one.
fn line(width: usize, (elapsed, planned): (Duration, Duration), row: &TimeseriesRow, sent: u64, errors: u64) -> String {
    let width = width.saturating_sub(1);
    let time = format!("{}/{}s", elapsed.as_secs(), planned.as_secs().max(1));
    // (priority, text), in reading order; a lower priority is kept first.
    let parts = [
        (0, format!("{:.0}/s", row.achieved_rate)),
        (4, format!("(target {:.0})", row.target_rate)),
        (1, format!(" p99 {:.1} ms", row.latency_p99_ms)),
        (6, format!(" lag p99 {:.1} ms", row.send_lag_p99_ms)),
        (5, format!(" sent {sent}")),
        (2, format!(" errors {errors}")),
        (7, format!(" conns {}", row.connections)),
    ];
    let mut keep = [false; 7];
    let mut used = time.len();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by_key(|&i| parts[i].0);
    for i in order {
        let cost = parts[i].1.len() + 1;
        if used + cost > width {
            break;
        }
        keep[i] = true;
        used += cost;
    }
    let figures: Vec<&str> = parts.iter().zip(keep).filter(|(_, k)| *k).map(|((_, t), _)| t.as_str()).collect();
    let figures = figures.join(" ");
    // The bar, 10 to 30 cells and its brackets, only when every figure kept leaves room.
    let room = width.saturating_sub(used + 3);
    let bar = match room >= 10 {
        true => {
            let cells = room.min(30);
            let done = (cells as f64 * (elapsed.as_secs_f64() / planned.as_secs_f64().max(1e-9)).min(1.0)) as usize;
            format!(" [{}{}]", "=".repeat(done), " ".repeat(cells - done))
        }
        false => String::new(),
    };
    let mut out = format!("{time}{bar} {figures}");
    out.truncate(width);
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(width: usize) -> String {
        let row = TimeseriesRow {
            achieved_rate: 812.4,
            target_rate: 800.0,
            latency_p99_ms: 4.12,
            send_lag_p99_ms: 0.21,
            connections: 12,
            ..TimeseriesRow::default()
        };
        line(width, (Duration::from_secs(12), Duration::from_secs(30)), &row, 9000, 3)
    }

    #[test]
    fn the_line_fits_every_width_and_drops_the_least_useful_figures_first() {
        for width in 0..200 {
            assert!(at(width).len() < width.max(1), "{width}: {:?}", at(width));
        }
        let wide = at(200);
        assert!(wide.starts_with("12/30s [============                  ] 812/s (target 800)  p99 4.1 ms"), "{wide}");
        assert!(wide.ends_with("lag p99 0.2 ms  sent 9000  errors 3  conns 12"), "{wide}");
        assert_eq!(
            at(100),
            "12/30s [====        ] 812/s (target 800)  p99 4.1 ms  lag p99 0.2 ms  sent 9000  errors 3  conns 12"
        );
        assert_eq!(at(80), "12/30s 812/s (target 800)  p99 4.1 ms  lag p99 0.2 ms  sent 9000  errors 3");
        assert_eq!(at(40), "12/30s 812/s  p99 4.1 ms  errors 3");
        assert_eq!((at(12).as_str(), at(13).as_str()), ("12/30s", "12/30s 812/s"));
        assert_eq!(at(5), "12/3");
    }
}
