//! The dashboard facts of one customer, derived from what they wrote, flew and bought (pure: the
//! caller reads and opens the records and passes `now` and the sentiment model).
//!
//! A text becomes its sentiment label, score and airline topics; its words are not kept. A
//! booked flight whose departure has passed becomes flown, cancelled or delayed (≥ 180 minutes,
//! the threshold segments and compensation use) with the customer's stated seat and meal
//! preference. An ancillary or shop purchase becomes a sale with its category, product and
//! units. Each fact carries the route it concerns when it can be told: the flight it names, else
//! the booking it names (the leg departing last before it, else the first).

use chrono::{DateTime, Utc};
use serde_json::Value;

use aloft_sentiment::Model;

/// A delay from which a flight counts as disrupted (minutes).
pub const DISRUPTIVE_DELAY_MINUTES: i64 = 180;

/// Case categories that are not complaints (praise, ideas, questions, assistance requests).
const NOT_COMPLAINTS: &[&str] = &[
    "compliment",
    "suggestion",
    "general_enquiry",
    "special_assistance",
];

/// A free text's sentiment.
#[derive(Debug, Clone, PartialEq)]
pub struct TextFact {
    /// `text:<record id>`, `case:<case id>`, `case-message:<entry id>`.
    pub id: String,
    /// `interaction`, `feedback`, `case`, `case_message`.
    pub source: &'static str,
    /// When it was written.
    pub occurred_at: DateTime<Utc>,
    /// `FRA-JFK`, when known.
    pub route: Option<String>,
    /// `negative`, `neutral`, `positive`.
    pub label: &'static str,
    /// The score × 1000.
    pub score_milli: i64,
    /// `,delay,baggage,` (empty: `,`).
    pub topics: String,
    /// A complaint.
    pub complaint: bool,
}

/// A departed flight.
#[derive(Debug, Clone, PartialEq)]
pub struct FlightFact {
    /// `<booking record id>.<segment index>`.
    pub id: String,
    /// Scheduled departure.
    pub departed_at: DateTime<Utc>,
    /// `FRA-JFK`.
    pub route: String,
    /// `flown`, `cancelled`, `delayed`.
    pub status: &'static str,
    /// Minutes late (0 when unknown).
    pub delay_minutes: i64,
    /// Cabin code.
    pub cabin: Option<String>,
    /// Stated seat preference.
    pub seat_preference: Option<String>,
    /// Stated special meal.
    pub meal_preference: Option<String>,
}

/// A sale.
#[derive(Debug, Clone, PartialEq)]
pub struct SaleFact {
    /// `<record id>` or `<record id>.<item index>`.
    pub id: String,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// `FRA-JFK`, when known.
    pub route: Option<String>,
    /// Category key (`ancillary.meal`, `shop.inflight`; [`crate::labels`]).
    pub category: String,
    /// Product code (SKU, meal code).
    pub product: Option<String>,
    /// The product's label (the shop's description, not what a person wrote).
    pub product_label: Option<String>,
    /// Units.
    pub units: i64,
}

/// Everything derived for one customer.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Derived {
    /// Texts.
    pub texts: Vec<TextFact>,
    /// Departed flights.
    pub flights: Vec<FlightFact>,
    /// Sales.
    pub sales: Vec<SaleFact>,
}

/// A travel record as the caller read it (sealed fields opened).
#[derive(Debug, Clone)]
pub struct RecordIn {
    /// Its id.
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// The document.
    pub doc: Value,
}

/// A case with the customer's own words on it.
#[derive(Debug, Clone)]
pub struct CaseIn {
    /// Its id.
    pub id: String,
    /// Category code.
    pub category: String,
    /// Subject and description.
    pub text: String,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    /// The booking it is about.
    pub booking_reference: Option<String>,
    /// `LH400 2026-07-01`.
    pub flight: Option<String>,
    /// The customer's messages: entry id, when, words.
    pub messages: Vec<(i64, DateTime<Utc>, String)>,
}

struct Leg {
    locator: Option<String>,
    flight: Option<String>,
    departs: DateTime<Utc>,
    route: String,
}

fn text(v: &Value, k: &str) -> Option<String> {
    v.get(k)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
}

/// `LH 0400` → `LH400`: the canonical flight number, for matching.
fn flight_key(s: &str) -> String {
    let compact: String = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    // Two-character designators may end in a digit (`U2`): keep the first two characters as is.
    if compact.len() >= 3 && compact.is_char_boundary(2) {
        let (designator, number) = compact.split_at(2);
        return format!("{designator}{}", number.trim_start_matches('0'));
    }
    compact
}

fn time(v: &Value, k: &str) -> Option<DateTime<Utc>> {
    text(v, k)
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn legs(records: &[RecordIn]) -> Vec<Leg> {
    let mut out = Vec::new();
    for r in records.iter().filter(|r| r.kind == "booking") {
        let locator = text(&r.doc, "record_locator");
        for s in r
            .doc
            .get("segments")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (Some(from), Some(to), Some(departs)) = (
                text(s, "origin"),
                text(s, "destination"),
                time(s, "scheduled_departure_utc"),
            ) else {
                continue;
            };
            out.push(Leg {
                locator: locator.clone(),
                flight: text(s, "flight_number").map(|f| flight_key(&f)),
                departs,
                route: format!("{from}-{to}"),
            });
        }
    }
    out.sort_by_key(|l| l.departs);
    out
}

/// The route a fact concerns: the leg with `flight` nearest in time to `at` (within 3 days);
/// else the leg of booking `locator` departing last before `at`, else its first.
fn route_of(
    legs: &[Leg],
    flight: Option<&str>,
    locator: Option<&str>,
    at: DateTime<Utc>,
) -> Option<String> {
    if let Some(f) = flight.map(flight_key) {
        let best = legs
            .iter()
            .filter(|l| l.flight.as_deref() == Some(f.as_str()))
            .min_by_key(|l| (l.departs - at).num_minutes().abs());
        if let Some(l) = best.filter(|l| (l.departs - at).num_days().abs() <= 3) {
            return Some(l.route.clone());
        }
    }
    let locator = locator?;
    let of_booking: Vec<&Leg> = legs
        .iter()
        .filter(|l| l.locator.as_deref() == Some(locator))
        .collect();
    of_booking
        .iter()
        .rev()
        .find(|l| l.departs <= at)
        .or_else(|| of_booking.first())
        .map(|l| l.route.clone())
}

fn analysed(model: &Model, words: &str) -> (&'static str, i64, String) {
    let a = model.analyse(words);
    let mut topics = String::from(",");
    for t in &a.topics {
        topics.push_str(t.as_str());
        topics.push(',');
    }
    (
        a.label.as_str(),
        (f64::from(a.score) * 1000.0).round() as i64,
        topics,
    )
}

/// Derives one customer's facts. `seat`/`meal` are the stated preferences.
pub fn derive(
    seat: Option<&str>,
    meal: Option<&str>,
    records: &[RecordIn],
    cases: &[CaseIn],
    now: DateTime<Utc>,
    model: &Model,
) -> Derived {
    let legs = legs(records);
    let mut out = Derived::default();
    for r in records {
        match r.kind.as_str() {
            "booking" => {
                for (i, s) in r
                    .doc
                    .get("segments")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let (Some(from), Some(to), Some(departs)) = (
                        text(s, "origin"),
                        text(s, "destination"),
                        time(s, "scheduled_departure_utc"),
                    ) else {
                        continue;
                    };
                    if departs > now {
                        continue;
                    }
                    let delay = s.get("delay_minutes").and_then(Value::as_i64).unwrap_or(0);
                    let status = if text(s, "status").as_deref() == Some("cancelled") {
                        "cancelled"
                    } else if delay >= DISRUPTIVE_DELAY_MINUTES {
                        "delayed"
                    } else {
                        "flown"
                    };
                    out.flights.push(FlightFact {
                        id: format!("{}.{i}", r.id),
                        departed_at: departs,
                        route: format!("{from}-{to}"),
                        status,
                        delay_minutes: delay.max(0),
                        cabin: text(s, "cabin"),
                        seat_preference: seat.map(str::to_owned),
                        meal_preference: meal.map(str::to_owned),
                    });
                }
            }
            "interaction" | "feedback" => {
                let words = match r.kind.as_str() {
                    "interaction" => [text(&r.doc, "subject"), text(&r.doc, "body")]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join("\n"),
                    _ => text(&r.doc, "text").unwrap_or_default(),
                };
                if words.trim().is_empty() {
                    continue;
                }
                let (label, score_milli, topics) = analysed(model, &words);
                let flight = text(&r.doc, "flight_number");
                let locator = text(&r.doc, "record_locator");
                out.texts.push(TextFact {
                    id: format!("text:{}", r.id),
                    source: if r.kind == "interaction" {
                        "interaction"
                    } else {
                        "feedback"
                    },
                    occurred_at: r.occurred_at,
                    route: route_of(&legs, flight.as_deref(), locator.as_deref(), r.occurred_at),
                    label,
                    score_milli,
                    topics,
                    complaint: r.kind == "feedback"
                        && text(&r.doc, "kind").as_deref() == Some("complaint"),
                });
            }
            "ancillary" => {
                let Some(kind) = text(&r.doc, "ancillary_type") else {
                    continue;
                };
                let product = (kind == "meal")
                    .then(|| {
                        r.doc
                            .get("attributes")
                            .and_then(|a| a.get("meal_code"))
                            .and_then(Value::as_str)
                            .map(str::to_ascii_uppercase)
                    })
                    .flatten();
                let flight = text(&r.doc, "flight_number");
                let locator = text(&r.doc, "record_locator");
                out.sales.push(SaleFact {
                    id: r.id.clone(),
                    occurred_at: r.occurred_at,
                    route: route_of(&legs, flight.as_deref(), locator.as_deref(), r.occurred_at),
                    category: crate::labels::ancillary(&kind).0,
                    product_label: product.as_deref().map(crate::labels::meal),
                    product,
                    units: 1,
                });
            }
            "purchase" => {
                let channel = text(&r.doc, "channel").unwrap_or_else(|| "other".into());
                let flight = text(&r.doc, "flight_number");
                let route = route_of(&legs, flight.as_deref(), None, r.occurred_at);
                for (i, item) in r
                    .doc
                    .get("items")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let sku = text(item, "sku");
                    let description = text(item, "description").unwrap_or_default();
                    out.sales.push(SaleFact {
                        id: format!("{}.{i}", r.id),
                        occurred_at: r.occurred_at,
                        route: route.clone(),
                        category: crate::labels::channel(&channel).0,
                        product_label: sku
                            .as_deref()
                            .map(|s| crate::labels::product(s, &description)),
                        product: sku,
                        units: item.get("quantity").and_then(Value::as_i64).unwrap_or(1),
                    });
                }
            }
            _ => {}
        }
    }
    for c in cases {
        let complaint = !NOT_COMPLAINTS.contains(&c.category.as_str());
        let (flight, day) = match c.flight.as_deref().and_then(|f| f.split_once(' ')) {
            Some((f, d)) => (
                Some(f.to_owned()),
                chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(12, 0, 0))
                    .map(|t| t.and_utc()),
            ),
            None => (c.flight.clone(), None),
        };
        let route = route_of(
            &legs,
            flight.as_deref(),
            c.booking_reference.as_deref(),
            day.unwrap_or(c.opened_at),
        );
        if !c.text.trim().is_empty() {
            let (label, score_milli, topics) = analysed(model, &c.text);
            out.texts.push(TextFact {
                id: format!("case:{}", c.id),
                source: "case",
                occurred_at: c.opened_at,
                route: route.clone(),
                label,
                score_milli,
                topics,
                complaint,
            });
        }
        for (entry, at, words) in &c.messages {
            if words.trim().is_empty() {
                continue;
            }
            let (label, score_milli, topics) = analysed(model, words);
            out.texts.push(TextFact {
                id: format!("case-message:{entry}"),
                source: "case_message",
                occurred_at: *at,
                route: route.clone(),
                label,
                score_milli,
                topics,
                complaint,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn rec(id: &str, kind: &str, at: &str, doc: Value) -> RecordIn {
        RecordIn {
            id: id.into(),
            kind: kind.into(),
            occurred_at: t(at),
            doc,
        }
    }

    #[test]
    fn flights_texts_and_sales_with_their_routes() {
        let now = t("2026-12-06T12:00:00Z");
        let records = vec![
            rec(
                "b1",
                "booking",
                "2026-11-01T08:00:00Z",
                json!({"record_locator": "ABC123", "segments": [
                    {"flight_number": "LH400", "origin": "FRA", "destination": "JFK", "cabin": "economy",
                     "scheduled_departure_utc": "2026-11-01T08:00:00Z", "status": "flown", "delay_minutes": 200},
                    {"flight_number": "LH401", "origin": "JFK", "destination": "FRA",
                     "scheduled_departure_utc": "2026-11-10T20:00:00Z", "status": "cancelled"},
                    {"flight_number": "LH402", "origin": "FRA", "destination": "LIS",
                     "scheduled_departure_utc": "2027-01-10T20:00:00Z", "status": "confirmed"}]}),
            ),
            rec(
                "f1",
                "feedback",
                "2026-11-02T08:00:00Z",
                json!({"kind": "complaint", "flight_number": "LH 0400",
                       "text": "Terrible delay, we waited five hours and nobody helped."}),
            ),
            rec(
                "i1",
                "interaction",
                "2026-11-12T08:00:00Z",
                json!({"record_locator": "ABC123", "subject": "Thanks", "body": "Great and friendly staff, thank you!"}),
            ),
            rec(
                "p1",
                "purchase",
                "2026-11-01T09:00:00Z",
                json!({"channel": "inflight", "flight_number": "LH400",
                       "items": [{"sku": "DF-1", "description": "Fragrance", "quantity": 2}]}),
            ),
        ];
        let cases = vec![CaseIn {
            id: "c1".into(),
            category: "baggage".into(),
            text: "Lost bag\nMy suitcase never arrived".into(),
            opened_at: t("2026-11-11T08:00:00Z"),
            booking_reference: None,
            flight: Some("LH401 2026-11-10".into()),
            messages: vec![(
                7,
                t("2026-11-12T08:00:00Z"),
                "Still no news of my bag, this is awful".into(),
            )],
        }];
        let d = derive(
            Some("aisle"),
            Some("VGML"),
            &records,
            &cases,
            now,
            &Model::builtin(),
        );
        let statuses: Vec<_> = d
            .flights
            .iter()
            .map(|f| (f.route.as_str(), f.status))
            .collect();
        assert_eq!(
            statuses,
            vec![("FRA-JFK", "delayed"), ("JFK-FRA", "cancelled")]
        );
        assert_eq!(d.flights[0].meal_preference.as_deref(), Some("VGML"));
        let f = d.texts.iter().find(|x| x.id == "text:f1").unwrap();
        assert_eq!(
            (f.label, f.route.as_deref(), f.complaint),
            ("negative", Some("FRA-JFK"), true)
        );
        assert!(f.topics.contains(",delay,"), "{}", f.topics);
        let i = d.texts.iter().find(|x| x.id == "text:i1").unwrap();
        // The booking's leg departing last before the interaction.
        assert_eq!(
            (i.label, i.route.as_deref(), i.complaint),
            ("positive", Some("JFK-FRA"), false)
        );
        let c = d.texts.iter().find(|x| x.id == "case:c1").unwrap();
        assert_eq!((c.route.as_deref(), c.complaint), (Some("JFK-FRA"), true));
        assert!(c.topics.contains(",baggage,"));
        let m = d.texts.iter().find(|x| x.id == "case-message:7").unwrap();
        assert_eq!((m.label, m.source), ("negative", "case_message"));
        assert_eq!(d.sales.len(), 1);
        assert_eq!(
            (
                d.sales[0].route.as_deref(),
                d.sales[0].units,
                d.sales[0].category.as_str()
            ),
            (Some("FRA-JFK"), 2, "shop.inflight")
        );
    }

    #[test]
    fn flight_numbers_match_in_any_spelling() {
        assert_eq!(flight_key("LH 0400"), "LH400");
        assert_eq!(flight_key("lh400"), "LH400");
        assert_eq!(flight_key("U2 12"), "U212");
    }
}
