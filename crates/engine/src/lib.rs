//! The einv-load engine: loads profiles into validated [`Plan`]s and carries them out
//! against a live target ([`run()`]), predicts them with the model ([`simulate()`]),
//! searches the highest rate that meets the SLO ([`capacity()`]), fits a model from a run
//! against a real service ([`calibrate()`]), or serves the built-in target ([`serve()`]).
//! It is the only crate that knows all the others: `einv-workload` says what and when,
//! `einv-poolsim` is the built-in target, `einv-report` records and renders.
//! Every outcome, a finished report or an [`Error`], comes to one [`Verdict`], whose
//! code is the exit code.
//!
//! ```no_run
//! use std::path::Path;
//! use einv_engine::{Plan, RunOptions, run};
//! use einv_report::Quantile;
//!
//! let plan = Plan::load(Path::new("profiles/smoke.toml")).unwrap();
//! let result = run(&plan, &RunOptions::default()).unwrap();
//! println!("p99 {} ms", result.summary.overall.latency_ms.ms(Quantile::P99));
//! ```

mod calibrate;
mod capacity;
mod combine;
pub mod driver;
mod error;
mod folder;
#[doc(hidden)]
pub mod fuzzing;
mod generate;
mod init;
mod k8s;
mod model_run;
mod profile;
mod progress;
mod rerender;
mod run;
mod serve;
mod signals;
mod simulate;
mod start;
mod stream;
mod sweep;
mod verdict;
mod workload;

pub use calibrate::{CalibrateOptions, Calibrated, Replayed, calibrate};
pub use capacity::{CapacityOptions, CapacityResult, capacity};
pub use combine::{CompareResult, compare, merge};
pub use error::{Error, ProfileError, ProfileErrors};
pub use generate::{Generated, generate};
pub use init::{EnvVar, InitOptions, InitSource, Initialized, init};
pub use k8s::{K8sOptions, Manifests, manifests, write_manifests};
pub use profile::{Bodies, CONNECTIONS_PER_PROCESS, Endpoint, Load, Overrides, Plan, RATE_PER_CORE, Shard, Shards};
pub use rerender::{Rerendered, rerender};
pub use run::{RunOptions, RunResult, run};
pub use serve::{ModelOverrides, serve, serve_model, serve_tls};
pub use simulate::simulate;
pub use sweep::{SweepResult, sweep};
pub use verdict::{Finished, Shortfall, Verdict};
