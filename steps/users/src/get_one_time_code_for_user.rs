//! `get_one_time_code_for_user`: generates a one-time login code for a user and a client, for
//! two-factor authentication; the code goes into the item for the next step (a script or a
//! templated notification), and Confirm one-time code for user checks it.

use serde::Deserialize;
use serde_json::Value;
use sluice_core::otp::{self, CODE_LENGTHS, IssueRules, MAX_LIFETIME_MS, OtpError};
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::store::IssueLimits;
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldOrValue, FieldPath, Group, Item, Localized, SettingLabel, Step,
    StepContext, StepDescriptor, StepError, StepMeta, StepPlugin, ValueSource, labels,
};

use crate::{DurationSetting, client_of, client_setting, find_user};

/// Settings of `get_one_time_code_for_user`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GetOneTimeCodeSettings {
    /// Name or id of the user for whom the code is generated: a model path (`_user` after Get
    /// user info, `data.UserName`) or `{"value": "ann"}`.
    pub user_name: FieldOrValue,
    /// The client or application that initiates the confirmation request: a model path or
    /// `{"value": "workplace"}`. Default: the run's client. A code works only for its client.
    #[serde(default)]
    pub client: Option<FieldOrValue>,
    /// The lifetime of a code: seconds (`300`) or a duration (`"5m"`), from 1 s to 10 minutes.
    /// Default 5 minutes.
    #[serde(default)]
    pub code_lifetime: Option<DurationSetting>,
    /// Digits in the code, 6 to 10. Default 6.
    #[serde(default = "default_length")]
    #[schemars(range(min = 6, max = 10))]
    pub code_length: u32,
    /// Confirmations one code allows (wrong ones and the right one), 1 to 10. Default 5.
    #[serde(default = "default_attempts")]
    #[schemars(range(min = 1, max = 10))]
    pub max_attempts: u32,
    /// Time before another code may be issued for the same user and client: seconds or a
    /// duration, up to 1 hour. Default 30 s.
    #[serde(default)]
    pub resend_cooldown: Option<DurationSetting>,
    /// Codes at most for one user and client in any hour, 1 to 100. Default 10.
    #[serde(default = "default_per_hour")]
    #[schemars(range(min = 1, max = 100))]
    pub max_codes_per_hour: u32,
    /// Where the code is written. It is secret: traces show it as "[redacted]" and responses
    /// leave it out, unless a later step copies it into another field. Default `_oneTimeCode`.
    #[serde(default = "default_result")]
    pub result_field: String,
}

fn default_length() -> u32 {
    6
}
fn default_attempts() -> u32 {
    5
}
fn default_per_hour() -> u32 {
    10
}
fn default_result() -> String {
    "_oneTimeCode".into()
}

/// The step type.
pub struct GetOneTimeCodeForUser;

struct Issue {
    user: ValueSource,
    client: Option<ValueSource>,
    rules: IssueRules,
    result: FieldPath,
}

impl StepPlugin for GetOneTimeCodeForUser {
    type Settings = GetOneTimeCodeSettings;
    const META: StepMeta = StepMeta {
        id: "get_one_time_code_for_user",
        group: Group::Users,
        starts_flow: false,
        title: Localized {
            en: "Get one-time code for user",
            fr: "Obtenir un code à usage unique pour l'utilisateur",
            es: "Obtener código de un solo uso para el usuario",
            pt: "Obter código de uso único para o usuário",
            de: "Einmalcode für Benutzer abrufen",
        },
        description: Localized {
            en: "Generates a one-time code for logging in as part of two-factor authentication; works with Confirm one-time code for user.",
            fr: "Génère un code à usage unique pour se connecter dans le cadre de l'authentification à deux facteurs ; fonctionne avec Confirmer le code à usage unique pour l'utilisateur.",
            es: "Genera un código de un solo uso para iniciar sesión como parte de la autenticación de dos factores; funciona con Confirmar código de un solo uso para el usuario.",
            pt: "Gera um código de uso único para login como parte da autenticação de dois fatores; funciona com Confirmar código de uso único para o usuário.",
            de: "Erzeugt einen Einmalcode für die Anmeldung im Rahmen der Zwei-Faktor-Authentifizierung; arbeitet mit „Einmalcode für Benutzer bestätigen“ zusammen.",
        },
        settings: &[
            labels::USER_NAME,
            labels::CLIENT,
            SettingLabel {
                name: "codeLifetime",
                label: Localized {
                    en: "Code life time",
                    fr: "Durée de vie du code",
                    es: "Tiempo de vida del código",
                    pt: "Tempo de vida do código",
                    de: "Code-Lebensdauer",
                },
            },
            SettingLabel {
                name: "codeLength",
                label: Localized {
                    en: "Code length",
                    fr: "Longueur du code",
                    es: "Longitud del código",
                    pt: "Comprimento do código",
                    de: "Codelänge",
                },
            },
            SettingLabel {
                name: "maxAttempts",
                label: Localized {
                    en: "Maximum attempts",
                    fr: "Nombre maximal de tentatives",
                    es: "Número máximo de intentos",
                    pt: "Número máximo de tentativas",
                    de: "Maximale Versuche",
                },
            },
            SettingLabel {
                name: "resendCooldown",
                label: Localized {
                    en: "Resend cooldown",
                    fr: "Délai avant renvoi",
                    es: "Espera antes de reenviar",
                    pt: "Espera antes de reenviar",
                    de: "Wartezeit vor erneutem Senden",
                },
            },
            SettingLabel {
                name: "maxCodesPerHour",
                label: Localized {
                    en: "Maximum codes per hour",
                    fr: "Nombre maximal de codes par heure",
                    es: "Número máximo de códigos por hora",
                    pt: "Número máximo de códigos por hora",
                    de: "Maximale Codes pro Stunde",
                },
            },
            labels::RESULT_FIELD,
        ],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let user = cx.value_source("userName", &settings.user_name);
        let client = client_setting(settings.client.as_ref(), cx);
        let lifetime = match &settings.code_lifetime {
            Some(d) => d.check("codeLifetime", 1000, MAX_LIFETIME_MS, cx),
            None => Ok(300_000),
        };
        let cooldown = match &settings.resend_cooldown {
            Some(d) => d.check("resendCooldown", 0, 3_600_000, cx),
            None => Ok(30_000),
        };
        let result = cx.path("resultField", &settings.result_field);
        debug_assert!(CODE_LENGTHS.contains(&settings.code_length), "the schema bounds codeLength");
        Ok(BuiltStep::each(Issue {
            user: user?,
            client: client?,
            rules: IssueRules {
                length: settings.code_length,
                lifetime: lifetime?,
                max_attempts: settings.max_attempts,
                limits: IssueLimits { resend_cooldown: cooldown?, max_per_hour: settings.max_codes_per_hour },
            },
            result: result?,
        }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<GetOneTimeCodeForUser>() }

impl Step for Issue {
    fn run(&self, mut item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let Some(name) = self.user.resolve(&item) else {
            return Err(StepError::at_setting("userName", format!("{} holds no user name or id", self.user)));
        };
        let user = find_user(cx, &self.user, &item)?
            .ok_or_else(|| StepError::at_setting("userName", format!("there is no user named or with id \"{name}\"")))?;
        if !user.active {
            return Err(StepError::at_setting("userName", format!("user \"{}\" is inactive", user.user_name)));
        }
        let client = client_of(self.client.as_ref(), &item, cx)?;
        let code = otp::issue(cx.services(), &user, &client, &self.rules).map_err(|e| match e {
            OtpError::RateLimited { .. } => StepError::new(e.to_string()),
            other => StepError::new(format!("cannot issue a code: {other}")),
        })?;
        self.result
            .set(&mut item, Value::String(code.expose().to_owned()))
            .map_err(|e| StepError::at_setting("resultField", e))?;
        cx.mark_secret(&self.result);
        out.push(item);
        Ok(())
    }
}
