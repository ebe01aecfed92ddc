//! `remove_assigned_roles_for_user`: takes a user's roles away: all of them (Aqtra's reset) or
//! those of one context.

use serde::Deserialize;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldOrValue, Group, Item, Localized, Step, StepContext, StepDescriptor,
    StepError, StepMeta, StepPlugin, ValueSource,
};

use crate::assign_context_role_for_model::{CONTEXT, USER_ID_FIELD, context_of, default_user};
use crate::{role_user, user_field};

/// Settings of `remove_assigned_roles_for_user`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RemoveAssignedRolesSettings {
    /// A field holding the user or their id, such as `_user` (from Get user info). Default
    /// `_user`.
    #[serde(default = "default_user")]
    pub user_id_field: String,
    /// Remove only the roles of this context (a component's name or `system`): a model path or
    /// `{"value": "Cars"}`. Default: every role of the user.
    #[serde(default)]
    pub context: Option<FieldOrValue>,
}

/// The step type.
pub struct RemoveAssignedRolesForUser;

struct Remove {
    user: ValueSource,
    context: Option<ValueSource>,
}

impl StepPlugin for RemoveAssignedRolesForUser {
    type Settings = RemoveAssignedRolesSettings;
    const META: StepMeta = StepMeta {
        id: "remove_assigned_roles_for_user",
        group: Group::Users,
        calls_outside: false,
        title: Localized {
            en: "Remove assigned roles for user",
            fr: "Retirer les rôles attribués à l'utilisateur",
            es: "Quitar los roles asignados al usuario",
            pt: "Remover as funções atribuídas ao usuário",
            de: "Zugewiesene Rollen des Benutzers entfernen",
        },
        description: Localized {
            en: "Takes a user's roles away: all of them, or those of one context.",
            fr: "Retire les rôles d'un utilisateur : tous, ou ceux d'un contexte.",
            es: "Quita los roles de un usuario: todos, o los de un contexto.",
            pt: "Remove as funções de um usuário: todas, ou as de um contexto.",
            de: "Entzieht einem Benutzer seine Rollen: alle oder die eines Kontexts.",
        },
        settings: &[USER_ID_FIELD, CONTEXT],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let user = user_field(&settings.user_id_field, cx);
        let context = settings.context.as_ref().map(|c| cx.value_source("context", c)).transpose();
        Ok(BuiltStep::each(Remove { user: user?, context: context? }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<RemoveAssignedRolesForUser>() }

impl Step for Remove {
    fn run(&self, item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let user = role_user(cx, &self.user, &item)?;
        let context = self.context.as_ref().map(|c| context_of(Some(c), &item)).transpose()?;
        if cx.dry_run() {
            cx.note(format!("dry run: no role of \"{}\" was removed", user.user_name));
        } else {
            let removed = cx.services().store.revoke_roles(&user.id, context.as_deref())?;
            cx.note(format!("{removed} role(s) of \"{}\" removed", user.user_name));
        }
        out.push(item);
        Ok(())
    }
}
