//! How two model values compare: one rule for Filter source and Query entity by filter.

use std::cmp::Ordering;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Operator {
    /// The field equals the value.
    Equal,
    /// The field differs from the value.
    NotEqual,
    /// The field is greater than the value.
    Greater,
    /// The field is less than the value.
    Less,
}

impl Operator {
    /// Whether the operator orders values (and so cannot compare with `null`).
    pub fn orders(self) -> bool {
        matches!(self, Operator::Greater | Operator::Less)
    }

    /// Whether `field` passes the comparison with `value` (a missing field is `null`).
    pub fn admits(self, field: &Value, value: &Value) -> bool {
        let order = order(field, value);
        match self {
            Operator::Equal => order == Some(Ordering::Equal),
            Operator::NotEqual => order != Some(Ordering::Equal),
            Operator::Greater => order == Some(Ordering::Greater),
            Operator::Less => order == Some(Ordering::Less),
        }
    }
}

/// Orders two JSON values; `None` when they cannot be ordered (different kinds). Numbers
/// compare as numbers (a numeric string counts as a number), strings in text order (ISO dates
/// sort correctly), `false` before `true`.
pub fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(_), _) | (_, Value::Number(_)) => as_number(a)?.partial_cmp(&as_number(b)?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        _ => (a == b).then_some(Ordering::Equal),
    }
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
