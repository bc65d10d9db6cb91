//! Segment storage: the facts table rules are evaluated on, and the count preview.

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::Row;

use aloft_kernel::{Database, StorageError};

use crate::derive::Derivation;
use crate::segment::{Bind, Rule, compile};

/// One customer's segmentable facts (a row of `analytics_customer_facts` and its lists).
/// Codes, counts and instants only: no name, contact or document ever lands here.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerFacts {
    /// The customer.
    pub customer_id: String,
    /// Home airport (IATA).
    pub home_airport: Option<String>,
    /// Nationality (ISO 3166 alpha-2).
    pub nationality: Option<String>,
    /// Age band (`35-44`).
    pub age_band: Option<String>,
    /// Preferred language.
    pub language: Option<String>,
    /// Loyalty tier code.
    pub tier: Option<String>,
    /// When the tier last changed, as analytics saw it change (a facts row written with
    /// another tier than the row it replaces); `None` until a change is seen.
    pub tier_changed_at: Option<DateTime<Utc>>,
    /// The tier before that change (`None` when there was none, or no change was seen).
    pub previous_tier: Option<String>,
    /// Flights in the last 12 months.
    pub flights_12m: i64,
    /// Flights in the last 90 days.
    pub flights_90d: i64,
    /// The last flight's departure.
    pub last_flight_at: Option<DateTime<Utc>>,
    /// Cabin flown most.
    pub main_cabin: Option<String>,
    /// Spend in the last 12 months, minor units.
    pub spend_12m_minor: i64,
    /// Disruptions (delays ≥ 3 h, cancellations, misconnections, mishandled bags) in 12 months.
    pub disruptions_12m: i64,
    /// Meal preference code.
    pub meal_preference: Option<String>,
    /// Seat preference code.
    pub seat_preference: Option<String>,
    /// Interactions in the last 90 days.
    pub interactions_90d: i64,
    /// Negative texts in the last 90 days.
    pub negative_90d: i64,
    /// Sentiment label of the latest text.
    pub last_sentiment: Option<String>,
    /// Open cases.
    pub open_cases: i64,
    /// The purposes the customer may be used for now: the privacy register's consent mask
    /// (`aloft_privacy::store::allowed_mask_sql`; bit [`aloft_privacy::model::Purpose::bit`]) —
    /// consent given and processing not restricted. Read from the register when derived and
    /// computed again by the database when the row is written (`consent_allowed`, migration
    /// 0047), so a rule's consent condition means what an audience's consent check means.
    pub consent_allowed: i64,
    /// Routes flown in 24 months (`FRA-JFK`).
    pub routes: Vec<String>,
    /// Airports flown from or to in 24 months.
    pub airports: Vec<String>,
}

impl CustomerFacts {
    /// Whether the customer may be used for the purpose `code` now (consent given, processing
    /// not restricted): the mask's bit. Unknown purposes allow nothing.
    pub fn allows(&self, code: &str) -> bool {
        aloft_privacy::purpose(code).is_some_and(|p| self.consent_allowed & p.bit() != 0)
    }
}

/// What the database settled when a facts row was written: the consent mask computed from the
/// privacy register, and the tier movement carried over from the row it replaced.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    /// The row's `consent_allowed`.
    pub consent_allowed: i64,
    /// The tier before the last change seen.
    pub previous_tier: Option<String>,
    /// When that change was seen.
    pub tier_changed_at: Option<DateTime<Utc>>,
}

impl Written {
    /// Puts what was settled into `f` (so membership is decided on the row as written).
    pub fn apply(&self, f: &mut CustomerFacts) {
        f.consent_allowed = self.consent_allowed;
        f.previous_tier.clone_from(&self.previous_tier);
        f.tier_changed_at = self.tier_changed_at;
    }
}

/// The stored tier of a facts row and its last movement: (tier, previous tier, changed at).
type StoredTier = (Option<String>, Option<String>, Option<DateTime<Utc>>);

/// The tier movement a new facts row carries (pure): a tier other than the stored row's is a
/// change seen `now`, from the stored tier; the same tier keeps the stored movement. A row
/// without a tier (a first row, or the bare row an offer creates) is no "previous" tier: the
/// first tier seen is not a change. This is the only tier history Aloft keeps — the profile
/// holds the current tier and the change log names fields, not values — so the churn model
/// reads it for tier movement.
pub fn tier_movement(
    stored: Option<&StoredTier>,
    tier: Option<&str>,
    now: DateTime<Utc>,
) -> (Option<String>, Option<DateTime<Utc>>) {
    match stored {
        Some((Some(old), _, _)) if Some(old.as_str()) != tier => (Some(old.clone()), Some(now)),
        Some((_, previous, at)) => (previous.clone(), *at),
        None => (None, None),
    }
}

fn stored_tier(row: &sqlx::any::AnyRow) -> Result<StoredTier, StorageError> {
    let at: Option<String> = row.try_get("tier_changed_at")?;
    Ok((
        row.try_get("tier")?,
        row.try_get("previous_tier")?,
        at.and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc)),
    ))
}

/// A list as the facts row keeps it: the codes between bars (`|FRA-JFK|JFK-FRA|`), upper case,
/// each once, in order; `|` when empty (so `LIKE '%|X|%'` never meets a NULL).
pub fn list_column(values: &[String]) -> String {
    let codes: std::collections::BTreeSet<String> =
        values.iter().map(|v| v.to_ascii_uppercase()).collect();
    let mut out = String::from("|");
    for c in codes {
        out.push_str(&c);
        out.push('|');
    }
    out
}

/// The consent mask of the customer named by SQL `customer` (a column or a parameter), as
/// privacy defines it. Two placeholders because SQLite binds positionally.
fn mask_sql(customer_a: &str, customer_b: &str) -> String {
    aloft_privacy::store::allowed_mask_sql(customer_a, customer_b)
}

fn instant(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// Reads and writes segment facts; counts segments.
#[derive(Clone)]
pub struct SegmentStore {
    db: Database,
}

impl SegmentStore {
    /// A store on `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// The database it reads.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Replaces the facts of these customers (row and lists) in one transaction.
    pub async fn put_facts(
        &self,
        facts: &[CustomerFacts],
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        self.write_facts(facts, now, false).await.map(|_| ())
    }

    /// Derives every customer's facts again from the profiles, the travel history and the
    /// privacy register's consent mask (restrictions and objections included), and replaces the whole facts table with them in one
    /// transaction (readers see the old facts until it commits), then reconciles every saved
    /// segment's membership with them. Returns the customers written.
    pub async fn rebuild(&self, now: DateTime<Utc>) -> Result<usize, StorageError> {
        let mut d = Derivation::new(now);
        let mut after = String::new();
        loop {
            let rows = sqlx::query(
                "SELECT id, profile FROM customers WHERE merged_into IS NULL AND id > $1 \
                 ORDER BY id LIMIT 2000",
            )
            .bind(&after)
            .fetch_all(self.db.pool())
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get("id")?;
            for row in &rows {
                let id: String = row.try_get("id")?;
                let profile: String = row.try_get("profile")?;
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&profile) {
                    d.profile(&id, &v);
                }
            }
        }
        let mut after = String::new();
        loop {
            let rows = sqlx::query(
                "SELECT id, customer_id, kind, occurred_at, document FROM travel_records \
                 WHERE id > $1 AND kind IN ('booking', 'interaction', 'feedback') \
                 AND customer_id IS NOT NULL ORDER BY id LIMIT 2000",
            )
            .bind(&after)
            .fetch_all(self.db.pool())
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get("id")?;
            for row in &rows {
                let customer: String = row.try_get("customer_id")?;
                let kind: String = row.try_get("kind")?;
                let occurred: String = row.try_get("occurred_at")?;
                let document: String = row.try_get("document")?;
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&document) {
                    d.record(&customer, &kind, &occurred, &v);
                }
            }
        }
        // Only people with some consent given can have a bit set; their mask is privacy's own
        // expression (a restricted person keeps only what a law requires).
        let masks = sqlx::query(&format!(
            "SELECT c.customer_id, {} AS allowed FROM \
             (SELECT DISTINCT customer_id FROM privacy_consent_state WHERE granted = 1) c",
            mask_sql("c.customer_id", "c.customer_id")
        ))
        .fetch_all(self.db.pool())
        .await?;
        for row in &masks {
            let customer: String = row.try_get("customer_id")?;
            d.consent_allowed(&customer, row.try_get("allowed")?);
        }
        let mut facts = d.finish();
        // The masks as the database computed them while writing (under the lock that orders
        // facts writes against consent changes) are the ones membership is decided on.
        let written = self.write_facts(&facts, now, true).await?;
        for (f, w) in facts.iter_mut().zip(written) {
            w.apply(f);
        }
        self.reconcile(&facts, now).await?;
        Ok(facts.len())
    }

    /// Derives one customer's facts now, from their profile, travel history and consent (what
    /// the rebuild derives for everyone, read for one: a next-best-action request or an event
    /// about them sees the current state, not the last rebuild's). `None` if no such live
    /// customer (unknown or merged into another).
    pub async fn derive_one(
        &self,
        customer: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<CustomerFacts>, StorageError> {
        Ok(self
            .derive_one_with_consents(customer, now)
            .await?
            .map(|(f, _)| f))
    }

    /// Derives these customers' facts now, as [`Self::derive_one`] does for one, with one read
    /// per source (profiles, travel records, consent masks) for every [`IDS_PER_STATEMENT`]
    /// customers instead of a handful per customer: the outbox tail derives a few hundred
    /// customers a poll (issue 22). Customers unknown or merged away are left out; the rest
    /// come in customer id order.
    pub async fn derive_many(
        &self,
        customers: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<CustomerFacts>, StorageError> {
        let b = self.db.backend();
        let mut d = Derivation::new(now);
        for ids in customers.chunks(IDS_PER_STATEMENT) {
            let list = placeholders(b, 1, ids.len());
            let sql = format!(
                "SELECT id, profile FROM customers WHERE merged_into IS NULL AND id IN ({list})"
            );
            let mut q = sqlx::query(&sql);
            for id in ids {
                q = q.bind(id.as_str());
            }
            let mut live = std::collections::HashSet::new();
            for row in q.fetch_all(self.db.pool()).await? {
                let id: String = row.try_get("id")?;
                let profile: String = row.try_get("profile")?;
                let profile =
                    serde_json::from_str::<serde_json::Value>(&profile).unwrap_or_default();
                d.profile(&id, &profile);
                live.insert(id);
            }
            if live.is_empty() {
                continue;
            }
            let sql = format!(
                "SELECT customer_id, kind, occurred_at, document FROM travel_records \
                 WHERE customer_id IN ({list}) AND kind IN ('booking', 'interaction', 'feedback')"
            );
            let mut q = sqlx::query(&sql);
            for id in ids {
                q = q.bind(id.as_str());
            }
            for row in q.fetch_all(self.db.pool()).await? {
                let customer: String = row.try_get("customer_id")?;
                // A record of someone merged away makes no facts (as for one customer).
                if !live.contains(&customer) {
                    continue;
                }
                let kind: String = row.try_get("kind")?;
                let occurred: String = row.try_get("occurred_at")?;
                let document: String = row.try_get("document")?;
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&document) {
                    d.record(&customer, &kind, &occurred, &v);
                }
            }
            let sql = format!(
                "SELECT c.id, {} AS allowed FROM customers c WHERE c.id IN ({list})",
                mask_sql("c.id", "c.id")
            );
            let mut q = sqlx::query(&sql);
            for id in ids {
                q = q.bind(id.as_str());
            }
            for row in q.fetch_all(self.db.pool()).await? {
                let customer: String = row.try_get("id")?;
                d.consent_allowed(&customer, row.try_get("allowed")?);
            }
        }
        Ok(d.finish())
    }

    /// [`Self::derive_one`] and the consents it read ([`Self::consents_of`]), for a caller that
    /// needs both (the next best action) without reading the consents twice.
    pub async fn derive_one_with_consents(
        &self,
        customer: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(CustomerFacts, Vec<(String, String)>)>, StorageError> {
        let Some(row) =
            sqlx::query("SELECT profile FROM customers WHERE id = $1 AND merged_into IS NULL")
                .bind(customer)
                .fetch_optional(self.db.pool())
                .await?
        else {
            return Ok(None);
        };
        let mut d = Derivation::new(now);
        let profile: String = row.try_get("profile")?;
        let profile = serde_json::from_str::<serde_json::Value>(&profile).unwrap_or_default();
        d.profile(customer, &profile);
        let rows = sqlx::query(
            "SELECT kind, occurred_at, document FROM travel_records \
             WHERE customer_id = $1 AND kind IN ('booking', 'interaction', 'feedback')",
        )
        .bind(customer)
        .fetch_all(self.db.pool())
        .await?;
        for row in &rows {
            let kind: String = row.try_get("kind")?;
            let occurred: String = row.try_get("occurred_at")?;
            let document: String = row.try_get("document")?;
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&document) {
                d.record(customer, &kind, &occurred, &v);
            }
        }
        let b = self.db.backend();
        let mask: i64 = sqlx::query_scalar(&format!(
            "SELECT {} AS allowed",
            mask_sql(&b.param(1), &b.param(2))
        ))
        .bind(customer)
        .bind(customer)
        .fetch_one(self.db.pool())
        .await?;
        d.consent_allowed(customer, mask);
        let consents = self.consents_of(customer).await?;
        Ok(d.finish().pop().map(|f| (f, consents)))
    }

    /// The consents a customer has given now, as `(purpose, channel)` codes of the privacy
    /// purpose register (withdrawn ones and ones never asked are absent), read with the
    /// restriction in one query.
    ///
    /// A customer who may not be profiled at all gets a marker alone, so the next best action
    /// offers nothing on any channel and says why ([`crate::nba::Consents::profiling`]):
    /// [`crate::nba::RESTRICTED`] while their processing is restricted (Art. 18), else
    /// [`crate::nba::NO_PROFILING`] when they withdrew personalisation (an objection to
    /// profiling withdraws it). Without personalisation given, the list simply lacks it.
    pub async fn consents_of(&self, customer: &str) -> Result<Vec<(String, String)>, StorageError> {
        let rows = sqlx::query(
            "SELECT purpose, channel, granted FROM privacy_consent_state WHERE customer_id = $1 \
             UNION ALL SELECT 'processing', 'restricted', 2 FROM privacy_restrictions \
             WHERE customer_id = $2 AND lifted_at IS NULL ORDER BY 1, 2",
        )
        .bind(customer)
        .bind(customer)
        .fetch_all(self.db.pool())
        .await?;
        let mut given = Vec::new();
        let mut marker = None;
        for r in &rows {
            let purpose: String = r.try_get("purpose")?;
            let granted: i64 = r.try_get("granted")?;
            if granted == 2 {
                marker = Some(crate::nba::RESTRICTED);
            } else if granted == 1 {
                given.push((purpose, r.try_get("channel")?));
            } else if purpose == crate::nba::NO_PROFILING.0 && marker.is_none() {
                marker = Some(crate::nba::NO_PROFILING);
            }
        }
        if let Some((p, c)) = marker {
            return Ok(vec![(p.to_owned(), c.to_owned())]);
        }
        Ok(given)
    }

    async fn write_facts(
        &self,
        facts: &[CustomerFacts],
        now: DateTime<Utc>,
        replace_all: bool,
    ) -> Result<Vec<Written>, StorageError> {
        // The database's write transaction: on SQLite it waits for the process's write slot
        // like every other writer, instead of meeting their locks.
        let mut tx = self.db.begin_write().await?;
        let written = write_facts_on(tx.conn(), self.db.backend(), facts, now, replace_all).await?;
        tx.commit().await?;
        Ok(written)
    }

    /// How many customers a rule selects now (the segment builder's live count).
    pub async fn count(&self, rule: &Rule, now: DateTime<Utc>) -> Result<u64, StorageError> {
        let b = self.db.backend();
        let c = compile(rule, now, 1, &|n| b.param(n));
        let sql = format!(
            "SELECT COUNT(*) AS n FROM analytics_customer_facts f WHERE {}",
            c.sql
        );
        let mut q = sqlx::query(&sql);
        for bind in &c.binds {
            q = match bind {
                Bind::Text(s) => q.bind(s.clone()),
                Bind::Int(i) => q.bind(*i),
            };
        }
        let row = q.fetch_one(self.db.pool()).await?;
        let n: i64 = row.try_get("n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// Orders this transaction's writes of facts rows against consent changes (PostgreSQL; SQLite
/// has one writer): the exclusive advisory lock [`aloft_privacy::store::FACTS_CONSENT_LOCK`],
/// which consent writers take shared before they update a facts row's `consent_allowed`. Taken
/// before the first facts row is touched (a transaction that locks a facts row first and then
/// waits here could deadlock with a consent change); held to commit.
pub(crate) async fn lock_against_consent_changes(
    conn: &mut sqlx::AnyConnection,
    b: aloft_kernel::Backend,
) -> Result<(), StorageError> {
    if b == aloft_kernel::Backend::Postgres {
        sqlx::query(&format!(
            "SELECT pg_advisory_xact_lock({})",
            aloft_privacy::store::FACTS_CONSENT_LOCK
        ))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// How many ids an `IN (…)` list of the keyed reads and deletes carries (well inside both
/// backends' limits on bound values).
const IDS_PER_STATEMENT: usize = 500;
/// How many facts rows one multi-row `INSERT` carries (26 values each).
const FACTS_PER_STATEMENT: usize = 100;
/// How many list rows (routes, airports) one multi-row `INSERT` carries (2 values each).
const LIST_ROWS_PER_STATEMENT: usize = 500;

/// Picks one of a facts row's lists (routes or airports).
type ListOf = fn(&CustomerFacts) -> &Vec<String>;

/// `$first, …` (or `?, …`): `n` placeholders numbered from `first`.
pub(crate) fn placeholders(b: aloft_kernel::Backend, first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| b.param(i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Deletes these customers' facts rows and lists on `conn` (set-based: one statement per table
/// and [`IDS_PER_STATEMENT`] customers); the deleted rows' tiers go into `stored` (the
/// `DELETE … RETURNING` is a write first, see [`write_facts_on`]).
pub(crate) async fn forget_facts_on(
    conn: &mut sqlx::AnyConnection,
    b: aloft_kernel::Backend,
    customers: &[&str],
    stored: &mut std::collections::HashMap<String, StoredTier>,
) -> Result<(), StorageError> {
    for ids in customers.chunks(IDS_PER_STATEMENT) {
        let list = placeholders(b, 1, ids.len());
        let sql = format!(
            "DELETE FROM analytics_customer_facts WHERE customer_id IN ({list}) \
             RETURNING customer_id, tier, previous_tier, tier_changed_at"
        );
        let mut q = sqlx::query(&sql);
        for id in ids {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            stored.insert(row.try_get("customer_id")?, stored_tier(&row)?);
        }
        for table in ["analytics_customer_routes", "analytics_customer_airports"] {
            let sql = format!("DELETE FROM {table} WHERE customer_id IN ({list})");
            let mut q = sqlx::query(&sql);
            for id in ids {
                q = q.bind(*id);
            }
            q.execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// Writes facts rows on `conn` (inside the caller's transaction): every table replaced when
/// `replace_all`, else these customers' rows. Returns what each row settled (consent mask,
/// tier movement), in order. Set-based: the old rows go in one `DELETE` per
/// [`IDS_PER_STATEMENT`] customers, the new ones in multi-row `INSERT`s — the outbox tail
/// writes a few hundred customers per transaction at 2,000 events/s (issue 22), and a
/// statement per customer and table did not keep up (BENCHMARKS.md).
pub(crate) async fn write_facts_on(
    conn: &mut sqlx::AnyConnection,
    b: aloft_kernel::Backend,
    facts: &[CustomerFacts],
    now: DateTime<Utc>,
    replace_all: bool,
) -> Result<Vec<Written>, StorageError> {
    lock_against_consent_changes(&mut *conn, b).await?;
    // The stored tier comes back from the DELETE that replaces the row (RETURNING): a write
    // first, so a SQLite transaction never reads and then upgrades to a writer (which fails at
    // once with SQLITE_BUSY_SNAPSHOT instead of waiting for the lock).
    let mut stored: std::collections::HashMap<String, StoredTier> = Default::default();
    if replace_all {
        // Streamed, and only rows that carry a tier or a movement kept: the rebuild replaces
        // every row (a million here is a million rows returned).
        let sql = "DELETE FROM analytics_customer_facts \
                   RETURNING customer_id, tier, previous_tier, tier_changed_at";
        let mut rows = sqlx::query(sql).fetch(&mut *conn);
        while let Some(row) = futures_util::TryStreamExt::try_next(&mut rows).await? {
            let tier = stored_tier(&row)?;
            if tier.0.is_some() || tier.1.is_some() || tier.2.is_some() {
                stored.insert(row.try_get("customer_id")?, tier);
            }
        }
        drop(rows);
        for table in ["analytics_customer_routes", "analytics_customer_airports"] {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut *conn)
                .await?;
        }
    } else {
        let ids: Vec<&str> = facts.iter().map(|f| f.customer_id.as_str()).collect();
        forget_facts_on(&mut *conn, b, &ids, &mut stored).await?;
    }
    // The consent mask is computed here, from the privacy register as committed, never from
    // what was derived earlier outside the transaction (see `lock_against_consent_changes`).
    // `consent_marketing_email` (migration 0030) is kept for readers of the table; rules read
    // the mask. The lists are also kept on the row (migration 0055), so a rule on a route is a
    // test of the row, not a join; so is the tier movement (`tier_movement`).
    let head = "INSERT INTO analytics_customer_facts (customer_id, home_airport, nationality, \
                age_band, language, tier, tier_changed_at, flights_12m, flights_90d, \
                last_flight_at, main_cabin, spend_12m_minor, disruptions_12m, meal_preference, \
                seat_preference, interactions_90d, negative_90d, last_sentiment, open_cases, \
                consent_marketing_email, updated_at, routes_list, airports_list, previous_tier, \
                consent_allowed) VALUES ";
    let mut written = Vec::with_capacity(facts.len());
    for chunk in facts.chunks(FACTS_PER_STATEMENT) {
        // A movement the caller states (`put_facts` with `tier_changed_at`) is kept as given;
        // derived facts never state one, so theirs is worked out against the stored row.
        let moves: Vec<(Option<String>, Option<DateTime<Utc>>)> = chunk
            .iter()
            .map(|f| match f.tier_changed_at {
                Some(at) => (f.previous_tier.clone(), Some(at)),
                None => tier_movement(stored.get(&f.customer_id), f.tier.as_deref(), now),
            })
            .collect();
        let mut sql = String::from(head);
        for i in 0..chunk.len() {
            let first = i * 26 + 1;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "({}, {})",
                placeholders(b, first, 24),
                mask_sql(&b.param(first + 24), &b.param(first + 25))
            ));
        }
        sql.push_str(" RETURNING customer_id, consent_allowed");
        let mut q = sqlx::query(&sql);
        for (f, (previous_tier, tier_changed_at)) in chunk.iter().zip(&moves) {
            q = q
                .bind(&f.customer_id)
                .bind(&f.home_airport)
                .bind(&f.nationality)
                .bind(&f.age_band)
                .bind(&f.language)
                .bind(&f.tier)
                .bind(instant(*tier_changed_at))
                .bind(f.flights_12m)
                .bind(f.flights_90d)
                .bind(instant(f.last_flight_at))
                .bind(&f.main_cabin)
                .bind(f.spend_12m_minor)
                .bind(f.disruptions_12m)
                .bind(&f.meal_preference)
                .bind(&f.seat_preference)
                .bind(f.interactions_90d)
                .bind(f.negative_90d)
                .bind(&f.last_sentiment)
                .bind(f.open_cases)
                .bind(i64::from(f.allows("marketing_email")))
                .bind(instant(Some(now)))
                .bind(list_column(&f.routes))
                .bind(list_column(&f.airports))
                .bind(previous_tier)
                .bind(&f.customer_id)
                .bind(&f.customer_id);
        }
        // RETURNING gives no order: the masks are matched back by customer.
        let mut masks = std::collections::HashMap::with_capacity(chunk.len());
        for row in q.fetch_all(&mut *conn).await? {
            let customer: String = row.try_get("customer_id")?;
            let mask: i64 = row.try_get("consent_allowed")?;
            masks.insert(customer, mask);
        }
        for (f, (previous_tier, tier_changed_at)) in chunk.iter().zip(moves) {
            written.push(Written {
                consent_allowed: masks.get(&f.customer_id).copied().unwrap_or(0),
                previous_tier,
                tier_changed_at,
            });
        }
        let lists: [(&str, ListOf); 2] = [
            ("analytics_customer_routes", |f| &f.routes),
            ("analytics_customer_airports", |f| &f.airports),
        ];
        for (table, pick) in lists {
            let mut rows: Vec<(&str, &str)> = Vec::new();
            for f in chunk {
                let mut seen = std::collections::BTreeSet::new();
                rows.extend(
                    pick(f)
                        .iter()
                        .filter(|v| seen.insert(v.as_str()))
                        .map(|v| (f.customer_id.as_str(), v.as_str())),
                );
            }
            for part in rows.chunks(LIST_ROWS_PER_STATEMENT) {
                let sql = format!(
                    "INSERT INTO {table} (customer_id, value) VALUES {}",
                    b.values_rows(part.len(), 2)
                );
                let mut q = sqlx::query(&sql);
                for (c, v) in part {
                    q = q.bind(*c).bind(*v);
                }
                q.execute(&mut *conn).await?;
            }
        }
        let ids: Vec<&str> = chunk.iter().map(|f| f.customer_id.as_str()).collect();
        sync_member_masks(&mut *conn, b, &ids).await?;
    }
    Ok(written)
}

/// Sets these customers' segment member rows' consent mask to their facts row's (none without
/// one), on `conn` inside the transaction that wrote the facts rows — the invariant migration
/// 0058 states, which an audience relies on to release only consenting members
/// ([`crate::audience::Audiences::split`]). Only rows whose mask differs are written.
pub(crate) async fn sync_member_masks(
    conn: &mut sqlx::AnyConnection,
    b: aloft_kernel::Backend,
    customers: &[&str],
) -> Result<(), StorageError> {
    for ids in customers.chunks(IDS_PER_STATEMENT) {
        let mask = crate::membership::member_mask_sql("analytics_segment_members.customer_id");
        let sql = format!(
            "UPDATE analytics_segment_members SET consent_allowed = {mask} \
             WHERE customer_id IN ({}) AND consent_allowed <> {mask}",
            placeholders(b, 1, ids.len())
        );
        let mut q = sqlx::query(&sql);
        for id in ids {
            q = q.bind(*id);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}
