//! The step catalog for the builder's palette and property panels, in one language.

use serde::Serialize;
use serde_json::{Value, json};

use crate::engine::Engine;
use crate::plugin::{Group, Lang};

/// One step type as the builder shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogEntry {
    /// The type id used in component files.
    pub id: &'static str,
    /// The Aqtra group.
    pub group: Group,
    /// The group's localized name.
    pub group_title: &'static str,
    /// Input steps start a dataflow and take no source.
    pub starts_flow: bool,
    /// Whether it calls outside Sluice (so `retry` and `timeout` apply to it).
    pub calls_outside: bool,
    /// Localized title.
    pub title: &'static str,
    /// Localized description.
    pub description: &'static str,
    /// The settings, in panel order, with localized labels.
    pub settings: Vec<CatalogSetting>,
    /// The settings JSON Schema, each property titled with its localized label and described
    /// with its localized help text.
    pub schema: Value,
}

/// One setting in the property panel.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogSetting {
    /// The key in `settings`.
    pub name: &'static str,
    /// Localized label.
    pub label: &'static str,
    /// Whether the setting must be given.
    pub required: bool,
}

impl Engine {
    /// Every registered step type, sorted by group then id, labelled in `lang`.
    pub fn catalog(&self, lang: Lang) -> Vec<CatalogEntry> {
        let mut entries: Vec<CatalogEntry> = self
            .steps()
            .map(|registered| {
                let meta = &registered.descriptor.meta;
                let required: Vec<&str> = registered.schema["required"]
                    .as_array()
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let mut schema = registered.schema.clone();
                schema["title"] = json!(meta.title.get(lang));
                schema["description"] = json!(meta.description.get(lang));
                let settings = meta
                    .settings
                    .iter()
                    .map(|s| {
                        if let Some(property) = schema["properties"].get_mut(s.name).and_then(Value::as_object_mut) {
                            property.insert("title".into(), json!(s.label.get(lang)));
                            if let Some(help) = crate::help::setting_help(lang, meta.id, s.name) {
                                property.insert("description".into(), json!(help));
                            }
                        }
                        CatalogSetting { name: s.name, label: s.label.get(lang), required: required.contains(&s.name) }
                    })
                    .collect();
                for at in crate::help::described_definitions(&registered.schema) {
                    if let (Some(text), Some(Value::Object(described))) =
                        (crate::help::nested_help(lang, meta.id, &at), schema.pointer_mut(&at))
                    {
                        described.insert("description".into(), json!(text));
                    }
                }
                CatalogEntry {
                    id: meta.id,
                    group: meta.group,
                    group_title: meta.group.title().get(lang),
                    starts_flow: meta.group.starts_flow(),
                    calls_outside: meta.calls_outside,
                    title: meta.title.get(lang),
                    description: meta.description.get(lang),
                    settings,
                    schema,
                }
            })
            .collect();
        entries.sort_by_key(|e| (e.group, e.id));
        entries
    }
}
