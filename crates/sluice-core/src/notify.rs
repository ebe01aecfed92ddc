//! Sending notifications: every message goes into the store's outbox first, then to its
//! channel, so a failed delivery loses nothing and can be retried.

use crate::services::Services;
use crate::store::{Channel, Message, MessageStatus, StoreError};

/// Hands messages to the channels outside the store (SMTP, webhooks). Configured per server or
/// CLI run, never in component files.
pub trait Courier: Send + Sync {
    /// Delivers one `Smtp` or `Webhook` message; the error says why.
    fn deliver(&self, message: &Message) -> Result<(), String>;
}

/// The courier when nothing is configured: only the in-app `Mail` channel works.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoCourier;

impl Courier for NoCourier {
    fn deliver(&self, message: &Message) -> Result<(), String> {
        Err(match message.channel {
            Channel::Smtp => "no SMTP server is configured (set SLUICE_SMTP_URL)".into(),
            Channel::Webhook => "no webhook URL is configured (set SLUICE_WEBHOOK_URL)".into(),
            Channel::Mail => "the in-app inbox needs no courier".into(),
        })
    }
}

/// Why a message was not delivered. It stays in the outbox, marked failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The channel refused it or could not be reached.
    #[error(
        "{channel} delivery failed: {reason} (message {id} is kept in the outbox; `sluice outbox retry` sends it again)"
    )]
    Delivery {
        /// The channel.
        channel: &'static str,
        /// Why.
        reason: String,
        /// The message's id.
        id: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Delivers a message already in the outbox and records the attempt.
pub fn deliver(services: &Services, message: &Message) -> Result<(), SendError> {
    let outcome = match message.channel {
        Channel::Mail => Ok(()),
        _ => services.courier.deliver(message),
    };
    let now = services.clock.now();
    services.store.record_delivery(&message.id, outcome.as_ref().map(|_| ()).map_err(String::as_str), now)?;
    match outcome {
        Ok(()) => {
            tracing::info!(id = %message.id, channel = message.channel.name(), "notification delivered");
            Ok(())
        }
        Err(reason) => {
            tracing::warn!(id = %message.id, channel = message.channel.name(), %reason, "notification failed");
            Err(SendError::Delivery { channel: message.channel.name(), reason, id: message.id.clone() })
        }
    }
}

/// Sends every failed message again; returns how many were delivered and the errors of the rest.
pub fn retry_failed(services: &Services) -> Result<(usize, Vec<SendError>), StoreError> {
    let failed = services.store.list_messages(None, Some(MessageStatus::Failed), usize::MAX)?;
    let mut delivered = 0;
    let mut errors = Vec::new();
    for message in failed.iter().rev() {
        match deliver(services, message) {
            Ok(()) => delivered += 1,
            Err(e) => errors.push(e),
        }
    }
    Ok((delivered, errors))
}
