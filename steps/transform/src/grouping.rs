//! What Distinct and Group by share: the keys that make items the same.

use serde_json::Value;
use sluice_core::{BuildContext, BuildError, FieldPath, Item};

/// The key paths named by the setting `keys`, checked.
pub fn key_paths(cx: &mut BuildContext<'_>, keys: &[String]) -> Result<Vec<FieldPath>, BuildError> {
    let mut paths = Vec::with_capacity(keys.len());
    let mut failed = None;
    for (i, key) in keys.iter().enumerate() {
        match cx.path(&format!("keys/{i}"), key) {
            Ok(path) => paths.push(path),
            Err(e) => failed = Some(e),
        }
    }
    failed.map_or(Ok(paths), Err)
}

/// The values of an item's keys, as one text (a missing field is `null`): items with the same
/// text are the same.
pub fn key_of(paths: &[FieldPath], item: &Item) -> String {
    Value::Array(paths.iter().map(|p| p.get(item).cloned().unwrap_or(Value::Null)).collect()).to_string()
}
