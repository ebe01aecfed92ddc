//! A run's details (input, trace, outcome) as the `runs` table keeps them.
//!
//! A trace shows every item after every step, so it repeats itself: 2.6 kB for the ForTestCode
//! dataflow, most of its run's row, which LZ4 brings to 0.6 kB in a few microseconds. Under
//! load the records were most of what the store wrote, twice (into the log, then by the
//! checkpoint into the database). A detail of [`COMPRESS_FROM`] bytes or more is therefore kept
//! as a BLOB: an LZ4 block after its length (4 bytes, little-endian); a shorter one, and every
//! detail written before this, as JSON text. The reader tells them apart by the value's type.
//! (PostgreSQL compresses long text by itself.)

use rusqlite::Row;
use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use serde_json::value::RawValue;
use sluice_core::store::RawJson;

/// Details shorter than this stay text: compressing them would save a few bytes at most.
const COMPRESS_FROM: usize = 512;

/// The longest detail read back. Sluice writes none near this; a longer length can only be a
/// damaged value, which must not make the reader allocate gigabytes.
const LONGEST: usize = 1 << 30;

/// A detail ready to be written: compressed on the caller's thread, before it joins the
/// writer's batch, so that the batch (which holds the writing connection) spends no time on it.
pub(crate) enum StoredDetail {
    /// Short JSON, kept as text.
    Text(RawJson),
    /// Long JSON, as an LZ4 block after its length.
    Compressed(Vec<u8>),
}

impl StoredDetail {
    /// How `json` is kept.
    pub(crate) fn new(json: RawJson) -> StoredDetail {
        let text = json.get();
        if text.len() < COMPRESS_FROM {
            StoredDetail::Text(json)
        } else {
            StoredDetail::Compressed(lz4_flex::compress_prepend_size(text.as_bytes()))
        }
    }
}

impl ToSql for StoredDetail {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            StoredDetail::Text(json) => ToSqlOutput::from(json.get()),
            StoredDetail::Compressed(block) => ToSqlOutput::from(block.as_slice()),
        })
    }
}

/// Detail column `name` of a run's row; `None` when the run kept none. A value that is not
/// what [`StoredDetail`] writes is an error naming the column, not a detail silently missing.
pub(crate) fn read(row: &Row<'_>, name: &str) -> rusqlite::Result<Option<RawJson>> {
    let value = row.get_ref(name)?;
    let damaged = |why: String| {
        let index = row.as_ref().column_index(name).unwrap_or_default();
        let message = format!("the run's {name} is damaged ({why})");
        rusqlite::Error::FromSqlConversionFailure(index, value.data_type(), message.into())
    };
    let text = match value {
        ValueRef::Null => return Ok(None),
        ValueRef::Text(text) => String::from_utf8(text.to_vec()).map_err(|e| damaged(e.to_string()))?,
        ValueRef::Blob(block) => decompress(block).map_err(damaged)?,
        other => return Err(damaged(format!("{} where JSON was expected", other.data_type()))),
    };
    RawValue::from_string(text).map(Some).map_err(|e| damaged(format!("not JSON: {e}")))
}

/// The JSON text of an LZ4 block written by [`StoredDetail::new`].
fn decompress(block: &[u8]) -> Result<String, String> {
    let (length, _) = lz4_flex::block::uncompressed_size(block).map_err(|e| e.to_string())?;
    if length > LONGEST {
        return Err(format!("it claims {length} bytes"));
    }
    let bytes = lz4_flex::decompress_size_prepended(block).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;

    fn raw(text: &str) -> RawJson {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    /// Writes `detail` into a one-column table and reads it back.
    fn round_trip(detail: &dyn ToSql) -> (String, rusqlite::Result<Option<RawJson>>) {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE runs (trace TEXT)").unwrap();
        conn.execute("INSERT INTO runs VALUES (?1)", [detail]).unwrap();
        let kind = conn.query_row("SELECT typeof(trace) FROM runs", [], |r| r.get(0)).unwrap();
        let read = conn.query_row("SELECT trace FROM runs", [], |r| Ok(read(r, "trace"))).unwrap();
        (kind, read)
    }

    fn long_trace() -> String {
        let item = r#"{"_user":{"active":true,"email":null,"userName":"user2656"},"data":{"UserName":"user2656"}}"#;
        format!("[{}]", vec![item; 20].join(","))
    }

    #[test]
    fn a_long_detail_is_kept_compressed_and_read_back_as_written() {
        let trace = long_trace();
        let stored = StoredDetail::new(raw(&trace));
        let StoredDetail::Compressed(block) = &stored else {
            panic!("a {}-byte trace was not compressed", trace.len())
        };
        assert!(block.len() * 4 < trace.len(), "{} bytes compressed to {}", trace.len(), block.len());
        let (kind, read) = round_trip(&stored);
        assert_eq!(kind, "blob");
        assert_eq!(read.unwrap().unwrap().get(), trace);
    }

    #[test]
    fn a_short_detail_and_one_written_before_compression_are_text() {
        let (kind, read) = round_trip(&StoredDetail::new(raw(r#"{"data":{"n":1}}"#)));
        assert_eq!((kind.as_str(), read.unwrap().unwrap().get()), ("text", r#"{"data":{"n":1}}"#));
        let trace = long_trace();
        let (kind, read) = round_trip(&trace);
        assert_eq!((kind.as_str(), read.unwrap().unwrap().get()), ("text", trace.as_str()));
        let (_, read) = round_trip(&rusqlite::types::Null);
        assert!(read.unwrap().is_none());
    }

    #[test]
    fn a_damaged_detail_is_an_error_naming_the_column() {
        let mut block = lz4_flex::compress_prepend_size(long_trace().as_bytes());
        let cut = block.len() / 2;
        block.truncate(cut);
        let huge = [0xff, 0xff, 0xff, 0x7f, 0x00];
        // (A number cannot be there: the column's text affinity turns it into text.)
        let damaged: [&dyn ToSql; 3] = [&block, &huge.as_slice(), &"[not json"];
        for value in damaged {
            let (kind, read) = round_trip(value);
            let error = read.unwrap_err().to_string();
            assert!(error.contains("the run's trace is damaged"), "{kind}: {error}");
        }
        let (_, read) = round_trip(&huge.as_slice());
        assert!(read.unwrap_err().to_string().contains("it claims 2147483647 bytes"));
    }
}
