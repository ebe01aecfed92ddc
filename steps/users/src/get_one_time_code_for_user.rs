//! `get_one_time_code_for_user`: generates a one-time login code for a user and a client, for
//! two-factor authentication; the code goes into the item for the next step (a script or a
//! templated notification), and Confirm one-time code for user checks it.

use serde::Deserialize;
use serde_json::Value;
use sluice_core::events::Event;
use sluice_core::otp::{self, Binding, CODE_LENGTHS, IssueRules, MAX_LIFETIME_MS, OtpError};
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
    /// What the code is for. A user holds one code per purpose, and a code confirms only in a
    /// Confirm step with the same purpose. Default: the component's name, so that one
    /// component's codes never confirm in another.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub purpose: Option<String>,
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
    /// Time before another code may be issued for the same user and purpose, whatever the
    /// client: seconds or a duration, up to 1 hour. Default 30 s.
    #[serde(default)]
    pub resend_cooldown: Option<DurationSetting>,
    /// Codes at most for one user and purpose in any hour, whatever the client, 1 to 100.
    /// Default 10.
    #[serde(default = "default_per_hour")]
    #[schemars(range(min = 1, max = 100))]
    pub max_codes_per_hour: u32,
    /// Where the code is written (its challenge id goes into `_otpChallenge`, for a Confirm
    /// step's `challengeField`). It is secret: traces show it as "[redacted]" and responses
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
    purpose: String,
    rules: IssueRules,
    result: FieldPath,
}

impl StepPlugin for GetOneTimeCodeForUser {
    type Settings = GetOneTimeCodeSettings;
    const META: StepMeta = StepMeta {
        id: "get_one_time_code_for_user",
        group: Group::Users,
        calls_outside: false,
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
            labels::PURPOSE,
        ],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let user = cx.user_source("userName", &settings.user_name);
        let client = client_setting(settings.client.as_ref(), cx);
        let purpose = settings.purpose.unwrap_or_else(|| cx.component().to_owned());
        let lifetime = match &settings.code_lifetime {
            Some(d) => d.check("codeLifetime", 1000, MAX_LIFETIME_MS, cx),
            None => Ok(300_000),
        };
        let cooldown = match &settings.resend_cooldown {
            Some(d) => d.check("resendCooldown", 0, 3_600_000, cx),
            None => Ok(30_000),
        };
        let result = cx.result_path("resultField", &settings.result_field);
        if let Ok(path) = &result {
            cx.secret_field(path);
        }
        cx.writes_field(otp::CHALLENGE_FIELD);
        debug_assert!(CODE_LENGTHS.contains(&settings.code_length), "the schema bounds codeLength");
        Ok(BuiltStep::each(Issue {
            user: user?,
            client: client?,
            purpose,
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
        let client = client_of(self.client.as_ref(), &item, cx)?;
        let binding = Binding { purpose: &self.purpose, client: &client };
        // No code for an unknown or inactive user, after the same work as for an active one.
        let refusal = match find_user(cx, Some(&name))? {
            None => Err(format!("there is no user named or with id \"{name}\"")),
            Some(user) if !user.active => Err(format!("user \"{}\" is inactive", user.user_name)),
            Some(user) => Ok(user),
        };
        let user = match refusal {
            Ok(user) => user,
            Err(message) => {
                otp::work_for_unknown(cx.services(), &name, binding, &self.rules)
                    .map_err(|e| StepError::new(e.to_string()))?;
                return Err(StepError::at_setting("userName", message));
            }
        };
        let failed = |e: OtpError| match e {
            OtpError::RateLimited { .. } => StepError::new(e.to_string()),
            OtpError::Store(e) => e.into(),
            other => StepError::new(format!("cannot issue a code: {other}")),
        };
        let issued = if cx.dry_run() {
            cx.note(format!("dry run: a code for {} was made but not stored", user.user_name));
            let code = otp::generate_code(self.rules.length).map_err(failed)?;
            otp::IssuedCode { code, challenge: sluice_core::new_uuid() }
        } else {
            let factors = cx.proved_by(&user.id);
            otp::issue(cx.services(), &user, binding, &self.rules, factors).map_err(failed)?
        };
        cx.count(Event::CodeIssued);
        self.result
            .set(&mut item, Value::String(issued.code.expose().to_owned()))
            .map_err(|e| StepError::at_setting("resultField", e))?;
        item.insert(otp::CHALLENGE_FIELD.into(), Value::String(issued.challenge));
        out.push(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use sluice_core::{Engine, RunContext, SingleStep};

    use crate::test_support::engine;

    fn step(engine: &Engine, settings: Value) -> SingleStep {
        engine.single_step("code", "get_one_time_code_for_user", settings, &Default::default()).unwrap()
    }

    fn problems(settings: Value) -> Vec<String> {
        let (engine, _) = engine();
        let built = engine.single_step("code", "get_one_time_code_for_user", settings, &Default::default());
        built.err().unwrap_or_default().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn writes_a_secret_code_of_the_configured_length() {
        let (engine, _) = engine();
        let get = step(&engine, json!({"userName": "data.UserName", "client": {"value": "web"}, "codeLength": 8}));
        let out = get.run_one(json!({"data": {"UserName": "ann"}})).unwrap();
        let code = out.items[0]["_oneTimeCode"].as_str().unwrap();
        assert!(code.len() == 8 && code.bytes().all(|b| b.is_ascii_digit()), "{code}");
        assert_eq!(out.secrets[0].path.to_string(), "_oneTimeCode");
    }

    #[test]
    fn the_client_defaults_to_the_runs_client() {
        let (engine, _) = engine();
        let get = step(&engine, json!({"userName": {"value": "ann"}, "resultField": "data.Code"}));
        let err = get.run_one(json!({"data": {}})).unwrap_err();
        assert_eq!(err.message, "the run has no client: set \"client\", or run with a client (--client)");
        let run = RunContext { user: None, client: Some("web".into()) };
        let out = get.run(&Value::Null, vec![json!({"data": {}}).as_object().unwrap().clone()], &run).unwrap();
        assert_eq!(out.items[0]["data"]["Code"].as_str().map(str::len), Some(6));
    }

    #[test]
    fn reading_user_where_no_step_upstream_writes_it_is_a_load_problem() {
        let (engine, _) = engine();
        let component = |upstream: &str, settings: Value| {
            json!({"name": "C", "definitions": {"UserName": {"type": "string"}}, "dataflows": [{"name": "F", "stages": [
                {"name": "In", "steps": [{"name": "model", "type": "get_action_model"}]},
                {"name": "Who", "steps": [{"name": "who", "type": upstream, "source": "model", "settings": settings}]},
                {"name": "Code", "steps": [{"name": "code", "type": "get_one_time_code_for_user", "source": "who",
                                            "settings": {"userName": "_user"}}]}
            ]}]})
            .to_string()
        };
        // A first code writes no user: the caller would have to send `_user`, which only
        // builders may.
        let first_code = component("get_one_time_code_for_user", json!({"userName": {"value": "ann"}}));
        let problems = match engine.load("c.json", first_code.as_bytes()) {
            Err(sluice_core::LoadError::Invalid { diagnostics, .. }) => {
                diagnostics.iter().map(ToString::to_string).collect::<Vec<_>>()
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("/dataflows/0/stages/2/steps/0/settings/userName: step \"code\": userName reads _user, but no step before this one writes _user (fix: add Get user info or Login with password upstream"),
            "{}",
            problems[0]
        );
        // Get user info writes it.
        let user_info = component("get_user_info", json!({"userName": "data.UserName"}));
        assert!(engine.load("c.json", user_info.as_bytes()).is_ok());
    }

    #[test]
    fn unknown_inactive_and_rate_limited_users_fail_clearly() {
        let (engine, clock) = engine();
        let get = step(&engine, json!({"userName": "data.U", "client": {"value": "web"}}));
        let fail = |user: &str| get.run_one(json!({"data": {"U": user}})).unwrap_err();
        assert_eq!(fail("nobody").message, "there is no user named or with id \"nobody\"");
        assert_eq!(fail("nobody").setting.as_deref(), Some("userName"));
        assert_eq!(fail("zoe-x").message, "user \"zoe-x\" is inactive");
        assert_eq!(get.run_one(json!({"data": {}})).unwrap_err().message, "the field data.U holds no user name or id");
        get.run_one(json!({"data": {"U": "ann"}})).unwrap();
        clock.advance(5_000);
        let limited = fail("ann").message;
        assert_eq!(limited, "too many codes were requested for this user; try again in 25 s");
    }

    #[test]
    fn lifetime_length_and_limits_are_checked_at_load() {
        let base = || json!({"userName": "_user"});
        let with = |key: &str, value: Value| {
            let mut s = base();
            s[key] = value;
            problems(s)
        };
        assert!(problems(base()).is_empty());
        for ok in [json!(1), json!(600), json!("5m"), json!("90s"), json!("1m 30s")] {
            assert!(with("codeLifetime", ok.clone()).is_empty(), "{ok}");
        }
        let too_long = with("codeLifetime", json!("11m"));
        assert_eq!(
            too_long,
            [
                "1:1: /settings/codeLifetime: step \"code\": 11 min is outside 1 s to 10 min (fix: write seconds (such as 300) or a duration (such as \"5m\") from 1 s to 10 min)"
            ]
        );
        assert!(with("codeLifetime", json!(0))[0].contains("0 s is outside 1 s to 10 min"));
        assert!(with("codeLifetime", json!("soon"))[0].contains("this is not a duration"));
        for (key, bad, problem) in [
            ("codeLength", 5, "5 is less than the minimum of 6"),
            ("codeLength", 11, "11 is greater than the maximum of 10"),
            ("maxAttempts", 0, "0 is less than the minimum of 1"),
            ("maxAttempts", 11, "11 is greater than the maximum of 10"),
        ] {
            assert_eq!(with(key, json!(bad)), [format!("1:1: /settings/{key}: step \"code\": {problem}")]);
        }
        assert!(with("resendCooldown", json!("2h"))[0].contains("outside 0 s to 60 min"));
        assert_eq!(
            problems(json!({})),
            ["1:1: /settings: step \"code\": the required key \"userName\" is missing (fix: add \"userName\")"]
        );
        assert_eq!(
            problems(json!({"userName": "_user", "clientt": "x"})),
            ["1:1: /settings/clientt: step \"code\": unknown key \"clientt\" (fix: remove it, or check its spelling)"]
        );
    }
}
