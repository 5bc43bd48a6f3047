//! The capacity search, pure: which rate to try next, given what the steps so far said.
//! The step itself is injected (a fake in the tests below, the simulator for
//! `--simulate`, the live engine for real), so the rules are tested without a target.
//!
//! Bracket, then bisect: from the start rate, grow while passing (×2 from `--min`,
//! ×(1 + 2·precision) from a model's prediction, which is already close) until a step
//! fails or `--max` passes (down, faster each time, while failing); then bisect until `(hi - lo) / lo <= precision`. The state is
//! derived from the history each time, never kept apart from it: a rate's latest verdict
//! counts, `hi` is the lowest failing rate and `lo` the highest passing rate below it (a
//! pass above a fail is noise and ignored). Confirmation: once the bracket is narrow, a
//! marginal bound (its figures within noise of a limit, see [`Probe::marginal`]) is run
//! again, once; if the re-run disagrees, the new verdict stands and the search goes on.
//! So one noisy step near the capacity cannot move the answer: a lucky pass above it is
//! re-run and fails, an unlucky fail below it is re-run and passes.

/// What the search may do.
#[derive(Debug, Clone, PartialEq)]
pub struct Bounds {
    /// The lowest rate tried (and the first, without a prediction).
    pub min: f64,
    /// The highest rate tried.
    pub max: f64,
    /// Stop once `(hi - lo) / lo` is at most this.
    pub precision: f64,
    /// The most steps run, re-runs included.
    pub max_steps: usize,
    /// Where to start instead of `min`: a model's prediction.
    pub start: Option<f64>,
    /// Re-run a marginal bound once (pointless for a deterministic step).
    pub confirm: bool,
}

/// What one step said.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Probe {
    pub passed: bool,
    /// The verdict was within noise of the other one (a figure near its limit): worth a
    /// second look before it bounds the answer.
    pub marginal: bool,
}

/// One step run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trial {
    pub rate: f64,
    pub probe: Probe,
    /// The second run of this rate.
    pub rerun: bool,
}

/// The answer of a search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Answer {
    /// The highest rate that passed just under one that failed.
    Capacity(f64),
    /// Every step passed, up to `max`: the capacity is at least that (not measured).
    AtLeast(f64),
    /// Even `min` failed.
    Below(f64),
    /// The budget ran out before anything was bracketed (nothing passed, and `min` was not reached).
    Unknown,
}

/// A finished search.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub answer: Answer,
    /// The highest pass and the lowest fail above it.
    pub lo: Option<f64>,
    pub hi: Option<f64>,
    pub trials: Vec<Trial>,
    /// The bracket met the precision (false: the step budget ended the search first).
    pub converged: bool,
}

/// Run the search; `step(rate)` runs one step, or says `None` when the time budget is
/// over (the search then ends with what it has).
pub fn search<E>(b: &Bounds, mut step: impl FnMut(f64) -> Result<Option<Probe>, E>) -> Result<Outcome, E> {
    let growth = if b.start.is_some() { 1.0 + 2.0 * b.precision } else { 2.0 };
    let mut trials: Vec<Trial> = Vec::new();
    let mut over_budget = false;
    loop {
        let (lo, hi) = bracket(&trials);
        let next = match (lo, hi) {
            (None, None) => Some((b.start.unwrap_or(b.min).clamp(b.min, b.max), false)),
            (Some(l), None) if l >= b.max => None,
            (Some(l), None) => Some(((l * growth).min(b.max), false)),
            (None, Some(h)) if h <= b.min => None,
            // Down from a failing start, faster with every fail: a prediction that fails is off.
            (None, Some(h)) => Some(((h / growth.powi(trials.len() as i32)).max(b.min), false)),
            (Some(l), Some(h)) if (h - l) / l > b.precision => Some((midpoint(l, h), false)),
            (Some(l), Some(h)) if b.confirm => [l, h].into_iter().find(|r| needs_rerun(&trials, *r)).map(|r| (r, true)),
            _ => None,
        };
        let Some((rate, rerun)) = next else { break };
        if trials.len() >= b.max_steps {
            over_budget = true;
            break;
        }
        let Some(probe) = step(rate)? else {
            over_budget = true;
            break;
        };
        trials.push(Trial { rate, probe, rerun });
    }
    let (lo, hi) = bracket(&trials);
    let answer = match (lo, hi) {
        (Some(l), None) if l >= b.max => Answer::AtLeast(b.max),
        (Some(l), _) => Answer::Capacity(l),
        (None, Some(h)) if h <= b.min => Answer::Below(b.min),
        (None, _) => Answer::Unknown,
    };
    Ok(Outcome { answer, lo, hi, trials, converged: !over_budget })
}

/// The latest verdict of each rate: `hi` the lowest fail, `lo` the highest pass below it.
fn bracket(trials: &[Trial]) -> (Option<f64>, Option<f64>) {
    let latest = |rate: f64| trials.iter().rev().find(|t| t.rate == rate).map(|t| t.probe.passed);
    let hi = trials.iter().filter(|t| latest(t.rate) == Some(false)).map(|t| t.rate).reduce(f64::min);
    let below = |r: f64| hi.is_none_or(|h| r < h);
    let lo = trials.iter().filter(|t| latest(t.rate) == Some(true) && below(t.rate)).map(|t| t.rate).reduce(f64::max);
    (lo, hi)
}

/// A bound whose only verdict is marginal gets one more run.
fn needs_rerun(trials: &[Trial], rate: f64) -> bool {
    let runs: Vec<&Trial> = trials.iter().filter(|t| t.rate == rate).collect();
    runs.len() == 1 && runs[0].probe.marginal
}

/// Halfway, to a whole request per second when that stays strictly inside.
fn midpoint(lo: f64, hi: f64) -> f64 {
    let mid = (lo + hi) / 2.0;
    if mid.round() > lo && mid.round() < hi { mid.round() } else { mid }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(start: Option<f64>) -> Bounds {
        Bounds { min: 10.0, max: 100_000.0, precision: 0.05, max_steps: 30, start, confirm: true }
    }

    /// A target that holds exactly `c`: marginal within 10 % of it.
    fn monotone(c: f64) -> impl FnMut(f64) -> Result<Option<Probe>, ()> {
        move |r| Ok(Some(Probe { passed: r <= c, marginal: (r / c - 1.0).abs() <= 0.1 }))
    }

    fn answer(o: &Outcome) -> f64 {
        match o.answer {
            Answer::Capacity(c) => c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_monotone_capacity_is_found_within_the_precision_below_it() {
        for c in [10.5, 37.0, 1000.0, 4321.0, 99_000.0] {
            for start in [None, Some(c * 0.93), Some(c * 1.4)] {
                let o = search(&bounds(start), monotone(c)).unwrap();
                let a = answer(&o);
                assert!(a <= c && a >= c * 0.95, "capacity {c} from {start:?}: {a} after {:?}", o.trials);
                assert!(o.converged);
                let (lo, hi) = (o.lo.unwrap(), o.hi.unwrap());
                assert!((hi - lo) / lo <= 0.05 && lo == a);
            }
        }
    }

    #[test]
    fn a_prediction_close_to_the_capacity_takes_few_steps() {
        let o = search(&bounds(Some(950.0)), monotone(1000.0)).unwrap();
        assert!(o.trials.len() <= 6, "{:?}", o.trials);
        let from_min = search(&bounds(None), monotone(1000.0)).unwrap();
        assert!(from_min.trials.len() > o.trials.len());
    }

    /// A step that fails once, the first time it is tried anywhere just under the
    /// capacity, is re-run and cannot pull the answer down; and a lucky pass above it
    /// cannot push it up.
    #[test]
    fn one_noisy_step_near_the_capacity_cannot_move_the_answer() {
        let c = 1000.0;
        for start in [None, Some(900.0), Some(980.0)] {
            let mut fooled = false;
            let noisy_fail = |r: f64| {
                let bad = !fooled && r <= c && r >= c * 0.9;
                fooled |= bad;
                Ok::<_, ()>(Some(Probe { passed: r <= c && !bad, marginal: (r / c - 1.0).abs() <= 0.1 }))
            };
            let o = search(&bounds(start), noisy_fail).unwrap();
            let a = answer(&o);
            assert!(fooled && a <= c && a >= c * 0.95, "{a} after {:?}", o.trials);
            let mut lucky = false;
            let noisy_pass = |r: f64| {
                let luck = !lucky && r > c && r <= c * 1.1;
                lucky |= luck;
                Ok::<_, ()>(Some(Probe { passed: r <= c || luck, marginal: (r / c - 1.0).abs() <= 0.1 }))
            };
            let o = search(&bounds(start), noisy_pass).unwrap();
            let a = answer(&o);
            assert!(a <= c && a >= c * 0.95, "{a} after {:?}", o.trials);
        }
    }

    #[test]
    fn the_step_and_time_budgets_are_kept() {
        let b = Bounds { max_steps: 3, ..bounds(None) };
        let o = search(&b, monotone(1000.0)).unwrap();
        assert_eq!(o.trials.len(), 3);
        assert!(!o.converged);
        assert_eq!(o.answer, Answer::Capacity(40.0), "the best pass so far, not converged");
        let mut left = 5;
        let timed = |r: f64| {
            left -= 1;
            Ok::<_, ()>((left >= 0).then_some(Probe { passed: r <= 1000.0, marginal: false }))
        };
        let o = search(&bounds(None), timed).unwrap();
        assert_eq!(o.trials.len(), 5);
        assert!(!o.converged);
    }

    #[test]
    fn passing_up_to_max_is_at_least_max_and_failing_at_min_is_below_it() {
        let b = Bounds { max: 500.0, ..bounds(None) };
        let o = search(&b, monotone(1e9)).unwrap();
        assert_eq!(o.answer, Answer::AtLeast(500.0));
        assert_eq!(o.trials.last().unwrap().rate, 500.0);
        let o = search(&bounds(Some(300.0)), monotone(1.0)).unwrap();
        assert_eq!(o.answer, Answer::Below(10.0));
        assert_eq!(o.trials.last().unwrap().rate, 10.0);
    }

    #[test]
    fn a_deterministic_step_is_never_run_twice() {
        let b = Bounds { confirm: false, ..bounds(Some(950.0)) };
        let o = search(&b, monotone(1000.0)).unwrap();
        assert!(o.trials.iter().all(|t| !t.rerun));
        let mut rates: Vec<u64> = o.trials.iter().map(|t| t.rate as u64).collect();
        rates.sort_unstable();
        rates.dedup();
        assert_eq!(rates.len(), o.trials.len());
    }
}
