//! What the built-in target checks in an invoice before issuing it, as a correct invoice
//! service must: both taxpayer ids valid under GB 32100, and totals that add up to the
//! cent (each line's tax = amount × rate, half-up; sums; total = amount + tax).

use einv_core::money::{Cents, TaxRate};
use einv_core::uscc;
use serde_json::Value;

/// Why an invoice was refused: (error code, message) for a 400 answer.
pub(super) type Rejection = (&'static str, String);

/// The VAT rates (percent) an invoice line may carry.
const RATES: [u8; 7] = [0, 1, 3, 5, 6, 9, 13];

/// The order number of a valid invoice (at most `max_order_no` characters), or why it is
/// not valid.
pub(super) fn invoice(body: &[u8], max_order_no: usize) -> Result<String, Rejection> {
    let v: Value = serde_json::from_slice(body).map_err(|e| ("E4001", format!("malformed JSON: {e}")))?;
    let order_no = text(&v, "/order_no")?;
    if order_no.trim().is_empty() {
        return Err(("E4002", "order_no is empty".into()));
    }
    // Checked before it is copied: the ledger keeps a key of it, never the text.
    if order_no.chars().nth(max_order_no).is_some() {
        return Err(("E4006", format!("order_no is longer than {max_order_no} characters")));
    }
    let order_no = order_no.to_string();
    for party in ["seller", "buyer"] {
        if v.get(party).is_none() {
            return Err(("E4002", format!("{party} is missing")));
        }
        let tax_id = text(&v, &format!("/{party}/tax_id"))?;
        if !uscc::is_valid(tax_id) {
            return Err(("E4003", format!("{party} tax_id {tax_id} fails the GB 32100 check")));
        }
    }
    let lines = v.get("lines").and_then(Value::as_array).filter(|l| !l.is_empty());
    let lines = lines.ok_or(("E4002", "lines are missing or empty".to_string()))?;
    let (mut amount, mut tax) = (Cents(0), Cents(0));
    for (i, line) in lines.iter().enumerate() {
        let line_amount = money(line, "/amount")?;
        if line_amount.0 <= 0 {
            return Err(("E4004", format!("line {i}: amount {line_amount} must be positive on a blue invoice")));
        }
        let rate = TaxRate::parse(text(line, "/tax_rate")?)
            .filter(|r| RATES.contains(&r.percent()))
            .ok_or(("E4004", format!("line {i}: tax_rate is not a VAT rate in force")))?;
        let line_tax = money(line, "/tax")?;
        if rate.tax_on(line_amount) != line_tax {
            return Err(("E4005", format!("line {i}: tax {line_tax} is not {line_amount} x {}%", rate.percent())));
        }
        // Checked: a forged amount near i64::MAX must be refused, not wrap into a match.
        let overflow = || ("E4004", "amounts too large".to_string());
        amount = Cents(amount.0.checked_add(line_amount.0).ok_or_else(overflow)?);
        tax = Cents(tax.0.checked_add(line_tax.0).ok_or_else(overflow)?);
    }
    let (total_amount, total_tax, total) =
        (money(&v, "/total_amount")?, money(&v, "/total_tax")?, money(&v, "/total")?);
    if total_amount != amount || total_tax != tax || Some(total.0) != amount.0.checked_add(tax.0) {
        return Err(("E4005", format!("totals do not add up: lines give {amount} + {tax}, invoice says {total}")));
    }
    Ok(order_no)
}

fn text<'a>(v: &'a Value, pointer: &str) -> Result<&'a str, Rejection> {
    v.pointer(pointer).and_then(Value::as_str).ok_or(("E4002", format!("{} is missing", &pointer[1..])))
}

fn money(v: &Value, pointer: &str) -> Result<Cents, Rejection> {
    let t = text(v, pointer)?;
    Cents::parse(t).ok_or(("E4004", format!("{} is not an amount: {t:?}", &pointer[1..])))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A correct invoice (also used by the server's tests).
    pub(in crate::live) const GOOD: &str = r#"{"order_no":"A1","seller":{"tax_id":"91350100M000100Y43"},
        "buyer":{"tax_id":"91350100M000100Y43"},
        "lines":[{"amount":"100.00","tax_rate":"0.13","tax":"13.00"},{"amount":"0.50","tax_rate":"0.01","tax":"0.01"}],
        "total_amount":"100.50","total_tax":"13.01","total":"113.51"}"#;

    #[test]
    fn a_correct_invoice_passes() {
        assert_eq!(invoice(GOOD.as_bytes(), 64), Ok("A1".to_string()));
    }

    #[test]
    fn an_order_number_longer_than_the_limit_is_refused() {
        let with = |no: &str| GOOD.replace("\"A1\"", &format!("{no:?}"));
        assert_eq!(invoice(with(&"9".repeat(64)).as_bytes(), 64).map(|n| n.len()), Ok(64));
        let long = invoice(with(&"9".repeat(65)).as_bytes(), 64).unwrap_err();
        assert_eq!(long.0, "E4006", "{long:?}");
        assert!(long.1.contains("64 characters"), "{long:?}");
        // Characters, not bytes: 64 Chinese characters are 192 bytes and still fit.
        assert!(invoice(with(&"票".repeat(64)).as_bytes(), 64).is_ok());
    }

    #[test]
    fn each_kind_of_bad_invoice_is_refused_with_its_code() {
        let code = |s: String| invoice(s.as_bytes(), 64).unwrap_err().0;
        assert_eq!(code(GOOD.replace("Y43\"},\n        \"buyer", "Y44\"},\n        \"buyer")), "E4003");
        assert_eq!(code(GOOD.replace("\"total\":\"113.51\"", "\"total\":\"113.52\"")), "E4005");
        assert_eq!(code(GOOD.replace("\"tax\":\"0.01\"", "\"tax\":\"0.00\"")), "E4005");
        let no_buyer = GOOD.replace("\"buyer\":{\"tax_id\":\"91350100M000100Y43\"},", "");
        assert_eq!(code(no_buyer), "E4002");
        assert_eq!(code("{nope".into()), "E4001");
        assert_eq!(code(GOOD.replace("\"0.13\"", "\"0.12\"")), "E4004", "12% is no VAT rate");
        assert_eq!(code(GOOD.replace("\"A1\"", "\"\"")), "E4002");
        let huge = GOOD.replace(
            "\"100.00\",\"tax_rate\":\"0.13\",\"tax\":\"13.00\"",
            "\"92233720368547758.00\",\"tax_rate\":\"0.00\",\"tax\":\"0.00\"",
        );
        let huge = huge.replace(
            "\"0.50\",\"tax_rate\":\"0.01\",\"tax\":\"0.01\"",
            "\"92233720368547758.00\",\"tax_rate\":\"0.00\",\"tax\":\"0.00\"",
        );
        assert_eq!(code(huge), "E4004", "an overflowing sum is refused, not wrapped");
    }
}
