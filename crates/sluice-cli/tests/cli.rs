//! The `sluice` binary: exit codes, output formats and messages.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

use assert_cmd::Command;
use serde_json::Value;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/for-test-code-demo/component.json");
const BAD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../sluice/tests/bad-components/many-problems-at-once.json");

fn sluice() -> Command {
    Command::cargo_bin("sluice").unwrap()
}

fn stdout_json(output: &std::process::Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn validate_accepts_the_example() {
    let out = sluice().args(["validate", EXAMPLE]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("component.json: valid\n"));
}

#[test]
fn validate_prints_each_problem_as_file_line_col_pointer_message() {
    let out = sluice().args(["validate", BAD]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr.lines().next().unwrap();
    assert!(
        first.ends_with(
            "many-problems-at-once.json:1:1: (root): the required key \"name\" is missing (fix: add \"name\")"
        ),
        "{first}"
    );
    assert!(stderr.contains(
        ":30:25: /dataflows/0/stages/1/steps/0/source: step \"script\": no step named \"modle\" in this dataflow (fix: did you mean \"model\"?)"
    ));
    assert!(stderr.ends_with("4 problems found\n"), "{stderr}");
}

#[test]
fn validate_json_lists_errors_with_pointer_line_column_step_and_message() {
    let out = sluice().args(["validate", "--format", "json", EXAMPLE, BAD]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report = stdout_json(&out);
    assert_eq!(report["valid"], false);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 4);
    let source = &errors[2];
    assert_eq!(source["pointer"], "/dataflows/0/stages/1/steps/0/source");
    assert_eq!((source["line"].as_u64(), source["column"].as_u64()), (Some(30), Some(25)));
    assert_eq!(source["step"], "script");
    assert_eq!(source["message"], "no step named \"modle\" in this dataflow");
    assert!(source["file"].as_str().unwrap().ends_with("many-problems-at-once.json"));
}

#[test]
fn steps_lists_the_catalog_in_french() {
    let out = sluice().args(["steps", "--lang", "fr", "--format", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let catalog = stdout_json(&out);
    assert_eq!(catalog.as_array().unwrap().len(), sluice::BUILT_IN_STEPS.len());
    let model = &catalog[0];
    assert_eq!(model["id"], "get_action_model");
    assert_eq!(model["title"], "Obtenir le modèle d'action");
    assert_eq!(model["settings"][0]["label"], "Valider les valeurs d'entrée");
    assert_eq!(model["schema"]["properties"]["validateInputValues"]["title"], "Valider les valeurs d'entrée");
    let text = sluice().args(["steps", "--lang", "de"]).output().unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("Skript ausführen"));
    let code = catalog.as_array().unwrap().iter().find(|s| s["id"] == "get_one_time_code_for_user").unwrap();
    assert_eq!(code["title"], "Obtenir un code à usage unique pour l'utilisateur");
    let labels: Vec<&str> = code["settings"].as_array().unwrap().iter().filter_map(|s| s["label"].as_str()).collect();
    assert_eq!(labels[..3], ["Nom d'utilisateur", "Client pour la demande", "Durée de vie du code"]);
}

#[test]
fn run_prints_the_response_and_the_trace() {
    let out = sluice()
        .args(["run", EXAMPLE, "--dataflow", "GetCode", "--input", r#"{"data":{"UserName":"ann"}}"#])
        .args(["--trace", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let result = stdout_json(&out);
    assert_eq!(result["response"][0]["data"]["ForTestCode"], "42");
    assert_eq!(result["response"][0]["new_code"], "42");
    assert_eq!(result["formActions"], Value::Array(vec![]));
    let trace = result["trace"].as_array().unwrap();
    assert_eq!(trace.len(), 3);
    assert_eq!(trace[1]["step"], "script");
    assert_eq!(trace[1]["items"][0]["data"]["ForTestCode"], "42");
    let plain = sluice().args(["run", EXAMPLE, "-d", "GetCode"]).output().unwrap();
    assert!(stdout_json(&plain).is_array());
}

#[test]
fn a_failing_run_exits_1_naming_the_step_and_its_place() {
    let file = std::env::temp_dir().join(format!("sluice-cli-fails-{}.json", std::process::id()));
    std::fs::write(
        &file,
        r#"{"name": "F", "dataflows": [{"name": "Go", "stages": [{"name": "S", "steps": [
  {"name": "model", "type": "get_action_model"},
  {"name": "check", "type": "execute_script", "source": "model", "settings": {"script": "throw \"bad input\";"}}]}]}]}"#,
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let out = sluice().args(["run", path, "-d", "Go"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            ":3:89: /dataflows/0/stages/0/steps/1/settings/script: step \"check\" (execute_script) failed: script error: bad input"
        ),
        "{stderr}"
    );
    let json = sluice().args(["run", path, "-d", "Go", "--format", "json", "--trace"]).output().unwrap();
    assert_eq!(json.status.code(), Some(1));
    let report = stdout_json(&json);
    assert_eq!(report["error"]["step"], "check");
    assert_eq!(report["trace"][1]["status"], "failed");
    let unknown = sluice().args(["run", EXAMPLE, "-d", "Nope"]).output().unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("has no dataflow named \"Nope\" (it has: GetCode)"));
    std::fs::remove_file(file).ok();
}

#[test]
fn usage_and_environment_problems_exit_2() {
    assert_eq!(sluice().args(["validate", "/no/such/file.json"]).output().unwrap().status.code(), Some(2));
    assert_eq!(sluice().args(["validate"]).output().unwrap().status.code(), Some(2));
    assert_eq!(sluice().args(["steps", "--lang", "xx"]).output().unwrap().status.code(), Some(2));
    let bad_input = sluice().args(["run", EXAMPLE, "-d", "GetCode", "--input", "{nope"]).output().unwrap();
    assert_eq!(bad_input.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_input.stderr).contains("--input is not valid JSON"));
}

#[test]
fn every_command_has_help() {
    let commands: [&[&str]; 5] =
        [&["--help"], &["validate", "--help"], &["steps", "--help"], &["run", "--help"], &["schemas", "--help"]];
    for command in commands {
        let out = sluice().args(command).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: sluice"));
    }
}
