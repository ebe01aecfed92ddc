//! The state store: users, one-time codes, component entries and run records.
//!
//! Steps reach it only through [`Services`](crate::Services), so step crates never depend on a
//! database. Every implementation runs the same conformance suite (`crates/sluice/tests/store.rs`).
//! Operations that must not race are single atomic operations of the store: counting an attempt,
//! consuming a code, issuing a code (limits, replacement and insertion together).

mod accounts;
mod memory;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::clock::Millis;
pub use accounts::{AccountStore, Authenticator, NewToken, ROLE_NAME_PATTERN, Role, SYSTEM_CONTEXT, is_role_name};
pub use memory::MemoryStore;

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A unique value is taken (a user name, an entry's primary key).
    #[error("{0}")]
    Duplicate(String),
    /// The thing to change does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The store cannot be reached or written (I/O, locked file, lost connection).
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
}

/// A user of the platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// UUID.
    pub id: String,
    /// Unique, compared without regard to case.
    pub user_name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Preferred language tag (such as `fr`).
    pub locale: Option<String>,
    /// Inactive users cannot get codes (Aqtra "deletes" a user by clearing this).
    pub active: bool,
    /// Whether the user proved the e-mail address is theirs (through a confirmation link).
    #[serde(default)]
    pub email_verified: bool,
    /// Argon2 PHC string; never shown.
    #[serde(skip)]
    pub password_hash: Option<String>,
    /// The roles the user holds, as `find_user` and `list_users` read them (with the user, in
    /// one round trip); writing a user leaves them alone (see [`AccountStore::grant_roles`]).
    #[serde(default)]
    pub roles: Vec<Role>,
}

impl User {
    /// An active user with a new id and no other data.
    pub fn new(user_name: &str) -> User {
        User {
            id: crate::new_uuid(),
            user_name: user_name.to_owned(),
            email: None,
            phone: None,
            first_name: None,
            last_name: None,
            locale: None,
            active: true,
            email_verified: false,
            password_hash: None,
            roles: Vec::new(),
        }
    }

    /// The user as steps see it (`_user`): everything but the password hash.
    pub fn to_item_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Users: imported in bulk, found by name or id.
pub trait UserStore {
    /// Creates or updates users, all or none. A user matches an existing one by id, else by
    /// name (without regard to case). Returns how many were written.
    fn import_users(&self, users: &[User]) -> Result<usize, StoreError>;
    /// The user with this id, or else this name (without regard to case).
    fn find_user(&self, name_or_id: &str) -> Result<Option<User>, StoreError>;
    /// Every user, by name.
    fn list_users(&self) -> Result<Vec<User>, StoreError>;
}

/// A one-time code to store: its keyed hash, never the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCode {
    /// Challenge id (UUID), covered by the hash.
    pub id: String,
    /// The user's id.
    pub user_id: String,
    /// What the code is for (such as the component's name): a user holds one code per purpose.
    pub purpose: String,
    /// The client the code was issued for: it confirms only from there.
    pub client: String,
    /// Which server key made the hash.
    pub key_id: String,
    /// HMAC-SHA256 over challenge, user, client and code.
    pub mac: Vec<u8>,
    /// Digits in the code.
    pub length: u32,
    /// When it was issued.
    pub issued_at: Millis,
    /// When it stops working (`now >= expires_at` is expired).
    pub expires_at: Millis,
    /// Confirmations it allows, the right one included.
    pub max_attempts: u32,
    /// The factors the user proved in the run that asked for it (a password, say): a session
    /// opened when it is confirmed was earned with them and the code.
    pub factors: Vec<Factor>,
}

/// The longest user name (or id) a step looks up, in bytes; a longer one is no user's, and is
/// refused before any lookup.
pub const MAX_USER_NAME_BYTES: usize = 256;

/// Whether `name_or_id` could name a user: no longer than [`MAX_USER_NAME_BYTES`] and free of
/// NUL characters (see [`NUL_RULE`](crate::types::NUL_RULE)). Anything else is no user's, and
/// is refused before any lookup.
pub fn could_name_a_user(name_or_id: &str) -> bool {
    name_or_id.len() <= MAX_USER_NAME_BYTES && !name_or_id.contains('\0')
}

/// One hour, in milliseconds: the window of the issue and failure limits.
pub const HOUR: Millis = 3_600_000;

/// Checks `limits` for a code issued at `now` after codes issued at `recent` (any order);
/// returns the issue times to keep (the last hour's, `now` included) or the wait.
pub fn check_issue_limits(recent: &[Millis], now: Millis, limits: &IssueLimits) -> Result<Vec<Millis>, Millis> {
    let mut kept: Vec<Millis> = recent.iter().copied().filter(|at| *at > now - HOUR).collect();
    kept.sort_unstable();
    if let Some(last) = kept.last()
        && limits.resend_cooldown > 0
        && now - last < limits.resend_cooldown
    {
        return Err(last + limits.resend_cooldown - now);
    }
    if kept.len() >= limits.max_per_hour as usize {
        return Err(kept.first().map_or(0, |oldest| oldest + HOUR - now));
    }
    kept.push(now);
    Ok(kept)
}

/// Limits on issuing codes for one user and purpose, whatever the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssueLimits {
    /// Time that must pass between two codes.
    pub resend_cooldown: Millis,
    /// Codes at most in any hour.
    pub max_per_hour: u32,
}

/// The result of asking for a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issued {
    /// Stored; every earlier code of the user and client is void.
    Stored,
    /// Refused by a limit; try again after this many milliseconds.
    Limited {
        /// Milliseconds until a code may be issued.
        retry_after: Millis,
    },
}

/// What a code's life came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CodeStatus {
    /// Waiting for confirmation.
    Live,
    /// Confirmed (spent).
    Used,
}

/// A stored code, as a confirmation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCode {
    /// Challenge id.
    pub id: String,
    /// What it is for.
    pub purpose: String,
    /// The client it was issued for.
    pub client: String,
    /// Which server key made the hash.
    pub key_id: String,
    /// The keyed hash.
    pub mac: Vec<u8>,
    /// Digits in the code.
    pub length: u32,
    /// When it stops working.
    pub expires_at: Millis,
    /// Attempts counted so far, this one included.
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// Its status.
    pub status: CodeStatus,
    /// The factors proved before it was issued.
    pub factors: Vec<Factor>,
}

/// One-time codes and the failure counts that lock confirmation.
///
/// A user holds at most one code per purpose: a new one takes the place of the last, whatever
/// its client, so earlier codes are void. The times of the codes issued within the last hour
/// are kept with it, for the rate limits, which therefore count per user and purpose: a
/// caller cannot get more codes by naming other clients. Failures and locks count per
/// subject (a user's id) and scope (what failed: confirmations, logins), never per client.
pub trait CodeStore {
    /// Atomically: refuses when `limits` forbid a new code for the user and purpose;
    /// otherwise stores `code` in their place, voiding the earlier one.
    fn issue_code(&self, code: &NewCode, limits: &IssueLimits) -> Result<Issued, StoreError>;
    /// Atomically counts one attempt on the live code of the user and purpose, and returns it
    /// with the new count; `None` when they have no live code.
    fn attempt_code(&self, user_id: &str, purpose: &str) -> Result<Option<StoredCode>, StoreError>;
    /// Spends the code `id` of the user and purpose while it is live and unexpired: `true` for
    /// exactly one caller, `false` for every other.
    fn consume_code(&self, user_id: &str, purpose: &str, id: &str, now: Millis) -> Result<bool, StoreError>;
    /// The user's newest code (any purpose, any status), to tell why a confirmation failed.
    fn newest_code(&self, user_id: &str) -> Result<Option<StoredCode>, StoreError>;
    /// Records a failure of `subject` in `scope` and returns how many it has had there since
    /// `since`. Older failures are forgotten.
    fn record_failure(&self, subject: &str, scope: &str, now: Millis, since: Millis) -> Result<u32, StoreError>;
    /// Locks `subject` in `scope` until `until`.
    fn lock(&self, subject: &str, scope: &str, until: Millis) -> Result<(), StoreError>;
    /// The end of the lock of `subject` in `scope`, when one is in force at `now`.
    fn locked_until(&self, subject: &str, scope: &str, now: Millis) -> Result<Option<Millis>, StoreError>;
    /// Forgets the failures of `subject` in `scope` (after a success), the consecutive ones
    /// included.
    fn clear_failures(&self, subject: &str, scope: &str) -> Result<(), StoreError>;
    /// Counts one more consecutive failure of `subject` in `scope` (kept until a success or an
    /// unlock, however old) and returns how many there have been.
    fn add_consecutive_failure(&self, subject: &str, scope: &str) -> Result<u32, StoreError>;
    /// Lifts every lock of `subject` and forgets its failures, in every scope (a builder's
    /// unlock).
    fn unlock(&self, subject: &str) -> Result<(), StoreError>;
}

/// An entry of a component: its `data` and system fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// UUID.
    #[serde(rename = "Id")]
    pub id: String,
    /// The display name (Aqtra's system `name`).
    pub name: Option<String>,
    /// The component's fields.
    pub data: Map<String, Value>,
    /// Marked for deletion.
    pub deleted: bool,
    /// Who created it.
    pub creator_subject: Option<String>,
    /// Who changed it last.
    pub update_subject: Option<String>,
    /// When it was created (ms since the epoch).
    pub created_date: Millis,
    /// When it was changed last (ms since the epoch).
    pub update_date: Millis,
}

impl Entry {
    /// The entry as a model value, as steps that read entries hand it on: `Id`, `name`,
    /// `data`, `deleted` and the other system fields.
    pub fn to_model(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// A write to an entry.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryWrite {
    /// The component.
    pub component: String,
    /// The fields to write (on update, written over the stored ones).
    pub data: Map<String, Value>,
    /// The display name, when set.
    pub name: Option<String>,
    /// The primary key's values as canonical JSON, unique among the component's entries that
    /// are not marked for deletion; `None` when the component has no key or it is empty.
    pub key: Option<String>,
    /// Who writes.
    pub subject: Option<String>,
    /// When.
    pub at: Millis,
    /// Whether an update records who changed the entry and when (`updateSubject`,
    /// `updateDate`); false for Update entry's `noTracking`. A new entry always records both.
    pub tracked: bool,
}

/// Entries of components.
pub trait EntryStore {
    /// Creates an entry with id `id`.
    fn create_entry(&self, id: &str, write: &EntryWrite) -> Result<(), StoreError>;
    /// Writes `write.data` over the fields of entry `id`, atomically.
    fn update_entry(&self, id: &str, write: &EntryWrite) -> Result<(), StoreError>;
    /// Marks entry `id` for deletion.
    fn mark_entry_deleted(
        &self,
        component: &str,
        id: &str,
        subject: Option<&str>,
        at: Millis,
    ) -> Result<(), StoreError>;
    /// Entry `id` of the component.
    fn get_entry(&self, component: &str, id: &str) -> Result<Option<Entry>, StoreError>;
    /// Every entry of the component, oldest first.
    fn list_entries(&self, component: &str) -> Result<Vec<Entry>, StoreError>;
    /// The entry of the component, not marked for deletion, whose primary key is `key` (as
    /// [`EntryWrite::key`] holds it); one indexed lookup.
    fn find_entry_by_key(&self, component: &str, key: &str) -> Result<Option<Entry>, StoreError>;
}

/// What a run came to, kept for the record (never the items, which may hold secrets).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    /// UUID.
    pub id: String,
    /// The component.
    pub component: String,
    /// The dataflow.
    pub dataflow: String,
    /// The calling user.
    pub user: Option<String>,
    /// The client.
    pub client: Option<String>,
    /// When it started (ms since the epoch).
    pub started_at: Millis,
    /// How long it took, in microseconds.
    pub duration_us: i64,
    /// `ok` or `failed`.
    pub status: String,
    /// The step that failed.
    pub failed_step: Option<String>,
    /// Why it failed.
    pub message: Option<String>,
    /// The input, secrets redacted (kept when the run was asked to keep details).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<RawJson>,
    /// The per-step trace with emitted items, secrets redacted (when kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<RawJson>,
    /// `{"response", "formActions"}` as returned, secrets left out (when kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<RawJson>,
}

/// JSON kept as text: run details are written once and read rarely, so they are not built
/// into a tree of values.
pub type RawJson = Box<serde_json::value::RawValue>;

impl RunRecord {
    /// The record without its details (input, trace, outcome), as lists show it.
    pub fn summary(&self) -> RunRecord {
        RunRecord { input: None, trace: None, outcome: None, ..self.clone() }
    }
}

/// Run records.
pub trait RunStore {
    /// Keeps a record. A store may commit it after returning (SQLite does, so that a run's
    /// answer does not wait for its record), but `list_runs` and `get_run` on the same store
    /// see it from the moment this returns; a failure to commit it then is logged.
    fn record_run(&self, run: RunRecord) -> Result<(), StoreError>;
    /// The newest records (of one component, when given), newest first, without details.
    fn list_runs(&self, component: Option<&str>, limit: usize) -> Result<Vec<RunRecord>, StoreError>;
    /// One record with its details.
    fn get_run(&self, id: &str) -> Result<Option<RunRecord>, StoreError>;
}

/// A saved version of a component file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredComponent {
    /// The component's name.
    pub name: String,
    /// 1 for the first save, then one more per save.
    pub version: i64,
    /// The file's text, as saved.
    pub source: String,
    /// When it was saved (ms since the epoch).
    pub saved_at: Millis,
    /// Who saved it (a builder's name), when that is known.
    pub saved_by: Option<String>,
}

/// Component files saved by the builder, with every version.
pub trait ComponentStore {
    /// Saves a new version, at `at` by `by` (a builder's name), and returns its number.
    fn save_component(&self, name: &str, source: &str, at: Millis, by: Option<&str>) -> Result<i64, StoreError>;
    /// The number of the latest version, without its text (what a server checks per request).
    fn component_version(&self, name: &str) -> Result<Option<i64>, StoreError>;
    /// The latest version, or version `version`.
    fn get_component(&self, name: &str, version: Option<i64>) -> Result<Option<StoredComponent>, StoreError>;
    /// The latest version of every component, by name.
    fn list_components(&self) -> Result<Vec<StoredComponent>, StoreError>;
    /// Deletes every version; `false` when there was none.
    fn delete_component(&self, name: &str) -> Result<bool, StoreError>;
    /// Moves every version of `from` to the name `to`, each file naming `to`
    /// ([`with_name`](crate::component::with_name)), at once: `false` when `from` has no
    /// version, [`StoreError::Duplicate`] when `to` has one.
    fn rename_component(&self, from: &str, to: &str) -> Result<bool, StoreError>;
}

/// What a rename onto a name in use answers.
pub fn name_taken(name: &str) -> StoreError {
    StoreError::Duplicate(format!("a component named \"{name}\" exists already"))
}

/// A notification channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Channel {
    /// E-mail through the configured SMTP server.
    Smtp,
    /// The in-app inbox: the message stays in the store for the user to read.
    Mail,
    /// A JSON POST to the configured webhook URL.
    Webhook,
}

impl Channel {
    /// The channel's name, as in settings.
    pub fn name(self) -> &'static str {
        match self {
            Channel::Smtp => "Smtp",
            Channel::Mail => "Mail",
            Channel::Webhook => "Webhook",
        }
    }

    /// The channel a stored name stands for (`Mail` for anything unknown: the inbox keeps it).
    pub fn from_name(name: &str) -> Channel {
        match name {
            "Smtp" => Channel::Smtp,
            "Webhook" => Channel::Webhook,
            _ => Channel::Mail,
        }
    }
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MessageStatus {
    /// Written, not yet handed over.
    Pending,
    /// Handed to its channel (for `Mail`: in the user's inbox).
    Sent,
    /// The last attempt failed; `sluice outbox retry` sends it again.
    Failed,
}

impl MessageStatus {
    /// The status as stored: `pending`, `sent` or `failed`.
    pub fn name(self) -> &'static str {
        match self {
            MessageStatus::Pending => "pending",
            MessageStatus::Sent => "sent",
            MessageStatus::Failed => "failed",
        }
    }

    /// The status a stored name stands for (`Pending` for anything unknown: it is sent again).
    pub fn from_name(name: &str) -> MessageStatus {
        match name {
            "sent" => MessageStatus::Sent,
            "failed" => MessageStatus::Failed,
            _ => MessageStatus::Pending,
        }
    }
}

/// A notification in the outbox. After an `Smtp` or `Webhook` message is handed over its
/// body is cleared (it may hold a one-time code); a `Mail` message keeps it, being the inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// UUID.
    pub id: String,
    /// How it is delivered.
    pub channel: Channel,
    /// The recipient's user id.
    pub user_id: Option<String>,
    /// The address: an e-mail address for `Smtp`, the user name for `Mail` and `Webhook`.
    pub recipient: String,
    /// The subject ("Message theme").
    pub subject: String,
    /// The body.
    pub body: String,
    /// Whether the body is HTML.
    pub html: bool,
    /// Where it stands.
    pub status: MessageStatus,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The component and step that wrote it.
    pub origin: String,
    /// When it was written (ms since the epoch).
    pub created_at: Millis,
    /// When it last changed.
    pub updated_at: Millis,
}

/// The outbox (and in-app inbox) of notifications.
pub trait OutboxStore {
    /// Writes a new message.
    fn enqueue_message(&self, message: &Message) -> Result<(), StoreError>;
    /// Records a delivery attempt: `Ok` marks it sent (clearing the body unless it is `Mail`),
    /// `Err` marks it failed with the reason.
    fn record_delivery(&self, id: &str, outcome: Result<(), &str>, at: Millis) -> Result<(), StoreError>;
    /// One message.
    fn get_message(&self, id: &str) -> Result<Option<Message>, StoreError>;
    /// Messages, newest first, for one user and/or in one status.
    fn list_messages(
        &self,
        user_id: Option<&str>,
        status: Option<MessageStatus>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError>;
}

/// How a user proved who they are (the `amr` values of RFC 8176).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")] // the same names as `name`
pub enum AuthMethod {
    /// A password.
    Pwd,
    /// A one-time code sent to the user.
    Otp,
}

impl AuthMethod {
    /// Its name, as sessions list it (`pwd`, `otp`).
    pub fn name(self) -> &'static str {
        match self {
            AuthMethod::Pwd => "pwd",
            AuthMethod::Otp => "otp",
        }
    }
}

/// One factor a user proved, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Factor {
    /// What was proved.
    pub method: AuthMethod,
    /// When.
    pub at: Millis,
}

/// Factors as stored: a JSON array (`[{"method":"pwd","at":..}]`).
pub fn factors_to_text(factors: &[Factor]) -> String {
    serde_json::to_string(factors).unwrap_or_else(|_| "[]".into())
}

/// Factors from their stored text; text that is not factors counts as none.
pub fn factors_from_text(text: &str) -> Vec<Factor> {
    serde_json::from_str(text).unwrap_or_default()
}

/// A signed-in session: what an end user presents after signing in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// SHA-256 of the token, hex; the token itself is never stored.
    pub token_hash: String,
    /// The user.
    pub user_id: String,
    /// The client it was issued for.
    pub client: String,
    /// How it was earned: each factor the user proved, with its time.
    pub methods: Vec<Factor>,
    /// When it was made.
    pub created_at: Millis,
    /// When it stops working, however much it is used.
    pub expires_at: Millis,
    /// It also stops after this long unused (0: never).
    pub idle_timeout: Millis,
    /// When it was last used (kept to the minute: see [`sessions::TOUCH_EVERY`](crate::sessions::TOUCH_EVERY)).
    pub last_used_at: Millis,
}

impl Session {
    /// Whether it works at `now`: before its end and, with an idle timeout, used recently.
    pub fn live_at(&self, now: Millis) -> bool {
        now < self.expires_at && (self.idle_timeout == 0 || now < self.last_used_at + self.idle_timeout)
    }

    /// Whether it was earned with a password and a one-time code (`"access": "twoFactor"`).
    pub fn two_factor(&self) -> bool {
        let proved = |method| self.methods.iter().any(|f| f.method == method);
        proved(AuthMethod::Pwd) && proved(AuthMethod::Otp)
    }
}

/// Sessions.
pub trait SessionStore {
    /// Stores a session.
    fn create_session(&self, session: &Session) -> Result<(), StoreError>;
    /// The session with this token hash, when it is live at `now` ([`Session::live_at`]).
    fn find_session(&self, token_hash: &str, now: Millis) -> Result<Option<Session>, StoreError>;
    /// Records that the session was used at `at`.
    fn touch_session(&self, token_hash: &str, at: Millis) -> Result<(), StoreError>;
    /// The user's sessions live at `now`, newest first.
    fn list_sessions(&self, user_id: &str, now: Millis) -> Result<Vec<Session>, StoreError>;
    /// Ends the user's session with the token hash `only` (signing out), or all the user's
    /// sessions (revoking them); returns how many ended.
    fn end_sessions(&self, user_id: &str, only: Option<&str>) -> Result<usize, StoreError>;
}

/// A complete store.
pub trait Store:
    UserStore + AccountStore + CodeStore + EntryStore + RunStore + OutboxStore + SessionStore + ComponentStore + Send + Sync
{
    /// Where it keeps its state, for messages (`memory:`, `sqlite:/path`).
    fn location(&self) -> String;
    /// Reaches the store's storage once (for health checks): `Err` when it cannot be read.
    fn ping(&self) -> Result<(), StoreError>;
    /// Deletes at most `purge.batch` rows of each kind that `purge` lets go, and returns how
    /// many it deleted in all. Servers call it in the background until it returns less than a
    /// batch, so no request waits behind a long delete.
    fn purge(&self, purge: &Purge) -> Result<usize, StoreError>;
    /// Whether its calls wait with the core idle — on a disk, a server, or a shared writer
    /// batching the writes of many callers. A server runs more threads for such a store, so
    /// the cores stay busy and batches fill; for a store that never waits, threads beyond
    /// the cores only take turns on them.
    fn waits(&self) -> bool {
        true
    }
}

/// What [`Store::purge`] may forget: codes that are spent or expired and out of the issue
/// limits' hour, expired sessions, tokens and locks, failures older than the failure window, and runs
/// older than the retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purge {
    /// The time now.
    pub now: Millis,
    /// Failures at or before this time no longer count.
    pub failures_before: Millis,
    /// Runs started before this time are dropped.
    pub runs_before: Millis,
    /// Rows of each kind to delete at most.
    pub batch: usize,
}

impl Purge {
    /// Whether a code issued at `issued_at` that expires at `expires_at` may go: it is spent
    /// or expired, and the rate limits no longer count it.
    pub fn drops_code(&self, issued_at: Millis, expires_at: Millis, status: CodeStatus) -> bool {
        issued_at <= self.now - HOUR && (status == CodeStatus::Used || expires_at <= self.now)
    }
}

/// The error for an entry that does not exist (the same text from every store).
pub fn entry_not_found(component: &str, id: &str) -> StoreError {
    StoreError::NotFound(format!("{component} has no entry with Id \"{id}\""))
}

/// The error for a taken primary key (the same text from every store).
pub fn duplicate_key(component: &str, key: &str) -> StoreError {
    StoreError::Duplicate(format!("{component} already has an entry with primary key {key}"))
}
