//! Consent events from source systems (issue 21 item 1): an integration client of the website's
//! preference centre sends CloudEvents; each is recorded once, the state follows the change the
//! passenger gave last (not the one that arrived last), bad events are named and store nothing
//! while the rest of the batch is recorded, and the client can do nothing else. Both backends.

mod common;

use bytes::Bytes;
use common::{Reply, TestApp, on_each_backend};
use serde_json::{Value, json};

use aloft::roles::ids;

async fn count(app: &TestApp, sql: &str, bind: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(bind)
        .fetch_one(app.test_db.db.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// An integration client of role CMP manager narrowed to sending consent events, created by the
/// administrator and approved by a second person, and its bearer token.
async fn preference_centre_token(app: &TestApp) -> String {
    let admin = app.sign_in_as(ids::ADMINISTRATOR).await;
    let page = app
        .post_form_as(
            &admin,
            "/access/clients",
            "name=Web+preference+centre&role=cmp_manager&scope=privacy.consent.events.send&days=30",
        )
        .await;
    assert_eq!(page.status, 201, "{}", page.text());
    let html = page.text();
    let grab = |id: &str| {
        let marker = format!("id=\"{id}\">");
        let at = html.find(&marker).unwrap() + marker.len();
        html[at..at + html[at..].find('<').unwrap()].to_owned()
    };
    let (client_id, secret) = (grab("client-id"), grab("client-secret"));
    assert_eq!(app.approve_pending_grants().await, 1);
    let got = app
        .request(
            "POST",
            "/api/v1/oauth/token",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("authorization", ""),
            ],
            Bytes::from(format!(
                "grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
            )),
        )
        .await;
    assert_eq!(got.status, 200, "{}", got.text());
    format!("Bearer {}", got.json()["access_token"].as_str().unwrap())
}

async fn send(app: &TestApp, token: &str, body: &Value) -> Reply {
    app.request(
        "POST",
        "/api/v1/consent-events",
        &[
            ("authorization", token),
            ("content-type", "application/cloudevents-batch+json"),
        ],
        Bytes::from(body.to_string()),
    )
    .await
}

fn event(id: &str, customer: &str, time: &str, data: Value) -> Value {
    json!({
        "specversion": "1.0",
        "id": id,
        "source": "//web.example-airline.com/preferences",
        "type": "com.airline.web.consent",
        "subject": customer,
        "time": time,
        "data": data,
    })
}

fn email(granted: bool) -> Value {
    json!({"purpose": "marketing_email", "channel": "email", "granted": granted,
        "source": "web", "proof": "preference form submission 8812", "notice_version": "2026-01"})
}

#[tokio::test]
async fn source_systems_send_consent_events_recorded_once_in_the_order_given() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let token = preference_centre_token(&app).await;
        let c = app.create_customer(json!({"first_name": "Pia", "last_name": "Prefs", "email": "pia@example.com"})).await;
        let pia = c["id"].as_str().unwrap().to_owned();
        let state = "SELECT granted FROM privacy_consent_state WHERE customer_id = $1 AND purpose = 'marketing_email'";
        let rows = "SELECT COUNT(*) FROM privacy_consents WHERE customer_id = $1";
        let events = "SELECT COUNT(*) FROM outbox WHERE event_type = 'aloft.consent.changed' AND subject = $1";

        // A batch: one good event, one for an unknown purpose, one without proof, one for a
        // customer nobody knows. The good one is recorded; each bad one is named and stores
        // nothing.
        let mut no_proof = email(true);
        no_proof.as_object_mut().unwrap().remove("proof");
        let mut unknown = email(true);
        unknown["purpose"] = json!("telepathy");
        let batch = json!([
            event("pref-1", &pia, "2026-12-01T09:00:00Z", email(true)),
            event("pref-2", &pia, "2026-12-01T09:01:00Z", unknown),
            event("pref-3", &pia, "2026-12-01T09:02:00Z", no_proof),
            event("pref-4", "0193b3f0-0000-7000-8000-00000000dead", "2026-12-01T09:03:00Z", email(true)),
        ]);
        let r = send(&app, &token, &batch).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let report = r.json();
        assert_eq!((report["received"].as_u64(), report["recorded"].as_u64(), report["duplicates"].as_u64()), (Some(4), Some(1), Some(0)), "{report}");
        let rejected: Vec<(u64, String)> = report["rejected"].as_array().unwrap().iter()
            .map(|r| (r["position"].as_u64().unwrap(), r["pointer"].as_str().unwrap().to_owned())).collect();
        assert_eq!(rejected, vec![(1, "/data/purpose".to_owned()), (2, "/data/proof".to_owned()), (3, "/subject".to_owned())], "{report}");
        assert!(report["rejected"][0]["reason"].as_str().unwrap().contains("marketing_email"), "names the allowed purposes: {report}");
        let first = report["accepted"][0]["consent_id"].as_str().unwrap().to_owned();
        assert_eq!(report["accepted"][0]["outcome"], "recorded");
        assert_eq!(count(&app, rows, &pia).await, 1);
        assert_eq!(count(&app, state, &pia).await, 1);
        assert_eq!(count(&app, events, &pia).await, 1);

        // Re-sent after a timeout: a duplicate, nothing recorded twice.
        let r = send(&app, &token, &event("pref-1", &pia, "2026-12-01T09:00:00Z", email(true))).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["duplicates"], 1);
        assert_eq!(r.json()["accepted"][0]["outcome"], "duplicate");
        assert_eq!(r.json()["accepted"][0]["consent_id"], first.as_str());
        assert_eq!(count(&app, rows, &pia).await, 1);
        assert_eq!(count(&app, events, &pia).await, 1);

        // A withdrawal given the day *before* arrives late: history, not the state.
        let r = send(&app, &token, &json!([event("pref-0", &pia, "2026-11-30T18:00:00+01:00", email(false))])).await;
        assert_eq!(r.json()["accepted"][0]["outcome"], "recorded_not_current", "{}", r.text());
        assert_eq!(count(&app, rows, &pia).await, 2);
        assert_eq!(count(&app, state, &pia).await, 1, "the later consent stands");
        // A withdrawal given later is the choice now; the history lists by the time given.
        let r = send(&app, &token, &json!([event("pref-9", &pia, "2026-12-02T08:00:00Z", email(false))])).await;
        assert_eq!(r.json()["accepted"][0]["outcome"], "recorded", "{}", r.text());
        assert_eq!(count(&app, state, &pia).await, 0);
        let r = app.call("GET", ids::DATA_PRIVACY_OFFICER, &format!("/api/v1/customers/{pia}/consents"), None).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let consents = r.json();
        let given: Vec<&str> = consents["history"].as_array().unwrap().iter().map(|h| h["given_at"].as_str().unwrap()).collect();
        assert!(given[0].starts_with("2026-12-02T08:00:00") && given[1].starts_with("2026-12-01T09:00:00") && given[2].starts_with("2026-11-30T17:00:00"), "{given:?}");
        assert_eq!(consents["current"][0]["granted"], false, "{consents}");
        assert_eq!(consents["history"][0]["source"], "web");
        assert!(!consents["history"][0]["recorded_by"].as_str().unwrap().is_empty());
        // Every recorded event is audited and published.
        assert_eq!(count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.consent_recorded' AND resource_id = $1", &pia).await, 3);
        assert_eq!(count(&app, events, &pia).await, 3);
        let payload: String = sqlx::query_scalar("SELECT payload FROM outbox WHERE event_type = 'aloft.consent.changed' AND subject = $1 AND payload LIKE '%\"current\":false%'")
            .bind(&pia).fetch_one(app.test_db.db.pool()).await.unwrap();
        assert!(payload.contains("2026-11-30T17:00:00") && !payload.contains("8812"), "the given time, never the proof: {payload}");

        // A profile merged into another: the consent goes to the survivor.
        let old = app.create_customer(json!({"first_name": "Pia", "last_name": "Prefs-Old"})).await["id"].as_str().unwrap().to_owned();
        sqlx::query("UPDATE customers SET merged_into = $1 WHERE id = $2").bind(&pia).bind(&old)
            .execute(app.test_db.db.pool()).await.unwrap();
        let sms = json!({"purpose": "marketing_sms", "granted": true, "source": "app", "proof": "app toggle 77"});
        let r = send(&app, &token, &event("app-1", &old, "2026-12-03T10:00:00Z", sms)).await;
        assert_eq!(r.json()["accepted"][0]["customer_id"], pia.as_str(), "{}", r.text());
        assert_eq!(count(&app, "SELECT COUNT(*) FROM privacy_consents WHERE customer_id = $1", &old).await, 0);

        // Malformed bodies.
        let r = send(&app, &token, &json!("hello")).await;
        assert_eq!(r.status, 422, "{}", r.text());
        let many: Vec<Value> = (0..501).map(|i| event(&format!("x{i}"), &pia, "2026-12-01T09:00:00Z", email(true))).collect();
        let r = send(&app, &token, &Value::Array(many)).await;
        assert_eq!(r.status, 413, "{}", r.text());
        assert!(r.text().contains("too-many-events"), "the count, not the body size: {}", r.text());
        let mut future = event("f-1", &pia, "2030-01-01T00:00:00Z", email(true));
        future["type"] = json!("com.airline.web.pnr");
        let r = send(&app, &token, &json!([future])).await;
        let j = r.json();
        let pointers: Vec<&str> = j["rejected"].as_array().unwrap().iter().map(|x| x["pointer"].as_str().unwrap()).collect();
        assert_eq!(pointers, vec!["/type", "/time"], "{}", r.text());
        assert_eq!(count(&app, rows, &pia).await, 4, "nothing of the rejected stored");

        // Least privilege: the integration reads nothing and records nothing else; staff who
        // record consent by phone cannot impersonate a source system; no token, no entry.
        for (method, path) in [("GET", format!("/api/v1/customers/{pia}/consents")), ("GET", format!("/api/v1/customers/{pia}")),
            ("POST", format!("/api/v1/customers/{pia}/consents")), ("POST", "/api/v1/ingest/events".to_owned())] {
            let r = app.request(method, &path, &[("authorization", &token), ("content-type", "application/json")], Bytes::from(email(true).to_string())).await;
            assert_eq!(r.status, 403, "{method} {path}: {}", r.text());
        }
        for role in [ids::CONTACT_CENTRE_AGENT, ids::DATA_PRIVACY_OFFICER, ids::MARKETING_MANAGER, ids::PASSENGER] {
            let r = app.call("POST", role, "/api/v1/consent-events", Some(&json!([event("z", &pia, "2026-12-01T09:00:00Z", email(true))]))).await;
            assert_eq!(r.status, 403, "{role}: {}", r.text());
        }
        let r = send(&app, "", &json!([])).await;
        assert_eq!(r.status, 401, "{}", r.text());
        assert_eq!(count(&app, rows, &pia).await, 4);

        // A full batch of 500 (about 150 KiB, above the API's usual 64 KiB body limit) in one
        // call: every event recorded.
        let full: Vec<Value> = (0..500)
            .map(|i| event(&format!("bulk-{i}"), &pia, &format!("2026-11-{:02}T{:02}:{:02}:00Z", 1 + i / 60, (i / 60) % 24, i % 60), email(i % 2 == 0)))
            .collect();
        let r = send(&app, &token, &Value::Array(full)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!((r.json()["recorded"].as_u64(), r.json()["rejected"].as_array().map(Vec::len)), (Some(500), Some(0)), "{}", r.text());
        assert_eq!(count(&app, rows, &pia).await, 504);
        assert_eq!(count(&app, state, &pia).await, 0, "all given before the withdrawal of 2 December");
        app.stop().await;
    })
    .await;
}
