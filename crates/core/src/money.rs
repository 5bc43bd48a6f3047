//! Money in integer cents, VAT rates, and the half-up rounding invoices use.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, Mul};

/// An amount of money in fen (0.01 yuan). Integer so that totals add up exactly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cents(pub i64);

impl Cents {
    /// Append as a decimal yuan string with two decimals, e.g. `113.97`, `-0.05`.
    pub fn write(self, out: &mut Vec<u8>) {
        if self.0 < 0 {
            out.push(b'-');
        }
        let abs = self.0.unsigned_abs();
        out.extend_from_slice(itoa::Buffer::new().format(abs / 100).as_bytes());
        let frac = (abs % 100) as u8;
        out.extend_from_slice(&[b'.', b'0' + frac / 10, b'0' + frac % 10]);
    }
}

impl Cents {
    /// Parse a decimal yuan amount with at most two decimals ("113.97", "5", "-0.05").
    pub fn parse(s: &str) -> Option<Cents> {
        let (neg, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || frac.len() > 2 || !all_digits(whole) || !all_digits(frac) {
            return None;
        }
        let frac: i64 = format!("{frac:0<2}").parse().ok()?;
        let cents = whole.parse::<i64>().ok()?.checked_mul(100)?.checked_add(frac)?;
        Some(Cents(if neg { -cents } else { cents }))
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = Vec::with_capacity(24);
        self.write(&mut buf);
        f.write_str(&String::from_utf8_lossy(&buf))
    }
}

impl Add for Cents {
    type Output = Cents;
    fn add(self, rhs: Cents) -> Cents {
        Cents(self.0 + rhs.0)
    }
}

impl Mul<u32> for Cents {
    type Output = Cents;
    fn mul(self, rhs: u32) -> Cents {
        Cents(self.0 * i64::from(rhs))
    }
}

impl Sum for Cents {
    fn sum<I: Iterator<Item = Cents>>(iter: I) -> Cents {
        Cents(iter.map(|c| c.0).sum())
    }
}

/// A VAT rate in whole percent: the statutory rates are all integral (13, 9, 6, 3, 1, 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaxRate(u8);

impl TaxRate {
    /// Parse a rate written as a fraction with two places ("0.13") or fewer ("0.1").
    pub fn parse(s: &str) -> Option<TaxRate> {
        let cents = Cents::parse(s)?;
        u8::try_from(cents.0).ok().and_then(TaxRate::from_percent)
    }

    /// The rate for `percent`, or `None` above 100.
    pub fn from_percent(percent: u8) -> Option<TaxRate> {
        (percent <= 100).then_some(TaxRate(percent))
    }

    /// For the crate's own tables of statutory rates, all ≤ 100.
    pub const fn new(percent: u8) -> TaxRate {
        TaxRate(percent)
    }

    pub fn percent(self) -> u8 {
        self.0
    }

    /// The tax on `amount`, rounded half-up (ties away from zero) to the cent, as invoice
    /// systems do per line.
    pub fn tax_on(self, amount: Cents) -> Cents {
        let scaled = i128::from(amount.0) * i128::from(self.0);
        // With a rate of at most 100% the result only leaves i64 for |amount| near i64::MAX.
        let magnitude = i64::try_from((scaled.unsigned_abs() + 50) / 100).unwrap_or(i64::MAX);
        Cents(if scaled < 0 { -magnitude } else { magnitude })
    }

    /// Append as a decimal fraction with two places, e.g. `0.13`, `0.00`.
    pub fn write(self, out: &mut Vec<u8>) {
        Cents(i64::from(self.0)).write(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(c: Cents) -> String {
        c.to_string()
    }

    #[test]
    fn cents_render_with_two_decimals() {
        assert_eq!(text(Cents(0)), "0.00");
        assert_eq!(text(Cents(5)), "0.05");
        assert_eq!(text(Cents(11_397)), "113.97");
        assert_eq!(text(Cents(100)), "1.00");
        assert_eq!(text(Cents(-5)), "-0.05");
        assert_eq!(text(Cents(-12_345)), "-123.45");
        assert_eq!(text(Cents(i64::MIN)), "-92233720368547758.08");
    }

    #[test]
    fn rates_render_as_fractions() {
        let render = |p| {
            let mut out = Vec::new();
            TaxRate::from_percent(p).unwrap().write(&mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(render(13), "0.13");
        assert_eq!(render(6), "0.06");
        assert_eq!(render(0), "0.00");
        assert_eq!(TaxRate::from_percent(101), None);
    }

    #[test]
    fn amounts_and_rates_parse_back() {
        assert_eq!(Cents::parse("113.97"), Some(Cents(11_397)));
        assert_eq!(Cents::parse("5"), Some(Cents(500)));
        assert_eq!(Cents::parse("0.5"), Some(Cents(50)));
        assert_eq!(Cents::parse("-0.05"), Some(Cents(-5)));
        for bad in ["", "1.234", "1,00", "abc", ".5", "1e3"] {
            assert_eq!(Cents::parse(bad), None, "{bad:?}");
        }
        assert_eq!(TaxRate::parse("0.13"), TaxRate::from_percent(13));
        assert_eq!(TaxRate::parse("1.01"), None);
    }

    #[test]
    fn tax_rounds_half_up() {
        let rate = |p| TaxRate::from_percent(p).unwrap();
        // 0.50 × 1% = 0.005 → 0.01 (a tie goes up, not to even).
        assert_eq!(rate(1).tax_on(Cents(50)), Cents(1));
        assert_eq!(rate(1).tax_on(Cents(49)), Cents(0));
        // 1.50 × 3% = 0.045 → 0.05; 1.49 × 3% = 0.0447 → 0.04.
        assert_eq!(rate(3).tax_on(Cents(150)), Cents(5));
        assert_eq!(rate(3).tax_on(Cents(149)), Cents(4));
        // 100.00 × 13% is exact.
        assert_eq!(rate(13).tax_on(Cents(10_000)), Cents(1_300));
        assert_eq!(rate(0).tax_on(Cents(99_999)), Cents(0));
        // Credit lines round symmetrically: −0.50 × 1% = −0.005 → −0.01.
        assert_eq!(rate(1).tax_on(Cents(-50)), Cents(-1));
    }
}
