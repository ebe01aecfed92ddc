//! Sluice's embedded store: one SQLite file (created on first use) in WAL mode with
//! `synchronous=NORMAL`, migrated to the current schema when opened.
//!
//! Durability: with WAL and `synchronous=NORMAL` a committed write survives a crash of the
//! process; a power loss or OS crash may lose the last transactions, never corrupt the file.
//! A run's record is the one write not waited for: it is committed with the writer's next
//! batch, so a crash within that batch may lose the records of runs already answered (never
//! their codes or entries); `get_run` and `list_runs` wait for it.
//!
//! Reads run on a pool of read-only connections ([`readers`]); writes go through one writing
//! connection ([`writer`]) that commits the writes waiting at that moment together, each in a
//! savepoint of its own, and answers only after the commit. A write that reads then writes
//! (issuing a code, counting a failure) is one job, so nothing else writes in between.

mod accounts;
mod checkpoints;
mod details;
mod migrations;
mod readers;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, StatementStatus, TransactionBehavior, params};
use serde_json::{Map, Value};
use sluice_core::Millis;
use sluice_core::store::{
    Channel, CodeStatus, CodeStore, ComponentStore, Entry, EntryStore, EntryWrite, HOUR, IssueLimits, Issued, Message,
    MessageStatus, NewCode, OutboxStore, Purge, Role, RunRecord, RunStore, Session, SessionStore, Store, StoreError,
    StoredCode, StoredComponent, User, UserStore, check_issue_limits, duplicate_key, entry_not_found,
    factors_from_text, factors_to_text,
};

use checkpoints::Checkpointer;
use details::StoredDetail;
use migrations::MIGRATIONS;
use readers::Readers;
use writer::Writer;

/// A store in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    readers: Readers,
    /// One writing connection per store: SQLite has one writer at a time anyway, and batching
    /// the writes waiting beats taking turns on a lock (whose holder the scheduler may pause)
    /// or SQLite's busy handler (which sleeps with back-off). Other processes on the same file
    /// still wait via `busy_timeout`.
    writer: Arc<Writer>,
    /// WAL checkpoints, off the writing connection's commits.
    _checkpoints: Checkpointer,
}

/// How a sequence of statements can fail: SQLite's error (the store names the file with it) or
/// one of the store's own.
#[derive(Debug)]
pub(crate) enum Failure {
    Sql(rusqlite::Error),
    Store(StoreError),
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Failure::Sql(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

impl Failure {
    fn into_store_error(self, path: &Path) -> StoreError {
        match self {
            Failure::Sql(e) => unavailable(path, e),
            Failure::Store(e) => e,
        }
    }
}

impl SqliteStore {
    /// Opens (creating it when needed, mode 0600, in a folder made with mode 0700) the database
    /// at `path` and migrates it. SQLite gives its log and shared-memory files the database
    /// file's mode.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        match sluice_core::files::create_private_file(&path) {
            // Made here, or already there (another process may have made it meanwhile).
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(StoreError::Unavailable(format!("cannot create {}: {e}", path.display()))),
        }
        let mut conn = connect(&path)?;
        migrate(&mut conn)?;
        let (writer, checkpoints) = Checkpointer::start(&path, conn)?;
        Ok(SqliteStore { path, readers: Readers::default(), writer, _checkpoints: checkpoints })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `read` on a read-only connection.
    fn read<T>(&self, read: impl FnOnce(&Connection) -> Result<T, Failure>) -> Result<T, StoreError> {
        self.readers.read(&self.path, read)
    }

    /// Runs `write` in the writer's next batch; returns once it is committed.
    fn write<T: Send + 'static>(
        &self,
        write: impl FnOnce(&Connection) -> Result<T, Failure> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.writer.write(write)
    }
}

/// Opens the writing connection.
fn connect(path: &Path) -> Result<Connection, StoreError> {
    let fail = |e: rusqlite::Error| unavailable(path, e);
    let conn = Connection::open(path).map_err(fail)?;
    configure(&conn).map_err(fail)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(fail)?;
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(fail)?;
    Ok(conn)
}

/// What every connection of the store has: a wait for other processes' locks, a statement
/// cache, and plans that never depend on the values bound.
///
/// Without that last setting, SQLite plans a statement again whenever a value bound to it might
/// change the plan — in practice at every call of a lookup on part of a key (`WHERE name = ?1`
/// on `components (name, version)`, `WHERE user_id = ?1` on `otp_codes (user_id, purpose)`):
/// parsing it again was 7% of a SQLite server's time under load (docs/performance.md). The
/// store's queries are keyed lookups whose best plan does not depend on the value.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(64);
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

fn unavailable(path: &Path, e: rusqlite::Error) -> StoreError {
    let hint = match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => " (the file is not a Sluice database)",
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => " (another process holds the database)",
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => {
            " (check the file's permissions)"
        }
        _ => "",
    };
    StoreError::Unavailable(format!("{}: {e}{hint}", path.display()))
}

/// Runs a statement through the connection's statement cache (the hot paths prepare nothing).
fn exec(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
    let mut statement = conn.prepare_cached(sql)?;
    let changed = statement.execute(params);
    planned_once(&statement, sql);
    changed
}

/// Reads one row through the statement cache.
fn row<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    read: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    let mut statement = conn.prepare_cached(sql)?;
    let read = statement.query_row(params, read);
    planned_once(&statement, sql);
    read
}

/// Reads every row through the statement cache.
fn all_rows<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    read: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let mut statement = conn.prepare_cached(sql)?;
    let rows = statement.query_map(params, read)?.collect();
    planned_once(&statement, sql);
    rows
}

/// Checks, in debug builds (every test), that a cached statement was never planned again;
/// release builds do nothing here.
fn planned_once(statement: &rusqlite::Statement<'_>, sql: &str) {
    if cfg!(debug_assertions) {
        let again = statement.get_status(StatementStatus::RePrepare);
        assert_eq!(again, 0, "SQLite planned this statement again ({again} times; see `configure`): {sql}");
    }
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let fail = |e: rusqlite::Error| StoreError::Unavailable(format!("cannot migrate the database: {e}"));
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(fail)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(fail)?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::Unavailable(format!(
            "the database has schema version {version}, newer than this Sluice knows ({known}); upgrade Sluice"
        )));
    }
    for (migration, to) in MIGRATIONS.iter().zip(1..).skip(usize::try_from(version).unwrap_or(0)) {
        tx.execute_batch(migration).map_err(fail)?;
        tx.pragma_update(None, "user_version", to).map_err(fail)?;
    }
    tx.commit().map_err(fail)
}

fn user_from(row: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get("id")?,
        user_name: row.get("user_name")?,
        email: row.get("email")?,
        phone: row.get("phone")?,
        first_name: row.get("first_name")?,
        last_name: row.get("last_name")?,
        locale: row.get("locale")?,
        active: row.get("active")?,
        email_verified: row.get("email_verified")?,
        password_hash: row.get("password_hash")?,
        roles: Vec::new(),
    })
}

/// `user` with the roles it holds.
fn with_roles(conn: &Connection, mut user: User) -> rusqlite::Result<User> {
    user.roles = all_rows(
        conn,
        "SELECT context, name FROM user_roles WHERE user_id = ?1 ORDER BY context, name",
        params![user.id],
        |r| Ok(Role { context: r.get(0)?, name: r.get(1)? }),
    )?;
    Ok(user)
}

/// Writes `user` under `id`: a new row, or the row that has the id.
fn write_user(conn: &Connection, id: &str, user: &User) -> Result<(), Failure> {
    exec(
        conn,
        "INSERT INTO users (id, user_name, user_name_key, email, phone, first_name, last_name, locale,
                            active, password_hash, email_verified)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (id) DO UPDATE SET user_name = ?2, user_name_key = ?3, email = ?4, phone = ?5,
            first_name = ?6, last_name = ?7, locale = ?8, active = ?9, password_hash = ?10, email_verified = ?11",
        params![
            id,
            user.user_name,
            user.user_name.to_lowercase(),
            user.email,
            user.phone,
            user.first_name,
            user.last_name,
            user.locale,
            user.active,
            user.password_hash,
            user.email_verified
        ],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            Failure::Store(StoreError::Duplicate(format!("a user named \"{}\" already exists", user.user_name)))
        } else {
            Failure::Sql(e)
        }
    })?;
    Ok(())
}

impl UserStore for SqliteStore {
    fn import_users(&self, users: &[User]) -> Result<usize, StoreError> {
        let users = users.to_vec();
        self.write(move |conn| {
            for user in &users {
                let existing: Option<String> = row(
                    conn,
                    "SELECT id FROM users WHERE id = ?1 OR user_name_key = ?2 ORDER BY id = ?1 DESC LIMIT 1",
                    params![user.id, user.user_name.to_lowercase()],
                    |r| r.get(0),
                )
                .optional()?;
                let id = existing.unwrap_or_else(|| user.id.clone());
                write_user(conn, &id, user)?;
            }
            Ok(users.len())
        })
    }

    fn find_user(&self, name_or_id: &str) -> Result<Option<User>, StoreError> {
        self.read(|conn| {
            // Two indexed lookups: an OR over both columns would make SQLite sort.
            let by_id = row(conn, "SELECT * FROM users WHERE id = ?1", params![name_or_id], user_from).optional()?;
            let user = match by_id {
                Some(user) => Some(user),
                None => row(
                    conn,
                    "SELECT * FROM users WHERE user_name_key = ?1",
                    params![name_or_id.to_lowercase()],
                    user_from,
                )
                .optional()?,
            };
            Ok(user.map(|user| with_roles(conn, user)).transpose()?)
        })
    }

    fn list_users(&self) -> Result<Vec<User>, StoreError> {
        self.read(|conn| {
            let users = all_rows(conn, "SELECT * FROM users ORDER BY user_name_key", [], user_from)?;
            Ok(users.into_iter().map(|user| with_roles(conn, user)).collect::<rusqlite::Result<_>>()?)
        })
    }
}

const CODE_COLUMNS: &str =
    "id, client, key_id, mac, length, expires_at, attempts, max_attempts, status, purpose, factors";

fn code_from(row: &Row<'_>) -> rusqlite::Result<StoredCode> {
    let status: String = row.get(8)?;
    Ok(StoredCode {
        id: row.get(0)?,
        purpose: row.get(9)?,
        client: row.get(1)?,
        key_id: row.get(2)?,
        mac: row.get(3)?,
        length: row.get(4)?,
        expires_at: row.get(5)?,
        attempts: row.get(6)?,
        max_attempts: row.get(7)?,
        status: if status == "live" { CodeStatus::Live } else { CodeStatus::Used },
        factors: factors_from_text(&row.get::<_, String>(10)?),
    })
}

impl CodeStore for SqliteStore {
    fn issue_code(&self, code: &NewCode, limits: &IssueLimits) -> Result<Issued, StoreError> {
        let (code, limits) = (code.clone(), *limits);
        self.write(move |conn| {
            let recent: Option<String> = row(
                conn,
                "SELECT recent FROM otp_codes WHERE user_id = ?1 AND purpose = ?2",
                params![code.user_id, code.purpose],
                |r| r.get(0),
            )
            .optional()?;
            let recent: Vec<Millis> = recent.iter().flat_map(|r| r.split(',')).filter_map(|t| t.parse().ok()).collect();
            let recent = match check_issue_limits(&recent, code.issued_at, &limits) {
                Ok(recent) => recent,
                Err(retry_after) => return Ok(Issued::Limited { retry_after }),
            };
            let recent = recent.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
            exec(
                conn,
                "INSERT INTO otp_codes (user_id, purpose, id, key_id, mac, length, issued_at, expires_at, attempts,
                                        max_attempts, status, recent, client, factors)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, 'live', ?10, ?11, ?12)
                 ON CONFLICT (user_id, purpose) DO UPDATE SET id = ?3, key_id = ?4, mac = ?5, length = ?6,
                    issued_at = ?7, expires_at = ?8, attempts = 0, max_attempts = ?9, status = 'live', recent = ?10,
                    client = ?11, factors = ?12",
                params![
                    code.user_id,
                    code.purpose,
                    code.id,
                    code.key_id,
                    code.mac,
                    code.length,
                    code.issued_at,
                    code.expires_at,
                    code.max_attempts,
                    recent,
                    code.client,
                    factors_to_text(&code.factors)
                ],
            )?;
            Ok(Issued::Stored)
        })
    }

    fn attempt_code(&self, user_id: &str, purpose: &str) -> Result<Option<StoredCode>, StoreError> {
        let (user_id, purpose) = (user_id.to_owned(), purpose.to_owned());
        self.write(move |conn| {
            Ok(row(
                conn,
                &format!(
                    "UPDATE otp_codes SET attempts = attempts + 1
                      WHERE user_id = ?1 AND purpose = ?2 AND status = 'live' RETURNING {CODE_COLUMNS}"
                ),
                params![user_id, purpose],
                code_from,
            )
            .optional()?)
        })
    }

    fn consume_code(&self, user_id: &str, purpose: &str, id: &str, now: Millis) -> Result<bool, StoreError> {
        let (user_id, purpose, id) = (user_id.to_owned(), purpose.to_owned(), id.to_owned());
        self.write(move |conn| {
            let changed = exec(
                conn,
                "UPDATE otp_codes SET status = 'used'
                  WHERE user_id = ?1 AND purpose = ?2 AND id = ?3 AND status = 'live' AND expires_at > ?4",
                params![user_id, purpose, id, now],
            )?;
            Ok(changed == 1)
        })
    }

    fn newest_code(&self, user_id: &str) -> Result<Option<StoredCode>, StoreError> {
        self.read(|conn| {
            Ok(row(
                conn,
                &format!("SELECT {CODE_COLUMNS} FROM otp_codes WHERE user_id = ?1 ORDER BY issued_at DESC LIMIT 1"),
                params![user_id],
                code_from,
            )
            .optional()?)
        })
    }

    fn record_failure(&self, subject: &str, scope: &str, now: Millis, since: Millis) -> Result<u32, StoreError> {
        let (subject, scope) = (subject.to_owned(), scope.to_owned());
        self.write(move |conn| {
            exec(
                conn,
                "DELETE FROM otp_failures WHERE subject = ?1 AND scope = ?2 AND at <= ?3",
                params![subject, scope, since],
            )?;
            exec(
                conn,
                "INSERT INTO otp_failures (subject, scope, at) VALUES (?1, ?2, ?3)",
                params![subject, scope, now],
            )?;
            Ok(row(
                conn,
                "SELECT count(*) FROM otp_failures WHERE subject = ?1 AND scope = ?2",
                params![subject, scope],
                |r| r.get(0),
            )?)
        })
    }

    fn lock(&self, subject: &str, scope: &str, until: Millis) -> Result<(), StoreError> {
        let (subject, scope) = (subject.to_owned(), scope.to_owned());
        self.write(move |conn| {
            exec(
                conn,
                "INSERT INTO otp_locks (subject, scope, until) VALUES (?1, ?2, ?3)
                 ON CONFLICT (subject, scope) DO UPDATE SET until = max(until, ?3)",
                params![subject, scope, until],
            )?;
            Ok(())
        })
    }

    fn locked_until(&self, subject: &str, scope: &str, now: Millis) -> Result<Option<Millis>, StoreError> {
        self.read(|conn| {
            Ok(row(
                conn,
                "SELECT until FROM otp_locks WHERE subject = ?1 AND scope = ?2 AND until > ?3",
                params![subject, scope, now],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    fn clear_failures(&self, subject: &str, scope: &str) -> Result<(), StoreError> {
        let (subject, scope) = (subject.to_owned(), scope.to_owned());
        self.write(move |conn| {
            exec(conn, "DELETE FROM otp_failures WHERE subject = ?1 AND scope = ?2", params![subject, scope])?;
            exec(conn, "DELETE FROM otp_streaks WHERE subject = ?1 AND scope = ?2", params![subject, scope])?;
            Ok(())
        })
    }

    fn add_consecutive_failure(&self, subject: &str, scope: &str) -> Result<u32, StoreError> {
        let (subject, scope) = (subject.to_owned(), scope.to_owned());
        self.write(move |conn| {
            Ok(row(
                conn,
                "INSERT INTO otp_streaks (subject, scope, failures) VALUES (?1, ?2, 1)
                 ON CONFLICT (subject, scope) DO UPDATE SET failures = failures + 1 RETURNING failures",
                params![subject, scope],
                |r| r.get(0),
            )?)
        })
    }

    fn unlock(&self, subject: &str) -> Result<(), StoreError> {
        let subject = subject.to_owned();
        self.write(move |conn| {
            for table in ["otp_failures", "otp_locks", "otp_streaks"] {
                exec(conn, &format!("DELETE FROM {table} WHERE subject = ?1"), params![subject])?;
            }
            Ok(())
        })
    }
}

fn entry_from(row: &Row<'_>) -> rusqlite::Result<Entry> {
    let data: String = row.get("data")?;
    Ok(Entry {
        id: row.get("id")?,
        name: row.get("name")?,
        data: serde_json::from_str(&data).unwrap_or_default(),
        deleted: row.get("deleted")?,
        creator_subject: row.get("creator_subject")?,
        update_subject: row.get("update_subject")?,
        created_date: row.get("created_date")?,
        update_date: row.get("update_date")?,
    })
}

/// A taken key is the builder's duplicate, any other error SQLite's.
fn entry_write_error(write: &EntryWrite) -> impl Fn(rusqlite::Error) -> Failure + '_ {
    move |e| match (&write.key, is_unique_violation(&e)) {
        (Some(key), true) => Failure::Store(duplicate_key(&write.component, key)),
        _ => Failure::Sql(e),
    }
}

impl EntryStore for SqliteStore {
    fn create_entry(&self, id: &str, write: &EntryWrite) -> Result<(), StoreError> {
        let (id, mut write) = (id.to_owned(), write.clone());
        // Serialized before the job, so the batch holds the connection for less.
        let data = Value::Object(std::mem::take(&mut write.data)).to_string();
        self.write(move |conn| {
            exec(
                conn,
                "INSERT INTO entries (component, id, name, data, key, creator_subject, update_subject, created_date,
                                      update_date)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?7)",
                params![write.component, id, write.name, data, write.key, write.subject, write.at],
            )
            .map_err(entry_write_error(&write))?;
            Ok(())
        })
    }

    fn update_entry(&self, id: &str, write: &EntryWrite) -> Result<(), StoreError> {
        let (id, mut write) = (id.to_owned(), write.clone());
        let fields = std::mem::take(&mut write.data);
        self.write(move |conn| {
            let stored: Option<String> = row(
                conn,
                "SELECT data FROM entries WHERE component = ?1 AND id = ?2",
                params![write.component, id],
                |r| r.get(0),
            )
            .optional()?;
            let Some(stored) = stored else { return Err(entry_not_found(&write.component, &id).into()) };
            let mut data: Map<String, Value> = serde_json::from_str(&stored).unwrap_or_default();
            data.extend(fields);
            exec(
                conn,
                "UPDATE entries SET data = ?3, key = ?4, name = coalesce(?5, name),
                        update_subject = CASE WHEN ?8 THEN ?6 ELSE update_subject END,
                        update_date = CASE WHEN ?8 THEN ?7 ELSE update_date END
                  WHERE component = ?1 AND id = ?2",
                params![
                    write.component,
                    id,
                    Value::Object(data).to_string(),
                    write.key,
                    write.name,
                    write.subject,
                    write.at,
                    write.tracked
                ],
            )
            .map_err(entry_write_error(&write))?;
            Ok(())
        })
    }

    fn mark_entry_deleted(
        &self,
        component: &str,
        id: &str,
        subject: Option<&str>,
        at: Millis,
    ) -> Result<(), StoreError> {
        let (component, id, subject) = (component.to_owned(), id.to_owned(), subject.map(str::to_owned));
        self.write(move |conn| {
            let changed = exec(
                conn,
                "UPDATE entries SET deleted = 1, update_subject = ?3, update_date = ?4
                  WHERE component = ?1 AND id = ?2",
                params![component, id, subject, at],
            )?;
            if changed == 1 { Ok(()) } else { Err(entry_not_found(&component, &id).into()) }
        })
    }

    fn get_entry(&self, component: &str, id: &str) -> Result<Option<Entry>, StoreError> {
        self.read(|conn| {
            Ok(row(conn, "SELECT * FROM entries WHERE component = ?1 AND id = ?2", params![component, id], entry_from)
                .optional()?)
        })
    }

    fn find_entry_by_key(&self, component: &str, key: &str) -> Result<Option<Entry>, StoreError> {
        self.read(|conn| Ok(row(conn, ENTRY_BY_KEY, params![component, key], entry_from).optional()?))
    }

    fn list_entries(&self, component: &str) -> Result<Vec<Entry>, StoreError> {
        self.read(|conn| {
            let sql = "SELECT * FROM entries WHERE component = ?1 ORDER BY created_date, id";
            Ok(all_rows(conn, sql, params![component], entry_from)?)
        })
    }
}

/// An entry by its primary key, answered by the partial unique index `entries_primary_key`.
const ENTRY_BY_KEY: &str = "SELECT * FROM entries WHERE component = ?1 AND key = ?2 AND deleted = 0";

fn run_from(row: &Row<'_>) -> rusqlite::Result<RunRecord> {
    Ok(RunRecord {
        id: row.get("id")?,
        component: row.get("component")?,
        dataflow: row.get("dataflow")?,
        user: row.get("user")?,
        client: row.get("client")?,
        started_at: row.get("started_at")?,
        duration_us: row.get("duration_us")?,
        status: row.get("status")?,
        failed_step: row.get("failed_step")?,
        message: row.get("message")?,
        input: details::read(row, "input")?,
        trace: details::read(row, "trace")?,
        outcome: details::read(row, "outcome")?,
    })
}

impl RunStore for SqliteStore {
    fn record_run(&self, mut run: RunRecord) -> Result<(), StoreError> {
        let [input, trace, outcome] =
            [run.input.take(), run.trace.take(), run.outcome.take()].map(|d| d.map(StoredDetail::new));
        // Runs finishing together share the writer's transaction; the run's answer does not
        // wait for it (`list_runs` and `get_run` do).
        self.writer.write_detached("a run's record", move |conn| {
            exec(
                conn,
                "INSERT INTO runs (id, component, dataflow, user, client, started_at, duration_us, status,
                                   failed_step, message, input, trace, outcome)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    run.id,
                    run.component,
                    run.dataflow,
                    run.user,
                    run.client,
                    run.started_at,
                    run.duration_us,
                    run.status,
                    run.failed_step,
                    run.message,
                    input,
                    trace,
                    outcome
                ],
            )?;
            Ok(())
        });
        Ok(())
    }

    fn list_runs(&self, component: Option<&str>, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        self.writer.settle()?;
        self.read(|conn| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            Ok(all_rows(
                conn,
                "SELECT id, component, dataflow, user, client, started_at, duration_us, status, failed_step,
                        message, NULL AS input, NULL AS trace, NULL AS outcome
                   FROM runs WHERE ?1 IS NULL OR component = ?1 ORDER BY started_at DESC, rowid DESC LIMIT ?2",
                params![component, limit],
                run_from,
            )?)
        })
    }

    fn get_run(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        self.writer.settle()?;
        self.read(|conn| Ok(row(conn, "SELECT * FROM runs WHERE id = ?1", params![id], run_from).optional()?))
    }
}

impl ComponentStore for SqliteStore {
    fn save_component(&self, name: &str, source: &str, at: Millis, by: Option<&str>) -> Result<i64, StoreError> {
        let (name, source, by) = (name.to_owned(), source.to_owned(), by.map(str::to_owned));
        self.write(move |conn| {
            let version: i64 = row(
                conn,
                "SELECT coalesce(max(version), 0) + 1 FROM components WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )?;
            exec(
                conn,
                "INSERT INTO components (name, version, source, saved_at, saved_by) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![name, version, source, at, by],
            )?;
            Ok(version)
        })
    }

    fn component_version(&self, name: &str) -> Result<Option<i64>, StoreError> {
        self.read(|conn| {
            Ok(row(conn, "SELECT max(version) FROM components WHERE name = ?1", params![name], |r| r.get(0))?)
        })
    }

    fn get_component(&self, name: &str, version: Option<i64>) -> Result<Option<StoredComponent>, StoreError> {
        self.read(|conn| {
            Ok(row(
                conn,
                "SELECT name, version, source, saved_at, saved_by FROM components
                  WHERE name = ?1 AND (?2 IS NULL OR version = ?2) ORDER BY version DESC LIMIT 1",
                params![name, version],
                component_from,
            )
            .optional()?)
        })
    }

    fn list_components(&self) -> Result<Vec<StoredComponent>, StoreError> {
        self.read(|conn| {
            Ok(all_rows(
                conn,
                "SELECT name, max(version) AS version, source, saved_at, saved_by FROM components GROUP BY name ORDER BY name",
                [],
                component_from,
            )?)
        })
    }

    fn delete_component(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_owned();
        self.write(move |conn| Ok(exec(conn, "DELETE FROM components WHERE name = ?1", params![name])? > 0))
    }

    fn rename_component(&self, from: &str, to: &str) -> Result<bool, StoreError> {
        let (from, to) = (from.to_owned(), to.to_owned());
        self.write(move |conn| {
            let taken: bool =
                row(conn, "SELECT EXISTS (SELECT 1 FROM components WHERE name = ?1)", params![to], |r| r.get(0))?;
            if taken {
                return Err(sluice_core::store::name_taken(&to).into());
            }
            let versions: Vec<(i64, String)> =
                all_rows(conn, "SELECT version, source FROM components WHERE name = ?1", params![from], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
            for (version, source) in &versions {
                let source = sluice_core::component::with_name(source, &to);
                exec(
                    conn,
                    "UPDATE components SET name = ?1, source = ?2 WHERE name = ?3 AND version = ?4",
                    params![to, source, from, version],
                )?;
            }
            Ok(!versions.is_empty())
        })
    }
}

fn component_from(row: &Row<'_>) -> rusqlite::Result<StoredComponent> {
    Ok(StoredComponent {
        name: row.get(0)?,
        version: row.get(1)?,
        source: row.get(2)?,
        saved_at: row.get(3)?,
        saved_by: row.get(4)?,
    })
}

fn message_from(row: &Row<'_>) -> rusqlite::Result<Message> {
    let channel: String = row.get("channel")?;
    let status: String = row.get("status")?;
    Ok(Message {
        id: row.get("id")?,
        channel: Channel::from_name(&channel),
        user_id: row.get("user_id")?,
        recipient: row.get("recipient")?,
        subject: row.get("subject")?,
        body: row.get("body")?,
        html: row.get("html")?,
        status: MessageStatus::from_name(&status),
        attempts: row.get("attempts")?,
        last_error: row.get("last_error")?,
        origin: row.get("origin")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
    })
}

impl OutboxStore for SqliteStore {
    fn enqueue_message(&self, m: &Message) -> Result<(), StoreError> {
        let m = m.clone();
        self.write(move |conn| {
            exec(
                conn,
                "INSERT INTO messages (id, channel, user_id, recipient, subject, body, html, status, attempts,
                                       last_error, origin, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                params![
                    m.id,
                    m.channel.name(),
                    m.user_id,
                    m.recipient,
                    m.subject,
                    m.body,
                    m.html,
                    m.status.name(),
                    m.attempts,
                    m.last_error,
                    m.origin,
                    m.created_at,
                    m.updated_at
                ],
            )?;
            Ok(())
        })
    }

    fn record_delivery(&self, id: &str, outcome: Result<(), &str>, at: Millis) -> Result<(), StoreError> {
        let (id, outcome) = (id.to_owned(), outcome.map_err(str::to_owned));
        self.write(move |conn| {
            let changed = match outcome {
                Ok(()) => exec(
                    conn,
                    "UPDATE messages SET status = 'sent', attempts = attempts + 1, last_error = NULL, updated_at = ?2,
                            body = CASE WHEN channel = 'Mail' THEN body ELSE '' END
                      WHERE id = ?1",
                    params![id, at],
                ),
                Err(why) => exec(
                    conn,
                    "UPDATE messages SET status = 'failed', attempts = attempts + 1, last_error = ?3, updated_at = ?2
                      WHERE id = ?1",
                    params![id, at, why],
                ),
            }?;
            if changed == 1 {
                Ok(())
            } else {
                Err(StoreError::NotFound(format!("the outbox has no message \"{id}\"")).into())
            }
        })
    }

    fn get_message(&self, id: &str) -> Result<Option<Message>, StoreError> {
        self.read(|conn| Ok(row(conn, "SELECT * FROM messages WHERE id = ?1", params![id], message_from).optional()?))
    }

    fn list_messages(
        &self,
        user_id: Option<&str>,
        status: Option<MessageStatus>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        self.read(|conn| {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            Ok(all_rows(
                conn,
                "SELECT * FROM messages WHERE (?1 IS NULL OR user_id = ?1) AND (?2 IS NULL OR status = ?2)
                  ORDER BY created_at DESC, rowid DESC LIMIT ?3",
                params![user_id, status.map(MessageStatus::name), limit],
                message_from,
            )?)
        })
    }
}

impl SessionStore for SqliteStore {
    fn create_session(&self, s: &Session) -> Result<(), StoreError> {
        let s = s.clone();
        self.write(move |conn| {
            exec(
                conn,
                "INSERT INTO sessions (token_hash, user_id, client, created_at, expires_at, methods, idle_timeout,
                                       last_used_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    s.token_hash,
                    s.user_id,
                    s.client,
                    s.created_at,
                    s.expires_at,
                    factors_to_text(&s.methods),
                    s.idle_timeout,
                    s.last_used_at
                ],
            )?;
            Ok(())
        })
    }

    fn touch_session(&self, token_hash: &str, at: Millis) -> Result<(), StoreError> {
        let token_hash = token_hash.to_owned();
        self.write(move |conn| {
            exec(
                conn,
                "UPDATE sessions SET last_used_at = ?2 WHERE token_hash = ?1 AND last_used_at < ?2",
                params![token_hash, at],
            )?;
            Ok(())
        })
    }

    fn find_session(&self, token_hash: &str, now: Millis) -> Result<Option<Session>, StoreError> {
        self.read(|conn| {
            Ok(row(
                conn,
                &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = ?1 AND {SESSION_LIVE}"),
                params![token_hash, now],
                session_from,
            )
            .optional()?)
        })
    }

    fn list_sessions(&self, user_id: &str, now: Millis) -> Result<Vec<Session>, StoreError> {
        self.read(|conn| {
            Ok(all_rows(
                conn,
                &format!(
                    "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = ?1 AND {SESSION_LIVE}
                      ORDER BY created_at DESC"
                ),
                params![user_id, now],
                session_from,
            )?)
        })
    }

    fn end_sessions(&self, user_id: &str, only: Option<&str>) -> Result<usize, StoreError> {
        let (user_id, only) = (user_id.to_owned(), only.map(str::to_owned));
        self.write(move |conn| {
            Ok(exec(
                conn,
                "DELETE FROM sessions WHERE user_id = ?1 AND (?2 IS NULL OR token_hash = ?2)",
                params![user_id, only],
            )?)
        })
    }
}

const SESSION_COLUMNS: &str =
    "token_hash, user_id, client, created_at, expires_at, methods, idle_timeout, last_used_at";

/// A session live at `?2` ([`Session::live_at`]).
const SESSION_LIVE: &str = "expires_at > ?2 AND (idle_timeout = 0 OR last_used_at + idle_timeout > ?2)";

fn session_from(r: &Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        token_hash: r.get(0)?,
        user_id: r.get(1)?,
        client: r.get(2)?,
        created_at: r.get(3)?,
        expires_at: r.get(4)?,
        methods: factors_from_text(&r.get::<_, String>(5)?),
        idle_timeout: r.get(6)?,
        last_used_at: r.get(7)?,
    })
}

impl Store for SqliteStore {
    fn location(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }

    fn ping(&self) -> Result<(), StoreError> {
        // Through the writer: a store that can be read but not written is not healthy.
        self.write(|conn| Ok(row(conn, "PRAGMA user_version", [], |_| Ok(()))?))
    }

    fn purge(&self, purge: &Purge) -> Result<usize, StoreError> {
        let batch = i64::try_from(purge.batch).unwrap_or(i64::MAX);
        let cutoff = purge.now - HOUR;
        let deletes: [(&str, Vec<i64>); 6] = [
            (
                "DELETE FROM otp_codes WHERE (user_id, purpose) IN (SELECT user_id, purpose FROM otp_codes
                  WHERE issued_at <= ?1 AND (status = 'used' OR expires_at <= ?2) LIMIT ?3)",
                vec![cutoff, purge.now, batch],
            ),
            (
                "DELETE FROM otp_failures WHERE rowid IN (SELECT rowid FROM otp_failures WHERE at <= ?1 LIMIT ?2)",
                vec![purge.failures_before, batch],
            ),
            (
                "DELETE FROM otp_locks WHERE rowid IN (SELECT rowid FROM otp_locks WHERE until <= ?1 LIMIT ?2)",
                vec![purge.now, batch],
            ),
            (
                "DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM sessions
                  WHERE expires_at <= ?1 OR (idle_timeout > 0 AND last_used_at + idle_timeout <= ?1) LIMIT ?2)",
                vec![purge.now, batch],
            ),
            (
                "DELETE FROM user_tokens WHERE (purpose, hash) IN (SELECT purpose, hash FROM user_tokens
                  WHERE expires_at <= ?1 LIMIT ?2)",
                vec![purge.now, batch],
            ),
            (
                "DELETE FROM runs WHERE rowid IN (SELECT rowid FROM runs WHERE started_at < ?1 LIMIT ?2)",
                vec![purge.runs_before, batch],
            ),
        ];
        // Each delete is its own job: the writer's batches stay short.
        let mut purged = 0;
        for (sql, values) in deletes {
            purged += self.write(move |conn| Ok(exec(conn, sql, rusqlite::params_from_iter(values))?))?;
        }
        Ok(purged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_is_created_in_wal_mode_and_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/sluice.db");
        let store = SqliteStore::open(&path).unwrap();
        assert!(path.exists());
        store
            .read(|conn| {
                let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
                let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
                assert_eq!((mode.as_str(), version), ("wal", MIGRATIONS.len() as i64));
                Ok(())
            })
            .unwrap();
        drop(store);
        SqliteStore::open(&path).unwrap();
    }

    #[test]
    fn an_entry_is_found_by_its_key_through_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("sluice.db")).unwrap();
        store
            .read(|conn| {
                let mut plan = conn.prepare(&format!("EXPLAIN QUERY PLAN {ENTRY_BY_KEY}")).unwrap();
                let details: Vec<String> =
                    plan.query_map(params!["C", "[1]"], |r| r.get(3)).unwrap().map(Result::unwrap).collect();
                assert_eq!(details, ["SEARCH entries USING INDEX entries_primary_key (component=? AND key=?)"]);
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn reads_do_not_wait_for_a_write_in_progress() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(SqliteStore::open(dir.path().join("sluice.db")).unwrap());
        store.import_users(&[User::new("ann")]).unwrap();
        let (started, running) = std::sync::mpsc::channel();
        let (release, held) = std::sync::mpsc::channel::<()>();
        let writing = std::thread::spawn({
            let store = store.clone();
            move || {
                store.write(move |conn| {
                    exec(conn, "DELETE FROM users", [])?;
                    started.send(()).unwrap();
                    held.recv().unwrap();
                    Ok(())
                })
            }
        });
        running.recv().unwrap();
        let (found, read) = std::sync::mpsc::channel();
        std::thread::spawn({
            let store = store.clone();
            move || found.send(store.find_user("ann")).unwrap()
        });
        // The read sees the last commit, not the write in progress, and does not wait for it.
        let user = read.recv_timeout(Duration::from_secs(10)).expect("the read waited for the writer").unwrap();
        assert_eq!(user.map(|u| u.user_name), Some("ann".into()));
        release.send(()).unwrap();
        writing.join().unwrap().unwrap();
        assert_eq!(store.find_user("ann").unwrap(), None);
    }

    #[test]
    fn a_run_recorded_while_the_writer_is_busy_is_answered_at_once_and_found_by_the_next_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(SqliteStore::open(dir.path().join("sluice.db")).unwrap());
        let hold = writer::tests::held(&store.writer);
        let record = serde_json::from_value(serde_json::json!(
            {"id": "run-1", "component": "C", "dataflow": "F", "startedAt": 1, "durationUs": 10, "status": "ok"}
        ))
        .unwrap();
        // The record is queued; a run's answer does not wait for the writer.
        store.record_run(record).unwrap();
        // The reads wait for the record's commit instead of missing it.
        let (get, list) = (store.clone(), store.clone());
        let reads: Vec<writer::tests::HeldCall<_>> = vec![
            Box::new(move || get.get_run("run-1").map(|r| r.map(|r| r.id).into_iter().collect::<Vec<_>>())),
            Box::new(move || list.list_runs(None, 10).map(|runs| runs.into_iter().map(|r| r.id).collect())),
        ];
        let [got, listed] = writer::tests::during_hold(hold, reads).try_into().unwrap();
        assert_eq!(got, (Ok(vec!["run-1".to_owned()]), true), "get_run did not wait for the record");
        assert_eq!(listed, (Ok(vec!["run-1".to_owned()]), true), "list_runs did not wait for the record");
    }

    #[cfg(unix)]
    #[test]
    fn the_database_its_log_and_the_folder_made_for_them_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("sluice.db");
        let store = SqliteStore::open(&path).unwrap();
        store.import_users(&[sluice_core::store::User::new("ann")]).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("data")), 0o700, "the folder");
        assert_eq!(mode(&path), 0o600, "the database");
        assert_eq!(mode(&dir.path().join("data").join("sluice.db-wal")), 0o600, "its log");
    }

    #[test]
    fn the_migration_to_version_5_scrubs_session_tokens_from_old_run_outcomes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        // A file as version 4 left it, with a run outcome that kept a session token in clear
        // (as versions before it did) and one that kept none.
        let conn = Connection::open(&path).unwrap();
        for migration in &MIGRATIONS[..4] {
            conn.execute_batch(migration).unwrap();
        }
        conn.pragma_update(None, "user_version", 4).unwrap();
        let token = "ab".repeat(32);
        let leaked = format!(r#"{{"response":[{{"_session":{{"token":"{token}"}}}}]}}"#);
        for (id, outcome) in [("leaky", leaked.as_str()), ("clean", r#"{"response":[{"ok":true}]}"#)] {
            conn.execute(
                "INSERT INTO runs (id, component, dataflow, started_at, duration_us, status, outcome)
                 VALUES (?1, 'C', 'F', 1, 1, 'ok', ?2)",
                params![id, outcome],
            )
            .unwrap();
        }
        drop(conn);
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.get_run("leaky").unwrap().unwrap().outcome.map(|o| o.get().to_owned()), None);
        let clean = store.get_run("clean").unwrap().unwrap().outcome.map(|o| o.get().to_owned());
        assert_eq!(clean.as_deref(), Some(r#"{"response":[{"ok":true}]}"#));
        drop(store);
        for file in std::fs::read_dir(dir.path()).unwrap() {
            let file = file.unwrap().path();
            let bytes = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
            assert!(!bytes.contains(&token), "the token is still in {}", file.display());
        }
    }

    #[test]
    fn a_file_that_is_not_a_database_or_is_too_new_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.db");
        std::fs::write(&path, vec![b'x'; 4096]).unwrap();
        let err = SqliteStore::open(&path).unwrap_err().to_string();
        assert!(err.contains("not a Sluice database"), "{err}");
        let path = dir.path().join("future.db");
        Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
        let err = SqliteStore::open(&path).unwrap_err().to_string();
        assert!(err.contains("schema version 99, newer than this Sluice knows"), "{err}");
    }
}
