//! Body template files: profiles/payloads.toml sends JSON, XML and form bodies of its own
//! shape, filled with generated invoices; what a target receives holds valid invoices
//! (exactly the injected ones are not), and a bad template is bad input (exit 2).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::hostile::peer::Peer;
use crate::{einv, run_in_root, stderr, summary};

/// `(op, tag) -> sent` of a run's injected faults.
fn injected(s: &Value, op: &str, tags: &[&str]) -> u64 {
    tags.iter().map(|t| s["ops"][op]["injected"][t]["sent"].as_u64().unwrap_or(0)).sum()
}

const INVALID: [&str; 3] = ["bad_check_digit", "totals_mismatch", "missing_buyer"];

#[test]
fn the_builtin_target_issues_every_clean_templated_invoice_and_refuses_the_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r").display().to_string();
    let o = run_in_root(&["run", "profiles/payloads.toml", "--duration", "2s", "--no-progress", "--out", &out]);
    // 1 would be the latency SLO on a busy machine; what matters is asserted below.
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    let s = summary(Path::new(&out));
    let issue = &s["ops"]["issue"];
    // The target checks each issue's tax ids (GB 32100) and totals and refuses a reused
    // order number with another invoice: no error and no failed check means every clean
    // body held a valid invoice, every invalid one was refused, every duplicate matched.
    assert_eq!(issue["requests"]["errors"], 0, "{issue}");
    assert_eq!(issue["requests"]["check_failed"], 0, "{issue}");
    let sent = issue["requests"]["sent"].as_u64().unwrap();
    assert!(sent > 100, "{issue}");
    assert!(injected(&s, "issue", &INVALID) > 0 && injected(&s, "issue", &["duplicate"]) > 0, "{issue}");
    for (tag, counts) in issue["injected"].as_object().unwrap() {
        assert_eq!(counts["as_expected"], 1.0, "{tag}: {counts}");
    }
    for op in ["notify_xml", "notify_form"] {
        assert_eq!(s["ops"][op]["requests"]["errors"], 0, "{op}");
        assert!(s["ops"][op]["requests"]["sent"].as_u64().unwrap() > 50, "{op}");
    }
}

/// One request as the recording target saw it.
struct Received {
    content_type: String,
    body: Vec<u8>,
}

/// A target that answers every request 200 `{"code":"0000"}` and keeps what it received.
fn recorder() -> (Peer, Arc<Mutex<Vec<Received>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let keep = got.clone();
    let peer = Peer::start(move |conn| {
        while conn.alive() {
            let Some((head, body)) = conn.read_request_parts() else { return };
            let content_type = head.lines().find_map(|l| l.strip_prefix("content-type:")).unwrap_or("").trim();
            keep.lock().unwrap().push(Received { content_type: content_type.to_string(), body });
            let answer = "{\"code\":\"0000\"}";
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{answer}",
                answer.len()
            );
            if !conn.send(reply.as_bytes()) {
                return;
            }
        }
    });
    (peer, got)
}

/// The invoice values a body carries, whatever its format.
#[derive(Debug)]
struct Carried {
    order_no: String,
    seller: String,
    buyer: String,
    amount: String,
    tax: String,
    total: String,
    lines: Value,
}

impl Carried {
    fn from_json(body: &[u8]) -> Carried {
        let v: Value = serde_json::from_slice(body).expect("a JSON body parses");
        let text = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or_else(|| panic!("{p} in {v}")).to_string();
        Carried {
            order_no: text("/order_no"),
            seller: text("/seller/tax_id"),
            buyer: text("/buyer/tax_id"),
            amount: text("/total_amount"),
            tax: text("/total_tax"),
            total: text("/total"),
            lines: v["lines"].clone(),
        }
    }

    fn from_xml(body: &[u8]) -> Carried {
        let xml = std::str::from_utf8(body).unwrap();
        let tag = |name: &str| {
            let (open, close) = (format!("<{name}>"), format!("</{name}>"));
            let start = xml.find(&open).unwrap_or_else(|| panic!("{open} in {xml}")) + open.len();
            let end = start + xml[start..].find(&close).unwrap();
            let raw = &xml[start..end];
            assert!(!raw.contains(['<', '"']), "{name} is escaped: {raw}");
            let entities = [("&quot;", "\""), ("&apos;", "'"), ("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&")];
            entities.iter().fold(raw.to_string(), |s, (entity, c)| s.replace(entity, c))
        };
        Carried {
            order_no: tag("out_trade_no"),
            seller: tag("seller_tax_no"),
            buyer: tag("buyer_tax_no"),
            amount: tag("amount"),
            tax: tag("tax"),
            total: tag("total_fee"),
            lines: serde_json::from_str(&tag("detail")).expect("the lines are JSON"),
        }
    }

    fn from_form(body: &[u8]) -> Carried {
        let form = std::str::from_utf8(body).unwrap();
        let fields: HashMap<&str, String> = form
            .split('&')
            .map(|kv| kv.split_once('=').unwrap_or_else(|| panic!("{kv:?} in {form}")))
            .map(|(k, v)| (k, percent_decode(v)))
            .collect();
        let field = |k: &str| fields.get(k).unwrap_or_else(|| panic!("{k} in {form}")).clone();
        Carried {
            order_no: field("out_trade_no"),
            seller: field("seller_tax_no"),
            buyer: field("buyer_tax_no"),
            amount: field("invoice_amount"),
            tax: field("tax_amount"),
            total: field("total_amount"),
            lines: serde_json::from_str(&field("goods_detail")).expect("the lines are JSON"),
        }
    }

    /// Valid tax ids and totals that add up, as a correct service checks them.
    fn is_valid(&self) -> bool {
        let lines = self.lines.as_array().unwrap();
        let sum = |key: &str| lines.iter().map(|l| cents(l[key].as_str().unwrap())).sum::<i64>();
        let (amount, tax, total) = (cents(&self.amount), cents(&self.tax), cents(&self.total));
        einv_core::uscc::is_valid(&self.seller)
            && einv_core::uscc::is_valid(&self.buyer)
            && !lines.is_empty()
            && sum("amount") == amount
            && sum("tax") == tax
            && amount + tax == total
    }
}

fn cents(money: &str) -> i64 {
    let (yuan, fen) = money.split_once('.').unwrap_or_else(|| panic!("money {money:?}"));
    assert_eq!(fen.len(), 2, "{money}");
    yuan.parse::<i64>().unwrap() * 100 + fen.parse::<i64>().unwrap()
}

/// `application/x-www-form-urlencoded` decoding (`+` is a space, `%XX` a byte).
fn percent_decode(value: &str) -> String {
    let (bytes, mut out, mut i) = (value.as_bytes(), Vec::new(), 0);
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                out.push(u8::from_str_radix(&value[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn every_format_carries_valid_invoices_and_exactly_the_injected_ones_are_not() {
    let (peer, got) = recorder();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r").display().to_string();
    let args = ["run", "profiles/payloads.toml", "--target", &peer.url(), "--duration", "2s", "--no-progress"];
    let o = run_in_root(&[&args[..], &["--out", &out]].concat());
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    drop(peer);
    let s = summary(Path::new(&out));
    let got = std::mem::take(&mut *got.lock().unwrap());
    let formats = [
        ("issue", "application/json", Carried::from_json as fn(&[u8]) -> Carried),
        ("notify_xml", "application/xml", Carried::from_xml),
        ("notify_form", "application/x-www-form-urlencoded", Carried::from_form),
    ];
    for (op, content_type, parse) in formats {
        let bodies: Vec<Carried> =
            got.iter().filter(|r| r.content_type == content_type).map(|r| parse(&r.body)).collect();
        assert_eq!(
            bodies.len() as u64,
            s["ops"][op]["requests"]["sent"].as_u64().unwrap(),
            "{op}: every request received"
        );
        let invalid = bodies.iter().filter(|b| !b.is_valid()).count() as u64;
        assert_eq!(invalid, injected(&s, op, &INVALID), "{op}: the invalid bodies are the injected ones");
        let mut seen = HashSet::new();
        let repeated = bodies.iter().filter(|b| !seen.insert(b.order_no.clone())).count() as u64;
        assert_eq!(repeated, injected(&s, op, &["duplicate"]), "{op}: order numbers repeat only in duplicates");
        assert!(invalid > 0 || repeated > 0 || bodies.len() < 20, "{op}: faults are injected into every format");
    }
}

/// A profile in `dir` whose one op takes its body from `body`.
fn profile_with_body(dir: &Path, body: &str) -> String {
    let text = format!(
        "schema = 1\nname = \"t\"\n\n[target]\nurl = \"builtin\"\n\n[load]\nmode = \"open\"\n\n\
         [[load.stage]]\nkind = \"constant\"\nrate = 5\nduration = \"1s\"\n\n\
         [[op]]\nname = \"issue\"\nmethod = \"POST\"\npath = \"/api/v1/invoices\"\nbody = {body}\n"
    );
    std::fs::write(dir.join("p.toml"), text).unwrap();
    dir.join("p.toml").display().to_string()
}

fn validate(file: &str) -> (Option<i32>, String) {
    let o = einv().args(["validate", file]).output().unwrap();
    (o.status.code(), stderr(&o))
}

#[test]
fn bad_body_templates_are_bad_input_naming_file_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    // The profile's folder, with a file beside it that templates may not reach.
    let dir = tmp.path().join("p");
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(tmp.path().join("secret.json"), "{}").unwrap();
    let bad = "{\n  \"seller\": \"${invoice.seller.uscc}\",\n  \"buyer\": \"${invoice.byer.uscc}\"\n}\n";
    std::fs::write(dir.join("templates/bad.json"), bad).unwrap();
    std::fs::write(dir.join("templates/issue.tpl"), "{}").unwrap();
    let file = profile_with_body(&dir, r#"{ file = "templates/bad.json" }"#);
    let (code, err) = validate(&file);
    assert_eq!(code, Some(2), "{err}");
    let template = dir.join("templates/bad.json").display().to_string();
    assert!(
        err.contains(&format!(
            "{file}:19: op[0].body.file: {template}:3:13: unknown invoice field ${{invoice.byer.uscc}}"
        )),
        "{err}"
    );
    assert!(err.contains("invoice.buyer.uscc") && err.contains("invoice.lines"), "the known fields are listed: {err}");
    let cases = [
        (r#"{ file = "templates/missing.json" }"#, "templates/missing.json: cannot open"),
        (r#"{ file = "../secret.json" }"#, "is outside"),
        (r#"{ file = "templates/issue.tpl" }"#, "cannot tell the format of"),
        (r#"{ file = "templates/bad.json", format = "yaml" }"#, "op[0].body.format: unknown format \"yaml\""),
        (r#"{ generator = "invoice", file = "templates/bad.json" }"#, "not both"),
    ];
    for (body, expected) in cases {
        let file = profile_with_body(&dir, body);
        let (code, err) = validate(&file);
        assert_eq!(code, Some(2), "{body}: {err}");
        assert!(err.contains(&format!("{file}:19: op[0].body")) && err.contains(expected), "{body}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
