//! Random interleavings of issuing, confirming and waiting, on every store, for two users and two
//! clients (one purpose: a user holds one code, which a new one replaces whatever its client):
//! a code never succeeds twice, after its expiry, after a newer code replaced it, or for a user
//! and client it was not issued to; and a store is no safer by refusing everything: the first
//! try of a user's live code from its client succeeds while the user has had no refusal, and
//! after the case every user and client gets a new code that confirms. (Other refusals are
//! pinned by the conformance suite.)

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use proptest::prelude::*;
use serde_json::json;
use sluice::otp::{self, Binding, CodeKeys, ConfirmError, IssueRules};
use sluice::store::{IssueLimits, MemoryStore, Store, User};
use sluice::{Clock, ManualClock, Services};
use sluice_store_postgres::PostgresStore;
use sluice_store_postgres::testing::TestSchema;
use sluice_store_sqlite::SqliteStore;

const LIFETIME: i64 = 5 * 60_000;
const USERS: [&str; 2] = ["ann", "bob"];
const CLIENTS: [&str; 2] = ["web", "app"];

/// The binding of a code for client `client` (one purpose for all).
fn from(client: usize) -> Binding<'static> {
    Binding { purpose: "sign-in", client: CLIENTS[client] }
}

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
    // Per user: tries since their last code was issued, and whether they were ever refused
    // (only a user with no refusal is surely not locked).
    let mut tries: HashMap<usize, u32> = HashMap::new();
    let mut refused: HashSet<usize> = HashSet::new();
    for op in ops {
        match *op {
            Op::Issue { user, client } => {
                if let Ok(code) = otp::issue(&services, &users[user], from(client), &rules, Vec::new()) {
                    tries.insert(user, 0);
                    for earlier in issued.iter_mut().filter(|i| i.pair.0 == user) {
                        earlier.replaced = true;
                    }
                    let expires_at = clock.now() + LIFETIME;
                    issued.push(Issued {
                        pair: (user, client),
                        code: code.code.expose().to_owned(),
                        expires_at,
                        replaced: false,
                    });
                }
            }
            Op::Confirm { nth, user, client } if !issued.is_empty() => {
                let i = nth % issued.len();
                let typed = &issued[i];
                let pair = (user, client);
                let must_succeed = typed.pair == pair
                    && !typed.replaced
                    && !spent.contains(&i)
                    && clock.now() < typed.expires_at
                    && tries.get(&user) == Some(&0)
                    && !refused.contains(&user);
                let result = otp::confirm(&services, &users[user], from(client), None, &json!(typed.code));
                *tries.entry(user).or_default() += 1;
                if result.is_err() {
                    refused.insert(user);
                }
                assert!(!must_succeed || result.is_ok(), "the first try of live code #{i} was refused: {result:?}");
                match result {
                    Ok(_) => {
                        // A six-digit code typed for another user may match that user's own code
                        // by chance; only a success for the code's own pair is about this code.
                        if pair == typed.pair {
                            assert!(spent.insert(i), "code #{i} succeeded twice");
                            assert!(clock.now() < typed.expires_at, "code #{i} succeeded after its expiry");
                            assert!(!typed.replaced, "code #{i} succeeded after a newer code replaced it");
                        } else {
                            let own = issued.iter().rposition(|c| c.pair.0 == user);
                            assert!(
                                own.is_some_and(|o| issued[o].pair == pair
                                    && issued[o].code == typed.code
                                    && spent.insert(o)),
                                "code #{i} of pair {:?} opened pair {pair:?}",
                                typed.pair,
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
    // Past every lock, rate window and lifetime: each pair gets a code, and it confirms.
    clock.advance(2 * 60 * 60_000);
    for (user, name) in users.iter().enumerate() {
        for client in 0..CLIENTS.len() {
            clock.advance(rules.limits.resend_cooldown);
            let code = otp::issue(&services, name, from(client), &rules, Vec::new())
                .unwrap_or_else(|e| panic!("no new code for pair ({user}, {client}): {e}"));
            let confirmed = otp::confirm(&services, name, from(client), None, &json!(code.code.expose()));
            assert!(confirmed.is_ok(), "the new code of pair ({user}, {client}) was refused: {confirmed:?}");
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
