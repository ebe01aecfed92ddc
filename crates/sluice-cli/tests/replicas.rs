//! Two `sluice serve` processes on one PostgreSQL database: what one replica stores, the other
//! serves; a code is confirmed once across both; killing one loses no issued code.
//! Needs `SLUICE_TEST_POSTGRES` (skipped loudly without it; required under CI).

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use common::{Replica, call, codes_component, confirm, issue, save_codes};
use sluice_store_postgres::testing::TestSchema;

/// Users that can hold a code in the kill test (one each: a new code voids a user's earlier one).
const HOLDERS: usize = 2_000;

#[test]
fn replicas_share_components_codes_and_runs() {
    let Some(schema) = TestSchema::new("replicas_share_components_codes_and_runs") else { return };
    let (a, b) = std::thread::scope(|s| {
        // Started together: both migrate the same empty schema and import the same users.
        let a = s.spawn(|| Replica::start(&schema.url()));
        let b = s.spawn(|| Replica::start(&schema.url()));
        (a.join().unwrap(), b.join().unwrap())
    });

    save_codes(&a.base);
    let (status, body) = call("GET", &format!("{}/api/components/Codes", b.base), None).unwrap();
    assert_eq!((status, body["version"].as_i64()), (200, Some(1)), "B serves what A saved: {body}");

    // B runs the new version as soon as A saves it (B caches versions until told otherwise).
    let mut changed = codes_component();
    changed["dataflows"][0]["stages"][0]["steps"][2]["settings"]["script"] = json!("item.data.code = \"hidden\";");
    assert_eq!(issue(&b.base, "v1").unwrap().0, 200);
    let (status, _) = call("PUT", &format!("{}/api/components/Codes", a.base), Some(changed)).unwrap();
    assert_eq!(status, 200);
    let deadline = Instant::now() + Duration::from_secs(5);
    while issue(&b.base, "v1").unwrap().1.as_deref() != Some("hidden") {
        assert!(Instant::now() < deadline, "B still runs the old version");
        std::thread::sleep(Duration::from_millis(20));
    }
    save_codes(&a.base);

    let (status, code) = issue(&a.base, "one").unwrap();
    let code = code.unwrap_or_else(|| panic!("A issued no code ({status})"));
    assert_eq!(confirm(&b.base, "one", &code), Some(200), "a code from A confirms on B");
    assert_eq!(confirm(&a.base, "one", &code), Some(422), "and only once");

    let (_, runs) = call("GET", &format!("{}/api/runs?component=Codes&limit=10", b.base), None).unwrap();
    assert!(runs.as_array().is_some_and(|r| r.len() >= 3), "B lists the runs A made: {runs}");

    // 64 simultaneous confirmations of one code, half on each replica: exactly one wins.
    let code = issue(&b.base, "race").unwrap().1.unwrap();
    let barrier = Barrier::new(64);
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..64)
            .map(|i| {
                let (base, barrier, code) = (if i % 2 == 0 { &a.base } else { &b.base }, &barrier, &code);
                s.spawn(move || {
                    barrier.wait();
                    confirm(base, "race", code).unwrap()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || *s == 422), "refusals are 422, never errors: {statuses:?}");
}

#[test]
fn killing_a_replica_under_load_loses_no_issued_code() {
    let Some(schema) = TestSchema::new("killing_a_replica_under_load_loses_no_issued_code") else { return };
    // A imports the code holders (one code each); B joins the database that has them.
    let mut a = Replica::start_for(&schema.url(), HOLDERS, &[]);
    let b = Replica::start_for(&schema.url(), 0, &[]);
    save_codes(&a.base);

    // Four clients issue codes on A, one on B, each code for a holder of its own. A is killed
    // once 50 codes were issued, and the load stops once B has issued 10 more after the kill:
    // events, not moments, so a slow machine only makes the test take longer (within the
    // deadline).
    let issued = Mutex::new(Vec::<(String, String)>::new());
    let (stop, next, b_after_kill, killed) =
        (AtomicBool::new(false), AtomicUsize::new(0), AtomicUsize::new(0), AtomicBool::new(false));
    let deadline = Instant::now() + Duration::from_secs(60);
    std::thread::scope(|s| {
        for worker in 0..5 {
            let base = if worker == 4 { b.base.clone() } else { a.base.clone() };
            let (issued, stop, next, b_after_kill, killed) = (&issued, &stop, &next, &b_after_kill, &killed);
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= HOLDERS {
                        break; // every holder has a code
                    }
                    let holder = format!("c{n}");
                    let was_killed = killed.load(Ordering::Relaxed);
                    match issue(&base, &holder) {
                        Some((200, Some(code))) => {
                            issued.lock().unwrap().push((holder, code));
                            if worker == 4 && was_killed {
                                b_after_kill.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Some((status, _)) => panic!("issue on {base} answered {status}"),
                        None if worker == 4 => panic!("B stopped answering"),
                        None => break, // A is gone
                    }
                }
            });
        }
        let wait_for = |what: &str, done: &dyn Fn() -> bool| {
            while !done() {
                if Instant::now() > deadline {
                    stop.store(true, Ordering::Relaxed);
                    panic!("{what} did not happen within a minute");
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        };
        wait_for("50 codes issued", &|| issued.lock().unwrap().len() >= 50);
        a.kill();
        killed.store(true, Ordering::Relaxed);
        wait_for("10 codes issued by B after A was killed", &|| b_after_kill.load(Ordering::Relaxed) >= 10);
        stop.store(true, Ordering::Relaxed);
    });

    // Every code whose issue was answered 200 confirms, once, on B.
    let issued = Arc::new(issued.into_inner().unwrap());
    for (holder, code) in issued.iter() {
        assert_eq!(confirm(&b.base, holder, code), Some(200), "code for {holder} was lost");
        assert_eq!(confirm(&b.base, holder, code), Some(422), "code for {holder} confirmed twice");
    }
    eprintln!("{} codes issued under load, A killed, all confirmed once on B", issued.len());
}
