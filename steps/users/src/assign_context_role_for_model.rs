//! `assign_context_role_for_model`: gives a user roles in a context (a component's name, or
//! `system` for every component). Dataflows with `"access": {"roles": [...]}` admit them.

use serde::Deserialize;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::store::{Role, SYSTEM_CONTEXT};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldOrValue, Group, Item, Localized, SettingLabel, Step, StepContext,
    StepDescriptor, StepError, StepMeta, StepPlugin, ValueSource,
};

use crate::{role_user, user_field};

/// Settings of `assign_context_role_for_model`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AssignContextRoleSettings {
    /// A field holding the user or their id, such as `_user` (from Get user info or Update or
    /// create user info). Default `_user`.
    #[serde(default = "default_user")]
    pub user_id_field: String,
    /// The roles to give, such as `["manager"]`: letters, digits, `_`, `.`, `:` and `-`.
    #[schemars(length(min = 1, max = 32))]
    pub roles: Vec<RoleName>,
    /// Where the roles hold: a component's name (a model path, or `{"value": "Cars"}`).
    /// Default: the `system` context, which holds in every component.
    #[serde(default)]
    pub context: Option<FieldOrValue>,
}

/// A role's name.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct RoleName(#[schemars(pattern(sluice_core::store::ROLE_NAME_PATTERN))] pub String);

pub(crate) fn default_user() -> String {
    "_user".into()
}

/// The step type.
pub struct AssignContextRoleForModel;

struct Assign {
    user: ValueSource,
    roles: Vec<String>,
    context: Option<ValueSource>,
}

/// The labels both role steps share.
pub(crate) const USER_ID_FIELD: SettingLabel = SettingLabel {
    name: "userIdField",
    label: Localized {
        en: "User id field",
        fr: "Champ de l'identifiant utilisateur",
        es: "Campo del id de usuario",
        pt: "Campo do id do usuário",
        de: "Feld der Benutzer-ID",
    },
};
pub(crate) const CONTEXT: SettingLabel = SettingLabel {
    name: "context",
    label: Localized { en: "Context", fr: "Contexte", es: "Contexto", pt: "Contexto", de: "Kontext" },
};

impl StepPlugin for AssignContextRoleForModel {
    type Settings = AssignContextRoleSettings;
    const META: StepMeta = StepMeta {
        id: "assign_context_role_for_model",
        group: Group::Users,
        calls_outside: false,
        title: Localized {
            en: "Assign context role for model",
            fr: "Attribuer un rôle de contexte pour le modèle",
            es: "Asignar rol de contexto para el modelo",
            pt: "Atribuir função de contexto para o modelo",
            de: "Kontextrolle für Modell zuweisen",
        },
        description: Localized {
            en: "Gives a user roles in a context; dataflows that require one of them admit the user.",
            fr: "Donne des rôles à un utilisateur dans un contexte ; les flux de données qui exigent l'un d'eux l'admettent.",
            es: "Da roles a un usuario en un contexto; los flujos de datos que exigen uno de ellos lo admiten.",
            pt: "Dá funções a um usuário num contexto; os fluxos de dados que exigem uma delas o admitem.",
            de: "Gibt einem Benutzer Rollen in einem Kontext; Datenflüsse, die eine davon verlangen, lassen ihn zu.",
        },
        settings: &[
            USER_ID_FIELD,
            SettingLabel {
                name: "roles",
                label: Localized { en: "Roles", fr: "Rôles", es: "Roles", pt: "Funções", de: "Rollen" },
            },
            CONTEXT,
        ],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let user = user_field(&settings.user_id_field, cx);
        let context = settings.context.as_ref().map(|c| cx.value_source("context", c)).transpose();
        let roles = settings.roles.into_iter().map(|r| r.0).collect();
        Ok(BuiltStep::each(Assign { user: user?, roles, context: context? }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<AssignContextRoleForModel>() }

/// The context a role step names, or the system context.
pub(crate) fn context_of(source: Option<&ValueSource>, item: &Item) -> Result<String, StepError> {
    match source {
        None => Ok(SYSTEM_CONTEXT.to_owned()),
        Some(source) => {
            source.resolve(item).ok_or_else(|| StepError::at_setting("context", format!("{source} holds no context")))
        }
    }
}

impl Step for Assign {
    fn run(&self, item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let user = role_user(cx, &self.user, &item)?;
        let context = context_of(self.context.as_ref(), &item)?;
        let roles: Vec<Role> = self.roles.iter().map(|name| Role::new(&context, name)).collect();
        if cx.dry_run() {
            cx.note(format!("dry run: no role was given to \"{}\"", user.user_name));
        } else {
            let granted = cx.services().store.grant_roles(&user.id, &roles)?;
            cx.note(format!("{granted} role(s) given to \"{}\" in {context}", user.user_name));
        }
        out.push(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sluice_core::store::{AccountStore, Role, UserStore};

    use crate::test_support::engine_and_store;

    #[test]
    fn roles_are_given_in_the_system_context_or_a_named_one_and_removed() {
        let (engine, _, store) = engine_and_store();
        let build = |kind: &str, settings| engine.single_step("roles", kind, settings, &Default::default()).unwrap();
        let ann = store.find_user("ann").unwrap().unwrap();
        let item = json!({"_user": {"id": ann.id}, "data": {"Component": "Cars"}});
        let out = build("assign_context_role_for_model", json!({"roles": ["manager", "seller"]})).run_one(item.clone());
        assert_eq!(out.unwrap().notes, ["2 role(s) given to \"ann\" in system"]);
        let cars = build("assign_context_role_for_model", json!({"roles": ["seller"], "context": "data.Component"}));
        cars.run_one(item.clone()).unwrap();
        let held = store.roles(&ann.id).unwrap();
        assert_eq!(held, [Role::new("Cars", "seller"), Role::new("system", "manager"), Role::new("system", "seller")]);
        let remove = build("remove_assigned_roles_for_user", json!({"context": {"value": "system"}}));
        assert_eq!(remove.run_one(item.clone()).unwrap().notes, ["2 role(s) of \"ann\" removed"]);
        let all = build("remove_assigned_roles_for_user", json!({}));
        assert_eq!(all.run_one(item).unwrap().notes, ["1 role(s) of \"ann\" removed"]);
        assert!(store.roles(&ann.id).unwrap().is_empty());
    }

    #[test]
    fn a_missing_user_and_a_bad_role_name_are_clear_errors() {
        let (engine, ..) = engine_and_store();
        let step = engine
            .single_step("roles", "assign_context_role_for_model", json!({"roles": ["manager"]}), &Default::default())
            .unwrap();
        let err = step.run_one(json!({"_user": null})).unwrap_err();
        assert!(err.message.contains("the field _user names no user"), "{err:?}");
        let bad = engine.single_step(
            "roles",
            "assign_context_role_for_model",
            json!({"roles": ["a b"]}),
            &Default::default(),
        );
        assert!(bad.err().unwrap()[0].pointer.ends_with("/settings/roles/0"));
    }
}
