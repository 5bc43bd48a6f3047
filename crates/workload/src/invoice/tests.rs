//! Tests of the generator as a whole; the parts test themselves in their own files.

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

use super::*;

fn generator() -> InvoiceGen {
    InvoiceGen::new(&InvoiceSpec::default(), 7).unwrap()
}

fn json(invoice: &Invoice<'_>) -> serde_json::Value {
    let mut out = Vec::new();
    invoice.write_json(&mut out);
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn spec_validation_names_the_field() {
    let cases = [
        (InvoiceSpec { lines: Dist::LogNormal { p50: 3.0, p99: 2.0 }, ..Default::default() }, "lines: "),
        (InvoiceSpec { quantity: Dist::Fixed(f64::NAN), ..Default::default() }, "quantity: "),
        (InvoiceSpec { unit_price: Dist::Uniform { min: 2.0, max: 1.0 }, ..Default::default() }, "unit_price: "),
        (InvoiceSpec { max_lines: 0, ..Default::default() }, "max_lines: "),
        (InvoiceSpec { special_share: 1.5, ..Default::default() }, "special_share: "),
        (InvoiceSpec { special_share: f64::NAN, ..Default::default() }, "special_share: "),
        (InvoiceSpec { parties: 1, ..Default::default() }, "parties: "),
    ];
    for (spec, prefix) in cases {
        match InvoiceGen::new(&spec, 1) {
            Err(Error::Invoice(message)) => assert!(message.starts_with(prefix), "{message}"),
            other => panic!("{spec:?} gave {other:?}"),
        }
    }
    assert_eq!(InvoiceSpec::default().validate(), Ok(()));
}

#[test]
fn each_fault_changes_only_its_field() {
    let invoice_gen = generator();
    for i in 0..200 {
        let clean = invoice_gen.generate(&mut invoice_gen.rng_for(i), "o", None);
        let bad_id = invoice_gen.generate(&mut invoice_gen.rng_for(i), "o", Some(Fault::BadCheckDigit));
        let buyer = bad_id.buyer.as_ref().unwrap();
        assert!(!uscc::is_valid(&buyer.tax_id), "{}", buyer.tax_id);
        assert_eq!(buyer.tax_id[..17], clean.buyer.as_ref().unwrap().tax_id[..17]);
        assert_eq!(Invoice { buyer: clean.buyer.clone(), ..bad_id.clone() }, clean);

        let mismatch = invoice_gen.generate(&mut invoice_gen.rng_for(i), "o", Some(Fault::TotalsMismatch));
        assert_eq!((mismatch.total.0 - clean.total.0).abs(), 1);
        assert_eq!(Invoice { total: clean.total, ..mismatch }, clean);

        let missing = invoice_gen.generate(&mut invoice_gen.rng_for(i), "o", Some(Fault::MissingBuyer));
        assert_eq!(missing.buyer, None);
        assert!(json(&missing).get("buyer").is_none());
        assert_eq!(Invoice { buyer: clean.buyer.clone(), ..missing }, clean);
    }
}

#[test]
fn fault_names_are_snake_case() {
    let names = [Fault::BadCheckDigit, Fault::TotalsMismatch, Fault::MissingBuyer].map(Fault::as_str);
    assert_eq!(names, ["bad_check_digit", "totals_mismatch", "missing_buyer"]);
}

#[test]
fn kinds_follow_the_special_share() {
    let invoice_gen = generator();
    let mut rng = Pcg64Mcg::seed_from_u64(1);
    let special = (0..20_000).filter(|_| invoice_gen.generate(&mut rng, "o", None).kind == Kind::Special).count();
    let share = special as f64 / 20_000.0;
    assert!((share - 0.3).abs() < 0.02, "{share}");
}

#[test]
fn seller_and_buyer_differ_and_come_from_the_roster() {
    let spec = InvoiceSpec { parties: 2, ..Default::default() };
    let invoice_gen = InvoiceGen::new(&spec, 3).unwrap();
    let mut rng = Pcg64Mcg::seed_from_u64(1);
    for _ in 0..100 {
        let invoice = invoice_gen.generate(&mut rng, "o", None);
        let buyer = invoice.buyer.unwrap();
        assert_ne!(invoice.seller.tax_id, buyer.tax_id);
        assert!(invoice_gen.parties().contains(&buyer) && invoice_gen.parties().contains(&invoice.seller));
    }
}

#[test]
fn numbers_are_clamped() {
    let spec = InvoiceSpec {
        lines: Dist::Fixed(500.0),
        max_lines: 7,
        quantity: Dist::Fixed(-3.0),
        unit_price: Dist::Fixed(0.0),
        ..Default::default()
    };
    let invoice_gen = InvoiceGen::new(&spec, 3).unwrap();
    let invoice = invoice_gen.generate(&mut Pcg64Mcg::seed_from_u64(1), "o", None);
    assert_eq!(invoice.lines.len(), 7);
    assert!(invoice.lines.iter().all(|l| l.quantity == 1 && l.unit_price == Cents(1)));

    let huge = InvoiceSpec {
        lines: Dist::Fixed(0.0),
        quantity: Dist::Fixed(1e300),
        unit_price: Dist::Fixed(1e300),
        ..Default::default()
    };
    let invoice_gen = InvoiceGen::new(&huge, 3).unwrap();
    let invoice = invoice_gen.generate(&mut Pcg64Mcg::seed_from_u64(1), "o", None);
    assert_eq!(invoice.lines.len(), 1);
    assert_eq!(invoice.lines[0].amount, Cents(100_000 * 1_000_000_000));
}

#[test]
fn unit_prices_are_rounded_to_the_cent() {
    let spec = InvoiceSpec { unit_price: Dist::Fixed(12.345_6), ..Default::default() };
    let invoice_gen = InvoiceGen::new(&spec, 3).unwrap();
    let invoice = invoice_gen.generate(&mut Pcg64Mcg::seed_from_u64(1), "o", None);
    assert!(invoice.lines.iter().all(|l| l.unit_price == Cents(1235)));
}

#[test]
fn default_spec_looks_like_real_traffic() {
    let invoice_gen = generator();
    let mut rng = Pcg64Mcg::seed_from_u64(9);
    let invoices: Vec<_> = (0..10_000).map(|_| invoice_gen.generate(&mut rng, "o", None)).collect();
    let mut lines: Vec<usize> = invoices.iter().map(|i| i.lines.len()).collect();
    lines.sort_unstable();
    assert_eq!(lines[5_000], 2, "median line count");
    assert!(lines[9_999] <= 20);
    let mut prices: Vec<i64> = invoices.iter().flat_map(|i| i.lines.iter().map(|l| l.unit_price.0)).collect();
    prices.sort_unstable();
    let median = prices[prices.len() / 2];
    assert!((7_000..9_000).contains(&median), "median unit price {median}");
}

#[test]
fn order_numbers_are_escaped_in_json() {
    let invoice_gen = generator();
    let invoice = invoice_gen.generate(&mut invoice_gen.rng_for(0), "a\"b\\c\n", None);
    assert_eq!(json(&invoice)["order_no"], "a\"b\\c\n");
}

#[test]
fn rates_follow_the_sellers_taxpayer_type() {
    let invoice_gen = generator();
    let mut rng = Pcg64Mcg::seed_from_u64(4);
    let mut small_scale_invoices = 0;
    for _ in 0..5_000 {
        let invoice = invoice_gen.generate(&mut rng, "o", None);
        let simplified = invoice.lines.iter().filter(|l| matches!(l.tax_rate.percent(), 1 | 3)).count();
        if invoice.seller.small_scale {
            small_scale_invoices += 1;
            assert_eq!(simplified, invoice.lines.len(), "{invoice:?}");
        } else {
            assert_eq!(simplified, 0, "{invoice:?}");
        }
    }
    assert!((500..1100).contains(&small_scale_invoices), "{small_scale_invoices}");
}
