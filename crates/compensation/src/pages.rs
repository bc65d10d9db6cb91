//! The customer affairs executive's pages: the approval queue, a proposal with its reasons and
//! legal sources (approve with the payment form, or reject), the disruptions and, per
//! disruption, its passengers → entitlements → status; and a "Compensation" tab on the
//! customer 360° page. Passengers appear by profile id and booking, never by name here: the
//! profile page, which audits its reads, shows who they are.

use aloft_authz::{Access, RoutePolicy};
use aloft_kernel::AccessContext;
use aloft_web::kit::{
    self, Column, Crumb, DataTable, Field, FieldKind, FormData, FormErrors, Tone,
};
use aloft_web::{Placement, RecordView, Section, csrf_field, layout, page};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use http::StatusCode;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use crate::events;
use crate::model::{Method, Status};
use crate::permissions::COMPENSATION_APPROVE;
use crate::service::{Compensation, DecideError, Disruption, Proposal};

/// The compensation section of the workspace (shared with the claim form of `aloft-rights`).
pub const SECTION: Section = Section::new("compensation");

const APPROVE: Access = Access::Permission(COMPENSATION_APPROVE);

/// Who may open each page.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new("GET", "/compensation/proposals", APPROVE),
    RoutePolicy::new("GET", "/compensation/proposals/{id}", APPROVE),
    RoutePolicy::new("POST", "/compensation/proposals/{id}/decision", APPROVE),
    RoutePolicy::new("GET", "/compensation/disruptions", APPROVE),
    RoutePolicy::new("GET", "/compensation/disruptions/{id}", APPROVE),
];

/// The page routes.
pub fn routes(service: Compensation) -> Router {
    Router::new()
        .route("/compensation/proposals", get(queue))
        .route("/compensation/proposals/{id}", get(detail))
        .route("/compensation/proposals/{id}/decision", post(decide))
        .route("/compensation/disruptions", get(disruptions))
        .route("/compensation/disruptions/{id}", get(disruption))
        .with_state(service)
}

const STATUSES: &[(&str, &str)] = &[
    ("pending", "Waiting for approval"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
    ("awaiting_facts", "Waiting for facts"),
    ("not_owed", "Nothing owed"),
];

fn status_badge(status: &str) -> Markup {
    let label = STATUSES
        .iter()
        .find(|(s, _)| *s == status)
        .map_or(status, |(_, l)| l);
    let tone = match status {
        "approved" => Tone::Good,
        "pending" => Tone::Warn,
        "awaiting_facts" => Tone::Info,
        "rejected" => Tone::Bad,
        _ => Tone::Neutral,
    };
    kit::badge(label, tone)
}

fn amount(p: &Proposal) -> Markup {
    match (&p.amount, &p.currency) {
        (Some(a), Some(c)) => html! { (a) " " (c) },
        _ => html! { "—" },
    }
}

fn crumbs() -> [Crumb<'static>; 1] {
    [Crumb {
        label: "Home",
        href: "/",
    }]
}

fn proposals_table(caption: &str, proposals: &[Proposal], with_flight: bool) -> Markup {
    let mut columns = vec![Column::new("Proposal"), Column::new("Passenger")];
    if with_flight {
        columns.push(Column::new("Flight"));
    }
    columns.extend([
        Column::new("Regime"),
        Column::new("Amount").numeric(),
        Column::new("Status"),
    ]);
    let rows = proposals
        .iter()
        .map(|p| {
            let mut row = vec![
                html! { a href=(format!("/compensation/proposals/{}", p.id)) { "Open " span.visually-hidden { "proposal " (p.id) } } },
                html! { a href=(format!("/customers/{}", p.customer_id)) { (p.record_locator.as_deref().unwrap_or("Profile")) } },
            ];
            if with_flight {
                row.push(html! { (p.flight) });
            }
            row.extend([
                html! { (p.regime) },
                amount(p),
                status_badge(&p.status),
            ]);
            row
        })
        .collect();
    DataTable::new(caption, columns).rows(rows).render()
}

/// Filter of the queue.
#[derive(Debug, Deserialize)]
struct QueueParams {
    status: Option<String>,
}

/// `GET /compensation/proposals`: the approval queue (pending by default), oldest first.
async fn queue(State(s): State<Compensation>, Query(q): Query<QueueParams>) -> Response {
    let status = q
        .status
        .as_deref()
        .and_then(Status::parse)
        .unwrap_or(Status::Pending);
    let proposals = match s.queue(status, 200).await {
        Ok(p) => p,
        Err(_) => return unavailable(),
    };
    let options = STATUSES
        .iter()
        .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
        .collect();
    let filter = kit::filter_bar(
        "/compensation/proposals",
        "Filter proposals",
        Field::new("status", "Status", FieldKind::Select(options))
            .value(Some(status.as_str()))
            .render(&FormErrors::new()),
        "/compensation/proposals",
    );
    page(
        StatusCode::OK,
        layout(
            "Compensation proposals",
            SECTION,
            html! {
                (kit::page_header(&crumbs(), "Compensation proposals",
                    Some(html! { "Proposals made from flight disruptions; amounts above the automatic limit wait here for approval." }),
                    Some(html! { a href="/compensation/disruptions" { "Disruptions" } })))
                (filter)
                @if proposals.is_empty() {
                    (kit::empty_state("No proposals", "Nothing in this status. Proposals appear when a flight disruption is reported.", None))
                } @else {
                    (proposals_table("Proposals, oldest first", &proposals, true))
                }
            },
        ),
    )
}

fn decision_body(decision: &Value) -> Markup {
    let list = |k: &str| -> Vec<String> {
        decision
            .get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let reductions = list("reductions");
    html! {
        (kit::facts(&[
            ("Distance", kit::or_dash(decision.get("distance_km").and_then(Value::as_u64).map(|k| format!("{k} km")))),
            ("Reductions", kit::or_dash((!reductions.is_empty()).then(|| reductions.join(", ")))),
        ]))
        h2 { "Why" }
        ol { @for r in list("reasons") { li { (r) } } }
        h2 { "Sources" }
        ul.citations { @for c in list("citations") { li { (c) } } }
    }
}

fn detail_page(status: StatusCode, p: &Proposal, form: &FormData, errors: &FormErrors) -> Response {
    let v = |n: &str| form.text(n).map(str::to_owned);
    let methods = [
        ("cash", "Money"),
        ("voucher", "Travel voucher"),
        ("miles", "Miles"),
    ]
    .iter()
    .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
    .collect();
    let title = format!("{} · {}", p.flight, p.regime);
    page(
        status,
        layout(
            &title,
            SECTION,
            html! {
                (kit::page_header(
                    &[crumbs()[0], Crumb { label: "Compensation proposals", href: "/compensation/proposals" }],
                    &title,
                    Some(html! { "Compensation proposal " (status_badge(&p.status)) }),
                    None,
                ))
                (kit::facts(&[
                    ("Passenger", html! { a href=(format!("/customers/{}", p.customer_id)) { "Open the profile" } }),
                    ("Booking", kit::or_dash(p.record_locator.as_deref())),
                    ("Flight", html! {
                        @if p.from_claim() { (p.flight) " (the passenger's own claim: cause not known, facts as they stated)" }
                        @else { a href=(format!("/compensation/disruptions/{}", p.disruption_id)) { (p.flight) } }
                    }),
                    ("Amount", amount(p)),
                    ("Paid as", kit::or_dash(p.method.as_deref())),
                    ("Decided by", kit::or_dash(p.decided_by.as_deref())),
                    ("Decided at", kit::or_dash(p.decided_at.map(|t| t.format("%Y-%m-%d %H:%M UTC")))),
                ]))
                (decision_body(&p.decision))
                @if p.status == Status::Pending.as_str() {
                    section aria-labelledby="decide-title" {
                        h2 #decide-title { "Decide" }
                        form method="post" action=(format!("/compensation/proposals/{}/decision", p.id)) novalidate {
                            (csrf_field())
                            (kit::error_summary(errors))
                            input type="hidden" name="decision" value="approve";
                            (Field::new("method", "Pay as", FieldKind::Select(methods)).value(v("method")).hint("Vouchers and miles only with the passenger's signed agreement (Regulation (EC) No 261/2004, Art. 7(3)).").render(errors))
                            (Field::new("passenger_agreed", "The passenger agreed in writing to a voucher or miles", FieldKind::Checkbox).value(form.checked("passenger_agreed").then_some("on")).render(errors))
                            button type="submit" { "Approve and instruct payment" }
                        }
                        (kit::confirm_button(
                            &format!("/compensation/proposals/{}/decision", p.id),
                            "Reject",
                            "Reject this proposal? The passenger is not paid.",
                            &[("decision", "reject")],
                        ))
                    }
                }
            },
        ),
    )
}

/// `GET /compensation/proposals/{id}`: the proposal, its reasons and sources, the decision form.
async fn detail(
    State(s): State<Compensation>,
    ctx: AccessContext,
    Path(id): Path<String>,
) -> Response {
    match s.proposal(&id).await {
        Ok(Some(p)) => {
            if s.audit_read(&ctx, &p.customer_id).await.is_err() {
                return unavailable();
            }
            detail_page(
                StatusCode::OK,
                &p,
                &FormData::from_pairs(vec![]),
                &FormErrors::new(),
            )
        }
        Ok(None) => not_found(),
        Err(_) => unavailable(),
    }
}

/// `POST /compensation/proposals/{id}/decision`: approve (with the payment form) or reject.
async fn decide(
    State(s): State<Compensation>,
    ctx: AccessContext,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let approve = form.text("decision") != Some("reject");
    let method = form
        .text("method")
        .and_then(Method::parse)
        .unwrap_or(Method::Cash);
    let at = format!("/compensation/proposals/{id}");
    match s
        .decide(&ctx, &id, approve, method, form.checked("passenger_agreed"))
        .await
    {
        Ok(_) if approve => {
            kit::redirect_with_notice(&at, "Approved: payment instructed, passenger notified.")
        }
        Ok(_) => kit::redirect_with_notice(&at, "Rejected."),
        Err(DecideError::Method(m)) => match s.proposal(&id).await {
            Ok(Some(p)) => {
                let mut errors = FormErrors::new();
                errors.add("method", capitalise(m));
                detail_page(StatusCode::UNPROCESSABLE_ENTITY, &p, &form, &errors)
            }
            _ => unavailable(),
        },
        Err(DecideError::NotPending(_)) => {
            kit::redirect_with_notice(&at, "Already decided: nothing changed.")
        }
        Err(DecideError::NotFound) => not_found(),
        Err(DecideError::Storage(_)) => unavailable(),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect::<String>() + ".")
        .unwrap_or_default()
}

/// `GET /compensation/disruptions`: the newest disruptions reported.
async fn disruptions(State(s): State<Compensation>) -> Response {
    let Ok(list) = s.disruptions(100).await else {
        return unavailable();
    };
    let rows = list
        .iter()
        .map(|d| {
            vec![
                html! { a href=(format!("/compensation/disruptions/{}", d.id)) { (d.flight) } },
                html! { (d.kind) },
                html! { (d.cause.replace('_', " ")) },
                html! { (d.received_at.format("%Y-%m-%d %H:%M UTC")) },
                html! { (d.replays) },
            ]
        })
        .collect();
    page(
        StatusCode::OK,
        layout(
            "Flight disruptions",
            SECTION,
            html! {
                (kit::page_header(
                    &[crumbs()[0], Crumb { label: "Compensation proposals", href: "/compensation/proposals" }],
                    "Flight disruptions",
                    Some(html! { "Each reported disruption, with the passengers it affects and what they are owed." }),
                    None,
                ))
                @if list.is_empty() {
                    (kit::empty_state("No disruptions", "Operations report delays and cancellations through the API (POST /api/v1/compensation/disruptions).", None))
                } @else {
                    (DataTable::new("Disruptions, newest first", vec![
                        Column::new("Flight"), Column::new("Kind"), Column::new("Cause"),
                        Column::new("Received"), Column::new("Replays").numeric(),
                    ]).rows(rows).render())
                }
            },
        ),
    )
}

fn disruption_page(d: &Disruption, proposals: &[Proposal]) -> Response {
    let count = |s: Status| proposals.iter().filter(|p| p.status == s.as_str()).count();
    let passengers = proposals
        .iter()
        .map(|p| p.customer_id.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let title = format!("{} · {}", d.flight, d.kind);
    page(
        StatusCode::OK,
        layout(
            &title,
            SECTION,
            html! {
                (kit::page_header(
                    &[crumbs()[0], Crumb { label: "Flight disruptions", href: "/compensation/disruptions" }],
                    &title,
                    Some(html! { "Cause: " (d.cause.replace('_', " ")) }),
                    None,
                ))
                (kit::stats(&[
                    ("Passengers", passengers.to_string(), None),
                    ("Approved", count(Status::Approved).to_string(), None),
                    ("Waiting for approval", count(Status::Pending).to_string(), None),
                    ("Waiting for facts", count(Status::AwaitingFacts).to_string(), None),
                    ("Nothing owed", count(Status::NotOwed).to_string(), None),
                ]))
                @if proposals.is_empty() {
                    (kit::empty_state("No passengers", "No booking on this flight was found.", None))
                } @else {
                    (proposals_table("Passengers → entitlements → status", proposals, false))
                }
            },
        ),
    )
}

/// `GET /compensation/disruptions/{id}`: flight → passengers → entitlements → status.
async fn disruption(State(s): State<Compensation>, Path(id): Path<String>) -> Response {
    match s.disruption(&id).await {
        Ok(Some((d, proposals))) => disruption_page(&d, &proposals),
        Ok(None) => not_found(),
        Err(_) => unavailable(),
    }
}

/// The "Compensation" tab of the customer 360° page.
pub fn record_views(service: Compensation) -> Vec<RecordView> {
    vec![RecordView::new(
        "customer",
        "compensation",
        "Compensation",
        APPROVE,
        60,
        Placement::Tab,
        move |principal, id, _| {
            let s = service.clone();
            async move {
                let Some(customer) = aloft_customers::CustomerId::parse(&id) else {
                    return kit::notice("Not a customer id.", Tone::Bad);
                };
                let ctx = AccessContext {
                    actor: aloft_kernel::Actor {
                        id: principal.subject.clone(),
                        role: principal.role.to_owned(),
                    },
                    request_id: uuid::Uuid::now_v7().to_string(),
                    client_address: None,
                    purpose: None,
                };
                if s.audit_read(&ctx, &id).await.is_err() {
                    return kit::notice(
                        "Compensation history is unavailable right now.",
                        Tone::Bad,
                    );
                }
                match s.of_customer(customer).await {
                    Ok(list) if list.is_empty() => kit::empty_state(
                        "No compensation",
                        "No disruption has given this passenger a claim.",
                        None,
                    ),
                    Ok(list) => proposals_table("Compensation, newest first", &list, true),
                    Err(_) => {
                        kit::notice("Compensation history is unavailable right now.", Tone::Bad)
                    }
                }
            }
        },
    )]
}

fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        layout(
            "Not found",
            SECTION,
            kit::empty_state("Not found", "There is no such compensation record.", None),
        ),
    )
}

fn unavailable() -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        layout(
            "Unavailable",
            SECTION,
            kit::notice(
                "Compensation data is unavailable right now; try again shortly.",
                Tone::Bad,
            ),
        ),
    )
}

/// Audit action used when a passenger's proposals are shown.
pub(crate) const READ: aloft_kernel::audit::AuditAction = events::audit::PROPOSALS_READ;
