//! The defection model (issue 22, item 3) on a running instance, both backends: a history with
//! a planted signal (the churn demo generator: disruptions make defection likelier) recorded
//! through the travel domain; training with the time-based split through the function
//! `aloft model train churn` calls; AUC ≥ 0.7 and the disruption features weighing towards
//! defection; a customer's explanation on the API and the 360° tab (audited); who may see what
//! (contact centre agent: scores; data analyst: the model; passenger: neither); and a
//! population with one class only refused with a clear error, nothing stored.

mod common;

use std::sync::Arc;

use bytes::Bytes;
use chrono::{Duration, Utc};
use common::{TestApp, on_each_backend};
use serde_json::{Value, json};

use aloft::roles::ids;
use aloft_churn::ChurnStore;
use aloft_churn::features::DISRUPTION_FEATURES;
use aloft_kernel::AccessContext;
use aloft_travel::TravelStore;
use aloft_travel::model::{CustomerId, Record, RecordKind};

async fn api_as(app: &TestApp, role: &str, path: &str) -> common::Reply {
    app.request(
        "GET",
        path,
        &[("authorization", app.role_tokens.get(role))],
        Bytes::new(),
    )
    .await
}

/// `n` customers (the customers demo generator), each with the churn demo's planted history.
async fn seed(
    app: &TestApp,
    n: u64,
    history: impl Fn(u64) -> Vec<(RecordKind, Value)>,
) -> Vec<CustomerId> {
    aloft_customers::demo::load(&app.customers, 7, n, |_| {})
        .await
        .unwrap();
    let ids = app.customers.sample_ids(n as i64).await.unwrap();
    let travel = TravelStore::new(app.test_db.db.clone(), Arc::new(app.customers.clone()));
    let mut batch = Vec::new();
    for (i, c) in ids.iter().enumerate() {
        for (kind, doc) in history(i as u64) {
            batch.push((*c, Record::parse(kind, &doc).unwrap()));
        }
    }
    for chunk in batch.chunks(2_000) {
        travel
            .record_many(chunk.to_vec(), &AccessContext::system("test"))
            .await
            .unwrap();
    }
    ids
}

#[tokio::test]
async fn the_model_learns_the_planted_signal_and_explains_a_customer_to_those_allowed() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let now = Utc::now();
        let ids = seed(&app, 500, |i| aloft_churn::demo::history(42, i, now)).await;

        let store = ChurnStore::new(app.test_db.db.clone());
        let m = store
            .train_and_store(now, &AccessContext::system("test"))
            .await
            .unwrap();
        let x = &m.model.metrics;
        assert!(x.auc >= 0.7, "validation AUC {}", x.auc);
        assert!(
            x.brier < x.brier_baseline,
            "{} vs {}",
            x.brier,
            x.brier_baseline
        );
        assert_eq!(x.calibration.len(), 10);
        let disruption_weight: f64 = m
            .model
            .coefficients()
            .iter()
            .filter(|c| DISRUPTION_FEATURES.contains(&c.feature.as_str()))
            .map(|c| c.weight)
            .sum();
        assert!(disruption_weight > 0.0, "{:?}", m.model.coefficients());
        // Stored with its event and audit record.
        let events: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE event_type = 'aloft.model.trained'",
        )
        .fetch_one(app.test_db.db.pool())
        .await
        .unwrap();
        assert_eq!(events, 1);

        // The analyst sees the model (aggregates), not a customer's score.
        let r = api_as(&app, ids::DATA_ANALYST, "/api/v1/models/churn").await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["version"], 1);
        assert!(r.json()["metrics"]["auc"].as_f64().unwrap() >= 0.7);

        // The still-active customer who suffered the most disruptions in the last 12 months:
        // their explanation names the disruptions as raising the risk.
        let mut disrupted: Option<(usize, String)> = None;
        for c in &ids {
            let h = store.history_of(&c.to_string()).await.unwrap().unwrap();
            let recent = h
                .flights
                .iter()
                .filter(|f| f.disrupted && f.departure > now - Duration::days(365))
                .count();
            if aloft_churn::features::active(&h, now)
                && disrupted.as_ref().is_none_or(|(n, _)| recent > *n)
            {
                disrupted = Some((recent, c.to_string()));
            }
        }
        let (recent, id) = disrupted.expect("an active customer");
        assert!(
            recent >= 2,
            "the most disrupted active customer had {recent}"
        );
        // A score profiles the customer: it needs their personalisation consent.
        consent(&app, &id, "personalisation", true).await;
        let path = format!("/api/v1/customers/{id}/churn");
        let r = api_as(&app, ids::CONTACT_CENTRE_AGENT, &path).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let s = r.json();
        assert!(s["risk"].as_f64().unwrap() > 0.0);
        assert_eq!(s["currency"], "EUR");
        assert!(s["expected_value"].as_str().unwrap().contains('.'));
        let reasons = s["reasons"].as_array().unwrap();
        assert!(!reasons.is_empty(), "{s}");
        assert!(
            reasons
                .iter()
                .any(|r| r["feature"].as_str().unwrap().contains("disruptions")
                    && r["contribution"].as_f64().unwrap() > 0.0
                    && r["words"].as_str().unwrap().contains("raises the risk")),
            "{s}"
        );
        let audited: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'churn.score_read' AND resource_id = $1",
        )
        .bind(&id)
        .fetch_one(app.test_db.db.pool())
        .await
        .unwrap();
        assert_eq!(audited, 1, "the score read is audited");

        // Permission boundaries.
        assert_eq!(api_as(&app, ids::DATA_ANALYST, &path).await.status, 403);
        assert_eq!(
            api_as(&app, ids::CONTACT_CENTRE_AGENT, "/api/v1/models/churn")
                .await
                .status,
            403
        );
        assert_eq!(api_as(&app, ids::PASSENGER, &path).await.status, 403);
        assert_eq!(
            api_as(&app, ids::PASSENGER, "/api/v1/models/churn")
                .await
                .status,
            403
        );
        assert_eq!(
            api_as(&app, ids::MARKETING_MANAGER, &path).await.status,
            403
        );
        let r = api_as(
            &app,
            ids::CONTACT_CENTRE_AGENT,
            "/api/v1/customers/0190c3b2-0000-7000-8000-000000000000/churn",
        )
        .await;
        assert_eq!(r.status, 404, "{}", r.text());

        // The 360° tab shows the risk and the reasons in words; the model page the calibration.
        let agent = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
        let r = app
            .get_as(&agent, &format!("/customers/{id}?tab=churn"))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let html = r.text();
        assert!(html.contains("Retention risk"), "the tab is listed");
        assert!(html.contains("Defection risk"), "{html}");
        assert!(html.contains("raises the risk"), "{html}");
        assert!(html.contains("Expected spend"), "{html}");
        let analyst = app.sign_in_as(ids::DATA_ANALYST).await;
        let r = app.get_as(&analyst, "/models/churn").await;
        assert_eq!(r.status, 200, "{}", r.text());
        let html = r.text();
        assert!(
            html.contains("AUC (validation)") && html.contains("churn-calibration"),
            "{html}"
        );
        assert!(html.contains("Brier score"), "{html}");
        assert_eq!(app.get_as(&agent, "/models/churn").await.status, 403);
        let r = app
            .get_as(&analyst, &format!("/customers/{id}?tab=churn"))
            .await;
        assert!(
            r.status == 403 || !r.text().contains("Defection risk"),
            "{}",
            r.text()
        );
        app.stop().await;
    })
    .await;
}

async fn call(app: &TestApp, role: &str, method: &str, path: &str, body: &Value) -> common::Reply {
    app.request(
        method,
        path,
        &[
            ("authorization", app.role_tokens.get(role)),
            ("content-type", "application/json"),
        ],
        Bytes::from(body.to_string()),
    )
    .await
}

/// Records `customer`'s consent to `purpose` (given or withdrawn) as a contact centre agent.
async fn consent(app: &TestApp, customer: &str, purpose: &str, granted: bool) {
    let r = call(
        app,
        ids::CONTACT_CENTRE_AGENT,
        "POST",
        &format!("/api/v1/customers/{customer}/consents"),
        &json!({"purpose": purpose, "granted": granted, "source": "contact_centre", "proof": "call 9001"}),
    )
    .await;
    assert!(r.status < 300, "{}", r.text());
}

/// Restricts `customer`'s processing (Art. 18) as the privacy officer does: a restriction
/// request taken through identity verification to completion.
async fn restrict(app: &TestApp, customer: &str) {
    let dpo = ids::DATA_PRIVACY_OFFICER;
    let r = call(app, dpo, "POST", "/api/v1/privacy/requests",
        &json!({"customer_id": customer, "kind": "restriction", "channel": "email", "details": "disputed"})).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let request = r.json()["id"].as_str().unwrap().to_owned();
    for step in [
        json!({"to": "identity_verified", "note": "passport checked"}),
        json!({"to": "in_progress"}),
        json!({"to": "completed", "note": "restricted until settled"}),
    ] {
        let path = format!("/api/v1/privacy/requests/{request}/transitions");
        let r = call(app, dpo, "POST", &path, &step).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
}

/// The value of `aloft_churn_score_withheld_total{reason}` on `/metrics` (0 before the first).
async fn withheld_count(app: &TestApp, reason: &str) -> u64 {
    let text = api_as(app, ids::SECURITY_OPERATIONS_MANAGER, "/metrics")
        .await
        .text();
    let series = format!("aloft_churn_score_withheld_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .map_or(0, |v| v.trim().parse().unwrap())
}

/// Issue 21 item 2. Training is an analysis of the population (`analytics`: consent or
/// legitimate interests): people never asked are in it, those who withdrew it or whose
/// processing is restricted are left out, and the model counts them. Scoring one customer is
/// profiling (`personalisation`: consent alone): never asked, withdrawn or restricted gets no
/// score — a 409 and a notice on the tab saying why, counted — and consent given gets one.
/// Without the checks the left-out people would be in the population and every score computed.
#[tokio::test]
async fn training_leaves_out_objections_and_a_score_needs_personalisation_consent() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let now = Utc::now();
        let ids_ = seed(&app, 300, |i| aloft_churn::demo::history(42, i, now)).await;
        let ids_: Vec<String> = ids_.iter().map(|c| c.to_string()).collect();
        let (withdrew, rest) = ids_.split_at(6);
        let (restricted, rest) = rest.split_at(1);
        let consented = &rest[0];
        for c in withdrew {
            consent(&app, c, "analytics", false).await;
        }
        restrict(&app, &restricted[0]).await;
        consent(&app, consented, "analytics", true).await;

        let store = ChurnStore::new(app.test_db.db.clone());
        let population = store.histories().await.unwrap();
        let in_it = |c: &String| population.people.iter().any(|(p, _)| p == c);
        assert_eq!(population.people.len(), 300 - 7);
        assert!(!withdrew.iter().any(in_it) && !in_it(&restricted[0]));
        assert!(
            in_it(consented) && in_it(&rest[1]),
            "consented and never asked are in"
        );
        let m = store
            .train_and_store(now, &AccessContext::system("test"))
            .await
            .unwrap();
        assert_eq!(
            (m.model.left_out.objected, m.model.left_out.restricted),
            (6, 1)
        );
        let r = api_as(&app, ids::DATA_ANALYST, "/api/v1/models/churn").await;
        assert_eq!(
            r.json()["left_out"],
            json!({"objected": 6, "restricted": 1}),
            "{}",
            r.text()
        );
        let analyst = app.sign_in_as(ids::DATA_ANALYST).await;
        let html = app.get_as(&analyst, "/models/churn").await.text();
        assert!(html.contains("Left out: objected to analytics"), "{html}");

        // Never asked about personalisation: no score, and why.
        let x = &rest[1];
        let path = format!("/api/v1/customers/{x}/churn");
        let before = withheld_count(&app, "no_consent").await;
        let r = api_as(&app, ids::CONTACT_CENTRE_AGENT, &path).await;
        assert_eq!(r.status, 409, "{}", r.text());
        assert!(
            r.json()["type"]
                .as_str()
                .unwrap()
                .ends_with("consent-required"),
            "{}",
            r.text()
        );
        assert!(
            r.json()["detail"]
                .as_str()
                .unwrap()
                .contains("no personalisation consent"),
            "{}",
            r.text()
        );
        assert!(
            withheld_count(&app, "no_consent").await > before,
            "counted on /metrics"
        );
        let agent = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
        let html = app
            .get_as(&agent, &format!("/customers/{x}?tab=churn"))
            .await
            .text();
        assert!(
            html.contains("No retention risk: no personalisation consent"),
            "{html}"
        );
        assert!(!html.contains("Defection risk"), "{html}");
        // Given: scored. Withdrawn again: not.
        consent(&app, x, "personalisation", true).await;
        let r = api_as(&app, ids::CONTACT_CENTRE_AGENT, &path).await;
        assert_eq!(r.status, 200, "{}", r.text());
        consent(&app, x, "personalisation", false).await;
        assert_eq!(
            api_as(&app, ids::CONTACT_CENTRE_AGENT, &path).await.status,
            409
        );
        // Restricted with personalisation given: no score either.
        consent(&app, &restricted[0], "personalisation", true).await;
        let before = withheld_count(&app, "restricted").await;
        let r = api_as(
            &app,
            ids::CONTACT_CENTRE_AGENT,
            &format!("/api/v1/customers/{}/churn", restricted[0]),
        )
        .await;
        assert_eq!(r.status, 409, "{}", r.text());
        assert!(
            r.json()["detail"].as_str().unwrap().contains("Art. 18"),
            "{}",
            r.text()
        );
        assert!(withheld_count(&app, "restricted").await > before);
        // Only the one computed score was audited as a read.
        let audited: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'churn.score_read'")
                .fetch_one(app.test_db.db.pool())
                .await
                .unwrap();
        assert_eq!(audited, 1);
        app.stop().await;
    })
    .await;
}

/// Everyone flies every month up to today: nobody defects, so there is nothing to learn.
fn loyal(i: u64, now: chrono::DateTime<Utc>) -> Vec<(RecordKind, Value)> {
    (0..30)
        .map(|m| {
            let t = now - Duration::days(30 * m + 2);
            let local = t.format("%Y-%m-%dT10:00").to_string();
            let arrival = t.format("%Y-%m-%dT13:00").to_string();
            (
                RecordKind::Booking,
                json!({
                    "source": "test", "source_record_id": format!("loyal-{i}-{m}"),
                    "record_locator": format!("L{:05}", i * 100 + m as u64),
                    "segments": [{"flight_number": "TP1350", "origin": "LIS", "destination": "LHR",
                        "scheduled_departure_local": local, "scheduled_arrival_local": arrival,
                        "cabin": "economy", "rbd": "Y", "status": "flown"}],
                }),
            )
        })
        .collect()
}

#[tokio::test]
async fn one_class_only_is_a_clear_error_and_stores_nothing() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let now = Utc::now();
        let store = ChurnStore::new(app.test_db.db.clone());
        // No history at all: too few customers.
        let e = store
            .train_and_store(now, &AccessContext::system("test"))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("too few customers"), "{e}");
        seed(&app, 60, |i| loyal(i, now)).await;
        let e = store
            .train_and_store(now, &AccessContext::system("test"))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("one class only"), "{e}");
        assert!(e.to_string().contains("0 of 60 customers defected"), "{e}");
        let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM churn_models")
            .fetch_one(app.test_db.db.pool())
            .await
            .unwrap();
        assert_eq!(stored, 0);
        // Without a model the score is a 404 naming it, not an error.
        let id = app.customers.sample_ids(1).await.unwrap()[0];
        let r = api_as(
            &app,
            ids::CONTACT_CENTRE_AGENT,
            &format!("/api/v1/customers/{id}/churn"),
        )
        .await;
        assert_eq!(r.status, 404, "{}", r.text());
        app.stop().await;
    })
    .await;
}

/// Tier movement (issue 22, item 3): the only tier history Aloft keeps is what analytics sees
/// when a customer's tier differs from their facts row — the previous tier and when — and the
/// model reads it, so a gold member moved to silver has lost one tier in the last 12 months.
#[tokio::test]
async fn a_downgrade_analytics_saw_is_tier_movement_for_the_model() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let id = app
            .create_customer(json!({"first_name": "Tia", "last_name": "Zqtier",
                "loyalty_number": "AL800000001", "loyalty_tier": "gold"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let facts = aloft_analytics::storage::SegmentStore::new(app.test_db.db.clone());
        let store = ChurnStore::new(app.test_db.db.clone());
        let drop_at = aloft_churn::features::FEATURES
            .iter()
            .position(|f| f.code == "tier_drop")
            .unwrap();
        let tier_drop = |h: &aloft_churn::features::History| {
            aloft_churn::features::extract(h, Utc::now() + Duration::seconds(5))[drop_at]
        };
        facts.rebuild(Utc::now()).await.unwrap();
        let h = store.history_of(&id).await.unwrap().unwrap();
        assert_eq!(
            h.tiers.len(),
            1,
            "no change seen: the first tier is no movement"
        );
        assert_eq!(tier_drop(&h), 0.0);

        let r = app
            .patch_json(
                &format!("/api/v1/customers/{id}"),
                &json!({"loyalty_tier": "silver"}),
                Some("\"1\""),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        facts.rebuild(Utc::now()).await.unwrap();
        let h = store.history_of(&id).await.unwrap().unwrap();
        assert_eq!(h.tiers.len(), 2, "{:?}", h.tiers);
        assert_eq!(tier_drop(&h), 1.0, "gold → silver: one tier lost");
        let changed = h.tiers[1].0;
        // The segment language sees it too; a rebuild with no change keeps the movement.
        let rule = aloft_analytics::segment::parse(&json!({"all": [
            {"field": "loyalty.previous_tier", "op": "=", "value": "gold"},
            {"field": "loyalty.tier_changed_days", "op": "<=", "value": 1}]}))
        .unwrap();
        assert_eq!(facts.count(&rule, Utc::now()).await.unwrap(), 1);
        facts.rebuild(Utc::now()).await.unwrap();
        let all = store.histories().await.unwrap();
        let (_, h) = all.people.iter().find(|(c, _)| *c == id).unwrap();
        assert_eq!(h.tiers.len(), 2);
        assert_eq!(h.tiers[1].0, changed);
        assert_eq!(tier_drop(h), 1.0);
        app.stop().await;
    })
    .await;
}
