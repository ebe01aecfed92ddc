//! The database schema, one migration per version; the table `sluice_schema` records which
//! were applied. Replicas starting together take an advisory lock, so one migrates and the
//! others find the work done.

/// Migrations in order; migration `i` brings the schema to version `i + 1`. Never edit one
/// that has shipped: add another.
pub const MIGRATIONS: &[&str] = &[
    // 1: everything the SQLite store holds at its version 3, in PostgreSQL's types: times in
    // milliseconds since the epoch (bigint), entry data as jsonb, the issue times and failure
    // times of a user and client as arrays in one row each, so that counting them is one
    // guarded statement.
    "CREATE TABLE users (
        id text PRIMARY KEY,
        user_name text NOT NULL,
        user_name_key text NOT NULL UNIQUE,
        email text, phone text, first_name text, last_name text, locale text,
        active boolean NOT NULL,
        password_hash text
    );
    CREATE TABLE otp_codes (
        user_id text NOT NULL,
        client text NOT NULL,
        id text NOT NULL,
        key_id text NOT NULL,
        mac bytea NOT NULL,
        length integer NOT NULL,
        issued_at bigint NOT NULL,
        expires_at bigint NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        max_attempts integer NOT NULL,
        status text NOT NULL CHECK (status IN ('live', 'used')),
        recent bigint[] NOT NULL,
        PRIMARY KEY (user_id, client)
    );
    CREATE INDEX otp_codes_by_user ON otp_codes (user_id, issued_at);
    CREATE INDEX otp_codes_by_age ON otp_codes (issued_at);
    CREATE TABLE otp_failures (
        user_id text NOT NULL, client text NOT NULL, times bigint[] NOT NULL,
        PRIMARY KEY (user_id, client)
    );
    CREATE TABLE otp_locks (
        user_id text NOT NULL, client text NOT NULL, until bigint NOT NULL,
        PRIMARY KEY (user_id, client)
    );
    CREATE TABLE entries (
        component text NOT NULL,
        id text NOT NULL,
        name text,
        data jsonb NOT NULL,
        key text,
        deleted boolean NOT NULL DEFAULT false,
        creator_subject text,
        update_subject text,
        created_date bigint NOT NULL,
        update_date bigint NOT NULL,
        PRIMARY KEY (component, id)
    );
    CREATE UNIQUE INDEX entries_primary_key ON entries (component, key) WHERE key IS NOT NULL AND NOT deleted;
    CREATE TABLE runs (
        seq bigserial NOT NULL,
        id text PRIMARY KEY,
        component text NOT NULL,
        dataflow text NOT NULL,
        user_name text,
        client text,
        started_at bigint NOT NULL,
        duration_us bigint NOT NULL,
        status text NOT NULL,
        failed_step text,
        message text,
        input text,
        trace text,
        outcome text
    );
    CREATE INDEX runs_by_time ON runs (started_at, seq);
    CREATE INDEX runs_by_component ON runs (component, started_at, seq);
    CREATE TABLE messages (
        seq bigserial NOT NULL,
        id text PRIMARY KEY,
        channel text NOT NULL,
        user_id text,
        recipient text NOT NULL,
        subject text NOT NULL,
        body text NOT NULL,
        html boolean NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        origin text NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL
    );
    CREATE INDEX messages_by_user ON messages (user_id, created_at);
    CREATE INDEX messages_by_status ON messages (status, created_at);
    CREATE TABLE sessions (
        token_hash text PRIMARY KEY,
        user_id text NOT NULL,
        client text NOT NULL,
        created_at bigint NOT NULL,
        expires_at bigint NOT NULL
    );
    CREATE INDEX sessions_by_expiry ON sessions (expires_at);
    CREATE TABLE components (
        name text NOT NULL,
        version bigint NOT NULL,
        source text NOT NULL,
        saved_at bigint NOT NULL,
        PRIMARY KEY (name, version)
    );",
    // 2: a user holds one code per purpose, bound to the client it was issued for; failures
    // and locks count per subject (a user) and scope (what failed), not per client. Live codes
    // (10 minutes at most) are voided: their place changes. Sessions are found by user, to
    // list and revoke them.
    "DELETE FROM otp_codes;
    ALTER TABLE otp_codes RENAME COLUMN client TO purpose;
    ALTER TABLE otp_codes ADD COLUMN client text NOT NULL DEFAULT '';
    DELETE FROM otp_failures;
    ALTER TABLE otp_failures RENAME COLUMN user_id TO subject;
    ALTER TABLE otp_failures RENAME COLUMN client TO scope;
    DELETE FROM otp_locks;
    ALTER TABLE otp_locks RENAME COLUMN user_id TO subject;
    ALTER TABLE otp_locks RENAME COLUMN client TO scope;
    CREATE INDEX sessions_by_user ON sessions (user_id, created_at);",
    // 3: sessions know how they were earned (the factors, also carried by the code that opens
    // one) and when they were last used (idle timeout). Sessions from before earned none that
    // counts. Run outcomes recorded before session tokens were redacted lose their outcome.
    // Consecutive failures of users are counted until a success or a builder's unlock.
    "ALTER TABLE otp_codes ADD COLUMN factors text NOT NULL DEFAULT '[]';
    ALTER TABLE sessions ADD COLUMN methods text NOT NULL DEFAULT '[]';
    ALTER TABLE sessions ADD COLUMN idle_timeout bigint NOT NULL DEFAULT 0;
    ALTER TABLE sessions ADD COLUMN last_used_at bigint NOT NULL DEFAULT 0;
    UPDATE sessions SET last_used_at = created_at;
    UPDATE runs SET outcome = NULL WHERE strpos(outcome::text, '\"_session\"') > 0;
    CREATE TABLE otp_streaks (
        subject text NOT NULL,
        scope text NOT NULL,
        failures integer NOT NULL,
        PRIMARY KEY (subject, scope)
    );",
    // 4: who saved each version of a component (a builder's name; unknown before).
    "ALTER TABLE components ADD COLUMN saved_by text;",
    // 5: accounts: whether a user's address is verified, roles per context, single-use tokens
    // (only their keyed hashes) and authenticator apps (secrets sealed under the server key).
    "ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;
    CREATE TABLE user_roles (
        user_id text NOT NULL,
        context text NOT NULL,
        name text NOT NULL,
        PRIMARY KEY (user_id, context, name)
    );
    CREATE TABLE user_tokens (
        purpose text NOT NULL,
        hash text NOT NULL,
        user_id text NOT NULL,
        expires_at bigint NOT NULL,
        PRIMARY KEY (purpose, hash)
    );
    CREATE INDEX user_tokens_by_user ON user_tokens (user_id, purpose);
    CREATE TABLE authenticators (
        user_id text PRIMARY KEY,
        secret text,
        pending text,
        last_step bigint NOT NULL DEFAULT 0
    );",
];
