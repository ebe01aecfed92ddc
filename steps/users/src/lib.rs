//! Steps of the Aqtra user-contexts group: Get user info, Login with password, the two-factor
//! pair Get / Confirm one-time code for user, and the notification steps.

mod account_link;
mod assign_context_role_for_model;
mod confirm_one_time_code_for_user;
mod confirm_user_email;
mod confirm_user_email_request;
mod enrol_authenticator_app;
mod get_one_time_code_for_user;
mod get_user_info;
mod login_with_password;
mod notification;
mod remove_assigned_roles_for_user;
mod reset_user_password;
mod reset_user_password_request;
mod send_notification;
mod send_templated_notification;
mod update_or_create_user_info;

use sluice_core::duration::DurationSetting;
use sluice_core::store::User;
use sluice_core::{BuildContext, BuildError, FieldOrValue, Item, StepContext, StepError, ValueSource};

/// The user with this name or id: `Ok(None)` when there is no name or no such user.
fn find_user(cx: &mut StepContext<'_>, name_or_id: Option<&str>) -> Result<Option<User>, StepError> {
    let Some(key) = name_or_id else { return Ok(None) };
    cx.find_user(key).map_err(StepError::from)
}

/// The name or id a `userName` setting gives, else the calling user's.
fn named_or_caller(source: Option<&ValueSource>, item: &Item, cx: &StepContext<'_>) -> Option<String> {
    match source {
        Some(source) => source.resolve(item),
        None => cx.run().user.clone(),
    }
}

/// Checks a setting naming the field that holds a user (or their id).
fn user_field(field: &str, cx: &mut BuildContext<'_>) -> Result<ValueSource, BuildError> {
    cx.path("userIdField", field).map(ValueSource::Field)
}

/// The user a role step's field names: an error naming the field when there is none.
fn role_user(cx: &mut StepContext<'_>, source: &ValueSource, item: &Item) -> Result<User, StepError> {
    let key = source.resolve(item);
    find_user(cx, key.as_deref())?.ok_or_else(|| {
        StepError::at_setting("userIdField", format!("{source} names no user (run Get user info first)"))
    })
}

/// The client of a request: the setting when given, else the run's client.
fn client_of(source: Option<&ValueSource>, item: &Item, cx: &StepContext<'_>) -> Result<String, StepError> {
    match source {
        Some(source) => {
            source.resolve(item).ok_or_else(|| StepError::at_setting("client", format!("{source} holds no client")))
        }
        None => cx.run().client.clone().ok_or_else(|| {
            StepError::at_setting("client", "the run has no client: set \"client\", or run with a client (--client)")
        }),
    }
}

/// Checks an optional client setting.
fn client_setting(given: Option<&FieldOrValue>, cx: &mut BuildContext<'_>) -> Result<Option<ValueSource>, BuildError> {
    given.map(|c| cx.value_source("client", c)).transpose()
}

#[cfg(test)]
mod test_support {
    use std::sync::Arc;

    use sluice_core::otp::CodeKeys;
    use sluice_core::store::{MemoryStore, User, UserStore};
    use sluice_core::{Engine, ManualClock, Services};

    /// An engine over a memory store holding `ann` (active) and `zoe` (inactive), on a manual clock.
    pub fn engine() -> (Engine, Arc<ManualClock>) {
        let (engine, clock, _) = build(None);
        (engine, clock)
    }

    /// A session of `user_id` that never expires, its token hash made of `byte`.
    pub fn session(user_id: &str, byte: u8) -> sluice_core::store::Session {
        sluice_core::store::Session {
            token_hash: format!("{byte:02x}").repeat(32),
            user_id: user_id.into(),
            client: "web".into(),
            methods: Vec::new(),
            created_at: 0,
            expires_at: i64::MAX,
            idle_timeout: 0,
            last_used_at: 0,
        }
    }

    /// [`engine`], making links under `https://app.example.com`, with its store.
    pub fn engine_and_store() -> (Engine, Arc<ManualClock>, Arc<MemoryStore>) {
        build(Some("https://app.example.com/"))
    }

    fn build(public_url: Option<&str>) -> (Engine, Arc<ManualClock>, Arc<MemoryStore>) {
        let store = Arc::new(MemoryStore::new());
        let user = |name: &str, active| User { active, ..User::new(name) };
        store.import_users(&[user("ann", true), user("zoe-x", false)]).unwrap();
        let clock = Arc::new(ManualClock::new(1_795_000_000_000));
        let keys = CodeKeys::from_secret("0123456789abcdef0123456789abcdef").unwrap();
        let mut services = Services::new(store.clone(), keys).with_clock(clock.clone());
        if let Some(url) = public_url {
            services = services.with_public_url(url);
        }
        (Engine::builder().services(services).build().unwrap(), clock, store)
    }
}
