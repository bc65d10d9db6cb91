//! Dates of birth as eight digits `YYYYMMDD`. The digits are kept even when they are not a valid
//! calendar date (month `00`, day `35`): such values are typing errors of a real date, and the
//! comparison needs the digits to recognise the typo.

/// A date of birth as ASCII digits `YYYYMMDD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dob(pub [u8; 8]);

impl Dob {
    /// The year digits as a number.
    pub fn year(&self) -> u32 {
        self.0[..4]
            .iter()
            .fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
    }

    /// The digits as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn from_parts(year: &str, month: &str, day: &str) -> Option<Dob> {
    if year.len() != 4 || month.is_empty() || month.len() > 2 || day.is_empty() || day.len() > 2 {
        return None;
    }
    let mut out = [b'0'; 8];
    out[..4].copy_from_slice(year.as_bytes());
    out[6 - month.len()..6].copy_from_slice(month.as_bytes());
    out[8 - day.len()..8].copy_from_slice(day.as_bytes());
    out.iter().all(u8::is_ascii_digit).then_some(Dob(out))
}

/// Parses a date of birth: `YYYYMMDD`, `YYYY-MM-DD`, `YYYY/MM/DD`, `DD/MM/YYYY`, `DD.MM.YYYY`,
/// `DD-MM-YYYY` (day first: the European and Australian order; month-first American dates
/// must be converted by the feed) and the airline form `09APR1956`. Two-digit years are
/// refused because the century cannot be known for a date of birth.
pub fn parse_dob(raw: &str) -> Option<Dob> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        return from_parts(&s[..4], &s[4..6], &s[6..]);
    }
    // Time of day after a date ("1956-04-09T00:00:00") is ignored.
    let s = s.split(['T', ' ']).next().unwrap_or(s);
    let parts: Vec<&str> = s.split(['-', '/', '.']).filter(|p| !p.is_empty()).collect();
    if parts.len() == 3 {
        if parts[0].len() == 4 {
            return from_parts(parts[0], parts[1], parts[2]);
        }
        if parts[2].len() == 4 {
            let month = month_number(parts[1]);
            return from_parts(parts[2], month.as_deref().unwrap_or(parts[1]), parts[0]);
        }
        return None;
    }
    // 09APR1956
    let lower = s.to_ascii_lowercase();
    let digits_end = lower.find(|c: char| !c.is_ascii_digit())?;
    let (day, rest) = lower.split_at(digits_end);
    if rest.len() == 7 {
        let month = month_number(&rest[..3])?;
        return from_parts(&rest[3..], &month, day);
    }
    None
}

fn month_number(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|m| lower.starts_with(m) && lower.len() >= 3)
        .map(|i| format!("{:02}", i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dob(s: &str) -> Option<String> {
        parse_dob(s).map(|d| d.as_str().to_owned())
    }

    #[test]
    fn layouts() {
        assert_eq!(dob("19560409").as_deref(), Some("19560409"));
        assert_eq!(dob("1956-04-09").as_deref(), Some("19560409"));
        assert_eq!(dob("1956-4-9").as_deref(), Some("19560409"));
        assert_eq!(dob("09/04/1956").as_deref(), Some("19560409"));
        assert_eq!(dob("9.4.1956").as_deref(), Some("19560409"));
        assert_eq!(dob("09APR1956").as_deref(), Some("19560409"));
        assert_eq!(dob("09-Apr-1956").as_deref(), Some("19560409"));
        assert_eq!(dob("1956-04-09T00:00:00Z").as_deref(), Some("19560409"));
    }

    #[test]
    fn keeps_impossible_digits_and_refuses_two_digit_years() {
        assert_eq!(dob("19230085").as_deref(), Some("19230085"));
        assert_eq!(dob("09/04/56"), None);
        assert_eq!(dob("garbage"), None);
        assert_eq!(Dob(*b"19560409").year(), 1956);
    }
}
