//! Jaro and Jaro–Winkler similarity, written here rather than taken from a crate so that the hot
//! loop works on the already-folded bytes without allocating: the match flags of both strings
//! live in two `u64` bit sets, which covers the first 64 characters — longer than any name or
//! address line that needs a fuzzy comparison (the tail beyond 64 is ignored).

const MAX: usize = 64;

/// Jaro similarity of two sequences in `[0, 1]`; 1 means identical, 0 no common characters.
pub fn jaro<T: PartialEq>(a: &[T], b: &[T]) -> f64 {
    let a = &a[..a.len().min(MAX)];
    let b = &b[..b.len().min(MAX)];
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut a_flags = 0u64;
    let mut b_flags = 0u64;
    let mut matches = 0usize;
    for (i, ca) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        for (j, cb) in b.iter().enumerate().take(hi).skip(lo) {
            if b_flags & (1 << j) == 0 && ca == cb {
                b_flags |= 1 << j;
                a_flags |= 1 << i;
                matches += 1;
                break;
            }
        }
    }
    finish(a, b, a_flags, b_flags, matches)
}

/// Jaro similarity of two ASCII byte strings, bit-parallel: a table holds, per byte value, the
/// positions where it occurs in `b`, so each character of `a` finds its first free match in the
/// window with a few bit operations instead of a scan.
fn jaro_ascii(a: &[u8], b: &[u8]) -> f64 {
    let a = &a[..a.len().min(MAX)];
    let b = &b[..b.len().min(MAX)];
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let mut positions = [0u64; 128];
    for (j, &c) in b.iter().enumerate() {
        positions[usize::from(c & 0x7f)] |= 1 << j;
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut a_flags = 0u64;
    let mut b_flags = 0u64;
    let mut matches = 0usize;
    for (i, &c) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        if lo >= hi {
            continue;
        }
        let in_window = (u64::MAX >> (64 - (hi - lo))) << lo;
        let free = positions[usize::from(c & 0x7f)] & in_window & !b_flags;
        if free != 0 {
            b_flags |= free & free.wrapping_neg();
            a_flags |= 1 << i;
            matches += 1;
        }
    }
    finish(a, b, a_flags, b_flags, matches)
}

/// Counts transpositions between the matched characters and combines the Jaro terms.
fn finish<T: PartialEq>(a: &[T], b: &[T], a_flags: u64, b_flags: u64, matches: usize) -> f64 {
    if matches == 0 {
        return 0.0;
    }
    let mut transpositions = 0usize;
    let mut rest_b = b_flags;
    let mut rest_a = a_flags;
    while rest_a != 0 {
        let i = rest_a.trailing_zeros() as usize;
        let j = rest_b.trailing_zeros() as usize;
        if a[i] != b[j] {
            transpositions += 1;
        }
        rest_a &= rest_a - 1;
        rest_b &= rest_b - 1;
    }
    let m = matches as f64;
    let t = (transpositions / 2) as f64;
    (m / a.len() as f64 + m / b.len() as f64 + (m - t) / m) / 3.0
}

fn winkler<T: PartialEq>(j: f64, a: &[T], b: &[T]) -> f64 {
    if j <= 0.7 {
        return j;
    }
    let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count() as f64;
    j + prefix * 0.1 * (1.0 - j)
}

/// Jaro–Winkler similarity: Jaro boosted by up to four characters of common prefix (scale 0.1),
/// because typing errors are rarer at the start of a name. As in Winkler's original, the boost
/// applies only when the Jaro similarity exceeds 0.7.
pub fn jaro_winkler_slices<T: PartialEq>(a: &[T], b: &[T]) -> f64 {
    winkler(jaro(a, b), a, b)
}

/// Jaro–Winkler similarity of two strings, comparing bytes when both are ASCII (the folded
/// values nearly always are) and characters otherwise.
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    if a.is_ascii() && b.is_ascii() {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        winkler(jaro_ascii(a, b), a, b)
    } else {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        jaro_winkler_slices(&a, &b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(x: f64, y: f64) -> bool {
        (x - y).abs() < 0.001
    }

    #[test]
    fn known_values() {
        // Winkler (1990) and the usual textbook examples.
        assert!(close(jaro_winkler("martha", "marhta"), 0.961));
        assert!(close(jaro_winkler("dwayne", "duane"), 0.840));
        assert!(close(jaro_winkler("dixon", "dicksonx"), 0.813));
        assert!(close(jaro(b"martha", b"marhta"), 0.944));
        assert!(close(jaro_winkler("abc", "abc"), 1.0));
        assert!(close(jaro_winkler("abc", "xyz"), 0.0));
        assert!(close(jaro_winkler("", ""), 1.0));
        assert!(close(jaro_winkler("a", ""), 0.0));
    }

    #[test]
    fn bit_parallel_agrees_with_the_scan() {
        let words = [
            "martha",
            "marhta",
            "dwayne",
            "duane",
            "dixon",
            "dicksonx",
            "summerdalemedicalcentre",
            "summerdaleemdicalcentre",
            "aaaa",
            "aaab",
            "abab",
            "baba",
            "x",
            "",
            "wojciechowski",
            "wojcichowsky",
        ];
        for a in words {
            for b in words {
                let slow = jaro(a.as_bytes(), b.as_bytes());
                assert!(
                    close(jaro_ascii(a.as_bytes(), b.as_bytes()), slow),
                    "{a} {b}"
                );
            }
        }
    }

    #[test]
    fn symmetric_and_unicode() {
        assert!(close(
            jaro_winkler("crate", "trace"),
            jaro_winkler("trace", "crate")
        ));
        assert!(close(
            jaro_winkler("müller", "müler"),
            jaro_winkler("muller", "muler")
        ));
    }
}
