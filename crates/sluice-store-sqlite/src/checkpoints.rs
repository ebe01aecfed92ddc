//! WAL checkpoints on a thread of their own, so that no write waits for one.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses 1,000 pages of log, and
//! its fsync waits for every page written before it: under load that commit took 20 – 114 ms,
//! and every write queued behind it waited too (docs/performance.md). Here the writing
//! connection only notes that a checkpoint is due; a thread with a connection of its own runs
//! a `PASSIVE` checkpoint, which copies the log into the database while writes go on. Should
//! that thread fall behind, the writing connection checkpoints itself past a larger log.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use rusqlite::Connection;
use rusqlite::hooks::Wal;
use sluice_core::store::StoreError;

use crate::{connect, unavailable};

/// Log pages after which the thread checkpoints (SQLite's own default).
const DUE_PAGES: i32 = 1_000;
/// Log pages after which the writing connection checkpoints itself.
const OVERDUE_PAGES: i32 = 20_000;

#[derive(Debug, Default)]
struct Signal {
    due: bool,
    closing: bool,
}

#[derive(Debug, Default)]
struct Shared {
    signal: Mutex<Signal>,
    wake: Condvar,
}

impl Shared {
    fn set(&self, change: impl FnOnce(&mut Signal)) {
        change(&mut self.signal.lock().unwrap_or_else(PoisonError::into_inner));
        self.wake.notify_one();
    }
}

/// The checkpoint thread of one store; it stops when dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread and hands the checkpoints of `writer`'s log over to it.
    pub(crate) fn start(path: &Path, writer: &mut Connection) -> Result<Checkpointer, StoreError> {
        let conn = connect(path)?;
        let shared = Arc::new(Shared::default());
        let thread = std::thread::Builder::new()
            .name("sluice-sqlite-checkpoints".into())
            .spawn({
                let shared = shared.clone();
                move || checkpoint_when_due(&conn, &shared)
            })
            .map_err(|e| StoreError::Unavailable(format!("cannot start the checkpoint thread: {e}")))?;
        let signal = shared.clone();
        // Due as long as the log is long: a `PASSIVE` checkpoint that keeps up with the writes
        // lets the log restart from its beginning whenever no reader is on old pages (one that
        // lags a thousand pages behind, as SQLite's own does, kept it from restarting: the
        // log grew to 80 MB in a 10 s load test).
        let hook = move |wal: &mut Wal, pages: i32| {
            if pages >= OVERDUE_PAGES {
                wal.checkpoint()?;
            } else if pages >= DUE_PAGES {
                signal.set(|s| s.due = true);
            }
            Ok(())
        };
        writer.wal_hook(Some(hook)).map_err(|e| unavailable(path, e))?;
        Ok(Checkpointer { shared, thread: Some(thread) })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.shared.set(|s| s.closing = true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn checkpoint_when_due(conn: &Connection, shared: &Shared) {
    loop {
        {
            let mut signal = shared.signal.lock().unwrap_or_else(PoisonError::into_inner);
            while !signal.due && !signal.closing {
                signal = shared.wake.wait(signal).unwrap_or_else(PoisonError::into_inner);
            }
            if signal.closing {
                return;
            }
            signal.due = false;
        }
        // A checkpoint that fails or cannot finish (readers still on old pages) is simply
        // tried again when the next commit finds it due; the log is never lost, only longer.
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn a_long_log_is_copied_into_the_database_by_the_thread_not_by_the_commits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let mut conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (v BLOB)").unwrap();
        let checkpoints = Checkpointer::start(&path, &mut conn).unwrap();
        // About 1,500 pages of log in commits of one 6 kB row each.
        for _ in 0..1_000 {
            conn.execute("INSERT INTO t VALUES (zeroblob(6000))", []).unwrap();
        }
        // The commits only asked; the thread copies the log into the database file.
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::fs::metadata(&path).unwrap().len() < 4 << 20 {
            assert!(Instant::now() < deadline, "no checkpoint copied the log into the database");
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(checkpoints);
        let rows: i64 = conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 1_000);
    }
}
