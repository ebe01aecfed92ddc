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
    /// A step failed on an item and dropped it (`"onError": "continue"`).
    ItemDropped,
    /// A step failed on an item and routed it to its error branch.
    ItemRouted,
    /// A call outside Sluice failed and was tried again.
    OutsideCallRetried,
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
const ITEM_FAILURES: (&str, &str) =
    ("sluice_step_item_failures_total", "Items a step failed on and did not stop the run for, by what became of them.");
const RETRIES: (&str, &str) =
    ("sluice_outside_call_retries_total", "Calls outside Sluice tried again after a failure.");

impl Event {
    /// Every event, in the order metrics list them.
    pub const ALL: [Event; 8] = [
        Event::CodeIssued,
        Event::CodeConfirmed,
        Event::CodeRefused,
        Event::LoginAccepted,
        Event::LoginRefused,
        Event::ItemDropped,
        Event::ItemRouted,
        Event::OutsideCallRetried,
    ];

    /// The counter it adds to.
    pub fn counter(self) -> Counter {
        let ((metric, help), outcome) = match self {
            Event::CodeIssued => (CODES, "issued"),
            Event::CodeConfirmed => (CODES, "confirmed"),
            Event::CodeRefused => (CODES, "refused"),
            Event::LoginAccepted => (LOGINS, "accepted"),
            Event::LoginRefused => (LOGINS, "refused"),
            Event::ItemDropped => (ITEM_FAILURES, "dropped"),
            Event::ItemRouted => (ITEM_FAILURES, "routed"),
            Event::OutsideCallRetried => (RETRIES, "retried"),
        };
        Counter { metric, help, outcome }
    }
}
