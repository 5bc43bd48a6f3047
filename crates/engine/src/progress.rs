//! Live progress on stderr (hidden when stderr is not a terminal), one line that fits the
//! terminal's width: when it is narrow, the least useful figures go first.

use std::time::Duration;

use einv_report::{Stats, TimeseriesRow};
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

    /// Show the last interval's figures and the running totals (`totals` per op, named
    /// by `names`).
    pub fn update(&self, elapsed: Duration, row: &TimeseriesRow, (names, totals): (&[String], &[Stats])) {
        self.bar.set_position(elapsed.as_secs());
        if self.bar.is_hidden() {
            return;
        }
        let width = console::Term::stderr().size_checked().map_or(80, |(_, w)| usize::from(w));
        let sent = totals.iter().map(|s| s.sent).sum();
        let errors = Errors { count: totals.iter().map(Stats::error_count).sum(), top: top_failure(names, totals) };
        self.bar.set_message(line(width, (elapsed, self.planned), row, sent, &errors));
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// The errors so far, and the most frequent failure: `query http_4xx 76`.
struct Errors {
    count: u64,
    top: Option<String>,
}

/// The most frequent failure so far over ops and kinds (error classes, failed checks),
/// short: `op class count`; the first op and class on a tie.
fn top_failure(names: &[String], totals: &[Stats]) -> Option<String> {
    let mut top: Option<(u64, &str, &str)> = None;
    for (name, s) in names.iter().zip(totals) {
        let kinds = s.errors.iter().map(|(c, n)| (c.as_str(), n)).chain([("check_failed", s.check_failed)]);
        for (kind, n) in kinds {
            if n > top.map_or(0, |t| t.0) {
                top = Some((n, name, kind));
            }
        }
    }
    top.map(|(n, op, kind)| format!("{op} {kind} {n}"))
}

/// The progress line for a terminal `width` columns wide. Parts are kept by priority
/// (time, rate, p99, errors first, then the top failure; then the target rate, sent, send
/// lag, connections), shown in reading order; the bar takes what room is left. One
/// column stays free: some terminals wrap a line that reaches the last one.
fn line(
    width: usize,
    (elapsed, planned): (Duration, Duration),
    row: &TimeseriesRow,
    sent: u64,
    errors: &Errors,
) -> String {
    let width = width.saturating_sub(1);
    let time = format!("{}/{}s", elapsed.as_secs(), planned.as_secs().max(1));
    // (priority, text), in reading order; a lower priority is kept first.
    let parts = [
        (0, format!("{:.0}/s", row.achieved_rate)),
        (4, format!("(target {:.0})", row.target_rate)),
        (1, format!(" p99 {:.1} ms", row.latency_p99_ms)),
        (6, format!(" lag p99 {:.1} ms", row.send_lag_p99_ms)),
        (5, format!(" sent {sent}")),
        (2, format!(" errors {}", errors.count)),
        (3, errors.top.as_ref().map_or(String::new(), |t| format!("(top {t})"))),
        (7, format!(" conns {}", row.connections)),
    ];
    let mut keep = [false; 8];
    let mut used = time.len();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by_key(|&i| parts[i].0);
    for i in order.into_iter().filter(|&i| !parts[i].1.is_empty()) {
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
        line(width, (Duration::from_secs(12), Duration::from_secs(30)), &row, 9000, &Errors { count: 3, top: None })
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

    /// The line names the failure that happens most as it happens: op, class and count,
    /// kept before the figures a user can do without.
    #[test]
    fn the_line_shows_the_top_failure() {
        let mut query = Stats::new();
        query.errors.add(einv_report::ErrorClass::Http4xx, 76);
        query.errors.add(einv_report::ErrorClass::Timeout, 2);
        let mut issue = Stats::new();
        issue.check_failed = 80;
        let names = ["query".to_string(), "issue".to_string()];
        assert_eq!(top_failure(&names, &[query.clone(), Stats::new()]).as_deref(), Some("query http_4xx 76"));
        assert_eq!(top_failure(&names, &[query, issue]).as_deref(), Some("issue check_failed 80"));
        assert_eq!(top_failure(&names, &[Stats::new(), Stats::new()]), None);
        let row = TimeseriesRow { achieved_rate: 10.0, ..TimeseriesRow::default() };
        let errors = Errors { count: 78, top: Some("query http_4xx 76".into()) };
        let line = |w| line(w, (Duration::from_secs(3), Duration::from_secs(10)), &row, 80, &errors);
        assert_eq!(line(60), "3/10s 10/s  p99 0.0 ms  errors 78 (top query http_4xx 76)");
        assert!(line(200).ends_with("sent 80  errors 78 (top query http_4xx 76)  conns 0"), "{}", line(200));
    }
}
