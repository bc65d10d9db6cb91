//! Data stewardship over HTTP: the review queue of uncertain matches, merge, unmerge and the
//! lineage of a profile — the JSON API and the pages.
//!
//! | Route | Permission |
//! |---|---|
//! | `GET /api/v1/identity/reviews`, `GET /identity/reviews` | `identity.review` |
//! | `POST /api/v1/identity/reviews/{id}/decision`, `POST /identity/reviews/{id}` | `identity.review` |
//! | `POST /api/v1/customers/{id}/merge`, `POST /identity/customers/{id}/merge` | `identity.review` |
//! | `POST /api/v1/merges/{id}/unmerge`, `POST /identity/merges/{id}/unmerge` | `identity.review` |
//! | `GET /api/v1/customers/{id}/merges` | `customer.read` (row scope applies) |
//!
//! The review page shows both profiles side by side, so each page view is audited as
//! `identity.review_read` on every profile shown. Merges and unmerges are audited by
//! [`crate::merge`] in their own transaction.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use http::StatusCode;
use maud::{Markup, html};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use aloft_authz::{Access, RoutePolicy, current_principal};
use aloft_customers::{Customer, CustomerId};
use aloft_kernel::http::JsonBody;
use aloft_kernel::{AccessContext, ApiError, Auditor, Problem};
use aloft_web::{Section, csrf_field, layout, page};

use crate::merge::{self, Decision, Merge, MergeRequest, Review};
use crate::pipeline::Pipeline;

/// The identity review section of the workspace.
pub const SECTION: Section = Section::new("identity");

/// Who may use the stewardship routes.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new(
        "GET",
        "/api/v1/identity/reviews",
        Access::Permission(crate::permissions::IDENTITY_REVIEW),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/identity/reviews/{id}/decision",
        Access::Permission(crate::permissions::IDENTITY_REVIEW),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/customers/{id}/merge",
        Access::Permission(crate::permissions::IDENTITY_REVIEW),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/merges/{id}/unmerge",
        Access::Permission(crate::permissions::IDENTITY_REVIEW),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/customers/{id}/merges",
        Access::Permission(aloft_customers::permissions::CUSTOMER_READ),
    ),
    RoutePolicy::new(
        "GET",
        "/identity/reviews",
        Access::Permission(crate::permissions::IDENTITY_REVIEW),
    ),
    RoutePolicy::new(
        "POST",
        "/identity/reviews/{id}",
        Access::Permission(crate::permissions::IDENTITY_REVIEW),
    ),
    RoutePolicy::new(
        "POST",
        "/identity/customers/{id}/merge",
        Access::Permission(crate::permissions::IDENTITY_REVIEW),
    ),
    RoutePolicy::new(
        "POST",
        "/identity/merges/{id}/unmerge",
        Access::Permission(crate::permissions::IDENTITY_REVIEW),
    ),
];

/// State of the stewardship routes.
#[derive(Debug, Clone)]
pub struct StewardshipState {
    pipeline: Pipeline,
    auditor: Option<Auditor>,
}

impl StewardshipState {
    /// Over the ingestion pipeline (merges hold its linker), auditing reads through `auditor`.
    pub fn new(pipeline: Pipeline, auditor: Option<Auditor>) -> Self {
        Self { pipeline, auditor }
    }

    /// Audits that `ctx` is shown these customers; show nothing on `Err`.
    async fn audit_read(
        &self,
        ctx: &AccessContext,
        action: aloft_kernel::audit::AuditAction,
        ids: &[String],
    ) -> Result<(), aloft_kernel::StorageError> {
        if let Some(a) = &self.auditor {
            let entries = ids
                .iter()
                .map(|id| ctx.entry(action, "customer", Some(id.clone()), vec![], "success"))
                .collect();
            a.record_all(entries).await?;
        }
        Ok(())
    }
}

fn customer_id(s: &str, pointer: &str) -> Result<CustomerId, ApiError> {
    CustomerId::parse(s).ok_or_else(|| ApiError::field(pointer, "must be a customer id (UUID)"))
}

/// Query of the review list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ReviewQuery {
    /// `open` (default), `merged` or `distinct`.
    pub status: Option<String>,
    /// Continue after this review id.
    pub after: Option<i64>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<i64>,
}

/// A page of reviews.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewPage {
    /// The reviews (open ones oldest first).
    pub items: Vec<Review>,
    /// How many are open in all.
    pub open: i64,
}

/// A steward's decision.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DecisionRequest {
    /// `merge` or `distinct`.
    pub decision: Decision,
}

/// The outcome of a decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionOutcome {
    /// The decision taken.
    pub decision: Decision,
    /// The merge it made (`merge`).
    pub merge: Option<Merge>,
}

fn status_of(q: &ReviewQuery) -> Result<String, ApiError> {
    let s = q.status.clone().unwrap_or_else(|| "open".into());
    match s.as_str() {
        "open" | "merged" | "distinct" => Ok(s),
        _ => Err(ApiError::field(
            "/status",
            "must be open, merged or distinct",
        )),
    }
}

/// The data steward's queue of uncertain matches.
#[utoipa::path(get, path = "/api/v1/identity/reviews", tag = "identity", params(ReviewQuery),
    responses(
        (status = 200, description = "Reviews", body = ReviewPage),
        (status = 422, description = "Bad status", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_reviews(
    State(state): State<StewardshipState>,
    Query(q): Query<ReviewQuery>,
) -> Result<Response, ApiError> {
    let status = status_of(&q)?;
    let db = state.pipeline.database();
    let items = merge::reviews(db, &status, q.after, q.limit.unwrap_or(50)).await?;
    let open = merge::open_reviews(db).await?;
    Ok(axum::Json(ReviewPage { items, open }).into_response())
}

/// Decide an uncertain match: `merge` (the record's new profile is merged into the existing
/// candidate) or `distinct` (different people).
#[utoipa::path(post, path = "/api/v1/identity/reviews/{id}/decision", tag = "identity",
    params(("id" = i64, Path, description = "Review id")),
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "Decided", body = DecisionOutcome),
        (status = 404, description = "No such review", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already decided, or a profile was merged meanwhile", body = Problem, content_type = "application/problem+json"),
    ))]
async fn decide_api(
    State(state): State<StewardshipState>,
    ctx: AccessContext,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let req: DecisionRequest = serde_json::from_value(body)
        .map_err(|_| ApiError::field("/decision", "must be merge or distinct"))?;
    let merge = state.pipeline.decide(id, req.decision, &ctx).await?;
    Ok(axum::Json(DecisionOutcome {
        decision: req.decision,
        merge,
    })
    .into_response())
}

/// Merge another profile (`absorb`) into this one. This profile keeps its id; the other's id
/// leads here from now on. Survivorship chooses the golden values; the response lists how.
#[utoipa::path(post, path = "/api/v1/customers/{id}/merge", tag = "identity",
    params(("id" = String, Path, description = "The surviving customer's id")),
    request_body = MergeRequest,
    responses(
        (status = 201, description = "Merged", body = Merge),
        (status = 404, description = "No such customer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Same profile, or one of them already merged", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad request", body = Problem, content_type = "application/problem+json"),
    ))]
async fn merge_api(
    State(state): State<StewardshipState>,
    ctx: AccessContext,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let survivor = CustomerId::parse(&id).ok_or(ApiError::NotFound("customer"))?;
    let req: MergeRequest = serde_json::from_value(body).map_err(|_| {
        ApiError::field(
            "/absorb",
            "required: the id of the profile to merge into this one",
        )
    })?;
    let absorbed = customer_id(&req.absorb, "/absorb")?;
    let m = state
        .pipeline
        .merge(survivor, absorbed, req.reason.trim(), &ctx)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(m)).into_response())
}

/// Undo a merge: both profiles as they were before it, and what it moved moves back.
#[utoipa::path(post, path = "/api/v1/merges/{id}/unmerge", tag = "identity",
    params(("id" = String, Path, description = "Merge id")),
    responses(
        (status = 200, description = "Undone", body = Merge),
        (status = 404, description = "No such merge", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already undone, or a later merge must be undone first", body = Problem, content_type = "application/problem+json"),
    ))]
async fn unmerge_api(
    State(state): State<StewardshipState>,
    ctx: AccessContext,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = uuid::Uuid::try_parse(&id).map_err(|_| ApiError::NotFound("merge"))?;
    Ok(axum::Json(state.pipeline.unmerge(id, &ctx).await?).into_response())
}

/// The merges a profile took part in, newest first (lineage).
#[utoipa::path(get, path = "/api/v1/customers/{id}/merges", tag = "identity",
    params(("id" = String, Path, description = "Customer id")),
    responses(
        (status = 200, description = "Merges, newest first", body = Vec<Merge>),
        (status = 404, description = "No such customer, or outside the caller's row scope", body = Problem, content_type = "application/problem+json"),
    ))]
async fn lineage_api(
    State(state): State<StewardshipState>,
    ctx: AccessContext,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let c = CustomerId::parse(&id).ok_or(ApiError::NotFound("customer"))?;
    let principal = current_principal();
    if !state
        .pipeline
        .customers()
        .visible(aloft_customers::Reader::request(principal.as_ref()), c)
        .await?
    {
        return Err(ApiError::NotFound("customer"));
    }
    let merges = merge::lineage(state.pipeline.database(), c).await?;
    state
        .audit_read(
            &ctx,
            crate::events::audit::CUSTOMER_LINEAGE_READ,
            &[c.to_string()],
        )
        .await?;
    Ok(axum::Json(merges).into_response())
}

/// The JSON API (documented in OpenAPI).
pub fn api_routes(state: StewardshipState) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(list_reviews))
        .routes(routes!(decide_api))
        .routes(routes!(merge_api))
        .routes(routes!(unmerge_api))
        .routes(routes!(lineage_api))
        .with_state(state)
}

/// The pages.
pub fn page_routes(state: StewardshipState) -> Router {
    Router::new()
        .route("/identity/reviews", get(queue_page))
        .route("/identity/reviews/{id}", post(decide_form))
        .route("/identity/customers/{id}/merge", post(merge_form))
        .route("/identity/merges/{id}/unmerge", post(unmerge_form))
        .with_state(state)
}

#[derive(Debug, Default, Deserialize)]
struct QueueQuery {
    #[serde(default)]
    done: String,
    #[serde(default)]
    error: String,
}

fn fact(c: Option<&Customer>, f: impl Fn(&Customer) -> Option<String>) -> String {
    c.and_then(f).unwrap_or_else(|| "—".into())
}

/// Compares two values for the steward without showing a document number: same, different, or
/// only one present.
fn compare(a: Option<&str>, b: Option<&str>) -> &'static str {
    match (a, b) {
        (Some(x), Some(y)) if x == y => "same",
        (Some(_), Some(_)) => "different",
        (None, None) => "—",
        _ => "only one has it",
    }
}

fn side_by_side(r: &Review, new: Option<&Customer>, old: Option<&Customer>) -> Markup {
    let rows: Vec<(&str, String, String)> = vec![
        (
            "Name",
            fact(new, |c| Some(c.profile.display_name())),
            fact(old, |c| Some(c.profile.display_name())),
        ),
        (
            "Date of birth",
            fact(new, |c| c.profile.date_of_birth.map(|d| d.to_string())),
            fact(old, |c| c.profile.date_of_birth.map(|d| d.to_string())),
        ),
        (
            "E-mail",
            fact(new, |c| {
                c.profile.email.as_ref().map(|e| e.as_str().to_owned())
            }),
            fact(old, |c| {
                c.profile.email.as_ref().map(|e| e.as_str().to_owned())
            }),
        ),
        (
            "Phone",
            fact(new, |c| {
                c.profile.phone.as_ref().map(|e| e.as_str().to_owned())
            }),
            fact(old, |c| {
                c.profile.phone.as_ref().map(|e| e.as_str().to_owned())
            }),
        ),
        (
            "Loyalty number",
            fact(new, |c| {
                c.profile
                    .loyalty_number
                    .as_ref()
                    .map(|e| e.as_str().to_owned())
            }),
            fact(old, |c| {
                c.profile
                    .loyalty_number
                    .as_ref()
                    .map(|e| e.as_str().to_owned())
            }),
        ),
        (
            "Nationality",
            fact(new, |c| {
                c.profile
                    .nationality
                    .as_ref()
                    .map(|e| e.as_str().to_owned())
            }),
            fact(old, |c| {
                c.profile
                    .nationality
                    .as_ref()
                    .map(|e| e.as_str().to_owned())
            }),
        ),
    ];
    let passport = compare(
        new.and_then(|c| c.profile.passport_number.as_ref().map(|p| p.as_str())),
        old.and_then(|c| c.profile.passport_number.as_ref().map(|p| p.as_str())),
    );
    let fields = r
        .explanation
        .get("fields")
        .and_then(|f| f.as_array())
        .cloned()
        .unwrap_or_default();
    let title_id = format!("review-{}", r.id);
    html! {
        article aria-labelledby=(title_id) {
            header {
                h2 #(title_id) { "Review " (r.id) ": " (format!("{:.1}", r.weight)) " bits" }
                small { "Raised by " code { (r.source) } " record " code { (r.source_record_id) } " on " (r.created_at.format("%Y-%m-%d %H:%M UTC")) }
            }
            div.table-scroll tabindex="0" role="region" aria-label={ "Profiles of review " (r.id) } {
                table {
                    thead { tr { th scope="col" { "Field" } th scope="col" { a href={ "/customers/" (r.customer_id) } { "New profile" } } th scope="col" { a href={ "/customers/" (r.candidate_customer_id) } { "Existing profile" } } } }
                    tbody {
                        @for (label, a, b) in &rows { tr { th scope="row" { (label) } td { (a) } td { (b) } } }
                        tr { th scope="row" { "Passport number" } td colspan="2" { (passport) } }
                    }
                }
            }
            @if !fields.is_empty() {
                details {
                    summary { "Why the matcher was unsure (field weights)" }
                    ul {
                        @for f in &fields {
                            li { (f.get("field").and_then(|v| v.as_str()).unwrap_or("?")) ": " (f.get("weight").and_then(|v| v.as_f64()).map(|w| format!("{w:+.1} bits")).unwrap_or_default()) }
                        }
                    }
                }
            }
            form method="post" action={ "/identity/reviews/" (r.id) } {
                (csrf_field())
                div.actions role="group" aria-label={ "Decision on review " (r.id) } {
                    button type="submit" name="decision" value="merge" { "Same person — merge" }
                    button.secondary type="submit" name="decision" value="distinct" { "Different people" }
                }
            }
        }
    }
}

async fn queue_page(
    State(state): State<StewardshipState>,
    ctx: AccessContext,
    Query(q): Query<QueueQuery>,
) -> Result<Response, ApiError> {
    let db = state.pipeline.database();
    let open = merge::open_reviews(db).await?;
    let items = merge::reviews(db, "open", None, 20).await?;
    let customers = state.pipeline.customers();
    let mut shown = Vec::new();
    let mut cards = Vec::new();
    for r in &items {
        let get = async |id: &str| match CustomerId::parse(id) {
            Some(c) => customers.get(c).await,
            None => Ok(None),
        };
        let (new, old) = (
            get(&r.customer_id).await?,
            get(&r.candidate_customer_id).await?,
        );
        shown.push(r.customer_id.clone());
        shown.push(r.candidate_customer_id.clone());
        cards.push(side_by_side(r, new.as_ref(), old.as_ref()));
    }
    state
        .audit_read(&ctx, crate::events::audit::IDENTITY_REVIEW_READ, &shown)
        .await?;
    let markup = html! {
        h1 { "Identity review" }
        p { "Uncertain matches: the matcher found a likely but not certain match and kept the records apart. Decide whether each pair is the same person. A merge can be undone from the customer's page." }
        @if !q.done.is_empty() { p role="status" { (q.done) } }
        @if !q.error.is_empty() { p role="alert" { (q.error) } }
        p { (open) " open review" @if open != 1 { "s" } "." @if open > 20 { " The oldest 20 are shown." } }
        @for c in &cards { (c) }
    };
    Ok(page(
        StatusCode::OK,
        layout("Identity review", SECTION, markup),
    ))
}

fn back(path: &str, key: &str, text: &str) -> Response {
    let enc: String = url_encode(text);
    Redirect::to(&format!("{path}?{key}={enc}")).into_response()
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn refusal(e: merge::MergeError) -> Result<String, ApiError> {
    match e {
        merge::MergeError::Storage(s) => Err(s.into()),
        other => Ok(other.to_string()),
    }
}

#[derive(Debug, Deserialize)]
struct DecisionForm {
    decision: String,
}

async fn decide_form(
    State(state): State<StewardshipState>,
    ctx: AccessContext,
    Path(id): Path<i64>,
    axum::Form(form): axum::Form<DecisionForm>,
) -> Result<Response, ApiError> {
    let decision = match form.decision.as_str() {
        "merge" => Decision::Merge,
        "distinct" => Decision::Distinct,
        _ => {
            return Ok(back(
                "/identity/reviews",
                "error",
                "Choose merge or different people.",
            ));
        }
    };
    Ok(match state.pipeline.decide(id, decision, &ctx).await {
        Ok(Some(_)) => back(
            "/identity/reviews",
            "done",
            &format!("Review {id}: the profiles were merged."),
        ),
        Ok(None) => back(
            "/identity/reviews",
            "done",
            &format!("Review {id}: kept apart as different people."),
        ),
        Err(e) => back(
            "/identity/reviews",
            "error",
            &format!("Review {id}: {}", refusal(e)?),
        ),
    })
}

#[derive(Debug, Deserialize)]
struct MergeForm {
    absorb: String,
    #[serde(default)]
    reason: String,
}

async fn merge_form(
    State(state): State<StewardshipState>,
    ctx: AccessContext,
    Path(id): Path<String>,
    axum::Form(form): axum::Form<MergeForm>,
) -> Result<Response, ApiError> {
    let survivor = CustomerId::parse(&id).ok_or(ApiError::NotFound("customer"))?;
    let path = format!("/customers/{survivor}");
    let Some(absorbed) = CustomerId::parse(form.absorb.trim()) else {
        return Ok(back(
            &path,
            "merge_error",
            "Enter the customer id (UUID) of the profile to merge into this one.",
        ));
    };
    Ok(
        match state
            .pipeline
            .merge(survivor, absorbed, form.reason.trim(), &ctx)
            .await
        {
            Ok(m) => back(
                &path,
                "merged",
                &format!(
                    "Merged: {} records and {} source links moved here.",
                    m.moved_records, m.moved_links
                ),
            ),
            Err(e) => back(&path, "merge_error", &refusal(e)?),
        },
    )
}

async fn unmerge_form(
    State(state): State<StewardshipState>,
    ctx: AccessContext,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = uuid::Uuid::try_parse(&id).map_err(|_| ApiError::NotFound("merge"))?;
    Ok(match state.pipeline.unmerge(id, &ctx).await {
        Ok(m) => back(
            &format!("/customers/{}", m.survivor_id),
            "merged",
            "The merge was undone; both profiles are as they were.",
        ),
        Err(e) => back("/identity/reviews", "error", &refusal(e)?),
    })
}

/// The lineage section of the golden-record sources fragment: merges, with an undo button and
/// a merge form for stewards.
/// `names`: actors by id (see `aloft_web::workspace::actor_names`); an unknown id is shown as is.
pub fn lineage_markup(
    customer: &str,
    merges: &[Merge],
    names: &std::collections::HashMap<String, String>,
) -> Markup {
    let steward = current_principal().is_some_and(|p| p.can(crate::permissions::IDENTITY_REVIEW));
    html! {
        h3 { "Merge history" }
        @if merges.is_empty() {
            p { "This profile has not been merged with another." }
        } @else {
            ul {
                @for m in merges {
                    li {
                        @if m.survivor_id == customer {
                            "Merged in profile " code { (m.absorbed_id) }
                        } @else {
                            "Merged into profile " a href={ "/customers/" (m.survivor_id) } { code { (m.survivor_id) } }
                        }
                        " on " (m.merged_at.format("%Y-%m-%d %H:%M UTC")) " by " span title=(m.merged_by) { (names.get(&m.merged_by).map(String::as_str).unwrap_or(m.merged_by.as_str())) }
                        " (" (m.moved_records) " records, " (m.moved_links) " links"
                        @if !m.reason.is_empty() { "; " (m.reason) } ")."
                        @if let Some(u) = m.unmerged_at { " Undone on " (u.format("%Y-%m-%d %H:%M UTC")) "." }
                        @else if steward && m.survivor_id == customer {
                            form.inline method="post" action={ "/identity/merges/" (m.id) "/unmerge" } {
                                (csrf_field())
                                button.secondary type="submit" { "Undo this merge" }
                            }
                        }
                    }
                }
            }
        }
        @if steward {
            form method="post" action={ "/identity/customers/" (customer) "/merge" } {
                (csrf_field())
                fieldset {
                    legend { "Merge a duplicate into this profile" }
                    label for="merge-absorb" { "Customer id of the duplicate" }
                    input #merge-absorb type="text" name="absorb" required pattern="[0-9a-fA-F-]{36}" autocomplete="off";
                    label for="merge-reason" { "Reason (kept in the history)" }
                    input #merge-reason type="text" name="reason" maxlength="200";
                    button type="submit" { "Merge into this profile" }
                }
            }
        }
    }
}
