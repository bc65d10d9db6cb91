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

/// The database holds personal data: its file and the `-wal`/`-shm` files beside it are readable
/// and writable by their owner only, whatever the process umask.
#[cfg(unix)]
#[tokio::test]
async fn the_database_and_its_wal_and_shm_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestDatabase::new(Backend::Sqlite).await;
    // A write, so that the write-ahead log certainly exists.
    sqlx::query("CREATE TABLE IF NOT EXISTS mode_probe (x INTEGER)")
        .execute(t.db.pool())
        .await
        .unwrap();
    let db = t.settings.sqlite_path().unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let path = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
        let mode = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "{} is {:o}",
            path.display(),
            mode & 0o777
        );
    }
    // An existing file made readable by others is tightened when it is opened again.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let again = aloft_kernel::Database::connect(&t.settings).await.unwrap();
    let mode = std::fs::metadata(&db).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    again.close().await;
}
