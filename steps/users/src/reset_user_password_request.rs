//! `reset_user_password_request`: makes a single-use link with which an enabled user sets a new
//! password (Reset user password), for a notification step to send. It does the same token
//! work whether or not the user exists; the item goes on only for an enabled user.

use sluice_core::accounts::{RESET_PASSWORD_LIFETIME, TokenPurpose};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, Group, Item, Localized, Step, StepContext, StepDescriptor, StepError,
    StepMeta, StepPlugin, labels,
};

use crate::account_link::{LinkKind, LinkRequest, LinkRequestSettings};
use crate::confirm_user_email_request::{LIFETIME, LINK_PATH};

/// The step type.
pub struct ResetUserPasswordRequest;

struct Request(LinkRequest);

impl StepPlugin for ResetUserPasswordRequest {
    type Settings = LinkRequestSettings;
    const META: StepMeta = StepMeta {
        id: "reset_user_password_request",
        group: Group::Users,
        calls_outside: false,
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
        let kind = LinkKind {
            purpose: TokenPurpose::ResetPassword,
            lifetime: RESET_PASSWORD_LIFETIME,
            page: "/account/reset-password",
        };
        Ok(BuiltStep::each(Request(LinkRequest::build(settings, kind, cx)?)))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<ResetUserPasswordRequest>() }

impl Step for Request {
    fn run(&self, item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        self.0.run(item, cx, out, |user| if user.active { Ok(()) } else { Err("the user is disabled") })
    }
}
