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

fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{k}={}",
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test]
async fn a_claim_handler_types_a_claim_in_local_times_and_reads_the_decision() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let agent = app.sign_in_as(ids::CUSTOMER_AFFAIRS_EXECUTIVE).await;
        let page = app.get_as(&agent, "/compensation/claim").await;
        assert_eq!(page.status, 200, "{}", page.text());
        assert!(page.text().contains("Evaluate the claim"));
        let lh400 = [
            ("flight", "LH400"),
            ("carrier_country", "DE"),
            ("from", "FRA"),
            ("to", "JFK"),
            ("cabin", "economy"),
            ("scheduled_departure", "2026-07-01T10:00"),
            ("scheduled_arrival", "2026-07-01T12:40"),
            ("actual_arrival", "2026-07-01T16:05"),
            ("kind", "delay"),
            ("cause", "technical"),
        ];
        let r = app
            .post_form_as(&agent, "/compensation/claim", &form(&lh400))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let html = r.text();
        for expected in ["300.00 EUR", "Art. 7(2)(c)", "6188 km", "Wallentin-Hermann"] {
            assert!(html.contains(expected), "{expected}: {html}");
        }
        // Missing facts come back as an error summary naming the fields, values kept.
        let r = app
            .post_form_as(
                &agent,
                "/compensation/claim",
                &form(&[
                    ("flight", "LH400"),
                    ("from", "XXX"),
                    ("kind", "cancellation"),
                    ("cause", "technical"),
                ]),
            )
            .await;
        assert_eq!(r.status, 422);
        let html = r.text();
        assert!(
            html.contains("error-summary") && html.contains("Is not a known IATA airport code"),
            "{html}"
        );
        assert!(html.contains("value=\"XXX\""));
        let analyst = app.sign_in_as(ids::DATA_ANALYST).await;
        assert_eq!(
            app.get_as(&analyst, "/compensation/claim").await.status,
            403
        );
        app.stop().await;
    })
    .await;
}
