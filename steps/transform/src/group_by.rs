//! `group_by`: gathers the items that share key values into one item (the reverse of Extract
//! collection).

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::{
    AllItemsStep, BuildContext, BuildError, BuiltStep, FieldPath, Group, Item, Localized, StepContext, StepDescriptor,
    StepError, StepMeta, StepPlugin, labels,
};

use crate::distinct::KEYS;
use crate::grouping::{key_of, key_paths};

/// Settings of `group_by`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GroupBySettings {
    /// The model paths whose values together make a group, such as `["data.Brand"]`.
    #[schemars(length(min = 1))]
    pub keys: Vec<String>,
    /// Where each group's items go, in order, in the item that stands for the group (its first
    /// item). Default `_items`.
    #[serde(default = "default_result")]
    pub result_field: String,
}

fn default_result() -> String {
    "_items".into()
}

/// The step type.
pub struct GroupBy;

struct Gather {
    keys: Vec<FieldPath>,
    result: FieldPath,
}

impl StepPlugin for GroupBy {
    type Settings = GroupBySettings;
    const META: StepMeta = StepMeta {
        id: "group_by",
        group: Group::Transform,
        calls_outside: false,
        title: Localized {
            en: "Group by",
            fr: "Grouper par",
            es: "Agrupar por",
            pt: "Agrupar por",
            de: "Gruppieren nach",
        },
        description: Localized {
            en: "Gathers the items that share key values into one item per group, in order of first appearance.",
            fr: "Rassemble les éléments qui partagent des valeurs de clés en un élément par groupe, dans l'ordre de première apparition.",
            es: "Reúne los elementos que comparten valores de claves en un elemento por grupo, en orden de primera aparición.",
            pt: "Reúne os itens que partilham valores de chaves num item por grupo, pela ordem da primeira ocorrência.",
            de: "Fasst Elemente mit gleichen Schlüsselwerten zu einem Element je Gruppe zusammen, in der Reihenfolge ihres ersten Auftretens.",
        },
        settings: &[KEYS, labels::RESULT_FIELD],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let keys = key_paths(cx, &settings.keys);
        let result = cx.result_path("resultField", &settings.result_field);
        Ok(BuiltStep::all(Gather { keys: keys?, result: result? }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<GroupBy>() }

impl AllItemsStep for Gather {
    fn run_all(&self, items: Vec<Item>, _: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let mut groups: IndexMap<String, Vec<Item>> = IndexMap::new();
        for item in items {
            groups.entry(key_of(&self.keys, &item)).or_default().push(item);
        }
        for (_, members) in groups {
            let Some(mut head) = members.first().cloned() else { continue };
            let list = members.into_iter().map(Value::Object).collect();
            self.result.set(&mut head, Value::Array(list)).map_err(|e| StepError::at_setting("resultField", e))?;
            out.push(head);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use sluice_core::Engine;

    #[test]
    fn one_item_per_group_holding_its_items() {
        let engine = Engine::new().unwrap();
        let step = engine.single_step("g", "group_by", json!({"keys": ["data.Brand"]}), &Default::default()).unwrap();
        let items = [("Audi", 1), ("BMW", 2), ("Audi", 3)]
            .map(|(brand, n)| json!({"data": {"Brand": brand, "N": n}}).as_object().unwrap().clone());
        let out = step.run(&Value::Null, items.to_vec(), &Default::default()).unwrap();
        assert_eq!(out.items.len(), 2);
        assert_eq!(out.items[0]["data"], json!({"Brand": "Audi", "N": 1}));
        let audi: Vec<&Value> = out.items[0]["_items"].as_array().unwrap().iter().map(|i| &i["data"]["N"]).collect();
        assert_eq!(audi, [&json!(1), &json!(3)]);
        assert_eq!(out.items[1]["_items"].as_array().unwrap().len(), 1);
    }
}
