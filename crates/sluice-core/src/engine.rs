//! The engine: registered step types, compiled schemas and the script sandbox, built once.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::plugin::StepDescriptor;
use crate::schema;
use crate::script::{ScriptHost, ScriptLimits};
use crate::services::Services;
use crate::types::{TypeCheckers, compile_with_formats};

/// Largest component file the engine reads unless told otherwise (64 MiB).
pub const DEFAULT_MAX_FILE_SIZE: usize = 64 << 20;

/// A registered step type with its compiled settings schema.
pub struct RegisteredStep {
    /// The plugin's descriptor.
    pub descriptor: StepDescriptor,
    /// The settings JSON Schema, as published in `schemas/steps/`.
    pub schema: Value,
    pub(crate) validator: jsonschema::Validator,
}

/// Why an engine could not be built (a plugin or embedding mistake, never user input).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Two plugins claim the same type id.
    #[error("two step plugins are registered as \"{0}\"")]
    DuplicateStep(String),
    /// The default services could not be made.
    #[error("cannot set up the engine's services: {0}")]
    Services(String),
    /// A generated schema does not compile.
    #[error("the schema of {what} does not compile: {message}")]
    BadSchema {
        /// Which schema.
        what: String,
        /// The compiler's message.
        message: String,
    },
}

/// Configures and builds an [`Engine`].
#[derive(Debug, Default)]
pub struct EngineBuilder {
    limits: ScriptLimits,
    extra: Vec<StepDescriptor>,
    max_file_size: Option<usize>,
    services: Option<Services>,
}

impl EngineBuilder {
    /// Sets the bounds of every script run.
    pub fn script_limits(mut self, limits: ScriptLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Registers a step type by hand, beside those linked in with `inventory`
    /// (for hosts where link-time registration does not reach, such as static libraries).
    pub fn register(mut self, descriptor: StepDescriptor) -> Self {
        self.extra.push(descriptor);
        self
    }

    /// Sets the largest component file accepted, in bytes.
    pub fn max_file_size(mut self, bytes: usize) -> Self {
        self.max_file_size = Some(bytes);
        self
    }

    /// Sets the store, clock and code keys that steps use (default: a fresh in-memory store).
    pub fn services(mut self, services: Services) -> Self {
        self.services = Some(services);
        self
    }

    /// Compiles every schema and builds the engine.
    pub fn build(self) -> Result<Engine, EngineError> {
        let mut steps = BTreeMap::new();
        for descriptor in inventory::iter::<StepDescriptor>.into_iter().copied().chain(self.extra) {
            let id = descriptor.meta.id;
            let schema = schema::step_schema(&descriptor);
            let validator = compile_with_formats(&schema)
                .map_err(|message| EngineError::BadSchema { what: format!("step type {id}"), message })?;
            if steps.insert(id, RegisteredStep { descriptor, schema, validator }).is_some() {
                return Err(EngineError::DuplicateStep(id.to_owned()));
            }
        }
        let component_schema = schema::component_schema();
        let component_validator = compile_with_formats(&component_schema)
            .map_err(|message| EngineError::BadSchema { what: "component files".into(), message })?;
        let types = Arc::new(
            TypeCheckers::new().map_err(|message| EngineError::BadSchema { what: "value types".into(), message })?,
        );
        let services = match self.services {
            Some(services) => services,
            None => Services::in_memory().map_err(|e| EngineError::Services(e.to_string()))?,
        };
        Ok(Engine {
            services,
            steps,
            component_schema,
            component_validator,
            scripts: Arc::new(ScriptHost::new(self.limits, types)),
            max_file_size: self.max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE),
        })
    }
}

/// The Sluice engine. Build it once and share it (it is `Send + Sync`); load components into
/// [`Plan`](crate::Plan)s and run their dataflows.
pub struct Engine {
    pub(crate) steps: BTreeMap<&'static str, RegisteredStep>,
    pub(crate) component_schema: Value,
    pub(crate) component_validator: jsonschema::Validator,
    pub(crate) scripts: Arc<ScriptHost>,
    pub(crate) max_file_size: usize,
    pub(crate) services: Services,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("steps", &self.steps.keys().collect::<Vec<_>>()).finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine with default limits and every step type linked into the program.
    pub fn new() -> Result<Engine, EngineError> {
        EngineBuilder::default().build()
    }

    /// Starts configuring an engine.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// Every registered step type, sorted by id.
    pub fn steps(&self) -> impl Iterator<Item = &RegisteredStep> {
        self.steps.values()
    }

    /// The registered step type with this id.
    pub fn step(&self, id: &str) -> Option<&RegisteredStep> {
        self.steps.get(id)
    }

    /// The store, clock and keys that steps use.
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// The script sandbox shared by all runs.
    pub fn scripts(&self) -> &Arc<ScriptHost> {
        &self.scripts
    }
}
