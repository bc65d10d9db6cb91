//! The case workflow editor and per-station business calendars end to end, on both backends:
//! the CMP manager reads and publishes workflow versions (API and page), an incoherent
//! definition is refused naming the field and changes nothing, an open case keeps its version
//! (it can still take a move the new version removed) while new cases follow the new one, a
//! withdrawn category opens no new case, every publication is evented and audited; station
//! calendars make two cases at different stations due at different times (a case about a
//! booking runs on its first flight's departure station); and only the CMP manager may do any
//! of it.

mod common;

use chrono::{DateTime, Utc};
use common::portal::enc;
use common::{TestApp, on_each_backend};
use serde_json::{Value, json};

use aloft::roles::ids;
use aloft_cases::calendar::CalendarDef;
use aloft_cases::model::{Category, Priority, SlaClock, sla_targets};

async fn traveller(app: &TestApp, email: &str) -> String {
    app.create_customer(json!({
        "first_name": "Ines", "last_name": "Kramer", "email": email,
    }))
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn open(app: &TestApp, body: Value) -> Value {
    let r = app
        .call(
            "POST",
            ids::CONTACT_CENTRE_AGENT,
            "/api/v1/cases",
            Some(&body),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()
}

fn case(customer: &str, category: &str, booking: &str) -> Value {
    json!({"customer_id": customer, "category": category, "subject": "About my trip",
           "description": "Please help with my booking.", "channel": "email",
           "booking_reference": booking})
}

async fn state_of(app: &TestApp, id: &str) -> Value {
    app.call(
        "GET",
        ids::CONTACT_CENTRE_AGENT,
        &format!("/api/v1/cases/{id}"),
        None,
    )
    .await
    .json()["state"]
        .clone()
}

fn pointers(r: &common::Reply) -> Vec<String> {
    r.json()["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["pointer"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn count(app: &TestApp, sql: &str, bind: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .bind(bind)
        .fetch_one(app.test_db.db.pool())
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn the_cmp_manager_publishes_versions_and_open_cases_keep_theirs() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let customer = traveller(&app, "ines.kramer@example.com").await;

        // Who may read it.
        let r = app
            .call("GET", ids::CMP_MANAGER, "/api/v1/case-workflow", None)
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v1 = r.json();
        assert_eq!(v1["version"], 1);
        assert_eq!(v1["initial"], "new");
        assert_eq!(v1["categories"].as_array().unwrap().len(), 8);
        assert_eq!(v1["history"][0]["version"], 1);
        for role in [
            ids::CONTACT_CENTRE_AGENT,
            ids::CUSTOMER_AFFAIRS_EXECUTIVE,
            ids::PASSENGER,
        ] {
            let r = app.call("GET", role, "/api/v1/case-workflow", None).await;
            assert_eq!(r.status, 403, "{role}: {}", r.text());
            let r = app
                .call("PUT", role, "/api/v1/case-workflow", Some(&v1))
                .await;
            assert_eq!(r.status, 403, "{role}: {}", r.text());
        }

        // A case opened under version 1.
        let old = open(&app, case(&customer, "complaint", "OLD111")).await;
        assert_eq!(old["workflow_version"], 1);
        let old_id = old["id"].as_str().unwrap().to_owned();

        // Version 2: a new case can no longer be closed straight away, an "on hold" state
        // pauses the clocks, suggestions are no longer taken, complaints are relabelled.
        let mut v2 = v1.clone();
        let transitions: Vec<Value> = v2["transitions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| !(t["from"] == "new" && t["to"] == "closed"))
            .cloned()
            .chain([
                json!({"from": "in_progress", "to": "on_hold",
                       "required": ["reason", "part_number"]}),
                json!({"from": "on_hold", "to": "in_progress"}),
            ])
            .collect();
        v2["transitions"] = json!(transitions);
        v2["states"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "on_hold", "label": "On hold", "pauses_clock": true}));
        withdraw_suggestions_and_relabel_complaints(&mut v2);

        // Refused definitions name the field and change nothing.
        let mut bad = v2.clone();
        bad["transitions"][0]["to"] = json!("archived");
        let r = app
            .call("PUT", ids::CMP_MANAGER, "/api/v1/case-workflow", Some(&bad))
            .await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(
            r.header("content-type")
                .starts_with("application/problem+json")
        );
        assert_eq!(pointers(&r), ["/transitions/0/to"]);
        let mut bad = v2.clone();
        bad["states"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "limbo", "label": "Limbo"}));
        let r = app
            .call("PUT", ids::CMP_MANAGER, "/api/v1/case-workflow", Some(&bad))
            .await;
        assert_eq!(r.status, 422);
        assert_eq!(pointers(&r), ["/states/6/name"], "{}", r.text());
        assert!(r.text().contains("cannot be reached"));
        let mut bad = v2.clone();
        for s in bad["states"].as_array_mut().unwrap() {
            s["terminal"] = json!(false);
        }
        bad["states"][1]["name"] = json!("new");
        bad["categories"][0]["name"] = json!("lost_pets");
        let r = app
            .call("PUT", ids::CMP_MANAGER, "/api/v1/case-workflow", Some(&bad))
            .await;
        assert_eq!(r.status, 422);
        let p = pointers(&r);
        for expected in ["/states/1/name", "/states", "/categories/0/name"] {
            assert!(p.contains(&expected.to_owned()), "{expected}: {p:?}");
        }
        let r = app
            .call(
                "PUT",
                ids::CMP_MANAGER,
                "/api/v1/case-workflow",
                Some(&json!({"initial": "new", "states": "new", "transitions": [
                {"from": "new", "to": 3, "needs": []}], "categories": []})),
            )
            .await;
        assert_eq!(r.status, 422);
        assert_eq!(
            pointers(&r),
            ["/states", "/transitions/0/needs", "/transitions/0/to"]
        );
        let r = app
            .call("GET", ids::CMP_MANAGER, "/api/v1/case-workflow", None)
            .await;
        assert_eq!(r.json()["version"], 1, "nothing changed");

        // Published.
        let r = app
            .call("PUT", ids::CMP_MANAGER, "/api/v1/case-workflow", Some(&v2))
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json()["version"], 2);
        let now = app
            .call("GET", ids::CMP_MANAGER, "/api/v1/case-workflow", None)
            .await
            .json();
        assert_eq!(now["version"], 2);
        assert_eq!(now["published_by"], format!("token:{}", ids::CMP_MANAGER));
        assert_eq!(now["history"][0]["version"], 2);
        assert_eq!(now["history"][1]["open_cases"], 1);
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM outbox WHERE event_type = $1",
                "aloft.case.workflow_published",
            )
            .await,
            1
        );
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM audit_log WHERE action = $1",
                "case.workflow_published",
            )
            .await,
            1
        );

        // New cases follow version 2: no closing straight away; on hold exists.
        let new = open(&app, case(&customer, "complaint", "NEW222")).await;
        assert_eq!(new["workflow_version"], 2);
        let new_id = new["id"].as_str().unwrap();
        let r = app
            .call(
                "POST",
                ids::CONTACT_CENTRE_AGENT,
                &format!("/api/v1/cases/{new_id}/transitions"),
                Some(&json!({"to": "closed", "reason": "duplicate"})),
            )
            .await;
        assert_eq!(r.status, 409, "{}", r.text());
        let r = app
            .call(
                "POST",
                ids::CONTACT_CENTRE_AGENT,
                &format!("/api/v1/cases/{new_id}/transitions"),
                Some(&json!({"to": "in_progress"})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        // The agent's page offers the field of the workflow's own naming, and the move there
        // passes it on (without it, the move is refused and nothing changes).
        let agent = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
        let page = app.get_as(&agent, &format!("/cases/{new_id}")).await.text();
        assert!(page.contains("name=\"part_number\""), "{page}");
        let r = app
            .post_form_as(
                &agent,
                &format!("/cases/{new_id}/transition"),
                "to=on_hold&reason=waiting",
            )
            .await;
        assert_eq!(r.status, 303);
        assert_eq!(state_of(&app, new_id).await, "in_progress");
        let r = app
            .post_form_as(
                &agent,
                &format!("/cases/{new_id}/transition"),
                "to=on_hold&reason=waiting&part_number=P-17",
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        assert_eq!(state_of(&app, new_id).await, "on_hold");
        let held = app
            .call(
                "GET",
                ids::CONTACT_CENTRE_AGENT,
                &format!("/api/v1/cases/{new_id}"),
                None,
            )
            .await
            .json();
        assert_eq!(held["sla"]["paused"], true, "on hold pauses the clocks");

        // The case opened under version 1 still takes the move version 2 removed, and has no
        // "on hold" state.
        let r = app
            .call(
                "POST",
                ids::CONTACT_CENTRE_AGENT,
                &format!("/api/v1/cases/{old_id}/transitions"),
                Some(&json!({"to": "on_hold", "reason": "x"})),
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.text());
        let r = app
            .call(
                "POST",
                ids::CONTACT_CENTRE_AGENT,
                &format!("/api/v1/cases/{old_id}/transitions"),
                Some(&json!({"to": "closed", "reason": "duplicate"})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["state"], "closed");
        assert_eq!(r.json()["workflow_version"], 1);

        // A withdrawn category opens no new case.
        let r = app
            .call(
                "POST",
                ids::CONTACT_CENTRE_AGENT,
                "/api/v1/cases",
                Some(&case(&customer, "suggestion", "SUG333")),
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert_eq!(pointers(&r), ["/category"]);
        app.stop().await;
    })
    .await;
}

#[tokio::test]
async fn the_workflow_page_shows_and_publishes_with_errors_in_the_forms_words() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let manager = app.sign_in_as(ids::CMP_MANAGER).await;
        let page = app.get_as(&manager, "/cases/workflow").await;
        assert_eq!(page.status, 200, "{}", page.text());
        let html = page.text();
        for words in [
            "Current workflow: version 1",
            "Allowed transitions",
            "Version history",
            "waiting_for_customer | Waiting for customer | pauses",
            "in_progress -&gt; resolved | resolution",
            "Publish version 2",
            "Business hours by station",
        ] {
            assert!(html.contains(words), "{words}");
        }
        let agent = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
        assert_eq!(app.get_as(&agent, "/cases/workflow").await.status, 403);
        let supervisor = app.sign_in_as(ids::CUSTOMER_AFFAIRS_EXECUTIVE).await;
        assert_eq!(app.get_as(&supervisor, "/cases/workflow").await.status, 403);

        let states = "new | New\nopen | Open\n\nclosed | Closed | resolved, closing";
        let form = |transitions: &str| {
            format!(
                "initial=new&states={}&transitions={}&categories={}",
                enc(states),
                enc(transitions),
                enc("complaint | Complaint\nbaggage | Baggage")
            )
        };
        let r = app
            .post_form_as(
                &manager,
                "/cases/workflow",
                &form("new -> open\nopen -> archived | reason"),
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.text());
        let html = r.text();
        assert!(
            html.contains("line 2: &quot;archived&quot; is not one of the states"),
            "{html}"
        );
        assert!(html.contains("error-summary"));
        let r = app
            .post_form_as(
                &manager,
                "/cases/workflow",
                &form("new -> open\nopen -> closed | resolution"),
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        let html = app.get_as(&manager, "/cases/workflow").await.text();
        assert!(html.contains("Current workflow: version 2"), "{html}");
        assert!(html.contains("Publish version 3"));
        let r = app
            .post_form_as(
                &agent,
                "/cases/workflow",
                &form("new -> open\nopen -> closed"),
            )
            .await;
        assert_eq!(r.status, 403);

        // The calendar form.
        let r = app
            .post_form_as(
                &manager,
                "/cases/workflow/calendar",
                &format!(
                    "station=fra&time_zone={}&hours={}&holidays=2026-12-25",
                    enc("Europe/Berlin"),
                    enc("mon 09:00-17:00\nfunday 10:00-12:00")
                ),
            )
            .await;
        assert_eq!(r.status, 422);
        assert!(r.text().contains("line 2: &quot;funday&quot; is not a day"));
        let r = app
            .post_form_as(
                &manager,
                "/cases/workflow/calendar",
                &format!(
                    "station=fra&time_zone={}&hours={}&holidays=2026-12-25",
                    enc("Europe/Berlin"),
                    enc("mon 09:00-17:00\ntue 09:00-17:00")
                ),
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        let html = app.get_as(&manager, "/cases/workflow").await.text();
        assert!(html.contains("Europe/Berlin") && html.contains("2026-12-25"));
        app.stop().await;
    })
    .await;
}

fn at(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// The first-response due instant a case should have on `cal`.
fn expected_due(case: &Value, cal: &CalendarDef) -> DateTime<Utc> {
    let category = Category::parse(case["category"].as_str().unwrap()).unwrap();
    let priority = Priority::parse(case["priority"].as_str().unwrap()).unwrap();
    let target = sla_targets(category, priority).first_response;
    SlaClock::start(target, at(&case["opened_at"]))
        .due(&cal.compile().unwrap())
        .unwrap()
}

#[tokio::test]
async fn cases_at_different_stations_run_on_their_own_calendars() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let customer = traveller(&app, "ines.kramer@example.com").await;
        // Frankfurt works weekdays 09–17 Berlin time and is closed today and tomorrow (local
        // dates); New York never closes.
        let today = Utc::now().date_naive();
        let hours = |days: &[&str], opens: &str, closes: &str| -> Vec<Value> {
            days.iter()
                .map(|d| json!({"day": d, "opens": opens, "closes": closes}))
                .collect()
        };
        let fra = json!({
            "time_zone": "Europe/Berlin",
            "hours": hours(&["mon", "tue", "wed", "thu", "fri"], "09:00", "17:00"),
            "holidays": [today.to_string(), today.succ_opt().unwrap().to_string()],
        });
        let jfk = json!({
            "time_zone": "America/New_York",
            "hours": hours(&["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "00:00", "24:00"),
        });
        for role in [ids::CONTACT_CENTRE_AGENT, ids::PASSENGER] {
            let r = app
                .call("PUT", role, "/api/v1/case-calendars/FRA", Some(&fra))
                .await;
            assert_eq!(r.status, 403, "{role}");
            let r = app.call("GET", role, "/api/v1/case-calendars", None).await;
            assert_eq!(r.status, 403, "{role}");
        }
        let mut bad = fra.clone();
        bad["time_zone"] = json!("Mars/Olympus");
        bad["hours"][1]["closes"] = json!("08:00");
        bad["holidays"][0] = json!("25.12.2026");
        let r = app
            .call(
                "PUT",
                ids::CMP_MANAGER,
                "/api/v1/case-calendars/FRA",
                Some(&bad),
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert_eq!(
            pointers(&r),
            ["/time_zone", "/hours/1/closes", "/holidays/0"]
        );
        let r = app
            .call(
                "PUT",
                ids::CMP_MANAGER,
                "/api/v1/case-calendars/Frankfurt",
                Some(&fra),
            )
            .await;
        assert_eq!(r.status, 422);
        assert_eq!(pointers(&r), ["#station"]);
        for (station, def) in [("FRA", &fra), ("JFK", &jfk)] {
            let r = app
                .call(
                    "PUT",
                    ids::CMP_MANAGER,
                    &format!("/api/v1/case-calendars/{station}"),
                    Some(def),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.text());
            assert_eq!(r.json()["version"], 1);
        }
        let listed = app
            .call("GET", ids::CMP_MANAGER, "/api/v1/case-calendars", None)
            .await
            .json();
        assert_eq!(listed.as_array().unwrap().len(), 2);
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM outbox WHERE event_type = $1",
                "aloft.case.calendar_changed",
            )
            .await,
            2
        );
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM audit_log WHERE action = $1",
                "case.calendar_saved",
            )
            .await,
            2
        );

        let mut body = case(&customer, "baggage", "FRA111");
        body["station"] = json!("fra");
        let at_fra = open(&app, body).await;
        let mut body = case(&customer, "baggage", "JFK222");
        body["station"] = json!("JFK");
        let at_jfk = open(&app, body).await;
        let nowhere = open(&app, case(&customer, "baggage", "NUL333")).await;
        assert_eq!(at_fra["station"], "FRA");
        assert_eq!(at_jfk["station"], "JFK");
        assert_eq!(nowhere["station"], Value::Null);

        let fra_def: CalendarDef = serde_json::from_value(fra.clone()).unwrap();
        let jfk_def: CalendarDef = serde_json::from_value(jfk.clone()).unwrap();
        let fra_due = at(&at_fra["sla"]["first_response_due"]);
        let jfk_due = at(&at_jfk["sla"]["first_response_due"]);
        assert_eq!(fra_due, expected_due(&at_fra, &fra_def));
        assert_eq!(jfk_due, expected_due(&at_jfk, &jfk_def));
        assert_eq!(
            at(&nowhere["sla"]["first_response_due"]),
            expected_due(&nowhere, &CalendarDef::always_utc())
        );
        assert_ne!(fra_due, jfk_due);
        assert!(
            fra_due > Utc::now() + chrono::Duration::hours(24),
            "Frankfurt is closed today and tomorrow: {fra_due}"
        );
        // The stored due instant (work queue order, sweep) is the station's too.
        let (stored,): (String,) =
            sqlx::query_as("SELECT first_response_due FROM cases WHERE id = $1")
                .bind(at_fra["id"].as_str().unwrap())
                .fetch_one(app.test_db.db.pool())
                .await
                .unwrap();
        assert_eq!(DateTime::parse_from_rfc3339(&stored).unwrap(), fra_due);
        // A priority set by hand keeps the case on its station's calendar.
        let to = if at_fra["priority"] == "low" {
            "high"
        } else {
            "low"
        };
        let r = app
            .call(
                "POST",
                ids::CONTACT_CENTRE_AGENT,
                &format!("/api/v1/cases/{}/priority", at_fra["id"].as_str().unwrap()),
                Some(&json!({"priority": to, "reason": "The passenger called twice"})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let overridden = r.json();
        assert_eq!(overridden["priority"], to);
        let due = at(&overridden["sla"]["first_response_due"]);
        assert_eq!(due, expected_due(&overridden, &fra_def));
        let (stored,): (String,) =
            sqlx::query_as("SELECT first_response_due FROM cases WHERE id = $1")
                .bind(at_fra["id"].as_str().unwrap())
                .fetch_one(app.test_db.db.pool())
                .await
                .unwrap();
        assert_eq!(DateTime::parse_from_rfc3339(&stored).unwrap(), due);
        // Without a station, a case about a booking runs on its first flight's departure
        // station (travel's timeline).
        let booking = aloft_travel::Record::parse(
            aloft_travel::RecordKind::Booking,
            &json!({"source": "gds", "source_record_id": "FRA555", "record_locator": "FRA555",
                "segments": [{"flight_number": "LH400", "origin": "FRA", "destination": "JFK",
                    "scheduled_departure_local": "2026-07-01T10:00",
                    "scheduled_arrival_local": "2026-07-01T12:40",
                    "cabin": "economy", "rbd": "Y", "status": "scheduled"}]}),
        )
        .unwrap();
        aloft_travel::TravelStore::new(
            app.test_db.db.clone(),
            std::sync::Arc::new(app.customers.clone()),
        )
        .record_many(
            vec![(aloft_travel::CustomerId::parse(&customer).unwrap(), booking)],
            &aloft_kernel::AccessContext::system("test"),
        )
        .await
        .unwrap();
        let by_booking = open(&app, case(&customer, "refund", "FRA555")).await;
        assert_eq!(by_booking["station"], "FRA", "{by_booking}");
        assert_eq!(
            at(&by_booking["sla"]["first_response_due"]),
            expected_due(&by_booking, &fra_def)
        );
        // A bad station is named.
        let mut body = case(&customer, "refund", "BAD444");
        body["station"] = json!("Frankfurt");
        let r = app
            .call(
                "POST",
                ids::CONTACT_CENTRE_AGENT,
                "/api/v1/cases",
                Some(&body),
            )
            .await;
        assert_eq!(r.status, 422);
        assert_eq!(pointers(&r), ["/station"]);
        app.stop().await;
    })
    .await;
}

/// The agent's "Open a case" form (from the customer's Cases tab) and the passenger's
/// self-service form offer what the current workflow offers, in its words; a withdrawn
/// category posted by hand is refused naming the field; the agent's form opens a case, and a
/// second request about the same matter joins it.
#[tokio::test]
async fn the_open_forms_offer_the_current_workflows_categories() {
    on_each_backend(|backend| async move {
        let app = TestApp::spawn(backend).await;
        let customer = app
            .create_customer(json!({"first_name": "Ana", "last_name": "Silva",
                "email": "ana.silva@example.com", "loyalty_number": "AL55501"}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut v2 = app.call("GET", ids::CMP_MANAGER, "/api/v1/case-workflow", None)
            .await
            .json();
        withdraw_suggestions_and_relabel_complaints(&mut v2);
        let r = app.call("PUT", ids::CMP_MANAGER, "/api/v1/case-workflow", Some(&v2)).await;
        assert_eq!(r.status, 201, "{}", r.text());

        // The agent's form, linked from the customer's Cases tab.
        let agent = app.sign_in_as(ids::CONTACT_CENTRE_AGENT).await;
        let tab = app
            .get_as(&agent, &format!("/customers/{customer}?tab=cases"))
            .await;
        assert_eq!(tab.status, 200, "{}", tab.text());
        assert!(
            tab.text()
                .contains(&format!("href=\"/cases/new?customer={customer}\"")),
            "{}",
            tab.text()
        );
        let form = app
            .get_as(&agent, &format!("/cases/new?customer={customer}"))
            .await;
        assert_eq!(form.status, 200, "{}", form.text());
        assert!(form.text().contains("Complaint about service"));
        assert!(form.text().contains("value=\"baggage\""));
        assert!(!form.text().contains("value=\"suggestion\""), "withdrawn");

        // Refused: each field named, a withdrawn category among them; nothing opened.
        let bad = app
            .post_form_as(
                &agent,
                "/cases/new",
                &format!(
                    "customer_id={customer}&category=suggestion&channel=fax&booking_reference=K7&subject=&description="
                ),
            )
            .await;
        assert_eq!(bad.status, 422, "{}", bad.text());
        for id in [
            "f-category",
            "f-channel",
            "f-booking-reference",
            "f-subject",
            "f-description",
        ] {
            assert!(bad.text().contains(&format!("href=\"#{id}\"")), "{id}: {}", bad.text());
        }
        assert_eq!(count_cases(&app, &customer).await, 0);

        // Opened, then a second call about the same bag joins it.
        let body = format!(
            "customer_id={customer}&category=baggage&channel=phone&booking_reference=k7xq2m&subject={}&description={}",
            enc("Bag missing in Lisbon"),
            enc("The passenger reports her bag did not arrive on TP123.")
        );
        let r = app.post_form_as(&agent, "/cases/new", &body).await;
        assert_eq!(r.status, 303, "{}", r.text());
        let to = r.header("location").to_owned();
        assert!(to.starts_with("/cases/"), "{to}");
        let id = to.trim_start_matches("/cases/").to_owned();
        let case = app.call("GET",
            ids::CONTACT_CENTRE_AGENT,
            &format!("/api/v1/cases/{id}"),
            None,
        )
        .await
        .json();
        assert_eq!(case["channel"], "phone");
        assert_eq!(case["booking_reference"], "K7XQ2M");
        assert_eq!(case["category"], "baggage");
        assert_eq!(case["workflow_version"], 2);
        let again = app.post_form_as(&agent, "/cases/new", &body).await;
        assert_eq!(again.status, 303, "{}", again.text());
        assert_eq!(again.header("location"), to, "joined the open case");
        assert_eq!(count_cases(&app, &customer).await, 1);

        // The passenger's form offers the same categories and refuses the withdrawn one.
        let mut ana = common::portal::sign_up_and_verify(&app, "AL55501", "ana.silva@example.com").await;
        let own = ana.get(&app, "/my/cases/new").await;
        assert_eq!(own.status, 200, "{}", own.text());
        assert!(own.text().contains("Complaint about service"));
        assert!(!own.text().contains("value=\"suggestion\""), "withdrawn");
        let refused = ana
            .submit(
                &app,
                "/my/cases/new",
                "/my/cases",
                &[
                    ("category", "suggestion"),
                    ("subject", "More vegetarian meals"),
                    ("description", "Please."),
                ],
            )
            .await;
        assert_eq!(refused.status, 422, "{}", refused.text());
        assert!(refused.text().contains("href=\"#f-category\""));
        assert_eq!(count_cases(&app, &customer).await, 1);

        // Only staff who work cases see the agent's form.
        let analyst = app.sign_in_as(ids::DATA_ANALYST).await;
        let r = app
            .get_as(&analyst, &format!("/cases/new?customer={customer}"))
            .await;
        assert_eq!(r.status, 403);
        app.stop().await;
    })
    .await;
}

/// The workflow edit both tests publish: suggestions are no longer taken, complaints are
/// relabelled "Complaint about service".
fn withdraw_suggestions_and_relabel_complaints(workflow: &mut Value) {
    let categories: Vec<Value> = workflow["categories"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] != "suggestion")
        .map(|c| {
            if c["name"] == "complaint" {
                json!({"name": "complaint", "label": "Complaint about service"})
            } else {
                c.clone()
            }
        })
        .collect();
    workflow["categories"] = json!(categories);
}

async fn count_cases(app: &TestApp, customer: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM cases WHERE customer_id = $1")
        .bind(customer)
        .fetch_one(app.test_db.db.pool())
        .await
        .unwrap();
    n
}
