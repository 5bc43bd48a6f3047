//! Criterion bench of invoice generation + rendering.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use einv_workload::invoice::{InvoiceGen, InvoiceSpec};

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

criterion_group!(benches, invoice);
criterion_main!(benches);
