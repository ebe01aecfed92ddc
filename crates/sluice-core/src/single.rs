//! One step built and run on its own: for step tests and the builder's "try this step".

use serde_json::{Map, Value};

use crate::component::{Definitions, StepSpec};
use crate::diagnostics::{Diagnostic, locate};
use crate::engine::Engine;
use crate::load::wrong_type;
use crate::plan::CompiledStep;
use crate::plugin::{Item, Secret, StepContext, StepError};
use crate::resilience::Handled;
use crate::run::RunContext;
use crate::services::Services;
use crate::source::Source;

/// The component name single steps are built for (entries they write go under it).
pub const SINGLE_COMPONENT: &str = "Single";

/// A step built outside any dataflow.
pub struct SingleStep {
    step: CompiledStep,
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
    /// Builds one step of type `step_type` named `name` from `settings` (an object, or `null`
    /// for none), for a component with `definitions`, as the loader builds a dataflow's steps.
    /// Problems point into the step (`/type`, `/settings/...`); outside a file they all stand
    /// at line 1, column 1.
    pub fn single_step(
        &self,
        name: &str,
        step_type: &str,
        settings: Value,
        definitions: &Definitions,
    ) -> Result<SingleStep, Vec<Diagnostic>> {
        let outside_a_file = |problems| locate(&Source::new(""), problems);
        let settings = match settings {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => return Err(outside_a_file(vec![wrong_type("/settings", "object", &other).step(Some(name))])),
        };
        let spec = StepSpec {
            name: name.to_owned(),
            step_type: step_type.to_owned(),
            source: None,
            settings: Some(settings),
            description: None,
            on_error: Default::default(),
            branch: None,
            retry: None,
            timeout: None,
        };
        let (step, secrets) = self.build_alone(SINGLE_COMPONENT, &spec, definitions).map_err(outside_a_file)?;
        Ok(SingleStep { step, services: self.services.clone(), secrets })
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
            step: &self.step.name,
            services: &self.services,
            secrets: &mut secrets,
            notes: &mut result.notes,
            users: &mut Vec::new(),
            factors: &mut Vec::new(),
            dry_run: false,
            events: &mut Vec::new(),
            outside: &self.step.outside,
            caller: None,
            earlier: &[],
        };
        let (_, Handled { result: ran, .. }) =
            self.step.run_handled(input, items, &mut cx, &mut result.items, &mut Vec::new());
        ran?;
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
