//! The component file format: the public contract of Sluice.
//!
//! The JSON Schema in `schemas/component.schema.json` is generated from these types.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::duration::DurationSetting;
use crate::types::ValueType;

/// A Sluice component: typed definitions and the dataflows that work on them.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "Sluice component")]
pub struct Component {
    /// The JSON Schema of this file, for editors; ignored by Sluice.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// System name of the component: a letter, then letters, digits, `_`, `-` or `.`.
    #[schemars(regex(pattern = r"^[A-Za-z][A-Za-z0-9_.-]*$"), length(max = 128))]
    pub name: String,
    /// Title shown to people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the component is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The component's fields, by name; items carry their values under `data`.
    #[serde(default)]
    pub definitions: IndexMap<String, Definition>,
    /// Notification templates, by name (used by `send_templated_notification`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub templates: IndexMap<String, NotificationTemplate>,
    /// The dataflows of the component.
    pub dataflows: Vec<Dataflow>,
}

/// A notification template: a subject ("Message theme") and a body per language. English is
/// required; a recipient whose locale has no variant gets the English one.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationTemplate {
    /// English (required, and the fallback).
    pub en: TemplateText,
    /// French.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fr: Option<TemplateText>,
    /// Spanish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub es: Option<TemplateText>,
    /// Portuguese.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pt: Option<TemplateText>,
    /// German.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub de: Option<TemplateText>,
}

impl NotificationTemplate {
    /// The variants present, by language code.
    pub fn variants(&self) -> impl Iterator<Item = (&'static str, &TemplateText)> {
        [
            ("en", Some(&self.en)),
            ("fr", self.fr.as_ref()),
            ("es", self.es.as_ref()),
            ("pt", self.pt.as_ref()),
            ("de", self.de.as_ref()),
        ]
        .into_iter()
        .filter_map(|(lang, text)| text.map(|t| (lang, t)))
    }
}

/// One language of a template, in minijinja (Jinja) syntax; the item is the context
/// (`{{ _oneTimeCode }}`, `{{ _user.firstName }}`, `{{ data.ForTestCode }}`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateText {
    /// The subject ("Message theme").
    #[schemars(length(min = 1))]
    pub subject: String,
    /// The body; HTML-escaped when sent as `Html`.
    #[schemars(length(min = 1))]
    pub body: String,
}

/// One field of the component's model.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Definition {
    /// The value type of the field.
    #[serde(rename = "type")]
    pub kind: DefinitionType,
    /// Title shown to people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the field holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The field must have a value.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// The field is part of the primary key: the primary-key fields' values together are unique
    /// among the component's entries that are not marked for deletion.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub primary_key: bool,
    /// The only values the field may take. A string `value|label` (Aqtra's `0|Under Review`)
    /// gives a value with the label a form shows for it; the value is read as the field's type.
    #[serde(default, rename = "enum", skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub allowed: Option<Vec<Value>>,
    /// The fewest characters a text may have (Aqtra's "Min length").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    /// The most characters a text may have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    /// The smallest number allowed (Aqtra's "Minimal value").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<serde_json::Number>,
    /// The largest number allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<serde_json::Number>,
    /// A regular expression a text must match somewhere (anchor it with `^…$` to match the
    /// whole text), in the syntax of JSON Schema's `pattern`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub pattern: Option<String>,
}

/// One allowed value of a definition, with its label when the file gives one.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    /// The value.
    pub value: Value,
    /// What a form shows for it.
    pub label: Option<String>,
}

impl Definition {
    /// The allowed values with their labels (`None` when any value of the type is allowed).
    /// `"1|Accepted"` on an integer field is the value `1` labelled "Accepted"; a text that
    /// does not read as the type stays as it is (the loader reports it).
    pub fn choices(&self) -> Option<Vec<Choice>> {
        let allowed = self.allowed.as_ref()?;
        Some(allowed.iter().map(|value| self.choice(value)).collect())
    }

    fn choice(&self, written: &Value) -> Choice {
        let Some((value, label)) = written.as_str().and_then(|text| text.split_once('|')) else {
            return Choice { value: written.clone(), label: None };
        };
        let value = match self.kind {
            DefinitionType::Integer | DefinitionType::Number => {
                serde_json::from_str::<serde_json::Number>(value.trim())
                    .map_or_else(|_| Value::from(value), Value::Number)
            }
            DefinitionType::Boolean => match value.trim() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::from(value),
            },
            _ => Value::from(value),
        };
        Choice { value, label: Some(label.trim().to_owned()) }
    }

    /// The JSON Schema of one value of the field: its type and format, allowed values and
    /// constraints (without `null`).
    pub fn value_schema(&self) -> Value {
        let mut schema = self.kind.value_type().json_schema();
        let Some(obj) = schema.as_object_mut() else { return schema };
        if let Some(choices) = self.choices() {
            obj.insert("enum".into(), choices.into_iter().map(|c| c.value).collect());
        }
        for (key, bound) in [("minimum", &self.minimum), ("maximum", &self.maximum)] {
            if let Some(n) = bound {
                obj.insert(key.into(), Value::Number(n.clone()));
            }
        }
        for (key, bound) in [("minLength", self.min_length), ("maxLength", self.max_length)] {
            if let Some(n) = bound {
                obj.insert(key.into(), Value::from(n));
            }
        }
        if let Some(pattern) = &self.pattern {
            // With the type's own pattern (time of day), both must match.
            match obj.remove("pattern") {
                Some(own) => {
                    obj.insert("allOf".into(), json!([{"pattern": own}, {"pattern": pattern}]));
                }
                None => {
                    obj.insert("pattern".into(), Value::from(pattern.as_str()));
                }
            }
        }
        schema
    }
}

/// The type of a definition (the Aqtra property types that make sense without a UI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DefinitionType {
    /// Text.
    String,
    /// Any number.
    Number,
    /// A whole number.
    Integer,
    /// True or false.
    Boolean,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// An RFC 3339 date and time.
    Datetime,
    /// A time of day, `HH:MM[:SS]`.
    Time,
    /// An absolute URI.
    Uri,
    /// A list of values.
    Array,
}

impl DefinitionType {
    /// The value type behind this definition type.
    pub fn value_type(self) -> ValueType {
        match self {
            DefinitionType::String => ValueType::String,
            DefinitionType::Number => ValueType::Number,
            DefinitionType::Integer => ValueType::Integer,
            DefinitionType::Boolean => ValueType::Boolean,
            DefinitionType::Date => ValueType::Date,
            DefinitionType::Datetime => ValueType::DateTime,
            DefinitionType::Time => ValueType::Time,
            DefinitionType::Uri => ValueType::Uri,
            DefinitionType::Array => ValueType::Array,
        }
    }
}

/// A dataflow: stages of steps, run left to right and top to bottom.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Dataflow {
    /// Name of the dataflow, unique in the component (buttons and the API call it by name).
    #[schemars(regex(pattern = r"^[A-Za-z][A-Za-z0-9_.-]*$"), length(max = 128))]
    pub name: String,
    /// Title shown to people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the dataflow does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who may run it through `sluice serve`: `signedIn` (default; a builder token or an end
    /// user's session), `twoFactor` (a builder token or a session earned with a password and a
    /// one-time code), `public` (anyone, such as a sign-in dataflow) or `{"roles": [...]}` (a
    /// builder token or a session of a user holding one of the roles).
    #[serde(default, skip_serializing_if = "Access::is_signed_in")]
    pub access: Access,
    /// The stages, in order.
    pub stages: Vec<Stage>,
}

/// Who may run a dataflow through the server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Access {
    /// A builder token or an end user's session.
    #[default]
    SignedIn,
    /// A builder token or a session earned with a password and a one-time code.
    TwoFactor,
    /// Anyone, without a credential.
    Public,
    /// A builder token, or a session of a user who holds one of these roles in the `system`
    /// context or in this component's (Assign context role for model gives them).
    Roles(#[schemars(length(min = 1), inner(pattern(crate::store::ROLE_NAME_PATTERN)))] Vec<String>),
}

impl Access {
    fn is_signed_in(&self) -> bool {
        *self == Access::SignedIn
    }

    /// Whether everyone this access admits is admitted by `caller`'s too: whether a dataflow
    /// with access `caller` may call one with this access (Execute dataflow) without letting
    /// in someone the called one would turn away.
    pub fn admits_all_admitted_by(&self, caller: &Access) -> bool {
        match (self, caller) {
            (Access::Public, _) => true,
            (Access::SignedIn, caller) => *caller != Access::Public,
            (Access::TwoFactor, caller) => *caller == Access::TwoFactor,
            (Access::Roles(wanted), Access::Roles(held)) => held.iter().all(|role| wanted.contains(role)),
            (Access::Roles(_), _) => false,
        }
    }

    /// The access as the file writes it (`signedIn`, `roles manager, auditor`).
    pub fn describe(&self) -> String {
        match self {
            Access::SignedIn => "signedIn".into(),
            Access::TwoFactor => "twoFactor".into(),
            Access::Public => "public".into(),
            Access::Roles(roles) => format!("roles {}", roles.join(", ")),
        }
    }

    /// Whether a user holding `held` may run a dataflow of `component` with this access (what
    /// the roles ask; the other kinds are the server's to judge from the session).
    pub fn admits_roles(&self, component: &str, held: &[crate::store::Role]) -> bool {
        match self {
            Access::Roles(wanted) => wanted.iter().any(|name| held.iter().any(|role| role.admits(component, name))),
            _ => true,
        }
    }
}

/// A column of steps in the visual editor.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Stage {
    /// Name of the stage.
    #[schemars(length(min = 1))]
    pub name: String,
    /// The steps of the stage, top to bottom.
    pub steps: Vec<StepSpec>,
}

/// One step as written in the file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StepSpec {
    /// Name of the step, unique in its dataflow.
    #[schemars(length(min = 1, max = 128))]
    pub name: String,
    /// The step type id, such as `execute_script` (see `sluice steps`).
    #[serde(rename = "type")]
    #[schemars(length(min = 1))]
    pub step_type: String,
    /// Name of the step whose items this step receives; it must be placed earlier.
    /// Input steps have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub source: Option<String>,
    /// The step type's own settings (see `schemas/steps/<type>.schema.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Map<String, Value>>,
    /// A note for people reading the dataflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What a failure of the step on an item does: `stop` the run (the default), `continue`
    /// without that item, or `route` the item, with its error under `_error`, to the steps
    /// that take this step's error branch.
    #[serde(default, skip_serializing_if = "OnError::is_stop")]
    pub on_error: OnError,
    /// `error`: the step receives its source's error branch (the items the source failed on,
    /// each with `_error`: `step`, `type` and `message`) instead of the items it emits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<Branch>,
    /// Tries again a call the step makes outside Sluice (a mail server, an HTTP API) that
    /// failed for a reason that may pass, waiting longer each time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    /// The longest the step waits for one call outside Sluice (whole seconds or text such as
    /// `"10s"`, up to 5 minutes); a call that takes longer fails as timed out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<DurationSetting>,
}

/// What a step's failure on an item does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum OnError {
    /// The run stops and fails, naming the step (the default).
    #[default]
    Stop,
    /// The item is dropped and the run goes on; the trace counts it.
    Continue,
    /// The item goes, with its error, to the steps that take this step's error branch.
    Route,
}

impl OnError {
    fn is_stop(&self) -> bool {
        *self == OnError::Stop
    }
}

/// Which of its source's outputs a step receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Branch {
    /// The items the source failed on.
    Error,
}

/// The most tries of one outside call, the first included (a step's `retry` or a connector's).
pub const MAX_RETRY_ATTEMPTS: u32 = 10;

/// How a step tries a failed outside call again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Retry {
    /// How many tries in all, the first included (2 to 10).
    #[schemars(range(min = 2, max = MAX_RETRY_ATTEMPTS))]
    pub attempts: u32,
    /// The wait before the second try (default 1 s, up to 1 min); each later wait is twice
    /// the one before, at most 1 min.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<DurationSetting>,
}

/// Lets a field's schema accept `null` too: its type becomes `[type, "null"]` (a format or
/// pattern only constrains strings), so a wrong value is reported against the field's type
/// ("is not of types") rather than as "not valid under any of the schemas" of an `anyOf`.
fn allow_null(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else { return };
    if let Some(Value::String(kind)) = obj.get("type") {
        let kind = Value::String(kind.clone());
        obj.insert("type".into(), json!([kind, "null"]));
    }
    if let Some(Value::Array(allowed)) = obj.get_mut("enum") {
        allowed.push(Value::Null);
    }
}

/// The definitions of a component, by name, in file order.
pub type Definitions = IndexMap<String, Definition>;

/// The JSON Schema that a component's `data` satisfies: each definition's type and format,
/// `enum`, constraints and `required`. Fields that are not required may be `null`; other keys
/// are allowed (system fields such as `Id`).
pub fn data_schema(definitions: &Definitions) -> Value {
    let properties: Map<String, Value> = definitions
        .iter()
        .map(|(name, d)| {
            let mut schema = d.value_schema();
            if !d.required {
                allow_null(&mut schema);
            }
            (name.clone(), schema)
        })
        .collect();
    let required: Vec<&String> = definitions.iter().filter(|(_, d)| d.required).map(|(n, _)| n).collect();
    json!({"type": "object", "properties": properties, "required": required})
}

/// A component file's text naming the component `name`: its top-level `"name"` string
/// replaced, every other byte kept (a rename keeps each version's layout). A text without one
/// comes back as it is; files in a store were validated and have one.
pub fn with_name(source: &str, name: &str) -> String {
    match crate::source::top_level_string(source, "name") {
        Some(span) => format!("{}{}{}", &source[..span.start], Value::from(name), &source[span.end..]),
        None => source.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Choice, Definition};

    #[test]
    fn enum_values_carry_labels_after_a_bar() {
        let status: Definition =
            serde_json::from_value(json!({"type": "integer", "enum": ["0|Under Review", " 1 | Accepted ", 2]}))
                .unwrap();
        let choice = |value, label: Option<&str>| Choice { value, label: label.map(str::to_owned) };
        assert_eq!(
            status.choices().unwrap(),
            [choice(json!(0), Some("Under Review")), choice(json!(1), Some("Accepted")), choice(json!(2), None)]
        );
        assert_eq!(status.value_schema()["enum"], json!([0, 1, 2]));
        let text: Definition = serde_json::from_value(json!({"type": "string", "enum": ["a|Ay", "b"]})).unwrap();
        assert_eq!(text.value_schema()["enum"], json!(["a", "b"]));
        let time: Definition = serde_json::from_value(json!({"type": "time", "pattern": "^0"})).unwrap();
        assert_eq!(time.value_schema()["allOf"][1], json!({"pattern": "^0"}), "the type's own pattern is kept");
    }
    #[test]
    fn a_renamed_file_changes_its_name_only() {
        let file = "{\n  \"dataflows\": [{\"name\": \"F\"}],\n  \"name\":\t\"Old\" ,\n  \"x\": 1\n}\n";
        assert_eq!(super::with_name(file, "New \"one\""), file.replace("\"Old\"", r#""New \"one\"""#));
        assert_eq!(super::with_name("{}", "New"), "{}");
    }
}
