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
/// on `subject` would cost every event of every write.
const READ_WHOLE: &[(&str, &str)] = &[("outbox", "subject")];

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

#[tokio::test]
async fn erasure_leaves_no_canary_readable_anywhere_and_is_idempotent() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let c = app
            .create_customer(json!({
                "first_name": "Zqcanaryfirst", "last_name": "Zqcanarylast",
                "email": "zqcanary.mail@example.com", "phone": "+44 1632 960123",
                "passport_number": "ZQCANARY7", "date_of_birth": "1970-01-01",
                "address": {"line1": "1 Zqcanarystreet", "city": "Zqcanarycity", "country": "GB"}
            }))
            .await;
        let id = c["id"].as_str().unwrap().to_owned();
        let other = app
            .create_customer(json!({"first_name": "Keep", "last_name": "Me"}))
            .await;
        let other_id = other["id"].as_str().unwrap().to_owned();
        let agent = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
        let r = app
            .post_form_as(
                &agent,
                &format!("/customers/{id}/interactions"),
                "channel=call&direction=inbound&subject=Zqcanarysubject&body=Zqcanarybody+notes",
            )
            .await;
        assert!(r.status < 400, "{} {}", r.status, r.text());
        for cid in [&id, &other_id] {
            let r = post_as(
                &app,
                ids::CONTACT_CENTRE_AGENT,
                &format!("/api/v1/customers/{cid}/consents"),
                &json!({"purpose": "analytics", "granted": true, "source": "contact_centre", "proof": "Zqcanaryproof call"}),
            )
            .await;
            assert_eq!(r.status, 201);
        }
        let columns = all_columns(&app).await;
        let before = readable(&app, &columns, "zqcanary").await;
        assert!(
            before.iter().any(|c| c.starts_with("privacy_consents"))
                && before.iter().any(|c| c.starts_with("customers")),
            "canaries are seeded where they can be read: {before:?}"
        );

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

        // The other passenger's consent proof remains; none of the erased person's anywhere.
        let after = readable(&app, &columns, "zqcanary").await;
        assert_eq!(after, ["privacy_consents.proof"], "{after:?}");
        assert_eq!(
            count(
                &app,
                &format!("SELECT COUNT(*) FROM privacy_consents WHERE proof LIKE '%Zqcanary%' AND customer_id = '{other_id}'")
            )
            .await,
            1
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
        assert_eq!(r.json()["already_erased"], true);
        assert_eq!(
            readable(&app, &columns, "zqcanary").await,
            ["privacy_consents.proof"]
        );
        app.stop().await;
    })
    .await;
}
