//! `send_templated_notification`: renders one of the component's templates for a user, in the
//! user's language, and sends it (e-mail, in-app inbox or webhook).

use serde::Deserialize;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::store::Channel;
use sluice_core::templates::Templates;
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldOrValue, Group, Item, Localized, SettingLabel, Step, StepContext,
    StepDescriptor, StepError, StepMeta, StepPlugin, labels,
};

use crate::notification::{Recipient, RenderType, send};

/// Settings of `send_templated_notification`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SendTemplatedNotificationSettings {
    /// The channel: `Smtp` (e-mail), `Mail` (the in-app inbox, kept in the store) or `Webhook`.
    #[serde(default = "default_channel")]
    pub notification_type: Channel,
    /// The recipient's name or id: a model path or `{"value": "ann"}`. Default: the `_user` of
    /// the item (from Get user info or Login with password).
    #[serde(default)]
    pub user_name: Option<FieldOrValue>,
    /// A field holding the recipient's id, such as `data.creatorSubject`.
    #[serde(default)]
    pub user_info_field: Option<String>,
    /// The name of a template of the component (its `templates` section).
    #[schemars(length(min = 1))]
    pub template: String,
    /// `Text` or `Html` (item values are escaped). Default `Text`.
    #[serde(default)]
    pub render_type: RenderType,
    /// A subject ("Message theme") that replaces the template's.
    #[serde(default)]
    pub message_theme: Option<String>,
}

pub(crate) fn default_channel() -> Channel {
    Channel::Mail
}

/// The step type.
pub struct SendTemplatedNotification;

struct Templated {
    channel: Channel,
    recipient: Recipient,
    templates: std::sync::Arc<Templates>,
    template: String,
    render: RenderType,
    theme: Option<String>,
}

/// The labels both notification steps share.
pub(crate) const NOTIFICATION_TYPE: SettingLabel = SettingLabel {
    name: "notificationType",
    label: Localized {
        en: "Notification type",
        fr: "Type de notification",
        es: "Tipo de notificación",
        pt: "Tipo de notificação",
        de: "Benachrichtigungstyp",
    },
};
pub(crate) const RENDER_TYPE: SettingLabel = SettingLabel {
    name: "renderType",
    label: Localized {
        en: "Render type",
        fr: "Type de rendu",
        es: "Tipo de renderizado",
        pt: "Tipo de renderização",
        de: "Darstellungsart",
    },
};
pub(crate) const MESSAGE_THEME: SettingLabel = SettingLabel {
    name: "messageTheme",
    label: Localized {
        en: "Message theme",
        fr: "Objet du message",
        es: "Asunto del mensaje",
        pt: "Assunto da mensagem",
        de: "Betreff der Nachricht",
    },
};

impl StepPlugin for SendTemplatedNotification {
    type Settings = SendTemplatedNotificationSettings;
    const META: StepMeta = StepMeta {
        id: "send_templated_notification",
        group: Group::Users,
        calls_outside: true,
        title: Localized {
            en: "Send templated notification",
            fr: "Envoyer une notification modélisée",
            es: "Enviar notificación plantillada",
            pt: "Enviar notificação modelada",
            de: "Vorlagenbenachrichtigung senden",
        },
        description: Localized {
            en: "Notifies a user with one of the component's templates, in the user's language.",
            fr: "Notifie un utilisateur avec l'un des modèles du composant, dans la langue de l'utilisateur.",
            es: "Notifica a un usuario con una de las plantillas del componente, en el idioma del usuario.",
            pt: "Notifica um usuário com um dos modelos do componente, no idioma do usuário.",
            de: "Benachrichtigt einen Benutzer mit einer Vorlage der Komponente in seiner Sprache.",
        },
        settings: &[
            NOTIFICATION_TYPE,
            labels::USER_NAME,
            labels::USER_INFO_FIELD,
            SettingLabel {
                name: "template",
                label: Localized { en: "Template", fr: "Modèle", es: "Plantilla", pt: "Modelo", de: "Vorlage" },
            },
            RENDER_TYPE,
            MESSAGE_THEME,
        ],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let recipient = Recipient::build(settings.user_name.as_ref(), settings.user_info_field.as_deref(), cx);
        let templates = cx.templates().clone();
        if !templates.contains(&settings.template) {
            let hint = templates.closest(&settings.template).map_or_else(
                || "add it to the component's \"templates\"".to_owned(),
                |s| format!("did you mean \"{s}\"?"),
            );
            return Err(cx.invalid(
                "template",
                format!("the component has no template \"{}\"", settings.template),
                Some(hint),
            ));
        }
        Ok(BuiltStep::each(Templated {
            channel: settings.notification_type,
            recipient: recipient?,
            templates,
            template: settings.template,
            render: settings.render_type,
            theme: settings.message_theme,
        }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<SendTemplatedNotification>() }

impl Step for Templated {
    fn run(&self, item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let user = self.recipient.resolve(cx, &item)?;
        let rendered = self
            .templates
            .render(&self.template, user.locale.as_deref(), self.render.into(), &item)
            .map_err(|e| StepError::at_setting("template", e))?;
        let subject = self.theme.clone().unwrap_or(rendered.subject);
        send(cx, self.channel, &user, subject, rendered.body, self.render == RenderType::Html)?;
        out.push(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use sluice_core::store::MessageStatus;
    use sluice_core::{Engine, LoadError, RunContext, RunError, RunOptions};

    use crate::test_support::engine;
    // The dataflows start with an input step.
    use sluice_steps_input as _;

    fn component(body_en: &str, render: &str) -> Vec<u8> {
        json!({
            "name": "Mailer",
            "definitions": {"Note": {"type": "string"}, "To": {"type": "string"}},
            "templates": {
                "Hello": {
                    "en": {"subject": "Hello {{ _user.userName }}", "body": body_en},
                    "fr": {"subject": "Bonjour {{ _user.userName }}", "body": "Bonjour {{ data.Note }}"}
                }
            },
            "dataflows": [{"name": "Send", "stages": [{"name": "S", "steps": [
                {"name": "model", "type": "get_action_model"},
                {"name": "user", "type": "get_user_info", "source": "model", "settings": {"userName": "data.To"}},
                {"name": "mail", "type": "send_templated_notification", "source": "user",
                 "settings": {"template": "Hello", "renderType": render}}]}]}]
        })
        .to_string()
        .into_bytes()
    }

    fn send(engine: &Engine, bytes: &[u8], to: &str, note: &str) -> Result<(), RunError> {
        let plan = engine.load("mailer.json", bytes).unwrap();
        let input = json!({"data": {"To": to, "Note": note}});
        plan.run("Send", &input, &RunContext::default(), RunOptions::default()).map(drop)
    }

    fn last_message(engine: &Engine) -> sluice_core::store::Message {
        engine.services().store.list_messages(None, None, 1).unwrap().remove(0)
    }

    #[test]
    fn the_recipients_language_is_used_with_english_as_the_fallback() {
        let (engine, _) = engine();
        let fr = sluice_core::store::User { locale: Some("fr-CA".into()), ..sluice_core::store::User::new("zoe") };
        engine.services().store.import_users(&[fr]).unwrap();
        let bytes = component("Hi {{ data.Note }}", "Text");
        send(&engine, &bytes, "zoe", "merci").unwrap();
        let message = last_message(&engine);
        assert_eq!((message.subject.as_str(), message.body.as_str()), ("Bonjour zoe", "Bonjour merci"));
        assert_eq!(message.status, MessageStatus::Sent, "Mail lands in the inbox at once");
        send(&engine, &bytes, "ann", "thanks").unwrap();
        let message = last_message(&engine);
        assert_eq!((message.subject.as_str(), message.body.as_str()), ("Hello ann", "Hi thanks"));
    }

    #[test]
    fn a_template_that_renders_a_nul_character_fails_the_step_and_sends_nothing() {
        let (engine, _) = engine();
        let err = send(&engine, &component(r#"A{{ "\u0000" }}B"#, "Text"), "ann", "x").unwrap_err();
        assert!(err.to_string().contains("rendered a NUL character"), "{err}");
        assert!(engine.services().store.list_messages(None, None, 1).unwrap().is_empty());
    }

    #[test]
    fn html_escapes_item_values_and_text_does_not() {
        let (engine, _) = engine();
        send(&engine, &component("<p>{{ data.Note }}</p>", "Html"), "ann", "<script>x</script> & co").unwrap();
        assert_eq!(last_message(&engine).body, "<p>&lt;script&gt;x&lt;&#x2f;script&gt; &amp; co</p>");
        assert!(last_message(&engine).html);
        send(&engine, &component("<p>{{ data.Note }}</p>", "Text"), "ann", "<b>").unwrap();
        assert_eq!(last_message(&engine).body, "<p><b></p>");
    }

    #[test]
    fn template_mistakes_are_load_errors_where_they_can_be_known_else_clear_run_errors() {
        let (engine, _) = engine();
        let problems = |bytes: &[u8]| match engine.load("mailer.json", bytes) {
            Err(LoadError::Invalid { diagnostics, .. }) => {
                diagnostics.iter().map(ToString::to_string).collect::<Vec<_>>()
            }
            other => panic!("{other:?}"),
        };
        let syntax = problems(&component("Hi {{ data.Note }", "Text"));
        assert_eq!(syntax.len(), 1, "{syntax:?}");
        assert!(syntax[0].contains("/templates/Hello/en/body: the template does not compile: "), "{}", syntax[0]);
        assert!(syntax[0].contains("(template line 1)"), "{}", syntax[0]);
        let typo = problems(&component("Hi {{ data.Note }} {{ data.Notes }}", "Text"));
        assert_eq!(typo.len(), 1, "{typo:?}");
        assert!(typo[0].contains("/templates/Hello/en/body: \"Notes\" is not a definition of this component (fix: did you mean data.Note?)"), "{}", typo[0]);
        let mut unknown: Value = serde_json::from_slice(&component("Hi", "Text")).unwrap();
        unknown["dataflows"][0]["stages"][0]["steps"][2]["settings"]["template"] = json!("Helo");
        let missing = problems(unknown.to_string().as_bytes());
        assert!(missing[0].contains("settings/template: step \"mail\": the component has no template \"Helo\" (fix: did you mean \"Hello\"?)"), "{}", missing[0]);

        let Err(RunError::StepFailed(failure)) =
            send(&engine, &component("Hi {{ _user.nickname }}", "Text"), "ann", "")
        else {
            panic!("an undefined variable fails the run");
        };
        assert!(
            failure.message.starts_with("template \"Hello\" (en body, line 1) cannot be rendered: "),
            "{}",
            failure.message
        );
        assert!(failure.pointer.ends_with("/settings/template"), "{}", failure.pointer);
    }
}
