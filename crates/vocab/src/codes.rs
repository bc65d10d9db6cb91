//! IATA codes that several domains exchange: [`AirportCode`] and [`FlightNumber`].
//!
//! Only the *format* is checked here. Whether an airport exists is a question for reference
//! data, which the travel domain owns (`aloft_travel::airports::known`); a customer's home
//! airport needs only the format. Why one type for both: a code the customer domain accepted
//! and one the travel domain accepted are then comparable without conversion.

crate::string_newtype!(
    AirportCode,
    "An IATA three-letter airport code, upper case (`LHR`)."
);
crate::string_newtype!(
    FlightNumber,
    "A flight designator: IATA airline designator (two characters, at least one a letter), \
     1–4 digits without leading zeros, optional operational suffix letter (`BA117`, `EK5`, `U21234A`)."
);

impl AirportCode {
    /// Three letters A–Z, any case (upper-cased), surrounding spaces ignored.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_uppercase();
        if t.len() == 3 && t.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(t))
        } else {
            Err("must be a three-letter IATA airport code such as DXB".into())
        }
    }
}

impl FlightNumber {
    /// Designator + number + optional suffix; spaces between designator and number are dropped,
    /// leading zeros of the number are removed (`BA 0117` → `BA117`), so the same flight always
    /// has the same text (rosters are matched against bookings by it).
    pub fn parse(s: &str) -> Result<Self, String> {
        const MSG: &str = "must be a flight number: a two-character IATA airline designator, \
                           1–4 digits and an optional suffix letter, e.g. BA117";
        let t: String = s
            .trim()
            .chars()
            .filter(|c| *c != ' ')
            .collect::<String>()
            .to_ascii_uppercase();
        let b = t.as_bytes();
        if b.len() < 3 || !b.iter().all(u8::is_ascii_alphanumeric) {
            return Err(MSG.into());
        }
        let (airline, rest) = t.split_at(2);
        if airline.bytes().all(|c| c.is_ascii_digit()) {
            return Err(MSG.into());
        }
        let (digits, suffix) = match rest.as_bytes().last() {
            Some(c) if c.is_ascii_alphabetic() => rest.split_at(rest.len() - 1),
            _ => (rest, ""),
        };
        if !(1..=4).contains(&digits.len()) || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return Err(MSG.into());
        }
        let number = digits.trim_start_matches('0');
        if number.is_empty() {
            return Err("must be a flight number above zero".into());
        }
        Ok(Self(format!("{airline}{number}{suffix}")))
    }

    /// The airline designator (`BA`).
    pub fn airline(&self) -> &str {
        &self.0[..2]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::Rng;

    #[test]
    fn airport_codes_are_three_letters_upper_cased() {
        assert_eq!(AirportCode::parse(" dxb ").unwrap().as_str(), "DXB");
        for bad in ["DX", "DXBB", "D1B", "", "ÄXB", "D B"] {
            assert!(AirportCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flight_numbers_are_canonical() {
        assert_eq!(FlightNumber::parse("ba 0117").unwrap().as_str(), "BA117");
        assert_eq!(FlightNumber::parse("U21234A").unwrap().as_str(), "U21234A");
        assert_eq!(FlightNumber::parse("EK5").unwrap().airline(), "EK");
        for bad in [
            "BA",
            "12345",
            "BA12345",
            "BA0",
            "B-117",
            "BA117AB",
            "BA 11 7 X1",
        ] {
            assert!(FlightNumber::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            FlightNumber::parse("BA000").unwrap_err(),
            "must be a flight number above zero"
        );
    }

    #[test]
    fn errors_never_echo_the_input() {
        let e = FlightNumber::parse("SECRET1").unwrap_err();
        assert!(!e.contains("SECRET"));
        let e = AirportCode::parse("SECRET").unwrap_err();
        assert!(!e.contains("SECRET"));
    }

    /// Property: whatever parses, its text parses again to the same value (canonical form is a
    /// fixed point), for both codes.
    #[test]
    fn parse_of_display_is_identity() {
        let alphabet: Vec<char> = "ABZabz019 0-".chars().collect();
        let mut rng = Rng::new(7);
        let (mut flights, mut airports) = (0, 0);
        for _ in 0..50_000 {
            let s = rng.string(&alphabet, 8);
            if let Ok(f) = FlightNumber::parse(&s) {
                flights += 1;
                assert_eq!(
                    FlightNumber::parse(&f.to_string()).as_ref(),
                    Ok(&f),
                    "{s:?}"
                );
            }
            if let Ok(a) = AirportCode::parse(&s) {
                airports += 1;
                assert_eq!(AirportCode::parse(a.as_str()).as_ref(), Ok(&a), "{s:?}");
            }
        }
        assert!(flights > 100 && airports > 100, "{flights} {airports}");
    }
}
