//! The SQLite file Aloft creates: WAL mode and 16 KiB pages (a bulk load writes a quarter of the
//! pages it would with SQLite's default 4 KiB; see BENCHMARKS.md, ingestion). An existing file
//! keeps its page size when it is opened again.

use aloft_kernel::Backend;
use aloft_kernel::testing::TestDatabase;

async fn pragma(t: &TestDatabase, name: &str) -> String {
    let row: (String,) = sqlx::query_as(&format!("SELECT CAST({name} AS TEXT) FROM pragma_{name}"))
        .fetch_one(t.db.pool())
        .await
        .unwrap();
    row.0
}

#[tokio::test]
async fn a_new_database_has_16_kib_pages_in_wal_mode_and_keeps_them() {
    let t = TestDatabase::new(Backend::Sqlite).await;
    assert_eq!(pragma(&t, "page_size").await, "16384");
    assert_eq!(pragma(&t, "journal_mode").await, "wal");
    // Reopening runs the connection pragmas again; the file is unchanged and still readable.
    let again = aloft_kernel::Database::connect(&t.settings).await.unwrap();
    let (size,): (String,) = sqlx::query_as("SELECT CAST(page_size AS TEXT) FROM pragma_page_size")
        .fetch_one(again.pool())
        .await
        .unwrap();
    assert_eq!(size, "16384");
    again.close().await;
}
