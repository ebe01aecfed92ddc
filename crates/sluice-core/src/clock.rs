//! Time, injectable so that expiry and rate limits are tested without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};

/// Milliseconds since the Unix epoch, UTC: the unit every store keeps time in.
pub type Millis = i64;

/// Where the engine reads the time.
pub trait Clock: Send + Sync {
    /// The current time, in milliseconds since the Unix epoch.
    fn now(&self) -> Millis;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        Utc::now().timestamp_millis()
    }
}

/// A clock that only moves when told to (for tests and replays).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock stopped at `at` milliseconds since the epoch.
    pub fn new(at: Millis) -> Self {
        ManualClock(AtomicI64::new(at))
    }

    /// A clock stopped at `at`.
    pub fn at(at: DateTime<Utc>) -> Self {
        ManualClock(AtomicI64::new(at.timestamp_millis()))
    }

    /// Moves the clock forward (or back, with a negative amount) by `millis`.
    pub fn advance(&self, millis: Millis) {
        self.0.fetch_add(millis, Ordering::SeqCst);
    }

    /// Sets the clock.
    pub fn set(&self, at: Millis) {
        self.0.store(at, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        self.0.load(Ordering::SeqCst)
    }
}

/// Formats a time as RFC 3339 (UTC, milliseconds), as entries and records show it.
pub fn rfc3339(at: Millis) -> String {
    DateTime::<Utc>::from_timestamp_millis(at)
        .map_or_else(|| at.to_string(), |t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}
