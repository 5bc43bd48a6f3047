//! What stands in front of the pool: a token-bucket rate limit, and the slow-body fault.
//! Pure: time is an offset from the service's start, passed in, so the simulator and the
//! live target run the same arithmetic.

use std::time::Duration;

use crate::Stall;

/// A token-bucket rate limit: `rate` tokens a second, at most `burst` saved up. An arrival
/// that finds no token is refused at once (HTTP 429).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Requests per second let through in the long run.
    pub rate: f64,
    /// Tokens the bucket holds: how many requests may pass at once after a quiet spell.
    pub burst: u32,
}

/// The state of one [`RateLimit`]: starts full.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    last: Duration,
}

impl TokenBucket {
    pub fn new(limit: RateLimit) -> TokenBucket {
        TokenBucket { limit, tokens: f64::from(limit.burst), last: Duration::ZERO }
    }

    /// Take a token for a request arriving at `now`; `false` means refuse it. Times
    /// earlier than the last call count as the last call (threads race on a live clock).
    pub fn take(&mut self, now: Duration) -> bool {
        if now > self.last {
            let refill = (now - self.last).as_secs_f64() * self.limit.rate;
            self.tokens = (self.tokens + refill).min(f64::from(self.limit.burst));
            self.last = now;
        }
        // A hair of slack: a token refilled in floating point may sit at 0.999999999.
        if self.tokens >= 1.0 - 1e-9 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Windows in which response bodies trickle out at `bytes_per_s` (a congested link, a
/// proxy buffering): every `window.every`, for `window.length`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlowBody {
    pub window: Stall,
    pub bytes_per_s: u64,
}

impl SlowBody {
    /// Whether a response finished `since_start` into the service's life is slowed.
    pub fn active_at(&self, since_start: Duration) -> bool {
        !self.window.wait_at(since_start).is_zero()
    }
}

/// Parse a transfer rate such as `"10KiB/s"`, `"512B/s"` or `"1MB/s"` into bytes a second.
pub fn parse_byte_rate(s: &str) -> Result<u64, String> {
    let bad = || format!("{s:?} is not a transfer rate; write e.g. \"10KiB/s\", \"512B/s\" or \"1MB/s\"");
    let per_s = s.trim().strip_suffix("/s").ok_or_else(bad)?;
    let bytes = bytes_of(per_s).ok_or_else(bad)?;
    if !(1.0..=1e12).contains(&bytes) {
        return Err(format!("{s:?}: a transfer rate must be from 1B/s to 1TB/s"));
    }
    Ok(bytes as u64)
}

/// Parse a size such as `"1MiB"`, `"64KiB"`, `"512B"` or `"2MB"` into bytes (1 B to 1 TB).
pub fn parse_byte_size(s: &str) -> Result<u64, String> {
    let bytes =
        bytes_of(s.trim()).ok_or_else(|| format!("{s:?} is not a size; write e.g. \"1MiB\", \"64KiB\" or \"512B\""))?;
    if !(1.0..=1e12).contains(&bytes) {
        return Err(format!("{s:?}: a size must be from 1B to 1TB"));
    }
    Ok(bytes as u64)
}

/// `"1.5MB"` -> 1.5e6: a number and one of the units B, KB (kB), KiB, MB, MiB.
fn bytes_of(s: &str) -> Option<f64> {
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match unit.trim() {
        "B" => 1.0,
        "KB" | "kB" => 1e3,
        "KiB" => 1024.0,
        "MB" => 1e6,
        "MiB" => 1024.0 * 1024.0,
        _ => return None,
    };
    Some(number * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_passes_its_burst_then_its_rate() {
        let mut b = TokenBucket::new(RateLimit { rate: 100.0, burst: 5 });
        let passed = (0..20).filter(|_| b.take(Duration::ZERO)).count();
        assert_eq!(passed, 5, "a full bucket lets the burst through at once");
        // 100/s: one token every 10 ms.
        assert!(!b.take(Duration::from_millis(9)));
        assert!(b.take(Duration::from_millis(10)));
        assert!(!b.take(Duration::from_millis(10)));
        // A long quiet spell refills no more than the burst.
        let passed = (0..20).filter(|_| b.take(Duration::from_secs(60))).count();
        assert_eq!(passed, 5);
    }

    #[test]
    fn byte_rates_parse_with_their_units() {
        assert_eq!(parse_byte_rate("10KiB/s"), Ok(10_240));
        assert_eq!(parse_byte_rate("512B/s"), Ok(512));
        assert_eq!(parse_byte_rate("1.5MB/s"), Ok(1_500_000));
        assert!(parse_byte_rate("10KiB").unwrap_err().contains("10KiB/s"));
        assert!(parse_byte_rate("fast/s").is_err());
        assert!(parse_byte_rate("0B/s").is_err());
    }

    #[test]
    fn byte_sizes_parse_with_the_same_units() {
        assert_eq!(parse_byte_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_byte_size("64KiB"), Ok(65_536));
        assert_eq!(parse_byte_size("2MB"), Ok(2_000_000));
        assert!(parse_byte_size("1MiB/s").unwrap_err().contains("not a size"));
        assert!(parse_byte_size("0B").unwrap_err().contains("from 1B"));
    }
}
