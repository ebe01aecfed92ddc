//! Accounts on PostgreSQL: users written one at a time, roles, single-use tokens and
//! authenticator apps. Redeeming is one statement, so two replicas never both win.

use sluice_core::Millis;
use sluice_core::store::{AccountStore, Authenticator, NewToken, Role, StoreError, User};

use crate::{PostgresStore, exec, row, rows, write_user};

impl AccountStore for PostgresStore {
    fn save_user(&self, user: &User) -> Result<(), StoreError> {
        self.with(async |db| write_user(&*db, &user.id, user).await)
    }

    fn roles(&self, user_id: &str) -> Result<Vec<Role>, StoreError> {
        self.with(async |db| {
            rows(
                db,
                "SELECT context, name FROM user_roles WHERE user_id = $1 ORDER BY context, name",
                &[&user_id],
                |r| Ok(Role { context: r.try_get(0)?, name: r.try_get(1)? }),
            )
            .await
        })
    }

    fn grant_roles(&self, user_id: &str, roles: &[Role]) -> Result<usize, StoreError> {
        let contexts: Vec<&str> = roles.iter().map(|r| r.context.as_str()).collect();
        let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
        self.with(async |db| {
            let granted = exec(
                db,
                "INSERT INTO user_roles (user_id, context, name)
                 SELECT $1, context, name FROM unnest($2::text[], $3::text[]) AS r(context, name)
                 ON CONFLICT DO NOTHING",
                &[&user_id, &contexts, &names],
            )
            .await?;
            Ok(usize::try_from(granted).unwrap_or(usize::MAX))
        })
    }

    fn revoke_roles(&self, user_id: &str, context: Option<&str>) -> Result<usize, StoreError> {
        self.with(async |db| {
            let revoked = exec(
                db,
                "DELETE FROM user_roles WHERE user_id = $1 AND ($2::text IS NULL OR context = $2)",
                &[&user_id, &context],
            )
            .await?;
            Ok(usize::try_from(revoked).unwrap_or(usize::MAX))
        })
    }

    fn issue_tokens(&self, user_id: &str, purpose: &str, tokens: &[NewToken]) -> Result<(), StoreError> {
        let hashes: Vec<&str> = tokens.iter().map(|t| t.hash.as_str()).collect();
        let expiries: Vec<i64> = tokens.iter().map(|t| t.expires_at).collect();
        self.with(async |db| {
            let tx = db.transaction().await?;
            tx.execute("DELETE FROM user_tokens WHERE user_id = $1 AND purpose = $2", &[&user_id, &purpose]).await?;
            tx.execute(
                "INSERT INTO user_tokens (purpose, hash, user_id, expires_at)
                 SELECT $1, hash, $2, expires_at FROM unnest($3::text[], $4::bigint[]) AS t(hash, expires_at)",
                &[&purpose, &user_id, &hashes, &expiries],
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn redeem_token(&self, purpose: &str, hash: &str, now: Millis) -> Result<Option<String>, StoreError> {
        self.with(async |db| {
            row(
                db,
                "DELETE FROM user_tokens WHERE purpose = $1 AND hash = $2 AND expires_at > $3 RETURNING user_id",
                &[&purpose, &hash, &now],
                |r| Ok(r.try_get(0)?),
            )
            .await
        })
    }

    fn token_holder(&self, purpose: &str, hash: &str, now: Millis) -> Result<Option<String>, StoreError> {
        self.with(async |db| {
            row(
                db,
                "SELECT user_id FROM user_tokens WHERE purpose = $1 AND hash = $2 AND expires_at > $3",
                &[&purpose, &hash, &now],
                |r| Ok(r.try_get(0)?),
            )
            .await
        })
    }

    fn live_tokens(&self, user_id: &str, purpose: &str, now: Millis) -> Result<usize, StoreError> {
        self.with(async |db| {
            let n: Option<i64> = row(
                db,
                "SELECT count(*) FROM user_tokens WHERE user_id = $1 AND purpose = $2 AND expires_at > $3",
                &[&user_id, &purpose, &now],
                |r| Ok(r.try_get(0)?),
            )
            .await?;
            Ok(n.and_then(|n| usize::try_from(n).ok()).unwrap_or(0))
        })
    }

    fn begin_authenticator(&self, user_id: &str, sealed: &str) -> Result<(), StoreError> {
        self.with(async |db| {
            exec(
                db,
                "INSERT INTO authenticators (user_id, pending) VALUES ($1, $2)
                 ON CONFLICT (user_id) DO UPDATE SET pending = $2",
                &[&user_id, &sealed],
            )
            .await
            .map(drop)
        })
    }

    fn authenticator(&self, user_id: &str) -> Result<Option<Authenticator>, StoreError> {
        self.with(async |db| {
            row(db, "SELECT secret, pending, last_step FROM authenticators WHERE user_id = $1", &[&user_id], |r| {
                Ok(Authenticator { secret: r.try_get(0)?, pending: r.try_get(1)?, last_step: r.try_get(2)? })
            })
            .await
        })
    }

    fn take_authenticator_step(&self, user_id: &str, step: i64, pending: Option<&str>) -> Result<bool, StoreError> {
        self.with(async |db| {
            let taken = match pending {
                Some(sealed) => {
                    exec(
                        db,
                        "UPDATE authenticators SET secret = pending, pending = NULL, last_step = $2
                          WHERE user_id = $1 AND pending = $3",
                        &[&user_id, &step, &sealed],
                    )
                    .await?
                }
                None => {
                    exec(
                        db,
                        "UPDATE authenticators SET last_step = $2
                          WHERE user_id = $1 AND secret IS NOT NULL AND last_step < $2",
                        &[&user_id, &step],
                    )
                    .await?
                }
            };
            Ok(taken == 1)
        })
    }

    fn remove_authenticator(&self, user_id: &str) -> Result<bool, StoreError> {
        self.with(async |db| Ok(exec(db, "DELETE FROM authenticators WHERE user_id = $1", &[&user_id]).await? == 1))
    }
}
