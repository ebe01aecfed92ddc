//! The in-memory store: everything behind one lock, gone when the process ends.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::{
    CodeStatus, CodeStore, Entry, EntryStore, EntryWrite, IssueLimits, Issued, NewCode, RunRecord, RunStore, Store,
    StoreError, StoredCode, User, UserStore, duplicate_key,
};
use crate::clock::Millis;

const HOUR: Millis = 3_600_000;

/// A store in memory, for tests, benchmarks and throw-away runs.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    users: Vec<User>,
    codes: Vec<(NewCode, StoredCode)>,
    failures: HashMap<(String, String), Vec<Millis>>,
    locks: HashMap<(String, String), Millis>,
    entries: Vec<(String, Option<String>, Entry)>,
    runs: Vec<RunRecord>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-made change: every change below
        // is computed first and applied last.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn pair(user_id: &str, client: &str) -> (String, String) {
    (user_id.to_owned(), client.to_owned())
}

impl UserStore for MemoryStore {
    fn import_users(&self, users: &[User]) -> Result<usize, StoreError> {
        let mut state = self.state();
        let mut next = state.users.clone();
        for user in users {
            let same = |u: &User| u.id == user.id || u.user_name.to_lowercase() == user.user_name.to_lowercase();
            match next.iter().position(same) {
                Some(i) => {
                    let id = next[i].id.clone();
                    next[i] = User { id, ..user.clone() };
                }
                None => next.push(user.clone()),
            }
            let names = next.iter().filter(|u| u.user_name.to_lowercase() == user.user_name.to_lowercase()).count();
            if names > 1 {
                return Err(StoreError::Duplicate(format!("a user named \"{}\" already exists", user.user_name)));
            }
        }
        next.sort_by_key(|u| u.user_name.to_lowercase());
        state.users = next;
        Ok(users.len())
    }

    fn find_user(&self, name_or_id: &str) -> Result<Option<User>, StoreError> {
        let state = self.state();
        let by_id = state.users.iter().find(|u| u.id == name_or_id);
        let wanted = name_or_id.to_lowercase();
        Ok(by_id.or_else(|| state.users.iter().find(|u| u.user_name.to_lowercase() == wanted)).cloned())
    }

    fn list_users(&self) -> Result<Vec<User>, StoreError> {
        Ok(self.state().users.clone())
    }
}

impl CodeStore for MemoryStore {
    fn issue_code(&self, code: &NewCode, limits: &IssueLimits) -> Result<Issued, StoreError> {
        let mut state = self.state();
        let now = code.issued_at;
        state.codes.retain(|(c, s)| s.status == CodeStatus::Live || c.issued_at > now - HOUR);
        let mine: Vec<Millis> = state
            .codes
            .iter()
            .filter(|(c, _)| c.user_id == code.user_id && c.client == code.client)
            .map(|(c, _)| c.issued_at)
            .collect();
        if let Some(last) = mine.iter().max()
            && now - last < limits.resend_cooldown
        {
            return Ok(Issued::Limited { retry_after: last + limits.resend_cooldown - now });
        }
        let in_hour: Vec<Millis> = mine.into_iter().filter(|at| *at > now - HOUR).collect();
        if in_hour.len() >= limits.max_per_hour as usize {
            let oldest = in_hour.iter().min().copied().unwrap_or(now);
            return Ok(Issued::Limited { retry_after: oldest + HOUR - now });
        }
        for (c, s) in &mut state.codes {
            if c.user_id == code.user_id && c.client == code.client && s.status == CodeStatus::Live {
                s.status = CodeStatus::Replaced;
            }
        }
        let stored = StoredCode {
            id: code.id.clone(),
            client: code.client.clone(),
            key_id: code.key_id.clone(),
            mac: code.mac.clone(),
            length: code.length,
            expires_at: code.expires_at,
            attempts: 0,
            max_attempts: code.max_attempts,
            status: CodeStatus::Live,
        };
        state.codes.push((code.clone(), stored));
        Ok(Issued::Stored)
    }

    fn attempt_code(&self, user_id: &str, client: &str) -> Result<Option<StoredCode>, StoreError> {
        let mut state = self.state();
        let live = state
            .codes
            .iter_mut()
            .find(|(c, s)| c.user_id == user_id && c.client == client && s.status == CodeStatus::Live);
        Ok(live.map(|(_, s)| {
            s.attempts = s.attempts.saturating_add(1);
            s.clone()
        }))
    }

    fn consume_code(&self, id: &str, now: Millis) -> Result<bool, StoreError> {
        let mut state = self.state();
        let live = state.codes.iter_mut().find(|(_, s)| s.id == id && s.status == CodeStatus::Live);
        Ok(match live {
            Some((_, s)) if now < s.expires_at => {
                s.status = CodeStatus::Used;
                true
            }
            _ => false,
        })
    }

    fn newest_code(&self, user_id: &str) -> Result<Option<StoredCode>, StoreError> {
        let state = self.state();
        let newest = state.codes.iter().filter(|(c, _)| c.user_id == user_id).max_by_key(|(c, _)| c.issued_at);
        Ok(newest.map(|(_, s)| s.clone()))
    }

    fn record_failure(&self, user_id: &str, client: &str, now: Millis, since: Millis) -> Result<u32, StoreError> {
        let mut state = self.state();
        let failures = state.failures.entry(pair(user_id, client)).or_default();
        failures.retain(|at| *at > since);
        failures.push(now);
        Ok(u32::try_from(failures.len()).unwrap_or(u32::MAX))
    }

    fn lock(&self, user_id: &str, client: &str, until: Millis) -> Result<(), StoreError> {
        self.state().locks.insert(pair(user_id, client), until);
        Ok(())
    }

    fn locked_until(&self, user_id: &str, client: &str, now: Millis) -> Result<Option<Millis>, StoreError> {
        Ok(self.state().locks.get(&pair(user_id, client)).copied().filter(|until| *until > now))
    }

    fn clear_failures(&self, user_id: &str, client: &str) -> Result<(), StoreError> {
        self.state().failures.remove(&pair(user_id, client));
        Ok(())
    }
}

impl EntryStore for MemoryStore {
    fn create_entry(&self, id: &str, write: &EntryWrite) -> Result<(), StoreError> {
        let mut state = self.state();
        check_key(&state, write, None)?;
        let entry = Entry {
            id: id.to_owned(),
            name: write.name.clone(),
            data: write.data.clone(),
            deleted: false,
            creator_subject: write.subject.clone(),
            update_subject: write.subject.clone(),
            created_date: write.at,
            update_date: write.at,
        };
        state.entries.push((write.component.clone(), write.key.clone(), entry));
        Ok(())
    }

    fn update_entry(&self, id: &str, write: &EntryWrite) -> Result<(), StoreError> {
        let mut state = self.state();
        check_key(&state, write, Some(id))?;
        let (_, key, entry) = find_entry(&mut state, &write.component, id)?;
        *key = write.key.clone();
        entry.data.extend(write.data.clone());
        if write.name.is_some() {
            entry.name.clone_from(&write.name);
        }
        entry.update_subject.clone_from(&write.subject);
        entry.update_date = write.at;
        Ok(())
    }

    fn mark_entry_deleted(
        &self,
        component: &str,
        id: &str,
        subject: Option<&str>,
        at: Millis,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        let (_, _, entry) = find_entry(&mut state, component, id)?;
        entry.deleted = true;
        entry.update_subject = subject.map(str::to_owned);
        entry.update_date = at;
        Ok(())
    }

    fn get_entry(&self, component: &str, id: &str) -> Result<Option<Entry>, StoreError> {
        let state = self.state();
        Ok(state.entries.iter().find(|(c, _, e)| c == component && e.id == id).map(|(_, _, e)| e.clone()))
    }

    fn list_entries(&self, component: &str) -> Result<Vec<Entry>, StoreError> {
        Ok(self.state().entries.iter().filter(|(c, _, _)| c == component).map(|(_, _, e)| e.clone()).collect())
    }
}

fn find_entry<'s>(
    state: &'s mut State,
    component: &str,
    id: &str,
) -> Result<&'s mut (String, Option<String>, Entry), StoreError> {
    state
        .entries
        .iter_mut()
        .find(|(c, _, e)| c == component && e.id == id)
        .ok_or_else(|| StoreError::NotFound(format!("{component} has no entry with Id \"{id}\"")))
}

fn check_key(state: &State, write: &EntryWrite, except: Option<&str>) -> Result<(), StoreError> {
    let Some(key) = &write.key else { return Ok(()) };
    let taken = state.entries.iter().any(|(c, k, e)| {
        c == &write.component && k.as_ref() == Some(key) && !e.deleted && Some(e.id.as_str()) != except
    });
    if taken { Err(duplicate_key(&write.component, key)) } else { Ok(()) }
}

impl RunStore for MemoryStore {
    fn record_run(&self, run: &RunRecord) -> Result<(), StoreError> {
        self.state().runs.push(run.clone());
        Ok(())
    }

    fn list_runs(&self, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        Ok(self.state().runs.iter().rev().take(limit).cloned().collect())
    }
}

impl Store for MemoryStore {
    fn location(&self) -> String {
        "memory:".into()
    }
}
