//! One step built and run on its own: for step tests and the builder's "try this step".

use std::sync::Arc;

use serde_json::Value;

use crate::component::{Definitions, data_schema};
use crate::diagnostics::{Diagnostic, Problem, locate};
use crate::engine::Engine;
use crate::load::schema_problem;
use crate::plugin::{BuildContext, BuiltStep, Item, Secret, StepContext, StepError};
use crate::run::RunContext;
use crate::services::Services;
use crate::source::Source;
use crate::templates::Templates;
use crate::types::compile_with_formats;

/// The component name single steps are built for (entries they write go under it).
pub const SINGLE_COMPONENT: &str = "Single";

/// A step built outside any dataflow.
pub struct SingleStep {
    name: String,
    built: BuiltStep,
    services: Services,
    secrets: Vec<Secret>,
}

/// What a single step produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SingleRun {
    /// The items it emitted.
    pub items: Vec<Item>,
    /// The items it added to the response.
    pub response: Vec<Item>,
    /// The UI commands it recorded.
    pub form_actions: Vec<Value>,
    /// What it noted for the trace.
    pub notes: Vec<String>,
    /// The fields it marked secret (shown in clear here, redacted in a dataflow's trace).
    pub secrets: Vec<Secret>,
}

impl Engine {
    /// Builds one step of type `step_type` named `name` from `settings`, for a component with
    /// `definitions`. Problems point into the settings (`/settings/...`).
    pub fn single_step(
        &self,
        name: &str,
        step_type: &str,
        settings: Value,
        definitions: &Definitions,
    ) -> Result<SingleStep, Vec<Diagnostic>> {
        let fail = |message: String| {
            vec![Diagnostic {
                pointer: String::new(),
                line: 1,
                column: 1,
                step: Some(name.to_owned()),
                message,
                hint: None,
            }]
        };
        let registered = self.step(step_type).ok_or_else(|| fail(format!("unknown step type \"{step_type}\"")))?;
        // Outside a file there is no text to place problems in: they all stand at 1:1.
        let outside_a_file = |problems| locate(&Source::new(""), problems);
        let problems: Vec<Problem> = registered
            .validator
            .iter_errors(&settings)
            .map(|e| schema_problem("/settings", &e, &registered.schema, &settings).step(Some(name)))
            .collect();
        if !problems.is_empty() {
            return Err(outside_a_file(problems));
        }
        let data_schema = Arc::new(compile_with_formats(&data_schema(definitions)).map_err(fail)?);
        let mut problems: Vec<Problem> = Vec::new();
        let mut secrets = Vec::new();
        let mut cx = BuildContext {
            secrets: &mut secrets,
            component: SINGLE_COMPONENT,
            step: name,
            settings_pointer: "/settings".into(),
            definitions,
            check_data_fields: true,
            data_schema: &data_schema,
            templates: &Arc::new(Templates::empty()),
            scripts: &self.scripts,
            directory: &crate::entries::NoOtherComponents,
            // A step on its own has no dataflow to call.
            dataflow: "",
            dataflows: &[],
            calls: &mut Vec::new(),
            earlier: &[],
            reads: Vec::new(),
            problems: &mut problems,
            // A step on its own: its items may hold any field.
            upstream: None,
            writes: None,
            offers: Vec::new(),
        };
        match registered.descriptor.build(settings, &mut cx) {
            Ok(built) => Ok(SingleStep { name: name.to_owned(), built, services: self.services.clone(), secrets }),
            Err(_) => Err(outside_a_file(problems)),
        }
    }
}

impl SingleStep {
    /// Runs the step: an input step on `input`, any other step on each item of `items`.
    pub fn run(&self, input: &Value, items: Vec<Item>, run: &RunContext) -> Result<SingleRun, StepError> {
        let mut result = SingleRun::default();
        let mut secrets = self.secrets.clone();
        let mut cx = StepContext {
            run,
            response: &mut result.response,
            form_actions: &mut result.form_actions,
            step: &self.name,
            services: &self.services,
            secrets: &mut secrets,
            notes: &mut result.notes,
            users: &mut Vec::new(),
            factors: &mut Vec::new(),
            dry_run: false,
            events: &mut Vec::new(),
            outside: &crate::resilience::OutsideCalls::default(),
            caller: None,
            earlier: &[],
        };
        let mut out = Vec::new();
        match &self.built {
            BuiltStep::Start(step) => step.start(input, &mut cx, &mut out)?,
            other => other.run_items(items, &mut cx, &mut out)?,
        }
        result.items = out;
        result.secrets = secrets;
        Ok(result)
    }

    /// Runs a per-item step on one item given as JSON (an object).
    pub fn run_one(&self, item: Value) -> Result<SingleRun, StepError> {
        let item = match item {
            Value::Object(map) => map,
            other => return Err(StepError::new(format!("an item must be an object, not {other}"))),
        };
        self.run(&Value::Null, vec![item], &RunContext::default())
    }
}
