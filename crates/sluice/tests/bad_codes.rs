//! What users type as a one-time code, however wrong (`tests/bad-inputs/codes.json`): each is
//! refused with the reason it gets (snapshot-tested), the right code still confirms afterwards,
//! and nothing panics.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use serde_json::{Value, json};
use sluice::otp::{self, Binding, CodeKeys, ConfirmError, IssueRules};
use sluice::store::{IssueLimits, MemoryStore, User};
use sluice::{ManualClock, Services};

/// The binding of the codes typed here.
const WEB: Binding<'static> = Binding { purpose: "sign-in", client: "web" };

/// The bad codes of `tests/bad-inputs/codes.json`: `"$code"` stands for the code just issued,
/// `"$other"` for another well-formed code, and `repeat` repeats `typed` that many times.
fn corpus(code: &str, other: &str) -> Vec<(String, Value)> {
    fn fill(value: &mut Value, code: &str, other: &str) {
        match value {
            Value::String(s) if s == "$code" => *s = code.to_owned(),
            Value::String(s) if s == "$other" => *s = other.to_owned(),
            Value::Array(items) => items.iter_mut().for_each(|v| fill(v, code, other)),
            Value::Object(map) => map.values_mut().for_each(|v| fill(v, code, other)),
            _ => {}
        }
    }
    let cases: Vec<Value> = serde_json::from_str(include_str!("../../../tests/bad-inputs/codes.json")).unwrap();
    cases
        .into_iter()
        .map(|case| {
            let mut typed = case["typed"].clone();
            if let (Some(text), Some(times)) = (typed.as_str(), case["repeat"].as_u64()) {
                typed = json!(text.repeat(times as usize));
            }
            fill(&mut typed, code, other);
            (case["what"].as_str().unwrap().to_owned(), typed)
        })
        .collect()
}

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
    let code = otp::issue(&services, &ann, WEB, &rules, Vec::new()).unwrap().code.expose().to_owned();
    let other = if code == "000000" { "111111" } else { "000000" };
    let bad = corpus(&code, other);
    let mut lines = Vec::new();
    for (what, typed) in &bad {
        let reason = match otp::confirm(&services, &ann, WEB, None, typed) {
            Ok(_) => panic!("{what} was accepted"),
            Err(ConfirmError::Rejected(why)) => why.reason().to_owned(),
            Err(ConfirmError::Store(e)) => panic!("the store failed: {e}"),
        };
        lines.push(format!("{what}: {reason}"));
    }
    insta::assert_snapshot!(lines.join("\n"));
    let quoted = format!(" \"{code}\" ");
    assert!(
        otp::confirm(&services, &ann, WEB, None, &json!(quoted)).is_ok(),
        "the right code, quoted and spaced, still works"
    );
}
