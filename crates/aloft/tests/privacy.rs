//! Consent and preferences end to end on both backends: the consent API records an append-only
//! history with source and proof, refuses unknown purposes and missing proof storing nothing,
//! emits `aloft.consent.changed` without the proof, and the consent check other modules use
//! agrees with what was recorded.

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

#[tokio::test]
async fn consent_is_recorded_with_proof_never_overwritten_and_checked() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let ana = app
            .create_customer(json!({"first_name": "Ana", "last_name": "Silva"}))
            .await;
        let bo = app
            .create_customer(json!({"first_name": "Bo", "last_name": "Lindqvist"}))
            .await;
        let ana_id = ana["id"].as_str().unwrap().to_owned();
        let bo_id = bo["id"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/customers/{ana_id}/consents");

        // Refusals name the field and store nothing.
        let r = post_as(
            &app,
            ids::CONTACT_CENTRE_AGENT,
            &path,
            &json!({"purpose": "telepathy", "granted": true, "source": "contact_centre", "proof": "call 4471"}),
        )
        .await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(r.header("content-type").starts_with("application/problem+json"));
        assert_eq!(r.json()["errors"][0]["pointer"], "/purpose");
        let r = post_as(
            &app,
            ids::CONTACT_CENTRE_AGENT,
            &path,
            &json!({"purpose": "marketing_email", "granted": true}),
        )
        .await;
        assert_eq!(r.status, 422);
        let pointers = r.json()["errors"].to_string();
        assert!(pointers.contains("/source") && pointers.contains("/proof"), "{pointers}");
        assert_eq!(count(&app, "SELECT COUNT(*) FROM privacy_consents").await, 0);
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM outbox WHERE event_type = 'aloft.consent.changed'").await,
            0
        );

        // Not a consent recorder: the gate refuses.
        let r = post_as(
            &app,
            ids::MARKETING_MANAGER,
            &path,
            &json!({"purpose": "marketing_email", "granted": true, "source": "web", "proof": "form 1"}),
        )
        .await;
        assert_eq!(r.status, 403, "{}", r.text());

        // Given by phone, then withdrawn: two rows, the first kept.
        let r = post_as(
            &app,
            ids::CONTACT_CENTRE_AGENT,
            &path,
            &json!({"purpose": "marketing_email", "granted": true, "source": "contact_centre", "proof": "call recording CC-2026-88412"}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["notice_version"], "2026-01");
        assert_eq!(r.json()["lawful_basis"], "consent");
        let r = post_as(
            &app,
            ids::CONTACT_CENTRE_AGENT,
            &format!("/api/v1/customers/{bo_id}/consents"),
            &json!({"purpose": "marketing_email", "granted": true, "source": "web", "proof": "form 9001"}),
        )
        .await;
        assert_eq!(r.status, 201);
        let r = post_as(
            &app,
            ids::DATA_PRIVACY_OFFICER,
            &path,
            &json!({"purpose": "marketing_email", "granted": false, "source": "email", "proof": "unsubscribe link 77"}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());

        let r = get_as(&app, ids::CONTACT_CENTRE_AGENT, &path).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let c = r.json();
        assert_eq!(c["history"].as_array().unwrap().len(), 2);
        assert_eq!(c["history"][1]["proof"], "call recording CC-2026-88412");
        assert_eq!(c["current"].as_array().unwrap().len(), 1);
        assert_eq!(c["current"][0]["granted"], false);
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.consent_recorded'").await,
            3
        );

        // Unknown customer: 404, nothing stored.
        let r = post_as(
            &app,
            ids::CONTACT_CENTRE_AGENT,
            &format!("/api/v1/customers/{}/consents", CustomerId::generate()),
            &json!({"purpose": "analytics", "granted": true, "source": "web", "proof": "form 2"}),
        )
        .await;
        assert_eq!(r.status, 404);
        assert_eq!(count(&app, "SELECT COUNT(*) FROM privacy_consents").await, 3);

        // Events: one per change, codes only, never the proof.
        let payloads: Vec<String> = sqlx::query(
            "SELECT payload FROM outbox WHERE event_type = 'aloft.consent.changed' ORDER BY seq",
        )
        .fetch_all(app.test_db.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect();
        assert_eq!(payloads.len(), 3);
        assert!(payloads.iter().all(|p| !p.contains("CC-2026") && !p.contains("form 9001")));

        // The consent check: Bo consented, Ana withdrew.
        let store = ConsentStore::new(app.test_db.db.clone(), None);
        let email = purpose("marketing_email").unwrap();
        let ana = CustomerId::parse(&ana_id).unwrap();
        let bo = CustomerId::parse(&bo_id).unwrap();
        let yes = store.consented(email, &[ana, bo]).await.unwrap();
        assert!(yes.contains(&bo) && !yes.contains(&ana) && yes.len() == 1);
        let sql = format!(
            "SELECT COUNT(*) FROM customers c WHERE {}",
            consent_exists_sql(email, "c.id")
        );
        assert_eq!(count(&app, &sql).await, 1);
        let sql = format!(
            "SELECT COUNT(*) FROM customers c WHERE NOT {}",
            consent_exists_sql(email, "c.id")
        );
        assert_eq!(count(&app, &sql).await, 1, "the exclusion is countable");

        // The purpose register is served.
        let r = get_as(&app, ids::DATA_PRIVACY_OFFICER, "/api/v1/privacy/purposes").await;
        assert_eq!(r.status, 200);
        assert!(r.text().contains("disruption_alerts"));
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_agent_records_consent_given_by_phone_on_the_consent_tab() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let c = app
            .create_customer(json!({"first_name": "Chidi", "last_name": "Okafor"}))
            .await;
        let id = c["id"].as_str().unwrap().to_owned();
        let agent = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
        let tab = app
            .get_as(&agent, &format!("/customers/{id}?tab=consent"))
            .await;
        assert_eq!(tab.status, 200);
        assert!(tab.text().contains("No consent recorded"), "{}", tab.text());
        assert!(tab.text().contains("Record a consent"));

        // Without proof: the form comes back naming it, nothing stored.
        let r = app
            .post_form_as(
                &agent,
                &format!("/customers/{id}/consents"),
                "purpose=marketing_sms&channel=&granted=true&source=contact_centre&proof=",
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(r.text().contains("proof"), "{}", r.text());
        assert_eq!(count(&app, "SELECT COUNT(*) FROM privacy_consents").await, 0);

        let r = app
            .post_form_as(
                &agent,
                &format!("/customers/{id}/consents"),
                "purpose=marketing_sms&channel=&granted=true&source=contact_centre&proof=call+CC-7731",
            )
            .await;
        assert!(r.status == 303 || r.status == 302, "{} {}", r.status, r.text());
        let tab = app
            .get_as(&agent, &format!("/customers/{id}?tab=consent"))
            .await
            .text();
        assert!(tab.contains("call CC-7731") && tab.contains("Given"), "{tab}");

        // A marketing manager neither sees the tab nor records.
        let mm = app.sign_in_as(ids::MARKETING_MANAGER).await;
        let r = app
            .post_form_as(
                &mm,
                &format!("/customers/{id}/consents"),
                "purpose=marketing_sms&granted=true&source=web&proof=x",
            )
            .await;
        assert_eq!(r.status, 403);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn every_table_about_a_customer_is_covered_and_exported() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let missing = aloft_privacy::coverage::uncovered(&app.test_db.db)
            .await
            .unwrap();
        assert!(
            missing.is_empty(),
            "tables with a customer reference that export and erasure do not cover \
             (add them to aloft_privacy::coverage::PERSONAL_TABLES): {missing:?}"
        );

        let c = app
            .create_customer(json!({"first_name": "Dagny", "last_name": "Haugen", "email": "dagny.haugen@example.com"}))
            .await;
        let id = c["id"].as_str().unwrap().to_owned();
        let r = post_as(
            &app,
            ids::CONTACT_CENTRE_AGENT,
            &format!("/api/v1/customers/{id}/consents"),
            &json!({"purpose": "newsletter", "granted": true, "source": "web", "proof": "form 5150"}),
        )
        .await;
        assert_eq!(r.status, 201);

        let path = format!("/api/v1/customers/{id}/export");
        let r = get_as(&app, ids::CONTACT_CENTRE_AGENT, &path).await;
        assert_eq!(r.status, 403, "only the privacy officer exports");
        let r = get_as(&app, ids::DATA_PRIVACY_OFFICER, &path).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let sections = r.json();
        let of = |t: &str| {
            sections
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["table"] == t)
                .cloned()
                .unwrap()
        };
        assert_eq!(of("customers")["rows"].as_array().unwrap().len(), 1);
        // The person is owed their data, not its ciphertext: sealed fields come out opened.
        let sealed = &of("customers")["rows"][0]["sealed"];
        assert!(sealed.is_object(), "sealed fields opened: {sealed}");
        assert!(
            sections.to_string().contains("dagny.haugen@example.com"),
            "the e-mail address is in the export in clear"
        );
        assert_eq!(of("privacy_consents")["rows"][0]["proof"], "form 5150");
        assert_eq!(of("privacy_consents")["source"], "privacy");
        assert!(
            of("outbox")["rows"].as_array().unwrap().len() >= 2,
            "created + consent events"
        );
        let r = get_as(&app, ids::DATA_PRIVACY_OFFICER, &format!("{path}?format=csv")).await;
        assert_eq!(r.status, 200);
        assert!(r.header("content-type").starts_with("text/csv"));
        assert!(r.text().contains("\"form 5150\""));
        let r = get_as(&app, ids::DATA_PRIVACY_OFFICER, &format!("{path}?format=xml")).await;
        assert_eq!(r.status, 422);
        let r = get_as(
            &app,
            ids::DATA_PRIVACY_OFFICER,
            &format!("/api/v1/customers/{}/export", CustomerId::generate()),
        )
        .await;
        assert_eq!(r.status, 404);
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.subject_exported'").await,
            2
        );
        app.stop().await;
    })
    .await;
}

/// Tables that the export and erasure may read whole: the outbox is one scan per erasure (not
/// per row) of what the relay keeps (published events are pruned after 7 days), where an index
/// on `subject` would cost every event of every write; the events about the person under
/// another subject, and the webhook deliveries of their events, are found by their id in the
/// payload text, which no index serves (one scan each per erasure).
const READ_WHOLE: &[(&str, &str)] = &[
    ("outbox", "subject"),
    ("outbox", "payload"),
    ("webhook_deliveries", "payload"),
];

/// Whether `table` has a whole (not partial) index whose first column is `column`.
async fn led_by_index(app: &TestApp, table: &str, column: &str) -> bool {
    let sql = match app.test_db.db.backend() {
        aloft_kernel::Backend::Sqlite => format!(
            "SELECT COUNT(*) FROM pragma_index_list('{table}') il, pragma_index_info(il.name) ii \
             WHERE ii.seqno = 0 AND ii.name = '{column}' AND il.partial = 0"
        ),
        aloft_kernel::Backend::Postgres => format!(
            "SELECT COUNT(*) FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0] \
             WHERE n.nspname = current_schema() AND t.relname = '{table}' AND a.attname = '{column}' \
             AND i.indpred IS NULL"
        ),
    };
    count(app, &sql).await > 0
}

/// The export and the erasure of one person find their rows through indexes, table by table,
/// and deleting a row others refer to finds the referring rows through an index: without one,
/// both backends scan the referring table once per deleted row (an erasure of a person with
/// 10,000 travel records scanned the whole timeline 10,000 times: 20.6 s; BENCHMARKS.md).
#[tokio::test]
async fn erasure_and_export_find_a_persons_rows_through_indexes() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let present = aloft_privacy::coverage::tables(&app.test_db.db)
            .await
            .unwrap();
        let mut unindexed = Vec::new();
        for pt in aloft_privacy::coverage::PERSONAL_TABLES {
            if !present.iter().any(|t| t == pt.table)
                || READ_WHOLE.contains(&(pt.table, pt.column))
            {
                continue;
            }
            if !led_by_index(&app, pt.table, pt.column).await {
                unindexed.push(format!("{}.{}", pt.table, pt.column));
            }
        }
        assert!(
            unindexed.is_empty(),
            "customer columns without an index (export and erasure scan the table): {unindexed:?}"
        );

        let sql = match backend {
            aloft_kernel::Backend::Sqlite => {
                "SELECT m.name AS t, f.\"from\" AS c, f.\"table\" AS parent \
                 FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'"
            }
            aloft_kernel::Backend::Postgres => {
                "SELECT cl.relname::text AS t, a.attname::text AS c, pc.relname::text AS parent \
                 FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid \
                 JOIN pg_class pc ON pc.oid = co.confrelid \
                 JOIN pg_namespace n ON n.oid = cl.relnamespace \
                 JOIN pg_attribute a ON a.attrelid = co.conrelid AND a.attnum = co.conkey[1] \
                 WHERE co.contype = 'f' AND n.nspname = current_schema()"
            }
        };
        let fks: Vec<(String, String, String)> = sqlx::query(sql)
            .fetch_all(app.test_db.db.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r.try_get("t").unwrap(),
                    r.try_get("c").unwrap(),
                    r.try_get("parent").unwrap(),
                )
            })
            .collect();
        assert!(
            fks.iter()
                .any(|(t, c, p)| t == "timeline" && c == "record_id" && p == "travel_records"),
            "the catalogue query finds the timeline's reference: {fks:?}"
        );
        let mut unchecked = Vec::new();
        for (t, c, parent) in &fks {
            let personal = aloft_privacy::coverage::PERSONAL_TABLES
                .iter()
                .any(|pt| pt.table == parent);
            if personal && !led_by_index(&app, t, c).await {
                unchecked.push(format!("{t}.{c} → {parent}"));
            }
        }
        assert!(
            unchecked.is_empty(),
            "references to personal tables without an index (every deleted row scans the referring table): {unchecked:?}"
        );
        app.stop().await;
    })
    .await;
}

/// Every (table, column) of the live schema.
async fn all_columns(app: &TestApp) -> Vec<(String, String)> {
    let sql = match app.test_db.db.backend() {
        aloft_kernel::Backend::Sqlite => {
            "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
        }
        aloft_kernel::Backend::Postgres => {
            "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
             WHERE table_schema = current_schema()"
        }
    };
    sqlx::query(sql)
        .fetch_all(app.test_db.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.try_get("t").unwrap(), r.try_get("c").unwrap()))
        .collect()
}

/// Where in the database `needle` (lower case) can be read in plain text.
async fn readable(app: &TestApp, columns: &[(String, String)], needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (t, c) in columns {
        let sql =
            format!("SELECT COUNT(*) FROM {t} WHERE LOWER(CAST({c} AS TEXT)) LIKE '%{needle}%'");
        if count(app, &sql).await > 0 {
            found.push(format!("{t}.{c}"));
        }
    }
    found
}

/// A booking on the Paris–Frankfurt feeder, with `pnr` as its record locator.
fn feeder_booking(pnr: &str) -> aloft_travel::Record {
    aloft_travel::Record::parse(
        aloft_travel::RecordKind::Booking,
        &json!({"source": "gds", "source_record_id": pnr, "record_locator": pnr,
            "segments": [{"flight_number": "LH1021", "origin": "CDG", "destination": "FRA",
                "scheduled_departure_local": "2026-07-01T07:00",
                "scheduled_arrival_local": "2026-07-01T08:15",
                "cabin": "economy", "rbd": "Y", "status": "scheduled"}]}),
    )
    .unwrap()
}

/// The canaries [`seed_everywhere`] writes, each in its own place (some sealed under the
/// person's key, so readable only in the export), all starting with
/// `zqcanary` (long enough never to occur by chance in ciphertext or ids) but the record
/// locator, which is six letters.
const CANARIES: &[&str] = &[
    "zqcanaryfirst",
    "zqcanary.mail",
    "zqcanarystreet",
    "zqcanarysubject",
    "zqcanarybody",
    "zqcanaryproof",
    "zqcanarycasesubject",
    "zqcanarycasedescription",
    "zqcanarypassengermessage",
    "zqcanaryagentreply",
    "zqcanarytransferreason",
    "zqcanaryingestbody",
    "zqcanarylinkrecord",
    "zqloca",
];

/// Seeds a person with a distinct canary in every place personal data goes, through the APIs
/// staff, passengers' channels and source systems use: the profile, an interaction, a consent,
/// a case (description, a passenger's message, an agent's reply mailed to them, a transfer's
/// reason), an ingested contact linked to them (identity link), and a booking whose flight's
/// delay pays them compensation (proposal, payment mail). Returns the person's id and the
/// case's.
async fn seed_everywhere(app: &TestApp) -> (String, String) {
    let c = app
        .create_customer(json!({
            "first_name": "Zqcanaryfirst", "last_name": "Zqcanarylast",
            "email": "zqcanary.mail@example.com", "phone": "+44 1632 960123",
            "passport_number": "ZQCANARY7", "date_of_birth": "1970-01-01",
            "loyalty_number": "AL600000061",
            "address": {"line1": "1 Zqcanarystreet", "city": "Zqcanarycity", "country": "GB"}
        }))
        .await;
    let id = c["id"].as_str().unwrap().to_owned();
    let agent = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
    let r = app
        .post_form_as(
            &agent,
            &format!("/customers/{id}/interactions"),
            "channel=call&direction=inbound&subject=Zqcanarysubject&body=Zqcanarybody+notes",
        )
        .await;
    assert!(r.status < 400, "{} {}", r.status, r.text());
    let r = post_as(
        app,
        ids::CONTACT_CENTRE_AGENT,
        &format!("/api/v1/customers/{id}/consents"),
        &json!({"purpose": "analytics", "granted": true, "source": "contact_centre", "proof": "Zqcanaryproof call"}),
    )
    .await;
    assert_eq!(r.status, 201);

    // A case: opened by an agent, the passenger writes, the agent answers (mailed), transfers.
    let r = app
        .call(
            "POST",
            ids::CONTACT_CENTRE_AGENT,
            "/api/v1/cases",
            Some(&json!({"customer_id": id, "category": "complaint",
                "subject": "Zqcanarycasesubject", "description": "Zqcanarycasedescription of the meal",
                "channel": "email"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let case = r.json()["id"].as_str().unwrap().to_owned();
    for body in [
        json!({"body": "Zqcanarypassengermessage: still waiting", "author": "customer"}),
        json!({"body": "Zqcanaryagentreply: we are on it"}),
    ] {
        let r = app
            .call(
                "POST",
                ids::CUSTOMER_AFFAIRS_EXECUTIVE,
                &format!("/api/v1/cases/{case}/messages"),
                Some(&body),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let r = app
        .call(
            "POST",
            ids::CUSTOMER_AFFAIRS_EXECUTIVE,
            &format!("/api/v1/cases/{case}/assignment"),
            Some(&json!({"queue": "baggage", "reason": "Zqcanarytransferreason"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());

    // A contact from a source system, linked to the person by their loyalty number.
    let event = json!([{
        "specversion": "1.0", "id": "evt-canary-1", "source": "/voice/genesys",
        "type": "com.airline.voice.call", "loyaltynumber": "AL600000061",
        "data": {"source": "genesys", "source_record_id": "ZQCANARYLINKRECORD", "channel": "call",
                 "direction": "inbound", "occurred_at": "2026-03-01T10:00:00Z",
                 "subject": "Baggage query", "body": "Zqcanaryingestbody"}
    }]);
    let r = app
        .request(
            "POST",
            "/api/v1/ingest/events",
            &[
                ("authorization", app.role_tokens.get(ids::CMP_MANAGER)),
                ("content-type", "application/cloudevents-batch+json"),
            ],
            Bytes::from(event.to_string()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["recorded"], 1, "{}", r.text());

    // A booking on a flight that lands 3 h 15 late: compensation proposed, paid and mailed.
    let travel = aloft_travel::TravelStore::new(
        app.test_db.db.clone(),
        std::sync::Arc::new(app.customers.clone()),
    );
    travel
        .record_many(
            vec![(
                aloft_travel::CustomerId::parse(&id).unwrap(),
                feeder_booking("ZQLOCA"),
            )],
            &aloft_kernel::AccessContext::system("test"),
        )
        .await
        .unwrap();
    let r = post_as(
        app,
        ids::CMP_MANAGER,
        "/api/v1/compensation/disruptions",
        &json!({"flight": "LH1021", "date": "2026-07-01", "kind": "delay", "cause": "technical",
            "operating_carrier_country": "DE", "operating_carrier_large": true,
            "actual_departure": "2026-07-01T10:05:00+02:00",
            "actual_arrival": "2026-07-01T11:30:00+02:00"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["approved"], 1, "{}", r.text());
    (id, case)
}

/// Where each canary can be read, for the canaries readable somewhere.
async fn canaries_readable(
    app: &TestApp,
    columns: &[(String, String)],
) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for needle in CANARIES {
        let at = readable(app, columns, needle).await;
        if !at.is_empty() {
            out.push(((*needle).to_owned(), at));
        }
    }
    out
}

#[tokio::test]
async fn erasure_leaves_no_canary_readable_anywhere_and_is_idempotent() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let other = app
            .create_customer(json!({"first_name": "Keep", "last_name": "Me", "email": "keep.me@example.com"}))
            .await;
        let other_id = other["id"].as_str().unwrap().to_owned();
        let r = post_as(
            &app,
            ids::CONTACT_CENTRE_AGENT,
            &format!("/api/v1/customers/{other_id}/consents"),
            &json!({"purpose": "analytics", "granted": true, "source": "contact_centre", "proof": "Keepproof call"}),
        )
        .await;
        assert_eq!(r.status, 201);
        let r = app
            .call(
                "POST",
                ids::CONTACT_CENTRE_AGENT,
                "/api/v1/cases",
                Some(&json!({"customer_id": other_id, "category": "complaint",
                    "subject": "Keepsubject", "description": "Keepdescription", "channel": "email"})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        // A webhook receiving case events (down: its deliveries stay, with their payloads).
        let r = app
            .call(
                "POST",
                ids::CMP_MANAGER,
                "/api/v1/webhooks",
                Some(&json!({"name": "CRM", "url": "http://127.0.0.1:9/hook", "families": ["aloft.case."]})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let (id, case) = seed_everywhere(&app).await;

        // Events about the person under another subject (their case), and their deliveries to
        // the webhook, name them by id (no canary: events carry ids and codes only).
        let about = format!(
            "FROM outbox WHERE event_type <> 'aloft.customer.erased' AND (subject = '{case}' OR payload LIKE '%{id}%')"
        );
        assert!(count(&app, &format!("SELECT COUNT(*) {about} AND COALESCE(subject, '') <> '{id}'")).await > 0);
        let delivered = format!("SELECT COUNT(*) FROM webhook_deliveries WHERE payload LIKE '%{case}%' OR payload LIKE '%{id}%'");
        let mut waited = 0;
        while count(&app, &delivered).await == 0 {
            assert!(waited < 100, "the case's events reach the webhook's deliveries");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            waited += 1;
        }

        // Canaries are readable in plain text where the audit found copies.
        let columns = all_columns(&app).await;
        let before = canaries_readable(&app, &columns).await;
        let at = |needle: &str| {
            before
                .iter()
                .find(|(n, _)| n == needle)
                .map(|(_, at)| at.clone())
                .unwrap_or_default()
        };
        // (The rest are sealed under the person's key: not readable before either; the export
        // below shows they were seeded.)
        assert!(at("zqcanarycasedescription").contains(&"case_entries.body".to_owned()), "{before:?}");
        assert!(at("zqcanarypassengermessage").contains(&"case_entries.body".to_owned()));
        assert!(at("zqcanaryagentreply").contains(&"mail_messages.text_body".to_owned()), "{before:?}");
        assert!(at("zqcanarytransferreason").contains(&"case_entries.detail".to_owned()), "{before:?}");
        assert!(at("zqcanary.mail").contains(&"mail_messages.to_address".to_owned()), "{before:?}");
        assert!(at("zqcanarylinkrecord").contains(&"identity_links.source_record_id".to_owned()), "{before:?}");
        assert!(at("zqloca").contains(&"compensation_proposals.record_locator".to_owned()), "{before:?}");
        eprintln!("{backend:?}: canaries before erasure: {before:?}");

        // The export has every copy, with its source, in JSON and in CSV.
        let path = format!("/api/v1/customers/{id}/export");
        let export = get_as(&app, ids::DATA_PRIVACY_OFFICER, &path).await;
        assert_eq!(export.status, 200, "{}", export.text());
        let json_text = export.text().to_lowercase();
        let csv = get_as(&app, ids::DATA_PRIVACY_OFFICER, &format!("{path}?format=csv"))
            .await
            .text()
            .to_lowercase();
        for needle in CANARIES {
            assert!(json_text.contains(needle), "{needle} in the JSON export");
            assert!(csv.contains(needle), "{needle} in the CSV export");
        }
        let sections = export.json();
        let section = |table: &str, source: &str| {
            sections
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["table"] == table && s["source"] == source)
                .cloned()
                .unwrap_or_else(|| panic!("{table} from {source} in the export"))
        };
        assert!(section("case_entries", "cases")["rows"].to_string().contains("Zqcanarypassengermessage"));
        assert!(section("mail_messages", "mail (cases, compensation)")["rows"].as_array().unwrap().len() >= 3,
            "case opened, reply, compensation paid");
        assert!(csv.contains("\"case_entries\",\"cases\""), "the CSV names the source");
        assert!(!section("outbox", "events")["rows"].as_array().unwrap().is_empty());
        assert!(!json_text.contains("keepdescription"), "another person's case is not exported");

        let path = format!("/api/v1/customers/{id}/erasure");
        let r = post_as(&app, ids::CONTACT_CENTRE_AGENT, &path, &json!({})).await;
        assert_eq!(r.status, 403, "only the privacy officer erases");
        let started = std::time::Instant::now();
        let r = post_as(&app, ids::DATA_PRIVACY_OFFICER, &path, &json!({})).await;
        let took = started.elapsed();
        assert_eq!(r.status, 200, "{}", r.text());
        eprintln!("{backend:?}: erasure over HTTP took {took:?}");
        let report = r.json();
        assert_eq!(report["already_erased"], false);
        assert_eq!(report["key_destroyed"], true);

        // No canary readable in any column of any table.
        let after = canaries_readable(&app, &columns).await;
        assert!(after.is_empty(), "readable after erasure: {after:?}");

        assert_eq!(count(&app, &format!("SELECT COUNT(*) {about}")).await, 0, "events about the person");
        assert_eq!(count(&app, &delivered).await, 0, "webhook deliveries about the person");
        let rows = |table: &str| {
            report["tables"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|t| t["table"] == table)
                .map(|t| t["rows"].as_u64().unwrap())
                .sum::<u64>()
        };
        assert!(rows("mail_messages") >= 3 && rows("case_entries") >= 4 && rows("webhook_deliveries") >= 1, "{report}");

        // Another person's data stays.
        for (needle, table) in [("keepproof", "privacy_consents.proof"), ("keepdescription", "case_entries.body"), ("keepsubject", "cases.subject")] {
            let at = readable(&app, &columns, needle).await;
            assert!(at.contains(&table.to_owned()), "{needle}: {at:?}");
        }

        // What another law requires stays, pseudonymised, with its legal basis recorded.
        let basis = |table: &str| {
            report["tables"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["table"] == table && t["action"] == "pseudonymised")
                .and_then(|t| t["legal_basis"].as_str().map(str::to_owned))
                .unwrap_or_else(|| panic!("{table} pseudonymised with a legal basis: {report}"))
        };
        assert!(basis("compensation_proposals").contains("HGB"));
        assert!(basis("cases").contains("limitation"));
        assert!(basis("case_entries").contains("limitation"));
        assert_eq!(
            count(&app, &format!("SELECT COUNT(*) FROM compensation_proposals WHERE customer_id = '{id}' AND status = 'approved' AND amount IS NOT NULL AND record_locator = ''")).await,
            1,
            "the payment is kept, without the booking reference"
        );
        assert_eq!(
            count(&app, &format!("SELECT COUNT(*) FROM cases WHERE id = '{case}' AND subject = '' AND description = ''")).await,
            1
        );
        assert!(count(&app, &format!("SELECT COUNT(*) FROM case_entries WHERE case_id = '{case}' AND (body IS NULL OR body = '')")).await >= 4);
        assert_eq!(
            count(&app, &format!("SELECT COUNT(*) FROM case_entries WHERE case_id = '{case}' AND body <> ''")).await,
            0
        );
        // Kept for proof of consent (Art. 7(1)), without its text.
        assert_eq!(
            count(&app, &format!("SELECT COUNT(*) FROM privacy_consents WHERE customer_id = '{id}' AND proof = ''")).await,
            1
        );
        // The key is gone: nothing sealed under it opens any more.
        use aloft_kernel::keys::CustomerKeys;
        let uuid = uuid::Uuid::parse_str(&id).unwrap();
        assert!(app.customers.data_keys(&[uuid]).await.unwrap().is_empty());
        // The audit trail keeps the erasure, with ids only.
        assert_eq!(
            count(&app, &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'privacy.subject_erased' AND resource_id = '{id}'")).await,
            1
        );
        let r = app.get(&format!("/api/v1/customers/{id}")).await;
        assert_eq!(r.status, 404);

        // Again: nothing left, said so, nothing changes.
        let r = post_as(&app, ids::DATA_PRIVACY_OFFICER, &path, &json!({})).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["already_erased"], true, "{}", r.text());
        assert!(canaries_readable(&app, &columns).await.is_empty());
        app.stop().await;
    })
    .await;
}

/// Makes every deletion of a profile fail: the erasure's last statement (profiles go last), so
/// every other table has been changed inside the transaction when it fails.
async fn inject_crash(app: &TestApp, on: bool) {
    let sqls: &[&str] = match (app.test_db.db.backend(), on) {
        (aloft_kernel::Backend::Sqlite, true) => &[
            "CREATE TRIGGER erasure_crash BEFORE DELETE ON customers BEGIN SELECT RAISE(ABORT, 'injected crash'); END",
        ],
        (aloft_kernel::Backend::Sqlite, false) => &["DROP TRIGGER erasure_crash"],
        (aloft_kernel::Backend::Postgres, true) => &[
            "CREATE FUNCTION erasure_crash() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected crash'; END $$",
            "CREATE TRIGGER erasure_crash BEFORE DELETE ON customers FOR EACH ROW EXECUTE FUNCTION erasure_crash()",
        ],
        (aloft_kernel::Backend::Postgres, false) => &[
            "DROP TRIGGER erasure_crash ON customers",
            "DROP FUNCTION erasure_crash()",
        ],
    };
    for sql in sqls {
        sqlx::query(sql)
            .execute(app.test_db.db.pool())
            .await
            .unwrap();
    }
}

/// The scheduler's and the subscribers' own bookkeeping, which moves on its own clock (the
/// per-minute SLA sweep, subscription cursors) while a test waits: left out of [`snapshot`].
const BOOKKEEPING: &[&str] = &["jobs", "event_subscriptions"];

/// A snapshot of every column of every table (but [`BOOKKEEPING`]), to compare before and
/// after a failed erasure.
async fn snapshot(app: &TestApp, columns: &[(String, String)]) -> Vec<String> {
    let mut tables: Vec<&String> = columns
        .iter()
        .map(|(t, _)| t)
        .filter(|t| !BOOKKEEPING.contains(&t.as_str()))
        .collect();
    tables.sort();
    tables.dedup();
    let mut out = Vec::new();
    for t in tables {
        let cols: Vec<String> = columns
            .iter()
            .filter(|(ct, _)| ct == t)
            .map(|(_, c)| format!("COALESCE(CAST({c} AS TEXT), '~')"))
            .collect();
        let mut rows: Vec<String> = sqlx::query(&format!(
            "SELECT {} AS r FROM {t}",
            cols.join(" || '|' || ")
        ))
        .fetch_all(app.test_db.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{t}: {}", r.try_get::<String, _>("r").unwrap()))
        .collect();
        rows.sort();
        out.extend(rows);
    }
    out
}

/// A [`snapshot`] once background work (mail delivery, the outbox relay, subscribers) has
/// settled: two in a row 300 ms apart are the same.
async fn settled(app: &TestApp, columns: &[(String, String)]) -> Vec<String> {
    let mut last = snapshot(app, columns).await;
    for _ in 0..30 {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let now = snapshot(app, columns).await;
        if now == last {
            return now;
        }
        last = now;
    }
    panic!("the database never settled");
}

/// A crash part-way through an erasure leaves nothing half-erased (the database is as before,
/// key included), and running it again completes it.
#[tokio::test]
async fn a_crash_during_erasure_leaves_nothing_half_erased_and_a_rerun_completes_it() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let (id, _case) = seed_everywhere(&app).await;
        let columns = all_columns(&app).await;
        let seeded = canaries_readable(&app, &columns).await;
        assert!(seeded.len() >= 8, "{seeded:?}");

        inject_crash(&app, true).await;
        let before = settled(&app, &columns).await;
        let customer = aloft_customers::CustomerId::parse(&id).unwrap();
        let failed = aloft_privacy::erasure::erase(
            &app.test_db.db,
            customer,
            &aloft_kernel::AccessContext::system("test"),
        )
        .await;
        assert!(failed.is_err(), "the injected crash stops the erasure");
        assert!(
            format!("{:?}", failed.unwrap_err()).contains("injected crash"),
            "it failed where injected"
        );
        // Nothing half-visible: every row of every table as before, the key still there.
        assert_eq!(canaries_readable(&app, &columns).await, seeded);
        let after = settled(&app, &columns).await;
        let changed: Vec<_> = after.iter().filter(|r| !before.contains(r)).collect();
        let lost: Vec<_> = before.iter().filter(|r| !after.contains(r)).collect();
        assert!(
            changed.is_empty() && lost.is_empty(),
            "nothing changed: new {changed:?}, gone {lost:?}"
        );
        use aloft_kernel::keys::CustomerKeys;
        let uuid = uuid::Uuid::parse_str(&id).unwrap();
        assert_eq!(app.customers.data_keys(&[uuid]).await.unwrap().len(), 1);

        // The cause gone, the erasure is run again (as the request's retry does) and completes.
        inject_crash(&app, false).await;
        let path = format!("/api/v1/customers/{id}/erasure");
        let r = post_as(&app, ids::DATA_PRIVACY_OFFICER, &path, &json!({})).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["already_erased"], false);
        assert_eq!(r.json()["key_destroyed"], true);
        let after = canaries_readable(&app, &columns).await;
        assert!(after.is_empty(), "readable after the rerun: {after:?}");
        let r = post_as(&app, ids::DATA_PRIVACY_OFFICER, &path, &json!({})).await;
        assert_eq!(r.json()["already_erased"], true);
        app.stop().await;
    })
    .await;
}

/// The closed-cases policy (six years) empties what a closed case holds of the passenger's
/// words everywhere: the case, its timeline (description, messages, a resolution typed at a
/// transition) and the e-mails sent about it, and leaves open cases alone; a second run changes
/// nothing.
#[tokio::test]
async fn closed_case_retention_clears_the_timeline_and_deletes_the_mails() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let c = app
            .create_customer(json!({"first_name": "Rita", "last_name": "Lopes", "email": "rita.lopes@example.com"}))
            .await;
        let id = c["id"].as_str().unwrap().to_owned();
        let agent = ids::CUSTOMER_AFFAIRS_EXECUTIVE;
        let open_case = |category: &str, word: &str| {
            json!({"customer_id": id, "category": category, "subject": format!("{word}subject"),
                "description": format!("{word}description"), "channel": "email"})
        };
        let mut cases = Vec::new();
        for (category, word) in [("complaint", "Zqcanaryclosed"), ("baggage", "Zqcanarystillopen")] {
            let r = app.call("POST", agent, "/api/v1/cases", Some(&open_case(category, word))).await;
            assert_eq!(r.status, 201, "{}", r.text());
            let case = r.json()["id"].as_str().unwrap().to_owned();
            let r = app
                .call("POST", agent, &format!("/api/v1/cases/{case}/messages"),
                    Some(&json!({"body": format!("{word}reply")})))
                .await;
            assert_eq!(r.status, 201, "{}", r.text());
            cases.push(case);
        }
        let closed = &cases[0];
        for to in [json!({"to": "in_progress"}), json!({"to": "resolved", "resolution": "Zqcanaryclosedresolution"}), json!({"to": "closed"})] {
            let r = app.call("POST", agent, &format!("/api/v1/cases/{closed}/transitions"), Some(&to)).await;
            assert_eq!(r.status, 200, "{}", r.text());
        }
        let columns = all_columns(&app).await;
        let before = readable(&app, &columns, "zqcanaryclosed").await;
        for place in ["cases.subject", "case_entries.body", "case_entries.detail", "mail_messages.text_body"] {
            assert!(before.contains(&place.to_owned()), "{place}: {before:?}");
        }
        let open_before = readable(&app, &columns, "zqcanarystillopen").await;

        // Six years and a month later.
        let at = chrono::Utc::now() + chrono::Months::new(73);
        let ctx = aloft_kernel::AccessContext::system("test");
        let run = aloft_privacy::retention::apply(&app.test_db.db, at, &ctx).await.unwrap();
        let cases_line = run.policies.iter().find(|p| p.table == "cases").unwrap();
        assert_eq!(cases_line.rows, 1, "{run:?}");
        assert_eq!(readable(&app, &columns, "zqcanaryclosed").await, Vec::<String>::new());
        assert_eq!(readable(&app, &columns, "zqcanarystillopen").await, open_before, "the open case stays");
        assert_eq!(
            count(&app, &format!("SELECT COUNT(*) FROM case_entries WHERE case_id = '{closed}' AND detail = '{{}}'")).await,
            count(&app, &format!("SELECT COUNT(*) FROM case_entries WHERE case_id = '{closed}'")).await,
        );
        assert!(count(&app, &format!("SELECT COUNT(*) FROM case_entries WHERE case_id = '{closed}'")).await >= 5, "the steps stay");

        let again = aloft_privacy::retention::apply(&app.test_db.db, at, &ctx).await.unwrap();
        assert_eq!(again.policies.iter().find(|p| p.table == "cases").unwrap().rows, 0);
        app.stop().await;
    })
    .await;
}
