//! `join_models`: merges each item of its source (the left step) with the items of a right
//! step whose key equals its own.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::{
    AllItemsStep, BuildContext, BuildError, BuiltStep, FieldPath, Group, Item, Localized, SettingLabel, StepContext,
    StepDescriptor, StepError, StepMeta, StepPlugin, StepRef,
};

/// Settings of `join_models`. The step's `source` is the left step.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JoinModelsSettings {
    /// The right step: a step placed before this one, whose items are matched with the left
    /// ones (all of them, whatever the order).
    #[schemars(length(min = 1))]
    pub right_step: String,
    /// The path of the key in each left item, such as `data.ManagerId`.
    pub left_key: String,
    /// The path of the key in each right item, such as `Id`.
    pub right_key: String,
    /// What a match adds to the left item: each maps a path of the right item to a path of
    /// the left one (`{"from": "data.manager_name", "to": "data.ManagerName"}`).
    #[schemars(length(min = 1))]
    pub map: Vec<MapField>,
    /// Keep left items that match no right item, unchanged (a left join); by default they are
    /// dropped (an inner join). A left item matching several right items is emitted once per
    /// match.
    #[serde(default)]
    pub keep_unmatched: bool,
}

/// One field a match copies.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MapField {
    /// Path in the right item.
    pub from: String,
    /// Path in the left item.
    pub to: String,
}

/// The step type.
pub struct JoinModels;

struct Join {
    right: StepRef,
    left_key: FieldPath,
    right_key: FieldPath,
    map: Vec<(FieldPath, FieldPath)>,
    keep_unmatched: bool,
}

impl StepPlugin for JoinModels {
    type Settings = JoinModelsSettings;
    const META: StepMeta = StepMeta {
        id: "join_models",
        group: Group::Transform,
        calls_outside: false,
        title: Localized {
            en: "Join models",
            fr: "Joindre des modèles",
            es: "Unir modelos",
            pt: "Unir modelos",
            de: "Modelle verbinden",
        },
        description: Localized {
            en: "Merges each item of the left step with the items of the right step whose key equals its own.",
            fr: "Fusionne chaque élément de l'étape de gauche avec les éléments de l'étape de droite dont la clé est égale à la sienne.",
            es: "Fusiona cada elemento del paso izquierdo con los elementos del paso derecho cuya clave es igual a la suya.",
            pt: "Junta cada item do passo esquerdo com os itens do passo direito cuja chave é igual à sua.",
            de: "Verbindet jedes Element des linken Schritts mit den Elementen des rechten Schritts, deren Schlüssel gleich ist.",
        },
        settings: &[
            SettingLabel {
                name: "rightStep",
                label: Localized {
                    en: "Right step",
                    fr: "Étape de droite",
                    es: "Paso derecho",
                    pt: "Passo direito",
                    de: "Rechter Schritt",
                },
            },
            SettingLabel {
                name: "leftKey",
                label: Localized {
                    en: "Left key",
                    fr: "Clé de gauche",
                    es: "Clave izquierda",
                    pt: "Chave esquerda",
                    de: "Linker Schlüssel",
                },
            },
            SettingLabel {
                name: "rightKey",
                label: Localized {
                    en: "Right key",
                    fr: "Clé de droite",
                    es: "Clave derecha",
                    pt: "Chave direita",
                    de: "Rechter Schlüssel",
                },
            },
            SettingLabel {
                name: "map",
                label: Localized {
                    en: "Map",
                    fr: "Correspondance",
                    es: "Asignación",
                    pt: "Mapeamento",
                    de: "Zuordnung",
                },
            },
            SettingLabel {
                name: "keepUnmatched",
                label: Localized {
                    en: "Keep unmatched items",
                    fr: "Garder les éléments sans correspondance",
                    es: "Conservar los elementos sin coincidencia",
                    pt: "Manter os itens sem correspondência",
                    de: "Elemente ohne Treffer behalten",
                },
            },
        ],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let right = cx.reads_step("rightStep", &settings.right_step);
        let left_key = cx.path("leftKey", &settings.left_key);
        let right_key = cx.outer_path("rightKey", &settings.right_key);
        let mut map = Vec::new();
        let mut failed = None;
        for (i, field) in settings.map.iter().enumerate() {
            let from = cx.outer_path(&format!("map/{i}/from"), &field.from);
            match (from, cx.result_path(&format!("map/{i}/to"), &field.to)) {
                (Ok(from), Ok(to)) => map.push((from, to)),
                (Err(e), _) | (_, Err(e)) => failed = Some(e),
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        Ok(BuiltStep::all(Join {
            right: right?,
            left_key: left_key?,
            right_key: right_key?,
            map,
            keep_unmatched: settings.keep_unmatched,
        }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<JoinModels>() }

/// A key as text (`null` keys match nothing).
fn key_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

impl AllItemsStep for Join {
    fn run_all(&self, items: Vec<Item>, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let mut right: HashMap<String, Vec<&Item>> = HashMap::new();
        for item in cx.items_of(self.right) {
            if let Some(key) = key_text(self.right_key.get(item)) {
                right.entry(key).or_default().push(item);
            }
        }
        let mut joined = Vec::with_capacity(items.len());
        for item in items {
            let matches = key_text(self.left_key.get(&item)).and_then(|key| right.get(&key));
            match matches {
                Some(matches) => {
                    for matched in matches {
                        let mut merged = item.clone();
                        for (from, to) in &self.map {
                            let value = from.get(matched).cloned().unwrap_or(Value::Null);
                            to.set(&mut merged, value).map_err(|e| StepError::at_setting("map", e))?;
                        }
                        joined.push(merged);
                    }
                }
                None if self.keep_unmatched => joined.push(item),
                None => {}
            }
        }
        out.extend(joined);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use sluice_core::{Engine, LoadError};

    /// Cars (left) joined with managers (right), both extracted from the input.
    fn component(settings: Value) -> String {
        json!({"name": "Join", "dataflows": [{"name": "F", "stages": [{"name": "s", "steps": [
            {"name": "in", "type": "get_action_model"},
            {"name": "managers", "type": "extract_collection", "source": "in", "settings": {"path": "data.Managers"}},
            {"name": "cars", "type": "extract_collection", "source": "in", "settings": {"path": "data.Cars"}},
            {"name": "join", "type": "join_models", "source": "cars", "settings": settings},
            {"name": "out", "type": "write_response", "source": "join"},
            {"name": "all", "type": "write_response", "source": "managers"}]}]}]})
        .to_string()
    }

    fn settings(keep: bool) -> Value {
        json!({"rightStep": "managers", "leftKey": "manager", "rightKey": "id",
               "map": [{"from": "name", "to": "managerName"}], "keepUnmatched": keep})
    }

    fn input() -> Value {
        json!({"data": {
            "Managers": [{"id": "m1", "name": "Bob"}, {"id": "m2", "name": "Eve"}, {"id": "m2", "name": "Eve's twin"}],
            "Cars": [{"vin": "V1", "manager": "m2"}, {"vin": "V2", "manager": "m9"}, {"vin": "V3", "manager": "m1"}]}})
    }

    #[test]
    fn each_left_item_takes_the_fields_of_its_matches() {
        let engine = Engine::new().unwrap();
        let plan = engine.load("join.json", component(settings(false)).as_bytes()).unwrap();
        let outcome = plan.run("F", &input(), &Default::default(), Default::default()).unwrap();
        let joined: Vec<(&Value, &Value)> =
            outcome.response.iter().filter(|i| i.contains_key("vin")).map(|i| (&i["vin"], &i["managerName"])).collect();
        assert_eq!(
            joined,
            [(&json!("V1"), &json!("Eve")), (&json!("V1"), &json!("Eve's twin")), (&json!("V3"), &json!("Bob"))]
        );
        assert_eq!(
            outcome.response.iter().filter(|i| i.contains_key("id")).count(),
            3,
            "the right step's items still flow on"
        );
        let plan = engine.load("join.json", component(settings(true)).as_bytes()).unwrap();
        let outcome = plan.run("F", &input(), &Default::default(), Default::default()).unwrap();
        let unmatched = outcome.response.iter().find(|i| i.get("vin") == Some(&json!("V2"))).unwrap();
        assert_eq!(unmatched.get("managerName"), None, "kept unchanged");
    }

    #[test]
    fn the_right_step_must_be_placed_before() {
        let mut bad = settings(false);
        bad["rightStep"] = json!("out");
        let Err(LoadError::Invalid { diagnostics, .. }) =
            Engine::new().unwrap().load("join.json", component(bad).as_bytes())
        else {
            panic!("loaded")
        };
        assert_eq!(diagnostics[0].pointer, "/dataflows/0/stages/0/steps/3/settings/rightStep");
        assert_eq!(diagnostics[0].message, "no step named \"out\" is placed before this one");
    }
}
