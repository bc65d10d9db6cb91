//! One database handle for both storage backends.
//!
//! Aloft runs the same SQL on embedded SQLite (the default, a file under `./aloft-data/`) and on
//! PostgreSQL (production). Both are reached through sqlx's `Any` driver so repositories are
//! written once; the few places where the dialects differ ask [`Database::backend`].
//!
//! Invariants:
//! - Every state change goes through [`Database::begin_write`], which returns a [`WriteTx`]; the
//!   change and its events (outbox rows) commit together or not at all.
//! - On SQLite, writers are serialised in-process by an async mutex. SQLite allows one writer at a
//!   time anyway; queueing in Tokio instead of in SQLite's sleeping busy handler keeps write tail
//!   latency flat under load. Readers are never blocked (WAL).
//! - Instants are stored as RFC 3339 UTC text with microsecond precision (`2026-11-28T04:35:40.123456Z`),
//!   which sorts correctly as text on both backends.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyPool, Executor, Transaction};
use tokio::sync::{Mutex, Notify, OwnedMutexGuard};
use tracing::Instrument;

use crate::events::CloudEvent;

/// Which storage engine a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file (default; single node).
    Sqlite,
    /// PostgreSQL server (production; many nodes may share it).
    Postgres,
}

impl Backend {
    /// The backend behind a connection of the `Any` driver.
    pub fn of(conn: &sqlx::AnyConnection) -> Backend {
        if conn.backend_name().eq_ignore_ascii_case("sqlite") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }

    /// The `n`-th (1-based) bind parameter. SQLite gets anonymous `?` parameters: sqlx binds
    /// `$N` parameters on SQLite by looking each name up in a list SQLite scans linearly, so a
    /// statement with thousands of parameters spent most of its time finding names (quadratic;
    /// measured as the top symbol of a bulk import profile).
    pub fn param(self, n: usize) -> String {
        match self {
            Backend::Sqlite => "?".to_owned(),
            Backend::Postgres => format!("${n}"),
        }
    }

    /// `(p1, …, pC), (…)` for a multi-row `INSERT … VALUES` of `rows` rows of `columns` each.
    pub fn values_rows(self, rows: usize, columns: usize) -> String {
        let mut sql = String::with_capacity(rows * (columns * 6 + 4));
        for r in 0..rows {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..columns {
                if c > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&self.param(r * columns + c + 1));
            }
            sql.push(')');
        }
        sql
    }

    /// Stable lower-case name, used in metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// The OpenTelemetry `db.system` value, for trace spans.
    pub fn otel_system(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
        }
    }
}

/// Errors from the storage layer. Callers map [`StorageError::Unavailable`] to HTTP 503.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database cannot be reached right now (down, restarting, pool exhausted). Retry later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A uniqueness rule was violated; the string names the constraint.
    #[error("unique constraint violated: {0}")]
    Conflict(String),
    /// Stored data could not be decoded; indicates a bug or manual tampering.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// A migration problem (edited migration, unknown newer schema).
    #[error("migration error: {0}")]
    Migration(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Other(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StorageError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => StorageError::Unavailable(err.to_string()),
            sqlx::Error::Database(db) => {
                if db.is_unique_violation() {
                    return StorageError::Conflict(
                        db.constraint().unwrap_or(db.message()).to_string(),
                    );
                }
                if passing(&db.code().unwrap_or_default()) {
                    StorageError::Unavailable(err.to_string())
                } else {
                    StorageError::Other(err)
                }
            }
            _ => StorageError::Other(err),
        }
    }
}

/// Whether a database error code names a condition that passes by itself — the database busy,
/// locked, read-only for a moment (failover), out of disk or resources, restarting, or the
/// connection lost — so the caller should retry (HTTP 503) rather than treat the request or the
/// event as bad. `code` is SQLite's extended result code (decimal) or PostgreSQL's SQLSTATE
/// (five characters).
///
/// Why it matters: callers that isolate a failing event (the source consumer dead-letters an
/// event that fails on its own for a lasting reason) must never take an outage for a bad event.
fn passing(code: &str) -> bool {
    if code.len() == 5 {
        // PostgreSQL: connection exception, transaction rollback (serialisation failure,
        // deadlock), insufficient resources, operator intervention (shutdown, cannot connect
        // now), system error; read-only transaction (a standby after failover).
        matches!(&code[..2], "08" | "40" | "53" | "57" | "58") || code == "25006"
    } else {
        // SQLite: the primary code is the low byte of the extended one. BUSY, LOCKED, READONLY,
        // IOERR, FULL, CANTOPEN, PROTOCOL.
        code.parse::<u32>()
            .is_ok_and(|n| matches!(n & 0xff, 5 | 6 | 8 | 10 | 13 | 14 | 15))
    }
}

/// Connection settings. Defaults suit a 2-core machine.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `sqlite://path/to/file.db` or `postgres://user@host/db`.
    pub url: String,
    /// Upper bound of pooled connections.
    pub max_connections: u32,
    /// How long a request waits for a connection before it is answered with 503.
    pub acquire_timeout: Duration,
    /// SQLite only: when a commit is acknowledged. See [`SqliteDurability`].
    pub sqlite_durability: SqliteDurability,
}

/// When SQLite acknowledges a commit (its `synchronous` setting, in WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteDurability {
    /// The WAL is written on every commit and synced at checkpoints: a committed change survives
    /// any crash of Aloft or the process being killed, but the last moments of commits may be
    /// lost if the *machine* loses power. Several times faster for writes.
    #[default]
    Normal,
    /// The WAL is synced on every commit: survives power loss too, at one disk flush per write.
    Full,
}

impl DatabaseSettings {
    /// Settings for `url` with default pool sizes.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 16,
            acquire_timeout: Duration::from_secs(3),
            sqlite_durability: SqliteDurability::default(),
        }
    }

    /// The default embedded database: `<data_dir>/aloft.db`.
    pub fn sqlite_in(data_dir: &Path) -> Self {
        Self::new(format!("sqlite://{}", data_dir.join("aloft.db").display()))
    }

    /// The file of an embedded SQLite database (`None` for PostgreSQL).
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        let rest = self.url.strip_prefix("sqlite://")?;
        let path = rest.split('?').next().unwrap_or(rest);
        Some(std::path::PathBuf::from(path))
    }
}

/// A cheap-to-clone handle to the database pool.
#[derive(Clone)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
    write_lock: Option<Arc<Mutex<()>>>,
    outbox_signal: Arc<Notify>,
    write_slot: Arc<WriteSlotCounters>,
}

/// How write transactions used SQLite's single write slot since this handle was opened: on
/// SQLite a bulk workload is bounded by the time the slot is held, so a benchmark reports it
/// next to its throughput. (On PostgreSQL, writers do not queue in-process; `waited` stays 0.)
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteSlotStats {
    /// Write transactions started.
    pub transactions: u64,
    /// Total time writers queued for the slot.
    pub waited: Duration,
    /// Total time from taking the slot to the end of the transaction (commit or rollback).
    pub held: Duration,
}

impl WriteSlotStats {
    /// What happened between `earlier` and these figures.
    pub fn since(self, earlier: WriteSlotStats) -> WriteSlotStats {
        WriteSlotStats {
            transactions: self.transactions - earlier.transactions,
            waited: self.waited - earlier.waited,
            held: self.held - earlier.held,
        }
    }
}

#[derive(Debug, Default)]
struct WriteSlotCounters {
    transactions: std::sync::atomic::AtomicU64,
    waited_ns: std::sync::atomic::AtomicU64,
    held_ns: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Opens a pool. For SQLite the file and its directory are created on first start, and each
    /// connection is put in WAL mode with a busy timeout and the configured durability.
    pub async fn connect(settings: &DatabaseSettings) -> Result<Self, StorageError> {
        install_default_drivers();
        let backend = backend_of(&settings.url)?;
        let mut url = settings.url.clone();
        if backend == Backend::Sqlite {
            let path = sqlite_path(&url);
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StorageError::Unavailable(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
            owner_only(&path, true)?;
            if !url.contains('?') {
                url.push_str("?mode=rwc");
            }
        }
        let durability = settings.sqlite_durability;
        let pool = AnyPoolOptions::new()
            .max_connections(settings.max_connections)
            .min_connections(if backend == Backend::Sqlite { 1 } else { 0 })
            .acquire_timeout(settings.acquire_timeout)
            // A broken connection fails its query (503 for that request) and is dropped by the
            // pool; pinging before every use would cost a round trip on every request.
            .test_before_acquire(false)
            .after_connect(move |conn, _meta| {
                let synchronous = match durability {
                    SqliteDurability::Normal => "NORMAL",
                    SqliteDurability::Full => "FULL",
                };
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // 16 KiB pages (default 4 KiB) for a new database: a bulk load's rows
                        // and index entries then take a quarter of the pages, B-tree splits and
                        // WAL frames, and a 50,000-record import records ~14 % more records per
                        // second (BENCHMARKS.md). It must come before WAL mode is set; an
                        // existing database keeps the page size it was created with.
                        // A 16 MiB page cache per connection (default 2 MiB) keeps a bulk
                        // write's B-tree pages in memory instead of spilling them mid-transaction,
                        // and statement journals (multi-row inserts) stay in memory, not temp files.
                        let pragmas = format!(
                            "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; \
                             PRAGMA busy_timeout = 5000; \
                             PRAGMA synchronous = {synchronous}; PRAGMA foreign_keys = ON; \
                             PRAGMA wal_autocheckpoint = 0; \
                             PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY;"
                        );
                        conn.execute(pragmas.as_str()).await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        if backend == Backend::Sqlite {
            // The first connection has put the file in WAL mode: its -wal and -shm files exist.
            let path = sqlite_path(&url);
            for suffix in ["-wal", "-shm"] {
                owner_only(Path::new(&format!("{}{suffix}", path.display())), false)?;
            }
            tokio::spawn(checkpoint_in_background(pool.clone()));
        }
        Ok(Self {
            pool,
            backend,
            write_lock: (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(()))),
            outbox_signal: Arc::new(Notify::new()),
            write_slot: Arc::default(),
        })
    }

    /// The storage engine behind this handle.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for reads. Writes must use [`Database::begin_write`].
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a write transaction. The first statement inside it must be a write (INSERT/UPDATE/
    /// DELETE), never a read-then-write upgrade, so that SQLite never has to abort a stale snapshot.
    ///
    /// The transaction has a `db.transaction` span (a child of the caller's, e.g. the request's)
    /// from the moment it asks for the write slot until it commits or rolls back, so a trace shows
    /// slot waits and how long the change held the database.
    pub async fn begin_write(&self) -> Result<WriteTx, StorageError> {
        let span = tracing::info_span!("db.transaction", db.system = self.backend.otel_system());
        self.begin_write_in(span.clone()).instrument(span).await
    }

    async fn begin_write_in(&self, span: tracing::Span) -> Result<WriteTx, StorageError> {
        let asked = std::time::Instant::now();
        let guard = match &self.write_lock {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        let taken = std::time::Instant::now();
        let slot = &self.write_slot;
        slot.transactions.fetch_add(1, Ordering::Relaxed);
        slot.waited_ns
            .fetch_add(nanos(taken - asked), Ordering::Relaxed);
        let tx = self.pool.begin().await?;
        Ok(WriteTx {
            tx,
            span,
            _guard: guard,
            emitted: 0,
            signal: self.outbox_signal.clone(),
            _held: HeldSince {
                taken,
                counters: self.write_slot.clone(),
            },
        })
    }

    /// How write transactions used the write slot so far (see [`WriteSlotStats`]).
    pub fn write_slot_stats(&self) -> WriteSlotStats {
        let c = &self.write_slot;
        WriteSlotStats {
            transactions: c.transactions.load(Ordering::Relaxed),
            waited: Duration::from_nanos(c.waited_ns.load(Ordering::Relaxed)),
            held: Duration::from_nanos(c.held_ns.load(Ordering::Relaxed)),
        }
    }

    /// Checks that the database answers a trivial query within `timeout`.
    pub async fn ping(&self, timeout: Duration) -> Result<(), StorageError> {
        match tokio::time::timeout(timeout, sqlx::query("SELECT 1").execute(&self.pool)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(StorageError::Unavailable("ping timed out".into())),
        }
    }

    /// Refreshes the query planner's statistics. Call after bulk loads: with stale statistics
    /// PostgreSQL may pick a full index walk over a range scan.
    pub async fn analyze(&self) -> Result<(), StorageError> {
        let sql = match self.backend {
            Backend::Sqlite => "PRAGMA optimize",
            Backend::Postgres => "VACUUM ANALYZE",
        };
        sqlx::raw_sql(sql).execute(&self.pool).await?;
        Ok(())
    }

    /// Refreshes PostgreSQL's planner statistics without vacuuming (cheap: sampled), for tables
    /// that grow fast (a bulk import from empty). Fresh statistics also invalidate the plans
    /// cached for prepared statements: planned while a table was nearly empty, those are
    /// sequential scans that get slower with every row. SQLite needs nothing here.
    pub async fn refresh_statistics(&self) -> Result<(), StorageError> {
        if self.backend == Backend::Postgres {
            sqlx::raw_sql("ANALYZE").execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Pool size and idle connections, for the metrics endpoint.
    pub fn pool_stats(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    /// Woken whenever a transaction that emitted events commits; the outbox relay waits on it.
    pub(crate) fn outbox_signal(&self) -> Arc<Notify> {
        self.outbox_signal.clone()
    }

    /// Closes every pooled connection (graceful shutdown, tests).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A write transaction that can also append events to the outbox.
pub struct WriteTx {
    tx: Transaction<'static, Any>,
    /// Open while the transaction is; closing it ends the `db.transaction` span.
    span: tracing::Span,
    emitted: usize,
    signal: Arc<Notify>,
    // Field order matters: the held time is counted before the slot is released.
    _held: HeldSince,
    _guard: Option<OwnedMutexGuard<()>>,
}

/// Adds the time since `taken` to the slot's held time when the transaction ends.
struct HeldSince {
    taken: std::time::Instant,
    counters: Arc<WriteSlotCounters>,
}

impl Drop for HeldSince {
    fn drop(&mut self) {
        self.counters
            .held_ns
            .fetch_add(nanos(self.taken.elapsed()), Ordering::Relaxed);
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl WriteTx {
    /// The transaction's connection, to run statements on.
    pub fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }

    /// Appends `event` to the outbox inside this transaction.
    pub async fn emit(&mut self, event: &CloudEvent) -> Result<(), StorageError> {
        self.emit_all(std::slice::from_ref(event)).await
    }

    /// Appends many events to the outbox inside this transaction (bulk loads).
    pub async fn emit_all(&mut self, events: &[CloudEvent]) -> Result<(), StorageError> {
        let mut rendered = crate::statements::Statements::new(Backend::of(self.conn()));
        rendered.emit(events)?;
        self.execute(rendered).await
    }

    /// Counts events appended to the outbox, so the relay is woken on commit.
    pub(crate) fn emitted(&mut self, events: usize) {
        self.emitted += events;
    }

    /// Appends audit records to the chain inside this transaction; returns the sequence number
    /// of the first (the chain's order, which unlike clocks is the same for every host). Call
    /// it after the change's own first write (on SQLite the first statement of a write
    /// transaction must be a write).
    pub async fn audit(
        &mut self,
        entries: &[crate::audit::AuditEntry],
    ) -> Result<Option<i64>, StorageError> {
        crate::audit::append(&mut self.tx, entries).await
    }

    /// Commits the change and its events together, then wakes the relay.
    pub async fn commit(self) -> Result<(), StorageError> {
        let span = tracing::info_span!(
            parent: &self.span,
            "db.commit",
            db.system = Backend::of(&self.tx).otel_system(),
            db.operation = "COMMIT",
        );
        self.tx.commit().instrument(span).await?;
        if self.emitted > 0 {
            self.signal.notify_one();
        }
        Ok(())
    }
}

/// Copies the SQLite write-ahead log into the database file once a second.
///
/// Why: SQLite's automatic checkpoint runs inside whichever commit crosses the threshold, holding
/// the write lock while it copies and flushes pages — a 50–100 ms stall for one unlucky writer every
/// few hundred writes. A PASSIVE checkpoint on its own connection never blocks readers or writers,
/// so commits stay fast and the WAL stays small. Stops when the pool closes.
async fn checkpoint_in_background(pool: AnyPool) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !pool.is_closed() {
        tick.tick().await;
        if pool.is_closed() {
            break;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            tracing::warn!(error = %e, "WAL checkpoint failed; will retry");
        }
    }
}

/// Formats an instant the way Aloft stores it: RFC 3339 in UTC with microseconds
/// (`2026-12-04T06:56:04.682524Z`), so stored instants sort as text.
///
/// Written digit by digit: every record, timeline entry and event of a bulk load stamps one or
/// more instants, and chrono's general formatter was ~1 % of an import's CPU.
pub fn to_db_time(t: DateTime<Utc>) -> String {
    use chrono::Datelike;
    let year = t.year();
    if !(0..=9999).contains(&year) {
        return t.to_rfc3339_opts(SecondsFormat::Micros, true);
    }
    let time = t.time();
    // A leap second (nanosecond >= 1e9) keeps chrono's rendering.
    if time.nanosecond() >= 1_000_000_000 {
        return t.to_rfc3339_opts(SecondsFormat::Micros, true);
    }
    let mut out = String::with_capacity(27);
    let mut digits = |value: u32, width: u32, after: Option<char>| {
        for place in (0..width).rev() {
            let digit = (value / 10u32.pow(place)) % 10;
            out.push(char::from(b'0' + digit as u8));
        }
        if let Some(c) = after {
            out.push(c);
        }
    };
    digits(year as u32, 4, Some('-'));
    digits(t.month(), 2, Some('-'));
    digits(t.day(), 2, Some('T'));
    digits(time.hour(), 2, Some(':'));
    digits(time.minute(), 2, Some(':'));
    digits(time.second(), 2, Some('.'));
    digits(time.nanosecond() / 1_000, 6, Some('Z'));
    out
}

/// Parses a stored instant.
pub fn from_db_time(s: &str) -> Result<DateTime<Utc>, StorageError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StorageError::Corrupt(format!("bad timestamp {s:?}: {e}")))
}

/// The current instant, truncated to what storage keeps (microseconds).
pub fn now() -> DateTime<Utc> {
    let t = Utc::now();
    // Drop sub-microsecond digits, so a value compares equal after a storage round trip.
    t.with_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}

fn backend_of(url: &str) -> Result<Backend, StorageError> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        Err(StorageError::Unavailable(
            "unsupported database URL: expected sqlite://PATH or postgres://…".into(),
        ))
    }
}

/// Makes an SQLite file readable and writable by its owner only (0600), whatever the umask:
/// the database holds personal data (sealed fields aside: names, search keys, the audit trail).
/// With `create`, a missing file is created so, before SQLite opens it (SQLite then gives its
/// -wal and -shm files the same mode); an existing file is tightened. A file that is not there
/// (an in-memory database, a sidecar not yet written) is left alone.
fn owner_only(path: &Path, create: bool) -> Result<(), StorageError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let name = path.to_string_lossy();
        if name.is_empty() || name.starts_with(':') {
            return Ok(());
        }
        let fail =
            |e: std::io::Error| StorageError::Unavailable(format!("cannot protect {name}: {e}"));
        if create {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
            {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(fail(e)),
            }
        }
        match std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(fail(e)),
        }
    }
    #[cfg(not(unix))]
    let _ = (path, create);
    Ok(())
}

fn sqlite_path(url: &str) -> PathBuf {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    PathBuf::from(rest.split('?').next().unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_path("sqlite://aloft-data/aloft.db"),
            PathBuf::from("aloft-data/aloft.db")
        );
        assert_eq!(
            sqlite_path("sqlite:///tmp/x.db?mode=rwc"),
            PathBuf::from("/tmp/x.db")
        );
    }

    #[test]
    fn stored_times_sort_as_text() {
        let a = to_db_time("2026-01-02T03:04:05.000001Z".parse().unwrap());
        let b = to_db_time("2026-01-02T03:04:05.1Z".parse().unwrap());
        assert!(a < b);
        assert_eq!(from_db_time(&a).unwrap().timestamp_subsec_micros(), 1);
    }

    #[test]
    fn stored_times_are_what_chrono_renders() {
        for text in [
            "2026-01-02T03:04:05.000001Z",
            "1999-12-31T23:59:59.999999Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.5Z",
            "2026-12-04T06:56:04.682524Z",
        ] {
            let t: DateTime<Utc> = text.parse().unwrap();
            assert_eq!(
                to_db_time(t),
                t.to_rfc3339_opts(SecondsFormat::Micros, true)
            );
        }
        let beyond: DateTime<Utc> = "+10000-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(
            to_db_time(beyond),
            beyond.to_rfc3339_opts(SecondsFormat::Micros, true)
        );
    }

    #[test]
    fn now_survives_a_storage_round_trip_unchanged() {
        let t = now();
        assert_eq!(from_db_time(&to_db_time(t)).unwrap(), t);
    }

    #[test]
    fn outages_are_told_apart_from_bad_requests() {
        // SQLite: BUSY_SNAPSHOT, BUSY_TIMEOUT, LOCKED, READONLY, IOERR_WRITE, FULL, CANTOPEN.
        for code in ["5", "517", "773", "6", "8", "778", "13", "14"] {
            assert!(passing(code), "{code}");
        }
        // SQLite: constraint (trigger, foreign key, not null), generic error, mismatch.
        for code in ["19", "1811", "787", "1299", "1", "20"] {
            assert!(!passing(code), "{code}");
        }
        // PostgreSQL: connection lost, serialisation failure, deadlock, too many connections,
        // shutdown, read-only standby.
        for code in [
            "08006", "40001", "40P01", "53300", "57P01", "58030", "25006",
        ] {
            assert!(passing(code), "{code}");
        }
        // PostgreSQL: unique and check violations, raised exception, bad input.
        for code in ["23505", "23514", "P0001", "22P02", "42P01"] {
            assert!(!passing(code), "{code}");
        }
    }

    #[test]
    fn unknown_url_schemes_are_refused() {
        assert!(backend_of("mysql://x").is_err());
        assert_eq!(backend_of("postgresql://h/d").unwrap(), Backend::Postgres);
    }
}
