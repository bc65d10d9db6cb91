//! Keeping the dashboard facts current and telling open dashboards.
//!
//! [`FactStore::derive_customers`] derives the facts of some customers again from their
//! profile, travel records (the sealed texts opened with their data keys, analysed, and
//! dropped) and cases, and replaces their rows in one transaction with one audit record. The
//! [`REBUILD_JOB`] does it for everyone (at start-up when there are no facts, then every six
//! hours); between rebuilds a tail of the outbox ([`LiveHub::start`], every [`POLL`]) re-derives
//! the customers each committed event names (`data.customer_id`: travel records, cases, profile
//! changes) and then bumps the hub's change counter, which every open dashboard stream watches
//! (compensation and segment events bump it without a derivation: those figures are read from
//! their own tables). Several processes may tail one outbox: a derivation deletes and re-inserts
//! one customer's rows, so the last one wins with the same facts.
//!
//! The hub also carries the application's shutdown: [`LiveHub::stop`] ends every stream, so a
//! dashboard left open does not hold the server's graceful shutdown for its grace period.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sqlx::Row;
use tokio::sync::watch;

use aloft_kernel::db::{from_db_time, now, to_db_time};
use aloft_kernel::keys::CustomerKeys;
use aloft_kernel::{AccessContext, Database, StorageError};

use crate::facts::{CaseIn, Derived, RecordIn, derive};

/// The job kind that derives everyone's facts.
pub const REBUILD_JOB: &str = "insights.facts.rebuild";
/// How often the outbox is read.
pub const POLL: Duration = Duration::from_millis(250);
/// Customers derived per transaction.
const BATCH: usize = 200;
/// Sequence numbers re-read behind the cursor (transactions that commit late).
const LOOKBACK: i64 = 256;
/// Rows per multi-row insert.
const ROWS_PER_INSERT: usize = 50;

/// Derives and stores the dashboard facts.
#[derive(Clone)]
pub struct FactStore {
    db: Database,
    keys: Arc<dyn CustomerKeys>,
}

impl std::fmt::Debug for FactStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FactStore").finish_non_exhaustive()
    }
}

/// `sql` with every id of `ids` bound in order.
fn bound<'q>(
    sql: &'q str,
    ids: &'q [String],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let mut q = sqlx::query(sql);
    for id in ids {
        q = q.bind(id.as_str());
    }
    q
}

fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a derivation reads, as its audit record names it.
const FIELDS_READ: &[&str] = &[
    "preferences.seat",
    "preferences.meal",
    "travel_records.booking",
    "travel_records.ancillary",
    "travel_records.purchase",
    "travel_records.interaction.subject",
    "travel_records.interaction.body",
    "travel_records.feedback.text",
    "cases.subject",
    "cases.description",
    "case_entries.body",
];

impl FactStore {
    /// A store over `db`, opening sealed texts with `keys`.
    pub fn new(db: Database, keys: Arc<dyn CustomerKeys>) -> Self {
        Self { db, keys }
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Whether no fact has been derived yet.
    pub async fn is_empty(&self) -> Result<bool, StorageError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM insights_flights LIMIT 1) a) + \
                    (SELECT COUNT(*) FROM (SELECT 1 FROM insights_texts LIMIT 1) b)",
        )
        .fetch_one(self.db.pool())
        .await?;
        Ok(n == 0)
    }

    /// Derives every customer's facts again, in batches; returns how many customers.
    pub async fn rebuild(&self) -> Result<usize, StorageError> {
        let started = std::time::Instant::now();
        let mut after = String::new();
        let mut total = 0;
        loop {
            let ids: Vec<String> =
                sqlx::query_scalar("SELECT id FROM customers WHERE id > $1 ORDER BY id LIMIT $2")
                    .bind(&after)
                    .bind(BATCH as i64)
                    .fetch_all(self.db.pool())
                    .await?;
            let Some(last) = ids.last() else { break };
            after = last.clone();
            total += self.derive_customers(&ids).await?;
        }
        tracing::info!(
            customers = total,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "dashboard facts rebuilt"
        );
        Ok(total)
    }

    /// Derives the facts of `ids` (at most a few hundred) again and replaces their rows; a
    /// customer who no longer exists or was merged away keeps no facts. Returns how many.
    pub async fn derive_customers(&self, ids: &[String]) -> Result<usize, StorageError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let at = now();
        let list = placeholders(1, ids.len());
        let mut prefs: HashMap<String, (Option<String>, Option<String>)> = HashMap::new();
        let sql0 = format!(
            "SELECT id, profile FROM customers WHERE merged_into IS NULL AND id IN ({list})"
        );
        for r in bound(&sql0, ids).fetch_all(self.db.pool()).await? {
            let id: String = r.try_get("id")?;
            let profile: String = r.try_get("profile")?;
            let doc: Value = serde_json::from_str(&profile).unwrap_or(Value::Null);
            let p = doc.get("preferences");
            let text = |k: &str| {
                p.and_then(|p| p.get(k))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            prefs.insert(id, (text("seat"), text("meal")));
        }
        let mut records: HashMap<String, Vec<(RecordIn, Option<String>)>> = HashMap::new();
        let sql1 = format!(
            "SELECT id, customer_id, kind, occurred_at, document, sealed FROM travel_records \
             WHERE kind IN ('booking', 'ancillary', 'purchase', 'interaction', 'feedback') \
             AND customer_id IN ({list})"
        );
        for r in bound(&sql1, ids).fetch_all(self.db.pool()).await? {
            let customer: String = r.try_get("customer_id")?;
            let occurred: String = r.try_get("occurred_at")?;
            let document: String = r.try_get("document")?;
            let Some(occurred_at) = from_db_time(&occurred).ok() else {
                continue;
            };
            records.entry(customer).or_default().push((
                RecordIn {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    occurred_at,
                    doc: serde_json::from_str(&document).unwrap_or(Value::Null),
                },
                r.try_get("sealed")?,
            ));
        }
        let mut cases: HashMap<String, Vec<CaseIn>> = HashMap::new();
        let mut case_owner: HashMap<String, (String, usize)> = HashMap::new();
        let sql2 = format!(
            "SELECT id, customer_id, category, subject, description, opened_at, booking_reference, \
             flight FROM cases WHERE customer_id IN ({list}) ORDER BY opened_at, id"
        );
        for r in bound(&sql2, ids).fetch_all(self.db.pool()).await? {
            let customer: String = r.try_get("customer_id")?;
            let opened: String = r.try_get("opened_at")?;
            let Some(opened_at) = from_db_time(&opened).ok() else {
                continue;
            };
            let subject: String = r.try_get("subject")?;
            let description: String = r.try_get("description")?;
            let id: String = r.try_get("id")?;
            let list = cases.entry(customer.clone()).or_default();
            case_owner.insert(id.clone(), (customer, list.len()));
            list.push(CaseIn {
                id,
                category: r.try_get("category")?,
                text: format!("{subject}\n{description}"),
                opened_at,
                booking_reference: r.try_get("booking_reference")?,
                flight: r.try_get("flight")?,
                messages: vec![],
            });
        }
        if !case_owner.is_empty() {
            let sql3 = format!(
                "SELECT e.id, e.case_id, e.at, e.body FROM case_entries e \
                 JOIN cases c ON c.id = e.case_id WHERE c.customer_id IN ({list}) \
                 AND e.kind IN ('message', 'linked') AND e.author = 'customer' ORDER BY e.id"
            );
            for r in bound(&sql3, ids).fetch_all(self.db.pool()).await? {
                let case: String = r.try_get("case_id")?;
                let at: String = r.try_get("at")?;
                let body: Option<String> = r.try_get("body")?;
                if let (Some((customer, i)), Some(at), Some(body)) =
                    (case_owner.get(&case), from_db_time(&at).ok(), body)
                    && let Some(c) = cases.get_mut(customer).and_then(|l| l.get_mut(*i))
                {
                    c.messages.push((r.try_get("id")?, at, body));
                }
            }
        }
        // Open the sealed texts of interactions and feedback.
        let wanted: Vec<uuid::Uuid> = records
            .iter()
            .filter(|(_, rs)| rs.iter().any(|(_, s)| s.is_some()))
            .filter_map(|(c, _)| uuid::Uuid::try_parse(c).ok())
            .collect();
        let keys = if wanted.is_empty() {
            HashMap::new()
        } else {
            self.keys.data_keys(&wanted).await?
        };
        let mut people: Vec<(String, Derived)> = Vec::with_capacity(ids.len());
        aloft_kernel::cpu::bound(ids.len(), || {
            let model = aloft_sentiment::current();
            for id in ids {
                let Some((seat, meal)) = prefs.get(id) else {
                    people.push((id.clone(), Derived::default()));
                    continue;
                };
                let key = uuid::Uuid::try_parse(id).ok().and_then(|u| keys.get(&u));
                let mut opened = Vec::new();
                for (mut rec, sealed) in records.remove(id).unwrap_or_default() {
                    if let Some(sealed) = sealed {
                        // A destroyed key (erasure) leaves the text unread: no fact from it.
                        let Some(key) = key else { continue };
                        if aloft_travel::sealing::open(key, &rec.id, &mut rec.doc, &sealed).is_err()
                        {
                            continue;
                        }
                    }
                    opened.push(rec);
                }
                let derived = derive(
                    seat.as_deref(),
                    meal.as_deref(),
                    &opened,
                    cases.get(id).map(Vec::as_slice).unwrap_or(&[]),
                    at,
                    model,
                );
                people.push((id.clone(), derived));
            }
        });
        self.store(ids, &people).await?;
        Ok(people.len())
    }

    async fn store(
        &self,
        ids: &[String],
        people: &[(String, Derived)],
    ) -> Result<(), StorageError> {
        let list = placeholders(1, ids.len());
        let mut tx = self.db.begin_write().await?;
        for table in ["insights_texts", "insights_flights", "insights_sales"] {
            let sql = format!("DELETE FROM {table} WHERE customer_id IN ({list})");
            let mut q = sqlx::query(&sql);
            for id in ids {
                q = q.bind(id.clone());
            }
            q.execute(tx.conn()).await?;
        }
        // Texts.
        let texts: Vec<(&str, &crate::facts::TextFact)> = people
            .iter()
            .flat_map(|(c, d)| d.texts.iter().map(move |t| (c.as_str(), t)))
            .collect();
        for chunk in texts.chunks(ROWS_PER_INSERT) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| format!("({})", placeholders(i * 9 + 1, 9)))
                .collect();
            let sql = format!(
                "INSERT INTO insights_texts (id, customer_id, source, occurred_at, route, label, \
                 score_milli, topics, complaint) VALUES {} ON CONFLICT (id) DO NOTHING",
                values.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for (c, t) in chunk {
                q = q
                    .bind(t.id.clone())
                    .bind(c.to_string())
                    .bind(t.source)
                    .bind(to_db_time(t.occurred_at))
                    .bind(t.route.clone())
                    .bind(t.label)
                    .bind(t.score_milli)
                    .bind(t.topics.clone())
                    .bind(i64::from(t.complaint));
            }
            q.execute(tx.conn()).await?;
        }
        let flights: Vec<(&str, &crate::facts::FlightFact)> = people
            .iter()
            .flat_map(|(c, d)| d.flights.iter().map(move |t| (c.as_str(), t)))
            .collect();
        for chunk in flights.chunks(ROWS_PER_INSERT) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| format!("({})", placeholders(i * 9 + 1, 9)))
                .collect();
            let sql = format!(
                "INSERT INTO insights_flights (id, customer_id, departed_at, route, status, \
                 delay_minutes, cabin, seat_preference, meal_preference) VALUES {} \
                 ON CONFLICT (id) DO NOTHING",
                values.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for (c, f) in chunk {
                q = q
                    .bind(f.id.clone())
                    .bind(c.to_string())
                    .bind(to_db_time(f.departed_at))
                    .bind(f.route.clone())
                    .bind(f.status)
                    .bind(f.delay_minutes)
                    .bind(f.cabin.clone())
                    .bind(f.seat_preference.clone())
                    .bind(f.meal_preference.clone());
            }
            q.execute(tx.conn()).await?;
        }
        let sales: Vec<(&str, &crate::facts::SaleFact)> = people
            .iter()
            .flat_map(|(c, d)| d.sales.iter().map(move |t| (c.as_str(), t)))
            .collect();
        for chunk in sales.chunks(ROWS_PER_INSERT) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| format!("({})", placeholders(i * 8 + 1, 8)))
                .collect();
            let sql = format!(
                "INSERT INTO insights_sales (id, customer_id, occurred_at, route, category, \
                 product, product_label, units) VALUES {} ON CONFLICT (id) DO NOTHING",
                values.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for (c, s) in chunk {
                q = q
                    .bind(s.id.clone())
                    .bind(c.to_string())
                    .bind(to_db_time(s.occurred_at))
                    .bind(s.route.clone())
                    .bind(s.category.clone())
                    .bind(s.product.clone())
                    .bind(s.product_label.clone())
                    .bind(s.units);
            }
            q.execute(tx.conn()).await?;
        }
        let ctx = AccessContext::system("insights");
        tx.audit(&[ctx.entry(
            crate::events::audit::FACTS_DERIVED,
            "customer_batch",
            Some(format!("{} customers", ids.len())),
            FIELDS_READ.iter().map(|f| (*f).to_owned()).collect(),
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// What open dashboards watch: a counter bumped when their figures may have changed, and the
/// application's shutdown.
#[derive(Clone, Debug)]
pub struct LiveHub {
    changes: Arc<watch::Sender<u64>>,
    stop: Arc<watch::Sender<bool>>,
}

impl Default for LiveHub {
    fn default() -> Self {
        Self::new()
    }
}

/// Event types whose figures are read from other domains' tables: they change the dashboards
/// without a derivation.
const FIGURE_EVENTS: &[&str] = &["aloft.compensation.", "aloft.segment."];

/// Whether an event of this type may change a customer's dashboard facts.
fn derives(event_type: &str) -> bool {
    event_type.starts_with("aloft.travel.")
        || event_type.starts_with("aloft.case.")
        || event_type.starts_with("aloft.customer.")
}

impl LiveHub {
    /// A hub; nothing runs until [`LiveHub::start`].
    pub fn new() -> Self {
        Self {
            changes: Arc::new(watch::channel(0).0),
            stop: Arc::new(watch::channel(false).0),
        }
    }

    /// Ends every stream and the tail (the application is shutting down).
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Whether [`LiveHub::stop`] was called.
    pub fn stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// Tells the streams that figures may have changed.
    pub fn changed(&self) {
        self.changes.send_modify(|n| *n += 1);
    }

    /// A receiver of change notices.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// A receiver of the shutdown.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Starts the outbox tail on the current Tokio runtime (without one, nothing: tools and
    /// tests of pure parts). It ends at [`LiveHub::stop`] or when the database closes.
    pub fn start(&self, store: FactStore) {
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(tail(self.clone(), store));
        }
    }
}

async fn tail(hub: LiveHub, store: FactStore) {
    let pool = store.database().pool().clone();
    let mut stop = hub.stopping();
    let mut cursor: Option<i64> = None;
    let mut seen: BTreeSet<i64> = BTreeSet::new();
    loop {
        if hub.stopped() || pool.is_closed() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => return,
        }
        let from = match cursor {
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
        .bind(from - LOOKBACK)
        .fetch_all(&pool)
        .await
        {
            Ok(rows) => rows,
            Err(e) => {
                if !pool.is_closed() {
                    tracing::warn!(error = %e, "dashboards: the outbox cannot be read");
                }
                continue;
            }
        };
        let mut customers: BTreeSet<String> = BTreeSet::new();
        let mut relevant = false;
        let mut newest = from;
        for r in rows {
            let (Ok(seq), Ok(ty), Ok(payload)) = (
                r.try_get::<i64, _>("seq"),
                r.try_get::<String, _>("event_type"),
                r.try_get::<String, _>("payload"),
            ) else {
                continue;
            };
            newest = newest.max(seq);
            if !seen.insert(seq) {
                continue;
            }
            if FIGURE_EVENTS.iter().any(|p| ty.starts_with(p)) {
                relevant = true;
            }
            if derives(&ty)
                && let Some(c) = serde_json::from_str::<Value>(&payload).ok().and_then(|v| {
                    v.get("data")
                        .and_then(|d| d.get("customer_id"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
            {
                customers.insert(c);
            }
        }
        cursor = Some(newest);
        // Forget what falls out of the look-back window.
        seen = seen.split_off(&(newest - LOOKBACK));
        let ids: Vec<String> = customers.into_iter().collect();
        for chunk in ids.chunks(BATCH) {
            match store.derive_customers(chunk).await {
                Ok(_) => relevant = true,
                Err(e) => {
                    if !pool.is_closed() {
                        tracing::warn!(error = %e, "dashboards: facts not derived; the next rebuild will");
                    }
                }
            }
        }
        if relevant {
            hub.changed();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_events_derive_and_which_only_notify() {
        assert!(derives("aloft.travel.feedback.recorded"));
        assert!(derives("aloft.case.message_added"));
        assert!(!derives("aloft.segment.entered"));
        assert!(
            FIGURE_EVENTS
                .iter()
                .any(|p| "aloft.compensation.proposed".starts_with(p))
        );
        assert_eq!(placeholders(3, 2), "$3, $4");
    }

    #[tokio::test]
    async fn stop_ends_what_watches() {
        let hub = LiveHub::new();
        let mut s = hub.stopping();
        let mut c = hub.subscribe();
        hub.changed();
        assert!(c.has_changed().unwrap());
        c.borrow_and_update();
        hub.stop();
        s.changed().await.unwrap();
        assert!(hub.stopped());
    }
}
