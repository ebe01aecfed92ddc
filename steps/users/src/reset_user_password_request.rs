//! `reset_user_password_request`: makes a single-use link with which an enabled user sets a new
//! password (Reset user password), for a notification step to send. It answers the same,
//! in the same time, whether or not the user exists.

use serde::Deserialize;
use sluice_core::accounts::{RESET_PASSWORD_LIFETIME, TokenPurpose};
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldOrValue, Group, Item, Localized, Step, StepContext, StepDescriptor,
    StepError, StepMeta, StepPlugin, labels,
};

use crate::DurationSetting;
use crate::account_link::{LinkRequest, LinkSettings};
use crate::confirm_user_email_request::{LIFETIME, LINK_PATH};

/// Settings of `reset_user_password_request`. Name the user with `userName` or
/// `userInfoField` (default: the `_user` field an earlier step wrote).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResetUserPasswordRequestSettings {
    /// A field holding the user or their id, such as `_user` (from Get user info).
    #[serde(default)]
    pub user_info_field: Option<String>,
    /// The user's name or id: a model path such as `data.UserName`, or `{"value": "ann"}`.
    #[serde(default)]
    pub user_name: Option<FieldOrValue>,
    /// How long the link works: seconds or a duration (`"30m"`), 5 minutes to 7 days. Default
    /// 30 minutes.
    #[serde(default)]
    pub lifetime: Option<DurationSetting>,
    /// The page of the server the link opens, after the public address: it receives the token
    /// as `?token=` and passes it, with the new password, to a dataflow with Reset user
    /// password. Default `/account/reset-password` (the web page's own).
    #[serde(default = "default_page")]
    pub link_path: String,
    /// Where the link goes (for Send templated notification). Default `_link`. The item goes on
    /// only when a link was made (an enabled user): take the response from a step before this
    /// one, so that it is the same whether or not the user exists.
    #[serde(default = "default_result")]
    pub result_field: String,
}

fn default_page() -> String {
    "/account/reset-password".into()
}

fn default_result() -> String {
    "_link".into()
}

/// The step type.
pub struct ResetUserPasswordRequest;

struct Request(LinkRequest);

impl StepPlugin for ResetUserPasswordRequest {
    type Settings = ResetUserPasswordRequestSettings;
    const META: StepMeta = StepMeta {
        id: "reset_user_password_request",
        group: Group::Users,
        starts_flow: false,
        title: Localized {
            en: "Reset user password request",
            fr: "Demande de réinitialisation du mot de passe de l'utilisateur",
            es: "Solicitud de restablecimiento de la contraseña del usuario",
            pt: "Solicitação de redefinição da senha do usuário",
            de: "Anfrage zum Zurücksetzen des Benutzerpassworts",
        },
        description: Localized {
            en: "Makes a single-use link with which a user sets a new password; the answer is the same whether or not the user exists.",
            fr: "Crée un lien à usage unique avec lequel un utilisateur choisit un nouveau mot de passe ; la réponse est la même que l'utilisateur existe ou non.",
            es: "Crea un enlace de un solo uso con el que un usuario elige una contraseña nueva; la respuesta es la misma exista o no el usuario.",
            pt: "Cria um link de uso único com o qual um usuário define uma nova senha; a resposta é a mesma, exista ou não o usuário.",
            de: "Erstellt einen Einmal-Link, mit dem ein Benutzer ein neues Passwort setzt; die Antwort ist dieselbe, ob es den Benutzer gibt oder nicht.",
        },
        settings: &[labels::USER_INFO_FIELD, labels::USER_NAME, LIFETIME, LINK_PATH, labels::RESULT_FIELD],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let link = LinkSettings {
            user_info_field: settings.user_info_field.as_deref(),
            user_name: settings.user_name.as_ref(),
            lifetime: settings.lifetime.as_ref(),
            default_lifetime: RESET_PASSWORD_LIFETIME,
            link_path: &settings.link_path,
            result_field: &settings.result_field,
        };
        Ok(BuiltStep::each(Request(LinkRequest::build(link, TokenPurpose::ResetPassword, cx)?)))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<ResetUserPasswordRequest>() }

impl Step for Request {
    fn run(&self, item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let made = self.0.run(item, cx, |user| if user.active { Ok(()) } else { Err("the user is disabled") })?;
        match made {
            Ok(item) => out.push(item),
            Err(reason) => cx.note(format!("no link: {reason}")),
        }
        Ok(())
    }
}
