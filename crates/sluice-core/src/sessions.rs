//! Sessions: the credential an end user gets after the second factor. Only the SHA-256 of a
//! token is stored; the token (256 random bits, hex) is shown once, to its owner.

use rand::TryRng;

use crate::clock::Millis;
use crate::services::Services;
use crate::store::{Session, StoreError};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    crate::fingerprint(token)
}

/// A new session: the token (to hand to the user) and the stored record.
pub fn open_session(
    services: &Services,
    user_id: &str,
    client: &str,
    lifetime: Millis,
) -> Result<(String, Session), StoreError> {
    let mut bytes = [0u8; 32];
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| StoreError::Unavailable(format!("the system random source failed: {e}")))?;
    let token = hex(&bytes);
    let now = services.clock.now();
    let session = Session {
        token_hash: token_hash(&token),
        user_id: user_id.to_owned(),
        client: client.to_owned(),
        created_at: now,
        expires_at: now + lifetime,
    };
    services.store.create_session(&session)?;
    Ok((token, session))
}

/// The live session a token stands for, while its user exists and is active (a deactivated
/// user's sessions stop at once).
pub fn check_token(services: &Services, token: &str) -> Result<Option<Session>, StoreError> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let Some(session) = services.store.find_session(&token_hash(token), services.clock.now())? else {
        return Ok(None);
    };
    let active = services.store.find_user(&session.user_id)?.is_some_and(|user| user.active);
    Ok(active.then_some(session))
}
