//! Whether a load sends anything at all: a schedule too thin to hold one arrival (for this
//! shard) is bad input, refused by `validate` and `run` alike, not a run that "passes"
//! having measured nothing.

use einv_workload::{Schedule, derive_seed};

use super::{Load, Shard};

/// Beyond this shard index the arrivals are not counted one by one (that could take
/// long); the expected count decides.
const COUNTED: u64 = 1 << 20;

impl Load {
    /// The arrival schedule of an open-loop load, drawn from the run's `seed`; `None` for
    /// closed loop and replay, which have none.
    pub fn schedule(&self, seed: u64) -> Option<Result<Schedule, einv_workload::Error>> {
        let Load::Open { stages, arrivals, .. } = self else { return None };
        Some(Schedule::new(stages, *arrivals, derive_seed(seed, "arrivals")))
    }

    /// The mean planned rate of an open-loop load; `None` for closed loop and replay
    /// (and a schedule that cannot be drawn, which validation reports).
    pub fn mean_rate(&self, seed: u64) -> Option<f64> {
        self.schedule(seed)?.ok().map(|s| s.mean_rate())
    }
}

/// Why `load` would send nothing for `shard`, if so. Shard `i` sends the arrivals
/// `k mod n = i`, so it has one exactly when the schedule has more than `i`.
pub(crate) fn missing(load: &Load, seed: u64, shard: Shard) -> Option<String> {
    let (count, shard_note) = match load {
        Load::Closed { .. } => return None,
        Load::Replay { arrivals, .. } if *arrivals == 0 => return Some("the trace holds no request".into()),
        Load::Replay { arrivals, .. } => (*arrivals, ""),
        Load::Open { stages, .. } => match load.schedule(seed)? {
            Err(einv_workload::Error::EmptySchedule) => return Some(empty(load, stages, "")),
            Err(e) => return Some(e.to_string()),
            Ok(s) if shard.index() >= COUNTED => (s.expected_count() as u64, " (expected)"),
            Ok(s) => match s.clone().take(shard.index() as usize + 1).count() as u64 {
                0 => return Some(empty(load, stages, " (Poisson arrivals drew none with this seed)")),
                n => (n, ""),
            },
        },
    };
    (count <= shard.index()).then(|| {
        format!(
            "shard {}/{} has no arrival: the schedule holds {count}{shard_note}, and shard I sends arrivals \
             k with k mod N = I",
            shard.index(),
            shard.count()
        )
    })
}

fn empty(load: &Load, stages: &[einv_workload::Stage], note: &str) -> String {
    // Poisson arrivals only refuse a schedule of no rate at all, so they can say how
    // thin a uniform one is.
    let poisson = Schedule::new(stages, einv_workload::Arrivals::Poisson, 0);
    let expected = poisson.map_or(0.0, |s| s.expected_count());
    format!(
        "the schedule holds no arrival{note}: its rates over {} come to {expected:.2} requests, so nothing \
         would be sent; raise the rate or the duration",
        humantime::format_duration(load.duration())
    )
}
