//! Case management end to end on both backends: the API contract (open, read, transitions,
//! messages), an illegal transition that changes nothing, SLA clocks pausing and resuming on a
//! running instance, routing and round-robin assignment, duplicate linking, the passenger's
//! notification, the SLA sweep (warning, breach, escalation) exactly once, and the roles that
//! may not work cases.

mod common;

use bytes::Bytes;
use common::{TestApp, on_each_backend};
use serde_json::{Value, json};

use aloft::roles::ids;

async fn call(
    app: &TestApp,
    method: &str,
    role: &str,
    path: &str,
    body: Option<&Value>,
) -> common::Reply {
    app.request(
        method,
        path,
        &[
            ("content-type", "application/json"),
            ("authorization", app.role_tokens.get(role)),
        ],
        body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string())),
    )
    .await
}

async fn traveller(app: &TestApp) -> String {
    app.create_customer(json!({
        "first_name": "Ali", "last_name": "Turner", "email": "ali.turner@example.com",
        "loyalty_number": "AL200000001", "loyalty_tier": "gold",
        "preferences": {"special_service_requests": ["WCHR"], "language": "de"}
    }))
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn agents(app: &TestApp, queue: &str, ids: &[&str]) {
    for id in ids {
        let r = call(
            app,
            "PUT",
            ids::CUSTOMER_AFFAIRS_EXECUTIVE,
            &format!("/api/v1/case-agents/{id}"),
            Some(&json!({"queues": [queue], "capacity": 5, "available": true})),
        )
        .await;
        assert_eq!(r.status, 204, "{}", r.text());
    }
}

fn bag_case(customer: &str, booking: &str) -> Value {
    json!({"customer_id": customer, "category": "baggage", "subject": "Bag missing after LH400",
           "description": "My suitcase did not arrive in New York. This is unacceptable.",
           "channel": "email", "booking_reference": booking})
}

#[tokio::test]
async fn the_api_opens_routes_links_and_notifies() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let customer = traveller(&app).await;
        agents(&app, "baggage", &["agent-ana", "agent-ben"]).await;

        let r = call(
            &app,
            "POST",
            ids::CONTACT_CENTRE_AGENT,
            "/api/v1/cases",
            Some(&bag_case(&customer, "ABC123")),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let case = r.json();
        let id = case["id"].as_str().unwrap().to_owned();
        assert_eq!(r.header("location"), format!("/api/v1/cases/{id}"));
        assert_eq!(case["state"], "new");
        assert_eq!(case["queue"], "baggage");
        assert_eq!(case["priority"], "urgent", "{case}");
        let codes: Vec<&str> = case["priority_reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap())
            .collect();
        for c in [
            "category_severity",
            "tier",
            "special_assistance",
            "negative_sentiment",
        ] {
            assert!(codes.contains(&c), "{c}: {codes:?}");
        }
        assert!(case["sla"]["first_response_due"].is_string());
        assert!(case["sla"]["resolution_due"].is_string());
        let first = case["assignee"].as_str().unwrap().to_owned();
        assert!(["agent-ana", "agent-ben"].contains(&first.as_str()));

        // The same matter again: linked, not duplicated.
        let again = call(
            &app,
            "POST",
            ids::CONTACT_CENTRE_AGENT,
            "/api/v1/cases",
            Some(&bag_case(&customer, "abc123")),
        )
        .await;
        assert_eq!(again.status, 200, "{}", again.text());
        assert_eq!(again.json()["id"], id.as_str());
        assert_eq!(again.json()["linked_to_existing"], true);

        // Another booking is another matter; round-robin gives it to the other agent.
        let other = call(
            &app,
            "POST",
            ids::CONTACT_CENTRE_AGENT,
            "/api/v1/cases",
            Some(&bag_case(&customer, "XYZ789")),
        )
        .await;
        assert_eq!(other.status, 201, "{}", other.text());
        assert_ne!(other.json()["id"], id.as_str());
        assert_ne!(other.json()["assignee"].as_str().unwrap(), first);

        // A compliment goes to customer care, where nobody is on shift: it waits unassigned.
        let praise = call(
            &app,
            "POST",
            ids::CUSTOMER_AFFAIRS_EXECUTIVE,
            "/api/v1/cases",
            Some(&json!({
            "customer_id": customer, "category": "compliment", "subject": "Lovely crew",
            "description": "Thank you to the crew of LH400.", "channel": "web"})),
        )
        .await;
        assert_eq!(praise.status, 201, "{}", praise.text());
        assert_eq!(praise.json()["queue"], "customer_care");
        assert_eq!(praise.json()["assignee"], Value::Null);
        // Praise weighs nothing by itself; a gold traveller needing assistance still counts.
        assert_eq!(praise.json()["priority"], "normal");

        // The detail has the timeline (opened, then the linked request).
        let detail = call(
            &app,
            "GET",
            ids::CONTACT_CENTRE_AGENT,
            &format!("/api/v1/cases/{id}"),
            None,
        )
        .await;
        assert_eq!(detail.status, 200, "{}", detail.text());
        let kinds: Vec<String> = detail.json()["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(kinds, ["opened", "linked"]);

        // The passenger was told, once, in their language.
        let mail = aloft_mail::message_by_key(&app.test_db.db, &format!("case-opened:{id}"))
            .await
            .unwrap()
            .expect("a notification is queued");
        assert_eq!(mail.to, "ali.turner@example.com");
        assert_eq!(mail.language, "de");

        // The agent's own queue lists it.
        let mine = call(
            &app,
            "GET",
            ids::CUSTOMER_AFFAIRS_EXECUTIVE,
            "/api/v1/cases?queue=baggage",
            None,
        )
        .await;
        assert_eq!(mine.status, 200, "{}", mine.text());
        assert_eq!(mine.json()["items"].as_array().unwrap().len(), 2);

        // Events were emitted with the change.
        let events = aloft_kernel::events::events_for(&app.test_db.db, &id)
            .await
            .unwrap();
        let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
        assert!(types.contains(&"aloft.case.opened"), "{types:?}");
        assert!(types.contains(&"aloft.case.linked"), "{types:?}");
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_named_and_changes_nothing() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let customer = traveller(&app).await;
        let agent = ids::CONTACT_CENTRE_AGENT;
        let mut bad = bag_case(&customer, "ABC123");
        bad["queue"] = json!("lost_and_found");
        bad["category"] = json!("lost_luggage");
        let r = call(&app, "POST", agent, "/api/v1/cases", Some(&bad)).await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(
            r.header("content-type")
                .starts_with("application/problem+json")
        );
        let text = r.text();
        assert!(
            text.contains("/queue") && text.contains("/category"),
            "{text}"
        );
        let r = call(
            &app,
            "POST",
            agent,
            "/api/v1/cases",
            Some(&bag_case(&uuid::Uuid::now_v7().to_string(), "ABC123")),
        )
        .await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("/customer_id"));

        let id = call(
            &app,
            "POST",
            agent,
            "/api/v1/cases",
            Some(&bag_case(&customer, "ABC123")),
        )
        .await
        .json()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let before = call(&app, "GET", agent, &format!("/api/v1/cases/{id}"), None)
            .await
            .json();
        let path = format!("/api/v1/cases/{id}/transitions");
        // Illegal: new → resolved skips the work.
        let r = call(
            &app,
            "POST",
            agent,
            &path,
            Some(&json!({"to": "resolved", "resolution": "Found"})),
        )
        .await;
        assert_eq!(r.status, 409, "{}", r.text());
        assert!(r.text().contains("illegal-transition"));
        // Unknown state.
        let r = call(
            &app,
            "POST",
            agent,
            &path,
            Some(&json!({"to": "teleported"})),
        )
        .await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("/to"));
        let after = call(&app, "GET", agent, &format!("/api/v1/cases/{id}"), None)
            .await
            .json();
        assert_eq!(after["state"], "new");
        assert_eq!(after["version"], before["version"]);
        assert_eq!(after["timeline"].as_array().unwrap().len(), 1);

        // A required field missing.
        assert_eq!(
            call(
                &app,
                "POST",
                agent,
                &path,
                Some(&json!({"to": "in_progress"}))
            )
            .await
            .status,
            200
        );
        let r = call(&app, "POST", agent, &path, Some(&json!({"to": "resolved"}))).await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("/resolution"), "{}", r.text());
        assert_eq!(
            call(&app, "GET", agent, &format!("/api/v1/cases/{id}"), None)
                .await
                .json()["state"],
            "in_progress"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn clocks_pause_while_waiting_for_the_customer_and_the_case_runs_to_closure() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let customer = traveller(&app).await;
        let agent = ids::CUSTOMER_AFFAIRS_EXECUTIVE;
        let id = call(
            &app,
            "POST",
            agent,
            "/api/v1/cases",
            Some(&bag_case(&customer, "ABC123")),
        )
        .await
        .json()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let t = format!("/api/v1/cases/{id}/transitions");
        let m = format!("/api/v1/cases/{id}/messages");
        call(&app, "POST", agent, &t, Some(&json!({"to": "in_progress"}))).await;
        let r = call(
            &app,
            "POST",
            agent,
            &t,
            Some(&json!({"to": "waiting_for_customer",
            "message": "Please send us your baggage tag number."})),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let waiting = r.json();
        assert_eq!(waiting["sla"]["paused"], true);
        assert_eq!(waiting["sla"]["resolution_due"], Value::Null);
        // The agent's question answered the first response.
        assert_eq!(waiting["sla"]["first_response_due"], Value::Null);

        // The customer replies (by e-mail, logged through the API): back to work, clocks run.
        let r = call(
            &app,
            "POST",
            agent,
            &m,
            Some(&json!({"body": "Tag LH123456", "author": "customer"})),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let resumed = r.json();
        assert_eq!(resumed["state"], "in_progress");
        assert_eq!(resumed["sla"]["paused"], false);
        assert!(resumed["sla"]["resolution_due"].is_string());
        assert!(resumed["sla"]["next_response_due"].is_string());

        let r = call(
            &app,
            "POST",
            agent,
            &m,
            Some(&json!({"body": "Your bag is on its way."})),
        )
        .await;
        assert_eq!(r.json()["sla"]["next_response_due"], Value::Null);
        let r = call(
            &app,
            "POST",
            agent,
            &t,
            Some(&json!({"to": "resolved", "resolution": "Bag delivered"})),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let r = call(&app, "POST", agent, &t, Some(&json!({"to": "closed"}))).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let r = call(
            &app,
            "POST",
            agent,
            &m,
            Some(&json!({"body": "One more thing"})),
        )
        .await;
        assert_eq!(r.status, 409);
        // Notifications: the reply and the closure, each once.
        for key in [format!("case-closed:{id}")] {
            assert!(
                aloft_mail::message_by_key(&app.test_db.db, &key)
                    .await
                    .unwrap()
                    .is_some(),
                "{key}"
            );
        }
        // Closed: the same matter may be opened anew.
        let r = call(
            &app,
            "POST",
            agent,
            "/api/v1/cases",
            Some(&bag_case(&customer, "ABC123")),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_sla_sweep_warns_breaches_and_escalates_once() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let customer = traveller(&app).await;
        let id = call(
            &app,
            "POST",
            ids::CONTACT_CENTRE_AGENT,
            "/api/v1/cases",
            Some(&bag_case(&customer, "ABC123")),
        )
        .await
        .json()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // Three instances: each its own connection pool on the same database.
        let mut instances = Vec::new();
        for _ in 0..3 {
            let db = aloft_kernel::Database::connect(&app.test_db.settings)
                .await
                .unwrap();
            instances.push(aloft_cases::Cases::new(
                db,
                None,
                std::sync::Arc::new(aloft_cases::ProfileFacts(app.customers.clone())),
                aloft_cases::CasesConfig::default(),
            ));
        }
        let cases = instances[0].clone();
        let later = chrono::Utc::now() + chrono::Duration::days(30);
        // The same instant swept by all three at once: one escalation, each event once.
        let runs = futures_util::future::join_all(instances.iter().map(|c| c.sweep(later))).await;
        let changed: usize = runs.into_iter().map(|r| r.unwrap()).sum();
        assert_eq!(changed, 1);
        let case = cases.get_raw(&id).await.unwrap().unwrap();
        assert_eq!(case.queue, "supervisors");
        let events = aloft_kernel::events::events_for(&app.test_db.db, &id)
            .await
            .unwrap();
        let breaches = events
            .iter()
            .filter(|e| e.event_type == "aloft.case.sla_breached")
            .count();
        let warnings = events
            .iter()
            .filter(|e| e.event_type == "aloft.case.sla_warning")
            .count();
        // Two clocks ran (first response, resolution): each warned and breached once.
        assert_eq!((warnings, breaches), (2, 2));
        assert_eq!(cases.sweep(later).await.unwrap(), 0);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn only_case_workers_may_work_cases() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let customer = traveller(&app).await;
        for role in [
            ids::DATA_ANALYST,
            ids::CHECKIN_AGENT,
            ids::MARKETING_MANAGER,
            ids::ADMINISTRATOR,
        ] {
            let r = call(
                &app,
                "POST",
                role,
                "/api/v1/cases",
                Some(&bag_case(&customer, "ABC123")),
            )
            .await;
            assert_eq!(r.status, 403, "{role}: {}", r.text());
        }
        let r = call(
            &app,
            "PUT",
            ids::CONTACT_CENTRE_AGENT,
            "/api/v1/case-agents/agent-ana",
            Some(&json!({"queues": ["baggage"], "capacity": 5, "available": true})),
        )
        .await;
        assert_eq!(r.status, 403);
        let r = call(
            &app,
            "PUT",
            ids::CUSTOMER_AFFAIRS_EXECUTIVE,
            "/api/v1/case-agents/agent-ana",
            Some(&json!({"queues": ["lost_and_found"], "capacity": 5, "available": true})),
        )
        .await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("/queues/0"));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_agent_works_a_case_in_the_pages() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let customer = traveller(&app).await;
        let id = call(
            &app,
            "POST",
            ids::CONTACT_CENTRE_AGENT,
            "/api/v1/cases",
            Some(&bag_case(&customer, "ABC123")),
        )
        .await
        .json()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let agent = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
        let queue = app.get_as(&agent, "/cases?view=queue&queue=baggage").await;
        assert_eq!(queue.status, 200, "{}", queue.text());
        assert!(queue.text().contains("Bag missing after LH400"));
        let at_risk = app.get_as(&agent, "/cases?view=at_risk").await;
        assert_eq!(at_risk.status, 200);
        assert!(
            at_risk.text().contains("Bag missing after LH400"),
            "urgent: due within the hour"
        );
        let page = app.get_as(&agent, &format!("/cases/{id}")).await;
        assert_eq!(page.status, 200);
        assert!(page.text().contains("Why this priority"));
        let r = app
            .post_form_as(
                &agent,
                &format!("/cases/{id}/reply"),
                "body=We+are+tracing+your+bag.",
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        let r = app
            .post_form_as(&agent, &format!("/cases/{id}/transition"), "to=resolved")
            .await;
        assert_eq!(r.status, 303);
        assert!(
            app.get_as(&agent, &format!("/cases/{id}"))
                .await
                .text()
                .contains("We are tracing your bag.")
        );
        let tab = app
            .get_as(&agent, &format!("/customers/{customer}?tab=cases"))
            .await;
        assert_eq!(tab.status, 200);
        assert!(tab.text().contains("Bag missing after LH400"));
        let home = app.get_as(&agent, "/").await;
        assert!(home.text().contains("My cases"));
        let analyst = app.sign_in_as(ids::DATA_ANALYST).await;
        assert_eq!(app.get_as(&analyst, "/cases").await.status, 403);
        app.stop().await;
    })
    .await;
}
