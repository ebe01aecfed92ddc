//! `confirm_one_time_code_for_user`: checks a code the user typed against the one issued by
//! Get one-time code for user. A code works once, for its user and client, within its
//! lifetime and its attempts.

use serde::Deserialize;
use serde_json::{Value, json};
use sluice_core::authenticator;
use sluice_core::otp::{self, Binding, ConfirmError, REJECTED, Rejection};
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldOrValue, FieldPath, Group, Item, Localized, SettingLabel, Step,
    StepContext, StepDescriptor, StepError, StepMeta, StepPlugin, ValueSource, labels,
};

use sluice_core::Millis;
use sluice_core::clock::rfc3339;
use sluice_core::events::Event;
use sluice_core::sessions::{self, SessionRules};

use crate::{DurationSetting, client_of, client_setting, find_user, named_or_caller};

/// Settings of `confirm_one_time_code_for_user`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfirmOneTimeCodeSettings {
    /// Path of the field holding the code the user typed, such as `_code`. Surrounding spaces
    /// and quotes are ignored; anything else that is not the code's digits fails. The field is
    /// secret: traces and run records show it as "[redacted]", responses leave it out.
    pub user_code_field: String,
    /// Name or id of the user: a model path or `{"value": "ann"}`. Default: the calling user.
    #[serde(default)]
    pub user_name: Option<FieldOrValue>,
    /// The client the code was issued for: a model path or `{"value": "workplace"}`.
    /// Default: the run's client.
    #[serde(default)]
    pub client: Option<FieldOrValue>,
    /// What the code is for: the purpose of the Get one-time code step that issued it.
    /// Default: the component's name.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub purpose: Option<String>,
    /// Where `true` (confirmed) or `false` goes. Default `_confirmed`.
    #[serde(default = "default_result")]
    pub result_field: String,
    /// What a refused code does: `stop` the run with "invalid or expired code" (default), or
    /// `continue` with `false` in the result field.
    #[serde(default)]
    pub on_failure: OnFailure,
    /// On success, open a session and write `{"token", "expiresAt"}` into `_session`: the
    /// credential the end user presents from then on (only its hash is stored).
    #[serde(default)]
    pub issue_session: bool,
    /// How long a session lasts: seconds or a duration (`"12h"`), 1 minute to 30 days.
    /// Default 12 hours.
    #[serde(default)]
    pub session_lifetime: Option<DurationSetting>,
    /// How long a session lasts unused: seconds or a duration, 1 minute to 30 days. Default
    /// 30 minutes (NIST SP 800-63B at AAL2).
    #[serde(default)]
    pub session_idle_timeout: Option<DurationSetting>,
    /// What the user typed: `code` (default), a code of Get one-time code for user; or `totp`,
    /// a code of the user's authenticator app (Enrol authenticator app; its first code
    /// completes the enrolment) or one of their recovery codes. With `totp`, `client`,
    /// `purpose` and `challengeField` do not apply.
    #[serde(default)]
    pub method: Method,
    /// Path of the field holding the challenge id that Get one-time code for user wrote into
    /// `_otpChallenge`, such as `data.Challenge`: the typed code is then checked against that
    /// code only, and a missing or unknown challenge fails like a wrong code. Default: the
    /// user's live code for the purpose.
    #[serde(default)]
    pub challenge_field: Option<String>,
}

fn default_result() -> String {
    "_confirmed".into()
}

/// Which kind of code a confirmation checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Method {
    /// A one-time code issued by Get one-time code for user.
    #[default]
    Code,
    /// A code of the user's authenticator app, or a recovery code.
    Totp,
}

/// What a refused code does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum OnFailure {
    /// Stop the run.
    #[default]
    Stop,
    /// Write `false` and go on.
    Continue,
}

/// The step type.
pub struct ConfirmOneTimeCodeForUser;

struct Confirm {
    typed: FieldPath,
    user: Option<ValueSource>,
    client: Option<ValueSource>,
    purpose: String,
    result: FieldPath,
    on_failure: OnFailure,
    /// Where the challenge id is, when the code must be the one it names.
    challenge: Option<FieldPath>,
    /// How long sessions last, when the step opens one.
    session: Option<SessionRules>,
    method: Method,
}

impl StepPlugin for ConfirmOneTimeCodeForUser {
    type Settings = ConfirmOneTimeCodeSettings;
    const META: StepMeta = StepMeta {
        id: "confirm_one_time_code_for_user",
        group: Group::Users,
        calls_outside: false,
        title: Localized {
            en: "Confirm one-time code for user",
            fr: "Confirmer le code à usage unique pour l'utilisateur",
            es: "Confirmar código de un solo uso para el usuario",
            pt: "Confirmar código de uso único para o usuário",
            de: "Einmalcode für Benutzer bestätigen",
        },
        description: Localized {
            en: "Verifies a code produced by Get one-time code for user; a code works once, before it expires.",
            fr: "Vérifie un code produit par Obtenir un code à usage unique pour l'utilisateur ; un code ne sert qu'une fois, avant son expiration.",
            es: "Verifica un código generado por Obtener código de un solo uso para el usuario; un código sirve una sola vez, antes de caducar.",
            pt: "Verifica um código gerado por Obter código de uso único para o usuário; um código serve uma única vez, antes de expirar.",
            de: "Prüft einen mit „Einmalcode für Benutzer abrufen“ erzeugten Code; ein Code gilt einmal, bevor er abläuft.",
        },
        settings: &[
            SettingLabel {
                name: "userCodeField",
                label: Localized {
                    en: "User code field",
                    fr: "Champ du code utilisateur",
                    es: "Campo del código del usuario",
                    pt: "Campo do código do usuário",
                    de: "Feld des Benutzercodes",
                },
            },
            labels::USER_NAME,
            labels::CLIENT,
            labels::RESULT_FIELD,
            SettingLabel {
                name: "issueSession",
                label: Localized {
                    en: "Issue session",
                    fr: "Ouvrir une session",
                    es: "Abrir una sesión",
                    pt: "Abrir uma sessão",
                    de: "Sitzung eröffnen",
                },
            },
            SettingLabel {
                name: "sessionLifetime",
                label: Localized {
                    en: "Session lifetime",
                    fr: "Durée de la session",
                    es: "Duración de la sesión",
                    pt: "Duração da sessão",
                    de: "Sitzungsdauer",
                },
            },
            SettingLabel {
                name: "onFailure",
                label: Localized {
                    en: "On failure",
                    fr: "En cas d'échec",
                    es: "En caso de fallo",
                    pt: "Em caso de falha",
                    de: "Bei Fehlschlag",
                },
            },
            labels::PURPOSE,
            SettingLabel {
                name: "sessionIdleTimeout",
                label: Localized {
                    en: "Session idle timeout",
                    fr: "Délai d'inactivité de la session",
                    es: "Tiempo de inactividad de la sesión",
                    pt: "Tempo de inatividade da sessão",
                    de: "Sitzungs-Leerlaufzeit",
                },
            },
            SettingLabel {
                name: "method",
                label: Localized { en: "Method", fr: "Méthode", es: "Método", pt: "Método", de: "Methode" },
            },
            SettingLabel {
                name: "challengeField",
                label: Localized {
                    en: "Challenge field",
                    fr: "Champ du défi",
                    es: "Campo del desafío",
                    pt: "Campo do desafio",
                    de: "Feld der Challenge",
                },
            },
        ],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        if settings.method == Method::Totp {
            let codes_only = [
                ("client", settings.client.is_some()),
                ("purpose", settings.purpose.is_some()),
                ("challengeField", settings.challenge_field.is_some()),
            ];
            if let Some((name, _)) = codes_only.iter().find(|(_, given)| *given) {
                return Err(cx.invalid(name, format!("{name} is for one-time codes, not \"method\": \"totp\""), None));
            }
        }
        let typed = cx.path("userCodeField", &settings.user_code_field);
        // The typed code is a secret like the issued one: traces and run records redact it.
        if let Ok(path) = &typed {
            cx.secret_field(path);
        }
        let user = settings.user_name.as_ref().map(|u| cx.user_source("userName", u)).transpose();
        let client = client_setting(settings.client.as_ref(), cx);
        let session = session_rules(&settings, cx);
        let purpose = settings.purpose.unwrap_or_else(|| cx.component().to_owned());
        let result = cx.result_path("resultField", &settings.result_field);
        let challenge = settings.challenge_field.as_deref().map(|c| cx.path("challengeField", c)).transpose();

        Ok(BuiltStep::each(Confirm {
            session: session?,
            challenge: challenge?,
            typed: typed?,
            user: user?,
            client: client?,
            purpose,
            result: result?,
            on_failure: settings.on_failure,
            method: settings.method,
        }))
    }
}

/// The lifetime and idle timeout of the sessions the step opens, when it opens them.
fn session_rules(
    settings: &ConfirmOneTimeCodeSettings,
    cx: &mut BuildContext<'_>,
) -> Result<Option<SessionRules>, BuildError> {
    const RANGE: (Millis, Millis) = (60_000, 30 * 86_400_000);
    let given =
        [("sessionLifetime", &settings.session_lifetime), ("sessionIdleTimeout", &settings.session_idle_timeout)];
    if !settings.issue_session {
        return match given.iter().find(|(_, d)| d.is_some()) {
            Some((name, _)) => Err(cx.invalid(name, format!("{name} needs \"issueSession\": true"), None)),
            None => Ok(None),
        };
    }
    cx.writes_field(sessions::SESSION_FIELD);
    let mut check = |(name, duration): (&str, &Option<DurationSetting>), default: Millis| match duration {
        Some(d) => d.check(name, RANGE.0, RANGE.1, cx),
        None => Ok(default),
    };
    let lifetime = check(given[0], 12 * 3_600_000);
    let idle_timeout = check(given[1], sessions::DEFAULT_IDLE_TIMEOUT);
    Ok(Some(SessionRules { lifetime: lifetime?, idle_timeout: idle_timeout? }))
}

sluice_core::inventory::submit! { StepDescriptor::of::<ConfirmOneTimeCodeForUser>() }

impl Step for Confirm {
    fn run(&self, mut item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let key = named_or_caller(self.user.as_ref(), &item, cx);
        let user = find_user(cx, key.as_deref())?;
        let client = client_of(self.client.as_ref(), &item, cx)?;
        let typed = self.typed.get(&item).cloned().unwrap_or(Value::Null);
        // With a challenge field, a missing challenge names no code: it fails like a wrong one.
        let challenge = self.challenge.as_ref().map(|path| match path.get(&item) {
            Some(Value::String(id)) => id.as_str(),
            _ => "",
        });
        let binding = Binding { purpose: &self.purpose, client: &client };
        let verdict = match &user {
            Some(_) if cx.dry_run() => {
                cx.note("dry run: the code was not checked, and is taken as confirmed");
                Ok(Vec::new())
            }
            Some(user) if self.method == Method::Totp => {
                let before = cx.proved_by(&user.id);
                authenticator::confirm(cx.services(), user, &typed, before)
            }
            Some(user) => otp::confirm(cx.services(), user, binding, challenge, &typed),
            None => {
                if !cx.dry_run() {
                    otp::refuse_unknown(cx.services(), key.as_deref().unwrap_or_default(), binding, &typed)?;
                }
                Err(ConfirmError::Rejected(Rejection::NoCode))
            }
        };
        let factors = match verdict {
            Ok(factors) => {
                cx.count(Event::CodeConfirmed);
                Some(factors)
            }
            Err(ConfirmError::Rejected(why)) => {
                cx.note(format!("code refused: {}", why.reason()));
                cx.count(Event::CodeRefused);
                None
            }
            Err(ConfirmError::Store(e)) => return Err(e.into()),
        };
        let confirmed = factors.is_some();
        if !confirmed && self.on_failure == OnFailure::Stop {
            return Err(StepError::public(REJECTED));
        }
        self.result.set(&mut item, Value::Bool(confirmed)).map_err(|e| StepError::at_setting("resultField", e))?;
        if let (Some(factors), Some(rules), Some(user)) = (factors, self.session, &user) {
            let (token, expires_at) = if cx.dry_run() {
                cx.note("dry run: no session was opened");
                ("[dry run]".to_owned(), cx.services().clock.now() + rules.lifetime)
            } else {
                let (token, session) = sessions::open_session(cx.services(), &user.id, &client, factors, rules)
                    .map_err(|e| StepError::new(e.to_string()))?;
                (token, session.expires_at)
            };
            item.insert(sessions::SESSION_FIELD.into(), json!({"token": token, "expiresAt": rfc3339(expires_at)}));
            if let Ok(path) = FieldPath::parse(&format!("{}.token", sessions::SESSION_FIELD)) {
                cx.mark_credential(&path);
            }
        }
        out.push(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use sluice_core::{Engine, RunContext, SingleStep};

    use crate::test_support::engine;

    fn build(engine: &Engine, step_type: &str, settings: Value) -> SingleStep {
        engine.single_step("s", step_type, settings, &Default::default()).unwrap()
    }

    fn item(value: Value) -> sluice_core::Item {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn confirms_for_the_calling_user_and_reports_failures_the_same_way() {
        let (engine, clock) = engine();
        let run = RunContext { user: Some("ann".into()), client: Some("web".into()) };
        let get = build(&engine, "get_one_time_code_for_user", json!({"userName": {"value": "ann"}}));
        let code = get.run(&Value::Null, vec![item(json!({}))], &run).unwrap().items[0]["_oneTimeCode"].clone();
        let stop = build(&engine, "confirm_one_time_code_for_user", json!({"userCodeField": "typed"}));
        let go_on = build(
            &engine,
            "confirm_one_time_code_for_user",
            json!({"userCodeField": "typed", "onFailure": "continue", "resultField": "ok"}),
        );

        let wrong = stop.run(&Value::Null, vec![item(json!({"typed": "000000x"}))], &run).unwrap_err();
        assert_eq!(wrong.message, "invalid or expired code");
        let out = go_on.run(&Value::Null, vec![item(json!({"typed": "12"}))], &run).unwrap();
        assert_eq!(
            (out.items[0]["ok"].clone(), out.notes.clone()),
            (json!(false), vec!["code refused: the input is not a code of the right length".to_owned()])
        );
        let out = stop.run(&Value::Null, vec![item(json!({"typed": code}))], &run).unwrap();
        assert_eq!(out.items[0]["_confirmed"], true);
        let out = go_on.run(&Value::Null, vec![item(json!({"typed": code}))], &run).unwrap();
        assert_eq!(out.notes, ["code refused: the code was already used"]);

        clock.advance(600_000);
        let code = get.run(&Value::Null, vec![item(json!({}))], &run).unwrap().items[0]["_oneTimeCode"].clone();
        let bob = RunContext { user: Some("nobody".into()), client: Some("web".into()) };
        let out = go_on.run(&Value::Null, vec![item(json!({"typed": code}))], &bob).unwrap();
        assert_eq!(out.notes, ["code refused: no code was issued for this user"]);
        let other_client = RunContext { user: Some("ann".into()), client: Some("app".into()) };
        let out = go_on.run(&Value::Null, vec![item(json!({"typed": code}))], &other_client).unwrap();
        assert_eq!(out.notes, ["code refused: the code was issued for another client"]);
    }

    #[test]
    fn the_code_steps_max_attempts_and_code_lifetime_hold_at_run_time() {
        let (engine, clock) = engine();
        let run = RunContext { user: Some("ann".into()), client: Some("web".into()) };
        let get = build(
            &engine,
            "get_one_time_code_for_user",
            json!({"userName": {"value": "ann"}, "maxAttempts": 2, "codeLifetime": "90s", "resendCooldown": 0}),
        );
        let issue = || get.run(&Value::Null, vec![item(json!({}))], &run).unwrap().items[0]["_oneTimeCode"].clone();
        let confirm = build(
            &engine,
            "confirm_one_time_code_for_user",
            json!({"userCodeField": "typed", "onFailure": "continue"}),
        );
        let typed = |code: &Value| {
            let out = confirm.run(&Value::Null, vec![item(json!({"typed": code}))], &run).unwrap();
            (out.items[0]["_confirmed"].clone(), out.notes)
        };
        let refused = |why: &str| (json!(false), vec![format!("code refused: {why}")]);

        // maxAttempts 2: one wrong try leaves the right one; two wrong tries spend the code.
        let code = issue();
        assert_eq!(typed(&json!("000000x")), refused("the input is not a code of the right length"));
        assert_eq!(typed(&code), (json!(true), vec![]), "the second attempt may be the right one");
        let code = issue();
        for _ in 0..2 {
            assert_eq!(typed(&json!("123")), refused("the input is not a code of the right length"));
        }
        assert_eq!(typed(&code), refused("too many attempts on this code"));

        // codeLifetime 90 s: accepted 1 ms before, refused at 90 s.
        let code = issue();
        clock.advance(90_000 - 1);
        assert_eq!(typed(&code), (json!(true), vec![]), "1 ms before the lifetime ends");
        let code = issue();
        clock.advance(90_000);
        assert_eq!(typed(&code), refused("the code expired"));
    }
}
