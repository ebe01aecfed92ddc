//! Steps of the Aqtra input group: they start a dataflow from the run's input.

mod get_action_model;
mod get_empty_model;
mod get_raw_model;

use serde_json::Value;
use sluice_core::{Item, Localized, SettingLabel, StepError};

/// The items an input value stands for: an object is one item, an array of objects is many.
fn input_items(input: &Value) -> Result<Vec<Item>, StepError> {
    if let Some(at) = sluice_core::types::nul_at(input) {
        return Err(StepError::new(format!(
            "the input holds a NUL character at \"{at}\": {}",
            sluice_core::types::NUL_RULE
        )));
    }
    match input {
        Value::Object(item) => Ok(vec![item.clone()]),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Object(item) => Ok(item.clone()),
                _ => Err(StepError::new(format!("input element {i} is not a JSON object"))),
            })
            .collect(),
        Value::Null => Ok(vec![Item::new()]),
        _ => Err(StepError::new("the input must be a JSON object or an array of objects")),
    }
}

/// The "Validate input values" setting shared by the input steps that take a model.
const VALIDATE_INPUT_VALUES: SettingLabel = SettingLabel {
    name: "validateInputValues",
    label: Localized {
        en: "Validate input values",
        fr: "Valider les valeurs d'entrée",
        es: "Validar valores de entrada",
        pt: "Validar valores de entrada",
        de: "Eingabewerte validieren",
    },
};
