//! Accounts on SQLite: users written one at a time, roles, single-use tokens and authenticator
//! apps. Redeeming is one statement, so two callers never both win.

use rusqlite::{OptionalExtension, params};
use sluice_core::Millis;
use sluice_core::store::{AccountStore, Authenticator, NewToken, Role, StoreError, User};

use crate::{SqliteStore, all_rows, exec, row, write_user};

impl AccountStore for SqliteStore {
    fn save_user(&self, user: &User) -> Result<(), StoreError> {
        let user = user.clone();
        self.write(move |conn| write_user(conn, &user.id, &user))
    }

    fn roles(&self, user_id: &str) -> Result<Vec<Role>, StoreError> {
        self.read(|conn| {
            Ok(all_rows(
                conn,
                "SELECT context, name FROM user_roles WHERE user_id = ?1 ORDER BY context, name",
                params![user_id],
                |r| Ok(Role { context: r.get(0)?, name: r.get(1)? }),
            )?)
        })
    }

    fn grant_roles(&self, user_id: &str, roles: &[Role]) -> Result<usize, StoreError> {
        let (user_id, roles) = (user_id.to_owned(), roles.to_vec());
        self.write(move |conn| {
            let mut granted = 0;
            for role in &roles {
                granted += exec(
                    conn,
                    "INSERT INTO user_roles (user_id, context, name) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                    params![user_id, role.context, role.name],
                )?;
            }
            Ok(granted)
        })
    }

    fn revoke_roles(&self, user_id: &str, context: Option<&str>) -> Result<usize, StoreError> {
        let (user_id, context) = (user_id.to_owned(), context.map(str::to_owned));
        self.write(move |conn| {
            Ok(exec(
                conn,
                "DELETE FROM user_roles WHERE user_id = ?1 AND (?2 IS NULL OR context = ?2)",
                params![user_id, context],
            )?)
        })
    }

    fn issue_tokens(&self, user_id: &str, purpose: &str, tokens: &[NewToken]) -> Result<(), StoreError> {
        let (user_id, purpose, tokens) = (user_id.to_owned(), purpose.to_owned(), tokens.to_vec());
        self.write(move |conn| {
            exec(conn, "DELETE FROM user_tokens WHERE user_id = ?1 AND purpose = ?2", params![user_id, purpose])?;
            for token in &tokens {
                exec(
                    conn,
                    "INSERT INTO user_tokens (purpose, hash, user_id, expires_at) VALUES (?1, ?2, ?3, ?4)",
                    params![purpose, token.hash, user_id, token.expires_at],
                )?;
            }
            Ok(())
        })
    }

    fn redeem_token(&self, purpose: &str, hash: &str, now: Millis) -> Result<Option<String>, StoreError> {
        let (purpose, hash) = (purpose.to_owned(), hash.to_owned());
        self.write(move |conn| {
            Ok(row(
                conn,
                "DELETE FROM user_tokens WHERE purpose = ?1 AND hash = ?2 AND expires_at > ?3 RETURNING user_id",
                params![purpose, hash, now],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    fn token_holder(&self, purpose: &str, hash: &str, now: Millis) -> Result<Option<String>, StoreError> {
        self.read(|conn| {
            Ok(row(
                conn,
                "SELECT user_id FROM user_tokens WHERE purpose = ?1 AND hash = ?2 AND expires_at > ?3",
                params![purpose, hash, now],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    fn live_tokens(&self, user_id: &str, purpose: &str, now: Millis) -> Result<usize, StoreError> {
        self.read(|conn| {
            Ok(row(
                conn,
                "SELECT count(*) FROM user_tokens WHERE user_id = ?1 AND purpose = ?2 AND expires_at > ?3",
                params![user_id, purpose, now],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| usize::try_from(n).unwrap_or(0))?)
        })
    }

    fn begin_authenticator(&self, user_id: &str, sealed: &str) -> Result<(), StoreError> {
        let (user_id, sealed) = (user_id.to_owned(), sealed.to_owned());
        self.write(move |conn| {
            exec(
                conn,
                "INSERT INTO authenticators (user_id, pending) VALUES (?1, ?2)
                 ON CONFLICT (user_id) DO UPDATE SET pending = ?2",
                params![user_id, sealed],
            )?;
            Ok(())
        })
    }

    fn authenticator(&self, user_id: &str) -> Result<Option<Authenticator>, StoreError> {
        self.read(|conn| {
            Ok(row(
                conn,
                "SELECT secret, pending, last_step FROM authenticators WHERE user_id = ?1",
                params![user_id],
                |r| Ok(Authenticator { secret: r.get(0)?, pending: r.get(1)?, last_step: r.get(2)? }),
            )
            .optional()?)
        })
    }

    fn take_authenticator_step(&self, user_id: &str, step: i64, pending: Option<&str>) -> Result<bool, StoreError> {
        let (user_id, pending) = (user_id.to_owned(), pending.map(str::to_owned));
        self.write(move |conn| {
            let taken = match &pending {
                Some(sealed) => exec(
                    conn,
                    "UPDATE authenticators SET secret = pending, pending = NULL, last_step = ?2
                      WHERE user_id = ?1 AND pending = ?3",
                    params![user_id, step, sealed],
                )?,
                None => exec(
                    conn,
                    "UPDATE authenticators SET last_step = ?2
                      WHERE user_id = ?1 AND secret IS NOT NULL AND last_step < ?2",
                    params![user_id, step],
                )?,
            };
            Ok(taken == 1)
        })
    }

    fn remove_authenticator(&self, user_id: &str) -> Result<bool, StoreError> {
        let user_id = user_id.to_owned();
        self.write(move |conn| Ok(exec(conn, "DELETE FROM authenticators WHERE user_id = ?1", params![user_id])? == 1))
    }
}
