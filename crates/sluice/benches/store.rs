//! Benchmarks of the ForTestCode scenario and of one-time codes on each store.
//!
//! Run with `cargo bench -p sluice --bench store`; figures are recorded in docs/performance.md.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // a broken fixture must stop loudly

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use sluice::otp::{self, Binding, IssueRules};
use sluice::store::{IssueLimits, MemoryStore, Store, User};
use sluice::{Engine, ManualClock, RunContext, RunOptions, Services};
use sluice_store_sqlite::SqliteStore;

const COMPONENT: &str = include_str!("../../../examples/for-test-code/component.json");
/// Advancing the clock this much between codes keeps every run within the resend cooldown
/// and the hourly cap, as a stream of different requests would.
const STEP_MS: i64 = 7 * 60_000;
/// The binding of the benchmark's codes.
const WORKPLACE: Binding<'static> = Binding { purpose: "bench", client: "workplace" };

fn services(store: Arc<dyn Store>) -> (Services, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(1_795_000_000_000));
    let keys = sluice::otp::CodeKeys::from_secret("bench-secret-0123456789abcdef0123").unwrap();
    let services = Services::new(store, keys).with_clock(clock.clone());
    services.store.import_users(&[User::new("ann")]).unwrap();
    (services, clock)
}

fn stores() -> Vec<(&'static str, Arc<dyn Store>, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("bench.db")).unwrap();
    vec![("memory", Arc::new(MemoryStore::new()), None), ("sqlite", Arc::new(sqlite), Some(dir))]
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("for_test_code");
    group.throughput(Throughput::Elements(1));
    for (name, store, _dir) in stores() {
        let (services, clock) = services(store);
        let engine = Engine::builder().services(services).build().unwrap();
        let plan = engine.load("component.json", COMPONENT.as_bytes()).unwrap();
        let cx = RunContext { user: Some("ann".into()), client: Some("workplace".into()) };
        let input = json!({"data": {}});
        group.bench_function(format!("get_code_run/{name}"), |b| {
            b.iter(|| {
                clock.advance(STEP_MS);
                plan.run("GetCode", black_box(&input), &cx, RunOptions::default()).unwrap()
            })
        });
        // As `sluice serve` runs it: recorded with its input, trace (items kept) and outcome.
        let details = RunOptions { trace_items: true, ..Default::default() };
        group.bench_function(format!("get_code_recorded_with_details/{name}"), |b| {
            b.iter(|| {
                clock.advance(STEP_MS);
                plan.run_recorded("GetCode", black_box(&input), &cx, details).1.unwrap()
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("one_time_code");
    group.throughput(Throughput::Elements(1));
    let rules = IssueRules {
        length: 6,
        lifetime: 300_000,
        max_attempts: 5,
        limits: IssueLimits { resend_cooldown: 30_000, max_per_hour: 10 },
    };
    for (name, store, _dir) in stores() {
        let (services, clock) = services(store);
        let user = services.store.find_user("ann").unwrap().unwrap();
        group.bench_function(format!("issue_and_confirm/{name}"), |b| {
            b.iter(|| {
                clock.advance(STEP_MS);
                let code = otp::issue(&services, &user, WORKPLACE, &rules, Vec::new()).unwrap();
                otp::confirm(&services, &user, WORKPLACE, None, &json!(code.code.expose())).unwrap();
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
