//! The workspace as staff use it: the customer 360° page (header, tabs contributed by other
//! modules, interaction texts only for `interaction.read`, every read audited), the global
//! search, role start pages without links that answer 403, and the style guide.

mod common;

use aloft::roles::ids;
use aloft_kernel::AccessContext;
use aloft_travel::{Record, RecordKind, TravelStore};
use bytes::Bytes;
use common::{TestApp, on_each_backend};
use serde_json::json;

/// A customer departing from DXB in ten hours, with a logged call and a complaint.
async fn seeded(app: &TestApp) -> String {
    let c = app
        .create_customer(json!({"first_name": "Leila", "last_name": "Haddad", "loyalty_number": "AL1234567",
            "email": "leila.haddad@example.com", "phone": "+971501234567", "loyalty_tier": "gold", "preferences": {"special_service_requests": ["WCHR"], "meal": "VGML"}}))
        .await;
    let id = c["id"].as_str().unwrap().to_owned();
    let customer = aloft_travel::CustomerId::parse(&id).unwrap();
    let store = TravelStore::new(
        app.test_db.db.clone(),
        std::sync::Arc::new(app.customers.clone()),
    );
    let ctx = AccessContext::system("test");
    let departure = chrono::Utc::now() + chrono::Duration::hours(10);
    let local = |t: chrono::DateTime<chrono::Utc>, offset_h: i64| {
        (t + chrono::Duration::hours(offset_h))
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    };
    let records = [
        (
            RecordKind::Booking,
            json!({"source": "gds", "source_record_id": "PNR1", "record_locator": "HDD123",
            "segments": [{"flight_number": "EK1", "origin": "DXB", "destination": "LHR",
                "scheduled_departure_local": local(departure, 4),
                "scheduled_arrival_local": local(departure + chrono::Duration::hours(7), 0),
                "cabin": "business", "rbd": "J", "status": "scheduled", "seat": "3A", "ticket_number": "1761234567890"}]}),
        ),
        (
            RecordKind::Interaction,
            json!({"source": "voice", "source_record_id": "call-1", "channel": "call",
            "direction": "inbound", "occurred_at": "2026-11-01T10:00:00Z", "subject": "Wheelchair at LHR",
            "body": "CANARY-NOTE asked for assistance on arrival", "duration_seconds": 300}),
        ),
        (
            RecordKind::Feedback,
            json!({"source": "survey", "source_record_id": "fb-1", "kind": "complaint",
            "submitted_at": "2026-11-02T10:00:00Z", "text": "CANARY-COMPLAINT the meal was missing", "rating": 2}),
        ),
    ];
    for (kind, doc) in records {
        store
            .record(customer, Record::parse(kind, &doc).unwrap(), &ctx)
            .await
            .unwrap();
    }
    id
}

#[tokio::test]
async fn the_360_page_shows_who_the_passenger_is_and_what_was_said_to_those_allowed() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let id = seeded(&app).await;
        let agent = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
        let page = app.get_as(&agent, &format!("/customers/{id}")).await;
        assert_eq!(page.status, 200);
        let html = page.text();
        for expected in [
            "Leila Haddad",
            "Gold tier",
            "WCHR",
            "VGML",
            "Next flight:",
            "EK1",
            "Log an interaction",
            &format!("href=\"/customers/{id}?tab=timeline\""),
            &format!("href=\"/customers/{id}?tab=interactions\""),
        ] {
            assert!(html.contains(expected), "the header shows {expected}");
        }
        let travel = app
            .get_as(&agent, &format!("/customers/{id}?tab=travel"))
            .await
            .text();
        assert!(
            travel.contains("HDD123") && travel.contains("3A") && travel.contains("1761234567890"),
            "bookings with seat and e-ticket"
        );
        let talk = app
            .get_as(&agent, &format!("/customers/{id}?tab=interactions"))
            .await
            .text();
        assert!(
            talk.contains("CANARY-NOTE") && talk.contains("CANARY-COMPLAINT"),
            "the agent reads notes and complaints"
        );
        assert!(
            talk.contains("id=\"log\""),
            "the log form is on the interactions tab"
        );
        let unknown_tab = app
            .get_as(&agent, &format!("/customers/{id}?tab=nothing"))
            .await;
        assert_eq!(unknown_tab.status, 404);
        // Every text read is in the audit trail, naming the fields (never the values).
        let trail: Vec<(String, String)> =
            sqlx::query_as("SELECT action, fields FROM audit_log WHERE resource_id = $1")
                .bind(&id)
                .fetch_all(app.test_db.db.pool())
                .await
                .unwrap();
        assert!(
            trail
                .iter()
                .any(|(a, f)| a == "customer.interactions_read" && f.contains("feedback.text")),
            "{trail:?}"
        );
        assert!(
            trail.iter().all(|(_, f)| !f.contains("CANARY")),
            "no values in the trail"
        );
        // A check-in agent of DXB sees the passenger (departing soon) but not what was said.
        let checkin = app.issue_scoped_token(ids::CHECKIN_AGENT, "agent-dxb", "DXB");
        let bearer = format!("Bearer {checkin}");
        let scoped = app
            .request(
                "GET",
                &format!("/customers/{id}?tab=interactions"),
                &[("authorization", &bearer)],
                Bytes::new(),
            )
            .await;
        assert_eq!(scoped.status, 200, "{}", scoped.text());
        let text = scoped.text();
        assert!(
            text.contains("Wheelchair at LHR") || text.contains("Call"),
            "the contact is listed"
        );
        assert!(!text.contains("CANARY"), "but not what was said");
        // Another station's agent does not see the passenger at all.
        let other = format!(
            "Bearer {}",
            app.issue_scoped_token(ids::CHECKIN_AGENT, "agent-fra", "FRA")
        );
        let hidden = app
            .request(
                "GET",
                &format!("/customers/{id}?tab=interactions"),
                &[("authorization", &other)],
                Bytes::new(),
            )
            .await;
        assert_eq!(hidden.status, 404);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_global_search_finds_by_name_and_opens_a_single_hit() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let id = seeded(&app).await;
        let agent = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
        let one = app.get_as(&agent, "/search?q=haddad").await;
        assert_eq!(one.status, 303, "a single hit opens directly");
        assert_eq!(one.header("location"), format!("/customers/{id}"));
        let by_loyalty = app.get_as(&agent, "/search?q=AL1234567").await;
        assert_eq!(by_loyalty.header("location"), format!("/customers/{id}"));
        // A phone number in national form (as a Dubai caller gives it) and in international form.
        for typed in [
            "050%20123%204567",
            "%2B971%2050%20123%204567",
            "00971501234567",
        ] {
            let by_phone = app.get_as(&agent, &format!("/search?q={typed}")).await;
            assert_eq!(
                by_phone.header("location"),
                format!("/customers/{id}"),
                "{typed}"
            );
        }
        let none = app.get_as(&agent, "/search?q=zzzzzz").await;
        assert_eq!(none.status, 200);
        assert!(none.text().contains("Nothing found"));
        // The search is audited like any search of customer data.
        let searches: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'customer.search' AND resource_id = $1",
        )
        .bind(&id)
        .fetch_one(app.test_db.db.pool())
        .await
        .unwrap();
        assert!(searches >= 2, "{searches}");
        // Roles without customer access find no customers (and are not told about them).
        let admin = app.sign_in_as(ids::ADMINISTRATOR).await;
        let refused = app.get_as(&admin, "/search?q=haddad").await;
        assert_eq!(refused.status, 200);
        assert!(!refused.text().contains("Haddad"));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn every_role_lands_on_its_own_start_page_without_links_that_answer_403() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let id = seeded(&app).await;
        let mut affairs = None;
        for role in aloft::roles::ROLES
            .iter()
            .filter(|r| r.realm == aloft_authz::Realm::Staff)
        {
            let session = app.sign_in_as(role.id).await;
            let home = app.get_as(&session, "/").await;
            assert_eq!(home.status, 200, "{}", role.id);
            let html = home.text();
            let rail = &html[html.find("class=\"rail\"").unwrap_or(0)..];
            let rail = &rail[..rail.find("</nav>").unwrap_or(rail.len())];
            for href in rail
                .split("href=\"")
                .skip(1)
                .map(|s| &s[..s.find('"').unwrap()])
            {
                let r = app.get_as(&session, href).await;
                assert!(r.status < 400, "{}: {href} answered {}", role.id, r.status);
            }
            for path in ["/ui"] {
                assert_eq!(
                    app.get_as(&session, path).await.status,
                    200,
                    "{} {path}",
                    role.id
                );
            }
            if role.id == ids::CUSTOMER_AFFAIRS_EXECUTIVE {
                affairs = Some(session);
            }
        }
        // The agent's start page lists the customers they opened (one sign-in per role: a
        // TOTP code is good once).
        let agent = affairs.expect("the customer affairs executive signed in");
        assert_eq!(
            app.get_as(&agent, &format!("/customers/{id}")).await.status,
            200
        );
        let home = app.get_as(&agent, "/").await.text();
        assert!(
            home.contains("Recently opened") && home.contains("Leila Haddad"),
            "recent customers"
        );
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn creating_a_customer_who_resembles_one_warns_with_the_evidence_and_lets_the_agent_decide() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let id = seeded(&app).await;
        let agent = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
        let form = "first_name=Leila&last_name=Hadad&email=leila.haddad%40example.com";
        let warned = app.post_form_as(&agent, "/customers/new", form).await;
        assert_eq!(warned.status, 409, "{}", warned.text());
        let html = warned.text();
        assert!(
            html.contains("may already have a profile")
                && html.contains(&format!("/customers/{id}")),
            "{html}"
        );
        assert!(
            html.contains("name=\"confirm_new\""),
            "the agent may still create it"
        );
        let created = app
            .post_form_as(&agent, "/customers/new", &format!("{form}&confirm_new=yes"))
            .await;
        assert_eq!(created.status, 303, "{}", created.text());
        // Someone unrelated is created without a warning.
        let other = app
            .post_form_as(
                &agent,
                "/customers/new",
                "first_name=Tomasz&last_name=Wr%C3%B3bel&email=",
            )
            .await;
        assert_eq!(other.status, 303, "{}", other.text());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn merges_on_the_360_page_name_the_steward_not_an_id() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let survivor = seeded(&app).await;
        let twin = app
            .create_customer(json!({"first_name": "Leyla", "last_name": "Haddad"}))
            .await;
        let twin = twin["id"].as_str().unwrap().to_owned();
        let steward = app.sign_in_as(ids::LOYALTY_MANAGER).await;
        let merged = app
            .post_form_as(
                &steward,
                &format!("/identity/customers/{survivor}/merge"),
                &format!("absorb={twin}&reason=same+person"),
            )
            .await;
        assert!(merged.status < 400, "{}", merged.text());
        let sources = app
            .get_as(&steward, &format!("/customers/{survivor}/sources"))
            .await
            .text();
        assert!(sources.contains("Merged in profile"), "{sources}");
        let account = app
            .accounts
            .by_username(ids::LOYALTY_MANAGER)
            .await
            .unwrap()
            .unwrap();
        assert!(
            sources.contains(&format!("title=\"{}\"", account.id)),
            "the id stays in the title: {sources}"
        );
        assert!(
            sources.contains(&format!(">{}<", account.display_name)),
            "the steward by name: {sources}"
        );
        app.stop().await;
    })
    .await;
}
