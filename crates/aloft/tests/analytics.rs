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
