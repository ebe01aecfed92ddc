//! `update_entry`: stores the item's `data` as an entry of this component or another: creates
//! it when the key field is empty, updates it by Id, or marks it for deletion.

use serde::Deserialize;
use serde_json::{Map, Value};
use sluice_core::entries::EntryKind;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::store::EntryWrite;
use sluice_core::types::schema_violations;
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldPath, Group, Item, Localized, SettingLabel, Step, StepContext,
    StepDescriptor, StepError, StepMeta, StepPlugin, labels,
};

/// Settings of `update_entry`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdateEntrySettings {
    /// The component whose entry is written (its system name); default this component. The
    /// mapping's fields are that component's definitions.
    #[serde(default)]
    pub component: Option<String>,
    /// The field holding the Id of the entry to update; when it is empty a new entry is
    /// created. Default `data.Id`.
    #[serde(default = "default_key")]
    pub key_field: String,
    /// Mark the entry (named by the key field) for deletion instead of writing it.
    #[serde(default)]
    pub mark_for_deletion: bool,
    /// Leave who changed the entry last, and when (`updateSubject`, `updateDate`), as they
    /// were: for bookkeeping writes that are not a person's change.
    #[serde(default)]
    pub no_tracking: bool,
    /// A field whose value becomes the entry's display name (the system `name`).
    #[serde(default)]
    pub name_field: Option<String>,
    /// Where the entry's Id goes. Default `_entryId`.
    #[serde(default = "default_result")]
    pub result_field: String,
    /// Which fields to write: each maps a model path to a definition. When empty, every
    /// definition present in the item's `data` is written.
    #[serde(default)]
    pub fields_mapping: Vec<FieldMapping>,
}

/// One field to write.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldMapping {
    /// Model path of the value, such as `data.Total` or `new_code`.
    pub from: String,
    /// The definition it is written to.
    pub to: String,
}

fn default_key() -> String {
    "data.Id".into()
}
fn default_result() -> String {
    "_entryId".into()
}

/// The step type.
pub struct UpdateEntry;

struct Writer {
    kind: EntryKind,
    key: FieldPath,
    delete: bool,
    tracked: bool,
    name: Option<FieldPath>,
    result: FieldPath,
    /// `(from, definition)`.
    fields: Vec<(FieldPath, String)>,
}

impl StepPlugin for UpdateEntry {
    type Settings = UpdateEntrySettings;
    const META: StepMeta = StepMeta {
        id: "update_entry",
        group: Group::Output,
        calls_outside: false,
        title: Localized {
            en: "Update entry",
            fr: "Mettre à jour l'entrée",
            es: "Actualizar entrada",
            pt: "Atualizar entrada",
            de: "Eintrag aktualisieren",
        },
        description: Localized {
            en: "Creates, updates or marks for deletion an entry of the component from the item's data.",
            fr: "Crée, met à jour ou marque pour suppression une entrée du composant à partir des données de l'élément.",
            es: "Crea, actualiza o marca para eliminación una entrada del componente a partir de los datos del elemento.",
            pt: "Cria, atualiza ou marca para exclusão uma entrada do componente a partir dos dados do item.",
            de: "Erstellt, aktualisiert oder markiert einen Eintrag der Komponente aus den Daten des Elements zum Löschen.",
        },
        settings: &[
            labels::COMPONENT,
            SettingLabel {
                name: "keyField",
                label: Localized {
                    en: "Field component key",
                    fr: "Champ clé du composant",
                    es: "Campo clave del componente",
                    pt: "Campo chave do componente",
                    de: "Schlüsselfeld der Komponente",
                },
            },
            SettingLabel {
                name: "markForDeletion",
                label: Localized {
                    en: "Mark entry for deletion",
                    fr: "Marquer l'entrée pour suppression",
                    es: "Marcar la entrada para eliminación",
                    pt: "Marcar a entrada para exclusão",
                    de: "Eintrag zum Löschen markieren",
                },
            },
            SettingLabel {
                name: "noTracking",
                label: Localized {
                    en: "No tracking",
                    fr: "Sans suivi",
                    es: "Sin seguimiento",
                    pt: "Sem rastreamento",
                    de: "Ohne Nachverfolgung",
                },
            },
            SettingLabel {
                name: "nameField",
                label: Localized {
                    en: "Name field",
                    fr: "Champ du nom",
                    es: "Campo del nombre",
                    pt: "Campo do nome",
                    de: "Namensfeld",
                },
            },
            labels::RESULT_FIELD,
            SettingLabel { name: "fieldsMapping", label: labels::FIELDS_MAPPING },
        ],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let kind = cx.entries_of("component", settings.component.as_deref())?;
        let key = cx.path("keyField", &settings.key_field);
        let name = settings.name_field.as_deref().map(|n| cx.path("nameField", n)).transpose();
        let result = cx.result_path("resultField", &settings.result_field);
        let mut fields = Vec::new();
        let mut failed = None;
        for (i, mapping) in settings.fields_mapping.iter().enumerate() {
            let from = cx.path(&format!("fieldsMapping/{i}/from"), &mapping.from);
            let to = cx.field_of(&format!("fieldsMapping/{i}/to"), &kind, &mapping.to);
            match (from, to) {
                (Ok(from), Ok(())) => fields.push((from, mapping.to.clone())),
                (Err(e), _) | (_, Err(e)) => failed = Some(e),
            }
        }
        if settings.fields_mapping.is_empty() {
            // Definition names are plain identifiers, so `data.<name>` always parses.
            fields.extend(
                kind.definitions
                    .keys()
                    .filter_map(|name| FieldPath::parse(&format!("data.{name}")).ok().map(|p| (p, name.clone()))),
            );
        }
        if let Some(e) = failed {
            return Err(e);
        }
        Ok(BuiltStep::each(Writer {
            kind,
            key: key?,
            delete: settings.mark_for_deletion,
            tracked: !settings.no_tracking,
            name: name?,
            result: result?,
            fields,
        }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<UpdateEntry>() }

impl Writer {
    fn check(&self, data: &Map<String, Value>) -> Result<(), StepError> {
        let value = Value::Object(data.clone());
        let problems = schema_violations(&self.kind.data_schema, &value, 5);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(StepError::new(format!(
                "the entry does not fit the definitions of {}: {}",
                self.kind.component,
                problems.join("; ")
            )))
        }
    }
}

impl Step for Writer {
    fn run(&self, mut item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let store = &cx.services().store;
        let now = cx.services().clock.now();
        let subject = cx.run().user.clone();
        let id = match self.key.get(&item) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(s.trim().to_owned()),
            Some(other) => {
                return Err(StepError::at_setting("keyField", format!("the entry Id must be text, not {other}")));
            }
        };
        if self.delete {
            let id = id.ok_or_else(|| {
                StepError::at_setting(
                    "keyField",
                    format!("{} is empty: say which entry to mark for deletion", self.key),
                )
            })?;
            if cx.dry_run() {
                cx.note(format!("dry run: entry {id} was not marked for deletion"));
            } else {
                store
                    .mark_entry_deleted(&self.kind.component, &id, subject.as_deref(), now)
                    .map_err(StepError::from)?;
            }
            self.result.set(&mut item, Value::String(id)).map_err(|e| StepError::at_setting("resultField", e))?;
            out.push(item);
            return Ok(());
        }
        let data: Map<String, Value> =
            self.fields.iter().filter_map(|(from, to)| from.get(&item).map(|v| (to.clone(), v.clone()))).collect();
        let name = match &self.name {
            Some(path) => path.get(&item).and_then(|v| v.as_str().map(str::to_owned).or_else(|| Some(v.to_string()))),
            None => None,
        };
        let mut whole = match &id {
            Some(id) => {
                store
                    .get_entry(&self.kind.component, id)
                    .map_err(StepError::from)?
                    .ok_or_else(|| {
                        StepError::at_setting(
                            "keyField",
                            format!("{} has no entry with Id \"{id}\"", self.kind.component),
                        )
                    })?
                    .data
            }
            None => Map::new(),
        };
        whole.extend(data.clone());
        self.check(&whole)?;
        let write = EntryWrite {
            component: self.kind.component.clone(),
            data,
            name,
            key: self.kind.key_of(&whole),
            subject,
            at: now,
            tracked: self.tracked,
        };
        let dry_run = cx.dry_run();
        let id = match id {
            Some(id) => {
                if dry_run {
                    cx.note(format!("dry run: entry {id} was not updated"));
                } else {
                    store.update_entry(&id, &write).map_err(StepError::from)?;
                }
                id
            }
            None => {
                let id = sluice_core::new_time_ordered_uuid();
                if dry_run {
                    cx.note(format!("dry run: entry {id} was not created"));
                } else {
                    store.create_entry(&id, &write).map_err(StepError::from)?;
                }
                if let Some(Value::Object(data)) = item.get_mut("data") {
                    data.insert("Id".into(), Value::String(id.clone()));
                }
                id
            }
        };
        self.result.set(&mut item, Value::String(id)).map_err(|e| StepError::at_setting("resultField", e))?;
        out.push(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use sluice_core::single::SINGLE_COMPONENT;
    use sluice_core::{Engine, SingleStep};

    fn engine_and_step(settings: Value) -> (Engine, SingleStep) {
        let engine = Engine::new().unwrap();
        let definitions = serde_json::from_value(json!({
            "No": {"type": "string", "primaryKey": true, "required": true},
            "Total": {"type": "number"}
        }))
        .unwrap();
        let step = engine.single_step("save", "update_entry", settings, &definitions).unwrap();
        (engine, step)
    }

    #[test]
    fn creates_then_updates_then_marks_for_deletion() {
        let (engine, save) = engine_and_step(json!({"nameField": "data.No"}));
        let store = &engine.services().store;
        let created = save.run_one(json!({"data": {"No": "A-1", "Total": 5, "Junk": 1}})).unwrap();
        let id = created.items[0]["_entryId"].as_str().unwrap().to_owned();
        assert_eq!(created.items[0]["data"]["Id"], id.as_str());
        let entry = store.get_entry(SINGLE_COMPONENT, &id).unwrap().unwrap();
        assert_eq!(Value::Object(entry.data), json!({"No": "A-1", "Total": 5}), "only definitions are stored");
        assert_eq!(entry.name.as_deref(), Some("A-1"));

        save.run_one(json!({"data": {"Id": id, "Total": 7}})).unwrap();
        let entry = store.get_entry(SINGLE_COMPONENT, &id).unwrap().unwrap();
        assert_eq!(Value::Object(entry.data), json!({"No": "A-1", "Total": 7}));

        let delete = engine.single_step("del", "update_entry", json!({"markForDeletion": true}), &Default::default());
        delete.unwrap().run_one(json!({"data": {"Id": id}})).unwrap();
        assert!(store.get_entry(SINGLE_COMPONENT, &id).unwrap().unwrap().deleted);
    }

    #[test]
    fn duplicates_bad_values_and_missing_entries_are_clear_errors() {
        let (_engine, save) = engine_and_step(json!({}));
        save.run_one(json!({"data": {"No": "A-1"}})).unwrap();
        let dup = save.run_one(json!({"data": {"No": "A-1"}})).unwrap_err();
        assert_eq!(dup.message, "Single already has an entry with primary key [\"A-1\"]");
        let bad = save.run_one(json!({"data": {"No": "A-2", "Total": "many"}})).unwrap_err();
        assert!(
            bad.message.starts_with("the entry does not fit the definitions of Single: /Total:"),
            "{}",
            bad.message
        );
        let missing = save.run_one(json!({"data": {"Total": 1}})).unwrap_err();
        assert!(missing.message.contains("\"No\" is a required property"), "{}", missing.message);
        let unknown = save.run_one(json!({"data": {"Id": "nope", "No": "A-3"}})).unwrap_err();
        assert_eq!(
            (unknown.message.as_str(), unknown.setting.as_deref()),
            ("Single has no entry with Id \"nope\"", Some("keyField"))
        );
        let (_engine, delete) = engine_and_step(json!({"markForDeletion": true}));
        let err = delete.run_one(json!({"data": {}})).unwrap_err();
        assert_eq!(err.message, "data.Id is empty: say which entry to mark for deletion");
    }

    #[test]
    fn fields_mapping_names_definitions() {
        let engine = Engine::new().unwrap();
        let definitions = serde_json::from_value(json!({"No": {"type": "string"}})).unwrap();
        let settings = json!({"fieldsMapping": [{"from": "code", "to": "No"}, {"from": "x", "to": "Nope"}]});
        let err = engine.single_step("save", "update_entry", settings, &definitions).err().unwrap();
        assert_eq!(err[0].pointer, "/settings/fieldsMapping/1/to");
        assert!(err[0].message.contains("\"Nope\" is not a definition"), "{}", err[0].message);
        let settings = json!({"fieldsMapping": [{"from": "code", "to": "No"}]});
        let save = engine.single_step("save", "update_entry", settings, &definitions).unwrap();
        let out = save.run_one(json!({"code": "42", "data": {}})).unwrap();
        let id = out.items[0]["_entryId"].as_str().unwrap();
        let entry = engine.services().store.get_entry(SINGLE_COMPONENT, id).unwrap().unwrap();
        assert_eq!(entry.data["No"], "42");
    }
}
