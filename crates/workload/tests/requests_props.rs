//! Determinism and uniqueness of rendered requests: the same profile and seed give the same
//! bytes; order numbers never collide, within a run or across its shards.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use einv_workload::invoice::{InvoiceGen, InvoiceSpec};
use einv_workload::requests::{Faults, OpTemplate, Rendered, Requests};
use einv_workload::template::{Scope, Template};
use einv_workload::{Captures, Mix};

struct NoScope;

impl Scope for NoScope {
    fn feeder(&self, f: &str, c: &str) -> Result<(usize, usize), String> {
        Err(format!("no feeder {f}.{c}"))
    }
    fn capture(&self, p: &str) -> Result<usize, String> {
        Err(format!("no pool {p}"))
    }
    fn env(&self, _: &str) -> Option<String> {
        None
    }
}

fn requests(seed: u64, faults: Faults) -> Requests {
    let t = |s: &str| Template::parse(s, &NoScope).unwrap();
    let ops = vec![
        OpTemplate {
            path: t("/api/v1/invoices"),
            headers: vec![("x-request-id".into(), t("${uuid}"))],
            body: t("${invoice}"),
        },
        OpTemplate { path: t("/api/v1/orders/${order_no}/callback"), headers: vec![], body: t("{\"i\":${index}}") },
    ];
    let mix = Mix::new(&[3, 1], seed).unwrap();
    let invoices = InvoiceGen::new(&InvoiceSpec::default(), seed).unwrap();
    Requests::new(seed, ops, mix, invoices, Vec::new(), Arc::new(Captures::new(0, 1)), faults)
}

/// A hash of the first `n` requests' bytes (path, headers, body, tag).
fn stream_hash(seed: u64, n: u64) -> u64 {
    let mut r = requests(seed, Faults { duplicate_rate: 0.01, invalid_rate: 0.005 });
    let mut h = DefaultHasher::new();
    let mut out = Rendered::default();
    for i in 0..n {
        let op = r.op_of(i);
        r.render(i, op, false, &mut out).unwrap().unwrap();
        (&out.path, &out.headers, &out.body, out.tag.map(|t| t.as_str())).hash(&mut h);
    }
    h.finish()
}

#[test]
fn same_seed_same_stream_over_100k_requests() {
    let a = stream_hash(42, 100_000);
    assert_eq!(a, stream_hash(42, 100_000), "the same seed renders the same bytes");
    assert_ne!(a, stream_hash(43, 100_000), "another seed renders other requests");
}

#[test]
fn order_numbers_are_unique_over_10_million_requests() {
    let r = requests(1, Faults::default());
    // Each order number encodes its arrival index: parsing it back proves the map injective,
    // without holding 10 million strings.
    let prefix_len = r.order_no(0).len() - 12;
    for i in 0..10_000_000u64 {
        let no = r.order_no(i);
        assert_eq!(no[prefix_len..].parse::<u64>().unwrap(), i);
    }
    assert_ne!(
        r.order_no(0)[..prefix_len],
        requests(2, Faults::default()).order_no(0)[..prefix_len],
        "runs with other seeds use other numbers"
    );
}

#[test]
fn shards_never_share_an_order_number() {
    let shards = 3u64;
    let mut seen = HashSet::new();
    for shard in 0..shards {
        let mut r = requests(9, Faults::default());
        let mut out = Rendered::default();
        for i in (shard..30_000).step_by(shards as usize) {
            let op = r.op_of(i);
            r.render(i, op, false, &mut out).unwrap().unwrap();
            assert!(seen.insert(out.order_no.clone()), "order number {} rendered twice", out.order_no);
        }
    }
    assert_eq!(seen.len(), 30_000);
}
