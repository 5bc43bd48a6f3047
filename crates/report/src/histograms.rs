//! An op's six histograms, one per [`Timing`], as one set: what the recorder's [`Stats`]
//! hold, what histograms.hlog logs per op (`<op>:<timing>`), and what a report folder
//! gives back per op and overall.
//!
//! [`Stats`]: crate::Stats

use std::ops::{Index, IndexMut};

use hdrhistogram::Histogram;

/// Histograms hold microseconds from 1 µs to one hour at 3 significant digits; larger
/// values saturate at the top rather than being dropped.
pub(crate) const HIGHEST_US: u64 = 3_600_000_000;
pub(crate) const SIGFIG: u8 = 3;

/// A latency histogram in microseconds, auto-sized: its counters reach only as far as the
/// largest value recorded into it so far (its range is still 1 µs to one hour, through
/// [`record_us`]). The whole hour is ~180 KB of counters; answers under 100 ms
/// need ~64 KB, send lags under 2 ms 16 KB, an empty one 16 KB, and the recorder holds
/// six per op and thread. Counter indexes do not depend on the size, so histograms of
/// any size add up exactly and encode alike (see `hlog_sum`).
pub fn new_histogram() -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, 2, SIGFIG).expect("constant histogram bounds are valid");
    h.auto(true);
    h
}

/// Record `us` into `h`, a value past one hour as one hour (an auto-sized histogram would
/// otherwise grow to hold it).
pub fn record_us(h: &mut Histogram<u64>, us: u64) {
    // Cannot fail: the value is in range and the histogram grows to it.
    let _ = h.record(us.min(HIGHEST_US));
}

/// Whether `h` holds values einv-load's histograms can (a log or folder from elsewhere may
/// not): adding it then keeps the sum in range.
pub(crate) fn in_range(h: &Histogram<u64>) -> bool {
    // max() is the top of the largest value's bucket; the hour's own bucket reaches past it.
    h.is_empty() || h.lowest_equivalent(h.max()) <= HIGHEST_US
}

/// What a reader says of a histogram holding `us` µs, past [`in_range`].
pub(crate) fn out_of_range(us: u64) -> String {
    format!("a histogram holds {us} µs, past einv-load's range of one hour")
}

/// Whether `a` and `b` hold the same counts, whatever size each has grown to (the
/// crate's `==` also compares how far the counters reach).
pub(crate) fn same_counts(a: &Histogram<u64>, b: &Histogram<u64>) -> bool {
    let counts =
        |h: &Histogram<u64>| h.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect::<Vec<_>>();
    a.len() == b.len() && (a.is_empty() || counts(a) == counts(b))
}

/// What one of an op's histograms times. The order is histograms.hlog's: an op's
/// histograms of an interval are logged in it, so it is part of the file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Timing {
    /// From intended send time to the response's end (coordinated-omission corrected).
    Latency,
    /// From actual send to the response's end.
    Service,
    /// Actual minus intended send time.
    SendLag,
    /// TCP connect, of the requests that opened a connection (empty when simulated).
    Connect,
    /// Request handed over to response head.
    Ttfb,
    /// TLS handshake, of the requests that opened a TLS connection.
    Tls,
}

impl Timing {
    pub const ALL: [Timing; 6] =
        [Timing::Latency, Timing::Service, Timing::SendLag, Timing::Connect, Timing::Ttfb, Timing::Tls];
    pub const COUNT: usize = Self::ALL.len();

    /// Its name in histograms.hlog's tags (`issue:send_lag`).
    pub fn name(self) -> &'static str {
        match self {
            Timing::Latency => "latency",
            Timing::Service => "service",
            Timing::SendLag => "send_lag",
            Timing::Connect => "connect",
            Timing::Ttfb => "ttfb",
            Timing::Tls => "tls",
        }
    }

    /// The timing named `name` by [`Timing::name`].
    pub fn from_name(name: &str) -> Option<Timing> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// A phase (connect, time to first byte, TLS) happens to some requests only: it is
    /// logged only in intervals that had any (keep-alive runs rarely connect), where every
    /// other timing is logged in each interval an op ran in.
    pub fn is_phase(self) -> bool {
        matches!(self, Timing::Connect | Timing::Ttfb | Timing::Tls)
    }
}

/// One histogram per [`Timing`] (microseconds), all of [`new_histogram`]'s range.
#[derive(Debug, Clone)]
pub struct Histograms([Histogram<u64>; Timing::COUNT]);

/// Equal when every timing holds the same counts, whatever size each has grown to.
impl PartialEq for Histograms {
    fn eq(&self, other: &Histograms) -> bool {
        self.0.iter().zip(&other.0).all(|(a, b)| same_counts(a, b))
    }
}

impl Default for Histograms {
    fn default() -> Self {
        Histograms(std::array::from_fn(|_| new_histogram()))
    }
}

impl Index<Timing> for Histograms {
    type Output = Histogram<u64>;

    fn index(&self, t: Timing) -> &Histogram<u64> {
        &self.0[t as usize]
    }
}

impl IndexMut<Timing> for Histograms {
    fn index_mut(&mut self, t: Timing) -> &mut Histogram<u64> {
        &mut self.0[t as usize]
    }
}

impl Histograms {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every histogram with its timing, in [`Timing::ALL`]'s order.
    pub fn iter(&self) -> impl Iterator<Item = (Timing, &Histogram<u64>)> {
        Timing::ALL.into_iter().zip(&self.0)
    }

    /// Add `other` into `self`, bucket by bucket (exact).
    pub fn merge(&mut self, other: &Histograms) {
        for (into, from) in self.0.iter_mut().zip(&other.0) {
            // add() scans every bucket of `from`: skip the empty ones (connect, mostly).
            // `into` grows to `from` (both auto-sized, in range), so add() cannot fail.
            if !from.is_empty() {
                let _ = into.add(from);
            }
        }
    }

    pub fn reset(&mut self) {
        // An empty histogram is all zeros already; writing them again would cost a pass
        // over its counters for nothing.
        for h in self.0.iter_mut().filter(|h| !h.is_empty()) {
            h.reset();
        }
    }
}

/// The largest value of a microsecond histogram in milliseconds; 0 when empty.
pub fn max_ms(h: &Histogram<u64>) -> f64 {
    if h.is_empty() { 0.0 } else { us_to_ms(h.max()) }
}

/// Milliseconds at quantile `q` of a microsecond histogram; 0 when empty.
pub fn quantile_ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        return 0.0;
    }
    us_to_ms(h.value_at_quantile(q))
}

pub fn us_to_ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timings_are_named_once_each_and_read_back() {
        for (i, t) in Timing::ALL.into_iter().enumerate() {
            assert_eq!(t as usize, i, "indexes follow the order of ALL");
            assert_eq!(Timing::from_name(t.name()), Some(t));
        }
        assert_eq!(Timing::from_name("p99"), None);
        let phases: Vec<Timing> = Timing::ALL.into_iter().filter(|t| t.is_phase()).collect();
        assert_eq!(phases, [Timing::Connect, Timing::Ttfb, Timing::Tls]);
    }

    #[test]
    fn a_set_merges_and_resets_each_timing_apart() {
        let mut a = Histograms::new();
        a[Timing::Tls].record(900).unwrap();
        let mut b = Histograms::new();
        b[Timing::Tls].record(100).unwrap();
        b[Timing::Latency].record(5).unwrap();
        a.merge(&b);
        let lens: Vec<u64> = a.iter().map(|(_, h)| h.len()).collect();
        assert_eq!(lens, [1, 0, 0, 0, 0, 2]);
        a.reset();
        assert!(a.iter().all(|(_, h)| h.is_empty()));
        assert_eq!(a, Histograms::new());
    }

    /// Histograms grow only as far as their values: a set of short answers is a fraction
    /// of the hour's counters, a value past the hour is counted at the hour, and sets
    /// grown to different sizes still add up exactly.
    #[test]
    fn histograms_grow_with_their_values_and_add_up_across_sizes() {
        let whole = Histogram::<u64>::new_with_bounds(1, HIGHEST_US, SIGFIG).unwrap();
        let mut short = new_histogram();
        record_us(&mut short, 80_000);
        assert!(short.distinct_values() * 2 < whole.distinct_values(), "{} counters", short.distinct_values());
        let mut long = new_histogram();
        record_us(&mut long, 10 * HIGHEST_US);
        assert_eq!((long.len(), long.value_at_quantile(1.0)), (1, long.highest_equivalent(HIGHEST_US)));
        assert!(long.distinct_values() <= whole.distinct_values());
        short.add(&long).unwrap();
        let mut want = whole.clone();
        want.record(80_000).unwrap();
        want.record(HIGHEST_US).unwrap();
        assert!(same_counts(&short, &want) && !same_counts(&short, &long));
        assert!(
            in_range(&short)
                && !in_range(
                    &Histogram::<u64>::new_with_bounds(1, 2 * HIGHEST_US, 3)
                        .map(|mut h| {
                            h.record(2 * HIGHEST_US - 1).unwrap();
                            h
                        })
                        .unwrap()
                )
        );
    }
}
