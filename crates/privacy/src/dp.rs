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
//! Budget: sequential composition — a partner's releases add up. The privacy officer sets a
//! partner's total ε; every release spends its ε; a release whose ε exceeds what remains is
//! refused (409) and nothing is released. Amounts are kept in thousandths of ε as integers, so
//! the ledger adds up exactly. The ledger is `privacy_partner_shares` (migration 0039): rows of
//! kind `dp_budget` set a partner's total (the latest counts) and rows of kind `dp_counts` are
//! releases; the check and the spend happen in one write transaction (SQLite has one writer;
//! PostgreSQL takes a transaction-scoped advisory lock per partner), so concurrent releases
//! cannot overspend. Every release is audited with what was released.

use aloft_kernel::db::{now, to_db_time};
use aloft_kernel::fields::FieldReader;
use aloft_kernel::{AccessContext, Backend, CloudEvent, Database, FieldError, StorageError};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::Row;
use utoipa::ToSchema;

use crate::events::audit;
use crate::sharing::{PartnerShared, age_at, frequency_at, region_at};

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

/// A release asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct DpRequest {
    /// The partner.
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

/// Reads a budget: `partner`, `epsilon` (the partner's total, 0.01–100).
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
    /// The partner.
    pub partner: String,
    /// Total ε (decimal text).
    pub epsilon_total: String,
    /// ε spent.
    pub epsilon_spent: String,
    /// ε remaining.
    pub epsilon_remaining: String,
    /// Releases made.
    pub releases: u64,
}

/// A release as answered.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DpRelease {
    /// The release's id.
    pub id: String,
    /// The partner.
    pub partner: String,
    /// The dimension.
    pub dimension: String,
    /// ε spent by this release.
    pub epsilon: String,
    /// The noisy counts, every bin of the domain.
    pub counts: Vec<(String, u64)>,
    /// The partner's budget after it.
    pub budget: Budget,
}

/// Errors of differentially private releases.
#[derive(Debug, thiserror::Error)]
pub enum DpError {
    /// The partner has no budget set.
    #[error("no privacy budget is set for this partner")]
    NoBudget,
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
    partner: &str,
) -> Result<(), StorageError> {
    if b == Backend::Postgres {
        sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtext($1))) AS l")
            .bind(format!("privacy.dp:{partner}"))
            .fetch_one(conn)
            .await?;
    }
    Ok(())
}

/// (total, spent, releases) in thousandths of ε, read on `conn`.
async fn ledger(
    conn: &mut sqlx::AnyConnection,
    b: Backend,
    partner: &str,
) -> Result<Option<(u64, u64, u64)>, StorageError> {
    let rows = sqlx::query(&format!(
        "SELECT kind, parameters FROM privacy_partner_shares WHERE partner = {} AND kind IN ('dp_budget', 'dp_counts') ORDER BY created_at, id",
        b.param(1)
    ))
    .bind(partner)
    .fetch_all(conn)
    .await?;
    let mut total = None;
    let (mut spent, mut n) = (0u64, 0u64);
    for r in rows {
        let kind: String = r.try_get("kind")?;
        let p: String = r.try_get("parameters")?;
        let p: Value = serde_json::from_str(&p).unwrap_or(Value::Null);
        let m = p["epsilon_milli"].as_u64().unwrap_or(0);
        if kind == "dp_budget" {
            total = Some(m);
        } else {
            spent += m;
            n += 1;
        }
    }
    Ok(total.map(|t| (t, spent, n)))
}

fn budget_of(partner: &str, total: u64, spent: u64, n: u64) -> Budget {
    Budget {
        partner: partner.into(),
        epsilon_total: show_milli(total),
        epsilon_spent: show_milli(spent),
        epsilon_remaining: show_milli(total.saturating_sub(spent)),
        releases: n,
    }
}

/// Sets a partner's total budget (a new ledger row; what was spent stays spent), audited.
pub async fn set_budget(
    db: &Database,
    partner: &str,
    epsilon_milli: u64,
    ctx: &AccessContext,
) -> Result<Budget, StorageError> {
    let b = db.backend();
    let mut tx = db.begin_write().await?;
    lock_partner(tx.conn(), b, partner).await?;
    let id = uuid::Uuid::now_v7().to_string();
    sqlx::query(&format!(
        "INSERT INTO privacy_partner_shares (id, partner, kind, created_at, created_by, parameters, released) VALUES ({})",
        (1..=7).map(|i| b.param(i)).collect::<Vec<_>>().join(", ")
    ))
    .bind(&id)
    .bind(partner)
    .bind("dp_budget")
    .bind(to_db_time(now()))
    .bind(&ctx.actor.id)
    .bind(json!({"epsilon_milli": epsilon_milli}).to_string())
    .bind("")
    .execute(tx.conn())
    .await?;
    let (t, s, n) = ledger(tx.conn(), b, partner)
        .await?
        .unwrap_or((epsilon_milli, 0, 0));
    tx.audit(&[ctx.entry(
        audit::DP_BUDGET_SET,
        "partner_share",
        Some(id),
        vec![
            format!("partner:{partner}"),
            format!("epsilon_total:{}", show_milli(epsilon_milli)),
        ],
        "success",
    )])
    .await?;
    tx.commit().await?;
    Ok(budget_of(partner, t, s, n))
}

/// Counts, adds noise and records the release — or refuses it when the partner's budget cannot
/// pay for it — in one transaction with its event and audit record.
pub async fn release(
    db: &Database,
    req: &DpRequest,
    ctx: &AccessContext,
) -> Result<DpRelease, DpError> {
    let purpose = crate::model::purpose("partner_sharing").expect("partner_sharing purpose");
    let b = db.backend();
    let rows = sqlx::query(&format!(
        "SELECT f.age_band, f.home_airport, f.flights_12m FROM analytics_customer_facts f WHERE {}",
        crate::consent_exists_sql(purpose, "f.customer_id")
    ))
    .fetch_all(db.pool())
    .await?;
    let mut counts: Vec<(String, u64)> = Vec::new();
    for r in &rows {
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
    lock_partner(tx.conn(), b, &req.partner).await?;
    let Some((total, spent, n)) = ledger(tx.conn(), b, &req.partner).await? else {
        return Err(DpError::NoBudget);
    };
    if spent + req.epsilon_milli > total {
        return Err(DpError::Exhausted {
            needed: show_milli(req.epsilon_milli),
            remaining: show_milli(total.saturating_sub(spent)),
        });
    }
    let id = uuid::Uuid::now_v7().to_string();
    let released = serde_json::to_string(&noisy).unwrap_or_default();
    sqlx::query(&format!(
        "INSERT INTO privacy_partner_shares (id, partner, kind, created_at, created_by, parameters, released) VALUES ({})",
        (1..=7).map(|i| b.param(i)).collect::<Vec<_>>().join(", ")
    ))
    .bind(&id)
    .bind(&req.partner)
    .bind("dp_counts")
    .bind(to_db_time(now()))
    .bind(&ctx.actor.id)
    .bind(
        json!({"epsilon_milli": req.epsilon_milli, "dimension": req.dimension.as_str(), "mechanism": "laplace", "sensitivity": 1})
            .to_string(),
    )
    .bind(&released)
    .execute(tx.conn())
    .await?;
    tx.emit(&CloudEvent::of(&PartnerShared {
        share_id: id.clone(),
        partner: req.partner.clone(),
        kind: "dp_counts".into(),
        released: noisy.len() as u64,
        suppressed: 0,
        excluded_no_consent: 0,
    }))
    .await?;
    tx.audit(&[ctx.entry(
        audit::PARTNER_SHARE,
        "partner_share",
        Some(id.clone()),
        vec![
            format!("partner:{}", req.partner),
            "kind:dp_counts".into(),
            format!("dimension:{}", req.dimension.as_str()),
            format!("epsilon:{}", show_milli(req.epsilon_milli)),
            format!("released:{released}"),
        ],
        "success",
    )])
    .await?;
    tx.commit().await?;
    Ok(DpRelease {
        id,
        partner: req.partner.clone(),
        dimension: req.dimension.as_str().into(),
        epsilon: show_milli(req.epsilon_milli),
        counts: noisy,
        budget: budget_of(&req.partner, total, spent + req.epsilon_milli, n + 1),
    })
}

/// Every partner with a budget, with what is spent and remains.
pub async fn budgets(db: &Database) -> Result<Vec<Budget>, StorageError> {
    let partners: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT partner FROM privacy_partner_shares WHERE kind = 'dp_budget' ORDER BY partner",
    )
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::new();
    let mut conn = db.pool().acquire().await?;
    for p in partners {
        if let Some((t, s, n)) = ledger(&mut conn, db.backend(), &p).await? {
            out.push(budget_of(&p, t, s, n));
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
    }
}
