//! Invariants of generated invoices, over seeds and specs.
#![allow(clippy::unwrap_used)]

mod strategies;

use einv_workload::invoice::{Cents, Fault, Invoice, InvoiceGen, InvoiceSpec, Line, uscc};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use serde_json::Value;
use strategies::spec;

fn render(invoice: &Invoice<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    invoice.write_json(&mut out);
    out
}

fn money(value: &Value) -> i64 {
    let (yuan, fen) = value.as_str().unwrap().split_once('.').unwrap();
    assert_eq!(fen.len(), 2, "{value}");
    yuan.parse::<i64>().unwrap() * 100 + fen.parse::<i64>().unwrap()
}

/// Half-up rounding stated independently of the implementation: the tax is within half a
/// cent of the exact product, and an exact half goes up.
fn is_half_up(line: &Line) -> bool {
    let exact_x100 = i128::from(line.amount.0) * i128::from(line.tax_rate.percent());
    let diff = i128::from(line.tax.0) * 100 - exact_x100;
    (-49..=50).contains(&diff)
}

proptest! {
    #[test]
    fn generated_codes_pass_both_checks(seed: u64) {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        for _ in 0..50 {
            let code = uscc::generate(&mut rng);
            prop_assert_eq!(code.len(), 18);
            prop_assert!(code.bytes().all(|b| uscc::CHARSET.contains(&b)), "{}", code);
            prop_assert!(uscc::org_code_is_valid(&code[8..17]), "{}", code);
            prop_assert!(uscc::is_valid(&code), "{}", code);
        }
    }

    #[test]
    fn pool_tax_ids_pass_both_checks(seed: u64) {
        let invoice_gen = InvoiceGen::new(&InvoiceSpec { parties: 200, ..Default::default() }, seed).unwrap();
        for party in invoice_gen.parties() {
            prop_assert!(uscc::is_valid(&party.tax_id), "{}", party.tax_id);
            prop_assert!(uscc::org_code_is_valid(&party.tax_id[8..17]), "{}", party.tax_id);
        }
    }

    #[test]
    fn totals_add_up_to_the_cent(spec in spec(), seed: u64, index: u64) {
        let invoice_gen = InvoiceGen::new(&spec, seed).unwrap();
        let invoice = invoice_gen.generate(&mut invoice_gen.rng_for(index), "o", None);
        prop_assert!((1..=spec.max_lines as usize).contains(&invoice.lines.len()));
        for line in &invoice.lines {
            prop_assert!(line.quantity >= 1 && line.unit_price >= Cents(1));
            prop_assert_eq!(line.amount.0, i64::from(line.quantity) * line.unit_price.0);
            prop_assert!(is_half_up(line), "{:?}", line);
        }
        let amount: i64 = invoice.lines.iter().map(|l| l.amount.0).sum();
        let tax: i64 = invoice.lines.iter().map(|l| l.tax.0).sum();
        prop_assert_eq!(invoice.total_amount.0, amount);
        prop_assert_eq!(invoice.total_tax.0, tax);
        prop_assert_eq!(invoice.total.0, amount + tax);
    }

    #[test]
    fn json_parses_and_matches_the_invoice(seed: u64, index: u64, order_no in "\\PC{0,12}") {
        let invoice_gen = InvoiceGen::new(&InvoiceSpec { parties: 20, ..Default::default() }, seed).unwrap();
        let invoice = invoice_gen.generate(&mut invoice_gen.rng_for(index), &order_no, None);
        let json: Value = serde_json::from_slice(&render(&invoice)).unwrap();
        prop_assert_eq!(json["order_no"].as_str().unwrap(), order_no.as_str());
        prop_assert_eq!(json["kind"].as_str().unwrap(), invoice.kind.as_str());
        let buyer = invoice.buyer.as_ref().unwrap();
        for (key, party) in [("seller", &invoice.seller), ("buyer", buyer)] {
            let fields = json[key].as_object().unwrap();
            prop_assert_eq!(fields.len(), 6);
            prop_assert_eq!(fields["name"].as_str().unwrap(), party.name.as_str());
            prop_assert_eq!(fields["tax_id"].as_str().unwrap(), party.tax_id.as_str());
            prop_assert_eq!(fields["account"].as_str().unwrap(), party.account.as_str());
        }
        let lines = json["lines"].as_array().unwrap();
        prop_assert_eq!(lines.len(), invoice.lines.len());
        for (j, line) in lines.iter().zip(&invoice.lines) {
            prop_assert_eq!(j["tax_code"].as_str().unwrap(), line.tax_code);
            prop_assert_eq!(j["quantity"].as_u64().unwrap(), u64::from(line.quantity));
            prop_assert_eq!(money(&j["unit_price"]), line.unit_price.0);
            prop_assert_eq!(money(&j["amount"]), line.amount.0);
            prop_assert_eq!(money(&j["tax_rate"]), i64::from(line.tax_rate.percent()));
            prop_assert_eq!(money(&j["tax"]), line.tax.0);
        }
        let sum = |key: &str| lines.iter().map(|l| money(&l[key])).sum::<i64>();
        prop_assert_eq!(money(&json["total_amount"]), sum("amount"));
        prop_assert_eq!(money(&json["total_tax"]), sum("tax"));
        prop_assert_eq!(money(&json["total"]), sum("amount") + sum("tax"));
    }

    #[test]
    fn same_seed_and_rng_state_give_identical_bytes(seed: u64, stream: u64, fault in prop::option::of(fault())) {
        let a = InvoiceGen::new(&InvoiceSpec::default(), seed).unwrap();
        let b = InvoiceGen::new(&InvoiceSpec::default(), seed).unwrap();
        let mut rng_a = Pcg64Mcg::seed_from_u64(stream);
        let mut rng_b = Pcg64Mcg::seed_from_u64(stream);
        for _ in 0..5 {
            let x = render(&a.generate(&mut rng_a, "o-1", fault));
            let y = render(&b.generate(&mut rng_b, "o-1", fault));
            prop_assert_eq!(x, y);
        }
        prop_assert_eq!(render(&a.generate(&mut a.rng_for(stream), "o", fault)), render(&b.generate(&mut b.rng_for(stream), "o", fault)));
    }

    #[test]
    fn faults_do_what_they_say(seed: u64, index: u64, fault in fault()) {
        let invoice_gen = InvoiceGen::new(&InvoiceSpec { parties: 20, ..Default::default() }, seed).unwrap();
        let clean = invoice_gen.generate(&mut invoice_gen.rng_for(index), "o", None);
        let bad = invoice_gen.generate(&mut invoice_gen.rng_for(index), "o", Some(fault));
        let json: Value = serde_json::from_slice(&render(&bad)).unwrap();
        match fault {
            Fault::BadCheckDigit => {
                let tax_id = json["buyer"]["tax_id"].as_str().unwrap();
                prop_assert_eq!(tax_id.len(), 18);
                prop_assert!(tax_id.bytes().all(|b| uscc::CHARSET.contains(&b)));
                prop_assert!(!uscc::is_valid(tax_id), "{}", tax_id);
                prop_assert!(uscc::is_valid(json["seller"]["tax_id"].as_str().unwrap()));
            }
            Fault::TotalsMismatch => {
                let stated = money(&json["total"]);
                let expected = money(&json["total_amount"]) + money(&json["total_tax"]);
                prop_assert_eq!((stated - expected).abs(), 1);
                prop_assert_eq!(bad.lines, clean.lines);
            }
            Fault::MissingBuyer => prop_assert!(json.get("buyer").is_none()),
        }
    }
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![Just(Fault::BadCheckDigit), Just(Fault::TotalsMismatch), Just(Fault::MissingBuyer)]
}
