//! Anonymised insight sharing with partners on both backends: only people with the
//! partner-sharing consent (and unrestricted) are in a share, the others counted; the released
//! CSV is k-anonymous and l-diverse — checked independently with PyPI `pycanon` (run off the
//! runtime); every share is audited and published as an event; only the privacy officer may.
//!
//! The population is seeded straight into the tables the share reads (`analytics_customer_facts`,
//! `privacy_consent_state`, `privacy_restrictions`) under ids that have no events, so the
//! analytics refresher never rewrites them while the test runs.

mod common;

use bytes::Bytes;
use common::{TestApp, on_each_backend};
use serde_json::{Value, json};
use sqlx::Row;

use aloft::roles::ids;

const DPO: &str = ids::DATA_PRIVACY_OFFICER;

async fn post_as(app: &TestApp, role: &str, path: &str, body: &Value) -> common::Reply {
    app.request(
        "POST",
        path,
        &[
            ("content-type", "application/json"),
            ("authorization", app.role_tokens.get(role)),
        ],
        Bytes::from(body.to_string()),
    )
    .await
}

async fn get_as(app: &TestApp, role: &str, path: &str) -> common::Reply {
    app.request(
        "GET",
        path,
        &[("authorization", app.role_tokens.get(role))],
        Bytes::new(),
    )
    .await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(app.test_db.db.pool())
        .await
        .unwrap()
        .try_get::<i64, _>(0)
        .unwrap()
}

async fn exec(app: &TestApp, sql: &str) {
    sqlx::query(sql)
        .execute(app.test_db.db.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// One person: facts, and consent state (`Some(true)` given, `Some(false)` withdrawn).
#[allow(clippy::too_many_arguments)]
async fn person(
    app: &TestApp,
    id: &str,
    age: &str,
    home: &str,
    flights: i64,
    meal: &str,
    cabin: &str,
    consent: Option<bool>,
) {
    let meal = if meal.is_empty() {
        "NULL".to_owned()
    } else {
        format!("'{meal}'")
    };
    exec(app, &format!(
        "INSERT INTO analytics_customer_facts (customer_id, home_airport, age_band, flights_12m, meal_preference, main_cabin, updated_at) \
         VALUES ('{id}', '{home}', '{age}', {flights}, {meal}, '{cabin}', '2026-12-01T00:00:00.000000Z')"
    )).await;
    if let Some(g) = consent {
        exec(app, &format!(
            "INSERT INTO privacy_consent_state (customer_id, purpose, channel, granted, consent_id, updated_at) \
             VALUES ('{id}', 'partner_sharing', 'any', {}, 'c-{id}', '2026-12-01T00:00:00.000000Z')",
            i32::from(g)
        )).await;
    }
}

/// Registers a partner as the privacy officer; returns its id.
async fn register(app: &TestApp, name: &str) -> String {
    let r = post_as(
        app,
        DPO,
        "/api/v1/privacy/partners",
        &json!({"name": name, "contact": "privacy@partner.example", "agreement_ref": format!("DSA-{name}")}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_str().unwrap().to_owned()
}

fn pointers(r: &common::Reply) -> Vec<String> {
    r.json()["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["pointer"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// k and l of a released CSV as `pycanon` computes them, the CSV expanded to one row per person.
async fn pycanon(csv: String, sensitive: &'static str) -> (i64, i64) {
    tokio::task::spawn_blocking(move || {
        let path = std::env::temp_dir().join(format!("aloft-share-{}.csv", uuid::Uuid::now_v7()));
        std::fs::write(&path, csv).unwrap();
        let script = format!(
            "import sys, pandas as pd\n\
             from pycanon import anonymity\n\
             df = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)\n\
             df = df.loc[df.index.repeat(df['count'].astype(int))].drop(columns=['count']).reset_index(drop=True)\n\
             qi = ['age_band', 'region', 'travel_frequency']\n\
             print(anonymity.k_anonymity(df, qi), anonymity.l_diversity(df, qi, ['{sensitive}']), len(df))\n"
        );
        let out = std::process::Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(&path)
            .output()
            .expect("python3 runs");
        let _ = std::fs::remove_file(&path);
        assert!(
            out.status.success(),
            "pycanon failed (python3 -m pip install pycanon): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let v: Vec<i64> = text.split_whitespace().map(|n| n.parse().unwrap()).collect();
        (v[0], v[1])
    })
    .await
    .unwrap()
}

/// 97 consenting people (one outlier), 16 excluded; returns the consenting count.
async fn seed(app: &TestApp) -> u64 {
    // The facts rows below are written directly; the periodic rebuild (which replaces every
    // facts row from the profiles) must not run meanwhile, or it takes some of them away.
    app.skip_scheduled("analytics.facts.rebuild").await;
    // 96 consenting people in three age bands, four home airports, varied frequency, meal
    // and cabin; one consenting outlier (the only 65+ from Tokyo with a unique meal).
    let ages = ["25-34", "35-44", "45-54"];
    let homes = ["FRA", "MUC", "CDG", "JFK"];
    let meals = ["VGML", "KSML", "", "AVML"];
    let cabins = ["economy", "business", "premium_economy"];
    let mut consenting = 0;
    for i in 0..96usize {
        let id = format!("s{i:04}");
        person(
            app,
            &id,
            ages[i % 3],
            homes[(i / 3) % 4],
            (i % 7) as i64 * 2,
            meals[(i / 2) % 4],
            cabins[(i / 5) % 3],
            Some(true),
        )
        .await;
        consenting += 1;
    }
    person(
        app,
        "s-outlier",
        "65+",
        "NRT",
        40,
        "MOML",
        "first",
        Some(true),
    )
    .await;
    consenting += 1;
    // Excluded: 12 never asked, 3 withdrawn, 1 consenting but restricted (Art. 18).
    for i in 0..12 {
        person(
            app,
            &format!("n{i:03}"),
            "25-34",
            "FRA",
            1,
            "VGML",
            "economy",
            None,
        )
        .await;
    }
    for i in 0..3 {
        person(
            app,
            &format!("w{i:03}"),
            "25-34",
            "FRA",
            1,
            "VGML",
            "economy",
            Some(false),
        )
        .await;
    }
    person(
        app,
        "r-restricted",
        "25-34",
        "FRA",
        1,
        "VGML",
        "economy",
        Some(true),
    )
    .await;
    exec(app, "INSERT INTO privacy_restrictions (customer_id, request_id, since) VALUES ('r-restricted', 'req-1', '2026-12-01T00:00:00.000000Z')").await;

    consenting
}

#[tokio::test]
async fn shares_are_k_anonymous_l_diverse_consented_and_audited() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let consenting = seed(&app).await;
        // Only the privacy officer registers partners and shares.
        for role in [ids::MARKETING_MANAGER, ids::CONTACT_CENTRE_AGENT, ids::ADMINISTRATOR] {
            let r = post_as(&app, role, "/api/v1/privacy/shares", &json!({"partner": "Star Hotels"})).await;
            assert_eq!(r.status, 403, "{role}");
            assert_eq!(get_as(&app, role, "/api/v1/privacy/shares").await.status, 403, "{role}");
            let r = post_as(&app, role, "/api/v1/privacy/partners", &json!({"name": "X", "contact": "x@x.example", "agreement_ref": "A"})).await;
            assert_eq!(r.status, 403, "{role}");
            assert_eq!(get_as(&app, role, "/api/v1/privacy/partners").await.status, 403, "{role}");
        }
        // Partners are a register: each field named; a name is unique up to case and spacing.
        let r = post_as(&app, DPO, "/api/v1/privacy/partners", &json!({"name": " ", "contact": "x"})).await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert_eq!(pointers(&r), ["/name", "/contact", "/agreement_ref"]);
        let star = register(&app, "Star Hotels").await;
        let r = post_as(&app, DPO, "/api/v1/privacy/partners", &json!({"name": "star  HOTELS", "contact": "other@star.example", "agreement_ref": "DSA-2"})).await;
        assert_eq!(r.status, 409, "{}", r.text());
        assert_eq!(r.json()["errors"][0]["pointer"], "/name");
        register(&app, "Alliance Air").await;
        let list = get_as(&app, DPO, "/api/v1/privacy/partners").await.json();
        assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
        assert_eq!(list[1]["agreement_ref"], "DSA-Star Hotels");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.partner_registered'").await, 2);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM outbox WHERE event_type = 'aloft.privacy.partner_changed'").await, 2);
        // An unregistered partner (a new spelling included) gets nothing.
        let r = post_as(&app, DPO, "/api/v1/privacy/shares", &json!({"partner": "Star Hotel", "k": 5, "l": 2})).await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert_eq!(pointers(&r), ["/partner"]);
        // Bad input is named; nothing released.
        let r = post_as(&app, DPO, "/api/v1/privacy/shares", &json!({"k": 1, "l": 9, "sensitive": "religion"})).await;
        assert_eq!(r.status, 422, "{}", r.text());
        let ptrs: Vec<String> = r.json()["errors"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap().to_owned()).collect();
        assert_eq!(ptrs, ["/partner", "/k", "/l", "/sensitive"]);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM privacy_partner_shares").await, 0);

        // k = 5, l = 2 on meal preference; the partner named by its id.
        let r = post_as(&app, DPO, "/api/v1/privacy/shares", &json!({"partner": star, "k": 5, "l": 2})).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let share = r.json();
        assert_eq!(share["excluded_no_consent"], 16, "{share}");
        assert_eq!((share["partner"].as_str(), share["partner_id"].as_str()), (Some("Star Hotels"), Some(star.as_str())));
        assert_eq!(share["released"].as_u64().unwrap() + share["suppressed"].as_u64().unwrap(), consenting);
        assert!(share["suppressed"].as_u64().unwrap() >= 1, "the outlier is suppressed");
        assert!(share["suppressed"].as_u64().unwrap() <= consenting * 10 / 100);
        let csv = share["csv"].as_str().unwrap().to_owned();
        assert!(csv.starts_with("age_band,region,travel_frequency,meal_preference,count\n"), "{csv}");
        assert!(!csv.contains("MOML") && !csv.contains("JP") && !csv.contains("s00"), "{csv}");
        let (k, l) = pycanon(csv.clone(), "meal_preference").await;
        assert!(k >= 5 && l >= 2, "pycanon: k={k} l={l}\n{csv}");
        // The verifier discriminates: the same people un-generalised (exact bands, countries)
        // are not 5-anonymous by pycanon's count.
        let raw = "age_band,region,travel_frequency,meal_preference,count\n25-34,DE,1-2,VGML,3\n25-34,DE,1-2,KSML,2\n65+,JP,12+,MOML,1\n".to_owned();
        let (k, l) = pycanon(raw, "meal_preference").await;
        assert_eq!((k, l), (1, 1), "pycanon sees the outlier");

        // Stricter: k = 10, l = 3 on cabin; the partner named by its registered name, spelt loosely.
        let r = post_as(&app, DPO, "/api/v1/privacy/shares", &json!({"partner": "alliance  air", "k": 10, "l": 3, "sensitive": "cabin"})).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let strict = r.json();
        let csv2 = strict["csv"].as_str().unwrap().to_owned();
        assert!(csv2.lines().count() > 1, "something is released: {strict}");
        let (k, l) = pycanon(csv2.clone(), "cabin").await;
        assert!(k >= 10 && l >= 3, "pycanon: k={k} l={l}\n{csv2}");

        // Every share is kept with what was released, audited and published.
        let list = get_as(&app, DPO, "/api/v1/privacy/shares").await.json();
        assert_eq!(list.as_array().unwrap().len(), 2);
        let id = share["id"].as_str().unwrap();
        let r = get_as(&app, DPO, &format!("/api/v1/privacy/shares/{id}/csv")).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), csv, "the stored release is exactly what was sent");
        assert_eq!(get_as(&app, DPO, "/api/v1/privacy/shares/nope/csv").await.status, 404);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.partner_share'").await, 2);
        let fields: String = sqlx::query(&format!("SELECT fields FROM audit_log WHERE action = 'privacy.partner_share' AND resource_id = '{id}'"))
            .fetch_one(app.test_db.db.pool()).await.unwrap().try_get(0).unwrap();
        assert!(fields.contains("partner:Star Hotels") && fields.contains(&format!("partner_id:{star}")) && fields.contains("excluded_no_consent:16"), "{fields}");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM outbox WHERE event_type = 'aloft.privacy.partner_shared'").await, 2);

        // The console lists the shares.
        let dpo = app.sign_in_as(DPO).await;
        let html = app.get_as(&dpo, "/privacy?tab=partners").await.text();
        assert!(html.contains("id=\"partner-shares\"") && html.contains("Alliance Air"));
        app.stop().await;
    })
    .await;
}

/// `n` people near Johannesburg ("Africa and other") who never consented to partner sharing.
async fn far_excluded(app: &TestApp, n: usize) {
    let rows: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "('x{i:04}', 'JNB', '35-44', 3, NULL, 'economy', '2026-12-01T00:00:00.000000Z')"
            )
        })
        .collect();
    exec(app, &format!(
        "INSERT INTO analytics_customer_facts (customer_id, home_airport, age_band, flights_12m, meal_preference, main_cabin, updated_at) VALUES {}",
        rows.join(", ")
    )).await;
}

#[tokio::test]
async fn differentially_private_counts_spend_a_per_partner_budget_and_stop_when_it_is_spent() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        seed(&app).await;
        // 60 more people left out, all in a region where nobody consents: counted there, the
        // region's true count would be 60, not 0 — far beyond the noise (see below).
        far_excluded(&app, 60).await;
        let release = |partner: &'static str, eps: f64| {
            let app = &app;
            async move {
                post_as(app, DPO, "/api/v1/privacy/dp/releases",
                    &json!({"partner": partner, "dimension": "region", "epsilon": eps})).await
            }
        };
        for role in [ids::MARKETING_MANAGER, ids::CONTACT_CENTRE_AGENT] {
            assert_eq!(post_as(&app, role, "/api/v1/privacy/dp/budgets", &json!({"partner": "Star Hotels", "epsilon": 1})).await.status, 403);
            assert_eq!(post_as(&app, role, "/api/v1/privacy/dp/budgets/raise", &json!({"partner": "Star Hotels", "epsilon": 1, "reason": "because I say so"})).await.status, 403);
            assert_eq!(post_as(&app, role, "/api/v1/privacy/dp/releases", &json!({"partner": "Star Hotels", "dimension": "region", "epsilon": 0.5})).await.status, 403);
        }
        // An unregistered partner has no budget to set and gets no release: 422 naming it.
        let r = post_as(&app, DPO, "/api/v1/privacy/dp/budgets", &json!({"partner": "Star Hotels", "epsilon": 1})).await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert_eq!(pointers(&r), ["/partner"]);
        let r = release("Star Hotels", 0.5).await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert_eq!(pointers(&r), ["/partner"]);
        let star = register(&app, "Star Hotels").await;
        // Registered, no budget, no release.
        let r = release("Star Hotels", 0.5).await;
        assert_eq!(r.status, 409, "{}", r.text());
        assert_eq!(r.json()["errors"][0]["pointer"], "/partner");
        let r = post_as(&app, DPO, "/api/v1/privacy/dp/budgets", &json!({"partner": "Star Hotels", "epsilon": "0.0001"})).await;
        assert_eq!(r.status, 422);
        assert_eq!(r.json()["errors"][0]["pointer"], "/epsilon");
        let r = post_as(&app, DPO, "/api/v1/privacy/dp/budgets", &json!({"partner": star, "epsilon": 1})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["epsilon_remaining"], "1.000");

        // Two releases of 0.5 spend it; the counts cover every bin and are near the truth.
        // Laplace scale 1/0.5 = 2: P(|noise| > 20) = e^-10. Europe: 72 consenting people near
        // European airports (16 more left out there). Africa and other: nobody consents, so 0;
        // without the consent filter it would be 60.
        let r = release("Star Hotels", 0.5).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let rel = r.json();
        let counts = rel["counts"].as_array().unwrap();
        assert_eq!(counts.len(), 7, "{rel}");
        let bin = |name: &str| counts.iter().find(|c| c[0] == name).unwrap()[1].as_i64().unwrap();
        assert!((52..=92).contains(&bin("Europe")), "{rel}");
        assert!(bin("Africa and other") <= 20, "the people left out are not counted: {rel}");
        // Exactly who was left out, for the privacy officer: 16 + 60.
        assert_eq!(rel["excluded_no_consent"], 76, "{rel}");
        assert_eq!(rel["partner_id"], star.as_str());
        assert_eq!(rel["budget"]["epsilon_remaining"], "0.500");
        let stored: String = sqlx::query_scalar(&format!("SELECT released FROM privacy_partner_shares WHERE id = '{}'", rel["id"].as_str().unwrap()))
            .fetch_one(app.test_db.db.pool()).await.unwrap();
        let stored: Value = serde_json::from_str(&stored).unwrap();
        assert_eq!(&stored, &rel["counts"], "the partner receives the noisy counts only, not who was left out");
        let fields: String = sqlx::query_scalar(&format!("SELECT fields FROM audit_log WHERE action = 'privacy.partner_share' AND resource_id = '{}'", rel["id"].as_str().unwrap()))
            .fetch_one(app.test_db.db.pool()).await.unwrap();
        assert!(fields.contains("excluded_no_consent:76") && fields.contains(&format!("partner_id:{star}")), "{fields}");
        assert_eq!(release("Star Hotels", 0.5).await.status, 201);
        // Spent: refused, naming epsilon; nothing released.
        let r = release("Star Hotels", 0.01).await;
        assert_eq!(r.status, 409, "{}", r.text());
        assert_eq!(r.json()["errors"][0]["pointer"], "/epsilon");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM privacy_partner_shares WHERE kind = 'dp_counts'").await, 2);
        let b = get_as(&app, DPO, "/api/v1/privacy/dp/budgets").await.json();
        assert_eq!(b[0]["epsilon_spent"], "1.000");
        assert_eq!(b[0]["releases"], 2);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.partner_share' AND fields LIKE '%dp_counts%'").await, 2);

        // The cap is for the partner's lifetime: setting it again — under any spelling — is
        // refused, naming epsilon, and changes nothing.
        for name in ["Star Hotels", "  star hotels "] {
            let r = post_as(&app, DPO, "/api/v1/privacy/dp/budgets", &json!({"partner": name, "epsilon": 5})).await;
            assert_eq!(r.status, 409, "{}", r.text());
            assert_eq!(pointers(&r), ["/epsilon"]);
        }
        assert_eq!(release("Star Hotels", 0.01).await.status, 409, "still spent");
        // A raise is explicit, with a reason, audited with the totals before and after.
        let r = post_as(&app, DPO, "/api/v1/privacy/dp/budgets/raise", &json!({"partner": "Star Hotels", "epsilon": 0.5})).await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert_eq!(pointers(&r), ["/reason"]);
        let r = post_as(&app, DPO, "/api/v1/privacy/dp/budgets/raise", &json!({"partner": "Nobody Ltd", "epsilon": 0.5, "reason": "agreement DSA-9 amended"})).await;
        assert_eq!(r.status, 422);
        assert_eq!(pointers(&r), ["/partner"]);
        let r = post_as(&app, DPO, "/api/v1/privacy/dp/budgets/raise", &json!({"partner": "Star Hotels", "epsilon": 0.5, "reason": "agreement DSA-7 amended on 2026-12-01"})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let raised = r.json();
        assert_eq!((raised["epsilon_total"].as_str(), raised["epsilon_remaining"].as_str(), raised["raises"].as_u64()), (Some("1.500"), Some("0.500"), Some(1)), "{raised}");
        let fields: String = sqlx::query_scalar("SELECT fields FROM audit_log WHERE action = 'privacy.dp_budget_raised'")
            .fetch_one(app.test_db.db.pool()).await.unwrap();
        assert!(fields.contains("epsilon_total_before:1.000") && fields.contains("epsilon_total_after:1.500") && fields.contains("reason:agreement DSA-7 amended"), "{fields}");
        assert_eq!(release("Star Hotels", 0.5).await.status, 201);
        assert_eq!(release("Star Hotels", 0.01).await.status, 409, "the raised cap is spent too");

        // Concurrent releases cannot overspend: budget 1.0, four releases of 0.3 at once → three.
        register(&app, "Alliance Air").await;
        let r = post_as(&app, DPO, "/api/v1/privacy/dp/budgets", &json!({"partner": "Alliance Air", "epsilon": 1})).await;
        assert_eq!(r.status, 200);
        let (a, b2, c, d) = tokio::join!(
            release("Alliance Air", 0.3), release("Alliance Air", 0.3),
            release("Alliance Air", 0.3), release("Alliance Air", 0.3)
        );
        let mut st: Vec<u16> = [a, b2, c, d].iter().map(|r| r.status).collect();
        st.sort();
        assert_eq!(st, [201, 201, 201, 409]);

        let dpo = app.sign_in_as(DPO).await;
        let html = app.get_as(&dpo, "/privacy?tab=partners").await.text();
        assert!(html.contains("id=\"privacy-budgets\"") && html.contains("Alliance Air"));
        app.stop().await;
    })
    .await;
}

/// Releases made before partners were registered (free-text name, no id) count against the
/// partner's lifetime budget once it is registered under that name, whatever the spelling; the
/// budget rows of that time (which a later row could replace) do not.
#[tokio::test]
async fn spending_before_partners_were_registered_counts_against_the_lifetime_cap() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        for (id, partner, kind, milli) in [
            ("00000000-0000-7000-8000-000000000001", "star  HOTELS", "dp_budget", 5000),
            ("00000000-0000-7000-8000-000000000002", "star  HOTELS", "dp_counts", 400),
            ("00000000-0000-7000-8000-000000000003", "Other Co", "dp_counts", 900),
        ] {
            exec(&app, &format!(
                "INSERT INTO privacy_partner_shares (id, partner, kind, created_at, created_by, parameters, released) \
                 VALUES ('{id}', '{partner}', '{kind}', '2026-11-01T00:00:00.000000Z', 'u', '{{\"epsilon_milli\": {milli}}}', '')"
            )).await;
        }
        register(&app, "Star Hotels").await;
        let fields: String = sqlx::query_scalar("SELECT fields FROM audit_log WHERE action = 'privacy.partner_registered'")
            .fetch_one(app.test_db.db.pool()).await.unwrap();
        assert!(fields.contains("adopted_releases:1"), "{fields}");
        let r = post_as(&app, DPO, "/api/v1/privacy/dp/budgets", &json!({"partner": "Star Hotels", "epsilon": 1})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let b = r.json();
        assert_eq!(b["epsilon_total"], "1.000", "the old budget row is not adopted: {b}");
        let b = get_as(&app, DPO, "/api/v1/privacy/dp/budgets").await.json();
        assert_eq!((b[0]["epsilon_spent"].as_str(), b[0]["epsilon_remaining"].as_str(), b[0]["releases"].as_u64()), (Some("0.400"), Some("0.600"), Some(1)), "{b}");
        let release = |eps: f64| {
            let app = &app;
            async move {
                post_as(app, DPO, "/api/v1/privacy/dp/releases", &json!({"partner": "Star Hotels", "dimension": "age_band", "epsilon": eps})).await
            }
        };
        assert_eq!(release(0.7).await.status, 409);
        assert_eq!(release(0.6).await.status, 201);
        app.stop().await;
    })
    .await;
}

/// The DPO console's forms: a share released from the form (its errors named on their fields,
/// nothing released), its CSV downloaded from the list; a budget set and counts released from
/// the forms, a release the budget cannot pay for refused naming ε, one for a partner without a
/// budget naming the partner.
#[tokio::test]
async fn the_console_releases_shares_and_counts_from_its_forms() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        seed(&app).await;
        register(&app, "Star Hotels").await;
        let dpo = app.sign_in_as(DPO).await;
        // A partner registered from the form: fields named, a second spelling refused.
        let r = app.post_form_as(&dpo, "/privacy/partners", "partner_name=Alliance+Air&partner_contact=x").await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(r.text().contains("href=\"#f-partner-contact\"") && r.text().contains("href=\"#f-partner-agreement-ref\""), "{}", r.text());
        let r = app.post_form_as(&dpo, "/privacy/partners", "partner_name=Alliance+Air&partner_contact=dpo%40alliance.example&partner_agreement_ref=DSA-AA-1").await;
        assert_eq!(r.status, 303, "{}", r.text());
        let r = app.post_form_as(&dpo, "/privacy/partners", "partner_name=ALLIANCE+air&partner_contact=dpo%40alliance.example&partner_agreement_ref=DSA-AA-2").await;
        assert_eq!(r.status, 409, "{}", r.text());
        assert!(r.text().contains("href=\"#f-partner-name\""), "{}", r.text());
        let html = app.get_as(&dpo, "/privacy?tab=partners").await.text();
        assert!(html.contains("id=\"privacy-partners\"") && html.contains("DSA-AA-1") && !html.contains("DSA-AA-2"));
        let html = app.get_as(&dpo, "/privacy?tab=partners").await.text();
        for form in ["action=\"/privacy/shares\"", "action=\"/privacy/dp/budgets\"", "action=\"/privacy/dp/releases\"", "action=\"/privacy/partners\""] {
            assert!(html.contains(form), "{form}");
        }

        // A share: bad k and l named on their fields, nothing released.
        let r = app.post_form_as(&dpo, "/privacy/shares", "share_partner=Star+Hotels&share_k=1&share_l=x&share_max_suppression_percent=10").await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(r.text().contains("href=\"#f-share-k\"") && r.text().contains("href=\"#f-share-l\""), "{}", r.text());
        assert!(r.text().contains("value=\"Star Hotels\""), "the form keeps what was typed");
        let r = app.post_form_as(&dpo, "/privacy/shares", "share_partner=&share_k=5&share_l=7").await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("href=\"#f-share-partner\"") && r.text().contains("href=\"#f-share-l\""), "{}", r.text());
        let r = app.post_form_as(&dpo, "/privacy/shares", "share_partner=Star+Hotel&share_k=5&share_l=2").await;
        assert_eq!(r.status, 422, "an unregistered partner");
        assert!(r.text().contains("href=\"#f-share-partner\""), "{}", r.text());
        assert_eq!(count(&app, "SELECT COUNT(*) FROM privacy_partner_shares").await, 0);
        let r = app.post_form_as(&dpo, "/privacy/shares", "share_partner=Star+Hotels&share_k=5&share_l=2&share_sensitive=cabin&share_max_suppression_percent=10").await;
        assert_eq!(r.status, 303, "{}", r.text());
        assert_eq!(count(&app, "SELECT COUNT(*) FROM privacy_partner_shares WHERE kind = 'k_anonymous'").await, 1);
        let html = app.get_as(&dpo, "/privacy?tab=partners").await.text();
        let id: String = sqlx::query_scalar("SELECT id FROM privacy_partner_shares").fetch_one(app.test_db.db.pool()).await.unwrap();
        let link = format!("/privacy/shares/{id}/csv");
        assert!(html.contains(&link), "the list links the released file");
        let r = app.get_as(&dpo, &link).await;
        assert_eq!(r.status, 200);
        assert!(r.text().starts_with("age_band,region,travel_frequency,cabin,count"), "{}", r.text());

        // Budgets and releases.
        let r = app.post_form_as(&dpo, "/privacy/dp/budgets", "budget_partner=Star+Hotels&budget_epsilon=lots").await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("href=\"#f-budget-epsilon\""), "{}", r.text());
        let r = app.post_form_as(&dpo, "/privacy/dp/budgets", "budget_partner=Star+Hotels&budget_epsilon=1").await;
        assert_eq!(r.status, 303, "{}", r.text());
        let r = app.post_form_as(&dpo, "/privacy/dp/budgets", "budget_partner=Star+Hotels&budget_epsilon=9").await;
        assert_eq!(r.status, 409, "the lifetime budget is set once");
        assert!(r.text().contains("href=\"#f-budget-epsilon\""), "{}", r.text());
        let r = app.post_form_as(&dpo, "/privacy/dp/budgets", "budget_partner=Nobody&budget_epsilon=1").await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("href=\"#f-budget-partner\""), "{}", r.text());
        let r = app.post_form_as(&dpo, "/privacy/dp/releases", "dp_partner=Star+Hotels&dp_dimension=region&dp_epsilon=0.6").await;
        assert_eq!(r.status, 303, "{}", r.text());
        let r = app.post_form_as(&dpo, "/privacy/dp/releases", "dp_partner=Star+Hotels&dp_dimension=region&dp_epsilon=0.6").await;
        assert_eq!(r.status, 409, "only 0.4 is left");
        assert!(r.text().contains("href=\"#f-dp-epsilon\""), "{}", r.text());
        let r = app.post_form_as(&dpo, "/privacy/dp/releases", "dp_partner=Alliance+Air&dp_dimension=region&dp_epsilon=0.1").await;
        assert_eq!(r.status, 409);
        assert!(r.text().contains("href=\"#f-dp-partner\""), "{}", r.text());
        let r = app.post_form_as(&dpo, "/privacy/dp/releases", "dp_partner=Star+Hotels&dp_dimension=planet&dp_epsilon=9").await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("href=\"#f-dp-dimension\"") && r.text().contains("href=\"#f-dp-epsilon\""), "{}", r.text());
        assert_eq!(count(&app, "SELECT COUNT(*) FROM privacy_partner_shares WHERE kind = 'dp_counts'").await, 1);
        let html = app.get_as(&dpo, "/privacy?tab=partners").await.text();
        assert!(html.contains("id=\"privacy-budgets\"") && html.contains("0.400"), "the remaining budget is shown");
        // A raise from the form needs a reason; with one, the release fits.
        assert!(html.contains("action=\"/privacy/dp/budgets/raise\""));
        let star: String = sqlx::query_scalar("SELECT id FROM privacy_partners WHERE name = 'Star Hotels'").fetch_one(app.test_db.db.pool()).await.unwrap();
        let r = app.post_form_as(&dpo, "/privacy/dp/budgets/raise", &format!("raise_partner={star}&raise_epsilon=0.5&raise_reason=")).await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("href=\"#f-raise-reason\""), "{}", r.text());
        let r = app.post_form_as(&dpo, "/privacy/dp/budgets/raise", &format!("raise_partner={star}&raise_epsilon=0.5&raise_reason=DSA-7+amended+2026-12")).await;
        assert_eq!(r.status, 303, "{}", r.text());
        let r = app.post_form_as(&dpo, "/privacy/dp/releases", "dp_partner=Star+Hotels&dp_dimension=region&dp_epsilon=0.6").await;
        assert_eq!(r.status, 303, "0.9 was left after the raise");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.dp_budget_raised'").await, 1);

        // Not for other staff.
        let agent = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
        let r = app.post_form_as(&agent, "/privacy/dp/budgets", "budget_partner=X&budget_epsilon=1").await;
        assert_eq!(r.status, 403);
        app.stop().await;
    })
    .await;
}
