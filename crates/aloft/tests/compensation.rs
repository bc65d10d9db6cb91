//! The compensation evaluation contract end to end: `POST /api/v1/compensation/evaluate` on a
//! running instance (both backends) and `aloft compensation evaluate` as a process.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use bytes::Bytes;
use common::{TestApp, on_each_backend};
use serde_json::{Value, json};

use aloft::roles::ids;

fn lh400() -> Value {
    json!({
      "itinerary": [
        {"flight": "LH400", "operating_carrier": "LH", "operating_carrier_country": "DE",
         "operating_carrier_large": true, "from": "FRA", "to": "JFK", "cabin": "economy",
         "scheduled_departure": "2026-07-01T10:00:00+02:00", "scheduled_arrival": "2026-07-01T12:40:00-04:00",
         "actual_departure": "2026-07-01T13:20:00+02:00", "actual_arrival": "2026-07-01T16:05:00-04:00"}
      ],
      "disruption": {"kind": "delay", "cause": "technical",
                     "notice_days": null, "rerouting": null, "volunteer": false,
                     "downgraded_to": null, "fare_paid": null,
                     "baggage": null},
      "regimes": null
    })
}

async fn post_as(app: &TestApp, role: &str, body: &Value) -> common::Reply {
    app.request(
        "POST",
        "/api/v1/compensation/evaluate",
        &[
            ("content-type", "application/json"),
            ("authorization", app.role_tokens.get(role)),
        ],
        Bytes::from(body.to_string()),
    )
    .await
}

#[tokio::test]
async fn the_api_judges_a_claim_names_every_bad_field_and_is_for_claim_handlers() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let r = post_as(&app, ids::CUSTOMER_AFFAIRS_EXECUTIVE, &lh400()).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let eu = &r.json()["decisions"][0];
        assert_eq!(eu["regime"], "EU261");
        assert_eq!(eu["amount"], json!({"amount": "300.00", "currency": "EUR"}));
        assert_eq!(eu["distance_km"], 6188);
        assert_eq!(eu["reductions"], json!(["art_7_2_c"]));

        let mut bad = lh400();
        bad["itinerary"][0]["to"] = json!("ZZZ");
        bad["itinerary"][0]["actual_arrival"] = json!("2026-07-01T05:00:00+02:00");
        bad["disruption"]["cause"] = json!("gremlins");
        let r = post_as(&app, ids::CONTACT_CENTRE_AGENT, &bad).await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(
            r.header("content-type")
                .starts_with("application/problem+json")
        );
        let pointers = r.json()["errors"].to_string();
        for p in [
            "/itinerary/0/to",
            "/itinerary/0/actual_arrival",
            "/disruption/cause",
        ] {
            assert!(pointers.contains(p), "{p}: {pointers}");
        }
        // Cancellation without its notice: named, never judged "not eligible".
        let mut incomplete = lh400();
        incomplete["disruption"]["kind"] = json!("cancellation");
        let r = post_as(&app, ids::CUSTOMER_AFFAIRS_EXECUTIVE, &incomplete).await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("/disruption/notice_days"), "{}", r.text());

        for role in [
            ids::DATA_ANALYST,
            ids::CABIN_CREW,
            ids::ADMINISTRATOR,
            ids::PASSENGER,
        ] {
            let r = post_as(&app, role, &lh400()).await;
            assert_eq!(r.status, 403, "{role}");
        }
        let doc = app.get("/api/openapi.json").await;
        assert_eq!(doc.status, 200);
        assert!(doc.text().contains("/api/v1/compensation/evaluate"));
        app.stop().await;
    })
    .await;
}

fn evaluate_cli(input: &str) -> (i32, Value) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aloft"))
        .args(["compensation", "evaluate"])
        .env("ALOFT_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_slice(&out.stdout).expect("JSON on stdout"),
    )
}

#[test]
fn the_cli_reads_a_claim_on_stdin_and_prints_the_decision() {
    let (code, out) = evaluate_cli(&lh400().to_string());
    assert_eq!(code, 0, "{out}");
    assert_eq!(out["decisions"][0]["amount"]["amount"], "300.00");
    assert!(
        out["decisions"][0]["citations"]
            .to_string()
            .contains("Regulation (EC) No 261/2004, Art. 7(1)(c)")
    );
    let (code, out) = evaluate_cli(r#"{"itinerary": []}"#);
    assert_eq!(code, 2);
    assert_eq!(out["errors"][0]["pointer"], "/itinerary");
    let (code, _) = evaluate_cli("not json");
    assert_eq!(code, 2);
}
