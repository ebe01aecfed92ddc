//! SQL, template, markup and shell injection strings (`tests/bad-inputs/injection-strings.json`)
//! in every text field that users and builders control — user names and profiles, action-model
//! fields, the client, a component's title, labels and texts — on every store: each is kept and
//! shown verbatim, finds only the user it names, is escaped in HTML mail, is never evaluated, and
//! leaves everything else in the store as it was.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::any::Any;
use std::sync::Arc;

use serde_json::{Value, json};
use sluice::otp::CodeKeys;
use sluice::store::{MemoryStore, Store, User};
use sluice::{Engine, RunContext, RunOptions, Services};
use sluice_store_postgres::PostgresStore;
use sluice_store_postgres::testing::TestSchema;
use sluice_store_sqlite::SqliteStore;

const STRINGS: &str = include_str!("../../../tests/bad-inputs/injection-strings.json");

/// A store, its name, and what keeps it alive (a folder, a schema).
type Tested = (&'static str, Arc<dyn Store>, Box<dyn Any>);

/// Every store this machine has.
fn stores() -> Vec<Tested> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("sluice.db")).unwrap();
    let mut stores: Vec<Tested> =
        vec![("memory", Arc::new(MemoryStore::new()), Box::new(())), ("sqlite", Arc::new(sqlite), Box::new(dir))];
    if let Some(schema) = TestSchema::new("injection") {
        stores.push(("postgres", Arc::new(PostgresStore::open(&schema.url()).unwrap()), Box::new(schema)));
    }
    stores
}

/// A component whose own texts (its title, definitions' titles, a modal's title) are `text`: it finds the user named in the action model, greets them by first name, saves
/// the entry, mails them the note (HTML) and opens a modal.
fn component(text: &str) -> String {
    json!({
        "name": "Injection",
        "title": text,
        "definitions": {
            "UserName": {"type": "string", "required": true, "title": text},
            "Note": {"type": "string", "title": text},
            "Greeting": {"type": "string"}
        },
        "templates": {"Note": {"en": {"subject": "{{ data.Note }}", "body": "<p>{{ _user.firstName }}: {{ data.Note }}</p>"}}},
        "dataflows": [{"name": "Save", "stages": [
            {"name": "Input", "steps": [{"name": "model", "type": "get_action_model"}]},
            {"name": "Work", "steps": [
                {"name": "user", "type": "get_user_info", "source": "model",
                 "settings": {"userName": "data.UserName", "resultField": "_user"}},
                {"name": "script", "type": "execute_script", "source": "user",
                 "settings": {"script": "item.data.Greeting = item._user.firstName + \"|\" + item.data.Note;"}},
                {"name": "save", "type": "update_entry", "source": "script"},
                {"name": "mail", "type": "send_templated_notification", "source": "save",
                 "settings": {"notificationType": "Mail", "template": "Note", "renderType": "Html"}},
                {"name": "modal", "type": "form_action", "source": "mail",
                 "settings": {"actionType": "OpenModal", "title": text, "fields": ["data.Greeting", "data.Note"]}}
            ]}
        ]}]
    })
    .to_string()
}

/// HTML-escaped as minijinja does it.
fn html_escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

#[test]
fn injection_strings_are_kept_as_data_in_every_field_on_every_store() {
    let strings: Vec<String> = serde_json::from_str(STRINGS).unwrap();
    for (store_name, store, _place) in stores() {
        let services =
            Services::new(store.clone(), CodeKeys::from_secret("injection-secret-0123456789abcdef").unwrap());
        let users: Vec<User> = strings
            .iter()
            .enumerate()
            .map(|(i, s)| User {
                first_name: Some(s.clone()),
                email: Some(format!("u{i}@example.com")),
                ..User::new(s)
            })
            .chain([User { first_name: Some("Ann".into()), ..User::new("ann") }])
            .collect();
        store.import_users(&users).unwrap();
        let engine = Engine::builder().services(services).build().unwrap();
        for (s, user) in strings.iter().zip(&users) {
            let at = format!("{store_name}, {s:?}");
            let plan = engine.load("injection.json", component(s).as_bytes()).unwrap_or_else(|e| panic!("{at}: {e}"));
            let cx = RunContext { user: None, client: Some(s.clone()) };
            let outcome = plan
                .run("Save", &json!({"data": {"UserName": s, "Note": s}}), &cx, RunOptions::default())
                .unwrap_or_else(|e| panic!("{at}: {e}"));
            let modal = serde_json::to_value(&outcome.form_actions[0]).unwrap();
            assert_eq!(modal["title"], json!(s), "{at}");
            // The greeting carries the first name of the user found: the one named, no other.
            assert_eq!(modal["parameters"], json!({"Greeting": format!("{s}|{s}"), "Note": s}), "{at}");
            let mail = store.list_messages(Some(&user.id), None, 10).unwrap();
            assert_eq!(mail.len(), 1, "{at}");
            assert_eq!(mail[0].subject, *s, "{at}: a subject is text, kept as it is");
            assert_eq!(mail[0].body, format!("<p>{}: {}</p>", html_escaped(s), html_escaped(s)), "{at}");
        }
        let mut notes: Vec<Value> =
            store.list_entries("Injection").unwrap().into_iter().map(|e| Value::Object(e.data)).collect();
        notes.sort_by_key(|d| d["Note"].to_string());
        let mut expected: Vec<&String> = strings.iter().collect();
        expected.sort_by_key(|s| json!(s).to_string());
        let kept: Vec<&str> = notes.iter().map(|d| d["Note"].as_str().unwrap()).collect();
        assert_eq!(kept, expected, "{store_name}: one entry per string, each verbatim");
        assert_eq!(store.list_users().unwrap().len(), strings.len() + 1, "{store_name}: the users are all there");
    }
}
