//! NYSIIS phonetic keys (New York State Identification and Intelligence System, Taft 1970).
//! Chosen over Soundex because it keeps more of the name (fewer unrelated names share a key) and
//! over Double Metaphone because its rules are short enough to audit; it is used for blocking
//! and as a "sounds alike" comparison level, where a handful of false collisions only costs a
//! comparison.

fn is_vowel(b: u8) -> bool {
    matches!(b, b'A' | b'E' | b'I' | b'O' | b'U')
}

/// The NYSIIS key of a (folded) name, without the historic six-letter truncation. Non-letters
/// are ignored; an empty key means the name had no Latin letters.
pub fn nysiis(name: &str) -> String {
    let mut s: Vec<u8> = name
        .bytes()
        .filter(u8::is_ascii_alphabetic)
        .map(|b| b.to_ascii_uppercase())
        .collect();
    if s.is_empty() {
        return String::new();
    }
    // Step 1: the start of the name.
    if s.starts_with(b"MAC") {
        s[1] = b'C';
    } else if s.starts_with(b"KN") {
        s[0] = b'N';
    } else if s[0] == b'K' {
        s[0] = b'C';
    } else if s.starts_with(b"PH") || s.starts_with(b"PF") {
        s[0] = b'F';
        s[1] = b'F';
    } else if s.starts_with(b"SCH") {
        s[1] = b'S';
        s[2] = b'S';
    }
    // Step 2: the end of the name.
    let n = s.len();
    if n >= 2 {
        let tail = [s[n - 2], s[n - 1]];
        if &tail == b"EE" || &tail == b"IE" {
            s.truncate(n - 2);
            s.push(b'Y');
        } else if matches!(&tail, b"DT" | b"RT" | b"RD" | b"NT" | b"ND") {
            s.truncate(n - 2);
            s.push(b'D');
        }
    }
    // Step 3: the first letter is kept; the rest is translated in place.
    let mut key = vec![s[0]];
    let mut i = 1;
    while i < s.len() {
        let rest = &s[i..];
        if rest.starts_with(b"EV") {
            s[i] = b'A';
            s[i + 1] = b'F';
        } else if is_vowel(s[i]) {
            s[i] = b'A';
        } else if s[i] == b'Q' {
            s[i] = b'G';
        } else if s[i] == b'Z' {
            s[i] = b'S';
        } else if s[i] == b'M' || rest.starts_with(b"KN") {
            s[i] = b'N';
        } else if s[i] == b'K' {
            s[i] = b'C';
        } else if rest.starts_with(b"SCH") {
            s[i + 1] = b'S';
            s[i + 2] = b'S';
        } else if rest.starts_with(b"PH") {
            s[i] = b'F';
            s[i + 1] = b'F';
        } else if (s[i] == b'H'
            && (!is_vowel(s[i - 1]) || s.get(i + 1).is_some_and(|&next| !is_vowel(next))))
            || (s[i] == b'W' && is_vowel(s[i - 1]))
        {
            s[i] = s[i - 1];
        }
        if key.last() != Some(&s[i]) {
            key.push(s[i]);
        }
        i += 1;
    }
    // Step 4: the end of the key.
    if key.len() > 1 && key.last() == Some(&b'S') {
        key.pop();
    }
    if key.len() > 2 && key.ends_with(b"AY") {
        key.truncate(key.len() - 2);
        key.push(b'Y');
    }
    if key.len() > 1 && key.last() == Some(&b'A') {
        key.pop();
    }
    String::from_utf8(key).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::nysiis;

    #[test]
    fn known_keys() {
        assert_eq!(nysiis("MACINTOSH"), "MCANT");
        assert_eq!(nysiis("KNUTH"), "NAT");
        assert_eq!(nysiis("PHILLIPSON"), "FALAPSAN");
        assert_eq!(nysiis(""), "");
    }

    #[test]
    fn spelling_variants_share_a_key() {
        assert_eq!(nysiis("johnson"), nysiis("jonson"));
        assert_eq!(nysiis("phillips"), nysiis("filips"));
        assert_eq!(nysiis("catherine"), nysiis("katherine"));
        assert_eq!(nysiis("mueller"), nysiis("muller"));
    }
}
