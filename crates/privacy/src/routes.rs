//! The consent API: `GET`/`POST /api/v1/customers/{id}/consents` and the purpose register
//! `GET /api/v1/privacy/purposes`.

use aloft_authz::{Access, RoutePolicy};
use aloft_kernel::http::JsonBody;
use aloft_kernel::{AccessContext, ApiError, Problem};
use aloft_vocab::CustomerId;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::model::{PURPOSES, Purpose, parse_change};
use crate::permissions::{CONSENT_READ, CONSENT_WRITE, REQUESTS_MANAGE};
use crate::store::{ConsentError, ConsentRecord, ConsentStore, Consents};

/// Who may call each route.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new(
        "GET",
        "/api/v1/customers/{id}/consents",
        Access::Permission(CONSENT_READ),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/customers/{id}/consents",
        Access::Permission(CONSENT_WRITE),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/customers/{id}/export",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/customers/{id}/erasure",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/privacy/purposes",
        Access::Permission(CONSENT_READ),
    ),
];

/// The API routes.
pub fn api_routes(store: ConsentStore) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(read_consents, record_consent))
        .routes(routes!(purposes))
        .routes(routes!(export_subject))
        .routes(routes!(erase_subject))
        .with_state(store)
}

fn parse_id(id: &str) -> Result<CustomerId, ApiError> {
    CustomerId::parse(id).ok_or(ApiError::NotFound("customer"))
}

impl From<ConsentError> for ApiError {
    fn from(e: ConsentError) -> Self {
        match e {
            ConsentError::UnknownCustomer => ApiError::NotFound("customer"),
            ConsentError::AuditUnavailable => ApiError::Unavailable("audit trail".into()),
            ConsentError::Storage(s) => s.into(),
        }
    }
}

/// A passenger's consents: the state per purpose and channel, and the full history.
#[utoipa::path(
    get,
    path = "/api/v1/customers/{id}/consents",
    tag = "privacy",
    params(("id" = String, Path, description = "Customer id")),
    responses(
        (status = 200, description = "Current consents and history", body = Consents),
        (status = 404, description = "No such customer", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database or audit trail unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn read_consents(
    State(store): State<ConsentStore>,
    ctx: AccessContext,
    Path(id): Path<String>,
) -> Result<Json<Consents>, ApiError> {
    let id = parse_id(&id)?;
    Ok(Json(store.consents(id, &ctx).await?))
}

/// Record a consent given or withdrawn. Appends to the history (never overwrites) and emits
/// `aloft.consent.changed`. An unknown purpose, or a change without `source` or `proof`, is
/// refused naming the field, and nothing is stored.
#[utoipa::path(
    post,
    path = "/api/v1/customers/{id}/consents",
    tag = "privacy",
    params(("id" = String, Path, description = "Customer id")),
    request_body(content = serde_json::Value, description = "`purpose` (a code of `/api/v1/privacy/purposes`), `granted` (bool), `source` (touchpoint), `proof` (reference to the evidence); optional `channel`, `lawful_basis`, `notice_version` (defaults: the purpose's first channel and basis, its current notice)."),
    responses(
        (status = 201, description = "Recorded", body = ConsentRecord),
        (status = 404, description = "No such customer", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing or invalid; each is named by JSON pointer", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn record_consent(
    State(store): State<ConsentStore>,
    ctx: AccessContext,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<ConsentRecord>), ApiError> {
    let id = parse_id(&id)?;
    let change = parse_change(&body).map_err(ApiError::Invalid)?;
    let rec = store.record(id, &change, &ctx).await?;
    Ok((StatusCode::CREATED, Json(rec)))
}

/// The purpose register: every purpose with its channels, lawful bases, notice versions, data
/// categories and recipients — the configuration the consent API and check enforce.
#[utoipa::path(
    get,
    path = "/api/v1/privacy/purposes",
    tag = "privacy",
    responses((status = 200, description = "The purpose register", body = serde_json::Value))
)]
async fn purposes() -> Json<&'static [Purpose]> {
    Json(PURPOSES)
}

/// The format of a subject access export.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct ExportQuery {
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// Everything held about a person (access and portability request): every table of the
/// coverage list, with the data category and the source of each; JSON or CSV. Audited.
#[utoipa::path(
    get,
    path = "/api/v1/customers/{id}/export",
    tag = "privacy",
    params(("id" = String, Path, description = "Customer id"), ExportQuery),
    responses(
        (status = 200, description = "The export", body = Vec<crate::coverage::ExportSection>),
        (status = 404, description = "No such customer", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown format", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn export_subject(
    State(store): State<ConsentStore>,
    ctx: AccessContext,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<ExportQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let id = parse_id(&id)?;
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::field("/format", "must be json or csv")),
    };
    let mut sections = crate::coverage::export(store.db(), id).await?;
    crate::coverage::open_sealed(&mut sections, store.data_key(id).await?.as_ref());
    if sections
        .iter()
        .all(|s| s.table != "customers" || s.rows.is_empty())
    {
        return Err(ApiError::NotFound("customer"));
    }
    store.audit_export(id, &ctx).await?;
    Ok(if csv {
        (
            [
                (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    "attachment; filename=\"export.csv\"",
                ),
            ],
            crate::coverage::export_csv(&sections),
        )
            .into_response()
    } else {
        Json(sections).into_response()
    })
}

/// Erase a person everywhere (right to erasure): the data key is destroyed, their records
/// deleted, or kept pseudonymised with the legal basis recorded where another law requires them;
/// the audit trail keeps ids only. Idempotent: a repeated request reports `already_erased`.
#[utoipa::path(
    post,
    path = "/api/v1/customers/{id}/erasure",
    tag = "privacy",
    params(("id" = String, Path, description = "Customer id")),
    responses(
        (status = 200, description = "What was erased, table by table", body = crate::erasure::ErasureReport),
        (status = 404, description = "Not a customer id", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; nothing was erased, retry", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn erase_subject(
    State(store): State<ConsentStore>,
    ctx: AccessContext,
    Path(id): Path<String>,
) -> Result<Json<crate::erasure::ErasureReport>, ApiError> {
    let id = parse_id(&id)?;
    Ok(Json(crate::erasure::erase(store.db(), id, &ctx).await?))
}
