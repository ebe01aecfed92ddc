//! The `sluice` binary: exit codes, output formats and messages.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)] // test helpers may fail loudly

use assert_cmd::Command;
use serde_json::Value;

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/for-test-code-demo/component.json");
const BAD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/bad-inputs/components/many-problems-at-once.json");

const FOR_TEST_CODE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/for-test-code");

/// The binary, on an in-memory store unless a test names another, working in a temporary
/// folder: a command that fell back on the default store (`.sluice/` in the working folder)
/// writes there, never into the checkout.
fn sluice() -> Command {
    static WORKING_FOLDER: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let folder = WORKING_FOLDER.get_or_init(|| tempfile::tempdir().unwrap());
    let mut command = Command::cargo_bin("sluice").unwrap();
    command.current_dir(folder.path());
    command.env("SLUICE_STORE", "memory:").env_remove("SLUICE_SECRET").env_remove("SLUICE_SECRET_PREVIOUS");
    command
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
fn run_has_a_client_by_default() {
    // The e-mail login issues a code for the run's client: `sluice run` is the client `cli`
    // unless --client names another (it used to stop with "the run has no client").
    let email = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/email-2fa");
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    let users = format!("{email}/users.json");
    assert_eq!(sluice().args(["users", "import", &users, "--store", &store]).output().unwrap().status.code(), Some(0));
    let login = sluice()
        .args(["run", &format!("{email}/component.json"), "-d", "Login", "--store", &store, "--format", "json"])
        .args(["--trace", "--input", r#"{"data":{"UserName":"ann","Password":"correct horse battery staple"}}"#])
        .output()
        .unwrap();
    assert_eq!(login.status.code(), Some(0), "{}", String::from_utf8_lossy(&login.stderr));
    let runs = sluice().args(["runs", "list", "--store", &store, "--format", "json"]).output().unwrap();
    assert_eq!(stdout_json(&runs)[0]["client"], "cli");
}

#[test]
fn a_failing_run_exits_1_naming_the_step_and_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fails.json");
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
    let commands: [&[&str]; 16] = [
        &["--help"],
        &["validate", "--help"],
        &["steps", "--help"],
        &["run", "--help"],
        &["schemas", "--help"],
        &["replay", "--help"],
        &["users", "--help"],
        &["users", "import", "--help"],
        &["users", "list", "--help"],
        &["entries", "list", "--help"],
        &["runs", "list", "--help"],
        &["outbox", "list", "--help"],
        &["outbox", "retry", "--help"],
        &["sessions", "list", "--help"],
        &["sessions", "revoke", "--help"],
        &["help", "users"],
    ];
    for command in commands {
        let out = sluice().args(command).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: sluice"));
    }
}

#[test]
fn replay_runs_the_for_test_code_scenario_on_a_fresh_sqlite_store() {
    let out = sluice().env_remove("SLUICE_STORE").args(["replay", FOR_TEST_CODE]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    // Each refusal is checked for its own reason: a ConfirmCode that refused every code after the
    // first success would fail "a new code confirms…" and the reasons.
    for (check, reason) in [
        ("ok   the modal shows the code stored in the entry", "equal to the modal's"),
        ("ok   confirm works once", "confirmed = true"),
        ("ok   the same code fails the second time", "code refused: the code was already used"),
        ("ok   a wrong code fails", "code refused: wrong code"),
        ("ok   the right code fails after the lifetime", "code refused: the code expired"),
        ("ok   a new code confirms one second before its lifetime ends", "confirmed = true"),
    ] {
        let line =
            stdout.lines().find(|l| l.starts_with(check)).unwrap_or_else(|| panic!("{check} missing:\n{stdout}"));
        assert!(line.contains(reason), "{line}");
    }
    let json = sluice().args(["replay", FOR_TEST_CODE, "--format", "json"]).output().unwrap();
    let report = stdout_json(&json);
    assert_eq!(report["passed"], true);
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 8);
    assert!(checks.iter().all(|c| c["passed"] == true), "{report}");
    let missing = sluice().args(["replay", "/no/such/folder"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn users_import_list_and_entries_list_use_the_named_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    let users = format!("{FOR_TEST_CODE}/users.json");
    let import = sluice().args(["users", "import", &users, "--store", &store]).output().unwrap();
    assert_eq!(import.status.code(), Some(0), "{}", String::from_utf8_lossy(&import.stderr));
    assert!(String::from_utf8_lossy(&import.stdout).starts_with("2 users imported into sqlite:"));
    let key = std::fs::metadata(dir.path().join("s.key")).unwrap();
    #[cfg(unix)]
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&key.permissions()) & 0o777, 0o600);

    let list = sluice().args(["users", "list", "--format", "json"]).env("SLUICE_STORE", &store).output().unwrap();
    let listed = stdout_json(&list);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!((listed[0]["userName"].as_str(), listed[1]["active"].as_bool()), (Some("ann"), Some(false)));
    assert!(!String::from_utf8_lossy(&list.stdout).contains("argon2"), "password hashes are never shown");

    let component = format!("{FOR_TEST_CODE}/component.json");
    let run = sluice()
        .args(["run", &component, "-d", "GetCode", "--user", "ann", "--client", "web", "--trace", "--format", "json"])
        .env("SLUICE_STORE", &store)
        .env("SLUICE_LOG", "trace")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let outcome = stdout_json(&run);
    let code = outcome["formActions"][0]["parameters"]["ForTestCode"].as_str().unwrap().to_owned();
    let code_step = outcome["trace"].as_array().unwrap().iter().find(|t| t["step"] == "code").unwrap();
    assert_eq!(code_step["items"][0]["_oneTimeCode"], "[redacted]");
    assert!(outcome["response"][0].get("_oneTimeCode").is_none());
    assert!(!String::from_utf8_lossy(&run.stderr).contains(&code), "the logs never show the code");

    let entries = sluice().args(["entries", "list", "ForTestCodeDemo", "--store", &store, "--format", "json"]).output();
    let entries = stdout_json(&entries.unwrap());
    assert_eq!(entries[0]["data"]["ForTestCode"], code.as_str(), "the scenario stores the code on purpose");
    let text = sluice().args(["entries", "list", "ForTestCodeDemo", "--store", &store]).output().unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("\"ForTestCode\""));
    let runs = sluice().args(["runs", "list", "--store", &store, "--format", "json"]).output().unwrap();
    assert_eq!(stdout_json(&runs)[0]["dataflow"], "GetCode");
}

#[test]
fn a_locked_user_is_unlocked() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    let users = format!("{FOR_TEST_CODE}/users.json");
    assert_eq!(sluice().args(["users", "import", &users, "--store", &store]).output().unwrap().status.code(), Some(0));
    let services = sluice::setup::open(&store, &Default::default()).unwrap();
    let ann = services.store.find_user("ann").unwrap().unwrap();
    services.store.lock(&ann.id, sluice::passwords::LOGIN_SCOPE, i64::MAX).unwrap();
    let unlock = |name: &str| sluice().args(["users", "unlock", name, "--store", &store]).output().unwrap();
    let unlocked = unlock("ann");
    assert_eq!(
        (unlocked.status.code(), String::from_utf8_lossy(&unlocked.stdout).as_ref()),
        (Some(0), "ann is unlocked\n")
    );
    assert_eq!(services.store.locked_until(&ann.id, sluice::passwords::LOGIN_SCOPE, 0).unwrap(), None);
    let unknown = unlock("nobody");
    assert_eq!(unknown.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&unknown.stderr), "error: there is no user named or with id \"nobody\"\n");
}

#[test]
fn the_account_steps_are_listed_in_german() {
    let out = sluice().args(["steps", "--lang", "de"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for (id, title) in [
        ("update_or_create_user_info", "Benutzerinformationen aktualisieren oder erstellen"),
        ("confirm_user_email_request", "Anfrage zur Bestätigung der Benutzer-E-Mail"),
        ("reset_user_password_request", "Anfrage zum Zurücksetzen des Benutzerpassworts"),
        ("assign_context_role_for_model", "Kontextrolle für Modell zuweisen"),
        ("remove_assigned_roles_for_user", "Zugewiesene Rollen des Benutzers entfernen"),
        ("enrol_authenticator_app", "Authenticator-App einrichten"),
    ] {
        let line =
            text.lines().find(|l| l.trim_start().starts_with(id)).unwrap_or_else(|| panic!("{id} missing:\n{text}"));
        assert!(line.contains(title), "{line}");
    }
}

/// The account examples replay, each check with the reason it names (a refusal for another
/// reason than the one checked fails the replay).
#[test]
fn the_account_examples_replay_with_their_reasons() {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let cases: [(&str, &[(&str, &str)]); 3] = [
        (
            "signup",
            &[
                ("ok   a taken name is refused (names ignore case)", "already exists"),
                ("ok   no sign-in before the address is confirmed", "login refused: the user is inactive"),
                ("ok   the link enables the user and verifies the address", "address verified"),
                ("ok   the link works once", "link refused"),
                ("ok   the new user signs in with the password and an e-mailed code", "pwd+otp"),
            ],
        ),
        (
            "password-reset",
            &[
                ("ok   a user and a stranger get the same answer", "both [{\"data\":{\"UserName\":\"NAME\"}}]"),
                ("ok   a common password is refused", "most common"),
                ("ok   the link works once", "link refused"),
                ("ok   the old password no longer works", "login refused: wrong password"),
                ("ok   a link still works a second before its 30 minutes end", "set"),
                ("ok   a link does not work after 30 minutes", "link refused"),
            ],
        ),
        (
            "totp",
            &[
                ("ok   the password and a code of the app open a two-factor session", "pwd+otp"),
                ("ok   the same code fails the second time", "code refused: the code was already used"),
                ("ok   a recovery code stands in for the app", "pwd+otp"),
                ("ok   a recovery code works once", "code refused"),
            ],
        ),
    ];
    for (example, checks) in cases {
        // On a fresh SQLite file, and on PostgreSQL in a schema of its own.
        let schema = sluice_store_postgres::testing::TestSchema::new(&format!("replay_{}", example.replace('-', "_")));
        let stores = std::iter::once(None).chain(schema.as_ref().map(|s| Some(s.url())));
        for store in stores {
            let mut replay = sluice();
            replay.env_remove("SLUICE_STORE").args(["replay", &format!("{examples}/{example}")]);
            if let Some(url) = &store {
                replay.args(["--store", url]);
            }
            let out = replay.output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            let on = store.as_deref().unwrap_or("sqlite");
            assert_eq!(
                out.status.code(),
                Some(0),
                "{example} on {on}: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            for (check, reason) in checks {
                let line = stdout
                    .lines()
                    .find(|l| l.starts_with(check))
                    .unwrap_or_else(|| panic!("{check} missing:\n{stdout}"));
                assert!(line.contains(reason), "{example} on {on}: {line}");
            }
        }
    }
}

#[test]
fn users_are_added_given_passwords_deactivated_and_given_roles_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    let users = |args: &[&str], stdin: &str| {
        let out = sluice().arg("users").args(args).args(["--store", &store]).write_stdin(stdin).output().unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let (code, out, _) =
        users(&["add", "dora", "--email", "dora@example.com", "--password-stdin"], "a walk by the sea\n");
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("dora added ("), "{out}");
    let services = sluice::setup::open(&store, &Default::default()).unwrap();
    let dora = services.store.find_user("dora").unwrap().unwrap();
    assert!(dora.active && dora.email.as_deref() == Some("dora@example.com"));
    assert!(sluice::passwords::matches(dora.password_hash.as_deref().unwrap(), "a walk by the sea"));
    assert_eq!(
        users(&["add", "DORA"], ""),
        (Some(1), String::new(), "error: a user named \"DORA\" already exists\n".into())
    );
    let weak = users(&["add", "eve", "--password-stdin"], "password\n");
    assert_eq!((weak.0, weak.2.contains("most common")), (Some(1), true), "{weak:?}");
    assert!(services.store.find_user("eve").unwrap().is_none());

    let rules = sluice::sessions::SessionRules { lifetime: 3_600_000, idle_timeout: 0 };
    sluice::sessions::open_session(&services, &dora.id, "web", Vec::new(), rules).unwrap();
    let (code, out, _) = users(&["set-password", "dora"], "another walk by the sea\n");
    assert_eq!((code, out.as_str()), (Some(0), "password of dora set; 1 session(s) ended\n"));
    let hash = services.store.find_user("dora").unwrap().unwrap().password_hash.unwrap();
    assert!(sluice::passwords::matches(&hash, "another walk by the sea"));
    assert_eq!(users(&["set-password", "dora"], "dora1234\n").0, Some(1), "holds the user name");

    let (code, out, _) = users(&["roles", "dora", "--grant", "manager", "--grant", "auditor"], "");
    assert_eq!((code, out.as_str()), (Some(0), "2 role(s) given\nsystem  auditor\nsystem  manager\n"));
    let (_, out, _) = users(&["roles", "dora", "--grant", "seller", "--context", "Cars"], "");
    assert_eq!(out, "1 role(s) given\nCars  seller\nsystem  auditor\nsystem  manager\n");
    let (_, out, _) = users(&["roles", "dora", "--revoke", "--context", "system"], "");
    assert_eq!(out, "2 role(s) removed\nCars  seller\n");
    let bad = users(&["roles", "dora", "--grant", "a b"], "");
    assert_eq!((bad.0, bad.2.contains("\"a b\" is not a role or context name")), (Some(2), true), "{bad:?}");

    sluice::sessions::open_session(&services, &dora.id, "web", Vec::new(), rules).unwrap();
    let (code, out, _) = users(&["deactivate", "dora"], "");
    assert_eq!((code, out.as_str()), (Some(0), "dora deactivated; 1 session(s) ended\n"));
    assert!(!services.store.find_user("dora").unwrap().unwrap().active);
    assert_eq!(users(&["deactivate", "nobody"], "").0, Some(2));
}

#[test]
fn sessions_are_listed_and_revoked_by_user() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    let users = format!("{FOR_TEST_CODE}/users.json");
    assert_eq!(sluice().args(["users", "import", &users, "--store", &store]).output().unwrap().status.code(), Some(0));
    // Two sessions of ann, as a confirm step opens them.
    let services = sluice::setup::open(&store, &Default::default()).unwrap();
    let ann = services.store.find_user("ann").unwrap().unwrap();
    for client in ["web", "mobile"] {
        let rules = sluice::sessions::SessionRules { lifetime: 3_600_000, idle_timeout: 0 };
        sluice::sessions::open_session(&services, &ann.id, client, Vec::new(), rules).unwrap();
    }
    drop(services);
    let list = |format: &str| {
        sluice().args(["sessions", "list", "--user", "ann", "--format", format, "--store", &store]).output().unwrap()
    };
    let listed = stdout_json(&list("json"));
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    assert!(listed.to_string().contains("mobile") && !listed.to_string().contains("tokenHash"), "{listed}");
    let revoked = sluice().args(["sessions", "revoke", "--user", "ann", "--store", &store]).output().unwrap();
    assert_eq!(revoked.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&revoked.stdout), "2 session(s) of ann ended\n");
    assert_eq!(String::from_utf8_lossy(&list("text").stdout), "ann has no live session\n");
    let unknown = sluice().args(["sessions", "list", "--user", "nobody", "--store", &store]).output().unwrap();
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn bad_users_files_exit_1_and_bad_stores_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users.json");
    std::fs::write(&file, "[{\"userName\": \"a\"}, {\"userName\": \"A\"}]").unwrap();
    let out = sluice().args(["users", "import", file.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("users.json:1:34: /1/userName: \"A\" appears twice"));
    let out = sluice().args(["users", "list", "--store", "mongodb://x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("unknown store \"mongodb://x\": use memory:, sqlite:PATH or postgres://user@host:port/db")
    );
    let out = sluice()
        .args(["users", "list", "--store", "postgres://sluice@127.0.0.1:9/db"])
        .env_remove("SLUICE_SECRET")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("a PostgreSQL store needs the code secret (SLUICE_SECRET)"));
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![7u8; 8192]).unwrap();
    let out = sluice().args(["users", "list", "--store", &format!("sqlite:{}", junk.display())]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a Sluice database"));
    let out = sluice().args(["users", "list"]).env("SLUICE_SECRET", "short").env("SLUICE_STORE", "memory:").output();
    let out = out.unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 32 characters"));
}

#[test]
fn the_email_login_replays_and_its_outbox_lists_and_retries() {
    let email = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/email-2fa");
    let out = sluice().env_remove("SLUICE_STORE").args(["replay", email]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains("ok   the code reaches the user's inbox, in the user's language, and not the response"),
        "{stdout}"
    );
    assert!(stdout.contains("ok   the code confirms once and opens a two-factor session — _confirmed = true, session earned with pwd+otp"), "{stdout}");
    assert!(stdout.contains("ok   the same code fails the second time — step \"confirm\" said \"invalid or expired code\" (code refused: the code was already used)"), "{stdout}");

    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("s.db").display());
    let users = format!("{email}/users.json");
    assert_eq!(sluice().args(["users", "import", &users, "--store", &store]).output().unwrap().status.code(), Some(0));
    let component = format!("{email}/component.json");
    let ok = sluice()
        .args(["run", &component, "-d", "Login", "--client", "web", "--format", "json"])
        .args(["--input", r#"{"data":{"UserName":"ann","Password":"correct horse battery staple"}}"#])
        .env("SLUICE_STORE", &store)
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stderr));
    let list =
        sluice().args(["outbox", "list", "--user", "ann", "--format", "json", "--store", &store]).output().unwrap();
    let messages = stdout_json(&list);
    assert_eq!(messages[0]["channel"], "Mail");
    assert_eq!(messages[0]["subject"], "Votre code de connexion");
    assert_eq!(messages[0]["status"], "sent");
    let text = sluice().args(["outbox", "list", "--store", &store]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("Mail    sent"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    let retry = sluice().args(["outbox", "retry", "--store", &store]).output().unwrap();
    assert_eq!(retry.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&retry.stdout).starts_with("0 message(s) delivered, 0 still failing"));
    let unknown = sluice().args(["outbox", "list", "--user", "nobody", "--store", &store]).output().unwrap();
    assert_eq!(unknown.status.code(), Some(2));
}

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");

/// Every example folder (each carries its tests).
fn example_folders() -> Vec<std::path::PathBuf> {
    let mut folders: Vec<_> =
        std::fs::read_dir(EXAMPLES).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    folders.sort();
    folders
}

#[test]
fn every_example_carries_tests_and_they_pass_with_a_junit_report() {
    let folders = example_folders();
    assert!(folders.iter().all(|f| f.join("tests.json").is_file()), "an example lacks tests.json: {folders:?}");
    let report = tempfile::tempdir().unwrap();
    let junit = report.path().join("junit.xml");
    let out = sluice().arg("test").args(&folders).arg("--junit").arg(&junit).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("ok   ") && stdout.ends_with(" passed, 0 failed\n"), "{stdout}");
    assert!(stdout.contains("car-dealership: Deal is done archives the car and opens the managers grid"), "{stdout}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<testsuites name=\"sluice test\"") && xml.contains("failures=\"0\""), "{xml}");
    // The car dealership also replays, each case on a fresh SQLite file.
    let dealership = folders.iter().find(|f| f.ends_with("car-dealership")).unwrap();
    let replay = sluice().env_remove("SLUICE_STORE").arg("replay").arg(dealership).output().unwrap();
    assert_eq!(replay.status.code(), Some(0), "{}", String::from_utf8_lossy(&replay.stdout));
}

/// A component that does not load is the folder's fault (exit 1), told at its line and column
/// after the file's name, by `sluice replay` and by `sluice test` (where the case fails).
#[test]
fn a_component_that_does_not_load_is_told_where_by_replay_and_test() {
    let folder = tempfile::tempdir().unwrap();
    let broken = r#"{"name": "Broken", "definitions": {}, "dataflows": [{"name": "GetCode", "stages": [{"name": "Code",
        "steps": [{"name": "code", "type": "get_one_time_code_for_usr"}]}]}]}"#;
    std::fs::write(folder.path().join("component.json"), broken).unwrap();
    std::fs::copy(format!("{FOR_TEST_CODE}/users.json"), folder.path().join("users.json")).unwrap();
    let component = folder.path().join("component.json").display().to_string();
    let replay = sluice().env_remove("SLUICE_STORE").arg("replay").arg(folder.path()).output().unwrap();
    let told = String::from_utf8_lossy(&replay.stderr);
    assert_eq!(replay.status.code(), Some(1), "{told}");
    assert!(told.contains(&format!("{component}:2:")) && told.contains("unknown step type"), "{told}");
    std::fs::write(
        folder.path().join("tests.json"),
        r#"{"cases": [{"name": "any", "runs": [{"dataflow": "GetCode", "expect": {}}]}]}"#,
    )
    .unwrap();
    let test = sluice().arg("test").arg(folder.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&test.stdout);
    assert_eq!(test.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains(&format!("{component}:2:")) && stdout.contains("unknown step type"), "{stdout}");
}

/// A machine that cannot give a case its store is not a failing case: the command stops with
/// exit 2 and says why (here the temporary folder, where `replay` makes each case's SQLite
/// file, is a plain file).
#[test]
fn a_folder_whose_cases_cannot_get_a_store_exits_2() {
    let not_a_folder = tempfile::NamedTempFile::new().unwrap();
    let dealership = format!("{EXAMPLES}/car-dealership");
    let mut replay = sluice();
    replay.env_remove("SLUICE_STORE").env("TMPDIR", not_a_folder.path()).args(["replay", &dealership]);
    let out = replay.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}{stderr}", String::from_utf8_lossy(&out.stdout));
    assert!(stderr.contains("cannot open its store"), "{stderr}");
}

#[test]
fn a_test_that_does_not_hold_says_where_and_exits_1() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::copy(format!("{EXAMPLES}/for-test-code-demo/component.json"), folder.path().join("component.json"))
        .unwrap();
    let tests = r#"{"cases": [{"name": "wrong on purpose", "runs": [{"dataflow": "GetCode",
        "expect": {"response": [{"data": {"ForTestCode": "43"}}]}}]}]}"#;
    std::fs::write(folder.path().join("tests.json"), tests).unwrap();
    let junit = folder.path().join("junit.xml");
    let out = sluice().arg("test").arg(folder.path()).arg("--junit").arg(&junit).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL "), "{stdout}");
    assert!(stdout.contains("run 1 (GetCode): /response/0/data/ForTestCode: expected \"43\", got \"42\""), "{stdout}");
    assert!(std::fs::read_to_string(&junit).unwrap().contains("failures=\"1\""));
    std::fs::write(folder.path().join("tests.json"), r#"{"cases": [{"name": 1}]}"#).unwrap();
    let broken = sluice().arg("test").arg(folder.path()).output().unwrap();
    assert_eq!(broken.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&broken.stderr).contains("tests.json:1:"),
        "{}",
        String::from_utf8_lossy(&broken.stderr)
    );
    let missing = sluice().args(["test", "/no/such/folder"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
}
