//! Sluice's shared store: PostgreSQL, for several server replicas behind one address.
//!
//! Every operation is one statement, or one transaction, on a pooled connection, so a replica
//! that dies mid-request leaves nothing half-written. The operations that must not race across
//! processes are single guarded statements: counting an attempt (`UPDATE … RETURNING`),
//! consuming a code (`UPDATE … WHERE status = 'live' AND expires_at > now`), counting a failure
//! (an upsert on the pair's row), issuing a code (an upsert that checks the rate limits on the
//! locked row).
//!
//! The store's traits are synchronous (steps are plain functions); the store drives
//! tokio-postgres on a small runtime of its own and waits for each operation, so it works the
//! same from a CLI, a test or a server's blocking threads.

mod accounts;
mod group_commit;
mod migrations;
#[cfg(feature = "testing")]
pub mod testing;
mod versions;

use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use group_commit::{GroupCommit, Turn};
use serde_json::{Map, Value};
use sluice_core::Millis;
use sluice_core::store::{
    Channel, CodeStatus, CodeStore, ComponentStore, Entry, EntryStore, EntryWrite, HOUR, IssueLimits, Issued, Message,
    MessageStatus, NewCode, OutboxStore, Purge, RawJson, Role, RunRecord, RunStore, Session, SessionStore, Store,
    StoreError, StoredCode, StoredComponent, User, UserStore, check_issue_limits, duplicate_key, entry_not_found,
    factors_from_text, factors_to_text,
};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::{NoTls, Row};

use migrations::MIGRATIONS;

/// Connections a store keeps open at most.
pub const POOL_SIZE: usize = 16;

/// How long an operation waits for a connection, or to connect, before the store reports
/// itself unavailable (so requests fail fast while the database is down).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A store in a PostgreSQL database (or one schema of it).
pub struct PostgresStore {
    pool: Pool,
    /// Drives the pool's connections; `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
    location: String,
    /// Run records waiting for the next batch insert.
    pending_runs: GroupCommit<RunRecord>,
    /// Held by the request writing a batch of run records.
    run_writer: tokio::sync::Mutex<()>,
    /// The latest version of each component, as notifications keep it.
    versions: Arc<versions::Versions>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("location", &self.location).finish_non_exhaustive()
    }
}

/// A failed operation: the database's error, or the store's verdict.
enum Fail {
    Db(tokio_postgres::Error),
    Store(StoreError),
}

impl From<tokio_postgres::Error> for Fail {
    fn from(e: tokio_postgres::Error) -> Self {
        Fail::Db(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

type Outcome<T> = Result<T, Fail>;

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`), in the
    /// schema named by its `schema` parameter when it has one (created when missing), and
    /// migrates it. Other parameters are PostgreSQL's own (`connect_timeout`, `options`, …).
    pub fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let (url, schema) = split_schema(url)?;
        let mut config = tokio_postgres::Config::from_str(&url)
            .map_err(|e| StoreError::Unavailable(format!("the PostgreSQL URL is not valid: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if let Some(schema) = &schema {
            let options = config.get_options().map(|o| format!("{o} ")).unwrap_or_default();
            config.options(format!("{options}-c search_path={schema}"));
        }
        let location = describe(&config, schema.as_deref());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sluice-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Unavailable(format!("cannot start the PostgreSQL client: {e}")))?;
        let listener_config = config.clone();
        let manager = Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Unavailable(format!("cannot make the PostgreSQL pool: {e}")))?;
        let store = PostgresStore {
            pool,
            runtime: Some(runtime),
            location,
            pending_runs: GroupCommit::default(),
            run_writer: tokio::sync::Mutex::const_new(()),
            versions: Arc::default(),
        };
        store.with(async |client| migrate(client, schema.as_deref()).await)?;
        if let Some(runtime) = &store.runtime {
            runtime.spawn(versions::listen(listener_config, store.versions.clone()));
        }
        Ok(store)
    }

    /// Runs `op` on a pooled connection and waits for it.
    fn with<T>(&self, op: impl AsyncFnOnce(&mut deadpool_postgres::Client) -> Outcome<T>) -> Result<T, StoreError> {
        self.block(self.on_connection(op))
    }

    /// Runs `op` on a pooled connection.
    async fn on_connection<T>(
        &self,
        op: impl AsyncFnOnce(&mut deadpool_postgres::Client) -> Outcome<T>,
    ) -> Result<T, StoreError> {
        let mut client = self.pool.get().await.map_err(|e| {
            StoreError::Unavailable(format!("{}: cannot get a connection: {}", self.location, chain(&e)))
        })?;
        op(&mut client).await.map_err(|fail| match fail {
            Fail::Store(e) => e,
            Fail::Db(e) => StoreError::Unavailable(format!("{}: {}", self.location, chain(&e))),
        })
    }

    /// Waits for `future` with the store's runtime as the current one (its connections and
    /// timers live there), from any thread: a plain one, or a thread of another runtime.
    fn block<T>(&self, future: impl Future<Output = T>) -> T {
        let _context = self.runtime.as_ref().map(tokio::runtime::Runtime::enter);
        futures_executor::block_on(future)
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which tokio forbids inside another runtime.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Takes Sluice's own `schema` parameter out of the URL (PostgreSQL's parser knows it not).
fn split_schema(url: &str) -> Result<(String, Option<String>), StoreError> {
    let Some((base, query)) = url.split_once('?') else { return Ok((url.to_owned(), None)) };
    let (schemas, rest): (Vec<&str>, Vec<&str>) = query.split('&').partition(|p| p.starts_with("schema="));
    let schema = schemas.last().map(|p| p["schema=".len()..].to_owned());
    if let Some(name) = &schema {
        let valid = name.len() <= 63
            && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(StoreError::Unavailable(format!(
                "the schema \"{name}\" is not a plain name: use at most 63 lower-case letters, digits and _"
            )));
        }
    }
    let url = if rest.is_empty() { base.to_owned() } else { format!("{base}?{}", rest.join("&")) };
    Ok((url, schema))
}

/// The store's location for messages: never the password.
fn describe(config: &tokio_postgres::Config, schema: Option<&str>) -> String {
    use tokio_postgres::config::Host;
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
        .map(|(host, port)| match host {
            Host::Tcp(name) => format!("{name}:{port}"),
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let user = config.get_user().map(|u| format!("{u}@")).unwrap_or_default();
    let db = config.get_dbname().unwrap_or_default();
    let schema = schema.map(|s| format!("?schema={s}")).unwrap_or_default();
    format!("postgres://{user}{}/{db}{schema}", hosts.join(","))
}

/// An error with its causes (tokio-postgres says "db error" and puts the reason in the source).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

fn is_unique_violation(e: &Fail) -> bool {
    matches!(e, Fail::Db(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION))
}

/// Applies the migrations the database lacks, under an advisory lock (one replica migrates;
/// the others wait, then find nothing to do).
async fn migrate(client: &mut deadpool_postgres::Client, schema: Option<&str>) -> Outcome<()> {
    let tx = client.transaction().await?;
    let lock_name = format!("sluice-migrate:{}", schema.unwrap_or("public"));
    tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&lock_name]).await?;
    if let Some(schema) = schema {
        tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"")).await?;
    }
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS sluice_schema (version integer PRIMARY KEY, applied_at bigint NOT NULL)",
    )
    .await?;
    let version: i32 = tx.query_one("SELECT coalesce(max(version), 0) FROM sluice_schema", &[]).await?.get(0);
    let known = MIGRATIONS.len();
    let applied = usize::try_from(version).unwrap_or(0);
    if applied > known {
        return Err(StoreError::Unavailable(format!(
            "the database has schema version {version}, newer than this Sluice knows ({known}); upgrade Sluice"
        ))
        .into());
    }
    for (migration, to) in MIGRATIONS.iter().zip(1i32..).skip(applied) {
        tx.batch_execute(migration).await?;
        tx.execute(
            "INSERT INTO sluice_schema (version, applied_at) VALUES ($1, (extract(epoch FROM now()) * 1000)::bigint)",
            &[&to],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Runs one statement through the connection's statement cache; returns the rows changed.
async fn exec(client: &deadpool_postgres::Client, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Outcome<u64> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.execute(&statement, params).await?)
}

/// Reads at most one row through the statement cache.
async fn row<T>(
    client: &deadpool_postgres::Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    read: impl FnOnce(&Row) -> Outcome<T>,
) -> Outcome<Option<T>> {
    let statement = client.prepare_cached(sql).await?;
    client.query_opt(&statement, params).await?.as_ref().map(read).transpose()
}

/// Reads every row through the statement cache.
async fn rows<T>(
    client: &deadpool_postgres::Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    read: impl Fn(&Row) -> Outcome<T>,
) -> Outcome<Vec<T>> {
    let statement = client.prepare_cached(sql).await?;
    client.query(&statement, params).await?.iter().map(read).collect()
}

/// A count kept as `integer`.
fn count(row: &Row, column: &str) -> Outcome<u32> {
    let n: i32 = row.try_get(column)?;
    Ok(u32::try_from(n).unwrap_or(0))
}

fn small(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A user's columns, and the roles they hold as `context<TAB>name` texts (in the same round trip).
const USER_COLUMNS: &str =
    "id, user_name, email, phone, first_name, last_name, locale, active, email_verified, password_hash,
     ARRAY(SELECT r.context || chr(9) || r.name FROM user_roles r WHERE r.user_id = users.id
           ORDER BY r.context, r.name) AS roles";

fn user_from(row: &Row) -> Outcome<User> {
    Ok(User {
        id: row.try_get("id")?,
        user_name: row.try_get("user_name")?,
        email: row.try_get("email")?,
        phone: row.try_get("phone")?,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        locale: row.try_get("locale")?,
        active: row.try_get("active")?,
        email_verified: row.try_get("email_verified")?,
        password_hash: row.try_get("password_hash")?,
        roles: row
            .try_get::<_, Vec<String>>("roles")?
            .iter()
            .filter_map(|pair| pair.split_once('\t').map(|(context, name)| Role::new(context, name)))
            .collect(),
    })
}

/// Writes `user` under `id`: a new row, or the row that has the id.
async fn write_user(db: &impl deadpool_postgres::GenericClient, id: &str, user: &User) -> Outcome<()> {
    db.execute(
        "INSERT INTO users (id, user_name, user_name_key, email, phone, first_name, last_name, locale,
                            active, password_hash, email_verified)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (id) DO UPDATE SET user_name = $2, user_name_key = $3, email = $4, phone = $5,
            first_name = $6, last_name = $7, locale = $8, active = $9, password_hash = $10, email_verified = $11",
        &[
            &id,
            &user.user_name,
            &user.user_name.to_lowercase(),
            &user.email,
            &user.phone,
            &user.first_name,
            &user.last_name,
            &user.locale,
            &user.active,
            &user.password_hash,
            &user.email_verified,
        ],
    )
    .await
    .map_err(Fail::from)
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Duplicate(format!("a user named \"{}\" already exists", user.user_name)).into()
        } else {
            e
        }
    })?;
    Ok(())
}

impl UserStore for PostgresStore {
    fn import_users(&self, users: &[User]) -> Result<usize, StoreError> {
        self.with(async |client| {
            let tx = client.transaction().await?;
            // Imports wait for one another: replicas starting together import the same file,
            // and two inserts of one new name would otherwise collide.
            tx.execute("SELECT pg_advisory_xact_lock(hashtext('sluice-import-users'))", &[]).await?;
            for user in users {
                let key = user.user_name.to_lowercase();
                let existing = tx
                    .query_opt(
                        "SELECT id FROM users WHERE id = $1 OR user_name_key = $2 ORDER BY id = $1 DESC LIMIT 1",
                        &[&user.id, &key],
                    )
                    .await?;
                let id: String = existing.map_or_else(|| Ok(user.id.clone()), |r| r.try_get(0))?;
                write_user(&tx, &id, user).await?;
            }
            tx.commit().await?;
            Ok(users.len())
        })
    }

    fn find_user(&self, name_or_id: &str) -> Result<Option<User>, StoreError> {
        let key = name_or_id.to_lowercase();
        self.with(async |client| {
            row(
                client,
                &format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE id = $1 OR user_name_key = $2
                      ORDER BY id = $1 DESC LIMIT 1"
                ),
                &[&name_or_id, &key],
                user_from,
            )
            .await
        })
    }

    fn list_users(&self) -> Result<Vec<User>, StoreError> {
        self.with(async |client| {
            rows(client, &format!("SELECT {USER_COLUMNS} FROM users ORDER BY user_name_key"), &[], user_from).await
        })
    }
}

const CODE_COLUMNS: &str =
    "id, purpose, client, key_id, mac, length, expires_at, attempts, max_attempts, status, factors";

fn code_from(row: &Row) -> Outcome<StoredCode> {
    let status: &str = row.try_get("status")?;
    Ok(StoredCode {
        id: row.try_get("id")?,
        purpose: row.try_get("purpose")?,
        client: row.try_get("client")?,
        key_id: row.try_get("key_id")?,
        mac: row.try_get("mac")?,
        length: count(row, "length")?,
        expires_at: row.try_get("expires_at")?,
        attempts: count(row, "attempts")?,
        max_attempts: count(row, "max_attempts")?,
        status: if status == "live" { CodeStatus::Live } else { CodeStatus::Used },
        factors: factors_from_text(row.try_get("factors")?),
    })
}

/// Times a code issue is tried again when the pair's issue times change under it.
const ISSUE_TRIES: usize = 16;

impl CodeStore for PostgresStore {
    fn issue_code(&self, code: &NewCode, limits: &IssueLimits) -> Result<Issued, StoreError> {
        if let Err(retry_after) = check_issue_limits(&[], code.issued_at, limits) {
            return Ok(Issued::Limited { retry_after });
        }
        self.with(async |client| {
            for _ in 0..ISSUE_TRIES {
                // One statement: the upsert replaces the user's code for the purpose only when the
                // limits allow
                // (the same rules as `check_issue_limits`, on the row as locked by the upsert).
                let stored = row(
                    client,
                    "INSERT INTO otp_codes (user_id, purpose, id, key_id, mac, length, issued_at, expires_at,
                                            attempts, max_attempts, status, recent, client, factors)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, 'live', ARRAY[$7::bigint], $13, $14)
                     ON CONFLICT (user_id, purpose) DO UPDATE SET id = $3, key_id = $4, mac = $5, length = $6,
                        issued_at = $7, expires_at = $8, attempts = 0, max_attempts = $9, status = 'live',
                        client = $13, factors = $14,
                        recent = array(SELECT t FROM unnest(otp_codes.recent) AS t WHERE t > $7 - $12::bigint ORDER BY t)
                                 || $7::bigint
                      WHERE NOT ($10::bigint > 0 AND EXISTS (SELECT 1 FROM unnest(otp_codes.recent) AS t
                                                      WHERE t > $7 - $12::bigint AND $7 - t < $10::bigint))
                        AND (SELECT count(*) FROM unnest(otp_codes.recent) AS t WHERE t > $7 - $12::bigint) < $11::bigint
                     RETURNING 1",
                    &[
                        &code.user_id,
                        &code.purpose,
                        &code.id,
                        &code.key_id,
                        &code.mac,
                        &small(code.length),
                        &code.issued_at,
                        &code.expires_at,
                        &small(code.max_attempts),
                        &limits.resend_cooldown,
                        &i64::from(limits.max_per_hour),
                        &HOUR,
                        &code.client,
                        &factors_to_text(&code.factors),
                    ],
                    |_| Ok(()),
                )
                .await?;
                if stored.is_some() {
                    return Ok(Issued::Stored);
                }
                // Refused: read the times to tell how long to wait (a second round trip, only
                // on this path). When they allow a code after all, they changed: try again.
                let seen: Vec<Millis> = row(
                    client,
                    "SELECT recent FROM otp_codes WHERE user_id = $1 AND purpose = $2",
                    &[&code.user_id, &code.purpose],
                    |r| Ok(r.try_get(0)?),
                )
                .await?
                .unwrap_or_default();
                if let Err(retry_after) = check_issue_limits(&seen, code.issued_at, limits) {
                    return Ok(Issued::Limited { retry_after });
                }
            }
            Err(StoreError::Unavailable("too many concurrent codes for one user and purpose; try again".into()).into())
        })
    }

    fn attempt_code(&self, user_id: &str, purpose: &str) -> Result<Option<StoredCode>, StoreError> {
        self.with(async |db| {
            row(
                db,
                &format!(
                    "UPDATE otp_codes SET attempts = attempts + 1
                      WHERE user_id = $1 AND purpose = $2 AND status = 'live' RETURNING {CODE_COLUMNS}"
                ),
                &[&user_id, &purpose],
                code_from,
            )
            .await
        })
    }

    fn consume_code(&self, user_id: &str, purpose: &str, id: &str, now: Millis) -> Result<bool, StoreError> {
        self.with(async |db| {
            let changed = exec(
                db,
                "UPDATE otp_codes SET status = 'used'
                  WHERE user_id = $1 AND purpose = $2 AND id = $3 AND status = 'live' AND expires_at > $4",
                &[&user_id, &purpose, &id, &now],
            )
            .await?;
            Ok(changed == 1)
        })
    }

    fn newest_code(&self, user_id: &str) -> Result<Option<StoredCode>, StoreError> {
        self.with(async |db| {
            row(
                db,
                &format!("SELECT {CODE_COLUMNS} FROM otp_codes WHERE user_id = $1 ORDER BY issued_at DESC LIMIT 1"),
                &[&user_id],
                code_from,
            )
            .await
        })
    }

    fn record_failure(&self, subject: &str, scope: &str, now: Millis, since: Millis) -> Result<u32, StoreError> {
        self.with(async |db| {
            // One upsert: the row lock orders concurrent failures, each sees the one before.
            let counted = row(
                db,
                "INSERT INTO otp_failures (subject, scope, times) VALUES ($1, $2, ARRAY[$3::bigint])
                 ON CONFLICT (subject, scope) DO UPDATE
                    SET times = array(SELECT t FROM unnest(otp_failures.times) AS t WHERE t > $4) || $3::bigint
                 RETURNING cardinality(times) AS n",
                &[&subject, &scope, &now, &since],
                |r| count(r, "n"),
            )
            .await?;
            Ok(counted.unwrap_or(1))
        })
    }

    fn lock(&self, subject: &str, scope: &str, until: Millis) -> Result<(), StoreError> {
        self.with(async |db| {
            exec(
                db,
                "INSERT INTO otp_locks (subject, scope, until) VALUES ($1, $2, $3)
                 ON CONFLICT (subject, scope) DO UPDATE SET until = greatest(otp_locks.until, $3)",
                &[&subject, &scope, &until],
            )
            .await
            .map(drop)
        })
    }

    fn locked_until(&self, subject: &str, scope: &str, now: Millis) -> Result<Option<Millis>, StoreError> {
        self.with(async |db| {
            row(
                db,
                "SELECT until FROM otp_locks WHERE subject = $1 AND scope = $2 AND until > $3",
                &[&subject, &scope, &now],
                |r| Ok(r.try_get(0)?),
            )
            .await
        })
    }

    fn clear_failures(&self, subject: &str, scope: &str) -> Result<(), StoreError> {
        self.with(async |db| {
            exec(
                db,
                "WITH streak AS (DELETE FROM otp_streaks WHERE subject = $1 AND scope = $2)
                 DELETE FROM otp_failures WHERE subject = $1 AND scope = $2",
                &[&subject, &scope],
            )
            .await
            .map(drop)
        })
    }

    fn add_consecutive_failure(&self, subject: &str, scope: &str) -> Result<u32, StoreError> {
        self.with(async |db| {
            let counted = row(
                db,
                "INSERT INTO otp_streaks (subject, scope, failures) VALUES ($1, $2, 1)
                 ON CONFLICT (subject, scope) DO UPDATE SET failures = otp_streaks.failures + 1
                 RETURNING failures",
                &[&subject, &scope],
                |r| count(r, "failures"),
            )
            .await?;
            Ok(counted.unwrap_or(1))
        })
    }

    fn unlock(&self, subject: &str) -> Result<(), StoreError> {
        self.with(async |db| {
            exec(
                db,
                "WITH failures AS (DELETE FROM otp_failures WHERE subject = $1),
                      streaks AS (DELETE FROM otp_streaks WHERE subject = $1)
                 DELETE FROM otp_locks WHERE subject = $1",
                &[&subject],
            )
            .await
            .map(drop)
        })
    }
}

const ENTRY_COLUMNS: &str = "id, name, data, deleted, creator_subject, update_subject, created_date, update_date";

fn entry_from(row: &Row) -> Outcome<Entry> {
    let Json(data): Json<Map<String, Value>> = row.try_get("data")?;
    Ok(Entry {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        data,
        deleted: row.try_get("deleted")?,
        creator_subject: row.try_get("creator_subject")?,
        update_subject: row.try_get("update_subject")?,
        created_date: row.try_get("created_date")?,
        update_date: row.try_get("update_date")?,
    })
}

/// Maps a taken primary key to the same error every store gives.
fn entry_write_error(write: &EntryWrite) -> impl Fn(Fail) -> Fail {
    move |e| match (&write.key, is_unique_violation(&e)) {
        (Some(key), true) => duplicate_key(&write.component, key).into(),
        _ => e,
    }
}

impl EntryStore for PostgresStore {
    fn create_entry(&self, id: &str, write: &EntryWrite) -> Result<(), StoreError> {
        self.with(async |db| {
            exec(
                db,
                "INSERT INTO entries (component, id, name, data, key, creator_subject, update_subject, created_date,
                                      update_date)
                 VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $7)",
                &[&write.component, &id, &write.name, &Json(&write.data), &write.key, &write.subject, &write.at],
            )
            .await
            .map(drop)
            .map_err(entry_write_error(write))
        })
    }

    fn update_entry(&self, id: &str, write: &EntryWrite) -> Result<(), StoreError> {
        self.with(async |db| {
            // `||` writes the new fields over the stored ones in the same statement.
            let changed = exec(
                db,
                "UPDATE entries SET data = data || $3, key = $4, name = coalesce($5, name),
                        update_subject = CASE WHEN $8 THEN $6 ELSE update_subject END,
                        update_date = CASE WHEN $8 THEN $7 ELSE update_date END
                  WHERE component = $1 AND id = $2",
                &[
                    &write.component,
                    &id,
                    &Json(&write.data),
                    &write.key,
                    &write.name,
                    &write.subject,
                    &write.at,
                    &write.tracked,
                ],
            )
            .await
            .map_err(entry_write_error(write))?;
            if changed == 1 { Ok(()) } else { Err(entry_not_found(&write.component, id).into()) }
        })
    }

    fn mark_entry_deleted(
        &self,
        component: &str,
        id: &str,
        subject: Option<&str>,
        at: Millis,
    ) -> Result<(), StoreError> {
        self.with(async |db| {
            let changed = exec(
                db,
                "UPDATE entries SET deleted = true, update_subject = $3, update_date = $4
                  WHERE component = $1 AND id = $2",
                &[&component, &id, &subject, &at],
            )
            .await?;
            if changed == 1 { Ok(()) } else { Err(entry_not_found(component, id).into()) }
        })
    }

    fn get_entry(&self, component: &str, id: &str) -> Result<Option<Entry>, StoreError> {
        self.with(async |db| {
            row(
                db,
                &format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE component = $1 AND id = $2"),
                &[&component, &id],
                entry_from,
            )
            .await
        })
    }

    fn find_entry_by_key(&self, component: &str, key: &str) -> Result<Option<Entry>, StoreError> {
        self.with(async |db| {
            // The partial unique index entries_primary_key answers it.
            row(
                db,
                &format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE component = $1 AND key = $2 AND NOT deleted"),
                &[&component, &key],
                entry_from,
            )
            .await
        })
    }

    fn list_entries(&self, component: &str) -> Result<Vec<Entry>, StoreError> {
        self.with(async |db| {
            rows(
                db,
                &format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE component = $1 ORDER BY created_date, id"),
                &[&component],
                entry_from,
            )
            .await
        })
    }
}

fn json_column(row: &Row, name: &str) -> Outcome<Option<RawJson>> {
    let text: Option<String> = row.try_get(name)?;
    Ok(text.and_then(|t| serde_json::value::RawValue::from_string(t).ok()))
}

fn json_text(value: Option<&RawJson>) -> Option<&str> {
    value.map(|raw| raw.get())
}

const RUN_SUMMARY_COLUMNS: &str =
    "id, component, dataflow, user_name, client, started_at, duration_us, status, failed_step, message";

/// Inserts run records with one statement, whatever their number.
async fn insert_runs(db: &deadpool_postgres::Client, runs: &[RunRecord]) -> Outcome<()> {
    let texts = |field: fn(&RunRecord) -> Option<&str>| runs.iter().map(field).collect::<Vec<_>>();
    let numbers = |field: fn(&RunRecord) -> i64| runs.iter().map(field).collect::<Vec<_>>();
    exec(
        db,
        "INSERT INTO runs (id, component, dataflow, user_name, client, started_at, duration_us, status, failed_step,
                           message, input, trace, outcome)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
                              $7::bigint[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
                              $13::text[])",
        &[
            &texts(|r| Some(&r.id)),
            &texts(|r| Some(&r.component)),
            &texts(|r| Some(&r.dataflow)),
            &texts(|r| r.user.as_deref()),
            &texts(|r| r.client.as_deref()),
            &numbers(|r| r.started_at),
            &numbers(|r| r.duration_us),
            &texts(|r| Some(&r.status)),
            &texts(|r| r.failed_step.as_deref()),
            &texts(|r| r.message.as_deref()),
            &texts(|r| json_text(r.input.as_ref())),
            &texts(|r| json_text(r.trace.as_ref())),
            &texts(|r| json_text(r.outcome.as_ref())),
        ],
    )
    .await
    .map(drop)
}

fn run_from(row: &Row) -> Outcome<RunRecord> {
    Ok(RunRecord {
        id: row.try_get("id")?,
        component: row.try_get("component")?,
        dataflow: row.try_get("dataflow")?,
        user: row.try_get("user_name")?,
        client: row.try_get("client")?,
        started_at: row.try_get("started_at")?,
        duration_us: row.try_get("duration_us")?,
        status: row.try_get("status")?,
        failed_step: row.try_get("failed_step")?,
        message: row.try_get("message")?,
        input: json_column(row, "input")?,
        trace: json_column(row, "trace")?,
        outcome: json_column(row, "outcome")?,
    })
}

impl RunStore for PostgresStore {
    fn record_run(&self, run: RunRecord) -> Result<(), StoreError> {
        // Group commit: the record joins the queue; whoever holds the writer's turn next inserts
        // everything queued in one statement and tells each record's caller how it went. So a
        // record is in the database (or its failure known) when this returns, and concurrent
        // runs share one round trip.
        let ticket = self.pending_runs.join(run);
        self.block(async {
            let _turn = self.run_writer.lock().await;
            match self.pending_runs.turn(&ticket) {
                Turn::Done(result) => result,
                Turn::Write(batch) => {
                    let written = self.on_connection(async |db| insert_runs(db, &batch.records).await).await;
                    batch.finish(written)
                }
            }
        })
    }

    fn list_runs(&self, component: Option<&str>, max: usize) -> Result<Vec<RunRecord>, StoreError> {
        self.with(async |db| {
            rows(
                db,
                &format!(
                    "SELECT {RUN_SUMMARY_COLUMNS}, NULL::text AS input, NULL::text AS trace, NULL::text AS outcome
                       FROM runs WHERE $1::text IS NULL OR component = $1
                      ORDER BY started_at DESC, seq DESC LIMIT $2"
                ),
                &[&component, &limit(max)],
                run_from,
            )
            .await
        })
    }

    fn get_run(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        self.with(async |db| {
            row(
                db,
                &format!("SELECT {RUN_SUMMARY_COLUMNS}, input, trace, outcome FROM runs WHERE id = $1"),
                &[&id],
                run_from,
            )
            .await
        })
    }
}

fn component_from(row: &Row) -> Outcome<StoredComponent> {
    Ok(StoredComponent {
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        source: row.try_get("source")?,
        saved_at: row.try_get("saved_at")?,
        saved_by: row.try_get("saved_by")?,
    })
}

/// Times a save retries when another replica took the same version number.
const SAVE_TRIES: usize = 16;

impl ComponentStore for PostgresStore {
    fn save_component(&self, name: &str, source: &str, at: Millis, by: Option<&str>) -> Result<i64, StoreError> {
        self.with(async |db| {
            for _ in 0..SAVE_TRIES {
                let saved = row(
                    db,
                    "WITH saved AS (
                        INSERT INTO components (name, version, source, saved_at, saved_by)
                        SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $5 FROM components WHERE name = $1
                        RETURNING version)
                     SELECT version, pg_notify($4, $1) FROM saved",
                    &[&name, &source, &at, &versions::CHANNEL, &by],
                    |r| Ok(r.try_get::<_, i64>(0)?),
                )
                .await;
                self.versions.forget(name);
                match saved {
                    Err(e) if is_unique_violation(&e) => continue,
                    other => {
                        return other?.ok_or_else(|| StoreError::Unavailable("the save wrote nothing".into()).into());
                    }
                }
            }
            Err(StoreError::Unavailable(format!("too many concurrent saves of {name}; try again")).into())
        })
    }

    fn component_version(&self, name: &str) -> Result<Option<i64>, StoreError> {
        if let Some(version) = self.versions.get(name) {
            return Ok(version);
        }
        let generation = self.versions.generation();
        let version = self.with(async |db| {
            let version = row(db, "SELECT max(version) FROM components WHERE name = $1", &[&name], |r| {
                Ok(r.try_get::<_, Option<i64>>(0)?)
            })
            .await?;
            Ok(version.flatten())
        })?;
        self.versions.put(name, version, generation);
        Ok(version)
    }

    fn get_component(&self, name: &str, version: Option<i64>) -> Result<Option<StoredComponent>, StoreError> {
        self.with(async |db| {
            row(
                db,
                "SELECT name, version, source, saved_at, saved_by FROM components
                  WHERE name = $1 AND ($2::bigint IS NULL OR version = $2) ORDER BY version DESC LIMIT 1",
                &[&name, &version],
                component_from,
            )
            .await
        })
    }

    fn list_components(&self) -> Result<Vec<StoredComponent>, StoreError> {
        self.with(async |db| {
            rows(
                db,
                "SELECT DISTINCT ON (name) name, version, source, saved_at, saved_by FROM components
                  ORDER BY name, version DESC",
                &[],
                component_from,
            )
            .await
        })
    }

    fn delete_component(&self, name: &str) -> Result<bool, StoreError> {
        self.with(async |db| {
            let deleted = row(
                db,
                "WITH gone AS (DELETE FROM components WHERE name = $1 RETURNING 1)
                 SELECT (SELECT count(*) FROM gone) AS n, pg_notify($2, $1)",
                &[&name, &versions::CHANNEL],
                |r| Ok(r.try_get::<_, i64>("n")?),
            )
            .await?;
            self.versions.forget(name);
            Ok(deleted.unwrap_or(0) > 0)
        })
    }

    fn rename_component(&self, from: &str, to: &str) -> Result<bool, StoreError> {
        self.with(async |client| {
            let tx = client.transaction().await?;
            if tx.query_opt("SELECT 1 FROM components WHERE name = $1 LIMIT 1", &[&to]).await?.is_some() {
                return Err(sluice_core::store::name_taken(to).into());
            }
            let found = tx.query("SELECT version, source FROM components WHERE name = $1 FOR UPDATE", &[&from]).await?;
            for row in &found {
                let (version, source): (i64, String) = (row.try_get(0)?, row.try_get(1)?);
                let source = sluice_core::component::with_name(&source, to);
                tx.execute(
                    "UPDATE components SET name = $1, source = $2 WHERE name = $3 AND version = $4",
                    &[&to, &source, &from, &version],
                )
                .await
                .map_err(Fail::from)
                .map_err(|e| if is_unique_violation(&e) { sluice_core::store::name_taken(to).into() } else { e })?;
            }
            tx.execute("SELECT pg_notify($1, $2), pg_notify($1, $3)", &[&versions::CHANNEL, &from, &to]).await?;
            tx.commit().await?;
            self.versions.forget(from);
            self.versions.forget(to);
            Ok(!found.is_empty())
        })
    }
}

fn message_from(row: &Row) -> Outcome<Message> {
    let channel: &str = row.try_get("channel")?;
    let status: &str = row.try_get("status")?;
    Ok(Message {
        id: row.try_get("id")?,
        channel: Channel::from_name(channel),
        user_id: row.try_get("user_id")?,
        recipient: row.try_get("recipient")?,
        subject: row.try_get("subject")?,
        body: row.try_get("body")?,
        html: row.try_get("html")?,
        status: MessageStatus::from_name(status),
        attempts: count(row, "attempts")?,
        last_error: row.try_get("last_error")?,
        origin: row.try_get("origin")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const MESSAGE_COLUMNS: &str = "id, channel, user_id, recipient, subject, body, html, status, attempts, last_error, \
                               origin, created_at, updated_at";

impl OutboxStore for PostgresStore {
    fn enqueue_message(&self, m: &Message) -> Result<(), StoreError> {
        self.with(async |db| {
            exec(
                db,
                &format!(
                    "INSERT INTO messages ({MESSAGE_COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                ),
                &[
                    &m.id,
                    &m.channel.name(),
                    &m.user_id,
                    &m.recipient,
                    &m.subject,
                    &m.body,
                    &m.html,
                    &m.status.name(),
                    &small(m.attempts),
                    &m.last_error,
                    &m.origin,
                    &m.created_at,
                    &m.updated_at,
                ],
            )
            .await
            .map(drop)
        })
    }

    fn record_delivery(&self, id: &str, outcome: Result<(), &str>, at: Millis) -> Result<(), StoreError> {
        self.with(async |db| {
            let changed = match outcome {
                Ok(()) => {
                    exec(
                        db,
                        "UPDATE messages SET status = 'sent', attempts = attempts + 1, last_error = NULL,
                                updated_at = $2, body = CASE WHEN channel = 'Mail' THEN body ELSE '' END
                          WHERE id = $1",
                        &[&id, &at],
                    )
                    .await?
                }
                Err(why) => {
                    exec(
                        db,
                        "UPDATE messages SET status = 'failed', attempts = attempts + 1, last_error = $3,
                                updated_at = $2
                          WHERE id = $1",
                        &[&id, &at, &why],
                    )
                    .await?
                }
            };
            if changed == 1 {
                Ok(())
            } else {
                Err(StoreError::NotFound(format!("the outbox has no message \"{id}\"")).into())
            }
        })
    }

    fn get_message(&self, id: &str) -> Result<Option<Message>, StoreError> {
        self.with(async |db| {
            row(db, &format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1"), &[&id], message_from).await
        })
    }

    fn list_messages(
        &self,
        user_id: Option<&str>,
        status: Option<MessageStatus>,
        max: usize,
    ) -> Result<Vec<Message>, StoreError> {
        self.with(async |db| {
            rows(
                db,
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages
                      WHERE ($1::text IS NULL OR user_id = $1) AND ($2::text IS NULL OR status = $2)
                      ORDER BY created_at DESC, seq DESC LIMIT $3"
                ),
                &[&user_id, &status.map(MessageStatus::name), &limit(max)],
                message_from,
            )
            .await
        })
    }
}

const SESSION_COLUMNS: &str =
    "token_hash, user_id, client, created_at, expires_at, methods, idle_timeout, last_used_at";

/// A session live at `$2` ([`Session::live_at`]).
const SESSION_LIVE: &str = "expires_at > $2 AND (idle_timeout = 0 OR last_used_at + idle_timeout > $2)";

fn session_from(r: &Row) -> Outcome<Session> {
    Ok(Session {
        token_hash: r.try_get(0)?,
        user_id: r.try_get(1)?,
        client: r.try_get(2)?,
        created_at: r.try_get(3)?,
        expires_at: r.try_get(4)?,
        methods: factors_from_text(r.try_get(5)?),
        idle_timeout: r.try_get(6)?,
        last_used_at: r.try_get(7)?,
    })
}

impl SessionStore for PostgresStore {
    fn create_session(&self, s: &Session) -> Result<(), StoreError> {
        self.with(async |db| {
            exec(
                db,
                "INSERT INTO sessions (token_hash, user_id, client, created_at, expires_at, methods, idle_timeout,
                                       last_used_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &s.token_hash,
                    &s.user_id,
                    &s.client,
                    &s.created_at,
                    &s.expires_at,
                    &factors_to_text(&s.methods),
                    &s.idle_timeout,
                    &s.last_used_at,
                ],
            )
            .await
            .map(drop)
        })
    }

    fn touch_session(&self, token_hash: &str, at: Millis) -> Result<(), StoreError> {
        self.with(async |db| {
            exec(
                db,
                "UPDATE sessions SET last_used_at = $2 WHERE token_hash = $1 AND last_used_at < $2",
                &[&token_hash, &at],
            )
            .await
            .map(drop)
        })
    }

    fn find_session(&self, token_hash: &str, now: Millis) -> Result<Option<Session>, StoreError> {
        self.with(async |db| {
            row(
                db,
                &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1 AND {SESSION_LIVE}"),
                &[&token_hash, &now],
                session_from,
            )
            .await
        })
    }

    fn list_sessions(&self, user_id: &str, now: Millis) -> Result<Vec<Session>, StoreError> {
        self.with(async |db| {
            rows(
                db,
                &format!(
                    "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 AND {SESSION_LIVE}
                      ORDER BY created_at DESC"
                ),
                &[&user_id, &now],
                session_from,
            )
            .await
        })
    }

    fn end_sessions(&self, user_id: &str, only: Option<&str>) -> Result<usize, StoreError> {
        self.with(async |db| {
            let ended = exec(
                db,
                "DELETE FROM sessions WHERE user_id = $1 AND ($2::text IS NULL OR token_hash = $2)",
                &[&user_id, &only],
            )
            .await?;
            Ok(usize::try_from(ended).unwrap_or(usize::MAX))
        })
    }
}

impl Store for PostgresStore {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.with(async |db| row(db, "SELECT 1", &[], |_| Ok(())).await.map(drop))
    }

    fn purge(&self, purge: &Purge) -> Result<usize, StoreError> {
        let batch = limit(purge.batch);
        let cutoff = purge.now - HOUR;
        self.with(async |db| {
            let deletes: [(&str, &[&(dyn ToSql + Sync)]); 6] = [
                (
                    "DELETE FROM otp_codes WHERE ctid = ANY(ARRAY(SELECT ctid FROM otp_codes
                      WHERE issued_at <= $1 AND (status = 'used' OR expires_at <= $2) LIMIT $3))",
                    &[&cutoff, &purge.now, &batch],
                ),
                (
                    "DELETE FROM otp_failures WHERE ctid = ANY(ARRAY(SELECT ctid FROM otp_failures
                      WHERE $1 >= ALL(times) LIMIT $2))",
                    &[&purge.failures_before, &batch],
                ),
                (
                    "DELETE FROM otp_locks WHERE ctid = ANY(ARRAY(SELECT ctid FROM otp_locks WHERE until <= $1 LIMIT $2))",
                    &[&purge.now, &batch],
                ),
                (
                    "DELETE FROM sessions WHERE ctid = ANY(ARRAY(SELECT ctid FROM sessions
                      WHERE expires_at <= $1 OR (idle_timeout > 0 AND last_used_at + idle_timeout <= $1) LIMIT $2))",
                    &[&purge.now, &batch],
                ),
                (
                    "DELETE FROM user_tokens WHERE ctid = ANY(ARRAY(SELECT ctid FROM user_tokens
                      WHERE expires_at <= $1 LIMIT $2))",
                    &[&purge.now, &batch],
                ),
                (
                    "DELETE FROM runs WHERE ctid = ANY(ARRAY(SELECT ctid FROM runs WHERE started_at < $1 LIMIT $2))",
                    &[&purge.runs_before, &batch],
                ),
            ];
            let mut purged = 0;
            for (sql, params) in deletes {
                purged += exec(db, sql, params).await?;
            }
            Ok(usize::try_from(purged).unwrap_or(usize::MAX))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_parameter_is_taken_out_of_the_url_and_checked() {
        let split = |url| split_schema(url).map_err(|e| e.to_string());
        assert_eq!(split("postgres://h/db").unwrap(), ("postgres://h/db".into(), None));
        assert_eq!(
            split("postgres://h/db?schema=t_1&connect_timeout=3").unwrap(),
            ("postgres://h/db?connect_timeout=3".into(), Some("t_1".into()))
        );
        assert_eq!(split("postgres://h/db?schema=a").unwrap(), ("postgres://h/db".into(), Some("a".into())));
        let err = split("postgres://h/db?schema=x;drop").unwrap_err();
        assert!(err.contains("not a plain name"), "{err}");
    }

    #[test]
    fn the_location_never_shows_the_password() {
        let config = tokio_postgres::Config::from_str("postgres://ann:hunter2@db.example:6543/app").unwrap();
        assert_eq!(describe(&config, Some("t")), "postgres://ann@db.example:6543/app?schema=t");
    }
}
