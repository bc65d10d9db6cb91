//! Person names: titles, reservation (PNR) names and free-text whole names. Airline systems
//! write `SURNAME/GIVENNAMES TITLE`, often with the title glued on (`SMITH/JOHNMR`); CRM forms
//! write "Dr Anna Smith" or "Smith, Anna". All of these reduce to a folded given name and surname.

use super::translit::fold;

/// Titles and honorifics that say nothing about who a person is. Children's codes (`CHD`,
/// `INF`, `MSTR`, `MISS`) are titles in reservation names.
const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mstr", "master", "dr", "prof", "sir", "dame", "madam", "mme",
    "mlle", "herr", "frau", "mx", "rev", "chd", "inf", "jr", "sr", "jnr", "snr",
];

/// Titles that reservation systems glue to the end of the given names (`JOHNMR`), longest
/// first so that `MRS` is not read as `MR` + `S`.
const GLUED_TITLES: &[&str] = &["mstr", "miss", "mrs", "chd", "inf", "mr", "ms", "dr"];

/// True when the folded word is a title.
pub fn is_title(word: &str) -> bool {
    TITLES.contains(&word)
}

/// Folds a name and drops title words ("Dr. Anna-Lena" → "anna lena").
pub fn clean_name(raw: &str) -> String {
    let folded = fold(raw);
    let words: Vec<&str> = folded
        .split(' ')
        .filter(|w| !w.is_empty() && !is_title(w))
        .collect();
    words.join(" ")
}

/// A name split into given names and surname, both folded; either may be empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SplitName {
    /// Given names, folded, titles removed.
    pub given: String,
    /// Surname, folded.
    pub surname: String,
}

/// Parses a reservation name `SURNAME/GIVEN NAMES TITLE`, where the title may be glued to the
/// last given name (`SMITH/JOHNMR`). Returns `None` when there is no slash.
pub fn parse_pnr_name(raw: &str) -> Option<SplitName> {
    let (surname, given) = raw.split_once('/')?;
    // A leading passenger count ("1SMITH/JOHN") is a PNR artefact.
    let surname = surname.trim_start_matches(|c: char| c.is_ascii_digit());
    let surname = clean_name(surname);
    let folded = fold(given);
    let mut words: Vec<String> = folded
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    // Whole-word titles anywhere, then one glued title at the very end.
    words.retain(|w| !is_title(w));
    if let Some(last) = words.last_mut() {
        for title in GLUED_TITLES {
            if last.len() > title.len() + 1 && last.ends_with(title) {
                last.truncate(last.len() - title.len());
                break;
            }
        }
    }
    Some(SplitName {
        given: words.join(" "),
        surname,
    })
}

/// Parses a whole name: a PNR name when it has a slash, "Surname, Given" when it has a comma,
/// otherwise "Given … Surname" with the last word as the surname.
pub fn parse_full_name(raw: &str) -> SplitName {
    if let Some(pnr) = parse_pnr_name(raw) {
        return pnr;
    }
    if let Some((surname, given)) = raw.split_once(',') {
        return SplitName {
            given: clean_name(given),
            surname: clean_name(surname),
        };
    }
    let cleaned = clean_name(raw);
    match cleaned.rsplit_once(' ') {
        Some((given, surname)) => SplitName {
            given: given.to_owned(),
            surname: surname.to_owned(),
        },
        None => SplitName {
            given: String::new(),
            surname: cleaned,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(given: &str, surname: &str) -> SplitName {
        SplitName {
            given: given.into(),
            surname: surname.into(),
        }
    }

    #[test]
    fn pnr_names_with_glued_or_spaced_titles() {
        assert_eq!(parse_pnr_name("SMITH/JOHNMR"), Some(split("john", "smith")));
        assert_eq!(
            parse_pnr_name("SMITH/JOHN MR"),
            Some(split("john", "smith"))
        );
        assert_eq!(
            parse_pnr_name("SMITH/JANEMRS"),
            Some(split("jane", "smith"))
        );
        assert_eq!(
            parse_pnr_name("DE LA CRUZ/MARIA JOSEMS"),
            Some(split("maria jose", "de la cruz"))
        );
        assert_eq!(
            parse_pnr_name("1MUELLER/ANNA DR"),
            Some(split("anna", "mueller"))
        );
        assert_eq!(parse_pnr_name("LEE/TOMMSTR"), Some(split("tom", "lee")));
        assert_eq!(parse_pnr_name("SMITH"), None);
    }

    #[test]
    fn short_given_names_keep_letters_that_look_like_titles() {
        // "MS" is not stripped from a two-letter name: nothing would be left.
        assert_eq!(parse_pnr_name("ONO/MS"), Some(split("", "ono")));
        assert_eq!(parse_pnr_name("ONO/YOKOMS"), Some(split("yoko", "ono")));
    }

    #[test]
    fn full_names_in_free_text() {
        assert_eq!(
            parse_full_name("Dr. Anna-Lena Müller"),
            split("anna lena", "mueller")
        );
        assert_eq!(parse_full_name("Müller, Anna"), split("anna", "mueller"));
        assert_eq!(parse_full_name("Cher"), split("", "cher"));
    }
}
