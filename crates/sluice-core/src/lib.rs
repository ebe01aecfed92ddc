//! The Sluice engine: loads component files, validates them with located errors, compiles them
//! into plans and runs their dataflows.
//!
//! Step types are plugins (see [`plugin`]); link the step crates (or the `sluice` facade crate)
//! to get the built-in ones.
//!
//! ```text
//! let engine = sluice_core::Engine::new()?;
//! let plan = engine.load_file("component.json")?;
//! let outcome = plan.run("GetCode", &serde_json::json!({"data": {}}), &Default::default(), Default::default())?;
//! ```

pub mod accounts;
pub mod authenticator;
pub mod catalog;
pub mod clock;
pub mod compare;
pub mod component;
pub mod connectors;
pub mod diagnostics;
pub mod duration;
pub mod engine;
pub mod entries;
pub mod events;
pub mod files;
pub mod help;
pub mod labels;
mod load;
mod mapping;
pub mod notify;
pub mod otp;
pub mod passwords;
pub mod path;
pub mod plan;
pub mod plugin;
pub mod resilience;
pub mod run;
pub mod schema;
pub mod script;
pub mod services;
pub mod sessions;
pub mod single;
pub mod source;
pub mod store;
pub mod templates;
#[cfg(feature = "testing")]
pub mod testing;
pub mod totp;
pub mod types;

pub use catalog::{CatalogEntry, CatalogSetting};
pub use clock::{Clock, ManualClock, Millis, SystemClock};
pub use diagnostics::{Diagnostic, LoadError};
pub use engine::{Engine, EngineBuilder, EngineError};
pub use load::UpstreamFields;
pub use mapping::ModelMapping;
pub use path::{FieldOrValue, FieldPath, Literal, ValueSource};
pub use plan::Plan;
pub use plugin::{
    AllItemsStep, BuildContext, BuildError, BuiltStep, Group, Item, Lang, Localized, SYSTEM_FIELDS, Secret,
    SettingLabel, StartStep, Step, StepContext, StepDescriptor, StepError, StepMeta, StepPlugin, StepRef,
};
pub use run::{
    FailedAt, Outcome, Returned, RunContext, RunError, RunOptions, StepFailure, StepStatus, StepTrace, TracedItems,
};
pub use script::{CompiledScript, FieldUse, ScriptError, ScriptHost, ScriptLimits};
pub use services::Services;
pub use single::{SingleRun, SingleStep};
pub use source::Location;

/// Re-exported so step crates register with the same `inventory` version as the engine.
pub use inventory;
/// Re-exported so step crates compile schemas with the engine's `jsonschema`.
pub use jsonschema;
/// Re-exported so step crates derive settings schemas with the engine's `schemars`.
pub use schemars;

/// A new random (version 4) UUID, as text: the ids of users and code challenges.
///
/// The bytes come from `rand`'s thread-local CSPRNG (ChaCha12 seeded by the OS), which saves
/// a system call per id; codes themselves are drawn from the OS directly.
pub fn new_uuid() -> String {
    uuid::Builder::from_random_bytes(rand::random()).into_uuid().to_string()
}

/// A new time-ordered (version 7) UUID, as text: the ids of entries, messages and runs.
///
/// Its first 48 bits are the wall-clock milliseconds, so a database indexes new records at the
/// end of its id index instead of on a random page (measured in docs/performance.md); the other
/// 74 bits are random, as in [`new_uuid`].
pub fn new_time_ordered_uuid() -> String {
    let millis = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &rand::random()).into_uuid().to_string()
}

/// Most characters of a caller's value that a log line shows.
pub const LOG_TEXT_CHARS: usize = 64;

/// A value that a caller chose (a client, a user name) as a log line shows it: control
/// characters and quotes escaped, so it cannot forge a line, and at most [`LOG_TEXT_CHARS`]
/// characters, so it cannot flood the log.
pub fn log_text(value: &str) -> String {
    let mut shown: String = value.chars().take(LOG_TEXT_CHARS).flat_map(char::escape_debug).collect();
    if value.chars().nth(LOG_TEXT_CHARS).is_some() {
        shown.push('…');
    }
    shown
}

/// The SHA-256 of `text`, in hex: a fixed-size stand-in that reveals nothing of it.
pub fn fingerprint(text: &str) -> String {
    use sha2::Digest;
    data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn log_text_escapes_and_truncates() {
        assert_eq!(super::log_text("web"), "web");
        assert_eq!(super::log_text("a\nuser=admin \"x\""), "a\\nuser=admin \\\"x\\\"");
        assert_eq!(super::log_text(&"x".repeat(100)), format!("{}…", "x".repeat(64)));
    }

    #[test]
    fn time_ordered_ids_are_version_7_and_sort_by_creation() {
        let first = super::new_time_ordered_uuid();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = super::new_time_ordered_uuid();
        for id in [&first, &second] {
            let parsed = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(parsed.get_version_num(), 7, "{id}");
        }
        assert!(first < second, "{first} sorts after {second}");
        assert_eq!(uuid::Uuid::parse_str(&super::new_uuid()).unwrap().get_version_num(), 4);
    }
}
