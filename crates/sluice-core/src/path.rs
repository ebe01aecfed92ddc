//! Model paths such as `data.UserName` or `_user.id`, parsed once at load.

use std::fmt;

use serde_json::{Map, Value};

/// A dot-separated path into an item; a numeric segment also indexes arrays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    text: String,
    segments: Vec<String>,
}

/// Why a path could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The text is empty.
    #[error("the path is empty")]
    Empty,
    /// Two dots in a row, or a dot at either end.
    #[error("the path \"{0}\" has an empty segment")]
    EmptySegment(String),
}

impl FieldPath {
    /// Parses `a.b.c`. A segment may carry a script's type suffix (`_is_archieved@boolean`):
    /// it names the field the script wrote, which is stored without the suffix.
    pub fn parse(text: &str) -> Result<FieldPath, PathError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(PathError::Empty);
        }
        let bare = |segment: &str| crate::types::split_suffix(segment).map_or(segment, |(bare, _)| bare).to_owned();
        let segments: Vec<String> = trimmed.split('.').map(bare).collect();
        if segments.iter().any(String::is_empty) {
            return Err(PathError::EmptySegment(trimmed.to_owned()));
        }
        Ok(FieldPath { text: trimmed.to_owned(), segments })
    }

    /// The segments, in order.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// The value at this path, if there is one.
    pub fn get<'v>(&self, item: &'v Map<String, Value>) -> Option<&'v Value> {
        let (first, rest) = self.segments.split_first()?;
        let mut value = item.get(first)?;
        for segment in rest {
            value = match value {
                Value::Object(map) => map.get(segment)?,
                Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(value)
    }

    /// The value at this path, to change in place, if there is one.
    pub fn get_mut<'v>(&self, item: &'v mut Map<String, Value>) -> Option<&'v mut Value> {
        let (first, rest) = self.segments.split_first()?;
        let mut value = item.get_mut(first)?;
        for segment in rest {
            value = match value {
                Value::Object(map) => map.get_mut(segment)?,
                Value::Array(items) => items.get_mut(segment.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(value)
    }

    /// Writes `value` at this path, creating objects on the way.
    ///
    /// Fails, naming the segment, when a value on the way is neither an object nor an array
    /// (or an array index is out of range).
    pub fn set(&self, item: &mut Map<String, Value>, value: Value) -> Result<(), String> {
        let Some((last, parents)) = self.segments.split_last() else {
            return Err(PathError::Empty.to_string());
        };
        let mut map = item;
        for (depth, segment) in parents.iter().enumerate() {
            let slot = map.entry(segment.clone()).or_insert_with(|| Value::Object(Map::new()));
            if slot.is_null() {
                *slot = Value::Object(Map::new());
            }
            map = match slot {
                Value::Object(inner) => inner,
                other => {
                    return Err(format!(
                        "cannot write \"{}\": \"{}\" holds {}, not an object",
                        self.text,
                        self.segments[..=depth].join("."),
                        crate::types::describe(other)
                    ));
                }
            };
        }
        map.insert(last.clone(), value);
        Ok(())
    }

    /// Removes and returns the value at this path.
    pub fn remove(&self, item: &mut Map<String, Value>) -> Option<Value> {
        let (last, parents) = self.segments.split_last()?;
        let mut map = item;
        for segment in parents {
            map = map.get_mut(segment)?.as_object_mut()?;
        }
        map.remove(last)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn parses_and_rejects() {
        assert_eq!(FieldPath::parse(" data.X ").unwrap().segments(), ["data", "X"]);
        assert_eq!(FieldPath::parse(""), Err(PathError::Empty));
        assert_eq!(FieldPath::parse("a..b"), Err(PathError::EmptySegment("a..b".into())));
        assert!(FieldPath::parse(".a").is_err());
    }

    #[test]
    fn a_typed_name_reads_the_field_the_script_wrote() {
        let path = FieldPath::parse("_is_archieved@boolean").unwrap();
        assert_eq!(path.segments(), ["_is_archieved"]);
        assert_eq!(path.to_string(), "_is_archieved@boolean", "messages show the path as written");
        assert_eq!(path.get(&item(json!({"_is_archieved": false}))), Some(&json!(false)));
        assert_eq!(FieldPath::parse("data.n@date-time").unwrap().segments(), ["data", "n"]);
        // An unknown suffix is part of the name.
        assert_eq!(FieldPath::parse("mail@example").unwrap().segments(), ["mail@example"]);
    }

    #[test]
    fn gets_through_objects_and_arrays() {
        let it = item(json!({"data": {"lines": [{"q": 2}]}}));
        assert_eq!(FieldPath::parse("data.lines.0.q").unwrap().get(&it), Some(&json!(2)));
        assert_eq!(FieldPath::parse("data.lines.9.q").unwrap().get(&it), None);
        assert_eq!(FieldPath::parse("data.nope").unwrap().get(&it), None);
    }

    #[test]
    fn sets_creating_parents_and_refuses_scalars() {
        let mut it = item(json!({"data": {"n": 1}, "x": null}));
        FieldPath::parse("data.a.b").unwrap().set(&mut it, json!(true)).unwrap();
        FieldPath::parse("x.y").unwrap().set(&mut it, json!(1)).unwrap();
        assert_eq!(Value::Object(it.clone()), json!({"data": {"n": 1, "a": {"b": true}}, "x": {"y": 1}}));
        let err = FieldPath::parse("data.n.z").unwrap().set(&mut it, json!(1)).unwrap_err();
        assert_eq!(err, "cannot write \"data.n.z\": \"data.n\" holds 1, not an object");
    }

    #[test]
    fn removes() {
        let mut it = item(json!({"data": {"a": 1, "b": 2}}));
        assert_eq!(FieldPath::parse("data.a").unwrap().remove(&mut it), Some(json!(1)));
        assert_eq!(FieldPath::parse("data.zz.q").unwrap().remove(&mut it), None);
        assert_eq!(Value::Object(it), json!({"data": {"b": 2}}));
    }
}

/// A setting that reads a model field (a path string such as `data.UserName`) or gives a
/// literal (`{"value": "workplace"}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum FieldOrValue {
    /// A model path, such as `data.UserName` or `_user`.
    Field(String),
    /// A fixed value.
    Value(Literal),
}

/// A fixed value given in the settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Literal {
    /// The value itself.
    pub value: String,
}

/// A checked [`FieldOrValue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueSource {
    /// Read from the item.
    Field(FieldPath),
    /// Fixed.
    Value(String),
}

impl ValueSource {
    /// The text this source gives for `item`: a string, a number's digits, or the `id` of an
    /// object (so `_user` names the user found by Get user info). `None` when empty.
    pub fn resolve(&self, item: &Map<String, Value>) -> Option<String> {
        let value = match self {
            ValueSource::Value(text) => return Some(text.clone()).filter(|t| !t.is_empty()),
            ValueSource::Field(path) => path.get(item)?,
        };
        match value {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
            Value::Number(n) => Some(n.to_string()),
            Value::Object(map) => map.get("id").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        }
    }
}

impl fmt::Display for ValueSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueSource::Field(path) => write!(f, "the field {path}"),
            ValueSource::Value(text) => write!(f, "\"{text}\""),
        }
    }
}
