//! Reading a users file for `sluice users import`.
//!
//! The file is a JSON array of users: `userName` (required), `email`, `phone`, `firstName`,
//! `lastName`, `locale`, `active` (default `true`), `emailVerified` (default `false`), `password` (hashed with Argon2id on
//! import, never stored in clear) and `id` (a UUID; made when absent).

use serde::Deserialize;
use serde_json::Value;
use sluice_core::Diagnostic;
use sluice_core::source::Source;
use std::collections::HashMap;

use sluice_core::passwords;
use sluice_core::store::{Store, StoreError, User};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UserInput {
    id: Option<String>,
    user_name: String,
    email: Option<String>,
    phone: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    locale: Option<String>,
    #[serde(default = "yes")]
    active: bool,
    #[serde(default)]
    email_verified: bool,
    password: Option<String>,
}

fn yes() -> bool {
    true
}

/// Parses a users file; every problem is reported, placed in the file.
pub fn parse_users(text: &str) -> Result<Vec<User>, Vec<Diagnostic>> {
    let source = Source::new(text);
    let array: Vec<Value> = match serde_json::from_str(text) {
        Ok(array) => array,
        Err(e) => {
            return Err(vec![Diagnostic {
                pointer: String::new(),
                line: e.line().max(1),
                column: e.column().max(1),
                step: None,
                message: format!("the file is not a JSON array of users: {e}"),
                hint: Some("write [{\"userName\": \"ann\", \"email\": \"ann@example.com\"}]".into()),
            }]);
        }
    };
    let mut problems: Vec<(String, String)> = Vec::new();
    let mut users = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (i, value) in array.into_iter().enumerate() {
        if let Some(at) = sluice_core::types::nul_at(&value) {
            problems.push((format!("/{i}{at}"), sluice_core::types::NUL_RULE.to_owned()));
            continue;
        }
        let input = match UserInput::deserialize(value) {
            Ok(input) => input,
            Err(e) => {
                problems.push((format!("/{i}"), e.to_string()));
                continue;
            }
        };
        if input.user_name.trim().is_empty() {
            problems.push((format!("/{i}/userName"), "the user name is empty".into()));
        }
        if names.contains(&input.user_name.to_lowercase()) {
            problems
                .push((format!("/{i}/userName"), format!("\"{}\" appears twice (names ignore case)", input.user_name)));
        }
        names.push(input.user_name.to_lowercase());
        let id = match input.id {
            Some(id) => match uuid::Uuid::parse_str(&id) {
                Ok(id) => id.to_string(),
                Err(_) => {
                    problems.push((format!("/{i}/id"), format!("\"{id}\" is not a UUID")));
                    continue;
                }
            },
            None => uuid::Uuid::new_v4().to_string(),
        };
        let password_hash = match input.password.as_deref().map(sluice_core::passwords::hash).transpose() {
            Ok(hash) => hash,
            Err(e) => {
                problems.push((format!("/{i}/password"), e));
                continue;
            }
        };
        users.push(User {
            id,
            user_name: input.user_name.trim().to_owned(),
            email: input.email,
            phone: input.phone,
            first_name: input.first_name,
            last_name: input.last_name,
            locale: input.locale,
            active: input.active,
            email_verified: input.email_verified,
            password_hash,
            roles: Vec::new(),
        });
    }
    if problems.is_empty() {
        return Ok(users);
    }
    let pointers: Vec<&str> = problems.iter().map(|(p, _)| p.as_str()).collect();
    let places = source.locate_all(&pointers);
    Err(problems
        .iter()
        .zip(places)
        .map(|((pointer, message), at)| Diagnostic {
            pointer: pointer.clone(),
            line: at.line,
            column: at.column,
            step: None,
            message: message.clone(),
            hint: None,
        })
        .collect())
}

/// Hashes a password with Argon2id and a random salt (PHC string).
/// The passwords of the users file `text` (still in clear), by lower-case user name.
pub fn passwords_in(text: &str) -> HashMap<String, String> {
    serde_json::from_str::<Vec<Value>>(text)
        .unwrap_or_default()
        .iter()
        .filter_map(|u| Some((u["userName"].as_str()?.trim().to_lowercase(), u["password"].as_str()?.to_owned())))
        .collect()
}

/// What [`import`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    /// Users written.
    pub users: usize,
    /// Sessions ended: of the users the file deactivated or gave another password.
    pub sessions_ended: usize,
}

/// Writes `users`, parsed from the users file `text`, into `store`, then ends every session of
/// a user the file deactivates or gives another password (a password is checked against the
/// user's stored hash: the file's hashes are salted anew at every import).
pub fn import(store: &dyn Store, text: &str, users: &[User]) -> Result<Imported, StoreError> {
    let passwords = passwords_in(text);
    let before = users.iter().map(|u| store.find_user(&u.user_name)).collect::<Result<Vec<_>, _>>()?;
    let written = store.import_users(users)?;
    let mut sessions_ended = 0;
    for (user, old) in users.iter().zip(before) {
        let Some(old) = old else { continue };
        let password = passwords.get(&user.user_name.to_lowercase());
        let unchanged = |p: &String| old.password_hash.as_deref().is_some_and(|hash| passwords::matches(hash, p));
        if !user.active || password.is_some_and(|p| !unchanged(p)) {
            sessions_ended += store.end_sessions(&old.id, None)?;
        }
    }
    Ok(Imported { users: written, sessions_ended })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_read_with_hashed_passwords_and_made_ids() {
        let users = parse_users(r#"[{"userName": "ann", "email": "ann@example.com", "password": "s3cret!"},
                                    {"userName": "bob", "active": false, "id": "0b5f3c2e-8d1a-4c8e-9f57-2b7f8f0b9a11"}]"#)
        .unwrap();
        assert_eq!(users.len(), 2);
        assert!(users[0].active && !users[1].active);
        assert_eq!(users[1].id, "0b5f3c2e-8d1a-4c8e-9f57-2b7f8f0b9a11");
        let hash = users[0].password_hash.as_deref().unwrap();
        assert!(hash.starts_with("$argon2id$") && !hash.contains("s3cret"), "{hash}");
        assert!(uuid::Uuid::parse_str(&users[0].id).is_ok());
    }

    #[test]
    fn every_bad_user_is_placed_in_the_file() {
        let text = "[\n {\"userName\": \"ann\"},\n {\"userName\": \"ANN\"},\n {\"user\": \"x\"},\n {\"userName\": \"c\", \"id\": \"nope\"},\n {\"userName\": \"d\\u0000\"}\n]";
        let problems = parse_users(text).unwrap_err();
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 4, "{lines:#?}");
        assert!(lines[3].starts_with("6:15: /4/userName: text cannot hold the NUL character (U+0000)"), "{}", lines[3]);
        assert!(lines[0].starts_with("3:15: /1/userName: \"ANN\" appears twice"), "{}", lines[0]);
        assert!(lines[1].starts_with("4:2: /2: unknown field `user`"), "{}", lines[1]);
        assert!(lines[2].starts_with("5:26: /3/id: \"nope\" is not a UUID"), "{}", lines[2]);
        assert!(parse_users("{}").unwrap_err()[0].message.contains("not a JSON array"));
    }
}
