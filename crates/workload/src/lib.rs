//! Pure, deterministic description of *what* an einv-load run sends and *when*.
//!
//! - [`Schedule`]: an arrival process over piecewise-linear rate [`Stage`]s (constant, ramp,
//!   steps, spike), with uniform or Poisson inter-arrivals, yielding [`Arrival`]s whose
//!   `at` offsets never decrease.
//! - [`Mix`]: a weighted choice of operation per arrival, derived from the seed and the
//!   arrival's global index alone, so shard `i` of `n` picks exactly the ops the one big run
//!   would have picked.
//!
//! No clocks, no sockets: time is an offset from run start, randomness comes from the seed.
//!
//! ```
//! use std::time::Duration;
//! use einv_workload::{Arrivals, Schedule, Stage};
//!
//! let stages = [Stage::constant(100.0, Duration::from_secs(2))];
//! let schedule = Schedule::new(&stages, Arrivals::Uniform, 7).unwrap();
//! assert_eq!(schedule.count(), 200);
//! ```

mod captures;
mod escape;
pub mod feeder;
#[doc(hidden)]
pub mod fuzzing;
pub mod invoice;
mod lines;
mod mix;
pub mod requests;
mod schedule;
mod seed;
pub mod template;
pub mod trace;

pub use captures::Captures;
pub use escape::Format;
pub use mix::Mix;
pub use schedule::{Arrival, Arrivals, MAX_DURATION, MAX_RATE, MAX_STEPS, Schedule, Stage, check_duration, check_rate};
pub use seed::derive_seed;

/// Everything that can be wrong with a workload description.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    #[error("the schedule has no arrivals: every stage has rate 0 or zero length")]
    EmptySchedule,
    #[error("stage {index}: {reason}")]
    BadStage { index: usize, reason: String },
    #[error("the mix is empty or all its weights are 0")]
    EmptyMix,
    /// A problem in a data file (feeder CSV or trace), located by file and line.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Data { path: std::path::PathBuf, line: Option<u64>, message: String },
    /// An invoice generator setting that cannot work.
    #[error("invoice generator: {0}")]
    Invoice(String),
}
