//! The agent's pages: `/cases` (the work queue: mine, a queue, at risk of SLA breach; keyset
//! paging), `/cases/{id}` (the case with its timeline, reply, move and transfer forms), the
//! "Cases" tab of the customer 360° page and the "My cases" start-page panel. Kit only.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::Utc;
use http::StatusCode;
use maud::{Markup, html};
use serde::Deserialize;

use aloft_authz::{Access, Principal, RoutePolicy};
use aloft_kernel::AccessContext;
use aloft_vocab::CustomerId;
use aloft_web::kit::{
    self, Column, Crumb, DataTable, FeedItem, Field, FieldKind, FormData, Tab, Tone,
};
use aloft_web::{HomePanel, Placement, RecordView, Section, csrf_field, layout, page};

use crate::extras::is_macro_id;
use crate::model::{Category, Priority, QUEUES, is_queue};
use crate::permissions::{CASE_CONFIGURE, CASE_WORK};
use crate::service::{
    Case, CaseError, Cases, Entry, NewCase, Opened, QueueFilter, TransitionRequest, cursor_of,
    short_ref,
};

/// The cases section of the workspace.
pub const SECTION: Section = Section::new("cases");

/// Who may open the pages.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new("GET", "/cases", Access::Permission(CASE_WORK)),
    RoutePolicy::new("GET", "/cases/{id}", Access::Permission(CASE_WORK)),
    RoutePolicy::new("GET", "/cases/new", Access::Permission(CASE_WORK)),
    RoutePolicy::new("POST", "/cases/new", Access::Permission(CASE_WORK)),
    RoutePolicy::new("POST", "/cases/{id}/reply", Access::Permission(CASE_WORK)),
    RoutePolicy::new(
        "POST",
        "/cases/{id}/transition",
        Access::Permission(CASE_WORK),
    ),
    RoutePolicy::new("POST", "/cases/{id}/assign", Access::Permission(CASE_WORK)),
    RoutePolicy::new(
        "POST",
        "/cases/{id}/priority",
        Access::Permission(CASE_WORK),
    ),
    RoutePolicy::new("GET", "/cases/macros", Access::Permission(CASE_CONFIGURE)),
    RoutePolicy::new("POST", "/cases/macros", Access::Permission(CASE_CONFIGURE)),
    RoutePolicy::new(
        "POST",
        "/cases/macros/{id}/delete",
        Access::Permission(CASE_CONFIGURE),
    ),
];

/// The page routes.
pub fn routes(cases: Cases) -> Router {
    Router::new()
        .route("/cases", get(work_queue))
        .route("/cases/new", get(new_case_form).post(create_case))
        .route("/cases/{id}", get(detail))
        .route("/cases/{id}/reply", post(reply))
        .route("/cases/{id}/transition", post(transition))
        .route("/cases/{id}/assign", post(assign))
        .route("/cases/{id}/priority", post(set_priority))
        .route("/cases/macros", get(macros_page).post(save_macro))
        .route("/cases/macros/{id}/delete", post(delete_macro))
        .with_state(cases)
}

fn priority_badge(p: Priority) -> Markup {
    let tone = match p {
        Priority::Urgent => Tone::Bad,
        Priority::High => Tone::Warn,
        Priority::Normal => Tone::Info,
        Priority::Low => Tone::Neutral,
    };
    kit::badge(p.as_str(), tone)
}

fn due(case: &Case) -> Markup {
    let next = [
        case.sla.first_response_due,
        case.sla.next_response_due,
        case.sla.resolution_due,
    ]
    .into_iter()
    .flatten()
    .min();
    match next {
        _ if case.sla.paused => kit::badge("paused", Tone::Neutral),
        Some(t) if t <= Utc::now() => html! {
            (kit::badge("breached", Tone::Bad)) " " time datetime=(t.to_rfc3339()) { (t.format("%d %b %H:%M UTC")) }
        },
        Some(t) if t <= Utc::now() + chrono::Duration::hours(2) => html! {
            (kit::badge("at risk", Tone::Warn)) " " time datetime=(t.to_rfc3339()) { (t.format("%d %b %H:%M UTC")) }
        },
        Some(t) => html! { time datetime=(t.to_rfc3339()) { (t.format("%d %b %H:%M UTC")) } },
        None => kit::or_dash(None::<&str>),
    }
}

/// A table of cases.
pub fn cases_table(caption: &str, cases: &[Case], base: &str, next: Option<String>) -> Markup {
    DataTable::new(
        caption,
        vec![
            Column::new("Case"),
            Column::new("Subject"),
            Column::new("Category"),
            Column::new("Priority"),
            Column::new("State"),
            Column::new("Queue"),
            Column::new("Next SLA due"),
        ],
    )
    .id("cases")
    .rows(
        cases
            .iter()
            .map(|c| {
                vec![
                    html! { a href={ "/cases/" (c.id) } { (short_ref(&c.id)) } },
                    html! { (c.subject) },
                    html! { (c.category.label()) },
                    priority_badge(c.priority),
                    html! { (c.state.replace('_', " ")) },
                    html! { (c.queue) },
                    due(c),
                ]
            })
            .collect(),
    )
    .sorted(base, None)
    .next_after(next)
    .render()
}

/// Which list of the work queue.
#[derive(Debug, Deserialize)]
struct QueueParams {
    view: Option<String>,
    queue: Option<String>,
    after: Option<String>,
}

/// `GET /cases`: the work queue.
async fn work_queue(
    State(cases): State<Cases>,
    ctx: AccessContext,
    Query(q): Query<QueueParams>,
) -> Response {
    let view = q.view.as_deref().unwrap_or("mine");
    let queue = q
        .queue
        .as_deref()
        .filter(|n| is_queue(n))
        .unwrap_or(QUEUES[0].name);
    let (title, base, result) = match view {
        "queue" => (
            format!("Queue: {queue}"),
            format!("/cases?view=queue&queue={queue}"),
            cases
                .work_queue(QueueFilter::Queue(queue), q.after.as_deref(), 50)
                .await,
        ),
        "at_risk" => (
            "At risk of SLA breach".to_owned(),
            "/cases?view=at_risk".to_owned(),
            cases
                .at_risk(Utc::now() + chrono::Duration::hours(2), 50)
                .await,
        ),
        _ => (
            "Assigned to me".to_owned(),
            "/cases?view=mine".to_owned(),
            cases
                .work_queue(QueueFilter::Assignee(&ctx.actor.id), q.after.as_deref(), 50)
                .await,
        ),
    };
    let tabs = kit::tabs(
        "Work queue views",
        &[
            Tab {
                label: "Mine",
                href: "/cases?view=mine",
                current: view == "mine",
            },
            Tab {
                label: "Team queue",
                href: "/cases?view=queue",
                current: view == "queue",
            },
            Tab {
                label: "At risk",
                href: "/cases?view=at_risk",
                current: view == "at_risk",
            },
        ],
    );
    let body = match result {
        Ok(list) if list.is_empty() => {
            kit::empty_state("Nothing here", "No open case in this view.", None)
        }
        Ok(list) => {
            let next = (list.len() == 50 && view != "at_risk")
                .then(|| list.last().map(cursor_of))
                .flatten();
            cases_table(&title, &list, &base, next)
        }
        Err(_) => kit::notice("Cases cannot be read right now.", Tone::Bad),
    };
    page(
        StatusCode::OK,
        layout(
            "Cases",
            SECTION,
            html! {
                (kit::page_header(&[Crumb { label: "Home", href: "/" }], "Cases", Some(html! { "Open cases, most urgent first." }), None))
                (tabs)
                @if view == "queue" {
                    (kit::filter_bar("/cases", "Choose a queue", html! {
                        input type="hidden" name="view" value="queue";
                        (Field::new("queue", "Queue", FieldKind::Select(QUEUES.iter().map(|q| (q.name.to_owned(), q.label.to_owned())).collect())).value(Some(queue)).render(&kit::FormErrors::new()))
                    }, "/cases?view=queue"))
                }
                (body)
            },
        ),
    )
}

fn timeline(entries: &[Entry]) -> Markup {
    let items: Vec<FeedItem> = entries
        .iter()
        .rev()
        .map(|e| {
            let title = match (e.kind.as_str(), e.author.as_deref()) {
                ("message", Some("customer")) => "Message from the customer".to_owned(),
                ("message", _) => "Reply to the customer".to_owned(),
                ("transition", _) => format!(
                    "Moved from {} to {}",
                    e.detail["from"].as_str().unwrap_or("?").replace('_', " "),
                    e.detail["to"].as_str().unwrap_or("?").replace('_', " ")
                ),
                ("assigned", _) => format!(
                    "Assigned to {} ({})",
                    e.detail["assignee"].as_str().unwrap_or("the queue"),
                    e.detail["queue"].as_str().unwrap_or("?")
                ),
                ("linked", _) => "The customer wrote again about the same matter".to_owned(),
                ("opened", _) => "Case opened".to_owned(),
                (k, _) => k.to_owned(),
            };
            FeedItem {
                when: e.at.format("%d %b %Y %H:%M UTC").to_string(),
                datetime: e.at.to_rfc3339(),
                title,
                badges: vec![],
                meta: Some(format!("by {}", e.actor)),
                details: e.body.as_ref().map(|b| html! { p { (b) } }).or_else(|| {
                    e.detail["reason"]
                        .as_str()
                        .map(|r| html! { p { "Reason: " (r) } })
                }),
                kind: if e.kind == "message" { "email" } else { "note" },
            }
        })
        .collect();
    kit::feed(&items)
}

/// Options of the case page.
#[derive(Debug, Deserialize)]
struct DetailParams {
    /// A macro to put into the reply box.
    #[serde(rename = "macro")]
    macro_id: Option<String>,
}

/// `GET /cases/{id}`: the case, its timeline and the forms (`?macro=` fills the reply box with
/// a canned reply).
async fn detail(
    State(cases): State<Cases>,
    ctx: AccessContext,
    Path(id): Path<String>,
    Query(params): Query<DetailParams>,
) -> Response {
    let (case, entries) = match cases.get(&id, &ctx).await {
        Ok(x) => x,
        Err(CaseError::NotFound) => {
            return page(
                StatusCode::NOT_FOUND,
                layout(
                    "Case not found",
                    SECTION,
                    kit::empty_state(
                        "No such case",
                        "It may have been mistyped.",
                        Some(html! { a href="/cases" { "Back to the work queue" } }),
                    ),
                ),
            );
        }
        Err(_) => {
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                layout(
                    "Cases",
                    SECTION,
                    kit::notice("The case cannot be read right now.", Tone::Bad),
                ),
            );
        }
    };
    let workflow = cases.workflow(case.workflow_version).await.ok();
    let moves: Vec<(String, String)> = workflow
        .as_ref()
        .map(|w| {
            w.next(&case.state)
                .map(|t| {
                    let label = w.state(&t.to).map_or(t.to.clone(), |s| s.label.clone());
                    let needs = if t.required.is_empty() {
                        String::new()
                    } else {
                        format!(" (needs {})", t.required.join(", "))
                    };
                    (t.to.clone(), format!("{label}{needs}"))
                })
                .collect()
        })
        .unwrap_or_default();
    // Fields the workflow's moves from here require beyond the usual three, each a box of its
    // own (named as the workflow names it, so the move passes it on).
    let mut extra_fields: Vec<(String, String)> = Vec::new();
    for t in workflow.iter().flat_map(|w| w.next(&case.state)) {
        for f in &t.required {
            if !["message", "resolution", "reason"].contains(&f.as_str())
                && !extra_fields.iter().any(|(n, _)| n == f)
            {
                extra_fields.push((
                    f.clone(),
                    format!("{} (required to move to {})", f.replace('_', " "), t.to),
                ));
            }
        }
    }
    let closed = workflow
        .as_ref()
        .is_some_and(|w| w.is_terminal(&case.state));
    let reference = short_ref(&case.id);
    let errors = kit::FormErrors::new();
    let macros = cases.macros().await.unwrap_or_default();
    let prefill = params
        .macro_id
        .as_deref()
        .and_then(|m| macros.iter().find(|x| x.id == m))
        .map(|m| m.text_for(&case));
    let macro_options: Vec<(String, String)> = macros
        .iter()
        .map(|m| (m.id.clone(), m.name.clone()))
        .collect();
    let priority_options: Vec<(String, String)> = Priority::ALL
        .iter()
        .map(|p| (p.as_str().to_owned(), p.as_str().to_owned()))
        .collect();
    page(
        StatusCode::OK,
        layout(
            &format!("Case {reference}"),
            SECTION,
            html! {
                (kit::page_header(
                    &[Crumb { label: "Home", href: "/" }, Crumb { label: "Cases", href: "/cases" }],
                    &format!("{reference}: {}", case.subject),
                    Some(html! { (priority_badge(case.priority)) " " (case.category.label()) " · " (case.state.replace('_', " ")) }),
                    None,
                ))
                (kit::facts(&[
                    ("Customer", html! { a #case-customer href={ "/customers/" (case.customer_id) } { "Open the customer's 360° view" } }),
                    ("Booking", kit::or_dash(case.booking_reference.as_deref())),
                    ("Channel", html! { (case.channel) }),
                    ("Queue", html! { (case.queue) }),
                    ("Assignee", kit::or_dash(case.assignee.as_deref())),
                    ("Next SLA due", due(&case)),
                    ("Opened", html! { time datetime=(case.opened_at.to_rfc3339()) { (case.opened_at.format("%d %b %Y %H:%M UTC")) } }),
                ]))
                section aria-labelledby="why-priority" {
                    h2 #why-priority { "Why this priority" }
                    @if case.priority_reasons.is_empty() { p { "Nothing raises it." } }
                    ul { @for r in &case.priority_reasons { li { (r.detail) " (" (r.points) ")" } } }
                }
                section aria-labelledby="description" {
                    h2 #description { "What the customer wrote" }
                    p { (case.description) }
                }
                @if !closed {
                    section aria-labelledby="reply-title" {
                        h2 #reply-title { "Reply to the customer" }
                        @if !macro_options.is_empty() {
                            form method="get" action={ "/cases/" (case.id) } {
                                (Field::new("macro", "Canned reply", FieldKind::Select(macro_options.clone())).value(params.macro_id.clone()).render(&errors))
                                button.secondary type="submit" { "Insert into the reply" }
                            }
                        }
                        form method="post" action={ "/cases/" (case.id) "/reply" } {
                            (csrf_field())
                            (Field::new("body", "Message", FieldKind::TextArea).value(prefill.clone()).required().render(&errors))
                            button type="submit" { "Send reply" }
                        }
                    }
                    section aria-labelledby="priority-title" {
                        h2 #priority-title { "Change the priority" }
                        form method="post" action={ "/cases/" (case.id) "/priority" } {
                            (csrf_field())
                            (Field::new("priority", "Priority", FieldKind::Select(priority_options.clone())).value(Some(case.priority.as_str())).render(&errors))
                            (Field::text("priority_reason", "Reason").required().render(&errors))
                            button type="submit" { "Change priority" }
                        }
                    }
                    @if !moves.is_empty() {
                        section aria-labelledby="move-title" {
                            h2 #move-title { "Move the case" }
                            form method="post" action={ "/cases/" (case.id) "/transition" } {
                                (csrf_field())
                                (Field::new("to", "New state", FieldKind::Select(moves)).render(&errors))
                                (Field::new("message", "Message to the customer (when asking them)", FieldKind::TextArea).render(&errors))
                                (Field::text("resolution", "Resolution (when resolving)").render(&errors))
                                (Field::text("reason", "Reason (when closing early or reopening)").render(&errors))
                                @for (name, label) in &extra_fields {
                                    (Field::text(name, label).render(&errors))
                                }
                                button type="submit" { "Move" }
                            }
                        }
                    }
                    section aria-labelledby="assign-title" {
                        h2 #assign-title { "Assign or transfer" }
                        form method="post" action={ "/cases/" (case.id) "/assign" } {
                            (csrf_field())
                            (Field::new("queue", "Queue", FieldKind::Select(QUEUES.iter().map(|q| (q.name.to_owned(), q.label.to_owned())).collect())).value(Some(case.queue.clone())).render(&errors))
                            (Field::text("assignee", "Agent (empty: next available in the queue)").render(&errors))
                            (Field::text("transfer_reason", "Reason for the transfer").required().render(&errors))
                            button type="submit" { "Transfer" }
                        }
                    }
                }
                section aria-labelledby="timeline-title" {
                    h2 #timeline-title { "Timeline" }
                    (timeline(&entries))
                }
            },
        ),
    )
}

fn refused(id: &str, e: CaseError) -> Response {
    let message = match e {
        CaseError::Transition(t) => format!("Not done: {t}."),
        CaseError::Closed => "Not done: the case is closed.".to_owned(),
        CaseError::Busy => "Not done: the case changed meanwhile; try again.".to_owned(),
        CaseError::NotFound => "No such case.".to_owned(),
        _ => "Not done: cases cannot be changed right now.".to_owned(),
    };
    kit::redirect_with_notice(&format!("/cases/{id}"), &message)
}

/// `POST /cases/{id}/reply`.
async fn reply(
    State(cases): State<Cases>,
    ctx: AccessContext,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let Some(body) = form.text("body").map(str::to_owned) else {
        return kit::redirect_with_notice(
            &format!("/cases/{id}"),
            "Not sent: the message is empty.",
        );
    };
    match cases.add_message(&id, false, &body, &ctx).await {
        Ok(_) => kit::redirect_with_notice(&format!("/cases/{id}"), "Reply sent."),
        Err(e) => refused(&id, e),
    }
}

/// `POST /cases/{id}/transition`.
async fn transition(
    State(cases): State<Cases>,
    ctx: AccessContext,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let Some(to) = form.text("to").map(str::to_owned) else {
        return kit::redirect_with_notice(&format!("/cases/{id}"), "Not done: choose a state.");
    };
    // Every field the form carries (the usual three and those the workflow requires), so a
    // move needing a field of the CMP manager's own naming can be made here too.
    let fields = form
        .pairs()
        .iter()
        .filter(|(k, _)| k != "to" && k != "csrf" && crate::model::is_slug(k))
        .filter_map(|(k, _)| form.text(k).map(|v| (k.clone(), v.to_owned())))
        .collect();
    match cases
        .transition(&id, &TransitionRequest { to, fields }, &ctx)
        .await
    {
        Ok(c) => kit::redirect_with_notice(
            &format!("/cases/{id}"),
            &format!("Moved to {}.", c.state.replace('_', " ")),
        ),
        Err(e) => refused(&id, e),
    }
}

/// `POST /cases/{id}/assign`.
async fn assign(
    State(cases): State<Cases>,
    ctx: AccessContext,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let queue = form
        .text("queue")
        .map(str::to_owned)
        .filter(|q| is_queue(q));
    let (Some(queue), Some(reason)) = (queue, form.text("transfer_reason").map(str::to_owned))
    else {
        return kit::redirect_with_notice(
            &format!("/cases/{id}"),
            "Not done: a known queue and a reason are required.",
        );
    };
    match cases
        .assign(
            &id,
            &queue,
            form.text("assignee").map(str::to_owned).as_deref(),
            &reason,
            &ctx,
        )
        .await
    {
        Ok(c) => kit::redirect_with_notice(
            &format!("/cases/{id}"),
            &format!(
                "Transferred to {}{}.",
                c.queue,
                c.assignee.map(|a| format!(" ({a})")).unwrap_or_default()
            ),
        ),
        Err(e) => refused(&id, e),
    }
}

/// `POST /cases/{id}/priority`.
async fn set_priority(
    State(cases): State<Cases>,
    ctx: AccessContext,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let priority = form
        .text("priority")
        .map(str::to_owned)
        .and_then(|p| Priority::parse(&p));
    let (Some(priority), Some(reason)) =
        (priority, form.text("priority_reason").map(str::to_owned))
    else {
        return kit::redirect_with_notice(
            &format!("/cases/{id}"),
            "Not done: a priority and a reason are required.",
        );
    };
    match cases.override_priority(&id, priority, &reason, &ctx).await {
        Ok(c) => kit::redirect_with_notice(
            &format!("/cases/{id}"),
            &format!("Priority set to {}.", c.priority.as_str()),
        ),
        Err(crate::extras::OverrideError::Case(e)) => refused(&id, e),
        Err(crate::extras::OverrideError::NoReason(_)) => {
            kit::redirect_with_notice(&format!("/cases/{id}"), "Not done: a reason is required.")
        }
    }
}

fn macros_view(
    status: StatusCode,
    macros: &[crate::extras::Macro],
    form: &FormData,
    errors: &kit::FormErrors,
) -> Response {
    let table = DataTable::new(
        "Canned replies, by name",
        vec![
            Column::new("Id"),
            Column::new("Name"),
            Column::new("Text"),
            Column::new("Actions"),
        ],
    )
    .id("macros")
    .rows(
        macros
            .iter()
            .map(|m| {
                let excerpt: String = m.body.chars().take(120).collect();
                vec![
                    html! { code { (m.id) } },
                    html! { (m.name) },
                    html! { (excerpt) },
                    kit::confirm_button(
                        &format!("/cases/macros/{}/delete", m.id),
                        "Delete",
                        &format!("Delete the canned reply {}?", m.name),
                        &[],
                    ),
                ]
            })
            .collect(),
    )
    .render();
    page(
        status,
        layout(
            "Case macros",
            SECTION,
            html! {
                (kit::page_header(&[Crumb { label: "Home", href: "/" }], "Case macros",
                    Some(html! { "Canned replies agents insert into a reply. " code { "{{reference}}" } " becomes the case's reference." }), None))
                @if macros.is_empty() {
                    (kit::empty_state("No canned replies yet", "Add the first below.", None))
                } @else {
                    (table)
                }
                section aria-labelledby="macro-form" {
                    h2 #macro-form { "Add or replace a canned reply" }
                    (kit::error_summary(errors))
                    form method="post" action="/cases/macros" {
                        (csrf_field())
                        (Field::text("id", "Id").hint("Lower-case letters, digits and dashes; an existing id is replaced").value(form.text("id")).required().render(errors))
                        (Field::text("name", "Name").value(form.text("name")).required().render(errors))
                        (Field::new("body", "Text", FieldKind::TextArea).value(form.text("body")).required().render(errors))
                        button type="submit" { "Save" }
                    }
                }
            },
        ),
    )
}

/// `GET /cases/macros`: the canned replies (CMP manager).
async fn macros_page(State(cases): State<Cases>) -> Response {
    match cases.macros().await {
        Ok(list) => macros_view(
            StatusCode::OK,
            &list,
            &FormData::from_pairs(vec![]),
            &kit::FormErrors::new(),
        ),
        Err(_) => page(
            StatusCode::SERVICE_UNAVAILABLE,
            layout(
                "Case macros",
                SECTION,
                kit::notice("Canned replies cannot be read right now.", Tone::Bad),
            ),
        ),
    }
}

/// `POST /cases/macros`: saves one.
async fn save_macro(State(cases): State<Cases>, ctx: AccessContext, form: FormData) -> Response {
    let mut errors = kit::FormErrors::new();
    let id = form.text("id").map(str::to_owned).unwrap_or_default();
    if !is_macro_id(&id) {
        errors.add("id", "Use 1-64 lower-case letters, digits or dashes.");
    }
    let name = form
        .text("name")
        .map(str::to_owned)
        .filter(|n| n.chars().count() <= 100);
    if name.is_none() {
        errors.add("name", "Enter a name of up to 100 characters.");
    }
    let body = form
        .text("body")
        .map(str::to_owned)
        .filter(|b| b.chars().count() <= 10_000);
    if body.is_none() {
        errors.add("body", "Enter the text (up to 10,000 characters).");
    }
    let (Some(name), Some(body), true) = (name, body, errors.is_empty()) else {
        let list = cases.macros().await.unwrap_or_default();
        return macros_view(StatusCode::UNPROCESSABLE_ENTITY, &list, &form, &errors);
    };
    match cases.save_macro(&id, &name, &body, &ctx).await {
        Ok(_) => kit::redirect_with_notice("/cases/macros", &format!("Saved {name}.")),
        Err(_) => kit::redirect_with_notice("/cases/macros", "Not saved: try again."),
    }
}

/// `POST /cases/macros/{id}/delete`.
async fn delete_macro(
    State(cases): State<Cases>,
    ctx: AccessContext,
    Path(id): Path<String>,
) -> Response {
    match cases.delete_macro(&id, &ctx).await {
        Ok(true) => kit::redirect_with_notice("/cases/macros", "Deleted."),
        Ok(false) => kit::redirect_with_notice("/cases/macros", "No such canned reply."),
        Err(_) => kit::redirect_with_notice("/cases/macros", "Not deleted: try again."),
    }
}

fn ctx_of(p: &Principal) -> AccessContext {
    let mut ctx = AccessContext::system("cases");
    ctx.actor = p.actor();
    ctx
}

/// The "Cases" tab of the customer 360° page.
pub fn record_views(cases: Cases) -> Vec<RecordView> {
    vec![RecordView::new(
        "customer",
        "cases",
        "Cases",
        Access::Permission(CASE_WORK),
        55,
        Placement::Tab,
        move |principal, id, _| {
            let cases = cases.clone();
            async move {
                let open = html! {
                    p { a.button href=(format!("/cases/new?customer={id}")) { "Open a case" } }
                };
                let list = match cases.of_customer(&id, &ctx_of(&principal)).await {
                    Ok(list) if list.is_empty() => {
                        kit::empty_state("No cases", "This customer has no case.", None)
                    }
                    Ok(list) => cases_table(
                        "The customer's cases, newest first",
                        &list,
                        &format!("/customers/{id}?tab=cases"),
                        None,
                    ),
                    Err(_) => kit::notice("Cases cannot be read right now.", Tone::Bad),
                };
                html! { (open) (list) }
            }
        },
    )]
}

/// Cases on the customer's timeline: each case when it was opened, with its state, priority
/// and queue (`case.work`; the read audited as the Cases tab's).
pub fn timeline_sources(cases: Cases) -> Vec<aloft_web::TimelineSource> {
    vec![aloft_web::TimelineSource::new(
        "cases",
        "Cases",
        Access::Permission(CASE_WORK),
        move |principal, id, after, before, limit| {
            let cases = cases.clone();
            async move {
                let Ok(list) = cases.of_customer(&id, &ctx_of(&principal)).await else {
                    return Vec::new();
                };
                list.into_iter()
                    .filter(|c| {
                        after.is_none_or(|a| c.opened_at > a)
                            && before.is_none_or(|b| c.opened_at <= b)
                    })
                    .take(limit)
                    .map(|c| {
                        let item = kit::FeedItem {
                            when: c.opened_at.format("%a %e %b %Y, %H:%M UTC").to_string(),
                            datetime: c.opened_at.to_rfc3339(),
                            title: format!("Case opened: {}", c.subject),
                            badges: vec![
                                kit::badge(&c.state.replace('_', " "), Tone::Neutral),
                                priority_badge(c.priority),
                            ],
                            meta: Some(format!("{} · {}", c.category.label(), c.queue)),
                            details: Some(html! {
                                p { a href=(format!("/cases/{}", c.id)) { "Open the case" } }
                            }),
                            kind: "case",
                        };
                        (c.opened_at, item)
                    })
                    .collect()
            }
        },
    )]
}

/// The "My cases" start-page panel.
pub fn home_panels(cases: Cases) -> Vec<HomePanel> {
    vec![
        HomePanel::new("my-cases", Access::Permission(CASE_WORK), 12, move |p: Principal| {
            let cases = cases.clone();
            async move {
                let body = match cases.work_queue(QueueFilter::Assignee(&p.subject), None, 10).await {
                    Ok(list) if list.is_empty() => kit::empty_state("No open case is yours", "New cases reach you by round-robin.", Some(html! { a href="/cases?view=queue" { "Open the team queue" } })),
                    Ok(list) => html! {
                        (cases_table("Your open cases, most urgent first", &list, "/cases?view=mine", None))
                        p { a href="/cases" { "Open the work queue" } }
                    },
                    Err(_) => kit::notice("Your cases cannot be read right now.", Tone::Bad),
                };
                kit::panel("my-cases", "My cases", body)
            }
        })
        .wide(),
    ]
}

/// How a case reached the agent, as the agent's form offers it (a subset of
/// [`crate::routes::CHANNELS`]: the others are set by their own channel).
const AGENT_CHANNELS: &[(&str, &str)] = &[
    ("phone", "Phone call"),
    ("email", "E-mail"),
    ("chat", "Chat"),
    ("agent", "In person (desk or lounge)"),
    ("social", "Social media"),
];

#[derive(Deserialize)]
struct NewCaseQuery {
    customer: Option<String>,
}

/// The agent's form to open a case for a customer: the current workflow's categories, the
/// channel the passenger used, the booking it concerns.
fn new_case_view(
    status: StatusCode,
    customer: CustomerId,
    categories: Vec<(String, String)>,
    form: &FormData,
    errors: &kit::FormErrors,
) -> Response {
    let channels = AGENT_CHANNELS
        .iter()
        .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
        .collect();
    let back = format!("/customers/{customer}?tab=cases");
    page(
        status,
        layout(
            "Open a case",
            SECTION,
            html! {
                (kit::page_header(&[Crumb { label: "Home", href: "/" }, Crumb { label: "Customer", href: &back }], "Open a case",
                    Some(html! { "A case about the same matter (customer, category, booking) that is still open takes this as a new message instead." }), None))
                (kit::error_summary(errors))
                form method="post" action="/cases/new" {
                    (csrf_field())
                    input type="hidden" name="customer_id" value=(customer);
                    (Field::new("category", "Category", FieldKind::Select(categories)).value(form.text("category")).required().render(errors))
                    (Field::new("channel", "How the passenger reached us", FieldKind::Select(channels)).value(form.text("channel")).required().render(errors))
                    (Field::text("booking_reference", "Booking reference").hint("The record locator, e.g. K7XQ2M; leave empty when the case is not about a booking").value(form.text("booking_reference")).render(errors))
                    (Field::text("subject", "Subject").value(form.text("subject")).required().render(errors))
                    (Field::new("description", "What the passenger told us", FieldKind::TextArea).value(form.text("description")).required().render(errors))
                    div.actions {
                        button type="submit" { "Open the case" }
                        " "
                        a href=(back) { "Cancel" }
                    }
                }
            },
        ),
    )
}

fn workflow_unavailable() -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        layout(
            "Open a case",
            SECTION,
            kit::notice(
                "Cases cannot be opened right now; try again shortly.",
                Tone::Bad,
            ),
        ),
    )
}

/// `GET /cases/new?customer=ID`: the form (linked from the customer's Cases tab).
async fn new_case_form(State(cases): State<Cases>, Query(q): Query<NewCaseQuery>) -> Response {
    let Some(customer) = q.customer.as_deref().and_then(CustomerId::parse) else {
        return kit::redirect_with_notice(
            "/customers",
            "Open a case from the customer's page: find the customer first.",
        );
    };
    let Ok(workflow) = cases.current_workflow().await else {
        return workflow_unavailable();
    };
    new_case_view(
        StatusCode::OK,
        customer,
        workflow.category_choices(),
        &FormData::from_pairs(vec![]),
        &kit::FormErrors::new(),
    )
}

/// `POST /cases/new`: opens the case (or adds to the open one about the same matter) and
/// shows it.
async fn create_case(State(cases): State<Cases>, ctx: AccessContext, form: FormData) -> Response {
    let Some(customer) = form
        .text("customer_id")
        .map(str::to_owned)
        .and_then(|c| CustomerId::parse(&c))
    else {
        return kit::redirect_with_notice("/customers", "Not done: find the customer first.");
    };
    let Ok(workflow) = cases.current_workflow().await else {
        return workflow_unavailable();
    };
    let categories = workflow.category_choices();
    let mut errors = kit::FormErrors::new();
    let category = form
        .text("category")
        .map(str::to_owned)
        .filter(|c| categories.iter().any(|(name, _)| name == c))
        .and_then(|c| Category::parse(&c));
    if category.is_none() {
        errors.add("category", "Choose one of the categories.");
    }
    let channel = form
        .text("channel")
        .map(str::to_owned)
        .filter(|c| AGENT_CHANNELS.iter().any(|(v, _)| v == c));
    if channel.is_none() {
        errors.add("channel", "Choose how the passenger reached us.");
    }
    let booking = form
        .text("booking_reference")
        .map(str::to_owned)
        .map(|b| b.to_ascii_uppercase());
    if let Some(b) = &booking
        && !((5..=8).contains(&b.len()) && b.chars().all(|c| c.is_ascii_alphanumeric()))
    {
        errors.add(
            "booking_reference",
            "Enter the record locator: 5 to 8 letters and digits.",
        );
    }
    let subject = form
        .text("subject")
        .map(str::to_owned)
        .filter(|s| s.chars().count() <= 200);
    if subject.is_none() {
        errors.add("subject", "Enter a subject of up to 200 characters.");
    }
    let description = form
        .text("description")
        .map(str::to_owned)
        .filter(|s| s.chars().count() <= 10_000);
    if description.is_none() {
        errors.add(
            "description",
            "Enter what the passenger told us (up to 10,000 characters).",
        );
    }
    let (Some(category), Some(channel), Some(subject), Some(description), true) =
        (category, channel, subject, description, errors.is_empty())
    else {
        return new_case_view(
            StatusCode::UNPROCESSABLE_ENTITY,
            customer,
            categories,
            &form,
            &errors,
        );
    };
    let new = NewCase {
        customer_id: customer,
        category,
        subject,
        description,
        channel,
        booking_reference: booking,
        queue: None,
        regulatory_deadline: None,
    };
    match cases.open(new, &ctx).await {
        Ok(Opened::New(c)) => kit::redirect_with_notice(
            &format!("/cases/{}", c.id),
            &format!("Case {} is open.", short_ref(&c.id)),
        ),
        Ok(Opened::Linked(c)) => kit::redirect_with_notice(
            &format!("/cases/{}", c.id),
            &format!(
                "Case {} about the same matter was open: the request joined it.",
                short_ref(&c.id)
            ),
        ),
        Err(CaseError::UnknownCustomer) => {
            errors.add("customer_id", "This customer is not known.");
            new_case_view(
                StatusCode::UNPROCESSABLE_ENTITY,
                customer,
                categories,
                &form,
                &errors,
            )
        }
        Err(_) => workflow_unavailable(),
    }
}
