//! Test support (feature `testing`) for this and other crates: a schema of its own per test, so
//! tests run in parallel against one PostgreSQL database.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The variable that names the test database.
pub const TEST_DATABASE: &str = "SLUICE_TEST_POSTGRES";

/// The URL in `SLUICE_TEST_POSTGRES`; `None` when it is unset, after
/// [`skip`](sluice_core::testing::skip) (which fails the test under CI).
pub fn test_database(test: &str) -> Option<String> {
    let url = std::env::var(TEST_DATABASE).ok();
    if url.is_none() {
        sluice_core::testing::skip(test, TEST_DATABASE, "set it to a PostgreSQL URL");
    }
    url
}

/// A fresh schema in the test database, dropped with everything in it when this is dropped.
#[derive(Debug)]
pub struct TestSchema {
    base: String,
    schema: String,
}

impl TestSchema {
    /// A new schema in the database named by `SLUICE_TEST_POSTGRES` (see [`test_database`]).
    pub fn new(test: &str) -> Option<TestSchema> {
        let base = test_database(test)?;
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let schema = format!("sluice_test_{}_{}_{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        Some(TestSchema { base, schema })
    }

    /// The store URL: the test database, in this schema.
    pub fn url(&self) -> String {
        let joiner = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{joiner}schema={}", self.base, self.schema)
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.schema
    }

    /// Runs SQL in the test database (outside the schema), for checks a test makes itself.
    pub fn execute(&self, sql: &str) -> Result<(), String> {
        let sql = sql.to_owned();
        self.with_client(move |client| {
            Box::pin(async move { client.batch_execute(&sql).await.map_err(|e| format!("{e:?}")) })
        })
    }

    /// Every row of every table of the schema, one line each as `table: row as JSON` (binary
    /// columns as `\\x` hex), for tests that look for what must not be stored.
    pub fn dump(&self) -> Result<String, String> {
        let schema = self.schema.clone();
        self.with_client(move |client| {
            Box::pin(async move {
                let failed = |e: tokio_postgres::Error| format!("{e:?}");
                let tables = client
                    .query("SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1", &[&schema])
                    .await
                    .map_err(failed)?;
                let mut dump = String::new();
                for table in tables {
                    let table: String = table.get(0);
                    let sql = format!("SELECT row_to_json(t)::text FROM \"{schema}\".\"{table}\" t");
                    for row in client.query(&sql, &[]).await.map_err(failed)? {
                        let row: String = row.get(0);
                        dump.push_str(&format!("{table}: {row}\n"));
                    }
                }
                Ok(dump)
            })
        })
    }

    /// Runs `work` with a client of the test database, on a thread and runtime of its own.
    fn with_client<T: Send + 'static>(
        &self,
        work: impl FnOnce(
            tokio_postgres::Client,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, String>> + Send>>
        + Send
        + 'static,
    ) -> Result<T, String> {
        let base = self.base.clone();
        // A thread of its own: the caller may be inside a runtime, where blocking is refused.
        std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let (client, connection) =
                    tokio_postgres::connect(&base, tokio_postgres::NoTls).await.map_err(|e| e.to_string())?;
                let driver = tokio::spawn(connection);
                let done = work(client).await;
                let _ = driver.await;
                done
            })
        })
        .join()
        .unwrap_or_else(|_| Err("the SQL thread panicked".into()))
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        if let Err(e) = self.execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.schema)) {
            eprintln!("could not drop the test schema {}: {e}", self.schema);
        }
    }
}
