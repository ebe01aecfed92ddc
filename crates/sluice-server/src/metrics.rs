//! Counters for `GET /metrics`, in Prometheus' text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use sluice::{StepStatus, StepTrace};

/// What the server counts.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    /// (component, dataflow, status) → runs.
    runs: BTreeMap<(String, String, &'static str), u64>,
    /// step type → (runs, total seconds).
    steps: BTreeMap<String, (u64, f64)>,
    /// step type → failures.
    failures: BTreeMap<String, u64>,
    /// outcome → codes (issued, confirmed, refused).
    codes: BTreeMap<&'static str, u64>,
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Metrics {
    /// Counts one run and its steps.
    pub fn record(&self, component: &str, dataflow: &str, ok: bool, trace: &[StepTrace]) {
        let mut counts = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let status = if ok { "ok" } else { "failed" };
        *counts.runs.entry((component.to_owned(), dataflow.to_owned(), status)).or_default() += 1;
        for step in trace.iter().filter(|s| s.status != StepStatus::NotRun) {
            let entry = counts.steps.entry(step.step_type.clone()).or_default();
            entry.0 += 1;
            entry.1 += step.duration_ns as f64 / 1e9;
            if step.status == StepStatus::Failed {
                *counts.failures.entry(step.step_type.clone()).or_default() += 1;
            }
            let code = match (step.step_type.as_str(), step.status) {
                ("get_one_time_code_for_user", StepStatus::Ok) => Some("issued"),
                ("confirm_one_time_code_for_user", _) if step.notes.iter().any(|n| n.starts_with("code refused")) => {
                    Some("refused")
                }
                ("confirm_one_time_code_for_user", StepStatus::Ok) => Some("confirmed"),
                _ => None,
            };
            if let Some(code) = code {
                *counts.codes.entry(code).or_default() += step.items_in.max(1) as u64;
            }
        }
    }

    /// The counters as Prometheus text.
    pub fn render(&self) -> String {
        let counts = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        out.push_str("# HELP sluice_runs_total Dataflow runs.\n# TYPE sluice_runs_total counter\n");
        for ((component, dataflow, status), n) in &counts.runs {
            let _ = writeln!(
                out,
                "sluice_runs_total{{component=\"{}\",dataflow=\"{}\",status=\"{status}\"}} {n}",
                escape(component),
                escape(dataflow)
            );
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
        out.push_str("# HELP sluice_one_time_codes_total One-time codes by outcome.\n# TYPE sluice_one_time_codes_total counter\n");
        for outcome in ["issued", "confirmed", "refused"] {
            let n = counts.codes.get(outcome).copied().unwrap_or(0);
            let _ = writeln!(out, "sluice_one_time_codes_total{{outcome=\"{outcome}\"}} {n}");
        }
        out
    }
}
