//! Benchmarks of the ForTestCode scenario and of one-time codes on each store.
//!
//! Run with `cargo bench -p sluice --bench store`; figures are recorded in docs/performance.md.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // a broken fixture must stop loudly

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use sluice::entries::EntryKind;
use sluice::otp::{self, Binding, IssueRules};
use sluice::store::{EntryWrite, IssueLimits, MemoryStore, Store, User};
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

/// How many entries the lookups search among.
const ENTRIES: usize = 100_000;

/// Finding one of 100,000 entries by its primary key: the store's indexed lookup alone, and a
/// whole run of Get action model → Lookup reference → Write response.
fn entries(c: &mut Criterion) {
    let mut group = c.benchmark_group("entries");
    group.throughput(Throughput::Elements(1));
    let definitions: sluice::component::Definitions =
        serde_json::from_value(json!({"Vin": {"type": "string", "primaryKey": true}, "Price": {"type": "integer"}}))
            .unwrap();
    let kind = EntryKind::new("Cars", definitions).unwrap();
    for (name, store, _dir) in stores() {
        let (services, _clock) = services(store);
        for i in 0..ENTRIES {
            let data = json!({"Vin": format!("VIN{i:06}"), "Price": i}).as_object().unwrap().clone();
            let write = EntryWrite {
                component: "Cars".into(),
                key: kind.key_of(&data),
                data,
                name: None,
                subject: None,
                at: i as i64,
                tracked: true,
            };
            services.store.create_entry(&sluice::new_time_ordered_uuid(), &write).unwrap();
        }
        let key = |i: usize| kind.key_of(json!({"Vin": format!("VIN{i:06}")}).as_object().unwrap()).unwrap();
        let mut i = 0;
        group.bench_function(format!("find_by_key_among_100k/{name}"), |b| {
            b.iter(|| {
                i = (i + 7_919) % ENTRIES;
                services.store.find_entry_by_key("Cars", black_box(&key(i))).unwrap().unwrap()
            })
        });
        let engine = Engine::builder().services(services.clone()).build().unwrap();
        let plan = engine.load("cars.json", LOOKUP.as_bytes()).unwrap();
        let inputs: Vec<_> =
            (0..ENTRIES).step_by(7_919).map(|i| json!({"data": {"Vin": format!("VIN{i:06}")}})).collect();
        let mut n = 0;
        group.bench_function(format!("lookup_reference_run_among_100k/{name}"), |b| {
            b.iter(|| {
                n = (n + 1) % inputs.len();
                let run = plan.run("Find", black_box(&inputs[n]), &RunContext::default(), RunOptions::default());
                assert!(run.unwrap().response[0]["_car"].is_string());
            })
        });
    }
    group.finish();
}

/// Cars, and a dataflow that finds one by its VIN.
const LOOKUP: &str = r#"{"name": "Cars", "definitions": {"Vin": {"type": "string", "primaryKey": true},
  "Price": {"type": "integer"}}, "dataflows": [{"name": "Find", "stages": [{"name": "s", "steps": [
  {"name": "in", "type": "get_action_model"},
  {"name": "find", "type": "lookup_reference", "source": "in", "settings": {"fieldName": "_car", "keyMap": {"Vin": "data.Vin"}}},
  {"name": "out", "type": "write_response", "source": "find"}]}]}]}"#;

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    targets = bench, entries
}
criterion_main!(benches);
