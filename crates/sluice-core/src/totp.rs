//! One-time passwords from a shared secret: HOTP (RFC 4226) and TOTP (RFC 6238), the codes of
//! authenticator apps. This module computes and compares codes; enrolment, keeping the secret
//! and refusing a code used twice are the store's and the steps' (issue 21).

use hmac::{Hmac, KeyInit, Mac};
use subtle::ConstantTimeEq;

/// The HMAC an authenticator computes (RFC 6238 §1.2); apps default to SHA-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC-SHA-1, what every authenticator app supports.
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

/// The fewest digits a code has (RFC 4226 R4) and the most an app shows.
pub const DIGITS: std::ops::RangeInclusive<u32> = 6..=8;

/// The HOTP value of `key` at `counter`, `digits` long with its leading zeros (RFC 4226 §5.3).
pub fn hotp(key: &[u8], counter: u64, digits: u32, algorithm: Algorithm) -> String {
    let message = counter.to_be_bytes();
    let hash = match algorithm {
        Algorithm::Sha1 => mac::<Hmac<sha1::Sha1>>(key, &message),
        Algorithm::Sha256 => mac::<Hmac<sha2::Sha256>>(key, &message),
        Algorithm::Sha512 => mac::<Hmac<sha2::Sha512>>(key, &message),
    };
    // Dynamic truncation: 31 bits from the offset the last nibble gives.
    let offset = usize::from(hash[hash.len() - 1] & 0x0f);
    let bits = u32::from_be_bytes([hash[offset], hash[offset + 1], hash[offset + 2], hash[offset + 3]]) & 0x7fff_ffff;
    let digits = digits.clamp(*DIGITS.start(), *DIGITS.end());
    format!("{:0width$}", bits % 10u32.pow(digits), width = digits as usize)
}

fn mac<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length.
    let mut mac = <M as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// The time step of `unix_seconds` in steps of `period` seconds from the epoch (RFC 6238 §4.2,
/// T0 = 0); a 64-bit counter, so times past 2038 and 2106 count on.
pub fn time_step(unix_seconds: u64, period: u64) -> u64 {
    unix_seconds / period.max(1)
}

/// The time step among `now`'s and its `skew` neighbours on each side whose code is `typed`,
/// compared in constant time with each; `None` when none matches. Refusing a step already
/// used is the caller's (RFC 6238 §5.2).
pub fn matching_step(
    key: &[u8],
    typed: &str,
    now: u64,
    period: u64,
    digits: u32,
    algorithm: Algorithm,
    skew: u64,
) -> Option<u64> {
    let current = time_step(now, period);
    let mut found = None;
    for step in current.saturating_sub(skew)..=current.saturating_add(skew) {
        let code = hotp(key, step, digits, algorithm);
        // Every candidate is compared, whichever matched.
        if bool::from(code.as_bytes().ct_eq(typed.as_bytes())) {
            found = Some(step);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_20: &[u8] = b"12345678901234567890";

    #[test]
    fn hotp_gives_the_rfc_4226_appendix_d_values() {
        let expected =
            ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(hotp(SEED_20, counter as u64, 6, Algorithm::Sha1), *code, "counter {counter}");
        }
    }

    #[test]
    fn totp_gives_the_rfc_6238_appendix_b_values() {
        // Each algorithm with a seed as long as its hash (RFC 6238 erratum 2866).
        let sha256 = b"12345678901234567890123456789012";
        let sha512 = b"1234567890123456789012345678901234567890123456789012345678901234";
        let table: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1_111_111_109, "07081804", "68084774", "25091201"),
            (1_111_111_111, "14050471", "67062674", "99943326"),
            (1_234_567_890, "89005924", "91819424", "93441116"),
            (2_000_000_000, "69279037", "90698825", "38618901"),
            (20_000_000_000, "65353130", "77737706", "47863826"),
        ];
        for (time, with_sha1, with_sha256, with_sha512) in table {
            let step = time_step(time, 30);
            assert_eq!(hotp(SEED_20, step, 8, Algorithm::Sha1), with_sha1, "SHA-1 at {time}");
            assert_eq!(hotp(sha256, step, 8, Algorithm::Sha256), with_sha256, "SHA-256 at {time}");
            assert_eq!(hotp(sha512, step, 8, Algorithm::Sha512), with_sha512, "SHA-512 at {time}");
        }
    }

    #[test]
    fn a_code_matches_within_one_step_of_skew_and_not_beyond() {
        let now = 1_234_567_890;
        let step = time_step(now, 30);
        let at = |s: u64| hotp(SEED_20, s, 6, Algorithm::Sha1);
        let check = |typed: &str| matching_step(SEED_20, typed, now, 30, 6, Algorithm::Sha1, 1);
        assert_eq!(check(&at(step)), Some(step));
        assert_eq!(check(&at(step - 1)), Some(step - 1), "a step late (clock behind, slow typing)");
        assert_eq!(check(&at(step + 1)), Some(step + 1), "a step early");
        assert_eq!(check(&at(step - 2)), None);
        assert_eq!(check(&at(step + 2)), None);
        assert_eq!(check(""), None);
        assert_eq!(check(&format!("{} ", at(step))), None, "the code exactly, nothing around it");
    }
}
