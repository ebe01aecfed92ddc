//! The settings' help texts in French, Spanish, Portuguese and German. The English text is the
//! setting's doc comment (its schema description); the translations live in `help/<lang>.json`,
//! one file per language, so a translator works on one file. A setting's text is keyed
//! `step_id/setting`; a nested value's (an enum's choice, a field mapping's part) by where it
//! is under the settings schema's `$defs`, as `$defs/Operator/oneOf/0`, shared by every step
//! whose schema has that definition, or as `step_id/$defs/…` for one step's own text.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::Value;

use crate::plugin::Lang;

/// Each language's file, parsed once. A file that does not parse gives no texts (the English
/// ones show); the catalog test names every missing text.
static TRANSLATIONS: LazyLock<[(Lang, HashMap<String, String>); 4]> = LazyLock::new(|| {
    let parse = |text: &str| serde_json::from_str(text).unwrap_or_default();
    [
        (Lang::Fr, parse(include_str!("help/fr.json"))),
        (Lang::Es, parse(include_str!("help/es.json"))),
        (Lang::Pt, parse(include_str!("help/pt.json"))),
        (Lang::De, parse(include_str!("help/de.json"))),
    ]
});

/// The help text of `setting` of step type `step` in `lang`; `None` in English (the schema's
/// description is the text) and where a translation is missing.
pub fn setting_help(lang: Lang, step: &str, setting: &str) -> Option<&'static str> {
    let (_, texts) = TRANSLATIONS.iter().find(|(l, _)| *l == lang)?;
    texts.get(&format!("{step}/{setting}")).map(String::as_str)
}

/// The text of the value described at `at` in the settings schema of step type `step` (a JSON
/// Pointer under `$defs`, such as `/$defs/Operator/oneOf/0`) in `lang`: the step's own text,
/// else the one its definitions share; `None` in English and where a translation is missing.
pub fn nested_help(lang: Lang, step: &str, at: &str) -> Option<&'static str> {
    let (_, texts) = TRANSLATIONS.iter().find(|(l, _)| *l == lang)?;
    let text = texts.get(&format!("{step}{at}")).or_else(|| texts.get(at.trim_start_matches('/')));
    text.map(String::as_str)
}

/// The JSON Pointer of every described value under a schema's `$defs` (what
/// [`nested_help`] translates).
pub fn described_definitions(schema: &Value) -> Vec<String> {
    fn walk(value: &Value, at: String, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if map.get("description").is_some_and(Value::is_string) {
                    found.push(at.clone());
                }
                for (key, inner) in map.iter().filter(|(key, _)| *key != "description") {
                    walk(inner, format!("{at}/{}", crate::source::escape_token(key)), found);
                }
            }
            Value::Array(items) => {
                for (i, inner) in items.iter().enumerate() {
                    walk(inner, format!("{at}/{i}"), found);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    if let Some(defs) = schema.get("$defs") {
        walk(defs, "/$defs".to_owned(), &mut found);
    }
    found
}

/// Every translated key of `lang` (`step_id/setting`, `$defs/…`, `step_id/$defs/…`), to find
/// texts whose setting or value is gone.
pub fn translated_keys(lang: Lang) -> Vec<&'static str> {
    let found = TRANSLATIONS.iter().find(|(l, _)| *l == lang);
    found.map(|(_, texts)| texts.keys().map(String::as_str).collect()).unwrap_or_default()
}
