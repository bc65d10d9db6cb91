//! The customer profile as a domain model: value types that can only hold valid values
//! ("parse, don't validate"), the [`Profile`] that groups them, and the pure rules around it
//! (search keys from the shared fold, JSON merge patch, changed-field detection). The id and the
//! airport code are the shared vocabulary's (`aloft_vocab`), re-exported here.
//!
//! Invariants:
//! - A [`Profile`] that exists is valid. It is built only by [`Profile::parse`], which checks every
//!   field and reports *all* problems at once, each with its JSON pointer.
//! - Validation messages describe the expected form and never repeat the submitted value, so
//!   they are safe to log and to return.
//! - Names are stored exactly as given (any script); only the derived search keys are folded.
//! - Rules do not depend on the current date except "date of birth is not in the future", which
//!   can only become more permissive with time — a stored profile never turns invalid.

use chrono::NaiveDate;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use unicode_normalization::char::is_combining_mark;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use aloft_kernel::FieldError;
use aloft_kernel::fields::FieldReader;

pub use aloft_vocab::{AirportCode, CustomerId, fold, without_umlauts};

aloft_kernel::string_newtype!(
    PersonName,
    "A person's name part, in any script, stored as given (trimmed)."
);
aloft_kernel::string_newtype!(
    ShortText,
    "A short free text (drink, browser…): no control characters, bounded length."
);
aloft_kernel::string_newtype!(
    EmailAddress,
    "An e-mail address; the domain is lower-cased."
);
aloft_kernel::string_newtype!(
    PhoneNumber,
    "A phone number in E.164 form: `+` and 8–15 digits."
);
aloft_kernel::string_newtype!(
    CountryCode,
    "An ISO 3166-1 alpha-2 country code, upper case."
);
aloft_kernel::string_newtype!(
    PassportNumber,
    "A travel document number: 5–20 letters and digits, upper case."
);
aloft_kernel::string_newtype!(
    LoyaltyNumber,
    "A frequent-flyer number: 4–20 letters and digits, upper case."
);
aloft_kernel::string_newtype!(MealCode, "An IATA special meal code (AVML, VGML, KSML…).");
aloft_kernel::string_newtype!(
    SsrCode,
    "An IATA special service request code (WCHR, BLND, UMNR…)."
);
aloft_kernel::string_newtype!(
    LanguageTag,
    "A BCP 47 language tag (`en`, `ar`, `zh-Hans`, `pt-BR`), canonically cased."
);

impl PersonName {
    /// 1–100 characters of letters (any script), combining marks, spaces, hyphens, apostrophes
    /// and full stops.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let n = t.chars().count();
        if n == 0 {
            return Err("must not be empty".into());
        }
        if n > 100 {
            return Err("must be at most 100 characters".into());
        }
        let ok = t.chars().all(|c| {
            c.is_alphabetic()
                || is_combining_mark(c)
                || matches!(c, ' ' | '-' | '\'' | '’' | '.' | '\u{200c}' | '\u{200d}')
        });
        if !ok {
            return Err("may contain only letters (any script), spaces, hyphens, apostrophes and full stops".into());
        }
        Ok(Self(t.to_owned()))
    }
}

impl ShortText {
    /// Up to `max` characters without control characters; blank is rejected. Card numbers
    /// (PCI DSS primary account numbers) typed into free text are masked to first six and last
    /// four digits before the value exists at all, so no code path can store them.
    pub fn parse(s: &str, max: usize) -> Result<Self, String> {
        let t = s.trim();
        if t.is_empty() {
            return Err("must not be blank".into());
        }
        if t.chars().count() > max {
            return Err(format!("must be at most {max} characters"));
        }
        if t.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        let (redacted, _) = aloft_security::redact_card_numbers(t);
        Ok(Self(redacted))
    }
}

impl EmailAddress {
    /// A practical RFC 5321 address: `local@domain.tld`, at most 254 characters.
    pub fn parse(s: &str) -> Result<Self, String> {
        const MSG: &str = "must be an e-mail address such as name@example.com";
        let t = s.trim();
        if t.len() > 254 {
            return Err("must be at most 254 characters".into());
        }
        let (local, domain) = t.rsplit_once('@').ok_or(MSG)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(char::is_alphabetic));
        if !(local_ok && domain_ok) {
            return Err(MSG.into());
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    /// The search key: the whole address lower-cased.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

impl PhoneNumber {
    /// E.164: `+`, country code, subscriber number; 8–15 digits. Spaces, dots, dashes and
    /// parentheses are accepted as separators and dropped.
    pub fn parse(s: &str) -> Result<Self, String> {
        const MSG: &str = "must be an international number in E.164 form, e.g. +441632960961";
        let t = s.trim();
        let rest = t.strip_prefix('+').ok_or(MSG)?;
        let mut digits = String::with_capacity(16);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(MSG.into()),
            }
        }
        if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(MSG.into());
        }
        Ok(Self(format!("+{digits}")))
    }
}

impl CountryCode {
    /// An assigned ISO 3166-1 alpha-2 code, any case.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_uppercase();
        if t.len() == 2 && is_assigned_country(t.as_bytes()) {
            Ok(Self(t))
        } else {
            Err("must be an ISO 3166-1 alpha-2 country code such as GB, AE or IN".into())
        }
    }
}

fn document_number(s: &str, min: usize, max: usize, what: &str) -> Result<String, String> {
    let t: String = s
        .trim()
        .chars()
        .filter(|c| *c != ' ')
        .collect::<String>()
        .to_ascii_uppercase();
    if (min..=max).contains(&t.len()) && t.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(t)
    } else {
        Err(format!(
            "must be a {what} of {min}–{max} letters and digits"
        ))
    }
}

impl PassportNumber {
    /// 5–20 letters and digits; spaces are dropped, letters upper-cased.
    pub fn parse(s: &str) -> Result<Self, String> {
        document_number(s, 5, 20, "passport number").map(Self)
    }
}

impl LoyaltyNumber {
    /// 4–20 letters and digits; spaces are dropped, letters upper-cased.
    pub fn parse(s: &str) -> Result<Self, String> {
        document_number(s, 4, 20, "loyalty number").map(Self)
    }
}

impl MealCode {
    /// One of the IATA special meal codes.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_uppercase();
        if MEAL_CODES.iter().any(|(c, _)| *c == t) {
            Ok(Self(t))
        } else {
            Err("must be an IATA special meal code such as VGML, AVML, KSML or MOML".into())
        }
    }

    /// What the code means, for people.
    pub fn describe(&self) -> &'static str {
        MEAL_CODES
            .iter()
            .find(|(c, _)| *c == self.0)
            .map(|(_, d)| *d)
            .unwrap_or("")
    }
}

impl SsrCode {
    /// One of the IATA special service request codes (special meals included).
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_uppercase();
        if SSR_CODES.iter().any(|(c, _)| *c == t) || MEAL_CODES.iter().any(|(c, _)| *c == t) {
            Ok(Self(t))
        } else {
            Err(
                "must be an IATA special service request code such as WCHR, BLND, DEAF or UMNR"
                    .into(),
            )
        }
    }

    /// What the code means, for people.
    pub fn describe(&self) -> &'static str {
        SSR_CODES
            .iter()
            .chain(MEAL_CODES.iter())
            .find(|(c, _)| *c == self.0)
            .map(|(_, d)| *d)
            .unwrap_or("")
    }
}

impl LanguageTag {
    /// A simple BCP 47 tag: a 2–3 letter language, then optional script (4 letters) and region
    /// (2 letters or 3 digits) subtags.
    pub fn parse(s: &str) -> Result<Self, String> {
        const MSG: &str = "must be a BCP 47 language tag such as en, ar, zh-Hans or pt-BR";
        let mut parts = s.trim().split(['-', '_']);
        let lang = parts.next().unwrap_or("");
        if !(2..=3).contains(&lang.len()) || !lang.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(MSG.into());
        }
        let mut out = lang.to_ascii_lowercase();
        for part in parts {
            let canonical = match part.len() {
                4 if part.chars().all(|c| c.is_ascii_alphabetic()) => {
                    let mut c = part.to_ascii_lowercase();
                    c[..1].make_ascii_uppercase();
                    c
                }
                2 if part.chars().all(|c| c.is_ascii_alphabetic()) => part.to_ascii_uppercase(),
                3 if part.chars().all(|c| c.is_ascii_digit()) => part.to_owned(),
                _ => return Err(MSG.into()),
            };
            out.push('-');
            out.push_str(&canonical);
        }
        Ok(Self(out))
    }
}

/// Declares a closed set of values that travel as snake_case strings.
macro_rules! choice {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire text.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the wire text (case-insensitive).
            pub fn parse(s: &str) -> Result<Self, String> {
                let t = s.trim().to_ascii_lowercase();
                $(if t == $text { return Ok($name::$variant); })+
                Err(format!("must be one of: {}", [$($text),+].join(", ")))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                RefOr::T(Schema::Object(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some([$($text),+]))
                        .build(),
                ))
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

choice!(
    /// Loyalty programme tier, lowest to highest.
    LoyaltyTier { /** Entry tier. */ Blue => "blue", /** Second tier. */ Silver => "silver", /** Third tier. */ Gold => "gold", /** Top tier. */ Platinum => "platinum" }
);
choice!(
    /// Gender as on travel documents (ICAO 9303: F, M, X), or not disclosed.
    Gender { /** F. */ Female => "female", /** M. */ Male => "male", /** X (unspecified). */ X => "x", /** Not disclosed. */ Undisclosed => "undisclosed" }
);
choice!(
    /// Preferred seat position.
    SeatPreference { /** Aisle seat. */ Aisle => "aisle", /** Window seat. */ Window => "window", /** Middle seat. */ Middle => "middle", /** No preference. */ NoPreference => "no_preference" }
);
choice!(
    /// How the customer prefers to be contacted.
    Channel { /** E-mail. */ Email => "email", /** Text message. */ Sms => "sms", /** Phone call. */ Phone => "phone", /** Post. */ Post => "post", /** In-app message. */ App => "app" }
);
choice!(
    /// Kind of device last seen.
    DeviceType { /** Phone. */ Mobile => "mobile", /** Tablet. */ Tablet => "tablet", /** Computer. */ Desktop => "desktop", /** Airport kiosk. */ Kiosk => "kiosk", /** Anything else. */ Other => "other" }
);

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Address {
    /// Street and number.
    pub line1: ShortText,
    /// Flat, building, c/o.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line2: Option<ShortText>,
    /// City or town.
    pub city: ShortText,
    /// State, province, emirate, county.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<ShortText>,
    /// Postal or ZIP code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<ShortText>,
    /// Country.
    pub country: CountryCode,
}

/// The device and browser a customer last used on a digital channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default, ToSchema)]
pub struct Device {
    /// Kind of device.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_type: Option<DeviceType>,
    /// Operating system, e.g. "iOS 19".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<ShortText>,
    /// Browser or app, e.g. "Safari 19".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub browser: Option<ShortText>,
}

/// Where the customer is based or was last seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default, ToSchema)]
pub struct Location {
    /// City.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<ShortText>,
    /// Country.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<CountryCode>,
    /// The airport the customer usually departs from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub home_airport: Option<AirportCode>,
}

/// Explicit service preferences.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default, ToSchema)]
pub struct Preferences {
    /// Seat position.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seat: Option<SeatPreference>,
    /// Special meal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meal: Option<MealCode>,
    /// Preferred drink, in the customer's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drink: Option<ShortText>,
    /// Standing special service requests (wheelchair, assistance…), without duplicates.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub special_service_requests: Vec<SsrCode>,
    /// Language for service and messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<LanguageTag>,
    /// Preferred contact channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub communication_channel: Option<Channel>,
}

/// A validated customer profile: everything the kata's profile row names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Profile {
    /// Mr, Mrs, Ms, Dr, Sheikh…
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<ShortText>,
    /// Given name.
    pub first_name: PersonName,
    /// Middle name(s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<PersonName>,
    /// Family name.
    pub last_name: PersonName,
    /// Gender as on the travel document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    /// Date of birth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<NaiveDate>,
    /// E-mail address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailAddress>,
    /// Phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<PhoneNumber>,
    /// Nationality.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nationality: Option<CountryCode>,
    /// Passport number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passport_number: Option<PassportNumber>,
    /// Passport expiry date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passport_expiry: Option<NaiveDate>,
    /// Frequent-flyer number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loyalty_number: Option<LoyaltyNumber>,
    /// Frequent-flyer tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loyalty_tier: Option<LoyaltyTier>,
    /// Postal address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// Device and browser details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<Device>,
    /// Location details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Service preferences.
    pub preferences: Preferences,
}

/// The top-level fields of a profile document, in display order.
pub const PROFILE_FIELDS: &[&str] = &[
    "title",
    "first_name",
    "middle_name",
    "last_name",
    "gender",
    "date_of_birth",
    "email",
    "phone",
    "nationality",
    "passport_number",
    "passport_expiry",
    "loyalty_number",
    "loyalty_tier",
    "address",
    "device",
    "location",
    "preferences",
];

fn iso_date(
    s: &str,
    min_year: i32,
    max: Option<NaiveDate>,
    what: &str,
) -> Result<NaiveDate, String> {
    let msg = format!("must be a {what} in ISO 8601 form YYYY-MM-DD");
    if s.len() != 10 {
        return Err(msg);
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| msg)?;
    if d < NaiveDate::from_ymd_opt(min_year, 1, 1).unwrap_or(d)
        || d > NaiveDate::from_ymd_opt(2200, 1, 1).unwrap_or(d)
    {
        return Err(format!("must be a plausible {what} (after {min_year})"));
    }
    if let Some(max) = max
        && d > max
    {
        return Err(format!("must not be in the future ({what})"));
    }
    Ok(d)
}

impl Profile {
    /// Validates a whole profile document. `today` bounds the date of birth.
    pub fn parse(doc: &Value, today: NaiveDate) -> Result<Profile, Vec<FieldError>> {
        let mut errors = Vec::new();
        let Some(obj) = doc.as_object() else {
            return Err(vec![FieldError::new("", "the body must be a JSON object")]);
        };
        let mut r = FieldReader::new(obj, "", &mut errors);
        r.reject_unknown(PROFILE_FIELDS);
        let title = r.opt("title", |s| ShortText::parse(s, 30));
        let first_name = r.req("first_name", PersonName::parse);
        let middle_name = r.opt("middle_name", PersonName::parse);
        let last_name = r.req("last_name", PersonName::parse);
        let gender = r.opt("gender", Gender::parse);
        let date_of_birth = r.opt("date_of_birth", |s| {
            iso_date(s, 1900, Some(today), "date of birth")
        });
        let email = r.opt("email", EmailAddress::parse);
        let phone = r.opt("phone", PhoneNumber::parse);
        let nationality = r.opt("nationality", CountryCode::parse);
        let passport_number = r.opt("passport_number", PassportNumber::parse);
        let passport_expiry = r.opt("passport_expiry", |s| {
            iso_date(s, 1970, None, "passport expiry date")
        });
        let loyalty_number = r.opt("loyalty_number", LoyaltyNumber::parse);
        let loyalty_tier = r.opt("loyalty_tier", LoyaltyTier::parse);

        let address = r.object("address").and_then(|m| {
            let mut a = r.nested("address", m);
            a.reject_unknown(&["line1", "line2", "city", "region", "postal_code", "country"]);
            let line1 = a.req("line1", |s| ShortText::parse(s, 100));
            let line2 = a.opt("line2", |s| ShortText::parse(s, 100));
            let city = a.req("city", |s| ShortText::parse(s, 100));
            let region = a.opt("region", |s| ShortText::parse(s, 100));
            let postal_code = a.opt("postal_code", |s| ShortText::parse(s, 20));
            let country = a.req("country", CountryCode::parse);
            Some(Address {
                line1: line1?,
                line2,
                city: city?,
                region,
                postal_code,
                country: country?,
            })
        });
        let device = r.object("device").map(|m| {
            let mut d = r.nested("device", m);
            d.reject_unknown(&["device_type", "os", "browser"]);
            Device {
                device_type: d.opt("device_type", DeviceType::parse),
                os: d.opt("os", |s| ShortText::parse(s, 60)),
                browser: d.opt("browser", |s| ShortText::parse(s, 60)),
            }
        });
        let location = r.object("location").map(|m| {
            let mut l = r.nested("location", m);
            l.reject_unknown(&["city", "country", "home_airport"]);
            Location {
                city: l.opt("city", |s| ShortText::parse(s, 100)),
                country: l.opt("country", CountryCode::parse),
                home_airport: l.opt("home_airport", AirportCode::parse),
            }
        });
        let preferences = match r.object("preferences") {
            None => Preferences::default(),
            Some(m) => {
                let mut p = r.nested("preferences", m);
                p.reject_unknown(&[
                    "seat",
                    "meal",
                    "drink",
                    "special_service_requests",
                    "language",
                    "communication_channel",
                ]);
                let mut ssrs: Vec<SsrCode> = Vec::new();
                match m.get("special_service_requests") {
                    None | Some(Value::Null) => {}
                    Some(Value::Array(items)) => {
                        for (i, item) in items.iter().enumerate() {
                            let field = format!("special_service_requests/{i}");
                            match item.as_str().map(SsrCode::parse) {
                                Some(Ok(code)) if !ssrs.contains(&code) => ssrs.push(code),
                                Some(Ok(_)) => {}
                                Some(Err(e)) => p.fail(&field, e),
                                None => p.fail(&field, "must be a string"),
                            }
                        }
                    }
                    Some(_) => p.fail("special_service_requests", "must be an array of SSR codes"),
                }
                Preferences {
                    seat: p.opt("seat", SeatPreference::parse),
                    meal: p.opt("meal", MealCode::parse),
                    drink: p.opt("drink", |s| ShortText::parse(s, 60)),
                    special_service_requests: ssrs,
                    language: p.opt("language", LanguageTag::parse),
                    communication_channel: p.opt("communication_channel", Channel::parse),
                }
            }
        };
        match (first_name, last_name) {
            (Some(first_name), Some(last_name)) if errors.is_empty() => Ok(Profile {
                title,
                first_name,
                middle_name,
                last_name,
                gender,
                date_of_birth,
                email,
                phone,
                nationality,
                passport_number,
                passport_expiry,
                loyalty_number,
                loyalty_tier,
                address,
                device,
                location,
                preferences,
            }),
            _ => Err(errors),
        }
    }

    /// The profile as its JSON document (the stored and served form).
    pub fn to_document(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The name as a person reads it: title, first, middle, last.
    pub fn display_name(&self) -> String {
        let mut parts: Vec<&str> = Vec::new();
        if let Some(t) = &self.title {
            parts.push(t.as_str());
        }
        parts.push(self.first_name.as_str());
        if let Some(m) = &self.middle_name {
            parts.push(m.as_str());
        }
        parts.push(self.last_name.as_str());
        parts.join(" ")
    }

    /// Derived search keys: each name part folded (see [`fold`]) as it is and as it is spelt
    /// [`without_umlauts`] (see [`name_key_variants`]).
    pub fn search_keys(&self) -> SearchKeys {
        let [first_name, first_name_plain] = name_key_variants(self.first_name.as_str());
        let [last_name, last_name_plain] = name_key_variants(self.last_name.as_str());
        SearchKeys {
            first_name,
            last_name,
            first_name_plain,
            last_name_plain,
            email: self.email.as_ref().map(EmailAddress::key),
            phone: self.phone.as_ref().map(|p| p.as_str().to_owned()),
            loyalty: self.loyalty_number.as_ref().map(|l| l.as_str().to_owned()),
            passport: self.passport_number.as_ref().map(|p| p.as_str().to_owned()),
        }
    }
}

/// The normalised look-up keys of a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchKeys {
    /// Folded first name (ICAO: "Müller" → `mueller`).
    pub first_name: String,
    /// Folded last name.
    pub last_name: String,
    /// Folded first name spelt without umlauts ("Müller" → `muller`).
    pub first_name_plain: String,
    /// Folded last name spelt without umlauts.
    pub last_name_plain: String,
    /// Lower-cased e-mail.
    pub email: Option<String>,
    /// E.164 phone.
    pub phone: Option<String>,
    /// Canonical loyalty number.
    pub loyalty: Option<String>,
    /// Canonical passport number.
    pub passport: Option<String>,
}

/// The two search keys of a name (or of a typed query): its [`fold`] (ICAO 9303: "Müller" and
/// "Mueller" → `mueller`, as a PNR spells it) and the fold of its spelling [`without_umlauts`]
/// ("Müller" and "Muller" → `muller`, as a keyboard without umlauts spells it). A profile stores
/// both; a search matches the query's first against the first and its second against the
/// second, so "Müller", "Mueller", "Muller" and "mull" all find Müller.
pub fn name_key_variants(name: &str) -> [String; 2] {
    [fold(name), fold(&without_umlauts(name))]
}

/// Applies an RFC 7396 JSON merge patch: objects merge recursively, `null` removes a member,
/// anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in patch_map {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// The top-level fields whose values differ between two profiles (for events and the audit
/// trail: names of fields, never their values).
pub fn changed_fields(before: &Profile, after: &Profile) -> Vec<&'static str> {
    let (a, b) = (before.to_document(), after.to_document());
    PROFILE_FIELDS
        .iter()
        .copied()
        .filter(|f| a.get(f) != b.get(f))
        .collect()
}

/// Binary search in [`COUNTRIES`] (sorted, fixed width: two letters and a space).
fn is_assigned_country(code: &[u8]) -> bool {
    let table = COUNTRIES.as_bytes();
    let (mut lo, mut hi) = (0, table.len().div_ceil(3));
    while lo < hi {
        let mid = (lo + hi) / 2;
        match table[mid * 3..mid * 3 + 2].cmp(code) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return true,
        }
    }
    false
}

/// ISO 3166-1 alpha-2 codes (officially assigned), sorted, space separated.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// IATA special meal codes.
pub const MEAL_CODES: &[(&str, &str)] = &[
    ("AVML", "Asian vegetarian"),
    ("BBML", "Baby meal"),
    ("BLML", "Bland meal"),
    ("CHML", "Child meal"),
    ("DBML", "Diabetic meal"),
    ("FPML", "Fruit platter"),
    ("GFML", "Gluten-free meal"),
    ("HNML", "Hindu meal"),
    ("KSML", "Kosher meal"),
    ("LCML", "Low-calorie meal"),
    ("LFML", "Low-fat meal"),
    ("LSML", "Low-salt meal"),
    ("MOML", "Muslim meal"),
    ("NLML", "Lactose-free meal"),
    ("RVML", "Raw vegetarian meal"),
    ("SFML", "Seafood meal"),
    ("VGML", "Vegan meal"),
    ("VJML", "Jain vegetarian meal"),
    ("VLML", "Lacto-ovo vegetarian meal"),
    ("VOML", "Oriental vegetarian meal"),
];

/// IATA special service request codes (other than meals).
pub const SSR_CODES: &[(&str, &str)] = &[
    ("WCHR", "Wheelchair to the aircraft door; can climb stairs"),
    ("WCHS", "Wheelchair; cannot climb stairs"),
    ("WCHC", "Wheelchair to the seat; immobile"),
    ("WCMP", "Travels with a manual wheelchair"),
    ("WCBD", "Travels with a dry-cell battery wheelchair"),
    ("WCBW", "Travels with a wet-cell battery wheelchair"),
    ("BLND", "Blind or visually impaired"),
    ("DEAF", "Deaf or hard of hearing"),
    (
        "DPNA",
        "Intellectual or developmental disability needing assistance",
    ),
    ("MAAS", "Meet and assist"),
    ("MEDA", "Medical case"),
    ("OXYG", "Needs oxygen"),
    ("STCR", "Stretcher"),
    ("UMNR", "Unaccompanied minor"),
    ("PETC", "Pet in cabin"),
    ("SVAN", "Service animal"),
    ("ESAN", "Emotional support animal"),
    ("EXST", "Extra seat"),
    ("CBBG", "Cabin baggage seat"),
    ("BSCT", "Bassinet"),
    ("LANG", "Language assistance"),
    ("PPOC", "Portable oxygen concentrator"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
    }

    fn pointers(doc: Value) -> Vec<String> {
        Profile::parse(&doc, today())
            .unwrap_err()
            .into_iter()
            .map(|e| e.pointer)
            .collect()
    }

    #[test]
    fn a_full_profile_round_trips() {
        let doc = json!({
            "title": "Dr", "first_name": "Zoë", "middle_name": "Anne", "last_name": "Müller-Lüdenscheidt",
            "gender": "female", "date_of_birth": "1985-02-28", "email": "Zoe.M@Example.COM",
            "phone": "+44 1632 960 961", "nationality": "de", "passport_number": "c01x 00t47",
            "passport_expiry": "2031-05-01", "loyalty_number": "al123456789", "loyalty_tier": "Gold",
            "address": {"line1": "1 Rue de la Paix", "city": "Paris", "postal_code": "75002", "country": "FR"},
            "device": {"device_type": "mobile", "os": "iOS 19", "browser": "Safari"},
            "location": {"city": "Dubai", "country": "AE", "home_airport": "dxb"},
            "preferences": {"seat": "aisle", "meal": "vgml", "drink": "Sparkling water",
                "special_service_requests": ["WCHR", "wchr", "DEAF"], "language": "de-de",
                "communication_channel": "email"}
        });
        let p = Profile::parse(&doc, today()).unwrap();
        let out = p.to_document();
        assert_eq!(out["email"], "Zoe.M@example.com");
        assert_eq!(out["phone"], "+441632960961");
        assert_eq!(out["passport_number"], "C01X00T47");
        assert_eq!(out["loyalty_tier"], "gold");
        assert_eq!(out["location"]["home_airport"], "DXB");
        assert_eq!(
            out["preferences"]["special_service_requests"],
            json!(["WCHR", "DEAF"])
        );
        assert_eq!(out["preferences"]["language"], "de-DE");
        assert_eq!(out["last_name"], "Müller-Lüdenscheidt");
        // The stored document parses back to the same profile.
        assert_eq!(Profile::parse(&out, today()).unwrap(), p);
    }

    #[test]
    fn names_in_any_script_are_kept_as_given() {
        for (first, last) in [
            ("محمد", "العلي"),
            ("伟", "王"),
            ("José", "Núñez"),
            ("Ōta", "Hanako"),
            ("Seán", "Ó Briain"),
        ] {
            let p =
                Profile::parse(&json!({"first_name": first, "last_name": last}), today()).unwrap();
            assert_eq!(p.first_name.as_str(), first);
            assert_eq!(p.last_name.as_str(), last);
        }
    }

    #[test]
    fn every_bad_field_is_reported_with_its_pointer() {
        let got = pointers(json!({
            "first_name": "", "email": "nope", "phone": "12345", "nationality": "XX",
            "date_of_birth": "2030-01-01", "loyalty_tier": "diamond", "shoe_size": 42,
            "address": {"line1": "x", "country": "ZZ"},
            "preferences": {"meal": "PIZZA", "special_service_requests": ["WCHR", "FOO", 3]}
        }));
        for p in [
            "/first_name",
            "/last_name",
            "/email",
            "/phone",
            "/nationality",
            "/date_of_birth",
            "/loyalty_tier",
            "/shoe_size",
            "/address/city",
            "/address/country",
            "/preferences/meal",
            "/preferences/special_service_requests/1",
            "/preferences/special_service_requests/2",
        ] {
            assert!(got.contains(&p.to_string()), "missing {p} in {got:?}");
        }
    }

    #[test]
    fn errors_never_echo_the_submitted_value() {
        let errs = Profile::parse(
            &json!({"first_name": "A", "last_name": "B", "email": "secret-value"}),
            today(),
        )
        .unwrap_err();
        assert!(errs.iter().all(|e| !e.detail.contains("secret-value")));
    }

    #[test]
    fn phone_numbers_follow_e164() {
        assert_eq!(
            PhoneNumber::parse("+971 (4) 555-0100").unwrap().as_str(),
            "+97145550100"
        );
        assert!(PhoneNumber::parse("04 555 0100").is_err());
        assert!(PhoneNumber::parse("+0123456789").is_err());
        assert!(PhoneNumber::parse("+1234567890123456").is_err());
    }

    #[test]
    fn every_listed_country_is_found_and_others_are_not() {
        for code in COUNTRIES.split(' ') {
            assert!(is_assigned_country(code.as_bytes()), "{code}");
        }
        for code in ["AA", "ZZ", "XX", "UK", "EU", "A"] {
            assert!(!is_assigned_country(code.as_bytes()), "{code}");
        }
    }

    #[test]
    fn card_numbers_in_free_text_are_masked_before_storage() {
        let doc = json!({
            "first_name": "A", "last_name": "B",
            "address": {"line1": "1 High St", "line2": "card 4111 1111 1111 1111 for deposit", "city": "York", "country": "GB"},
            "preferences": {"drink": "5555-5555-5555-4444"}
        });
        let p = Profile::parse(&doc, today()).unwrap();
        let stored = p.to_document().to_string();
        assert!(!stored.contains("4111 1111 1111 1111") && !stored.contains("5555-5555-5555-4444"));
        assert!(stored.contains("411111******1111"), "{stored}");
        // Phone-like and reference numbers are left alone.
        let p = Profile::parse(&json!({"first_name": "A", "last_name": "B", "preferences": {"drink": "ref 1234567890"}}), today()).unwrap();
        assert_eq!(p.preferences.drink.unwrap().as_str(), "ref 1234567890");
    }

    #[test]
    fn dates_are_strict_iso() {
        assert!(iso_date("1990-2-03", 1900, None, "d").is_err());
        assert!(iso_date("1990-02-30", 1900, None, "d").is_err());
        assert!(iso_date("1990-02-28", 1900, None, "d").is_ok());
    }

    #[test]
    fn search_keys_fold_as_a_pnr_and_as_a_plain_keyboard_spell() {
        assert_eq!(name_key_variants("Müller"), ["mueller", "muller"]);
        assert_eq!(name_key_variants("Mueller"), ["mueller", "mueller"]);
        assert_eq!(
            name_key_variants("  ZOË  Straße "),
            ["zoe strasse", "zoe strasse"]
        );
        assert_eq!(
            name_key_variants("Øyvind Ærø"),
            ["oeyvind aeroe", "oyvind aero"]
        );
        assert_eq!(name_key_variants("مُحَمَّد"), ["محمد", "محمد"]);
        assert_eq!(name_key_variants("王伟"), ["王伟", "王伟"]);
        assert_eq!(name_key_variants("Łukasz"), ["lukasz", "lukasz"]);
        let p = Profile::parse(
            &json!({"first_name": "Zoë", "last_name": "Müller"}),
            today(),
        )
        .unwrap()
        .search_keys();
        assert_eq!(
            (
                p.first_name.as_str(),
                p.last_name.as_str(),
                p.last_name_plain.as_str()
            ),
            ("zoe", "mueller", "muller")
        );
    }

    #[test]
    fn merge_patch_follows_rfc7396() {
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut doc, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(doc, json!({"a": "z", "c": {"d": "e"}}));
    }

    #[test]
    fn changed_fields_name_only_what_changed() {
        let a = Profile::parse(&json!({"first_name": "A", "last_name": "B"}), today()).unwrap();
        let b = Profile::parse(
            &json!({"first_name": "A", "last_name": "C", "email": "a@b.co"}),
            today(),
        )
        .unwrap();
        assert_eq!(changed_fields(&a, &b), vec!["last_name", "email"]);
    }

    #[test]
    fn language_tags_are_canonically_cased() {
        assert_eq!(
            LanguageTag::parse("zh-hans-cn").unwrap().as_str(),
            "zh-Hans-CN"
        );
        assert!(LanguageTag::parse("english").is_err());
    }
}
