//! The golden record's sources: which source-system records make up a customer's profile, how
//! each was linked (earlier link, loyalty number, passport, e-mail, probabilistic match with its
//! weight, or a new profile) and when — the "why is this record here" an agent or data steward
//! needs before trusting the 360° view. Also the number of uncertain matches waiting for review.
//!
//! `GET /api/v1/customers/{id}/sources` (JSON) and `GET /customers/{id}/sources` (the fragment
//! the profile page loads). Both need `customer.read`, apply the caller's row scope (404
//! outside it) and are audited as `customer.sources_read`.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use aloft_authz::{Access, RoutePolicy, current_principal};
use aloft_customers::{CustomerId, CustomerStore};
use aloft_kernel::db::from_db_time;
use aloft_kernel::{AccessContext, ApiError, Auditor, Database, Problem, StorageError};

/// Most links listed (newest first).
pub const MAX_LINKS: i64 = 200;

/// Reading a profile's sources is reading the profile.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new(
        "GET",
        "/api/v1/customers/{id}/sources",
        Access::Permission(aloft_customers::permissions::CUSTOMER_READ),
    ),
    RoutePolicy::new(
        "GET",
        "/customers/{id}/sources",
        Access::Permission(aloft_customers::permissions::CUSTOMER_READ),
    ),
];

/// One source record linked to the profile.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SourceLink {
    /// The source system (`amadeus`, `genesys`, …).
    pub source: String,
    /// The record's id in that system.
    pub source_record_id: String,
    /// How it was linked: `loyalty`, `passport`, `email`, `probabilistic` or `new`.
    pub method: String,
    /// Match weight in bits (probabilistic links).
    pub weight: Option<f64>,
    /// Field names and their weights (never values).
    #[schema(value_type = Object)]
    pub explanation: serde_json::Value,
    /// When (RFC 3339 UTC).
    pub linked_at: String,
}

/// A profile's sources.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Sources {
    /// Newest first, at most [`MAX_LINKS`].
    pub links: Vec<SourceLink>,
    /// Uncertain matches involving this profile that wait for a data steward.
    pub pending_reviews: i64,
}

/// State of the sources routes.
#[derive(Debug, Clone)]
pub struct SourcesState {
    db: Database,
    customers: CustomerStore,
    auditor: Option<Auditor>,
}

impl SourcesState {
    /// Over `db`, with row scope from `customers`, auditing through `auditor`.
    pub fn new(db: Database, customers: CustomerStore, auditor: Option<Auditor>) -> Self {
        Self {
            db,
            customers,
            auditor,
        }
    }

    async fn read(&self, ctx: &AccessContext, id: &str) -> Result<Sources, ApiError> {
        let customer = CustomerId::parse(id).ok_or(ApiError::NotFound("customer"))?;
        let principal = current_principal();
        if !self
            .customers
            .visible(
                aloft_customers::Reader::request(principal.as_ref()),
                customer,
            )
            .await?
        {
            return Err(ApiError::NotFound("customer"));
        }
        let sources = sources_of(&self.db, &customer.to_string()).await?;
        if let Some(auditor) = &self.auditor {
            auditor
                .record(ctx.entry(
                    crate::events::audit::CUSTOMER_SOURCES_READ,
                    "customer",
                    Some(customer.to_string()),
                    vec!["sources".into()],
                    "success",
                ))
                .await
                .map_err(StorageError::from)?;
        }
        Ok(sources)
    }
}

/// The links and pending reviews of customer `id`.
pub async fn sources_of(db: &Database, id: &str) -> Result<Sources, StorageError> {
    let rows = sqlx::query(&format!(
        "SELECT source, source_record_id, method, weight, explanation, created_at FROM identity_links \
         WHERE customer_id = $1 ORDER BY created_at DESC, source, source_record_id LIMIT {MAX_LINKS}"
    ))
    .bind(id)
    .fetch_all(db.pool())
    .await?;
    let mut links = Vec::with_capacity(rows.len());
    for r in rows {
        links.push(SourceLink {
            source: r.try_get("source")?,
            source_record_id: r.try_get("source_record_id")?,
            method: r.try_get("method")?,
            weight: r.try_get("weight")?,
            explanation: serde_json::from_str(&r.try_get::<String, _>("explanation")?)
                .unwrap_or(serde_json::Value::Null),
            linked_at: from_db_time(&r.try_get::<String, _>("created_at")?)?
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
    }
    let pending_reviews: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM identity_review WHERE status = 'open' \
         AND (customer_id = $1 OR candidate_customer_id = $1)",
    )
    .bind(id)
    .fetch_one(db.pool())
    .await?;
    Ok(Sources {
        links,
        pending_reviews,
    })
}

/// The JSON API (documented in OpenAPI).
pub fn api_routes(state: SourcesState) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(sources_api))
        .with_state(state)
}

/// The page fragment.
pub fn page_routes(state: SourcesState) -> Router {
    Router::new()
        .route(
            "/customers/{id}/sources",
            axum::routing::get(sources_fragment),
        )
        .with_state(state)
}

/// The source records behind a golden profile and how each was linked.
#[utoipa::path(
    get,
    path = "/api/v1/customers/{id}/sources",
    tag = "ingest",
    params(("id" = String, Path, description = "Customer id")),
    responses(
        (status = 200, description = "The profile's source records, newest first", body = Sources),
        (status = 404, description = "No such customer, or outside the caller's row scope", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn sources_api(
    State(state): State<SourcesState>,
    ctx: AccessContext,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(axum::Json(state.read(&ctx, &id).await?).into_response())
}

fn method_label(method: &str) -> &str {
    match method {
        "loyalty" => "Loyalty number",
        "passport" => "Passport and nationality",
        "email" => "Verified e-mail and name",
        "probabilistic" => "Probabilistic match",
        "new" => "First record (new profile)",
        other => other,
    }
}

/// A message the stewardship forms left in the profile page's address (`merged=…` or
/// `merge_error=…`), which htmx sends along as `HX-Current-URL`.
fn flash(headers: &http::HeaderMap) -> (Option<String>, Option<String>) {
    let url = headers
        .get("hx-current-url")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    let mut out = (None, None);
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v);
        match k {
            "merged" => out.0 = Some(v),
            "merge_error" => out.1 = Some(v),
            _ => {}
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or(""), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn sources_fragment(
    State(state): State<SourcesState>,
    ctx: AccessContext,
    Path(id): Path<String>,
    headers: http::HeaderMap,
) -> Result<Response, ApiError> {
    let s = state.read(&ctx, &id).await?;
    let (merged, merge_error) = flash(&headers);
    let lineage = match CustomerId::parse(&id) {
        Some(c) => crate::merge::lineage(&state.db, c).await?,
        None => vec![],
    };
    let names = aloft_web::workspace::actor_names(
        lineage
            .iter()
            .flat_map(|m| [Some(m.merged_by.clone()), m.unmerged_by.clone()])
            .flatten()
            .collect(),
    )
    .await;
    let markup = html! {
        @if let Some(m) = &merged { p role="status" { (m) } }
        @if let Some(e) = &merge_error { p role="alert" { "Not merged: " (e) } }
        @if s.pending_reviews > 0 {
            p role="status" { (s.pending_reviews) " uncertain match" @if s.pending_reviews != 1 { "es" } " of this profile wait for a data steward's review." }
        }
        @if s.links.is_empty() {
            p { "No source-system records are linked to this profile yet (it was created in Aloft)." }
        } @else {
            div.table-scroll tabindex="0" role="region" aria-label="Golden record sources" {
                table {
                    thead { tr { th scope="col" { "Source" } th scope="col" { "Record" } th scope="col" { "Linked by" } th scope="col" { "Weight" } th scope="col" { "Linked" } } }
                    tbody {
                        @for l in &s.links {
                            tr {
                                td { (l.source) }
                                td { code { (l.source_record_id) } }
                                td { (method_label(&l.method)) }
                                td { @if let Some(w) = l.weight { (format!("{w:.1} bits")) } @else { "—" } }
                                td { time datetime=(l.linked_at) { (l.linked_at.get(..10).unwrap_or(&l.linked_at)) } }
                            }
                        }
                    }
                }
            }
        }
        (crate::stewardship::lineage_markup(&id, &lineage, &names))
    };
    Ok(axum::response::Html(markup.into_string()).into_response())
}
