//! Passwords: hashed with Argon2id (a random salt each), checked in constant time. The one place
//! that hashes and checks them, for the users file, the login step and the server.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::TryRng;

/// The Argon2id hash of `password`, with a salt from the OS CSPRNG.
pub fn hash(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    rand::rngs::SysRng.try_fill_bytes(&mut salt).map_err(|e| e.to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Shortest and longest new passwords, in characters: NIST SP 800-63B §3.1.1.2 asks for at
/// least 8 and lets users choose at least 64. Nothing else about their composition is asked.
pub const NEW_PASSWORD_LENGTH: std::ops::RangeInclusive<usize> = 8..=128;

/// Why `password` may not become `user_name`'s password, in words for the person choosing it;
/// `None` when it may. Refused, as NIST SP 800-63B §3.1.1.2 asks: lengths outside
/// [`NEW_PASSWORD_LENGTH`], a password holding the user name, and a password that is as a whole
/// one of the most common passwords (zxcvbn's list of 30,000, also reversed or with letters
/// swapped for digits), one repeated or sequential run (`aaaaaaaa`, `12345678`) or one
/// keyboard row.
pub fn weakness(password: &str, user_name: &str) -> Option<String> {
    use zxcvbn::feedback::Warning;
    let length = password.chars().count();
    if !NEW_PASSWORD_LENGTH.contains(&length) {
        let (min, max) = (NEW_PASSWORD_LENGTH.start(), NEW_PASSWORD_LENGTH.end());
        return Some(format!("a password has {min} to {max} characters (this one has {length})"));
    }
    let name = user_name.trim().to_lowercase();
    if !name.is_empty() && password.to_lowercase().contains(&name) {
        return Some("a password may not hold the user name".into());
    }
    let estimate = zxcvbn::zxcvbn(password, &[]);
    let warning = estimate.feedback().and_then(zxcvbn::feedback::Feedback::warning);
    let common = match warning {
        Some(Warning::ThisIsATop10Password | Warning::ThisIsATop100Password | Warning::ThisIsACommonPassword) => true,
        Some(
            Warning::ThisIsSimilarToACommonlyUsedPassword
            | Warning::RepeatsLikeAaaAreEasyToGuess
            | Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess
            | Warning::SequencesLikeAbcAreEasyToGuess
            | Warning::StraightRowsOfKeysAreEasyToGuess,
        ) => estimate.sequence().len() == 1,
        _ => false,
    };
    common.then(|| "this password is one of the most common or most easily guessed; choose another".into())
}

/// Whether `password` is the one behind `hash` (false for a hash that is not one).
pub fn matches(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .is_ok_and(|parsed| argon2::Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A hash that no password matches, checked for a user who does not exist (or has no
/// password), so that every refusal costs the same work.
pub fn stand_in_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        SaltString::encode_b64(b"sluice-stand-in!")
            .ok()
            .and_then(|salt| {
                argon2::Argon2::default().hash_password(b"no user has this password", &salt).ok().map(|h| h.to_string())
            })
            .unwrap_or_default()
    })
}

/// The one message every refused login shows, whatever the reason.
pub const LOGIN_REFUSED: &str = "invalid user name or password";

/// The scope in which failed logins are counted and locked: per user (or per unknown name),
/// whatever the client, so that naming other clients buys no more guesses.
pub const LOGIN_SCOPE: &str = "login";

/// Why a login was refused: for traces and logs, never for the person who tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many failed logins lately.
    Locked,
    /// No user has the name.
    NoSuchUser,
    /// The user has no password.
    NoPassword,
    /// Not the user's password.
    WrongPassword,
    /// The user is inactive.
    Inactive,
}

impl Refusal {
    /// The reason in words.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Locked => "too many failed logins lately",
            Refusal::NoSuchUser => "no such user",
            Refusal::NoPassword => "the user has no password",
            Refusal::WrongPassword => "wrong password",
            Refusal::Inactive => "the user is inactive",
        }
    }
}

/// Why [`check_login`] failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Refused; the reason is for traces only.
    #[error("{LOGIN_REFUSED}")]
    Refused(Refusal),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Checks a login of `user` (found by `name`; `None` when no user has it) with `password`,
/// for the login step and the server alike: the same answer after the same Argon2 work for an
/// unknown user, an inactive one and a wrong password; failures counted and locked per user
/// (per name's fingerprint for unknown names, so failure rows stay small whatever was sent).
/// A dry run checks the password and counts nothing.
pub fn check_login(
    services: &crate::Services,
    name: &str,
    user: Option<&crate::store::User>,
    password: &str,
    client: &str,
    dry_run: bool,
) -> Result<(), LoginError> {
    let unknown = format!("name:{}", crate::fingerprint(&name.to_lowercase()));
    let (subject, counted) = match user {
        Some(u) => (u.id.clone(), crate::otp::Subject::User(&u.id)),
        None => (unknown.clone(), crate::otp::Subject::Unknown(&unknown)),
    };
    let store = &services.store;
    let now = services.clock.now();
    let locked = store.locked_until(&subject, LOGIN_SCOPE, now)?.is_some();
    let hash = user.and_then(|u| u.password_hash.as_deref()).unwrap_or(stand_in_hash());
    // The hash is always checked, so every refusal costs the same work.
    let right = matches(hash, password);
    let refusal = match user {
        _ if locked => Some(Refusal::Locked),
        None => Some(Refusal::NoSuchUser),
        Some(u) if u.password_hash.is_none() => Some(Refusal::NoPassword),
        Some(_) if !right => Some(Refusal::WrongPassword),
        Some(u) if !u.active => Some(Refusal::Inactive),
        Some(_) => None,
    };
    let client = crate::log_text(client);
    match refusal {
        Some(refusal) => {
            if !locked && !dry_run {
                crate::otp::count_failure(services, counted, LOGIN_SCOPE, now)?;
            }
            tracing::info!(subject = %subject, %client, reason = refusal.reason(), "login refused");
            Err(LoginError::Refused(refusal))
        }
        None => {
            if !dry_run {
                store.clear_failures(&subject, LOGIN_SCOPE)?;
            }
            tracing::info!(subject = %subject, %client, "login accepted");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_passwords_follow_nist_length_and_blocklist_rules_and_nothing_else() {
        for common in [
            "password",
            "Password1",
            "iloveyou",
            "p@ssw0rd",
            "drowssap",
            "qwertyuiop",
            "aaaaaaaaaa",
            "12345678",
            "abcdefgh",
        ] {
            assert!(weakness(common, "ann").is_some_and(|w| w.contains("most common")), "{common} is refused");
        }
        assert!(weakness("seven77", "ann").is_some_and(|w| w.contains("8 to 128 characters (this one has 7)")));
        assert!(weakness(&"x".repeat(129), "ann").is_some_and(|w| w.contains("this one has 129")));
        assert!(weakness("my-name-is-Annabel!", "annabel").is_some_and(|w| w.contains("user name")));
        for fine in
            ["correct horse battery staple", "tr0ub4dor&3x", "lowercaseonlybutlong", "Zx9!qP", "été à Paris 2026"]
        {
            let verdict = weakness(fine, "ann");
            assert_eq!(verdict.is_none(), fine.chars().count() >= 8, "{fine}: {verdict:?}");
        }
        assert_eq!(
            weakness(&"é".repeat(7).chars().chain("xyzw9".chars()).collect::<String>(), "ann"),
            None,
            "characters, not bytes"
        );
    }
}
