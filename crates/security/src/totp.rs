//! The second sign-in factor: time-based one-time passwords (TOTP, RFC 6238) computed over
//! HMAC-based one-time passwords (HOTP, RFC 4226), plus one-time recovery codes for staff who
//! lose their authenticator.
//!
//! The parameters are the ones every authenticator app understands without configuration:
//! HMAC-SHA1, 6 digits, 30-second steps. SHA-1's collision weakness does not affect HMAC.
//!
//! Invariants:
//! - Secrets are 160 random bits (the size RFC 4226 recommends), zeroized when dropped and never
//!   shown by `Debug`.
//! - Codes are compared in constant time.
//! - [`verify`] returns the time step that matched. A code stays valid for the whole skew window,
//!   so the caller must store the last accepted step per user and refuse any code whose step is
//!   not greater (RFC 6238 §5.2: a verified code must not be accepted a second time).

use std::fmt;

use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha1::Sha1;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::rng;

/// Digits per code: what authenticator apps show by default.
pub const DIGITS: u32 = 6;

/// Seconds per time step: what authenticator apps use by default.
pub const STEP_SECONDS: u64 = 30;

/// Secret length in bytes (160 bits), as RFC 4226 §4 recommends.
pub const SECRET_BYTES: usize = 20;

/// The shortest secret accepted when importing (128 bits, RFC 4226 §4 requirement R6).
pub const MIN_SECRET_BYTES: usize = 16;

/// The widest skew window [`verify`] honours, in steps each side: wider windows only help an
/// attacker guess, so larger requests are clamped to this.
pub const MAX_SKEW_STEPS: u64 = 10;

/// Codes in one batch of [`recovery_codes`] that most products hand out.
pub const RECOVERY_CODE_COUNT: usize = 10;

/// Why a TOTP secret could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    /// The text is not RFC 4648 base32.
    #[error("the secret is not base32 (letters A–Z and digits 2–7)")]
    InvalidBase32,
    /// The secret is shorter than RFC 4226 allows.
    #[error("the secret must be at least 128 bits long")]
    SecretTooShort,
}

/// A shared TOTP secret. Zeroized on drop; `Debug` shows nothing of it.
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl TotpSecret {
    /// A fresh random 160-bit secret, for enrolling a user.
    pub fn generate() -> Self {
        Self(Zeroizing::new(rng::array::<SECRET_BYTES>().to_vec()))
    }

    /// Wraps raw secret bytes (for example after decrypting a stored secret).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TotpError> {
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(TotpError::SecretTooShort);
        }
        Ok(Self(Zeroizing::new(bytes.to_vec())))
    }

    /// Reads the base32 form users and authenticator apps exchange (see [`base32_decode`]).
    pub fn from_base32(text: &str) -> Result<Self, TotpError> {
        let bytes = Zeroizing::new(base32_decode(text)?);
        Self::from_bytes(&bytes)
    }

    /// The base32 form, for the enrolment QR code or manual entry. It is the secret itself.
    pub fn to_base32(&self) -> Zeroizing<String> {
        Zeroizing::new(base32_encode(&self.0))
    }

    /// The raw bytes, for encrypting the secret at rest.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

/// The RFC 4648 base32 alphabet.
const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without `=` padding: the form authenticator apps expect for secrets.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(
                BASE32_ALPHABET[((buffer >> bits) & 31) as usize],
            ));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(
            BASE32_ALPHABET[((buffer << (5 - bits)) & 31) as usize],
        ));
    }
    out
}

/// Decodes RFC 4648 base32 as people type it: either case, with or without trailing `=`
/// padding, with spaces or hyphens between groups. Lengths that no byte string encodes to
/// are refused.
pub fn base32_decode(text: &str) -> Result<Vec<u8>, TotpError> {
    let trimmed = text.trim().trim_end_matches('=');
    let mut out = Vec::with_capacity(trimmed.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    let mut symbols = 0usize;
    for c in trimmed.chars() {
        let value = match c {
            'A'..='Z' => c as u32 - 'A' as u32,
            'a'..='z' => c as u32 - 'a' as u32,
            '2'..='7' => c as u32 - '2' as u32 + 26,
            ' ' | '-' => continue,
            _ => return Err(TotpError::InvalidBase32),
        };
        symbols += 1;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
        buffer &= (1 << bits) - 1;
    }
    // 8 symbols carry 5 bytes; a final group of 1, 3 or 6 symbols cannot come from any input.
    if matches!(symbols % 8, 1 | 3 | 6) {
        return Err(TotpError::InvalidBase32);
    }
    Ok(out)
}

/// RFC 4226 §5.3: HMAC-SHA1 over the big-endian counter, dynamic truncation, `digits` digits.
fn hotp(key: &[u8], counter: u64, digits: u32) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let word = [
        digest[offset],
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ];
    let binary = u32::from_be_bytes(word) & 0x7fff_ffff;
    binary % 10u32.pow(digits)
}

/// Zero-pads a code to its digit count.
fn format_code(value: u32, digits: u32) -> String {
    format!("{value:0width$}", width = digits as usize)
}

/// The time step (RFC 6238 `T`) that contains `unix_time`.
pub fn step_at(unix_time: u64) -> u64 {
    unix_time / STEP_SECONDS
}

/// The code an authenticator app shows at `unix_time` (seconds since the Unix epoch).
pub fn code_at(secret: &TotpSecret, unix_time: u64) -> String {
    format_code(hotp(&secret.0, step_at(unix_time), DIGITS), DIGITS)
}

/// Checks a code typed by the user, allowing `allowed_skew_steps` steps of clock drift either
/// side (1 is usual; at most [`MAX_SKEW_STEPS`]). Spaces in the code are ignored.
///
/// Returns the matched time step, nearest to now first. **The caller must refuse reuse**: store
/// the step with the user, and on the next sign-in treat a returned step that is not greater
/// than the stored one as a failure. Otherwise a code seen over someone's shoulder works again
/// for the rest of the window.
///
/// Every candidate step is computed and compared in constant time, so the response time says
/// nothing about how close a wrong code was.
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    unix_time: u64,
    allowed_skew_steps: u64,
) -> Option<u64> {
    let typed: Zeroizing<String> = Zeroizing::new(code.chars().filter(|c| *c != ' ').collect());
    if typed.len() != DIGITS as usize || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(unix_time);
    let skew = allowed_skew_steps.min(MAX_SKEW_STEPS);
    let mut matched = None;
    for distance in 0..=skew {
        let candidates = [now.checked_sub(distance), now.checked_add(distance)];
        let candidates = if distance == 0 {
            &candidates[..1]
        } else {
            &candidates[..]
        };
        for step in candidates.iter().flatten().copied() {
            let expected = Zeroizing::new(format_code(hotp(&secret.0, step, DIGITS), DIGITS));
            let equal: bool = expected.as_bytes().ct_eq(typed.as_bytes()).into();
            if equal && matched.is_none() {
                matched = Some(step);
            }
        }
    }
    matched
}

/// Characters left unescaped in `otpauth` URIs: RFC 3986 unreserved characters.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The enrolment URI to show as a QR code (Google Authenticator "Key Uri Format"):
/// `otpauth://totp/Issuer:account?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`, with
/// issuer and account percent-encoded (so a `:` in either cannot move the label separator).
///
/// The URI contains the secret: show it once, never log it.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &TotpSecret) -> String {
    let issuer = utf8_percent_encode(issuer, URI_COMPONENT);
    let account = utf8_percent_encode(account, URI_COMPONENT);
    let secret = secret.to_base32();
    format!(
        "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}\
         &algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        secret.as_str()
    )
}

/// Recovery-code characters: lower-case letters and digits without `0 o 1 i l`, which people
/// misread when copying codes from paper.
const RECOVERY_ALPHABET: &[u8; 31] = b"23456789abcdefghjkmnpqrstuvwxyz";

/// Characters per recovery code, without hyphens: 12 × log2(31) ≈ 59 bits, far beyond online
/// guessing with the attempt limits a sign-in applies.
const RECOVERY_CODE_CHARS: usize = 12;

/// `n` fresh one-time recovery codes, each `xxxx-xxxx-xxxx`, for signing in without the
/// authenticator. Show them to the user once; store only their hashes (for example with
/// [`crate::password::hash_password`] over [`normalize_recovery_code`]) and delete each on use.
pub fn recovery_codes(n: usize) -> Vec<String> {
    (0..n).map(|_| recovery_code()).collect()
}

/// One recovery code, drawn without modulo bias by rejection sampling.
fn recovery_code() -> String {
    // The largest multiple of 31 that fits in a byte: bytes at or above it are redrawn.
    const LIMIT: u8 = (256 / RECOVERY_ALPHABET.len() * RECOVERY_ALPHABET.len()) as u8;
    let mut chars = Vec::with_capacity(RECOVERY_CODE_CHARS);
    while chars.len() < RECOVERY_CODE_CHARS {
        let mut pool = [0u8; 16];
        rng::fill(&mut pool);
        for byte in pool {
            if byte < LIMIT && chars.len() < RECOVERY_CODE_CHARS {
                chars.push(RECOVERY_ALPHABET[usize::from(byte) % RECOVERY_ALPHABET.len()]);
            }
        }
    }
    chars
        .chunks(4)
        .map(|group| group.iter().copied().map(char::from).collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// The canonical `xxxx-xxxx-xxxx` form of a recovery code as typed (any case, with or without
/// hyphens and spaces), or `None` if it cannot be one. Hash this form, so that typing style does
/// not matter.
pub fn normalize_recovery_code(typed: &str) -> Option<String> {
    let chars: Vec<u8> = typed
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            u8::try_from(c)
                .ok()
                .filter(|b| RECOVERY_ALPHABET.contains(b))
        })
        .collect::<Option<_>>()?;
    if chars.len() != RECOVERY_CODE_CHARS {
        return None;
    }
    let groups: Vec<&str> = chars
        .chunks(4)
        .map(|g| std::str::from_utf8(g).expect("the alphabet is ASCII"))
        .collect();
    Some(groups.join("-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ASCII secret of RFC 4226 Appendix D and RFC 6238 Appendix B (SHA-1).
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(RFC_SECRET).unwrap()
    }

    #[test]
    fn rfc4226_appendix_d_hotp_values() {
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, want) in expected.into_iter().enumerate() {
            assert_eq!(
                hotp(RFC_SECRET, counter as u64, 6),
                want,
                "counter {counter}"
            );
        }
    }

    #[test]
    fn rfc6238_appendix_b_sha1_values() {
        let table: [(u64, &str); 6] = [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ];
        let secret = rfc_secret();
        for (time, eight) in table {
            assert_eq!(
                format_code(hotp(RFC_SECRET, time / 30, 8), 8),
                eight,
                "t={time}"
            );
            // Six digits are the same truncated value modulo 10^6: the last six digits.
            assert_eq!(code_at(&secret, time), &eight[2..], "t={time}");
        }
    }

    #[test]
    fn rfc4648_base32_vectors_without_padding() {
        let table = [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ];
        for (plain, encoded) in table {
            assert_eq!(base32_encode(plain.as_bytes()), encoded);
            assert_eq!(base32_decode(encoded).unwrap(), plain.as_bytes());
        }
        assert_eq!(base32_decode("MZXW6YTBOI======").unwrap(), b"foobar");
        assert_eq!(base32_decode("mzxw 6ytb-oi").unwrap(), b"foobar");
        assert_eq!(
            base32_encode(RFC_SECRET),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
    }

    #[test]
    fn base32_refuses_foreign_characters_and_impossible_lengths() {
        for bad in ["MZXW1", "MZXW0", "MZ!W", "M", "MZX", "MZXW6Y", "MZXW6YTBM"] {
            assert_eq!(base32_decode(bad), Err(TotpError::InvalidBase32), "{bad}");
        }
    }

    #[test]
    fn secrets_round_trip_and_stay_hidden() {
        let secret = TotpSecret::generate();
        assert_eq!(secret.as_bytes().len(), SECRET_BYTES);
        let again = TotpSecret::from_base32(&secret.to_base32()).unwrap();
        assert_eq!(again.as_bytes(), secret.as_bytes());
        assert_eq!(format!("{secret:?}"), "TotpSecret(..)");
        assert_ne!(TotpSecret::generate().as_bytes(), secret.as_bytes());
        assert_eq!(
            TotpSecret::from_bytes(&[1; 15]).unwrap_err(),
            TotpError::SecretTooShort
        );
    }

    #[test]
    fn verify_accepts_the_current_code_and_returns_its_step() {
        let secret = rfc_secret();
        assert_eq!(
            verify(&secret, "005924", 1234567890, 0),
            Some(1234567890 / 30)
        );
        assert_eq!(
            verify(&secret, " 005 924 ", 1234567890, 1),
            Some(1234567890 / 30)
        );
    }

    #[test]
    fn verify_honours_the_skew_window_and_nothing_beyond() {
        let secret = rfc_secret();
        let t = 1_700_000_000;
        for offset in [-2i64, -1, 1, 2] {
            let step = (step_at(t) as i64 + offset) as u64;
            let code = code_at(&secret, step * STEP_SECONDS);
            let inside = offset.unsigned_abs() <= 1;
            let got = verify(&secret, &code, t, 1);
            assert_eq!(got, inside.then_some(step), "offset {offset}");
            assert_eq!(verify(&secret, &code, t, 2), Some(step), "offset {offset}");
        }
        // A code from the previous step matches at that step, so a caller that stored the
        // current step after a sign-in refuses it.
        let previous = code_at(&secret, t - STEP_SECONDS);
        assert_eq!(verify(&secret, &previous, t, 1), Some(step_at(t) - 1));
    }

    #[test]
    fn verify_refuses_wrong_and_malformed_codes() {
        let secret = rfc_secret();
        let t = 1234567890;
        for bad in [
            "005925",
            "00592",
            "0059244",
            "abcdef",
            "",
            "００５９２４",
            "005924\n",
        ] {
            assert_eq!(verify(&secret, bad, t, 1), None, "{bad:?}");
        }
        let other = TotpSecret::from_bytes(b"09876543210987654321").unwrap();
        assert_eq!(verify(&other, "005924", t, 1), None);
    }

    #[test]
    fn verify_near_the_epoch_does_not_underflow() {
        let secret = rfc_secret();
        let code = code_at(&secret, 0);
        assert_eq!(verify(&secret, &code, 0, u64::MAX), Some(0));
    }

    #[test]
    fn otpauth_uri_is_percent_encoded() {
        let secret = rfc_secret();
        let uri = otpauth_uri("Aloft Air", "agent.ana@example.com", &secret);
        assert_eq!(
            uri,
            "otpauth://totp/Aloft%20Air:agent.ana%40example.com\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Aloft%20Air\
             &algorithm=SHA1&digits=6&period=30"
        );
        let tricky = otpauth_uri("A:B&c=d", "ü", &secret);
        assert!(tricky.starts_with("otpauth://totp/A%3AB%26c%3Dd:%C3%BC?secret="));
    }

    #[test]
    fn recovery_codes_have_the_promised_shape() {
        let codes = recovery_codes(RECOVERY_CODE_COUNT);
        assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
        for code in &codes {
            assert_eq!(code.len(), 14, "{code}");
            let parts: Vec<&str> = code.split('-').collect();
            assert_eq!(parts.len(), 3);
            assert!(parts.iter().all(|p| p.len() == 4));
            assert!(
                code.bytes()
                    .filter(|b| *b != b'-')
                    .all(|b| RECOVERY_ALPHABET.contains(&b))
            );
            assert_eq!(
                normalize_recovery_code(code).as_deref(),
                Some(code.as_str())
            );
        }
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), codes.len());
    }

    #[test]
    fn recovery_codes_normalise_as_typed() {
        assert_eq!(
            normalize_recovery_code(" ABCD EFGH-jkmn ").as_deref(),
            Some("abcd-efgh-jkmn")
        );
        assert_eq!(
            normalize_recovery_code("abcdefghjkmn").as_deref(),
            Some("abcd-efgh-jkmn")
        );
        for bad in [
            "abcd-efgh-jkm",
            "abcd-efgh-jkmnp",
            "abcd-efgh-jkm0",
            "abcd-efgh-jkmñ",
        ] {
            assert_eq!(normalize_recovery_code(bad), None, "{bad}");
        }
    }
}
