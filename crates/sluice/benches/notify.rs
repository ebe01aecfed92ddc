//! Benchmark of notification templates.
//!
//! Run with `cargo bench -p sluice --bench notify`; figures are recorded in docs/performance.md.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // a broken fixture must stop loudly

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use sluice::Engine;
use sluice::templates::RenderType;

const COMPONENT: &str = include_str!("../../../examples/email-2fa/component.json");

fn bench(c: &mut Criterion) {
    let engine = Engine::new().unwrap();
    let plan = engine.load("email-2fa.json", COMPONENT.as_bytes()).unwrap();
    let templates = plan.templates().clone();
    // The item as it reaches the notification step of the Login dataflow.
    let item = json!({
        "data": {"UserName": "ann", "Password": "[redacted]"},
        "_user": {"id": "5a71b37c-01e1-4b7e-b616-c96952afd331", "userName": "ann", "email": "ann@example.com",
                  "phone": null, "firstName": "Anne", "lastName": "Martin", "locale": "fr", "active": true},
        "_oneTimeCode": "042917"
    });
    let item = item.as_object().unwrap().clone();
    let mut group = c.benchmark_group("templates");
    group.bench_function("render_otp_mail_html_fr", |b| {
        b.iter(|| templates.render("OtpMail", Some("fr"), RenderType::Html, black_box(&item)).unwrap())
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
