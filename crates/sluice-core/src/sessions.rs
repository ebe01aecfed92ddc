//! Sessions: the credential an end user gets after the second factor. Only the SHA-256 of a
//! token is stored; the token (256 random bits, hex) is shown once, to its owner.

use rand::TryRng;

use crate::clock::Millis;
use crate::services::Services;
use crate::store::{Factor, Session, StoreError};

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    crate::fingerprint(token)
}

/// How long a session lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionRules {
    /// From its start, however much it is used.
    pub lifetime: Millis,
    /// Unused (0: no idle timeout).
    pub idle_timeout: Millis,
}

/// Where Confirm one-time code puts the session it opens (`{"token", "expiresAt"}`).
pub const SESSION_FIELD: &str = "_session";

/// The idle timeout of sessions by default: NIST SP 800-63B asks for reauthentication after
/// 30 minutes of inactivity at AAL2.
pub const DEFAULT_IDLE_TIMEOUT: Millis = 30 * 60_000;

/// How stale a session's last use may be before a request records a new one: a session used
/// without pause costs one write a minute, not one per request, and its idle timeout holds to
/// the minute.
pub const TOUCH_EVERY: Millis = 60_000;

/// A new session for the user, earned with `methods`: the token (to hand to the user) and the
/// stored record.
pub fn open_session(
    services: &Services,
    user_id: &str,
    client: &str,
    methods: Vec<Factor>,
    rules: SessionRules,
) -> Result<(String, Session), StoreError> {
    let mut bytes = [0u8; 32];
    rand::rngs::SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| StoreError::Unavailable(format!("the system random source failed: {e}")))?;
    let token = data_encoding::HEXLOWER.encode(&bytes);
    let now = services.clock.now();
    let session = Session {
        token_hash: token_hash(&token),
        user_id: user_id.to_owned(),
        client: client.to_owned(),
        methods,
        created_at: now,
        expires_at: now + rules.lifetime,
        idle_timeout: rules.idle_timeout,
        last_used_at: now,
    };
    services.store.create_session(&session)?;
    Ok((token, session))
}

/// The live session a token stands for, while its user exists and is active (a deactivated
/// user's sessions stop at once); records the use (at most once a [`TOUCH_EVERY`]).
pub fn check_token(services: &Services, token: &str) -> Result<Option<Session>, StoreError> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let now = services.clock.now();
    let Some(mut session) = services.store.find_session(&token_hash(token), now)? else {
        return Ok(None);
    };
    let active = services.store.find_user(&session.user_id)?.is_some_and(|user| user.active);
    if !active {
        return Ok(None);
    }
    if session.idle_timeout > 0 && now - session.last_used_at >= TOUCH_EVERY {
        services.store.touch_session(&session.token_hash, now)?;
        session.last_used_at = now;
    }
    Ok(Some(session))
}
