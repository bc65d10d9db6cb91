//! How good a probabilistic classifier is on held-out rows (pure): AUC by ranks, the
//! reliability table (predicted against observed per decile) and the Brier score.

use serde::{Deserialize, Serialize};

/// The area under the ROC curve: the probability that a random positive is scored above a
/// random negative (ties count half), by the Mann–Whitney rank sum. `None` without both
/// classes.
pub fn auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let pos = labels.iter().filter(|y| **y).count();
    let neg = labels.len() - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));
    // Average ranks (1-based) over ties.
    let mut rank_sum_pos = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for k in &order[i..=j] {
            if labels[*k] {
                rank_sum_pos += avg;
            }
        }
        i = j + 1;
    }
    let (p, n) = (pos as f64, neg as f64);
    Some((rank_sum_pos - p * (p + 1.0) / 2.0) / (p * n))
}

/// The mean squared difference between predicted probability and outcome (0 is perfect;
/// always predicting the base rate b scores b(1 − b)).
pub fn brier(scores: &[f64], labels: &[bool]) -> f64 {
    if scores.is_empty() {
        return 0.0;
    }
    scores
        .iter()
        .zip(labels)
        .map(|(p, y)| {
            let o = if *y { 1.0 } else { 0.0 };
            (p - o) * (p - o)
        })
        .sum::<f64>()
        / scores.len() as f64
}

/// One bin of the reliability table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CalibrationBin {
    /// 1 (lowest predicted risk) to 10.
    pub decile: u32,
    /// Customers in the bin.
    pub count: u64,
    /// Mean predicted probability.
    pub predicted: f64,
    /// Share who actually defected.
    pub observed: f64,
}

/// The rows sorted by predicted probability and cut into ten bins of (nearly) equal size,
/// each with its mean prediction and observed rate. A calibrated model has the two close.
pub fn calibration(scores: &[f64], labels: &[bool]) -> Vec<CalibrationBin> {
    let n = scores.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]).then(a.cmp(b)));
    let bins = 10.min(n);
    (0..bins)
        .map(|b| {
            let part = &order[b * n / bins..(b + 1) * n / bins];
            let count = part.len().max(1) as f64;
            CalibrationBin {
                decile: b as u32 + 1,
                count: part.len() as u64,
                predicted: part.iter().map(|i| scores[*i]).sum::<f64>() / count,
                observed: part.iter().filter(|i| labels[**i]).count() as f64 / count,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_by_ranks_with_ties() {
        assert_eq!(
            auc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]),
            Some(1.0)
        );
        assert_eq!(
            auc(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]),
            Some(0.0)
        );
        assert_eq!(
            auc(&[0.5, 0.5, 0.5, 0.5], &[false, true, false, true]),
            Some(0.5)
        );
        // One pair of four misordered: 3/4.
        assert_eq!(
            auc(&[0.1, 0.6, 0.5, 0.9], &[false, false, true, true]),
            Some(0.75)
        );
        assert_eq!(auc(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn brier_and_calibration() {
        assert_eq!(brier(&[1.0, 0.0], &[true, false]), 0.0);
        assert_eq!(brier(&[0.5, 0.5], &[true, false]), 0.25);
        let scores: Vec<f64> = (0..100).map(|i| f64::from(i) / 100.0).collect();
        let labels: Vec<bool> = (0..100).map(|i| i >= 90).collect();
        let bins = calibration(&scores, &labels);
        assert_eq!(bins.len(), 10);
        assert!(bins.iter().all(|b| b.count == 10));
        assert_eq!(bins[9].observed, 1.0);
        assert_eq!(bins[0].observed, 0.0);
        assert!((bins[0].predicted - 0.045).abs() < 1e-9);
        assert_eq!(calibration(&[0.3, 0.4], &[true, false]).len(), 2);
    }
}
