//! The processing API: disruptions in, proposals out, a person's decision on a pending one.

use aloft_authz::{Access, RoutePolicy};
use aloft_kernel::http::JsonBody;
use aloft_kernel::{AccessContext, ApiError, FieldError, Problem};
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::model::{self, Method, Status};
use crate::permissions::{COMPENSATION_APPROVE, COMPENSATION_PROCESS, COMPENSATION_SETTINGS};
use crate::service::{Compensation, DecideError, Processed, Proposal};

/// Who may call each API route.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new(
        "POST",
        "/api/v1/compensation/disruptions",
        Access::Permission(COMPENSATION_PROCESS),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/compensation/proposals",
        Access::Permission(COMPENSATION_APPROVE),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/compensation/proposals/{id}",
        Access::Permission(COMPENSATION_APPROVE),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/compensation/proposals/{id}/decision",
        Access::Permission(COMPENSATION_APPROVE),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/compensation/settings",
        Access::Permission(COMPENSATION_SETTINGS),
    ),
    RoutePolicy::new(
        "PUT",
        "/api/v1/compensation/settings",
        Access::Permission(COMPENSATION_SETTINGS),
    ),
    // Operations systems (and the executive, through the proposal page) report when a
    // passenger who missed a connection arrived.
    RoutePolicy::new(
        "POST",
        "/api/v1/compensation/proposals/{id}/facts",
        Access::Permission(COMPENSATION_PROCESS),
    ),
];

/// The API routes.
pub fn api_routes(service: Compensation) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(report_disruption))
        .routes(routes!(list_proposals))
        .routes(routes!(get_proposal))
        .routes(routes!(decide_proposal))
        .routes(routes!(complete_facts))
        .routes(routes!(read_settings, write_settings))
        .with_state(service)
}

/// Report a flight disruption: every passenger booked on the flight is judged, proposals are
/// stored (once per passenger, flight and regime: a replay changes nothing), the smallest
/// amounts approved and paid at once, the rest queued for a customer affairs executive.
#[utoipa::path(
    post,
    path = "/api/v1/compensation/disruptions",
    tag = "compensation",
    request_body(content = Object, description = "`flight` (LH400), `date` (local departure date), `kind` (delay, cancellation), `cause` (as in the evaluation contract), `operating_carrier_country`, `operating_carrier_large`, `actual_departure`, `actual_arrival` (a delay), `notice_days`, `rerouting` (a cancellation), `required_for_safety` (APPR)."),
    responses(
        (status = 200, description = "What was proposed", body = Processed),
        (status = 422, description = "A field is missing or invalid, named by its JSON pointer", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn report_disruption(
    State(service): State<Compensation>,
    ctx: AccessContext,
    JsonBody(body): JsonBody,
) -> Result<Json<Processed>, ApiError> {
    let disruption = model::parse_disruption(&body).map_err(ApiError::Invalid)?;
    Ok(Json(service.process(&ctx, &disruption, &body).await?))
}

/// Filter of the proposal list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct ListParams {
    /// `pending` (default), `approved`, `rejected`, `not_owed`, `awaiting_facts`.
    status: Option<String>,
}

/// Proposals by status, oldest first: the approval queue.
#[utoipa::path(
    get,
    path = "/api/v1/compensation/proposals",
    tag = "compensation",
    params(ListParams),
    responses(
        (status = 200, description = "Up to 500 proposals", body = Vec<Proposal>),
        (status = 422, description = "Unknown status", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_proposals(
    State(service): State<Compensation>,
    Query(params): Query<ListParams>,
) -> Result<Json<Vec<Proposal>>, ApiError> {
    let status = match params.status.as_deref() {
        None => Status::Pending,
        Some(s) => Status::parse(s).ok_or_else(|| {
            ApiError::field(
                "/status",
                "must be pending, approved, rejected, not_owed or awaiting_facts",
            )
        })?,
    };
    Ok(Json(service.queue(status, 500).await?))
}

/// One proposal with its decision, reasons and citations.
#[utoipa::path(
    get,
    path = "/api/v1/compensation/proposals/{id}",
    tag = "compensation",
    responses(
        (status = 200, description = "The proposal", body = Proposal),
        (status = 404, description = "No such proposal", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_proposal(
    State(service): State<Compensation>,
    Path(id): Path<String>,
) -> Result<Json<Proposal>, ApiError> {
    service
        .proposal(&id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound("proposal"))
}

/// Approve (with the payment form) or reject a pending proposal.
#[utoipa::path(
    post,
    path = "/api/v1/compensation/proposals/{id}/decision",
    tag = "compensation",
    request_body(content = Object, description = "`approve` (true/false), `method` (cash, voucher, miles; default cash), `passenger_agreed` (the passenger's signed agreement to a voucher or miles)."),
    responses(
        (status = 200, description = "The decided proposal", body = Proposal),
        (status = 404, description = "No such proposal", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not pending (decided before)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid, or the method is not allowed", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn decide_proposal(
    State(service): State<Compensation>,
    ctx: AccessContext,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Proposal>, ApiError> {
    let (approve, method, agreed) = parse_decision(&body)?;
    service
        .decide(&ctx, &id, approve, method, agreed)
        .await
        .map(Json)
        .map_err(|e| match e {
            DecideError::NotFound => ApiError::NotFound("proposal"),
            DecideError::NotPending(s) => ApiError::Conflict(FieldError::new(
                "",
                format!("the proposal is {s}, not pending"),
            )),
            other => decide_error(other),
        })
}

fn decide_error(e: DecideError) -> ApiError {
    match e {
        DecideError::NotFound => ApiError::NotFound("proposal"),
        DecideError::NotPending(_) | DecideError::NotAwaitingFacts(_) => {
            ApiError::Conflict(FieldError::new("", e.to_string()))
        }
        DecideError::Method(m) => ApiError::field("/method", m),
        DecideError::Storage(e) => e.into(),
    }
}

/// Completes a proposal waiting for facts (a passenger who missed a connection): the time
/// they reached the final destination. The booking is judged again as one journey; the
/// waiting proposal becomes one per regime, approved and paid at once below the automatic
/// limit, otherwise queued.
#[utoipa::path(
    post,
    path = "/api/v1/compensation/proposals/{id}/facts",
    tag = "compensation",
    request_body(content = Object, description = "`final_arrival`: RFC 3339 instant with offset at which the passenger reached the final destination."),
    responses(
        (status = 200, description = "The proposals that replace it, one per regime", body = Vec<Proposal>),
        (status = 404, description = "No such proposal", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not awaiting facts (completed before)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`/final_arrival` missing or not an instant", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn complete_facts(
    State(service): State<Compensation>,
    ctx: AccessContext,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Vec<Proposal>>, ApiError> {
    let arrival = body
        .get("final_arrival")
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .ok_or_else(|| {
            ApiError::field(
                "/final_arrival",
                "is required: the RFC 3339 instant (with offset) the passenger reached the final destination",
            )
        })?;
    service
        .complete_facts(&ctx, &id, arrival)
        .await
        .map(Json)
        .map_err(decide_error)
}

/// `{"approve", "method", "passenger_agreed"}`, every bad field named.
pub(crate) fn parse_decision(body: &Value) -> Result<(bool, Method, bool), ApiError> {
    let mut errors = Vec::new();
    let approve = match body.get("approve") {
        Some(Value::Bool(b)) => *b,
        _ => {
            errors.push(FieldError::new("/approve", "is required: true or false"));
            false
        }
    };
    let method = match body.get("method") {
        None | Some(Value::Null) => Method::Cash,
        Some(Value::String(m)) => Method::parse(m).unwrap_or_else(|| {
            errors.push(FieldError::new("/method", "must be cash, voucher or miles"));
            Method::Cash
        }),
        Some(_) => {
            errors.push(FieldError::new("/method", "must be cash, voucher or miles"));
            Method::Cash
        }
    };
    let agreed = match body.get("passenger_agreed") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.push(FieldError::new(
                "/passenger_agreed",
                "must be true or false",
            ));
            false
        }
    };
    if errors.is_empty() {
        Ok((approve, method, agreed))
    } else {
        Err(ApiError::Invalid(errors))
    }
}

/// The settings in force: amounts approved without a person (per currency; a currency not
/// listed always goes to a person) and the minimum connection time.
#[utoipa::path(
    get,
    path = "/api/v1/compensation/settings",
    tag = "compensation",
    responses((status = 200, description = "`auto_approve_up_to` [{currency, amount}], `minimum_connection_minutes`", body = Object))
)]
async fn read_settings(State(service): State<Compensation>) -> Result<Json<Value>, ApiError> {
    let s = service.refresh_settings().await?;
    Ok(Json(model::settings_document(&s)))
}

/// Replaces the settings (a new version, audited); they apply to every processing from now
/// on, on every instance.
#[utoipa::path(
    put,
    path = "/api/v1/compensation/settings",
    tag = "compensation",
    request_body(content = Object, description = "`auto_approve_up_to`: [{`currency`, `amount` (decimal string)}]; `minimum_connection_minutes` (15–240)."),
    responses(
        (status = 200, description = "The settings now in force", body = Object),
        (status = 422, description = "A field is invalid, named by its JSON pointer", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn write_settings(
    State(service): State<Compensation>,
    ctx: AccessContext,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let base = service.refresh_settings().await?;
    let settings = model::parse_settings(&body, &base).map_err(ApiError::Invalid)?;
    let doc = model::settings_document(&settings);
    service.save_settings(&ctx, settings).await?;
    Ok(Json(doc))
}
