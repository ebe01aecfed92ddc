//! A compiled component: every dataflow with its steps built and its sources resolved.

use crate::component::{Access, Definitions, OnError};
use crate::plugin::{BuiltStep, Secret};
use crate::resilience::OutsideCalls;
use std::sync::Arc;

use crate::services::Services;
use crate::templates::Templates;

/// A component checked and compiled once; run its dataflows as often as needed.
/// `Send + Sync`: share it behind an `Arc`.
pub struct Plan {
    pub(crate) name: String,
    pub(crate) title: Option<String>,
    pub(crate) definitions: Definitions,
    pub(crate) dataflows: Vec<CompiledDataflow>,
    pub(crate) services: Services,
    pub(crate) templates: Arc<Templates>,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("name", &self.name)
            .field("dataflows", &self.dataflow_names())
            .finish_non_exhaustive()
    }
}

pub(crate) struct CompiledDataflow {
    pub name: String,
    pub steps: Vec<CompiledStep>,
    /// Fields its steps declared secret when they were built.
    pub secrets: Vec<Secret>,
    /// Who may run it through the server.
    pub access: Access,
}

pub(crate) struct CompiledStep {
    pub name: String,
    pub step_type: &'static str,
    /// JSON Pointer of the step in its file.
    pub pointer: String,
    /// Index of the source step (always earlier).
    pub source: Option<usize>,
    /// How many steps name this one as their source and take the items it emits.
    pub consumers: usize,
    /// How many take its error branch.
    pub error_consumers: usize,
    /// What its failure on an item does.
    pub on_error: OnError,
    /// It takes its source's error branch.
    pub from_error: bool,
    /// The earlier steps whose items it reads besides its source's (never taken from them).
    pub reads: Vec<usize>,
    /// How its calls outside Sluice are tried.
    pub outside: OutsideCalls,
    pub built: BuiltStep,
}

impl Plan {
    /// The component's system name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The component's title, if it has one.
    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    /// The component's definitions, in file order.
    pub fn definitions(&self) -> &Definitions {
        &self.definitions
    }

    /// The names of the dataflows, in file order.
    pub fn dataflow_names(&self) -> Vec<&str> {
        self.dataflows.iter().map(|d| d.name.as_str()).collect()
    }

    /// The component's notification templates, compiled.
    pub fn templates(&self) -> &Arc<Templates> {
        &self.templates
    }

    /// Who may run `dataflow` through the server (`None`: there is no such dataflow).
    pub fn access(&self, dataflow: &str) -> Option<&Access> {
        self.dataflow(dataflow).map(|d| &d.access)
    }

    /// Whether anyone may run `dataflow` through the server (`"access": "public"`).
    pub fn is_public(&self, dataflow: &str) -> bool {
        self.access(dataflow) == Some(&Access::Public)
    }

    /// The services its runs use (those of the engine that loaded it).
    pub fn services(&self) -> &Services {
        &self.services
    }

    pub(crate) fn dataflow(&self, name: &str) -> Option<&CompiledDataflow> {
        self.dataflows.iter().find(|d| d.name == name)
    }
}
