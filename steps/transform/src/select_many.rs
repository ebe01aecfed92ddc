//! `select_many`: one item per element of an array field, each keeping its parent under
//! `$parent`.

use serde::Deserialize;
use serde_json::Value;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldPath, Group, Item, Localized, Step, StepContext, StepDescriptor,
    StepError, StepMeta, StepPlugin,
};

use crate::extract_collection::{MODEL_PATH, element_item, take_elements};

/// Where each item keeps the item it was taken from.
pub const PARENT: &str = "$parent";

/// Settings of `select_many`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SelectManySettings {
    /// Path of the array field, such as `data.Lines`. Each element becomes an item (an object
    /// as it is, any other value as `{"value": element}`) holding the item it came from, less
    /// the array, under `$parent`: later steps read `$parent.data.Customer`.
    pub path: String,
}

/// The step type.
pub struct SelectMany;

struct Select {
    path: FieldPath,
}

impl StepPlugin for SelectMany {
    type Settings = SelectManySettings;
    const META: StepMeta = StepMeta {
        id: "select_many",
        group: Group::Transform,
        calls_outside: false,
        title: Localized {
            en: "Select many",
            fr: "Sélectionner plusieurs",
            es: "Seleccionar varios",
            pt: "Selecionar vários",
            de: "Mehrere auswählen",
        },
        description: Localized {
            en: "Turns each element of an array field into an item that keeps its parent under $parent.",
            fr: "Transforme chaque élément d'un champ tableau en un élément qui garde son parent sous $parent.",
            es: "Convierte cada elemento de un campo de tipo arreglo en un elemento que conserva a su padre en $parent.",
            pt: "Transforma cada elemento de um campo de matriz num item que guarda o seu pai em $parent.",
            de: "Macht aus jedem Eintrag eines Array-Felds ein Element, das sein Elternelement unter $parent behält.",
        },
        settings: &[MODEL_PATH],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let path = cx.path("path", &settings.path)?;
        // The element's own fields are not known at load; its parent is.
        cx.writes_anything();
        cx.may_write(PARENT);
        Ok(BuiltStep::each(Select { path }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<SelectMany>() }

impl Step for Select {
    fn run(&self, mut item: Item, _: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let elements = take_elements(&self.path, &mut item)?;
        let parent = Value::Object(item);
        out.extend(elements.into_iter().map(|element| {
            let mut selected = element_item(element);
            selected.insert(PARENT.to_owned(), parent.clone());
            selected
        }));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sluice_core::Engine;

    #[test]
    fn each_element_keeps_its_parent() {
        let engine = Engine::new().unwrap();
        let step = engine.single_step("s", "select_many", json!({"path": "data.Lines"}), &Default::default()).unwrap();
        let out = step.run_one(json!({"data": {"Customer": "ann", "Lines": [{"Qty": 1}, 7]}})).unwrap();
        let parent = json!({"data": {"Customer": "ann"}});
        assert_eq!(json!(out.items), json!([{"Qty": 1, "$parent": parent}, {"value": 7, "$parent": parent}]));
        assert!(step.run_one(json!({"data": {}})).unwrap().items.is_empty());
    }

    #[test]
    fn later_steps_read_the_parent_by_path() {
        let engine = Engine::new().unwrap();
        let select =
            engine.single_step("s", "select_many", json!({"path": "data.Lines"}), &Default::default()).unwrap();
        let keep = json!({"field": "$parent.data.Customer", "operator": "equal", "value": "ann"});
        let filter = engine.single_step("f", "filter_source", keep, &Default::default()).unwrap();
        let items = select.run_one(json!({"data": {"Customer": "ann", "Lines": [{"Qty": 1}]}})).unwrap().items;
        assert_eq!(filter.run(&serde_json::Value::Null, items, &Default::default()).unwrap().items.len(), 1);
    }
}
