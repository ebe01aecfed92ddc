//! The subcommands.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};
use sluice::clock::rfc3339;
use sluice::replay::ReplayOptions;
use sluice::source::Source;
use sluice::{Diagnostic, Engine, Lang, LoadError, RunContext, RunError, RunOptions, Services};

use crate::{Failure, Format, StoreArgs};

fn engine() -> Result<Engine, Failure> {
    Engine::new().map_err(|e| Failure::Environment(e.to_string()))
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::Environment(format!("cannot read {}: {e}", path.display())))
}

fn print_json(value: &Value) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

fn diagnostics_json(file: &Path, diagnostics: &[Diagnostic]) -> Vec<Value> {
    diagnostics
        .iter()
        .map(|d| {
            let mut v = json!(d);
            v["file"] = json!(file.display().to_string());
            v
        })
        .collect()
}

fn print_diagnostics(file: &Path, diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        eprintln!("{}:{d}", file.display());
    }
}

/// `sluice validate`.
pub fn validate(files: &[PathBuf], format: Format) -> Result<(), Failure> {
    let engine = engine()?;
    let mut errors = Vec::new();
    let texts: Vec<Vec<u8>> = files.iter().map(|file| read(file)).collect::<Result<_, _>>()?;
    // The files are checked together: a step may read or write another one's entries.
    let directory = sluice::entries::directory_of(texts.iter().filter_map(|bytes| std::str::from_utf8(bytes).ok()));
    for (file, bytes) in files.iter().zip(&texts) {
        match engine.load_among(&file.display().to_string(), bytes, &directory) {
            Ok(_) if format == Format::Text => println!("{}: valid", file.display()),
            Ok(_) => {}
            Err(LoadError::Invalid { diagnostics, .. }) => {
                if format == Format::Text {
                    print_diagnostics(file, &diagnostics);
                }
                errors.extend(diagnostics_json(file, &diagnostics));
            }
            Err(e @ LoadError::Io { .. }) => return Err(Failure::Environment(e.to_string())),
        }
    }
    if format == Format::Json {
        print_json(&json!({"valid": errors.is_empty(), "errors": errors}));
    } else if !errors.is_empty() {
        eprintln!("{} problem{} found", errors.len(), if errors.len() == 1 { "" } else { "s" });
    }
    if errors.is_empty() { Ok(()) } else { Err(Failure::Invalid) }
}

/// `sluice steps`.
pub fn steps(lang: Lang, format: Format) -> Result<(), Failure> {
    let catalog = engine()?.catalog(lang);
    if format == Format::Json {
        print_json(&json!(catalog));
        return Ok(());
    }
    let mut group = None;
    for entry in catalog {
        if group != Some(entry.group) {
            group = Some(entry.group);
            println!("{}", json!(entry.group).as_str().unwrap_or_default());
        }
        println!("  {:<20} {} — {}", entry.id, entry.title, entry.description);
        for s in entry.settings {
            println!("  {:<20}   {}{}: {}", "", s.name, if s.required { " (required)" } else { "" }, s.label);
        }
    }
    Ok(())
}

/// Where `sluice run` reads its input from.
pub struct RunInput {
    /// `--input`.
    pub inline: Option<String>,
    /// `--input-file`.
    pub file: Option<PathBuf>,
}

impl RunInput {
    fn read(self) -> Result<Value, Failure> {
        let (origin, text) = match (self.inline, self.file) {
            (Some(text), _) => ("--input".to_owned(), text),
            (None, Some(path)) if path.as_os_str() == "-" => {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .map_err(|e| Failure::Environment(format!("cannot read standard input: {e}")))?;
                ("standard input".to_owned(), text)
            }
            (None, Some(path)) => {
                let bytes = read(&path)?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| Failure::Environment(format!("{} is not UTF-8 text", path.display())))?;
                (path.display().to_string(), text)
            }
            (None, None) => return Ok(json!({"data": {}})),
        };
        serde_json::from_str(&text).map_err(|e| Failure::Environment(format!("{origin} is not valid JSON: {e}")))
    }
}

/// Opens the store and channels named on the command line.
pub(crate) fn services(store: &StoreArgs) -> Result<Services, Failure> {
    sluice::setup::open_with(&store.store, &store.secrets(), &store.channels())
        .map_err(|e| Failure::Environment(e.to_string()))
}

pub(crate) fn store_failure(e: sluice::store::StoreError) -> Failure {
    Failure::Environment(e.to_string())
}

/// `sluice run`.
pub fn run(
    (file, with): (&Path, &[PathBuf]),
    dataflow: &str,
    input: RunInput,
    cx: RunContext,
    trace: bool,
    format: Format,
    store: &StoreArgs,
) -> Result<(), Failure> {
    let engine =
        Engine::builder().services(services(store)?).build().map_err(|e| Failure::Environment(e.to_string()))?;
    let bytes = read(file)?;
    let input = input.read()?;
    let others: Vec<Vec<u8>> = with.iter().map(|other| read(other)).collect::<Result<_, _>>()?;
    let texts = std::iter::once(&bytes).chain(&others).filter_map(|bytes| std::str::from_utf8(bytes).ok());
    let directory = sluice::entries::directory_of(texts);
    let load = |path: &Path, bytes: &[u8]| match engine.load_among(&path.display().to_string(), bytes, &directory) {
        Ok(plan) => Ok(Arc::new(plan)),
        Err(LoadError::Invalid { diagnostics, .. }) => {
            print_diagnostics(path, &diagnostics);
            Err(Failure::Invalid)
        }
        Err(e @ LoadError::Io { .. }) => Err(Failure::Environment(e.to_string())),
    };
    let plan = load(file, &bytes)?;
    // The other components' dataflows may be called (Execute dataflow).
    let called: HashMap<String, Arc<sluice::Plan>> = with
        .iter()
        .zip(&others)
        .map(|(path, bytes)| load(path, bytes).map(|p| (p.name().to_owned(), p)))
        .collect::<Result<_, _>>()?;
    engine.services().plans.set(move |name| called.get(name).cloned());
    match plan.run_recorded(dataflow, &input, &cx, RunOptions { trace_items: trace, ..Default::default() }).1 {
        Ok(outcome) => {
            if format == Format::Json {
                let mut out = json!(outcome.returned());
                if trace {
                    out["trace"] = json!(outcome.trace);
                }
                print_json(&out);
            } else {
                print_json(&json!(outcome.response));
                for action in &outcome.form_actions {
                    eprintln!("form action: {action}");
                }
                if trace {
                    print_trace(&outcome.trace);
                }
            }
            Ok(())
        }
        Err(RunError::StepFailed(failure)) => {
            let at = Source::new(std::str::from_utf8(&bytes).unwrap_or_default()).locate_all(&[&failure.pointer]);
            let (line, column) = at.first().map_or((1, 1), |l| (l.line, l.column));
            if format == Format::Json {
                let mut out = json!({"error": {
                    "step": failure.step, "type": failure.step_type, "pointer": failure.pointer,
                    "line": line, "column": column, "message": failure.message,
                }});
                if trace {
                    out["trace"] = json!(failure.trace);
                }
                print_json(&out);
            } else if trace {
                print_trace(&failure.trace);
            }
            eprintln!("{}:{line}:{column}: {}: {failure}", file.display(), failure.pointer);
            Err(Failure::Invalid)
        }
        Err(e) => {
            eprintln!("{}: {e}", file.display());
            Err(Failure::Invalid)
        }
    }
}

fn print_trace(trace: &[sluice::StepTrace]) {
    eprintln!("{:<20} {:<20} {:>7} {:>6} {:>6} {:>10}", "step", "type", "status", "in", "out", "µs");
    for t in trace {
        let status = json!(t.status);
        eprintln!(
            "{:<20} {:<20} {:>7} {:>6} {:>6} {:>10.1}",
            t.step,
            t.step_type,
            status.as_str().unwrap_or_default(),
            t.items_in,
            t.items_out,
            t.duration_ns as f64 / 1000.0
        );
        for note in &t.notes {
            eprintln!("    note: {note}");
        }
        for item in t.items.iter().flat_map(sluice::TracedItems::items) {
            eprintln!("    {}", Value::Object(item));
        }
    }
}

/// `sluice schemas`.
pub fn schemas(out: &Path) -> Result<(), Failure> {
    let engine = engine()?;
    for (name, text) in sluice::schema::schema_files(&engine) {
        let path = out.join(name);
        let write = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&path, text));
        write.map_err(|e| Failure::Environment(format!("cannot write {}: {e}", path.display())))?;
        println!("{}", path.display());
    }
    Ok(())
}

/// `sluice replay`.
pub fn replay(dir: &Path, options: &ReplayOptions, format: Format) -> Result<(), Failure> {
    let checks = sluice::replay::replay(dir, options).map_err(|e| match e {
        sluice::folder::FolderError::Invalid(text) => {
            eprintln!("{text}");
            Failure::Invalid
        }
        other => Failure::Environment(other.to_string()),
    })?;
    let passed = checks.iter().all(|c| c.passed);
    if format == Format::Json {
        print_json(&json!({"passed": passed, "checks": checks}));
    } else {
        for check in &checks {
            println!("{} {} — {}", if check.passed { "ok  " } else { "FAIL" }, check.name, check.detail);
        }
        println!("{}", if passed { "replay passed" } else { "replay FAILED" });
    }
    if passed { Ok(()) } else { Err(Failure::Invalid) }
}

/// `sluice test`.
pub fn test(paths: &[PathBuf], junit: Option<&Path>, format: Format) -> Result<(), Failure> {
    use sluice::component_tests::{folder_of, run_folder};
    use sluice::folder::FolderError;
    let mut reports = Vec::new();
    let mut invalid = false;
    for path in paths {
        match run_folder(&folder_of(path)) {
            Ok(report) => reports.push(report),
            Err(FolderError::Invalid(text)) => {
                eprintln!("{text}");
                invalid = true;
            }
            Err(e @ (FolderError::Read { .. } | FolderError::Setup(_))) => {
                return Err(Failure::Environment(e.to_string()));
            }
        }
    }
    let cases = reports.iter().flat_map(|r| &r.cases);
    let (passed, failed) = cases.fold((0, 0), |(p, f), case| if case.passed() { (p + 1, f) } else { (p, f + 1) });
    if format == Format::Json {
        print_json(&json!({"passed": passed, "failed": failed, "suites": reports}));
    } else {
        for report in &reports {
            for case in &report.cases {
                println!("{} {}: {}", if case.passed() { "ok  " } else { "FAIL" }, report.folder, case.name);
                for failure in &case.failures {
                    println!("       {failure}");
                }
            }
        }
        println!("{passed} passed, {failed} failed");
    }
    if let Some(path) = junit {
        std::fs::write(path, sluice::component_tests::junit(&reports))
            .map_err(|e| Failure::Environment(format!("cannot write {}: {e}", path.display())))?;
    }
    if failed > 0 || invalid { Err(Failure::Invalid) } else { Ok(()) }
}

/// `sluice users import`.
pub fn users_import(file: &Path, store: &StoreArgs) -> Result<(), Failure> {
    import_users_into(file, &services(store)?)
}

fn import_users_into(file: &Path, services: &Services) -> Result<(), Failure> {
    let bytes = read(file)?;
    let text =
        String::from_utf8(bytes).map_err(|_| Failure::Environment(format!("{} is not UTF-8 text", file.display())))?;
    let users = sluice::users::parse_users(&text).map_err(|problems| {
        print_diagnostics(file, &problems);
        Failure::Invalid
    })?;
    let imported = sluice::users::import(services.store.as_ref(), &text, &users).map_err(|e| match e {
        sluice::store::StoreError::Duplicate(message) => {
            eprintln!("{}: {message}", file.display());
            Failure::Invalid
        }
        other => store_failure(other),
    })?;
    println!("{} users imported into {}", imported.users, services.store.location());
    if imported.sessions_ended > 0 {
        println!("{} sessions ended (users deactivated or given another password)", imported.sessions_ended);
    }
    Ok(())
}

/// `sluice users list`.
pub fn users_list(format: Format, store: &StoreArgs) -> Result<(), Failure> {
    let users = services(store)?.store.list_users().map_err(store_failure)?;
    if format == Format::Json {
        print_json(&json!(users));
        return Ok(());
    }
    println!("{:<36}  {:<16} {:<28} {:<6} active", "id", "user name", "email", "locale");
    for u in users {
        let email = u.email.as_deref().unwrap_or("-");
        let locale = u.locale.as_deref().unwrap_or("-");
        println!("{:<36}  {:<16} {email:<28} {locale:<6} {}", u.id, u.user_name, if u.active { "yes" } else { "no" });
    }
    Ok(())
}

/// `sluice entries list`.
pub fn entries_list(component: &str, format: Format, store: &StoreArgs) -> Result<(), Failure> {
    let entries = services(store)?.store.list_entries(component).map_err(store_failure)?;
    if format == Format::Json {
        print_json(&json!(entries));
        return Ok(());
    }
    if entries.is_empty() {
        eprintln!("{component} has no entries");
    }
    for e in entries {
        let deleted = if e.deleted { " (marked for deletion)" } else { "" };
        println!("{}  {}  {}{deleted}", e.id, rfc3339(e.update_date), Value::Object(e.data));
    }
    Ok(())
}

/// The user with this name or id, or a usage error saying there is none.
pub(crate) fn user_named(services: &Services, name: &str) -> Result<sluice::store::User, Failure> {
    services
        .store
        .find_user(name)
        .map_err(store_failure)?
        .ok_or_else(|| Failure::Environment(format!("there is no user named or with id \"{name}\"")))
}

/// `sluice sessions list --user NAME`.
pub fn sessions_list(user: &str, format: Format, store: &StoreArgs) -> Result<(), Failure> {
    let services = services(store)?;
    let user = user_named(&services, user)?;
    let sessions = services.store.list_sessions(&user.id, services.clock.now()).map_err(store_failure)?;
    // The token hashes stay in the store: what a person needs is when and from where.
    let shown: Vec<Value> = sessions
        .iter()
        .map(|s| {
            json!({
                "client": s.client,
                "methods": method_names(s),
                "createdAt": rfc3339(s.created_at),
                "lastUsedAt": rfc3339(s.last_used_at),
                "expiresAt": rfc3339(s.expires_at),
            })
        })
        .collect();
    if format == Format::Json {
        print_json(&json!(shown));
        return Ok(());
    }
    if sessions.is_empty() {
        println!("{} has no live session", user.user_name);
    }
    for s in &sessions {
        let (since, until, methods) = (rfc3339(s.created_at), rfc3339(s.expires_at), method_names(s).join("+"));
        println!("{since}  until {until}  client {}  earned with {methods}", s.client);
    }
    Ok(())
}

/// How a session was earned (`pwd`, `otp`).
fn method_names(session: &sluice::store::Session) -> Vec<&'static str> {
    session.methods.iter().map(|f| f.method.name()).collect()
}

/// `sluice sessions revoke --user NAME`.
pub fn sessions_revoke(user: &str, store: &StoreArgs) -> Result<(), Failure> {
    let services = services(store)?;
    let user = user_named(&services, user)?;
    let ended = services.store.end_sessions(&user.id, None).map_err(store_failure)?;
    println!("{ended} session(s) of {} ended", user.user_name);
    Ok(())
}

/// `sluice users unlock NAME`.
pub fn users_unlock(user: &str, store: &StoreArgs) -> Result<(), Failure> {
    let services = services(store)?;
    let user = user_named(&services, user)?;
    services.store.unlock(&user.id).map_err(store_failure)?;
    println!("{} is unlocked", user.user_name);
    Ok(())
}

/// `sluice runs list`.
pub fn runs_list(limit: usize, format: Format, store: &StoreArgs) -> Result<(), Failure> {
    let runs = services(store)?.store.list_runs(None, limit).map_err(store_failure)?;
    if format == Format::Json {
        print_json(&json!(runs));
        return Ok(());
    }
    for r in runs {
        let why = r.message.map(|m| format!("  {m}")).unwrap_or_default();
        println!("{}  {}/{}  {}  {} µs{why}", rfc3339(r.started_at), r.component, r.dataflow, r.status, r.duration_us);
    }
    Ok(())
}

/// `sluice outbox list`.
pub fn outbox_list(
    user: Option<&str>,
    failed: bool,
    limit: usize,
    format: Format,
    store: &StoreArgs,
) -> Result<(), Failure> {
    let services = services(store)?;
    let user_id = user.map(|name| user_named(&services, name).map(|u| u.id)).transpose()?;
    let status = failed.then_some(sluice::store::MessageStatus::Failed);
    let messages = services.store.list_messages(user_id.as_deref(), status, limit).map_err(store_failure)?;
    if format == Format::Json {
        print_json(&json!(messages));
        return Ok(());
    }
    for m in messages {
        let status = json!(m.status);
        let error = m.last_error.map(|e| format!("  ({e})")).unwrap_or_default();
        println!(
            "{}  {:<7} {:<7} {} attempt(s)  to {}  \"{}\"{error}",
            rfc3339(m.created_at),
            m.channel.name(),
            status.as_str().unwrap_or_default(),
            m.attempts,
            m.recipient,
            m.subject
        );
        if !m.body.is_empty() {
            println!("    {}", m.body.replace('\n', "\n    "));
        }
    }
    Ok(())
}

/// `sluice outbox retry`.
pub fn outbox_retry(store: &StoreArgs) -> Result<(), Failure> {
    let services = services(store)?;
    let (delivered, errors) = sluice::notify::retry_failed(&services).map_err(store_failure)?;
    println!("{delivered} message(s) delivered, {} still failing", errors.len());
    for e in &errors {
        eprintln!("{e}");
    }
    if errors.is_empty() { Ok(()) } else { Err(Failure::Invalid) }
}

/// The options of `sluice serve`.
pub struct ServeOptions {
    /// Where to listen.
    pub addr: std::net::SocketAddr,
    /// The body limit.
    pub body_limit: usize,
    /// Builder tokens.
    pub admin_tokens: Vec<String>,
    /// Users to import first.
    pub users: Option<PathBuf>,
    /// Keep each run's input and trace.
    pub run_details: bool,
    /// How long run records are kept.
    pub keep_runs: std::time::Duration,
    /// The client of every run.
    pub client: String,
    /// Whether a password alone opens a session.
    pub password_sessions: bool,
    /// The component the web page signs in with.
    pub signin_component: String,
    /// The components behind the web page's account pages.
    pub account_components: sluice_server::AccountComponents,
    /// Where end users reach the server: the start of account links.
    pub public_url: Option<String>,
    /// Proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<sluice_server::IpNet>,
    /// Where to serve `/metrics` without a credential, if anywhere.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Threads for runs and store calls (`None`: the store's default).
    pub workers: Option<usize>,
}

/// `sluice serve`.
pub fn serve(options: ServeOptions, store: &StoreArgs) -> Result<(), Failure> {
    let environment = |e: &dyn std::fmt::Display| Failure::Environment(e.to_string());
    let ServeOptions {
        addr,
        body_limit,
        admin_tokens,
        users,
        run_details,
        keep_runs,
        client,
        password_sessions,
        signin_component,
        account_components,
        public_url,
        trusted_proxies,
        metrics_addr,
        workers,
    } = options;
    if admin_tokens.is_empty() {
        eprintln!("warning: SLUICE_ADMIN_TOKENS is empty: builder endpoints will answer 401 to everyone");
    }
    let mut services = services(store)?;
    if let Some(url) = &public_url {
        services = services.with_public_url(url);
    }
    if let Some(file) = users {
        import_users_into(&file, &services)?;
    }
    let workers = workers.unwrap_or_else(|| sluice_server::default_workers(services.store.as_ref()));
    let engine = Engine::builder().services(services).build().map_err(|e| environment(&e))?;
    let config = sluice_server::ServerConfig {
        body_limit,
        admin_tokens,
        keep_run_details: run_details,
        run_retention: keep_runs,
        client,
        password_sessions,
        signin_component,
        account_components,
        limits: sluice_server::LimitConfig { trusted_proxies, ..Default::default() },
        ..Default::default()
    };
    let engine = std::sync::Arc::new(engine);
    let state = sluice_server::AppState::new(engine.clone(), &config).map_err(|e| environment(&e))?;
    let state = std::sync::Arc::new(state);
    let app = sluice_server::router(state.clone(), &config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(workers)
        .enable_all()
        .build()
        .map_err(|e| environment(&e))?;
    runtime.block_on(async {
        let listener =
            sluice_server::listen(addr).map_err(|e| Failure::Environment(format!("cannot listen on {addr}: {e}")))?;
        eprintln!("sluice serving http://{} (store {})", listener.local_addr().map_or(addr, |a| a), store.store);
        if let Some(metrics_addr) = metrics_addr {
            let listener = sluice_server::listen(metrics_addr)
                .map_err(|e| Failure::Environment(format!("cannot listen on {metrics_addr}: {e}")))?;
            eprintln!("sluice metrics on http://{}/metrics", listener.local_addr().map_or(metrics_addr, |a| a));
            let metrics = sluice_server::metrics_router(state);
            tokio::spawn(sluice_server::serve(listener, metrics, shutdown_signal()));
        }
        let config = config.clone();
        tokio::spawn(async move { sluice_server::housekeeping(engine, &config).await });
        sluice_server::serve(listener, app, shutdown_signal()).await.map_err(|e| environment(&e))
    })
}

/// Completes on ctrl-c or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    eprintln!("sluice: shutting down after the requests in flight");
}
