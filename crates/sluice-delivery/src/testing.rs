//! Real peers for tests of this and other crates (feature `testing`): an SMTP server process
//! (aiosmtpd) that writes what it receives into a maildir, and an HTTP listener for webhooks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test support fails loudly

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Whether aiosmtpd can be imported by `python3`.
pub fn aiosmtpd_installed() -> bool {
    Command::new("python3").args(["-c", "import aiosmtpd"]).status().is_ok_and(|s| s.success())
}

/// How the SMTP server wants to be spoken to.
#[derive(Debug, Clone, Default)]
pub struct SmtpOptions {
    /// The server's certificate and key (PEM files), with STARTTLS required…
    pub tls: Option<(PathBuf, PathBuf)>,
    /// …or TLS from the first byte (`smtps://`) when this is set too.
    pub implicit_tls: bool,
    /// A user name and password every client must log in with (over TLS only).
    pub login: Option<(String, String)>,
    /// How many messages, the first ones, it refuses with "451 try again later".
    pub refuse_first: usize,
    /// How long it waits before answering each message.
    pub stall: Option<Duration>,
}

/// A real SMTP server process (aiosmtpd) on a loopback port, killed when dropped.
pub struct SmtpServer {
    child: Child,
    maildir: tempfile::TempDir,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl SmtpServer {
    /// Starts a plain SMTP server on `port`.
    pub fn start(port: u16) -> SmtpServer {
        SmtpServer::start_with(port, &SmtpOptions::default())
    }

    /// Starts an SMTP server on `port` as `options` say; waits until it accepts connections.
    pub fn start_with(port: u16, options: &SmtpOptions) -> SmtpServer {
        let maildir = tempfile::tempdir().unwrap();
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir(maildir.path().join(sub)).unwrap();
        }
        let mut command = Command::new("python3");
        command.args(["-c", include_str!("testing/smtp_server.py"), "--port", &port.to_string(), "--maildir"]);
        command.arg(maildir.path());
        if let Some((cert, key)) = &options.tls {
            command.arg("--tls").arg(cert).arg(key);
            command.args(["--mode", if options.implicit_tls { "implicit" } else { "starttls" }]);
        }
        if let Some((user, password)) = &options.login {
            command.args(["--login", &format!("{user}:{password}")]);
        }
        command.args(["--refuse", &options.refuse_first.to_string()]);
        if let Some(stall) = options.stall {
            command.args(["--stall", &stall.as_secs_f64().to_string()]);
        }
        let child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("python3 does not start");
        let server = SmtpServer { child, maildir, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not start on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// Every message received so far, as raw text, sorted.
    pub fn messages(&self) -> Vec<String> {
        let mut found: Vec<String> = std::fs::read_dir(self.maildir.path().join("new"))
            .map(|entries| entries.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok()).collect())
            .unwrap_or_default();
        found.sort();
        found
    }

    /// The maildir the server writes into.
    pub fn maildir(&self) -> &Path {
        self.maildir.path()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP listener on a loopback port that answers 500 to its first `failures` requests, then
/// 200, and keeps the JSON bodies of the requests it accepted.
pub struct WebhookListener {
    /// The URL to POST to.
    pub url: String,
    bodies: Arc<Mutex<Vec<Value>>>,
    requests: Arc<Mutex<usize>>,
}

impl WebhookListener {
    /// Starts listening (on a thread of its own, for the rest of the process).
    pub fn start(failures: usize) -> WebhookListener {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (bodies, requests) = (Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(0)));
        let (seen, counted) = (bodies.clone(), requests.clone());
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { continue };
                let body = read_request(&stream);
                *counted.lock().unwrap() += 1;
                let status = if n < failures { "500 Internal Server Error" } else { "200 OK" };
                if n >= failures {
                    seen.lock().unwrap().push(serde_json::from_slice(&body).unwrap());
                }
                let _ = write!(stream, "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            }
        });
        WebhookListener { url, bodies, requests }
    }

    /// The bodies of the requests answered 200.
    pub fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }

    /// How many requests came, answered 500 or 200.
    pub fn requests(&self) -> usize {
        *self.requests.lock().unwrap()
    }
}

/// A request an [`ApiServer`] received.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedRequest {
    /// `GET`, `POST`…
    pub method: String,
    /// The path with its query.
    pub target: String,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body (JSON when it parses, else text).
    pub body: Value,
}

/// An HTTP API on a loopback port that answers its requests, in turn, with `answers` (status,
/// JSON body; the last one repeats), and keeps every request.
pub struct ApiServer {
    /// Its base URL (`http://127.0.0.1:PORT/`).
    pub url: String,
    received: Arc<Mutex<Vec<ReceivedRequest>>>,
}

impl ApiServer {
    /// Starts answering (on a thread of its own, for the rest of the process).
    pub fn start(answers: Vec<(u16, Value)>) -> ApiServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let kept = received.clone();
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { continue };
                let (method, target, headers, body) = read_full_request(&stream);
                let body =
                    serde_json::from_slice(&body).unwrap_or_else(|_| Value::from(String::from_utf8_lossy(&body)));
                kept.lock().unwrap().push(ReceivedRequest { method, target, headers, body });
                let (status, answer) = answers.get(n).or(answers.last()).cloned().unwrap_or((200, Value::Null));
                let text = answer.to_string();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                    text.len()
                );
            }
        });
        ApiServer { url, received }
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<ReceivedRequest> {
        self.received.lock().unwrap().clone()
    }
}

/// The request line, headers and body of the HTTP request on `stream`.
fn read_full_request(stream: &TcpStream) -> (String, String, Vec<(String, String)>, Vec<u8>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    let mut parts = first.split_whitespace();
    let (method, target) = (parts.next().unwrap_or_default().to_owned(), parts.next().unwrap_or_default().to_owned());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let length = headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (method, target, headers, body)
}

/// The body of the HTTP request on `stream` (read by its Content-Length).
fn read_request(stream: &TcpStream) -> Vec<u8> {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    body
}
