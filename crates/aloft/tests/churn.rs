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
        let (_, h) = all.iter().find(|(c, _)| *c == id).unwrap();
        assert_eq!(h.tiers.len(), 2);
        assert_eq!(h.tiers[1].0, changed);
        assert_eq!(tier_drop(h), 1.0);
        app.stop().await;
    })
    .await;
}
