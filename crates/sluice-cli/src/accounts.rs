//! `sluice users add | set-password | deactivate | roles`: one user at a time, from the
//! command line. Passwords are read from standard input, never from the arguments (which
//! other users of the machine can see).

use std::io::BufRead;

use sluice::passwords;
use sluice::store::{Role, SYSTEM_CONTEXT, StoreError, User, is_role_name};

use crate::commands::{services, store_failure, user_named};
use crate::{Failure, StoreArgs};

/// The profile of `sluice users add`.
#[derive(Debug, Default)]
pub struct NewUser {
    /// The user name.
    pub name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Language tag.
    pub locale: Option<String>,
    /// Created disabled.
    pub inactive: bool,
    /// Read a password from standard input.
    pub password_stdin: bool,
}

/// The first line of standard input, checked against the rules for new passwords of `user`,
/// and hashed.
fn password_from_stdin(user: &str) -> Result<String, Failure> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure::Environment(format!("cannot read the password from standard input: {e}")))?;
    let password = line.trim_end_matches(['\r', '\n']);
    if let Some(weakness) = passwords::weakness(password, user) {
        eprintln!("error: {weakness}");
        return Err(Failure::Invalid);
    }
    passwords::hash(password).map_err(Failure::Environment)
}

/// A store refusal that is the input's fault (a taken name) is exit 1; the rest exit 2.
fn save(services: &sluice::Services, user: &User) -> Result<(), Failure> {
    match services.store.save_user(user) {
        Err(StoreError::Duplicate(message)) => {
            eprintln!("error: {message}");
            Err(Failure::Invalid)
        }
        other => other.map_err(store_failure),
    }
}

/// `sluice users add`.
pub fn add(new: NewUser, store: &StoreArgs) -> Result<(), Failure> {
    let services = services(store)?;
    let name = new.name.trim();
    if name.is_empty() {
        return Err(Failure::Environment("the user name is empty".into()));
    }
    let password_hash = if new.password_stdin { Some(password_from_stdin(name)?) } else { None };
    let user = User {
        email: new.email,
        phone: new.phone,
        first_name: new.first_name,
        last_name: new.last_name,
        locale: new.locale,
        active: !new.inactive,
        password_hash,
        ..User::new(name)
    };
    save(&services, &user)?;
    println!("{} added ({})", user.user_name, user.id);
    Ok(())
}

/// `sluice users set-password`: the new password from standard input; the user's sessions end.
pub fn set_password(name: &str, store: &StoreArgs) -> Result<(), Failure> {
    let services = services(store)?;
    let mut user = user_named(&services, name)?;
    user.password_hash = Some(password_from_stdin(&user.user_name)?);
    save(&services, &user)?;
    let ended = services.store.end_sessions(&user.id, None).map_err(store_failure)?;
    println!("password of {} set; {ended} session(s) ended", user.user_name);
    Ok(())
}

/// `sluice users deactivate`: the user can no longer sign in; their sessions end.
pub fn deactivate(name: &str, store: &StoreArgs) -> Result<(), Failure> {
    let services = services(store)?;
    let mut user = user_named(&services, name)?;
    user.active = false;
    save(&services, &user)?;
    let ended = services.store.end_sessions(&user.id, None).map_err(store_failure)?;
    println!("{} deactivated; {ended} session(s) ended", user.user_name);
    Ok(())
}

/// What `sluice users roles` changes before listing.
#[derive(Debug, Default)]
pub struct RoleChange {
    /// Roles to give.
    pub grant: Vec<String>,
    /// Take roles away (those of `context`, or all).
    pub revoke: bool,
    /// The context (default: `system` to give, every context to take away).
    pub context: Option<String>,
}

/// `sluice users roles`: gives or takes roles, then lists the user's roles.
pub fn roles(name: &str, change: RoleChange, store: &StoreArgs) -> Result<(), Failure> {
    let services = services(store)?;
    let user = user_named(&services, name)?;
    if let Some(bad) = change.grant.iter().chain(&change.context).find(|r| !is_role_name(r)) {
        let pattern = sluice::store::ROLE_NAME_PATTERN;
        return Err(Failure::Environment(format!("\"{bad}\" is not a role or context name (it must match {pattern})")));
    }
    if change.revoke {
        let removed = services.store.revoke_roles(&user.id, change.context.as_deref()).map_err(store_failure)?;
        println!("{removed} role(s) removed");
    }
    if !change.grant.is_empty() {
        let context = change.context.as_deref().unwrap_or(SYSTEM_CONTEXT);
        let roles: Vec<Role> = change.grant.iter().map(|name| Role::new(context, name)).collect();
        let granted = services.store.grant_roles(&user.id, &roles).map_err(store_failure)?;
        println!("{granted} role(s) given");
    }
    for role in services.store.roles(&user.id).map_err(store_failure)? {
        println!("{}  {}", role.context, role.name);
    }
    Ok(())
}
