//! One migration set for both backends.
//!
//! The SQL files live in `migrations/` at the repository root and are compiled into the binary
//! (`build.rs` lists them; a new file is picked up without editing code).
//! They are written in the common subset of SQLite and PostgreSQL; the few types that must differ
//! are written as placeholders and expanded per backend:
//!
//! | placeholder        | SQLite                                | PostgreSQL                                          |
//! |--------------------|---------------------------------------|-----------------------------------------------------|
//! | `{{bigserial_pk}}` | `INTEGER PRIMARY KEY AUTOINCREMENT`   | `BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY`   |
//! | `{{key_text}}`     | `TEXT`                                | `TEXT COLLATE "C"` (byte order, so prefix ranges work) |
//! | `{{blob}}`         | `BLOB`                                | `BYTEA`                                             |
//!
//! Invariant: an applied migration is never edited. Its checksum is recorded and checked on every
//! start; a mismatch stops the server rather than run on a schema nobody can reason about.

use sqlx::Executor;

use crate::db::{Backend, Database, StorageError, now, to_db_time};

/// One schema change.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Monotonic version number (the file's numeric prefix).
    pub version: i64,
    /// Short name (the file name without prefix).
    pub name: &'static str,
    /// SQL with placeholders.
    pub sql: &'static str,
}

/// Every migration, in order: every `migrations/NNNN_name.sql` file, gathered at build time
/// (`build.rs`), so a domain adds a file and edits no code.
pub const MIGRATIONS: &[Migration] = include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// Expands the placeholders of `sql` for `backend`.
pub fn render(sql: &str, backend: Backend) -> String {
    let (serial, key, blob) = match backend {
        Backend::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "TEXT", "BLOB"),
        Backend::Postgres => (
            "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
            "TEXT COLLATE \"C\"",
            "BYTEA",
        ),
    };
    sql.replace("{{bigserial_pk}}", serial)
        .replace("{{key_text}}", key)
        .replace("{{blob}}", blob)
}

/// FNV-1a of the migration text: enough to notice an edited file.
fn checksum(sql: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in sql.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Applies every pending migration; returns how many were applied. Safe to run from several
/// processes at once on PostgreSQL (an advisory lock serialises them).
pub async fn run(db: &Database) -> Result<usize, StorageError> {
    let mut conn = db.pool().acquire().await?;
    if db.backend() == Backend::Postgres {
        conn.execute("SELECT pg_advisory_lock(4242424242)").await?;
    }
    let result = apply_pending(db.backend(), &mut conn).await;
    if db.backend() == Backend::Postgres {
        conn.execute("SELECT pg_advisory_unlock(4242424242)")
            .await?;
    }
    result
}

async fn apply_pending(
    backend: Backend,
    conn: &mut sqlx::AnyConnection,
) -> Result<usize, StorageError> {
    conn.execute(
        "CREATE TABLE IF NOT EXISTS aloft_migrations (\
            version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)",
    )
    .await?;
    let applied: Vec<(i64, String)> =
        sqlx::query_as("SELECT version, checksum FROM aloft_migrations ORDER BY version")
            .fetch_all(&mut *conn)
            .await?;
    if let Some((newest, _)) = applied.last()
        && !MIGRATIONS.iter().any(|m| m.version == *newest)
    {
        return Err(StorageError::Migration(format!(
            "the database has schema version {newest}, newer than this binary knows; upgrade Aloft"
        )));
    }
    let mut count = 0;
    for m in MIGRATIONS {
        let sum = checksum(m.sql);
        if let Some((_, recorded)) = applied.iter().find(|(v, _)| *v == m.version) {
            if *recorded != sum {
                return Err(StorageError::Migration(format!(
                    "migration {} ({}) was edited after it was applied",
                    m.version, m.name
                )));
            }
            continue;
        }
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        sqlx::raw_sql(&render(m.sql, backend))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO aloft_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(&sum)
        .bind(to_db_time(now()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_strictly_increasing() {
        for pair in MIGRATIONS.windows(2) {
            assert!(pair[0].version < pair[1].version);
        }
    }

    #[test]
    fn placeholders_are_all_expanded() {
        for m in MIGRATIONS {
            for backend in [Backend::Sqlite, Backend::Postgres] {
                assert!(
                    !render(m.sql, backend).contains("{{"),
                    "{} on {backend:?}",
                    m.name
                );
            }
        }
    }
}
