//! `get_user_info`: loads a user's data (name, e-mail, phone, names, locale) into the item.

use serde::Deserialize;
use serde_json::Value;
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldOrValue, FieldPath, Group, Item, Localized, SettingLabel, Step,
    StepContext, StepDescriptor, StepError, StepMeta, StepPlugin, ValueSource, labels,
};

use crate::find_user;

/// Settings of `get_user_info`. Set exactly one of `fromRequest`, `userName` and `userInfoField`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GetUserInfoSettings {
    /// Take the user who called the dataflow. When the platform runs it (no calling user),
    /// the result is `null`.
    #[serde(default)]
    pub from_request: bool,
    /// The user's system name or id: a model path such as `data.UserName`, or `{"value": "ann"}`.
    #[serde(default)]
    pub user_name: Option<FieldOrValue>,
    /// A field holding a reference (the id) of the user, such as `data.creatorSubject`.
    #[serde(default)]
    pub user_info_field: Option<String>,
    /// Where the user's data goes, with the roles they hold (`[{"context", "name"}]`); `null`
    /// when the user is unknown. Default `_user`.
    #[serde(default = "default_result")]
    pub result_field: String,
}

fn default_result() -> String {
    "_user".into()
}

/// The step type.
pub struct GetUserInfo;

enum Who {
    Caller,
    Named(ValueSource),
}

struct Lookup {
    who: Who,
    result: FieldPath,
}

impl StepPlugin for GetUserInfo {
    type Settings = GetUserInfoSettings;
    const META: StepMeta = StepMeta {
        id: "get_user_info",
        group: Group::Users,
        calls_outside: false,
        title: Localized {
            en: "Get user info",
            fr: "Obtenir les informations de l'utilisateur",
            es: "Obtener información del usuario",
            pt: "Obter informações do usuário",
            de: "Benutzerinformationen abrufen",
        },
        description: Localized {
            en: "Loads a user's data (e-mail, phone, names) for the calling user or a given user.",
            fr: "Charge les données d'un utilisateur (e-mail, téléphone, noms) pour l'utilisateur appelant ou un utilisateur donné.",
            es: "Carga los datos de un usuario (correo, teléfono, nombres) del usuario que llama o de un usuario dado.",
            pt: "Carrega os dados de um usuário (e-mail, telefone, nomes) do usuário que chama ou de um usuário indicado.",
            de: "Lädt die Daten eines Benutzers (E-Mail, Telefon, Namen) für den aufrufenden oder einen angegebenen Benutzer.",
        },
        settings: &[
            SettingLabel {
                name: "fromRequest",
                label: Localized {
                    en: "Get user info from request",
                    fr: "Obtenir les informations de l'utilisateur depuis la requête",
                    es: "Obtener información del usuario de la solicitud",
                    pt: "Obter informações do usuário da solicitação",
                    de: "Benutzerinformationen aus der Anfrage abrufen",
                },
            },
            labels::USER_NAME,
            labels::USER_INFO_FIELD,
            labels::RESULT_FIELD,
        ],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let result = cx.result_path("resultField", &settings.result_field);
        let who = match (settings.from_request, &settings.user_name, &settings.user_info_field) {
            (true, None, None) => Ok(Who::Caller),
            (false, Some(name), None) => cx.value_source("userName", name).map(Who::Named),
            (false, None, Some(field)) => cx.path("userInfoField", field).map(|p| Who::Named(ValueSource::Field(p))),
            _ => Err(cx.invalid(
                "",
                "say whose info to get with exactly one of fromRequest, userName and userInfoField",
                Some("for the calling user set \"fromRequest\": true".into()),
            )),
        };
        Ok(BuiltStep::each(Lookup { who: who?, result: result? }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<GetUserInfo>() }

impl Step for Lookup {
    fn run(&self, mut item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let key = match &self.who {
            Who::Caller => cx.run().user.clone(),
            Who::Named(source) => source.resolve(&item),
        };
        let user = find_user(cx, key.as_deref())?;
        let value = user.map_or(Value::Null, |u| u.to_item_value());
        self.result.set(&mut item, value).map_err(|e| StepError::at_setting("resultField", e))?;
        out.push(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;
    use sluice_core::store::{MemoryStore, User};
    use sluice_core::{Engine, RunContext, Services, SingleStep, otp::CodeKeys};

    fn engine() -> Engine {
        let store = MemoryStore::new();
        sluice_core::store::UserStore::import_users(
            &store,
            &[User {
                id: "11111111-1111-4111-8111-111111111111".into(),
                email: Some("ann@example.com".into()),
                locale: Some("fr".into()),
                password_hash: Some("$argon2id$secret".into()),
                ..User::new("Ann")
            }],
        )
        .unwrap();
        let manager = [sluice_core::store::Role::new("system", "manager")];
        sluice_core::store::AccountStore::grant_roles(&store, "11111111-1111-4111-8111-111111111111", &manager)
            .unwrap();
        let keys = CodeKeys::from_secret("0123456789abcdef0123456789abcdef").unwrap();
        Engine::builder().services(Services::new(Arc::new(store), keys)).build().unwrap()
    }

    fn step(engine: &Engine, settings: serde_json::Value) -> SingleStep {
        engine.single_step("user", "get_user_info", settings, &Default::default()).unwrap()
    }

    #[test]
    fn finds_a_user_by_name_any_case_or_id_without_the_password_hash() {
        let engine = engine();
        let by_name = step(&engine, json!({"userName": "data.UserName"}));
        let out = by_name.run_one(json!({"data": {"UserName": "ANN"}})).unwrap();
        let user = &out.items[0]["_user"];
        assert_eq!(user["email"], "ann@example.com");
        assert_eq!(user["roles"], json!([{"context": "system", "name": "manager"}]));
        assert_eq!(user["locale"], "fr");
        assert!(user.get("passwordHash").is_none() && !user.to_string().contains("argon2"));
        let by_id = step(&engine, json!({"userInfoField": "data.creatorSubject", "resultField": "who"}));
        let out = by_id.run_one(json!({"data": {"creatorSubject": "11111111-1111-4111-8111-111111111111"}})).unwrap();
        assert_eq!(out.items[0]["who"]["userName"], "Ann");
        let literal = step(&engine, json!({"userName": {"value": "ann"}}));
        assert_eq!(literal.run_one(json!({})).unwrap().items[0]["_user"]["userName"], "Ann");
    }

    #[test]
    fn an_unknown_user_or_no_calling_user_gives_null() {
        let engine = engine();
        let out = step(&engine, json!({"userName": "data.UserName"})).run_one(json!({"data": {"UserName": "zed"}}));
        assert_eq!(out.unwrap().items[0]["_user"], json!(null));
        let caller = step(&engine, json!({"fromRequest": true}));
        assert_eq!(caller.run_one(json!({})).unwrap().items[0]["_user"], json!(null));
        let run = RunContext { user: Some("ann".into()), client: None };
        let item = json!({}).as_object().unwrap().clone();
        assert_eq!(caller.run(&json!(null), vec![item], &run).unwrap().items[0]["_user"]["userName"], "Ann");
    }

    #[test]
    fn exactly_one_way_to_name_the_user_is_required() {
        let engine = engine();
        for settings in [json!({}), json!({"fromRequest": true, "userName": "data.U"})] {
            let err = engine.single_step("user", "get_user_info", settings, &Default::default()).err().unwrap();
            assert!(err[0].message.contains("exactly one of fromRequest, userName and userInfoField"), "{err:?}");
        }
    }
}
