//! The customer API end to end, over real HTTP, on every storage backend.

mod common;

use aloft::roles::ids;
use aloft_kernel::Backend;
use bytes::Bytes;
use common::{TestApp, on_each_backend};
use serde_json::{Value, json};

fn zoe() -> Value {
    json!({
        "title": "Dr", "first_name": "Zoë", "last_name": "Müller", "gender": "female",
        "date_of_birth": "1985-02-28", "email": "Zoe.Muller@Example.com", "phone": "+44 1632 960961",
        "nationality": "DE", "passport_number": "C01X00T47", "passport_expiry": "2031-05-01",
        "loyalty_number": "AL100000001", "loyalty_tier": "gold",
        "address": {"line1": "1 Rue de la Paix", "city": "Paris", "postal_code": "75002", "country": "FR"},
        "preferences": {"seat": "aisle", "meal": "VGML", "special_service_requests": ["WCHR"], "language": "de"}
    })
}

fn pointers(reply: &common::Reply) -> Vec<String> {
    reply.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn profiles_are_created_read_and_updated_with_optimistic_concurrency() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let created = app.post_json("/api/v1/customers", &zoe()).await;
        assert_eq!(created.status, 201, "{}", created.text());
        assert_eq!(created.header("etag"), "\"1\"");
        let body = created.json();
        let id = body["id"].as_str().unwrap().to_owned();
        assert_eq!(
            created.header("location"),
            format!("/api/v1/customers/{id}")
        );
        assert_eq!(body["first_name"], "Zoë");
        assert_eq!(body["phone"], "+441632960961");
        assert_eq!(body["email"], "Zoe.Muller@example.com");

        let read = app.get(&format!("/api/v1/customers/{id}")).await;
        assert_eq!(read.status, 200);
        assert_eq!(read.json(), body);
        let not_modified = app
            .request(
                "GET",
                &format!("/api/v1/customers/{id}"),
                &[("if-none-match", "\"1\"")],
                Bytes::new(),
            )
            .await;
        assert_eq!(not_modified.status, 304);

        // A merge patch with the current version applies; null clears a field.
        let patched = app
            .patch_json(
                &format!("/api/v1/customers/{id}"),
                &json!({"middle_name": "Anne", "title": null, "preferences": {"seat": "window"}}),
                Some("\"1\""),
            )
            .await;
        assert_eq!(patched.status, 200, "{}", patched.text());
        assert_eq!(patched.header("etag"), "\"2\"");
        let p = patched.json();
        assert_eq!(p["middle_name"], "Anne");
        assert!(p.get("title").is_none());
        assert_eq!(p["preferences"]["seat"], "window");
        assert_eq!(p["preferences"]["meal"], "VGML", "nested objects merge");

        // The stale version is refused and changes nothing.
        let stale = app
            .patch_json(
                &format!("/api/v1/customers/{id}"),
                &json!({"middle_name": "B"}),
                Some("\"1\""),
            )
            .await;
        assert_eq!(stale.status, 412);
        assert_eq!(stale.header("content-type"), "application/problem+json");
        assert_eq!(
            app.get(&format!("/api/v1/customers/{id}")).await.json()["middle_name"],
            "Anne"
        );

        // Every change wrote its event in the same transaction.
        let events = aloft_kernel::events::events_for(&app.test_db.db, &id)
            .await
            .unwrap();
        let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
        assert_eq!(
            types,
            vec!["aloft.customer.created", "aloft.customer.updated"]
        );
        assert_eq!(
            events[1].data["changed_fields"],
            json!(["title", "middle_name", "preferences"])
        );
        assert_eq!(events[0].specversion, "1.0");
        // Every access was audited: the change in its transaction, the reads within moments.
        let mut audit = Vec::new();
        for _ in 0..50 {
            audit = aloft_kernel::audit::load(&app.test_db.db, Some(&id))
                .await
                .unwrap();
            if audit.len() >= 5 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let actions: Vec<&str> = audit.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(
            actions.iter().filter(|a| **a == "customer.read").count(),
            3,
            "{actions:?}"
        );
        assert!(
            actions.contains(&"customer.create") && actions.contains(&"customer.update"),
            "{actions:?}"
        );
        let update = audit
            .iter()
            .find(|r| r.action == "customer.update")
            .unwrap();
        assert_eq!(update.fields, vec!["title", "middle_name", "preferences"]);
        assert_eq!(update.client_address.as_deref(), Some("127.0.0.1"));
        assert!(!update.request_id.is_empty() && update.request_id != "-");
        let audit_text = serde_json::to_string(&audit).unwrap();
        assert!(
            !audit_text.contains("Müller") && !audit_text.contains("Anne"),
            "field names only, never values"
        );
        let chain_len = aloft_kernel::audit::verify(&app.test_db.db)
            .await
            .unwrap()
            .unwrap();
        assert!(chain_len >= 4);
        // Tampering with any record is detected at that record.
        let second = audit[1].sequence as i64;
        sqlx::query("UPDATE audit_log SET actor_id = 'someone-else' WHERE seq = $1")
            .bind(second)
            .execute(app.test_db.db.pool())
            .await
            .unwrap();
        let broken = aloft_kernel::audit::verify(&app.test_db.db)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(broken.sequence, second as u64, "{broken}");
        let raw = serde_json::to_string(&events).unwrap();
        assert!(
            !raw.contains("Müller") && !raw.contains("1632960961"),
            "events carry no personal data"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn bad_input_is_refused_with_problem_details_naming_each_field() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let r = app
            .post_json(
                "/api/v1/customers",
                &json!({
                    "first_name": "", "email": "not-an-email", "phone": "0044", "nationality": "XX",
                    "date_of_birth": "31/12/1980", "favourite_colour": "blue",
                    "preferences": {"meal": "PIZZA"}
                }),
            )
            .await;
        assert_eq!(r.status, 422);
        assert_eq!(r.header("content-type"), "application/problem+json");
        let got = pointers(&r);
        for p in [
            "/first_name",
            "/last_name",
            "/email",
            "/phone",
            "/nationality",
            "/date_of_birth",
            "/favourite_colour",
            "/preferences/meal",
        ] {
            assert!(got.contains(&p.to_string()), "{p} missing from {got:?}");
        }
        assert!(
            !r.text().contains("not-an-email"),
            "problems never echo submitted values"
        );

        let malformed = app
            .request(
                "POST",
                "/api/v1/customers",
                &[("content-type", "application/json")],
                Bytes::from("{\"first_name\": "),
            )
            .await;
        assert_eq!(malformed.status, 400);
        assert_eq!(
            malformed.json()["type"],
            "urn:aloft:problem:malformed-request"
        );

        let not_json = app
            .request(
                "POST",
                "/api/v1/customers",
                &[("content-type", "text/plain")],
                Bytes::from("hi"),
            )
            .await;
        assert_eq!(not_json.status, 415);

        let huge = json!({"first_name": "A", "last_name": "x".repeat(70_000)});
        let too_big = app.post_json("/api/v1/customers", &huge).await;
        assert_eq!(too_big.status, 413);
        assert_eq!(too_big.header("content-type"), "application/problem+json");

        let missing = app
            .get("/api/v1/customers/0190f3c2-0000-7000-8000-000000000000")
            .await;
        assert_eq!(missing.status, 404);
        assert_eq!(missing.json()["status"], 404);
        assert_eq!(app.get("/api/v1/customers/not-an-id").await.status, 404);
        assert_eq!(app.get("/api/v1/nothing-here").await.status, 404);
        assert_eq!(
            app.patch_json(
                "/api/v1/customers/0190f3c2-0000-7000-8000-000000000000",
                &json!({}),
                Some("\"1\"")
            )
            .await
            .status,
            404
        );

        let first = app.create_customer(zoe()).await;
        let id = first["id"].as_str().unwrap();
        let invalid_patch = app
            .patch_json(
                &format!("/api/v1/customers/{id}"),
                &json!({"last_name": null, "address": {"country": "ZZ"}}),
                Some("\"1\""),
            )
            .await;
        assert_eq!(invalid_patch.status, 422);
        assert_eq!(
            pointers(&invalid_patch),
            vec!["/last_name", "/address/country"]
        );

        let mut twin = zoe();
        twin["first_name"] = json!("Other");
        let dup = app.post_json("/api/v1/customers", &twin).await;
        assert_eq!(dup.status, 409);
        assert_eq!(pointers(&dup), vec!["/loyalty_number"]);

        let bad_query = app.get("/api/v1/customers?limit=0&colour=red").await;
        assert_eq!(bad_query.status, 422);
        assert_eq!(pointers(&bad_query), vec!["#limit", "#colour"]);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn search_finds_customers_by_name_prefix_and_exact_identifiers() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        app.create_customer(zoe()).await;
        app.create_customer(
            json!({"first_name": "محمد", "last_name": "العلي", "email": "m.alali@example.org"}),
        )
        .await;
        app.create_customer(
            json!({"first_name": "伟", "last_name": "王", "phone": "+86 10 5555 0100"}),
        )
        .await;
        app.create_customer(
            json!({"first_name": "José", "last_name": "Núñez", "loyalty_number": "AL200000002"}),
        )
        .await;
        app.create_customer(json!({"first_name": "Mulan", "last_name": "Hua"}))
            .await;

        let names = |r: common::Reply| -> Vec<String> {
            assert_eq!(r.status, 200, "{}", r.text());
            r.json()["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["last_name"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(
            names(app.get("/api/v1/customers?name=mull").await),
            vec!["Müller"]
        );
        assert_eq!(
            names(app.get("/api/v1/customers?name=MÜLL").await),
            vec!["Müller"]
        );
        assert_eq!(
            names(app.get("/api/v1/customers?name=mul").await),
            vec!["Müller", "Hua"],
            "last-name matches first, then first-name matches"
        );
        assert_eq!(
            names(app.get("/api/v1/customers?name=zoe%20mu").await),
            vec!["Müller"]
        );
        assert_eq!(
            names(app.get("/api/v1/customers?name=muller%20zo").await),
            vec!["Müller"]
        );
        assert_eq!(
            names(app.get("/api/v1/customers?name=nunez").await),
            vec!["Núñez"]
        );
        assert_eq!(
            names(app.get("/api/v1/customers?name=%D8%A7%D9%84%D8%B9").await),
            vec!["العلي"]
        );
        assert_eq!(
            names(app.get("/api/v1/customers?name=%E7%8E%8B").await),
            vec!["王"]
        );
        assert_eq!(
            names(
                app.get("/api/v1/customers?email=ZOE.MULLER%40EXAMPLE.COM")
                    .await
            ),
            vec!["Müller"]
        );
        assert_eq!(
            names(app.get("/api/v1/customers?phone=%2B861055550100").await),
            vec!["王"]
        );
        assert_eq!(
            names(app.get("/api/v1/customers?phone=861055550100").await),
            vec!["王"]
        );
        assert_eq!(
            names(
                app.get("/api/v1/customers?loyalty_number=al200000002")
                    .await
            ),
            vec!["Núñez"]
        );
        assert_eq!(
            names(app.get("/api/v1/customers?passport_number=c01x00t47").await),
            vec!["Müller"]
        );
        assert!(names(app.get("/api/v1/customers?name=xyz").await).is_empty());

        // Paginated listing visits every customer exactly once.
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/customers?limit=2&cursor={c}"),
                None => "/api/v1/customers?limit=2".to_owned(),
            };
            let page = app.get(&path).await.json();
            for c in page["items"].as_array().unwrap() {
                seen.push(c["id"].as_str().unwrap().to_owned());
            }
            match page.get("next_cursor").and_then(Value::as_str) {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen.len(), 5);
        let mut unique = seen.clone();
        unique.dedup();
        assert_eq!(unique.len(), 5);
        // Name searches page too.
        let first = app.get("/api/v1/customers?name=mu&limit=1").await.json();
        let next = first["next_cursor"].as_str().unwrap();
        let second = app
            .get(&format!("/api/v1/customers?name=mu&limit=1&cursor={next}"))
            .await
            .json();
        assert_ne!(first["items"][0]["id"], second["items"][0]["id"]);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn operations_endpoints_docs_and_headers() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status, 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["database"], "sqlite");
    assert!(
        !health.header("x-request-id").is_empty(),
        "every response carries a request id"
    );
    let echoed = app
        .request(
            "GET",
            "/healthz",
            &[("x-request-id", "abc-123")],
            Bytes::new(),
        )
        .await;
    assert_eq!(echoed.header("x-request-id"), "abc-123");
    assert!(
        health
            .header("content-security-policy")
            .contains("script-src 'self'")
    );
    assert_eq!(health.header("x-content-type-options"), "nosniff");

    app.create_customer(zoe()).await;
    let metrics = app
        .request(
            "GET",
            "/metrics",
            &[(
                "authorization",
                app.role_tokens.get(ids::SECURITY_OPERATIONS_MANAGER),
            )],
            Bytes::new(),
        )
        .await
        .text();
    assert!(metrics.contains("aloft_http_requests_total"), "{metrics}");
    assert!(metrics.contains("route=\"/api/v1/customers\""));
    assert!(metrics.contains("aloft_http_request_duration_seconds_bucket"));
    assert!(metrics.contains("aloft_db_pool_connections"));
    assert!(metrics.contains("aloft_outbox_backlog"));

    let doc = app.get("/api/openapi.json").await.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/api/v1/customers"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/customers/{id}"]["patch"].is_object());
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    let docs = app.get("/api/docs").await;
    assert_eq!(docs.status, 200);
    assert!(docs.text().contains("/assets/swagger-ui-bundle.js"));
    assert_eq!(app.get("/assets/swagger-ui-bundle.js").await.status, 200);
    assert_eq!(app.get("/assets/htmx.min.js").await.status, 200);
    app.stop().await;
}

#[tokio::test]
async fn pages_render_search_view_and_edit() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let c = app.create_customer(zoe()).await;
        let id = c["id"].as_str().unwrap();
        let staff = app.sign_in_as(ids::DATA_PRIVACY_OFFICER).await;
        let home = app.get_as(&staff, "/").await;
        assert_eq!(home.status, 200);
        assert!(home.text().contains("<main"));
        let search = app.get_as(&staff, "/customers?q=mull").await;
        assert_eq!(search.status, 200);
        assert!(search.text().contains(&format!("/customers/{id}")));
        let fragment = app.get_as(&staff, "/customers/results?q=AL100000001").await;
        assert!(fragment.text().contains("Müller") && !fragment.text().contains("<html"));
        let view = app.get_as(&staff, &format!("/customers/{id}")).await;
        assert!(view.text().contains("Zoë") && view.text().contains("WCHR"));
        assert_eq!(
            app.get_as(&staff, "/customers/0190f3c2-0000-7000-8000-000000000000")
                .await
                .status,
            404
        );
        assert_eq!(app.get_as(&staff, "/nowhere").await.status, 404);
        // The audit trail page shows who viewed the profile, and the chain verifies.
        let mut trail = String::new();
        for _ in 0..40 {
            trail = app
                .get_as(
                    &staff,
                    &format!("/audit?resource_id={id}&action=customer.read"),
                )
                .await
                .text();
            if trail.contains("data_privacy_officer") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(
            trail.contains("customer.read") && trail.contains("127.0.0.1"),
            "{trail}"
        );
        assert!(
            app.get_as(&staff, "/audit/verify")
                .await
                .text()
                .contains("Audit chain verified")
        );
        // The CSP forbids inline script and style; no page may rely on them.
        let pages = [
            "/".to_owned(),
            "/customers?q=mull".to_owned(),
            "/customers/new".to_owned(),
            format!("/customers/{id}"),
            format!("/customers/{id}/edit"),
            "/audit".to_owned(),
            "/api/docs".to_owned(),
        ];
        for path in &pages {
            let html = app.get_as(&staff, path).await.text();
            for (i, _) in html.match_indices("<script") {
                let tag = &html[i..i + html[i..].find('>').unwrap()];
                assert!(tag.contains(" src="), "inline script on {path}: {tag}");
            }
            assert!(
                !html.contains(" style="),
                "inline style attribute on {path}"
            );
            assert!(!html.contains("<style"), "inline style element on {path}");
            assert!(
                !html.contains(" onclick=") && !html.contains(" onload="),
                "inline handler on {path}"
            );
        }

        // Edit through the form: a bad value re-renders with the error; a good one saves.
        let form = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| format!("{k}={}", v.replace(' ', "+").replace('@', "%40")))
                .collect::<Vec<_>>()
                .join("&")
        };
        let bad = app
            .post_form_as(
                &staff,
                &format!("/customers/{id}/edit"),
                &form(&[
                    ("version", "1"),
                    ("first_name", "Zoe"),
                    ("last_name", "Muller"),
                    ("email", "nope"),
                ]),
            )
            .await;
        assert_eq!(bad.status, 422);
        assert!(
            bad.text().contains("error-summary") && bad.text().contains("aria-invalid=\"true\"")
        );
        let good = app
            .post_form_as(
                &staff,
                &format!("/customers/{id}/edit"),
                &form(&[
                    ("version", "1"),
                    ("first_name", "Zoe"),
                    ("last_name", "Muller"),
                    ("email", "zoe@example.com"),
                ]),
            )
            .await;
        assert_eq!(good.status, 303, "{}", good.text());
        let after = app.get(&format!("/api/v1/customers/{id}")).await.json();
        assert_eq!(after["first_name"], "Zoe");
        assert!(
            after.get("passport_number").is_none(),
            "fields emptied in the form are cleared"
        );
        let stale = app
            .post_form_as(
                &staff,
                &format!("/customers/{id}/edit"),
                &form(&[("version", "1"), ("first_name", "X"), ("last_name", "Y")]),
            )
            .await;
        assert_eq!(stale.status, 409);
        assert!(stale.text().contains("Someone else changed this profile"));
        let created = app
            .post_form_as(
                &staff,
                "/customers/new",
                &form(&[("first_name", "Ana"), ("last_name", "Silva")]),
            )
            .await;
        assert_eq!(created.status, 303);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn database_outage_gives_503_and_the_service_recovers_by_itself() {
    if !aloft_kernel::testing::backends().contains(&Backend::Postgres) {
        return;
    }
    let proxy = aloft_kernel::testing::FlakyProxy::start("127.0.0.1:5432").await;
    let addr = proxy.addr();
    let app = TestApp::spawn_with(
        Backend::Postgres,
        |mut s| {
            s.url = aloft_kernel::testing::via_proxy(&s.url, addr);
            s
        },
        None,
    )
    .await;
    let c = app.create_customer(zoe()).await;
    let path = format!("/api/v1/customers/{}", c["id"].as_str().unwrap());
    assert_eq!(app.get(&path).await.status, 200);

    proxy.cut();
    let down = app.get(&path).await;
    assert_eq!(down.status, 503, "{}", down.text());
    assert_eq!(down.header("retry-after"), "5");
    assert_eq!(down.header("content-type"), "application/problem+json");
    assert_eq!(app.get("/readyz").await.status, 503);
    assert_eq!(
        app.get("/healthz").await.status,
        200,
        "liveness does not depend on the database"
    );
    let write = app
        .post_json(
            "/api/v1/customers",
            &json!({"first_name": "A", "last_name": "B"}),
        )
        .await;
    assert_eq!(write.status, 503);

    proxy.restore();
    let mut recovered = false;
    for _ in 0..50 {
        if app.get(&path).await.status == 200 && app.get("/readyz").await.status == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(recovered, "the service recovers without a restart");
    assert_eq!(
        app.post_json(
            "/api/v1/customers",
            &json!({"first_name": "A", "last_name": "B"})
        )
        .await
        .status,
        201
    );
    app.stop().await;
}
