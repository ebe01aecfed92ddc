//! Read-only connections: in WAL mode readers never wait for the writer, nor for each other.

use std::path::Path;
use std::sync::{Mutex, PoisonError};

use rusqlite::{Connection, OpenFlags};
use sluice_core::store::StoreError;

use crate::{Failure, configure, unavailable};

/// Idle connections kept for the next reads; more are opened while more threads read at once
/// and closed when they come back to a full pool.
const KEEP_IDLE: usize = 16;

/// A pool of read-only connections to one database file.
#[derive(Debug, Default)]
pub(crate) struct Readers {
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    /// Runs `read` on an idle connection (opening one when none is idle).
    pub(crate) fn read<T>(
        &self,
        path: &Path,
        read: impl FnOnce(&Connection) -> Result<T, Failure>,
    ) -> Result<T, StoreError> {
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => open(path)?,
        };
        let result = read(&conn).map_err(|f| f.into_store_error(path));
        let surplus = {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            if idle.len() < KEEP_IDLE {
                idle.push(conn);
                None
            } else {
                Some(conn)
            }
        };
        drop(surplus);
        result
    }
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| unavailable(path, e))?;
    configure(&conn).map_err(|e| unavailable(path, e))?;
    Ok(conn)
}
