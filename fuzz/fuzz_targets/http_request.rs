//! Whole HTTP requests to the real router of `sluice serve` (in process, memory store, the
//! ForTestCode component saved): the input is a request in the form of
//! `tests/bad-inputs/requests/` — `METHOD PATH`, header lines, a blank line, the body — where
//! `Authorization: admin` stands for a builder token. No request may panic the server or get a
//! 5xx answer: bad input is the client's error.
#![no_main]

use std::sync::{Arc, LazyLock};

use axum::Router;
use axum::body::Body;
use libfuzzer_sys::fuzz_target;
use sluice::Engine;
use sluice::store::User;
use sluice_server::{AppState, ServerConfig};
use tower::ServiceExt;

const ADMIN: &str = "fuzz-admin-token-0123456789";

static RUNTIME: LazyLock<tokio::runtime::Runtime> =
    LazyLock::new(|| tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime"));

static APP: LazyLock<Router> = LazyLock::new(|| {
    let engine = Engine::new().expect("the engine builds");
    engine.services().store.import_users(&[User::new("ann")]).expect("the user imports");
    let config = ServerConfig { body_limit: 64 << 10, admin_tokens: vec![ADMIN.into()], ..Default::default() };
    let state = Arc::new(AppState::new(Arc::new(engine), &config).expect("the state builds"));
    let app = sluice_server::router(state, &config);
    let component = include_str!("../../examples/for-test-code/component.json");
    let save = axum::http::Request::put("/api/components/ForTestCodeDemo")
        .header("authorization", format!("Bearer {ADMIN}"))
        .body(Body::from(component))
        .expect("a request");
    let saved = RUNTIME.block_on(app.clone().oneshot(save)).expect("an answer");
    assert_eq!(saved.status(), 200, "the example saves");
    app
});

/// The request the bytes describe, when they describe one the HTTP layer could deliver.
fn request(bytes: &[u8]) -> Option<axum::http::Request<Body>> {
    let (head, body) = match bytes.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&bytes[..at], bytes[at + 2..].to_vec()),
        None => (bytes, Vec::new()),
    };
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head.lines();
    let (method, target) = lines.next()?.split_once(' ')?;
    let mut builder = axum::http::Request::builder().method(method).uri(target);
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim_start();
        let value = if value == "admin" { format!("Bearer {ADMIN}") } else { value.to_owned() };
        builder = builder.header(name, value);
    }
    builder.body(Body::from(body)).ok()
}

fuzz_target!(|bytes: &[u8]| {
    let Some(request) = request(bytes) else { return };
    let answer = RUNTIME.block_on(APP.clone().oneshot(request)).expect("the router always answers");
    assert!(!answer.status().is_server_error(), "{} for {:?}", answer.status(), String::from_utf8_lossy(bytes));
});
