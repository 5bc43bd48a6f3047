//! Invariants of invoices rendered through body templates (profiles/templates/issue.json,
//! the way a run renders them), and of each format's escaping, over seeds and specs.
#![allow(clippy::unwrap_used)]

mod strategies;

use std::sync::Arc;

use einv_workload::invoice::{InvoiceGen, InvoiceSpec, uscc};
use einv_workload::requests::{Faults, OpTemplate, Rendered, Requests, Tag};
use einv_workload::template::{Scope, Template, Values};
use einv_workload::{Captures, Format, Mix};
use proptest::prelude::*;
use serde_json::Value;
use strategies::spec;

/// The example JSON template, as profiles/payloads.toml sends it.
const ISSUE: &str = include_str!("../../../profiles/templates/issue.json");

/// Names one feeder column, `f.c`, and nothing else.
struct OneColumn;

impl Scope for OneColumn {
    fn feeder(&self, feeder: &str, column: &str) -> Result<(usize, usize), String> {
        (feeder == "f" && column == "c").then_some((0, 0)).ok_or_else(|| "no such feeder".into())
    }
    fn capture(&self, _: &str) -> Result<usize, String> {
        Err("no captures".into())
    }
    fn env(&self, _: &str) -> Option<String> {
        None
    }
}

/// Requests of one op whose body is the example JSON template.
fn requests(spec: &InvoiceSpec, seed: u64, faults: Faults) -> Requests {
    let body = Template::parse_as(ISSUE, &OneColumn, Format::Json).unwrap();
    let op = OpTemplate { path: Template::parse("/api/v1/invoices", &OneColumn).unwrap(), headers: Vec::new(), body };
    let invoices = InvoiceGen::new(spec, seed).unwrap();
    let mix = Mix::new(&[1], seed).unwrap();
    Requests::new(seed, vec![op], mix, invoices, Vec::new(), Arc::new(Captures::new(0, 1)), faults)
}

fn render(requests: &mut Requests, index: u64) -> (Value, Option<Tag>) {
    let mut out = Rendered::default();
    requests.render(index, 0, false, &mut out).unwrap().unwrap();
    (serde_json::from_slice(&out.body).unwrap(), out.tag)
}

fn money(value: &Value) -> i64 {
    let (yuan, fen) = value.as_str().unwrap().split_once('.').unwrap();
    assert_eq!(fen.len(), 2, "{value}");
    yuan.parse::<i64>().unwrap() * 100 + fen.parse::<i64>().unwrap()
}

/// Half-up: the tax is within half a cent of amount x rate, an exact half going up.
fn is_half_up(line: &Value) -> bool {
    let exact_x100 = i128::from(money(&line["amount"])) * i128::from(money(&line["tax_rate"]));
    let diff = i128::from(money(&line["tax"])) * 100 - exact_x100;
    (-49..=50).contains(&diff)
}

proptest! {
    #[test]
    fn templated_invoices_parse_and_add_up(spec in spec(), seed: u64, index in 0u64..1 << 40) {
        let mut requests = requests(&spec, seed, Faults::default());
        let (json, tag) = render(&mut requests, index);
        prop_assert_eq!(tag, None);
        prop_assert_eq!(json["order_no"].as_str().unwrap(), requests.order_no(index));
        for party in ["seller", "buyer"] {
            let tax_id = json[party]["tax_id"].as_str().unwrap();
            prop_assert!(uscc::is_valid(tax_id) && uscc::org_code_is_valid(&tax_id[8..17]), "{}", tax_id);
        }
        prop_assert_ne!(&json["seller"]["tax_id"], &json["buyer"]["tax_id"]);
        let lines = json["lines"].as_array().unwrap();
        prop_assert!((1..=spec.max_lines as usize).contains(&lines.len()));
        prop_assert_eq!(json["line_count"].as_u64().unwrap(), lines.len() as u64);
        for line in lines {
            let quantity = line["quantity"].as_i64().unwrap();
            prop_assert!(quantity >= 1 && money(&line["unit_price"]) >= 1);
            prop_assert_eq!(money(&line["amount"]), quantity * money(&line["unit_price"]));
            prop_assert!(is_half_up(line), "{}", line);
        }
        let sum = |key: &str| lines.iter().map(|l| money(&l[key])).sum::<i64>();
        prop_assert_eq!(money(&json["total_amount"]), sum("amount"));
        prop_assert_eq!(money(&json["total_tax"]), sum("tax"));
        prop_assert_eq!(money(&json["total"]), sum("amount") + sum("tax"));
    }

    #[test]
    fn injected_faults_break_exactly_their_field(seed: u64, index in 0u64..1 << 40) {
        let faults = Faults { duplicate_rate: 0.0, invalid_rate: 1.0 };
        let (json, tag) = render(&mut requests(&InvoiceSpec::default(), seed, faults), index);
        let (clean, _) = render(&mut requests(&InvoiceSpec::default(), seed, Faults::default()), index);
        let buyer = json["buyer"]["tax_id"].as_str().unwrap();
        let totals = money(&json["total"]) - money(&json["total_amount"]) - money(&json["total_tax"]);
        match tag {
            Some(Tag::Invalid(einv_workload::invoice::Fault::BadCheckDigit)) => {
                prop_assert!(buyer.len() == 18 && !uscc::is_valid(buyer), "{}", buyer);
                prop_assert_eq!(totals, 0);
            }
            Some(Tag::Invalid(einv_workload::invoice::Fault::TotalsMismatch)) => {
                prop_assert_eq!(totals.abs(), 1);
                prop_assert_eq!(&json["buyer"], &clean["buyer"]);
            }
            Some(Tag::Invalid(einv_workload::invoice::Fault::MissingBuyer)) => {
                prop_assert_eq!(buyer, "", "a missing buyer's fields render empty");
                prop_assert_eq!(totals, 0);
            }
            other => prop_assert!(false, "tag {:?}", other),
        }
        prop_assert_eq!(&json["lines"], &clean["lines"]);
        prop_assert_eq!(&json["seller"], &clean["seller"]);
    }

    #[test]
    fn any_value_survives_each_formats_escaping(value in "\\PC{0,24}|[&<>\"'\\\\%+= \\n\\t]{0,12}") {
        let render = |src: &str, format: Format| {
            let rows = vec![vec![value.clone()]];
            let v = Values { index: 0, order_no: "", uuid: "", invoice: None, rows: &rows, captured: &[], mask_secrets: false };
            let mut out = Vec::new();
            Template::parse_as(src, &OneColumn, format).unwrap().render(&v, &mut out);
            String::from_utf8(out).unwrap()
        };
        let json: Value = serde_json::from_str(&render(r#"{"v":"${feeder.f.c}"}"#, Format::Json)).unwrap();
        prop_assert_eq!(json["v"].as_str().unwrap(), value.as_str());
        let xml = render("<v>${feeder.f.c}</v>", Format::Xml);
        let inner = &xml[3..xml.len() - 4];
        prop_assert!(!inner.contains(['<', '>', '"', '\'']), "{}", inner);
        let entities = [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&apos;", "'"), ("&amp;", "&")];
        prop_assert_eq!(entities.iter().fold(inner.to_string(), |s, (e, c)| s.replace(e, c)), value.clone());
        let form = render("v=${feeder.f.c}&w=1", Format::Form);
        let encoded = form.strip_prefix("v=").and_then(|f| f.strip_suffix("&w=1")).unwrap();
        prop_assert!(!encoded.contains(['&', '=', '+', ' ']), "{}", encoded);
        prop_assert_eq!(percent_encoding::percent_decode_str(encoded).decode_utf8().unwrap(), value.as_str());
    }
}
