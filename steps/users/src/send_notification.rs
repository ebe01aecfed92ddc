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
    #[schemars(extend("contentMediaType" = "text/plain"))]
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
        calls_outside: true,
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{Value, json};
    use sluice_core::store::{Message, MessageStatus, User};
    use sluice_core::{Engine, RunContext, SingleStep};
    use sluice_delivery::testing::{SmtpServer, WebhookListener, aiosmtpd_installed, free_port};
    use sluice_delivery::{Channels, Couriers};

    use crate::test_support::engine;

    /// An engine whose store also holds `kim` (with an e-mail address), delivering through
    /// `channels`.
    fn engine_with(channels: &Channels) -> Engine {
        let (engine, _) = engine();
        let kim = User { email: Some("kim@example.com".into()), ..User::new("kim") };
        engine.services().store.import_users(&[kim]).unwrap();
        let services = engine.services().clone().with_courier(Arc::new(Couriers::new(channels).unwrap()));
        Engine::builder().services(services).build().unwrap()
    }

    fn step(engine: &Engine, settings: Value) -> SingleStep {
        engine.single_step("notify", "send_notification", settings, &Default::default()).unwrap()
    }

    fn item(value: Value) -> sluice_core::Item {
        value.as_object().unwrap().clone()
    }

    /// Runs the step on `input` as `ann`: the error's message, if any.
    fn send(step: &SingleStep, input: Value) -> Result<(), String> {
        let run = RunContext { user: Some("ann".into()), client: None };
        step.run(&Value::Null, vec![item(input)], &run).map(drop).map_err(|e| e.message)
    }

    fn outbox(engine: &Engine) -> Vec<Message> {
        engine.services().store.list_messages(None, None, 10).unwrap()
    }

    #[test]
    fn the_fixed_text_goes_to_the_users_inbox_by_default() {
        let engine = engine_with(&Channels::default());
        let notify = step(&engine, json!({"messageBody": "Your report is ready", "messageTheme": "Report"}));
        let ann = engine.services().store.find_user("ann").unwrap().unwrap();
        send(&notify, json!({"_user": {"id": ann.id}})).unwrap();
        let [message] = outbox(&engine).try_into().unwrap();
        assert_eq!(
            (message.channel, message.recipient.as_str(), message.user_id.as_deref()),
            (sluice_core::store::Channel::Mail, "ann", Some(ann.id.as_str()))
        );
        assert_eq!((message.subject.as_str(), message.body.as_str()), ("Report", "Your report is ready"));
        assert_eq!((message.html, message.status, message.origin.as_str()), (false, MessageStatus::Sent, "notify"));
    }

    #[test]
    fn the_body_comes_from_a_field_as_text_or_html() {
        let engine = engine_with(&Channels::default());
        let settings = |render: &str| json!({"userName": {"value": "ann"}, "messageBodyField": "data.Text", "messageTheme": "T", "renderType": render});
        let html = step(&engine, settings("Html"));
        send(&html, json!({"data": {"Text": "<p>Hi</p>"}})).unwrap();
        let message = outbox(&engine).remove(0);
        assert_eq!((message.body.as_str(), message.html), ("<p>Hi</p>", true));
        let text = step(&engine, settings("Text"));
        send(&text, json!({"data": {"Text": 42}})).unwrap();
        assert_eq!(outbox(&engine).remove(0).body, "42", "a value that is not text is written as JSON");
        assert_eq!(send(&text, json!({"data": {}})).unwrap_err(), "data.Text holds no message");
        assert_eq!(send(&text, json!({"data": {"Text": null}})).unwrap_err(), "data.Text holds no message");
        assert_eq!(outbox(&engine).len(), 2, "a failed step writes nothing");
    }

    #[test]
    fn the_recipient_comes_from_user_name_or_user_info_field() {
        let engine = engine_with(&Channels::default());
        let kim = engine.services().store.find_user("kim").unwrap().unwrap();
        let to = |recipient: Value| {
            let mut settings = json!({"messageBody": "b", "messageTheme": "t"});
            settings.as_object_mut().unwrap().extend(recipient.as_object().unwrap().clone());
            step(&engine, settings)
        };
        send(&to(json!({"userName": "data.To"})), json!({"data": {"To": "KIM"}})).unwrap();
        send(&to(json!({"userInfoField": "data.creatorSubject"})), json!({"data": {"creatorSubject": kim.id}}))
            .unwrap();
        send(&to(json!({"userName": {"value": "kim"}})), json!({})).unwrap();
        assert!(outbox(&engine).iter().all(|m| m.recipient == "kim"), "{:?}", outbox(&engine));
        assert_eq!(
            send(&to(json!({"userName": "data.To"})), json!({"data": {"To": "nobody"}})).unwrap_err(),
            "there is no user named or with id \"nobody\""
        );
        assert_eq!(
            send(&to(json!({"userName": "data.To"})), json!({"data": {}})).unwrap_err(),
            "the field data.To names no recipient (run Get user info first, or set userName)"
        );
    }

    #[test]
    fn settings_are_checked_at_load() {
        let engine = engine_with(&Channels::default());
        let problems = |settings: Value| {
            let built = engine.single_step("notify", "send_notification", settings, &Default::default());
            built.err().unwrap_or_default().iter().map(|d| format!("{}: {}", d.pointer, d.message)).collect::<Vec<_>>()
        };
        assert_eq!(
            problems(json!({"messageTheme": "t"})),
            ["/settings: give the message with exactly one of messageBody and messageBodyField"]
        );
        assert_eq!(
            problems(json!({"messageTheme": "t", "messageBody": "b", "messageBodyField": "data.B"})),
            ["/settings: give the message with exactly one of messageBody and messageBodyField"]
        );
        assert_eq!(
            problems(json!({"messageTheme": "t", "messageBody": "b", "userName": "_user", "userInfoField": "_x"})),
            ["/settings: name the recipient with userName or userInfoField, not both"]
        );
        assert_eq!(problems(json!({"messageBody": "b"})), ["/settings: the required key \"messageTheme\" is missing"]);
        assert_eq!(
            problems(json!({"messageBody": "b", "messageTheme": ""})),
            ["/settings/messageTheme: this text must not be empty"]
        );
        let channel = problems(json!({"messageBody": "b", "messageTheme": "t", "notificationType": "Fax"}));
        assert_eq!(channel.len(), 1, "{channel:?}");
        assert!(channel[0].starts_with("/settings/notificationType: \"Fax\" is not allowed here"), "{channel:?}");
        let render = problems(json!({"messageBody": "b", "messageTheme": "t", "renderType": "Pdf"}));
        assert!(render[0].starts_with("/settings/renderType: \"Pdf\" is not allowed here"), "{render:?}");
    }

    #[test]
    fn smtp_mails_the_users_address_through_a_real_server() {
        if !aiosmtpd_installed() {
            sluice_core::testing::skip("send_notification over SMTP", "aiosmtpd", "pip install aiosmtpd");
            return;
        }
        let server = SmtpServer::start(free_port());
        let channels = Channels { smtp_url: Some(format!("smtp://127.0.0.1:{}", server.port)), ..Channels::default() };
        let engine = engine_with(&channels);
        let settings = json!({"notificationType": "Smtp", "userName": "data.To", "messageBody": "<b>Hi</b>",
                              "messageTheme": "Greetings", "renderType": "Html"});
        let notify = step(&engine, settings);
        send(&notify, json!({"data": {"To": "kim"}})).unwrap();
        let [mail] = server.messages().try_into().unwrap();
        assert!(mail.contains("To: kim@example.com") && mail.contains("Subject: Greetings"), "{mail}");
        assert!(mail.contains("Content-Type: text/html") && mail.contains("<b>Hi</b>"), "{mail}");
        let sent = outbox(&engine).remove(0);
        assert_eq!(
            (sent.status, sent.recipient.as_str(), sent.body.as_str()),
            (MessageStatus::Sent, "kim@example.com", "")
        );
        assert_eq!(
            send(&notify, json!({"data": {"To": "ann"}})).unwrap_err(),
            "user \"ann\" has no e-mail address for Smtp"
        );
    }

    #[test]
    fn a_webhook_receives_the_message() {
        let listener = WebhookListener::start(0);
        let engine = engine_with(&Channels { webhook_url: Some(listener.url.clone()), ..Channels::default() });
        let notify = step(
            &engine,
            json!({"notificationType": "Webhook", "userName": {"value": "kim"},
                                          "messageBody": "b", "messageTheme": "t"}),
        );
        send(&notify, json!({})).unwrap();
        let [body] = listener.bodies().try_into().unwrap();
        assert_eq!(
            (&body["recipient"], &body["subject"], &body["body"], &body["html"]),
            (&json!("kim"), &json!("t"), &json!("b"), &json!(false))
        );
        assert_eq!(outbox(&engine)[0].status, MessageStatus::Sent);
    }
}
