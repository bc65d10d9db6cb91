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
        // The consent mask on the analytics facts row (migration 0047) follows every change in
        // its transaction: marketing e-mail 1, personalisation 16, disruption alerts 128.
        for c in [&bo, &cy] {
            sqlx::query("INSERT INTO analytics_customer_facts (customer_id, updated_at) VALUES ($1, '2026-12-01T00:00:00.000000Z') ON CONFLICT (customer_id) DO NOTHING")
                .bind(c).execute(app.test_db.db.pool()).await.unwrap();
        }
        let mask = |c: &str| {
            let sql = format!("SELECT consent_allowed FROM analytics_customer_facts WHERE customer_id = '{c}'");
            let app = &app;
            async move { count(app, &sql).await }
        };
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
        assert_eq!((mask(&bo).await, mask(&cy).await), (128, 145), "restricted: only what a law requires");
        assert_eq!(
            count(&app, &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.processing_restricted' AND resource_id = '{bo}'")).await,
            1
        );

        // Lifting the restriction (Art. 18(3)): needs the reason the person was told; then the
        // consent check answers as before, and the request shows the step.
        let lift = format!("/api/v1/customers/{bo}/restriction/lift");
        assert_eq!(post_as(&app, ids::CONTACT_CENTRE_AGENT, &lift, &json!({"reason": "x"})).await.status, 403);
        let r = post_as(&app, DPO, &lift, &json!({})).await;
        assert_eq!(r.status, 422);
        assert_eq!(r.json()["errors"][0]["pointer"], "/reason");
        let r = post_as(&app, DPO, &lift, &json!({"reason": "address confirmed; told by letter"})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["steps"].as_array().unwrap().last().unwrap()["to"], "restriction_lifted");
        assert!(store.restricted_since(bo_id).await.unwrap().is_none());
        assert!(store.consented(email, &[bo_id]).await.unwrap().contains(&bo_id));
        assert_eq!(mask(&bo).await, 145, "lifted: the consents count again");
        assert_eq!(post_as(&app, DPO, &lift, &json!({"reason": "again"})).await.status, 409);
        assert_eq!(
            count(&app, &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.restriction_lifted' AND resource_id = '{bo}'")).await,
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
        assert_eq!(mask(&cy).await, 129, "objected to profiling: its bit cleared");
        // Consent enforced in personalisation: the next best action profiles the customer, so
        // after the objection nothing is offered on any channel (the agent's included), though
        // the marketing e-mail consent stands; Bo (not objecting) still gets considered.
        let nba = get_as(&app, ids::CONTACT_CENTRE_AGENT, &format!("/api/v1/customers/{cy}/next-best-action")).await;
        assert_eq!(nba.status, 200, "{}", nba.text());
        let nba = nba.json();
        assert!(nba["action"].is_null(), "{nba}");
        assert!(nba["considered"].as_array().unwrap().iter().all(|c| c["outcome"] == "no_consent"
            && c["reason"].as_str().unwrap().contains("objected to profiling")), "{nba}");
        let nba = get_as(&app, ids::CONTACT_CENTRE_AGENT, &format!("/api/v1/customers/{bo}/next-best-action")).await.json();
        assert!(!nba["considered"].as_array().unwrap().iter().any(|c| c["reason"].as_str().unwrap().contains("objected")), "{nba}");
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

#[tokio::test]
async fn the_dpo_console_shows_deadlines_and_moves_requests() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let ed = app
            .create_customer(json!({"first_name": "Ed", "last_name": "Zqlast"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        consent(&app, &ed, "analytics", "any").await;
        let late = open(&app, &ed, "access", "").await["id"].as_str().unwrap().to_owned();
        let today = chrono::Utc::now().date_naive();
        sqlx::query(&format!(
            "UPDATE privacy_requests SET received_at = '{}T09:00:00.000000Z', deadline = '{}' WHERE id = '{late}'",
            today - chrono::Days::new(40),
            today - chrono::Days::new(9)
        ))
        .execute(app.test_db.db.pool())
        .await
        .unwrap();

        // Only the privacy officer opens the console.
        for role in [ids::CONTACT_CENTRE_AGENT, ids::MARKETING_MANAGER, ids::SECURITY_OPERATIONS_MANAGER] {
            let s = app.sign_in_as(role).await;
            assert_eq!(app.get_as(&s, "/privacy").await.status, 403, "{role}");
            assert_eq!(app.get_as(&s, &format!("/privacy/requests/{late}")).await.status, 403, "{role}");
        }
        // Consent statistics count people per purpose now: Ed gave marketing e-mail by phone
        // and objected to analytics.
        for (purpose, granted) in [("marketing_email", true), ("analytics", false)] {
            let r = app.call("POST", ids::CONTACT_CENTRE_AGENT, &format!("/api/v1/customers/{ed}/consents"),
                Some(&json!({"purpose": purpose, "granted": granted, "source": "contact_centre", "proof": "call 4471"}))).await;
            assert_eq!(r.status, 201, "{}", r.text());
        }
        let dpo = app.sign_in_as(DPO).await;
        let r = app.get_as(&dpo, "/privacy").await;
        assert_eq!(r.status, 200, "{}", r.text());
        let html = r.text();
        assert!(html.contains("Overdue"), "{html}");
        assert!(html.contains(&format!("/privacy/requests/{late}")));
        assert!(html.contains(&format!("/audit?record={ed}")), "link to the audit trail");
        // Any customer's audit trail is one form away.
        assert!(html.contains("action=\"/audit\"") && html.contains("name=\"record\""), "audit trail lookup");
        // One concern per view: the other views are tabs, not on this page.
        for tab in ["?tab=consent", "?tab=retention", "?tab=partners", "?tab=records"] {
            assert!(html.contains(&format!("href=\"/privacy{tab}\"")), "{tab}");
        }
        assert!(!html.contains("consent-stats") && !html.contains("id=\"retention\""));
        let html = app.get_as(&dpo, "/privacy?tab=consent").await.text();
        assert!(html.contains("consent-stats") && html.contains("Including your data in analyses"));
        assert!(html.contains("aria-current=\"page\">Consent<"), "the tab says where one is");
        // The numbers of a purpose's row: (given, withdrawn).
        let counts = |code: &str| -> Vec<String> {
            let at = html.find(&format!("({code})")).unwrap_or_else(|| panic!("{code} row: {html}"));
            let row = &html[at..at + html[at..].find("</tr>").unwrap()];
            let text: String = row.split('<').map(|part| part.split_once('>').map_or(part, |(_, t)| t)).collect::<Vec<_>>().join(" ");
            text.split_whitespace().filter(|w| w.chars().all(|c| c.is_ascii_digit())).map(str::to_owned).collect()
        };
        assert_eq!(counts("marketing_email"), ["1", "0"]);
        assert_eq!(counts("analytics"), ["0", "1"]);
        assert_eq!(counts("marketing_sms"), ["0", "0"]);
        // Retention can be applied from its view; the officer lands back there.
        let r = app.post_form_as(&dpo, "/privacy/retention/run", "").await;
        assert_eq!(r.status, 303, "{}", r.text());
        assert!(r.header("location").starts_with("/privacy?tab=retention"), "{}", r.header("location"));
        let html = app.get_as(&dpo, "/privacy?tab=retention").await.text();
        assert!(html.contains("id=\"retention-runs\""), "the run is listed: {html}");
        let r = app.call("POST", ids::CONTACT_CENTRE_AGENT, "/privacy/retention/run", None).await;
        assert_eq!(r.status, 403, "{}", r.text());

        // Opening from the console: bad input comes back naming the field; a good one redirects.
        let r = app
            .post_form_as(&dpo, "/privacy/requests", &format!("customer_id={ed}&kind=forget&channel=email"))
            .await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(r.text().contains("f-kind"), "the error links to the field");
        let r = app
            .post_form_as(&dpo, "/privacy/requests", &format!("customer_id={ed}&kind=restriction&channel=letter&details=disputed"))
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        let location = r.header("location").to_owned();
        assert!(location.starts_with("/privacy/requests/"), "{location}");
        let page = app.get_as(&dpo, &location).await;
        assert_eq!(page.status, 200);
        assert!(page.text().contains("Move the request") && page.text().contains("Extend by two months"));

        // The move form: a missing note is named; the moves then go through.
        let action = format!("{location}/transition");
        let r = app.post_form_as(&dpo, &action, "to=identity_verified&note=").await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(r.text().contains("f-note"));
        let r = app.post_form_as(&dpo, &action, "to=identity_verified&note=signed+letter").await;
        assert_eq!(r.status, 303, "{}", r.text());
        let r = app.post_form_as(&dpo, &action, "to=completed").await;
        assert_eq!(r.status, 409, "not from identity_verified: {}", r.text());
        let r = app.post_form_as(&dpo, &action, "to=in_progress").await;
        assert_eq!(r.status, 303);
        let r = app.post_form_as(&dpo, &action, "to=completed&note=done").await;
        assert_eq!(r.status, 303, "{}", r.text());
        let html = app.get_as(&dpo, &location).await.text();
        assert!(html.contains("Completed") && html.contains("signed letter"), "{html}");
        let ed_id = CustomerId::parse(&ed).unwrap();
        let store = ConsentStore::new(app.test_db.db.clone(), None);
        assert!(store.restricted_since(ed_id).await.unwrap().is_some());

        assert!(html.contains("Lift the restriction"));
        let r = app.post_form_as(&dpo, &format!("{location}/lift"), "lift_reason=").await;
        assert_eq!(r.status, 303);
        assert!(store.restricted_since(ed_id).await.unwrap().is_some(), "no reason, not lifted");
        let r = app
            .post_form_as(&dpo, &format!("{location}/lift"), "lift_reason=settled+by+phone")
            .await;
        assert_eq!(r.status, 303);
        assert!(store.restricted_since(ed_id).await.unwrap().is_none());
        let html = app.get_as(&dpo, &location).await.text();
        assert!(html.contains("settled by phone") && !html.contains("Lift the restriction"));

        // The extension form on the overdue request is not offered, and refused if posted.
        let html = app.get_as(&dpo, &format!("/privacy/requests/{late}")).await.text();
        assert!(!html.contains("Extend by two months"));
        let r = app
            .post_form_as(&dpo, &format!("/privacy/requests/{late}/extension"), "reason=busy")
            .await;
        assert_eq!(r.status, 409);
        app.stop().await;
    })
    .await;
}

/// A passenger's browser: a cookie jar over the test app (as in tests/portal.rs).
#[derive(Default)]
struct Browser {
    cookies: std::collections::BTreeMap<String, String>,
}

impl Browser {
    fn keep(&mut self, r: &common::Reply) {
        for v in r.headers.get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (name, value) = v.split(';').next().unwrap().split_once('=').unwrap();
            if value.is_empty() || v.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    async fn send(&mut self, app: &TestApp, method: &str, path: &str, body: &str) -> common::Reply {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let cookie = cookie.join("; ");
        let r = app
            .request(
                method,
                path,
                &[
                    ("authorization", ""),
                    ("cookie", &cookie),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
                Bytes::from(body.to_owned()),
            )
            .await;
        self.keep(&r);
        r
    }

    /// Opens `page`, then posts `body` to `action` with the page's form token.
    async fn submit(
        &mut self,
        app: &TestApp,
        page: &str,
        action: &str,
        body: &str,
    ) -> common::Reply {
        let form = self.send(app, "GET", page, "").await;
        assert_eq!(form.status, 200, "{page}: {}", form.text());
        let token = common::csrf_of(&form.text());
        let token =
            percent_encoding::utf8_percent_encode(&token, percent_encoding::NON_ALPHANUMERIC);
        self.send(app, "POST", action, &format!("csrf={token}&{body}"))
            .await
    }
}

/// Signs a passenger up with the mailed code; returns their browser.
async fn passenger(app: &TestApp, loyalty: &str, email: &str) -> Browser {
    let mut b = Browser::default();
    let r = b
        .submit(
            app,
            "/my/sign-up",
            "/my/sign-up",
            &format!(
                "loyalty_number={loyalty}&email={}&password=a+long+and+unusual+passphrase",
                email.replace('@', "%40")
            ),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    let code: String = sqlx::query_scalar::<_, String>(
        "SELECT text_body FROM mail_messages WHERE template = 'passenger.verify_email' ORDER BY queued_at DESC, id DESC",
    )
    .fetch_all(app.test_db.db.pool())
    .await
    .unwrap()[0]
        .chars()
        .filter(char::is_ascii_digit)
        .take(8)
        .collect();
    let r = b
        .submit(
            app,
            "/my/verify",
            "/my/verify",
            &format!("email={}&code={code}", email.replace('@', "%40")),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text());
    b
}

#[tokio::test]
async fn a_passenger_manages_consent_and_asks_for_their_data() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let fay = app
            .create_customer(json!({"first_name": "Fay", "last_name": "Zqlast", "email": "fay@example.com", "loyalty_number": "AL77701"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let gus = app
            .create_customer(json!({"first_name": "Gus", "last_name": "Zqlast", "email": "gus@example.com", "loyalty_number": "AL77702"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut b = passenger(&app, "AL77701", "fay@example.com").await;

        let r = b.send(&app, "GET", "/my/consent", "").await;
        assert_eq!(r.status, 200, "{}", r.text());
        let html = r.text();
        for p in aloft_privacy::PURPOSES {
            assert!(html.contains(p.description), "{} shown", p.code);
        }
        assert!(html.contains("Notice version 2026-01") && html.contains("Request my data"));
        assert!(html.contains("href=\"/my/consent\""), "the portal tab");
        assert_eq!(
            count(&app, &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.consent_read' AND resource_id = '{fay}'")).await,
            1,
            "the read is audited"
        );

        // Turning a purpose on: recorded as self-service with the session as proof, for her
        // only — a customer id slipped into the form is ignored.
        let r = b
            .submit(&app, "/my/consent", "/my/consent", &format!("purpose=marketing_sms&channel=sms&granted=true&customer_id={gus}"))
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        let store = ConsentStore::new(app.test_db.db.clone(), None);
        let history = store.history(CustomerId::parse(&fay).unwrap()).await.unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].source, "self_service");
        assert!(history[0].proof.starts_with("self-service session "), "{}", history[0].proof);
        assert!(history[0].granted);
        assert!(store.history(CustomerId::parse(&gus).unwrap()).await.unwrap().is_empty());
        let r = b.submit(&app, "/my/consent", "/my/consent", "purpose=marketing_sms&channel=sms&granted=false").await;
        assert_eq!(r.status, 303);
        let r = b.submit(&app, "/my/consent", "/my/consent", "purpose=telepathy&channel=any&granted=true").await;
        assert_eq!(r.status, 422);
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM privacy_consents WHERE customer_id = '{fay}'")).await, 2);
        let html = b.send(&app, "GET", "/my/consent", "").await.text();
        assert!(html.contains("my-consent-history") && html.contains("self service"), "{html}");

        // "Request my data": an access request, identity verified by the session.
        let r = b.submit(&app, "/my/consent", "/my/consent/data-request", "").await;
        assert_eq!(r.status, 303, "{}", r.text());
        let row = sqlx::query("SELECT customer_id, kind, channel, state FROM privacy_requests")
            .fetch_one(app.test_db.db.pool())
            .await
            .unwrap();
        assert_eq!(row.try_get::<String, _>("customer_id").unwrap(), fay);
        assert_eq!(row.try_get::<String, _>("kind").unwrap(), "access");
        assert_eq!(row.try_get::<String, _>("channel").unwrap(), "self_service");
        assert_eq!(row.try_get::<String, _>("state").unwrap(), "identity_verified");
        let r = b.submit(&app, "/my/consent", "/my/consent/data-request", "").await;
        assert_eq!(r.status, 303, "{}", r.text());
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM privacy_requests").await,
            1,
            "a second click opens no second request"
        );
        let html = b.send(&app, "GET", "/my/consent", "").await.text();
        assert!(html.contains("my-requests") && html.contains("Identity verified"), "{html}");

        // Without its token the form changes nothing; staff are not passengers.
        let r = b.send(&app, "POST", "/my/consent", "purpose=analytics&channel=any&granted=true").await;
        assert!(r.status == 403 || r.status == 400, "{}", r.status);
        let dpo = app.sign_in_as(DPO).await;
        assert_ne!(app.get_as(&dpo, "/my/consent").await.status, 200);
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM privacy_consents WHERE customer_id = '{fay}'")).await, 2);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn retention_removes_what_is_past_its_period_holds_the_restricted_and_reports_first() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let new = |first: &'static str| {
            let app = &app;
            async move {
                app.create_customer(json!({"first_name": first, "last_name": "Zqlast"}))
                    .await["id"].as_str().unwrap().to_owned()
            }
        };
        let (old, held, recent) = (new("Old").await, new("Held").await, new("Recent").await);
        let agent = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
        for c in [&old, &held, &recent] {
            let r = app
                .post_form_as(&agent, &format!("/customers/{c}/interactions"), "channel=call&direction=inbound&subject=Zqretained&body=notes")
                .await;
            assert!(r.status < 400, "{} {}", r.status, r.text());
        }
        let four_years_ago = (chrono::Utc::now() - chrono::Days::new(4 * 366)).format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        for c in [&old, &held] {
            for t in ["travel_records", "timeline"] {
                sqlx::query(&format!("UPDATE {t} SET occurred_at = '{four_years_ago}' WHERE customer_id = '{c}'"))
                    .execute(app.test_db.db.pool()).await.unwrap();
            }
        }
        // The held person's processing is restricted (Art. 18): kept past the period.
        let r = open(&app, &held, "restriction", "I need my records for a claim").await;
        let rid = r["id"].as_str().unwrap().to_owned();
        ready(&app, &rid).await;
        assert_eq!(step(&app, &rid, json!({"to": "completed"})).await.status, 200);
        // A request answered four years ago: what the person wrote goes.
        let r = open(&app, &old, "access", "Zqwritten long ago").await;
        let aid = r["id"].as_str().unwrap().to_owned();
        let r = step(&app, &aid, json!({"to": "refused", "reason": "no identity"})).await;
        assert_eq!(r.status, 200);
        sqlx::query(&format!("UPDATE privacy_requests SET updated_at = '{four_years_ago}' WHERE id = '{aid}'"))
            .execute(app.test_db.db.pool()).await.unwrap();
        let interactions = |c: String| {
            let app = &app;
            async move {
                count(app, &format!("SELECT COUNT(*) FROM travel_records WHERE customer_id = '{c}' AND kind = 'interaction'")).await
            }
        };
        assert_eq!(interactions(old.clone()).await, 1);
        // Compensation payments are kept ten years (accounting), then go: one decided eleven
        // years ago, one four years ago.
        for (id, decided) in [("p-eleven", chrono::Days::new(11 * 366)), ("p-four", chrono::Days::new(4 * 366))] {
            let at = (chrono::Utc::now() - decided).format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
            sqlx::query(&format!("INSERT INTO compensation_proposals (id, customer_id, flight, regime, disruption_id, status, decision, decided_at, created_at) \
                VALUES ('{id}', '{old}', 'AL{id}', 'eu261', 'd-{id}', 'paid', '{{}}', '{at}', '{at}')"))
                .execute(app.test_db.db.pool()).await.unwrap();
        }

        // Only the privacy officer sees the report or runs it.
        assert_eq!(get_as(&app, ids::CONTACT_CENTRE_AGENT, "/api/v1/privacy/retention").await.status, 403);
        assert_eq!(post_as(&app, ids::CMP_MANAGER, "/api/v1/privacy/retention/runs", &json!({})).await.status, 403);

        // The dry run says what would go and what is held, and changes nothing.
        let r = get_as(&app, DPO, "/api/v1/privacy/retention").await;
        assert_eq!(r.status, 200, "{}", r.text());
        let report = r.json();
        let line = |rep: &Value, t: &str| rep["policies"].as_array().unwrap().iter().find(|l| l["table"] == t).cloned().unwrap();
        assert_eq!(report["dry_run"], true);
        assert_eq!(line(&report, "travel_records")["rows"], 1);
        assert_eq!(line(&report, "travel_records")["held"], 1);
        assert_eq!(line(&report, "privacy_requests")["rows"], 1);
        assert_eq!(interactions(old.clone()).await, 1, "a dry run changes nothing");
        let html = app.get_as(&app.sign_in_as(DPO).await, "/privacy?tab=retention").await.text();
        assert!(html.contains("id=\"retention\""), "the console shows the dry run");

        // The run: the old interaction (and its timeline entry) gone, the held and recent kept.
        let r = post_as(&app, DPO, "/api/v1/privacy/retention/runs", &json!({})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let run = r.json();
        assert_eq!(run["dry_run"], false);
        assert_eq!(line(&run, "travel_records")["rows"], 1);
        assert_eq!(interactions(old.clone()).await, 0);
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM timeline WHERE customer_id = '{old}'")).await, 0);
        assert_eq!(line(&run, "compensation_proposals")["rows"], 1);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM compensation_proposals WHERE id = 'p-eleven'").await, 0, "past ten years");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM compensation_proposals WHERE id = 'p-four'").await, 1, "within ten years");
        assert_eq!(interactions(held.clone()).await, 1, "held");
        assert_eq!(interactions(recent.clone()).await, 1, "within the period");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM privacy_requests WHERE details LIKE '%Zqwritten%'").await, 0);
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM privacy_requests WHERE id = '{aid}'")).await, 1, "the request stays");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.retention_applied'").await, 1);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM outbox WHERE event_type = 'aloft.privacy.retention_applied'").await, 1);

        // Again: nothing more to do.
        let again = post_as(&app, DPO, "/api/v1/privacy/retention/runs", &json!({})).await.json();
        assert!(again["policies"].as_array().unwrap().iter().all(|l| l["rows"] == 0), "{again}");

        // The daily run is scheduled once per slot, whatever the number of instances.
        let mut jobs = Vec::new();
        for _ in 0..50 {
            jobs = aloft_kernel::jobs::Jobs::of_kind(&app.test_db.db, "privacy.retention").await.unwrap();
            if !jobs.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(jobs.len(), 1, "one occurrence of the next slot");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn demo_requests_fill_the_console_once() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let mut travellers = Vec::new();
        for name in ["Ai", "Bea", "Cas", "Dov", "Eli", "Fen", "Gil", "Hal"] {
            let id = app
                .create_customer(json!({"first_name": name, "last_name": "Zqlast"}))
                .await["id"]
                .as_str()
                .unwrap()
                .to_owned();
            travellers.push(CustomerId::parse(&id).unwrap());
        }
        let demo = aloft_module::DemoContext {
            seed: 7,
            travellers,
            now: chrono::Utc::now(),
        };
        let loader = aloft_privacy::demo::Demo(aloft_privacy::service::Requests::new(
            ConsentStore::new(app.test_db.db.clone(), None),
        ));
        use aloft_module::DemoData;
        let said = loader.load(&demo).await.unwrap().unwrap();
        assert!(said.contains("; 5 data-subject requests"), "{said}");
        assert!(loader.load(&demo).await.unwrap().is_none(), "idempotent");
        // The travellers' consents, through the one writer (history, state, event, audit):
        // most allow personalised offers, one in seventeen objected to analytics.
        let consents = count(&app, "SELECT COUNT(*) FROM privacy_consents").await;
        assert!(said.starts_with(&format!("{consents} consents")), "{said}");
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM privacy_consent_state WHERE purpose = 'personalisation' AND granted = 1").await,
            6,
            "three in four of 8 (seed 7)"
        );
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM outbox WHERE event_type = 'aloft.consent.changed'").await,
            consents
        );
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM privacy_requests").await,
            5
        );
        let list = get_as(&app, DPO, "/api/v1/privacy/requests?state=open")
            .await
            .json();
        let urgencies: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["urgency"].as_str().unwrap())
            .collect();
        assert_eq!(
            urgencies,
            ["overdue", "due_soon", "on_track", "on_track", "on_track"]
        );
        let dpo = app.sign_in_as(DPO).await;
        let html = app.get_as(&dpo, "/privacy").await.text();
        assert!(html.contains("Overdue") && html.contains("Due soon"));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn legal_holds_keep_data_from_retention_and_erasure_until_lifted() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let new = |first: &'static str| {
            let app = &app;
            async move {
                app.create_customer(json!({"first_name": first, "last_name": "Zqhold"}))
                    .await["id"].as_str().unwrap().to_owned()
            }
        };
        let (ana, bo) = (new("Ana").await, new("Bo").await);
        let agent = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
        for c in [&ana, &bo] {
            let r = app
                .post_form_as(&agent, &format!("/customers/{c}/interactions"), "channel=call&direction=inbound&subject=Zqheld&body=notes")
                .await;
            assert!(r.status < 400, "{} {}", r.status, r.text());
        }
        let four_years_ago = (chrono::Utc::now() - chrono::Days::new(4 * 366)).format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        for t in ["travel_records", "timeline"] {
            sqlx::query(&format!("UPDATE {t} SET occurred_at = '{four_years_ago}'"))
                .execute(app.test_db.db.pool()).await.unwrap();
        }

        // Holds have a permission of their own (least privilege): every hold route, in the API
        // and the console, demands privacy.holds.manage — not privacy.requests.manage — and only
        // the data privacy officer holds it.
        use aloft_privacy::permissions::HOLDS_MANAGE;
        let hold_routes: Vec<_> = aloft_privacy::routes::POLICY.iter()
            .chain(aloft_privacy::pages::CONSOLE_POLICY)
            .filter(|p| p.path.contains("/holds"))
            .collect();
        assert_eq!(hold_routes.len(), 6, "{hold_routes:?}");
        for p in hold_routes {
            assert_eq!(p.access, aloft_authz::Access::Permission(HOLDS_MANAGE), "{} {}", p.method, p.path);
        }
        let holders: Vec<&str> = aloft::roles::ROLES.iter().filter(|r| r.allows(HOLDS_MANAGE)).map(|r| r.id).collect();
        assert_eq!(holders, [ids::DATA_PRIVACY_OFFICER]);

        // Only the privacy officer places holds; bad input names the field, stores nothing.
        for role in [ids::CONTACT_CENTRE_AGENT, ids::ADMINISTRATOR, ids::PASSENGER] {
            let r = post_as(&app, role, "/api/v1/privacy/holds", &json!({"customer_id": ana, "reason": "x"})).await;
            assert_eq!(r.status, 403, "{role}");
            assert_eq!(get_as(&app, role, "/api/v1/privacy/holds").await.status, 403, "{role}");
        }
        let r = post_as(&app, DPO, "/api/v1/privacy/holds", &json!({"reason": "claim"})).await;
        assert_eq!(r.status, 422);
        assert_eq!(r.json()["errors"][0]["pointer"], "/customer_id", "{}", r.text());
        let r = post_as(&app, DPO, "/api/v1/privacy/holds", &json!({"category": "everything", "customer_id": ana})).await;
        assert_eq!(r.status, 422);
        assert!(pointers(&r).contains("/category") && pointers(&r).contains("/reason"), "{}", pointers(&r));
        let r = post_as(&app, DPO, "/api/v1/privacy/holds",
            &json!({"customer_id": CustomerId::generate().to_string(), "reason": "claim"})).await;
        assert_eq!(r.status, 422);
        assert_eq!(r.json()["errors"][0]["pointer"], "/customer_id", "{}", r.text());
        assert_eq!(count(&app, "SELECT COUNT(*) FROM privacy_holds").await, 0);

        // A hold on Ana: placed with who and when, event and audit.
        let r = post_as(&app, DPO, "/api/v1/privacy/holds",
            &json!({"customer_id": ana, "reason": "Zqclaim before the court", "reference": "LG-114"})).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let hold = r.json();
        let hid = hold["id"].as_str().unwrap().to_owned();
        assert_eq!(hold["active"], true);
        assert!(!hold["placed_by"].as_str().unwrap().is_empty());
        assert_eq!(count(&app, "SELECT COUNT(*) FROM outbox WHERE event_type = 'aloft.privacy.hold_changed'").await, 1);
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.hold_placed' AND resource_id = '{ana}'")).await, 1);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM outbox WHERE payload LIKE '%Zqclaim%'").await, 0, "no reason in events");
        let list = get_as(&app, DPO, "/api/v1/privacy/holds").await.json();
        assert_eq!(list.as_array().unwrap().len(), 1);

        // The dry run counts Ana's interaction as held by the legal hold; Bo's is due.
        let line = |rep: &Value, t: &str| rep["policies"].as_array().unwrap().iter().find(|l| l["table"] == t).cloned().unwrap();
        let report = get_as(&app, DPO, "/api/v1/privacy/retention").await.json();
        assert_eq!(line(&report, "travel_records")["rows"], 1, "{report}");
        assert_eq!(line(&report, "travel_records")["held"], 1);
        assert_eq!(line(&report, "travel_records")["legal_hold"], 1);

        // Erasing a held person is refused, naming the hold; nothing changes.
        let r = post_as(&app, DPO, &format!("/api/v1/customers/{ana}/erasure"), &json!({})).await;
        assert_eq!(r.status, 409, "{}", r.text());
        assert_eq!(r.json()["errors"][0]["pointer"], "/hold_id");
        assert!(r.text().contains(&hid) && r.text().contains("LG-114"), "{}", r.text());
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM customers WHERE id = '{ana}' AND data_key IS NOT NULL")).await, 1);
        // So is completing her erasure request; the request stays open.
        let er = open(&app, &ana, "erasure", "delete me").await;
        let eid = er["id"].as_str().unwrap().to_owned();
        ready(&app, &eid).await;
        let r = step(&app, &eid, json!({"to": "completed"})).await;
        assert_eq!(r.status, 409, "{}", r.text());
        assert_eq!(get_as(&app, DPO, &format!("/api/v1/privacy/requests/{eid}")).await.json()["state"], "in_progress");

        // A hold on the whole category holds Bo too.
        let r = post_as(&app, DPO, "/api/v1/privacy/holds", &json!({"category": "interactions", "reason": "regulator audit"})).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let cat = r.json()["id"].as_str().unwrap().to_owned();
        let report = get_as(&app, DPO, "/api/v1/privacy/retention").await.json();
        assert_eq!(line(&report, "travel_records")["rows"], 0);
        assert_eq!(line(&report, "travel_records")["legal_hold"], 2);
        let run = post_as(&app, DPO, "/api/v1/privacy/retention/runs", &json!({})).await.json();
        assert_eq!(line(&run, "travel_records")["rows"], 0);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM travel_records WHERE kind = 'interaction'").await, 2);

        // Lifting needs a reason; once lifted, again is a conflict.
        let r = post_as(&app, DPO, &format!("/api/v1/privacy/holds/{cat}/lift"), &json!({})).await;
        assert_eq!(r.status, 422);
        assert_eq!(r.json()["errors"][0]["pointer"], "/reason", "{}", r.text());
        let r = post_as(&app, DPO, &format!("/api/v1/privacy/holds/{cat}/lift"), &json!({"reason": "audit closed"})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["active"], false);
        assert_eq!(r.json()["lift_reason"], "audit closed");
        assert_eq!(post_as(&app, DPO, &format!("/api/v1/privacy/holds/{cat}/lift"), &json!({"reason": "x"})).await.status, 409);
        assert_eq!(post_as(&app, DPO, "/api/v1/privacy/holds/not-a-hold/lift", &json!({"reason": "x"})).await.status, 404);

        // The run now removes Bo's interaction and keeps Ana's; both runs are listed.
        let run = post_as(&app, DPO, "/api/v1/privacy/retention/runs", &json!({})).await.json();
        assert_eq!(line(&run, "travel_records")["rows"], 1, "{run}");
        assert_eq!(line(&run, "travel_records")["legal_hold"], 1);
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM travel_records WHERE customer_id = '{ana}' AND kind = 'interaction'")).await, 1);
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM travel_records WHERE customer_id = '{bo}' AND kind = 'interaction'")).await, 0);
        let runs = get_as(&app, DPO, "/api/v1/privacy/retention/runs").await.json();
        assert_eq!(runs.as_array().unwrap().len(), 2, "{runs}");
        assert_eq!(runs[0]["rows"], 1);

        // The console: the active hold, past runs, and the hold form naming a missing reason.
        let dpo = app.sign_in_as(DPO).await;
        let html = app.get_as(&dpo, "/privacy?tab=retention").await.text();
        assert!(html.contains("id=\"privacy-holds\"") && html.contains("Zqclaim before the court"));
        assert!(html.contains("id=\"retention-runs\""));
        let r = app.post_form_as(&dpo, "/privacy/holds", &format!("hold_customer_id={bo}&hold_reason=")).await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(r.text().contains("f-hold-reason"));
        let r = app.post_form_as(&dpo, "/privacy/holds", &format!("hold_customer_id={bo}&hold_reason=Zqsecond+claim")).await;
        assert!(r.status < 400, "{}", r.status);
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM privacy_holds WHERE customer_id = '{bo}' AND lifted_at IS NULL")).await, 1);

        // Lifted: Ana can be erased, and the hold's texts go with her.
        let r = post_as(&app, DPO, &format!("/api/v1/privacy/holds/{hid}/lift"), &json!({"reason": "claim settled"})).await;
        assert_eq!(r.status, 200);
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.hold_lifted' AND resource_id = '{ana}'")).await, 1);
        let r = step(&app, &eid, json!({"to": "completed"})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM customers WHERE id = '{ana}'")).await, 0);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM privacy_holds WHERE reason LIKE '%Zqclaim%'").await, 0);
        assert_eq!(count(&app, &format!("SELECT COUNT(*) FROM privacy_holds WHERE customer_id = '{ana}'")).await, 1, "the hold's record stays");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn records_of_processing_list_every_enforced_purpose_and_retention_policy() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        assert_eq!(
            get_as(
                &app,
                ids::PASSENGER,
                "/api/v1/privacy/records-of-processing"
            )
            .await
            .status,
            403
        );
        // A registered partner is a recipient of partner sharing, with its agreement.
        let r = post_as(
            &app,
            DPO,
            "/api/v1/privacy/partners",
            &json!({"name": "Star Hotels", "contact": "privacy@star.example", "agreement_ref": "DSA-2026-07"}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let star = "Star Hotels (registered partner; agreement DSA-2026-07)";
        let r = get_as(&app, DPO, "/api/v1/privacy/records-of-processing").await;
        assert_eq!(r.status, 200, "{}", r.text());
        let reg = r.json();
        let csv = get_as(&app, DPO, "/api/v1/privacy/records-of-processing.csv").await;
        assert_eq!(csv.status, 200);
        assert!(csv.header("content-type").starts_with("text/csv"));
        let csv = csv.text();
        for p in aloft_privacy::PURPOSES {
            let rec = reg["purposes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["purpose"] == p.code)
                .unwrap_or_else(|| panic!("purpose {} missing", p.code));
            let partners = usize::from(p.code == "partner_sharing");
            assert_eq!(
                rec["recipients"].as_array().unwrap().len(),
                p.recipients.len() + partners,
                "{}",
                p.code
            );
            assert_eq!(
                rec["recipients"].as_array().unwrap().iter().any(|r| r == star),
                partners == 1,
                "{}",
                p.code
            );
            assert_eq!(rec["lawful_bases"].as_array().unwrap().len(), p.bases.len());
            assert!(
                csv.contains(&format!("\"purpose\",\"{}\"", p.code)),
                "{}",
                p.code
            );
        }
        for p in aloft_privacy::retention::POLICIES {
            assert!(
                reg["retention"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x["table"] == p.table && x["months"] == p.months),
                "policy {} missing",
                p.category
            );
            assert!(csv.contains(&format!("\"retention\",\"{}\"", p.category)));
        }
        assert_eq!(
            reg["data_categories"].as_array().unwrap().len(),
            aloft_privacy::coverage::PERSONAL_TABLES.len()
        );
        assert!(csv.contains(star), "the export names the registered partner");

        // The register against what the retention job itself reports it applies (its dry run):
        // the same tables, periods and actions, no more, no fewer.
        let job = get_as(&app, DPO, "/api/v1/privacy/retention").await;
        assert_eq!(job.status, 200, "{}", job.text());
        let job = job.json();
        let mut applied: Vec<(String, u64, String)> = job["policies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["table"].as_str().unwrap().to_owned(),
                    l["months"].as_u64().unwrap(),
                    l["action"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let mut stated: Vec<(String, u64, String)> = reg["retention"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["table"].as_str().unwrap().to_owned(),
                    l["months"].as_u64().unwrap(),
                    l["then"].as_str().unwrap().split(' ').next().unwrap().to_owned(),
                )
            })
            .collect();
        applied.sort();
        stated.sort();
        assert_eq!(stated, applied, "the register states what the job applies");
        // A period a legal basis states ("kept 10 years") is reported consistent exactly when
        // the job applies that period to that table; otherwise the register says so.
        let checks = reg["consistency"].as_array().unwrap();
        let mut stated_periods = 0;
        for c in reg["data_categories"].as_array().unwrap() {
            let Some(months) = c["legal_basis"]
                .as_str()
                .and_then(aloft_privacy::records::stated_months)
            else {
                continue;
            };
            stated_periods += 1;
            let table = c["stored_in"].as_str().unwrap().split('.').next().unwrap();
            let check = checks
                .iter()
                .find(|x| {
                    x["check"] == "stated_retention_enforced"
                        && x["subject"].as_str().unwrap().ends_with(&format!("({table})"))
                })
                .unwrap_or_else(|| panic!("{table}: stated {months} months, not checked"));
            let enforced = applied
                .iter()
                .any(|(t, m, _)| t == table && *m == u64::from(months));
            assert_eq!(check["consistent"], enforced, "{check}");
            if !enforced {
                assert!(
                    csv.contains(check["subject"].as_str().unwrap())
                        && csv.contains("NOT CONSISTENT"),
                    "the export shows what is not enforced"
                );
            }
        }
        assert!(stated_periods >= 2, "cases and compensation state periods");
        // Every recipient of every purpose has an entry with the path its data takes, or is
        // reported.
        let paths = reg["recipient_paths"].as_array().unwrap();
        for r in reg["recipients"].as_array().unwrap() {
            assert!(paths.iter().any(|x| x["recipient"] == *r), "{r} has no path entry");
        }
        for rec in paths {
            let subject = format!(
                "{} ({})",
                rec["recipient"].as_str().unwrap(),
                rec["purpose"].as_str().unwrap()
            );
            let check = checks
                .iter()
                .find(|x| x["check"] == "recipient_has_path" && x["subject"] == subject.as_str())
                .unwrap_or_else(|| panic!("{subject} not checked"));
            assert_eq!(check["consistent"], !rec["path"].is_null(), "{subject}");
            // A path through audiences exists only for a purpose audiences are released for.
            if rec["path"].as_str().is_some_and(|p| p.contains("audience.rs")) {
                assert!(
                    aloft_analytics::audience::purpose(rec["purpose"].as_str().unwrap()).is_some(),
                    "{subject}: audiences are not released for this purpose"
                );
            }
        }

        let dpo = app.sign_in_as(DPO).await;
        let html = app.get_as(&dpo, "/privacy?tab=records").await.text();
        assert!(
            html.contains("id=\"records-purposes\"") && html.contains("id=\"records-retention\"")
        );
        assert!(html.contains("/privacy/records-of-processing.csv"));
        assert!(html.contains("id=\"records-disclosures\""));
        assert!(html.contains("id=\"records-consistency\"") && html.contains(star));
        assert_eq!(reg["disclosures"].as_array().unwrap().len(), 2);
        assert!(
            csv.contains("\"disclosure\",\"k_anonymous\"")
                && csv.contains("\"disclosure\",\"dp_counts\"")
        );
        let r = app.get_as(&dpo, "/privacy/records-of-processing.csv").await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.text().starts_with("section,name,"));
        app.stop().await;
    })
    .await;
}
