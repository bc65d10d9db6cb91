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
    RoutePolicy::new("POST", "/compensation/proposals/{id}/facts", APPROVE),
    RoutePolicy::new("GET", "/compensation/disruptions", APPROVE),
    RoutePolicy::new("GET", "/compensation/disruptions/{id}", APPROVE),
];

/// The page routes.
pub fn routes(service: Compensation) -> Router {
    Router::new()
        .route("/compensation/proposals", get(queue))
        .route("/compensation/proposals/{id}", get(detail))
        .route("/compensation/proposals/{id}/decision", post(decide))
        .route("/compensation/proposals/{id}/facts", post(complete_facts))
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
                        @let agreed_hint = p.method_agreed_at.as_deref().map(|t| format!("The passenger chose this in self-service on {} UTC.", t.get(..16).unwrap_or("").replace('T', " "))).unwrap_or_default();
                        form method="post" action=(format!("/compensation/proposals/{}/decision", p.id)) novalidate {
                            (csrf_field())
                            (kit::error_summary(errors))
                            input type="hidden" name="decision" value="approve";
                            (Field::new("method", "Pay as", FieldKind::Select(methods)).value(v("method").or_else(|| p.preferred_method.clone())).hint("Vouchers and miles only with the passenger's signed agreement (Regulation (EC) No 261/2004, Art. 7(3)).").render(errors))
                            @let agreed = Field::new("passenger_agreed", "The passenger agreed in writing to a voucher or miles", FieldKind::Checkbox).value((form.checked("passenger_agreed") || (form.pairs().is_empty() && p.method_agreed_at.is_some())).then_some("on"));
                            @let agreed = if agreed_hint.is_empty() { agreed } else { agreed.hint(&agreed_hint) };
                            (agreed.render(errors))
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
                @if p.status == Status::AwaitingFacts.as_str() {
                    section aria-labelledby="facts-title" {
                        h2 #facts-title { "Record the final arrival" }
                        p { "When the passenger reached their final destination, the journey is judged again as a whole." }
                        form method="post" action=(format!("/compensation/proposals/{}/facts", p.id)) novalidate {
                            (csrf_field())
                            (kit::error_summary(errors))
                            (Field::new("final_arrival", "Reached the final destination (UTC)", FieldKind::Input("datetime-local")).value(v("final_arrival")).required().render(errors))
                            button type="submit" { "Judge the journey" }
                        }
                    }
                }
            },
        ),
    )
}

/// `POST /compensation/proposals/{id}/facts`: the final arrival of a passenger who missed a
/// connection; the journey judged again, or the form with the field named.
async fn complete_facts(
    State(s): State<Compensation>,
    ctx: AccessContext,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let at = format!("/compensation/proposals/{id}");
    let arrival = form
        .text("final_arrival")
        .and_then(|t| chrono::NaiveDateTime::parse_from_str(t.trim(), "%Y-%m-%dT%H:%M").ok())
        .map(|t| t.and_utc().fixed_offset());
    let Some(arrival) = arrival else {
        return match s.proposal(&id).await {
            Ok(Some(p)) => {
                let mut errors = FormErrors::new();
                errors.add(
                    "final_arrival",
                    "Enter the date and time (UTC) the passenger arrived.",
                );
                detail_page(StatusCode::UNPROCESSABLE_ENTITY, &p, &form, &errors)
            }
            Ok(None) => not_found(),
            Err(_) => unavailable(),
        };
    };
    match s.complete_facts(&ctx, &id, arrival).await {
        Ok(made) => match made.first() {
            Some(first) => kit::redirect_with_notice(
                &format!("/compensation/proposals/{}", first.id),
                "Judged with the final arrival.",
            ),
            None => kit::redirect_with_notice(&at, "Judged: no regime applies."),
        },
        Err(DecideError::NotFound) => not_found(),
        Err(DecideError::Storage(_)) => unavailable(),
        Err(_) => kit::redirect_with_notice(&at, "Already judged: nothing changed."),
    }
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
        Err(DecideError::NotPending(_) | DecideError::NotAwaitingFacts(_)) => {
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
                let claims = if principal.can(aloft_rights::routes::COMPENSATION_EVALUATE) {
                    claim_links(&s, customer).await
                } else {
                    html! {}
                };
                let history = match (s.of_customer(customer).await, s.goodwill_of(customer).await) {
                    (Ok(list), Ok(goodwill)) if list.is_empty() && goodwill.is_empty() => {
                        kit::empty_state(
                            "No compensation",
                            "No disruption has given this passenger a claim.",
                            None,
                        )
                    }
                    (Ok(list), Ok(goodwill)) => html! {
                        @if !list.is_empty() {
                            (proposals_table("Compensation, newest first", &list, true))
                        }
                        @if !goodwill.is_empty() {
                            (DataTable::new("Goodwill given, newest first", vec![
                                Column::new("Flight"), Column::new("Benefit"), Column::new("Amount").numeric(), Column::new("Policy rule"),
                            ])
                            .rows(goodwill.iter().map(|(flight, benefit, amount, currency, rule)| vec![
                                html! { (flight) },
                                html! { (benefit.replace('_', " ")) },
                                html! { (amount.as_deref().unwrap_or("—")) " " (currency.as_deref().unwrap_or("")) },
                                html! { (rule) },
                            ]).collect())
                            .render())
                        }
                    },
                    _ => kit::notice("Compensation history is unavailable right now.", Tone::Bad),
                };
                html! { (history) (claims) }
            }
        },
    )]
}

/// Compensation on the customer's timeline: each proposal at the time it was made (status,
/// amount, the reasons), and each goodwill award — audited as the compensation tab's read.
pub fn timeline_sources(service: Compensation) -> Vec<aloft_web::TimelineSource> {
    vec![aloft_web::TimelineSource::new(
        "compensation",
        "Compensation",
        APPROVE,
        move |principal, id, after, before, limit| {
            let s = service.clone();
            async move {
                let Some(customer) = aloft_customers::CustomerId::parse(&id) else {
                    return Vec::new();
                };
                let in_window = |t: chrono::DateTime<chrono::Utc>| {
                    after.is_none_or(|a| t > a) && before.is_none_or(|b| t <= b)
                };
                let Ok(proposals) = s.of_customer(customer).await else {
                    return Vec::new();
                };
                let proposals: Vec<Proposal> = proposals
                    .into_iter()
                    .filter(|p| in_window(p.created_at))
                    .take(limit)
                    .collect();
                if proposals.is_empty() {
                    return Vec::new();
                }
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
                    return Vec::new();
                }
                proposals
                    .into_iter()
                    .map(|p| {
                        let label = STATUSES
                            .iter()
                            .find(|(k, _)| *k == p.status)
                            .map_or(p.status.as_str(), |(_, l)| l);
                        let title = match (&p.amount, &p.currency) {
                            (Some(a), Some(c)) => format!("Compensation {}: {a} {c}", p.regime),
                            _ => format!("Compensation {}", p.regime),
                        };
                        let item = kit::FeedItem {
                            when: p.created_at.format("%a %e %b %Y, %H:%M UTC").to_string(),
                            datetime: p.created_at.to_rfc3339(),
                            title,
                            badges: vec![status_badge(&p.status)],
                            meta: Some(format!("{} · {label}", p.flight)),
                            details: Some(html! {
                                (decision_body(&p.decision))
                                p { a href=(format!("/compensation/proposals/{}", p.id)) { "Open the proposal" } }
                            }),
                            kind: "compensation",
                        };
                        (p.created_at, item)
                    })
                    .collect()
            }
        },
    )]
}

/// The passenger's flights of the last two years, each linking to the claim form prefilled
/// from the booking (with the next leg of the same booking as the connection, judged as one
/// journey) — the agent's way to answer "am I owed anything?" on the phone.
async fn claim_links(s: &Compensation, customer: aloft_customers::CustomerId) -> Markup {
    let now = chrono::Utc::now();
    let Ok(mut flights) = s
        .travel()
        .customer_flights(customer, now - chrono::Duration::days(730), now)
        .await
    else {
        return html! {};
    };
    flights.reverse();
    flights.dedup_by(|a, b| a.flight == b.flight);
    flights.truncate(10);
    let carriers = &s.settings().carriers;
    let rows: Vec<Vec<Markup>> = flights
        .iter()
        .filter_map(|f| {
            let segments = f.booking.get("segments")?.as_array()?;
            let (number, date) = f.flight.split_once(' ')?;
            let at = segments.iter().position(|seg| {
                seg.get("flight_number").and_then(Value::as_str) == Some(number)
                    && seg
                        .get("scheduled_departure_local")
                        .and_then(Value::as_str)
                        .and_then(|t| t.get(..10))
                        == Some(date)
            })?;
            let text = |seg: &Value, k: &str| {
                seg.get(k).and_then(Value::as_str).unwrap_or("").to_owned()
            };
            let local = |seg: &Value, k: &str| text(seg, k).get(..16).unwrap_or("").to_owned();
            let seg = &segments[at];
            let mut query = vec![
                ("flight", number.to_owned()),
                ("from", text(seg, "origin")),
                ("to", text(seg, "destination")),
                ("cabin", text(seg, "cabin")),
                ("scheduled_departure", local(seg, "scheduled_departure_local")),
                ("scheduled_arrival", local(seg, "scheduled_arrival_local")),
            ];
            if let Some(c) = carriers.iter().find(|c| number.get(..2) == Some(c.code.as_str())) {
                query.push(("carrier_country", c.country.clone()));
                query.push(("carrier_size", if c.large { "large" } else { "small" }.into()));
            }
            if let Some(next) = segments.get(at + 1) {
                query.extend([
                    ("flight2", text(next, "flight_number")),
                    ("to2", text(next, "destination")),
                    ("scheduled_departure2", local(next, "scheduled_departure_local")),
                    ("scheduled_arrival2", local(next, "scheduled_arrival_local")),
                ]);
            }
            let href = format!("/compensation/claim?{}", query_string(&query));
            Some(vec![
                html! { (f.flight) },
                html! { (text(seg, "origin")) " → " (text(seg, "destination")) },
                html! { a href=(href) { "Evaluate a claim " span.visually-hidden { "for " (f.flight) } } },
            ])
        })
        .collect();
    if rows.is_empty() {
        return html! {};
    }
    DataTable::new(
        "Flights of the last two years: evaluate a claim",
        vec![
            Column::new("Flight"),
            Column::new("Route"),
            Column::new("Claim"),
        ],
    )
    .rows(rows)
    .render()
}

/// `a=1&b=x%20y`: RFC 3986 unreserved characters as they are, everything else escaped.
fn query_string(pairs: &[(&str, String)]) -> String {
    let escape = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
        .collect::<Vec<_>>()
        .join("&")
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

/// Who may open the goodwill policy editor.
pub const GOODWILL_POLICY_PAGES: &[RoutePolicy] = &[
    RoutePolicy::new("GET", "/compensation/goodwill", GOODWILL),
    RoutePolicy::new("POST", "/compensation/goodwill", GOODWILL),
    RoutePolicy::new(
        "POST",
        "/compensation/goodwill/{version}/simulation",
        GOODWILL,
    ),
    RoutePolicy::new(
        "POST",
        "/compensation/goodwill/{version}/publication",
        GOODWILL,
    ),
];

const GOODWILL: Access = Access::Permission(crate::permissions::GOODWILL_POLICY);

/// The goodwill editor's routes.
pub fn goodwill_routes(service: Compensation) -> Router {
    Router::new()
        .route(
            "/compensation/goodwill",
            get(goodwill_page).post(goodwill_save),
        )
        .route(
            "/compensation/goodwill/{version}/simulation",
            post(goodwill_simulate),
        )
        .route(
            "/compensation/goodwill/{version}/publication",
            post(goodwill_publish),
        )
        .with_state(service)
}

/// Which version the editor shows.
#[derive(Debug, Deserialize)]
struct VersionParams {
    version: Option<i64>,
}

const BENEFIT_LABELS: &[(&str, &str)] = &[
    ("miles", "Miles"),
    ("voucher", "Travel voucher"),
    ("meal_voucher", "Meal voucher"),
    ("lounge_access", "Lounge access"),
];

fn benefit_text(r: &crate::goodwill::Row) -> String {
    let label = BENEFIT_LABELS
        .iter()
        .find(|(k, _)| *k == r.benefit)
        .map_or(r.benefit.as_str(), |(_, l)| l);
    match (&r.amount, &r.currency) {
        (Some(a), Some(c)) => format!("{label}: {a} {c}"),
        (Some(a), None) => format!("{label}: {a}"),
        _ => label.to_owned(),
    }
}

fn delay_text(r: &crate::goodwill::Row) -> String {
    let h = |m: i64| {
        if m % 60 == 0 {
            format!("{} h", m / 60)
        } else {
            format!("{m} min")
        }
    };
    match (r.min_delay_minutes, r.max_delay_minutes) {
        (None, None) => "Any".into(),
        (Some(a), None) => format!("{} or more", h(a)),
        (None, Some(b)) => format!("under {}", h(b)),
        (Some(a), Some(b)) => format!("{} to under {}", h(a), h(b)),
    }
}

fn table_view(caption: &str, table: &crate::goodwill::Table) -> Markup {
    let or_any = |v: &[String]| {
        if v.is_empty() {
            "Any".to_owned()
        } else {
            v.join(", ")
        }
    };
    let rows = table
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            vec![
                html! { (i + 1) },
                html! { (r.name) },
                html! { (or_any(&r.tiers)) },
                html! { (or_any(&r.kinds)) },
                html! { (delay_text(r)) },
                html! { (match r.legally_owed { None => "Either", Some(true) => "Yes", Some(false) => "No" }) },
                html! { (benefit_text(r)) },
            ]
        })
        .collect();
    DataTable::new(
        caption,
        vec![
            Column::new("#").numeric(),
            Column::new("Rule"),
            Column::new("Tiers"),
            Column::new("Disruption"),
            Column::new("Delay at destination"),
            Column::new("Owed by law"),
            Column::new("Gives"),
        ],
    )
    .rows(rows)
    .render()
}

fn simulation_view(s: &crate::goodwill::Simulation) -> Markup {
    let costs: std::collections::BTreeSet<&String> =
        s.cost.keys().chain(s.cost_now.keys()).collect();
    html! {
        (kit::stats(&[
            ("Passengers replayed", s.passengers.to_string(), None),
            ("Would receive goodwill", s.awarded.to_string(), Some("under this version")),
            ("Receive it now", s.awarded_now.to_string(), Some("under the version in force")),
            ("Awards that change", s.changed.to_string(), None),
        ]))
        (DataTable::new("Cost over past disruptions", vec![Column::new("Benefit"), Column::new("In force").numeric(), Column::new("This version").numeric()])
            .rows(costs.into_iter().map(|k| vec![
                html! { (k.replace('_', " ")) },
                html! { (s.cost_now.get(k).map_or("0", String::as_str)) },
                html! { (s.cost.get(k).map_or("0", String::as_str)) },
            ]).collect())
            .render())
    }
}

fn editor(start: &crate::goodwill::Table, form: Option<&FormData>, errors: &FormErrors) -> Markup {
    let select = |pairs: &[(&str, &str)]| {
        FieldKind::Select(
            pairs
                .iter()
                .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
                .collect(),
        )
    };
    let rows = start.rows.len() + 2;
    html! {
        form.claim-form.goodwill-editor method="post" action="/compensation/goodwill" novalidate {
            (csrf_field())
            (kit::error_summary(errors))
            p { "Rows are read top to bottom: for each kind of benefit, the first row that matches gives it. Leave a row's name empty to drop it." }
            @for i in 0..rows {
                @let r = start.rows.get(i);
                @let v = |name: &str, from_row: Option<String>| -> Option<String> {
                    match form { Some(f) => f.text(&format!("{name}_{i}")).map(str::to_owned), None => from_row }
                };
                fieldset.goodwill-row {
                    legend { "Row " (i + 1) }
                    (Field::text(&format!("name_{i}"), "Rule name").value(v("name", r.map(|r| r.name.clone()))).render(errors))
                    (Field::text(&format!("tiers_{i}"), "Tiers").hint("Comma-separated (blue, silver, gold, platinum, none); empty for all").value(v("tiers", r.map(|r| r.tiers.join(", ")))).render(errors))
                    (Field::new(&format!("kinds_{i}"), "Disruption", select(&[("", "Any"), ("delay", "Delay"), ("cancellation", "Cancellation")])).value(v("kinds", r.map(|r| r.kinds.join(",")))).render(errors))
                    (Field::new(&format!("min_{i}"), "Delay at least (minutes)", FieldKind::Input("number")).value(v("min", r.and_then(|r| r.min_delay_minutes).map(|m| m.to_string()))).render(errors))
                    (Field::new(&format!("max_{i}"), "Delay under (minutes)", FieldKind::Input("number")).value(v("max", r.and_then(|r| r.max_delay_minutes).map(|m| m.to_string()))).render(errors))
                    (Field::new(&format!("owed_{i}"), "Owed by law", select(&[("", "Either"), ("yes", "Yes"), ("no", "No")])).value(v("owed", r.and_then(|r| r.legally_owed).map(|o| if o { "yes".into() } else { "no".into() }))).render(errors))
                    (Field::new(&format!("benefit_{i}"), "Gives", select(&[("miles", "Miles"), ("voucher", "Travel voucher"), ("meal_voucher", "Meal voucher"), ("lounge_access", "Lounge access")])).value(v("benefit", r.map(|r| r.benefit.clone()))).render(errors))
                    (Field::text(&format!("amount_{i}"), "Amount").hint("Miles, or the voucher's amount; empty for lounge access").value(v("amount", r.and_then(|r| r.amount.clone()))).render(errors))
                    (Field::text(&format!("currency_{i}"), "Currency").hint("For vouchers: EUR, GBP…").value(v("currency", r.and_then(|r| r.currency.clone()))).render(errors))
                }
            }
            (Field::text("note", "Why this change").value(form.and_then(|f| f.text("note")).map(str::to_owned)).render(errors))
            button type="submit" { "Save as a new version" }
        }
    }
}

/// The table a submitted editor form describes (rows without a name are dropped).
fn table_json(form: &FormData) -> serde_json::Value {
    let mut rows = Vec::new();
    for i in 0..=crate::goodwill::MAX_ROWS + 2 {
        let t = |k: &str| {
            form.text(&format!("{k}_{i}"))
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let Some(name) = t("name") else { continue };
        let num = |k: &str| {
            t(k).map(|v| {
                v.parse::<i64>()
                    .map(serde_json::Value::from)
                    .unwrap_or_else(|_| serde_json::json!(v))
            })
        };
        rows.push(serde_json::json!({
            "name": name,
            "tiers": t("tiers").map(|s| s.split(',').map(|x| x.trim().to_ascii_lowercase()).filter(|x| !x.is_empty()).collect::<Vec<_>>()).unwrap_or_default(),
            "kinds": t("kinds").map(|k| vec![k.to_owned()]).unwrap_or_default(),
            "min_delay_minutes": num("min"),
            "max_delay_minutes": num("max"),
            "legally_owed": t("owed").map(|o| o == "yes"),
            "benefit": t("benefit").unwrap_or(""),
            "amount": t("amount"),
            "currency": t("currency").map(str::to_ascii_uppercase),
        }));
    }
    serde_json::json!({"rows": rows})
}

/// `/rows/3/amount` → form field `amount_3` (the JSON row index is the position among the
/// named rows, which the form numbers the same way only when no row was left blank before it;
/// `names` maps one to the other).
fn field_of_pointer(pointer: &str, names: &[usize]) -> String {
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["rows", i, k] => {
            let at = i
                .parse::<usize>()
                .ok()
                .and_then(|i| names.get(i).copied())
                .unwrap_or(0);
            let k = match *k {
                "min_delay_minutes" => "min",
                "max_delay_minutes" => "max",
                "legally_owed" => "owed",
                other => other,
            };
            format!("{k}_{at}")
        }
        _ => "name_0".into(),
    }
}

async fn goodwill_render(
    s: &Compensation,
    status: StatusCode,
    shown: Option<i64>,
    form: Option<&FormData>,
    errors: &FormErrors,
) -> Response {
    let (versions, in_force) = match (s.goodwill_versions().await, s.published_goodwill().await) {
        (Ok(v), Ok(p)) => (v, p),
        _ => return unavailable(),
    };
    let shown = shown
        .and_then(|n| versions.iter().find(|v| v.version == n))
        .or_else(|| versions.iter().find(|v| v.state == "draft"))
        .or(in_force.as_ref());
    let start = shown
        .map(|v| v.table.clone())
        .unwrap_or_else(crate::goodwill::default_table);
    let body = html! {
        (kit::page_header(&crumbs(), "Goodwill policy",
            Some(html! { "What the airline gives on top of the law. Edit, simulate on past disruptions, then publish: a published version applies to disruptions processed from then on." }),
            None))
        section aria-labelledby="in-force" {
            h2 #in-force { "In force" }
            @match &in_force {
                Some(v) => {
                    p { "Version " (v.version) ", published " (v.published_at.as_deref().and_then(|t| t.get(..16)).unwrap_or("").replace('T', " ")) " UTC by " (v.published_by.as_deref().unwrap_or("—")) "." }
                    (table_view("Rules in force", &v.table))
                }
                None => (kit::notice("No goodwill policy is published: disruptions give only what the law owes. The editor below starts from a suggested policy.", Tone::Warn)),
            }
        }
        @if let Some(v) = shown.filter(|v| v.state == "draft") {
            section aria-labelledby="draft" {
                h2 #draft { "Draft version " (v.version) }
                @if let Some(n) = &v.note { p { (n) } }
                (table_view(&format!("Rules of version {}", v.version), &v.table))
                @match &v.simulation {
                    Some(sim) => {
                        h3 { "Simulation on past disruptions" }
                        (simulation_view(sim))
                    }
                    None => p { "Simulate this version before publishing it." },
                }
                div.actions {
                    form method="post" action=(format!("/compensation/goodwill/{}/simulation", v.version)) {
                        (csrf_field())
                        button.secondary type="submit" { "Simulate on past disruptions" }
                    }
                    @if v.simulation.is_some() {
                        form method="post" action=(format!("/compensation/goodwill/{}/publication", v.version)) {
                            (csrf_field())
                            button type="submit" { "Publish version " (v.version) }
                        }
                    }
                }
            }
        }
        section aria-labelledby="edit" {
            h2 #edit { "Edit" }
            (editor(&start, form, errors))
        }
        section aria-labelledby="versions" {
            h2 #versions { "Versions" }
            (DataTable::new("Every version", vec![Column::new("Version").numeric(), Column::new("State"), Column::new("Saved by"), Column::new("Saved"), Column::new("Note")])
                .rows(versions.iter().map(|v| vec![
                    html! { a href=(format!("/compensation/goodwill?version={}", v.version)) { (v.version) } },
                    kit::badge(&v.state, match v.state.as_str() { "published" => Tone::Good, "draft" => Tone::Info, _ => Tone::Neutral }),
                    html! { (v.created_by) },
                    html! { (v.created_at.get(..16).unwrap_or("").replace('T', " ")) },
                    kit::or_dash(v.note.as_deref()),
                ]).collect())
                .render())
        }
    };
    page(status, layout("Goodwill policy", SECTION, body))
}

/// `GET /compensation/goodwill`.
async fn goodwill_page(State(s): State<Compensation>, Query(q): Query<VersionParams>) -> Response {
    goodwill_render(&s, StatusCode::OK, q.version, None, &FormErrors::new()).await
}

/// `POST /compensation/goodwill`: a new draft, or the editor with every bad field named.
async fn goodwill_save(
    State(s): State<Compensation>,
    ctx: AccessContext,
    form: FormData,
) -> Response {
    let doc = table_json(&form);
    let names: Vec<usize> = (0..=crate::goodwill::MAX_ROWS + 2)
        .filter(|i| {
            form.text(&format!("name_{i}"))
                .is_some_and(|n| !n.trim().is_empty())
        })
        .collect();
    match crate::goodwill::parse(&doc) {
        Ok(table) => match s.save_goodwill(&ctx, &table, form.text("note")).await {
            Ok(v) => kit::redirect_with_notice(
                &format!("/compensation/goodwill?version={v}"),
                &format!("Version {v} saved as a draft. Simulate it before publishing."),
            ),
            Err(_) => unavailable(),
        },
        Err(problems) => {
            let mut errors = FormErrors::new();
            for p in problems {
                errors.add(&field_of_pointer(&p.pointer, &names), p.detail);
            }
            goodwill_render(
                &s,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(&form),
                &errors,
            )
            .await
        }
    }
}

/// `POST /compensation/goodwill/{version}/simulation`.
async fn goodwill_simulate(
    State(s): State<Compensation>,
    ctx: AccessContext,
    Path(v): Path<i64>,
) -> Response {
    match s.simulate_goodwill(&ctx, v).await {
        Ok(sim) => kit::redirect_with_notice(
            &format!("/compensation/goodwill?version={v}"),
            &format!("Simulated on {} past passengers.", sim.passengers),
        ),
        Err(crate::policy::PolicyError::Storage(_)) => unavailable(),
        Err(e) => kit::redirect_with_notice(
            &format!("/compensation/goodwill?version={v}"),
            &e.to_string(),
        ),
    }
}

/// `POST /compensation/goodwill/{version}/publication`.
async fn goodwill_publish(
    State(s): State<Compensation>,
    ctx: AccessContext,
    Path(v): Path<i64>,
) -> Response {
    match s.publish_goodwill(&ctx, v).await {
        Ok(_) => kit::redirect_with_notice(
            "/compensation/goodwill",
            &format!("Version {v} is in force."),
        ),
        Err(crate::policy::PolicyError::Storage(_)) => unavailable(),
        Err(e) => kit::redirect_with_notice(
            &format!("/compensation/goodwill?version={v}"),
            &e.to_string(),
        ),
    }
}

const SETTINGS: Access = Access::Permission(crate::permissions::COMPENSATION_SETTINGS);

/// Who may open the settings page.
pub const SETTINGS_PAGES: &[RoutePolicy] = &[
    RoutePolicy::new("GET", "/compensation/settings", SETTINGS),
    RoutePolicy::new("POST", "/compensation/settings", SETTINGS),
];

/// The settings page's routes.
pub fn settings_routes(service: Compensation) -> Router {
    Router::new()
        .route(
            "/compensation/settings",
            get(settings_page).post(settings_save),
        )
        .with_state(service)
}

fn settings_view(
    status: StatusCode,
    current: &crate::model::Settings,
    form: Option<&FormData>,
    errors: &FormErrors,
) -> Response {
    let rows = current.auto_approve_up_to.len() + 2;
    let v = |name: String, fallback: Option<String>| match form {
        Some(f) => f.text(&name).map(str::to_owned),
        None => fallback,
    };
    let body = html! {
        (kit::page_header(&crumbs(), "Compensation settings",
            Some(html! { "Proposals up to these amounts are approved and paid without a person; larger ones, and currencies not listed, wait for a customer affairs executive. A change applies to every disruption processed from then on." }),
            None))
        form.claim-form method="post" action="/compensation/settings" novalidate {
            (csrf_field())
            (kit::error_summary(errors))
            fieldset {
                legend { "Approved without a person, up to" }
                @for i in 0..rows {
                    @let limit = current.auto_approve_up_to.get(i);
                    (Field::text(&format!("currency_{i}"), &format!("Currency {}", i + 1)).hint("EUR, GBP, CAD… Leave empty to drop.")
                        .value(v(format!("currency_{i}"), limit.map(|l| l.0.clone()))).render(errors))
                    (Field::text(&format!("amount_{i}"), &format!("Amount {}", i + 1)).hint("0 sends every proposal in this currency to a person.")
                        .value(v(format!("amount_{i}"), limit.map(|l| l.1.round_dp(2).to_string()))).render(errors))
                }
            }
            fieldset {
                legend { "Connections" }
                (Field::new("minimum_connection_minutes", "Minimum connection time (minutes)", FieldKind::Input("number"))
                    .hint("An arrival later than the onward departure minus this misses the connection.")
                    .value(v("minimum_connection_minutes".into(), Some(current.minimum_connection.num_minutes().to_string()))).render(errors))
            }
            button type="submit" { "Save the settings" }
        }
    };
    page(status, layout("Compensation settings", SECTION, body))
}

/// `GET /compensation/settings`.
async fn settings_page(State(s): State<Compensation>) -> Response {
    match s.refresh_settings().await {
        Ok(current) => settings_view(StatusCode::OK, &current, None, &FormErrors::new()),
        Err(_) => unavailable(),
    }
}

/// `POST /compensation/settings`: saved, or the form with every bad field named.
async fn settings_save(
    State(s): State<Compensation>,
    ctx: AccessContext,
    form: FormData,
) -> Response {
    let Ok(current) = s.refresh_settings().await else {
        return unavailable();
    };
    // Form rows → the API's document; the JSON index of a limit is its position among the
    // filled rows, mapped back to the form row for the error.
    let filled: Vec<usize> = (0..=current.auto_approve_up_to.len() + 2)
        .filter(|i| {
            form.text(&format!("currency_{i}"))
                .is_some_and(|c| !c.trim().is_empty())
        })
        .collect();
    let doc = serde_json::json!({
        "auto_approve_up_to": filled.iter().map(|i| serde_json::json!({
            "currency": form.text(&format!("currency_{i}")).unwrap_or("").trim().to_ascii_uppercase(),
            "amount": form.text(&format!("amount_{i}")).unwrap_or("").trim(),
        })).collect::<Vec<_>>(),
        "minimum_connection_minutes": form.text("minimum_connection_minutes").and_then(|m| m.trim().parse::<i64>().ok()),
    });
    match crate::model::parse_settings(&doc, &current) {
        Ok(settings) => match s.save_settings(&ctx, settings).await {
            Ok(v) => kit::redirect_with_notice(
                "/compensation/settings",
                &format!("Settings saved (version {v}); they apply from the next disruption."),
            ),
            Err(_) => unavailable(),
        },
        Err(problems) => {
            let mut errors = FormErrors::new();
            for p in problems {
                let parts: Vec<&str> = p.pointer.trim_start_matches('/').split('/').collect();
                let field = match parts.as_slice() {
                    ["auto_approve_up_to", i, k] => {
                        let row = i
                            .parse::<usize>()
                            .ok()
                            .and_then(|i| filled.get(i).copied())
                            .unwrap_or(0);
                        format!("{k}_{row}")
                    }
                    _ => "minimum_connection_minutes".to_owned(),
                };
                errors.add(&field, capitalise(&p.detail));
            }
            settings_view(
                StatusCode::UNPROCESSABLE_ENTITY,
                &current,
                Some(&form),
                &errors,
            )
        }
    }
}
