//! Amounts, thresholds and reductions as versioned configuration with effective dates.
//!
//! Why data and not constants: the law moves (the Montreal limits are revised every five years;
//! an EU261 reform to 4 h / €300 and 6 h / €500 is pending). A new version is a new entry with
//! its `effective_from`; a flight is judged by the version in force on its scheduled departure
//! day, so past claims keep the amounts of their day. The compiled-in `rules.json` is the
//! default; operators may load their own file (`aloft compensation evaluate --rules FILE`).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::RulesError;

/// The compiled-in rules.
pub const DEFAULT_RULES: &str = include_str!("rules.json");

/// One value per distance band of EU261/UK261 Art. 7.
#[derive(Debug, Clone, Deserialize)]
pub struct Bands<T> {
    /// Up to `short_km`.
    pub short: T,
    /// Intra-EU (intra-UK) beyond `short_km`, and others from `short_km` to `long_km`.
    pub medium: T,
    /// Beyond `long_km` (not intra-EU).
    pub long: T,
}

/// EU261 (and UK261, which retained it) in one version.
#[derive(Debug, Clone, Deserialize)]
pub struct Eu261 {
    /// First day this version applies to (scheduled departure, local date of first leg).
    pub effective_from: NaiveDate,
    /// The instrument, as cited.
    pub source: String,
    /// ISO 4217 code of the amounts.
    pub currency: String,
    /// Art. 7(1)(a) threshold.
    pub short_km: f64,
    /// Art. 7(1)(c) threshold.
    pub long_km: f64,
    /// Art. 7(1) amounts.
    pub amounts: Bands<Decimal>,
    /// Arrival delay from which compensation is owed (C-402/07 *Sturgeon*: 3 h).
    pub delay_threshold_minutes: i64,
    /// Art. 7(2): rerouted arrival within these minutes of the scheduled arrival halves it.
    pub reduction_window_minutes: Bands<i64>,
    /// Art. 7(2) reduction.
    pub reduction_percent: u32,
    /// Whether reductions the law allows are applied (the default; a carrier may waive them).
    pub apply_reductions: bool,
    /// Art. 10(2) reimbursement of the fare of a downgraded flight.
    pub downgrade_percent: Bands<u32>,
    /// Art. 5(1)(c)(i): notice of at least this many days owes nothing.
    pub notice_days_none_owed: i64,
    /// Art. 5(1)(c)(ii)/(iii): the boundary between the two rerouting windows.
    pub notice_days_short: i64,
}

/// Canada's APPR in one version.
#[derive(Debug, Clone, Deserialize)]
pub struct Appr {
    /// First day this version applies to.
    pub effective_from: NaiveDate,
    /// The instrument, as cited.
    pub source: String,
    /// ISO 4217 code of the amounts.
    pub currency: String,
    /// Lower bounds (hours of arrival delay) of the delay bands, ascending.
    pub delay_bands_hours: Vec<i64>,
    /// s.19(1)(a): large carrier, per band.
    pub large: Vec<Decimal>,
    /// s.19(1)(b): small carrier, per band.
    pub small: Vec<Decimal>,
    /// Lower bounds of the denied-boarding bands (hours).
    pub denied_boarding_bands_hours: Vec<i64>,
    /// s.20(1): denied boarding, per band, any carrier size.
    pub denied_boarding: Vec<Decimal>,
    /// s.19(2): cancelled, passenger took a refund instead of rerouting.
    pub refund_instead: SizeAmounts,
    /// Notice of at least this many days owes nothing (s.19(1)).
    pub notice_days_none_owed: i64,
}

/// An amount per carrier size.
#[derive(Debug, Clone, Deserialize)]
pub struct SizeAmounts {
    /// Large carrier (≥ 2 million passengers in each of the two preceding years).
    pub large: Decimal,
    /// Small carrier.
    pub small: Decimal,
}

/// The Montreal Convention's baggage rules in one version.
#[derive(Debug, Clone, Deserialize)]
pub struct Montreal {
    /// First day this version applies to.
    pub effective_from: NaiveDate,
    /// The instrument, as cited.
    pub source: String,
    /// Art. 22(2) limit of liability per passenger, in SDR.
    pub baggage_limit_sdr: Decimal,
    /// Art. 31(2): written complaint within this many days of receipt (damage).
    pub damage_complaint_days: i64,
    /// Art. 31(2): within this many days of the bag being placed at the passenger's disposal
    /// (delay).
    pub delay_complaint_days: i64,
}

/// Every regime's versions.
#[derive(Debug, Clone, Deserialize)]
pub struct Rules {
    /// EU261 versions.
    pub eu261: Vec<Eu261>,
    /// UK261 versions.
    pub uk261: Vec<Eu261>,
    /// APPR versions.
    pub appr: Vec<Appr>,
    /// Montreal Convention versions.
    pub montreal: Vec<Montreal>,
}

/// The version in force on `day`: the latest whose `effective_from` is not after it.
fn in_force<T>(versions: &[T], day: NaiveDate, from: impl Fn(&T) -> NaiveDate) -> Option<&T> {
    versions
        .iter()
        .filter(|v| from(v) <= day)
        .max_by_key(|v| from(v))
}

impl Rules {
    /// The compiled-in rules.
    pub fn default_rules() -> Self {
        Self::from_json(DEFAULT_RULES).expect("the compiled-in rules are valid (tested)")
    }

    /// Rules from a JSON document shaped like `rules.json`.
    ///
    /// # Errors
    /// A document that does not have that shape, or a regime without versions.
    pub fn from_json(text: &str) -> Result<Self, RulesError> {
        let rules: Self = serde_json::from_str(text).map_err(|e| RulesError(e.to_string()))?;
        for (name, n) in [
            ("eu261", rules.eu261.len()),
            ("uk261", rules.uk261.len()),
            ("appr", rules.appr.len()),
            ("montreal", rules.montreal.len()),
        ] {
            if n == 0 {
                return Err(RulesError(format!("{name} has no version")));
            }
        }
        for a in &rules.appr {
            if a.large.len() != a.delay_bands_hours.len()
                || a.small.len() != a.delay_bands_hours.len()
                || a.denied_boarding.len() != a.denied_boarding_bands_hours.len()
            {
                return Err(RulesError(format!(
                    "appr {}: one amount per band",
                    a.effective_from
                )));
            }
        }
        Ok(rules)
    }

    /// EU261 in force on `day`.
    pub fn eu261(&self, day: NaiveDate) -> Option<&Eu261> {
        in_force(&self.eu261, day, |v| v.effective_from)
    }

    /// UK261 in force on `day`.
    pub fn uk261(&self, day: NaiveDate) -> Option<&Eu261> {
        in_force(&self.uk261, day, |v| v.effective_from)
    }

    /// APPR in force on `day`.
    pub fn appr(&self, day: NaiveDate) -> Option<&Appr> {
        in_force(&self.appr, day, |v| v.effective_from)
    }

    /// The Montreal limits in force on `day`.
    pub fn montreal(&self, day: NaiveDate) -> Option<&Montreal> {
        in_force(&self.montreal, day, |v| v.effective_from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_version_in_force_on_the_day_applies() {
        let r = Rules::default_rules();
        let sdr = |d: &str| r.montreal(day(d)).unwrap().baggage_limit_sdr.to_string();
        assert_eq!(sdr("2024-12-27"), "1288.00");
        assert_eq!(sdr("2024-12-28"), "1519.00");
        assert_eq!(sdr("2010-06-01"), "1131.00");
        assert!(r.eu261(day("2004-01-01")).is_none(), "before EU261");
        assert!(r.uk261(day("2020-12-31")).is_none(), "UK261 from 2021");
        assert_eq!(
            r.eu261(day("2026-07-01")).unwrap().amounts.long.to_string(),
            "600.00"
        );
    }

    #[test]
    fn a_reform_is_a_new_version_and_bad_documents_are_refused() {
        let mut doc: serde_json::Value = serde_json::from_str(DEFAULT_RULES).unwrap();
        let mut reform = doc["eu261"][0].clone();
        reform["effective_from"] = "2030-01-01".into();
        reform["delay_threshold_minutes"] = 240.into();
        doc["eu261"].as_array_mut().unwrap().push(reform);
        let r = Rules::from_json(&doc.to_string()).unwrap();
        assert_eq!(
            r.eu261(day("2029-12-31")).unwrap().delay_threshold_minutes,
            180
        );
        assert_eq!(
            r.eu261(day("2030-01-01")).unwrap().delay_threshold_minutes,
            240
        );

        doc["appr"][0]["large"] = serde_json::json!(["400.00"]);
        assert!(Rules::from_json(&doc.to_string()).is_err());
        assert!(Rules::from_json("{}").is_err());
    }
}
