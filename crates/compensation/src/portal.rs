//! The passenger's claims in the portal (`/my/claims`; issue 20, item 5): every compensation
//! proposal about the passenger — those the airline made after a disruption it reported, and
//! those from the passenger's own claims — and a claim form for a flight of their own booking,
//! prefilled from it, that answers at once with each regime's decision and its reasons.
//!
//! The passenger states what happened (delayed and when they arrived, or cancelled and how much
//! notice they had); the cause is theirs to not know, so the claim is judged with cause `other`
//! and waits for a customer affairs executive, who confirms the facts before anything is paid.
//!
//! Like every portal page: the passenger permission, the customer id only from the session's
//! row scope (a proposal of someone else answers 404, as if it did not exist), and every read
//! audited before it is shown.

use aloft_authz::{Access, RoutePolicy, current_principal};
use aloft_customers::CustomerId;
use aloft_customers::permissions::{OWN_PROFILE, OWN_RECORD};
use aloft_kernel::{AccessContext, ApiError};
use aloft_travel::storage::FlightPassenger;
use aloft_web::kit::{self, Field, FieldKind, FormData, FormErrors, Tone, redirect_with_notice};
use aloft_web::portal::layout;
use aloft_web::{HomePanel, PortalEntry, csrf_field, page};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::{Duration, NaiveDate, Utc};
use http::StatusCode;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use crate::model::{Statement, passenger_disruption};
use crate::service::{ClaimError, Compensation, DecideError, Proposal};

const OWN: Access = Access::Permission(OWN_PROFILE);
const TAB: &str = "/my/claims";
/// How far back a passenger may claim here: the shortest limitation period among the EU
/// states is two years; older flights go through customer affairs.
const CLAIMABLE_DAYS: i64 = 730;

/// Who may open the claim pages: the signed-in passenger.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new("GET", "/my/claims", OWN),
    RoutePolicy::new("GET", "/my/claims/new", OWN),
    RoutePolicy::new("POST", "/my/claims/new", OWN),
    RoutePolicy::new("GET", "/my/claims/{id}", OWN),
    RoutePolicy::new("POST", "/my/claims/{id}/method", OWN),
];

/// The claim pages.
pub fn routes(service: Compensation) -> Router {
    Router::new()
        .route("/my/claims", get(list))
        .route("/my/claims/new", get(form).post(submit))
        .route("/my/claims/{id}", get(detail))
        .route("/my/claims/{id}/method", axum::routing::post(choose_method))
        .with_state(service)
}

/// The portal tab.
pub fn entries() -> Vec<PortalEntry> {
    vec![PortalEntry {
        label: "Claims",
        href: TAB,
        order: 30,
    }]
}

/// The overview panel: claims in progress and the way to make one.
pub fn panels(service: Compensation) -> Vec<HomePanel> {
    vec![HomePanel::new("my-claims", OWN, 30, move |p| {
        let service = service.clone();
        async move {
            let body = match p.scope.value_of(OWN_RECORD).and_then(CustomerId::parse) {
                Some(id) => match service.of_customer(id).await {
                    Ok(proposals) => panel_body(&proposals),
                    Err(_) => kit::notice("Your claims cannot be shown just now.", Tone::Warn),
                },
                None => html! {},
            };
            kit::panel("my-claims", "My claims", body)
        }
    })]
}

fn panel_body(proposals: &[Proposal]) -> Markup {
    let open = proposals
        .iter()
        .filter(|p| matches!(p.status.as_str(), "pending" | "awaiting_facts"))
        .count();
    let paid = proposals.iter().filter(|p| p.status == "approved").count();
    html! {
        @if proposals.is_empty() {
            p { "Was a flight of yours delayed or cancelled? Check what you are owed and claim it here." }
        } @else {
            p { (open) " in progress · " (paid) " approved" }
        }
        p { a href=(TAB) { "Your claims and how to make one" } }
    }
}

/// The signed-in passenger's customer id (from the session's row scope only).
fn own() -> Result<CustomerId, ApiError> {
    current_principal()
        .and_then(|p| p.scope.value_of(OWN_RECORD).and_then(CustomerId::parse))
        .ok_or(ApiError::NotFound("customer"))
}

fn status_words(status: &str) -> (&'static str, Tone) {
    match status {
        "approved" => ("Approved — we are paying it", Tone::Good),
        "pending" => ("Being checked by our team", Tone::Info),
        "awaiting_facts" => ("Waiting for facts", Tone::Warn),
        "rejected" => ("Not accepted", Tone::Bad),
        _ => ("Nothing owed", Tone::Neutral),
    }
}

fn amount(p: &Proposal) -> String {
    match (&p.amount, &p.currency) {
        (Some(a), Some(c)) => format!("{a} {c}"),
        _ => "—".into(),
    }
}

/// The segment of `booking` that is flight `key` (`LH400 2026-07-01`).
fn segment<'a>(booking: &'a Value, key: &str) -> Option<&'a Value> {
    let (number, date) = key.split_once(' ')?;
    booking.get("segments")?.as_array()?.iter().find(|s| {
        s.get("flight_number").and_then(Value::as_str) == Some(number)
            && s.get("scheduled_departure_local")
                .and_then(Value::as_str)
                .and_then(|t| t.get(..10))
                == Some(date)
    })
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// "LH400 · FRA → JFK · Wed 1 Jul 2026, 10:00".
fn flight_line(f: &FlightPassenger) -> String {
    let route = segment(&f.booking, &f.flight)
        .map(|s| format!(" · {} → {}", text(s, "origin"), text(s, "destination")))
        .unwrap_or_default();
    let when = segment(&f.booking, &f.flight)
        .and_then(|s| s.get("scheduled_departure_local").and_then(Value::as_str))
        .and_then(|t| chrono::NaiveDateTime::parse_from_str(t.get(..16)?, "%Y-%m-%dT%H:%M").ok())
        .map(|t| t.format(" · %a %-d %b %Y, %H:%M").to_string())
        .unwrap_or_default();
    let number = f.flight.split(' ').next().unwrap_or_default();
    format!("{number}{route}{when}")
}

/// The passenger's past flights that may still be claimed, newest first.
async fn claimable(
    service: &Compensation,
    id: CustomerId,
) -> Result<Vec<FlightPassenger>, ApiError> {
    let now = Utc::now();
    let mut flights = service
        .travel()
        .customer_flights(id, now - Duration::days(CLAIMABLE_DAYS), now)
        .await?;
    flights.reverse();
    flights.dedup_by(|a, b| a.flight == b.flight);
    Ok(flights)
}

/// `GET /my/claims`: the passenger's claims and proposals, and their flights to claim for.
async fn list(
    State(service): State<Compensation>,
    ctx: AccessContext,
) -> Result<Response, ApiError> {
    let id = own()?;
    service.audit_read(&ctx, &id.to_string()).await?;
    let proposals = service.of_customer(id).await?;
    let flights = claimable(&service, id).await?;
    let goodwill = service.goodwill_of(id).await?;
    let claimed = |key: &str| proposals.iter().any(|p| p.flight == key);
    let body = html! {
        (kit::page_header(&[], "My claims",
            Some(html! { "Compensation for delayed and cancelled flights under EU, UK and Canadian passenger-rights law." }),
            None))
        section aria-labelledby="claims-title" {
            h2 #claims-title { "Your claims" }
            @if proposals.is_empty() {
                (kit::empty_state("No claims yet", "When a flight of yours is disrupted, we work out what you are owed and it appears here. You can also claim below.", None))
            } @else {
                ul.claim-list {
                    @for p in &proposals {
                        @let (words, tone) = status_words(&p.status);
                        li {
                            a href=(format!("/my/claims/{}", p.id)) { (p.flight) " · " (p.regime) }
                            " " (kit::badge(words, tone)) " " (amount(p))
                        }
                    }
                }
            }
        }
        @if !goodwill.is_empty() {
            section aria-labelledby="goodwill-title" {
                h2 #goodwill-title { "From us, beyond the law" }
                ul.claim-list {
                    @for (flight, benefit, amount, currency, _) in &goodwill {
                        li { (flight) " · " (benefit_words(benefit)) @if let Some(a) = amount { " · " (a) @if let Some(c) = currency { " " (c) } } }
                    }
                }
            }
        }
        section aria-labelledby="flights-title" {
            h2 #flights-title { "Claim for a flight" }
            @let open: Vec<_> = flights.iter().filter(|f| !claimed(&f.flight)).collect();
            @if open.is_empty() {
                p { "You have no past flight in the last two years without a claim." }
            } @else {
                ul.claim-list {
                    @for f in open {
                        li {
                            (flight_line(f)) " "
                            a href=(format!("/my/claims/new?flight={}", urlencode(&f.flight))) aria-label=(format!("Claim for {}", flight_line(f))) { "Claim" }
                        }
                    }
                }
            }
        }
    };
    Ok(page(StatusCode::OK, layout("My claims", TAB, body)))
}

fn urlencode(s: &str) -> String {
    s.replace(' ', "+")
}

#[derive(Debug, Deserialize)]
struct FlightQuery {
    flight: Option<String>,
}

/// The passenger's booking holding flight `key`, or 404.
async fn own_flight(
    service: &Compensation,
    id: CustomerId,
    key: &str,
) -> Result<(FlightPassenger, NaiveDate), ApiError> {
    let flight = claimable(service, id)
        .await?
        .into_iter()
        .find(|f| f.flight == key)
        .ok_or(ApiError::NotFound("flight"))?;
    let date = key
        .split_once(' ')
        .and_then(|(_, d)| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .ok_or(ApiError::NotFound("flight"))?;
    Ok((flight, date))
}

fn claim_page(
    status: StatusCode,
    flight: &FlightPassenger,
    form: &FormData,
    errors: &FormErrors,
) -> Response {
    let v = |name: &str| form.text(name).map(str::to_owned);
    let seg = segment(&flight.booking, &flight.flight);
    let field = |k| seg.map(|s| text(s, k).to_owned()).unwrap_or_default();
    let body = html! {
        (kit::page_header(&[kit::Crumb { label: "My claims", href: TAB }], "Claim compensation",
            Some(html! { (flight_line(flight)) }), None))
        (kit::facts(&[
            ("Booking", kit::or_dash(flight.booking.get("record_locator").and_then(Value::as_str))),
            ("From", html! { (field("origin")) }),
            ("To", html! { (field("destination")) }),
            ("Scheduled arrival", html! { (field("scheduled_arrival_local").replace('T', " ")) }),
        ]))
        form method="post" action="/my/claims/new" novalidate {
            (csrf_field())
            (kit::error_summary(errors))
            input type="hidden" name="flight" value=(flight.flight);
            fieldset {
                legend { "What happened" }
                (Field::new("kind", "The flight was", FieldKind::Select(vec![
                    (String::new(), "Choose…".into()),
                    ("delay".into(), "Delayed".into()),
                    ("cancellation".into(), "Cancelled".into()),
                ])).value(v("kind")).required().render(errors))
                (Field::new("arrival", "If delayed: when you arrived (local time at the destination)", FieldKind::Input("datetime-local"))
                    .value(v("arrival")).hint("When the doors opened at your final destination").render(errors))
                (Field::new("notice_days", "If cancelled: days of notice you had", FieldKind::Input("number"))
                    .value(v("notice_days")).hint("0 if you learned at the airport").render(errors))
            }
            button type="submit" { "Check and send my claim" }
        }
    };
    page(status, layout("Claim compensation", TAB, body))
}

/// `GET /my/claims/new?flight=LH400+2026-07-01`: the form for one of the passenger's flights.
async fn form(
    State(service): State<Compensation>,
    ctx: AccessContext,
    Query(q): Query<FlightQuery>,
) -> Result<Response, ApiError> {
    let id = own()?;
    service.audit_read(&ctx, &id.to_string()).await?;
    let (flight, _) = own_flight(&service, id, q.flight.as_deref().unwrap_or("")).await?;
    Ok(claim_page(
        StatusCode::OK,
        &flight,
        &FormData::from_pairs(vec![]),
        &FormErrors::new(),
    ))
}

/// `POST /my/claims/new`: judged and stored, then the decision; or the form with every bad
/// field named and nothing stored.
async fn submit(
    State(service): State<Compensation>,
    ctx: AccessContext,
    form: FormData,
) -> Result<Response, ApiError> {
    let id = own()?;
    service.audit_read(&ctx, &id.to_string()).await?;
    let key = form.text("flight").unwrap_or("").to_owned();
    let (flight, date) = own_flight(&service, id, &key).await?;
    let destination = segment(&flight.booking, &flight.flight)
        .map(|s| text(s, "destination").to_owned())
        .unwrap_or_default();
    let zone = aloft_travel::airports::lookup(&destination).map(|a| a.time_zone);
    let number = key.split(' ').next().unwrap_or_default();
    let statement = Statement {
        kind: form.text("kind").unwrap_or(""),
        arrival_local: form.text("arrival").unwrap_or(""),
        notice_days: form.text("notice_days").unwrap_or(""),
    };
    let disruption =
        match passenger_disruption(number, date, zone, statement, &service.settings().carriers) {
            Ok(d) => d,
            Err(problems) => {
                let mut errors = FormErrors::new();
                for p in problems {
                    let field = p.pointer.trim_start_matches('/');
                    let field = if field == "flight" { "kind" } else { field };
                    errors.add(field, capitalise(&p.detail));
                }
                return Ok(claim_page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &flight,
                    &form,
                    &errors,
                ));
            }
        };
    match service.claim(&ctx, id, &disruption).await {
        Ok(claimed) => {
            let first = claimed.proposals.first().map(|p| p.id.clone());
            let notice = if claimed.created {
                "Your claim is in. Here is what the law says you are owed; our team confirms the cause and writes to you."
            } else {
                "You already have a claim for this flight; here it is."
            };
            Ok(match first {
                Some(p) => redirect_with_notice(&format!("/my/claims/{p}"), notice),
                None => redirect_with_notice(TAB, notice),
            })
        }
        Err(ClaimError::NotYourFlight) => Err(ApiError::NotFound("flight")),
        Err(ClaimError::Storage(e)) => Err(e.into()),
    }
}

/// `GET /my/claims/{id}`: the decisions about one flight, with reasons and the law.
async fn detail(
    State(service): State<Compensation>,
    ctx: AccessContext,
    Path(pid): Path<String>,
) -> Result<Response, ApiError> {
    let id = own()?;
    let proposal = service
        .proposal(&pid)
        .await?
        .filter(|p| p.customer_id == id.to_string())
        .ok_or(ApiError::NotFound("claim"))?;
    service.audit_read(&ctx, &id.to_string()).await?;
    let all: Vec<Proposal> = service
        .of_customer(id)
        .await?
        .into_iter()
        .filter(|p| p.flight == proposal.flight)
        .collect();
    let body = html! {
        (kit::page_header(&[kit::Crumb { label: "My claims", href: TAB }], &format!("Flight {}", proposal.flight),
            Some(html! { @if proposal.from_claim() { "Your claim" } @else { "We reported this disruption and worked out what you are owed" } }),
            None))
        @for p in &all {
            @let (words, tone) = status_words(&p.status);
            @let reasons: Vec<&str> = p.decision.get("reasons").and_then(Value::as_array).map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            @let citations: Vec<&str> = p.decision.get("citations").and_then(Value::as_array).map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            article.decision aria-labelledby=(format!("claim-{}", p.id)) {
                h2 id=(format!("claim-{}", p.id)) { (regime_name(&p.regime)) " " (kit::badge(words, tone)) }
                (kit::facts(&[
                    ("Amount", html! { (amount(p)) }),
                    ("Paid as", kit::or_dash(p.method.as_deref())),
                    ("Booking", kit::or_dash(p.record_locator.as_deref())),
                ]))
                @if !reasons.is_empty() {
                    h3 { "Why" }
                    ol { @for r in &reasons { li { (r) } } }
                }
                @if !citations.is_empty() {
                    details {
                        summary { "The law behind it" }
                        ul.citations { @for c in &citations { li { (c) } } }
                    }
                }
                @if p.status == "pending" && p.amount.is_some() && p.regime != "MONTREAL" {
                    form.claim-method method="post" action=(format!("/my/claims/{}/method", p.id)) {
                        (csrf_field())
                        (Field::new("method", "How should we pay you?", FieldKind::Select(vec![
                            ("cash".into(), "Money to my bank account".into()),
                            ("voucher".into(), "A travel voucher".into()),
                            ("miles".into(), "Miles".into()),
                        ])).value(p.preferred_method.clone()).hint("Money is your right. Choosing a voucher or miles is your agreement to be paid that way instead (EU Regulation 261/2004, Art. 7(3)).").render(&FormErrors::new()))
                        button.secondary type="submit" { "Save my choice" }
                    }
                }
            }
        }
        @if proposal.from_claim() && proposal.status == "pending" {
            (kit::notice("You told us what happened; the cause decides whether compensation is owed (bad weather or air-traffic control, for example, are extraordinary circumstances). Our team checks it and writes to you — usually within 14 days.", Tone::Info))
        }
    };
    Ok(page(
        StatusCode::OK,
        layout(&format!("Claim — {}", proposal.flight), TAB, body),
    ))
}

/// `POST /my/claims/{id}/method`: the passenger's choice of payment for a pending proposal.
async fn choose_method(
    State(service): State<Compensation>,
    ctx: AccessContext,
    Path(pid): Path<String>,
    form: FormData,
) -> Result<Response, ApiError> {
    let id = own()?;
    let at = format!("/my/claims/{pid}");
    let Some(method) = form.text("method").and_then(crate::model::Method::parse) else {
        return Ok(redirect_with_notice(
            &at,
            "Choose money, a travel voucher or miles.",
        ));
    };
    match service.choose_method(&ctx, id, &pid, method).await {
        Ok(_) => Ok(redirect_with_notice(
            &at,
            "Your choice is saved; we pay that way once the claim is approved.",
        )),
        Err(DecideError::NotFound) => Err(ApiError::NotFound("claim")),
        Err(DecideError::Storage(e)) => Err(e.into()),
        Err(DecideError::Method(m)) => Ok(redirect_with_notice(&at, &capitalise(m))),
        Err(_) => Ok(redirect_with_notice(
            &at,
            "This claim is already decided: nothing changed.",
        )),
    }
}

fn benefit_words(benefit: &str) -> &str {
    match benefit {
        "miles" => "Miles",
        "voucher" => "Travel voucher",
        "meal_voucher" => "Meal voucher",
        "lounge_access" => "Lounge access",
        other => other,
    }
}

fn regime_name(code: &str) -> &str {
    match code {
        "EU261" => "EU Regulation 261/2004",
        "UK261" => "UK Regulation 261/2004",
        "APPR" => "Canada's Air Passenger Protection Regulations",
        "MONTREAL" => "Montreal Convention",
        "ALL" => "Passenger rights",
        other => other,
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
