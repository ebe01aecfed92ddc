//! Sign-in and codes tried as an attacker would, over a real socket, against the shipped
//! `examples/email-2fa` component (and the ForTestCode scenario beside it), on SQLite and on
//! PostgreSQL (when `SLUICE_TEST_POSTGRES` is set): a password alone opens no session, naming
//! other clients buys no more guesses and no more codes, a code of one component opens nothing
//! in another, no caller but a builder sets a system field such as `_user`, a cross-site form or
//! `text/plain` post runs nothing, answers carry the browser protections, and the metrics are
//! for builders.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ADMIN, Answer, Server};
use std::num::NonZeroU32;

use serde_json::{Value, json};
use sluice::store::Role;
use sluice_store_postgres::testing::TestSchema;

const EMAIL: &str = include_str!("../../../examples/email-2fa/component.json");
const FOR_TEST_CODE: &str = include_str!("../../../examples/for-test-code/component.json");
const PASSWORD: &str = "correct horse battery staple";
/// Sessions a test opens by hand: an hour, no idle timeout.
const HOUR_SESSION: sluice::sessions::SessionRules =
    sluice::sessions::SessionRules { lifetime: 3_600_000, idle_timeout: 0 };

/// Where a test server keeps its state.
enum Place {
    Sqlite(tempfile::TempDir),
    Postgres(TestSchema),
}

impl Place {
    /// Everything stored, as text: the bytes of the SQLite file, its WAL and key file, or every
    /// PostgreSQL row.
    fn stored(&self) -> String {
        match self {
            Place::Sqlite(dir) => {
                let bytes: Vec<u8> = std::fs::read_dir(dir.path())
                    .unwrap()
                    .flat_map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
                    .collect();
                String::from_utf8_lossy(&bytes).into_owned()
            }
            Place::Postgres(schema) => schema.dump().unwrap(),
        }
    }

    /// Every row of every table but the in-app inbox (`messages`, where a mailed code stays for
    /// its reader by design), one line each.
    fn rows_outside_the_inbox(&self) -> Vec<String> {
        match self {
            Place::Sqlite(dir) => {
                let db = rusqlite::Connection::open(dir.path().join("sluice.db")).unwrap();
                let tables: Vec<String> = db
                    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'messages'")
                    .unwrap()
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                let mut rows = Vec::new();
                for table in tables {
                    let mut select = db.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
                    let columns = select.column_count();
                    let mut found = select.query([]).unwrap();
                    while let Some(row) = found.next().unwrap() {
                        let values: Vec<String> = (0..columns)
                            .map(|i| match row.get_ref(i).unwrap() {
                                rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                                    String::from_utf8_lossy(t).into_owned()
                                }
                                other => format!("{other:?}"),
                            })
                            .collect();
                        rows.push(format!("{table}: {}", values.join(" | ")));
                    }
                }
                rows
            }
            Place::Postgres(schema) => {
                schema.dump().unwrap().lines().filter(|l| !l.starts_with("messages: ")).map(str::to_owned).collect()
            }
        }
    }
}

/// A server on a store of `kind` ("sqlite" or "postgres") with both components saved; `None`
/// (after a line cargo shows) when PostgreSQL is asked for and not configured.
fn server(kind: &str, test: &str) -> Option<(Server, Place)> {
    server_with(kind, test, |_| {})
}

/// Like [`server`], configured further by `configure`.
fn server_with(
    kind: &str,
    test: &str,
    configure: impl FnOnce(&mut sluice_server::ServerConfig),
) -> Option<(Server, Place)> {
    // Every server of this process logs into one place, read by the secrecy test.
    sluice::testing::global_logs();
    let place = match kind {
        "sqlite" => Place::Sqlite(tempfile::tempdir().unwrap()),
        _ => Place::Postgres(TestSchema::new(test)?),
    };
    let url = match &place {
        Place::Sqlite(dir) => format!("sqlite:{}", dir.path().join("sluice.db").display()),
        Place::Postgres(schema) => schema.url(),
    };
    let secrets =
        sluice::setup::Secrets { current: Some("attack-test-secret-0123456789abcdef".into()), previous: vec![] };
    let server = Server::start_configured(sluice::setup::open(&url, &secrets).unwrap(), configure);
    for (name, file) in [("EmailTwoFactor", EMAIL), ("ForTestCodeDemo", FOR_TEST_CODE)] {
        let saved = server.admin("PUT", &format!("/api/components/{name}"), Some(file));
        assert_eq!(saved.status, 200, "{}", saved.text);
    }
    Some((server, place))
}

/// Runs `dataflow` of `component` on `data`, with these headers.
fn run(server: &Server, component: &str, dataflow: &str, data: Value, headers: &[(&str, &str)]) -> Answer {
    let headers: Vec<(String, String)> = headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let path = format!("/api/components/{component}/dataflows/{dataflow}/execute");
    server.send("POST", &path, &headers, Some(json!({ "data": data }).to_string().as_bytes()))
}

/// The public Login of the e-mail two-factor component, anonymous, naming `client`.
fn login(server: &Server, password: &str, client: &str) -> Answer {
    run(
        server,
        "EmailTwoFactor",
        "Login",
        json!({"UserName": "ann", "Password": password}),
        &[("x-sluice-client", client)],
    )
}

/// The challenge id a successful Login answered with.
fn challenge_of(login: &Answer) -> String {
    login.body["response"][0]["_otpChallenge"]
        .as_str()
        .unwrap_or_else(|| panic!("no challenge: {}", login.text))
        .to_owned()
}

/// The public Verify of `code` for `challenge`, anonymous, naming `client`.
fn verify(server: &Server, code: &str, challenge: &str, client: &str) -> Answer {
    let data = json!({"UserName": "ann", "Code": code, "Challenge": challenge});
    run(server, "EmailTwoFactor", "Verify", data, &[("x-sluice-client", client)])
}

/// The codes in ann's in-app inbox, newest first.
fn inbox(server: &Server) -> Vec<String> {
    let ann = server.services.store.find_user("ann").unwrap().unwrap();
    let messages = server.services.store.list_messages(Some(&ann.id), None, 100).unwrap();
    let code = |body: &str| body.split(|c: char| !c.is_ascii_digit()).find(|r| r.len() == 6).unwrap_or("").to_owned();
    messages.iter().map(|m| code(&m.body)).collect()
}

fn wrong(code: &str) -> String {
    code.bytes().map(|b| char::from(b'0' + (b - b'0' + 1) % 10)).collect()
}

/// Signs ann in for real (password, then the mailed code): her session token.
fn signed_in(server: &Server) -> String {
    let logged_in = login(server, PASSWORD, "web");
    assert_eq!(logged_in.status, 200, "{}", logged_in.text);
    let verified = verify(server, &inbox(server)[0], &challenge_of(&logged_in), "web");
    verified.body["response"][0]["_session"]["token"].as_str().unwrap().to_owned()
}

fn a_password_alone_opens_no_session(server: &Server, _: &Place) {
    let answer = server.sign_in("ann", PASSWORD);
    assert_eq!(answer.status, 403, "{}", answer.text);
    assert!(answer.body.get("token").is_none());
    let message = answer.body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("password-only sessions are off"), "{message}");
}

fn naming_other_clients_buys_no_more_codes_or_code_guesses(server: &Server, _: &Place) {
    // 25 logins within a second, each naming another client: one code reaches the inbox.
    let first = login(server, PASSWORD, "client-0");
    assert_eq!(first.status, 200);
    let challenge = challenge_of(&first);
    for n in 1..25 {
        let again = login(server, PASSWORD, &format!("client-{n}"));
        assert_eq!(again.status, 422, "login {n}: {}", again.text);
    }
    let codes = inbox(server);
    assert_eq!(codes.len(), 1, "{codes:?}");
    // 25 wrong codes, each naming another client, then the right one: refused, no session.
    for n in 0..25 {
        let guess = verify(server, &wrong(&codes[0]), &challenge, &format!("client-{n}"));
        assert_eq!(guess.status, 422, "guess {n}: {}", guess.text);
    }
    let right = verify(server, &codes[0], &challenge, "client-0");
    assert_eq!(right.status, 422, "after 25 failures the right code is refused: {}", right.text);
    assert!(!right.text.contains("token"));
}

fn naming_other_clients_buys_no_more_password_guesses(server: &Server, _: &Place) {
    for n in 0..11 {
        assert_eq!(login(server, "not the password", &format!("client-{n}")).status, 422);
    }
    let locked = login(server, PASSWORD, "yet-another-client");
    assert_eq!(locked.status, 422, "the 12th try, with the right password: {}", locked.text);
    assert_eq!(locked.body["error"]["message"], "invalid user name or password");
    assert!(inbox(server).is_empty(), "no code was sent");
}

fn a_code_of_one_component_opens_nothing_in_another(server: &Server, _: &Place) {
    // Ann signs in for real and gets a ForTestCode code, shown in the modal (for client "workplace").
    let token = signed_in(server);
    let shown = run(server, "ForTestCodeDemo", "GetCode", json!({}), &[("authorization", &format!("Bearer {token}"))]);
    assert_eq!(shown.status, 200, "{}", shown.text);
    let code = shown.body["formActions"][0]["parameters"]["ForTestCode"].as_str().unwrap().to_owned();
    // That code opens no session in EmailTwoFactor: not anonymously naming its client, and
    // not even for a builder who runs Verify as that client (the purposes differ).
    let anonymous = verify(server, &code, "", "workplace");
    assert_eq!(anonymous.status, 422, "{}", anonymous.text);
    let builder = [("authorization", format!("Bearer {ADMIN}")), ("x-sluice-client", "workplace".to_owned())];
    let builder: Vec<(&str, &str)> = builder.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let as_builder = run(server, "EmailTwoFactor", "Verify", json!({"UserName": "ann", "Code": code}), &builder);
    assert_eq!(as_builder.status, 422, "{}", as_builder.text);
    assert!(!as_builder.text.contains("_session"));
    let run_id = as_builder.body["runId"].as_str().unwrap();
    let trace = server.admin("GET", &format!("/api/runs/{run_id}"), None).text;
    assert!(trace.contains("code refused: the code was issued for another purpose"), "{trace}");
}

fn a_code_confirms_only_with_the_challenge_it_was_issued_with(server: &Server, _: &Place) {
    let logged_in = login(server, PASSWORD, "web");
    assert_eq!(logged_in.status, 200);
    let (code, challenge) = (inbox(server)[0].clone(), challenge_of(&logged_in));
    // The right code, but for no challenge or another one (a caller who learnt a code without
    // its Login, say): refused as a wrong code.
    for other in ["", "00000000-0000-4000-8000-000000000000"] {
        let refused = verify(server, &code, other, "web");
        assert_eq!(refused.status, 422, "challenge {other:?}: {}", refused.text);
        assert_eq!(refused.body["error"]["message"], "invalid or expired code");
        let record = server.admin("GET", &format!("/api/runs/{}", refused.body["runId"].as_str().unwrap()), None);
        assert!(record.text.contains("the challenge names no live code of this user"), "{}", record.text);
    }
    let confirmed = verify(server, &code, &challenge, "web");
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
}

/// On a server that also opens password-only sessions: such a session runs `signedIn`
/// dataflows but not `twoFactor` ones; a session from Login and Verify runs both and says how it
/// was earned.
fn two_factor_dataflows_need_both_factors(kind: &str) {
    let test = format!("two_factor_dataflows_{kind}");
    let Some((server, _place)) = server_with(kind, &test, |c| c.password_sessions = true) else { return };
    let bearer = |token: &str| format!("Bearer {token}");
    let password_only = server.sign_in("ann", PASSWORD);
    assert_eq!(password_only.status, 200, "{}", password_only.text);
    let weak = password_only.body["token"].as_str().unwrap().to_owned();
    let who = server.call("GET", "/api/session", Some(&weak), None).body;
    assert_eq!((who["methods"][0]["method"].clone(), who["twoFactor"].clone()), (json!("pwd"), json!(false)));
    let refused = run(&server, "EmailTwoFactor", "Profile", json!({}), &[("authorization", &bearer(&weak))]);
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(refused.text.contains("a password and a one-time code"), "{}", refused.text);
    let signed = run(&server, "ForTestCodeDemo", "GetCode", json!({}), &[("authorization", &bearer(&weak))]);
    assert_eq!(signed.status, 200, "a signedIn dataflow takes any session: {}", signed.text);

    let strong = signed_in(&server);
    let who = server.call("GET", "/api/session", Some(&strong), None).body;
    let methods: Vec<&str> = who["methods"].as_array().unwrap().iter().map(|m| m["method"].as_str().unwrap()).collect();
    assert_eq!((methods, who["twoFactor"].clone()), (vec!["pwd", "otp"], json!(true)), "{who}");
    assert_eq!(who["idleTimeoutSeconds"], 1800);
    let profile = run(&server, "EmailTwoFactor", "Profile", json!({}), &[("authorization", &bearer(&strong))]);
    assert_eq!(profile.status, 200, "{}", profile.text);
    assert_eq!(profile.body["response"][0]["_user"]["userName"], "ann");
}

#[test]
fn two_factor_dataflows_need_both_factors_on_sqlite() {
    two_factor_dataflows_need_both_factors("sqlite");
}

#[test]
fn two_factor_dataflows_need_both_factors_on_postgresql() {
    two_factor_dataflows_need_both_factors("postgres");
}

/// A dataflow with `"access": {"roles": ["manager"]}` admits a builder, and a user only while
/// they hold the role in the `system` context or the component's own, not another's.
fn role_dataflows_admit_only_holders_of_a_role(kind: &str) {
    let test = format!("role_dataflows_{kind}");
    let Some((server, _place)) = server_with(kind, &test, |c| c.password_sessions = true) else { return };
    let component = json!({
        "name": "Managers",
        "dataflows": [{"name": "Report", "access": {"roles": ["manager", "auditor"]}, "stages": [{"name": "s", "steps": [
            {"name": "In", "type": "get_action_model"},
            {"name": "Out", "type": "write_response", "source": "In"}
        ]}]}]
    });
    let saved = server.admin("PUT", "/api/components/Managers", Some(&component.to_string()));
    assert_eq!(saved.status, 200, "{}", saved.text);
    let token = server.sign_in("ann", PASSWORD).body["token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {token}");
    let report = || run(&server, "Managers", "Report", json!({}), &[("authorization", &bearer)]);
    let refused = report();
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(refused.text.contains("needs a role you do not hold"), "{}", refused.text);
    let store = &server.services.store;
    let ann = store.find_user("ann").unwrap().unwrap();
    store.grant_roles(&ann.id, &[Role::new("Cars", "manager"), Role::new("system", "seller")]).unwrap();
    assert_eq!(report().status, 403, "a manager of another component, a seller everywhere");
    store.grant_roles(&ann.id, &[Role::new("Managers", "auditor")]).unwrap();
    assert_eq!(report().status, 200, "an auditor of this component");
    store.revoke_roles(&ann.id, None).unwrap();
    assert_eq!(report().status, 403, "roles taken away count at the next request");
    store.grant_roles(&ann.id, &[Role::new("system", "manager")]).unwrap();
    assert_eq!(report().status, 200, "a manager everywhere");
    assert_eq!(run(&server, "Managers", "Report", json!({}), &[]).status, 401, "no credential");
    let builder = format!("Bearer {ADMIN}");
    assert_eq!(run(&server, "Managers", "Report", json!({}), &[("authorization", &builder)]).status, 200);
}

#[test]
fn role_dataflows_admit_only_holders_of_a_role_on_sqlite() {
    role_dataflows_admit_only_holders_of_a_role("sqlite");
}

#[test]
fn role_dataflows_admit_only_holders_of_a_role_on_postgresql() {
    role_dataflows_admit_only_holders_of_a_role("postgres");
}

/// Password sign-ins from one address, wrong each time, with a `X-Forwarded-For` of the
/// caller's choosing.
fn guesses(server: &Server, n: usize, forwarded_for: &str) -> Vec<Answer> {
    let body = json!({"userName": "ann", "password": "not the password"}).to_string();
    let headers = [("x-forwarded-for".to_owned(), forwarded_for.to_owned())];
    (0..n).map(|_| server.send("POST", "/api/session", &headers, Some(body.as_bytes()))).collect()
}

fn statuses(answers: &[Answer]) -> Vec<u16> {
    answers.iter().map(|a| a.status).collect()
}

/// A limit of 5 password checks per address (then one a minute): the 6th gets 429 with
/// `Retry-After`, whatever `X-Forwarded-For` says, and costs nothing (no Argon2 work, no
/// failure counted against the user).
fn the_limits_count_per_address_whatever_the_caller_claims(kind: &str) {
    let test = format!("limits_per_address_{kind}");
    let limits = |trusted: Vec<ipnet::IpNet>| sluice_server::LimitConfig {
        per_address_per_second: NonZeroU32::MIN,
        per_address_burst: NonZeroU32::new(5).unwrap(),
        trusted_proxies: trusted,
        ..Default::default()
    };
    let Some((server, _place)) = server_with(kind, &test, |c| {
        c.password_sessions = true;
        c.limits = limits(Vec::new());
    }) else {
        return;
    };
    assert_eq!(statuses(&guesses(&server, 5, "198.51.100.1")), [401; 5]);
    // Naming other addresses in X-Forwarded-For buys nothing from a peer that is no trusted proxy.
    let refused = guesses(&server, 20, "198.51.100.2");
    assert_eq!(statuses(&refused), [429; 20]);
    let retry_after: u64 = refused[0].headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "Retry-After: {retry_after}");
    assert!(refused[0].body["error"]["message"].as_str().unwrap().starts_with("too many requests"));
    // Public dataflows run anonymously count too; a builder's requests do not.
    let anonymous = run(&server, "EmailTwoFactor", "Login", json!({"UserName": "ann", "Password": "x"}), &[]);
    assert_eq!(anonymous.status, 429, "{}", anonymous.text);
    assert_eq!(server.admin("GET", "/api/runs?limit=1", None).status, 200);
    let builder = [("authorization", format!("Bearer {ADMIN}"))];
    let builder: Vec<(&str, &str)> = builder.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        run(&server, "EmailTwoFactor", "Login", json!({"UserName": "ann", "Password": "x"}), &builder).status,
        422
    );
    // The 21 refused tries were never checked: 5 failures, not 26, so ann is not locked (more
    // than 10 lock her) and signs in from another address.
    let elsewhere = Server::start_configured(server.services.clone(), |c| c.password_sessions = true);
    assert_eq!(elsewhere.sign_in("ann", PASSWORD).status, 200, "ann was locked by refused tries");

    // Behind a trusted proxy, each forwarded address has its own allowance.
    let Some((proxied, _place)) = server_with(kind, &format!("{test}_proxied"), |c| {
        c.password_sessions = true;
        c.limits = limits(vec!["127.0.0.1/32".parse().unwrap()]);
    }) else {
        return;
    };
    assert_eq!(statuses(&guesses(&proxied, 6, "203.0.113.7")), [401, 401, 401, 401, 401, 429]);
    assert_eq!(statuses(&guesses(&proxied, 1, "203.0.113.8")), [401], "another client of the proxy");
    // The last hop the proxy appended is the client; what the client wrote before it is not.
    assert_eq!(statuses(&guesses(&proxied, 1, "192.0.2.1, 203.0.113.7")), [429]);
}

#[test]
fn the_limits_count_per_address_whatever_the_caller_claims_on_sqlite() {
    the_limits_count_per_address_whatever_the_caller_claims("sqlite");
}

#[test]
fn the_limits_count_per_address_whatever_the_caller_claims_on_postgresql() {
    the_limits_count_per_address_whatever_the_caller_claims("postgres");
}

fn a_lock_only_a_builder_lifts(server: &Server, _: &Place) {
    // As 100 failures in a row leave ann (the rule is store::*::failures_in_a_row_lock_until_a_builder_unlocks).
    let store = &server.services.store;
    let ann = store.find_user("ann").unwrap().unwrap();
    store.lock(&ann.id, sluice::passwords::LOGIN_SCOPE, i64::MAX).unwrap();
    assert_eq!(login(server, PASSWORD, "web").body["error"]["message"], "invalid user name or password");
    // An end user's session (a lock stops sign-ins, not the sessions already open).
    let token = sluice::sessions::open_session(&server.services, &ann.id, "web", Vec::new(), HOUR_SESSION).unwrap().0;
    assert_eq!(server.call("POST", "/api/users/ann/unlock", None, None).status, 401);
    assert_eq!(server.call("POST", "/api/users/ann/unlock", Some(&token), None).status, 403, "an end user");
    assert_eq!(server.admin("POST", "/api/users/nobody/unlock", None).status, 404);
    assert_eq!(server.admin("POST", "/api/users/ann/unlock", None).status, 204);
    assert_eq!(login(server, PASSWORD, "web").status, 200, "unlocked");
}

fn replays_have_no_side_effects_unless_asked(server: &Server, _: &Place) {
    let store = &server.services.store;
    let ann = store.find_user("ann").unwrap().unwrap();
    let token = signed_in(server);
    let bearer = format!("Bearer {token}");
    let as_ann = [("authorization", bearer.as_str())];
    let shown = run(server, "ForTestCodeDemo", "GetCode", json!({}), &as_ann);
    assert_eq!(shown.status, 200, "{}", shown.text);
    let code = shown.body["formActions"][0]["parameters"]["ForTestCode"].as_str().unwrap().to_owned();
    let runs = server.admin("GET", "/api/runs?limit=100", None).body;
    let id_of = |dataflow: &str| {
        let run = runs.as_array().unwrap().iter().find(|r| r["dataflow"] == dataflow).unwrap();
        run["id"].as_str().unwrap().to_owned()
    };
    let (get_code, login_run, verify) = (id_of("GetCode"), id_of("Login"), id_of("Verify"));
    let entries = || store.list_entries("ForTestCodeDemo").unwrap().len();
    let newest_code = || store.newest_code(&ann.id).unwrap().unwrap().id;
    let (entries_before, inbox_before, sessions_before, code_before) =
        (entries(), inbox(server).len(), store.list_sessions(&ann.id, i64::MAX / 2).unwrap().len(), newest_code());
    let replay = |id: &str, query: &str| server.admin("POST", &format!("/api/runs/{id}/replay{query}"), None);
    // The code step makes a code it does not store, the entry is not written, and each says so.
    let dry = replay(&get_code, "");
    assert_eq!((dry.status, dry.body["dryRun"].clone()), (200, json!(true)), "{}", dry.text);
    // Login's recorded password is redacted: its replays fail, and count no failure (12 would
    // lock ann); Verify's replay opens no session.
    for _ in 0..12 {
        assert_eq!(replay(&login_run, "").body["status"], "failed");
    }
    let verified = replay(&verify, "");
    assert_eq!(verified.body["status"], "ok", "{}", verified.text);
    assert_eq!(verified.body["replayed"]["response"][0]["_session"]["token"], "[redacted]");
    assert_eq!(
        (entries(), inbox(server).len(), store.list_sessions(&ann.id, i64::MAX / 2).unwrap().len(), newest_code()),
        (entries_before, inbox_before, sessions_before, code_before),
        "a dry run wrote an entry, sent a mail, opened a session or issued a code"
    );
    let trace = server.admin("GET", "/api/runs?limit=1", None).body;
    let last = server.admin("GET", &format!("/api/runs/{}", trace[0]["id"].as_str().unwrap()), None).text;
    assert!(last.contains("dry run: no session was opened"), "{last}");
    // The code shown before the dry runs is still ann's live code, and ann is not locked.
    let confirmed = run(server, "ForTestCodeDemo", "ConfirmCode", json!({"ForTestCode": code}), &as_ann);
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    assert_eq!(login(server, PASSWORD, "web").status, 422, "too soon for a new code, but not locked");
    assert!(!login(server, PASSWORD, "web").text.contains("invalid user name or password"));
    // Asked for, the effects happen.
    assert_eq!(replay(&get_code, "?effects=maybe").status, 400);
    let real = replay(&get_code, "?effects=true");
    assert_eq!((real.status, real.body["dryRun"].clone()), (200, json!(false)), "{}", real.text);
    // For real, the code step meets the resend cooldown that the dry run never touched.
    let refused = real.body["replayed"]["error"]["message"].as_str().unwrap_or_default();
    assert!(refused.starts_with("too many codes were requested for this user"), "{}", real.text);
}

fn system_fields_come_only_from_the_server(server: &Server, _: &Place) {
    let token = signed_in(server);
    let bearer = format!("Bearer {token}");
    let forged = server.send(
        "POST",
        "/api/components/ForTestCodeDemo/dataflows/GetCode/execute",
        &[("authorization".into(), bearer)],
        Some(br#"{"data": {}, "_user": {"userName": "kim", "id": "kim"}}"#),
    );
    assert_eq!(forged.status, 422, "{}", forged.text);
    assert_eq!(
        forged.body["error"]["message"],
        "the action model sets the system field \"_user\": only the server and the steps set fields starting with \"_\"; remove it"
    );
    let anonymous = run(server, "EmailTwoFactor", "Login", json!({"UserName": "ann"}), &[]);
    assert_eq!(anonymous.status, 422);
    let with_system_field = server.send(
        "POST",
        "/api/components/EmailTwoFactor/dataflows/Login/execute",
        &[],
        Some(br#"{"data": {"UserName": "ann", "Password": "x"}, "_session": {}}"#),
    );
    assert_eq!(with_system_field.status, 422);
    assert!(with_system_field.text.contains("\\\"_session\\\""), "{}", with_system_field.text);
    // A builder trying a flow may set them.
    let builder = server.admin(
        "POST",
        "/api/components/ForTestCodeDemo/dataflows/ConfirmCode/execute",
        Some(r#"{"data": {"ForTestCode": "000000"}, "_note": "builder"}"#),
    );
    assert!(!builder.text.contains("system field"), "{}", builder.text);
}

fn a_cross_site_text_post_runs_nothing(server: &Server, _: &Place) {
    // What a page on another site can make a browser send without asking first.
    let login = br#"{"data": {"UserName": "ann", "Password": "correct horse battery staple"}}"#;
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
        let answer = server.send(
            "POST",
            "/api/components/EmailTwoFactor/dataflows/Login/execute",
            &[("content-type".into(), content_type.into()), ("origin".into(), "https://evil.example".into())],
            Some(login),
        );
        assert_eq!(answer.status, 415, "{content_type}: {}", answer.text);
        let essence = content_type.split(';').next().unwrap();
        assert_eq!(
            answer.body["error"]["message"],
            format!("the body must be JSON, sent with Content-Type: application/json (it was \"{essence}\")")
        );
    }
    assert!(inbox(server).is_empty(), "no login ran, no code was sent");
    assert_eq!(server.admin("GET", "/api/runs", None).body, json!([]), "no run was recorded");
}

fn answers_carry_the_browser_protections(server: &Server, _: &Place) {
    let token = format!("Bearer {ADMIN}");
    for (path, api) in [("/", false), ("/app.js", false), ("/api/components", true), ("/api/nope", true)] {
        let answer = server.send("GET", path, &[("authorization".into(), token.clone())], None);
        let header = |name: &str| answer.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert_eq!(
            header("content-security-policy"),
            "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            "{path}"
        );
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "no-referrer", "{path}");
        assert_eq!(header("cache-control"), if api { "no-store" } else { "" }, "{path}");
    }
    // The page keeps to that policy: no inline script, style or handler.
    let page = server.call("GET", "/", None, None).text;
    // An inline handler is an attribute ` on<event>=`.
    let handler = page.split(" on").skip(1).any(|rest| {
        rest.split_once('=')
            .is_some_and(|(event, _)| !event.is_empty() && event.chars().all(|c| c.is_ascii_lowercase()))
    });
    assert!(!page.contains("<style") && !handler && !page.contains("<script>"), "{page}");
    assert_eq!(server.call("GET", "/app.css", None, None).status, 200);
}

fn metrics_are_for_builders(server: &Server, _: &Place) {
    assert_eq!(server.call("GET", "/metrics", None, None).status, 401);
    let token = signed_in(server);
    assert_eq!(server.call("GET", "/metrics", Some(&token), None).status, 403);
    let metrics = server.admin("GET", "/metrics", None);
    assert_eq!(metrics.status, 200);
    assert!(metrics.text.contains("sluice_runs_total"), "{}", metrics.text);
    // What the steps counted: one password login, one code issued and confirmed.
    for line in [
        "sluice_password_logins_total{outcome=\"accepted\"} 1",
        "sluice_password_logins_total{outcome=\"refused\"} 0",
        "sluice_one_time_codes_total{outcome=\"issued\"} 1",
        "sluice_one_time_codes_total{outcome=\"confirmed\"} 1",
    ] {
        assert!(metrics.text.lines().any(|l| l == line), "{line} is missing:\n{}", metrics.text);
    }
}

fn no_token_password_or_typed_code_is_kept(server: &Server, place: &Place) {
    let logged_in = login(server, PASSWORD, "web");
    assert_eq!(logged_in.status, 200);
    let code = inbox(server)[0].clone();
    let verified = verify(server, &code, &challenge_of(&logged_in), "web");
    assert_eq!(verified.status, 200, "{}", verified.text);
    let token = verified.body["response"][0]["_session"]["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 64, "the caller gets its token");
    assert_eq!(server.call("GET", "/api/session", Some(&token), None).status, 200, "and uses it");
    // What a builder can read of the runs, and what the store holds.
    let listed = server.admin("GET", "/api/runs?limit=100", None);
    let mut seen = vec![listed.text.clone()];
    for run in listed.body.as_array().unwrap() {
        let id = run["id"].as_str().unwrap();
        let record = server.admin("GET", &format!("/api/runs/{id}"), None);
        assert_eq!(record.status, 200);
        seen.push(record.text);
        seen.push(server.admin("POST", &format!("/api/runs/{id}/replay"), None).text);
    }
    assert!(seen.iter().any(|t| t.contains("[redacted]")), "the records were read");
    for text in &seen {
        for (what, secret) in
            [("the session token", token.as_str()), ("the password", PASSWORD), ("the typed code", &code)]
        {
            assert!(!text.contains(secret), "{what} was kept: {text}");
        }
    }
    let stored = place.stored();
    assert!(!stored.contains(&token) && !stored.contains(PASSWORD), "the store holds the token or the password");
    // The logs of every server of this process (at every level), read after the sign-in was
    // logged: they name what happened, never the secrets.
    let logs = sluice::testing::global_logs().text();
    assert!(logs.contains("one-time code confirmed") && logs.contains("login accepted"), "nothing was logged");
    for (what, secret) in [("the session token", token.as_str()), ("the password", PASSWORD)] {
        assert!(!logs.contains(secret), "{what} was logged");
    }
    // Six digits occur inside timestamps and ids: the code counts only standing alone.
    let alone = logs.match_indices(&code).any(|(at, _)| {
        let before = logs[..at].chars().next_back().is_none_or(|c| !c.is_ascii_alphanumeric());
        let after = logs[at + code.len()..].chars().next().is_none_or(|c| !c.is_ascii_alphanumeric());
        before && after
    });
    assert!(!alone, "the typed code was logged");
    for row in place.rows_outside_the_inbox() {
        assert!(!row.contains(&code), "the typed code was kept: {row}");
    }
}

fn signing_out_ends_the_session(server: &Server, _: &Place) {
    let token = signed_in(server);
    let who = server.call("GET", "/api/session", Some(&token), None);
    assert_eq!(
        (who.status, who.body["userName"].as_str(), who.body["client"].as_str()),
        (200, Some("ann"), Some("web"))
    );
    assert!(who.body["expiresAt"].is_string(), "{}", who.text);
    assert_eq!(server.admin("GET", "/api/session", None).body, json!({"builder": true, "name": "builder"}));
    assert_eq!(server.admin("DELETE", "/api/session", None).status, 409, "a builder token is no session");
    assert_eq!(server.call("DELETE", "/api/session", Some(&token), None).status, 204);
    assert_eq!(server.call("GET", "/api/session", Some(&token), None).status, 401);
    assert_eq!(server.call("GET", "/api/components", Some(&token), None).status, 401);
    assert_eq!(server.call("DELETE", "/api/session", Some(&token), None).status, 401, "signed out already");
}

fn deactivating_a_user_or_changing_the_password_ends_their_sessions(server: &Server, _: &Place) {
    let store = server.services.store.as_ref();
    // What `sluice users import` does with a users file.
    let import = |file: &str| sluice::users::import(store, file, &sluice::users::parse_users(file).unwrap()).unwrap();
    let same = format!(r#"[{{"userName": "ann", "email": "ann@example.com", "password": "{PASSWORD}"}}]"#);
    let token = signed_in(server);
    let works = |token: &str| server.call("GET", "/api/components", Some(token), None).status;
    assert_eq!(import(&same).sessions_ended, 0, "the same password again ends nothing");
    assert_eq!(works(&token), 200);
    // Deactivated: the session stops at once (and is ended).
    let inactive = same.replace(r#""password""#, r#""active": false, "password""#);
    assert_eq!(import(&inactive).sessions_ended, 1);
    assert_eq!(works(&token), 401);
    import(&same);
    // A new session (as Verify opens one; the e-mail login waits out its resend cooldown).
    let ann = store.find_user("ann").unwrap().unwrap();
    let (token, _) =
        sluice::sessions::open_session(&server.services, &ann.id, "web", Vec::new(), HOUR_SESSION).unwrap();
    assert_eq!(works(&token), 200);
    // Another password: every session of the user ends.
    assert_eq!(import(&same.replace(PASSWORD, "a brand new passphrase")).sessions_ended, 1);
    assert_eq!(works(&token), 401);
}

fn strangers_learn_nothing_from_a_failing_step(server: &Server, _: &Place) {
    // A second login within the resend cooldown (the code step fails with "try again in 30 s"):
    // anonymous callers get a message fit for anyone, and the run id.
    assert_eq!(login(server, PASSWORD, "web").status, 200);
    let too_soon = login(server, PASSWORD, "web");
    assert_eq!(too_soon.status, 422);
    assert_eq!(too_soon.body["error"], json!({"message": "the request could not be completed"}), "{}", too_soon.text);
    assert!(too_soon.body["runId"].is_string());
    // An unknown user at Verify is told what a known one with a wrong code is told.
    let unknown = run(server, "EmailTwoFactor", "Verify", json!({"UserName": "nobody", "Code": "123456"}), &[]);
    let wrong_code = run(server, "EmailTwoFactor", "Verify", json!({"UserName": "ann", "Code": "000000"}), &[]);
    assert_eq!((unknown.status, &unknown.body["error"]), (422, &json!({"message": "invalid or expired code"})));
    assert_eq!(unknown.body["error"], wrong_code.body["error"]);
    // The detail is in the run record, for builders.
    let id = too_soon.body["runId"].as_str().unwrap();
    let record = server.admin("GET", &format!("/api/runs/{id}"), None);
    assert!(record.body["message"].as_str().unwrap().contains("try again in"), "{}", record.text);
    // What a mistyped password or code says is the same for anyone.
    let wrong = login(server, "not the password", "web");
    assert_eq!(wrong.body["error"], json!({"message": "invalid user name or password"}));
}

/// Each attack on a fresh server, on every store.
macro_rules! on_every_store {
    ($($store:ident),*: $attacks:tt) => {
        $(on_every_store!(@store $store $attacks);)*
    };
    (@store $store:ident [$($attack:ident),* $(,)?]) => {
        mod $store {
            $(
                #[test]
                fn $attack() {
                    if let Some((server, place)) = super::server(stringify!($store), stringify!($attack)) {
                        super::$attack(&server, &place);
                    }
                }
            )*
        }
    };
}

on_every_store!(sqlite, postgres: [
    a_password_alone_opens_no_session,
    naming_other_clients_buys_no_more_codes_or_code_guesses,
    naming_other_clients_buys_no_more_password_guesses,
    a_code_of_one_component_opens_nothing_in_another,
    a_code_confirms_only_with_the_challenge_it_was_issued_with,
    system_fields_come_only_from_the_server,
    a_lock_only_a_builder_lifts,
    replays_have_no_side_effects_unless_asked,
    a_cross_site_text_post_runs_nothing,
    answers_carry_the_browser_protections,
    metrics_are_for_builders,
    no_token_password_or_typed_code_is_kept,
    signing_out_ends_the_session,
    deactivating_a_user_or_changing_the_password_ends_their_sessions,
    strangers_learn_nothing_from_a_failing_step,
]);

/// Eight anonymous logins with 2 MB user names (the server's default 10 MB body limit): each is
/// refused like any unknown user, and the store barely grows (it grew by 32 MB: the names went
/// into run inputs and failure rows).
fn huge_user_names_are_refused_and_kept_nowhere(kind: &str) {
    let default_body_limit = sluice_server::ServerConfig::default().body_limit;
    let test = format!("huge_user_names_{kind}");
    let Some((server, place)) = server_with(kind, &test, |c| c.body_limit = default_body_limit) else { return };
    let before = place.stored().len();
    for n in 0..8 {
        let name = format!("{n}{}", "x".repeat(2 << 20));
        let answer = run(&server, "EmailTwoFactor", "Login", json!({"UserName": name, "Password": "p"}), &[]);
        assert_eq!(answer.status, 422, "{}", &answer.text[..answer.text.len().min(300)]);
        assert_eq!(answer.body["error"]["message"], "invalid user name or password");
    }
    let grown = place.stored().len().saturating_sub(before);
    assert!(grown < 1 << 20, "the store grew by {grown} bytes");
    let runs = server.admin("GET", "/api/runs?limit=1", None).body;
    let id = runs[0]["id"].as_str().unwrap();
    let record = server.admin("GET", &format!("/api/runs/{id}"), None).body;
    assert_eq!(record["input"]["truncated"], true, "{}", record["input"]);
    assert!(record["input"]["bytes"].as_u64().unwrap() > 2 << 20);
}

#[test]
fn huge_user_names_are_refused_and_kept_nowhere_on_sqlite() {
    huge_user_names_are_refused_and_kept_nowhere("sqlite");
}

#[test]
fn huge_user_names_are_refused_and_kept_nowhere_on_postgresql() {
    huge_user_names_are_refused_and_kept_nowhere("postgres");
}
