//! Criterion bench of invoice generation + rendering, and of body templates filled with
//! generated invoices (group `template`).
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use einv_workload::invoice::{InvoiceGen, InvoiceSpec};
use einv_workload::requests::{Faults, OpTemplate, Rendered, Requests};
use einv_workload::template::{Scope, Template, Values};
use einv_workload::{Captures, Format, Mix};

fn invoice(c: &mut Criterion) {
    let invoice_gen = InvoiceGen::new(&InvoiceSpec::default(), 7).unwrap();
    let mut group = c.benchmark_group("invoice");
    group.throughput(Throughput::Elements(1));

    // What the engine does per request: derive the stream, generate, render into a reused buffer.
    group.bench_function("generate+write_json", |b| {
        let mut out = Vec::with_capacity(4096);
        let mut index = 0u64;
        b.iter(|| {
            index += 1;
            let mut rng = invoice_gen.rng_for(index);
            let invoice = invoice_gen.generate(&mut rng, "ORD-20240601-000001", None);
            out.clear();
            invoice.write_json(&mut out);
            black_box(out.len())
        })
    });

    // Rendering alone, over a fixed set of invoices, to see how the time splits.
    let invoices: Vec<_> =
        (0..256).map(|i| invoice_gen.generate(&mut invoice_gen.rng_for(i), "ORD-20240601-000001", None)).collect();
    group.bench_function("write_json", |b| {
        let mut out = Vec::with_capacity(4096);
        let mut i = 0usize;
        b.iter(|| {
            i = (i + 1) % invoices.len();
            out.clear();
            invoices[i].write_json(&mut out);
            black_box(out.len())
        })
    });
    group.finish();
}

/// Templates of profiles/payloads.toml: a typical JSON issue body, an XML notification.
const ISSUE_JSON: &str = include_str!("../../../profiles/templates/issue.json");
const NOTIFY_XML: &str = include_str!("../../../profiles/templates/notify.xml");

/// Templates that name no feeder, capture or variable.
struct Nothing;

impl Scope for Nothing {
    fn feeder(&self, _: &str, _: &str) -> Result<(usize, usize), String> {
        Err("no feeders".into())
    }
    fn capture(&self, _: &str) -> Result<usize, String> {
        Err("no captures".into())
    }
    fn env(&self, _: &str) -> Option<String> {
        None
    }
}

fn template(c: &mut Criterion) {
    let invoice_gen = InvoiceGen::new(&InvoiceSpec::default(), 7).unwrap();
    let mut group = c.benchmark_group("template");
    group.throughput(Throughput::Elements(1));

    // Filling the template alone, over a fixed set of invoices.
    let invoices: Vec<_> =
        (0..256).map(|i| invoice_gen.generate(&mut invoice_gen.rng_for(i), "ELA1B2C3D4000000000001", None)).collect();
    for (name, src, format) in [("render/json", ISSUE_JSON, Format::Json), ("render/xml", NOTIFY_XML, Format::Xml)] {
        let t = Template::parse_as(src, &Nothing, format).unwrap();
        group.bench_function(name, |b| {
            let mut out = Vec::with_capacity(4096);
            let mut i = 0usize;
            b.iter(|| {
                i = (i + 1) % invoices.len();
                let v = Values {
                    index: i as u64,
                    order_no: "ELA1B2C3D4000000000001",
                    uuid: "b77c6dcc-e03f-4f5c-bfe6-6922324fc578",
                    invoice: Some(&invoices[i]),
                    rows: &[],
                    captured: &[],
                    mask_secrets: false,
                };
                out.clear();
                t.render(&v, &mut out);
                black_box(out.len())
            })
        });
    }

    // What a run does per request of a body-template op: its fault draw, order number,
    // one invoice generated, path and body rendered into reused buffers.
    let body = Template::parse_as(ISSUE_JSON, &Nothing, Format::Json).unwrap();
    let op = OpTemplate { path: Template::parse("/api/v1/invoices", &Nothing).unwrap(), headers: Vec::new(), body };
    let faults = Faults { duplicate_rate: 0.01, invalid_rate: 0.005 };
    let captures = Arc::new(Captures::new(0, 1));
    let mut requests =
        Requests::new(7, vec![op], Mix::new(&[1], 7).unwrap(), invoice_gen, Vec::new(), captures, faults);
    group.bench_function("request/json", |b| {
        let mut out = Rendered::default();
        let mut index = 0u64;
        b.iter(|| {
            index += 1;
            requests.render(index, 0, false, &mut out).unwrap().unwrap();
            black_box(out.body.len())
        })
    });
    group.finish();
}

criterion_group!(benches, invoice, template);
criterion_main!(benches);
