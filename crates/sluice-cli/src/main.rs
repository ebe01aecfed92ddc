//! `sluice`: validate component files, list the step catalog, run dataflows, manage the
//! store's users and entries, and replay the ForTestCode scenario.
//!
//! Exit codes: 0 success, 1 the component, its dataflow or its input is wrong,
//! 2 usage or environment (bad flags, unreadable files).

mod accounts;
mod commands;

/// jemalloc: the server's many small, short-lived allocations across threads contend in
/// glibc's allocator, and under load it answered faster and with a shorter tail than
/// mimalloc (see docs/performance.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Sluice runs low-code dataflows described in component files.
#[derive(Debug, Parser)]
#[command(name = "sluice", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where state lives; used by the commands that need a store.
#[derive(Debug, clap::Args)]
pub(crate) struct StoreArgs {
    /// The store: memory: or sqlite:PATH.
    #[arg(long, global = true, env = "SLUICE_STORE", default_value = sluice::setup::DEFAULT_STORE)]
    pub(crate) store: String,
    /// The server secret that keys one-time code hashes (at least 32 characters). Without it
    /// a key file beside the SQLite file is used, made on first use.
    #[arg(long = "secret-from-env", global = true, env = "SLUICE_SECRET", hide = true, hide_env_values = true)]
    secret: Option<String>,
    /// Earlier secrets, comma-separated, whose codes still confirm after a rotation.
    #[arg(
        long = "previous-secrets-from-env",
        global = true,
        env = "SLUICE_SECRET_PREVIOUS",
        hide = true,
        hide_env_values = true
    )]
    previous: Option<String>,
    /// The SMTP server for `Smtp` notifications: smtp://user:pass@host:port (?tls=required for
    /// STARTTLS) or smtps://…
    #[arg(long = "smtp-url-from-env", env = "SLUICE_SMTP_URL", global = true, hide = true, hide_env_values = true)]
    smtp_url: Option<String>,
    /// A PEM file with the certificate of a private certificate authority that signed the SMTP
    /// server's certificate.
    #[arg(long = "smtp-ca", env = "SLUICE_SMTP_CA", global = true, hide = true)]
    smtp_ca: Option<std::path::PathBuf>,
    /// The sender address of e-mails.
    #[arg(long = "smtp-from", env = "SLUICE_SMTP_FROM", global = true, hide = true)]
    smtp_from: Option<String>,
    /// Where `Webhook` notifications are POSTed.
    #[arg(long = "webhook-url", env = "SLUICE_WEBHOOK_URL", global = true, hide = true)]
    webhook_url: Option<String>,
    /// The file declaring the connectors Execute API call may call (base URL, headers with
    /// secrets from the environment, timeout, retries, answer size).
    #[arg(long = "connectors", env = "SLUICE_CONNECTORS", global = true)]
    connectors: Option<std::path::PathBuf>,
}

impl StoreArgs {
    pub(crate) fn channels(&self) -> sluice::setup::Channels {
        sluice::setup::Channels {
            smtp_url: self.smtp_url.clone(),
            smtp_ca: self.smtp_ca.clone(),
            smtp_from: self.smtp_from.clone(),
            webhook_url: self.webhook_url.clone(),
            connectors: self.connectors.clone(),
        }
    }

    pub(crate) fn secrets(&self) -> sluice::setup::Secrets {
        sluice::setup::Secrets {
            current: self.secret.clone(),
            previous: self.previous.iter().flat_map(|p| p.split(',')).map(str::to_owned).collect(),
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check component files and report every problem with its place.
    ///
    /// Each problem is printed as FILE:LINE:COL: /json/pointer: message.
    /// Exits 0 when every file is valid, 1 when any is not.
    Validate {
        /// Component files to check.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// List the step types with their settings, labelled in one language.
    Steps {
        /// Language of titles and labels.
        #[arg(long, value_enum, default_value_t = LangArg::En)]
        lang: LangArg,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Run one dataflow of a component and print its response.
    ///
    /// Exits 1, naming the failing step, when the run fails.
    Run {
        /// The component file.
        file: std::path::PathBuf,
        /// Another component file whose entries the dataflow may read or write (repeat it).
        #[arg(long = "with", value_name = "FILE")]
        with: Vec<std::path::PathBuf>,
        /// Name of the dataflow to run.
        #[arg(long, short)]
        dataflow: String,
        /// The action model as JSON, such as '{"data":{"UserName":"ann"}}' (default: {"data":{}}).
        #[arg(long, conflicts_with = "input_file")]
        input: Option<String>,
        /// Read the action model from a JSON file ("-" for standard input).
        #[arg(long)]
        input_file: Option<std::path::PathBuf>,
        /// The calling user (name or id).
        #[arg(long)]
        user: Option<String>,
        /// The client or application making the request (one-time codes are bound to it).
        #[arg(long, default_value = "cli")]
        client: String,
        /// Include every step's emitted items, duration and status.
        #[arg(long)]
        trace: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Replay the ForTestCode scenario of an example folder against a fresh store.
    ///
    /// The folder holds component.json (dataflows GetCode and ConfirmCode) and users.json.
    /// Checks that the modal shows the code stored in the entry, that the code confirms once,
    /// fails the second time, fails when wrong and fails after its lifetime. A folder of
    /// several components without component.json replays its tests.json, each case on a fresh
    /// SQLite file. Exits 1 when a check fails.
    Replay {
        /// The example folder, such as examples/for-test-code.
        dir: std::path::PathBuf,
        /// Replay against this store instead of a fresh SQLite file (memory: or sqlite:PATH).
        #[arg(long)]
        store: Option<String>,
        /// The calling user (default: the first user of users.json).
        #[arg(long)]
        user: Option<String>,
        /// The client the codes are issued for.
        #[arg(long, default_value = "workplace")]
        client: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Run the tests kept beside components (each folder's tests.json).
    ///
    /// Every case runs on a fresh in-memory store with the folder's users and the case's
    /// entries, on a fixed clock. Prints each case and every difference found; exits 0 when
    /// all pass, 1 when a case fails or a file is wrong, 2 when a path cannot be read.
    Test {
        /// Folders holding tests.json (or the tests.json files), such as examples/car-dealership.
        #[arg(required = true)]
        paths: Vec<std::path::PathBuf>,
        /// Also write the results as JUnit XML to this file.
        #[arg(long)]
        junit: Option<std::path::PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Import or list the store's users.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List the entries a component's dataflows stored.
    Entries {
        #[command(subcommand)]
        command: EntriesCommand,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List the outbox (and in-app inbox) of notifications, or send the failed ones again.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List or end the sessions of end users.
    Sessions {
        #[command(subcommand)]
        command: SessionsCommand,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List the records of past runs.
    Runs {
        #[command(subcommand)]
        command: RunsCommand,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Serve the builder's HTTP API and the web page.
    ///
    /// Builder endpoints need `Authorization: Bearer <token>` with a token of
    /// SLUICE_ADMIN_TOKENS (comma-separated, each `name:token` or a token alone); end users
    /// sign in with POST /api/session.
    /// Stops on ctrl-c or SIGTERM after finishing the requests in flight.
    Serve {
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// The largest request body, in bytes.
        #[arg(long, default_value_t = 10 << 20)]
        body_limit: usize,
        /// Builder tokens, comma-separated, each `name:token` or a token alone.
        #[arg(long = "admin-tokens-from-env", env = "SLUICE_ADMIN_TOKENS", hide = true, hide_env_values = true)]
        admin_tokens: Option<String>,
        /// Import these users (a users file) before serving, as `sluice users import` does.
        #[arg(long)]
        users: Option<std::path::PathBuf>,
        /// Keep only run summaries, not each run's input and trace (faster; no replays).
        #[arg(long)]
        no_run_details: bool,
        /// How long run records are kept (a background purge deletes older ones), such as 7d or 12h.
        #[arg(long, default_value = "7d", value_parser = humantime::parse_duration)]
        keep_runs: std::time::Duration,
        /// The client every run of this server is for (one-time codes are bound to it); only a
        /// builder may name another for one request, with the X-Sluice-Client header.
        #[arg(long, default_value = "web")]
        client: String,
        /// Let POST /api/session open a session for a password alone (one factor). Off by
        /// default: end users sign in through a dataflow that confirms a second factor.
        #[arg(long)]
        password_sessions: bool,
        /// The component whose public Login and Verify dataflows the web page signs in with.
        #[arg(long, default_value = "EmailTwoFactor")]
        signin_component: String,
        /// The component behind the web page's "Create an account" and confirmation link page
        /// (public Register and ConfirmEmail dataflows, as examples/signup has).
        #[arg(long)]
        signup_component: Option<String>,
        /// The component behind "Forgot password?" and the reset link page (public
        /// ForgotPassword and ResetPassword, as examples/password-reset has).
        #[arg(long)]
        password_reset_component: Option<String>,
        /// The component behind "Sign in with app" and "Add an authenticator app" (public Login;
        /// Enrol and ConfirmEnrolment, as examples/totp has).
        #[arg(long)]
        authenticator_component: Option<String>,
        /// Where end users reach this server, such as https://app.example.com: the start of the
        /// links that Confirm user email request and Reset user password request make. Without
        /// it those steps fail and say so.
        #[arg(long, value_parser = public_url)]
        public_url: Option<String>,
        /// Proxies in front of the server whose X-Forwarded-For is believed, for the limits per
        /// address: addresses or networks, comma-separated (such as 127.0.0.1,10.0.0.0/8).
        /// From anyone else the header is ignored.
        #[arg(long, value_parser = trusted_proxies)]
        trusted_proxies: Option<Networks>,
        /// Also serve GET /metrics without a credential on this address (one only the
        /// monitoring reaches, such as 127.0.0.1:9090); on the main address it stays for builders.
        #[arg(long)]
        metrics_addr: Option<std::net::SocketAddr>,
        /// Threads that run dataflows and store calls (default: 16 per core and at least 32 for SQLite
        /// and PostgreSQL, 4 per core and at least 8 for memory); requests beyond them wait their turn.
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
        workers: Option<u16>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Write the JSON Schemas of component files and step settings into a folder.
    Schemas {
        /// The folder (created when missing); `schemas/` in the repository.
        #[arg(long, default_value = "schemas")]
        out: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Create or update users from a JSON array (userName, email, phone, firstName, lastName,
    /// locale, active, password, id). Passwords are hashed with Argon2id; all or none are written.
    Import {
        /// The users file.
        file: std::path::PathBuf,
    },
    /// List the users (never their password hashes).
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Lift a user's locks (after too many failed logins or codes, 100 in a row lock until
    /// unlocked) and forget their failures.
    Unlock {
        /// The user's name or id.
        user: String,
    },
    /// Add one user. With --password-stdin the first line of standard input is the password
    /// (8 to 128 characters, not holding the user name, not a common one); never pass it as an
    /// argument.
    Add {
        /// The user name (unique; names ignore case).
        user: String,
        /// E-mail address.
        #[arg(long)]
        email: Option<String>,
        /// Phone number.
        #[arg(long)]
        phone: Option<String>,
        /// Given name.
        #[arg(long)]
        first_name: Option<String>,
        /// Family name.
        #[arg(long)]
        last_name: Option<String>,
        /// Preferred language tag, such as fr.
        #[arg(long)]
        locale: Option<String>,
        /// Create the user disabled.
        #[arg(long)]
        inactive: bool,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password from the first line of standard input; their sessions end.
    SetPassword {
        /// The user's name or id.
        user: String,
    },
    /// Disable a user: they can no longer sign in, and their sessions end.
    Deactivate {
        /// The user's name or id.
        user: String,
    },
    /// List a user's roles, after giving (--grant) or taking away (--revoke) some.
    Roles {
        /// The user's name or id.
        user: String,
        /// Give this role (repeat for several), in --context or else the system context.
        #[arg(long)]
        grant: Vec<String>,
        /// Take away the roles of --context, or else every role.
        #[arg(long)]
        revoke: bool,
        /// The context: a component's name, or system (roles that hold everywhere).
        #[arg(long)]
        context: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum EntriesCommand {
    /// List a component's entries, oldest first.
    List {
        /// The component's name (its "name" in the file).
        component: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
enum OutboxCommand {
    /// List messages, newest first.
    List {
        /// Only the messages of this user (name or id).
        #[arg(long)]
        user: Option<String>,
        /// Only the failed messages.
        #[arg(long)]
        failed: bool,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Send every failed message again. Exits 1 when some still fail.
    Retry,
}

#[derive(Debug, Subcommand)]
enum SessionsCommand {
    /// List a user's live sessions, newest first (never their tokens).
    List {
        /// The user (name or id).
        #[arg(long)]
        user: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// End every session of a user: signed out everywhere at once.
    Revoke {
        /// The user (name or id).
        #[arg(long)]
        user: String,
    },
}

#[derive(Debug, Subcommand)]
enum RunsCommand {
    /// List the newest runs.
    List {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Lines for people.
    Text,
    /// One JSON document for programs.
    Json,
}

/// A language of the catalog.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum LangArg {
    En,
    Fr,
    Es,
    Pt,
    De,
}

impl From<LangArg> for sluice::Lang {
    fn from(lang: LangArg) -> Self {
        match lang {
            LangArg::En => sluice::Lang::En,
            LangArg::Fr => sluice::Lang::Fr,
            LangArg::Es => sluice::Lang::Es,
            LangArg::Pt => sluice::Lang::Pt,
            LangArg::De => sluice::Lang::De,
        }
    }
}

/// What a command ends with.
enum Failure {
    /// The component, dataflow or input is wrong (exit 1); details were printed.
    Invalid,
    /// Usage or environment (exit 2), with the message to print.
    Environment(String),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("SLUICE_LOG").unwrap_or_else(|_| "warn".into()))
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate { files, format } => commands::validate(&files, format),
        Command::Steps { lang, format } => commands::steps(lang.into(), format),
        Command::Run { file, with, dataflow, input, input_file, user, client, trace, format, store } => {
            let input = commands::RunInput { inline: input, file: input_file };
            let cx = sluice::RunContext { user, client: Some(client) };
            commands::run((&file, &with), &dataflow, input, cx, trace, format, &store)
        }
        Command::Replay { dir, store, user, client, format } => {
            let options = sluice::replay::ReplayOptions { store, user, client, ..Default::default() };
            commands::replay(&dir, &options, format)
        }
        Command::Test { paths, junit, format } => commands::test(&paths, junit.as_deref(), format),
        Command::Users { command, store } => match command {
            UsersCommand::Import { file } => commands::users_import(&file, &store),
            UsersCommand::List { format } => commands::users_list(format, &store),
            UsersCommand::Unlock { user } => commands::users_unlock(&user, &store),
            UsersCommand::Add { user, email, phone, first_name, last_name, locale, inactive, password_stdin } => {
                let new = accounts::NewUser {
                    name: user,
                    email,
                    phone,
                    first_name,
                    last_name,
                    locale,
                    inactive,
                    password_stdin,
                };
                accounts::add(new, &store)
            }
            UsersCommand::SetPassword { user } => accounts::set_password(&user, &store),
            UsersCommand::Deactivate { user } => accounts::deactivate(&user, &store),
            UsersCommand::Roles { user, grant, revoke, context } => {
                accounts::roles(&user, accounts::RoleChange { grant, revoke, context }, &store)
            }
        },
        Command::Entries { command: EntriesCommand::List { component, format }, store } => {
            commands::entries_list(&component, format, &store)
        }
        Command::Outbox { command: OutboxCommand::List { user, failed, limit, format }, store } => {
            commands::outbox_list(user.as_deref(), failed, limit, format, &store)
        }
        Command::Outbox { command: OutboxCommand::Retry, store } => commands::outbox_retry(&store),
        Command::Sessions { command: SessionsCommand::List { user, format }, store } => {
            commands::sessions_list(&user, format, &store)
        }
        Command::Sessions { command: SessionsCommand::Revoke { user }, store } => {
            commands::sessions_revoke(&user, &store)
        }
        Command::Runs { command: RunsCommand::List { limit, format }, store } => {
            commands::runs_list(limit, format, &store)
        }
        Command::Schemas { out } => commands::schemas(&out),
        Command::Serve {
            addr,
            body_limit,
            admin_tokens,
            users,
            no_run_details,
            keep_runs,
            client,
            password_sessions,
            signin_component,
            signup_component,
            password_reset_component,
            authenticator_component,
            public_url,
            trusted_proxies,
            metrics_addr,
            workers,
            store,
        } => {
            let tokens = admin_tokens.iter().flat_map(|t| t.split(',')).map(str::trim).filter(|t| !t.is_empty());
            let admin_tokens = tokens.map(str::to_owned).collect();
            let options = commands::ServeOptions {
                addr,
                body_limit,
                admin_tokens,
                users,
                run_details: !no_run_details,
                keep_runs,
                client,
                password_sessions,
                signin_component,
                account_components: sluice_server::AccountComponents {
                    signup: signup_component,
                    password_reset: password_reset_component,
                    authenticator: authenticator_component,
                },
                public_url,
                trusted_proxies: trusted_proxies.map(|n| n.0).unwrap_or_default(),
                metrics_addr,
                workers: workers.map(usize::from),
            };
            commands::serve(options, &store)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Invalid) => ExitCode::from(1),
        Err(Failure::Environment(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// The proxies of `--trusted-proxies`.
#[derive(Debug, Clone)]
struct Networks(Vec<sluice_server::IpNet>);

/// Checks `--public-url`: an absolute http or https address with no query or fragment.
fn public_url(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text).map_err(|e| format!("{e}: write an address such as https://app.example.com"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("write an http or https address with a host, such as https://app.example.com".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the address may not have a query (?) or a fragment (#)".into());
    }
    Ok(text.trim_end_matches('/').to_owned())
}

fn trusted_proxies(text: &str) -> Result<Networks, String> {
    sluice_server::parse_networks(text).map(Networks)
}
