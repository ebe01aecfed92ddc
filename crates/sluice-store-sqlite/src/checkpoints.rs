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
        // log grew to 80 MB in a 10 s load test at 2,000 requests/s). Under sustained
        // saturation the writer commits too often for the log ever to be fully copied at its
        // next transaction, and the log still grows to the backstop (docs/performance.md).
        let hook = move |wal: &mut Wal, pages: i32| {
            after_commit(pages, || wal.checkpoint(), &signal);
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

/// What the writing connection does after each commit, with `pages` pages of log: past
/// [`OVERDUE_PAGES`] it runs `checkpoint` itself; past [`DUE_PAGES`] (or when its own
/// checkpoint fails, as it does while the thread holds SQLite's checkpoint lock) it wakes the
/// thread.
///
/// It never fails: the commit is already done, and a hook that returns an error makes SQLite
/// report the COMMIT as failed — every write of the batch would be answered with an error
/// although it was written (under load: 234 runs "could not be recorded", a "SQL logic error").
fn after_commit(pages: i32, checkpoint: impl FnOnce() -> rusqlite::Result<()>, shared: &Shared) {
    if pages >= OVERDUE_PAGES && checkpoint().is_ok() {
        return;
    }
    if pages >= DUE_PAGES {
        shared.set(|s| s.due = true);
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
    use std::cell::Cell;
    use std::time::{Duration, Instant};

    use rusqlite::ffi;

    use super::*;

    /// Calls `after_commit` at `pages` with a checkpoint answering `result`: whether it was
    /// called, and whether the thread was woken.
    fn after(pages: i32, result: rusqlite::Result<()>) -> (bool, bool) {
        let shared = Shared::default();
        let called = Cell::new(false);
        after_commit(
            pages,
            || {
                called.set(true);
                result
            },
            &shared,
        );
        let due = shared.signal.lock().unwrap().due;
        (called.get(), due)
    }

    #[test]
    fn a_commit_wakes_the_thread_past_the_due_log_and_checkpoints_itself_only_past_the_overdue_one() {
        assert_eq!(after(DUE_PAGES - 1, Ok(())), (false, false));
        assert_eq!(after(DUE_PAGES, Ok(())), (false, true));
        assert_eq!(after(OVERDUE_PAGES, Ok(())), (true, false));
        // The thread holds the checkpoint lock: the commit stands and the thread goes on.
        let busy = rusqlite::Error::SqliteFailure(ffi::Error::new(ffi::SQLITE_BUSY), None);
        assert_eq!(after(OVERDUE_PAGES, Err(busy)), (true, true));
    }

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
