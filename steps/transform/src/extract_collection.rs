//! `extract_collection`: one item per element of an array field.

use serde::Deserialize;
use serde_json::Value;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldPath, Group, Item, Localized, SettingLabel, Step, StepContext,
    StepDescriptor, StepError, StepMeta, StepPlugin,
};

/// Settings of `extract_collection`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtractCollectionSettings {
    /// Path of the array, such as `data.lines`. Each object element becomes an item; any other
    /// element becomes `{"value": element}`. A missing or null field emits nothing.
    pub path: String,
}

/// The step type.
pub struct ExtractCollection;

struct Extract {
    path: FieldPath,
}

impl StepPlugin for ExtractCollection {
    type Settings = ExtractCollectionSettings;
    const META: StepMeta = StepMeta {
        id: "extract_collection",
        group: Group::Transform,
        calls_outside: false,
        title: Localized {
            en: "Extract collection",
            fr: "Extraire la collection",
            es: "Extraer colección",
            pt: "Extrair coleção",
            de: "Sammlung extrahieren",
        },
        description: Localized {
            en: "Turns each element of an array field into an item of its own.",
            fr: "Transforme chaque élément d'un champ tableau en un élément distinct.",
            es: "Convierte cada elemento de un campo de tipo arreglo en un elemento propio.",
            pt: "Transforma cada elemento de um campo de matriz num item próprio.",
            de: "Macht aus jedem Eintrag eines Array-Felds ein eigenes Element.",
        },
        settings: &[MODEL_PATH],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        // Each item it emits is an element of the collection, holding any field.
        cx.writes_anything();
        Ok(BuiltStep::each(Extract { path: cx.path("path", &settings.path)? }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<ExtractCollection>() }

/// The label of the `path` setting, shared with Select many.
pub(crate) const MODEL_PATH: SettingLabel = SettingLabel {
    name: "path",
    label: Localized {
        en: "Model path",
        fr: "Chemin du modèle",
        es: "Ruta del modelo",
        pt: "Caminho do modelo",
        de: "Modellpfad",
    },
};

/// Takes the array at `path` out of `item` (none for a missing or `null` one).
pub(crate) fn take_elements(path: &FieldPath, item: &mut Item) -> Result<Vec<Value>, StepError> {
    match path.remove(item) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(elements)) => Ok(elements),
        Some(_) => Err(StepError::at_setting("path", format!("\"{path}\" is not an array"))),
    }
}

/// An element as an item: an object as it is, any other value as `{"value": element}`.
pub(crate) fn element_item(element: Value) -> Item {
    match element {
        Value::Object(object) => object,
        other => Item::from_iter([("value".to_owned(), other)]),
    }
}

impl Step for Extract {
    fn run(&self, mut item: Item, _: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        out.extend(take_elements(&self.path, &mut item)?.into_iter().map(element_item));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sluice_core::Engine;

    #[test]
    fn emits_one_item_per_element() {
        let engine = Engine::new().unwrap();
        let step =
            engine.single_step("x", "extract_collection", json!({"path": "data.lines"}), &Default::default()).unwrap();
        let out = step.run_one(json!({"data": {"lines": [{"q": 1}, 2]}})).unwrap();
        assert_eq!(json!(out.items), json!([{"q": 1}, {"value": 2}]));
        assert!(step.run_one(json!({"data": {}})).unwrap().items.is_empty());
        let err = step.run_one(json!({"data": {"lines": "no"}})).unwrap_err();
        assert_eq!(err.setting.as_deref(), Some("path"));
    }
}
