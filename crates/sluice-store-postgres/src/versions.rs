//! The latest version of each component, cached per process and kept current by PostgreSQL
//! notifications: a server checks the version on every request, and asking the database each
//! time would cost a round trip per run.
//!
//! Every save and delete sends `NOTIFY sluice_components, '<name>'` in its own statement; each
//! replica listens on a connection of its own and forgets the name it hears. While that
//! connection is down (and until it listens again) nothing is cached, and every version comes
//! from the database. A version read while a notification arrives is not cached (a generation
//! count tells), so a stale version never outlives the notification that voids it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio_postgres::{AsyncMessage, NoTls};

/// The channel saves and deletes notify.
pub const CHANNEL: &str = "sluice_components";

/// Cached latest versions (`None`: no such component).
#[derive(Debug, Default)]
pub struct Versions {
    known: Mutex<HashMap<String, Option<i64>>>,
    /// Bumped by every notification and every change of `listening`.
    generation: AtomicU64,
    listening: AtomicBool,
}

impl Versions {
    /// The cached version of `name`, when there is one to trust.
    pub fn get(&self, name: &str) -> Option<Option<i64>> {
        if !self.listening.load(Ordering::Acquire) {
            return None;
        }
        self.known.lock().unwrap_or_else(PoisonError::into_inner).get(name).copied()
    }

    /// Where a read starts: pass it to [`Versions::put`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches what a read that started at `generation` found, unless something changed since.
    pub fn put(&self, name: &str, version: Option<i64>, generation: u64) {
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        if self.listening.load(Ordering::Acquire) && self.generation() == generation {
            known.insert(name.to_owned(), version);
        }
    }

    /// Drops what is cached for `name` (on a notification, or a save or delete here).
    pub fn forget(&self, name: &str) {
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        known.remove(name);
    }

    fn set_listening(&self, on: bool) {
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.listening.store(on, Ordering::Release);
        known.clear();
    }
}

/// Listens for notifications for ever (run it on the store's runtime), reconnecting after a
/// second when the connection drops.
pub async fn listen(config: tokio_postgres::Config, versions: Arc<Versions>) {
    loop {
        if let Ok((client, mut connection)) = config.connect(NoTls).await {
            // The connection must be polled for LISTEN to complete; the client lives in the task
            // that sends it, until the connection ends.
            let (done, mut ended) = tokio::sync::oneshot::channel::<()>();
            let subscriber = Arc::clone(&versions);
            tokio::spawn(async move {
                if client.batch_execute(&format!("LISTEN {CHANNEL}")).await.is_ok() {
                    subscriber.set_listening(true);
                }
                let _ = (&mut ended).await;
            });
            while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                match message {
                    Ok(AsyncMessage::Notification(note)) if note.channel() == CHANNEL => {
                        versions.forget(note.payload())
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            drop(done);
        }
        versions.set_listening(false);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
