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
    let services = |_: &str| {
        let services = sluice::Services::in_memory().unwrap();
        services.store.import_users(&sluice::users::parse_users(users).unwrap()).unwrap();
        services.store.save_component(name, component, 0, None).unwrap();
        services
    };
    browse_on(services, config, drive)
}

/// [`browse`] on the services `make` returns for the page's address.
fn browse_on<T>(
    make: impl FnOnce(&str) -> sluice::Services,
    config: ServerConfig,
    drive: impl AsyncFnOnce(&WebDriver, &str, &Arc<dyn Store>) -> Drive<T>,
) -> Option<T> {
    // One browser at a time: several Chromiums at once on two cores outlast the element waits.
    static ONE_BROWSER: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE_BROWSER.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (_driver, port) = chromedriver()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let services = make(&base);
        let store = services.store.clone();
        let engine = Arc::new(Engine::builder().services(services).build().unwrap());
        let app = sluice_server::router(Arc::new(AppState::new(engine, &config).unwrap()), &config);
        tokio::spawn(sluice_server::serve(listener, app, std::future::pending()));
        let browser = WebDriver::new(format!("http://127.0.0.1:{port}"), capabilities()).await.unwrap();
        let result = drive(&browser, &base, &store).await;
        let failure = match &result {
            Ok(_) => None,
            Err(e) => Some(format!("{e}\n{}", what_the_page_showed(&browser).await)),
        };
        browser.quit().await.unwrap();
        if let Some(failure) = failure {
            panic!("{failure}");
        }
        result.ok()
    })
}

/// A screenshot and the text of the page, for a test that failed.
async fn what_the_page_showed(browser: &WebDriver) -> String {
    let shot = screenshots().join(format!("failed-{}.png", std::process::id()));
    let _ = browser.screenshot(&shot).await;
    let text = match browser.find(By::Tag("body")).await {
        Ok(body) => body.text().await.unwrap_or_default(),
        Err(e) => e.to_string(),
    };
    format!("(screenshot {}; the page read:\n{text})", shot.display())
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
            click(driver, "#sendCode").await?;
            displayed(driver, "#code").await?;
            // The "e-mail": the in-app inbox in the store.
            let ann = store.find_user("ann")?.ok_or("no user ann")?;
            let mail = store.list_messages(Some(&ann.id), None, 1)?.pop().ok_or("no message")?;
            let code =
                mail.body.split(|c: char| !c.is_ascii_digit()).find(|r| r.len() == 6).ok_or("no code")?.to_owned();
            driver.find(By::Id("code")).await?.send_keys(&code).await?;
            click(driver, "#verifyCode").await?;
            // The list may be drawn again as it is read (again() reads it anew).
            let listed = text(driver, "button[data-component='EmailTwoFactor']").await?;
            let who = text(driver, "#who").await?;
            let live = store.list_sessions(&ann.id, 0)?.len();
            // Signing out ends the session on the server and shows the sign-in again.
            sign_out(driver).await?;
            Ok((listed, who, live, store.list_sessions(&ann.id, 0)?.len()))
        });
    let Some((listed, who, live, left)) = signed_in else { return };
    assert_eq!((listed.as_str(), who.as_str()), ("E-mail two-factor login", "ann"));
    assert_eq!((live, left), (1, 0), "one session while signed in, none after signing out");
}

/// The text of the message with `subject` the SMTP server received for `to`, waiting for it.
fn mail_to(server: &sluice_delivery::testing::SmtpServer, to: &str, subject: &str) -> Drive<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let wanted = |m: &String| m.contains(&format!("To: {to}")) && m.contains(&format!("Subject: {subject}"));
        if let Some(raw) = server.messages().into_iter().find(wanted) {
            // Lettre wraps long lines as quoted-printable: join them and decode the `=` escapes.
            return Ok(raw.replace("=\r\n", "").replace("=\n", "").replace("=3D", "="));
        }
        if Instant::now() > deadline {
            return Err(format!("no mail \"{subject}\" to {to} after 10 s").into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A real SMTP server process for a browser test, on a free port; `None` (after a line cargo
/// test shows) when aiosmtpd is not installed outside CI.
fn mail_server(test: &str) -> Option<(sluice_delivery::testing::SmtpServer, u16)> {
    if !sluice_delivery::testing::aiosmtpd_installed() {
        sluice::testing::skip(test, "aiosmtpd", "pip install aiosmtpd; .ci/run installs it");
        return None;
    }
    let port = sluice_delivery::testing::free_port();
    Some((sluice_delivery::testing::SmtpServer::start(port), port))
}

/// In-memory services that mail over SMTP to `smtp_port` and make links under `base`, with
/// `components` saved (their in-app mail sent as e-mail) and `users` imported.
fn mailing_services(base: &str, smtp_port: u16, components: &[(&str, &str)], users: &str) -> sluice::Services {
    let channels =
        sluice::setup::Channels { smtp_url: Some(format!("smtp://127.0.0.1:{smtp_port}")), ..Default::default() };
    let services = sluice::setup::open_with("memory:", &Default::default(), &channels).unwrap().with_public_url(base);
    services.store.import_users(&sluice::users::parse_users(users).unwrap()).unwrap();
    for (name, file) in components {
        let file = file.replace("\"notificationType\": \"Mail\"", "\"notificationType\": \"Smtp\"");
        services.store.save_component(name, &file, 0, None).unwrap();
    }
    services
}

/// A new user signs up on the page, confirms the address through the link the real SMTP server
/// received, signs in with the password and an e-mailed code, adds an authenticator app from
/// its QR code page (the test computes the app's codes from the key shown), signs out, and
/// signs in again with the password and a code of the app.
#[test]
fn a_new_user_signs_up_through_the_mailed_link_and_signs_in_with_an_authenticator_code() {
    const SIGNUP: &str = include_str!("../../../examples/signup/component.json");
    const TOTP: &str = include_str!("../../../examples/totp/component.json");
    let Some((smtp, smtp_port)) = mail_server("the sign-up browser test") else { return };
    let config = ServerConfig {
        signin_component: "Signup".into(),
        account_components: sluice_server::AccountComponents {
            signup: Some("Signup".into()),
            password_reset: None,
            authenticator: Some("Authenticator".into()),
        },
        ..ServerConfig::default()
    };
    let make = |base: &str| mailing_services(base, smtp_port, &[("Signup", SIGNUP), ("Authenticator", TOTP)], "[]");
    let done = browse_on(make, config, async |driver, base, store| {
        driver.goto(base).await?;
        click(driver, "#showSignup").await?;
        type_into(driver, "#signupName", "dora").await?;
        type_into(driver, "#signupEmail", "dora@example.com").await?;
        type_into(driver, "#signupPassword", "a long walk by the sea").await?;
        click(driver, "#register").await?;
        let told = text_holding(driver, "#accountMessage", "Check your e-mail").await?;
        let mail = mail_to(&smtp, "dora@example.com", "Confirm your e-mail address")?;
        let start = mail.find(&format!("{base}/account/confirm-email?token=")).ok_or("no link in the mail")?;
        let link: String = mail[start..].chars().take_while(|c| !c.is_whitespace()).collect();
        driver.goto(&link).await?;
        let confirmed = text_holding(driver, "#accountMessage", "confirmed").await?;
        let address = driver.current_url().await?.to_string();
        let verified = store.find_user("dora")?.is_some_and(|u| u.active && u.email_verified);
        // Signed in with the password and an e-mailed code.
        type_into(driver, "#userName", "dora").await?;
        type_into(driver, "#password", "a long walk by the sea").await?;
        click(driver, "#sendCode").await?;
        displayed(driver, "#code").await?;
        let mail = mail_to(&smtp, "dora@example.com", "Your sign-in code")?;
        let code = mail.split(|c: char| !c.is_ascii_digit()).find(|r| r.len() == 6).ok_or("no code")?.to_owned();
        type_into(driver, "#code", &code).await?;
        click(driver, "#verifyCode").await?;
        text_holding(driver, "#who", "dora").await?;
        // The authenticator app: the QR code and the key; the app's first code confirms it.
        click(driver, "#enrolApp").await?;
        displayed(driver, "#enrolment #qr svg").await?;
        let secret = text(driver, "#appSecret").await?;
        let qr = driver.find_all(By::Css("#qr svg path")).await?.len();
        let recovery = driver.find_all(By::Css("#recoveryCodes li")).await?.len();
        let now = || sluice::Clock::now(&sluice::SystemClock);
        let first = sluice::authenticator::app_code(&secret, now()).ok_or("the key is not base32")?;
        type_into(driver, "#enrolCode", &first).await?;
        click(driver, "#confirmEnrolment").await?;
        let enrolled = text_holding(driver, "#enrolmentMessage", "set up").await?;
        sign_out(driver).await?;
        // Again, with the password and the app's next code.
        type_into(driver, "#userName", "dora").await?;
        type_into(driver, "#password", "a long walk by the sea").await?;
        let next = sluice::authenticator::app_code(&secret, now() + 30_000).ok_or("no code")?;
        type_into(driver, "#appCode", &next).await?;
        click(driver, "#signInWithApp").await?;
        let who = text_holding(driver, "#who", "dora").await?;
        let dora = store.find_user("dora")?.ok_or("no dora")?;
        let sessions = store.list_sessions(&dora.id, 0)?;
        let factors: Vec<&str> =
            sessions.first().map(|s| s.methods.iter().map(|f| f.method.name()).collect()).unwrap_or_default();
        Ok((told, confirmed, address, verified, (qr, recovery), enrolled, who, factors))
    });
    let Some((told, confirmed, address, verified, (qr, recovery), enrolled, who, factors)) = done else { return };
    assert!(told.contains("Check your e-mail") && confirmed.contains("confirmed"), "{told} / {confirmed}");
    assert!(!address.contains("token"), "the token leaves the address bar: {address}");
    assert!(verified, "dora is enabled with a verified address");
    assert!(qr >= 1 && recovery == 10, "QR paths {qr}, recovery codes {recovery}");
    assert!(enrolled.contains("set up"), "{enrolled}");
    assert_eq!(who, "dora");
    assert_eq!(factors, ["pwd", "otp"], "the session was earned with the password and the app");
}

/// A user who forgot the password asks for a link on the page, follows the link the real SMTP
/// server received, is refused a common password (the link still works), and sets a good one.
#[test]
fn a_forgotten_password_is_reset_through_the_mailed_link() {
    const RESET: &str = include_str!("../../../examples/password-reset/component.json");
    let Some((smtp, smtp_port)) = mail_server("the password reset browser test") else { return };
    let config = ServerConfig {
        account_components: sluice_server::AccountComponents {
            password_reset: Some("PasswordReset".into()),
            ..Default::default()
        },
        ..ServerConfig::default()
    };
    let users = r#"[{"userName": "ann", "email": "ann@example.com", "password": "an old sea shanty"}]"#;
    let make = |base: &str| mailing_services(base, smtp_port, &[("PasswordReset", RESET)], users);
    let done = browse_on(make, config, async |driver, base, store| {
        driver.goto(base).await?;
        click(driver, "#showForgot").await?;
        type_into(driver, "#forgotName", "ann").await?;
        click(driver, "#sendLink").await?;
        let told = text_holding(driver, "#accountMessage", "on its way").await?;
        let mail = mail_to(&smtp, "ann@example.com", "Choose a new password")?;
        let start = mail.find(&format!("{base}/account/reset-password?token=")).ok_or("no link in the mail")?;
        let link: String = mail[start..].chars().take_while(|c| !c.is_whitespace()).collect();
        driver.goto(&link).await?;
        type_into(driver, "#newPassword", "password1").await?;
        click(driver, "#setPassword").await?;
        let refused = text_holding(driver, "#signinError", "most common").await?;
        type_into(driver, "#newPassword", "a quiet morning in june").await?;
        click(driver, "#setPassword").await?;
        let set = text_holding(driver, "#accountMessage", "Your password is set").await?;
        let address = driver.current_url().await?.to_string();
        let hash = store.find_user("ann")?.and_then(|u| u.password_hash).ok_or("no password")?;
        Ok((told, refused, set, address, sluice::passwords::matches(&hash, "a quiet morning in june")))
    });
    let Some((told, refused, set, address, matches)) = done else { return };
    assert!(told.contains("on its way") && refused.contains("most common") && set.contains("set"));
    assert!(!address.contains("token"), "{address}");
    assert!(matches, "the new password is ann's");
}

/// Where the browser tests save their screenshots.
fn screenshots() -> std::path::PathBuf {
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&target).unwrap();
    target
}

#[test]
fn the_signed_out_page_shows_the_sign_in_alone() {
    let shown = browse("ForTestCodeDemo", FOR_TEST_CODE, USERS, ServerConfig::default(), async |driver, base, _| {
        driver.goto(base).await?;
        displayed(driver, "#signIn").await?;
        driver.screenshot(&screenshots().join("signed-out.png")).await?;
        let mut shown = Vec::new();
        for id in ["signin", "app", "components", "response", "signOut", "codeStep"] {
            shown.push((id, driver.find(By::Id(id)).await?.is_displayed().await?));
        }
        Ok(shown)
    });
    let Some(shown) = shown else { return };
    let expected = [
        ("signin", true),
        ("app", false),
        ("components", false),
        ("response", false),
        ("signOut", false),
        ("codeStep", false),
    ];
    assert_eq!(shown, expected, "before signing in, only the sign-in box is visible");
}

const BUILDER_TOKEN: &str = "builder-token-for-the-browser";

/// A server that takes `BUILDER_TOKEN` as the token of a builder named ana.
fn builder_config() -> ServerConfig {
    ServerConfig { admin_tokens: vec![format!("ana:{BUILDER_TOKEN}")], ..ServerConfig::default() }
}

/// Opens the builder page at `query` (such as `?component=…&lang=fr`) and signs in as a builder.
async fn open_builder(driver: &WebDriver, base: &str, query: &str) -> WebDriverResult<()> {
    driver.goto(format!("{base}/builder{query}")).await?;
    type_into(driver, "#builderToken", BUILDER_TOKEN).await?;
    click(driver, "#useToken").await
}

/// Runs `action` again while the element it holds was replaced (the builder page draws its
/// canvas and drawer anew after every change and every answer of the server; an element being
/// replaced is stale, or for a moment not interactable, and chromedriver reports a node of a
/// page that is being loaded anew as an unknown error), for two seconds at most.
async fn again<T>(mut action: impl AsyncFnMut() -> WebDriverResult<T>) -> WebDriverResult<T> {
    use thirtyfour::error::WebDriverErrorInner::{ElementNotInteractable, StaleElementReference, UnknownError};
    let replaced = |e: &thirtyfour::error::WebDriverError| match e.as_inner() {
        StaleElementReference(_) | ElementNotInteractable(_) => true,
        UnknownError(info) => info.value.message.contains("does not belong to the document"),
        _ => false,
    };
    for _ in 0..40 {
        match action().await {
            Err(e) if replaced(&e) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            done => return done,
        }
    }
    action().await
}

/// Signs out and waits for the page the sign-out loads anew to show the sign-in, so that no
/// element of the page before is used (the old page's elements stop belonging to a document).
async fn sign_out(driver: &WebDriver) -> WebDriverResult<()> {
    driver.execute("window.beforeSignOut = true", vec![]).await?;
    click(driver, "#signOut").await?;
    let loaded = "return !window.beforeSignOut && document.readyState === 'complete'";
    for _ in 0..100 {
        // While the page reloads, the script may fail to run: the page is not loaded yet.
        if driver.execute(loaded, vec![]).await.is_ok_and(|done| done.json() == &serde_json::json!(true)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    displayed(driver, "#signIn").await.map(drop)
}

async fn click(driver: &WebDriver, css: &str) -> WebDriverResult<()> {
    again(async || driver.query(By::Css(css)).first().await?.click().await).await
}

async fn text(driver: &WebDriver, css: &str) -> WebDriverResult<String> {
    again(async || driver.query(By::Css(css)).first().await?.text().await).await
}

/// A screenshot of the page from its top, `height` pixels tall at 1280 wide, so the canvas and
/// the drawer beside it both show (for the README); the window stays that size.
async fn page_screenshot(driver: &WebDriver, name: &str, height: u32) -> WebDriverResult<()> {
    driver.set_window_rect(0, 0, 1280, height).await?;
    driver.execute("window.scrollTo(0, 0)", vec![]).await?;
    driver.screenshot(&screenshots().join(name)).await
}

/// Waits until an element matching `css` is shown (the page may draw it anew meanwhile).
async fn displayed(driver: &WebDriver, css: &str) -> WebDriverResult<WebElement> {
    again(async || driver.query(By::Css(css)).and_displayed().first().await).await
}

/// The text of every element matching `css`, as the page holds it (hidden or not).
async fn texts(driver: &WebDriver, css: &str) -> WebDriverResult<Vec<String>> {
    let script = "return [...document.querySelectorAll(arguments[0])].map((e) => e.textContent)";
    driver.execute(script, vec![serde_json::json!(css)]).await?.convert()
}

/// The attribute `name` of the first element matching `css`.
async fn attribute(driver: &WebDriver, css: &str, name: &str) -> WebDriverResult<Option<String>> {
    again(async || driver.query(By::Css(css)).first().await?.attr(name).await).await
}

/// The text of the first element matching `css` once it holds `part`.
async fn text_holding(driver: &WebDriver, css: &str, part: &str) -> WebDriverResult<String> {
    let holding = thirtyfour::stringmatch::StringMatch::new(part).partial();
    again(async || driver.query(By::Css(css)).with_text(holding.clone()).first().await?.text().await).await
}

/// Chooses the option `value` of a select.
/// Adds a step of `step_type` to `stage` through the stage's step picker.
async fn add_step(driver: &WebDriver, stage: &str, step_type: &str) -> WebDriverResult<()> {
    click(driver, &format!("[data-add-step='{stage}']")).await?;
    click(driver, &format!("[data-picker='{stage}'] [data-pick='{step_type}']")).await
}

async fn choose(driver: &WebDriver, css: &str, value: &str) -> WebDriverResult<()> {
    again(async || {
        let select = driver.query(By::Css(css)).first().await?;
        thirtyfour::components::SelectElement::new(&select).await?.select_by_value(value).await
    })
    .await
}

/// Types `value` over what the control held and leaves it, which commits it: one change
/// event, as when a person selects all and types (WebDriver's clear would fire one more).
async fn type_into(driver: &WebDriver, css: &str, value: &str) -> WebDriverResult<()> {
    again(async || {
        let control = driver.query(By::Css(css)).first().await?;
        control.send_keys(Key::Control + "a").await?;
        control.send_keys(value.to_owned() + Key::Tab).await
    })
    .await
}

/// The builder page: opened on a component in French, it shows the seed's labels on the code
/// step; a bad setting shows a problem, in the list and on the card, that goes away once
/// fixed; the component saves as a new version, runs, opens the modal, and the code step's eye
/// shows its items with the code redacted.
#[test]
fn the_builder_edits_validates_saves_and_runs_a_component() {
    let config = builder_config();
    let built = browse("ForTestCodeDemo", FOR_TEST_CODE, USERS, config, async |driver, base, store| {
        open_builder(driver, base, "?component=ForTestCodeDemo&dataflow=GetCode&lang=fr").await?;
        click(driver, "[data-stage='Code'] [data-step='code']").await?;
        driver.query(By::Css("#drawer [data-setting='codeLifetime']")).first().await?;
        let labels = texts(driver, "#drawer label").await?;
        // An enum's choices come with their descriptions in French.
        click(driver, "[data-step='modal']").await?;
        let choice = text(driver, "[data-setting='actionType'] option[value='OpenModal']").await?;
        click(driver, "[data-stage='Code'] [data-step='code']").await?;
        // A lifetime that is no duration: a problem in the list and on the card.
        let problem = "[data-errors] [data-pointer='/dataflows/0/stages/1/steps/1/settings/codeLifetime']";
        type_into(driver, "[data-setting='codeLifetime']", "forever").await?;
        let listed = text(driver, problem).await?;
        let badge = text(driver, "[data-step='code'] .badge").await?;
        page_screenshot(driver, "builder-problem.png", 1250).await?;
        type_into(driver, "[data-setting='codeLifetime']", "4m").await?;
        driver.query(By::Css(problem)).wait_until_gone().await?;
        // Leaving with the change unsaved asks first (the page cancels beforeunload); after
        // saving it does not.
        let leaving = "const e = new Event('beforeunload', {cancelable: true}); window.dispatchEvent(e); return e.defaultPrevented";
        let warned_unsaved = driver.execute(leaving, vec![]).await?.convert::<bool>()?;
        // The user name's completions: what is written upstream of the code step, then data.
        let paths =
            "return [...document.querySelectorAll('#drawer #paths[data-paths-of=code] option')].map(o => o.value)";
        let paths: Vec<String> = driver.execute(paths, vec![]).await?.convert()?;
        click(driver, "#save").await?;
        driver.query(By::Id("status")).with_text("saved as version 2").first().await?;
        let warned_saved = driver.execute(leaving, vec![]).await?.convert::<bool>()?;
        let saved = store.get_component("ForTestCodeDemo", None)?.ok_or("not saved")?;
        type_into(driver, "#runAs", "ann").await?;
        click(driver, "#run").await?;
        let code = text(driver, "#modal.open dd[data-field='ForTestCode']").await?;
        click(driver, "#modalClose").await?;
        click(driver, "[data-eye='code']").await?;
        let items = text(driver, "#traceItems").await?;
        page_screenshot(driver, "builder-eye.png", 2150).await?;
        let warned = (warned_unsaved, warned_saved);
        let entries = store.list_entries("ForTestCodeDemo")?;
        Ok((labels, listed, badge, saved, code, items, entries, paths, warned, choice))
    });
    let Some((labels, listed, badge, saved, code, items, entries, paths, warned, choice)) = built else { return };
    assert_eq!(choice, "OpenModal — Ouvrir une fenêtre modale qui montre `fields`.");
    assert_eq!(warned, (true, false), "leaving warns with unsaved changes only");
    assert_eq!(paths[..2], ["_user", "data.ForTestCode"], "{paths:?}");
    assert!(paths.contains(&"data.creatorSubject".to_owned()), "{paths:?}");
    for label in ["Nom d'utilisateur", "Client pour la demande", "Durée de vie du code"] {
        assert!(labels.iter().any(|l| l == label), "{label:?} among {labels:?}");
    }
    assert!(listed.contains("codeLifetime") || listed.contains("duration"), "{listed}");
    assert_eq!(badge, "1");
    assert_eq!(saved.version, 2);
    let component: serde_json::Value = serde_json::from_str(&saved.source).unwrap();
    assert_eq!(component["dataflows"][0]["stages"][1]["steps"][1]["settings"]["codeLifetime"], "4m");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].data["ForTestCode"], code.as_str(), "the modal shows the stored code");
    assert!(items.contains("\"_oneTimeCode\": \"[redacted]\""), "{items}");
    assert!(!items.contains(&code), "the eye never shows the code: {items}");
}

/// A component whose check step fails on one row of three.
const ROWS: &str = r#"{"name": "Rows", "dataflows": [{"name": "F", "stages": [{"name": "s", "steps": [
  {"name": "in", "type": "get_action_model"},
  {"name": "rows", "type": "extract_collection", "source": "in", "settings": {"path": "data.Rows"}},
  {"name": "check", "type": "execute_script", "source": "rows",
   "settings": {"script": "if item.n == 2 { throw \"row 2 is bad\"; }"}},
  {"name": "ok", "type": "write_response", "source": "check"}]}]}]}"#;

/// The builder shows and edits what a failing step does: a route no step takes is a problem
/// until a step takes the error branch; the run's card counts the items routed.
#[test]
fn the_builder_edits_error_handling_and_shows_failed_items() {
    let seen = browse("Rows", ROWS, USERS, builder_config(), async |driver, base, store| {
        open_builder(driver, base, "?component=Rows&dataflow=F").await?;
        click(driver, "[data-step='check']").await?;
        choose(driver, "#stepOnError", "route").await?;
        let problem = "[data-errors] [data-pointer='/dataflows/0/stages/0/steps/2/onError']";
        let untaken = text(driver, problem).await?;
        click(driver, "[data-step='ok']").await?;
        choose(driver, "#stepBranch", "error").await?;
        driver.query(By::Css(problem)).wait_until_gone().await?;
        let source = text(driver, "[data-step='ok'] .source").await?;
        click(driver, "#save").await?;
        driver.query(By::Id("status")).with_text("saved as version 2").first().await?;
        let saved: serde_json::Value =
            serde_json::from_str(&store.get_component("Rows", None)?.ok_or("not saved")?.source)?;
        type_into(driver, "#runInput", r#"{"data": {"Rows": [{"n": 1}, {"n": 2}, {"n": 3}]}}"#).await?;
        click(driver, "#run").await?;
        let card = text_holding(driver, "[data-step='check'] .trace", "failed").await?;
        Ok((untaken, source, saved, card))
    });
    let Some((untaken, source, saved, card)) = seen else { return };
    assert!(untaken.contains("no step takes this step's error branch"), "{untaken}");
    assert_eq!(source, "← check (errors)");
    let steps = &saved["dataflows"][0]["stages"][0]["steps"];
    assert_eq!((&steps[2]["onError"], &steps[3]["branch"]), (&serde_json::json!("route"), &serde_json::json!("error")));
    assert!(card.ends_with("3 → 2 · 1 failed"), "{card}");
}

/// The builder's versions: after a change is saved, the diff of versions 1 and 2 shows the
/// changed line side by side; restoring version 1 saves it again as version 3, byte for byte;
/// importing a file saves exactly its bytes.
#[test]
fn the_builder_compares_restores_and_imports_versions() {
    let config = builder_config();
    let folder = tempfile::tempdir().unwrap();
    let parsed: serde_json::Value = serde_json::from_str(FOR_TEST_CODE).unwrap();
    let imported = format!("{{\n\t\"dataflows\":  {},\n\t\"name\" : \"ForTestCodeDemo\"\n}}\n", parsed["dataflows"]);
    let file = folder.path().join("imported.json");
    std::fs::write(&file, &imported).unwrap();
    let done = browse("ForTestCodeDemo", FOR_TEST_CODE, USERS, config, async |driver, base, store| {
        open_builder(driver, base, "?component=ForTestCodeDemo&dataflow=GetCode").await?;
        click(driver, "[data-step='code']").await?;
        type_into(driver, "[data-setting='codeLifetime']", "4m").await?;
        click(driver, "#save").await?;
        driver.query(By::Id("status")).with_text("saved as version 2").first().await?;
        click(driver, "[data-compare='1']").await?;
        click(driver, "[data-compare='2']").await?;
        click(driver, "#compare").await?;
        let changed = text(driver, "[data-diff] tr[data-change='changed']").await?;
        let rows = driver.find_all(By::Css("[data-diff] tbody tr")).await?.len();
        driver.screenshot(&screenshots().join("builder-diff.png")).await?;
        click(driver, "[data-restore='1']").await?;
        driver.query(By::Id("status")).with_text("version 1 restored as version 3").first().await?;
        let restored = store.get_component("ForTestCodeDemo", None)?.ok_or("none")?;
        driver.find(By::Id("import")).await?.send_keys(file.to_str().ok_or("path")?).await?;
        driver.query(By::Id("status")).with_text("imported as version 4").first().await?;
        let import = store.get_component("ForTestCodeDemo", None)?.ok_or("none")?;
        // Who saved each version: ana (the name of the token) from version 2 on; the file the
        // test put in the store, by no one.
        let by_ana = text_holding(driver, "[data-version='4']", "by ana").await?;
        let first = text(driver, "[data-version='1']").await?;
        // Renamed with its versions, from the component's panel (no step selected).
        click(driver, "[data-dataflow='GetCode']").await?;
        type_into(driver, "#componentNameInput", "Codes").await?;
        click(driver, "#renameComponent").await?;
        driver.query(By::Id("status")).with_text("renamed ForTestCodeDemo to Codes, with its versions").first().await?;
        driver.query(By::Css("[data-component='Codes']")).first().await?;
        let renamed = (store.component_version("Codes")?, store.component_version("ForTestCodeDemo")?);
        Ok((changed, rows, restored, import, (by_ana, first), renamed))
    });
    let Some((changed, rows, restored, import, (by_ana, first), renamed)) = done else { return };
    assert_eq!(renamed, (Some(4), None), "every version moved to the new name");
    assert!(by_ana.contains("version 4, saved") && !first.contains(" by "), "{by_ana} / {first}");
    assert_eq!(import.saved_by.as_deref(), Some("ana"));
    assert!(changed.contains("\"codeLifetime\": \"5m\"") && changed.contains("\"codeLifetime\": \"4m\""), "{changed}");
    assert!(rows > 40, "the whole file, side by side: {rows} rows");
    assert_eq!((restored.version, restored.source.as_str()), (3, FOR_TEST_CODE), "version 1 again, byte for byte");
    assert_eq!((import.version, import.source), (4, imported));
}

/// Builds the ForTestCode component from nothing through the builder page alone: the
/// definition, both dataflows, every step with its settings (the script included); sees a
/// problem appear and go; saves; runs GetCode as ann and reads the modal; runs ConfirmCode with
/// that code; in French, the code step's labels and help texts are French. The page names
/// new steps after their type (`getActionModel1`, …).
#[test]
fn the_builder_builds_the_for_test_code_component_from_nothing() {
    let config = builder_config();
    let built = browse("Other", EMAIL, USERS, config, async |driver, base, store| {
        open_builder(driver, base, "?lang=en").await?;
        click(driver, "#newComponent").await?;
        type_into(driver, "#componentNameInput", "ForTestCodeDemo").await?;
        type_into(driver, "#newDefinition", "ForTestCode").await?;
        type_into(driver, "[data-definition-text='ForTestCode/title']", "Test code").await?;
        type_into(driver, "[data-definition-text='ForTestCode/description']", "The code shown in the modal").await?;
        type_into(driver, "#newDefinition", "Level").await?;
        type_into(driver, "[data-definition-enum='Level']", "low, high").await?;
        // A notification template, its body in the code editor with minijinja highlighted.
        type_into(driver, "#newTemplate", "code").await?;
        type_into(driver, "[data-template-text='code/en/subject']", "Your code").await?;
        type_into(driver, "[data-template-text='code/en/body']", "Code: {{ _oneTimeCode }}").await?;
        let template_code = text(driver, ".editor[data-media-type='text/x-jinja'] .tok-keyword").await?;
        type_into(driver, "#dataflowName", "GetCode").await?;
        // Only managers and auditors (and builders) may run it.
        choose(driver, "#dataflowAccess", "roles").await?;
        type_into(driver, "#dataflowRoles", "manager, auditor").await?;
        // Input: the action model. Code: the user, the code, the script. Output: entry, modal, response.
        add_step(driver, "Input", "get_action_model").await?;
        click(driver, "#addStage").await?;
        type_into(driver, "[data-stage-name='Stage2']", "Code").await?;
        add_step(driver, "Code", "get_user_info").await?;
        click(driver, "[data-setting='fromRequest']").await?;
        add_step(driver, "Code", "get_one_time_code_for_user").await?;
        type_into(driver, "[data-setting='userName']", "_user").await?;
        // The script step found by searching the picker, added with Enter.
        click(driver, "[data-add-step='Code']").await?;
        again(async || driver.query(By::Css("#pickStep")).first().await?.send_keys("execute scr").await).await?;
        let matches = driver.find_all(By::Css("[data-picker='Code'] [data-pick]")).await?.len();
        again(async || driver.query(By::Css("#pickStep")).first().await?.send_keys(Key::Enter).await).await?;
        let script = "item[\"new_code@string\"] = item[\"_oneTimeCode\"];\nitem[\"data\"][\"ForTestCode\"] = item[\"new_code@string\"];";
        type_into(driver, "[data-setting='script']", script).await?;
        click(driver, "#addStage").await?;
        type_into(driver, "[data-stage-name='Stage3']", "Output").await?;
        add_step(driver, "Output", "update_entry").await?;
        // A field mapping, row by row: a model path to a definition.
        click(driver, "[data-add-item='fieldsMapping']").await?;
        type_into(driver, "[data-setting='fieldsMapping/0']", "data.ForTestCode").await?;
        type_into(driver, "[data-setting='fieldsMapping/0/to']", "ForTestCode").await?;
        add_step(driver, "Output", "form_action").await?;
        // A form action needs its action type: a problem until it has one.
        let problem = text(driver, "[data-errors] [data-pointer^='/dataflows/0/stages/2/steps/1']").await?;
        choose(driver, "[data-setting='actionType']", "OpenModal").await?;
        type_into(driver, "[data-setting='title']", "Your test code").await?;
        click(driver, "[data-add-item='fields']").await?;
        type_into(driver, "[data-setting='fields/0']", "data.ForTestCode").await?;
        driver
            .query(By::Css("[data-errors] [data-pointer^='/dataflows/0/stages/2/steps/1']"))
            .wait_until_gone()
            .await?;
        add_step(driver, "Output", "write_response").await?;
        // The second dataflow: clean the typed code, confirm it, answer.
        click(driver, "#addDataflow").await?;
        type_into(driver, "#dataflowName", "ConfirmCode").await?;
        add_step(driver, "Input", "get_action_model").await?;
        add_step(driver, "Input", "execute_script").await?;
        type_into(driver, "[data-setting='script']", "item[\"_code@string\"] = `${item.data.ForTestCode}`;").await?;
        add_step(driver, "Input", "confirm_one_time_code_for_user").await?;
        type_into(driver, "[data-setting='userCodeField']", "_code").await?;
        add_step(driver, "Input", "write_response").await?;
        text_holding(driver, "[data-errors] li.help", "No problems.").await?;
        click(driver, "#save").await?;
        driver.query(By::Id("status")).with_text("saved as version 1").first().await?;
        // Run GetCode as ann.
        click(driver, "[data-dataflow='GetCode']").await?;
        type_into(driver, "#runAs", "ann").await?;
        click(driver, "#run").await?;
        let code = text(driver, "#modal.open dd[data-field='ForTestCode']").await?;
        click(driver, "#modalClose").await?;
        let eye = text(driver, "[data-step='getOneTimeCodeForUser1'] .trace").await?;
        let eyes = driver.find_all(By::Css("[data-eye]")).await?.len();
        click(driver, "[data-dataflow='ConfirmCode']").await?;
        type_into(driver, "#runInput", &format!("{{\"data\": {{\"ForTestCode\": \"{code}\"}}}}")).await?;
        click(driver, "#run").await?;
        let confirmed = text_holding(driver, "#runResponse", "_confirmed").await?;
        driver.screenshot(&screenshots().join("builder-built.png")).await?;
        // In French, the code step's settings carry the seed's labels.
        choose(driver, "#lang", "fr").await?;
        click(driver, "[data-dataflow='GetCode']").await?;
        click(driver, "[data-step='getOneTimeCodeForUser1']").await?;
        driver.query(By::Css("#drawer [data-setting='codeLifetime']")).first().await?;
        let labels = texts(driver, "#drawer label").await?;
        let helps = texts(driver, "#drawer p.help").await?;
        // The step picker in French: Aqtra's groups by their French names.
        click(driver, "[data-add-step='Code']").await?;
        let groups = texts(driver, "[data-picker=Code] h4").await?;
        let saved = store.get_component("ForTestCodeDemo", None)?.ok_or("not saved")?;
        let entries = store.list_entries("ForTestCodeDemo")?;
        let found = (matches, groups, template_code);
        Ok((problem, code, (eye, eyes), confirmed, (labels, helps), saved, entries, found))
    });
    let Some((problem, code, (eye, eyes), confirmed, (labels, helps), saved, entries, found)) = built else {
        return;
    };
    let (matches, groups, template_code) = found;
    assert_eq!(template_code, "{{ _oneTimeCode }}");
    assert_eq!(matches, 1, "\"execute scr\" finds Execute script only");
    assert_eq!(groups, ["Entrée", "Transformation du modèle", "Contextes utilisateur", "Sortie"]);
    assert!(helps.iter().any(|h| h == "Nombre de chiffres du code, de 6 à 10. Par défaut 6."), "{helps:?}");
    assert!(problem.contains("actionType"), "{problem}");
    assert_eq!(eyes, 7, "an eye on each of GetCode's steps");
    for label in ["Nom d'utilisateur", "Client pour la demande", "Durée de vie du code"] {
        assert!(labels.iter().any(|l| l == label), "{label:?} among {labels:?}");
    }
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].data["ForTestCode"], code.as_str(), "the modal shows the stored code");
    assert!(eye.starts_with("ok"), "{eye}");
    let answer: serde_json::Value = serde_json::from_str(&confirmed).unwrap();
    assert_eq!(answer["response"][0]["_confirmed"], true, "{confirmed}");
    let component: serde_json::Value = serde_json::from_str(&saved.source).unwrap();
    assert_eq!(component["dataflows"][0]["access"], serde_json::json!({"roles": ["manager", "auditor"]}));
    let names: Vec<&str> =
        component["dataflows"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["GetCode", "ConfirmCode"]);
    assert_eq!(
        component["definitions"],
        serde_json::json!({
            "ForTestCode": {"type": "string", "title": "Test code", "description": "The code shown in the modal"},
            "Level": {"type": "string", "enum": ["low", "high"]}
        })
    );
    assert_eq!(
        component["templates"],
        serde_json::json!({"code": {"en": {"subject": "Your code", "body": "Code: {{ _oneTimeCode }}"}}})
    );
    // Lists edited row by row: the entry's field mapping and the modal's fields.
    let output = &component["dataflows"][0]["stages"][2]["steps"];
    assert_eq!(
        output[0]["settings"],
        serde_json::json!({"fieldsMapping": [{"from": "data.ForTestCode", "to": "ForTestCode"}]})
    );
    assert_eq!(output[1]["settings"]["fields"], serde_json::json!(["data.ForTestCode"]));
}

/// Runs in the builder: a script that throws marks its card with the message (line and column);
/// the recent runs are listed; an earlier run opens on the canvas, where the code step shows
/// the items it received from its source; replaying the failed run gives the same outcome and
/// replaying the earlier one, with the script now throwing, a different one, side by side; a
/// run from the modal step of the earlier run shows its code again without a second code.
#[test]
fn the_builder_lists_shows_and_replays_runs() {
    let config = builder_config();
    let seen = browse("ForTestCodeDemo", FOR_TEST_CODE, USERS, config, async |driver, base, store| {
        open_builder(driver, base, "?component=ForTestCodeDemo&dataflow=GetCode&lang=en").await?;
        type_into(driver, "#runAs", "ann").await?;
        click(driver, "#run").await?;
        click(driver, "#modal.open #modalClose").await?;
        driver.query(By::Css("[data-run]")).first().await?;
        let first = attribute(driver, "[data-run]", "data-run").await?.ok_or("no run id")?;
        // No wait before a second code, and a script that throws.
        click(driver, "[data-step='code']").await?;
        type_into(driver, "[data-setting='resendCooldown']", "0s").await?;
        click(driver, "[data-step='script']").await?;
        type_into(driver, "[data-setting='script']", "let code = item[\"_oneTimeCode\"];\nthrow \"no code today\";")
            .await?;
        click(driver, "#save").await?;
        driver.query(By::Id("status")).with_text("saved as version 2").first().await?;
        click(driver, "#run").await?;
        let failure = text(driver, "[data-step='script'] .failure").await?;
        // The script's editor numbers its lines, marks the one the run failed at, and
        // highlights Rhai's keywords and strings.
        click(driver, "[data-step='script']").await?;
        let failed_line = attribute(driver, ".editor [data-failed-line]", "data-failed-line").await?;
        let marked = text(driver, ".editor .line.failed").await?;
        let tokens = "return [...document.querySelectorAll('.editor [class^=tok-]')].map((t) => t.className + ' ' + t.textContent)";
        let tokens: Vec<String> = driver.execute(tokens, vec![]).await?.convert()?;
        let editor = (failed_line, marked, tokens);
        driver.query(By::Css("[data-run]:nth-child(2)")).first().await?;
        let listed = driver.find_all(By::Css("[data-run]")).await?.len();
        let failed = attribute(driver, "[data-run]", "data-run").await?.ok_or("no run id")?;
        // The first run, on the canvas: every card ok, the code step received ann's user item.
        click(driver, &format!("[data-open-run='{first}']")).await?;
        text_holding(driver, "[data-step='script'] .trace", "ok").await?;
        click(driver, "[data-step='code']").await?;
        let received = text(driver, "#receivedItems").await?;
        click(driver, &format!("[data-replay-run='{failed}']")).await?;
        let same = text(driver, "#replayVerdict[data-matches]").await?;
        click(driver, &format!("[data-replay-run='{first}']")).await?;
        driver.query(By::Css("#replayVerdict[data-matches='false']")).first().await?;
        let different = text(driver, "#replayVerdict").await?;
        let rows = driver.find_all(By::Css("#replayDiff tr[data-change]:not([data-change='same'])")).await?.len();
        driver.execute("document.getElementById('runs').scrollIntoView()", vec![]).await?;
        driver.screenshot(&screenshots().join("builder-runs.png")).await?;
        // From the first run, run the modal step again: the steps above it (the code, the
        // throwing script) do not run; the modal shows the first run's code.
        let ann = store.find_user("ann")?.ok_or("no ann")?;
        let issued = store.newest_code(&ann.id)?.ok_or("no code")?.id;
        click(driver, &format!("[data-open-run='{first}']")).await?;
        click(driver, "[data-step='modal']").await?;
        click(driver, "[data-run-from='modal']").await?;
        let shown = text(driver, "#modal.open dd[data-field='ForTestCode']").await?;
        let same_code = store.newest_code(&ann.id)?.ok_or("no code")?.id == issued;
        let entries = store.list_entries("ForTestCodeDemo")?;
        let runs = store.list_runs(Some("ForTestCodeDemo"), 10)?;
        let who = text(driver, &format!("[data-run='{first}'] span:nth-child(2)")).await?;
        // Replayed for real, after the builder confirms: a new code is issued.
        click(driver, "#modal.open #modalClose").await?;
        driver.execute("window.confirm = () => true", vec![]).await?;
        click(driver, &format!("[data-replay-effects='{first}']")).await?;
        let real = text_holding(driver, "#replayVerdict", "for real").await?;
        let reissued = store.newest_code(&ann.id)?.ok_or("no code")?.id != issued;
        let replayed_for_real = (who, real, reissued);
        let ran_from = (shown, same_code, entries);
        Ok((failure, listed, received, same, different, rows, runs, ann.id, ran_from, editor, replayed_for_real))
    });
    let Some((failure, listed, received, same, different, rows, runs, ann, ran_from, editor, replayed_for_real)) = seen
    else {
        return;
    };
    let (shown, same_code, entries) = ran_from;
    let (who, real, reissued) = replayed_for_real;
    assert!(who.contains("as ann"), "runs are listed with the user's name: {who}");
    assert!(real.starts_with("Different outcome (for real"), "{real}");
    assert!(reissued, "a replay for real issues a new code");
    let (failed_line, marked, tokens) = editor;
    assert_eq!(failed_line.as_deref(), Some("2"), "the gutter marks the line the script failed at");
    assert_eq!(marked, "throw \"no code today\";");
    for token in ["tok-keyword let", "tok-keyword throw", "tok-string \"_oneTimeCode\"", "tok-string \"no code today\""]
    {
        assert!(tokens.iter().any(|t| t == token), "{token} not highlighted: {tokens:?}");
    }
    assert_eq!(entries.len(), 1, "the run from the modal step wrote no entry");
    assert_eq!(entries[0].data["ForTestCode"], shown.as_str(), "the modal shows the first run's code");
    assert!(same_code, "no second code was issued");
    assert!(failure.contains("no code today") && failure.contains("line 2"), "{failure}");
    assert_eq!(listed, 2, "both runs listed");
    assert!(received.contains(&ann), "the code step received the user item: {received}");
    assert!(!received.contains("_oneTimeCode"), "it received no code: {received}");
    assert!(same.starts_with("Same outcome"), "{same}");
    assert!(different.starts_with("Different outcome"), "{different}");
    assert!(rows > 0, "the comparison shows what differs");
    assert_eq!(runs.len(), 5, "the two runs, each replay recorded as a run of its own, and the run from a step");
}

/// The builder is usable without a mouse and at common sizes: every visible control has a
/// name (its label, aria-label, text or title), the page never scrolls sideways at 1280×800 or
/// 1920×1080 (the canvas scrolls in its own box), and Alt+→ on a focused card moves the step to
/// the next stage.
#[test]
fn the_builder_is_labelled_fits_common_screens_and_moves_steps_by_keyboard() {
    let config = builder_config();
    let seen = browse("ForTestCodeDemo", FOR_TEST_CODE, USERS, config, async |driver, base, _| {
        open_builder(driver, base, "?component=ForTestCodeDemo&dataflow=GetCode&lang=en").await?;
        click(driver, "[data-step='code']").await?;
        driver.query(By::Css("[data-setting='codeLifetime']")).first().await?;
        let unnamed = "return [...document.querySelectorAll('input, select, textarea, button')] \
            .filter((c) => c.offsetParent !== null) \
            .filter((c) => !(c.getAttribute('aria-label') || [...(c.labels || [])].some((l) => l.textContent.trim()) \
                || (c.tagName === 'BUTTON' && c.textContent.trim()) || c.title)) \
            .map((c) => c.outerHTML.slice(0, 120))";
        let unnamed: Vec<String> = driver.execute(unnamed, vec![]).await?.convert()?;
        let mut sideways = Vec::new();
        for (width, height) in [(1280, 800), (1920, 1080)] {
            driver.set_window_rect(0, 0, width, height).await?;
            let overflow = "return document.documentElement.scrollWidth - document.documentElement.clientWidth";
            sideways.push((width, driver.execute(overflow, vec![]).await?.convert::<i64>()?));
            driver.screenshot(&screenshots().join(format!("builder-{width}.png"))).await?;
        }
        again(async || driver.query(By::Css("[data-step='script']")).first().await?.focus().await).await?;
        driver.active_element().await?.send_keys(Key::Alt + Key::Right).await?;
        let moved = driver.query(By::Css("[data-stage='Output'] [data-step='script']")).first().await.is_ok();
        let focused = driver.active_element().await?.attr("data-step").await?;
        // Who feeds whom: an arrow from each source to its step, ending at the step's card;
        // those touching the selected step (code) stand out.
        let arrows = "const canvas = document.getElementById('canvas').getBoundingClientRect(); \
            return [...document.querySelectorAll('#canvas svg.feeds path[data-to]')].map((p) => { \
              const card = document.querySelector(`.card[data-step=\"${p.dataset.to}\"]`).getBoundingClientRect(); \
              const end = p.getPointAtLength(p.getTotalLength()); \
              const at = Math.abs(end.x + canvas.left - document.getElementById('canvas').scrollLeft - card.left) < 4; \
              return `${p.dataset.from}>${p.dataset.to}${p.classList.contains('selected') ? ' selected' : ''}${at ? '' : ' astray'}`; })";
        let arrows: Vec<String> = driver.execute(arrows, vec![]).await?.convert()?;
        Ok((unnamed, sideways, moved, focused, arrows))
    });
    let Some((unnamed, sideways, moved, focused, mut arrows)) = seen else { return };
    let mut expected =
        ["model>user", "user>code selected", "code>script selected", "script>save", "save>modal", "modal>response"];
    arrows.sort();
    expected.sort();
    assert_eq!(arrows, expected, "the moved script step still fed by code");
    assert!(unnamed.is_empty(), "controls without a name: {unnamed:#?}");
    assert_eq!(sideways, [(1280, 0), (1920, 0)], "no sideways scrolling");
    assert!(moved, "Alt+→ moved the script step to the Output stage");
    assert_eq!(focused.as_deref(), Some("script"), "the moved card keeps the focus");
}
