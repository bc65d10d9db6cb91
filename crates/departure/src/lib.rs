//! Departure control: the check-in console (today's departures from the agent's station, a
//! flight's passengers with their special service requests, assistance needs, special meals,
//! tiers and documents to check, IATA boarding-pass scans) and the cabin crew console (the
//! rostered flights and each flight's manifest, readable on a tablet and offline).
//!
//! It composes the customers domain (profiles, row scopes) and the travel domain (flight
//! entries, bookings) like the ingest crate does, and reads crew rosters from access; all it
//! stores of its own is the check-ins it learns of ([`checkins`], migration 0031).
//!
//! - [`bcbp`]: the IATA BCBP (Resolution 792) parser; pure.
//! - [`manifest`]: a passenger's line (tier, SSR/PRM, meal, documents, birthday, recent
//!   disruption or complaint, drink); pure.
//! - [`checkins`]: check-in status (boarding pass scanned at the desk, or checked in there).
//! - [`service`]: the scoped, audited reads and the check-in.
//! - [`pages`]: the pages and the service worker.
//! - [`permissions`], [`events`]: what it checks and what it audits.
//!
//! Row scopes are conditions of the queries: a check-in agent sees the passengers departing
//! from their station in the check-in window, cabin crew the passengers of their active
//! rostered flights, nobody else anything.

pub mod bcbp;
pub mod checkins;
pub mod events;
pub mod manifest;
pub mod pages;
pub mod permissions;
pub mod service;

use chrono::Utc;
use maud::html;

use aloft_authz::{Access, Principal};
use aloft_vocab::FlightNumber;
use aloft_web::kit;
use aloft_web::{HomePanel, NavEntry, SearchHit, SearchSource};

pub use service::Departures;

use permissions::{CHECKIN_CONSOLE, CREW_MANIFEST};

/// Departure control as the application assembles it.
pub struct DepartureModule {
    departures: Departures,
}

impl DepartureModule {
    /// The module over its reads.
    pub fn new(departures: Departures) -> Self {
        Self { departures }
    }
}

impl aloft_module::DomainModule for DepartureModule {
    fn name(&self) -> &'static str {
        "departure"
    }

    fn permissions(&self) -> Vec<aloft_authz::PermissionInfo> {
        permissions::PERMISSIONS.to_vec()
    }

    fn policies(&self) -> Vec<aloft_authz::RoutePolicy> {
        pages::POLICY.to_vec()
    }

    fn events(&self) -> Vec<aloft_kernel::event_types::EventType> {
        events::event_types()
    }

    fn page_routes(&self) -> axum::Router {
        pages::routes(self.departures.clone())
    }

    fn navigation(&self) -> Vec<NavEntry> {
        vec![
            NavEntry {
                section: pages::CHECKIN_SECTION,
                href: "/departure",
                label: "Departures",
                summary: "Today's departures from your station, their passengers, and boarding-pass scans.",
                access: Access::Permission(CHECKIN_CONSOLE),
                order: 15,
            },
            NavEntry {
                section: pages::CREW_SECTION,
                href: "/departure/roster",
                label: "My flights",
                summary: "Your rostered flights and their passenger manifests, also offline.",
                access: Access::Permission(CREW_MANIFEST),
                order: 15,
            },
        ]
    }

    fn home_panels(&self) -> Vec<HomePanel> {
        let checkin = self.departures.clone();
        let crew = self.departures.clone();
        vec![
            HomePanel::new(
                "departures-today",
                Access::Permission(CHECKIN_CONSOLE),
                10,
                move |p: Principal| {
                    let d = checkin.clone();
                    async move {
                        let Some(station) = Departures::station_of(&p) else {
                            return kit::panel(
                                "departures-today",
                                "Today's departures",
                                kit::empty_state(
                                    "No station on your account",
                                    "Ask an administrator to set your station.",
                                    None,
                                ),
                            );
                        };
                        let title = format!("Departures from {station}: today and the next 12 hours");
                        let body = match d.station_today(&p, &station, Utc::now()).await {
                            Ok(day) => html! {
                                (pages::departures_table(&day, "Flights still to depart, local time"))
                                p { a href="/departure" { "Open the check-in console" } }
                            },
                            Err(_) => {
                                kit::notice("Departures cannot be read right now.", kit::Tone::Bad)
                            }
                        };
                        kit::panel("departures-today", &title, body)
                    }
                },
            )
            .wide(),
            HomePanel::new(
                "my-flights",
                Access::Permission(CREW_MANIFEST),
                10,
                move |p: Principal| {
                    let d = crew.clone();
                    async move {
                        let body = match d.roster(&p, Utc::now()).await {
                            Ok(flights) => pages::roster_list(&flights),
                            Err(_) => {
                                kit::notice("Your roster cannot be read right now.", kit::Tone::Bad)
                            }
                        };
                        kit::panel("my-flights", "My rostered flights", body)
                    }
                },
            )
            .wide(),
        ]
    }

    fn search_sources(&self) -> Vec<SearchSource> {
        let checkin = self.departures.clone();
        let crew = self.departures.clone();
        vec![
            SearchSource::new(
                "departure-checkin",
                Access::Permission(CHECKIN_CONSOLE),
                move |p, q| {
                    let d = checkin.clone();
                    async move { find(&d, &p, &q, "flights").await }
                },
            ),
            SearchSource::new(
                "departure-roster",
                Access::Permission(CREW_MANIFEST),
                move |p, q| {
                    let d = crew.clone();
                    async move { find(&d, &p, &q, "roster").await }
                },
            ),
        ]
    }
}

/// What a search query looks like to departure control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// A booking reference: six letters and digits (`ABC123`).
    Pnr(String),
    /// A bag tag: ten digits (`0125123456`) or two letters and six digits (`EK123456`).
    BagTag(String),
    /// A flight number (`LH400`, `EK 29`).
    Flight(FlightNumber),
}

/// Every reading of `q` departure control can answer (a six-character query may be both a PNR
/// and a flight number).
pub fn recognise(q: &str) -> Vec<Query> {
    let t: String = q.trim().to_ascii_uppercase();
    let compact: String = t.chars().filter(|c| *c != ' ').collect();
    let mut out = Vec::new();
    let b = compact.as_bytes();
    if b.len() == 6 && b.iter().all(u8::is_ascii_alphanumeric) && t == compact {
        out.push(Query::Pnr(compact.clone()));
    }
    if (b.len() == 10 && b.iter().all(u8::is_ascii_digit))
        || (b.len() == 8
            && b[..2].iter().all(u8::is_ascii_alphabetic)
            && b[2..].iter().all(u8::is_ascii_digit))
    {
        out.push(Query::BagTag(compact.clone()));
    }
    if t.split_whitespace().count() <= 2
        && let Ok(f) = FlightNumber::parse(&t)
    {
        out.push(Query::Flight(f));
    }
    out
}

async fn find(d: &Departures, p: &Principal, q: &str, pages: &str) -> Vec<SearchHit> {
    let now = Utc::now();
    let mut hits = Vec::new();
    for query in recognise(q) {
        match query {
            Query::Pnr(pnr) => {
                for (key, origin, dest, at) in d.find_pnr(p, &pnr, now).await.unwrap_or_default() {
                    if let Some((number, date)) = key.split_once(' ') {
                        hits.push(SearchHit {
                            kind: "Booking",
                            title: format!("Booking {pnr}"),
                            detail: format!(
                                "{number} {origin} → {dest} · {}",
                                at.format("%-d %b %H:%M UTC")
                            ),
                            href: format!("/departure/{pages}/{number}/{date}#pnr-{pnr}"),
                        });
                    }
                }
            }
            Query::BagTag(tag) => {
                for (key, origin, at) in d.find_bag(p, &tag, now).await.unwrap_or_default() {
                    if let Some((number, date)) = key.split_once(' ') {
                        hits.push(SearchHit {
                            kind: "Bag",
                            title: format!("Bag {tag}"),
                            detail: format!(
                                "{number} from {origin} · {}",
                                at.format("%-d %b %H:%M UTC")
                            ),
                            href: format!("/departure/{pages}/{number}/{date}"),
                        });
                    }
                }
            }
            Query::Flight(f) => {
                if pages == "roster" {
                    for r in d.roster(p, now).await.unwrap_or_default() {
                        if r.active && r.flight.flight_number == f.as_str() {
                            hits.push(SearchHit {
                                kind: "Flight",
                                title: format!(
                                    "{} on {}",
                                    f,
                                    r.flight.departure_date.format("%-d %b")
                                ),
                                detail: "Manifest".into(),
                                href: format!("/departure/roster/{f}/{}", r.flight.departure_date),
                            });
                        }
                    }
                } else if let Some(station) = Departures::station_of(p)
                    && let Ok(day) = d.station_today(p, &station, now).await
                {
                    for fl in day.flights.iter().filter(|x| x.number == f.as_str()) {
                        hits.push(SearchHit {
                            kind: "Flight",
                            title: format!("{} {station} → {}", fl.number, fl.destination),
                            detail: format!("{} passengers today", fl.passengers),
                            href: format!("/departure/flights/{}/{}", fl.number, fl.date),
                        });
                    }
                }
            }
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_recognised_as_pnrs_bag_tags_and_flights() {
        assert_eq!(recognise("abc123"), [Query::Pnr("ABC123".into())]);
        assert_eq!(
            recognise("0125123456"),
            [Query::BagTag("0125123456".into())]
        );
        assert_eq!(recognise("EK123456"), [Query::BagTag("EK123456".into())]);
        assert_eq!(
            recognise("EK 29"),
            [Query::Flight(FlightNumber::parse("EK29").unwrap())]
        );
        // Six characters that are also a flight number: both readings.
        assert_eq!(recognise("LH400A").len(), 2);
        assert!(recognise("Müller").is_empty());
        assert!(recognise("john smith").is_empty());
    }
}
