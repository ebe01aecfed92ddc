//! PostgreSQL goes down under a running `sluice serve` and comes back: requests get a clear
//! 503 meanwhile, nothing issued before is lost, and the server recovers by itself.
//!
//! The test runs a PostgreSQL server of its own (Debian's `initdb` and `pg_ctl`, as the
//! `postgres` user when run as root), so stopping it disturbs no other test. Like every
//! PostgreSQL test it runs when `SLUICE_TEST_POSTGRES` is set.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Replica, call, confirm, execute, issue, save_codes};
use serde_json::json;
use sluice_store_postgres::testing::test_database;

/// A PostgreSQL server in a temporary folder, on a free loopback port.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn create() -> Cluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's server programs are not installed (/usr/lib/postgresql)")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .find(|bin| bin.join("initdb").exists())
            .expect("no initdb under /usr/lib/postgresql");
        let dir = tempfile::tempdir().unwrap();
        if is_root() {
            let postgres = Command::new("id").args(["-u", "postgres"]).output().unwrap();
            let uid: u32 = String::from_utf8_lossy(&postgres.stdout).trim().parse().expect("no postgres user");
            std::os::unix::fs::chown(dir.path(), Some(uid), None).unwrap();
        }
        let data = dir.path().join("data");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let cluster = Cluster { bin, data, port, _dir: dir };
        cluster.pg("initdb", &["-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "-D"], true);
        cluster.start();
        cluster
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.data.parent().unwrap().display()
        );
        let log = self.data.parent().unwrap().join("postgres.log");
        self.pg("pg_ctl", &["-w", "-o", &options, "-l", &log.display().to_string(), "start", "-D"], true);
    }

    /// Stops the server at once, as a crash would (`-m immediate`).
    fn stop(&self) -> bool {
        self.pg("pg_ctl", &["-w", "-m", "immediate", "stop", "-D"], false)
    }

    /// Runs a PostgreSQL program with the data folder last, as `postgres` when we are root.
    fn pg(&self, program: &str, args: &[&str], must: bool) -> bool {
        let program = self.bin.join(program);
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let output = command.args(args).arg(&self.data).output().unwrap();
        if must {
            assert!(
                output.status.success(),
                "{} failed: {}",
                program.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        output.status.success()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn healthy(base: &str) -> u16 {
    call("GET", &format!("{base}/healthz"), None).map_or(0, |(status, _)| status)
}

#[test]
fn while_the_database_is_down_requests_get_503_and_the_server_recovers() {
    if test_database("while_the_database_is_down_requests_get_503_and_the_server_recovers").is_none() {
        return;
    }
    let cluster = Cluster::create();
    let server = Replica::start(&cluster.url());
    save_codes(&server.base);
    let before = issue(&server.base, "before").unwrap().1.expect("a code before the outage");

    assert!(cluster.stop(), "the database would not stop");
    type Request<'a> = &'a dyn Fn() -> Option<(u16, serde_json::Value)>;
    let requests: [(&str, Request); 4] = [
        ("an issue", &|| execute(&server.base, "Issue", "during", json!({}))),
        ("a confirmation", &|| execute(&server.base, "Confirm", "before", json!({ "code": before }))),
        ("a component read", &|| call("GET", &format!("{}/api/components/Codes", server.base), None)),
        ("a health check", &|| call("GET", &format!("{}/healthz", server.base), None)),
    ];
    for (what, request) in requests {
        // Timed around the request itself: the client would wait up to 20 s for an answer.
        let started = Instant::now();
        let answer = request();
        let took = started.elapsed();
        let (status, body) = answer.unwrap_or_else(|| panic!("{what}: no answer while the database is down"));
        assert_eq!(status, 503, "{what}: {body}");
        eprintln!("{what} while the database is down: {status} {body} in {took:?}");
        assert!(took < Duration::from_secs(10), "{what} was answered after {took:?}");
        let text = body.to_string();
        assert!(text.contains("unavailable") && !text.contains(&before), "{what}: {text}");
    }

    cluster.start();
    let deadline = Instant::now() + Duration::from_secs(30);
    while healthy(&server.base) != 200 {
        assert!(Instant::now() < deadline, "the server did not recover");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(confirm(&server.base, "before", &before), Some(200), "the code issued before the outage still works");
    let after = issue(&server.base, "after").unwrap();
    assert_eq!((after.0, after.1.is_some()), (200, true));
}
