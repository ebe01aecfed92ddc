//! Authenticator apps (TOTP, RFC 6238): enrolment and confirmation.
//!
//! A secret is 160 bits from the OS CSPRNG (RFC 4226 R6), kept only sealed with
//! XChaCha20-Poly1305 under a key derived from the server key and bound to its user. An
//! enrolment waits beside any confirmed app until a first valid code confirms it. Codes are
//! SHA-1, 6 digits, 30 seconds, what every app supports; one step on either side of the
//! server's clock is accepted, and a time step is taken once, so a code replayed within its
//! window fails. Failures count and lock exactly as one-time codes do ([`otp::count_failure`]).

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::TryRng;
use serde_json::Value;

use crate::accounts;
use crate::otp::{self, CONFIRM_SCOPE, ConfirmError, Rejection, Subject};
use crate::services::Services;
use crate::store::{AuthMethod, Factor, StoreError, User};
use crate::totp::{self, Algorithm};

/// Bytes of a secret: 160 bits, as RFC 4226 recommends.
pub const SECRET_BYTES: usize = 20;
/// Seconds per time step.
pub const PERIOD: u64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Time steps accepted on each side of the server's.
pub const SKEW: u64 = 1;

/// What an enrolment shows the user once: the app's secret (for typing by hand), its
/// `otpauth://` URI and the URI as a QR code (SVG), and the recovery codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    /// The secret in base32, as apps take it.
    pub secret: String,
    /// `otpauth://totp/<issuer>:<user>?secret=…&issuer=…`.
    pub uri: String,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: String,
    /// Ten single-use recovery codes.
    pub recovery_codes: Vec<String>,
}

fn unavailable(what: &str) -> StoreError {
    StoreError::Unavailable(format!("the authenticator secret could not be {what}"))
}

/// The code an app holding the base32 `secret` shows at `at` (what a replay or a test types
/// in the user's place); `None` for text that is not base32.
pub fn app_code(secret: &str, at: crate::Millis) -> Option<String> {
    let key = data_encoding::BASE32_NOPAD.decode(secret.as_bytes()).ok()?;
    let step = totp::time_step(u64::try_from(at / 1000).ok()?, PERIOD);
    Some(totp::hotp(&key, step, DIGITS, Algorithm::Sha1))
}

/// Seals `secret` for `user_id` under the current server key: `<key id>:<nonce and
/// ciphertext, base64url>`.
fn seal(services: &Services, user_id: &str, secret: &[u8]) -> Result<String, StoreError> {
    let (id, key) = services.keys.sealing_key(None).ok_or_else(|| unavailable("sealed"))?;
    let mut nonce = [0u8; 24];
    rand::rngs::SysRng.try_fill_bytes(&mut nonce).map_err(|_| unavailable("sealed"))?;
    let cipher = XChaCha20Poly1305::new(&key.into());
    let sealed = cipher
        .encrypt(&XNonce::from(nonce), Payload { msg: secret, aad: user_id.as_bytes() })
        .map_err(|_| unavailable("sealed"))?;
    let body = [nonce.as_slice(), &sealed].concat();
    Ok(format!("{id}:{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(body)))
}

/// The secret `sealed` holds for `user_id`; `None` when it was sealed for another user or
/// under a key the server no longer has, or was changed.
fn unseal(services: &Services, user_id: &str, sealed: &str) -> Option<Vec<u8>> {
    let (id, body) = sealed.split_once(':')?;
    let (_, key) = services.keys.sealing_key(Some(id))?;
    let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body).ok()?;
    let (nonce, ciphertext) = body.split_at_checked(24)?;
    let nonce = XNonce::try_from(nonce).ok()?;
    XChaCha20Poly1305::new(&key.into()).decrypt(&nonce, Payload { msg: ciphertext, aad: user_id.as_bytes() }).ok()
}

/// Starts an enrolment for `user` in an app that will show `issuer`: a new secret, sealed and
/// stored beside any confirmed app, and new recovery codes.
pub fn begin(services: &Services, user: &User, issuer: &str) -> Result<Enrolment, StoreError> {
    let mut secret = [0u8; SECRET_BYTES];
    rand::rngs::SysRng.try_fill_bytes(&mut secret).map_err(|_| unavailable("drawn"))?;
    services.store.begin_authenticator(&user.id, &seal(services, &user.id, &secret)?)?;
    let recovery_codes = accounts::issue_recovery_codes(services, &user.id)?;
    let base32 = data_encoding::BASE32_NOPAD.encode(&secret);
    let label =
        |text: &str| percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string();
    let uri = format!(
        "otpauth://totp/{}:{}?secret={base32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={PERIOD}",
        label(issuer),
        label(&user.user_name),
        label(issuer)
    );
    let qr_svg = qrcode::QrCode::new(uri.as_bytes())
        .map(|code| code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).build())
        .map_err(|e| StoreError::Unavailable(format!("the QR code could not be drawn: {e}")))?;
    tracing::info!(user = %user.id, "authenticator enrolment started");
    Ok(Enrolment { secret: base32, uri, qr_svg, recovery_codes })
}

/// Confirms `typed` for `user`: a code of the user's app (or of the enrolment waiting for its
/// first code, which it then confirms), or one of their recovery codes. Returns the factors
/// proved: `before` (such as a password earlier in the run) and this one.
pub fn confirm(
    services: &Services,
    user: &User,
    typed: &Value,
    before: Vec<Factor>,
) -> Result<Vec<Factor>, ConfirmError> {
    let now = services.clock.now();
    let store = &services.store;
    let verdict = if store.locked_until(&user.id, CONFIRM_SCOPE, now)?.is_some() {
        Err(Rejection::Locked)
    } else {
        check(services, user, typed, now)?
    };
    match verdict {
        Ok(()) => {
            store.clear_failures(&user.id, CONFIRM_SCOPE)?;
            tracing::info!(user = %user.id, "authenticator code confirmed");
            Ok(before.into_iter().chain([Factor { method: AuthMethod::Otp, at: now }]).collect())
        }
        Err(rejection) => {
            if rejection != Rejection::Locked
                && otp::count_failure(services, Subject::User(&user.id), CONFIRM_SCOPE, now)?
            {
                tracing::warn!(user = %user.id, "authenticator confirmation locked");
            }
            tracing::info!(user = %user.id, reason = rejection.reason(), "authenticator code rejected");
            Err(ConfirmError::Rejected(rejection))
        }
    }
}

/// The verdict on one attempt; the outer error is the store's.
fn check(
    services: &Services,
    user: &User,
    typed: &Value,
    now: crate::Millis,
) -> Result<Result<(), Rejection>, StoreError> {
    let Some(app) = services.store.authenticator(&user.id)? else { return Ok(Err(Rejection::NoCode)) };
    let Some(digits) = otp::normalize(typed, DIGITS) else {
        // Not six digits: a recovery code, once, for a user whose app is confirmed.
        let recovered = app.secret.is_some()
            && typed.as_str().is_some_and(|t| t.len() <= 64)
            && accounts::redeem_recovery_code(services, &user.id, typed.as_str().unwrap_or_default())?;
        return Ok(if recovered { Ok(()) } else { Err(Rejection::Malformed) });
    };
    let seconds = u64::try_from(now / 1000).unwrap_or(0);
    let candidates = [(app.secret.as_deref(), None), (app.pending.as_deref(), app.pending.as_deref())];
    for (sealed, pending) in candidates {
        let Some(secret) = sealed.and_then(|s| unseal(services, &user.id, s)) else { continue };
        if let Some(step) = totp::matching_step(&secret, &digits, seconds, PERIOD, DIGITS, Algorithm::Sha1, SKEW) {
            let step = i64::try_from(step).unwrap_or(i64::MAX);
            let taken = services.store.take_authenticator_step(&user.id, step, pending)?;
            return Ok(if taken { Ok(()) } else { Err(Rejection::Used) });
        }
    }
    Ok(Err(Rejection::Wrong))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::ManualClock;
    use crate::otp::CodeKeys;
    use crate::store::{MemoryStore, UserStore};

    const SECRET: &str = "authenticator-secret-0123456789abcdef";
    const T0: i64 = 1_795_000_000_000;

    fn setup(keys: CodeKeys) -> (Services, Arc<ManualClock>, User) {
        let store = Arc::new(MemoryStore::new());
        let ann = User::new("ann");
        store.import_users(std::slice::from_ref(&ann)).unwrap();
        let clock = Arc::new(ManualClock::new(T0));
        (Services::new(store, keys).with_clock(clock.clone()), clock, ann)
    }

    /// The code an app shows at `at` (milliseconds) for the base32 `secret`, as typed.
    fn app_code(secret: &str, at: i64) -> Value {
        json!(super::app_code(secret, at).unwrap())
    }

    #[test]
    fn an_enrolment_shows_its_secret_once_and_keeps_it_only_sealed() {
        let (services, _, ann) = setup(CodeKeys::from_secret(SECRET).unwrap());
        let enrolment = begin(&services, &ann, "Sluice & Co").unwrap();
        assert_eq!(enrolment.secret.len(), 32, "160 bits in base32");
        let expected = format!(
            "otpauth://totp/Sluice%20%26%20Co:ann?secret={}&issuer=Sluice%20%26%20Co&algorithm=SHA1&digits=6&period=30",
            enrolment.secret
        );
        assert_eq!(enrolment.uri, expected);
        assert!(enrolment.qr_svg.contains("<svg") && enrolment.qr_svg.contains("</svg>"));
        assert_eq!(enrolment.recovery_codes.len(), 10);
        let app = services.store.authenticator(&ann.id).unwrap().unwrap();
        let sealed = app.pending.unwrap();
        assert!(app.secret.is_none() && !sealed.contains(&enrolment.secret));
        let secret = data_encoding::BASE32_NOPAD.decode(enrolment.secret.as_bytes()).unwrap();
        assert_eq!(unseal(&services, &ann.id, &sealed), Some(secret));
        assert_eq!(unseal(&services, "someone-else", &sealed), None, "bound to its user");
        let mut tampered = sealed.clone();
        tampered.push('A');
        assert_eq!(unseal(&services, &ann.id, &tampered), None);
    }

    #[test]
    fn a_code_confirms_the_enrolment_then_each_time_step_works_once_within_one_step_of_skew() {
        let (services, clock, ann) = setup(CodeKeys::from_secret(SECRET).unwrap());
        let secret = begin(&services, &ann, "Sluice").unwrap().secret;
        let confirm = |typed: Value| super::confirm(&services, &ann, &typed, Vec::new());
        assert!(matches!(confirm(json!("12345")), Err(ConfirmError::Rejected(Rejection::Malformed))));
        let factors = confirm(app_code(&secret, T0)).unwrap();
        assert_eq!(factors, [Factor { method: AuthMethod::Otp, at: T0 }]);
        let app = services.store.authenticator(&ann.id).unwrap().unwrap();
        assert!(app.secret.is_some() && app.pending.is_none(), "the enrolment is confirmed");
        assert!(matches!(confirm(app_code(&secret, T0)), Err(ConfirmError::Rejected(Rejection::Used))), "replayed");
        assert!(confirm(app_code(&secret, T0 + 30_000)).is_ok(), "the phone runs 30 s ahead");
        let earlier = confirm(app_code(&secret, T0 - 30_000));
        assert!(matches!(earlier, Err(ConfirmError::Rejected(Rejection::Used))), "no step before the last taken");
        clock.advance(90_000);
        assert!(confirm(app_code(&secret, T0 + 60_000)).is_ok(), "30 s behind");
        assert!(confirm(app_code(&secret, T0 + 120_000)).is_ok(), "30 s ahead");
        assert!(matches!(confirm(app_code(&secret, T0 + 180_000)), Err(ConfirmError::Rejected(Rejection::Wrong))));
    }

    #[test]
    fn recovery_codes_stand_in_once_and_failures_lock_as_codes_do() {
        let (services, _, ann) = setup(CodeKeys::from_secret(SECRET).unwrap());
        let enrolment = begin(&services, &ann, "Sluice").unwrap();
        let confirm = |typed: Value| super::confirm(&services, &ann, &typed, Vec::new());
        let recovery = json!(enrolment.recovery_codes[0]);
        assert!(confirm(recovery.clone()).is_err(), "not before the app is confirmed");
        confirm(app_code(&enrolment.secret, T0)).unwrap();
        assert!(confirm(recovery.clone()).is_ok());
        assert!(matches!(confirm(recovery), Err(ConfirmError::Rejected(Rejection::Malformed))), "once");
        for _ in 0..10 {
            assert!(matches!(confirm(json!("000000")), Err(ConfirmError::Rejected(Rejection::Wrong))));
        }
        assert!(confirm(json!("000000")).is_err());
        let next = app_code(&enrolment.secret, T0 + 30_000);
        assert!(matches!(confirm(next), Err(ConfirmError::Rejected(Rejection::Locked))), "11 failures lock");
    }

    #[test]
    fn a_rotated_server_key_still_opens_secrets_sealed_before() {
        let (services, _, ann) = setup(CodeKeys::from_secret(SECRET).unwrap());
        let secret = begin(&services, &ann, "Sluice").unwrap().secret;
        let rotated = Services {
            keys: Arc::new(
                CodeKeys::from_secret("a-new-secret-0123456789abcdefghijkl").unwrap().with_previous(&[SECRET]).unwrap(),
            ),
            ..services.clone()
        };
        assert!(super::confirm(&rotated, &ann, &app_code(&secret, T0), Vec::new()).is_ok());
        let forgotten = Services {
            keys: Arc::new(CodeKeys::from_secret("a-new-secret-0123456789abcdefghijkl").unwrap()),
            ..services
        };
        let refused = super::confirm(&forgotten, &ann, &app_code(&secret, T0 + 30_000), Vec::new());
        assert!(matches!(refused, Err(ConfirmError::Rejected(Rejection::Wrong))));
    }
}
