//! The confirm step's reading of a typed code: arbitrary JSON (or text) as typed, for code
//! lengths 4 to 10. What it accepts must be exactly `length` ASCII digits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|bytes: &[u8]| {
    let typed: Value =
        serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()));
    for length in 4..=10 {
        if let Some(code) = sluice::otp::normalize(&typed, length) {
            assert_eq!(code.len(), length as usize);
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }
});
