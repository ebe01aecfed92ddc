//! The Execute script step: an arbitrary script (up to the first NUL) run over an arbitrary
//! item (the rest, as JSON), under the default limits. Never a panic, never past the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use sluice::{Engine, RunContext, RunOptions};
use std::sync::LazyLock;

static ENGINE: LazyLock<Engine> = LazyLock::new(|| Engine::new().expect("the engine builds"));

fuzz_target!(|bytes: &[u8]| {
    let (script, item) = match bytes.iter().position(|b| *b == 0) {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &b"{}"[..]),
    };
    let Ok(script) = std::str::from_utf8(script) else { return };
    let data: Value = serde_json::from_slice(item).unwrap_or(json!({}));
    let component = json!({"name": "Fuzz", "dataflows": [{"name": "F", "stages": [{"name": "S", "steps": [
        {"name": "model", "type": "get_action_model"},
        {"name": "script", "type": "execute_script", "source": "model", "settings": {"script": script}},
        {"name": "response", "type": "write_response", "source": "script"}]}]}]});
    if let Ok(plan) = ENGINE.load("fuzz.json", component.to_string().as_bytes()) {
        let _ = plan.run("F", &json!({"data": data}), &RunContext::default(), RunOptions::default());
    }
});
