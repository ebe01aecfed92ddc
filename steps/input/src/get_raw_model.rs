//! `get_raw_model`: an arbitrary JSON model, optionally checked against a declared schema.

use serde::Deserialize;
use serde_json::{Map, Value};
use sluice_core::jsonschema::Validator;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::types::{compile_with_formats, schema_violations};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, Group, Item, Localized, SettingLabel, StartStep, StepContext, StepDescriptor,
    StepError, StepMeta, StepPlugin,
};

use crate::{VALIDATE_INPUT_VALUES, input_items};

/// Settings of `get_raw_model`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GetRawModelSettings {
    /// The shape of the raw model, as a JSON Schema (Aqtra: "the model must be pre-configured
    /// as JSON"). Compiled at load.
    #[serde(default)]
    pub model: Option<Map<String, Value>>,
    /// Check every input item against `model` before the dataflow goes on.
    #[serde(default)]
    pub validate_input_values: bool,
}

/// The step type.
pub struct GetRawModel;

struct RawModel {
    validate: Option<Validator>,
}

impl StepPlugin for GetRawModel {
    type Settings = GetRawModelSettings;
    const META: StepMeta = StepMeta {
        id: "get_raw_model",
        group: Group::Input,
        calls_outside: false,
        title: Localized {
            en: "Get raw model",
            fr: "Obtenir le modèle brut",
            es: "Obtener modelo sin procesar",
            pt: "Obter modelo bruto",
            de: "Rohmodell abrufen",
        },
        description: Localized {
            en: "Starts the dataflow with any JSON model, such as variables sent by a component script.",
            fr: "Démarre le flux de données avec un modèle JSON quelconque, comme des variables envoyées par un script de composant.",
            es: "Inicia el flujo de datos con cualquier modelo JSON, como variables enviadas por un script de componente.",
            pt: "Inicia o fluxo de dados com qualquer modelo JSON, como variáveis enviadas por um script de componente.",
            de: "Startet den Datenfluss mit einem beliebigen JSON-Modell, etwa Variablen aus einem Komponentenskript.",
        },
        settings: &[
            SettingLabel {
                name: "model",
                label: Localized { en: "Model", fr: "Modèle", es: "Modelo", pt: "Modelo", de: "Modell" },
            },
            VALIDATE_INPUT_VALUES,
        ],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let validate = match (settings.validate_input_values, settings.model) {
            (false, _) => None,
            (true, None) => {
                return Err(cx.invalid(
                    "validateInputValues",
                    "there is no model to validate against",
                    Some("declare the model's JSON Schema in \"model\"".into()),
                ));
            }
            (true, Some(model)) => match compile_with_formats(&Value::Object(model)) {
                Ok(validator) => Some(validator),
                Err(e) => return Err(cx.invalid("model", format!("the model is not a valid JSON Schema: {e}"), None)),
            },
        };
        Ok(BuiltStep::start(RawModel { validate }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<GetRawModel>() }

impl StartStep for RawModel {
    fn start(&self, input: &Value, _: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        for item in input_items(input)? {
            if let Some(validator) = &self.validate {
                let problems = schema_violations(validator, &Value::Object(item.clone()), 5);
                if !problems.is_empty() {
                    return Err(StepError::at_setting(
                        "model",
                        format!("the input does not fit the model: {}", problems.join("; ")),
                    ));
                }
            }
            out.push(item);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sluice_core::Engine;

    fn engine() -> Engine {
        Engine::new().unwrap()
    }

    #[test]
    fn passes_any_object_through() {
        let engine = engine();
        let step = engine.single_step("raw", "get_raw_model", json!({}), &Default::default()).unwrap();
        let items = step.run(&json!({"x": [1, 2]}), vec![], &Default::default()).unwrap().items;
        assert_eq!(json!(items), json!([{"x": [1, 2]}]));
    }

    #[test]
    fn validates_against_the_declared_model() {
        let engine = engine();
        let settings = json!({"validateInputValues": true, "model": {"type": "object", "required": ["x"]}});
        let step = engine.single_step("raw", "get_raw_model", settings, &Default::default()).unwrap();
        assert!(step.run(&json!({"x": 1}), vec![], &Default::default()).is_ok());
        let err = step.run(&json!({"y": 1}), vec![], &Default::default()).unwrap_err();
        assert!(err.message.contains("\"x\" is a required property"), "{err}");
        assert_eq!(err.setting.as_deref(), Some("model"));
    }

    #[test]
    fn refuses_a_bad_model_schema_or_a_missing_one() {
        let engine = engine();
        let bad = json!({"validateInputValues": true, "model": {"type": "strin"}});
        let err = engine.single_step("raw", "get_raw_model", bad, &Default::default()).err().unwrap();
        assert_eq!(err[0].pointer, "/settings/model");
        let missing = json!({"validateInputValues": true});
        let err = engine.single_step("raw", "get_raw_model", missing, &Default::default()).err().unwrap();
        assert_eq!(err[0].pointer, "/settings/validateInputValues");
    }
}
