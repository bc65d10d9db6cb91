//! The built-in model: VADER's lexicon and rules (Hutto & Gilbert, 2014), adapted.
//!
//! Valences are summed over the words of a text after three adjustments made in a window of
//! the three preceding words — an intensifier ("very", "extremely") or a dampener ("slightly")
//! moves the valence away from or towards zero, a negation ("not", "never", "didn't")
//! multiplies it by −0.74 — and a contrast rule: before "but" words count half, after it one
//! and a half. Shouting (a word in capitals in a text that is not all capitals) and exclamation
//! marks push further. The sum is squashed into `[-1, 1]` as VADER's compound score.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::{Label, is_negation};

const VADER: &str = include_str!("../data/vader_lexicon.tsv");
const AIRLINE: &str = include_str!("../data/airline_lexicon.tsv");

/// VADER's empirically derived constants.
const B_INCR: f32 = 0.293;
const B_DECR: f32 = -0.293;
const C_INCR: f32 = 0.733;
const N_SCALAR: f32 = -0.74;
/// Compound score at or beyond which a text is positive (or, negated, negative).
const THRESHOLD: f32 = 0.05;

fn lexicon() -> &'static HashMap<String, f32> {
    static LEXICON: OnceLock<HashMap<String, f32>> = OnceLock::new();
    LEXICON.get_or_init(|| {
        let mut map = HashMap::with_capacity(8_000);
        // The airline supplement comes second, so it overrides VADER where both have a word.
        for line in VADER.lines().chain(AIRLINE.lines()) {
            if line.starts_with('#') {
                continue;
            }
            let mut parts = line.split('\t');
            if let (Some(word), Some(value)) = (parts.next(), parts.next())
                && let Ok(v) = value.trim().parse::<f32>()
            {
                map.insert(word.to_owned(), v);
            }
        }
        map
    })
}

fn booster(word: &str) -> Option<f32> {
    const INCR: &[&str] = &[
        "absolutely",
        "amazingly",
        "awfully",
        "completely",
        "considerably",
        "decidedly",
        "deeply",
        "enormously",
        "entirely",
        "especially",
        "exceptionally",
        "extremely",
        "fully",
        "greatly",
        "highly",
        "hugely",
        "incredibly",
        "intensely",
        "majorly",
        "more",
        "most",
        "particularly",
        "purely",
        "quite",
        "really",
        "remarkably",
        "so",
        "substantially",
        "thoroughly",
        "totally",
        "tremendously",
        "unbelievably",
        "unusually",
        "utterly",
        "very",
    ];
    const DECR: &[&str] = &[
        "almost",
        "barely",
        "hardly",
        "kinda",
        "less",
        "little",
        "marginally",
        "occasionally",
        "partly",
        "scarcely",
        "slightly",
        "somewhat",
        "sorta",
    ];
    if INCR.contains(&word) {
        Some(B_INCR)
    } else if DECR.contains(&word) {
        Some(B_DECR)
    } else {
        None
    }
}

struct Token {
    lower: String,
    shouted: bool,
}

/// Label and compound score of one text.
pub(crate) fn classify(text: &str) -> (Label, f32) {
    let lex = lexicon();
    let tokens: Vec<Token> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .map(|w| w.trim_matches(|c| c == '\'' || c == '’'))
        .filter(|w| !w.is_empty())
        .map(|w| Token {
            lower: w.to_lowercase().replace('’', "'"),
            shouted: w.chars().count() > 1
                && w.chars().any(char::is_alphabetic)
                && !w.chars().any(char::is_lowercase),
        })
        .collect();
    let shouting_differs = tokens.iter().any(|t| t.shouted) && !tokens.iter().all(|t| t.shouted);

    let mut sentiments = Vec::with_capacity(tokens.len());
    for (i, token) in tokens.iter().enumerate() {
        let word = token.lower.as_str();
        if booster(word).is_some() {
            sentiments.push(0.0);
            continue;
        }
        let mut v = lex.get(word).copied().unwrap_or(0.0);
        // "no" before a sentiment word only negates it ("no delay"), it is not itself negative.
        if word == "no"
            && tokens
                .get(i + 1)
                .is_some_and(|n| lex.contains_key(&n.lower))
        {
            v = 0.0;
        }
        if v == 0.0 {
            sentiments.push(0.0);
            continue;
        }
        let sign = v.signum();
        if token.shouted && shouting_differs {
            v += sign * C_INCR;
        }
        let mut negated = false;
        for k in 1..=3usize {
            let Some(prev) = i.checked_sub(k).map(|j| &tokens[j]) else {
                break;
            };
            if let Some(mut scalar) = booster(&prev.lower) {
                scalar *= sign;
                if prev.shouted && shouting_differs {
                    scalar += sign * C_INCR;
                }
                v += scalar * [1.0, 0.95, 0.9][k - 1];
            }
            negated |= is_negation(&prev.lower);
        }
        if negated {
            v *= N_SCALAR;
        }
        sentiments.push(v);
    }

    if let Some(but) = tokens.iter().position(|t| t.lower == "but") {
        for (j, s) in sentiments.iter_mut().enumerate() {
            if j < but {
                *s *= 0.5;
            } else if j > but {
                *s *= 1.5;
            }
        }
    }

    let mut sum: f32 = sentiments.iter().sum();
    if sum != 0.0 {
        let exclamations = text.matches('!').count().min(4) as f32 * 0.292;
        let questions = match text.matches('?').count() {
            0 | 1 => 0.0,
            n => (n.min(3) as f32 * 0.18).min(0.96),
        };
        sum += sum.signum() * (exclamations + questions);
    }
    let compound = (sum / (sum * sum + 15.0).sqrt()).clamp(-1.0, 1.0);
    let label = if compound >= THRESHOLD {
        Label::Positive
    } else if compound <= -THRESHOLD {
        Label::Negative
    } else {
        Label::Neutral
    };
    (label, compound)
}
