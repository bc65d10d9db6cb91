//! The analytics API and the module that brings analytics to the application:
//! - `POST /api/v1/segments/preview`: how many customers a rule selects (the segment builder's
//!   live count). A count reveals no one, so nothing is audited; a rule with an unknown field
//!   or a wrong type is a 422 naming it.
//! - Next best action: `GET /api/v1/customers/{id}/next-best-action` (audited read),
//!   `POST /api/v1/customers/{id}/offers`, `POST /api/v1/offers/{id}/outcome` and
//!   `GET /api/v1/offers/report`.

use std::sync::Arc;

use aloft_authz::{Access, PermissionInfo, RoutePolicy, RowScope};
use aloft_kernel::http::JsonBody;
use aloft_kernel::jobs::{JobError, JobHandler, Schedule, handler_fn};
use aloft_kernel::{AccessContext, ApiError, FieldError, Problem};
use aloft_module::{DemoContext, DemoData};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::audience::{AudienceError, Audiences, ExportCounts};
use crate::nba::{self, Channel};
use crate::offers::{NextBestAction, Offer, Offers, ReportLine};
pub use crate::permissions::{
    AUDIENCE_EXPORT, OFFER_MAKE, OFFER_REPORT, PERMISSIONS, SEGMENT_BUILD,
};
use crate::segment::parse;
use crate::storage::SegmentStore;

/// Who may call each route.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new(
        "POST",
        "/api/v1/segments/preview",
        Access::Permission(SEGMENT_BUILD),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/segments",
        Access::Permission(SEGMENT_BUILD),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/segments/{id}",
        Access::Permission(SEGMENT_BUILD),
    ),
    RoutePolicy::new(
        "PUT",
        "/api/v1/segments/{id}",
        Access::Permission(SEGMENT_BUILD),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/segments/{id}/audience.csv",
        Access::Permission(AUDIENCE_EXPORT),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/segments/{id}/audience/publish",
        Access::Permission(AUDIENCE_EXPORT),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/customers/{id}/next-best-action",
        Access::Permission(OFFER_MAKE),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/customers/{id}/offers",
        Access::Permission(OFFER_MAKE),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/offers/{id}/outcome",
        Access::Permission(OFFER_MAKE),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/offers/report",
        Access::Permission(OFFER_REPORT),
    ),
];

/// The size of a segment now.
#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    /// Customers the rule selects.
    pub count: u64,
    /// When it was counted (RFC 3339 UTC).
    pub counted_at: String,
}

/// Count the customers a segment rule selects.
#[utoipa::path(
    post,
    path = "/api/v1/segments/preview",
    tag = "analytics",
    request_body(content = serde_json::Value, description = "`{\"rule\": …}`: a condition `{field, op, value}` or a group `{all: […]}`, `{any: […]}`, `{not: …}`. Fields: see ARCHITECTURE, crates/analytics."),
    responses(
        (status = 200, description = "The count", body = Preview),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown field, operator or a wrong type, each named by its JSON pointer", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn preview(
    State(store): State<Arc<SegmentStore>>,
    JsonBody(body): JsonBody,
) -> Result<Json<Preview>, ApiError> {
    let rule = parse_rule(&body)?;
    let now = chrono::Utc::now();
    let count = store.count(&rule, now).await?;
    Ok(Json(Preview {
        count,
        counted_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }))
}

/// A saved segment (its size, never its members).
#[derive(Debug, Serialize, ToSchema)]
pub struct SavedSegmentView {
    /// The segment.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The rule as saved.
    pub rule: serde_json::Value,
    /// Bumped on every edit of the rule.
    pub version: i64,
    /// Customers in it now.
    pub members: i64,
}

fn parse_rule(body: &serde_json::Value) -> Result<crate::segment::Rule, ApiError> {
    let Some(rule) = body.get("rule") else {
        return Err(ApiError::field("/rule", "missing: the segment rule"));
    };
    parse(rule).map_err(|errors| {
        ApiError::Invalid(
            errors
                .into_iter()
                .map(|e| FieldError::new(format!("/rule{}", e.pointer), e.detail))
                .collect(),
        )
    })
}

/// The `name` and `rule` of a segment body, every problem named by pointer.
fn name_and_rule(body: &serde_json::Value) -> Result<(&str, crate::segment::Rule), ApiError> {
    let name = body
        .get("name")
        .and_then(serde_json::Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty() && n.chars().count() <= 200);
    match (name, parse_rule(body)) {
        (Some(n), Ok(r)) => Ok((n, r)),
        (n, r) => {
            let mut errors = Vec::new();
            if n.is_none() {
                errors.push(FieldError::new("/name", "is required: 1 to 200 characters"));
            }
            if let Err(ApiError::Invalid(e)) = r {
                errors.extend(e);
            }
            Err(ApiError::Invalid(errors))
        }
    }
}

/// Replace a saved segment's name and rule: its version goes up by one and its members are
/// brought in line with the new rule at once (entries and exits published as for any change).
#[utoipa::path(
    put,
    path = "/api/v1/segments/{id}",
    tag = "analytics",
    params(("id" = String, Path, description = "The segment id")),
    request_body(content = serde_json::Value, description = "`{\"name\": \"Lapsed gold\", \"rule\": …}`"),
    responses(
        (status = 200, description = "Saved, with its new version and size", body = SavedSegmentView),
        (status = 404, description = "No such segment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing name, an unknown field, operator or a wrong type, each named by its JSON pointer", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn update_segment(
    State(store): State<Arc<SegmentStore>>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<SavedSegmentView>, ApiError> {
    let (name, rule) = name_and_rule(&body)?;
    let rule_json = body.get("rule").cloned().unwrap_or_default();
    let (version, members) = store
        .update_segment(&id, name, &rule_json, &rule, aloft_kernel::db::now())
        .await?
        .ok_or(ApiError::NotFound("segment"))?;
    Ok(Json(SavedSegmentView {
        id,
        name: name.to_owned(),
        rule: rule_json,
        version,
        members: i64::try_from(members).unwrap_or(i64::MAX),
    }))
}

/// Save a segment: its members are selected at once, then kept current from events (a
/// customer enters or leaves within a second of the change; `aloft.segment.entered` /
/// `aloft.segment.left`).
#[utoipa::path(
    post,
    path = "/api/v1/segments",
    tag = "analytics",
    request_body(content = serde_json::Value, description = "`{\"name\": \"Lapsed gold\", \"rule\": …}`"),
    responses(
        (status = 201, description = "Saved, with its current size", body = SavedSegmentView),
        (status = 422, description = "A missing name, an unknown field, operator or a wrong type, each named by its JSON pointer", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn save_segment(
    State(store): State<Arc<SegmentStore>>,
    ctx: AccessContext,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<SavedSegmentView>), ApiError> {
    let (name, rule) = name_and_rule(&body)?;
    let now = aloft_kernel::db::now();
    let rule_json = body.get("rule").cloned().unwrap_or_default();
    let (id, members) = store
        .save_segment(name, &rule_json, &rule, &ctx.actor.id, now)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(SavedSegmentView {
            id,
            name: name.to_owned(),
            rule: rule_json,
            version: 1,
            members: i64::try_from(members).unwrap_or(i64::MAX),
        }),
    ))
}

/// A saved segment and its current size.
#[utoipa::path(
    get,
    path = "/api/v1/segments/{id}",
    tag = "analytics",
    params(("id" = String, Path, description = "The segment id")),
    responses(
        (status = 200, description = "The segment", body = SavedSegmentView),
        (status = 404, description = "No such segment", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_segment(
    State(store): State<Arc<SegmentStore>>,
    Path(id): Path<String>,
) -> Result<Json<SavedSegmentView>, ApiError> {
    let (s, members) = store
        .segment(&id)
        .await?
        .ok_or(ApiError::NotFound("segment"))?;
    Ok(Json(SavedSegmentView {
        id: s.id,
        name: s.name,
        rule: s.rule_json,
        version: s.version,
        members,
    }))
}

/// The purpose of an audience.
#[derive(Debug, Deserialize, IntoParams)]
pub struct AudienceQuery {
    /// `marketing_email` (CSV: `customer_id,email`), `marketing_sms` (`customer_id,phone`) or
    /// `marketing_push` (`customer_id`).
    pub purpose: Option<String>,
}

fn purpose_of(code: Option<&str>) -> Result<&'static str, ApiError> {
    code.and_then(crate::audience::purpose)
        .map(|(c, _)| c)
        .ok_or_else(|| {
            ApiError::field(
                "/purpose",
                format!(
                    "is required: one of {}",
                    crate::audience::PURPOSES
                        .iter()
                        .map(|p| p.0)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
}

fn audience_error(e: AudienceError) -> ApiError {
    match e {
        AudienceError::NotFound => ApiError::NotFound("segment"),
        AudienceError::NoContacts => ApiError::Unavailable("contacts cannot be read".into()),
        AudienceError::Storage(e) => e.into(),
    }
}

/// A segment's audience for a purpose as CSV: the members with that consent now (processing
/// not restricted) and the contact the channel needs, read from the customers store (each
/// release audited before the file is sent). Members left out are counted in the headers
/// `Aloft-Excluded-No-Consent` and `Aloft-Excluded-No-Contact`; `Aloft-Members`,
/// `Aloft-Released` and `Aloft-Export-Id` name the rest.
#[utoipa::path(
    get,
    path = "/api/v1/segments/{id}/audience.csv",
    tag = "analytics",
    params(("id" = String, Path, description = "The segment id"), AudienceQuery),
    responses(
        (status = 200, description = "The audience", content_type = "text/csv", body = String),
        (status = 404, description = "No such segment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing or unknown purpose, named `/purpose`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn audience_csv(
    State(a): State<Audiences>,
    ctx: AccessContext,
    Path(id): Path<String>,
    Query(q): Query<AudienceQuery>,
) -> Result<axum::response::Response, ApiError> {
    let code = purpose_of(q.purpose.as_deref())?;
    let e = a
        .export_csv(&id, code, &ctx, aloft_kernel::db::now())
        .await
        .map_err(audience_error)?;
    Ok(crate::segment_pages::csv_response(&id, &e))
}

/// Publishes a segment's audience for a purpose to the marketing platform: the consenting
/// members' ids in `aloft.audience.published` events (parts of up to 1,000 ids, relayed to
/// NATS from the outbox), recorded and audited with the counts in the same transaction.
#[utoipa::path(
    post,
    path = "/api/v1/segments/{id}/audience/publish",
    tag = "analytics",
    params(("id" = String, Path, description = "The segment id")),
    request_body(content = serde_json::Value, description = "`{\"purpose\": \"marketing_email\"}`"),
    responses(
        (status = 202, description = "Published (events committed to the outbox)", body = ExportCounts),
        (status = 404, description = "No such segment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing or unknown purpose, named `/purpose`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn audience_publish(
    State(a): State<Audiences>,
    ctx: AccessContext,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<ExportCounts>), ApiError> {
    let code = purpose_of(body.get("purpose").and_then(serde_json::Value::as_str))?;
    let c = a
        .publish(&id, code, &ctx, aloft_kernel::db::now())
        .await
        .map_err(audience_error)?;
    Ok((StatusCode::ACCEPTED, Json(c)))
}

/// Whether the caller's row scope covers every customer. The roles that make offers are
/// unscoped; a scoped principal (a station, a roster, a passenger) sees no customer here —
/// fail closed rather than re-implement each scope kind.
pub fn sees_every_customer() -> bool {
    aloft_authz::current_principal().is_some_and(|p| matches!(p.scope, RowScope::All))
}

/// A customer's next best action: the chosen action (code, label, channel, cost and expected
/// value as decimal strings) and why every other action was passed over. The read is audited.
#[utoipa::path(
    get,
    path = "/api/v1/customers/{id}/next-best-action",
    tag = "analytics",
    params(("id" = String, Path, description = "The customer id")),
    responses(
        (status = 200, description = "The decision and its explanation", body = NextBestAction),
        (status = 404, description = "No such customer", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn next_best_action(
    State(offers): State<Offers>,
    ctx: AccessContext,
    Path(id): Path<String>,
) -> Result<Json<NextBestAction>, ApiError> {
    if !sees_every_customer() {
        return Err(ApiError::NotFound("customer"));
    }
    Ok(Json(
        offers
            .next_best_action(&id, &ctx, aloft_kernel::db::now())
            .await?,
    ))
}

/// Record that an action was offered to the customer on a channel. Eligibility and the
/// contact policy (frequency cap, channel consent, quiet period) are checked again: a refusal
/// is a 409 naming `/action` or `/channel`, and nothing is recorded.
#[utoipa::path(
    post,
    path = "/api/v1/customers/{id}/offers",
    tag = "analytics",
    params(("id" = String, Path, description = "The customer id")),
    request_body(content = serde_json::Value, description = "`{\"action\": \"upgrade_offer\", \"channel\": \"email\"}`: an action of the catalogue and one of its channels."),
    responses(
        (status = 201, description = "Recorded; `aloft.offer.made` is published", body = Offer),
        (status = 404, description = "No such customer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not eligible, capped by frequency, no channel consent or quiet period; nothing recorded", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown action or channel, named by pointer", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn make_offer(
    State(offers): State<Offers>,
    ctx: AccessContext,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Offer>), ApiError> {
    if !sees_every_customer() {
        return Err(ApiError::NotFound("customer"));
    }
    let text = |k: &str| body.get(k).and_then(serde_json::Value::as_str);
    let mut errors = Vec::new();
    let action = match text("action") {
        None => {
            errors.push(FieldError::new(
                "/action",
                "is required: an action code of the catalogue",
            ));
            None
        }
        Some(code) => {
            let a = nba::action(code);
            if a.is_none() {
                errors.push(FieldError::new(
                    "/action",
                    format!(
                        "is not an action of the catalogue; expected one of: {}",
                        nba::catalogue()
                            .iter()
                            .map(|a| a.code)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            a
        }
    };
    let channel = match text("channel") {
        None => {
            errors.push(FieldError::new("/channel", "is required: a channel code"));
            None
        }
        Some(code) => match (Channel::parse(code), action) {
            (Some(c), Some(a)) if !a.channels.contains(&c) => {
                errors.push(FieldError::new(
                    "/channel",
                    format!(
                        "is not a channel of this action; expected one of: {}",
                        a.channels
                            .iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
                None
            }
            (Some(c), _) => Some(c),
            (None, _) => {
                errors.push(FieldError::new(
                    "/channel",
                    format!(
                        "is not a known channel; expected one of: {}",
                        Channel::ALL
                            .iter()
                            .map(|c| c.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
                None
            }
        },
    };
    let (Some(action), Some(channel)) = (action, channel) else {
        return Err(ApiError::Invalid(errors));
    };
    let offer = offers
        .make(&id, action, channel, None, &ctx, aloft_kernel::db::now())
        .await?;
    Ok((StatusCode::CREATED, Json(offer)))
}

/// Record the customer's answer to an offer, once: a second answer, or one after the offer
/// expired, is a 409 and changes nothing.
#[utoipa::path(
    post,
    path = "/api/v1/offers/{id}/outcome",
    tag = "analytics",
    params(("id" = String, Path, description = "The offer id")),
    request_body(content = serde_json::Value, description = "`{\"outcome\": \"accepted\"}` or `{\"outcome\": \"declined\"}`."),
    responses(
        (status = 200, description = "Recorded; `aloft.offer.accepted` or `aloft.offer.declined` is published", body = Offer),
        (status = 404, description = "No such offer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already answered or expired; nothing changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`outcome` missing or not `accepted`/`declined`", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn offer_outcome(
    State(offers): State<Offers>,
    ctx: AccessContext,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<Offer>, ApiError> {
    if !sees_every_customer() {
        return Err(ApiError::NotFound("offer"));
    }
    let accepted = match body.get("outcome").and_then(serde_json::Value::as_str) {
        Some("accepted") => true,
        Some("declined") => false,
        _ => {
            return Err(ApiError::field(
                "/outcome",
                "is required: \"accepted\" or \"declined\"",
            ));
        }
    };
    Ok(Json(
        offers
            .answer(&id, accepted, &ctx, aloft_kernel::db::now())
            .await?,
    ))
}

/// The period of a report.
#[derive(Debug, Deserialize, IntoParams)]
pub struct Period {
    /// First day (`YYYY-MM-DD`) or instant (RFC 3339), inclusive; default 30 days ago.
    pub from: Option<String>,
    /// Last day (`YYYY-MM-DD`, inclusive) or instant (RFC 3339, exclusive); default now.
    pub to: Option<String>,
}

/// Parses the period of a report; errors name `/from` or `/to`.
pub fn period(
    p: &Period,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), Vec<FieldError>> {
    let bound =
        |v: &Option<String>, name: &str, end: bool| -> Result<Option<DateTime<Utc>>, FieldError> {
            let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) else {
                return Ok(None);
            };
            if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
                let d = if end { d.succ_opt().unwrap_or(d) } else { d };
                return Ok(Some(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()));
            }
            DateTime::parse_from_rfc3339(v)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|_| {
                    FieldError::new(
                        format!("/{name}"),
                        "must be a date (YYYY-MM-DD) or an RFC 3339 instant",
                    )
                })
        };
    let mut errors = Vec::new();
    let from = bound(&p.from, "from", false).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    let to = bound(&p.to, "to", true).unwrap_or_else(|e| {
        errors.push(e);
        None
    });
    if !errors.is_empty() {
        return Err(errors);
    }
    let to = to.unwrap_or(now);
    let from = from.unwrap_or(to - Duration::days(30));
    if from >= to {
        return Err(vec![FieldError::new("/to", "must be after from")]);
    }
    Ok((from, to))
}

/// Offers by action in a period: offered, accepted, declined, expired and the acceptance
/// rate. Counts only: no customer is named, so nothing is audited.
#[utoipa::path(
    get,
    path = "/api/v1/offers/report",
    tag = "analytics",
    params(Period),
    responses(
        (status = 200, description = "One line per action of the catalogue", body = [ReportLine]),
        (status = 422, description = "A bad date, named by pointer", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn offers_report(
    State(offers): State<Offers>,
    Query(p): Query<Period>,
) -> Result<Json<Vec<ReportLine>>, ApiError> {
    let now = aloft_kernel::db::now();
    let (from, to) = period(&p, now).map_err(ApiError::Invalid)?;
    Ok(Json(offers.report(from, to, now).await?))
}

/// The job that derives every customer's segment facts again.
pub const REBUILD_JOB: &str = "analytics.facts.rebuild";

/// How often the facts are derived again (until they are kept current from events).
pub const REBUILD_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Demo data: the facts of the demo population, so segment counts mean something at once,
/// and offers made to demo travellers with their answers, so the offer report does.
struct Demo(Arc<SegmentStore>, Offers);

impl DemoData for Demo {
    fn load<'a>(&'a self, demo: &'a DemoContext) -> BoxFuture<'a, anyhow::Result<Option<String>>> {
        Box::pin(async move {
            let n = self.0.rebuild(demo.now).await?;
            let travellers: Vec<String> = demo.travellers.iter().map(|c| c.to_string()).collect();
            let offers = self
                .1
                .demo_offers(&travellers, demo.seed, demo.now)
                .await
                .map_err(|e| anyhow::anyhow!("demo offers: {e}"))?;
            Ok(Some(format!(
                "analytics: segment facts of {n} customers, {offers} offers"
            )))
        })
    }
}

/// Analytics as the application assembles it.
pub struct AnalyticsModule {
    store: Arc<SegmentStore>,
    offers: Offers,
    audiences: Audiences,
}

impl AnalyticsModule {
    /// The module on `store` (offers are kept in the same database). Starts the outbox tail
    /// that keeps saved segments' membership current (when called on a Tokio runtime).
    pub fn new(store: SegmentStore) -> Self {
        let offers = Offers::new(store.database().clone(), store.clone());
        crate::membership::spawn_tail(store.clone());
        Self {
            audiences: Audiences::new(store.clone(), None),
            store: Arc::new(store),
            offers,
        }
    }

    /// Reads audiences' contacts through `customers` (give the audited store: every release
    /// is then recorded). Without it, a CSV needing a contact answers 503.
    pub fn with_customers(mut self, customers: aloft_customers::CustomerStore) -> Self {
        self.audiences = Audiences::new((*self.store).clone(), Some(customers));
        self
    }
}

impl aloft_module::DomainModule for AnalyticsModule {
    fn name(&self) -> &'static str {
        "analytics"
    }

    fn permissions(&self) -> Vec<PermissionInfo> {
        PERMISSIONS.to_vec()
    }

    fn policies(&self) -> Vec<RoutePolicy> {
        [
            POLICY,
            crate::pages::POLICY,
            crate::segment_pages::POLICY,
            crate::dashboard::POLICY,
        ]
        .concat()
    }

    fn page_routes(&self) -> axum::Router {
        crate::pages::routes(self.offers.clone())
            .merge(crate::segment_pages::routes(
                (*self.store).clone(),
                self.audiences.clone(),
            ))
            .merge(crate::dashboard::routes(
                (*self.store).clone(),
                self.offers.clone(),
                self.audiences.clone(),
            ))
    }

    fn navigation(&self) -> Vec<aloft_web::NavEntry> {
        vec![
            aloft_web::NavEntry {
                section: crate::segment_pages::SECTION,
                href: "/segments",
                label: "Segments",
                summary: "Build customer segments from rules with a live count; release their \
                          audiences with consent enforced.",
                access: Access::Permission(SEGMENT_BUILD),
                order: 64,
            },
            aloft_web::NavEntry {
                section: crate::segment_pages::SECTION,
                href: crate::dashboard::PATH,
                label: "Marketing dashboard",
                summary: "Segment sizes, offers by action and audiences released with the \
                          people left out for lack of consent.",
                access: Access::Permission(SEGMENT_BUILD),
                order: 63,
            },
            aloft_web::NavEntry {
                section: crate::pages::SECTION,
                href: "/offers/report",
                label: "Offers",
                summary: "Next best actions offered to customers by action: offered, accepted, \
                      declined, expired and the acceptance rate.",
                access: Access::Permission(OFFER_REPORT),
                order: 65,
            },
        ]
    }

    fn record_views(&self) -> Vec<aloft_web::RecordView> {
        crate::pages::record_views(self.offers.clone())
    }

    fn api_routes(&self) -> OpenApiRouter {
        OpenApiRouter::new()
            .routes(routes!(preview))
            .routes(routes!(save_segment))
            .routes(routes!(get_segment, update_segment))
            .with_state(self.store.clone())
            .merge(
                OpenApiRouter::new()
                    .routes(routes!(audience_csv))
                    .routes(routes!(audience_publish))
                    .with_state(self.audiences.clone()),
            )
            .merge(
                OpenApiRouter::new()
                    .routes(routes!(next_best_action))
                    .routes(routes!(make_offer))
                    .routes(routes!(offer_outcome))
                    .routes(routes!(offers_report))
                    .with_state(self.offers.clone()),
            )
    }

    fn events(&self) -> Vec<aloft_kernel::event_types::EventType> {
        crate::events::event_types()
    }

    fn jobs(&self) -> Vec<(&'static str, Arc<dyn JobHandler>)> {
        let store = self.store.clone();
        vec![(
            REBUILD_JOB,
            handler_fn(move |_job| {
                let store = store.clone();
                async move {
                    store
                        .rebuild(chrono::Utc::now())
                        .await
                        .map(|_| ())
                        .map_err(JobError::from)
                }
            }),
        )]
    }

    fn schedules(&self) -> Vec<Schedule> {
        vec![Schedule::every(REBUILD_JOB, REBUILD_EVERY)]
    }

    fn demo_data(&self) -> Option<Arc<dyn DemoData>> {
        Some(Arc::new(Demo(self.store.clone(), self.offers.clone())))
    }

    fn api_tags(&self) -> Vec<(&'static str, &'static str)> {
        vec![(
            "analytics",
            "Segments and personalisation: rules over travel, loyalty, preferences and sentiment",
        )]
    }
}
