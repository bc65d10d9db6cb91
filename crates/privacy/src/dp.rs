//! Differentially private aggregate counts for partners, with a privacy budget per partner
//! (issue 21, item 5, second half).
//!
//! Mechanism: the Laplace mechanism on a histogram. A release counts the consenting,
//! unrestricted people (as in [`crate::sharing`]) per bin of ONE dimension — age band, region or
//! travel frequency — over a FIXED domain of bins (listed in the code, never taken from the data,
//! so the presence of a bin reveals nothing). Each person falls in exactly one bin, so adding or
//! removing one person changes one count by 1: the L1 sensitivity is 1, and adding independent
//! Laplace(0, 1/ε) noise to every bin makes the whole histogram ε-differentially private
//! (parallel composition over disjoint bins). Rounding to whole numbers and clamping at zero are
//! post-processing and cost no privacy. Noise comes from the operating system's secure random
//! source (through `aloft_security::random_token`); floating-point Laplace sampling has known
//! low-order-bit weaknesses (Mironov 2012), which rounding to integers blunts.
//!
//! Budget: sequential composition — a partner's releases add up, for the partner's whole
//! lifetime (there is no period after which spent ε comes back: what a partner has learned it
//! keeps). Partners are the registered ones ([`crate::sharing::register_partner`]), so a new
//! spelling of a name is not a new budget. The privacy officer sets a partner's lifetime cap once
//! ([`set_budget`]; setting it again is refused, 409 on `/epsilon`); the only way to raise it
//! is [`raise_budget`], an explicit act with a reason, audited (`privacy.dp_budget_raised`, the
//! totals before and after and the reason) and published (`aloft.privacy.partner_changed`).
//! Every release spends its ε; a release whose ε exceeds what remains is refused (409 naming
//! `/epsilon`) and nothing is released. Amounts are kept in thousandths of ε as integers, so the
//! ledger adds up exactly. The ledger is `privacy_partner_shares` (migrations 0039, 0061), by
//! `partner_id`: the cap is the sum of the one `dp_budget` row and the `dp_budget_raise` rows;
//! `dp_counts` rows are releases; rows are never updated or deleted. The check and the spend
//! happen in one write transaction (SQLite has one writer; PostgreSQL takes a
//! transaction-scoped advisory lock per partner), so concurrent releases cannot overspend.
//!
//! Every release is audited with what was released, and with how many people were left out for
//! lack of consent (`excluded_no_consent`). That count is exact and is NOT differentially
//! private, so it is not part of what the partner receives (the stored `released` column and the
//! `counts`): it goes to the audit record, the stored parameters, the event and the privacy
//! officer's answer only. Released exactly to a partner, it would tell them, between two
//! releases, that someone withdrew or gave consent.

use aloft_kernel::db::{now, to_db_time};
use aloft_kernel::fields::FieldReader;
use aloft_kernel::{AccessContext, Backend, CloudEvent, Database, FieldError, StorageError};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::Row;
use utoipa::ToSchema;

use crate::events::audit;
use crate::sharing::{
    Partner, PartnerChanged, PartnerShared, age_at, find_partner, frequency_at, region_at,
};

/// A dimension a release counts over, each with its fixed domain of bins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// Age band (`0-17` … `65+`, `unknown`).
    AgeBand,
    /// World region of the home airport.
    Region,
    /// Flights a year (`0`, `1-2`, `3-5`, `6-11`, `12+`).
    TravelFrequency,
}

impl Dimension {
    /// The code.
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::AgeBand => "age_band",
            Dimension::Region => "region",
            Dimension::TravelFrequency => "travel_frequency",
        }
    }
    /// The fixed bins.
    pub fn domain(self) -> &'static [&'static str] {
        match self {
            Dimension::AgeBand => &[
                "0-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+", "unknown",
            ],
            Dimension::Region => &[
                "Europe",
                "North America",
                "Latin America",
                "Middle East",
                "Asia-Pacific",
                "Africa and other",
                "unknown",
            ],
            Dimension::TravelFrequency => &["0", "1-2", "3-5", "6-11", "12+"],
        }
    }
}

/// Thousandths of ε from a JSON number or decimal string (`0.5` → 500); at most three decimals.
pub fn parse_epsilon(v: &Value, min_milli: u64, max_milli: u64) -> Result<u64, String> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_owned(),
        _ => return Err("must be a number".into()),
    };
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let bad = || {
        format!(
            "must be a decimal from {} to {} with at most three decimals",
            min_milli as f64 / 1000.0,
            max_milli as f64 / 1000.0
        )
    };
    if int.is_empty() && frac.is_empty()
        || !int.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 3
        || int.len() > 6
    {
        return Err(bad());
    }
    let i: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let f: u64 = format!("{frac:0<3}").parse().map_err(|_| bad())?;
    let m = i * 1000 + f;
    if m < min_milli || m > max_milli {
        return Err(bad());
    }
    Ok(m)
}

/// `12.345` from 12345 thousandths.
pub fn show_milli(m: u64) -> String {
    format!("{}.{:03}", m / 1000, m % 1000)
}

/// Audit action: a partner's lifetime privacy budget was raised (fields: the totals before
/// and after, the increase and the reason).
pub const DP_BUDGET_RAISED: aloft_kernel::audit::AuditAction =
    aloft_kernel::audit::AuditAction::new("privacy.dp_budget_raised");

/// A release asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct DpRequest {
    /// The registered partner, by id or registered name.
    pub partner: String,
    /// The dimension counted.
    pub dimension: Dimension,
    /// ε of this release, in thousandths.
    pub epsilon_milli: u64,
}

fn partner(r: &mut FieldReader) -> Option<String> {
    r.req("partner", |s| match s.trim() {
        "" => Err("is required: who receives the release".to_owned()),
        t if t.chars().count() > 100 => Err("must be at most 100 characters".to_owned()),
        t => Ok(t.to_owned()),
    })
}

fn epsilon(r: &mut FieldReader, min: u64, max: u64) -> Option<u64> {
    match r.get("epsilon") {
        None | Some(Value::Null) => {
            r.fail("epsilon", "is required");
            None
        }
        Some(v) => match parse_epsilon(v, min, max) {
            Ok(m) => Some(m),
            Err(e) => {
                r.fail("epsilon", e);
                None
            }
        },
    }
}

/// Reads a release: `partner`, `dimension` (`age_band`, `region`, `travel_frequency`),
/// `epsilon` (0.01–5).
pub fn parse_release(doc: &Value) -> Result<DpRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(obj) = doc.as_object() else {
        return Err(vec![FieldError::new("", "must be a JSON object")]);
    };
    let mut r = FieldReader::new(obj, "", &mut errors);
    r.reject_unknown(&["partner", "dimension", "epsilon"]);
    let p = partner(&mut r);
    let d = r.req("dimension", |s| match s {
        "age_band" => Ok(Dimension::AgeBand),
        "region" => Ok(Dimension::Region),
        "travel_frequency" => Ok(Dimension::TravelFrequency),
        _ => Err("must be age_band, region or travel_frequency".to_owned()),
    });
    let e = epsilon(&mut r, 10, 5000);
    match (p, d, e) {
        (Some(partner), Some(dimension), Some(epsilon_milli)) if errors.is_empty() => {
            Ok(DpRequest {
                partner,
                dimension,
                epsilon_milli,
            })
        }
        _ => Err(errors),
    }
}

/// Reads a budget: `partner`, `epsilon` (the partner's lifetime total, 0.01–100).
pub fn parse_budget(doc: &Value) -> Result<(String, u64), Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(obj) = doc.as_object() else {
        return Err(vec![FieldError::new("", "must be a JSON object")]);
    };
    let mut r = FieldReader::new(obj, "", &mut errors);
    r.reject_unknown(&["partner", "epsilon"]);
    let p = partner(&mut r);
    let e = epsilon(&mut r, 10, 100_000);
    match (p, e) {
        (Some(p), Some(e)) if errors.is_empty() => Ok((p, e)),
        _ => Err(errors),
    }
}

/// A raise of a partner's lifetime budget, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Raise {
    /// The registered partner, by id or registered name.
    pub partner: String,
    /// ε added to the cap, in thousandths.
    pub increase_milli: u64,
    /// Why (10–500 characters): kept in the ledger and the audit record.
    pub reason: String,
}

/// Reads a raise: `partner`, `epsilon` (the increase, 0.01–100), `reason` (10–500 characters).
pub fn parse_raise(doc: &Value) -> Result<Raise, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(obj) = doc.as_object() else {
        return Err(vec![FieldError::new("", "must be a JSON object")]);
    };
    let mut r = FieldReader::new(obj, "", &mut errors);
    r.reject_unknown(&["partner", "epsilon", "reason"]);
    let p = partner(&mut r);
    let e = epsilon(&mut r, 10, 100_000);
    let reason = r.req("reason", |s| {
        let t = s.split_whitespace().collect::<Vec<_>>().join(" ");
        match t.chars().count() {
            n if n < 10 => Err(
                "must say why the budget is raised (at least 10 characters, e.g. the amended agreement)"
                    .to_owned(),
            ),
            n if n > 500 => Err("must be at most 500 characters".to_owned()),
            _ => Ok(t),
        }
    });
    match (p, e, reason) {
        (Some(partner), Some(increase_milli), Some(reason)) if errors.is_empty() => Ok(Raise {
            partner,
            increase_milli,
            reason,
        }),
        _ => Err(errors),
    }
}

/// A uniform draw in (0, 1) from the operating system's secure source.
fn uniform() -> f64 {
    let h = aloft_security::sha256(aloft_security::random_token().as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&h[..8]);
    // 53 random bits, offset by half a step so 0 and 1 are never drawn.
    ((u64::from_le_bytes(b) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

/// One Laplace(0, scale) sample by inverse transform, from the uniform `u` in (0, 1).
pub fn laplace(scale: f64, u: f64) -> f64 {
    let c = u - 0.5;
    -scale * c.signum() * (1.0 - 2.0 * c.abs()).ln()
}

/// The noisy histogram: every bin of the domain, its true count plus Laplace(1/ε) noise, rounded
/// and clamped at zero.
pub fn noisy(
    true_counts: &[(String, u64)],
    dim: Dimension,
    epsilon_milli: u64,
) -> Vec<(String, u64)> {
    let scale = 1000.0 / epsilon_milli as f64;
    dim.domain()
        .iter()
        .map(|bin| {
            let t = true_counts
                .iter()
                .find(|(b, _)| b == bin)
                .map(|(_, n)| *n)
                .unwrap_or(0) as f64;
            let v = (t + laplace(scale, uniform())).round().max(0.0);
            ((*bin).to_owned(), v as u64)
        })
        .collect()
}

/// A partner's budget.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Budget {
    /// The registered partner's id.
    pub partner_id: String,
    /// The partner's registered name.
    pub partner: String,
    /// Lifetime total ε (decimal text): the cap first set plus every raise.
    pub epsilon_total: String,
    /// Raises of the cap so far.
    pub raises: u64,
    /// ε spent.
    pub epsilon_spent: String,
    /// ε remaining.
    pub epsilon_remaining: String,
    /// Releases made.
    pub releases: u64,
}

/// A release as answered to the privacy officer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DpRelease {
    /// The release's id.
    pub id: String,
    /// The registered partner's id.
    pub partner_id: String,
    /// The partner's registered name.
    pub partner: String,
    /// The dimension.
    pub dimension: String,
    /// ε spent by this release.
    pub epsilon: String,
    /// The noisy counts, every bin of the domain: what the partner receives.
    pub counts: Vec<(String, u64)>,
    /// People left out because they did not consent to partner sharing or are restricted — for
    /// the privacy officer only: exact, not differentially private, not part of the release.
    pub excluded_no_consent: u64,
    /// The partner's budget after it.
    pub budget: Budget,
}

/// Errors of differentially private releases and budgets.
#[derive(Debug, thiserror::Error)]
pub enum DpError {
    /// The partner named is not registered.
    #[error("the partner is not registered")]
    UnknownPartner,
    /// The partner has no budget set.
    #[error("no privacy budget is set for this partner")]
    NoBudget,
    /// The partner's lifetime budget is already set; only an explicit raise changes it.
    #[error("the partner's lifetime budget is already ε {total}")]
    AlreadySet {
        /// The cap now.
        total: String,
    },
    /// The release would exceed the budget.
    #[error("the release needs ε {needed} but {remaining} remains")]
    Exhausted {
        /// ε asked for.
        needed: String,
        /// ε remaining.
        remaining: String,
    },
    /// The database.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<sqlx::Error> for DpError {
    fn from(e: sqlx::Error) -> Self {
        DpError::Storage(e.into())
    }
}

async fn lock_partner(
    conn: &mut sqlx::AnyConnection,
    b: Backend,
    partner_id: &str,
) -> Result<(), StorageError> {
    if b == Backend::Postgres {
        sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtext($1))) AS l")
            .bind(format!("privacy.dp:{partner_id}"))
            .fetch_one(conn)
            .await?;
    }
    Ok(())
}

/// A partner's ledger in thousandths of ε.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ledger {
    /// The lifetime cap: the budget first set plus every raise.
    pub total: u64,
    /// Raises.
    pub raises: u64,
    /// Spent by releases.
    pub spent: u64,
    /// Releases.
    pub releases: u64,
}

/// Adds up a partner's ledger rows `(kind, epsilon_milli)` in order; `None` when no budget was
/// ever set. Pure: the cap is the sum of grants, so no row can replace an earlier one.
pub fn tally(rows: &[(String, u64)]) -> Option<Ledger> {
    let mut l = Ledger {
        total: 0,
        raises: 0,
        spent: 0,
        releases: 0,
    };
    let mut set = false;
    for (kind, m) in rows {
        match kind.as_str() {
            "dp_budget" => {
                set = true;
                l.total += m;
            }
            "dp_budget_raise" => {
                l.raises += 1;
                l.total += m;
            }
            "dp_counts" => {
                l.spent += m;
                l.releases += 1;
            }
            _ => {}
        }
    }
    set.then_some(l)
}

/// A partner's ledger, read on `conn`.
async fn ledger(
    conn: &mut sqlx::AnyConnection,
    b: Backend,
    partner_id: &str,
) -> Result<Option<Ledger>, StorageError> {
    let rows = sqlx::query(&format!(
        "SELECT kind, parameters FROM privacy_partner_shares WHERE partner_id = {} AND kind IN ('dp_budget', 'dp_budget_raise', 'dp_counts') ORDER BY created_at, id",
        b.param(1)
    ))
    .bind(partner_id)
    .fetch_all(conn)
    .await?;
    let mut v = Vec::with_capacity(rows.len());
    for r in rows {
        let kind: String = r.try_get("kind")?;
        let p: String = r.try_get("parameters")?;
        let p: Value = serde_json::from_str(&p).unwrap_or(Value::Null);
        v.push((kind, p["epsilon_milli"].as_u64().unwrap_or(0)));
    }
    Ok(tally(&v))
}

fn budget_of(p: &Partner, l: Ledger) -> Budget {
    Budget {
        partner_id: p.id.clone(),
        partner: p.name.clone(),
        epsilon_total: show_milli(l.total),
        raises: l.raises,
        epsilon_spent: show_milli(l.spent),
        epsilon_remaining: show_milli(l.total.saturating_sub(l.spent)),
        releases: l.releases,
    }
}

/// One ledger row (never updated): the partner's id and name as registered, the kind, what it
/// spends or grants (`parameters`) and what the partner received (`released`).
#[allow(clippy::too_many_arguments)]
async fn insert_row(
    conn: &mut sqlx::AnyConnection,
    b: Backend,
    id: &str,
    p: &Partner,
    kind: &str,
    by: &str,
    parameters: &Value,
    released: &str,
) -> Result<(), StorageError> {
    sqlx::query(&format!(
        "INSERT INTO privacy_partner_shares (id, partner, partner_id, kind, created_at, created_by, parameters, released) VALUES ({})",
        (1..=8).map(|i| b.param(i)).collect::<Vec<_>>().join(", ")
    ))
    .bind(id)
    .bind(&p.name)
    .bind(&p.id)
    .bind(kind)
    .bind(to_db_time(now()))
    .bind(by)
    .bind(parameters.to_string())
    .bind(released)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets a registered partner's lifetime budget, once: audited and published in one
/// transaction. A partner whose budget is set already is refused ([`DpError::AlreadySet`]):
/// raising it is [`raise_budget`], with a reason.
pub async fn set_budget(
    db: &Database,
    partner: &str,
    epsilon_milli: u64,
    ctx: &AccessContext,
) -> Result<Budget, DpError> {
    let b = db.backend();
    let mut tx = db.begin_write().await?;
    let p = find_partner(tx.conn(), b, partner)
        .await?
        .ok_or(DpError::UnknownPartner)?;
    lock_partner(tx.conn(), b, &p.id).await?;
    if let Some(l) = ledger(tx.conn(), b, &p.id).await? {
        return Err(DpError::AlreadySet {
            total: show_milli(l.total),
        });
    }
    let id = uuid::Uuid::now_v7().to_string();
    insert_row(
        tx.conn(),
        b,
        &id,
        &p,
        "dp_budget",
        &ctx.actor.id,
        &json!({"epsilon_milli": epsilon_milli}),
        "",
    )
    .await?;
    tx.emit(&CloudEvent::of(&PartnerChanged {
        partner_id: p.id.clone(),
        change: "budget_set".into(),
        epsilon_total: Some(show_milli(epsilon_milli)),
    }))
    .await?;
    tx.audit(&[ctx.entry(
        audit::DP_BUDGET_SET,
        "partner_share",
        Some(id),
        vec![
            format!("partner:{}", p.name),
            format!("partner_id:{}", p.id),
            format!("epsilon_total:{}", show_milli(epsilon_milli)),
        ],
        "success",
    )])
    .await?;
    tx.commit().await?;
    let l = Ledger {
        total: epsilon_milli,
        raises: 0,
        spent: 0,
        releases: 0,
    };
    Ok(budget_of(&p, l))
}

/// Raises a partner's lifetime budget by `increase_milli`, with the reason kept in the ledger
/// row and the audit record (the totals before and after), and the event, in one transaction.
pub async fn raise_budget(
    db: &Database,
    raise: &Raise,
    ctx: &AccessContext,
) -> Result<Budget, DpError> {
    let b = db.backend();
    let mut tx = db.begin_write().await?;
    let p = find_partner(tx.conn(), b, &raise.partner)
        .await?
        .ok_or(DpError::UnknownPartner)?;
    lock_partner(tx.conn(), b, &p.id).await?;
    let Some(before) = ledger(tx.conn(), b, &p.id).await? else {
        return Err(DpError::NoBudget);
    };
    let after = Ledger {
        total: before.total + raise.increase_milli,
        raises: before.raises + 1,
        ..before
    };
    let id = uuid::Uuid::now_v7().to_string();
    insert_row(
        tx.conn(),
        b,
        &id,
        &p,
        "dp_budget_raise",
        &ctx.actor.id,
        &json!({
            "epsilon_milli": raise.increase_milli,
            "total_before_milli": before.total,
            "total_after_milli": after.total,
            "reason": raise.reason,
        }),
        "",
    )
    .await?;
    tx.emit(&CloudEvent::of(&PartnerChanged {
        partner_id: p.id.clone(),
        change: "budget_raised".into(),
        epsilon_total: Some(show_milli(after.total)),
    }))
    .await?;
    tx.audit(&[ctx.entry(
        DP_BUDGET_RAISED,
        "partner_share",
        Some(id),
        vec![
            format!("partner:{}", p.name),
            format!("partner_id:{}", p.id),
            format!("epsilon_total_before:{}", show_milli(before.total)),
            format!("epsilon_total_after:{}", show_milli(after.total)),
            format!("increase:{}", show_milli(raise.increase_milli)),
            format!("reason:{}", raise.reason),
        ],
        "success",
    )])
    .await?;
    tx.commit().await?;
    Ok(budget_of(&p, after))
}

/// Counts, adds noise and records the release — or refuses it when the partner is not
/// registered or its budget cannot pay for it — in one transaction with its event and audit
/// record.
pub async fn release(
    db: &Database,
    req: &DpRequest,
    ctx: &AccessContext,
) -> Result<DpRelease, DpError> {
    let b = db.backend();
    let p = {
        let mut conn = db.pool().acquire().await?;
        find_partner(&mut conn, b, &req.partner)
            .await?
            .ok_or(DpError::UnknownPartner)?
    };
    let purpose = crate::model::purpose("partner_sharing").expect("partner_sharing purpose");
    // One statement reads who counts and who is left out, so the two add up to the same
    // population even while facts are being written.
    let rows = sqlx::query(&format!(
        "SELECT f.age_band, f.home_airport, f.flights_12m, CASE WHEN {} THEN 'y' ELSE 'n' END AS counted FROM analytics_customer_facts f",
        crate::consent_exists_sql(purpose, "f.customer_id")
    ))
    .fetch_all(db.pool())
    .await?;
    let mut counts: Vec<(String, u64)> = Vec::new();
    let mut excluded = 0u64;
    for r in &rows {
        let counted: String = r.try_get("counted")?;
        if counted != "y" {
            excluded += 1;
            continue;
        }
        let age: Option<String> = r.try_get("age_band")?;
        let home: Option<String> = r.try_get("home_airport")?;
        let flights: i64 = r.try_get("flights_12m")?;
        let bin = match req.dimension {
            Dimension::AgeBand => age_at(age.as_deref(), 0),
            Dimension::Region => {
                let country = home
                    .as_deref()
                    .and_then(aloft_travel::airports::lookup)
                    .map(|a| a.country.clone());
                region_at(country.as_deref(), 1)
            }
            Dimension::TravelFrequency => frequency_at(flights, 0),
        };
        match counts.iter_mut().find(|(b, _)| *b == bin) {
            Some(c) => c.1 += 1,
            None => counts.push((bin, 1)),
        }
    }
    let noisy = noisy(&counts, req.dimension, req.epsilon_milli);
    let mut tx = db.begin_write().await?;
    lock_partner(tx.conn(), b, &p.id).await?;
    let Some(before) = ledger(tx.conn(), b, &p.id).await? else {
        return Err(DpError::NoBudget);
    };
    if before.spent + req.epsilon_milli > before.total {
        return Err(DpError::Exhausted {
            needed: show_milli(req.epsilon_milli),
            remaining: show_milli(before.total.saturating_sub(before.spent)),
        });
    }
    let id = uuid::Uuid::now_v7().to_string();
    let released = serde_json::to_string(&noisy).unwrap_or_default();
    insert_row(
        tx.conn(),
        b,
        &id,
        &p,
        "dp_counts",
        &ctx.actor.id,
        &json!({
            "epsilon_milli": req.epsilon_milli,
            "dimension": req.dimension.as_str(),
            "mechanism": "laplace",
            "sensitivity": 1,
            "excluded_no_consent": excluded,
        }),
        &released,
    )
    .await?;
    tx.emit(&CloudEvent::of(&PartnerShared {
        share_id: id.clone(),
        partner: p.name.clone(),
        kind: "dp_counts".into(),
        released: noisy.len() as u64,
        suppressed: 0,
        excluded_no_consent: excluded,
    }))
    .await?;
    tx.audit(&[ctx.entry(
        audit::PARTNER_SHARE,
        "partner_share",
        Some(id.clone()),
        vec![
            format!("partner:{}", p.name),
            format!("partner_id:{}", p.id),
            "kind:dp_counts".into(),
            format!("dimension:{}", req.dimension.as_str()),
            format!("epsilon:{}", show_milli(req.epsilon_milli)),
            format!("released:{released}"),
            format!("excluded_no_consent:{excluded}"),
        ],
        "success",
    )])
    .await?;
    tx.commit().await?;
    let after = Ledger {
        spent: before.spent + req.epsilon_milli,
        releases: before.releases + 1,
        ..before
    };
    Ok(DpRelease {
        id,
        partner_id: p.id.clone(),
        partner: p.name.clone(),
        dimension: req.dimension.as_str().into(),
        epsilon: show_milli(req.epsilon_milli),
        counts: noisy,
        excluded_no_consent: excluded,
        budget: budget_of(&p, after),
    })
}

/// Every registered partner with a budget, with what is spent and remains.
pub async fn budgets(db: &Database) -> Result<Vec<Budget>, StorageError> {
    let partners = crate::sharing::partners(db).await?;
    let mut out = Vec::new();
    let mut conn = db.pool().acquire().await?;
    for p in partners {
        if let Some(l) = ledger(&mut conn, db.backend(), &p.id).await? {
            out.push(budget_of(&p, l));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epsilon_is_read_exactly_in_thousandths() {
        assert_eq!(parse_epsilon(&json!(0.5), 10, 5000), Ok(500));
        assert_eq!(parse_epsilon(&json!("1.25"), 10, 5000), Ok(1250));
        assert_eq!(parse_epsilon(&json!(2), 10, 5000), Ok(2000));
        assert!(parse_epsilon(&json!(0.0001), 10, 5000).is_err());
        assert!(parse_epsilon(&json!(6), 10, 5000).is_err());
        assert!(parse_epsilon(&json!(-1), 10, 5000).is_err());
        assert!(parse_epsilon(&json!("abc"), 10, 5000).is_err());
        assert_eq!(show_milli(1250), "1.250");
    }

    #[test]
    fn laplace_noise_has_the_right_spread_and_covers_every_bin() {
        // Inverse transform at known quantiles: median 0, P(X <= b ln 2... ) symmetric.
        assert_eq!(laplace(2.0, 0.5), 0.0);
        assert!((laplace(1.0, 0.75) - 2f64.ln()).abs() < 1e-12);
        assert!((laplace(1.0, 0.25) + 2f64.ln()).abs() < 1e-12);
        // Mean absolute deviation of Laplace(b) is b: sample it.
        let n = 20_000;
        let mad: f64 = (0..n).map(|_| laplace(2.0, uniform()).abs()).sum::<f64>() / n as f64;
        assert!((mad - 2.0).abs() < 0.15, "{mad}");
        let h = noisy(&[("Europe".into(), 1000)], Dimension::Region, 1000);
        assert_eq!(h.len(), Dimension::Region.domain().len());
        let eu = h.iter().find(|(b, _)| b == "Europe").unwrap().1;
        assert!((950..=1050).contains(&eu), "{eu}");
    }

    #[test]
    fn requests_name_their_bad_fields() {
        let e = parse_release(&json!({"dimension": "name", "epsilon": 9})).unwrap_err();
        let p: Vec<_> = e.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(p, ["/partner", "/dimension", "/epsilon"]);
        assert!(parse_budget(&json!({"partner": "A", "epsilon": 1})).is_ok());
        let e = parse_raise(&json!({"partner": "A", "epsilon": 1, "reason": "more"})).unwrap_err();
        let p: Vec<_> = e.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(p, ["/reason"]);
        let r = parse_raise(
            &json!({"partner": "A", "epsilon": "0.5", "reason": "DSA-7 amended on 2026-12-01"}),
        )
        .unwrap();
        assert_eq!(r.increase_milli, 500);
    }

    #[test]
    fn the_cap_is_the_sum_of_grants_and_no_later_row_resets_it() {
        let row = |k: &str, m: u64| (k.to_owned(), m);
        assert_eq!(tally(&[row("dp_counts", 500)]), None, "no budget set");
        let l = tally(&[
            row("dp_budget", 1000),
            row("dp_counts", 500),
            row("dp_counts", 500),
            row("dp_budget_raise", 250),
            row("dp_counts", 250),
        ])
        .unwrap();
        assert_eq!(
            l,
            Ledger {
                total: 1250,
                raises: 1,
                spent: 1250,
                releases: 3
            }
        );
    }
}
