//! Airport reference data: every airport with an IATA code, its country, coordinates and IANA
//! time zone, compiled into the binary from `data/airports/airports.csv` (vendored from the
//! MIT-licensed `airportsdata` package; see `data/airports/README.md`).
//!
//! Why compiled in: validation of a flight segment needs the airport's zone to turn the local
//! schedule into a UTC instant, and that must work offline and identically on every node. The
//! table is parsed once, on first use ([`OnceLock`]), into a vector sorted by IATA code; look-ups
//! are binary searches (O(log n), about 13 comparisons for ~7,900 airports).
//!
//! Distances are great-circle distances by the haversine formula on a sphere of mean Earth
//! radius 6371.0 km, which is what EU Regulation 261/2004 distance bands are computed with
//! ("great circle route method"); the error against the WGS-84 ellipsoid is below 0.5 %.

use std::str::FromStr;
use std::sync::OnceLock;

use chrono_tz::Tz;

use crate::model::AirportCode;

/// The vendored table (header: `iata,icao,name,city,subd,country,lat,lon,tz`).
const AIRPORTS_CSV: &str = include_str!("../../../data/airports/airports.csv");

/// Mean Earth radius (IUGG), in kilometres.
pub const EARTH_RADIUS_KM: f64 = 6371.0;

/// One airport of the reference table.
#[derive(Debug, Clone, PartialEq)]
pub struct Airport {
    /// IATA location code, three upper-case letters (`LHR`).
    pub iata: String,
    /// ICAO location indicator (`EGLL`); empty when the source has none.
    pub icao: String,
    /// The airport's name.
    pub name: String,
    /// The city it serves (may be empty).
    pub city: String,
    /// Region or state (may be empty).
    pub subdivision: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// Latitude in decimal degrees (north positive).
    pub latitude: f64,
    /// Longitude in decimal degrees (east positive).
    pub longitude: f64,
    /// The IANA time zone the airport keeps its local time in.
    pub time_zone: Tz,
}

impl Airport {
    /// The IANA name of the airport's time zone (`Europe/London`).
    pub fn time_zone_name(&self) -> &'static str {
        self.time_zone.name()
    }

    /// Great-circle distance to `other` in kilometres (haversine, mean Earth radius).
    pub fn distance_km(&self, other: &Airport) -> f64 {
        haversine_km(
            (self.latitude, self.longitude),
            (other.latitude, other.longitude),
        )
    }
}

/// The parsed table and the number of rows that could not be read (zero for the vendored file;
/// a test keeps it so).
struct Table {
    airports: Vec<Airport>,
    rejected: usize,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| parse_table(AIRPORTS_CSV))
}

/// Looks up an airport by IATA code (case-insensitive, surrounding spaces ignored).
pub fn lookup(iata: &str) -> Option<&'static Airport> {
    let code = iata.trim();
    if code.len() != 3 {
        return None;
    }
    let code = code.to_ascii_uppercase();
    let airports = &table().airports;
    airports
        .binary_search_by(|a| a.iata.as_str().cmp(&code))
        .ok()
        .map(|i| &airports[i])
}

/// Whether `code` names an airport in the reference data. The code's format is the shared
/// vocabulary's ([`AirportCode`]); which airports exist is this domain's reference data, so the
/// check lives here and travel's parse sites add it ([`parse_known`]).
pub fn known(code: &AirportCode) -> bool {
    lookup(code.as_str()).is_some()
}

/// Parses the airport of a travel record: a three-letter code (any case) that [`known`] finds.
/// Its sentences say which of the two rules failed.
pub fn parse_known(s: &str) -> Result<AirportCode, String> {
    let code = AirportCode::parse(s)
        .map_err(|_| "must be a three-letter IATA airport code such as LHR".to_owned())?;
    if !known(&code) {
        return Err("must be the IATA code of a known airport".into());
    }
    Ok(code)
}

/// The IANA time zone of the airport `code` names; `None` when the reference data lacks it
/// (never for a code from [`parse_known`]).
pub fn time_zone(code: &AirportCode) -> Option<Tz> {
    lookup(code.as_str()).map(|a| a.time_zone)
}

/// How many rows of the vendored table could not be read (zero; kept so by a test).
pub fn unreadable_rows() -> usize {
    table().rejected
}

/// Every airport, sorted by IATA code.
pub fn all() -> &'static [Airport] {
    &table().airports
}

/// Great-circle distance in kilometres between two airports given by IATA code; `None` if either
/// is unknown.
pub fn distance_km(from: &str, to: &str) -> Option<f64> {
    Some(lookup(from)?.distance_km(lookup(to)?))
}

/// Haversine distance between two (latitude, longitude) points in degrees, in kilometres.
pub fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lat2) = (a.0.to_radians(), b.0.to_radians());
    let dlat = lat2 - lat1;
    let dlon = (b.1 - a.1).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
    // `min(1.0)` guards against rounding just above 1 for antipodal points.
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

fn parse_table(csv: &str) -> Table {
    let mut airports = Vec::with_capacity(8_000);
    let mut rejected = 0;
    for line in csv.lines().skip(1).filter(|l| !l.is_empty()) {
        match parse_row(line) {
            Some(a) => airports.push(a),
            None => rejected += 1,
        }
    }
    airports.sort_by(|a, b| a.iata.cmp(&b.iata));
    airports.dedup_by(|a, b| a.iata == b.iata);
    Table { airports, rejected }
}

fn parse_row(line: &str) -> Option<Airport> {
    let f = split_csv_line(line);
    let [iata, icao, name, city, subd, country, lat, lon, tz] = f.as_slice() else {
        return None;
    };
    if iata.len() != 3 || !iata.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let latitude: f64 = lat.parse().ok().filter(|v: &f64| v.abs() <= 90.0)?;
    let longitude: f64 = lon.parse().ok().filter(|v: &f64| v.abs() <= 180.0)?;
    Some(Airport {
        iata: iata.clone(),
        icao: icao.clone(),
        name: name.clone(),
        city: city.clone(),
        subdivision: subd.clone(),
        country: country.clone(),
        latitude,
        longitude,
        time_zone: Tz::from_str(tz).ok()?,
    })
}

/// Splits one RFC 4180 line: fields may be quoted, `""` inside quotes is a quote. (The vendored
/// file has no line breaks inside fields.)
fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = Vec::with_capacity(9);
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vendored_row_is_read() {
        assert_eq!(unreadable_rows(), 0);
        assert!(all().len() > 7_000, "{}", all().len());
        assert!(all().windows(2).all(|w| w[0].iata < w[1].iata));
    }

    #[test]
    fn lookup_finds_airports_by_code_in_any_case() {
        let lhr = lookup("lhr").unwrap();
        assert_eq!(lhr.icao, "EGLL");
        assert_eq!(lhr.country, "GB");
        assert_eq!(lhr.time_zone_name(), "Europe/London");
        assert!((lhr.latitude - 51.47).abs() < 0.05 && (lhr.longitude + 0.46).abs() < 0.05);
        assert_eq!(lookup(" DXB ").unwrap().time_zone_name(), "Asia/Dubai");
        assert_eq!(lookup("JFK").unwrap().time_zone_name(), "America/New_York");
        assert_eq!(lookup("SYD").unwrap().country, "AU");
        assert!(lookup("ZZZ").is_none());
        assert!(lookup("LH").is_none());
        assert!(lookup("LHRX").is_none());
    }

    #[test]
    fn known_great_circle_distances() {
        let near = |from: &str, to: &str, km: f64, tolerance: f64| {
            let d = distance_km(from, to).unwrap();
            assert!(
                (d - km).abs() <= tolerance,
                "{from}-{to}: {d:.1} km, expected ≈ {km}"
            );
            assert!(
                (distance_km(to, from).unwrap() - d).abs() < 1e-9,
                "symmetric"
            );
        };
        near("LHR", "JFK", 5_540.0, 5.0);
        near("CDG", "FRA", 447.0, 5.0);
        near("DXB", "LHR", 5_498.0, 5.0);
        near("SYD", "LAX", 12_061.0, 5.0);
        assert_eq!(distance_km("LHR", "LHR"), Some(0.0));
        assert_eq!(distance_km("LHR", "ZZZ"), None);
    }

    #[test]
    fn haversine_handles_poles_antipodes_and_the_date_line() {
        let half = std::f64::consts::PI * EARTH_RADIUS_KM;
        assert!((haversine_km((90.0, 0.0), (-90.0, 0.0)) - half).abs() < 1e-6);
        assert!((haversine_km((0.0, 0.0), (0.0, 180.0)) - half).abs() < 1e-6);
        // One degree of longitude across the date line on the equator.
        let one_degree = half / 180.0;
        assert!((haversine_km((0.0, 179.5), (0.0, -179.5)) - one_degree).abs() < 1e-6);
    }

    #[test]
    fn quoted_csv_fields_are_unescaped() {
        assert_eq!(
            split_csv_line(r#"AAA,,"Name, with ""comma""",x"#),
            vec!["AAA", "", "Name, with \"comma\"", "x"]
        );
    }
}
