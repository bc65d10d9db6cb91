//! Order preferences learned from history, and the suggestion for an upcoming segment.
//!
//! Stated preferences (on the profile) always win: a passenger who said "aisle" gets aisle, with
//! that as the reason. Otherwise Aloft looks at the most recent flights and meal orders and
//! suggests what the passenger chose most often — only when the habit is clear (at least
//! [`MIN_OBSERVATIONS`] observations and [`MIN_SHARE`] of them agreeing), and always says why
//! ("9 of the last 10 flights in an aisle seat"). Pure: the caller passes the documents.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// How many recent observations are considered.
pub const RECENT: usize = 10;
/// Fewest observations for a learned suggestion.
pub const MIN_OBSERVATIONS: usize = 3;
/// Share of observations that must agree (60 %).
pub const MIN_SHARE: f64 = 0.6;

/// Where a suggestion comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The passenger stated it (profile preference).
    Stated,
    /// Learned from their history.
    Learned,
}

/// One suggested choice with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Suggestion {
    /// The value: `aisle`/`window`/`middle` for seats, an IATA meal code for meals.
    pub value: String,
    /// Why, in a sentence an agent can read to the passenger.
    pub reason: String,
    /// Stated or learned.
    pub basis: Basis,
}

/// Suggestions for an upcoming segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Suggestions {
    /// Seat type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seat: Option<Suggestion>,
    /// Special meal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meal: Option<Suggestion>,
}

/// The seat type of a seat like `32K`. Letters follow the common layouts: A and K (and F on
/// single-aisle aircraft, the most common) are windows; C, D, G, H aisles; B, E, J middles. The
/// aircraft type would make this exact; it is not in the booking feeds yet.
pub fn seat_type(seat: &str) -> Option<&'static str> {
    match seat.trim().chars().last()?.to_ascii_uppercase() {
        'A' | 'K' | 'F' => Some("window"),
        'C' | 'D' | 'G' | 'H' => Some("aisle"),
        'B' | 'E' | 'J' => Some("middle"),
        _ => None,
    }
}

/// The most common value if the habit is clear: (value, count, observations).
fn habit(values: &[String]) -> Option<(String, usize, usize)> {
    if values.len() < MIN_OBSERVATIONS {
        return None;
    }
    let mut counts: Vec<(String, usize)> = Vec::new();
    for v in values {
        match counts.iter_mut().find(|(k, _)| k == v) {
            Some((_, n)) => *n += 1,
            None => counts.push((v.clone(), 1)),
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    let (value, n) = counts.into_iter().next()?;
    (n as f64 / values.len() as f64 >= MIN_SHARE).then_some((value, n, values.len()))
}

/// Seats of the most recent segments (newest first) in booking documents given newest first.
pub fn recent_seats(bookings: &[Value]) -> Vec<String> {
    bookings
        .iter()
        .flat_map(|b| {
            let mut segs: Vec<&Value> = b["segments"]
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            segs.reverse();
            segs
        })
        .filter(|s| s["status"].as_str() != Some("cancelled"))
        .filter_map(|s| s["seat"].as_str().and_then(seat_type))
        .take(RECENT)
        .map(str::to_owned)
        .collect()
}

/// Meal codes of the most recent meal ancillaries (documents newest first).
pub fn recent_meals(ancillaries: &[Value]) -> Vec<String> {
    ancillaries
        .iter()
        .filter(|a| a["ancillary_type"].as_str() == Some("meal"))
        .filter_map(|a| {
            let attrs = &a["attributes"];
            ["meal_code", "code", "meal"]
                .iter()
                .find_map(|k| attrs[*k].as_str())
                .map(|c| c.trim().to_ascii_uppercase())
        })
        .filter(|c| c.len() == 4 && c.chars().all(|ch| ch.is_ascii_alphabetic()))
        .take(RECENT)
        .collect()
}

/// The suggestions: stated preferences first, then clear habits.
pub fn suggest(
    stated_seat: Option<&str>,
    stated_meal: Option<&str>,
    bookings: &[Value],
    ancillaries: &[Value],
) -> Suggestions {
    let seat = match stated_seat.filter(|s| *s != "no_preference") {
        Some(s) => Some(Suggestion {
            value: s.to_owned(),
            reason: format!("The passenger asked for {s} seats."),
            basis: Basis::Stated,
        }),
        None => habit(&recent_seats(bookings)).map(|(value, n, of)| Suggestion {
            reason: format!(
                "{n} of the last {of} flights in {} {value} seat.",
                if value == "aisle" { "an" } else { "a" }
            ),
            value,
            basis: Basis::Learned,
        }),
    };
    let meal = match stated_meal {
        Some(m) => Some(Suggestion {
            value: m.to_owned(),
            reason: format!("The passenger asked for {m} meals."),
            basis: Basis::Stated,
        }),
        None => habit(&recent_meals(ancillaries)).map(|(value, n, of)| Suggestion {
            reason: format!("{value} on {n} of the last {of} meal orders."),
            value,
            basis: Basis::Learned,
        }),
    };
    Suggestions { seat, meal }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn booking(seats: &[&str]) -> Value {
        json!({"segments": seats.iter().map(|s| json!({"seat": s, "status": "flown"})).collect::<Vec<_>>()})
    }

    #[test]
    fn seat_letters_map_to_types() {
        assert_eq!(seat_type("32K"), Some("window"));
        assert_eq!(seat_type("3c"), Some("aisle"));
        assert_eq!(seat_type("14E"), Some("middle"));
        assert_eq!(seat_type("9Z"), None);
    }

    #[test]
    fn a_clear_habit_is_suggested_with_its_reason() {
        let bookings: Vec<Value> = [
            "12C", "14D", "3C", "22H", "8G", "30C", "17D", "5C", "11D", "40A",
        ]
        .iter()
        .map(|s| booking(&[s]))
        .collect();
        let s = suggest(None, None, &bookings, &[]);
        let seat = s.seat.unwrap();
        assert_eq!(seat.value, "aisle");
        assert_eq!(seat.basis, Basis::Learned);
        assert_eq!(seat.reason, "9 of the last 10 flights in an aisle seat.");
    }

    #[test]
    fn stated_preferences_win_and_unclear_habits_suggest_nothing() {
        let bookings = vec![booking(&["12C", "14A", "3B"])];
        let s = suggest(Some("window"), None, &bookings, &[]);
        assert_eq!(s.seat.unwrap().basis, Basis::Stated);
        assert!(
            suggest(None, None, &bookings, &[]).seat.is_none(),
            "one each: no habit"
        );
        assert!(
            suggest(None, None, &[booking(&["12C", "14C"])], &[])
                .seat
                .is_none(),
            "too few"
        );
    }

    #[test]
    fn meals_are_learned_from_meal_ancillaries() {
        let meals: Vec<Value> = ["VGML", "VGML", "VGML", "AVML"]
            .iter()
            .map(|m| json!({"ancillary_type": "meal", "attributes": {"meal_code": m}}))
            .collect();
        let s = suggest(None, None, &[], &meals);
        assert_eq!(
            s.meal.unwrap().reason,
            "VGML on 3 of the last 4 meal orders."
        );
    }
}
