//! `send_notification`: sends a user a message written in the settings or taken from a field.

use serde::Deserialize;
use serde_json::Value;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::store::Channel;
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldOrValue, FieldPath, Group, Item, Localized, SettingLabel, Step,
    StepContext, StepDescriptor, StepError, StepMeta, StepPlugin, labels,
};

use crate::notification::{Recipient, RenderType, send};
use crate::send_templated_notification::{MESSAGE_THEME, NOTIFICATION_TYPE, RENDER_TYPE, default_channel};

/// Settings of `send_notification`. Give exactly one of `messageBody` and `messageBodyField`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SendNotificationSettings {
    /// The channel: `Smtp` (e-mail), `Mail` (the in-app inbox) or `Webhook`.
    #[serde(default = "default_channel")]
    pub notification_type: Channel,
    /// The recipient's name or id: a model path or `{"value": "ann"}`. Default: the `_user` of
    /// the item (from Get user info or Login with password).
    #[serde(default)]
    pub user_name: Option<FieldOrValue>,
    /// A field holding the recipient's id, such as `data.creatorSubject`.
    #[serde(default)]
    pub user_info_field: Option<String>,
    /// The text of the message.
    #[serde(default)]
    pub message_body: Option<String>,
    /// A field holding the text of the message.
    #[serde(default)]
    pub message_body_field: Option<String>,
    /// The subject ("Message theme").
    #[schemars(length(min = 1))]
    pub message_theme: String,
    /// `Text` or `Html`. Default `Text`.
    #[serde(default)]
    pub render_type: RenderType,
}

/// The step type.
pub struct SendNotification;

enum Body {
    Fixed(String),
    Field(FieldPath),
}

struct Plain {
    channel: Channel,
    recipient: Recipient,
    body: Body,
    theme: String,
    html: bool,
}

impl StepPlugin for SendNotification {
    type Settings = SendNotificationSettings;
    const META: StepMeta = StepMeta {
        id: "send_notification",
        group: Group::Users,
        starts_flow: false,
        title: Localized {
            en: "Send notification",
            fr: "Envoyer une notification",
            es: "Enviar notificación",
            pt: "Enviar notificação",
            de: "Benachrichtigung senden",
        },
        description: Localized {
            en: "Notifies a user with a free text and subject.",
            fr: "Notifie un utilisateur avec un texte et un objet libres.",
            es: "Notifica a un usuario con un texto y un asunto libres.",
            pt: "Notifica um usuário com um texto e um assunto livres.",
            de: "Benachrichtigt einen Benutzer mit freiem Text und Betreff.",
        },
        settings: &[
            NOTIFICATION_TYPE,
            labels::USER_NAME,
            labels::USER_INFO_FIELD,
            SettingLabel {
                name: "messageBody",
                label: Localized {
                    en: "Message body",
                    fr: "Corps du message",
                    es: "Cuerpo del mensaje",
                    pt: "Corpo da mensagem",
                    de: "Nachrichtentext",
                },
            },
            SettingLabel {
                name: "messageBodyField",
                label: Localized {
                    en: "Message body field",
                    fr: "Champ du corps du message",
                    es: "Campo del cuerpo del mensaje",
                    pt: "Campo do corpo da mensagem",
                    de: "Feld des Nachrichtentexts",
                },
            },
            MESSAGE_THEME,
            RENDER_TYPE,
        ],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let recipient = Recipient::build(settings.user_name.as_ref(), settings.user_info_field.as_deref(), cx);
        let body = match (settings.message_body, settings.message_body_field) {
            (Some(text), None) => Ok(Body::Fixed(text)),
            (None, Some(field)) => cx.path("messageBodyField", &field).map(Body::Field),
            _ => Err(cx.invalid("", "give the message with exactly one of messageBody and messageBodyField", None)),
        };
        Ok(BuiltStep::each(Plain {
            channel: settings.notification_type,
            recipient: recipient?,
            body: body?,
            theme: settings.message_theme,
            html: settings.render_type == RenderType::Html,
        }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<SendNotification>() }

impl Step for Plain {
    fn run(&self, item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let user = self.recipient.resolve(cx, &item)?;
        let body = match &self.body {
            Body::Fixed(text) => text.clone(),
            Body::Field(path) => match path.get(&item) {
                Some(Value::String(text)) => text.clone(),
                Some(Value::Null) | None => {
                    return Err(StepError::at_setting("messageBodyField", format!("{path} holds no message")));
                }
                Some(other) => other.to_string(),
            },
        };
        send(cx, self.channel, &user, self.theme.clone(), body, self.html)?;
        out.push(item);
        Ok(())
    }
}
