//! Durations written in component files: whole seconds or text such as `"5m"`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::plugin::{BuildContext, BuildError};

/// A duration setting: whole seconds (`300`) or text such as `"5m"`, `"90s"` or `"1m 30s"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum DurationSetting {
    /// Seconds.
    Seconds(u64),
    /// A duration such as `5m` or `90s`.
    Text(String),
}

impl DurationSetting {
    /// The duration in milliseconds; `None` when the text is not a duration.
    pub fn millis(&self) -> Option<Millis> {
        match self {
            DurationSetting::Seconds(s) => i64::try_from(*s).ok().and_then(|s| s.checked_mul(1000)),
            DurationSetting::Text(text) => {
                humantime::parse_duration(text.trim()).ok().and_then(|d| i64::try_from(d.as_millis()).ok())
            }
        }
    }

    /// The duration in milliseconds, or why it is not one in `min..=max`.
    pub fn within(&self, min: Millis, max: Millis) -> Result<Millis, (String, String)> {
        let hint =
            format!("write seconds (such as 300) or a duration (such as \"5m\") from {} to {}", show(min), show(max));
        match self.millis() {
            Some(ms) if (min..=max).contains(&ms) => Ok(ms),
            Some(ms) => Err((format!("{} is outside {} to {}", show(ms), show(min), show(max)), hint)),
            None => Err(("this is not a duration".to_owned(), hint)),
        }
    }

    /// Checks that the setting `setting` lies in `min..=max` (milliseconds) and returns it.
    pub fn check(
        &self,
        setting: &str,
        min: Millis,
        max: Millis,
        cx: &mut BuildContext<'_>,
    ) -> Result<Millis, BuildError> {
        self.within(min, max).map_err(|(message, hint)| cx.invalid(setting, message, Some(hint)))
    }
}

/// A duration as people read it: `5 min`, `90 s`, `250 ms`.
pub fn show(ms: Millis) -> String {
    match ms {
        ms if ms % 60_000 == 0 && ms > 0 => format!("{} min", ms / 60_000),
        ms if ms % 1000 == 0 => format!("{} s", ms / 1000),
        ms => format!("{ms} ms"),
    }
}
