//! A deterministic synthetic passenger population, for demos, manual testing and benchmarks.
//!
//! Why it exists: the platform is only convincing — and its search, folding and paging are only
//! exercised — with a realistic, multilingual customer base: names with accents (Zoë, Łukasz,
//! Øyvind), names in Arabic, Han, Japanese and Cyrillic script, culture-appropriate home airports,
//! languages and special meals, and the long tail of optional fields. Real data cannot be used,
//! so this module invents it.
//!
//! Properties:
//! - Deterministic: [`profile`]`(seed, index)` depends on nothing but its arguments (a SplitMix64
//!   stream keyed by both), so a population can be regenerated exactly, and any single passenger
//!   without generating the ones before it.
//! - Valid: every profile is built as a JSON document ([`document`]) and passed through
//!   [`Profile::parse`], the same door the API uses; the tests prove every document parses.
//! - Harmless: e-mail addresses use only the reserved domains `example.com`, `example.org` and
//!   `example.net`; UK, North American and Australian phone numbers come from the ranges reserved
//!   for fiction (+44 7700 900xxx, +1 NXX 555 01xx, +61 491 570 xxx). Other countries' numbers
//!   are random digits behind a plausible mobile prefix.
//! - Unique where the database requires it: loyalty numbers are a bijection of the index.

use std::fmt::Write as _;
use std::sync::OnceLock;

use chrono::{Days, NaiveDate};
use serde_json::{Map, Value};

use crate::model::Profile;
use crate::storage::{CustomerError, CustomerStore};
use tables::CULTURES;

/// How many profiles [`load`] inserts per transaction.
pub const BATCH_SIZE: u64 = 1_000;

/// The fixed "today" used to validate generated profiles, so the output never changes with time.
pub const TODAY: NaiveDate = date(2026, 1, 1);

const DOB_FIRST: NaiveDate = date(1940, 1, 1);
const DOB_LAST: NaiveDate = date(2010, 12, 31);
const EXPIRY_FIRST: NaiveDate = date(2025, 1, 1);
const EXPIRY_LAST: NaiveDate = date(2036, 12, 31);

/// Loyalty numbers have nine digits: the index is mapped into `0..LOYALTY_SPACE` bijectively.
const LOYALTY_SPACE: u64 = 1_000_000_000;
/// Odd and not a multiple of 5, hence coprime with 10^9: multiplying by it permutes the space.
const LOYALTY_STRIDE: u64 = 387_420_489;

const fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(d) => d,
        None => panic!("invalid constant date"),
    }
}

/// The synthetic passenger number `index` of the population `seed`.
///
/// Always the same profile for the same arguments. Loyalty numbers are unique for indexes below
/// 10^9.
pub fn profile(seed: u64, index: u64) -> Profile {
    Profile::parse(&document(seed, index), TODAY)
        .expect("demo documents are valid by construction (proven by demo::tests)")
}

/// The first `n` passengers of the population `seed`: `profile(seed, 0..n)`.
pub fn generate(seed: u64, n: u64) -> impl Iterator<Item = Profile> {
    (0..n).map(move |index| profile(seed, index))
}

/// Inserts the first `n` passengers of the population `seed` into `store`, [`BATCH_SIZE`] per
/// transaction, calling `progress` with the number inserted so far after each batch. Returns how
/// many were inserted.
///
/// Idempotent demo start: if the store already holds any customer, nothing is generated or
/// inserted and the result is `Ok(0)`. (A load interrupted half-way is therefore not completed
/// by a second call; empty the database to start over.)
pub async fn load(
    store: &CustomerStore,
    seed: u64,
    n: u64,
    mut progress: impl FnMut(u64),
) -> Result<u64, CustomerError> {
    if store.count().await? > 0 {
        return Ok(0);
    }
    let ctx = aloft_kernel::AccessContext::system("demo");
    let mut done = 0;
    while done < n {
        let end = n.min(done + BATCH_SIZE);
        let batch: Vec<Profile> = (done..end).map(|index| profile(seed, index)).collect();
        store.create_many(batch, &ctx).await?;
        done = end;
        progress(done);
    }
    Ok(done)
}

/// The JSON document of passenger `index` of the population `seed`, exactly as a client would
/// submit it to the API. [`profile`] is this document parsed.
pub fn document(seed: u64, index: u64) -> Value {
    let mut rng = Rng::new(seed, index);
    let culture = rng.weighted(CULTURES, |c| c.weight);
    let home = &rng.weighted(culture.homes, |h| h.1).0;

    let gender = rng.weighted(GENDERS, |g| g.1).0;
    let feminine = match gender {
        "female" => true,
        "male" => false,
        _ => rng.chance(50),
    };
    let given = if feminine {
        culture.female
    } else {
        culture.male
    };
    let first = given.get(rng.below_usize(given.len()));
    let middle = rng
        .chance(culture.middle_pct)
        .then(|| given.get(rng.below_usize(given.len())));
    let family = rng.below_usize(culture.last.len());
    let last = match culture.last_female {
        Some(forms) if feminine => forms.get(family),
        _ => culture.last.get(family),
    };
    let mut last_name = last.text.to_owned();
    if rng.chance(culture.double_surname_pct) {
        last_name.push(' ');
        last_name.push_str(culture.last.get(rng.below_usize(culture.last.len())).text);
    }
    let born = rng.date(DOB_FIRST, DOB_LAST);

    let mut doc = Map::new();
    if let Some(title) = title(&mut rng, gender, feminine, born) {
        set(&mut doc, "title", title);
    }
    set(&mut doc, "first_name", first.text);
    if let Some(m) = middle.filter(|m| m.text != first.text) {
        set(&mut doc, "middle_name", m.text);
    }
    set(&mut doc, "last_name", last_name);
    set(&mut doc, "gender", gender);
    set(&mut doc, "date_of_birth", born.to_string());
    if rng.chance(92) {
        set(&mut doc, "email", email(&mut rng, first, last, index));
    }
    if rng.chance(85) {
        set(&mut doc, "phone", rng.fill(home.phone));
    }
    set(&mut doc, "nationality", home.country);
    if rng.chance(70) {
        let mut passport = String::with_capacity(9);
        passport.push(char::from(rng.pick(LETTERS)));
        for _ in 0..8 {
            passport.push(char::from(rng.pick(ALPHANUMERICS)));
        }
        set(&mut doc, "passport_number", passport);
        set(
            &mut doc,
            "passport_expiry",
            rng.date(EXPIRY_FIRST, EXPIRY_LAST).to_string(),
        );
    }
    if rng.chance(80) {
        set(&mut doc, "loyalty_number", loyalty_number(seed, index));
        set(&mut doc, "loyalty_tier", rng.weighted(TIERS, |t| t.1).0);
    }
    if rng.chance(60) {
        set(&mut doc, "address", address(&mut rng, home));
    }
    if rng.chance(50) {
        let (device_type, os, browser, _) = *rng.weighted(DEVICES, |d| d.3);
        let mut device = Map::new();
        set(&mut device, "device_type", device_type);
        set(&mut device, "os", os);
        set(&mut device, "browser", browser);
        set(&mut doc, "device", device);
    }
    if rng.chance(80) {
        let mut location = Map::new();
        set(&mut location, "city", home.city);
        set(&mut location, "country", home.country);
        set(&mut location, "home_airport", home.airport);
        set(&mut doc, "location", location);
    }
    set(
        &mut doc,
        "preferences",
        preferences(&mut rng, culture, home),
    );
    Value::Object(doc)
}

fn set(map: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
    map.insert(key.to_owned(), value.into());
}

/// A title that agrees with the gender; doctors only among adults; a few leave it out.
fn title(rng: &mut Rng, gender: &str, feminine: bool, born: NaiveDate) -> Option<&'static str> {
    if gender == "undisclosed" || rng.chance(8) {
        return None;
    }
    if gender == "x" {
        return Some("Mx");
    }
    if born < date(1996, 1, 1) && rng.chance(4) {
        return Some("Dr");
    }
    Some(match (feminine, rng.chance(50)) {
        (false, _) => "Mr",
        (true, true) => "Mrs",
        (true, false) => "Ms",
    })
}

/// `first.last1234@example.org` and similar, lower-case ASCII; the index keeps it unique.
fn email(rng: &mut Rng, first: Name, last: Name, index: u64) -> String {
    let mut s = String::with_capacity(48);
    match rng.below(5) {
        0 => {
            first.push_ascii(&mut s);
            s.push('.');
            last.push_ascii(&mut s);
        }
        1 => {
            first.push_ascii(&mut s);
            last.push_ascii(&mut s);
        }
        2 => {
            first.push_ascii(&mut s);
            s.truncate(1);
            s.push('.');
            last.push_ascii(&mut s);
        }
        3 => {
            last.push_ascii(&mut s);
            s.push('.');
            first.push_ascii(&mut s);
        }
        _ => {
            first.push_ascii(&mut s);
            s.push('_');
            last.push_ascii(&mut s);
        }
    }
    let _ = write!(s, "{index}@{}", rng.pick(EMAIL_DOMAINS));
    s
}

fn loyalty_number(seed: u64, index: u64) -> String {
    let offset = u128::from(mix(seed) % LOYALTY_SPACE);
    let n = (u128::from(index % LOYALTY_SPACE) * u128::from(LOYALTY_STRIDE) + offset)
        % u128::from(LOYALTY_SPACE);
    format!("AL{n:09}")
}

fn address(rng: &mut Rng, home: &Home) -> Map<String, Value> {
    let street = rng.pick(home.streets.names);
    let line1 = match home.streets.style {
        Style::NumberFirst => format!("{} {street}", 1 + rng.below(250)),
        Style::NumberLast => format!("{street} {}", 1 + rng.below(250)),
        Style::NumberAfterComma => format!("{street}, {}", 1 + rng.below(250)),
        Style::Chinese => format!("{street}{}号", 1 + rng.below(999)),
        Style::Japanese => format!(
            "{street}{}丁目{}-{}",
            1 + rng.below(9),
            1 + rng.below(30),
            1 + rng.below(20)
        ),
    };
    let mut a = Map::new();
    set(&mut a, "line1", line1);
    set(&mut a, "city", home.city);
    if let Some(region) = home.region {
        set(&mut a, "region", region);
    }
    if !home.postal.is_empty() {
        set(&mut a, "postal_code", rng.fill(home.postal));
    }
    set(&mut a, "country", home.country);
    a
}

fn preferences(rng: &mut Rng, culture: &Culture, home: &Home) -> Map<String, Value> {
    let mut p = Map::new();
    if rng.chance(85) {
        set(&mut p, "seat", rng.weighted(SEATS, |s| s.1).0);
    }
    if rng.chance(25) {
        set(&mut p, "meal", rng.weighted(culture.meals, |m| m.1).0);
    }
    if rng.chance(40) {
        set(&mut p, "drink", rng.pick(culture.drinks));
    }
    if rng.chance(5) {
        let first = rng.weighted(SSRS, |s| s.1).0;
        let mut codes = vec![Value::from(first)];
        if rng.chance(20) {
            let second = rng.weighted(SSRS, |s| s.1).0;
            if second != first {
                codes.push(Value::from(second));
            }
        }
        set(&mut p, "special_service_requests", codes);
    }
    if rng.chance(92) {
        let language = if rng.chance(culture.english_pct) {
            "en"
        } else {
            home.language
        };
        set(&mut p, "language", language);
    }
    if rng.chance(90) {
        set(
            &mut p,
            "communication_channel",
            rng.weighted(CHANNELS, |c| c.1).0,
        );
    }
    p
}

/// SplitMix64 (Steele, Lea & Flood 2014): tiny, fast, and good enough for synthetic data.
struct Rng(u64);

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 output function: a strong 64-bit mixer.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// An independent stream per (seed, index).
    fn new(seed: u64, index: u64) -> Self {
        Self(mix(mix(seed.wrapping_add(GOLDEN_GAMMA)) ^ index))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN_GAMMA);
        mix(self.0)
    }

    /// Uniform in `0..n` (multiply-shift; the bias is negligible for small `n`).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    fn below_usize(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below_usize(items.len())]
    }

    fn weighted<'a, T>(&mut self, items: &'a [T], weight: impl Fn(&T) -> u32) -> &'a T {
        let total: u64 = items.iter().map(|i| u64::from(weight(i))).sum();
        let mut roll = self.below(total);
        for item in items {
            let w = u64::from(weight(item));
            if roll < w {
                return item;
            }
            roll -= w;
        }
        &items[items.len() - 1]
    }

    /// Uniform in `first..=last`.
    fn date(&mut self, first: NaiveDate, last: NaiveDate) -> NaiveDate {
        let span = (last - first).num_days().unsigned_abs() + 1;
        first + Days::new(self.below(span))
    }

    /// The pattern with each `#` replaced by a random digit and each `@` by a random letter.
    fn fill(&mut self, pattern: &str) -> String {
        pattern
            .chars()
            .map(|c| match c {
                '#' => char::from(b'0' + self.below(10) as u8),
                '@' => char::from(self.pick(LETTERS)),
                c => c,
            })
            .collect()
    }
}

const LETTERS: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ";
const ALPHANUMERICS: &[u8] = b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789";
const EMAIL_DOMAINS: &[&str] = &["example.com", "example.org", "example.net"];

const GENDERS: &[(&str, u32)] = &[("female", 49), ("male", 49), ("x", 1), ("undisclosed", 1)];
const TIERS: &[(&str, u32)] = &[("blue", 60), ("silver", 25), ("gold", 11), ("platinum", 4)];
const SEATS: &[(&str, u32)] = &[
    ("aisle", 40),
    ("window", 40),
    ("middle", 4),
    ("no_preference", 16),
];
const CHANNELS: &[(&str, u32)] = &[("email", 45), ("app", 25), ("sms", 20), ("phone", 10)];
const SSRS: &[(&str, u32)] = &[
    ("WCHR", 40),
    ("WCHS", 15),
    ("WCHC", 5),
    ("MAAS", 12),
    ("BLND", 7),
    ("DEAF", 7),
    ("MEDA", 3),
    ("PETC", 4),
    ("SVAN", 3),
    ("DPNA", 2),
    ("LANG", 2),
];

/// (device_type, os, browser, weight): only combinations that exist.
const DEVICES: &[(&str, &str, &str, u32)] = &[
    ("mobile", "iOS 19", "Aloft app", 10),
    ("mobile", "iOS 19", "Safari", 8),
    ("mobile", "iOS 18", "Safari", 6),
    ("mobile", "Android 16", "Aloft app", 6),
    ("mobile", "Android 15", "Chrome", 8),
    ("mobile", "Android 14", "Chrome", 4),
    ("mobile", "Android 15", "Samsung Internet", 3),
    ("desktop", "Windows 11", "Chrome", 12),
    ("desktop", "Windows 11", "Edge", 7),
    ("desktop", "Windows 10", "Chrome", 4),
    ("desktop", "Windows 11", "Firefox", 2),
    ("desktop", "macOS 15", "Safari", 6),
    ("desktop", "macOS 15", "Chrome", 4),
    ("desktop", "Ubuntu 24.04", "Firefox", 2),
    ("tablet", "iPadOS 18", "Safari", 5),
    ("tablet", "iPadOS 18", "Aloft app", 3),
    ("tablet", "Android 14", "Chrome", 2),
];

const WESTERN_MEALS: &[(&str, u32)] = &[
    ("VGML", 30),
    ("VLML", 25),
    ("GFML", 15),
    ("KSML", 8),
    ("NLML", 8),
    ("DBML", 6),
    ("LCML", 4),
    ("LSML", 2),
    ("FPML", 2),
];
const ARABIC_MEALS: &[(&str, u32)] = &[
    ("MOML", 85),
    ("DBML", 5),
    ("VLML", 4),
    ("GFML", 3),
    ("LSML", 3),
];
const INDIAN_MEALS: &[(&str, u32)] = &[
    ("AVML", 35),
    ("HNML", 30),
    ("VJML", 15),
    ("MOML", 10),
    ("VGML", 5),
    ("DBML", 5),
];
const CHINESE_MEALS: &[(&str, u32)] = &[
    ("VOML", 40),
    ("NLML", 20),
    ("AVML", 15),
    ("DBML", 10),
    ("SFML", 10),
    ("MOML", 5),
];
const JAPANESE_MEALS: &[(&str, u32)] = &[
    ("SFML", 30),
    ("VOML", 25),
    ("NLML", 20),
    ("GFML", 15),
    ("VGML", 10),
];
const RUSSIAN_MEALS: &[(&str, u32)] = &[
    ("VLML", 30),
    ("DBML", 20),
    ("SFML", 15),
    ("GFML", 15),
    ("LSML", 10),
    ("VGML", 10),
];

const DRINKS: &[&str] = &[
    "Still water",
    "Sparkling water",
    "Orange juice",
    "Apple juice",
    "Tomato juice",
    "Coffee",
    "Tea",
    "Cola",
    "Red wine",
    "White wine",
    "Champagne",
    "Beer",
    "Gin and tonic",
];
const SOFT_DRINKS: &[&str] = &[
    "Still water",
    "Sparkling water",
    "Orange juice",
    "Mango juice",
    "Lemon mint",
    "Arabic coffee",
    "Karak tea",
    "Tea",
    "Cola",
];
const TEA_DRINKS: &[&str] = &[
    "Jasmine tea",
    "Green tea",
    "Oolong tea",
    "Hot water",
    "Still water",
    "Orange juice",
    "Coffee",
    "Beer",
    "Red wine",
];

/// A name as written, and how it is spelled in an ASCII e-mail address.
#[derive(Clone, Copy)]
struct Name {
    text: &'static str,
    /// The transliteration, for names not in Latin script.
    latin: Option<&'static str>,
}

impl Name {
    /// Appends the e-mail spelling: lower-case ASCII letters and digits only, accents folded
    /// (as the umlaut-less search key of [`crate::model::name_key_variants`] does, without its
    /// cost), punctuation and spaces dropped.
    fn push_ascii(self, out: &mut String) {
        if let Some(latin) = self.latin {
            out.extend(latin.chars().filter(char::is_ascii_alphanumeric));
            return;
        }
        for c in self.text.chars() {
            let c = c.to_lowercase().next().unwrap_or(c);
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else {
                out.push_str(latin_base(c));
            }
        }
    }
}

/// The ASCII base letter(s) of a lower-case Latin letter with diacritics ("" for anything else).
fn latin_base(c: char) -> &'static str {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' => "s",
        'ţ' | 'ť' | 'ŧ' => "t",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        'þ' => "th",
        _ => "",
    }
}

/// A list of names compiled in from a data file under `data/names/`: one name per line, as
/// written, and for names not in Latin script a tab and the transliteration. Why files: the
/// lists are data (easy to review, extend and diff by people who do not read Rust), and they
/// were most of this module. Parsed once, on first use.
struct Names {
    text: &'static str,
    parsed: OnceLock<Vec<Name>>,
}

impl Names {
    const fn new(text: &'static str) -> Self {
        Self {
            text,
            parsed: OnceLock::new(),
        }
    }

    fn all(&self) -> &[Name] {
        self.parsed.get_or_init(|| {
            self.text
                .lines()
                .filter(|line| !line.is_empty())
                .map(|line| match line.split_once('\t') {
                    Some((text, latin)) => Name {
                        text,
                        latin: Some(latin),
                    },
                    None => Name {
                        text: line,
                        latin: None,
                    },
                })
                .collect()
        })
    }
}

/// A list of names of one kind (male given, female given, family) in one culture.
#[derive(Clone, Copy)]
enum Pool {
    /// Latin script; the e-mail spelling is derived by folding the accents away.
    Latin(&'static Names),
    /// Another script, each name with its transliteration.
    Native(&'static Names),
}

impl Pool {
    fn names(self) -> &'static [Name] {
        match self {
            Pool::Latin(names) | Pool::Native(names) => names.all(),
        }
    }

    fn len(self) -> usize {
        self.names().len()
    }

    fn get(self, i: usize) -> Name {
        let names = self.names();
        names[i % names.len()]
    }
}

/// How a street address is written.
#[derive(Clone, Copy)]
enum Style {
    /// `12 Baker Street`, `12 rue de Rivoli`.
    NumberFirst,
    /// `Hauptstraße 12`.
    NumberLast,
    /// `Calle Mayor, 12`.
    NumberAfterComma,
    /// `建国路88号`.
    Chinese,
    /// `銀座4丁目5-6`.
    Japanese,
}

/// Street names of a country and how addresses there are written.
struct Streets {
    names: &'static [&'static str],
    style: Style,
}

/// A place a passenger lives: everything that follows from it.
struct Home {
    /// ISO 3166-1 alpha-2: nationality, address and location country.
    country: &'static str,
    city: &'static str,
    region: Option<&'static str>,
    airport: &'static str,
    /// BCP 47 service language.
    language: &'static str,
    /// Phone pattern (`#` = random digit), E.164.
    phone: &'static str,
    /// Postal code pattern (`#` digit, `@` letter); empty where there are none.
    postal: &'static str,
    streets: &'static Streets,
}

const fn home(
    country: &'static str,
    city: &'static str,
    airport: &'static str,
    language: &'static str,
    phone: &'static str,
    postal: &'static str,
    streets: &'static Streets,
) -> Home {
    Home {
        country,
        city,
        region: None,
        airport,
        language,
        phone,
        postal,
        streets,
    }
}

impl Home {
    const fn region(mut self, region: &'static str) -> Self {
        self.region = Some(region);
        self
    }
}

/// A naming culture and where its people live.
struct Culture {
    /// Share of the population (the weights sum to 100).
    weight: u32,
    male: Pool,
    female: Pool,
    last: Pool,
    /// Feminine forms of the family names, parallel to `last` (Russian, Polish).
    last_female: Option<Pool>,
    middle_pct: u64,
    double_surname_pct: u64,
    /// Share preferring English over the home language.
    english_pct: u64,
    homes: &'static [(Home, u32)],
    meals: &'static [(&'static str, u32)],
    drinks: &'static [&'static str],
}

/// The data tables: cultures and homes in hand-aligned rows (hence the `rustfmt::skip`), and
/// the name pools, whose names are in `data/names/*.txt`.
#[rustfmt::skip]
mod tables {
    use super::{Culture, Home, Names, Pool, Streets, Style, home};
    use super::{ARABIC_MEALS, CHINESE_MEALS, DRINKS, INDIAN_MEALS, JAPANESE_MEALS};
    use super::{RUSSIAN_MEALS, SOFT_DRINKS, TEA_DRINKS, WESTERN_MEALS};

    pub(super) static CULTURES: &[Culture] = &[
        Culture {
            weight: 24,
            male: Pool::Latin(&EN_MALE),
            female: Pool::Latin(&EN_FEMALE),
            last: Pool::Latin(&EN_LAST),
            last_female: None,
            middle_pct: 30,
            double_surname_pct: 0,
            english_pct: 0,
            homes: EN_HOMES,
            meals: WESTERN_MEALS,
            drinks: DRINKS,
        },
        Culture {
            weight: 7,
            male: Pool::Latin(&FR_MALE),
            female: Pool::Latin(&FR_FEMALE),
            last: Pool::Latin(&FR_LAST),
            last_female: None,
            middle_pct: 15,
            double_surname_pct: 0,
            english_pct: 10,
            homes: FR_HOMES,
            meals: WESTERN_MEALS,
            drinks: DRINKS,
        },
        Culture {
            weight: 8,
            male: Pool::Latin(&ES_MALE),
            female: Pool::Latin(&ES_FEMALE),
            last: Pool::Latin(&ES_LAST),
            last_female: None,
            middle_pct: 10,
            double_surname_pct: 60,
            english_pct: 10,
            homes: ES_HOMES,
            meals: WESTERN_MEALS,
            drinks: DRINKS,
        },
        Culture {
            weight: 7,
            male: Pool::Latin(&DE_MALE),
            female: Pool::Latin(&DE_FEMALE),
            last: Pool::Latin(&DE_LAST),
            last_female: None,
            middle_pct: 15,
            double_surname_pct: 0,
            english_pct: 15,
            homes: DE_HOMES,
            meals: WESTERN_MEALS,
            drinks: DRINKS,
        },
        Culture {
            weight: 5,
            male: Pool::Latin(&PT_MALE),
            female: Pool::Latin(&PT_FEMALE),
            last: Pool::Latin(&PT_LAST),
            last_female: None,
            middle_pct: 20,
            double_surname_pct: 35,
            english_pct: 10,
            homes: PT_HOMES,
            meals: WESTERN_MEALS,
            drinks: DRINKS,
        },
        Culture {
            weight: 4,
            male: Pool::Latin(&NORDIC_MALE),
            female: Pool::Latin(&NORDIC_FEMALE),
            last: Pool::Latin(&NORDIC_LAST),
            last_female: None,
            middle_pct: 20,
            double_surname_pct: 0,
            english_pct: 35,
            homes: NORDIC_HOMES,
            meals: WESTERN_MEALS,
            drinks: DRINKS,
        },
        Culture {
            weight: 3,
            male: Pool::Latin(&PL_MALE),
            female: Pool::Latin(&PL_FEMALE),
            last: Pool::Latin(&PL_LAST),
            last_female: Some(Pool::Latin(&PL_LAST_FEMALE)),
            middle_pct: 10,
            double_surname_pct: 0,
            english_pct: 15,
            homes: PL_HOMES,
            meals: WESTERN_MEALS,
            drinks: DRINKS,
        },
        Culture {
            weight: 10,
            male: Pool::Native(&AR_MALE),
            female: Pool::Native(&AR_FEMALE),
            last: Pool::Native(&AR_LAST),
            last_female: None,
            middle_pct: 0,
            double_surname_pct: 0,
            english_pct: 20,
            homes: AR_HOMES,
            meals: ARABIC_MEALS,
            drinks: SOFT_DRINKS,
        },
        Culture {
            weight: 5,
            male: Pool::Latin(&AR_LATIN_MALE),
            female: Pool::Latin(&AR_LATIN_FEMALE),
            last: Pool::Latin(&AR_LATIN_LAST),
            last_female: None,
            middle_pct: 15,
            double_surname_pct: 0,
            english_pct: 45,
            homes: AR_LATIN_HOMES,
            meals: ARABIC_MEALS,
            drinks: SOFT_DRINKS,
        },
        Culture {
            weight: 9,
            male: Pool::Native(&ZH_MALE),
            female: Pool::Native(&ZH_FEMALE),
            last: Pool::Native(&ZH_LAST),
            last_female: None,
            middle_pct: 0,
            double_surname_pct: 0,
            english_pct: 10,
            homes: ZH_HOMES,
            meals: CHINESE_MEALS,
            drinks: TEA_DRINKS,
        },
        Culture {
            weight: 5,
            male: Pool::Native(&JA_MALE),
            female: Pool::Native(&JA_FEMALE),
            last: Pool::Native(&JA_LAST),
            last_female: None,
            middle_pct: 0,
            double_surname_pct: 0,
            english_pct: 5,
            homes: JA_HOMES,
            meals: JAPANESE_MEALS,
            drinks: TEA_DRINKS,
        },
        Culture {
            weight: 9,
            male: Pool::Latin(&IN_MALE),
            female: Pool::Latin(&IN_FEMALE),
            last: Pool::Latin(&IN_LAST),
            last_female: None,
            middle_pct: 10,
            double_surname_pct: 0,
            english_pct: 40,
            homes: IN_HOMES,
            meals: INDIAN_MEALS,
            drinks: DRINKS,
        },
        Culture {
            weight: 4,
            male: Pool::Native(&RU_MALE),
            female: Pool::Native(&RU_FEMALE),
            last: Pool::Native(&RU_LAST),
            last_female: Some(Pool::Native(&RU_LAST_FEMALE)),
            middle_pct: 0,
            double_surname_pct: 0,
            english_pct: 10,
            homes: RU_HOMES,
            meals: RUSSIAN_MEALS,
            drinks: DRINKS,
        },
    ];

    // ---- English ------------------------------------------------------------------------------

    static EN_MALE: Names = Names::new(include_str!("../data/names/en_male.txt"));

    static EN_FEMALE: Names = Names::new(include_str!("../data/names/en_female.txt"));

    static EN_LAST: Names = Names::new(include_str!("../data/names/en_last.txt"));

    const EN_STREETS: &Streets = &Streets {
        style: Style::NumberFirst,
        names: &[
            "High Street", "Station Road", "Church Lane", "Victoria Road", "King Street",
            "Park Road", "Main Street", "Oak Avenue", "Maple Drive", "Elm Street", "Queen Street",
            "George Street",
        ],
    };

    const EN_HOMES: &[(Home, u32)] = &[
        (home("GB", "London", "LHR", "en", "+447700900###", "SW# #@@", EN_STREETS), 24),
        (home("GB", "London", "LGW", "en", "+447700900###", "EC# #@@", EN_STREETS), 6),
        (home("GB", "Manchester", "MAN", "en", "+447700900###", "M## #@@", EN_STREETS), 8),
        (home("GB", "Edinburgh", "EDI", "en", "+447700900###", "EH# #@@", EN_STREETS), 5),
        (home("US", "New York", "JFK", "en", "+121255501##", "100##", EN_STREETS).region("NY"), 12),
        (home("US", "Los Angeles", "LAX", "en", "+131055501##", "900##", EN_STREETS)
            .region("CA"), 7),
        (home("US", "Chicago", "ORD", "en", "+131255501##", "606##", EN_STREETS).region("IL"), 5),
        (home("US", "San Francisco", "SFO", "en", "+141555501##", "941##", EN_STREETS)
            .region("CA"), 4),
        (home("US", "Boston", "BOS", "en", "+161755501##", "021##", EN_STREETS).region("MA"), 3),
        (home("US", "Atlanta", "ATL", "en", "+140455501##", "303##", EN_STREETS).region("GA"), 3),
        (home("CA", "Toronto", "YYZ", "en", "+141655501##", "M#@ #@#", EN_STREETS).region("ON"), 6),
        (home("CA", "Vancouver", "YVR", "en", "+160455501##", "V#@ #@#", EN_STREETS)
            .region("BC"), 3),
        (home("AU", "Sydney", "SYD", "en", "+61491570###", "20##", EN_STREETS).region("NSW"), 6),
        (home("AU", "Melbourne", "MEL", "en", "+61491570###", "30##", EN_STREETS).region("VIC"), 4),
        (home("IE", "Dublin", "DUB", "en", "+35387#######", "D0# @###", EN_STREETS), 3),
        (home("NZ", "Auckland", "AKL", "en", "+6421#######", "10##", EN_STREETS), 2),
    ];

    // ---- French -------------------------------------------------------------------------------

    static FR_MALE: Names = Names::new(include_str!("../data/names/fr_male.txt"));

    static FR_FEMALE: Names = Names::new(include_str!("../data/names/fr_female.txt"));

    static FR_LAST: Names = Names::new(include_str!("../data/names/fr_last.txt"));

    const FR_STREETS: &Streets = &Streets {
        style: Style::NumberFirst,
        names: &[
            "rue de Rivoli", "avenue des Champs-Élysées", "boulevard Saint-Germain",
            "rue de la République", "rue Victor-Hugo", "avenue Jean-Jaurès", "rue Sainte-Catherine",
            "place Bellecour", "rue du Faubourg-Saint-Honoré", "boulevard de la Croisette",
        ],
    };

    const FR_HOMES: &[(Home, u32)] = &[
        (home("FR", "Paris", "CDG", "fr", "+336########", "750##", FR_STREETS), 30),
        (home("FR", "Paris", "ORY", "fr", "+337########", "750##", FR_STREETS), 8),
        (home("FR", "Lyon", "LYS", "fr", "+336########", "6900#", FR_STREETS), 8),
        (home("FR", "Nice", "NCE", "fr", "+336########", "06###", FR_STREETS), 6),
        (home("FR", "Toulouse", "TLS", "fr", "+336########", "310##", FR_STREETS), 5),
        (home("BE", "Bruxelles", "BRU", "fr", "+3247#######", "1###", FR_STREETS), 6),
        (home("CH", "Genève", "GVA", "fr", "+4179#######", "12##", FR_STREETS), 4),
        (home("CA", "Montréal", "YUL", "fr-CA", "+151455501##", "H#@ #@#", FR_STREETS)
            .region("QC"), 8),
    ];

    // ---- Spanish ------------------------------------------------------------------------------

    static ES_MALE: Names = Names::new(include_str!("../data/names/es_male.txt"));

    static ES_FEMALE: Names = Names::new(include_str!("../data/names/es_female.txt"));

    static ES_LAST: Names = Names::new(include_str!("../data/names/es_last.txt"));

    const ES_STREETS: &Streets = &Streets {
        style: Style::NumberAfterComma,
        names: &[
            "Calle Mayor", "Gran Vía", "Calle de Alcalá", "Paseo de la Castellana",
            "Avenida de la Constitución", "Calle Real", "Avenida Insurgentes Sur",
            "Avenida Corrientes", "Carrera Séptima", "Rambla de Catalunya",
        ],
    };

    const ES_HOMES: &[(Home, u32)] = &[
        (home("ES", "Madrid", "MAD", "es", "+346########", "280##", ES_STREETS), 20),
        (home("ES", "Barcelona", "BCN", "es", "+346########", "080##", ES_STREETS), 14),
        (home("ES", "Sevilla", "SVQ", "es", "+346########", "410##", ES_STREETS), 5),
        (home("ES", "Valencia", "VLC", "es", "+346########", "460##", ES_STREETS), 5),
        (home("MX", "Ciudad de México", "MEX", "es-MX", "+5255########", "06###", ES_STREETS), 16),
        (home("AR", "Buenos Aires", "EZE", "es", "+54911########", "C1###@@@", ES_STREETS), 8),
        (home("CO", "Bogotá", "BOG", "es", "+573#########", "1100##", ES_STREETS), 7),
        (home("CL", "Santiago", "SCL", "es", "+569########", "83#####", ES_STREETS), 5),
    ];

    // ---- German -------------------------------------------------------------------------------

    static DE_MALE: Names = Names::new(include_str!("../data/names/de_male.txt"));

    static DE_FEMALE: Names = Names::new(include_str!("../data/names/de_female.txt"));

    static DE_LAST: Names = Names::new(include_str!("../data/names/de_last.txt"));

    const DE_STREETS: &Streets = &Streets {
        style: Style::NumberLast,
        names: &[
            "Hauptstraße", "Bahnhofstraße", "Goethestraße", "Schillerstraße", "Gartenstraße",
            "Königsallee", "Friedrichstraße", "Maximilianstraße", "Lindenstraße", "Mühlenweg",
        ],
    };

    const DE_HOMES: &[(Home, u32)] = &[
        (home("DE", "Berlin", "BER", "de", "+49151########", "10###", DE_STREETS), 16),
        (home("DE", "München", "MUC", "de", "+49160########", "80###", DE_STREETS), 14),
        (home("DE", "Frankfurt am Main", "FRA", "de", "+49171########", "60###", DE_STREETS), 14),
        (home("DE", "Hamburg", "HAM", "de", "+49152########", "20###", DE_STREETS), 10),
        (home("DE", "Düsseldorf", "DUS", "de", "+49176########", "40###", DE_STREETS), 8),
        (home("AT", "Wien", "VIE", "de-AT", "+43664#######", "1###", DE_STREETS), 8),
        (home("CH", "Zürich", "ZRH", "de-CH", "+4179#######", "80##", DE_STREETS), 7),
    ];

    // ---- Portuguese ---------------------------------------------------------------------------

    static PT_MALE: Names = Names::new(include_str!("../data/names/pt_male.txt"));

    static PT_FEMALE: Names = Names::new(include_str!("../data/names/pt_female.txt"));

    static PT_LAST: Names = Names::new(include_str!("../data/names/pt_last.txt"));

    const PT_STREETS: &Streets = &Streets {
        style: Style::NumberAfterComma,
        names: &[
            "Rua Augusta", "Avenida Paulista", "Rua das Flores", "Avenida Atlântica",
            "Rua Oscar Freire", "Avenida da Liberdade", "Rua de Santa Catarina", "Rua Direita",
            "Avenida Brasil", "Rua da Consolação",
        ],
    };

    const PT_HOMES: &[(Home, u32)] = &[
        (home("BR", "São Paulo", "GRU", "pt-BR", "+55119########", "0####-###", PT_STREETS)
            .region("SP"), 30),
        (home("BR", "Rio de Janeiro", "GIG", "pt-BR", "+55219########", "2####-###", PT_STREETS)
            .region("RJ"), 18),
        (home("BR", "Brasília", "BSB", "pt-BR", "+55619########", "70###-###", PT_STREETS)
            .region("DF"), 8),
        (home("BR", "Belo Horizonte", "CNF", "pt-BR", "+55319########", "30###-###", PT_STREETS)
            .region("MG"), 7),
        (home("PT", "Lisboa", "LIS", "pt-PT", "+3519########", "1###-###", PT_STREETS), 12),
        (home("PT", "Porto", "OPO", "pt-PT", "+3519########", "4###-###", PT_STREETS), 6),
    ];

    // ---- Nordic -------------------------------------------------------------------------------

    static NORDIC_MALE: Names = Names::new(include_str!("../data/names/nordic_male.txt"));

    static NORDIC_FEMALE: Names = Names::new(include_str!("../data/names/nordic_female.txt"));

    static NORDIC_LAST: Names = Names::new(include_str!("../data/names/nordic_last.txt"));

    const NORDIC_STREETS: &Streets = &Streets {
        style: Style::NumberLast,
        names: &[
            "Karl Johans gate", "Storgata", "Bryggen", "Drottninggatan", "Kungsgatan", "Strøget",
            "Nørregade", "Mannerheimintie", "Aleksanterinkatu", "Laugavegur",
        ],
    };

    const NORDIC_HOMES: &[(Home, u32)] = &[
        (home("NO", "Oslo", "OSL", "nb", "+474#######", "0###", NORDIC_STREETS), 12),
        (home("NO", "Bergen", "BGO", "nb", "+479#######", "50##", NORDIC_STREETS), 4),
        (home("SE", "Stockholm", "ARN", "sv", "+4670#######", "1## ##", NORDIC_STREETS), 12),
        (home("SE", "Göteborg", "GOT", "sv", "+4673#######", "4## ##", NORDIC_STREETS), 4),
        (home("DK", "København", "CPH", "da", "+452#######", "1###", NORDIC_STREETS), 10),
        (home("FI", "Helsinki", "HEL", "fi", "+35840#######", "00###", NORDIC_STREETS), 8),
        (home("IS", "Reykjavík", "KEF", "is", "+3546######", "1##", NORDIC_STREETS), 2),
    ];

    // ---- Polish -------------------------------------------------------------------------------

    static PL_MALE: Names = Names::new(include_str!("../data/names/pl_male.txt"));

    static PL_FEMALE: Names = Names::new(include_str!("../data/names/pl_female.txt"));

    static PL_LAST: Names = Names::new(include_str!("../data/names/pl_last.txt"));

    static PL_LAST_FEMALE: Names = Names::new(include_str!("../data/names/pl_last_female.txt"));

    const PL_STREETS: &Streets = &Streets {
        style: Style::NumberLast,
        names: &[
            "ul. Marszałkowska", "ul. Floriańska", "ul. Długa", "ul. Świdnicka", "ul. Piotrkowska",
            "al. Jerozolimskie", "ul. Mickiewicza", "ul. Kościuszki", "ul. Półwiejska",
        ],
    };

    const PL_HOMES: &[(Home, u32)] = &[
        (home("PL", "Warszawa", "WAW", "pl", "+485########", "0#-###", PL_STREETS), 14),
        (home("PL", "Kraków", "KRK", "pl", "+486########", "3#-###", PL_STREETS), 8),
        (home("PL", "Gdańsk", "GDN", "pl", "+485########", "80-###", PL_STREETS), 5),
        (home("PL", "Wrocław", "WRO", "pl", "+487########", "5#-###", PL_STREETS), 5),
        (home("PL", "Poznań", "POZ", "pl", "+486########", "6#-###", PL_STREETS), 4),
        (home("PL", "Katowice", "KTW", "pl", "+485########", "40-###", PL_STREETS), 4),
    ];

    // ---- Arabic (Arabic script) ---------------------------------------------------------------

    static AR_MALE: Names = Names::new(include_str!("../data/names/ar_male.txt"));

    static AR_FEMALE: Names = Names::new(include_str!("../data/names/ar_female.txt"));

    static AR_LAST: Names = Names::new(include_str!("../data/names/ar_last.txt"));

    const AR_STREETS: &Streets = &Streets {
        style: Style::NumberLast,
        names: &[
            "شارع الشيخ زايد", "شارع الملك فهد", "شارع الجامعة", "شارع الخليج", "شارع الكورنيش",
            "شارع السلام", "طريق المطار", "شارع التحلية",
        ],
    };

    const AR_HOMES: &[(Home, u32)] = &[
        (home("AE", "دبي", "DXB", "ar", "+9715########", "", AR_STREETS), 20),
        (home("AE", "أبوظبي", "AUH", "ar", "+9715########", "", AR_STREETS), 10),
        (home("SA", "الرياض", "RUH", "ar", "+9665########", "1####", AR_STREETS), 14),
        (home("SA", "جدة", "JED", "ar", "+9665########", "2####", AR_STREETS), 10),
        (home("QA", "الدوحة", "DOH", "ar", "+9743#######", "", AR_STREETS), 10),
        (home("KW", "الكويت", "KWI", "ar", "+9656#######", "1####", AR_STREETS), 6),
        (home("BH", "المنامة", "BAH", "ar", "+9733#######", "3##", AR_STREETS), 4),
        (home("OM", "مسقط", "MCT", "ar", "+9689#######", "1##", AR_STREETS), 5),
        (home("EG", "القاهرة", "CAI", "ar", "+2010########", "11###", AR_STREETS), 14),
        (home("JO", "عمّان", "AMM", "ar", "+96279#######", "11###", AR_STREETS), 7),
    ];

    // ---- Arabic (Latin transliteration) -------------------------------------------------------

    static AR_LATIN_MALE: Names = Names::new(include_str!("../data/names/ar_latin_male.txt"));

    static AR_LATIN_FEMALE: Names = Names::new(include_str!("../data/names/ar_latin_female.txt"));

    static AR_LATIN_LAST: Names = Names::new(include_str!("../data/names/ar_latin_last.txt"));

    const AR_LATIN_STREETS: &Streets = &Streets {
        style: Style::NumberLast,
        names: &[
            "Sheikh Zayed Road", "Al Wasl Road", "Jumeirah Beach Road", "King Fahd Road",
            "Corniche Street", "Hamra Street", "Tahrir Street", "Rainbow Street", "Airport Road",
        ],
    };

    const AR_LATIN_HOMES: &[(Home, u32)] = &[
        (home("AE", "Dubai", "DXB", "ar", "+9715########", "", AR_LATIN_STREETS), 24),
        (home("AE", "Abu Dhabi", "AUH", "ar", "+9715########", "", AR_LATIN_STREETS), 10),
        (home("SA", "Riyadh", "RUH", "ar", "+9665########", "1####", AR_LATIN_STREETS), 10),
        (home("QA", "Doha", "DOH", "ar", "+9745#######", "", AR_LATIN_STREETS), 10),
        (home("EG", "Cairo", "CAI", "ar", "+2012########", "11###", AR_LATIN_STREETS), 10),
        (home("JO", "Amman", "AMM", "ar", "+96278#######", "11###", AR_LATIN_STREETS), 6),
        (home("LB", "Beirut", "BEY", "ar", "+9613######", "11##", AR_LATIN_STREETS), 8),
        (home("MA", "Casablanca", "CMN", "ar", "+2126########", "20###", AR_LATIN_STREETS), 6),
    ];

    // ---- Chinese ------------------------------------------------------------------------------

    static ZH_MALE: Names = Names::new(include_str!("../data/names/zh_male.txt"));

    static ZH_FEMALE: Names = Names::new(include_str!("../data/names/zh_female.txt"));

    static ZH_LAST: Names = Names::new(include_str!("../data/names/zh_last.txt"));

    const ZH_STREETS: &Streets = &Streets {
        style: Style::Chinese,
        names: &[
            "建国路", "长安街", "南京路", "中山路", "人民路", "解放路", "天府大道", "深南大道",
        ],
    };

    const ZH_HOMES: &[(Home, u32)] = &[
        (home("CN", "北京", "PEK", "zh-Hans", "+8613#########", "100###", ZH_STREETS), 22),
        (home("CN", "上海", "PVG", "zh-Hans", "+8613#########", "200###", ZH_STREETS), 22),
        (home("CN", "广州", "CAN", "zh-Hans", "+8615#########", "510###", ZH_STREETS), 14),
        (home("CN", "深圳", "SZX", "zh-Hans", "+8618#########", "518###", ZH_STREETS), 12),
        (home("CN", "成都", "TFU", "zh-Hans", "+8613#########", "610###", ZH_STREETS), 8),
        (home("CN", "杭州", "HGH", "zh-Hans", "+8615#########", "310###", ZH_STREETS), 7),
    ];

    // ---- Japanese -----------------------------------------------------------------------------

    static JA_MALE: Names = Names::new(include_str!("../data/names/ja_male.txt"));

    static JA_FEMALE: Names = Names::new(include_str!("../data/names/ja_female.txt"));

    static JA_LAST: Names = Names::new(include_str!("../data/names/ja_last.txt"));

    const JA_STREETS: &Streets = &Streets {
        style: Style::Japanese,
        names: &[
            "銀座", "丸の内", "新宿", "渋谷", "梅田", "難波", "栄", "天神", "大通西",
        ],
    };

    const JA_HOMES: &[(Home, u32)] = &[
        (home("JP", "東京", "HND", "ja", "+8190########", "1##-####", JA_STREETS), 24),
        (home("JP", "東京", "NRT", "ja", "+8180########", "1##-####", JA_STREETS), 14),
        (home("JP", "大阪", "KIX", "ja", "+8190########", "5##-####", JA_STREETS), 14),
        (home("JP", "名古屋", "NGO", "ja", "+8170########", "4##-####", JA_STREETS), 6),
        (home("JP", "福岡", "FUK", "ja", "+8190########", "8##-####", JA_STREETS), 5),
        (home("JP", "札幌", "CTS", "ja", "+8180########", "06#-####", JA_STREETS), 4),
    ];

    // ---- Indian -------------------------------------------------------------------------------

    static IN_MALE: Names = Names::new(include_str!("../data/names/in_male.txt"));

    static IN_FEMALE: Names = Names::new(include_str!("../data/names/in_female.txt"));

    static IN_LAST: Names = Names::new(include_str!("../data/names/in_last.txt"));

    const IN_STREETS: &Streets = &Streets {
        style: Style::NumberFirst,
        names: &[
            "MG Road", "Linking Road", "Brigade Road", "Park Street", "Anna Salai", "Nehru Place",
            "Marine Drive", "Residency Road", "Banjara Hills Road No. 1", "Connaught Place",
        ],
    };

    const IN_HOMES: &[(Home, u32)] = &[
        (home("IN", "New Delhi", "DEL", "hi", "+919#########", "110###", IN_STREETS)
            .region("DL"), 22),
        (home("IN", "Mumbai", "BOM", "hi", "+919#########", "400###", IN_STREETS).region("MH"), 22),
        (home("IN", "Bengaluru", "BLR", "en", "+918#########", "560###", IN_STREETS)
            .region("KA"), 14),
        (home("IN", "Chennai", "MAA", "ta", "+919#########", "600###", IN_STREETS).region("TN"), 9),
        (home("IN", "Kolkata", "CCU", "bn", "+919#########", "700###", IN_STREETS).region("WB"), 7),
        (home("IN", "Hyderabad", "HYD", "te", "+917#########", "500###", IN_STREETS)
            .region("TG"), 8),
        (home("IN", "Kochi", "COK", "ml", "+919#########", "682###", IN_STREETS).region("KL"), 5),
    ];

    // ---- Russian ------------------------------------------------------------------------------

    static RU_MALE: Names = Names::new(include_str!("../data/names/ru_male.txt"));

    static RU_FEMALE: Names = Names::new(include_str!("../data/names/ru_female.txt"));

    static RU_LAST: Names = Names::new(include_str!("../data/names/ru_last.txt"));

    static RU_LAST_FEMALE: Names = Names::new(include_str!("../data/names/ru_last_female.txt"));

    const RU_STREETS: &Streets = &Streets {
        style: Style::NumberAfterComma,
        names: &[
            "улица Тверская", "Невский проспект", "улица Арбат", "Ленинский проспект",
            "улица Ленина", "улица Гагарина", "проспект Мира", "улица Баумана",
        ],
    };

    const RU_HOMES: &[(Home, u32)] = &[
        (home("RU", "Москва", "SVO", "ru", "+79#########", "1#####", RU_STREETS), 24),
        (home("RU", "Москва", "DME", "ru", "+79#########", "1#####", RU_STREETS), 10),
        (home("RU", "Санкт-Петербург", "LED", "ru", "+79#########", "19####", RU_STREETS), 16),
        (home("RU", "Казань", "KZN", "ru", "+79#########", "420###", RU_STREETS), 5),
        (home("RU", "Новосибирск", "OVB", "ru", "+79#########", "630###", RU_STREETS), 5),
        (home("RU", "Екатеринбург", "SVX", "ru", "+79#########", "620###", RU_STREETS), 5),
    ];
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;

    const SEED: u64 = 20_260_101;

    fn is_in(c: char, from: u32, to: u32) -> bool {
        (from..=to).contains(&u32::from(c))
    }

    #[test]
    fn name_files_hold_what_their_pools_say() {
        for c in CULTURES {
            for pool in [c.male, c.female, c.last].into_iter().chain(c.last_female) {
                let native = matches!(pool, Pool::Native(_));
                assert!(pool.len() >= 10);
                for name in pool.names() {
                    assert_eq!(name.latin.is_some(), native, "{}", name.text);
                    assert_eq!(name.text, name.text.trim(), "{}", name.text);
                    assert!(!name.text.is_empty() && name.latin != Some(""));
                }
            }
        }
    }

    /// Pins the population itself: the FNV-1a digest of the first 5,000 documents of two seeds.
    /// Moving or reformatting the data tables must not change a single generated byte (demo
    /// databases, benchmarks and ingest's duplicates are built from these passengers).
    #[test]
    fn the_population_is_pinned_byte_for_byte() {
        let mut digest: u64 = 0xcbf2_9ce4_8422_2325;
        for seed in [SEED, 7] {
            for index in 0..5_000 {
                for b in document(seed, index).to_string().bytes() {
                    digest = (digest ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
                }
            }
        }
        assert_eq!(digest, 0x6de6_1bb0_bbd5_a912, "{digest:#x}");
    }

    #[test]
    fn the_same_seed_gives_the_same_population() {
        let a: Vec<Profile> = generate(SEED, 300).collect();
        let b: Vec<Profile> = generate(SEED, 300).collect();
        assert_eq!(a, b);
        assert_eq!(profile(SEED, 123), a[123]);
        let other: Vec<Profile> = generate(SEED + 1, 300).collect();
        assert_ne!(a, other);
        // Passengers are not copies of each other.
        let names: HashSet<String> = a.iter().map(Profile::display_name).collect();
        assert!(names.len() > 250, "{}", names.len());
    }

    #[test]
    fn every_document_parses() {
        for seed in [SEED, 0, u64::MAX] {
            let failures: Vec<(u64, Vec<String>)> = (0..5_000)
                .filter_map(|i| {
                    let errs = Profile::parse(&document(seed, i), TODAY).err()?;
                    Some((
                        i,
                        errs.into_iter()
                            .map(|e| format!("{}: {}", e.pointer, e.detail))
                            .collect(),
                    ))
                })
                .take(5)
                .collect();
            assert!(failures.is_empty(), "seed {seed}: {failures:?}");
        }
    }

    #[test]
    fn stored_documents_parse_back_to_the_same_profile() {
        for p in generate(SEED, 500) {
            assert_eq!(Profile::parse(&p.to_document(), TODAY).as_ref(), Ok(&p));
        }
    }

    #[test]
    fn loyalty_numbers_are_unique() {
        let mut seen = HashSet::new();
        let mut count = 0;
        for i in 0..20_000 {
            let n = loyalty_number(SEED, i);
            assert_eq!(n.len(), 11);
            assert!(seen.insert(n), "duplicate loyalty number at {i}");
            if let Some(n) = profile(SEED, i).loyalty_number {
                assert_eq!(n.as_str(), loyalty_number(SEED, i));
                count += 1;
            }
        }
        assert!(
            (15_400..16_600).contains(&count),
            "{count} of 20000 have a loyalty number"
        );
    }

    #[test]
    fn the_population_is_multilingual() {
        let (mut accented, mut arabic, mut han, mut cyrillic) = (0, 0, 0, 0);
        for p in generate(SEED, 1_000) {
            let name = format!("{} {}", p.first_name, p.last_name);
            accented += usize::from(name.chars().any(|c| is_in(c, 0xC0, 0x24F)));
            arabic += usize::from(name.chars().any(|c| is_in(c, 0x600, 0x6FF)));
            han += usize::from(name.chars().any(|c| is_in(c, 0x4E00, 0x9FFF)));
            cyrillic += usize::from(name.chars().any(|c| is_in(c, 0x400, 0x4FF)));
        }
        assert!(accented >= 50, "Latin with diacritics: {accented}");
        assert!(arabic >= 50, "Arabic: {arabic}");
        assert!(han >= 50, "Han: {han}");
        assert!(cyrillic >= 15, "Cyrillic: {cyrillic}");
    }

    #[test]
    fn emails_use_only_reserved_domains() {
        let mut with_email = 0;
        for p in generate(SEED, 5_000) {
            let Some(email) = p.email else { continue };
            with_email += 1;
            let (local, domain) = email.as_str().rsplit_once('@').unwrap();
            assert!(EMAIL_DOMAINS.contains(&domain), "{email}");
            assert!(
                local
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._".contains(&b)),
                "{email}"
            );
        }
        assert!(with_email > 4_000, "{with_email}");
    }

    #[test]
    fn phones_use_fictional_ranges_where_they_exist() {
        for p in generate(SEED, 5_000) {
            let Some(phone) = p.phone else { continue };
            let phone = phone.as_str();
            if phone.starts_with("+44") {
                assert!(
                    phone.starts_with("+447700900") && phone.len() == 13,
                    "{phone}"
                );
            } else if phone.starts_with("+1") {
                assert_eq!(phone.len(), 12, "{phone}");
                assert_eq!(&phone[5..10], "55501", "{phone}");
            } else if phone.starts_with("+61") {
                assert!(
                    phone.starts_with("+61491570") && phone.len() == 12,
                    "{phone}"
                );
            }
        }
    }

    #[test]
    fn tiers_follow_the_intended_distribution() {
        let mut tiers: HashMap<&str, u32> = HashMap::new();
        let mut total = 0;
        for p in generate(SEED, 20_000) {
            if let Some(t) = p.loyalty_tier {
                *tiers.entry(t.as_str()).or_default() += 1;
                total += 1;
            }
        }
        let share = |t: &str| f64::from(tiers.get(t).copied().unwrap_or(0)) / f64::from(total);
        for (tier, expected) in [
            ("blue", 0.60),
            ("silver", 0.25),
            ("gold", 0.11),
            ("platinum", 0.04),
        ] {
            let got = share(tier);
            assert!(
                (got - expected).abs() < 0.02,
                "{tier}: {got:.3}, expected {expected}"
            );
        }
    }

    #[test]
    fn home_airports_follow_the_culture() {
        for p in generate(SEED, 2_000) {
            let (Some(location), Some(nationality)) = (p.location, p.nationality) else {
                continue;
            };
            assert_eq!(location.country.as_ref(), Some(&nationality));
            if p.first_name
                .as_str()
                .chars()
                .any(|c| is_in(c, 0x400, 0x4FF))
            {
                let airport = location.home_airport.expect("home airport");
                assert!(["SVO", "DME", "LED", "KZN", "OVB", "SVX"].contains(&airport.as_str()));
            }
        }
    }

    #[test]
    fn tables_are_consistent() {
        for c in CULTURES {
            assert!(c.male.len() > 0 && c.female.len() > 0 && c.last.len() > 0);
            if let Some(forms) = c.last_female {
                assert_eq!(
                    forms.len(),
                    c.last.len(),
                    "feminine surnames must be parallel"
                );
            }
            assert!(!c.homes.is_empty() && !c.meals.is_empty() && !c.drinks.is_empty());
            for (meal, _) in c.meals {
                assert!(
                    crate::model::MEAL_CODES.iter().any(|(m, _)| m == meal),
                    "{meal}"
                );
            }
        }
        for (ssr, _) in SSRS {
            assert!(
                crate::model::SSR_CODES.iter().any(|(s, _)| s == ssr),
                "{ssr}"
            );
        }
        assert_eq!(CULTURES.iter().map(|c| c.weight).sum::<u32>(), 100);
    }

    #[test]
    fn email_spelling_agrees_with_search_folding() {
        for c in CULTURES {
            for pool in [c.male, c.female, c.last].into_iter().chain(c.last_female) {
                for i in 0..pool.len() {
                    let name = pool.get(i);
                    let mut ascii = String::new();
                    name.push_ascii(&mut ascii);
                    assert!(!ascii.is_empty(), "{}", name.text);
                    assert!(
                        ascii.bytes().all(|b| b.is_ascii_lowercase()),
                        "{}",
                        name.text
                    );
                    if name.latin.is_none() {
                        let folded: String = crate::model::name_key_variants(name.text)[1]
                            .chars()
                            .filter(char::is_ascii_alphanumeric)
                            .collect();
                        assert_eq!(ascii, folded, "{}", name.text);
                    }
                }
            }
        }
    }
}
