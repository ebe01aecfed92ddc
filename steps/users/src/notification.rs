//! What the two notification steps share: who receives, and how a message is sent.

use serde::Deserialize;
use sluice_core::resilience::CallError;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::store::{Channel, Message, MessageStatus, User};
use sluice_core::{BuildContext, BuildError, FieldOrValue, Item, StepContext, StepError, ValueSource, notify};

use crate::find_user;

/// How a body is rendered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum RenderType {
    /// Plain text.
    #[default]
    Text,
    /// HTML; values from the item are escaped.
    Html,
}

impl From<RenderType> for sluice_core::templates::RenderType {
    fn from(r: RenderType) -> Self {
        match r {
            RenderType::Text => Self::Text,
            RenderType::Html => Self::Html,
        }
    }
}

/// A checked recipient.
pub struct Recipient(ValueSource);

impl Recipient {
    /// Checks the recipient settings (`userName`, `userInfoField`; `_user` when neither).
    pub fn build(
        user_name: Option<&FieldOrValue>,
        user_info_field: Option<&str>,
        cx: &mut BuildContext<'_>,
    ) -> Result<Recipient, BuildError> {
        match (user_name, user_info_field) {
            (Some(name), None) => cx.value_source("userName", name).map(Recipient),
            (None, Some(field)) => cx.path("userInfoField", field).map(|p| Recipient(ValueSource::Field(p))),
            (None, None) => cx.path("userName", "_user").map(|p| Recipient(ValueSource::Field(p))),
            (Some(_), Some(_)) => {
                Err(cx.invalid("", "name the recipient with userName or userInfoField, not both", None))
            }
        }
    }

    /// The user the message goes to.
    pub fn resolve(&self, cx: &mut StepContext<'_>, item: &Item) -> Result<User, StepError> {
        let Some(key) = self.0.resolve(item) else {
            return Err(StepError::new(format!(
                "{} names no recipient (run Get user info first, or set userName)",
                self.0
            )));
        };
        find_user(cx, Some(&key))?.ok_or_else(|| StepError::new(format!("there is no user named or with id \"{key}\"")))
    }
}

/// Writes the message to the outbox and hands it to its channel, as the step's `retry` and
/// `timeout` say (each try is recorded on the message).
pub fn send(
    cx: &mut StepContext<'_>,
    channel: Channel,
    user: &User,
    subject: String,
    body: String,
    html: bool,
) -> Result<(), StepError> {
    let recipient = match channel {
        Channel::Smtp => user
            .email
            .clone()
            .filter(|e| !e.trim().is_empty())
            .ok_or_else(|| StepError::new(format!("user \"{}\" has no e-mail address for Smtp", user.user_name)))?,
        Channel::Mail | Channel::Webhook => user.user_name.clone(),
    };
    let now = cx.services().clock.now();
    let message = Message {
        id: sluice_core::new_time_ordered_uuid(),
        channel,
        user_id: Some(user.id.clone()),
        recipient,
        subject,
        body,
        html,
        status: MessageStatus::Pending,
        attempts: 0,
        last_error: None,
        origin: cx.step_name().to_owned(),
        created_at: now,
        updated_at: now,
    };
    if cx.dry_run() {
        cx.note(format!("dry run: a {:?} message to {} was not sent", message.channel, user.user_name));
        return Ok(());
    }
    let services = cx.services().clone();
    services.store.enqueue_message(&message).map_err(StepError::from)?;
    cx.call_outside(move || notify::deliver(&services, &message).map_err(|e| CallError::Passing(e.to_string())))
        .map_err(|reason| StepError::at_setting("notificationType", reason))
}
