//! Where the model meets the database: customers' histories read from the travel records,
//! the profiles and the compensation proposals; models stored with their event and audit
//! record in one transaction; a customer's score computed from the newest model and audited
//! before it is returned.
//!
//! What is read, and why nothing sealed is: bookings (segments: departure, status, delay),
//! feedback (kind and rating — the text is sealed and stays so; the stated rating is the
//! sentiment the model uses), interactions (their instants only), purchases and priced
//! ancillaries (amounts in euros), the profile's loyalty tier, the tier before its last change
//! and when it changed (`analytics_customer_facts.previous_tier` / `tier_changed_at`, which
//! analytics records as it sees a profile's tier move: the only tier history Aloft keeps — the
//! profile holds the current tier, the change log names fields, not values), and approved
//! compensation proposals (a disruption put right).
//!
//! Consent where the data is used (issue 21, item 2): training is an analysis of the
//! population, the privacy register's `analytics` purpose ([`TRAINING_PURPOSE`]: consent or
//! legitimate interests), so it leaves out whoever objected to it or withdrew it and whoever's
//! processing is restricted, and the model records how many ([`crate::model::LeftOut`]).
//! Scoring one customer is profiling them (GDPR Art. 4(4)) so that the contact centre acts on
//! it — retention treatment and offers — the `personalisation` purpose ([`SCORING_PURPOSE`]:
//! consent alone): without that consent given now, or while their processing is restricted, no
//! score is computed; the refusal says why and is counted (`aloft_churn_score_withheld_total`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use aloft_kernel::events::CloudEvent;
use aloft_kernel::{AccessContext, Database, StorageError};

use crate::events::{ModelTrained, audit};
use crate::features::{DISRUPTIVE_DELAY_MINUTES, Feedback, Flight, History};
use crate::logistic::Settings;
use crate::model::{self, ChurnModel, LeftOut, Score, TrainError};

/// The privacy register's purpose training serves: an analysis of the whole population.
pub const TRAINING_PURPOSE: &str = "analytics";

/// The privacy register's purpose scoring one customer serves: profiling them for retention.
pub const SCORING_PURPOSE: &str = "personalisation";

/// Why a customer's score is not computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withheld {
    /// No `personalisation` consent given now (never given, withdrawn or objected to).
    NoConsent,
    /// Processing restricted (Art. 18).
    Restricted,
}

impl Withheld {
    /// The code (`no_consent`), also the counter's `reason` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Withheld::NoConsent => "no_consent",
            Withheld::Restricted => "restricted",
        }
    }

    /// What the agent is told, in a sentence.
    pub fn reason(self) -> &'static str {
        match self {
            Withheld::NoConsent => {
                "no personalisation consent: a retention risk profiles the customer, which needs their personalisation consent given now"
            }
            Withheld::Restricted => {
                "processing restricted (GDPR Art. 18): the customer's data may not be used to profile them while it lasts"
            }
        }
    }
}

/// Whether, and why, a customer is left out of training or scoring for a purpose: privacy's
/// one definition, which follows the purpose's lawful basis.
pub use aloft_privacy::store::left_out_sql;

fn purpose(code: &str) -> &'static aloft_privacy::model::Purpose {
    aloft_privacy::purpose(code).expect("the churn purposes are in the privacy register")
}

/// The training population: every live customer's history the purpose allows, in customer
/// id order, and how many were left out.
#[derive(Debug, Clone, Default)]
pub struct Population {
    /// Customer id and history.
    pub people: Vec<(String, History)>,
    /// Left out for [`TRAINING_PURPOSE`].
    pub left_out: LeftOut,
}

/// What can go wrong beyond the pure model.
#[derive(Debug, thiserror::Error)]
pub enum ChurnError {
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Training was refused (too few customers, one class only).
    #[error(transparent)]
    Train(#[from] TrainError),
    /// No model has been trained yet.
    #[error("no churn model has been trained yet: run `aloft model train churn`")]
    NoModel,
    /// No such live customer.
    #[error("no such customer")]
    NotFound,
    /// The customer may not be profiled now; nothing was computed.
    #[error("no retention risk: {}", .0.reason())]
    Withheld(Withheld),
}

/// The kind of model this crate stores.
pub const KIND: &str = "churn";

/// A stored model with its row's identity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredModel {
    /// Row id.
    pub id: String,
    /// Version (1, 2, … per kind).
    pub version: i64,
    /// The model.
    #[serde(skip)]
    pub model: ChurnModel,
}

/// Reads histories and models; stores models; scores customers.
#[derive(Clone)]
pub struct ChurnStore {
    db: Database,
}

fn tier_rank(profile: &Value) -> u8 {
    rank_of(profile.get("loyalty_tier").and_then(Value::as_str))
}

/// A tier code's rank: 0 none, 1 blue … 4 platinum.
pub fn rank_of(code: Option<&str>) -> u8 {
    match code {
        Some("blue") => 1,
        Some("silver") => 2,
        Some("gold") => 3,
        Some("platinum") => 4,
        _ => 0,
    }
}

/// Tier observations for [`History::tiers`]: the current rank since always, or — when the tier
/// is known to have changed at `changed` from `previous` — the previous rank until then and
/// the current one after. A downgrade within 12 months of a cutoff is then `tier_drop` > 0.
pub fn tier_history(
    current: u8,
    change: Option<(Option<&str>, DateTime<Utc>)>,
) -> Vec<(DateTime<Utc>, u8)> {
    match change {
        Some((previous, at)) => vec![(DateTime::<Utc>::MIN_UTC, rank_of(previous)), (at, current)],
        None => vec![(DateTime::<Utc>::MIN_UTC, current)],
    }
}

/// The last tier change analytics recorded for `customer` (all customers when `None`):
/// customer → (previous tier, when it changed).
async fn tier_changes(
    db: &Database,
    customer: Option<&str>,
) -> Result<std::collections::HashMap<String, (Option<String>, DateTime<Utc>)>, StorageError> {
    let sql = "SELECT customer_id, previous_tier, tier_changed_at FROM analytics_customer_facts \
               WHERE tier_changed_at IS NOT NULL";
    let rows = match customer {
        Some(c) => {
            sqlx::query(&format!("{sql} AND customer_id = $1"))
                .bind(c)
                .fetch_all(db.pool())
                .await?
        }
        None => sqlx::query(sql).fetch_all(db.pool()).await?,
    };
    let mut out = std::collections::HashMap::new();
    for r in &rows {
        let at: String = r.try_get("tier_changed_at")?;
        if let Ok(at) = DateTime::parse_from_rfc3339(&at) {
            out.insert(
                r.try_get("customer_id")?,
                (r.try_get("previous_tier")?, at.with_timezone(&Utc)),
            );
        }
    }
    Ok(out)
}

/// Minor units of a decimal amount string in euros (`"39.5"` → 3950); `None` for another
/// currency or a malformed amount. Integer arithmetic only.
pub fn euro_minor(money: &Value) -> Option<i64> {
    if money.get("currency").and_then(Value::as_str) != Some(crate::SPEND_CURRENCY) {
        return None;
    }
    let s = money.get("amount").and_then(Value::as_str)?.trim();
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let (units, frac) = s.split_once('.').unwrap_or((s, ""));
    if units.is_empty() || !units.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let cents: i64 = format!("{frac:0<2}").parse().ok()?;
    let v = units
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(cents)?;
    Some(if neg { -v } else { v })
}

fn instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Adds one travel record to `h`. `compensated` says whether a flight key
/// (`"LH123 2026-03-01"`, the compensation domain's) had an approved proposal.
pub fn add_record(
    h: &mut History,
    kind: &str,
    occurred_at: &str,
    doc: &Value,
    compensated: &dyn Fn(&str) -> bool,
) {
    let at = instant(occurred_at);
    match kind {
        "booking" => {
            for s in doc
                .get("segments")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(departure) = s
                    .get("scheduled_departure_utc")
                    .and_then(Value::as_str)
                    .and_then(instant)
                else {
                    continue;
                };
                let status = s.get("status").and_then(Value::as_str).unwrap_or("");
                let delayed = s
                    .get("delay_minutes")
                    .and_then(Value::as_u64)
                    .is_some_and(|m| m >= DISRUPTIVE_DELAY_MINUTES);
                let disrupted = delayed || matches!(status, "cancelled" | "involuntarily_rebooked");
                let key = format!(
                    "{} {}",
                    s.get("flight_number").and_then(Value::as_str).unwrap_or(""),
                    s.get("scheduled_departure_local")
                        .and_then(Value::as_str)
                        .and_then(|l| l.get(..10))
                        .unwrap_or("")
                );
                h.flights.push(Flight {
                    booked_at: doc
                        .get("booked_at")
                        .and_then(Value::as_str)
                        .and_then(instant),
                    departure,
                    flown: !matches!(status, "cancelled" | "no_show"),
                    disrupted,
                    compensated: disrupted && compensated(&key),
                });
            }
        }
        "feedback" => {
            if let Some(at) = at {
                h.feedback.push(Feedback {
                    at,
                    complaint: doc.get("kind").and_then(Value::as_str) == Some("complaint"),
                    rating: doc
                        .get("rating")
                        .and_then(Value::as_u64)
                        .and_then(|r| u8::try_from(r).ok()),
                });
            }
        }
        "interaction" => h.contacts.extend(at),
        "purchase" => {
            if let (Some(at), Some(v)) = (at, doc.get("total").and_then(euro_minor)) {
                h.spend.push((at, v));
            }
        }
        "ancillary" => {
            if let (Some(at), Some(v)) = (at, doc.get("price").and_then(euro_minor)) {
                h.spend.push((at, v));
            }
        }
        _ => {}
    }
}

const KINDS: &str = "('booking', 'feedback', 'interaction', 'purchase', 'ancillary')";

impl ChurnStore {
    /// A store on `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    async fn compensated_keys(
        &self,
        customer: Option<&str>,
    ) -> Result<std::collections::HashSet<(String, String)>, StorageError> {
        let rows = match customer {
            Some(c) => {
                sqlx::query(
                    "SELECT customer_id, flight FROM compensation_proposals \
                     WHERE customer_id = $1 AND status = 'approved'",
                )
                .bind(c)
                .fetch_all(self.db.pool())
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT customer_id, flight FROM compensation_proposals \
                     WHERE status = 'approved'",
                )
                .fetch_all(self.db.pool())
                .await?
            }
        };
        rows.iter()
            .map(|r| Ok((r.try_get("customer_id")?, r.try_get("flight")?)))
            .collect()
    }

    /// The training population: every live customer's history that [`TRAINING_PURPOSE`]
    /// allows, in customer id order, and how many it left out (see [`left_out_sql`]; the
    /// profiles and records of those left out are not read).
    pub async fn histories(&self) -> Result<Population, StorageError> {
        let mut people: std::collections::BTreeMap<String, History> = Default::default();
        let mut left_out = LeftOut::default();
        let allowed = left_out_sql(purpose(TRAINING_PURPOSE), "c.id");
        let changes = tier_changes(&self.db, None).await?;
        let mut after = String::new();
        loop {
            let rows = sqlx::query(&format!(
                "SELECT id, CASE WHEN left_out = 0 THEN profile END AS profile, left_out FROM \
                 (SELECT c.id, c.profile, {allowed} AS left_out FROM customers c \
                 WHERE c.merged_into IS NULL AND c.id > $1 ORDER BY c.id LIMIT 5000) page \
                 ORDER BY id"
            ))
            .bind(&after)
            .fetch_all(self.db.pool())
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get("id")?;
            for row in &rows {
                let id: String = row.try_get("id")?;
                match row.try_get::<i64, _>("left_out")? {
                    0 => {}
                    2 => {
                        left_out.restricted += 1;
                        continue;
                    }
                    _ => {
                        left_out.objected += 1;
                        continue;
                    }
                }
                let profile: Option<String> = row.try_get("profile")?;
                let rank = profile
                    .and_then(|p| serde_json::from_str::<Value>(&p).ok())
                    .map(|p| tier_rank(&p))
                    .unwrap_or(0);
                let change = changes.get(&id).map(|(p, at)| (p.as_deref(), *at));
                let tiers = tier_history(rank, change);
                people.insert(
                    id,
                    History {
                        tiers,
                        ..Default::default()
                    },
                );
            }
        }
        let paid = self.compensated_keys(None).await?;
        let mut after = String::new();
        loop {
            let rows = sqlx::query(&format!(
                "SELECT tr.id, tr.customer_id, tr.kind, tr.occurred_at, tr.document \
                 FROM travel_records tr WHERE tr.id > $1 AND tr.customer_id IS NOT NULL \
                 AND tr.kind IN {KINDS} AND {} = 0 ORDER BY tr.id LIMIT 5000",
                left_out_sql(purpose(TRAINING_PURPOSE), "tr.customer_id")
            ))
            .bind(&after)
            .fetch_all(self.db.pool())
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get("id")?;
            for row in &rows {
                let customer: String = row.try_get("customer_id")?;
                let Some(h) = people.get_mut(&customer) else {
                    continue;
                };
                let kind: String = row.try_get("kind")?;
                let occurred: String = row.try_get("occurred_at")?;
                let document: String = row.try_get("document")?;
                if let Ok(doc) = serde_json::from_str::<Value>(&document) {
                    add_record(h, &kind, &occurred, &doc, &|key| {
                        paid.contains(&(customer.clone(), key.to_owned()))
                    });
                }
            }
        }
        Ok(Population {
            people: people.into_iter().collect(),
            left_out,
        })
    }

    /// Why `customer` may not be profiled for [`SCORING_PURPOSE`] now, if so; `NotFound` if
    /// there is no such live customer. One query (the consent state and the restriction).
    pub async fn withheld(&self, customer: &str) -> Result<Option<Withheld>, ChurnError> {
        let found: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT {} FROM customers c WHERE c.id = $1 AND c.merged_into IS NULL",
            left_out_sql(purpose(SCORING_PURPOSE), "c.id")
        ))
        .bind(customer)
        .fetch_optional(self.db.pool())
        .await
        .map_err(StorageError::from)?;
        match found {
            None => Err(ChurnError::NotFound),
            Some(0) => Ok(None),
            Some(2) => Ok(Some(Withheld::Restricted)),
            Some(_) => Ok(Some(Withheld::NoConsent)),
        }
    }

    /// One live customer's history; `None` if unknown or merged into another.
    pub async fn history_of(&self, customer: &str) -> Result<Option<History>, StorageError> {
        let Some(profile): Option<String> = sqlx::query_scalar(
            "SELECT profile FROM customers WHERE id = $1 AND merged_into IS NULL",
        )
        .bind(customer)
        .fetch_optional(self.db.pool())
        .await?
        else {
            return Ok(None);
        };
        let rank = serde_json::from_str::<Value>(&profile)
            .map(|p| tier_rank(&p))
            .unwrap_or(0);
        let changes = tier_changes(&self.db, Some(customer)).await?;
        let change = changes.get(customer).map(|(p, at)| (p.as_deref(), *at));
        let mut h = History {
            tiers: tier_history(rank, change),
            ..Default::default()
        };
        let paid = self.compensated_keys(Some(customer)).await?;
        let rows = sqlx::query(&format!(
            "SELECT kind, occurred_at, document FROM travel_records \
             WHERE customer_id = $1 AND kind IN {KINDS}"
        ))
        .bind(customer)
        .fetch_all(self.db.pool())
        .await?;
        for row in &rows {
            let kind: String = row.try_get("kind")?;
            let occurred: String = row.try_get("occurred_at")?;
            let document: String = row.try_get("document")?;
            if let Ok(doc) = serde_json::from_str::<Value>(&document) {
                add_record(&mut h, &kind, &occurred, &doc, &|key| {
                    paid.contains(&(customer.to_owned(), key.to_owned()))
                });
            }
        }
        Ok(Some(h))
    }

    /// Reads every history [`TRAINING_PURPOSE`] allows, trains with the time-based split
    /// (history known up to `now`) and stores the model with how many were left out (row,
    /// `aloft.model.trained` and the audit record of the bulk read in one transaction).
    /// Returns the stored model; a refused training stores nothing.
    pub async fn train_and_store(
        &self,
        now: DateTime<Utc>,
        ctx: &AccessContext,
    ) -> Result<StoredModel, ChurnError> {
        let population = self.histories().await?;
        let people: Vec<History> = population.people.into_iter().map(|(_, h)| h).collect();
        let mut model = model::train(&people, now, Settings::default())?;
        model.left_out = population.left_out;
        Ok(self.store(model, ctx).await?)
    }

    /// Stores `model` as the next version of its kind.
    pub async fn store(
        &self,
        model: ChurnModel,
        ctx: &AccessContext,
    ) -> Result<StoredModel, StorageError> {
        let id = uuid::Uuid::now_v7().to_string();
        let document = serde_json::to_string(&model)
            .map_err(|e| StorageError::Corrupt(format!("model document: {e}")))?;
        let mut tx = self.db.begin_write().await?;
        // The version is taken inside the write transaction; (kind, version) is unique, so
        // two concurrent trainings cannot both take the same one.
        sqlx::query(
            "INSERT INTO churn_models (id, kind, version, trained_at, document) \
             SELECT $1, $2, COALESCE(MAX(version), 0) + 1, $3, $4 FROM churn_models WHERE kind = $2",
        )
        .bind(&id)
        .bind(KIND)
        .bind(&model.trained_at)
        .bind(&document)
        .execute(tx.conn())
        .await?;
        let version: i64 = sqlx::query_scalar("SELECT version FROM churn_models WHERE id = $1")
            .bind(&id)
            .fetch_one(tx.conn())
            .await?;
        tx.emit(&CloudEvent::of(&ModelTrained {
            model_id: id.clone(),
            kind: KIND.to_owned(),
            version,
            auc: format!("{:.3}", model.metrics.auc),
            train_rows: model.metrics.train_rows,
            validation_rows: model.metrics.validation_rows,
        }))
        .await?;
        tx.audit(&[ctx.entry(
            audit::MODEL_TRAINED,
            "churn_model",
            Some(id.clone()),
            vec![
                "bookings".into(),
                "feedback_ratings".into(),
                "interaction_times".into(),
                "spend".into(),
                "loyalty_tier".into(),
                "compensation_status".into(),
            ],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(StoredModel { id, version, model })
    }

    /// The newest model of this kind, if any was trained (and its features are this code's).
    pub async fn latest(&self) -> Result<Option<StoredModel>, StorageError> {
        let Some(row) = sqlx::query(
            "SELECT id, version, document FROM churn_models WHERE kind = $1 \
             ORDER BY version DESC LIMIT 1",
        )
        .bind(KIND)
        .fetch_optional(self.db.pool())
        .await?
        else {
            return Ok(None);
        };
        let document: String = row.try_get("document")?;
        let model: ChurnModel = serde_json::from_str(&document)
            .map_err(|e| StorageError::Corrupt(format!("churn model document: {e}")))?;
        if !model.matches_code() {
            return Ok(None);
        }
        Ok(Some(StoredModel {
            id: row.try_get("id")?,
            version: row.try_get("version")?,
            model,
        }))
    }

    /// A customer's defection risk, expected value and explanation now, from the newest
    /// model. The read of their history is audited (`churn.score_read`) before it is returned.
    /// Only with [`SCORING_PURPOSE`] allowed: otherwise [`ChurnError::Withheld`] says why,
    /// nothing of their history is read, and the refusal is counted in
    /// `aloft_churn_score_withheld_total{reason}`.
    pub async fn score(
        &self,
        customer: &str,
        ctx: &AccessContext,
        now: DateTime<Utc>,
    ) -> Result<CustomerScore, ChurnError> {
        let stored = self.latest().await?.ok_or(ChurnError::NoModel)?;
        if let Some(why) = self.withheld(customer).await? {
            ::metrics::counter!("aloft_churn_score_withheld_total", "reason" => why.as_str())
                .increment(1);
            return Err(ChurnError::Withheld(why));
        }
        let history = self
            .history_of(customer)
            .await?
            .ok_or(ChurnError::NotFound)?;
        let score = stored.model.score(&history, now);
        let mut tx = self.db.begin_write().await?;
        tx.audit(&[ctx.entry(
            audit::SCORE_READ,
            "customer",
            Some(customer.to_owned()),
            vec![
                "defection_risk".into(),
                "expected_value".into(),
                "explanation".into(),
            ],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(CustomerScore {
            customer_id: customer.to_owned(),
            model_id: stored.id,
            model_version: stored.version,
            window_days: stored.model.window_days,
            currency: crate::SPEND_CURRENCY.to_owned(),
            expected_value: decimal(score.expected_value_minor),
            scored_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
            score,
        })
    }
}

/// Minor units as a decimal string with two places (`12345` → `"123.45"`), integer arithmetic.
pub fn decimal(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    format!("{sign}{}.{:02}", m / 100, m % 100)
}

/// A customer's score as the API serves it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CustomerScore {
    /// The customer.
    pub customer_id: String,
    /// The model that scored them.
    pub model_id: String,
    /// Its version.
    pub model_version: i64,
    /// The window the risk is about (days after now).
    pub window_days: i64,
    /// Currency of the amounts.
    pub currency: String,
    /// Expected spend in the window as a decimal string.
    pub expected_value: String,
    /// When it was computed.
    pub scored_at: String,
    /// The score with its reasons.
    #[serde(flatten)]
    pub score: Score,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Training (analytics: consent or legitimate interests) leaves out only a withdrawal or
    /// objection, never a missing answer; scoring (personalisation: consent alone) needs it
    /// given; both leave out the restricted.
    #[test]
    fn who_is_left_out_follows_the_purposes_lawful_basis() {
        let training = left_out_sql(purpose(TRAINING_PURPOSE), "c.id");
        assert!(
            training.contains("pcs.purpose = 'analytics' AND pcs.granted = 0"),
            "{training}"
        );
        assert!(
            !training.contains("NOT EXISTS"),
            "never asked is included: {training}"
        );
        let scoring = left_out_sql(purpose(SCORING_PURPOSE), "c.id");
        assert!(
            scoring.contains("NOT EXISTS (SELECT 1 FROM privacy_consent_state")
                && scoring.contains("pcs.purpose = 'personalisation' AND pcs.granted = 1"),
            "{scoring}"
        );
        for sql in [training, scoring] {
            assert!(sql.contains("prs.lifted_at IS NULL) THEN 2"), "{sql}");
        }
        assert!(
            Withheld::NoConsent
                .reason()
                .contains("personalisation consent")
        );
        assert!(Withheld::Restricted.reason().contains("Art. 18"));
    }

    #[test]
    fn euro_amounts_become_minor_units_without_floats() {
        let m = |a: &str, c: &str| euro_minor(&json!({"amount": a, "currency": c}));
        assert_eq!(m("39.00", "EUR"), Some(3_900));
        assert_eq!(m("39.5", "EUR"), Some(3_950));
        assert_eq!(m("7", "EUR"), Some(700));
        assert_eq!(m("-2.05", "EUR"), Some(-205));
        assert_eq!(m("39.00", "USD"), None);
        assert_eq!(m("3.999", "EUR"), None);
        assert_eq!(m("x", "EUR"), None);
        assert_eq!(decimal(12_345), "123.45");
        assert_eq!(decimal(-5), "-0.05");
    }

    #[test]
    fn records_become_a_history() {
        let mut h = History::default();
        add_record(
            &mut h,
            "booking",
            "2026-03-01T08:00:00Z",
            &json!({"segments": [
                {"flight_number": "LH1026", "scheduled_departure_utc": "2026-03-01T08:00:00Z",
                 "scheduled_departure_local": "2026-03-01T09:00", "status": "delayed", "delay_minutes": 200},
                {"flight_number": "LH1027", "scheduled_departure_utc": "2026-03-05T08:00:00Z",
                 "scheduled_departure_local": "2026-03-05T09:00", "status": "cancelled"},
            ]}),
            &|k| k == "LH1026 2026-03-01",
        );
        add_record(
            &mut h,
            "feedback",
            "2026-03-02T08:00:00Z",
            &json!({"kind": "complaint", "rating": 2}),
            &|_| false,
        );
        add_record(
            &mut h,
            "purchase",
            "2026-03-02T08:00:00Z",
            &json!({"total": {"amount": "78.00", "currency": "EUR"}}),
            &|_| false,
        );
        assert_eq!(h.flights.len(), 2);
        assert!(h.flights[0].flown && h.flights[0].disrupted && h.flights[0].compensated);
        assert!(!h.flights[1].flown && h.flights[1].disrupted && !h.flights[1].compensated);
        assert_eq!(h.feedback[0].rating, Some(2));
        assert!(h.feedback[0].complaint);
        assert_eq!(h.spend[0].1, 7_800);
    }

    #[test]
    fn a_recorded_downgrade_is_tier_movement_within_its_year() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let changed = at("2026-10-01T00:00:00Z");
        // Gold until October, silver since: one tier lost, seen from a cutoff after it and
        // within the year; not before the change, nor once it is over a year old.
        let h = History {
            tiers: tier_history(2, Some((Some("gold"), changed))),
            ..Default::default()
        };
        let drop = |cutoff: &str| crate::features::extract(&h, at(cutoff))[9];
        assert_eq!(drop("2026-12-01T00:00:00Z"), 1.0);
        assert_eq!(drop("2026-09-01T00:00:00Z"), 0.0);
        assert_eq!(drop("2027-10-02T00:00:00Z"), 0.0);
        // An upgrade loses nothing; no recorded change is the current tier throughout.
        let up = History {
            tiers: tier_history(4, Some((Some("gold"), changed))),
            ..Default::default()
        };
        assert_eq!(
            crate::features::extract(&up, at("2026-12-01T00:00:00Z"))[9],
            0.0
        );
        assert_eq!(tier_history(3, None), vec![(DateTime::<Utc>::MIN_UTC, 3)]);
        assert_eq!(crate::features::FEATURES[9].code, "tier_drop");
    }
}
