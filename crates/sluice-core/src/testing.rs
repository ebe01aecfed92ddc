//! Test support (feature `testing`) for the tests of every crate.

use std::io::Write;

/// Announces that `test` does not run because `missing` is missing (`how` says how to get it).
/// The line goes to stderr past libtest's capture, so `cargo test` shows it even though the
/// test passes. Under CI (`CI` set) the test fails instead: CI runs every test.
pub fn skip(test: &str, missing: &str, how: &str) {
    assert!(std::env::var_os("CI").is_none(), "{test}: {missing} is missing under CI ({how})");
    let _ = writeln!(std::io::stderr(), "!!! SKIPPED {test}: {missing} is missing ({how})");
}
