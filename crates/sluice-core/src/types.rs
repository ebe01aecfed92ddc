//! Aqtra value types: what a definition's `type` and a script key's `@type` suffix mean.

use serde_json::{Value, json};

/// A value type of the Aqtra model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// Text.
    String,
    /// Any JSON number.
    Number,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// An RFC 3339 date and time with offset.
    DateTime,
    /// A time of day, `HH:MM[:SS[.fff]]`.
    Time,
    /// A UUID in its hyphenated form.
    Uuid,
    /// An absolute URI.
    Uri,
    /// A JSON array.
    Array,
}

impl ValueType {
    /// Every type, in the order the docs list them.
    pub const ALL: [ValueType; 10] = [
        ValueType::String,
        ValueType::Number,
        ValueType::Integer,
        ValueType::Boolean,
        ValueType::Date,
        ValueType::DateTime,
        ValueType::Time,
        ValueType::Uuid,
        ValueType::Uri,
        ValueType::Array,
    ];

    /// The type of a script key suffix such as `string` in `new_code@string`.
    pub fn from_suffix(suffix: &str) -> Option<ValueType> {
        ValueType::ALL.into_iter().find(|t| t.suffix() == suffix)
    }

    /// The suffix name (`date-time` for [`ValueType::DateTime`]).
    pub fn suffix(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::Number => "number",
            ValueType::Integer => "integer",
            ValueType::Boolean => "boolean",
            ValueType::Date => "date",
            ValueType::DateTime => "date-time",
            ValueType::Time => "time",
            ValueType::Uuid => "uuid",
            ValueType::Uri => "uri",
            ValueType::Array => "array",
        }
    }

    /// The JSON Schema a value of this type satisfies (formats are asserted).
    pub fn json_schema(self) -> Value {
        match self {
            ValueType::String => json!({"type": "string"}),
            ValueType::Number => json!({"type": "number"}),
            ValueType::Integer => json!({"type": "integer"}),
            ValueType::Boolean => json!({"type": "boolean"}),
            ValueType::Date => json!({"type": "string", "format": "date"}),
            ValueType::DateTime => json!({"type": "string", "format": "date-time"}),
            ValueType::Time => {
                json!({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\\.[0-9]+)?)?$"})
            }
            ValueType::Uuid => json!({"type": "string", "format": "uuid"}),
            ValueType::Uri => json!({"type": "string", "format": "uri"}),
            ValueType::Array => json!({"type": "array"}),
        }
    }
}

/// Compiled checks for every [`ValueType`]; build once and share.
pub struct TypeCheckers {
    validators: Vec<jsonschema::Validator>,
}

impl std::fmt::Debug for TypeCheckers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TypeCheckers")
    }
}

impl TypeCheckers {
    /// Compiles the schema of every type.
    pub fn new() -> Result<Self, String> {
        let validators =
            ValueType::ALL.iter().map(|t| compile_with_formats(&t.json_schema())).collect::<Result<_, _>>()?;
        Ok(TypeCheckers { validators })
    }

    /// Converts `value` to type `ty` where a lossless conversion exists, or explains why not.
    ///
    /// `null` stays `null` (every field may be empty). Strings are parsed into numbers and
    /// booleans; numbers and booleans become their text for `string`.
    pub fn coerce(&self, ty: ValueType, value: Value) -> Result<Value, String> {
        let converted = match (ty, value) {
            (_, Value::Null) => return Ok(Value::Null),
            (ValueType::String, Value::Number(n)) => Value::String(n.to_string()),
            (ValueType::String, Value::Bool(b)) => Value::String(b.to_string()),
            (ValueType::Number, Value::String(s)) => parse_number(&s)
                .filter(|n| n.is_f64() || n.is_i64() || n.is_u64())
                .map(Value::Number)
                .ok_or_else(|| format!("\"{}\" is not a number", clip(&s)))?,
            (ValueType::Integer, Value::String(s)) => {
                s.trim().parse::<i64>().map(Value::from).map_err(|_| format!("\"{}\" is not an integer", clip(&s)))?
            }
            (ValueType::Integer, Value::Number(n))
                if n.as_f64().is_some_and(|f| f.fract() == 0.0 && f.abs() < 9.0e15) =>
            {
                n.as_i64().map_or_else(|| Value::from(n.as_f64().unwrap_or_default() as i64), Value::from)
            }
            (ValueType::Boolean, Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => return Err(format!("\"{}\" is not true or false", clip(&s))),
            },
            (_, other) => other,
        };
        if self.validators[ty as usize].is_valid(&converted) {
            Ok(converted)
        } else {
            Err(format!("{} is not a valid {}", describe(&converted), ty.suffix()))
        }
    }
}

/// Short lines saying where and why `value` fails `validator` (at most `limit`), without echoing
/// whole values.
pub fn schema_violations(validator: &jsonschema::Validator, value: &Value, limit: usize) -> Vec<String> {
    validator
        .iter_errors(value)
        .take(limit)
        .map(|e| {
            let at = e.instance_path().as_str();
            let at = if at.is_empty() { "(root)" } else { at };
            let text = e.to_string();
            let text = if text.len() > 160 { format!("{} is not valid here", describe(e.instance())) } else { text };
            format!("{at}: {text}")
        })
        .collect()
}

/// Compiles a schema with `format` asserted, as Sluice does everywhere.
pub fn compile_with_formats(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::options().should_validate_formats(true).build(schema).map_err(|e| e.to_string())
}

/// Why text may not hold the NUL character (U+0000), as messages say it: PostgreSQL cannot store
/// it, no form can type it, and programs downstream cut text at it. Sluice refuses it where text
/// comes in (action models, component and user files, script results, rendered templates), so
/// every store holds the same values.
pub const NUL_RULE: &str = "text cannot hold the NUL character (U+0000)";

/// The JSON Pointer (below `value`) of the first string or key that holds a NUL character.
pub fn nul_at(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if s.contains('\0') => Some(String::new()),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| nul_at(v).map(|at| format!("/{i}{at}"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let below = if k.contains('\0') { Some(String::new()) } else { nul_at(v) };
            below.map(|at| format!("/{}{at}", k.replace('~', "~0").replace('/', "~1")))
        }),
        _ => None,
    }
}

fn parse_number(text: &str) -> Option<serde_json::Number> {
    let text = text.trim();
    if let Ok(i) = text.parse::<i64>() {
        return Some(i.into());
    }
    text.parse::<f64>().ok().and_then(serde_json::Number::from_f64)
}

/// A short description of a value for error messages (never its whole content).
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("\"{}\"", clip(s)),
        Value::Array(a) => format!("an array of {} element(s)", a.len()),
        Value::Object(_) => "an object".into(),
    }
}

fn clip(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX { s.to_owned() } else { format!("{}…", s.chars().take(MAX).collect::<String>()) }
}

/// Splits Aqtra's typed name `name@type` (`_is_archieved@boolean`) when `type` is a known
/// suffix; scripts store the value under the bare name, and paths read it there.
pub fn split_suffix(key: &str) -> Option<(&str, ValueType)> {
    let (bare, suffix) = key.rsplit_once('@')?;
    (!bare.is_empty()).then_some(())?;
    ValueType::from_suffix(suffix).map(|ty| (bare, ty))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkers() -> TypeCheckers {
        TypeCheckers::new().unwrap()
    }

    #[test]
    fn suffixes_round_trip() {
        for t in ValueType::ALL {
            assert_eq!(ValueType::from_suffix(t.suffix()), Some(t));
        }
        assert_eq!(ValueType::from_suffix("catalog"), None);
    }

    #[test]
    fn converts_losslessly() {
        let c = checkers();
        assert_eq!(c.coerce(ValueType::String, json!(42)), Ok(json!("42")));
        assert_eq!(c.coerce(ValueType::Integer, json!(" 7 ")), Ok(json!(7)));
        assert_eq!(c.coerce(ValueType::Integer, json!(7.0)), Ok(json!(7)));
        assert_eq!(c.coerce(ValueType::Number, json!("2.5")), Ok(json!(2.5)));
        assert_eq!(c.coerce(ValueType::Boolean, json!("TRUE")), Ok(json!(true)));
        assert_eq!(c.coerce(ValueType::Date, json!("2026-11-23")), Ok(json!("2026-11-23")));
        assert_eq!(c.coerce(ValueType::Time, json!("23:59:01.5")), Ok(json!("23:59:01.5")));
        assert_eq!(c.coerce(ValueType::Uri, json!(null)), Ok(json!(null)));
    }

    #[test]
    fn refuses_what_does_not_fit() {
        let c = checkers();
        assert_eq!(c.coerce(ValueType::Integer, json!("4x")), Err("\"4x\" is not an integer".into()));
        assert_eq!(c.coerce(ValueType::Integer, json!(1.5)), Err("1.5 is not a valid integer".into()));
        assert!(c.coerce(ValueType::Date, json!("2026-13-01")).is_err());
        assert!(c.coerce(ValueType::DateTime, json!("yesterday")).is_err());
        assert!(c.coerce(ValueType::Time, json!("24:00")).is_err());
        assert!(c.coerce(ValueType::Uuid, json!("not-a-uuid")).is_err());
        assert!(c.coerce(ValueType::Uri, json!("no scheme")).is_err());
        assert!(c.coerce(ValueType::Array, json!({"a": 1})).is_err());
        assert!(c.coerce(ValueType::String, json!([1])).is_err());
    }

    #[test]
    fn nul_characters_are_found_with_their_pointer() {
        assert_eq!(nul_at(&json!({"data": {"a": "fine", "b/c": ["x", "y\u{0}z"]}})), Some("/data/b~1c/1".into()));
        assert_eq!(nul_at(&json!({"key\u{0}": 1})), Some("/key\u{0}".into()));
        assert_eq!(nul_at(&json!("\u{0}")), Some(String::new()));
        assert_eq!(nul_at(&json!({"data": {"a": "no nul here", "n": 0}})), None);
    }
}
