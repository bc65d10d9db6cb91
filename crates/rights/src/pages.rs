//! `/compensation/claim`: the agent's claim form. A claim handler types what happened (one
//! flight, or two on one booking) in the airports' local times, and the page answers at once
//! with each regime's decision, its reasons and citations — the same engine as the API.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::{NaiveDateTime, TimeZone};
use http::StatusCode;
use maud::{Markup, html};
use serde_json::{Value, json};

use aloft_authz::{Access, RoutePolicy};
use aloft_web::kit::{self, Crumb, Field, FieldKind, FormData, FormErrors, Tone};
use aloft_web::{Section, csrf_field, layout, page};

use crate::routes::COMPENSATION_EVALUATE;
use crate::{Decision, Rules, evaluate_json};

/// The compensation section of the workspace.
pub const SECTION: Section = Section::new("compensation");

/// Who may open the form.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new(
        "GET",
        "/compensation/claim",
        Access::Permission(COMPENSATION_EVALUATE),
    ),
    RoutePolicy::new(
        "POST",
        "/compensation/claim",
        Access::Permission(COMPENSATION_EVALUATE),
    ),
];

/// The page routes.
pub fn routes(rules: Arc<Rules>) -> Router {
    Router::new()
        .route("/compensation/claim", get(form).post(evaluate))
        .with_state(rules)
}

fn options(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(v, l)| ((*v).to_owned(), (*l).to_owned()))
        .collect()
}

const KINDS: &[(&str, &str)] = &[
    ("delay", "Delay"),
    ("cancellation", "Cancellation"),
    ("denied_boarding", "Denied boarding"),
    ("downgrade", "Downgrade"),
    ("baggage_delayed", "Bag delayed"),
    ("baggage_lost", "Bag lost"),
    ("baggage_damaged", "Bag damaged"),
];

const CAUSES: &[(&str, &str)] = &[
    ("technical", "Technical fault"),
    ("crew_shortage", "Crew shortage"),
    ("own_staff_strike", "Strike of our own staff"),
    ("overbooking", "Overbooking"),
    ("weather", "Weather"),
    ("air_traffic_control", "Air traffic control"),
    ("security", "Security"),
    ("external_strike", "Strike outside the airline"),
    ("bird_strike", "Bird strike"),
    ("medical", "Medical emergency"),
    ("political_instability", "Political instability"),
    ("other", "Other / not known"),
];

const CABINS: &[(&str, &str)] = &[
    ("economy", "Economy"),
    ("premium_economy", "Premium economy"),
    ("business", "Business"),
    ("first", "First"),
];

/// Form field ↔ claim pointer. The second flight's fields end in `2`.
const FIELDS: &[(&str, &str)] = &[
    ("flight", "/itinerary/0/flight"),
    ("carrier_country", "/itinerary/0/operating_carrier_country"),
    ("carrier_size", "/itinerary/0/operating_carrier_large"),
    ("from", "/itinerary/0/from"),
    ("to", "/itinerary/0/to"),
    ("cabin", "/itinerary/0/cabin"),
    ("scheduled_departure", "/itinerary/0/scheduled_departure"),
    ("scheduled_arrival", "/itinerary/0/scheduled_arrival"),
    ("actual_arrival", "/itinerary/0/actual_arrival"),
    ("flight2", "/itinerary/1/flight"),
    ("to2", "/itinerary/1/to"),
    ("scheduled_departure2", "/itinerary/1/scheduled_departure"),
    ("scheduled_arrival2", "/itinerary/1/scheduled_arrival"),
    ("actual_arrival2", "/itinerary/1/actual_arrival"),
    ("kind", "/disruption/kind"),
    ("cause", "/disruption/cause"),
    ("notice_days", "/disruption/notice_days"),
    ("rerouting_departure", "/disruption/rerouting"),
    ("rerouting_arrival", "/disruption/rerouting/arrival"),
    ("downgraded_to", "/disruption/downgraded_to"),
    ("fare", "/disruption/fare_paid"),
    ("claimed_sdr", "/disruption/baggage"),
    ("days_to_complaint", "/disruption/baggage/days_to_complaint"),
];

/// The form field an error's pointer belongs to (the closest one).
fn field_of(pointer: &str) -> &'static str {
    FIELDS
        .iter()
        .filter(|(_, p)| pointer.starts_with(p))
        .max_by_key(|(_, p)| p.len())
        .map_or("flight", |(f, _)| f)
}

/// A local date-time typed for an airport, with that airport's UTC offset (the contract wants
/// offsets; agents think in local times). Left as typed when it cannot be read, so the engine
/// names the field.
fn at_airport(local: &str, airport: &str) -> Value {
    let parsed = NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M");
    let zone =
        aloft_travel::airports::lookup(&airport.trim().to_ascii_uppercase()).map(|a| a.time_zone);
    match (parsed, zone) {
        (Ok(t), Some(z)) => match z.from_local_datetime(&t).earliest() {
            Some(t) => json!(t.to_rfc3339()),
            None => json!(local),
        },
        _ => json!(local),
    }
}

/// The claim the form describes.
fn claim_of(form: &FormData) -> Value {
    let text = |name: &str| form.text(name).map(str::trim).filter(|s| !s.is_empty());
    let opt_at = |name: &str, airport: &str| text(name).map(|t| at_airport(t, airport));
    let from = text("from").unwrap_or_default();
    let to = text("to").unwrap_or_default();
    let carrier = text("flight").map(|f| f.chars().take(2).collect::<String>());
    let large = match text("carrier_size") {
        Some("large") => json!(true),
        Some("small") => json!(false),
        _ => Value::Null,
    };
    let mut first = json!({
        "flight": text("flight"), "operating_carrier": carrier,
        "operating_carrier_country": text("carrier_country"), "operating_carrier_large": large,
        "from": text("from"), "to": text("to"), "cabin": text("cabin"),
        "scheduled_departure": opt_at("scheduled_departure", from),
        "scheduled_arrival": opt_at("scheduled_arrival", to),
        "actual_arrival": opt_at("actual_arrival", to),
    });
    let mut itinerary = vec![];
    let mut destination = to;
    if let Some(flight2) = text("flight2") {
        let to2 = text("to2").unwrap_or_default();
        destination = to2;
        itinerary.push(first.take());
        itinerary.push(json!({
            "flight": flight2, "operating_carrier": flight2.chars().take(2).collect::<String>(),
            "operating_carrier_country": text("carrier_country"), "operating_carrier_large": large,
            "from": text("to"), "to": text("to2"), "cabin": text("cabin"),
            "scheduled_departure": opt_at("scheduled_departure2", to),
            "scheduled_arrival": opt_at("scheduled_arrival2", to2),
            "actual_arrival": opt_at("actual_arrival2", to2),
        }));
    } else {
        itinerary.push(first);
    }
    // A leg delayed on arrival but with no actual departure: the actual departure is not a
    // fact the rules use; leave it out rather than guess.
    let rerouting = match (text("rerouting_departure"), text("rerouting_arrival")) {
        (Some(d), Some(a)) => {
            json!({"departure": at_airport(d, from), "arrival": at_airport(a, destination)})
        }
        _ => Value::Null,
    };
    let fare = text("fare")
        .map(|f| json!({"amount": f, "currency": text("fare_currency").unwrap_or("EUR")}));
    let baggage = text("claimed_sdr").map(|c| {
        json!({"claimed": {"amount": c, "currency": "SDR"},
               "days_to_complaint": text("days_to_complaint").and_then(|d| d.parse::<i64>().ok())})
    });
    json!({
        "itinerary": itinerary,
        "disruption": {
            "kind": text("kind"), "cause": text("cause"),
            "notice_days": text("notice_days").map(|d| d.parse::<i64>().map_or(json!(d), |n| json!(n))),
            "rerouting": rerouting, "volunteer": form.checked("volunteer"),
            "downgraded_to": text("downgraded_to"), "fare_paid": fare, "baggage": baggage,
        },
        "regimes": null,
    })
}

fn claim_form(form: &FormData, errors: &FormErrors) -> Markup {
    let v = |name: &str| form.text(name).map(str::to_owned);
    let local = FieldKind::Input("datetime-local");
    html! {
        form.claim-form method="post" action="/compensation/claim" novalidate {
            (csrf_field())
            (kit::error_summary(errors))
            fieldset {
                legend { "Flight" }
                (Field::text("flight", "Flight number").value(v("flight")).required().hint("As on the ticket: LH400").render(errors))
                (Field::text("carrier_country", "Operating carrier's licence country").value(v("carrier_country")).required().hint("Two letters: DE, GB, CA, US").render(errors))
                (Field::new("carrier_size", "Carrier size (Canada)", FieldKind::Select(options(&[("", "Not known"), ("large", "Large"), ("small", "Small")]))).value(v("carrier_size")).render(errors))
                (Field::text("from", "From (IATA)").value(v("from")).required().render(errors))
                (Field::text("to", "To (IATA)").value(v("to")).required().render(errors))
                (Field::new("cabin", "Cabin booked", FieldKind::Select(options(CABINS))).value(v("cabin")).render(errors))
                (Field::new("scheduled_departure", "Scheduled departure (local)", local.clone()).value(v("scheduled_departure")).required().render(errors))
                (Field::new("scheduled_arrival", "Scheduled arrival (local)", local.clone()).value(v("scheduled_arrival")).required().render(errors))
                (Field::new("actual_arrival", "Actual arrival (local)", local.clone()).value(v("actual_arrival")).hint("Leave empty if on time").render(errors))
            }
            details open[v("flight2").is_some()] {
                summary { "Connecting flight on the same booking" }
                fieldset {
                    legend { "Second flight (from the first flight's destination)" }
                    (Field::text("flight2", "Flight number").value(v("flight2")).render(errors))
                    (Field::text("to2", "To (IATA)").value(v("to2")).render(errors))
                    (Field::new("scheduled_departure2", "Scheduled departure (local)", local.clone()).value(v("scheduled_departure2")).render(errors))
                    (Field::new("scheduled_arrival2", "Scheduled arrival (local)", local.clone()).value(v("scheduled_arrival2")).render(errors))
                    (Field::new("actual_arrival2", "Actual arrival (local)", local.clone()).value(v("actual_arrival2")).render(errors))
                }
            }
            fieldset {
                legend { "What happened" }
                (Field::new("kind", "Disruption", FieldKind::Select(options(KINDS))).value(v("kind")).render(errors))
                (Field::new("cause", "Cause", FieldKind::Select(options(CAUSES))).value(v("cause")).render(errors))
                (Field::new("notice_days", "Cancellation: days of notice", FieldKind::Input("number")).value(v("notice_days")).render(errors))
                (Field::new("rerouting_departure", "Alternative flight departs (local)", local.clone()).value(v("rerouting_departure")).render(errors))
                (Field::new("rerouting_arrival", "Alternative flight arrives at the final destination (local)", local).value(v("rerouting_arrival")).render(errors))
                (Field::new("volunteer", "Denied boarding: the passenger volunteered", FieldKind::Checkbox).value(form.checked("volunteer").then_some("on")).render(errors))
                (Field::new("downgraded_to", "Downgrade: cabin flown", FieldKind::Select(options(&[("", "—"), ("economy", "Economy"), ("premium_economy", "Premium economy"), ("business", "Business")]))).value(v("downgraded_to")).render(errors))
                (Field::text("fare", "Downgrade: fare of that flight").value(v("fare")).hint("A decimal amount, e.g. 1850.00").render(errors))
                (Field::new("fare_currency", "Fare currency", FieldKind::Select(options(&[("EUR", "EUR"), ("GBP", "GBP"), ("CAD", "CAD"), ("USD", "USD")]))).value(v("fare_currency")).render(errors))
                (Field::text("claimed_sdr", "Baggage: amount claimed (SDR)").value(v("claimed_sdr")).render(errors))
                (Field::new("days_to_complaint", "Baggage: days to the written complaint", FieldKind::Input("number")).value(v("days_to_complaint")).render(errors))
            }
            button type="submit" { "Evaluate the claim" }
        }
    }
}

fn decision(d: &Decision) -> Markup {
    html! {
        article.decision aria-labelledby=(format!("decision-{}", d.regime)) {
            h3 id=(format!("decision-{}", d.regime)) {
                (d.regime) " "
                @if let Some(a) = &d.amount {
                    (kit::badge(&format!("{} {}", a.amount, a.currency), Tone::Good))
                } @else {
                    (kit::badge("Nothing owed", Tone::Neutral))
                }
            }
            (kit::facts(&[
                ("Distance", kit::or_dash(d.distance_km.map(|k| format!("{k} km")).as_deref())),
                ("Reductions", kit::or_dash((!d.reductions.is_empty()).then(|| d.reductions.join(", ")).as_deref())),
            ]))
            h4 { "Why" }
            ol { @for r in &d.reasons { li { (r) } } }
            h4 { "Sources" }
            ul.citations { @for c in &d.citations { li { (c) } } }
        }
    }
}

fn render(
    status: StatusCode,
    form: &FormData,
    errors: &FormErrors,
    result: Option<Markup>,
) -> Response {
    page(
        status,
        layout(
            "Compensation claim",
            SECTION,
            html! {
                (kit::page_header(
                    &[Crumb { label: "Home", href: "/" }],
                    "Compensation claim",
                    Some(html! { "What the passenger is owed under EU261, UK261, Canada's APPR and the Montreal Convention, with the reasons and the law." }),
                    None,
                ))
                @if let Some(result) = result { (result) }
                (claim_form(form, errors))
            },
        ),
    )
}

/// `GET /compensation/claim[?flight=…&from=…]`: the form, prefilled from the query with the
/// form's own field names — how a passenger's booking opens it filled in (the compensation tab
/// of the 360° page links each flight so). Unknown names are ignored.
async fn form(Query(prefill): Query<Vec<(String, String)>>) -> Response {
    let known = |name: &str| {
        FIELDS.iter().any(|(f, _)| *f == name) || matches!(name, "fare_currency" | "volunteer")
    };
    let pairs = prefill.into_iter().filter(|(k, _)| known(k)).collect();
    render(
        StatusCode::OK,
        &FormData::from_pairs(pairs),
        &FormErrors::new(),
        None,
    )
}

/// `POST /compensation/claim`: the decisions, or the form with every bad field named.
async fn evaluate(State(rules): State<Arc<Rules>>, form: FormData) -> Response {
    match evaluate_json(&claim_of(&form), &rules) {
        Ok(decided) => {
            let result = html! {
                section.decisions #decisions aria-labelledby="decisions-title" {
                    h2 #decisions-title { "Decision" }
                    @if decided.decisions.is_empty() {
                        (kit::notice("No passenger-rights regime covers this journey and disruption.", Tone::Neutral))
                    }
                    @for d in &decided.decisions { (decision(d)) }
                }
            };
            render(StatusCode::OK, &form, &FormErrors::new(), Some(result))
        }
        Err(problems) => {
            let mut errors = FormErrors::new();
            for p in problems {
                errors.add(field_of(&p.pointer), capitalise(&p.message));
            }
            render(StatusCode::UNPROCESSABLE_ENTITY, &form, &errors, None)
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect::<String>() + ".",
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_get_their_airports_offsets_and_errors_find_their_fields() {
        assert_eq!(
            at_airport("2026-07-01T10:00", "FRA"),
            json!("2026-07-01T10:00:00+02:00")
        );
        assert_eq!(
            at_airport("2026-01-01T10:00", "jfk"),
            json!("2026-01-01T10:00:00-05:00")
        );
        assert_eq!(at_airport("soon", "FRA"), json!("soon"));
        assert_eq!(field_of("/itinerary/0/from"), "from");
        assert_eq!(
            field_of("/itinerary/1/scheduled_arrival"),
            "scheduled_arrival2"
        );
        assert_eq!(
            field_of("/disruption/baggage/days_to_complaint"),
            "days_to_complaint"
        );
        assert_eq!(field_of("/disruption/fare_paid/amount"), "fare");
    }
}
