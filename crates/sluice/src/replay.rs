//! `sluice replay DIR`: runs the scenario of an example folder against a fresh store and
//! checks what a person would check by hand.
//!
//! The folder holds `component.json` and `users.json`. The scenario follows from the
//! dataflows: `GetCode` and `ConfirmCode` (the ForTestCode scenario), or `Login` and `Verify`
//! (the e-mail two-factor login, with the code read from the outbox). Time runs on a
//! [`ManualClock`] started at the wall-clock time, so "after the lifetime" is checked without
//! waiting.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};
use sluice_core::otp::Rejection;
use sluice_core::store::Store;
use sluice_core::{Engine, ManualClock, Outcome, Plan, RunContext, RunError, RunOptions, Services, sessions};

use crate::folder::{FolderError, read};
use crate::setup::{self, Secrets};
use crate::users::parse_users;

/// How to replay.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// The store URL; `None` makes a fresh SQLite file in a temporary folder.
    pub store: Option<String>,
    /// The calling user; default: the first user of `users.json`.
    pub user: Option<String>,
    /// The client the codes are for.
    pub client: String,
    /// Code lifetime the scenario's GetCode uses, in milliseconds (to step past it).
    pub lifetime_ms: i64,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions { store: None, user: None, client: "workplace".into(), lifetime_ms: 300_000 }
    }
}

/// One check of the replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What is checked.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// What was seen.
    pub detail: String,
}

mod accounts;

/// Where the links of the account scenarios point (nothing is served there during a replay).
const REPLAY_PUBLIC_URL: &str = "http://localhost:8080";

struct Scenario {
    plan: Plan,
    services: Services,
    /// Passwords of users.json, by lower-case user name (the store keeps only hashes).
    passwords: HashMap<String, String>,
    clock: Arc<ManualClock>,
    store: Arc<dyn Store>,
    cx: RunContext,
}

impl Scenario {
    fn run(&self, dataflow: &str, input: Value) -> Result<Outcome, RunError> {
        self.plan.run(dataflow, &input, &self.cx, RunOptions { trace_items: false, ..Default::default() })
    }

    /// Runs `dataflow` on `input`: what it answered, or what the failing step said with its
    /// trace notes (where a refused code's reason is).
    fn attempt(&self, dataflow: &str, input: Value) -> Result<Outcome, String> {
        self.run(dataflow, input).map_err(|e| match e {
            RunError::StepFailed(f) => {
                let notes = f.trace.iter().flat_map(|t| t.notes.clone()).collect::<Vec<_>>().join("; ");
                format!("step \"{}\" said \"{}\" ({notes})", f.step, f.message)
            }
            other => other.to_string(),
        })
    }

    /// The check that ConfirmCode accepts `typed`.
    fn accepted(&self, name: &str, typed: &str) -> Check {
        let confirmed = self
            .attempt("ConfirmCode", confirm_code_input(typed))
            .map(|outcome| outcome.response.first().and_then(|i| i.get("_confirmed")).cloned().unwrap_or(Value::Null));
        let (passed, detail) = match confirmed {
            Ok(confirmed) => (confirmed == json!(true), format!("confirmed = {confirmed}")),
            Err(said) => (false, said),
        };
        Check { name: name.into(), passed, detail }
    }

    /// The check that `dataflow` refuses the code in `input` for the reason `why`, and for no other.
    fn refused(&self, name: &str, dataflow: &str, input: Value, why: Rejection) -> Check {
        self.refused_with(name, dataflow, input, why.reason())
    }

    /// The check that `dataflow` fails on `input` with a message or trace note holding
    /// `expected` (the reason it names), and for no other.
    fn refused_with(&self, name: &str, dataflow: &str, input: Value, expected: &str) -> Check {
        let (passed, detail) = match self.attempt(dataflow, input) {
            Ok(outcome) => (false, format!("accepted: {}", json!(outcome.response))),
            Err(said) => (said.contains(expected), said),
        };
        let detail = if passed { detail } else { format!("{detail}; expected the reason \"{expected}\"") };
        Check { name: name.into(), passed, detail }
    }

    /// Runs GetCode and returns the code the modal shows, after checking it against the entry.
    fn get_code(&self, checks: &mut Vec<Check>) -> Option<String> {
        let outcome = match self.run("GetCode", json!({"data": {}})) {
            Ok(outcome) => outcome,
            Err(e) => {
                checks.push(fail("GetCode runs", e.to_string()));
                return None;
            }
        };
        let modal = outcome.form_actions.iter().find(|a| a["type"] == "OpenModal");
        let shown = modal.and_then(|m| m["parameters"]["ForTestCode"].as_str()).map(str::to_owned);
        let Some(shown) = shown else {
            checks.push(fail("the modal shows ForTestCode", format!("form actions: {}", json!(outcome.form_actions))));
            return None;
        };
        let entry_id = outcome.response.first().and_then(|i| i.get("_entryId")).and_then(Value::as_str);
        let entry = entry_id.and_then(|id| self.store.get_entry(self.plan.name(), id).ok().flatten());
        let stored = entry.as_ref().and_then(|e| e.data.get("ForTestCode")).and_then(Value::as_str);
        let leaked = outcome.response.iter().any(|i| i.contains_key("_oneTimeCode"));
        checks.push(Check {
            name: "the modal shows the code stored in the entry".into(),
            passed: stored == Some(shown.as_str()) && shown.len() == 6 && !leaked,
            detail: format!(
                "entry {} holds a {}-digit ForTestCode equal to the modal's; the response {} the raw _oneTimeCode",
                entry_id.unwrap_or("(none)"),
                shown.len(),
                if leaked { "leaks" } else { "leaves out" }
            ),
        });
        Some(shown)
    }
}

/// ConfirmCode's input for the code `typed`.
fn confirm_code_input(typed: &str) -> Value {
    json!({"data": {"ForTestCode": typed}})
}

fn fail(name: &str, detail: String) -> Check {
    Check { name: name.into(), passed: false, detail }
}

/// A code that differs from `code` in its last digit.
fn wrong(code: &str) -> String {
    let mut digits: Vec<u8> = code.bytes().collect();
    if let Some(last) = digits.last_mut() {
        *last = b'0' + (*last - b'0' + 1) % 10;
    }
    String::from_utf8(digits).unwrap_or_default()
}

/// Replays the scenario in `dir` and returns every check.
pub fn replay(dir: &Path, options: &ReplayOptions) -> Result<Vec<Check>, FolderError> {
    let component = dir.join("component.json");
    if !component.exists() && dir.join("tests.json").exists() {
        return replay_tests(dir, options);
    }
    let users_file = dir.join("users.json");
    let users_text = read(&users_file)?;
    let users = parse_users(&users_text).map_err(|problems| FolderError::located(users_file.display(), &problems))?;
    let (url, fresh) = match &options.store {
        Some(url) => (url.clone(), None),
        None => {
            let dir = std::env::temp_dir().join(format!("sluice-replay-{}", sluice_core::new_uuid()));
            (format!("sqlite:{}", dir.join("sluice.db").display()), Some(dir))
        }
    };
    let passwords = crate::users::passwords_in(&users_text);
    let result = replay_in(&component, &url, users, passwords, options);
    if let Some(dir) = fresh {
        let _ = std::fs::remove_dir_all(dir);
    }
    result
}

/// A folder of several components replays its tests (`tests.json`), each case on a fresh
/// SQLite file: the same cases as `sluice test`, on the store a single machine runs.
fn replay_tests(dir: &Path, options: &ReplayOptions) -> Result<Vec<Check>, FolderError> {
    if options.store.is_some() {
        return Err(FolderError::Setup(format!(
            "{} replays its tests each on a fresh SQLite file; --store is not taken here",
            dir.display()
        )));
    }
    let root = std::env::temp_dir().join(format!("sluice-replay-{}", sluice_core::new_uuid()));
    let made = std::sync::atomic::AtomicUsize::new(0);
    let fresh = || {
        let n = made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let store = sluice_store_sqlite::SqliteStore::open(root.join(format!("case-{n}.db")));
        store.map(|s| Arc::new(s) as Arc<dyn Store>).map_err(|e| e.to_string())
    };
    let report = crate::component_tests::run_folder_on(dir, &fresh);
    let _ = std::fs::remove_dir_all(&root);
    let report = report?;
    Ok(report
        .cases
        .into_iter()
        .map(|case| Check {
            passed: case.passed(),
            detail: if case.passed() { "on a fresh SQLite file".into() } else { case.failures.join("; ") },
            name: case.name,
        })
        .collect())
}

fn replay_in(
    component: &Path,
    url: &str,
    users: Vec<sluice_core::store::User>,
    passwords: HashMap<String, String>,
    options: &ReplayOptions,
) -> Result<Vec<Check>, FolderError> {
    let setup_error = |e: &dyn std::fmt::Display| FolderError::Setup(e.to_string());
    let clock = Arc::new(ManualClock::at(chrono::Utc::now()));
    // A key of the replay's own: it checks codes it issued itself, on any store (a shared
    // PostgreSQL store would otherwise ask for the replicas' SLUICE_SECRET).
    let secret = format!("{}{}", sluice_core::new_uuid(), sluice_core::new_uuid()).replace('-', "");
    let secrets = Secrets { current: Some(secret), previous: Vec::new() };
    let services = setup::open(url, &secrets)
        .map_err(|e| setup_error(&e))?
        .with_clock(clock.clone())
        .with_public_url(REPLAY_PUBLIC_URL);
    let store = services.store.clone();
    store.import_users(&users).map_err(|e| setup_error(&e))?;
    let engine = Engine::builder().services(services).build().map_err(|e| setup_error(&e))?;
    let bytes = read(component)?;
    let plan = engine.load(&component.display().to_string(), bytes.as_bytes())?;
    let user = options.user.clone().or_else(|| users.first().map(|u| u.user_name.clone()));
    let cx = RunContext { user, client: Some(options.client.clone()) };
    let scenario = Scenario { plan, services: engine.services().clone(), passwords, clock, store, cx };
    let names = scenario.plan.dataflow_names();
    let has = |wanted: &[&str]| wanted.iter().all(|w| names.contains(w));
    if has(&["Register", "ConfirmEmail", "Login", "Verify"]) {
        return Ok(accounts::signup(&scenario));
    }
    if has(&["ForgotPassword", "ResetPassword", "Login", "Verify"]) {
        return Ok(accounts::password_reset(&scenario));
    }
    if has(&["Enrol", "ConfirmEnrolment", "Login"]) {
        return Ok(accounts::authenticator_app(&scenario));
    }
    if names.contains(&"Login") && names.contains(&"Verify") {
        return Ok(email_two_factor(&scenario, engine.services()));
    }
    if !(names.contains(&"GetCode") && names.contains(&"ConfirmCode")) {
        return Err(FolderError::Invalid(format!(
            "{}: no scenario to replay: the dataflows must be GetCode and ConfirmCode; Login and Verify; \
             Register, ConfirmEmail, Login and Verify; ForgotPassword, ResetPassword, Login and Verify; or Enrol, \
             ConfirmEnrolment and Login",
            component.display()
        )));
    }
    let mut checks = Vec::new();
    let Some(code) = scenario.get_code(&mut checks) else { return Ok(checks) };

    // The modal shows the code as Aqtra would serialize it; the script strips the quotes.
    checks.push(scenario.accepted("confirm works once", &format!(" \"{code}\" ")));
    let again = confirm_code_input(&code);
    checks.push(scenario.refused("the same code fails the second time", "ConfirmCode", again, Rejection::Used));

    scenario.clock.advance(31_000); // past the resend cooldown
    let Some(code) = scenario.get_code(&mut checks) else { return Ok(checks) };
    let mistyped = confirm_code_input(&wrong(&code));
    checks.push(scenario.refused("a wrong code fails", "ConfirmCode", mistyped, Rejection::Wrong));
    scenario.clock.advance(options.lifetime_ms + 1_000);
    let late = confirm_code_input(&code);
    checks.push(scenario.refused("the right code fails after the lifetime", "ConfirmCode", late, Rejection::Expired));

    // The control for the last check: a fresh code still works just before its lifetime ends.
    let Some(code) = scenario.get_code(&mut checks) else { return Ok(checks) };
    scenario.clock.advance(options.lifetime_ms - 1_000);
    checks.push(scenario.accepted("a new code confirms one second before its lifetime ends", &code));
    Ok(checks)
}

/// The e-mail two-factor login: password, code by in-app mail, confirmation with a session.
fn email_two_factor(scenario: &Scenario, services: &Services) -> Vec<Check> {
    let mut checks = Vec::new();
    let user = scenario.cx.user.clone().unwrap_or_default();
    let login =
        |name: &str, password: &str| scenario.run("Login", json!({"data": {"UserName": name, "Password": password}}));
    let refused = |r: &Result<Outcome, RunError>| match r {
        Err(RunError::StepFailed(f)) => f.message.clone(),
        Ok(_) => "accepted".into(),
        Err(e) => e.to_string(),
    };
    let wrong = refused(&login(&user, "not the password"));
    let unknown = refused(&login("nobody-at-all", "not the password"));
    checks.push(Check {
        name: "a wrong password and an unknown user get the same answer".into(),
        passed: wrong == unknown && wrong == "invalid user name or password",
        detail: format!("wrong password: \"{wrong}\"; unknown user: \"{unknown}\""),
    });
    scenario.clock.advance(60_000);
    let password = scenario.passwords.get(&user.to_lowercase()).cloned().unwrap_or_default();
    let outcome = match login(&user, &password) {
        Ok(outcome) => outcome,
        Err(e) => {
            checks.push(fail("Login runs with the right password", e.to_string()));
            return checks;
        }
    };
    let Some(user_id) = scenario.store.find_user(&user).ok().flatten().map(|u| u.id) else {
        checks.push(fail("the user exists", user));
        return checks;
    };
    let inbox = scenario.store.list_messages(Some(&user_id), None, 1).unwrap_or_default();
    let Some(message) = inbox.first() else {
        checks.push(fail("the code reaches the user's inbox", "the outbox is empty".into()));
        return checks;
    };
    let code: String = code_in(&message.body).unwrap_or_default();
    let response = serde_json::to_string(&outcome.response).unwrap_or_default();
    checks.push(Check {
        name: "the code reaches the user's inbox, in the user's language, and not the response".into(),
        passed: code.len() == 6 && !response.contains(&code) && !response.contains("Password"),
        detail: format!(
            "\"{}\" ({} message, {} digits); the Login response holds neither the code nor the password",
            message.subject,
            if message.html { "HTML" } else { "text" },
            code.len()
        ),
    });
    // Login answers with the code's challenge id, and Verify checks the code against it.
    let challenge = outcome.response.first().and_then(|i| i.get(crate::otp::CHALLENGE_FIELD)).cloned();
    let verify = json!({"data": {"UserName": user, "Code": code, "Challenge": challenge}});
    match scenario.run("Verify", verify.clone()) {
        Ok(outcome) => {
            let item = outcome.response.first().cloned().unwrap_or_default();
            let token = item
                .get(sessions::SESSION_FIELD)
                .and_then(|s| s.get("token"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let session = sessions::check_token(services, token).ok().flatten();
            checks.push(Check {
                name: "the code confirms once and opens a two-factor session".into(),
                passed: item.get("_confirmed") == Some(&json!(true))
                    && session.as_ref().is_some_and(|s| s.user_id == user_id && s.two_factor()),
                detail: format!(
                    "_confirmed = {}, session earned with {}, until {}",
                    item.get("_confirmed").cloned().unwrap_or_default(),
                    session
                        .map(|s| s.methods.iter().map(|f| f.method.name()).collect::<Vec<_>>().join("+"))
                        .unwrap_or_default(),
                    item.get(sessions::SESSION_FIELD).and_then(|s| s.get("expiresAt")).cloned().unwrap_or_default()
                ),
            });
        }
        Err(e) => checks.push(fail("the code confirms once and opens a two-factor session", e.to_string())),
    }
    checks.push(scenario.refused("the same code fails the second time", "Verify", verify, Rejection::Used));
    checks
}

/// The first run of 6 to 10 digits in a message body: the code.
fn code_in(body: &str) -> Option<String> {
    body.split(|c: char| !c.is_ascii_digit()).find(|run| (6..=10).contains(&run.len())).map(str::to_owned)
}
