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
