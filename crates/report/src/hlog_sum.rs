//! Summing an interval log per tag, fast: a whole run's totals from histograms.hlog.
//!
//! The hdrhistogram crate decodes each interval into a full-size histogram (~190 kB of
//! counters for 1 µs..1 h at 3 digits) and adding it up walks every counter again; an
//! hour-long log holds tens of thousands of intervals, which took seconds. Our own
//! histograms all have one configuration (1 µs, 3 digits; auto-sized up to an hour, and
//! a counter's index does not depend on the size), so their V2 encoding (zig-zag LEB128
//! counts, negative = a run of empty counters) is decoded straight into the sum, touching
//! only non-empty counters. Anything else falls back to the crate's deserializer.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{IntervalLogHistogram, LogEntry};

use crate::Error;
use crate::histograms::{HIGHEST_US, SIGFIG, new_histogram};
use crate::hlog_read::{Decoder, LogReader, V2_HEADER, be_u32};

/// log2 of half the sub-bucket count of a 3-digit histogram (2048 sub-buckets).
const HALF_MAGNITUDE: u32 = 10;

/// Per tag (`None` = untagged), the sum of every interval of the log at `path`.
pub(crate) fn sum_hlog(path: &Path) -> Result<BTreeMap<Option<String>, Histogram<u64>>, Error> {
    sum_hlog_by(path, |tag, _| Some(tag.map(str::to_string)))
}

/// The intervals of the log at `path` summed by `key(tag, interval start)`; an interval
/// whose key is `None` is skipped without being decoded. `compare` sums a tag's
/// intervals into batches of consecutive time this way.
pub(crate) fn sum_hlog_by<K: Ord>(
    path: &Path,
    mut key: impl FnMut(Option<&str>, Duration) -> Option<K>,
) -> Result<BTreeMap<K, Histogram<u64>>, Error> {
    let mut sums: BTreeMap<K, Histogram<u64>> = BTreeMap::new();
    let mut log = LogReader::open(path)?;
    let mut decoder = Decoder::default();
    while log.advance()? {
        let Some(LogEntry::Interval(ilh)) = log.entry()? else { continue };
        let Some(k) = key(ilh.tag().map(|t| t.as_str()), ilh.start_timestamp()) else { continue };
        add_interval(&log, &mut decoder, &ilh, sums.entry(k).or_insert_with(new_histogram))?;
    }
    Ok(sums)
}

/// Like [`sum_hlog_by`] for keys that come in runs of time: `key(tag, start)` gives a slot
/// and a window number; a slot's sum goes to `done(slot, window, sum)` when its window
/// changes and at the end. The log is written in time order, so this holds one histogram
/// per slot however long the run (per-op timelines of an hour-long run).
pub(crate) fn sum_hlog_windows<S: Ord + Clone>(
    path: &Path,
    mut key: impl FnMut(Option<&str>, Duration) -> Option<(S, u64)>,
    mut done: impl FnMut(&S, u64, &Histogram<u64>),
) -> Result<(), Error> {
    let mut open: BTreeMap<S, (u64, Histogram<u64>)> = BTreeMap::new();
    let mut log = LogReader::open(path)?;
    let mut decoder = Decoder::default();
    while log.advance()? {
        let Some(LogEntry::Interval(ilh)) = log.entry()? else { continue };
        let Some((slot, window)) = key(ilh.tag().map(|t| t.as_str()), ilh.start_timestamp()) else { continue };
        let (at, sum) = open.entry(slot.clone()).or_insert_with(|| (window, new_histogram()));
        if *at != window {
            done(&slot, *at, sum);
            sum.reset();
            *at = window;
        }
        add_interval(&log, &mut decoder, &ilh, sum)?;
    }
    for (slot, (window, sum)) in &open {
        done(slot, *window, sum);
    }
    Ok(())
}

/// Add one interval of the log into `sum`: straight from its encoding when it is in our
/// own configuration, through the crate's deserializer otherwise.
fn add_interval(
    log: &LogReader,
    decoder: &mut Decoder,
    ilh: &IntervalLogHistogram<'_>,
    sum: &mut Histogram<u64>,
) -> Result<(), Error> {
    let v2 = decoder.expand(ilh).map_err(|m| log.bad(m))?;
    if !add_v2(v2, sum).map_err(|m| log.bad(m))? {
        let h = decoder.histogram(ilh).map_err(|m| log.bad(m))?;
        if !crate::histograms::in_range(&h) {
            return Err(log.bad(crate::histograms::out_of_range(h.max())));
        }
        sum.add(&h).map_err(|e| log.bad(format!("{e:?}")))?;
    }
    Ok(())
}

fn be_u64(b: &[u8]) -> u64 {
    let mut a = [0; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_be_bytes(a)
}

/// Add one uncompressed V2 histogram (its header checked by [`Decoder::expand`]) into
/// `sum`; `Ok(false)` when it is not in our own configuration (the caller then decodes it
/// the slow way).
fn add_v2(v2: &[u8], sum: &mut Histogram<u64>) -> Result<bool, String> {
    let payload_len = be_u32(&v2[4..]) as usize;
    let ours = be_u32(&v2[8..]) == 0
        && be_u32(&v2[12..]) == u32::from(SIGFIG)
        && be_u64(&v2[16..]) == 1
        && be_u64(&v2[24..]) >= 2
        && f64::from_bits(be_u64(&v2[32..])) == 1.0;
    if !ours {
        return Ok(false);
    }
    let payload = &v2[V2_HEADER..V2_HEADER + payload_len];
    let (mut pos, mut index) = (0, 0usize);
    while pos < payload.len() {
        let (zz, used) = varint(&payload[pos..]).ok_or("truncated histogram counts")?;
        pos += used;
        let n = ((zz >> 1) as i64) ^ -((zz & 1) as i64);
        if n < 0 {
            index = index.saturating_add(n.unsigned_abs() as usize);
        } else {
            if n > 0 {
                let value = value_at(index);
                if value > HIGHEST_US {
                    return Err(crate::histograms::out_of_range(value));
                }
                sum.record_n(value, n as u64).map_err(|e| format!("histogram count out of range: {e:?}"))?;
            }
            index += 1;
        }
    }
    Ok(true)
}

/// HdrHistogram's LEB128 variant: up to 8 bytes of 7 bits, a ninth byte of 8 bits.
fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for i in 0..9 {
        let byte = *b.get(i)?;
        if i == 8 {
            return Some((value | (u64::from(byte) << 56), 9));
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// The lowest value counted at `index` of a histogram with lowest value 1 and 2,048
/// sub-buckets: the first 2,048 indexes are the values themselves, then each bucket of
/// 1,024 doubles the step.
fn value_at(index: usize) -> u64 {
    let bucket = (index >> HALF_MAGNITUDE) as i64 - 1;
    let sub = (index & ((1 << HALF_MAGNITUDE) - 1)) as u64 + (1 << HALF_MAGNITUDE);
    if bucket < 0 { sub - (1 << HALF_MAGNITUDE) } else { sub << bucket }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::hlog::{HlogWriter, read_hlog};

    #[test]
    fn sums_equal_the_crates_own_decoding_added_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("histograms.hlog");
        let mut w = HlogWriter::create(&path, SystemTime::now(), "test").unwrap();
        let sec = Duration::from_secs(1);
        for i in 0..20u64 {
            let mut h = new_histogram();
            // From 1 µs to past the top (saturating at one hour), sparse and dense.
            for v in (1..5000u64).map(|v| v * v * (i + 1) % 4_000_000_000 + 1) {
                h.saturating_record(v);
            }
            h.record_n(7, 1_000_000).unwrap();
            w.write(&h, sec * i as u32, sec, if i % 2 == 0 { None } else { Some("issue:latency") }).unwrap();
        }
        w.write(&new_histogram(), sec * 20, sec, Some("query:latency")).unwrap();
        w.finish().unwrap();
        let mut expected: BTreeMap<Option<String>, Histogram<u64>> = BTreeMap::new();
        for e in read_hlog(&path).unwrap() {
            expected.entry(e.tag).or_insert_with(new_histogram).add(&e.histogram).unwrap();
        }
        let sums = sum_hlog(&path).unwrap();
        assert_eq!(sums.len(), 3);
        for (tag, h) in &expected {
            let got = &sums[tag];
            assert_eq!(got, h, "{tag:?}");
            assert_eq!(got.len(), h.len());
            assert_eq!(got.max(), h.max());
            assert_eq!(got.value_at_quantile(0.999), h.value_at_quantile(0.999));
        }
    }

    #[test]
    fn our_own_histograms_take_the_fast_path() {
        use hdrhistogram::serialization::{Serializer, V2Serializer};
        let mut h = new_histogram();
        for v in [1u64, 5, 2048, 2049, 70_000, 123_456_789, HIGHEST_US] {
            h.record_n(v, v % 7 + 1).unwrap();
        }
        let mut v2 = Vec::new();
        V2Serializer::new().serialize(&h, &mut v2).unwrap();
        let mut sum = new_histogram();
        assert_eq!(add_v2(&v2, &mut sum), Ok(true));
        assert_eq!(sum, h);
        // Counts past the hour (a log from elsewhere) are refused, not grown into.
        let mut far = Histogram::<u64>::new_with_bounds(1, 4 * HIGHEST_US, SIGFIG).unwrap();
        far.record(3 * HIGHEST_US).unwrap();
        let mut v2 = Vec::new();
        V2Serializer::new().serialize(&far, &mut v2).unwrap();
        assert!(add_v2(&v2, &mut sum).is_err_and(|e| e.contains("past einv-load's range")));
        // A histogram of another shape is left to the crate's deserializer.
        let other = Histogram::<u64>::new_with_bounds(1, 1000, 2).unwrap();
        let mut v2 = Vec::new();
        V2Serializer::new().serialize(&other, &mut v2).unwrap();
        assert_eq!(add_v2(&v2, &mut sum), Ok(false));
    }

    #[test]
    fn each_index_is_the_start_of_the_next_bucket() {
        let h = new_histogram();
        let mut i = 1;
        while value_at(i + 1) < HIGHEST_US {
            let v = value_at(i);
            assert_eq!(h.lowest_equivalent(v), v, "index {i}");
            assert_eq!(h.next_non_equivalent(v), value_at(i + 1), "index {i}");
            i += 1;
        }
        assert!(i > 20_000, "covers the whole range: {i} indexes");
    }
}
