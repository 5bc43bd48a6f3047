//! `[slo]` and `[slo.ops.NAME]` as written. Their limit keys are open-ended (`p95`,
//! `"p99.9"`, any percentile), which serde's derive cannot read while still refusing
//! unknown keys, so the two tables are read by hand: a limit key is a [`Metric`]'s
//! ([`Metric::from_key`]), anything else is an unknown field, as the derive would say.

use std::collections::BTreeMap;
use std::fmt;

use einv_report::{Metric, Unit};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use super::raw::HumanDuration;

/// `[slo]`: the whole run's limits, and how the SLO is applied.
#[derive(Debug, Default)]
pub struct RawSlo {
    pub limits: RawSloLimits,
    /// Lowest acceptable answer of `einv-load capacity`, requests/s.
    pub min_capacity: Option<f64>,
    /// Stop the run once a check fails on the run so far (after `grace`).
    pub abort_on_fail: Option<bool>,
    pub grace: Option<HumanDuration>,
    /// `[slo.ops.NAME]`: limits for one op.
    pub ops: BTreeMap<String, RawSloLimits>,
}

/// One scope's limits, in the order written: (the key as written, its metric, the limit).
#[derive(Debug, Default)]
pub struct RawSloLimits(pub Vec<(String, Metric, RawLimit)>);

/// A limit as written: a latency as a duration, a share or rate as a number.
#[derive(Debug, Clone, Copy)]
pub enum RawLimit {
    Time(HumanDuration),
    Number(f64),
}

/// The keys of `[slo.ops.NAME]` other than percentiles (named in unknown-field errors).
const LIMIT_KEYS: &[&str] =
    &["p50", "p90", "p95", "p99", "p99.9", "max", "error-rate", "check-failure-rate", "min-rate"];
/// The keys of `[slo]`.
const SLO_KEYS: &[&str] = &[
    "p50",
    "p90",
    "p95",
    "p99",
    "p99.9",
    "max",
    "error-rate",
    "check-failure-rate",
    "min-rate",
    "min-capacity",
    "abort-on-fail",
    "grace",
    "ops",
];

impl<'de> Deserialize<'de> for RawSlo {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(Scope { top: true })
    }
}

impl<'de> Deserialize<'de> for RawSloLimits {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(d.deserialize_map(Scope { top: false })?.limits)
    }
}

/// Reads one scope: `top` is `[slo]` itself, else `[slo.ops.NAME]`.
struct Scope {
    top: bool,
}

impl<'de> Visitor<'de> for Scope {
    type Value = RawSlo;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a table of limits")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawSlo, A::Error> {
        let mut slo = RawSlo::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "min-capacity" if self.top => slo.min_capacity = Some(map.next_value()?),
                "abort-on-fail" if self.top => slo.abort_on_fail = Some(map.next_value()?),
                "grace" if self.top => slo.grace = Some(map.next_value()?),
                "ops" if self.top => slo.ops = map.next_value()?,
                _ => match Metric::from_key(&key) {
                    Ok(Some(m)) if m.unit() == Unit::Ms => {
                        slo.limits.0.extend(map.next_value_seed(Latency { key: &key, metric: m })?)
                    }
                    Ok(Some(m)) => slo.limits.0.push((key, m, RawLimit::Number(map.next_value()?))),
                    // Reported at the key (inside it, for serde_path_to_error), not at its table.
                    Err(why) => map.next_value_seed(Refuse(why))?,
                    Ok(None) => {
                        return Err(de::Error::unknown_field(&key, if self.top { SLO_KEYS } else { LIMIT_KEYS }));
                    }
                },
            }
        }
        Ok(slo)
    }
}

/// A latency limit: a duration, or (for a percentile written as a bare dotted key,
/// `p99.9 = "1s"`, which TOML reads as `p99 = { 9 = "1s" }`) a table of the decimals.
struct Latency<'k> {
    key: &'k str,
    metric: Metric,
}

impl<'de> DeserializeSeed<'de> for Latency<'_> {
    type Value = Vec<(String, Metric, RawLimit)>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Latency<'_> {
    type Value = Vec<(String, Metric, RawLimit)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(r#"a duration string such as "200ms""#)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        let d = HumanDuration::parse(s).map_err(E::custom)?;
        Ok(vec![(self.key.to_string(), self.metric, RawLimit::Time(d))])
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(decimals) = map.next_key::<String>()? {
            let key = format!("{}.{decimals}", self.key);
            match Metric::from_key(&key) {
                Ok(Some(metric)) if matches!(self.metric, Metric::Percentile(_)) => {
                    out.extend(map.next_value_seed(Latency { key: &key, metric })?)
                }
                Ok(_) => map.next_value_seed(Refuse(format!("`{key}` is not a limit")))?,
                Err(why) => map.next_value_seed(Refuse(why))?,
            }
        }
        Ok(out)
    }
}

/// Fails with its message wherever it is asked to read a value: a key's own error.
struct Refuse(String);

impl<'de> DeserializeSeed<'de> for Refuse {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, _: D) -> Result<(), D::Error> {
        Err(de::Error::custom(self.0))
    }
}
