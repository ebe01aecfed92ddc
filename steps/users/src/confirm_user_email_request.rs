//! `confirm_user_email_request`: for a user created disabled, makes a single-use link that
//! confirms their e-mail address, for a notification step to send. Following it (Confirm user
//! email) enables the user and marks the address verified.

use serde::Deserialize;
use sluice_core::accounts::{CONFIRM_EMAIL_LIFETIME, TokenPurpose};
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldOrValue, Group, Item, Localized, SettingLabel, Step, StepContext,
    StepDescriptor, StepError, StepMeta, StepPlugin, labels,
};

use crate::DurationSetting;
use crate::account_link::{LinkRequest, LinkSettings};

/// Settings of `confirm_user_email_request`. Name the user with `userInfoField` or `userName`
/// (default: the `_user` field an earlier step wrote).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConfirmUserEmailRequestSettings {
    /// A field holding the user or their id, such as `_user` (from Update or create user info).
    #[serde(default)]
    pub user_info_field: Option<String>,
    /// The user's name or id: a model path or `{"value": "ann"}`.
    #[serde(default)]
    pub user_name: Option<FieldOrValue>,
    /// How long the link works: seconds or a duration (`"24h"`), 5 minutes to 7 days. Default
    /// 24 hours.
    #[serde(default)]
    pub lifetime: Option<DurationSetting>,
    /// The page of the server the link opens, after the public address: it receives the token
    /// as `?token=` and passes it to a dataflow with Confirm user email. Default
    /// `/account/confirm-email` (the web page's own).
    #[serde(default = "default_page")]
    pub link_path: String,
    /// Where the link goes (for Send templated notification). Default `_link`. The item goes on
    /// only when a link was made: the user exists, is disabled and has not confirmed yet.
    #[serde(default = "default_result")]
    pub result_field: String,
}

fn default_page() -> String {
    "/account/confirm-email".into()
}

fn default_result() -> String {
    "_link".into()
}

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
    type Settings = ConfirmUserEmailRequestSettings;
    const META: StepMeta = StepMeta {
        id: "confirm_user_email_request",
        group: Group::Users,
        starts_flow: false,
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
        let link = LinkSettings {
            user_info_field: settings.user_info_field.as_deref(),
            user_name: settings.user_name.as_ref(),
            lifetime: settings.lifetime.as_ref(),
            default_lifetime: CONFIRM_EMAIL_LIFETIME,
            link_path: &settings.link_path,
            result_field: &settings.result_field,
        };
        Ok(BuiltStep::each(Request(LinkRequest::build(link, TokenPurpose::ConfirmEmail, cx)?)))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<ConfirmUserEmailRequest>() }

impl Step for Request {
    fn run(&self, item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let made = self.0.run(item, cx, |user| match (user.active, user.email_verified) {
            (_, true) => Err("the address is confirmed already"),
            (true, false) => Err("the user is enabled already"),
            (false, false) => Ok(()),
        })?;
        match made {
            Ok(item) => out.push(item),
            Err(reason) => cx.note(format!("no link: {reason}")),
        }
        Ok(())
    }
}
