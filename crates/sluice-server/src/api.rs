//! The handlers of the HTTP API.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{Map, Value, json};
use sluice::component::Access;
use sluice::entries::SavedComponents;
use sluice::passwords::{self, LoginError};
use sluice::store::{AuthMethod, Factor};
use sluice::{Diagnostic, Lang, LoadError, Plan, RunContext, RunError, RunOptions};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::{AppState, CachedPlan};

type Shared = State<Arc<AppState>>;

/// A request body that says it is JSON (`Content-Type: application/json` or `…+json`), unread;
/// an empty body needs no type. Any other body gets 415: every body the server reads is JSON,
/// and a browser sends a cross-site request with a body of another type (`text/plain`, a form)
/// without asking the server first, so such a request is refused before anything runs.
pub struct JsonBody(pub Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for JsonBody {
    type Rejection = Response;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let essence = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
        let json = essence.as_deref().is_some_and(|t| t == "application/json" || t.ends_with("+json"));
        let body = Bytes::from_request(request, state).await.map_err(IntoResponse::into_response)?;
        if !body.is_empty() && !json {
            let given = essence.map_or("not given".to_owned(), |t| format!("\"{t}\""));
            let message = format!("the body must be JSON, sent with Content-Type: application/json (it was {given})");
            return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, message).into_response());
        }
        Ok(JsonBody(body))
    }
}

/// Parses a JSON body, or 400 saying where it breaks.
fn parse(body: &[u8]) -> Result<Value, ApiError> {
    if body.starts_with(b"\xEF\xBB\xBF") {
        return Err(ApiError::bad_request(
            "the body starts with a byte-order mark (EF BB BF): send the JSON without it",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        let text = e.to_string();
        let what = text.rsplit_once(" at line ").map_or(text.as_str(), |(what, _)| what);
        ApiError::bad_request(format!("the body is not valid JSON at line {}, column {}: {what}", e.line(), e.column()))
    })
}

/// Runs `work`, which may wait on the store, on a blocking thread: a slow or unreachable
/// store must not stall the threads that serve every other request.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| ApiError::internal(format!("the request was lost: {e}")))?
}

/// 422 with every problem; 400 when the body is not JSON at all.
fn problems(diagnostics: &[Diagnostic]) -> ApiError {
    problems_and(diagnostics, Map::new())
}

/// [`problems`], with `more` keys in the body.
fn problems_and(diagnostics: &[Diagnostic], mut more: Map<String, Value>) -> ApiError {
    let not_json = diagnostics.len() == 1
        && diagnostics[0].pointer.is_empty()
        && diagnostics[0].message.starts_with("the file is not valid JSON");
    let status = if not_json { StatusCode::BAD_REQUEST } else { StatusCode::UNPROCESSABLE_ENTITY };
    more.insert("valid".into(), json!(false));
    more.insert("errors".into(), json!(diagnostics));
    ApiError::with_body(status, Value::Object(more))
}

/// `GET /healthz`.
pub async fn healthz(State(state): Shared) -> Result<Response, ApiError> {
    // One trivial read: cheap enough for a load balancer to ask every second.
    blocking(move || match state.engine.services().store.ping() {
        Ok(_) => Ok(Json(json!({"status": "ok"})).into_response()),
        Err(e) => Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())),
    })
    .await
}

/// `GET /metrics`: for builders on the server's address (it names components and dataflows and
/// counts codes), for anyone on the metrics address (`sluice serve --metrics-addr`).
pub async fn metrics(State(state): Shared) -> Response {
    ([("content-type", "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}

/// `GET /api/steps?lang=fr` (or `Accept-Language`).
pub async fn steps(State(state): Shared, Query(query): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    let accept = headers.get("accept-language").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let wanted = query.get("lang").map(String::as_str).unwrap_or(accept);
    let lang = wanted.split([',', ';', '-']).find_map(|tag| Lang::from_tag(tag.trim())).unwrap_or_default();
    // Written once per language when the server starts; the answer depends on Accept-Language.
    let headers = [(header::CONTENT_TYPE, "application/json"), (header::VARY, "accept-language")];
    (headers, state.catalog(lang)).into_response()
}

/// `POST /api/validate`.
///
/// Both answers carry what the builder offers to complete a path: `fields`, for each step (by
/// JSON Pointer), the top-level fields the steps upstream of it write, and `systemFields`, the
/// fields every entry has in `data` besides the definitions.
pub async fn validate(State(state): Shared, JsonBody(body): JsonBody) -> Result<Response, ApiError> {
    blocking(move || {
        let saved = SavedComponents::new(state.engine.services().store.as_ref());
        let (loaded, upstream) = state.engine.load_with_fields("component.json", &body, &saved);
        let fields = Value::Object(upstream.into_iter().map(|at| (at.pointer, json!(at.fields))).collect());
        let completions =
            Map::from_iter([("fields".to_owned(), fields), ("systemFields".to_owned(), json!(sluice::SYSTEM_FIELDS))]);
        match loaded {
            Ok(_) => {
                let mut answer = completions;
                answer.insert("valid".into(), json!(true));
                Ok(Json(answer).into_response())
            }
            Err(LoadError::Invalid { diagnostics, .. }) => Err(problems_and(&diagnostics, completions)),
            Err(e) => Err(ApiError::bad_request(e.to_string())),
        }
    })
    .await
}

/// `PUT /api/components/{name}`: validates, then saves a new version.
pub async fn put_component(
    State(state): Shared,
    Path(name): Path<String>,
    Extension(caller): Extension<Caller>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let by = match caller {
        Caller::Admin(builder) => Some(builder),
        _ => None,
    };
    blocking(move || save_component(&state, &name, &body, by.as_deref())).await
}

fn save_component(state: &AppState, name: &str, body: &[u8], by: Option<&str>) -> Result<Response, ApiError> {
    let store = &state.engine.services().store;
    let saved = SavedComponents::new(store.as_ref());
    let plan = match state.engine.load_among(name, body, &saved) {
        Ok(plan) => plan,
        Err(LoadError::Invalid { diagnostics, .. }) => return Err(problems(&diagnostics)),
        Err(e) => return Err(ApiError::bad_request(e.to_string())),
    };
    if plan.name() != name {
        let message = format!("the file's \"name\" is \"{}\", the address says \"{name}\"", plan.name());
        let error = json!({"pointer": "/name", "line": 1, "column": 1, "message": message});
        return Err(ApiError::with_body(StatusCode::UNPROCESSABLE_ENTITY, json!({"valid": false, "errors": [error]})));
    }
    let source = String::from_utf8_lossy(body).into_owned();
    let version = store.save_component(name, &source, state.engine.services().clock.now(), by)?;
    state.cache(name, CachedPlan { version, reads: saved.read(), plan: Arc::new(plan) });
    Ok((StatusCode::OK, Json(json!({"name": name, "version": version}))).into_response())
}

/// `GET /api/components`.
pub async fn list_components(State(state): Shared) -> Result<Response, ApiError> {
    blocking(move || list_saved(&state)).await
}

fn list_saved(state: &AppState) -> Result<Response, ApiError> {
    let listed: Vec<Value> = state
        .engine
        .services()
        .store
        .list_components()?
        .into_iter()
        .map(|c| {
            let title = serde_json::from_str::<Value>(&c.source).ok().and_then(|v| v.get("title").cloned());
            json!({"name": c.name, "version": c.version, "title": title, "savedAt": sluice::clock::rfc3339(c.saved_at)})
        })
        .collect();
    Ok(Json(json!(listed)).into_response())
}

/// The component's latest version, or the one `?version=N` names; 404 naming what is missing.
fn stored_version(
    state: &AppState,
    name: &str,
    query: &HashMap<String, String>,
) -> Result<sluice::store::StoredComponent, ApiError> {
    let version = match query.get("version") {
        Some(v) => {
            Some(v.parse::<i64>().map_err(|_| ApiError::bad_request(format!("version \"{v}\" is not a number")))?)
        }
        None => None,
    };
    let store = &state.engine.services().store;
    match (store.get_component(name, version)?, version) {
        (Some(stored), _) => Ok(stored),
        (None, Some(v)) if store.component_version(name)?.is_some() => {
            Err(ApiError::not_found(format!("component \"{name}\" has no version {v}")))
        }
        (None, _) => Err(unknown_component(name)),
    }
}

/// `GET /api/components/{name}/file[?version=N]`: the file's text exactly as it was saved (an
/// imported file comes back byte for byte), as a download named after the component.
pub async fn component_file(
    State(state): Shared,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    blocking(move || {
        let stored = stored_version(&state, &name, &query)?;
        let disposition = format!("attachment; filename=\"{}.json\"", stored.name);
        let headers =
            [(header::CONTENT_TYPE, "application/json".to_owned()), (header::CONTENT_DISPOSITION, disposition)];
        Ok((headers, stored.source).into_response())
    })
    .await
}

/// The most versions `GET /api/components/{name}/versions` lists (the newest).
pub const VERSIONS_LISTED: usize = 100;

/// `GET /api/components/{name}/versions`: the newest versions first, each with when it was saved
/// and by whom.
pub async fn component_versions(State(state): Shared, Path(name): Path<String>) -> Result<Response, ApiError> {
    blocking(move || {
        let store = &state.engine.services().store;
        let latest = store.component_version(&name)?.ok_or_else(|| unknown_component(&name))?;
        let mut listed = Vec::new();
        for version in (1..=latest).rev().take(VERSIONS_LISTED) {
            if let Some(stored) = store.get_component(&name, Some(version))? {
                let saved_at = sluice::clock::rfc3339(stored.saved_at);
                listed.push(json!({"version": version, "savedAt": saved_at, "savedBy": stored.saved_by}));
            }
        }
        Ok(Json(json!(listed)).into_response())
    })
    .await
}

/// `GET /api/components/{name}[?version=N]`: the saved file.
pub async fn get_component(
    State(state): Shared,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    blocking(move || {
        let stored = stored_version(&state, &name, &query)?;
        let component: Value = serde_json::from_str(&stored.source).unwrap_or(Value::Null);
        Ok(Json(json!({"name": stored.name, "version": stored.version, "component": component})).into_response())
    })
    .await
}

/// `DELETE /api/components/{name}`.
pub async fn delete_component(State(state): Shared, Path(name): Path<String>) -> Result<Response, ApiError> {
    blocking(move || {
        if !state.engine.services().store.delete_component(&name)? {
            return Err(unknown_component(&name));
        }
        state.forget(&name);
        Ok(StatusCode::NO_CONTENT.into_response())
    })
    .await
}

/// `POST /api/components/{name}/rename` with `{"name": "New"}`: every version moves to the new
/// name, each file naming it. The new name must be one a component may have (the component
/// schema's rule, checked on the latest file renamed) and free.
pub async fn rename_component(
    State(state): Shared,
    Path(name): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let body = parse(&body)?;
    let Some(to) = body.get("name").and_then(Value::as_str).map(str::to_owned) else {
        return Err(ApiError::bad_request("send {\"name\": \"NewName\"}"));
    };
    blocking(move || {
        let store = &state.engine.services().store;
        let latest = store.get_component(&name, None)?.ok_or_else(|| unknown_component(&name))?;
        let renamed = sluice::component::with_name(&latest.source, &to);
        if let Err(LoadError::Invalid { diagnostics, .. }) = state.engine.load(&to, renamed.as_bytes()) {
            let about_the_name: Vec<_> = diagnostics.into_iter().filter(|d| d.pointer == "/name").collect();
            if !about_the_name.is_empty() {
                return Err(problems(&about_the_name));
            }
        }
        if !store.rename_component(&name, &to)? {
            return Err(unknown_component(&name));
        }
        state.forget(&name);
        state.forget(&to);
        Ok(Json(json!({"name": to})).into_response())
    })
    .await
}

fn unknown_component(name: &str) -> ApiError {
    ApiError::not_found(format!("there is no component named \"{name}\""))
}

/// What a load error says, each problem included (a saved component stops loading when a
/// component it reads changes).
fn load_problems(e: &LoadError) -> String {
    match e {
        LoadError::Invalid { diagnostics, .. } => {
            diagnostics.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
        }
        other => other.to_string(),
    }
}

/// The plan of a saved component, compiled once per version.
pub(crate) fn plan_of(state: &AppState, name: &str) -> Result<Arc<Plan>, ApiError> {
    let store = &state.engine.services().store;
    // Only the version is read per request; the file is read when a new version appears.
    let version = store.component_version(name)?.ok_or_else(|| unknown_component(name))?;
    if let Some(cached) = state.cached(name, version) {
        let current = |(other, read): &(String, i64)| store.component_version(other).ok().flatten() == Some(*read);
        if cached.reads.iter().all(current) {
            return Ok(cached.plan);
        }
    }
    let stored = store.get_component(name, Some(version))?.ok_or_else(|| unknown_component(name))?;
    let saved = SavedComponents::new(store.as_ref());
    let plan = state
        .engine
        .load_among(name, stored.source.as_bytes(), &saved)
        .map_err(|e| ApiError::internal(format!("the saved component no longer loads: {}", load_problems(&e))))?;
    let plan = Arc::new(plan);
    state.cache(name, CachedPlan { version: stored.version, reads: saved.read(), plan: plan.clone() });
    Ok(plan)
}

/// Runs a dataflow (for real, or as a dry run) and counts it (on a blocking thread: runs wait
/// on the store).
fn run(
    state: &AppState,
    plan: &Plan,
    dataflow: &str,
    input: &Value,
    cx: &RunContext,
    dry_run: bool,
) -> (String, Result<sluice::Outcome, RunError>) {
    let options = RunOptions { trace_items: state.keep_run_details, dry_run };
    counted(state, plan, dataflow, plan.run_recorded(dataflow, input, cx, options))
}

/// Counts a run in the server's metrics, and hands it on.
fn counted(
    state: &AppState,
    plan: &Plan,
    dataflow: &str,
    (run_id, outcome): (String, Result<sluice::Outcome, RunError>),
) -> (String, Result<sluice::Outcome, RunError>) {
    let trace = match &outcome {
        Ok(o) => o.trace.as_slice(),
        Err(RunError::StepFailed(f)) => f.trace.as_slice(),
        Err(_) => &[],
    };
    state.metrics.record(plan.name(), dataflow, outcome.is_ok(), trace);
    (run_id, outcome)
}

/// `POST /api/components/{name}/dataflows/{dataflow}/execute`.
pub async fn execute(
    State(state): Shared,
    Path((name, dataflow)): Path<(String, String)>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    blocking(move || execute_now(&state, &name, &dataflow, caller, &headers, &body)).await
}

fn execute_now(
    state: &AppState,
    name: &str,
    dataflow: &str,
    caller: Caller,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let plan = plan_of(state, name)?;
    if !plan.dataflow_names().contains(&dataflow) {
        return Err(ApiError::not_found(format!("component \"{name}\" has no dataflow named \"{dataflow}\"")));
    }
    // Only a public dataflow (such as a sign-in) runs without a credential (one that is sent
    // was checked by the route's guard).
    if matches!(caller, Caller::Anonymous) && !plan.is_public(dataflow) {
        return Err(ApiError::unauthorized());
    }
    let input = if body.is_empty() { json!({"data": {}}) } else { parse(body)? };
    if let Caller::User(session) = &caller
        && let Some(access) = plan.access(dataflow)
    {
        if *access == Access::TwoFactor && !session.two_factor() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "this dataflow needs a session signed in with a password and a one-time code: sign in again with both",
            ));
        }
        if matches!(access, Access::Roles(_))
            && !access.admits_roles(name, &state.engine.services().store.roles(&session.user_id)?)
        {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "this dataflow needs a role you do not hold"));
        }
    }
    let builder = matches!(caller, Caller::Admin(_));
    if !builder {
        refuse_system_fields(&input)?;
    }
    let cx = match caller {
        // A builder may run as another client (to try a flow); no one else chooses theirs.
        // And as a user (`X-Sluice-User`, a user name), to try a flow that reads the caller.
        Caller::Admin(_) => {
            let named = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let user = match named("x-sluice-user") {
                None => None,
                Some(name) => match state.engine.services().store.find_user(&name)? {
                    Some(user) => Some(user.id),
                    None => {
                        return Err(ApiError::new(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            format!("X-Sluice-User: there is no user named \"{name}\""),
                        ));
                    }
                },
            };
            RunContext { user, client: Some(named("x-sluice-client").unwrap_or_else(|| state.client.clone())) }
        }
        Caller::Anonymous => RunContext { user: None, client: Some(state.client.clone()) },
        Caller::User(session) => RunContext { user: Some(session.user_id), client: Some(session.client) },
    };
    answer(run(state, &plan, dataflow, &input, &cx, false), builder)
}

/// The answer to a run: its id with the response and form actions, or where and why it failed
/// (for a builder; anyone else gets a message fit for anyone).
fn answer((run_id, outcome): (String, Result<sluice::Outcome, RunError>), builder: bool) -> Result<Response, ApiError> {
    match outcome {
        Ok(o) => {
            // Written straight from the outcome: no copy of the items as a JSON tree.
            #[derive(serde::Serialize)]
            #[serde(rename_all = "camelCase")]
            struct Executed<'o> {
                run_id: &'o str,
                #[serde(flatten)]
                returned: sluice::Returned<'o>,
            }
            let executed = Executed { run_id: &run_id, returned: o.returned() };
            Ok(Json(executed).into_response())
        }
        Err(RunError::StepFailed(f)) => {
            let status = if f.unavailable { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::UNPROCESSABLE_ENTITY };
            // A builder sees where and why; anyone else a message fit for anyone, and the run id
            // (the detail stays in the run record).
            let error = if builder {
                json!({"step": f.step, "type": f.step_type, "pointer": f.pointer, "message": f.message})
            } else {
                json!({"message": f.public_message()})
            };
            Err(ApiError::with_body(status, json!({"runId": run_id, "error": error})))
        }
        Err(e) => Err(ApiError::not_found(e.to_string())),
    }
}

/// 422 when an action model from anyone but a builder sets a system field (a top-level key
/// starting with `_`, such as `_user`): those are the server's and the steps', and a caller who
/// set `_user` could otherwise act as another user.
fn refuse_system_fields(input: &Value) -> Result<(), ApiError> {
    match input.as_object().and_then(|fields| fields.keys().find(|k| k.starts_with('_'))) {
        Some(key) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "the action model sets the system field \"{key}\": only the server and the steps set fields starting with \"_\"; remove it"
            ),
        )),
        None => Ok(()),
    }
}

/// `POST /api/users/{name}/unlock`.
pub async fn unlock_user(State(state): Shared, Path(name): Path<String>) -> Result<Response, ApiError> {
    blocking(move || {
        let store = &state.engine.services().store;
        let found = if sluice::store::could_name_a_user(&name) { store.find_user(&name)? } else { None };
        let user = found.ok_or_else(|| ApiError::not_found(format!("there is no user named or with id \"{name}\"")))?;
        store.unlock(&user.id)?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })
    .await
}

/// `GET /api/runs?component=&limit=`.
pub async fn list_runs(
    State(state): Shared,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    blocking(move || {
        let limit = match query.get("limit") {
            Some(l) => l
                .parse::<i64>()
                .ok()
                .and_then(|l| usize::try_from(l).ok())
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "limit \"{l}\" is not a whole number from 0 up (at most 1,000 runs are listed)"
                    ))
                })?
                .min(1000),
            None => 50,
        };
        let store = &state.engine.services().store;
        let runs = store.list_runs(query.get("component").map(String::as_str), limit)?;
        // Each run with its user's name beside the id the record keeps (looked up once per user).
        let mut names: HashMap<String, Option<String>> = HashMap::new();
        let mut listed = Vec::with_capacity(runs.len());
        for run in runs {
            let name = match &run.user {
                Some(id) => match names.entry(id.clone()) {
                    Entry::Occupied(known) => known.get().clone(),
                    Entry::Vacant(new) => new.insert(store.find_user(id)?.map(|user| user.user_name)).clone(),
                },
                None => None,
            };
            let mut run = json!(run);
            run["userName"] = json!(name);
            listed.push(run);
        }
        Ok(Json(listed).into_response())
    })
    .await
}

/// `GET /api/runs/{id}`: the record with its trace.
pub async fn get_run(State(state): Shared, Path(id): Path<String>) -> Result<Response, ApiError> {
    blocking(move || Ok(Json(json!(recorded_run(&state, &id)?)).into_response())).await
}

fn recorded_run(state: &AppState, id: &str) -> Result<sluice::store::RunRecord, ApiError> {
    state.engine.services().store.get_run(id)?.ok_or_else(|| ApiError::not_found(format!("there is no run \"{id}\"")))
}

/// `POST /api/runs/{id}/replay[?effects=true]`: runs the dataflow again on the recorded input
/// and compares; a dry run unless the builder asks for the effects.
pub async fn replay_run(
    State(state): Shared,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    blocking(move || {
        let effects = match query.get("effects").map(String::as_str) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(ApiError::bad_request(format!("effects is \"true\" or \"false\", not \"{other}\"")));
            }
        };
        replay(&state, &id, !effects)
    })
    .await
}

fn replay(state: &AppState, id: &str, dry_run: bool) -> Result<Response, ApiError> {
    let recorded = recorded_run(state, id)?;
    let parsed = |raw: Option<&sluice::store::RawJson>| raw.and_then(|r| serde_json::from_str::<Value>(r.get()).ok());
    let Some(input) = parsed(recorded.input.as_ref()) else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "this run was recorded without its input; it cannot be replayed",
        ));
    };
    let plan = plan_of(state, &recorded.component)?;
    let cx = recorded_context(&recorded);
    let (_, outcome) = run(state, &plan, &recorded.dataflow, &input, &cx, dry_run);
    let (status, now) = match &outcome {
        Ok(o) => ("ok", json!(o.recorded())),
        Err(RunError::StepFailed(f)) => ("failed", json!({"error": {"step": f.step, "message": f.message}})),
        Err(e) => ("failed", json!({"error": {"message": e.to_string()}})),
    };
    let before = if recorded.status == "ok" {
        parsed(recorded.outcome.as_ref()).unwrap_or(Value::Null)
    } else {
        json!({"error": {"step": recorded.failed_step, "message": recorded.message}})
    };
    let matches = status == recorded.status && now == before;
    Ok(Json(json!({"matches": matches, "dryRun": dry_run, "status": status, "recorded": before, "replayed": now}))
        .into_response())
}

/// `POST /api/runs/{id}/run-from/{step}`: runs the recorded run's dataflow again from `step`,
/// fed the items its source emitted in that run (secrets in them read `"[redacted]"`), as the
/// run's user and client; the steps above it do not run.
pub async fn run_from(State(state): Shared, Path((id, step)): Path<(String, String)>) -> Result<Response, ApiError> {
    blocking(move || {
        let recorded = recorded_run(&state, &id)?;
        let plan = plan_of(&state, &recorded.component)?;
        let source = plan
            .source_of(&recorded.dataflow, &step)
            .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
        let items = recorded_items(&recorded, source).ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "run \"{id}\" kept no items of step \"{source}\", the source of \"{step}\" \
                     (it did not run, or the server kept no run details)"
                ),
            )
        })?;
        let cx = recorded_context(&recorded);
        let options = RunOptions { trace_items: state.keep_run_details, dry_run: false };
        let ran = plan.run_from_recorded(&recorded.dataflow, &step, items, &cx, options);
        answer(counted(&state, &plan, &recorded.dataflow, ran), true)
    })
    .await
}

/// Who a recorded run ran as: replays and runs from a step run as the same user and client.
fn recorded_context(recorded: &sluice::store::RunRecord) -> RunContext {
    RunContext { user: recorded.user.clone(), client: recorded.client.clone() }
}

/// The items step `step` emitted in a recorded run, when the record kept them.
fn recorded_items(recorded: &sluice::store::RunRecord, step: &str) -> Option<Vec<sluice::Item>> {
    #[derive(serde::Deserialize)]
    struct Traced {
        step: String,
        items: Option<Vec<sluice::Item>>,
    }
    let trace: Vec<Traced> = serde_json::from_str(recorded.trace.as_ref()?.get()).ok()?;
    trace.into_iter().find(|t| t.step == step)?.items
}

/// `POST /api/session`: signs an end user in with a password alone, when the server allows
/// password-only sessions.
pub async fn session(State(state): Shared, JsonBody(body): JsonBody) -> Result<Response, ApiError> {
    if !state.password_sessions {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "password-only sessions are off: sign in through a dataflow that confirms a second factor \
             (sluice serve --password-sessions turns them on, with one factor)",
        ));
    }
    let body = parse(&body)?;
    let (Some(name), Some(password)) =
        (body.get("userName").and_then(Value::as_str), body.get("password").and_then(Value::as_str))
    else {
        return Err(ApiError::bad_request("send {\"userName\": .., \"password\": ..}"));
    };
    let (name, password) = (name.to_owned(), password.to_owned());
    blocking(move || {
        let services = state.engine.services();
        let user = match sluice::store::could_name_a_user(&name) {
            true => services.store.find_user(&name)?,
            false => None,
        };
        match passwords::check_login(services, &name, user.as_ref(), &password, &state.client, false) {
            Ok(()) => {}
            Err(LoginError::Refused(_)) => {
                return Err(ApiError::new(StatusCode::UNAUTHORIZED, passwords::LOGIN_REFUSED));
            }
            Err(LoginError::Store(e)) => return Err(e.into()),
        }
        let user = user.ok_or_else(|| ApiError::internal("an accepted login has no user"))?;
        let methods = vec![Factor { method: AuthMethod::Pwd, at: services.clock.now() }];
        let (token, session) =
            sluice::sessions::open_session(services, &user.id, &state.client, methods, state.session_rules)?;
        Ok(Json(json!({"token": token, "expiresAt": sluice::clock::rfc3339(session.expires_at)})).into_response())
    })
    .await
}

/// `GET /api/session`: who the caller is.
pub async fn whoami(State(state): Shared, Extension(caller): Extension<Caller>) -> Result<Response, ApiError> {
    blocking(move || match caller {
        Caller::Admin(name) => Ok(Json(json!({"builder": true, "name": &*name})).into_response()),
        Caller::User(session) => {
            let user = state.engine.services().store.find_user(&session.user_id)?;
            let user = user.ok_or_else(ApiError::unauthorized)?;
            let methods: Vec<Value> = session
                .methods
                .iter()
                .map(|f| json!({"method": f.method, "at": sluice::clock::rfc3339(f.at)}))
                .collect();
            Ok(Json(json!({
                "userName": user.user_name,
                "client": session.client,
                "methods": methods,
                "twoFactor": session.two_factor(),
                "createdAt": sluice::clock::rfc3339(session.created_at),
                "expiresAt": sluice::clock::rfc3339(session.expires_at),
                "idleTimeoutSeconds": session.idle_timeout / 1000,
            }))
            .into_response())
        }
        Caller::Anonymous => Err(ApiError::unauthorized()),
    })
    .await
}

/// `DELETE /api/session`: ends the session of the token sent.
pub async fn sign_out(State(state): Shared, Extension(caller): Extension<Caller>) -> Result<Response, ApiError> {
    blocking(move || match caller {
        Caller::User(session) => {
            state.engine.services().store.end_sessions(&session.user_id, Some(&session.token_hash))?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        Caller::Admin(_) => {
            Err(ApiError::new(StatusCode::CONFLICT, "a builder token is no session: there is nothing to sign out of"))
        }
        Caller::Anonymous => Err(ApiError::unauthorized()),
    })
    .await
}
