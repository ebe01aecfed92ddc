//! `sluice serve` processes for the scale-out tests, and the dataflows they call.

#![allow(dead_code, clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{Value, json};

pub const TOKEN: &str = "replica-admin-token";
pub const SECRET: &str = "replicas-share-this-secret-0123456789";

/// A `sluice serve` process, killed when dropped.
pub struct Replica {
    pub base: String,
    child: Child,
    /// Holds the users file the process imported.
    _users: tempfile::TempDir,
}

impl Replica {
    /// Starts `sluice serve` on a free loopback port against `store`, importing the users
    /// [`HOLDERS`] and `c0` … `c99`.
    pub fn start(store: &str) -> Replica {
        Replica::start_for(store, 100, &[])
    }

    /// Like [`Replica::start`], with more options for `sluice serve`.
    pub fn start_with(store: &str, options: &[&str]) -> Replica {
        Replica::start_for(store, 100, options)
    }

    /// Starts `sluice serve` against `store` with `options`, importing the users [`HOLDERS`]
    /// and `c0` … `c{numbered - 1}` (none with 0: a replica joining a database that has them).
    pub fn start_for(store: &str, numbered: usize, options: &[&str]) -> Replica {
        let folder = tempfile::tempdir().unwrap();
        let users = folder.path().join("users.json");
        std::fs::write(&users, users_file(numbered)).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_sluice"));
        command.args(["serve", "--addr", "127.0.0.1:0"]);
        if numbered > 0 {
            command.arg("--users").arg(&users);
        }
        let mut child = command
            .args(options)
            .env("SLUICE_STORE", store)
            .env("SLUICE_SECRET", SECRET)
            .env("SLUICE_ADMIN_TOKENS", TOKEN)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The server says where it listens; the rest of its output is drained, so it never
        // blocks on a full pipe.
        let (tx, rx) = mpsc::channel();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("sluice serving ") {
                    let _ = tx.send(Ok(rest.split(' ').next().unwrap_or_default().to_owned()));
                } else if !line.starts_with("warning") && !line.contains("users imported") {
                    let _ = tx.send(Err(line));
                }
            }
        });
        loop {
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(Ok(base)) => return Replica { base, child, _users: folder },
                Ok(Err(line)) => eprintln!("replica: {line}"),
                Err(e) => {
                    let _ = child.kill();
                    panic!("the replica did not start: {e:?}, exit {:?}", child.wait());
                }
            }
        }
    }

    /// The peak resident memory of the process so far, in kB (`VmHWM`).
    pub fn peak_memory_kb(&self) -> u64 {
        self.status("VmHWM:")
    }

    /// How many threads the process has now.
    pub fn threads(&self) -> u64 {
        self.status("Threads:")
    }

    /// A number from the process's `/proc/PID/status` (0 when it cannot be read).
    fn status(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let line = status.lines().find(|l| l.starts_with(field)).unwrap_or_default();
        line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0)
    }

    /// Kills the process outright (SIGKILL): no shutdown, no cleanup.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Code holders the tests name (a user holds one code per purpose, so every code a test keeps
/// is for a user of its own): these, and the numbered `c0`, `c1`, … of [`Replica::start_for`].
const HOLDERS: [&str; 7] = ["ann", "before", "during", "after", "one", "race", "v1"];

/// The users file of a replica: the [`HOLDERS`] and `numbered` more.
fn users_file(numbered: usize) -> String {
    let names = HOLDERS.iter().map(|n| (*n).to_owned()).chain((0..numbered).map(|n| format!("c{n}")));
    serde_json::to_string(&names.map(|name| json!({"userName": name})).collect::<Vec<_>>()).unwrap()
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(20))).build(),
    )
}

/// A call's status and JSON body; `None` when the connection failed.
pub fn call(method: &str, url: &str, body: Option<Value>) -> Option<(u16, Value)> {
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(body.map(|b| b.to_string()).unwrap_or_default())
        .unwrap();
    let mut response = agent().run(request).ok()?;
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    Some((status, serde_json::from_str(&body).unwrap_or(Value::Null)))
}

/// `Codes`: `Issue` gives the user `data.user` a code (for the run's client) and answers it in
/// `data.code`; `Confirm` confirms `data.code` (422 when refused). No resend cooldown, 100 codes
/// an hour per user.
pub fn codes_component() -> Value {
    json!({"name": "Codes", "dataflows": [
        {"name": "Issue", "stages": [{"name": "S", "steps": [
            {"name": "model", "type": "get_action_model"},
            {"name": "code", "type": "get_one_time_code_for_user", "source": "model",
             "settings": {"userName": "data.user", "codeLifetime": "10m", "maxAttempts": 10,
                          "resendCooldown": 0, "maxCodesPerHour": 100}},
            {"name": "show", "type": "execute_script", "source": "code",
             "settings": {"script": "item.data.code = item._oneTimeCode;"}},
            {"name": "response", "type": "write_response", "source": "show"}]}]},
        {"name": "Confirm", "stages": [{"name": "S", "steps": [
            {"name": "model", "type": "get_action_model"},
            {"name": "confirm", "type": "confirm_one_time_code_for_user", "source": "model",
             "settings": {"userName": "data.user", "userCodeField": "data.code"}},
            {"name": "response", "type": "write_response", "source": "confirm"}]}]}
    ]})
}

pub fn save_codes(base: &str) {
    let (status, body) = call("PUT", &format!("{base}/api/components/Codes"), Some(codes_component())).unwrap();
    assert_eq!(status, 200, "{body}");
}

/// Runs a dataflow of `Codes` for the user `holder` (one of [`HOLDERS`] or a numbered one)
/// with `data` added: status and body.
pub fn execute(base: &str, dataflow: &str, holder: &str, extra: Value) -> Option<(u16, Value)> {
    let url = format!("{base}/api/components/Codes/dataflows/{dataflow}/execute");
    let mut data = json!({"user": holder});
    data.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    call("POST", &url, Some(json!({ "data": data })))
}

/// Issues a code for `holder`: the status, and the code on success.
pub fn issue(base: &str, holder: &str) -> Option<(u16, Option<String>)> {
    let (status, body) = execute(base, "Issue", holder, json!({}))?;
    Some((status, body.pointer("/response/0/data/code").and_then(Value::as_str).map(str::to_owned)))
}

/// Confirms `code` for `holder`: the status.
pub fn confirm(base: &str, holder: &str, code: &str) -> Option<u16> {
    execute(base, "Confirm", holder, json!({ "code": code })).map(|(status, _)| status)
}
