//! The one fold of names and other text for comparison: [`fold`], and the spelling without
//! umlauts that people type on a keyboard without them ([`without_umlauts`]).
//!
//! Folding maps any script to the lowercase Latin letters and digits that comparisons work on.
//! Accents are removed by Unicode decomposition (NFKD), letters that do not decompose (ß, ø, ł,
//! æ…) and the common non-Latin alphabets (Cyrillic, Greek) are transliterated the way ICAO
//! Doc 9303 writes them in a passport's machine-readable zone, because reservation names (PNR,
//! APIS) come from there. German umlauts become `ae`/`oe`/`ue` for the same reason, so "Müller"
//! in a CRM and "MUELLER" in a PNR fold to the same key.
//!
//! Why one fold: identity resolution matches records with it, and customer search must find
//! what a PNR spells. Search additionally folds [`without_umlauts`] (`Müller` → `Muller` →
//! `muller`), because an agent typing "Muller" or "mull" means Müller too.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Folds `text` to lowercase ASCII letters and digits where a transliteration is known; other
/// alphanumeric characters (CJK, Arabic…) are kept lowercased so they still compare exactly.
/// Every other character (punctuation, apostrophes, Arabic tatweel) is dropped, except that
/// whitespace, hyphens, slashes, commas and dots become single spaces between words. Composed
/// and decomposed spellings of a letter fold alike.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    let push = |out: &mut String, piece: &str, pending: &mut bool| {
        // A letter that folds to nothing (ь, tatweel) leaves a pending space pending.
        if piece.is_empty() {
            return;
        }
        if *pending && !out.is_empty() {
            out.push(' ');
        }
        *pending = false;
        out.push_str(piece);
    };
    if text.is_ascii() {
        for b in text.bytes() {
            match b {
                b'a'..=b'z' | b'0'..=b'9' => {
                    let mut buf = [0u8; 4];
                    push(
                        &mut out,
                        (b as char).encode_utf8(&mut buf),
                        &mut pending_space,
                    );
                }
                b'A'..=b'Z' => {
                    let mut buf = [0u8; 4];
                    let c = b.to_ascii_lowercase() as char;
                    push(&mut out, c.encode_utf8(&mut buf), &mut pending_space);
                }
                b' ' | b'\t' | b'-' | b'/' | b',' | b'.' | b'_' => pending_space = true,
                _ => {}
            }
        }
        return out;
    }
    // Greek "ου" is written "ou", not "oy".
    let mut after_omicron = false;
    // Composed first, so that `u` + combining diaeresis is `ü` (and becomes `ue`).
    for original in text.nfc() {
        let base = std::iter::once(original).nfkd().next().unwrap_or(original);
        if after_omicron && matches!(base, 'υ' | 'Υ') {
            after_omicron = false;
            push(&mut out, "u", &mut pending_space);
            continue;
        }
        after_omicron = matches!(base, 'ο' | 'Ο');
        // Letters whose decomposition would lose their ICAO spelling are mapped before NFKD.
        if let Some(mapped) = special(original) {
            push(&mut out, mapped, &mut pending_space);
            continue;
        }
        for c in std::iter::once(original).nfkd() {
            if is_combining_mark(c) {
                continue;
            }
            if let Some(mapped) = special(c) {
                push(&mut out, mapped, &mut pending_space);
            } else if c.is_alphanumeric() {
                for lower in c.to_lowercase() {
                    let mut buf = [0u8; 4];
                    push(&mut out, lower.encode_utf8(&mut buf), &mut pending_space);
                }
            } else if c.is_whitespace() || matches!(c, '-' | '/' | ',' | '.' | '_' | '‐' | '–')
            {
                pending_space = true;
            }
        }
    }
    out
}

/// `text` with the letters that [`fold`] spells with two Latin letters but keyboards without
/// them spell with one written as that one: ä ö ü å ø (and capitals) become a o u a o. Folding
/// the result gives the key of what an agent types for "Müller" or "Søren" on such a keyboard
/// ("muller", "soren").
pub fn without_umlauts(text: &str) -> String {
    text.nfc()
        .map(|c| match c {
            'ä' | 'å' => 'a',
            'Ä' | 'Å' => 'A',
            'ö' | 'ø' => 'o',
            'Ö' | 'Ø' => 'O',
            'ü' => 'u',
            'Ü' => 'U',
            c => c,
        })
        .collect()
}

/// ICAO 9303 transliterations for letters that decomposition alone would get wrong or drop.
fn special(c: char) -> Option<&'static str> {
    Some(match c {
        'ä' | 'Ä' => "ae",
        'ö' | 'Ö' => "oe",
        'ü' | 'Ü' => "ue",
        'å' | 'Å' => "aa",
        'æ' | 'Æ' => "ae",
        'ø' | 'Ø' => "oe",
        'œ' | 'Œ' => "oe",
        'ß' | 'ẞ' => "ss",
        'ł' | 'Ł' => "l",
        'đ' | 'Đ' | 'ð' | 'Ð' => "d",
        'þ' | 'Þ' => "th",
        'ı' => "i",
        'ħ' | 'Ħ' => "h",
        // Arabic tatweel stretches a word; it is decoration, not a letter.
        '\u{0640}' => "",
        // Cyrillic (Russian, Ukrainian, Belarusian, Bulgarian, Serbian) per ICAO 9303.
        'а' | 'А' => "a",
        'б' | 'Б' => "b",
        'в' | 'В' => "v",
        'г' | 'Г' => "g",
        'ґ' | 'Ґ' => "g",
        'д' | 'Д' => "d",
        'е' | 'Е' | 'ё' | 'Ё' | 'э' | 'Э' => "e",
        'є' | 'Є' => "ie",
        'ж' | 'Ж' => "zh",
        'з' | 'З' => "z",
        'и' | 'И' | 'й' | 'Й' | 'і' | 'І' | 'ї' | 'Ї' => "i",
        'к' | 'К' => "k",
        'л' | 'Л' => "l",
        'м' | 'М' => "m",
        'н' | 'Н' => "n",
        'о' | 'О' => "o",
        'п' | 'П' => "p",
        'р' | 'Р' => "r",
        'с' | 'С' => "s",
        'т' | 'Т' => "t",
        'у' | 'У' | 'ў' | 'Ў' => "u",
        'ф' | 'Ф' => "f",
        'х' | 'Х' => "kh",
        'ц' | 'Ц' => "ts",
        'ч' | 'Ч' => "ch",
        'ш' | 'Ш' => "sh",
        'щ' | 'Щ' => "shch",
        'ъ' | 'Ъ' => "ie",
        'ы' | 'Ы' => "y",
        'ь' | 'Ь' => "",
        'ю' | 'Ю' => "iu",
        'я' | 'Я' => "ia",
        'ђ' | 'Ђ' => "d",
        'ј' | 'Ј' => "j",
        'љ' | 'Љ' => "lj",
        'њ' | 'Њ' => "nj",
        'ћ' | 'Ћ' => "c",
        'џ' | 'Џ' => "dz",
        // Greek (after NFKD has removed tonos and dialytika) per ICAO 9303.
        'α' | 'Α' => "a",
        'β' | 'Β' => "v",
        'γ' | 'Γ' => "g",
        'δ' | 'Δ' => "d",
        'ε' | 'Ε' => "e",
        'ζ' | 'Ζ' => "z",
        'η' | 'Η' => "i",
        'θ' | 'Θ' => "th",
        'ι' | 'Ι' => "i",
        'κ' | 'Κ' => "k",
        'λ' | 'Λ' => "l",
        'μ' | 'Μ' => "m",
        'ν' | 'Ν' => "n",
        'ξ' | 'Ξ' => "x",
        'ο' | 'Ο' => "o",
        'π' | 'Π' => "p",
        'ρ' | 'Ρ' => "r",
        'σ' | 'ς' | 'Σ' => "s",
        'τ' | 'Τ' => "t",
        'υ' | 'Υ' => "y",
        'φ' | 'Φ' => "f",
        'χ' | 'Χ' => "ch",
        'ψ' | 'Ψ' => "ps",
        'ω' | 'Ω' => "o",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::Rng;

    #[test]
    fn folds_case_accents_and_punctuation() {
        assert_eq!(fold("  José-María  O'Brien "), "jose maria obrien");
        assert_eq!(fold("François"), "francois");
        assert_eq!(fold("ŁUKASZ Wałęsa"), "lukasz walesa");
        assert_eq!(fold("  ZOË  Straße "), "zoe strasse");
    }

    #[test]
    fn follows_icao_for_umlauts_and_sharp_s() {
        assert_eq!(fold("Müller"), "mueller");
        assert_eq!(fold("MUELLER"), "mueller");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("Søren Ærø"), "soeren aeroe");
    }

    #[test]
    fn transliterates_cyrillic_and_greek() {
        assert_eq!(fold("Иванов"), "ivanov");
        assert_eq!(fold("Щукина Юлия"), "shchukina iuliia");
        assert_eq!(fold("Παπαδόπουλος"), "papadopoulos");
    }

    #[test]
    fn keeps_other_scripts_without_their_marks() {
        assert_eq!(fold("王 小明"), "王 小明");
        assert_eq!(fold("مُحَمَّد"), "محمد");
        assert_eq!(fold("محـــمد"), "محمد", "tatweel is dropped");
    }

    #[test]
    fn umlaut_less_spelling_is_what_a_plain_keyboard_types() {
        assert_eq!(fold(&without_umlauts("Müller")), "muller");
        assert_eq!(fold(&without_umlauts("MÜLL")), "mull");
        assert_eq!(fold(&without_umlauts("Søren Åberg")), "soren aberg");
        assert_eq!(fold(&without_umlauts("Mu\u{308}ller")), "muller");
        assert_eq!(
            without_umlauts("Zoë Straße"),
            "Zoë Straße",
            "only umlauts change"
        );
    }

    const ALPHABET: &str = "aZ09 -'./,_\tÄäÖöÜüÅåØøÆæŒœßẞŁłĐđðÞþıħéÉçñ\u{308}\u{301}ﬁ²Ⅳ\
        ИванЩукЮлияЁёъьΠαπδόουλςΥυΟ王小明مُحَمَّدـ";

    /// Properties over random mixtures of scripts, marks and punctuation: folding is idempotent,
    /// yields no upper case, no leading, trailing or double spaces, and composed and decomposed
    /// spellings fold alike.
    #[test]
    fn fold_is_idempotent_and_canonical() {
        let alphabet: Vec<char> = ALPHABET.chars().collect();
        let mut rng = Rng::new(42);
        for _ in 0..50_000 {
            let s = rng.string(&alphabet, 12);
            let f = fold(&s);
            assert_eq!(fold(&f), f, "{s:?}");
            assert!(
                !f.starts_with(' ') && !f.ends_with(' ') && !f.contains("  "),
                "{s:?}"
            );
            assert!(!f.chars().any(char::is_uppercase), "{s:?}");
            let nfd: String = s.nfd().collect();
            assert_eq!(fold(&nfd), f, "{s:?}");
            let plain = fold(&without_umlauts(&s));
            assert_eq!(fold(&plain), plain, "{s:?}");
        }
    }
}
