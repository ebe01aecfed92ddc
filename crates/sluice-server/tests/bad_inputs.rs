//! The HTTP part of the bad-input corpus, over a real socket on every store: each action model
//! of `tests/bad-inputs/action-models/` is posted to `execute`, and each request of
//! `tests/bad-inputs/requests/` is sent as written; every one is answered exactly as its
//! snapshot says — the same on each store, never a 500, never a panic.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Server;
use serde_json::Value;
use sluice::setup::{Secrets, open};
use sluice_store_postgres::testing::TestSchema;

const TARGET: &str = include_str!("../../../tests/bad-inputs/action-model-target.json");
const EXECUTE: &str = "/api/components/BadInputs/dataflows/Save/execute";

/// A server on each store this machine has, the target component saved on it. Password-only
/// sessions are on, so that the corpus reaches `POST /api/session`'s own checks (off, it
/// answers every request 403 before reading it: `attacks.rs`).
fn servers() -> Vec<(&'static str, Server, Box<dyn std::any::Any>)> {
    let start = |services| Server::start_configured(services, |c| c.password_sessions = true);
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite:{}", dir.path().join("sluice.db").display());
    let secrets = Secrets { current: Some("bad-inputs-secret-0123456789abcdef".into()), previous: vec![] };
    let mut servers: Vec<(&str, Server, Box<dyn std::any::Any>)> = vec![
        ("memory", start(open("memory:", &secrets).unwrap()), Box::new(())),
        ("sqlite", start(open(&sqlite, &secrets).unwrap()), Box::new(dir)),
    ];
    if let Some(schema) = TestSchema::new("bad_inputs") {
        servers.push(("postgres", start(open(&schema.url(), &secrets).unwrap()), Box::new(schema)));
    }
    for (store, server, _) in &servers {
        let saved = server.admin("PUT", "/api/components/BadInputs", Some(TARGET));
        assert_eq!(saved.status, 200, "{store}: {}", saved.text);
    }
    servers
}

/// The answer as the snapshot shows it: status, then the body with ids replaced by `[id]`.
fn shown(status: u16, body: &Value, text: &str) -> String {
    fn hide_ids(value: &mut Value) {
        match value {
            Value::String(s) if uuid_like(s) => *s = "[id]".into(),
            Value::String(s) if s.len() > 1000 => {
                *s = format!("{}… ({} characters)", s.chars().take(40).collect::<String>(), s.chars().count())
            }
            Value::Array(items) => items.iter_mut().for_each(hide_ids),
            Value::Object(map) => map.values_mut().for_each(hide_ids),
            _ => {}
        }
    }
    if body.is_null() {
        return format!("{status}\n{text}");
    }
    let mut body = body.clone();
    hide_ids(&mut body);
    format!("{status}\n{}", serde_json::to_string_pretty(&body).unwrap())
}

/// What `ask` gets from the server on each store, as the snapshot shows it: never a 5xx, and
/// the same on every store (the first one's is returned).
fn answer_on_every_store(
    servers: &[(&'static str, Server, Box<dyn std::any::Any>)],
    input: &std::path::Path,
    ask: impl Fn(&str, &Server) -> common::Answer,
) -> String {
    let answers: Vec<(&str, String)> = servers
        .iter()
        .map(|(store, server, _)| {
            let answer = ask(store, server);
            assert!(answer.status < 500, "{store}: {} {}", answer.status, answer.text);
            (*store, shown(answer.status, &answer.body, &answer.text))
        })
        .collect();
    for (store, answer) in &answers[1..] {
        assert_eq!(answer, &answers[0].1, "{store} answers {} differently from memory", input.display());
    }
    answers.into_iter().next().map(|(_, answer)| answer).unwrap()
}

fn uuid_like(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() })
}

#[test]
fn every_bad_action_model_gets_its_answer_on_every_store() {
    let servers = servers();
    let mut count = 0;
    let mut saved_notes = Vec::new();
    insta::glob!("../../../tests/bad-inputs", "action-models/*", |path| {
        count += 1;
        let bytes = std::fs::read(path).unwrap();
        let answer = answer_on_every_store(&servers, path, |store, server| {
            let answer = server.call("POST", EXECUTE, None, Some(&bytes));
            // Sent without a credential first: bad input is no way around authentication.
            assert_eq!(answer.status, 401, "{store}: {}", answer.text);
            server.call("POST", EXECUTE, Some(common::ADMIN), Some(&bytes))
        });
        if answer.starts_with("200") {
            let sent: Value = serde_json::from_slice(&bytes).unwrap();
            saved_notes.push(sent["data"]["Note"].clone());
        }
        insta::assert_snapshot!(answer);
    });
    assert!(count >= 30, "the corpus has {count} action models");
    // Nothing that was refused left an entry behind; what was accepted is there, verbatim.
    saved_notes.sort_by_key(Value::to_string);
    for (store, server, _) in &servers {
        let mut notes: Vec<Value> = server
            .services
            .store
            .list_entries("BadInputs")
            .unwrap()
            .into_iter()
            .map(|e| e.data.get("Note").cloned().unwrap_or(Value::Null))
            .collect();
        notes.sort_by_key(Value::to_string);
        assert_eq!(notes, saved_notes, "{store}");
    }
}

/// A request of the corpus.
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

/// A request file: `METHOD PATH`, header lines (`Authorization: admin` stands for the builder
/// token), then a blank line and the body's bytes, if any.
fn read_request(bytes: &[u8]) -> Request {
    let split = bytes.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match split {
        Some(at) => (&bytes[..at], Some(bytes[at + 2..].to_vec())),
        None => (bytes, None),
    };
    let head = std::str::from_utf8(head).unwrap();
    let mut lines = head.lines();
    let (method, path) = lines.next().unwrap().split_once(' ').unwrap();
    let headers = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (name, value) = l.split_once(':').unwrap();
            let value = value.strip_prefix(' ').unwrap_or(value);
            let value = if value == "admin" { format!("Bearer {}", common::ADMIN) } else { value.to_owned() };
            (name.to_owned(), value)
        })
        .collect();
    Request { method: method.to_owned(), target: path.to_owned(), headers, body }
}

#[test]
fn every_bad_request_gets_its_answer_on_every_store() {
    let servers = servers();
    let mut count = 0;
    insta::glob!("../../../tests/bad-inputs", "requests/*.http", |path| {
        count += 1;
        let request = read_request(&std::fs::read(path).unwrap());
        let answer = answer_on_every_store(&servers, path, |_, server| {
            server.send(&request.method, &request.target, &request.headers, request.body.as_deref())
        });
        insta::assert_snapshot!(answer);
    });
    assert!(count >= 30, "the corpus has {count} requests");
}
