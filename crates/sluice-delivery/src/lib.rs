//! Delivery channels for Sluice's notifications: `Smtp` through lettre to a real SMTP server,
//! `Webhook` as a JSON POST through ureq with retries and a timeout.
//!
//! Configured per server or CLI run (never in component files), as [`Channels`]:
//! - `SLUICE_SMTP_URL`: `smtp://user:pass@host:port` (plain, or STARTTLS with `?tls=required`
//!   or `?tls=opportunistic`), `smtps://…` for TLS from the first byte;
//! - `SLUICE_SMTP_CA`: a PEM file with the certificate of a private certificate authority that
//!   signed the SMTP server's certificate (trusted besides the public ones);
//! - `SLUICE_SMTP_FROM`: the sender address (default `sluice@localhost`);
//! - `SLUICE_WEBHOOK_URL`: where webhook messages are POSTed;
//! - `SLUICE_CONNECTORS`: the file declaring the connectors dataflows may call ([`api`]).

pub mod api;
#[cfg(feature = "testing")]
pub mod testing;

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{SmtpTransport, Transport};
use serde_json::json;
use sluice_core::notify::Courier;
use sluice_core::store::{Channel, Message};

/// How long one SMTP or webhook exchange may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Webhook attempts within one delivery (with 200 ms, 400 ms… between them).
pub const WEBHOOK_ATTEMPTS: u32 = 3;

/// Why a channel could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The connectors file cannot be read or is wrong.
    #[error("SLUICE_CONNECTORS {path}: {problems}")]
    Connectors {
        /// The file.
        path: String,
        /// What is wrong, one problem per line.
        problems: String,
    },
    /// The SMTP URL is wrong.
    #[error("SLUICE_SMTP_URL is not a usable SMTP URL: {0}")]
    Smtp(String),
    /// The SMTP certificate authority cannot be used.
    #[error("SLUICE_SMTP_CA: {0}")]
    SmtpCa(String),
    /// The sender address is wrong.
    #[error("SLUICE_SMTP_FROM is not an e-mail address: {0}")]
    From(String),
    /// The webhook URL is wrong.
    #[error("SLUICE_WEBHOOK_URL must be an http:// or https:// URL, not \"{0}\"")]
    Webhook(String),
}

/// Where notifications go besides the in-app inbox (all optional).
#[derive(Debug, Clone, Default)]
pub struct Channels {
    /// `SLUICE_SMTP_URL`: `smtp://user:pass@host:port[?tls=required]` or `smtps://…`.
    pub smtp_url: Option<String>,
    /// `SLUICE_SMTP_CA`: a PEM file with a private certificate authority for the SMTP server.
    pub smtp_ca: Option<PathBuf>,
    /// `SLUICE_SMTP_FROM`: the sender address.
    pub smtp_from: Option<String>,
    /// `SLUICE_WEBHOOK_URL`.
    pub webhook_url: Option<String>,
    /// `SLUICE_CONNECTORS`: the file declaring the connectors Execute API call may call
    /// ([`sluice_core::connectors`]).
    pub connectors: Option<PathBuf>,
}

/// The configured channels.
pub struct Couriers {
    smtp: Option<(SmtpTransport, Mailbox)>,
    webhook: Option<(ureq::Agent, String)>,
}

impl std::fmt::Debug for Couriers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Couriers")
            .field("smtp", &self.smtp.is_some())
            .field("webhook", &self.webhook.as_ref().map(|(_, url)| url))
            .finish()
    }
}

impl Couriers {
    /// The couriers of `channels`; credentials in the SMTP URL are never shown.
    pub fn new(channels: &Channels) -> Result<Couriers, ConfigError> {
        let smtp = match channels.smtp_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            Some(url) => {
                let mut transport =
                    SmtpTransport::from_url(url).map_err(|e| ConfigError::Smtp(e.to_string()))?.timeout(Some(TIMEOUT));
                if let Some(ca) = &channels.smtp_ca {
                    transport = transport.tls(tls_trusting(url, ca)?);
                }
                let from = channels.smtp_from.as_deref().unwrap_or("sluice@localhost");
                let from: Mailbox =
                    from.parse().map_err(|e: lettre::address::AddressError| ConfigError::From(e.to_string()))?;
                Some((transport.build(), from))
            }
            None => None,
        };
        let webhook = match channels.webhook_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                let config =
                    ureq::Agent::config_builder().timeout_global(Some(TIMEOUT)).http_status_as_error(true).build();
                Some((ureq::Agent::new_with_config(config), url.to_owned()))
            }
            Some(url) => return Err(ConfigError::Webhook(url.to_owned())),
            None => None,
        };
        Ok(Couriers { smtp, webhook })
    }

    fn send_mail(&self, message: &Message) -> Result<(), String> {
        let Some((transport, from)) = &self.smtp else {
            return Err("no SMTP server is configured (set SLUICE_SMTP_URL)".into());
        };
        let to: Mailbox = message
            .recipient
            .parse()
            .map_err(|e| format!("\"{}\" is not an e-mail address: {e}", message.recipient))?;
        let kind = if message.html { ContentType::TEXT_HTML } else { ContentType::TEXT_PLAIN };
        let email = lettre::Message::builder()
            .from(from.clone())
            .to(to)
            .subject(&message.subject)
            .header(kind)
            .body(message.body.clone())
            .map_err(|e| format!("the message cannot be built: {e}"))?;
        transport.send(&email).map(drop).map_err(|e| format!("the SMTP server refused or could not be reached: {e}"))
    }

    fn post(&self, message: &Message) -> Result<(), String> {
        let Some((agent, url)) = &self.webhook else {
            return Err("no webhook URL is configured (set SLUICE_WEBHOOK_URL)".into());
        };
        let payload = json!({
            "id": message.id, "userId": message.user_id, "recipient": message.recipient,
            "subject": message.subject, "body": message.body, "html": message.html, "origin": message.origin,
        });
        let mut last = String::new();
        for attempt in 0..WEBHOOK_ATTEMPTS {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(200 << (attempt - 1)));
            }
            match agent.post(url.as_str()).send_json(&payload) {
                Ok(_) => return Ok(()),
                Err(e) => last = e.to_string(),
            }
        }
        Err(format!("{url} did not accept the message after {WEBHOOK_ATTEMPTS} attempts: {last}"))
    }
}

/// The TLS mode of the SMTP URL `url` (already checked by lettre), trusting the certificate
/// authority in the PEM file `ca` besides the public ones.
fn tls_trusting(url: &str, ca: &std::path::Path) -> Result<Tls, ConfigError> {
    let invalid = |message: String| ConfigError::SmtpCa(format!("{}: {message}", ca.display()));
    let pem = std::fs::read(ca).map_err(|e| invalid(e.to_string()))?;
    // lettre takes a PEM file without a certificate (a key, say) as an empty list.
    if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
        return Err(invalid("not a PEM certificate (no BEGIN CERTIFICATE block)".into()));
    }
    let certificate = Certificate::from_pem(&pem).map_err(|e| invalid(format!("not a PEM certificate: {e}")))?;
    let url = url::Url::parse(url).map_err(|e| ConfigError::Smtp(e.to_string()))?;
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_owned();
    let parameters = TlsParameters::builder(host)
        .add_root_certificate(certificate)
        .build_rustls()
        .map_err(|e| invalid(e.to_string()))?;
    let mode = url.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
    match (url.scheme(), mode.as_deref()) {
        ("smtps", _) => Ok(Tls::Wrapper(parameters)),
        (_, Some("required")) => Ok(Tls::Required(parameters)),
        (_, Some("opportunistic")) => Ok(Tls::Opportunistic(parameters)),
        _ => Err(ConfigError::SmtpCa(
            "a certificate authority needs TLS: use smtps://… or smtp://…?tls=required in SLUICE_SMTP_URL".into(),
        )),
    }
}

impl Courier for Couriers {
    fn deliver(&self, message: &Message) -> Result<(), String> {
        match message.channel {
            Channel::Smtp => self.send_mail(message),
            Channel::Webhook => self.post(message),
            Channel::Mail => Ok(()),
        }
    }
}

/// The connectors `channels` declares (none without a file), called through [`api::HttpApi`];
/// header secrets are read from the environment now.
pub fn connectors(channels: &Channels) -> Result<sluice_core::connectors::Connectors, ConfigError> {
    let Some(path) = &channels.connectors else { return Ok(sluice_core::connectors::Connectors::default()) };
    let fail = |problems: String| ConfigError::Connectors { path: path.display().to_string(), problems };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let declared = sluice_core::connectors::parse_connectors(&text, |var| std::env::var(var).ok())
        .map_err(|p| fail(p.join("\n")))?;
    Ok(sluice_core::connectors::Connectors::new(declared, std::sync::Arc::new(api::HttpApi::default())))
}
