//! Consent storage: the append-only history, the derived current state, and the consent check
//! other modules call where data is used.

use std::collections::HashSet;

use aloft_kernel::db::{now, to_db_time};
use aloft_kernel::{AccessContext, Auditor, CloudEvent, Database, StorageError};
use aloft_vocab::CustomerId;
use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use crate::events::{ConsentChanged, audit};
use crate::model::{ConsentChange, Purpose};

/// Errors of consent storage.
#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    /// No such customer profile.
    #[error("no such customer")]
    UnknownCustomer,
    /// The audit trail cannot record the access; nothing is shown.
    #[error("audit trail unavailable")]
    AuditUnavailable,
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// One row of a passenger's consent history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsentRecord {
    /// The row's id.
    pub id: String,
    /// The purpose code.
    pub purpose: String,
    /// The channel code.
    pub channel: String,
    /// Given or withdrawn.
    pub granted: bool,
    /// The lawful basis.
    pub lawful_basis: String,
    /// The notice version the passenger saw.
    pub notice_version: String,
    /// The touchpoint.
    pub source: String,
    /// Reference to the evidence.
    pub proof: String,
    /// When it was recorded in Aloft (RFC 3339 UTC).
    pub recorded_at: String,
    /// When the passenger gave or withdrew it (RFC 3339 UTC): a source system's event time,
    /// else the same as `recorded_at`. The current state is the change given last.
    pub given_at: String,
    /// The actor who recorded it (a staff account, the passenger, an integration client).
    pub recorded_by: String,
}

/// A passenger's consents: the state now per purpose and channel, and the full history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Consents {
    /// The customer.
    pub customer_id: String,
    /// The latest record per purpose and channel.
    pub current: Vec<ConsentRecord>,
    /// Every record, newest first.
    pub history: Vec<ConsentRecord>,
}

/// The consent store. Cheap to clone.
#[derive(Clone)]
pub struct ConsentStore {
    db: Database,
    auditor: Option<Auditor>,
    /// The customers' data keys: the subject access export opens encrypted fields with them.
    keys: Option<std::sync::Arc<dyn aloft_kernel::keys::CustomerKeys>>,
}

const COLUMNS: &str = "id, purpose, channel, granted, lawful_basis, notice_version, source, proof, recorded_at, recorded_by, COALESCE(given_at, recorded_at) AS given_at";

impl ConsentStore {
    /// A store over `db`; reads are audited through `auditor`.
    pub fn new(db: Database, auditor: Option<Auditor>) -> Self {
        Self {
            db,
            auditor,
            keys: None,
        }
    }

    /// The store, opening encrypted fields in subject access exports with these keys.
    pub fn with_keys(mut self, keys: std::sync::Arc<dyn aloft_kernel::keys::CustomerKeys>) -> Self {
        self.keys = Some(keys);
        self
    }

    /// The person's data key, if keys are known and theirs is not destroyed.
    pub async fn data_key(
        &self,
        customer: CustomerId,
    ) -> Result<Option<aloft_security::DataKey>, StorageError> {
        let Some(keys) = &self.keys else {
            return Ok(None);
        };
        let id = customer.as_uuid();
        Ok(keys.data_keys(&[id]).await?.remove(&id))
    }

    /// The audit trail, if reads are audited.
    pub(crate) fn auditor(&self) -> Option<&Auditor> {
        self.auditor.as_ref()
    }

    /// The database.
    pub fn db(&self) -> &Database {
        &self.db
    }

    async fn ensure_customer(&self, customer: CustomerId) -> Result<(), ConsentError> {
        let p = self.db.backend().param(1);
        let found = sqlx::query(&format!("SELECT 1 FROM customers WHERE id = {p}"))
            .bind(customer.to_string())
            .fetch_optional(self.db.pool())
            .await
            .map_err(StorageError::from)?;
        found.map(|_| ()).ok_or(ConsentError::UnknownCustomer)
    }

    /// Records a consent change: a new history row, the current state, the event
    /// `aloft.consent.changed` and the audit record, in one transaction. Returns the row.
    pub async fn record(
        &self,
        customer: CustomerId,
        change: &ConsentChange,
        ctx: &AccessContext,
    ) -> Result<ConsentRecord, ConsentError> {
        self.ensure_customer(customer).await?;
        let mut tx = self.db.begin_write().await?;
        let rec = insert_change(&mut tx, customer, change, ctx).await?;
        tx.commit().await?;
        Ok(rec)
    }

    /// A passenger's consents (audited as a read by `ctx`).
    pub async fn consents(
        &self,
        customer: CustomerId,
        ctx: &AccessContext,
    ) -> Result<Consents, ConsentError> {
        self.ensure_customer(customer).await?;
        let history = self.history(customer).await?;
        if let Some(a) = &self.auditor {
            a.record(ctx.entry(
                audit::CONSENT_READ,
                "customer",
                Some(customer.to_string()),
                vec!["consents".into()],
                "success",
            ))
            .await
            .map_err(|_| ConsentError::AuditUnavailable)?;
        }
        let mut seen = HashSet::new();
        let current = history
            .iter()
            .filter(|r| seen.insert((r.purpose.clone(), r.channel.clone())))
            .cloned()
            .collect();
        Ok(Consents {
            customer_id: customer.to_string(),
            current,
            history,
        })
    }

    /// Records that everything about `customer` was exported by `ctx`; returns once committed.
    pub async fn audit_export(
        &self,
        customer: CustomerId,
        ctx: &AccessContext,
    ) -> Result<(), ConsentError> {
        if let Some(a) = &self.auditor {
            a.record(ctx.entry(
                audit::SUBJECT_EXPORTED,
                "customer",
                Some(customer.to_string()),
                vec!["*".into()],
                "success",
            ))
            .await
            .map_err(|_| ConsentError::AuditUnavailable)?;
        }
        Ok(())
    }

    /// Every history row of `customer`, the one given last first (unaudited: callers audit).
    pub async fn history(&self, customer: CustomerId) -> Result<Vec<ConsentRecord>, StorageError> {
        let p = self.db.backend().param(1);
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM privacy_consents WHERE customer_id = {p} \
             ORDER BY COALESCE(given_at, recorded_at) DESC, seq DESC"
        ))
        .bind(customer.to_string())
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ConsentRecord {
                    id: r.try_get("id")?,
                    purpose: r.try_get("purpose")?,
                    channel: r.try_get("channel")?,
                    granted: r.try_get::<i64, _>("granted")? == 1,
                    lawful_basis: r.try_get("lawful_basis")?,
                    notice_version: r.try_get("notice_version")?,
                    source: r.try_get("source")?,
                    proof: r.try_get("proof")?,
                    recorded_at: r.try_get("recorded_at")?,
                    recorded_by: r.try_get("recorded_by")?,
                    given_at: r.try_get("given_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StorageError::from)
    }

    /// The consent check: which of `customers` have consent for `purpose` given now (on any of
    /// its channels). One indexed query per call; customers never asked are not consented, and
    /// customers whose processing is restricted (Art. 18) are not allowed for any purpose a law
    /// does not require.
    pub async fn consented(
        &self,
        purpose: &Purpose,
        customers: &[CustomerId],
    ) -> Result<HashSet<CustomerId>, StorageError> {
        let mut out = HashSet::new();
        let b = self.db.backend();
        for chunk in customers.chunks(500) {
            let ps: Vec<String> = (1..=chunk.len()).map(|n| b.param(n + 1)).collect();
            let restricted = if purpose.required_by_law {
                String::new()
            } else {
                format!(
                    " AND {}",
                    unrestricted_sql("privacy_consent_state.customer_id")
                )
            };
            let sql = format!(
                "SELECT DISTINCT customer_id FROM privacy_consent_state WHERE purpose = {} AND granted = 1 AND customer_id IN ({}){restricted}",
                b.param(1),
                ps.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(purpose.code);
            for c in chunk {
                q = q.bind(c.to_string());
            }
            for row in q.fetch_all(self.db.pool()).await? {
                let id: String = row.try_get("customer_id")?;
                if let Some(c) = CustomerId::parse(&id) {
                    out.insert(c);
                }
            }
        }
        Ok(out)
    }

    /// Whether `customer`'s processing is restricted now (Art. 18), and since when.
    pub async fn restricted_since(
        &self,
        customer: CustomerId,
    ) -> Result<Option<String>, StorageError> {
        let p = self.db.backend().param(1);
        Ok(sqlx::query_scalar::<_, String>(&format!(
            "SELECT since FROM privacy_restrictions WHERE customer_id = {p} AND lifted_at IS NULL"
        ))
        .bind(customer.to_string())
        .fetch_optional(self.db.pool())
        .await?)
    }
}

/// Appends a consent change inside `tx`: the history row, the current state, the event and the
/// audit record. The one writer of consent, so a change recorded by an agent, by the passenger
/// or by an objection request (in the request's own transaction) is recorded the same way.
pub(crate) async fn insert_change(
    tx: &mut aloft_kernel::db::WriteTx,
    customer: CustomerId,
    change: &ConsentChange,
    ctx: &AccessContext,
) -> Result<ConsentRecord, StorageError> {
    Ok(insert_change_from(tx, customer, change, ctx, None).await?.0)
}

/// Where a change recorded from a source system's event came from.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    /// The event's CloudEvents `source`.
    pub event_source: String,
    /// The event's `id`.
    pub event_id: String,
    /// When the passenger gave or withdrew the consent (the event's `time`).
    pub given_at: chrono::DateTime<chrono::Utc>,
}

/// [`insert_change`] for a change given at another time than now (a source system's event).
/// Returns the row and whether it became the current state: a change given before the
/// current one (an event that arrived late) joins the history only.
pub(crate) async fn insert_change_from(
    tx: &mut aloft_kernel::db::WriteTx,
    customer: CustomerId,
    change: &ConsentChange,
    ctx: &AccessContext,
    origin: Option<&Origin>,
) -> Result<(ConsentRecord, bool), StorageError> {
    let b = aloft_kernel::Backend::of(tx.conn());
    let id = uuid::Uuid::now_v7().to_string();
    let at = to_db_time(now());
    let given_at = origin.map_or_else(|| at.clone(), |o| to_db_time(o.given_at));
    let rec = ConsentRecord {
        id: id.clone(),
        purpose: change.purpose.code.into(),
        channel: change.channel.into(),
        granted: change.granted,
        lawful_basis: change.lawful_basis.into(),
        notice_version: change.notice_version.into(),
        source: change.source.into(),
        proof: change.proof.clone(),
        recorded_at: at.clone(),
        recorded_by: ctx.actor.id.clone(),
        given_at: given_at.clone(),
    };
    let ps: Vec<String> = (1..=14).map(|n| b.param(n)).collect();
    sqlx::query(&format!(
        "INSERT INTO privacy_consents (id, customer_id, purpose, channel, granted, lawful_basis, notice_version, source, proof, recorded_at, recorded_by, given_at, event_source, event_id) VALUES ({})",
        ps.join(", ")
    ))
    .bind(&id)
    .bind(customer.to_string())
    .bind(&rec.purpose)
    .bind(&rec.channel)
    .bind(i64::from(rec.granted))
    .bind(&rec.lawful_basis)
    .bind(&rec.notice_version)
    .bind(&rec.source)
    .bind(&rec.proof)
    .bind(&at)
    .bind(&rec.recorded_by)
    .bind(&given_at)
    .bind(origin.map(|o| o.event_source.clone()))
    .bind(origin.map(|o| o.event_id.clone()))
    .execute(tx.conn())
    .await?;
    // The state follows the change given last; a tie goes to the one recorded last.
    let ps: Vec<String> = (1..=7).map(|n| b.param(n)).collect();
    let current = sqlx::query(&format!(
        "INSERT INTO privacy_consent_state (customer_id, purpose, channel, granted, consent_id, updated_at, given_at) VALUES ({}) \
         ON CONFLICT (customer_id, purpose, channel) DO UPDATE SET granted = excluded.granted, consent_id = excluded.consent_id, \
         updated_at = excluded.updated_at, given_at = excluded.given_at \
         WHERE COALESCE(privacy_consent_state.given_at, privacy_consent_state.updated_at) <= excluded.given_at",
        ps.join(", ")
    ))
    .bind(customer.to_string())
    .bind(&rec.purpose)
    .bind(&rec.channel)
    .bind(i64::from(rec.granted))
    .bind(&id)
    .bind(&at)
    .bind(&given_at)
    .execute(tx.conn())
    .await?
    .rows_affected()
        == 1;
    refresh_allowed(tx, customer).await?;
    tx.emit(&CloudEvent::of(&ConsentChanged {
        customer_id: customer.to_string(),
        consent_id: id.clone(),
        purpose: rec.purpose.clone(),
        channel: rec.channel.clone(),
        granted: rec.granted,
        lawful_basis: rec.lawful_basis.clone(),
        notice_version: rec.notice_version.clone(),
        source: rec.source.clone(),
        given_at: rec.given_at.clone(),
        current,
    }))
    .await?;
    tx.audit(&[ctx.entry(
        audit::CONSENT_RECORDED,
        "customer",
        Some(customer.to_string()),
        vec![format!("consents.{}.{}", rec.purpose, rec.channel)],
        "success",
    )])
    .await?;
    Ok((rec, current))
}

/// The condition "the customer in `customer_column` is not restricted" (Art. 18), for every
/// purpose a law does not require.
fn unrestricted_sql(customer_column: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM privacy_restrictions prs WHERE prs.customer_id = {customer_column} AND prs.lifted_at IS NULL)"
    )
}

/// The consent check as SQL, for audience and segment queries that select customers
/// themselves: an `EXISTS (…)` condition true when the customer in `customer_column` has
/// consent for `purpose` given now and their processing is not restricted (Art. 18; purposes
/// a law requires continue). Join it into the `WHERE` clause; the exclusion count is the same
/// query with `NOT` in front.
///
/// Safe to splice: the purpose code comes from the register (lower-case letters and
/// underscores, checked by a test) and `customer_column` is the caller's own column name.
pub fn consent_exists_sql(purpose: &Purpose, customer_column: &str) -> String {
    let given = format!(
        "EXISTS (SELECT 1 FROM privacy_consent_state pcs WHERE pcs.purpose = '{}' AND pcs.granted = 1 AND pcs.customer_id = {customer_column})",
        purpose.code
    );
    if purpose.required_by_law {
        given
    } else {
        format!("({given} AND {})", unrestricted_sql(customer_column))
    }
}

/// Whether, and why, the customer whose id is the SQL expression `customer` is left out of an
/// export, analysis or profiling for `purpose`, as an SQL `BIGINT`: `0` included, `1` no consent — withdrawn or
/// objected to, or (for a purpose resting on consent alone) never given — and `2` processing
/// restricted (Art. 18; a purpose a law requires continues).
///
/// A purpose the register lets rest on legitimate interests (Art. 6(1)(f)) — `analytics`:
/// pseudonymised analyses whose results never identify anyone — includes a person who was
/// never asked: the airline's interest in improving routes and service is the basis, and the
/// person's right to object (Art. 21(1)) is honoured by leaving them out from the moment they
/// object or withdraw (either leaves a withdrawn row in `privacy_consent_state`). A purpose
/// resting on consent alone (Art. 6(1)(a)) includes only those who gave it and have not
/// withdrawn it. One definition, tested in the unit tests and on both backends
/// (`crates/aloft/tests/lake.rs`, `churn.rs`).
///
/// Safe to splice: the purpose code comes from the register (lower-case letters and
/// underscores) and `customer` is the caller's own column.
pub fn left_out_sql(purpose: &Purpose, customer: &str) -> String {
    let restricted = format!(
        "EXISTS (SELECT 1 FROM privacy_restrictions prs WHERE prs.customer_id = {customer} \
         AND prs.lifted_at IS NULL)"
    );
    let state = |granted: u8| {
        format!(
            "EXISTS (SELECT 1 FROM privacy_consent_state pcs WHERE pcs.customer_id = {customer} \
             AND pcs.purpose = '{}' AND pcs.granted = {granted})",
            purpose.code
        )
    };
    let no_consent = if purpose.bases.contains(&"legitimate_interests") {
        state(0)
    } else {
        format!("NOT {}", state(1))
    };
    if purpose.required_by_law {
        format!("CAST(CASE WHEN {no_consent} THEN 1 ELSE 0 END AS BIGINT)")
    } else {
        format!("CAST(CASE WHEN {restricted} THEN 2 WHEN {no_consent} THEN 1 ELSE 0 END AS BIGINT)")
    }
}

/// The PostgreSQL advisory lock that orders writes of `analytics_customer_facts` against
/// consent and restriction changes. Writers of facts rows take it exclusively before they
/// touch a facts row (`aloft_analytics::storage`); consent writers take it shared before
/// [`refresh_allowed`] updates the row. So a facts row written by analytics computes its mask
/// after every consent change that committed before it, and a consent change that commits
/// after it finds the row and corrects it — the mask is never stale, on either side of a race.
/// (SQLite has one writer at a time, so no lock is needed there.)
pub const FACTS_CONSENT_LOCK: i64 = 7_242_100_021;

/// The consent mask of the customer named by the SQL expressions `customer_a` and `customer_b`
/// (the same customer; two placeholders because SQLite's `?` binds positionally): the bits
/// ([`Purpose::bit`]) of every purpose with consent given now on some channel, less every
/// purpose a law does not require while the customer's processing is restricted (Art. 18).
/// The one definition of "allowed" that `analytics_customer_facts.consent_allowed` holds
/// (migration 0047 backfilled it with the same expression).
pub fn allowed_mask_sql(customer_a: &str, customer_b: &str) -> String {
    let bits: Vec<String> = crate::model::PURPOSES
        .iter()
        .map(|p| format!("WHEN '{}' THEN {}", p.code, p.bit()))
        .collect();
    let by_law: i64 = crate::model::PURPOSES
        .iter()
        .filter(|p| p.required_by_law)
        .map(|p| p.bit())
        .sum();
    format!(
        "(CAST(COALESCE((SELECT SUM(DISTINCT CASE pcs.purpose {} ELSE 0 END) FROM privacy_consent_state pcs \
         WHERE pcs.customer_id = {customer_a} AND pcs.granted = 1), 0) AS BIGINT) \
         & CASE WHEN EXISTS (SELECT 1 FROM privacy_restrictions prs WHERE prs.customer_id = {customer_b} \
         AND prs.lifted_at IS NULL) THEN {by_law} ELSE -1 END)",
        bits.join(" ")
    )
}

/// Brings `customer`'s consent mask in `analytics_customer_facts`, and its copy on their
/// `analytics_segment_members` rows, in line with the consent state and restriction inside
/// `tx` (the transaction that changed them). A customer without a facts row has none to
/// update: analytics computes the mask when it writes the row.
pub(crate) async fn refresh_allowed(
    tx: &mut aloft_kernel::db::WriteTx,
    customer: CustomerId,
) -> Result<(), StorageError> {
    let b = aloft_kernel::Backend::of(tx.conn());
    if b == aloft_kernel::Backend::Postgres {
        sqlx::query(&format!(
            "SELECT pg_advisory_xact_lock_shared({FACTS_CONSENT_LOCK})"
        ))
        .execute(tx.conn())
        .await?;
    }
    let mask = allowed_mask_sql(&b.param(1), &b.param(2));
    let id = customer.to_string();
    sqlx::query(&format!(
        "UPDATE analytics_customer_facts SET consent_allowed = {mask} WHERE customer_id = {}",
        b.param(3)
    ))
    .bind(&id)
    .bind(&id)
    .bind(&id)
    .execute(tx.conn())
    .await?;
    // The customer's segment member rows carry the same mask (migration 0058), so an audience
    // is split by an index range rather than a lookup of each member's facts row.
    sqlx::query(&format!(
        "UPDATE analytics_segment_members SET consent_allowed = COALESCE((SELECT f.consent_allowed \
         FROM analytics_customer_facts f WHERE f.customer_id = {}), 0) WHERE customer_id = {}",
        b.param(1),
        b.param(2)
    ))
    .bind(&id)
    .bind(&id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The consent check over `analytics_customer_facts` rows (alias `facts`): true when the row's
/// customer may be used for `purpose` now — consent given, processing not restricted (purposes
/// a law requires continue). A test of the row's own column, so a segment or audience query
/// over a million customers pays nothing for a join (BENCHMARKS: "consent check"); the column
/// is kept current in the transaction of every consent change and restriction.
pub fn consent_allowed_sql(purpose: &Purpose, facts: &str) -> String {
    format!("({facts}.consent_allowed & {}) <> 0", purpose.bit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PURPOSES;

    /// A stored mask means what it meant when it was written: each purpose keeps its bit, so
    /// new purposes go at the end of the register. Migration 0047 backfilled with these bits.
    #[test]
    fn purposes_keep_their_bits_and_the_backfill_uses_them() {
        let bits: Vec<(&str, i64)> = PURPOSES.iter().map(|p| (p.code, p.bit())).collect();
        assert_eq!(
            bits[..8],
            [
                ("marketing_email", 1),
                ("marketing_sms", 2),
                ("marketing_push", 4),
                ("partner_sharing", 8),
                ("personalisation", 16),
                ("analytics", 32),
                ("newsletter", 64),
                ("disruption_alerts", 128),
            ]
        );
        assert!(PURPOSES.len() <= 63);
        let migration = include_str!("../../../migrations/0047_consent_allowed.sql");
        let sql = allowed_mask_sql("x", "x");
        for p in PURPOSES {
            let when = format!("WHEN '{}' THEN {}", p.code, p.bit());
            assert!(migration.contains(&when) && sql.contains(&when), "{when}");
        }
        let by_law: i64 = PURPOSES
            .iter()
            .filter(|p| p.required_by_law)
            .map(|p| p.bit())
            .sum();
        assert!(migration.contains(&format!("THEN {by_law} ELSE -1 END")));
        assert!(sql.contains(&format!("THEN {by_law} ELSE -1 END")));
        assert_eq!(
            consent_allowed_sql(crate::purpose("partner_sharing").unwrap(), "f"),
            "(f.consent_allowed & 8) <> 0"
        );
    }
}
