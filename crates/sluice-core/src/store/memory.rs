//! The in-memory store: everything behind one lock, gone when the process ends.
//!
//! The maps are B-trees and the run log a ring sized once: they grow a node at a time, so no
//! insert copies or rehashes a whole map while every request waits for the lock (a hash map
//! of 229,376 entries took 137 ms to grow; see docs/performance.md). The outbox and the saved
//! components are lists that still grow by doubling: one message per code sent, one component
//! per save, far fewer than entries and runs.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use super::{
    AccountStore, Authenticator, Channel, CodeStatus, CodeStore, ComponentStore, Entry, EntryStore, EntryWrite,
    IssueLimits, Issued, Message, MessageStatus, NewCode, NewToken, OutboxStore, Purge, Role, RunRecord, RunStore,
    Session, SessionStore, Store, StoreError, StoredCode, StoredComponent, User, UserStore, check_issue_limits,
    duplicate_key, entry_not_found,
};
use crate::clock::Millis;

/// Run records a memory store keeps; older ones are dropped (the store must not grow without
/// bound in a long-running server).
pub const MAX_RUNS: usize = 10_000;

/// A store in memory, for tests, benchmarks and throw-away runs.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// By id.
    users: BTreeMap<String, User>,
    /// Lower-case user name → id.
    user_names: BTreeMap<String, String>,
    /// The code of each (user, purpose).
    codes: BTreeMap<(String, String), Slot>,
    /// Failure times and locks of each (subject, scope).
    failures: BTreeMap<(String, String), Vec<Millis>>,
    locks: BTreeMap<(String, String), Millis>,
    /// Consecutive failures of each (subject, scope).
    streaks: BTreeMap<(String, String), u32>,
    /// By (component, id), with each entry's primary key.
    entries: BTreeMap<(String, String), (Option<String>, Entry)>,
    /// (component, primary key) → id, for entries not marked for deletion.
    keys: BTreeMap<(String, String), String>,
    runs: VecDeque<RunRecord>,
    messages: Vec<Message>,
    components: Vec<StoredComponent>,
    sessions: BTreeMap<String, Session>,
    /// The roles of each user.
    roles: BTreeMap<String, Vec<Role>>,
    /// (purpose, hash) → (user id, expiry).
    tokens: BTreeMap<(String, String), (String, Millis)>,
    /// By user id.
    authenticators: BTreeMap<String, Authenticator>,
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

/// A user's code for a purpose, when it was issued, and the last hour's issue times.
#[derive(Debug)]
struct Slot {
    code: StoredCode,
    issued_at: Millis,
    recent: Vec<Millis>,
}

fn pair(first: &str, second: &str) -> (String, String) {
    (first.to_owned(), second.to_owned())
}

impl UserStore for MemoryStore {
    fn import_users(&self, users: &[User]) -> Result<usize, StoreError> {
        let mut state = self.state();
        // Work on copies, so a refused import changes nothing.
        let mut all = state.users.clone();
        let mut names = state.user_names.clone();
        for user in users {
            let key = user.user_name.to_lowercase();
            let id = if all.contains_key(&user.id) { Some(user.id.clone()) } else { names.get(&key).cloned() };
            let id = id.unwrap_or_else(|| user.id.clone());
            if names.get(&key).is_some_and(|holder| *holder != id) {
                return Err(StoreError::Duplicate(format!("a user named \"{}\" already exists", user.user_name)));
            }
            if let Some(old) = all.get(&id) {
                names.remove(&old.user_name.to_lowercase());
            }
            names.insert(key, id.clone());
            all.insert(id.clone(), User { id, ..user.clone() });
        }
        state.users = all;
        state.user_names = names;
        Ok(users.len())
    }

    fn find_user(&self, name_or_id: &str) -> Result<Option<User>, StoreError> {
        let state = self.state();
        let id = if state.users.contains_key(name_or_id) {
            Some(name_or_id.to_owned())
        } else {
            state.user_names.get(&name_or_id.to_lowercase()).cloned()
        };
        Ok(id.and_then(|id| state.users.get(&id)).map(|user| with_roles(&state, user)))
    }

    fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let state = self.state();
        let mut users: Vec<User> = state.users.values().map(|user| with_roles(&state, user)).collect();
        users.sort_by_key(|u| u.user_name.to_lowercase());
        Ok(users)
    }
}

/// `user` with the roles it holds (a user is kept without them).
fn with_roles(state: &State, user: &User) -> User {
    User { roles: state.roles.get(&user.id).cloned().unwrap_or_default(), ..user.clone() }
}

impl AccountStore for MemoryStore {
    fn save_user(&self, user: &User) -> Result<(), StoreError> {
        let mut state = self.state();
        let key = user.user_name.to_lowercase();
        if state.user_names.get(&key).is_some_and(|holder| *holder != user.id) {
            return Err(StoreError::Duplicate(format!("a user named \"{}\" already exists", user.user_name)));
        }
        if let Some(old) = state.users.get(&user.id).map(|old| old.user_name.to_lowercase()) {
            state.user_names.remove(&old);
        }
        state.user_names.insert(key, user.id.clone());
        state.users.insert(user.id.clone(), user.clone());
        Ok(())
    }

    fn roles(&self, user_id: &str) -> Result<Vec<Role>, StoreError> {
        Ok(self.state().roles.get(user_id).cloned().unwrap_or_default())
    }

    fn grant_roles(&self, user_id: &str, roles: &[Role]) -> Result<usize, StoreError> {
        let mut state = self.state();
        let held = state.roles.entry(user_id.to_owned()).or_default();
        let before = held.len();
        held.extend(roles.iter().cloned());
        held.sort();
        held.dedup();
        Ok(held.len() - before)
    }

    fn revoke_roles(&self, user_id: &str, context: Option<&str>) -> Result<usize, StoreError> {
        let mut state = self.state();
        let Some(held) = state.roles.get_mut(user_id) else { return Ok(0) };
        let before = held.len();
        held.retain(|role| context.is_some_and(|c| role.context != c));
        Ok(before - held.len())
    }

    fn issue_tokens(&self, user_id: &str, purpose: &str, tokens: &[NewToken]) -> Result<(), StoreError> {
        let mut state = self.state();
        state.tokens.retain(|(p, _), (holder, _)| p != purpose || holder != user_id);
        for token in tokens {
            state.tokens.insert(pair(purpose, &token.hash), (user_id.to_owned(), token.expires_at));
        }
        Ok(())
    }

    fn redeem_token(&self, purpose: &str, hash: &str, now: Millis) -> Result<Option<String>, StoreError> {
        let mut state = self.state();
        let key = pair(purpose, hash);
        match state.tokens.get(&key) {
            Some((_, expires_at)) if *expires_at > now => Ok(state.tokens.remove(&key).map(|(user, _)| user)),
            _ => Ok(None),
        }
    }

    fn token_holder(&self, purpose: &str, hash: &str, now: Millis) -> Result<Option<String>, StoreError> {
        let state = self.state();
        Ok(state.tokens.get(&pair(purpose, hash)).filter(|(_, until)| *until > now).map(|(user, _)| user.clone()))
    }

    fn live_tokens(&self, user_id: &str, purpose: &str, now: Millis) -> Result<usize, StoreError> {
        let state = self.state();
        Ok(state.tokens.iter().filter(|((p, _), (u, until))| p == purpose && u == user_id && *until > now).count())
    }

    fn begin_authenticator(&self, user_id: &str, sealed: &str) -> Result<(), StoreError> {
        let mut state = self.state();
        let app = state.authenticators.entry(user_id.to_owned()).or_insert(Authenticator {
            secret: None,
            pending: None,
            last_step: 0,
        });
        app.pending = Some(sealed.to_owned());
        Ok(())
    }

    fn authenticator(&self, user_id: &str) -> Result<Option<Authenticator>, StoreError> {
        Ok(self.state().authenticators.get(user_id).cloned())
    }

    fn take_authenticator_step(&self, user_id: &str, step: i64, pending: Option<&str>) -> Result<bool, StoreError> {
        let mut state = self.state();
        let Some(app) = state.authenticators.get_mut(user_id) else { return Ok(false) };
        match pending {
            Some(sealed) if app.pending.as_deref() == Some(sealed) => {
                app.secret = app.pending.take();
                app.last_step = step;
                Ok(true)
            }
            None if app.secret.is_some() && step > app.last_step => {
                app.last_step = step;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn remove_authenticator(&self, user_id: &str) -> Result<bool, StoreError> {
        Ok(self.state().authenticators.remove(user_id).is_some())
    }
}

impl CodeStore for MemoryStore {
    fn issue_code(&self, code: &NewCode, limits: &IssueLimits) -> Result<Issued, StoreError> {
        let mut state = self.state();
        let slot = pair(&code.user_id, &code.purpose);
        let recent = state.codes.get(&slot).map(|c| c.recent.as_slice()).unwrap_or_default();
        let recent = match check_issue_limits(recent, code.issued_at, limits) {
            Ok(recent) => recent,
            Err(retry_after) => return Ok(Issued::Limited { retry_after }),
        };
        let stored = StoredCode {
            id: code.id.clone(),
            purpose: code.purpose.clone(),
            client: code.client.clone(),
            key_id: code.key_id.clone(),
            mac: code.mac.clone(),
            length: code.length,
            expires_at: code.expires_at,
            attempts: 0,
            max_attempts: code.max_attempts,
            status: CodeStatus::Live,
            factors: code.factors.clone(),
        };
        state.codes.insert(slot, Slot { code: stored, issued_at: code.issued_at, recent });
        Ok(Issued::Stored)
    }

    fn attempt_code(&self, user_id: &str, purpose: &str) -> Result<Option<StoredCode>, StoreError> {
        let mut state = self.state();
        let live = state.codes.get_mut(&pair(user_id, purpose)).filter(|s| s.code.status == CodeStatus::Live);
        Ok(live.map(|s| {
            s.code.attempts = s.code.attempts.saturating_add(1);
            s.code.clone()
        }))
    }

    fn consume_code(&self, user_id: &str, purpose: &str, id: &str, now: Millis) -> Result<bool, StoreError> {
        let mut state = self.state();
        Ok(match state.codes.get_mut(&pair(user_id, purpose)) {
            Some(s) if s.code.id == id && s.code.status == CodeStatus::Live && now < s.code.expires_at => {
                s.code.status = CodeStatus::Used;
                true
            }
            _ => false,
        })
    }

    fn newest_code(&self, user_id: &str) -> Result<Option<StoredCode>, StoreError> {
        let state = self.state();
        let newest = state.codes.iter().filter(|((u, _), _)| u == user_id).max_by_key(|(_, s)| s.issued_at);
        Ok(newest.map(|(_, s)| s.code.clone()))
    }

    fn record_failure(&self, subject: &str, scope: &str, now: Millis, since: Millis) -> Result<u32, StoreError> {
        let mut state = self.state();
        let failures = state.failures.entry(pair(subject, scope)).or_default();
        failures.retain(|at| *at > since);
        failures.push(now);
        Ok(u32::try_from(failures.len()).unwrap_or(u32::MAX))
    }

    fn lock(&self, subject: &str, scope: &str, until: Millis) -> Result<(), StoreError> {
        self.state().locks.insert(pair(subject, scope), until);
        Ok(())
    }

    fn locked_until(&self, subject: &str, scope: &str, now: Millis) -> Result<Option<Millis>, StoreError> {
        Ok(self.state().locks.get(&pair(subject, scope)).copied().filter(|until| *until > now))
    }

    fn clear_failures(&self, subject: &str, scope: &str) -> Result<(), StoreError> {
        let mut state = self.state();
        state.failures.remove(&pair(subject, scope));
        state.streaks.remove(&pair(subject, scope));
        Ok(())
    }

    fn add_consecutive_failure(&self, subject: &str, scope: &str) -> Result<u32, StoreError> {
        let mut state = self.state();
        let streak = state.streaks.entry(pair(subject, scope)).or_default();
        *streak = streak.saturating_add(1);
        Ok(*streak)
    }

    fn unlock(&self, subject: &str) -> Result<(), StoreError> {
        let mut state = self.state();
        state.failures.retain(|(s, _), _| s != subject);
        state.locks.retain(|(s, _), _| s != subject);
        state.streaks.retain(|(s, _), _| s != subject);
        Ok(())
    }
}

impl EntryStore for MemoryStore {
    fn create_entry(&self, id: &str, write: &EntryWrite) -> Result<(), StoreError> {
        let mut state = self.state();
        let slot = (write.component.clone(), id.to_owned());
        if state.entries.contains_key(&slot) {
            return Err(StoreError::Duplicate(format!("{} already has an entry with Id \"{id}\"", write.component)));
        }
        claim_key(&mut state, write, id, None)?;
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
        state.entries.insert(slot, (write.key.clone(), entry));
        Ok(())
    }

    fn update_entry(&self, id: &str, write: &EntryWrite) -> Result<(), StoreError> {
        let mut state = self.state();
        let slot = (write.component.clone(), id.to_owned());
        let Some((old_key, stored)) = state.entries.get(&slot) else {
            return Err(entry_not_found(&write.component, id));
        };
        let old_key = if stored.deleted { None } else { old_key.clone() };
        claim_key(&mut state, write, id, old_key)?;
        let Some((key, entry)) = state.entries.get_mut(&slot) else {
            return Err(entry_not_found(&write.component, id));
        };
        *key = write.key.clone();
        entry.data.extend(write.data.clone());
        if write.name.is_some() {
            entry.name.clone_from(&write.name);
        }
        if write.tracked {
            entry.update_subject.clone_from(&write.subject);
            entry.update_date = write.at;
        }
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
        let slot = (component.to_owned(), id.to_owned());
        let Some((key, entry)) = state.entries.get_mut(&slot) else { return Err(entry_not_found(component, id)) };
        entry.deleted = true;
        entry.update_subject = subject.map(str::to_owned);
        entry.update_date = at;
        if let Some(key) = key.clone() {
            state.keys.remove(&(component.to_owned(), key));
        }
        Ok(())
    }

    fn get_entry(&self, component: &str, id: &str) -> Result<Option<Entry>, StoreError> {
        let state = self.state();
        Ok(state.entries.get(&(component.to_owned(), id.to_owned())).map(|(_, e)| e.clone()))
    }

    fn find_entry_by_key(&self, component: &str, key: &str) -> Result<Option<Entry>, StoreError> {
        let state = self.state();
        let id = state.keys.get(&(component.to_owned(), key.to_owned()));
        Ok(id.and_then(|id| state.entries.get(&(component.to_owned(), id.clone()))).map(|(_, e)| e.clone()))
    }

    fn list_entries(&self, component: &str) -> Result<Vec<Entry>, StoreError> {
        let state = self.state();
        let mut listed: Vec<Entry> = state
            .entries
            .range((component.to_owned(), String::new())..)
            .take_while(|((c, _), _)| c == component)
            .map(|(_, (_, e))| e.clone())
            .collect();
        // Oldest first, as the SQL stores order them.
        listed.sort_by(|a, b| (a.created_date, &a.id).cmp(&(b.created_date, &b.id)));
        Ok(listed)
    }
}

/// Takes `write.key` for entry `id`, releasing `old` (the entry's previous key).
fn claim_key(state: &mut State, write: &EntryWrite, id: &str, old: Option<String>) -> Result<(), StoreError> {
    if let Some(key) = &write.key {
        match state.keys.get(&(write.component.clone(), key.clone())) {
            Some(holder) if holder != id => return Err(duplicate_key(&write.component, key)),
            _ => {}
        }
    }
    if let Some(old) = old {
        state.keys.remove(&(write.component.clone(), old));
    }
    if let Some(key) = &write.key {
        state.keys.insert((write.component.clone(), key.clone()), id.to_owned());
    }
    Ok(())
}

impl RunStore for MemoryStore {
    fn record_run(&self, run: RunRecord) -> Result<(), StoreError> {
        let mut state = self.state();
        if state.runs.capacity() < MAX_RUNS {
            // Sized once: growing by doubling would copy the whole log under the lock.
            state.runs.reserve_exact(MAX_RUNS);
        }
        while state.runs.len() >= MAX_RUNS {
            state.runs.pop_front();
        }
        state.runs.push_back(run);
        Ok(())
    }

    fn list_runs(&self, component: Option<&str>, limit: usize) -> Result<Vec<RunRecord>, StoreError> {
        let state = self.state();
        let wanted = |r: &&RunRecord| component.is_none_or(|c| r.component == c);
        Ok(state.runs.iter().rev().filter(wanted).take(limit).map(RunRecord::summary).collect())
    }

    fn get_run(&self, id: &str) -> Result<Option<RunRecord>, StoreError> {
        Ok(self.state().runs.iter().find(|r| r.id == id).cloned())
    }
}

impl OutboxStore for MemoryStore {
    fn enqueue_message(&self, message: &Message) -> Result<(), StoreError> {
        self.state().messages.push(message.clone());
        Ok(())
    }

    fn record_delivery(&self, id: &str, outcome: Result<(), &str>, at: Millis) -> Result<(), StoreError> {
        let mut state = self.state();
        let message = state
            .messages
            .iter_mut()
            .find(|m| m.id == id)
            .ok_or_else(|| StoreError::NotFound(format!("the outbox has no message \"{id}\"")))?;
        message.attempts += 1;
        message.updated_at = at;
        match outcome {
            Ok(()) => {
                message.status = MessageStatus::Sent;
                message.last_error = None;
                if message.channel != Channel::Mail {
                    message.body.clear();
                }
            }
            Err(why) => {
                message.status = MessageStatus::Failed;
                message.last_error = Some(why.to_owned());
            }
        }
        Ok(())
    }

    fn get_message(&self, id: &str) -> Result<Option<Message>, StoreError> {
        Ok(self.state().messages.iter().find(|m| m.id == id).cloned())
    }

    fn list_messages(
        &self,
        user_id: Option<&str>,
        status: Option<MessageStatus>,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let state = self.state();
        let wanted = |m: &&Message| {
            user_id.is_none_or(|u| m.user_id.as_deref() == Some(u)) && status.is_none_or(|s| m.status == s)
        };
        Ok(state.messages.iter().rev().filter(wanted).take(limit).cloned().collect())
    }
}

impl SessionStore for MemoryStore {
    fn create_session(&self, session: &Session) -> Result<(), StoreError> {
        self.state().sessions.insert(session.token_hash.clone(), session.clone());
        Ok(())
    }

    fn find_session(&self, token_hash: &str, now: Millis) -> Result<Option<Session>, StoreError> {
        Ok(self.state().sessions.get(token_hash).filter(|s| s.live_at(now)).cloned())
    }

    fn touch_session(&self, token_hash: &str, at: Millis) -> Result<(), StoreError> {
        if let Some(session) = self.state().sessions.get_mut(token_hash) {
            session.last_used_at = session.last_used_at.max(at);
        }
        Ok(())
    }

    fn list_sessions(&self, user_id: &str, now: Millis) -> Result<Vec<Session>, StoreError> {
        let state = self.state();
        let mut live: Vec<Session> =
            state.sessions.values().filter(|s| s.user_id == user_id && s.live_at(now)).cloned().collect();
        live.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        Ok(live)
    }

    fn end_sessions(&self, user_id: &str, only: Option<&str>) -> Result<usize, StoreError> {
        let mut state = self.state();
        let before = state.sessions.len();
        state.sessions.retain(|hash, s| s.user_id != user_id || only.is_some_and(|only| only != hash));
        Ok(before - state.sessions.len())
    }
}

impl ComponentStore for MemoryStore {
    fn save_component(&self, name: &str, source: &str, at: Millis, by: Option<&str>) -> Result<i64, StoreError> {
        let mut state = self.state();
        let version = state.components.iter().filter(|c| c.name == name).map(|c| c.version).max().unwrap_or(0) + 1;
        state.components.push(StoredComponent {
            name: name.to_owned(),
            version,
            source: source.to_owned(),
            saved_at: at,
            saved_by: by.map(str::to_owned),
        });
        Ok(version)
    }

    fn component_version(&self, name: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.state().components.iter().filter(|c| c.name == name).map(|c| c.version).max())
    }

    fn get_component(&self, name: &str, version: Option<i64>) -> Result<Option<StoredComponent>, StoreError> {
        let state = self.state();
        let versions = state.components.iter().filter(|c| c.name == name);
        Ok(match version {
            Some(v) => versions.into_iter().find(|c| c.version == v).cloned(),
            None => versions.max_by_key(|c| c.version).cloned(),
        })
    }

    fn list_components(&self) -> Result<Vec<StoredComponent>, StoreError> {
        let state = self.state();
        let mut latest: Vec<StoredComponent> = Vec::new();
        for c in &state.components {
            match latest.iter_mut().find(|l| l.name == c.name) {
                Some(l) if l.version < c.version => *l = c.clone(),
                Some(_) => {}
                None => latest.push(c.clone()),
            }
        }
        latest.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(latest)
    }

    fn delete_component(&self, name: &str) -> Result<bool, StoreError> {
        let mut state = self.state();
        let before = state.components.len();
        state.components.retain(|c| c.name != name);
        Ok(state.components.len() != before)
    }

    fn rename_component(&self, from: &str, to: &str) -> Result<bool, StoreError> {
        let mut state = self.state();
        if state.components.iter().any(|c| c.name == to) {
            return Err(super::name_taken(to));
        }
        let mut found = false;
        for version in state.components.iter_mut().filter(|c| c.name == from) {
            version.name = to.to_owned();
            version.source = crate::component::with_name(&version.source, to);
            found = true;
        }
        Ok(found)
    }
}

impl Store for MemoryStore {
    fn location(&self) -> String {
        "memory:".into()
    }

    fn waits(&self) -> bool {
        false
    }

    fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn purge(&self, purge: &Purge) -> Result<usize, StoreError> {
        let mut state = self.state();
        let State { codes, failures, locks, sessions, tokens, runs, .. } = &mut *state;
        let mut purged = drop_some(codes, purge.batch, |slot| {
            purge.drops_code(slot.issued_at, slot.code.expires_at, slot.code.status)
        });
        purged += drop_some(failures, purge.batch, |times| times.iter().all(|at| *at <= purge.failures_before));
        purged += drop_some(locks, purge.batch, |until| *until <= purge.now);
        purged += drop_some(sessions, purge.batch, |session| !session.live_at(purge.now));
        purged += drop_some(tokens, purge.batch, |(_, expires_at)| *expires_at <= purge.now);
        let old_runs = runs.iter().take(purge.batch).take_while(|run| run.started_at < purge.runs_before).count();
        runs.drain(..old_runs);
        Ok(purged + old_runs)
    }
}

/// Removes at most `batch` values of `map` that `drop` picks; returns how many.
fn drop_some<K: Clone + Ord, V>(map: &mut BTreeMap<K, V>, batch: usize, drop: impl Fn(&V) -> bool) -> usize {
    let doomed: Vec<K> = map.iter().filter(|(_, v)| drop(v)).map(|(k, _)| k.clone()).take(batch).collect();
    for key in &doomed {
        map.remove(key);
    }
    doomed.len()
}
