//! The segment builder for marketing and loyalty managers, and a segment's audience.
//!
//! - `/segments`: the saved segments with their sizes now.
//! - `/segments/new`: rows of conditions (field from the rule language's catalogue with its
//!   description, operator, value) joined by all/any; rows are added and removed by buttons
//!   that post the form back (no script of ours: the CSP forbids inline script), and the
//!   vendored htmx posts the form to `/segments/count` on every change (300 ms after it) for
//!   the live count. A rule problem (the same 422 pointers as the API) is shown next to its
//!   row's control and in the error summary. Saving selects the members at once.
//! - `/segments/{id}`: the rule, the size and, for a purpose, how many members would be
//!   released and how many are left out for lack of consent; holders of `audience.export`
//!   download the CSV or publish to the marketing platform from there.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;

use aloft_authz::{Access, RoutePolicy};
use aloft_kernel::AccessContext;
use aloft_web::kit::{
    self, Column, Crumb, DataTable, Field, FieldKind, FormData, FormErrors, Tone,
};
use aloft_web::{Section, csrf_field, layout, page};

use crate::audience::{Audiences, PURPOSES, purpose};
use crate::builder::{Draft, MAX_ROWS, OPERATORS, form_field};
use crate::permissions::{AUDIENCE_EXPORT, SEGMENT_BUILD};
use crate::segment::{FIELDS, parse};
use crate::storage::SegmentStore;

/// The segments section of the workspace.
pub const SECTION: Section = Section::new("segments");

/// Who may open the pages.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new("GET", "/segments", Access::Permission(SEGMENT_BUILD)),
    RoutePolicy::new("GET", "/segments/new", Access::Permission(SEGMENT_BUILD)),
    RoutePolicy::new("POST", "/segments/new", Access::Permission(SEGMENT_BUILD)),
    RoutePolicy::new("POST", "/segments/count", Access::Permission(SEGMENT_BUILD)),
    RoutePolicy::new("GET", "/segments/{id}", Access::Permission(SEGMENT_BUILD)),
    RoutePolicy::new(
        "GET",
        "/segments/{id}/edit",
        Access::Permission(SEGMENT_BUILD),
    ),
    RoutePolicy::new(
        "POST",
        "/segments/{id}/edit",
        Access::Permission(SEGMENT_BUILD),
    ),
    RoutePolicy::new(
        "GET",
        "/segments/{id}/audience.csv",
        Access::Permission(AUDIENCE_EXPORT),
    ),
    RoutePolicy::new(
        "POST",
        "/segments/{id}/audience/publish",
        Access::Permission(AUDIENCE_EXPORT),
    ),
];

#[derive(Clone)]
struct Pages {
    store: SegmentStore,
    audiences: Audiences,
}

/// The page routes.
pub fn routes(store: SegmentStore, audiences: Audiences) -> Router {
    Router::new()
        .route("/segments", get(list))
        .route("/segments/new", get(new).post(submit))
        .route("/segments/count", post(live_count))
        .route("/segments/{id}", get(detail))
        .route("/segments/{id}/edit", get(edit).post(submit_edit))
        .route("/segments/{id}/audience.csv", get(csv))
        .route("/segments/{id}/audience/publish", post(publish))
        .with_state(Pages { store, audiences })
}

fn unavailable(title: &str) -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        layout(
            title,
            SECTION,
            kit::notice(
                "Segments cannot be read right now; try again shortly.",
                Tone::Bad,
            ),
        ),
    )
}

/// `GET /segments`: the saved segments and their sizes.
async fn list(State(p): State<Pages>) -> Response {
    let (segments, sizes) = match (p.store.saved_segments().await, p.store.sizes().await) {
        (Ok(s), Ok(n)) => (s, n),
        _ => return unavailable("Segments"),
    };
    let table = DataTable::new(
        "Saved segments and how many customers each holds now",
        vec![
            Column::new("Segment"),
            Column::new("Members").numeric(),
            Column::new("Rule version").numeric(),
        ],
    )
    .id("segments")
    .rows(
        segments
            .iter()
            .map(|s| {
                vec![
                    html! { a href={ "/segments/" (s.id) } { (s.name) } },
                    html! { (sizes.get(&s.id).copied().unwrap_or(0)) },
                    html! { (s.version) },
                ]
            })
            .collect(),
    );
    page(
        StatusCode::OK,
        layout(
            "Segments",
            SECTION,
            html! {
                (kit::page_header(
                    &[Crumb { label: "Home", href: "/" }],
                    "Segments",
                    Some(html! { "Customers grouped by rules over travel, loyalty, preferences, interactions and consent; kept current as their facts change." }),
                    Some(html! { a.button href="/segments/new" { "New segment" } }),
                ))
                @if segments.is_empty() {
                    (kit::empty_state("No saved segment yet", "Build one from conditions over the customers' facts; the count updates as you edit.", Some(html! { a href="/segments/new" { "New segment" } })))
                } @else {
                    (table.render())
                }
            },
        ),
    )
}

fn field_options() -> Vec<(String, String)> {
    std::iter::once((String::new(), "Choose a fact…".to_owned()))
        .chain(
            FIELDS
                .iter()
                .map(|f| (f.name.to_owned(), format!("{} ({})", f.label, f.name))),
        )
        .collect()
}

fn op_options() -> Vec<(String, String)> {
    OPERATORS
        .iter()
        .map(|(c, l)| ((*c).to_owned(), (*l).to_owned()))
        .collect()
}

/// The live count's text for a draft: the count, or why there is none yet.
async fn count_text(store: &SegmentStore, draft: &Draft) -> Markup {
    match parse(&draft.rule()) {
        Ok(rule) => match store.count(&rule, chrono::Utc::now()).await {
            Ok(n) => html! {
                strong #segment-count-value { (n) } " customers match now."
            },
            Err(_) => html! { "The count cannot be worked out right now." },
        },
        Err(errors) => html! {
            "No count yet: "
            ul {
                @for e in &errors {
                    li { (problem(draft, e)) }
                }
            }
        },
    }
}

/// A rule problem in the form's words: "Condition 2: …".
fn problem(draft: &Draft, e: &crate::segment::RuleError) -> String {
    let field = form_field(e);
    let row = field
        .strip_prefix('c')
        .and_then(|r| r.split('_').next())
        .and_then(|n| n.parse::<usize>().ok());
    match row {
        Some(n) if draft.rows.get(n).is_some_and(|r| r.field.trim().is_empty()) => {
            format!("Condition {}: choose a fact", n + 1)
        }
        Some(n) => format!("Condition {}: {}", n + 1, e.detail),
        None => e.detail.clone(),
    }
}

fn builder_page(
    status: StatusCode,
    edit: Option<&str>,
    name: &str,
    draft: &Draft,
    errors: &FormErrors,
    count: Markup,
) -> Response {
    let fields = field_options();
    let ops = op_options();
    let (title, action) = match edit {
        Some(id) => ("Edit segment", format!("/segments/{id}/edit")),
        None => ("New segment", "/segments/new".to_owned()),
    };
    page(
        status,
        layout(
            title,
            SECTION,
            html! {
                (kit::page_header(
                    &[Crumb { label: "Home", href: "/" }, Crumb { label: "Segments", href: "/segments" }],
                    title,
                    Some(html! { "Conditions over each customer's facts. Only the count is shown: no customer is listed." }),
                    None,
                ))
                (kit::form::error_summary(errors))
                form #segment-form method="post" action=(action)
                    hx-post="/segments/count" hx-trigger="change delay:300ms"
                    hx-target="#segment-count" hx-swap="innerHTML" {
                    (csrf_field())
                    input type="hidden" name="rows" value=(draft.rows.len());
                    (Field::new("name", "Name", FieldKind::Input("text")).value(Some(name)).required().render(errors))
                    (Field::new("join", "Customers must meet", FieldKind::Select(vec![
                        ("all".into(), "all of the conditions".into()),
                        ("any".into(), "any of the conditions".into()),
                    ])).value(Some(draft.join)).render(errors))
                    @if let Some(e) = errors.of("rule") {
                        p.field-error #f-rule { (e) }
                    }
                    @for (i, row) in draft.rows.iter().enumerate() {
                        @let f = format!("c{i}_field");
                        @let o = format!("c{i}_op");
                        @let v = format!("c{i}_value");
                        fieldset.segment-condition {
                            legend { "Condition " (i + 1) }
                            (Field::new(&f, "Fact", FieldKind::Select(fields.clone())).value(Some(row.field.as_str())).render(errors))
                            (Field::new(&o, "Operator", FieldKind::Select(ops.clone())).value(Some(row.op.as_str())).render(errors))
                            (Field::new(&v, "Value", FieldKind::Input("text")).value(Some(row.value.as_str()))
                                .hint("Text as stored (GOLD is not gold), a whole number, an amount such as 1250.00, or yes/no; a list comma-separated")
                                .render(errors))
                            @if draft.rows.len() > 1 {
                                button.secondary type="submit" name="remove" value=(i) formnovalidate {
                                    "Remove condition " (i + 1)
                                }
                            }
                        }
                    }
                    div #segment-count role="status" aria-live="polite" { (count) }
                    div.actions {
                        @if draft.rows.len() < MAX_ROWS {
                            button.secondary type="submit" name="add" value="1" formnovalidate { "Add a condition" }
                            " "
                        }
                        button type="submit" name="save" value="1" { "Save segment" }
                    }
                }
                details {
                    summary { "What each fact means" }
                    dl.facts {
                        @for f in FIELDS {
                            div { dt { code { (f.name) } } dd { (f.label) } }
                        }
                    }
                }
            },
        ),
    )
}

/// `GET /segments/new`: an empty builder.
async fn new() -> Response {
    let draft = Draft::new();
    let count = html! { "Choose a fact, an operator and a value to see how many customers match." };
    builder_page(StatusCode::OK, None, "", &draft, &FormErrors::new(), count)
}

fn text_of(form: &FormData) -> impl Fn(&str) -> Option<String> + '_ {
    |k| form.text(k).map(str::to_owned)
}

/// `POST /segments/count`: the live count fragment (htmx swaps it into `#segment-count`).
async fn live_count(State(p): State<Pages>, form: FormData) -> Response {
    let draft = Draft::from_form(text_of(&form));
    Html(count_text(&p.store, &draft).await.into_string()).into_response()
}

/// `POST /segments/new`: add or remove a row (the form comes back), or save.
async fn submit(State(p): State<Pages>, ctx: AccessContext, form: FormData) -> Response {
    submit_to(&p, &ctx, &form, None).await
}

/// `GET /segments/{id}/edit`: the builder on a saved segment (a rule of one level of
/// conditions; nested rules are edited through the API).
async fn edit(State(p): State<Pages>, Path(id): Path<String>) -> Response {
    let (segment, _) = match p.store.segment(&id).await {
        Ok(Some(s)) => s,
        Ok(None) => return kit::redirect_with_notice("/segments", "No such segment."),
        Err(_) => return unavailable("Edit segment"),
    };
    let Some(draft) = Draft::of_rule(&segment.rule_json) else {
        return kit::redirect_with_notice(
            &format!("/segments/{id}"),
            "This rule has nested groups: edit it through the API (PUT /api/v1/segments/{id}).",
        );
    };
    let count = count_text(&p.store, &draft).await;
    builder_page(
        StatusCode::OK,
        Some(&id),
        &segment.name,
        &draft,
        &FormErrors::new(),
        count,
    )
}

/// `POST /segments/{id}/edit`: as for a new segment; saving replaces the rule.
async fn submit_edit(
    State(p): State<Pages>,
    ctx: AccessContext,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    submit_to(&p, &ctx, &form, Some(&id)).await
}

async fn submit_to(
    p: &Pages,
    ctx: &AccessContext,
    form: &FormData,
    edit: Option<&str>,
) -> Response {
    let mut draft = Draft::from_form(text_of(form));
    let name = form.text("name").unwrap_or("").trim().to_owned();
    if form.text("add").is_some() {
        if draft.rows.len() < MAX_ROWS {
            draft.rows.push(Default::default());
        }
        let count = count_text(&p.store, &draft).await;
        return builder_page(
            StatusCode::OK,
            edit,
            &name,
            &draft,
            &FormErrors::new(),
            count,
        );
    }
    if let Some(i) = form.text("remove").and_then(|i| i.parse::<usize>().ok()) {
        if i < draft.rows.len() && draft.rows.len() > 1 {
            draft.rows.remove(i);
        }
        let count = count_text(&p.store, &draft).await;
        return builder_page(
            StatusCode::OK,
            edit,
            &name,
            &draft,
            &FormErrors::new(),
            count,
        );
    }
    let mut errors = FormErrors::new();
    if name.is_empty() || name.chars().count() > 200 {
        errors.add("name", "Name is required: 1 to 200 characters");
    }
    let rule_json = draft.rule();
    let rule = match parse(&rule_json) {
        Ok(r) => Some(r),
        Err(list) => {
            for e in list {
                let field = form_field(&e);
                if errors.of(&field).is_none() {
                    errors.add(&field, problem(&draft, &e));
                }
            }
            None
        }
    };
    let Some(rule) = rule.filter(|_| errors.is_empty()) else {
        let count = count_text(&p.store, &draft).await;
        return builder_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            edit,
            &name,
            &draft,
            &errors,
            count,
        );
    };
    let now = aloft_kernel::db::now();
    let saved = match edit {
        None => p
            .store
            .save_segment(&name, &rule_json, &rule, &ctx.actor.id, now)
            .await
            .map(|(id, members)| Some((id, members))),
        Some(id) => p
            .store
            .update_segment(id, &name, &rule_json, &rule, now)
            .await
            .map(|r| r.map(|(_, members)| (id.to_owned(), members))),
    };
    match saved {
        Ok(Some((id, members))) => kit::redirect_with_notice(
            &format!("/segments/{id}"),
            &format!("Segment saved: {members} customers now."),
        ),
        Ok(None) => kit::redirect_with_notice("/segments", "Not saved: no such segment."),
        Err(_) => {
            errors.add("name", "The segment cannot be saved right now; try again.");
            let count = count_text(&p.store, &draft).await;
            builder_page(
                StatusCode::SERVICE_UNAVAILABLE,
                edit,
                &name,
                &draft,
                &errors,
                count,
            )
        }
    }
}

/// The purpose of an audience (`?purpose=marketing_email`).
#[derive(Debug, Deserialize)]
pub struct PurposeQuery {
    /// A purpose of [`PURPOSES`].
    pub purpose: Option<String>,
}

fn may_export() -> bool {
    aloft_authz::current_principal().is_some_and(|p| p.can(AUDIENCE_EXPORT))
}

/// `GET /segments/{id}?purpose=`: the segment, its size and its audience for a purpose.
async fn detail(
    State(p): State<Pages>,
    Path(id): Path<String>,
    Query(q): Query<PurposeQuery>,
) -> Response {
    let (segment, members) = match p.store.segment(&id).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return page(
                StatusCode::NOT_FOUND,
                layout(
                    "Segment",
                    SECTION,
                    kit::notice("No such segment.", Tone::Warn),
                ),
            );
        }
        Err(_) => return unavailable("Segment"),
    };
    let code = q
        .purpose
        .as_deref()
        .and_then(purpose)
        .map(|(c, _)| c)
        .unwrap_or("marketing_email");
    let split = match p.audiences.split(&id, code).await {
        Ok(Some(s)) => s,
        Ok(None) => return unavailable("Segment"),
        Err(_) => return unavailable("Segment"),
    };
    let purposes: Vec<(String, String)> = PURPOSES
        .iter()
        .map(|(c, _, l)| ((*c).to_owned(), (*l).to_owned()))
        .collect();
    let rule = serde_json::to_string_pretty(&segment.rule_json).unwrap_or_default();
    let exporter = may_export();
    page(
        StatusCode::OK,
        layout(
            &segment.name,
            SECTION,
            html! {
                (kit::page_header(
                    &[Crumb { label: "Home", href: "/" }, Crumb { label: "Segments", href: "/segments" }],
                    &segment.name,
                    Some(html! { "Rule version " (segment.version) ". Members are kept current as customers' facts change." }),
                    Some(html! { a.button #segment-edit href={ "/segments/" (id) "/edit" } { "Edit" } }),
                ))
                (kit::stats(&[("Members now", members.to_string(), None)]))
                section aria-labelledby="segment-rule-title" {
                    h2 #segment-rule-title { "Rule" }
                    pre #segment-rule { code { (rule) } }
                }
                section aria-labelledby="audience-title" {
                    h2 #audience-title { "Audience" }
                    (kit::filter_bar(
                        &format!("/segments/{id}"),
                        "Purpose",
                        html! { (Field::new("purpose", "Purpose of the audience", FieldKind::Select(purposes)).value(Some(code)).render(&FormErrors::new())) },
                        &format!("/segments/{id}"),
                    ))
                    p #audience-exclusion {
                        strong { (split.excluded_no_consent()) " of " (split.members) }
                        " members excluded: no consent to " (code) " (or processing restricted). "
                        (split.consented.len()) " may be released."
                    }
                    @if exporter {
                        p {
                            a.button #audience-csv href={ "/segments/" (id) "/audience.csv?purpose=" (code) } download { "Download CSV" }
                        }
                        form method="post" action={ "/segments/" (id) "/audience/publish" } {
                            (csrf_field())
                            input type="hidden" name="purpose" value=(code);
                            button type="submit" { "Publish to the marketing platform" }
                        }
                        p.hint { "The CSV holds each released member's id and the contact the channel needs; every release is audited. The marketing platform receives ids only." }
                    } @else {
                        p.hint { "Exporting an audience needs the audience export permission." }
                    }
                }
            },
        ),
    )
}

/// `GET /segments/{id}/audience.csv?purpose=`: the audience as a download.
async fn csv(
    State(p): State<Pages>,
    ctx: AccessContext,
    Path(id): Path<String>,
    Query(q): Query<PurposeQuery>,
) -> Response {
    let Some((code, _)) = q.purpose.as_deref().and_then(purpose) else {
        return kit::redirect_with_notice(
            &format!("/segments/{id}"),
            "Not exported: choose a purpose.",
        );
    };
    match p
        .audiences
        .export_csv(&id, code, &ctx, aloft_kernel::db::now())
        .await
    {
        Ok(e) => csv_response(&id, &e),
        Err(crate::audience::AudienceError::NotFound) => {
            kit::redirect_with_notice("/segments", "Not exported: no such segment.")
        }
        Err(_) => kit::redirect_with_notice(
            &format!("/segments/{id}"),
            "Not exported: the audience cannot be released right now.",
        ),
    }
}

/// The CSV download with the counts as headers (`Aloft-Excluded-No-Consent`…).
pub fn csv_response(segment: &str, e: &crate::audience::CsvExport) -> Response {
    let c = &e.counts;
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"audience-{segment}-{}.csv\"",
                    c.purpose
                ),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (
                header::HeaderName::from_static("aloft-export-id"),
                c.export_id.clone(),
            ),
            (
                header::HeaderName::from_static("aloft-members"),
                c.members.to_string(),
            ),
            (
                header::HeaderName::from_static("aloft-released"),
                c.released.to_string(),
            ),
            (
                header::HeaderName::from_static("aloft-excluded-no-consent"),
                c.excluded_no_consent.to_string(),
            ),
            (
                header::HeaderName::from_static("aloft-excluded-no-contact"),
                c.excluded_no_contact.to_string(),
            ),
        ],
        e.csv.clone(),
    )
        .into_response()
}

/// `POST /segments/{id}/audience/publish`: publish the audience for a purpose.
async fn publish(
    State(p): State<Pages>,
    ctx: AccessContext,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let back = format!("/segments/{id}");
    let Some((code, _)) = form.text("purpose").and_then(purpose) else {
        return kit::redirect_with_notice(&back, "Not published: choose a purpose.");
    };
    let message = match p
        .audiences
        .publish(&id, code, &ctx, aloft_kernel::db::now())
        .await
    {
        Ok(c) => format!(
            "Published to the marketing platform: {} members; {} of {} excluded: no consent.",
            c.released, c.excluded_no_consent, c.members
        ),
        Err(crate::audience::AudienceError::NotFound) => "Not published: no such segment.".into(),
        Err(_) => "Not published: the audience cannot be released right now.".into(),
    };
    kit::redirect_with_notice(&format!("{back}?purpose={code}"), &message)
}
