//! What a user has beyond a profile: roles, single-use tokens (address confirmations, password
//! resets, recovery codes) and an authenticator app.

use serde::{Deserialize, Serialize};

use super::{StoreError, User};
use crate::clock::Millis;

/// The context of roles that hold in every component (Aqtra's "Platform → System").
pub const SYSTEM_CONTEXT: &str = "system";

/// What a role's name may be: letters, digits, `_`, `.`, `:` and `-`, 1 to 64 of them.
pub const ROLE_NAME_PATTERN: &str = r"^[A-Za-z0-9_.:-]{1,64}$";

/// Whether `text` may name a role (or a context): what [`ROLE_NAME_PATTERN`] says.
pub fn is_role_name(text: &str) -> bool {
    (1..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b))
}

/// A role a user holds in a context: a component's name, or [`SYSTEM_CONTEXT`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Role {
    /// Where the role holds.
    pub context: String,
    /// The role's name, such as `manager`.
    pub name: String,
}

impl Role {
    /// The role `name` in `context`.
    pub fn new(context: &str, name: &str) -> Role {
        Role { context: context.to_owned(), name: name.to_owned() }
    }

    /// Whether the role admits its holder to `component`'s dataflows that require `name`.
    pub fn admits(&self, component: &str, name: &str) -> bool {
        self.name == name && (self.context == SYSTEM_CONTEXT || self.context == component)
    }
}

/// A single-use token to store: only its keyed hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    /// The keyed hash of the token (hex), never the token.
    pub hash: String,
    /// When it stops working.
    pub expires_at: Millis,
}

/// A user's authenticator app: secrets sealed under the server key, never in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticator {
    /// The secret of the confirmed app, when one is.
    pub secret: Option<String>,
    /// The secret of an enrolment waiting for its first code.
    pub pending: Option<String>,
    /// The last time step a code of this user was taken for (codes are single-use per step).
    pub last_step: i64,
}

/// Accounts: users written one at a time, roles, single-use tokens and authenticator apps.
/// Every operation that redeems something is one atomic operation of the store.
pub trait AccountStore {
    /// Creates the user when no user has its id, else updates that user. `Duplicate` when
    /// another user has its name (without regard to case).
    fn save_user(&self, user: &User) -> Result<(), StoreError>;

    /// The user's roles, by context then name.
    fn roles(&self, user_id: &str) -> Result<Vec<Role>, StoreError>;
    /// Gives the user these roles (those held already stay once); returns how many are new.
    fn grant_roles(&self, user_id: &str, roles: &[Role]) -> Result<usize, StoreError>;
    /// Takes the user's roles away, all or those of one context; returns how many went.
    fn revoke_roles(&self, user_id: &str, context: Option<&str>) -> Result<usize, StoreError>;

    /// Stores `tokens` for the user and purpose in place of every earlier one of that purpose.
    fn issue_tokens(&self, user_id: &str, purpose: &str, tokens: &[NewToken]) -> Result<(), StoreError>;
    /// Takes the live token of `purpose` whose hash is `hash`, once: the first caller gets its
    /// user's id, every later one (and any caller after it expired) `None`.
    fn redeem_token(&self, purpose: &str, hash: &str, now: Millis) -> Result<Option<String>, StoreError>;
    /// The id of the user whose live token of `purpose` has this hash, without redeeming it.
    fn token_holder(&self, purpose: &str, hash: &str, now: Millis) -> Result<Option<String>, StoreError>;
    /// How many live tokens of `purpose` the user holds.
    fn live_tokens(&self, user_id: &str, purpose: &str, now: Millis) -> Result<usize, StoreError>;

    /// Starts an enrolment: `sealed` waits for its first code beside any confirmed app.
    fn begin_authenticator(&self, user_id: &str, sealed: &str) -> Result<(), StoreError>;
    /// The user's authenticator, if any.
    fn authenticator(&self, user_id: &str) -> Result<Option<Authenticator>, StoreError>;
    /// Takes time step `step` for a code, once: `true` only when it is later than every step
    /// taken before. With `pending`, the enrolment holding that sealed secret becomes the
    /// confirmed app at the same moment (and only if it is still the one waiting).
    fn take_authenticator_step(&self, user_id: &str, step: i64, pending: Option<&str>) -> Result<bool, StoreError>;
    /// Removes the user's authenticator, confirmed and pending; returns whether there was one.
    fn remove_authenticator(&self, user_id: &str) -> Result<bool, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_name_rule_and_its_pattern_agree() {
        let pattern = jsonschema::validator_for(&serde_json::json!({"pattern": ROLE_NAME_PATTERN})).unwrap();
        let long = "m".repeat(65);
        for name in ["manager", "Cars.seller:eu-1", "a_b", "", "a b", "rôle", "x/y", long.as_str(), &long[1..]] {
            assert_eq!(is_role_name(name), pattern.is_valid(&serde_json::json!(name)), "{name:?}");
        }
    }
}
