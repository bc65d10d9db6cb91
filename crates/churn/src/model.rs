//! The defection model end to end (pure): the time-based split, training, validation
//! (AUC, calibration, Brier, expected-value error), scoring with an explanation in words, and
//! expected customer value in integer minor units.
//!
//! The split: with the history known up to `horizon`, the validation cutoff is
//! `horizon − window` and the training cutoff `horizon − 2 × window`. Training rows are the
//! customers active at the training cutoff (a flight in the 12 months before it), with
//! features from what happened before it and the label "took no flight in the window after
//! it"; validation rows the same at the later cutoff, whose label window is the most recent
//! one. The training labels' window ends where the validation's begins, so no validation
//! outcome is seen in training. Metrics are those of the training-cutoff fit on the
//! validation rows; the stored model is then fitted again on both cutoffs' rows (the most
//! recent behaviour matters most for today's scores).

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::features::{self, FEATURES, History};
use crate::logistic::{Logistic, Settings};
use crate::metrics::{self, CalibrationBin};

/// The label window: a customer who takes no flight in the 182 days (six months) after a
/// cutoff has defected.
pub const WINDOW_DAYS: i64 = 182;
/// Fewest rows at each cutoff worth training or validating on.
pub const MIN_ROWS: usize = 40;
/// Fewest rows of each class (defected, stayed) at each cutoff.
pub const MIN_PER_CLASS: usize = 5;
/// How many features explain a score.
pub const EXPLAIN_TOP: usize = 3;

/// Why training was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TrainError {
    /// Too few active customers at a cutoff.
    #[error(
        "too few customers to train on: {rows} active at the {which} cutoff ({cutoff}), at least {needed} needed"
    )]
    TooFew {
        /// `training` or `validation`.
        which: &'static str,
        /// The cutoff instant.
        cutoff: String,
        /// Rows found.
        rows: usize,
        /// Rows needed.
        needed: usize,
    },
    /// Every row has the same label (or almost): nothing to tell apart.
    #[error(
        "the {which} set has one class only: {defected} of {rows} customers defected (at least {needed} of each class needed)"
    )]
    OneClass {
        /// `training` or `validation`.
        which: &'static str,
        /// Rows.
        rows: usize,
        /// Of which defected.
        defected: usize,
        /// Needed of each class.
        needed: usize,
    },
}

/// What validation measured (on the later cutoff's customers, with the earlier cutoff's fit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Metrics {
    /// Area under the ROC curve on the validation rows.
    pub auc: f64,
    /// Brier score on the validation rows.
    pub brier: f64,
    /// The Brier score of always predicting the training base rate (the bar to beat).
    pub brier_baseline: f64,
    /// Reliability table by decile of predicted risk.
    pub calibration: Vec<CalibrationBin>,
    /// Training rows and how many defected.
    pub train_rows: u64,
    /// Of the training rows, defected.
    pub train_defected: u64,
    /// Validation rows.
    pub validation_rows: u64,
    /// Of the validation rows, defected.
    pub validation_defected: u64,
    /// Mean absolute error of the expected value against the spend that followed, minor units.
    pub value_mae_minor: i64,
    /// The same error for the naive forecast (half the trailing year's spend, no risk).
    pub value_mae_naive_minor: i64,
    /// Mean spend that followed in the window, minor units.
    pub value_mean_actual_minor: i64,
}

/// One coefficient, for the model page and the stored document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Coefficient {
    /// Feature code.
    pub feature: String,
    /// Weight per standard deviation of the feature (log-odds).
    pub weight: f64,
}

/// A trained defection model as stored (JSON document of `churn_models`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChurnModel {
    /// Feature codes in coefficient order (a stored model whose features differ from the
    /// code's is not used).
    pub features: Vec<String>,
    /// Scaling, intercept and weights.
    pub fit: Logistic,
    /// The training settings.
    pub settings: Settings,
    /// The label window in days.
    pub window_days: i64,
    /// The training cutoff (RFC 3339).
    pub train_cutoff: String,
    /// The validation cutoff (RFC 3339).
    pub validation_cutoff: String,
    /// When it was trained (RFC 3339).
    pub trained_at: String,
    /// Validation results.
    pub metrics: Metrics,
    /// Who the training population left out for the privacy register's purpose (absent in
    /// models stored before it was counted).
    #[serde(default)]
    pub left_out: LeftOut,
}

/// The customers training left out because the privacy register's `analytics` purpose does not
/// allow their data (`storage::TRAINING_PURPOSE`), so the model page can say how much of the
/// population the model did not learn from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LeftOut {
    /// Customers who objected to analytics or withdrew it (Art. 21(1)).
    pub objected: u64,
    /// Customers whose processing is restricted (Art. 18).
    pub restricted: u64,
}

/// One reason behind a score.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Reason {
    /// Feature code.
    pub feature: String,
    /// The sentence: what it is, the customer's value, the average, the direction.
    pub words: String,
    /// The customer's value of the feature.
    pub value: f64,
    /// Its signed contribution to the log-odds against the average customer (positive raises
    /// the risk).
    pub contribution: f64,
}

/// A customer's score now.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Score {
    /// Probability of defecting in the window (0–1).
    pub risk: f64,
    /// The same as whole percent, for display.
    pub risk_percent: u32,
    /// `low` (< 20 %), `medium` (< 50 %) or `high`.
    pub band: String,
    /// Expected spend in the window, minor units of [`crate::SPEND_CURRENCY`].
    pub expected_value_minor: i64,
    /// Spend in the trailing 12 months, minor units.
    pub spend_12m_minor: i64,
    /// Flew in the last 12 months (scores of inactive customers are extrapolations).
    pub active: bool,
    /// The top contributing features, largest effect first.
    pub reasons: Vec<Reason>,
}

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn rows_at(
    people: &[History],
    cutoff: DateTime<Utc>,
    window: Duration,
    horizon: DateTime<Utc>,
) -> (Vec<usize>, Vec<Vec<f64>>, Vec<bool>) {
    let mut idx = Vec::new();
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for (i, h) in people.iter().enumerate() {
        if !features::active(h, cutoff) {
            continue;
        }
        if let Some(y) = features::defected(h, cutoff, window, horizon) {
            idx.push(i);
            rows.push(features::extract(h, cutoff));
            labels.push(y);
        }
    }
    (idx, rows, labels)
}

fn check(which: &'static str, cutoff: DateTime<Utc>, labels: &[bool]) -> Result<usize, TrainError> {
    if labels.len() < MIN_ROWS {
        return Err(TrainError::TooFew {
            which,
            cutoff: rfc(cutoff),
            rows: labels.len(),
            needed: MIN_ROWS,
        });
    }
    let defected = labels.iter().filter(|y| **y).count();
    if defected < MIN_PER_CLASS || labels.len() - defected < MIN_PER_CLASS {
        return Err(TrainError::OneClass {
            which,
            rows: labels.len(),
            defected,
            needed: MIN_PER_CLASS,
        });
    }
    Ok(defected)
}

/// Risk as basis points (0–10,000), the integer the money arithmetic uses.
pub fn risk_basis_points(risk: f64) -> i64 {
    (risk.clamp(0.0, 1.0) * 10_000.0).round() as i64
}

/// Expected spend in the next window: `(1 − risk) × trailing 12-month spend × window / 365`,
/// in integer minor units (rounded down). The method is deliberately simple — a customer who
/// stays is assumed to spend at last year's pace — and its error on the held-out window is
/// measured against the same forecast without the risk ([`Metrics::value_mae_naive_minor`]).
pub fn expected_value_minor(spend_12m_minor: i64, risk: f64, window_days: i64) -> i64 {
    let keep = 10_000 - risk_basis_points(risk);
    let v = i128::from(spend_12m_minor.max(0)) * i128::from(keep) * i128::from(window_days)
        / (10_000 * 365);
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Trains on `people`'s histories known up to `horizon`.
pub fn train(
    people: &[History],
    horizon: DateTime<Utc>,
    settings: Settings,
) -> Result<ChurnModel, TrainError> {
    let window = Duration::days(WINDOW_DAYS);
    let validation_cutoff = horizon - window;
    let train_cutoff = validation_cutoff - window;
    let (_, train_rows, train_labels) = rows_at(people, train_cutoff, window, horizon);
    let train_defected = check("training", train_cutoff, &train_labels)?;
    let (val_idx, val_rows, val_labels) = rows_at(people, validation_cutoff, window, horizon);
    let val_defected = check("validation", validation_cutoff, &val_labels)?;

    let first = Logistic::fit(&train_rows, &train_labels, settings);
    let scores: Vec<f64> = val_rows.iter().map(|x| first.predict(x)).collect();
    let base = train_defected as f64 / train_labels.len() as f64;
    let baseline: Vec<f64> = vec![base; val_labels.len()];

    let (mut err, mut err_naive, mut actual_sum) = (0i128, 0i128, 0i128);
    for (k, i) in val_idx.iter().enumerate() {
        let h = &people[*i];
        let trailing = features::spend_12m(h, validation_cutoff);
        let actual = features::spend_between(h, validation_cutoff, validation_cutoff + window);
        let predicted = expected_value_minor(trailing, scores[k], WINDOW_DAYS);
        let naive = expected_value_minor(trailing, 0.0, WINDOW_DAYS);
        err += i128::from((predicted - actual).abs());
        err_naive += i128::from((naive - actual).abs());
        actual_sum += i128::from(actual);
    }
    let n = val_idx.len().max(1) as i128;
    let metrics = Metrics {
        auc: metrics::auc(&scores, &val_labels).unwrap_or(0.5),
        brier: metrics::brier(&scores, &val_labels),
        brier_baseline: metrics::brier(&baseline, &val_labels),
        calibration: metrics::calibration(&scores, &val_labels),
        train_rows: train_labels.len() as u64,
        train_defected: train_defected as u64,
        validation_rows: val_labels.len() as u64,
        validation_defected: val_defected as u64,
        value_mae_minor: i64::try_from(err / n).unwrap_or(i64::MAX),
        value_mae_naive_minor: i64::try_from(err_naive / n).unwrap_or(i64::MAX),
        value_mean_actual_minor: i64::try_from(actual_sum / n).unwrap_or(i64::MAX),
    };

    let all_rows: Vec<Vec<f64>> = train_rows.into_iter().chain(val_rows).collect();
    let all_labels: Vec<bool> = train_labels.into_iter().chain(val_labels).collect();
    let fit = Logistic::fit(&all_rows, &all_labels, settings);
    Ok(ChurnModel {
        features: FEATURES.iter().map(|f| f.code.to_owned()).collect(),
        fit,
        settings,
        window_days: WINDOW_DAYS,
        train_cutoff: rfc(train_cutoff),
        validation_cutoff: rfc(validation_cutoff),
        trained_at: rfc(horizon),
        metrics,
        left_out: LeftOut::default(),
    })
}

fn shown(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

impl ChurnModel {
    /// Whether the stored model's features are the ones this code extracts.
    pub fn matches_code(&self) -> bool {
        self.features.len() == FEATURES.len()
            && self.features.iter().zip(FEATURES).all(|(a, b)| a == b.code)
    }

    /// The coefficients by feature.
    pub fn coefficients(&self) -> Vec<Coefficient> {
        self.features
            .iter()
            .zip(&self.fit.weights)
            .map(|(f, w)| Coefficient {
                feature: f.clone(),
                weight: *w,
            })
            .collect()
    }

    /// `h`'s score at `now`: risk, expected value and the top contributing features in words.
    pub fn score(&self, h: &History, now: DateTime<Utc>) -> Score {
        let x = features::extract(h, now);
        let risk = self.fit.predict(&x);
        let contributions = self.fit.contributions(&x);
        let mut order: Vec<usize> = (0..x.len()).collect();
        order.sort_by(|a, b| {
            contributions[*b]
                .abs()
                .total_cmp(&contributions[*a].abs())
                .then(a.cmp(b))
        });
        let reasons = order
            .into_iter()
            .filter(|j| contributions[*j].abs() >= 0.05)
            .take(EXPLAIN_TOP)
            .map(|j| {
                let def = FEATURES[j];
                let c = contributions[j];
                Reason {
                    feature: def.code.to_owned(),
                    words: format!(
                        "{}: {} (average {}) {} the risk",
                        capitalised(def.words),
                        shown(x[j]),
                        shown(self.fit.scaling.mean[j]),
                        if c > 0.0 { "raises" } else { "lowers" }
                    ),
                    value: x[j],
                    contribution: c,
                }
            })
            .collect();
        let spend = features::spend_12m(h, now);
        let risk_percent = u32::try_from((risk_basis_points(risk) + 50) / 100).unwrap_or(100);
        Score {
            risk,
            risk_percent,
            band: if risk < 0.2 {
                "low"
            } else if risk < 0.5 {
                "medium"
            } else {
                "high"
            }
            .to_owned(),
            expected_value_minor: expected_value_minor(spend, risk, self.window_days),
            spend_12m_minor: spend,
            active: features::active(h, now),
            reasons,
        }
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{Feedback, Flight};

    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) % n
        }
    }

    /// Customers flying monthly; each disruption makes defection in a later month likelier.
    fn population(n: u64, horizon: DateTime<Utc>, planted: bool) -> Vec<History> {
        let mut rng = Rng(11);
        (0..n)
            .map(|_| {
                let mut h = History::default();
                let mut recent_disruptions = 0u64;
                let freq = 30 + rng.below(60);
                for month in 0..36 {
                    let t = horizon - Duration::days(30 * (36 - month));
                    let hazard = if planted {
                        2 + 25 * recent_disruptions
                    } else {
                        8
                    };
                    if rng.below(100) < hazard {
                        break;
                    }
                    if rng.below(100) < freq {
                        let disrupted = rng.below(100) < 12;
                        h.flights.push(Flight {
                            departure: t,
                            flown: true,
                            disrupted,
                            compensated: false,
                            booked_at: None,
                        });
                        h.spend.push((t, 5_000 + 100 * rng.below(100) as i64));
                        if disrupted {
                            recent_disruptions += 1;
                            h.feedback.push(Feedback {
                                at: t + Duration::days(1),
                                complaint: true,
                                rating: Some(1),
                            });
                        }
                    }
                }
                h
            })
            .collect()
    }

    #[test]
    fn training_finds_the_planted_disruption_signal_with_a_time_split() {
        let horizon: DateTime<Utc> = "2026-12-06T00:00:00Z".parse().unwrap();
        let people = population(2_000, horizon, true);
        let m = train(&people, horizon, Settings::default()).unwrap();
        assert!(m.metrics.auc >= 0.7, "AUC {}", m.metrics.auc);
        assert!(m.metrics.brier < m.metrics.brier_baseline);
        assert_eq!(m.metrics.calibration.len(), 10);
        let w = |code: &str| {
            m.coefficients()
                .into_iter()
                .find(|c| c.feature == code)
                .unwrap()
                .weight
        };
        assert!(w("disruptions_12m") + w("uncompensated_disruptions_12m") > 0.0);
        // A disrupted customer's explanation names the disruptions as raising the risk.
        let someone = people
            .iter()
            .find(|h| {
                features::active(h, horizon)
                    && h.flights
                        .iter()
                        .filter(|f| f.disrupted && f.departure > horizon - Duration::days(365))
                        .count()
                        >= 2
            })
            .unwrap();
        let s = m.score(someone, horizon);
        assert!(
            s.reasons.iter().any(|r| r.feature.contains("disruptions")
                && r.contribution > 0.0
                && r.words.contains("raises the risk")),
            "{:?}",
            s.reasons
        );
        assert_eq!(m, train(&people, horizon, Settings::default()).unwrap());
        assert!(m.matches_code());
    }

    #[test]
    fn too_few_or_one_class_is_refused() {
        let horizon: DateTime<Utc> = "2026-12-06T00:00:00Z".parse().unwrap();
        let few = population(10, horizon, true);
        assert!(matches!(
            train(&few, horizon, Settings::default()),
            Err(TrainError::TooFew {
                which: "training",
                ..
            })
        ));
        // Everyone flies every month to the end: nobody defects.
        let loyal: Vec<History> = (0..100)
            .map(|_| History {
                flights: (0..36)
                    .map(|m| Flight {
                        departure: horizon - Duration::days(30 * m),
                        flown: true,
                        disrupted: false,
                        compensated: false,
                        booked_at: None,
                    })
                    .collect(),
                ..Default::default()
            })
            .collect();
        let e = train(&loyal, horizon, Settings::default()).unwrap_err();
        assert!(matches!(e, TrainError::OneClass { defected: 0, .. }), "{e}");
        assert!(e.to_string().contains("one class only"));
    }

    #[test]
    fn expected_value_is_integer_money() {
        assert_eq!(expected_value_minor(365_000, 0.0, 182), 182_000);
        assert_eq!(expected_value_minor(365_000, 0.25, 182), 136_500);
        assert_eq!(expected_value_minor(365_000, 1.0, 182), 0);
        assert_eq!(expected_value_minor(-5, 0.1, 182), 0);
        assert_eq!(risk_basis_points(0.123_45), 1_235);
    }
}
