//! A one-time code never reaches the store, the logs, the errors, the traces or the response
//! unless a dataflow copies it into a field on purpose; what the store keeps is the HMAC of
//! docs/one-time-codes.md. On SQLite (its file, WAL and key file are searched) and PostgreSQL
//! (every row of every table is searched).

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Mutex;

use serde::Deserialize;
use serde_json::{Value, json};
use sluice::otp::CodeKeys;
use sluice::schemars::{self, JsonSchema};
use sluice::store::User;
use sluice::{
    BuildContext, BuildError, BuiltStep, Engine, Group, Item, Localized, RunContext, RunOptions, Step, StepContext,
    StepDescriptor, StepError, StepMeta, StepPlugin,
};

mod common;
use common::Logs;
use sluice_store_postgres::PostgresStore;
use sluice_store_postgres::testing::TestSchema;

/// Codes seen by the spy step, with the user they were for (the tests' only way to learn them;
/// each test runs as a user of its own).
static SEEN: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

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
        calls_outside: false,
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
            let user = item["_user"]["userName"].as_str().unwrap_or_default().to_owned();
            SEEN.lock().unwrap().push((user, code.to_owned()));
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

/// The HMAC-SHA256 docs/one-time-codes.md describes, computed here from the secret.
fn documented_mac(secret: &str, challenge: &str, user_id: &str, client: &str, code: &str) -> Vec<u8> {
    use hmac::{KeyInit, Mac};
    use sha2::Digest;
    let key = sha2::Sha256::new().chain_update(b"sluice-otp-key-v1").chain_update(secret.as_bytes()).finalize();
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).unwrap();
    mac.update(b"sluice-otp-v1");
    for part in [challenge, user_id, client, code] {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part.as_bytes());
    }
    mac.finalize().into_bytes().to_vec()
}

/// Issues three codes to `user` (confirming the last, after two wrong guesses) on `services`;
/// checks that the stored hash of a live code is the documented HMAC under `secret`. Returns
/// the codes and every text a person could see: responses, traces, errors, logs, run records.
fn exercise(services: sluice::Services, user: &str, secret: &str) -> (Vec<String>, Vec<String>) {
    let logs = Logs::default();
    let _guard = tracing::subscriber::set_default(logs.subscriber());
    services.store.import_users(&[User::new(user)]).unwrap();
    let user_id = services.store.find_user(user).unwrap().unwrap().id;
    let engine = Engine::builder().services(services).register(StepDescriptor::of::<Spy>()).build().unwrap();
    let plan = engine.load("secrecy.json", &component()).unwrap();
    let cx = RunContext { user: Some(user.into()), client: Some("web".into()) };
    let traced = RunOptions { trace_items: true, ..Default::default() };

    let mut visible = Vec::new();
    for _ in 0..3 {
        let outcome = plan.run_recorded("Get", &json!({"data": {}}), &cx, traced).1.unwrap();
        assert!(outcome.response[0].get("_oneTimeCode").is_none(), "the response leaves the code out");
        let code_step = outcome.trace.iter().find(|t| t.step == "code").unwrap();
        assert_eq!(code_step.items.as_ref().unwrap().items()[0]["_oneTimeCode"], "[redacted]");
        visible.push(serde_json::to_string(&outcome).unwrap());
    }
    let codes: Vec<String> =
        SEEN.lock().unwrap().iter().filter(|(u, _)| u == user).map(|(_, code)| code.clone()).collect();
    assert_eq!(codes.len(), 3);
    let last = codes.last().unwrap();

    let stored = engine.services().store.newest_code(&user_id).unwrap().unwrap();
    assert_eq!(stored.mac.len(), 32);
    assert_eq!(stored.mac, documented_mac(secret, &stored.id, &user_id, "web", last), "the stored hash");

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
    (codes, visible)
}

fn assert_absent(codes: &[String], places: &[(String, Vec<u8>)]) {
    for code in codes {
        for (name, bytes) in places {
            assert!(!bytes.windows(code.len()).any(|w| w == code.as_bytes()), "a code leaked into {name}");
        }
    }
}

#[test]
fn codes_stay_out_of_the_sqlite_file_logs_errors_traces_and_responses() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("sluice.db").display());
    let services = sluice::setup::open(&url, &Default::default()).unwrap();
    let key = std::fs::read_to_string(dir.path().join("sluice.key")).unwrap();
    let (codes, visible) = exercise(services, "ann", key.trim());

    let mut places: Vec<(String, Vec<u8>)> = visible.into_iter().map(|t| (t.clone(), t.into_bytes())).collect();
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(files.len() >= 2, "the database and its key file");
    places.extend(files.iter().map(|path| (path.display().to_string(), std::fs::read(path).unwrap())));
    assert_absent(&codes, &places);
}

#[test]
fn codes_stay_out_of_the_postgresql_tables_logs_errors_traces_and_responses() {
    let Some(schema) = TestSchema::new("codes_stay_out_of_the_postgresql_tables") else { return };
    const SECRET: &str = "secrecy-test-secret-0123456789abcdef";
    let store = PostgresStore::open(&schema.url()).unwrap();
    let services = sluice::Services::new(std::sync::Arc::new(store), CodeKeys::from_secret(SECRET).unwrap());
    let (codes, visible) = exercise(services, "bea", SECRET);

    let dump = schema.dump().unwrap();
    assert!(dump.contains("otp_codes: ") && dump.contains("runs: "), "the dump holds the codes and runs: {dump}");
    let mut places: Vec<(String, Vec<u8>)> = visible.into_iter().map(|t| (t.clone(), t.into_bytes())).collect();
    places.push(("the PostgreSQL tables".into(), dump.into_bytes()));
    assert_absent(&codes, &places);
}
