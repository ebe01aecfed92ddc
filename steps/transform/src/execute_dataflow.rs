//! `execute_dataflow`: runs another dataflow, of this component or another loaded with it, for
//! each item and keeps what it answered (Aqtra's `_Result`).

use serde::Deserialize;
use serde_json::Value;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldPath, Group, Item, Localized, ModelMapping, SettingLabel, Step,
    StepContext, StepDescriptor, StepError, StepMeta, StepPlugin, labels,
};

/// Settings of `execute_dataflow`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExecuteDataflowSettings {
    /// The component whose dataflow runs (its system name); default this component. Another
    /// component must be loaded with this one (saved on the server, or in the same folder).
    #[serde(default)]
    pub component: Option<String>,
    /// The dataflow to run: of this component, one other than this one (directly or through
    /// others: calls cannot go round in a circle).
    #[schemars(length(min = 1))]
    pub dataflow: String,
    /// Where the items the called dataflow answered (those reaching its Write response) go,
    /// as a list. Default `_Result`, as in Aqtra: `_Result.0.data.Total`.
    #[serde(default = "default_result")]
    pub result_field: String,
    /// The model the called dataflow gets: each maps a path of this item to a path of that
    /// model (`{"from": "data.Vin", "to": "data.car_vin"}`). When empty it gets the item.
    #[serde(default)]
    pub input_mapping: Vec<Mapping>,
}

/// One value passed to the called dataflow.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Path in this item, such as `data.Vin`.
    pub from: String,
    /// Path in the called dataflow's model, such as `data.car_vin`.
    pub to: String,
}

fn default_result() -> String {
    "_Result".into()
}

/// The step type.
pub struct ExecuteDataflow;

struct Call {
    component: Option<String>,
    dataflow: String,
    result: FieldPath,
    mapping: ModelMapping,
}

impl StepPlugin for ExecuteDataflow {
    type Settings = ExecuteDataflowSettings;
    const META: StepMeta = StepMeta {
        id: "execute_dataflow",
        group: Group::Transform,
        calls_outside: false,
        title: Localized {
            en: "Execute dataflow",
            fr: "Exécuter un flux de données",
            es: "Ejecutar flujo de datos",
            pt: "Executar fluxo de dados",
            de: "Datenfluss ausführen",
        },
        description: Localized {
            en: "Runs another dataflow, of this component or another, for each item and keeps its response in a field.",
            fr: "Exécute un autre flux de données, de ce composant ou d'un autre, pour chaque élément et garde sa réponse dans un champ.",
            es: "Ejecuta otro flujo de datos, de este componente u otro, para cada elemento y guarda su respuesta en un campo.",
            pt: "Executa outro fluxo de dados, deste componente ou de outro, para cada item e guarda a sua resposta num campo.",
            de: "Führt für jedes Element einen anderen Datenfluss dieser oder einer anderen Komponente aus und speichert seine Antwort in einem Feld.",
        },
        settings: &[
            labels::COMPONENT,
            SettingLabel {
                name: "dataflow",
                label: Localized {
                    en: "Dataflow",
                    fr: "Flux de données",
                    es: "Flujo de datos",
                    pt: "Fluxo de dados",
                    de: "Datenfluss",
                },
            },
            labels::RESULT_FIELD,
            SettingLabel {
                name: "inputMapping",
                label: Localized {
                    en: "Input mapping",
                    fr: "Correspondance de l'entrée",
                    es: "Asignación de la entrada",
                    pt: "Mapeamento da entrada",
                    de: "Eingabezuordnung",
                },
            },
        ],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let called = cx.calls_dataflow("dataflow", settings.component.as_deref(), &settings.dataflow);
        let result = cx.result_path("resultField", &settings.result_field);
        let mapping = cx.model_mapping("inputMapping", settings.input_mapping.iter().map(|m| (&*m.from, &*m.to)));
        called?;
        let mapping = mapping?;
        Ok(BuiltStep::each(Call {
            component: settings.component,
            dataflow: settings.dataflow,
            result: result?,
            mapping,
        }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<ExecuteDataflow>() }

impl Step for Call {
    fn run(&self, mut item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let input = Value::Object(if self.mapping.is_empty() { item.clone() } else { self.mapping.model_of(&item)? });
        let answered = cx.run_dataflow(self.component.as_deref(), &self.dataflow, &input)?;
        let list = answered.into_iter().map(Value::Object).collect();
        self.result.set(&mut item, Value::Array(list)).map_err(|e| StepError::at_setting("resultField", e))?;
        out.push(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use sluice_core::{Engine, LoadError};

    /// A component whose `Main` calls `Price` (doubling `data.N`) with `settings`.
    fn component(settings: Value, price_access: &str) -> String {
        json!({"name": "Calls", "dataflows": [
            {"name": "Main", "stages": [{"name": "s", "steps": [
                {"name": "in", "type": "get_action_model"},
                {"name": "call", "type": "execute_dataflow", "source": "in", "settings": settings},
                {"name": "out", "type": "write_response", "source": "call"}]}]},
            {"name": "Price", "access": price_access, "stages": [{"name": "s", "steps": [
                {"name": "in", "type": "get_action_model"},
                {"name": "double", "type": "execute_script", "source": "in", "settings": {"script": "item.doubled = item.data.N * 2;"}},
                {"name": "out", "type": "write_response", "source": "double"}]}]}]})
        .to_string()
    }

    fn problems(file: &str) -> Vec<sluice_core::Diagnostic> {
        match Engine::new().unwrap().load("calls.json", file.as_bytes()) {
            Err(LoadError::Invalid { diagnostics, .. }) => diagnostics,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn runs_the_called_dataflow_per_item_and_keeps_its_answer() {
        let engine = Engine::new().unwrap();
        let plan = engine.load("calls.json", component(json!({"dataflow": "Price"}), "signedIn").as_bytes()).unwrap();
        let outcome = plan.run("Main", &json!({"data": {"N": 21}}), &Default::default(), Default::default()).unwrap();
        assert_eq!(outcome.response[0]["_Result"][0]["doubled"], 42);
        let call = outcome.trace.iter().find(|t| t.step == "call").unwrap();
        assert_eq!(call.calls.len(), 1);
        assert_eq!(call.calls[0].dataflow, "Price");
        let inner: Vec<&str> = call.calls[0].trace.iter().map(|t| t.step.as_str()).collect();
        assert_eq!(inner, ["in", "double", "out"], "the trace nests the called dataflow's steps");
        let mapped = json!({"dataflow": "Price", "resultField": "_price", "inputMapping": [{"from": "data.Qty", "to": "data.N"}]});
        let plan = engine.load("calls.json", component(mapped, "signedIn").as_bytes()).unwrap();
        let outcome = plan.run("Main", &json!({"data": {"Qty": 5}}), &Default::default(), Default::default()).unwrap();
        assert_eq!(outcome.response[0]["_price"], json!([{"data": {"N": 5}, "doubled": 10}]));
    }

    #[test]
    fn calls_a_dataflow_of_another_component_loaded_with_it() {
        let engine = Engine::new().unwrap();
        // Pricing has the same Price dataflow; Calls names it by component.
        let pricing = component(json!({"dataflow": "Price"}), "signedIn").replace("\"Calls\"", "\"Pricing\"");
        let calls = json!({"name": "Calls", "dataflows": [{"name": "Main", "stages": [{"name": "s", "steps": [
            {"name": "in", "type": "get_action_model"},
            {"name": "call", "type": "execute_dataflow", "source": "in", "settings": {"component": "Pricing", "dataflow": "Price"}},
            {"name": "out", "type": "write_response", "source": "call"}]}]}]})
        .to_string();
        let directory = sluice_core::entries::directory_of([pricing.as_str(), calls.as_str()]);
        let pricing = std::sync::Arc::new(engine.load_among("pricing.json", pricing.as_bytes(), &directory).unwrap());
        let calls = engine.load_among("calls.json", calls.as_bytes(), &directory).unwrap();
        let run = || calls.run("Main", &json!({"data": {"N": 4}}), &Default::default(), Default::default());
        let err = run().unwrap_err();
        assert!(err.to_string().contains("component Pricing is not loaded here"), "{err}");
        engine.services().plans.set(move |name| (name == "Pricing").then(|| pricing.clone()));
        assert_eq!(run().unwrap().response[0]["_Result"][0]["doubled"], 8);
    }

    #[test]
    fn every_broken_path_of_the_input_mapping_is_reported_where_it_is() {
        let broken = json!({"dataflow": "Price", "inputMapping": [{"from": "data..Qty", "to": "data.N"}, {"from": "data.Qty", "to": "a..b"}]});
        let found = problems(&component(broken, "signedIn"));
        let at: Vec<&str> = found.iter().map(|d| d.pointer.as_str()).collect();
        let settings = "/dataflows/0/stages/0/steps/1/settings";
        assert_eq!(at, [format!("{settings}/inputMapping/0/from"), format!("{settings}/inputMapping/1/to")]);
    }

    #[test]
    fn unknown_circular_and_stricter_calls_are_load_errors() {
        let unknown = problems(&component(json!({"dataflow": "Prize"}), "signedIn"));
        assert_eq!(unknown[0].pointer, "/dataflows/0/stages/0/steps/1/settings/dataflow");
        assert_eq!(unknown[0].message, "this component has no dataflow named \"Prize\"");
        let elsewhere = problems(&component(json!({"component": "Pricing", "dataflow": "Price"}), "signedIn"));
        assert_eq!(elsewhere[0].pointer, "/dataflows/0/stages/0/steps/1/settings/component");
        assert_eq!(elsewhere[0].message, "there is no component named \"Pricing\" whose dataflows are known here");
        assert_eq!(unknown[0].hint.as_deref(), Some("did you mean \"Price\"?"));
        let itself = problems(&component(json!({"dataflow": "Main"}), "signedIn"));
        assert_eq!(itself[0].message, "Main calls itself (Main → Main): calls cannot go round in a circle");
        let stricter = problems(&component(json!({"dataflow": "Price"}), "twoFactor"));
        assert_eq!(stricter[0].pointer, "/dataflows/0/stages/0/steps/1/settings/dataflow");
        assert!(
            stricter[0].message.contains("Price admits fewer callers (twoFactor) than Main (signedIn)"),
            "{}",
            stricter[0].message
        );
    }
}
