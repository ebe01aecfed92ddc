//! `get_entity_by_id`: reads an entry of this component or another by its Id into a field.

use serde::Deserialize;
use serde_json::Value;
use sluice_core::entries::EntryKind;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldPath, Group, Item, Localized, Step, StepContext, StepDescriptor,
    StepError, StepMeta, StepPlugin, labels,
};

/// Settings of `get_entity_by_id`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GetEntityByIdSettings {
    /// The component whose entry is read (its system name); default this component.
    #[serde(default)]
    pub component: Option<String>,
    /// The field holding the entry's Id, such as `data.Car` or `_newCar`.
    pub src_field: String,
    /// Where the entry goes: an object with its `Id`, `name`, `data`, `deleted` and the other
    /// system fields, or `null` when there is no entry with that Id (or the field is empty).
    pub dst_field: String,
}

/// The step type.
pub struct GetEntityById;

struct Reader {
    kind: EntryKind,
    source: FieldPath,
    destination: FieldPath,
}

impl StepPlugin for GetEntityById {
    type Settings = GetEntityByIdSettings;
    const META: StepMeta = StepMeta {
        id: "get_entity_by_id",
        group: Group::Transform,
        calls_outside: false,
        title: Localized {
            en: "Get entity by id",
            fr: "Obtenir l'entité par id",
            es: "Obtener entidad por id",
            pt: "Obter entidade por id",
            de: "Entität nach ID abrufen",
        },
        description: Localized {
            en: "Reads an entry of a component by its Id into a field of the item.",
            fr: "Lit une entrée d'un composant par son Id dans un champ de l'élément.",
            es: "Lee una entrada de un componente por su Id en un campo del elemento.",
            pt: "Lê uma entrada de um componente pelo seu Id para um campo do item.",
            de: "Liest einen Eintrag einer Komponente anhand seiner ID in ein Feld des Elements.",
        },
        settings: &[labels::COMPONENT, labels::SRC_FIELD, labels::DST_FIELD],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let kind = cx.entries_of("component", settings.component.as_deref());
        let source = cx.path("srcField", &settings.src_field);
        let destination = cx.result_path("dstField", &settings.dst_field);
        Ok(BuiltStep::each(Reader { kind: kind?, source: source?, destination: destination? }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<GetEntityById>() }

impl Step for Reader {
    fn run(&self, mut item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let id = match self.source.get(&item) {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) => Some(id.trim()).filter(|id| !id.is_empty()),
            Some(other) => {
                return Err(StepError::at_setting("srcField", format!("an entry Id is text, not {other}")));
            }
        };
        let entry = match id {
            Some(id) => cx.services().store.get_entry(&self.kind.component, id).map_err(StepError::from)?,
            None => None,
        };
        let value = entry.map_or(Value::Null, |entry| entry.to_model());
        self.destination.set(&mut item, value).map_err(|e| StepError::at_setting("dstField", e))?;
        out.push(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use sluice_core::Engine;

    use crate::test_support::{cars, garage};

    #[test]
    fn reads_an_entry_of_another_component_or_null() {
        let engine = Engine::new().unwrap();
        let ids = cars(&engine, &[("VIN1", "Audi", 100), ("VIN2", "BMW", 200)]);
        let step = r#"{"name": "read", "type": "get_entity_by_id", "source": "in",
                       "settings": {"component": "Cars", "srcField": "data.Car", "dstField": "_car"}}"#;
        let plan = garage(&engine, step).unwrap();
        let car = |id: Value| {
            let run = plan.run("Look", &json!({"data": {"Car": id}}), &Default::default(), Default::default()).unwrap();
            run.response[0]["_car"].clone()
        };
        let found = car(json!(ids[1]));
        assert_eq!(
            (&found["Id"], &found["data"]["Vin"], &found["deleted"]),
            (&json!(ids[1]), &json!("VIN2"), &json!(false))
        );
        assert_eq!(found["name"], "VIN2");
        assert_eq!(car(json!("no-such-id")), Value::Null);
        assert_eq!(car(json!("")), Value::Null);
        assert_eq!(car(Value::Null), Value::Null);
        let err = plan.run("Look", &json!({"data": {"Car": 5}}), &Default::default(), Default::default()).unwrap_err();
        assert!(err.to_string().contains("an entry Id is text, not 5"), "{err}");
    }

    #[test]
    fn an_unknown_component_is_a_load_error() {
        let engine = Engine::new().unwrap();
        let step = r#"{"name": "read", "type": "get_entity_by_id", "source": "in",
                       "settings": {"component": "Carz", "srcField": "data.Car", "dstField": "_car"}}"#;
        let problems = garage(&engine, step).unwrap_err();
        assert_eq!(problems[0].pointer, "/dataflows/0/stages/0/steps/1/settings/component");
        assert_eq!(problems[0].message, "there is no component named \"Carz\"");
        assert_eq!(problems[0].hint.as_deref(), Some("did you mean \"Cars\"?"));
    }
}
