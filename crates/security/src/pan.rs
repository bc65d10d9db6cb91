//! Card-number hygiene for free text (PCI DSS): finds primary account numbers (PANs) that
//! agents or passengers typed into notes, messages and case descriptions, so they can be masked
//! before the text is stored, logged or sent on.
//!
//! A digit sequence counts as a PAN only when all of these hold, which keeps phone numbers,
//! booking references, dates and IBANs from being mangled:
//! - 13–19 ASCII digits, written either unbroken or in groups joined by a single space or `-`
//!   (`4111 1111 1111 1111`, `4111-1111-1111-1111`);
//! - the Luhn check digit is right;
//! - the leading digits and the length fit a network in [`ISSUER_RANGES`];
//! - it is not part of a longer token: the characters just outside are not ASCII letters or
//!   digits (of any script). Only *ASCII* letters block a match, because Chinese and Japanese
//!   text runs words together without spaces and a card number in such text must still be
//!   found.
//!
//! Within a longer run of digit groups (say a number followed by an expiry month), any run of
//! whole groups may be the card; the leftmost, then longest, candidate wins. An unbroken digit
//! run is never split: a 25-digit reference number is not a card.
//!
//! Over-matching is the safe failure here: a masked reference number costs a second look, a
//! stored PAN costs PCI scope.

use std::ops::Range;

/// A card network, named for the masked-text audit trail and for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardNetwork {
    /// Visa: prefix 4.
    Visa,
    /// Mastercard: 51–55 and 2221–2720.
    Mastercard,
    /// American Express: 34 and 37, always 15 digits.
    Amex,
    /// Discover: 6011, 644–649, 65.
    Discover,
    /// JCB: 3528–3589.
    Jcb,
    /// Diners Club: 300–305, 36, 38–39.
    Diners,
    /// UnionPay: 62.
    UnionPay,
    /// Maestro: 50 and 56–69 (where no network above claims the number).
    Maestro,
}

/// One row of the issuer table: numbers whose first `prefix_digits` digits, read as a number,
/// lie in `low..=high`, and whose length lies in `lengths`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssuerRange {
    /// The network.
    pub network: CardNetwork,
    /// How many leading digits the range speaks about.
    pub prefix_digits: u32,
    /// Lowest prefix value, inclusive.
    pub low: u32,
    /// Highest prefix value, inclusive.
    pub high: u32,
    /// Shortest PAN length, inclusive.
    pub min_len: usize,
    /// Longest PAN length, inclusive.
    pub max_len: usize,
}

/// Shorthand for the table below.
const fn range(
    network: CardNetwork,
    prefix_digits: u32,
    low: u32,
    high: u32,
    min_len: usize,
    max_len: usize,
) -> IssuerRange {
    IssuerRange {
        network,
        prefix_digits,
        low,
        high,
        min_len,
        max_len,
    }
}

/// The issuer identification ranges recognised, from the networks' published IIN tables.
///
/// | Network    | Leading digits               | Lengths |
/// |------------|------------------------------|---------|
/// | Visa       | 4                            | 13–19   |
/// | Mastercard | 51–55, 2221–2720             | 16      |
/// | Amex       | 34, 37                       | 15      |
/// | Discover   | 6011, 644–649, 65            | 16–19   |
/// | JCB        | 3528–3589                    | 16–19   |
/// | Diners     | 300–305, 36, 38–39           | 14–19   |
/// | UnionPay   | 62                           | 16–19   |
/// | Maestro    | 50, 56–69                    | 13–19   |
///
/// Visa has issued 13-, 16- and 19-digit numbers; every length between is accepted so that no
/// odd-length Visa number slips through. Rows are checked in order, so Discover and UnionPay
/// claim their prefixes before the Maestro catch-all.
pub const ISSUER_RANGES: &[IssuerRange] = &[
    range(CardNetwork::Visa, 1, 4, 4, 13, 19),
    range(CardNetwork::Mastercard, 2, 51, 55, 16, 16),
    range(CardNetwork::Mastercard, 4, 2221, 2720, 16, 16),
    range(CardNetwork::Amex, 2, 34, 34, 15, 15),
    range(CardNetwork::Amex, 2, 37, 37, 15, 15),
    range(CardNetwork::Discover, 4, 6011, 6011, 16, 19),
    range(CardNetwork::Discover, 3, 644, 649, 16, 19),
    range(CardNetwork::Discover, 2, 65, 65, 16, 19),
    range(CardNetwork::Jcb, 4, 3528, 3589, 16, 19),
    range(CardNetwork::Diners, 3, 300, 305, 14, 19),
    range(CardNetwork::Diners, 2, 36, 36, 14, 19),
    range(CardNetwork::Diners, 2, 38, 39, 14, 19),
    range(CardNetwork::UnionPay, 2, 62, 62, 16, 19),
    range(CardNetwork::Maestro, 2, 50, 50, 13, 19),
    range(CardNetwork::Maestro, 2, 56, 69, 13, 19),
];

/// The shortest and longest PANs looked for.
const PAN_LENGTHS: std::ops::RangeInclusive<usize> = 13..=19;

/// How many leading and trailing digits PCI DSS allows to be displayed.
const SHOWN_FIRST: usize = 6;
const SHOWN_LAST: usize = 4;

/// Whether the digits pass the Luhn (mod 10) check. Non-digits make it fail.
pub fn luhn_valid(digits: &str) -> bool {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The network whose range and length fit these digits (ignoring the Luhn check), if any.
pub fn card_network(digits: &str) -> Option<CardNetwork> {
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    ISSUER_RANGES
        .iter()
        .find(|r| {
            let n = r.prefix_digits as usize;
            (r.min_len..=r.max_len).contains(&digits.len())
                && digits.len() >= n
                && digits[..n]
                    .parse::<u32>()
                    .is_ok_and(|p| (r.low..=r.high).contains(&p))
        })
        .map(|r| r.network)
}

/// Whether these bare digits are a plausible PAN: length, Luhn and issuer range.
pub fn is_card_number(digits: &str) -> bool {
    PAN_LENGTHS.contains(&digits.len()) && luhn_valid(digits) && card_network(digits).is_some()
}

/// Whether a character next to a candidate makes it part of a longer token.
fn joins_token(c: char) -> bool {
    c.is_ascii_alphanumeric() || c.is_numeric()
}

/// The byte ranges of the card numbers in `text`, in order and non-overlapping. Ranges start and
/// end on ASCII digits, so they are always on UTF-8 character boundaries.
pub fn find_card_numbers(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        // Collect one chain of digit groups joined by single separators.
        let mut groups: Vec<Range<usize>> = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            groups.push(start..j);
            let joined = j + 1 < bytes.len()
                && matches!(bytes[j], b' ' | b'-')
                && bytes[j + 1].is_ascii_digit();
            if !joined {
                break;
            }
            j += 1;
        }
        scan_chain(text, &groups, &mut found);
        i = j;
    }
    found
}

/// Finds card numbers made of whole groups of one chain, leftmost first, longest first.
fn scan_chain(text: &str, groups: &[Range<usize>], found: &mut Vec<Range<usize>>) {
    let mut first = 0;
    while first < groups.len() {
        let matched = (first..groups.len()).rev().find(|&last| {
            let span = groups[first].start..groups[last].end;
            let digits: String = groups[first..=last]
                .iter()
                .map(|g| &text[g.clone()])
                .collect();
            is_card_number(&digits) && stands_alone(text, &span)
        });
        match matched {
            Some(last) => {
                found.push(groups[first].start..groups[last].end);
                first = last + 1;
            }
            None => first += 1,
        }
    }
}

/// Whether the characters just outside `span` leave it a token of its own.
fn stands_alone(text: &str, span: &Range<usize>) -> bool {
    let before = text[..span.start].chars().next_back();
    let after = text[span.end..].chars().next();
    !before.is_some_and(joins_token) && !after.is_some_and(joins_token)
}

/// Masks a card number for display, keeping the first six and last four digits
/// (`411111******1111`): PCI DSS requirement 3.4.1 permits showing at most these digits.
/// Separators are dropped. Anything with fewer than 13 digits is not a PAN and is masked
/// entirely, since six plus four would show nearly all of it.
pub fn mask_pan(pan: &str) -> String {
    let digits: Vec<char> = pan.chars().filter(char::is_ascii_digit).collect();
    let n = digits.len();
    if n < *PAN_LENGTHS.start() {
        return "*".repeat(n);
    }
    digits
        .iter()
        .enumerate()
        .map(|(i, d)| {
            if i < SHOWN_FIRST || i >= n - SHOWN_LAST {
                *d
            } else {
                '*'
            }
        })
        .collect()
}

/// Replaces every card number in `text` with its [`mask_pan`] form; returns the new text and
/// how many numbers were masked (for the audit log, which records the count, never the digits).
pub fn redact_card_numbers(text: &str) -> (String, usize) {
    let ranges = find_card_numbers(text);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for r in &ranges {
        out.push_str(&text[at..r.start]);
        out.push_str(&mask_pan(&text[r.clone()]));
        at = r.end;
    }
    out.push_str(&text[at..]);
    (out, ranges.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The networks' published test card numbers.
    const TEST_PANS: &[(&str, CardNetwork)] = &[
        ("4111111111111111", CardNetwork::Visa),
        ("4012888888881881", CardNetwork::Visa),
        ("4222222222222", CardNetwork::Visa),
        ("5555555555554444", CardNetwork::Mastercard),
        ("5105105105105100", CardNetwork::Mastercard),
        ("2223003122003222", CardNetwork::Mastercard),
        ("378282246310005", CardNetwork::Amex),
        ("371449635398431", CardNetwork::Amex),
        ("6011111111111117", CardNetwork::Discover),
        ("6011000990139424", CardNetwork::Discover),
        ("3530111333300000", CardNetwork::Jcb),
        ("3566002020360505", CardNetwork::Jcb),
        ("30569309025904", CardNetwork::Diners),
        ("38520000023237", CardNetwork::Diners),
        ("6200000000000005", CardNetwork::UnionPay),
        ("6759649826438453", CardNetwork::Maestro),
    ];

    /// The matched substrings, for readable assertions.
    fn found(text: &str) -> Vec<&str> {
        find_card_numbers(text)
            .into_iter()
            .map(|r| &text[r])
            .collect()
    }

    #[test]
    fn published_test_pans_are_recognised() {
        for &(pan, network) in TEST_PANS {
            assert!(luhn_valid(pan), "{pan}");
            assert_eq!(card_network(pan), Some(network), "{pan}");
            assert_eq!(found(pan), [pan], "{pan}");
        }
    }

    #[test]
    fn grouped_forms_are_found() {
        let table = [
            ("card 4111 1111 1111 1111 thanks", "4111 1111 1111 1111"),
            ("card: 5555-5555-5555-4444.", "5555-5555-5555-4444"),
            ("amex 3782 822463 10005", "3782 822463 10005"),
            ("(6011111111111117)", "6011111111111117"),
            ("jcb=3530111333300000;", "3530111333300000"),
            ("mc 2223003122003222", "2223003122003222"),
            // Expiry after the number joins the chain; whole groups are still tried.
            ("4111 1111 1111 1111 12 27", "4111 1111 1111 1111"),
            ("ref 12 4111 1111 1111 1111", "4111 1111 1111 1111"),
        ];
        for (text, want) in table {
            assert_eq!(found(text), [want], "{text}");
        }
    }

    #[test]
    fn non_cards_are_left_alone() {
        let texts = [
            // Luhn failures.
            "4111 1111 1111 1112",
            "5555555555554445",
            "378282246310006",
            // Luhn-valid but no issuer range (prefix 1, 7, 8, 9) or wrong length for it.
            "1111111111111117",
            "9999999999999995",
            "37828224631000",
            "555555555555444",
            // Phone numbers, IBANs, PNRs, dates, times, amounts.
            "+44 20 7946 0958",
            "+1 (415) 555-0132",
            "+86 138 0013 8000",
            "GB29 NWBK 6016 1331 9268 19",
            "GB29NWBK60161331926819",
            "DE89 3704 0044 0532 0130 00",
            "DE89370400440532013000",
            "PNR X7K4QZ, ticket 176-2401234567",
            "2024-05-12 2024-06-13",
            "12/05/2024 14:30",
            "EUR 1 234 567,89",
            // Embedded in longer digit runs or joined to letters.
            "4111111111111111111111111",
            "0004111111111111111",
            "41111111111111110",
            "A4111111111111111",
            "4111111111111111x",
            "ref4111-1111-1111-1111",
            "4111 1111 1111 1111abc",
            "٣4111111111111111",
            "4111111111111111٣",
        ];
        for text in texts {
            assert_eq!(found(text), Vec::<&str>::new(), "{text}");
        }
    }

    #[test]
    fn several_cards_in_one_text() {
        let text = "first 4111111111111111, second 5555-5555-5555-4444 and 378282246310005.";
        assert_eq!(
            found(text),
            ["4111111111111111", "5555-5555-5555-4444", "378282246310005"]
        );
        let (redacted, count) = redact_card_numbers(text);
        assert_eq!(count, 3);
        assert_eq!(
            redacted,
            "first 411111******1111, second 555555******4444 and 378282*****0005."
        );
    }

    #[test]
    fn byte_ranges_respect_utf8_in_other_scripts() {
        let arabic = "رقم البطاقة 4111 1111 1111 1111 شكرا";
        let ranges = find_card_numbers(arabic);
        assert_eq!(ranges.len(), 1);
        assert_eq!(&arabic[ranges[0].clone()], "4111 1111 1111 1111");
        assert_eq!(
            redact_card_numbers(arabic).0,
            "رقم البطاقة 411111******1111 شكرا"
        );

        // No spaces around the number, as is usual in Chinese.
        let chinese = "我的卡号是4111111111111111，谢谢";
        assert_eq!(found(chinese), ["4111111111111111"]);
        assert_eq!(
            redact_card_numbers(chinese),
            ("我的卡号是411111******1111，谢谢".into(), 1)
        );

        let japanese = "カード番号：5555-5555-5555-4444です";
        assert_eq!(
            redact_card_numbers(japanese).0,
            "カード番号：555555******4444です"
        );
    }

    #[test]
    fn masking_keeps_first_six_and_last_four() {
        assert_eq!(mask_pan("4111111111111111"), "411111******1111");
        assert_eq!(mask_pan("4111-1111-1111-1111"), "411111******1111");
        assert_eq!(mask_pan("378282246310005"), "378282*****0005");
        assert_eq!(mask_pan("4222222222222"), "422222***2222");
        assert_eq!(mask_pan("6759649826438453123"), "675964*********3123");
        assert_eq!(mask_pan("123456789012"), "************");
        assert_eq!(mask_pan(""), "");
    }

    #[test]
    fn redaction_without_cards_changes_nothing() {
        let text = "Passenger asked to move seat 12C; call +44 20 7946 0958.";
        assert_eq!(redact_card_numbers(text), (text.to_string(), 0));
    }

    #[test]
    fn luhn_edge_cases() {
        assert!(luhn_valid("0"));
        assert!(luhn_valid("79927398713"));
        assert!(!luhn_valid("79927398710"));
        assert!(!luhn_valid(""));
        assert!(!luhn_valid("4111 1111 1111 1111"));
    }
}
