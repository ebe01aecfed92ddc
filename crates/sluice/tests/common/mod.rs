//! Helpers shared by the integration tests.

#[allow(unused_imports)]
pub use sluice::testing::Logs;

/// A real SMTP server process on `port`; `None` (after a line `cargo test` shows) when aiosmtpd
/// is not installed outside CI.
#[allow(dead_code)]
pub fn smtp_server(port: u16) -> Option<sluice_delivery::testing::SmtpServer> {
    smtp_server_with(port, &Default::default())
}

/// As [`smtp_server`], speaking as `options` say (refusing or stalling, say).
pub fn smtp_server_with(
    port: u16,
    options: &sluice_delivery::testing::SmtpOptions,
) -> Option<sluice_delivery::testing::SmtpServer> {
    if !sluice_delivery::testing::aiosmtpd_installed() {
        sluice::testing::skip("the SMTP tests", "aiosmtpd", "pip install aiosmtpd; .ci/run installs it");
        return None;
    }
    Some(sluice_delivery::testing::SmtpServer::start_with(port, options))
}
