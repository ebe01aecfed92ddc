//! Single-use account tokens: the links that confirm an address or reset a password, and an
//! authenticator's recovery codes. Tokens come from the OS CSPRNG; only their keyed hashes
//! (HMAC-SHA256 under the server key, bound to their purpose) are stored, and redeeming one is
//! one atomic operation of the store, so a token works once under any concurrency.

use rand::TryRng;

use crate::clock::Millis;
use crate::services::Services;
use crate::store::{NewToken, StoreError};

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    /// Confirms a user's e-mail address and activates the user.
    ConfirmEmail,
    /// Lets a user set a new password.
    ResetPassword,
    /// Stands in for an authenticator code once.
    Recovery,
}

impl TokenPurpose {
    /// Its name in the store.
    pub fn name(self) -> &'static str {
        match self {
            TokenPurpose::ConfirmEmail => "confirm-email",
            TokenPurpose::ResetPassword => "reset-password",
            TokenPurpose::Recovery => "recovery",
        }
    }
}

/// How long an address confirmation link works by default.
pub const CONFIRM_EMAIL_LIFETIME: Millis = 24 * 3_600_000;
/// How long a password reset link works by default.
pub const RESET_PASSWORD_LIFETIME: Millis = 30 * 60_000;
/// Recovery codes handed out at an authenticator's enrolment.
pub const RECOVERY_CODES: usize = 10;

fn random_bytes<const N: usize>() -> Result<[u8; N], StoreError> {
    let mut bytes = [0u8; N];
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| StoreError::Unavailable(format!("the system random source failed: {e}")))?;
    Ok(bytes)
}

/// 256 random bits, URL-safe (43 characters).
fn new_token() -> Result<String, StoreError> {
    use base64::Engine as _;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// A new link token (256 random bits, URL-safe) for the user, in place of the user's earlier
/// ones of the purpose; the token is returned to be put in a link, only its hash is stored.
pub fn issue_token(
    services: &Services,
    user_id: &str,
    purpose: TokenPurpose,
    lifetime: Millis,
) -> Result<String, StoreError> {
    let token = new_token()?;
    let hash = stored_hash(services, purpose, &token);
    let expires_at = services.clock.now() + lifetime;
    services.store.issue_tokens(user_id, purpose.name(), &[NewToken { hash, expires_at }])?;
    Ok(token)
}

fn stored_hash(services: &Services, purpose: TokenPurpose, token: &str) -> String {
    services.keys.token_hashes(purpose.name(), token).next().unwrap_or_default()
}

/// Does the work of issuing a token (random bytes, a keyed hash, a write of the store that
/// changes nothing) for a request that gets none, so that the time of the answer tells no one
/// whether the user exists.
pub fn work_for_unknown(services: &Services, purpose: TokenPurpose) -> Result<(), StoreError> {
    let hash = stored_hash(services, purpose, &new_token()?);
    services.store.redeem_token(purpose.name(), &hash, services.clock.now())?;
    Ok(())
}

/// The id of the user whose live token of `purpose` `token` is, redeeming it: the first
/// caller gets it, every later one (and anyone with a made-up, expired or replaced token)
/// `None`. Malformed tokens cost the store nothing.
pub fn redeem_token(services: &Services, purpose: TokenPurpose, token: &str) -> Result<Option<String>, StoreError> {
    if !plausible(token) {
        return Ok(None);
    }
    redeem(services, purpose, token)
}

/// Redeems the token whose secret text is `secret`, under any of the server's keys.
fn redeem(services: &Services, purpose: TokenPurpose, secret: &str) -> Result<Option<String>, StoreError> {
    let now = services.clock.now();
    under_any_key(services, purpose, secret, |hash| services.store.redeem_token(purpose.name(), hash, now))
}

/// The id of the user whose live token of `purpose` `token` is, without redeeming it (to
/// check what comes with the token before it is spent).
pub fn token_holder(services: &Services, purpose: TokenPurpose, token: &str) -> Result<Option<String>, StoreError> {
    if !plausible(token) {
        return Ok(None);
    }
    let now = services.clock.now();
    under_any_key(services, purpose, token, |hash| services.store.token_holder(purpose.name(), hash, now))
}

/// The first user `find` answers for the token's hash under the server's keys, current first.
fn under_any_key(
    services: &Services,
    purpose: TokenPurpose,
    secret: &str,
    find: impl Fn(&str) -> Result<Option<String>, StoreError>,
) -> Result<Option<String>, StoreError> {
    for hash in services.keys.token_hashes(purpose.name(), secret) {
        if let Some(user) = find(&hash)? {
            return Ok(Some(user));
        }
    }
    Ok(None)
}

/// Whether `token` could be one this module made (anything else costs the store nothing).
fn plausible(token: &str) -> bool {
    !token.is_empty() && token.len() <= 64 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Ten new recovery codes for the user (each 50 random bits, written `xxxxx-xxxxx` in
/// lower-case base32), in place of any earlier ones; they do not expire.
pub fn issue_recovery_codes(services: &Services, user_id: &str) -> Result<Vec<String>, StoreError> {
    const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    let mut stored = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let n = u64::from_le_bytes(random_bytes()?) >> 14;
        let chars: String = (0..10).rev().map(|i| char::from(BASE32[((n >> (5 * i)) & 31) as usize])).collect();
        let code = format!("{}-{}", &chars[..5], &chars[5..]);
        stored.push(NewToken {
            hash: stored_hash(services, TokenPurpose::Recovery, &recovery_key(user_id, &code)),
            expires_at: Millis::MAX,
        });
        codes.push(code);
    }
    services.store.issue_tokens(user_id, TokenPurpose::Recovery.name(), &stored)?;
    Ok(codes)
}

/// A recovery code in its stored form: bound to its user, so one user's code is nothing to another.
fn recovery_key(user_id: &str, code: &str) -> String {
    format!("{user_id}_{code}")
}

/// The canonical form of a typed recovery code (case, spaces and the dash do not matter), or
/// `None` when it cannot be one.
pub fn recovery_code(typed: &str) -> Option<String> {
    let chars: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_lowercase();
    (chars.len() == 10 && chars.bytes().all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)))
        .then(|| format!("{}-{}", &chars[..5], &chars[5..]))
}

/// Redeems the user's recovery code `typed` once; `false` for anything else.
pub fn redeem_recovery_code(services: &Services, user_id: &str, typed: &str) -> Result<bool, StoreError> {
    let Some(code) = recovery_code(typed) else { return Ok(false) };
    Ok(redeem(services, TokenPurpose::Recovery, &recovery_key(user_id, &code))?.is_some_and(|holder| holder == user_id))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ManualClock;
    use crate::otp::CodeKeys;
    use crate::store::{AccountStore, MemoryStore};

    const SECRET: &str = "accounts-secret-0123456789abcdefgh";

    fn services(keys: CodeKeys, store: &Arc<MemoryStore>, clock: &Arc<ManualClock>) -> Services {
        Services::new(store.clone(), keys).with_clock(clock.clone())
    }

    #[test]
    fn a_link_token_works_once_for_its_purpose_within_its_lifetime_and_survives_a_key_rotation() {
        let (store, clock) = (Arc::new(MemoryStore::new()), Arc::new(ManualClock::new(1_000)));
        let old = services(CodeKeys::from_secret(SECRET).unwrap(), &store, &clock);
        let token = issue_token(&old, "u1", TokenPurpose::ResetPassword, 60_000).unwrap();
        assert_eq!(token.len(), 43, "256 bits, URL-safe: {token}");
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let rotated = services(
            CodeKeys::from_secret("another-secret-0123456789abcdefghij").unwrap().with_previous(&[SECRET]).unwrap(),
            &store,
            &clock,
        );
        assert_eq!(redeem_token(&rotated, TokenPurpose::ConfirmEmail, &token).unwrap(), None, "another purpose");
        assert_eq!(redeem_token(&rotated, TokenPurpose::ResetPassword, "../etc/passwd").unwrap(), None);
        assert_eq!(redeem_token(&rotated, TokenPurpose::ResetPassword, &token).unwrap().as_deref(), Some("u1"));
        assert_eq!(redeem_token(&rotated, TokenPurpose::ResetPassword, &token).unwrap(), None, "once");
        let late = issue_token(&old, "u1", TokenPurpose::ResetPassword, 60_000).unwrap();
        clock.advance(60_000);
        assert_eq!(redeem_token(&old, TokenPurpose::ResetPassword, &late).unwrap(), None, "expired");
    }

    #[test]
    fn recovery_codes_are_ten_distinct_single_use_codes_of_their_own_user() {
        let (store, clock) = (Arc::new(MemoryStore::new()), Arc::new(ManualClock::new(1_000)));
        let services = services(CodeKeys::from_secret(SECRET).unwrap(), &store, &clock);
        let codes = issue_recovery_codes(&services, "u1").unwrap();
        let distinct: std::collections::BTreeSet<&String> = codes.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODES);
        assert!(codes.iter().all(|c| recovery_code(c).as_ref() == Some(c)), "{codes:?}");
        assert!(!redeem_recovery_code(&services, "u2", &codes[0]).unwrap(), "not another user's");
        let typed = format!(" {} ", codes[0].to_uppercase().replace('-', " "));
        assert!(redeem_recovery_code(&services, "u1", &typed).unwrap(), "case, spaces and the dash do not matter");
        assert!(!redeem_recovery_code(&services, "u1", &codes[0]).unwrap(), "once");
        assert!(!redeem_recovery_code(&services, "u1", "123456").unwrap());
        let again = issue_recovery_codes(&services, "u1").unwrap();
        assert!(!redeem_recovery_code(&services, "u1", &codes[1]).unwrap(), "replaced by the new ones");
        assert!(redeem_recovery_code(&services, "u1", &again[1]).unwrap());
        assert_eq!(store.live_tokens("u1", TokenPurpose::Recovery.name(), 0).unwrap(), 9);
    }
}
