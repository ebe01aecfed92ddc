//! Delivery channels for Sluice's notifications: `Smtp` through lettre to a real SMTP server,
//! `Webhook` as a JSON POST through ureq with retries and a timeout.
//!
//! Configured per server or CLI run (never in component files):
//! - `SLUICE_SMTP_URL`: `smtp://user:pass@host:port` (plain, or STARTTLS with `?tls=required`
//!   or `?tls=opportunistic`), `smtps://…` for TLS from the first byte;
//! - `SLUICE_SMTP_FROM`: the sender address (default `sluice@localhost`);
//! - `SLUICE_WEBHOOK_URL`: where webhook messages are POSTed.

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
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
    /// The SMTP URL is wrong.
    #[error("SLUICE_SMTP_URL is not a usable SMTP URL: {0}")]
    Smtp(String),
    /// The sender address is wrong.
    #[error("SLUICE_SMTP_FROM is not an e-mail address: {0}")]
    From(String),
    /// The webhook URL is wrong.
    #[error("SLUICE_WEBHOOK_URL must be an http:// or https:// URL, not \"{0}\"")]
    Webhook(String),
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
    /// Channels from URLs (each optional); credentials in the SMTP URL are never shown.
    pub fn new(smtp_url: Option<&str>, from: Option<&str>, webhook_url: Option<&str>) -> Result<Couriers, ConfigError> {
        let smtp = match smtp_url.filter(|u| !u.trim().is_empty()) {
            Some(url) => {
                let transport = SmtpTransport::from_url(url.trim())
                    .map_err(|e| ConfigError::Smtp(e.to_string()))?
                    .timeout(Some(TIMEOUT))
                    .build();
                let from = from.unwrap_or("sluice@localhost");
                let from: Mailbox =
                    from.parse().map_err(|e: lettre::address::AddressError| ConfigError::From(e.to_string()))?;
                Some((transport, from))
            }
            None => None,
        };
        let webhook = match webhook_url.filter(|u| !u.trim().is_empty()) {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                let config =
                    ureq::Agent::config_builder().timeout_global(Some(TIMEOUT)).http_status_as_error(true).build();
                Some((ureq::Agent::new_with_config(config), url.trim().to_owned()))
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

impl Courier for Couriers {
    fn deliver(&self, message: &Message) -> Result<(), String> {
        match message.channel {
            Channel::Smtp => self.send_mail(message),
            Channel::Webhook => self.post(message),
            Channel::Mail => Ok(()),
        }
    }
}
