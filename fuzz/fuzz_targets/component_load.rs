//! The component loader and validator on arbitrary bytes: what `sluice validate` and
//! `PUT /api/components/{name}` hand it. It must never panic, and a refusal must say where.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice::{Engine, LoadError};
use std::sync::LazyLock;

static ENGINE: LazyLock<Engine> = LazyLock::new(|| Engine::new().expect("the engine builds"));

fuzz_target!(|bytes: &[u8]| {
    if let Err(LoadError::Invalid { diagnostics, .. }) = ENGINE.load("fuzz.json", bytes) {
        assert!(!diagnostics.is_empty());
    }
});
