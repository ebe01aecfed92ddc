//! Helpers shared by the integration tests.

pub use sluice::testing::Logs;
