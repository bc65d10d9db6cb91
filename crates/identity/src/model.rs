//! The Fellegi–Sunter model: for every field and agreement level, `m` is the probability of that
//! level among pairs of records of the same person and `u` among pairs of different people. A
//! pair's match weight is the sum over fields of `log2(m/u)` (a log Bayes factor, in bits);
//! missing values contribute nothing. Adding the prior log-odds gives the posterior log-odds that
//! the pair is a match.
//!
//! The parameters are **estimated from the data**, without labels: `u` from random record pairs
//! (nearly all random pairs are different people), then `m`, `u` and the match prevalence by
//! expectation–maximisation over the blocked candidate pairs. Because candidate pairs repeat the
//! same few level patterns, EM runs over the distinct patterns with their counts and takes
//! milliseconds regardless of the number of pairs.
//!
//! **Term frequencies.** Agreeing on "smith" is weaker evidence than agreeing on "wojciechowski".
//! For exact agreement on names, city, e-mail and phone the average `u` is replaced by the
//! value's own frequency, which adds `log2(u_exact / freq(value))` bits (negative for common
//! values). An e-mail address shared by a whole travel department thus weighs almost nothing.

use std::collections::HashMap;
use std::fmt;

use crate::compare::{Comparison, EXACT, FIELD_COUNT, FIELDS, Field, MISSING};
use crate::normalise::NormalisedRecord;

/// Most levels any field has (including "missing").
pub const MAX_LEVELS: usize = 5;

/// Probabilities below this are raised to it, so that no level is ever impossible and no weight
/// infinite.
const FLOOR: f64 = 1e-6;

/// `m` and `u` per level of one field. Index 0 ("missing") is unused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldParams {
    /// Probability of each level among matches.
    pub m: [f64; MAX_LEVELS],
    /// Probability of each level among non-matches.
    pub u: [f64; MAX_LEVELS],
}

impl FieldParams {
    fn new(m: &[f64], u: &[f64]) -> Self {
        let mut p = Self {
            m: [0.0; MAX_LEVELS],
            u: [0.0; MAX_LEVELS],
        };
        for (i, (&mi, &ui)) in m.iter().zip(u).enumerate() {
            p.m[i + 1] = mi;
            p.u[i + 1] = ui;
        }
        p
    }
}

/// Fields whose exact agreement is adjusted by the value's frequency.
pub const TF_FIELDS: [Field; 5] = [
    Field::GivenName,
    Field::Surname,
    Field::City,
    Field::Email,
    Field::Phone,
];

/// Values a field needs before term frequencies are used.
pub const TF_MIN_VALUES: u32 = 100;

/// How often each value occurs, per term-frequency field, among the records the matcher knows.
#[derive(Debug, Clone, Default)]
pub struct TermFrequencies {
    counts: [HashMap<Box<str>, u32>; TF_FIELDS.len()],
    totals: [u32; TF_FIELDS.len()],
}

fn tf_slot(field: Field) -> Option<usize> {
    TF_FIELDS.iter().position(|&f| f == field)
}

fn tf_value(record: &NormalisedRecord, field: Field) -> Option<&str> {
    match field {
        Field::GivenName => record.given.as_ref().map(|n| &*n.text),
        Field::Surname => record.surname.as_ref().map(|n| &*n.text),
        Field::City => record.city.as_deref(),
        Field::Email => record.email.as_deref(),
        Field::Phone => record.phone.as_deref(),
        _ => None,
    }
}

impl TermFrequencies {
    /// Counts the values of one more record.
    pub fn add(&mut self, record: &NormalisedRecord) {
        for (slot, &field) in TF_FIELDS.iter().enumerate() {
            if let Some(value) = tf_value(record, field) {
                *self.counts[slot].entry(value.into()).or_default() += 1;
                self.totals[slot] += 1;
            }
        }
    }

    /// Forgets the values of a record (used when a record is removed).
    pub fn remove(&mut self, record: &NormalisedRecord) {
        for (slot, &field) in TF_FIELDS.iter().enumerate() {
            if let Some(value) = tf_value(record, field)
                && let Some(count) = self.counts[slot].get_mut(value)
            {
                *count = count.saturating_sub(1);
                self.totals[slot] = self.totals[slot].saturating_sub(1);
            }
        }
    }

    /// The relative frequency of a value of a field, or `None` for fields without term
    /// frequencies or values never seen.
    /// `None` too while the field has fewer than [`TF_MIN_VALUES`] values: a handful of records
    /// says nothing about how common a value is.
    pub fn frequency(&self, field: Field, value: &str) -> Option<f64> {
        let slot = tf_slot(field)?;
        let count = *self.counts[slot].get(value)?;
        let total = self.totals[slot];
        (count > 0 && total >= TF_MIN_VALUES).then(|| f64::from(count) / f64::from(total))
    }

    /// How many records have the value (0 when unknown).
    pub fn count(&self, field: Field, value: &str) -> u32 {
        tf_slot(field)
            .and_then(|slot| self.counts[slot].get(value).copied())
            .unwrap_or(0)
    }
}

/// The model parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Parameters per field, in [`FIELDS`] order.
    pub fields: [FieldParams; FIELD_COUNT],
    /// Prior probability that a candidate pair is a match.
    pub prior: f64,
    /// Largest term-frequency adjustment, in bits, in either direction, so one rare value
    /// cannot outweigh every other field.
    pub tf_cap: f64,
    /// Probability that two random records agree exactly, per field: the baseline that a
    /// value's own frequency is compared with. Kept apart from `u`, which EM may estimate among
    /// candidate pairs (where agreement is far more common than among random pairs).
    pub tf_baseline: [f64; FIELD_COUNT],
    weights: [[f64; MAX_LEVELS]; FIELD_COUNT],
}

impl Default for Model {
    /// Hand-set priors that describe ordinary customer data; used until the model is trained.
    fn default() -> Self {
        let name_m = [0.82, 0.08, 0.05, 0.05];
        let fields = [
            FieldParams::new(&name_m, &[0.01, 0.005, 0.03, 0.955]),
            FieldParams::new(&name_m, &[0.005, 0.004, 0.02, 0.971]),
            FieldParams::new(&[0.9, 0.05, 0.02, 0.03], &[0.0002, 0.002, 0.006, 0.9918]),
            FieldParams::new(&[0.7, 0.3], &[0.0001, 0.9999]),
            FieldParams::new(&[0.7, 0.3], &[0.0001, 0.9999]),
            FieldParams::new(&[0.85, 0.05, 0.10], &[0.02, 0.03, 0.95]),
            FieldParams::new(&[0.8, 0.1, 0.05, 0.05], &[0.001, 0.002, 0.01, 0.987]),
            FieldParams::new(&[0.8, 0.1, 0.05, 0.05], &[0.001, 0.002, 0.01, 0.987]),
            FieldParams::new(&[0.85, 0.08, 0.03, 0.04], &[0.01, 0.005, 0.02, 0.965]),
            FieldParams::new(&[0.85, 0.08, 0.07], &[0.005, 0.02, 0.975]),
            FieldParams::new(&[0.95, 0.05], &[0.2, 0.8]),
            FieldParams::new(&[0.98, 0.02], &[0.5, 0.5]),
        ];
        Model::from_params(fields, 0.01)
    }
}

/// One field's contribution to a pair's match weight.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldEvidence {
    /// The field.
    pub field: Field,
    /// The agreement level's name ("exact", "close"…).
    pub level: &'static str,
    /// Bits contributed: `log2(m/u)` plus the term-frequency adjustment.
    pub weight: f64,
    /// The term-frequency part of `weight` (0 when not applied).
    pub tf_adjustment: f64,
}

/// Why a pair got its weight: the per-field breakdown. Shown to people reviewing a merge and
/// stored with every merge in the lineage.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// Prior log-odds of a match, in bits.
    pub prior: f64,
    /// Contributions of the fields that were present on both sides.
    pub fields: Vec<FieldEvidence>,
    /// Sum of the field weights (the match weight), in bits.
    pub match_weight: f64,
    /// Posterior probability of a match.
    pub probability: f64,
    /// Given name and surname were compared crosswise.
    pub names_swapped: bool,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "match weight {:+.1} bits (p = {:.4}):",
            self.match_weight, self.probability
        )?;
        for e in &self.fields {
            write!(f, " {} {} {:+.1}", e.field.name(), e.level, e.weight)?;
            if e.tf_adjustment != 0.0 {
                write!(f, " (tf {:+.1})", e.tf_adjustment)?;
            }
            f.write_str(";")?;
        }
        if self.names_swapped {
            f.write_str(" names compared crosswise;")?;
        }
        Ok(())
    }
}

/// Options of the unsupervised estimation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainOptions {
    /// Random record pairs drawn to estimate `u`.
    pub u_samples: usize,
    /// Most EM iterations.
    pub max_iterations: usize,
    /// EM stops when no parameter moves by more than this.
    pub tolerance: f64,
    /// Re-estimate `u` by EM among candidate pairs (after starting from the random-pair
    /// estimate). Candidate pairs share a blocking key, so their non-matches agree more often
    /// than random pairs; estimating `u` among them calibrates weights for the pairs actually
    /// scored.
    pub em_u: bool,
    /// Seed of the random pair sampler (training is deterministic).
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            u_samples: 50_000,
            max_iterations: 200,
            tolerance: 1e-6,
            em_u: true,
            seed: 0x5EED_A10F7,
        }
    }
}

/// What training found, for logs and benchmarks.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    /// EM iterations run.
    pub iterations: usize,
    /// Distinct comparison patterns among the candidate pairs.
    pub patterns: usize,
    /// Candidate pairs used.
    pub pairs: u64,
    /// Estimated share of matches among candidate pairs.
    pub prior: f64,
    /// The EM estimate was used. False when it was implausible (see [`Model::train_em`]) and
    /// the model kept its prior `m` and match prevalence, with `u` from random pairs.
    pub accepted: bool,
    /// Fields whose EM estimate was implausible (exact agreement not evidence *for* a match,
    /// or clear disagreement not evidence *against*).
    pub implausible: Vec<Field>,
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Model {
    /// A model from explicit parameters (probabilities per level, index 0 unused).
    pub fn from_params(fields: [FieldParams; FIELD_COUNT], prior: f64) -> Self {
        let tf_baseline = std::array::from_fn(|f| fields[f].u[usize::from(EXACT)]);
        let mut model = Self {
            fields,
            prior,
            tf_cap: 6.0,
            tf_baseline,
            weights: [[0.0; MAX_LEVELS]; FIELD_COUNT],
        };
        model.refresh();
        model
    }

    /// Recomputes the cached weights after the parameters changed.
    fn refresh(&mut self) {
        for (f, &field) in FIELDS.iter().enumerate() {
            let p = &mut self.fields[f];
            let levels = field.levels().len();
            for table in [&mut p.m, &mut p.u] {
                let sum: f64 = table[1..levels].iter().map(|x| x.max(FLOOR)).sum();
                for x in &mut table[1..levels] {
                    *x = x.max(FLOOR) / sum;
                }
            }
            for l in 1..levels {
                self.weights[f][l] = (p.m[l] / p.u[l]).log2();
            }
        }
        self.prior = self.prior.clamp(1e-9, 1.0 - 1e-9);
    }

    /// `log2(m/u)` of one level of one field (0 for "missing").
    pub fn weight(&self, field: Field, level: u8) -> f64 {
        self.weights[field.index()][usize::from(level)]
    }

    /// Prior log-odds of a match, in bits.
    pub fn prior_bits(&self) -> f64 {
        (self.prior / (1.0 - self.prior)).log2()
    }

    fn tf_adjustment(
        &self,
        field: Field,
        level: u8,
        a: &NormalisedRecord,
        tf: &TermFrequencies,
    ) -> f64 {
        if level != EXACT {
            return 0.0;
        }
        let Some(value) = tf_value(a, field) else {
            return 0.0;
        };
        let Some(freq) = tf.frequency(field, value) else {
            return 0.0;
        };
        (self.tf_baseline[field.index()] / freq)
            .log2()
            .clamp(-self.tf_cap, self.tf_cap)
    }

    /// The match weight of a compared pair (sum of field weights with term-frequency
    /// adjustments), in bits. `a` is the record whose values the term frequencies look up;
    /// with exact agreement both records have the same value, except for names compared
    /// crosswise, where `a`'s value is still the one that agreed.
    pub fn match_weight(
        &self,
        cmp: &Comparison,
        a: &NormalisedRecord,
        tf: &TermFrequencies,
    ) -> f64 {
        let mut total = 0.0;
        for (f, &level) in cmp.levels.iter().enumerate() {
            if level == MISSING {
                continue;
            }
            total += self.weights[f][usize::from(level)];
            if level == EXACT && tf_slot(FIELDS[f]).is_some() {
                total += self.tf_adjustment(FIELDS[f], level, a, tf);
            }
        }
        total
    }

    /// Posterior probability of a match for a match weight.
    pub fn probability(&self, match_weight: f64) -> f64 {
        let odds = (match_weight + self.prior_bits()).exp2();
        odds / (1.0 + odds)
    }

    /// The per-field breakdown of a compared pair.
    pub fn explain(
        &self,
        cmp: &Comparison,
        a: &NormalisedRecord,
        tf: &TermFrequencies,
    ) -> Explanation {
        let mut fields = Vec::new();
        let mut total = 0.0;
        for (f, &level) in cmp.levels.iter().enumerate() {
            if level == MISSING {
                continue;
            }
            let field = FIELDS[f];
            let tf_adjustment = self.tf_adjustment(field, level, a, tf);
            let weight = self.weights[f][usize::from(level)] + tf_adjustment;
            total += weight;
            fields.push(FieldEvidence {
                field,
                level: field.levels()[usize::from(level)],
                weight,
                tf_adjustment,
            });
        }
        Explanation {
            prior: self.prior_bits(),
            fields,
            match_weight: total,
            probability: self.probability(total),
            names_swapped: cmp.names_swapped,
        }
    }

    /// Estimates `u` from `samples` random pairs of `records`: nearly every random pair is two
    /// different people, so level frequencies among them are the non-match probabilities.
    pub fn estimate_u(&mut self, records: &[&NormalisedRecord], options: &TrainOptions) {
        let n = records.len();
        if n < 2 {
            return;
        }
        let mut counts = [[0u64; MAX_LEVELS]; FIELD_COUNT];
        let mut state = options.seed;
        let all_pairs = n * (n - 1) / 2;
        let sample = |i: usize, j: usize, counts: &mut [[u64; MAX_LEVELS]; FIELD_COUNT]| {
            let cmp = crate::compare::compare(records[i], records[j]);
            for (f, &level) in cmp.levels.iter().enumerate() {
                counts[f][usize::from(level)] += 1;
            }
        };
        if all_pairs <= options.u_samples {
            for i in 0..n {
                for j in i + 1..n {
                    sample(i, j, &mut counts);
                }
            }
        } else {
            for _ in 0..options.u_samples {
                let i = (splitmix(&mut state) % n as u64) as usize;
                let mut j = (splitmix(&mut state) % (n as u64 - 1)) as usize;
                if j >= i {
                    j += 1;
                }
                sample(i, j, &mut counts);
            }
        }
        for (f, &field) in FIELDS.iter().enumerate() {
            let levels = field.levels().len();
            let present: u64 = counts[f][1..levels].iter().sum();
            // Too few observations say nothing; keep the prior.
            if present < 50 {
                continue;
            }
            for (u, &count) in self.fields[f]
                .u
                .iter_mut()
                .zip(&counts[f])
                .take(levels)
                .skip(1)
            {
                // Half a pseudo-count keeps unseen levels possible.
                *u = (count as f64 + 0.5) / (present as f64 + 0.5 * levels as f64);
            }
            self.tf_baseline[f] = self.fields[f].u[usize::from(EXACT)];
        }
        self.refresh();
    }

    /// Expectation–maximisation of `m` (and `u`, see [`TrainOptions::em_u`]) and the prior over
    /// the comparison patterns of candidate pairs, given as pattern → count. An implausible
    /// result (see [`TrainReport::accepted`]) leaves the model as it was.
    pub fn train_em(
        &mut self,
        patterns: &HashMap<[u8; FIELD_COUNT], u64>,
        options: &TrainOptions,
    ) -> TrainReport {
        let pairs: u64 = patterns.values().sum();
        let mut report = TrainReport {
            iterations: 0,
            patterns: patterns.len(),
            pairs,
            prior: self.prior,
            accepted: false,
            implausible: Vec::new(),
        };
        let start = self.clone();
        if pairs == 0 {
            return report;
        }
        // Fields that are present in too few candidate pairs keep their parameters.
        let mut present = [0u64; FIELD_COUNT];
        for (pattern, &count) in patterns {
            for (f, &level) in pattern.iter().enumerate() {
                if level != MISSING {
                    present[f] += count;
                }
            }
        }
        let list: Vec<(&[u8; FIELD_COUNT], f64)> =
            patterns.iter().map(|(p, &c)| (p, c as f64)).collect();
        for iteration in 0..options.max_iterations {
            report.iterations = iteration + 1;
            let mut sum_m = [[0.0f64; MAX_LEVELS]; FIELD_COUNT];
            let mut sum_u = [[0.0f64; MAX_LEVELS]; FIELD_COUNT];
            let mut matches = 0.0;
            let log_prior = self.prior_bits();
            for &(pattern, count) in &list {
                let mut bits = log_prior;
                for (f, &level) in pattern.iter().enumerate() {
                    bits += self.weights[f][usize::from(level)];
                }
                let p = 1.0 / (1.0 + (-bits).exp2());
                matches += p * count;
                for (f, &level) in pattern.iter().enumerate() {
                    sum_m[f][usize::from(level)] += p * count;
                    sum_u[f][usize::from(level)] += (1.0 - p) * count;
                }
            }
            let before = self.clone();
            self.prior = matches / pairs as f64;
            for (f, &field) in FIELDS.iter().enumerate() {
                if present[f] < 50 {
                    continue;
                }
                let levels = field.levels().len();
                let total_m: f64 = sum_m[f][1..levels].iter().sum();
                let total_u: f64 = sum_u[f][1..levels].iter().sum();
                for l in 1..levels {
                    if total_m > 0.0 {
                        self.fields[f].m[l] = sum_m[f][l] / total_m;
                    }
                    if options.em_u && total_u > 0.0 {
                        self.fields[f].u[l] = sum_u[f][l] / total_u;
                    }
                }
            }
            self.refresh();
            let moved = self
                .fields
                .iter()
                .zip(&before.fields)
                .flat_map(|(a, b)| a.m.iter().zip(&b.m).chain(a.u.iter().zip(&b.u)))
                .map(|(x, y)| (x - y).abs())
                .fold((self.prior - before.prior).abs(), f64::max);
            if moved < options.tolerance {
                break;
            }
        }
        // EM finds *some* two-class split; on data without duplicates (a clean master file) the
        // "match" class it finds is something else, such as people who share a surname. Such a
        // split shows as a field whose exact agreement counts against a match, or whose clear
        // disagreement counts for one. Then the estimate is thrown away.
        for (f, &field) in FIELDS.iter().enumerate() {
            let last = field.levels().len() - 1;
            if present[f] >= 50
                && (self.weights[f][usize::from(EXACT)] <= 0.0 || self.weights[f][last] >= 0.0)
            {
                report.implausible.push(field);
            }
        }
        if report.implausible.is_empty() {
            report.accepted = true;
            report.prior = self.prior;
        } else {
            *self = start;
        }
        report
    }
}

impl fmt::Display for Model {
    /// A table of `m`, `u` and weights per field and level.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "prior {:.5} ({:+.2} bits)",
            self.prior,
            self.prior_bits()
        )?;
        for (i, &field) in FIELDS.iter().enumerate() {
            write!(f, "{:<14}", field.name())?;
            for (l, name) in field.levels().iter().enumerate().skip(1) {
                write!(
                    f,
                    " | {name} m={:.4} u={:.5} w={:+.2}",
                    self.fields[i].m[l], self.fields[i].u[l], self.weights[i][l]
                )?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::compare;
    use crate::normalise::normalise;
    use crate::record::PersonRecord;

    #[test]
    fn weights_are_log_bayes_factors() {
        let model = Model::default();
        let p = model.fields[Field::DateOfBirth.index()];
        assert!((model.weight(Field::DateOfBirth, EXACT) - (p.m[1] / p.u[1]).log2()).abs() < 1e-12);
        assert_eq!(model.weight(Field::DateOfBirth, MISSING), 0.0);
        assert!(model.weight(Field::DateOfBirth, 4) < 0.0);
    }

    #[test]
    fn common_surnames_weigh_less() {
        let model = Model::default();
        let mut tf = TermFrequencies::default();
        let mut records = Vec::new();
        for i in 0..150 {
            records.push(normalise(
                &PersonRecord::new("t", i.to_string()).with_name("x", "smith"),
            ));
        }
        records.push(normalise(
            &PersonRecord::new("t", "r1").with_name("x", "wojciechowski"),
        ));
        records.push(normalise(
            &PersonRecord::new("t", "r2").with_name("x", "wojciechowski"),
        ));
        for r in &records {
            tf.add(r);
        }
        let smith = model.match_weight(&compare(&records[0], &records[1]), &records[0], &tf);
        let rare = model.match_weight(&compare(&records[150], &records[151]), &records[150], &tf);
        assert!(rare > smith + 3.0, "rare {rare} vs smith {smith}");
        let explanation = model.explain(&compare(&records[0], &records[1]), &records[0], &tf);
        assert!((explanation.match_weight - smith).abs() < 1e-9);
        assert!(explanation.to_string().contains("surname exact"));
    }

    #[test]
    fn em_recovers_separated_classes() {
        // 100 matches agreeing on everything, 900 non-matches disagreeing on names and dob.
        let mut patterns = HashMap::new();
        let mut matching = [MISSING; FIELD_COUNT];
        matching[0] = EXACT;
        matching[1] = EXACT;
        matching[2] = EXACT;
        let mut other = [MISSING; FIELD_COUNT];
        other[0] = 4;
        other[1] = 4;
        other[2] = 4;
        patterns.insert(matching, 100);
        patterns.insert(other, 900);
        let mut model = Model::default();
        let report = model.train_em(&patterns, &TrainOptions::default());
        assert!((report.prior - 0.1).abs() < 0.01, "{report:?}");
        assert!(report.accepted);
        assert!(model.fields[0].m[1] > 0.99);
    }

    #[test]
    fn em_without_duplicates_is_rejected() {
        // No matches at all: pairs share a surname (the blocking key) and nothing else.
        let mut patterns = HashMap::new();
        let mut same_surname = [MISSING; FIELD_COUNT];
        same_surname[0] = 4;
        same_surname[1] = EXACT;
        same_surname[2] = 4;
        let mut also_same_given = same_surname;
        also_same_given[0] = EXACT;
        patterns.insert(same_surname, 900);
        patterns.insert(also_same_given, 30);
        let mut other = same_surname;
        other[2] = EXACT;
        patterns.insert(other, 5);
        let before = Model::default();
        let mut model = before.clone();
        let report = model.train_em(&patterns, &TrainOptions::default());
        assert!(!report.accepted, "{report:?}");
        assert_eq!(model, before);
    }
}
