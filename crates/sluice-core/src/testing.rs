//! Test support (feature `testing`) for the tests of every crate.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// Announces that `test` does not run because `missing` is missing (`how` says how to get it).
/// The line goes to stderr past libtest's capture, so `cargo test` shows it even though the
/// test passes. Under CI (`CI` set) the test fails instead: CI runs every test.
pub fn skip(test: &str, missing: &str, how: &str) {
    assert!(std::env::var_os("CI").is_none(), "{test}: {missing} is missing under CI ({how})");
    let _ = writeln!(std::io::stderr(), "!!! SKIPPED {test}: {missing} is missing ({how})");
}

/// Everything a test's subscriber logged, at every level.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    /// A subscriber writing into these logs at TRACE level, without colours.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + use<> {
        let writer = self.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish()
    }

    /// The text logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Logs of every thread of the test process from the first call on (a global subscriber, for
/// code that logs on threads a test does not own, such as a server's).
pub fn global_logs() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let _ = tracing::subscriber::set_global_default(logs.subscriber());
        logs
    })
}
