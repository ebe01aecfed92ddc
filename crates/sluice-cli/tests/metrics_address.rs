//! `sluice serve --metrics-addr`: the counters without a credential on an address of their own,
//! while the server's own `/metrics` stays for builders.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Replica, agent};

fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let mut request = ureq::http::Request::builder().method("GET").uri(url);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let mut response = agent().run(request.body(()).unwrap()).unwrap();
    (response.status().as_u16(), response.body_mut().read_to_string().unwrap_or_default())
}

#[test]
fn metrics_are_served_without_a_credential_only_on_their_own_address() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let metrics_addr = format!("127.0.0.1:{port}");
    let server = Replica::start_for("memory:", 0, &["--metrics-addr", &metrics_addr]);
    let (status, text) = get(&format!("http://{metrics_addr}/metrics"), None);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("# TYPE sluice_runs_total counter"), "{text}");
    assert_eq!(get(&format!("http://{metrics_addr}/api/components"), None).0, 404, "nothing else there");
    assert_eq!(get(&format!("{}/metrics", server.base), None).0, 401, "the main address asks for a builder");
    assert_eq!(get(&format!("{}/metrics", server.base), Some(common::TOKEN)).0, 200);
}
