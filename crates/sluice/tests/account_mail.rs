//! The account examples with their mail sent to a real SMTP server process (aiosmtpd): the
//! sign-up's confirmation link and the password reset's link are read from the delivered
//! messages, as a person would read them, and followed.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use serde_json::{Value, json};
use sluice::setup::{Channels, Secrets};
use sluice::{Engine, Plan, RunContext, RunOptions, Services};
use sluice_delivery::testing::free_port;

mod common;
use common::smtp_server;

const SIGNUP: &str = include_str!("../../../examples/signup/component.json");
const RESET: &str = include_str!("../../../examples/password-reset/component.json");

/// `component` with its mail sent over SMTP to `port`, on a fresh SQLite store holding ann.
fn setup(component: &str, port: u16) -> (Plan, Services, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("s.db").display());
    let channels = Channels { smtp_url: Some(format!("smtp://127.0.0.1:{port}")), ..Default::default() };
    let services = sluice::setup::open_with(&url, &Secrets::default(), &channels)
        .unwrap()
        .with_public_url("https://app.example.com");
    let users = r#"[{"userName": "ann", "email": "ann@example.com", "locale": "fr", "password": "pw-ann-12345"}]"#;
    services.store.import_users(&sluice::users::parse_users(users).unwrap()).unwrap();
    let component = component.replace("\"notificationType\": \"Mail\"", "\"notificationType\": \"Smtp\"");
    let engine = Engine::builder().services(services.clone()).build().unwrap();
    (engine.load("example.json", component.as_bytes()).unwrap(), services, dir)
}

fn run(plan: &Plan, dataflow: &str, data: Value) -> Result<sluice::Outcome, sluice::RunError> {
    let cx = RunContext { user: None, client: Some("web".into()) };
    plan.run(dataflow, &json!({ "data": data }), &cx, RunOptions::default())
}

/// The text of a delivered message's body, decoded from quoted-printable or base64.
fn body_of(raw: &str) -> String {
    let (head, body) = raw.split_once("\n\n").or_else(|| raw.split_once("\r\n\r\n")).unwrap_or((raw, ""));
    if head.contains("Content-Transfer-Encoding: base64") {
        let joined: String = body.split_whitespace().collect();
        return String::from_utf8(base64::engine::general_purpose::STANDARD.decode(joined).unwrap()).unwrap();
    }
    if head.contains("Content-Transfer-Encoding: quoted-printable") {
        let joined = body.replace("=\r\n", "").replace("=\n", "");
        let mut out = Vec::new();
        let bytes = joined.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            if bytes[i] == b'='
                && let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        return String::from_utf8(out).unwrap();
    }
    body.to_owned()
}

/// The token of the link under `page` in the one message sent to `to`.
fn link_token(messages: &[String], to: &str, page: &str) -> String {
    let message = messages.iter().find(|m| m.contains(&format!("To: {to}"))).unwrap_or_else(|| panic!("{messages:#?}"));
    let body = body_of(message);
    let prefix = format!("https://app.example.com{page}?token=");
    let start = body.find(&prefix).unwrap_or_else(|| panic!("no link in {body}")) + prefix.len();
    body[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

#[test]
fn a_new_user_confirms_the_address_through_the_mailed_link() {
    let port = free_port();
    let Some(server) = smtp_server(port) else { return };
    let (plan, services, _dir) = setup(SIGNUP, port);
    let register = json!({"UserName": "dora", "Email": "dora@example.com", "Password": "a long walk by the sea"});
    run(&plan, "Register", register).unwrap();
    let messages = server.messages();
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert!(messages[0].contains("Subject: Confirm your e-mail address"), "{}", messages[0]);
    let token = link_token(&messages, "dora@example.com", "/account/confirm-email");
    assert_eq!(token.len(), 43);
    assert!(!services.store.find_user("dora").unwrap().unwrap().active);
    run(&plan, "ConfirmEmail", json!({"Token": token})).unwrap();
    let dora = services.store.find_user("dora").unwrap().unwrap();
    assert!(dora.active && dora.email_verified);
    assert!(run(&plan, "ConfirmEmail", json!({"Token": token})).is_err(), "once");
    let sent = services.store.list_messages(None, None, 10).unwrap();
    assert!(sent.iter().all(|m| m.body.is_empty()), "the link is not kept once sent");
}

#[test]
fn a_forgotten_password_is_reset_through_the_mailed_link_in_the_users_language() {
    let port = free_port();
    let Some(server) = smtp_server(port) else { return };
    let (plan, services, _dir) = setup(RESET, port);
    run(&plan, "ForgotPassword", json!({"UserName": "nobody"})).unwrap();
    run(&plan, "ForgotPassword", json!({"UserName": "ann"})).unwrap();
    let messages = server.messages();
    assert_eq!(messages.len(), 1, "no mail for a stranger: {messages:#?}");
    assert!(messages[0].contains("Subject: Choisissez un nouveau mot de passe"), "{}", messages[0]);
    let token = link_token(&messages, "ann@example.com", "/account/reset-password");
    run(&plan, "ResetPassword", json!({"Token": token, "Password": "a quiet morning in june"})).unwrap();
    let hash = services.store.find_user("ann").unwrap().unwrap().password_hash.unwrap();
    assert!(sluice::passwords::matches(&hash, "a quiet morning in june"));
}
