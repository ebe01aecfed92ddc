//! `confirm_user_email`: the other end of Confirm user email request's link. Redeems the token
//! the link carried, once, enables its user and marks the address verified.

use serde::Deserialize;
use sluice_core::accounts::{self, TokenPurpose};
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldPath, Group, Item, Localized, Step, StepContext, StepDescriptor,
    StepError, StepMeta, StepPlugin, labels,
};

use crate::account_link::{TOKEN_FIELD, link_refused, token_in};
use crate::find_user;

/// Settings of `confirm_user_email`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfirmUserEmailSettings {
    /// Path of the field holding the token of the link (its `?token=`), such as `data.Token`.
    /// The field is secret: traces show it as "[redacted]", responses leave it out.
    pub token_field: String,
    /// Where the enabled user goes. Default `_user`.
    #[serde(default = "default_result")]
    pub result_field: String,
}

fn default_result() -> String {
    "_user".into()
}

/// The step type.
pub struct ConfirmUserEmail;

struct Confirm {
    token: FieldPath,
    result: FieldPath,
}

impl StepPlugin for ConfirmUserEmail {
    type Settings = ConfirmUserEmailSettings;
    const META: StepMeta = StepMeta {
        id: "confirm_user_email",
        group: Group::Users,
        calls_outside: false,
        title: Localized {
            en: "Confirm user email",
            fr: "Confirmer l'e-mail de l'utilisateur",
            es: "Confirmar el correo del usuario",
            pt: "Confirmar o e-mail do usuário",
            de: "Benutzer-E-Mail bestätigen",
        },
        description: Localized {
            en: "Follows a link of Confirm user email request: enables the user and marks the address verified; a link works once.",
            fr: "Suit un lien de Demande de confirmation de l'e-mail : active l'utilisateur et marque l'adresse comme vérifiée ; un lien ne sert qu'une fois.",
            es: "Sigue un enlace de Solicitud de confirmación del correo: habilita al usuario y marca la dirección como verificada; un enlace sirve una vez.",
            pt: "Segue um link de Solicitação de confirmação do e-mail: ativa o usuário e marca o endereço como verificado; um link serve uma vez.",
            de: "Folgt einem Link der Anfrage zur E-Mail-Bestätigung: schaltet den Benutzer frei und markiert die Adresse als bestätigt; ein Link gilt einmal.",
        },
        settings: &[TOKEN_FIELD, labels::RESULT_FIELD],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let token = cx.path("tokenField", &settings.token_field);
        if let Ok(path) = &token {
            cx.secret_field(path);
        }
        let result = cx.result_path("resultField", &settings.result_field);
        Ok(BuiltStep::each(Confirm { token: token?, result: result? }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<ConfirmUserEmail>() }

impl Step for Confirm {
    fn run(&self, mut item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let token = token_in(&item, &self.token);
        let purpose = TokenPurpose::ConfirmEmail;
        let holder = if cx.dry_run() {
            cx.note("dry run: the link was checked, not used");
            accounts::token_holder(cx.services(), purpose, &token)?
        } else {
            accounts::redeem_token(cx.services(), purpose, &token)?
        };
        let Some(mut user) = find_user(cx, holder.as_deref())? else { return Err(link_refused(cx)) };
        user.active = true;
        user.email_verified = true;
        if !cx.dry_run() {
            cx.services().store.save_user(&user)?;
        }
        cx.note(format!("user \"{}\" enabled, address verified", user.user_name));
        self.result.set(&mut item, user.to_item_value()).map_err(|e| StepError::at_setting("resultField", e))?;
        out.push(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sluice_core::store::UserStore;

    use crate::account_link::LINK_REFUSED;
    use crate::test_support::engine_and_store;

    #[test]
    fn a_disabled_user_confirms_through_the_link_once() {
        let (engine, _, store) = engine_and_store();
        let request = engine
            .single_step("ask", "confirm_user_email_request", json!({"userName": "data.UserName"}), &Default::default())
            .unwrap();
        let confirm = engine
            .single_step("confirm", "confirm_user_email", json!({"tokenField": "data.Token"}), &Default::default())
            .unwrap();
        let active = request.run_one(json!({"data": {"UserName": "ann"}})).unwrap();
        assert!(active.items.is_empty() && active.notes == ["no link: the user is enabled already"]);
        let out = request.run_one(json!({"data": {"UserName": "zoe-x"}})).unwrap();
        let link = out.items[0]["_link"].as_str().unwrap();
        let token = link.strip_prefix("https://app.example.com/account/confirm-email?token=").unwrap();
        assert_eq!(token.len(), 43);
        assert!(out.secrets.iter().any(|s| s.path.to_string() == "_link"), "traces never show the link");
        let done = confirm.run_one(json!({"data": {"Token": token}})).unwrap();
        let zoe = store.find_user("zoe-x").unwrap().unwrap();
        assert!(zoe.active && zoe.email_verified);
        assert_eq!(done.items[0]["_user"]["emailVerified"], true);
        let again = confirm.run_one(json!({"data": {"Token": token}})).unwrap_err();
        assert!(again.public && again.message == LINK_REFUSED);
        let verified = request.run_one(json!({"data": {"UserName": "zoe-x"}})).unwrap();
        assert_eq!(verified.notes, ["no link: the address is confirmed already"]);
        for bad in [json!(""), json!("x".repeat(500)), json!(null), json!("../../etc")] {
            assert_eq!(confirm.run_one(json!({"data": {"Token": bad}})).unwrap_err().message, LINK_REFUSED);
        }
    }

    #[test]
    fn without_a_public_address_no_link_is_made_and_the_error_says_how_to_set_one() {
        let engine = crate::test_support::engine().0;
        let request = engine
            .single_step(
                "ask",
                "confirm_user_email_request",
                json!({"userName": {"value": "zoe-x"}}),
                &Default::default(),
            )
            .unwrap();
        let err = request.run_one(json!({})).unwrap_err();
        assert!(err.message.contains("start it with --public-url"), "{err:?}");
        let bad =
            engine.single_step("ask", "confirm_user_email_request", json!({"linkPath": "x?y"}), &Default::default());
        assert!(bad.err().unwrap()[0].message.contains("\"x?y\" is not a path of the server"));
    }
}
