//! Templated notifications: an arbitrary template body (up to the first NUL) compiled and
//! rendered over an arbitrary item (the rest, as JSON), as HTML, into the in-app inbox.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use sluice::store::User;
use sluice::{Engine, RunContext, RunOptions};
use std::sync::LazyLock;

static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    let engine = Engine::new().expect("the engine builds");
    engine.services().store.import_users(&[User::new("ann")]).expect("the user imports");
    engine
});

fuzz_target!(|bytes: &[u8]| {
    let (body, item) = match bytes.iter().position(|b| *b == 0) {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &b"{}"[..]),
    };
    let Ok(body) = std::str::from_utf8(body) else { return };
    let data: Value = serde_json::from_slice(item).unwrap_or(json!({}));
    let component = json!({"name": "Fuzz",
        "templates": {"T": {"en": {"subject": "s", "body": body}}},
        "dataflows": [{"name": "F", "stages": [{"name": "S", "steps": [
            {"name": "model", "type": "get_action_model"},
            {"name": "mail", "type": "send_templated_notification", "source": "model",
             "settings": {"notificationType": "Mail", "template": "T", "renderType": "Html",
                          "userName": {"value": "ann"}}}]}]}]});
    if let Ok(plan) = ENGINE.load("fuzz.json", component.to_string().as_bytes()) {
        let _ = plan.run("F", &json!({"data": data}), &RunContext::default(), RunOptions::default());
    }
});
