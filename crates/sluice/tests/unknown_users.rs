//! An unknown user costs what a known one costs in every step that looks a user up, so that the
//! time of an answer tells no one who exists: on a real SQLite file, where a skipped store write
//! would make the unknown path many times cheaper.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sluice::{Engine, Plan, RunContext, RunOptions};

const COMPONENT: &str = r#"{"name": "Codes", "definitions": {"UserName": {"type": "string"}, "Code": {"type": "string"}},
  "dataflows": [
    {"name": "Get", "access": "public", "stages": [{"name": "S", "steps": [
      {"name": "model", "type": "get_action_model"},
      {"name": "code", "type": "get_one_time_code_for_user", "source": "model",
       "settings": {"userName": "data.UserName", "resendCooldown": 0, "maxCodesPerHour": 100}}]}]},
    {"name": "Confirm", "access": "public", "stages": [{"name": "S", "steps": [
      {"name": "model", "type": "get_action_model"},
      {"name": "confirm", "type": "confirm_one_time_code_for_user", "source": "model",
       "settings": {"userName": "data.UserName", "userCodeField": "data.Code"}}]}]}
  ]}"#;

/// The time of one run of `dataflow` for `user` (which must fail, but for Get).
fn timed(plan: &Plan, dataflow: &str, user: &str) -> Duration {
    let cx = RunContext { user: None, client: Some("web".into()) };
    let input = json!({"data": {"UserName": user, "Code": "000000"}});
    let started = Instant::now();
    let outcome = plan.run(dataflow, &input, &cx, RunOptions::default());
    let took = started.elapsed();
    let answer = outcome.map(|o| Value::from(o.response.len()));
    assert!(answer.is_err() || dataflow == "Get", "{dataflow} for {user}: {answer:?}");
    took
}

/// The fastest of `runs` runs of `dataflow` for ann and for nobody, taken in turn: a busy
/// machine only ever adds time, so the fastest is the path's own cost, and taking them in
/// turn gives neither the machine's warmer moments (measured one after the other, the second
/// user's runs were up to 2.3 times faster for that alone, and the test failed once in CI).
fn fastest(plan: &Plan, dataflow: &str, runs: usize) -> (Duration, Duration) {
    let (mut ann, mut nobody) = (Duration::MAX, Duration::MAX);
    for _ in 0..runs {
        ann = ann.min(timed(plan, dataflow, "ann"));
        nobody = nobody.min(timed(plan, dataflow, "nobody"));
    }
    (ann, nobody)
}

fn within_twice(known: Duration, unknown: Duration) -> bool {
    known < unknown * 2 && unknown < known * 2
}

#[test]
fn unknown_users_cost_what_known_ones_cost() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("s.db").display());
    let services = sluice::setup::open(&url, &Default::default()).unwrap();
    services.store.import_users(&[sluice::store::User::new("ann")]).unwrap();
    let engine = Engine::builder().services(services).build().unwrap();
    let plan = engine.load("codes.json", COMPONENT.as_bytes()).unwrap();
    // Issuing: a code for ann, refused for nobody.
    let (known, unknown) = fastest(&plan, "Get", 15);
    assert!(within_twice(known, unknown), "issuing: ann {known:?}, nobody {unknown:?}");
    // Confirming a wrong code: ann has one, nobody has none; 10 tries each stay below the lock
    // (more than 10 failures in an hour)…
    let (known, unknown) = fastest(&plan, "Confirm", 10);
    assert!(within_twice(known, unknown), "confirming: ann {known:?}, nobody {unknown:?}");
    // …and once both are locked, both are refused as quickly.
    let (known, unknown) = fastest(&plan, "Confirm", 5);
    assert!(within_twice(known, unknown), "confirming while locked: ann {known:?}, nobody {unknown:?}");
}
