//! `query_entity_by_filter`: reads the entries of a component that pass a filter into a list.

use std::cmp::Ordering;

use serde::Deserialize;
use serde_json::Value;
use sluice_core::compare::{self, Operator};
use sluice_core::component::DefinitionType;
use sluice_core::entries::EntryKind;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::store::Entry;
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldPath, Group, Item, Localized, SettingLabel, Step, StepContext,
    StepDescriptor, StepError, StepMeta, StepPlugin, labels,
};

/// Settings of `query_entity_by_filter`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct QueryEntityByFilterSettings {
    /// The component whose entries are read (its system name); default this component.
    #[serde(default)]
    pub component: Option<String>,
    /// Where the list of entries goes (each with its `Id`, `name`, `data` and system fields).
    pub dst_field: String,
    /// Whether an entry must pass every condition (`all`, the default) or one of them (`any`).
    #[serde(default, rename = "match")]
    pub matching: Match,
    /// The conditions; without any, every entry passes.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// How the list is sorted; by default oldest first.
    #[serde(default)]
    pub order_by: Vec<OrderBy>,
    /// The most entries listed (1 to 10,000); default 100.
    #[serde(default = "default_limit")]
    #[schemars(range(min = 1, max = 10_000))]
    pub limit: usize,
    /// List entries marked for deletion too.
    #[serde(default)]
    pub include_marked_for_deletion: bool,
}

/// How conditions combine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Match {
    /// Every condition holds (and).
    #[default]
    All,
    /// At least one condition holds (or).
    Any,
}

/// One condition on an entry's field, compared as Filter source compares.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Condition {
    /// A definition of the component, or a system field (`Id`, `name`, `createdDate`, …).
    pub field: String,
    /// How the field is compared.
    pub operator: Operator,
    /// A fixed value to compare with.
    #[serde(default)]
    pub value: Option<Value>,
    /// A model path whose value is compared with, such as `data.Brand`.
    #[serde(default)]
    pub value_field: Option<String>,
    /// Compare with `null` (`equal`: the field is empty; `notEqual`: it has a value).
    #[serde(default)]
    pub compare_with_null: bool,
}

/// One sort key.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OrderBy {
    /// A definition of the component, or a system field.
    pub field: String,
    /// Largest first.
    #[serde(default)]
    pub descending: bool,
}

fn default_limit() -> usize {
    100
}

/// The step type.
pub struct QueryEntityByFilter;

enum Operand {
    Fixed(Value),
    Field(FieldPath),
}

struct Test {
    field: String,
    operator: Operator,
    operand: Operand,
}

struct Query {
    kind: EntryKind,
    destination: FieldPath,
    matching: Match,
    tests: Vec<Test>,
    order: Vec<(String, bool)>,
    limit: usize,
    include_deleted: bool,
    /// The conditions are equalities on exactly the primary key, with values of the fields'
    /// own types: the key's index answers the query.
    by_key: bool,
}

impl StepPlugin for QueryEntityByFilter {
    type Settings = QueryEntityByFilterSettings;
    const META: StepMeta = StepMeta {
        id: "query_entity_by_filter",
        group: Group::Transform,
        calls_outside: false,
        title: Localized {
            en: "Query entity by filter",
            fr: "Interroger les entités par filtre",
            es: "Consultar entidades por filtro",
            pt: "Consultar entidades por filtro",
            de: "Entitäten per Filter abfragen",
        },
        description: Localized {
            en: "Lists the entries of a component that pass the conditions, sorted and limited.",
            fr: "Liste les entrées d'un composant qui satisfont les conditions, triées et limitées.",
            es: "Lista las entradas de un componente que cumplen las condiciones, ordenadas y limitadas.",
            pt: "Lista as entradas de um componente que satisfazem as condições, ordenadas e limitadas.",
            de: "Listet die Einträge einer Komponente, die die Bedingungen erfüllen, sortiert und begrenzt.",
        },
        settings: &[
            labels::COMPONENT,
            labels::DST_FIELD,
            SettingLabel {
                name: "match",
                label: Localized {
                    en: "Conditions to meet",
                    fr: "Conditions à remplir",
                    es: "Condiciones a cumplir",
                    pt: "Condições a cumprir",
                    de: "Zu erfüllende Bedingungen",
                },
            },
            SettingLabel {
                name: "conditions",
                label: Localized {
                    en: "Conditions",
                    fr: "Conditions",
                    es: "Condiciones",
                    pt: "Condições",
                    de: "Bedingungen",
                },
            },
            SettingLabel {
                name: "orderBy",
                label: Localized {
                    en: "Order by",
                    fr: "Trier par",
                    es: "Ordenar por",
                    pt: "Ordenar por",
                    de: "Sortieren nach",
                },
            },
            SettingLabel {
                name: "limit",
                label: Localized { en: "Limit", fr: "Limite", es: "Límite", pt: "Limite", de: "Höchstzahl" },
            },
            SettingLabel {
                name: "includeMarkedForDeletion",
                label: Localized {
                    en: "Include entries marked for deletion",
                    fr: "Inclure les entrées marquées pour suppression",
                    es: "Incluir las entradas marcadas para eliminación",
                    pt: "Incluir as entradas marcadas para exclusão",
                    de: "Zum Löschen markierte Einträge einbeziehen",
                },
            },
        ],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let kind = cx.entries_of("component", settings.component.as_deref())?;
        let destination = cx.result_path("dstField", &settings.dst_field);
        let mut failed = None;
        let mut tests = Vec::new();
        for (i, condition) in settings.conditions.into_iter().enumerate() {
            match test(cx, &kind, i, condition) {
                Ok(test) => tests.push(test),
                Err(e) => failed = Some(e),
            }
        }
        let mut order = Vec::new();
        for (i, by) in settings.order_by.into_iter().enumerate() {
            match cx.field_of(&format!("orderBy/{i}/field"), &kind, &by.field) {
                Ok(()) => order.push((by.field, by.descending)),
                Err(e) => failed = Some(e),
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        let by_key = settings.matching == Match::All
            && !settings.include_marked_for_deletion
            && !kind.primary_key.is_empty()
            && tests.len() == kind.primary_key.len()
            && kind.primary_key.iter().all(|field| tests.iter().any(|t| t.field == *field && t.exact_on(&kind)));
        Ok(BuiltStep::each(Query {
            kind,
            destination: destination?,
            matching: settings.matching,
            tests,
            order,
            limit: settings.limit,
            include_deleted: settings.include_marked_for_deletion,
            by_key,
        }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<QueryEntityByFilter>() }

/// Checks condition `i`.
fn test(cx: &mut BuildContext<'_>, kind: &EntryKind, i: usize, condition: Condition) -> Result<Test, BuildError> {
    let at = |setting: &str| format!("conditions/{i}/{setting}");
    cx.field_of(&at("field"), kind, &condition.field)?;
    let operand = match (condition.compare_with_null, condition.value, condition.value_field) {
        (true, None, None) if condition.operator.orders() => {
            return Err(cx.invalid(&at("operator"), "greater and less cannot compare with null", None));
        }
        (true, None, None) => Operand::Fixed(Value::Null),
        (false, Some(value), None) => Operand::Fixed(value),
        (false, None, Some(path)) => Operand::Field(cx.path(&at("valueField"), &path)?),
        _ => {
            return Err(cx.invalid(
                &format!("conditions/{i}"),
                "a condition compares with one thing",
                Some("give exactly one of \"value\", \"valueField\" and \"compareWithNull\": true".into()),
            ));
        }
    };
    Ok(Test { field: condition.field, operator: condition.operator, operand })
}

impl Test {
    /// An equality with a fixed value of the field's own type (string or integer), which the
    /// primary key's index finds exactly as a comparison would.
    fn exact_on(&self, kind: &EntryKind) -> bool {
        let Operand::Fixed(value) = &self.operand else { return false };
        let kind_of = kind.definitions.get(&self.field).map(|d| d.kind);
        self.operator == Operator::Equal
            && match kind_of {
                Some(DefinitionType::String) => value.is_string(),
                Some(DefinitionType::Integer) => value.is_i64() || value.is_u64(),
                _ => false,
            }
    }

    fn passes(&self, entry: &Entry, item: &Item) -> bool {
        let operand = match &self.operand {
            Operand::Fixed(value) => value,
            Operand::Field(path) => path.get(item).unwrap_or(&Value::Null),
        };
        self.operator.admits(&field_of(entry, &self.field), operand)
    }
}

/// An entry's field: a system field, or one of its `data`.
fn field_of(entry: &Entry, field: &str) -> Value {
    match field {
        "Id" => Value::String(entry.id.clone()),
        "name" => entry.name.clone().map_or(Value::Null, Value::String),
        "creatorSubject" => entry.creator_subject.clone().map_or(Value::Null, Value::String),
        "updateSubject" => entry.update_subject.clone().map_or(Value::Null, Value::String),
        "createdDate" => Value::from(entry.created_date),
        "updateDate" => Value::from(entry.update_date),
        _ => entry.data.get(field).cloned().unwrap_or(Value::Null),
    }
}

impl Query {
    fn entries(&self, item: &Item, cx: &StepContext<'_>) -> Result<Vec<Entry>, StepError> {
        let store = &cx.services().store;
        if self.by_key {
            let value_of = |field: &str| match self.tests.iter().find(|t| t.field == field).map(|t| &t.operand) {
                Some(Operand::Fixed(value)) => Some(value),
                _ => None,
            };
            let Some(key) = self.kind.key_from(value_of) else { return Ok(Vec::new()) };
            return Ok(store
                .find_entry_by_key(&self.kind.component, &key)
                .map_err(StepError::from)?
                .into_iter()
                .collect());
        }
        let mut found: Vec<Entry> = store
            .list_entries(&self.kind.component)
            .map_err(StepError::from)?
            .into_iter()
            .filter(|entry| self.include_deleted || !entry.deleted)
            .filter(|entry| match self.matching {
                Match::All => self.tests.iter().all(|t| t.passes(entry, item)),
                Match::Any => self.tests.is_empty() || self.tests.iter().any(|t| t.passes(entry, item)),
            })
            .collect();
        if !self.order.is_empty() {
            found.sort_by(|a, b| {
                self.order.iter().fold(Ordering::Equal, |so_far, (field, descending)| {
                    so_far.then_with(|| {
                        let order = compare::order(&field_of(a, field), &field_of(b, field))
                            .unwrap_or_else(|| kind_rank(&field_of(a, field)).cmp(&kind_rank(&field_of(b, field))));
                        if *descending { order.reverse() } else { order }
                    })
                })
            });
        }
        found.truncate(self.limit);
        Ok(found)
    }
}

/// Where values that cannot be compared sort: empty first, then booleans, numbers, text,
/// lists and objects.
fn kind_rank(value: &Value) -> u8 {
    match value {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

impl Step for Query {
    fn run(&self, mut item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let list = self.entries(&item, cx)?.iter().map(Entry::to_model).collect();
        self.destination.set(&mut item, Value::Array(list)).map_err(|e| StepError::at_setting("dstField", e))?;
        out.push(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use sluice_core::Engine;

    use crate::test_support::{cars, garage};

    fn step(settings: Value) -> String {
        json!({"name": "read", "type": "query_entity_by_filter", "source": "in", "settings": settings}).to_string()
    }

    /// The VINs the query lists for `input`.
    fn vins(engine: &Engine, settings: Value, input: Value) -> Vec<String> {
        let plan = garage(engine, &step(settings)).unwrap();
        let run = plan.run("Look", &input, &Default::default(), Default::default()).unwrap();
        let list = run.response[0]["_cars"].as_array().unwrap().clone();
        list.iter().map(|e| e["data"]["Vin"].as_str().unwrap().to_owned()).collect()
    }

    #[test]
    fn filters_with_all_or_any_sorts_and_limits() {
        let engine = Engine::new().unwrap();
        let ids = cars(&engine, &[("V1", "Audi", 300), ("V2", "BMW", 100), ("V3", "Audi", 200), ("V4", "Fiat", 50)]);
        engine.services().store.mark_entry_deleted("Cars", &ids[3], None, 9_000).unwrap();
        let q = |extra: Value| {
            let mut settings = json!({"component": "Cars", "dstField": "_cars"});
            settings.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            vins(&engine, settings, json!({"data": {"Car": "Audi"}}))
        };
        assert_eq!(q(json!({})), ["V1", "V2", "V3"], "every entry not marked for deletion, oldest first");
        assert_eq!(q(json!({"includeMarkedForDeletion": true})), ["V1", "V2", "V3", "V4"]);
        let audi = json!([{"field": "Brand", "operator": "equal", "valueField": "data.Car"}]);
        assert_eq!(q(json!({"conditions": audi})), ["V1", "V3"]);
        let both = json!([{"field": "Brand", "operator": "equal", "value": "Audi"}, {"field": "Price", "operator": "less", "value": 250}]);
        assert_eq!(q(json!({"conditions": both})), ["V3"]);
        assert_eq!(q(json!({"conditions": both, "match": "any"})), ["V1", "V2", "V3"]);
        let by_price = json!([{"field": "Price", "descending": true}]);
        assert_eq!(q(json!({"orderBy": by_price})), ["V1", "V3", "V2"]);
        assert_eq!(q(json!({"orderBy": by_price, "limit": 2})), ["V1", "V3"]);
        let by_brand_then_price = json!([{"field": "Brand"}, {"field": "Price"}]);
        assert_eq!(q(json!({"orderBy": by_brand_then_price})), ["V3", "V1", "V2"]);
        let named = json!([{"field": "name", "operator": "greater", "value": "V1"}]);
        assert_eq!(q(json!({"conditions": named})), ["V2", "V3"], "system fields are fields too");
    }

    #[test]
    fn an_equality_on_the_primary_key_is_a_key_lookup() {
        let engine = Engine::new().unwrap();
        cars(&engine, &[("V1", "Audi", 300), ("V2", "BMW", 100)]);
        let on_vin = |value: Value| {
            let conditions = json!([{"field": "Vin", "operator": "equal", "value": value}]);
            vins(&engine, json!({"component": "Cars", "dstField": "_cars", "conditions": conditions}), json!({}))
        };
        assert_eq!(on_vin(json!("V2")), ["V2"]);
        assert!(on_vin(json!("V9")).is_empty());
        assert!(on_vin(json!(5)).is_empty(), "a number is compared, and no VIN is 5");
    }

    #[test]
    fn conditions_name_fields_of_the_component() {
        let engine = Engine::new().unwrap();
        let problems = |conditions: Value| {
            let settings = json!({"component": "Cars", "dstField": "_cars", "conditions": conditions});
            garage(&engine, &step(settings)).unwrap_err()
        };
        let typo = problems(json!([{"field": "Brnd", "operator": "equal", "value": 1}]));
        assert_eq!(typo[0].pointer, "/dataflows/0/stages/0/steps/1/settings/conditions/0/field");
        assert_eq!(typo[0].message, "\"Brnd\" is not a definition of Cars");
        assert_eq!(typo[0].hint.as_deref(), Some("did you mean data.Brand?"));
        let two = problems(json!([{"field": "Brand", "operator": "equal", "value": 1, "valueField": "data.Car"}]));
        assert_eq!(two[0].pointer, "/dataflows/0/stages/0/steps/1/settings/conditions/0");
        let none = problems(json!([{"field": "Brand", "operator": "less", "compareWithNull": true}]));
        assert_eq!(none[0].message, "greater and less cannot compare with null");
    }
}
