//! The engine through its library API: loading, running, branches, traces and failures.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

mod common;

use common::Logs;
use serde_json::{Value, json};
use sluice::{Engine, Lang, Outcome, RunContext, RunError, RunOptions, StepStatus};

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/for-test-code-demo/component.json");

fn run(component: Value, dataflow: &str, input: Value) -> Result<Outcome, RunError> {
    let engine = Engine::new().unwrap();
    let plan = engine.load("test", component.to_string().as_bytes()).unwrap();
    plan.run(dataflow, &input, &RunContext::default(), RunOptions { trace_items: true, ..Default::default() })
}

fn flow(steps: Value) -> Value {
    json!({"name": "T", "definitions": {"n": {"type": "integer"}, "lines": {"type": "array"}},
           "dataflows": [{"name": "F", "stages": [{"name": "S", "steps": steps}]}]})
}

#[test]
fn the_example_runs_through_the_library() {
    let engine = Engine::new().unwrap();
    let plan = engine.load_file(EXAMPLE).unwrap();
    assert_eq!(plan.name(), "ForTestCodeDemo");
    assert_eq!(plan.dataflow_names(), ["GetCode"]);
    let input = json!({"data": {"UserName": "ann"}});
    let outcome = plan.run("GetCode", &input, &RunContext::default(), RunOptions::default()).unwrap();
    assert_eq!(json!(outcome.response), json!([{"data": {"UserName": "ann", "ForTestCode": "42"}, "new_code": "42"}]));
    let steps: Vec<_> = outcome.trace.iter().map(|t| (t.step.as_str(), t.status, t.items_out)).collect();
    assert_eq!(steps, [("model", StepStatus::Ok, 1), ("script", StepStatus::Ok, 1), ("response", StepStatus::Ok, 1)]);
    assert!(outcome.trace.iter().all(|t| t.items.is_none()), "items are kept only when asked");
}

#[test]
fn a_run_whose_record_cannot_be_written_still_answers_and_the_log_says_why() {
    let logs = Logs::default();
    let _guard = tracing::subscriber::set_default(logs.subscriber());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.db");
    let url = format!("sqlite:{}", path.display());
    // Created, then refused runs (before the store opens again, so it plans with the trigger).
    drop(sluice::setup::open(&url, &Default::default()).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON runs BEGIN SELECT RAISE(ABORT, 'runs refused here'); END",
        )
        .unwrap();
    let services = sluice::setup::open(&url, &Default::default()).unwrap();
    let store = services.store.clone();
    let engine = Engine::builder().services(services).build().unwrap();
    let plan = engine.load("test", flow(json!([{"name": "model", "type": "get_action_model"}])).to_string().as_bytes());
    let (id, outcome) =
        plan.unwrap().run_recorded("F", &json!({"data": {}}), &RunContext::default(), RunOptions::default());
    assert!(outcome.is_ok(), "the run failed with its record: {outcome:?}");
    let text = logs.text();
    assert!(text.contains("a run's record could not be written") && text.contains("runs refused here"), "{text}");
    assert!(store.get_run(&id).unwrap().is_none());
}

/// `model` feeds two branches: `a` adds one and answers (`ra`), `b` multiplies by ten (`rb`).
fn two_branches() -> Value {
    flow(json!([
        {"name": "model", "type": "get_action_model"},
        {"name": "a", "type": "execute_script", "source": "model", "settings": {"script": "item.data.n += 1;"}},
        {"name": "b", "type": "execute_script", "source": "model", "settings": {"script": "item.data.n *= 10;"}},
        {"name": "ra", "type": "write_response", "source": "a"},
        {"name": "rb", "type": "write_response", "source": "b"}
    ]))
}

#[test]
fn branches_see_the_same_items_independently() {
    let outcome = run(two_branches(), "F", json!({"data": {"n": 2}})).unwrap();
    assert_eq!(json!(outcome.response), json!([{"data": {"n": 3}}, {"data": {"n": 20}}]));
    assert_eq!(json!(outcome.trace[0].items), json!([{"data": {"n": 2}}]));
}

/// Run from a step: it takes the given items, the steps it feeds run after it, and nothing
/// else runs (not the steps above it, not a branch beside it).
#[test]
fn a_run_from_a_step_runs_that_step_and_what_it_feeds_only() {
    let engine = Engine::new().unwrap();
    let plan = engine.load("test", two_branches().to_string().as_bytes()).unwrap();
    let pinned = vec![serde_json::from_value(json!({"data": {"n": 5}})).unwrap()];
    let outcome = plan.run_from("F", "a", pinned, &RunContext::default(), RunOptions::default()).unwrap();
    assert_eq!(json!(outcome.response), json!([{"data": {"n": 6}}]));
    let statuses: Vec<_> = outcome.trace.iter().map(|t| (t.step.as_str(), t.status, t.items_in)).collect();
    assert_eq!(
        statuses,
        [
            ("model", StepStatus::NotRun, 0),
            ("a", StepStatus::Ok, 1),
            ("b", StepStatus::NotRun, 0),
            ("ra", StepStatus::Ok, 1),
            ("rb", StepStatus::NotRun, 0)
        ]
    );
    for (step, reason) in [("nope", "it has no step of that name"), ("model", "the step has no source step")] {
        let err = plan.run_from("F", step, Vec::new(), &RunContext::default(), RunOptions::default()).unwrap_err();
        assert!(
            matches!(&err, RunError::CannotRunFrom { step: s, reason: r, .. } if s == step && r.starts_with(reason)),
            "{err}"
        );
    }
}

#[test]
fn fan_out_filter_and_form_actions_flow_through() {
    let outcome = run(
        flow(json!([
            {"name": "model", "type": "get_action_model"},
            {"name": "lines", "type": "extract_collection", "source": "model", "settings": {"path": "data.lines"}},
            {"name": "big", "type": "filter_source", "source": "lines", "settings": {"field": "q", "operator": "greater", "value": 1}},
            {"name": "modal", "type": "form_action", "source": "big", "settings": {"actionType": "OpenModal", "fields": ["q"]}},
            {"name": "response", "type": "write_response", "source": "modal"}
        ])),
        "F",
        json!({"data": {"lines": [{"q": 1}, {"q": 2}, {"q": 3}]}}),
    )
    .unwrap();
    assert_eq!(json!(outcome.response), json!([{"q": 2}, {"q": 3}]));
    assert_eq!(outcome.form_actions.len(), 2);
    assert_eq!(outcome.form_actions[1]["parameters"], json!({"q": 3}));
    let counts: Vec<_> = outcome.trace.iter().map(|t| (t.items_in, t.items_out)).collect();
    assert_eq!(counts, [(1, 1), (1, 3), (3, 2), (2, 2), (2, 2)]);
}

#[test]
fn a_failing_step_stops_the_run_and_keeps_the_partial_trace() {
    let err = run(
        flow(json!([
            {"name": "model", "type": "get_action_model"},
            {"name": "boom", "type": "execute_script", "source": "model", "settings": {"script": "\nthrow \"no luck\";"}},
            {"name": "response", "type": "write_response", "source": "boom"}
        ])),
        "F",
        json!({}),
    )
    .unwrap_err();
    let RunError::StepFailed(failure) = err else { panic!("{err}") };
    assert_eq!(failure.step, "boom");
    assert_eq!(failure.step_type, "execute_script");
    assert_eq!(failure.pointer, "/dataflows/0/stages/0/steps/1/settings/script");
    assert_eq!(failure.message, "script error: no luck (script line 2, column 1)");
    assert_eq!(
        failure.to_string(),
        "step \"boom\" (execute_script) failed: script error: no luck (script line 2, column 1)"
    );
    let statuses: Vec<_> = failure.trace.iter().map(|t| t.status).collect();
    assert_eq!(statuses, [StepStatus::Ok, StepStatus::Failed, StepStatus::NotRun]);
    // The trace, as the run record keeps it, places the failure for the builder's editor.
    assert_eq!(json!(failure.trace[1])["failedAt"], json!({"setting": "script", "line": 2, "column": 1}));
    assert_eq!(json!(failure.trace[0]).get("failedAt"), None);
}

/// What a builder's path picker offers at a step: the fields the steps upstream name as
/// written (a script's literal keys too), also in a file that has problems.
#[test]
fn every_step_is_offered_the_fields_written_upstream_of_it() {
    let engine = Engine::new().unwrap();
    let file = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/for-test-code/component.json"));
    let file = file.unwrap();
    let fields_at = |file: &[u8], pointer: &str| {
        let (_, fields) = engine.load_with_fields("c.json", file, &sluice::entries::NoOtherComponents);
        fields.into_iter().find(|f| f.pointer == pointer).map(|f| f.fields)
    };
    assert_eq!(fields_at(&file, "/dataflows/0/stages/0/steps/0"), Some(vec![]));
    assert_eq!(fields_at(&file, "/dataflows/0/stages/1/steps/1").unwrap(), ["_user"]);
    let at_save = fields_at(&file, "/dataflows/0/stages/2/steps/0").unwrap();
    assert_eq!(at_save, ["_user", "_oneTimeCode", "_otpChallenge", "new_code"]);
    // Another dataflow starts from nothing.
    assert_eq!(fields_at(&file, "/dataflows/1/stages/1/steps/1").unwrap(), ["_code"]);
    // A step of an unknown type above: the steps below it are still offered what is known.
    let broken = String::from_utf8(file).unwrap().replace("\"get_user_info\"", "\"get_user_inf\"");
    let (loaded, _) = engine.load_with_fields("c.json", broken.as_bytes(), &sluice::entries::NoOtherComponents);
    assert!(loaded.is_err());
    assert_eq!(
        fields_at(broken.as_bytes(), "/dataflows/0/stages/2/steps/0").unwrap(),
        ["_oneTimeCode", "_otpChallenge", "new_code"]
    );
}

#[test]
fn an_unknown_dataflow_is_named_with_the_known_ones() {
    let err = run(flow(json!([{"name": "model", "type": "get_action_model"}])), "G", json!({})).unwrap_err();
    assert_eq!(err.to_string(), "component \"T\" has no dataflow named \"G\" (it has: F)");
}

#[test]
fn engines_and_plans_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
    assert_send_sync::<sluice::Plan>();
    let engine = Engine::new().unwrap();
    let plan = std::sync::Arc::new(engine.load_file(EXAMPLE).unwrap());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let plan = plan.clone();
            std::thread::spawn(move || {
                let input = json!({"data": {"UserName": format!("u{i}")}});
                plan.run("GetCode", &input, &RunContext::default(), RunOptions::default()).unwrap().response.len()
            })
        })
        .collect();
    assert!(handles.into_iter().all(|h| h.join().unwrap() == 1));
}

#[test]
fn every_built_in_step_is_registered_with_labels_for_every_setting() {
    let engine = Engine::new().unwrap();
    let ids: Vec<_> = engine.steps().map(|s| s.descriptor.meta.id).collect();
    assert_eq!(ids, sluice::BUILT_IN_STEPS);
    for step in engine.steps() {
        let meta = &step.descriptor.meta;
        let mut properties: Vec<&str> =
            step.schema["properties"].as_object().map(|p| p.keys().map(String::as_str).collect()).unwrap_or_default();
        let mut labelled: Vec<&str> = meta.settings.iter().map(|s| s.name).collect();
        properties.sort_unstable();
        labelled.sort_unstable();
        assert_eq!(properties, labelled, "{}: every setting needs a label, and every label a setting", meta.id);
        for lang in Lang::ALL {
            assert!(!meta.title.get(lang).is_empty() && !meta.description.get(lang).is_empty(), "{}", meta.id);
            assert!(meta.settings.iter().all(|s| !s.label.get(lang).is_empty()), "{}", meta.id);
        }
        for (name, property) in step.schema["properties"].as_object().into_iter().flatten() {
            assert!(property.get("description").is_some(), "{}.{name} has no description", meta.id);
        }
    }
}

/// Every setting has its help text in every language, and no translation names a setting
/// that is gone.
#[test]
fn every_setting_has_its_help_text_in_every_language() {
    let engine = Engine::new().unwrap();
    let settings: Vec<String> = engine
        .steps()
        .flat_map(|s| s.descriptor.meta.settings.iter().map(|set| format!("{}/{}", s.descriptor.meta.id, set.name)))
        .collect();
    // The nested values each step's schema describes: (step, JSON Pointer under $defs).
    let nested: Vec<(&str, String)> = engine
        .steps()
        .flat_map(|s| sluice::help::described_definitions(&s.schema).into_iter().map(|at| (s.descriptor.meta.id, at)))
        .collect();
    for lang in Lang::ALL.into_iter().filter(|l| *l != Lang::En) {
        let missing: Vec<String> = settings
            .iter()
            .filter(|key| {
                let (step, setting) = key.split_once('/').unwrap();
                sluice::help::setting_help(lang, step, setting).is_none_or(str::is_empty)
            })
            .cloned()
            .chain(
                nested
                    .iter()
                    .filter(|(step, at)| sluice::help::nested_help(lang, step, at).is_none_or(str::is_empty))
                    .map(|(step, at)| format!("{step}{at}")),
            )
            .collect();
        assert!(missing.is_empty(), "help/{}.json lacks {missing:?}", lang.code());
        let used = |key: &str| {
            settings.iter().any(|s| s == key)
                || nested.iter().any(|(step, at)| key == &at[1..] || key == format!("{step}{at}"))
        };
        let stale: Vec<&str> = sluice::help::translated_keys(lang).into_iter().filter(|k| !used(k)).collect();
        assert!(stale.is_empty(), "help/{}.json translates settings or values that are gone: {stale:?}", lang.code());
    }
    let french = engine.catalog(Lang::Fr);
    let code = french.iter().find(|e| e.id == "get_one_time_code_for_user").unwrap();
    assert_eq!(
        code.schema["properties"]["codeLength"]["description"],
        "Nombre de chiffres du code, de 6 à 10. Par défaut 6."
    );
    // Nested values too: an enum's choices, a field mapping's parts (one step's own text where
    // two steps' definitions share a name).
    let filter = french.iter().find(|e| e.id == "filter_source").unwrap();
    assert_eq!(filter.schema["$defs"]["Operator"]["oneOf"][2]["description"], "Le champ est supérieur à la valeur.");
    let entry = french.iter().find(|e| e.id == "update_entry").unwrap();
    assert_eq!(entry.schema["$defs"]["FieldMapping"]["description"], "Un champ à écrire.");
    assert_eq!(
        entry.schema["$defs"]["FieldMapping"]["properties"]["to"]["description"],
        "La définition dans laquelle elle est écrite."
    );
    let english = engine.catalog(Lang::En);
    let code = english.iter().find(|e| e.id == "get_one_time_code_for_user").unwrap();
    assert_eq!(code.schema["properties"]["codeLength"]["description"], "Digits in the code, 6 to 10. Default 6.");
}

#[test]
fn the_french_catalog_uses_french_labels() {
    let catalog = Engine::new().unwrap().catalog(Lang::Fr);
    let script = catalog.iter().find(|e| e.id == "execute_script").unwrap();
    assert_eq!(script.title, "Exécuter le script");
    assert_eq!(script.group_title, "Transformation du modèle");
    let filter = catalog.iter().find(|e| e.id == "filter_source").unwrap();
    assert_eq!(filter.schema["properties"]["compareWithNull"]["title"], "Comparer avec null");
    assert_eq!(catalog[0].group, sluice::Group::Input);
}

#[test]
fn checked_in_schemas_are_up_to_date() {
    let engine = Engine::new().unwrap();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas");
    let mut stale = Vec::new();
    // Compared as JSON values: key order depends on serde_json's `preserve_order`, which a
    // dependency of some test may switch on for the whole test build.
    let parse = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
    for (name, text) in sluice::schema::schema_files(&engine) {
        let path = std::path::Path::new(root).join(&name);
        let on_disk = std::fs::read_to_string(&path).ok();
        if on_disk.as_deref().and_then(parse) != parse(&text) {
            stale.push(name);
        }
    }
    let on_disk = std::fs::read_dir(format!("{root}/steps")).map(|d| d.count()).unwrap_or(0);
    assert!(
        stale.is_empty() && on_disk == sluice::BUILT_IN_STEPS.len(),
        "stale schemas {stale:?}; run `cargo run -p sluice-cli -- schemas --out schemas`"
    );
}

#[test]
fn a_store_that_cannot_be_written_fails_the_step_as_unavailable() {
    // A real SQLite file whose write lock another process holds: the code step cannot store
    // its code and, after the busy timeout, fails as "unavailable" (a server answers 503),
    // not as a fault of the dataflow.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.db");
    let services = sluice::setup::open(&format!("sqlite:{}", path.display()), &Default::default()).unwrap();
    services.store.import_users(&[sluice::store::User::new("ann")]).unwrap();
    let engine = Engine::builder().services(services).build().unwrap();
    let plan =
        engine.load_file(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/for-test-code/component.json")).unwrap();
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let cx = RunContext { user: Some("ann".into()), client: Some("web".into()) };
    let failure = match plan.run("GetCode", &json!({"data": {}}), &cx, RunOptions::default()) {
        Err(RunError::StepFailed(f)) => f,
        other => panic!("expected a step failure, got {other:?}"),
    };
    assert_eq!(failure.step, "code");
    assert!(failure.unavailable, "{}", failure.message);
    assert!(failure.message.contains("another process holds the database"), "{}", failure.message);
    holder.execute_batch("ROLLBACK").unwrap();
    assert!(plan.run("GetCode", &json!({"data": {}}), &cx, RunOptions::default()).is_ok(), "and works again");
}

/// A step on its own is built by the loader's own path: what a file would be told about the same
/// step, `single_step` tells too, pointing into the step.
#[test]
fn a_single_step_is_checked_as_a_dataflow_step_is() {
    let engine = Engine::new().unwrap();
    let definitions = Default::default();
    let refused = |step_type: &str, settings: Value| match engine.single_step("s", step_type, settings, &definitions) {
        Ok(_) => panic!("{step_type} was built"),
        Err(problems) => problems,
    };
    let typo = refused("execute_scrpt", json!({"script": "1"}));
    assert_eq!((typo[0].pointer.as_str(), typo[0].message.as_str()), ("/type", "unknown step type \"execute_scrpt\""));
    assert_eq!(typo[0].hint.as_deref(), Some("did you mean \"execute_script\"?"));
    let unknown_key = refused("execute_script", json!({"script": "1", "scrpt": 2}));
    assert_eq!(unknown_key[0].pointer, "/settings/scrpt");
    assert_eq!(unknown_key[0].step.as_deref(), Some("s"));
    let not_an_object = refused("execute_script", json!([1]));
    assert_eq!(
        (not_an_object[0].pointer.as_str(), not_an_object[0].message.as_str()),
        ("/settings", "expected an object, found an array of 1 element(s)")
    );
    assert_eq!(not_an_object[0].hint.as_deref(), Some("write an object here"), "the words a file gets");
    // The step's own build checks run too (a script that does not compile, located in it).
    let broken = refused("execute_script", json!({"script": "let x = ;"}));
    assert!(broken[0].pointer.starts_with("/settings/script"), "{broken:?}");
    let built = engine.single_step("s", "execute_script", json!({"script": "item.n = 2;"}), &definitions).unwrap();
    assert_eq!(built.run_one(json!({})).unwrap().items[0]["n"], json!(2));
}
