//! A list of `{"from", "to"}` settings that builds a model apart from the item: each value at a
//! path of the item goes to a path of the new model (Execute API call's body, Execute
//! dataflow's input).

use serde_json::{Map, Value};

use crate::path::FieldPath;
use crate::plugin::{BuildContext, BuildError, Item, StepError};

/// A checked mapping into a new model.
#[derive(Debug, Clone)]
pub struct ModelMapping {
    /// The setting that holds it, which run-time errors name.
    setting: &'static str,
    pairs: Vec<(FieldPath, FieldPath)>,
}

impl BuildContext<'_> {
    /// Checks the pairs of the setting `setting`: each `from` a path of the item (at
    /// `setting/i/from`), each `to` a path of the new model (at `setting/i/to`). Every problem
    /// is reported.
    pub fn model_mapping<'p>(
        &mut self,
        setting: &'static str,
        pairs: impl IntoIterator<Item = (&'p str, &'p str)>,
    ) -> Result<ModelMapping, BuildError> {
        let mut checked = Vec::new();
        let mut failed = None;
        for (i, (from, to)) in pairs.into_iter().enumerate() {
            let from = self.path(&format!("{setting}/{i}/from"), from);
            let to = self.outer_path(&format!("{setting}/{i}/to"), to);
            match (from, to) {
                (Ok(from), Ok(to)) => checked.push((from, to)),
                (Err(e), _) | (_, Err(e)) => failed = Some(e),
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(ModelMapping { setting, pairs: checked }),
        }
    }
}

impl ModelMapping {
    /// Whether it maps nothing.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The model it builds from `item` (a missing value is `null`).
    pub fn model_of(&self, item: &Item) -> Result<Map<String, Value>, StepError> {
        let mut model = Map::new();
        for (from, to) in &self.pairs {
            let value = from.get(item).cloned().unwrap_or(Value::Null);
            to.set(&mut model, value).map_err(|e| StepError::at_setting(self.setting, e))?;
        }
        Ok(model)
    }
}
