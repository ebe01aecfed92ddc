//! Random interleavings of issuing, confirming and waiting, on every store: a code never
//! succeeds twice, after its expiry, after a newer code replaced it, or for a pair it was not
//! issued to. (Refusals are not checked against a model here; the conformance suite pins them.)

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::Arc;

use proptest::prelude::*;
use serde_json::json;
use sluice::otp::{self, CodeKeys, ConfirmError, IssueRules};
use sluice::store::{IssueLimits, MemoryStore, Store, User};
use sluice::{Clock, ManualClock, Services};
use sluice_store_postgres::PostgresStore;
use sluice_store_postgres::testing::TestSchema;
use sluice_store_sqlite::SqliteStore;

const LIFETIME: i64 = 5 * 60_000;
const USERS: [&str; 2] = ["ann", "bob"];
const CLIENTS: [&str; 2] = ["web", "app"];

#[derive(Debug, Clone)]
enum Op {
    Issue {
        user: usize,
        client: usize,
    },
    /// Confirms the `nth` code issued so far (modulo their number), typed for a pair that
    /// may not be its own.
    Confirm {
        nth: usize,
        user: usize,
        client: usize,
    },
    Wait {
        millis: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..2usize, 0..2usize).prop_map(|(user, client)| Op::Issue { user, client }),
        5 => (any::<usize>(), 0..2usize, 0..2usize).prop_map(|(nth, user, client)| Op::Confirm { nth, user, client }),
        2 => (0..=200_000i64).prop_map(|millis| Op::Wait { millis }),
    ]
}

/// A code as issued: its pair, text, expiry, and whether a newer one replaced it.
struct Issued {
    pair: (usize, usize),
    code: String,
    expires_at: i64,
    replaced: bool,
}

fn check(store: Arc<dyn Store>, ops: &[Op]) {
    let clock = Arc::new(ManualClock::new(1_795_000_000_000));
    let services = Services::new(store, CodeKeys::from_secret("property-secret-0123456789abcdef").unwrap())
        .with_clock(clock.clone() as Arc<dyn sluice::Clock>);
    let users: Vec<User> = USERS.iter().map(|name| User::new(name)).collect();
    services.store.import_users(&users).unwrap();
    let rules = IssueRules {
        length: 6,
        lifetime: LIFETIME,
        max_attempts: 3,
        limits: IssueLimits { resend_cooldown: 30_000, max_per_hour: 5 },
    };
    let mut issued: Vec<Issued> = Vec::new();
    let mut spent: HashSet<usize> = HashSet::new();
    for op in ops {
        match *op {
            Op::Issue { user, client } => {
                if let Ok(code) = otp::issue(&services, &users[user], CLIENTS[client], &rules) {
                    for earlier in issued.iter_mut().filter(|i| i.pair == (user, client)) {
                        earlier.replaced = true;
                    }
                    let expires_at = clock.now() + LIFETIME;
                    issued.push(Issued {
                        pair: (user, client),
                        code: code.expose().to_owned(),
                        expires_at,
                        replaced: false,
                    });
                }
            }
            Op::Confirm { nth, user, client } if !issued.is_empty() => {
                let i = nth % issued.len();
                let typed = &issued[i];
                let result = otp::confirm(&services, &users[user], CLIENTS[client], &json!(typed.code));
                match result {
                    Ok(()) => {
                        // A six-digit code typed for another pair may match that pair's own code
                        // by chance; only a success for the code's own pair is about this code.
                        if (user, client) == typed.pair {
                            assert!(spent.insert(i), "code #{i} succeeded twice");
                            assert!(clock.now() < typed.expires_at, "code #{i} succeeded after its expiry");
                            assert!(!typed.replaced, "code #{i} succeeded after a newer code replaced it");
                        } else {
                            let own = issued.iter().rposition(|c| c.pair == (user, client));
                            assert!(
                                own.is_some_and(|o| issued[o].code == typed.code && spent.insert(o)),
                                "code #{i} of pair {:?} opened pair {:?}",
                                typed.pair,
                                (user, client)
                            );
                        }
                    }
                    Err(ConfirmError::Rejected(_)) => {}
                    Err(ConfirmError::Store(e)) => panic!("the store failed: {e}"),
                }
            }
            Op::Confirm { .. } => {}
            Op::Wait { millis } => clock.advance(millis),
        }
    }
}

fn config() -> ProptestConfig {
    ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn memory_never_lets_a_code_succeed_twice_or_late(ops in proptest::collection::vec(op(), 1..40)) {
        check(Arc::new(MemoryStore::new()), &ops);
    }

    #[test]
    fn sqlite_never_lets_a_code_succeed_twice_or_late(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        check(Arc::new(SqliteStore::open(dir.path().join("s.db")).unwrap()), &ops);
    }

    #[test]
    fn postgres_never_lets_a_code_succeed_twice_or_late(ops in proptest::collection::vec(op(), 1..40)) {
        if let Some(schema) = TestSchema::new("postgres_never_lets_a_code_succeed_twice_or_late") {
            check(Arc::new(PostgresStore::open(&schema.url()).unwrap()), &ops);
        }
    }
}
