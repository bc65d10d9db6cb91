//! The timeline API (`GET /api/v1/customers/{id}/timeline`) and the timeline page, the part of
//! the customer 360° view this domain serves. Reads are audited like profile reads.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use maud::html;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use aloft_authz::{Access, RoutePolicy};
use aloft_web::{Section, layout, page};

use crate::permissions::{INTERACTION_WRITE, TIMELINE_READ};
use aloft_kernel::{AccessContext, ApiError, Auditor, Problem};

use crate::model::CustomerId;
use crate::storage::TravelStore;
use crate::timeline::{TimelineEntry, TimelineKind, TimelinePage, TimelineQuery};

/// Timelines are shown inside the customers section of the workspace.
const SECTION: Section = Section::new("customers");

/// Who may read timelines and log interactions.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new(
        "GET",
        "/api/v1/customers/{id}/timeline",
        Access::Permission(TIMELINE_READ),
    ),
    RoutePolicy::new(
        "GET",
        "/customers/{id}/timeline",
        Access::Permission(TIMELINE_READ),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/customers/{id}/suggestions",
        Access::Permission(TIMELINE_READ),
    ),
    RoutePolicy::new(
        "POST",
        "/customers/{id}/interactions",
        Access::Permission(INTERACTION_WRITE),
    ),
];

/// A customer's stated seat and meal preferences (from the customers domain).
pub trait StatedPreferences: Send + Sync + 'static {
    /// `(seat, meal)` as stated on the profile, if any; `None` if there is no such customer.
    #[allow(clippy::type_complexity)]
    fn stated<'a>(
        &'a self,
        customer: CustomerId,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = Result<
                        Option<(Option<String>, Option<String>)>,
                        aloft_kernel::StorageError,
                    >,
                > + Send
                + 'a,
        >,
    >;
}

/// Whether the signed-in principal's row scope includes a customer (answered by the customers
/// domain; a customer outside it does not exist for them).
pub trait Visibility: Send + Sync + 'static {
    /// `true` if `principal` may see `customer`.
    fn visible<'a>(
        &'a self,
        principal: Option<&'a aloft_authz::Principal>,
        customer: CustomerId,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<bool, aloft_kernel::StorageError>> + Send + 'a>,
    >;
}

/// State of the timeline routes.
#[derive(Clone)]
pub struct TimelineState {
    pub(crate) store: TravelStore,
    pub(crate) auditor: Option<Auditor>,
    visibility: Option<std::sync::Arc<dyn Visibility>>,
    pub(crate) stated: Option<std::sync::Arc<dyn StatedPreferences>>,
}

impl TimelineState {
    /// Over `store`, auditing reads through `auditor`.
    pub fn new(store: TravelStore, auditor: Option<Auditor>) -> Self {
        Self {
            store,
            auditor,
            visibility: None,
            stated: None,
        }
    }

    /// Reads stated preferences through `stated` (for suggestions).
    pub fn with_stated_preferences(
        mut self,
        stated: std::sync::Arc<dyn StatedPreferences>,
    ) -> Self {
        self.stated = Some(stated);
        self
    }

    /// Applies the principal's row scope (see [`Visibility`]).
    pub fn with_visibility(mut self, visibility: std::sync::Arc<dyn Visibility>) -> Self {
        self.visibility = Some(visibility);
        self
    }

    pub(crate) async fn ensure_visible(&self, customer: CustomerId) -> Result<(), ApiError> {
        if let Some(v) = &self.visibility {
            let principal = aloft_authz::current_principal();
            if !v.visible(principal.as_ref(), customer).await? {
                return Err(ApiError::NotFound("customer"));
            }
        }
        Ok(())
    }

    async fn read(
        &self,
        ctx: &AccessContext,
        id: &str,
        q: &TimelineParams,
    ) -> Result<(CustomerId, TimelinePage), ApiError> {
        let customer = CustomerId::parse(id).ok_or(ApiError::NotFound("customer"))?;
        self.ensure_visible(customer).await?;
        let query = TimelineQuery::from_params(
            q.kinds.as_deref(),
            q.from.as_deref(),
            q.to.as_deref(),
            q.cursor.as_deref(),
            q.limit.as_deref(),
        )
        .map_err(ApiError::Invalid)?;
        let page = self.store.timeline(customer, &query).await?;
        if let Some(auditor) = &self.auditor {
            auditor
                .record(ctx.entry(
                    crate::events::audit::CUSTOMER_TIMELINE_READ,
                    "customer",
                    Some(customer.to_string()),
                    vec!["timeline".into()],
                    "success",
                ))
                .await
                .map_err(aloft_kernel::StorageError::from)?;
        }
        Ok((customer, page))
    }
}

/// The timeline API and page.
pub fn api_routes(state: TimelineState) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(timeline))
        .routes(routes!(suggestions))
        .with_state(state)
}

/// The timeline page (full page, or the list alone for htmx).
pub fn page_routes(state: TimelineState) -> Router {
    Router::new()
        .route(
            "/customers/{id}/timeline",
            axum::routing::get(timeline_page),
        )
        .route(
            "/customers/{id}/interactions",
            axum::routing::post(log_interaction),
        )
        .with_state(state)
}

/// Query parameters of a timeline read.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct TimelineParams {
    /// Comma-separated kinds: flight, ancillary, purchase, post_order, interaction, feedback,
    /// lounge_visit, chauffeur_ride, baggage.
    pub kinds: Option<String>,
    /// Entries at or after this instant (RFC 3339 with offset).
    pub from: Option<String>,
    /// Entries before this instant.
    pub to: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–100 (default 50).
    pub limit: Option<String>,
}

/// One page of a timeline, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineResponse {
    /// Entries, newest first.
    #[schema(value_type = Vec<Object>)]
    pub entries: Vec<TimelineEntry>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A customer's timeline: flights, bags, purchases, interactions, feedback, lounge visits…
///
/// Newest first; filter by kind and date; page with `cursor`. An unknown customer has an empty
/// timeline.
#[utoipa::path(
    get,
    path = "/api/v1/customers/{id}/timeline",
    tag = "customers",
    params(("id" = String, Path, description = "Customer id"), TimelineParams),
    responses(
        (status = 200, description = "A page of the timeline", body = TimelineResponse),
        (status = 422, description = "A parameter is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable; retry later", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn timeline(
    State(state): State<TimelineState>,
    ctx: AccessContext,
    Path(id): Path<String>,
    Query(q): Query<TimelineParams>,
) -> Result<Response, ApiError> {
    let (_, page) = state.read(&ctx, &id, &q).await?;
    Ok(axum::Json(TimelineResponse {
        entries: page.entries,
        next_cursor: page.next.map(|c| c.encode()),
    })
    .into_response())
}

pub(crate) fn kind_label(k: TimelineKind) -> &'static str {
    match k {
        TimelineKind::Flight => "Flights",
        TimelineKind::Ancillary => "Ancillaries",
        TimelineKind::Purchase => "Purchases",
        TimelineKind::PostOrder => "Shipments and invoices",
        TimelineKind::Interaction => "Calls, e-mails and chats",
        TimelineKind::Feedback => "Feedback",
        TimelineKind::LoungeVisit => "Lounge visits",
        TimelineKind::ChauffeurRide => "Chauffeur rides",
        TimelineKind::Baggage => "Bags",
    }
}

async fn timeline_page(
    State(state): State<TimelineState>,
    ctx: AccessContext,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    // The filter form sends one `kind` per ticked box; links carry `kinds=a,b`.
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut kinds: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "kind")
        .map(|(_, v)| v.clone())
        .collect();
    if let Some(list) = get("kinds") {
        kinds.extend(list.split(',').filter(|s| !s.is_empty()).map(str::to_owned));
    }
    let q = TimelineParams {
        kinds: (!kinds.is_empty()).then(|| kinds.join(",")),
        from: get("from"),
        to: get("to"),
        cursor: get("cursor"),
        limit: get("limit"),
    };
    let (customer, tl) = match state.read(&ctx, &id, &q).await {
        Ok(r) => r,
        Err(ApiError::Invalid(errors)) => {
            let detail: Vec<String> = errors.iter().map(|e| e.detail.clone()).collect();
            return page(
                StatusCode::UNPROCESSABLE_ENTITY,
                layout(
                    "Timeline",
                    SECTION,
                    html! { h1 { "Timeline" } p.form-error role="alert" { (detail.join("; ")) } },
                ),
            );
        }
        Err(e) => return e.into_response(),
    };
    let chosen: Vec<String> = q
        .kinds
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let older = tl.next.map(|c| {
        let mut link = format!("/customers/{customer}/timeline?cursor={}", c.encode());
        if !chosen.is_empty() {
            link.push_str(&format!("&kinds={}", chosen.join(",")));
        }
        link
    });
    let list = html! {
        @if tl.entries.is_empty() {
            p.muted { "Nothing on the timeline yet." }
        } @else {
            ol.timeline aria-label="Timeline, newest first" {
                @for e in &tl.entries {
                    li {
                        time datetime=(e.occurred_at.to_rfc3339()) { (e.occurred_at.format("%Y-%m-%d %H:%M UTC")) }
                        " "
                        span.kind { (kind_label(e.kind)) }
                        " — "
                        (e.summary)
                    }
                }
            }
        }
        @if let Some(link) = &older { p { a href=(link) { "Older entries" } } }
    };
    if headers.get("hx-request").is_some() {
        return page(StatusCode::OK, list);
    }
    page(
        StatusCode::OK,
        layout(
            "Timeline",
            SECTION,
            html! {
                nav aria-label="Breadcrumb" { a href="/customers" { "Customers" } " › " a href={ "/customers/" (customer) } { "Profile" } " › Timeline" }
                h1 { "Timeline" }
                form method="get" action={ "/customers/" (customer) "/timeline" } {
                    fieldset {
                        legend { "Show" }
                        @for k in TimelineKind::ALL {
                            label for={ "k-" (k.as_str()) } {
                                input #{ "k-" (k.as_str()) } type="checkbox" name="kind" value=(k.as_str()) checked[chosen.iter().any(|c| c == k.as_str())];
                                (kind_label(*k))
                            }
                        }
                    }
                    button type="submit" { "Filter" }
                }
                @if aloft_authz::current_principal().is_some_and(|p| p.can(INTERACTION_WRITE)) {
                    details {
                        summary { "Log a call, e-mail or chat" }
                        (interaction_form(customer, None))
                    }
                }
                (list)
            },
        ),
    )
}

pub(crate) fn interaction_form(customer: CustomerId, error: Option<&str>) -> maud::Markup {
    html! {
        form method="post" action={ "/customers/" (customer) "/interactions" } {
            (aloft_web::csrf_field())
            @if let Some(e) = error { p.form-error role="alert" #interaction-error { (e) } }
            label for="i-channel" { "Channel" }
            select #i-channel name="channel" {
                option value="call" { "Call" }
                option value="email" { "E-mail" }
                option value="chat" { "Chat" }
                option value="in_person" { "In person" }
            }
            label for="i-direction" { "Direction" }
            select #i-direction name="direction" {
                option value="inbound" { "From the customer" }
                option value="outbound" { "To the customer" }
            }
            label for="i-subject" { "Subject" }
            input #i-subject name="subject" type="text" maxlength="200" required;
            label for="i-body" { "Notes or transcript (card numbers are masked automatically)" }
            textarea #i-body name="body" rows="5" maxlength="20000" {}
            button type="submit" { "Save to the timeline" }
        }
    }
}

/// Logs an interaction from the agent's own hands (source `aloft`), onto the timeline.
async fn log_interaction(
    State(state): State<TimelineState>,
    ctx: AccessContext,
    Path(id): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let customer = CustomerId::parse(&id).ok_or(ApiError::NotFound("customer"))?;
    state.ensure_visible(customer).await?;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let mut doc = serde_json::json!({
        "source": "aloft",
        "source_record_id": uuid::Uuid::now_v7().to_string(),
        "channel": get("channel"),
        "direction": get("direction"),
        "occurred_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "subject": get("subject"),
        "agent_id": ctx.actor.id,
    });
    let body = get("body");
    if !body.is_empty() {
        doc["body"] = serde_json::Value::String(body);
    }
    let record = match crate::model::Record::parse(crate::model::RecordKind::Interaction, &doc) {
        Ok(r) => r,
        Err(errors) => {
            let detail: Vec<String> = errors
                .iter()
                .map(|e| format!("{}: {}", e.pointer.trim_start_matches('/'), e.detail))
                .collect();
            return Ok(page(
                StatusCode::UNPROCESSABLE_ENTITY,
                layout(
                    "Log an interaction",
                    SECTION,
                    html! {
                        h1 { "Log an interaction" }
                        (interaction_form(customer, Some(&detail.join("; "))))
                    },
                ),
            ));
        }
    };
    state.store.record(customer, record, &ctx).await?;
    Ok(aloft_web::kit::redirect_with_notice(
        &format!("/customers/{customer}?tab=interactions"),
        "Interaction saved to the timeline.",
    ))
}

/// Seat and meal suggestions for the customer's next flight.
///
/// Stated preferences first; otherwise what the passenger chose most often recently, when the
/// habit is clear (at least 3 observations, 60 % agreeing), each with the reason.
#[utoipa::path(
    get,
    path = "/api/v1/customers/{id}/suggestions",
    tag = "customers",
    params(("id" = String, Path, description = "Customer id")),
    responses(
        (status = 200, description = "Suggestions", body = crate::preferences::Suggestions),
        (status = 404, description = "No such customer", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn suggestions(
    State(state): State<TimelineState>,
    ctx: AccessContext,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let customer = CustomerId::parse(&id).ok_or(ApiError::NotFound("customer"))?;
    state.ensure_visible(customer).await?;
    let (seat, meal) = match &state.stated {
        Some(s) => s
            .stated(customer)
            .await?
            .ok_or(ApiError::NotFound("customer"))?,
        None => (None, None),
    };
    let (bookings, ancillaries) = state.store.preference_history(customer).await?;
    if let Some(auditor) = &state.auditor {
        auditor
            .record(ctx.entry(
                crate::events::audit::CUSTOMER_SUGGESTIONS_READ,
                "customer",
                Some(customer.to_string()),
                vec!["preferences".into()],
                "success",
            ))
            .await
            .map_err(aloft_kernel::StorageError::from)?;
    }
    Ok(axum::Json(crate::preferences::suggest(
        seat.as_deref(),
        meal.as_deref(),
        &bookings,
        &ancillaries,
    ))
    .into_response())
}
