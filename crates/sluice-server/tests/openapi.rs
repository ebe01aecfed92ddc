//! The OpenAPI document against the server it describes: Schemathesis (`st`) generates
//! requests from the document, valid and invalid, sends them to a real server over a socket,
//! and checks every answer: statuses documented, schema-valid requests accepted, invalid ones
//! refused, no server error, credentials required where the document says so.

mod common;

use std::process::Command;

use common::{ADMIN, Server};

#[test]
fn schemathesis_finds_nothing_against_the_openapi_document() {
    if !Command::new("st").arg("--version").output().is_ok_and(|o| o.status.success()) {
        sluice::testing::skip(
            "the OpenAPI conformance test",
            "schemathesis (st)",
            "pip install schemathesis; .ci/run installs it",
        );
        return;
    }
    // As `sluice serve --password-sessions` starts, with its body limit (the tests' other
    // servers take 64 KiB; generated components are larger).
    let server = Server::start_configured(sluice::Services::in_memory().unwrap(), |config| {
        config.password_sessions = true;
        config.body_limit = sluice_server::ServerConfig::default().body_limit;
    });
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/conformance/schemathesis.toml");
    let reports = tempfile::tempdir().unwrap();
    let run = Command::new("st")
        .args(["--config-file", config, "run", &format!("{}/api/openapi.json", server.base)])
        .args(["--checks", "all", "--max-examples", "5", "--seed", "20261204", "--no-color"])
        .args(["-H", &format!("Authorization: Bearer {ADMIN}")])
        // Schemathesis keeps its cassettes and its hypothesis database in the working folder.
        .current_dir(reports.path())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "schemathesis found problems:\n{out}\n{}", String::from_utf8_lossy(&run.stderr));
    // Every operation it read was tested.
    let count = |label: &str| out.lines().find_map(|l| l.trim().strip_prefix(label)).map(str::to_owned);
    let (selected, tested) = (count("Selected: ").unwrap_or_default(), count("Tested: ").unwrap_or_default());
    assert!(
        out.contains(" passed") && selected == format!("{tested}/{tested}"),
        "not every operation was tested:\n{out}"
    );
}
