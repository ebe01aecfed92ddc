//! JSON Schemas generated from the Rust types: the component file and each step's settings.

use serde_json::{Value, json};

use crate::component::Component;
use crate::plugin::StepDescriptor;

/// The JSON Schema of component files (`schemas/component.schema.json`).
pub fn component_schema() -> Value {
    let schema =
        schemars::generate::SchemaSettings::draft2020_12().into_generator().into_root_schema_for::<Component>();
    schema.to_value()
}

/// The JSON Schema of one step type's settings (`schemas/steps/<type>.schema.json`),
/// titled and described in English.
pub fn step_schema(descriptor: &StepDescriptor) -> Value {
    let mut value = descriptor.settings_schema().to_value();
    if let Some(object) = value.as_object_mut() {
        let meta = &descriptor.meta;
        object.insert("title".into(), json!(meta.title.en));
        object.insert("description".into(), json!(meta.description.en));
    }
    value
}

/// Every schema file Sluice publishes, as (path under `schemas/`, pretty JSON text).
pub fn schema_files(engine: &crate::Engine) -> Vec<(String, String)> {
    let pretty = |v: &Value| serde_json::to_string_pretty(v).map(|s| s + "\n").unwrap_or_default();
    let mut files = vec![("component.schema.json".to_owned(), pretty(&component_schema()))];
    files.extend(engine.steps().map(|s| (format!("steps/{}.schema.json", s.descriptor.meta.id), pretty(&s.schema))));
    files
}
