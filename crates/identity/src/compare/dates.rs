//! Date-of-birth comparison. Dates are typed, misread and reordered: a day and month swapped
//! (04/09 for 09/04), one digit mistyped, two neighbouring digits exchanged. Those are "close";
//! two digits wrong is "partial"; anything else is a different date.

use crate::normalise::Dob;

/// How two dates of birth compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DobAgreement {
    /// Same digits.
    Exact,
    /// Day and month swapped, one digit different, or two adjacent digits exchanged.
    Close,
    /// Two digits different.
    Partial,
    /// Anything further apart.
    Different,
}

/// Compares two dates of birth.
pub fn compare_dob(a: &Dob, b: &Dob) -> DobAgreement {
    if a == b {
        return DobAgreement::Exact;
    }
    let (x, y) = (&a.0, &b.0);
    let swapped = x[..4] == y[..4] && x[4..6] == y[6..8] && x[6..8] == y[4..6];
    if swapped || within_one_edit(x, y) {
        return DobAgreement::Close;
    }
    let hamming = x.iter().zip(y).filter(|(p, q)| p != q).count();
    if hamming <= 2 {
        DobAgreement::Partial
    } else {
        DobAgreement::Different
    }
}

/// True when `a` and `b` differ by at most one substitution, one insertion or deletion, or one
/// exchange of adjacent characters (optimal string alignment distance ≤ 1).
pub fn within_one_edit<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    if a == b {
        return true;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    match long.len() - short.len() {
        0 => {
            // Positions of the first and second difference; a third means more than one edit.
            let mut diffs = (0..a.len()).filter(|&i| a[i] != b[i]);
            match (diffs.next(), diffs.next(), diffs.next()) {
                (Some(_), None, _) => true,
                (Some(i), Some(j), None) => j == i + 1 && a[i] == b[j] && a[j] == b[i],
                _ => false,
            }
        }
        1 => {
            let prefix = short.iter().zip(long).take_while(|(p, q)| p == q).count();
            short[prefix..] == long[prefix + 1..]
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> DobAgreement {
        compare_dob(
            &Dob(a.as_bytes().try_into().unwrap()),
            &Dob(b.as_bytes().try_into().unwrap()),
        )
    }

    #[test]
    fn levels() {
        assert_eq!(cmp("19560409", "19560409"), DobAgreement::Exact);
        assert_eq!(
            cmp("19560409", "19560904"),
            DobAgreement::Close,
            "day and month swapped"
        );
        assert_eq!(
            cmp("19560409", "19560408"),
            DobAgreement::Close,
            "one digit"
        );
        assert_eq!(
            cmp("19560409", "19650409"),
            DobAgreement::Close,
            "adjacent digits exchanged"
        );
        assert_eq!(cmp("19560409", "19570419"), DobAgreement::Partial);
        assert_eq!(cmp("19231110", "19500909"), DobAgreement::Different);
    }

    #[test]
    fn one_edit() {
        assert!(within_one_edit(b"150", b"105"));
        assert!(within_one_edit(b"2119", b"219"));
        assert!(within_one_edit(b"3178", b"3718"));
        assert!(!within_one_edit(b"2119", b"2911"));
        assert!(!within_one_edit(b"1", b"23"));
    }
}
