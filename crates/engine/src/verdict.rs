//! How a command ended, as its exit code says it (README, "Exit codes"): 0 pass, 1 an SLO
//! failed or a regression, 2 bad input, 3 the run could not be carried out, 4 `compare`
//! was inconclusive. Every command
//! comes to its exit code here, so the rules are written once.

use einv_report::{Comparison, Conclusion, Summary};

/// A command's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Exit 0: done, and every check passed.
    Pass,
    /// Exit 1: an SLO failed (also when abort-on-fail stopped the run), or `compare`
    /// found a regression.
    Failed,
    /// Exit 2: the profile, a flag, a path or an input folder is wrong; nothing was written.
    BadInput,
    /// Exit 3: the run could not be carried out; why, when a finished report says so.
    NotCarriedOut(Option<Shortfall>),
    /// Exit 4: `compare` could not judge: a run's load generator was starved.
    Inconclusive,
}

/// Why a finished report is not a verdict on the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shortfall {
    /// These data files of the report folder could not be written (a full disk): the
    /// summary printed is the run's, but the folder cannot be rendered again or merged.
    DataNotWritten(Vec<String>),
    /// Ctrl-C or SIGTERM stopped it; the report holds what was done so far.
    Interrupted,
    /// A live run sent nothing, or nothing it sent succeeded: why, in words.
    NothingMeasured(String),
}

/// What a summary is the summary of: the rules differ a little.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// A live run: interrupted, or nothing measured, is no verdict.
    Run,
    /// A simulation: interrupted is no verdict; a model that answers nothing is one.
    Simulation,
    /// Merged shards: the merged SLO decides once the data files are written.
    Merge,
}

impl Verdict {
    /// The process exit code.
    pub fn code(&self) -> u8 {
        match self {
            Verdict::Pass => 0,
            Verdict::Failed => 1,
            Verdict::BadInput => 2,
            Verdict::NotCarriedOut(_) => 3,
            Verdict::Inconclusive => 4,
        }
    }

    /// The verdict of a finished run, simulation or merge.
    pub fn of(summary: &Summary, finished: Finished) -> Verdict {
        let missing = summary.missing_data();
        if !missing.is_empty() {
            let files = missing.into_iter().map(String::from).collect();
            return Verdict::NotCarriedOut(Some(Shortfall::DataNotWritten(files)));
        }
        if summary.interrupted && finished != Finished::Merge {
            return Verdict::NotCarriedOut(Some(Shortfall::Interrupted));
        }
        // Nothing sent, or nothing succeeded: the run could not be carried out, whatever
        // the SLO says (a check with nothing to measure fails, but there may be no checks).
        if finished == Finished::Run
            && let Some(why) = einv_report::nothing_measured(&summary.overall)
        {
            let sent = summary.overall.requests.sent > 0;
            let hint = if sent { ": is the target up and the profile's paths right?" } else { "" };
            return Verdict::NotCarriedOut(Some(Shortfall::NothingMeasured(format!("{why}{hint}"))));
        }
        Verdict::slo(summary.slo.passed)
    }

    /// The verdict of a comparison: a regression fails it; a starved run leaves it open.
    pub fn of_comparison(c: &Comparison) -> Verdict {
        match c.verdict {
            Conclusion::Regression => Verdict::Failed,
            Conclusion::NoRegression => Verdict::Pass,
            Conclusion::Inconclusive => Verdict::Inconclusive,
        }
    }

    fn slo(passed: bool) -> Verdict {
        if passed { Verdict::Pass } else { Verdict::Failed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    /// The README's example report: a simulation whose SLO fails on purpose.
    fn example() -> Summary {
        serde_json::from_str(include_str!("../../../reports/example/summary.json")).unwrap()
    }

    #[test]
    fn a_finished_report_is_judged_by_its_slo() {
        let mut s = example();
        assert_eq!(Verdict::of(&s, Finished::Simulation).code(), 1);
        s.slo.passed = true;
        assert_eq!(Verdict::of(&s, Finished::Run), Verdict::Pass);
    }

    #[test]
    fn an_incomplete_report_is_no_verdict_on_the_target() {
        let mut s = example();
        s.interrupted = true;
        for finished in [Finished::Run, Finished::Simulation] {
            assert_eq!(Verdict::of(&s, finished), Verdict::NotCarriedOut(Some(Shortfall::Interrupted)));
        }
        assert_eq!(Verdict::of(&s, Finished::Merge), Verdict::Failed, "merge judges the shards it has");
        s.not_written.push(einv_report::NotWritten { file: "histograms.hlog".into(), error: "disk full".into() });
        let missing = Shortfall::DataNotWritten(vec!["histograms.hlog".into()]);
        assert_eq!(Verdict::of(&s, Finished::Merge), Verdict::NotCarriedOut(Some(missing)));
    }

    #[test]
    fn a_live_run_that_measured_nothing_could_not_be_carried_out() {
        let mut s = example();
        s.overall.requests.ok = 0;
        let Verdict::NotCarriedOut(Some(Shortfall::NothingMeasured(why))) = Verdict::of(&s, Finished::Run) else {
            panic!("{:?}", Verdict::of(&s, Finished::Run))
        };
        assert!(why.starts_with("no request succeeded") && why.ends_with("paths right?"), "{why}");
        assert_eq!(Verdict::of(&s, Finished::Simulation), Verdict::Failed, "a model may answer nothing");
    }

    #[test]
    fn a_comparison_exits_0_1_or_4_as_its_verdict_says() {
        let json = serde_json::json!({
            "schema_version": 1, "regression": false, "regressions": [], "max_regression": 0.1,
            "baseline": {"folder": "a", "name": "n", "started_at": "", "seed": 1, "duration_s": 1.0, "target_per_s": 1.0},
            "current": {"folder": "b", "name": "n", "started_at": "", "seed": 1, "duration_s": 1.0, "target_per_s": 1.0},
            "notes": [], "scopes": []
        });
        let mut c: Comparison = serde_json::from_value(json).unwrap();
        assert_eq!(Verdict::of_comparison(&c).code(), 0, "a first compare.json (no verdict) reads as no regression");
        for (verdict, code) in
            [(Conclusion::Regression, 1), (Conclusion::Inconclusive, 4), (Conclusion::NoRegression, 0)]
        {
            c.verdict = verdict;
            assert_eq!(Verdict::of_comparison(&c).code(), code, "{verdict:?}");
        }
    }

    #[test]
    fn errors_say_whose_fault_they_are() {
        let io = || std::io::Error::other("x");
        let bad = [
            Error::Flag { flag: "--rate", message: "x".into() },
            Error::Folder { path: "r".into(), message: "x".into() },
        ];
        let not_carried_out = [
            Error::Resolve { authority: "h:80".into(), message: "x".into() },
            Error::Tls("x".into()),
            Error::Driver("panicked".into()),
            Error::Runtime(io()),
            Error::Certificate(einv_report::Error::Io { path: "c.pem".into(), source: io() }),
        ];
        assert!(bad.iter().all(|e| e.verdict().code() == 2));
        assert!(not_carried_out.iter().all(|e| e.verdict().code() == 3), "{not_carried_out:?}");
    }
}
