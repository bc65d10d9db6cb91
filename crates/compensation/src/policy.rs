//! The goodwill policy's versions (issue 20, item 3): stored, simulated, published — and the
//! API over them. The rules themselves are [`crate::goodwill`] (pure).
//!
//! A saved table is a new **version** (never edited in place, so what was in force on any day
//! can be shown). A version is published only after it was **simulated** against the facts of
//! every disruption processed so far; publishing retires the version in force, in one
//! transaction with its event and audit record. Disruptions processed afterwards award goodwill
//! under it ([`Compensation::award_goodwill`]).

use aloft_authz::{Access, RoutePolicy};
use aloft_customers::CustomerId;
use aloft_kernel::db::{now, to_db_time};
use aloft_kernel::events::CloudEvent;
use aloft_kernel::http::JsonBody;
use aloft_kernel::{AccessContext, ApiError, FieldError, Problem, StorageError, WriteTx};
use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::events::{self, GoodwillAwarded, GoodwillPublished};
use crate::goodwill::{self, Facts, Simulation, Table};
use crate::permissions::GOODWILL_POLICY;
use crate::service::Compensation;

/// Rows per multi-row `INSERT` (9 columns: well under both backends' parameter limits).
const ROWS_PER_STATEMENT: usize = 500;

/// Facts replayed by one simulation at most (the newest).
const SIMULATION_FACTS: i64 = 200_000;

/// One version of the policy.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Version {
    /// 1, 2, 3…
    pub version: i64,
    /// `draft`, `published` or `retired`.
    pub state: String,
    /// The decision table.
    #[schema(value_type = Object)]
    pub table: Table,
    /// Why it was made.
    pub note: Option<String>,
    /// Who saved it, and when.
    pub created_by: String,
    /// RFC 3339.
    pub created_at: String,
    /// Its last simulation (required before publishing).
    #[schema(value_type = Option<Object>)]
    pub simulation: Option<Simulation>,
    /// Who published it, and when.
    pub published_by: Option<String>,
    /// RFC 3339.
    pub published_at: Option<String>,
}

/// Why a version cannot be simulated or published.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// No such version.
    #[error("no such version")]
    NotFound,
    /// Only a draft is simulated or published.
    #[error("version {0} is {1}, not a draft")]
    NotDraft(i64, String),
    /// Published without a simulation.
    #[error("simulate version {0} on past disruptions before publishing it")]
    NotSimulated(i64),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<PolicyError> for ApiError {
    fn from(e: PolicyError) -> Self {
        match e {
            PolicyError::NotFound => ApiError::NotFound("goodwill policy version"),
            PolicyError::NotDraft(..) => {
                ApiError::Conflict(FieldError::new("/version", e.to_string()))
            }
            PolicyError::NotSimulated(..) => {
                ApiError::Conflict(FieldError::new("/simulation", e.to_string()))
            }
            PolicyError::Storage(s) => s.into(),
        }
    }
}

const VERSION_COLUMNS: &str = "version, state, document, note, created_by, created_at, simulation, published_by, published_at";

fn decode(r: &sqlx::any::AnyRow) -> Result<Version, StorageError> {
    let document: String = r.try_get("document")?;
    let simulation: Option<String> = r.try_get("simulation")?;
    let corrupt = |what: &str| StorageError::Corrupt(format!("goodwill version {what}"));
    Ok(Version {
        version: r.try_get("version")?,
        state: r.try_get("state")?,
        table: serde_json::from_str(&document).map_err(|_| corrupt("document"))?,
        note: r.try_get("note")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        simulation: simulation
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(|_| corrupt("simulation"))?,
        published_by: r.try_get("published_by")?,
        published_at: r.try_get("published_at")?,
    })
}

impl Compensation {
    /// Every version, newest first.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn goodwill_versions(&self) -> Result<Vec<Version>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM compensation_goodwill_versions ORDER BY version DESC LIMIT 200"
        ))
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(decode).collect()
    }

    /// One version.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn goodwill_version(&self, version: i64) -> Result<Option<Version>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM compensation_goodwill_versions WHERE version = $1"
        ))
        .bind(version)
        .fetch_optional(self.db.pool())
        .await?;
        row.as_ref().map(decode).transpose()
    }

    /// The version in force, if one was ever published.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn published_goodwill(&self) -> Result<Option<Version>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM compensation_goodwill_versions WHERE state = 'published'"
        ))
        .fetch_optional(self.db.pool())
        .await?;
        row.as_ref().map(decode).transpose()
    }

    /// Saves `table` as a new draft version; its number.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn save_goodwill(
        &self,
        ctx: &AccessContext,
        table: &Table,
        note: Option<&str>,
    ) -> Result<i64, StorageError> {
        let mut tx = self.db.begin_write().await?;
        // The write slot is held from the first statement, so two saves cannot take one number;
        // the primary key would refuse it anyway.
        sqlx::query("UPDATE compensation_goodwill_versions SET note = note WHERE version = -1")
            .execute(tx.conn())
            .await?;
        let version: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM compensation_goodwill_versions",
        )
        .fetch_one(tx.conn())
        .await?;
        sqlx::query(
            "INSERT INTO compensation_goodwill_versions (version, document, state, note, created_by, created_at) \
             VALUES ($1, $2, 'draft', $3, $4, $5)",
        )
        .bind(version)
        .bind(serde_json::to_string(table).unwrap_or_default())
        .bind(note.map(str::trim).filter(|n| !n.is_empty()))
        .bind(&ctx.actor.id)
        .bind(to_db_time(now()))
        .execute(tx.conn())
        .await?;
        tx.audit(&[ctx.entry(
            events::audit::GOODWILL_SAVED,
            "goodwill_policy",
            Some(version.to_string()),
            vec!["rows".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(version)
    }

    /// Replays the facts of past disruptions under the version in force and draft `version`,
    /// and keeps the result with the draft.
    ///
    /// # Errors
    /// Unknown version, not a draft, storage.
    pub async fn simulate_goodwill(
        &self,
        ctx: &AccessContext,
        version: i64,
    ) -> Result<Simulation, PolicyError> {
        let draft = self
            .goodwill_version(version)
            .await?
            .ok_or(PolicyError::NotFound)?;
        if draft.state != "draft" {
            return Err(PolicyError::NotDraft(version, draft.state));
        }
        let current = self
            .published_goodwill()
            .await?
            .map(|v| v.table)
            .unwrap_or_default();
        let facts: Vec<Facts> = sqlx::query(
            "SELECT facts FROM compensation_goodwill_facts ORDER BY recorded_at DESC LIMIT $1",
        )
        .bind(SIMULATION_FACTS)
        .fetch_all(self.db.pool())
        .await
        .map_err(StorageError::from)?
        .iter()
        .filter_map(|r| r.try_get::<String, _>("facts").ok())
        .filter_map(|f| serde_json::from_str(&f).ok())
        .collect();
        let simulation = aloft_kernel::cpu::bound(facts.len(), || {
            goodwill::simulate(&current, &draft.table, &facts)
        });
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "UPDATE compensation_goodwill_versions SET simulation = $1, simulated_at = $2 WHERE version = $3 AND state = 'draft'",
        )
        .bind(serde_json::to_string(&simulation).unwrap_or_default())
        .bind(to_db_time(now()))
        .bind(version)
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?;
        tx.audit(&[ctx.entry(
            events::audit::GOODWILL_SIMULATED,
            "goodwill_policy",
            Some(version.to_string()),
            vec!["simulation".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(simulation)
    }

    /// Puts draft `version` in force (it must have been simulated), retiring the one in force.
    ///
    /// # Errors
    /// Unknown version, not a draft, not simulated, storage.
    pub async fn publish_goodwill(
        &self,
        ctx: &AccessContext,
        version: i64,
    ) -> Result<Version, PolicyError> {
        let mut tx = self.db.begin_write().await?;
        // Claim the draft first (a write), so two publishers cannot both succeed.
        let claimed = sqlx::query(
            "UPDATE compensation_goodwill_versions SET state = 'publishing' \
             WHERE version = $1 AND state = 'draft' AND simulation IS NOT NULL",
        )
        .bind(version)
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?
        .rows_affected();
        if claimed == 0 {
            drop(tx);
            let v = self
                .goodwill_version(version)
                .await?
                .ok_or(PolicyError::NotFound)?;
            return Err(if v.state != "draft" {
                PolicyError::NotDraft(version, v.state)
            } else {
                PolicyError::NotSimulated(version)
            });
        }
        let replaces: Option<i64> = sqlx::query_scalar(
            "SELECT version FROM compensation_goodwill_versions WHERE state = 'published'",
        )
        .fetch_optional(tx.conn())
        .await
        .map_err(StorageError::from)?;
        sqlx::query(
            "UPDATE compensation_goodwill_versions SET state = 'retired' WHERE state = 'published'",
        )
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?;
        sqlx::query(
            "UPDATE compensation_goodwill_versions SET state = 'published', published_by = $1, published_at = $2 WHERE version = $3",
        )
        .bind(&ctx.actor.id)
        .bind(to_db_time(now()))
        .bind(version)
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?;
        tx.emit(&CloudEvent::of(&GoodwillPublished { version, replaces }))
            .await?;
        tx.audit(&[ctx.entry(
            events::audit::GOODWILL_PUBLISHED,
            "goodwill_policy",
            Some(version.to_string()),
            vec!["state".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        self.goodwill_version(version)
            .await?
            .ok_or(PolicyError::NotFound)
    }

    /// Inside a disruption's transaction: records each passenger's facts (what simulations
    /// replay) and gives what `policy` grants, once per passenger, flight and benefit kind
    /// (replays add nothing), with one event per award.
    pub(crate) async fn award_goodwill(
        &self,
        tx: &mut WriteTx,
        flight: &str,
        policy: Option<&Version>,
        passengers: &[(CustomerId, Facts)],
    ) -> Result<usize, StorageError> {
        let at = to_db_time(now());
        let backend = aloft_kernel::Backend::of(tx.conn());
        for chunk in passengers.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO compensation_goodwill_facts (customer_id, flight, facts, recorded_at) VALUES {} \
                 ON CONFLICT (customer_id, flight) DO NOTHING",
                backend.values_rows(chunk.len(), 4)
            );
            let mut q = sqlx::query(&sql);
            for (customer, facts) in chunk {
                q = q
                    .bind(customer.to_string())
                    .bind(flight.to_owned())
                    .bind(serde_json::to_string(facts).unwrap_or_default())
                    .bind(at.clone());
            }
            q.execute(tx.conn()).await?;
        }
        let Some(policy) = policy else { return Ok(0) };
        let awards: Vec<(String, CustomerId, goodwill::Award)> = passengers
            .iter()
            .flat_map(|(customer, facts)| {
                goodwill::decide(&policy.table, facts)
                    .into_iter()
                    .map(|a| (uuid::Uuid::now_v7().to_string(), *customer, a))
            })
            .collect();
        // `RETURNING` names the rows this transaction added: a benefit another process gave
        // meanwhile is neither announced nor given twice.
        let mut added = std::collections::BTreeSet::new();
        for chunk in awards.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO compensation_goodwill_awards (id, customer_id, flight, benefit, amount, currency, rule, version, created_at) \
                 VALUES {} ON CONFLICT (customer_id, flight, benefit) DO NOTHING RETURNING id",
                backend.values_rows(chunk.len(), 9)
            );
            let mut q = sqlx::query(&sql);
            for (id, customer, award) in chunk {
                q = q
                    .bind(id.clone())
                    .bind(customer.to_string())
                    .bind(flight.to_owned())
                    .bind(award.benefit.clone())
                    .bind(award.amount.clone())
                    .bind(award.currency.clone())
                    .bind(award.rule.clone())
                    .bind(policy.version)
                    .bind(at.clone());
            }
            for row in q.fetch_all(tx.conn()).await? {
                added.insert(row.try_get::<String, _>("id")?);
            }
        }
        let announced: Vec<CloudEvent> = awards
            .into_iter()
            .filter(|(id, ..)| added.contains(id))
            .map(|(id, customer, award)| {
                CloudEvent::of(&GoodwillAwarded {
                    award_id: id,
                    customer_id: customer.to_string(),
                    flight: flight.to_owned(),
                    benefit: award.benefit,
                    amount: award.amount,
                    currency: award.currency,
                    policy_version: policy.version,
                    rule: award.rule,
                })
            })
            .collect();
        tx.emit_all(&announced).await?;
        Ok(announced.len())
    }

    /// A passenger's goodwill awards, newest first: `(flight, benefit, amount, currency, rule)`.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn goodwill_of(
        &self,
        customer: CustomerId,
    ) -> Result<Vec<(String, String, Option<String>, Option<String>, String)>, StorageError> {
        let rows = sqlx::query(
            "SELECT flight, benefit, amount, currency, rule FROM compensation_goodwill_awards WHERE customer_id = $1 ORDER BY created_at DESC, id DESC",
        )
        .bind(customer.to_string())
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("flight")?,
                    r.try_get("benefit")?,
                    r.try_get("amount")?,
                    r.try_get("currency")?,
                    r.try_get("rule")?,
                ))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StorageError::from)
    }
}

const MANAGE: Access = Access::Permission(GOODWILL_POLICY);

/// Who may call each API route.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new("GET", "/api/v1/compensation/goodwill", MANAGE),
    RoutePolicy::new("POST", "/api/v1/compensation/goodwill", MANAGE),
    RoutePolicy::new(
        "POST",
        "/api/v1/compensation/goodwill/{version}/simulation",
        MANAGE,
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/compensation/goodwill/{version}/publication",
        MANAGE,
    ),
];

/// The API routes.
pub fn api_routes(service: Compensation) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(list_versions, save_version))
        .routes(routes!(simulate_version))
        .routes(routes!(publish_version))
        .with_state(service)
}

/// Every version of the goodwill policy, newest first (the one in force has state
/// `published`).
#[utoipa::path(
    get,
    path = "/api/v1/compensation/goodwill",
    tag = "compensation",
    responses((status = 200, description = "The versions", body = Vec<Version>))
)]
async fn list_versions(
    State(service): State<Compensation>,
) -> Result<Json<Vec<Version>>, ApiError> {
    Ok(Json(service.goodwill_versions().await?))
}

/// Saves a decision table as a new draft version.
#[utoipa::path(
    post,
    path = "/api/v1/compensation/goodwill",
    tag = "compensation",
    request_body(content = Object, description = "`rows`: the decision table's rows in order of precedence (`name`, `tiers`, `kinds`, `min_delay_minutes`, `max_delay_minutes`, `legally_owed`, `benefit`, `amount`, `currency`); `note`: why."),
    responses(
        (status = 201, description = "The new draft", body = Version),
        (status = 422, description = "A row's field is invalid, named by its JSON pointer", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn save_version(
    State(service): State<Compensation>,
    ctx: AccessContext,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Version>), ApiError> {
    let table = goodwill::parse(&body).map_err(ApiError::Invalid)?;
    let note = body.get("note").and_then(Value::as_str);
    let version = service.save_goodwill(&ctx, &table, note).await?;
    let saved = service
        .goodwill_version(version)
        .await?
        .ok_or(ApiError::NotFound("goodwill policy version"))?;
    Ok((StatusCode::CREATED, Json(saved)))
}

/// Replays past disruptions under the version in force and this draft: passengers awarded,
/// cost by benefit and currency, passengers whose awards change.
#[utoipa::path(
    post,
    path = "/api/v1/compensation/goodwill/{version}/simulation",
    tag = "compensation",
    responses(
        (status = 200, description = "The simulation", body = Object),
        (status = 404, description = "No such version", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a draft", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn simulate_version(
    State(service): State<Compensation>,
    ctx: AccessContext,
    Path(version): Path<i64>,
) -> Result<Json<Simulation>, ApiError> {
    Ok(Json(service.simulate_goodwill(&ctx, version).await?))
}

/// Publishes a simulated draft: it applies to disruptions processed from now on.
#[utoipa::path(
    post,
    path = "/api/v1/compensation/goodwill/{version}/publication",
    tag = "compensation",
    responses(
        (status = 200, description = "The version now in force", body = Version),
        (status = 404, description = "No such version", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a draft, or not simulated yet", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn publish_version(
    State(service): State<Compensation>,
    ctx: AccessContext,
    Path(version): Path<i64>,
) -> Result<Json<Version>, ApiError> {
    Ok(Json(service.publish_goodwill(&ctx, version).await?))
}
