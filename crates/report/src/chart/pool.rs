use crate::Error;
use crate::pool::PoolRow;

use super::lines::{LEGEND_W, PALETTE, Series, WIDTH, note, panel};
use super::style::render;

/// A simulated run's pool gauges (active, idle, pending at the end of each second, against
/// the pool size) above its acquire timeouts per second.
pub fn pool_svg(title: &str, rows: &[PoolRow], size: u64) -> Result<String, Error> {
    let t_end = rows.iter().map(|r| r.start_s + r.length_s).fold(0.0, f64::max);
    let line = |label: &str, color, pick: &dyn Fn(&PoolRow) -> f64| {
        Series::line(label, color, rows.iter().map(|r| (r.start_s + r.length_s, pick(r))).collect())
    };
    let mut gauges = vec![
        line("active", PALETTE[0], &|r| r.active as f64),
        line("idle", PALETTE[1], &|r| r.idle as f64),
        line("pending", PALETTE[2], &|r| r.pending as f64),
    ];
    if size > 0 {
        gauges.push(Series::limit(format!("pool size ({size})"), size, t_end));
    }
    let per_s = |r: &PoolRow| if r.length_s > 0.0 { r.timeouts as f64 / r.length_s } else { 0.0 };
    let timeouts = [line("acquire timeouts/s", PALETTE[2], &per_s)];
    render("pool", (WIDTH, 640), Some(title), |area| {
        if rows.is_empty() {
            return note(area, "pool", "no data: no intervals were recorded");
        }
        let (top, bottom) = area.split_vertically(330);
        panel(&top, "pool", &gauges, (t_end, LEGEND_W), (None, "connections"))?;
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
        for t in ["sim: pool", "active", "idle", "pending", "pool size (100)", "acquire timeouts/s", "time (s)"] {
            assert!(texts.contains(&t), "missing {t} in {texts:?}");
        }
    }
}
