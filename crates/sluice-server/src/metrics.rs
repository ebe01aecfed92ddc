//! Counters for `GET /metrics`, in Prometheus' text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use sluice::events::Event;
use sluice::{StepStatus, StepTrace};

/// What the server counts.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    /// component → dataflow → runs that failed and runs that went through.
    runs: BTreeMap<String, BTreeMap<String, [u64; 2]>>,
    /// step type → (runs, total seconds).
    steps: BTreeMap<String, (u64, f64)>,
    /// step type → failures.
    failures: BTreeMap<String, u64>,
    /// What steps counted.
    events: BTreeMap<Event, u64>,
}

/// Changes the value counted under `key` (from the default when new): the name is copied only
/// the first time it is seen.
fn bump<V: Default>(map: &mut BTreeMap<String, V>, key: &str, change: impl FnOnce(&mut V)) {
    match map.get_mut(key) {
        Some(value) => change(value),
        None => change(map.entry(key.to_owned()).or_default()),
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Metrics {
    /// Counts one run and its steps.
    pub fn record(&self, component: &str, dataflow: &str, ok: bool, trace: &[StepTrace]) {
        let mut counts = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        bump(&mut counts.runs, component, |dataflows| bump(dataflows, dataflow, |runs| runs[usize::from(ok)] += 1));
        for step in trace.iter().filter(|s| s.status != StepStatus::NotRun) {
            bump(&mut counts.steps, &step.step_type, |(n, seconds)| {
                *n += 1;
                *seconds += step.duration_ns as f64 / 1e9;
            });
            if step.status == StepStatus::Failed {
                bump(&mut counts.failures, &step.step_type, |n| *n += 1);
            }
            for event in &step.events {
                *counts.events.entry(*event).or_default() += 1;
            }
        }
    }

    /// The counters as Prometheus text.
    pub fn render(&self) -> String {
        let counts = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        out.push_str("# HELP sluice_runs_total Dataflow runs.\n# TYPE sluice_runs_total counter\n");
        for (component, dataflows) in &counts.runs {
            for (dataflow, by_status) in dataflows {
                for (status, n) in ["failed", "ok"].into_iter().zip(by_status).filter(|(_, n)| **n > 0) {
                    let _ = writeln!(
                        out,
                        "sluice_runs_total{{component=\"{}\",dataflow=\"{}\",status=\"{status}\"}} {n}",
                        escape(component),
                        escape(dataflow)
                    );
                }
            }
        }
        out.push_str(
            "# HELP sluice_step_duration_seconds Time spent in steps.\n# TYPE sluice_step_duration_seconds summary\n",
        );
        for (step_type, (n, seconds)) in &counts.steps {
            let _ = writeln!(out, "sluice_step_duration_seconds_sum{{type=\"{step_type}\"}} {seconds}");
            let _ = writeln!(out, "sluice_step_duration_seconds_count{{type=\"{step_type}\"}} {n}");
        }
        out.push_str("# HELP sluice_step_failures_total Steps that failed, by type.\n# TYPE sluice_step_failures_total counter\n");
        for (step_type, n) in &counts.failures {
            let _ = writeln!(out, "sluice_step_failures_total{{type=\"{step_type}\"}} {n}");
        }
        // Every counter of every event, zero included, each metric's lines together.
        let mut described = Vec::new();
        for event in Event::ALL {
            let counter = event.counter();
            if !described.contains(&counter.metric) {
                described.push(counter.metric);
                let _ = writeln!(out, "# HELP {} {}\n# TYPE {} counter", counter.metric, counter.help, counter.metric);
                for same in Event::ALL.into_iter().filter(|e| e.counter().metric == counter.metric) {
                    let n = counts.events.get(&same).copied().unwrap_or(0);
                    let _ = writeln!(out, "{}{{outcome=\"{}\"}} {n}", counter.metric, same.counter().outcome);
                }
            }
        }
        out
    }
}
