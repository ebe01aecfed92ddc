//! `transform_model`: copies, renames and removes fields of each item.

use serde::Deserialize;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldPath, Group, Item, Localized, SettingLabel, Step, StepContext,
    StepDescriptor, StepError, StepMeta, StepPlugin, labels,
};

/// Settings of `transform_model`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransformModelSettings {
    /// The field mappings, applied in order. An empty list passes items through unchanged.
    #[serde(default)]
    pub fields: Vec<FieldMapping>,
}

/// One field mapping.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, tag = "action", rename_all = "lowercase")]
pub enum FieldMapping {
    /// Copy the value at `from` to `to` (nothing is written when `from` is absent).
    Copy {
        /// Path to read, such as `data.UserName`.
        from: String,
        /// Path to write, such as `_name`.
        to: String,
    },
    /// Move the value at `from` to `to` (nothing happens when `from` is absent).
    Rename {
        /// Path to move from.
        from: String,
        /// Path to move to.
        to: String,
    },
    /// Delete the field at `path`.
    Remove {
        /// Path to delete.
        path: String,
    },
}

/// The step type.
pub struct TransformModel;

enum Op {
    Copy(FieldPath, FieldPath),
    Rename(FieldPath, FieldPath),
    Remove(FieldPath),
}

struct Transform {
    ops: Vec<Op>,
}

impl StepPlugin for TransformModel {
    type Settings = TransformModelSettings;
    const META: StepMeta = StepMeta {
        id: "transform_model",
        group: Group::Transform,
        calls_outside: false,
        title: Localized {
            en: "Transform model",
            fr: "Transformer le modèle",
            es: "Transformar modelo",
            pt: "Transformar modelo",
            de: "Modell transformieren",
        },
        description: Localized {
            en: "Copies, renames or removes fields of each item.",
            fr: "Copie, renomme ou supprime des champs de chaque élément.",
            es: "Copia, renombra o elimina campos de cada elemento.",
            pt: "Copia, renomeia ou remove campos de cada item.",
            de: "Kopiert, benennt um oder entfernt Felder jedes Elements.",
        },
        settings: &[SettingLabel { name: "fields", label: labels::FIELDS_MAPPING }],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        // Its mappings may write any field.
        cx.writes_anything();
        let ops: Vec<Result<Op, BuildError>> = settings
            .fields
            .iter()
            .enumerate()
            .map(|(i, mapping)| {
                let mut path = |key: &str, text: &str| cx.path(&format!("fields/{i}/{key}"), text);
                Ok(match mapping {
                    FieldMapping::Copy { from, to } => {
                        let (from, to) = (path("from", from), path("to", to));
                        Op::Copy(from?, to?)
                    }
                    FieldMapping::Rename { from, to } => {
                        let (from, to) = (path("from", from), path("to", to));
                        Op::Rename(from?, to?)
                    }
                    FieldMapping::Remove { path: p } => Op::Remove(path("path", p)?),
                })
            })
            .collect();
        Ok(BuiltStep::each(Transform { ops: ops.into_iter().collect::<Result<_, _>>()? }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<TransformModel>() }

impl Step for Transform {
    fn run(&self, mut item: Item, _: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        for (i, op) in self.ops.iter().enumerate() {
            let written = match op {
                Op::Copy(from, to) => match from.get(&item).cloned() {
                    Some(value) => to.set(&mut item, value),
                    None => Ok(()),
                },
                Op::Rename(from, to) => match from.remove(&mut item) {
                    Some(value) => to.set(&mut item, value),
                    None => Ok(()),
                },
                Op::Remove(path) => {
                    path.remove(&mut item);
                    Ok(())
                }
            };
            written.map_err(|e| StepError::at_setting(&format!("fields/{i}"), e))?;
        }
        out.push(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sluice_core::Engine;
    use sluice_core::component::Definitions;

    #[test]
    fn applies_mappings_in_order() {
        let engine = Engine::new().unwrap();
        let settings = json!({"fields": [
            {"action": "copy", "from": "data.A", "to": "_a"},
            {"action": "rename", "from": "data.B", "to": "data.C"},
            {"action": "remove", "path": "data.A"},
            {"action": "copy", "from": "data.missing", "to": "_never"}
        ]});
        let step = engine.single_step("t", "transform_model", settings, &Default::default()).unwrap();
        let out = step.run_one(json!({"data": {"A": 1, "B": 2}})).unwrap();
        assert_eq!(json!(out.items), json!([{"_a": 1, "data": {"C": 2}}]));
    }

    #[test]
    fn writing_through_a_scalar_fails_naming_the_mapping() {
        let engine = Engine::new().unwrap();
        let settings = json!({"fields": [{"action": "copy", "from": "a", "to": "b.c"}]});
        let step = engine.single_step("t", "transform_model", settings, &Default::default()).unwrap();
        let err = step.run_one(json!({"a": 1, "b": 2})).unwrap_err();
        assert_eq!(err.setting.as_deref(), Some("fields/0"));
    }

    #[test]
    fn every_bad_path_is_reported() {
        let engine = Engine::new().unwrap();
        let definitions: Definitions = serde_json::from_value(json!({"Name": {"type": "string"}})).unwrap();
        let settings = json!({"fields": [{"action": "copy", "from": "data.Nme", "to": "a..b"}]});
        let errors = engine.single_step("t", "transform_model", settings, &definitions).err().unwrap();
        let pointers: Vec<_> = errors.iter().map(|d| d.pointer.as_str()).collect();
        assert_eq!(pointers, ["/settings/fields/0/from", "/settings/fields/0/to"]);
        assert_eq!(errors[0].hint.as_deref(), Some("did you mean data.Name?"));
    }
}
