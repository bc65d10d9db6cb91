//! Multinomial naive Bayes over token n-grams: the supervised model an airline trains on its
//! own labelled texts.
//!
//! Features are unigrams — marked `not_` for the three words after a negation, so "not helpful"
//! and "helpful" are different evidence — and bigrams. Laplace smoothing (α = 1); features seen
//! only once in a large corpus are dropped to keep the model small. Stored as JSON with a format
//! tag, so a file from another tool is refused rather than misread.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::{Label, LabelledText, SentimentError, is_negation, words};

const FORMAT: &str = "aloft-sentiment/naive-bayes/1";

/// A trained model (see the module doc).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NaiveBayes {
    format: String,
    /// ln P(label), in [`Label::ALL`] order.
    log_prior: [f64; 3],
    /// ln P(feature | label) for features never seen with that label's counts (smoothing mass).
    log_unseen: [f64; 3],
    /// ln P(feature | label) per known feature.
    features: HashMap<String, [f64; 3]>,
}

/// What training measured. Accuracy is on a held-out fifth of the rows (chosen by a hash of
/// the row id, so re-running on the same file gives the same split), by a model trained on the
/// other four fifths; the model returned is then trained on all rows.
#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    /// Rows read.
    pub rows: usize,
    /// Rows the evaluated model was trained on.
    pub train_rows: usize,
    /// Rows held out for evaluation.
    pub held_out_rows: usize,
    /// Share of held-out rows the trained model labelled correctly (None without held-out rows).
    pub accuracy: Option<f64>,
    /// The built-in lexicon model's accuracy on the same held-out rows, as a baseline.
    pub builtin_accuracy: Option<f64>,
    /// Rows per label, in [`Label::ALL`] order.
    pub per_label: [usize; 3],
    /// Features in the final model.
    pub features: usize,
}

fn features(text: &str) -> Vec<String> {
    let tokens: Vec<String> = words(text).collect();
    let mut out = Vec::with_capacity(tokens.len() * 2);
    let mut negated_for = 0u8;
    for (i, t) in tokens.iter().enumerate() {
        if negated_for > 0 {
            out.push(format!("not_{t}"));
            negated_for -= 1;
        } else {
            out.push(t.clone());
        }
        if is_negation(t) {
            negated_for = 3;
        }
        if let Some(next) = tokens.get(i + 1) {
            out.push(format!("{t} {next}"));
        }
    }
    out
}

fn fit(rows: &[&LabelledText]) -> NaiveBayes {
    let mut docs = [0usize; 3];
    let mut counts: HashMap<String, [u32; 3]> = HashMap::new();
    for row in rows {
        let l = row.label.index();
        docs[l] += 1;
        for f in features(&row.text) {
            counts.entry(f).or_default()[l] += 1;
        }
    }
    // Drop one-off features once the corpus is big enough for them to be noise.
    if rows.len() >= 2_000 {
        counts.retain(|_, c| c.iter().sum::<u32>() >= 2);
    }
    let vocab = counts.len().max(1) as f64;
    let mut totals = [0f64; 3];
    for c in counts.values() {
        for l in 0..3 {
            totals[l] += f64::from(c[l]);
        }
    }
    let n = rows.len() as f64;
    let log_prior = [0, 1, 2].map(|l| ((docs[l] as f64 + 1.0) / (n + 3.0)).ln());
    let log_unseen = [0, 1, 2].map(|l| (1.0 / (totals[l] + vocab)).ln());
    let features = counts
        .into_iter()
        .map(|(f, c)| {
            let p = [0, 1, 2].map(|l| ((f64::from(c[l]) + 1.0) / (totals[l] + vocab)).ln());
            (f, p)
        })
        .collect();
    NaiveBayes {
        format: FORMAT.to_owned(),
        log_prior,
        log_unseen,
        features,
    }
}

/// FNV-1a: a stable hash (std's is randomly seeded) to choose the held-out rows.
fn stable_hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Trains on labelled rows: evaluates on a held-out fifth, then fits on everything.
pub fn train(rows: &[LabelledText]) -> Result<(NaiveBayes, TrainReport), SentimentError> {
    if rows.is_empty() {
        return Err(SentimentError::Empty);
    }
    let (held_out, training): (Vec<&LabelledText>, Vec<&LabelledText>) = rows
        .iter()
        .partition(|r| stable_hash(&r.id).is_multiple_of(5));
    let (accuracy, builtin_accuracy) = if held_out.is_empty() || training.is_empty() {
        (None, None)
    } else {
        let model = fit(&training);
        let right = held_out
            .iter()
            .filter(|r| model.classify(&r.text).0 == r.label)
            .count();
        let builtin_right = held_out
            .iter()
            .filter(|r| crate::lexicon::classify(&r.text).0 == r.label)
            .count();
        let n = held_out.len() as f64;
        (Some(right as f64 / n), Some(builtin_right as f64 / n))
    };
    let all: Vec<&LabelledText> = rows.iter().collect();
    let model = fit(&all);
    let mut per_label = [0usize; 3];
    for r in rows {
        per_label[r.label.index()] += 1;
    }
    let report = TrainReport {
        rows: rows.len(),
        train_rows: if held_out.is_empty() {
            rows.len()
        } else {
            training.len()
        },
        held_out_rows: held_out.len(),
        accuracy,
        builtin_accuracy,
        per_label,
        features: model.features.len(),
    };
    Ok((model, report))
}

impl NaiveBayes {
    /// Reads a model from its JSON form, refusing anything that is not one.
    pub fn from_json(json: &str) -> Result<Self, SentimentError> {
        let model: NaiveBayes =
            serde_json::from_str(json).map_err(|e| SentimentError::Model(e.to_string()))?;
        if model.format != FORMAT {
            return Err(SentimentError::Model(format!(
                "format {:?}, expected {FORMAT:?}",
                model.format
            )));
        }
        Ok(model)
    }

    /// The JSON form (`format`, `log_prior`, `log_unseen`, `features`).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a model always serialises")
    }

    /// Number of features (unigrams and bigrams) the model knows.
    pub fn feature_count(&self) -> usize {
        self.features.len()
    }

    /// Label (the most probable) and score P(positive) − P(negative).
    pub fn classify(&self, text: &str) -> (Label, f32) {
        let mut log_p = self.log_prior;
        for f in features(text) {
            let p = self.features.get(&f).unwrap_or(&self.log_unseen);
            for l in 0..3 {
                log_p[l] += p[l];
            }
        }
        let max = log_p.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e = log_p.map(|x| (x - max).exp());
        let sum: f64 = e.iter().sum();
        let p = e.map(|x| x / sum);
        let best = (0..3)
            .max_by(|&a, &b| p[a].total_cmp(&p[b]))
            .expect("three labels");
        (Label::ALL[best], (p[2] - p[0]) as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Model;

    /// A corpus where the airline's own jargon carries the sentiment: words the lexicon does
    /// not know ("irrops", "mct", "sked change") are negative, "fast track" positive.
    fn corpus() -> Vec<LabelledText> {
        let neg = [
            "irrops again on {r}",
            "mct too short at {r}",
            "sked change broke my {r} trip",
        ];
        let pos = [
            "fast track at {r} was a breeze",
            "bulkhead row on {r}, cheers",
            "priority tag worked at {r}",
        ];
        let neu = [
            "flight {r} departs at nine",
            "what terminal for {r}",
            "seat map for {r}",
        ];
        let routes = [
            "LHR", "FRA", "CDG", "MAD", "JFK", "DXB", "AMS", "LIS", "ZRH", "VIE",
        ];
        let mut rows = Vec::new();
        for (i, r) in routes.iter().cycle().take(200).enumerate() {
            for (set, label) in [
                (&neg, Label::Negative),
                (&pos, Label::Positive),
                (&neu, Label::Neutral),
            ] {
                rows.push(LabelledText {
                    id: format!("{i}-{label}"),
                    text: set[i % 3].replace("{r}", r),
                    label,
                });
            }
        }
        rows
    }

    #[test]
    fn learns_jargon_and_reports_held_out_accuracy() {
        let rows = corpus();
        let (model, report) = train(&rows).unwrap();
        assert_eq!(report.rows, 600);
        assert!(
            report.held_out_rows > 60 && report.held_out_rows < 180,
            "{report:?}"
        );
        assert!(report.accuracy.unwrap() > 0.95, "{report:?}");
        assert!(report.builtin_accuracy.unwrap() < report.accuracy.unwrap());
        assert_eq!(model.classify("irrops at OSL").0, Label::Negative);
        assert!(model.classify("fast track at OSL").1 > 0.5);
    }

    #[test]
    fn json_round_trip_and_foreign_files_refused() {
        let (model, _) = train(&corpus()).unwrap();
        let back = Model::from_json(&model.to_json()).unwrap();
        assert_eq!(back.analyse("mct too short").label, Label::Negative);
        assert!(
            Model::from_json(
                "{\"format\":\"x\",\"log_prior\":[0,0,0],\"log_unseen\":[0,0,0],\"features\":{}}"
            )
            .is_err()
        );
        assert!(Model::from_json("not json").is_err());
    }

    #[test]
    fn same_file_same_split() {
        let rows = corpus();
        let a = train(&rows).unwrap().1;
        let b = train(&rows).unwrap().1;
        assert_eq!((a.held_out_rows, a.accuracy), (b.held_out_rows, b.accuracy));
    }
}
