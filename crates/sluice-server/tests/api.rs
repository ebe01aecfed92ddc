//! The HTTP API over a real socket: status codes, bodies, authentication, limits.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ADMIN, Server};
use serde_json::{Value, json};

const FOR_TEST_CODE: &str = include_str!("../../../examples/for-test-code/component.json");
const DEMO: &str = include_str!("../../../examples/for-test-code-demo/component.json");

#[test]
fn public_endpoints_answer_and_the_openapi_document_matches_the_routes() {
    let server = Server::start();
    assert_eq!(server.call("GET", "/healthz", None, None).body, json!({"status": "ok"}));
    let steps = server.call("GET", "/api/steps?lang=fr", None, None);
    let code = steps.body.as_array().unwrap().iter().find(|s| s["id"] == "get_one_time_code_for_user").unwrap();
    assert_eq!(code["title"], "Obtenir un code à usage unique pour l'utilisateur");
    let accept = [("accept-language".to_owned(), "de-DE,de;q=0.9,en;q=0.8".to_owned())];
    let german = server.send("GET", "/api/steps", &accept, None);
    assert_eq!(german.status, 200);
    assert_eq!(german.headers["content-type"], "application/json");
    // The answer depends on Accept-Language: a cache in between must keep one per language.
    assert_eq!(german.headers["vary"], "accept-language");
    // Written once per language at start: each is the engine's catalog in that language.
    let engine = sluice::Engine::new().unwrap();
    for (lang, answer) in [(sluice::Lang::De, &german), (sluice::Lang::Fr, &steps)] {
        assert_eq!(answer.body, serde_json::to_value(engine.catalog(lang)).unwrap(), "{lang:?}");
    }
    let english = server.call("GET", "/api/steps?lang=xx", None, None);
    assert_eq!(english.body, serde_json::to_value(engine.catalog(sluice::Lang::En)).unwrap());
    let page = server.call("GET", "/", None, None);
    assert!(page.text.contains("<title>Sluice</title>"));
    assert!(server.call("GET", "/app.js", None, None).text.contains("OpenModal"));
    assert_eq!(server.call("GET", "/no/such/route", None, None).status, 404);

    let document = server.call("GET", "/api/openapi.json", None, None).body;
    assert_eq!(document["openapi"], "3.1.0");
    // Request bodies in full: the component file's schema, its references inside the document.
    let put = &document["paths"]["/api/components/{name}"]["put"]["requestBody"];
    assert_eq!(put["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Component");
    let component = &document["components"]["schemas"]["Component"];
    assert_eq!(component["required"], json!(["name", "dataflows"]));
    assert_eq!(component["properties"]["dataflows"]["items"]["$ref"], "#/components/schemas/Dataflow");
    assert!(document["components"]["schemas"]["StepSpec"].is_object());
    let session = &document["paths"]["/api/session"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(session["required"], json!(["userName", "password"]));
    assert!(document["paths"]["/api/runs/{id}/replay"]["post"].get("requestBody").is_none(), "replay takes no body");
    let documented: Vec<(String, String)> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| ops.as_object().unwrap().keys().map(move |m| (m.to_uppercase(), path.clone())))
        .collect();
    // The document, not the route table it is written from, says what to try: every operation it
    // documents is served, and every method it leaves out of a path is refused there (405), so
    // the document and the router agree both ways on each path.
    let concrete = |path: &str| path.replace("{name}", "Missing").replace("{dataflow}", "F").replace("{id}", "missing");
    for (method, path) in &documented {
        // With a builder token, none is missing (404 with the fallback's message) or refuses the
        // method (405).
        let answer = server.admin(method, &concrete(path), matches!(method.as_str(), "POST" | "PUT").then_some("{}"));
        assert_ne!(answer.status, 405, "{method} {path}");
        assert!(!answer.text.contains("no such route"), "{method} {path}: {}", answer.text);
    }
    for path in document["paths"].as_object().unwrap().keys() {
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            if !documented.contains(&(method.to_owned(), path.clone())) {
                let answer = server.admin(method, &concrete(path), None);
                assert_eq!(answer.status, 405, "{method} {path} is served but not documented: {}", answer.text);
            }
        }
    }
}

/// Every route the document marks as needing a credential refuses a request without one
/// (401) or with a wrong one (401), and every route that documents 403 refuses an end user's
/// session: access is enforced from the route table, so a new route cannot forget it.
#[test]
fn every_route_is_guarded_as_the_route_table_says() {
    let server = Server::with_password_sessions();
    let user = server.sign_in("ann", "correct horse battery staple").body["token"].as_str().unwrap().to_owned();
    assert_eq!(server.admin("PUT", "/api/components/ForTestCodeDemo", Some(FOR_TEST_CODE)).status, 200);
    let document = server.call("GET", "/api/openapi.json", None, None).body;
    let mut guarded = 0;
    for (path, operations) in document["paths"].as_object().unwrap() {
        // An existing component and run, so that only the guard can refuse.
        let path = path.replace("{name}", "ForTestCodeDemo").replace("{dataflow}", "GetCode").replace("{id}", "r");
        for (method, operation) in operations.as_object().unwrap() {
            let method = method.to_uppercase();
            let body = matches!(method.as_str(), "POST" | "PUT").then_some(b"{}".as_slice());
            if operation.get("security").is_none() {
                continue;
            }
            guarded += 1;
            for token in [None, Some("wrong-token")] {
                let answer = server.call(&method, &path, token, body);
                assert_eq!(answer.status, 401, "{method} {path} with {token:?}: {}", answer.text);
            }
            if operation["responses"].get("403").is_some_and(|r| r["description"].as_str().unwrap().contains("builder"))
            {
                let answer = server.call(&method, &path, Some(&user), body);
                assert_eq!(answer.status, 403, "{method} {path} with an end user's session: {}", answer.text);
            }
        }
    }
    assert!(guarded >= 13, "{guarded} guarded operations");
}

#[test]
fn builder_endpoints_need_a_builder_token() {
    let server = Server::with_password_sessions();
    for (method, path) in
        [("POST", "/api/validate"), ("PUT", "/api/components/X"), ("GET", "/api/runs"), ("GET", "/api/components")]
    {
        let body = (method != "GET").then_some(b"{}".as_slice());
        assert_eq!(server.call(method, path, None, body).status, 401, "{method} {path} without a credential");
        assert_eq!(
            server.call(method, path, Some("wrong-token"), body).status,
            401,
            "{method} {path} with a wrong one"
        );
    }
    let session = server.sign_in("ann", "correct horse battery staple");
    assert_eq!(session.status, 200, "{}", session.text);
    let token = session.body["token"].as_str().unwrap().to_owned();
    assert_eq!(server.call("PUT", "/api/components/X", Some(&token), Some(b"{}")).status, 403);
    assert_eq!(server.call("GET", "/api/runs", Some(&token), None).status, 403);
    assert_eq!(server.call("GET", "/api/components", Some(&token), None).status, 200, "end users may list components");
}

#[test]
fn sign_in_answers_the_same_for_an_unknown_user_and_a_wrong_password() {
    let server = Server::with_password_sessions();
    let wrong = server.sign_in("ann", "nope");
    let unknown = server.sign_in("nobody", "nope");
    assert_eq!((wrong.status, unknown.status), (401, 401));
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.body["error"]["message"], "invalid user name or password");
    assert_eq!(server.call("POST", "/api/session", None, Some(b"{\"userName\": 1}")).status, 400);
    assert_eq!(server.call("POST", "/api/session", None, Some(b"not json")).status, 400);
}

#[test]
fn components_are_validated_versioned_read_and_deleted() {
    let server = Server::start();
    let invalid =
        server.admin("POST", "/api/validate", Some(r#"{"name": "X", "dataflows": [{"name": "F", "stages": []}]}"#));
    assert_eq!(invalid.status, 422);
    assert_eq!(invalid.body["valid"], false);
    assert!(invalid.body["errors"][0]["pointer"].is_string() && invalid.body["errors"][0]["line"].is_number());
    assert_eq!(server.admin("POST", "/api/validate", Some("{nope")).status, 400);
    let valid = server.admin("POST", "/api/validate", Some(FOR_TEST_CODE)).body;
    assert_eq!(valid["valid"], true);
    // With, for each step, the fields written upstream of it (the builder's path completions),
    // also when the file has a problem elsewhere.
    let at_save = "/dataflows/0/stages/2/steps/0";
    assert_eq!(valid["fields"][at_save], json!(["_user", "_oneTimeCode", "_otpChallenge", "new_code"]));
    assert_eq!(valid["systemFields"][0], "Id");
    let broken = FOR_TEST_CODE.replace(r#""title": "Your test code""#, r#""title": 7"#);
    assert_ne!(broken, FOR_TEST_CODE);
    let broken = server.admin("POST", "/api/validate", Some(&broken));
    assert_eq!(broken.status, 422);
    assert_eq!(broken.body["fields"][at_save], valid["fields"][at_save]);

    assert_eq!(server.admin("PUT", "/api/components/Other", Some(FOR_TEST_CODE)).status, 422, "name mismatch");
    assert_eq!(server.admin("PUT", "/api/components/ForTestCodeDemo", Some(FOR_TEST_CODE)).body["version"], 1);
    assert_eq!(server.admin("PUT", "/api/components/ForTestCodeDemo", Some(FOR_TEST_CODE)).body["version"], 2);
    let listed = server.admin("GET", "/api/components", None).body;
    assert_eq!(listed[0]["name"], "ForTestCodeDemo");
    assert_eq!(listed[0]["version"], 2);
    let first = server.admin("GET", "/api/components/ForTestCodeDemo?version=1", None);
    assert_eq!((first.status, first.body["version"].as_i64()), (200, Some(1)));
    assert_eq!(first.body["component"]["definitions"]["ForTestCode"]["type"], "string");
    assert_eq!(server.admin("GET", "/api/components/ForTestCodeDemo?version=x", None).status, 400);
    assert_eq!(server.admin("GET", "/api/components/Nope", None).status, 404);
    assert_eq!(server.admin("DELETE", "/api/components/ForTestCodeDemo", None).status, 204);
    assert_eq!(server.admin("DELETE", "/api/components/ForTestCodeDemo", None).status, 404);
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(70 << 10));
    assert_eq!(server.admin("PUT", "/api/components/Big", Some(&big)).status, 413);
}

#[test]
fn execute_runs_as_the_signed_in_user_and_runs_are_recorded_and_replayed() {
    let server = Server::with_password_sessions();
    server.admin("PUT", "/api/components/ForTestCodeDemo", Some(FOR_TEST_CODE));
    let token = server.sign_in("ann", "correct horse battery staple").body["token"].as_str().unwrap().to_owned();
    let execute = |dataflow: &str, body: &str, token: Option<&str>| {
        server.call(
            "POST",
            &format!("/api/components/ForTestCodeDemo/dataflows/{dataflow}/execute"),
            token,
            Some(body.as_bytes()),
        )
    };
    let got = execute("GetCode", r#"{"data": {}}"#, Some(&token));
    assert_eq!(got.status, 200, "{}", got.text);
    let code = got.body["formActions"][0]["parameters"]["ForTestCode"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 6);
    assert!(got.body["response"][0].get("_oneTimeCode").is_none());
    let run_id = got.body["runId"].as_str().unwrap().to_owned();

    let confirm = execute("ConfirmCode", &json!({"data": {"ForTestCode": code}}).to_string(), Some(&token));
    assert_eq!((confirm.status, confirm.body["response"][0]["_confirmed"].clone()), (200, json!(true)));
    let again = execute("ConfirmCode", &json!({"data": {"ForTestCode": code}}).to_string(), Some(&token));
    assert_eq!(again.status, 422);
    assert_eq!(again.body["error"]["message"], "invalid or expired code");
    assert!(again.body["error"].get("step").is_none(), "where it failed is for builders: {}", again.text);

    assert_eq!(execute("GetCode", "{nope", Some(&token)).status, 400);
    assert_eq!(execute("NoSuchFlow", "{}", Some(&token)).status, 404);
    assert_eq!(execute("GetCode", "{}", None).status, 401);
    let unknown = server.call("POST", "/api/components/Nope/dataflows/F/execute", Some(&token), Some(b"{}"));
    assert_eq!(unknown.status, 404);

    let runs = server.admin("GET", "/api/runs?component=ForTestCodeDemo&limit=10", None).body;
    assert_eq!(runs.as_array().unwrap().len(), 3);
    // Each with its user's name beside the id the record keeps.
    let ann = server.services.store.find_user("ann").unwrap().unwrap();
    assert!(runs.as_array().unwrap().iter().all(|r| r["user"] == ann.id.as_str() && r["userName"] == "ann"), "{runs}");
    let run = server.admin("GET", &format!("/api/runs/{run_id}"), None).body;
    let code_step = run["trace"].as_array().unwrap().iter().find(|s| s["step"] == "code").unwrap();
    assert_eq!(code_step["items"][0]["_oneTimeCode"], "[redacted]");
    assert_eq!(server.admin("GET", "/api/runs/nope", None).status, 404);
    assert_eq!(server.admin("GET", "/api/runs?limit=x", None).status, 400);

    server.admin("PUT", "/api/components/ForTestCodeDemo", Some(DEMO));
    let demo = execute("GetCode", r#"{"data": {"UserName": "ann"}}"#, None);
    assert_eq!(demo.status, 401);
    let demo = server.admin(
        "POST",
        "/api/components/ForTestCodeDemo/dataflows/GetCode/execute",
        Some(r#"{"data": {"UserName": "ann"}}"#),
    );
    let replay = server.admin("POST", &format!("/api/runs/{}/replay", demo.body["runId"].as_str().unwrap()), None);
    assert_eq!(replay.body["matches"], true, "{}", replay.text);

    let metrics = server.admin("GET", "/metrics", None).text;
    assert!(metrics.contains("sluice_one_time_codes_total{outcome=\"issued\"} 1"), "{metrics}");
    assert!(metrics.contains("sluice_one_time_codes_total{outcome=\"confirmed\"} 1"), "{metrics}");
    assert!(metrics.contains("sluice_step_failures_total{type=\"confirm_one_time_code_for_user\"} 1"), "{metrics}");
    let runs = |dataflow: &str, status: &str| {
        let prefix =
            format!("sluice_runs_total{{component=\"ForTestCodeDemo\",dataflow=\"{dataflow}\",status=\"{status}\"}} ");
        metrics.lines().find_map(|l| l.strip_prefix(&prefix)).and_then(|n| n.parse::<u64>().ok()).unwrap_or(0)
    };
    assert!(runs("GetCode", "ok") >= 2, "{metrics}");
    assert!(runs("ConfirmCode", "failed") >= 1, "{metrics}");
}

#[test]
fn public_dataflows_sign_an_end_user_in_with_a_code() {
    const EMAIL: &str = include_str!("../../../examples/email-2fa/component.json");
    const EMAIL_USERS: &str = include_str!("../../../examples/email-2fa/users.json");
    let server = Server::start();
    // The example's users (the server's store already holds the ForTestCode ones).
    let answer = server.admin("PUT", "/api/components/EmailTwoFactor", Some(EMAIL));
    assert_eq!(answer.status, 200, "{}", answer.text);
    let services = &server.services;
    services.store.import_users(&sluice::users::parse_users(EMAIL_USERS).unwrap()).unwrap();
    let execute = |dataflow: &str, body: Value, token: Option<&str>| {
        let path = format!("/api/components/EmailTwoFactor/dataflows/{dataflow}/execute");
        server.call("POST", &path, token, Some(body.to_string().as_bytes()))
    };
    let login = execute("Login", json!({"data": {"UserName": "dieter", "Password": "Tr0ub4dor&3"}}), None);
    assert_eq!(login.status, 200, "{}", login.text);
    assert!(!login.text.contains("Tr0ub4dor"), "{}", login.text);
    let dieter = services.store.find_user("dieter").unwrap().unwrap();
    let mail = services.store.list_messages(Some(&dieter.id), None, 1).unwrap().remove(0);
    assert_eq!(mail.subject, "Ihr Anmeldecode");
    let code: String = mail.body.split(|c: char| !c.is_ascii_digit()).find(|run| run.len() == 6).unwrap().to_owned();
    assert!(!login.text.contains(&code));
    let challenge = &login.body["response"][0]["_otpChallenge"];
    let verify = execute("Verify", json!({"data": {"UserName": "dieter", "Code": code, "Challenge": challenge}}), None);
    assert_eq!(verify.status, 200, "{}", verify.text);
    let token = verify.body["response"][0]["_session"]["token"].as_str().unwrap().to_owned();
    assert_eq!(server.call("GET", "/api/components", Some(&token), None).status, 200, "the session is a credential");
    assert_eq!(execute("Login", json!({}), Some("not-a-token")).status, 401, "a credential sent must be valid");
    server.admin("PUT", "/api/components/ForTestCodeDemo", Some(FOR_TEST_CODE));
    let signed_only =
        server.call("POST", "/api/components/ForTestCodeDemo/dataflows/GetCode/execute", None, Some(b"{}"));
    assert_eq!(signed_only.status, 401, "dataflows are not public unless they say so");
}

#[test]
fn the_page_signs_in_with_the_component_set_on_the_server() {
    let default = Server::start();
    let page = default.call("GET", "/", None, None).text;
    assert!(page.contains(r#"<meta name="sluice-signin" content="EmailTwoFactor">"#), "{page}");
    let services = sluice::Services::in_memory().unwrap();
    let named = Server::start_configured(services, |c| c.signin_component = r#"Sign"<in>"#.into());
    let page = named.call("GET", "/?signin=Elsewhere", None, None).text;
    assert!(page.contains(r#"<meta name="sluice-signin" content="Sign&quot;&lt;in&gt;">"#), "{page}");
    assert!(!page.contains("Elsewhere"), "a link cannot point the page elsewhere");
    assert!(!page.contains("sluice-signup") && !page.contains("sluice-authenticator"), "no account page unless named");
    let services = sluice::Services::in_memory().unwrap();
    let accounts = sluice_server::AccountComponents {
        signup: Some("Signup".into()),
        password_reset: Some("PasswordReset".into()),
        authenticator: Some("Authenticator".into()),
    };
    let with_accounts = Server::start_configured(services, |c| c.account_components = accounts);
    for path in ["/", "/account/confirm-email?token=abc", "/account/reset-password?token=abc"] {
        let page = with_accounts.call("GET", path, None, None);
        assert_eq!(page.status, 200, "{path}");
        for meta in [
            r#"<meta name="sluice-signup" content="Signup">"#,
            r#"<meta name="sluice-password-reset" content="PasswordReset">"#,
            r#"<meta name="sluice-authenticator" content="Authenticator">"#,
        ] {
            assert!(page.text.contains(meta), "{path}: {meta}");
        }
    }
}

/// The builder page and what it reads: its files, the component schema, and runs as a chosen
/// user (`X-Sluice-User`), which only a builder may ask for.
#[test]
fn the_builder_page_is_served_and_builders_run_as_a_chosen_user() {
    let server = Server::with_password_sessions();
    let page = server.call("GET", "/builder", None, None);
    assert_eq!((page.status, page.headers["content-type"].to_str().unwrap()), (200, "text/html; charset=utf-8"));
    for script in ["/common.js", "/editor.js", "/builder.js"] {
        assert!(page.text.contains(&format!("<script src=\"{script}\"></script>")), "{script}");
        let answer = server.call("GET", script, None, None);
        assert_eq!(answer.headers["content-type"], "text/javascript; charset=utf-8", "{script}");
    }
    assert!(server.call("GET", "/builder.css", None, None).text.contains(".stage"));
    let schema = server.call("GET", "/api/schemas/component", None, None).body;
    assert_eq!(schema, sluice::schema::component_schema());

    server.admin("PUT", "/api/components/ForTestCodeDemo", Some(FOR_TEST_CODE));
    let path = "/api/components/ForTestCodeDemo/dataflows/GetCode/execute";
    let as_user = |token: &str, user: &str| {
        let headers =
            [("authorization".to_owned(), format!("Bearer {token}")), ("x-sluice-user".to_owned(), user.to_owned())];
        server.send("POST", path, &headers, Some(b"{}"))
    };
    let ann = as_user(ADMIN, "ann");
    assert_eq!(ann.status, 200, "{}", ann.text);
    assert_eq!(ann.body["response"][0]["_user"]["userName"], "ann");
    let nobody = as_user(ADMIN, "nobody");
    assert_eq!(nobody.status, 422);
    assert_eq!(nobody.body["error"]["message"], "X-Sluice-User: there is no user named \"nobody\"");
    // An end user who names another user still runs as themselves (the run record says whom
    // it ran as, whether the run, which asks ann's second code within the cooldown, succeeds).
    let token = server.sign_in("ann", "correct horse battery staple").body["token"].as_str().unwrap().to_owned();
    let bob = as_user(&token, "bob");
    let run = server.admin("GET", &format!("/api/runs/{}", bob.body["runId"].as_str().unwrap()), None).body;
    assert_eq!(run["user"], ann.body["response"][0]["_user"]["id"], "{}", bob.text);
}

/// The builder's versions list, and export: the file comes back exactly as it was saved (key
/// order, spacing), so exporting what was imported gives the same bytes.
#[test]
fn versions_are_listed_and_a_file_comes_back_byte_for_byte() {
    let server = Server::start();
    let parsed: Value = serde_json::from_str(FOR_TEST_CODE).unwrap();
    // A file as another editor wrote it: its own key order and spacing.
    let imported = format!("{{\n\t\"dataflows\":  {},\n\t\"name\" : \"ForTestCodeDemo\"\n}}\n", parsed["dataflows"]);
    assert_eq!(server.admin("PUT", "/api/components/ForTestCodeDemo", Some(&imported)).status, 200);
    assert_eq!(server.admin("PUT", "/api/components/ForTestCodeDemo", Some(FOR_TEST_CODE)).body["version"], 2);

    let versions = server.admin("GET", "/api/components/ForTestCodeDemo/versions", None).body;
    let numbers: Vec<&Value> = versions.as_array().unwrap().iter().map(|v| &v["version"]).collect();
    assert_eq!(numbers, [&json!(2), &json!(1)], "newest first");
    assert!(versions[0]["savedAt"].as_str().unwrap().ends_with('Z'), "{versions}");

    let first = server.admin("GET", "/api/components/ForTestCodeDemo/file?version=1", None);
    assert_eq!(first.text, imported, "byte for byte");
    assert_eq!(first.headers["content-disposition"], "attachment; filename=\"ForTestCodeDemo.json\"");
    assert_eq!(server.admin("GET", "/api/components/ForTestCodeDemo/file", None).text, FOR_TEST_CODE);
    let missing = server.admin("GET", "/api/components/ForTestCodeDemo/file?version=9", None);
    assert_eq!(
        (missing.status, missing.body["error"]["message"].clone()),
        (404, json!("component \"ForTestCodeDemo\" has no version 9"))
    );
    assert_eq!(server.admin("GET", "/api/components/Missing/versions", None).status, 404);
}

/// Run from a step: a recorded run's items feed the step and the steps above it do not run, so
/// no second code is issued; the step and those it feeds run for real, as the run's user.
#[test]
fn a_recorded_run_runs_again_from_a_step_without_the_steps_above_it() {
    let server = Server::start();
    server.admin("PUT", "/api/components/ForTestCodeDemo", Some(FOR_TEST_CODE));
    let headers = [("authorization".to_owned(), format!("Bearer {ADMIN}")), ("x-sluice-user".to_owned(), "ann".into())];
    let execute = "/api/components/ForTestCodeDemo/dataflows/GetCode/execute";
    let first = server.send("POST", execute, &headers, Some(b"{}"));
    assert_eq!(first.status, 200, "{}", first.text);
    let code = first.body["response"][0]["data"]["ForTestCode"].clone();
    let ann = first.body["response"][0]["_user"]["id"].as_str().unwrap().to_owned();
    let issued = server.services.store.newest_code(&ann).unwrap().unwrap().id;

    let from =
        server.admin("POST", &format!("/api/runs/{}/run-from/save", first.body["runId"].as_str().unwrap()), None);
    assert_eq!(from.status, 200, "{}", from.text);
    assert_eq!(from.body["formActions"][0]["parameters"]["ForTestCode"], code, "the recorded code, shown again");
    assert_eq!(server.services.store.newest_code(&ann).unwrap().unwrap().id, issued, "no second code");
    let entries = server.services.store.list_entries("ForTestCodeDemo").unwrap();
    assert_eq!(entries.len(), 2, "the entry step ran again, for real");
    assert_eq!(entries[1].data["ForTestCode"], code);
    let record = server.admin("GET", &format!("/api/runs/{}", from.body["runId"].as_str().unwrap()), None).body;
    let ran: Vec<(&str, &str)> = record["trace"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["step"].as_str().unwrap(), t["status"].as_str().unwrap()))
        .collect();
    let expected = [
        ("model", "notRun"),
        ("user", "notRun"),
        ("code", "notRun"),
        ("script", "notRun"),
        ("save", "ok"),
        ("modal", "ok"),
        ("response", "ok"),
    ];
    assert_eq!(ran, expected);
    assert_eq!((record["user"].as_str(), record.get("input")), (Some(ann.as_str()), None), "as ann, with no input");

    // A step that is not there, or has no source; a run that never reached the source.
    let run = first.body["runId"].as_str().unwrap();
    for (step, message) in [
        ("nope", "dataflow \"GetCode\" cannot run from step \"nope\": it has no step of that name"),
        (
            "model",
            "dataflow \"GetCode\" cannot run from step \"model\": the step has no source step to take items from: run the whole dataflow instead",
        ),
    ] {
        let refused = server.admin("POST", &format!("/api/runs/{run}/run-from/{step}"), None);
        assert_eq!((refused.status, refused.body["error"]["message"].as_str()), (422, Some(message)));
    }
    let too_soon = server.send("POST", execute, &headers, Some(b"{}"));
    assert_eq!((too_soon.status, too_soon.body["error"]["step"].as_str()), (422, Some("code")), "{}", too_soon.text);
    let unreached =
        server.admin("POST", &format!("/api/runs/{}/run-from/save", too_soon.body["runId"].as_str().unwrap()), None);
    assert_eq!(unreached.status, 409, "{}", unreached.text);
    assert!(unreached.body["error"]["message"].as_str().unwrap().contains("kept no items of step \"script\""));
    assert_eq!(server.admin("POST", "/api/runs/no-such-run/run-from/save", None).status, 404);
}

/// Builder tokens may carry their builder's name (`name:token`): the versions a builder saves
/// say who saved them; a token alone is "builder"; the entry itself is no token.
#[test]
fn each_version_says_which_builder_saved_it() {
    let server = Server::start_configured(sluice::Services::in_memory().unwrap(), |config| {
        config.admin_tokens = vec!["ana:token-of-ana-0123456789".into(), "a-token-without-a-name".into()];
    });
    let save = |token: &str| {
        let headers = [("authorization".to_owned(), format!("Bearer {token}"))];
        server.send("PUT", "/api/components/ForTestCodeDemo", &headers, Some(FOR_TEST_CODE.as_bytes())).status
    };
    assert_eq!(save("token-of-ana-0123456789"), 200);
    assert_eq!(save("a-token-without-a-name"), 200);
    assert_eq!(save("ana:token-of-ana-0123456789"), 401, "the name is not part of the token");
    let versions =
        server.call("GET", "/api/components/ForTestCodeDemo/versions", Some("token-of-ana-0123456789"), None);
    let saved: Vec<(i64, &str)> = versions
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].as_i64().unwrap(), v["savedBy"].as_str().unwrap()))
        .collect();
    assert_eq!(saved, [(2, "builder"), (1, "ana")]);
    let who = server.call("GET", "/api/session", Some("token-of-ana-0123456789"), None).body;
    assert_eq!(who, json!({"builder": true, "name": "ana"}));
}

/// A rename moves every version to the new name, each file naming it; the old name is gone; a
/// name in use, a name no component may have and an unknown component are refused.
#[test]
fn a_renamed_component_keeps_its_versions_and_runs_under_its_new_name() {
    let server = Server::start();
    server.admin("PUT", "/api/components/ForTestCodeDemo", Some(FOR_TEST_CODE));
    server.admin("PUT", "/api/components/ForTestCodeDemo", Some(FOR_TEST_CODE));
    let rename = |from: &str, body: &str| server.admin("POST", &format!("/api/components/{from}/rename"), Some(body));
    assert_eq!(rename("ForTestCodeDemo", r#"{"name": "Codes"}"#).body, json!({"name": "Codes"}));
    assert_eq!(server.admin("GET", "/api/components/ForTestCodeDemo", None).status, 404);
    let versions = server.admin("GET", "/api/components/Codes/versions", None).body;
    assert_eq!(versions.as_array().unwrap().len(), 2);
    let first = server.admin("GET", "/api/components/Codes/file?version=1", None).text;
    assert_eq!(
        first,
        FOR_TEST_CODE.replace(r#""name": "ForTestCodeDemo""#, r#""name": "Codes""#),
        "only the name changed"
    );
    let ran = server.admin("POST", "/api/components/Codes/dataflows/GetCode/execute", Some(r#"{"data": {}}"#));
    assert_eq!(ran.status, 422, "runs under its new name (and fails for want of a user): {}", ran.text);
    assert_eq!(ran.body["error"]["step"], "code");
    server.admin("PUT", "/api/components/ForTestCodeDemo", Some(FOR_TEST_CODE));
    assert_eq!(rename("ForTestCodeDemo", r#"{"name": "Codes"}"#).status, 409, "a name in use");
    let invalid = rename("ForTestCodeDemo", r#"{"name": "9 lives"}"#);
    assert_eq!((invalid.status, invalid.body["errors"][0]["pointer"].as_str()), (422, Some("/name")));
    assert_eq!(rename("Nope", r#"{"name": "Other"}"#).status, 404);
    assert_eq!(rename("Codes", r#"{"title": "Other"}"#).status, 400);
}

#[test]
fn a_component_reads_the_entries_of_another_saved_one_and_follows_its_changes() {
    let server = Server::start();
    let cars = |key: &str| {
        json!({"name": "Cars", "definitions": {key: {"type": "string", "primaryKey": true}}, "dataflows": [
            {"name": "Add", "stages": [{"name": "s", "steps": [
                {"name": "in", "type": "get_action_model"},
                {"name": "save", "type": "update_entry", "source": "in"}]}]}]})
        .to_string()
    };
    let garage = json!({"name": "Garage", "dataflows": [{"name": "Find", "stages": [{"name": "s", "steps": [
        {"name": "in", "type": "get_action_model"},
        {"name": "find", "type": "lookup_reference", "source": "in",
         "settings": {"component": "Cars", "fieldName": "_car", "keyMap": {"Vin": "data.Vin"}}},
        {"name": "out", "type": "write_response", "source": "find"}]}]}]})
    .to_string();
    let refused = server.admin("PUT", "/api/components/Garage", Some(&garage));
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(refused.body["errors"][0]["message"], "there is no component named \"Cars\"");
    assert_eq!(server.admin("PUT", "/api/components/Cars", Some(&cars("Vin"))).status, 200);
    assert_eq!(server.admin("PUT", "/api/components/Garage", Some(&garage)).status, 200);
    let run = |component: &str, dataflow: &str, body: Value| {
        let path = format!("/api/components/{component}/dataflows/{dataflow}/execute");
        server.admin("POST", &path, Some(&body.to_string()))
    };
    assert_eq!(run("Cars", "Add", json!({"data": {"Vin": "V1"}})).status, 200);
    let found = run("Garage", "Find", json!({"data": {"Vin": "V1"}}));
    assert_eq!(found.status, 200, "{}", found.text);
    assert!(found.body["response"][0]["_car"].is_string(), "{}", found.text);
    // Cars changes its primary key: Garage's plan is built again, and says what broke.
    assert_eq!(server.admin("PUT", "/api/components/Cars", Some(&cars("Code"))).status, 200);
    let stale = run("Garage", "Find", json!({"data": {"Vin": "V1"}}));
    assert_eq!(stale.status, 500, "{}", stale.text);
    assert!(stale.text.contains("\\\"Vin\\\" is not a primary-key field of Cars"), "{}", stale.text);
}

#[test]
fn items_a_step_fails_on_without_stopping_are_counted_in_the_metrics() {
    let server = Server::start();
    let rows = json!({"name": "Rows", "dataflows": [{"name": "F", "stages": [{"name": "s", "steps": [
        {"name": "in", "type": "get_action_model"},
        {"name": "rows", "type": "extract_collection", "source": "in", "settings": {"path": "data.Rows"}},
        {"name": "check", "type": "execute_script", "source": "rows", "onError": "continue",
         "settings": {"script": "if item.n == 2 { throw \"row 2 is bad\"; }"}},
        {"name": "out", "type": "write_response", "source": "check"}]}]}]})
    .to_string();
    assert_eq!(server.admin("PUT", "/api/components/Rows", Some(&rows)).status, 200);
    let body = r#"{"data": {"Rows": [{"n": 1}, {"n": 2}, {"n": 3}]}}"#;
    let run = server.admin("POST", "/api/components/Rows/dataflows/F/execute", Some(body));
    assert_eq!((run.status, run.body["response"].as_array().map(Vec::len)), (200, Some(2)), "{}", run.text);
    let metrics = server.admin("GET", "/metrics", None).text;
    assert!(metrics.contains("sluice_step_item_failures_total{outcome=\"dropped\"} 1"), "{metrics}");
}

#[test]
fn a_dataflow_calls_a_dataflow_of_another_saved_component() {
    let server = Server::start();
    let pricing = json!({"name": "Pricing", "dataflows": [{"name": "Price", "stages": [{"name": "s", "steps": [
        {"name": "in", "type": "get_action_model"},
        {"name": "double", "type": "execute_script", "source": "in", "settings": {"script": "item.doubled = item.data.N * 2;"}},
        {"name": "out", "type": "write_response", "source": "double"}]}]}]})
    .to_string();
    let shop = json!({"name": "Shop", "dataflows": [{"name": "Quote", "stages": [{"name": "s", "steps": [
        {"name": "in", "type": "get_action_model"},
        {"name": "price", "type": "execute_dataflow", "source": "in", "settings": {"component": "Pricing", "dataflow": "Price"}},
        {"name": "out", "type": "write_response", "source": "price"}]}]}]})
    .to_string();
    assert_eq!(server.admin("PUT", "/api/components/Shop", Some(&shop)).status, 422, "Pricing is not saved yet");
    assert_eq!(server.admin("PUT", "/api/components/Pricing", Some(&pricing)).status, 200);
    assert_eq!(server.admin("PUT", "/api/components/Shop", Some(&shop)).status, 200);
    let quote = server.admin("POST", "/api/components/Shop/dataflows/Quote/execute", Some(r#"{"data": {"N": 21}}"#));
    assert_eq!(quote.status, 200, "{}", quote.text);
    assert_eq!(quote.body["response"][0]["_Result"][0]["doubled"], 42, "{}", quote.text);
}
