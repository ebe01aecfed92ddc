//! End to end in a real headless Chromium (Debian's `chromium` and `chromedriver`, installed by
//! `.ci/run`): sign in on the web page, open ForTestCodeDemo, click "GetCode", read the modal,
//! and check the code it shows is the one stored in the entry. Saves `target/modal.png`.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice::Engine;
use sluice::store::Store;
use sluice_server::{AppState, ServerConfig};
use thirtyfour::prelude::*;

const FOR_TEST_CODE: &str = include_str!("../../../examples/for-test-code/component.json");
const USERS: &str = include_str!("../../../examples/for-test-code/users.json");
const EMAIL: &str = include_str!("../../../examples/email-2fa/component.json");
const EMAIL_USERS: &str = include_str!("../../../examples/email-2fa/users.json");

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn chromedriver() -> Option<(Driver, u16)> {
    let found = Command::new("chromedriver").arg("--version").stdout(Stdio::null()).status().is_ok_and(|s| s.success());
    if !found {
        sluice::testing::skip(
            "the browser tests",
            "chromedriver",
            "apt-get install chromium chromium-driver; .ci/run installs them",
        );
        return None;
    }
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some((Driver(child), port))
}

type Drive<T> = Result<T, Box<dyn std::error::Error>>;

/// Serves `component` (saved as `name`, with `users`, as `config`) and drives a headless
/// browser on it: `drive` gets the browser, the page's address and the store. `None` when
/// chromedriver is missing outside CI.
fn browse<T>(
    name: &str,
    component: &str,
    users: &str,
    config: ServerConfig,
    drive: impl AsyncFnOnce(&WebDriver, &str, &Arc<dyn Store>) -> Drive<T>,
) -> Option<T> {
    let (_driver, port) = chromedriver()?;
    let services = sluice::Services::in_memory().unwrap();
    services.store.import_users(&sluice::users::parse_users(users).unwrap()).unwrap();
    services.store.save_component(name, component, 0).unwrap();
    let store = services.store.clone();
    let engine = Arc::new(Engine::builder().services(services).build().unwrap());
    let app = sluice_server::router(Arc::new(AppState::new(engine, &config).unwrap()), &config);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(sluice_server::serve(listener, app, std::future::pending()));
        let browser = WebDriver::new(format!("http://127.0.0.1:{port}"), capabilities()).await.unwrap();
        let result = drive(&browser, &base, &store).await;
        browser.quit().await.unwrap();
        Some(result.unwrap())
    })
}

fn capabilities() -> thirtyfour::ChromeCapabilities {
    let mut caps = DesiredCapabilities::chrome();
    caps.set_headless().unwrap();
    caps.set_no_sandbox().unwrap();
    caps.set_disable_dev_shm_usage().unwrap();
    caps.add_arg("--window-size=1200,800").unwrap();
    if std::path::Path::new("/usr/bin/chromium").exists() {
        caps.set_binary("/usr/bin/chromium").unwrap();
    }
    caps
}

#[test]
fn the_modal_shows_the_code_stored_in_the_entry() {
    // The ForTestCode demo signs in with a password alone, which the server must allow.
    let single_factor = ServerConfig { password_sessions: true, ..ServerConfig::default() };
    let shown = browse("ForTestCodeDemo", FOR_TEST_CODE, USERS, single_factor, async |driver, base, store| {
        driver.goto(base).await?;
        driver.find(By::Id("userName")).await?.send_keys("ann").await?;
        driver.find(By::Id("password")).await?.send_keys("correct horse battery staple").await?;
        driver.find(By::Id("signIn")).await?.click().await?;
        driver.query(By::Css("button[data-component='ForTestCodeDemo']")).first().await?.click().await?;
        driver.query(By::Css("button[data-dataflow='GetCode']")).first().await?.click().await?;
        let code = driver.query(By::Css("#modal.open dd[data-field='ForTestCode']")).first().await?.text().await?;
        let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
        std::fs::create_dir_all(&target)?;
        driver.screenshot(&target.join("modal.png")).await?;
        Ok((code, store.list_entries("ForTestCodeDemo")?))
    });
    let Some((code, entries)) = shown else { return };
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].data["ForTestCode"], code.as_str(), "the modal shows the stored code");
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "{code:?}");
}

#[test]
fn an_end_user_signs_in_with_a_password_and_an_emailed_code() {
    let signed_in =
        browse("EmailTwoFactor", EMAIL, EMAIL_USERS, ServerConfig::default(), async |driver, base, store| {
            driver.goto(base).await?;
            driver.find(By::Id("userName")).await?.send_keys("ann").await?;
            driver.find(By::Id("password")).await?.send_keys("correct horse battery staple").await?;
            driver.find(By::Id("sendCode")).await?.click().await?;
            driver.query(By::Id("code")).and_displayed().first().await?;
            // The "e-mail": the in-app inbox in the store.
            let ann = store.find_user("ann")?.ok_or("no user ann")?;
            let mail = store.list_messages(Some(&ann.id), None, 1)?.pop().ok_or("no message")?;
            let code =
                mail.body.split(|c: char| !c.is_ascii_digit()).find(|r| r.len() == 6).ok_or("no code")?.to_owned();
            driver.find(By::Id("code")).await?.send_keys(&code).await?;
            driver.find(By::Id("verifyCode")).await?.click().await?;
            let listed = driver.query(By::Css("button[data-component='EmailTwoFactor']")).first().await?;
            let (listed, who) = (listed.text().await?, driver.find(By::Id("who")).await?.text().await?);
            let live = store.list_sessions(&ann.id, 0)?.len();
            // Signing out ends the session on the server and shows the sign-in again.
            driver.find(By::Id("signOut")).await?.click().await?;
            driver.query(By::Id("signIn")).and_displayed().first().await?;
            Ok((listed, who, live, store.list_sessions(&ann.id, 0)?.len()))
        });
    let Some((listed, who, live, left)) = signed_in else { return };
    assert_eq!((listed.as_str(), who.as_str()), ("E-mail two-factor login", "ann"));
    assert_eq!((live, left), (1, 0), "one session while signed in, none after signing out");
}
