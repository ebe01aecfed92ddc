//! Every component file of the bad-input corpus (`tests/bad-inputs/components/`) is refused with located messages (snapshot-tested),
//! and no input makes the loader panic.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

use std::time::{Duration, Instant};

use serde_json::Value;
use sluice::{Diagnostic, Engine, LoadError};

fn diagnostics(engine: &Engine, bytes: &[u8]) -> Vec<Diagnostic> {
    match engine.load("test", bytes) {
        Ok(_) => panic!("the component was accepted"),
        Err(LoadError::Invalid { diagnostics, .. }) => diagnostics,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

#[test]
fn every_broken_file_gives_its_located_messages() {
    let engine = Engine::new().unwrap();
    let mut count = 0;
    insta::glob!("../../../tests/bad-inputs", "components/*.json", |path| {
        count += 1;
        let bytes = std::fs::read(path).unwrap();
        let found = diagnostics(&engine, &bytes);
        assert!(!found.is_empty());
        if let Ok(root) = serde_json::from_slice::<Value>(&bytes) {
            for d in &found {
                let parent = d.pointer.rsplit_once('/').map_or("", |(p, _)| p);
                assert!(
                    root.pointer(&d.pointer).is_some() || root.pointer(parent).is_some(),
                    "{} does not resolve in {}",
                    d.pointer,
                    path.display()
                );
            }
        }
        let text: Vec<String> = found.iter().map(ToString::to_string).collect();
        insta::assert_snapshot!(text.join("\n"));
    });
    assert!(count >= 40, "the corpus has {count} files");
}

#[test]
fn a_50_mb_file_is_refused_quickly_without_panic() {
    let engine = Engine::new().unwrap();
    let mut text = String::from(r#"{"name": "Big", "dataflows": ["#);
    let element = r#"{"name": "F", "stages": "not an array"},"#;
    while text.len() < 50 << 20 {
        text.push_str(element);
    }
    text.pop();
    text.push_str("]}");
    let started = Instant::now();
    let found = diagnostics(&engine, text.as_bytes());
    assert_eq!(found.len(), 501, "500 problems and a count of the rest");
    assert!(found.iter().any(|d| d.pointer == "/dataflows/0/stages" && d.message.starts_with("expected an array")));
    assert!(found.iter().any(|d| d.message.ends_with("more problems are not shown")));
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn files_over_the_size_limit_are_refused_before_parsing() {
    let engine = Engine::builder().max_file_size(1000).build().unwrap();
    let found = diagnostics(&engine, &vec![b' '; 1001]);
    assert_eq!(found[0].message, "the file is 1001 bytes; the limit is 1000");
}

#[test]
fn deep_nesting_inside_a_component_is_refused() {
    let engine = Engine::new().unwrap();
    let deep = format!(r#"{{"name": "D", "dataflows": [], "title": {}1{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
    let found = diagnostics(&engine, deep.as_bytes());
    assert!(found[0].message.contains("recursion limit"), "{}", found[0].message);
}

const ALPHABET: &[u8] = b"{}[]\":,0123456789.-eE truefalsenull\\/\n\xff\xc3";

#[test]
fn random_bytes_never_panic() {
    let engine = Engine::new().unwrap();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for len in 0..2000 {
        let bytes: Vec<u8> = (0..len % 300)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                ALPHABET[(state % ALPHABET.len() as u64) as usize]
            })
            .collect();
        let _ = engine.load("random", &bytes);
    }
}
