//! A one-time code never reaches the store, the logs, the errors, the traces or the response
//! unless a dataflow copies it into a field on purpose.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Mutex;

use serde::Deserialize;
use serde_json::{Value, json};
use sluice::schemars::{self, JsonSchema};
use sluice::store::User;
use sluice::{
    BuildContext, BuildError, BuiltStep, Engine, Group, Item, Localized, RunContext, RunOptions, Step, StepContext,
    StepDescriptor, StepError, StepMeta, StepPlugin,
};

mod common;
use common::Logs;

/// Codes seen by the spy step (the test's only way to learn them).
static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SpySettings {}

/// A step that notes `_oneTimeCode` without copying it anywhere.
struct Spy;

impl StepPlugin for Spy {
    type Settings = SpySettings;
    const META: StepMeta = StepMeta {
        id: "test_spy",
        group: Group::Transform,
        starts_flow: false,
        title: Localized { en: "Spy", fr: "Espion", es: "Espía", pt: "Espião", de: "Spion" },
        description: Localized { en: "Test only.", fr: "Test.", es: "Prueba.", pt: "Teste.", de: "Test." },
        settings: &[],
    };

    fn build(_: SpySettings, _: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        Ok(BuiltStep::each(Spy))
    }
}

impl Step for Spy {
    fn run(&self, item: Item, _: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        if let Some(code) = item.get("_oneTimeCode").and_then(Value::as_str) {
            SEEN.lock().unwrap().push(code.to_owned());
        }
        out.push(item);
        Ok(())
    }
}

fn component() -> Vec<u8> {
    json!({
        "name": "Secrecy",
        "dataflows": [
            {"name": "Get", "stages": [{"name": "S", "steps": [
                {"name": "model", "type": "get_action_model"},
                {"name": "user", "type": "get_user_info", "source": "model", "settings": {"fromRequest": true}},
                {"name": "code", "type": "get_one_time_code_for_user", "source": "user",
                 "settings": {"userName": "_user", "codeLength": 10, "resendCooldown": 0}},
                {"name": "spy", "type": "test_spy", "source": "code"},
                {"name": "response", "type": "write_response", "source": "spy"}]}]},
            {"name": "Confirm", "stages": [{"name": "S", "steps": [
                {"name": "model", "type": "get_action_model"},
                {"name": "confirm", "type": "confirm_one_time_code_for_user", "source": "model",
                 "settings": {"userCodeField": "data.Typed"}},
                {"name": "response", "type": "write_response", "source": "confirm"}]}]}
        ]
    })
    .to_string()
    .into_bytes()
}

#[test]
fn codes_stay_out_of_store_logs_errors_traces_and_responses() {
    let logs = Logs::default();
    let _guard = tracing::subscriber::set_default(logs.subscriber());

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("sluice.db").display());
    let services = sluice::setup::open(&url, &Default::default()).unwrap();
    services.store.import_users(&[User::new("ann")]).unwrap();
    let engine = Engine::builder().services(services).register(StepDescriptor::of::<Spy>()).build().unwrap();
    let plan = engine.load("secrecy.json", &component()).unwrap();
    let cx = RunContext { user: Some("ann".into()), client: Some("web".into()) };
    let traced = RunOptions { trace_items: true };

    let mut visible = Vec::new();
    for _ in 0..3 {
        let outcome = plan.run_recorded("Get", &json!({"data": {}}), &cx, traced).1.unwrap();
        assert!(outcome.response[0].get("_oneTimeCode").is_none(), "the response leaves the code out");
        let code_step = outcome.trace.iter().find(|t| t.step == "code").unwrap();
        assert_eq!(code_step.items.as_ref().unwrap().items()[0]["_oneTimeCode"], "[redacted]");
        visible.push(serde_json::to_string(&outcome).unwrap());
    }
    let codes = SEEN.lock().unwrap().clone();
    assert_eq!(codes.len(), 3);
    let last = codes.last().unwrap();

    // Wrong guesses (made from the earlier, void codes), then the right code without a trace.
    for typed in &codes[..2] {
        let failure = plan.run_recorded("Confirm", &json!({"data": {"Typed": typed}}), &cx, RunOptions::default()).1;
        let failure = failure.unwrap_err();
        assert_eq!(
            failure.to_string(),
            "step \"confirm\" (confirm_one_time_code_for_user) failed: invalid or expired code"
        );
        visible.push(failure.to_string());
    }
    let ok = plan.run_recorded("Confirm", &json!({"data": {"Typed": last}}), &cx, RunOptions::default()).1.unwrap();
    assert_eq!(ok.response[0]["_confirmed"], true);
    visible.push(serde_json::to_string(&ok.trace).unwrap());
    visible.push(logs.text());
    assert!(visible.last().unwrap().contains("one-time code rejected"), "the logs record the failures");
    visible.push(serde_json::to_string(&engine.services().store.list_runs(None, 100).unwrap()).unwrap());

    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        files.push((path.display().to_string(), std::fs::read(&path).unwrap()));
    }
    assert!(files.len() >= 2, "the database and its key file");
    for code in &codes {
        for text in &visible {
            assert!(!text.contains(code.as_str()), "a code leaked into: {text}");
        }
        for (name, bytes) in &files {
            assert!(!bytes.windows(code.len()).any(|w| w == code.as_bytes()), "a code leaked into {name}");
        }
    }
}
