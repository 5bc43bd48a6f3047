use crate::Error;
use crate::pool::PoolRow;

use super::lines::{LEGEND_W, Series, WIDTH, note, panel};
use super::palette::{BLUE, GREEN, VERMILLION};
use super::style::render;

/// A simulated run's pool gauges at the end of each second: active and idle against the
/// pool size; the waiters (pending) on an axis of their own, since thousands of them would
/// flatten a pool of 200 onto the floor of a shared one; and acquire timeouts per second.
pub fn pool_svg(title: &str, rows: &[PoolRow], size: u64) -> Result<String, Error> {
    let t_end = rows.iter().map(|r| r.start_s + r.length_s).fold(0.0, f64::max);
    let line = |label: &str, color, pick: &dyn Fn(&PoolRow) -> f64| {
        Series::line(label, color, rows.iter().map(|r| (r.start_s + r.length_s, pick(r))).collect())
    };
    let mut gauges = vec![line("active", BLUE, &|r| r.active as f64), line("idle", GREEN, &|r| r.idle as f64)];
    if size > 0 {
        gauges.push(Series::limit(format!("pool size ({size})"), size, t_end));
    }
    let pending = [line("pending", VERMILLION, &|r| r.pending as f64)];
    let per_s = |r: &PoolRow| if r.length_s > 0.0 { r.timeouts as f64 / r.length_s } else { 0.0 };
    let timeouts = [line("acquire timeouts/s", VERMILLION, &per_s)];
    render("pool", (WIDTH, 820), Some(title), |area| {
        if rows.is_empty() {
            return note(area, "pool", "no data: no intervals were recorded");
        }
        let (top, rest) = area.split_vertically(300);
        let (middle, bottom) = rest.split_vertically(230);
        panel(&top, "pool", &gauges, (t_end, LEGEND_W), (None, "connections"))?;
        panel(&middle, "pool", &pending, (t_end, LEGEND_W), (None, "waiting requests"))?;
        panel(&bottom, "pool", &timeouts, (t_end, LEGEND_W), (Some("time (s)"), "timeouts/s"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::style::tests::texts;

    #[test]
    fn gauges_and_timeouts_with_legends() {
        let rows: Vec<PoolRow> = (0..50u32)
            .map(|i| PoolRow {
                start_s: f64::from(i),
                length_s: 1.0,
                active: 100.min(u64::from(i) * 3),
                idle: 100 - 100.min(u64::from(i) * 3),
                pending: u64::from(i.saturating_sub(34)) * 20,
                timeouts: u64::from(i > 45) * 300,
                ..Default::default()
            })
            .collect();
        let svg = pool_svg("sim: pool", &rows, 100).unwrap();
        let texts = texts(&svg);
        for t in [
            "sim: pool",
            "active",
            "idle",
            "pending",
            "pool size (100)",
            "waiting requests",
            "acquire timeouts/s",
            "time (s)",
        ] {
            assert!(texts.contains(&t), "missing {t} in {texts:?}");
        }
    }
}
