//! What the two link requests share (Confirm user email request, Reset user password request):
//! who the link is for, how long it works, and where it goes; and what the two steps that
//! complete them share: reading the token the link carried.

use serde::Deserialize;
use serde_json::Value;
use sluice_core::accounts::{self, TokenPurpose};
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::store::User;
use sluice_core::{
    BuildContext, BuildError, FieldOrValue, FieldPath, Item, Localized, Millis, SettingLabel, StepContext, StepError,
    ValueSource,
};

use crate::{DurationSetting, find_user};

/// Settings of Confirm user email request and Reset user password request. Name the user with
/// `userInfoField` or `userName` (default: the `_user` field an earlier step wrote).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LinkRequestSettings {
    /// A field holding the user or their id, such as `_user` (from Get user info or Update or
    /// create user info).
    #[serde(default)]
    pub user_info_field: Option<String>,
    /// The user's name or id: a model path such as `data.UserName`, or `{"value": "ann"}`.
    #[serde(default)]
    pub user_name: Option<FieldOrValue>,
    /// How long the link works: seconds or a duration (`"30m"`), 5 minutes to 7 days. Default
    /// 24 hours for an address confirmation, 30 minutes for a password reset.
    #[serde(default)]
    pub lifetime: Option<DurationSetting>,
    /// The page of the server the link opens, after the public address: it receives the token
    /// as `?token=` and passes it to a dataflow with Confirm user email or Reset user password.
    /// Default: the web page's own, `/account/confirm-email` or `/account/reset-password`.
    #[serde(default)]
    pub link_path: Option<String>,
    /// Where the link goes (for Send templated notification). Default `_link`. The item goes on
    /// only when a link was made (for a reset: an enabled user; take the response from a step
    /// before this one, so that it is the same whether or not the user exists).
    #[serde(default = "default_link_field")]
    pub result_field: String,
}

fn default_link_field() -> String {
    "_link".into()
}

/// What a kind of link is, and its defaults.
pub(crate) struct LinkKind {
    pub purpose: TokenPurpose,
    pub lifetime: Millis,
    pub page: &'static str,
}

/// Who a link is for, how long it works and where it goes, checked.
pub(crate) struct LinkRequest {
    user: ValueSource,
    lifetime: Millis,
    page: String,
    result: FieldPath,
    purpose: TokenPurpose,
}

/// Shortest and longest lifetimes of a link.
const LIFETIMES: (Millis, Millis) = (5 * 60_000, 7 * 24 * 3_600_000);

impl LinkRequest {
    pub(crate) fn build(
        settings: LinkRequestSettings,
        kind: LinkKind,
        cx: &mut BuildContext<'_>,
    ) -> Result<LinkRequest, BuildError> {
        let user = match (settings.user_info_field.as_deref(), settings.user_name.as_ref()) {
            (Some(field), None) => cx.path("userInfoField", field).map(ValueSource::Field),
            (None, Some(name)) => cx.value_source("userName", name),
            (None, None) => cx.path("userInfoField", "_user").map(ValueSource::Field),
            (Some(_), Some(_)) => Err(cx.invalid("", "name the user with userInfoField or userName, not both", None)),
        };
        let lifetime = match &settings.lifetime {
            Some(d) => d.check("lifetime", LIFETIMES.0, LIFETIMES.1, cx),
            None => Ok(kind.lifetime),
        };
        let page = settings.link_path.unwrap_or_else(|| kind.page.to_owned());
        let page = if page.starts_with('/') && !page.contains(['?', '#', ' ']) {
            Ok(page)
        } else {
            Err(cx.invalid(
                "linkPath",
                format!("\"{page}\" is not a path of the server"),
                Some("write a path that starts with / and has no ? or #, such as /account/confirm-email".into()),
            ))
        };
        let result = cx.result_path("resultField", &settings.result_field);
        Ok(LinkRequest { user: user?, lifetime: lifetime?, page: page?, result: result?, purpose: kind.purpose })
    }

    /// Makes the link for the user of `item` when `wanted` says the user may have one, puts it
    /// into the result field (marked as a credential: traces never show it) and hands the item
    /// on; when no link is made, the item goes no further and the trace says why.
    pub(crate) fn run(
        &self,
        mut item: Item,
        cx: &mut StepContext<'_>,
        out: &mut Vec<Item>,
        wanted: impl Fn(&User) -> Result<(), &'static str>,
    ) -> Result<(), StepError> {
        let base = cx.services().public_url.clone().ok_or_else(|| {
            StepError::new("the server has no public address for links: start it with --public-url https://…")
        })?;
        let key = self.user.resolve(&item);
        let refusal = match find_user(cx, key.as_deref())? {
            None => Some("no such user"),
            Some(user) => match wanted(&user) {
                Err(reason) => Some(reason),
                Ok(()) if cx.dry_run() => {
                    cx.note("dry run: no link was made");
                    return Ok(());
                }
                Ok(()) => {
                    let token = accounts::issue_token(cx.services(), &user.id, self.purpose, self.lifetime)?;
                    let link = format!("{base}{}?token={token}", self.page);
                    self.result
                        .set(&mut item, Value::String(link))
                        .map_err(|e| StepError::at_setting("resultField", e))?;
                    cx.mark_credential(&self.result);
                    out.push(item);
                    None
                }
            },
        };
        if let Some(reason) = refusal {
            accounts::work_for_unknown(cx.services(), self.purpose)?;
            cx.note(format!("no link: {reason}"));
        }
        Ok(())
    }
}

/// Reads the token a link carried from `field` (the query's `token`, passed in by the page).
pub(crate) fn token_in(item: &Item, field: &FieldPath) -> String {
    match field.get(item) {
        Some(Value::String(token)) => token.trim().to_owned(),
        _ => String::new(),
    }
}

/// What anyone is told of a link that does not work, whatever the reason.
pub(crate) const LINK_REFUSED: &str = "this link is invalid, used or expired; ask for a new one";

/// The refusal of a link that does not work: the same for anyone, noted in the trace.
pub(crate) fn link_refused(cx: &mut StepContext<'_>) -> StepError {
    cx.note("link refused");
    StepError::public(LINK_REFUSED)
}

/// The label of both completing steps' token field.
pub(crate) const TOKEN_FIELD: SettingLabel = SettingLabel {
    name: "tokenField",
    label: Localized {
        en: "Token field",
        fr: "Champ du jeton",
        es: "Campo del token",
        pt: "Campo do token",
        de: "Token-Feld",
    },
};
