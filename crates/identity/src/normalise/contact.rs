//! E-mail addresses, telephone numbers and document numbers reduced to the form that two
//! spellings of the same thing share.

/// Normalises an e-mail address: trimmed, lowercased; sub-address tags (`+travel`) removed for
/// every domain because the mailbox is the same; dots removed from Gmail local parts because
/// Gmail ignores them. Returns `None` when there is no `local@domain` shape.
pub fn normalise_email(raw: &str) -> Option<String> {
    let lower = raw.trim().to_lowercase();
    let (local, domain) = lower.rsplit_once('@')?;
    let domain = domain.trim_end_matches('.');
    if local.is_empty() || domain.is_empty() || !domain.contains('.') {
        return None;
    }
    let local = local.split('+').next().unwrap_or(local);
    let (local, domain) = if domain == "gmail.com" || domain == "googlemail.com" {
        (local.replace('.', ""), "gmail.com")
    } else {
        (local.to_owned(), domain)
    };
    if local.is_empty() {
        return None;
    }
    Some(format!("{local}@{domain}"))
}

/// Normalises a telephone number to its last nine digits (after dropping every non-digit).
/// Nine digits identify a subscriber in nearly every numbering plan while dropping the country
/// code and trunk prefix, so `+61 412 345 678` and `0412 345 678` agree. Numbers with fewer than
/// six digits are not numbers.
pub fn normalise_phone(raw: &str) -> Option<String> {
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 6 {
        return None;
    }
    let start = digits.len().saturating_sub(9);
    Some(digits[start..].to_owned())
}

/// Normalises an identifier (loyalty, passport, booking reference, postcode): ASCII letters and
/// digits only, uppercase. Returns `None` when nothing is left.
pub fn normalise_code(raw: &str) -> Option<String> {
    let code: String = raw
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (!code.is_empty()).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_dots_and_plus_tags() {
        assert_eq!(
            normalise_email(" John.Smith+trips@GoogleMail.com ").as_deref(),
            Some("johnsmith@gmail.com")
        );
        assert_eq!(
            normalise_email("a.b+x@example.org").as_deref(),
            Some("a.b@example.org")
        );
        assert_eq!(normalise_email("no-at-sign"), None);
        assert_eq!(normalise_email("x@localhost"), None);
    }

    #[test]
    fn phone_formats_agree() {
        assert_eq!(
            normalise_phone("+61 412 345 678"),
            normalise_phone("0412-345-678")
        );
        assert_eq!(
            normalise_phone("(0041) 79 123 45 67").as_deref(),
            Some("791234567")
        );
        assert_eq!(normalise_phone("12345"), None);
    }

    #[test]
    fn codes_are_uppercase_alphanumeric() {
        assert_eq!(normalise_code(" ab-12 34 ").as_deref(), Some("AB1234"));
        assert_eq!(normalise_code(" - "), None);
    }
}
