//! Two `sluice serve` processes on one SQLite file, as the README allows: what one stores the
//! other serves, and a code confirmed by both at once succeeds exactly once. (The codes allow 10
//! attempts, so that up to 10 of the 64 confirmations reach the final, guarded write; with the
//! guard on the code's status taken out, 3 of 4 runs of the 20 rounds failed.)

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Barrier;

use common::{Replica, confirm, issue, save_codes};

#[test]
fn two_processes_on_one_sqlite_file_confirm_a_code_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("sluice.db").display());
    // One after the other, as a second process joins a running one: the second finds the
    // schema made. (Started together, the first one's migration makes the other's cached
    // statements be planned again, which the debug builds tests run refuse on purpose.)
    let a = Replica::start(&store);
    let b = Replica::start(&store);
    save_codes(&a.base);

    let (status, code) = issue(&b.base, "one").unwrap();
    let code = code.unwrap_or_else(|| panic!("B issued no code ({status})"));
    assert_eq!(confirm(&a.base, "one", &code), Some(200), "a code from B confirms on A");
    assert_eq!(confirm(&b.base, "one", &code), Some(422), "and only once");

    for round in 0..20 {
        let holder = format!("c{round}");
        let issuer = if round % 2 == 0 { &a } else { &b };
        let code = issue(&issuer.base, &holder).unwrap().1.unwrap();
        // 32 confirmations of the code on each process, released together.
        let barrier = Barrier::new(64);
        let statuses: Vec<u16> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..64)
                .map(|i| {
                    let (base, barrier, code, holder) =
                        (if i % 2 == 0 { &a.base } else { &b.base }, &barrier, &code, &holder);
                    s.spawn(move || {
                        barrier.wait();
                        confirm(base, holder, code).unwrap()
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "round {round}: {statuses:?}");
        assert!(statuses.iter().all(|s| *s == 200 || *s == 422), "round {round}: refusals are 422: {statuses:?}");
    }
}
