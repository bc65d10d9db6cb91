//! The lake export (`aloft export parquet`), run as the real command against a live instance on
//! both backends, its files read back by DuckDB (PyPI `duckdb`): every table is there with the
//! right counts and types, no direct identifier is in any file, and a second run exports only
//! what changed.

mod common;

use std::path::Path;
use std::process::Command;

use chrono::{Duration, Utc};
use common::{Extras, TestApp, on_each_backend};
use serde_json::{Value, json};

use aloft_access::KeySource;
use aloft_customers::CustomerId;
use aloft_kernel::AccessContext;
use aloft_travel::{Record, RecordKind, TravelStore};

/// Values that must never appear in a lake file.
const CANARIES: &[&str] = &[
    "Zebedee",
    "Canaryfield",
    "ZEBEDEE",
    "CANARYFIELD",
    "zebedee.canary@example.org",
    "+447700900123",
    "7700900123",
    "CNR123456",
    "AL900000001",
    "1980-05-01",
    "CNRY01",
    "1761234567890",
    "Canary subject line",
    "canary body text",
    "canary feedback text",
];

/// Runs `aloft export parquet` on the instance's database with its keys.
///
/// The command waits on a thread of its own: the in-process server shares this test's runtime,
/// and blocking it would stop a write the server has begun, so the command's own audit write
/// would wait on the SQLite lock until it timed out.
async fn export(settings_url: &str, keys: &(String, String), out: &Path) -> String {
    let (url, keys, out) = (settings_url.to_owned(), keys.clone(), out.to_path_buf());
    tokio::task::spawn_blocking(move || export_blocking(&url, &keys, &out))
        .await
        .expect("the export thread")
}

fn export_blocking(settings_url: &str, keys: &(String, String), out: &Path) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_aloft"))
        // Nothing is written while the test exports: no need to stay behind the present.
        .args([
            "export",
            "parquet",
            "--settle-ms",
            "0",
            "--database-url",
            settings_url,
        ])
        .arg("--output")
        .arg(out)
        .env("ALOFT_MASTER_KEY", &keys.0)
        .env("ALOFT_INDEX_KEY", &keys.1)
        .env("ALOFT_LOG", "warn")
        .output()
        .expect("aloft runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "export failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Reads the lake with DuckDB: per table, its rows and columns, every value as text (a table
/// no export wrote a file of has neither).
fn read_lake(out: &Path) -> Value {
    let script = r#"
import duckdb, glob, json, sys
out = sys.argv[1]
c = duckdb.connect()
result = {}
for table in ["customers", "flight_segments", "interactions", "left_out"]:
    if not glob.glob(f"{out}/{table}/*/*.parquet"):
        result[table] = {"columns": [], "rows": []}
        continue
    rel = c.sql(f"SELECT * FROM read_parquet('{out}/{table}/*/*.parquet', hive_partitioning=true, union_by_name=true)")
    rows = rel.fetchall()
    result[table] = {
        "columns": [[n, str(t)] for n, t in zip(rel.columns, rel.types)],
        "rows": [[None if v is None else str(v) for v in row] for row in rows],
    }
print(json.dumps(result))
"#;
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(out)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "DuckDB could not read the lake (pip install duckdb): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON from the reader")
}

fn rows(lake: &Value, table: &str) -> Vec<Vec<Value>> {
    lake[table]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().clone())
        .collect()
}

fn column<'a>(lake: &Value, table: &str, row: &'a [Value], name: &str) -> &'a Value {
    let i = lake[table]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c[0] == name)
        .unwrap_or_else(|| panic!("{table}.{name} exists"));
    &row[i]
}

/// An instance whose keys the test knows (the export command opens them), and those keys.
async fn spawn_with_keys(backend: aloft_kernel::Backend) -> (TestApp, (String, String)) {
    let keys = (
        aloft_security::MasterKey::generate()
            .export_base64()
            .to_string(),
        aloft_security::IndexKey::generate()
            .export_base64()
            .to_string(),
    );
    let app = TestApp::spawn_full(
        backend,
        |s| s,
        None,
        Extras {
            keys: Some(KeySource::Values {
                master: zeroize::Zeroizing::new(keys.0.clone()),
                index: zeroize::Zeroizing::new(keys.1.clone()),
            }),
            ..Extras::default()
        },
    )
    .await;
    (app, keys)
}

#[tokio::test]
async fn the_lake_export_is_pseudonymised_partitioned_and_incremental() {
    on_each_backend(|backend| async move {
        let (app, keys) = spawn_with_keys(backend).await;
        let zeb = app
            .create_customer(json!({
                "first_name": "Zebedee", "last_name": "Canaryfield",
                "email": "zebedee.canary@example.org", "phone": "+447700900123",
                "passport_number": "CNR123456", "passport_expiry": "2031-01-01",
                "date_of_birth": "1980-05-01", "nationality": "GB",
                "loyalty_number": "AL900000001", "loyalty_tier": "gold",
                "location": {"home_airport": "LHR"}, "preferences": {"meal": "VGML"}
            }))
            .await;
        let zeb_id = zeb["id"].as_str().unwrap().to_owned();
        let other = app
            .create_customer(json!({"first_name": "Ana", "last_name": "Silva", "nationality": "PT"}))
            .await;
        let other_id = other["id"].as_str().unwrap().to_owned();

        let travel = TravelStore::new(
            app.test_db.db.clone(),
            std::sync::Arc::new(app.customers.clone()),
        );
        let departure = Utc::now() + Duration::days(3);
        let local = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M").to_string();
        let booking = Record::parse(
            RecordKind::Booking,
            &json!({"source": "gds", "source_record_id": "CNRY01-1", "record_locator": "CNRY01",
                "segments": [
                    {"flight_number": "BA117", "origin": "LHR", "destination": "JFK",
                     "scheduled_departure_local": local(departure),
                     "scheduled_arrival_local": local(departure + Duration::hours(3)),
                     "cabin": "business", "rbd": "J", "status": "scheduled", "seat": "2A",
                     "ticket_number": "1761234567890"},
                    {"flight_number": "BA178", "origin": "JFK", "destination": "LHR",
                     "scheduled_departure_local": local(departure + Duration::days(7)),
                     "scheduled_arrival_local": local(departure + Duration::days(7) + Duration::hours(7)),
                     "cabin": "business", "rbd": "J", "status": "scheduled"}]}),
        )
        .unwrap();
        let call = Record::parse(
            RecordKind::Interaction,
            &json!({"source": "genesys", "source_record_id": "call-1", "channel": "call",
                "direction": "inbound", "occurred_at": (Utc::now() - Duration::days(2)).to_rfc3339(),
                "subject": "Canary subject line", "body": "canary body text",
                "duration_seconds": 240}),
        )
        .unwrap();
        let feedback = Record::parse(
            RecordKind::Feedback,
            &json!({"source": "survey", "source_record_id": "fb-1", "kind": "complaint",
                "submitted_at": (Utc::now() - Duration::days(1)).to_rfc3339(),
                "text": "canary feedback text", "rating": 2}),
        )
        .unwrap();
        let id = |s: &str| CustomerId::parse(s).unwrap();
        travel
            .record_many(
                vec![(id(&zeb_id), booking), (id(&zeb_id), call), (id(&zeb_id), feedback)],
                &AccessContext::system("test"),
            )
            .await
            .unwrap();

        let dir = tempfile_dir();
        let url = &app.test_db.settings.url;
        let said = export(url, &keys, &dir).await;
        assert!(said.starts_with("First export"), "{said}");
        let lake = read_lake(&dir);
        let customers = rows(&lake, "customers");
        let segments = rows(&lake, "flight_segments");
        let interactions = rows(&lake, "interactions");
        assert_eq!(customers.len(), 2, "{lake}");
        assert_eq!(segments.len(), 2, "{lake}");
        assert_eq!(interactions.len(), 2, "{lake}");

        // No direct identifier anywhere: not the canaries, not Aloft's own customer ids.
        let everything = lake.to_string();
        for canary in CANARIES.iter().copied().chain([zeb_id.as_str(), other_id.as_str()]) {
            assert!(!everything.contains(canary), "{canary} leaked into the lake");
        }
        // What is there: a pseudonym that joins the tables, an age band, the route.
        let zeb_row = customers
            .iter()
            .find(|r| column(&lake, "customers", r, "loyalty_tier") == "gold")
            .expect("the gold customer");
        let pseudonym = column(&lake, "customers", zeb_row, "customer").clone();
        assert_eq!(pseudonym.as_str().unwrap().len(), 32);
        assert_eq!(column(&lake, "customers", zeb_row, "age_band"), "45-54");
        assert_eq!(column(&lake, "customers", zeb_row, "home_airport"), "LHR");
        assert!(segments.iter().all(|r| column(&lake, "flight_segments", r, "customer") == &pseudonym));
        let outbound = segments
            .iter()
            .find(|r| column(&lake, "flight_segments", r, "flight_number") == "BA117")
            .unwrap();
        assert_eq!(
            column(&lake, "flight_segments", outbound, "date"),
            &json!((departure.date_naive()).to_string()),
            "partitioned by departure day"
        );
        let kinds: Vec<&Value> = interactions
            .iter()
            .map(|r| column(&lake, "interactions", r, "kind"))
            .collect();
        assert!(kinds.contains(&&json!("interaction")) && kinds.contains(&&json!("complaint")));
        let types = lake["flight_segments"]["columns"].to_string();
        assert!(types.contains("TIMESTAMP WITH TIME ZONE"), "{types}");

        // Incremental: nothing changed, nothing written; one profile changes, one row follows.
        let said = export(url, &keys, &dir).await;
        assert!(said.contains("nothing changed"), "{said}");
        let current = app.get(&format!("/api/v1/customers/{other_id}")).await;
        let etag = current.header("etag").to_owned();
        let patched = app
            .patch_json(
                &format!("/api/v1/customers/{other_id}"),
                &json!({"loyalty_tier": "silver"}),
                Some(&etag),
            )
            .await;
        assert_eq!(patched.status, 200, "{}", patched.text());
        let said = export(url, &keys, &dir).await;
        assert!(said.contains("Incremental export") && said.contains("1 customers"), "{said}");
        let lake = read_lake(&dir);
        assert_eq!(rows(&lake, "customers").len(), 3, "the changed profile again, newest last");
        assert_eq!(rows(&lake, "flight_segments").len(), 2);

        // Every export is in the audit trail.
        let audited: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'lake.exported'")
                .fetch_one(app.test_db.db.pool())
                .await
                .unwrap();
        assert_eq!(audited, 3);
        std::fs::remove_dir_all(&dir).unwrap();
        app.stop().await;
    })
    .await;
}

async fn call(app: &TestApp, role: &str, method: &str, path: &str, body: &Value) -> common::Reply {
    app.request(
        method,
        path,
        &[
            ("authorization", app.role_tokens.get(role)),
            ("content-type", "application/json"),
        ],
        bytes::Bytes::from(body.to_string()),
    )
    .await
}

/// Takes a data-subject request of `kind` for `customer` through to completion as the privacy
/// officer does, `completion` being the completing transition.
async fn complete_request(app: &TestApp, customer: &str, kind: &str, completion: Value) {
    let dpo = aloft::roles::ids::DATA_PRIVACY_OFFICER;
    let r = call(
        app,
        dpo,
        "POST",
        "/api/v1/privacy/requests",
        &json!({"customer_id": customer, "kind": kind, "channel": "email", "details": "by letter"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    for step in [
        json!({"to": "identity_verified", "note": "passport checked"}),
        json!({"to": "in_progress"}),
        completion,
    ] {
        let r = call(
            app,
            dpo,
            "POST",
            &format!("/api/v1/privacy/requests/{id}/transitions"),
            &step,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
}

/// Issue 21 item 2: the lake serves the `analytics` purpose, which rests on consent or
/// legitimate interests. So a person never asked is exported, and so is one who consented;
/// one who withdrew, one who objected (Art. 21, through an objection request) and one whose
/// processing is restricted (Art. 18, though she consented) are left out — profile and travel
/// records alike — and the manifest counts them. Without the check all five would be exported.
#[tokio::test]
async fn the_lake_leaves_out_objections_withdrawals_and_restrictions_and_counts_them() {
    on_each_backend(|backend| async move {
        let (app, keys) = spawn_with_keys(backend).await;
        let agent = aloft::roles::ids::CONTACT_CENTRE_AGENT;
        // (nationality, flight, what the person said about analytics)
        let people = [
            ("NO", "AL101", "never asked"),
            ("GR", "AL102", "consented"),
            ("NL", "AL103", "withdrew"),
            ("PL", "AL104", "objected"),
            ("RO", "AL105", "restricted"),
        ];
        let travel = TravelStore::new(
            app.test_db.db.clone(),
            std::sync::Arc::new(app.customers.clone()),
        );
        let departure = Utc::now() - Duration::days(20);
        let local = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M").to_string();
        let mut ids = Vec::new();
        for (n, (nationality, flight, said)) in people.iter().enumerate() {
            let id = app
                .create_customer(json!({"first_name": "Lake", "last_name": (["Ash", "Birch", "Cedar", "Dogwood", "Elm"][n]),
                    "nationality": nationality}))
                .await["id"]
                .as_str()
                .unwrap()
                .to_owned();
            ids.push(id.clone());
            let booking = Record::parse(
                RecordKind::Booking,
                &json!({"source": "gds", "source_record_id": format!("LAKE0{n}-1"), "record_locator": format!("LAKE0{n}"),
                    "segments": [{"flight_number": flight, "origin": "LHR", "destination": "OSL",
                        "scheduled_departure_local": local(departure),
                        "scheduled_arrival_local": local(departure + Duration::hours(2)),
                        "cabin": "economy", "rbd": "Y", "status": "flown"}]}),
            )
            .unwrap();
            travel
                .record_many(vec![(CustomerId::parse(&id).unwrap(), booking)], &AccessContext::system("test"))
                .await
                .unwrap();
            let consent = |granted: bool| json!({"purpose": "analytics", "granted": granted,
                "lawful_basis": "legitimate_interests", "source": "contact_centre", "proof": "call 77"});
            let path = format!("/api/v1/customers/{id}/consents");
            match *said {
                "consented" | "withdrew" | "restricted" => {
                    let r = call(&app, agent, "POST", &path, &json!({"purpose": "analytics", "granted": true,
                        "source": "contact_centre", "proof": "call 76"})).await;
                    assert!(r.status < 300, "{}", r.text());
                }
                _ => {}
            }
            match *said {
                "withdrew" => {
                    let r = call(&app, agent, "POST", &path, &consent(false)).await;
                    assert!(r.status < 300, "{}", r.text());
                }
                "objected" => {
                    complete_request(&app, &id, "objection",
                        json!({"to": "completed", "note": "objects to analyses", "purposes": ["analytics"]})).await;
                }
                "restricted" => {
                    complete_request(&app, &id, "restriction",
                        json!({"to": "completed", "note": "restricted until settled"})).await;
                }
                _ => {}
            }
        }

        let dir = tempfile_dir();
        let said = export(&app.test_db.settings.url, &keys, &dir).await;
        assert!(said.starts_with("First export"), "{said}");
        assert!(
            said.contains("3 profile(s) and 3 travel record(s) of 2 person(s) who objected and 1 whose processing is restricted"),
            "the command says what it left out: {said}"
        );
        let lake = read_lake(&dir);
        let customers = rows(&lake, "customers");
        let mut nationalities: Vec<&Value> = customers
            .iter()
            .map(|r| column(&lake, "customers", r, "nationality"))
            .collect();
        nationalities.sort_by_key(|v| v.to_string());
        assert_eq!(nationalities, [&json!("GR"), &json!("NO")], "{lake}");
        let segments = rows(&lake, "flight_segments");
        let mut flights: Vec<&Value> = segments
            .iter()
            .map(|r| column(&lake, "flight_segments", r, "flight_number"))
            .collect();
        flights.sort_by_key(|v| v.to_string());
        assert_eq!(flights, [&json!("AL101"), &json!("AL102")], "{lake}");

        // The manifest says how many were left out, and why.
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(dir.join("_aloft_lake.json")).unwrap()).unwrap();
        assert_eq!(
            manifest["exports"][0]["left_out"],
            json!({"restricted_people": 1, "objected_people": 2, "customers": 3, "travel_records": 3}),
            "{manifest}"
        );

        // Later the one who consented withdraws and the one never asked is restricted: the next
        // export lists both in `left_out` under the pseudonyms their rows carry, so readers drop
        // what was exported of them.
        let pseudonym_of = |nationality: &str| {
            let row = customers
                .iter()
                .find(|r| column(&lake, "customers", r, "nationality") == nationality)
                .unwrap();
            column(&lake, "customers", row, "customer").clone()
        };
        let (gr, no) = (pseudonym_of("GR"), pseudonym_of("NO"));
        let path = format!("/api/v1/customers/{}/consents", ids[1]);
        let r = call(&app, agent, "POST", &path, &json!({"purpose": "analytics", "granted": false,
            "lawful_basis": "legitimate_interests", "source": "contact_centre", "proof": "call 78"})).await;
        assert!(r.status < 300, "{}", r.text());
        complete_request(&app, &ids[0], "restriction",
            json!({"to": "completed", "note": "restricted until settled"})).await;
        let said = export(&app.test_db.settings.url, &keys, &dir).await;
        assert!(said.starts_with("Incremental export"), "{said}");
        let lake = read_lake(&dir);
        let mut dropped: Vec<(Value, Value)> = rows(&lake, "left_out")
            .iter()
            .map(|r| {
                (
                    column(&lake, "left_out", r, "customer").clone(),
                    column(&lake, "left_out", r, "reason").clone(),
                )
            })
            .collect();
        dropped.sort_by_key(|(_, reason)| reason.to_string());
        assert_eq!(
            dropped,
            [(gr, json!("objected")), (no, json!("restricted"))],
            "{lake}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn an_export_of_a_missing_instance_creates_nothing() {
    let dir = tempfile_dir();
    let output = Command::new(env!("CARGO_BIN_EXE_aloft"))
        .args(["export", "parquet", "--data-dir"])
        .arg(dir.join("no-instance-here"))
        .arg("--output")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("no Aloft instance"), "{said}");
    assert!(
        !dir.join("no-instance-here").exists(),
        "no database was created"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("aloft-lake-test-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
