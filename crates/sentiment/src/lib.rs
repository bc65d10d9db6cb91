//! Sentiment and airline topics for free text (call notes, e-mails, chats, feedback, case
//! messages).
//!
//! Two models answer the same question — a [`Label`] (`negative|neutral|positive`), a score in
//! `[-1, 1]` and the [`Topic`]s a text is about:
//! - [`Model::builtin`]: a lexicon model compiled into the binary, so every instance can label
//!   text without downloading anything. The word valences are the VADER lexicon (MIT, C.J. Hutto,
//!   see `data/VADER-LICENSE.txt` and this crate's README) plus an airline supplement
//!   (`data/airline_lexicon.tsv`: "stranded", "overbooked", "rebooked"…), with VADER's negation,
//!   intensifier, contrast ("but") and emphasis rules.
//! - [`Model::Trained`]: multinomial naive Bayes over unigrams (negation-marked) and bigrams,
//!   trained on the airline's own labelled texts with [`train`] and stored as JSON — an airline's
//!   vocabulary ("IRROPS", "misconnect", a route's nickname) is learnt rather than guessed.
//!
//! Topics come from a keyword list in both cases: they must be explainable to an agent ("this
//! mentions baggage because it says *suitcase*") and stable across model versions.
//!
//! Pure: nothing here touches files, the clock or the network; the CSV helpers read and write
//! whatever `Read`/`Write` they are given. `aloft sentiment` does the file handling.

#![forbid(unsafe_code)]

mod bayes;
mod csvio;
mod lexicon;
mod topics;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use bayes::{NaiveBayes, TrainReport, train};
pub use csvio::{LabelledText, classify_csv, read_labelled, read_texts};
pub use topics::{Topic, topics};

/// The three sentiment classes. Fixed: segments, dashboards and case priority depend on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    /// Complaint, frustration, anger.
    Negative,
    /// Factual or mixed.
    Neutral,
    /// Praise, thanks, satisfaction.
    Positive,
}

impl Label {
    /// All labels, in a fixed order (the order of a trained model's vectors).
    pub const ALL: [Label; 3] = [Label::Negative, Label::Neutral, Label::Positive];

    /// The wire name: `negative`, `neutral` or `positive`.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Negative => "negative",
            Label::Neutral => "neutral",
            Label::Positive => "positive",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Label {
    type Err = SentimentError;

    /// Case- and whitespace-insensitive; anything but the three names is refused.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "negative" => Ok(Label::Negative),
            "neutral" => Ok(Label::Neutral),
            "positive" => Ok(Label::Positive),
            _ => Err(SentimentError::UnknownLabel(s.to_owned())),
        }
    }
}

/// What a model says about one text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// The class.
    pub label: Label,
    /// From -1 (most negative) to 1 (most positive). The built-in model gives VADER's compound
    /// score; a trained model gives P(positive) − P(negative).
    pub score: f32,
    /// Airline topics the text mentions, in [`Topic::ALL`] order, each at most once.
    pub topics: Vec<Topic>,
}

/// Errors of this crate; input errors name the CSV line (1 = the header).
#[derive(Debug, thiserror::Error)]
pub enum SentimentError {
    /// A label other than negative, neutral or positive.
    #[error("unknown label {0:?} (expected negative, neutral or positive)")]
    UnknownLabel(String),
    /// A CSV input problem on a given line.
    #[error("line {line}: {message}")]
    Input {
        /// 1-based line in the file (the header is line 1).
        line: u64,
        /// What is wrong there, naming the column.
        message: String,
    },
    /// No rows to train on.
    #[error("the training file has no labelled texts")]
    Empty,
    /// The model file is not one this version can read.
    #[error("not an Aloft sentiment model: {0}")]
    Model(String),
    /// The output could not be written.
    #[error("cannot write the output: {0}")]
    Write(String),
}

/// A sentiment model: the built-in lexicon or a trained naive Bayes.
#[derive(Debug, Clone)]
pub enum Model {
    /// The compiled-in lexicon model (no download, no training).
    Builtin,
    /// A model trained with [`train`] on the airline's own labelled texts.
    Trained(Box<NaiveBayes>),
}

impl Model {
    /// The built-in lexicon model.
    pub fn builtin() -> Self {
        Model::Builtin
    }

    /// Reads a model written by [`Model::to_json`] (or by `aloft sentiment train`).
    pub fn from_json(json: &str) -> Result<Self, SentimentError> {
        Ok(Model::Trained(Box::new(NaiveBayes::from_json(json)?)))
    }

    /// The JSON form of a trained model; the built-in model has none (it is compiled in).
    pub fn to_json(&self) -> Option<String> {
        match self {
            Model::Builtin => None,
            Model::Trained(nb) => Some(nb.to_json()),
        }
    }

    /// A short description for logs and summaries (`builtin-lexicon` or `naive-bayes (N features)`).
    pub fn describe(&self) -> String {
        match self {
            Model::Builtin => "builtin-lexicon".to_owned(),
            Model::Trained(nb) => format!("naive-bayes ({} features)", nb.feature_count()),
        }
    }

    /// Label, score and topics of one text.
    pub fn analyse(&self, text: &str) -> Analysis {
        let (label, score) = match self {
            Model::Builtin => lexicon::classify(text),
            Model::Trained(nb) => nb.classify(text),
        };
        Analysis {
            label,
            score,
            topics: topics(text),
        }
    }
}

/// Splits text into lower-case word tokens (letters, digits and inner apostrophes), the
/// tokenisation both models and the topic finder share.
pub(crate) fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .map(|w| w.trim_matches(|c| c == '\'' || c == '’'))
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase().replace('’', "'"))
}

/// Words that flip the sentiment of the next few words (VADER's list plus contractions).
pub(crate) fn is_negation(word: &str) -> bool {
    const NEGATE: &[&str] = &[
        "aint", "arent", "cannot", "cant", "couldnt", "darent", "didnt", "doesnt", "dont", "hadnt",
        "hasnt", "havent", "isnt", "mightnt", "mustnt", "neither", "neednt", "never", "none",
        "nope", "nor", "not", "no", "nothing", "nowhere", "oughtnt", "shant", "shouldnt", "wasnt",
        "werent", "without", "wont", "wouldnt", "rarely", "seldom", "despite",
    ];
    word.ends_with("n't") || NEGATE.contains(&word)
}

static INSTALLED: std::sync::OnceLock<Model> = std::sync::OnceLock::new();

/// Makes `model` the process's model (`aloft serve --sentiment-model`). Once per process: the
/// server labels every text with one model, so figures stay comparable; a second call is
/// refused and returns the model back.
pub fn install(model: Model) -> Result<(), Model> {
    INSTALLED.set(model)
}

/// The model modules label texts with: the installed one, or the built-in lexicon.
pub fn current() -> &'static Model {
    static BUILTIN: Model = Model::Builtin;
    INSTALLED.get().unwrap_or(&BUILTIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_strictly() {
        assert_eq!(" Positive ".parse::<Label>().unwrap(), Label::Positive);
        assert!("happy".parse::<Label>().is_err());
    }

    #[test]
    fn builtin_labels_airline_texts() {
        let m = Model::builtin();
        let bad = m.analyse("Flight cancelled, stranded for 9 hours and my bag is lost. Awful.");
        assert_eq!(bad.label, Label::Negative);
        assert!(bad.score < -0.5, "{}", bad.score);
        assert!(bad.topics.contains(&Topic::Cancellation));
        assert!(bad.topics.contains(&Topic::Baggage));
        let good =
            m.analyse("The cabin crew were wonderful and the meal was delicious, thank you!");
        assert_eq!(good.label, Label::Positive);
        assert!(good.topics.contains(&Topic::Staff));
        assert!(good.topics.contains(&Topic::Food));
        let neutral = m.analyse("Please change my booking to the 14:05 flight to Lisbon.");
        assert_eq!(neutral.label, Label::Neutral);
        assert_eq!(neutral.topics, vec![Topic::Booking]);
    }

    #[test]
    fn negation_and_intensifiers() {
        let m = Model::builtin();
        let good = m.analyse("The staff were helpful").score;
        let not_good = m.analyse("The staff were not helpful").score;
        let very_good = m.analyse("The staff were very helpful").score;
        assert!(not_good < 0.0, "{not_good}");
        assert!(very_good > good, "{very_good} vs {good}");
        assert!(m.analyse("The seat was not bad at all").score > 0.0);
    }

    #[test]
    fn contrast_weighs_the_second_half() {
        let m = Model::builtin();
        let a = m.analyse("The food was good but the delay was terrible");
        assert_eq!(a.label, Label::Negative);
    }
}
