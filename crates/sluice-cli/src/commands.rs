//! The subcommands.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sluice::source::Source;
use sluice::{Diagnostic, Engine, Lang, LoadError, RunContext, RunError, RunOptions};

use crate::{Failure, Format};

fn engine() -> Result<Engine, Failure> {
    Engine::new().map_err(|e| Failure::Environment(e.to_string()))
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::Environment(format!("cannot read {}: {e}", path.display())))
}

fn print_json(value: &Value) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

fn diagnostics_json(file: &Path, diagnostics: &[Diagnostic]) -> Vec<Value> {
    diagnostics
        .iter()
        .map(|d| {
            let mut v = json!(d);
            v["file"] = json!(file.display().to_string());
            v
        })
        .collect()
}

fn print_diagnostics(file: &Path, diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        eprintln!("{}:{d}", file.display());
    }
}

/// `sluice validate`.
pub fn validate(files: &[PathBuf], format: Format) -> Result<(), Failure> {
    let engine = engine()?;
    let mut errors = Vec::new();
    for file in files {
        let bytes = read(file)?;
        match engine.load(&file.display().to_string(), &bytes) {
            Ok(_) if format == Format::Text => println!("{}: valid", file.display()),
            Ok(_) => {}
            Err(LoadError::Invalid { diagnostics, .. }) => {
                if format == Format::Text {
                    print_diagnostics(file, &diagnostics);
                }
                errors.extend(diagnostics_json(file, &diagnostics));
            }
            Err(e @ LoadError::Io { .. }) => return Err(Failure::Environment(e.to_string())),
        }
    }
    if format == Format::Json {
        print_json(&json!({"valid": errors.is_empty(), "errors": errors}));
    } else if !errors.is_empty() {
        eprintln!("{} problem{} found", errors.len(), if errors.len() == 1 { "" } else { "s" });
    }
    if errors.is_empty() { Ok(()) } else { Err(Failure::Invalid) }
}

/// `sluice steps`.
pub fn steps(lang: Lang, format: Format) -> Result<(), Failure> {
    let catalog = engine()?.catalog(lang);
    if format == Format::Json {
        print_json(&json!(catalog));
        return Ok(());
    }
    let mut group = None;
    for entry in catalog {
        if group != Some(entry.group) {
            group = Some(entry.group);
            println!("{}", json!(entry.group).as_str().unwrap_or_default());
        }
        println!("  {:<20} {} — {}", entry.id, entry.title, entry.description);
        for s in entry.settings {
            println!("  {:<20}   {}{}: {}", "", s.name, if s.required { " (required)" } else { "" }, s.label);
        }
    }
    Ok(())
}

/// Where `sluice run` reads its input from.
pub struct RunInput {
    /// `--input`.
    pub inline: Option<String>,
    /// `--input-file`.
    pub file: Option<PathBuf>,
}

impl RunInput {
    fn read(self) -> Result<Value, Failure> {
        let (origin, text) = match (self.inline, self.file) {
            (Some(text), _) => ("--input".to_owned(), text),
            (None, Some(path)) if path.as_os_str() == "-" => {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .map_err(|e| Failure::Environment(format!("cannot read standard input: {e}")))?;
                ("standard input".to_owned(), text)
            }
            (None, Some(path)) => {
                let bytes = read(&path)?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| Failure::Environment(format!("{} is not UTF-8 text", path.display())))?;
                (path.display().to_string(), text)
            }
            (None, None) => return Ok(json!({"data": {}})),
        };
        serde_json::from_str(&text).map_err(|e| Failure::Environment(format!("{origin} is not valid JSON: {e}")))
    }
}

/// `sluice run`.
pub fn run(
    file: &Path,
    dataflow: &str,
    input: RunInput,
    cx: RunContext,
    trace: bool,
    format: Format,
) -> Result<(), Failure> {
    let engine = engine()?;
    let bytes = read(file)?;
    let input = input.read()?;
    let plan = match engine.load(&file.display().to_string(), &bytes) {
        Ok(plan) => plan,
        Err(LoadError::Invalid { diagnostics, .. }) => {
            print_diagnostics(file, &diagnostics);
            return Err(Failure::Invalid);
        }
        Err(e @ LoadError::Io { .. }) => return Err(Failure::Environment(e.to_string())),
    };
    match plan.run(dataflow, &input, &cx, RunOptions { trace_items: trace }) {
        Ok(outcome) => {
            if format == Format::Json {
                let mut out = json!({"response": outcome.response, "formActions": outcome.form_actions});
                if trace {
                    out["trace"] = json!(outcome.trace);
                }
                print_json(&out);
            } else {
                print_json(&json!(outcome.response));
                for action in &outcome.form_actions {
                    eprintln!("form action: {action}");
                }
                if trace {
                    print_trace(&outcome.trace);
                }
            }
            Ok(())
        }
        Err(RunError::StepFailed(failure)) => {
            let at = Source::new(std::str::from_utf8(&bytes).unwrap_or_default()).locate_all(&[&failure.pointer]);
            let (line, column) = at.first().map_or((1, 1), |l| (l.line, l.column));
            if format == Format::Json {
                let mut out = json!({"error": {
                    "step": failure.step, "type": failure.step_type, "pointer": failure.pointer,
                    "line": line, "column": column, "message": failure.message,
                }});
                if trace {
                    out["trace"] = json!(failure.trace);
                }
                print_json(&out);
            } else if trace {
                print_trace(&failure.trace);
            }
            eprintln!("{}:{line}:{column}: {}: {failure}", file.display(), failure.pointer);
            Err(Failure::Invalid)
        }
        Err(e @ RunError::UnknownDataflow { .. }) => {
            eprintln!("{}: {e}", file.display());
            Err(Failure::Invalid)
        }
    }
}

fn print_trace(trace: &[sluice::StepTrace]) {
    eprintln!("{:<20} {:<20} {:>7} {:>6} {:>6} {:>10}", "step", "type", "status", "in", "out", "µs");
    for t in trace {
        let status = json!(t.status);
        eprintln!(
            "{:<20} {:<20} {:>7} {:>6} {:>6} {:>10.1}",
            t.step,
            t.step_type,
            status.as_str().unwrap_or_default(),
            t.items_in,
            t.items_out,
            t.duration_ns as f64 / 1000.0
        );
        for item in t.items.iter().flatten() {
            eprintln!("    {}", Value::Object(item.clone()));
        }
    }
}

/// `sluice schemas`.
pub fn schemas(out: &Path) -> Result<(), Failure> {
    let engine = engine()?;
    for (name, text) in sluice::schema::schema_files(&engine) {
        let path = out.join(name);
        let write = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&path, text));
        write.map_err(|e| Failure::Environment(format!("cannot write {}: {e}", path.display())))?;
        println!("{}", path.display());
    }
    Ok(())
}
