//! One-time codes: generation, keyed hashing, issuing and confirming.
//!
//! Codes come from the OS CSPRNG, uniform over all `10^length` values. Only an HMAC-SHA256 of
//! (challenge id, user id, client, code) under a server key that is not in the store is kept.
//! Confirming counts the attempt first (one atomic write), compares hashes in constant time and
//! spends the code with one guarded write, so a code succeeds at most once under any
//! concurrency. The plain code never reaches a log, an error or a trace.

use std::fmt;
use std::path::Path;

use hmac::{Hmac, KeyInit, Mac};
use rand::distr::{Distribution, Uniform};
use rand::rngs::{StdRng, SysRng};
use rand::{SeedableRng, TryRng};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::Services;
use crate::clock::Millis;
use crate::store::{AuthMethod, CodeStatus, Factor, IssueLimits, Issued, NewCode, StoreError, StoredCode, User};

type HmacSha256 = Hmac<Sha256>;

/// Shortest and longest codes, in digits.
pub const CODE_LENGTHS: std::ops::RangeInclusive<u32> = 6..=10;
/// Longest lifetime: NIST SP 800-63B's ceiling for out-of-band codes.
pub const MAX_LIFETIME_MS: Millis = 600_000;

/// A code in clear: shown to no one but the step that hands it on.
#[derive(Clone, PartialEq, Eq)]
pub struct Code(String);

impl Code {
    /// The digits (for the step that writes them into the item).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Code([redacted])")
    }
}

/// Draws a code of `length` digits (6 to 10) from the OS CSPRNG, uniform, zero-padded.
pub fn generate_code(length: u32) -> Result<Code, OtpError> {
    let length = length.clamp(*CODE_LENGTHS.start(), *CODE_LENGTHS.end());
    // A generator seeded from the OS for this one draw: failures of the OS source surface as
    // errors instead of panics, and `Uniform` samples without modulo bias.
    let mut rng = StdRng::try_from_rng(&mut SysRng).map_err(|e| OtpError::Random(e.to_string()))?;
    let space = Uniform::new(0u64, 10u64.pow(length)).map_err(|e| OtpError::Random(e.to_string()))?;
    let n = space.sample(&mut rng);
    Ok(Code(format!("{n:0width$}", width = length as usize)))
}

/// A server key for code hashes.
#[derive(Clone)]
struct Key {
    id: String,
    bytes: [u8; 32],
}

impl Key {
    fn from_secret(secret: &[u8]) -> Key {
        let bytes: [u8; 32] = Sha256::new().chain_update(b"sluice-otp-key-v1").chain_update(secret).finalize().into();
        let fingerprint = Sha256::new().chain_update(b"sluice-otp-key-id").chain_update(bytes).finalize();
        let id = data_encoding::HEXLOWER.encode(&fingerprint[..4]);
        Key { id, bytes }
    }
}

/// The server keys (pepper) that hash codes: the current one, and earlier ones still accepted
/// so that rotating the key does not void codes already sent.
#[derive(Clone)]
pub struct CodeKeys {
    current: Key,
    previous: Vec<Key>,
}

impl fmt::Debug for CodeKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let previous: Vec<&str> = self.previous.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("CodeKeys").field("current", &self.current.id).field("previous", &previous).finish()
    }
}

/// The fewest different characters a secret may hold (a 32-character secret of one repeated
/// character, or of a short pattern, is no key).
pub const MIN_DISTINCT: usize = 10;

/// Why the server key could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The secret is too short to be a key.
    #[error("the secret must be at least 32 characters long (it has {0}); generate one with `openssl rand -hex 32`")]
    TooShort(usize),
    /// The secret repeats too few characters to be a key.
    #[error(
        "the secret must hold at least {MIN_DISTINCT} different characters (it has {0}); generate one with `openssl rand -hex 32`"
    )]
    TooPlain(usize),
    /// The key file could not be read or made.
    #[error("cannot use the key file {path}: {message}")]
    File {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
}

impl CodeKeys {
    /// Keys from a secret of at least 32 characters, at least [`MIN_DISTINCT`] of them different
    /// (such as `SLUICE_SECRET`).
    pub fn from_secret(secret: &str) -> Result<CodeKeys, KeyError> {
        let secret = secret.trim();
        if secret.len() < 32 {
            return Err(KeyError::TooShort(secret.len()));
        }
        let distinct = secret.chars().collect::<std::collections::BTreeSet<char>>().len();
        if distinct < MIN_DISTINCT {
            return Err(KeyError::TooPlain(distinct));
        }
        Ok(CodeKeys { current: Key::from_secret(secret.as_bytes()), previous: Vec::new() })
    }

    /// A fresh random key, for stores that live only as long as the process.
    pub fn random() -> Result<CodeKeys, OtpError> {
        let mut bytes = [0u8; 32];
        rand::rngs::SysRng.try_fill_bytes(&mut bytes).map_err(|e| OtpError::Random(e.to_string()))?;
        Ok(CodeKeys { current: Key::from_secret(&bytes), previous: Vec::new() })
    }

    /// Reads the key file at `path`, creating it (mode 0600, in a folder made with mode 0700;
    /// 32 random bytes in hex) when it does not exist. A key file that its group or others can
    /// read is refused.
    pub fn from_file(path: &Path) -> Result<CodeKeys, KeyError> {
        let fail = |message: String| KeyError::File { path: path.display().to_string(), message };
        if !path.exists() {
            let mut bytes = [0u8; 32];
            rand::rngs::SysRng.try_fill_bytes(&mut bytes).map_err(|e| fail(e.to_string()))?;
            let hex = data_encoding::HEXLOWER.encode(&bytes);
            crate::files::create_private_file(path)
                .and_then(|mut file| std::io::Write::write_all(&mut file, hex.as_bytes()))
                .map_err(|e| fail(e.to_string()))?;
        }
        crate::files::check_private(path).map_err(fail)?;
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        CodeKeys::from_secret(&text).map_err(|e| fail(e.to_string()))
    }

    /// Also accepts codes hashed under these earlier secrets.
    pub fn with_previous(mut self, secrets: &[&str]) -> Result<CodeKeys, KeyError> {
        for secret in secrets {
            self.previous.push(CodeKeys::from_secret(secret)?.current);
        }
        Ok(self)
    }

    /// The id of the key new codes are hashed with.
    pub fn current_id(&self) -> &str {
        &self.current.id
    }

    fn mac(key: &Key, challenge: &str, user_id: &str, client: &str, code: &str) -> HmacSha256 {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&key.bytes).unwrap_or_else(|_| unreachable!());
        mac.update(b"sluice-otp-v1");
        for part in [challenge, user_id, client, code] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac
    }

    /// The hash stored for a new code.
    pub fn hash(&self, challenge: &str, user_id: &str, client: &str, code: &Code) -> Vec<u8> {
        Self::mac(&self.current, challenge, user_id, client, &code.0).finalize().into_bytes().to_vec()
    }

    /// The keyed hashes (hex) of a single-use token for `purpose`, under the current key and
    /// then each earlier one: a token is stored under the first and found under any, so that
    /// rotating the key does not void links already sent.
    pub fn token_hashes(&self, purpose: &str, token: &str) -> impl Iterator<Item = String> {
        self.keys().map(move |key| {
            data_encoding::HEXLOWER.encode(&Self::mac(key, "token", purpose, "", token).finalize().into_bytes())
        })
    }

    /// The current key, then each earlier one.
    fn keys(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.current).chain(&self.previous)
    }

    /// The key that seals secrets kept at rest (an authenticator's), derived from the server
    /// key with id `id` (the current one when `None`), with that id.
    pub(crate) fn sealing_key(&self, id: Option<&str>) -> Option<(&str, [u8; 32])> {
        let key = match id {
            None => &self.current,
            Some(id) => self.keys().find(|k| k.id == id)?,
        };
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&key.bytes).unwrap_or_else(|_| unreachable!());
        mac.update(b"sluice-seal-v1");
        Some((&key.id, mac.finalize().into_bytes().into()))
    }

    /// Whether `typed` is the code behind `stored` (constant-time comparison).
    fn verify(&self, stored: &StoredCode, user_id: &str, typed: &str) -> bool {
        let key = self.keys().find(|k| k.id == stored.key_id);
        key.is_some_and(|key| {
            Self::mac(key, &stored.id, user_id, &stored.client, typed).verify_slice(&stored.mac).is_ok()
        })
    }
}

/// Rules shared by every code: how failures lock confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtpPolicy {
    /// Failures of one user and client allowed within `failure_window`; one more locks.
    pub max_failures: u32,
    /// The window failures are counted in.
    pub failure_window: Millis,
    /// How long a lock lasts.
    pub lock_duration: Millis,
    /// Failures of one user in a row, however far apart, that lock until a builder unlocks
    /// (NIST SP 800-63B caps consecutive failures at 100).
    pub max_consecutive_failures: u32,
}

impl Default for OtpPolicy {
    fn default() -> Self {
        OtpPolicy { max_failures: 10, failure_window: 3_600_000, lock_duration: 900_000, max_consecutive_failures: 100 }
    }
}

/// How to issue one code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssueRules {
    /// Digits.
    pub length: u32,
    /// Lifetime in milliseconds.
    pub lifetime: Millis,
    /// Confirmations allowed, the right one included.
    pub max_attempts: u32,
    /// Resend cooldown and hourly cap.
    pub limits: IssueLimits,
}

/// Why a code could not be issued or checked.
#[derive(Debug, thiserror::Error)]
pub enum OtpError {
    /// The OS random source failed.
    #[error("the system random source failed: {0}")]
    Random(String),
    /// Too many codes asked for.
    #[error("too many codes were requested for this user; try again in {} s", (.retry_after + 999) / 1000)]
    RateLimited {
        /// Milliseconds until the next code may be issued.
        retry_after: Millis,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a code is bound to besides its user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding<'a> {
    /// What the code is for (a step setting; by default the component's name): a user holds one
    /// code per purpose, and a code confirms only for its purpose.
    pub purpose: &'a str,
    /// The client it is issued to: it confirms only from there.
    pub client: &'a str,
}

/// The scope in which failed confirmations are counted and locked: per user, whatever the
/// client or purpose, so that naming other clients buys no more guesses.
pub const CONFIRM_SCOPE: &str = "code";

/// Where Get one-time code for user writes the challenge id of the code it issued.
pub const CHALLENGE_FIELD: &str = "_otpChallenge";

/// A code just issued: the code (for the step that hands it on) and its challenge id (not
/// secret: it names the code, so that a confirmation can ask for this one code only).
#[derive(Debug)]
pub struct IssuedCode {
    /// The code.
    pub code: Code,
    /// The challenge id.
    pub challenge: String,
}

/// Issues a new code for `user` bound to `binding`, voiding the user's earlier code for the
/// same purpose. `factors` are what the user proved before in the same run (a password): a
/// session opened when the code is confirmed is earned with them too.
pub fn issue(
    services: &Services,
    user: &User,
    binding: Binding<'_>,
    rules: &IssueRules,
    factors: Vec<Factor>,
) -> Result<IssuedCode, OtpError> {
    let Binding { purpose, client } = binding;
    let code = generate_code(rules.length)?;
    let id = crate::new_uuid();
    let now = services.clock.now();
    let new = NewCode {
        mac: services.keys.hash(&id, &user.id, client, &code),
        id,
        user_id: user.id.clone(),
        purpose: purpose.to_owned(),
        client: client.to_owned(),
        key_id: services.keys.current_id().to_owned(),
        length: code.0.len() as u32,
        issued_at: now,
        expires_at: now + rules.lifetime,
        max_attempts: rules.max_attempts,
        factors,
    };
    match services.store.issue_code(&new, &rules.limits)? {
        Issued::Stored => {
            tracing::info!(user = %user.id, purpose, client = %crate::log_text(client), challenge = %new.id, "one-time code issued");
            Ok(IssuedCode { code, challenge: new.id })
        }
        Issued::Limited { retry_after } => {
            let client = crate::log_text(client);
            tracing::info!(user = %user.id, purpose, %client, retry_after, "one-time code refused: rate limit");
            Err(OtpError::RateLimited { retry_after })
        }
    }
}

/// Why a confirmation failed. Never shown to the person who typed the code (they all see
/// "invalid or expired code"); kept in traces and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Rejection {
    /// Not digits of the code's length (after trimming spaces and quotes).
    Malformed,
    /// Digits, but not the code.
    Wrong,
    /// Past its lifetime.
    Expired,
    /// Already confirmed.
    Used,
    /// Its attempts are spent.
    TooManyAttempts,
    /// Issued for another client.
    WrongClient,
    /// The user's newest code is for another purpose (another component, by default).
    OtherPurpose,
    /// The user has no code.
    NoCode,
    /// The confirmation asked for another code (by its challenge id) than the user's live one.
    OtherChallenge,
    /// Too many failures for this user lately.
    Locked,
}

impl Rejection {
    /// The reason in words, for traces and logs.
    pub fn reason(self) -> &'static str {
        match self {
            Rejection::Malformed => "the input is not a code of the right length",
            Rejection::Wrong => "wrong code",
            Rejection::Expired => "the code expired",
            Rejection::Used => "the code was already used",
            Rejection::TooManyAttempts => "too many attempts on this code",
            Rejection::WrongClient => "the code was issued for another client",
            Rejection::OtherPurpose => "the code was issued for another purpose",
            Rejection::NoCode => "no code was issued for this user",
            Rejection::OtherChallenge => "the challenge names no live code of this user",
            Rejection::Locked => "confirmation is locked after too many failures",
        }
    }
}

/// The one message every failed confirmation shows.
pub const REJECTED: &str = "invalid or expired code";

/// Trims surrounding whitespace and quotes; returns the digits when they are `length` ASCII
/// digits, else `None`.
pub fn normalize(typed: &Value, length: u32) -> Option<String> {
    let text = typed.as_str()?;
    if text.len() > 64 {
        return None;
    }
    let text = text.trim_matches(|c: char| c.is_whitespace() || c == '"' || c == '\'');
    (text.len() == length as usize && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.to_owned())
}

/// Whose failure is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    /// A user, by id: failures in a row also count towards the lock only a builder lifts.
    User(&'a str),
    /// A name no user has (its fingerprint): only the window counts, so that names made up by
    /// the million leave no lasting rows.
    Unknown(&'a str),
}

/// Counts a failure of `subject` in `scope` (such as a user's code confirmations) and, when
/// the failures of the policy's window exceed its maximum, locks the subject in that scope for
/// the policy's lock duration; a user whose failures in a row in one scope reach the policy's
/// `max_consecutive_failures` is locked out of code confirmations and password logins until
/// a builder unlocks them. Returns whether it
/// locked. Shared by code confirmations and password logins.
pub fn count_failure(services: &Services, subject: Subject<'_>, scope: &str, now: Millis) -> Result<bool, StoreError> {
    let policy = &services.otp;
    let (Subject::User(key) | Subject::Unknown(key)) = subject;
    let store = &services.store;
    if let Subject::User(id) = subject
        && store.add_consecutive_failure(id, scope)? >= policy.max_consecutive_failures
    {
        tracing::warn!(user = %id, scope, "locked after too many failures in a row, until a builder unlocks");
        for scope in [CONFIRM_SCOPE, crate::passwords::LOGIN_SCOPE] {
            store.lock(id, scope, Millis::MAX)?;
        }
        return Ok(true);
    }
    let failures = store.record_failure(key, scope, now, now - policy.failure_window)?;
    let lock = failures > policy.max_failures;
    if lock {
        store.lock(key, scope, now + policy.lock_duration)?;
    }
    Ok(lock)
}

/// Confirms the code `typed` for `user` and `binding` (and, when `challenge` is given, only
/// the code of that challenge id). Returns the factors the user has now proved: those proved
/// before the code was issued, and the code.
pub fn confirm(
    services: &Services,
    user: &User,
    binding: Binding<'_>,
    challenge: Option<&str>,
    typed: &Value,
) -> Result<Vec<Factor>, ConfirmError> {
    let Binding { purpose, client } = binding;
    let store = &services.store;
    let now = services.clock.now();
    let verdict = if store.locked_until(&user.id, CONFIRM_SCOPE, now)?.is_some() {
        Err(Rejection::Locked)
    } else {
        check(services, user, binding, challenge, typed, now)?
    };
    match verdict {
        Ok(mut factors) => {
            store.clear_failures(&user.id, CONFIRM_SCOPE)?;
            tracing::info!(user = %user.id, purpose, client = %crate::log_text(client), "one-time code confirmed");
            factors.push(Factor { method: AuthMethod::Otp, at: now });
            Ok(factors)
        }
        Err(rejection) => {
            if rejection != Rejection::Locked && count_failure(services, Subject::User(&user.id), CONFIRM_SCOPE, now)? {
                tracing::warn!(user = %user.id, "one-time code confirmation locked");
            }
            let (client, reason) = (crate::log_text(client), rejection.reason());
            tracing::info!(user = %user.id, purpose, %client, reason, "one-time code rejected");
            Err(ConfirmError::Rejected(rejection))
        }
    }
}

/// Does for `name`, which is no active user's, the work of issuing a code — a code drawn, its keyed
/// hash, a round trip to the store's code slots (that changes nothing) — before the caller
/// refuses, so that the time of the answer tells no one whether the user exists.
pub fn work_for_unknown(
    services: &Services,
    name: &str,
    binding: Binding<'_>,
    rules: &IssueRules,
) -> Result<(), OtpError> {
    let subject = format!("name:{}", crate::fingerprint(&name.to_lowercase()));
    let code = generate_code(rules.length)?;
    let _ = services.keys.hash("", &subject, binding.client, &code);
    services.store.attempt_code(&subject, binding.purpose)?;
    Ok(())
}

/// Refuses a confirmation for `name`, which is no user's, after the work a confirmation for a
/// user does — a lock looked up, a counted attempt on a code slot, a keyed hash, a failure
/// counted in the hourly window (under the name's fingerprint, which locks as a user does) — so that the answer and its time tell no one whether
/// the user exists.
pub fn refuse_unknown(services: &Services, name: &str, binding: Binding<'_>, typed: &Value) -> Result<(), StoreError> {
    let subject = format!("name:{}", crate::fingerprint(&name.to_lowercase()));
    let now = services.clock.now();
    // Locked like a user after as many failures, and then as quick to refuse.
    if services.store.locked_until(&subject, CONFIRM_SCOPE, now)?.is_some() {
        return Ok(());
    }
    // No code is stored under a name's fingerprint: the attempt changes nothing.
    services.store.attempt_code(&subject, binding.purpose)?;
    let stand_in = StoredCode {
        id: String::new(),
        purpose: binding.purpose.to_owned(),
        client: binding.client.to_owned(),
        key_id: services.keys.current_id().to_owned(),
        mac: Vec::new(),
        length: 6,
        expires_at: now,
        attempts: 1,
        max_attempts: 1,
        status: CodeStatus::Live,
        factors: Vec::new(),
    };
    let typed = normalize(typed, stand_in.length).unwrap_or_default();
    let _ = services.keys.verify(&stand_in, &subject, &typed);
    count_failure(services, Subject::Unknown(&subject), CONFIRM_SCOPE, now)?;
    tracing::info!(subject = %subject, reason = Rejection::NoCode.reason(), "one-time code rejected");
    Ok(())
}

/// The verdict on one attempt; the outer error is the store's.
fn check(
    services: &Services,
    user: &User,
    Binding { purpose, client }: Binding<'_>,
    challenge: Option<&str>,
    typed: &Value,
    now: Millis,
) -> Result<Result<Vec<Factor>, Rejection>, StoreError> {
    let store = &services.store;
    let Some(code) = store.attempt_code(&user.id, purpose)? else {
        return Ok(Err(match store.newest_code(&user.id)? {
            Some(newest) if newest.purpose != purpose => Rejection::OtherPurpose,
            Some(newest) if newest.status == CodeStatus::Used => Rejection::Used,
            _ => Rejection::NoCode,
        }));
    };
    if challenge.is_some_and(|challenge| challenge != code.id) {
        return Ok(Err(Rejection::OtherChallenge));
    }
    if code.client != client {
        return Ok(Err(Rejection::WrongClient));
    }
    if now >= code.expires_at {
        return Ok(Err(Rejection::Expired));
    }
    if code.attempts > code.max_attempts {
        return Ok(Err(Rejection::TooManyAttempts));
    }
    let Some(typed) = normalize(typed, code.length) else { return Ok(Err(Rejection::Malformed)) };
    if !services.keys.verify(&code, &user.id, &typed) {
        return Ok(Err(Rejection::Wrong));
    }
    Ok(if store.consume_code(&user.id, purpose, &code.id, now)? { Ok(code.factors) } else { Err(Rejection::Used) })
}

/// Why [`confirm`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    /// The code was refused; the reason is for traces only.
    #[error("{REJECTED}")]
    Rejected(Rejection),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chi-square critical value for 9 degrees of freedom at p = 0.0001: a fair generator
    /// fails one position in 10,000 runs; a biased one (`% 9`, dropped leading zeros) always.
    const CHI2_9DF_P0001: f64 = 33.72;

    #[test]
    fn codes_are_uniform_over_every_position_and_keep_leading_zeros() {
        const N: usize = 100_000;
        let mut counts = [[0u32; 10]; 6];
        let mut leading_zeros = 0;
        for _ in 0..N {
            let code = generate_code(6).unwrap();
            let digits = code.expose().as_bytes();
            assert_eq!(digits.len(), 6);
            leading_zeros += usize::from(digits[0] == b'0');
            for (position, d) in digits.iter().enumerate() {
                assert!(d.is_ascii_digit());
                counts[position][usize::from(d - b'0')] += 1;
            }
        }
        let expected = N as f64 / 10.0;
        for (position, bins) in counts.iter().enumerate() {
            let chi2: f64 = bins.iter().map(|&c| (f64::from(c) - expected).powi(2) / expected).sum();
            assert!(chi2 < CHI2_9DF_P0001, "position {position}: chi-square {chi2:.1} for {bins:?}");
        }
        // 10% ± 5 standard deviations (σ ≈ 95).
        assert!((9_525..=10_475).contains(&leading_zeros), "{leading_zeros} codes start with 0");
    }

    #[test]
    fn every_length_from_6_to_10_is_honoured() {
        for length in CODE_LENGTHS {
            let code = generate_code(length).unwrap();
            assert_eq!(code.expose().len(), length as usize);
        }
        assert_eq!(format!("{:?}", generate_code(6).unwrap()), "Code([redacted])");
    }

    #[test]
    fn the_hash_covers_challenge_user_client_code_and_key() {
        let keys = CodeKeys::from_secret("0123456789abcdef0123456789abcdef").unwrap();
        let code = Code("123456".into());
        let base = keys.hash("c1", "u1", "web", &code);
        let other_key = CodeKeys::from_secret("fedcba9876543210fedcba9876543210").unwrap();
        let variants = [
            keys.hash("c2", "u1", "web", &code),
            keys.hash("c1", "u2", "web", &code),
            keys.hash("c1", "u1", "app", &code),
            keys.hash("c1", "u1", "web", &Code("123457".into())),
            other_key.hash("c1", "u1", "web", &code),
            // Fields are length-prefixed, so moving a boundary changes the hash.
            keys.hash("c1u", "1", "web", &code),
        ];
        assert_eq!(base.len(), 32);
        for v in variants {
            assert_ne!(v, base);
        }
        assert!(!format!("{keys:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn typed_codes_are_trimmed_of_spaces_and_quotes_only() {
        let ok = |s: &str| normalize(&Value::from(s), 6);
        assert_eq!(ok(" \"012345\"\n").as_deref(), Some("012345"));
        assert_eq!(ok("'012345'").as_deref(), Some("012345"));
        for bad in ["12345", "1234567", "123 456", "12345a", "１２３４５６", "+12345", "12345\u{200b}6", ""] {
            assert_eq!(ok(bad), None, "{bad:?}");
        }
        assert_eq!(normalize(&Value::from(123456), 6), None);
        assert_eq!(normalize(&Value::from("1".repeat(1_000_000)), 6), None);
    }

    #[test]
    fn secrets_must_be_long_and_key_files_are_private() {
        assert!(matches!(CodeKeys::from_secret("short"), Err(KeyError::TooShort(5))));
        let plain = CodeKeys::from_secret(&"a".repeat(32)).unwrap_err();
        assert_eq!(
            plain.to_string(),
            "the secret must hold at least 10 different characters (it has 1); generate one with `openssl rand -hex 32`"
        );
        assert!(matches!(CodeKeys::from_secret(&"abc123".repeat(8)), Err(KeyError::TooPlain(6))));
        assert!(CodeKeys::from_secret("0123456789abcdef0123456789abcdef").is_ok());
        // A folder the key file's creation makes (from_file creates missing folders), inside a
        // temporary one removed however the test ends.
        let temporary = tempfile::tempdir().unwrap();
        let path = temporary.path().join("keys").join("sluice.key");
        let first = CodeKeys::from_file(&path).unwrap();
        let again = CodeKeys::from_file(&path).unwrap();
        assert_eq!(first.current_id(), again.current_id(), "the key file is reused");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            let folder = path.parent().unwrap();
            assert_eq!(std::fs::metadata(folder).unwrap().permissions().mode() & 0o777, 0o700);
            // A key file that others can read is no secret: refused, saying how to fix it.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let open = CodeKeys::from_file(&path).unwrap_err().to_string();
            assert!(open.contains("can be read or written by others (mode 644): run `chmod 600 "), "{open}");
        }
    }
}
