//! Running a dataflow of a [`Plan`]: items flow from step to step, and every step is traced.

use std::borrow::Cow;
use std::time::Instant;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::plan::{CompiledDataflow, CompiledStep, Plan};
use crate::plugin::{BuiltStep, Item, Secret, StepContext, StepError};
use crate::resilience::Handled;
use crate::store::RunRecord;

/// Who runs a dataflow and for which client (Aqtra's "calling user" and "Client for request").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunContext {
    /// The calling user's name or id; `None` when the platform runs the dataflow itself.
    pub user: Option<String>,
    /// The client or application making the request.
    pub client: Option<String>,
}

/// How much a run records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Keep the items every step emitted in the trace (the builder's "eye" view).
    /// Durations, statuses and counts are always kept.
    pub trace_items: bool,
    /// A dry run (a replay's default): steps with effects outside the run — issuing or
    /// checking codes, counting failures, opening sessions, sending notifications, writing
    /// entries — do nothing and say in a trace note what they would have done.
    pub dry_run: bool,
}

/// What a run produced.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// The items that reached `write_response` steps, in order.
    pub response: Vec<Item>,
    /// The commands recorded for the user interface (`form_action`).
    pub form_actions: Vec<Value>,
    /// One entry per step, in dataflow order.
    pub trace: Vec<StepTrace>,
    /// The secret fields of the run, those marked while it ran (such as a session token)
    /// included: what [`Outcome::recorded`] redacts.
    #[serde(skip)]
    pub secrets: Vec<Secret>,
}

/// What a run gives back to its caller, `{"response", "formActions"}`: what `execute` answers,
/// what a run record keeps and what a replay compares.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Returned<'o> {
    /// The run's response items.
    pub response: Cow<'o, [Item]>,
    /// The run's form actions.
    pub form_actions: &'o [Value],
}

impl Outcome {
    /// What the run gives back to its caller (the outcome without its trace).
    pub fn returned(&self) -> Returned<'_> {
        Returned { response: Cow::Borrowed(&self.response), form_actions: &self.form_actions }
    }

    /// What a run record keeps of [`Outcome::returned`] and what a replay compares: every secret
    /// field of the response redacted, credentials such as a session token included (the caller
    /// got them; no record keeps them).
    pub fn recorded(&self) -> Returned<'_> {
        let holds_secret = |item: &Item| self.secrets.iter().any(|s| s.path.get(item).is_some());
        if !self.response.iter().any(holds_secret) {
            return self.returned();
        }
        let mut response = self.response.clone();
        response.iter_mut().for_each(|item| redact(item, &self.secrets));
        Returned { response: Cow::Owned(response), form_actions: &self.form_actions }
    }
}

/// What one step did during a run.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StepTrace {
    /// The step's name.
    pub step: String,
    /// The step's type id.
    #[serde(rename = "type")]
    pub step_type: String,
    /// Whether it ran, failed or was never reached.
    pub status: StepStatus,
    /// Wall-clock time spent in the step, in nanoseconds.
    pub duration_ns: u64,
    /// Items it received.
    pub items_in: usize,
    /// Items it emitted.
    pub items_out: usize,
    /// Items it failed on without stopping the run (`onError`: `continue` or `route`).
    #[serde(skip_serializing_if = "is_zero")]
    pub failed_items: usize,
    /// The dataflows it ran (Execute dataflow), each with its trace: the first
    /// [`MAX_TRACED_CALLS`] of them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<NestedRun>,
    /// What the step noted (such as why a code was refused).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What it counted for the server's metrics.
    #[serde(skip)]
    pub events: Vec<crate::events::Event>,
    /// The items it emitted, when the run kept them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<TracedItems>,
    /// Where in its settings the step failed, when it failed at one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_at: Option<FailedAt>,
}

/// A dataflow a step ran (Execute dataflow), with its trace.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NestedRun {
    /// The dataflow run.
    pub dataflow: String,
    /// Its steps, as a run's trace shows them.
    pub trace: Vec<StepTrace>,
}

/// How many of a step's calls its trace keeps (a step may call once per item).
pub const MAX_TRACED_CALLS: usize = 10;

/// The deepest chain of Execute dataflow calls a run may make.
pub const MAX_CALL_DEPTH: usize = 8;

/// The run a step runs in, so that it can run another dataflow of the component.
pub(crate) struct Caller<'r> {
    pub plan: &'r Plan,
    pub options: RunOptions,
    pub depth: usize,
    pub calls: &'r mut Vec<NestedRun>,
}

impl StepContext<'_> {
    /// Runs the dataflow `name` of this component, or of `component`, on `input`, as the
    /// caller, and gives the items it answered; its trace goes into this step's (the first
    /// calls').
    pub fn run_dataflow(&mut self, component: Option<&str>, name: &str, input: &Value) -> Result<Vec<Item>, StepError> {
        let run = self.run;
        let other = match component {
            Some(component) if self.caller.as_ref().is_some_and(|c| c.plan.name() != component) => {
                let found = self.services.plans.find(component);
                Some(found.ok_or_else(|| StepError::new(format!("component {component} is not loaded here")))?)
            }
            _ => None,
        };
        let Some(caller) = self.caller.as_mut() else {
            return Err(StepError::new("a dataflow can be called only from a dataflow of its component"));
        };
        if caller.depth + 1 > MAX_CALL_DEPTH {
            return Err(StepError::new(format!(
                "calls nest deeper than {MAX_CALL_DEPTH} dataflows; a dataflow calls itself through its input, or the chain is too long"
            )));
        }
        let plan = other.as_deref().unwrap_or(caller.plan);
        let flow = plan.find_dataflow(name).map_err(|e| StepError::new(e.to_string()))?;
        let (trace, answered) = match plan.run_flow(flow, input, None, run, caller.options, caller.depth + 1) {
            Ok(outcome) => {
                self.form_actions.extend(outcome.form_actions);
                (outcome.trace, Ok(outcome.response))
            }
            Err(RunError::StepFailed(failure)) => {
                let StepFailure { step, message, unavailable, public, trace, .. } = *failure;
                let mut error = StepError::new(format!("dataflow {name} failed at step \"{step}\": {message}"));
                error.unavailable = unavailable;
                error.public = public;
                (trace, Err(error))
            }
            Err(other) => return Err(StepError::new(other.to_string())),
        };
        if caller.calls.len() < MAX_TRACED_CALLS {
            caller.calls.push(NestedRun { dataflow: name.to_owned(), trace });
        }
        answered
    }
}

/// The setting at which a step failed, and the place in its text (a script's line and
/// column) when the step knows it: what a builder marks in the setting's editor.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FailedAt {
    /// The setting (a JSON Pointer relative to `settings`, such as `script`).
    pub setting: String,
    /// The line and column in the setting's text.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub text: Option<crate::source::Location>,
}

impl FailedAt {
    fn of(error: &StepError) -> Option<FailedAt> {
        let setting = error.setting.clone()?;
        Some(FailedAt { setting, text: error.text_at })
    }
}

/// The items a step emitted, as JSON text with every secret field shown as `"[redacted]"`:
/// written once when the step ends, so that keeping them copies no item.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct TracedItems(Box<RawValue>);

impl TracedItems {
    /// The JSON text (an array of items).
    pub fn json(&self) -> &str {
        self.0.get()
    }

    /// The items, read back from the text.
    pub fn items(&self) -> Vec<Item> {
        serde_json::from_str(self.0.get()).unwrap_or_default()
    }
}

impl PartialEq for TracedItems {
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json()
    }
}

/// The status of a step in a run.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum StepStatus {
    /// The step handled every item.
    Ok,
    /// The step failed and stopped the run.
    Failed,
    /// The run stopped before this step.
    NotRun,
}

/// Why a run did not complete.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RunError {
    /// The component has no dataflow of that name.
    #[error("component \"{component}\" has no dataflow named \"{name}\" (it has: {})", .known.join(", "))]
    UnknownDataflow {
        /// The component.
        component: String,
        /// The name asked for.
        name: String,
        /// The dataflows it has.
        known: Vec<String>,
    },
    /// A step failed; the run stopped there.
    #[error("{0}")]
    StepFailed(Box<StepFailure>),
    /// A run was asked to start at a step it cannot start at ([`Plan::run_from`]).
    #[error("dataflow \"{dataflow}\" cannot run from step \"{step}\": {reason}")]
    CannotRunFrom {
        /// The dataflow.
        dataflow: String,
        /// The step asked for.
        step: String,
        /// Why not, and what to do instead.
        reason: &'static str,
    },
}

/// A failed step, with the trace up to it.
#[derive(Debug, Clone, Serialize, PartialEq, thiserror::Error)]
#[error("step \"{step}\" ({step_type}) failed: {message}")]
#[serde(rename_all = "camelCase")]
pub struct StepFailure {
    /// The step's name.
    pub step: String,
    /// The step's type id.
    #[serde(rename = "type")]
    pub step_type: String,
    /// JSON Pointer to the step (or the setting concerned) in the component file.
    pub pointer: String,
    /// What went wrong.
    pub message: String,
    /// The trace of the run up to and including the failed step.
    pub trace: Vec<StepTrace>,
    /// The store could not be reached (see [`StepError::unavailable`](crate::StepError)).
    #[serde(skip)]
    pub unavailable: bool,
    /// The message is fit for anyone (see [`StepError::public`](crate::StepError)).
    #[serde(skip)]
    pub public: bool,
}

impl StepFailure {
    /// The message for someone who is not a builder: the step's own when it is public, else
    /// [`REQUEST_FAILED`](crate::plugin::REQUEST_FAILED).
    pub fn public_message(&self) -> &str {
        if self.public { &self.message } else { crate::plugin::REQUEST_FAILED }
    }
}

impl Plan {
    /// Runs a dataflow on `input` (an action model: usually `{"data": {...}}`).
    pub fn run(
        &self,
        dataflow: &str,
        input: &Value,
        cx: &RunContext,
        options: RunOptions,
    ) -> Result<Outcome, RunError> {
        self.run_flow(self.find_dataflow(dataflow)?, input, None, cx, options, 0)
    }

    /// Runs a dataflow from step `step` on: the step gets `items` as if its source had emitted
    /// them (the items of an earlier run, say), the steps it feeds, directly or not, run after
    /// it, and no other step runs (their trace says `notRun`). So a builder can try a change to
    /// a step without running what comes before it again: no second code, no second mail.
    pub fn run_from(
        &self,
        dataflow: &str,
        step: &str,
        items: Vec<Item>,
        cx: &RunContext,
        options: RunOptions,
    ) -> Result<Outcome, RunError> {
        let (flow, at, _) = self.run_start(dataflow, step)?;
        self.run_flow(flow, &Value::Null, Some((at, items)), cx, options, 0)
    }

    /// The name of the source step of `step`, whose items a run from `step` takes; the error
    /// says why a run cannot start there.
    pub fn source_of(&self, dataflow: &str, step: &str) -> Result<&str, RunError> {
        self.run_start(dataflow, step).map(|(_, _, source)| source)
    }

    /// The dataflow, the index of `step` in it and its source's name.
    fn run_start(&self, dataflow: &str, step: &str) -> Result<(&CompiledDataflow, usize, &str), RunError> {
        let flow = self.find_dataflow(dataflow)?;
        let cannot = |reason| RunError::CannotRunFrom { dataflow: dataflow.to_owned(), step: step.to_owned(), reason };
        let at = flow.steps.iter().position(|s| s.name == step).ok_or_else(|| cannot("it has no step of that name"))?;
        let source = flow.steps[at]
            .source
            .ok_or_else(|| cannot("the step has no source step to take items from: run the whole dataflow instead"))?;
        Ok((flow, at, &flow.steps[source].name))
    }

    fn find_dataflow(&self, name: &str) -> Result<&CompiledDataflow, RunError> {
        self.dataflow(name).ok_or_else(|| RunError::UnknownDataflow {
            component: self.name.clone(),
            name: name.to_owned(),
            known: self.dataflow_names().into_iter().map(str::to_owned).collect(),
        })
    }

    /// Runs `flow` on `input`, or from the step `pinned` names with its items; `depth` counts
    /// the Execute dataflow calls it runs within.
    fn run_flow(
        &self,
        flow: &CompiledDataflow,
        input: &Value,
        mut pinned: Option<(usize, Vec<Item>)>,
        cx: &RunContext,
        options: RunOptions,
        depth: usize,
    ) -> Result<Outcome, RunError> {
        let steps = &flow.steps;
        // Which steps run: all, or the pinned step and those its items reach (sources come first).
        let mut runs = vec![pinned.is_none(); steps.len()];
        if let Some((at, _)) = &pinned {
            for (i, step) in steps.iter().enumerate() {
                runs[i] = i == *at || step.source.is_some_and(|src| runs[src]);
            }
        }
        // Each step's items, then each step's error branch (at `steps.len() + i`).
        let mut outputs: Vec<Vec<Item>> = (0..2 * steps.len()).map(|_| Vec::new()).collect();
        let mut unread: Vec<usize> =
            steps.iter().map(|s| s.consumers).chain(steps.iter().map(|s| s.error_consumers)).collect();
        let mut outcome = Outcome {
            response: Vec::new(),
            form_actions: Vec::new(),
            trace: Vec::with_capacity(steps.len()),
            secrets: Vec::new(),
        };
        let mut secrets = flow.secrets.clone();
        let mut users = Vec::new();
        let mut factors = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            if !runs[i] {
                outcome.trace.push(not_run(step));
                continue;
            }
            let started = Instant::now();
            let read = step.consumers > 0;
            let mut notes = Vec::new();
            let mut events = Vec::new();
            let mut calls = Vec::new();
            // A step's input is taken before it runs (the outputs are then read, not changed).
            let items = match &step.built {
                BuiltStep::Start(_) => Vec::new(),
                _ => match pinned.take_if(|(at, _)| *at == i) {
                    Some((_, items)) => items,
                    None => step
                        .source
                        .map(|src| {
                            take_input(&mut outputs, &mut unread, src + usize::from(step.from_error) * steps.len())
                        })
                        .unwrap_or_default(),
                },
            };
            let mut cx = StepContext {
                run: cx,
                response: &mut outcome.response,
                form_actions: &mut outcome.form_actions,
                step: &step.name,
                services: &self.services,
                secrets: &mut secrets,
                notes: &mut notes,
                events: &mut events,
                users: &mut users,
                factors: &mut factors,
                dry_run: options.dry_run,
                outside: &step.outside,
                caller: Some(Caller { plan: self, options, depth, calls: &mut calls }),
                earlier: &outputs,
            };
            let mut out = Vec::new();
            let mut errors = Vec::new();
            let (items_in, Handled { result, failed_items }) =
                step.run_handled(input, items, &mut cx, &mut out, &mut errors);
            let failed = result.is_err();
            outcome.trace.push(StepTrace {
                step: step.name.clone(),
                step_type: step.step_type.to_owned(),
                status: if failed { StepStatus::Failed } else { StepStatus::Ok },
                duration_ns: u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX),
                items_in,
                items_out: out.len(),
                failed_items,
                calls,
                notes,
                // A dry run did nothing to count.
                events: if options.dry_run { Vec::new() } else { events },
                items: if options.trace_items { redacted_json(&mut out, &secrets) } else { None },
                failed_at: result.as_ref().err().and_then(FailedAt::of),
            });
            if let Err(error) = result {
                return Err(failure(step, error, &steps[i + 1..], outcome.trace));
            }
            if read {
                outputs[i] = out;
            }
            if step.error_consumers > 0 {
                outputs[steps.len() + i] = errors;
            }
        }
        for item in &mut outcome.response {
            secrets.iter().filter(|s| !s.in_response).for_each(|s| drop(s.path.remove(item)));
        }
        outcome.secrets = secrets;
        Ok(outcome)
    }
}

impl Plan {
    /// Runs a dataflow like [`Plan::run`] and keeps a [`RunRecord`] of it in the store (who,
    /// when, how long, which step failed and why). With `trace_items` the record also keeps the
    /// input, the trace and the outcome, secret fields redacted, so the run can be inspected and
    /// replayed. Returns the record's id with the run's result. A record that cannot be written
    /// is logged, and does not fail the run.
    pub fn run_recorded(
        &self,
        dataflow: &str,
        input: &Value,
        cx: &RunContext,
        options: RunOptions,
    ) -> (String, Result<Outcome, RunError>) {
        self.recorded(dataflow, Some(input), cx, options, || self.run(dataflow, input, cx, options))
    }

    /// Runs a dataflow from a step like [`Plan::run_from`] and keeps its record like
    /// [`Plan::run_recorded`]; the record keeps no input (the run had none to replay).
    pub fn run_from_recorded(
        &self,
        dataflow: &str,
        step: &str,
        items: Vec<Item>,
        cx: &RunContext,
        options: RunOptions,
    ) -> (String, Result<Outcome, RunError>) {
        self.recorded(dataflow, None, cx, options, || self.run_from(dataflow, step, items, cx, options))
    }

    fn recorded(
        &self,
        dataflow: &str,
        input: Option<&Value>,
        cx: &RunContext,
        options: RunOptions,
        run: impl FnOnce() -> Result<Outcome, RunError>,
    ) -> (String, Result<Outcome, RunError>) {
        let started_at = self.services.clock.now();
        let timer = Instant::now();
        let result = run();
        let (failed_step, message) = match &result {
            Ok(_) => (None, None),
            Err(RunError::StepFailed(f)) => (Some(f.step.clone()), Some(f.message.clone())),
            Err(e) => (None, Some(e.to_string())),
        };
        let record = RunRecord {
            id: crate::new_time_ordered_uuid(),
            component: self.name.clone(),
            dataflow: dataflow.to_owned(),
            user: cx.user.clone(),
            client: cx.client.clone(),
            started_at,
            duration_us: i64::try_from(timer.elapsed().as_micros()).unwrap_or(i64::MAX),
            status: if result.is_ok() { "ok" } else { "failed" }.to_owned(),
            failed_step,
            message,
            input: None,
            trace: None,
            outcome: None,
        };
        let record = if options.trace_items { self.with_details(record, dataflow, input, &result) } else { record };
        let id = record.id.clone();
        if let Err(e) = self.services.store.record_run(record) {
            tracing::warn!(error = %e, "the run could not be recorded");
        }
        (id, result)
    }
}

impl Plan {
    fn with_details(
        &self,
        record: RunRecord,
        dataflow: &str,
        input: Option<&Value>,
        result: &Result<Outcome, RunError>,
    ) -> RunRecord {
        let secrets = self.dataflow(dataflow).map(|f| f.secrets.as_slice()).unwrap_or_default();
        let mut input = input.cloned();
        match &mut input {
            Some(Value::Object(item)) => redact(item, secrets),
            Some(Value::Array(items)) => {
                items.iter_mut().filter_map(Value::as_object_mut).for_each(|i| redact(i, secrets));
            }
            _ => {}
        }
        let (trace, outcome) = match result {
            Ok(o) => (raw(&o.trace), raw(&o.recorded())),
            Err(RunError::StepFailed(f)) => (raw(&f.trace), None),
            Err(_) => (None, None),
        };
        // Anyone may run a public dataflow: what they send must not grow the store unbounded.
        let limit = if self.is_public(dataflow) { PUBLIC_RECORD_BYTES } else { usize::MAX };
        let keep = |details: Option<Box<RawValue>>| details.map(|d| capped(d, limit));
        RunRecord { input: keep(input.and_then(|i| raw(&i))), trace: keep(trace), outcome: keep(outcome), ..record }
    }
}

/// The most a run record of a public dataflow keeps of its input, its trace and its outcome,
/// each, in bytes of JSON; more is replaced by [`capped`]'s marker.
pub const PUBLIC_RECORD_BYTES: usize = 64 * 1024;

/// `details` when it is at most `limit` bytes, else `{"truncated": true, "bytes": N}`.
fn capped(details: Box<RawValue>, limit: usize) -> Box<RawValue> {
    let bytes = details.get().len();
    if bytes <= limit {
        return details;
    }
    raw(&json!({"truncated": true, "bytes": bytes})).unwrap_or(details)
}

/// `value` as JSON text (written once; nothing reads it back).
fn raw(value: &(impl Serialize + ?Sized)) -> Option<Box<RawValue>> {
    serde_json::value::to_raw_value(value).ok()
}

/// `items` as JSON text with every secret field shown as `"[redacted]"`. The secret values
/// are swapped out for the writing and put back, so no item is copied.
fn redacted_json(items: &mut [Item], secrets: &[Secret]) -> Option<TracedItems> {
    let mut hidden = Vec::new();
    for (i, item) in items.iter_mut().enumerate() {
        for (s, secret) in secrets.iter().enumerate() {
            if let Some(value) = secret.path.get_mut(item) {
                hidden.push((i, s, std::mem::replace(value, Value::String(REDACTED.into()))));
            }
        }
    }
    let json = raw(&*items).map(TracedItems);
    // Put back in reverse: a secret inside another secret goes back after its parent.
    for (i, s, value) in hidden.into_iter().rev() {
        if let Some(slot) = items.get_mut(i).and_then(|item| secrets[s].path.get_mut(item)) {
            *slot = value;
        }
    }
    json
}

/// What a secret field shows in traces and run records.
const REDACTED: &str = "[redacted]";

/// Shows every secret field of `item` as `"[redacted]"`.
fn redact(item: &mut Item, secrets: &[Secret]) {
    for secret in secrets {
        if let Some(value) = secret.path.get_mut(item) {
            *value = Value::String(REDACTED.into());
        }
    }
}

/// The items of step `src` for one consumer: moved to the last reader, copied for the others.
fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn take_input(outputs: &mut [Vec<Item>], unread: &mut [usize], src: usize) -> Vec<Item> {
    unread[src] = unread[src].saturating_sub(1);
    if unread[src] == 0 { std::mem::take(&mut outputs[src]) } else { outputs[src].clone() }
}

/// The trace of a step that did not run.
fn not_run(step: &CompiledStep) -> StepTrace {
    StepTrace {
        step: step.name.clone(),
        step_type: step.step_type.to_owned(),
        status: StepStatus::NotRun,
        duration_ns: 0,
        items_in: 0,
        items_out: 0,
        failed_items: 0,
        calls: Vec::new(),
        notes: Vec::new(),
        events: Vec::new(),
        items: None,
        failed_at: None,
    }
}

fn failure(step: &CompiledStep, error: StepError, rest: &[CompiledStep], mut trace: Vec<StepTrace>) -> RunError {
    tracing::debug!(step = %step.name, step_type = step.step_type, "step failed");
    trace.extend(rest.iter().map(not_run));
    let pointer = match &error.setting {
        Some(setting) => format!("{}/settings/{setting}", step.pointer),
        None => step.pointer.clone(),
    };
    RunError::StepFailed(Box::new(StepFailure {
        step: step.name.clone(),
        step_type: step.step_type.to_owned(),
        pointer,
        message: error.message,
        trace,
        unavailable: error.unavailable,
        public: error.public,
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::path::FieldPath;

    fn secret(path: &str) -> Secret {
        Secret { path: FieldPath::parse(path).unwrap(), in_response: false }
    }

    #[test]
    fn traced_items_hide_secrets_and_leave_the_items_as_they_were() {
        let original = json!([
            {"_user": {"email": "ann@example.com", "id": "u1"}, "codes": ["111111", "222222"], "data": {"n": 1}},
            {"data": {"n": 2}}
        ]);
        let mut items: Vec<Item> = serde_json::from_value(original.clone()).unwrap();
        // A secret inside another (either order) and one inside an array.
        let secrets = [secret("_user.email"), secret("_user"), secret("codes.1"), secret("data.missing")];
        let traced = redacted_json(&mut items, &secrets).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(traced.json()).unwrap(),
            json!([{"_user": "[redacted]", "codes": ["111111", "[redacted]"], "data": {"n": 1}}, {"data": {"n": 2}}])
        );
        assert_eq!(json!(items), original);
        let reversed = [secret("_user"), secret("_user.email")];
        let traced = redacted_json(&mut items, &reversed).unwrap();
        assert_eq!(traced.items()[0]["_user"], "[redacted]");
        assert_eq!(json!(items), original);
    }
}
