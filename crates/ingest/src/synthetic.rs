//! Deterministic synthetic source events, for the ingestion benchmark and load tests.
//!
//! `passengers` people, each known to several source systems (voice platform, baggage tracing,
//! lounges, the booking system). As in real feeds, most records carry a loyalty number, but many
//! carry only what the channel knows: a reservation name and an e-mail address, or a name, date
//! of birth and phone number — the records identity resolution must link to the right profile.
//! Every event is valid, so a benchmark measures the whole path, not the rejection path. The
//! same seed gives the same lines.

use serde_json::{Value, json};

const GIVEN: &[&str] = &[
    "JOHN", "MARY", "AHMED", "LAYLA", "WEI", "MEI", "CARLOS", "LUCIA", "HIROSHI", "YUKI", "OLGA",
    "IVAN", "PRIYA", "ARJUN", "FATIMA", "OMAR", "EMMA", "LUCAS", "SOFIA", "MATEO", "AMARA", "KOFI",
    "INGRID", "LARS", "CHLOE", "HUGO", "ANA", "JOAO", "NGOZI", "CHIDI",
];

const SURNAMES: &[&str] = &[
    "SMITH",
    "HADDAD",
    "WANG",
    "GARCIA",
    "TANAKA",
    "IVANOVA",
    "SHARMA",
    "KHAN",
    "MULLER",
    "ROSSI",
    "SILVA",
    "OKAFOR",
    "JOHANSSON",
    "DUBOIS",
    "NGUYEN",
    "KIM",
    "MENSAH",
    "NOVAK",
    "COHEN",
    "PETERSEN",
    "SANTOS",
    "AHMADI",
    "OKONKWO",
    "KOWALSKI",
    "MORENO",
    "BERG",
    "SATO",
    "LEE",
    "MARTIN",
    "HASSAN",
    "TAYLOR",
    "YILMAZ",
    "PEREZ",
    "SCHMIDT",
    "ALI",
    "SINGH",
    "LOPEZ",
    "KUMAR",
    "BROWN",
    "WILSON",
];

const ROUTES: &[(&str, &str, &str, u32)] = &[
    ("BA117", "LHR", "JFK", 8),
    ("LH400", "FRA", "JFK", 9),
    ("EK1", "DXB", "LHR", 7),
    ("AF276", "CDG", "NRT", 14),
    ("SQ26", "FRA", "SIN", 12),
    ("KL611", "AMS", "ORD", 9),
];

const LOUNGES: &[(&str, &str)] = &[
    ("LHR", "Galleries North"),
    ("JFK", "Greenwich Lounge"),
    ("FRA", "Senator Lounge"),
    ("DXB", "Business Lounge"),
];

/// Syllables of the long tail of family names (real populations have a few very common
/// surnames and many rare ones; identity resolution must cope with both).
const SYLLABLES: &[&str] = &[
    "KA", "LO", "MI", "RAN", "TO", "SEN", "BER", "DA", "VI", "NO", "GAR", "TEL", "MOR", "AN", "SU",
    "RI", "HAN", "DOR", "EL", "PA", "KU", "ZA", "LIN", "OS", "BRA", "NE", "TAK", "WEN", "FI", "GO",
    "HEL", "JA", "MAR", "QUI", "SOL", "TRE", "US", "VAL", "YO", "ZEN",
];

/// SplitMix64: tiny, fast and good enough for test data.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// One synthetic person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Given name, upper case.
    pub given: &'static str,
    /// Family name, upper case.
    pub surname: String,
    /// Frequent-flyer number.
    pub loyalty: String,
    /// E-mail address.
    pub email: String,
    /// Phone, E.164.
    pub phone: String,
    /// Date of birth.
    pub dob: String,
}

/// The synthetic person number `p`.
pub fn person(seed: u64, p: u64) -> Person {
    let h = mix(seed ^ p.wrapping_mul(0x2545_F491_4F6C_DD1D));
    let given = GIVEN[(h % GIVEN.len() as u64) as usize];
    let surname = if (h >> 40) % 10 < 3 {
        SURNAMES[((h >> 8) % SURNAMES.len() as u64) as usize].to_owned()
    } else {
        let n = SYLLABLES.len() as u64;
        let mut s = String::new();
        for k in 0..(2 + (h >> 44) % 2) {
            s.push_str(SYLLABLES[((h >> (8 + 6 * k)) % n) as usize]);
        }
        s
    };
    let email = format!(
        "{}.{}.{p}@example.com",
        given.to_ascii_lowercase(),
        surname.to_ascii_lowercase()
    );
    Person {
        given,
        surname,
        loyalty: format!("AL5{:08}", p % 100_000_000),
        email,
        phone: format!("+447700{:06}", p % 1_000_000),
        dob: format!(
            "{}-{:02}-{:02}",
            1950 + (h >> 16) % 55,
            1 + (h >> 24) % 12,
            1 + (h >> 32) % 28
        ),
    }
}

/// Event number `i` of a stream over `passengers` people, as a CloudEvent JSON value. `run` is
/// the records' `data.source` (what `aloft import --source` names) and prefixes event ids, so
/// that separate runs do not collide.
pub fn event(seed: u64, passengers: u64, i: u64, run: &str) -> Value {
    let h = mix(seed.wrapping_add(i));
    let p = h % passengers.max(1);
    let who = person(seed, p);
    let id = format!("{run}-{i}");
    let pnr_name = format!("{}/{}", who.surname, who.given);
    // What the channel knows about the passenger.
    let mut e = match (h >> 20) % 10 {
        0..=5 => {
            json!({"loyaltynumber": who.loyalty, "passengername": pnr_name, "email": who.email,
                        "dateofbirth": who.dob, "phone": who.phone})
        }
        6 | 7 => json!({"passengername": pnr_name, "email": who.email}),
        _ => json!({"passengername": pnr_name, "dateofbirth": who.dob, "phone": who.phone}),
    };
    let day = 1 + (h >> 40) % 28;
    let hour = (h >> 48) % 24;
    let at = format!("2026-03-{day:02}T{hour:02}:{:02}:00Z", i % 60);
    let (kind, system, data) = match (h >> 12) % 4 {
        0 => (
            "com.airline.voice.call",
            "genesys",
            json!({"channel": "call", "direction": "inbound", "occurred_at": at,
                   "subject": "Booking enquiry", "duration_seconds": 60 + (h >> 4) % 900}),
        ),
        1 => {
            let (airport, lounge) = LOUNGES[((h >> 30) % LOUNGES.len() as u64) as usize];
            (
                "com.airline.lounge.visit",
                "lounge-pass",
                json!({"airport": airport, "lounge": lounge, "entered_at": at, "access": "loyalty_tier"}),
            )
        }
        2 => (
            "com.airline.baggage.event",
            "worldtracer",
            json!({"bag_tag": format!("0125{:06}", i % 1_000_000), "event": "checked",
                   "airport": "LHR", "occurred_at": at}),
        ),
        _ => {
            let (flight, from, to, hours) = ROUTES[((h >> 30) % ROUTES.len() as u64) as usize];
            let arrive = (hour as u32 + hours) % 24;
            let next = u32::from(hour as u32 + hours >= 24);
            (
                "com.airline.booking.pnr",
                "amadeus",
                json!({"record_locator": format!("{:06X}", i % 0xFF_FFFF).replace('0', "Q"),
                       "segments": [{"flight_number": flight, "origin": from, "destination": to,
                         "scheduled_departure_local": format!("2026-04-{day:02}T{hour:02}:10"),
                         "scheduled_arrival_local": format!("2026-04-{:02}T{arrive:02}:10", day as u32 + next),
                         "cabin": "economy", "rbd": "Y", "status": "scheduled"}]}),
            )
        }
    };
    let mut data = data;
    data["source"] = json!(run);
    data["source_record_id"] = json!(id);
    e["specversion"] = json!("1.0");
    e["id"] = json!(id);
    e["source"] = json!(format!("/{system}/{run}"));
    e["type"] = json!(kind);
    e["data"] = data;
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_deterministic_and_valid() {
        for i in 0..400 {
            let v = event(7, 50, i, "t");
            assert_eq!(v, event(7, 50, i, "t"));
            let e = crate::envelope::parse_value(i, &v).unwrap();
            aloft_travel::Record::parse(e.kind, &e.data)
                .unwrap_or_else(|errs| panic!("event {i} invalid: {errs:?}\n{v}"));
        }
    }
}
