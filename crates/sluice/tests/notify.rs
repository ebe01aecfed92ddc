//! Notifications for real: e-mails through a real SMTP server process (aiosmtpd, installed by
//! `.ci/run`), webhooks to a local HTTP listener, failures kept in the outbox and retried, and
//! the e-mail two-factor login keeping its code out of responses, traces and logs.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use sluice::setup::{Channels, Secrets};
use sluice::store::MessageStatus;
use sluice::{Engine, Plan, RunContext, RunError, RunOptions, Services};
use sluice_delivery::testing::{WebhookListener, free_port};

mod common;
use common::{Logs, smtp_server};

const EXAMPLE: &str = include_str!("../../../examples/email-2fa/component.json");

/// The email-2fa example on a fresh SQLite store, with passwords set and `channel` for the code.
fn setup(channel: &str, channels: &Channels) -> (Plan, Services, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("s.db").display());
    let services = sluice::setup::open_with(&url, &Secrets::default(), channels).unwrap();
    let text = r#"[{"userName": "ann", "email": "ann@example.com", "firstName": "Anne", "locale": "fr", "password": "pw-ann-123"},
                   {"userName": "kim", "email": "kim@example.com", "locale": "ja", "password": "pw-kim-123"}]"#;
    services.store.import_users(&sluice::users::parse_users(text).unwrap()).unwrap();
    let component = EXAMPLE.replace("\"notificationType\": \"Mail\"", &format!("\"notificationType\": \"{channel}\""));
    let engine = Engine::builder().services(services.clone()).build().unwrap();
    let plan = engine.load("email-2fa.json", component.as_bytes()).unwrap();
    (plan, services, dir)
}

fn login(plan: &Plan, user: &str, password: &str) -> Result<sluice::Outcome, RunError> {
    let cx = RunContext { user: None, client: Some("web".into()) };
    plan.run(
        "Login",
        &json!({"data": {"UserName": user, "Password": password}}),
        &cx,
        RunOptions { trace_items: true, ..Default::default() },
    )
}

fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit()).find(|run| run.len() == 6).unwrap_or_default().to_owned()
}

#[test]
fn smtp_delivers_the_localized_code_to_a_real_server() {
    let port = free_port();
    let Some(server) = smtp_server(port) else { return };
    let channels = Channels { smtp_url: Some(format!("smtp://127.0.0.1:{port}")), ..Default::default() };
    let (plan, services, _dir) = setup("Smtp", &channels);
    let challenge = login(&plan, "ann", "pw-ann-123").unwrap().response[0]["_otpChallenge"].clone();
    login(&plan, "kim", "pw-kim-123").unwrap();
    let messages = server.messages();
    assert_eq!(messages.len(), 2, "{messages:#?}");
    let ann = messages.iter().find(|m| m.contains("To: ann@example.com")).unwrap();
    assert!(ann.contains("Subject: Votre code de connexion"), "{ann}");
    assert!(ann.contains("Content-Type: text/html"), "{ann}");
    let kim = messages.iter().find(|m| m.contains("To: kim@example.com")).unwrap();
    assert!(kim.contains("Subject: Your sign-in code"), "no Japanese variant: English is the fallback\n{kim}");
    let code = code_in(ann);
    assert_eq!(code.len(), 6, "{ann}");
    let cx = RunContext { user: None, client: Some("web".into()) };
    let verified = plan.run(
        "Verify",
        &json!({"data": {"UserName": "ann", "Code": code, "Challenge": challenge}}),
        &cx,
        RunOptions::default(),
    );
    assert_eq!(verified.unwrap().response[0]["_confirmed"], true);
    let sent = services.store.list_messages(None, None, 10).unwrap();
    assert!(
        sent.iter().all(|m| m.status == MessageStatus::Sent && m.body.is_empty()),
        "e-mail bodies are not kept once sent"
    );
}

#[test]
fn a_failed_delivery_stays_in_the_outbox_and_a_retry_sends_it() {
    let port = free_port();
    let channels = Channels { smtp_url: Some(format!("smtp://127.0.0.1:{port}")), ..Default::default() };
    let (plan, services, _dir) = setup("Smtp", &channels);
    let Err(RunError::StepFailed(failure)) = login(&plan, "ann", "pw-ann-123") else {
        panic!("the SMTP server is down")
    };
    assert_eq!(failure.step, "mail");
    assert!(
        failure.message.starts_with("Smtp delivery failed: the SMTP server refused or could not be reached"),
        "{}",
        failure.message
    );
    assert!(failure.message.contains("kept in the outbox"), "{}", failure.message);
    let failed = services.store.list_messages(None, Some(MessageStatus::Failed), 10).unwrap();
    assert_eq!((failed.len(), failed[0].attempts), (1, 1));
    assert!(!failed[0].body.is_empty(), "the body is kept for the retry");

    let Some(server) = smtp_server(port) else { return };
    let (delivered, errors) = sluice::notify::retry_failed(&services).unwrap();
    assert_eq!((delivered, errors.len()), (1, 0));
    assert_eq!(server.messages().len(), 1);
    let message = services.store.get_message(&failed[0].id).unwrap().unwrap();
    assert_eq!((message.status, message.attempts), (MessageStatus::Sent, 2));
}

#[test]
fn webhooks_are_posted_as_json_with_retries() {
    let listener = WebhookListener::start(1);
    let channels = Channels { webhook_url: Some(listener.url.clone()), ..Default::default() };
    let (plan, services, _dir) = setup("Webhook", &channels);
    login(&plan, "ann", "pw-ann-123").unwrap();
    let received = listener.bodies();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["recipient"], "ann");
    assert_eq!(received[0]["subject"], "Votre code de connexion");
    assert_eq!(code_in(received[0]["body"].as_str().unwrap()).len(), 6);
    assert_eq!(services.store.list_messages(None, Some(MessageStatus::Sent), 5).unwrap().len(), 1);

    let unreachable = format!("http://127.0.0.1:{}/hook", free_port());
    let channels = Channels { webhook_url: Some(unreachable), ..Default::default() };
    let (plan, _, _dir) = setup("Webhook", &channels);
    let Err(RunError::StepFailed(failure)) = login(&plan, "ann", "pw-ann-123") else { panic!("nobody listens") };
    assert!(failure.message.starts_with("Webhook delivery failed:"), "{}", failure.message);
    assert!(failure.message.contains("after 3 attempts"), "{}", failure.message);
}

#[test]
fn every_language_of_the_example_template_renders_and_others_fall_back_to_english() {
    let (plan, _, _dir) = setup("Mail", &Channels::default());
    let item = json!({"_user": {"userName": "ann", "firstName": "<Anne>"}, "_oneTimeCode": "012345"});
    let item = item.as_object().unwrap().clone();
    let expected = [
        ("en", "Your sign-in code", "Hello &lt;Anne&gt;,"),
        ("fr", "Votre code de connexion", "Bonjour &lt;Anne&gt;,"),
        ("es", "Su código de inicio de sesión", "Hola &lt;Anne&gt;:"),
        ("pt", "O seu código de acesso", "Olá &lt;Anne&gt;,"),
        ("de-AT", "Ihr Anmeldecode", "Hallo &lt;Anne&gt;,"),
        ("ja", "Your sign-in code", "Hello &lt;Anne&gt;,"),
    ];
    for (locale, subject, greeting) in expected {
        let rendered =
            plan.templates().render("OtpMail", Some(locale), sluice::templates::RenderType::Html, &item).unwrap();
        assert_eq!(rendered.subject, subject, "{locale}");
        assert!(rendered.body.starts_with(&format!("<p>{greeting}</p>")), "{locale}: {}", rendered.body);
        assert!(rendered.body.contains("<b>012345</b>"), "{locale}: {}", rendered.body);
    }
}

/// The logs of this test binary: one global subscriber, because a thread-local one misses
/// events whose call sites other test threads reached first.
fn logs() -> &'static Logs {
    static LOGS: std::sync::OnceLock<Logs> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        tracing::subscriber::set_global_default(logs.subscriber()).unwrap();
        logs
    })
}

#[test]
fn the_login_keeps_code_and_password_out_of_response_trace_and_logs() {
    let logs = logs();
    let (plan, services, _dir) = setup("Mail", &Channels::default());
    assert!(login(&plan, "ann", "wrong-password").is_err());
    let outcome = login(&plan, "ann", "pw-ann-123").unwrap();
    let inbox = services.store.list_messages(None, None, 5).unwrap();
    assert_eq!(inbox.len(), 1);
    assert!(inbox[0].html && inbox[0].body.contains("<p>Bonjour Anne,</p>"), "{}", inbox[0].body);
    let code = code_in(&inbox[0].body);
    let logged = logs.text();
    assert!(logged.contains("login refused") && logged.contains("notification delivered"), "{logged}");
    for visible in [serde_json::to_string(&outcome).unwrap(), logged] {
        assert!(!visible.contains(&code), "the code leaked: {visible}");
        assert!(!visible.contains("pw-ann-123") && !visible.contains("wrong-password"), "a password leaked: {visible}");
    }
    assert!(serde_json::to_string(&outcome.trace).unwrap().contains("[redacted]"));
}
