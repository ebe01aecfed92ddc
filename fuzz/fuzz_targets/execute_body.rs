//! The body of `POST …/execute`: arbitrary bytes parsed as the server parses them, then run
//! through the ForTestCode dataflows (GetCode and ConfirmCode) on the in-memory store.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use sluice::store::User;
use sluice::{Engine, Plan, RunContext, RunOptions};
use std::sync::LazyLock;

static PLAN: LazyLock<Plan> = LazyLock::new(|| {
    let engine = Engine::new().expect("the engine builds");
    engine.services().store.import_users(&[User::new("ann")]).expect("the user imports");
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/for-test-code/component.json");
    engine.load_file(file).expect("the example loads")
});

fuzz_target!(|bytes: &[u8]| {
    let Ok(input) = serde_json::from_slice::<Value>(bytes) else { return };
    let cx = RunContext { user: Some("ann".into()), client: Some("web".into()) };
    for dataflow in ["GetCode", "ConfirmCode"] {
        let _ = PLAN.run(dataflow, &input, &cx, RunOptions { trace_items: true, ..Default::default() });
    }
});
