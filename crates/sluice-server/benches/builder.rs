//! The builder page's two figures (issue 23), on loopback against an in-process server:
//! - validating a 1,000-step component: `POST /api/validate` over a real socket, and the same
//!   call made by the page itself (`fetch` in Chromium, JSON written by the browser);
//! - the page's first drawing of a 20-step component: from navigation start to the
//!   `sluice:component-drawn` mark the page sets once the canvas holds the component (the
//!   token check, the schema, the catalog, the list and the component fetched, the canvas and
//!   drawer drawn), cold (first load of the browser) and warm.
//!
//! `cargo bench -p sluice-server --bench builder` (needs `chromium` and `chromedriver` for the
//! page's figures; without them it says so and gives the socket figure alone).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sluice::Engine;
use sluice_server::{AppState, ServerConfig};
use thirtyfour::prelude::*;

const TOKEN: &str = "builder-bench-token-0123456789";
const ROUNDS: usize = 30;

/// A component of one dataflow: an action model, `steps - 2` scripts and a response, in
/// stages of ten steps.
fn component(name: &str, steps: usize) -> Value {
    let mut all = vec![json!({"name": "model", "type": "get_action_model"})];
    for i in 1..steps - 1 {
        let source = if i == 1 { "model".to_owned() } else { format!("s{}", i - 1) };
        all.push(json!({"name": format!("s{i}"), "type": "execute_script", "source": source,
                        "settings": {"script": "item.data.n += 1;"}}));
    }
    all.push(json!({"name": "response", "type": "write_response", "source": format!("s{}", steps - 2)}));
    let stages: Vec<Value> = all
        .chunks(10)
        .enumerate()
        .map(|(i, steps)| json!({"name": format!("Stage{}", i + 1), "steps": steps}))
        .collect();
    json!({"name": name, "definitions": {"n": {"type": "integer"}}, "dataflows": [{"name": "Main", "stages": stages}]})
}

/// Median and maximum of `samples`, in milliseconds.
fn summary(mut samples: Vec<f64>) -> String {
    samples.sort_by(f64::total_cmp);
    format!(
        "median {:.1} ms, max {:.1} ms ({} rounds)",
        samples[samples.len() / 2],
        samples[samples.len() - 1],
        samples.len()
    )
}

fn main() {
    let services = sluice::Services::in_memory().unwrap();
    services.store.save_component("Twenty", &component("Twenty", 20).to_string(), 0, None).unwrap();
    let engine = Arc::new(Engine::builder().services(services).build().unwrap());
    let config = ServerConfig { admin_tokens: vec![TOKEN.to_owned()], ..ServerConfig::default() };
    let app = sluice_server::router(Arc::new(AppState::new(engine, &config).unwrap()), &config);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    runtime.spawn(sluice_server::serve(listener, app, std::future::pending()));

    let thousand = component("Thousand", 1000).to_string();
    let agent = ureq::Agent::new_with_config(ureq::Agent::config_builder().http_status_as_error(false).build());
    let validate = || {
        let started = Instant::now();
        let answer = agent
            .post(format!("{base}/api/validate"))
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("content-type", "application/json")
            .send(thousand.as_bytes())
            .unwrap();
        assert_eq!(answer.status(), 200, "the 1,000-step component is valid");
        started.elapsed().as_secs_f64() * 1000.0
    };
    validate();
    let socket: Vec<f64> = (0..ROUNDS).map(|_| validate()).collect();
    println!("validate, 1,000 steps, over the socket: {}", summary(socket));

    let found = Command::new("chromedriver").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success());
    if !found {
        println!("!!! SKIPPED the page's figures: chromedriver is missing (apt-get install chromium chromium-driver)");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    runtime.block_on(async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut caps = DesiredCapabilities::chrome();
        caps.set_headless().unwrap();
        caps.set_no_sandbox().unwrap();
        caps.set_disable_dev_shm_usage().unwrap();
        caps.add_arg("--window-size=1280,800").unwrap();
        let browser = WebDriver::new(format!("http://127.0.0.1:{port}"), caps).await.unwrap();
        browser.goto(format!("{base}/builder")).await.unwrap();
        browser.execute(&format!("sessionStorage.setItem('sluiceBuilderToken', '{TOKEN}')"), vec![]).await.unwrap();
        let mut paints = Vec::new();
        for _ in 0..ROUNDS {
            browser.goto(format!("{base}/builder?component=Twenty&dataflow=Main&lang=en")).await.unwrap();
            browser.query(By::Css("[data-step='response']")).first().await.unwrap();
            let mark = "return performance.getEntriesByName('sluice:component-drawn')[0]?.startTime ?? null";
            let at: Option<f64> = browser.execute(mark, vec![]).await.unwrap().convert().unwrap();
            paints.push(at.expect("the page set its mark"));
        }
        println!("first drawing of a 20-step component: cold {:.1} ms; {}", paints[0], summary(paints[1..].to_vec()));
        // The page's own call: the browser writes the JSON and reads the answer.
        let script = "const done = arguments[1]; const doc = JSON.parse(arguments[0]); \
                      const t = performance.now(); \
                      api('POST', '/api/validate', doc).then((answer) => \
                        done(answer.status === 200 ? performance.now() - t : -answer.status));";
        let mut page = Vec::new();
        for _ in 0..=ROUNDS {
            let took: f64 = browser.execute_async(script, vec![json!(thousand)]).await.unwrap().convert().unwrap();
            assert!(took >= 0.0, "the page's validation answered {}", -took);
            page.push(took);
        }
        println!("validate, 1,000 steps, from the page: {}", summary(page[1..].to_vec()));
        browser.quit().await.unwrap();
    });
    let _ = driver.kill();
    let _ = driver.wait();
}
