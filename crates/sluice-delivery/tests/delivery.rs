//! The couriers against real peers: an SMTP server process (aiosmtpd) speaking plain SMTP,
//! STARTTLS or TLS from the first byte, with a login, behind a certificate of a private
//! authority made here; and an HTTP listener for webhooks.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use sluice_core::notify::Courier;
use sluice_core::store::{Channel, Message, MessageStatus};
use sluice_delivery::testing::{SmtpOptions, SmtpServer, WebhookListener, aiosmtpd_installed, free_port};
use sluice_delivery::{Channels, Couriers};

const USER: &str = "sluice";
const PASSWORD: &str = "p@ss word/1";

/// The password as it goes into a URL.
const PASSWORD_IN_URL: &str = "p%40ss%20word%2F1";

fn message(channel: Channel, html: bool) -> Message {
    Message {
        id: "m1".into(),
        channel,
        user_id: Some("u1".into()),
        recipient: "ann@example.com".into(),
        subject: "Votre code de connexion".into(),
        body: if html { "<p>Bonjour Anne,</p><p><b>012345</b></p>".into() } else { "Code: 012345".into() },
        html,
        status: MessageStatus::Pending,
        attempts: 0,
        last_error: None,
        origin: "Login/mail".into(),
        created_at: 0,
        updated_at: 0,
    }
}

/// The couriers of `channels`.
fn couriers(channels: Channels) -> Couriers {
    Couriers::new(&channels).unwrap()
}

fn smtp(url: String, ca: Option<&Path>) -> Couriers {
    couriers(Channels { smtp_url: Some(url), smtp_ca: ca.map(Path::to_path_buf), ..Channels::default() })
}

/// A certificate authority made for this test, and a certificate for `localhost` that it signed:
/// the folder, the authority's certificate file, and the server's certificate and key files.
struct Certificates {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    server: (PathBuf, PathBuf),
}

fn certificates() -> Certificates {
    let dir = tempfile::tempdir().unwrap();
    let mut authority = CertificateParams::new(Vec::<String>::new()).unwrap();
    authority.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    authority.distinguished_name.push(DnType::CommonName, "Sluice test authority");
    let authority = CertifiedIssuer::self_signed(authority, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned()]).unwrap().signed_by(&key, &authority).unwrap();
    let write = |name: &str, pem: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, pem).unwrap();
        path
    };
    Certificates {
        ca: write("ca.pem", authority.pem()),
        server: (write("server.pem", server.pem()), write("server.key", key.serialize_pem())),
        _dir: dir,
    }
}

/// A real SMTP server as `options` say; `None` (after a line cargo shows) without aiosmtpd.
fn smtp_server(options: &SmtpOptions) -> Option<SmtpServer> {
    if !aiosmtpd_installed() {
        sluice_core::testing::skip("the SMTP delivery tests", "aiosmtpd", "pip install aiosmtpd; .ci/run installs it");
        return None;
    }
    Some(SmtpServer::start_with(free_port(), options))
}

#[test]
fn plain_smtp_delivers_text_and_html_with_the_configured_sender() {
    let Some(server) = smtp_server(&SmtpOptions::default()) else { return };
    let couriers = couriers(Channels {
        smtp_url: Some(format!("smtp://127.0.0.1:{}", server.port)),
        smtp_from: Some("Sluice <no-reply@example.com>".into()),
        ..Channels::default()
    });
    couriers.deliver(&message(Channel::Smtp, true)).unwrap();
    couriers.deliver(&message(Channel::Smtp, false)).unwrap();
    let received = server.messages();
    assert_eq!(received.len(), 2, "{received:#?}");
    for raw in &received {
        assert!(raw.contains("From: Sluice <no-reply@example.com>"), "{raw}");
        assert!(raw.contains("To: ann@example.com"), "{raw}");
        // lettre encodes a subject beyond ASCII; this one is plain ASCII.
        assert!(raw.contains("Subject: Votre code de connexion"), "{raw}");
    }
    assert!(received.iter().any(|m| m.contains("Content-Type: text/html") && m.contains("<b>012345</b>")));
    assert!(received.iter().any(|m| m.contains("Content-Type: text/plain") && m.contains("Code: 012345")));
}

#[test]
fn starttls_with_a_login_delivers_only_with_the_right_password_and_a_trusted_certificate() {
    let certs = certificates();
    let options = SmtpOptions {
        tls: Some(certs.server.clone()),
        login: Some((USER.into(), PASSWORD.into())),
        ..SmtpOptions::default()
    };
    let Some(server) = smtp_server(&options) else { return };
    let url = |password: &str, tls: &str| format!("smtp://{USER}:{password}@localhost:{}{tls}", server.port);

    smtp(url(PASSWORD_IN_URL, "?tls=required"), Some(&certs.ca)).deliver(&message(Channel::Smtp, true)).unwrap();
    assert_eq!(server.messages().len(), 1);

    let refused = |couriers: Couriers| couriers.deliver(&message(Channel::Smtp, true)).unwrap_err();
    let wrong = refused(smtp(url("not-it", "?tls=required"), Some(&certs.ca)));
    assert!(wrong.starts_with("the SMTP server refused or could not be reached"), "{wrong}");
    assert!(wrong.contains("535"), "authentication failed: {wrong}");
    // Without the authority, the server's certificate is not trusted: nothing is sent.
    let untrusted = refused(smtp(url(PASSWORD_IN_URL, "?tls=required"), None));
    assert!(untrusted.to_lowercase().contains("certificate"), "{untrusted}");
    // Plain SMTP to a server that requires STARTTLS: it offers no login in clear text, so the
    // password is never sent and nothing is delivered.
    let plain = refused(smtp(url(PASSWORD_IN_URL, ""), None));
    assert!(plain.contains("No compatible authentication mechanism"), "{plain}");
    assert_eq!(server.messages().len(), 1, "no refused attempt delivered anything");
    for error in [&wrong, &untrusted, &plain] {
        assert!(
            !error.contains("not-it") && !error.contains(PASSWORD) && !error.contains(PASSWORD_IN_URL),
            "errors never show the password: {error}"
        );
    }
}

#[test]
fn smtps_delivers_over_tls_from_the_first_byte() {
    let certs = certificates();
    let options = SmtpOptions {
        tls: Some(certs.server.clone()),
        implicit_tls: true,
        login: Some((USER.into(), PASSWORD.into())),
        ..Default::default()
    };
    let Some(server) = smtp_server(&options) else { return };
    let url = format!("smtps://{USER}:{PASSWORD_IN_URL}@localhost:{}", server.port);
    smtp(url, Some(&certs.ca)).deliver(&message(Channel::Smtp, false)).unwrap();
    let received = server.messages();
    assert_eq!(received.len(), 1);
    assert!(received[0].contains("Code: 012345"), "{}", received[0]);
}

#[test]
fn misconfigured_channels_are_refused_with_what_to_fix() {
    let error = |channels: Channels| Couriers::new(&channels).unwrap_err().to_string();
    let ca =
        |url: &str, ca: &str| Channels { smtp_url: Some(url.into()), smtp_ca: Some(ca.into()), ..Channels::default() };
    let certs = certificates();
    let ca_file = certs.ca.to_str().unwrap();
    assert_eq!(
        error(ca("smtp://localhost:25", ca_file)),
        "SLUICE_SMTP_CA: a certificate authority needs TLS: use smtps://… or smtp://…?tls=required in SLUICE_SMTP_URL"
    );
    let missing = error(ca("smtps://localhost", "/no/such/ca.pem"));
    assert!(missing.starts_with("SLUICE_SMTP_CA: /no/such/ca.pem: "), "{missing}");
    let not_pem = error(ca("smtps://localhost", certs.server.1.to_str().unwrap()));
    assert!(not_pem.contains("not a PEM certificate"), "{not_pem}");
    let url = error(Channels { smtp_url: Some("mailto:ann@example.com".into()), ..Channels::default() });
    assert!(url.starts_with("SLUICE_SMTP_URL is not a usable SMTP URL"), "{url}");
    let from = error(Channels {
        smtp_url: Some("smtp://localhost".into()),
        smtp_from: Some("not an address".into()),
        ..Channels::default()
    });
    assert!(from.starts_with("SLUICE_SMTP_FROM is not an e-mail address"), "{from}");
    let hook = error(Channels { webhook_url: Some("ftp://example.com/hook".into()), ..Channels::default() });
    assert_eq!(hook, "SLUICE_WEBHOOK_URL must be an http:// or https:// URL, not \"ftp://example.com/hook\"");
}

#[test]
fn a_channel_that_is_not_configured_fails_with_its_setting_and_the_inbox_needs_none() {
    let none = couriers(Channels::default());
    assert_eq!(
        none.deliver(&message(Channel::Smtp, false)).unwrap_err(),
        "no SMTP server is configured (set SLUICE_SMTP_URL)"
    );
    assert_eq!(
        none.deliver(&message(Channel::Webhook, false)).unwrap_err(),
        "no webhook URL is configured (set SLUICE_WEBHOOK_URL)"
    );
    none.deliver(&message(Channel::Mail, false)).unwrap();
}

#[test]
fn a_webhook_gets_the_message_as_json_after_failures_within_its_attempts() {
    let listener = WebhookListener::start(2);
    let couriers = couriers(Channels { webhook_url: Some(listener.url.clone()), ..Channels::default() });
    couriers.deliver(&message(Channel::Webhook, true)).unwrap();
    assert_eq!(listener.requests(), 3, "two refusals, then the delivery");
    let bodies = listener.bodies();
    assert_eq!(
        bodies,
        [serde_json::json!({
            "id": "m1", "userId": "u1", "recipient": "ann@example.com", "subject": "Votre code de connexion",
            "body": "<p>Bonjour Anne,</p><p><b>012345</b></p>", "html": true, "origin": "Login/mail"
        })]
    );
}

#[test]
fn a_webhook_that_keeps_failing_is_given_up_after_its_attempts() {
    let listener = WebhookListener::start(usize::MAX);
    let couriers = couriers(Channels { webhook_url: Some(listener.url.clone()), ..Channels::default() });
    let error = couriers.deliver(&message(Channel::Webhook, false)).unwrap_err();
    assert_eq!(listener.requests(), sluice_delivery::WEBHOOK_ATTEMPTS as usize);
    assert!(error.starts_with(&format!("{} did not accept the message after 3 attempts", listener.url)), "{error}");
    assert!(error.contains("500"), "{error}");
}
