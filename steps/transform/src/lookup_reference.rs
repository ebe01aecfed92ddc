//! `lookup_reference`: finds the Id of an entry of a component by its primary key.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use sluice_core::entries::EntryKind;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::source::escape_token;
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldPath, Group, Item, Localized, SettingLabel, Step, StepContext,
    StepDescriptor, StepError, StepMeta, StepPlugin, labels,
};

/// Settings of `lookup_reference`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LookupReferenceSettings {
    /// The component whose entry is looked up (its system name); default this component. It
    /// must have a primary key.
    #[serde(default)]
    pub component: Option<String>,
    /// Where the entry's Id goes, such as `_neededCar`: `null` when no entry (not marked for
    /// deletion) has that key. Update entry's `keyField` can then name it.
    pub field_name: String,
    /// For each primary-key field of the component, the model path that gives its value, such
    /// as `{"car_vin": "data.car_vin"}`.
    pub key_map: BTreeMap<String, String>,
}

/// The step type.
pub struct LookupReference;

struct Lookup {
    kind: EntryKind,
    /// `(primary-key field, where its value is)`.
    key: Vec<(String, FieldPath)>,
    result: FieldPath,
}

impl StepPlugin for LookupReference {
    type Settings = LookupReferenceSettings;
    const META: StepMeta = StepMeta {
        id: "lookup_reference",
        group: Group::Transform,
        calls_outside: false,
        title: Localized {
            en: "Lookup reference",
            fr: "Rechercher une référence",
            es: "Buscar referencia",
            pt: "Pesquisar referência",
            de: "Referenz nachschlagen",
        },
        description: Localized {
            en: "Finds the Id of a component's entry from the values of its primary key.",
            fr: "Trouve l'Id d'une entrée d'un composant à partir des valeurs de sa clé primaire.",
            es: "Encuentra el Id de una entrada de un componente a partir de los valores de su clave primaria.",
            pt: "Encontra o Id de uma entrada de um componente a partir dos valores da sua chave primária.",
            de: "Findet die ID eines Eintrags einer Komponente anhand der Werte seines Primärschlüssels.",
        },
        settings: &[
            labels::COMPONENT,
            SettingLabel {
                name: "fieldName",
                label: Localized {
                    en: "Field name",
                    fr: "Nom du champ",
                    es: "Nombre del campo",
                    pt: "Nome do campo",
                    de: "Feldname",
                },
            },
            SettingLabel {
                name: "keyMap",
                label: Localized {
                    en: "Primary key mapping",
                    fr: "Correspondance de la clé primaire",
                    es: "Asignación de la clave primaria",
                    pt: "Mapeamento da chave primária",
                    de: "Zuordnung des Primärschlüssels",
                },
            },
        ],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let kind = cx.entries_of("component", settings.component.as_deref())?;
        let result = cx.result_path("fieldName", &settings.field_name);
        if kind.primary_key.is_empty() {
            return Err(cx.invalid(
                "component",
                format!("{} has no primary key, so its entries cannot be looked up by one", kind.component),
                Some("mark its identifying definitions \"primaryKey\": true, or read entries by Id with get_entity_by_id".into()),
            ));
        }
        let mut failed = None;
        for field in settings.key_map.keys().filter(|field| !kind.primary_key.contains(field)) {
            let message = format!("\"{field}\" is not a primary-key field of {}", kind.component);
            let hint = format!("its primary key is {}", kind.primary_key.join(", "));
            failed = Some(cx.invalid(&format!("keyMap/{}", escape_token(field)), message, Some(hint)));
        }
        let mut key = Vec::new();
        for field in &kind.primary_key {
            let Some(path) = settings.key_map.get(field) else {
                let message =
                    format!("keyMap gives no value for \"{field}\", part of the primary key of {}", kind.component);
                failed = Some(cx.invalid("keyMap", message, Some(format!("add \"{field}\": \"data.{field}\", say"))));
                continue;
            };
            match cx.path(&format!("keyMap/{}", escape_token(field)), path) {
                Ok(path) => key.push((field.clone(), path)),
                Err(e) => failed = Some(e),
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        Ok(BuiltStep::each(Lookup { kind, key, result: result? }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<LookupReference>() }

impl Step for Lookup {
    fn run(&self, mut item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let value_of = |field: &str| self.key.iter().find(|(f, _)| f == field).and_then(|(_, path)| path.get(&item));
        let found = match self.kind.key_from(value_of) {
            Some(key) => cx.services().store.find_entry_by_key(&self.kind.component, &key).map_err(StepError::from)?,
            None => None,
        };
        let id = found.map_or(Value::Null, |entry| Value::String(entry.id));
        self.result.set(&mut item, id).map_err(|e| StepError::at_setting("fieldName", e))?;
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
        json!({"name": "read", "type": "lookup_reference", "source": "in", "settings": settings}).to_string()
    }

    #[test]
    fn finds_the_id_by_the_primary_key_or_null() {
        let engine = Engine::new().unwrap();
        let ids = cars(&engine, &[("VIN1", "Audi", 100), ("VIN2", "BMW", 200)]);
        let settings = json!({"component": "Cars", "fieldName": "_neededCar", "keyMap": {"Vin": "data.Car"}});
        let plan = garage(&engine, &step(settings)).unwrap();
        let look = |vin: Value| {
            let run = plan.run("Look", &json!({"data": {"Car": vin}}), &Default::default(), Default::default());
            run.unwrap().response[0]["_neededCar"].clone()
        };
        assert_eq!(look(json!("VIN2")), json!(ids[1]));
        assert_eq!(look(json!("VIN1")), json!(ids[0]));
        assert_eq!(look(json!("VIN3")), Value::Null);
        assert_eq!(look(json!("")), Value::Null, "an empty key finds nothing");
        engine.services().store.mark_entry_deleted("Cars", &ids[1], None, 5_000).unwrap();
        assert_eq!(look(json!("VIN2")), Value::Null, "an entry marked for deletion is not found");
    }

    #[test]
    fn the_key_map_must_be_the_primary_key() {
        let engine = Engine::new().unwrap();
        let problems = |settings: Value| garage(&engine, &step(settings)).unwrap_err();
        let missing = problems(json!({"component": "Cars", "fieldName": "_id", "keyMap": {}}));
        assert_eq!(missing[0].pointer, "/dataflows/0/stages/0/steps/1/settings/keyMap");
        assert_eq!(missing[0].message, "keyMap gives no value for \"Vin\", part of the primary key of Cars");
        let extra =
            problems(json!({"component": "Cars", "fieldName": "_id", "keyMap": {"Vin": "data.Car", "Brand": "x"}}));
        assert_eq!(extra[0].pointer, "/dataflows/0/stages/0/steps/1/settings/keyMap/Brand");
        assert_eq!(extra[0].hint.as_deref(), Some("its primary key is Vin"));
        let keyless = problems(json!({"fieldName": "_id", "keyMap": {"Car": "data.Car"}}));
        assert_eq!(keyless[0].pointer, "/dataflows/0/stages/0/steps/1/settings/component");
        assert_eq!(keyless[0].message, "Garage has no primary key, so its entries cannot be looked up by one");
    }
}
