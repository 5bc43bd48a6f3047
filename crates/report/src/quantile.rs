//! A latency percentile: the one place that reads one from a profile key (`p95`,
//! `"p99.9"`, the older `p999`) or a number (`99.9`), and names it for people (`p99.9`)
//! and for summary.json (`p999`).

use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

/// Decimals of a percent a quantile keeps: p99.999999 is the finest.
const DECIMALS: usize = 6;
/// One percent in the stored unit (millionths of a percent).
const SCALE: u32 = 1_000_000;

/// A percentile strictly between 0 and 100, exact to 6 decimals of a percent (p99.999999).
/// Ordered by value, so limits and tables list p50 before p99.9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantile(u32);

impl Quantile {
    pub const P50: Quantile = Quantile(50 * SCALE);
    pub const P90: Quantile = Quantile(90 * SCALE);
    pub const P99: Quantile = Quantile(99 * SCALE);
    pub const P999: Quantile = Quantile(99 * SCALE + 9 * SCALE / 10);
    /// The percentiles every summary holds (summary.json's schema has always had them),
    /// and the list the reports show unless `[report] percentiles` says otherwise.
    pub const DEFAULT: [Quantile; 4] = [Quantile::P50, Quantile::P90, Quantile::P99, Quantile::P999];

    /// A percent written as a number: `95`, `99.9`, `05`.
    pub fn parse(text: &str) -> Result<Quantile, String> {
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(int) || (text.contains('.') && !digits(frac)) {
            return Err(format!("{text:?} is not a number of percent such as 95 or 99.9"));
        }
        if frac.len() > DECIMALS {
            return Err(format!("{text} has more than {DECIMALS} decimals"));
        }
        let int: u64 = int.trim_start_matches('0').parse().unwrap_or(0);
        let frac: u64 = format!("{frac:0<DECIMALS$}").parse().unwrap_or(0);
        let value = int.saturating_mul(u64::from(SCALE)).saturating_add(frac);
        Quantile::checked(value, text)
    }

    /// A profile key: `p` and a percent (`p95`, `p99.9`). A dotless run of three or more
    /// nines is read as summary.json writes it: `p999` is p99.9, `p9999` p99.99.
    pub fn parse_key(key: &str) -> Result<Quantile, String> {
        let Some(number) = key.strip_prefix('p') else {
            return Err(format!("`{key}` is not a percentile: write p and a percent, e.g. p95 or \"p99.9\""));
        };
        if number.len() >= 3 && number.bytes().all(|b| b == b'9') {
            return Quantile::parse(&format!("99.{}", &number[2..]));
        }
        Quantile::parse(number).map_err(|why| match number.ends_with('.') {
            true => format!("`{key}` ends with its decimal point: write e.g. \"{key}9\" or {}", &key[..key.len() - 1]),
            false if why.contains("not a number") => {
                format!("`{key}` is not a percentile: write p and a percent, e.g. p95 or \"p99.9\"")
            }
            false => format!("`{key}`: {why}"),
        })
    }

    /// A percent as a number read from a profile or summary.json (`99.9`).
    pub fn from_percent(p: f64) -> Result<Quantile, String> {
        let scaled = (p * f64::from(SCALE)).round();
        if !p.is_finite() || (scaled - p * f64::from(SCALE)).abs() > 1e-6 * p.max(1.0) {
            return Err(format!("{p} is not a percent with at most {DECIMALS} decimals"));
        }
        Quantile::checked(scaled.clamp(0.0, f64::from(u32::MAX)) as u64, &p.to_string())
    }

    fn checked(value: u64, text: &str) -> Result<Quantile, String> {
        match value {
            0 => Err(format!("percentile {text} must be above 0 (the fastest request is no tail)")),
            v if v >= 100 * u64::from(SCALE) => {
                Err(format!("percentile {text} must be below 100 (the slowest request is `max`)"))
            }
            v => Ok(Quantile(v as u32)),
        }
    }

    /// The quantile as a share, 0..1: what a histogram is asked for (0.999 for p99.9).
    pub fn fraction(self) -> f64 {
        f64::from(self.0) / f64::from(100 * SCALE)
    }

    /// The percent as a number: 99.9.
    pub fn percent(self) -> f64 {
        f64::from(self.0) / f64::from(SCALE)
    }

    /// Its name for people and in check names: "p99.9".
    pub fn label(self) -> String {
        format!("p{self}")
    }

    /// Its key in summary.json's latency figures: the label, except that a percentile of
    /// nines drops its point ("p999", "p9999"), as the schema has always named p99.9.
    pub fn key(self) -> String {
        let digits: String = self.to_string().chars().filter(|c| *c != '.').collect();
        match digits.len() >= 3 && digits.bytes().all(|b| b == b'9') {
            true => format!("p{digits}"),
            false => self.label(),
        }
    }
}

/// The percent, without trailing zeros: "50", "99.9", "0.5".
impl fmt::Display for Quantile {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let (int, frac) = (self.0 / SCALE, self.0 % SCALE);
        match frac {
            0 => write!(f, "{int}"),
            _ => write!(f, "{int}.{}", format!("{frac:0DECIMALS$}").trim_end_matches('0')),
        }
    }
}

/// As a number of percent (`99.9`), the way `[report] percentiles` writes it.
impl Serialize for Quantile {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 % SCALE {
            0 => s.serialize_u32(self.0 / SCALE),
            _ => s.serialize_f64(self.percent()),
        }
    }
}

impl<'de> Deserialize<'de> for Quantile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Quantile::from_percent(f64::deserialize(d)?).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Result<String, String> {
        Quantile::parse_key(k).map(Quantile::label)
    }

    #[test]
    fn keys_read_as_the_percent_written() {
        for (k, label) in [
            ("p50", "p50"),
            ("p95", "p95"),
            ("p75", "p75"),
            ("p99.9", "p99.9"),
            ("p99.99", "p99.99"),
            ("p99.990", "p99.99"),
            ("p05", "p5"),
            ("p0.5", "p0.5"),
            ("p99.999999", "p99.999999"),
            ("p999", "p99.9"),
            ("p9999", "p99.99"),
        ] {
            assert_eq!(key(k).as_deref(), Ok(label), "{k}");
        }
        let q = Quantile::parse_key("p99.9").unwrap();
        assert_eq!((q, q.fraction(), q.key()), (Quantile::P999, 0.999, "p999".to_string()));
        assert_eq!(Quantile::parse_key("p99.99").unwrap().key(), "p9999");
        assert_eq!(Quantile::parse_key("p95").unwrap().key(), "p95");
        assert_eq!(Quantile::parse_key("p99.5").unwrap().key(), "p99.5");
        assert_eq!(Quantile::parse_key("p9").unwrap().key(), "p9");
    }

    #[test]
    fn bad_keys_say_what_is_wrong() {
        let err = |k: &str| key(k).unwrap_err();
        assert!(err("p100").contains("must be below 100"), "{}", err("p100"));
        assert!(err("p100.0").contains("must be below 100"));
        assert!(err("p0").contains("must be above 0"), "{}", err("p0"));
        assert!(err("p0.000").contains("must be above 0"));
        assert!(err("pabc").starts_with("`pabc` is not a percentile"), "{}", err("pabc"));
        assert!(err("p").contains("is not a percentile"));
        assert!(err("p-5").contains("is not a percentile"));
        assert!(err("p99.").contains("ends with its decimal point"), "{}", err("p99."));
        assert!(err("p.5").contains("is not a percentile"));
        assert!(err("p99.9.9").contains("is not a percentile"));
        assert!(err("p99.9999999").contains("more than 6 decimals"), "{}", err("p99.9999999"));
        assert!(err("p995").contains("must be below 100"), "a dotless key is a whole percent");
        assert!(err("x99").contains("write p and a percent"));
    }

    #[test]
    fn percents_read_as_numbers() {
        let q = |p: f64| Quantile::from_percent(p).map(Quantile::label);
        assert_eq!(q(99.9).as_deref(), Ok("p99.9"));
        assert_eq!(q(99.99).as_deref(), Ok("p99.99"));
        assert_eq!(q(50.0).as_deref(), Ok("p50"));
        assert!(q(100.0).unwrap_err().contains("below 100"));
        assert!(q(0.0).unwrap_err().contains("above 0"));
        assert!(q(-3.0).unwrap_err().contains("above 0"));
        assert!(q(f64::NAN).is_err());
        assert!(q(99.12345678).unwrap_err().contains("decimals"));
        assert_eq!(Quantile::from_percent(99.9).unwrap(), Quantile::P999);
        let json = serde_json::to_string(&[Quantile::P50, Quantile::parse("99.99").unwrap()]).unwrap();
        assert_eq!(json, "[50,99.99]");
        assert_eq!(serde_json::from_str::<Vec<Quantile>>(&json).unwrap()[1].label(), "p99.99");
    }

    #[test]
    fn quantiles_order_by_value() {
        let mut qs: Vec<Quantile> = ["99.9", "5", "99", "99.99", "50"].map(|s| Quantile::parse(s).unwrap()).into();
        qs.sort();
        assert_eq!(qs.iter().map(|q| q.to_string()).collect::<Vec<_>>(), ["5", "50", "99", "99.9", "99.99"]);
        assert_eq!(Quantile::DEFAULT.map(Quantile::fraction), [0.5, 0.9, 0.99, 0.999]);
    }
}
