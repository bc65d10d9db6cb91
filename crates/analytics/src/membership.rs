//! Saved segments and their membership, kept current incrementally.
//!
//! A segment is saved with its rule (migration 0030's `analytics_segments`) and its members
//! are selected at once from the facts table. From then on, a tail of the outbox picks up
//! every committed event that names a `customer_id` (a profile created or changed, a travel
//! record, a consent, a case…), derives those customers' facts again, evaluates every saved
//! rule on them in memory ([`crate::nba::matches`], the twin of the SQL) and compares with the
//! stored membership: each difference is one member row inserted or deleted together with its
//! `aloft.segment.entered` / `aloft.segment.left` event, in one transaction with the new facts
//! (up to [`BATCH`] customers per transaction). The tail polls every [`POLL`]; a change is
//! reflected within about that, well inside 1 s. With no saved segment it writes nothing.
//!
//! Several processes may tail the same outbox: inserts are `ON CONFLICT DO NOTHING` and
//! deletes conditional, and an event is emitted only by the transaction whose statement
//! changed a row, so each entry and exit is published once. The cursor lives in memory and
//! starts at the newest event, re-reading a window of [`LOOKBACK`] sequence numbers so a
//! transaction that commits after a later one is not skipped; anything missed (events before
//! start-up, time passing for "days since" rules) is caught by the periodic rebuild, which
//! reconciles every segment with the facts it derived ([`SegmentStore::reconcile`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::Row;

use aloft_kernel::db::to_db_time;
use aloft_kernel::events::CloudEvent;
use aloft_kernel::{StorageError, WriteTx};

use crate::events::SegmentMembership;
use crate::nba::matches;
use crate::segment::{Bind, Rule, compile, parse};
use crate::storage::{CustomerFacts, SegmentStore, forget_facts_on, placeholders, write_facts_on};

/// How often the outbox is read for changes.
pub const POLL: Duration = Duration::from_millis(100);
/// How many customers are refreshed in one transaction.
pub const BATCH: usize = 500;
/// How many sequence numbers behind the cursor are read again (late commits).
pub const LOOKBACK: i64 = 256;

/// A saved segment.
#[derive(Debug, Clone)]
pub struct SavedSegment {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The rule as saved (validated JSON).
    pub rule_json: Value,
    /// The parsed rule.
    pub rule: Rule,
    /// Bumped on every edit of the rule.
    pub version: i64,
}

async fn enter(
    tx: &mut WriteTx,
    s: &SavedSegment,
    customer: &str,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let n = sqlx::query(&format!(
        "INSERT INTO analytics_segment_members (segment_id, customer_id, entered_at, \
         consent_allowed) VALUES ($1, $2, $3, {}) ON CONFLICT DO NOTHING",
        member_mask_sql("$4")
    ))
    .bind(&s.id)
    .bind(customer)
    .bind(to_db_time(now))
    .bind(customer)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if n == 1 {
        tx.emit(&CloudEvent::of(&SegmentMembership {
            segment_id: s.id.clone(),
            segment_version: s.version,
            customer_id: customer.to_owned(),
            entered: true,
        }))
        .await?;
    }
    Ok(n == 1)
}

async fn leave(tx: &mut WriteTx, s: &SavedSegment, customer: &str) -> Result<bool, StorageError> {
    let n = sqlx::query(
        "DELETE FROM analytics_segment_members WHERE segment_id = $1 AND customer_id = $2",
    )
    .bind(&s.id)
    .bind(customer)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if n == 1 {
        tx.emit(&CloudEvent::of(&SegmentMembership {
            segment_id: s.id.clone(),
            segment_version: s.version,
            customer_id: customer.to_owned(),
            entered: false,
        }))
        .await?;
    }
    Ok(n == 1)
}

/// How many customers one membership statement names (bound values stay well inside both
/// backends' limits: three a row for an insert).
const MEMBERS_PER_STATEMENT: usize = 500;

/// The consent mask a new member row of the customer in the SQL expression `customer` gets:
/// their facts row's (written earlier in the same transaction; members are chosen from facts),
/// none without one. Kept equal to it afterwards by [`crate::storage::sync_member_masks`] and
/// privacy's consent writes (migration 0058).
pub(crate) fn member_mask_sql(customer: &str) -> String {
    format!(
        "COALESCE((SELECT f.consent_allowed FROM analytics_customer_facts f \
         WHERE f.customer_id = {customer}), 0)"
    )
}

fn membership_event(s: &SavedSegment, customer: String, entered: bool) -> CloudEvent {
    CloudEvent::of(&SegmentMembership {
        segment_id: s.id.clone(),
        segment_version: s.version,
        customer_id: customer,
        entered,
    })
}

/// Inserts these customers' member rows of `s` (multi-row, `ON CONFLICT DO NOTHING`); returns
/// the customers whose row this statement inserted — only they get an `entered` event, so a
/// concurrent process that inserted the same row first publishes it, not this one.
async fn enter_all(
    tx: &mut WriteTx,
    s: &SavedSegment,
    customers: &[&str],
    now: DateTime<Utc>,
) -> Result<Vec<String>, StorageError> {
    let b = aloft_kernel::Backend::of(tx.conn());
    let mut inserted = Vec::new();
    for part in customers.chunks(MEMBERS_PER_STATEMENT) {
        let rows: Vec<String> = (0..part.len())
            .map(|i| {
                let p = |k: usize| b.param(i * 4 + k);
                format!("({}, {}, {}, {})", p(1), p(2), p(3), member_mask_sql(&p(4)))
            })
            .collect();
        let sql = format!(
            "INSERT INTO analytics_segment_members (segment_id, customer_id, entered_at, \
             consent_allowed) VALUES {} ON CONFLICT DO NOTHING RETURNING customer_id",
            rows.join(", ")
        );
        let mut q = sqlx::query(&sql);
        let at = to_db_time(now);
        for c in part {
            q = q.bind(s.id.as_str()).bind(*c).bind(at.clone()).bind(*c);
        }
        for row in q.fetch_all(tx.conn()).await? {
            inserted.push(row.try_get("customer_id")?);
        }
    }
    Ok(inserted)
}

/// Deletes these customers' member rows of `s`; returns the customers whose row this
/// statement deleted (they alone get a `left` event, as in [`enter_all`]).
async fn leave_all(
    tx: &mut WriteTx,
    s: &SavedSegment,
    customers: &[&str],
) -> Result<Vec<String>, StorageError> {
    let b = aloft_kernel::Backend::of(tx.conn());
    let mut deleted = Vec::new();
    for part in customers.chunks(MEMBERS_PER_STATEMENT) {
        let sql = format!(
            "DELETE FROM analytics_segment_members WHERE segment_id = {} \
             AND customer_id IN ({}) RETURNING customer_id",
            b.param(1),
            placeholders(b, 2, part.len())
        );
        let mut q = sqlx::query(&sql).bind(s.id.as_str());
        for c in part {
            q = q.bind(*c);
        }
        for row in q.fetch_all(tx.conn()).await? {
            deleted.push(row.try_get("customer_id")?);
        }
    }
    Ok(deleted)
}

impl SegmentStore {
    /// Saves a segment and selects its members from the current facts, in one transaction;
    /// returns its id and how many members it has.
    pub async fn save_segment(
        &self,
        name: &str,
        rule_json: &Value,
        rule: &Rule,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(String, u64), StorageError> {
        let id = uuid::Uuid::now_v7().to_string();
        let db = self.database();
        let mut tx = db.begin_write().await?;
        // Member rows copy the facts row's consent mask: ordered against consent changes
        // (PostgreSQL) like every facts write, so none is copied stale (migration 0058).
        crate::storage::lock_against_consent_changes(tx.conn(), db.backend()).await?;
        sqlx::query(
            "INSERT INTO analytics_segments (id, name, rule, version, created_by, created_at, \
             updated_at) VALUES ($1, $2, $3, 1, $4, $5, $5)",
        )
        .bind(&id)
        .bind(name)
        .bind(rule_json.to_string())
        .bind(actor)
        .bind(to_db_time(now))
        .execute(tx.conn())
        .await?;
        let b = db.backend();
        let c = compile(rule, now, 3, &|n| b.param(n));
        let sql = format!(
            "INSERT INTO analytics_segment_members (segment_id, customer_id, entered_at, \
             consent_allowed) SELECT {}, f.customer_id, {}, f.consent_allowed \
             FROM analytics_customer_facts f WHERE {}",
            b.param(1),
            b.param(2),
            c.sql
        );
        let mut q = sqlx::query(&sql).bind(&id).bind(to_db_time(now));
        for bind in &c.binds {
            q = match bind {
                Bind::Text(s) => q.bind(s.clone()),
                Bind::Int(i) => q.bind(*i),
            };
        }
        let members = q.execute(tx.conn()).await?.rows_affected();
        tx.commit().await?;
        Ok((id, members))
    }

    /// Replaces a saved segment's name and rule (its version goes up by one) and brings its
    /// membership in line with the new rule over the current facts — each difference a member
    /// row inserted or deleted with its `aloft.segment.entered`/`left` event — in one
    /// transaction. Returns the new version and member count, `None` if no such segment.
    /// The update locks the segment's row first; a refresh from the outbox tail locks the same
    /// row, so the two never interleave (see [`Self::refresh_customers`]).
    pub async fn update_segment(
        &self,
        id: &str,
        name: &str,
        rule_json: &Value,
        rule: &Rule,
        now: DateTime<Utc>,
    ) -> Result<Option<(i64, u64)>, StorageError> {
        let db = self.database();
        let mut tx = db.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE analytics_segments SET name = $1, rule = $2, version = version + 1, \
             updated_at = $3 WHERE id = $4",
        )
        .bind(name)
        .bind(rule_json.to_string())
        .bind(to_db_time(now))
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected();
        if updated == 0 {
            return Ok(None);
        }
        // Member rows copy the facts row's consent mask: ordered against consent changes
        // (PostgreSQL) like every facts write, so none is copied stale (migration 0058). After
        // the segment's row, in the order the outbox tail's refresh takes the two (no deadlock).
        crate::storage::lock_against_consent_changes(tx.conn(), db.backend()).await?;
        let version: i64 =
            sqlx::query_scalar("SELECT version FROM analytics_segments WHERE id = $1")
                .bind(id)
                .fetch_one(tx.conn())
                .await?;
        let b = db.backend();
        let c = compile(rule, now, 1, &|n| b.param(n));
        let sql = format!(
            "SELECT f.customer_id FROM analytics_customer_facts f WHERE {}",
            c.sql
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql);
        for bind in &c.binds {
            q = match bind {
                Bind::Text(s) => q.bind(s.clone()),
                Bind::Int(i) => q.bind(*i),
            };
        }
        let should: BTreeSet<String> = q.fetch_all(tx.conn()).await?.into_iter().collect();
        let members: BTreeSet<String> = sqlx::query_scalar(
            "SELECT customer_id FROM analytics_segment_members WHERE segment_id = $1",
        )
        .bind(id)
        .fetch_all(tx.conn())
        .await?
        .into_iter()
        .collect();
        let s = SavedSegment {
            id: id.to_owned(),
            name: name.to_owned(),
            rule_json: rule_json.clone(),
            rule: rule.clone(),
            version,
        };
        for c in should.difference(&members) {
            enter(&mut tx, &s, c, now).await?;
        }
        for c in members.difference(&should) {
            leave(&mut tx, &s, c).await?;
        }
        tx.commit().await?;
        Ok(Some((version, should.len() as u64)))
    }

    /// Every saved segment.
    pub async fn saved_segments(&self) -> Result<Vec<SavedSegment>, StorageError> {
        let rows =
            sqlx::query("SELECT id, name, rule, version FROM analytics_segments ORDER BY id")
                .fetch_all(self.database().pool())
                .await?;
        segments_of(&rows)
    }

    /// One saved segment (without counting its members), `None` if there is no such segment
    /// or its rule no longer parses.
    pub async fn saved_segment(&self, id: &str) -> Result<Option<SavedSegment>, StorageError> {
        let rows =
            sqlx::query("SELECT id, name, rule, version FROM analytics_segments WHERE id = $1")
                .bind(id)
                .fetch_all(self.database().pool())
                .await?;
        Ok(segments_of(&rows)?.pop())
    }

    /// How many members every saved segment has now, by segment id (none: absent).
    pub async fn sizes(&self) -> Result<BTreeMap<String, i64>, StorageError> {
        let rows = sqlx::query(
            "SELECT segment_id, COUNT(*) AS n FROM analytics_segment_members GROUP BY segment_id",
        )
        .fetch_all(self.database().pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("segment_id")?, r.try_get("n")?)))
            .collect()
    }

    /// A saved segment and its member count.
    pub async fn segment(&self, id: &str) -> Result<Option<(SavedSegment, i64)>, StorageError> {
        let Some(s) = self.saved_segment(id).await? else {
            return Ok(None);
        };
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM analytics_segment_members WHERE segment_id = $1",
        )
        .bind(id)
        .fetch_one(self.database().pool())
        .await?;
        Ok(Some((s, n)))
    }

    /// Derives these customers' facts again, stores them and brings their membership of every
    /// saved segment up to date, with an event per entry or exit — one transaction for the
    /// batch. A customer who no longer exists (merged away) loses their facts and leaves every
    /// segment. Without saved segments nothing is written (the periodic rebuild keeps the
    /// facts). Returns how many memberships changed.
    pub async fn refresh_customers(
        &self,
        customers: &[String],
        now: DateTime<Utc>,
    ) -> Result<usize, StorageError> {
        let segments = self.saved_segments().await?;
        if segments.is_empty() || customers.is_empty() {
            return Ok(0);
        }
        // Each customer once (a caller may name one twice; the tail already does not).
        let customers: Vec<String> = customers
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let customers = customers.as_slice();
        let derived = self.derive_many(customers, now).await?;
        let db = self.database();
        let mut tx = db.begin_write().await?;
        // Each saved segment's row is locked (a no-op update, in id order) and its rule read
        // again inside the transaction, as are the customers' memberships: an edit of the rule
        // (`update_segment`, which locks the same row) is then either wholly before this
        // refresh — evaluated here with the new rule — or waits for it and recomputes the
        // membership from the facts written here. Nothing is stale either way.
        let mut locked = Vec::with_capacity(segments.len());
        for s in segments {
            sqlx::query("UPDATE analytics_segments SET version = version WHERE id = $1")
                .bind(&s.id)
                .execute(tx.conn())
                .await?;
            let Some(row) =
                sqlx::query("SELECT name, rule, version FROM analytics_segments WHERE id = $1")
                    .bind(&s.id)
                    .fetch_optional(tx.conn())
                    .await?
            else {
                continue;
            };
            let version: i64 = row.try_get("version")?;
            if version == s.version {
                locked.push(s);
                continue;
            }
            let text: String = row.try_get("rule")?;
            let Some((rule_json, rule)) = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|j| parse(&j).ok().map(|r| (j, r)))
            else {
                continue;
            };
            locked.push(SavedSegment {
                id: s.id,
                name: row.try_get("name")?,
                rule_json,
                rule,
                version,
            });
        }
        let segments = locked;
        // Membership is decided on the rows as written: their consent mask and tier movement
        // are settled by the write (inside this transaction), not by the derivation.
        let b = db.backend();
        let written = write_facts_on(tx.conn(), b, &derived, now, false).await?;
        let mut facts: HashMap<String, CustomerFacts> = HashMap::with_capacity(derived.len());
        for (mut f, w) in derived.into_iter().zip(written) {
            w.apply(&mut f);
            facts.insert(f.customer_id.clone(), f);
        }
        // A customer who no longer exists (merged away) loses their facts.
        let gone: Vec<&str> = customers
            .iter()
            .map(String::as_str)
            .filter(|c| !facts.contains_key(*c))
            .collect();
        forget_facts_on(tx.conn(), b, &gone, &mut HashMap::new()).await?;
        let mut members: HashSet<(String, String)> = HashSet::new();
        for ids in customers.chunks(MEMBERS_PER_STATEMENT) {
            let sql = format!(
                "SELECT segment_id, customer_id FROM analytics_segment_members \
                 WHERE customer_id IN ({})",
                placeholders(b, 1, ids.len())
            );
            let mut q = sqlx::query(&sql);
            for id in ids {
                q = q.bind(id.as_str());
            }
            for row in q.fetch_all(tx.conn()).await? {
                members.insert((row.try_get("segment_id")?, row.try_get("customer_id")?));
            }
        }
        let mut events = Vec::new();
        for s in &segments {
            let mut entering = Vec::new();
            let mut leaving = Vec::new();
            for customer in customers {
                let should = facts
                    .get(customer.as_str())
                    .is_some_and(|f| matches(&s.rule, f, now));
                match (should, members.contains(&(s.id.clone(), customer.clone()))) {
                    (true, false) => entering.push(customer.as_str()),
                    (false, true) => leaving.push(customer.as_str()),
                    _ => {}
                }
            }
            for c in enter_all(&mut tx, s, &entering, now).await? {
                events.push(membership_event(s, c, true));
            }
            for c in leave_all(&mut tx, s, &leaving).await? {
                events.push(membership_event(s, c, false));
            }
        }
        if !events.is_empty() {
            tx.emit_all(&events).await?;
        }
        tx.commit().await?;
        Ok(events.len())
    }

    /// Brings every saved segment's membership in line with `facts` (everyone's, as the
    /// rebuild derived them), with an event per entry or exit; one transaction per segment
    /// that changed. Returns how many memberships changed.
    pub async fn reconcile(
        &self,
        facts: &[CustomerFacts],
        now: DateTime<Utc>,
    ) -> Result<usize, StorageError> {
        let mut changed = 0;
        for s in self.saved_segments().await? {
            let members: BTreeSet<String> = sqlx::query_scalar(
                "SELECT customer_id FROM analytics_segment_members WHERE segment_id = $1",
            )
            .bind(&s.id)
            .fetch_all(self.database().pool())
            .await?
            .into_iter()
            .collect();
            let should: BTreeSet<&str> = facts
                .iter()
                .filter(|f| matches(&s.rule, f, now))
                .map(|f| f.customer_id.as_str())
                .collect();
            let entering: Vec<&str> = should
                .iter()
                .copied()
                .filter(|c| !members.contains(*c))
                .collect();
            let leaving: Vec<&String> = members
                .iter()
                .filter(|c| !should.contains(c.as_str()))
                .collect();
            if entering.is_empty() && leaving.is_empty() {
                continue;
            }
            let mut tx = self.database().begin_write().await?;
            // Member rows copy the facts row's consent mask: ordered against consent changes
            // (PostgreSQL) like every facts write, so none is copied stale (migration 0058).
            crate::storage::lock_against_consent_changes(tx.conn(), self.database().backend())
                .await?;
            for c in entering {
                changed += usize::from(enter(&mut tx, &s, c, now).await?);
            }
            for c in leaving {
                changed += usize::from(leave(&mut tx, &s, c).await?);
            }
            tx.commit().await?;
        }
        Ok(changed)
    }
}

/// Saved segments from rows of `analytics_segments`; a rule saved by an older field
/// catalogue that no longer parses selects no one, so its segment is left out.
fn segments_of(rows: &[sqlx::any::AnyRow]) -> Result<Vec<SavedSegment>, StorageError> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let rule_text: String = r.try_get("rule")?;
        let rule_json: Value = serde_json::from_str(&rule_text)
            .map_err(|e| StorageError::Corrupt(format!("segment rule: {e}")))?;
        let Ok(rule) = parse(&rule_json) else {
            continue;
        };
        out.push(SavedSegment {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            rule_json,
            rule,
            version: r.try_get("version")?,
        });
    }
    Ok(out)
}

/// The customers named by outbox events (`data.customer_id`), except analytics' own segment
/// and offer events (which change no fact).
fn customers_of(events: &[(i64, String, String)]) -> BTreeSet<String> {
    events
        .iter()
        .filter(|(_, ty, _)| !ty.starts_with("aloft.segment.") && !ty.starts_with("aloft.offer."))
        .filter_map(|(_, _, payload)| {
            let v: Value = serde_json::from_str(payload).ok()?;
            v.pointer("/data/customer_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect()
}

/// Starts the outbox tail that keeps segment membership current, on the current Tokio
/// runtime (none: nothing to do, as for a CLI command that builds the modules without
/// serving). It ends when the database is closed (shutdown).
pub fn spawn_tail(store: SegmentStore) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(tail(store));
}

async fn tail(store: SegmentStore) {
    let pool = store.database().pool().clone();
    let mut cursor: Option<i64> = None;
    let mut seen: BTreeMap<i64, ()> = BTreeMap::new();
    // A poll starts every POLL, not POLL after the last one ended: under load the time a
    // refresh takes is not added to every change's wait (a refresh longer than POLL delays the
    // next poll, never piles them up).
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        let start = match cursor {
            Some(c) => c,
            None => match sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(seq), 0) FROM outbox")
                .fetch_one(&pool)
                .await
            {
                Ok(max) => {
                    cursor = Some(max);
                    continue;
                }
                Err(_) => continue,
            },
        };
        let rows = match sqlx::query(
            "SELECT seq, event_type, payload FROM outbox WHERE seq > $1 ORDER BY seq LIMIT 2000",
        )
        .bind(start - LOOKBACK)
        .fetch_all(&pool)
        .await
        {
            Ok(rows) => rows,
            Err(e) => {
                if !pool.is_closed() {
                    tracing::warn!(error = %e, "segment membership: the outbox cannot be read");
                }
                continue;
            }
        };
        let mut fresh = Vec::new();
        for r in &rows {
            let (Ok(seq), Ok(ty), Ok(payload)) = (
                r.try_get::<i64, _>("seq"),
                r.try_get::<String, _>("event_type"),
                r.try_get::<String, _>("payload"),
            ) else {
                continue;
            };
            if seen.insert(seq, ()).is_none() {
                fresh.push((seq, ty, payload));
            }
        }
        let newest = fresh.iter().map(|e| e.0).max().unwrap_or(start).max(start);
        cursor = Some(newest);
        seen = seen.split_off(&(newest - LOOKBACK));
        let customers: Vec<String> = customers_of(&fresh).into_iter().collect();
        for batch in customers.chunks(BATCH) {
            if let Err(e) = store
                .refresh_customers(batch, aloft_kernel::db::now())
                .await
            {
                tracing::warn!(error = %e, customers = batch.len(), "segment membership: refresh failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_name_their_customers_but_not_our_own() {
        let events = vec![
            (
                1,
                "aloft.customer.updated".into(),
                r#"{"data":{"customer_id":"c1"}}"#.into(),
            ),
            (
                2,
                "aloft.travel.recorded".into(),
                r#"{"data":{"customer_id":"c2","kind":"booking"}}"#.into(),
            ),
            (
                3,
                "aloft.segment.entered".into(),
                r#"{"data":{"customer_id":"c3"}}"#.into(),
            ),
            (
                4,
                "aloft.offer.made".into(),
                r#"{"data":{"customer_id":"c4"}}"#.into(),
            ),
            (
                5,
                "aloft.case.opened".into(),
                r#"{"data":{"case_id":"k"}}"#.into(),
            ),
            (6, "aloft.customer.updated".into(), "not json".into()),
        ];
        let c: Vec<String> = customers_of(&events).into_iter().collect();
        assert_eq!(c, ["c1", "c2"]);
    }
}
