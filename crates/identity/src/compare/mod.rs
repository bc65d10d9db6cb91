//! Field comparisons: each pair of records becomes a vector of agreement *levels*, one per
//! [`Field`]. Levels, not raw similarities, are what the Fellegi–Sunter model weighs, so that
//! each level's weight can be learned from the data (see [`crate::model`]). Level 0 of every
//! field means "missing on one side" and carries no evidence.
//!
//! Two rules here encode knowledge that no field on its own has:
//! - **Swapped fields.** Given name and surname are often exchanged between systems, and so are
//!   address lines; both arrangements are compared and the better one is used.
//! - **Shared contacts.** A family or a corporate travel booker uses one e-mail address or phone
//!   number for many people. When the given names clearly differ, agreeing contact details are
//!   no evidence at all (their level is set to missing), so they can never merge two people.

pub mod dates;
pub mod jaro;

pub use dates::{DobAgreement, compare_dob, within_one_edit};
pub use jaro::{jaro, jaro_winkler};

use crate::normalise::{NameKey, NormalisedRecord};

/// The fields that the probabilistic model compares, in the order of a [`Comparison`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// Given name (first word and whole, Jaro–Winkler, NYSIIS).
    GivenName,
    /// Surname.
    Surname,
    /// Date of birth.
    DateOfBirth,
    /// E-mail address.
    Email,
    /// Telephone number.
    Phone,
    /// Street number.
    StreetNumber,
    /// First address line.
    AddressLine1,
    /// Second address line.
    AddressLine2,
    /// City or suburb.
    City,
    /// Postcode.
    Postcode,
    /// State or region.
    State,
    /// Country.
    Country,
}

/// Number of compared fields.
pub const FIELD_COUNT: usize = 12;

/// Every field, in comparison-vector order.
pub const FIELDS: [Field; FIELD_COUNT] = [
    Field::GivenName,
    Field::Surname,
    Field::DateOfBirth,
    Field::Email,
    Field::Phone,
    Field::StreetNumber,
    Field::AddressLine1,
    Field::AddressLine2,
    Field::City,
    Field::Postcode,
    Field::State,
    Field::Country,
];

const NAME_LEVELS: &[&str] = &["missing", "exact", "close", "similar", "different"];
const DOB_LEVELS: &[&str] = &["missing", "exact", "close", "partial", "different"];
const BINARY_LEVELS: &[&str] = &["missing", "exact", "different"];
const CODE_LEVELS: &[&str] = &["missing", "exact", "one edit", "different"];

/// Level index meaning "missing on one side": no evidence.
pub const MISSING: u8 = 0;
/// Level index meaning exact agreement (every field has it).
pub const EXACT: u8 = 1;

impl Field {
    /// The field's name as used in explanations and column roles.
    pub fn name(self) -> &'static str {
        match self {
            Field::GivenName => "given_name",
            Field::Surname => "surname",
            Field::DateOfBirth => "date_of_birth",
            Field::Email => "email",
            Field::Phone => "phone",
            Field::StreetNumber => "street_number",
            Field::AddressLine1 => "address_1",
            Field::AddressLine2 => "address_2",
            Field::City => "city",
            Field::Postcode => "postcode",
            Field::State => "state",
            Field::Country => "country",
        }
    }

    /// The names of the field's levels; index 0 is always "missing", index 1 "exact", the last
    /// "different".
    pub fn levels(self) -> &'static [&'static str] {
        match self {
            Field::GivenName
            | Field::Surname
            | Field::AddressLine1
            | Field::AddressLine2
            | Field::City => NAME_LEVELS,
            Field::DateOfBirth => DOB_LEVELS,
            Field::Email | Field::Phone | Field::State | Field::Country => BINARY_LEVELS,
            Field::StreetNumber | Field::Postcode => CODE_LEVELS,
        }
    }

    /// Position in a comparison vector.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The result of comparing two records: one level per field, and whether the given name and
/// surname were compared crosswise (so term frequencies look up the right values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Comparison {
    /// Level index per field, in [`FIELDS`] order.
    pub levels: [u8; FIELD_COUNT],
    /// Given name and surname of one record were exchanged to compare them.
    pub names_swapped: bool,
}

impl Comparison {
    /// The level of one field.
    pub fn level(&self, field: Field) -> u8 {
        self.levels[field.index()]
    }
}

/// Similarity of two name parts: the better of the whole names and the first words, so that a
/// dropped middle name does not count against a match.
fn name_similarity(a: &NameKey, b: &NameKey) -> f64 {
    if a.text == b.text {
        return 1.0;
    }
    let whole = jaro_winkler(&a.text, &b.text);
    if a.first == b.first {
        return whole.max(0.95);
    }
    // Single-word names: the first word is the whole name, already compared.
    if a.first.len() == a.text.len() && b.first.len() == b.text.len() {
        return whole;
    }
    whole.max(jaro_winkler(&a.first, &b.first))
}

fn name_level(a: &NameKey, b: &NameKey, similarity: f64) -> u8 {
    if a.text == b.text {
        EXACT
    } else if similarity >= 0.92 {
        2
    } else if similarity >= 0.80
        || a.phonetic == b.phonetic
        || (a.first.len() == 1 || b.first.len() == 1)
            && a.first.chars().next() == b.first.chars().next()
    {
        3
    } else {
        4
    }
}

fn pair_similarity(a: Option<&NameKey>, b: Option<&NameKey>) -> f64 {
    match (a, b) {
        (Some(a), Some(b)) => name_similarity(a, b),
        _ => 0.0,
    }
}

fn pair_level(a: Option<&NameKey>, b: Option<&NameKey>, similarity: f64) -> u8 {
    match (a, b) {
        (Some(a), Some(b)) => name_level(a, b, similarity),
        _ => MISSING,
    }
}

fn text_similarity(a: Option<&str>, b: Option<&str>) -> f64 {
    match (a, b) {
        (Some(a), Some(b)) if a == b => 1.0,
        (Some(a), Some(b)) => jaro_winkler(a, b),
        _ => 0.0,
    }
}

fn text_level(a: Option<&str>, b: Option<&str>, similarity: f64, close: f64, similar: f64) -> u8 {
    match (a, b) {
        (Some(a), Some(b)) if a == b => EXACT,
        (Some(_), Some(_)) if similarity >= close => 2,
        (Some(_), Some(_)) if similarity >= similar => 3,
        (Some(_), Some(_)) => 4,
        _ => MISSING,
    }
}

/// Chooses between comparing two two-part values straight (`x1~y1`, `x2~y2`) or crosswise
/// (`x1~y2`, `x2~y1`): crosswise wins only by a clear margin. The crosswise similarities are
/// computed only when they could win. Returns `(crossed, similarity of part 1, of part 2)`.
fn arrange(straight: (f64, f64), crossed: impl FnOnce() -> (f64, f64)) -> (bool, f64, f64) {
    const MARGIN: f64 = 0.05;
    if straight.0 + straight.1 + MARGIN >= 2.0 {
        return (false, straight.0, straight.1);
    }
    let c = crossed();
    if c.0 + c.1 > straight.0 + straight.1 + MARGIN {
        (true, c.0, c.1)
    } else {
        (false, straight.0, straight.1)
    }
}

fn code_level(a: Option<&str>, b: Option<&str>) -> u8 {
    match (a, b) {
        (Some(a), Some(b)) if a == b => EXACT,
        (Some(a), Some(b)) if within_one_edit(a.as_bytes(), b.as_bytes()) => 2,
        (Some(_), Some(_)) => 3,
        _ => MISSING,
    }
}

fn binary_level(a: Option<&str>, b: Option<&str>) -> u8 {
    match (a, b) {
        (Some(a), Some(b)) if a == b => EXACT,
        (Some(_), Some(_)) => 2,
        _ => MISSING,
    }
}

/// Compares two normalised records field by field.
pub fn compare(a: &NormalisedRecord, b: &NormalisedRecord) -> Comparison {
    let mut levels = [MISSING; FIELD_COUNT];

    // Names, straight or crosswise, whichever agrees better.
    let (ag, asur, bg, bsur) = (
        a.given.as_ref(),
        a.surname.as_ref(),
        b.given.as_ref(),
        b.surname.as_ref(),
    );
    let (names_swapped, given_sim, surname_sim) = arrange(
        (pair_similarity(ag, bg), pair_similarity(asur, bsur)),
        || (pair_similarity(ag, bsur), pair_similarity(asur, bg)),
    );
    let (bg, bsur) = if names_swapped {
        (bsur, bg)
    } else {
        (bg, bsur)
    };
    levels[Field::GivenName.index()] = pair_level(ag, bg, given_sim);
    levels[Field::Surname.index()] = pair_level(asur, bsur, surname_sim);

    levels[Field::DateOfBirth.index()] = match (&a.dob, &b.dob) {
        (Some(x), Some(y)) => match compare_dob(x, y) {
            DobAgreement::Exact => EXACT,
            DobAgreement::Close => 2,
            DobAgreement::Partial => 3,
            DobAgreement::Different => 4,
        },
        _ => MISSING,
    };

    // Contacts: agreement is evidence only when the given names do not clearly differ.
    let given_differs = levels[Field::GivenName.index()] >= 3;
    for (field, x, y) in [
        (Field::Email, &a.email, &b.email),
        (Field::Phone, &a.phone, &b.phone),
    ] {
        let level = binary_level(x.as_deref(), y.as_deref());
        levels[field.index()] = if level == EXACT && given_differs {
            MISSING
        } else {
            level
        };
    }

    levels[Field::StreetNumber.index()] =
        code_level(a.street_number.as_deref(), b.street_number.as_deref());

    // Address lines, straight or crosswise.
    let (a1, a2) = (a.line1.as_deref(), a.line2.as_deref());
    let (b1, b2) = (b.line1.as_deref(), b.line2.as_deref());
    let (lines_swapped, sim1, sim2) =
        arrange((text_similarity(a1, b1), text_similarity(a2, b2)), || {
            (text_similarity(a1, b2), text_similarity(a2, b1))
        });
    let (b1, b2) = if lines_swapped { (b2, b1) } else { (b1, b2) };
    levels[Field::AddressLine1.index()] = text_level(a1, b1, sim1, 0.92, 0.80);
    levels[Field::AddressLine2.index()] = text_level(a2, b2, sim2, 0.92, 0.80);

    let (ca, cb) = (a.city.as_deref(), b.city.as_deref());
    levels[Field::City.index()] = text_level(ca, cb, text_similarity(ca, cb), 0.92, 0.80);
    levels[Field::Postcode.index()] = code_level(a.postcode.as_deref(), b.postcode.as_deref());
    levels[Field::State.index()] = binary_level(a.state.as_deref(), b.state.as_deref());
    levels[Field::Country.index()] = binary_level(a.country.as_deref(), b.country.as_deref());

    Comparison {
        levels,
        names_swapped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::normalise;
    use crate::record::PersonRecord;

    fn rec(given: &str, surname: &str) -> NormalisedRecord {
        normalise(&PersonRecord::new("t", "1").with_name(given, surname))
    }

    #[test]
    fn name_levels() {
        let c = compare(&rec("isabelle", "smith"), &rec("isabeel", "smith"));
        assert_eq!(c.level(Field::GivenName), 2);
        assert_eq!(c.level(Field::Surname), EXACT);
        assert_eq!(c.level(Field::DateOfBirth), MISSING);
        let c = compare(&rec("catherine", "jones"), &rec("katharine", "jones"));
        assert!(c.level(Field::GivenName) <= 3);
        let c = compare(&rec("john", "jones"), &rec("mary", "jones"));
        assert_eq!(c.level(Field::GivenName), 4);
    }

    #[test]
    fn swapped_names_are_recognised() {
        let c = compare(&rec("alice", "neumann"), &rec("neumann", "alice"));
        assert!(c.names_swapped);
        assert_eq!(c.level(Field::GivenName), EXACT);
        assert_eq!(c.level(Field::Surname), EXACT);
    }

    #[test]
    fn shared_contact_is_no_evidence_when_given_names_differ() {
        let a = normalise(
            &PersonRecord::new("t", "1")
                .with_name("john", "smith")
                .with_email("family@example.com"),
        );
        let b = normalise(
            &PersonRecord::new("t", "2")
                .with_name("mary", "smith")
                .with_email("family@example.com"),
        );
        assert_eq!(compare(&a, &b).level(Field::Email), MISSING);
        let c = normalise(
            &PersonRecord::new("t", "3")
                .with_name("jon", "smith")
                .with_email("family@example.com"),
        );
        assert_eq!(compare(&a, &c).level(Field::Email), EXACT);
    }
}
