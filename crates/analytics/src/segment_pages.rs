//! The segment builder for marketing and loyalty managers, and a segment's audience.
//!
//! - `/segments`: the saved segments with their sizes now.
//! - `/segments/new`: conditions (field from the rule language's catalogue with its
//!   description, operator, value) and groups of conditions, each group joined by all, any or
//!   none of its conditions, the whole joined by all or any; conditions and groups are added
//!   and removed by buttons that post the form back (no script of ours: the CSP forbids
//!   inline script), and the vendored htmx posts the form to `/segments/count` on every change
//!   (300 ms after it) for the live count, announced in a polite status region. Groups are
//!   fieldsets with a legend ("Group 3"), their conditions numbered within ("Condition 3.1"),
//!   every button named for what it adds or removes, so the form reads and works the same
//!   with a keyboard or a screen reader. A rule problem (the same 422 pointers as the API) is
//!   shown next to its control and in the error summary. Saving selects the members at once.
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
use crate::builder::{
    Draft, Group, Item, JOINS, MAX_GROUP_DEPTH, MAX_ROWS, OPERATORS, TOP, form_field, label,
    parse_path, prefix,
};
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
    options(OPERATORS)
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
        Err(errors) => {
            // One line per problem as people read it (an empty row's field and operator are
            // one "choose a fact").
            let mut lines: Vec<String> = Vec::new();
            for e in &errors {
                let line = problem(draft, e);
                if !lines.contains(&line) {
                    lines.push(line);
                }
            }
            html! {
                "No count yet: "
                ul {
                    @for line in &lines {
                        li { (line) }
                    }
                }
            }
        }
    }
}

/// A rule problem in the form's words: "Condition 2: …", "Condition 3.1: …".
fn problem(draft: &Draft, e: &crate::segment::RuleError) -> String {
    let field = form_field(e);
    let path = field
        .strip_prefix('c')
        .and_then(|r| r.split('_').next())
        .and_then(parse_path);
    match path {
        Some(p) if draft.row(&p).is_some_and(|r| r.field.trim().is_empty()) => {
            format!("Condition {}: choose a fact", label(&p))
        }
        Some(p) if draft.row(&p).is_some() => format!("Condition {}: {}", label(&p), e.detail),
        Some(p) if !p.is_empty() => format!("Group {}: {}", label(&p), e.detail),
        _ => e.detail.clone(),
    }
}

/// Options of a select, from `(code, label)` pairs.
fn options(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(c, l)| ((*c).to_owned(), (*l).to_owned()))
        .collect()
}

/// What every part of the form needs: where it posts and the problems to show.
struct FormCtx<'a> {
    action: &'a str,
    room: bool,
    errors: &'a FormErrors,
}

impl FormCtx<'_> {
    /// The action a button posts to, with the fragment of the item the page should land on:
    /// after "Add a condition to group 3" the browser goes to the new condition's fieldset, so
    /// the next Tab reaches its first control instead of the page's start (no script needed).
    fn landing(&self, path: &[usize]) -> String {
        format!("{}#{}-item", self.action, prefix(path))
    }
}

/// One condition's fieldset at `path`; `removable` when it is not the rule's only item.
fn condition(path: &[usize], row: &crate::builder::Row, removable: bool, cx: &FormCtx) -> Markup {
    let errors = cx.errors;
    let p = prefix(path);
    let n = label(path);
    html! {
        fieldset.segment-condition id={ (p) "-item" } {
            legend { "Condition " (n) }
            (Field::new(&format!("{p}_field"), "Fact", FieldKind::Select(field_options())).value(Some(row.field.as_str())).render(errors))
            (Field::new(&format!("{p}_op"), "Operator", FieldKind::Select(op_options())).value(Some(row.op.as_str())).render(errors))
            (Field::new(&format!("{p}_value"), "Value", FieldKind::Input("text")).value(Some(row.value.as_str()))
                .hint("Text as stored (GOLD is not gold), a whole number, an amount such as 1250.00, or yes/no; a list comma-separated")
                .render(errors))
            @if removable {
                button.secondary type="submit" name="remove" value=(path.iter().map(usize::to_string).collect::<Vec<_>>().join("-")) formnovalidate {
                    "Remove condition " (n)
                }
            }
        }
    }
}

/// A group's fieldset at `path` (inside the rule): its join, its conditions, and buttons to
/// add a condition to it or remove it.
fn group(path: &[usize], g: &Group, cx: &FormCtx) -> Markup {
    let errors = cx.errors;
    let p = prefix(path);
    let n = label(path);
    let value = path
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("-");
    html! {
        fieldset.segment-group id={ (p) "-item" } {
            legend { "Group " (n) }
            input type="hidden" name={ (p) "_kind" } value="group";
            input type="hidden" name={ (p) "_rows" } value=(g.items.len());
            (Field::new(&format!("{p}_join"), "Customers in this group meet", FieldKind::Select(options(JOINS)))
                .value(Some(g.join)).render(errors))
            (items(path, g, cx))
            div.actions {
                @if cx.room {
                    button.secondary type="submit" name="add" value=(value)
                        formaction=(cx.landing(&[path, &[g.items.len()]].concat())) formnovalidate {
                        "Add a condition to group " (n)
                    }
                    " "
                }
                button.secondary type="submit" name="remove" value=(value) formnovalidate {
                    "Remove group " (n)
                }
            }
        }
    }
}

fn items(path: &[usize], g: &Group, cx: &FormCtx) -> Markup {
    // A condition can be removed unless it is the rule's only item (a group's last condition
    // goes with its group).
    let removable = !path.is_empty() || g.items.len() > 1;
    html! {
        @for (i, item) in g.items.iter().enumerate() {
            @let at = [path, &[i]].concat();
            @match item {
                Item::Cond(row) => (condition(&at, row, removable, cx)),
                Item::Group(inner) => (group(&at, inner, cx)),
            }
        }
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
    let (title, action) = match edit {
        Some(id) => ("Edit segment", format!("/segments/{id}/edit")),
        None => ("New segment", "/segments/new".to_owned()),
    };
    let room = draft.conditions() < MAX_ROWS;
    let cx = FormCtx {
        action: &action,
        room,
        errors,
    };
    let next = [draft.root.items.len()];
    page(
        status,
        layout(
            title,
            SECTION,
            html! {
                (kit::page_header(
                    &[Crumb { label: "Home", href: "/" }, Crumb { label: "Segments", href: "/segments" }],
                    title,
                    Some(html! { "Conditions over each customer's facts, alone or in groups. Only the count is shown: no customer is listed." }),
                    None,
                ))
                (kit::form::error_summary(errors))
                form #segment-form method="post" action=(action)
                    hx-post="/segments/count" hx-trigger="change delay:300ms"
                    hx-target="#segment-count" hx-swap="innerHTML" {
                    (csrf_field())
                    input type="hidden" name="rows" value=(draft.root.items.len());
                    (Field::new("name", "Name", FieldKind::Input("text")).value(Some(name)).required().render(errors))
                    (Field::new("join", "Customers must meet", FieldKind::Select(options(&JOINS[..2])))
                        .value(Some(draft.root.join)).render(errors))
                    @if let Some(e) = errors.of("rule") {
                        p.field-error #f-rule { (e) }
                    }
                    (items(&[], &draft.root, &cx))
                    div #segment-count role="status" aria-live="polite" aria-atomic="true" { (count) }
                    div.actions {
                        @if room {
                            button.secondary type="submit" name="add" value=(TOP) formaction=(cx.landing(&next)) formnovalidate { "Add a condition" }
                            " "
                            @if MAX_GROUP_DEPTH > 0 {
                                button.secondary type="submit" name="add_group" value=(TOP) formaction=(cx.landing(&next)) formnovalidate { "Add a group" }
                                " "
                            }
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

/// `GET /segments/{id}/edit`: the builder on a saved segment (conditions and groups of
/// conditions; rules nested deeper are edited through the API).
async fn edit(State(p): State<Pages>, Path(id): Path<String>) -> Response {
    let (segment, _) = match p.store.segment(&id).await {
        Ok(Some(s)) => s,
        Ok(None) => return kit::redirect_with_notice("/segments", "No such segment."),
        Err(_) => return unavailable("Edit segment"),
    };
    let Some(draft) = Draft::of_rule(&segment.rule_json) else {
        return kit::redirect_with_notice(
            &format!("/segments/{id}"),
            "This rule nests groups deeper than the form shows: edit it through the API (PUT /api/v1/segments/{id}).",
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
    // Adding or removing a condition or a group posts the form back with the change (a path
    // that names nothing changes nothing).
    let add = form
        .text("add")
        .map(|p| (p, false))
        .or_else(|| form.text("add_group").map(|p| (p, true)));
    let remove = form.text("remove");
    if add.is_some() || remove.is_some() {
        if let Some((path, group)) = add {
            if let Some(at) = parse_path(path) {
                draft.add(&at, group);
            }
        } else if let Some(at) = remove.and_then(parse_path) {
            draft.remove(&at);
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
