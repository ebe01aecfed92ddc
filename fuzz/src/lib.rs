//! What the fuzz targets share: reading an input as text plus an item, and running a
//! one-dataflow component built around the step under test.

use serde_json::{Value, json};
use sluice::{Engine, RunContext, RunOptions};

/// The text before the first NUL (when it is UTF-8) and the JSON after it as the item's
/// `data` (`{}` when there is no NUL or it is not JSON).
pub fn text_and_data(bytes: &[u8]) -> Option<(&str, Value)> {
    let (text, item) = match bytes.iter().position(|b| *b == 0) {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &b"{}"[..]),
    };
    let data = serde_json::from_slice(item).unwrap_or(json!({}));
    Some((std::str::from_utf8(text).ok()?, data))
}

/// Loads `component` (whose dataflow `F` starts with a step named `model`) and, when it
/// loads, runs `F` on `{"data": data}`; what either says is of no interest, only that it
/// returns.
pub fn load_and_run(engine: &Engine, component: &Value, data: Value) {
    if let Ok(plan) = engine.load("fuzz.json", component.to_string().as_bytes()) {
        let _ = plan.run("F", &json!({ "data": data }), &RunContext::default(), RunOptions::default());
    }
}
