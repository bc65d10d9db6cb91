//! Durable subscribers of committed events: a domain reacts to another domain's events (a
//! mishandled bag opens a baggage case; any case event goes out to a configured webhook) without
//! either knowing the other, and without losing or doubling a reaction.
//!
//! Why not the in-process [`crate::EventBus`]: it delivers only what is published while the
//! receiver listens, so a restart, a lagging receiver or a second process loses reactions. Why
//! not the broker: a single-node install has none. The outbox table is the one durable, ordered
//! feed every install has, so subscribers read it.
//!
//! Flow: a [`SubscriptionRunner`] in every process reads, for each [`Subscription`], the outbox
//! rows of its event types after its cursor (`event_subscriptions.seq`, starting at the newest
//! event when the subscription first runs — a new rule does not act on last week's events) and
//! hands each to its [`EventHandler`] with a [`Delivery`]. A handler reads what it needs, then
//! calls [`Delivery::begin`], which opens a write transaction whose first statement records the
//! delivery (`event_deliveries`, primary key subscriber + event id); the handler's changes commit
//! in that transaction. So:
//! - an effect in the database happens **exactly once** per subscriber and event: a replay, a
//!   second process or a crash before commit finds the delivery row (or none, and acts again
//!   as if for the first time);
//! - a handler that decides the event is not for it simply does not begin, and writes nothing;
//! - effects outside the database (a webhook call) are enqueued as jobs in that transaction
//!   ([`crate::jobs`]), which retry with back-off and record their failures.
//!
//! Late commits: on PostgreSQL a transaction may commit an outbox row with a smaller `seq` after
//! one with a larger `seq` is visible. Each pass therefore reads again [`LOOK_BACK`] sequence
//! numbers behind the cursor; events already acted on are excluded by their delivery rows, and
//! events this process already looked at by an in-memory set.
//!
//! Failures: a handler error is retried with back-off (the subscription waits: events are
//! handled in commit order); after [`MAX_ATTEMPTS`] the event is **parked** — a delivery row with
//! outcome `failed` and the error, counted in `aloft_subscription_parked_total` and shown by
//! [`status`] — so one poison event cannot stop a subscription for good.
//!
//! The outbox keeps published events for a week ([`crate::events::KEEP_PUBLISHED`]); runners run
//! beside the relay in every process and trail it by milliseconds, so a subscriber never needs
//! an event the relay has already pruned.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::Serialize;
use sqlx::Row;

use crate::db::{Database, StorageError, WriteTx, now, to_db_time};
use crate::events::{CloudEvent, EventBus};

/// How many sequence numbers behind its cursor a subscription reads again, for late commits.
pub const LOOK_BACK: i64 = 1000;

/// How many times an event is tried before it is parked as failed.
pub const MAX_ATTEMPTS: u32 = 5;

/// How often a moving cursor is stored when nothing was handled.
const PERSIST_EVERY: Duration = Duration::from_secs(10);

/// Events read per subscription and pass.
const BATCH: i64 = 200;

/// The longest error kept on a parked delivery (characters).
const MAX_ERROR: usize = 500;

/// How long delivery rows are kept (beyond the outbox's week, so a replay of any event the outbox
/// still holds finds its row).
const KEEP_DELIVERIES: chrono::Duration = chrono::Duration::days(8);

/// A subscriber of events of some types, declared by a domain module.
#[derive(Clone)]
pub struct Subscription {
    /// A stable name (`cases.event_rules`): the cursor and the delivery rows are kept under it.
    pub name: &'static str,
    /// The CloudEvents types it receives: exact, or a prefix ending in `*` (`aloft.case.*`).
    pub event_types: Vec<String>,
    /// What it does with each.
    pub handler: Arc<dyn EventHandler>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("name", &self.name)
            .field("event_types", &self.event_types)
            .finish_non_exhaustive()
    }
}

/// Why a handler could not act on an event now; the runner retries, then parks it.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// The database failed (an outage: retried).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The handler's own reason.
    #[error("{0}")]
    Failed(String),
}

/// Acts on one event. Read first, then [`Delivery::begin`] and write in its transaction.
pub trait EventHandler: Send + Sync {
    /// Handles `event`; returning `Ok` without beginning means "nothing to do".
    fn handle<'a>(
        &'a self,
        event: &'a CloudEvent,
        delivery: Delivery,
    ) -> BoxFuture<'a, Result<(), HandlerError>>;
}

/// One event handed to one subscriber: the way to act on it at most once.
#[derive(Debug, Clone)]
pub struct Delivery {
    db: Database,
    subscriber: &'static str,
    event_id: String,
    seq: i64,
}

impl Delivery {
    /// Begins the write transaction that acts on the event, its first statement recording that
    /// this subscriber did. `None`: it already did (a replay, another process) — do nothing.
    pub async fn begin(&self) -> Result<Option<WriteTx>, StorageError> {
        let mut tx = self.db.begin_write().await?;
        let recorded = sqlx::query(
            "INSERT INTO event_deliveries (subscriber, event_id, seq, handled_at, outcome) \
             VALUES ($1, $2, $3, $4, 'handled') ON CONFLICT DO NOTHING",
        )
        .bind(self.subscriber)
        .bind(&self.event_id)
        .bind(self.seq)
        .bind(to_db_time(now()))
        .execute(tx.conn())
        .await?
        .rows_affected();
        Ok((recorded == 1).then_some(tx))
    }

    /// The subscriber's name.
    pub fn subscriber(&self) -> &'static str {
        self.subscriber
    }

    /// The event's position in the outbox (commit order on SQLite).
    pub fn seq(&self) -> i64 {
        self.seq
    }
}

/// Where one subscription stands (for operators: `GET /api/v1/ops/subscriptions`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SubscriptionStatus {
    /// The subscription's name.
    pub name: String,
    /// The outbox position it has read to.
    pub cursor: i64,
    /// Events after the cursor in the outbox (of any type).
    pub behind: i64,
    /// Events it acted on in the last 24 hours.
    pub handled_24h: i64,
    /// Events it gave up on (kept with their errors).
    pub parked: i64,
    /// The newest parked event's error.
    pub last_error: Option<String>,
}

/// Where every subscription stands.
pub async fn status(db: &Database) -> Result<Vec<SubscriptionStatus>, StorageError> {
    let newest: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM outbox")
        .fetch_one(db.pool())
        .await?;
    let since = to_db_time(now() - chrono::Duration::hours(24));
    let rows = sqlx::query(
        "SELECT s.name, s.seq, s.last_error, \
           (SELECT COUNT(*) FROM event_deliveries d WHERE d.subscriber = s.name \
              AND d.outcome = 'handled' AND d.handled_at > $1) AS handled, \
           (SELECT COUNT(*) FROM event_deliveries d WHERE d.subscriber = s.name \
              AND d.outcome = 'failed') AS parked \
         FROM event_subscriptions s ORDER BY s.name",
    )
    .bind(since)
    .fetch_all(db.pool())
    .await?;
    rows.into_iter()
        .map(|r| {
            let cursor: i64 = r.try_get("seq")?;
            Ok(SubscriptionStatus {
                name: r.try_get("name")?,
                cursor,
                behind: (newest - cursor).max(0),
                handled_24h: r.try_get("handled")?,
                parked: r.try_get("parked")?,
                last_error: r.try_get("last_error")?,
            })
        })
        .collect()
}

/// Runs every declared subscription in this process (one per process is enough; several
/// processes share the work safely).
pub struct SubscriptionRunner {
    db: Database,
    bus: EventBus,
    subs: Vec<Tail>,
}

/// One subscription's state in this process.
struct Tail {
    sub: Subscription,
    cursor: Option<i64>,
    /// Sequence numbers in the look-back window already handled here.
    seen: HashSet<i64>,
    /// Attempts of the event the subscription is stuck on.
    attempts: HashMap<i64, u32>,
    /// Not before this instant (back-off after a failure).
    resume_at: Option<tokio::time::Instant>,
    /// Where the subscription started: the look-back never reads before it.
    first: i64,
    /// The cursor as stored, and when it was stored.
    persisted: Option<i64>,
    persisted_at: std::time::Instant,
}

impl SubscriptionRunner {
    /// A runner of `subs` over `db`, woken by events published on `bus`.
    pub fn new(db: Database, bus: EventBus, subs: Vec<Subscription>) -> Self {
        Self {
            db,
            bus,
            subs: subs
                .into_iter()
                .map(|sub| Tail {
                    sub,
                    cursor: None,
                    seen: HashSet::new(),
                    attempts: HashMap::new(),
                    resume_at: None,
                    first: 0,
                    persisted: None,
                    persisted_at: std::time::Instant::now(),
                })
                .collect(),
        }
    }

    /// One pass over every subscription; the number of events handled (tests, benchmarks).
    pub async fn pass(&mut self) -> Result<usize, StorageError> {
        let mut handled = 0;
        for tail in &mut self.subs {
            handled += tail.pass(&self.db).await?;
        }
        Ok(handled)
    }

    /// Runs until `shutdown` resolves: a pass after every published batch and every second.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        if self.subs.is_empty() {
            return;
        }
        let mut woken = self.bus.subscribe();
        tokio::pin!(shutdown);
        let mut last_prune = std::time::Instant::now();
        loop {
            if let Err(e) = self.pass().await {
                tracing::warn!(error = %e, "event subscriptions cannot read the outbox; will retry");
            }
            if last_prune.elapsed() > Duration::from_secs(3600) {
                if let Err(e) = prune_deliveries(&self.db).await {
                    tracing::warn!(error = %e, "cannot prune event deliveries; will retry");
                }
                last_prune = std::time::Instant::now();
            }
            tokio::select! {
                _ = &mut shutdown => break,
                r = woken.recv() => {
                    if matches!(r, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                        woken = self.bus.subscribe();
                    }
                    // Let the rest of a published batch arrive: one pass per burst.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    while woken.try_recv().is_ok() {}
                },
                _ = tokio::time::sleep(Duration::from_secs(1)) => {},
            }
        }
        tracing::info!("event subscriptions stopped");
    }
}

impl Tail {
    async fn pass(&mut self, db: &Database) -> Result<usize, StorageError> {
        if let Some(at) = self.resume_at {
            if tokio::time::Instant::now() < at {
                return Ok(0);
            }
            self.resume_at = None;
        }
        let cursor = match self.cursor {
            Some(c) => c,
            None => {
                let (c, first) = start(db, self.sub.name).await?;
                self.cursor = Some(c);
                self.persisted = Some(c);
                self.first = first;
                c
            }
        };
        let types = &self.sub.event_types;
        if types.is_empty() {
            return Ok(0);
        }
        // `$1`, `$2`: the range; `$3`: the subscriber; then the types (`aloft.case.*`: a prefix).
        let list = types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if t.ends_with('*') {
                    format!("o.event_type LIKE ${}", i + 4)
                } else {
                    format!("o.event_type = ${}", i + 4)
                }
            })
            .collect::<Vec<_>>()
            .join(" OR ");
        let wanted = format!(
            "({list}) AND NOT EXISTS (SELECT 1 FROM event_deliveries d \
             WHERE d.subscriber = $3 AND d.event_id = o.event_id)"
        );
        // Late commits behind the cursor: positions only, the payloads of those not seen here.
        let late_sql = format!(
            "SELECT o.seq FROM outbox o WHERE o.seq > $1 AND o.seq <= $2 AND {wanted} ORDER BY o.seq"
        );
        let mut q = sqlx::query_scalar::<_, i64>(&late_sql)
            .bind((cursor - LOOK_BACK).max(self.first))
            .bind(cursor)
            .bind(self.sub.name);
        for t in types {
            q = q.bind(pattern(t));
        }
        let late: Vec<i64> = q
            .fetch_all(db.pool())
            .await?
            .into_iter()
            .filter(|s| !self.seen.contains(s))
            .collect();
        let mut rows: Vec<(i64, String)> = Vec::new();
        for seq in late {
            if let Some(p) =
                sqlx::query_scalar::<_, String>("SELECT payload FROM outbox WHERE seq = $1")
                    .bind(seq)
                    .fetch_optional(db.pool())
                    .await?
            {
                rows.push((seq, p));
            }
        }
        let newest: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM outbox")
            .fetch_one(db.pool())
            .await?;
        let new_sql = format!(
            "SELECT o.seq, o.payload FROM outbox o WHERE o.seq > $1 AND o.seq <= $2 AND {wanted} \
             ORDER BY o.seq LIMIT {BATCH}"
        );
        let mut q = sqlx::query(&new_sql)
            .bind(cursor)
            .bind(newest)
            .bind(self.sub.name);
        for t in types {
            q = q.bind(pattern(t));
        }
        let fresh = q.fetch_all(db.pool()).await?;
        // With a full batch, more may follow: read up to its last; else up to the newest.
        let mut reached = if fresh.len() as i64 == BATCH {
            cursor
        } else {
            newest.max(cursor)
        };
        for row in fresh {
            rows.push((row.try_get("seq")?, row.try_get("payload")?));
        }
        let mut handled = 0;
        for (seq, payload) in rows {
            if self.seen.contains(&seq) {
                continue;
            }
            let event: CloudEvent = match serde_json::from_str(&payload) {
                Ok(e) => e,
                Err(e) => {
                    tracing::error!(subscriber = self.sub.name, seq, "unreadable outbox payload");
                    park(db, self.sub.name, seq, &format!("unreadable event: {e}")).await?;
                    self.seen.insert(seq);
                    continue;
                }
            };
            let delivery = Delivery {
                db: db.clone(),
                subscriber: self.sub.name,
                event_id: event.id.clone(),
                seq,
            };
            match self.sub.handler.handle(&event, delivery).await {
                Ok(()) => {
                    self.seen.insert(seq);
                    self.attempts.remove(&seq);
                    handled += 1;
                    metrics::counter!("aloft_subscription_handled_total", "subscriber" => self.sub.name)
                        .increment(1);
                    reached = reached.max(seq);
                }
                Err(e) => {
                    let n = self.attempts.entry(seq).or_insert(0);
                    *n += 1;
                    tracing::warn!(
                        subscriber = self.sub.name,
                        seq,
                        event_type = %event.event_type,
                        attempt = *n,
                        "event subscriber failed; will retry"
                    );
                    if *n >= MAX_ATTEMPTS {
                        park(db, self.sub.name, seq, &e.to_string()).await?;
                        metrics::counter!("aloft_subscription_parked_total", "subscriber" => self.sub.name)
                            .increment(1);
                        tracing::error!(
                            subscriber = self.sub.name,
                            seq,
                            "event parked after {MAX_ATTEMPTS} attempts"
                        );
                        self.attempts.remove(&seq);
                        self.seen.insert(seq);
                        reached = reached.max(seq);
                        continue;
                    }
                    // Wait and keep order: nothing after this event is handled before it.
                    let backoff = Duration::from_millis(200 * 2u64.pow(*n - 1));
                    self.resume_at = Some(tokio::time::Instant::now() + backoff);
                    reached = reached.min(seq - 1).max(cursor);
                    break;
                }
            }
        }
        if reached > cursor {
            self.cursor = Some(reached);
            let floor = reached - LOOK_BACK;
            self.seen.retain(|s| *s > floor);
        }
        // Persisted now and then, not on every pass: a cursor a little behind after a restart
        // only means reading again events whose deliveries are recorded.
        if self.cursor > self.persisted
            && (handled > 0 || self.persisted_at.elapsed() > PERSIST_EVERY)
        {
            let at = self.cursor.unwrap_or(cursor);
            advance(db, self.sub.name, at).await?;
            self.persisted = Some(at);
            self.persisted_at = std::time::Instant::now();
        }
        Ok(handled)
    }
}

/// A type as bound: `aloft.case.*` becomes the `LIKE` pattern `aloft.case.%`.
fn pattern(t: &str) -> String {
    match t.strip_suffix('*') {
        Some(prefix) => format!("{prefix}%"),
        None => t.to_owned(),
    }
}

/// The subscription's cursor and where it started, created at the newest event on first use.
async fn start(db: &Database, name: &str) -> Result<(i64, i64), StorageError> {
    let read = || async {
        sqlx::query("SELECT seq, first_seq FROM event_subscriptions WHERE name = $1")
            .bind(name)
            .fetch_optional(db.pool())
            .await?
            .map(|r| Ok::<_, StorageError>((r.try_get("seq")?, r.try_get("first_seq")?)))
            .transpose()
    };
    if let Some(found) = read().await? {
        return Ok(found);
    }
    // `WHERE 1 = 1`: SQLite reads `ON CONFLICT` after a bare `FROM` as a join constraint.
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO event_subscriptions (name, seq, first_seq, updated_at) \
         SELECT $1, COALESCE(MAX(seq), 0), COALESCE(MAX(seq), 0), $2 FROM outbox \
         WHERE 1 = 1 ON CONFLICT DO NOTHING",
    )
    .bind(name)
    .bind(to_db_time(now()))
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    read()
        .await?
        .ok_or_else(|| StorageError::Corrupt(format!("subscription {name} not stored")))
}

/// Moves the cursor forward (never back: another process may be ahead).
async fn advance(db: &Database, name: &str, seq: i64) -> Result<(), StorageError> {
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "UPDATE event_subscriptions SET seq = $1, updated_at = $2 WHERE name = $3 AND seq < $1",
    )
    .bind(seq)
    .bind(to_db_time(now()))
    .bind(name)
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Records that the subscriber gave up on the event at `seq`, with why.
async fn park(db: &Database, name: &str, seq: i64, error: &str) -> Result<(), StorageError> {
    let error: String = error.chars().take(MAX_ERROR).collect();
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO event_deliveries (subscriber, event_id, seq, handled_at, outcome, error) \
         SELECT $1, event_id, seq, $2, 'failed', $3 FROM outbox WHERE seq = $4 \
         ON CONFLICT DO NOTHING",
    )
    .bind(name)
    .bind(to_db_time(now()))
    .bind(&error)
    .bind(seq)
    .execute(tx.conn())
    .await?;
    sqlx::query("UPDATE event_subscriptions SET last_error = $1 WHERE name = $2")
        .bind(&error)
        .bind(name)
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(())
}

async fn prune_deliveries(db: &Database) -> Result<u64, StorageError> {
    let mut tx = db.begin_write().await?;
    let n = sqlx::query("DELETE FROM event_deliveries WHERE handled_at < $1")
        .bind(to_db_time(now() - KEEP_DELIVERIES))
        .execute(tx.conn())
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(n)
}
