//! The consent API: `GET`/`POST /api/v1/customers/{id}/consents` and the purpose register
//! `GET /api/v1/privacy/purposes`, the subject access export and erasure, and data-subject
//! requests under `/api/v1/privacy/requests`.

use aloft_authz::{Access, RoutePolicy};
use aloft_kernel::http::JsonBody;
use aloft_kernel::{AccessContext, ApiError, Problem};
use aloft_vocab::CustomerId;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use aloft_kernel::FieldError;

use crate::model::{PURPOSES, Purpose, parse_change};
use crate::permissions::{CONSENT_READ, CONSENT_WRITE, HOLDS_MANAGE, REQUESTS_MANAGE};
use crate::requests::{parse_extension, parse_new, parse_transition};
use crate::service::{Filter, Moved, PrivacyRequest, RequestError, Requests};
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
    RoutePolicy::new(
        "POST",
        "/api/v1/privacy/requests",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/privacy/requests",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/privacy/requests/{id}",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/privacy/requests/{id}/transitions",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/privacy/requests/{id}/extension",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/customers/{id}/restriction/lift",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/privacy/retention",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/privacy/retention/runs",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/privacy/retention/runs",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/privacy/dp/budgets",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/privacy/dp/budgets/raise",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/privacy/partners",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/privacy/partners",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/privacy/dp/budgets",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/privacy/dp/releases",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/privacy/shares",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/privacy/shares",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/privacy/shares/{id}/csv",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/privacy/records-of-processing",
        Access::Permission(CONSENT_READ),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/privacy/records-of-processing.csv",
        Access::Permission(CONSENT_READ),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/privacy/holds",
        Access::Permission(HOLDS_MANAGE),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/privacy/holds",
        Access::Permission(HOLDS_MANAGE),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/privacy/holds/{id}",
        Access::Permission(HOLDS_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/privacy/holds/{id}/lift",
        Access::Permission(HOLDS_MANAGE),
    ),
];

/// The API routes.
pub fn api_routes(store: ConsentStore) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(read_consents, record_consent))
        .routes(routes!(purposes))
        .routes(routes!(records_of_processing))
        .routes(routes!(create_share, list_shares))
        .routes(routes!(share_csv))
        .routes(routes!(set_dp_budget, list_dp_budgets))
        .routes(routes!(raise_dp_budget))
        .routes(routes!(register_partner, list_partners))
        .routes(routes!(dp_release))
        .routes(routes!(records_of_processing_csv))
        .routes(routes!(export_subject))
        .routes(routes!(erase_subject))
        .routes(routes!(retention_report))
        .routes(routes!(retention_run, retention_runs))
        .routes(routes!(place_hold, list_holds))
        .routes(routes!(get_hold))
        .routes(routes!(lift_hold))
        .with_state(store.clone())
        .merge(
            OpenApiRouter::new()
                .routes(routes!(open_request, list_requests))
                .routes(routes!(get_request))
                .routes(routes!(move_request))
                .routes(routes!(extend_request))
                .routes(routes!(lift_restriction))
                .with_state(Requests::new(store)),
        )
}

impl From<RequestError> for ApiError {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::NotFound => ApiError::NotFound("privacy request"),
            RequestError::UnknownCustomer => {
                ApiError::field("/customer_id", "no customer with this id")
            }
            RequestError::Illegal { from, to } => {
                let mut p = Problem::new(
                    StatusCode::CONFLICT,
                    "illegal-transition",
                    "Illegal transition",
                )
                .with_detail(format!(
                    "A request in {from} cannot move to {to}; requests move received → identity_verified → in_progress → completed, or to refused while open."
                ));
                p.errors = vec![FieldError::new("/to", format!("not allowed from {from}"))];
                ApiError::Problem(p)
            }
            RequestError::Extension(x) => {
                let mut p = Problem::new(
                    StatusCode::CONFLICT,
                    "extension-refused",
                    "Extension not allowed",
                )
                .with_detail(format!("{x}; Art. 12(3) allows one extension by two further months, decided within the first month."));
                p.errors = vec![FieldError::new("/reason", x.to_string())];
                ApiError::Problem(p)
            }
            RequestError::CustomerGone => ApiError::Problem(
                Problem::new(StatusCode::CONFLICT, "customer-gone", "Profile no longer exists")
                    .with_detail("The person's profile was erased; there is nothing left to export or restrict. Refuse the request with that reason."),
            ),
            RequestError::NotRestricted => ApiError::Problem(
                Problem::new(StatusCode::CONFLICT, "not-restricted", "Not restricted")
                    .with_detail("This person's processing is not restricted; there is nothing to lift."),
            ),
            RequestError::Busy => ApiError::Problem(
                Problem::new(StatusCode::CONFLICT, "request-busy", "Request changed meanwhile")
                    .with_detail("Another change to this request happened at the same moment; reload and retry."),
            ),
            RequestError::Held(h) => held_problem(&h),
            RequestError::AuditUnavailable => ApiError::Unavailable("audit trail".into()),
            RequestError::Storage(s) => s.into(),
        }
    }
}

/// Open a data-subject request. Its deadline is one calendar month from receipt (Art. 12(3)).
#[utoipa::path(
    post,
    path = "/api/v1/privacy/requests",
    tag = "privacy",
    request_body(content = serde_json::Value, description = "`customer_id`, `kind` (access, portability, rectification, restriction, objection, erasure), `channel` (self_service, web, email, letter, phone, in_person), optional `details` (what the person wrote)."),
    responses(
        (status = 201, description = "Opened, with its id and deadline", body = PrivacyRequest),
        (status = 422, description = "A field is missing or invalid (an unknown kind, an unknown customer); each is named by JSON pointer", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn open_request(
    State(requests): State<Requests>,
    ctx: AccessContext,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<PrivacyRequest>), ApiError> {
    let new = parse_new(&body).map_err(ApiError::Invalid)?;
    let req = requests.open(&new, None, &ctx).await?;
    Ok((StatusCode::CREATED, Json(req)))
}

/// Which requests to list.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct ListQuery {
    /// `open` (default), `closed`, `all`, or a state.
    pub state: Option<String>,
    /// Only this person's requests.
    pub customer_id: Option<String>,
}

/// Data-subject requests, oldest deadline first, each with its urgency (overdue, due soon).
#[utoipa::path(
    get,
    path = "/api/v1/privacy/requests",
    tag = "privacy",
    params(ListQuery),
    responses(
        (status = 200, description = "The requests (without what the person wrote)", body = Vec<PrivacyRequest>),
        (status = 422, description = "Unknown state filter", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_requests(
    State(requests): State<Requests>,
    ctx: AccessContext,
    axum::extract::Query(q): axum::extract::Query<ListQuery>,
) -> Result<Json<Vec<PrivacyRequest>>, ApiError> {
    let filter = match q.state.as_deref() {
        None => Filter::Open,
        Some(s) => Filter::parse(s).ok_or_else(|| {
            ApiError::field(
                "/state",
                "must be open, closed, all, received, identity_verified, in_progress, completed or refused",
            )
        })?,
    };
    let customer = match q.customer_id.as_deref() {
        None => None,
        Some(c) => Some(
            CustomerId::parse(c)
                .ok_or_else(|| ApiError::field("/customer_id", "must be a customer id"))?,
        ),
    };
    Ok(Json(requests.list(filter, customer, &ctx).await?))
}

/// One request with every step (who moved it, when, with which note).
#[utoipa::path(
    get,
    path = "/api/v1/privacy/requests/{id}",
    tag = "privacy",
    params(("id" = String, Path, description = "The request id")),
    responses(
        (status = 200, description = "The request", body = PrivacyRequest),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_request(
    State(requests): State<Requests>,
    ctx: AccessContext,
    Path(id): Path<String>,
) -> Result<Json<PrivacyRequest>, ApiError> {
    Ok(Json(requests.get(&id, &ctx).await?))
}

/// Move a request. Completing it fulfils it: access and portability return the export,
/// erasure erases, restriction restricts processing, objection withdraws the objected purposes'
/// consents, rectification records the corrected fields.
#[utoipa::path(
    post,
    path = "/api/v1/privacy/requests/{id}/transitions",
    tag = "privacy",
    params(("id" = String, Path, description = "The request id")),
    request_body(content = serde_json::Value, description = "`to` (identity_verified, in_progress, completed, refused); `note` (required for identity_verified: how), `reason` (required for refused), `purposes` (objection), `corrected_fields` (required to complete a rectification)."),
    responses(
        (status = 200, description = "Moved; with the export when an access or portability request completes", body = Moved),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not allowed from the current state, the profile is gone, or a concurrent change; nothing changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing or invalid, named by pointer; nothing changed", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn move_request(
    State(requests): State<Requests>,
    ctx: AccessContext,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Moved>, ApiError> {
    let req = requests.get(&id, &ctx).await?;
    let t = parse_transition(&body, req.kind).map_err(ApiError::Invalid)?;
    Ok(Json(requests.transition(&id, &t, &ctx).await?))
}

/// Extend a request's deadline by two further months (Art. 12(3)), once, within the first
/// month, with the reason the person is told.
#[utoipa::path(
    post,
    path = "/api/v1/privacy/requests/{id}/extension",
    tag = "privacy",
    params(("id" = String, Path, description = "The request id")),
    request_body(content = serde_json::Value, description = "`reason`: why more time is needed (complexity, number of requests)."),
    responses(
        (status = 200, description = "Extended; the new deadline", body = PrivacyRequest),
        (status = 404, description = "No such request", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Closed, already extended, or the first month is over", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn extend_request(
    State(requests): State<Requests>,
    ctx: AccessContext,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<PrivacyRequest>, ApiError> {
    let reason = parse_extension(&body).map_err(ApiError::Invalid)?;
    Ok(Json(requests.extend(&id, &reason, &ctx).await?))
}

/// 409 naming the legal hold that stops an erasure.
pub fn held_problem(h: &crate::holds::Hold) -> ApiError {
    let mut p = Problem::new(StatusCode::CONFLICT, "legal-hold", "Under legal hold")
        .with_detail(format!(
            "Legal hold {} (placed {} by {}{}) keeps this person's data: erasure does not apply while it is needed for legal claims (GDPR Art. 17(3)(e)). Refuse the request with that reason, or complete it once the hold is lifted.",
            h.id,
            h.placed_at.get(..10).unwrap_or(&h.placed_at),
            h.placed_by,
            if h.reference.is_empty() { String::new() } else { format!(", matter {}", h.reference) }
        ));
    p.errors = vec![FieldError::new("/hold_id", h.id.clone())];
    ApiError::Problem(p)
}

impl From<crate::erasure::ErasureError> for ApiError {
    fn from(e: crate::erasure::ErasureError) -> Self {
        match e {
            crate::erasure::ErasureError::Held(h) => held_problem(&h),
            crate::erasure::ErasureError::Storage(s) => s.into(),
        }
    }
}

impl From<crate::holds::HoldError> for ApiError {
    fn from(e: crate::holds::HoldError) -> Self {
        use crate::holds::HoldError;
        match e {
            HoldError::NotFound => ApiError::NotFound("legal hold"),
            HoldError::UnknownCustomer => ApiError::field("/customer_id", "no customer with this id"),
            HoldError::AlreadyLifted => ApiError::Problem(
                Problem::new(StatusCode::CONFLICT, "hold-lifted", "Hold lifted already")
                    .with_detail("This legal hold was lifted already; place a new one if the data must be kept again."),
            ),
            HoldError::Storage(s) => s.into(),
        }
    }
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
        (status = 409, description = "An active legal hold covers the person (named in `/hold_id`); nothing was erased", body = Problem, content_type = "application/problem+json"),
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

/// The retention policies and what a run now would do (a dry run: nothing changes).
#[utoipa::path(
    get,
    path = "/api/v1/privacy/retention",
    tag = "privacy",
    responses(
        (status = 200, description = "Per policy: period, action, cutoff, rows due and rows held", body = crate::retention::RetentionReport),
    )
)]
async fn retention_report(
    State(store): State<ConsentStore>,
) -> Result<Json<crate::retention::RetentionReport>, ApiError> {
    Ok(Json(
        crate::retention::dry_run(store.db(), aloft_kernel::db::now()).await?,
    ))
}

/// Apply the retention policies now (the daily job does the same); returns what was done.
#[utoipa::path(
    post,
    path = "/api/v1/privacy/retention/runs",
    tag = "privacy",
    responses(
        (status = 200, description = "What the run changed, per policy", body = crate::retention::RetentionReport),
    )
)]
async fn retention_run(
    State(store): State<ConsentStore>,
    ctx: AccessContext,
) -> Result<Json<crate::retention::RetentionReport>, ApiError> {
    Ok(Json(
        crate::retention::apply(store.db(), aloft_kernel::db::now(), &ctx).await?,
    ))
}

/// Lift a person's restriction of processing (Art. 18(3)), with the reason they were told. The
/// reason becomes a step of the request that restricted them.
#[utoipa::path(
    post,
    path = "/api/v1/customers/{id}/restriction/lift",
    tag = "privacy",
    params(("id" = String, Path, description = "Customer id")),
    request_body(content = serde_json::Value, description = "`reason`: why the restriction ends (told to the person first)."),
    responses(
        (status = 200, description = "Lifted; the restriction request with its new step", body = PrivacyRequest),
        (status = 404, description = "Not a customer id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not restricted", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn lift_restriction(
    State(requests): State<Requests>,
    ctx: AccessContext,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<PrivacyRequest>, ApiError> {
    let customer = parse_id(&id)?;
    let reason = crate::requests::parse_reason(&body).map_err(ApiError::Invalid)?;
    Ok(Json(
        requests.lift_restriction(customer, &reason, &ctx).await?,
    ))
}

/// Past retention runs, newest first: when, by whom, and what each changed and held.
#[utoipa::path(
    get,
    path = "/api/v1/privacy/retention/runs",
    tag = "privacy",
    responses(
        (status = 200, description = "Past runs (the last 100)", body = Vec<crate::retention::PastRun>),
    )
)]
async fn retention_runs(
    State(store): State<ConsentStore>,
) -> Result<Json<Vec<crate::retention::PastRun>>, ApiError> {
    Ok(Json(crate::retention::past_runs(store.db(), 100).await?))
}

/// Place a legal hold on a person or on a data category of the retention policies: retention
/// skips the held rows, and a held person cannot be erased (409) until the hold is lifted.
#[utoipa::path(
    post,
    path = "/api/v1/privacy/holds",
    tag = "privacy",
    request_body(content = serde_json::Value, description = "Exactly one of `customer_id` and `category` (a data category of `/api/v1/privacy/retention`); `reason` (why the data must be kept); optional `reference` (the matter)."),
    responses(
        (status = 201, description = "Placed", body = crate::holds::Hold),
        (status = 422, description = "A field is missing or invalid (both or neither target, an unknown category or customer, no reason), named by pointer; nothing stored", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn place_hold(
    State(store): State<ConsentStore>,
    ctx: AccessContext,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<crate::holds::Hold>), ApiError> {
    let new = crate::holds::parse_new(&body).map_err(ApiError::Invalid)?;
    Ok((
        StatusCode::CREATED,
        Json(crate::holds::place(store.db(), &new, &ctx).await?),
    ))
}

/// Which holds to list.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct HoldQuery {
    /// `active` (default) or `all`.
    pub state: Option<String>,
}

/// Legal holds, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/privacy/holds",
    tag = "privacy",
    params(HoldQuery),
    responses(
        (status = 200, description = "The holds", body = Vec<crate::holds::Hold>),
        (status = 422, description = "Unknown state filter", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_holds(
    State(store): State<ConsentStore>,
    axum::extract::Query(q): axum::extract::Query<HoldQuery>,
) -> Result<Json<Vec<crate::holds::Hold>>, ApiError> {
    let active = match q.state.as_deref() {
        None | Some("active") => true,
        Some("all") => false,
        Some(_) => return Err(ApiError::field("/state", "must be active or all")),
    };
    Ok(Json(crate::holds::list(store.db(), active).await?))
}

/// One legal hold.
#[utoipa::path(
    get,
    path = "/api/v1/privacy/holds/{id}",
    tag = "privacy",
    params(("id" = String, Path, description = "The hold id")),
    responses(
        (status = 200, description = "The hold", body = crate::holds::Hold),
        (status = 404, description = "No such hold", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_hold(
    State(store): State<ConsentStore>,
    Path(id): Path<String>,
) -> Result<Json<crate::holds::Hold>, ApiError> {
    Ok(Json(crate::holds::get(store.db(), &id).await?))
}

/// Lift a legal hold, with the reason (the matter is closed); retention and erasure apply again.
#[utoipa::path(
    post,
    path = "/api/v1/privacy/holds/{id}/lift",
    tag = "privacy",
    params(("id" = String, Path, description = "The hold id")),
    request_body(content = serde_json::Value, description = "`reason`: why the data need no longer be kept."),
    responses(
        (status = 200, description = "Lifted", body = crate::holds::Hold),
        (status = 404, description = "No such hold", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Lifted already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reason", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn lift_hold(
    State(store): State<ConsentStore>,
    ctx: AccessContext,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<crate::holds::Hold>, ApiError> {
    let reason = crate::holds::parse_lift(&body).map_err(ApiError::Invalid)?;
    Ok(Json(
        crate::holds::lift(store.db(), &id, &reason, &ctx).await?,
    ))
}

/// The records of processing (GDPR Art. 30): purposes with lawful bases, data categories and
/// recipients; retention periods; every stored data category with what erasure does. Generated
/// from what the system enforces, so it cannot drift from it.
#[utoipa::path(
    get,
    path = "/api/v1/privacy/records-of-processing",
    tag = "privacy",
    responses((status = 200, description = "The register", body = crate::records::RecordsOfProcessing))
)]
async fn records_of_processing(
    State(store): State<ConsentStore>,
) -> Result<Json<crate::records::RecordsOfProcessing>, ApiError> {
    let partners = crate::sharing::partners(store.db()).await?;
    Ok(Json(crate::records::register(&partners)))
}

/// The records of processing as CSV (one line per purpose, retention period and data category).
#[utoipa::path(
    get,
    path = "/api/v1/privacy/records-of-processing.csv",
    tag = "privacy",
    responses((status = 200, description = "The register as CSV", content_type = "text/csv"))
)]
async fn records_of_processing_csv(
    State(store): State<ConsentStore>,
) -> Result<axum::response::Response, ApiError> {
    let partners = crate::sharing::partners(store.db()).await?;
    Ok(records_csv_response(&partners))
}

/// The CSV download of the register (the API's and the console's), with the registered
/// partners as recipients of partner sharing.
pub fn records_csv_response(partners: &[crate::sharing::Partner]) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"records-of-processing.csv\"",
            ),
        ],
        crate::records::to_csv(&crate::records::register(partners)),
    )
        .into_response()
}

/// A share as answered: the stored share and the released CSV.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Released {
    /// The share.
    #[serde(flatten)]
    pub share: crate::sharing::Share,
    /// Exactly what the partner receives.
    pub csv: String,
}

/// Release anonymised segment-level insights to a partner: people with the partner-sharing
/// consent only (the others counted), quasi-identifiers generalised (age band, region, travel
/// frequency), classes smaller than k or less diverse than l suppressed. Audited with what was
/// released.
#[utoipa::path(
    post,
    path = "/api/v1/privacy/shares",
    tag = "privacy",
    request_body(content = serde_json::Value, description = "`partner` (a registered partner: its id or registered name); optional `k` (2–1000, default 5), `l` (1–k, default 2), `sensitive` (`meal_preference` or `cabin`), `max_suppression_percent` (0–50, default 10)."),
    responses(
        (status = 201, description = "Released: counts, levels and the CSV", body = Released),
        (status = 422, description = "A field is missing or invalid, or the partner is not registered, named by pointer; nothing released", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn create_share(
    State(store): State<ConsentStore>,
    ctx: AccessContext,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Released>), ApiError> {
    let req = crate::sharing::parse_request(&body).map_err(ApiError::Invalid)?;
    let (share, csv) = crate::sharing::release(store.db(), &req, &ctx).await?;
    Ok((StatusCode::CREATED, Json(Released { share, csv })))
}

/// Past shares, newest first, with their parameters and counts.
#[utoipa::path(
    get,
    path = "/api/v1/privacy/shares",
    tag = "privacy",
    responses((status = 200, description = "The shares", body = Vec<crate::sharing::Share>))
)]
async fn list_shares(
    State(store): State<ConsentStore>,
) -> Result<Json<Vec<crate::sharing::Share>>, ApiError> {
    Ok(Json(crate::sharing::list(store.db()).await?))
}

/// The CSV a share released, exactly as the partner received it.
#[utoipa::path(
    get,
    path = "/api/v1/privacy/shares/{id}/csv",
    tag = "privacy",
    params(("id" = String, Path, description = "The share id")),
    responses(
        (status = 200, description = "The CSV", content_type = "text/csv"),
        (status = 404, description = "No such share", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn share_csv(
    State(store): State<ConsentStore>,
    Path(id): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let csv = crate::sharing::released_csv(store.db(), &id)
        .await?
        .ok_or(ApiError::NotFound("share"))?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        csv,
    )
        .into_response())
}

/// The answer to a partner that is not registered: 422 naming `/partner`.
fn unknown_partner() -> ApiError {
    ApiError::Invalid(vec![FieldError::new(
        "/partner",
        "is not a registered partner; register it first (POST /api/v1/privacy/partners)",
    )])
}

impl From<crate::sharing::ShareError> for ApiError {
    fn from(e: crate::sharing::ShareError) -> Self {
        use crate::sharing::ShareError;
        match e {
            ShareError::UnknownPartner => unknown_partner(),
            ShareError::DuplicatePartner => ApiError::Conflict(FieldError::new(
                "/name",
                "a partner with this name (up to case and spacing) is already registered",
            )),
            ShareError::Storage(s) => s.into(),
        }
    }
}

impl From<crate::dp::DpError> for ApiError {
    fn from(e: crate::dp::DpError) -> Self {
        use crate::dp::DpError;
        match e {
            DpError::UnknownPartner => unknown_partner(),
            DpError::AlreadySet { total } => {
                let mut p = Problem::new(StatusCode::CONFLICT, "privacy-budget-already-set", "Privacy budget already set")
                    .with_detail(format!("The partner's lifetime budget is already ε {total}; it cannot be set again. Raise it explicitly with a reason (POST /api/v1/privacy/dp/budgets/raise)."));
                p.errors = vec![FieldError::new(
                    "/epsilon",
                    format!(
                        "the lifetime budget is already ε {total}; raise it with a reason instead"
                    ),
                )];
                ApiError::Problem(p)
            }
            DpError::NoBudget => {
                let mut p = Problem::new(StatusCode::CONFLICT, "no-privacy-budget", "No privacy budget")
                    .with_detail("No differential-privacy budget is set for this partner; set one first (POST /api/v1/privacy/dp/budgets).");
                p.errors = vec![FieldError::new("/partner", "has no privacy budget")];
                ApiError::Problem(p)
            }
            DpError::Exhausted { needed, remaining } => {
                let mut p = Problem::new(StatusCode::CONFLICT, "privacy-budget-exhausted", "Privacy budget exhausted")
                    .with_detail(format!("This release needs ε {needed} but only {remaining} of the partner's budget remains; nothing was released."));
                p.errors = vec![FieldError::new(
                    "/epsilon",
                    format!("exceeds the remaining budget {remaining}"),
                )];
                ApiError::Problem(p)
            }
            DpError::Storage(s) => s.into(),
        }
    }
}

/// Set a registered partner's lifetime differential-privacy budget (ε), once. Setting it again
/// is refused (409 on `/epsilon`): a raise is `POST /api/v1/privacy/dp/budgets/raise`.
#[utoipa::path(
    post,
    path = "/api/v1/privacy/dp/budgets",
    tag = "privacy",
    request_body(content = serde_json::Value, description = "`partner` (a registered partner: id or name), `epsilon` (the lifetime total, 0.01–100, at most three decimals)."),
    responses(
        (status = 200, description = "The budget now", body = crate::dp::Budget),
        (status = 409, description = "The partner's budget is set already; nothing changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing or invalid, or the partner is not registered", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn set_dp_budget(
    State(store): State<ConsentStore>,
    ctx: AccessContext,
    JsonBody(body): JsonBody,
) -> Result<Json<crate::dp::Budget>, ApiError> {
    let (partner, eps) = crate::dp::parse_budget(&body).map_err(ApiError::Invalid)?;
    Ok(Json(
        crate::dp::set_budget(store.db(), &partner, eps, &ctx).await?,
    ))
}

/// Raise a partner's lifetime differential-privacy budget by `epsilon`, with a reason: audited
/// (totals before and after, reason) and published. What was spent stays spent.
#[utoipa::path(
    post,
    path = "/api/v1/privacy/dp/budgets/raise",
    tag = "privacy",
    request_body(content = serde_json::Value, description = "`partner` (a registered partner: id or name), `epsilon` (the increase, 0.01–100), `reason` (10–500 characters, e.g. the amended agreement)."),
    responses(
        (status = 200, description = "The budget now", body = crate::dp::Budget),
        (status = 409, description = "The partner has no budget to raise", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing or invalid, or the partner is not registered", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn raise_dp_budget(
    State(store): State<ConsentStore>,
    ctx: AccessContext,
    JsonBody(body): JsonBody,
) -> Result<Json<crate::dp::Budget>, ApiError> {
    let raise = crate::dp::parse_raise(&body).map_err(ApiError::Invalid)?;
    Ok(Json(
        crate::dp::raise_budget(store.db(), &raise, &ctx).await?,
    ))
}

/// Register a partner that may receive anonymised insights and differentially private counts:
/// its name, whom to contact, and the legal agreement the sharing rests on. Audited.
#[utoipa::path(
    post,
    path = "/api/v1/privacy/partners",
    tag = "privacy",
    request_body(content = serde_json::Value, description = "`name` (1–100 characters, unique up to case and spacing), `contact` (3–200), `agreement_ref` (1–100)."),
    responses(
        (status = 201, description = "Registered", body = crate::sharing::Partner),
        (status = 409, description = "A partner with this name is registered already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing or invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn register_partner(
    State(store): State<ConsentStore>,
    ctx: AccessContext,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<crate::sharing::Partner>), ApiError> {
    let new = crate::sharing::parse_partner(&body).map_err(ApiError::Invalid)?;
    Ok((
        StatusCode::CREATED,
        Json(crate::sharing::register_partner(store.db(), &new, &ctx).await?),
    ))
}

/// The registered partners, by name.
#[utoipa::path(
    get,
    path = "/api/v1/privacy/partners",
    tag = "privacy",
    responses((status = 200, description = "The partners", body = Vec<crate::sharing::Partner>))
)]
async fn list_partners(
    State(store): State<ConsentStore>,
) -> Result<Json<Vec<crate::sharing::Partner>>, ApiError> {
    Ok(Json(crate::sharing::partners(store.db()).await?))
}

/// Every partner's differential-privacy budget: total, spent, remaining.
#[utoipa::path(
    get,
    path = "/api/v1/privacy/dp/budgets",
    tag = "privacy",
    responses((status = 200, description = "The budgets", body = Vec<crate::dp::Budget>))
)]
async fn list_dp_budgets(
    State(store): State<ConsentStore>,
) -> Result<Json<Vec<crate::dp::Budget>>, ApiError> {
    Ok(Json(crate::dp::budgets(store.db()).await?))
}

/// Release differentially private counts (Laplace mechanism, sensitivity 1, every bin of a fixed
/// domain) of consenting people per age band, region or travel frequency; spends `epsilon` of
/// the partner's budget, or is refused (409) when it cannot.
#[utoipa::path(
    post,
    path = "/api/v1/privacy/dp/releases",
    tag = "privacy",
    request_body(content = serde_json::Value, description = "`partner` (a registered partner: id or name), `dimension` (age_band, region, travel_frequency), `epsilon` (0.01–5)."),
    responses(
        (status = 201, description = "Released: the noisy counts (what the partner receives), the exact number left out for lack of consent (for the privacy officer only) and the budget after", body = crate::dp::DpRelease),
        (status = 409, description = "No budget, or not enough budget left; nothing released", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing or invalid, or the partner is not registered", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn dp_release(
    State(store): State<ConsentStore>,
    ctx: AccessContext,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<crate::dp::DpRelease>), ApiError> {
    let req = crate::dp::parse_release(&body).map_err(ApiError::Invalid)?;
    Ok((
        StatusCode::CREATED,
        Json(crate::dp::release(store.db(), &req, &ctx).await?),
    ))
}
