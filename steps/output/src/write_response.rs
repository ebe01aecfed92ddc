//! `write_response`: the items that reach it are the run's response.

use serde::Deserialize;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, Group, Item, Localized, Step, StepContext, StepDescriptor, StepError,
    StepMeta, StepPlugin,
};

/// Settings of `write_response` (it has none).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteResponseSettings {}

/// The step type.
pub struct WriteResponse;

struct Respond;

impl StepPlugin for WriteResponse {
    type Settings = WriteResponseSettings;
    const META: StepMeta = StepMeta {
        id: "write_response",
        group: Group::Output,
        calls_outside: false,
        title: Localized {
            en: "Write response",
            fr: "Écrire la réponse",
            es: "Escribir respuesta",
            pt: "Escrever resposta",
            de: "Antwort schreiben",
        },
        description: Localized {
            en: "Returns the items it receives to the caller of the dataflow.",
            fr: "Renvoie les éléments reçus à l'appelant du flux de données.",
            es: "Devuelve los elementos que recibe a quien llamó al flujo de datos.",
            pt: "Devolve os itens que recebe a quem chamou o fluxo de dados.",
            de: "Gibt die empfangenen Elemente an den Aufrufer des Datenflusses zurück.",
        },
        settings: &[],
    };

    fn build(_: Self::Settings, _: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        Ok(BuiltStep::each(Respond))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<WriteResponse>() }

impl Step for Respond {
    fn run(&self, item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        cx.respond(item.clone());
        out.push(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sluice_core::Engine;

    #[test]
    fn responds_and_passes_items_on() {
        let engine = Engine::new().unwrap();
        let step = engine.single_step("r", "write_response", json!({}), &Default::default()).unwrap();
        let out = step.run_one(json!({"data": {"a": 1}})).unwrap();
        assert_eq!(json!(out.response), json!([{"data": {"a": 1}}]));
        assert_eq!(out.items, out.response);
    }
}
