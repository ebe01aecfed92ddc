//! `distinct`: removes items whose keys repeat those of an earlier item.

use std::collections::HashSet;

use serde::Deserialize;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::{
    AllItemsStep, BuildContext, BuildError, BuiltStep, FieldPath, Group, Item, Localized, SettingLabel, StepContext,
    StepDescriptor, StepError, StepMeta, StepPlugin,
};

use crate::grouping::{key_of, key_paths};

/// Settings of `distinct`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DistinctSettings {
    /// The model paths whose values together make items the same, such as `["data.Vin"]`;
    /// the first item of each kind is kept, in order.
    #[schemars(length(min = 1))]
    pub keys: Vec<String>,
}

/// The step type.
pub struct Distinct;

/// The label of the `keys` setting, shared with Group by.
pub const KEYS: SettingLabel = SettingLabel {
    name: "keys",
    label: Localized { en: "Keys", fr: "Clés", es: "Claves", pt: "Chaves", de: "Schlüssel" },
};

struct FirstOfEach {
    keys: Vec<FieldPath>,
}

impl StepPlugin for Distinct {
    type Settings = DistinctSettings;
    const META: StepMeta = StepMeta {
        id: "distinct",
        group: Group::Transform,
        calls_outside: false,
        title: Localized { en: "Distinct", fr: "Distinct", es: "Distinto", pt: "Distinto", de: "Eindeutig" },
        description: Localized {
            en: "Keeps the first item of each set of key values and drops the repeats.",
            fr: "Garde le premier élément de chaque ensemble de valeurs de clés et écarte les répétitions.",
            es: "Conserva el primer elemento de cada conjunto de valores de claves y descarta las repeticiones.",
            pt: "Mantém o primeiro item de cada conjunto de valores de chaves e descarta as repetições.",
            de: "Behält das erste Element jeder Kombination von Schlüsselwerten und verwirft Wiederholungen.",
        },
        settings: &[KEYS],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        Ok(BuiltStep::all(FirstOfEach { keys: key_paths(cx, &settings.keys)? }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<Distinct>() }

impl AllItemsStep for FirstOfEach {
    fn run_all(&self, items: Vec<Item>, _: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let mut seen = HashSet::with_capacity(items.len());
        out.extend(items.into_iter().filter(|item| seen.insert(key_of(&self.keys, item))));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use sluice_core::Engine;

    #[test]
    fn keeps_the_first_item_of_each_key() {
        let engine = Engine::new().unwrap();
        let step =
            engine.single_step("d", "distinct", json!({"keys": ["data.Brand", "data.Year"]}), &Default::default());
        let items =
            [("Audi", 2020, 1), ("BMW", 2020, 2), ("Audi", 2020, 3), ("Audi", 2021, 4)].map(|(brand, year, n)| {
                json!({"data": {"Brand": brand, "Year": year, "N": n}}).as_object().unwrap().clone()
            });
        let out = step.unwrap().run(&Value::Null, items.to_vec(), &Default::default()).unwrap();
        let kept: Vec<&Value> = out.items.iter().map(|i| &i["data"]["N"]).collect();
        assert_eq!(kept, [&json!(1), &json!(2), &json!(4)]);
        let missing = engine.single_step("d", "distinct", json!({"keys": []}), &Default::default()).err().unwrap();
        assert_eq!(missing[0].pointer, "/settings/keys");
    }
}
