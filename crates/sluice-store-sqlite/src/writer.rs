//! The store's one writer: the writes waiting at any moment run in one transaction.
//!
//! A caller queues its write as a job. Whoever holds the writing connection — the caller
//! itself when no one does — takes every job queued, opens one `BEGIN IMMEDIATE`
//! transaction, runs each job in a savepoint of its own (a job that fails undoes only its
//! own statements) and commits once; only then does any caller get its answer, so an answered
//! write is a committed one. A caller writes one batch — the one holding its own job — and
//! hands the connection to the caller of the first job queued since, so no caller keeps
//! writing the others' batches while its own request waits. Alone, a write runs on its
//! caller's thread with no hand-off; under load two or three transactions per request become
//! one per batch (see docs/performance.md).
//!
//! Under concurrent writes a batch about to begin with only a few writes first yields its core
//! once, so that the threads running meanwhile queue theirs into it (PostgreSQL's
//! `commit_delay` with `commit_siblings`, without a fixed sleep): see `gather`.
//!
//! A detached write (a run's record) has no caller waiting: it joins the next batch and its
//! caller goes on at once. When only detached writes are left in the queue, the thread letting
//! the connection go writes them, so none is left behind; [`Writer::settle`] waits for those
//! queued before it, for reads that must see them.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use rusqlite::Connection;
use sluice_core::store::StoreError;

use crate::{Failure, exec, unavailable};

/// What a waiting caller hears.
enum Reply<T> {
    /// Its write's answer, once the batch is over.
    Done(Result<T, StoreError>),
    /// The connection is free and jobs are waiting (its own among them, or already written):
    /// write the next batch.
    Lead,
}

/// A queued write: run it inside a batch, then tell its caller.
trait Job: Send {
    /// Runs the job's statements; `false` when it failed (its savepoint is rolled back).
    fn run(&mut self, conn: &Connection, path: &Path) -> bool;
    /// Answers the caller once the batch is over: `committed` is the batch's commit.
    fn answer(self: Box<Self>, committed: &Result<(), StoreError>);
    /// Asks the caller to write the next batch; `false` when no caller waits for the job.
    fn lead(&self) -> bool;
}

/// A caller's write and where its answer goes.
struct Pending<T, F> {
    work: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: Sender<Reply<T>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, Failure> + Send,
{
    fn run(&mut self, conn: &Connection, path: &Path) -> bool {
        let Some(work) = self.work.take() else { return false };
        let result = run_work(work, conn, path);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn answer(self: Box<Self>, committed: &Result<(), StoreError>) {
        let result = match (self.result, committed) {
            (Some(Ok(_)), Err(e)) => Err(e.clone()),
            (Some(result), _) => result,
            (None, Err(e)) => Err(e.clone()),
            (None, Ok(())) => Err(StoreError::Unavailable("the write was never run".into())),
        };
        // The caller may have gone (it cannot: it waits); nothing to do then.
        let _ = self.reply.send(Reply::Done(result));
    }

    fn lead(&self) -> bool {
        self.reply.send(Reply::Lead).is_ok()
    }
}

/// A write no caller waits for: its failure is logged, with what it was.
struct Detached<F> {
    what: &'static str,
    work: Option<F>,
    failure: Option<StoreError>,
    pending: Arc<AtomicUsize>,
}

impl<F> Job for Detached<F>
where
    F: FnOnce(&Connection) -> Result<(), Failure> + Send,
{
    fn run(&mut self, conn: &Connection, path: &Path) -> bool {
        let Some(work) = self.work.take() else { return false };
        self.failure = run_work(work, conn, path).err();
        self.failure.is_none()
    }

    fn answer(self: Box<Self>, committed: &Result<(), StoreError>) {
        if let Some(e) = self.failure.as_ref().or(committed.as_ref().err()) {
            tracing::warn!(error = %e, "{} could not be written", self.what);
        }
        self.pending.fetch_sub(1, Ordering::Release);
    }

    fn lead(&self) -> bool {
        false
    }
}

/// Runs one job's statements; a panic is the job's failure, not the writer's.
fn run_work<T>(
    work: impl FnOnce(&Connection) -> Result<T, Failure>,
    conn: &Connection,
    path: &Path,
) -> Result<T, StoreError> {
    catch_unwind(AssertUnwindSafe(|| work(conn)))
        .unwrap_or_else(|_| Err(Failure::Store(StoreError::Unavailable("a database write panicked".into()))))
        .map_err(|f| f.into_store_error(path))
}

/// The writing connection of one store and the writes waiting for it.
pub(crate) struct Writer {
    path: PathBuf,
    conn: Mutex<Connection>,
    queue: Mutex<VecDeque<Box<dyn Job>>>,
    /// Detached writes not yet committed (or failed).
    detached: Arc<AtomicUsize>,
    /// How many writes the last batch held: more than one means others are writing too.
    last_batch: AtomicUsize,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Writer {
    /// The writer on `conn` (already migrated).
    pub(crate) fn new(conn: Connection, path: PathBuf) -> Writer {
        Writer {
            path,
            conn: Mutex::new(conn),
            queue: Mutex::default(),
            detached: Arc::default(),
            last_batch: AtomicUsize::new(0),
        }
    }

    /// Runs `work` in the next batch and returns its result once the batch is committed.
    pub(crate) fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Failure> + Send + 'static,
    {
        let (reply, replies) = channel();
        self.queue().push_back(Box::new(Pending { work: Some(work), result: None, reply }));
        self.write_queued();
        loop {
            match replies.recv() {
                Ok(Reply::Done(result)) => return result,
                Ok(Reply::Lead) => self.write_queued(),
                Err(_) => return Err(StoreError::Unavailable("the write was dropped unanswered".into())),
            }
        }
    }

    /// Queues `work` for the next batch and returns at once: the write is committed with that
    /// batch, written by whoever holds the connection then (this thread, when no one does).
    /// Its failure is logged as "`what` could not be written", as no one waits for it.
    /// [`Writer::settle`] waits for it.
    pub(crate) fn write_detached<F>(&self, what: &'static str, work: F)
    where
        F: FnOnce(&Connection) -> Result<(), Failure> + Send + 'static,
    {
        self.detached.fetch_add(1, Ordering::Release);
        let job = Detached { what, work: Some(work), failure: None, pending: self.detached.clone() };
        self.queue().push_back(Box::new(job));
        self.write_queued();
    }

    /// Returns once every detached write queued before the call is committed (or failed).
    pub(crate) fn settle(&self) -> Result<(), StoreError> {
        if self.detached.load(Ordering::Acquire) == 0 {
            return Ok(());
        }
        // Batches are written in the order queued: this one's commit follows theirs.
        self.write(|_| Ok(()))
    }

    fn queue(&self) -> MutexGuard<'_, VecDeque<Box<dyn Job>>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes one batch of everything queued, unless another thread holds the connection
    /// (that thread then writes the queue, or hands it on); then the detached writes queued
    /// meanwhile, if no caller is left waiting to write them.
    ///
    /// No job is left behind: after letting the connection go, the writer asks the first
    /// caller still waiting in the queue to write the next batch. A job queued later finds the
    /// connection free, or held by a thread that has yet to look at the queue; a caller asked
    /// to lead that finds the connection taken waits again, for the holder will look too.
    fn write_queued(&self) {
        loop {
            let conn = match self.conn.try_lock() {
                Ok(conn) => conn,
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => return,
            };
            let mut batch: Vec<Box<dyn Job>> = self.queue().drain(..).collect();
            if gather(self.last_batch.load(Ordering::Relaxed), batch.len()) {
                std::thread::yield_now();
                batch.extend(self.queue().drain(..));
            }
            if !batch.is_empty() {
                self.last_batch.store(batch.len(), Ordering::Relaxed);
                let committed = run_batch(&conn, &self.path, &mut batch);
                batch.into_iter().for_each(|job| job.answer(&committed));
            }
            if !self.release(conn) {
                return;
            }
        }
    }

    /// Runs `work` while no batch is written: waits for the batch in progress and keeps the
    /// next one from beginning until `work` returns. The writes queued meanwhile wait, and
    /// then go on as after any batch.
    pub(crate) fn hold<R>(&self, work: impl FnOnce() -> R) -> R {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let result = work();
        if self.release(conn) {
            self.write_queued();
        }
        result
    }

    /// Lets the connection go, then asks the caller of the first job still queued to write
    /// the next batch (in that order: a job queued after the look finds the connection free).
    /// `true` when only detached writes are queued, which no caller would write: the releasing
    /// thread writes them.
    fn release(&self, conn: MutexGuard<'_, Connection>) -> bool {
        drop(conn);
        let queue = self.queue();
        // `lead` asks the first job's caller that still waits; detached jobs have none.
        !queue.iter().any(|job| job.lead()) && !queue.is_empty()
    }
}

/// A batch beginning with fewer writes queued than this gathers more first (under concurrent
/// writes).
const GATHER_BELOW: usize = 4;

/// Whether the thread about to write a batch of `queued` writes should first yield its core
/// once (it keeps the connection): when the last batch held more than one write, other
/// threads are writing, and those running while this one yields queue their writes into this
/// batch instead of the next. A lone writer never yields, and on an idle machine a yield
/// returns at once.
///
/// On 2 cores under 64 connections this took SQLite's p99 from 9.4 – 16 ms to 7.6 – 9 ms, with
/// about 3% more requests/s (docs/performance.md); yielding before every batch gathered too
/// much (4 – 7% fewer requests/s), and any threshold from 2 to 8 did about as well as 4. The
/// yield gives the core to any thread waiting for it, another process's too: beside a process
/// that keeps a core busy, a batch may begin a time slice later.
fn gather(last_batch: usize, queued: usize) -> bool {
    last_batch > 1 && queued < GATHER_BELOW
}

/// Runs `jobs` in one transaction and commits; the error is the whole batch's.
fn run_batch(conn: &Connection, path: &Path, jobs: &mut [Box<dyn Job>]) -> Result<(), StoreError> {
    let sql = |e| unavailable(path, e);
    statement(conn, "BEGIN IMMEDIATE").map_err(sql)?;
    let ran = match jobs {
        // Alone in its batch, a job that fails is undone by rolling the transaction back.
        [job] => Ok(job.run(conn, path)),
        _ => run_in_savepoints(conn, path, jobs).map(|()| true),
    };
    let ended = match ran {
        Ok(true) => statement(conn, "COMMIT").map_err(sql),
        // The failed job's own error is its answer.
        Ok(false) => statement(conn, "ROLLBACK").map_err(sql),
        Err(e) => Err(sql(e)),
    };
    if ended.is_err() {
        // After a failed COMMIT the transaction is still open: end it so the next batch can begin.
        let _ = statement(conn, "ROLLBACK");
    }
    ended
}

/// Runs each job in a savepoint of its own, so that one failing undoes only its own writes.
fn run_in_savepoints(conn: &Connection, path: &Path, jobs: &mut [Box<dyn Job>]) -> rusqlite::Result<()> {
    for job in jobs {
        statement(conn, "SAVEPOINT job")?;
        if !job.run(conn, path) {
            statement(conn, "ROLLBACK TO job")?;
        }
        statement(conn, "RELEASE job")?;
    }
    Ok(())
}

/// A statement without parameters, through the statement cache.
fn statement(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    exec(conn, sql, []).map(drop)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::{Arc, mpsc};

    use super::*;

    type Work = Box<dyn FnOnce(&Connection) -> Result<(), Failure> + Send>;

    fn writer_on_table() -> (tempfile::TempDir, Arc<Writer>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let conn = Connection::open(&path).unwrap();
        // `child` checks its foreign key at COMMIT: an orphan makes a batch's commit fail.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; CREATE TABLE t (k TEXT PRIMARY KEY);
             CREATE TABLE child (k TEXT REFERENCES t (k) DEFERRABLE INITIALLY DEFERRED)",
        )
        .unwrap();
        (dir, Arc::new(Writer::new(conn, path)))
    }

    fn insert(k: &'static str) -> Work {
        Box::new(move |conn| Ok(conn.execute("INSERT INTO t VALUES (?1)", [k]).map(drop)?))
    }

    fn insert_then_fail(k: &'static str) -> Work {
        Box::new(move |conn| {
            conn.execute("INSERT INTO t VALUES (?1)", [k])?;
            Err(StoreError::NotFound(format!("{k} went wrong")).into())
        })
    }

    fn keys(writer: &Writer) -> Vec<String> {
        writer
            .write(|conn| {
                let mut stmt = conn.prepare("SELECT k FROM t ORDER BY k")?;
                let keys = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
                Ok(keys)
            })
            .unwrap()
    }

    /// The rows committed, as another connection sees them.
    fn committed_rows(writer: &Writer) -> i64 {
        let other = Connection::open(&writer.path).unwrap();
        other.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn a_batch_gathers_more_writes_only_when_others_write_and_few_are_queued() {
        // A lone writer (the last batch held its one write, or none yet) goes straight on.
        assert!(!gather(0, 1));
        assert!(!gather(1, 1));
        // Others are writing: a short queue waits for a moment, a long one does not.
        assert!(gather(2, 1));
        assert!(gather(7, GATHER_BELOW - 1));
        assert!(!gather(7, GATHER_BELOW));
    }

    fn queued(writer: &Writer) -> usize {
        writer.queue().len()
    }

    /// Runs `jobs` as one batch: a first write holds the writer until all of them are queued.
    fn in_one_batch(writer: &Arc<Writer>, jobs: Vec<Work>) -> Vec<Result<(), StoreError>> {
        let (started, running) = mpsc::channel();
        let (release, held) = mpsc::channel::<()>();
        let holder = std::thread::spawn({
            let writer = writer.clone();
            move || {
                writer.write(move |_| {
                    started.send(()).unwrap();
                    held.recv().unwrap();
                    Ok(())
                })
            }
        });
        running.recv().unwrap();
        let waiting: Vec<_> = jobs
            .into_iter()
            .enumerate()
            .map(|(i, job)| {
                let handle = std::thread::spawn({
                    let writer = writer.clone();
                    move || writer.write(job)
                });
                while queued(writer) <= i {
                    std::thread::yield_now();
                }
                handle
            })
            .collect();
        release.send(()).unwrap();
        assert_eq!(holder.join().unwrap(), Ok(()));
        waiting.into_iter().map(|h| h.join().unwrap()).collect()
    }

    #[test]
    fn a_caller_writes_one_batch_and_hands_the_next_to_a_caller_waiting_in_it() {
        let (_dir, writer) = writer_on_table();
        // The first caller's write holds the connection until a second write is queued; that
        // one holds the next batch until the first caller has had its answer.
        let (first_running, first_started) = mpsc::channel();
        let (first_release, first_held) = mpsc::channel::<()>();
        let (first_answered, first_answer) = mpsc::channel();
        std::thread::spawn({
            let writer = writer.clone();
            move || {
                let answer = writer.write(move |_| {
                    first_running.send(()).unwrap();
                    first_held.recv().unwrap();
                    Ok(())
                });
                first_answered.send(answer).unwrap();
            }
        });
        first_started.recv().unwrap();
        let (second_release, second_held) = mpsc::channel::<()>();
        let second = std::thread::spawn({
            let writer = writer.clone();
            move || {
                let caller = std::thread::current().id();
                writer.write(move |conn| {
                    second_held.recv().unwrap();
                    conn.execute("INSERT INTO t VALUES ('second')", [])?;
                    Ok(std::thread::current().id() == caller)
                })
            }
        });
        while queued(&writer) == 0 {
            std::thread::yield_now();
        }
        first_release.send(()).unwrap();
        let answer = first_answer.recv_timeout(std::time::Duration::from_secs(10));
        second_release.send(()).unwrap();
        assert_eq!(answer, Ok(Ok(())), "the first caller went on writing the second batch");
        assert_eq!(second.join().unwrap(), Ok(true), "the second batch ran on its own caller's thread");
        assert_eq!(keys(&writer), ["second"]);
    }

    /// A call that runs on a thread of its own while the writer is held.
    pub(crate) type HeldCall<T> = Box<dyn FnOnce() -> T + Send>;

    /// Starts each of `calls` on a thread of its own while the writer is held (by [`held`]),
    /// ends the hold once they have all begun, and returns each result with whether it came only
    /// after the hold ended. A call that must wait for the writer returns `(_, true)`; one that
    /// does not wait returns meanwhile with `false`. (A thread slow to reach its call can only
    /// hide a call that does not wait, never fail one that does.)
    pub(crate) fn during_hold<T: Send + 'static>(
        (release, holder): (mpsc::Sender<()>, std::thread::JoinHandle<()>),
        calls: Vec<HeldCall<T>>,
    ) -> Vec<(T, bool)> {
        let released = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (began, beginning) = mpsc::channel();
        let answers: Vec<_> = calls
            .into_iter()
            .map(|call| {
                let (began, released) = (began.clone(), released.clone());
                let (done, answer) = mpsc::channel();
                std::thread::spawn(move || {
                    began.send(()).unwrap();
                    let result = call();
                    done.send((result, released.load(Ordering::SeqCst))).unwrap();
                });
                answer
            })
            .collect();
        for _ in &answers {
            beginning.recv().unwrap();
        }
        // Time for a call that does not wait to return before the hold ends.
        std::thread::sleep(std::time::Duration::from_millis(100));
        released.store(true, Ordering::SeqCst);
        release.send(()).unwrap();
        holder.join().unwrap();
        answers
            .into_iter()
            .map(|answer| answer.recv_timeout(std::time::Duration::from_secs(10)).expect("a call never returned"))
            .collect()
    }

    /// Holds the writer from another thread until the returned sender is used (or dropped).
    pub(crate) fn held(writer: &Arc<Writer>) -> (mpsc::Sender<()>, std::thread::JoinHandle<()>) {
        let (holding, held) = mpsc::channel();
        let (release, released) = mpsc::channel::<()>();
        let holder = std::thread::spawn({
            let writer = writer.clone();
            move || {
                writer.hold(|| {
                    holding.send(()).unwrap();
                    let _ = released.recv();
                })
            }
        });
        held.recv().unwrap();
        (release, holder)
    }

    #[test]
    fn a_write_queued_while_the_writer_is_held_waits_and_then_goes_on() {
        let (_dir, writer) = writer_on_table();
        let hold = held(&writer);
        let write: HeldCall<_> = Box::new({
            let writer = writer.clone();
            move || writer.write(insert("w"))
        });
        let [(written, after_the_hold)] = during_hold(hold, vec![write]).try_into().unwrap();
        assert!(after_the_hold, "a write went on while the writer was held");
        assert_eq!(written, Ok(()), "the write queued during the hold was never written");
        assert_eq!(keys(&writer), ["w"]);
    }

    #[test]
    fn a_detached_write_returns_at_once_and_the_busy_thread_commits_it_before_it_goes() {
        let (_dir, writer) = writer_on_table();
        let (release, holder) = held(&writer);
        // Returns although the writer is held: no one waits for a detached write.
        writer.write_detached("a row", insert("d"));
        writer.write_detached("a row", insert("e"));
        assert_eq!(committed_rows(&writer), 0);
        release.send(()).unwrap();
        holder.join().unwrap();
        // No caller waits in the queue, so the releasing thread wrote the batch itself.
        assert_eq!(queued(&writer), 0);
        assert_eq!(committed_rows(&writer), 2);
    }

    #[test]
    fn settle_returns_once_every_detached_write_queued_before_it_is_committed() {
        let (_dir, writer) = writer_on_table();
        let hold = held(&writer);
        writer.write_detached("a row", insert("d"));
        let settle: HeldCall<_> = Box::new({
            let writer = writer.clone();
            move || (writer.settle(), committed_rows(&writer))
        });
        let [((result, rows), after_the_hold)] = during_hold(hold, vec![settle]).try_into().unwrap();
        assert!(after_the_hold, "settle did not wait");
        assert_eq!((result, rows), (Ok(()), 1), "settle returned before the detached write was committed");
    }

    #[test]
    fn a_failing_detached_write_undoes_only_its_own_statements_and_settle_does_not_wait_for_it_again() {
        let (_dir, writer) = writer_on_table();
        let (release, holder) = held(&writer);
        writer.write_detached("a row", insert("a"));
        writer.write_detached("a row", insert_then_fail("b"));
        writer.write_detached("a row", insert("c"));
        release.send(()).unwrap();
        holder.join().unwrap();
        assert_eq!(keys(&writer), ["a", "c"]);
        assert_eq!(writer.detached.load(Ordering::Acquire), 0);
        assert_eq!(committed_rows(&writer), 2);
    }

    #[test]
    fn in_a_shared_batch_a_failing_write_undoes_only_its_own_statements() {
        let (_dir, writer) = writer_on_table();
        let answers = in_one_batch(&writer, vec![insert("b"), insert_then_fail("c"), insert("d"), insert("b")]);
        assert_eq!(answers[0], Ok(()));
        assert_eq!(answers[1], Err(StoreError::NotFound("c went wrong".into())));
        assert_eq!(answers[2], Ok(()));
        let duplicate = answers[3].clone().unwrap_err().to_string();
        assert!(duplicate.contains("UNIQUE constraint failed"), "{duplicate}");
        assert_eq!(keys(&writer), ["b", "d"]);
    }

    #[test]
    fn a_write_alone_in_its_batch_that_fails_is_rolled_back_and_the_writer_goes_on() {
        let (_dir, writer) = writer_on_table();
        assert_eq!(writer.write(insert_then_fail("x")), Err(StoreError::NotFound("x went wrong".into())));
        let panicked = writer.write(|_| -> Result<(), Failure> { panic!("a bug in a write") });
        assert_eq!(panicked, Err(StoreError::Unavailable("a database write panicked".into())));
        assert_eq!(writer.write(insert("y")), Ok(()));
        assert_eq!(keys(&writer), ["y"]);
    }

    #[test]
    fn an_answered_write_is_committed_and_seen_by_other_connections() {
        let (_dir, writer) = writer_on_table();
        let answers = in_one_batch(&writer, vec![insert("p"), insert("q")]);
        assert_eq!(answers, [Ok(()), Ok(())]);
        assert_eq!(committed_rows(&writer), 2);
    }

    #[test]
    fn when_the_commit_fails_every_write_of_the_batch_hears_it_and_the_writer_goes_on() {
        let (_dir, writer) = writer_on_table();
        let orphan: Work = Box::new(|conn| Ok(conn.execute("INSERT INTO child VALUES ('nobody')", []).map(drop)?));
        let answers = in_one_batch(&writer, vec![insert("m"), orphan]);
        for answer in &answers {
            let error = answer.clone().unwrap_err().to_string();
            assert!(error.contains("FOREIGN KEY constraint failed"), "{error}");
        }
        assert_eq!(keys(&writer), Vec::<String>::new());
        assert_eq!(writer.write(insert("after")), Ok(()));
        assert_eq!(keys(&writer), ["after"]);
    }

    #[test]
    fn many_threads_writing_at_once_are_all_answered_and_all_written() {
        let (_dir, writer) = writer_on_table();
        let (done, finished) = mpsc::channel();
        for t in 0..16 {
            let (writer, done) = (writer.clone(), done.clone());
            std::thread::spawn(move || {
                for i in 0..100 {
                    let key = format!("{t}-{i}");
                    writer.write(move |conn| Ok(conn.execute("INSERT INTO t VALUES (?1)", [key]).map(drop)?)).unwrap();
                }
                done.send(()).unwrap();
            });
        }
        for _ in 0..16 {
            // A job left in the queue with no one to write it would leave its caller waiting.
            finished.recv_timeout(std::time::Duration::from_secs(60)).expect("a write was never answered");
        }
        assert_eq!(keys(&writer).len(), 1600);
    }
}
