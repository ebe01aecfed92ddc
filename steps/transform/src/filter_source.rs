//! `filter_source`: keeps the items whose field passes a comparison and drops the rest.

use serde::Deserialize;
use serde_json::Value;
use sluice_core::compare::Operator;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldPath, Group, Item, Localized, SettingLabel, Step, StepContext,
    StepDescriptor, StepError, StepMeta, StepPlugin, labels,
};

/// Settings of `filter_source`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FilterSourceSettings {
    /// Path of the field to test, such as `data.First`. A missing field counts as `null`.
    pub field: String,
    /// How the field is compared with the value.
    pub operator: Operator,
    /// Compare the field with `null` instead of `value`: `equal` keeps items where the field
    /// is empty, `notEqual` keeps items where it has a value.
    #[serde(default)]
    pub compare_with_null: bool,
    /// The value to compare with. Numbers compare as numbers (a numeric string counts as a
    /// number), strings in text order (ISO dates sort correctly).
    #[serde(default)]
    pub value: Option<Value>,
}

/// The step type.
pub struct FilterSource;

struct Filter {
    field: FieldPath,
    operator: Operator,
    value: Value,
}

impl StepPlugin for FilterSource {
    type Settings = FilterSourceSettings;
    const META: StepMeta = StepMeta {
        id: "filter_source",
        group: Group::Transform,
        calls_outside: false,
        title: Localized {
            en: "Filter source",
            fr: "Filtrer la source",
            es: "Filtrar origen",
            pt: "Filtrar origem",
            de: "Quelle filtern",
        },
        description: Localized {
            en: "Keeps the items whose field passes a comparison and drops the others.",
            fr: "Conserve les éléments dont le champ satisfait une comparaison et écarte les autres.",
            es: "Conserva los elementos cuyo campo cumple una comparación y descarta los demás.",
            pt: "Mantém os itens cujo campo satisfaz uma comparação e descarta os restantes.",
            de: "Behält die Elemente, deren Feld einen Vergleich besteht, und verwirft die übrigen.",
        },
        settings: &[
            SettingLabel { name: "field", label: labels::SRC_FIELD.label },
            SettingLabel {
                name: "operator",
                label: Localized { en: "Operator", fr: "Opérateur", es: "Operador", pt: "Operador", de: "Operator" },
            },
            SettingLabel {
                name: "compareWithNull",
                label: Localized {
                    en: "Compare with null",
                    fr: "Comparer avec null",
                    es: "Comparar con nulo",
                    pt: "Comparar com nulo",
                    de: "Mit null vergleichen",
                },
            },
            SettingLabel {
                name: "value",
                label: Localized {
                    en: "Filter value",
                    fr: "Valeur du filtre",
                    es: "Valor del filtro",
                    pt: "Valor do filtro",
                    de: "Filterwert",
                },
            },
        ],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let field = cx.path("field", &settings.field);
        let value = match (settings.compare_with_null, settings.value) {
            (true, _) if settings.operator.orders() => {
                return Err(cx.invalid(
                    "operator",
                    "greater and less cannot compare with null",
                    Some("use equal or notEqual with compareWithNull".into()),
                ));
            }
            (true, Some(_)) => {
                return Err(cx.invalid(
                    "value",
                    "a value is given but compareWithNull is on",
                    Some("remove \"value\", or turn compareWithNull off".into()),
                ));
            }
            (true, None) => Value::Null,
            (false, Some(value)) => value,
            (false, None) => {
                return Err(cx.invalid(
                    "",
                    "there is nothing to compare with",
                    Some("set \"value\", or set \"compareWithNull\": true".into()),
                ));
            }
        };
        Ok(BuiltStep::each(Filter { field: field?, operator: settings.operator, value }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<FilterSource>() }

impl Step for Filter {
    fn run(&self, item: Item, _: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        if self.operator.admits(self.field.get(&item).unwrap_or(&Value::Null), &self.value) {
            out.push(item);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use sluice_core::Engine;

    fn kept(settings: Value, firsts: &[Value]) -> Vec<Value> {
        let engine = Engine::new().unwrap();
        let step = engine.single_step("f", "filter_source", settings, &Default::default()).unwrap();
        let items = firsts.iter().map(|v| json!({"data": {"First": v}}).as_object().unwrap().clone()).collect();
        let out = step.run(&Value::Null, items, &Default::default()).unwrap();
        out.items.iter().map(|i| i["data"]["First"].clone()).collect()
    }

    #[test]
    fn compares_numbers_strings_and_nulls() {
        let values = [json!(1), json!(5), json!("5"), json!("b"), json!(null), json!(true)];
        let f = |op: &str, v: Value| kept(json!({"field": "data.First", "operator": op, "value": v}), &values);
        assert_eq!(f("equal", json!(5)), [json!(5), json!("5")]);
        assert_eq!(f("notEqual", json!(5)), [json!(1), json!("b"), json!(null), json!(true)]);
        assert_eq!(f("greater", json!(2)), [json!(5), json!("5")]);
        assert_eq!(f("less", json!("c")), [json!("5"), json!("b")]);
        let n = |op: &str| kept(json!({"field": "data.First", "operator": op, "compareWithNull": true}), &values);
        assert_eq!(n("equal"), [json!(null)]);
        assert_eq!(n("notEqual").len(), 5);
    }

    #[test]
    fn refuses_settings_that_cannot_work() {
        let engine = Engine::new().unwrap();
        let build = |s: Value| engine.single_step("f", "filter_source", s, &Default::default()).err().unwrap();
        let e = build(json!({"field": "x", "operator": "greater", "compareWithNull": true}));
        assert_eq!(e[0].pointer, "/settings/operator");
        let e = build(json!({"field": "x", "operator": "equal"}));
        assert_eq!(e[0].pointer, "/settings");
        let e = build(json!({"field": "x", "operator": "equal", "value": 1, "compareWithNull": true}));
        assert_eq!(e[0].pointer, "/settings/value");
        let e = build(json!({"field": "x", "operator": "like", "value": 1}));
        assert!(e[0].message.contains("like"), "{}", e[0].message);
    }
}
