//! The database schema, one migration per version; `PRAGMA user_version` records the last applied.

/// Migrations in order; migration `i` brings the schema to version `i + 1`. Never edit one
/// that has shipped: add another.
pub const MIGRATIONS: &[&str] = &[
    // 1: users; one code per user and client (`recent`: the last hour's issue times, comma-
    // separated, for the rate limits); failures and locks; entries; run records.
    "CREATE TABLE users (
        id TEXT PRIMARY KEY,
        user_name TEXT NOT NULL,
        user_name_key TEXT NOT NULL UNIQUE,
        email TEXT, phone TEXT, first_name TEXT, last_name TEXT, locale TEXT,
        active INTEGER NOT NULL,
        password_hash TEXT
    );
    CREATE TABLE otp_codes (
        user_id TEXT NOT NULL,
        client TEXT NOT NULL,
        id TEXT NOT NULL,
        key_id TEXT NOT NULL,
        mac BLOB NOT NULL,
        length INTEGER NOT NULL,
        issued_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('live', 'used')),
        recent TEXT NOT NULL,
        PRIMARY KEY (user_id, client)
    ) WITHOUT ROWID;
    CREATE TABLE otp_failures (user_id TEXT NOT NULL, client TEXT NOT NULL, at INTEGER NOT NULL);
    CREATE INDEX otp_failures_by_pair ON otp_failures (user_id, client, at);
    CREATE TABLE otp_locks (
        user_id TEXT NOT NULL, client TEXT NOT NULL, until INTEGER NOT NULL,
        PRIMARY KEY (user_id, client)
    );
    CREATE TABLE entries (
        component TEXT NOT NULL,
        id TEXT NOT NULL,
        name TEXT,
        data TEXT NOT NULL,
        key TEXT,
        deleted INTEGER NOT NULL DEFAULT 0,
        creator_subject TEXT,
        update_subject TEXT,
        created_date INTEGER NOT NULL,
        update_date INTEGER NOT NULL,
        PRIMARY KEY (component, id)
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX entries_primary_key ON entries (component, key) WHERE key IS NOT NULL AND deleted = 0;
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        component TEXT NOT NULL,
        dataflow TEXT NOT NULL,
        user TEXT,
        client TEXT,
        started_at INTEGER NOT NULL,
        duration_us INTEGER NOT NULL,
        status TEXT NOT NULL,
        failed_step TEXT,
        message TEXT
    );
    CREATE INDEX runs_by_time ON runs (started_at);",
    // 2: the notification outbox (and in-app inbox); sessions (token hashes only).
    "CREATE TABLE messages (
        id TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        user_id TEXT,
        recipient TEXT NOT NULL,
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        html INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        origin TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX messages_by_user ON messages (user_id, created_at);
    CREATE INDEX messages_by_status ON messages (status, created_at);
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        client TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    ) WITHOUT ROWID;",
    // 3: components saved by the builder (every version); run details for inspection and replay.
    "CREATE TABLE components (
        name TEXT NOT NULL,
        version INTEGER NOT NULL,
        source TEXT NOT NULL,
        saved_at INTEGER NOT NULL,
        PRIMARY KEY (name, version)
    ) WITHOUT ROWID;
    ALTER TABLE runs ADD COLUMN input TEXT;
    ALTER TABLE runs ADD COLUMN trace TEXT;
    ALTER TABLE runs ADD COLUMN outcome TEXT;
    CREATE INDEX runs_by_component ON runs (component, started_at);",
    // 4: a user holds one code per purpose, bound to the client it was issued for; failures
    // and locks count per subject (a user) and scope (what failed), not per client. Live codes
    // (10 minutes at most) are voided: their place changes. Sessions are found by user, to
    // list and revoke them.
    "DELETE FROM otp_codes;
    ALTER TABLE otp_codes RENAME COLUMN client TO purpose;
    ALTER TABLE otp_codes ADD COLUMN client TEXT NOT NULL DEFAULT '';
    DELETE FROM otp_failures;
    ALTER TABLE otp_failures RENAME COLUMN user_id TO subject;
    ALTER TABLE otp_failures RENAME COLUMN client TO scope;
    DELETE FROM otp_locks;
    ALTER TABLE otp_locks RENAME COLUMN user_id TO subject;
    ALTER TABLE otp_locks RENAME COLUMN client TO scope;
    CREATE INDEX sessions_by_user ON sessions (user_id, created_at);",
    // 5: sessions know how they were earned (the factors, also carried by the code that opens
    // one) and when they were last used (idle timeout). Sessions from before earned none that
    // counts. Run outcomes recorded before session tokens were redacted lose their outcome.
    // Consecutive failures of users are counted until a success or a builder's unlock.
    "ALTER TABLE otp_codes ADD COLUMN factors TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE sessions ADD COLUMN methods TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE sessions ADD COLUMN idle_timeout INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN last_used_at INTEGER NOT NULL DEFAULT 0;
    UPDATE sessions SET last_used_at = created_at;
    UPDATE runs SET outcome = NULL WHERE instr(outcome, '\"_session\"') > 0;
    CREATE TABLE otp_streaks (
        subject TEXT NOT NULL,
        scope TEXT NOT NULL,
        failures INTEGER NOT NULL,
        PRIMARY KEY (subject, scope)
    ) WITHOUT ROWID;",
    // 6: who saved each version of a component (a builder's name; unknown before).
    "ALTER TABLE components ADD COLUMN saved_by TEXT;",
    // 7: accounts: whether a user's address is verified, roles per context, single-use tokens
    // (only their keyed hashes) and authenticator apps (secrets sealed under the server key).
    "ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE user_roles (
        user_id TEXT NOT NULL,
        context TEXT NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (user_id, context, name)
    ) WITHOUT ROWID;
    CREATE TABLE user_tokens (
        purpose TEXT NOT NULL,
        hash TEXT NOT NULL,
        user_id TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (purpose, hash)
    ) WITHOUT ROWID;
    CREATE INDEX user_tokens_by_user ON user_tokens (user_id, purpose);
    CREATE TABLE authenticators (
        user_id TEXT PRIMARY KEY,
        secret TEXT,
        pending TEXT,
        last_step INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;",
];
