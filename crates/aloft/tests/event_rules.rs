//! Cases opened by event rules, and webhooks, through the real server on both backends: a bag
//! reported mishandled by the baggage system opens one baggage case (linked to its booking)
//! without anybody typing it — once, however often the source resends; the CMP manager edits
//! the rules (versioned, every problem named, a stale save refused); the case's events reach a
//! configured webhook signed, retried after the receiver's outage, never twice; the agent it
//! was given to has an in-app notice; only the CMP manager configures rules and webhooks.

mod common;

use bytes::Bytes;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aloft::roles::ids;
use common::{TestApp, on_each_backend};
use serde_json::{Value, json};

/// One baggage scan from the baggage tracing system, for the loyalty member AL200000001.
fn bag_event(id: &str, event: &str) -> Value {
    json!({
        "specversion": "1.0", "id": id, "source": "/baggage/worldtracer",
        "type": "com.airline.baggage.event",
        "loyaltynumber": "AL200000001", "passengername": "TURNER/ALIMR",
        "data": {"source": "worldtracer", "source_record_id": id, "bag_tag": "0125123456",
                 "event": event, "airport": "JFK", "occurred_at": "2026-12-05T18:00:00Z",
                 "flight_number": "LH400", "record_locator": "K7XQ2M"}
    })
}

async fn ingest(app: &TestApp, events: &[Value]) {
    let r = app
        .request(
            "POST",
            "/api/v1/ingest/events",
            &[
                ("authorization", app.role_tokens.get(ids::CMP_MANAGER)),
                ("content-type", "application/cloudevents-batch+json"),
            ],
            Bytes::from(Value::Array(events.to_vec()).to_string()),
        )
        .await;
    assert!(
        r.status == 200 || r.status == 207,
        "{} {}",
        r.status,
        r.text()
    );
}

/// One post the test receiver got: `webhook-id`, `webhook-timestamp`, `webhook-signature`, body.
type Post = (String, String, String, String);

/// What the test receiver was sent.
#[derive(Clone, Default)]
struct Inbox {
    got: Arc<Mutex<Vec<Post>>>,
    /// Answer 503 to this many posts of a case's opening first.
    fail_first: Arc<Mutex<usize>>,
}

async fn receiver(inbox: Inbox) -> std::net::SocketAddr {
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    async fn hook(State(inbox): State<Inbox>, headers: HeaderMap, body: String) -> StatusCode {
        let h = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        inbox.got.lock().unwrap().push((
            h("webhook-id"),
            h("webhook-timestamp"),
            h("webhook-signature"),
            body.clone(),
        ));
        let mut fail = inbox.fail_first.lock().unwrap();
        if *fail > 0 && body.contains("\"aloft.case.opened\"") {
            *fail -= 1;
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::NO_CONTENT
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(inbox);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

async fn baggage_cases(app: &TestApp) -> Vec<Value> {
    let r = app
        .call(
            "GET",
            ids::CUSTOMER_AFFAIRS_EXECUTIVE,
            "/api/v1/cases?queue=baggage",
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_mishandled_bag_opens_one_case_and_its_events_reach_a_webhook_once() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let customer = app
            .create_customer(json!({
                "first_name": "Ali", "last_name": "Turner", "email": "ali.turner@example.com",
                "loyalty_number": "AL200000001", "loyalty_tier": "gold"
            }))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();

        // The rules: the CMP manager's; agents and passengers' tokens are refused.
        let r = app
            .call("GET", ids::CMP_MANAGER, "/api/v1/case-event-rules", None)
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let shipped = r.json();
        assert_eq!(shipped["version"], 1);
        assert_eq!(shipped["rules"][0]["category"], "baggage");
        for role in [ids::CONTACT_CENTRE_AGENT, ids::DATA_ANALYST] {
            let r = app
                .call("GET", role, "/api/v1/case-event-rules", None)
                .await;
            assert_eq!(r.status, 403, "{role}");
            let r = app
                .call("POST", role, "/api/v1/webhooks", Some(&json!({})))
                .await;
            assert_eq!(r.status, 403, "{role}");
        }

        // Every problem named; nothing saved.
        let mut bad = shipped["rules"].clone();
        bad[0]["event_type"] = json!("aloft.case.opened");
        bad[0]["category"] = json!("lost_property");
        let r = app
            .call(
                "PUT",
                ids::CMP_MANAGER,
                "/api/v1/case-event-rules",
                Some(&json!({"rules": bad, "version": 1})),
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.text());
        let text = r.text();
        assert!(
            text.contains("/rules/0/event_type") && text.contains("/rules/0/category"),
            "{text}"
        );
        // A save on version 1 makes version 2; another save on 1 is stale.
        let body = json!({"rules": shipped["rules"], "version": 1});
        let r = app
            .call(
                "PUT",
                ids::CMP_MANAGER,
                "/api/v1/case-event-rules",
                Some(&body),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["version"], 2);
        let r = app
            .call(
                "PUT",
                ids::CMP_MANAGER,
                "/api/v1/case-event-rules",
                Some(&body),
            )
            .await;
        assert_eq!(r.status, 409, "{}", r.text());

        // A webhook for case events; the receiver is down for the first try.
        let inbox = Inbox::default();
        *inbox.fail_first.lock().unwrap() = 1;
        let addr = receiver(inbox.clone()).await;
        let r = app
            .call(
                "POST",
                ids::CMP_MANAGER,
                "/api/v1/webhooks",
                Some(&json!({"name": "CRM", "url": "http://crm.example.com/hook",
                         "families": ["aloft.case.", "aloft.loyalty."]})),
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(
            r.text().contains("/url") && r.text().contains("/families/1"),
            "{}",
            r.text()
        );
        let r = app
            .call(
                "POST",
                ids::CMP_MANAGER,
                "/api/v1/webhooks",
                Some(&json!({"name": "CRM", "url": format!("http://{addr}/hook"),
                         "families": ["aloft.case."]})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let hook = r.json();
        let hook_id = hook["id"].as_str().unwrap().to_owned();
        let secret = hook["secret"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("whsec_"));
        let listed = app
            .call("GET", ids::CMP_MANAGER, "/api/v1/webhooks", None)
            .await;
        assert!(
            !listed.text().contains(&secret),
            "the secret is shown once only"
        );

        // Ana works the baggage queue: the rule's case will be hers. (She signs in with a
        // staff token here, whose principal is `token:<subject>`.)
        let r = app
            .call(
                "PUT",
                ids::CUSTOMER_AFFAIRS_EXECUTIVE,
                "/api/v1/case-agents/token:agent-ana",
                Some(&json!({"queues": ["baggage"], "capacity": 5, "available": true})),
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.text());

        // The baggage system reports a scan (no case) and a mishandled bag (a case), then
        // sends the mishandled report again.
        ingest(
            &app,
            &[
                bag_event("wt-1", "checked"),
                bag_event("wt-2", "mishandled"),
            ],
        )
        .await;
        let mut cases = Vec::new();
        for _ in 0..100 {
            cases = baggage_cases(&app).await;
            if !cases.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(cases.len(), 1, "{cases:?}");
        let case_id = cases[0]["id"].as_str().unwrap().to_owned();
        let r = app
            .call(
                "GET",
                ids::CUSTOMER_AFFAIRS_EXECUTIVE,
                &format!("/api/v1/cases/{case_id}"),
                None,
            )
            .await;
        let case = r.json();
        assert_eq!(case["customer_id"], customer.as_str());
        assert_eq!(
            case["subject"], "Bag 0125123456 mishandled at JFK",
            "{case}"
        );
        assert_eq!(case["channel"], "event_rule");
        assert_eq!(case["booking_reference"], "K7XQ2M");
        assert_eq!(case["assignee"], "token:agent-ana", "{case}");
        ingest(&app, &[bag_event("wt-2", "mishandled")]).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            baggage_cases(&app).await.len(),
            1,
            "a resent report opens nothing"
        );

        // Ana has a notice in the workspace; Ben, another agent, has none. Read, it is not new.
        let as_agent = |who: &str| {
            format!(
                "Bearer {}",
                app.issuer.issue(
                    ids::CONTACT_CENTRE_AGENT,
                    who,
                    chrono::Duration::hours(1),
                    None
                )
            )
        };
        let (ana, ben) = (as_agent("agent-ana"), as_agent("agent-ben"));
        let notices = |auth: String, path: &'static str| {
            let app = &app;
            async move {
                app.request(
                    "GET",
                    path,
                    &[("authorization", auth.as_str())],
                    Bytes::new(),
                )
                .await
                .json()
            }
        };
        let mut mine = json!([]);
        for _ in 0..50 {
            mine = notices(ana.clone(), "/api/v1/case-notices").await;
            if !mine.as_array().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mine = mine.as_array().unwrap().clone();
        assert_eq!(mine.len(), 1, "{mine:?}");
        assert_eq!(mine[0]["case_id"], case_id.as_str());
        assert_eq!(mine[0]["kind"], "assigned");
        assert!(
            mine[0]["text"]
                .as_str()
                .unwrap()
                .starts_with("New baggage case C-"),
            "{mine:?}"
        );
        assert!(
            notices(ben.clone(), "/api/v1/case-notices")
                .await
                .as_array()
                .unwrap()
                .is_empty()
        );
        let r = app
            .request(
                "POST",
                "/api/v1/case-notices/read",
                &[("authorization", ana.as_str())],
                Bytes::new(),
            )
            .await;
        assert_eq!(r.json()["marked"], 1, "{}", r.text());
        assert!(
            notices(ana.clone(), "/api/v1/case-notices?unread=true")
                .await
                .as_array()
                .unwrap()
                .is_empty()
        );

        // Notices older than 90 days go with the daily prune, read or not; newer ones stay.
        let old = aloft_kernel::db::to_db_time(chrono::Utc::now() - chrono::Duration::days(91));
        sqlx::query(
            "INSERT INTO case_notices (id, recipient, case_id, kind, text, created_at) \
             SELECT 'old-notice', recipient, case_id, kind, 'Old', $1 FROM case_notices",
        )
        .bind(&old)
        .execute(app.test_db.db.pool())
        .await
        .unwrap();
        let kept = || async {
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM case_notices")
                .fetch_one(app.test_db.db.pool())
                .await
                .unwrap();
            n
        };
        let before = kept().await;
        let pruned = aloft_cases::notices::prune(&app.test_db.db, chrono::Utc::now())
            .await
            .unwrap();
        assert_eq!(kept().await, before - 1);
        assert_eq!(pruned, 1);
        assert_eq!(
            notices(ana.clone(), "/api/v1/case-notices")
                .await
                .as_array()
                .unwrap()
                .len(),
            1,
            "the recent notice stays"
        );

        // The case's opening reached the webhook: refused once (503), then delivered; the same
        // webhook-id both times, a valid signature, the CloudEvent as body.
        let opened = aloft_kernel::events::events_for(&app.test_db.db, &case_id)
            .await
            .unwrap()
            .into_iter()
            .find(|e| e.event_type == "aloft.case.opened")
            .unwrap();
        let mut deliveries = Vec::new();
        for _ in 0..150 {
            let r = app
                .call(
                    "GET",
                    ids::CMP_MANAGER,
                    &format!("/api/v1/webhooks/{hook_id}/deliveries"),
                    None,
                )
                .await;
            deliveries = r.json().as_array().unwrap().clone();
            if deliveries
                .iter()
                .any(|d| d["event_id"] == opened.id.as_str() && d["state"] == "delivered")
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let d = deliveries
            .iter()
            .find(|d| d["event_id"] == opened.id.as_str())
            .unwrap_or_else(|| panic!("{deliveries:?}"));
        assert_eq!(d["state"], "delivered", "{d}");
        assert_eq!(d["attempts"], 2, "{d}");
        assert_eq!(d["last_status"], 204, "{d}");
        let got: Vec<_> = inbox
            .got
            .lock()
            .unwrap()
            .iter()
            .filter(|g| g.0 == opened.id)
            .cloned()
            .collect();
        assert_eq!(got.len(), 2, "one refused try, one delivery");
        let (id, ts, sig, body) = &got[1];
        let key = aloft_webhooks::model::secret_bytes(&secret).unwrap();
        assert_eq!(
            sig,
            &aloft_webhooks::model::signature(&key, id, ts.parse().unwrap(), body.as_bytes())
        );
        let event: Value = serde_json::from_str(body).unwrap();
        assert_eq!(event["type"], "aloft.case.opened");
        assert_eq!(event["specversion"], "1.0");
        // Nothing else was sent twice.
        let all = inbox.got.lock().unwrap().clone();
        let mut ids_sent: Vec<&str> = all.iter().map(|g| g.0.as_str()).collect();
        ids_sent.sort();
        let mut unique = ids_sent.clone();
        unique.dedup();
        assert_eq!(
            ids_sent.len(),
            unique.len() + 1,
            "only the refused one twice"
        );

        // Removed: no more deliveries queued for it; the page lists it as removed.
        let r = app
            .call(
                "DELETE",
                ids::CMP_MANAGER,
                &format!("/api/v1/webhooks/{hook_id}"),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["active"], false);
        app.stop().await;
    })
    .await;
}
