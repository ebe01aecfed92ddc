//! `form_action`: records a command for the user interface, such as opening a modal window.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldPath, Group, Item, Localized, SettingLabel, Step, StepContext,
    StepDescriptor, StepError, StepMeta, StepPlugin,
};

/// Settings of `form_action`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FormActionSettings {
    /// What the user interface does.
    pub action_type: ActionType,
    /// The page, component or sidebar to open, or the script method to call. Required for
    /// `OpenPage`, `OpenComponent`, `OpenSidebar` and `ExecuteScript`.
    #[serde(default)]
    pub target: Option<String>,
    /// Title of the modal or sidebar.
    #[serde(default)]
    pub title: Option<String>,
    /// Paths of the fields handed to the user interface, such as `data.ForTestCode`; each
    /// becomes a parameter named after its last segment. Required for `OpenFile` and
    /// `DownloadFile` (the file info field).
    #[serde(default)]
    pub fields: Vec<String>,
}

/// A user-interface command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
pub enum ActionType {
    /// Open a modal window showing `fields`.
    OpenModal,
    /// Navigate to a page of the component.
    OpenPage,
    /// Open another component.
    OpenComponent,
    /// Open a sidebar.
    OpenSidebar,
    /// Call a method of the component script.
    ExecuteScript,
    /// Open a file in a new tab.
    OpenFile,
    /// Download a file.
    DownloadFile,
}

impl ActionType {
    fn needs_target(self) -> bool {
        matches!(self, Self::OpenPage | Self::OpenComponent | Self::OpenSidebar | Self::ExecuteScript)
    }

    fn needs_field(self) -> bool {
        matches!(self, Self::OpenFile | Self::DownloadFile)
    }
}

/// The step type.
pub struct FormAction;

struct Action {
    action_type: ActionType,
    target: Option<String>,
    title: Option<String>,
    fields: Vec<FieldPath>,
}

impl StepPlugin for FormAction {
    type Settings = FormActionSettings;
    const META: StepMeta = StepMeta {
        id: "form_action",
        group: Group::Output,
        calls_outside: false,
        title: Localized {
            en: "Form action",
            fr: "Action de formulaire",
            es: "Acción de formulario",
            pt: "Ação de formulário",
            de: "Formularaktion",
        },
        description: Localized {
            en: "Makes the user interface act, such as opening a modal window; follow it with Write response.",
            fr: "Fait agir l'interface, par exemple ouvrir une fenêtre modale ; faites-la suivre d'Écrire la réponse.",
            es: "Hace actuar a la interfaz, por ejemplo abrir una ventana modal; después use Escribir respuesta.",
            pt: "Faz a interface agir, por exemplo abrir uma janela modal; use depois Escrever resposta.",
            de: "Lässt die Oberfläche handeln, etwa ein modales Fenster öffnen; danach Antwort schreiben verwenden.",
        },
        settings: &[
            SettingLabel {
                name: "actionType",
                label: Localized {
                    en: "Form action type",
                    fr: "Type d'action de formulaire",
                    es: "Tipo de acción de formulario",
                    pt: "Tipo de ação de formulário",
                    de: "Art der Formularaktion",
                },
            },
            SettingLabel {
                name: "target",
                label: Localized { en: "Target", fr: "Cible", es: "Destino", pt: "Destino", de: "Ziel" },
            },
            SettingLabel {
                name: "title",
                label: Localized { en: "Title", fr: "Titre", es: "Título", pt: "Título", de: "Titel" },
            },
            SettingLabel {
                name: "fields",
                label: Localized { en: "Fields", fr: "Champs", es: "Campos", pt: "Campos", de: "Felder" },
            },
        ],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let kind = settings.action_type;
        if kind.needs_target() && settings.target.as_deref().is_none_or(|t| t.trim().is_empty()) {
            return Err(cx.invalid("target", format!("{kind:?} needs a target"), Some("set \"target\"".into())));
        }
        if kind.needs_field() && settings.fields.is_empty() {
            return Err(cx.invalid(
                "fields",
                format!("{kind:?} needs the file info field"),
                Some("list the field that holds the file in \"fields\"".into()),
            ));
        }
        let fields: Vec<_> =
            settings.fields.iter().enumerate().map(|(i, text)| cx.path(&format!("fields/{i}"), text)).collect();
        Ok(BuiltStep::each(Action {
            action_type: kind,
            target: settings.target,
            title: settings.title,
            fields: fields.into_iter().collect::<Result<_, _>>()?,
        }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<FormAction>() }

impl Step for Action {
    fn run(&self, item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let parameters: Map<String, Value> = self
            .fields
            .iter()
            .map(|path| {
                let name = path.segments().last().cloned().unwrap_or_default();
                (name, path.get(&item).cloned().unwrap_or(Value::Null))
            })
            .collect();
        let mut action = json!({"type": self.action_type, "step": cx.step_name(), "parameters": parameters});
        if let Some(target) = &self.target {
            action["target"] = json!(target);
        }
        if let Some(title) = &self.title {
            action["title"] = json!(title);
        }
        cx.form_action(action);
        out.push(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use sluice_core::Engine;

    #[test]
    fn records_an_open_modal_with_the_named_fields() {
        let engine = Engine::new().unwrap();
        let settings = json!({"actionType": "OpenModal", "title": "Your code", "fields": ["data.ForTestCode", "_x"]});
        let step = engine.single_step("modal", "form_action", settings, &Default::default()).unwrap();
        let out = step.run_one(json!({"data": {"ForTestCode": "123456"}})).unwrap();
        assert_eq!(
            out.form_actions,
            [json!({"type": "OpenModal", "step": "modal", "title": "Your code",
                    "parameters": {"ForTestCode": "123456", "_x": null}})]
        );
        assert_eq!(out.items.len(), 1);
    }

    #[test]
    fn refuses_missing_targets_and_fields() {
        let engine = Engine::new().unwrap();
        let build = |s: Value| engine.single_step("a", "form_action", s, &Default::default()).err().unwrap();
        assert_eq!(build(json!({"actionType": "OpenPage"}))[0].pointer, "/settings/target");
        assert_eq!(build(json!({"actionType": "DownloadFile"}))[0].pointer, "/settings/fields");
        assert!(build(json!({"actionType": "OpenWindow"}))[0].message.contains("OpenWindow"));
    }
}
