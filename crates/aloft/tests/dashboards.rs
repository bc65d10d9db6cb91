//! The role dashboards (issue 22, item 5): sentiment and complaints by topic and route,
//! disruption exposure, compensation proposals, purchases and preferences by route, the CMP
//! overview — figures checked against seeded data, small groups shown as "< 5", a bad filter
//! refused naming its field, each role held to its dashboards, and the live stream sending new
//! figures after an event.
//!
//! `ALOFT_TEST_BACKENDS=sqlite,postgres cargo test -p aloft --test dashboards`

mod common;

use std::time::Duration;

use aloft::roles::ids;
use aloft_insights::figures::{self, Filter};
use aloft_insights::model::Cell;
use aloft_kernel::AccessContext;
use aloft_kernel::jobs::{Jobs, NewJob};
use aloft_travel::{Record, RecordKind, TravelStore};
use chrono::{Duration as Days, Utc};
use common::{TestApp, on_each_backend};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn letters(i: usize) -> String {
    char::from(b'a' + (i % 26) as u8)
        .to_string()
        .repeat(1 + i / 26)
}

struct Seeded {
    ids: Vec<aloft_customers::CustomerId>,
    day: chrono::NaiveDate,
    travel: TravelStore,
}

fn booking(
    i: usize,
    flight: &str,
    from: &str,
    to: &str,
    day: chrono::NaiveDate,
    extra: Value,
) -> Record {
    let mut seg = json!({"flight_number": flight, "origin": from, "destination": to,
        "scheduled_departure_local": format!("{day}T10:00"), "scheduled_arrival_local": format!("{day}T13:00"),
        "cabin": "economy", "rbd": "Y", "status": "flown"});
    seg.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    Record::parse(
        RecordKind::Booking,
        &json!({"source": "gds", "source_record_id": format!("d{i}"), "record_locator": format!("ZQ{i:04}"),
            "segments": [seg]}),
    )
    .unwrap()
}

fn feedback(n: &str, kind: &str, flight: &str, at: &str, text: &str) -> Record {
    Record::parse(
        RecordKind::Feedback,
        &json!({"source": "survey", "source_record_id": n, "kind": kind, "submitted_at": at,
            "text": text, "flight_number": flight}),
    )
    .unwrap()
}

/// 12 travellers on FRA→JFK (LH400, 200 minutes late), each complaining about the delay and
/// buying two bottles of fragrance on board; 6 on CDG→LHR praising the staff; 3 on KEF→LHR whose
/// flight was cancelled and who say so. Ten days ago.
async fn seed(app: &TestApp) -> Seeded {
    let today = Utc::now().date_naive();
    let day = today - Days::days(10);
    let mut docs = Vec::new();
    for i in 0..21 {
        let (meal, seat) = if i < 12 {
            (Some("VGML"), "window")
        } else {
            (None, "aisle")
        };
        let mut prefs = json!({"seat": seat});
        if let Some(m) = meal {
            prefs["meal"] = json!(m);
        }
        docs.push(
            json!({"first_name": "Dana", "last_name": format!("Zzdash{}", letters(i)),
            "loyalty_tier": "silver", "preferences": prefs}),
        );
    }
    let profiles = docs
        .iter()
        .map(|d| aloft_customers::Profile::parse(d, today).expect("valid profile"))
        .collect();
    let ids = app
        .customers
        .create_many(profiles, &AccessContext::system("test"))
        .await
        .unwrap();
    let travel = TravelStore::new(
        app.test_db.db.clone(),
        std::sync::Arc::new(app.customers.clone()),
    );
    let at = format!("{day}T18:00:00Z");
    let mut records = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        match i {
            0..12 => {
                records.push((
                    *id,
                    booking(i, "LH400", "FRA", "JFK", day, json!({"delay_minutes": 200})),
                ));
                records.push((
                    *id,
                    feedback(
                        &format!("f{i}"),
                        "complaint",
                        "LH400",
                        &at,
                        "Terrible delay, we waited five hours and nobody helped. Awful.",
                    ),
                ));
                records.push((*id, Record::parse(RecordKind::Purchase, &json!({
                    "source": "inflight", "source_record_id": format!("shop-{i}"), "channel": "inflight",
                    "purchased_at": format!("{day}T11:00:00Z"), "flight_number": "LH400",
                    "items": [{"sku": "DF-104", "description": "Duty-free fragrance", "quantity": 2,
                        "unit_price": {"amount": "39.00", "currency": "EUR"}}],
                    "total": {"amount": "78.00", "currency": "EUR"}})).unwrap()));
            }
            12..18 => {
                records.push((*id, booking(i, "AF1080", "CDG", "LHR", day, json!({}))));
                records.push((
                    *id,
                    feedback(
                        &format!("f{i}"),
                        "compliment",
                        "AF1080",
                        &at,
                        "Great and friendly staff, thank you!",
                    ),
                ));
            }
            _ => {
                records.push((
                    *id,
                    booking(
                        i,
                        "FI450",
                        "KEF",
                        "LHR",
                        day,
                        json!({"status": "cancelled"}),
                    ),
                ));
                records.push((
                    *id,
                    feedback(
                        &format!("f{i}"),
                        "complaint",
                        "FI450",
                        &at,
                        "Our flight was cancelled. Terrible, awful service.",
                    ),
                ));
            }
        }
    }
    travel
        .record_many(records, &AccessContext::system("test"))
        .await
        .unwrap();
    Seeded { ids, day, travel }
}

/// Asks for a rebuild of the facts and waits until `texts` texts are there.
async fn derived(app: &TestApp, texts: i64) {
    Jobs::enqueue_now(
        &app.test_db.db,
        NewJob::new(aloft_insights::live::REBUILD_JOB, json!({"reason": "test"})),
    )
    .await
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM insights_texts")
            .fetch_one(app.test_db.db.pool())
            .await
            .unwrap();
        if n >= texts {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "facts not derived ({n} texts)"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn get_as(app: &TestApp, role: &str, path: &str) -> common::Reply {
    app.request(
        "GET",
        path,
        &[("authorization", app.role_tokens.get(role))],
        bytes::Bytes::new(),
    )
    .await
}

fn period(s: &Seeded) -> (String, Filter) {
    let from = s.day - Days::days(3);
    let to = s.day + Days::days(3);
    (
        format!("from={from}&to={to}"),
        Filter {
            from: from.and_hms_opt(0, 0, 0).unwrap().and_utc(),
            to: (to + Days::days(1)).and_hms_opt(0, 0, 0).unwrap().and_utc(),
            route: None,
        },
    )
}

fn row<'a>(g: &'a figures::Grid, key: &str) -> &'a figures::GridRow {
    g.rows
        .iter()
        .find(|r| r.key == key)
        .unwrap_or_else(|| panic!("{} has no row {key}: {:?}", g.id, g.rows))
}

#[tokio::test]
async fn figures_match_the_seeded_data_and_small_groups_read_less_than_five() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let s = seed(&app).await;
        derived(&app, 21).await;
        let db = &app.test_db.db;
        let (query, filter) = period(&s);
        let c = Cell::Count;
        let few = Cell::FewerThan(5);

        let sentiment = figures::sentiment(db, &filter).await.unwrap();
        assert_eq!(sentiment.texts, c(21));
        assert_eq!(sentiment.negative, c(15));
        assert_eq!(sentiment.complaints, c(15));
        // Texts, negative, neutral, positive, complaints.
        assert_eq!(
            row(&sentiment.topics, "delay").cells,
            vec![c(12), c(12), c(0), c(0), c(12)]
        );
        assert_eq!(
            row(&sentiment.topics, "staff").cells,
            vec![c(6), c(0), c(0), c(6), c(0)]
        );
        assert_eq!(
            row(&sentiment.routes, "FRA-JFK").cells,
            vec![c(12), c(12), c(0), c(0), c(12)]
        );
        // Three people on KEF→LHR: every figure of theirs is hidden.
        assert_eq!(
            row(&sentiment.routes, "KEF-LHR").cells,
            vec![few, few, c(0), c(0), few]
        );
        assert_eq!(row(&sentiment.topics, "cancellation").cells[0], few);

        let exposure = figures::exposure(db, &filter).await.unwrap();
        assert_eq!(exposure.passengers, c(15));
        // Passengers, cancelled, delayed, travellers on the route.
        assert_eq!(
            row(&exposure.routes, "FRA-JFK").cells,
            vec![c(12), c(0), c(12), c(12)]
        );
        assert_eq!(
            row(&exposure.routes, "KEF-LHR").cells,
            vec![few, few, c(0), few]
        );
        assert!(
            exposure.routes.rows.iter().all(|r| r.key != "CDG-LHR"),
            "no disruption there"
        );

        let retail = figures::retail(db, &filter).await.unwrap();
        // Travellers, buyers, units, buyers per 100 travellers.
        assert_eq!(
            row(&retail.routes, "FRA-JFK").cells,
            vec![c(12), c(12), c(24), c(100)]
        );
        assert_eq!(row(&retail.products, "DF-104").cells, vec![c(12), c(24)]);
        // Travellers, window, aisle, special meal (cancelled KEF passengers did not fly).
        assert_eq!(
            row(&retail.preferences, "FRA-JFK").cells,
            vec![c(12), c(12), c(0), c(12)]
        );
        assert_eq!(
            row(&retail.preferences, "CDG-LHR").cells,
            vec![c(6), c(0), c(6), c(0)]
        );
        assert!(retail.preferences.rows.iter().all(|r| r.key != "KEF-LHR"));
        assert_eq!(row(&retail.meals, "VGML").cells, vec![c(12)]);

        // The route filter narrows every figure to the route.
        let only = Filter {
            route: Some("CDG-LHR".into()),
            ..filter.clone()
        };
        let on_route = figures::sentiment(db, &only).await.unwrap();
        assert_eq!((on_route.texts, on_route.negative), (c(6), c(0)));

        // The pages show the same, say how small groups read, and name nobody.
        let page = get_as(
            &app,
            ids::CUSTOMER_AFFAIRS_EXECUTIVE,
            &format!("/insights/service?{query}"),
        )
        .await;
        assert_eq!(page.status, 200, "{}", page.text());
        let html = page.text();
        assert!(
            html.contains("fewer than 5 customers behind it reads “&lt; 5”"),
            "the page says so"
        );
        assert!(html.contains(">&lt; 5</span>"), "a hidden cell reads < 5");
        assert!(html.contains("FRA → JFK") && html.contains("Disruption exposure"));
        assert!(
            html.contains("Compensation proposals"),
            "customer affairs sees claims"
        );
        assert!(html.contains("data-live-src=\"/insights/service/live?"));
        assert!(html.contains("src=\"/insights/live.js\""));
        for path in [
            format!("/insights/service?{query}"),
            format!("/insights/routes?{query}"),
            format!("/insights/cmp?{query}"),
            format!("/insights/routes?{query}&route=FRA-JFK"),
        ] {
            let r = get_as(&app, ids::DATA_ANALYST, &path).await;
            assert_eq!(r.status, 200, "{path}");
            let html = r.text();
            assert!(!html.contains("Zzdash"), "{path} names a customer");
            assert!(
                !html.contains("Terrible"),
                "{path} shows what someone wrote"
            );
            for id in &s.ids {
                assert!(
                    !html.contains(&id.to_string()),
                    "{path} shows a customer id"
                );
            }
        }
        let retail_page = get_as(
            &app,
            ids::INFLIGHT_RETAILER,
            &format!("/insights/routes?{query}"),
        )
        .await
        .text();
        assert!(
            retail_page.contains("Duty-free fragrance (DF-104)"),
            "top products"
        );
        // Marketing sees sentiment and disruption but not compensation.
        let marketing = get_as(
            &app,
            ids::MARKETING_MANAGER,
            &format!("/insights/service?{query}"),
        )
        .await
        .text();
        assert!(
            marketing.contains("Disruption exposure")
                && !marketing.contains("Compensation proposals")
        );
        // The derivation of texts is audited.
        let audited: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'insights.facts_derived'",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert!(audited > 0);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_bad_filter_is_refused_naming_the_field() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let role = ids::DATA_ANALYST;
        let r = get_as(
            &app,
            role,
            "/insights/service?from=2026-11-30&to=2026-11-01",
        )
        .await;
        assert_eq!(r.status, 422);
        let html = r.text();
        assert!(
            html.contains("href=\"#f-to\""),
            "the summary links the to field: {html}"
        );
        assert!(html.contains("must be on or after the from date"));
        let r = get_as(&app, role, "/insights/routes?from=yesterday&route=FRA").await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("href=\"#f-from\"") && r.text().contains("href=\"#f-route\""));
        // The stream answers a problem naming the field.
        let r = get_as(
            &app,
            role,
            "/insights/cmp/live?from=2026-11-30&to=2026-11-01",
        )
        .await;
        assert_eq!(r.status, 422);
        assert!(
            r.header("content-type")
                .starts_with("application/problem+json")
        );
        assert_eq!(r.json()["errors"][0]["pointer"], "/to", "{}", r.text());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn each_role_opens_only_its_dashboards() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        // A bad period makes an allowed stream answer 422 at once instead of streaming.
        let bad = "?from=2026-11-30&to=2026-11-01";
        let pages = ["/insights/service", "/insights/routes", "/insights/cmp"];
        let allowed: &[(&str, &[usize])] = &[
            (ids::DATA_ANALYST, &[0, 1, 2]),
            (ids::CUSTOMER_AFFAIRS_EXECUTIVE, &[0]),
            (ids::MARKETING_MANAGER, &[0]),
            (ids::INFLIGHT_RETAILER, &[1]),
            (ids::CMP_MANAGER, &[2]),
            (ids::LOYALTY_MANAGER, &[]),
            (ids::CONTACT_CENTRE_AGENT, &[]),
            (ids::CHECKIN_AGENT, &[]),
            (ids::ADMINISTRATOR, &[]),
            (ids::DATA_PRIVACY_OFFICER, &[]),
            (ids::PASSENGER, &[]),
        ];
        for (role, ok) in allowed {
            for (i, path) in pages.iter().enumerate() {
                let page = get_as(&app, role, path).await.status;
                let stream = get_as(&app, role, &format!("{path}/live{bad}"))
                    .await
                    .status;
                if ok.contains(&i) {
                    assert_eq!((page, stream), (200, 422), "{role} {path}");
                } else {
                    assert_eq!((page, stream), (403, 403), "{role} {path}");
                }
            }
        }
        // Dashboards need no customer data: these roles still cannot open a profile.
        let profile = format!("/api/v1/customers/{}", uuid::Uuid::now_v7());
        for role in [ids::DATA_ANALYST, ids::INFLIGHT_RETAILER] {
            assert_eq!(get_as(&app, role, &profile).await.status, 403, "{role}");
        }
        // The navigation offers each role its dashboards.
        let session = app.sign_in_as(ids::CMP_MANAGER).await;
        let home = app.get_as(&session, "/").await.text();
        assert!(
            home.contains("href=\"/insights/cmp\"") && !home.contains("href=\"/insights/routes\"")
        );
        app.stop().await;
    })
    .await;
}

/// Reads the stream until `want` appears in it (or the deadline passes); returns what was read.
async fn read_until(
    stream: &mut tokio::net::TcpStream,
    seen: &mut String,
    want: &str,
    secs: u64,
) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    let mut buf = [0u8; 16 * 1024];
    while !seen.contains(want) {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return false,
            Ok(Ok(n)) => seen.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    true
}

#[tokio::test]
async fn the_stream_sends_new_figures_after_an_event_and_ends_at_shutdown() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let s = seed(&app).await;
        derived(&app, 21).await;
        let (query, _) = period(&s);
        let mut tcp = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        let request = format!(
            "GET /insights/service/live?{query}&route=CDG-LHR HTTP/1.1\r\nHost: aloft\r\nAuthorization: {}\r\nAccept: text/event-stream\r\n\r\n",
            app.role_tokens.get(ids::CUSTOMER_AFFAIRS_EXECUTIVE)
        );
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut seen = String::new();
        assert!(read_until(&mut tcp, &mut seen, "event: ready", 10).await, "{seen}");
        assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
        assert!(seen.to_ascii_lowercase().contains("content-type: text/event-stream"), "{seen}");
        // A seventh CDG→LHR traveller praises the crew: the stream sends the figures again.
        let at = format!("{}T19:00:00Z", s.day);
        s.travel
            .record_many(
                vec![(s.ids[12], feedback("f-live", "compliment", "AF1080", &at, "Lovely crew, great flight, thank you!"))],
                &AccessContext::system("test"),
            )
            .await
            .unwrap();
        assert!(read_until(&mut tcp, &mut seen, "event: figures", 15).await, "no update: {seen}");
        let data = seen
            .split("event: figures")
            .nth(1)
            .and_then(|rest| rest.lines().find(|l| l.starts_with("data: ")))
            .expect("the figures event has data");
        let figures: Value = serde_json::from_str(&data["data: ".len()..]).expect("JSON data");
        let headline = figures["sections"]["dash-headline"].as_str().unwrap();
        assert!(
            headline.contains("<span class=\"stat-value\">7</span><span class=\"stat-label\">Texts analysed"),
            "{headline}"
        );
        // Shutdown ends the stream rather than waiting out the grace period.
        let started = std::time::Instant::now();
        let mut rest = String::new();
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            loop {
                match tcp.read(&mut buf).await {
                    Ok(0) | Err(_) => return rest,
                    Ok(n) => rest.push_str(&String::from_utf8_lossy(&buf[..n])),
                }
            }
        });
        app.stop().await;
        let _ = tokio::time::timeout(Duration::from_secs(10), reader).await.expect("the stream ended");
        assert!(started.elapsed() < Duration::from_secs(4), "shutdown waited {:?}", started.elapsed());
    })
    .await;
}
