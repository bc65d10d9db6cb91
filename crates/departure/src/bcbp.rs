//! IATA Bar Coded Boarding Pass (BCBP, Resolution 792), format code `M`: the mandatory items of
//! a boarding pass of one to four legs, as a barcode scanner types them.
//!
//! Layout (positions are 1-based characters, as the resolution numbers them):
//!
//! | item                                  | size | leg 1 at |
//! |---------------------------------------|------|----------|
//! | format code (`M`)                     | 1    | 1        |
//! | number of legs encoded (`1`–`4`)      | 1    | 2        |
//! | passenger name (`SURNAME/GIVEN`)      | 20   | 3        |
//! | electronic ticket indicator (`E`)     | 1    | 23       |
//! | operating carrier PNR code            | 7    | 24       |
//! | from city airport code                | 3    | 31       |
//! | to city airport code                  | 3    | 34       |
//! | operating carrier designator          | 3    | 37       |
//! | flight number                         | 5    | 40       |
//! | date of flight (Julian, `001`–`366`)  | 3    | 45       |
//! | compartment code                      | 1    | 48       |
//! | seat number                           | 4    | 49       |
//! | check-in sequence number              | 5    | 53       |
//! | passenger status                      | 1    | 58       |
//! | size of the variable field (hex)      | 2    | 59       |
//!
//! Each further leg repeats the items from the PNR code on, after the previous leg's variable
//! field (conditional items and airline use, skipped here). Pure: no IO; errors name the item
//! and its position and never repeat the scanned text (a boarding pass is personal data).

use chrono::{Datelike, NaiveDate};

use aloft_vocab::{AirportCode, FlightNumber};

/// Length of the items every pass has once (format code to e-ticket indicator).
const UNIQUE_LEN: usize = 23;

/// Why a scanned string is not a usable boarding pass: the item, where it is, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BcbpError {
    /// Nothing was scanned.
    #[error("nothing was scanned: scan the boarding pass barcode or paste its text")]
    Empty,
    /// The text ends before an item.
    #[error(
        "{item} (position {position}, {size} characters) is missing: the text ends after {length} characters"
    )]
    TooShort {
        /// The missing item.
        item: &'static str,
        /// Its first position (1-based).
        position: usize,
        /// Its size in characters.
        size: usize,
        /// How long the text is.
        length: usize,
    },
    /// An item holds something it cannot.
    #[error("{item} at position {position} {problem}")]
    Invalid {
        /// The bad item.
        item: &'static str,
        /// Its first position (1-based).
        position: usize,
        /// What is wrong, as a phrase ("must be M").
        problem: String,
    },
}

/// One flight leg of a boarding pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leg {
    /// Operating carrier PNR code (`ABC123`).
    pub pnr: String,
    /// From city airport code.
    pub from: AirportCode,
    /// To city airport code.
    pub to: AirportCode,
    /// Operating carrier designator (`AC`).
    pub carrier: String,
    /// The flight, as bookings write it (`AC834`).
    pub flight: FlightNumber,
    /// Day of the year of the flight's local departure date (1–366).
    pub julian_day: u16,
    /// Compartment code (`J`, `Y`…).
    pub compartment: char,
    /// Seat (`1A`), or what the pass says instead (`INF`); `None` when blank.
    pub seat: Option<String>,
    /// Check-in sequence number (`25`, or `25A`); `None` when blank.
    pub sequence: Option<String>,
    /// Passenger status (`1`: checked in, …).
    pub status: char,
}

impl Leg {
    /// The flight's date nearest `today` with this leg's day of the year (a boarding pass names
    /// no year: the pass is for a flight within months of being scanned).
    pub fn date_near(&self, today: NaiveDate) -> Option<NaiveDate> {
        julian_date_near(self.julian_day, today)
    }
}

/// A parsed boarding pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardingPass {
    /// Surname as printed (`DESMARAIS`).
    pub surname: String,
    /// Given name(s) and title as printed (`LUC`); may be empty.
    pub given: String,
    /// Whether an electronic ticket (`E`).
    pub electronic_ticket: bool,
    /// The legs, 1–4.
    pub legs: Vec<Leg>,
}

/// The date nearest `today` that is day `day` of its year (1–366; 366 only in leap years).
pub fn julian_date_near(day: u16, today: NaiveDate) -> Option<NaiveDate> {
    [today.year() - 1, today.year(), today.year() + 1]
        .into_iter()
        .filter_map(|y| NaiveDate::from_yo_opt(y, u32::from(day)))
        .min_by_key(|d| (*d - today).num_days().abs())
}

/// Parses the text of a format-`M` boarding pass barcode.
pub fn parse(text: &str) -> Result<BoardingPass, BcbpError> {
    // A scanner ends with Enter; a paste may carry a line break. Nothing else is trimmed:
    // spaces are part of the fixed-width items.
    let text = text
        .trim_end_matches(['\r', '\n'])
        .trim_start_matches(['\r', '\n']);
    if text.trim().is_empty() {
        return Err(BcbpError::Empty);
    }
    if let Some(i) = text.find(|c: char| !c.is_ascii() || c.is_ascii_control()) {
        let position = text[..i].chars().count() + 1;
        return Err(BcbpError::Invalid {
            item: "the text",
            position,
            problem: "holds a character a boarding pass barcode cannot (only printable ASCII)"
                .into(),
        });
    }
    let b = text.as_bytes();
    let mut r = Reader { b, at: 0 };
    let format = r.take("format code", 1)?;
    if format != "M" {
        return Err(r.invalid(
            "format code",
            0,
            "must be M (the multiple-leg format of IATA Resolution 792)",
        ));
    }
    let legs_text = r.take("number of legs encoded", 1)?;
    let leg_count = match legs_text.parse::<usize>() {
        Ok(n @ 1..=4) => n,
        _ => {
            return Err(r.invalid("number of legs encoded", 1, "must be a digit from 1 to 4"));
        }
    };
    let name = r.take("passenger name", 20)?;
    let (surname, given) = match name.trim_end().split_once('/') {
        Some((s, g)) => (s.trim().to_owned(), g.trim().to_owned()),
        None => (name.trim().to_owned(), String::new()),
    };
    if surname.is_empty() || !surname.chars().any(|c| c.is_ascii_alphabetic()) {
        return Err(r.invalid(
            "passenger name",
            20,
            "must start with the surname, then / and the given name (SURNAME/GIVEN)",
        ));
    }
    let eticket = r.take("electronic ticket indicator", 1)?;
    let electronic_ticket = match eticket {
        "E" => true,
        " " | "L" => false,
        _ => {
            return Err(r.invalid(
                "electronic ticket indicator",
                1,
                "must be E (electronic ticket) or blank",
            ));
        }
    };
    debug_assert_eq!(r.at, UNIQUE_LEN);
    let mut legs = Vec::with_capacity(leg_count);
    for n in 1..=leg_count {
        let leg = r.leg(n)?;
        legs.push(leg.0);
        let size = leg.1;
        // The variable field (conditional items, airline use). The last leg's may have lost
        // trailing spaces to a scanner or a paste: what is there is enough.
        if n < leg_count {
            if r.at + size > b.len() {
                return Err(BcbpError::TooShort {
                    item: leg_item(n, "conditional data"),
                    position: r.at + 1,
                    size,
                    length: b.len(),
                });
            }
            r.at += size;
        }
    }
    Ok(BoardingPass {
        surname,
        given,
        electronic_ticket,
        legs,
    })
}

/// An item's name with its leg when there are several (`leg 2 flight number`).
fn leg_item(n: usize, item: &'static str) -> &'static str {
    // Items are few and fixed: name them statically so errors stay `&'static str`.
    const ITEMS: [&str; 12] = [
        "PNR code",
        "from airport",
        "to airport",
        "operating carrier",
        "flight number",
        "date of flight",
        "compartment code",
        "seat number",
        "check-in sequence number",
        "passenger status",
        "size of conditional data",
        "conditional data",
    ];
    const NAMES: [[&str; 12]; 4] = [
        ITEMS,
        [
            "leg 2 PNR code",
            "leg 2 from airport",
            "leg 2 to airport",
            "leg 2 operating carrier",
            "leg 2 flight number",
            "leg 2 date of flight",
            "leg 2 compartment code",
            "leg 2 seat number",
            "leg 2 check-in sequence number",
            "leg 2 passenger status",
            "leg 2 size of conditional data",
            "leg 2 conditional data",
        ],
        [
            "leg 3 PNR code",
            "leg 3 from airport",
            "leg 3 to airport",
            "leg 3 operating carrier",
            "leg 3 flight number",
            "leg 3 date of flight",
            "leg 3 compartment code",
            "leg 3 seat number",
            "leg 3 check-in sequence number",
            "leg 3 passenger status",
            "leg 3 size of conditional data",
            "leg 3 conditional data",
        ],
        [
            "leg 4 PNR code",
            "leg 4 from airport",
            "leg 4 to airport",
            "leg 4 operating carrier",
            "leg 4 flight number",
            "leg 4 date of flight",
            "leg 4 compartment code",
            "leg 4 seat number",
            "leg 4 check-in sequence number",
            "leg 4 passenger status",
            "leg 4 size of conditional data",
            "leg 4 conditional data",
        ],
    ];
    let i = ITEMS.iter().position(|x| *x == item).unwrap_or(0);
    NAMES[(n - 1).min(3)][i]
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// The next `size` characters (ASCII, checked before).
    fn take(&mut self, item: &'static str, size: usize) -> Result<&'a str, BcbpError> {
        if self.at + size > self.b.len() {
            return Err(BcbpError::TooShort {
                item,
                position: self.at + 1,
                size,
                length: self.b.len(),
            });
        }
        let s = std::str::from_utf8(&self.b[self.at..self.at + size]).unwrap_or_default();
        self.at += size;
        Ok(s)
    }

    /// An error for the item just taken (`size` characters long).
    fn invalid(&self, item: &'static str, size: usize, problem: &str) -> BcbpError {
        BcbpError::Invalid {
            item,
            position: self.at - size.max(1) + 1,
            problem: problem.to_owned(),
        }
    }

    /// Leg `n`'s mandatory items and the size of its variable field.
    fn leg(&mut self, n: usize) -> Result<(Leg, usize), BcbpError> {
        let item = |name| leg_item(n, name);
        let pnr = self.take(item("PNR code"), 7)?.trim_end();
        if pnr.is_empty() || !pnr.bytes().all(|c| c.is_ascii_alphanumeric()) {
            return Err(self.invalid(
                item("PNR code"),
                7,
                "must be the booking reference: letters and digits, padded with spaces",
            ));
        }
        let pnr = pnr.to_owned();
        let mut airport = |name: &'static str| -> Result<AirportCode, BcbpError> {
            let code = self.take(item(name), 3)?;
            AirportCode::parse(code)
                .ok()
                .filter(|_| code.bytes().all(|c| c.is_ascii_uppercase()))
                .ok_or_else(|| {
                    self.invalid(item(name), 3, "must be a three-letter IATA airport code")
                })
        };
        let from = airport("from airport")?;
        let to = airport("to airport")?;
        let carrier = self.take(item("operating carrier"), 3)?.trim_end();
        if !(2..=3).contains(&carrier.len()) || !carrier.bytes().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(self.invalid(
                item("operating carrier"),
                3,
                "must be an airline designator (two or three characters)",
            ));
        }
        let carrier = carrier.to_owned();
        let number = self.take(item("flight number"), 5)?;
        let digits = &number[..4];
        let suffix = number[4..].trim();
        if !digits.trim_start().bytes().all(|c| c.is_ascii_digit())
            || digits.trim().is_empty()
            || !(suffix.is_empty() || suffix.bytes().all(|c| c.is_ascii_alphabetic()))
        {
            return Err(self.invalid(
                item("flight number"),
                5,
                "must be four digits and an optional suffix letter (0834 )",
            ));
        }
        // Bookings name a flight by a two-character designator; a three-letter (ICAO) one
        // cannot be matched to them.
        let flight =
            FlightNumber::parse(&format!("{carrier}{}{suffix}", digits.trim())).map_err(|_| {
                self.invalid(
                    item("flight number"),
                    5,
                    "does not make a flight number with the carrier (e.g. AC 0834)",
                )
            })?;
        let day = self.take(item("date of flight"), 3)?;
        let julian_day = match day.parse::<u16>() {
            Ok(d @ 1..=366) if day.bytes().all(|c| c.is_ascii_digit()) => d,
            _ => {
                return Err(self.invalid(
                    item("date of flight"),
                    3,
                    "must be the day of the year, 001 to 366",
                ));
            }
        };
        let compartment = self.take(item("compartment code"), 1)?;
        let compartment = compartment.chars().next().unwrap_or(' ');
        if !compartment.is_ascii_uppercase() {
            return Err(self.invalid(
                item("compartment code"),
                1,
                "must be a capital letter (F, J, W, Y…)",
            ));
        }
        let seat = self.take(item("seat number"), 4)?;
        let seat = parse_seat(seat).map_err(|_| {
            self.invalid(
                item("seat number"),
                4,
                "must be a row and a letter (001A), or blank",
            )
        })?;
        let sequence = self.take(item("check-in sequence number"), 5)?;
        let sequence = parse_sequence(sequence).map_err(|_| {
            self.invalid(
                item("check-in sequence number"),
                5,
                "must be four digits and an optional letter (0025 ), or blank",
            )
        })?;
        let status = self.take(item("passenger status"), 1)?;
        let status = status.chars().next().unwrap_or(' ');
        if !status.is_ascii_alphanumeric() {
            return Err(self.invalid(item("passenger status"), 1, "must be a letter or a digit"));
        }
        let size = self.take(item("size of conditional data"), 2)?;
        let size = usize::from_str_radix(size, 16)
            .ok()
            .filter(|_| size.bytes().all(|c| c.is_ascii_hexdigit()))
            .ok_or_else(|| {
                self.invalid(
                    item("size of conditional data"),
                    2,
                    "must be two hexadecimal digits (00 to FF)",
                )
            })?;
        Ok((
            Leg {
                pnr,
                from,
                to,
                carrier,
                flight,
                julian_day,
                compartment,
                seat,
                sequence,
                status,
            },
            size,
        ))
    }
}

/// `001A` → `1A`; `INF ` → `INF`; blank → none.
fn parse_seat(s: &str) -> Result<Option<String>, ()> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if !t.bytes().all(|c| c.is_ascii_alphanumeric()) {
        return Err(());
    }
    let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
    let rest = &t[digits.len()..];
    if !digits.is_empty() && rest.len() == 1 && rest.bytes().all(|c| c.is_ascii_alphabetic()) {
        let row = digits.trim_start_matches('0');
        if row.is_empty() {
            return Err(());
        }
        return Ok(Some(format!("{row}{rest}")));
    }
    if digits.is_empty() && t.bytes().all(|c| c.is_ascii_uppercase()) {
        // Infants (INF), standby (STBY), gate allocation (GATE).
        return Ok(Some(t.to_owned()));
    }
    Err(())
}

/// `0025 ` → `25`; `0025A` → `25A`; blank → none.
fn parse_sequence(s: &str) -> Result<Option<String>, ()> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    let (digits, suffix) = s.split_at(4);
    let suffix = suffix.trim();
    if !digits.bytes().all(|c| c.is_ascii_digit())
        || !(suffix.is_empty() || suffix.bytes().all(|c| c.is_ascii_alphabetic()))
    {
        return Err(());
    }
    let n = digits.trim_start_matches('0');
    Ok(Some(format!(
        "{}{suffix}",
        if n.is_empty() { "0" } else { n }
    )))
}

/// Encodes one leg's mandatory items as a format-`M` boarding pass with no conditional data
/// (demo and test passes; a real one comes from the departure control system).
#[allow(clippy::too_many_arguments)]
pub fn encode(
    surname: &str,
    given: &str,
    pnr: &str,
    from: &str,
    to: &str,
    flight: &FlightNumber,
    date: NaiveDate,
    compartment: char,
    seat: Option<&str>,
    sequence: u32,
) -> String {
    let name: String = format!("{surname}/{given}")
        .to_ascii_uppercase()
        .chars()
        .filter(char::is_ascii)
        .take(20)
        .collect();
    let text = flight.to_string();
    let (carrier, number) = text.split_at(2);
    let (digits, suffix) = match number.as_bytes().last() {
        Some(c) if c.is_ascii_alphabetic() => number.split_at(number.len() - 1),
        _ => (number, ""),
    };
    let seat = seat
        .map(|s| {
            let row: String = s.chars().take_while(char::is_ascii_digit).collect();
            let letter = &s[row.len()..];
            format!("{:0>3}{letter}", row)
        })
        .unwrap_or_default();
    format!(
        "M1{name:<20}E{pnr:<7}{from}{to}{carrier:<3}{digits:0>4}{suffix:<1}{day:03}{compartment}{seat:<4}{sequence:04} 100",
        day = date.ordinal(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "M1DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 100";

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_resolution_sample_parses_item_by_item() {
        let pass = parse(SAMPLE).unwrap();
        assert_eq!(pass.surname, "DESMARAIS");
        assert_eq!(pass.given, "LUC");
        assert!(pass.electronic_ticket);
        assert_eq!(pass.legs.len(), 1);
        let leg = &pass.legs[0];
        assert_eq!(leg.pnr, "ABC123");
        assert_eq!(leg.from.as_str(), "YUL");
        assert_eq!(leg.to.as_str(), "FRA");
        assert_eq!(leg.carrier, "AC");
        assert_eq!(leg.flight.as_str(), "AC834");
        assert_eq!(leg.julian_day, 326);
        assert_eq!(leg.compartment, 'J');
        assert_eq!(leg.seat.as_deref(), Some("1A"));
        assert_eq!(leg.sequence.as_deref(), Some("25"));
        assert_eq!(leg.status, '1');
        // Day 326 is 22 November (23 in a leap year).
        assert_eq!(leg.date_near(day("2026-11-20")), Some(day("2026-11-22")));
    }

    #[test]
    fn a_scanners_enter_and_a_pasted_line_break_are_ignored() {
        assert_eq!(
            parse(&format!("{SAMPLE}\r\n")).unwrap(),
            parse(SAMPLE).unwrap()
        );
        assert_eq!(
            parse(&format!("\n{SAMPLE}\n")).unwrap(),
            parse(SAMPLE).unwrap()
        );
    }

    #[test]
    fn conditional_data_is_skipped_and_legs_follow_it() {
        // Two legs; the first carries 0x18 = 24 characters of conditional data (version 6,
        // unique conditional items), the second none.
        let conditional = ">6180WW8326BAC 0014123456";
        assert_eq!(conditional.len(), 25);
        let conditional = &conditional[..24];
        let text = format!(
            "M2DESMARAIS/LUC       EABC123 YULFRAAC 0834 326J001A0025 118{conditional}DEF456 FRAGVALH 3664 327Y012C0002 100"
        );
        let pass = parse(&text).unwrap();
        assert_eq!(pass.legs.len(), 2);
        let second = &pass.legs[1];
        assert_eq!(second.pnr, "DEF456");
        assert_eq!(second.from.as_str(), "FRA");
        assert_eq!(second.to.as_str(), "GVA");
        assert_eq!(second.flight.as_str(), "LH3664");
        assert_eq!(second.julian_day, 327);
        assert_eq!(second.compartment, 'Y');
        assert_eq!(second.seat.as_deref(), Some("12C"));
        assert_eq!(second.sequence.as_deref(), Some("2"));
    }

    #[test]
    fn four_legs_parse_and_a_fifth_is_refused() {
        let leg = |from: &str, to: &str, n: u32| {
            format!(
                "XYZ789 {from}{to}EK {n:04} 040Y{:03}A{n:04} 100",
                n % 60 + 1
            )
        };
        let text = format!(
            "M4SMITH/JANE MRS      E{}{}{}{}",
            leg("JFK", "DXB", 202),
            leg("DXB", "BOM", 500),
            leg("BOM", "DXB", 501),
            leg("DXB", "JFK", 201)
        );
        let pass = parse(&text).unwrap();
        assert_eq!(pass.given, "JANE MRS");
        let flights: Vec<&str> = pass.legs.iter().map(|l| l.flight.as_str()).collect();
        assert_eq!(flights, ["EK202", "EK500", "EK501", "EK201"]);
        let err = parse(&text.replacen("M4", "M5", 1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "number of legs encoded at position 2 must be a digit from 1 to 4"
        );
    }

    #[test]
    fn every_bad_item_is_named_with_its_position() {
        let cases: &[(usize, &str, &str)] = &[
            (0, "X", "format code at position 1"),
            (1, "0", "number of legs encoded at position 2"),
            (2, "/LUC                ", "passenger name at position 3"),
            (22, "X", "electronic ticket indicator at position 23"),
            (23, "ABC-23 ", "PNR code at position 24"),
            (30, "Y1L", "from airport at position 31"),
            (33, "fra", "to airport at position 34"),
            (36, "A  ", "operating carrier at position 37"),
            (39, "08X4 ", "flight number at position 40"),
            (44, "367", "date of flight at position 45"),
            (44, "000", "date of flight at position 45"),
            (47, "j", "compartment code at position 48"),
            (48, "0A1A", "seat number at position 49"),
            (52, "00X5 ", "check-in sequence number at position 53"),
            (57, "#", "passenger status at position 58"),
            (58, "G0", "size of conditional data at position 59"),
        ];
        for (at, replacement, expected) in cases {
            let mut text = SAMPLE.to_owned();
            text.replace_range(*at..*at + replacement.len(), replacement);
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{replacement}: {err}");
            assert!(!err.contains("DESMARAIS"), "errors never repeat the pass");
        }
    }

    #[test]
    fn a_short_text_names_the_first_missing_item() {
        let err = parse(&SAMPLE[..40]).unwrap_err();
        assert_eq!(
            err,
            BcbpError::TooShort {
                item: "flight number",
                position: 40,
                size: 5,
                length: 40
            }
        );
        assert_eq!(
            err.to_string(),
            "flight number (position 40, 5 characters) is missing: the text ends after 40 characters"
        );
        assert_eq!(parse("   ").unwrap_err(), BcbpError::Empty);
        assert!(matches!(
            parse("M1DESMARAIS/LUC").unwrap_err(),
            BcbpError::TooShort {
                item: "passenger name",
                position: 3,
                ..
            }
        ));
        // A first leg whose conditional data runs past the end leaves no room for the second.
        let err = parse(&(format!("M2{}", &SAMPLE[2..58]) + "40"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("conditional data (position 61"), "{err}");
    }

    #[test]
    fn non_ascii_text_is_refused_at_its_position() {
        let err = parse("M1DÉSMARAIS/LUC").unwrap_err().to_string();
        assert_eq!(
            err,
            "the text at position 4 holds a character a boarding pass barcode cannot (only printable ASCII)"
        );
    }

    #[test]
    fn blank_seat_and_sequence_and_special_seats_are_understood() {
        let mut text = SAMPLE.to_owned();
        text.replace_range(48..57, "         ");
        let leg = &parse(&text).unwrap().legs[0];
        assert_eq!((leg.seat.as_deref(), leg.sequence.as_deref()), (None, None));
        text.replace_range(48..52, "INF ");
        assert_eq!(parse(&text).unwrap().legs[0].seat.as_deref(), Some("INF"));
        text.replace_range(52..57, "0007B");
        assert_eq!(
            parse(&text).unwrap().legs[0].sequence.as_deref(),
            Some("7B")
        );
    }

    #[test]
    fn the_year_is_the_one_that_puts_the_flight_nearest_today() {
        // Scanned on 30 December for a flight on 2 January: next year.
        assert_eq!(
            julian_date_near(2, day("2026-12-30")),
            Some(day("2027-01-02"))
        );
        // Scanned on 2 January for a flight on 30 December: last year (a late scan).
        assert_eq!(
            julian_date_near(364, day("2027-01-02")),
            Some(day("2026-12-30"))
        );
        // Day 366 exists only in leap years: the nearest one.
        assert_eq!(
            julian_date_near(366, day("2027-06-01")),
            Some(day("2028-12-31"))
        );
        assert_eq!(
            julian_date_near(366, day("2024-12-01")),
            Some(day("2024-12-31"))
        );
        assert_eq!(
            julian_date_near(60, day("2024-03-01")),
            Some(day("2024-02-29"))
        );
    }

    #[test]
    fn encoding_and_parsing_agree() {
        let flight = FlightNumber::parse("EK1").unwrap();
        let text = encode(
            "Turner",
            "Ali",
            "TRN001",
            "DXB",
            "LHR",
            &flight,
            day("2026-12-06"),
            'Y',
            Some("21C"),
            42,
        );
        assert_eq!(text.len(), 60);
        let pass = parse(&text).unwrap();
        assert_eq!(
            (pass.surname.as_str(), pass.given.as_str()),
            ("TURNER", "ALI")
        );
        let leg = &pass.legs[0];
        assert_eq!(leg.flight, flight);
        assert_eq!(leg.seat.as_deref(), Some("21C"));
        assert_eq!(leg.sequence.as_deref(), Some("42"));
        assert_eq!(leg.date_near(day("2026-12-05")), Some(day("2026-12-06")));
    }
}
