//! Automatic compensation processing (issue 20, item 4): a flight disruption finds the
//! passengers booked on the flight, proposes what each is owed, pays the smallest amounts at
//! once (payment instruction + mail), queues the rest for a customer affairs executive, holds
//! passengers who missed a connection until their arrival is known, and does all of it once
//! however often the event is replayed.

mod common;

use aloft::roles::ids;
use aloft_kernel::AccessContext;
use aloft_travel::{CustomerId, Record, RecordKind, TravelStore};
use bytes::Bytes;
use common::{TestApp, on_each_backend};
use serde_json::{Value, json};

fn segment(flight: &str, from: &str, to: &str, dep: &str, arr: &str) -> Value {
    json!({"flight_number": flight, "origin": from, "destination": to,
        "scheduled_departure_local": dep, "scheduled_arrival_local": arr,
        "cabin": "economy", "rbd": "Y", "status": "scheduled"})
}

fn booking(pnr: &str, segments: Vec<Value>) -> Record {
    Record::parse(
        RecordKind::Booking,
        &json!({"source": "gds", "source_record_id": pnr, "record_locator": pnr,
            "segments": segments}),
    )
    .unwrap()
}

fn feeder() -> Value {
    segment(
        "LH1021",
        "CDG",
        "FRA",
        "2026-07-01T07:00",
        "2026-07-01T08:15",
    )
}

fn long_haul() -> Value {
    segment(
        "LH400",
        "FRA",
        "JFK",
        "2026-07-01T10:00",
        "2026-07-01T12:40",
    )
}

async fn post(app: &TestApp, role: &str, path: &str, body: &Value) -> common::Reply {
    app.request(
        "POST",
        path,
        &[
            ("authorization", app.role_tokens.get(role)),
            ("content-type", "application/json"),
        ],
        Bytes::from(body.to_string()),
    )
    .await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(app.test_db.db.pool())
        .await
        .unwrap()
}

async fn payments(app: &TestApp) -> i64 {
    count(
        app,
        "SELECT COUNT(*) FROM outbox WHERE event_type = 'aloft.compensation.payment_instructed'",
    )
    .await
}

async fn mails(app: &TestApp) -> i64 {
    count(app, "SELECT COUNT(*) FROM mail_messages").await
}

fn delay(flight: &str, departed: &str, arrived: &str) -> Value {
    json!({"flight": flight, "date": "2026-07-01", "kind": "delay", "cause": "technical",
        "operating_carrier_country": "DE", "operating_carrier_large": true,
        "actual_departure": departed, "actual_arrival": arrived})
}

#[tokio::test]
async fn a_disruption_is_proposed_paid_and_queued_once_however_often_it_is_replayed() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let person = |first: &str, email: &str| {
            json!({"first_name": first, "last_name": "Traveller", "email": email})
        };
        let mut ids_of = Vec::new();
        for (first, email) in [
            ("Anna", "anna@example.com"),
            ("Ben", "ben@example.com"),
            ("Dora", "dora@example.com"),
        ] {
            let c = app.create_customer(person(first, email)).await;
            ids_of.push(CustomerId::parse(c["id"].as_str().unwrap()).unwrap());
        }
        let (anna, ben, dora) = (ids_of[0], ids_of[1], ids_of[2]);
        let travel = TravelStore::new(
            app.test_db.db.clone(),
            std::sync::Arc::new(app.customers.clone()),
        );
        travel
            .record_many(
                vec![
                    (anna, booking("ANNA01", vec![long_haul()])),
                    (ben, booking("BENX02", vec![feeder(), long_haul()])),
                    (dora, booking("DORA03", vec![feeder()])),
                ],
                &AccessContext::system("test"),
            )
            .await
            .unwrap();
        let path = "/api/v1/compensation/disruptions";

        // Bad input is refused with every field named, and nothing is stored.
        let r = post(
            &app,
            ids::CMP_MANAGER,
            path,
            &json!({"date": "2026-07-01", "kind": "delay", "cause": "gremlins",
                "operating_carrier_country": "DE",
                "actual_departure": "2026-07-01T10:05:00+02:00",
                "actual_arrival": "2026-07-01T09:30:00+02:00"}),
        )
        .await;
        assert_eq!(r.status, 422, "{}", r.text());
        let pointers: Vec<String> = r.json()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["pointer"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(pointers, ["/flight", "/cause", "/actual_arrival"]);
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM compensation_proposals").await,
            0
        );

        // The feeder lands 3 h 15 late: Dora (CDG–FRA, ≤ 1,500 km) is owed €250 and paid at
        // once; Ben misses LH400 and waits until his arrival in New York is known.
        let feeder_late = delay(
            "LH1021",
            "2026-07-01T10:05:00+02:00",
            "2026-07-01T11:30:00+02:00",
        );
        let r = post(&app, ids::CMP_MANAGER, path, &feeder_late).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let first = r.json();
        assert_eq!(first["passengers"], 2, "{first}");
        assert_eq!(first["approved"], 1, "{first}");
        assert_eq!(first["awaiting_facts"], 1, "{first}");
        assert_eq!(payments(&app).await, 1);
        assert_eq!(mails(&app).await, 1);

        // Replayed twice: nothing new is proposed, paid or mailed.
        for _ in 0..2 {
            let r = post(&app, ids::CMP_MANAGER, path, &feeder_late).await;
            assert_eq!(r.status, 200, "{}", r.text());
            assert_eq!(r.json()["created"], 0);
            assert_eq!(r.json()["disruption_id"], first["disruption_id"]);
        }
        assert_eq!(payments(&app).await, 1);
        assert_eq!(mails(&app).await, 1);

        // LH400 arrives 3 h 25 late: Anna (FRA–JFK) and Ben (CDG–JFK as one journey) are owed
        // €600 less 50 % (Art. 7(2)(c), > 3,500 km and under 4 h): above the limit, queued.
        let r = post(
            &app,
            ids::CMP_MANAGER,
            path,
            &delay(
                "LH400",
                "2026-07-01T13:20:00+02:00",
                "2026-07-01T16:05:00-04:00",
            ),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["pending"], 2, "{}", r.json());

        // The executive's queue; a contact centre agent sees none of it.
        let queue = app
            .request(
                "GET",
                "/api/v1/compensation/proposals?status=pending",
                &[(
                    "authorization",
                    app.role_tokens.get(ids::CUSTOMER_AFFAIRS_EXECUTIVE),
                )],
                Bytes::new(),
            )
            .await;
        assert_eq!(queue.status, 200, "{}", queue.text());
        let queue = queue.json();
        let annas = queue
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["customer_id"] == anna.to_string() && p["regime"] == "EU261")
            .expect("Anna's EU261 proposal is queued")
            .clone();
        assert_eq!(annas["amount"], "300.00");
        assert_eq!(annas["currency"], "EUR");
        assert!(
            annas["decision"]["citations"]
                .to_string()
                .contains("261/2004"),
            "{annas}"
        );
        let refused = app
            .request(
                "GET",
                "/api/v1/compensation/proposals",
                &[("authorization", app.role_tokens.get(ids::CONTACT_CENTRE_AGENT))],
                Bytes::new(),
            )
            .await;
        assert_eq!(refused.status, 403);

        // A voucher needs the passenger's agreement (Art. 7(3)); cash is approved and paid once.
        let decide = format!(
            "/api/v1/compensation/proposals/{}/decision",
            annas["id"].as_str().unwrap()
        );
        let exec = ids::CUSTOMER_AFFAIRS_EXECUTIVE;
        let r = post(
            &app,
            exec,
            &decide,
            &json!({"approve": true, "method": "voucher"}),
        )
        .await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(r.text().contains("/method"));
        assert_eq!(payments(&app).await, 1);
        let r = post(&app, exec, &decide, &json!({"approve": true})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["status"], "approved");
        assert_eq!(r.json()["method"], "cash");
        assert_eq!(payments(&app).await, 2);
        assert_eq!(mails(&app).await, 2);
        let again = post(&app, exec, &decide, &json!({"approve": true})).await;
        assert_eq!(again.status, 409, "{}", again.text());
        assert_eq!(payments(&app).await, 2);

        // Events carry ids and amounts, never the passenger's name or address.
        let payloads: Vec<String> = sqlx::query_scalar(
            "SELECT payload FROM outbox WHERE event_type LIKE 'aloft.compensation.%'",
        )
        .fetch_all(app.test_db.db.pool())
        .await
        .unwrap();
        assert!(!payloads.is_empty());
        for p in payloads {
            assert!(!p.contains("Anna") && !p.contains("example.com"), "{p}");
        }

        // The pages: the executive's queue holds Ben's proposal, its page gives the reasons and
        // the sources, a voucher without agreement is refused with the field named, cash is
        // approved; the disruption view lists every passenger; the profile has the tab.
        let exec = app.sign_in_as(ids::CUSTOMER_AFFAIRS_EXECUTIVE).await;
        let q = app.get_as(&exec, "/compensation/proposals").await;
        assert_eq!(q.status, 200, "{}", q.text());
        assert!(q.text().contains("BENX02"), "{}", q.text());
        assert!(!q.text().contains("ANNA01"), "Anna's is decided");
        let bens = queue
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["customer_id"] == ben.to_string() && p["regime"] == "EU261")
            .expect("Ben's EU261 proposal is queued")
            .clone();
        let at = format!("/compensation/proposals/{}", bens["id"].as_str().unwrap());
        let d = app.get_as(&exec, &at).await;
        assert_eq!(d.status, 200, "{}", d.text());
        assert!(d.text().contains("Art. 7"), "{}", d.text());
        let r = app
            .post_form_as(&exec, &format!("{at}/decision"), "decision=approve&method=miles")
            .await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(r.text().contains("signed agreement"));
        assert_eq!(payments(&app).await, 2);
        let r = app
            .post_form_as(&exec, &format!("{at}/decision"), "decision=approve&method=cash")
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        assert_eq!(payments(&app).await, 3);
        let view = app
            .get_as(
                &exec,
                &format!("/compensation/disruptions/{}", bens["disruption_id"].as_str().unwrap()),
            )
            .await;
        assert_eq!(view.status, 200, "{}", view.text());
        assert!(view.text().contains("ANNA01") && view.text().contains("BENX02"));
        let list = app.get_as(&exec, "/compensation/disruptions").await;
        assert!(list.text().contains("LH1021 2026-07-01"), "{}", list.text());
        let tab = app
            .get_as(&exec, &format!("/customers/{dora}?tab=compensation"))
            .await;
        assert_eq!(tab.status, 200, "{}", tab.text());
        assert!(tab.text().contains("250.00 EUR"), "{}", tab.text());
        // Compensation on the customer's timeline, among the flights; filterable on its own.
        let timeline = app
            .get_as(&exec, &format!("/customers/{anna}?tab=timeline"))
            .await;
        assert_eq!(timeline.status, 200);
        let html = timeline.text();
        assert!(html.contains("Compensation EU261: 300.00 EUR"), "{html}");
        assert!(html.contains("kind-flight"), "flights stay: {html}");
        let only = app
            .get_as(&exec, &format!("/customers/{anna}?tab=timeline&kind=compensation"))
            .await
            .text();
        assert!(only.contains("Compensation EU261") && !only.contains("kind-flight"), "{only}");
        let agent = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
        assert_eq!(
            app.get_as(&agent, "/compensation/proposals").await.status,
            403
        );
        let seen = app
            .get_as(&agent, &format!("/customers/{anna}?tab=timeline"))
            .await
            .text();
        assert!(seen.contains("kind-flight") && !seen.contains("Compensation EU261"), "least privilege: {seen}");
        app.stop().await;
    })
    .await;
}

/// The storm: 100 cancelled flights × 300 passengers. Every decision made, every proposal
/// stored, every approved passenger's mail queued; the processing time is what counts (the
/// bookings are loaded first).
/// `ALOFT_TEST_BACKENDS=postgres cargo test --release -p aloft --test compensation_processing -- --ignored --nocapture storm`
/// (`STORM_GOODWILL=1`: with a goodwill policy awarding every passenger).
#[tokio::test]
#[ignore]
async fn storm_of_cancellations_performance() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let ctx = AccessContext::system("bench");
        let travel = TravelStore::new(
            app.test_db.db.clone(),
            std::sync::Arc::new(app.customers.clone()),
        );
        let (flights, seats) = (100u32, 300u32);
        let today = chrono::Utc::now().date_naive();
        let loaded = std::time::Instant::now();
        for f in 0..flights {
            let profiles = (0..seats)
                .map(|s| {
                    aloft_customers::Profile::parse(
                        &json!({"first_name": "Storm", "last_name": format!("Pax {}", letters(f * 1000 + s)),
                            "email": format!("pax{f}x{s}@example.com")}),
                        today,
                    )
                    .unwrap()
                })
                .collect();
            let ids = app.customers.create_many(profiles, &ctx).await.unwrap();
            let (to, arrive) = if f % 2 == 0 {
                ("CDG", "2026-07-01T11:15")
            } else {
                ("JFK", "2026-07-01T12:40")
            };
            let flight = format!("LH{}", 2000 + f);
            let records = ids
                .iter()
                .enumerate()
                .map(|(s, id)| {
                    (
                        *id,
                        booking(
                            &format!("S{f:02}{s:03}"),
                            vec![segment(&flight, "FRA", to, "2026-07-01T10:00", arrive)],
                        ),
                    )
                })
                .collect();
            travel.record_many(records, &ctx).await.unwrap();
        }
        eprintln!("{backend:?}: loaded in {:?}", loaded.elapsed());
        // With `STORM_GOODWILL=1`, a goodwill policy that gives every passenger of a
        // cancellation a meal voucher: the worst case, one award and one event per passenger
        // on top of the proposals (and every passenger's tier read for it).
        let goodwill_on = std::env::var("STORM_GOODWILL").is_ok_and(|v| v == "1");
        if goodwill_on {
            let goodwill = json!({"rows": [{"name": "Meal on cancellation", "kinds": ["cancellation"],
                "benefit": "meal_voucher", "amount": "12.00", "currency": "EUR"}]});
            assert_eq!(post(&app, ids::CMP_MANAGER, "/api/v1/compensation/goodwill", &goodwill).await.status, 201);
            for step in ["simulation", "publication"] {
                let r = post(&app, ids::CMP_MANAGER, &format!("/api/v1/compensation/goodwill/1/{step}"), &json!({})).await;
                assert_eq!(r.status, 200, "{}", r.text());
            }
        }
        let started = std::time::Instant::now();
        let mut created = 0;
        for f in 0..flights {
            let r = post(
                &app,
                ids::CMP_MANAGER,
                "/api/v1/compensation/disruptions",
                &json!({"flight": format!("LH{}", 2000 + f), "date": "2026-07-01",
                    "kind": "cancellation", "cause": "technical", "notice_days": 1,
                    "operating_carrier_country": "DE", "operating_carrier_large": true}),
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.text());
            created += r.json()["created"].as_u64().unwrap();
        }
        let took = started.elapsed();
        let proposals = count(&app, "SELECT COUNT(*) FROM compensation_proposals").await;
        let mail = mails(&app).await;
        let awards = count(&app, "SELECT COUNT(*) FROM compensation_goodwill_awards").await;
        eprintln!(
            "{backend:?}: {flights} flights × {seats} passengers: {created} proposals ({proposals} stored), {mail} mails queued, {awards} goodwill awards in {took:?}"
        );
        assert!(proposals >= i64::from(flights * seats));
        assert_eq!(awards, if goodwill_on { i64::from(flights * seats) } else { 0 });
        assert_eq!(mail, i64::from(flights / 2 * seats));
        app.stop().await;
    })
    .await;
}

/// A name-safe spelling of `n` (names take letters only).
fn letters(mut n: u32) -> String {
    let mut s = String::new();
    loop {
        s.push(char::from(b'a' + (n % 26) as u8));
        n /= 26;
        if n == 0 {
            return s;
        }
    }
}

/// A booking segment `days_ago` days back, at local times `dep`/`arr` (`HH:MM`).
fn past_segment(flight: &str, from: &str, to: &str, days_ago: i64, dep: &str, arr: &str) -> Value {
    let day = (chrono::Utc::now() - chrono::Duration::days(days_ago)).date_naive();
    segment(
        flight,
        from,
        to,
        &format!("{day}T{dep}"),
        &format!("{day}T{arr}"),
    )
}

#[tokio::test]
async fn a_passenger_claims_for_their_own_delayed_flight_and_sees_the_decision_at_once() {
    use common::portal::{enc, sign_up_and_verify};
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let mut ids_of = Vec::new();
        for (first, email, loyalty) in [
            ("Ana", "ana.claims@example.com", "AL77701"),
            ("Bo", "bo.claims@example.com", "AL77702"),
        ] {
            let c = app
                .create_customer(json!({"first_name": first, "last_name": "Flyer",
                    "email": email, "loyalty_number": loyalty}))
                .await;
            ids_of.push(CustomerId::parse(c["id"].as_str().unwrap()).unwrap());
        }
        let travel = TravelStore::new(
            app.test_db.db.clone(),
            std::sync::Arc::new(app.customers.clone()),
        );
        let flight = past_segment("LH400", "FRA", "JFK", 20, "10:00", "12:40");
        let day = flight["scheduled_departure_local"].as_str().unwrap()[..10].to_owned();
        let key = format!("LH400 {day}");
        travel
            .record_many(
                vec![
                    (ids_of[0], booking("ANACL1", vec![flight.clone()])),
                    (ids_of[1], booking("BOCLM2", vec![past_segment("BA117", "LHR", "JFK", 10, "08:00", "11:00")])),
                ],
                &AccessContext::system("test"),
            )
            .await
            .unwrap();

        let mut ana = sign_up_and_verify(&app, "AL77701", "ana.claims@example.com").await;
        let home = ana.get(&app, "/my").await;
        assert!(home.text().contains("href=\"/my/claims\""), "the portal offers the claims tab");
        let list = ana.get(&app, "/my/claims").await;
        assert_eq!(list.status, 200, "{}", list.text());
        let form_path = format!("/my/claims/new?flight={}", key.replace(' ', "+"));
        assert!(list.text().contains(&form_path.replace('&', "&amp;")), "{}", list.text());

        // Bad input: every field named, nothing stored.
        let r = ana.submit(&app, &form_path, "/my/claims/new", &[("flight", &key), ("kind", "delay"), ("arrival", "")]).await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(r.text().contains("f-arrival"), "the arrival field is named");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM compensation_proposals").await, 0);

        // Arrived 3 h 25 late at JFK (local time): EU261 owes €600 less 50 % (> 3,500 km, < 4 h),
        // judged with an unknown cause and left for a person — never paid on the passenger's word.
        let arrival = format!("{day}T16:05");
        let r = ana.submit(&app, &form_path, "/my/claims/new", &[("flight", &key), ("kind", "delay"), ("arrival", &arrival)]).await;
        assert_eq!(r.status, 303, "{}", r.text());
        let location = r.header("location").to_owned();
        assert!(location.starts_with("/my/claims/"), "{location}");
        let page = ana.get(&app, &location).await;
        assert_eq!(page.status, 200, "{}", page.text());
        let html = page.text();
        assert!(html.contains("300.00 EUR"), "{html}");
        assert!(html.contains("Being checked by our team"), "{html}");
        assert!(html.contains("Art. 7"), "the law is cited: {html}");
        let (pending, approved): (i64, i64) = (
            count(&app, "SELECT COUNT(*) FROM compensation_proposals WHERE status = 'pending' AND disruption_id LIKE 'claim:%'").await,
            count(&app, "SELECT COUNT(*) FROM compensation_proposals WHERE status = 'approved'").await,
        );
        assert_eq!((pending, approved), (1, 0));
        assert_eq!(payments(&app).await, 0);
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM outbox WHERE event_type = 'aloft.compensation.proposed'").await,
            1
        );
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'compensation.claim_received'").await,
            1
        );

        // Claimed again: nothing new, the same claim shown.
        let r = ana.submit(&app, &form_path, "/my/claims/new", &[("flight", &key), ("kind", "delay"), ("arrival", &arrival)]).await;
        assert_eq!(r.status, 303, "{}", r.text());
        assert_eq!(r.header("location"), location);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM compensation_proposals").await, 1);

        // Ana would rather have miles: by choosing them she agrees (Art. 7(3)); the executive's
        // form then proposes miles with her agreement.
        let claim_id = location.trim_start_matches("/my/claims/").to_owned();
        let r = ana
            .submit(&app, &location, &format!("{location}/method"), &[("method", "miles")])
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        let (method, agreed): (Option<String>, Option<String>) = sqlx::query_as(
            "SELECT preferred_method, method_agreed_at FROM compensation_proposals WHERE id = $1",
        )
        .bind(&claim_id)
        .fetch_one(app.test_db.db.pool())
        .await
        .unwrap();
        assert_eq!(method.as_deref(), Some("miles"));
        assert!(agreed.is_some());

        // Another passenger sees neither the claim nor can claim for a flight not theirs.
        let mut bo = sign_up_and_verify(&app, "AL77702", "bo.claims@example.com").await;
        assert_eq!(bo.get(&app, &location).await.status, 404);
        assert_eq!(bo.get(&app, &form_path).await.status, 404);
        let token = common::csrf_of(&bo.get(&app, "/my/claims").await.text());
        let r = bo
            .post(&app, "/my/claims/new", &format!("csrf={}&flight={}&kind=cancellation&notice_days=1", enc(&token), enc(&key)))
            .await;
        assert_eq!(r.status, 404, "{}", r.text());
        assert_eq!(count(&app, "SELECT COUNT(*) FROM compensation_proposals").await, 1);
        let r = bo
            .post(&app, &format!("/my/claims/{claim_id}/method"), &format!("csrf={}&method=cash", enc(&token)))
            .await;
        assert_eq!(r.status, 404, "another passenger's claim: {}", r.text());

        // Staff see it in the approval queue, marked as the passenger's own claim; a staff
        // session is no passenger.
        let queue = app
            .request(
                "GET",
                "/api/v1/compensation/proposals?status=pending",
                &[("authorization", app.role_tokens.get(ids::CUSTOMER_AFFAIRS_EXECUTIVE))],
                Bytes::new(),
            )
            .await;
        assert_eq!(queue.status, 200);
        assert!(queue.text().contains("claim:"), "{}", queue.text());
        let staff = app.sign_in_as(ids::CUSTOMER_AFFAIRS_EXECUTIVE).await;
        assert_ne!(app.get_as(&staff, "/my/claims").await.status, 200);
        let decide = app
            .get_as(&staff, &format!("/compensation/proposals/{claim_id}"))
            .await;
        assert!(
            decide.text().contains("chose this in self-service"),
            "{}",
            decide.text()
        );

        // The agent's claim form opens prefilled from the booking, from the 360° page.
        let tab = app
            .get_as(&staff, &format!("/customers/{}?tab=compensation", ids_of[0]))
            .await;
        let html = tab.text();
        let start = html.find("/compensation/claim?").expect("a claim link per flight");
        let link = html[start..start + html[start..].find('"').unwrap()].replace("&amp;", "&");
        assert!(link.contains("flight=LH400") && link.contains("carrier_country=DE"), "{link}");
        let form = app.get_as(&staff, &link).await;
        assert_eq!(form.status, 200, "{}", form.text());
        assert!(form.text().contains("value=\"LH400\"") && form.text().contains("value=\"JFK\""), "{}", form.text());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_goodwill_policy_is_edited_simulated_published_and_applied_once() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let gold = app
            .create_customer(json!({"first_name": "Greta", "last_name": "Gold",
                "email": "greta@example.com", "loyalty_number": "AL88801", "loyalty_tier": "gold"}))
            .await;
        let blue = app
            .create_customer(json!({"first_name": "Bruno", "last_name": "Blue",
                "email": "bruno@example.com", "loyalty_number": "AL88802", "loyalty_tier": "blue"}))
            .await;
        let ids_of: Vec<CustomerId> = [&gold, &blue]
            .iter()
            .map(|c| CustomerId::parse(c["id"].as_str().unwrap()).unwrap())
            .collect();
        let travel = TravelStore::new(
            app.test_db.db.clone(),
            std::sync::Arc::new(app.customers.clone()),
        );
        let hop = |flight: &str, day: &str| {
            segment(flight, "CDG", "FRA", &format!("2026-07-0{day}T07:00"), &format!("2026-07-0{day}T08:15"))
        };
        travel
            .record_many(
                vec![
                    (ids_of[0], booking("GOLD01", vec![hop("LH1021", "1"), hop("LH1023", "2")])),
                    (ids_of[1], booking("BLUE02", vec![hop("LH1021", "1"), hop("LH1023", "2")])),
                ],
                &AccessContext::system("test"),
            )
            .await
            .unwrap();
        let late = |flight: &str, day: &str, arrived: &str| {
            json!({"flight": flight, "date": format!("2026-07-0{day}"), "kind": "delay", "cause": "weather",
                "operating_carrier_country": "DE", "operating_carrier_large": true,
                "actual_arrival": format!("2026-07-0{day}T{arrived}:00+02:00")})
        };
        let disruptions = "/api/v1/compensation/disruptions";
        let goodwill = "/api/v1/compensation/goodwill";

        // Before any policy: 90 minutes late, nothing owed by law or goodwill; the facts are kept.
        let r = post(&app, ids::CMP_MANAGER, disruptions, &late("LH1021", "1", "09:45")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["goodwill_awarded"], 0);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM compensation_goodwill_facts").await, 2);

        // A bad table: every field named, nothing stored.
        let r = post(&app, ids::CMP_MANAGER, goodwill, &json!({"rows": [
            {"name": "Gold", "tiers": ["diamond"], "benefit": "miles", "amount": "many"}]})).await;
        assert_eq!(r.status, 422, "{}", r.text());
        let pointers: Vec<String> = r.json()["errors"].as_array().unwrap().iter()
            .map(|e| e["pointer"].as_str().unwrap().to_owned()).collect();
        assert_eq!(pointers, ["/rows/0/tiers", "/rows/0/amount"]);

        // Least privilege: an executive approves proposals but does not set the policy.
        let r = post(&app, ids::CUSTOMER_AFFAIRS_EXECUTIVE, goodwill, &json!({"rows": []})).await;
        assert_eq!(r.status, 403);

        let table = json!({"note": "Gold miles below the legal threshold", "rows": [
            {"name": "Gold 1–3 h", "tiers": ["gold"], "kinds": ["delay"], "min_delay_minutes": 60,
             "max_delay_minutes": 180, "legally_owed": false, "benefit": "miles", "amount": "5000"},
            {"name": "Meal 2 h+", "kinds": ["delay"], "min_delay_minutes": 120,
             "benefit": "meal_voucher", "amount": "15.00", "currency": "EUR"}]});
        let r = post(&app, ids::CMP_MANAGER, goodwill, &table).await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!((r.json()["version"].as_i64(), r.json()["state"].as_str()), (Some(1), Some("draft")));

        // Not published before it is simulated.
        let r = post(&app, ids::CMP_MANAGER, "/api/v1/compensation/goodwill/1/publication", &json!({})).await;
        assert_eq!(r.status, 409, "{}", r.text());
        let r = post(&app, ids::CMP_MANAGER, "/api/v1/compensation/goodwill/1/simulation", &json!({})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let sim = r.json();
        assert_eq!((sim["passengers"].as_i64(), sim["awarded"].as_i64(), sim["awarded_now"].as_i64(), sim["changed"].as_i64()),
            (Some(2), Some(1), Some(0), Some(1)), "{sim}");
        assert_eq!(sim["cost"]["miles"], "5000");
        let r = post(&app, ids::CMP_MANAGER, "/api/v1/compensation/goodwill/1/publication", &json!({})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["state"], "published");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM outbox WHERE event_type = 'aloft.compensation.goodwill_published'").await, 1);

        // The next disruption, 2 h 30 late: Greta gets miles and a meal, Bruno a meal — once,
        // however often the event is replayed.
        let next = late("LH1023", "2", "10:45");
        let r = post(&app, ids::CMP_MANAGER, disruptions, &next).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["goodwill_awarded"], 3, "{}", r.json());
        for _ in 0..2 {
            let r = post(&app, ids::CMP_MANAGER, disruptions, &next).await;
            assert_eq!(r.json()["goodwill_awarded"], 0);
        }
        assert_eq!(count(&app, "SELECT COUNT(*) FROM compensation_goodwill_awards").await, 3);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM outbox WHERE event_type = 'aloft.compensation.goodwill_awarded'").await, 3);
        assert_eq!(
            count(&app, &format!("SELECT COUNT(*) FROM compensation_goodwill_awards WHERE customer_id = '{}' AND benefit = 'miles' AND amount = '5000'", ids_of[0])).await,
            1
        );

        // The editor page shows the version in force to the CMP manager.
        let staff = app.sign_in_as(ids::CMP_MANAGER).await;
        let page = app.get_as(&staff, "/compensation/goodwill").await;
        assert_eq!(page.status, 200, "{}", page.text());
        assert!(page.text().contains("Version 1, published"), "{}", page.text());
        let exec = app.sign_in_as(ids::CUSTOMER_AFFAIRS_EXECUTIVE).await;
        let tab = app
            .get_as(&exec, &format!("/customers/{}?tab=compensation", ids_of[0]))
            .await;
        assert!(
            tab.text().contains("Goodwill given") && tab.text().contains("Gold 1–3 h"),
            "{}",
            tab.text()
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_missed_connection_is_judged_as_one_journey_once_the_final_arrival_is_known() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let carl = app
            .create_customer(
                json!({"first_name": "Carl", "last_name": "Connect", "email": "carl@example.com"}),
            )
            .await;
        let carl = CustomerId::parse(carl["id"].as_str().unwrap()).unwrap();
        let travel = TravelStore::new(
            app.test_db.db.clone(),
            std::sync::Arc::new(app.customers.clone()),
        );
        travel
            .record_many(
                vec![(carl, booking("CARL01", vec![feeder(), long_haul()]))],
                &AccessContext::system("test"),
            )
            .await
            .unwrap();
        let r = post(
            &app,
            ids::CMP_MANAGER,
            "/api/v1/compensation/disruptions",
            &delay(
                "LH1021",
                "2026-07-01T10:05:00+02:00",
                "2026-07-01T11:30:00+02:00",
            ),
        )
        .await;
        assert_eq!(r.json()["awaiting_facts"], 1, "{}", r.json());
        let waiting: String = sqlx::query_scalar(
            "SELECT id FROM compensation_proposals WHERE status = 'awaiting_facts'",
        )
        .fetch_one(app.test_db.db.pool())
        .await
        .unwrap();
        let path = format!("/api/v1/compensation/proposals/{waiting}/facts");

        // The executive's page offers the form; an agent may not report facts; bad input is named.
        let exec = app.sign_in_as(ids::CUSTOMER_AFFAIRS_EXECUTIVE).await;
        let page = app
            .get_as(&exec, &format!("/compensation/proposals/{waiting}"))
            .await;
        assert!(
            page.text().contains("Record the final arrival"),
            "{}",
            page.text()
        );
        assert_eq!(
            post(
                &app,
                ids::CONTACT_CENTRE_AGENT,
                &path,
                &json!({"final_arrival": "2026-07-01T20:30:00-04:00"})
            )
            .await
            .status,
            403
        );
        let r = post(
            &app,
            ids::CMP_MANAGER,
            &path,
            &json!({"final_arrival": "tonight"}),
        )
        .await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(r.text().contains("/final_arrival"));

        // Rebooked, Carl reached New York 7 h 50 late: CDG–JFK judged as one journey
        // (> 3,500 km, ≥ 4 h) — €600 under EU261, queued above the automatic limit.
        let r = post(
            &app,
            ids::CMP_MANAGER,
            &path,
            &json!({"final_arrival": "2026-07-01T20:30:00-04:00"}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let made = r.json();
        let eu = made
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["regime"] == "EU261")
            .expect("EU261 judged")
            .clone();
        assert_eq!(
            (eu["amount"].as_str(), eu["status"].as_str()),
            (Some("600.00"), Some("pending")),
            "{made}"
        );
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM compensation_proposals WHERE status = 'awaiting_facts'"
            )
            .await,
            0
        );
        let again = post(
            &app,
            ids::CMP_MANAGER,
            &path,
            &json!({"final_arrival": "2026-07-01T20:30:00-04:00"}),
        )
        .await;
        assert_eq!(
            again.status,
            404,
            "the waiting proposal was replaced: {}",
            again.text()
        );
        let redo = post(
            &app,
            ids::CMP_MANAGER,
            &format!(
                "/api/v1/compensation/proposals/{}/facts",
                eu["id"].as_str().unwrap()
            ),
            &json!({"final_arrival": "2026-07-01T20:30:00-04:00"}),
        )
        .await;
        assert_eq!(redo.status, 409, "{}", redo.text());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_automatic_approval_limits_are_set_by_the_cmp_manager_and_apply_at_once() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let dora = app
            .create_customer(json!({"first_name": "Dora", "last_name": "Limit", "email": "dora.limit@example.com"}))
            .await;
        let dora = CustomerId::parse(dora["id"].as_str().unwrap()).unwrap();
        let travel = TravelStore::new(app.test_db.db.clone(), std::sync::Arc::new(app.customers.clone()));
        travel
            .record_many(vec![(dora, booking("DORA09", vec![feeder()]))], &AccessContext::system("test"))
            .await
            .unwrap();
        let path = "/api/v1/compensation/settings";
        let r = app
            .request("GET", path, &[("authorization", app.role_tokens.get(ids::CMP_MANAGER))], Bytes::new())
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["minimum_connection_minutes"], 45);

        let put = |role: &'static str, body: Value| {
            let app = &app;
            async move {
                app.request(
                    "PUT",
                    path,
                    &[("authorization", app.role_tokens.get(role)), ("content-type", "application/json")],
                    Bytes::from(body.to_string()),
                )
                .await
            }
        };
        let r = put(ids::CMP_MANAGER, json!({"auto_approve_up_to": [{"currency": "EUR", "amount": "-5"}], "minimum_connection_minutes": 45})).await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(r.text().contains("/auto_approve_up_to/0/amount"));
        assert_eq!(put(ids::CUSTOMER_AFFAIRS_EXECUTIVE, json!({})).await.status, 403);
        // Nothing in euros is paid without a person any more.
        let r = put(ids::CMP_MANAGER, json!({"auto_approve_up_to": [{"currency": "EUR", "amount": "0"}], "minimum_connection_minutes": 60})).await;
        assert_eq!(r.status, 200, "{}", r.text());

        let r = post(&app, ids::CMP_MANAGER, "/api/v1/compensation/disruptions",
            &delay("LH1021", "2026-07-01T10:05:00+02:00", "2026-07-01T11:30:00+02:00")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!((r.json()["approved"].as_i64(), r.json()["pending"].as_i64()), (Some(0), Some(1)), "{}", r.json());
        assert_eq!(payments(&app).await, 0);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'compensation.settings_changed'").await, 1);

        // The page names a bad field and saves a good one.
        let manager = app.sign_in_as(ids::CMP_MANAGER).await;
        let page = app.get_as(&manager, "/compensation/settings").await;
        assert_eq!(page.status, 200, "{}", page.text());
        let r = app
            .post_form_as(&manager, "/compensation/settings", "currency_0=EUR&amount_0=lots&minimum_connection_minutes=60")
            .await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(r.text().contains("href=\"#f-amount-0\""), "{}", r.text());
        let r = app
            .post_form_as(&manager, "/compensation/settings", "currency_0=EUR&amount_0=250&currency_1=GBP&amount_1=220&minimum_connection_minutes=50")
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        app.stop().await;
    })
    .await;
}
