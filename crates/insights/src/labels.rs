//! What pages call each group: tier and seat names, countries, airports with their cities, meal
//! and special service request codes with their meaning, routes, categories and products.

use aloft_customers::model::{MEAL_CODES, SSR_CODES};

/// A tier's (ordered key, label); `None` for an unknown value.
pub fn tier(value: &str) -> Option<(&'static str, &'static str)> {
    Some(match value {
        "blue" => ("1-blue", "Blue"),
        "silver" => ("2-silver", "Silver"),
        "gold" => ("3-gold", "Gold"),
        "platinum" => ("4-platinum", "Platinum"),
        _ => return None,
    })
}

/// A seat preference's (ordered key, label).
pub fn seat(value: &str) -> Option<(&'static str, &'static str)> {
    Some(match value {
        "window" => ("1-window", "Window"),
        "aisle" => ("2-aisle", "Aisle"),
        "middle" => ("3-middle", "Middle"),
        "no_preference" => ("4-none", "No preference"),
        _ => return None,
    })
}

/// A cabin's (ordered key, label).
pub fn cabin(value: &str) -> Option<(&'static str, &'static str)> {
    Some(match value {
        "first" => ("1-first", "First"),
        "business" => ("2-business", "Business"),
        "premium_economy" => ("3-premium", "Premium economy"),
        "economy" => ("4-economy", "Economy"),
        _ => return None,
    })
}

/// `Germany (DE)`, or the code alone if unknown.
pub fn country(code: &str) -> String {
    match crate::countries::COUNTRIES.binary_search_by(|(c, _)| (*c).cmp(code)) {
        Ok(i) => format!("{} ({code})", crate::countries::COUNTRIES[i].1),
        Err(_) => code.to_owned(),
    }
}

/// `LHR London`, or the code alone if unknown.
pub fn airport(code: &str) -> String {
    match aloft_travel::airports::lookup(code) {
        Some(a) if !a.city.is_empty() => format!("{code} {}", a.city),
        _ => code.to_owned(),
    }
}

/// `LHR → JFK` with `London – New York` beside, when the cities are known.
pub fn route(from: &str, to: &str) -> (String, Option<String>) {
    let city = |code: &str| {
        aloft_travel::airports::lookup(code)
            .map(|a| a.city.clone())
            .filter(|c| !c.is_empty())
    };
    let detail = match (city(from), city(to)) {
        (Some(a), Some(b)) => Some(format!("{a} – {b}")),
        _ => None,
    };
    (format!("{from} → {to}"), detail)
}

/// `VGML Vegan meal`.
pub fn meal(code: &str) -> String {
    match MEAL_CODES.iter().find(|(c, _)| *c == code) {
        Some((_, name)) => format!("{code} {name}"),
        None => code.to_owned(),
    }
}

/// `WCHR Wheelchair to the aircraft door; can climb stairs`.
pub fn ssr(code: &str) -> String {
    match SSR_CODES.iter().find(|(c, _)| *c == code) {
        Some((_, name)) => format!("{code} {name}"),
        None => code.to_owned(),
    }
}

/// An ancillary type's (key, label) as a purchase category.
pub fn ancillary(kind: &str) -> (String, String) {
    let label = match kind {
        "seat" => "Seat selection",
        "bag" => "Extra baggage",
        "meal" => "Pre-ordered meal",
        "wifi" => "Wi-Fi",
        "lounge" => "Lounge access",
        "priority" => "Priority services",
        "upgrade" => "Upgrade",
        _ => "Other services",
    };
    (format!("ancillary.{kind}"), label.to_owned())
}

/// A shop channel's (key, label) as a purchase category.
pub fn channel(channel: &str) -> (String, String) {
    let label = match channel {
        "inflight" => "In-flight shop",
        "web" => "Web shop",
        _ => "Other shop",
    };
    (format!("shop.{channel}"), label.to_owned())
}

/// `Duty-free fragrance (DF-104)`.
pub fn product(sku: &str, description: &str) -> String {
    let description = description.trim();
    if description.is_empty() {
        sku.to_owned()
    } else {
        let short: String = description.chars().take(60).collect();
        format!("{short} ({sku})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_get_their_names() {
        assert_eq!(country("DE"), "Germany (DE)");
        assert_eq!(country("XX"), "XX");
        assert!(airport("LHR").starts_with("LHR "), "{}", airport("LHR"));
        assert_eq!(meal("VGML"), "VGML Vegan meal");
        assert!(
            crate::countries::COUNTRIES
                .windows(2)
                .all(|w| w[0].0 < w[1].0)
        );
    }
}
