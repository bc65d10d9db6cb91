//! The batch ingest API: `POST /api/v1/ingest/events` takes a CloudEvents JSON batch (an array
//! of events, `application/cloudevents-batch+json` or `application/json`) of at most
//! [`MAX_EVENTS`] events and answers with the [`BatchReport`]: counts, and every rejected event
//! with its index, pointer and reason. Rejections do not fail the call: the valid events are
//! stored (200). Only a body that is not a batch at all is a 4xx, and a database outage is a
//! 503 after which the whole batch can be re-sent (processing is idempotent by event id).

use axum::extract::{DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use aloft_authz::{Access, RoutePolicy};
use aloft_kernel::http::JsonBody;
use aloft_kernel::{AccessContext, ApiError, Problem};

use crate::envelope::parse_value;
use crate::pipeline::{BatchReport, Pipeline};

/// Most events per call.
pub const MAX_EVENTS: usize = 1_000;

/// Largest accepted body: room for [`MAX_EVENTS`] events of a few KiB each.
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// Sending source records needs the ingest permission (integration clients, CMP managers).
pub const POLICY: &[RoutePolicy] = &[RoutePolicy::new(
    "POST",
    "/api/v1/ingest/events",
    Access::Permission(crate::permissions::RECORDS_INGEST),
)];

/// The ingest API routes (documented in OpenAPI).
pub fn api_routes(pipeline: Pipeline) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(ingest_events))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(pipeline)
}

/// Ingest a batch of source-system events.
///
/// Each event is a CloudEvent 1.0 whose `data` is a travel record and whose extension
/// attributes (`loyaltynumber`, `passengername`, `email`, `phone`, `dateofbirth`,
/// `passportnumber`, `nationality`) identify the passenger. Every event is validated, linked to
/// exactly one customer profile (created if nobody matches) and stored; rejected events are
/// listed with their index in the array (`position`), JSON pointer and reason, and the rest are
/// stored. Re-sending an event id already processed changes nothing.
#[utoipa::path(
    post,
    path = "/api/v1/ingest/events",
    tag = "ingest",
    request_body(content = Vec<serde_json::Value>, content_type = "application/cloudevents-batch+json",
        description = "Up to 1,000 CloudEvents (see data/samples/README.md for the record schemas)"),
    responses(
        (status = 200, description = "Processed; rejected events are listed in the report", body = BatchReport),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "More than 1,000 events or 8 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body is not an array of events", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; re-send the batch later", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn ingest_events(
    State(pipeline): State<Pipeline>,
    ctx: AccessContext,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let items = aloft_kernel::http::event_batch(body, MAX_EVENTS, false)?;
    let mut events = Vec::with_capacity(items.len());
    let mut early = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match parse_value(i as u64, item) {
            Ok(e) => events.push(e),
            Err(r) => early.extend(r),
        }
    }
    let mut report: BatchReport = pipeline.ingest(events, &ctx).await?;
    report.add_rejections(early);
    report.rejected.sort_by_key(|r| r.position);
    Ok((StatusCode::OK, axum::Json(report)).into_response())
}
