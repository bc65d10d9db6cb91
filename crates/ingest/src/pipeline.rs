//! The one pipeline behind every way in: dedupe by event id → validate → link → record.
//!
//! Steps of [`Pipeline::ingest`]:
//! 1. event ids already in `ingested_events` (or repeated within the batch) are **unchanged**: an
//!    at-least-once redelivery is a no-op even if its content differs;
//! 2. each `data` is validated as its record kind; every bad field is a rejection with its
//!    pointer (`/data/...`), and the rest of the batch goes on;
//! 3. customer records are linked ([`crate::linker`]) in memory: the linker decides the new
//!    profiles, links and review rows but writes nothing; segment forecasts are flight-level and
//!    go to `TravelStore::record_forecast` without a customer;
//! 4. in **one transaction** (`TravelStore::record_staged`): the new profiles, links and
//!    review rows, the batch's records (idempotent on (source, source record id): a re-sent
//!    record is **unchanged**) with their timeline entries and events, and the processed event
//!    ids in `ingested_events`. The caller's batch size is the transaction size (API calls at
//!    most 1,000 events, the consumer 2,000, an import 8,000 by default).
//!
//! Concurrency: batches may be ingested concurrently (an import keeps three in flight, the
//! consumer two; API calls arrive in parallel). Validation runs unlocked; steps 1 and 3 run
//! under the linker, in arrival order; before releasing the linker a batch queues for step 4
//! behind the batch linked before it ([`RecordOrder`]) — so the next batches link while earlier
//! ones record, and batches commit in the order linked. Linking touches no write lock, so on
//! SQLite the write slot is taken once per batch and linking never waits for it.
//! The linker counts on what earlier batches decided before they commit (a passenger first seen
//! in one batch is matched in the next); if a batch fails to commit, its linker `Receipt`
//! reports it, the linker re-seeds from the database, and every batch linked meanwhile fails
//! with [`IngestError::OutOfTurn`] at its turn, before writing, to be retried.
//! A caller whose batches must apply in its own order even when one fails (a later event for a
//! record wins) ingests them through a [`Sequence`]: a batch then records only after the
//! caller's previous batch succeeded.
//! Event ids of a batch between steps 1 and 4 are held in an in-flight set, so a redelivery in
//! the next batch is still recognised.
//!
//! Crash safety: a batch commits whole or not at all, so re-running the same input after a
//! crash completes it without duplicates. Rejected events are not marked, so a corrected event
//! can be re-sent under its id.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::{Mutex, oneshot};
use utoipa::ToSchema;

use aloft_customers::CustomerStore;
use aloft_kernel::db::{now, to_db_time};
use aloft_kernel::{AccessContext, Backend, Database, Statements, StorageError};
use aloft_travel::{Alongside, CustomerId, Outcome, Record, Recorded, TravelError, TravelStore};

use crate::IngestError;
use crate::envelope::{Rejection, SourceEvent};
use crate::linker::{LinkItem, LinkWrites, Linked, Linker};

/// What one batch did. Counts are of events; `rejected` lists every problem (an event with three
/// bad fields has three entries).
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct BatchReport {
    /// Events received.
    pub received: usize,
    /// Events whose record was created or changed.
    pub recorded: usize,
    /// Events already processed (same event id) or whose record was already stored as is.
    pub unchanged: usize,
    /// Events rejected.
    pub rejected_events: usize,
    /// Every rejection, with position, event id, pointer and reason.
    pub rejected: Vec<Rejection>,
    /// Customer profiles created for records nobody matched.
    pub new_customers: usize,
    /// Records linked, by method (`loyalty`, `passport`, `email`, `probabilistic`, `new`;
    /// `existing_link` for records linked by an earlier import).
    pub linked_by_method: BTreeMap<String, usize>,
}

impl BatchReport {
    /// Adds another batch's counts to this one.
    pub fn absorb(&mut self, other: BatchReport) {
        self.received += other.received;
        self.recorded += other.recorded;
        self.unchanged += other.unchanged;
        self.rejected_events += other.rejected_events;
        self.rejected.extend(other.rejected);
        self.new_customers += other.new_customers;
        for (k, v) in other.linked_by_method {
            *self.linked_by_method.entry(k).or_default() += v;
        }
    }

    /// Adds rejections found before the pipeline (envelope or CSV problems), counting events by
    /// distinct position.
    pub fn add_rejections(&mut self, rejections: Vec<Rejection>) {
        let events: HashSet<u64> = rejections.iter().map(|r| r.position).collect();
        self.received += events.len();
        self.rejected_events += events.len();
        self.rejected.extend(rejections);
    }
}

/// The ingestion pipeline; cheap to clone (shared state).
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    /// Records this pipeline stored, and the count at which planner statistics are refreshed
    /// next (doubling: 1,000, 2,000, 4,000…), so a bulk load into empty tables keeps using its
    /// indexes on PostgreSQL.
    growth: std::sync::Mutex<(u64, u64)>,
    customers: CustomerStore,
    travel: TravelStore,
    /// Held while a batch links (stage 1). A batch joins `record_order` before it lets go of
    /// this, so batches record in the order they linked.
    linker: Mutex<Linker>,
    /// The queue of linked batches waiting to record and mark their event ids (stage 2), one at
    /// a time. Merges join it too, holding the linker, so they run after every batch linked
    /// before them has recorded and before any batch linked after them.
    record_order: RecordOrder,
    /// Event ids of batches that have linked but not yet marked them: a redelivery arriving in
    /// the next batch meanwhile is recognised as seen.
    in_flight: std::sync::Mutex<HashSet<String>>,
    /// Record keys (source, source record id) of batches that have linked but not yet ended,
    /// with how many such batches hold each ([`Touching`]).
    touching: std::sync::Mutex<HashMap<(String, String), usize>>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline").finish_non_exhaustive()
    }
}

/// A validated event on its way to storage.
struct Valid {
    index: usize,
    record: Record,
}

impl Pipeline {
    /// A pipeline over these stores. The identity linker is seeded with every existing profile
    /// on first use (or by [`Pipeline::warm`]), so building one costs nothing at start-up.
    pub fn new(db: Database, customers: CustomerStore, travel: TravelStore) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                growth: std::sync::Mutex::new((0, 1_000)),
                travel,
                linker: Mutex::new(Linker::unseeded(customers.clone())),
                record_order: RecordOrder::default(),
                in_flight: std::sync::Mutex::new(HashSet::new()),
                touching: std::sync::Mutex::new(HashMap::new()),
                customers,
            }),
        }
    }

    /// Seeds the identity linker now (it is otherwise seeded by the first batch).
    pub async fn warm(&self) -> Result<(), IngestError> {
        self.inner.linker.lock().await.ensure_seeded().await
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.inner.db
    }

    /// The travel store records go to.
    pub fn travel(&self) -> &TravelStore {
        &self.inner.travel
    }

    /// The customer store profiles are linked in.
    pub fn customers(&self) -> &CustomerStore {
        &self.inner.customers
    }

    /// Merges `absorbed` into `survivor` ([`crate::merge::merge`]). Holds the linker and waits
    /// for its turn to record while it runs, so no batch of this process links to (or records
    /// for) the absorbed profile meanwhile, and leaves the linker to re-seed before the next
    /// batch.
    pub async fn merge(
        &self,
        survivor: CustomerId,
        absorbed: CustomerId,
        reason: &str,
        ctx: &AccessContext,
    ) -> Result<crate::merge::Merge, crate::merge::MergeError> {
        let mut linker = self.inner.linker.lock().await;
        let _turn = self.inner.record_order.wait_turn().await;
        let i = &self.inner;
        let done = crate::merge::merge(
            &i.customers,
            &i.travel,
            survivor,
            absorbed,
            reason,
            None,
            ctx,
        )
        .await;
        linker.invalidate();
        done
    }

    /// Undoes a merge ([`crate::merge::unmerge`]), holding the linker like [`Pipeline::merge`].
    pub async fn unmerge(
        &self,
        id: uuid::Uuid,
        ctx: &AccessContext,
    ) -> Result<crate::merge::Merge, crate::merge::MergeError> {
        let mut linker = self.inner.linker.lock().await;
        let _turn = self.inner.record_order.wait_turn().await;
        let done = crate::merge::unmerge(&self.inner.customers, &self.inner.travel, id, ctx).await;
        linker.invalidate();
        done
    }

    /// Decides a review ([`crate::merge::decide`]), holding the linker like [`Pipeline::merge`].
    pub async fn decide(
        &self,
        review: i64,
        decision: crate::merge::Decision,
        ctx: &AccessContext,
    ) -> Result<Option<crate::merge::Merge>, crate::merge::MergeError> {
        let mut linker = self.inner.linker.lock().await;
        let _turn = self.inner.record_order.wait_turn().await;
        let i = &self.inner;
        let done = crate::merge::decide(&i.customers, &i.travel, review, decision, ctx).await;
        if matches!(done, Ok(Some(_))) {
            linker.invalidate();
        }
        done
    }

    /// Ingests a batch (see the module documentation). Record-level problems are rejections in
    /// the report; an `Err` means the batch could not be finished (database down) and may be
    /// retried as a whole.
    pub async fn ingest(
        &self,
        events: Vec<SourceEvent>,
        ctx: &AccessContext,
    ) -> Result<BatchReport, IngestError> {
        self.ingest_batch(events, ctx, None, None).await
    }

    /// [`Pipeline::ingest`] for a caller that keeps several batches in flight and needs them
    /// applied in the order it read them (a later event for a record must win over an earlier
    /// one): `ticket` comes from the caller's [`Sequence`]. The batch records only once the
    /// caller's previous batch has succeeded; if that one failed, this one fails too
    /// ([`IngestError::OutOfTurn`], after linking but before recording anything), so the caller
    /// retries both in order.
    pub async fn ingest_in_order(
        &self,
        events: Vec<SourceEvent>,
        ctx: &AccessContext,
        ticket: Ticket,
    ) -> Result<BatchReport, IngestError> {
        let Ticket {
            linking,
            after,
            outcome,
        } = ticket;
        let done = self.ingest_batch(events, ctx, Some(linking), after).await;
        let _ = outcome.send(done.is_ok());
        done
    }

    /// Steps 1-5 (module documentation). `linking` is told once the batch holds the linker;
    /// `after`, if given, must say `true` before the batch records.
    async fn ingest_batch(
        &self,
        events: Vec<SourceEvent>,
        ctx: &AccessContext,
        linking: Option<oneshot::Sender<()>>,
        after: Option<oneshot::Receiver<bool>>,
    ) -> Result<BatchReport, IngestError> {
        let mut report = BatchReport {
            received: events.len(),
            ..BatchReport::default()
        };
        if events.is_empty() {
            // Nothing to do, but the caller's order still holds: an empty batch must not tell
            // the batch behind it that all went well when the one ahead failed.
            if !ahead_succeeded(after).await {
                return Err(IngestError::OutOfTurn);
            }
            return Ok(report);
        }
        let started = std::time::Instant::now();
        // Validation is pure: it runs before any lock, beside another batch's work.
        let parsed: Vec<_> = aloft_kernel::cpu::bound(events.len(), || {
            events
                .iter()
                .map(|e| Record::parse(e.kind, &e.data))
                .collect()
        });
        // Stage 1, in arrival order: event ids seen before, then linking.
        let mut linker = self.inner.linker.lock().await;
        if let Some(tell) = linking {
            let _ = tell.send(());
        }
        if linker.must_reseed().await? {
            // Re-seeding re-reads profiles and links from the database: every batch that linked
            // before must have ended first, its decisions stored (or failed and forgotten).
            drop(self.inner.record_order.wait_turn().await);
        }
        let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
        let seen = seen_events(&self.inner.db, &ids).await?;
        let mut claim = Claim::new(&self.inner.in_flight);
        let mut valid = Vec::with_capacity(events.len());
        let mut forecasts = Vec::new();
        let mut rejected_ids = Vec::new();
        for (i, (e, parsed)) in events.iter().zip(parsed).enumerate() {
            if seen.contains(e.id.as_str()) || !claim.take(&e.id) {
                report.unchanged += 1;
                continue;
            }
            match parsed {
                Ok(record @ Record::SegmentForecast(_)) => {
                    forecasts.push(Valid { index: i, record })
                }
                Ok(record) => valid.push(Valid { index: i, record }),
                Err(errs) => {
                    rejected_ids.push(e.id.as_str());
                    report.rejected_events += 1;
                    report.rejected.extend(errs.into_iter().map(|f| {
                        Rejection::new(
                            e.position,
                            Some(&e.id),
                            format!("/data{}", f.pointer),
                            f.detail,
                        )
                    }));
                }
            }
        }
        // Rejected events are not marked, so their ids are not held either (a repeat within
        // this batch was already counted unchanged above, as before).
        for id in rejected_ids {
            claim.release(id);
        }
        let items: Vec<LinkItem> = valid
            .iter()
            .map(|v| {
                let e = &events[v.index];
                let s = v.record.source();
                LinkItem {
                    position: e.position,
                    event_id: Some(e.id.clone()),
                    source: s.source.as_str().to_owned(),
                    source_record_id: s.source_record_id.as_str().to_owned(),
                    hints: e.hints.clone(),
                }
            })
            .collect();
        let linking = std::time::Instant::now();
        let Linked {
            receipt,
            links,
            data_keys,
            writes,
        } = linker.link_batch(&items).await?;
        let link_ms = linking.elapsed().as_millis() as u64;
        // Stage 2: queue behind the batch linked before this one, then let the linker go, so
        // the next batch links while this one stages, waits and records. Whether a batch ahead
        // that has not committed writes one of this batch's records is known here, in link
        // order.
        let (touching, overlaps) = Touching::claim(&self.inner.touching, &items);
        let turn = self.inner.record_order.join();
        drop(linker);
        // (Re-bound after the place, and again after the turn, so that on every early return
        // the receipt reports the failure before the next batch gets its turn.)
        let receipt = receipt;
        let mut to_record: Vec<(CustomerId, Record)> = Vec::with_capacity(valid.len());
        let mut recorded_index = Vec::with_capacity(valid.len());
        for (v, link) in valid.into_iter().zip(links) {
            match link {
                Ok(link) => {
                    let key = if link.fresh {
                        link.method.as_str()
                    } else {
                        "existing_link"
                    };
                    *report.linked_by_method.entry(key.to_owned()).or_default() += 1;
                    if link.created_customer {
                        report.new_customers += 1;
                    }
                    let customer = link.customer_id;
                    to_record.push((customer, v.record));
                    recorded_index.push(v.index);
                }
                Err(r) => {
                    report.rejected_events += 1;
                    report.rejected.extend(r);
                }
            }
        }
        if to_record.is_empty() && !writes.is_empty() {
            return Err(IngestError::Identity(
                "linking decided writes for a batch with nothing to record".into(),
            ));
        }
        // What is written beside the records (new profiles, links, processed event ids).
        let beside = BatchWrites {
            linking: &writes,
            events: recorded_index
                .iter()
                .map(|i| (events[*i].id.as_str(), events[*i].source.as_str()))
                .collect(),
            ctx,
        };
        // Staging (keys, sealing and, unless a batch ahead writes the same records, planning
        // and rendering every statement) needs no lock: it runs while the batch ahead holds
        // the write slot.
        let staging = std::time::Instant::now();
        let staged = if to_record.is_empty() {
            None
        } else {
            let data_keys = data_keys.into_iter().collect();
            let staged = self
                .inner
                .travel
                .stage_many(to_record, data_keys, !overlaps, &beside)
                .await
                .map_err(travel_error)?;
            Some(staged)
        };
        let stage_ms = staging.elapsed().as_millis() as u64;
        let _turn = turn.wait().await;
        let receipt = receipt;
        if !ahead_succeeded(after).await {
            return Err(IngestError::OutOfTurn);
        }
        if !receipt.still_valid() {
            // A batch linked before this one failed to store what it decided, and this one
            // may link to a profile of it: it must link again.
            return Err(IngestError::OutOfTurn);
        }
        let recording = std::time::Instant::now();
        // Step 4, one transaction: new profiles, links, records and the processed event ids.
        let mut outcomes: Vec<(usize, &'static str)> = Vec::with_capacity(recorded_index.len());
        if let Some(staged) = staged {
            let done = self
                .inner
                .travel
                .record_staged(staged, ctx, &beside)
                .await
                .map_err(travel_error)?;
            for (r, index) in done.into_iter().zip(recorded_index) {
                outcomes.push((index, outcome_name(&r.outcome)));
            }
        }
        receipt.committed();
        let mut forecast_marks = Vec::new();
        for f in forecasts {
            let Record::SegmentForecast(forecast) = f.record else {
                continue;
            };
            let r = self
                .inner
                .travel
                .record_forecast(forecast, ctx)
                .await
                .map_err(travel_error)?;
            outcomes.push((f.index, outcome_name(&r.outcome)));
            forecast_marks.push((&events[f.index], outcome_name(&r.outcome)));
        }
        for (_, o) in &outcomes {
            if *o == "unchanged" {
                report.unchanged += 1;
            } else {
                report.recorded += 1;
            }
        }
        let record_ms = recording.elapsed().as_millis() as u64;
        // 5. Event ids of forecasts (those of records were marked with them).
        mark_events(&self.inner.db, &forecast_marks).await?;
        drop(claim);
        drop(touching);
        let refresh = {
            let mut g = self.inner.growth.lock().unwrap_or_else(|p| p.into_inner());
            g.0 += report.recorded as u64;
            let due = g.0 >= g.1;
            while g.0 >= g.1 {
                g.1 *= 2;
            }
            due
        };
        if refresh {
            // In the background: ANALYZE of a large database takes a while, and the streaming
            // batch that waited for it made the PostgreSQL latency tail (p99 892 ms at 2,000
            // events/s; 145-166 ms since). Later batches get the fresh plans when it ends.
            let db = self.inner.db.clone();
            tokio::spawn(async move {
                if let Err(e) = db.refresh_statistics().await {
                    tracing::warn!(error = %e, "refreshing planner statistics failed");
                }
            });
        }
        tracing::info!(
            received = report.received,
            recorded = report.recorded,
            unchanged = report.unchanged,
            rejected = report.rejected_events,
            new_customers = report.new_customers,
            link_ms,
            stage_ms,
            record_ms,
            total_ms = started.elapsed().as_millis() as u64,
            "ingested batch"
        );
        Ok(report)
    }
}

/// A caller's batches in flight, kept in the order it read them (an import's chunks, the
/// consumer's micro-batches). [`Sequence::next`] hands out the [`Ticket`] for the next batch once
/// the previous one holds the linker, so batches link in order; the ticket makes the batch
/// record only after the previous one succeeded.
#[derive(Debug, Default)]
pub struct Sequence {
    /// Resolves when the previous batch holds the linker (or has ended).
    linked: Option<oneshot::Receiver<()>>,
    /// The previous batch's outcome: `true` once it succeeded; dropped unsent if it failed.
    outcome: Option<oneshot::Receiver<bool>>,
}

/// A batch's place in a [`Sequence`]; pass it to [`Pipeline::ingest_in_order`].
#[derive(Debug)]
pub struct Ticket {
    linking: oneshot::Sender<()>,
    after: Option<oneshot::Receiver<bool>>,
    outcome: oneshot::Sender<bool>,
}

impl Sequence {
    /// Waits until the previous batch holds the linker (or has ended), then returns the next
    /// batch's ticket.
    pub async fn next(&mut self) -> Ticket {
        if let Some(linked) = self.linked.take() {
            // `Err`: the previous batch ended before linking; it is out of the way either way.
            let _ = linked.await;
        }
        let (linking, linked) = oneshot::channel();
        let (outcome, next_after) = oneshot::channel();
        self.linked = Some(linked);
        Ticket {
            linking,
            after: self.outcome.replace(next_after),
            outcome,
        }
    }
}

/// Whether the caller's previous batch (in a [`Sequence`]) succeeded; `true` without one.
async fn ahead_succeeded(after: Option<oneshot::Receiver<bool>>) -> bool {
    match after {
        Some(after) => after.await == Ok(true),
        None => true,
    }
}

/// The order in which linked batches record. Each batch joins it while it still holds the
/// linker (so the order is the link order) and records once the batch ahead of it has ended,
/// successfully or not.
#[derive(Default)]
struct RecordOrder {
    /// The turn of the last batch to join: resolved (or dropped) when that batch ends.
    last: std::sync::Mutex<Option<tokio::sync::oneshot::Receiver<()>>>,
}

/// A place in the [`RecordOrder`].
struct Place {
    /// The turn of the place ahead (`None` once it has ended).
    ahead: Option<tokio::sync::oneshot::Receiver<()>>,
    /// Dropped to give the next place its turn.
    mine: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The turn to record; the next place in the order gets its turn when this is dropped.
struct Turn {
    _mine: Option<tokio::sync::oneshot::Sender<()>>,
}

impl RecordOrder {
    /// Takes the next place (call while holding the linker).
    fn join(&self) -> Place {
        let (mine, next) = tokio::sync::oneshot::channel();
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        Place {
            ahead: last.replace(next),
            mine: Some(mine),
        }
    }

    /// Takes the next place and waits for its turn.
    async fn wait_turn(&self) -> Turn {
        self.join().wait().await
    }
}

impl Place {
    /// Waits until the place ahead has ended.
    async fn wait(mut self) -> Turn {
        if let Some(ahead) = self.ahead.as_mut() {
            // `Err` means the batch ahead ended without sending: it is done either way.
            let _ = ahead.await;
        }
        self.ahead = None;
        Turn {
            _mine: self.mine.take(),
        }
    }
}

impl Drop for Place {
    /// A place given up before its turn (the waiting batch was cancelled) passes the wait on:
    /// the place behind it gets its turn only once the place ahead has ended.
    fn drop(&mut self) {
        if let (Some(ahead), Some(mine)) = (self.ahead.take(), self.mine.take())
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = ahead.await;
                drop(mine);
            });
        }
    }
}

/// Event ids a batch has claimed in [`Inner::in_flight`]; released when the batch ends, whether
/// it marked them or failed (so a retry is not mistaken for a redelivery).
struct Claim<'a> {
    set: &'a std::sync::Mutex<HashSet<String>>,
    ids: Vec<String>,
}

impl<'a> Claim<'a> {
    fn new(set: &'a std::sync::Mutex<HashSet<String>>) -> Self {
        Self {
            set,
            ids: Vec::new(),
        }
    }

    /// Gives `id` back early (the event was rejected: a corrected resend may follow at once).
    fn release(&mut self, id: &str) {
        if let Some(at) = self.ids.iter().rposition(|held| held == id) {
            self.ids.swap_remove(at);
            let mut set = self.set.lock().unwrap_or_else(|p| p.into_inner());
            set.remove(id);
        }
    }

    /// Claims `id`; false if another batch in flight (or this one) already holds it.
    fn take(&mut self, id: &str) -> bool {
        let mut set = self.set.lock().unwrap_or_else(|p| p.into_inner());
        if set.insert(id.to_owned()) {
            self.ids.push(id.to_owned());
            true
        } else {
            false
        }
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        let mut set = self.set.lock().unwrap_or_else(|p| p.into_inner());
        for id in &self.ids {
            set.remove(id);
        }
    }
}

/// The record keys a batch in flight writes, held in [`Inner::touching`] until the batch ends.
struct Touching<'a> {
    map: &'a std::sync::Mutex<HashMap<(String, String), usize>>,
    keys: Vec<(String, String)>,
}

impl<'a> Touching<'a> {
    /// Holds the keys of `items`; also says whether a batch in flight already holds one of
    /// them (call in link order, so those batches are the ones ahead).
    fn claim(
        map: &'a std::sync::Mutex<HashMap<(String, String), usize>>,
        items: &[LinkItem],
    ) -> (Self, bool) {
        let mut keys: Vec<(String, String)> = items
            .iter()
            .map(|i| (i.source.clone(), i.source_record_id.clone()))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let mut held = map.lock().unwrap_or_else(|p| p.into_inner());
        let mut overlaps = false;
        for k in &keys {
            let n = held.entry(k.clone()).or_default();
            overlaps |= *n > 0;
            *n += 1;
        }
        (Self { map, keys }, overlaps)
    }
}

impl Drop for Touching<'_> {
    fn drop(&mut self) {
        let mut held = self.map.lock().unwrap_or_else(|p| p.into_inner());
        for k in &self.keys {
            if let Some(n) = held.get_mut(k) {
                *n -= 1;
                if *n == 0 {
                    held.remove(k);
                }
            }
        }
    }
}

fn outcome_name(o: &Outcome) -> &'static str {
    match o {
        Outcome::Created => "created",
        Outcome::Updated { .. } => "updated",
        Outcome::AlreadyRecorded => "unchanged",
    }
}

fn travel_error(e: TravelError) -> IngestError {
    match e {
        TravelError::Storage(s) => IngestError::Storage(s),
        // Only a customer/forecast mix-up, which the pipeline rules out.
        TravelError::Invalid(errs) => {
            IngestError::Identity(format!("travel store refused {} records", errs.len()))
        }
    }
}

/// Which of these event ids were processed before.
async fn seen_events(db: &Database, ids: &[&str]) -> Result<HashSet<String>, StorageError> {
    let backend = db.backend();
    let mut sorted: Vec<&str> = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = HashSet::new();
    for chunk in sorted.chunks(500) {
        let params: Vec<String> = (1..=chunk.len()).map(|i| backend.param(i)).collect();
        let sql = format!(
            "SELECT event_id FROM ingested_events WHERE event_id IN ({})",
            params.join(", ")
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        out.extend(q.fetch_all(db.pool()).await?);
    }
    Ok(out)
}

/// Records processed event ids in their own transaction (segment forecasts, which are recorded
/// one at a time).
async fn mark_events(
    db: &Database,
    marks: &[(&SourceEvent, &'static str)],
) -> Result<(), StorageError> {
    if marks.is_empty() {
        return Ok(());
    }
    let rows: Vec<(&str, &str, &'static str)> = marks
        .iter()
        .map(|(e, o)| (e.id.as_str(), e.source.as_str(), *o))
        .collect();
    let mut inserts = Statements::new(db.backend());
    render_marks(&mut inserts, &rows);
    let mut tx = db.begin_write().await?;
    tx.execute(inserts).await?;
    tx.commit().await
}

/// Renders the inserts of processed event ids `(event id, source, outcome)` (a concurrent
/// duplicate is ignored; the first outcome of an id repeated here is kept).
fn render_marks(into: &mut Statements, marks: &[(&str, &str, &'static str)]) {
    let stamp = to_db_time(now());
    let mut seen = HashSet::with_capacity(marks.len());
    into.insert(
        "INSERT INTO ingested_events (event_id, source, processed_at, outcome) VALUES ",
        " ON CONFLICT (event_id) DO NOTHING",
        4,
        250,
        marks.iter().filter(|m| seen.insert(m.0)),
        |v, (id, source, outcome)| {
            v.bind((*id).to_owned())
                .bind((*source).to_owned())
                .bind(stamp.clone())
                .bind(*outcome);
        },
    );
}

/// What a batch writes beside its records, in their transaction: what linking decided (new
/// profiles, links, review rows) and the processed event ids.
struct BatchWrites<'a> {
    linking: &'a LinkWrites,
    /// Per record, in the order given to the travel store: its event's id and source.
    events: Vec<(&'a str, &'a str)>,
    ctx: &'a AccessContext,
}

impl Alongside for BatchWrites<'_> {
    fn render(&self, outcomes: &[Recorded], backend: Backend) -> Result<Statements, StorageError> {
        let mut into = Statements::new(backend);
        self.linking.render(&mut into, self.ctx)?;
        let marks: Vec<(&str, &str, &'static str)> = self
            .events
            .iter()
            .zip(outcomes)
            .map(|((id, source), r)| (*id, *source, outcome_name(&r.outcome)))
            .collect();
        render_marks(&mut into, &marks);
        Ok(into)
    }
}

#[cfg(test)]
mod tests {
    use super::RecordOrder;
    use std::time::Duration;

    /// Places get their turn in the order they joined, one at a time, even when one of them is
    /// given up before its turn.
    #[tokio::test]
    async fn turns_come_in_join_order_one_at_a_time() {
        let order = RecordOrder::default();
        let first = order.join();
        let second = order.join();
        let third = order.join();
        let soon = Duration::from_millis(50);
        let first_turn = first.wait().await;
        let mut second = Box::pin(second.wait());
        assert!(tokio::time::timeout(soon, &mut second).await.is_err());
        drop(first_turn);
        let second_turn = tokio::time::timeout(soon, second)
            .await
            .expect("second's turn");
        let mut third = Box::pin(third.wait());
        assert!(tokio::time::timeout(soon, &mut third).await.is_err());
        drop(second_turn);
        let third_turn = tokio::time::timeout(soon, third)
            .await
            .expect("third's turn");
        // A place given up before its turn (a cancelled batch) still keeps the place behind
        // it waiting until the place ahead of it has ended.
        let fourth = order.join();
        let fifth = order.join();
        drop(fourth);
        let mut fifth = Box::pin(fifth.wait());
        assert!(tokio::time::timeout(soon, &mut fifth).await.is_err());
        drop(third_turn);
        tokio::time::timeout(soon, fifth)
            .await
            .expect("fifth's turn");
    }
}
