//! `update_or_create_user_info`: creates a user from model fields, or updates one. A password is
//! hashed with Argon2id and must pass the new-password rules; a new password or a deactivation
//! ends the user's sessions.

use serde::Deserialize;
use serde_json::Value;
use sluice_core::passwords;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::store::{StoreError, User};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldOrValue, FieldPath, Group, Item, Localized, SettingLabel, Step,
    StepContext, StepDescriptor, StepError, StepMeta, StepPlugin, ValueSource, labels,
};

use crate::find_user;

/// Settings of `update_or_create_user_info`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateOrCreateUserInfoSettings {
    /// The user's system name: a model path such as `data.UserName`, or `{"value": "ann"}`. As
    /// `mode` says, a new user of this name is created or the user who has it (names ignore
    /// case) is updated.
    pub user_name: FieldOrValue,
    /// A field holding the id of the user to update, such as `_user` (from Get user info): the
    /// user is then found by id and `userName` renames them.
    #[serde(default)]
    pub user_info_field: Option<String>,
    /// Path of the field holding the new password, such as `data.Password`: required to create
    /// a user; on an update an empty or missing value keeps the password. It must have 8 to 128
    /// characters, not hold the user name and not be one of the most common passwords. The
    /// field is secret: traces show it as "[redacted]", responses leave it out.
    #[serde(default)]
    pub user_password: Option<String>,
    /// Whether the user is disabled: `{"value": "true"}` (a user who signs up is created
    /// disabled until they confirm their address) or a model path holding `true` or `false`
    /// (a missing value decides nothing). Default: new users are enabled, updates keep the
    /// user's state.
    #[serde(default)]
    pub user_disabled: Option<FieldOrValue>,
    /// Which of the user's fields take which model values: `email`, `phone`, `firstName`,
    /// `lastName`, `locale`, each a model path such as `data.Email`. Fields not named are kept.
    #[serde(default)]
    pub update_fields: UpdateFields,
    /// Where the user (as Get user info writes it) goes. Default `_user`.
    #[serde(default = "default_result")]
    pub result_field: String,
    /// `create` (default): a new user only, a taken name is an error — what a public sign-up
    /// needs, since anyone may run it; `update`: an existing user only; `createOrUpdate`:
    /// either (Aqtra's behaviour; only in dataflows that builders or trusted users run).
    #[serde(default)]
    pub mode: SaveMode,
}

/// Which users the step may write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum SaveMode {
    /// New users only.
    #[default]
    Create,
    /// Existing users only.
    Update,
    /// New or existing users.
    CreateOrUpdate,
}

/// The user's fields and the model paths they are taken from.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateFields {
    /// The e-mail address. A changed address is no longer verified.
    #[serde(default)]
    pub email: Option<String>,
    /// The phone number.
    #[serde(default)]
    pub phone: Option<String>,
    /// The given name.
    #[serde(default)]
    pub first_name: Option<String>,
    /// The family name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// The preferred language tag, such as `fr`.
    #[serde(default)]
    pub locale: Option<String>,
}

fn default_result() -> String {
    "_user".into()
}

/// The step type.
pub struct UpdateOrCreateUserInfo;

/// One of the user's optional text fields.
type ProfileField = fn(&mut User) -> &mut Option<String>;

/// A profile field and where its value comes from.
type Mapped = (ProfileField, FieldPath);

struct Save {
    mode: SaveMode,
    name: ValueSource,
    existing: Option<FieldPath>,
    password: Option<FieldPath>,
    disabled: Option<ValueSource>,
    fields: Vec<Mapped>,
    email: Option<FieldPath>,
    result: FieldPath,
}

impl StepPlugin for UpdateOrCreateUserInfo {
    type Settings = UpdateOrCreateUserInfoSettings;
    const META: StepMeta = StepMeta {
        id: "update_or_create_user_info",
        group: Group::Users,
        calls_outside: false,
        title: Localized {
            en: "Update or create user info",
            fr: "Mettre à jour ou créer les informations de l'utilisateur",
            es: "Actualizar o crear información del usuario",
            pt: "Atualizar ou criar informações do usuário",
            de: "Benutzerinformationen aktualisieren oder erstellen",
        },
        description: Localized {
            en: "Creates a platform user from model fields, or updates one; a password is stored only as a hash.",
            fr: "Crée un utilisateur de la plateforme à partir des champs du modèle, ou en met un à jour ; un mot de passe n'est conservé que sous forme de hachage.",
            es: "Crea un usuario de la plataforma a partir de los campos del modelo, o actualiza uno; una contraseña solo se guarda como hash.",
            pt: "Cria um usuário da plataforma a partir dos campos do modelo, ou atualiza um; uma senha só é guardada como hash.",
            de: "Legt einen Plattformbenutzer aus Modellfeldern an oder aktualisiert einen; ein Passwort wird nur als Hash gespeichert.",
        },
        settings: &[
            labels::USER_NAME,
            labels::USER_INFO_FIELD,
            labels::USER_PASSWORD,
            SettingLabel {
                name: "userDisabled",
                label: Localized {
                    en: "User disabled",
                    fr: "Utilisateur désactivé",
                    es: "Usuario deshabilitado",
                    pt: "Usuário desativado",
                    de: "Benutzer deaktiviert",
                },
            },
            SettingLabel {
                name: "updateFields",
                label: Localized {
                    en: "Update fields",
                    fr: "Champs à mettre à jour",
                    es: "Campos a actualizar",
                    pt: "Campos a atualizar",
                    de: "Zu aktualisierende Felder",
                },
            },
            labels::RESULT_FIELD,
            SettingLabel {
                name: "mode",
                label: Localized { en: "Mode", fr: "Mode", es: "Modo", pt: "Modo", de: "Modus" },
            },
        ],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let name = cx.value_source("userName", &settings.user_name);
        let existing = settings.user_info_field.as_deref().map(|f| cx.path("userInfoField", f)).transpose();
        let password = settings.user_password.as_deref().map(|p| cx.path("userPassword", p)).transpose();
        if let Ok(Some(path)) = &password {
            cx.secret_field(path);
        }
        let disabled = settings.user_disabled.as_ref().map(|d| cx.value_source("userDisabled", d)).transpose();
        let f = &settings.update_fields;
        let email = f.email.as_deref().map(|p| cx.path("updateFields/email", p)).transpose();
        let mut fields: Vec<Mapped> = Vec::new();
        let others: [(&str, &Option<String>, ProfileField); 4] = [
            ("phone", &f.phone, |u| &mut u.phone),
            ("firstName", &f.first_name, |u| &mut u.first_name),
            ("lastName", &f.last_name, |u| &mut u.last_name),
            ("locale", &f.locale, |u| &mut u.locale),
        ];
        let mut failed = None;
        for (key, path, field) in others {
            match path.as_deref().map(|p| cx.path(&format!("updateFields/{key}"), p)).transpose() {
                Ok(Some(path)) => fields.push((field, path)),
                Ok(None) => {}
                Err(e) => failed = Some(e),
            }
        }
        let result = cx.result_path("resultField", &settings.result_field);
        if let Some(e) = failed {
            return Err(e);
        }
        Ok(BuiltStep::each(Save {
            mode: settings.mode,
            name: name?,
            existing: existing?,
            password: password?,
            disabled: disabled?,
            fields,
            email: email?,
            result: result?,
        }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<UpdateOrCreateUserInfo>() }

/// A model value as optional text: `None` for a missing, null or blank value.
fn text_at(item: &Item, path: &FieldPath) -> Option<String> {
    match path.get(item)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Save {
    fn disabled(&self, item: &Item) -> Result<Option<bool>, StepError> {
        let Some(source) = &self.disabled else { return Ok(None) };
        if let ValueSource::Field(path) = source
            && let Some(Value::Bool(disabled)) = path.get(item)
        {
            return Ok(Some(*disabled));
        }
        match source.resolve(item).as_deref() {
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            None => Ok(None),
            Some(other) => {
                Err(StepError::at_setting("userDisabled", format!("{source} holds \"{other}\", not true or false")))
            }
        }
    }
}

impl Step for Save {
    fn run(&self, mut item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let name = self.name.resolve(&item).ok_or_else(|| {
            StepError::at_setting("userName", format!("{} holds no user name", self.name)).for_anyone()
        })?;
        let before =
            match &self.existing {
                Some(path) => {
                    let id = ValueSource::Field(path.clone()).resolve(&item);
                    let user = find_user(cx, id.as_deref())?;
                    Some(user.ok_or_else(|| {
                        StepError::at_setting("userInfoField", format!("the field {path} names no user"))
                    })?)
                }
                None => find_user(cx, Some(&name))?,
            };
        let creating = before.is_none();
        match (self.mode, &before) {
            (SaveMode::Create, Some(_)) => {
                let taken = format!("a user named \"{name}\" already exists");
                return Err(StepError::at_setting("userName", taken).for_anyone());
            }
            (SaveMode::Update, None) => {
                return Err(StepError::at_setting("userName", format!("there is no user named \"{name}\" to update")));
            }
            _ => {}
        }
        let mut user = before.clone().unwrap_or_else(|| User::new(&name));
        user.user_name = name;
        let password = self.password.as_ref().and_then(|path| match path.get(&item) {
            Some(Value::String(p)) if !p.is_empty() => Some(p.clone()),
            _ => None,
        });
        match &password {
            Some(password) => {
                if let Some(weakness) = passwords::weakness(password, &user.user_name) {
                    return Err(StepError::at_setting("userPassword", weakness).for_anyone());
                }
                user.password_hash = Some(passwords::hash(password).map_err(StepError::new)?);
            }
            None if creating => {
                return Err(StepError::at_setting(
                    "userPassword",
                    "a new user needs a password: set userPassword to a field holding one",
                )
                .for_anyone());
            }
            None => {}
        }
        if let Some(disabled) = self.disabled(&item)? {
            user.active = !disabled;
        }
        for (field, path) in &self.fields {
            if let Some(value) = text_at(&item, path) {
                *field(&mut user) = Some(value);
            }
        }
        if let Some(email) = self.email.as_ref().and_then(|path| text_at(&item, path)) {
            if user.email.as_deref() != Some(email.as_str()) {
                user.email_verified = false;
            }
            user.email = Some(email);
        }
        if cx.dry_run() {
            cx.note(format!("dry run: user \"{}\" was not saved", user.user_name));
        } else {
            cx.services().store.save_user(&user).map_err(|e| match e {
                StoreError::Duplicate(message) => StepError::at_setting("userName", message).for_anyone(),
                other => other.into(),
            })?;
            let deactivated = before.as_ref().is_some_and(|b| b.active) && !user.active;
            if !creating && (password.is_some() || deactivated) {
                let ended = cx.services().store.end_sessions(&user.id, None)?;
                cx.note(format!("{ended} session(s) of \"{}\" ended", user.user_name));
            }
            cx.note(format!("user \"{}\" {}", user.user_name, if creating { "created" } else { "updated" }));
        }
        self.result.set(&mut item, user.to_item_value()).map_err(|e| StepError::at_setting("resultField", e))?;
        out.push(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sluice_core::passwords;
    use sluice_core::store::{AccountStore, SessionStore, UserStore};

    use crate::test_support::{engine_and_store, session};

    fn settings() -> serde_json::Value {
        json!({
            "userName": "data.UserName",
            "userPassword": "data.Password",
            "userDisabled": "data.Disabled",
            "updateFields": {"email": "data.Email", "firstName": "data.First"},
            "mode": "createOrUpdate"
        })
    }

    #[test]
    fn creates_a_disabled_user_with_a_hashed_password_and_never_shows_it() {
        let (engine, _, store) = engine_and_store();
        let step = engine.single_step("save", "update_or_create_user_info", settings(), &Default::default()).unwrap();
        let input = json!({"data": {"UserName": "Dora", "Password": "a long walk to the sea", "Disabled": true,
                                    "Email": "dora@example.com", "First": "Dora"}});
        let out = step.run_one(input).unwrap();
        let saved = store.find_user("dora").unwrap().unwrap();
        assert!(!saved.active && !saved.email_verified);
        assert_eq!((saved.email.as_deref(), saved.first_name.as_deref()), (Some("dora@example.com"), Some("Dora")));
        assert!(passwords::matches(saved.password_hash.as_deref().unwrap(), "a long walk to the sea"));
        assert_eq!(out.items[0]["_user"]["userName"], "Dora");
        assert!(!out.items[0]["_user"].to_string().contains("argon2"));
        assert!(out.secrets.iter().any(|s| s.path.to_string() == "data.Password"), "the password field is secret");
        assert_eq!(out.notes, ["user \"Dora\" created"]);
    }

    #[test]
    fn refuses_a_taken_name_a_weak_or_missing_password_in_words_anyone_may_read() {
        let (engine, _, store) = engine_and_store();
        let step = engine.single_step("save", "update_or_create_user_info", settings(), &Default::default()).unwrap();
        let by_id = engine
            .single_step(
                "save",
                "update_or_create_user_info",
                json!({"userName": "data.UserName", "userInfoField": "_user", "mode": "update"}),
                &Default::default(),
            )
            .unwrap();
        let zoe = store.find_user("zoe-x").unwrap().unwrap();
        let err = by_id.run_one(json!({"_user": zoe.id, "data": {"UserName": "ANN"}})).unwrap_err();
        assert_eq!(err.message, "a user named \"ANN\" already exists");
        assert!(err.public && err.setting.as_deref() == Some("userName"));
        let err = step.run_one(json!({"data": {"UserName": "dora", "Password": "password1"}})).unwrap_err();
        assert!(err.public && err.message.contains("most common"), "{err:?}");
        let err = step.run_one(json!({"data": {"UserName": "dora"}})).unwrap_err();
        assert!(err.public && err.message.starts_with("a new user needs a password"), "{err:?}");
        assert_eq!(store.find_user("dora").unwrap(), None, "nothing was written");
        let sign_up = json!({"userName": "data.UserName", "userPassword": "data.Password"});
        let create = engine.single_step("save", "update_or_create_user_info", sign_up, &Default::default()).unwrap();
        let err = create.run_one(json!({"data": {"UserName": "Ann", "Password": "taking over ann now"}})).unwrap_err();
        assert_eq!((err.public, err.message.as_str()), (true, "a user named \"Ann\" already exists"));
        assert!(store.find_user("ann").unwrap().unwrap().password_hash.is_none(), "ann is untouched");
        let update = json!({"userName": "data.UserName", "mode": "update"});
        let update = engine.single_step("save", "update_or_create_user_info", update, &Default::default()).unwrap();
        let err = update.run_one(json!({"data": {"UserName": "nobody"}})).unwrap_err();
        assert_eq!(err.message, "there is no user named \"nobody\" to update");
    }

    #[test]
    fn an_update_keeps_what_it_is_not_given_and_a_new_password_or_a_deactivation_ends_the_sessions() {
        let (engine, _, store) = engine_and_store();
        let step = engine.single_step("save", "update_or_create_user_info", settings(), &Default::default()).unwrap();
        let ann = store.find_user("ann").unwrap().unwrap();
        store
            .save_user(&sluice_core::store::User { email_verified: true, email: Some("a@x.org".into()), ..ann.clone() })
            .unwrap();
        store.create_session(&session(&ann.id, 0xab)).unwrap();
        step.run_one(json!({"data": {"UserName": "ann", "First": "Ann"}})).unwrap();
        let kept = store.find_user("ann").unwrap().unwrap();
        assert!(kept.active && kept.email_verified && kept.first_name.as_deref() == Some("Ann"));
        assert_eq!(store.list_sessions(&ann.id, 0).unwrap().len(), 1, "a profile change keeps the sessions");
        step.run_one(json!({"data": {"UserName": "ann", "Email": "new@x.org"}})).unwrap();
        assert!(!store.find_user("ann").unwrap().unwrap().email_verified, "a new address is not verified");
        let out = step.run_one(json!({"data": {"UserName": "ann", "Password": "another long phrase"}})).unwrap();
        assert!(out.notes.contains(&"1 session(s) of \"ann\" ended".to_owned()), "{:?}", out.notes);
        store.create_session(&session(&ann.id, 0xab)).unwrap();
        step.run_one(json!({"data": {"UserName": "ann", "Disabled": "true"}})).unwrap();
        assert!(store.list_sessions(&ann.id, 0).unwrap().is_empty(), "a deactivation ends them");
        let err = step.run_one(json!({"data": {"UserName": "ann", "Disabled": "maybe"}})).unwrap_err();
        assert!(err.message.contains("holds \"maybe\", not true or false"), "{err:?}");
    }
}
