//! What departure control shows about each passenger of a flight, assembled from the profile
//! (customers), the booking segment and recent records (travel): seat, tier, special service
//! requests and assistance, special meal, documents to check, birthday on the day, recent
//! disruption or complaint, preferred drink. Pure: no IO.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde_json::Value;

use aloft_customers::Customer;
use aloft_travel::RecordKind;
use aloft_travel::storage::FlightPassenger;

/// Special service requests that mean a passenger with reduced mobility or another need for
/// assistance (IATA PRM codes: wheelchair, blind, deaf, intellectual disability, meet and
/// assist, medical case, stretcher).
pub const PRM_CODES: &[&str] = &[
    "BLND", "DEAF", "DPNA", "MAAS", "MEDA", "STCR", "WCHC", "WCHR", "WCHS", "WCMP", "WCBD", "WCBW",
    "WCLB", "WCOB",
];

/// What an SSR code means, for the badge's explanation.
pub fn ssr_meaning(code: &str) -> &'static str {
    match code {
        "WCHR" => "Wheelchair: can climb stairs, not walk long distances",
        "WCHS" => "Wheelchair: cannot climb stairs",
        "WCHC" => "Wheelchair: immobile, needs carrying to the seat",
        "WCMP" | "WCBD" | "WCBW" | "WCLB" => "Travels with their own wheelchair",
        "WCOB" => "On-board wheelchair requested",
        "BLND" => "Blind or partially sighted",
        "DEAF" => "Deaf or hard of hearing",
        "DPNA" => "Intellectual or developmental disability: needs assistance",
        "MAAS" => "Meet and assist",
        "MEDA" => "Medical case",
        "STCR" => "Stretcher",
        "UMNR" => "Unaccompanied minor",
        "PETC" => "Pet in the cabin",
        "EXST" => "Extra seat",
        "INFT" => "Travels with an infant",
        "DOCS" => "Travel document details given",
        _ => "Special service request",
    }
}

/// What a special meal code means.
pub fn meal_meaning(code: &str) -> &'static str {
    match code {
        "VGML" => "Vegan meal",
        "VLML" => "Vegetarian (lacto-ovo) meal",
        "AVML" => "Asian vegetarian meal",
        "KSML" => "Kosher meal",
        "MOML" => "Muslim meal",
        "HNML" => "Hindu meal",
        "GFML" => "Gluten-free meal",
        "DBML" => "Diabetic meal",
        "LSML" => "Low-salt meal",
        "CHML" => "Child meal",
        "BBML" => "Baby meal",
        "NLML" => "Lactose-free meal",
        _ => "Special meal",
    }
}

/// Destinations whose entry rules ask most foreign visitors for a visa or an electronic travel
/// authorisation, by ISO country code, with what to check. Advisory: the agent checks the
/// passenger's documents against the airline's entry-rules service (Timatic), which decides.
const ENTRY_AUTHORISATION: &[(&str, &str)] = &[
    ("AU", "Australia: visa or ETA"),
    ("CA", "Canada: visa or eTA"),
    ("CN", "China: visa or visa-free entry"),
    ("GB", "United Kingdom: visa or ETA"),
    ("IN", "India: visa or e-Visa"),
    ("US", "United States: visa or ESTA"),
];

/// One passenger of a flight as departure control sees them.
#[derive(Debug, Clone)]
pub struct PassengerLine {
    /// The customer.
    pub customer: Customer,
    /// The flight key (`EK1 2026-12-06`).
    pub flight: String,
    /// `SURNAME, Given`.
    pub name: String,
    /// Booking reference.
    pub pnr: String,
    /// Seat, if assigned.
    pub seat: Option<String>,
    /// Cabin (`economy`, `business`…).
    pub cabin: String,
    /// Destination (IATA).
    pub destination: String,
    /// Scheduled departure (UTC).
    pub departure: DateTime<Utc>,
    /// What is known of the segment's status (`scheduled`, `cancelled`…).
    pub status: String,
    /// Bags tagged on the segment.
    pub bags: usize,
    /// E-ticket number.
    pub ticket: Option<String>,
    /// Loyalty tier (`gold`).
    pub tier: Option<String>,
    /// Standing special service requests.
    pub ssrs: Vec<String>,
    /// Special meal (booked for this flight, else the stated preference).
    pub meal: Option<String>,
    /// Preferred drink, in the customer's words.
    pub drink: Option<String>,
    /// Whether their birthday falls on the flight's local date.
    pub birthday: bool,
    /// Documents the agent should check, in sentences.
    pub documents: Vec<String>,
    /// A recent disruption of theirs (delay, cancellation, involuntary rebooking).
    pub disruption: Option<String>,
    /// A recent complaint of theirs.
    pub complaint: Option<String>,
    /// Their check-in for this flight, if Aloft knows of one.
    pub checked_in: Option<crate::checkins::CheckIn>,
}

impl PassengerLine {
    /// Whether any SSR is a PRM code (assistance needed).
    pub fn prm(&self) -> bool {
        self.ssrs.iter().any(|s| PRM_CODES.contains(&s.as_str()))
    }

    /// Whether the tier is one of the top two.
    pub fn top_tier(&self) -> bool {
        matches!(self.tier.as_deref(), Some("gold" | "platinum"))
    }

    /// Seat sort key: row number, then letter; no seat last.
    pub fn seat_key(&self) -> (u32, String, String) {
        match &self.seat {
            Some(s) => {
                let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
                (
                    digits.parse().unwrap_or(u32::MAX - 1),
                    s[digits.len()..].to_owned(),
                    self.name.clone(),
                )
            }
            None => (u32::MAX, String::new(), self.name.clone()),
        }
    }
}

/// The records of a passenger's recent history that matter on the day (see [`assemble`]).
#[derive(Debug, Default, Clone)]
pub struct History<'a> {
    /// Recent records: `(kind, plain document)`.
    pub records: Vec<(RecordKind, &'a Value)>,
}

/// How far back a disruption or complaint is worth telling the crew and the agent.
pub const RECENT: Duration = Duration::days(90);

/// The segment of `entry`'s booking that departs on its flight from its station.
pub fn segment_of(entry: &FlightPassenger) -> Option<&Value> {
    let (number, _) = entry.flight.split_once(' ')?;
    entry.booking["segments"].as_array()?.iter().find(|s| {
        s["flight_number"].as_str() == Some(number) && s["origin"].as_str() == Some(&entry.station)
    })
}

/// One passenger's line: `entry` (their flight entry and booking), their profile, the flight's
/// local date and destination country, and their recent records.
pub fn assemble(
    entry: &FlightPassenger,
    customer: Customer,
    local_date: NaiveDate,
    destination_country: Option<&str>,
    history: &History<'_>,
) -> PassengerLine {
    let segment = segment_of(entry);
    let text = |key: &str| segment.and_then(|s| s[key].as_str()).map(str::to_owned);
    let pnr = entry.booking["record_locator"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let p = &customer.profile;
    let name = format!(
        "{}, {}",
        p.last_name.as_str().to_uppercase(),
        p.first_name.as_str()
    );
    // A meal booked for this flight beats the standing preference.
    let flight_number = entry
        .flight
        .split_once(' ')
        .map(|f| f.0)
        .unwrap_or_default();
    let booked_meal = history.records.iter().find_map(|(kind, doc)| {
        (*kind == RecordKind::Ancillary
            && doc["ancillary_type"].as_str() == Some("meal")
            && doc["record_locator"].as_str() == Some(pnr.as_str())
            && doc["status"].as_str() != Some("cancelled")
            && doc["flight_number"]
                .as_str()
                .is_none_or(|f| f == flight_number))
        .then(|| doc["attributes"]["meal_code"].as_str().map(str::to_owned))
        .flatten()
    });
    let meal = booked_meal.or_else(|| p.preferences.meal.as_ref().map(|m| m.as_str().to_owned()));
    let birthday = p
        .date_of_birth
        .is_some_and(|dob| same_day_of_year(dob, local_date));
    let documents = documents_to_check(
        p.nationality.as_ref().map(|c| c.as_str()),
        p.passport_expiry,
        local_date,
        destination_country,
        entry.station.as_str(),
    );
    let disruption = history
        .records
        .iter()
        .filter(|(kind, _)| *kind == RecordKind::Booking)
        .flat_map(|(_, doc)| doc["segments"].as_array().into_iter().flatten())
        .filter(|s| {
            s["scheduled_departure_utc"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .is_some_and(|t| t < entry.departure)
        })
        .filter_map(|s| {
            let status = s["status"].as_str()?;
            let what = match status {
                "delayed" => {
                    let minutes = s["delay_minutes"].as_u64().unwrap_or(0);
                    if minutes < 60 {
                        return None;
                    }
                    format!("Delayed {} h {:02} min", minutes / 60, minutes % 60)
                }
                "cancelled" => "Cancelled".to_owned(),
                "involuntarily_rebooked" => "Rebooked by us".to_owned(),
                _ => return None,
            };
            let when = s["scheduled_departure_local"]
                .as_str()?
                .get(..10)?
                .to_owned();
            Some((
                when.clone(),
                format!(
                    "{what}: {} on {}",
                    s["flight_number"].as_str()?,
                    short_date(&when)
                ),
            ))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, text)| text);
    let complaint = history
        .records
        .iter()
        .filter(|(kind, doc)| {
            *kind == RecordKind::Feedback && doc["kind"].as_str() == Some("complaint")
        })
        .filter_map(|(_, doc)| {
            doc["submitted_at"]
                .as_str()
                .and_then(|t| t.get(..10))
                .map(str::to_owned)
        })
        .max()
        .map(|day| format!("Complaint on {}", short_date(&day)));
    PassengerLine {
        flight: entry.flight.clone(),
        name,
        pnr,
        seat: text("seat"),
        cabin: text("cabin").unwrap_or_else(|| "economy".into()),
        destination: text("destination").unwrap_or_default(),
        departure: entry.departure,
        status: text("status").unwrap_or_else(|| "scheduled".into()),
        bags: segment
            .and_then(|s| s["bag_tags"].as_array())
            .map_or(0, Vec::len),
        ticket: text("ticket_number"),
        tier: p.loyalty_tier.map(|t| t.as_str().to_owned()),
        ssrs: p
            .preferences
            .special_service_requests
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
        meal,
        drink: p.preferences.drink.as_ref().map(|d| d.as_str().to_owned()),
        birthday,
        documents,
        disruption,
        complaint,
        customer,
        checked_in: None,
    }
}

/// `2026-11-22` → `22 Nov`.
fn short_date(day: &str) -> String {
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map(|d| d.format("%-d %b").to_string())
        .unwrap_or_else(|_| day.to_owned())
}

/// Whether `dob`'s birthday falls on `day` (29 February is celebrated on 28 February in years
/// without one).
pub fn same_day_of_year(dob: NaiveDate, day: NaiveDate) -> bool {
    if dob.month() == 2 && dob.day() == 29 && NaiveDate::from_ymd_opt(day.year(), 2, 29).is_none() {
        return day.month() == 2 && day.day() == 28;
    }
    dob.month() == day.month() && dob.day() == day.day()
}

/// The documents an agent should look at before accepting the passenger, in sentences: an
/// expired passport, one valid for less than six months after the flight (many countries' rule),
/// no passport on file for an international flight, and a destination that asks foreign
/// visitors for a visa or travel authorisation.
pub fn documents_to_check(
    nationality: Option<&str>,
    passport_expiry: Option<NaiveDate>,
    flight_date: NaiveDate,
    destination_country: Option<&str>,
    origin: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    let origin_country = aloft_travel::airports::lookup(origin).map(|a| a.country.as_str());
    let international = match (origin_country, destination_country) {
        (Some(o), Some(d)) => o != d,
        _ => true,
    };
    match passport_expiry {
        Some(expiry) if expiry < flight_date => {
            out.push(format!("Passport expired {}", expiry.format("%-d %b %Y")));
        }
        Some(expiry) if international && expiry < flight_date + chrono::Months::new(6) => {
            out.push(format!(
                "Passport under 6 months: expires {}",
                expiry.format("%-d %b %Y")
            ));
        }
        None if international => out.push("No passport on file".into()),
        _ => {}
    }
    if let Some(dest) = destination_country
        && international
        && nationality != Some(dest)
        && let Some((_, rule)) = ENTRY_AUTHORISATION.iter().find(|(c, _)| *c == dest)
    {
        out.push((*rule).to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn birthdays_on_the_day_including_the_29th_of_february() {
        assert!(same_day_of_year(day("1980-12-06"), day("2026-12-06")));
        assert!(!same_day_of_year(day("1980-12-07"), day("2026-12-06")));
        assert!(same_day_of_year(day("1984-02-29"), day("2027-02-28")));
        assert!(!same_day_of_year(day("1984-02-29"), day("2028-02-28")));
        assert!(same_day_of_year(day("1984-02-29"), day("2028-02-29")));
    }

    #[test]
    fn documents_to_check_name_expiry_missing_passports_and_entry_rules() {
        let flight = day("2026-12-06");
        // Dubai to London, a UAE national with a passport valid for years: the UK asks for a
        // visa or ETA.
        assert_eq!(
            documents_to_check(
                Some("AE"),
                Some(day("2030-01-01")),
                flight,
                Some("GB"),
                "DXB"
            ),
            ["United Kingdom: visa or ETA"]
        );
        // A British national going home: nothing.
        assert!(
            documents_to_check(
                Some("GB"),
                Some(day("2030-01-01")),
                flight,
                Some("GB"),
                "DXB"
            )
            .is_empty()
        );
        assert_eq!(
            documents_to_check(
                Some("GB"),
                Some(day("2026-12-01")),
                flight,
                Some("GB"),
                "DXB"
            ),
            ["Passport expired 1 Dec 2026"]
        );
        assert_eq!(
            documents_to_check(
                Some("FR"),
                Some(day("2027-03-01")),
                flight,
                Some("IN"),
                "DXB"
            ),
            [
                "Passport under 6 months: expires 1 Mar 2027",
                "India: visa or e-Visa"
            ]
        );
        assert_eq!(
            documents_to_check(None, None, flight, Some("AE"), "LHR"),
            ["No passport on file"]
        );
        // A domestic flight needs neither a passport on file nor an entry check.
        assert!(documents_to_check(None, None, flight, Some("US"), "JFK").is_empty());
    }

    #[test]
    fn prm_codes_are_the_assistance_ones() {
        assert!(PRM_CODES.contains(&"WCHR"));
        assert!(!PRM_CODES.contains(&"PETC"));
        assert_eq!(meal_meaning("KSML"), "Kosher meal");
        assert!(ssr_meaning("WCHC").contains("carrying"));
    }
}
