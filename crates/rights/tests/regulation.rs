//! The regimes, case by case, through the evaluation contract (JSON in, decisions out).

use aloft_rights::{Rules, evaluate_json};
use serde_json::{Value, json};

fn leg(flight: &str, carrier_country: &str, from: &str, to: &str, sd: &str, sa: &str) -> Value {
    json!({"flight": flight, "operating_carrier": &flight[..2], "operating_carrier_country": carrier_country,
           "operating_carrier_large": true, "from": from, "to": to, "cabin": "economy",
           "scheduled_departure": sd, "scheduled_arrival": sa})
}

fn with_actual(mut l: Value, ad: &str, aa: &str) -> Value {
    l["actual_departure"] = json!(ad);
    l["actual_arrival"] = json!(aa);
    l
}

fn claim(itinerary: Vec<Value>, disruption: Value) -> Value {
    json!({"itinerary": itinerary, "disruption": disruption, "regimes": null})
}

fn disruption(kind: &str, cause: &str) -> Value {
    json!({"kind": kind, "cause": cause, "notice_days": null, "rerouting": null, "volunteer": false,
           "downgraded_to": null, "fare_paid": null, "baggage": null})
}

fn decide(c: &Value) -> Value {
    serde_json::to_value(evaluate_json(c, &Rules::default_rules()).expect("a complete claim"))
        .unwrap()
}

fn only(c: &Value, regime: &str) -> Value {
    let d = decide(c);
    d["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["regime"] == regime)
        .unwrap_or_else(|| panic!("{regime} decided: {d}"))
        .clone()
}

fn errors(c: &Value) -> Vec<String> {
    evaluate_json(c, &Rules::default_rules())
        .expect_err("refused")
        .into_iter()
        .map(|e| e.pointer)
        .collect()
}

/// LH400 FRA→JFK, the example: 3 h 25 min late, technical fault.
fn lh400(actual_arrival: &str, cause: &str) -> Value {
    claim(
        vec![with_actual(
            leg(
                "LH400",
                "DE",
                "FRA",
                "JFK",
                "2026-07-01T10:00:00+02:00",
                "2026-07-01T12:40:00-04:00",
            ),
            "2026-07-01T13:20:00+02:00",
            actual_arrival,
        )],
        disruption("delay", cause),
    )
}

#[test]
fn the_contract_example_long_haul_delay_of_three_to_four_hours_is_halved() {
    let d = decide(&lh400("2026-07-01T16:05:00-04:00", "technical"));
    let list = d["decisions"].as_array().unwrap();
    assert_eq!(list.len(), 1, "only EU261 applies: {d}");
    let eu = &list[0];
    assert_eq!(eu["regime"], "EU261");
    assert_eq!(eu["eligible"], true);
    assert_eq!(eu["amount"], json!({"amount": "300.00", "currency": "EUR"}));
    assert_eq!(eu["distance_km"], 6188);
    assert_eq!(eu["reductions"], json!(["art_7_2_c"]));
    let citations = eu["citations"].to_string();
    assert!(
        citations.contains("Regulation (EC) No 261/2004, Art. 7(1)(c)"),
        "{citations}"
    );
    assert!(
        citations.contains("Art. 7(2)(c)") && citations.contains("Sturgeon"),
        "{citations}"
    );
    assert!(eu["reasons"].to_string().contains("Wallentin-Hermann"));
}

#[test]
fn delay_thresholds_at_the_final_destination() {
    let under = only(&lh400("2026-07-01T15:39:00-04:00", "technical"), "EU261");
    assert_eq!(under["eligible"], false, "2 h 59 min");
    let four = only(&lh400("2026-07-01T16:41:00-04:00", "technical"), "EU261");
    assert_eq!(four["amount"]["amount"], "600.00", "over 4 h: no reduction");
    assert_eq!(four["reductions"], json!([]));
    let on_time = claim(
        vec![leg(
            "LH400",
            "DE",
            "FRA",
            "JFK",
            "2026-07-01T10:00:00+02:00",
            "2026-07-01T12:40:00-04:00",
        )],
        disruption("delay", "technical"),
    );
    assert_eq!(
        only(&on_time, "EU261")["eligible"],
        false,
        "legs without actual times are on time"
    );
}

#[test]
fn extraordinary_circumstances_by_cause_category() {
    for cause in [
        "weather",
        "air_traffic_control",
        "security",
        "external_strike",
        "bird_strike",
        "medical",
        "political_instability",
    ] {
        let d = only(&lh400("2026-07-01T18:00:00-04:00", cause), "EU261");
        assert_eq!(d["eligible"], false, "{cause}");
        assert!(d["citations"].to_string().contains("Art. 5(3)"), "{cause}");
    }
    for cause in ["technical", "crew_shortage", "own_staff_strike", "other"] {
        let d = only(&lh400("2026-07-01T18:00:00-04:00", cause), "EU261");
        assert_eq!(d["eligible"], true, "{cause}");
    }
    let strike = only(
        &lh400("2026-07-01T18:00:00-04:00", "own_staff_strike"),
        "EU261",
    );
    assert!(strike["reasons"].to_string().contains("C-28/20"));
}

#[test]
fn a_connecting_journey_is_judged_as_a_whole() {
    // LIS→FRA on time-ish, FRA→JFK missed: arrival at JFK 5 h late. Distance LIS→JFK.
    let c = claim(
        vec![
            with_actual(
                leg(
                    "TP572",
                    "PT",
                    "LIS",
                    "FRA",
                    "2026-07-01T06:00:00+01:00",
                    "2026-07-01T09:50:00+02:00",
                ),
                "2026-07-01T07:30:00+01:00",
                "2026-07-01T11:20:00+02:00",
            ),
            with_actual(
                leg(
                    "LH400",
                    "DE",
                    "FRA",
                    "JFK",
                    "2026-07-01T10:50:00+02:00",
                    "2026-07-01T13:30:00-04:00",
                ),
                "2026-07-01T15:50:00+02:00",
                "2026-07-01T18:30:00-04:00",
            ),
        ],
        disruption("delay", "technical"),
    );
    let eu = only(&c, "EU261");
    assert_eq!(eu["amount"]["amount"], "600.00");
    let km = eu["distance_km"].as_u64().unwrap();
    assert!(
        (5300..5500).contains(&km),
        "LIS→JFK great circle, not a leg: {km}"
    );
    assert!(eu["reasons"].to_string().contains("whole journey"));
}

#[test]
fn distance_bands_and_intra_eu_journeys() {
    let short = claim(
        vec![with_actual(
            leg(
                "LH1026",
                "DE",
                "FRA",
                "CDG",
                "2026-07-01T10:00:00+02:00",
                "2026-07-01T11:10:00+02:00",
            ),
            "2026-07-01T14:00:00+02:00",
            "2026-07-01T15:10:00+02:00",
        )],
        disruption("delay", "technical"),
    );
    assert_eq!(only(&short, "EU261")["amount"]["amount"], "250.00");
    // Gran Canaria → Helsinki: over 3,500 km but within the EU: Art. 7(1)(b), never (c).
    let intra = claim(
        vec![with_actual(
            leg(
                "AY1716",
                "FI",
                "LPA",
                "HEL",
                "2026-07-01T10:00:00+01:00",
                "2026-07-01T17:00:00+03:00",
            ),
            "2026-07-01T15:00:00+01:00",
            "2026-07-01T22:00:00+03:00",
        )],
        disruption("delay", "crew_shortage"),
    );
    let d = only(&intra, "EU261");
    assert!(d["distance_km"].as_u64().unwrap() > 3500);
    assert_eq!(d["amount"]["amount"], "400.00");
}

#[test]
fn scope_departures_from_the_eu_and_arrivals_on_community_carriers() {
    let on = |carrier_country: &str, flight: &str| {
        claim(
            vec![with_actual(
                leg(
                    flight,
                    carrier_country,
                    "JFK",
                    "FRA",
                    "2026-07-01T18:00:00-04:00",
                    "2026-07-02T08:00:00+02:00",
                ),
                "2026-07-01T23:00:00-04:00",
                "2026-07-02T13:00:00+02:00",
            )],
            disruption("delay", "technical"),
        )
    };
    assert_eq!(only(&on("DE", "LH401"), "EU261")["eligible"], true);
    let us = decide(&on("US", "UA960"));
    assert!(
        us["decisions"].as_array().unwrap().is_empty(),
        "no regime applies: {us}"
    );
    let mut asked = on("US", "UA960");
    asked["regimes"] = json!(["EU261"]);
    let d = only(&asked, "EU261");
    assert_eq!(d["eligible"], false);
    assert!(d["citations"].to_string().contains("Art. 3(1)"));
}

#[test]
fn cancellation_notice_windows_and_rerouting() {
    let base = |notice: i64, rerouting: Value| {
        let mut d = disruption("cancellation", "technical");
        d["notice_days"] = json!(notice);
        d["rerouting"] = rerouting;
        claim(
            vec![leg(
                "LH400",
                "DE",
                "FRA",
                "JFK",
                "2026-07-01T10:00:00+02:00",
                "2026-07-01T12:40:00-04:00",
            )],
            d,
        )
    };
    let decision = |c: &Value| only(c, "EU261");
    assert_eq!(decision(&base(14, Value::Null))["eligible"], false);
    assert!(
        decision(&base(14, Value::Null))["citations"]
            .to_string()
            .contains("Art. 5(1)(c)(i)")
    );
    // 7–13 days: departing ≤ 2 h earlier and arriving < 4 h later owes nothing.
    let close =
        json!({"departure": "2026-07-01T09:00:00+02:00", "arrival": "2026-07-01T15:30:00-04:00"});
    assert_eq!(decision(&base(10, close.clone()))["eligible"], false);
    let late =
        json!({"departure": "2026-07-01T13:00:00+02:00", "arrival": "2026-07-01T17:41:00-04:00"});
    assert_eq!(decision(&base(10, late))["amount"]["amount"], "600.00");
    // < 7 days: the same rerouting is too late (≥ 2 h); arriving 2 h 50 later is within 4 h: halved.
    let d = decision(&base(3, close));
    assert_eq!(d["amount"]["amount"], "300.00");
    assert_eq!(d["reductions"], json!(["art_7_2_c"]));
    let tight =
        json!({"departure": "2026-07-01T09:30:00+02:00", "arrival": "2026-07-01T14:00:00-04:00"});
    assert_eq!(
        decision(&base(3, tight))["eligible"],
        false,
        "Art. 5(1)(c)(iii)"
    );
    assert_eq!(
        decision(&base(0, Value::Null))["amount"]["amount"],
        "600.00",
        "no rerouting: full"
    );
}

#[test]
fn denied_boarding_and_downgrade() {
    let db = |volunteer: bool| {
        let mut d = disruption("denied_boarding", "overbooking");
        d["volunteer"] = json!(volunteer);
        claim(
            vec![leg(
                "LH1026",
                "DE",
                "FRA",
                "CDG",
                "2026-07-01T10:00:00+02:00",
                "2026-07-01T11:10:00+02:00",
            )],
            d,
        )
    };
    assert_eq!(only(&db(false), "EU261")["amount"]["amount"], "250.00");
    assert_eq!(only(&db(true), "EU261")["eligible"], false);

    let mut d = disruption("downgrade", "overbooking");
    d["downgraded_to"] = json!("economy");
    d["fare_paid"] = json!({"amount": "2000.00", "currency": "EUR"});
    let mut l = leg(
        "LH400",
        "DE",
        "FRA",
        "JFK",
        "2026-07-01T10:00:00+02:00",
        "2026-07-01T12:40:00-04:00",
    );
    l["cabin"] = json!("business");
    let c = claim(vec![l.clone()], d.clone());
    let down = only(&c, "EU261");
    assert_eq!(
        down["amount"],
        json!({"amount": "1500.00", "currency": "EUR"}),
        "75 % over 3,500 km"
    );
    assert!(down["citations"].to_string().contains("Art. 10(2)(c)"));
    let mut missing = d;
    missing["fare_paid"] = Value::Null;
    assert_eq!(
        errors(&claim(vec![l], missing)),
        vec!["/disruption/fare_paid"]
    );
}

#[test]
fn uk261_in_pounds_and_both_regimes_where_both_apply() {
    let c = claim(
        vec![with_actual(
            leg(
                "BA117",
                "GB",
                "LHR",
                "JFK",
                "2026-07-01T08:00:00+01:00",
                "2026-07-01T11:00:00-04:00",
            ),
            "2026-07-01T11:00:00+01:00",
            "2026-07-01T14:30:00-04:00",
        )],
        disruption("delay", "technical"),
    );
    let d = decide(&c);
    assert_eq!(
        d["decisions"].as_array().unwrap().len(),
        1,
        "UK261 only: {d}"
    );
    assert_eq!(
        only(&c, "UK261")["amount"],
        json!({"amount": "260.00", "currency": "GBP"})
    );
    // Frankfurt → London on a British carrier: EU261 (departs the EU) and UK261 (arrives in
    // the UK on a UK carrier).
    let c = claim(
        vec![with_actual(
            leg(
                "BA903",
                "GB",
                "FRA",
                "LHR",
                "2026-07-01T08:00:00+02:00",
                "2026-07-01T08:45:00+01:00",
            ),
            "2026-07-01T12:00:00+02:00",
            "2026-07-01T12:45:00+01:00",
        )],
        disruption("delay", "crew_shortage"),
    );
    assert_eq!(only(&c, "EU261")["amount"]["amount"], "250.00");
    assert_eq!(
        only(&c, "UK261")["amount"],
        json!({"amount": "220.00", "currency": "GBP"})
    );
}

#[test]
fn canada_appr_by_carrier_size_control_and_safety() {
    let yyz = |large: Option<bool>, cause: &str, safety: bool| {
        let mut l = with_actual(
            leg(
                "AC123",
                "CA",
                "YYZ",
                "YVR",
                "2026-07-01T08:00:00-04:00",
                "2026-07-01T10:00:00-07:00",
            ),
            "2026-07-01T14:30:00-04:00",
            "2026-07-01T16:30:00-07:00",
        );
        l["operating_carrier_large"] = json!(large);
        let mut d = disruption("delay", cause);
        d["required_for_safety"] = json!(safety);
        claim(vec![l], d)
    };
    assert_eq!(
        only(&yyz(Some(true), "technical", false), "APPR")["amount"],
        json!({"amount": "700.00", "currency": "CAD"})
    );
    assert_eq!(
        only(&yyz(Some(false), "technical", false), "APPR")["amount"]["amount"],
        "250.00"
    );
    assert_eq!(
        only(&yyz(Some(true), "technical", true), "APPR")["eligible"],
        false
    );
    assert_eq!(
        only(&yyz(Some(true), "weather", false), "APPR")["eligible"],
        false
    );
    assert_eq!(
        errors(&yyz(None, "technical", false)),
        vec!["/itinerary/0/operating_carrier_large"]
    );
    let d = decide(&yyz(Some(true), "technical", false));
    assert_eq!(
        d["decisions"].as_array().unwrap().len(),
        1,
        "APPR only within Canada: {d}"
    );
}

#[test]
fn montreal_baggage_limits_and_complaint_windows() {
    let bag = |kind: &str, claimed: &str, currency: &str, days: Value, date: &str| {
        let mut d = disruption(kind, "other");
        d["baggage"] = json!({"claimed": {"amount": claimed, "currency": currency}, "days_to_complaint": days});
        claim(
            vec![leg(
                "LH400",
                "DE",
                "FRA",
                "JFK",
                &format!("{date}T10:00:00+02:00"),
                &format!("{date}T12:40:00-04:00"),
            )],
            d,
        )
    };
    let d = only(
        &bag("baggage_damaged", "2000.00", "SDR", json!(5), "2026-07-01"),
        "MONTREAL",
    );
    assert_eq!(d["amount"], json!({"amount": "1519.00", "currency": "SDR"}));
    assert_eq!(d["reductions"], json!(["art_22_2_limit"]));
    assert_eq!(
        only(
            &bag("baggage_damaged", "200.00", "SDR", json!(9), "2026-07-01"),
            "MONTREAL"
        )["eligible"],
        false
    );
    assert_eq!(
        only(
            &bag("baggage_delayed", "200.00", "SDR", json!(20), "2026-07-01"),
            "MONTREAL"
        )["amount"]["amount"],
        "200.00"
    );
    assert_eq!(
        only(
            &bag("baggage_lost", "5000.00", "SDR", Value::Null, "2024-06-01"),
            "MONTREAL"
        )["amount"]["amount"],
        "1288.00",
        "the limit of its day"
    );
    assert_eq!(
        errors(&bag(
            "baggage_delayed",
            "200.00",
            "SDR",
            Value::Null,
            "2026-07-01"
        )),
        vec!["/disruption/baggage/days_to_complaint"]
    );
    assert_eq!(
        errors(&bag(
            "baggage_lost",
            "200.00",
            "EUR",
            Value::Null,
            "2026-07-01"
        )),
        vec!["/disruption/baggage/claimed/currency"]
    );
    let d = decide(&bag(
        "baggage_lost",
        "200.00",
        "SDR",
        Value::Null,
        "2026-07-01",
    ));
    assert_eq!(
        d["decisions"].as_array().unwrap().len(),
        1,
        "no EU261 for bags: {d}"
    );
}

#[test]
fn bad_input_is_named_field_by_field() {
    let mut bad = leg(
        "LH400",
        "DE",
        "XXX",
        "JFK",
        "2026-07-01T10:00:00+02:00",
        "2026-07-01T03:00:00-04:00",
    );
    bad["cabin"] = json!("steerage");
    let c = json!({"itinerary": [bad], "disruption": {"kind": "delay", "cause": "gremlins"}, "regimes": ["EU999"]});
    let e = errors(&c);
    for pointer in [
        "/itinerary/0/from",
        "/itinerary/0/cabin",
        "/itinerary/0/scheduled_arrival",
        "/disruption/cause",
        "/regimes/0",
    ] {
        assert!(e.contains(&pointer.to_owned()), "{pointer}: {e:?}");
    }
    assert_eq!(
        errors(&json!({"itinerary": []})),
        vec!["/itinerary", "/disruption"]
    );
    let mut cancel = disruption("cancellation", "technical");
    cancel["notice_days"] = Value::Null;
    let c = claim(
        vec![leg(
            "LH400",
            "DE",
            "FRA",
            "JFK",
            "2026-07-01T10:00:00+02:00",
            "2026-07-01T12:40:00-04:00",
        )],
        cancel,
    );
    assert_eq!(
        errors(&c),
        vec!["/disruption/notice_days"],
        "never judged ineligible for a missing fact"
    );
    let gap = claim(
        vec![
            leg(
                "TP572",
                "PT",
                "LIS",
                "FRA",
                "2026-07-01T06:00:00+01:00",
                "2026-07-01T09:50:00+02:00",
            ),
            leg(
                "LH400",
                "DE",
                "MUC",
                "JFK",
                "2026-07-01T10:50:00+02:00",
                "2026-07-01T13:30:00-04:00",
            ),
        ],
        disruption("delay", "technical"),
    );
    assert_eq!(errors(&gap), vec!["/itinerary/1/from"]);
}
