//! The customer timeline through the API and the pages: newest first, filtered by kind,
//! paginated, permission-checked, and linked from the profile page.

mod common;

use aloft::roles::ids;
use aloft_kernel::AccessContext;
use aloft_travel::{Record, RecordKind, TravelStore};
use bytes::Bytes;
use common::{TestApp, on_each_backend};
use serde_json::json;

#[tokio::test]
async fn the_timeline_shows_a_customers_history_newest_first() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let c = app.create_customer(json!({"first_name": "Ana", "last_name": "Silva"})).await;
        let id = c["id"].as_str().unwrap().to_owned();
        let customer = aloft_travel::CustomerId::parse(&id).unwrap();
        let store = TravelStore::new(app.test_db.db.clone(), std::sync::Arc::new(app.customers.clone()));
        let ctx = AccessContext::system("test");
        let interaction = |n: u32, at: &str| {
            Record::parse(
                RecordKind::Interaction,
                &json!({"source": "voice", "source_record_id": format!("call-{n}"), "channel": "call",
                    "direction": "inbound", "occurred_at": at, "subject": format!("Call {n}"),
                    "body": "Card 4111 1111 1111 1111 mentioned", "duration_seconds": 120}),
            )
            .unwrap()
        };
        let lounge = Record::parse(
            RecordKind::LoungeVisit,
            &json!({"source": "lounges", "source_record_id": "visit-1", "airport": "LHR",
                "lounge": "Galleries North", "entered_at": "2026-03-12T07:30:00Z"}),
        )
        .unwrap();
        store.record(customer, lounge, &ctx).await.unwrap();
        for n in 0..5u32 {
            store
                .record(customer, interaction(n, &format!("2026-03-1{n}T10:00:00Z")), &ctx)
                .await
                .unwrap();
        }
        let path = format!("/api/v1/customers/{id}/timeline");
        let all = app.get(&format!("{path}?limit=3")).await;
        assert_eq!(all.status, 200, "{}", all.text());
        let body = all.json();
        let entries = body["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 3);
        assert!(entries[0]["summary"].as_str().unwrap().contains("Call 4"), "{body}");
        let times: Vec<&str> = entries.iter().map(|e| e["occurred_at"].as_str().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");
        let next = body["next_cursor"].as_str().unwrap();
        let rest = app.get(&format!("{path}?limit=3&cursor={next}")).await.json();
        assert_eq!(rest["entries"].as_array().unwrap().len(), 3);
        assert!(rest.get("next_cursor").is_none(), "six entries in two pages");
        let lounges = app.get(&format!("{path}?kinds=lounge_visit")).await.json();
        assert_eq!(lounges["entries"].as_array().unwrap().len(), 1);
        let bad = app.get(&format!("{path}?kinds=spaceflight&limit=0")).await;
        assert_eq!(bad.status, 422);
        assert!(!app.get(&path).await.text().contains("4111 1111 1111 1111"), "no card numbers");
        // Permissions: like profile reads.
        let marketing = app
            .request("GET", &path, &[("authorization", app.role_tokens.get(ids::MARKETING_MANAGER))], Bytes::new())
            .await;
        assert_eq!(marketing.status, 403);
        // The pages: the profile loads the timeline; the timeline page filters.
        let staff = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
        let profile = app.get_as(&staff, &format!("/customers/{id}")).await.text();
        assert!(profile.contains(&format!("href=\"/customers/{id}?tab=timeline\"")));
        let page = app.get_as(&staff, &format!("/customers/{id}/timeline?kind=interaction")).await;
        assert_eq!(page.status, 200);
        assert!(page.text().contains("Call 4") && !page.text().contains("Galleries"));
        // An agent logs a call from the page; card numbers in notes are masked before storage.
        let logged = app
            .post_form_as(
                &staff,
                &format!("/customers/{id}/interactions"),
                "channel=call&direction=inbound&subject=Lost+bag+follow-up&body=Paid+with+4111+1111+1111+1111",
            )
            .await;
        assert_eq!(logged.status, 303, "{}", logged.text());
        let after = app.get(&format!("{path}?kinds=interaction&limit=1")).await.json();
        assert!(after["entries"][0]["summary"].as_str().unwrap().contains("Lost bag follow-up"), "{after}");
        let stored: Vec<String> = sqlx::query_scalar("SELECT document FROM travel_records WHERE source = 'aloft'")
            .fetch_all(app.test_db.db.pool())
            .await
            .unwrap();
        assert_eq!(stored.len(), 1);
        assert!(!stored[0].contains("4111") && !stored[0].contains("Paid"), "the notes are sealed: {}", stored[0]);
        let id_of: String = sqlx::query_scalar("SELECT id FROM travel_records WHERE source = 'aloft'")
            .fetch_one(app.test_db.db.pool())
            .await
            .unwrap();
        let read = store.get(uuid::Uuid::parse_str(&id_of).unwrap()).await.unwrap().unwrap();
        let aloft_travel::Record::Interaction(call) = read.record else { panic!("a call") };
        let body = call.body.unwrap();
        assert!(!body.as_str().contains("4111 1111 1111 1111") && body.as_str().contains("411111******1111"), "{body}");
        let bad = app.post_form_as(&staff, &format!("/customers/{id}/interactions"), "channel=pigeon&direction=inbound&subject=x").await;
        assert_eq!(bad.status, 422);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn check_in_agents_see_only_passengers_departing_from_their_station() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let departing = app
            .create_customer(json!({"first_name": "Ana", "last_name": "Travels"}))
            .await;
        let staying = app
            .create_customer(json!({"first_name": "Bo", "last_name": "Travels"}))
            .await;
        let (dep_id, stay_id) = (
            departing["id"].as_str().unwrap(),
            staying["id"].as_str().unwrap(),
        );
        // Ana flies DXB → LHR in ten hours (the demo check-in agent's station is DXB, UTC+4).
        let departure = chrono::Utc::now() + chrono::Duration::hours(10);
        let local = |t: chrono::DateTime<chrono::Utc>, offset_h: i64| {
            (t + chrono::Duration::hours(offset_h))
                .format("%Y-%m-%dT%H:%M")
                .to_string()
        };
        let booking = Record::parse(
            RecordKind::Booking,
            &json!({"source": "gds", "source_record_id": "PNR1", "record_locator": "ABC123",
                "segments": [{"flight_number": "EK1", "origin": "DXB", "destination": "LHR",
                    "scheduled_departure_local": local(departure, 4),
                    "scheduled_arrival_local": local(departure + chrono::Duration::hours(7), 0),
                    "cabin": "economy", "rbd": "Y", "status": "scheduled"}]}),
        )
        .unwrap();
        TravelStore::new(
            app.test_db.db.clone(),
            std::sync::Arc::new(app.customers.clone()),
        )
        .record(
            aloft_travel::CustomerId::parse(dep_id).unwrap(),
            booking,
            &AccessContext::system("test"),
        )
        .await
        .unwrap();
        let agent = app.sign_in_as(ids::CHECKIN_AGENT).await;
        assert_eq!(
            app.get_as(&agent, &format!("/customers/{dep_id}"))
                .await
                .status,
            200
        );
        assert_eq!(
            app.get_as(&agent, &format!("/customers/{stay_id}"))
                .await
                .status,
            404,
            "not departing: not visible"
        );
        let search = app.get_as(&agent, "/customers?q=travels").await.text();
        assert!(
            search.contains(dep_id) && !search.contains(stay_id),
            "search is scoped too"
        );
        let edit = app
            .post_form_as(
                &agent,
                &format!("/customers/{stay_id}/edit"),
                "version=1&first_name=X&last_name=Y",
            )
            .await;
        assert_eq!(edit.status, 404, "nor changeable");
        assert_eq!(
            app.get_as(&agent, &format!("/customers/{stay_id}/timeline"))
                .await
                .status,
            404,
            "nor their timeline"
        );
        assert_eq!(
            app.get_as(&agent, &format!("/customers/{dep_id}/timeline"))
                .await
                .status,
            200
        );
        // An unscoped role sees both.
        let contact = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
        assert_eq!(
            app.get_as(&contact, &format!("/customers/{stay_id}"))
                .await
                .status,
            200
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn seat_and_meal_suggestions_put_stated_preferences_first_then_habits() {
    let app = TestApp::spawn(aloft_kernel::Backend::Sqlite).await;
    let c = app
        .create_customer(
            json!({"first_name": "Ana", "last_name": "Silva", "preferences": {"meal": "VGML"}}),
        )
        .await;
    let id = c["id"].as_str().unwrap().to_owned();
    let store = TravelStore::new(
        app.test_db.db.clone(),
        std::sync::Arc::new(app.customers.clone()),
    );
    for (n, seat) in ["12C", "14D", "3C", "22A", "8G"].iter().enumerate() {
        let booking = Record::parse(
            RecordKind::Booking,
            &json!({"source": "gds", "source_record_id": format!("PNR{n}"), "record_locator": format!("ABC12{n}"),
                "segments": [{"flight_number": "BA117", "origin": "LHR", "destination": "JFK",
                    "scheduled_departure_local": format!("2026-0{}-12T09:40", n + 1),
                    "scheduled_arrival_local": format!("2026-0{}-12T12:35", n + 1),
                    "cabin": "economy", "rbd": "Y", "seat": seat, "status": "flown"}]}),
        )
        .unwrap();
        store
            .record(
                aloft_travel::CustomerId::parse(&id).unwrap(),
                booking,
                &AccessContext::system("test"),
            )
            .await
            .unwrap();
    }
    let s = app
        .get(&format!("/api/v1/customers/{id}/suggestions"))
        .await;
    assert_eq!(s.status, 200, "{}", s.text());
    let s = s.json();
    assert_eq!(s["seat"]["value"], "aisle");
    assert_eq!(s["seat"]["basis"], "learned");
    assert_eq!(
        s["seat"]["reason"],
        "4 of the last 5 flights in an aisle seat."
    );
    assert_eq!(s["meal"]["value"], "VGML");
    assert_eq!(s["meal"]["basis"], "stated");
    let unknown = app
        .get("/api/v1/customers/0190f3c2-0000-7000-8000-000000000000/suggestions")
        .await;
    assert_eq!(unknown.status, 404);
    app.stop().await;
}

#[tokio::test]
async fn cabin_crew_see_only_the_passengers_of_their_rostered_flights() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let flying = app
            .create_customer(
                json!({"first_name": "Ana", "last_name": "Aloft", "preferences": {"meal": "VGML"}}),
            )
            .await;
        let other = app
            .create_customer(json!({"first_name": "Bo", "last_name": "Aloft"}))
            .await;
        let (fly_id, other_id) = (
            flying["id"].as_str().unwrap(),
            other["id"].as_str().unwrap(),
        );
        // Ana is on BA117 DXB → LHR in three hours; Bo on another flight.
        let departure = chrono::Utc::now() + chrono::Duration::hours(3);
        let local = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M").to_string();
        // Dubai keeps UTC+4 all year.
        let dubai = departure + chrono::Duration::hours(4);
        let date = dubai.format("%Y-%m-%d").to_string();
        let booking = |pnr: &str, flight: &str| {
            Record::parse(
                RecordKind::Booking,
                &json!({"source": "gds", "source_record_id": pnr, "record_locator": pnr,
                    "segments": [{"flight_number": flight, "origin": "DXB", "destination": "LHR",
                        "scheduled_departure_local": local(dubai),
                        "scheduled_arrival_local": local(departure + chrono::Duration::hours(7)),
                        "cabin": "economy", "rbd": "Y", "status": "scheduled"}]}),
            )
            .unwrap()
        };
        let travel = TravelStore::new(
            app.test_db.db.clone(),
            std::sync::Arc::new(app.customers.clone()),
        );
        for (id, pnr, flight) in [(fly_id, "CRW001", "BA117"), (other_id, "CRW002", "BA175")] {
            travel
                .record(
                    aloft_travel::CustomerId::parse(id).unwrap(),
                    booking(pnr, flight),
                    &AccessContext::system("test"),
                )
                .await
                .unwrap();
        }
        let crew_account = app
            .accounts
            .by_username("cabin_crew")
            .await
            .unwrap()
            .unwrap();
        let admin = app.sign_in_as(ids::ADMINISTRATOR).await;
        let roster_path = format!("/access/accounts/{}/roster", crew_account.id);
        // A bad line changes nothing and is named.
        let bad = app
            .post_form_as(&admin, &roster_path, "flights=BA117+2026-13-40")
            .await;
        assert_eq!(bad.status, 422);
        assert!(bad.text().contains("line 1"), "{}", bad.text());
        let crew = app.sign_in_as(ids::CABIN_CREW).await;
        assert_eq!(
            app.get_as(&crew, &format!("/customers/{fly_id}"))
                .await
                .status,
            404,
            "no roster: nobody"
        );
        let set = app
            .post_form_as(&admin, &roster_path, &format!("flights=BA117+{date}%0D%0A"))
            .await;
        assert_eq!(set.status, 200, "{}", set.text());
        assert!(
            set.text().contains(&format!("BA117 {date}")),
            "the page shows the roster"
        );
        let page = app.get_as(&crew, &format!("/customers/{fly_id}")).await;
        assert_eq!(page.status, 200, "on the rostered flight");
        assert!(
            page.text().contains("VGML") || page.text().contains("Vegetarian"),
            "special meal shown"
        );
        assert_eq!(
            app.get_as(&crew, &format!("/customers/{other_id}"))
                .await
                .status,
            404,
            "another flight's passenger"
        );
        let search = app.get_as(&crew, "/customers?q=aloft").await.text();
        assert!(
            search.contains(fly_id) && !search.contains(other_id),
            "search is scoped"
        );
        // Crew read, never change.
        let edit = app
            .post_form_as(
                &crew,
                &format!("/customers/{fly_id}/edit"),
                "version=1&first_name=X&last_name=Y",
            )
            .await;
        assert_eq!(edit.status, 403);
        // A cabin crew bearer token is roster-scoped too (its subject has no roster).
        let token = app
            .request(
                "GET",
                &format!("/api/v1/customers/{fly_id}"),
                &[("authorization", app.role_tokens.get(ids::CABIN_CREW))],
                bytes::Bytes::new(),
            )
            .await;
        assert_eq!(token.status, 404);
        app.stop().await;
    })
    .await;
}
