//! `execute_api_call`: calls a connector the operator declared (an SMS gateway, say) and keeps
//! its answer. The dataflow names the connector and a path under it; the address, the secrets
//! and the limits are the operator's.

use serde::Deserialize;
use serde_json::Value;
use sluice_core::connectors::{ApiRequest, Method, relative_path};
use sluice_core::schemars::{self, JsonSchema};
use sluice_core::{
    BuildContext, BuildError, BuiltStep, FieldPath, Group, Item, Localized, ModelMapping, SettingLabel, Step,
    StepContext, StepDescriptor, StepError, StepMeta, StepPlugin, labels,
};

/// Settings of `execute_api_call`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExecuteApiCallSettings {
    /// The connector called, as the operator declared it (`sluice serve --connectors FILE`).
    #[schemars(length(min = 1))]
    pub connector: String,
    /// The HTTP method ("Method name"): `GET`, `POST` (the default), `PUT` or `DELETE`.
    #[serde(default)]
    pub method: Method,
    /// The path under the connector's base URL ("Query path"), such as `messages`; it cannot
    /// leave the base URL.
    #[serde(default)]
    pub path: String,
    /// Query parameters: each a name and the model path of its value ("Parameters mapping").
    #[serde(default)]
    pub query: Vec<Parameter>,
    /// The JSON body: each maps a model path to a path in the body (`{"from": "_user.phone",
    /// "to": "to"}`). Empty: no body.
    #[serde(default)]
    pub body_mapping: Vec<BodyField>,
    /// Where the answer goes: `{"status": 200, "body": …}`. Default `_response`.
    #[serde(default = "default_result")]
    pub result_field: String,
}

/// A query parameter.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// The parameter's name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// The model path of its value, such as `data.Phone`.
    pub from: String,
}

/// One field of the body.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BodyField {
    /// The model path of the value.
    pub from: String,
    /// Its path in the body, such as `message.text`.
    pub to: String,
}

fn default_result() -> String {
    "_response".into()
}

/// The step type.
pub struct ExecuteApiCall;

struct Call {
    connector: String,
    method: Method,
    path: String,
    query: Vec<(String, FieldPath)>,
    body: ModelMapping,
    result: FieldPath,
}

impl StepPlugin for ExecuteApiCall {
    type Settings = ExecuteApiCallSettings;
    const META: StepMeta = StepMeta {
        id: "execute_api_call",
        group: Group::Output,
        calls_outside: true,
        title: Localized {
            en: "Execute API call",
            fr: "Exécuter un appel d'API",
            es: "Ejecutar llamada a API",
            pt: "Executar chamada de API",
            de: "API-Aufruf ausführen",
        },
        description: Localized {
            en: "Calls a connector the operator declared with JSON built from the item, and keeps the answer.",
            fr: "Appelle un connecteur déclaré par l'exploitant avec un JSON construit à partir de l'élément, et garde la réponse.",
            es: "Llama a un conector declarado por el operador con un JSON construido a partir del elemento y guarda la respuesta.",
            pt: "Chama um conector declarado pelo operador com um JSON construído a partir do item e guarda a resposta.",
            de: "Ruft einen vom Betreiber deklarierten Konnektor mit aus dem Element gebautem JSON auf und behält die Antwort.",
        },
        settings: &[
            SettingLabel {
                name: "connector",
                label: Localized { en: "Connector", fr: "Connecteur", es: "Conector", pt: "Conector", de: "Konnektor" },
            },
            SettingLabel {
                name: "method",
                label: Localized {
                    en: "Method name",
                    fr: "Nom de la méthode",
                    es: "Nombre del método",
                    pt: "Nome do método",
                    de: "Methodenname",
                },
            },
            SettingLabel {
                name: "path",
                label: Localized {
                    en: "Query path",
                    fr: "Chemin de la requête",
                    es: "Ruta de la consulta",
                    pt: "Caminho da consulta",
                    de: "Abfragepfad",
                },
            },
            SettingLabel {
                name: "query",
                label: Localized {
                    en: "Parameters mapping",
                    fr: "Correspondance des paramètres",
                    es: "Asignación de parámetros",
                    pt: "Mapeamento de parâmetros",
                    de: "Parameterzuordnung",
                },
            },
            SettingLabel {
                name: "bodyMapping",
                label: Localized {
                    en: "Body mapping",
                    fr: "Correspondance du corps",
                    es: "Asignación del cuerpo",
                    pt: "Mapeamento do corpo",
                    de: "Zuordnung des Inhalts",
                },
            },
            labels::RESULT_FIELD,
        ],
    };

    fn build(settings: Self::Settings, cx: &mut BuildContext<'_>) -> Result<BuiltStep, BuildError> {
        let mut failed = relative_path(&settings.path).err().map(|why| {
            cx.invalid(
                "path",
                why,
                Some("write a path such as messages or v1/sms; the address is the connector's".into()),
            )
        });
        let mut query = Vec::new();
        for (i, parameter) in settings.query.iter().enumerate() {
            match cx.path(&format!("query/{i}/from"), &parameter.from) {
                Ok(path) => query.push((parameter.name.clone(), path)),
                Err(e) => failed = Some(e),
            }
        }
        let body = cx.model_mapping("bodyMapping", settings.body_mapping.iter().map(|f| (&*f.from, &*f.to)));
        let result = cx.result_path("resultField", &settings.result_field);
        if let Some(e) = failed {
            return Err(e);
        }
        Ok(BuiltStep::each(Call {
            connector: settings.connector,
            method: settings.method,
            path: settings.path,
            query,
            body: body?,
            result: result?,
        }))
    }
}

sluice_core::inventory::submit! { StepDescriptor::of::<ExecuteApiCall>() }

/// A value as a query parameter's text.
fn as_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Call {
    fn request(&self, item: &Item) -> Result<ApiRequest, StepError> {
        let query =
            self.query.iter().map(|(name, from)| (name.clone(), as_text(from.get(item).unwrap_or(&Value::Null))));
        let body = if self.body.is_empty() { None } else { Some(Value::Object(self.body.model_of(item)?)) };
        Ok(ApiRequest { method: self.method, path: self.path.clone(), query: query.collect(), body })
    }
}

impl Step for Call {
    fn run(&self, mut item: Item, cx: &mut StepContext<'_>, out: &mut Vec<Item>) -> Result<(), StepError> {
        let connectors = cx.services().connectors.clone();
        let Some(connector) = connectors.get(&self.connector).cloned() else {
            let declared = connectors.names();
            let known = if declared.is_empty() { "none is declared".to_owned() } else { declared.join(", ") };
            return Err(StepError::at_setting(
                "connector",
                format!(
                    "no connector named \"{}\" is declared here ({known}; sluice serve --connectors FILE)",
                    self.connector
                ),
            ));
        };
        let request = self.request(&item)?;
        if cx.dry_run() {
            cx.note(format!("dry run: {} {} was not called", request.method.name(), connector.url_of(&request.path)));
            out.push(item);
            return Ok(());
        }
        // The step's own retry and timeout, else the connector's.
        let rules = if cx.outside_rules().is_default() { connector.calls.clone() } else { cx.outside_rules().clone() };
        let client = connectors.client().clone();
        let answer = cx
            .call_outside_with(&rules, move || client.call(&connector, &request))
            .map_err(|why| StepError::at_setting("connector", why))?;
        let value = serde_json::json!({"status": answer.status, "body": answer.body});
        self.result.set(&mut item, value).map_err(|e| StepError::at_setting("resultField", e))?;
        out.push(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{Value, json};
    use sluice_core::connectors::{Connectors, parse_connectors};
    use sluice_core::{Engine, Services};
    use sluice_delivery::api::HttpApi;
    use sluice_delivery::testing::ApiServer;

    /// An engine whose connector `sms` points at `server`, sending a secret header.
    fn engine_calling(server: &ApiServer, retry: &str) -> Engine {
        let file = format!(
            r#"{{"sms": {{"baseUrl": "{}api", "headers": {{"Authorization": {{"env": "TOKEN", "prefix": "Bearer "}}}},
                "timeout": "2s", "retry": {retry}}}}}"#,
            server.url
        );
        let declared = parse_connectors(&file, |_| Some("t0ken".into())).unwrap();
        let services =
            Services::in_memory().unwrap().with_connectors(Connectors::new(declared, Arc::new(HttpApi::default())));
        Engine::builder().services(services).build().unwrap()
    }

    fn settings() -> Value {
        json!({"connector": "sms", "path": "messages", "query": [{"name": "priority", "from": "data.Priority"}],
               "bodyMapping": [{"from": "data.Phone", "to": "to"}, {"from": "data.Text", "to": "message.text"}]})
    }

    fn item() -> Value {
        json!({"data": {"Phone": "+33612345678", "Text": "Your code is 123456", "Priority": 1}})
    }

    #[test]
    fn posts_json_to_the_declared_connector_and_keeps_the_answer() {
        let server = ApiServer::start(vec![(201, json!({"id": "m-1"}))]);
        let engine = engine_calling(&server, r#"{"attempts": 1}"#);
        let step = engine.single_step("sms", "execute_api_call", settings(), &Default::default()).unwrap();
        let out = step.run_one(item()).unwrap();
        assert_eq!(out.items[0]["_response"], json!({"status": 201, "body": {"id": "m-1"}}));
        let received = server.received();
        assert_eq!((received[0].method.as_str(), received[0].target.as_str()), ("POST", "/api/messages?priority=1"));
        assert_eq!(received[0].body, json!({"to": "+33612345678", "message": {"text": "Your code is 123456"}}));
        assert!(received[0].headers.contains(&("authorization".into(), "Bearer t0ken".into())));
    }

    #[test]
    fn every_method_sends_the_headers_and_query_and_only_put_and_post_a_body() {
        for method in ["GET", "PUT", "DELETE"] {
            let server = ApiServer::start(vec![(200, json!({}))]);
            let engine = engine_calling(&server, r#"{"attempts": 1}"#);
            let mut settings = settings();
            settings["method"] = json!(method);
            let step = engine.single_step("sms", "execute_api_call", settings, &Default::default()).unwrap();
            step.run_one(item()).unwrap();
            let received = &server.received()[0];
            assert_eq!((received.method.as_str(), received.target.as_str()), (method, "/api/messages?priority=1"));
            assert!(received.headers.contains(&("authorization".into(), "Bearer t0ken".into())), "{method}");
            // The test server keeps a request without a body as an empty text.
            let body = if method == "PUT" {
                json!({"to": "+33612345678", "message": {"text": "Your code is 123456"}})
            } else {
                json!("")
            };
            assert_eq!(received.body, body, "{method}");
        }
    }

    #[test]
    fn a_busy_connector_is_tried_again_and_a_refusal_is_not() {
        let server = ApiServer::start(vec![(503, json!({})), (429, json!({})), (200, json!({"ok": true}))]);
        let engine = engine_calling(&server, r#"{"attempts": 3, "delay": 0}"#);
        let step = engine.single_step("sms", "execute_api_call", settings(), &Default::default()).unwrap();
        let out = step.run_one(item()).unwrap();
        assert_eq!(out.items[0]["_response"]["body"], json!({"ok": true}));
        assert_eq!(server.received().len(), 3);
        assert_eq!(out.notes.len(), 2, "{:?}", out.notes);

        let refusing = ApiServer::start(vec![(400, json!({"error": "bad number"}))]);
        let engine = engine_calling(&refusing, r#"{"attempts": 3, "delay": 0}"#);
        let step = engine.single_step("sms", "execute_api_call", settings(), &Default::default()).unwrap();
        let err = step.run_one(item()).unwrap_err();
        assert!(err.message.contains("answered 400: {\"error\":\"bad number\"}"), "{}", err.message);
        assert_eq!(refusing.received().len(), 1, "a refusal is not tried again");
    }

    #[test]
    fn only_declared_connectors_and_paths_under_them_are_called() {
        let server = ApiServer::start(vec![(200, json!({}))]);
        let engine = engine_calling(&server, r#"{"attempts": 1}"#);
        let unknown = json!({"connector": "mail"});
        let err = engine.single_step("x", "execute_api_call", unknown, &Default::default()).unwrap().run_one(item());
        assert_eq!(
            err.unwrap_err().message,
            "no connector named \"mail\" is declared here (sms; sluice serve --connectors FILE)"
        );
        for path in ["https://evil.example/", "../admin", "//evil.example"] {
            let problems = engine
                .single_step("x", "execute_api_call", json!({"connector": "sms", "path": path}), &Default::default())
                .err()
                .unwrap();
            assert_eq!(problems[0].pointer, "/settings/path", "{path}");
        }
        assert!(server.received().is_empty());
    }
}
