//! What users type as a one-time code, however wrong: each is refused with the reason it gets
//! (snapshot-tested), the right code still confirms afterwards, and nothing panics.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use serde_json::{Value, json};
use sluice::otp::{self, CodeKeys, ConfirmError, IssueRules};
use sluice::store::{IssueLimits, MemoryStore, User};
use sluice::{ManualClock, Services};

#[test]
fn every_bad_code_is_refused_for_its_reason() {
    let clock = Arc::new(ManualClock::new(1_795_000_000_000));
    let services = Services::new(
        Arc::new(MemoryStore::new()),
        CodeKeys::from_secret("bad-codes-secret-0123456789abcdef").unwrap(),
    )
    .with_clock(clock as Arc<dyn sluice::Clock>);
    let ann = User::new("ann");
    services.store.import_users(std::slice::from_ref(&ann)).unwrap();
    // Enough attempts and failures for every bad input below, so each gets its own reason.
    let services = Services { otp: sluice::otp::OtpPolicy { max_failures: 1000, ..Default::default() }, ..services };
    let rules = IssueRules {
        length: 6,
        lifetime: 300_000,
        max_attempts: 1000,
        limits: IssueLimits { resend_cooldown: 0, max_per_hour: 10 },
    };
    let code = otp::issue(&services, &ann, "web", &rules).unwrap().expose().to_owned();
    let other = if code == "000000" { "111111" } else { "000000" };
    let bad: Vec<(&str, Value)> = vec![
        ("empty", json!("")),
        ("spaces only", json!("      ")),
        ("five digits", json!("12345")),
        ("seven digits", json!("1234567")),
        ("a huge code", json!("9".repeat(100_000))),
        ("full-width digits", json!("１２３４５６")),
        ("Arabic-Indic digits", json!("١٢٣٤٥٦")),
        ("letters", json!("abcdef")),
        ("a sign", json!("+12345")),
        ("inner spaces", json!("123 456")),
        ("a dash", json!("123-456")),
        ("a number", json!(123456)),
        ("a float", json!(123456.0)),
        ("an array", json!([code.clone()])),
        ("an object", json!({"code": code.clone()})),
        ("null", Value::Null),
        ("true", json!(true)),
        ("SQL", json!("' OR 1=1 --")),
        ("a template", json!("{{ 7*7 }}")),
        ("a NUL", json!("12\u{0}456")),
        ("another code", json!(other)),
    ];
    let mut lines = Vec::new();
    for (what, typed) in &bad {
        let reason = match otp::confirm(&services, &ann, "web", typed) {
            Ok(()) => panic!("{what} was accepted"),
            Err(ConfirmError::Rejected(why)) => why.reason().to_owned(),
            Err(ConfirmError::Store(e)) => panic!("the store failed: {e}"),
        };
        lines.push(format!("{what}: {reason}"));
    }
    insta::assert_snapshot!(lines.join("\n"));
    let quoted = format!(" \"{code}\" ");
    assert!(
        otp::confirm(&services, &ann, "web", &json!(quoted)).is_ok(),
        "the right code, quoted and spaced, still works"
    );
}
