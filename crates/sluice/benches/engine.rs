//! Benchmarks of the Sluice engine.
//!
//! Run with `cargo bench -p sluice`; figures are recorded in docs/performance.md.

#![allow(clippy::panic)] // a benchmark with a broken fixture must stop loudly

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use sluice::{Engine, Plan, RunContext, RunOptions};

fn component(steps: Vec<Value>) -> Vec<u8> {
    json!({"name": "Bench", "definitions": {"A": {"type": "integer"}, "B": {"type": "integer"}, "lines": {"type": "array"}},
           "dataflows": [{"name": "F", "stages": [{"name": "S", "steps": steps}]}]})
    .to_string()
    .into_bytes()
}

/// An input step, then `extra`, then `n` pass-through steps (`transform_model` with no mapping).
fn chain(extra: Option<Value>, n: usize) -> Vec<Value> {
    let mut steps = vec![json!({"name": "s0", "type": "get_action_model"})];
    steps.extend(extra);
    for i in 0..n {
        let source = steps.last().and_then(|s| s["name"].as_str()).unwrap_or_default().to_owned();
        steps.push(json!({"name": format!("p{i}"), "type": "transform_model", "source": source}));
    }
    steps
}

fn load(engine: &Engine, steps: Vec<Value>) -> Plan {
    engine.load("bench", &component(steps)).unwrap_or_else(|e| panic!("{e}"))
}

fn bench(c: &mut Criterion) {
    let engine = Engine::new().unwrap_or_else(|e| panic!("{e}"));
    let cx = RunContext::default();
    let opts = RunOptions::default();
    let mut group = c.benchmark_group("engine");

    let plan = load(&engine, chain(None, 10));
    let input = json!({"data": {"A": 1, "B": 2}});
    group.throughput(Throughput::Elements(11));
    group.bench_function("chain_of_10_pass_through_steps/1_item", |b| {
        b.iter(|| plan.run("F", black_box(&input), &cx, opts).map(|o| o.trace.len()))
    });

    let extract =
        json!({"name": "x", "type": "extract_collection", "source": "s0", "settings": {"path": "data.lines"}});
    let plan = load(&engine, chain(Some(extract), 10));
    let lines: Vec<Value> = (0..1000).map(|i| json!({"n": i})).collect();
    let input = json!({"data": {"lines": lines}});
    group.throughput(Throughput::Elements(1 + 1 + 10 * 1000));
    group.bench_function("fan_out_1000_items_through_10_steps", |b| {
        b.iter(|| plan.run("F", black_box(&input), &cx, opts).map(|o| o.trace.len()))
    });

    // The same, each pass-through step going on past a failed item (none fails): what error
    // handling costs the items that pass.
    let extract =
        json!({"name": "x", "type": "extract_collection", "source": "s0", "settings": {"path": "data.lines"}});
    let mut steps = chain(Some(extract), 10);
    steps.iter_mut().skip(2).for_each(|step| step["onError"] = json!("continue"));
    let plan = load(&engine, steps);
    group.bench_function("fan_out_1000_items_through_10_steps_on_error_continue", |b| {
        b.iter(|| plan.run("F", black_box(&input), &cx, opts).map(|o| o.trace.len()))
    });

    // The script runs on 100 items so that the figure is the step's cost per item.
    let extract =
        json!({"name": "x", "type": "extract_collection", "source": "s0", "settings": {"path": "data.lines"}});
    let script = json!({"name": "script", "type": "execute_script", "source": "x",
        "settings": {"script": "let a = item.data.A;\nitem.data.B = a * 2 + 1;\nitem[\"total@integer\"] = item.data.B + a;"}});
    let plan = load(&engine, vec![chain(None, 0).remove(0), extract, script]);
    let lines: Vec<Value> = (0..100).map(|i| json!({"data": {"A": i, "B": 0}})).collect();
    let input = json!({"data": {"lines": lines}});
    group.throughput(Throughput::Elements(100));
    group.bench_function("execute_script_3_lines/100_items", |b| {
        b.iter(|| plan.run("F", black_box(&input), &cx, opts).map(|o| o.trace.len()))
    });
    // The same, each item also carrying 30 fields the script never touches (as an entity's
    // columns would): what those cost the step.
    let wide = |i: usize| {
        let mut item = json!({"data": {"A": i, "B": 0}});
        for f in 0..30 {
            item[format!("field{f}")] = json!({"text": format!("value {f}"), "n": f});
        }
        item
    };
    let input = json!({"data": {"lines": (0..100).map(wide).collect::<Vec<_>>()}});
    group.bench_function("execute_script_3_lines/100_items_with_30_untouched_fields", |b| {
        b.iter(|| plan.run("F", black_box(&input), &cx, opts).map(|o| o.trace.len()))
    });
    group.finish();

    let mut steps = vec![json!({"name": "s0", "type": "get_action_model"})];
    for i in 1..1000 {
        let source = format!("s{}", i - 1);
        steps.push(match i % 10 {
            0 => json!({"name": format!("s{i}"), "type": "execute_script", "source": source,
                        "settings": {"script": "item.data.A = item.data.B + 1;"}}),
            5 => json!({"name": format!("s{i}"), "type": "filter_source", "source": source,
                        "settings": {"field": "data.A", "operator": "greater", "value": 0}}),
            _ => json!({"name": format!("s{i}"), "type": "transform_model", "source": source,
                        "settings": {"fields": [{"action": "copy", "from": "data.A", "to": "data.B"}]}}),
        });
    }
    let bytes = component(steps);
    let mut group = c.benchmark_group("load");
    group.bench_function("validate_and_compile_1000_steps", |b| {
        b.iter(|| engine.load("bench", black_box(&bytes)).is_ok())
    });
    group.finish();
}

/// What an Execute dataflow call costs: 100 items each calling a dataflow of two steps, against
/// the same 100 items passing a step that does nothing.
fn calls(c: &mut Criterion) {
    let engine = Engine::new().unwrap_or_else(|e| panic!("{e}"));
    let (cx, opts) = (RunContext::default(), RunOptions::default());
    let with = |middle: Value| {
        let file = json!({"name": "Calls", "dataflows": [
            {"name": "Main", "stages": [{"name": "s", "steps": [
                {"name": "in", "type": "get_action_model"},
                {"name": "x", "type": "extract_collection", "source": "in", "settings": {"path": "data.lines"}},
                middle,
                {"name": "out", "type": "write_response", "source": "m"}]}]},
            {"name": "Callee", "stages": [{"name": "s", "steps": [
                {"name": "in", "type": "get_action_model"},
                {"name": "out", "type": "write_response", "source": "in"}]}]}]});
        engine.load("calls", file.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"))
    };
    let calling =
        with(json!({"name": "m", "type": "execute_dataflow", "source": "x", "settings": {"dataflow": "Callee"}}));
    let passing = with(json!({"name": "m", "type": "transform_model", "source": "x"}));
    let lines: Vec<Value> = (0..100).map(|i| json!({"data": {"A": i}})).collect();
    let input = json!({"data": {"lines": lines}});
    let mut group = c.benchmark_group("execute_dataflow");
    group.throughput(Throughput::Elements(100));
    group.bench_function("100_items_each_calling_a_2_step_dataflow", |b| {
        b.iter(|| calling.run("Main", black_box(&input), &cx, opts).map(|o| o.response.len()))
    });
    group.bench_function("100_items_through_a_pass_through_step", |b| {
        b.iter(|| passing.run("Main", black_box(&input), &cx, opts).map(|o| o.response.len()))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(4));
    targets = bench, calls
}
criterion_main!(benches);
