//! Opening a store from a URL, with the server key that hashes one-time codes.
//!
//! | URL | store | key |
//! |---|---|---|
//! | `memory:` | in memory, gone at exit | random per process |
//! | `sqlite:PATH` | the SQLite file PATH (default `sqlite:.sluice/sluice.db`) | `PATH` with extension `.key`, made with mode 0600 |
//! | `postgres://user@host:port/db[?schema=NAME]` | PostgreSQL, shared by replicas | the secret, which must be given |
//!
//! A secret given explicitly (the CLI's `SLUICE_SECRET`) replaces the key file; earlier
//! secrets (`SLUICE_SECRET_PREVIOUS`, comma-separated) still confirm codes made under them.
//! A PostgreSQL store has no key file: every replica must hash codes with the same secret,
//! and it must not live in the database it protects.

use std::path::PathBuf;
use std::sync::Arc;

use sluice_core::Services;
use sluice_core::otp::{CodeKeys, KeyError};
use sluice_core::store::{MemoryStore, Store, StoreError};
use sluice_delivery::Couriers;
use sluice_store_postgres::PostgresStore;
use sluice_store_sqlite::SqliteStore;

/// The store used when none is named.
pub const DEFAULT_STORE: &str = "sqlite:.sluice/sluice.db";

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The URL names no known kind of store.
    #[error("unknown store \"{0}\": use memory:, sqlite:PATH or postgres://user@host:port/db")]
    UnknownStore(String),
    /// A shared store was named without the secret its replicas share.
    #[error("a PostgreSQL store needs the code secret (SLUICE_SECRET), the same on every replica")]
    SecretRequired,
    /// The store would not open.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The key would not load.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A delivery channel is misconfigured.
    #[error("{0}")]
    Channel(String),
    /// The random source failed.
    #[error("{0}")]
    Random(String),
}

pub use sluice_delivery::Channels;

/// Opens the store named by `url` with its key, delivering notifications through `channels`.
pub fn open_with(url: &str, secrets: &Secrets, channels: &Channels) -> Result<Services, SetupError> {
    let couriers = Couriers::new(channels).map_err(|e| SetupError::Channel(e.to_string()))?;
    let connectors = sluice_delivery::connectors(channels).map_err(|e| SetupError::Channel(e.to_string()))?;
    Ok(open(url, secrets)?.with_courier(Arc::new(couriers)).with_connectors(connectors))
}

/// The secrets for code hashes, when given outside the store.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// The current secret.
    pub current: Option<String>,
    /// Earlier secrets still accepted.
    pub previous: Vec<String>,
}

/// Opens the store named by `url` and its key.
pub fn open(url: &str, secrets: &Secrets) -> Result<Services, SetupError> {
    let (store, key_file): (Arc<dyn Store>, Option<PathBuf>) = if url == "memory:" {
        (Arc::new(MemoryStore::new()), None)
    } else if let Some(path) = url.strip_prefix("sqlite:").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        (Arc::new(SqliteStore::open(&path)?), Some(path.with_extension("key")))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        if secrets.current.is_none() {
            return Err(SetupError::SecretRequired);
        }
        (Arc::new(PostgresStore::open(url)?), None)
    } else {
        return Err(SetupError::UnknownStore(url.to_owned()));
    };
    let keys = match (&secrets.current, key_file) {
        (Some(secret), _) => CodeKeys::from_secret(secret)?,
        (None, Some(file)) => CodeKeys::from_file(&file)?,
        (None, None) => CodeKeys::random().map_err(|e| SetupError::Random(e.to_string()))?,
    };
    let previous: Vec<&str> = secrets.previous.iter().map(String::as_str).filter(|s| !s.trim().is_empty()).collect();
    Ok(Services::new(store, keys.with_previous(&previous)?))
}
