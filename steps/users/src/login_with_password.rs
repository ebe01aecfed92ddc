//! `login_with_password`: checks a user name and password (Argon2id, constant time). The
//! same error, after the same work, for an unknown user, an inactive one and a wrong password;
//! failures are throttled per user, whatever the client. On success the user goes into the item for the
//! second factor; no session is granted here.

use serde::Deserialize;
use serde_json::Value;
use sluice_core::events::Event;
use sluice_core::passwords::{self, LOGIN_REFUSED, LoginError};
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::store::AuthMethod;
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldOrValue, FieldPath, Group, Item, Localized, Step, StepContext,
    StepDescriptor, StepError, StepMeta, StepPlugin, ValueSource, labels,
};

use crate::{client_of, client_setting, find_user};

/// Settings of `login_with_password`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LoginWithPasswordSettings {
    /// The user name (or id): a model path such as `data.UserName`, or `{"value": "ann"}`.
    pub user_name: FieldOrValue,
    /// Path of the field holding the password, such as `data.Password`. The field is secret:
    /// traces show it as "[redacted]" and responses leave it out.
    pub user_password: String,
    /// The client the user logs in to: a model path or `{"value": "workplace"}`. Default: the
    /// run's client.
    #[serde(default)]
    pub client: Option<FieldOrValue>,
    /// Where the user's data goes on success. Default `_user`.
    #[serde(default = "default_result")]
    pub result_field: String,
}

fn default_result() -> String {
    "_user".into()
}

/// The step type.
pub struct LoginWithPassword;

struct Login {
    user: ValueSource,
    password: FieldPath,
    client: Option<ValueSource>,
    result: FieldPath,
}

impl StepPlugin for LoginWithPassword {
    type Settings = LoginWithPasswordSettings;
    const META: StepMeta = StepMeta {
        id: "login_with_password",
        group: Group::Users,
        calls_outside: false,
        title: Localized {
            en: "Login with password",
            fr: "Connexion avec mot de passe",
            es: "Iniciar sesión con contraseña",
            pt: "Entrar com senha",
            de: "Mit Passwort anmelden",
        },
        description: Localized {
            en: "Checks a user name and password; on success the user goes into the item for the second factor.",
            fr: "Vérifie un nom d'utilisateur et un mot de passe ; en cas de succès, l'utilisateur est placé dans l'élément pour le second facteur.",
            es: "Comprueba un nombre de usuario y una contraseña; si son correctos, el usuario pasa al elemento para el segundo factor.",
            pt: "Verifica um nome de usuário e uma senha; se corretos, o usuário vai para o item para o segundo fator.",
            de: "Prüft Benutzername und Passwort; bei Erfolg kommt der Benutzer für den zweiten Faktor ins Element.",
        },
        settings: &[labels::USER_NAME, labels::USER_PASSWORD, labels::CLIENT, labels::RESULT_FIELD],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let user = cx.value_source("userName", &settings.user_name);
        let password = cx.path("userPassword", &settings.user_password);
        if let Ok(path) = &password {
            cx.secret_field(path);
        }
        let client = client_setting(settings.client.as_ref(), cx);
        let result = cx.result_path("resultField", &settings.result_field);
        Ok(BuiltStep::each(Login { user: user?, password: password?, client: client?, result: result? }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<LoginWithPassword>() }

impl Step for Login {
    fn run(&self, mut item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let client = client_of(self.client.as_ref(), &item, cx)?;
        let name = self.user.resolve(&item);
        let password = match self.password.get(&item) {
            Some(Value::String(p)) => p.clone(),
            _ => String::new(),
        };
        let user = find_user(cx, name.as_deref())?;
        let name = name.unwrap_or_default();
        let dry_run = cx.dry_run();
        match passwords::check_login(cx.services(), &name, user.as_ref(), &password, &client, dry_run) {
            Ok(()) => cx.count(Event::LoginAccepted),
            Err(LoginError::Refused(refusal)) => {
                cx.note(format!("login refused: {}", refusal.reason()));
                cx.count(Event::LoginRefused);
                return Err(StepError::public(LOGIN_REFUSED));
            }
            Err(LoginError::Store(e)) => return Err(e.into()),
        }
        if let Some(user) = &user {
            cx.proved(&user.id, AuthMethod::Pwd);
        }
        let value = user.map_or(Value::Null, |u| u.to_item_value());
        self.result.set(&mut item, value).map_err(|e| StepError::at_setting("resultField", e))?;
        out.push(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use argon2::password_hash::{PasswordHasher, SaltString};
    use serde_json::{Value, json};
    use sluice_core::store::User;
    use sluice_core::{Engine, RunContext, SingleStep};

    use crate::test_support::engine;
    use sluice_core::passwords::LOGIN_REFUSED;

    fn hashed(password: &str) -> String {
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        argon2::Argon2::default().hash_password(password.as_bytes(), &salt).unwrap().to_string()
    }

    fn setup() -> (Engine, std::sync::Arc<sluice_core::ManualClock>, SingleStep) {
        let (engine, clock) = engine();
        let users = [
            User { password_hash: Some(hashed("right-pw")), ..User::new("lea") },
            User { password_hash: Some(hashed("right-pw")), active: false, ..User::new("old") },
        ];
        engine.services().store.import_users(&users).unwrap();
        let settings = json!({"userName": "data.U", "userPassword": "data.P", "client": {"value": "web"}});
        let step = engine.single_step("login", "login_with_password", settings, &Default::default()).unwrap();
        (engine, clock, step)
    }

    fn login(step: &SingleStep, user: &str, password: &str) -> Result<Value, String> {
        let item = json!({"data": {"U": user, "P": password}}).as_object().unwrap().clone();
        let out = step.run(&Value::Null, vec![item], &RunContext::default()).map_err(|e| e.message)?;
        Ok(Value::Object(out.items[0].clone()))
    }

    #[test]
    fn the_right_password_puts_the_user_in_the_item_and_hides_the_password() {
        let (_, _, step) = setup();
        let item = login(&step, "LEA", "right-pw").unwrap();
        assert_eq!(item["_user"]["userName"], "lea");
        assert!(item["_user"].get("passwordHash").is_none());
        let secrets: Vec<String> = step
            .run(&Value::Null, vec![], &RunContext::default())
            .unwrap()
            .secrets
            .iter()
            .map(|s| s.path.to_string())
            .collect();
        assert_eq!(secrets, ["data.P"]);
    }

    #[test]
    fn unknown_users_inactive_users_and_wrong_passwords_look_the_same() {
        let (_, _, step) = setup();
        let timed = |user: &str, password: &str| {
            let started = Instant::now();
            let refused = login(&step, user, password).unwrap_err();
            (refused, started.elapsed())
        };
        let mut wrong = Vec::new();
        let mut unknown = Vec::new();
        for _ in 0..5 {
            let (message, took) = timed("lea", "wrong-pw");
            assert_eq!(message, LOGIN_REFUSED);
            wrong.push(took);
            let (message, took) = timed("nobody", "wrong-pw");
            assert_eq!(message, LOGIN_REFUSED);
            unknown.push(took);
        }
        assert_eq!(timed("old", "right-pw").0, LOGIN_REFUSED, "an inactive user");
        // Both paths verify one Argon2 hash with the same parameters. A busy machine only ever
        // adds time, so the fastest of five is each path's own cost; skipping the hash for an
        // unknown user would make it hundreds of times cheaper, far outside 2x.
        let fastest = |v: Vec<Duration>| v.into_iter().min().unwrap();
        let (wrong, unknown) = (fastest(wrong), fastest(unknown));
        assert!(unknown * 2 > wrong && wrong * 2 > unknown, "wrong password {wrong:?}, unknown user {unknown:?}");
    }

    #[test]
    fn failures_are_throttled_per_user_whatever_the_client() {
        let (engine, clock, _) = setup();
        // The client comes from the model here, so a caller could name a new one each time.
        let settings = json!({"userName": "data.U", "userPassword": "data.P", "client": "data.C"});
        let step = engine.single_step("login", "login_with_password", settings, &Default::default()).unwrap();
        let login = |password: &str, client: &str| {
            let item = json!({"data": {"U": "lea", "P": password, "C": client}}).as_object().unwrap().clone();
            step.run(&Value::Null, vec![item], &RunContext::default()).map(drop).map_err(|e| e.message)
        };
        for n in 0..11 {
            assert_eq!(login("wrong-pw", &format!("client-{n}")).unwrap_err(), LOGIN_REFUSED);
        }
        assert_eq!(login("right-pw", "yet-another").unwrap_err(), LOGIN_REFUSED, "locked after 11 failures");
        clock.advance(15 * 60_000 + 1);
        assert!(login("right-pw", "web").is_ok(), "the lock lasts 15 minutes");
    }
}
