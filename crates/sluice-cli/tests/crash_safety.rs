//! `sluice serve` on the SQLite store, killed with SIGKILL at random moments under load and
//! started again, 20 times: the database always opens, every code whose issue answered 200
//! confirms exactly once afterwards, and no entry is half-written.
//! `SLUICE_CRASH_ROUNDS` sets the number of kills (default 20, at least 1).

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Replica, call, confirm, issue, save_codes};
use serde_json::{Value, json};

/// `Notes`: `Save` writes `data.a` and `data.b` (always equal) into a new entry.
fn notes_component() -> Value {
    json!({"name": "Notes",
           "definitions": {"a": {"type": "string"}, "b": {"type": "string"}},
           "dataflows": [{"name": "Save", "stages": [{"name": "S", "steps": [
               {"name": "model", "type": "get_action_model"},
               {"name": "save", "type": "update_entry", "source": "model"},
               {"name": "response", "type": "write_response", "source": "save"}]}]}]})
}

/// Users that can hold a code (one each: a new code would void a user's earlier one).
const HOLDERS: usize = 5_000;

/// A small xorshift generator: the kill moments differ run to run, and the seed is printed.
struct Moments(u64);

impl Moments {
    fn next_millis(&mut self, from: u64, to: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        from + self.0 % (to - from)
    }
}

#[test]
fn sigkill_under_load_loses_no_code_and_half_writes_nothing() {
    let rounds: usize = std::env::var("SLUICE_CRASH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(20);
    assert!(rounds > 0, "SLUICE_CRASH_ROUNDS=0 would check nothing");
    let seed = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    eprintln!("crash-safety seed {seed}, {rounds} rounds");
    let mut moments = Moments(seed);
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("sluice.db").display());
    let issued = Mutex::new(Vec::<(String, String)>::new());
    // The text of every note whose save was answered 200.
    let saved = Mutex::new(Vec::<String>::new());
    let next = AtomicUsize::new(0);

    for round in 0..rounds {
        // The first start imports the code holders; the later ones find them in the file.
        let mut server = Replica::start_for(&store, if round == 0 { HOLDERS } else { 0 }, &[]);
        if round == 0 {
            save_codes(&server.base);
            let (status, body) =
                call("PUT", &format!("{}/api/components/Notes", server.base), Some(notes_component())).unwrap();
            assert_eq!(status, 200, "{body}");
        }
        let stop = AtomicBool::new(false);
        let base = server.base.clone();
        std::thread::scope(|s| {
            for worker in 0..4 {
                let (base, issued, stop, next, saved) = (&base, &issued, &stop, &next, &saved);
                s.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if worker == 3 {
                            let url = format!("{base}/api/components/Notes/dataflows/Save/execute");
                            let text = format!("note {n}");
                            match call("POST", &url, Some(json!({"data": {"a": text, "b": text}}))) {
                                Some((200, _)) => saved.lock().unwrap().push(text),
                                Some((status, body)) => panic!("saving a note answered {status}: {body}"),
                                None => break,
                            }
                            continue;
                        }
                        if n >= HOLDERS {
                            break; // every holder has a code
                        }
                        let holder = format!("c{n}");
                        match issue(base, &holder) {
                            Some((200, Some(code))) => issued.lock().unwrap().push((holder, code)),
                            Some((status, _)) => panic!("an issue answered {status}"),
                            None => break, // killed
                        }
                    }
                });
            }
            std::thread::sleep(Duration::from_millis(moments.next_millis(50, 400)));
            server.kill();
            stop.store(true, Ordering::Relaxed);
        });
    }

    let server = Replica::start(&store);
    let issued = issued.into_inner().unwrap();
    assert!(issued.len() >= rounds, "only {} codes were issued in {rounds} rounds", issued.len());
    for (holder, code) in &issued {
        assert_eq!(confirm(&server.base, holder, code), Some(200), "the code for {holder} was lost");
        assert_eq!(confirm(&server.base, holder, code), Some(422), "the code for {holder} confirmed twice");
    }
    drop(server);
    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["entries", "list", "Notes", "--format", "json", "--store", &store])
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    let entries: Vec<Value> = serde_json::from_slice(&listed.stdout).unwrap();
    let saved = saved.into_inner().unwrap();
    assert!(!saved.is_empty(), "no note was saved in {rounds} rounds");
    // Every entry is whole (a = b); every acknowledged note is there, by its text, so an
    // unacknowledged note committed before a kill cannot stand in for a lost one.
    let mut stored = std::collections::HashSet::new();
    for entry in &entries {
        let data = &entry["data"];
        assert!(data["a"].is_string() && data["a"] == data["b"], "half-written entry: {entry}");
        assert!(stored.insert(data["a"].as_str().unwrap().to_owned()), "a note was stored twice: {entry}");
    }
    let lost: Vec<&String> = saved.iter().filter(|text| !stored.contains(*text)).collect();
    assert!(lost.is_empty(), "acknowledged notes are missing: {lost:?}");
    eprintln!(
        "{} codes and {} notes ({} acknowledged) survived {rounds} kills",
        issued.len(),
        entries.len(),
        saved.len()
    );
}
