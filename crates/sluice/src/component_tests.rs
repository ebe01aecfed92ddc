//! `sluice test`: the tests kept beside components, run against a fresh store per case.
//!
//! A folder holds component files and `tests.json`:
//!
//! ```json
//! {"components": ["car-fleet.json"], "users": "users.json", "clock": "2026-01-05T09:00:00Z",
//!  "cases": [{"name": "adds a car", "given": {"entries": {"CarFleet": [{"car_vin": "V1"}]}},
//!             "runs": [{"component": "CarFleet", "dataflow": "AddCar", "user": "ann",
//!                       "input": {"data": {"car_vin": "V2"}},
//!                       "expect": {"response": [{"_newCar": {"$match": "uuid"}}],
//!                                  "entries": {"CarFleet": [{"data": {"car_vin": "V1"}}, {"data": {"car_vin": "V2"}}]}}}]}]}
//! ```
//!
//! Each case starts from an empty in-memory store holding the users and the `given` entries,
//! on a clock fixed at `clock`; its runs go in order (`advance` moves the clock first). What a
//! run is expected to give is compared in part: an object names the fields that matter, a list
//! is compared element by element and must be as long, and `{"$match": …}` stands for a value
//! made during the run: `any`, `uuid`, `text`, `number`, `digits` (with `length`) or `regex`
//! (with `pattern`). A matcher with `"as": "code"` keeps the value it matched (a `regex`'s
//! first group, when it has one: the code in a mail's body), and a later
//! input or expectation writes `{"$var": "code"}` for it (a one-time code to confirm, an Id).
//! `{"$totp": "secret"}` is the authenticator code of a kept secret at the case's clock.
//! An object's fields are compared in the order of their names, so a value is kept by the
//! field whose name sorts first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sluice_core::connectors::{ApiClient, ApiRequest, ApiResponse, Connector, Connectors};
use sluice_core::duration::DurationSetting;
use sluice_core::entries::{ComponentHead, EntryKind};
use sluice_core::resilience::CallError;
use sluice_core::store::{EntryWrite, MemoryStore, Store, StoreError};
use sluice_core::{Clock, Engine, ManualClock, Plan, RunContext, RunError, RunOptions, Services};

use crate::folder::{FolderError, read};
use crate::users::{import, parse_users};

/// The tests of one folder.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    /// The component files, relative to the folder (default `component.json`).
    #[serde(default = "default_components")]
    components: Vec<String>,
    /// A users file (as `sluice users import` reads), relative to the folder.
    #[serde(default)]
    users: Option<String>,
    /// When every case starts (RFC 3339; default 2026-01-01T00:00:00Z).
    #[serde(default)]
    clock: Option<String>,
    /// Where account links point (`sluice serve --public-url`); default `http://localhost:8080`.
    #[serde(default = "default_public_url", rename = "publicUrl")]
    public_url: String,
    /// Connectors stood in for by canned answers (no request leaves the machine), by name.
    #[serde(default)]
    connectors: BTreeMap<String, MockConnector>,
    cases: Vec<Case>,
}

/// A connector's canned answers, given in turn (the last one repeats).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct MockConnector {
    #[serde(default)]
    answers: Vec<MockAnswer>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct MockAnswer {
    #[serde(default = "ok_status")]
    status: u16,
    #[serde(default)]
    body: Value,
}

fn ok_status() -> u16 {
    200
}

/// The connectors of a case: canned answers, and the requests they were asked.
struct MockApi {
    answers: BTreeMap<String, MockConnector>,
    asked: std::sync::Mutex<BTreeMap<String, Vec<ApiRequest>>>,
}

impl ApiClient for MockApi {
    fn call(&self, connector: &Connector, request: &ApiRequest) -> Result<ApiResponse, CallError> {
        let mut asked = self.asked.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let calls = asked.entry(connector.name.clone()).or_default();
        calls.push(request.clone());
        let answers = self.answers.get(&connector.name).map(|m| m.answers.as_slice()).unwrap_or_default();
        let answer = answers.get(calls.len() - 1).or(answers.last());
        let (status, body) = answer.map_or((200, Value::Null), |a| (a.status, a.body.clone()));
        match status {
            200..=299 => Ok(ApiResponse { status, body }),
            429 | 500..=599 => Err(CallError::Passing(format!("{} answered {status}", connector.name))),
            _ => Err(CallError::Lasting(format!("{} answered {status}: {body}", connector.name))),
        }
    }
}

fn default_public_url() -> String {
    "http://localhost:8080".into()
}

fn default_components() -> Vec<String> {
    vec!["component.json".into()]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    given: Given,
    runs: Vec<CaseRun>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Given {
    /// Entries stored before the first run, by component: each entry's `data`.
    #[serde(default)]
    entries: BTreeMap<String, Vec<Map<String, Value>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseRun {
    /// The component (default: the folder's only one).
    #[serde(default)]
    component: Option<String>,
    dataflow: String,
    /// The action model (default `{"data": {}}`).
    #[serde(default)]
    input: Option<Value>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    client: Option<String>,
    /// How far the clock moves before this run.
    #[serde(default)]
    advance: Option<DurationSetting>,
    expect: Expect,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Expect {
    #[serde(default)]
    response: Option<Value>,
    #[serde(default)]
    form_actions: Option<Value>,
    /// Every entry of each component named, in the order they were created.
    #[serde(default)]
    entries: BTreeMap<String, Value>,
    /// Every message of the outbox, oldest first.
    #[serde(default)]
    outbox: Option<Value>,
    /// The run fails, with a message holding this text.
    #[serde(default)]
    error: Option<String>,
    /// Every request each connector was asked so far in the case (`method`, `path`, `query`,
    /// `body`).
    #[serde(default)]
    calls: BTreeMap<String, Value>,
}

/// What became of one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    /// The case's name.
    pub name: String,
    /// Every difference found (none: the case passed).
    pub failures: Vec<String>,
    /// How long it took, in seconds.
    pub seconds: f64,
}

impl CaseReport {
    /// Whether the case passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// What became of a folder's tests.
#[derive(Debug, Clone, Serialize)]
pub struct SuiteReport {
    /// The folder.
    pub folder: String,
    /// Its cases, in order.
    pub cases: Vec<CaseReport>,
}

/// The folder of a path given to `sluice test`: the folder itself, or a `tests.json`'s.
pub fn folder_of(path: &Path) -> PathBuf {
    if path.is_file() {
        path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    } else {
        path.to_path_buf()
    }
}

/// Makes the fresh store of one case.
pub type StoreMaker<'m> = dyn Fn() -> Result<Arc<dyn Store>, String> + 'm;

/// Runs the tests of `folder`, each case on a fresh in-memory store.
pub fn run_folder(folder: &Path) -> Result<SuiteReport, FolderError> {
    run_folder_on(folder, &|| Ok(Arc::new(MemoryStore::new()) as Arc<dyn Store>))
}

/// Runs the tests of `folder`, each case on a store `fresh` makes (a SQLite file, say).
pub fn run_folder_on(folder: &Path, fresh: &StoreMaker<'_>) -> Result<SuiteReport, FolderError> {
    let tests_path = folder.join("tests.json");
    let text = read(&tests_path)?;
    let file: TestFile = serde_json::from_str(&text)
        .map_err(|e| FolderError::Invalid(format!("{}:{}:{}: {e}", tests_path.display(), e.line(), e.column())))?;
    let sources: Vec<(String, String)> = file
        .components
        .iter()
        .map(|name| read(&folder.join(name)).map(|text| (folder.join(name).display().to_string(), text)))
        .collect::<Result<_, _>>()?;
    let directory = sluice_core::entries::directory_of(sources.iter().map(|(_, text)| text.as_str()));
    let users = match &file.users {
        Some(name) => {
            let text = read(&folder.join(name))?;
            let parsed =
                parse_users(&text).map_err(|problems| FolderError::located(folder.join(name).display(), &problems))?;
            Some((text, parsed))
        }
        None => None,
    };
    let start = match &file.clock {
        Some(text) => chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|e| {
                FolderError::Invalid(format!("{}: \"clock\" is not an RFC 3339 time: {e}", tests_path.display()))
            })?
            .timestamp_millis(),
        None => 1_767_225_600_000,
    };
    let setting = Setting {
        connectors: &file.connectors,
        sources: &sources,
        directory: &directory,
        users: users.as_ref(),
        start,
        fresh,
        public_url: &file.public_url,
    };
    // A case whose own data is wrong fails; a machine that cannot run cases stops the folder.
    let cases = file
        .cases
        .iter()
        .map(|case| {
            let timer = Instant::now();
            let failures = match run_case(case, &setting) {
                Ok(failures) => failures,
                Err(FolderError::Invalid(text)) => vec![text],
                Err(environment) => return Err(environment),
            };
            Ok(CaseReport { name: case.name.clone(), failures, seconds: timer.elapsed().as_secs_f64() })
        })
        .collect::<Result<_, _>>()?;
    Ok(SuiteReport { folder: folder.display().to_string(), cases })
}

/// What every case of a folder starts from.
struct Setting<'s> {
    connectors: &'s BTreeMap<String, MockConnector>,
    sources: &'s [(String, String)],
    directory: &'s BTreeMap<String, ComponentHead>,
    users: Option<&'s (String, Vec<sluice_core::store::User>)>,
    start: i64,
    fresh: &'s StoreMaker<'s>,
    public_url: &'s str,
}

/// Runs one case on a fresh store; the differences found.
fn run_case(case: &Case, setting: &Setting<'_>) -> Result<Vec<String>, FolderError> {
    let Setting { connectors, sources, directory, users, start, fresh, public_url } = *setting;
    let clock = Arc::new(ManualClock::new(start));
    let keys = sluice_core::otp::CodeKeys::random().map_err(|e| FolderError::Setup(e.to_string()))?;
    let store =
        fresh().map_err(|e| FolderError::Setup(format!("case \"{}\": cannot open its store: {e}", case.name)))?;
    let api = Arc::new(MockApi { answers: connectors.clone(), asked: std::sync::Mutex::default() });
    let declared = connectors
        .keys()
        .map(|name| Connector {
            name: name.clone(),
            base_url: format!("http://{name}.connector.invalid/"),
            headers: Vec::new(),
            calls: sluice_core::resilience::OutsideCalls { delay: std::time::Duration::ZERO, ..Default::default() },
            max_response_bytes: sluice_core::connectors::DEFAULT_MAX_RESPONSE_BYTES,
        })
        .collect();
    let services = Services::new(store, keys)
        .with_clock(clock.clone())
        .with_public_url(public_url)
        .with_connectors(Connectors::new(declared, api.clone()));
    // A taken or missing value is the case's data at fault; a store that fails is the machine's.
    let setup = |e: StoreError| {
        let text = format!("case \"{}\": {e}", case.name);
        if matches!(e, StoreError::Unavailable(_)) { FolderError::Setup(text) } else { FolderError::Invalid(text) }
    };
    if let Some((text, parsed)) = users {
        import(services.store.as_ref(), text, parsed).map_err(setup)?;
    }
    for (component, entries) in &case.given.entries {
        let definitions = directory.get(component).map(|head| head.definitions.clone()).ok_or_else(|| {
            FolderError::Invalid(format!(
                "case \"{}\": given entries of \"{component}\", which no component file is",
                case.name
            ))
        })?;
        let kind = EntryKind::new(component, definitions).map_err(FolderError::Invalid)?;
        for data in entries {
            let write = EntryWrite {
                component: component.clone(),
                data: data.clone(),
                name: None,
                key: kind.key_of(data),
                subject: None,
                at: clock.now(),
                tracked: true,
            };
            services.store.create_entry(&sluice_core::new_time_ordered_uuid(), &write).map_err(setup)?;
        }
    }
    let engine = Engine::builder().services(services.clone()).build().map_err(|e| FolderError::Setup(e.to_string()))?;
    let plans: BTreeMap<String, Arc<Plan>> = sources
        .iter()
        .map(|(origin, text)| {
            let plan = engine.load_among(origin, text.as_bytes(), directory)?;
            Ok((plan.name().to_owned(), Arc::new(plan)))
        })
        .collect::<Result<_, FolderError>>()?;
    // Execute dataflow may call into the other components of the folder (held weakly: the
    // plans hold the services that hold this).
    let held = Arc::new(plans);
    let weak = Arc::downgrade(&held);
    services.plans.set(move |name| weak.upgrade().and_then(|plans| plans.get(name).cloned()));
    let plans = held;
    let mut failures = Vec::new();
    let mut vars = Vars::new();
    for (i, run) in case.runs.iter().enumerate() {
        let at = format!("run {} ({})", i + 1, run.dataflow);
        if let Some(advance) = &run.advance {
            let millis = advance.millis().ok_or_else(|| {
                FolderError::Invalid(format!("case \"{}\", {at}: \"advance\" is not a duration", case.name))
            })?;
            clock.advance(millis);
        }
        let plan = match (&run.component, plans.len()) {
            (Some(name), _) => plans.get(name),
            (None, 1) => plans.values().next(),
            (None, _) => None,
        }
        .ok_or_else(|| {
            FolderError::Invalid(format!("case \"{}\", {at}: say which component runs it (\"component\")", case.name))
        })?;
        let input = match substitute(run.input.clone().unwrap_or_else(|| json!({"data": {}})), &vars, clock.now()) {
            Ok(input) => input,
            Err(name) => {
                // An earlier run did not give what this one needs: the case stops here.
                failures.push(format!("{at}: no earlier matcher kept \"{name}\""));
                break;
            }
        };
        let cx = RunContext { user: run.user.clone(), client: run.client.clone() };
        let result = plan.run(&run.dataflow, &input, &cx, RunOptions::default());
        let mut found = compare_run(&run.expect, result, &services, &mut vars);
        for (name, expected) in &run.expect.calls {
            let asked = api.asked.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let actual = serde_json::to_value(asked.get(name).cloned().unwrap_or_default()).unwrap_or_default();
            Check { failures: &mut found, vars: &mut vars }.matches(expected, &actual, &format!("/calls/{name}"));
        }
        failures.extend(found.into_iter().map(|f| format!("{at}: {f}")));
    }
    Ok(failures)
}

/// What differs between a run and what was expected of it.
fn compare_run(
    expect: &Expect,
    result: Result<sluice_core::Outcome, RunError>,
    services: &Services,
    vars: &mut Vars,
) -> Vec<String> {
    let mut failures = Vec::new();
    let mut check = Check { failures: &mut failures, vars };
    match (result, &expect.error) {
        (Ok(_), Some(wanted)) => {
            check.failures.push(format!("the run went through; expected it to fail with \"{wanted}\""))
        }
        (Err(e), None) => check.failures.push(format!("the run failed: {e}")),
        (Err(e), Some(wanted)) => {
            if !e.to_string().contains(wanted.as_str()) {
                check.failures.push(format!("the run failed with \"{e}\", not with \"{wanted}\""));
            }
        }
        (Ok(outcome), None) => {
            let returned = serde_json::to_value(outcome.returned()).unwrap_or_default();
            for (key, expected) in [("response", &expect.response), ("formActions", &expect.form_actions)] {
                if let Some(expected) = expected {
                    check.matches(expected, &returned[key], &format!("/{key}"));
                }
            }
        }
    }
    for (component, expected) in &expect.entries {
        match services.store.list_entries(component) {
            Ok(entries) => {
                let actual = Value::Array(entries.iter().map(sluice_core::store::Entry::to_model).collect());
                check.matches(expected, &actual, &format!("/entries/{component}"));
            }
            Err(e) => check.failures.push(format!("the entries of {component} cannot be read: {e}")),
        }
    }
    if let Some(expected) = &expect.outbox {
        match services.store.list_messages(None, None, usize::MAX) {
            Ok(mut messages) => {
                messages.reverse();
                let actual = serde_json::to_value(messages).unwrap_or_default();
                check.matches(expected, &actual, "/outbox");
            }
            Err(e) => check.failures.push(format!("the outbox cannot be read: {e}")),
        }
    }
    failures
}

/// Values kept by matchers with `"as"`, by name.
type Vars = BTreeMap<String, Value>;

/// `value` with every `{"$var": name}` replaced by what was kept under that name, and every
/// `{"$totp": name}` by the authenticator code of the secret kept under that name at `now` (as
/// a phone shows it); `Err` names one that was not kept.
fn substitute(value: Value, vars: &Vars, now: i64) -> Result<Value, String> {
    let kept = |map: &Map<String, Value>, key: &str| {
        let name = map.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        vars.get(&name).cloned().ok_or(name)
    };
    match value {
        Value::Object(map) if map.len() == 1 && map.contains_key("$var") => kept(&map, "$var"),
        Value::Object(map) if map.len() == 1 && map.contains_key("$totp") => {
            let secret = kept(&map, "$totp")?;
            let code = secret.as_str().and_then(|s| sluice_core::authenticator::app_code(s, now));
            Ok(code.map_or(Value::Null, Value::from))
        }
        Value::Object(map) => map
            .into_iter()
            .map(|(k, v)| substitute(v, vars, now).map(|v| (k, v)))
            .collect::<Result<_, _>>()
            .map(Value::Object),
        Value::Array(items) => {
            items.into_iter().map(|v| substitute(v, vars, now)).collect::<Result<_, _>>().map(Value::Array)
        }
        other => Ok(other),
    }
}

/// The differences found so far, and the values matchers kept.
struct Check<'c> {
    failures: &'c mut Vec<String>,
    vars: &'c mut Vars,
}

impl Check<'_> {
    /// Compares `actual` with `expected` in part, recording each difference with its place.
    fn matches(&mut self, expected: &Value, actual: &Value, at: &str) {
        match expected {
            Value::Object(wanted) if wanted.contains_key("$var") => match substitute(expected.clone(), self.vars, 0) {
                Ok(kept) => self.matches(&kept, actual, at),
                Err(name) => self.failures.push(format!("{at}: no earlier matcher kept \"{name}\"")),
            },
            Value::Object(wanted) if wanted.contains_key("$match") => match matcher(wanted, actual) {
                Ok(kept) => {
                    if let Some(name) = wanted.get("as").and_then(Value::as_str) {
                        self.vars.insert(name.to_owned(), kept);
                    }
                }
                Err(why) => self.failures.push(format!("{at}: {why}, got {}", shown(actual))),
            },
            Value::Object(wanted) => match actual {
                Value::Object(got) => {
                    for (key, value) in wanted {
                        let place = format!("{at}/{}", sluice_core::source::escape_token(key));
                        self.matches(value, got.get(key).unwrap_or(&Value::Null), &place);
                    }
                }
                other => self.failures.push(format!("{at}: expected an object, got {}", shown(other))),
            },
            Value::Array(wanted) => match actual {
                Value::Array(got) if got.len() == wanted.len() => {
                    for (i, (w, g)) in wanted.iter().zip(got).enumerate() {
                        self.matches(w, g, &format!("{at}/{i}"));
                    }
                }
                Value::Array(got) => self.failures.push(format!(
                    "{at}: expected {} items, got {}: {}",
                    wanted.len(),
                    got.len(),
                    shown(actual)
                )),
                other => self.failures.push(format!("{at}: expected a list, got {}", shown(other))),
            },
            Value::Number(n) if actual.as_f64().is_some_and(|a| Some(a) == n.as_f64()) => {}
            scalar if scalar == actual => {}
            scalar => self.failures.push(format!("{at}: expected {scalar}, got {}", shown(actual))),
        }
    }
}

/// Checks `actual` against a `{"$match": …}` object; the value to keep with `"as"`: the value,
/// or for a `regex` with a group, what its first group matched (a code in a mail's body).
fn matcher(wanted: &Map<String, Value>, actual: &Value) -> Result<Value, String> {
    let text = actual.as_str();
    let mut kept = actual.clone();
    let ok = match wanted.get("$match").and_then(Value::as_str) {
        Some("any") => !actual.is_null(),
        Some("text") => text.is_some_and(|t| !t.is_empty()),
        Some("number") => actual.is_number(),
        Some("uuid") => text.is_some_and(|t| uuid::Uuid::parse_str(t).is_ok()),
        Some("digits") => {
            let length = wanted.get("length").and_then(Value::as_u64);
            text.is_some_and(|t| t.chars().all(|c| c.is_ascii_digit()) && length.is_none_or(|n| t.len() as u64 == n))
        }
        Some("regex") => {
            let pattern = wanted.get("pattern").and_then(Value::as_str).unwrap_or_default();
            let regex = regex::Regex::new(pattern).map_err(|e| format!("the pattern does not compile: {e}"))?;
            let found = text.and_then(|t| regex.captures(t));
            if let Some(group) = found.as_ref().and_then(|c| c.get(1)) {
                kept = Value::from(group.as_str());
            }
            found.is_some()
        }
        other => return Err(format!("unknown matcher {other:?} (any, text, number, uuid, digits, regex)")),
    };
    if ok { Ok(kept) } else { Err(format!("expected {}", Value::Object(wanted.clone()))) }
}

/// A value in a message, cut short.
fn shown(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 200 { format!("{}…", text.chars().take(200).collect::<String>()) } else { text }
}

/// The reports as JUnit XML (one test suite per folder, one test case per case).
pub fn junit(reports: &[SuiteReport]) -> String {
    let mut report = quick_junit::Report::new("sluice test");
    for suite in reports {
        let mut junit_suite = quick_junit::TestSuite::new(suite.folder.as_str());
        for case in &suite.cases {
            let status = if case.passed() {
                quick_junit::TestCaseStatus::success()
            } else {
                let mut status = quick_junit::TestCaseStatus::non_success(quick_junit::NonSuccessKind::Failure);
                status.set_description(case.failures.join("\n"));
                status
            };
            let mut test_case = quick_junit::TestCase::new(case.name.as_str(), status);
            test_case.set_classname(suite.folder.as_str());
            test_case.set_time(std::time::Duration::from_secs_f64(case.seconds));
            junit_suite.add_test_case(test_case);
        }
        report.add_test_suite(junit_suite);
    }
    report.to_string().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Check, Vars};

    fn differences(expected: serde_json::Value, actual: serde_json::Value) -> Vec<String> {
        let mut failures = Vec::new();
        Check { failures: &mut failures, vars: &mut Vars::new() }.matches(&expected, &actual, "");
        failures
    }

    #[test]
    fn objects_match_in_part_lists_in_full_and_matchers_stand_for_made_values() {
        assert!(differences(json!({"a": 1}), json!({"a": 1.0, "b": 2})).is_empty());
        assert_eq!(differences(json!({"a": 1}), json!({"a": 2})), ["/a: expected 1, got 2"]);
        assert_eq!(differences(json!([1]), json!([1, 2])), [": expected 1 items, got 2: [1,2]"]);
        assert!(differences(json!({"missing": null}), json!({})).is_empty());
        let code = json!({"$match": "digits", "length": 6});
        assert!(differences(code.clone(), json!("012345")).is_empty());
        assert_eq!(differences(code, json!("01234")).len(), 1);
        assert!(differences(json!({"$match": "uuid"}), json!("0192d3c4-5b6a-7c8d-9e0f-112233445566")).is_empty());
        assert_eq!(differences(json!({"$match": "uuid"}), json!("nope")).len(), 1);
        assert!(differences(json!({"$match": "regex", "pattern": "^V\\d$"}), json!("V1")).is_empty());
        assert_eq!(differences(json!({"$match": "any"}), json!(null)).len(), 1);
        assert!(differences(json!({"$match": "soon"}), json!(1))[0].contains("unknown matcher"));
    }

    #[test]
    fn a_kept_value_stands_in_later_inputs_and_expectations() {
        let (mut failures, mut vars) = (Vec::new(), Vars::new());
        let mut check = Check { failures: &mut failures, vars: &mut vars };
        check.matches(&json!({"code": {"$match": "digits", "as": "code"}}), &json!({"code": "123456"}), "");
        check.matches(&json!({"again": {"$var": "code"}}), &json!({"again": "123456"}), "");
        check.matches(&json!({"$var": "code"}), &json!("654321"), "/x");
        assert_eq!(failures, ["/x: expected \"123456\", got \"654321\""]);
        let input = super::substitute(json!({"data": {"Code": {"$var": "code"}}}), &vars, 0).unwrap();
        assert_eq!(input, json!({"data": {"Code": "123456"}}));
        assert_eq!(super::substitute(json!({"$var": "nope"}), &vars, 0), Err("nope".into()));
    }
}
