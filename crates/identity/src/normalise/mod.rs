//! Normalisation: turns a [`PersonRecord`] as sent into the folded, parsed values that
//! comparison and blocking work on. Done once per record, so the hot loop over candidate pairs
//! never allocates or re-parses.
//!
//! - [`translit`] folds case, accents and non-Latin scripts (ICAO 9303 transliteration).
//! - [`names`] strips titles and parses reservation (`SURNAME/GIVENMR`) and free-text names.
//! - [`phonetic`] computes NYSIIS keys.
//! - [`contact`] normalises e-mail, phone and document numbers.
//! - [`dates`] parses dates of birth to `YYYYMMDD` digits.

pub mod contact;
pub mod dates;
pub mod names;
pub mod phonetic;
pub mod translit;

pub use dates::{Dob, parse_dob};
pub use translit::fold;

use crate::record::PersonRecord;
use contact::{normalise_code, normalise_email, normalise_phone};
use names::{clean_name, parse_full_name};
use phonetic::nysiis;

/// One name part ready for comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameKey {
    /// All words folded and joined without spaces ("vanderberg"), so spacing differences vanish.
    pub text: Box<str>,
    /// The first word ("anna" of "anna lena"): middle names come and go between sources.
    pub first: Box<str>,
    /// NYSIIS key of [`NameKey::first`] for given names, of the whole text for surnames.
    pub phonetic: Box<str>,
}

impl NameKey {
    fn given(cleaned: &str) -> Option<Self> {
        let first = cleaned.split(' ').next().unwrap_or("");
        if first.is_empty() {
            return None;
        }
        Some(Self {
            text: cleaned.replace(' ', "").into(),
            first: first.into(),
            phonetic: nysiis(first).into(),
        })
    }

    fn surname(cleaned: &str) -> Option<Self> {
        if cleaned.is_empty() {
            return None;
        }
        let text: String = cleaned.replace(' ', "");
        let first = cleaned.split(' ').next().unwrap_or("");
        Some(Self {
            phonetic: nysiis(&text).into(),
            first: first.into(),
            text: text.into(),
        })
    }
}

/// The normalised form of a record. Every text value is folded (see [`fold`]); `None` means the
/// source had no usable value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NormalisedRecord {
    /// Given names.
    pub given: Option<NameKey>,
    /// Surname.
    pub surname: Option<NameKey>,
    /// Date of birth.
    pub dob: Option<Dob>,
    /// The date of birth came from a travel document.
    pub dob_verified: bool,
    /// E-mail address (see [`contact::normalise_email`]).
    pub email: Option<Box<str>>,
    /// The e-mail address is verified.
    pub email_verified: bool,
    /// Telephone number, last nine digits.
    pub phone: Option<Box<str>>,
    /// Loyalty number, uppercase alphanumeric.
    pub loyalty: Option<Box<str>>,
    /// Passport number, uppercase alphanumeric.
    pub passport: Option<Box<str>>,
    /// Nationality, folded.
    pub nationality: Option<Box<str>>,
    /// Booking reference or ticket number, uppercase alphanumeric.
    pub booking: Option<Box<str>>,
    /// Street number.
    pub street_number: Option<Box<str>>,
    /// First address line without spaces, common abbreviations expanded.
    pub line1: Option<Box<str>>,
    /// Second address line, likewise.
    pub line2: Option<Box<str>>,
    /// City or suburb without spaces.
    pub city: Option<Box<str>>,
    /// Postcode, lowercase alphanumeric.
    pub postcode: Option<Box<str>>,
    /// State or region.
    pub state: Option<Box<str>>,
    /// Country.
    pub country: Option<Box<str>>,
}

/// Street-type abbreviations written out, so "12 Smith St" and "12 smith street" agree.
fn expand_abbreviation(word: &str) -> &str {
    match word {
        "st" | "str" => "street",
        "rd" => "road",
        "ave" | "av" => "avenue",
        "pl" => "place",
        "cres" | "cr" => "crescent",
        "dr" | "drv" => "drive",
        "ct" | "crt" => "court",
        "ln" => "lane",
        "tce" | "ter" => "terrace",
        "hwy" => "highway",
        "pde" => "parade",
        "cct" | "cir" => "circuit",
        "blvd" => "boulevard",
        "sq" => "square",
        "apt" => "apartment",
        other => other,
    }
}

fn non_empty(s: String) -> Option<Box<str>> {
    (!s.is_empty()).then(|| s.into_boxed_str())
}

fn opt(raw: &Option<String>) -> Option<&str> {
    raw.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Normalises an address line; returns the leading house number separately when the line
/// starts with one ("12a smith st" → ("12a", "smithstreet")).
fn address_line(raw: &str) -> (Option<Box<str>>, Option<Box<str>>) {
    let folded = fold(raw);
    let mut words = folded.split(' ').filter(|w| !w.is_empty()).peekable();
    let number = match words.peek() {
        Some(w) if w.starts_with(|c: char| c.is_ascii_digit()) && w.len() <= 6 => {
            words.next().map(|w| w.to_owned().into_boxed_str())
        }
        _ => None,
    };
    let line: String = words.map(expand_abbreviation).collect();
    (number, non_empty(line))
}

/// Normalises a record. Names come from the given-name and surname fields, with a full or PNR
/// name filling whichever is missing.
pub fn normalise(record: &PersonRecord) -> NormalisedRecord {
    let mut given = opt(&record.given_name).map(clean_name).unwrap_or_default();
    let mut surname = opt(&record.surname).map(clean_name).unwrap_or_default();
    if let Some(full) = opt(&record.full_name)
        && (given.is_empty() || surname.is_empty())
    {
        let split = parse_full_name(full);
        if given.is_empty() {
            given = split.given;
        }
        if surname.is_empty() {
            surname = split.surname;
        }
    }
    let address = &record.address;
    let mut street_number =
        opt(&address.street_number).and_then(|s| non_empty(fold(s).replace(' ', "")));
    let (line1_number, line1) = opt(&address.line1).map(address_line).unwrap_or_default();
    if street_number.is_none() {
        street_number = line1_number;
    }
    let (_, line2) = opt(&address.line2).map(address_line).unwrap_or_default();
    let folded_nospace =
        |raw: &Option<String>| opt(raw).and_then(|s| non_empty(fold(s).replace(' ', "")));
    NormalisedRecord {
        given: NameKey::given(&given),
        surname: NameKey::surname(&surname),
        dob: opt(&record.date_of_birth).and_then(parse_dob),
        dob_verified: record.dob_verified,
        email: opt(&record.email)
            .and_then(normalise_email)
            .map(String::into_boxed_str),
        email_verified: record.email_verified,
        phone: opt(&record.phone)
            .and_then(normalise_phone)
            .map(String::into_boxed_str),
        loyalty: opt(&record.loyalty_number)
            .and_then(normalise_code)
            .map(String::into_boxed_str),
        passport: opt(&record.passport_number)
            .and_then(normalise_code)
            .map(String::into_boxed_str),
        nationality: folded_nospace(&record.nationality),
        booking: opt(&record.booking_reference)
            .and_then(normalise_code)
            .map(String::into_boxed_str),
        street_number,
        line1,
        line2,
        city: folded_nospace(&address.city),
        postcode: opt(&address.postcode)
            .and_then(normalise_code)
            .map(|p| p.to_ascii_lowercase().into_boxed_str()),
        state: folded_nospace(&address.state),
        country: folded_nospace(&address.country),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Address, PersonRecord};

    #[test]
    fn pnr_name_fills_missing_parts() {
        let record = PersonRecord {
            full_name: Some("MÜLLER/ANNA MARIAMRS".into()),
            ..PersonRecord::new("pss", "1")
        };
        let n = normalise(&record);
        assert_eq!(n.surname.as_ref().map(|s| &*s.text), Some("mueller"));
        assert_eq!(n.given.as_ref().map(|g| &*g.first), Some("anna"));
        assert_eq!(n.given.as_ref().map(|g| &*g.text), Some("annamaria"));
    }

    #[test]
    fn address_number_and_abbreviations() {
        let record = PersonRecord {
            address: Address {
                line1: Some("12A Wallaby Pl.".into()),
                city: Some("Port Macquarie".into()),
                ..Address::default()
            },
            ..PersonRecord::new("crm", "1")
        };
        let n = normalise(&record);
        assert_eq!(n.street_number.as_deref(), Some("12a"));
        assert_eq!(n.line1.as_deref(), Some("wallabyplace"));
        assert_eq!(n.city.as_deref(), Some("portmacquarie"));
    }

    #[test]
    fn titles_are_dropped_from_split_names() {
        let n = normalise(&PersonRecord::new("crm", "1").with_name("Dr. Jane", "O'Neil"));
        assert_eq!(n.given.as_ref().map(|g| &*g.text), Some("jane"));
        assert_eq!(n.surname.as_ref().map(|s| &*s.text), Some("oneil"));
    }
}
