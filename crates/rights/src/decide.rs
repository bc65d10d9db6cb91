//! The rules of each regime, applied to a parsed [`Claim`]. Pure: no IO, no clock.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::claim::{Amount, Cabin, Cause, Claim, ClaimError, Kind, Regime};
use crate::rules::{Appr, Eu261, Montreal, Rules};

/// One regime's decision.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Decision {
    /// `EU261`, `UK261`, `APPR` or `MONTREAL`.
    pub regime: &'static str,
    /// Whether anything is owed.
    pub eligible: bool,
    /// What is owed (`null` when nothing is).
    pub amount: Option<Money>,
    /// Great-circle distance first departure → final destination, km (`null` for baggage).
    pub distance_km: Option<u32>,
    /// Reductions applied (`art_7_2_c`, `art_22_2_limit`).
    pub reductions: Vec<&'static str>,
    /// Why, in sentences.
    pub reasons: Vec<String>,
    /// The legal sources relied on.
    pub citations: Vec<String>,
}

/// The contract's money: a decimal string with two places and a currency code.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Money {
    /// `"300.00"`.
    pub amount: String,
    /// `EUR`, `GBP`, `CAD`, `SDR`.
    pub currency: String,
}

impl Money {
    fn of(amount: Decimal, currency: &str) -> Self {
        Self {
            amount: amount.round_dp(2).to_string_with_two_places(),
            currency: currency.to_owned(),
        }
    }
}

trait TwoPlaces {
    fn to_string_with_two_places(&self) -> String;
}

impl TwoPlaces for Decimal {
    fn to_string_with_two_places(&self) -> String {
        let mut d = *self;
        d.rescale(2);
        d.to_string()
    }
}

/// Every decision for a claim.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Decisions {
    /// One per regime evaluated.
    pub decisions: Vec<Decision>,
}

/// EU member states, EEA states and Switzerland (ISO 3166-1), with the EU's outermost regions
/// that carry codes of their own: where EU261 applies (Art. 3(1)) and where a "Community
/// carrier" is licensed.
const EU_TERRITORY: &[&str] = &[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", // EU 27
    "IS", "LI", "NO", // EEA
    "CH", // by the EU–Switzerland air transport agreement
    "GP", "GF", "MQ", "RE", "YT", "MF", // outermost regions
];

/// French overseas departments: Art. 10(2)(b) treats flights between them and the European
/// territory of the Member States like non-EU flights.
const FRENCH_OVERSEAS: &[&str] = &["GP", "GF", "MQ", "RE", "YT"];

fn in_eu(country: &str) -> bool {
    EU_TERRITORY.contains(&country)
}

fn in_uk(country: &str) -> bool {
    country == "GB"
}

/// Causes EU/UK case law treats as extraordinary circumstances (Art. 5(3)), with the source.
fn extraordinary(cause: Cause) -> Option<&'static str> {
    Some(match cause {
        Cause::Weather => "meteorological conditions incompatible with the operation (Recital 14)",
        Cause::AirTrafficControl => "air traffic management decisions (Recital 15)",
        Cause::Security => "security risks (Recital 14)",
        Cause::ExternalStrike => "strikes outside the carrier (Recital 14; C-28/20 ¶ 43)",
        Cause::BirdStrike => "a collision with a bird (C-315/15 Pešková)",
        Cause::Medical => "a passenger's medical emergency requiring a diversion (Recital 14)",
        Cause::PoliticalInstability => "political instability (Recital 14)",
        _ => return None,
    })
}

/// Why a cause is *not* extraordinary, with the source.
fn ordinary(cause: Cause) -> &'static str {
    match cause {
        Cause::Technical => {
            "a technical problem is inherent in the carrier's normal activity, not extraordinary (C-549/07 Wallentin-Hermann)"
        }
        Cause::CrewShortage => "a shortage of crew is within the carrier's control",
        Cause::OwnStaffStrike => {
            "a strike of the carrier's own staff is not extraordinary (C-28/20 Airhelp v SAS)"
        }
        Cause::Overbooking => "overbooking is the carrier's commercial decision",
        _ => "the carrier has not shown extraordinary circumstances (its burden under Art. 5(3))",
    }
}

fn hours(minutes: i64) -> String {
    format!("{} h {:02} min", minutes / 60, minutes % 60)
}

/// Which of the three Art. 7(1) bands.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Band {
    Short,
    Medium,
    Long,
}

fn band(km: f64, intra: bool, r: &Eu261) -> Band {
    if km <= r.short_km {
        Band::Short
    } else if intra || km <= r.long_km {
        Band::Medium
    } else {
        Band::Long
    }
}

fn pick<T: Copy>(b: Band, bands: &crate::rules::Bands<T>) -> T {
    match b {
        Band::Short => bands.short,
        Band::Medium => bands.medium,
        Band::Long => bands.long,
    }
}

fn band_letter(b: Band) -> (&'static str, &'static str) {
    match b {
        Band::Short => ("a", "art_7_2_a"),
        Band::Medium => ("b", "art_7_2_b"),
        Band::Long => ("c", "art_7_2_c"),
    }
}

/// A decision being written.
struct Draft {
    regime: Regime,
    distance_km: Option<u32>,
    reasons: Vec<String>,
    citations: Vec<String>,
    reductions: Vec<&'static str>,
}

impl Draft {
    fn new(regime: Regime, distance_km: Option<u32>) -> Self {
        Self {
            regime,
            distance_km,
            reasons: Vec::new(),
            citations: Vec::new(),
            reductions: Vec::new(),
        }
    }

    fn because(&mut self, reason: impl Into<String>, citation: impl Into<String>) {
        self.reasons.push(reason.into());
        let c = citation.into();
        if !self.citations.contains(&c) {
            self.citations.push(c);
        }
    }

    fn none(self) -> Decision {
        self.finish(None)
    }

    fn owed(self, amount: Decimal, currency: &str) -> Decision {
        self.finish(Some(Money::of(amount, currency)))
    }

    fn finish(self, amount: Option<Money>) -> Decision {
        Decision {
            regime: self.regime.as_str(),
            eligible: amount.is_some(),
            amount,
            distance_km: self.distance_km,
            reductions: self.reductions,
            reasons: self.reasons,
            citations: self.citations,
        }
    }
}

/// EU261 or UK261: the same articles over a different territory.
struct Territory {
    regime: Regime,
    name: &'static str,
    inside: fn(&str) -> bool,
    carrier_qualifies: fn(&str) -> bool,
}

const EU: Territory = Territory {
    regime: Regime::Eu261,
    name: "the EU, EEA or Switzerland",
    inside: in_eu,
    carrier_qualifies: in_eu,
};

const UK: Territory = Territory {
    regime: Regime::Uk261,
    name: "the United Kingdom",
    inside: in_uk,
    // A UK carrier, or an EU one (Art. 3(1)(b) as retained).
    carrier_qualifies: |c| in_uk(c) || in_eu(c),
};

/// Whether the territory's regulation covers the itinerary (Art. 3(1)), and why.
fn scope(claim: &Claim, t: &Territory) -> Result<(String, &'static str), String> {
    let origin = claim.origin();
    let dest = claim.destination();
    if (t.inside)(&origin.country) {
        return Ok((
            format!("The journey departs from {} in {}.", origin.iata, t.name),
            "Art. 3(1)(a)",
        ));
    }
    let carrier = &claim.itinerary[claim.itinerary.len() - 1].carrier_country;
    if (t.inside)(&dest.country) && (t.carrier_qualifies)(carrier) {
        return Ok((
            format!(
                "The journey arrives at {} in {} on a carrier licensed in {carrier}.",
                dest.iata, t.name
            ),
            "Art. 3(1)(b)",
        ));
    }
    Err(format!(
        "The journey neither departs from {} nor arrives there on a carrier it covers.",
        t.name
    ))
}

fn eu_style(claim: &Claim, r: &Eu261, t: &Territory) -> Decision {
    let km = claim.distance_km();
    let mut d = Draft::new(t.regime, Some(km.round() as u32));
    let cite = |art: &str| format!("{}, {art}", r.source);
    let kind = claim.disruption.kind;
    match scope(claim, t) {
        Ok((why, art)) => d.because(why, cite(art)),
        Err(why) => {
            d.because(why, cite("Art. 3(1)"));
            return d.none();
        }
    }
    if kind.is_baggage() {
        d.because(
            "The regulation does not cover checked baggage; the Montreal Convention does.",
            cite("Art. 1(1)"),
        );
        return d.none();
    }
    let origin = claim.origin();
    let dest = claim.destination();
    let intra = (t.inside)(&origin.country) && (t.inside)(&dest.country);
    let b = band(km, intra, r);
    let full = pick(b, &r.amounts);
    let (letter, reduction) = band_letter(b);
    d.because(
        format!(
            "Great-circle distance {} → {}: {:.0} km{}, so {} {} is the amount of Art. 7(1)({letter}).",
            origin.iata,
            dest.iata,
            km,
            if claim.itinerary.len() > 1 {
                " (the whole journey, first departure to final destination)"
            } else {
                ""
            },
            full.round_dp(0),
            r.currency
        ),
        format!("{}, Art. 7(1)({letter}); C-559/16 Bossen", r.source),
    );
    let window = pick(b, &r.reduction_window_minutes);
    let reduce = |d: &mut Draft, delay: i64, amount: Decimal| -> Decimal {
        if r.apply_reductions && delay <= window {
            d.reductions.push(reduction);
            d.because(
                format!(
                    "Arrival {} after the scheduled time is within {} h: reduced by {} % (Art. 7(2)({letter})).",
                    hours(delay),
                    window / 60,
                    r.reduction_percent
                ),
                cite(&format!("Art. 7(2)({letter})")),
            );
            amount * Decimal::from(100 - r.reduction_percent) / Decimal::from(100)
        } else {
            amount
        }
    };
    let exempt = |d: &mut Draft| -> bool {
        match extraordinary(claim.disruption.cause) {
            Some(why) => {
                d.because(
                    format!(
                        "The cause ({}) is an extraordinary circumstance: {why}. No compensation is owed; care and assistance (Art. 9) still are.",
                        claim.disruption.cause.as_str().replace('_', " ")
                    ),
                    cite("Art. 5(3)"),
                );
                true
            }
            None => {
                d.because(
                    format!(
                        "Not an extraordinary circumstance: {}.",
                        ordinary(claim.disruption.cause)
                    ),
                    cite("Art. 5(3)"),
                );
                false
            }
        }
    };
    let first = &claim.itinerary[0];
    let last = &claim.itinerary[claim.itinerary.len() - 1];
    match kind {
        Kind::Delay => {
            let delay = claim.arrival_delay_minutes();
            if delay < r.delay_threshold_minutes {
                d.because(
                    format!(
                        "Arrived {} late at the final destination {}; compensation for delay starts at {} h.",
                        hours(delay),
                        dest.iata,
                        r.delay_threshold_minutes / 60
                    ),
                    "C-402/07 and C-432/07 Sturgeon; C-11/11 Folkerts",
                );
                return d.none();
            }
            d.because(
                format!(
                    "Arrived {} late at the final destination {}: a delay of {} h or more is compensated like a cancellation.",
                    hours(delay),
                    dest.iata,
                    r.delay_threshold_minutes / 60
                ),
                "C-402/07 and C-432/07 Sturgeon; C-11/11 Folkerts",
            );
            if exempt(&mut d) {
                return d.none();
            }
            let amount = reduce(&mut d, delay, full);
            d.owed(amount, &r.currency)
        }
        Kind::Cancellation => {
            let notice = claim.disruption.notice_days.unwrap_or(0);
            if notice >= r.notice_days_none_owed {
                d.because(
                    format!(
                        "Told of the cancellation {notice} days before departure: {} days or more owes no compensation.",
                        r.notice_days_none_owed
                    ),
                    cite("Art. 5(1)(c)(i)"),
                );
                return d.none();
            }
            if let Some(rr) = claim.disruption.rerouting {
                let earlier = (first.scheduled_departure - rr.departure).num_minutes();
                let later = (rr.arrival - last.scheduled_arrival).num_minutes();
                let (max_earlier, max_later, art) = if notice >= r.notice_days_short {
                    (120, 240, "Art. 5(1)(c)(ii)")
                } else {
                    (60, 120, "Art. 5(1)(c)(iii)")
                };
                if earlier <= max_earlier && later < max_later {
                    d.because(
                        format!(
                            "Told {notice} days ahead and rerouted departing at most {} h earlier and arriving less than {} h later: nothing is owed.",
                            max_earlier / 60,
                            max_later / 60
                        ),
                        cite(art),
                    );
                    return d.none();
                }
            }
            d.because(
                format!("Cancelled with {notice} days' notice: compensation under Art. 7 is owed unless the cause was extraordinary."),
                cite("Art. 5(1)(c)"),
            );
            if exempt(&mut d) {
                return d.none();
            }
            let amount = match claim.disruption.rerouting {
                Some(_) => reduce(&mut d, claim.arrival_delay_minutes(), full),
                None => full,
            };
            d.owed(amount, &r.currency)
        }
        Kind::DeniedBoarding => {
            if claim.disruption.volunteer {
                d.because(
                    "The passenger volunteered to give up the seat for agreed benefits: no compensation under Art. 7.",
                    cite("Art. 4(1)"),
                );
                return d.none();
            }
            if matches!(claim.disruption.cause, Cause::Security | Cause::Medical) {
                d.because(
                    "Boarding was denied on reasonable grounds (health, safety or security): not denied boarding in the regulation's sense.",
                    cite("Art. 2(j)"),
                );
                return d.none();
            }
            d.because(
                "Denied boarding against the passenger's will: compensation is owed immediately.",
                cite("Art. 4(3)"),
            );
            let amount = match claim.disruption.rerouting {
                Some(_) => reduce(&mut d, claim.arrival_delay_minutes(), full),
                None => full,
            };
            d.owed(amount, &r.currency)
        }
        Kind::Downgrade => {
            let leg = &claim.itinerary[claim.disruption.leg];
            let to = claim.disruption.downgraded_to.unwrap_or(Cabin::Economy);
            if to >= leg.cabin {
                d.because(
                    "The class flown is not lower than the class booked: no downgrade.",
                    cite("Art. 10(2)"),
                );
                return d.none();
            }
            let leg_km = leg.from.distance_km(leg.to);
            let leg_intra = (t.inside)(&leg.from.country) && (t.inside)(&leg.to.country);
            let overseas = FRENCH_OVERSEAS.contains(&leg.from.country.as_str())
                != FRENCH_OVERSEAS.contains(&leg.to.country.as_str());
            let b = band(leg_km, leg_intra && !(overseas && leg_km > r.long_km), r);
            let pct = pick(b, &r.downgrade_percent);
            let (letter, _) = band_letter(b);
            let fare = claim.disruption.fare_paid.clone().unwrap_or(Amount {
                amount: Decimal::ZERO,
                currency: r.currency.clone(),
            });
            d.distance_km = Some(leg_km.round() as u32);
            d.because(
                format!(
                    "Downgraded on {} ({} → {}, {:.0} km): {pct} % of the fare of that flight is reimbursed.",
                    leg.flight, leg.from.iata, leg.to.iata, leg_km
                ),
                cite(&format!("Art. 10(2)({letter})")),
            );
            d.owed(
                fare.amount * Decimal::from(pct) / Decimal::from(100),
                &fare.currency,
            )
        }
        _ => d.none(),
    }
}

/// Canada's APPR.
fn appr(claim: &Claim, r: &Appr) -> Result<Decision, Vec<ClaimError>> {
    let km = claim.distance_km();
    let mut d = Draft::new(Regime::Appr, Some(km.round() as u32));
    let cite = |s: &str| format!("{}, {s}", r.source);
    let canada = claim
        .itinerary
        .iter()
        .any(|l| l.from.country == "CA" || l.to.country == "CA");
    if !canada {
        d.because(
            "No flight of the journey is to, from or within Canada.",
            cite("s. 1(2)"),
        );
        return Ok(d.none());
    }
    d.because(
        "The journey includes a flight to, from or within Canada.",
        cite("s. 1(2)"),
    );
    let kind = claim.disruption.kind;
    if !matches!(
        kind,
        Kind::Delay | Kind::Cancellation | Kind::DeniedBoarding
    ) {
        d.because(
            "APPR compensation covers delays, cancellations and denied boarding; baggage is the Montreal Convention's, downgrades are refunded under s. 22 (not evaluated here).",
            cite("ss. 19–22"),
        );
        return Ok(d.none());
    }
    // Outside the carrier's control (s. 10), or within it but required for safety (s. 11):
    // no compensation.
    let cause = claim.disruption.cause;
    let outside = matches!(
        cause,
        Cause::Weather
            | Cause::AirTrafficControl
            | Cause::Security
            | Cause::ExternalStrike
            | Cause::BirdStrike
            | Cause::Medical
            | Cause::PoliticalInstability
            | Cause::OwnStaffStrike
    );
    if outside {
        d.because(
            format!(
                "The cause ({}) is outside the carrier's control: no compensation, only the standards of treatment.",
                cause.as_str().replace('_', " ")
            ),
            cite("s. 10(1)"),
        );
        return Ok(d.none());
    }
    if claim.disruption.required_for_safety && kind != Kind::DeniedBoarding {
        d.because(
            "Within the carrier's control but required for safety: no compensation, rebooking and care only.",
            cite("s. 11"),
        );
        return Ok(d.none());
    }
    let delay = claim.arrival_delay_minutes();
    let band_of = |bounds: &[i64]| bounds.iter().rposition(|h| delay >= h * 60);
    if kind == Kind::DeniedBoarding {
        if claim.disruption.volunteer {
            d.because(
                "The passenger gave up the seat voluntarily for agreed benefits.",
                cite("s. 15"),
            );
            return Ok(d.none());
        }
        let i = band_of(&r.denied_boarding_bands_hours).unwrap_or(0);
        d.because(
            format!(
                "Denied boarding within the carrier's control; arrival {} late.",
                hours(delay)
            ),
            cite("s. 20(1)"),
        );
        return Ok(d.owed(r.denied_boarding[i], &r.currency));
    }
    // Delay and cancellation depend on the carrier's size: a fact the claim must give.
    let last = claim.itinerary.len() - 1;
    let Some(large) = claim.itinerary[last].carrier_large else {
        return Err(vec![ClaimError {
            pointer: format!("/itinerary/{last}/operating_carrier_large"),
            message:
                "is required where APPR applies (large and small carriers owe different amounts)"
                    .into(),
        }]);
    };
    let size = if large { "large" } else { "small" };
    if kind == Kind::Cancellation {
        let notice = claim.disruption.notice_days.unwrap_or(0);
        if notice >= r.notice_days_none_owed {
            d.because(
                format!("Told {notice} days ahead: compensation is owed only for notice of less than {} days.", r.notice_days_none_owed),
                cite("s. 19(1)"),
            );
            return Ok(d.none());
        }
        if claim.disruption.rerouting.is_none() {
            d.because(
                format!("Cancelled within the carrier's control and not rerouted (refunded): the {size}-carrier amount."),
                cite("s. 19(2)"),
            );
            let amount = if large {
                r.refund_instead.large
            } else {
                r.refund_instead.small
            };
            return Ok(d.owed(amount, &r.currency));
        }
    }
    let Some(i) = band_of(&r.delay_bands_hours) else {
        d.because(
            format!(
                "Arrived {} late at the final destination; compensation starts at {} h.",
                hours(delay),
                r.delay_bands_hours.first().copied().unwrap_or(3)
            ),
            cite("s. 19(1)"),
        );
        return Ok(d.none());
    };
    let amounts = if large { &r.large } else { &r.small };
    d.because(
        format!(
            "Within the carrier's control and not required for safety; arrived {} late, {size} carrier.",
            hours(delay)
        ),
        cite(if large { "s. 19(1)(a)" } else { "s. 19(1)(b)" }),
    );
    Ok(d.owed(amounts[i], &r.currency))
}

/// The Montreal Convention, for checked baggage.
fn montreal(claim: &Claim, r: &Montreal) -> Decision {
    let mut d = Draft::new(Regime::Montreal, None);
    let cite = |s: &str| format!("{}; {s}", r.source);
    let kind = claim.disruption.kind;
    if !kind.is_baggage() {
        d.because(
            "Only checked-baggage claims are evaluated under the Montreal Convention here (delay damages under Art. 19 need proof of loss).",
            "Montreal Convention 1999, Art. 19",
        );
        return d.none();
    }
    let origin = claim.origin();
    let dest = claim.destination();
    if origin.country == dest.country {
        d.because(
            format!(
                "Carriage within {} is not international carriage: national law applies.",
                origin.country
            ),
            "Montreal Convention 1999, Art. 1(2)",
        );
        return d.none();
    }
    let Some(bag) = &claim.disruption.baggage else {
        return d.none();
    };
    let (window, art, what) = match kind {
        Kind::BaggageDamaged => (Some(r.damage_complaint_days), "Art. 31(2)", "damage"),
        Kind::BaggageDelayed => (Some(r.delay_complaint_days), "Art. 31(2)", "delay"),
        _ => (None, "Art. 17(3)", "loss"),
    };
    if let (Some(days), Some(limit)) = (bag.days_to_complaint, window)
        && days > limit
    {
        d.because(
            format!(
                "The written complaint about the {what} came {days} days later; the Convention allows {limit}. No action lies against the carrier."
            ),
            "Montreal Convention 1999, Art. 31(2) and (4)",
        );
        return d.none();
    }
    let limit = r.baggage_limit_sdr;
    let mut amount = bag.claimed.amount;
    d.because(
        format!(
            "The carrier is liable for the {what} of checked baggage on international carriage{}.",
            if kind == Kind::BaggageLost {
                " (a bag not arrived 21 days after it should have is lost)"
            } else {
                ", complained of in time"
            }
        ),
        format!("Montreal Convention 1999, Art. 17(2); {art}"),
    );
    if amount > limit {
        d.reductions.push("art_22_2_limit");
        d.because(
            format!(
                "Claimed {} SDR; liability is limited to {} SDR per passenger unless a special declaration of interest was made.",
                amount.round_dp(2),
                limit.round_dp(0)
            ),
            cite("Art. 22(2)"),
        );
        amount = limit;
    }
    d.owed(amount, "SDR")
}

/// Judges a claim under every regime it asks for (or every one that applies).
///
/// # Errors
/// A fact a regime needs that the claim does not give (the carrier's size under APPR), named by
/// its pointer — never a silent "not eligible".
pub fn evaluate(claim: &Claim, rules: &Rules) -> Result<Decisions, Vec<ClaimError>> {
    let day = claim.day();
    let explicit = claim.regimes.is_some();
    let wanted: Vec<Regime> = claim
        .regimes
        .clone()
        .unwrap_or_else(|| Regime::ALL.to_vec());
    let mut decisions = Vec::new();
    let not_in_force = |regime: Regime| Decision {
        regime: regime.as_str(),
        eligible: false,
        amount: None,
        distance_km: None,
        reductions: Vec::new(),
        reasons: vec![format!(
            "{} was not in force on {day}, the day of the first departure.",
            regime.as_str()
        )],
        citations: Vec::new(),
    };
    for regime in Regime::ALL.into_iter().filter(|r| wanted.contains(r)) {
        // Without an explicit list, only regimes that apply to this journey and disruption.
        if !explicit && !applies(regime, claim) {
            continue;
        }
        let decision = match regime {
            Regime::Eu261 => rules
                .eu261(day)
                .map_or_else(|| not_in_force(regime), |r| eu_style(claim, r, &EU)),
            Regime::Uk261 => rules
                .uk261(day)
                .map_or_else(|| not_in_force(regime), |r| eu_style(claim, r, &UK)),
            Regime::Appr => match rules.appr(day) {
                Some(r) => appr(claim, r)?,
                None => not_in_force(regime),
            },
            Regime::Montreal => rules
                .montreal(day)
                .map_or_else(|| not_in_force(regime), |r| montreal(claim, r)),
        };
        decisions.push(decision);
    }
    Ok(Decisions { decisions })
}

/// Whether a regime covers this journey and kind of disruption at all.
fn applies(regime: Regime, claim: &Claim) -> bool {
    let kind = claim.disruption.kind;
    match regime {
        Regime::Eu261 => !kind.is_baggage() && scope(claim, &EU).is_ok(),
        Regime::Uk261 => !kind.is_baggage() && scope(claim, &UK).is_ok(),
        Regime::Appr => {
            matches!(
                kind,
                Kind::Delay | Kind::Cancellation | Kind::DeniedBoarding
            ) && claim
                .itinerary
                .iter()
                .any(|l| l.from.country == "CA" || l.to.country == "CA")
        }
        Regime::Montreal => kind.is_baggage(),
    }
}
