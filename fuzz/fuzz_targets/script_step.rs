//! The Execute script step: an arbitrary script (up to the first NUL) run over an arbitrary
//! item (the rest, as JSON), under the default limits. Never a panic, never past the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use sluice::Engine;
use sluice_fuzz::{load_and_run, text_and_data};
use std::sync::LazyLock;

static ENGINE: LazyLock<Engine> = LazyLock::new(|| Engine::new().expect("the engine builds"));

fuzz_target!(|bytes: &[u8]| {
    let Some((script, data)) = text_and_data(bytes) else { return };
    let component = json!({"name": "Fuzz", "dataflows": [{"name": "F", "stages": [{"name": "S", "steps": [
        {"name": "model", "type": "get_action_model"},
        {"name": "script", "type": "execute_script", "source": "model", "settings": {"script": script}},
        {"name": "response", "type": "write_response", "source": "script"}]}]}]});
    load_and_run(&ENGINE, &component, data);
});
