//! The audit trail of customer-data access: who, in which role, did what to which record and
//! fields, why, with what outcome, under which request id and from where.
//!
//! Records form one SHA-256 hash chain (`aloft_security::audit_chain`) in the `audit_log` table.
//! Changes are audited inside the transaction that makes them ([`crate::db::WriteTx::audit`]), so
//! a change without its audit record cannot exist. Reads go to the [`Auditor`], which appends
//! them in batches (group commit) and answers each reader only once its record is committed:
//! **no customer data leaves the server before its audit record is durable**, so a crash
//! (`kill -9`) can lose an answer but never an answered read's record. The writer never waits
//! to fill a batch: it takes whatever is queued, commits it, and wakes those readers, while the
//! next batch queues behind — under load, batches grow by themselves.
//!
//! Invariants: records hold identifiers and field *names*, never field values. The chain tip
//! (`audit_head`) is updated by the first statement of every append, which serialises appenders
//! on both backends and keeps the chain gap-free.

use std::time::Duration;

use aloft_security::audit_chain::AuditRecord;
use sqlx::Row;
use tokio::sync::{mpsc, oneshot};

use crate::db::{Database, StorageError, now, to_db_time};

/// How long a reader waits for its audit record to commit before giving up with
/// [`AuditUnavailable`] (the handler then answers 503 and shows nothing).
pub const COMMIT_TIMEOUT: Duration = Duration::from_secs(5);

/// The audit record of a read could not be committed (the database is away): the data must
/// not be shown.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the access cannot be recorded in the audit trail right now; nothing was shown")]
pub struct AuditUnavailable;

impl From<AuditUnavailable> for StorageError {
    fn from(e: AuditUnavailable) -> Self {
        StorageError::Unavailable(e.to_string())
    }
}

/// Who is acting. Until sign-in exists every caller is the anonymous actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Account id (staff, passenger, service), or `anonymous`.
    pub id: String,
    /// The role the actor acts in.
    pub role: String,
}

impl Actor {
    /// The caller when no one is signed in.
    pub fn anonymous() -> Self {
        Self {
            id: "anonymous".into(),
            role: "unauthenticated".into(),
        }
    }

    /// Aloft itself (demo loads, migrations, jobs).
    pub fn system(name: &str) -> Self {
        Self {
            id: format!("system:{name}"),
            role: "system".into(),
        }
    }
}

/// The circumstances of one request, carried into every audit record it causes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessContext {
    /// Who.
    pub actor: Actor,
    /// The request id (`x-request-id`).
    pub request_id: String,
    /// The client's address, when known.
    pub client_address: Option<String>,
    /// Declared purpose of the access, when given.
    pub purpose: Option<String>,
}

impl AccessContext {
    /// A context for work Aloft does by itself.
    pub fn system(name: &str) -> Self {
        Self {
            actor: Actor::system(name),
            request_id: uuid::Uuid::now_v7().to_string(),
            client_address: None,
            purpose: None,
        }
    }

    /// An audit entry for `action` on one resource.
    pub fn entry(
        &self,
        action: AuditAction,
        resource_type: &str,
        resource_id: Option<String>,
        fields: Vec<String>,
        outcome: &str,
    ) -> AuditEntry {
        AuditEntry {
            occurred_at: now(),
            actor: self.actor.clone(),
            action: action.as_str().into(),
            resource_type: resource_type.into(),
            resource_id,
            fields,
            purpose: self.purpose.clone(),
            outcome: outcome.into(),
            request_id: self.request_id.clone(),
            client_address: self.client_address.clone(),
        }
    }
}

/// An action recorded in the audit trail. Declared as a constant by the domain that performs
/// it (`events::audit` in each domain crate), so that the trail's actions are a known set —
/// nobody coins a string of their own — and the audit page can offer them by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AuditAction(&'static str);

impl AuditAction {
    /// An action with a stable dotted id (`customer.read`).
    pub const fn new(id: &'static str) -> Self {
        Self(id)
    }

    /// The id stored in the trail.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// One record to append (the chain position and hashes are added when it is written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When the access happened (not when the record was written: reads are written in batches).
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    /// Who.
    pub actor: Actor,
    /// What, e.g. `customer.read`.
    pub action: String,
    /// Kind of resource, e.g. `customer`.
    pub resource_type: String,
    /// Which one.
    pub resource_id: Option<String>,
    /// Field names read or changed.
    pub fields: Vec<String>,
    /// Declared purpose.
    pub purpose: Option<String>,
    /// `success`, `denied`, `error`…
    pub outcome: String,
    /// Request id.
    pub request_id: String,
    /// Client address.
    pub client_address: Option<String>,
}

/// Appends `entries` to the chain on `conn`, which must be inside a write transaction.
/// Returns the sequence number of the first record appended (`None` for no entries).
pub(crate) async fn append(
    conn: &mut sqlx::AnyConnection,
    entries: &[AuditEntry],
) -> Result<Option<i64>, StorageError> {
    if entries.is_empty() {
        return Ok(None);
    }
    let n = entries.len() as i64;
    let head = sqlx::query("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
        .bind(n)
        .fetch_one(&mut *conn)
        .await?;
    let last: i64 = head.try_get("seq")?;
    let mut prev: String = head.try_get("hash")?;
    let mut records = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let record = AuditRecord {
            sequence: (last - n + 1 + i as i64) as u64,
            occurred_at: to_db_time(e.occurred_at),
            actor_id: e.actor.id.clone(),
            actor_role: e.actor.role.clone(),
            action: e.action.clone(),
            resource_type: e.resource_type.clone(),
            resource_id: e.resource_id.clone(),
            fields: e.fields.clone(),
            purpose: e.purpose.clone(),
            outcome: e.outcome.clone(),
            request_id: e.request_id.clone(),
            client_address: e.client_address.clone(),
            prev_hash: String::new(),
            hash: String::new(),
        }
        .seal(&prev);
        prev = record.hash.clone();
        records.push(record);
    }
    // Many rows per statement: a batch of reads is written in a few round trips, so the write
    // slot is held for milliseconds, not for one statement per record.
    const ROWS_PER_STATEMENT: usize = 64;
    const COLUMNS: usize = 14;
    for chunk in records.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO audit_log (seq, occurred_at, actor_id, actor_role, action, resource_type, resource_id, \
             fields, purpose, outcome, request_id, client_address, prev_hash, hash) VALUES {}",
            crate::db::Backend::of(conn).values_rows(chunk.len(), COLUMNS)
        );
        let mut query = sqlx::query(&sql);
        for record in chunk {
            query = query
                .bind(record.sequence as i64)
                .bind(&record.occurred_at)
                .bind(&record.actor_id)
                .bind(&record.actor_role)
                .bind(&record.action)
                .bind(&record.resource_type)
                .bind(record.resource_id.as_deref())
                .bind(serde_json::to_string(&record.fields).unwrap_or_else(|_| "[]".into()))
                .bind(record.purpose.as_deref())
                .bind(&record.outcome)
                .bind(&record.request_id)
                .bind(record.client_address.as_deref())
                .bind(&record.prev_hash)
                .bind(&record.hash);
        }
        query.execute(&mut *conn).await?;
    }
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&prev)
        .execute(&mut *conn)
        .await?;
    Ok(Some(last - n + 1))
}

/// The background writer of an [`Auditor`], for shutting it down.
#[derive(Debug)]
pub struct AuditWriter {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl AuditWriter {
    /// Stops taking records, writes every record already queued and ends; `false` if that took
    /// longer than `within`. Shutdown calls it: it must not depend on every component that holds
    /// an `Auditor` clone having been dropped first.
    pub async fn close(self, within: Duration) -> bool {
        let _ = self.stop.send(());
        tokio::time::timeout(within, self.task).await.is_ok()
    }
}

/// Most read records appended in one transaction.
const MAX_BATCH: usize = 256;

/// Appends read records in batches and tells each reader when theirs is committed (see the
/// module docs).
#[derive(Debug, Clone)]
pub struct Auditor {
    queue: mpsc::Sender<Queued>,
}

/// A queued record and, for the last record of a reader's set, who to tell once it commits
/// (batches commit in queue order, so the last one committed means all of them did).
struct Queued {
    entry: AuditEntry,
    committed: Option<oneshot::Sender<()>>,
}

/// Read records waiting to be written, at most. Far above what a healthy writer ever holds
/// (it drains a batch every few milliseconds); reaching it means the database is slow or away,
/// and readers then wait for room rather than have their accesses go unrecorded or memory grow
/// without bound.
pub const QUEUE_CAPACITY: usize = 50_000;

impl Auditor {
    /// Starts the background writer for `db`. It stops, after a last flush, when
    /// [`AuditWriter::close`] is called or every `Auditor` clone is dropped.
    pub fn start(db: Database) -> (Self, AuditWriter) {
        let (queue, rx) = mpsc::channel(QUEUE_CAPACITY);
        let (stop, stopped) = oneshot::channel();
        let writer = AuditWriter {
            stop,
            task: tokio::spawn(write_batches(db, rx, stopped)),
        };
        (Self { queue }, writer)
    }

    /// Records one access and returns once its record is committed. Show nothing on `Err`.
    pub async fn record(&self, entry: AuditEntry) -> Result<(), AuditUnavailable> {
        self.record_all(vec![entry]).await
    }

    /// Records accesses (a search result's customers) and returns once all are committed. When
    /// the writer has fallen [`QUEUE_CAPACITY`] records behind, waits for room first
    /// (back-pressure on readers). Show nothing on `Err`.
    pub async fn record_all(&self, entries: Vec<AuditEntry>) -> Result<(), AuditUnavailable> {
        let Some(last) = entries.len().checked_sub(1) else {
            return Ok(());
        };
        let (tx, rx) = oneshot::channel();
        let mut tx = Some(tx);
        for (i, entry) in entries.into_iter().enumerate() {
            let queued = Queued {
                entry,
                committed: if i == last { tx.take() } else { None },
            };
            let sent = match self.queue.try_send(queued) {
                Ok(()) => Ok(()),
                Err(mpsc::error::TrySendError::Full(queued)) => {
                    metrics::counter!("aloft_audit_queue_full_total").increment(1);
                    self.queue.send(queued).await.map_err(|_| ())
                }
                Err(mpsc::error::TrySendError::Closed(_)) => Err(()),
            };
            if sent.is_err() {
                tracing::error!("audit writer stopped; a read cannot be recorded");
                return Err(AuditUnavailable);
            }
        }
        match tokio::time::timeout(COMMIT_TIMEOUT, rx).await {
            Ok(Ok(())) => Ok(()),
            _ => {
                metrics::counter!("aloft_audit_unconfirmed_total").increment(1);
                Err(AuditUnavailable)
            }
        }
    }
}

async fn write_batches(
    db: Database,
    mut rx: mpsc::Receiver<Queued>,
    mut stop: oneshot::Receiver<()>,
) {
    // Armed until asked to stop (or its `AuditWriter` is dropped without asking).
    let mut armed = true;
    let mut pending: Vec<AuditEntry> = Vec::new();
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    let take = |q: Queued, pending: &mut Vec<AuditEntry>, waiting: &mut Vec<_>| {
        pending.push(q.entry);
        waiting.extend(q.committed);
    };
    let mut open = true;
    while open || !pending.is_empty() {
        if open && pending.is_empty() {
            tokio::select! {
                q = rx.recv() => match q {
                    Some(q) => take(q, &mut pending, &mut waiting),
                    None => open = false,
                },
                asked = &mut stop, if armed => {
                    armed = false;
                    // No new records; those already queued are still received, then `None`.
                    if asked.is_ok() {
                        rx.close();
                    }
                }
            }
        }
        // Take what is already queued, without waiting for more: readers are waiting. Small
        // batches hold the write slot (SQLite) only briefly, so a burst of audited reads never
        // makes a customer update wait long behind it.
        while open && pending.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(q) => take(q, &mut pending, &mut waiting),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => open = false,
            }
        }
        if pending.is_empty() {
            continue;
        }
        let result = async {
            let mut tx = db.begin_write().await?;
            append(tx.conn(), &pending).await?;
            tx.commit().await
        }
        .await;
        match result {
            Ok(()) => {
                metrics::counter!("aloft_audit_records_total").increment(pending.len() as u64);
                pending.clear();
                for w in waiting.drain(..) {
                    let _ = w.send(());
                }
            }
            Err(e) => {
                // Keep the records and retry: the database being away must not lose them.
                tracing::warn!(error = %e, queued = pending.len(), "cannot write audit records; will retry");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// Reads the whole chain in order and checks it; the count of records, or the first break.
pub async fn verify(
    db: &Database,
) -> Result<Result<u64, aloft_security::audit_chain::ChainBreak>, StorageError> {
    use aloft_security::audit_chain::{BreakReason, ChainBreak, GENESIS_HASH, verify_chain_from};
    // Page through the chain so that memory stays flat however long the trail grows.
    const PAGE: i64 = 10_000;
    // The tip kept in `audit_head` must be where the chain ends: records cut off the end (or a
    // rewritten tail) are otherwise invisible to the chain itself. It is read first, and the
    // chain checked up to it: records appended while this runs (the writer never stops) lie
    // beyond it and are left for the next verification, instead of looking like a cut end.
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(db.pool())
        .await?;
    let (head_seq, head_hash): (i64, String) = (head.try_get("seq")?, head.try_get("hash")?);
    let (mut last_seq, mut last_hash) = (0u64, GENESIS_HASH.to_string());
    loop {
        let mut records = page_after(db, last_seq, PAGE).await?;
        let full = records.len() as i64 == PAGE;
        records.retain(|r| r.sequence <= head_seq as u64);
        let Some(last) = records.last() else { break };
        if let Err(broken) = verify_chain_from(last_seq, &last_hash, records.iter()) {
            return Ok(Err(broken));
        }
        (last_seq, last_hash) = (last.sequence, last.hash.clone());
        if !full || last_seq >= head_seq as u64 {
            break;
        }
    }
    if head_seq as u64 != last_seq || head_hash != last_hash {
        return Ok(Err(ChainBreak {
            sequence: last_seq + 1,
            reason: BreakReason::Truncated {
                expected_last: head_seq as u64,
            },
        }));
    }
    Ok(Ok(last_seq))
}

/// What to look for in the audit trail; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Records about this resource id (a customer id…).
    pub resource_id: Option<String>,
    /// Records by this actor.
    pub actor_id: Option<String>,
    /// Records of this action, e.g. `customer.read`.
    pub action: Option<String>,
    /// At most this many (newest first).
    pub limit: u32,
}

/// Newest records first that match `filter`.
pub async fn search(db: &Database, filter: &AuditFilter) -> Result<Vec<AuditRecord>, StorageError> {
    let mut conditions = Vec::new();
    let mut binds = Vec::new();
    for (column, value) in [
        ("resource_id", &filter.resource_id),
        ("actor_id", &filter.actor_id),
        ("action", &filter.action),
    ] {
        if let Some(v) = value {
            binds.push(v.clone());
            conditions.push(format!("{column} = ${}", binds.len()));
        }
    }
    let filter_sql = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT * FROM audit_log {filter_sql} ORDER BY seq DESC LIMIT {}",
        filter.limit.clamp(1, 1000)
    );
    let mut query = sqlx::query(&sql);
    for b in &binds {
        query = query.bind(b.as_str());
    }
    query
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(decode)
        .collect()
}

/// Up to `limit` records after sequence number `after`, in chain order (for paging through the
/// whole trail with flat memory: verification, export).
pub async fn page_after(
    db: &Database,
    after: u64,
    limit: i64,
) -> Result<Vec<AuditRecord>, StorageError> {
    sqlx::query("SELECT * FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2")
        .bind(after as i64)
        .bind(limit)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(decode)
        .collect()
}

/// The stored records in chain order, optionally only those about one resource id.
pub async fn load(
    db: &Database,
    resource_id: Option<&str>,
) -> Result<Vec<AuditRecord>, StorageError> {
    let sql = match resource_id {
        Some(_) => "SELECT * FROM audit_log WHERE resource_id = $1 ORDER BY seq",
        None => "SELECT * FROM audit_log ORDER BY seq",
    };
    let mut query = sqlx::query(sql);
    if let Some(id) = resource_id {
        query = query.bind(id);
    }
    query
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(decode)
        .collect()
}

fn decode(r: &sqlx::any::AnyRow) -> Result<AuditRecord, StorageError> {
    let fields: String = r.try_get("fields")?;
    Ok(AuditRecord {
        sequence: r.try_get::<i64, _>("seq")? as u64,
        occurred_at: r.try_get("occurred_at")?,
        actor_id: r.try_get("actor_id")?,
        actor_role: r.try_get("actor_role")?,
        action: r.try_get("action")?,
        resource_type: r.try_get("resource_type")?,
        resource_id: r.try_get("resource_id")?,
        fields: serde_json::from_str(&fields).map_err(|e| StorageError::Corrupt(e.to_string()))?,
        purpose: r.try_get("purpose")?,
        outcome: r.try_get("outcome")?,
        request_id: r.try_get("request_id")?,
        client_address: r.try_get("client_address")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

/// Where a page of [`trail`] starts: the instant and sequence number of the last record of the
/// previous page (the trail is shown newest first by instant, ties by sequence), so paging is
/// a keyset walk that stays fast and never skips or repeats a record while records are added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailCursor {
    /// The stored instant (RFC 3339 UTC text) of the last record shown.
    pub occurred_at: String,
    /// Its sequence number.
    pub sequence: u64,
}

impl TrailCursor {
    /// The cursor after `record`.
    pub fn after(record: &AuditRecord) -> Self {
        Self {
            occurred_at: record.occurred_at.clone(),
            sequence: record.sequence,
        }
    }

    /// As a query value (`<sequence>_<instant>`).
    pub fn encode(&self) -> String {
        format!("{}_{}", self.sequence, self.occurred_at)
    }

    /// From [`TrailCursor::encode`]'s text; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let (seq, at) = text.split_once('_')?;
        let sequence = seq.parse().ok()?;
        chrono::DateTime::parse_from_rfc3339(at).ok()?;
        Some(Self {
            occurred_at: at.to_owned(),
            sequence,
        })
    }
}

/// Which records of the trail to show (the audit page and its export); every criterion is
/// optional and they combine with AND.
#[derive(Debug, Clone, Default)]
pub struct TrailQuery {
    /// Records at or after this instant.
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Records before this instant.
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// Records of any of these actions (empty: every action).
    pub actions: Vec<String>,
    /// Records by this actor id.
    pub actor_id: Option<String>,
    /// Records about this resource id (a customer id, an account id, a route).
    pub resource_id: Option<String>,
    /// Records from this client address.
    pub client_address: Option<String>,
    /// Records older than this cursor (the next page).
    pub before: Option<TrailCursor>,
    /// At most this many records (1 to 5,000).
    pub limit: u32,
}

/// One page of the trail and where the next one starts (`None`: this was the last).
#[derive(Debug, Clone)]
pub struct TrailPage {
    /// The records, newest first.
    pub records: Vec<AuditRecord>,
    /// The cursor of the next page, if there are more records.
    pub next: Option<TrailCursor>,
}

/// `$n` placeholders for `values`, appended to `binds`.
fn placeholders(values: &[String], binds: &mut Vec<String>) -> String {
    values
        .iter()
        .map(|v| {
            binds.push(v.clone());
            format!("${}", binds.len())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A page of the trail matching `query`, newest first (by instant, then sequence).
///
/// Several actions (a family such as `auth.*`) are read one action at a time, each a short walk
/// of the (action, instant) index in page order, and merged: one `IN` query would have to sort
/// every matching record of the trail before the first page could be shown.
pub async fn trail(db: &Database, query: &TrailQuery) -> Result<TrailPage, StorageError> {
    let limit = query.limit.clamp(1, 5_000) as usize;
    let mut records = if query.actions.len() > 1 {
        let mut all = Vec::new();
        for action in &query.actions {
            let one = TrailQuery {
                actions: vec![action.clone()],
                ..query.clone()
            };
            all.extend(trail_rows(db, &one, limit + 1).await?);
        }
        all.sort_by(|a, b| (&b.occurred_at, b.sequence).cmp(&(&a.occurred_at, a.sequence)));
        all.truncate(limit + 1);
        all
    } else {
        trail_rows(db, query, limit + 1).await?
    };
    let next = if records.len() > limit {
        records.truncate(limit);
        records.last().map(TrailCursor::after)
    } else {
        None
    };
    Ok(TrailPage { records, next })
}

/// Up to `fetch` records matching `query`, newest first.
async fn trail_rows(
    db: &Database,
    query: &TrailQuery,
    fetch: usize,
) -> Result<Vec<AuditRecord>, StorageError> {
    let mut binds: Vec<String> = Vec::new();
    let mut conditions: Vec<String> = Vec::new();
    if let Some(from) = query.from {
        binds.push(to_db_time(from));
        conditions.push(format!("occurred_at >= ${}", binds.len()));
    }
    if let Some(to) = query.to {
        binds.push(to_db_time(to));
        conditions.push(format!("occurred_at < ${}", binds.len()));
    }
    if !query.actions.is_empty() {
        let list = placeholders(&query.actions, &mut binds);
        conditions.push(format!("action IN ({list})"));
    }
    for (column, value) in [
        ("actor_id", &query.actor_id),
        ("resource_id", &query.resource_id),
        ("client_address", &query.client_address),
    ] {
        if let Some(v) = value {
            binds.push(v.clone());
            conditions.push(format!("{column} = ${}", binds.len()));
        }
    }
    let mut seq_bind = None;
    if let Some(cursor) = &query.before {
        binds.push(cursor.occurred_at.clone());
        let at = binds.len();
        seq_bind = Some(cursor.sequence as i64);
        conditions.push(format!(
            "(occurred_at < ${at} OR (occurred_at = ${at} AND seq < ${}))",
            at + 1
        ));
    }
    let sql = format!(
        "SELECT * FROM audit_log {} ORDER BY occurred_at DESC, seq DESC LIMIT {fetch}",
        if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        },
    );
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(b.as_str());
    }
    if let Some(seq) = seq_bind {
        q = q.bind(seq);
    }
    q.fetch_all(db.pool()).await?.iter().map(decode).collect()
}

/// The width of a time bucket in [`counts_over_time`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// Per hour: keys like `2026-12-06T06`.
    Hour,
    /// Per day: keys like `2026-12-06`.
    Day,
}

impl Bucket {
    /// The bucket key of `t` (as [`counts_over_time`] returns them).
    pub fn key(self, t: chrono::DateTime<chrono::Utc>) -> String {
        match self {
            Bucket::Hour => t.format("%Y-%m-%dT%H").to_string(),
            Bucket::Day => t.format("%Y-%m-%d").to_string(),
        }
    }

    fn chars(self) -> i64 {
        match self {
            Bucket::Hour => 13,
            Bucket::Day => 10,
        }
    }
}

/// How many records of each of `actions` fell into each `bucket` since `since`:
/// `(bucket key, action, count)`, buckets without records left out.
pub async fn counts_over_time(
    db: &Database,
    actions: &[&str],
    since: chrono::DateTime<chrono::Utc>,
    bucket: Bucket,
) -> Result<Vec<(String, String, u64)>, StorageError> {
    if actions.is_empty() {
        return Ok(Vec::new());
    }
    let mut binds = vec![to_db_time(since)];
    let owned: Vec<String> = actions.iter().map(|a| (*a).to_owned()).collect();
    let list = placeholders(&owned, &mut binds);
    let sql = format!(
        "SELECT substr(occurred_at, 1, {}) AS bucket, action, COUNT(*) AS n FROM audit_log \
         WHERE action IN ({list}) AND occurred_at >= $1 GROUP BY substr(occurred_at, 1, {}), action",
        bucket.chars(),
        bucket.chars()
    );
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(b.as_str());
    }
    q.fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get::<String, _>("bucket")?,
                r.try_get::<String, _>("action")?,
                r.try_get::<i64, _>("n")?.max(0) as u64,
            ))
        })
        .collect()
}

/// Who a [`grouped_counts`] row is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// The account concerned: the actor when signed in, else the record the attempt named
    /// (a failed sign-in's account; `None` for a username that does not exist).
    Subject,
    /// The client address.
    ClientAddress,
}

/// One row of [`grouped_counts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupedCount {
    /// The account id or client address (`None`: not known).
    pub key: Option<String>,
    /// The action.
    pub action: String,
    /// How many records.
    pub count: u64,
    /// The newest record's instant (RFC 3339 UTC text).
    pub last_at: String,
}

/// How many records of each of `actions` each subject or client address left since `since`.
pub async fn grouped_counts(
    db: &Database,
    actions: &[&str],
    since: chrono::DateTime<chrono::Utc>,
    grouping: Grouping,
) -> Result<Vec<GroupedCount>, StorageError> {
    if actions.is_empty() {
        return Ok(Vec::new());
    }
    let key = match grouping {
        Grouping::Subject => "CASE WHEN actor_id = 'anonymous' THEN resource_id ELSE actor_id END",
        Grouping::ClientAddress => "client_address",
    };
    let mut binds = vec![to_db_time(since)];
    let owned: Vec<String> = actions.iter().map(|a| (*a).to_owned()).collect();
    let list = placeholders(&owned, &mut binds);
    let sql = format!(
        "SELECT {key} AS k, action, COUNT(*) AS n, MAX(occurred_at) AS last_at FROM audit_log \
         WHERE action IN ({list}) AND occurred_at >= $1 GROUP BY {key}, action"
    );
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(b.as_str());
    }
    q.fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(GroupedCount {
                key: r.try_get("k")?,
                action: r.try_get("action")?,
                count: r.try_get::<i64, _>("n")?.max(0) as u64,
                last_at: r.try_get("last_at")?,
            })
        })
        .collect()
}

/// How many records of `actions` (every action when empty) since `since`.
pub async fn count_since(
    db: &Database,
    actions: &[&str],
    since: chrono::DateTime<chrono::Utc>,
) -> Result<u64, StorageError> {
    let mut binds = vec![to_db_time(since)];
    let owned: Vec<String> = actions.iter().map(|a| (*a).to_owned()).collect();
    let filter = if owned.is_empty() {
        String::new()
    } else {
        format!(" AND action IN ({})", placeholders(&owned, &mut binds))
    };
    let sql = format!("SELECT COUNT(*) AS n FROM audit_log WHERE occurred_at >= $1{filter}");
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(b.as_str());
    }
    let row = q.fetch_one(db.pool()).await?;
    Ok(row.try_get::<i64, _>("n")?.max(0) as u64)
}

/// The number of records in the chain (its tip's sequence number).
pub async fn chain_length(db: &Database) -> Result<u64, StorageError> {
    let row = sqlx::query("SELECT seq FROM audit_head WHERE id = 1")
        .fetch_one(db.pool())
        .await?;
    Ok(row.try_get::<i64, _>("seq")?.max(0) as u64)
}
