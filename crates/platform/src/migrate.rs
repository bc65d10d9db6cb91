//! One migration set for both backends.
//!
//! The SQL files live in `migrations/` at the repository root and are compiled into the binary.
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

/// Every migration, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "platform",
        sql: include_str!("../../../migrations/0001_platform.sql"),
    },
    Migration {
        version: 2,
        name: "customers",
        sql: include_str!("../../../migrations/0002_customers.sql"),
    },
    Migration {
        version: 3,
        name: "audit",
        sql: include_str!("../../../migrations/0003_audit.sql"),
    },
    Migration {
        version: 4,
        name: "access",
        sql: include_str!("../../../migrations/0004_access.sql"),
    },
    Migration {
        version: 5,
        name: "customer_encryption",
        sql: include_str!("../../../migrations/0005_customer_encryption.sql"),
    },
    Migration {
        version: 6,
        name: "passengers",
        sql: include_str!("../../../migrations/0006_passengers.sql"),
    },
    Migration {
        version: 7,
        name: "travel",
        sql: include_str!("../../../migrations/0007_travel.sql"),
    },
    Migration {
        version: 8,
        name: "ingest",
        sql: include_str!("../../../migrations/0008_ingest.sql"),
    },
    Migration {
        version: 9,
        name: "travel_encryption",
        sql: include_str!("../../../migrations/0009_travel_encryption.sql"),
    },
    Migration {
        version: 10,
        name: "crew_rosters",
        sql: include_str!("../../../migrations/0010_crew_rosters.sql"),
    },
    Migration {
        version: 11,
        name: "identity_merges",
        sql: include_str!("../../../migrations/0011_identity_merges.sql"),
    },
    Migration {
        version: 12,
        name: "timeline_entry_ranges",
        sql: include_str!("../../../migrations/0012_timeline_entry_ranges.sql"),
    },
    Migration {
        version: 13,
        name: "merge_audit_seq",
        sql: include_str!("../../../migrations/0013_merge_audit_seq.sql"),
    },
];

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
