//! Group commit: records written by many threads at once share one database write.
//!
//! A caller [`join`](GroupCommit::join)s the queue, then waits for the writer's turn (the
//! store's `run_writer` lock). Holding the turn it asks
//! [`GroupCommit::turn`]: if an earlier turn already wrote its record, that turn's result is its
//! own; otherwise it takes everything queued, writes it in one go and
//! [`finish`](Batch::finish)es the batch, which tells every caller in it how the write went.
//! Either way a caller returns only once its record is written (or its failure known).

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use sluice_core::store::StoreError;

/// Where the writer of a batch leaves how the write went.
type Written = Arc<OnceLock<Result<(), StoreError>>>;

/// A queue of records waiting for the next batch write.
#[derive(Debug)]
pub struct GroupCommit<T> {
    pending: Mutex<Vec<(T, Written)>>,
}

impl<T> Default for GroupCommit<T> {
    fn default() -> Self {
        GroupCommit { pending: Mutex::new(Vec::new()) }
    }
}

/// A caller's place in the queue.
#[derive(Debug)]
pub struct Ticket(Written);

/// What a caller holding the writer's turn does next.
#[derive(Debug)]
pub enum Turn<T> {
    /// An earlier turn wrote the caller's record: this is how it went.
    Done(Result<(), StoreError>),
    /// The caller writes these records (its own among them), then calls [`Batch::finish`].
    Write(Batch<T>),
}

/// Records taken from the queue by one writer.
#[derive(Debug)]
pub struct Batch<T> {
    /// The records, in the order they joined.
    pub records: Vec<T>,
    written: Vec<Written>,
}

impl<T> GroupCommit<T> {
    /// Queues `record` for the next batch.
    pub fn join(&self, record: T) -> Ticket {
        let written = Written::default();
        self.pending.lock().unwrap_or_else(PoisonError::into_inner).push((record, written.clone()));
        Ticket(written)
    }

    /// Called while holding the writer's turn: the ticket's result if it is known, else the
    /// batch of everything queued.
    pub fn turn(&self, ticket: &Ticket) -> Turn<T> {
        if let Some(done) = ticket.0.get() {
            return Turn::Done(done.clone());
        }
        let queued = std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        let (records, written) = queued.into_iter().unzip();
        Turn::Write(Batch { records, written })
    }
}

impl<T> Batch<T> {
    /// Tells every caller in the batch how the write went, and returns it.
    pub fn finish(self, result: Result<(), StoreError>) -> Result<(), StoreError> {
        for written in &self.written {
            // Each slot is set once: a batch owns its records' slots alone.
            let _ = written.set(result.clone());
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_turn_writes_everything_queued_and_later_turns_only_read_the_result() {
        let queue = GroupCommit::default();
        let first = queue.join("a");
        let second = queue.join("b");
        let Turn::Write(batch) = queue.turn(&first) else { panic!("the first turn writes") };
        assert_eq!(batch.records, ["a", "b"]);
        assert_eq!(
            batch.finish(Err(StoreError::Unavailable("disk full".into()))),
            Err(StoreError::Unavailable("disk full".into()))
        );
        match queue.turn(&second) {
            Turn::Done(result) => assert_eq!(result, Err(StoreError::Unavailable("disk full".into()))),
            Turn::Write(_) => panic!("the second record was already written"),
        }
        let third = queue.join("c");
        let Turn::Write(batch) = queue.turn(&third) else { panic!("a new record needs a new write") };
        assert_eq!(batch.records, ["c"]);
        assert_eq!(batch.finish(Ok(())), Ok(()));
    }

    #[test]
    fn threads_racing_for_the_turn_each_see_their_record_written_once() {
        let queue = GroupCommit::default();
        let turn = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for i in 0..16 {
                let (queue, turn) = (&queue, &turn);
                s.spawn(move || {
                    let ticket = queue.join(i);
                    let mut written = turn.lock().unwrap();
                    match queue.turn(&ticket) {
                        Turn::Done(result) => result.unwrap(),
                        Turn::Write(batch) => {
                            written.extend(batch.records.iter().copied());
                            batch.finish(Ok(())).unwrap();
                        }
                    }
                    assert!(written.contains(&i));
                });
            }
        });
        let mut written = turn.into_inner().unwrap();
        written.sort_unstable();
        assert_eq!(written, (0..16).collect::<Vec<_>>());
    }
}
