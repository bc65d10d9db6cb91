//! The case API: open, read, move, reply, transfer, the work queue, and agents' routing
//! settings. Every refusal is problem+json naming the field or the reason; a refused request
//! changes nothing.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use aloft_authz::{Access, RoutePolicy};
use aloft_kernel::fields::FieldReader;
use aloft_kernel::http::JsonBody;
use aloft_kernel::{AccessContext, ApiError, FieldError, Problem};
use aloft_vocab::CustomerId;

use crate::calendar::{CalendarDef, is_station};
use crate::disruptions::Disruption;
use crate::extras::{Macro, OverrideError, is_macro_id};
use crate::model::Priority;
use crate::model::Workflow;
use crate::model::{Category, TransitionError, is_queue};
use crate::permissions::{
    CASE_CONFIGURE, CASE_DISRUPTIONS, CASE_SUPERVISE, CASE_WORK, CASE_WORKFLOW_MANAGE,
};
use crate::service::{
    AgentSettings, Case, CaseError, Cases, Entry, NewCase, Opened, QueueFilter, TransitionRequest,
    cursor_of,
};
use crate::settings::{SettingsError, StoredCalendar, WorkflowVersion};

/// Who may call each API route.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new("POST", "/api/v1/cases", Access::Permission(CASE_WORK)),
    RoutePolicy::new(
        "POST",
        "/api/v1/cases/inbound-mail",
        Access::Permission(crate::permissions::CASE_INBOUND_MAIL),
    ),
    RoutePolicy::new("GET", "/api/v1/cases", Access::Permission(CASE_WORK)),
    RoutePolicy::new("GET", "/api/v1/cases/{id}", Access::Permission(CASE_WORK)),
    RoutePolicy::new(
        "POST",
        "/api/v1/cases/{id}/transitions",
        Access::Permission(CASE_WORK),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/cases/{id}/messages",
        Access::Permission(CASE_WORK),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/cases/{id}/assignment",
        Access::Permission(CASE_WORK),
    ),
    RoutePolicy::new(
        "PUT",
        "/api/v1/case-agents/{agent}",
        Access::Permission(CASE_SUPERVISE),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/cases/{id}/priority",
        Access::Permission(CASE_WORK),
    ),
    RoutePolicy::new("GET", "/api/v1/case-macros", Access::Permission(CASE_WORK)),
    RoutePolicy::new(
        "PUT",
        "/api/v1/case-macros/{id}",
        Access::Permission(CASE_CONFIGURE),
    ),
    RoutePolicy::new(
        "DELETE",
        "/api/v1/case-macros/{id}",
        Access::Permission(CASE_CONFIGURE),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/cases/disruptions",
        Access::Permission(CASE_DISRUPTIONS),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/cases/disruptions/{id}",
        Access::Permission(CASE_DISRUPTIONS),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/case-workflow",
        Access::Permission(CASE_WORKFLOW_MANAGE),
    ),
    RoutePolicy::new(
        "PUT",
        "/api/v1/case-workflow",
        Access::Permission(CASE_WORKFLOW_MANAGE),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/case-calendars",
        Access::Permission(CASE_WORKFLOW_MANAGE),
    ),
    RoutePolicy::new(
        "PUT",
        "/api/v1/case-calendars/{station}",
        Access::Permission(CASE_WORKFLOW_MANAGE),
    ),
];

/// The channels a case can come from.
pub const CHANNELS: &[&str] = &[
    "agent",
    "phone",
    "email",
    "chat",
    "web",
    "self_service",
    "social",
    "api",
    "event",
];

impl From<CaseError> for ApiError {
    fn from(e: CaseError) -> Self {
        match e {
            CaseError::NotFound => ApiError::NotFound("case"),
            CaseError::UnknownCustomer => {
                ApiError::field("/customer_id", "no customer with this id")
            }
            CaseError::Transition(TransitionError::UnknownState(s)) => {
                ApiError::field("/to", format!("{s} is not a state of this case's workflow"))
            }
            CaseError::Transition(TransitionError::MissingField(f)) => {
                ApiError::field(format!("/{f}"), "is required for this transition")
            }
            CaseError::Transition(TransitionError::NotAllowed { from, to }) => {
                let mut p = Problem::new(
                    StatusCode::CONFLICT,
                    "illegal-transition",
                    "Illegal transition",
                )
                .with_detail(format!(
                    "A case in {from} cannot move to {to} under its workflow."
                ));
                p.errors = vec![FieldError::new("/to", format!("not allowed from {from}"))];
                ApiError::Problem(p)
            }
            CaseError::Closed => ApiError::Problem(
                Problem::new(StatusCode::CONFLICT, "case-closed", "Case closed")
                    .with_detail("A closed case takes no more changes; open a new one."),
            ),
            CaseError::Busy => ApiError::Problem(
                Problem::new(StatusCode::CONFLICT, "case-busy", "Case changed meanwhile")
                    .with_detail("Another change to this case happened at the same moment; retry."),
            ),
            CaseError::Mail(m) => ApiError::Internal(m),
            CaseError::Storage(s) => s.into(),
        }
    }
}

/// A case with its timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetail {
    /// The case.
    #[serde(flatten)]
    pub case: Case,
    /// Its timeline, oldest first.
    pub timeline: Vec<Entry>,
}

/// The created (or linked) case.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseCreated {
    /// The case.
    #[serde(flatten)]
    pub case: Case,
    /// `true` when the request was linked to the open case about the same matter.
    pub linked_to_existing: bool,
}

fn object(
    body: &serde_json::Value,
) -> Result<&serde_json::Map<String, serde_json::Value>, ApiError> {
    body.as_object()
        .ok_or_else(|| ApiError::field("", "must be a JSON object"))
}

fn text(max: usize) -> impl Fn(&str) -> Result<String, String> {
    move |s: &str| {
        let t = s.trim();
        if t.is_empty() {
            Err("must not be empty".into())
        } else if t.chars().count() > max {
            Err(format!("must be at most {max} characters"))
        } else {
            Ok(t.to_owned())
        }
    }
}

/// Open a case; a request about a matter already open (same customer, category and booking)
/// is linked to the open case (200) instead of opening another.
#[utoipa::path(
    post,
    path = "/api/v1/cases",
    tag = "cases",
    request_body(content = serde_json::Value, description = "`customer_id`, `category`, `subject`, `description`, `channel`, optional `booking_reference`, `queue`, `regulatory_deadline` (RFC 3339), `station` (IATA code: the SLA clocks run on its calendar; else the booking's departure station, else the default calendar). A category the current workflow does not offer is refused (422 naming `/category`)."),
    responses(
        (status = 201, description = "Opened", body = CaseCreated),
        (status = 200, description = "Linked to the open case about the same matter", body = CaseCreated),
        (status = 422, description = "A field is missing or invalid (named by pointer); an unknown queue", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn open_case(
    State(cases): State<Cases>,
    ctx: AccessContext,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let obj = object(&body)?;
    let mut errors = Vec::new();
    let mut r = FieldReader::new(obj, "", &mut errors);
    r.reject_unknown(&[
        "customer_id",
        "category",
        "subject",
        "description",
        "channel",
        "booking_reference",
        "queue",
        "regulatory_deadline",
        "station",
    ]);
    let customer = r.req("customer_id", |s| {
        CustomerId::parse(s).ok_or_else(|| "must be a customer id (UUID)".to_owned())
    });
    let category = r.req("category", |s| {
        Category::parse(s).ok_or_else(|| {
            format!(
                "must be one of: {}",
                Category::ALL.map(Category::as_str).join(", ")
            )
        })
    });
    let subject = r.req("subject", text(200));
    let description = r.req("description", text(10_000));
    let channel = r.req("channel", |s| {
        if CHANNELS.contains(&s) {
            Ok(s.to_owned())
        } else {
            Err(format!("must be one of: {}", CHANNELS.join(", ")))
        }
    });
    let booking = r.opt("booking_reference", |s| {
        let s = s.trim().to_ascii_uppercase();
        if (5..=8).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric()) {
            Ok(s)
        } else {
            Err("must be a booking reference (5–8 letters and digits)".into())
        }
    });
    let queue = r.opt("queue", |s| {
        if is_queue(s) {
            Ok(s.to_owned())
        } else {
            Err(format!("{s} is not a queue"))
        }
    });
    let station = r.opt("station", |s| {
        let s = s.trim().to_ascii_uppercase();
        if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(s)
        } else {
            Err("must be an IATA airport code (three letters)".into())
        }
    });
    let deadline = r.opt("regulatory_deadline", |s| {
        chrono::DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&chrono::Utc))
            .map_err(|_| "must be an RFC 3339 instant".to_owned())
    });
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let (Some(customer_id), Some(category), Some(subject), Some(description), Some(channel)) =
        (customer, category, subject, description, channel)
    else {
        return Err(ApiError::Invalid(errors));
    };
    // A category the current workflow withdrew opens no new case (open ones keep theirs).
    let workflow = cases.current_workflow().await?;
    if !workflow.offers(category) {
        return Err(ApiError::field(
            "/category",
            format!(
                "{} is not offered by the current workflow (version {}); one of: {}",
                category.as_str(),
                workflow.version,
                workflow
                    .categories
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let opened = cases
        .open_at(
            NewCase {
                customer_id,
                category,
                subject,
                description,
                channel,
                booking_reference: booking,
                queue,
                regulatory_deadline: deadline,
            },
            station,
            &ctx,
        )
        .await?;
    let (status, case, linked) = match opened {
        Opened::New(c) => (StatusCode::CREATED, c, false),
        Opened::Linked(c) => (StatusCode::OK, c, true),
    };
    let location = format!("/api/v1/cases/{}", case.id);
    Ok((
        status,
        [(http::header::LOCATION, location)],
        Json(CaseCreated {
            case,
            linked_to_existing: linked,
        }),
    )
        .into_response())
}

/// A case with its timeline (the read is audited).
#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}",
    tag = "cases",
    params(("id" = String, Path, description = "The case id")),
    responses(
        (status = 200, description = "The case", body = CaseDetail),
        (status = 404, description = "No such case", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_case(
    State(cases): State<Cases>,
    ctx: AccessContext,
    Path(id): Path<String>,
) -> Result<Json<CaseDetail>, ApiError> {
    let (case, timeline) = cases.get(&id, &ctx).await?;
    Ok(Json(CaseDetail { case, timeline }))
}

/// Move a case to another state of its workflow, with the fields the transition requires.
#[utoipa::path(
    post,
    path = "/api/v1/cases/{id}/transitions",
    tag = "cases",
    params(("id" = String, Path, description = "The case id")),
    request_body(content = serde_json::Value, description = "`to` (a state) and the fields the transition requires (`resolution`, `reason`, `message`)."),
    responses(
        (status = 200, description = "Moved", body = Case),
        (status = 404, description = "No such case", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The workflow does not allow this move from the current state (or the case is closed); nothing changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown state or a missing required field, named by pointer; nothing changed", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn transition(
    State(cases): State<Cases>,
    ctx: AccessContext,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Case>, ApiError> {
    let obj = object(&body)?;
    let mut errors = Vec::new();
    let mut r = FieldReader::new(obj, "", &mut errors);
    let to = r.req("to", text(64));
    let mut fields = std::collections::BTreeMap::new();
    for (k, v) in obj {
        if k == "to" {
            continue;
        }
        match v {
            serde_json::Value::String(s) if !s.trim().is_empty() => {
                if s.chars().count() > 10_000 {
                    r.fail(k, "must be at most 10000 characters");
                }
                fields.insert(k.clone(), s.trim().to_owned());
            }
            serde_json::Value::String(_) | serde_json::Value::Null => {}
            _ => r.fail(k, "must be a string"),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let Some(to) = to else {
        return Err(ApiError::field("/to", "is required"));
    };
    Ok(Json(
        cases
            .transition(&id, &TransitionRequest { to, fields }, &ctx)
            .await?,
    ))
}

/// Add a message: an agent's reply (stops the response clocks, notifies the passenger) or,
/// with `"author": "customer"`, the customer's words received by another channel (resumes
/// paused clocks).
#[utoipa::path(
    post,
    path = "/api/v1/cases/{id}/messages",
    tag = "cases",
    params(("id" = String, Path, description = "The case id")),
    request_body(content = serde_json::Value, description = "`body`, optional `author` (`agent`, the default, or `customer`)."),
    responses(
        (status = 201, description = "Added; the case as it now stands", body = Case),
        (status = 404, description = "No such case", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is closed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing or invalid", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn add_message(
    State(cases): State<Cases>,
    ctx: AccessContext,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Case>), ApiError> {
    let obj = object(&body)?;
    let mut errors = Vec::new();
    let mut r = FieldReader::new(obj, "", &mut errors);
    r.reject_unknown(&["body", "author"]);
    let text_body = r.req("body", text(10_000));
    let from_customer = r
        .opt("author", |s| match s {
            "agent" => Ok(false),
            "customer" => Ok(true),
            _ => Err("must be agent or customer".to_owned()),
        })
        .unwrap_or(false);
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let Some(text_body) = text_body else {
        return Err(ApiError::field("/body", "is required"));
    };
    let case = cases
        .add_message(&id, from_customer, &text_body, &ctx)
        .await?;
    Ok((StatusCode::CREATED, Json(case)))
}

/// Give a case to another queue or agent, with a reason (manual assignment or transfer).
#[utoipa::path(
    post,
    path = "/api/v1/cases/{id}/assignment",
    tag = "cases",
    params(("id" = String, Path, description = "The case id")),
    request_body(content = serde_json::Value, description = "`queue`, optional `assignee` (else round-robin in the queue), `reason`."),
    responses(
        (status = 200, description = "Assigned", body = Case),
        (status = 404, description = "No such case", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown queue or missing reason", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn assign(
    State(cases): State<Cases>,
    ctx: AccessContext,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Case>, ApiError> {
    let obj = object(&body)?;
    let mut errors = Vec::new();
    let mut r = FieldReader::new(obj, "", &mut errors);
    r.reject_unknown(&["queue", "assignee", "reason"]);
    let queue = r.req("queue", |s| {
        if is_queue(s) {
            Ok(s.to_owned())
        } else {
            Err(format!("{s} is not a queue"))
        }
    });
    let assignee = r.opt("assignee", text(200));
    let reason = r.req("reason", text(2_000));
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let (Some(queue), Some(reason)) = (queue, reason) else {
        return Err(ApiError::Invalid(errors));
    };
    Ok(Json(
        cases
            .assign(&id, &queue, assignee.as_deref(), &reason, &ctx)
            .await?,
    ))
}

/// Which work queue to list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct QueueQuery {
    /// A queue name; absent: the caller's own cases.
    pub queue: Option<String>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Page size (1–200, default 50).
    pub limit: Option<i64>,
}

/// A page of the work queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueuePage {
    /// Open cases, most urgent first.
    pub items: Vec<Case>,
    /// Cursor of the next page, if there may be one.
    pub next: Option<String>,
}

/// The work queue: the caller's open cases, or a queue's, most urgent first (keyset paging).
#[utoipa::path(
    get,
    path = "/api/v1/cases",
    tag = "cases",
    params(QueueQuery),
    responses(
        (status = 200, description = "A page", body = QueuePage),
        (status = 422, description = "Unknown queue", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn work_queue(
    State(cases): State<Cases>,
    ctx: AccessContext,
    Query(q): Query<QueueQuery>,
) -> Result<Json<QueuePage>, ApiError> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let filter = match &q.queue {
        Some(name) if !is_queue(name) => {
            return Err(ApiError::field("/queue", format!("{name} is not a queue")));
        }
        Some(name) => QueueFilter::Queue(name),
        None => QueueFilter::Assignee(&ctx.actor.id),
    };
    let items = cases.work_queue(filter, q.after.as_deref(), limit).await?;
    let next = (items.len() as i64 == limit)
        .then(|| items.last().map(cursor_of))
        .flatten();
    Ok(Json(QueuePage { items, next }))
}

/// Set an agent's queues, languages, capacity and availability (supervisors).
#[utoipa::path(
    put,
    path = "/api/v1/case-agents/{agent}",
    tag = "cases",
    params(("agent" = String, Path, description = "The staff member's actor id")),
    request_body = AgentSettings,
    responses(
        (status = 204, description = "Saved"),
        (status = 422, description = "Unknown queue or bad capacity", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn configure_agent(
    State(cases): State<Cases>,
    ctx: AccessContext,
    Path(agent): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<StatusCode, ApiError> {
    let settings: AgentSettings = serde_json::from_value(body)
        .map_err(|e| ApiError::field("", format!("must be agent settings: {e}")))?;
    let mut errors = Vec::new();
    for (i, q) in settings.queues.iter().enumerate() {
        if !is_queue(q) {
            errors.push(FieldError::new(
                format!("/queues/{i}"),
                format!("{q} is not a queue"),
            ));
        }
    }
    if !(0..=500).contains(&settings.capacity) {
        errors.push(FieldError::new("/capacity", "must be between 0 and 500"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    cases.configure_agent(&agent, &settings, &ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Report a flight disruption (cancellation or long delay): a case is opened for every
/// affected passenger — or their open case about the same flight or booking is linked —
/// prioritised by tier, special assistance and onward connection, each passenger notified.
/// Accepted at once and processed by a job (exactly once, surviving restarts); the same flight
/// and kind reported again is the same disruption (200) and opens nothing new. Accepts the
/// document sent to `/api/v1/compensation/disruptions` (extra fields are ignored).
#[utoipa::path(
    post,
    path = "/api/v1/cases/disruptions",
    tag = "cases",
    request_body(content = serde_json::Value, description = "`flight` (LH400), `date` (local departure date), `kind` (`cancellation` or `delay`); for a delay `delay_minutes` or `actual_departure` (RFC 3339). Delays under 180 minutes open no cases."),
    responses(
        (status = 202, description = "Accepted; processing is queued", body = Disruption),
        (status = 200, description = "Reported before: the same disruption, nothing added", body = Disruption),
        (status = 422, description = "A field is missing or invalid (named by pointer)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn report_disruption(
    State(cases): State<Cases>,
    ctx: AccessContext,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let report = crate::model::irregular::parse_report(&body).map_err(ApiError::Invalid)?;
    let (disruption, new) = cases.report_disruption(&report, &body, &ctx).await?;
    let location = format!("/api/v1/cases/disruptions/{}", disruption.id);
    let status = if new {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        [(http::header::LOCATION, location)],
        Json(disruption),
    )
        .into_response())
}

/// A reported disruption: `queued`, or `done` with the cases it opened and linked.
#[utoipa::path(
    get,
    path = "/api/v1/cases/disruptions/{id}",
    tag = "cases",
    params(("id" = String, Path, description = "The disruption id")),
    responses(
        (status = 200, description = "The disruption", body = Disruption),
        (status = 404, description = "No such disruption", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_disruption(
    State(cases): State<Cases>,
    Path(id): Path<String>,
) -> Result<Json<Disruption>, ApiError> {
    cases
        .disruption(&id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound("disruption"))
}

/// Set a case's priority by hand, with a reason: the reason joins the priority's reasons, the
/// SLA clocks take the new priority's targets, the change is audited and announced
/// (`aloft.case.priority_changed`).
#[utoipa::path(
    post,
    path = "/api/v1/cases/{id}/priority",
    tag = "cases",
    params(("id" = String, Path, description = "The case id")),
    request_body(content = serde_json::Value, description = "`priority` (`urgent`, `high`, `normal`, `low`) and `reason`."),
    responses(
        (status = 200, description = "Changed", body = Case),
        (status = 404, description = "No such case", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The case is closed or changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown priority or no reason, named by pointer; nothing changed", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn set_priority(
    State(cases): State<Cases>,
    ctx: AccessContext,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Case>, ApiError> {
    let obj = object(&body)?;
    let mut errors = Vec::new();
    let mut r = FieldReader::new(obj, "", &mut errors);
    r.reject_unknown(&["priority", "reason"]);
    let priority = r.req("priority", |s| {
        Priority::parse(s).ok_or_else(|| "must be one of: urgent, high, normal, low".to_owned())
    });
    let reason = r.req("reason", text(2_000));
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let (Some(priority), Some(reason)) = (priority, reason) else {
        return Err(ApiError::Invalid(errors));
    };
    match cases.override_priority(&id, priority, &reason, &ctx).await {
        Ok(c) => Ok(Json(c)),
        Err(OverrideError::NoReason(_)) => Err(ApiError::field("/reason", "is required")),
        Err(OverrideError::Case(e)) => Err(e.into()),
    }
}

/// The canned replies agents may insert, by name.
#[utoipa::path(
    get,
    path = "/api/v1/case-macros",
    tag = "cases",
    responses((status = 200, description = "Every macro", body = [Macro]))
)]
async fn list_macros(State(cases): State<Cases>) -> Result<Json<Vec<Macro>>, ApiError> {
    Ok(Json(cases.macros().await?))
}

/// Create or replace a canned reply (CMP manager); `{{reference}}` in the body becomes the
/// case's reference when inserted.
#[utoipa::path(
    put,
    path = "/api/v1/case-macros/{id}",
    tag = "cases",
    params(("id" = String, Path, description = "The macro id: 1-64 of a-z, 0-9, -")),
    request_body(content = serde_json::Value, description = "`name` and `body`."),
    responses(
        (status = 201, description = "Created", body = Macro),
        (status = 200, description = "Replaced", body = Macro),
        (status = 422, description = "A bad id, name or body, named by pointer", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn put_macro(
    State(cases): State<Cases>,
    ctx: AccessContext,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Macro>), ApiError> {
    let obj = object(&body)?;
    let mut errors = Vec::new();
    let mut r = FieldReader::new(obj, "", &mut errors);
    r.reject_unknown(&["name", "body"]);
    let name = r.req("name", text(100));
    let text_body = r.req("body", text(10_000));
    if !is_macro_id(&id) {
        errors.push(FieldError::new(
            "#id",
            "must be 1-64 lower-case letters, digits or dashes",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let (Some(name), Some(text_body)) = (name, text_body) else {
        return Err(ApiError::Invalid(errors));
    };
    let new = cases.save_macro(&id, &name, &text_body, &ctx).await?;
    let saved = cases
        .macro_by_id(&id)
        .await?
        .ok_or(ApiError::NotFound("macro"))?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(saved)))
}

/// Delete a canned reply (CMP manager).
#[utoipa::path(
    delete,
    path = "/api/v1/case-macros/{id}",
    tag = "cases",
    params(("id" = String, Path, description = "The macro id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such macro", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn delete_macro(
    State(cases): State<Cases>,
    ctx: AccessContext,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if cases.delete_macro(&id, &ctx).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("macro"))
    }
}

/// The API routes over `cases`.
pub fn api_routes(cases: Cases) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(open_case, work_queue))
        .routes(routes!(get_case))
        .routes(routes!(transition))
        .routes(routes!(add_message))
        .routes(routes!(assign))
        .routes(routes!(configure_agent))
        .routes(routes!(set_priority))
        .routes(routes!(list_macros))
        .routes(routes!(put_macro, delete_macro))
        .routes(routes!(report_disruption))
        .routes(routes!(get_disruption))
        .routes(routes!(inbound_mail))
        .with_state(cases.clone())
        .merge(settings_routes(cases))
}

/// What filing an inbound message did.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboundFiled {
    /// `appended` (a reply added to its case), `opened` (a case opened or the open one about
    /// the same matter), `duplicate` (delivered before).
    pub outcome: &'static str,
    /// The case the message is filed in.
    pub case_id: String,
}

/// File an inbound e-mail: a reply naming a case's reference (`C-1A2B3C4D`) from its customer
/// joins that case as the customer's words; any other message from a known customer opens a
/// case (category guessed from the words). Once per `message_id`.
#[utoipa::path(
    post,
    path = "/api/v1/cases/inbound-mail",
    tag = "cases",
    request_body(content = serde_json::Value, description = "`message_id`, `from` (address), `subject`, `body` (text)."),
    responses(
        (status = 201, description = "Filed: a case opened", body = InboundFiled),
        (status = 200, description = "Filed into an existing case, or delivered before", body = InboundFiled),
        (status = 409, description = "The same message is being filed right now; retry", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing, or no single customer has the sender's address (`/from`): the message is not filed", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn inbound_mail(
    State(cases): State<Cases>,
    ctx: AccessContext,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let obj = object(&body)?;
    let mut errors = Vec::new();
    let mut r = FieldReader::new(obj, "", &mut errors);
    r.reject_unknown(&["message_id", "from", "subject", "body"]);
    let message_id = r.req("message_id", text(998));
    let from = r.req("from", text(320));
    let subject = r
        .opt("subject", |s| Ok::<_, String>(s.to_owned()))
        .unwrap_or_default();
    let text_body = r.req("body", text(100_000));
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let (Some(message_id), Some(from), Some(text_body)) = (message_id, from, text_body) else {
        return Err(ApiError::Invalid(errors));
    };
    let mail = crate::inbound::InboundMail {
        message_id,
        from,
        subject,
        body: text_body,
    };
    use crate::inbound::{Filed, InboundError};
    let (status, outcome, case_id) = match cases.file_inbound(&mail, &ctx).await {
        Ok(Filed::Opened(c)) => (StatusCode::CREATED, "opened", c.id),
        Ok(Filed::Appended(c)) => (StatusCode::OK, "appended", c.id),
        Ok(Filed::Duplicate(id)) => (StatusCode::OK, "duplicate", id),
        Err(InboundError::UnknownSender) => {
            return Err(ApiError::field(
                "/from",
                "no single customer has this address: the message is not filed",
            ));
        }
        Err(InboundError::InProgress) => {
            return Err(ApiError::Conflict(aloft_kernel::FieldError::new(
                "/message_id",
                "this message is being filed right now; retry",
            )));
        }
        Err(InboundError::Case(e)) => return Err(e.into()),
    };
    Ok((status, Json(InboundFiled { outcome, case_id })).into_response())
}

// ---------------------------------------------------------------------------------------------
// Workflow and calendars (the CMP manager)
// ---------------------------------------------------------------------------------------------

impl From<SettingsError> for ApiError {
    fn from(e: SettingsError) -> Self {
        match e {
            SettingsError::Invalid(problems) => ApiError::Invalid(
                problems
                    .into_iter()
                    .map(|p| FieldError::new(p.pointer, p.message))
                    .collect(),
            ),
            SettingsError::Conflict => ApiError::Problem(
                Problem::new(
                    StatusCode::CONFLICT,
                    "workflow-conflict",
                    "Another version was published",
                )
                .with_detail("Another workflow version was published at the same moment; read the current one and retry."),
            ),
            SettingsError::Storage(s) => s.into(),
        }
    }
}

/// The current workflow with who published it and every version.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkflowView {
    /// The current definition (with its `version`).
    #[serde(flatten)]
    pub workflow: Workflow,
    /// When the current version was published.
    pub published_at: chrono::DateTime<chrono::Utc>,
    /// Who published it.
    pub published_by: String,
    /// Every version, newest first, with the open cases following each.
    pub history: Vec<WorkflowVersion>,
}

/// Every problem of the JSON's shape, by pointer: what serde would refuse without saying where.
/// Keys the GET answer adds (`version`, `published_at`, `published_by`, `history`) are
/// accepted and ignored, so a read definition can be sent back edited.
pub fn workflow_shape(body: &serde_json::Value) -> Vec<FieldError> {
    use serde_json::Value;
    let mut errors = Vec::new();
    let Some(obj) = body.as_object() else {
        return vec![FieldError::new("", "must be a JSON object")];
    };
    let known = [
        "initial",
        "states",
        "transitions",
        "categories",
        "version",
        "published_at",
        "published_by",
        "history",
    ];
    for k in obj.keys() {
        if !known.contains(&k.as_str()) {
            errors.push(FieldError::new(format!("/{k}"), "is not a workflow field"));
        }
    }
    if !obj.get("initial").is_some_and(Value::is_string) {
        errors.push(FieldError::new("/initial", "must be the name of a state"));
    }
    // (list, item fields: (name, kind) with kind s = string, b = boolean, l = list of strings;
    // required ones first)
    /// An item field: its name, its kind, whether it is required.
    type ItemField = (&'static str, char, bool);
    let lists: [(&str, &[ItemField]); 3] = [
        (
            "states",
            &[
                ("name", 's', true),
                ("label", 's', true),
                ("pauses_clock", 'b', false),
                ("terminal", 'b', false),
                ("resolved", 'b', false),
            ],
        ),
        (
            "transitions",
            &[
                ("from", 's', true),
                ("to", 's', true),
                ("required", 'l', false),
            ],
        ),
        ("categories", &[("name", 's', true), ("label", 's', true)]),
    ];
    for (list, fields) in lists {
        let Some(items) = obj.get(list).and_then(Value::as_array) else {
            errors.push(FieldError::new(format!("/{list}"), "must be a list"));
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let Some(item) = item.as_object() else {
                errors.push(FieldError::new(format!("/{list}/{i}"), "must be an object"));
                continue;
            };
            for k in item.keys() {
                if !fields.iter().any(|(f, _, _)| f == k) {
                    let names: Vec<&str> = fields.iter().map(|(f, _, _)| *f).collect();
                    errors.push(FieldError::new(
                        format!("/{list}/{i}/{k}"),
                        format!("is not a field here; use {}", names.join(", ")),
                    ));
                }
            }
            for (f, kind, required) in fields {
                let pointer = format!("/{list}/{i}/{f}");
                match (item.get(*f), kind) {
                    (None | Some(Value::Null), _) if !required => {}
                    (None, _) => errors.push(FieldError::new(pointer, "is required")),
                    (Some(Value::String(_)), 's') | (Some(Value::Bool(_)), 'b') => {}
                    (Some(Value::Array(a)), 'l') => {
                        for (j, x) in a.iter().enumerate() {
                            if !x.is_string() {
                                errors.push(FieldError::new(
                                    format!("{pointer}/{j}"),
                                    "must be a field name",
                                ));
                            }
                        }
                    }
                    (_, 's') => errors.push(FieldError::new(pointer, "must be a string")),
                    (_, 'b') => errors.push(FieldError::new(pointer, "must be true or false")),
                    _ => errors.push(FieldError::new(pointer, "must be a list of field names")),
                }
            }
        }
    }
    errors
}

/// The workflow new cases follow, with its version, who published it, and every version.
#[utoipa::path(
    get,
    path = "/api/v1/case-workflow",
    tag = "cases",
    responses(
        (status = 200, description = "The current workflow", body = WorkflowView),
        (status = 403, description = "Not the CMP manager", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_workflow(State(cases): State<Cases>) -> Result<Json<WorkflowView>, ApiError> {
    let workflow = cases.current_workflow().await?;
    let history = cases.workflow_history().await?;
    let current = history
        .iter()
        .find(|v| v.version == workflow.version)
        .cloned()
        .ok_or_else(|| ApiError::Internal("current workflow version not listed".into()))?;
    Ok(Json(WorkflowView {
        workflow,
        published_at: current.published_at,
        published_by: current.published_by,
        history,
    }))
}

/// Publish a whole new workflow definition as the next version: states, allowed transitions
/// with their required fields, and the categories new cases may take. New cases follow it;
/// open cases keep the version they were opened under (so removing a state or a category open
/// cases use is allowed). An incoherent definition is refused with every problem named by
/// JSON pointer, and nothing changes.
#[utoipa::path(
    put,
    path = "/api/v1/case-workflow",
    tag = "cases",
    request_body(content = Workflow, description = "`initial`, `states` (`name`, `label`, `pauses_clock`, `terminal`, `resolved`), `transitions` (`from`, `to`, `required`), `categories` (`name`, `label`). A `version` is ignored: the server numbers versions."),
    responses(
        (status = 201, description = "Published as the next version", body = Workflow),
        (status = 409, description = "Another version was published at the same moment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown state in a transition, unreachable or dead-end state, no initial or closing state, duplicate names, unknown category — each named by pointer", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn put_workflow(
    State(cases): State<Cases>,
    ctx: AccessContext,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Workflow>), ApiError> {
    let shape = workflow_shape(&body);
    if !shape.is_empty() {
        return Err(ApiError::Invalid(shape));
    }
    let mut body = body;
    if let Some(obj) = body.as_object_mut() {
        for k in ["published_at", "published_by", "history"] {
            obj.remove(k);
        }
        obj.insert("version".into(), serde_json::json!(0));
    }
    let definition: Workflow =
        serde_json::from_value(body).map_err(|e| ApiError::field("", e.to_string()))?;
    let published = cases.publish_workflow(definition, &ctx).await?;
    Ok((StatusCode::CREATED, Json(published)))
}

/// Every station calendar saved; cases at other stations (and without one) run on the
/// `default` calendar (round the clock in UTC until one is saved).
#[utoipa::path(
    get,
    path = "/api/v1/case-calendars",
    tag = "cases",
    responses((status = 200, description = "The saved calendars, by station", body = [StoredCalendar]))
)]
async fn list_calendars(State(cases): State<Cases>) -> Result<Json<Vec<StoredCalendar>>, ApiError> {
    Ok(Json(cases.calendars().await?))
}

/// Save the business calendar of a station (IATA code, or `default`): IANA time zone, weekly
/// opening hours, holidays. SLA clocks of cases at that station run on it.
#[utoipa::path(
    put,
    path = "/api/v1/case-calendars/{station}",
    tag = "cases",
    params(("station" = String, Path, description = "IATA airport code (FRA) or `default`")),
    request_body(content = CalendarDef, description = "`time_zone` (IANA), `hours` (`day` mon…sun, `opens` HH:MM, `closes` HH:MM or 24:00), `holidays` (YYYY-MM-DD)."),
    responses(
        (status = 200, description = "Saved", body = StoredCalendar),
        (status = 422, description = "A bad station, time zone, day, time or date, named by pointer", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn put_calendar(
    State(cases): State<Cases>,
    ctx: AccessContext,
    Path(station): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<StoredCalendar>, ApiError> {
    use serde_json::Value;
    let mut errors = Vec::new();
    if !is_station(&station) {
        errors.push(FieldError::new(
            "#station",
            "must be an IATA airport code (three capital letters) or default",
        ));
    }
    let obj = object(&body)?;
    for k in obj.keys() {
        if ![
            "time_zone",
            "hours",
            "holidays",
            "station",
            "version",
            "updated_at",
            "updated_by",
        ]
        .contains(&k.as_str())
        {
            errors.push(FieldError::new(format!("/{k}"), "is not a calendar field"));
        }
    }
    if !obj.get("time_zone").is_some_and(Value::is_string) {
        errors.push(FieldError::new(
            "/time_zone",
            "must be an IANA time zone name",
        ));
    }
    match obj.get("hours").and_then(Value::as_array) {
        None => errors.push(FieldError::new("/hours", "must be a list")),
        Some(hours) => {
            for (i, h) in hours.iter().enumerate() {
                for f in ["day", "opens", "closes"] {
                    if !h.get(f).is_some_and(Value::is_string) {
                        errors.push(FieldError::new(
                            format!("/hours/{i}/{f}"),
                            "must be a string",
                        ));
                    }
                }
            }
        }
    }
    match obj.get("holidays") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => {
            for (i, d) in a.iter().enumerate() {
                if !d.is_string() {
                    errors.push(FieldError::new(
                        format!("/holidays/{i}"),
                        "must be a date YYYY-MM-DD",
                    ));
                }
            }
        }
        Some(_) => errors.push(FieldError::new("/holidays", "must be a list of dates")),
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let definition = CalendarDef {
        time_zone: obj["time_zone"].as_str().unwrap_or_default().to_owned(),
        hours: serde_json::from_value(obj["hours"].clone())
            .map_err(|e| ApiError::field("/hours", e.to_string()))?,
        holidays: obj
            .get("holidays")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|d| d.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    };
    Ok(Json(
        cases.save_calendar(&station, &definition, &ctx).await?,
    ))
}

/// The workflow and calendar API routes over `cases`.
pub fn settings_routes(cases: Cases) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(get_workflow, put_workflow))
        .routes(routes!(list_calendars))
        .routes(routes!(put_calendar))
        .with_state(cases)
}
