//! Anonymised insight sharing with partners (issue 21, item 5): segment-level insights that are
//! k-anonymous and l-diverse.
//!
//! What is released: for each equivalence class of the generalised quasi-identifiers — age band,
//! region (from the home airport's country), travel-frequency band — the count of people per
//! value of one sensitive attribute (meal preference or cabin). No id, no name, no exact value.
//!
//! How ([`anonymise`], pure): every quasi-identifier has a generalisation hierarchy of three
//! levels (exact band → wider band → `*`). The 27 combinations are tried from the least
//! generalised (sum of levels, then age before region before frequency); in each, the classes
//! with fewer than `k` people or fewer than `l` distinct sensitive values are suppressed. The
//! first combination whose suppression stays within `max_suppression_percent` of the population
//! is released (Samarati's minimal generalisation with bounded suppression); if none does, the
//! fully generalised one is, with its suppression. Every released class therefore has ≥ k people
//! and ≥ l distinct sensitive values (distinct l-diversity) — verified independently by the
//! integration test with PyPI `pycanon` on the released CSV.
//!
//! Who is in it: only people who gave the `partner_sharing` consent, and whose processing is not
//! restricted ([`crate::consent_exists_sql`]); the others are counted (`excluded_no_consent`), not
//! released. Every share is stored with the released CSV and audited (`privacy.partner_share`,
//! fields: the released columns and counts) with the event `aloft.privacy.partner_shared` in one
//! transaction (migration 0039).
//!
//! Who receives it: a partner the privacy officer registered ([`register_partner`], migration
//! 0061: name, contact, the legal agreement the disclosure rests on). A share or a
//! differentially private release names the partner by id or by its registered name (case and
//! spacing do not matter); any other name is refused (422 on `/partner`). So a new spelling of a
//! partner's name cannot open a fresh privacy budget, and the records of processing list exactly
//! the registered partners as the recipients of `partner_sharing`.

use std::collections::{BTreeMap, BTreeSet};

use aloft_kernel::db::{now, to_db_time};
use aloft_kernel::event_types::DomainEvent;
use aloft_kernel::fields::FieldReader;
use aloft_kernel::{AccessContext, CloudEvent, Database, FieldError, StorageError};
use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use utoipa::ToSchema;

use crate::events::{EVENT_SOURCE, audit};

/// The sensitive attribute a share describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sensitive {
    /// The meal preference (`VGML`, `KSML`…; `none` when there is none).
    MealPreference,
    /// The cabin flown most (`economy`, `business`…).
    Cabin,
}

impl Sensitive {
    /// The code and CSV column name.
    pub fn as_str(self) -> &'static str {
        match self {
            Sensitive::MealPreference => "meal_preference",
            Sensitive::Cabin => "cabin",
        }
    }
    /// The column of `analytics_customer_facts` it reads.
    pub fn column(self) -> &'static str {
        match self {
            Sensitive::MealPreference => "meal_preference",
            Sensitive::Cabin => "main_cabin",
        }
    }
}

/// Audit action: a partner was registered to receive anonymised insights.
pub const PARTNER_REGISTERED: aloft_kernel::audit::AuditAction =
    aloft_kernel::audit::AuditAction::new("privacy.partner_registered");

/// A partner registered to receive anonymised insights and differentially private counts.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Partner {
    /// The partner's id.
    pub id: String,
    /// Its name as registered (`Star Hotels`).
    pub name: String,
    /// Whom to contact at the partner about the data (privacy contact).
    pub contact: String,
    /// The legal agreement (data-sharing agreement) the disclosures rest on.
    pub agreement_ref: String,
    /// When it was registered (RFC 3339 UTC).
    pub created_at: String,
    /// Who registered it.
    pub created_by: String,
}

/// A partner to register, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPartner {
    /// Name.
    pub name: String,
    /// Contact.
    pub contact: String,
    /// Legal agreement reference.
    pub agreement_ref: String,
}

/// The key a partner's name is unique by: lower case, runs of spaces collapsed — so `Star
/// Hotels` and `star  hotels` are one partner (and one budget).
pub fn name_key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Reads a partner: `name` (1–100 characters), `contact` (3–200), `agreement_ref` (1–100).
pub fn parse_partner(doc: &Value) -> Result<NewPartner, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(obj) = doc.as_object() else {
        return Err(vec![FieldError::new("", "must be a JSON object")]);
    };
    let mut r = FieldReader::new(obj, "", &mut errors);
    r.reject_unknown(&["name", "contact", "agreement_ref"]);
    let text = |what: &'static str, min: usize, max: usize| {
        move |s: &str| {
            let t = s.split_whitespace().collect::<Vec<_>>().join(" ");
            match t.chars().count() {
                0 => Err(format!("is required: {what}")),
                n if n < min => Err(format!("must be at least {min} characters")),
                n if n > max => Err(format!("must be at most {max} characters")),
                _ => Ok(t),
            }
        }
    };
    let name = r.req("name", text("the partner's name", 1, 100));
    let contact = r.req(
        "contact",
        text("whom to contact at the partner about the data", 3, 200),
    );
    let agreement_ref = r.req(
        "agreement_ref",
        text("the legal agreement the sharing rests on", 1, 100),
    );
    match (name, contact, agreement_ref) {
        (Some(name), Some(contact), Some(agreement_ref)) if errors.is_empty() => Ok(NewPartner {
            name,
            contact,
            agreement_ref,
        }),
        _ => Err(errors),
    }
}

/// Errors of the partner register and of shares.
#[derive(Debug, thiserror::Error)]
pub enum ShareError {
    /// The partner named is not registered.
    #[error("the partner is not registered")]
    UnknownPartner,
    /// A partner with this name (up to case and spacing) is already registered.
    #[error("a partner with this name is already registered")]
    DuplicatePartner,
    /// The database.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<sqlx::Error> for ShareError {
    fn from(e: sqlx::Error) -> Self {
        ShareError::Storage(e.into())
    }
}

const PARTNER_COLUMNS: &str = "id, name, contact, agreement_ref, created_at, created_by";

fn partner_from(r: &sqlx::any::AnyRow) -> Result<Partner, sqlx::Error> {
    Ok(Partner {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        contact: r.try_get("contact")?,
        agreement_ref: r.try_get("agreement_ref")?,
        created_at: r.try_get("created_at")?,
        created_by: r.try_get("created_by")?,
    })
}

/// Registers a partner, audited, with the event `aloft.privacy.partner_changed`, in one
/// transaction; a name already registered (up to case and spacing) is refused.
pub async fn register_partner(
    db: &Database,
    new: &NewPartner,
    ctx: &AccessContext,
) -> Result<Partner, ShareError> {
    let b = db.backend();
    let p = Partner {
        id: uuid::Uuid::now_v7().to_string(),
        name: new.name.clone(),
        contact: new.contact.clone(),
        agreement_ref: new.agreement_ref.clone(),
        created_at: to_db_time(now()),
        created_by: ctx.actor.id.clone(),
    };
    let mut tx = db.begin_write().await?;
    // Insert-if-absent on the unique key: no failed statement (which would abort a PostgreSQL
    // transaction), and no window between a check and the insert.
    let inserted = sqlx::query(&format!(
        "INSERT INTO privacy_partners (id, name, name_key, contact, agreement_ref, created_at, created_by) \
         SELECT {} WHERE NOT EXISTS (SELECT 1 FROM privacy_partners WHERE name_key = {})",
        (1..=7).map(|i| b.param(i)).collect::<Vec<_>>().join(", "),
        b.param(8)
    ))
    .bind(&p.id)
    .bind(&p.name)
    .bind(name_key(&p.name))
    .bind(&p.contact)
    .bind(&p.agreement_ref)
    .bind(&p.created_at)
    .bind(&p.created_by)
    .bind(name_key(&p.name))
    .execute(tx.conn())
    .await?
    .rows_affected();
    if inserted == 0 {
        return Err(ShareError::DuplicatePartner);
    }
    let adopted = adopt_legacy(tx.conn(), b, &p).await?;
    tx.emit(&CloudEvent::of(&PartnerChanged {
        partner_id: p.id.clone(),
        change: "registered".into(),
        epsilon_total: None,
    }))
    .await?;
    tx.audit(&[ctx.entry(
        PARTNER_REGISTERED,
        "privacy_partner",
        Some(p.id.clone()),
        vec![
            format!("name:{}", p.name),
            format!("agreement_ref:{}", p.agreement_ref),
            format!("adopted_releases:{adopted}"),
        ],
        "success",
    )])
    .await?;
    tx.commit().await?;
    Ok(p)
}

/// Releases made before partners were registered (free-text partner, no `partner_id`) under a
/// name with this partner's key are attached to it: what the partner already received keeps
/// counting — its differentially private releases spend its lifetime budget. Budget rows of
/// that time are not attached (the old rule let a later row replace the total, so they prove
/// no cap): the privacy officer sets the lifetime cap anew, and the old spending counts
/// against it. Returns how many rows were attached.
async fn adopt_legacy(
    conn: &mut sqlx::AnyConnection,
    b: aloft_kernel::Backend,
    p: &Partner,
) -> Result<u64, StorageError> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT partner FROM privacy_partner_shares WHERE partner_id IS NULL AND kind IN ('dp_counts', 'k_anonymous')",
    )
    .fetch_all(&mut *conn)
    .await?;
    let key = name_key(&p.name);
    let mut n = 0;
    for name in names.iter().filter(|n| name_key(n) == key) {
        n += sqlx::query(&format!(
            "UPDATE privacy_partner_shares SET partner_id = {} WHERE partner_id IS NULL AND partner = {} AND kind IN ('dp_counts', 'k_anonymous')",
            b.param(1),
            b.param(2)
        ))
        .bind(&p.id)
        .bind(name)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    Ok(n)
}

/// Every registered partner, by name.
pub async fn partners(db: &Database) -> Result<Vec<Partner>, StorageError> {
    let rows = sqlx::query(&format!(
        "SELECT {PARTNER_COLUMNS} FROM privacy_partners ORDER BY name_key"
    ))
    .fetch_all(db.pool())
    .await?;
    Ok(rows.iter().map(partner_from).collect::<Result<_, _>>()?)
}

/// The registered partner named by `id_or_name` — its id, or its name up to case and spacing —
/// read on `conn`.
pub async fn find_partner(
    conn: &mut sqlx::AnyConnection,
    b: aloft_kernel::Backend,
    id_or_name: &str,
) -> Result<Option<Partner>, StorageError> {
    let row = sqlx::query(&format!(
        "SELECT {PARTNER_COLUMNS} FROM privacy_partners WHERE id = {} OR name_key = {} ORDER BY CASE WHEN id = {} THEN 0 ELSE 1 END",
        b.param(1),
        b.param(2),
        b.param(3)
    ))
    .bind(id_or_name.trim())
    .bind(name_key(id_or_name))
    .bind(id_or_name.trim())
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(partner_from).transpose()?)
}

/// Event type: a partner was registered, or its privacy budget set or raised.
pub const PARTNER_CHANGED: &str = "aloft.privacy.partner_changed";

/// `aloft.privacy.partner_changed`, version 1: ids, the change and the budget total; never the
/// reason text.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartnerChanged {
    /// The partner.
    pub partner_id: String,
    /// `registered`, `budget_set` or `budget_raised`.
    pub change: String,
    /// The lifetime budget ε after the change (decimal text), for budget changes.
    pub epsilon_total: Option<String>,
}

impl DomainEvent for PartnerChanged {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        PARTNER_CHANGED
    }
    fn subject(&self) -> Option<String> {
        None
    }
}

/// A share asked for, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ShareRequest {
    /// The registered partner, by id or registered name (`Star Hotels`).
    pub partner: String,
    /// Minimum class size.
    pub k: u32,
    /// Minimum distinct sensitive values per class.
    pub l: u32,
    /// The sensitive attribute.
    pub sensitive: Sensitive,
    /// At most this share of the population may be suppressed before generalising further.
    pub max_suppression_percent: u32,
}

/// Reads a share request: `partner`, optional `k` (2–1000, default 5), `l` (1–k, default 2),
/// `sensitive` (`meal_preference` default, or `cabin`), `max_suppression_percent` (0–50, default 10).
pub fn parse_request(doc: &Value) -> Result<ShareRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(obj) = doc.as_object() else {
        return Err(vec![FieldError::new("", "must be a JSON object")]);
    };
    let mut r = FieldReader::new(obj, "", &mut errors);
    r.reject_unknown(&["partner", "k", "l", "sensitive", "max_suppression_percent"]);
    let partner = r.req("partner", |s| match s.trim() {
        "" => Err("is required: who receives the share".to_owned()),
        t if t.chars().count() > 100 => Err("must be at most 100 characters".to_owned()),
        t => Ok(t.to_owned()),
    });
    let k = r.int("k", 2, 1000).unwrap_or(5);
    let l = r.int("l", 1, 1000).unwrap_or(2);
    if l > k {
        r.fail(
            "l",
            "must not exceed k (a class of k people has at most k distinct values)",
        );
    }
    let sensitive = r
        .opt("sensitive", |s| match s {
            "meal_preference" => Ok(Sensitive::MealPreference),
            "cabin" => Ok(Sensitive::Cabin),
            _ => Err("must be meal_preference or cabin".to_owned()),
        })
        .unwrap_or(Sensitive::MealPreference);
    let max_suppression_percent = r.int("max_suppression_percent", 0, 50).unwrap_or(10);
    match partner {
        Some(partner) if errors.is_empty() => Ok(ShareRequest {
            partner,
            k,
            l,
            sensitive,
            max_suppression_percent,
        }),
        _ => Err(errors),
    }
}

/// One person as the anonymiser sees them: quasi-identifiers and the sensitive value only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// Age band as derived (`25-34`), if known.
    pub age_band: Option<String>,
    /// ISO country of the home airport, if known.
    pub country: Option<String>,
    /// Flights in the last twelve months.
    pub flights_12m: i64,
    /// The sensitive value.
    pub sensitive: String,
}

/// Age band at generalisation level 0 (as derived), 1 (wider) or 2 (`*`).
pub fn age_at(band: Option<&str>, level: u8) -> String {
    let Some(b) = band.filter(|b| !b.is_empty()) else {
        return if level >= 2 { "*" } else { "unknown" }.into();
    };
    match level {
        0 => b.to_owned(),
        1 => {
            let low: u32 = b
                .trim_end_matches('+')
                .split('-')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            match low {
                0..=17 => "0-17",
                18..=34 => "18-34",
                35..=54 => "35-54",
                _ => "55+",
            }
            .into()
        }
        _ => "*".into(),
    }
}

/// The world region of an ISO country code (level 1 of the region hierarchy).
pub fn world_region(country: &str) -> &'static str {
    const EUROPE: &[&str] = &[
        "AD", "AL", "AT", "BA", "BE", "BG", "BY", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI",
        "FO", "FR", "GB", "GI", "GR", "HR", "HU", "IE", "IS", "IT", "LI", "LT", "LU", "LV", "MC",
        "MD", "ME", "MK", "MT", "NL", "NO", "PL", "PT", "RO", "RS", "SE", "SI", "SK", "SM", "UA",
        "VA", "XK",
    ];
    const NORTH_AMERICA: &[&str] = &["US", "CA", "MX", "BM", "GL"];
    const LATIN_AMERICA: &[&str] = &[
        "AR", "BO", "BR", "CL", "CO", "CR", "CU", "DO", "EC", "GT", "HN", "JM", "NI", "PA", "PE",
        "PR", "PY", "SV", "TT", "UY", "VE", "BS", "BB",
    ];
    const MIDDLE_EAST: &[&str] = &[
        "AE", "BH", "IL", "IQ", "IR", "JO", "KW", "LB", "OM", "QA", "SA", "SY", "TR", "YE",
    ];
    const ASIA_PACIFIC: &[&str] = &[
        "AU", "BD", "CN", "HK", "ID", "IN", "JP", "KH", "KR", "LK", "MM", "MO", "MV", "MY", "NP",
        "NZ", "PH", "PK", "SG", "TH", "TW", "VN", "FJ", "KZ", "UZ", "MN",
    ];
    let c = country;
    if EUROPE.contains(&c) {
        "Europe"
    } else if NORTH_AMERICA.contains(&c) {
        "North America"
    } else if LATIN_AMERICA.contains(&c) {
        "Latin America"
    } else if MIDDLE_EAST.contains(&c) {
        "Middle East"
    } else if ASIA_PACIFIC.contains(&c) {
        "Asia-Pacific"
    } else if c.len() == 2 {
        "Africa and other"
    } else {
        "unknown"
    }
}

/// Region at level 0 (country), 1 (world region) or 2 (`*`).
pub fn region_at(country: Option<&str>, level: u8) -> String {
    match (country.filter(|c| !c.is_empty()), level) {
        (_, 2..) => "*".into(),
        (None, _) => "unknown".into(),
        (Some(c), 0) => c.to_owned(),
        (Some(c), _) => world_region(c).into(),
    }
}

/// Travel frequency at level 0 (`0`, `1-2`, `3-5`, `6-11`, `12+` flights a year), 1
/// (`0-2`, `3+`) or 2 (`*`).
pub fn frequency_at(flights: i64, level: u8) -> String {
    match level {
        0 => match flights {
            i64::MIN..=0 => "0",
            1..=2 => "1-2",
            3..=5 => "3-5",
            6..=11 => "6-11",
            _ => "12+",
        },
        1 => {
            if flights <= 2 {
                "0-2"
            } else {
                "3+"
            }
        }
        _ => "*",
    }
    .into()
}

/// One released equivalence class.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Class {
    /// Generalised age band.
    pub age_band: String,
    /// Generalised region.
    pub region: String,
    /// Generalised travel frequency.
    pub travel_frequency: String,
    /// People per sensitive value.
    pub counts: BTreeMap<String, u64>,
}

/// The outcome of anonymisation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Release {
    /// Generalisation levels chosen: age, region, frequency (0 exact … 2 suppressed to `*`).
    pub levels: [u8; 3],
    /// The released classes.
    pub classes: Vec<Class>,
    /// People released.
    pub released: u64,
    /// People suppressed (in classes smaller than k or less diverse than l).
    pub suppressed: u64,
}

type Key = (String, String, String);

fn classes_at(subjects: &[Subject], lv: [u8; 3]) -> BTreeMap<Key, BTreeMap<String, u64>> {
    let mut m: BTreeMap<Key, BTreeMap<String, u64>> = BTreeMap::new();
    for s in subjects {
        let key = (
            age_at(s.age_band.as_deref(), lv[0]),
            region_at(s.country.as_deref(), lv[1]),
            frequency_at(s.flights_12m, lv[2]),
        );
        *m.entry(key)
            .or_default()
            .entry(s.sensitive.clone())
            .or_default() += 1;
    }
    m
}

/// Generalises and suppresses `subjects` so that every released class has at least `k` people
/// and `l` distinct sensitive values. See the module documentation for the search.
pub fn anonymise(subjects: &[Subject], k: u32, l: u32, max_suppression_percent: u32) -> Release {
    let mut lattice: Vec<[u8; 3]> = Vec::new();
    for a in 0..3u8 {
        for r in 0..3u8 {
            for f in 0..3u8 {
                lattice.push([a, r, f]);
            }
        }
    }
    lattice.sort_by_key(|lv| (lv[0] + lv[1] + lv[2], *lv));
    let n = subjects.len() as u64;
    let allowed = n * u64::from(max_suppression_percent) / 100;
    let mut chosen = None;
    for lv in &lattice {
        let m = classes_at(subjects, *lv);
        let suppressed: u64 = m
            .values()
            .filter(|c| !ok(c, k, l))
            .map(|c| c.values().sum::<u64>())
            .sum();
        if suppressed <= allowed {
            chosen = Some((*lv, m, suppressed));
            break;
        }
    }
    let (levels, m, suppressed) = chosen.unwrap_or_else(|| {
        let m = classes_at(subjects, [2, 2, 2]);
        let s = m
            .values()
            .filter(|c| !ok(c, k, l))
            .map(|c| c.values().sum::<u64>())
            .sum();
        ([2, 2, 2], m, s)
    });
    let classes: Vec<Class> = m
        .into_iter()
        .filter(|(_, c)| ok(c, k, l))
        .map(|((a, r, f), counts)| Class {
            age_band: a,
            region: r,
            travel_frequency: f,
            counts,
        })
        .collect();
    Release {
        levels,
        released: n - suppressed,
        suppressed,
        classes,
    }
}

fn ok(counts: &BTreeMap<String, u64>, k: u32, l: u32) -> bool {
    counts.values().sum::<u64>() >= u64::from(k) && counts.len() >= l as usize
}

fn q(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The release as CSV: `age_band,region,travel_frequency,<sensitive>,count`, one line per class
/// and sensitive value.
pub fn to_csv(r: &Release, sensitive: Sensitive) -> String {
    let mut out = format!(
        "age_band,region,travel_frequency,{},count\n",
        sensitive.as_str()
    );
    for c in &r.classes {
        for (v, n) in &c.counts {
            out.push_str(&format!(
                "{},{},{},{},{n}\n",
                q(&c.age_band),
                q(&c.region),
                q(&c.travel_frequency),
                q(v)
            ));
        }
    }
    out
}

/// A share as stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Share {
    /// The share's id.
    pub id: String,
    /// Who received it (the registered name).
    pub partner: String,
    /// The registered partner's id (none for shares made before partners were registered).
    pub partner_id: Option<String>,
    /// When (RFC 3339 UTC).
    pub created_at: String,
    /// Who released it.
    pub created_by: String,
    /// k.
    pub k: u32,
    /// l.
    pub l: u32,
    /// The sensitive attribute.
    pub sensitive: String,
    /// Generalisation levels: age, region, frequency.
    pub levels: Vec<u8>,
    /// Classes released.
    pub classes: u64,
    /// People released.
    pub released: u64,
    /// People suppressed.
    pub suppressed: u64,
    /// People left out because they did not consent to partner sharing (or are restricted).
    pub excluded_no_consent: u64,
}

/// Event type: an anonymised share was released to a partner.
pub const PARTNER_SHARED: &str = "aloft.privacy.partner_shared";

/// `aloft.privacy.partner_shared`, version 1: the share's id, partner and counts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartnerShared {
    /// The share.
    pub share_id: String,
    /// The partner.
    pub partner: String,
    /// `k_anonymous`.
    pub kind: String,
    /// People released.
    pub released: u64,
    /// People suppressed.
    pub suppressed: u64,
    /// People excluded for lack of consent.
    pub excluded_no_consent: u64,
}

impl DomainEvent for PartnerShared {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        PARTNER_SHARED
    }
    fn subject(&self) -> Option<String> {
        None
    }
}

/// Reads the population, anonymises it and stores the share with its CSV, its event and audit
/// record in one transaction. Returns the share and the CSV. A partner that is not registered
/// is refused before anything is read.
pub async fn release(
    db: &Database,
    req: &ShareRequest,
    ctx: &AccessContext,
) -> Result<(Share, String), ShareError> {
    let partner = {
        let mut conn = db.pool().acquire().await?;
        find_partner(&mut conn, db.backend(), &req.partner)
            .await?
            .ok_or(ShareError::UnknownPartner)?
    };
    let purpose = crate::model::purpose("partner_sharing").expect("partner_sharing purpose");
    let total: i64 = sqlx::query("SELECT COUNT(*) FROM analytics_customer_facts")
        .fetch_one(db.pool())
        .await?
        .try_get(0)?;
    let rows = sqlx::query(&format!(
        "SELECT f.age_band, f.home_airport, f.flights_12m, f.{} AS sensitive FROM analytics_customer_facts f WHERE {}",
        req.sensitive.column(),
        crate::consent_exists_sql(purpose, "f.customer_id")
    ))
    .fetch_all(db.pool())
    .await?;
    let mut subjects = Vec::with_capacity(rows.len());
    for r in &rows {
        let home: Option<String> = r.try_get("home_airport")?;
        let sensitive: Option<String> = r.try_get("sensitive")?;
        subjects.push(Subject {
            age_band: r.try_get("age_band")?,
            country: home
                .as_deref()
                .and_then(aloft_travel::airports::lookup)
                .map(|a| a.country.clone()),
            flights_12m: r.try_get("flights_12m")?,
            sensitive: sensitive
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "none".into()),
        });
    }
    let excluded = u64::try_from(total).unwrap_or(0) - subjects.len() as u64;
    let rel = anonymise(&subjects, req.k, req.l, req.max_suppression_percent);
    let csv = to_csv(&rel, req.sensitive);
    let share = Share {
        id: uuid::Uuid::now_v7().to_string(),
        partner: partner.name.clone(),
        partner_id: Some(partner.id.clone()),
        created_at: to_db_time(now()),
        created_by: ctx.actor.id.clone(),
        k: req.k,
        l: req.l,
        sensitive: req.sensitive.as_str().into(),
        levels: rel.levels.to_vec(),
        classes: rel.classes.len() as u64,
        released: rel.released,
        suppressed: rel.suppressed,
        excluded_no_consent: excluded,
    };
    let b = db.backend();
    let params = serde_json::json!({
        "k": share.k, "l": share.l, "sensitive": share.sensitive,
        "max_suppression_percent": req.max_suppression_percent,
        "levels": share.levels, "classes": share.classes,
        "released": share.released, "suppressed": share.suppressed,
        "excluded_no_consent": share.excluded_no_consent,
    });
    let mut tx = db.begin_write().await?;
    sqlx::query(&format!(
        "INSERT INTO privacy_partner_shares (id, partner, partner_id, kind, created_at, created_by, parameters, released) VALUES ({})",
        (1..=8).map(|i| b.param(i)).collect::<Vec<_>>().join(", ")
    ))
    .bind(&share.id)
    .bind(&share.partner)
    .bind(&partner.id)
    .bind("k_anonymous")
    .bind(&share.created_at)
    .bind(&share.created_by)
    .bind(params.to_string())
    .bind(&csv)
    .execute(tx.conn())
    .await?;
    tx.emit(&CloudEvent::of(&PartnerShared {
        share_id: share.id.clone(),
        partner: share.partner.clone(),
        kind: "k_anonymous".into(),
        released: share.released,
        suppressed: share.suppressed,
        excluded_no_consent: share.excluded_no_consent,
    }))
    .await?;
    tx.audit(&[ctx.entry(
        audit::PARTNER_SHARE,
        "partner_share",
        Some(share.id.clone()),
        vec![
            format!("partner:{}", share.partner),
            format!("partner_id:{}", partner.id),
            format!(
                "columns:age_band,region,travel_frequency,{}",
                share.sensitive
            ),
            format!("k:{},l:{}", share.k, share.l),
            format!(
                "levels:{}",
                share
                    .levels
                    .iter()
                    .map(u8::to_string)
                    .collect::<Vec<_>>()
                    .join("/")
            ),
            format!("classes:{}", share.classes),
            format!("released:{}", share.released),
            format!("suppressed:{}", share.suppressed),
            format!("excluded_no_consent:{}", share.excluded_no_consent),
        ],
        "success",
    )])
    .await?;
    tx.commit().await?;
    Ok((share, csv))
}

fn share_from(r: &sqlx::any::AnyRow) -> Result<Share, sqlx::Error> {
    let p: String = r.try_get("parameters")?;
    let p: Value = serde_json::from_str(&p).unwrap_or(Value::Null);
    let n = |k: &str| p[k].as_u64().unwrap_or(0);
    Ok(Share {
        id: r.try_get("id")?,
        partner: r.try_get("partner")?,
        partner_id: r.try_get("partner_id")?,
        created_at: r.try_get("created_at")?,
        created_by: r.try_get("created_by")?,
        k: n("k") as u32,
        l: n("l") as u32,
        sensitive: p["sensitive"].as_str().unwrap_or("").into(),
        levels: p["levels"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_u64())
                    .map(|v| v as u8)
                    .collect()
            })
            .unwrap_or_default(),
        classes: n("classes"),
        released: n("released"),
        suppressed: n("suppressed"),
        excluded_no_consent: n("excluded_no_consent"),
    })
}

/// Past k-anonymous shares, newest first.
pub async fn list(db: &Database) -> Result<Vec<Share>, StorageError> {
    let rows = sqlx::query(
        "SELECT id, partner, partner_id, created_at, created_by, parameters FROM privacy_partner_shares WHERE kind = 'k_anonymous' ORDER BY created_at DESC, id DESC LIMIT 200",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows.iter().map(share_from).collect::<Result<_, _>>()?)
}

/// The CSV released by a share, if it exists.
pub async fn released_csv(db: &Database, id: &str) -> Result<Option<String>, StorageError> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Ok(None);
    }
    Ok(sqlx::query(&format!(
        "SELECT released FROM privacy_partner_shares WHERE id = {} AND kind = 'k_anonymous'",
        db.backend().param(1)
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .map(|r| r.try_get::<String, _>(0))
    .transpose()?)
}

/// Every class of a release meets k and l (the property the release promises).
pub fn satisfies(r: &Release, k: u32, l: u32) -> bool {
    r.classes.iter().all(|c| {
        c.counts.values().sum::<u64>() >= u64::from(k)
            && c.counts.keys().collect::<BTreeSet<_>>().len() >= l as usize
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s(age: &str, country: &str, flights: i64, meal: &str) -> Subject {
        Subject {
            age_band: Some(age.into()),
            country: Some(country.into()),
            flights_12m: flights,
            sensitive: meal.into(),
        }
    }

    #[test]
    fn hierarchies_generalise_step_by_step() {
        assert_eq!(age_at(Some("25-34"), 0), "25-34");
        assert_eq!(age_at(Some("25-34"), 1), "18-34");
        assert_eq!(age_at(Some("65+"), 1), "55+");
        assert_eq!(age_at(None, 1), "unknown");
        assert_eq!(age_at(Some("45-54"), 2), "*");
        assert_eq!(region_at(Some("DE"), 0), "DE");
        assert_eq!(region_at(Some("DE"), 1), "Europe");
        assert_eq!(region_at(Some("US"), 1), "North America");
        assert_eq!(region_at(None, 2), "*");
        assert_eq!(frequency_at(0, 0), "0");
        assert_eq!(frequency_at(4, 0), "3-5");
        assert_eq!(frequency_at(40, 0), "12+");
        assert_eq!(frequency_at(4, 1), "3+");
    }

    #[test]
    fn released_classes_are_k_anonymous_and_l_diverse_with_small_groups_suppressed() {
        let mut v = Vec::new();
        for i in 0..30 {
            let meal = ["VGML", "KSML", "none"][i % 3];
            v.push(s("25-34", "DE", (i % 4) as i64, meal));
            v.push(s("35-44", "FR", 6 + (i % 3) as i64, meal));
        }
        // An outlier: the only person from Japan aged 65+.
        v.push(s("65+", "JP", 30, "VGML"));
        let r = anonymise(&v, 5, 2, 10);
        assert!(satisfies(&r, 5, 2));
        assert_eq!(r.released + r.suppressed, v.len() as u64);
        assert_eq!(r.suppressed, 1, "the outlier alone is suppressed");
        assert!(
            r.levels.iter().map(|l| *l as u32).sum::<u32>() <= 2,
            "{:?}",
            r.levels
        );
        let csv = to_csv(&r, Sensitive::MealPreference);
        assert!(csv.starts_with("age_band,region,travel_frequency,meal_preference,count\n"));
        assert!(!csv.contains("JP"));

        // No diversity: everyone eats the same → nothing can be released with l = 2.
        let same: Vec<Subject> = (0..20).map(|_| s("25-34", "DE", 1, "VGML")).collect();
        let r = anonymise(&same, 5, 2, 10);
        assert!(r.classes.is_empty() && r.suppressed == 20);
        assert!(satisfies(&anonymise(&same, 5, 1, 10), 5, 1));
    }

    #[test]
    fn requests_are_validated_field_by_field() {
        let r = parse_request(&json!({"partner": "Star Hotels"})).unwrap();
        let e = parse_partner(&json!({"name": "  ", "contact": "x", "extra": 1})).unwrap_err();
        let p: Vec<_> = e.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(p, ["/extra", "/name", "/contact", "/agreement_ref"]);
        let ok = parse_partner(&json!({"name": " Star   Hotels ", "contact": "dpo@star.example", "agreement_ref": "DSA-2026-07"})).unwrap();
        assert_eq!(ok.name, "Star Hotels");
        assert_eq!(name_key("star  HOTELS "), name_key(&ok.name));
        assert_ne!(name_key("Star Hotel"), name_key(&ok.name));
        assert_eq!((r.k, r.l, r.sensitive), (5, 2, Sensitive::MealPreference));
        let e = parse_request(&json!({"k": 1, "l": 9, "sensitive": "religion"})).unwrap_err();
        let p: Vec<_> = e.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(p, ["/partner", "/k", "/l", "/sensitive"]);
    }
}
