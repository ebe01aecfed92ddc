//! `get_action_model`: the component's model as the user interface sent it.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::types::schema_violations;
use sluice_core::{
    BuildContext, BuildError, BuiltStep, Group, Item, Localized, StartStep, StepContext, StepDescriptor, StepError,
    StepMeta, StepPlugin,
};

use crate::{VALIDATE_INPUT_VALUES, input_items};

/// Settings of `get_action_model`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GetActionModelSettings {
    /// Check the incoming `data` against the component's definitions (types, formats,
    /// required fields, allowed values) before the dataflow goes on.
    #[serde(default)]
    pub validate_input_values: bool,
}

/// The step type.
pub struct GetActionModel;

struct ActionModel {
    validate: Option<Arc<sluice_core::jsonschema::Validator>>,
}

impl StepPlugin for GetActionModel {
    type Settings = GetActionModelSettings;
    const META: StepMeta = StepMeta {
        id: "get_action_model",
        group: Group::Input,
        calls_outside: false,
        title: Localized {
            en: "Get action model",
            fr: "Obtenir le modèle d'action",
            es: "Obtener modelo de acción",
            pt: "Obter modelo de ação",
            de: "Aktionsmodell abrufen",
        },
        description: Localized {
            en: "Starts the dataflow with the component's data as the user interface sent it.",
            fr: "Démarre le flux de données avec les données du composant telles que l'interface les a envoyées.",
            es: "Inicia el flujo de datos con los datos del componente tal como los envió la interfaz.",
            pt: "Inicia o fluxo de dados com os dados do componente tal como a interface os enviou.",
            de: "Startet den Datenfluss mit den Daten der Komponente, wie die Oberfläche sie gesendet hat.",
        },
        settings: &[VALIDATE_INPUT_VALUES],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let validate = settings.validate_input_values.then(|| cx.data_schema().clone());
        Ok(BuiltStep::start(ActionModel { validate }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<GetActionModel>() }

impl StartStep for ActionModel {
    fn start(&self, input: &Value, _cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        for mut item in input_items(input)? {
            let data = item.entry("data").or_insert_with(|| Value::Object(Item::new()));
            if !data.is_object() {
                return Err(StepError::public("the action model's \"data\" must be a JSON object"));
            }
            if let Some(validator) = &self.validate {
                let problems = schema_violations(validator, data, 5);
                if !problems.is_empty() {
                    return Err(StepError::at_setting(
                        "validateInputValues",
                        format!(
                            "the input values do not fit the definitions: {}",
                            problems.join("; ").replace("(root)", "data")
                        ),
                    )
                    .for_anyone());
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
    use sluice_core::component::Definitions;

    fn definitions() -> Definitions {
        serde_json::from_value(json!({
            "UserName": {"type": "string", "required": true},
            "Age": {"type": "integer", "minimum": 0, "maximum": 150},
            "Born": {"type": "date"},
            "Code": {"type": "string", "minLength": 2, "maxLength": 4, "pattern": "^[A-Z]+$"},
            "Status": {"type": "integer", "enum": ["0|Under Review", "1|Accepted for Payment"]}
        }))
        .unwrap()
    }

    fn run(settings: serde_json::Value, input: serde_json::Value) -> Result<Vec<sluice_core::Item>, String> {
        let engine = Engine::new().unwrap();
        let step = engine.single_step("model", "get_action_model", settings, &definitions()).unwrap();
        step.run(&input, vec![], &Default::default()).map(|r| r.items).map_err(|e| e.message)
    }

    #[test]
    fn emits_the_input_and_adds_missing_data() {
        let items = run(json!({}), json!({"Id": 3})).unwrap();
        assert_eq!(serde_json::Value::Object(items[0].clone()), json!({"Id": 3, "data": {}}));
        assert_eq!(run(json!({}), json!([{"data": {}}, {"data": {}}])).unwrap().len(), 2);
    }

    #[test]
    fn refuses_a_non_object_input() {
        assert!(run(json!({}), json!(5)).unwrap_err().contains("JSON object"));
        assert!(run(json!({}), json!({"data": 1})).unwrap_err().contains("\"data\" must be"));
    }

    #[test]
    fn refuses_text_with_a_nul_character_saying_where() {
        let err = run(json!({}), json!({"data": {"UserName": "ann\u{0}"}})).unwrap_err();
        assert_eq!(
            err,
            "the input holds a NUL character at \"/data/UserName\": text cannot hold the NUL character (U+0000)"
        );
    }

    #[test]
    fn validates_against_the_definitions_when_asked() {
        let on = json!({"validateInputValues": true});
        assert!(run(on.clone(), json!({"data": {"UserName": "ann", "Age": 4, "Born": "2001-02-03"}})).is_ok());
        let err = run(on.clone(), json!({"data": {"Age": "four"}})).unwrap_err();
        assert!(err.contains("\"UserName\" is a required property"), "{err}");
        assert!(err.contains("/Age"), "{err}");
        let err = run(on, json!({"data": {"UserName": "a", "Born": "2001-02-30"}})).unwrap_err();
        assert!(err.contains("/Born"), "{err}");
        assert!(run(json!({}), json!({"data": {"Age": "four"}})).is_ok());
    }

    #[test]
    fn checks_the_definitions_constraints_saying_where() {
        let on = json!({"validateInputValues": true});
        let fine = json!({"data": {"UserName": "a", "Age": 150, "Code": "AB", "Status": 1}});
        assert!(run(on.clone(), fine).is_ok());
        let refused = |data: serde_json::Value| {
            let mut all = json!({"UserName": "a"});
            all.as_object_mut().unwrap().extend(data.as_object().unwrap().clone());
            run(on.clone(), json!({"data": all})).unwrap_err()
        };
        assert_eq!(
            refused(json!({"Age": -1})),
            "the input values do not fit the definitions: /Age: -1 is less than the minimum of 0"
        );
        assert!(refused(json!({"Age": 151})).contains("/Age: 151 is greater than the maximum of 150"));
        assert!(refused(json!({"Code": "A"})).contains("/Code: \"A\" is shorter than 2 characters"));
        assert!(refused(json!({"Code": "ABCDE"})).contains("/Code: \"ABCDE\" is longer than 4 characters"));
        assert!(refused(json!({"Code": "ab"})).contains("/Code: \"ab\" does not match \"^[A-Z]+$\""));
        // A labelled enum allows its values, not its labels.
        assert!(refused(json!({"Status": 2})).contains("/Status: 2 is not one of"));
        assert!(refused(json!({"Status": "0|Under Review"})).contains("/Status"));
    }
}
