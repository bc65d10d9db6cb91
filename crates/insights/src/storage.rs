//! Computing, storing and reading snapshots of the aggregates.
//!
//! The background job ([`InsightsStore::refresh`]) reads the whole population in key order, in
//! batches: the plain part of each golden profile (tier, nationality, home airport,
//! preferences), the date of birth — decrypted in memory with the customer's data key, turned
//! into an age band at once and dropped — and the bookings, ancillaries and purchases of travel
//! records. It keeps only counts per group, protects them ([`crate::model::protect`]), and
//! stores the result as one JSON document in `insights_snapshots`, with one audit record naming
//! the fields it read, in the same transaction. Pages read the newest snapshot (cached in
//! memory by id), so they cost one indexed look-up whatever the population.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use aloft_kernel::db::{now, to_db_time};
use aloft_kernel::keys::{CustomerKeys, open_fields};
use aloft_kernel::{AccessContext, Database, StorageError};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::Value;
use sqlx::Row;

use crate::labels;
use crate::model::{
    self, Cell, NOT_STATED, Order, Snapshot, TableSpec, Tally, age_band, drink_key,
};

/// Customers read per batch.
const CUSTOMER_BATCH: i64 = 2_000;
/// Travel records read per batch.
const RECORD_BATCH: i64 = 5_000;
/// Snapshots kept (the newest and the one before, for a page that read the older id).
const KEEP: i64 = 2;

/// Stores and reads snapshots; computes them.
#[derive(Clone)]
pub struct InsightsStore {
    db: Database,
    keys: Arc<dyn CustomerKeys>,
    min_group: u64,
    cache: Arc<RwLock<Option<Arc<Snapshot>>>>,
}

impl std::fmt::Debug for InsightsStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InsightsStore")
            .field("min_group", &self.min_group)
            .finish_non_exhaustive()
    }
}

/// The plain profile fields aggregated (everything else in the document is ignored).
#[derive(Debug, Default, Deserialize)]
struct Facts {
    loyalty_tier: Option<String>,
    nationality: Option<String>,
    location: Option<Location>,
    #[serde(default)]
    preferences: Preferences,
}

#[derive(Debug, Default, Deserialize)]
struct Location {
    home_airport: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Preferences {
    seat: Option<String>,
    meal: Option<String>,
    drink: Option<String>,
    #[serde(default)]
    special_service_requests: Vec<String>,
}

/// The tables, in the order pages show them.
pub mod tables {
    use super::*;

    /// Customers by loyalty tier.
    pub const TIER: TableSpec = spec(
        "population.tier",
        "Customers by loyalty tier",
        "Customers",
        None,
        Order::Key,
    );
    /// Customers by age band.
    pub const AGE: TableSpec = spec(
        "population.age_band",
        "Customers by age band",
        "Customers",
        None,
        Order::Key,
    );
    /// Customers by nationality.
    pub const NATIONALITY: TableSpec = spec(
        "population.nationality",
        "Customers by nationality",
        "Customers",
        None,
        Order::Largest,
    );
    /// Customers by home airport.
    pub const HOME_AIRPORT: TableSpec = spec(
        "population.home_airport",
        "Customers by home airport",
        "Customers",
        None,
        Order::Largest,
    );
    /// Standing special service requests.
    pub const SSR: TableSpec = spec(
        "population.ssr",
        "Standing special service requests",
        "Customers",
        None,
        Order::Largest,
    );
    /// Travellers and flights by route.
    pub const ROUTE: TableSpec = spec(
        "travel.route",
        "Routes (origin → destination)",
        "Travellers",
        Some("Flights"),
        Order::Largest,
    );
    /// Travellers and flights by cabin.
    pub const CABIN: TableSpec = spec(
        "travel.cabin",
        "Travel by cabin",
        "Travellers",
        Some("Flights"),
        Order::Key,
    );
    /// Travellers and flights by month of departure.
    pub const MONTH: TableSpec = spec(
        "travel.month",
        "Travel by month of departure",
        "Travellers",
        Some("Flights"),
        Order::Key,
    );
    /// Buyers and orders by category.
    pub const CATEGORY: TableSpec = spec(
        "retail.category",
        "Purchases by category",
        "Buyers",
        Some("Orders"),
        Order::Largest,
    );
    /// Buyers and units by product.
    pub const PRODUCT: TableSpec = spec(
        "retail.product",
        "Products sold",
        "Buyers",
        Some("Units"),
        Order::Largest,
    );
    /// Pre-ordered meals by meal code.
    pub const MEAL_ORDER: TableSpec = spec(
        "retail.meal_preorder",
        "Pre-ordered special meals",
        "Buyers",
        Some("Orders"),
        Order::Largest,
    );
    /// Stated seat preference.
    pub const SEAT: TableSpec = spec(
        "preferences.seat",
        "Seat preference",
        "Customers",
        None,
        Order::Key,
    );
    /// Stated special meal.
    pub const MEAL: TableSpec = spec(
        "preferences.meal",
        "Special meal preference",
        "Customers",
        None,
        Order::Largest,
    );
    /// Stated drink.
    pub const DRINK: TableSpec = TableSpec {
        free_text: true,
        ..spec(
            "preferences.drink",
            "Preferred drink",
            "Customers",
            None,
            Order::Largest,
        )
    };

    const fn spec(
        id: &'static str,
        title: &'static str,
        people_label: &'static str,
        volume_label: Option<&'static str>,
        order: Order,
    ) -> TableSpec {
        TableSpec {
            id,
            title,
            people_label,
            volume_label,
            order,
            free_text: false,
        }
    }
}

impl InsightsStore {
    /// A store over `db`, opening dates of birth with the customers' data keys from `keys`,
    /// suppressing groups smaller than `min_group` (at least 2).
    pub fn new(db: Database, keys: Arc<dyn CustomerKeys>, min_group: u64) -> Self {
        Self {
            db,
            keys,
            min_group: min_group.max(2),
            cache: Arc::default(),
        }
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The smallest group shown.
    pub fn min_group(&self) -> u64 {
        self.min_group
    }

    /// The newest snapshot, if any was computed. One indexed look-up of its id; the document is
    /// parsed only when the id changed.
    pub async fn latest(&self) -> Result<Option<Arc<Snapshot>>, StorageError> {
        let id: Option<String> = sqlx::query_scalar(
            "SELECT id FROM insights_snapshots ORDER BY computed_at DESC, id DESC LIMIT 1",
        )
        .fetch_optional(self.db.pool())
        .await?;
        let Some(id) = id else { return Ok(None) };
        if let Some(s) = self.cached().filter(|s| s.id == id) {
            return Ok(Some(s));
        }
        let document: Option<String> =
            sqlx::query_scalar("SELECT document FROM insights_snapshots WHERE id = $1")
                .bind(&id)
                .fetch_optional(self.db.pool())
                .await?;
        let Some(document) = document else {
            return Ok(self.cached());
        };
        let snapshot: Snapshot = serde_json::from_str(&document)
            .map_err(|_| StorageError::Corrupt(format!("insights snapshot {id}")))?;
        let snapshot = Arc::new(snapshot);
        if let Ok(mut c) = self.cache.write() {
            *c = Some(snapshot.clone());
        }
        Ok(Some(snapshot))
    }

    fn cached(&self) -> Option<Arc<Snapshot>> {
        self.cache.read().ok().and_then(|c| c.clone())
    }

    /// Computes a snapshot of the whole population and stores it (with its audit record), then
    /// deletes all but the newest two. What the background job runs.
    pub async fn refresh(&self) -> Result<Arc<Snapshot>, StorageError> {
        let started = std::time::Instant::now();
        let at = now();
        let mut agg = Aggregation::new(at.date_naive());
        self.read_customers(&mut agg).await?;
        self.read_travel(&mut agg).await?;
        let snapshot = agg.finish(uuid::Uuid::now_v7().to_string(), at, self.min_group);
        let document = serde_json::to_string(&snapshot)
            .map_err(|e| StorageError::Corrupt(format!("insights snapshot: {e}")))?;
        let ctx = AccessContext::system("insights");
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO insights_snapshots (id, computed_at, min_group, document) VALUES ($1, $2, $3, $4)",
        )
        .bind(&snapshot.id)
        .bind(to_db_time(at))
        .bind(self.min_group as i64)
        .bind(&document)
        .execute(tx.conn())
        .await?;
        sqlx::query(
            "DELETE FROM insights_snapshots WHERE id NOT IN \
             (SELECT id FROM insights_snapshots ORDER BY computed_at DESC, id DESC LIMIT $1)",
        )
        .bind(KEEP)
        .execute(tx.conn())
        .await?;
        tx.audit(&[ctx.entry(
            crate::events::audit::SNAPSHOT_COMPUTED,
            "customer_population",
            Some(snapshot.id.clone()),
            FIELDS_READ.iter().map(|f| (*f).to_owned()).collect(),
            "success",
        )])
        .await?;
        tx.commit().await?;
        tracing::info!(
            snapshot = %snapshot.id,
            customers = agg.people,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "insights snapshot computed"
        );
        let snapshot = Arc::new(snapshot);
        if let Ok(mut c) = self.cache.write() {
            *c = Some(snapshot.clone());
        }
        Ok(snapshot)
    }

    async fn read_customers(&self, agg: &mut Aggregation) -> Result<(), StorageError> {
        let mut after = String::new();
        loop {
            let rows = sqlx::query(
                "SELECT id, profile, sealed FROM customers WHERE merged_into IS NULL AND id > $1 \
                 ORDER BY id LIMIT $2",
            )
            .bind(&after)
            .bind(CUSTOMER_BATCH)
            .fetch_all(self.db.pool())
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get("id")?;
            let mut batch = Vec::with_capacity(rows.len());
            for row in &rows {
                let id: String = row.try_get("id")?;
                let profile: String = row.try_get("profile")?;
                let sealed: Option<String> = row.try_get("sealed")?;
                // Only the sealed date of birth is taken; the other sealed fields stay sealed.
                let dob = sealed
                    .as_deref()
                    .and_then(|s| serde_json::from_str::<serde_json::Map<String, Value>>(s).ok())
                    .and_then(|mut m| m.remove("date_of_birth"));
                batch.push((id, profile, dob));
            }
            let wanted: Vec<uuid::Uuid> = batch
                .iter()
                .filter(|(_, _, dob)| dob.is_some())
                .filter_map(|(id, _, _)| uuid::Uuid::try_parse(id).ok())
                .collect();
            let keys = if wanted.is_empty() {
                HashMap::new()
            } else {
                self.keys.data_keys(&wanted).await?
            };
            aloft_kernel::cpu::bound(batch.len(), || {
                for (id, profile, dob) in batch {
                    let facts: Facts = serde_json::from_str(&profile).unwrap_or_default();
                    let born = dob.and_then(|ct| {
                        let key = keys.get(&uuid::Uuid::try_parse(&id).ok()?)?;
                        let mut doc = Value::Object(serde_json::Map::new());
                        let sealed = serde_json::Map::from_iter([("date_of_birth".to_owned(), ct)]);
                        open_fields(key, &id, &mut doc, sealed).ok()?;
                        doc.get("date_of_birth")
                            .and_then(Value::as_str)
                            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
                    });
                    agg.customer(&id, &facts, born);
                }
            });
        }
        Ok(())
    }

    async fn read_travel(&self, agg: &mut Aggregation) -> Result<(), StorageError> {
        let mut after = String::new();
        loop {
            let rows = sqlx::query(
                "SELECT id, customer_id, kind, document FROM travel_records \
                 WHERE id > $1 AND kind IN ('booking', 'ancillary', 'purchase') \
                 AND customer_id IS NOT NULL ORDER BY id LIMIT $2",
            )
            .bind(&after)
            .bind(RECORD_BATCH)
            .fetch_all(self.db.pool())
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get("id")?;
            let mut batch = Vec::with_capacity(rows.len());
            for row in &rows {
                batch.push((
                    row.try_get::<String, _>("customer_id")?,
                    row.try_get::<String, _>("kind")?,
                    row.try_get::<String, _>("document")?,
                ));
            }
            aloft_kernel::cpu::bound(batch.len(), || {
                for (customer, kind, document) in batch {
                    if let Ok(doc) = serde_json::from_str::<Value>(&document) {
                        agg.record(&customer, &kind, &doc);
                    }
                }
            });
        }
        Ok(())
    }
}

/// The fields the job reads, as its audit record names them.
const FIELDS_READ: &[&str] = &[
    "loyalty_tier",
    "nationality",
    "location.home_airport",
    "date_of_birth",
    "preferences",
    "travel_records.booking",
    "travel_records.ancillary",
    "travel_records.purchase",
];

/// Running counts while the population streams by.
struct Aggregation {
    today: NaiveDate,
    /// Customer id → an index used only while counting (never stored).
    index: HashMap<String, u32>,
    people: u64,
    travellers: HashSet<u32>,
    buyers: HashSet<u32>,
    flights: u64,
    tallies: HashMap<&'static str, Tally>,
}

impl Aggregation {
    fn new(today: NaiveDate) -> Self {
        Self {
            today,
            index: HashMap::new(),
            people: 0,
            travellers: HashSet::new(),
            buyers: HashSet::new(),
            flights: 0,
            tallies: HashMap::new(),
        }
    }

    fn person(&mut self, id: &str) -> u32 {
        let next = self.index.len() as u32;
        *self.index.entry(id.to_owned()).or_insert(next)
    }

    fn add_detailed(
        &mut self,
        table: &TableSpec,
        key: &str,
        label: impl FnOnce() -> (String, Option<String>),
        person: u32,
        volume: u64,
    ) {
        self.tallies
            .entry(table.id)
            .or_default()
            .add_detailed(key, label, person, volume);
    }

    fn add(
        &mut self,
        table: &TableSpec,
        key: &str,
        label: impl FnOnce() -> String,
        person: u32,
        volume: u64,
    ) {
        self.tallies
            .entry(table.id)
            .or_default()
            .add(key, label, person, volume);
    }

    fn customer(&mut self, id: &str, f: &Facts, born: Option<NaiveDate>) {
        use tables::*;
        let p = self.person(id);
        self.people += 1;
        let not_stated = || "Not stated".to_owned();
        match f.loyalty_tier.as_deref().and_then(labels::tier) {
            Some((key, label)) => self.add(&TIER, key, || label.into(), p, 0),
            None => self.add(&TIER, NOT_STATED, not_stated, p, 0),
        }
        match born {
            Some(b) => {
                let (key, label) = age_band(b, self.today);
                self.add(&AGE, key, || label.into(), p, 0);
            }
            None => self.add(&AGE, NOT_STATED, not_stated, p, 0),
        }
        match f.nationality.as_deref() {
            Some(c) => self.add(&NATIONALITY, c, || labels::country(c), p, 0),
            None => self.add(&NATIONALITY, NOT_STATED, not_stated, p, 0),
        }
        match f.location.as_ref().and_then(|l| l.home_airport.as_deref()) {
            Some(a) => self.add(&HOME_AIRPORT, a, || labels::airport(a), p, 0),
            None => self.add(&HOME_AIRPORT, NOT_STATED, not_stated, p, 0),
        }
        for ssr in &f.preferences.special_service_requests {
            self.add(&SSR, ssr, || labels::ssr(ssr), p, 0);
        }
        match f.preferences.seat.as_deref().and_then(labels::seat) {
            Some((key, label)) => self.add(&SEAT, key, || label.into(), p, 0),
            None => self.add(&SEAT, NOT_STATED, not_stated, p, 0),
        }
        match f.preferences.meal.as_deref() {
            Some(m) => self.add(&MEAL, m, || labels::meal(m), p, 0),
            None => self.add(&MEAL, NOT_STATED, || "No special meal".into(), p, 0),
        }
        if let Some(d) = f.preferences.drink.as_deref().and_then(drink_key) {
            let label = d.clone();
            self.add(&DRINK, &d, || label, p, 0);
        }
    }

    fn record(&mut self, customer: &str, kind: &str, doc: &Value) {
        use tables::*;
        let p = self.person(customer);
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        match kind {
            "booking" => {
                for s in doc
                    .get("segments")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if s.get("status").and_then(Value::as_str) == Some("cancelled") {
                        continue;
                    }
                    let (Some(from), Some(to)) = (text(s, "origin"), text(s, "destination")) else {
                        continue;
                    };
                    self.travellers.insert(p);
                    self.flights += 1;
                    let route = format!("{from}-{to}");
                    self.add_detailed(&ROUTE, &route, || labels::route(&from, &to), p, 1);
                    if let Some((key, label)) = text(s, "cabin").as_deref().and_then(labels::cabin)
                    {
                        self.add(&CABIN, key, || label.into(), p, 1);
                    }
                    if let Some(t) = text(s, "scheduled_departure_utc")
                        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                    {
                        let (key, label) = model::month(t.with_timezone(&Utc));
                        self.add(&MONTH, &key, || label, p, 1);
                    }
                }
            }
            "ancillary" => {
                let Some(kind) = text(doc, "ancillary_type") else {
                    return;
                };
                self.buyers.insert(p);
                let (key, label) = labels::ancillary(&kind);
                self.add(&CATEGORY, &key, || label, p, 1);
                if kind == "meal"
                    && let Some(code) = doc
                        .get("attributes")
                        .and_then(|a| a.get("meal_code"))
                        .and_then(Value::as_str)
                {
                    let code = code.to_ascii_uppercase();
                    self.add(&MEAL_ORDER, &code, || labels::meal(&code), p, 1);
                }
            }
            "purchase" => {
                let channel = text(doc, "channel").unwrap_or_default();
                self.buyers.insert(p);
                let (key, label) = labels::channel(&channel);
                self.add(&CATEGORY, &key, || label, p, 1);
                for item in doc
                    .get("items")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let Some(sku) = text(item, "sku") else {
                        continue;
                    };
                    let units = item.get("quantity").and_then(Value::as_u64).unwrap_or(1);
                    let description = text(item, "description").unwrap_or_default();
                    self.add(
                        &PRODUCT,
                        &sku,
                        || labels::product(&sku, &description),
                        p,
                        units,
                    );
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, id: String, at: DateTime<Utc>, k: u64) -> Snapshot {
        use tables::*;
        let all = [
            TIER,
            AGE,
            NATIONALITY,
            HOME_AIRPORT,
            SSR,
            ROUTE,
            CABIN,
            MONTH,
            CATEGORY,
            PRODUCT,
            MEAL_ORDER,
            SEAT,
            MEAL,
            DRINK,
        ];
        let tables = all
            .iter()
            .map(|spec| {
                self.tallies
                    .remove(spec.id)
                    .unwrap_or_default()
                    .into_table(spec, k)
            })
            .collect();
        Snapshot {
            id,
            computed_at: at,
            min_group: k,
            population: Cell::headline(self.people, k),
            travellers: Cell::headline(self.travellers.len() as u64, k),
            flights: if (self.travellers.len() as u64) < k {
                Cell::FewerThan(k)
            } else {
                Cell::Count(self.flights)
            },
            buyers: Cell::headline(self.buyers.len() as u64, k),
            tables,
        }
    }
}
