//! Live progress on stderr (hidden when stderr is not a terminal).

use std::time::Duration;

use einv_report::TimeseriesRow;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    pub fn new(planned: Duration, enabled: bool) -> Self {
        let target = if enabled { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let bar = ProgressBar::with_draw_target(Some(planned.as_secs().max(1)), target);
        if let Ok(style) = ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len}s  {msg}") {
            bar.set_style(style.progress_chars("=> "));
        }
        Progress { bar }
    }

    /// Show the last interval's figures and the running totals.
    pub fn update(&self, elapsed: Duration, row: &TimeseriesRow, sent: u64, errors: u64) {
        self.bar.set_position(elapsed.as_secs());
        self.bar.set_message(format!(
            "{:.0}/s (target {:.0})  p99 {:.1} ms  lag p99 {:.1} ms  sent {sent}  errors {errors}  conns {}",
            row.achieved_rate, row.target_rate, row.latency_p99_ms, row.send_lag_p99_ms, row.connections
        ));
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
