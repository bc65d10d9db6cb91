//! The batch ingest API through the real server: a CloudEvents batch is linked and stored, each
//! rejected event is reported with its index and pointer, only the ingest permission may send,
//! and oversized or malformed batches are refused with problem details.

mod common;

use aloft::roles::ids;
use bytes::Bytes;
use common::{TestApp, on_each_backend};
use serde_json::{Value, json};

fn call(id: &str) -> Value {
    json!({
        "specversion": "1.0", "id": id, "source": "/voice/genesys", "type": "com.airline.voice.call",
        "loyaltynumber": "AL400000001", "passengername": "NAKAMURA/HARUTOMR",
        "data": {"source": "genesys", "source_record_id": id, "channel": "call",
                 "direction": "inbound", "occurred_at": "2026-03-01T10:00:00Z",
                 "subject": "Baggage query", "body": "Paid with 4111 1111 1111 1111"}
    })
}

async fn send(app: &TestApp, role: &str, body: String) -> common::Reply {
    app.request(
        "POST",
        "/api/v1/ingest/events",
        &[
            ("authorization", app.role_tokens.get(role)),
            ("content-type", "application/cloudevents-batch+json"),
        ],
        Bytes::from(body),
    )
    .await
}

#[tokio::test]
async fn a_batch_is_linked_stored_and_every_rejection_reported() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let mut bad = call("b-2");
        bad["data"]["direction"] = json!("sideways");
        let batch = json!([call("b-1"), bad, call("b-3"), {"specversion": "1.0"}]);
        let r = send(&app, ids::CMP_MANAGER, batch.to_string()).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let report = r.json();
        assert_eq!(report["received"], 4);
        assert_eq!(report["recorded"], 2);
        assert_eq!(report["rejected_events"], 2);
        assert_eq!(report["new_customers"], 1);
        let rejected = report["rejected"].as_array().unwrap();
        assert!(rejected.iter().any(|x| x["position"] == 1
            && x["pointer"] == "/data/direction"
            && x["event_id"] == "b-2"));
        assert!(
            rejected
                .iter()
                .any(|x| x["position"] == 3 && x["pointer"] == "/id")
        );

        // Re-sending the batch changes nothing.
        let again = send(&app, ids::CMP_MANAGER, batch.to_string()).await.json();
        assert_eq!(
            (again["recorded"].as_u64(), again["unchanged"].as_u64()),
            (Some(0), Some(2))
        );

        // The passenger now has a profile and both calls on the timeline, card number masked.
        let found = app
            .get("/api/v1/customers?loyalty_number=AL400000001")
            .await
            .json();
        let id = found["items"][0]["id"].as_str().unwrap().to_owned();
        assert_eq!(found["items"][0]["last_name"], "Nakamura");
        let timeline = app.get(&format!("/api/v1/customers/{id}/timeline")).await;
        assert_eq!(timeline.status, 200);
        let text = timeline.text();
        assert_eq!(timeline.json()["entries"].as_array().unwrap().len(), 2);
        assert!(!text.contains("4111 1111 1111 1111"));

        // The golden record names its sources and how each was linked.
        let sources = app.get(&format!("/api/v1/customers/{id}/sources")).await;
        assert_eq!(sources.status, 200, "{}", sources.text());
        let links = sources.json()["links"].as_array().unwrap().clone();
        assert_eq!(links.len(), 2, "{links:?}");
        let mut methods: Vec<&str> = links
            .iter()
            .map(|l| l["method"].as_str().unwrap())
            .collect();
        methods.sort();
        assert_eq!(
            methods,
            ["loyalty", "new"],
            "the first call made the profile, the second matched it"
        );
        assert!(links.iter().all(|l| l["source"] == "genesys"));
        let agent = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
        let fragment = app
            .get_as(&agent, &format!("/customers/{id}/sources"))
            .await;
        assert_eq!(fragment.status, 200);
        assert!(
            fragment.text().contains("Loyalty number"),
            "{}",
            fragment.text()
        );
        let profile = app.get_as(&agent, &format!("/customers/{id}")).await.text();
        assert!(profile.contains(&format!("hx-get=\"/customers/{id}/sources\"")));
        // Outside the caller's row scope: not found.
        let checkin = app.sign_in_as(ids::CHECKIN_AGENT).await;
        assert_eq!(
            app.get_as(&checkin, &format!("/customers/{id}/sources"))
                .await
                .status,
            404
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn only_the_ingest_permission_may_send_and_bad_batches_are_refused() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let one = json!([call("p-1")]).to_string();
        for role in [
            ids::CONTACT_CENTRE_AGENT,
            ids::DATA_ANALYST,
            ids::ADMINISTRATOR,
        ] {
            assert_eq!(send(&app, role, one.clone()).await.status, 403, "{role:?}");
        }
        let r = send(&app, ids::CMP_MANAGER, json!({"events": []}).to_string()).await;
        assert_eq!(r.status, 422);
        assert_eq!(r.json()["errors"][0]["pointer"], "");
        let many: Vec<Value> = (0..1001).map(|i| json!({"id": format!("x{i}")})).collect();
        let r = send(&app, ids::CMP_MANAGER, Value::Array(many).to_string()).await;
        assert_eq!(r.status, 413, "{}", r.text());
        let r = send(&app, ids::CMP_MANAGER, "[{".into()).await;
        assert_eq!(r.status, 400);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn a_steward_merges_and_unmerges_through_the_api_and_the_pages() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let a = app
            .create_customer(
                json!({"first_name": "Mia", "last_name": "Berg", "email": "mia@example.com"}),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let b = app
            .create_customer(
                json!({"first_name": "Mia", "last_name": "Berg", "loyalty_number": "AL400000009"}),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        // Least privilege: an agent may read but not merge.
        let agent = app.role_tokens.get(ids::CONTACT_CENTRE_AGENT).to_owned();
        let r = app
            .request(
                "POST",
                &format!("/api/v1/customers/{a}/merge"),
                &[
                    ("authorization", &agent),
                    ("content-type", "application/json"),
                ],
                Bytes::from(json!({"absorb": b}).to_string()),
            )
            .await;
        assert_eq!(r.status, 403);
        let r = app
            .post_json(
                &format!("/api/v1/customers/{a}/merge"),
                &json!({"absorb": "nope"}),
            )
            .await;
        assert_eq!(
            (r.status, r.json()["errors"][0]["pointer"].as_str()),
            (422, Some("/absorb"))
        );
        let r = app
            .post_json(
                &format!("/api/v1/customers/{a}/merge"),
                &json!({"absorb": a}),
            )
            .await;
        assert_eq!(r.status, 409, "{}", r.text());

        let r = app
            .post_json(
                &format!("/api/v1/customers/{a}/merge"),
                &json!({"absorb": b, "reason": "called in"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let merge = r.json();
        let merge_id = merge["id"].as_str().unwrap().to_owned();
        assert!(
            merge["survivorship"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["field"] == "loyalty_number" && c["kept"] == "absorbed")
        );
        // The absorbed id leads to the survivor; the survivor has both profiles' details.
        let r = app.get(&format!("/api/v1/customers/{b}")).await;
        assert_eq!(r.status, 308);
        assert_eq!(r.header("location"), format!("/api/v1/customers/{a}"));
        let golden = app.get(&format!("/api/v1/customers/{a}")).await.json();
        assert_eq!(
            (golden["email"].as_str(), golden["loyalty_number"].as_str()),
            (Some("mia@example.com"), Some("AL400000009"))
        );
        let r = app
            .patch_json(
                &format!("/api/v1/customers/{b}"),
                &json!({"first_name": "X"}),
                Some("*"),
            )
            .await;
        assert_eq!(r.status, 409, "{}", r.text());
        let lineage = app.get(&format!("/api/v1/customers/{a}/merges")).await;
        assert_eq!(lineage.status, 200);
        assert_eq!(lineage.json()[0]["id"], merge_id.as_str());

        // The profile page shows the history with an undo button to a steward.
        let dpo = app.sign_in_as(ids::DATA_PRIVACY_OFFICER).await;
        let fragment = app
            .get_as(&dpo, &format!("/customers/{a}/sources"))
            .await
            .text();
        assert!(
            fragment.contains("Merge history")
                && fragment.contains(&format!("/identity/merges/{merge_id}/unmerge")),
            "{fragment}"
        );
        let page = app.get_as(&dpo, &format!("/customers/{b}")).await;
        assert_eq!(
            (page.status, page.header("location")),
            (303, format!("/customers/{a}").as_str())
        );
        let r = app
            .post_form_as(&dpo, &format!("/identity/merges/{merge_id}/unmerge"), "")
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        assert!(
            r.header("location")
                .starts_with(&format!("/customers/{a}?merged="))
        );
        let back = app.get(&format!("/api/v1/customers/{b}")).await;
        assert_eq!(
            (back.status, back.json()["loyalty_number"].as_str()),
            (200, Some("AL400000009"))
        );
        assert_eq!(
            app.get(&format!("/api/v1/customers/{a}"))
                .await
                .json()
                .get("loyalty_number"),
            None
        );
        let r = app
            .request(
                "POST",
                &format!("/api/v1/merges/{merge_id}/unmerge"),
                &[],
                Bytes::new(),
            )
            .await;
        assert_eq!(r.status, 409, "undone twice: {}", r.text());

        // The review queue: API and page; a decision through the page.
        let reviews = app.get("/api/v1/identity/reviews").await;
        assert_eq!(
            (reviews.status, reviews.json()["open"].as_i64()),
            (200, Some(0))
        );
        assert_eq!(
            app.get("/api/v1/identity/reviews?status=maybe")
                .await
                .status,
            422
        );
        let queue = app.get_as(&dpo, "/identity/reviews").await;
        assert_eq!(queue.status, 200);
        assert!(queue.text().contains("0 open reviews"), "{}", queue.text());
        let r = app
            .post_form_as(&dpo, "/identity/reviews/999", "decision=distinct")
            .await;
        assert_eq!(r.status, 303);
        assert!(r.header("location").contains("error="));
        let agent_session = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
        assert_eq!(
            app.get_as(&agent_session, "/identity/reviews").await.status,
            403
        );
        app.stop().await;
    })
    .await;
}
