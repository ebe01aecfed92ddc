//! The components whose entries a step reads or writes, known at load time.
//!
//! A step names a component by its system name (`"component": "CarFleet"`); the loader finds
//! its definitions in the [`ComponentDirectory`] it was given (the component being loaded is
//! always in it), so a misspelt component, a primary key a lookup leaves out or a field the
//! component lacks is a load error, and the running step parses nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::component::{Access, Definitions, data_schema};
use crate::store::ComponentStore;
use crate::types::compile_with_formats;

/// Where the loader finds the definitions of components other than the one it loads.
pub trait ComponentDirectory {
    /// The definitions of the component named `name`, when there is one.
    fn definitions(&self, name: &str) -> Option<Definitions>;
    /// The dataflows of the component named `name`, each with its access (for Execute
    /// dataflow), when they are known.
    fn dataflows(&self, _name: &str) -> Option<Vec<(String, Access)>> {
        None
    }
    /// The names of the components it knows (to suggest one for a misspelt name).
    fn names(&self) -> Vec<String>;
}

/// No other component: what a file loaded on its own sees.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoOtherComponents;

impl ComponentDirectory for NoOtherComponents {
    fn definitions(&self, _: &str) -> Option<Definitions> {
        None
    }
    fn names(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Components given by name (the files of one folder, say).
impl ComponentDirectory for BTreeMap<String, Definitions> {
    fn definitions(&self, name: &str) -> Option<Definitions> {
        self.get(name).cloned()
    }
    fn names(&self) -> Vec<String> {
        self.keys().cloned().collect()
    }
}

/// What other components see of a component: its definitions, and its dataflows with their
/// access.
#[derive(Debug, Clone, Default)]
pub struct ComponentHead {
    /// Its definitions.
    pub definitions: Definitions,
    /// Its dataflows' names, each with its access.
    pub dataflows: Vec<(String, Access)>,
}

impl ComponentHead {
    /// The head of a component file's text with its name (`None` when it does not parse).
    pub fn read(text: &str) -> Option<(String, ComponentHead)> {
        #[derive(serde::Deserialize)]
        struct Flow {
            name: String,
            #[serde(default)]
            access: Access,
        }
        #[derive(serde::Deserialize)]
        struct Head {
            name: String,
            #[serde(default)]
            definitions: Definitions,
            #[serde(default)]
            dataflows: Vec<Flow>,
        }
        let head: Head = serde_json::from_str(text).ok()?;
        let dataflows = head.dataflows.into_iter().map(|f| (f.name, f.access)).collect();
        Some((head.name, ComponentHead { definitions: head.definitions, dataflows }))
    }
}

impl ComponentDirectory for BTreeMap<String, ComponentHead> {
    fn definitions(&self, name: &str) -> Option<Definitions> {
        self.get(name).map(|head| head.definitions.clone())
    }
    fn dataflows(&self, name: &str) -> Option<Vec<(String, Access)>> {
        self.get(name).map(|head| head.dataflows.clone())
    }
    fn names(&self) -> Vec<String> {
        self.keys().cloned().collect()
    }
}

/// The components of several component files, by name (the files loaded together): a file
/// that does not parse is left out (loading it says why).
pub fn directory_of<'t>(texts: impl IntoIterator<Item = &'t str>) -> BTreeMap<String, ComponentHead> {
    texts.into_iter().filter_map(ComponentHead::read).collect()
}

/// The components saved in a store (the server's): each read at its latest version, and
/// remembered with it, so a plan built among them can tell when one of them changed.
pub struct SavedComponents<'s> {
    store: &'s dyn ComponentStore,
    read: std::sync::Mutex<Vec<(String, i64)>>,
}

impl<'s> SavedComponents<'s> {
    /// The components saved in `store`.
    pub fn new(store: &'s dyn ComponentStore) -> Self {
        SavedComponents { store, read: std::sync::Mutex::default() }
    }

    /// The components read so far, with the version read.
    pub fn read(&self) -> Vec<(String, i64)> {
        self.read.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

impl SavedComponents<'_> {
    /// The head of the saved component `name`, its version remembered.
    fn head(&self, name: &str) -> Option<ComponentHead> {
        let saved = self.store.get_component(name, None).ok()??;
        let (_, head) = ComponentHead::read(&saved.source)?;
        self.read.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((saved.name, saved.version));
        Some(head)
    }
}

impl ComponentDirectory for SavedComponents<'_> {
    fn definitions(&self, name: &str) -> Option<Definitions> {
        self.head(name).map(|head| head.definitions)
    }

    fn dataflows(&self, name: &str) -> Option<Vec<(String, Access)>> {
        self.head(name).map(|head| head.dataflows)
    }

    fn names(&self) -> Vec<String> {
        self.store.list_components().map(|all| all.into_iter().map(|c| c.name).collect()).unwrap_or_default()
    }
}

/// A component as a step that reads or writes its entries sees it.
#[derive(Clone)]
pub struct EntryKind {
    /// The component's system name.
    pub component: String,
    /// Its definitions.
    pub definitions: Definitions,
    /// Its primary-key fields, in name order (whatever order a file lists them in).
    pub primary_key: Vec<String>,
    /// The compiled schema of its `data`.
    pub data_schema: Arc<jsonschema::Validator>,
}

impl std::fmt::Debug for EntryKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntryKind").field("component", &self.component).finish_non_exhaustive()
    }
}

impl EntryKind {
    /// The component `component` with these definitions (its data schema compiled here).
    pub fn new(component: &str, definitions: Definitions) -> Result<EntryKind, String> {
        let data_schema = Arc::new(compile_with_formats(&data_schema(&definitions))?);
        Ok(EntryKind::compiled(component, definitions, data_schema))
    }

    /// As [`new`](Self::new), with the data schema already compiled.
    pub fn compiled(component: &str, definitions: Definitions, data_schema: Arc<jsonschema::Validator>) -> EntryKind {
        let mut primary_key: Vec<String> =
            definitions.iter().filter(|(_, d)| d.primary_key).map(|(n, _)| n.clone()).collect();
        primary_key.sort();
        EntryKind { component: component.to_owned(), definitions, primary_key, data_schema }
    }

    /// The primary key of `data` as the store keeps it (its fields' values, in name order, as
    /// canonical JSON); `None` when the component has none or every value is empty.
    pub fn key_of(&self, data: &Map<String, Value>) -> Option<String> {
        self.key_from(|field| data.get(field))
    }

    /// As [`key_of`](Self::key_of), each field's value given by `value_of`.
    pub fn key_from<'v>(&self, value_of: impl Fn(&str) -> Option<&'v Value>) -> Option<String> {
        let values: Vec<Value> =
            self.primary_key.iter().map(|k| value_of(k).map_or(Value::Null, canonical_key_value)).collect();
        let empty = values.iter().all(|v| v.is_null() || v.as_str().is_some_and(str::is_empty));
        (!self.primary_key.is_empty() && !empty).then(|| Value::Array(values).to_string())
    }
}

/// A key value as stored: a whole number written as a float (`5.0`) is the number `5`, so
/// the same key is found whichever way a model wrote it.
fn canonical_key_value(value: &Value) -> Value {
    match value.as_f64() {
        Some(f) if value.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => Value::from(f as i64),
        _ => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_key_is_the_primary_key_values_in_name_order() {
        // Read from text, so the map keeps the file's order (B first).
        let definitions = serde_json::from_str(
            r#"{"B": {"type": "integer", "primaryKey": true}, "Other": {"type": "string"},
                "A": {"type": "string", "primaryKey": true}}"#,
        )
        .unwrap();
        let kind = EntryKind::new("C", definitions).unwrap();
        let data = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(kind.key_of(&data(json!({"A": "x", "B": 5, "Other": 1}))).as_deref(), Some("[\"x\",5]"));
        assert_eq!(kind.key_of(&data(json!({"A": "x", "B": 5.0}))).as_deref(), Some("[\"x\",5]"));
        assert_eq!(kind.key_of(&data(json!({"A": "x"}))).as_deref(), Some("[\"x\",null]"));
        assert_eq!(kind.key_of(&data(json!({"A": "", "Other": 1}))), None);
        let keyless = EntryKind::new("D", Definitions::new()).unwrap();
        assert_eq!(keyless.key_of(&data(json!({"A": "x"}))), None);
    }
}
