//! Analytics and personalisation (issue 22): the segment preview API on a running instance
//! (both backends), and through the real `aloft` binary the sentiment CSV contract (`aloft
//! sentiment train|classify`) and `aloft serve --sentiment-model`.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use bytes::Bytes;
use common::{TestApp, on_each_backend};
use serde_json::{Value, json};

use aloft::roles::ids;
use aloft_analytics::storage::{CustomerFacts, SegmentStore};

async fn preview_as(app: &TestApp, role: &str, body: &Value) -> common::Reply {
    app.request(
        "POST",
        "/api/v1/segments/preview",
        &[
            ("content-type", "application/json"),
            ("authorization", app.role_tokens.get(role)),
        ],
        Bytes::from(body.to_string()),
    )
    .await
}

#[tokio::test]
async fn facts_are_derived_from_profiles_for_the_preview() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        for (i, (tier, nationality)) in [("gold", "DE"), ("gold", "FR"), ("silver", "DE")]
            .into_iter()
            .enumerate()
        {
            app.create_customer(json!({
                "first_name": "Ana", "last_name": (["Silva", "Costa", "Pereira"][i]), "nationality": nationality,
                "loyalty_number": format!("AL30000000{i}"), "loyalty_tier": tier,
                "preferences": {"seat": "aisle", "language": "de"}
            }))
            .await;
        }
        let n = SegmentStore::new(app.test_db.db.clone())
            .rebuild(chrono::Utc::now())
            .await
            .unwrap();
        assert_eq!(n, 3);
        let rule = json!({"rule": {"all": [
            {"field": "loyalty.tier", "op": "=", "value": "gold"},
            {"field": "profile.nationality", "op": "=", "value": "DE"},
            {"field": "preferences.seat", "op": "=", "value": "aisle"},
            {"field": "travel.days_since_last_flight", "op": ">", "value": 30}
        ]}});
        let r = preview_as(&app, ids::MARKETING_MANAGER, &rule).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["count"], 1, "{}", r.text());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn segment_preview_counts_names_bad_fields_and_is_for_segment_builders() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let facts: Vec<CustomerFacts> = (0..12)
            .map(|i| CustomerFacts {
                customer_id: format!("seg-{i}"),
                tier: Some(if i < 5 { "gold" } else { "blue" }.to_owned()),
                flights_12m: i,
                ..Default::default()
            })
            .collect();
        SegmentStore::new(app.test_db.db.clone())
            .put_facts(&facts, chrono::Utc::now())
            .await
            .unwrap();
        let rule = json!({"rule": {"all": [
            {"field": "loyalty.tier", "op": "=", "value": "gold"},
            {"field": "travel.flights_12m", "op": ">=", "value": 2}
        ]}});
        for role in [ids::MARKETING_MANAGER, ids::LOYALTY_MANAGER] {
            let r = preview_as(&app, role, &rule).await;
            assert_eq!(r.status, 200, "{role}: {}", r.text());
            assert_eq!(r.json()["count"], 3, "{}", r.text());
        }

        let bad = json!({"rule": {"all": [
            {"field": "loyalty.teir", "op": "=", "value": "gold"},
            {"field": "travel.flights_12m", "op": ">=", "value": "many"}
        ]}});
        let r = preview_as(&app, ids::MARKETING_MANAGER, &bad).await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(
            r.header("content-type")
                .starts_with("application/problem+json")
        );
        let errors = r.json()["errors"].to_string();
        assert!(
            errors.contains("/rule/all/0/field") && errors.contains("loyalty.teir"),
            "{errors}"
        );
        assert!(
            errors.contains("/rule/all/1/value") && errors.contains("integer"),
            "{errors}"
        );
        let r = preview_as(&app, ids::MARKETING_MANAGER, &json!({})).await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("/rule"), "{}", r.text());

        for role in [ids::CONTACT_CENTRE_AGENT, ids::CABIN_CREW, ids::PASSENGER] {
            let r = preview_as(&app, role, &rule).await;
            assert_eq!(r.status, 403, "{role}");
        }
        app.stop().await;
    })
    .await;
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aloft-sent-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn aloft(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aloft"))
        .args(args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("aloft runs")
}

/// A labelled corpus whose airline jargon ("IRROPS", "MCT", "fast track") only training can
/// learn: the lexicon does not know these words.
fn labelled_csv() -> String {
    let mut csv = String::from("id,text,label\n");
    let routes = ["LHR", "FRA", "CDG", "MAD", "JFK", "DXB", "AMS", "LIS"];
    for i in 0..400 {
        let r = routes[i % routes.len()];
        let (text, label) = match i % 3 {
            0 => (format!("\"IRROPS again at {r}, MCT blown\""), "negative"),
            1 => (
                format!("\"Fast track at {r}, bulkhead row, cheers\""),
                "positive",
            ),
            _ => (format!("Which terminal for {r} flight {i}"), "neutral"),
        };
        csv.push_str(&format!("r{i},{text},{label}\n"));
    }
    csv
}

#[test]
fn train_then_classify_with_the_trained_and_the_builtin_model() {
    let dir = temp_dir();
    std::fs::write(dir.join("labelled.csv"), labelled_csv()).unwrap();
    let out = aloft(
        &[
            "sentiment",
            "train",
            "--input",
            "labelled.csv",
            "--output",
            "model.json",
        ],
        &dir,
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{summary} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(summary.contains("Held-out accuracy: 100.0 %"), "{summary}");

    std::fs::write(
        dir.join("texts.csv"),
        "id,text\nc1,IRROPS at OSL again\nc2,\"My suitcase is lost, awful service\"\nc3,Thank you for the lovely crew\n",
    )
    .unwrap();
    let out = aloft(
        &[
            "sentiment",
            "classify",
            "--model",
            "model.json",
            "--input",
            "texts.csv",
            "--output",
            "trained.csv",
        ],
        &dir,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trained = std::fs::read_to_string(dir.join("trained.csv")).unwrap();
    assert!(trained.starts_with("id,label,score,topics\n"), "{trained}");
    assert!(trained.contains("\nc1,negative,"), "{trained}");

    let out = aloft(
        &[
            "sentiment",
            "classify",
            "--input",
            "texts.csv",
            "--output",
            "builtin.csv",
        ],
        &dir,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let builtin = std::fs::read_to_string(dir.join("builtin.csv")).unwrap();
    assert!(builtin.contains("\nc2,negative,"), "{builtin}");
    assert!(builtin.contains("baggage"), "{builtin}");
    assert!(builtin.contains("\nc3,positive,"), "{builtin}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_training_files_name_the_line_and_write_nothing() {
    let dir = temp_dir();
    std::fs::write(
        dir.join("bad_label.csv"),
        "id,text,label\n1,fine flight,positive\n2,\"so late\",furious\n",
    )
    .unwrap();
    std::fs::write(dir.join("no_label.csv"), "id,text\n1,fine flight\n").unwrap();
    // An existing model must survive a failed retraining untouched.
    std::fs::write(dir.join("model.json"), "previous").unwrap();
    for (file, expected) in [
        (
            "bad_label.csv",
            "line 3: column label: unknown label \"furious\"",
        ),
        ("no_label.csv", "line 1: missing column \"label\""),
    ] {
        let out = aloft(
            &[
                "sentiment",
                "train",
                "--input",
                file,
                "--output",
                "model.json",
            ],
            &dir,
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(err.contains(expected), "{file}: {err}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("model.json")).unwrap(),
        "previous"
    );
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn serve_refuses_an_unreadable_model_and_starts_with_a_trained_one() {
    let dir = temp_dir();
    std::fs::write(dir.join("junk.json"), "{\"not\":\"a model\"}").unwrap();
    let out = aloft(
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--data-dir",
            "data",
            "--sentiment-model",
            "junk.json",
        ],
        &dir,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--sentiment-model"), "{err}");
    assert!(
        !dir.join("data").exists(),
        "nothing created for a refused start"
    );

    std::fs::write(dir.join("labelled.csv"), labelled_csv()).unwrap();
    assert!(
        aloft(
            &[
                "sentiment",
                "train",
                "--input",
                "labelled.csv",
                "--output",
                "model.json"
            ],
            &dir
        )
        .status
        .success()
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_aloft"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--data-dir",
            "data",
            "--sentiment-model",
            "model.json",
        ])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut printed = String::new();
    let mut buf = [0u8; 256];
    while !printed.contains("API reference") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "aloft exited early: {printed}");
        printed.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

// ---- Next best action (issue 22, item 4) ----------------------------------------------------

async fn api_as(
    app: &TestApp,
    role: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> common::Reply {
    let mut headers = vec![("authorization", app.role_tokens.get(role))];
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    app.request(
        method,
        path,
        &headers,
        body.map(|b| Bytes::from(b.to_string())).unwrap_or_default(),
    )
    .await
}

async fn count(app: &TestApp, sql: &str, bind: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql)
        .bind(bind)
        .fetch_one(app.test_db.db.pool())
        .await
        .unwrap()
        .try_get::<i64, _>(0)
        .unwrap()
}

/// A past flight `days_ago` from London to New York in economy, `delay` minutes late.
fn flown(pnr: &str, n: usize, days_ago: i64, delay: u64) -> aloft_travel::Record {
    let dep = chrono::Utc::now() - chrono::Duration::days(days_ago);
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M").to_string();
    let mut segment = json!({"flight_number": format!("AL{}", 100 + n), "origin": "LHR", "destination": "JFK",
        "scheduled_departure_local": fmt(dep), "scheduled_arrival_local": fmt(dep + chrono::Duration::hours(8)),
        "cabin": "economy", "rbd": "Y", "status": "flown"});
    if delay > 0 {
        segment["status"] = json!("delayed");
        segment["delay_minutes"] = json!(delay);
    }
    aloft_travel::Record::parse(
        aloft_travel::RecordKind::Booking,
        &json!({"source": "gds", "source_record_id": format!("{pnr}-{n}"), "record_locator": pnr,
            "segments": [segment]}),
    )
    .unwrap()
}

/// A silver flyer with five economy flights in the last months, two of them delayed over
/// three hours, who consented to personalisation (a next best action profiles her) and to
/// marketing e-mail: a service recovery voucher is due.
async fn disrupted_flyer(app: &TestApp) -> String {
    let id = app
        .create_customer(json!({"first_name": "Ines", "last_name": "Duarte",
            "loyalty_number": "AL400000001", "loyalty_tier": "silver"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cid = aloft_travel::CustomerId::parse(&id).unwrap();
    let records = [(10, 200), (20, 0), (30, 240), (40, 0), (50, 0)]
        .into_iter()
        .enumerate()
        .map(|(n, (days, delay))| (cid, flown("DUA001", n, days, delay)))
        .collect();
    aloft_travel::TravelStore::new(
        app.test_db.db.clone(),
        std::sync::Arc::new(app.customers.clone()),
    )
    .record_many(records, &aloft_kernel::AccessContext::system("test"))
    .await
    .unwrap();
    for purpose in ["personalisation", "marketing_email"] {
        let r = api_as(
            app,
            ids::CONTACT_CENTRE_AGENT,
            "POST",
            &format!("/api/v1/customers/{id}/consents"),
            Some(&json!({"purpose": purpose, "granted": true, "source": "contact_centre", "proof": "call 4471"})),
        )
        .await;
        assert!(r.status < 300, "{}", r.text());
    }
    id
}

/// The value of `aloft_nba_not_personalised_total{reason}` on `/metrics` (0 before the first).
async fn not_personalised_count(app: &TestApp, reason: &str) -> u64 {
    let text = api_as(
        app,
        ids::SECURITY_OPERATIONS_MANAGER,
        "GET",
        "/metrics",
        None,
    )
    .await
    .text();
    let series = format!("aloft_nba_not_personalised_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .map_or(0, |v| v.trim().parse().unwrap())
}

fn outcome_of<'a>(nba: &'a Value, code: &str) -> &'a str {
    nba["considered"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == code)
        .unwrap_or_else(|| panic!("{code} considered: {nba}"))["outcome"]
        .as_str()
        .unwrap()
}

#[tokio::test]
async fn next_best_action_is_chosen_explained_capped_and_recorded() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let id = disrupted_flyer(&app).await;
        let agent = ids::CONTACT_CENTRE_AGENT;
        let path = format!("/api/v1/customers/{id}/next-best-action");

        let r = api_as(&app, agent, "GET", &path, None).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let nba = r.json();
        assert_eq!(nba["action"]["code"], "service_recovery_voucher", "{nba}");
        assert_eq!(nba["action"]["channel"], "agent");
        assert_eq!(nba["action"]["cost"], json!({"amount": "50.00", "currency": "EUR"}));
        assert_eq!(nba["action"]["expected_value"]["amount"], "300.00");
        assert!(nba["explanation"].as_str().unwrap().contains("two or more disruptions"), "{nba}");
        assert_eq!(nba["considered"].as_array().unwrap().len(), 8, "{nba}");
        assert_eq!(outcome_of(&nba, "service_recovery_voucher"), "chosen");
        assert_eq!(outcome_of(&nba, "upgrade_offer"), "lower_value");
        assert_eq!(outcome_of(&nba, "retention_call"), "not_eligible");
        // Consent given, so the consent request is not eligible.
        assert_eq!(outcome_of(&nba, "consent_request"), "not_eligible");
        for c in nba["considered"].as_array().unwrap() {
            assert!(!c["reason"].as_str().unwrap().is_empty(), "{c}");
        }
        // The read of the customer's data was audited.
        let audited = count(
            &app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'offer.next_best_action_read' AND resource_id = $1",
            &id,
        )
        .await;
        assert_eq!(audited, 1);

        // Offer the voucher; the offer, its event and its audit record are stored together.
        let offers = format!("/api/v1/customers/{id}/offers");
        let r = api_as(&app, agent, "POST", &offers, Some(&json!({"action": "service_recovery_voucher", "channel": "agent"}))).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let offer = r.json();
        assert_eq!(offer["status"], "offered");
        let offer_id = offer["id"].as_str().unwrap().to_owned();
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM outbox WHERE event_type = 'aloft.offer.made' AND subject = $1", &offer_id).await,
            1
        );
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'offer.made' AND resource_id = $1", &id).await,
            1
        );

        // Now the voucher is capped by frequency and e-mail actions are in the quiet period;
        // the agent's next best action is the miles.
        let nba = api_as(&app, agent, "GET", &path, None).await.json();
        assert_eq!(nba["action"]["code"], "service_recovery_miles", "{nba}");
        assert_eq!(outcome_of(&nba, "service_recovery_voucher"), "frequency_cap");
        assert_eq!(outcome_of(&nba, "upgrade_offer"), "quiet_period");
        let r = api_as(&app, agent, "POST", &offers, Some(&json!({"action": "service_recovery_voucher", "channel": "agent"}))).await;
        assert_eq!(r.status, 409, "{}", r.text());
        assert!(r.text().contains("/action"), "{}", r.text());
        let r = api_as(&app, agent, "POST", &offers, Some(&json!({"action": "upgrade_offer", "channel": "email"}))).await;
        assert_eq!(r.status, 409, "{}", r.text());
        assert!(r.text().contains("/channel") && r.text().contains("quiet period"), "{}", r.text());
        // Bad input is named.
        let r = api_as(&app, agent, "POST", &offers, Some(&json!({"action": "free_beer", "channel": "pigeon"}))).await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(r.text().contains("/action") && r.text().contains("/channel"), "{}", r.text());
        let r = api_as(&app, agent, "POST", &offers, Some(&json!({"action": "upgrade_offer", "channel": "agent"}))).await;
        assert_eq!(r.status, 422, "{}", r.text());

        // The answer is recorded once.
        let outcome = format!("/api/v1/offers/{offer_id}/outcome");
        let r = api_as(&app, agent, "POST", &outcome, Some(&json!({"outcome": "maybe"}))).await;
        assert_eq!(r.status, 422, "{}", r.text());
        let r = api_as(&app, agent, "POST", &outcome, Some(&json!({"outcome": "accepted"}))).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["status"], "accepted");
        let r = api_as(&app, agent, "POST", &outcome, Some(&json!({"outcome": "declined"}))).await;
        assert_eq!(r.status, 409, "{}", r.text());
        assert_eq!(
            count(&app, "SELECT COUNT(*) FROM outbox WHERE event_type IN ('aloft.offer.accepted', 'aloft.offer.declined') AND subject = $1", &offer_id).await,
            1
        );
        let r = api_as(&app, agent, "POST", "/api/v1/offers/no-such-offer/outcome", Some(&json!({"outcome": "accepted"}))).await;
        assert_eq!(r.status, 404, "{}", r.text());

        // Offer the miles too and let the customer decline.
        let r = api_as(&app, agent, "POST", &offers, Some(&json!({"action": "service_recovery_miles", "channel": "agent"}))).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let miles = r.json()["id"].as_str().unwrap().to_owned();
        let r = api_as(&app, agent, "POST", &format!("/api/v1/offers/{miles}/outcome"), Some(&json!({"outcome": "declined"}))).await;
        assert_eq!(r.status, 200, "{}", r.text());

        // The report by action, for the marketing manager.
        let r = api_as(&app, ids::MARKETING_MANAGER, "GET", "/api/v1/offers/report", None).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let report = r.json();
        let line = |code: &str| report.as_array().unwrap().iter().find(|l| l["action"] == code).cloned().unwrap();
        assert_eq!(line("service_recovery_voucher")["offered"], 1, "{report}");
        assert_eq!(line("service_recovery_voucher")["accepted"], 1);
        assert_eq!(line("service_recovery_voucher")["acceptance_rate"], "100.0");
        assert_eq!(line("service_recovery_miles")["declined"], 1);
        assert_eq!(line("service_recovery_miles")["acceptance_rate"], "0.0");
        assert_eq!(line("upgrade_offer")["offered"], 0);
        assert!(line("upgrade_offer")["acceptance_rate"].is_null());
        let r = api_as(&app, ids::MARKETING_MANAGER, "GET", "/api/v1/offers/report?from=2020-01-01&to=2020-12-31", None).await;
        assert_eq!(line("service_recovery_voucher")["offered"], 1);
        assert_eq!(r.json()[0]["offered"], 0, "{}", r.text());
        let r = api_as(&app, ids::MARKETING_MANAGER, "GET", "/api/v1/offers/report?from=yesterday", None).await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(r.text().contains("/from"), "{}", r.text());

        // Least privilege: the offer permission is for the roles that serve customers.
        for role in [ids::CHECKIN_AGENT, ids::CABIN_CREW, ids::MARKETING_MANAGER, ids::DATA_ANALYST, ids::PASSENGER] {
            let r = api_as(&app, role, "GET", &path, None).await;
            assert_eq!(r.status, 403, "{role}: {}", r.text());
            let r = api_as(&app, role, "POST", &offers, Some(&json!({"action": "service_recovery_miles", "channel": "agent"}))).await;
            assert_eq!(r.status, 403, "{role}: {}", r.text());
        }
        for role in [ids::CONTACT_CENTRE_AGENT, ids::DATA_ANALYST] {
            let r = api_as(&app, role, "GET", "/api/v1/offers/report", None).await;
            assert_eq!(r.status, 403, "{role}");
        }
        for role in [ids::CUSTOMER_AFFAIRS_EXECUTIVE, ids::LOYALTY_MANAGER] {
            let r = api_as(&app, role, "GET", &path, None).await;
            assert_eq!(r.status, 200, "{role}: {}", r.text());
        }
        let r = api_as(&app, agent, "GET", &format!("/api/v1/customers/{}/next-best-action", aloft_travel::CustomerId::generate()), None).await;
        assert_eq!(r.status, 404, "{}", r.text());
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn offers_need_channel_consent() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        // Frequent economy flyer who never said anything about consent. A next best action
        // profiles the customer, and `personalisation` rests on consent alone: never asked is
        // no consent, so nothing is offered on any channel — not even the agent's consent
        // request — the agent is told why, and the decision is counted.
        let id = app
            .create_customer(json!({"first_name": "Tomas", "last_name": "Berg"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let cid = aloft_travel::CustomerId::parse(&id).unwrap();
        let records = (0..4)
            .map(|n| (cid, flown("BER001", n, 10 + n as i64 * 10, 0)))
            .collect();
        aloft_travel::TravelStore::new(
            app.test_db.db.clone(),
            std::sync::Arc::new(app.customers.clone()),
        )
        .record_many(records, &aloft_kernel::AccessContext::system("test"))
        .await
        .unwrap();
        let agent = ids::CONTACT_CENTRE_AGENT;
        let path = format!("/api/v1/customers/{id}/next-best-action");
        let offers = format!("/api/v1/customers/{id}/offers");
        let counted = not_personalised_count(&app, "no_consent").await;
        let nba = api_as(&app, agent, "GET", &path, None).await.json();
        assert!(nba["action"].is_null(), "{nba}");
        assert!(
            nba["explanation"]
                .as_str()
                .unwrap()
                .contains("no personalisation consent"),
            "{nba}"
        );
        assert!(
            nba["considered"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["outcome"] == "no_consent"
                    && c["reason"]
                        .as_str()
                        .unwrap()
                        .contains("no personalisation consent")),
            "{nba}"
        );
        assert!(
            not_personalised_count(&app, "no_consent").await > counted,
            "counted on /metrics"
        );
        // Push consent alone changes nothing: an upgrade offer by push is refused, naming the
        // consent it lacks.
        consent(&app, &id, "marketing_push", true).await;
        let nba = api_as(&app, agent, "GET", &path, None).await.json();
        assert!(nba["action"].is_null(), "{nba}");
        assert_eq!(outcome_of(&nba, "upgrade_offer"), "no_consent");
        let r = api_as(
            &app,
            agent,
            "POST",
            &offers,
            Some(&json!({"action": "upgrade_offer", "channel": "push"})),
        )
        .await;
        assert_eq!(r.status, 409, "{}", r.text());
        assert!(
            r.text().contains("/channel") && r.text().contains("personalisation"),
            "{}",
            r.text()
        );
        // Personalisation given: the upgrade offer goes out by push (e-mail still lacks its
        // marketing consent).
        consent(&app, &id, "personalisation", true).await;
        let nba = api_as(&app, agent, "GET", &path, None).await.json();
        assert_eq!(nba["action"]["code"], "upgrade_offer", "{nba}");
        assert_eq!(nba["action"]["channel"], "push", "{nba}");
        let r = api_as(
            &app,
            agent,
            "POST",
            &offers,
            Some(&json!({"action": "upgrade_offer", "channel": "email"})),
        )
        .await;
        assert_eq!(r.status, 409, "{}", r.text());
        assert!(
            r.text().contains("/channel") && r.text().contains("marketing_email"),
            "{}",
            r.text()
        );
        // Latency of the endpoint as a channel calls it (each call audited), printed for
        // BENCHMARKS; debug build, so only a loose bound is asserted.
        let mut took = Vec::new();
        for _ in 0..200 {
            let t = std::time::Instant::now();
            let r = api_as(&app, agent, "GET", &path, None).await;
            took.push(t.elapsed());
            assert_eq!(r.status, 200);
        }
        took.sort();
        eprintln!(
            "{backend:?}: next-best-action over HTTP, 200 calls: p50 {:?}, p99 {:?}",
            took[100], took[197]
        );
        assert!(took[197] < std::time::Duration::from_secs(2));
        // Restricted (Art. 18) with every consent still given: nothing again, and why.
        let counted = not_personalised_count(&app, "restricted").await;
        restrict(&app, &id).await;
        let nba = api_as(&app, agent, "GET", &path, None).await.json();
        assert!(nba["action"].is_null(), "{nba}");
        assert!(
            nba["explanation"]
                .as_str()
                .unwrap()
                .contains("processing restricted"),
            "{nba}"
        );
        assert!(not_personalised_count(&app, "restricted").await > counted);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn offer_now_tab_records_offers_and_answers_and_the_report_page_counts_them() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let id = disrupted_flyer(&app).await;
        let agent = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
        let tab = format!("/customers/{id}?tab=offer");

        let r = app.get_as(&agent, &tab).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let html = r.text();
        assert!(html.contains("Offer now"), "the tab is listed");
        assert!(html.contains("Service recovery: EUR 50 voucher"), "{html}");
        assert!(html.contains("two or more disruptions"), "the explanation is shown");
        assert!(html.contains("capped by frequency") || html.contains("not eligible"), "the others are explained");
        assert!(html.contains(&format!("action=\"/customers/{id}/offers\"")), "the offer form posts back");

        // Offered and accepted at once.
        let r = app
            .post_form_as(&agent, &format!("/customers/{id}/offers"), "action=service_recovery_voucher&channel=agent&outcome=accepted")
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        assert_eq!(r.header("location"), tab);
        assert!(r.header("set-cookie").contains("aloft_flash="), "a notice is carried");
        let voucher_status: String = sqlx::query_scalar("SELECT status FROM analytics_offers WHERE customer_id = $1 AND action = 'service_recovery_voucher'")
            .bind(&id)
            .fetch_one(app.test_db.db.pool())
            .await
            .unwrap();
        assert_eq!(voucher_status, "accepted");

        // The miles are next; offered with the answer pending, then declined from the list.
        let html = app.get_as(&agent, &tab).await.text();
        assert!(html.contains("Service recovery: 5,000 miles"), "{html}");
        let r = app
            .post_form_as(&agent, &format!("/customers/{id}/offers"), "action=service_recovery_miles&channel=agent&outcome=pending")
            .await;
        assert_eq!(r.status, 303);
        let html = app.get_as(&agent, &tab).await.text();
        let marker = "action=\"/offers/";
        let start = html.find(marker).expect("a pending offer with its answer form") + marker.len();
        let offer_id = html[start..start + html[start..].find('/').unwrap()].to_owned();
        let r = app.post_form_as(&agent, &format!("/offers/{offer_id}/outcome"), "outcome=declined").await;
        assert_eq!(r.status, 303);
        assert_eq!(r.header("location"), tab);
        let r = app.post_form_as(&agent, &format!("/offers/{offer_id}/outcome"), "outcome=accepted").await;
        assert_eq!(r.status, 303);
        let status: String = sqlx::query_scalar("SELECT status FROM analytics_offers WHERE id = $1")
            .bind(&offer_id)
            .fetch_one(app.test_db.db.pool())
            .await
            .unwrap();
        assert_eq!(status, "declined", "the second answer changed nothing");
        // Without the CSRF token nothing is recorded.
        let r = app
            .request("POST", &format!("/customers/{id}/offers"),
                &[("content-type", "application/x-www-form-urlencoded"), ("cookie", &agent.cookie)],
                Bytes::from("action=seat_offer&channel=email"))
            .await;
        assert_eq!(r.status, 403, "{}", r.text());

        // Roles without the permission neither see the tab nor post.
        let checkin = app.sign_in_as(ids::CHECKIN_AGENT).await;
        let r = app.post_form_as(&checkin, &format!("/customers/{id}/offers"), "action=seat_offer&channel=email").await;
        assert_eq!(r.status, 403);
        let marketing = app.sign_in_as(ids::MARKETING_MANAGER).await;
        let r = app.get_as(&marketing, &tab).await;
        assert!(r.status == 403 || r.status == 404, "{}", r.status);

        // The marketing manager's report.
        let r = app.get_as(&marketing, "/offers/report").await;
        assert_eq!(r.status, 200, "{}", r.text());
        let html = r.text();
        assert!(html.contains("id=\"offer-report\""), "{html}");
        assert!(html.contains("100.0 %") && html.contains("0.0 %"), "{html}");
        assert!(html.contains("50.0 %"), "total acceptance rate: {html}");
        let r = app.get_as(&marketing, "/offers/report?from=someday").await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("error-summary") && r.text().contains("f-from"), "{}", r.text());
        let r = app.get_as(&agent, "/offers/report").await;
        assert_eq!(r.status, 403);
        app.stop().await;
    })
    .await;
}

// ---- Incremental segment membership (issue 22, item 1 in part) -----------------------------

async fn member_count(app: &TestApp, segment: &str, customer: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM analytics_segment_members WHERE segment_id = $1 AND customer_id = $2",
    )
    .bind(segment)
    .bind(customer)
    .fetch_one(app.test_db.db.pool())
    .await
    .unwrap()
}

/// Waits (up to 5 s) until `customer`'s membership of `segment` is `want`; returns how long.
async fn until_member(
    app: &TestApp,
    segment: &str,
    customer: &str,
    want: i64,
) -> std::time::Duration {
    let start = std::time::Instant::now();
    while member_count(app, segment, customer).await != want {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "membership never became {want}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    start.elapsed()
}

#[tokio::test]
async fn a_profile_enters_and_leaves_a_saved_segment_within_a_second() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let mm = ids::MARKETING_MANAGER;
        let gold = json!({"name": "Gold members", "rule": {"field": "loyalty.tier", "op": "=", "value": "gold"}});
        let r = api_as(&app, mm, "POST", "/api/v1/segments", Some(&gold)).await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["members"], 0);
        let segment = r.json()["id"].as_str().unwrap().to_owned();

        // A new gold member enters.
        let customer = app
            .create_customer(json!({"first_name": "Rui", "last_name": "Gomes",
                "loyalty_number": "AL500000001", "loyalty_tier": "gold"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let entered = until_member(&app, &segment, &customer, 1).await;
        assert!(entered < std::time::Duration::from_secs(1), "entered after {entered:?}");
        let events = |ty: &'static str| {
            let (app, segment, customer) = (&app, segment.clone(), customer.clone());
            async move {
                let payloads: Vec<String> = sqlx::query_scalar("SELECT payload FROM outbox WHERE event_type = $1 AND subject = $2")
                    .bind(ty)
                    .bind(&segment)
                    .fetch_all(app.test_db.db.pool())
                    .await
                    .unwrap();
                payloads.iter().filter(|p| p.contains(&customer)).count()
            }
        };
        assert_eq!(events("aloft.segment.entered").await, 1);
        // Facts were stored for the preview too.
        let r = preview_as(&app, mm, &json!({"rule": {"field": "loyalty.tier", "op": "=", "value": "gold"}})).await;
        assert_eq!(r.json()["count"], 1, "{}", r.text());

        // Down to silver: they leave.
        let r = app
            .patch_json(&format!("/api/v1/customers/{customer}"), &json!({"loyalty_tier": "silver"}), Some("\"1\""))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let left = until_member(&app, &segment, &customer, 0).await;
        assert!(left < std::time::Duration::from_secs(1), "left after {left:?}");
        eprintln!("{backend:?}: entered after {entered:?}, left after {left:?}");
        // Let the tail see a few more polls: still exactly one entry and one exit.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(events("aloft.segment.entered").await, 1);
        assert_eq!(events("aloft.segment.left").await, 1);
        let r = api_as(&app, mm, "GET", &format!("/api/v1/segments/{segment}"), None).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["members"], 0);
        assert_eq!(r.json()["name"], "Gold members");

        // A segment saved later selects the current facts at once.
        let r = api_as(&app, mm, "POST", "/api/v1/segments",
            Some(&json!({"name": "Silver", "rule": {"field": "loyalty.tier", "op": "=", "value": "silver"}}))).await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["members"], 1, "{}", r.text());

        // Bad input is named; other roles may not.
        let r = api_as(&app, mm, "POST", "/api/v1/segments",
            Some(&json!({"rule": {"field": "loyalty.teir", "op": "=", "value": "gold"}}))).await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(r.text().contains("/name") && r.text().contains("/rule/field"), "{}", r.text());
        let r = api_as(&app, ids::CONTACT_CENTRE_AGENT, "POST", "/api/v1/segments", Some(&gold)).await;
        assert_eq!(r.status, 403);
        let r = api_as(&app, mm, "GET", "/api/v1/segments/no-such-segment", None).await;
        assert_eq!(r.status, 404);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn concurrent_offers_cannot_both_pass_the_frequency_cap() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let id = disrupted_flyer(&app).await;
        let offers = format!("/api/v1/customers/{id}/offers");
        let body = json!({"action": "service_recovery_voucher", "channel": "agent"});
        let post = || {
            api_as(
                &app,
                ids::CONTACT_CENTRE_AGENT,
                "POST",
                &offers,
                Some(&body),
            )
        };
        let (a, b, c, d) = tokio::join!(post(), post(), post(), post());
        let statuses: Vec<u16> = [a, b, c, d].iter().map(|r| r.status).collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            1,
            "{statuses:?}"
        );
        assert_eq!(
            statuses.iter().filter(|s| **s == 409).count(),
            3,
            "{statuses:?}"
        );
        let made: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM analytics_offers WHERE customer_id = $1")
                .bind(&id)
                .fetch_one(app.test_db.db.pool())
                .await
                .unwrap();
        assert_eq!(made, 1);
        app.stop().await;
    })
    .await;
}

// ---- Segment builder page and audiences (issue 22 item 1, issue 21 item 2) ------------------

#[tokio::test]
async fn segment_builder_counts_live_names_bad_rows_and_saves() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let facts: Vec<CustomerFacts> = (0..8)
            .map(|i| CustomerFacts {
                customer_id: format!("sb-{i}"),
                tier: Some(if i < 5 { "gold" } else { "blue" }.to_owned()),
                flights_12m: i,
                ..Default::default()
            })
            .collect();
        SegmentStore::new(app.test_db.db.clone())
            .put_facts(&facts, chrono::Utc::now())
            .await
            .unwrap();
        let mm = app.sign_in_as(ids::MARKETING_MANAGER).await;
        let r = app.get_as(&mm, "/segments/new").await;
        assert_eq!(r.status, 200, "{}", r.text());
        let html = r.text();
        assert!(html.contains("hx-post=\"/segments/count\"") && html.contains("hx-trigger=\"change delay:300ms\""), "{html}");
        assert!(html.contains("Loyalty tier (loyalty.tier)") && html.contains("id=\"f-c0-field\""), "{html}");
        assert!(html.contains("role=\"status\""), "the count is announced");

        // The live count (what htmx posts on change).
        let r = app
            .post_form_as(&mm, "/segments/count", "join=all&rows=2&c0_field=loyalty.tier&c0_op=%3D&c0_value=gold&c1_field=travel.flights_12m&c1_op=%3E%3D&c1_value=2")
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.text().contains(">3</strong>"), "{}", r.text());
        let r = app.post_form_as(&mm, "/segments/count", "join=any&rows=2&c0_field=loyalty.tier&c0_op=%3D&c0_value=gold&c1_field=travel.flights_12m&c1_op=%3E%3D&c1_value=7").await;
        assert!(r.text().contains(">6</strong>"), "{}", r.text());

        // Adding and removing rows posts the form back.
        let r = app.post_form_as(&mm, "/segments/new", "name=X&join=all&rows=1&c0_field=loyalty.tier&c0_op=%3D&c0_value=gold&add=top").await;
        assert_eq!(r.status, 200);
        assert!(r.text().contains("id=\"f-c1-field\"") && r.text().contains("Remove condition 2"), "{}", r.text());
        let r = app.post_form_as(&mm, "/segments/new", "name=X&join=all&rows=2&c0_field=loyalty.tier&c0_op=%3D&c0_value=gold&c1_field=&remove=1").await;
        assert!(!r.text().contains("id=\"f-c1-field\""), "{}", r.text());

        // Groups: "all of: gold, and any of: ≥ 6 flights or ≤ 1 flight" — a group is a
        // fieldset with its own join and numbered conditions, counted live like the rest.
        let r = app.post_form_as(&mm, "/segments/new", "name=X&join=all&rows=1&c0_field=loyalty.tier&c0_op=%3D&c0_value=gold&add_group=top").await;
        assert_eq!(r.status, 200);
        let html = r.text();
        assert!(html.contains("<legend>Group 2</legend>") && html.contains("id=\"f-c1-join\"") && html.contains("id=\"f-c1-0-field\""), "{html}");
        assert!(html.contains("Add a condition to group 2") && html.contains("Remove group 2") && html.contains("Condition 2.1"), "{html}");
        // Each add button lands the page on what it adds (keyboard users continue there).
        assert!(html.contains("formaction=\"/segments/new#c1-1-item\"") && html.contains("id=\"c1-0-item\""), "{html}");
        let grouped = "join=all&rows=2&c0_field=loyalty.tier&c0_op=%3D&c0_value=gold&c1_kind=group&c1_join=any&c1_rows=2\
            &c1-0_field=travel.flights_12m&c1-0_op=%3E%3D&c1-0_value=4&c1-1_field=travel.flights_12m&c1-1_op=%3C%3D&c1-1_value=1";
        let r = app.post_form_as(&mm, "/segments/count", grouped).await;
        assert!(r.text().contains(">3</strong>"), "sb-0, sb-1, sb-4: {}", r.text());
        let none = grouped.replace("c1_join=any", "c1_join=none");
        let r = app.post_form_as(&mm, "/segments/count", &none).await;
        assert!(r.text().contains(">2</strong>"), "sb-2, sb-3: {}", r.text());
        let r = app.post_form_as(&mm, "/segments/new", &format!("name=X&{grouped}&add=1")).await;
        assert!(r.text().contains("id=\"f-c1-2-field\""), "a third condition in the group: {}", r.text());
        let r = app.post_form_as(&mm, "/segments/new", &format!("name=X&{grouped}&remove=1")).await;
        assert!(!r.text().contains("id=\"f-c1-join\""), "the group is gone: {}", r.text());
        // A bad value inside a group is named on its control, as "Condition 2.2".
        let bad = grouped.replace("c1-1_value=1", "c1-1_value=few");
        let r = app.post_form_as(&mm, "/segments/new", &format!("name=Grouped&{bad}&save=1")).await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(r.text().contains("href=\"#f-c1-1-value\"") && r.text().contains("Condition 2.2"), "{}", r.text());
        let r = app.post_form_as(&mm, "/segments/new", &format!("name=Grouped&{grouped}&save=1")).await;
        assert_eq!(r.status, 303, "{}", r.text());
        let grouped_id = r.header("location").trim_start_matches("/segments/").to_owned();
        let v = api_as(&app, ids::MARKETING_MANAGER, "GET", &format!("/api/v1/segments/{grouped_id}"), None).await.json();
        assert_eq!(v["members"], 3, "{v}");
        assert_eq!(v["rule"]["all"][1]["any"][1]["op"], "<=", "{v}");
        // It opens in the form again, group and all.
        let html = app.get_as(&mm, &format!("/segments/{grouped_id}/edit")).await.text();
        assert!(html.contains("id=\"f-c1-1-value\"") && html.contains("<legend>Group 2</legend>"), "{html}");
        sqlx::query("DELETE FROM analytics_segment_members WHERE segment_id = $1").bind(&grouped_id).execute(app.test_db.db.pool()).await.unwrap();
        sqlx::query("DELETE FROM analytics_segments WHERE id = $1").bind(&grouped_id).execute(app.test_db.db.pool()).await.unwrap();

        // Bad rows are named next to their control and in the summary; nothing is saved.
        let r = app.post_form_as(&mm, "/segments/new", "name=&join=all&rows=3&c0_field=loyalty.tier&c0_op=%3D&c0_value=gold&c1_field=loyalty.teir&c1_op=%3D&c1_value=gold&c2_field=travel.flights_12m&c2_op=%3E%3D&c2_value=many&save=1").await;
        assert_eq!(r.status, 422, "{}", r.text());
        let html = r.text();
        assert!(html.contains("error-summary"), "{html}");
        assert!(html.contains("href=\"#f-c1-field\"") && html.contains("href=\"#f-c2-value\"") && html.contains("href=\"#f-name\""), "{html}");
        assert!(html.contains("id=\"f-c1-field-error\"") && html.contains("loyalty.teir"), "{html}");
        assert!(html.contains("Condition 3") && html.contains("integer"), "{html}");
        let saved: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM analytics_segments").fetch_one(app.test_db.db.pool()).await.unwrap();
        assert_eq!(saved, 0);

        // Saved: members selected at once; listed with the size.
        let r = app.post_form_as(&mm, "/segments/new", "name=Frequent+gold&join=all&rows=2&c0_field=loyalty.tier&c0_op=%3D&c0_value=gold&c1_field=travel.flights_12m&c1_op=%3E%3D&c1_value=2&save=1").await;
        assert_eq!(r.status, 303, "{}", r.text());
        assert!(r.header("location").starts_with("/segments/"));
        let html = app.get_as(&mm, "/segments").await.text();
        assert!(html.contains("Frequent gold") && html.contains("id=\"segments\""), "{html}");
        assert!(html.contains(">3<"), "{html}");
        let html = app.get_as(&mm, r.header("location")).await.text();
        assert!(html.contains("travel.flights_12m"), "{html}");

        // Edited from the page: the form comes back filled; the new rule's members at once.
        let segment = r.header("location").trim_start_matches("/segments/").to_owned();
        let html = app.get_as(&mm, &format!("/segments/{segment}/edit")).await.text();
        assert!(html.contains("value=\"Frequent gold\"") && html.contains("value=\"gold\""), "{html}");
        assert!(html.contains(&format!("action=\"/segments/{segment}/edit\"")), "{html}");
        let r = app.post_form_as(&mm, &format!("/segments/{segment}/edit"), "name=Frequent+gold&join=all&rows=2&c0_field=loyalty.tier&c0_op=%3D&c0_value=gold&c1_field=travel.flights_12m&c1_op=%3E%3D&c1_value=4&save=1").await;
        assert_eq!(r.status, 303, "{}", r.text());
        let api = ids::MARKETING_MANAGER;
        let v = api_as(&app, api, "GET", &format!("/api/v1/segments/{segment}"), None).await.json();
        assert_eq!((v["members"].as_i64(), v["version"].as_i64()), (Some(1), Some(2)), "{v}");
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE event_type = 'aloft.segment.left' AND subject = $1")
            .bind(&segment).fetch_one(app.test_db.db.pool()).await.unwrap();
        assert_eq!(left, 2);
        // And through the API: PUT replaces; bad rules and unknown segments are named.
        let r = api_as(&app, api, "PUT", &format!("/api/v1/segments/{segment}"),
            Some(&json!({"name": "All gold", "rule": {"field": "loyalty.tier", "op": "=", "value": "gold"}}))).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!((r.json()["members"].as_i64(), r.json()["version"].as_i64()), (Some(5), Some(3)));
        let r = api_as(&app, api, "PUT", &format!("/api/v1/segments/{segment}"),
            Some(&json!({"name": "x", "rule": {"all": [{"field": "loyalty.teir", "op": "=", "value": "gold"}]}}))).await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("/rule/all/0/field"), "{}", r.text());
        let r = api_as(&app, api, "PUT", "/api/v1/segments/nope",
            Some(&json!({"name": "x", "rule": {"field": "loyalty.tier", "op": "=", "value": "gold"}}))).await;
        assert_eq!(r.status, 404);
        let r = api_as(&app, ids::CONTACT_CENTRE_AGENT, "PUT", &format!("/api/v1/segments/{segment}"),
            Some(&json!({"name": "x", "rule": {"field": "loyalty.tier", "op": "=", "value": "gold"}}))).await;
        assert_eq!(r.status, 403);

        // Least privilege: the loyalty manager builds; an agent and the check-in agent do not.
        let lm = app.sign_in_as(ids::LOYALTY_MANAGER).await;
        assert_eq!(app.get_as(&lm, "/segments/new").await.status, 200);
        for role in [ids::CONTACT_CENTRE_AGENT, ids::CHECKIN_AGENT] {
            let s = app.sign_in_as(role).await;
            assert_eq!(app.get_as(&s, "/segments").await.status, 403, "{role}");
            assert_eq!(app.post_form_as(&s, "/segments/count", "rows=1&c0_field=loyalty.tier&c0_op=%3D&c0_value=gold").await.status, 403, "{role}");
        }
        app.stop().await;
    })
    .await;
}

async fn consent(app: &TestApp, customer: &str, purpose: &str, granted: bool) {
    let r = api_as(
        app,
        ids::CONTACT_CENTRE_AGENT,
        "POST",
        &format!("/api/v1/customers/{customer}/consents"),
        Some(&json!({"purpose": purpose, "granted": granted, "source": "contact_centre", "proof": "call 5512"})),
    )
    .await;
    assert!(r.status < 300, "{}", r.text());
}

#[tokio::test]
async fn audiences_leave_out_members_without_consent_count_them_and_are_audited() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        // Four gold members: A consents, B consented then withdrew, C never did, D consents
        // but has no e-mail address.
        let mut ids_ = Vec::new();
        for (i, email) in ["ana.a@example.com", "bea.b@example.com", "cai.c@example.com", ""].into_iter().enumerate() {
            let mut body = json!({"first_name": "Ana", "last_name": (["Alves", "Brito", "Cunha", "Dias"][i]),
                "loyalty_number": format!("AL60000000{i}"), "loyalty_tier": "gold"});
            if !email.is_empty() {
                body["email"] = json!(email);
            }
            ids_.push(app.create_customer(body).await["id"].as_str().unwrap().to_owned());
        }
        let (a, b, c, d) = (&ids_[0], &ids_[1], &ids_[2], &ids_[3]);
        consent(&app, a, "marketing_email", true).await;
        consent(&app, b, "marketing_email", true).await;
        consent(&app, b, "marketing_email", false).await;
        consent(&app, d, "marketing_email", true).await;
        SegmentStore::new(app.test_db.db.clone()).rebuild(chrono::Utc::now()).await.unwrap();
        let mm = ids::MARKETING_MANAGER;
        let r = api_as(&app, mm, "POST", "/api/v1/segments",
            Some(&json!({"name": "Gold", "rule": {"field": "loyalty.tier", "op": "=", "value": "gold"}}))).await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["members"], 4);
        let segment = r.json()["id"].as_str().unwrap().to_owned();
        member_masks_agree(&app, "when the segment is saved").await;

        // CSV: only A; B and C excluded for consent, D for the missing address.
        let csv_path = format!("/api/v1/segments/{segment}/audience.csv?purpose=marketing_email");
        let r = api_as(&app, mm, "GET", &csv_path, None).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.header("content-type").starts_with("text/csv"));
        assert_eq!(r.header("aloft-excluded-no-consent"), "2");
        assert_eq!(r.header("aloft-excluded-no-contact"), "1");
        assert_eq!(r.header("aloft-members"), "4");
        assert_eq!(r.header("aloft-released"), "1");
        assert_eq!(r.text(), format!("customer_id,email\r\n{a},ana.a@example.com\r\n"));
        let export_id = r.header("aloft-export-id").to_owned();
        // Audited: the one release (A) and the export with its purpose; the counts in its row.
        let released: Vec<String> = sqlx::query_scalar("SELECT resource_id FROM audit_log WHERE action = 'audience.member_released'")
            .fetch_all(app.test_db.db.pool()).await.unwrap();
        assert_eq!(released, vec![a.clone()]);
        let purpose: Option<String> = sqlx::query_scalar("SELECT purpose FROM audit_log WHERE action = 'audience.exported' AND resource_id = $1")
            .bind(&export_id).fetch_one(app.test_db.db.pool()).await.unwrap();
        assert_eq!(purpose.as_deref(), Some("marketing_email"));
        assert_eq!(count(&app, "SELECT excluded_no_consent FROM analytics_audience_exports WHERE id = $1", &export_id).await, 2);

        // Push needs no contact: A and D.
        let r = api_as(&app, mm, "GET", &format!("/api/v1/segments/{segment}/audience.csv?purpose=marketing_push"), None).await;
        assert_eq!(r.header("aloft-excluded-no-consent"), "4", "nobody consented to push");
        assert_eq!(r.text(), "customer_id\r\n");

        // Published to the marketing platform: ids only, in the outbox (relayed to NATS).
        let r = api_as(&app, mm, "POST", &format!("/api/v1/segments/{segment}/audience/publish"), Some(&json!({"purpose": "marketing_email"}))).await;
        assert_eq!(r.status, 202, "{}", r.text());
        assert_eq!(r.json()["released"], 2);
        assert_eq!(r.json()["excluded_no_consent"], 2);
        let payloads: Vec<String> = sqlx::query_scalar("SELECT payload FROM outbox WHERE event_type = 'aloft.audience.published' AND subject = $1")
            .bind(&segment).fetch_all(app.test_db.db.pool()).await.unwrap();
        assert_eq!(payloads.len(), 1);
        let p = &payloads[0];
        assert!(p.contains(a.as_str()) && p.contains(d.as_str()) && !p.contains(b.as_str()) && !p.contains(c.as_str()), "{p}");
        assert!(!p.contains('@'), "no contact in events: {p}");
        let exports = count(&app, "SELECT COUNT(*) FROM analytics_audience_exports WHERE segment_id = $1", &segment).await;
        assert_eq!(exports, 3);

        // Withdrawing consent later leaves A out of the next export; D's processing restricted
        // (Art. 18) leaves D out for consent too, whatever the consent says.
        consent(&app, a, "marketing_email", false).await;
        restrict(&app, d).await;
        member_masks_agree(&app, "after a withdrawal and a restriction").await;
        let r = api_as(&app, mm, "GET", &csv_path, None).await;
        assert_eq!(r.header("aloft-excluded-no-consent"), "4");
        assert_eq!(r.header("aloft-excluded-no-contact"), "0");
        assert_eq!(r.text(), "customer_id,email\r\n");

        // The page says it.
        let s = app.sign_in_as(mm).await;
        let html = app.get_as(&s, &format!("/segments/{segment}?purpose=marketing_email")).await.text();
        assert!(html.contains("4 of 4") && html.contains("members excluded: no consent"), "{html}");
        assert!(html.contains("Download CSV"), "{html}");
        let r = app.post_form_as(&s, &format!("/segments/{segment}/audience/publish"), "purpose=marketing_email").await;
        assert_eq!(r.status, 303, "{}", r.text());

        // Bad input; roles without the permission.
        let r = api_as(&app, mm, "GET", &format!("/api/v1/segments/{segment}/audience.csv"), None).await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("/purpose"), "{}", r.text());
        let r = api_as(&app, mm, "GET", "/api/v1/segments/nope/audience.csv?purpose=marketing_email", None).await;
        assert_eq!(r.status, 404);
        for role in [ids::LOYALTY_MANAGER, ids::CONTACT_CENTRE_AGENT, ids::DATA_ANALYST] {
            let r = api_as(&app, role, "GET", &csv_path, None).await;
            assert_eq!(r.status, 403, "{role}");
            let r = api_as(&app, role, "POST", &format!("/api/v1/segments/{segment}/audience/publish"), Some(&json!({"purpose": "marketing_email"}))).await;
            assert_eq!(r.status, 403, "{role}");
        }
        let lm = app.sign_in_as(ids::LOYALTY_MANAGER).await;
        let html = app.get_as(&lm, &format!("/segments/{segment}")).await.text();
        assert!(!html.contains("Download CSV"), "{html}");
        assert_eq!(app.get_as(&lm, &format!("/segments/{segment}/audience.csv?purpose=marketing_email")).await.status, 403);

        // The marketing dashboard: the segment's size and the exports with their exclusions.
        let r = app.get_as(&s, "/analytics/marketing").await;
        assert_eq!(r.status, 200, "{}", r.text());
        let html = r.text();
        assert!(html.contains("Customers per saved segment") && html.contains(">Gold<"), "{html}");
        assert!(html.contains("id=\"audience-exports\"") && html.contains("marketing platform"), "{html}");
        assert!(html.contains("Offers by action"), "{html}");
        // Left out for consent: 2 (CSV) + 4 (push) + 2 (publish) + 4 (CSV) + 4 (page publish).
        assert!(html.contains(">16<"), "left out for lack of consent, summed: {html}");
        let r = app.get_as(&s, "/analytics/marketing?from=someday").await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("f-from"), "{}", r.text());
        let agent = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
        assert_eq!(app.get_as(&agent, "/analytics/marketing").await.status, 403);
        app.stop().await;
    })
    .await;
}

// ---- Restriction and objection in segments (issue 22 item 1 with issue 21, GDPR Art. 18) ------

/// Every segment member row's consent mask equals its customer's facts row's (migration 0058:
/// audiences read the member rows' copy), after whatever changed consent or membership.
async fn member_masks_agree(app: &TestApp, when: &str) {
    let stale: Vec<(String, String)> = sqlx::query_as(
        "SELECT m.segment_id, m.customer_id FROM analytics_segment_members m \
         LEFT JOIN analytics_customer_facts f ON f.customer_id = m.customer_id \
         WHERE m.consent_allowed <> COALESCE(f.consent_allowed, 0)",
    )
    .fetch_all(app.test_db.db.pool())
    .await
    .unwrap();
    assert!(
        stale.is_empty(),
        "member masks differ from facts {when}: {stale:?}"
    );
}

/// Restricts `customer`'s processing the way the privacy officer does: a restriction request
/// taken through identity verification to completion.
async fn restrict(app: &TestApp, customer: &str) {
    let dpo = ids::DATA_PRIVACY_OFFICER;
    let r = api_as(app, dpo, "POST", "/api/v1/privacy/requests",
        Some(&json!({"customer_id": customer, "kind": "restriction", "channel": "email", "details": "disputed address"}))).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    for step in [
        json!({"to": "identity_verified", "note": "passport checked"}),
        json!({"to": "in_progress"}),
        json!({"to": "completed", "note": "restricted until settled"}),
    ] {
        let r = api_as(
            app,
            dpo,
            "POST",
            &format!("/api/v1/privacy/requests/{id}/transitions"),
            Some(&step),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
}

#[tokio::test]
async fn a_restricted_person_with_marketing_consent_is_in_no_consent_segment_and_counted_out_of_audiences()
 {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let mm = ids::MARKETING_MANAGER;
        // Rita and Kai are gold and consent to marketing e-mail; Rita's processing gets
        // restricted (Art. 18), which privacy records on her facts row's consent mask.
        let mut people = Vec::new();
        for (i, (first, email)) in [("Rita", "rita.r@example.com"), ("Kai", "kai.k@example.com")].into_iter().enumerate() {
            let id = app.create_customer(json!({"first_name": first, "last_name": "Zqrestrict", "email": email,
                "loyalty_number": format!("AL70000000{i}"), "loyalty_tier": "gold"})).await["id"].as_str().unwrap().to_owned();
            consent(&app, &id, "marketing_email", true).await;
            people.push(id);
        }
        let (rita, kai) = (people[0].clone(), people[1].clone());
        let store = SegmentStore::new(app.test_db.db.clone());
        store.rebuild(chrono::Utc::now()).await.unwrap();
        let may_email = json!({"field": "consent.marketing_email", "op": "=", "value": true});
        let r = api_as(&app, mm, "POST", "/api/v1/segments", Some(&json!({"name": "May e-mail", "rule": may_email}))).await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["members"], 2, "both consent, neither restricted yet");
        let emailable = r.json()["id"].as_str().unwrap().to_owned();
        let r = api_as(&app, mm, "POST", "/api/v1/segments",
            Some(&json!({"name": "Gold", "rule": {"field": "loyalty.tier", "op": "=", "value": "gold"}}))).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let gold = r.json()["id"].as_str().unwrap().to_owned();

        restrict(&app, &rita).await;
        // The live preview leaves her out at once (the rule reads the mask privacy keeps) …
        let r = preview_as(&app, mm, &json!({"rule": may_email})).await;
        assert_eq!(r.json()["count"], 1, "{}", r.text());
        let r = preview_as(&app, mm, &json!({"rule": {"field": "consent.marketing_email", "op": "=", "value": false}})).await;
        assert_eq!(r.json()["count"], 1, "restricted counts as not allowed: {}", r.text());
        // … the saved segment loses her from the restriction's event, with `segment.left` …
        until_member(&app, &emailable, &rita, 0).await;
        assert_eq!(member_count(&app, &emailable, &kai).await, 1);
        member_masks_agree(&app, "after the restriction").await;
        let left: Vec<String> = sqlx::query_scalar("SELECT payload FROM outbox WHERE event_type = 'aloft.segment.left' AND subject = $1")
            .bind(&emailable).fetch_all(app.test_db.db.pool()).await.unwrap();
        assert!(left.len() == 1 && left[0].contains(&rita), "{left:?}");
        // … and the full derivation agrees (it read the consent state alone before).
        store.rebuild(chrono::Utc::now()).await.unwrap();
        assert_eq!(member_count(&app, &emailable, &rita).await, 0);
        assert_eq!(count(&app, "SELECT consent_marketing_email FROM analytics_customer_facts WHERE customer_id = $1", &rita).await, 0);
        assert_eq!(count(&app, "SELECT consent_allowed FROM analytics_customer_facts WHERE customer_id = $1", &rita).await & 1, 0);

        // She stays a gold member; an e-mail audience of the gold segment leaves her out and
        // counts her.
        assert_eq!(member_count(&app, &gold, &rita).await, 1);
        let r = api_as(&app, mm, "GET", &format!("/api/v1/segments/{gold}/audience.csv?purpose=marketing_email"), None).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("aloft-members"), "2");
        assert_eq!(r.header("aloft-released"), "1");
        assert_eq!(r.header("aloft-excluded-no-consent"), "1");
        assert_eq!(r.text(), "customer_id,email\r\n".to_owned() + &kai + ",kai.k@example.com\r\n");
        let s = app.sign_in_as(mm).await;
        let html = app.get_as(&s, &format!("/segments/{gold}?purpose=marketing_email")).await.text();
        assert!(html.contains("1 of 2") && html.contains("members excluded: no consent"), "{html}");

        // Lifted (Art. 18(3)): she may be e-mailed again and comes back.
        let r = api_as(&app, ids::DATA_PRIVACY_OFFICER, "POST", &format!("/api/v1/customers/{rita}/restriction/lift"),
            Some(&json!({"reason": "address settled, told by letter"}))).await;
        assert_eq!(r.status, 200, "{}", r.text());
        until_member(&app, &emailable, &rita, 1).await;
        member_masks_agree(&app, "after the restriction was lifted").await;
        let r = preview_as(&app, mm, &json!({"rule": may_email})).await;
        assert_eq!(r.json()["count"], 2, "{}", r.text());
        app.stop().await;
    })
    .await;
}
