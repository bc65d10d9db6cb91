//! Departure control (issue 18): the check-in console sees its station's departures only, a
//! boarding pass finds its passenger (or names what is wrong with it), cabin crew see the
//! manifests of their rostered flights only, and nobody else sees either console.

mod common;

use std::time::Instant;

use aloft::roles::ids;
use aloft_kernel::AccessContext;
use aloft_travel::{CustomerId, Record, RecordKind, TravelStore};
use bytes::Bytes;
use chrono::{Duration, NaiveDate, Utc};
use common::{StaffSession, TestApp, on_each_backend};
use serde_json::json;

/// Dubai keeps UTC+4 all year.
const DUBAI: i64 = 4;

/// The local date at Dubai of a departure `hours` from now (the flight's key date).
fn dubai_date(hours: i64) -> NaiveDate {
    (Utc::now() + Duration::hours(hours + DUBAI)).date_naive()
}

/// A booking `pnr` on `flight` from `origin` (Dubai or London) departing `hours` from now.
fn booking(pnr: &str, flight: &str, origin: &str, hours: i64, seat: &str) -> Record {
    let departure = Utc::now() + Duration::hours(hours);
    let (offset, destination) = match origin {
        "DXB" => (DUBAI, "LHR"),
        _ => (0, "JFK"),
    };
    let local = departure + Duration::hours(offset);
    let fmt = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M").to_string();
    Record::parse(
        RecordKind::Booking,
        &json!({"source": "gds", "source_record_id": format!("{pnr}-{flight}"), "record_locator": pnr,
            "segments": [{"flight_number": flight, "origin": origin, "destination": destination,
                "scheduled_departure_local": fmt(local),
                "scheduled_arrival_local": fmt(local + Duration::hours(7)),
                "cabin": "economy", "rbd": "Y", "status": "scheduled", "seat": seat,
                "ticket_number": "1761234567890"}]}),
    )
    .unwrap()
}

/// A past delayed flight and a complaint about it, a week ago.
fn disruption(pnr: &str) -> Vec<Record> {
    let then = Utc::now() - Duration::days(7);
    let fmt = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M").to_string();
    vec![
        Record::parse(
            RecordKind::Booking,
            &json!({"source": "gds", "source_record_id": format!("{pnr}-past"), "record_locator": pnr,
                "segments": [{"flight_number": "EK2", "origin": "LHR", "destination": "DXB",
                    "scheduled_departure_local": fmt(then),
                    "scheduled_arrival_local": fmt(then + Duration::hours(11)),
                    "cabin": "economy", "rbd": "Y", "status": "delayed", "delay_minutes": 185}]}),
        )
        .unwrap(),
        Record::parse(
            RecordKind::Feedback,
            &json!({"source": "loyalty", "source_record_id": format!("{pnr}-complaint"), "kind": "complaint",
                "submitted_at": (then + Duration::days(1)).to_rfc3339(),
                "text": "The delay was handled poorly at the gate.", "rating": 2, "flight_number": "EK2"}),
        )
        .unwrap(),
    ]
}

struct Scene {
    app: TestApp,
    /// Ali Turner (gold, WCHR, vegan meal, birthday today) on EK1 from Dubai in 3 h, PNR TRN001.
    ali: String,
    /// Sara Haddad on EK1 from Dubai in 3 h, PNR HAD777.
    sara: String,
    /// Flies from London: no Dubai agent sees her.
    london: String,
}

async fn scene(backend: aloft_kernel::Backend) -> Scene {
    let app = TestApp::spawn(backend).await;
    let birthday = format!("1980-{}", dubai_date(3).format("%m-%d"));
    let ali = app
        .create_customer(json!({
            "first_name": "Ali", "last_name": "Turner", "date_of_birth": birthday,
            "nationality": "AE", "passport_number": "P1234567", "passport_expiry": "2035-01-01",
            "loyalty_number": "AL200000001", "loyalty_tier": "gold",
            "preferences": {"meal": "VGML", "drink": "Mint tea", "special_service_requests": ["WCHR"]}
        }))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let sara = app
        .create_customer(
            json!({"first_name": "Sara", "last_name": "Haddad", "nationality": "GB",
            "passport_expiry": "2027-01-15"}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let london = app
        .create_customer(json!({"first_name": "Lena", "last_name": "Turner"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let travel = TravelStore::new(
        app.test_db.db.clone(),
        std::sync::Arc::new(app.customers.clone()),
    );
    let ctx = AccessContext::system("test");
    let id = |s: &str| CustomerId::parse(s).unwrap();
    let mut records = vec![
        (id(&ali), booking("TRN001", "EK1", "DXB", 3, "21C")),
        (id(&sara), booking("HAD777", "EK1", "DXB", 3, "3A")),
        (id(&london), booking("LON555", "BA117", "LHR", 3, "12A")),
    ];
    records.extend(disruption("TRN001").into_iter().map(|r| (id(&ali), r)));
    travel.record_many(records, &ctx).await.unwrap();
    Scene {
        app,
        ali,
        sara,
        london,
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

async fn roster_crew(app: &TestApp, lines: &str) {
    let crew = app
        .accounts
        .by_username("cabin_crew")
        .await
        .unwrap()
        .unwrap();
    app.accounts
        .set_roster(
            crew.id,
            &aloft_access::roster::RosteredFlight::parse_list(lines).unwrap(),
            &AccessContext::system("test"),
        )
        .await
        .unwrap();
}

async fn audited(app: &TestApp, action: &str) -> Vec<String> {
    // Reads are appended in group commits before the page is sent.
    sqlx::query_scalar("SELECT resource_id FROM audit_log WHERE action = $1 ORDER BY seq")
        .bind(action)
        .fetch_all(app.test_db.db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_dubai_check_in_agent_sees_dubai_departures_and_their_passengers_only() {
    on_each_backend(|backend| async move {
        let s = scene(backend).await;
        let app = &s.app;
        let agent = app.sign_in_as(ids::CHECKIN_AGENT).await;
        let date = dubai_date(3);

        let list = app.get_as(&agent, "/departure").await;
        assert_eq!(list.status, 200, "{}", list.text());
        let html = list.text();
        assert!(html.contains("Departures from DXB"), "{html}");
        assert!(
            html.contains(&format!("/departure/flights/EK1/{date}")),
            "{html}"
        );
        assert!(
            !html.contains("BA117"),
            "London's departures are not Dubai's: {html}"
        );
        // Counts only: no name is shown, so nothing is audited.
        assert!(!html.contains("Turner"));

        let flight = app
            .get_as(&agent, &format!("/departure/flights/EK1/{date}"))
            .await;
        assert_eq!(flight.status, 200, "{}", flight.text());
        let html = flight.text();
        for expected in [
            "TURNER, Ali",
            "HADDAD, Sara",
            "TRN001",
            "WCHR",
            "VGML",
            "Gold",
            "21C",
        ] {
            assert!(html.contains(expected), "{expected}: {html}");
        }
        // Entering the UK: a non-British national is asked for a visa or ETA; a British one
        // whose passport runs out within six months is told so.
        assert!(html.contains("United Kingdom: visa or ETA"), "{html}");
        assert!(html.contains("Passport under 6 months"), "{html}");
        let read = audited(app, "departure.passenger_list_read").await;
        assert!(
            read.contains(&s.ali),
            "every passenger shown is audited: {read:?}"
        );
        assert!(!read.contains(&s.london));

        // London's flight does not exist for a Dubai agent.
        let other = app
            .get_as(&agent, &format!("/departure/flights/BA117/{date}"))
            .await;
        assert_eq!(other.status, 404);
        assert!(!other.text().contains("Lena"));

        // The global search finds a booking by PNR and a flight by number, in the station only.
        let found = app.get_as(&agent, "/search?q=trn001").await;
        assert_eq!(found.status, 303, "{}", found.text());
        assert_eq!(
            found.header("location"),
            format!("/departure/flights/EK1/{date}#pnr-TRN001")
        );
        let found = app.get_as(&agent, "/search?q=EK%201").await;
        assert_eq!(
            found.header("location"),
            format!("/departure/flights/EK1/{date}")
        );
        let none = app.get_as(&agent, "/search?q=LON555").await;
        assert_eq!(none.status, 200);
        assert!(none.text().contains("Nothing found"), "{}", none.text());

        // The home page shows today's departures (and always the next twelve hours).
        let home = app.get_as(&agent, "/").await.text();
        assert!(
            home.contains("Departures from DXB: today and the next 12 hours"),
            "{home}"
        );
        s.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_boarding_pass_finds_its_passenger_or_names_the_bad_item() {
    on_each_backend(|backend| async move {
        let s = scene(backend).await;
        let app = &s.app;
        let agent = app.sign_in_as(ids::CHECKIN_AGENT).await;
        let date = dubai_date(3);
        let flight = aloft_travel::model::FlightNumber::parse("EK1").unwrap();
        let pass = aloft_departure::bcbp::encode(
            "Turner",
            "Ali",
            "TRN001",
            "DXB",
            "LHR",
            &flight,
            date,
            'Y',
            Some("21C"),
            7,
        );
        let r = app
            .post_form_as(
                &agent,
                "/departure/scan",
                &form(&[("bcbp", &format!("{pass}\r\n"))]),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let html = r.text();
        for expected in [
            "TURNER, Ali",
            "TRN001",
            "21C",
            "WCHR",
            "Gold",
            "Birthday today",
        ] {
            assert!(html.contains(expected), "{expected}: {html}");
        }
        assert!(
            audited(app, "departure.boarding_pass_read")
                .await
                .contains(&s.ali)
        );

        // A lower-case compartment code: the error names the item and its position.
        let mut bad = pass.clone();
        bad.replace_range(47..48, "y");
        let r = app
            .post_form_as(&agent, "/departure/scan", &form(&[("bcbp", &bad)]))
            .await;
        assert_eq!(r.status, 422);
        assert!(
            r.text()
                .contains("Compartment code at position 48 must be a capital letter"),
            "{}",
            r.text()
        );
        // Cut short.
        let r = app
            .post_form_as(&agent, "/departure/scan", &form(&[("bcbp", &pass[..30])]))
            .await;
        assert_eq!(r.status, 422);
        assert!(
            r.text()
                .contains("From airport (position 31, 3 characters) is missing"),
            "{}",
            r.text()
        );
        // Someone else's pass from London, and a PNR nobody holds.
        let london = aloft_departure::bcbp::encode(
            "Turner",
            "Lena",
            "LON555",
            "LHR",
            "JFK",
            &aloft_travel::model::FlightNumber::parse("BA117").unwrap(),
            date,
            'Y',
            None,
            1,
        );
        let r = app
            .post_form_as(&agent, "/departure/scan", &form(&[("bcbp", &london)]))
            .await;
        assert_eq!(r.status, 422);
        assert!(
            r.text()
                .contains("for a flight from LHR; your station is DXB"),
            "{}",
            r.text()
        );
        let unknown = pass.replacen("TRN001", "ZZZ999", 1);
        let r = app
            .post_form_as(&agent, "/departure/scan", &form(&[("bcbp", &unknown)]))
            .await;
        assert_eq!(r.status, 422);
        assert!(
            r.text().contains("No passenger TURNER with booking ZZZ999"),
            "{}",
            r.text()
        );
        s.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn check_in_status_comes_from_a_scanned_pass_or_the_desk_and_is_recorded_once() {
    on_each_backend(|backend| async move {
        let s = scene(backend).await;
        let app = &s.app;
        let agent = app.sign_in_as(ids::CHECKIN_AGENT).await;
        let date = dubai_date(3);
        let page = format!("/departure/flights/EK1/{date}");
        let check_in = format!("{page}/check-in");
        let html = app.get_as(&agent, &page).await.text();
        assert!(html.contains("0 of 2"), "nobody checked in yet: {html}");
        // The departures list is shared for a few seconds; a check-in makes it stale at once.
        let list = app.get_as(&agent, "/departure").await.text();
        assert!(list.contains("0 checked in"), "{list}");
        assert!(html.contains("Check in TURNER, Ali"), "{html}");

        // Ali's boarding pass carries check-in sequence 7: scanning it records the check-in.
        let flight = aloft_travel::model::FlightNumber::parse("EK1").unwrap();
        let pass = aloft_departure::bcbp::encode(
            "Turner",
            "Ali",
            "TRN001",
            "DXB",
            "LHR",
            &flight,
            date,
            'Y',
            Some("21C"),
            7,
        );
        let r = app
            .post_form_as(&agent, "/departure/scan", &form(&[("bcbp", &pass)]))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.text().contains("Checked in"), "{}", r.text());
        // Sara checks in at the desk; a second press changes nothing.
        for _ in 0..2 {
            let r = app
                .post_form_as(&agent, &check_in, &form(&[("customer", &s.sara)]))
                .await;
            assert_eq!(r.status, 303, "{}", r.text());
            assert_eq!(r.header("location"), page);
        }
        // Lena departs from London: not the Dubai agent's to check in; nothing recorded.
        let r = app
            .post_form_as(&agent, &check_in, &form(&[("customer", &s.london)]))
            .await;
        assert_eq!(r.status, 404, "{}", r.text());
        let r = app
            .post_form_as(&agent, &check_in, &form(&[("customer", "not-an-id")]))
            .await;
        assert_eq!(r.status, 404, "{}", r.text());

        let html = app.get_as(&agent, &page).await.text();
        assert!(html.contains("2 of 2"), "{html}");
        assert!(
            html.contains("boarding pass") && html.contains("at the desk"),
            "{html}"
        );
        let list = app.get_as(&agent, "/departure").await.text();
        assert!(list.contains("2 checked in"), "{list}");

        // One record, one event and one audit entry per check-in, in the same transaction.
        let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM departure_checkins")
            .fetch_one(app.test_db.db.pool())
            .await
            .unwrap();
        assert_eq!(rows, 2);
        let events: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE event_type = 'aloft.passenger.checked_in'",
        )
        .fetch_one(app.test_db.db.pool())
        .await
        .unwrap();
        assert_eq!(events, 2);
        let mut recorded = audited(app, "departure.checkin_recorded").await;
        recorded.sort();
        let mut expected = vec![s.ali.clone(), s.sara.clone()];
        expected.sort();
        assert_eq!(recorded, expected);

        // Cabin crew may not check anyone in.
        let crew = app.sign_in_as(ids::CABIN_CREW).await;
        let r = app
            .post_form_as(&crew, &check_in, &form(&[("customer", &s.ali)]))
            .await;
        assert_eq!(r.status, 403);
        s.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn cabin_crew_see_the_manifests_of_their_rostered_flights_only() {
    on_each_backend(|backend| async move {
        let s = scene(backend).await;
        let app = &s.app;
        let date = dubai_date(3);
        roster_crew(app, &format!("EK1 {date}")).await;
        let crew = app.sign_in_as(ids::CABIN_CREW).await;

        let roster = app.get_as(&crew, "/departure/roster").await;
        assert_eq!(roster.status, 200);
        assert!(
            roster
                .text()
                .contains(&format!("/departure/roster/EK1/{date}"))
        );

        let manifest = app
            .get_as(&crew, &format!("/departure/roster/EK1/{date}"))
            .await;
        assert_eq!(manifest.status, 200, "{}", manifest.text());
        let html = manifest.text();
        for expected in [
            "TURNER, Ali",
            "21C",
            "Gold",
            "VGML",
            "WCHR",
            "Birthday today",
            "Mint tea",
            "Delayed 3 h 05 min: EK2",
            "Complaint on",
            "data-source=\"network\"",
            "data-generated=",
            "Offline copy from",
        ] {
            assert!(html.contains(expected), "{expected}: {html}");
        }
        // Seat order: 3A before 21C.
        assert!(html.find("HADDAD").unwrap() < html.find("TURNER").unwrap());
        assert!(
            audited(app, "departure.manifest_read")
                .await
                .contains(&s.ali)
        );

        // Not on the roster: nothing.
        let other = app
            .get_as(&crew, &format!("/departure/roster/BA117/{date}"))
            .await;
        assert_eq!(other.status, 404);
        // The check-in console is not theirs.
        assert_eq!(app.get_as(&crew, "/departure").await.status, 403);
        // Their home page lists the flight; the search finds it.
        let home = app.get_as(&crew, "/").await.text();
        assert!(
            home.contains(&format!("/departure/roster/EK1/{date}")),
            "{home}"
        );
        let found = app.get_as(&crew, "/search?q=EK1").await;
        assert_eq!(
            found.header("location"),
            format!("/departure/roster/EK1/{date}")
        );

        // The service worker may control /departure/ and is served to anyone (code only).
        let sw = app
            .request(
                "GET",
                "/departure/sw.js",
                &[("authorization", "")],
                Bytes::new(),
            )
            .await;
        assert_eq!(sw.status, 200);
        assert_eq!(sw.header("service-worker-allowed"), "/departure/");
        assert!(sw.header("content-type").starts_with("text/javascript"));
        s.app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn other_roles_are_refused_both_consoles() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let date = dubai_date(3);
        for role in [
            ids::CONTACT_CENTRE_AGENT,
            ids::DATA_PRIVACY_OFFICER,
            ids::LOYALTY_MANAGER,
            ids::ADMINISTRATOR,
            ids::MARKETING_MANAGER,
        ] {
            let auth = app.role_tokens.get(role).to_owned();
            for path in [
                "/departure".to_owned(),
                format!("/departure/flights/EK1/{date}"),
                "/departure/roster".to_owned(),
                format!("/departure/roster/EK1/{date}"),
            ] {
                let r = app
                    .request("GET", &path, &[("authorization", &auth)], Bytes::new())
                    .await;
                assert_eq!(r.status, 403, "{role} {path}");
            }
        }
        let agent = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
        let r = app.post_form_as(&agent, "/departure/scan", "bcbp=M1").await;
        assert_eq!(r.status, 403);
        app.stop().await;
    })
    .await;
}

/// `n` in letters (names hold no digits): 0 → `a`, 27 → `bb`.
fn letters(n: u32) -> String {
    let (hi, lo) = (n / 26, n % 26);
    let c = |d: u32| char::from(b'a' + d as u8);
    if hi == 0 {
        c(lo).to_string()
    } else {
        format!("{}{}", c(hi % 26), c(lo))
    }
}

/// The manifest of a full 300-seat flight, each passenger with a profile, a meal, a past
/// booking and some feedback: server time per request (loopback round trip, p50/p99).
/// `cargo test -p aloft --test departure -- --ignored --nocapture manifest_of_a_full_flight`
#[tokio::test]
#[ignore]
async fn manifest_of_a_full_flight_performance() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let travel = TravelStore::new(
            app.test_db.db.clone(),
            std::sync::Arc::new(app.customers.clone()),
        );
        let ctx = AccessContext::system("bench");
        let date = dubai_date(3);
        let mut records = Vec::new();
        for n in 0..300u32 {
            let tier = ["blue", "silver", "gold", "platinum"][n as usize % 4];
            let ssrs: Vec<&str> = if n % 20 == 0 { vec!["WCHR"] } else { vec![] };
            let c = app
                .create_customer(json!({
                    "first_name": format!("Pax{}", letters(n)), "last_name": format!("Traveller{}", letters(n)),
                    "date_of_birth": "1975-06-15", "nationality": "IN", "passport_expiry": "2030-01-01",
                    "loyalty_number": format!("AL3{n:08}"), "loyalty_tier": tier,
                    "preferences": {"meal": "AVML", "drink": "Water", "special_service_requests": ssrs}
                }))
                .await;
            let id = CustomerId::parse(c["id"].as_str().unwrap()).unwrap();
            let pnr = format!("P{n:05}");
            let seat = format!("{}{}", n / 9 + 1, ["A", "B", "C", "D", "E", "F", "G", "H", "K"][n as usize % 9]);
            records.push((id, booking(&pnr, "EK1", "DXB", 3, &seat)));
            records.extend(disruption(&pnr).into_iter().map(|r| (id, r)));
        }
        travel.record_many(records, &ctx).await.unwrap();
        roster_crew(&app, &format!("EK1 {date}")).await;
        let crew: StaffSession = app.sign_in_as(ids::CABIN_CREW).await;
        let path = format!("/departure/roster/EK1/{date}");
        let first = app.get_as(&crew, &path).await;
        assert_eq!(first.status, 200);
        assert_eq!(first.text().matches("TRAVELLER").count(), 300);
        let mut times = Vec::new();
        for _ in 0..300 {
            let start = Instant::now();
            let r = app.get_as(&crew, &path).await;
            times.push(start.elapsed());
            assert_eq!(r.status, 200);
        }
        times.sort();
        let p = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
        println!(
            "manifest of 300 passengers on {backend:?}: p50 {:?}, p99 {:?}, max {:?} ({} requests)",
            p(0.5),
            p(0.99),
            times[times.len() - 1],
            times.len()
        );
        app.stop().await;
    })
    .await;
}
