//! Domain events as CloudEvents 1.0, the transactional outbox, and the relay that publishes it.
//!
//! Flow: a repository calls [`crate::db::WriteTx::emit`] inside the transaction that changes state,
//! so the event row commits atomically with the change. The [`OutboxRelay`] reads unpublished rows
//! in commit order, hands each to an [`EventSink`] (NATS JetStream in production, nothing extra in
//! a single-node install), and only after the sink acknowledged stamps `published_at`. Every
//! published event is also broadcast on the in-process [`EventBus`] for local subscribers.
//!
//! Guarantees: at-least-once delivery, in order per relay; the CloudEvent `id` is stable so the
//! broker (JetStream `Nats-Msg-Id`) and consumers de-duplicate. Events carry identifiers and field
//! names, never personal data: consumers that need values read them through the API, which audits.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use tokio::sync::broadcast;
use tracing::Instrument;
use uuid::Uuid;

use crate::db::{Backend, Database, StorageError, now, to_db_time};

/// A CloudEvents 1.0 event in its JSON format.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CloudEvent {
    /// Always `"1.0"`.
    pub specversion: String,
    /// Unique and stable: UUIDv7, so ids sort by creation time.
    pub id: String,
    /// Which part of Aloft produced it, e.g. `/aloft/customers`.
    pub source: String,
    /// Stable type name, e.g. `aloft.customer.created`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The entity the event is about (a customer id, a case id…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// When the change happened (UTC).
    pub time: DateTime<Utc>,
    /// Always `application/json`.
    pub datacontenttype: String,
    /// Where the JSON Schema of `data` is published (`/api/v1/events/{type}/v{version}`); set
    /// for typed domain events ([`crate::event_types::DomainEvent`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataschema: Option<String>,
    /// Event-specific payload.
    pub data: serde_json::Value,
    /// The W3C trace context of the change that caused the event (CloudEvents distributed
    /// tracing extension), set only while traces are exported: the relay publishes the event in
    /// that trace, and consumers can continue it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

impl CloudEvent {
    /// A new event with a fresh id, stamped now.
    pub fn new(
        source: &str,
        event_type: &str,
        subject: Option<String>,
        data: serde_json::Value,
    ) -> Self {
        Self {
            specversion: "1.0".into(),
            id: Uuid::now_v7().to_string(),
            source: source.into(),
            event_type: event_type.into(),
            subject,
            time: now(),
            datacontenttype: "application/json".into(),
            dataschema: None,
            data,
            traceparent: aloft_otlp::exported_traceparent(&tracing::Span::current()),
        }
    }
}

/// The head of a multi-row outbox insert (see [`crate::statements::Statements::emit`]).
pub(crate) const OUTBOX_INSERT: &str =
    "INSERT INTO outbox (event_id, event_type, subject, payload, created_at) VALUES ";
/// Values per outbox row.
pub(crate) const OUTBOX_COLUMNS: usize = 5;

/// An event as an outbox row stores it.
pub(crate) struct OutboxRow {
    pub event_id: String,
    pub event_type: String,
    pub subject: Option<String>,
    /// The CloudEvent's JSON, published byte for byte.
    pub payload: String,
    pub created_at: String,
}

/// Renders `event` as its outbox row.
pub(crate) fn outbox_row(event: &CloudEvent) -> Result<OutboxRow, StorageError> {
    Ok(OutboxRow {
        event_id: event.id.clone(),
        event_type: event.event_type.clone(),
        subject: event.subject.clone(),
        payload: serde_json::to_string(event)
            .map_err(|e| StorageError::Corrupt(format!("event not serialisable: {e}")))?,
        created_at: to_db_time(event.time),
    })
}

/// An outbox row waiting to be published.
#[derive(Debug, Clone)]
pub struct PendingEvent {
    /// Outbox sequence number (commit order).
    pub seq: i64,
    /// The CloudEvent.
    pub event: CloudEvent,
    /// The exact JSON stored, published byte for byte.
    pub payload: String,
}

/// Why a sink could not take an event. The relay keeps the event and retries.
#[derive(Debug, thiserror::Error)]
#[error("event sink failed: {0}")]
pub struct SinkError(pub String);

/// Where the relay publishes events (a message broker). Must be idempotent by event id.
pub trait EventSink: Send + Sync + 'static {
    /// Publishes one event; returns only after the broker durably acknowledged it.
    fn publish(&self, event: &PendingEvent) -> impl Future<Output = Result<(), SinkError>> + Send;

    /// The broker's OpenTelemetry `messaging.system` name (e.g. `nats`), recorded on the relay's
    /// trace spans.
    fn messaging_system(&self) -> &'static str {
        "in-process"
    }
}

/// The sink for single-node installs without a broker: events are only dispatched in-process.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoBroker;

impl EventSink for NoBroker {
    async fn publish(&self, _event: &PendingEvent) -> Result<(), SinkError> {
        Ok(())
    }
}

/// In-process fan-out of published events to local subscribers (workers, projections).
#[derive(Debug, Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<CloudEvent>>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self {
            sender: broadcast::channel(4096).0,
        }
    }
}

impl EventBus {
    /// A new receiver of every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<CloudEvent>> {
        self.sender.subscribe()
    }

    fn dispatch(&self, event: CloudEvent) {
        // No subscriber is not an error: the outbox row stays as the durable record.
        let _ = self.sender.send(Arc::new(event));
    }
}

/// How long published events stay in the outbox (for diagnostics and replays); the broker keeps
/// the long-term history.
pub const KEEP_PUBLISHED: Duration = Duration::from_secs(7 * 24 * 3600);

/// How often the relay deletes published events older than [`KEEP_PUBLISHED`].
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// How long the relay waits after a commit before publishing, to batch bursts.
const LINGER: Duration = Duration::from_millis(20);

/// Publishes the outbox. One relay per process; on PostgreSQL several processes may run relays
/// concurrently (rows are claimed with `FOR UPDATE SKIP LOCKED`).
pub struct OutboxRelay<S> {
    db: Database,
    sink: S,
    bus: EventBus,
    batch_size: i64,
}

/// Counts from one relay pass.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RelayPass {
    /// Events acknowledged by the sink and marked published.
    pub published: usize,
    /// The sink's error, if it failed (the rest of the batch stays pending).
    pub failed: Option<String>,
}

impl<S: EventSink> OutboxRelay<S> {
    /// A relay from `db` to `sink`, dispatching also on `bus`.
    pub fn new(db: Database, sink: S, bus: EventBus) -> Self {
        Self {
            db,
            sink,
            bus,
            batch_size: 256,
        }
    }

    /// Publishes one batch of pending events.
    pub async fn pass(&self) -> Result<RelayPass, StorageError> {
        let outcome = if self.db.backend() == Backend::Postgres {
            // Claim the rows so that relays in other processes skip them.
            let mut tx = self.db.pool().begin().await?;
            let pending = fetch_pending(&mut tx, self.batch_size, true).await?;
            let outcome = async {
                let outcome = self.publish_all(&pending).await;
                record(&mut tx, &pending, &outcome).await?;
                tx.commit().await?;
                Ok::<_, StorageError>(outcome)
            }
            .instrument(self.batch_span(pending.len()))
            .await?;
            self.dispatch(pending, &outcome);
            outcome
        } else {
            // SQLite: read without a transaction (never hold a snapshot across network calls),
            // then stamp through the serialised writer.
            let mut conn = self.db.pool().acquire().await?;
            let pending = fetch_pending(&mut conn, self.batch_size, false).await?;
            drop(conn);
            if pending.is_empty() {
                return Ok(RelayPass::default());
            }
            let outcome = async {
                let outcome = self.publish_all(&pending).await;
                let mut tx = self.db.begin_write().await?;
                record(tx.conn(), &pending, &outcome).await?;
                tx.commit().await?;
                Ok::<_, StorageError>(outcome)
            }
            .instrument(self.batch_span(pending.len()))
            .await?;
            self.dispatch(pending, &outcome);
            outcome
        };
        metrics::counter!("aloft_outbox_published_total").increment(outcome.published as u64);
        if outcome.failed.is_some() {
            metrics::counter!("aloft_outbox_publish_failures_total").increment(1);
        }
        Ok(outcome)
    }

    /// The trace span of one batch: publishing it and the transaction that stamps it. A root
    /// span (its own trace); an empty pass (the idle poll) has none, so idling exports nothing.
    fn batch_span(&self, events: usize) -> tracing::Span {
        if events == 0 {
            return tracing::Span::none();
        }
        tracing::info_span!(
            "outbox.publish",
            messaging.system = self.sink.messaging_system(),
            messaging.operation = "publish",
            messaging.batch.message_count = events,
        )
    }

    /// The trace span of publishing one event, in the trace of the change that caused it (when
    /// that trace was exported; else none). Current while the sink publishes, so a broker can
    /// pass the context on (`aloft_otlp::traceparent`).
    fn event_span(&self, pending: &PendingEvent) -> tracing::Span {
        let Some(parent) = &pending.event.traceparent else {
            return tracing::Span::none();
        };
        let span = tracing::info_span!(
            parent: None,
            "outbox.send",
            messaging.system = self.sink.messaging_system(),
            messaging.operation = "publish",
        );
        aloft_otlp::continue_trace(&span, parent);
        span
    }

    async fn publish_all(&self, pending: &[PendingEvent]) -> RelayPass {
        let mut outcome = RelayPass::default();
        for p in pending {
            if let Err(e) = self.sink.publish(p).instrument(self.event_span(p)).await {
                tracing::warn!(error = %e, seq = p.seq, "outbox publish failed; will retry");
                outcome.failed = Some(e.0);
                break;
            }
            outcome.published += 1;
        }
        outcome
    }

    fn dispatch(&self, pending: Vec<PendingEvent>, outcome: &RelayPass) {
        for p in pending.into_iter().take(outcome.published) {
            self.bus.dispatch(p.event);
        }
    }

    /// Runs until `shutdown` resolves: publishes as soon as a write commits, polls every second in
    /// case another process wrote, and backs off (up to 10 s) while the sink or database is down.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let signal = self.db.outbox_signal();
        tokio::pin!(shutdown);
        let mut backoff = Duration::from_millis(100);
        let mut last_prune = std::time::Instant::now();
        loop {
            let result = self.pass().await;
            if last_prune.elapsed() > PRUNE_EVERY {
                match prune(&self.db, KEEP_PUBLISHED).await {
                    Ok(n) if n > 0 => tracing::info!(removed = n, "pruned published outbox events"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "cannot prune the outbox; will retry"),
                }
                last_prune = std::time::Instant::now();
            }
            let wait = match result {
                Ok(p) if p.failed.is_some() => {
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    backoff
                }
                Ok(p) if p.published as i64 >= self.batch_size => {
                    backoff = Duration::from_millis(100);
                    continue;
                }
                Ok(_) => {
                    backoff = Duration::from_millis(100);
                    Duration::from_secs(1)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "outbox relay cannot read the outbox; will retry");
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    backoff
                }
            };
            tokio::select! {
                _ = &mut shutdown => break,
                _ = signal.notified() => {
                    // Linger briefly so that a burst of commits is published and stamped in one
                    // pass: one stamping transaction per burst instead of one per write keeps the
                    // relay from competing with writers for the database.
                    tokio::time::sleep(LINGER).await;
                },
                _ = tokio::time::sleep(wait) => {},
            }
        }
        tracing::info!("outbox relay stopped");
    }
}

/// Number of events not yet published.
pub async fn backlog(db: &Database) -> Result<i64, StorageError> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE published_at IS NULL")
        .fetch_one(db.pool())
        .await?;
    Ok(n)
}

/// Deletes published events older than `keep`; the broker keeps its own history.
pub async fn prune(db: &Database, keep: Duration) -> Result<u64, StorageError> {
    let cutoff = now() - chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::days(7));
    let done =
        sqlx::query("DELETE FROM outbox WHERE published_at IS NOT NULL AND published_at < $1")
            .bind(to_db_time(cutoff))
            .execute(db.pool())
            .await?;
    Ok(done.rows_affected())
}

/// Reads outbox rows for `subject` (tests, diagnostics), oldest first.
pub async fn events_for(db: &Database, subject: &str) -> Result<Vec<CloudEvent>, StorageError> {
    let payloads: Vec<String> =
        sqlx::query_scalar("SELECT payload FROM outbox WHERE subject = $1 ORDER BY seq")
            .bind(subject)
            .fetch_all(db.pool())
            .await?;
    payloads
        .iter()
        .map(|p| serde_json::from_str(p).map_err(|e| StorageError::Corrupt(e.to_string())))
        .collect()
}

async fn fetch_pending(
    conn: &mut sqlx::AnyConnection,
    limit: i64,
    claim: bool,
) -> Result<Vec<PendingEvent>, StorageError> {
    let sql = if claim {
        "SELECT seq, payload FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED"
    } else {
        "SELECT seq, payload FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT $1"
    };
    let rows = sqlx::query(sql).bind(limit).fetch_all(conn).await?;
    rows.into_iter()
        .map(|row| {
            let payload: String = row.try_get("payload")?;
            let event: CloudEvent = serde_json::from_str(&payload)
                .map_err(|e| StorageError::Corrupt(format!("outbox payload: {e}")))?;
            Ok(PendingEvent {
                seq: row.try_get("seq")?,
                event,
                payload,
            })
        })
        .collect()
}

/// Stamps the published prefix of `pending` and records the failure on the next one.
async fn record(
    conn: &mut sqlx::AnyConnection,
    pending: &[PendingEvent],
    outcome: &RelayPass,
) -> Result<(), StorageError> {
    let stamp = to_db_time(now());
    for chunk in pending[..outcome.published].chunks(100) {
        let list = chunk
            .iter()
            .map(|p| p.seq.to_string())
            .collect::<Vec<_>>()
            .join(",");
        sqlx::query(&format!(
            "UPDATE outbox SET published_at = $1 WHERE seq IN ({list})"
        ))
        .bind(&stamp)
        .execute(&mut *conn)
        .await?;
    }
    if let (Some(err), Some(next)) = (&outcome.failed, pending.get(outcome.published)) {
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $1 WHERE seq = $2")
            .bind(err.chars().take(500).collect::<String>())
            .bind(next.seq)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
