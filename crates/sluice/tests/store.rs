//! The store conformance suite: every rule of users, one-time codes, entries and run records,
//! run on every store implementation: memory, SQLite and PostgreSQL (in a schema of its own
//! per test, in the database named by `SLUICE_TEST_POSTGRES`).

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Barrier};

use serde_json::{Map, json};
use sluice::otp::{self, Binding, CONFIRM_SCOPE, CodeKeys, ConfirmError, IssueRules, OtpError, Rejection};
use sluice::store::{
    AuthMethod, EntryWrite, Factor, HOUR, IssueLimits, MemoryStore, NewToken, Purge, Role, SYSTEM_CONTEXT, Session,
    Store, StoreError, User,
};
use sluice::{Clock, ManualClock, Services};
use sluice_store_postgres::PostgresStore;
use sluice_store_postgres::testing::TestSchema;
use sluice_store_sqlite::SqliteStore;

const SECRET: &str = "conformance-secret-0123456789abcdef";
const T0: i64 = 1_795_000_000_000;
const MIN: i64 = 60_000;
/// The purpose of the suite's codes.
const PURPOSE: &str = "sign-in";

/// A code of the suite's purpose for `client`.
fn from(client: &str) -> Binding<'_> {
    Binding { purpose: PURPOSE, client }
}

/// A store under test, its services on a manual clock, and three users.
struct Harness {
    services: Services,
    clock: Arc<ManualClock>,
    ann: User,
    bob: User,
    /// The SQLite file's folder or the PostgreSQL schema, dropped after the store.
    _place: Option<Box<dyn std::any::Any + Send + Sync>>,
}

fn user(name: &str, active: bool) -> User {
    User { email: Some(format!("{}@example.com", name.to_lowercase())), active, ..User::new(name) }
}

impl Harness {
    fn new(store: Arc<dyn Store>, place: Option<Box<dyn std::any::Any + Send + Sync>>) -> Harness {
        let clock = Arc::new(ManualClock::new(T0));
        let services = Services::new(store, CodeKeys::from_secret(SECRET).unwrap())
            .with_clock(clock.clone() as Arc<dyn sluice::Clock>);
        let (ann, bob) = (user("Ann", true), user("Bob", true));
        services.store.import_users(&[ann.clone(), bob.clone(), user("Inactive", false)]).unwrap();
        Harness { services, clock, ann, bob, _place: place }
    }

    fn memory(_: &str) -> Option<Harness> {
        Some(Harness::new(Arc::new(MemoryStore::new()), None))
    }

    fn sqlite(_: &str) -> Option<Harness> {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("sluice.db")).unwrap();
        Some(Harness::new(Arc::new(store), Some(Box::new(dir))))
    }

    fn postgres(test: &str) -> Option<Harness> {
        let schema = TestSchema::new(test)?;
        let store = PostgresStore::open(&schema.url()).unwrap();
        Some(Harness::new(Arc::new(store), Some(Box::new(schema))))
    }

    fn rules() -> IssueRules {
        IssueRules {
            length: 6,
            lifetime: 5 * MIN,
            max_attempts: 5,
            limits: IssueLimits { resend_cooldown: 30_000, max_per_hour: 10 },
        }
    }

    fn issue(&self, who: &User, client: &str) -> String {
        otp::issue(&self.services, who, from(client), &Self::rules(), Vec::new()).unwrap().code.expose().to_owned()
    }

    fn confirm(&self, who: &User, client: &str, typed: &str) -> Result<(), Rejection> {
        match otp::confirm(&self.services, who, from(client), None, &json!(typed)) {
            Ok(_) => Ok(()),
            Err(ConfirmError::Rejected(why)) => Err(why),
            Err(ConfirmError::Store(e)) => panic!("store failed: {e}"),
        }
    }

    /// Waits out the resend cooldown.
    fn later(&self) {
        self.clock.advance(31_000);
    }
}

fn wrong(code: &str) -> String {
    code.chars().map(|c| if c == '9' { '0' } else { char::from(c as u8 + 1) }).collect()
}

// ---- the rules ----

fn a_code_confirms_once(h: &Harness) {
    let code = h.issue(&h.ann, "web");
    assert_eq!(h.confirm(&h.ann, "web", &format!(" \"{code}\"\n")), Ok(()));
    assert_eq!(h.confirm(&h.ann, "web", &code), Err(Rejection::Used));
}

fn only_digits_of_the_right_length_count(h: &Harness) {
    let code = h.issue(&h.ann, "web");
    for bad in
        [&code[..5], &format!("{code}1"), &format!("{} {}", &code[..3], &code[3..]), &format!("+{}", &code[1..]), ""]
    {
        assert_eq!(h.confirm(&h.ann, "web", bad), Err(Rejection::Malformed), "{bad:?}");
    }
    // Malformed input counts as an attempt: after five, not even the right code is taken.
    assert_eq!(h.confirm(&h.ann, "web", &code), Err(Rejection::TooManyAttempts));
    h.later();
    let code = h.issue(&h.ann, "web");
    let number = otp::confirm(&h.services, &h.ann, from("web"), None, &json!(code.parse::<u64>().unwrap()));
    assert!(matches!(number, Err(ConfirmError::Rejected(Rejection::Malformed))), "a JSON number: {number:?}");
    assert_eq!(h.confirm(&h.ann, "web", &code), Ok(()));
}

fn a_new_code_voids_the_earlier_ones(h: &Harness) {
    let first = h.issue(&h.ann, "web");
    h.later();
    let second = h.issue(&h.ann, "web");
    if first != second {
        assert_eq!(h.confirm(&h.ann, "web", &first), Err(Rejection::Wrong));
    }
    assert_eq!(h.confirm(&h.ann, "web", &second), Ok(()));
}

fn concurrent_confirms_succeed_exactly_once(h: &Harness) {
    for round in 0..3 {
        h.clock.advance(60 * MIN); // a fresh hour: no lock, no rate limit
        h.services.store.clear_failures(&h.ann.id, CONFIRM_SCOPE).unwrap();
        let code = h.issue(&h.ann, "web");
        // A worker whose store fails panics (`Harness::confirm`), and that fails the test: a
        // store must answer contention with a verdict, never an error.
        let verdicts = all_at_once(64, |_| h.confirm(&h.ann, "web", &code));
        let successes = verdicts.iter().filter(|v| v.is_ok()).count();
        assert_eq!(successes, 1, "round {round}: {verdicts:?}");
        // The losers typed the right code too late (and their refusals count as failures, so the
        // pair locks after ten and a late attempt may find the code's attempts spent).
        let late = |v: &Result<(), Rejection>| {
            matches!(v, Ok(()) | Err(Rejection::Used | Rejection::Locked | Rejection::TooManyAttempts))
        };
        assert!(verdicts.iter().all(late), "round {round}: {verdicts:?}");
    }
}

fn a_code_expires_at_issue_plus_lifetime(h: &Harness) {
    let code = h.issue(&h.ann, "web");
    h.clock.advance(5 * MIN - 1);
    assert_eq!(h.confirm(&h.ann, "web", &wrong(&code)), Err(Rejection::Wrong));
    assert_eq!(h.confirm(&h.ann, "web", &code), Ok(()), "one millisecond before expiry");
    h.later();
    let code = h.issue(&h.ann, "web");
    h.clock.advance(5 * MIN);
    assert_eq!(h.confirm(&h.ann, "web", &code), Err(Rejection::Expired), "at expiry");
}

fn five_failed_attempts_kill_a_code(h: &Harness) {
    let code = h.issue(&h.ann, "web");
    for _ in 0..4 {
        assert_eq!(h.confirm(&h.ann, "web", &wrong(&code)), Err(Rejection::Wrong));
    }
    assert_eq!(h.confirm(&h.ann, "web", &code), Ok(()), "the fifth attempt may be the right one");
    h.later();
    let code = h.issue(&h.ann, "web");
    for _ in 0..5 {
        assert_eq!(h.confirm(&h.ann, "web", &wrong(&code)), Err(Rejection::Wrong));
    }
    assert_eq!(h.confirm(&h.ann, "web", &code), Err(Rejection::TooManyAttempts));
}

fn failures_lock_the_user_whatever_the_client_and_resends_do_not_reset_them(h: &Harness) {
    // Eleven failures spread over clients: a caller who names a new client each time gets no
    // more guesses.
    for client in ["web", "mobile"] {
        let code = h.issue(&h.ann, client);
        for _ in 0..5 {
            assert_eq!(h.confirm(&h.ann, client, &wrong(&code)), Err(Rejection::Wrong));
        }
        h.later();
    }
    let code = h.issue(&h.ann, "kiosk");
    assert_eq!(h.confirm(&h.ann, "kiosk", &wrong(&code)), Err(Rejection::Wrong), "the 11th failure");
    assert_eq!(h.confirm(&h.ann, "kiosk", &code), Err(Rejection::Locked));
    h.later();
    let other_client = h.issue(&h.ann, "tablet");
    assert_eq!(h.confirm(&h.ann, "tablet", &other_client), Err(Rejection::Locked), "the lock is per user");
    let bobs = h.issue(&h.bob, "web");
    assert_eq!(h.confirm(&h.bob, "web", &bobs), Ok(()), "other users are not locked");
    h.clock.advance(14 * MIN);
    let code = h.issue(&h.ann, "web");
    assert_eq!(h.confirm(&h.ann, "web", &code), Err(Rejection::Locked), "still locked after 14.5 minutes");
    h.clock.advance(MIN);
    let code = h.issue(&h.ann, "web");
    assert_eq!(h.confirm(&h.ann, "web", &code), Ok(()), "unlocked after 15 minutes");
}

fn a_code_works_only_for_its_user_client_and_purpose(h: &Harness) {
    let code = h.issue(&h.ann, "web");
    assert_eq!(h.confirm(&h.ann, "mobile", &code), Err(Rejection::WrongClient));
    assert_eq!(h.confirm(&h.bob, "web", &code), Err(Rejection::NoCode));
    let elsewhere =
        otp::confirm(&h.services, &h.ann, Binding { purpose: "payment", client: "web" }, None, &json!(code));
    assert!(matches!(elsewhere, Err(ConfirmError::Rejected(Rejection::OtherPurpose))), "{elsewhere:?}");
    let bobs = h.issue(&h.bob, "web");
    if bobs != code {
        assert_eq!(h.confirm(&h.bob, "web", &code), Err(Rejection::Wrong));
    }
    assert_eq!(h.confirm(&h.ann, "web", &code), Ok(()));
}

fn a_user_holds_one_code_per_purpose_whatever_the_client(h: &Harness) {
    let for_web = h.issue(&h.ann, "web");
    h.later();
    let for_mobile = h.issue(&h.ann, "mobile");
    if for_web != for_mobile {
        assert_eq!(h.confirm(&h.ann, "web", &for_web), Err(Rejection::WrongClient), "the newer code took its place");
    }
    let payment = Binding { purpose: "payment", client: "web" };
    let paying =
        otp::issue(&h.services, &h.ann, payment, &Harness::rules(), Vec::new()).unwrap().code.expose().to_owned();
    assert_eq!(h.confirm(&h.ann, "mobile", &for_mobile), Ok(()), "another purpose keeps its own code");
    assert!(otp::confirm(&h.services, &h.ann, payment, None, &json!(paying)).is_ok());
}

fn issuing_is_rate_limited(h: &Harness) {
    h.issue(&h.ann, "web");
    h.clock.advance(10_000);
    let limited = otp::issue(&h.services, &h.ann, from("web"), &Harness::rules(), Vec::new()).unwrap_err();
    assert!(matches!(limited, OtpError::RateLimited { retry_after: 20_000 }), "{limited:?}");
    assert_eq!(limited.to_string(), "too many codes were requested for this user; try again in 20 s");
    // The limits count per user and purpose: another client does not reset them.
    let other_client = otp::issue(&h.services, &h.ann, from("mobile"), &Harness::rules(), Vec::new()).unwrap_err();
    assert!(matches!(other_client, OtpError::RateLimited { retry_after: 20_000 }), "{other_client:?}");
    h.issue(&h.bob, "web"); // other users are not held up
    for _ in 1..10 {
        h.later();
        h.issue(&h.ann, "web");
    }
    h.later();
    assert!(matches!(
        otp::issue(&h.services, &h.ann, from("web"), &Harness::rules(), Vec::new()),
        Err(OtpError::RateLimited { .. })
    ));
    h.clock.advance(60 * MIN);
    h.issue(&h.ann, "web");
}

fn a_rotated_key_still_confirms_earlier_codes(h: &Harness) {
    let code = h.issue(&h.ann, "web");
    let rotated = |previous: &[&str]| {
        let keys =
            CodeKeys::from_secret("the-next-secret-0123456789abcdefgh").unwrap().with_previous(previous).unwrap();
        Services { keys: Arc::new(keys), ..h.services.clone() }
    };
    let without = otp::confirm(&rotated(&[]), &h.ann, from("web"), None, &json!(code));
    assert!(matches!(without, Err(ConfirmError::Rejected(Rejection::Wrong))), "{without:?}");
    assert!(otp::confirm(&rotated(&[SECRET]), &h.ann, from("web"), None, &json!(code)).is_ok());
}

fn users_are_unique_by_name_without_regard_to_case(h: &Harness) {
    let store = &h.services.store;
    assert_eq!(store.find_user("ann").unwrap().unwrap().id, h.ann.id);
    assert_eq!(store.find_user(&h.ann.id).unwrap().unwrap().user_name, "Ann");
    assert!(store.find_user("nobody").unwrap().is_none());
    let renamed = User { email: Some("new@example.com".into()), ..user("ANN", true) };
    store.import_users(&[renamed]).unwrap();
    let ann = store.find_user("Ann").unwrap().unwrap();
    assert_eq!((ann.id.as_str(), ann.email.as_deref()), (h.ann.id.as_str(), Some("new@example.com")));
    let clash = User { user_name: "bob".into(), ..h.ann.clone() };
    let before = store.list_users().unwrap();
    assert!(matches!(store.import_users(&[user("Dora", true), clash]), Err(StoreError::Duplicate(_))));
    assert_eq!(store.list_users().unwrap(), before, "a failed import writes nothing");
    assert_eq!(before.iter().map(|u| u.user_name.as_str()).collect::<Vec<_>>(), ["ANN", "Bob", "Inactive"]);
}

fn users_are_saved_one_at_a_time(h: &Harness) {
    let store = &h.services.store;
    let dora = User { email_verified: true, active: false, ..user("Dora", true) };
    store.save_user(&dora).unwrap();
    assert_eq!(store.find_user("DORA").unwrap(), Some(dora.clone()), "created, with every field");
    let renamed = User { user_name: "Dorothy".into(), active: true, ..dora.clone() };
    store.save_user(&renamed).unwrap();
    assert_eq!(store.find_user(&dora.id).unwrap(), Some(renamed.clone()), "updated by id");
    assert_eq!(store.find_user("dora").unwrap(), None, "the old name is free again");
    let clash = User { user_name: "ANN".into(), ..renamed.clone() };
    assert!(matches!(store.save_user(&clash), Err(StoreError::Duplicate(m)) if m.contains("\"ANN\" already exists")));
    assert!(matches!(store.save_user(&user("bob", true)), Err(StoreError::Duplicate(_))), "a new id, a taken name");
    assert_eq!(store.find_user(&dora.id).unwrap(), Some(renamed), "a refused save changes nothing");
}

fn roles_are_granted_once_and_revoked_by_context(h: &Harness) {
    let store = &h.services.store;
    let manager = Role::new(SYSTEM_CONTEXT, "manager");
    let seller = Role::new("Cars", "seller");
    assert_eq!(store.grant_roles(&h.ann.id, &[manager.clone(), seller.clone()]).unwrap(), 2);
    assert_eq!(store.grant_roles(&h.ann.id, std::slice::from_ref(&manager)).unwrap(), 0, "held already");
    assert_eq!(store.roles(&h.ann.id).unwrap(), [seller.clone(), manager.clone()], "by context, then name");
    assert_eq!(store.find_user("ANN").unwrap().unwrap().roles, [seller.clone(), manager.clone()], "read with the user");
    let listed = store.list_users().unwrap();
    assert_eq!(listed.iter().find(|u| u.id == h.ann.id).unwrap().roles, [seller.clone(), manager.clone()]);
    store.save_user(&User { roles: Vec::new(), ..h.ann.clone() }).unwrap();
    assert_eq!(store.roles(&h.ann.id).unwrap().len(), 2, "writing the user leaves the roles alone");
    assert!(store.roles(&h.bob.id).unwrap().is_empty());
    assert_eq!(store.revoke_roles(&h.ann.id, Some("Cars")).unwrap(), 1);
    assert_eq!(store.roles(&h.ann.id).unwrap(), [manager]);
    store.grant_roles(&h.ann.id, &[seller]).unwrap();
    assert_eq!(store.revoke_roles(&h.ann.id, None).unwrap(), 2);
    assert!(store.roles(&h.ann.id).unwrap().is_empty());
}

fn token(n: u8, expires_at: i64) -> NewToken {
    NewToken { hash: format!("{n:02x}").repeat(32), expires_at }
}

fn tokens_redeem_once_until_they_expire_and_a_new_issue_replaces_them(h: &Harness) {
    let store = &h.services.store;
    store.issue_tokens(&h.ann.id, "reset", &[token(1, T0 + MIN), token(2, T0 + MIN)]).unwrap();
    store.issue_tokens(&h.bob.id, "reset", &[token(3, T0 + MIN)]).unwrap();
    assert_eq!(store.live_tokens(&h.ann.id, "reset", T0).unwrap(), 2);
    assert_eq!(store.token_holder("reset", &token(1, 0).hash, T0).unwrap(), Some(h.ann.id.clone()));
    assert_eq!(store.token_holder("reset", &token(1, 0).hash, T0 + MIN).unwrap(), None, "expired at its time");
    assert_eq!(store.redeem_token("confirm", &token(1, 0).hash, T0).unwrap(), None, "another purpose");
    assert_eq!(store.redeem_token("reset", &token(1, 0).hash, T0).unwrap(), Some(h.ann.id.clone()));
    assert_eq!(store.redeem_token("reset", &token(1, 0).hash, T0).unwrap(), None, "once");
    assert_eq!(store.token_holder("reset", &token(1, 0).hash, T0).unwrap(), None, "redeemed");
    assert_eq!(store.live_tokens(&h.ann.id, "reset", T0).unwrap(), 1);
    assert_eq!(store.redeem_token("reset", &token(2, 0).hash, T0 + MIN).unwrap(), None, "expired at its time");
    store.issue_tokens(&h.ann.id, "reset", &[token(4, T0 + 2 * MIN)]).unwrap();
    assert_eq!(store.redeem_token("reset", &token(2, 0).hash, T0).unwrap(), None, "replaced by the new issue");
    assert_eq!(store.redeem_token("reset", &token(3, 0).hash, T0).unwrap(), Some(h.bob.id.clone()), "not Bob's");
    let purge = Purge { now: T0 + 2 * MIN, failures_before: T0, runs_before: 0, batch: 10 };
    assert_eq!(store.purge(&purge).unwrap(), 1, "the expired token goes");
    assert_eq!(store.live_tokens(&h.ann.id, "reset", T0).unwrap(), 0);
}

fn concurrent_redemptions_of_a_token_succeed_exactly_once(h: &Harness) {
    let store = &h.services.store;
    let codes: Vec<NewToken> = (0..10).map(|n| token(n, T0 + HOUR)).collect();
    store.issue_tokens(&h.ann.id, "recovery", &codes).unwrap();
    for code in &codes[..3] {
        let won = all_at_once(32, |_| store.redeem_token("recovery", &code.hash, T0).unwrap());
        assert_eq!(won.iter().flatten().collect::<Vec<_>>(), [&h.ann.id], "one of 32 redemptions wins");
    }
    assert_eq!(store.live_tokens(&h.ann.id, "recovery", T0).unwrap(), 7);
}

fn an_authenticator_takes_each_step_once_and_confirms_its_enrolment_once(h: &Harness) {
    let store = &h.services.store;
    assert_eq!(store.authenticator(&h.ann.id).unwrap(), None);
    assert!(!store.take_authenticator_step(&h.ann.id, 5, None).unwrap(), "nothing enrolled");
    store.begin_authenticator(&h.ann.id, "sealed-1").unwrap();
    assert!(!store.take_authenticator_step(&h.ann.id, 5, None).unwrap(), "not confirmed yet");
    assert!(!store.take_authenticator_step(&h.ann.id, 5, Some("sealed-0")).unwrap(), "another enrolment");
    let won = all_at_once(32, |_| store.take_authenticator_step(&h.ann.id, 5, Some("sealed-1")).unwrap());
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "the enrolment is confirmed once");
    let app = store.authenticator(&h.ann.id).unwrap().unwrap();
    assert_eq!((app.secret.as_deref(), app.pending, app.last_step), (Some("sealed-1"), None, 5));
    assert!(!store.take_authenticator_step(&h.ann.id, 5, None).unwrap(), "step 5 was taken");
    let won = all_at_once(32, |_| store.take_authenticator_step(&h.ann.id, 6, None).unwrap());
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "step 6 is taken once of 32");
    assert!(!store.take_authenticator_step(&h.ann.id, 4, None).unwrap(), "no step before the last");
    store.begin_authenticator(&h.ann.id, "sealed-2").unwrap();
    let app = store.authenticator(&h.ann.id).unwrap().unwrap();
    assert_eq!((app.secret.as_deref(), app.pending.as_deref()), (Some("sealed-1"), Some("sealed-2")));
    assert!(store.take_authenticator_step(&h.ann.id, 7, None).unwrap(), "the confirmed app works meanwhile");
    assert!(store.remove_authenticator(&h.ann.id).unwrap());
    assert!(!store.remove_authenticator(&h.ann.id).unwrap());
    assert_eq!(store.authenticator(&h.ann.id).unwrap(), None);
}

fn entries_are_created_updated_and_marked_for_deletion(h: &Harness) {
    let store = &h.services.store;
    let write = |data: serde_json::Value, key: Option<&str>| EntryWrite {
        component: "Invoices".into(),
        data: data.as_object().cloned().unwrap_or_else(Map::new),
        name: None,
        key: key.map(str::to_owned),
        subject: Some("ann".into()),
        at: T0,
        tracked: true,
    };
    store.create_entry("e1", &write(json!({"No": "A-1", "Total": 5}), Some("[\"A-1\"]"))).unwrap();
    let duplicate = store.create_entry("e2", &write(json!({"No": "A-1"}), Some("[\"A-1\"]"))).unwrap_err();
    assert_eq!(duplicate.to_string(), "Invoices already has an entry with primary key [\"A-1\"]");
    store.create_entry("e2", &write(json!({"No": "A-2"}), Some("[\"A-2\"]"))).unwrap();
    store.update_entry("e1", &write(json!({"Total": 7}), Some("[\"A-1\"]"))).unwrap();
    assert_eq!(
        store.get_entry("Invoices", "e1").unwrap().unwrap().data,
        *json!({"No": "A-1", "Total": 7}).as_object().unwrap()
    );
    let by = |subject: &str, at: i64, tracked: bool| EntryWrite {
        subject: Some(subject.into()),
        at,
        tracked,
        ..write(json!({"Total": at - T0}), Some("[\"A-1\"]"))
    };
    store.update_entry("e1", &by("bob", T0 + 3, true)).unwrap();
    store.update_entry("e1", &by("cy", T0 + 4, false)).unwrap();
    let e1 = store.get_entry("Invoices", "e1").unwrap().unwrap();
    assert_eq!(e1.data["Total"], 4, "an untracked update writes the data");
    assert_eq!(
        (e1.update_subject.as_deref(), e1.update_date, e1.creator_subject.as_deref(), e1.created_date),
        (Some("bob"), T0 + 3, Some("ann"), T0),
        "and leaves who changed it last, and when, as they were"
    );
    assert!(matches!(
        store.update_entry("e2", &write(json!({"No": "A-1"}), Some("[\"A-1\"]"))),
        Err(StoreError::Duplicate(_))
    ));
    assert_eq!(
        store.get_entry("Invoices", "e2").unwrap().unwrap().data["No"],
        "A-2",
        "a refused update writes nothing"
    );
    assert!(matches!(store.update_entry("nope", &write(json!({}), None)), Err(StoreError::NotFound(_))));
    let by_key = |key: &str| store.find_entry_by_key("Invoices", key).unwrap().map(|e| e.id);
    assert_eq!((by_key("[\"A-1\"]"), by_key("[\"A-2\"]")), (Some("e1".into()), Some("e2".into())));
    assert_eq!(by_key("[\"A-3\"]"), None);
    assert_eq!(store.find_entry_by_key("Invoice", "[\"A-1\"]").unwrap(), None, "another component's keys are its own");
    store.mark_entry_deleted("Invoices", "e1", Some("ann"), T0 + 1).unwrap();
    assert_eq!(by_key("[\"A-1\"]"), None, "an entry marked for deletion is not found by its key");
    store.create_entry("e3", &write(json!({"No": "A-1"}), Some("[\"A-1\"]"))).unwrap();
    assert_eq!(by_key("[\"A-1\"]"), Some("e3".into()), "the key is free again once its entry is marked");
    // Oldest first, then by id: a later entry with a smaller id comes last.
    store.create_entry("a0", &EntryWrite { at: T0 + 5, ..write(json!({"No": "A-9"}), None) }).unwrap();
    // Components whose names sort next to it are not listed with it.
    for neighbour in ["Invoice", "Invoicesz", "Invoices "] {
        store.create_entry("n1", &EntryWrite { component: neighbour.into(), ..write(json!({}), None) }).unwrap();
    }
    let listed = store.list_entries("Invoices").unwrap();
    assert_eq!(
        listed.iter().map(|e| (e.id.as_str(), e.deleted)).collect::<Vec<_>>(),
        [("e1", true), ("e2", false), ("e3", false), ("a0", false)]
    );
    assert!(store.list_entries("Other").unwrap().is_empty());
    assert!(matches!(store.mark_entry_deleted("Invoices", "nope", None, T0), Err(StoreError::NotFound(_))));
}

/// The entity steps on this store: a component writes another's entries (Update entry with
/// `component`), then looks one up by its key, reads it by Id and queries them.
fn entity_steps_read_what_another_component_wrote(h: &Harness) {
    let engine = sluice::Engine::builder().services(h.services.clone()).build().unwrap();
    let cars = json!({"name": "Cars", "definitions": {
        "Vin": {"type": "string", "primaryKey": true, "required": true}, "Price": {"type": "integer"}},
        "dataflows": []});
    let dealer = json!({"name": "Dealer", "dataflows": [
        {"name": "Add", "stages": [{"name": "s", "steps": [
            {"name": "in", "type": "get_action_model"},
            {"name": "save", "type": "update_entry", "source": "in", "settings": {"component": "Cars",
             "fieldsMapping": [{"from": "data.Vin", "to": "Vin"}, {"from": "data.Price", "to": "Price"}]}}]}]},
        {"name": "Find", "stages": [{"name": "s", "steps": [
            {"name": "in", "type": "get_action_model"},
            {"name": "key", "type": "lookup_reference", "source": "in",
             "settings": {"component": "Cars", "fieldName": "_id", "keyMap": {"Vin": "data.Vin"}}},
            {"name": "read", "type": "get_entity_by_id", "source": "key",
             "settings": {"component": "Cars", "srcField": "_id", "dstField": "_car"}},
            {"name": "cheaper", "type": "query_entity_by_filter", "source": "read",
             "settings": {"component": "Cars", "dstField": "_cheaper", "orderBy": [{"field": "Price"}],
                          "conditions": [{"field": "Price", "operator": "less", "valueField": "_car.data.Price"}]}},
            {"name": "out", "type": "write_response", "source": "cheaper"}]}]}]});
    let others: std::collections::BTreeMap<String, sluice::component::Definitions> =
        [("Cars".to_owned(), serde_json::from_value(cars["definitions"].clone()).unwrap())].into();
    let plan = engine.load_among("dealer.json", dealer.to_string().as_bytes(), &others).unwrap();
    let run = |dataflow: &str, data: serde_json::Value| {
        plan.run(dataflow, &json!({"data": data}), &Default::default(), Default::default())
    };
    for (vin, price) in [("V1", 300), ("V2", 100), ("V3", 200)] {
        run("Add", json!({"Vin": vin, "Price": price})).unwrap();
    }
    let duplicate = run("Add", json!({"Vin": "V2", "Price": 1})).unwrap_err();
    assert!(duplicate.to_string().contains("Cars already has an entry with primary key [\"V2\"]"), "{duplicate}");
    let found = run("Find", json!({"Vin": "V1"})).unwrap().response.remove(0);
    assert_eq!(found["_car"]["Id"], found["_id"]);
    assert_eq!(found["_car"]["data"], json!({"Vin": "V1", "Price": 300}));
    let cheaper: Vec<&serde_json::Value> =
        found["_cheaper"].as_array().unwrap().iter().map(|e| &e["data"]["Vin"]).collect();
    assert_eq!(cheaper, [&json!("V2"), &json!("V3")]);
    let missing = run("Find", json!({"Vin": "V9"})).unwrap().response.remove(0);
    assert_eq!((&missing["_id"], &missing["_car"]), (&json!(null), &json!(null)));
}

fn raw(value: serde_json::Value) -> Option<sluice::store::RawJson> {
    serde_json::value::RawValue::from_string(value.to_string()).ok()
}

fn runs_are_recorded_newest_first(h: &Harness) {
    let store = &h.services.store;
    // A trace as long as a real one (SQLite keeps it compressed), read back as written.
    let step = json!({"step": "s", "items": [{"_user": {"userName": "ann", "email": null}, "data": {"n": 1}}]});
    let long_trace = json!(vec![step; 40]);
    for (i, status) in ["ok", "failed", "ok"].into_iter().enumerate() {
        let record = sluice::store::RunRecord {
            id: sluice::new_uuid(),
            component: "C".into(),
            dataflow: format!("F{i}"),
            user: None,
            client: None,
            started_at: T0 + i as i64,
            duration_us: 10,
            status: status.into(),
            failed_step: None,
            message: None,
            input: raw(json!({"data": {"i": i}})),
            trace: raw(if i == 1 { long_trace.clone() } else { json!([{"step": "s"}]) }),
            outcome: raw(json!({"response": []})),
        };
        store.record_run(record).unwrap();
    }
    let runs = store.list_runs(None, 2).unwrap();
    assert_eq!(runs.iter().map(|r| r.dataflow.as_str()).collect::<Vec<_>>(), ["F2", "F1"]);
    assert!(runs[0].input.is_none() && runs[0].trace.is_none(), "lists leave the details out");
    assert!(store.list_runs(Some("Other"), 10).unwrap().is_empty());
    let full = store.get_run(&runs[1].id).unwrap().unwrap();
    let value =
        |raw: Option<&sluice::store::RawJson>| serde_json::from_str::<serde_json::Value>(raw.unwrap().get()).unwrap();
    assert_eq!(value(full.input.as_ref()), json!({"data": {"i": 1}}));
    assert_eq!(full.trace.unwrap().get(), long_trace.to_string());
    let last = store.get_run(&runs[0].id).unwrap().unwrap();
    assert_eq!(value(last.trace.as_ref()), json!([{"step": "s"}]));
    assert!(store.get_run("nope").unwrap().is_none());
}

fn components_keep_every_version(h: &Harness) {
    let store = &h.services.store;
    assert_eq!(store.save_component("A", "{\"v\":1}", T0, Some("ana")).unwrap(), 1);
    assert_eq!(store.save_component("A", "{\"v\":2}", T0 + 1, Some("ben")).unwrap(), 2);
    assert_eq!(store.save_component("B", "{}", T0, None).unwrap(), 1);
    assert_eq!(store.get_component("A", None).unwrap().unwrap().source, "{\"v\":2}");
    assert_eq!(store.component_version("A").unwrap(), Some(2));
    assert_eq!(store.component_version("C").unwrap(), None);
    let first = store.get_component("A", Some(1)).unwrap().unwrap();
    assert_eq!(
        (first.source.as_str(), first.saved_by.as_deref()),
        ("{\"v\":1}", Some("ana")),
        "who saved each version"
    );
    assert!(store.get_component("A", Some(3)).unwrap().is_none());
    let listed = store.list_components().unwrap();
    assert_eq!(listed.iter().map(|c| (c.name.as_str(), c.version)).collect::<Vec<_>>(), [("A", 2), ("B", 1)]);
    assert_eq!((listed[0].source.as_str(), listed[0].saved_by.as_deref()), ("{\"v\":2}", Some("ben")));
    assert_eq!(listed[1].saved_by, None);
    assert!(store.delete_component("A").unwrap());
    assert!(!store.delete_component("A").unwrap());
    assert!(store.get_component("A", None).unwrap().is_none());
    assert_eq!(store.component_version("A").unwrap(), None);
}

/// Runs `work` on `n` threads released together; returns their results.
fn all_at_once<T: Send>(n: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(n);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..n)
            .map(|i| {
                let (barrier, work) = (&barrier, &work);
                s.spawn(move || {
                    barrier.wait();
                    work(i)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    })
}

fn concurrent_issues_store_exactly_one_code(h: &Harness) {
    let outcomes = all_at_once(16, |_| otp::issue(&h.services, &h.ann, from("web"), &Harness::rules(), Vec::new()));
    let issued: Vec<String> =
        outcomes.iter().filter_map(|o| o.as_ref().ok()).map(|c| c.code.expose().to_owned()).collect();
    assert_eq!(issued.len(), 1, "the resend cooldown lets one of 16 simultaneous requests through");
    assert!(outcomes.iter().filter_map(|o| o.as_ref().err()).all(|e| matches!(e, OtpError::RateLimited { .. })));
    assert_eq!(h.confirm(&h.ann, "web", &issued[0]), Ok(()));
}

fn concurrent_failures_are_each_counted(h: &Harness) {
    let store = &h.services.store;
    let mut counts = all_at_once(16, |i| store.record_failure(&h.bob.id, "web", T0 + i as i64, T0 - HOUR).unwrap());
    counts.sort_unstable();
    assert_eq!(counts, (1..=16).collect::<Vec<u32>>(), "no failure is lost or counted twice");
    assert_eq!(store.record_failure(&h.bob.id, "web", T0 + HOUR + 8, T0 + 8).unwrap(), 8, "older ones are forgotten");
}

fn a_renamed_component_keeps_its_versions(h: &Harness) {
    let store = &h.services.store;
    let file = |name: &str, v: u8| format!("{{\n  \"name\": \"{name}\",\n  \"v\": {v}\n}}");
    store.save_component("Old", &file("Old", 1), T0, Some("ana")).unwrap();
    store.save_component("Old", &file("Old", 2), T0 + 1, None).unwrap();
    store.save_component("Taken", &file("Taken", 1), T0, None).unwrap();
    assert!(matches!(store.rename_component("Old", "Taken"), Err(StoreError::Duplicate(_))), "onto a name in use");
    assert!(store.get_component("Old", Some(2)).unwrap().is_some(), "a refused rename changes nothing");
    assert!(store.rename_component("Old", "New").unwrap());
    assert!(!store.rename_component("Old", "Other").unwrap(), "nothing left under the old name");
    assert_eq!(store.component_version("Old").unwrap(), None);
    assert_eq!(store.component_version("New").unwrap(), Some(2));
    let first = store.get_component("New", Some(1)).unwrap().unwrap();
    assert_eq!((first.source, first.saved_at, first.saved_by.as_deref()), (file("New", 1), T0, Some("ana")));
    assert_eq!(store.get_component("New", None).unwrap().unwrap().source, file("New", 2));
    assert_eq!(store.save_component("New", &file("New", 3), T0 + 2, None).unwrap(), 3, "versions go on");
}

fn concurrent_saves_get_distinct_versions(h: &Harness) {
    let store = &h.services.store;
    let mut versions = all_at_once(8, |i| store.save_component("C", &format!("{{\"i\":{i}}}"), T0, None).unwrap());
    versions.sort_unstable();
    assert_eq!(versions, (1..=8).collect::<Vec<i64>>());
}

/// A session of `user` made at `created_at`, living a minute, with no idle timeout.
fn session(n: u8, user: &User, created_at: i64) -> Session {
    Session {
        token_hash: format!("{n:02x}").repeat(32),
        user_id: user.id.clone(),
        client: "web".into(),
        methods: Vec::new(),
        created_at,
        expires_at: created_at + MIN,
        idle_timeout: 0,
        last_used_at: created_at,
    }
}

fn sessions_are_found_until_they_expire(h: &Harness) {
    let store = &h.services.store;
    let session = session(0xab, &h.ann, T0);
    store.create_session(&session).unwrap();
    assert_eq!(store.find_session(&session.token_hash, T0 + MIN - 1).unwrap(), Some(session.clone()));
    assert_eq!(store.find_session(&session.token_hash, T0 + MIN).unwrap(), None);
    assert_eq!(store.find_session(&"cd".repeat(32), T0).unwrap(), None);
}

fn sessions_keep_their_factors_and_end_when_left_idle(h: &Harness) {
    let store = &h.services.store;
    let methods = vec![Factor { method: AuthMethod::Pwd, at: T0 - 5 }, Factor { method: AuthMethod::Otp, at: T0 }];
    let idle = Session { methods, expires_at: T0 + 10 * MIN, idle_timeout: 2 * MIN, ..session(0x12, &h.ann, T0) };
    store.create_session(&idle).unwrap();
    let found = |at| store.find_session(&idle.token_hash, at).unwrap();
    assert_eq!(found(T0 + 2 * MIN - 1), Some(idle.clone()), "its factors come back as stored");
    assert!(found(T0 + 2 * MIN - 1).unwrap().two_factor());
    assert_eq!(found(T0 + 2 * MIN), None, "two minutes unused");
    // A use restarts the idle time; a use recorded late never moves it back.
    store.touch_session(&idle.token_hash, T0 + 2 * MIN).unwrap();
    store.touch_session(&idle.token_hash, T0 + MIN).unwrap();
    assert_eq!(found(T0 + 4 * MIN - 1).map(|s| s.last_used_at), Some(T0 + 2 * MIN));
    assert_eq!(store.list_sessions(&h.ann.id, T0 + 4 * MIN - 1).unwrap().len(), 1);
    assert!(store.list_sessions(&h.ann.id, T0 + 4 * MIN).unwrap().is_empty(), "idle sessions are not listed");
    // However much it is used, it ends at its end.
    store.touch_session(&idle.token_hash, T0 + 9 * MIN).unwrap();
    assert_eq!(found(T0 + 10 * MIN), None);
}

fn a_code_carries_the_factors_proved_before_it(h: &Harness) {
    let password = Factor { method: AuthMethod::Pwd, at: T0 - 1 };
    let issued = otp::issue(&h.services, &h.ann, from("web"), &Harness::rules(), vec![password]).unwrap();
    h.clock.advance(1000);
    let proved = otp::confirm(&h.services, &h.ann, from("web"), None, &json!(issued.code.expose())).unwrap();
    assert_eq!(proved, [password, Factor { method: AuthMethod::Otp, at: T0 + 1000 }]);
}

fn failures_in_a_row_lock_until_a_builder_unlocks(h: &Harness) {
    // Five in a row lock (100 by default); a success in between starts the count again.
    let otp = otp::OtpPolicy { max_consecutive_failures: 5, ..h.services.otp };
    let services = Services { otp, ..h.services.clone() };
    let confirm = |typed: &str| match otp::confirm(&services, &h.ann, from("web"), None, &json!(typed)) {
        Ok(_) => Ok(()),
        Err(ConfirmError::Rejected(why)) => Err(why),
        Err(ConfirmError::Store(e)) => panic!("store failed: {e}"),
    };
    let mut code = h.issue(&h.ann, "web");
    for _ in 0..4 {
        assert_eq!(confirm(&wrong(&code)), Err(Rejection::Wrong));
    }
    assert_eq!(confirm(&code), Ok(()));
    for n in 0..5 {
        h.later();
        code = h.issue(&h.ann, "web");
        assert_eq!(confirm(&wrong(&code)), Err(Rejection::Wrong), "failure {n} after the success");
    }
    // Locked, for codes and for passwords, long after any window.
    h.clock.advance(24 * HOUR);
    code = h.issue(&h.ann, "web");
    assert_eq!(confirm(&code), Err(Rejection::Locked));
    let store = &h.services.store;
    assert!(store.locked_until(&h.ann.id, sluice::passwords::LOGIN_SCOPE, h.clock.now()).unwrap().is_some());
    assert_eq!(store.locked_until(&h.bob.id, CONFIRM_SCOPE, h.clock.now()).unwrap(), None, "bob is not locked");
    // A builder's unlock lifts both, and the count starts again.
    store.unlock(&h.ann.id).unwrap();
    assert_eq!(store.locked_until(&h.ann.id, sluice::passwords::LOGIN_SCOPE, h.clock.now()).unwrap(), None);
    h.later();
    code = h.issue(&h.ann, "web");
    assert_eq!(confirm(&wrong(&code)), Err(Rejection::Wrong));
    assert_eq!(confirm(&code), Ok(()));
}

fn a_challenge_confirms_only_its_own_code(h: &Harness) {
    let first = otp::issue(&h.services, &h.ann, from("web"), &Harness::rules(), Vec::new()).unwrap();
    h.later();
    let second = otp::issue(&h.services, &h.ann, from("web"), &Harness::rules(), Vec::new()).unwrap();
    let code = json!(second.code.expose());
    let confirm = |challenge| match otp::confirm(&h.services, &h.ann, from("web"), challenge, &code) {
        Ok(_) => Ok(()),
        Err(ConfirmError::Rejected(why)) => Err(why),
        Err(ConfirmError::Store(e)) => panic!("store failed: {e}"),
    };
    // The first challenge names a code that is void; an empty one names none.
    assert_eq!(confirm(Some(&first.challenge)), Err(Rejection::OtherChallenge));
    assert_eq!(confirm(Some("")), Err(Rejection::OtherChallenge));
    assert_eq!(confirm(Some(&second.challenge)), Ok(()));
}

fn sessions_are_listed_ended_one_at_a_time_and_revoked(h: &Harness) {
    let store = &h.services.store;
    let (first, second, bobs) = (session(1, &h.ann, T0), session(2, &h.ann, T0 + 1), session(3, &h.bob, T0));
    for s in [&first, &second, &bobs] {
        store.create_session(s).unwrap();
    }
    assert_eq!(store.list_sessions(&h.ann.id, T0 + 2).unwrap(), [second.clone(), first.clone()], "newest first");
    assert_eq!(store.list_sessions(&h.ann.id, T0 + MIN).unwrap(), std::slice::from_ref(&second), "live ones only");
    // Signing out ends that session only, and only for its user.
    assert_eq!(store.end_sessions(&h.bob.id, Some(&first.token_hash)).unwrap(), 0);
    assert_eq!(store.end_sessions(&h.ann.id, Some(&first.token_hash)).unwrap(), 1);
    assert_eq!(store.find_session(&first.token_hash, T0).unwrap(), None);
    assert_eq!(store.find_session(&second.token_hash, T0).unwrap(), Some(second.clone()));
    // Revoking ends every session of the user, and no one else's.
    store.create_session(&session(4, &h.ann, T0 + 2)).unwrap();
    assert_eq!(store.end_sessions(&h.ann.id, None).unwrap(), 2);
    assert!(store.list_sessions(&h.ann.id, T0).unwrap().is_empty());
    assert_eq!(store.find_session(&bobs.token_hash, T0).unwrap(), Some(bobs));
}

fn purge_forgets_only_what_may_go(h: &Harness) {
    let store = &h.services.store;
    let spent = h.issue(&h.ann, "web");
    assert_eq!(h.confirm(&h.ann, "web", &spent), Ok(()));
    h.issue(&h.bob, "web"); // live, expires after 5 minutes
    store.record_failure(&h.bob.id, "app", T0, T0 - HOUR).unwrap();
    store.lock(&h.bob.id, "app", T0 + MIN).unwrap();
    let session = session(0xef, &h.bob, T0);
    store.create_session(&session).unwrap();
    let run = |id: &str, at| sluice::store::RunRecord {
        id: id.into(),
        component: "A".into(),
        dataflow: "d".into(),
        user: None,
        client: None,
        started_at: at,
        duration_us: 1,
        status: "ok".into(),
        failed_step: None,
        message: None,
        input: None,
        trace: None,
        outcome: None,
    };
    store.record_run(run("old", T0)).unwrap();
    store.record_run(run("new", T0 + 2 * HOUR)).unwrap();
    let purge = |now, batch| Purge { now, failures_before: now - HOUR, runs_before: T0 + HOUR, batch };

    // Within the hour the codes still count for the rate limits; nothing else has expired.
    assert_eq!(store.purge(&purge(T0 + 30_000, 100)).unwrap(), 1, "only the old run goes");
    assert!(store.newest_code(&h.ann.id).unwrap().is_some() && store.newest_code(&h.bob.id).unwrap().is_some());
    assert!(store.get_run("old").unwrap().is_none() && store.get_run("new").unwrap().is_some());

    // Later, in batches of one: two codes, the failures, the lock and the session.
    let later = T0 + HOUR + MIN;
    let mut rounds = Vec::new();
    loop {
        let purged = store.purge(&purge(later, 1)).unwrap();
        rounds.push(purged);
        if purged == 0 {
            break;
        }
    }
    assert_eq!(rounds.iter().sum::<usize>(), 5, "{rounds:?}");
    assert!(rounds.iter().all(|n| *n <= 4), "at most one row of each kind per call: {rounds:?}");
    assert!(store.newest_code(&h.ann.id).unwrap().is_none() && store.newest_code(&h.bob.id).unwrap().is_none());
    assert_eq!(store.locked_until(&h.bob.id, "app", T0).unwrap(), None);
    assert_eq!(store.find_session(&session.token_hash, T0).unwrap(), None);
    assert_eq!(store.record_failure(&h.bob.id, "app", later, T0 - HOUR).unwrap(), 1, "the old failure is gone");
    assert!(store.get_run("new").unwrap().is_some());
}

macro_rules! conformance {
    ($store:ident: $($rule:ident),* $(,)?) => {
        mod $store {
            $(
                #[test]
                fn $rule() {
                    if let Some(harness) = super::Harness::$store(stringify!($store::$rule)) {
                        super::$rule(&harness);
                    }
                }
            )*
        }
    };
}

macro_rules! every_store {
    ($($store:ident),*) => {
        $(conformance!($store:
            a_code_confirms_once,
            only_digits_of_the_right_length_count,
            a_new_code_voids_the_earlier_ones,
            concurrent_confirms_succeed_exactly_once,
            a_code_expires_at_issue_plus_lifetime,
            five_failed_attempts_kill_a_code,
            failures_lock_the_user_whatever_the_client_and_resends_do_not_reset_them,
            a_code_works_only_for_its_user_client_and_purpose,
            a_user_holds_one_code_per_purpose_whatever_the_client,
            issuing_is_rate_limited,
            a_rotated_key_still_confirms_earlier_codes,
            users_are_unique_by_name_without_regard_to_case,
            users_are_saved_one_at_a_time,
            roles_are_granted_once_and_revoked_by_context,
            tokens_redeem_once_until_they_expire_and_a_new_issue_replaces_them,
            concurrent_redemptions_of_a_token_succeed_exactly_once,
            an_authenticator_takes_each_step_once_and_confirms_its_enrolment_once,
            entries_are_created_updated_and_marked_for_deletion,
            entity_steps_read_what_another_component_wrote,
            runs_are_recorded_newest_first,
            components_keep_every_version,
            a_renamed_component_keeps_its_versions,
            concurrent_issues_store_exactly_one_code,
            concurrent_failures_are_each_counted,
            concurrent_saves_get_distinct_versions,
            sessions_are_found_until_they_expire,
            sessions_keep_their_factors_and_end_when_left_idle,
            a_code_carries_the_factors_proved_before_it,
            a_challenge_confirms_only_its_own_code,
            failures_in_a_row_lock_until_a_builder_unlocks,
            sessions_are_listed_ended_one_at_a_time_and_revoked,
            purge_forgets_only_what_may_go,
        );)*
    };
}

every_store!(memory, sqlite, postgres);
