//! The pages: the check-in console (`/departure`: today's departures and the boarding-pass scan,
//! `/departure/flights/{flight}/{date}`: a flight's passengers), the cabin crew console
//! (`/departure/roster`, `/departure/roster/{flight}/{date}`: the manifest, usable offline), and
//! the two scripts (`/departure/departure.js`; `/departure/sw.js`, the service worker, whose
//! address lets it control `/departure/`).

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use http::{StatusCode, header};
use maud::{Markup, html};

use aloft_authz::{Access, Principal, RoutePolicy, current_principal};
use aloft_kernel::{AccessContext, StorageError};
use aloft_vocab::FlightNumber;
use aloft_web::kit::{self, Column, Crumb, DataTable, FormData, FormErrors, Tone};
use aloft_web::{Section, csrf_field, layout, page};

use crate::events::audit;
use crate::manifest::{PassengerLine, meal_meaning, ssr_meaning};
use crate::permissions::{CHECKIN_CONSOLE, CREW_MANIFEST};
use crate::service::{Departures, FlightView, ScanError, ScanResult};

/// The check-in console's section of the workspace.
pub const CHECKIN_SECTION: Section = Section::new("departure");
/// The cabin crew console's section.
pub const CREW_SECTION: Section = Section::new("roster");

/// Who may open each page.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new("GET", "/departure", Access::Permission(CHECKIN_CONSOLE)),
    RoutePolicy::new(
        "POST",
        "/departure/scan",
        Access::Permission(CHECKIN_CONSOLE),
    ),
    RoutePolicy::new(
        "GET",
        "/departure/flights/{flight}/{date}",
        Access::Permission(CHECKIN_CONSOLE),
    ),
    RoutePolicy::new(
        "POST",
        "/departure/flights/{flight}/{date}/check-in",
        Access::Permission(CHECKIN_CONSOLE),
    ),
    RoutePolicy::new(
        "GET",
        "/departure/roster",
        Access::Permission(CREW_MANIFEST),
    ),
    RoutePolicy::new(
        "GET",
        "/departure/roster/{flight}/{date}",
        Access::Permission(CREW_MANIFEST),
    ),
    // Code only, no data: the service worker is fetched by the browser itself.
    RoutePolicy::new("GET", "/departure/sw.js", Access::Public),
    RoutePolicy::new("GET", "/departure/departure.js", Access::Public),
];

/// The pages' routes.
pub fn routes(state: Departures) -> Router {
    Router::new()
        .route("/departure", get(departures))
        .route("/departure/scan", axum::routing::post(scan))
        .route("/departure/flights/{flight}/{date}", get(flight))
        .route(
            "/departure/flights/{flight}/{date}/check-in",
            axum::routing::post(check_in),
        )
        .route("/departure/roster", get(roster))
        .route("/departure/roster/{flight}/{date}", get(manifest))
        .route("/departure/sw.js", get(service_worker))
        .route("/departure/departure.js", get(script))
        .with_state(state)
}

const SERVICE_WORKER: &str = include_str!("../assets/sw.js");
const SCRIPT: &str = include_str!("../assets/departure.js");

async fn service_worker() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript"),
            // Checked for updates at every registration.
            (header::CACHE_CONTROL, "no-cache"),
            (
                header::HeaderName::from_static("service-worker-allowed"),
                "/departure/",
            ),
        ],
        SERVICE_WORKER,
    )
        .into_response()
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SCRIPT,
    )
        .into_response()
}

fn principal() -> Option<Principal> {
    current_principal().filter(|p| p.fully_authenticated)
}

fn failure(e: &StorageError) -> Response {
    let (status, text) = match e {
        StorageError::Unavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The passenger data cannot be read right now (nothing was shown). Try again in a moment.",
        ),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong reading the passenger data.",
        ),
    };
    page(
        status,
        layout(
            "Departures",
            CHECKIN_SECTION,
            html! { h1 { "Departures" } (kit::notice(text, Tone::Bad)) },
        ),
    )
}

fn not_found(section: Section, title: &str, detail: &str, back: (&str, &str)) -> Response {
    page(
        StatusCode::NOT_FOUND,
        layout(
            title,
            section,
            html! {
                (kit::page_header(&[Crumb { label: back.0, href: back.1 }], title, None, None))
                (kit::empty_state(title, detail, Some(html! { a href=(back.1) { "Back to " (back.0.to_lowercase()) } })))
            },
        ),
    )
}

/// `HH:MM` in the airport's zone.
fn local_time(t: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    t.with_timezone(&zone).format("%H:%M").to_string()
}

fn flight_path(prefix: &str, key_number: &str, date: NaiveDate) -> String {
    format!("/departure/{prefix}/{key_number}/{date}")
}

fn scripts() -> Markup {
    html! { script src="/departure/departure.js" defer {} }
}

fn scan_form(errors: &FormErrors) -> Markup {
    html! {
        section.scan-box aria-labelledby="scan-title" {
            h2 #scan-title { "Scan a boarding pass" }
            (kit::error_summary(errors))
            form method="post" action="/departure/scan" {
                (csrf_field())
                @let error = errors.of("bcbp");
                label for="bcbp" { "Boarding pass barcode (IATA BCBP)" }
                small #bcbp-hint { "Scan the barcode with the reader, or paste its text. Enter searches." }
                @if let Some(e) = error {
                    small.field-error #bcbp-error { (e) }
                }
                textarea #bcbp name="bcbp" rows="2" autocomplete="off" spellcheck="false"
                    autofocus data-submit-on-enter
                    aria-describedby=(if error.is_some() { "bcbp-hint bcbp-error" } else { "bcbp-hint" })
                    aria-invalid=[error.map(|_| "true")] {}
                button type="submit" { "Find passenger" }
            }
        }
    }
}

/// `GET /departure`: the station's departures today and the scan box.
async fn departures(State(state): State<Departures>) -> Response {
    let Some(p) = principal() else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Some(station) = Departures::station_of(&p) else {
        return no_station();
    };
    let day = match state.station_today(&p, &station, Utc::now()).await {
        Ok(d) => d,
        Err(e) => return failure(&e),
    };
    let total = |f: fn(&crate::service::FlightSummary) -> usize| -> usize {
        day.flights.iter().map(f).sum()
    };
    let airport = aloft_travel::airports::lookup(&station)
        .map(|a| a.name.clone())
        .unwrap_or_default();
    let title = format!("Departures from {station}");
    page(
        StatusCode::OK,
        layout(
            &title,
            CHECKIN_SECTION,
            html! {
                (kit::page_header(
                    &[Crumb { label: "Home", href: "/" }],
                    &title,
                    Some(html! { (airport) " · " (day.date.format("%A %-d %B %Y")) " · local times (" (day.zone.name()) ")" }),
                    None,
                ))
                (scan_form(&FormErrors::new()))
                (kit::stats(&[
                    ("Flights today", day.flights.len().to_string(), None),
                    ("Passengers", total(|f| f.passengers).to_string(), None),
                    ("Checked in", total(|f| f.checked_in).to_string(), None),
                    ("Need assistance (PRM)", total(|f| f.prm).to_string(), None),
                    ("Documents to check", total(|f| f.documents).to_string(), None),
                ]))
                (departures_table(&day, &format!("Departures from {station} today")))
                (scripts())
            },
        ),
    )
}

/// The table of a station's departures (also the check-in agent's home panel).
pub fn departures_table(day: &crate::service::StationDay, caption: &str) -> Markup {
    if day.flights.is_empty() {
        return kit::empty_state(
            "No more departures today",
            "Flights of today that left more than six hours ago are outside your check-in window.",
            None,
        );
    }
    DataTable::new(
        caption,
        vec![
            Column::new("Flight"),
            Column::new("Departs"),
            Column::new("To"),
            Column::new("Passengers").numeric(),
            Column::new("SSR / PRM").numeric(),
            Column::new("Meals").numeric(),
            Column::new("Gold+").numeric(),
            Column::new("Documents").numeric(),
        ],
    )
    .id("departures")
    .rows(
        day.flights
            .iter()
            .map(|f| {
                vec![
                    html! { a href=(flight_path("flights", &f.number, f.date)) { (f.number) } },
                    html! { time datetime=(f.departure.to_rfc3339()) {
                        @if f.departure.with_timezone(&day.zone).date_naive() != day.date {
                            // A flight of the next morning (the list looks twelve hours ahead).
                            (f.departure.with_timezone(&day.zone).format("%a %e %b, "))
                        }
                        (local_time(f.departure, day.zone))
                    } },
                    html! { (f.destination) },
                    html! { (f.passengers) br; small.muted { (f.checked_in) " checked in" } },
                    html! {
                        (f.ssr)
                        @if f.prm > 0 { " · " (kit::badge(&format!("{} PRM", f.prm), Tone::Warn)) }
                    },
                    html! { (f.meals) },
                    count_badge(f.top_tier, Tone::Info),
                    count_badge(f.documents, Tone::Warn),
                ]
            })
            .collect(),
    )
    .render()
}

fn count_badge(n: usize, tone: Tone) -> Markup {
    if n == 0 {
        html! { "0" }
    } else {
        kit::badge(&n.to_string(), tone)
    }
}

fn no_station() -> Response {
    page(
        StatusCode::OK,
        layout(
            "Departures",
            CHECKIN_SECTION,
            html! {
                (kit::page_header(&[Crumb { label: "Home", href: "/" }], "Departures", None, None))
                (kit::empty_state("No station on your account", "Your account names no airport station, so no departures can be shown. Ask an administrator to set your station.", None))
            },
        ),
    )
}

fn parse_flight(flight: &str, date: &str) -> Option<(FlightNumber, NaiveDate)> {
    Some((
        FlightNumber::parse(flight).ok()?,
        NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?,
    ))
}

/// `GET /departure/flights/{flight}/{date}`: a flight's passengers for check-in.
async fn flight(
    State(state): State<Departures>,
    ctx: AccessContext,
    Path((number, date)): Path<(String, String)>,
) -> Response {
    let Some(p) = principal() else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let back = ("Departures", "/departure");
    let Some((number, date)) = parse_flight(&number, &date) else {
        return not_found(
            CHECKIN_SECTION,
            "Flight not found",
            "The address names no flight and date.",
            back,
        );
    };
    let view = match state
        .flight(&p, &ctx, &number, date, audit::PASSENGER_LIST_READ)
        .await
    {
        Ok(Some(v)) => v,
        Ok(None) => {
            return not_found(
                CHECKIN_SECTION,
                "Flight not found",
                "No passenger of this flight departs from your station in your check-in window.",
                back,
            );
        }
        Err(e) => return failure(&e),
    };
    let title = format!("{} {} → {}", view.number, view.origin, destination(&view));
    page(
        StatusCode::OK,
        layout(
            &title,
            CHECKIN_SECTION,
            html! {
                (kit::page_header(
                    &[Crumb { label: "Home", href: "/" }, Crumb { label: "Departures", href: "/departure" }],
                    &title,
                    Some(html! { (view.date.format("%A %-d %B %Y")) " · departs " (departure_time(&view)) " local" }),
                    None,
                ))
                (flight_stats(&view))
                (checkin_table(&view))
            },
        ),
    )
}

fn destination(view: &FlightView) -> String {
    view.passengers
        .first()
        .map(|l| l.destination.clone())
        .unwrap_or_default()
}

fn departure_time(view: &FlightView) -> String {
    view.passengers
        .iter()
        .map(|l| l.departure)
        .min()
        .map(|t| local_time(t, view.zone))
        .unwrap_or_default()
}

fn flight_stats(view: &FlightView) -> Markup {
    let count = |f: fn(&PassengerLine) -> bool| view.passengers.iter().filter(|l| f(l)).count();
    kit::stats(&[
        ("Passengers", view.passengers.len().to_string(), None),
        (
            "Checked in",
            format!(
                "{} of {}",
                count(|l| l.checked_in.is_some()),
                view.passengers.len()
            ),
            None,
        ),
        (
            "Need assistance (PRM)",
            count(PassengerLine::prm).to_string(),
            None,
        ),
        (
            "Special meals",
            count(|l| l.meal.is_some()).to_string(),
            None,
        ),
        (
            "Gold & Platinum",
            count(PassengerLine::top_tier).to_string(),
            None,
        ),
        (
            "Documents to check",
            count(|l| !l.documents.is_empty()).to_string(),
            None,
        ),
    ])
}

fn tier_badge(tier: Option<&str>) -> Markup {
    match tier {
        Some(t) => {
            let label = capitalise(t);
            kit::badge(
                &label,
                if matches!(t, "gold" | "platinum") {
                    Tone::Info
                } else {
                    Tone::Neutral
                },
            )
        }
        None => kit::or_dash(None::<&str>),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f
            .to_uppercase()
            .chain(c)
            .collect::<String>()
            .replace('_', " "),
        None => String::new(),
    }
}

fn ssr_badges(line: &PassengerLine) -> Markup {
    html! {
        @if line.prm() { (kit::badge("PRM", Tone::Warn)) " " }
        @for s in &line.ssrs {
            (kit::badge_titled(s, ssr_meaning(s), if crate::manifest::PRM_CODES.contains(&s.as_str()) { Tone::Warn } else { Tone::Neutral })) " "
        }
        @if let Some(m) = &line.meal {
            (kit::badge_titled(m, meal_meaning(m), Tone::Neutral))
        }
        @if line.ssrs.is_empty() && line.meal.is_none() { (kit::or_dash(None::<&str>)) }
    }
}

/// The documents to check, one per line, marked as needing attention (in words too).
fn documents(l: &PassengerLine) -> Markup {
    html! {
        @if l.documents.is_empty() {
            span.muted { "—" }
        } @else {
            ul.doc-checks aria-label="Documents to check" {
                @for d in &l.documents { li { (d) } }
            }
        }
    }
}

fn checkin_table(view: &FlightView) -> Markup {
    if view.passengers.is_empty() {
        return kit::empty_state(
            "No passengers",
            "Nobody on this flight is visible to you.",
            None,
        );
    }
    let mut seen_pnr = std::collections::BTreeSet::new();
    DataTable::new(
        format!(
            "Passengers of {} on {}",
            view.number,
            view.date.format("%-d %b")
        ),
        vec![
            Column::new("Seat"),
            Column::new("Passenger"),
            Column::new("PNR"),
            Column::new("Tier"),
            Column::new("SSR / meal"),
            Column::new("Documents"),
            Column::new("Booking"),
            Column::new("Check-in"),
        ],
    )
    .id("passengers")
    .rows(
        view.passengers
            .iter()
            .map(|l| {
                let first = seen_pnr.insert(l.pnr.clone());
                vec![
                    kit::or_dash(l.seat.as_deref()),
                    html! { a href=(format!("/customers/{}", l.customer.id)) { (l.name) } },
                    html! { span id=[first.then(|| format!("pnr-{}", l.pnr))] { (l.pnr) } },
                    tier_badge(l.tier.as_deref()),
                    ssr_badges(l),
                    documents(l),
                    html! {
                        (capitalise(&l.status)) " · " (capitalise(&l.cabin))
                        @if l.bags > 0 { " · " (l.bags) " bag" @if l.bags > 1 { "s" } }
                    },
                    checkin_cell(view, l),
                ]
            })
            .collect(),
    )
    .render()
}

/// A line's check-in: when and how it became known, or the button that checks the passenger
/// in at the desk.
fn checkin_cell(view: &FlightView, l: &PassengerLine) -> Markup {
    match &l.checked_in {
        Some(c) => html! {
            (kit::badge("Checked in", Tone::Good))
            " " small.muted { (local_time(c.at, view.zone)) ", " (c.method.label()) }
        },
        None => html! {
            form.inline method="post"
                action=(format!("{}/check-in", flight_path("flights", &view.number, view.date))) {
                (csrf_field())
                input type="hidden" name="customer" value=(l.customer.id);
                button.secondary type="submit" aria-label=(format!("Check in {}", l.name)) { "Check in" }
            }
        },
    }
}

/// `POST /departure/flights/{flight}/{date}/check-in`: checks a passenger in at the desk, then
/// back to the flight with a toast.
async fn check_in(
    State(state): State<Departures>,
    ctx: AccessContext,
    Path((number, date)): Path<(String, String)>,
    form: FormData,
) -> Response {
    let Some(p) = principal() else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let back = ("Departures", "/departure");
    let (Some((number, date)), Some(customer)) = (
        parse_flight(&number, &date),
        form.text("customer")
            .and_then(aloft_customers::CustomerId::parse),
    ) else {
        return not_found(
            CHECKIN_SECTION,
            "Passenger not found",
            "The form names no passenger of a flight.",
            back,
        );
    };
    let here = flight_path("flights", number.as_str(), date);
    match state.check_in(&p, &ctx, &number, date, customer).await {
        Ok(Some(true)) => kit::redirect_with_notice(&here, "Checked in."),
        Ok(Some(false)) => kit::redirect_with_notice(&here, "Already checked in."),
        Ok(None) => not_found(
            CHECKIN_SECTION,
            "Passenger not found",
            "This passenger does not depart on this flight from your station in your check-in window.",
            back,
        ),
        Err(e) => failure(&e),
    }
}

/// `POST /departure/scan`: the passenger of a scanned boarding pass, or what is wrong with it.
async fn scan(State(state): State<Departures>, ctx: AccessContext, form: FormData) -> Response {
    let Some(p) = principal() else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    // Not `text()`: the fixed-width items keep their spaces.
    let text = form
        .pairs()
        .iter()
        .find(|(k, _)| k == "bcbp")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let result = state.scan(&p, &ctx, text, Utc::now()).await;
    let mut errors = FormErrors::new();
    let mut unreadable = false;
    let found = match result {
        Ok(found) => Some(found),
        Err(ScanError::Storage(e)) => return failure(&e),
        Err(e) => {
            errors.add("bcbp", sentence(&e.to_string()));
            unreadable = matches!(e, ScanError::Unreadable(_));
            None
        }
    };
    let status = if found.is_some() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let title = match &found {
        Some(f) => format!("Boarding pass: {}", f.passenger.name),
        None if unreadable => "Boarding pass not readable".to_owned(),
        None => "Passenger not found".to_owned(),
    };
    page(
        status,
        layout(
            &title,
            CHECKIN_SECTION,
            html! {
                (kit::page_header(
                    &[Crumb { label: "Home", href: "/" }, Crumb { label: "Departures", href: "/departure" }],
                    &title,
                    None,
                    None,
                ))
                @if let Some(found) = &found { (scan_result(found)) }
                (scan_form(&errors))
                (scripts())
            },
        ),
    )
}

/// The error as a sentence: capital first letter, full stop.
fn sentence(s: &str) -> String {
    let mut out = capitalise_first(s);
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}

fn capitalise_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn scan_result(found: &ScanResult) -> Markup {
    let l = &found.passenger;
    let leg = &found.pass.legs[found.leg];
    let seat_differs = leg.seat.is_some() && leg.seat != l.seat;
    html! {
        article.scan-result #scan-result aria-labelledby="scan-result-title" {
            header {
                h2 #scan-result-title {
                    a href=(format!("/customers/{}", l.customer.id)) { (l.name) }
                    " " (tier_badge(l.tier.as_deref()))
                    @if l.prm() { " " (kit::badge("PRM", Tone::Warn)) }
                }
            }
            @for d in &l.documents { (kit::notice(&format!("Check documents: {d}."), Tone::Warn)) }
            @if l.birthday { (kit::notice("Birthday today.", Tone::Good)) }
            (kit::facts(&[
                ("Booking (PNR)", html! { (l.pnr) }),
                ("Flight", html! {
                    a href=(flight_path("flights", leg.flight.as_str(), found.date)) { (leg.flight) }
                    " " (leg.from) " → " (leg.to) " · " (found.date.format("%a %-d %b %Y"))
                }),
                ("Seat", html! {
                    (kit::or_dash(l.seat.as_deref()))
                    @if seat_differs { " " (kit::badge(&format!("pass says {}", leg.seat.as_deref().unwrap_or("")), Tone::Warn)) }
                }),
                ("Cabin", html! { (capitalise(&l.cabin)) " (compartment " (leg.compartment) ")" }),
                ("Check-in", html! {
                    @match &l.checked_in {
                        Some(c) => {
                            (kit::badge("Checked in", Tone::Good))
                            " " (c.method.label())
                            @if let Some(seq) = &c.sequence { " · sequence " (seq) }
                        }
                        None => { "Not checked in (the pass has no check-in sequence number)" }
                    }
                }),
                ("Booking status", html! { (capitalise(&l.status)) @if l.bags > 0 { " · " (l.bags) " bag(s) tagged" } }),
                ("SSR / meal", ssr_badges(l)),
                ("E-ticket", kit::or_dash(l.ticket.as_deref())),
            ]))
            @if found.pass.legs.len() > 1 {
                p.muted { "This pass has " (found.pass.legs.len()) " legs; shown: leg " (found.leg + 1) ", the one departing from your station." }
            }
        }
    }
}

/// `GET /departure/roster`: the crew member's rostered flights.
async fn roster(State(state): State<Departures>) -> Response {
    let Some(p) = principal() else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let flights = match state.roster(&p, Utc::now()).await {
        Ok(f) => f,
        Err(e) => return failure(&e),
    };
    page(
        StatusCode::OK,
        layout(
            "My flights",
            CREW_SECTION,
            html! {
                (kit::page_header(&[Crumb { label: "Home", href: "/" }], "My flights", Some(html! { "Your rostered flights. A manifest opens from the day before departure to the day after, and stays readable offline once opened." }), None))
                (roster_list(&flights))
                (scripts())
            },
        ),
    )
}

/// The list of rostered flights (also the crew's home panel).
pub fn roster_list(flights: &[crate::service::RosterFlight]) -> Markup {
    if flights.is_empty() {
        return kit::empty_state(
            "No flights on your roster",
            "When crew scheduling puts you on a flight, it shows here with its manifest.",
            None,
        );
    }
    DataTable::new(
        "Rostered flights",
        vec![Column::new("Flight"), Column::new("Date"), Column::new("Manifest")],
    )
    .id("roster")
    .rows(
        flights
            .iter()
            .map(|f| {
                let n = &f.flight.flight_number;
                let d = f.flight.departure_date;
                vec![
                    html! { strong { (n) } },
                    html! { time datetime=(d.to_string()) { (d.format("%a %-d %b %Y")) } },
                    if f.active {
                        html! { a href=(flight_path("roster", n, d)) { "Open manifest" span.visually-hidden { " of " (n) " on " (d.format("%-d %b")) } } }
                    } else {
                        html! { span.muted { "Opens the day before departure" } }
                    },
                ]
            })
            .collect(),
    )
    .render()
}

/// `GET /departure/roster/{flight}/{date}`: a rostered flight's manifest, for the cabin.
async fn manifest(
    State(state): State<Departures>,
    ctx: AccessContext,
    Path((number, date)): Path<(String, String)>,
) -> Response {
    let Some(p) = principal() else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let back = ("My flights", "/departure/roster");
    let Some((number, date)) = parse_flight(&number, &date) else {
        return not_found(
            CREW_SECTION,
            "Flight not found",
            "The address names no flight and date.",
            back,
        );
    };
    let now = Utc::now();
    let rostered = match state.roster(&p, now).await {
        Ok(r) => r.iter().any(|f| {
            f.active && f.flight.flight_number == number.as_str() && f.flight.departure_date == date
        }),
        Err(e) => return failure(&e),
    };
    if !rostered {
        return not_found(
            CREW_SECTION,
            "Not on your roster",
            "This flight is not on your roster, or its manifest is not open yet (it opens the day before departure).",
            back,
        );
    }
    let view = match state
        .flight(&p, &ctx, &number, date, audit::MANIFEST_READ)
        .await
    {
        Ok(Some(v)) => v,
        Ok(None) => {
            return not_found(
                CREW_SECTION,
                "No passengers yet",
                "No passenger is booked on this flight yet.",
                back,
            );
        }
        Err(e) => return failure(&e),
    };
    let title = format!(
        "Manifest {} {} → {}",
        view.number,
        view.origin,
        destination(&view)
    );
    let count = |f: fn(&PassengerLine) -> bool| view.passengers.iter().filter(|l| f(l)).count();
    page(
        StatusCode::OK,
        layout(
            &title,
            CREW_SECTION,
            html! {
                div.offline-page data-offline-page data-source="network" data-generated=(now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) {
                    div.offline-banner #offline-banner role="status" hidden {
                        strong { "Offline copy from " time { "–" } " — may be stale." }
                        " Passengers who booked or changed since then are not shown."
                    }
                    (kit::page_header(
                        &[Crumb { label: "Home", href: "/" }, Crumb { label: "My flights", href: "/departure/roster" }],
                        &title,
                        Some(html! { (view.date.format("%A %-d %B %Y")) " · departs " (departure_time(&view)) " local · as of " time datetime=(now.to_rfc3339()) { (local_time(now, view.zone)) } }),
                        None,
                    ))
                    (kit::stats(&[
                        ("Passengers", view.passengers.len().to_string(), None),
                        ("Gold & Platinum", count(PassengerLine::top_tier).to_string(), None),
                        ("Special meals", count(|l| l.meal.is_some()).to_string(), None),
                        ("Need assistance", count(PassengerLine::prm).to_string(), None),
                        ("Birthdays today", count(|l| l.birthday).to_string(), None),
                    ]))
                    (manifest_table(&view))
                }
                (scripts())
            },
        ),
    )
}

fn manifest_table(view: &FlightView) -> Markup {
    DataTable::new(
        format!("Passengers of {} by seat", view.number),
        vec![
            Column::new("Seat"),
            Column::new("Passenger"),
            Column::new("Tier"),
            Column::new("Meal / SSR"),
            Column::new("Good to know"),
            Column::new("Drink"),
        ],
    )
    .id("manifest")
    .rows(
        view.passengers
            .iter()
            .map(|l| {
                vec![
                    html! { strong { (l.seat.as_deref().unwrap_or("—")) } },
                    html! { (l.name) },
                    tier_badge(l.tier.as_deref()),
                    ssr_badges(l),
                    html! {
                        @if l.birthday { (kit::badge("Birthday today", Tone::Good)) " " }
                        @if let Some(d) = &l.disruption { (kit::badge(d, Tone::Warn)) " " }
                        @if let Some(c) = &l.complaint { (kit::badge(c, Tone::Bad)) }
                        @if !l.birthday && l.disruption.is_none() && l.complaint.is_none() { "—" }
                    },
                    kit::or_dash(l.drink.as_deref()),
                ]
            })
            .collect(),
    )
    .render()
}
