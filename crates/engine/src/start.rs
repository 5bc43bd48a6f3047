//! `run --start-at`: shards on many hosts start the one schedule at the same wall-clock
//! instant. A process that comes up after it joins the schedule where it is then rather
//! than refusing: the other shards are already loading the target, and a shard that
//! sends the rest of its share keeps the merged run as close to the plan as it can be.
//! Its arrivals already overdue are missed (walked, not sent), and the report says how
//! late it was and how many it missed.

use std::time::{Duration, Instant, SystemTime};

use einv_report::SyncStart;
use einv_timer::Sleeper;
use tokio::sync::watch;

use crate::error::Error;

/// The last stretch before the instant is slept on the precise timer; tokio's own wheel
/// rounds to the millisecond.
const PRECISE: Duration = Duration::from_millis(20);
/// Longer waits re-read the wall clock at least this often: the monotonic clock a sleep
/// uses and the wall clock the shards share may drift apart (NTP slews one, not the other).
const RECHECK: Duration = Duration::from_millis(500);

/// Refuse an instant whose schedule of `length` is over already: the process would only
/// miss it all.
pub(crate) fn check(at: SystemTime, length: Duration) -> Result<(), Error> {
    let over = SystemTime::now().duration_since(at + length);
    match over {
        Ok(ago) => Err(Error::Flag {
            flag: "--start-at",
            message: format!(
                "{} is too long ago: its schedule ({}) ended {} ago",
                humantime::format_rfc3339_millis(at),
                humantime::format_duration(length),
                humantime::format_duration(Duration::from_secs(ago.as_secs()))
            ),
        }),
        Err(_) => Ok(()),
    }
}

/// Wait until the wall clock reads `at` (or a stop), then return the schedule's time zero
/// on the monotonic clock, and how late this process is: `at` itself, in the past by the
/// lateness when it came up after it.
pub(crate) async fn wait(at: SystemTime, stop: &mut watch::Receiver<bool>) -> (Instant, Duration) {
    let mut sleeper = Sleeper::new();
    while let Ok(left) = at.duration_since(SystemTime::now()) {
        if left <= PRECISE {
            sleeper.sleep_until(Instant::now() + left).await;
            break;
        }
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            _ = tokio::time::sleep((left - PRECISE).min(RECHECK)) => {}
        }
    }
    // Read together, so that the zero is the instant itself as this host's clock has it.
    let (now, wall) = (Instant::now(), SystemTime::now());
    let late = wall.duration_since(at).unwrap_or_default();
    (now.checked_sub(late).unwrap_or(now), late)
}

/// Where a process `late` joins the schedule: arrivals intended more than `grace` (the
/// send lag the run warns about) before it are missed; later ones are sent, late, as any
/// arrival the generator could not send on time, their lag counted in their latency.
pub(crate) fn join(late: Duration, grace: Duration) -> Duration {
    late.saturating_sub(grace)
}

/// The summary's record of the start, and a warning when the process was late enough to
/// miss arrivals.
pub(crate) fn record(at: SystemTime, late: Duration, missed: u64) -> (SyncStart, Option<String>) {
    let late_ms = late.as_secs_f64() * 1e3;
    let start = SyncStart { at: humantime::format_rfc3339_micros(at).to_string(), late_ms, missed, spread_ms: None };
    let warning = (missed > 0).then(|| {
        format!(
            "started {:.3} s after --start-at: joined the schedule there; the {missed} arrivals before it were \
             missed (not sent, counted as unsent, not as errors)",
            late.as_secs_f64()
        )
    });
    (start, warning)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_whose_schedule_is_over_is_refused() {
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        let e = check(hour_ago, Duration::from_secs(60)).unwrap_err();
        assert!(e.to_string().starts_with("--start-at: ") && e.to_string().contains("ended 59m"), "{e}");
        assert_eq!(e.verdict(), crate::Verdict::BadInput);
        check(hour_ago, Duration::from_secs(7200)).unwrap();
        check(SystemTime::now() + Duration::from_secs(5), Duration::from_secs(1)).unwrap();
    }

    /// A start in the future is waited for, never left early; one in the past returns at
    /// once with its lateness and a zero that far back.
    #[tokio::test]
    async fn the_wait_ends_at_the_instant_and_a_late_process_knows_how_late() {
        let (_tx, mut stop) = watch::channel(false);
        let at = SystemTime::now() + Duration::from_millis(60);
        let (_, late) = wait(at, &mut stop).await;
        assert!(SystemTime::now() >= at);
        assert!(late < Duration::from_secs(5), "{late:?}");
        let before = Instant::now();
        let (zero, late) = wait(SystemTime::now() - Duration::from_millis(1500), &mut stop).await;
        assert!(late >= Duration::from_millis(1500), "{late:?}");
        assert!(zero + late >= before && zero < before);
        assert_eq!(join(late, Duration::from_millis(10)), late - Duration::from_millis(10));
        assert_eq!(join(Duration::from_millis(3), Duration::from_millis(10)), Duration::ZERO);
    }
}
