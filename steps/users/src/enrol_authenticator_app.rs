//! `enrol_authenticator_app`: starts adding an authenticator app (TOTP) to a user's account.
//! The result holds what the user scans or types once — the `otpauth://` URI as a QR code, the
//! secret, ten recovery codes — for a modal; the enrolment completes when Confirm one-time
//! code for user (`"method": "totp"`) takes a first code of the app.

use serde::Deserialize;
use serde_json::json;
use sluice_core::authenticator;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldOrValue, FieldPath, Group, Item, Localized, SettingLabel, Step,
    StepContext, StepDescriptor, StepError, StepMeta, StepPlugin, ValueSource, labels,
};

use crate::{find_user, named_or_caller};

/// Settings of `enrol_authenticator_app`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EnrolAuthenticatorAppSettings {
    /// Name or id of the user: a model path or `{"value": "ann"}`. Default: the calling user.
    #[serde(default)]
    pub user_name: Option<FieldOrValue>,
    /// The name the app shows beside the account, such as the application's. Default: the
    /// component's name.
    #[serde(default)]
    #[schemars(length(min = 1, max = 64))]
    pub issuer: Option<String>,
    /// Where `{"uri", "secret", "qrSvg", "recoveryCodes"}` goes, for a modal. Default
    /// `_authenticator`. Traces show it as "[redacted]"; the response keeps it for its user.
    #[serde(default = "default_result")]
    pub result_field: String,
}

fn default_result() -> String {
    "_authenticator".into()
}

/// The step type.
pub struct EnrolAuthenticatorApp;

struct Enrol {
    user: Option<ValueSource>,
    issuer: String,
    result: FieldPath,
}

impl StepPlugin for EnrolAuthenticatorApp {
    type Settings = EnrolAuthenticatorAppSettings;
    const META: StepMeta = StepMeta {
        id: "enrol_authenticator_app",
        group: Group::Users,
        calls_outside: false,
        title: Localized {
            en: "Enrol authenticator app",
            fr: "Enregistrer une application d'authentification",
            es: "Registrar una aplicación de autenticación",
            pt: "Registrar um aplicativo autenticador",
            de: "Authenticator-App einrichten",
        },
        description: Localized {
            en: "Starts adding an authenticator app (TOTP) to a user: a QR code to scan and recovery codes; a first code of the app completes it.",
            fr: "Commence l'ajout d'une application d'authentification (TOTP) à un utilisateur : un code QR à scanner et des codes de secours ; un premier code de l'application le termine.",
            es: "Empieza a añadir una aplicación de autenticación (TOTP) a un usuario: un código QR para escanear y códigos de recuperación; un primer código de la aplicación lo completa.",
            pt: "Começa a adicionar um aplicativo autenticador (TOTP) a um usuário: um código QR para ler e códigos de recuperação; um primeiro código do aplicativo o conclui.",
            de: "Beginnt, einem Benutzer eine Authenticator-App (TOTP) hinzuzufügen: ein QR-Code zum Scannen und Wiederherstellungscodes; ein erster Code der App schließt es ab.",
        },
        settings: &[
            labels::USER_NAME,
            SettingLabel {
                name: "issuer",
                label: Localized { en: "Issuer", fr: "Émetteur", es: "Emisor", pt: "Emissor", de: "Aussteller" },
            },
            labels::RESULT_FIELD,
        ],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let user = settings.user_name.as_ref().map(|u| cx.user_source("userName", u)).transpose();
        let issuer = settings.issuer.unwrap_or_else(|| cx.component().to_owned());
        let result = cx.result_path("resultField", &settings.result_field);
        Ok(BuiltStep::each(Enrol { user: user?, issuer, result: result? }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<EnrolAuthenticatorApp>() }

impl Step for Enrol {
    fn run(&self, mut item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let key = named_or_caller(self.user.as_ref(), &item, cx);
        let user = find_user(cx, key.as_deref())?
            .filter(|u| u.active)
            .ok_or_else(|| StepError::at_setting("userName", "no active user to enrol (sign in, or set userName)"))?;
        if cx.dry_run() {
            cx.note("dry run: no authenticator was enrolled");
            out.push(item);
            return Ok(());
        }
        let enrolment = authenticator::begin(cx.services(), &user, &self.issuer)?;
        let value = json!({
            "uri": enrolment.uri,
            "secret": enrolment.secret,
            "qrSvg": enrolment.qr_svg,
            "recoveryCodes": enrolment.recovery_codes,
        });
        self.result.set(&mut item, value).map_err(|e| StepError::at_setting("resultField", e))?;
        cx.mark_credential(&self.result);
        cx.note(format!("authenticator enrolment started for \"{}\"", user.user_name));
        out.push(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use sluice_core::otp::REJECTED;
    use sluice_core::{Engine, RunContext, SingleStep};

    use crate::test_support::engine;

    fn build(engine: &Engine, step_type: &str, settings: Value) -> SingleStep {
        engine.single_step("s", step_type, settings, &Default::default()).unwrap()
    }

    #[test]
    fn an_app_is_enrolled_for_the_calling_user_and_its_codes_confirm_once() {
        let (engine, clock) = engine();
        let run = RunContext { user: Some("ann".into()), client: Some("web".into()) };
        let one = |value: Value| vec![value.as_object().unwrap().clone()];
        let enrol = build(&engine, "enrol_authenticator_app", json!({"issuer": "Sluice"}));
        let out = enrol.run(&Value::Null, one(json!({})), &run).unwrap();
        let app = &out.items[0]["_authenticator"];
        assert!(app["uri"].as_str().unwrap().starts_with("otpauth://totp/Sluice:ann?secret="));
        assert!(app["qrSvg"].as_str().unwrap().contains("<svg"));
        assert_eq!(app["recoveryCodes"].as_array().unwrap().len(), 10);
        assert!(out.secrets.iter().any(|s| s.path.to_string() == "_authenticator"), "traces never show it");
        let secret = app["secret"].as_str().unwrap().to_owned();

        let confirm =
            build(&engine, "confirm_one_time_code_for_user", json!({"userCodeField": "typed", "method": "totp"}));
        let now = sluice_core::Clock::now(clock.as_ref());
        let typed = json!({"typed": sluice_core::authenticator::app_code(&secret, now).unwrap()});
        let done = confirm.run(&Value::Null, one(typed.clone()), &run).unwrap();
        assert_eq!(done.items[0]["_confirmed"], true);
        let again = confirm.run(&Value::Null, one(typed), &run).unwrap_err();
        assert_eq!((again.public, again.message.as_str()), (true, REJECTED), "a replayed code fails");
        let recovery = json!({"typed": app["recoveryCodes"][3]});
        assert_eq!(confirm.run(&Value::Null, one(recovery), &run).unwrap().items[0]["_confirmed"], true);

        let mixed = engine.single_step(
            "s",
            "confirm_one_time_code_for_user",
            json!({"userCodeField": "typed", "method": "totp", "purpose": "x"}),
            &Default::default(),
        );
        assert!(mixed.err().unwrap()[0].message.contains("purpose is for one-time codes"));
        let nobody = RunContext { user: None, client: Some("web".into()) };
        let err = enrol.run(&Value::Null, one(json!({})), &nobody).unwrap_err();
        assert!(err.message.contains("no active user to enrol"), "{err:?}");
    }
}
