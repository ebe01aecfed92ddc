//! What steps count for the server's metrics: typed events, recorded in each step's trace, that
//! the metrics add up without reading any step's notes or knowing any step type (as Vector's
//! internal events do).

use serde::Serialize;

/// Something that happened in a step, counted by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Event {
    /// A one-time code was issued.
    CodeIssued,
    /// A one-time code was confirmed.
    CodeConfirmed,
    /// A one-time code was refused.
    CodeRefused,
    /// A password login was accepted.
    LoginAccepted,
    /// A password login was refused.
    LoginRefused,
}

/// The counter an event adds one to: a Prometheus metric and the value of its `outcome` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// The metric's name.
    pub metric: &'static str,
    /// What the metric counts.
    pub help: &'static str,
    /// The `outcome` label.
    pub outcome: &'static str,
}

const CODES: (&str, &str) = ("sluice_one_time_codes_total", "One-time codes by outcome.");
const LOGINS: (&str, &str) = ("sluice_password_logins_total", "Password logins by outcome.");

impl Event {
    /// Every event, in the order metrics list them.
    pub const ALL: [Event; 5] =
        [Event::CodeIssued, Event::CodeConfirmed, Event::CodeRefused, Event::LoginAccepted, Event::LoginRefused];

    /// The counter it adds to.
    pub fn counter(self) -> Counter {
        let ((metric, help), outcome) = match self {
            Event::CodeIssued => (CODES, "issued"),
            Event::CodeConfirmed => (CODES, "confirmed"),
            Event::CodeRefused => (CODES, "refused"),
            Event::LoginAccepted => (LOGINS, "accepted"),
            Event::LoginRefused => (LOGINS, "refused"),
        };
        Counter { metric, help, outcome }
    }
}
