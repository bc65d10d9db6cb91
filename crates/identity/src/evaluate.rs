//! Pairwise accuracy of a clustering against ground truth, the measure used for the FEBRL
//! benchmarks: every pair of records placed in one cluster is a predicted link; precision, recall
//! and F1 compare those with the pairs that truly belong together. Computed from cluster sizes
//! (no pair enumeration), so it is exact and fast for any cluster size.

use std::collections::HashMap;
use std::fmt;

/// Pairwise precision, recall and F1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairMetrics {
    /// Predicted pairs that are true.
    pub true_positives: u64,
    /// Predicted pairs that are false.
    pub false_positives: u64,
    /// True pairs not predicted.
    pub false_negatives: u64,
    /// `tp / (tp + fp)`.
    pub precision: f64,
    /// `tp / (tp + fn)`.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
}

impl fmt::Display for PairMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "precision {:.4} recall {:.4} F1 {:.4} (tp {} fp {} fn {})",
            self.precision,
            self.recall,
            self.f1,
            self.true_positives,
            self.false_positives,
            self.false_negatives
        )
    }
}

/// Counts pairs within groups, where `sources` (when given) restricts counting to pairs of
/// records from different sources (record linkage).
fn pairs_in_groups<K: std::hash::Hash + Eq>(
    keys: impl Iterator<Item = K>,
    sources: Option<&[u32]>,
) -> u64 {
    let mut groups: HashMap<K, (u64, HashMap<u32, u64>)> = HashMap::new();
    for (i, k) in keys.enumerate() {
        let g = groups.entry(k).or_default();
        g.0 += 1;
        if let Some(s) = sources {
            *g.1.entry(s[i]).or_default() += 1;
        }
    }
    groups
        .values()
        .map(|(n, per_source)| {
            let all = n * n.saturating_sub(1) / 2;
            let same: u64 = per_source
                .values()
                .map(|m| m * m.saturating_sub(1) / 2)
                .sum();
            if sources.is_some() { all - same } else { all }
        })
        .sum()
}

/// Pairwise metrics of `predicted` cluster labels against `truth` labels (one of each per
/// record). With `sources`, only pairs of records from different sources count (linkage);
/// without, every pair counts (deduplication).
pub fn pairwise<P, T>(predicted: &[P], truth: &[T], sources: Option<&[u32]>) -> PairMetrics
where
    P: std::hash::Hash + Eq + Copy,
    T: std::hash::Hash + Eq + Copy,
{
    let predicted_pairs = pairs_in_groups(predicted.iter().copied(), sources);
    let true_pairs = pairs_in_groups(truth.iter().copied(), sources);
    let tp = pairs_in_groups(
        predicted.iter().copied().zip(truth.iter().copied()),
        sources,
    );
    let precision = if predicted_pairs == 0 {
        1.0
    } else {
        tp as f64 / predicted_pairs as f64
    };
    let recall = if true_pairs == 0 {
        1.0
    } else {
        tp as f64 / true_pairs as f64
    };
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    PairMetrics {
        true_positives: tp,
        false_positives: predicted_pairs - tp,
        false_negatives: true_pairs - tp,
        precision,
        recall,
        f1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_pairs() {
        // Truth {0,1,2} {3}; predicted {0,1} {2,3}.
        let m = pairwise(&[1, 1, 2, 2], &[7, 7, 7, 8], None);
        assert_eq!(
            (m.true_positives, m.false_positives, m.false_negatives),
            (1, 1, 2)
        );
        // Linkage: sources 0,1,0,1 — only cross-source pairs count.
        let m = pairwise(&[1, 1, 1, 1], &[7, 7, 8, 8], Some(&[0, 1, 0, 1]));
        assert_eq!(
            (m.true_positives, m.false_positives, m.false_negatives),
            (2, 2, 0)
        );
    }
}
