//! Timeouts and graceful shutdown, over a real socket.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sluice::{Engine, ScriptLimits};
use sluice_server::{AppState, ServerConfig};

const TOKEN: &str = "lifecycle-admin-token";

/// A component whose dataflow `Busy` saves an entry (so a test sees the run has begun), then
/// spins in a script for about `millis`.
fn busy_component(millis: u64) -> String {
    json!({"name": "Busy", "dataflows": [{"name": "Busy", "stages": [{"name": "S", "steps": [
        {"name": "model", "type": "get_action_model"},
        {"name": "begun", "type": "update_entry", "source": "model"},
        {"name": "spin", "type": "execute_script", "source": "begun",
         "settings": {"script": format!("let end = timestamp(); while end.elapsed < {} {{ }} item.done = true;", millis as f64 / 1000.0)}},
        {"name": "response", "type": "write_response", "source": "spin"}]}]}]})
    .to_string()
}

/// A server on a free port, its runtime, its stop signal, its task, and its engine.
struct Started {
    base: String,
    runtime: tokio::runtime::Runtime,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
    engine: Arc<Engine>,
}

fn start(config: ServerConfig) -> Started {
    let limits = ScriptLimits { max_operations: 0, timeout: Duration::from_secs(5), ..ScriptLimits::default() };
    let engine = Arc::new(Engine::builder().script_limits(limits).build().unwrap());
    let app = sluice_server::router(Arc::new(AppState::new(engine.clone(), &config).unwrap()), &config);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = runtime.spawn(async move {
        sluice_server::serve(listener, app, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    Started { base, runtime, stop, server, engine }
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(ureq::Agent::config_builder().http_status_as_error(false).build())
}

fn put_busy(base: &str, millis: u64) {
    let answer = agent()
        .put(format!("{base}/api/components/Busy"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .send(busy_component(millis));
    assert_eq!(answer.unwrap().status().as_u16(), 200);
}

fn run_busy(base: &str) -> u16 {
    let url = format!("{base}/api/components/Busy/dataflows/Busy/execute");
    let request = agent().post(url).header("authorization", format!("Bearer {TOKEN}"));
    request.header("content-type", "application/json").send("{}").unwrap().status().as_u16()
}

#[test]
fn a_request_over_the_time_limit_gets_408() {
    let config =
        ServerConfig { timeout: Duration::from_millis(200), admin_tokens: vec![TOKEN.into()], ..Default::default() };
    let started = start(config);
    // The run takes 3 s; the answer comes at the 200 ms limit (the bound leaves a slow machine
    // 2.3 s of room and still tells the two apart).
    put_busy(&started.base, 3_000);
    let asked = Instant::now();
    assert_eq!(run_busy(&started.base), 408);
    assert!(asked.elapsed() < Duration::from_millis(2_500), "answered after {:?}, not at the limit", asked.elapsed());
}

#[test]
fn shutdown_finishes_the_requests_in_flight() {
    let config = ServerConfig { admin_tokens: vec![TOKEN.into()], ..Default::default() };
    let Started { base, runtime, stop, server, engine } = start(config);
    put_busy(&base, 600);
    let in_flight = std::thread::spawn({
        let base = base.clone();
        move || run_busy(&base)
    });
    // Stop only once the run has begun (its first write is there): the request is in flight.
    let deadline = Instant::now() + Duration::from_secs(30);
    while engine.services().store.list_entries("Busy").unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the run never began");
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.send(()).unwrap();
    runtime.block_on(server).unwrap();
    // The server's task ends only after the run in flight is over (its record is written
    // before its answer): a server that stopped at once would leave the run spinning here.
    let runs = engine.services().store.list_runs(Some("Busy"), 10).unwrap();
    assert_eq!(runs.len(), 1, "the server stopped before the request in flight was answered");
    assert_eq!(in_flight.join().unwrap(), 200, "the request in flight completes");
    assert!(agent().get(format!("{base}/healthz")).call().is_err(), "no new connections after shutdown");
}
