//! Data-subject requests end to end on both backends: opened with their one-month deadline,
//! listed oldest deadline first with due-soon/overdue, extended once, moved through identity
//! verification, and fulfilled for real — access returns the export, restriction makes the
//! consent check say no, objection withdraws consents with the request as proof,
//! rectification links the profile versions, erasure erases. Only the privacy officer may.

mod common;

use bytes::Bytes;
use common::{TestApp, on_each_backend};
use serde_json::{Value, json};
use sqlx::Row;

use aloft::roles::ids;
use aloft_customers::CustomerId;
use aloft_privacy::{ConsentStore, consent_exists_sql, purpose};

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

const DPO: &str = ids::DATA_PRIVACY_OFFICER;

async fn consent(app: &TestApp, customer: &str, purpose: &str, channel: &str) {
    let r = post_as(
        app,
        ids::CONTACT_CENTRE_AGENT,
        &format!("/api/v1/customers/{customer}/consents"),
        &json!({"purpose": purpose, "channel": channel, "granted": true, "source": "web", "proof": "form 1"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
}

async fn open(app: &TestApp, customer: &str, kind: &str, details: &str) -> Value {
    let r = post_as(
        app,
        DPO,
        "/api/v1/privacy/requests",
        &json!({"customer_id": customer, "kind": kind, "channel": "email", "details": details}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

async fn step(app: &TestApp, id: &str, body: Value) -> common::Reply {
    post_as(
        app,
        DPO,
        &format!("/api/v1/privacy/requests/{id}/transitions"),
        &body,
    )
    .await
}

/// Verifies identity and starts work: the request is then ready to complete.
async fn ready(app: &TestApp, id: &str) {
    let r = step(
        app,
        id,
        json!({"to": "identity_verified", "note": "passport copy checked"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = step(app, id, json!({"to": "in_progress"})).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

fn pointers(r: &common::Reply) -> String {
    r.json()["errors"].to_string()
}

#[tokio::test]
async fn requests_are_tracked_to_their_deadline_and_guarded() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let ana = app
            .create_customer(json!({"first_name": "Ana", "last_name": "Silva", "email": "ana.silva@example.com"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();

        // Bad input names the field; nothing stored.
        let r = post_as(&app, DPO, "/api/v1/privacy/requests",
            &json!({"customer_id": ana, "kind": "forget_me", "channel": "email"})).await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(r.header("content-type").starts_with("application/problem+json"));
        assert_eq!(r.json()["errors"][0]["pointer"], "/kind");
        let r = post_as(&app, DPO, "/api/v1/privacy/requests", &json!({"kind": "access"})).await;
        assert_eq!(r.status, 422);
        assert!(pointers(&r).contains("/customer_id") && pointers(&r).contains("/channel"));
        let r = post_as(&app, DPO, "/api/v1/privacy/requests",
            &json!({"customer_id": CustomerId::generate().to_string(), "kind": "access", "channel": "letter"})).await;
        assert_eq!(r.status, 422);
        assert_eq!(r.json()["errors"][0]["pointer"], "/customer_id");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM privacy_requests").await, 0);

        // Attack: without the privacy officer's permission, nothing about requests.
        for role in [ids::CONTACT_CENTRE_AGENT, ids::MARKETING_MANAGER, ids::ADMINISTRATOR, ids::PASSENGER] {
            let r = post_as(&app, role, "/api/v1/privacy/requests",
                &json!({"customer_id": ana, "kind": "erasure", "channel": "email"})).await;
            assert_eq!(r.status, 403, "{role} opens: {}", r.text());
            let r = get_as(&app, role, "/api/v1/privacy/requests?state=open").await;
            assert_eq!(r.status, 403, "{role} lists");
        }
        assert_eq!(count(&app, "SELECT COUNT(*) FROM privacy_requests").await, 0);

        // Opened with its deadline: one calendar month from receipt.
        let before = chrono::Utc::now();
        let access = open(&app, &ana, "access", "please send me everything you hold").await;
        let after = chrono::Utc::now();
        let id = access["id"].as_str().unwrap().to_owned();
        let expected: Vec<String> = [before, after]
            .iter()
            .map(|t| aloft_privacy::requests::deadline(*t).to_string())
            .collect();
        assert!(expected.contains(&access["deadline"].as_str().unwrap().to_owned()), "{access}");
        assert_eq!(access["state"], "received");
        assert_eq!(access["urgency"], "on_track");
        for role in [ids::CONTACT_CENTRE_AGENT, ids::CUSTOMER_AFFAIRS_EXECUTIVE] {
            let r = get_as(&app, role, &format!("/api/v1/privacy/requests/{id}")).await;
            assert_eq!(r.status, 403, "{role} reads");
            let r = post_as(&app, role, &format!("/api/v1/privacy/requests/{id}/transitions"),
                &json!({"to": "refused", "reason": "x"})).await;
            assert_eq!(r.status, 403, "{role} acts");
            let r = post_as(&app, role, &format!("/api/v1/privacy/requests/{id}/extension"),
                &json!({"reason": "x"})).await;
            assert_eq!(r.status, 403, "{role} extends");
        }

        // Moves follow the handling order; every bad field is named.
        let r = step(&app, &id, json!({"to": "completed"})).await;
        assert_eq!(r.status, 409, "no fulfilment before identity is verified: {}", r.text());
        let r = step(&app, &id, json!({"to": "identity_verified"})).await;
        assert_eq!(r.status, 422);
        assert_eq!(r.json()["errors"][0]["pointer"], "/note");
        let r = step(&app, &id, json!({"to": "finished", "colour": 1})).await;
        assert_eq!(r.status, 422);
        assert!(pointers(&r).contains("/to") && pointers(&r).contains("/colour"));
        let r = get_as(&app, DPO, "/api/v1/privacy/requests/00000000-0000-0000-0000-000000000000").await;
        assert_eq!(r.status, 404);

        // Access: completing returns the export, records what was exported, audits it.
        ready(&app, &id).await;
        let r = step(&app, &id, json!({"to": "completed", "note": "sent by secure e-mail"})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let done = r.json();
        assert_eq!(done["state"], "completed");
        assert_eq!(done["urgency"], "closed");
        assert!(done["export"].to_string().contains("ana.silva@example.com"), "the export opened: {done}");
        assert!(done["outcome"]["export"]["rows"].as_u64().unwrap() >= 1);
        assert!(!done["outcome"].to_string().contains("ana.silva"), "the outcome keeps counts, not data");
        let steps: Vec<&str> = done["steps"].as_array().unwrap().iter().map(|s| s["to"].as_str().unwrap()).collect();
        assert_eq!(steps, ["received", "identity_verified", "in_progress", "completed"]);
        assert_eq!(done["steps"][1]["note"], "passport copy checked");
        assert_eq!(done["steps"][1]["actor"].as_str().map(|a| !a.is_empty()), Some(true));
        assert_eq!(
            count(&app, &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.subject_exported' AND resource_id = '{ana}'")).await,
            1
        );
        let r = step(&app, &id, json!({"to": "refused", "reason": "too late"})).await;
        assert_eq!(r.status, 409, "a completed request takes no more moves");

        // Refusal needs the reason the person is told.
        let porta = open(&app, &ana, "portability", "").await;
        let pid = porta["id"].as_str().unwrap();
        let r = step(&app, pid, json!({"to": "refused"})).await;
        assert_eq!(r.status, 422);
        assert_eq!(r.json()["errors"][0]["pointer"], "/reason");
        let r = step(&app, pid, json!({"to": "refused", "reason": "identity could not be verified"})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["steps"][1]["note"], "identity could not be verified");

        // The work list: open only, overdue first, then due soon, then the rest.
        let late = open(&app, &ana, "rectification", "").await["id"].as_str().unwrap().to_owned();
        let soon = open(&app, &ana, "objection", "").await["id"].as_str().unwrap().to_owned();
        let fresh = open(&app, &ana, "restriction", "").await["id"].as_str().unwrap().to_owned();
        let today = chrono::Utc::now().date_naive();
        let set = |id: &str, received: chrono::NaiveDate, deadline: chrono::NaiveDate| {
            format!("UPDATE privacy_requests SET received_at = '{received}T09:00:00.000000Z', deadline = '{deadline}' WHERE id = '{id}'")
        };
        for sql in [
            set(&late, today - chrono::Days::new(40), today - chrono::Days::new(9)),
            set(&soon, today - chrono::Days::new(27), today + chrono::Days::new(3)),
        ] {
            sqlx::query(&sql).execute(app.test_db.db.pool()).await.unwrap();
        }
        let r = get_as(&app, DPO, "/api/v1/privacy/requests?state=open").await;
        assert_eq!(r.status, 200, "{}", r.text());
        let list = r.json();
        let order: Vec<(&str, &str)> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["id"].as_str().unwrap(), r["urgency"].as_str().unwrap()))
            .collect();
        assert_eq!(
            order,
            [(late.as_str(), "overdue"), (soon.as_str(), "due_soon"), (fresh.as_str(), "on_track")]
        );
        assert!(list.as_array().unwrap().iter().all(|r| r["details"] == ""), "lists leave out what people wrote");
        let r = get_as(&app, DPO, "/api/v1/privacy/requests?state=completed").await;
        assert_eq!(r.json().as_array().unwrap().len(), 1);
        let r = get_as(&app, DPO, "/api/v1/privacy/requests?state=whatever").await;
        assert_eq!(r.status, 422);

        // Extension: once, with a reason, within the first month; two further months.
        let ext = |id: String, body: Value| {
            let app = &app;
            async move { post_as(app, DPO, &format!("/api/v1/privacy/requests/{id}/extension"), &body).await }
        };
        let r = ext(soon.clone(), json!({})).await;
        assert_eq!(r.status, 422);
        assert_eq!(r.json()["errors"][0]["pointer"], "/reason");
        let r = ext(soon.clone(), json!({"reason": "complex: records in five systems"})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let extended = r.json();
        assert_eq!(extended["extended"], true);
        assert_eq!(extended["deadline"], (today - chrono::Days::new(27) + chrono::Months::new(3)).to_string());
        assert_eq!(extended["urgency"], "on_track");
        let r = ext(soon.clone(), json!({"reason": "again"})).await;
        assert_eq!(r.status, 409, "one extension only");
        let r = ext(late.clone(), json!({"reason": "forgot"})).await;
        assert_eq!(r.status, 409, "too late: the first month is over");

        // Events: one per receipt and move, ids and codes only.
        let payloads: Vec<String> = sqlx::query(
            "SELECT payload FROM outbox WHERE event_type = 'aloft.privacy_request.changed'",
        )
        .fetch_all(app.test_db.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect();
        assert!(payloads.len() >= 10, "{}", payloads.len());
        assert!(payloads.iter().all(|p| !p.contains("please send") && !p.contains("five systems") && !p.contains("passport")));
        assert!(count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.request_received'").await >= 5);
        assert!(count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.requests_listed'").await >= 2);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn fulfilment_restricts_objects_rectifies_and_erases() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let new = |first: &'static str| {
            let app = &app;
            async move {
                app.create_customer(json!({"first_name": first, "last_name": "Zqlast", "email": format!("{}@example.com", first.to_lowercase())}))
                    .await["id"].as_str().unwrap().to_owned()
            }
        };
        let bo = new("Bo").await;
        let cy = new("Cy").await;
        let di = new("Di").await;
        for c in [&bo, &cy] {
            consent(&app, c, "marketing_email", "email").await;
            consent(&app, c, "personalisation", "any").await;
            consent(&app, c, "disruption_alerts", "sms").await;
        }
        let store = ConsentStore::new(app.test_db.db.clone(), None);
        let email = purpose("marketing_email").unwrap();
        let alerts = purpose("disruption_alerts").unwrap();
        let profiling = purpose("personalisation").unwrap();
        let (bo_id, cy_id) = (CustomerId::parse(&bo).unwrap(), CustomerId::parse(&cy).unwrap());

        // Restriction: from completion on, every purpose but those a law requires says no.
        let r = open(&app, &bo, "restriction", "my address is disputed").await;
        let rid = r["id"].as_str().unwrap();
        ready(&app, rid).await;
        assert!(store.restricted_since(bo_id).await.unwrap().is_none());
        let r = step(&app, rid, json!({"to": "completed", "note": "restricted until the address is settled"})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["outcome"]["restriction"]["purposes_still_allowed"], json!(["disruption_alerts"]));
        assert!(store.restricted_since(bo_id).await.unwrap().is_some());
        let yes = store.consented(email, &[bo_id, cy_id]).await.unwrap();
        assert!(!yes.contains(&bo_id) && yes.contains(&cy_id), "restricted: not allowed");
        let yes = store.consented(alerts, &[bo_id, cy_id]).await.unwrap();
        assert!(yes.contains(&bo_id) && yes.contains(&cy_id), "required by law: still allowed");
        let sql = |p| format!("SELECT COUNT(*) FROM customers c WHERE {}", consent_exists_sql(p, "c.id"));
        assert_eq!(count(&app, &sql(email)).await, 1);
        assert_eq!(count(&app, &sql(alerts)).await, 2);
        assert_eq!(
            count(&app, &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.processing_restricted' AND resource_id = '{bo}'")).await,
            1
        );

        // Objection: the objected purposes' consents withdrawn, the request as proof.
        let r = open(&app, &cy, "objection", "no profiling please").await;
        let oid = r["id"].as_str().unwrap().to_owned();
        ready(&app, &oid).await;
        let r = step(&app, &oid, json!({"to": "completed", "purposes": ["personalisation", "telepathy"]})).await;
        assert_eq!(r.status, 422);
        assert_eq!(r.json()["errors"][0]["pointer"], "/purposes/1");
        let r = step(&app, &oid, json!({"to": "completed", "purposes": ["personalisation"]})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["outcome"]["objection"]["withdrawn"].as_array().unwrap().len(), 1);
        assert!(store.consented(profiling, &[cy_id]).await.unwrap().is_empty());
        assert_eq!(store.consented(email, &[cy_id]).await.unwrap().len(), 1, "not objected: kept");
        let history = store.history(cy_id).await.unwrap();
        assert_eq!(history[0].purpose, "personalisation");
        assert!(!history[0].granted);
        assert_eq!(history[0].source, "privacy_request");
        assert_eq!(history[0].proof, format!("privacy request {oid}"));

        // Rectification: the fields corrected, by whom, linked to the profile versions changed.
        let r = open(&app, &di, "rectification", "my e-mail is wrong").await;
        let xid = r["id"].as_str().unwrap().to_owned();
        ready(&app, &xid).await;
        let r = step(&app, &xid, json!({"to": "completed"})).await;
        assert_eq!(r.status, 422);
        assert_eq!(r.json()["errors"][0]["pointer"], "/corrected_fields");
        let p = app
            .patch_json(&format!("/api/v1/customers/{di}"), &json!({"email": "di.right@example.com"}), Some("\"1\""))
            .await;
        assert_eq!(p.status, 200, "{}", p.text());
        let r = step(&app, &xid, json!({"to": "completed", "corrected_fields": ["email"]})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let rect = &r.json()["outcome"]["rectification"];
        assert_eq!(rect["corrected_fields"], json!(["email"]));
        assert_eq!(rect["profile_versions_since_receipt"], json!([2]));
        assert_eq!(rect["customer"], format!("/api/v1/customers/{di}"));
        assert!(!rect["by"].as_str().unwrap().is_empty());

        // Erasure: completing erases; the request stays as proof, without what was written.
        let r = open(&app, &cy, "erasure", "Zqcanary erase me").await;
        let eid = r["id"].as_str().unwrap().to_owned();
        ready(&app, &eid).await;
        let r = step(&app, &eid, json!({"to": "completed"})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let done = r.json();
        assert_eq!(done["outcome"]["erasure"]["key_destroyed"], true);
        assert_eq!(done["details"], "", "what the person wrote is erased with them");
        assert_eq!(app.get(&format!("/api/v1/customers/{cy}")).await.status, 404);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM privacy_requests WHERE details LIKE '%Zqcanary%'").await, 0);
        assert_eq!(
            count(&app, &format!("SELECT COUNT(*) FROM privacy_requests WHERE customer_id = '{cy}'")).await,
            2,
            "both requests kept (Art. 5(2))"
        );
        // An access request about an erased person cannot be fulfilled; it is refused instead.
        let late = post_as(&app, DPO, "/api/v1/privacy/requests",
            &json!({"customer_id": cy, "kind": "access", "channel": "email"})).await;
        assert_eq!(late.status, 422, "{}", late.text());
        app.stop().await;
    })
    .await;
}
