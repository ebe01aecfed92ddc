//! `get_empty_model`: an empty model, for dataflows that need no input.

use serde::Deserialize;
use serde_json::{Value, json};
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, Group, Item, Localized, StartStep, StepContext, StepDescriptor, StepError,
    StepMeta, StepPlugin,
};

/// Settings of `get_empty_model` (it has none).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetEmptyModelSettings {}

/// The step type.
pub struct GetEmptyModel;

struct EmptyModel;

impl StepPlugin for GetEmptyModel {
    type Settings = GetEmptyModelSettings;
    const META: StepMeta = StepMeta {
        id: "get_empty_model",
        group: Group::Input,
        calls_outside: false,
        title: Localized {
            en: "Get empty model",
            fr: "Obtenir un modèle vide",
            es: "Obtener modelo vacío",
            pt: "Obter modelo vazio",
            de: "Leeres Modell abrufen",
        },
        description: Localized {
            en: "Starts the dataflow with one empty model, ignoring any input (scheduled jobs, reports).",
            fr: "Démarre le flux de données avec un modèle vide, sans tenir compte de l'entrée (tâches planifiées, rapports).",
            es: "Inicia el flujo de datos con un modelo vacío e ignora la entrada (tareas programadas, informes).",
            pt: "Inicia o fluxo de dados com um modelo vazio e ignora a entrada (tarefas agendadas, relatórios).",
            de: "Startet den Datenfluss mit einem leeren Modell und ignoriert jede Eingabe (geplante Aufgaben, Berichte).",
        },
        settings: &[],
    };

    fn build(_: Self::Settings, _: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        Ok(BuiltStep::start(EmptyModel))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<GetEmptyModel>() }

impl StartStep for EmptyModel {
    fn start(&self, _: &Value, _: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let mut item = Item::new();
        item.insert("data".into(), json!({}));
        out.push(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sluice_core::Engine;

    #[test]
    fn emits_one_empty_model_whatever_the_input() {
        let engine = Engine::new().unwrap();
        let step = engine.single_step("empty", "get_empty_model", json!({}), &Default::default()).unwrap();
        let items = step.run(&json!([{"a": 1}, {"b": 2}]), vec![], &Default::default()).unwrap().items;
        assert_eq!(json!(items), json!([{"data": {}}]));
    }

    #[test]
    fn takes_no_settings() {
        let engine = Engine::new().unwrap();
        let err =
            engine.single_step("empty", "get_empty_model", json!({"validateInputValues": true}), &Default::default());
        let problems = err.err().unwrap();
        assert_eq!(
            problems.iter().map(|p| (p.pointer.as_str(), p.message.as_str())).collect::<Vec<_>>(),
            [("/settings/validateInputValues", "unknown key \"validateInputValues\"")]
        );
        assert_eq!(problems[0].hint.as_deref(), Some("remove it: nothing may be set here"));
    }
}
