//! Travel record persistence and the timeline read model, identical on SQLite and PostgreSQL
//! (tables in `migrations/0007_travel.sql`).
//!
//! Writing a record is idempotent on its source key (source system, source record id):
//! - a new key inserts the record (version 1) and its timeline entries;
//! - the same key with the same document and customer is a no-op reported as
//!   [`Outcome::AlreadyRecorded`] — nothing is written, no event, no audit record;
//! - the same key with a different document or customer updates the record (version + 1) and
//!   replaces its timeline entries.
//!
//! Every change writes the record, its timeline entries, its CloudEvent
//! (`aloft.travel.<kind>.recorded`) and its audit record in **one** transaction
//! (`Database::begin_write`). Events and audit records carry ids and field names, never values.
//!
//! What people wrote and how they paid is encrypted under the customer's data key before it is
//! stored ([`crate::sealing`]); "the same document" is decided by a keyed digest of the
//! plaintext, so idempotency never needs the plaintext at rest.
//! The source's own record id is left out of events too: for bookings it is often the record
//! locator, which with a surname opens the booking.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use aloft_kernel::db::{from_db_time, now, to_db_time};
use aloft_kernel::{
    AccessContext, ApiError, Backend, CloudEvent, Database, FieldError, Statements, StorageError,
    WriteTx,
};

use aloft_security::DataKey;

use crate::model::{CustomerId, Record, RecordKind, SegmentForecast, changed_fields};
use crate::sealing::{self, CustomerKeys};
use crate::timeline::{
    self, MAX_LIMIT, RecordRef, TimelineCursor, TimelineEntry, TimelineKind, TimelinePage,
    TimelineQuery, project,
};

pub use crate::events::EVENT_SOURCE;

/// The event type announcing that a record of `kind` was recorded or changed:
/// `aloft.travel.<kind>.recorded` (data: [`crate::events::RecordRecorded`]).
pub fn event_type(kind: RecordKind) -> String {
    crate::events::recorded_type(kind).to_owned()
}

/// What recording did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new record was stored.
    Created,
    /// An existing record changed; these top-level fields (and `customer_id` if it moved to
    /// another customer) differ.
    Updated {
        /// Names of the changed fields.
        changed_fields: Vec<String>,
    },
    /// The same record was already stored; nothing was written.
    AlreadyRecorded,
}

/// The result of recording one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// Aloft's id of the record (stable across updates).
    pub record_id: Uuid,
    /// The record's version after this call.
    pub version: i64,
    /// What happened.
    pub outcome: Outcome,
}

/// A record as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    /// Aloft's id.
    pub id: Uuid,
    /// The customer it belongs to (none for flight-level records).
    pub customer_id: Option<CustomerId>,
    /// Increases with every change.
    pub version: i64,
    /// When Aloft first stored it.
    pub recorded_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The record.
    pub record: Record,
}

/// Why a travel operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TravelError {
    /// The input is not acceptable (each problem with its pointer).
    #[error("invalid travel record")]
    Invalid(Vec<FieldError>),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<TravelError> for ApiError {
    fn from(e: TravelError) -> Self {
        match e {
            TravelError::Invalid(errs) => ApiError::Invalid(errs),
            TravelError::Storage(s) => s.into(),
        }
    }
}

/// Access to travel records and timelines.
#[derive(Clone)]
pub struct TravelStore {
    db: Database,
    keys: Arc<dyn CustomerKeys>,
}

impl std::fmt::Debug for TravelStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TravelStore").finish_non_exhaustive()
    }
}

/// One record to write, with its derived stored forms.
struct Prepared {
    customer_id: Option<String>,
    kind: RecordKind,
    key: (String, String),
    /// The whole plaintext document (never stored as such when it has sensitive fields).
    document: Value,
    /// Keyed digest of `document` under the customer's data key (plain SHA-256 for
    /// flight-level records, which hold no personal data).
    digest: String,
    /// The customer's data key (none for flight-level records).
    data_key: Option<DataKey>,
    occurred_at: String,
    record: Record,
}

/// What the database holds for a source key (or will hold after this batch).
#[derive(Clone)]
struct State {
    id: Uuid,
    customer_id: Option<String>,
    /// Digest of the plaintext document (`None`: a row from before encryption at rest).
    digest: Option<String>,
    /// The stored plain part (the whole document for rows from before encryption at rest).
    document: String,
    /// Sealed fields as stored.
    sealed: Option<String>,
    version: i64,
    /// The version stored in the database when it was read (`None`: not stored yet, so it
    /// must be inserted). An update is made only if the row still has it.
    stored_version: Option<i64>,
    /// Must be written by this batch.
    dirty: bool,
    /// Index of the prepared input whose content the state holds.
    input: usize,
}

impl State {
    /// Whether the stored content is `p`'s document (same customer assumed).
    fn holds(&self, p: &Prepared) -> bool {
        match &self.digest {
            Some(d) => *d == p.digest,
            // A row from before encryption at rest holds the whole plaintext document.
            None => serde_json::from_str::<Value>(&self.document).is_ok_and(|d| d == p.document),
        }
    }
}

impl Prepared {
    /// What is stored for this record under id `id`: the plain part and the sealed fields
    /// (the digest is [`Prepared::digest`]).
    fn stored_form(&self, id: Uuid) -> sealing::Sealed {
        match &self.data_key {
            Some(k) => sealing::seal(k, &id.to_string(), self.kind, &self.document),
            None => sealing::Sealed {
                document: self.document.to_string(),
                sealed: None,
            },
        }
    }
}

/// Everything one write of a batch does, prepared before its transaction
/// ([`TravelStore::plan`]).
struct Plan {
    /// Per input, in input order.
    outcomes: Vec<Recorded>,
    /// Records to update (those already stored), with their stored (sealed) form.
    updates: Vec<(State, sealing::Sealed)>,
    /// Run after the updates, rendered (see [`Statements`]): the deletion of the updated
    /// records' old timeline entries, the inserts of the new records, of every written
    /// record's timeline entries (details sealed) and of one event per created or updated
    /// record.
    statements: Statements,
    /// What another domain writes beside the batch ([`Alongside`]), when rendered at staging.
    beside: Option<Statements>,
}

impl Plan {
    /// Nothing to write: every record was already stored as is.
    fn is_empty(&self) -> bool {
        self.updates.is_empty() && self.statements.is_empty()
    }
}

/// What the row scopes and rosters need of a departing flight segment.
struct DepartingSegment {
    flight_number: String,
    origin: String,
    /// Local date at the origin.
    departure_date: chrono::NaiveDate,
}

/// How often a batch is retried when a concurrent writer inserted one of its keys first
/// (PostgreSQL; SQLite writers are serialised).
const CONFLICT_RETRIES: usize = 3;

/// Another domain's writes that belong in the transaction recording a batch (the ingest
/// pipeline's new profiles, identity links and processed event ids), so that they and the
/// batch's records commit together or not at all — and SQLite's write slot is taken once.
pub trait Alongside: Send + Sync {
    /// Renders what to write in the batch's transaction, before its records; `outcomes` are
    /// what writing them will do, in input order. Called before the transaction begins (on
    /// SQLite before the write slot is taken), once per plan of the batch: again when a
    /// conflicting concurrent write makes it re-plan.
    fn render(&self, outcomes: &[Recorded], backend: Backend) -> Result<Statements, StorageError>;
}

/// A batch made ready to write ([`TravelStore::stage_many`]): data keys read, documents
/// validated, sealed and digested and, when asked, the write planned against what is stored.
pub struct Staged {
    prepared: Vec<Prepared>,
    bulk: bool,
    /// Planned at staging (SQLite only); checked again in the write slot, where a record
    /// changed meanwhile makes the write re-plan.
    plan: Option<Plan>,
}

impl std::fmt::Debug for Staged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Staged")
            .field("records", &self.prepared.len())
            .field("planned", &self.plan.is_some())
            .finish_non_exhaustive()
    }
}

impl TravelStore {
    /// A store over `db`, encrypting what people wrote under the data keys from `keys`.
    pub fn new(db: Database, keys: Arc<dyn CustomerKeys>) -> Self {
        Self { db, keys }
    }

    /// The data keys of these customers (missing: no such customer, or erased).
    async fn data_keys(
        &self,
        customers: &[CustomerId],
    ) -> Result<HashMap<CustomerId, DataKey>, StorageError> {
        if customers.is_empty() {
            return Ok(HashMap::new());
        }
        let mut ids: Vec<Uuid> = customers.iter().map(CustomerId::as_uuid).collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(self
            .keys
            .data_keys(&ids)
            .await?
            .into_iter()
            .map(|(id, key)| (CustomerId::from_uuid(id), key))
            .collect())
    }

    /// The database behind this store.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Records one customer's record: creates it, updates it or recognises it as already
    /// recorded (see the module documentation). Segment forecasts are not about a customer; use
    /// [`TravelStore::record_forecast`].
    pub async fn record(
        &self,
        customer_id: CustomerId,
        record: Record,
        ctx: &AccessContext,
    ) -> Result<Recorded, TravelError> {
        let mut out = self
            .write(vec![(Some(customer_id), record)], ctx, false)
            .await?;
        out.pop()
            .ok_or_else(|| TravelError::Storage(StorageError::Corrupt("no outcome".into())))
    }

    /// Records a segment forecast (flight-level, no customer, no timeline entry).
    pub async fn record_forecast(
        &self,
        forecast: SegmentForecast,
        ctx: &AccessContext,
    ) -> Result<Recorded, TravelError> {
        let mut out = self
            .write(vec![(None, Record::SegmentForecast(forecast))], ctx, false)
            .await?;
        out.pop()
            .ok_or_else(|| TravelError::Storage(StorageError::Corrupt("no outcome".into())))
    }

    /// Records many records in one transaction (bulk import): multi-row inserts, one event per
    /// change, one `travel.bulk_record` audit record for the batch. Outcomes are in input order;
    /// a key repeated within the batch behaves as if the records were recorded one after the
    /// other. Keep batches to a few thousand records.
    pub async fn record_many(
        &self,
        records: Vec<(CustomerId, Record)>,
        ctx: &AccessContext,
    ) -> Result<Vec<Recorded>, TravelError> {
        let items = records.into_iter().map(|(c, r)| (Some(c), r)).collect();
        self.write(items, ctx, true).await
    }

    /// The first half of [`TravelStore::record_many`], which needs no write lock: reads the
    /// customers' data keys (`data_keys` brings those of customers not stored yet), validates,
    /// seals and digests the documents and, with `plan_now`, plans the write against what is
    /// stored (on SQLite; PostgreSQL plans in the transaction, with the rows locked). A caller
    /// that keeps batches in flight stages the next while the one ahead writes; it passes
    /// `plan_now = false` when a batch ahead that has not committed yet writes the same
    /// records, since a plan made now would not see that batch's changes.
    pub async fn stage_many(
        &self,
        records: Vec<(CustomerId, Record)>,
        data_keys: HashMap<CustomerId, DataKey>,
        plan_now: bool,
        beside: &dyn Alongside,
    ) -> Result<Staged, TravelError> {
        let items = records.into_iter().map(|(c, r)| (Some(c), r)).collect();
        self.stage(items, data_keys, true, plan_now.then_some(beside))
            .await
    }

    /// The second half of [`TravelStore::record_many`]: writes a staged batch, with another
    /// domain's `writes` in the same transaction (they and the batch commit together or not
    /// at all).
    pub async fn record_staged(
        &self,
        staged: Staged,
        ctx: &AccessContext,
        writes: &dyn Alongside,
    ) -> Result<Vec<Recorded>, TravelError> {
        self.commit(staged, ctx, Some(writes)).await
    }

    async fn write(
        &self,
        items: Vec<(Option<CustomerId>, Record)>,
        ctx: &AccessContext,
        bulk: bool,
    ) -> Result<Vec<Recorded>, TravelError> {
        let staged = self.stage(items, HashMap::new(), bulk, None).await?;
        self.commit(staged, ctx, None).await
    }

    /// Reads keys, validates, seals and digests; with `plan_now` (the writes beside the batch)
    /// also plans the write and renders those writes (SQLite only, see
    /// [`TravelStore::stage_many`]).
    async fn stage(
        &self,
        items: Vec<(Option<CustomerId>, Record)>,
        new_keys: HashMap<CustomerId, DataKey>,
        bulk: bool,
        plan_now: Option<&dyn Alongside>,
    ) -> Result<Staged, TravelError> {
        let customers: Vec<CustomerId> = items
            .iter()
            .filter_map(|(c, _)| *c)
            .filter(|c| !new_keys.contains_key(c))
            .collect();
        let mut keys = self.data_keys(&customers).await?;
        keys.extend(new_keys);
        // Documents, digests and keys for the whole batch: CPU only (see `cpu::bound`).
        let prepared = aloft_kernel::cpu::bound(items.len(), || prepare(items, &keys, bulk))
            .map_err(TravelError::Invalid)?;
        let plan = match (self.db.backend(), plan_now) {
            (Backend::Sqlite, Some(beside)) => {
                let mut plan = self.plan_unlocked(&prepared).await?;
                let outcomes = &plan.outcomes;
                plan.beside = Some(aloft_kernel::cpu::bound(outcomes.len(), || {
                    beside.render(outcomes, Backend::Sqlite)
                })?);
                Some(plan)
            }
            _ => None,
        };
        Ok(Staged {
            prepared,
            bulk,
            plan,
        })
    }

    async fn commit(
        &self,
        staged: Staged,
        ctx: &AccessContext,
        beside: Option<&dyn Alongside>,
    ) -> Result<Vec<Recorded>, TravelError> {
        let Staged {
            prepared,
            bulk,
            mut plan,
        } = staged;
        let mut attempt = 0;
        loop {
            match self
                .write_once(&prepared, plan.take(), ctx, bulk, beside)
                .await
            {
                Err(StorageError::Conflict(_)) if attempt < CONFLICT_RETRIES => attempt += 1,
                other => return Ok(other?),
            }
        }
    }

    /// Plans writing `prepared` from what is stored now, without a lock (SQLite).
    async fn plan_unlocked(&self, prepared: &[Prepared]) -> Result<Plan, StorageError> {
        let keys: Vec<&(String, String)> = prepared.iter().map(|p| &p.key).collect();
        let states = {
            let mut conn = self.db.pool().acquire().await?;
            load_states(Backend::Sqlite, &mut conn, &keys, false).await?
        };
        self.plan(prepared, states).await
    }

    /// The plaintext document a stored state holds (for naming changed fields). Sealed fields
    /// that cannot be opened (the record belonged to another customer whose key is gone) count
    /// as changed.
    async fn plaintext_of(&self, state: &State, p: &Prepared) -> Value {
        let mut doc: Value = serde_json::from_str(&state.document).unwrap_or(Value::Null);
        let Some(sealed) = &state.sealed else {
            return doc;
        };
        let key = match (&state.customer_id, &p.customer_id, &p.data_key) {
            (Some(a), Some(b), Some(k)) if a == b => Some(k.clone()),
            (Some(a), _, _) => match CustomerId::parse(a) {
                Some(c) => self
                    .data_keys(&[c])
                    .await
                    .ok()
                    .and_then(|mut m| m.remove(&c)),
                None => None,
            },
            _ => None,
        };
        let opened =
            key.is_some_and(|k| sealing::open(&k, &state.id.to_string(), &mut doc, sealed).is_ok());
        if !opened && let Value::Object(m) = &mut doc {
            for f in sealing::sealed_fields(p.kind) {
                m.insert((*f).to_owned(), Value::String("(sealed)".into()));
            }
        }
        doc
    }

    /// One attempt at writing `prepared` (`planned` at staging, if it was). On SQLite everything that needs no lock — reading
    /// what is stored, deciding outcomes, sealing, projecting the timeline, building events — is
    /// done before the write slot is taken, so the slot (which bounds a bulk import there) is
    /// held only for the statements. That read is optimistic: a row inserted meanwhile fails
    /// its insert on the unique key, and an update names the version it read, so either way the
    /// attempt ends in `Conflict` and `commit` retries it, planning again. PostgreSQL reads inside
    /// the transaction with the rows locked (writers there do not queue for one slot).
    async fn write_once(
        &self,
        prepared: &[Prepared],
        planned: Option<Plan>,
        ctx: &AccessContext,
        bulk: bool,
        beside: Option<&dyn Alongside>,
    ) -> Result<Vec<Recorded>, StorageError> {
        let (tx, mut plan) = match self.db.backend() {
            Backend::Postgres => {
                let mut tx = self.db.begin_write().await?;
                let keys: Vec<&(String, String)> = prepared.iter().map(|p| &p.key).collect();
                let states = load_states(Backend::Postgres, tx.conn(), &keys, true).await?;
                (Some(tx), self.plan(prepared, states).await?)
            }
            Backend::Sqlite => match planned {
                Some(plan) => (None, plan),
                None => (None, self.plan_unlocked(prepared).await?),
            },
        };
        if plan.is_empty() && beside.is_none() {
            // Nothing changed: end the transaction (if any) without writing anything.
            return Ok(plan.outcomes);
        }
        let beside = match (beside, plan.beside.take()) {
            (_, Some(rendered)) => Some(rendered),
            (Some(b), None) => Some(b.render(&plan.outcomes, self.db.backend())?),
            (None, None) => None,
        };
        let mut tx = match tx {
            Some(tx) => tx,
            None => self.db.begin_write().await?,
        };
        if let Some(beside) = beside {
            tx.execute(beside).await?;
        }
        if plan.is_empty() {
            tx.commit().await?;
            return Ok(plan.outcomes);
        }
        self.apply(tx, prepared, plan, ctx, bulk).await
    }

    /// Decides what writing `prepared` over the stored `states` does, and prepares every row,
    /// timeline entry and event of it. No writes.
    async fn plan(
        &self,
        prepared: &[Prepared],
        mut states: HashMap<(String, String), State>,
    ) -> Result<Plan, StorageError> {
        let mut outcomes = Vec::with_capacity(prepared.len());
        let mut events = Vec::new();
        for (i, p) in prepared.iter().enumerate() {
            let state = states.get(&p.key).cloned();
            let (recorded, next) = match state {
                None => {
                    let id = Uuid::now_v7();
                    (
                        Recorded {
                            record_id: id,
                            version: 1,
                            outcome: Outcome::Created,
                        },
                        State {
                            id,
                            customer_id: p.customer_id.clone(),
                            digest: Some(p.digest.clone()),
                            document: String::new(),
                            sealed: None,
                            version: 1,
                            stored_version: None,
                            dirty: true,
                            input: i,
                        },
                    )
                }
                Some(s) if s.customer_id == p.customer_id && s.holds(p) => (
                    Recorded {
                        record_id: s.id,
                        version: s.version,
                        outcome: Outcome::AlreadyRecorded,
                    },
                    s,
                ),
                Some(s) => {
                    let before = self.plaintext_of(&s, p).await;
                    let mut changed = changed_fields(&before, &p.document);
                    if s.customer_id != p.customer_id {
                        changed.push("customer_id".into());
                    }
                    let version = match s.stored_version {
                        Some(v) if !s.dirty => v + 1,
                        // Changed again within this batch: still one write, one new version
                        // (a created-in-batch record stays version 1).
                        _ => s.version,
                    };
                    (
                        Recorded {
                            record_id: s.id,
                            version,
                            outcome: Outcome::Updated {
                                changed_fields: changed,
                            },
                        },
                        State {
                            customer_id: p.customer_id.clone(),
                            digest: Some(p.digest.clone()),
                            version,
                            dirty: true,
                            input: i,
                            ..s
                        },
                    )
                }
            };
            if recorded.outcome != Outcome::AlreadyRecorded {
                events.push(recorded_event(p, &recorded));
            }
            states.insert(p.key.clone(), next);
            outcomes.push(recorded);
        }
        let mut dirty: Vec<State> = states.into_values().filter(|s| s.dirty).collect();
        dirty.sort_by_key(|s| s.input);
        // Sealing, projecting and rendering the batch is CPU only (see `cpu::bound`).
        let backend = self.db.backend();
        aloft_kernel::cpu::bound(dirty.len(), || {
            Self::seal_and_project(backend, prepared, dirty, outcomes, events)
        })
    }

    /// The sealed rows, timeline entries and events of the records a plan writes (`dirty`, in
    /// input order), rendered.
    fn seal_and_project(
        backend: Backend,
        prepared: &[Prepared],
        dirty: Vec<State>,
        outcomes: Vec<Recorded>,
        events: Vec<CloudEvent>,
    ) -> Result<Plan, StorageError> {
        let mut entries: Vec<(TimelineEntry, Option<String>)> = dirty
            .iter()
            .filter_map(|s| {
                let p = &prepared[s.input];
                let customer = s.customer_id.as_deref().and_then(CustomerId::parse)?;
                Some(project(customer, s.id, &p.record).into_iter().map(|e| {
                    let detail = match (&e.detail, &p.data_key) {
                        (Some(d), Some(k)) => Some(sealing::seal_detail(k, &e.entry_id, d)),
                        _ => None,
                    };
                    (e, detail)
                }))
            })
            .flatten()
            .collect();
        let mut rows: Vec<(State, sealing::Sealed)> = dirty
            .into_iter()
            .map(|s| {
                let stored = prepared[s.input].stored_form(s.id);
                (s, stored)
            })
            .collect();
        // Rows and entries go in by customer: the customer-ordered indexes (records by
        // customer, the timeline's two) then take each customer's inserts in one place instead
        // of scattered over the whole B-tree. The order of writes within one transaction means
        // nothing else.
        rows.sort_by(|(a, _), (b, _)| a.customer_id.cmp(&b.customer_id));
        entries.sort_by(|(a, _), (b, _)| {
            (a.customer_id, a.occurred_at).cmp(&(b.customer_id, b.occurred_at))
        });
        let (updates, new): (Vec<_>, Vec<_>) = rows
            .into_iter()
            .partition(|(s, _)| s.stored_version.is_some());
        let mut statements = Statements::new(backend);
        let updated: Vec<String> = updates.iter().map(|(s, _)| s.id.to_string()).collect();
        timeline::delete_entries_of(&mut statements, &updated);
        insert_records(&mut statements, prepared, new, &to_db_time(now()));
        insert_entries(&mut statements, entries);
        statements.emit(&events)?;
        Ok(Plan {
            outcomes,
            updates,
            statements,
            beside: None,
        })
    }

    /// Writes a plan in `tx` and commits.
    async fn apply(
        &self,
        mut tx: WriteTx,
        prepared: &[Prepared],
        plan: Plan,
        ctx: &AccessContext,
        bulk: bool,
    ) -> Result<Vec<Recorded>, StorageError> {
        let stamp = to_db_time(now());
        // Updated records first, then the rendered statements: their old timeline entries go,
        // new records come, then every written record's timeline entries and events.
        for (s, stored) in &plan.updates {
            let p = &prepared[s.input];
            let done = sqlx::query(
                "UPDATE travel_records SET customer_id = $1, kind = $2, occurred_at = $3, document = $4, \
                 version = $5, updated_at = $6, sealed = $7, digest = $8 WHERE id = $9 AND version = $10",
            )
            .bind(s.customer_id.clone())
            .bind(p.kind.as_str())
            .bind(&p.occurred_at)
            .bind(stored.document.as_str())
            .bind(s.version)
            .bind(stamp.as_str())
            .bind(stored.sealed.clone())
            .bind(&p.digest)
            .bind(s.id.to_string())
            .bind(s.stored_version)
            .execute(&mut *tx.conn())
            .await?
            .rows_affected();
            if done != 1 {
                // Changed by another writer since it was read (SQLite reads before the slot).
                return Err(StorageError::Conflict("travel_records version".into()));
            }
        }
        tx.execute(plan.statements).await?;
        let entry = if bulk {
            ctx.entry(
                crate::events::audit::TRAVEL_BULK_RECORD,
                "travel_record",
                None,
                vec![],
                "success",
            )
        } else {
            let r = &plan.outcomes[0];
            let fields = match &r.outcome {
                Outcome::Updated { changed_fields } => changed_fields.clone(),
                _ => top_level_fields(&prepared[0].record),
            };
            ctx.entry(
                crate::events::audit::TRAVEL_RECORD,
                "travel_record",
                Some(r.record_id.to_string()),
                fields,
                "success",
            )
        };
        tx.audit(&[entry]).await?;
        tx.commit().await?;
        Ok(plan.outcomes)
    }

    /// Converts rows written before encryption at rest: seals their sensitive fields, stores
    /// their digest and rewrites their timeline entries (so an interaction's subject leaves the
    /// clear-text summary). Runs at start-up; returns how many rows it converted. Idempotent
    /// and safe beside a running writer (each row is converted in its own write transaction,
    /// only while it still has no digest).
    pub async fn seal_plaintext_rows(&self) -> Result<u64, StorageError> {
        let mut converted = 0;
        loop {
            let rows = sqlx::query(&format!(
                "SELECT {RECORD_COLUMNS} FROM travel_records WHERE digest IS NULL LIMIT 200"
            ))
            .fetch_all(self.db.pool())
            .await?;
            if rows.is_empty() {
                return Ok(converted);
            }
            let customers: Vec<CustomerId> = rows
                .iter()
                .filter_map(|r| r.try_get::<Option<String>, _>("customer_id").ok().flatten())
                .filter_map(|c| CustomerId::parse(&c))
                .collect();
            let keys = self.data_keys(&customers).await?;
            for row in rows {
                let id: String = row.try_get("id")?;
                let customer = row
                    .try_get::<Option<String>, _>("customer_id")?
                    .and_then(|c| CustomerId::parse(&c));
                let doc: Value = serde_json::from_str(&row.try_get::<String, _>("document")?)
                    .map_err(|_| corrupt("document", &id))?;
                let stored = decode_record(&row, customer, &doc)?;
                let data_key = customer.and_then(|c| keys.get(&c).cloned());
                let text = doc.to_string();
                let p = Prepared {
                    customer_id: customer.map(|c| c.to_string()),
                    kind: stored.record.kind(),
                    key: (String::new(), String::new()),
                    digest: match &data_key {
                        Some(k) => sealing::digest(k, &text),
                        None => aloft_security::sha256_hex(&text),
                    },
                    document: doc,
                    data_key,
                    occurred_at: String::new(),
                    record: stored.record,
                };
                let form = p.stored_form(stored.id);
                let mut tx = self.db.begin_write().await?;
                let done = sqlx::query(
                    "UPDATE travel_records SET document = $1, sealed = $2, digest = $3 \
                     WHERE id = $4 AND digest IS NULL",
                )
                .bind(form.document)
                .bind(form.sealed)
                .bind(&p.digest)
                .bind(&id)
                .execute(&mut *tx.conn())
                .await?
                .rows_affected();
                if done == 1 {
                    if let (Some(c), Some(k)) = (customer, &p.data_key) {
                        let mut rewrite = Statements::new(self.db.backend());
                        timeline::delete_entries_of(&mut rewrite, std::slice::from_ref(&id));
                        let entries: Vec<_> = project(c, stored.id, &p.record)
                            .into_iter()
                            .map(|e| {
                                let d = e
                                    .detail
                                    .as_ref()
                                    .map(|d| sealing::seal_detail(k, &e.entry_id, d));
                                (e, d)
                            })
                            .collect();
                        insert_entries(&mut rewrite, entries);
                        tx.execute(rewrite).await?;
                    }
                    tx.commit().await?;
                    converted += 1;
                }
            }
        }
    }

    /// Moves a customer's travel records (with their timeline entries) to another customer
    /// inside the caller's transaction: the golden-profile merge and unmerge. Encrypted fields
    /// are re-sealed, and the content digest recomputed, under the receiving customer's data
    /// key, so the moved records belong to it entirely (erasing it erases them too). With
    /// `only`, just the records with those source keys move. Returns the source keys moved.
    /// Emits no events: the merge announces itself.
    pub async fn transfer(
        &self,
        tx: &mut WriteTx,
        from: CustomerId,
        to: CustomerId,
        only: Option<&std::collections::HashSet<(String, String)>>,
    ) -> Result<Vec<(String, String)>, StorageError> {
        let keys = self.data_keys(&[from, to]).await?;
        let (Some(old), Some(new)) = (keys.get(&from), keys.get(&to)) else {
            return Err(StorageError::Corrupt(
                "moving travel records: a customer's data key is gone (erased)".into(),
            ));
        };
        let rows = sqlx::query(
            "SELECT id, source, source_record_id, kind, document, sealed FROM travel_records \
             WHERE customer_id = $1 ORDER BY id",
        )
        .bind(from.to_string())
        .fetch_all(&mut *tx.conn())
        .await?;
        let mut moved = Vec::new();
        for row in rows {
            let id: String = row.try_get("id")?;
            let key: (String, String) = (row.try_get("source")?, row.try_get("source_record_id")?);
            if only.is_some_and(|only| !only.contains(&key)) {
                continue;
            }
            let kind = RecordKind::parse(&row.try_get::<String, _>("kind")?)
                .map_err(|_| corrupt("kind", &id))?;
            let mut doc: Value = serde_json::from_str(&row.try_get::<String, _>("document")?)
                .map_err(|_| corrupt("document", &id))?;
            if let Some(sealed) = row.try_get::<Option<String>, _>("sealed")? {
                sealing::open(old, &id, &mut doc, &sealed)?;
            }
            let record = Record::parse(kind, &doc).map_err(|_| corrupt("document", &id))?;
            let document = record.to_document();
            let digest = sealing::digest(new, &document.to_string());
            let form = sealing::seal(new, &id, kind, &document);
            sqlx::query(
                "UPDATE travel_records SET customer_id = $1, document = $2, sealed = $3, digest = $4 \
                 WHERE id = $5",
            )
            .bind(to.to_string())
            .bind(form.document)
            .bind(form.sealed)
            .bind(digest)
            .bind(&id)
            .execute(&mut *tx.conn())
            .await?;
            let (start, end) = timeline::entry_range(&id);
            let entries = sqlx::query(&format!(
                "SELECT entry_id, detail FROM timeline WHERE {}",
                timeline::of_record(self.db.backend(), 1)
            ))
            .bind(start)
            .bind(end)
            .fetch_all(&mut *tx.conn())
            .await?;
            for e in entries {
                let entry_id: String = e.try_get("entry_id")?;
                let detail = match e.try_get::<Option<String>, _>("detail")? {
                    Some(d) => Some(sealing::seal_detail(
                        new,
                        &entry_id,
                        &sealing::open_detail(old, &entry_id, &d)
                            .ok_or_else(|| corrupt("timeline detail", &id))?,
                    )),
                    None => None,
                };
                sqlx::query(
                    "UPDATE timeline SET customer_id = $1, detail = $2 WHERE entry_id = $3",
                )
                .bind(to.to_string())
                .bind(detail)
                .bind(&entry_id)
                .execute(&mut *tx.conn())
                .await?;
            }
            moved.push(key);
        }
        Ok(moved)
    }

    /// Reads one record by Aloft's id.
    pub async fn get(&self, id: Uuid) -> Result<Option<StoredRecord>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {RECORD_COLUMNS} FROM travel_records WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(self.db.pool())
        .await?;
        match row {
            Some(r) => Ok(Some(self.decode_record(&r).await?)),
            None => Ok(None),
        }
    }

    /// Reads several records by Aloft's id in one query, in no particular order (missing ones
    /// are skipped): the 360° page's travel tab shows up to fifty bookings at once.
    pub async fn get_many(&self, ids: &[Uuid]) -> Result<Vec<StoredRecord>, StorageError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT {RECORD_COLUMNS} FROM travel_records WHERE id IN ({})",
                marks.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id.to_string());
            }
            for r in q.fetch_all(self.db.pool()).await? {
                out.push(self.decode_record(&r).await?);
            }
        }
        Ok(out)
    }

    /// Reads one record by its source key.
    pub async fn find_by_source(
        &self,
        source: &str,
        source_record_id: &str,
    ) -> Result<Option<StoredRecord>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {RECORD_COLUMNS} FROM travel_records WHERE source = $1 AND source_record_id = $2"
        ))
        .bind(source)
        .bind(source_record_id)
        .fetch_optional(self.db.pool())
        .await?;
        match row {
            Some(r) => Ok(Some(self.decode_record(&r).await?)),
            None => Ok(None),
        }
    }

    /// A stored row as a record, its sealed fields opened with the customer's data key.
    async fn decode_record(&self, row: &AnyRow) -> Result<StoredRecord, StorageError> {
        let id: String = row.try_get("id")?;
        let sealed: Option<String> = row.try_get("sealed")?;
        let customer = match row.try_get::<Option<String>, _>("customer_id")? {
            Some(c) => Some(CustomerId::parse(&c).ok_or_else(|| corrupt("customer id", &id))?),
            None => None,
        };
        let mut doc: Value = serde_json::from_str(&row.try_get::<String, _>("document")?)
            .map_err(|_| corrupt("document", &id))?;
        if let (Some(sealed), Some(c)) = (&sealed, customer) {
            let key = self.data_keys(&[c]).await?.remove(&c).ok_or_else(|| {
                StorageError::Corrupt(format!(
                    "travel record {id}: the customer's data key is gone (erased)"
                ))
            })?;
            sealing::open(&key, &id, &mut doc, sealed)?;
        }
        decode_record(row, customer, &doc)
    }

    /// The customer's most recent booking and ancillary documents (newest first, up to 50 of
    /// each), for learning their preferences.
    pub async fn preference_history(
        &self,
        customer_id: CustomerId,
    ) -> Result<(Vec<serde_json::Value>, Vec<serde_json::Value>), StorageError> {
        let mut out = (Vec::new(), Vec::new());
        for (kind, into) in [("booking", &mut out.0), ("ancillary", &mut out.1)] {
            let docs: Vec<String> = sqlx::query_scalar(
                "SELECT document FROM travel_records WHERE customer_id = $1 AND kind = $2 \
                 ORDER BY occurred_at DESC LIMIT 50",
            )
            .bind(customer_id.to_string())
            .bind(kind)
            .fetch_all(self.db.pool())
            .await?;
            into.extend(docs.iter().filter_map(|d| serde_json::from_str(d).ok()));
        }
        Ok(out)
    }

    /// The flight segments departing between `from` and `to` (UTC) of the customer's bookings,
    /// or of everyone's when `customer` is `None` (then at most 500 bookings, soonest first).
    /// Read through the timeline's flight entries, so a customer's look-up is an index range.
    async fn segments_departing(
        &self,
        customer: Option<CustomerId>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<DepartingSegment>, StorageError> {
        let (from_text, to_text) = (to_db_time(from), to_db_time(to));
        let query = match customer {
            Some(c) => sqlx::query_scalar(
                "SELECT DISTINCT r.document FROM timeline t JOIN travel_records r ON r.id = t.record_id \
                 WHERE t.customer_id = $1 AND t.kind = 'flight' AND t.occurred_at >= $2 AND t.occurred_at < $3",
            )
            .bind(c.to_string()),
            None => sqlx::query_scalar(
                "SELECT r.document FROM timeline t JOIN travel_records r ON r.id = t.record_id \
                 WHERE t.kind = 'flight' AND t.occurred_at >= $1 AND t.occurred_at < $2 \
                 ORDER BY t.occurred_at LIMIT 500",
            ),
        };
        let docs: Vec<String> = query
            .bind(from_text)
            .bind(to_text)
            .fetch_all(self.db.pool())
            .await?;
        let mut segments = Vec::new();
        for doc in docs {
            let Ok(doc) = serde_json::from_str::<Value>(&doc) else {
                continue;
            };
            for seg in doc["segments"].as_array().into_iter().flatten() {
                let departure_utc = seg["scheduled_departure_utc"]
                    .as_str()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.with_timezone(&Utc));
                let departure_date = seg["scheduled_departure_local"]
                    .as_str()
                    .and_then(|t| t.get(..10))
                    .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
                if let (Some(flight), Some(origin), Some(utc), Some(date)) = (
                    seg["flight_number"].as_str(),
                    seg["origin"].as_str(),
                    departure_utc,
                    departure_date,
                ) && utc >= from
                    && utc < to
                {
                    segments.push(DepartingSegment {
                        flight_number: flight.to_owned(),
                        origin: origin.to_owned(),
                        departure_date: date,
                    });
                }
            }
        }
        Ok(segments)
    }

    /// Whether the customer has a flight segment departing from `station` (IATA code) with a
    /// scheduled departure between `from` and `to` — the row scope of a check-in agent, who sees
    /// the passengers of their station's departures and nobody else.
    pub async fn departs_from(
        &self,
        customer_id: CustomerId,
        station: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let segments = self.segments_departing(Some(customer_id), from, to).await?;
        Ok(segments.iter().any(|s| s.origin == station))
    }

    /// Whether the customer has a flight segment on one of `flights` (flight designator and
    /// local departure date at the origin) — the row scope of cabin crew, who see the
    /// passengers of their rostered flights and nobody else.
    pub async fn flies_on(
        &self,
        customer_id: CustomerId,
        flights: &[(String, chrono::NaiveDate)],
    ) -> Result<bool, StorageError> {
        // A local date is within a day of its UTC instant either way.
        let day = |d: chrono::NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        let (Some(from), Some(to)) = (
            flights.iter().map(|f| f.1).min().and_then(day),
            flights.iter().map(|f| f.1).max().and_then(day),
        ) else {
            return Ok(false);
        };
        let segments = self
            .segments_departing(
                Some(customer_id),
                from - chrono::Duration::days(1),
                to + chrono::Duration::days(2),
            )
            .await?;
        Ok(segments.iter().any(|s| {
            flights
                .iter()
                .any(|(number, date)| s.flight_number == *number && s.departure_date == *date)
        }))
    }

    /// Up to `limit` distinct flights (designator, local departure date) with a passenger
    /// segment departing between `from` and `to`, soonest first (demo rosters, manifests).
    pub async fn flights_departing(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(String, chrono::NaiveDate)>, StorageError> {
        let mut flights = Vec::new();
        for s in self.segments_departing(None, from, to).await? {
            let flight = (s.flight_number, s.departure_date);
            if !flights.contains(&flight) {
                flights.push(flight);
            }
        }
        flights.truncate(limit);
        Ok(flights)
    }

    /// One page of a customer's timeline, newest first (keyset pagination: a page costs the same
    /// however deep it is).
    pub async fn timeline(
        &self,
        customer_id: CustomerId,
        query: &TimelineQuery,
    ) -> Result<TimelinePage, StorageError> {
        let limit = query.page_size().min(MAX_LIMIT);
        let take = i64::from(limit) + 1;
        let customer = customer_id.to_string();
        let mut binds: Vec<String> = vec![customer];
        let mut common = String::new();
        if let Some(from) = query.from {
            binds.push(to_db_time(from));
            common.push_str(&format!(" AND occurred_at >= ${}", binds.len()));
        }
        if let Some(to) = query.to {
            binds.push(to_db_time(to));
            common.push_str(&format!(" AND occurred_at < ${}", binds.len()));
        }
        if let Some(c) = &query.cursor {
            binds.push(to_db_time(c.occurred_at));
            binds.push(c.entry_id.clone());
            common.push_str(&format!(
                " AND (occurred_at, entry_id) < (${}, ${})",
                binds.len() - 1,
                binds.len()
            ));
        }
        let mut kinds = query.kinds.clone();
        kinds.sort();
        kinds.dedup();
        let sql = match kinds.as_slice() {
            [] => format!(
                "SELECT {ENTRY_COLUMNS} FROM timeline WHERE customer_id = $1{common} \
                 ORDER BY occurred_at DESC, entry_id DESC LIMIT {take}"
            ),
            [one] => {
                binds.push(one.as_str().to_owned());
                format!(
                    "SELECT {ENTRY_COLUMNS} FROM timeline WHERE customer_id = $1 AND kind = ${}{common} \
                     ORDER BY occurred_at DESC, entry_id DESC LIMIT {take}",
                    binds.len()
                )
            }
            many => {
                // One index range scan per kind, each stopping after a page, merged: O(kinds ×
                // page) rows whatever the history length (an `IN` list would sort all matches).
                let branches: Vec<String> = many
                    .iter()
                    .enumerate()
                    .map(|(i, k)| {
                        binds.push(k.as_str().to_owned());
                        format!(
                            "SELECT * FROM (SELECT {ENTRY_COLUMNS} FROM timeline WHERE customer_id = $1 \
                             AND kind = ${}{common} ORDER BY occurred_at DESC, entry_id DESC LIMIT {take}) AS k{i}",
                            binds.len()
                        )
                    })
                    .collect();
                format!(
                    "SELECT * FROM ({}) AS merged ORDER BY occurred_at DESC, entry_id DESC LIMIT {take}",
                    branches.join(" UNION ALL ")
                )
            }
        };
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b.as_str());
        }
        let rows = q.fetch_all(self.db.pool()).await?;
        let mut entries = rows
            .iter()
            .map(decode_entry)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if entries.len() > limit as usize {
            entries.truncate(limit as usize);
            entries.last().map(TimelineCursor::after)
        } else {
            None
        };
        if entries.iter().any(|e| e.detail.is_some()) {
            let key = self.data_keys(&[customer_id]).await?.remove(&customer_id);
            for e in &mut entries {
                if let Some(stored) = e.detail.take() {
                    // An erased customer's details are unreadable: the line stays without them.
                    e.detail = key
                        .as_ref()
                        .and_then(|k| sealing::open_detail(k, &e.entry_id, &stored));
                    e.summary = e.line();
                    e.detail = None;
                }
            }
        }
        Ok(TimelinePage { entries, next })
    }

    /// Fills in the station and flight of flight entries written before migration 0018, so
    /// row scopes find their passengers. Runs at start-up; returns how many entries it filled.
    /// Idempotent; an entry whose record no longer parses gets empty keys (no scope matches it)
    /// rather than being retried at every start.
    pub async fn fill_flight_keys(&self) -> Result<u64, StorageError> {
        let mut filled = 0;
        loop {
            let ids: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT record_id FROM timeline WHERE kind = 'flight' AND station IS NULL LIMIT 200",
            )
            .fetch_all(self.db.pool())
            .await?;
            if ids.is_empty() {
                return Ok(filled);
            }
            // (entry id, station, flight) of every flight entry the records project.
            let mut keys: Vec<(String, String, String)> = Vec::new();
            for id in &ids {
                let row = sqlx::query("SELECT kind, document FROM travel_records WHERE id = $1")
                    .bind(id)
                    .fetch_optional(self.db.pool())
                    .await?;
                let entries = row.and_then(|r| {
                    let kind = RecordKind::parse(&r.try_get::<String, _>("kind").ok()?).ok()?;
                    let doc: Value =
                        serde_json::from_str(&r.try_get::<String, _>("document").ok()?).ok()?;
                    let record = Record::parse(kind, &doc).ok()?;
                    let uuid = Uuid::try_parse(id).ok()?;
                    Some(crate::timeline::project(
                        CustomerId::generate(),
                        uuid,
                        &record,
                    ))
                });
                keys.extend(
                    entries
                        .into_iter()
                        .flatten()
                        .filter_map(|e| e.flight.map(|f| (e.entry_id, f.station, f.flight))),
                );
            }
            let mut tx = self.db.begin_write().await?;
            for (entry, station, flight) in &keys {
                filled += sqlx::query(
                    "UPDATE timeline SET station = $1, flight = $2 WHERE entry_id = $3",
                )
                .bind(station)
                .bind(flight)
                .bind(entry)
                .execute(tx.conn())
                .await?
                .rows_affected();
            }
            // What the records did not give keys to (a record that no longer parses) gets empty
            // ones, which no scope matches, so it is not looked at again at every start.
            for id in &ids {
                sqlx::query(
                    "UPDATE timeline SET station = '', flight = '' \
                     WHERE record_id = $1 AND kind = 'flight' AND station IS NULL",
                )
                .bind(id)
                .execute(tx.conn())
                .await?;
            }
            tx.commit().await?;
        }
    }

    /// The passengers departing from `station` between `from` and `to` (scheduled departure):
    /// a subquery of customer ids with `{}` parameter markers and their values, for the
    /// customers domain's row-scoped reads (the check-in agent's scope).
    pub fn departing_passengers_sql(
        station: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> (String, Vec<String>) {
        (
            "SELECT customer_id FROM timeline WHERE station = {} AND occurred_at >= {} AND occurred_at < {}".into(),
            vec![station.to_owned(), to_db_time(from), to_db_time(to)],
        )
    }

    /// The passengers of the flights `flights` selects (a subquery yielding `BA117 2026-03-12`
    /// flight keys, see [`crate::timeline::FlightKey`]): the cabin crew's scope, given their
    /// roster.
    pub fn flight_passengers_sql(flights: &str) -> String {
        format!("SELECT customer_id FROM timeline WHERE flight IN ({flights})")
    }

    /// How many timeline entries a customer has.
    pub async fn timeline_len(&self, customer_id: CustomerId) -> Result<i64, StorageError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM timeline WHERE customer_id = $1")
                .bind(customer_id.to_string())
                .fetch_one(self.db.pool())
                .await?,
        )
    }

    // --- Departure control (crates/departure): flights and their passengers, read through the
    // timeline's flight entries (indexes `timeline_station_departures`, `timeline_flights`).

    /// The flight entries departing from `station` with a scheduled departure between `from`
    /// and `to`, each with its booking's plain document, soonest first: a station's departures.
    /// `scope` (a subquery of visible customer ids with `{}` markers and their values, see
    /// [`TravelStore::departing_passengers_sql`]) is a condition of the query; `None` reads
    /// every passenger.
    pub async fn station_departures(
        &self,
        station: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        scope: Option<&(String, Vec<String>)>,
    ) -> Result<Vec<FlightPassenger>, StorageError> {
        let mut binds = vec![station.to_owned(), to_db_time(from), to_db_time(to)];
        let condition = scope_condition(scope, &mut binds);
        self.flight_passengers_where(
            &format!(
                "t.station = $1 AND t.occurred_at >= $2 AND t.occurred_at < $3 AND t.kind = 'flight'{condition}"
            ),
            &binds,
        )
        .await
    }

    /// The passengers of one flight (`BA117 2026-03-12`, see [`crate::timeline::FlightKey`]),
    /// each with its booking's plain document, limited by `scope` as in
    /// [`TravelStore::station_departures`].
    pub async fn flight_manifest(
        &self,
        flight: &str,
        scope: Option<&(String, Vec<String>)>,
    ) -> Result<Vec<FlightPassenger>, StorageError> {
        let mut binds = vec![flight.to_owned()];
        let condition = scope_condition(scope, &mut binds);
        self.flight_passengers_where(
            &format!("t.flight = $1 AND t.kind = 'flight'{condition}"),
            &binds,
        )
        .await
    }

    /// One customer's flight segments with a scheduled departure between `from` and `to`,
    /// each with its booking's plain document, soonest first: the flights a passenger may claim
    /// for, and the booking a claim is judged on.
    pub async fn customer_flights(
        &self,
        customer: CustomerId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<FlightPassenger>, StorageError> {
        self.flight_passengers_where(
            "t.customer_id = $1 AND t.kind = 'flight' AND t.occurred_at >= $2 AND t.occurred_at < $3",
            &[customer.to_string(), to_db_time(from), to_db_time(to)],
        )
        .await
    }

    async fn flight_passengers_where(
        &self,
        condition: &str,
        binds: &[String],
    ) -> Result<Vec<FlightPassenger>, StorageError> {
        let sql = format!(
            "SELECT t.entry_id, t.customer_id, t.occurred_at, t.station, t.flight, r.document \
             FROM timeline t JOIN travel_records r ON r.id = t.record_id \
             WHERE {condition} ORDER BY t.occurred_at, t.entry_id"
        );
        let mut q = sqlx::query(&sql);
        for b in binds {
            q = q.bind(b.as_str());
        }
        let rows = q.fetch_all(self.db.pool()).await?;
        rows.iter()
            .map(|r| {
                let entry_id: String = r.try_get("entry_id")?;
                let customer: String = r.try_get("customer_id")?;
                let occurred: String = r.try_get("occurred_at")?;
                let document: String = r.try_get("document")?;
                Ok(FlightPassenger {
                    customer_id: CustomerId::parse(&customer)
                        .ok_or_else(|| corrupt("customer id", &entry_id))?,
                    departure: from_db_time(&occurred)
                        .map_err(|_| corrupt("departure time", &entry_id))?,
                    station: r
                        .try_get::<Option<String>, _>("station")?
                        .unwrap_or_default(),
                    flight: r
                        .try_get::<Option<String>, _>("flight")?
                        .unwrap_or_default(),
                    booking: serde_json::from_str(&document)
                        .map_err(|_| corrupt("document", &entry_id))?,
                    entry_id,
                })
            })
            .collect()
    }

    /// The plain documents of these customers' records of `kinds` that occurred between `from`
    /// and `to` (sealed fields — what people wrote, how they paid — are left out): a manifest's
    /// special meals, recent disruptions and complaints. One index range per customer.
    pub async fn documents_between(
        &self,
        customers: &[CustomerId],
        kinds: &[RecordKind],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(CustomerId, RecordKind, Value)>, StorageError> {
        let mut out = Vec::new();
        if customers.is_empty() || kinds.is_empty() {
            return Ok(out);
        }
        for chunk in customers.chunks(400) {
            let mut binds: Vec<String> = vec![to_db_time(from), to_db_time(to)];
            let kind_params: Vec<String> = kinds
                .iter()
                .map(|k| {
                    binds.push(k.as_str().to_owned());
                    format!("${}", binds.len())
                })
                .collect();
            let id_params: Vec<String> = chunk
                .iter()
                .map(|c| {
                    binds.push(c.to_string());
                    format!("${}", binds.len())
                })
                .collect();
            let sql = format!(
                "SELECT id, customer_id, kind, document FROM travel_records \
                 WHERE customer_id IN ({}) AND kind IN ({}) AND occurred_at >= $1 AND occurred_at < $2",
                id_params.join(", "),
                kind_params.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for b in &binds {
                q = q.bind(b.as_str());
            }
            for r in q.fetch_all(self.db.pool()).await? {
                let id: String = r.try_get("id")?;
                let customer: String = r.try_get("customer_id")?;
                let kind: String = r.try_get("kind")?;
                let document: String = r.try_get("document")?;
                out.push((
                    CustomerId::parse(&customer).ok_or_else(|| corrupt("customer id", &id))?,
                    RecordKind::parse(&kind).map_err(|_| corrupt("kind", &id))?,
                    serde_json::from_str(&document).map_err(|_| corrupt("document", &id))?,
                ));
            }
        }
        Ok(out)
    }
}

/// ` AND t.customer_id IN (…)` for a scope subquery with `{}` markers, its values appended to
/// `binds` and numbered after them; empty without a scope.
fn scope_condition(scope: Option<&(String, Vec<String>)>, binds: &mut Vec<String>) -> String {
    let Some((sql, values)) = scope else {
        return String::new();
    };
    let mut out = String::with_capacity(sql.len() + 32);
    let mut values = values.iter();
    let mut pieces = sql.split("{}").peekable();
    while let Some(piece) = pieces.next() {
        out.push_str(piece);
        if pieces.peek().is_some() {
            binds.push(values.next().cloned().unwrap_or_default());
            out.push_str(&format!("${}", binds.len()));
        }
    }
    format!(" AND t.customer_id IN ({out})")
}

/// A passenger's flight entry with its booking (departure control).
#[derive(Debug, Clone)]
pub struct FlightPassenger {
    /// The timeline entry (`<record id>.<segment>`).
    pub entry_id: String,
    /// The passenger.
    pub customer_id: CustomerId,
    /// Scheduled departure (UTC).
    pub departure: DateTime<Utc>,
    /// Departure station (IATA).
    pub station: String,
    /// The flight key (`BA117 2026-03-12`).
    pub flight: String,
    /// The booking's plain document (record locator, segments with seat, cabin, bags…).
    pub booking: Value,
}

const RECORD_COLUMNS: &str =
    "id, kind, customer_id, document, sealed, version, recorded_at, updated_at";
const ENTRY_COLUMNS: &str =
    "entry_id, customer_id, occurred_at, kind, summary, detail, record_id, record_kind";

fn corrupt(what: &str, id: &str) -> StorageError {
    StorageError::Corrupt(format!("travel record {id}: bad {what}"))
}

fn decode_record(
    row: &AnyRow,
    customer_id: Option<CustomerId>,
    doc: &Value,
) -> Result<StoredRecord, StorageError> {
    let id: String = row.try_get("id")?;
    let kind =
        RecordKind::parse(&row.try_get::<String, _>("kind")?).map_err(|_| corrupt("kind", &id))?;
    // Stored documents were validated on the way in; parse again so the type guarantees hold.
    let record = Record::parse(kind, doc).map_err(|errs| {
        StorageError::Corrupt(format!("travel record {id}: {} invalid fields", errs.len()))
    })?;
    Ok(StoredRecord {
        id: Uuid::try_parse(&id).map_err(|_| corrupt("id", &id))?,
        customer_id,
        version: row.try_get("version")?,
        recorded_at: from_db_time(&row.try_get::<String, _>("recorded_at")?)?,
        updated_at: from_db_time(&row.try_get::<String, _>("updated_at")?)?,
        record,
    })
}

fn decode_entry(row: &AnyRow) -> Result<TimelineEntry, StorageError> {
    let entry_id: String = row.try_get("entry_id")?;
    let bad = |what: &str| StorageError::Corrupt(format!("timeline entry {entry_id}: bad {what}"));
    Ok(TimelineEntry {
        customer_id: CustomerId::parse(&row.try_get::<String, _>("customer_id")?)
            .ok_or_else(|| bad("customer id"))?,
        occurred_at: from_db_time(&row.try_get::<String, _>("occurred_at")?)?,
        kind: TimelineKind::parse(&row.try_get::<String, _>("kind")?).map_err(|_| bad("kind"))?,
        summary: row.try_get("summary")?,
        // Still sealed here; `TravelStore::timeline` opens it.
        detail: row.try_get("detail")?,
        record: RecordRef {
            record_id: Uuid::try_parse(&row.try_get::<String, _>("record_id")?)
                .map_err(|_| bad("record id"))?,
            record_kind: RecordKind::parse(&row.try_get::<String, _>("record_kind")?)
                .map_err(|_| bad("record kind"))?,
        },
        flight: None,
        entry_id: entry_id.clone(),
    })
}

/// The state of the given keys in the database, with rows locked when `lock` (PostgreSQL).
async fn load_states(
    backend: Backend,
    conn: &mut sqlx::AnyConnection,
    keys: &[&(String, String)],
    lock: bool,
) -> Result<HashMap<(String, String), State>, StorageError> {
    debug_assert!(!lock || backend == Backend::Postgres);
    // Grouped by source, so that each statement is an index range on (source, source_record_id):
    // a row-value `IN (VALUES …)` makes SQLite scan the whole table.
    let mut by_source: HashMap<&str, Vec<&str>> = HashMap::new();
    for (source, id) in keys {
        by_source
            .entry(source.as_str())
            .or_default()
            .push(id.as_str());
    }
    let mut states = HashMap::with_capacity(keys.len());
    for (source, mut ids) in by_source {
        ids.sort_unstable();
        ids.dedup();
        for chunk in ids.chunks(500) {
            let params: Vec<String> = (2..chunk.len() + 2).map(|i| backend.param(i)).collect();
            let sql = format!(
                "SELECT id, source, source_record_id, customer_id, document, sealed, digest, version FROM travel_records \
                 WHERE source = {} AND source_record_id IN ({}){}",
                backend.param(1),
                params.join(", "),
                if lock { " FOR UPDATE" } else { "" }
            );
            let mut q = sqlx::query(&sql).bind(source);
            for id in chunk {
                q = q.bind(*id);
            }
            for row in q.fetch_all(&mut *conn).await? {
                let id: String = row.try_get("id")?;
                let version: i64 = row.try_get("version")?;
                let key = (
                    row.try_get::<String, _>("source")?,
                    row.try_get::<String, _>("source_record_id")?,
                );
                states.insert(
                    key,
                    State {
                        id: Uuid::try_parse(&id).map_err(|_| corrupt("id", &id))?,
                        customer_id: row.try_get("customer_id")?,
                        document: row.try_get("document")?,
                        sealed: row.try_get("sealed")?,
                        digest: row.try_get("digest")?,
                        version,
                        stored_version: Some(version),
                        dirty: false,
                        input: usize::MAX,
                    },
                );
            }
        }
    }
    Ok(states)
}

/// Each record with its document, digest and data key, or every problem of the batch
/// (`/<index>` pointers when `bulk`).
fn prepare(
    items: Vec<(Option<CustomerId>, Record)>,
    keys: &HashMap<CustomerId, DataKey>,
    bulk: bool,
) -> Result<Vec<Prepared>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut prepared = Vec::with_capacity(items.len());
    for (i, (customer, record)) in items.into_iter().enumerate() {
        let pointer = if bulk { format!("/{i}") } else { String::new() };
        match (customer.is_some(), record.kind()) {
            (true, RecordKind::SegmentForecast) => errors.push(FieldError::new(
                pointer.clone(),
                "a segment forecast is flight-level data and belongs to no customer",
            )),
            (false, kind) if kind != RecordKind::SegmentForecast => errors.push(FieldError::new(
                pointer.clone(),
                "this record needs the customer it belongs to",
            )),
            _ => {}
        }
        let data_key = customer.and_then(|c| keys.get(&c).cloned());
        if customer.is_some() && data_key.is_none() {
            errors.push(FieldError::new(
                pointer,
                "the customer does not exist (or was erased)",
            ));
        }
        let document = record.to_document();
        let text = document.to_string();
        let digest = match &data_key {
            Some(k) => sealing::digest(k, &text),
            None => aloft_security::sha256_hex(&text),
        };
        let source = record.source();
        prepared.push(Prepared {
            customer_id: customer.map(|c| c.to_string()),
            kind: record.kind(),
            key: (
                source.source.as_str().to_owned(),
                source.source_record_id.as_str().to_owned(),
            ),
            document,
            digest,
            data_key,
            occurred_at: to_db_time(record.occurred_at()),
            record,
        });
    }
    if errors.is_empty() {
        Ok(prepared)
    } else {
        Err(errors)
    }
}

/// Renders the inserts of new records (with their sealed forms), many rows per statement.
fn insert_records(
    inserts: &mut Statements,
    prepared: &[Prepared],
    new: Vec<(State, sealing::Sealed)>,
    stamp: &str,
) {
    inserts.insert(
        "INSERT INTO travel_records (id, source, source_record_id, kind, customer_id, occurred_at, \
         document, version, recorded_at, updated_at, sealed, digest) VALUES ",
        "",
        12,
        160,
        new,
        |v, (s, stored)| {
            let p = &prepared[s.input];
            v.bind(s.id.to_string())
                .bind(p.key.0.clone())
                .bind(p.key.1.clone())
                .bind(p.kind.as_str())
                .bind(s.customer_id)
                .bind(p.occurred_at.clone())
                .bind(stored.document)
                .bind(s.version)
                .bind(stamp.to_owned())
                .bind(stamp.to_owned())
                .bind(stored.sealed)
                .bind(p.digest.clone());
        },
    );
}

/// Renders the inserts of timeline entries, many rows per statement.
fn insert_entries(inserts: &mut Statements, entries: Vec<(TimelineEntry, Option<String>)>) {
    inserts.insert(
        "INSERT INTO timeline (entry_id, customer_id, occurred_at, kind, summary, record_id, record_kind, detail, station, flight) VALUES ",
        "",
        10,
        200,
        entries,
        |v, (e, detail)| {
            let (station, flight) = e.flight.map_or((None, None), |f| (Some(f.station), Some(f.flight)));
            v.bind(e.entry_id)
                .bind(e.customer_id.to_string())
                .bind(to_db_time(e.occurred_at))
                .bind(e.kind.as_str())
                .bind(e.summary)
                .bind(e.record.record_id.to_string())
                .bind(e.record.record_kind.as_str())
                .bind(detail)
                .bind(station)
                .bind(flight);
        },
    );
}

fn recorded_event(p: &Prepared, r: &Recorded) -> CloudEvent {
    let (outcome, changed) = match &r.outcome {
        Outcome::Created => ("created", Vec::new()),
        Outcome::Updated { changed_fields } => ("updated", changed_fields.clone()),
        Outcome::AlreadyRecorded => ("already_recorded", Vec::new()),
    };
    CloudEvent::of(&crate::events::RecordRecorded {
        record_id: r.record_id.to_string(),
        customer_id: p.customer_id.clone(),
        kind: p.kind.as_str().to_owned(),
        source: p.key.0.clone(),
        version: r.version,
        outcome: outcome.to_owned(),
        changed_fields: changed,
        facts: crate::events::rule_facts(&p.record),
    })
}

/// The field names a record holds (what a create wrote).
fn top_level_fields(record: &Record) -> Vec<String> {
    match record.to_document() {
        Value::Object(m) => m.keys().cloned().collect(),
        _ => vec![],
    }
}
