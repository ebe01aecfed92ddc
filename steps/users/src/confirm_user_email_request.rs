//! `confirm_user_email_request`: for a user created disabled, makes a single-use link that
//! confirms their e-mail address, for a notification step to send. Following it (Confirm user
//! email) enables the user and marks the address verified.

use sluice_core::accounts::{CONFIRM_EMAIL_LIFETIME, TokenPurpose};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, Group, Item, Localized, SettingLabel, Step, StepContext, StepDescriptor,
    StepError, StepMeta, StepPlugin, labels,
};

use crate::account_link::{LinkKind, LinkRequest, LinkRequestSettings};

/// The step type.
pub struct ConfirmUserEmailRequest;

struct Request(LinkRequest);

/// The labels of both link requests.
pub(crate) const LIFETIME: SettingLabel = SettingLabel {
    name: "lifetime",
    label: Localized {
        en: "Link lifetime",
        fr: "Durée de validité du lien",
        es: "Validez del enlace",
        pt: "Validade do link",
        de: "Gültigkeit des Links",
    },
};
pub(crate) const LINK_PATH: SettingLabel = SettingLabel {
    name: "linkPath",
    label: Localized {
        en: "Link page",
        fr: "Page du lien",
        es: "Página del enlace",
        pt: "Página do link",
        de: "Seite des Links",
    },
};

impl StepPlugin for ConfirmUserEmailRequest {
    type Settings = LinkRequestSettings;
    const META: StepMeta = StepMeta {
        id: "confirm_user_email_request",
        group: Group::Users,
        calls_outside: false,
        title: Localized {
            en: "Confirm user email request",
            fr: "Demande de confirmation de l'e-mail de l'utilisateur",
            es: "Solicitud de confirmación del correo del usuario",
            pt: "Solicitação de confirmação do e-mail do usuário",
            de: "Anfrage zur Bestätigung der Benutzer-E-Mail",
        },
        description: Localized {
            en: "Makes a single-use link that enables a user created disabled once they confirm their e-mail address.",
            fr: "Crée un lien à usage unique qui active un utilisateur créé désactivé dès qu'il confirme son adresse e-mail.",
            es: "Crea un enlace de un solo uso que habilita a un usuario creado deshabilitado cuando confirma su correo.",
            pt: "Cria um link de uso único que ativa um usuário criado desativado quando ele confirma o seu e-mail.",
            de: "Erstellt einen Einmal-Link, der einen deaktiviert angelegten Benutzer freischaltet, sobald er seine E-Mail-Adresse bestätigt.",
        },
        settings: &[labels::USER_INFO_FIELD, labels::USER_NAME, LIFETIME, LINK_PATH, labels::RESULT_FIELD],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let kind = LinkKind {
            purpose: TokenPurpose::ConfirmEmail,
            lifetime: CONFIRM_EMAIL_LIFETIME,
            page: "/account/confirm-email",
        };
        Ok(BuiltStep::each(Request(LinkRequest::build(settings, kind, cx)?)))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<ConfirmUserEmailRequest>() }

impl Step for Request {
    fn run(&self, item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        self.0.run(item, cx, out, |user| match (user.active, user.email_verified) {
            (_, true) => Err("the address is confirmed already"),
            (true, false) => Err("the user is enabled already"),
            (false, false) => Ok(()),
        })
    }
}
