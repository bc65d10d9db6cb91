//! The source record as it arrives from a system of record (reservations, loyalty, CRM, a CSV
//! file). Every field is optional because real feeds are sparse; the matcher treats a missing
//! value as *no evidence*, never as disagreement.

/// The parts of a postal address, kept apart because feeds fill them differently (a street
/// number in its own column or inside the first line) and the matcher compares them separately.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    /// First address line, usually the street ("12 wallaby place").
    pub line1: Option<String>,
    /// Second address line (building, complex, locality).
    pub line2: Option<String>,
    /// Street number when the feed keeps it in its own column.
    pub street_number: Option<String>,
    /// Suburb, town or city.
    pub city: Option<String>,
    /// Postal code.
    pub postcode: Option<String>,
    /// State, province or region.
    pub state: Option<String>,
    /// Country (name or ISO code).
    pub country: Option<String>,
}

/// One record about one person from one source, as given. Normalisation happens later
/// ([`crate::normalise`]), so the record keeps exactly what the source sent and can be shown
/// back unchanged when a merge is explained.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonRecord {
    /// The system the record came from ("pss", "loyalty", "crm", a file name). Used by link mode,
    /// where only records of different sources are compared.
    pub source: String,
    /// The record's identifier inside its source; `(source, record_id)` is unique.
    pub record_id: String,
    /// Given (first and middle) names.
    pub given_name: Option<String>,
    /// Family name.
    pub surname: Option<String>,
    /// A whole name when the feed does not split it: free text ("Dr Anna Müller",
    /// "MÜLLER, Anna") or a reservation name ("MUELLER/ANNAMS"). Used only to fill a missing
    /// given name or surname.
    pub full_name: Option<String>,
    /// Date of birth in any common layout (`19560409`, `1956-04-09`, `09/04/1956`).
    pub date_of_birth: Option<String>,
    /// The date of birth was read from a travel document (passport scan, APIS), so a different
    /// verified date of birth vetoes a merge instead of only weighing against it.
    pub dob_verified: bool,
    /// E-mail address.
    pub email: Option<String>,
    /// The e-mail address was verified by the customer (a confirmation link), which makes it a
    /// deterministic key.
    pub email_verified: bool,
    /// Telephone number in any layout.
    pub phone: Option<String>,
    /// Frequent-flyer number: a deterministic key.
    pub loyalty_number: Option<String>,
    /// Passport number: with the nationality a deterministic key; a different number vetoes.
    pub passport_number: Option<String>,
    /// Nationality (issuing country of the passport), ISO code or name.
    pub nationality: Option<String>,
    /// Reservation locator (PNR) or ticket number: together with the name a deterministic key.
    pub booking_reference: Option<String>,
    /// Postal address.
    pub address: Address,
}

impl PersonRecord {
    /// A record with only its source and identifier set; fill the rest with struct update
    /// syntax or the builder-style setters.
    pub fn new(source: impl Into<String>, record_id: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            record_id: record_id.into(),
            ..Self::default()
        }
    }

    /// Sets the given name and surname.
    pub fn with_name(mut self, given: &str, surname: &str) -> Self {
        self.given_name = Some(given.to_owned());
        self.surname = Some(surname.to_owned());
        self
    }

    /// Sets the date of birth.
    pub fn with_dob(mut self, dob: &str) -> Self {
        self.date_of_birth = Some(dob.to_owned());
        self
    }

    /// Sets the e-mail address.
    pub fn with_email(mut self, email: &str) -> Self {
        self.email = Some(email.to_owned());
        self
    }

    /// Sets the telephone number.
    pub fn with_phone(mut self, phone: &str) -> Self {
        self.phone = Some(phone.to_owned());
        self
    }
}
