//! Random mutations of the example components: loading never panics, and every problem's
//! JSON Pointer resolves in the mutated file (or, for a missing member, its parent does).

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use serde_json::{Value, json};
use sluice::{Engine, LoadError};

const EXAMPLES: [&str; 3] = [
    include_str!("../../../examples/for-test-code/component.json"),
    include_str!("../../../examples/for-test-code-demo/component.json"),
    include_str!("../../../examples/email-2fa/component.json"),
];

/// Every JSON Pointer in `value`, the root included.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                pointers(v, format!("{at}/{}", key.replace('~', "~0").replace('/', "~1")), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

#[derive(Debug, Clone)]
enum Mutation {
    /// Removes the member or element.
    Remove,
    /// Puts this value in its place.
    Replace(Value),
    /// Copies an array element next to itself (duplicate names, doubled steps).
    Duplicate,
}

fn replacement() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        Just(json!(1e308)),
        "[a-zA-Z0-9_.@\\[\\]\"' {}$-]{0,12}".prop_map(Value::String),
        Just(json!("１２３")),
        Just(json!("model")),
        Just(json!("{{ item.x }}")),
        Just(json!("'; DROP TABLE users; --")),
        Just(json!([])),
        Just(json!({})),
        Just(json!([{"name": "x", "type": "write_response", "source": "x"}])),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => Just(Mutation::Remove),
        5 => replacement().prop_map(Mutation::Replace),
        1 => Just(Mutation::Duplicate),
    ]
}

fn apply(root: &mut Value, pointer: &str, mutation: &Mutation) {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        if let Mutation::Replace(v) = mutation {
            *root = v.clone();
        }
        return;
    };
    let key = last.replace("~1", "/").replace("~0", "~");
    match root.pointer_mut(parent) {
        Some(Value::Object(map)) => match mutation {
            Mutation::Remove => {
                map.remove(&key);
            }
            Mutation::Replace(v) => {
                map.insert(key, v.clone());
            }
            Mutation::Duplicate => {}
        },
        Some(Value::Array(items)) => {
            let Ok(i) = key.parse::<usize>() else { return };
            match mutation {
                Mutation::Remove if i < items.len() => {
                    items.remove(i);
                }
                Mutation::Replace(v) if i < items.len() => items[i] = v.clone(),
                Mutation::Duplicate if i < items.len() => {
                    let copy = items[i].clone();
                    items.insert(i, copy);
                }
                _ => {}
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_components_give_located_errors_and_never_panic(
        example in 0..EXAMPLES.len(),
        picks in proptest::collection::vec((any::<proptest::sample::Index>(), mutation()), 1..4),
    ) {
        let engine = Engine::new().unwrap();
        let mut root: Value = serde_json::from_str(EXAMPLES[example]).unwrap();
        for (pick, mutation) in &picks {
            let mut all = Vec::new();
            pointers(&root, String::new(), &mut all);
            let pointer = pick.get(&all).clone();
            apply(&mut root, &pointer, mutation);
        }
        let text = serde_json::to_string_pretty(&root).unwrap();
        match engine.load("mutated.json", text.as_bytes()) {
            Ok(_) => {}
            Err(LoadError::Invalid { diagnostics, .. }) => {
                prop_assert!(!diagnostics.is_empty());
                for d in &diagnostics {
                    let parent = d.pointer.rsplit_once('/').map_or("", |(p, _)| p);
                    prop_assert!(
                        root.pointer(&d.pointer).is_some() || root.pointer(parent).is_some(),
                        "{} does not resolve in {}", d.pointer, text
                    );
                    prop_assert!(!d.message.is_empty());
                }
            }
            Err(e) => prop_assert!(false, "not a located refusal: {e}"),
        }
    }
}
