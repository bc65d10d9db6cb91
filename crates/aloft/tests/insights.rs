//! Insights: pseudonymised aggregates computed by the background job, read by the marketing
//! manager, the data analyst and the in-flight retailer (and nobody without the permission),
//! with every group below k suppressed so no aggregate singles a person out.

mod common;

use std::time::Duration;

use aloft::roles::ids;
use aloft_kernel::AccessContext;
use aloft_kernel::jobs::{Jobs, NewJob};
use aloft_travel::{Record, RecordKind, TravelStore};
use common::{TestApp, on_each_backend};
use serde_json::json;

/// `0` → `a`, `27` → `bb`: names may hold letters only.
fn letters(i: usize) -> String {
    char::from(b'a' + (i % 26) as u8)
        .to_string()
        .repeat(1 + i / 26)
}

/// 25 gold Germans from FRA, 12 silver French from CDG, 3 platinum Icelanders from KEF.
/// Gold fly FRA→JFK twice each and buy a fragrance and a vegan meal; silver fly CDG→LHR once;
/// one Icelander flies KEF→LHR twenty times.
async fn seed(app: &TestApp) -> Vec<aloft_customers::CustomerId> {
    let today = chrono::Utc::now().date_naive();
    let mut docs = Vec::new();
    for i in 0..25 {
        docs.push(json!({"first_name": "Greta", "last_name": format!("Zzgoldperson{}", letters(i)), "loyalty_tier": "gold",
            "nationality": "DE", "date_of_birth": "1990-01-01", "location": {"home_airport": "FRA"},
            "preferences": {"seat": "window", "meal": "VGML", "drink": "sparkling water"}}));
    }
    for i in 0..12 {
        docs.push(json!({"first_name": "Sami", "last_name": format!("Zzsilverperson{}", letters(i)), "loyalty_tier": "silver",
            "nationality": "FR", "date_of_birth": "2000-06-01", "location": {"home_airport": "CDG"},
            "preferences": {"seat": "aisle"}}));
    }
    for i in 0..3 {
        docs.push(json!({"first_name": "Eyja", "last_name": format!("Zzrareperson{}", letters(i)), "loyalty_tier": "platinum",
            "nationality": "IS", "date_of_birth": "1950-03-03", "location": {"home_airport": "KEF"},
            "preferences": {"seat": "aisle", "special_service_requests": ["WCHR"], "drink": if i == 0 { "Brennivin from my uncle Jon" } else { "Skyr smoothie" }}}));
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
    let booking = |n: String, from: &str, to: &str| {
        Record::parse(
            RecordKind::Booking,
            &json!({"source": "gds", "source_record_id": n, "record_locator": "ABC123",
                "segments": [{"flight_number": "LH400", "origin": from, "destination": to,
                    "scheduled_departure_local": "2026-03-12T10:00", "scheduled_arrival_local": "2026-03-12T13:00",
                    "cabin": "economy", "rbd": "Y", "status": "flown"}]}),
        )
        .unwrap()
    };
    let mut records = Vec::new();
    for (i, id) in ids.iter().enumerate().take(25) {
        for trip in 0..2 {
            records.push((*id, booking(format!("g-{i}-{trip}"), "FRA", "JFK")));
        }
        records.push((
            *id,
            Record::parse(
                RecordKind::Purchase,
                &json!({
            "source": "inflight", "source_record_id": format!("shop-{i}"), "channel": "inflight",
            "purchased_at": "2026-03-12T11:00:00Z", "flight_number": "LH400",
            "items": [{"sku": "DF-104", "description": "Duty-free fragrance", "quantity": 2,
                "unit_price": {"amount": "39.00", "currency": "EUR"}}],
            "total": {"amount": "78.00", "currency": "EUR"}}),
            )
            .unwrap(),
        ));
        records.push((
            *id,
            Record::parse(
                RecordKind::Ancillary,
                &json!({
            "source": "booking", "source_record_id": format!("meal-{i}"), "ancillary_type": "meal",
            "attributes": {"meal_code": "VGML"}, "status": "fulfilled",
            "occurred_at": "2026-03-05T10:00:00Z"}),
            )
            .unwrap(),
        ));
    }
    for (i, id) in ids.iter().enumerate().skip(25).take(12) {
        records.push((*id, booking(format!("s-{i}"), "CDG", "LHR")));
    }
    for trip in 0..20 {
        records.push((ids[37], booking(format!("r-{trip}"), "KEF", "LHR")));
    }
    travel
        .record_many(records, &AccessContext::system("test"))
        .await
        .unwrap();
    ids
}

/// Asks the job runner for a snapshot (as the schedule does) and waits until a snapshot
/// computed after this call is served.
async fn refresh(app: &TestApp) {
    let asked = chrono::Utc::now();
    Jobs::enqueue_now(
        &app.test_db.db,
        NewJob::new(aloft_insights::REFRESH_JOB, json!({"reason": "test"})),
    )
    .await
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let at: Option<String> = sqlx::query_scalar(
            "SELECT computed_at FROM insights_snapshots ORDER BY computed_at DESC LIMIT 1",
        )
        .fetch_optional(app.test_db.db.pool())
        .await
        .unwrap();
        if at.is_some_and(|t| aloft_kernel::db::from_db_time(&t).unwrap() >= asked) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the refresh job did not run"
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

#[tokio::test]
async fn the_job_computes_aggregates_and_suppresses_every_group_below_k() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let ids = seed(&app).await;
        refresh(&app).await;
        let csv = |path: &'static str| {
            let app = &app;
            async move {
                let r = get_as(app, ids::DATA_ANALYST, path).await;
                assert_eq!(r.status, 200, "{path}: {}", r.text());
                assert!(r.header("content-type").starts_with("text/csv"));
                assert!(r.header("content-disposition").starts_with("attachment"));
                r.text()
            }
        };
        // Tiers: 25 gold shown; 3 platinum suppressed; silver (the smallest shown) withheld so
        // platinum cannot be worked out as 40 − 25 − silver.
        let tiers = csv("/insights/customers.csv?table=population.tier").await;
        assert!(tiers.contains("Gold,3-gold,25\r\n"), "{tiers}");
        assert!(tiers.contains("Silver,2-silver,not shown\r\n"), "{tiers}");
        assert!(
            tiers.contains("Platinum,4-platinum,fewer than 10\r\n"),
            "{tiers}"
        );
        assert!(
            !tiers.contains(",3\r\n") && !tiers.contains(",12\r\n"),
            "{tiers}"
        );
        // Age bands come from the encrypted date of birth, decrypted in the job only.
        let ages = csv("/insights/customers.csv?table=population.age_band").await;
        assert!(ages.contains("35–44,d-35-44,25\r\n"), "{ages}");
        assert!(
            ages.contains("65 and over,g-65,fewer than 10\r\n"),
            "{ages}"
        );
        let countries = csv("/insights/customers.csv?table=population.nationality").await;
        assert!(countries.contains("Germany (DE),DE,25\r\n"), "{countries}");
        assert!(
            countries.contains("Iceland (IS),IS,fewer than 10\r\n"),
            "{countries}"
        );
        // Routes count distinct travellers: twenty flights of one person stay hidden.
        let routes = csv("/insights/travel.csv?table=travel.route").await;
        assert!(routes.contains(",FRA-JFK,25,50\r\n"), "{routes}");
        assert!(
            routes.contains(",KEF-LHR,fewer than 10,not shown\r\n"),
            "{routes}"
        );
        assert!(
            routes.contains(",CDG-LHR,not shown,not shown\r\n"),
            "{routes}"
        );
        let products = csv("/insights/purchases.csv?table=retail.product").await;
        assert!(
            products.contains("Duty-free fragrance (DF-104),DF-104,25,50\r\n"),
            "{products}"
        );
        let meals = csv("/insights/purchases.csv?table=preferences.meal").await;
        assert!(meals.contains("VGML Vegan meal,VGML,25\r\n"), "{meals}");
        let drinks = csv("/insights/purchases.csv?table=preferences.drink").await;
        assert!(
            drinks.contains("Sparkling water,Sparkling water,25\r\n"),
            "{drinks}"
        );
        // What fewer than k people wrote is not even named.
        assert!(
            drinks.contains("\"2 other answers, each given by fewer than 10\",other,fewer than 10"),
            "{drinks}"
        );
        assert!(!drinks.to_lowercase().contains("uncle"), "{drinks}");
        // No page or file names or identifies anyone.
        for path in [
            "/insights",
            "/insights/customers?rows=all",
            "/insights/travel?rows=all",
            "/insights/purchases?rows=all&order=name",
        ] {
            let r = get_as(&app, ids::DATA_ANALYST, path).await;
            assert_eq!(r.status, 200, "{path}");
            let html = r.text();
            assert!(
                html.contains("UTC"),
                "{path} says when the snapshot was taken"
            );
            assert!(!html.contains("Zz"), "{path} shows a name");
            for id in &ids {
                assert!(
                    !html.contains(&id.to_string()),
                    "{path} shows a customer id"
                );
            }
        }
        let session = app.sign_in_as(ids::DATA_ANALYST).await;
        let home = app.get_as(&session, "/").await.text();
        assert!(home.contains("id=\"insights-population\"") && !home.contains("Zz"));
        let page = get_as(&app, ids::DATA_ANALYST, "/insights/customers")
            .await
            .text();
        assert!(page.contains("fewer than 10"), "suppressed groups say so");
        assert!(
            page.contains(
                "Download CSV<span class=\"visually-hidden\"> of Customers by loyalty tier"
            )
        );
        // The job's read of the population is audited once per snapshot; the download too.
        let actions: Vec<String> = sqlx::query_scalar(
            "SELECT action FROM audit_log WHERE action LIKE 'insights.%' ORDER BY seq",
        )
        .fetch_all(app.test_db.db.pool())
        .await
        .unwrap();
        assert!(
            actions.contains(&"insights.snapshot_computed".to_owned()),
            "{actions:?}"
        );
        assert!(
            actions.contains(&"insights.exported".to_owned()),
            "{actions:?}"
        );
        let unknown = get_as(
            &app,
            ids::DATA_ANALYST,
            "/insights/customers.csv?table=travel.route",
        )
        .await;
        assert_eq!(
            unknown.status, 404,
            "a table of another area is not served there"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn each_role_reads_only_its_areas_and_nobody_else_reads_any() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let ids_ = seed(&app).await;
        refresh(&app).await;
        let pages = [
            "/insights",
            "/insights/customers",
            "/insights/customers.csv?table=population.tier",
            "/insights/travel",
            "/insights/travel.csv?table=travel.route",
            "/insights/purchases",
            "/insights/purchases.csv?table=retail.product",
        ];
        let allowed: &[(&str, &[usize])] = &[
            (ids::DATA_ANALYST, &[0, 1, 2, 3, 4, 5, 6]),
            (ids::MARKETING_MANAGER, &[0, 1, 2, 3, 4]),
            (ids::INFLIGHT_RETAILER, &[0, 5, 6]),
            (ids::LOYALTY_MANAGER, &[0, 1, 2]),
            (ids::CONTACT_CENTRE_AGENT, &[]),
            (ids::CHECKIN_AGENT, &[]),
            (ids::ADMINISTRATOR, &[]),
            (ids::DATA_PRIVACY_OFFICER, &[]),
        ];
        for (role, ok) in allowed {
            for (i, path) in pages.iter().enumerate() {
                let status = get_as(&app, role, path).await.status;
                let want = if ok.contains(&i) { 200 } else { 403 };
                assert_eq!(status, want, "{role} {path}");
            }
        }
        // Aggregates need no customer data: the three roles cannot open a profile.
        let profile = format!("/api/v1/customers/{}", ids_[0]);
        for role in [
            ids::DATA_ANALYST,
            ids::MARKETING_MANAGER,
            ids::INFLIGHT_RETAILER,
        ] {
            assert_eq!(get_as(&app, role, &profile).await.status, 403, "{role}");
        }
        // Each job's start page: marketing tiers and routes, retail the purchase and preference
        // mix, the analyst all of it; the loyalty manager the review queue and the tiers.
        let home = |role: &'static str| {
            let app = &app;
            async move {
                let session = app.sign_in_as(role).await;
                let r = app.get_as(&session, "/").await;
                assert_eq!(r.status, 200, "{role} home");
                r.text()
            }
        };
        let marketing = home(ids::MARKETING_MANAGER).await;
        assert!(
            marketing.contains("id=\"insights-population\"")
                && marketing.contains("id=\"insights-routes\"")
        );
        assert!(!marketing.contains("id=\"insights-purchases\""));
        assert!(
            marketing.contains("FRA → JFK"),
            "top routes on the marketing home page"
        );
        let retail = home(ids::INFLIGHT_RETAILER).await;
        assert!(
            retail.contains("id=\"insights-purchases\"")
                && retail.contains("id=\"insights-preferences\"")
        );
        assert!(!retail.contains("id=\"insights-population\""));
        let analyst = home(ids::DATA_ANALYST).await;
        for panel in [
            "insights-population",
            "insights-routes",
            "insights-purchases",
            "insights-preferences",
        ] {
            assert!(
                analyst.contains(&format!("id=\"{panel}\"")),
                "analyst home lacks {panel}"
            );
        }
        let loyalty = home(ids::LOYALTY_MANAGER).await;
        assert!(
            loyalty.contains("id=\"identity-reviews\"") && loyalty.contains("No matches to review"),
            "{loyalty}"
        );
        assert!(
            !home(ids::CONTACT_CENTRE_AGENT)
                .await
                .contains("id=\"insights-")
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_snapshot_is_computed_at_start_up_when_there_is_none() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM insights_snapshots")
                .fetch_one(app.test_db.db.pool())
                .await
                .unwrap();
            if n > 0 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no snapshot after start-up"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let page = get_as(&app, ids::DATA_ANALYST, "/insights").await;
        assert_eq!(page.status, 200);
        assert!(page.text().contains("As of "), "{}", page.text());
        // The schedule keeps it fresh: one occurrence of the refresh per 15-minute slot.
        let next: Vec<String> = sqlx::query_scalar(
            "SELECT dedupe_key FROM jobs WHERE kind = 'insights.refresh' AND state = 'pending'",
        )
        .fetch_all(app.test_db.db.pool())
        .await
        .unwrap();
        assert!(
            next.iter().any(|k| k.starts_with("insights.refresh@")),
            "{next:?}"
        );
        app.stop().await;
    })
    .await;
}
