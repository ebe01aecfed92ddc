//! Hostile work against one `sluice serve` process (memory store): scripts that loop for ever,
//! recurse, grow a string or an array without end; a 50 MB action model; a component of
//! 100,000 steps; 10,000 connections at once, each with a request in flight, and 1,000 more that
//! never finish their request. Each ends with a clear error within its limit,
//! other requests keep being answered meanwhile, and the process stays under the memory ceiling
//! documented in docs/reliability.md.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{Replica, call};
use serde_json::{Value, json};

/// Connections held open at once, each with a request in flight.
const CONNECTIONS: usize = 10_000;

/// Raises this process's limit of open files to the most the machine allows (the server it
/// starts inherits it): the test holds 11,000 connections, and shells often set 1,024.
fn allow_many_open_files() {
    let wanted = (CONNECTIONS + 1_100) as u64;
    let allowed = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(0);
    assert!(allowed >= wanted, "this machine allows {allowed} open files; the test needs {wanted}");
}

/// The first line of the answer on `stream` (empty when none comes within a minute).
fn status_line(stream: &mut TcpStream) -> String {
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    while !answer.windows(2).any(|w| w == b"\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buffer[..n]),
        }
    }
    String::from_utf8_lossy(&answer).lines().next().unwrap_or_default().to_owned()
}

/// The documented ceiling of a server's peak resident memory under this test, in kB.
const CEILING_KB: u64 = 768 * 1024;

fn hostile() -> Value {
    let flow = |name: &str, script: &str| {
        json!({"name": name, "stages": [{"name": "S", "steps": [
            {"name": "model", "type": "get_action_model"},
            {"name": "script", "type": "execute_script", "source": "model", "settings": {"script": script}},
            {"name": "response", "type": "write_response", "source": "script"}]}]})
    };
    json!({"name": "Hostile", "dataflows": [
        flow("Spin", "loop { }"),
        flow("Recurse", "fn f(n) { f(n + 1) }\nf(0);"),
        flow("BigString", "let s = \"x\"; loop { s += s; }"),
        flow("BigArray", "let a = []; loop { a.push(a.len()); }"),
        flow("Fine", "item.data.ok = true;"),
    ]})
}

fn run(base: &str, dataflow: &str, body: Value) -> (u16, Value) {
    call("POST", &format!("{base}/api/components/Hostile/dataflows/{dataflow}/execute"), Some(body)).unwrap()
}

#[test]
fn hostile_requests_end_with_clear_errors_and_others_are_still_served() {
    allow_many_open_files();
    let server = Replica::start("memory:");
    let (status, body) = call("PUT", &format!("{}/api/components/Hostile", server.base), Some(hostile())).unwrap();
    assert_eq!(status, 200, "{body}");

    let stop = AtomicBool::new(false);
    let slowest_fine = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            // A well-behaved request, over and over, while the hostile ones run.
            let mut slowest = Duration::ZERO;
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let (status, body) = run(&server.base, "Fine", json!({"data": {}}));
                assert_eq!(status, 200, "{body}");
                slowest = slowest.max(started.elapsed());
            }
            slowest
        });
        // The watcher stops even when an assertion below fails (else the scope would wait on it).
        struct StopOnDrop<'a>(&'a AtomicBool);
        impl Drop for StopOnDrop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let _stop = StopOnDrop(&stop);
        // Which limit stops a script first depends on the machine's speed: any is a clear stop.
        const TIME: &str = "ran longer than 1s";
        let expected: [(&str, &[&str]); 4] = [
            ("Spin", &["more than 1000000 operations", TIME]),
            ("Recurse", &["deeper than"]),
            ("BigString", &["exceeds the engine's size limit", TIME]),
            ("BigArray", &["exceeds the engine's size limit", "more than 1000000 operations", TIME]),
        ];
        let hostile: Vec<_> = expected
            .iter()
            .flat_map(|case| [case; 3])
            .map(|&(dataflow, messages)| {
                let base = &server.base;
                s.spawn(move || {
                    let started = Instant::now();
                    let (status, body) = run(base, dataflow, json!({"data": {}}));
                    assert_eq!(status, 422, "{dataflow}: {body}");
                    let text = body["error"]["message"].as_str().unwrap_or_default().to_owned();
                    assert!(messages.iter().any(|m| text.contains(m)), "{dataflow}: {text}");
                    assert!(started.elapsed() < Duration::from_secs(10), "{dataflow} took {:?}", started.elapsed());
                })
            })
            .collect();
        let failed = hostile.into_iter().map(|h| h.join()).filter(Result::is_err).count();
        stop.store(true, Ordering::Relaxed);
        assert_eq!(failed, 0, "hostile requests were not stopped as expected (see above)");
        watcher.join().unwrap()
    });
    assert!(slowest_fine < Duration::from_secs(3), "a well-behaved request waited {slowest_fine:?}");

    // A 50 MB action model: refused by the body limit, at once. The body is streamed from a
    // thread of its own while the answer is read, so the 413 is read whatever the moment the
    // server stops reading and closes the connection.
    let started = Instant::now();
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&addr).unwrap();
    let length = 50 << 20;
    write!(
        stream,
        "POST /api/components/Hostile/dataflows/Fine/execute HTTP/1.1\r\nHost: sluice\r\n\
         Authorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n",
        common::TOKEN
    )
    .unwrap();
    let mut body = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let chunk = vec![b' '; 1 << 20];
        // The server may stop reading and close at any moment: a failed write ends the body.
        (0..length / chunk.len()).map_while(|_| body.write_all(&chunk).ok()).count()
    });
    let answer = status_line(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 413"), "a 50 MB body was answered {answer:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "the 413 took {:?}", started.elapsed());
    drop(stream);
    let sent = sender.join().unwrap();
    eprintln!("50 MB body: {answer} after {sent} MB were sent, in {:?}", started.elapsed());
    assert_eq!(run(&server.base, "Fine", json!({"data": {}})).0, 200, "the server still serves after the 413");

    // A component of 100,000 steps (about 9 MB): checked and answered, not hung.
    let mut steps = vec![json!({"name": "model", "type": "get_action_model"})];
    steps.extend((1..100_000).map(|i| {
        json!({"name": format!("s{i}"), "type": "transform_model", "source": if i == 1 { "model".to_owned() } else { format!("s{}", i - 1) }})
    }));
    let huge = json!({"name": "Huge", "dataflows": [{"name": "F", "stages": [{"name": "S", "steps": steps}]}]});
    let started = Instant::now();
    let (status, body) = call("PUT", &format!("{}/api/components/Huge", server.base), Some(huge)).unwrap();
    // About 6 MB, under the 10 MB default body limit, and valid: checked and saved.
    assert_eq!(status, 200, "{body}");
    assert!(started.elapsed() < Duration::from_secs(30), "100,000 steps took {:?}", started.elapsed());
    eprintln!("100,000 steps: {status} in {:?}", started.elapsed());

    // 10,000 connections at once, each with a request in flight, beside 1,000 that never
    // finish theirs: every request is answered, and a run still goes through meanwhile.
    let started = Instant::now();
    let connect = |n: usize| -> Vec<TcpStream> { (0..n).filter_map(|_| TcpStream::connect(&addr).ok()).collect() };
    let mut stalled = connect(1_000);
    assert!(stalled.len() >= 990, "only {} of 1,000 stalled connections were accepted", stalled.len());
    for c in &mut stalled {
        c.write_all(b"POST /api/validate HTTP/1.1\r\nHost: sluice\r\nContent-Length: 100\r\n\r\n{").unwrap();
    }
    let mut busy = connect(CONNECTIONS);
    assert!(busy.len() >= CONNECTIONS * 99 / 100, "only {} connections were accepted", busy.len());
    for c in &mut busy {
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: sluice\r\n\r\n").unwrap();
    }
    assert_eq!(run(&server.base, "Fine", json!({"data": {}})).0, 200);
    let answered = busy.iter_mut().map(status_line).filter(|line| line.starts_with("HTTP/1.1 200")).count();
    assert_eq!(answered, busy.len(), "every request in flight is answered");
    drop((busy, stalled));
    eprintln!("{CONNECTIONS} connections answered in {:?}", started.elapsed());

    let peak = server.peak_memory_kb();
    eprintln!("peak resident memory: {} MB", peak / 1024);
    assert!(peak > 0 && peak < CEILING_KB, "peak resident memory {peak} kB is over the ceiling");
}

/// The server's threads before and, at most, while `scripts` endless scripts run at once
/// (each stopped by its limit).
fn threads_while_spinning(server: &Replica, scripts: usize) -> (u64, u64) {
    let (status, _) = call("PUT", &format!("{}/api/components/Hostile", server.base), Some(hostile())).unwrap();
    assert_eq!(status, 200);
    let idle = server.threads();
    let most = AtomicU64::new(0);
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                most.fetch_max(server.threads(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        let spinning: Vec<_> =
            (0..scripts).map(|_| s.spawn(|| run(&server.base, "Spin", json!({"data": {}})).0)).collect();
        let statuses: Vec<u16> = spinning.into_iter().map(|h| h.join().unwrap()).collect();
        done.store(true, Ordering::Relaxed);
        assert_eq!(statuses, vec![422; scripts], "every script is stopped by its limit");
    });
    (idle, most.into_inner())
}

#[test]
fn requests_beyond_the_workers_wait_their_turn_instead_of_getting_threads() {
    let server = Replica::start_with("memory:", &["--workers", "2"]);
    let (idle, most) = threads_while_spinning(&server, 8);
    // One worker may already exist from the component's save; tokio's default would have
    // started one thread per waiting request.
    eprintln!("threads: {idle} idle, at most {most} with 8 scripts running on 2 workers");
    assert!(most <= idle + 2, "{most} threads (idle {idle}) for 2 workers");
}

#[test]
fn a_memory_server_runs_by_default_only_a_few_threads_per_core() {
    // Its threads only compute: more than a few per core would take turns on the cores.
    let workers = sluice_server::default_workers(&sluice::store::MemoryStore::new()) as u64;
    let server = Replica::start("memory:");
    let scripts = workers as usize + 4;
    let (idle, most) = threads_while_spinning(&server, scripts);
    eprintln!("threads: {idle} idle, at most {most} with {scripts} scripts running by default");
    assert!(most <= idle + workers, "{most} threads (idle {idle}) for {workers} workers");
}
