//! Validate, then build: a component file becomes a [`Plan`] or a list of located problems.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use indexmap::IndexMap;

use crate::component::{
    Access, Branch, Definition, DefinitionType, Definitions, NotificationTemplate, OnError, StepSpec, data_schema,
};
use crate::diagnostics::{LoadError, Problem, locate};
use crate::engine::{Engine, RegisteredStep};
use crate::entries::{ComponentDirectory, NoOtherComponents};
use crate::plan::{CompiledDataflow, CompiledStep, Plan};
use crate::plugin::{BuildContext, BuiltStep, DataflowCall, Secret, suggestion};
use crate::resilience::handling_rules;
use crate::source::{Source, escape_token};
use crate::templates::Templates;
use crate::types::{compile_with_formats, describe};

/// At most this many problems are reported for one file; the rest are counted.
const MAX_PROBLEMS: usize = 500;

impl Engine {
    /// Reads and loads a component file.
    pub fn load_file(&self, path: impl AsRef<Path>) -> Result<Plan, LoadError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| LoadError::Io { origin: origin.clone(), source })?;
        self.load(&origin, &bytes)
    }

    /// Validates a component and compiles it into a plan: settings checked, paths resolved,
    /// scripts compiled. `origin` names the component in errors (usually its path).
    ///
    /// Every problem in the file is reported at once, each located by JSON Pointer, line and
    /// column. Never panics, whatever the bytes.
    pub fn load(&self, origin: &str, bytes: &[u8]) -> Result<Plan, LoadError> {
        self.load_with_fields(origin, bytes, &NoOtherComponents).0
    }

    /// As [`load`](Self::load), for a component whose steps may read or write the entries of
    /// the components in `directory`.
    pub fn load_among(
        &self,
        origin: &str,
        bytes: &[u8],
        directory: &dyn ComponentDirectory,
    ) -> Result<Plan, LoadError> {
        self.load_with_fields(origin, bytes, directory).0
    }

    /// As [`load_among`](Self::load_among), and for each step the fields written upstream of
    /// it (what a builder offers to complete a path), found as far as the file can be read
    /// even when it has problems.
    pub fn load_with_fields(
        &self,
        origin: &str,
        bytes: &[u8],
        directory: &dyn ComponentDirectory,
    ) -> (Result<Plan, LoadError>, Vec<UpstreamFields>) {
        let invalid = |diagnostics| LoadError::Invalid { origin: origin.to_owned(), diagnostics };
        let text = match self.read_text(bytes) {
            Ok(text) => text,
            Err(problem) => return (Err(invalid(locate(&Source::new(""), vec![*problem]))), Vec::new()),
        };
        let source = Source::new(text);
        let root: Value = match serde_json::from_str(text) {
            Ok(root) => root,
            Err(e) => return (Err(invalid(locate(&source, vec![syntax_problem(&e)]))), Vec::new()),
        };
        let mut loader = Loader::new(self, directory);
        let plan = loader.check(&root);
        let fields = loader.upstream_fields;
        if loader.problems.is_empty()
            && let Some(plan) = plan
        {
            return (Ok(plan), fields);
        }
        let mut problems = loader.problems;
        if problems.len() > MAX_PROBLEMS {
            let hidden = problems.len() - MAX_PROBLEMS;
            problems.truncate(MAX_PROBLEMS);
            problems.push(
                Problem::new("", format!("{hidden} more problems are not shown")).hint("fix the ones above first"),
            );
        }
        (Err(invalid(locate(&source, problems))), fields)
    }

    /// Builds `spec` on its own, for a component named `component` with `definitions`, the way
    /// a dataflow's steps are built; its problems point into the step (`/settings/...`).
    pub(crate) fn build_alone(
        &self,
        component: &str,
        spec: &StepSpec,
        definitions: &Definitions,
    ) -> Result<(CompiledStep, Vec<Secret>), Vec<Problem>> {
        let mut loader = Loader::new(self, &NoOtherComponents);
        let mut secrets = Vec::new();
        let data_schema = loader.data_schema(definitions).map(Arc::new);
        let registered = loader.registered("", spec);
        let step = data_schema.zip(registered).and_then(|(data_schema, registered)| {
            let parts = Parts {
                component,
                definitions,
                data_schema: &data_schema,
                templates: &Arc::new(Templates::empty()),
                // A step on its own has no dataflow to call,
                dataflows: &[],
            };
            // nor a step upstream: its items may hold any field.
            let site = Site { pointer: "", spec, dataflow: "", earlier: &[], upstream: None };
            loader.build_step(&parts, registered, site, &mut secrets).step
        });
        match step {
            Some(step) if loader.problems.is_empty() => Ok((step, secrets)),
            _ => Err(loader.problems),
        }
    }

    fn read_text<'b>(&self, bytes: &'b [u8]) -> Result<&'b str, Box<Problem>> {
        if bytes.len() > self.max_file_size {
            return Err(Box::new(
                Problem::new("", format!("the file is {} bytes; the limit is {}", bytes.len(), self.max_file_size))
                    .hint("split the component, or raise the engine's max_file_size"),
            ));
        }
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let good = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            let at = Source::new(good).location_of_offset(good.len());
            let mut problem =
                Problem::new("", format!("the file is not valid UTF-8 (bad byte at offset {})", e.valid_up_to()))
                    .hint("save the file as UTF-8");
            problem.at = Some((at.line, at.column));
            Box::new(problem)
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if text.trim().is_empty() {
            return Err(Box::new(
                Problem::new("", "the file is empty")
                    .hint("a component is a JSON object with \"name\" and \"dataflows\""),
            ));
        }
        Ok(text)
    }
}

fn syntax_problem(e: &serde_json::Error) -> Problem {
    let full = e.to_string();
    let message = full.rfind(" at line ").map_or(full.as_str(), |cut| &full[..cut]);
    let hint = match e.classify() {
        serde_json::error::Category::Eof => "the file ends too early: look for a missing } or ] or \"",
        _ if message.contains("recursion limit") => "the file nests more than 128 levels deep; flatten it",
        _ => "fix the JSON syntax at this place",
    };
    let mut problem = Problem::new("", format!("the file is not valid JSON: {message}")).hint(hint);
    problem.at = Some((e.line().max(1), e.column().max(1)));
    problem
}

/// The top-level fields the steps upstream of one step name as written (besides `data`, which
/// the definitions describe): what a builder's path picker offers at that step.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UpstreamFields {
    /// The step's JSON Pointer in the file (`/dataflows/0/stages/1/steps/0`).
    pub pointer: String,
    /// The fields, in the order the steps upstream write them.
    pub fields: Vec<String>,
}

struct Loader<'e> {
    engine: &'e Engine,
    directory: &'e dyn ComponentDirectory,
    problems: Vec<Problem>,
    upstream_fields: Vec<UpstreamFields>,
    /// False when a definition could not be read: `data.X` checks would then report fields
    /// that are declared, only broken.
    definitions_complete: bool,
    /// The calls between dataflows the steps make (Execute dataflow).
    calls: Vec<DataflowCall>,
}

/// Who may run a dataflow, as its file says (the file's schema has checked the value).
fn access_of(dataflow: &Value) -> Access {
    dataflow.get("access").and_then(|a| Access::deserialize(a).ok()).unwrap_or_default()
}

/// What every dataflow of a component is built with.
#[derive(Clone, Copy)]
struct Parts<'p> {
    component: &'p str,
    definitions: &'p Definitions,
    data_schema: &'p Arc<jsonschema::Validator>,
    templates: &'p Arc<Templates>,
    /// Every dataflow's name and access.
    dataflows: &'p [(String, Access)],
}

/// A step of the file, read into its type; of a step that does not fit [`StepSpec`] (the
/// component schema has said why) only its name is known, so that the steps naming it as their
/// source are not reported as well.
struct StepAt {
    pointer: String,
    read: Result<StepSpec, Option<String>>,
}

impl StepAt {
    fn name(&self) -> Option<&str> {
        match &self.read {
            Ok(spec) => Some(&spec.name),
            Err(name) => name.as_deref(),
        }
    }
}

/// What is read of a step that does not fit [`StepSpec`].
#[derive(Deserialize)]
struct NameOnly {
    name: String,
}

/// Where a step stands, for building it.
struct Site<'s> {
    pointer: &'s str,
    spec: &'s StepSpec,
    dataflow: &'s str,
    /// The names of the steps placed before it.
    earlier: &'s [Option<&'s str>],
    /// The fields written upstream of it (`None`: any field).
    upstream: Option<&'s [String]>,
}

/// What building one step gave: the step when it built (its source not yet set), and the fields
/// it declared it writes and offers, kept when it failed so the steps after it are checked as
/// far as they can be.
struct Built {
    step: Option<CompiledStep>,
    writes: Option<Vec<String>>,
    offers: Vec<String>,
}

impl<'e> Loader<'e> {
    fn new(engine: &'e Engine, directory: &'e dyn ComponentDirectory) -> Self {
        Loader {
            engine,
            directory,
            problems: Vec::new(),
            upstream_fields: Vec::new(),
            definitions_complete: true,
            calls: Vec::new(),
        }
    }

    fn check(&mut self, root: &Value) -> Option<Plan> {
        for error in self.engine.component_validator.iter_errors(root).take(MAX_PROBLEMS + 1) {
            let problem = schema_problem("", &error, &self.engine.component_schema, root);
            let step = step_named_at(root, &problem.pointer);
            self.problems.push(problem.step(step));
        }
        if let Some(at) = crate::types::nul_at(root) {
            self.problems.push(Problem::new(at, crate::types::NUL_RULE).hint("remove the \\u0000 escape"));
        }
        let root = root.as_object()?;
        let component = root.get("name").and_then(Value::as_str).unwrap_or_default();
        let definitions = self.definitions(root);
        let data_schema = Arc::new(self.data_schema(&definitions)?);
        let templates = Arc::new(self.templates(root, &definitions));
        let mut dataflows = Vec::new();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        // Every dataflow's name and access, for the steps that call one (Execute dataflow).
        let named: Vec<(String, Access)> = root
            .get("dataflows")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|d| Some((d.get("name")?.as_str()?.to_owned(), access_of(d))))
            .collect();
        let parts = Parts {
            component,
            definitions: &definitions,
            data_schema: &data_schema,
            templates: &templates,
            dataflows: &named,
        };
        for (i, dataflow) in root.get("dataflows").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let pointer = format!("/dataflows/{i}");
            let name = dataflow.get("name").and_then(Value::as_str);
            if let Some(name) = name
                && let Some(first) = seen.insert(name, i)
            {
                self.problems.push(
                    Problem::new(
                        format!("{pointer}/name"),
                        format!("a dataflow named \"{name}\" already exists (dataflow {first})"),
                    )
                    .hint("give every dataflow its own name"),
                );
            }
            let steps = self.read_steps(dataflow, &pointer);
            let access = access_of(dataflow);
            let mut secrets = Vec::new();
            let compiled = self.compile_dataflow(&parts, name.unwrap_or_default(), &steps, &mut secrets);
            if let (Some(name), Some(steps)) = (name, compiled) {
                dataflows.push(CompiledDataflow { name: name.to_owned(), steps, secrets, access });
            }
        }
        self.check_call_cycles();
        let name = root.get("name").and_then(Value::as_str)?.to_owned();
        let title = root.get("title").and_then(Value::as_str).map(str::to_owned);
        Some(Plan { name, title, definitions, dataflows, services: self.engine.services.clone(), templates })
    }

    fn definitions(&mut self, root: &Map<String, Value>) -> Definitions {
        let mut out = Definitions::new();
        for (name, value) in root.get("definitions").and_then(Value::as_object).into_iter().flatten() {
            let pointer = format!("/definitions/{}", escape_token(name));
            let valid_name = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid_name {
                self.problems.push(
                    Problem::new(&pointer, format!("\"{name}\" is not a valid definition name"))
                        .hint("start with a letter or _, then use letters, digits and _ only"),
                );
            }
            let Ok(definition) = Definition::deserialize(value) else {
                self.definitions_complete = false;
                continue;
            };
            self.check_definition(&pointer, &definition);
            out.insert(name.clone(), definition);
        }
        out
    }

    /// Checks that a definition's enum values fit its type and its constraints fit together.
    fn check_definition(&mut self, pointer: &str, definition: &Definition) {
        let checker = compile_with_formats(&definition.kind.value_type().json_schema());
        for (j, choice) in definition.choices().into_iter().flatten().enumerate() {
            if checker.as_ref().is_ok_and(|c| !c.is_valid(&choice.value)) {
                self.problems.push(
                    Problem::new(
                        format!("{pointer}/enum/{j}"),
                        format!("{} is not a valid {}", describe(&choice.value), value_kind(definition)),
                    )
                    .hint("make every enum value fit the definition's type; a label goes after a bar, as in \"0|Under Review\""),
                );
            }
        }
        if definition.primary_key && definition.kind == DefinitionType::Array {
            self.problems.push(
                Problem::new(format!("{pointer}/primaryKey"), "an array field cannot be a primary key")
                    .hint("use a string or integer field as the primary key"),
            );
        }
        let text = definition.kind.value_type().json_schema()["type"] == "string";
        let numeric = matches!(definition.kind, DefinitionType::Number | DefinitionType::Integer);
        let misplaced = [
            ("minLength", definition.min_length.is_some() && !text, "text"),
            ("maxLength", definition.max_length.is_some() && !text, "text"),
            ("pattern", definition.pattern.is_some() && !text, "text"),
            ("minimum", definition.minimum.is_some() && !numeric, "number or integer"),
            ("maximum", definition.maximum.is_some() && !numeric, "number or integer"),
        ];
        for (key, _, wanted) in misplaced.into_iter().filter(|(_, wrong, _)| *wrong) {
            self.problems.push(
                Problem::new(
                    format!("{pointer}/{key}"),
                    format!("{key} applies to {wanted} fields, and this one is {}", value_kind(definition)),
                )
                .hint(format!("remove {key}, or change the field's type")),
            );
        }
        let crossed = [
            (
                "minLength",
                "maxLength",
                definition.min_length.map(|n| n as f64),
                definition.max_length.map(|n| n as f64),
            ),
            ("minimum", "maximum", number(&definition.minimum), number(&definition.maximum)),
        ];
        for (low, high, at_least, at_most) in crossed {
            if let (Some(at_least), Some(at_most)) = (at_least, at_most)
                && at_least > at_most
            {
                self.problems.push(
                    Problem::new(format!("{pointer}/{low}"), format!("{low} ({at_least}) is above {high} ({at_most})"))
                        .hint(format!("no value could pass: lower {low} or raise {high}")),
                );
            }
        }
        if let Some(pattern) = &definition.pattern
            && let Err(message) = compile_with_formats(&json!({"pattern": pattern}))
        {
            self.problems.push(
                Problem::new(
                    format!("{pointer}/pattern"),
                    format!("the pattern is not a valid regular expression: {message}"),
                )
                .hint("write it in JSON Schema's regular expression syntax (ECMA 262)"),
            );
        }
    }

    /// The notification templates, compiled once (each broken one reported).
    fn templates(&mut self, root: &Map<String, Value>, definitions: &Definitions) -> Templates {
        let parsed = root
            .get("templates")
            .and_then(|t| IndexMap::<String, NotificationTemplate>::deserialize(t).ok())
            .unwrap_or_default();
        Templates::compile(&parsed, definitions, &mut self.problems)
    }

    /// The JSON Schema of `data`, compiled once for `validateInputValues` and friends.
    fn data_schema(&mut self, definitions: &Definitions) -> Option<jsonschema::Validator> {
        match compile_with_formats(&data_schema(definitions)) {
            Ok(v) => Some(v),
            Err(message) => {
                // A broken definition was reported where it is.
                if !self.problems.iter().any(|p| p.pointer.starts_with("/definitions/")) {
                    self.problems.push(Problem::new(
                        "/definitions",
                        format!("the definitions do not form a valid model: {message}"),
                    ));
                }
                None
            }
        }
    }

    fn read_steps(&mut self, dataflow: &Value, pointer: &str) -> Vec<StepAt> {
        let mut steps = Vec::new();
        let stages = dataflow.get("stages").and_then(Value::as_array);
        for (j, stage) in stages.into_iter().flatten().enumerate() {
            for (k, step) in stage.get("steps").and_then(Value::as_array).into_iter().flatten().enumerate() {
                let read = StepSpec::deserialize(step).map_err(|_| NameOnly::deserialize(step).ok().map(|n| n.name));
                steps.push(StepAt { pointer: format!("{pointer}/stages/{j}/steps/{k}"), read });
            }
        }
        // Without a "stages" array the component schema has already spoken.
        if steps.is_empty() && stages.is_some() {
            self.problems.push(
                Problem::new(format!("{pointer}/stages"), "the dataflow has no step")
                    .hint("add a stage with an input step such as get_action_model"),
            );
        }
        steps
    }

    /// Checks names and sources, then builds every step of the dataflow `dataflow`. `None` when
    /// any step failed.
    fn compile_dataflow(
        &mut self,
        parts: &Parts<'_>,
        dataflow: &str,
        steps: &[StepAt],
        secrets: &mut Vec<Secret>,
    ) -> Option<Vec<CompiledStep>> {
        let before = self.problems.len();
        // Each name's first step: sources name it, and later steps of the same name are errors.
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(steps.len());
        for (i, step) in steps.iter().enumerate() {
            if let Some(name) = step.name()
                && *index.entry(name).or_insert(i) != i
            {
                self.problems.push(
                    Problem::new(
                        format!("{}/name", step.pointer),
                        format!("another step of this dataflow is named \"{name}\""),
                    )
                    .step(Some(name))
                    .hint("give every step of a dataflow its own name"),
                );
            }
        }
        // Sources must name a step placed earlier; the first step with a name wins.
        let first_index = |name: &str| index.get(name).copied();
        // Every step's name, once (each step sees those placed before it).
        let names: Vec<Option<&str>> = steps.iter().map(StepAt::name).collect();
        let mut compiled = Vec::new();
        // What each step and those upstream of it declared they write (`None`: any field), and
        // every field they name as written (for completions).
        let mut written: Vec<Option<Vec<String>>> = Vec::with_capacity(steps.len());
        let mut offered: Vec<Vec<String>> = Vec::with_capacity(steps.len());
        for (i, step) in steps.iter().enumerate() {
            written.push(None);
            offered.push(Vec::new());
            let Ok(spec) = &step.read else {
                self.upstream_fields.push(UpstreamFields { pointer: step.pointer.clone(), fields: Vec::new() });
                continue;
            };
            let registered = self.registered(&step.pointer, spec);
            let starts_flow = registered.map(|r| r.descriptor.meta.group.starts_flow());
            let source = self.check_source(&step.pointer, spec, i, &names[..i], starts_flow, &first_index);
            let upstream_fields = source.map(|src| offered[src].clone()).unwrap_or_default();
            self.upstream_fields
                .push(UpstreamFields { pointer: step.pointer.clone(), fields: upstream_fields.clone() });
            offered[i] = upstream_fields;
            let Some(registered) = registered else { continue };
            let upstream = match source {
                Some(src) => written[src].clone(),
                None => Some(Vec::new()),
            };
            let site =
                Site { pointer: &step.pointer, spec, dataflow, earlier: &names[..i], upstream: upstream.as_deref() };
            let Built { step, writes, offers } = self.build_step(parts, registered, site, secrets);
            for field in offers {
                if !offered[i].contains(&field) {
                    offered[i].push(field);
                }
            }
            written[i] = writes.and_then(|own| upstream.map(|up| [up, own].concat()));
            if let Some(step) = step {
                compiled.push(CompiledStep { source, ..step });
            }
        }
        // A step left out without a problem here was reported by the component schema; either
        // way the plan is not built (sources index the steps as written).
        if self.problems.len() != before || compiled.len() != steps.len() {
            return None;
        }
        for i in 0..compiled.len() {
            // A step read besides a source keeps its items for the whole run.
            for read in compiled[i].reads.clone() {
                compiled[read].consumers += 1;
            }
            if let Some(src) = compiled[i].source {
                if compiled[i].from_error {
                    compiled[src].error_consumers += 1;
                } else {
                    compiled[src].consumers += 1;
                }
            }
        }
        self.check_error_branches(&compiled);
        (self.problems.len() == before).then_some(compiled)
    }

    /// The registered type of `spec`, or a problem naming the unknown type.
    fn registered(&mut self, pointer: &str, spec: &StepSpec) -> Option<&'e RegisteredStep> {
        let registered = self.engine.step(&spec.step_type);
        if registered.is_none() {
            let hint = suggestion(&spec.step_type, self.engine.steps.keys().copied()).map_or_else(
                || "run `sluice steps` to list the step types".to_owned(),
                |s| format!("did you mean \"{s}\"?"),
            );
            self.problems.push(
                Problem::new(format!("{pointer}/type"), format!("unknown step type \"{}\"", spec.step_type))
                    .step(Some(&spec.name))
                    .hint(hint),
            );
        }
        registered
    }

    /// Checks a step's settings against its type's schema, then builds it: the one way a step is
    /// built, in a dataflow or on its own ([`Engine::single_step`]).
    fn build_step(
        &mut self,
        parts: &Parts<'_>,
        registered: &RegisteredStep,
        site: Site<'_>,
        secrets: &mut Vec<Secret>,
    ) -> Built {
        let Parts { component, definitions, data_schema, templates, dataflows } = *parts;
        let Site { pointer, spec, dataflow, earlier, upstream } = site;
        let name = Some(spec.name.as_str());
        let meta = &registered.descriptor.meta;
        let settings_pointer = format!("{pointer}/settings");
        let settings = Value::Object(spec.settings.clone().unwrap_or_default());
        let schema_errors: Vec<Problem> = registered
            .validator
            .iter_errors(&settings)
            .take(MAX_PROBLEMS + 1)
            .map(|e| schema_problem(&settings_pointer, &e, &registered.schema, &settings).step(name))
            .collect();
        if !schema_errors.is_empty() {
            self.problems.extend(schema_errors);
            return Built { step: None, writes: None, offers: Vec::new() };
        }
        let mut cx = BuildContext {
            component,
            step: &spec.name,
            settings_pointer,
            definitions,
            check_data_fields: self.definitions_complete,
            data_schema,
            templates,
            scripts: &self.engine.scripts,
            directory: self.directory,
            dataflow,
            dataflows,
            calls: &mut self.calls,
            earlier,
            reads: Vec::new(),
            problems: &mut self.problems,
            secrets,
            upstream,
            writes: Some(Vec::new()),
            offers: Vec::new(),
        };
        let built = registered.descriptor.build(settings, &mut cx);
        let offers = std::mem::take(&mut cx.offers);
        let reads = std::mem::take(&mut cx.reads);
        let writes = cx.writes.take();
        let outside = match handling_rules(spec, pointer, meta) {
            Ok(outside) => Some(outside),
            Err(problems) => {
                self.problems.extend(problems);
                None
            }
        };
        let built = match built {
            Ok(built) if matches!(built, BuiltStep::Start(_)) != meta.group.starts_flow() => {
                self.problems.push(
                    Problem::new(pointer, format!("step type \"{}\" is built inconsistently", meta.id))
                        .step(name)
                        .hint("this is a bug in the step plugin; report it"),
                );
                None
            }
            built => built.ok(),
        };
        let step = built.zip(outside).map(|(built, outside)| CompiledStep {
            name: spec.name.clone(),
            step_type: meta.id,
            pointer: pointer.to_owned(),
            source: None,
            consumers: 0,
            error_consumers: 0,
            on_error: spec.on_error,
            from_error: spec.branch == Some(Branch::Error),
            reads,
            outside,
            built,
        });
        Built { step, writes, offers }
    }

    /// Dataflows that call one another round in a circle would never end: each call on such a
    /// circle is a problem, naming the circle.
    fn check_call_cycles(&mut self) {
        for call in &self.calls {
            // The shortest way from the called dataflow back to the caller, if any.
            let mut paths = vec![vec![call.from.clone(), call.to.clone()]];
            let mut seen = vec![call.to.clone()];
            let circle = loop {
                let Some(path) = (!paths.is_empty()).then(|| paths.remove(0)) else { break None };
                let last = path.last().cloned().unwrap_or_default();
                if last == call.from {
                    break Some(path);
                }
                for next in self.calls.iter().filter(|c| c.from == last).map(|c| &c.to) {
                    if !seen.contains(next) {
                        seen.push(next.clone());
                        paths.push([path.clone(), vec![next.clone()]].concat());
                    }
                }
            };
            if let Some(circle) = circle {
                self.problems.push(
                    Problem::new(
                        &call.pointer,
                        format!(
                            "{} calls itself ({}): calls cannot go round in a circle",
                            call.from,
                            circle.join(" → ")
                        ),
                    )
                    .step(Some(&call.step))
                    .hint("call a dataflow that does not call this one back"),
                );
            }
        }
    }

    /// A step taking an error branch needs a source that routes its errors, and a step that
    /// routes them needs a step to take them.
    fn check_error_branches(&mut self, compiled: &[CompiledStep]) {
        for step in compiled {
            let source = step.source.map(|src| &compiled[src]);
            if let Some(source) = source.filter(|s| step.from_error && s.on_error != OnError::Route) {
                self.problems.push(
                    Problem::new(
                        format!("{}/branch", step.pointer),
                        format!("\"{}\" does not route its errors", source.name),
                    )
                    .step(Some(&step.name))
                    .hint(format!("set \"onError\": \"route\" on \"{}\", or remove \"branch\"", source.name)),
                );
            }
            if step.on_error == OnError::Route && step.error_consumers == 0 {
                self.problems.push(
                    Problem::new(format!("{}/onError", step.pointer), "no step takes this step's error branch")
                        .step(Some(&step.name))
                        .hint(format!(
                            "add a step with \"source\": \"{}\" and \"branch\": \"error\", or use \"continue\"",
                            step.name
                        )),
                );
            }
        }
    }

    /// The index of the step that `spec`, the `i`th step at `pointer`, names as its source.
    /// `earlier` holds the names of the steps placed before it.
    fn check_source(
        &mut self,
        pointer: &str,
        spec: &StepSpec,
        i: usize,
        earlier: &[Option<&str>],
        starts_flow: Option<bool>,
        first_index: &dyn Fn(&str) -> Option<usize>,
    ) -> Option<usize> {
        let at = format!("{pointer}/source");
        let name = Some(spec.name.as_str());
        let earlier = || earlier.iter().flatten().copied().collect::<Vec<_>>();
        match (starts_flow, spec.source.as_deref()) {
            (Some(true), Some(_)) => {
                self.problems.push(
                    Problem::new(at, "an input step takes no source: it starts the dataflow")
                        .step(name)
                        .hint("remove \"source\""),
                );
                None
            }
            (Some(false), None) => {
                let names = earlier();
                let hint = match names.last() {
                    Some(last) => format!("set \"source\" to an earlier step, such as \"{last}\""),
                    None => "start the dataflow with an input step such as get_action_model".to_owned(),
                };
                self.problems.push(
                    Problem::new(pointer, "this step needs a \"source\": the step whose items it receives")
                        .step(name)
                        .hint(hint),
                );
                None
            }
            (_, Some(source)) => match first_index(source) {
                Some(j) if j < i => Some(j),
                Some(_) => {
                    let message = if name == Some(source) {
                        "a step cannot be its own source".to_owned()
                    } else {
                        format!("the source \"{source}\" is placed after this step")
                    };
                    self.problems.push(
                        Problem::new(at, message)
                            .step(name)
                            .hint("a source must stand in an earlier stage, or above this step in the same stage"),
                    );
                    None
                }
                None => {
                    let names = earlier();
                    let hint = match suggestion(source, names.iter().copied()) {
                        Some(s) => format!("did you mean \"{s}\"?"),
                        None if names.is_empty() => {
                            "start the dataflow with an input step such as get_action_model".to_owned()
                        }
                        None => format!("use one of the earlier steps: {}", names.join(", ")),
                    };
                    self.problems.push(
                        Problem::new(at, format!("no step named \"{source}\" in this dataflow")).step(name).hint(hint),
                    );
                    None
                }
            },
            _ => None,
        }
    }
}

/// The name of the step that `pointer` points into, if it points into one that has a name.
fn step_named_at<'v>(root: &'v Value, pointer: &str) -> Option<&'v str> {
    let parts: Vec<&str> = pointer.splitn(8, '/').collect();
    let ["", "dataflows", dataflow, "stages", stage, "steps", step, ..] = parts[..] else { return None };
    root.pointer(&format!("/dataflows/{dataflow}/stages/{stage}/steps/{step}/name"))?
        .as_str()
        .filter(|name| !name.is_empty())
}

fn number(n: &Option<serde_json::Number>) -> Option<f64> {
    n.as_ref().and_then(serde_json::Number::as_f64)
}

fn value_kind(d: &Definition) -> &'static str {
    d.kind.value_type().suffix()
}

/// Turns a JSON Schema error about `instance` into a short, located problem (never echoing a
/// whole value).
pub(crate) fn schema_problem(
    prefix: &str,
    error: &jsonschema::ValidationError<'_>,
    schema: &Value,
    instance: &Value,
) -> Problem {
    let path = error.instance_path().as_str();
    if let ValidationErrorKind::OneOfNotValid { context } = error.kind()
        && let Some(inner) = the_choice_of_its_shape(context, path)
    {
        return schema_problem(prefix, inner, schema, instance);
    }
    let found = describe(error.instance());
    let pointer = format!("{prefix}{path}");
    match error.kind() {
        ValidationErrorKind::Type { kind: TypeKind::Single(t) } => {
            wrong_type(pointer, &t.to_string(), error.instance())
        }
        ValidationErrorKind::Type { kind: TypeKind::Multiple(_) } => {
            let wanted: Vec<String> = schema
                .pointer(error.schema_path().as_str())
                .and_then(Value::as_array)
                .map(|types| types.iter().filter_map(Value::as_str).filter(|t| *t != "null").map(article).collect())
                .unwrap_or_default();
            let wanted = if wanted.is_empty() { "another type".to_owned() } else { wanted.join(" or ") };
            Problem::new(pointer, format!("expected {wanted}, found {found}")).hint(format!("write {wanted} here"))
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            Problem::new(pointer, format!("the required key \"{name}\" is missing")).hint(format!("add \"{name}\""))
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => unknown_keys(&pointer, unexpected),
        // `additionalProperties: false` beside no `properties`: an object that takes no keys at
        // all. The error names neither the object's keys nor their place, so both are read here.
        ValidationErrorKind::FalseSchema if error.schema_path().as_str().ends_with("/additionalProperties") => {
            let keys: Vec<String> = instance
                .pointer(path)
                .and_then(Value::as_object)
                .map(|object| object.keys().cloned().collect())
                .unwrap_or_default();
            unknown_keys(&pointer, &keys).hint("remove it: nothing may be set here")
        }
        ValidationErrorKind::Enum { options } => {
            let options = options.as_array().map(|o| o.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", "));
            Problem::new(pointer, format!("{found} is not allowed here"))
                .hint(format!("use one of: {}", options.unwrap_or_default()))
        }
        ValidationErrorKind::Pattern { pattern } => {
            Problem::new(pointer, format!("{found} does not match the pattern {pattern}"))
                .hint("rename it to fit the pattern")
        }
        ValidationErrorKind::OneOfNotValid { .. } | ValidationErrorKind::AnyOf { .. }
            if !alternatives(schema, error.schema_path().as_str()).is_empty() =>
        {
            let options = alternatives(schema, error.schema_path().as_str()).join(", ");
            Problem::new(pointer, format!("{found} is not allowed here")).hint(format!("use one of: {options}"))
        }
        ValidationErrorKind::MinLength { limit: 1 } => {
            Problem::new(pointer, "this text must not be empty").hint("fill it in")
        }
        ValidationErrorKind::MinItems { limit: 1 } => {
            Problem::new(pointer, "this list must not be empty").hint("add an element")
        }
        _ => {
            let mut text = error.to_string();
            if text.len() > 200 {
                text = format!("{found} is not valid here");
            }
            Problem::new(pointer, text)
        }
    }
}

/// The problem of `found` standing at `pointer` where a value of the JSON type `expected` (such
/// as `object`) belongs.
pub(crate) fn wrong_type(pointer: impl Into<String>, expected: &str, found: &Value) -> Problem {
    Problem::new(pointer, format!("expected {}, found {}", article(expected), describe(found)))
        .hint(format!("write {} here", article(expected)))
}

/// The problem of the keys `unexpected` in the object at `pointer`, placed at the first of them.
fn unknown_keys(pointer: &str, unexpected: &[String]) -> Problem {
    let first = unexpected.first().map(String::as_str).unwrap_or_default();
    let keys = unexpected.iter().map(|k| format!("\"{k}\"")).collect::<Vec<_>>().join(", ");
    let noun = if unexpected.len() == 1 { "key" } else { "keys" };
    Problem::new(format!("{pointer}/{}", escape_token(first)), format!("unknown {noun} {keys}"))
        .hint("remove it, or check its spelling")
}

/// The constant choices of a `oneOf`/`anyOf` (enum variants, or the tags of tagged variants).
/// Of a `oneOf`'s choices, the only one whose shape (type, constant) the value at `path` has,
/// and its first error: that is what the writer meant, and what to fix (such as an empty list
/// in `{"roles": []}`, where naming every choice would not help).
fn the_choice_of_its_shape<'a>(
    choices: &'a [Vec<jsonschema::ValidationError<'static>>],
    path: &str,
) -> Option<&'a jsonschema::ValidationError<'static>> {
    let misshapen = |e: &jsonschema::ValidationError<'_>| {
        e.instance_path().as_str() == path
            && matches!(
                e.kind(),
                ValidationErrorKind::Type { .. }
                    | ValidationErrorKind::Constant { .. }
                    | ValidationErrorKind::Enum { .. }
            )
    };
    let mut shaped = choices.iter().filter(|errors| !errors.iter().any(misshapen));
    match (shaped.next(), shaped.next()) {
        (Some(errors), None) => errors.first(),
        _ => None,
    }
}

fn alternatives(schema: &Value, keyword_location: &str) -> Vec<String> {
    let resolve = |node: &'_ Value| -> Option<Value> {
        match node.get("$ref").and_then(Value::as_str) {
            Some(reference) => schema.pointer(reference.strip_prefix('#')?).cloned(),
            None => Some(node.clone()),
        }
    };
    let Some(choices) = schema.pointer(keyword_location).and_then(Value::as_array) else { return Vec::new() };
    let mut out = Vec::new();
    for choice in choices.iter().filter_map(resolve) {
        if let Some(constant) = choice.get("const") {
            out.push(constant.to_string());
        } else if let Some(values) = choice.get("enum").and_then(Value::as_array) {
            out.extend(values.iter().map(Value::to_string));
        } else if let Some((key, constant)) = choice
            .get("properties")
            .and_then(Value::as_object)
            .and_then(|p| p.iter().find_map(|(k, v)| v.get("const").map(|c| (k, c))))
        {
            out.push(format!("{{\"{key}\": {constant}, ...}}"));
        }
    }
    out
}

fn article(noun: &str) -> String {
    let vowel = noun.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {noun}", if vowel { "an" } else { "a" })
}
