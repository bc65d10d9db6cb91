//! Row scopes are conditions of the query, not filters after it: a scoped search returns
//! exactly the visible rows, pages correctly, and its cursors name only visible rows. Attack
//! tests for the findings of the platform issue (a cabin crew search for "Turner" found nobody
//! because the filter ran after the first page; a scoped listing returned empty pages whose
//! cursor leaked other customers' ids).

mod common;

use aloft::roles::ids;
use aloft_kernel::AccessContext;
use aloft_travel::{Record, RecordKind, TravelStore};
use bytes::Bytes;
use common::{TestApp, on_each_backend};
use serde_json::{Value, json};

/// A booking on `flight` from Dubai (UTC+4 all year) departing `hours` from now.
fn booking(pnr: &str, flight: &str, hours: i64) -> Record {
    let departure = chrono::Utc::now() + chrono::Duration::hours(hours);
    let dubai = departure + chrono::Duration::hours(4);
    let local = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M").to_string();
    Record::parse(
        RecordKind::Booking,
        &json!({"source": "gds", "source_record_id": pnr, "record_locator": pnr,
            "segments": [{"flight_number": flight, "origin": "DXB", "destination": "LHR",
                "scheduled_departure_local": local(dubai),
                "scheduled_arrival_local": local(dubai + chrono::Duration::hours(4)),
                "cabin": "economy", "rbd": "Y", "status": "scheduled"}]}),
    )
    .unwrap()
}

/// Every page of `path` (an API listing) with `auth`, following `next_cursor`.
async fn all_pages(app: &TestApp, path: &str, auth: (&str, &str)) -> (Vec<String>, Vec<String>) {
    let (mut ids, mut cursors) = (Vec::new(), Vec::new());
    let mut url = path.to_owned();
    loop {
        let r = app.request("GET", &url, &[auth], Bytes::new()).await;
        assert_eq!(r.status, 200, "{url}: {}", r.text());
        let body: Value = r.json();
        let items = body["items"].as_array().unwrap();
        assert!(
            !items.is_empty(),
            "a page with a next cursor is never empty: {url}"
        );
        ids.extend(items.iter().map(|c| c["id"].as_str().unwrap().to_owned()));
        match body["next_cursor"].as_str() {
            Some(next) => {
                cursors.push(next.to_owned());
                let sep = if path.contains('?') { '&' } else { '?' };
                url = format!("{path}{sep}cursor={next}");
            }
            None => return (ids, cursors),
        }
    }
}

#[tokio::test]
async fn scoped_searches_return_exactly_the_visible_rows_with_correct_paging() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        // 60 Turners, more than any page; three of them depart from Dubai soon, on BA117.
        let mut turners = Vec::new();
        for n in 0..60u8 {
            let first = format!("Al{}{}", (b'a' + n / 26) as char, (b'a' + n % 26) as char);
            let c = app
                .create_customer(json!({"first_name": first, "last_name": "Turner"}))
                .await;
            turners.push(c["id"].as_str().unwrap().to_owned());
        }
        let travel = TravelStore::new(
            app.test_db.db.clone(),
            std::sync::Arc::new(app.customers.clone()),
        );
        let ctx = AccessContext::system("test");
        // The last-created (alphabetically last too): a filter after the first page misses them.
        let flying: Vec<String> = turners[57..].to_vec();
        for (n, id) in flying.iter().enumerate() {
            travel
                .record(
                    aloft_travel::CustomerId::parse(id).unwrap(),
                    booking(&format!("TRN00{n}"), "BA117", 5),
                    &ctx,
                )
                .await
                .unwrap();
        }
        // One more departs from Dubai in a week: outside the check-in window.
        travel
            .record(
                aloft_travel::CustomerId::parse(&turners[0]).unwrap(),
                booking("TRNLAT", "BA117", 24 * 7),
                &ctx,
            )
            .await
            .unwrap();

        // A check-in agent at DXB: exactly the three, by name search and by listing, in pages
        // of two whose cursors are visible customers.
        let kiosk = format!(
            "Bearer {}",
            app.issue_scoped_token(ids::CHECKIN_AGENT, "kiosk", "DXB")
        );
        let auth = ("authorization", kiosk.as_str());
        for path in [
            "/api/v1/customers?name=Turner&limit=2",
            "/api/v1/customers?name=Al&limit=2",
            "/api/v1/customers?limit=2",
        ] {
            let (mut ids, cursors) = all_pages(&app, path, auth).await;
            ids.sort();
            let mut expected = flying.clone();
            expected.sort();
            assert_eq!(ids, expected, "{path}");
            assert_eq!(cursors.len(), 1, "{path}: three rows in pages of two");
        }
        // The listing's cursor is an id the agent may see.
        let (_, cursors) = all_pages(&app, "/api/v1/customers?limit=2", auth).await;
        assert!(
            flying.iter().any(|id| cursors[0].contains(id.as_str())),
            "the cursor names a visible customer: {cursors:?}"
        );
        // Another station sees none of them; a profile read outside the scope is a 404.
        let lhr = format!(
            "Bearer {}",
            app.issue_scoped_token(ids::CHECKIN_AGENT, "kiosk", "LHR")
        );
        let r = app
            .request(
                "GET",
                "/api/v1/customers?name=Turner",
                &[("authorization", lhr.as_str())],
                Bytes::new(),
            )
            .await;
        assert_eq!(r.json()["items"], json!([]));
        assert!(r.json().get("next_cursor").is_none());
        let outside = app
            .request(
                "GET",
                &format!("/api/v1/customers/{}", turners[0]),
                &[auth],
                Bytes::new(),
            )
            .await;
        assert_eq!(outside.status, 404);

        // Cabin crew rostered on BA117 find the three Turners by name, though 57 other
        // Turners sort before them.
        let crew = app
            .accounts
            .by_username("cabin_crew")
            .await
            .unwrap()
            .unwrap();
        let departure_date = (chrono::Utc::now() + chrono::Duration::hours(9))
            .format("%Y-%m-%d")
            .to_string();
        app.accounts
            .set_roster(
                crew.id,
                &aloft_access::roster::RosteredFlight::parse_list(&format!(
                    "BA117 {departure_date}"
                ))
                .unwrap(),
                &ctx,
            )
            .await
            .unwrap();
        let session = app.sign_in_as(ids::CABIN_CREW).await;
        let page = app.get_as(&session, "/customers?q=Turner").await;
        assert_eq!(page.status, 200);
        let html = page.text();
        for id in &flying {
            assert!(html.contains(id.as_str()), "crew find {id}: {html}");
        }
        assert!(!html.contains(turners[0].as_str()), "and nobody else");
        app.stop().await;
    })
    .await;
}
