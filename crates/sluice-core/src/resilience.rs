//! What a step does when it fails: stop, continue or route the item (`onError`), and how its
//! calls outside Sluice are tried again and bounded in time (`retry`, `timeout`).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::component::{MAX_RETRY_ATTEMPTS, OnError, Retry, StepSpec};
use crate::diagnostics::Problem;
use crate::duration::DurationSetting;
use crate::plan::CompiledStep;
use crate::plugin::{BuiltStep, Item, StepContext, StepError, StepMeta};

/// Where a routed item carries its error: `{"step", "type", "message"}`.
pub const ERROR_FIELD: &str = "_error";

/// The longest wait between two tries, and the longest timeout (ms).
const MAX_DELAY_MS: i64 = 60_000;
const MAX_TIMEOUT_MS: i64 = 300_000;
const DEFAULT_DELAY_MS: i64 = 1_000;

/// How `step` (at `pointer`, of type `meta`) handles failure: the rules of its outside calls, or
/// the problems with them and with its `onError`.
pub(crate) fn handling_rules(step: &StepSpec, pointer: &str, meta: &StepMeta) -> Result<OutsideCalls, Vec<Problem>> {
    let name = Some(step.name.as_str());
    let mut problems = Vec::new();
    let mut refuse = |key: &str, why: &str| {
        problems.push(
            Problem::new(
                format!("{pointer}/{key}"),
                format!("{key} applies to steps that call outside Sluice, and {} does not", meta.id),
            )
            .step(name)
            .hint(format!(
                "remove \"{key}\"; steps that take it are those that send notifications or call APIs ({why})"
            )),
        );
    };
    // Work inside Sluice is not cut short by a step's timeout: Rust code cannot be stopped
    // midway, and a check after an item would fail it once its writes were made. The run's
    // own limits bound it (a script's time and operations, the server's request time).
    if !meta.calls_outside {
        if step.retry.is_some() {
            refuse("retry", "a failure inside Sluice would fail again the same way");
        }
        if step.timeout.is_some() {
            refuse("timeout", "work inside Sluice is bounded by the run's limits, such as a script's time");
        }
    }
    if step.on_error == OnError::Route && meta.group.starts_flow() {
        problems.push(
            Problem::new(format!("{pointer}/onError"), "an input step has no item to route")
                .step(name)
                .hint("use \"continue\" or \"stop\""),
        );
    }
    match OutsideCalls::from_settings(step.retry.as_ref(), step.timeout.as_ref(), None) {
        Ok(rules) if problems.is_empty() => Ok(rules),
        Ok(_) => Err(problems),
        Err(found) => {
            problems.extend(found.into_iter().map(|RuleProblem { key, message, hint }| {
                Problem::new(format!("{pointer}/{key}"), message).step(name).hint(hint)
            }));
            Err(problems)
        }
    }
}

/// What is wrong with `retry` or `timeout`: the key (`retry/delay`, say), what and how to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProblem {
    /// The key, relative to where `retry` and `timeout` stand.
    pub key: &'static str,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

/// How a step's calls outside Sluice are made: how many tries, the first wait between them
/// (doubled after each, at most a minute) and the longest wait for one try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideCalls {
    /// Tries in all (1: no retry).
    pub attempts: u32,
    /// The wait before the second try.
    pub delay: Duration,
    /// The longest one try may take.
    pub timeout: Option<Duration>,
}

impl OutsideCalls {
    /// The rules a `retry` and a `timeout` give (`default_timeout` when none is given), for a
    /// step or a connector alike: 1 to 10 tries, a first wait up to a minute (default 1 s), a
    /// timeout from 1 ms to 5 minutes. Every problem is listed.
    pub fn from_settings(
        retry: Option<&Retry>,
        timeout: Option<&DurationSetting>,
        default_timeout: Option<Duration>,
    ) -> Result<OutsideCalls, Vec<RuleProblem>> {
        let mut problems = Vec::new();
        let mut millis = |key: &'static str, setting: Option<&DurationSetting>, min: i64, max: i64| match setting
            .map(|d| d.within(min, max))
        {
            None => None,
            Some(Ok(ms)) => Some(Duration::from_millis(u64::try_from(ms).unwrap_or_default())),
            Some(Err((message, hint))) => {
                problems.push(RuleProblem { key, message, hint });
                None
            }
        };
        let delay = millis("retry/delay", retry.and_then(|r| r.delay.as_ref()), 0, MAX_DELAY_MS);
        let timeout = millis("timeout", timeout, 1, MAX_TIMEOUT_MS);
        let attempts = retry.map_or(1, |r| r.attempts);
        if !(1..=MAX_RETRY_ATTEMPTS).contains(&attempts) {
            problems.push(RuleProblem {
                key: "retry/attempts",
                message: format!("{attempts} tries is outside 1 to {MAX_RETRY_ATTEMPTS}"),
                hint: format!("give from 1 to {MAX_RETRY_ATTEMPTS} tries in all"),
            });
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let defaults = OutsideCalls::default();
        Ok(OutsideCalls { attempts, delay: delay.unwrap_or(defaults.delay), timeout: timeout.or(default_timeout) })
    }

    /// Whether these are the defaults (one try, no timeout): the step set neither.
    pub fn is_default(&self) -> bool {
        *self == OutsideCalls::default()
    }
}

impl Default for OutsideCalls {
    fn default() -> Self {
        OutsideCalls { attempts: 1, delay: Duration::from_millis(DEFAULT_DELAY_MS as u64), timeout: None }
    }
}

impl StepContext<'_> {
    /// Makes a call outside Sluice as the step's `retry` and `timeout` say: a failed try (an
    /// `Err` with the reason) is tried again after a wait that doubles each time, and a try
    /// that outlasts the timeout fails as timed out. A timed-out try runs on to its end on a
    /// thread of its own and is not tried again (it may still get through: a second try could
    /// deliver twice). Each failed try is noted in the trace.
    pub fn call_outside<T: Send + 'static>(
        &mut self,
        call: impl Fn() -> Result<T, CallError> + Send + Sync + 'static,
    ) -> Result<T, String> {
        let rules = self.outside.clone();
        self.call_outside_with(&rules, call)
    }

    /// The step's `retry` and `timeout` (the defaults when it sets neither).
    pub fn outside_rules(&self) -> &OutsideCalls {
        self.outside
    }

    /// As [`call_outside`](Self::call_outside), tried as `rules` say (a connector's own, for a
    /// step that sets none).
    pub fn call_outside_with<T: Send + 'static>(
        &mut self,
        rules: &OutsideCalls,
        call: impl Fn() -> Result<T, CallError> + Send + Sync + 'static,
    ) -> Result<T, String> {
        let rules = rules.clone();
        let call = Arc::new(call);
        let mut delay = rules.delay;
        let mut attempt = 1;
        loop {
            let result = match rules.timeout {
                None => call(),
                Some(limit) => within(limit, call.clone()).unwrap_or_else(|| {
                    Err(CallError::Lasting(format!("no answer within {limit:?} (the step's timeout)")))
                }),
            };
            let (reason, may_pass) = match result {
                Ok(value) => return Ok(value),
                Err(CallError::Passing(reason)) => (reason, true),
                Err(CallError::Lasting(reason)) => (reason, false),
            };
            if !may_pass || attempt >= rules.attempts {
                return Err(if attempt > 1 { format!("{reason} (after {attempt} tries)") } else { reason });
            }
            self.note(format!("try {attempt} of {} failed: {reason}; trying again in {delay:?}", rules.attempts));
            self.count(crate::events::Event::OutsideCallRetried);
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_millis(MAX_DELAY_MS as u64));
            attempt += 1;
        }
    }
}

/// Why a call outside Sluice failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// A reason that may pass (a server busy or down, an answer 5xx): the call is tried again.
    Passing(String),
    /// A reason that will not (a request refused as wrong, a timeout): it is not.
    Lasting(String),
}

/// `call` on a thread of its own; `None` when it takes longer than `limit`.
fn within<T: Send + 'static>(
    limit: Duration,
    call: Arc<dyn Fn() -> Result<T, CallError> + Send + Sync>,
) -> Option<Result<T, CallError>> {
    let (done, result) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new().name("sluice-outside-call".into()).spawn(move || {
        let _ = done.send(call());
    });
    if let Err(e) = spawned {
        return Some(Err(CallError::Passing(format!("cannot start the call: {e}"))));
    }
    result.recv_timeout(limit).ok()
}

/// What the items of one step came to.
pub(crate) struct Handled {
    pub result: Result<(), StepError>,
    /// Items the step failed on and let go (`continue`) or routed (`route`).
    pub failed_items: usize,
}

impl CompiledStep {
    /// Runs the step, handling its failures as its `onError` says: an input step on `input`,
    /// any other on `items` (those it routes go to `errors`). Gives how many items it took in.
    pub(crate) fn run_handled(
        &self,
        input: &Value,
        items: Vec<Item>,
        cx: &mut StepContext<'_>,
        out: &mut Vec<Item>,
        errors: &mut Vec<Item>,
    ) -> (usize, Handled) {
        match &self.built {
            BuiltStep::Start(step) => (1, self.start(step.as_ref(), input, cx, out)),
            _ => (items.len(), self.run_items(items, cx, out, errors)),
        }
    }

    /// Runs the input step `step` (this one's); with `"onError": "continue"` its failure emits
    /// nothing.
    fn start(
        &self,
        step: &dyn crate::plugin::StartStep,
        input: &Value,
        cx: &mut StepContext<'_>,
        out: &mut Vec<Item>,
    ) -> Handled {
        match step.start(input, cx, out) {
            Err(error) if self.on_error == OnError::Continue && !error.unavailable => {
                out.clear();
                cx.note(format!("the step failed and the run went on: {}", error.message));
                cx.count(crate::events::Event::ItemDropped);
                Handled { result: Ok(()), failed_items: 1 }
            }
            result => Handled { result, failed_items: 0 },
        }
    }

    /// Runs a step that is not an input step on `items`, handling failures as `onError` says:
    /// items routed go to `errors`, each with [`ERROR_FIELD`]. A store that cannot be reached
    /// always stops the run (no later step could do better).
    fn run_items(
        &self,
        items: Vec<Item>,
        cx: &mut StepContext<'_>,
        out: &mut Vec<Item>,
        errors: &mut Vec<Item>,
    ) -> Handled {
        let &CompiledStep { ref built, ref name, step_type, on_error, .. } = self;
        if on_error == OnError::Stop {
            return Handled { result: built.run_items(items, cx, out), failed_items: 0 };
        }
        let route = on_error == OnError::Route;
        let mut failed_items = 0;
        let mut fail = |error: StepError, kept: Option<Item>, cx: &mut StepContext<'_>| {
            if error.unavailable {
                return Err(error);
            }
            failed_items += 1;
            if failed_items <= 5 {
                cx.note(format!(
                    "an item failed and was {}: {}",
                    if route { "routed" } else { "dropped" },
                    error.message
                ));
            }
            cx.count(if route { crate::events::Event::ItemRouted } else { crate::events::Event::ItemDropped });
            if let Some(mut item) = kept {
                item.insert(ERROR_FIELD.into(), json!({"step": name, "type": step_type, "message": error.message}));
                errors.push(item);
            }
            Ok(())
        };
        let result = match built {
            BuiltStep::Each(step) => items.into_iter().try_for_each(|item| {
                let kept = route.then(|| item.clone());
                let mark = out.len();
                match step.run(item, cx, out) {
                    Ok(()) => Ok(()),
                    Err(error) => {
                        out.truncate(mark);
                        fail(error, kept, cx)
                    }
                }
            }),
            _ => {
                let count = items.len();
                let kept = if route { items.clone() } else { Vec::new() };
                match built.run_items(items, cx, out) {
                    Ok(()) => Ok(()),
                    Err(error) => {
                        out.clear();
                        let mut kept = kept.into_iter();
                        (0..count).try_for_each(|_| fail(error.clone(), kept.next(), cx))
                    }
                }
            }
        };
        Handled { result, failed_items }
    }
}
