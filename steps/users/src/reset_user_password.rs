//! `reset_user_password`: the other end of Reset user password request's link. Checks the new
//! password, then redeems the token once, sets the password and ends the user's sessions.

use serde::Deserialize;
use serde_json::Value;
use sluice_core::accounts::{self, TokenPurpose};
use sluice_core::passwords;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldPath, Group, Item, Localized, Step, StepContext, StepDescriptor,
    StepError, StepMeta, StepPlugin, labels,
};

use crate::account_link::{TOKEN_FIELD, link_refused, token_in};
use crate::find_user;

/// Settings of `reset_user_password`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResetUserPasswordSettings {
    /// Path of the field holding the token of the link (its `?token=`), such as `data.Token`.
    /// The field is secret: traces show it as "[redacted]", responses leave it out.
    pub token_field: String,
    /// Path of the field holding the new password, such as `data.Password`: 8 to 128
    /// characters, not holding the user name, not one of the most common passwords. The field
    /// is secret. A refused password leaves the link working.
    pub user_password: String,
    /// Where the user goes. Default `_user`.
    #[serde(default = "default_result")]
    pub result_field: String,
}

fn default_result() -> String {
    "_user".into()
}

/// The step type.
pub struct ResetUserPassword;

struct Reset {
    token: FieldPath,
    password: FieldPath,
    result: FieldPath,
}

impl StepPlugin for ResetUserPassword {
    type Settings = ResetUserPasswordSettings;
    const META: StepMeta = StepMeta {
        id: "reset_user_password",
        group: Group::Users,
        calls_outside: false,
        title: Localized {
            en: "Reset user password",
            fr: "Réinitialiser le mot de passe de l'utilisateur",
            es: "Restablecer la contraseña del usuario",
            pt: "Redefinir a senha do usuário",
            de: "Benutzerpasswort zurücksetzen",
        },
        description: Localized {
            en: "Follows a link of Reset user password request: sets the new password and ends the user's sessions; a link works once.",
            fr: "Suit un lien de Demande de réinitialisation du mot de passe : définit le nouveau mot de passe et ferme les sessions de l'utilisateur ; un lien ne sert qu'une fois.",
            es: "Sigue un enlace de Solicitud de restablecimiento de la contraseña: fija la contraseña nueva y cierra las sesiones del usuario; un enlace sirve una vez.",
            pt: "Segue um link de Solicitação de redefinição da senha: define a nova senha e encerra as sessões do usuário; um link serve uma vez.",
            de: "Folgt einem Link der Anfrage zum Zurücksetzen des Passworts: setzt das neue Passwort und beendet die Sitzungen des Benutzers; ein Link gilt einmal.",
        },
        settings: &[TOKEN_FIELD, labels::USER_PASSWORD, labels::RESULT_FIELD],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let token = cx.path("tokenField", &settings.token_field);
        let password = cx.path("userPassword", &settings.user_password);
        for path in [&token, &password].into_iter().flatten() {
            cx.secret_field(path);
        }
        let result = cx.result_path("resultField", &settings.result_field);
        Ok(BuiltStep::each(Reset { token: token?, password: password?, result: result? }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<ResetUserPassword>() }

impl Step for Reset {
    fn run(&self, mut item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let token = token_in(&item, &self.token);
        let purpose = TokenPurpose::ResetPassword;
        let holder = accounts::token_holder(cx.services(), purpose, &token)?;
        let Some(mut user) = find_user(cx, holder.as_deref())?.filter(|u| u.active) else {
            return Err(link_refused(cx));
        };
        let password = match self.password.get(&item) {
            Some(Value::String(p)) => p.clone(),
            _ => String::new(),
        };
        if let Some(weakness) = passwords::weakness(&password, &user.user_name) {
            return Err(StepError::at_setting("userPassword", weakness).for_anyone());
        }
        if cx.dry_run() {
            cx.note("dry run: the link was checked, not used; the password was not set");
        } else {
            if accounts::redeem_token(cx.services(), purpose, &token)?.as_deref() != Some(user.id.as_str()) {
                return Err(link_refused(cx));
            }
            user.password_hash = Some(passwords::hash(&password).map_err(StepError::new)?);
            cx.services().store.save_user(&user)?;
            let ended = cx.services().store.end_sessions(&user.id, None)?;
            cx.note(format!("password of \"{}\" set, {ended} session(s) ended", user.user_name));
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
    use sluice_core::store::{SessionStore, UserStore};

    use crate::account_link::LINK_REFUSED;
    use crate::test_support::{engine_and_store, session};

    #[test]
    fn a_link_sets_a_good_password_once_ends_the_sessions_and_survives_a_refused_one() {
        let (engine, clock, store) = engine_and_store();
        let request = engine
            .single_step(
                "ask",
                "reset_user_password_request",
                json!({"userName": "data.UserName"}),
                &Default::default(),
            )
            .unwrap();
        let reset = engine
            .single_step(
                "reset",
                "reset_user_password",
                json!({"tokenField": "data.Token", "userPassword": "data.Password"}),
                &Default::default(),
            )
            .unwrap();
        for nobody in ["nobody", "zoe-x"] {
            let out = request.run_one(json!({"data": {"UserName": nobody}})).unwrap();
            assert!(out.items.is_empty(), "no link for {nobody}");
        }
        let out = request.run_one(json!({"data": {"UserName": "ANN"}})).unwrap();
        let link = out.items[0]["_link"].as_str().unwrap();
        let token = link.strip_prefix("https://app.example.com/account/reset-password?token=").unwrap();
        let ann = store.find_user("ann").unwrap().unwrap();
        store.create_session(&session(&ann.id, 0xcd)).unwrap();
        let weak = reset.run_one(json!({"data": {"Token": token, "Password": "annann-1234"}})).unwrap_err();
        assert!(weak.public && weak.message.contains("user name"), "{weak:?}");
        let done = reset.run_one(json!({"data": {"Token": token, "Password": "a quiet morning in june"}})).unwrap();
        assert_eq!(done.notes, ["password of \"ann\" set, 1 session(s) ended"]);
        let hash = store.find_user("ann").unwrap().unwrap().password_hash.unwrap();
        assert!(passwords::matches(&hash, "a quiet morning in june"));
        let again = reset.run_one(json!({"data": {"Token": token, "Password": "another fine phrase"}})).unwrap_err();
        assert_eq!((again.public, again.message.as_str()), (true, LINK_REFUSED));
        let late = request.run_one(json!({"data": {"UserName": "ann"}})).unwrap();
        let late = late.items[0]["_link"].as_str().unwrap().rsplit('=').next().unwrap().to_owned();
        clock.advance(30 * 60_000);
        let expired = reset.run_one(json!({"data": {"Token": late, "Password": "another fine phrase"}}));
        assert_eq!(expired.unwrap_err().message, LINK_REFUSED, "30 minutes by default");
    }
}
