//! When a step fails: the run stops, goes on without the item, or routes the item with its
//! error to an error branch; calls outside Sluice are tried again and bounded in time, against
//! a real SMTP server process (aiosmtpd) that refuses or stalls.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{Value, json};
use sluice::setup::{Channels, Secrets};
use sluice::store::MessageStatus;
use sluice::{Engine, LoadError, Plan, RunContext, RunOptions, Services, StepStatus};
use sluice_delivery::testing::{SmtpOptions, free_port};

mod common;
use common::smtp_server_with;

/// A dataflow over `data.Rows` whose step `check` fails on the row `n == 2`, handled as
/// `handling` says (extra keys of that step), with `extra` steps after it.
fn rows_flow(handling: Value, extra: Value) -> String {
    let mut check = json!({"name": "check", "type": "execute_script", "source": "rows",
        "settings": {"script": "if item.n == 2 { throw \"row 2 is bad\"; } item.checked = true;"}});
    check.as_object_mut().unwrap().extend(handling.as_object().unwrap().clone());
    let mut steps = vec![
        json!({"name": "in", "type": "get_action_model"}),
        json!({"name": "rows", "type": "extract_collection", "source": "in", "settings": {"path": "data.Rows"}}),
        check,
        json!({"name": "ok", "type": "write_response", "source": "check"}),
    ];
    steps.extend(extra.as_array().unwrap().iter().cloned());
    json!({"name": "Rows", "dataflows": [{"name": "F", "stages": [{"name": "s", "steps": steps}]}]}).to_string()
}

fn load(engine: &Engine, file: &str) -> Result<Plan, Vec<sluice::Diagnostic>> {
    engine.load("rows.json", file.as_bytes()).map_err(|e| match e {
        LoadError::Invalid { diagnostics, .. } => diagnostics,
        other => panic!("{other}"),
    })
}

fn rows() -> Value {
    json!({"data": {"Rows": [{"n": 1}, {"n": 2}, {"n": 3}]}})
}

#[test]
fn a_failure_stops_the_run_by_default() {
    let engine = Engine::new().unwrap();
    let plan = load(&engine, &rows_flow(json!({}), json!([]))).unwrap();
    let err = plan.run("F", &rows(), &RunContext::default(), RunOptions::default()).unwrap_err();
    assert!(err.to_string().contains("row 2 is bad"), "{err}");
}

#[test]
fn continue_drops_the_failed_item_and_counts_it() {
    let engine = Engine::new().unwrap();
    let plan = load(&engine, &rows_flow(json!({"onError": "continue"}), json!([]))).unwrap();
    let outcome = plan.run("F", &rows(), &RunContext::default(), RunOptions::default()).unwrap();
    let ns: Vec<&Value> = outcome.response.iter().map(|i| &i["n"]).collect();
    assert_eq!(ns, [&json!(1), &json!(3)]);
    let check = outcome.trace.iter().find(|t| t.step == "check").unwrap();
    assert_eq!((check.status, check.items_in, check.items_out, check.failed_items), (StepStatus::Ok, 3, 2, 1));
    assert!(
        check.notes[0].starts_with("an item failed and was dropped: script error: row 2 is bad"),
        "{:?}",
        check.notes
    );
    assert_eq!(check.events, [sluice::events::Event::ItemDropped]);
    assert_eq!(serde_json::to_value(check).unwrap()["failedItems"], 1);
}

#[test]
fn route_sends_the_failed_item_with_its_error_to_the_error_branch() {
    let engine = Engine::new().unwrap();
    let handler = json!([
        {"name": "fix", "type": "execute_script", "source": "check", "branch": "error",
         "settings": {"script": "item.handled = item._error.step;"}},
        {"name": "failed", "type": "write_response", "source": "fix"}]);
    let plan = load(&engine, &rows_flow(json!({"onError": "route"}), handler)).unwrap();
    let outcome = plan.run("F", &rows(), &RunContext::default(), RunOptions::default()).unwrap();
    assert_eq!(outcome.response.len(), 3);
    let routed = &outcome.response[2];
    assert_eq!(routed["n"], 2, "the item as the failing step received it");
    assert_eq!(routed.get("checked"), None, "and nothing the step wrote before it failed");
    assert_eq!(routed["handled"], "check");
    assert_eq!(routed["_error"]["type"], "execute_script");
    assert!(routed["_error"]["message"].as_str().unwrap().contains("row 2 is bad"), "{routed:?}");
    let fix = outcome.trace.iter().find(|t| t.step == "fix").unwrap();
    assert_eq!((fix.items_in, fix.items_out), (1, 1));
}

#[test]
fn error_handling_is_checked_at_load() {
    let engine = Engine::new().unwrap();
    let problems = |handling: Value, extra: Value| load(&engine, &rows_flow(handling, extra)).unwrap_err();
    let unrouted =
        problems(json!({}), json!([{"name": "x", "type": "write_response", "source": "check", "branch": "error"}]));
    assert_eq!(unrouted[0].pointer, "/dataflows/0/stages/0/steps/4/branch");
    assert_eq!(unrouted[0].message, "\"check\" does not route its errors");
    let untaken = problems(json!({"onError": "route"}), json!([]));
    assert_eq!(untaken[0].pointer, "/dataflows/0/stages/0/steps/2/onError");
    assert_eq!(untaken[0].message, "no step takes this step's error branch");
    let retry = problems(json!({"retry": {"attempts": 3}, "timeout": "5s"}), json!([]));
    assert_eq!(retry[0].pointer, "/dataflows/0/stages/0/steps/2/retry");
    assert_eq!(retry[0].message, "retry applies to steps that call outside Sluice, and execute_script does not");
    assert_eq!(retry[1].pointer, "/dataflows/0/stages/0/steps/2/timeout");
    let why = retry[1].hint.as_deref().unwrap_or_default();
    assert!(why.contains("bounded by the run's limits"), "the hint says what bounds a step's own work: {why}");
    let wrong = problems(json!({"onError": "later"}), json!([]));
    assert_eq!(wrong[0].pointer, "/dataflows/0/stages/0/steps/2/onError");
}

/// A dataflow that e-mails ann, with `handling` on the sending step.
fn mailing(handling: Value) -> String {
    let mut send = json!({"name": "send", "type": "send_notification", "source": "in", "settings": {
        "notificationType": "Smtp", "userName": {"value": "ann"}, "messageTheme": "Hello", "messageBody": "Hi"}});
    send.as_object_mut().unwrap().extend(handling.as_object().unwrap().clone());
    json!({"name": "Mailer", "dataflows": [{"name": "Send", "stages": [{"name": "s", "steps": [
        {"name": "in", "type": "get_action_model"}, send,
        {"name": "out", "type": "write_response", "source": "send"}]}]}]})
    .to_string()
}

/// A SQLite store whose courier speaks to the SMTP server on `port`, with ann.
fn mail_services(port: u16) -> (Services, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("s.db").display());
    let channels = Channels { smtp_url: Some(format!("smtp://127.0.0.1:{port}")), ..Default::default() };
    let services = sluice::setup::open_with(&url, &Secrets::default(), &channels).unwrap();
    let ann = r#"[{"userName": "ann", "email": "ann@example.com"}]"#;
    services.store.import_users(&sluice::users::parse_users(ann).unwrap()).unwrap();
    (services, dir)
}

fn send(services: &Services, handling: Value) -> Result<sluice::Outcome, sluice::RunError> {
    let engine = Engine::builder().services(services.clone()).build().unwrap();
    let plan = engine.load("mailer.json", mailing(handling).as_bytes()).unwrap();
    plan.run("Send", &json!({"data": {}}), &RunContext::default(), RunOptions::default())
}

#[test]
fn a_refused_delivery_is_tried_again_and_sent_once() {
    let port = free_port();
    let options = SmtpOptions { refuse_first: 2, ..Default::default() };
    let Some(server) = smtp_server_with(port, &options) else { return };
    let (services, _dir) = mail_services(port);
    let outcome = send(&services, json!({"retry": {"attempts": 3, "delay": "10ms"}})).unwrap();
    assert_eq!(server.messages().len(), 1, "delivered once");
    let sent = services.store.list_messages(None, None, 10).unwrap();
    assert_eq!(sent.len(), 1, "one message in the outbox, whatever the tries");
    assert_eq!((sent[0].status, sent[0].attempts), (MessageStatus::Sent, 3));
    let trace = outcome.trace.iter().find(|t| t.step == "send").unwrap();
    assert_eq!(trace.notes.len(), 2, "{:?}", trace.notes);
    assert!(trace.notes[0].starts_with("try 1 of 3 failed: "), "{:?}", trace.notes);
    assert!(trace.notes[0].contains("451"), "the server's answer is kept: {:?}", trace.notes);
    assert_eq!(trace.events, [sluice::events::Event::OutsideCallRetried; 2]);
}

#[test]
fn tries_that_all_fail_stop_the_run_or_go_to_the_error_branch() {
    let port = free_port();
    let options = SmtpOptions { refuse_first: 100, ..Default::default() };
    let Some(server) = smtp_server_with(port, &options) else { return };
    let (services, _dir) = mail_services(port);
    let err = send(&services, json!({"retry": {"attempts": 2, "delay": 0}})).unwrap_err();
    assert!(err.to_string().contains("(after 2 tries)"), "{err}");
    let failed = services.store.list_messages(None, None, 10).unwrap();
    assert_eq!((failed[0].status, failed[0].attempts), (MessageStatus::Failed, 2), "kept for `sluice outbox retry`");
    assert!(server.messages().is_empty());
}

#[test]
fn a_stalled_server_fails_the_try_at_the_timeout() {
    let port = free_port();
    let options = SmtpOptions { stall: Some(Duration::from_secs(20)), ..Default::default() };
    let Some(_server) = smtp_server_with(port, &options) else { return };
    let (services, _dir) = mail_services(port);
    let err = send(&services, json!({"timeout": "1s", "retry": {"attempts": 3, "delay": 0}})).unwrap_err();
    assert!(err.to_string().contains("no answer within 1s (the step's timeout)"), "{err}");
    assert!(!err.to_string().contains("tries"), "a timed-out try is not tried again: {err}");
}
