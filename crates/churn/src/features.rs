//! A customer's history as the model sees it, and the features and label taken from it as of a
//! cutoff instant (pure: the caller reads the history and passes the instants).
//!
//! Why a cutoff everywhere: a model trained on features computed *today* and labels from the
//! *past* would learn from the future. Every feature here looks only at what happened at or
//! before the cutoff, and the label only at the window after it.

use chrono::{DateTime, Duration, Utc};

/// One flight segment of the customer's bookings.
#[derive(Debug, Clone, PartialEq)]
pub struct Flight {
    /// Scheduled departure (UTC).
    pub departure: DateTime<Utc>,
    /// The passenger travelled (not cancelled, not a no-show).
    pub flown: bool,
    /// Cancelled, involuntarily rebooked or at least [`DISRUPTIVE_DELAY_MINUTES`] late.
    pub disrupted: bool,
    /// A compensation proposal was approved or paid for it (the disruption was put right).
    pub compensated: bool,
    /// When it was booked, if the source says.
    pub booked_at: Option<DateTime<Utc>>,
}

/// A feedback record (complaint or compliment) with its stated rating.
#[derive(Debug, Clone, PartialEq)]
pub struct Feedback {
    /// When it was submitted.
    pub at: DateTime<Utc>,
    /// A complaint (not a compliment or suggestion).
    pub complaint: bool,
    /// The rating given, 1 (worst) to 5, if any.
    pub rating: Option<u8>,
}

/// Everything the model reads about one customer. Money in minor units of one currency
/// ([`crate::SPEND_CURRENCY`]), never floats.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// Flight segments, any order.
    pub flights: Vec<Flight>,
    /// Feedback, any order.
    pub feedback: Vec<Feedback>,
    /// Instants of calls, e-mails and chats.
    pub contacts: Vec<DateTime<Utc>>,
    /// Purchases and priced ancillaries: (when, amount in minor units).
    pub spend: Vec<(DateTime<Utc>, i64)>,
    /// Loyalty tier observations: (since when, rank 0 = none … 4 = platinum), any order.
    pub tiers: Vec<(DateTime<Utc>, u8)>,
}

/// A delay counted as a disruption (the EU261 threshold for compensation on most routes).
pub const DISRUPTIVE_DELAY_MINUTES: u64 = 180;

/// Recency is capped here: "never" and "two years ago" mean the same to the model.
pub const RECENCY_CAP_DAYS: f64 = 730.0;

/// One feature: its stable code and how it reads in a sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureDef {
    /// Stable code (stored with the model's coefficients).
    pub code: &'static str,
    /// What it measures, in words ("disruptions suffered in the last 12 months").
    pub words: &'static str,
}

/// The features, in the order of the model's coefficient vector.
pub const FEATURES: &[FeatureDef] = &[
    FeatureDef {
        code: "flights_12m",
        words: "flights in the last 12 months",
    },
    FeatureDef {
        code: "flight_trend",
        words: "change in flights against the 12 months before",
    },
    FeatureDef {
        code: "days_since_last_flight",
        words: "days since the last flight",
    },
    FeatureDef {
        code: "disruptions_12m",
        words: "disruptions suffered in the last 12 months (cancelled, rebooked or 3 h late)",
    },
    FeatureDef {
        code: "uncompensated_disruptions_12m",
        words: "disruptions in the last 12 months never put right by compensation",
    },
    FeatureDef {
        code: "complaints_12m",
        words: "complaints in the last 12 months",
    },
    FeatureDef {
        code: "feedback_negativity",
        words: "negativity of their feedback (ratings: 0 all five stars, 1 all one star)",
    },
    FeatureDef {
        code: "contacts_12m",
        words: "calls, e-mails and chats in the last 12 months",
    },
    FeatureDef {
        code: "tier_rank",
        words: "loyalty tier (0 none, 1 blue … 4 platinum)",
    },
    FeatureDef {
        code: "tier_drop",
        words: "loyalty tiers lost in the last 12 months",
    },
    FeatureDef {
        code: "flights_booked_ahead",
        words: "flights already booked for later",
    },
    FeatureDef {
        code: "spend_12m_log",
        words: "spend in the last 12 months (log of euros)",
    },
];

/// The positions of the disruption features (the test and the docs name them).
pub const DISRUPTION_FEATURES: &[&str] = &["disruptions_12m", "uncompensated_disruptions_12m"];

/// The feature vector of `h` as of `cutoff` (only what happened at or before it).
pub fn extract(h: &History, cutoff: DateTime<Utc>) -> Vec<f64> {
    let year = cutoff - Duration::days(365);
    let two_years = cutoff - Duration::days(730);
    let within = |t: DateTime<Utc>| t > year && t <= cutoff;
    let flown: Vec<&Flight> = h
        .flights
        .iter()
        .filter(|f| f.flown && f.departure <= cutoff)
        .collect();
    let flights_12m = flown.iter().filter(|f| within(f.departure)).count() as f64;
    let flights_prev = flown
        .iter()
        .filter(|f| f.departure > two_years && f.departure <= year)
        .count() as f64;
    let recency = flown
        .iter()
        .map(|f| f.departure)
        .max()
        .map(|t| ((cutoff - t).num_hours() as f64 / 24.0).min(RECENCY_CAP_DAYS))
        .unwrap_or(RECENCY_CAP_DAYS);
    let disrupted: Vec<&Flight> = h
        .flights
        .iter()
        .filter(|f| f.disrupted && within(f.departure))
        .collect();
    let uncompensated = disrupted.iter().filter(|f| !f.compensated).count() as f64;
    let feedback: Vec<&Feedback> = h.feedback.iter().filter(|f| within(f.at)).collect();
    let complaints = feedback.iter().filter(|f| f.complaint).count() as f64;
    let rated: Vec<f64> = feedback
        .iter()
        .filter_map(|f| f.rating)
        .map(|r| (5.0 - f64::from(r.clamp(1, 5))) / 4.0)
        .collect();
    let negativity = if rated.is_empty() {
        0.0
    } else {
        rated.iter().sum::<f64>() / rated.len() as f64
    };
    let contacts = h.contacts.iter().filter(|t| within(**t)).count() as f64;
    let tier_at = |t: DateTime<Utc>| {
        h.tiers
            .iter()
            .filter(|(since, _)| *since <= t)
            .max_by_key(|(since, _)| *since)
            .map(|(_, r)| *r)
    };
    let tier_now = tier_at(cutoff).unwrap_or(0);
    let tier_drop = tier_at(year)
        .map(|before| before.saturating_sub(tier_now))
        .unwrap_or(0);
    let spend_minor: i64 = h
        .spend
        .iter()
        .filter(|(t, _)| within(*t))
        .map(|(_, a)| *a)
        .sum();
    // Bookings made by the cutoff for flights after it: known at the cutoff (whether they are
    // later flown or cancelled is not), and the plainest sign of a customer staying.
    let booked_ahead = h
        .flights
        .iter()
        .filter(|f| f.departure > cutoff && f.booked_at.is_some_and(|b| b <= cutoff))
        .count() as f64;
    // The log of euros: spend is skewed; the model compares orders of magnitude.
    let spend_log = (spend_minor.max(0) as f64 / 100.0).ln_1p();
    vec![
        flights_12m,
        flights_12m - flights_prev,
        recency,
        disrupted.len() as f64,
        uncompensated,
        complaints,
        negativity,
        contacts,
        f64::from(tier_now),
        f64::from(tier_drop),
        booked_ahead,
        spend_log,
    ]
}

/// Whether the customer belongs in a training or scoring population at `cutoff`: they flew
/// at least once in the 12 months before it. Someone gone for years is not "at risk" — they
/// already left — and including them would let the model score recency alone.
pub fn active(h: &History, cutoff: DateTime<Utc>) -> bool {
    let year = cutoff - Duration::days(365);
    h.flights
        .iter()
        .any(|f| f.flown && f.departure > year && f.departure <= cutoff)
}

/// The label at `cutoff`: the customer defected — took no flight in the `window` after it.
/// `None` when the window is not over by `horizon` (the last instant the history covers).
pub fn defected(
    h: &History,
    cutoff: DateTime<Utc>,
    window: Duration,
    horizon: DateTime<Utc>,
) -> Option<bool> {
    let end = cutoff + window;
    if end > horizon {
        return None;
    }
    Some(
        !h.flights
            .iter()
            .any(|f| f.flown && f.departure > cutoff && f.departure <= end),
    )
}

/// Spend (minor units) in the 12 months up to `cutoff`.
pub fn spend_12m(h: &History, cutoff: DateTime<Utc>) -> i64 {
    let year = cutoff - Duration::days(365);
    h.spend
        .iter()
        .filter(|(t, _)| *t > year && *t <= cutoff)
        .map(|(_, a)| *a)
        .sum()
}

/// Spend (minor units) in `(from, to]`.
pub fn spend_between(h: &History, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    h.spend
        .iter()
        .filter(|(t, _)| *t > from && *t <= to)
        .map(|(_, a)| *a)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn flight(s: &str, flown: bool, disrupted: bool, compensated: bool) -> Flight {
        Flight {
            departure: at(s),
            flown,
            disrupted,
            compensated,
            booked_at: Some(at(s) - Duration::days(40)),
        }
    }

    #[test]
    fn features_see_only_the_past_of_the_cutoff() {
        let cutoff = at("2026-06-01T00:00:00Z");
        let h = History {
            flights: vec![
                flight("2026-05-01T10:00:00Z", true, true, false),
                flight("2026-03-01T10:00:00Z", false, true, true),
                flight("2025-03-01T10:00:00Z", true, false, false),
                flight("2025-02-01T10:00:00Z", true, false, false),
                // After the cutoff: invisible.
                flight("2026-07-01T10:00:00Z", true, true, false),
            ],
            feedback: vec![
                Feedback {
                    at: at("2026-05-02T10:00:00Z"),
                    complaint: true,
                    rating: Some(1),
                },
                Feedback {
                    at: at("2026-05-03T10:00:00Z"),
                    complaint: false,
                    rating: Some(5),
                },
            ],
            contacts: vec![at("2026-05-01T12:00:00Z"), at("2026-08-01T12:00:00Z")],
            spend: vec![
                (at("2026-05-01T12:00:00Z"), 10_000),
                (at("2026-09-01T12:00:00Z"), 99_999),
            ],
            tiers: vec![
                (at("2024-01-01T00:00:00Z"), 3),
                (at("2026-01-01T00:00:00Z"), 2),
            ],
        };
        let x = extract(&h, cutoff);
        assert_eq!(x.len(), FEATURES.len());
        assert_eq!(x[0], 1.0, "one flown flight in 12 months");
        assert_eq!(x[1], 1.0 - 2.0, "trend against the year before");
        assert!((x[2] - 734.0 / 24.0).abs() < 1e-9, "recency in days");
        assert_eq!(x[3], 2.0);
        assert_eq!(x[4], 1.0, "the compensated one is put right");
        assert_eq!(x[5], 1.0);
        assert_eq!(x[6], 0.5);
        assert_eq!(x[7], 1.0);
        assert_eq!(x[8], 2.0);
        assert_eq!(x[9], 1.0);
        assert_eq!(x[10], 1.0, "the July flight was booked by the cutoff");
        assert!((x[11] - 101f64.ln()).abs() < 1e-12);
        assert!(active(&h, cutoff));
        assert!(!active(&h, at("2028-01-01T00:00:00Z")));
    }

    #[test]
    fn the_label_needs_its_whole_window() {
        let h = History {
            flights: vec![flight("2026-07-01T10:00:00Z", true, false, false)],
            ..Default::default()
        };
        let w = Duration::days(182);
        let horizon = at("2026-12-06T00:00:00Z");
        assert_eq!(
            defected(&h, at("2026-02-01T00:00:00Z"), w, horizon),
            Some(false)
        );
        assert_eq!(
            defected(&h, at("2025-06-01T00:00:00Z"), w, horizon),
            Some(true)
        );
        assert_eq!(defected(&h, at("2026-09-01T00:00:00Z"), w, horizon), None);
    }
}
