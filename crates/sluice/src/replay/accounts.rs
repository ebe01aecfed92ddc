//! The account scenarios of `sluice replay`: sign-up with e-mail confirmation, a forgotten
//! password, and sign-in with an authenticator app. Links and codes are read from the user's
//! in-app inbox, as a person would read them from their mail.

use serde_json::{Value, json};
use sluice_core::authenticator;
use sluice_core::otp::Rejection;
use sluice_core::{Outcome, sessions};

use super::{Check, Scenario, fail};

/// What a refused link says, whatever the reason.
const LINK_REFUSED: &str = "this link is invalid, used or expired";

impl Scenario {
    /// The newest message in `user`'s inbox: its subject and body.
    fn newest_message(&self, user: &str) -> Option<(String, String)> {
        let id = self.store.find_user(user).ok().flatten()?.id;
        let inbox = self.store.list_messages(Some(&id), None, 1).ok()?;
        inbox.first().map(|m| (m.subject.clone(), m.body.clone()))
    }

    /// Logs `user` in with `password` and confirms the e-mailed code: whether a two-factor
    /// session came of it, and what was seen.
    fn two_factor_sign_in(&self, user: &str, password: &str) -> Result<String, String> {
        let login = self.attempt("Login", json!({"data": {"UserName": user, "Password": password}}))?;
        let challenge = login.response.first().and_then(|i| i.get(sluice_core::otp::CHALLENGE_FIELD)).cloned();
        let (_, body) = self.newest_message(user).ok_or("no code in the inbox")?;
        let code = super::code_in(&body).ok_or("no code in the message")?;
        let verify = json!({"data": {"UserName": user, "Code": code, "Challenge": challenge}});
        session_of(&self.attempt("Verify", verify)?, self)
    }
}

/// The session a run opened: its factors, when it is a live two-factor session.
fn session_of(outcome: &Outcome, scenario: &Scenario) -> Result<String, String> {
    let item = outcome.response.first().cloned().unwrap_or_default();
    let token = item.get(sessions::SESSION_FIELD).and_then(|s| s.get("token")).and_then(Value::as_str);
    let session = sessions::check_token(&scenario.services, token.unwrap_or_default()).ok().flatten();
    match session {
        Some(s) if s.two_factor() => Ok(format!(
            "session earned with {}",
            s.methods.iter().map(|f| f.method.name()).collect::<Vec<_>>().join("+")
        )),
        Some(_) => Err("the session is not two-factor".into()),
        None => Err("no session".into()),
    }
}

/// The token of the link in `body` under `page`.
fn token_in(body: &str, page: &str) -> Option<String> {
    let start = body.find(&format!("{page}?token="))? + page.len() + "?token=".len();
    Some(body[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect())
}

fn check(name: &str, result: Result<String, String>) -> Check {
    match result {
        Ok(detail) => Check { name: name.into(), passed: true, detail },
        Err(detail) => fail(name, detail),
    }
}

/// Sign-up: register disabled, confirm the address through the e-mailed link (once), then sign
/// in with the password and an e-mailed code.
pub(super) fn signup(scenario: &Scenario) -> Vec<Check> {
    const NAME: &str = "dora";
    const PASSWORD: &str = "a long walk by the sea";
    let mut checks = Vec::new();
    let register = |name: &str, password: &str| json!({"data": {"UserName": name, "Email": format!("{name}@example.com"), "Password": password}});
    checks.push(check("a new user registers, disabled, and the answer holds no password", {
        scenario.attempt("Register", register(NAME, PASSWORD)).and_then(|outcome| {
            let user = scenario.store.find_user(NAME).ok().flatten().ok_or("no user was made")?;
            let response = json!(outcome.response).to_string();
            match (user.active, response.contains(PASSWORD)) {
                (false, false) => Ok(format!("{NAME} exists, disabled; the response is {response}")),
                _ => Err(format!("active = {}, response {response}", user.active)),
            }
        })
    }));
    let taken = register("ANN", PASSWORD);
    checks.push(scenario.refused_with(
        "a taken name is refused (names ignore case)",
        "Register",
        taken,
        "already exists",
    ));
    let weak = register("eve", "password1");
    checks.push(scenario.refused_with("a common password is refused", "Register", weak, "most common"));
    let early = json!({"data": {"UserName": NAME, "Password": PASSWORD}});
    checks.push(scenario.refused_with(
        "no sign-in before the address is confirmed",
        "Login",
        early,
        "invalid user name",
    ));
    let link = scenario.newest_message(NAME).and_then(|(_, body)| token_in(&body, "/account/confirm-email"));
    let Some(token) = link else {
        checks.push(fail("the confirmation link reaches the inbox", format!("{:?}", scenario.newest_message(NAME))));
        return checks;
    };
    let confirm = json!({"data": {"Token": token}});
    checks.push(check("the link enables the user and verifies the address", {
        scenario.attempt("ConfirmEmail", confirm.clone()).and_then(|_| {
            let user = scenario.store.find_user(NAME).ok().flatten().ok_or("the user is gone")?;
            if user.active && user.email_verified {
                Ok(format!("{NAME} enabled, address verified"))
            } else {
                Err(format!("{user:?}"))
            }
        })
    }));
    checks.push(scenario.refused_with("the link works once", "ConfirmEmail", confirm, LINK_REFUSED));
    scenario.clock.advance(60_000);
    checks.push(check(
        "the new user signs in with the password and an e-mailed code",
        scenario.two_factor_sign_in(NAME, PASSWORD),
    ));
    checks
}

/// A forgotten password: the same answer for anyone, a link for users only, a refused password
/// leaves the link working, the new password works and the old one no longer does, the link
/// works once and not after 30 minutes.
pub(super) fn password_reset(scenario: &Scenario) -> Vec<Check> {
    const NEW: &str = "a quiet morning in june";
    let mut checks = Vec::new();
    let user = scenario.cx.user.clone().unwrap_or_default();
    let old = scenario.passwords.get(&user.to_lowercase()).cloned().unwrap_or_default();
    let forgot = |name: &str| scenario.attempt("ForgotPassword", json!({"data": {"UserName": name}}));
    let (known, unknown) = (forgot(&user), forgot("nobody-at-all"));
    let answer = |r: &Result<Outcome, String>, name: &str| match r {
        Ok(o) => json!(o.response).to_string().replace(name, "NAME"),
        Err(said) => said.clone(),
    };
    let (known, unknown) = (answer(&known, &user), answer(&unknown, "nobody-at-all"));
    checks.push(Check {
        name: "a user and a stranger get the same answer".into(),
        passed: known == unknown && !known.contains("said"),
        detail: format!("both {known}"),
    });
    let Some(token) = scenario.newest_message(&user).and_then(|(_, body)| token_in(&body, "/account/reset-password"))
    else {
        checks.push(fail("the reset link reaches the inbox", format!("{:?}", scenario.newest_message(&user))));
        return checks;
    };
    let reset = |password: &str| json!({"data": {"Token": token, "Password": password}});
    checks.push(scenario.refused_with(
        "a common password is refused",
        "ResetPassword",
        reset("iloveyou"),
        "most common",
    ));
    checks.push(check(
        "the link then sets a good password",
        scenario.attempt("ResetPassword", reset(NEW)).map(|_| "set".into()),
    ));
    checks.push(scenario.refused_with(
        "the link works once",
        "ResetPassword",
        reset("another fine phrase"),
        LINK_REFUSED,
    ));
    let login = |password: &str| json!({"data": {"UserName": user, "Password": password}});
    checks.push(scenario.refused_with("the old password no longer works", "Login", login(&old), "invalid user name"));
    scenario.clock.advance(60_000);
    checks.push(check("the new password signs in with an e-mailed code", scenario.two_factor_sign_in(&user, NEW)));
    let fresh_link = || {
        let _ = forgot(&user);
        let token = scenario.newest_message(&user).and_then(|(_, body)| token_in(&body, "/account/reset-password"));
        json!({"data": {"Token": token.unwrap_or_default(), "Password": "yet another fine phrase"}})
    };
    let control = fresh_link();
    scenario.clock.advance(30 * 60_000 - 1_000);
    let works = scenario.attempt("ResetPassword", control).map(|_| "set".into());
    checks.push(check("a link still works a second before its 30 minutes end", works));
    let late = fresh_link();
    scenario.clock.advance(30 * 60_000);
    checks.push(scenario.refused_with("a link does not work after 30 minutes", "ResetPassword", late, LINK_REFUSED));
    checks
}

/// An authenticator app: enrolment shows a QR code and recovery codes, a first code completes
/// it, sign-in takes the password and a code in one form, a code works once, a recovery code
/// stands in once.
pub(super) fn authenticator_app(scenario: &Scenario) -> Vec<Check> {
    let mut checks = Vec::new();
    let user = scenario.cx.user.clone().unwrap_or_default();
    let password = scenario.passwords.get(&user.to_lowercase()).cloned().unwrap_or_default();
    let enrolment = match scenario.attempt("Enrol", json!({"data": {}})) {
        Ok(outcome) => outcome.response.first().and_then(|i| i.get("_authenticator")).cloned().unwrap_or_default(),
        Err(e) => {
            checks.push(fail("Enrol runs for the signed-in user", e));
            return checks;
        }
    };
    let secret = enrolment["secret"].as_str().unwrap_or_default().to_owned();
    let recovery: Vec<String> = enrolment["recoveryCodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str().map(str::to_owned))
        .collect();
    checks.push(Check {
        name: "the enrolment shows a QR code, the secret and ten recovery codes".into(),
        passed: enrolment["qrSvg"].as_str().is_some_and(|s| s.contains("<svg"))
            && enrolment["uri"].as_str().is_some_and(|u| u.starts_with("otpauth://totp/"))
            && secret.len() == 32
            && recovery.len() == 10,
        detail: format!(
            "{}; {} recovery codes",
            enrolment["uri"].as_str().unwrap_or("no URI").split('?').next().unwrap_or_default(),
            recovery.len()
        ),
    });
    let now = || sluice_core::Clock::now(scenario.clock.as_ref());
    let code = |at| authenticator::app_code(&secret, at).unwrap_or_default();
    let first = json!({"data": {"Code": code(now())}});
    checks.push(check("a first code of the app completes the enrolment", {
        scenario.attempt("ConfirmEnrolment", first).map(|_| "confirmed".into())
    }));
    scenario.clock.advance(30_000);
    let sign_in =
        |password: &str, typed: &str| json!({"data": {"UserName": user, "Password": password, "Code": typed}});
    let now_code = code(now());
    checks.push(check("the password and a code of the app open a two-factor session", {
        scenario.attempt("Login", sign_in(&password, &now_code)).and_then(|o| session_of(&o, scenario))
    }));
    let replayed = sign_in(&password, &now_code);
    checks.push(scenario.refused_with(
        "the same code fails the second time",
        "Login",
        replayed,
        Rejection::Used.reason(),
    ));
    scenario.clock.advance(30_000);
    let wrong_password = sign_in("not the password", &code(now()));
    checks.push(scenario.refused_with(
        "a wrong password fails whatever the code",
        "Login",
        wrong_password,
        "invalid user name",
    ));
    let spare = recovery.first().cloned().unwrap_or_default();
    checks.push(check("a recovery code stands in for the app", {
        scenario.attempt("Login", sign_in(&password, &spare)).and_then(|o| session_of(&o, scenario))
    }));
    checks.push(scenario.refused_with(
        "a recovery code works once",
        "Login",
        sign_in(&password, &spare),
        Rejection::Malformed.reason(),
    ));
    checks
}
