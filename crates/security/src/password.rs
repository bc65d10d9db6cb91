//! Staff passwords: Argon2id hashing in the PHC string format, verification that never panics,
//! and the minimum policy a new password must meet.
//!
//! Why these choices:
//! - Argon2id with m = 19 MiB, t = 2, p = 1 is OWASP's recommended minimum configuration: memory
//!   hardness makes GPU guessing of a stolen hash table expensive.
//! - The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) carries its own parameters, so
//!   stronger parameters can be introduced later; [`needs_rehash`] tells the caller when a stored
//!   hash should be replaced after the next successful sign-in.
//! - Passwords are normalised to Unicode NFKC before hashing (NIST SP 800-63B §5.1.1.2), so the
//!   same password typed on keyboards that compose accents differently still matches. This is
//!   part of the stored format: changing it would lock users out.
//! - The policy follows NIST SP 800-63B: a length floor and a block list, no composition rules.
//!
//! Copies of the password made here are zeroized when dropped.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::rng;

/// Argon2 memory cost in KiB (19 MiB, OWASP).
pub const MEMORY_KIB: u32 = 19 * 1024;
/// Argon2 passes over memory (OWASP).
pub const ITERATIONS: u32 = 2;
/// Argon2 lanes (OWASP).
pub const PARALLELISM: u32 = 1;

/// The shortest password the policy accepts, in characters.
pub const MIN_LENGTH: usize = 12;
/// The longest password the policy accepts, in characters: long enough for any passphrase,
/// short enough that nobody submits megabytes to the hasher.
pub const MAX_LENGTH: usize = 256;

/// Largest Argon2 memory cost [`verify_password`] will spend on a stored hash (256 MiB), so a
/// corrupted or planted hash cannot exhaust the server's memory.
const MAX_VERIFY_MEMORY_KIB: u32 = 256 * 1024;
/// Largest Argon2 pass count [`verify_password`] will spend on a stored hash.
const MAX_VERIFY_ITERATIONS: u32 = 16;
/// Largest Argon2 lane count [`verify_password`] will spend on a stored hash.
const MAX_VERIFY_PARALLELISM: u32 = 16;

/// Why a password could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Argon2 refused the input (in practice only for absurd lengths).
    #[error("the password could not be hashed: {0}")]
    Hash(String),
}

/// Why a new password does not meet the policy. `Display` gives a sentence to show the user; it
/// never repeats the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    /// Fewer than [`MIN_LENGTH`] characters.
    #[error("The password must be at least {MIN_LENGTH} characters long.")]
    TooShort,
    /// More than [`MAX_LENGTH`] characters.
    #[error("The password must be at most {MAX_LENGTH} characters long.")]
    TooLong,
    /// One character repeated.
    #[error("The password must not be a single character repeated.")]
    Repetitive,
    /// A well-known password, or a common word dressed up with digits and symbols.
    #[error("The password is too common; choose one that others are unlikely to use.")]
    Common,
}

/// The hasher with Aloft's parameters.
fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .expect("the constant Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The form that is hashed: NFKC (see the module documentation).
fn normalise(password: &str) -> Zeroizing<String> {
    Zeroizing::new(password.nfkc().collect())
}

/// Hashes a password with a fresh 128-bit salt; returns the PHC string to store.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::encode_b64(&rng::array::<16>())
        .map_err(|e| PasswordError::Hash(e.to_string()))?;
    let normalised = normalise(password);
    argon2()
        .hash_password(normalised.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Parses a stored hash if it is an Argon2 hash whose costs are within what we will spend.
fn parse_stored(stored: &str) -> Option<PasswordHash<'_>> {
    let hash = PasswordHash::new(stored).ok()?;
    let params = Params::try_from(&hash).ok()?;
    let affordable = params.m_cost() <= MAX_VERIFY_MEMORY_KIB
        && params.t_cost() <= MAX_VERIFY_ITERATIONS
        && params.p_cost() <= MAX_VERIFY_PARALLELISM;
    affordable.then_some(hash)
}

/// Whether `password` matches the stored PHC string. Malformed, non-Argon2 or unaffordably
/// expensive stored hashes simply do not match; this never panics. The comparison of the
/// computed and stored hash is constant-time.
pub fn verify_password(password: &str, stored: &str) -> bool {
    let Some(hash) = parse_stored(stored) else {
        return false;
    };
    let normalised = normalise(password);
    // Argon2::default() verifies with the algorithm, version and parameters in the hash itself.
    Argon2::default()
        .verify_password(normalised.as_bytes(), &hash)
        .is_ok()
}

/// Spends the time of one verification and returns `false`: call it when the account does not
/// exist, so response times do not reveal which user names are valid.
pub fn verify_unknown_user(password: &str) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| {
        hash_password("aloft dummy password for timing").unwrap_or_else(|_| String::new())
    });
    let _ = verify_password(password, dummy);
    false
}

/// Whether a stored hash uses other parameters than today's: after a successful sign-in the
/// caller should store a fresh [`hash_password`] of the password it just verified.
pub fn needs_rehash(stored: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return true;
    };
    let current = hash.algorithm == Algorithm::Argon2id.ident()
        && hash.version == Some(Version::V0x13.into())
        && Params::try_from(&hash).is_ok_and(|p| {
            p.m_cost() == MEMORY_KIB && p.t_cost() == ITERATIONS && p.p_cost() == PARALLELISM
        });
    !current
}

/// Passwords long enough to pass the length rule that still appear near the top of breach
/// corpora (lower case; compared case-insensitively).
const COMMON_PASSWORDS: &[&str] = &[
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123123123123",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "abc123456789",
    "abcd1234abcd",
    "abcdefghijkl",
    "asdfghjkl123",
    "iloveyou1234",
    "passwordpassword",
    "qazwsxedcrfv",
    "qwerty123456",
    "qwertyqwerty",
    "qwertyuiop123",
    "qwertyuiopasdf",
    "trustno1trustno1",
    "zaq12wsxcde3",
];

/// Words that, padded with digits and symbols ("Password1234!", "P@ssw0rd2024"), make the
/// passwords guessers try first.
const COMMON_WORDS: &[&str] = &[
    "admin",
    "administrator",
    "airline",
    "aloft",
    "baseball",
    "changeme",
    "dragon",
    "football",
    "iloveyou",
    "letmein",
    "login",
    "master",
    "monkey",
    "passw",
    "passwd",
    "passwort",
    "password",
    "princess",
    "qwerty",
    "qwertyuiop",
    "secret",
    "sunshine",
    "superman",
    "welcome",
];

/// Whether the password is a listed one, or a common word with only digits and symbols around
/// it (after undoing the usual letter-for-symbol swaps inside the word).
fn is_common(lower: &str) -> bool {
    if COMMON_PASSWORDS.contains(&lower) {
        return true;
    }
    let core = lower.trim_matches(|c: char| !c.is_alphabetic());
    let plain: String = core
        .chars()
        .map(|c| match c {
            '@' | '4' => 'a',
            '3' => 'e',
            '1' | '!' => 'i',
            '0' => 'o',
            '$' | '5' => 's',
            '7' => 't',
            other => other,
        })
        .collect();
    COMMON_WORDS.contains(&plain.as_str()) || COMMON_WORDS.contains(&core)
}

/// Checks a new password against the policy: [`MIN_LENGTH`]..=[`MAX_LENGTH`] characters (after
/// NFKC), not one repeated character, not a well-known password.
pub fn check_password_policy(password: &str) -> Result<(), PolicyViolation> {
    let normalised = normalise(password);
    let length = normalised.chars().count();
    if length < MIN_LENGTH {
        return Err(PolicyViolation::TooShort);
    }
    if length > MAX_LENGTH {
        return Err(PolicyViolation::TooLong);
    }
    let mut chars = normalised.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return Err(PolicyViolation::Repetitive);
    }
    let lower = Zeroizing::new(normalised.to_lowercase());
    if is_common(&lower) {
        return Err(PolicyViolation::Common);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_in_phc_format_with_owasp_parameters_and_verifies() {
        let hash = hash_password("correct horse battery staple").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password("correct horse battery staple", &hash));
        assert!(!verify_password("correct horse battery stapl", &hash));
        assert!(!verify_password("", &hash));
        assert!(!needs_rehash(&hash));
        // A fresh salt every time.
        assert_ne!(hash, hash_password("correct horse battery staple").unwrap());
    }

    #[test]
    fn rfc9106_argon2id_test_vector() {
        // RFC 9106 §5.3: m = 32 KiB, t = 3, p = 4, secret and associated data, 32-byte tag.
        let params = argon2::ParamsBuilder::new()
            .m_cost(32)
            .t_cost(3)
            .p_cost(4)
            .data(argon2::AssociatedData::new(&[0x04; 12]).unwrap())
            .build()
            .unwrap();
        let ctx = Argon2::new_with_secret(&[0x03; 8], Algorithm::Argon2id, Version::V0x13, params)
            .unwrap();
        let mut tag = [0u8; 32];
        ctx.hash_password_into(&[0x01; 32], &[0x02; 16], &mut tag)
            .unwrap();
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"
        );
    }

    #[test]
    fn verifies_phc_strings_from_the_reference_implementation() {
        // From the reference implementation's test suite (phc-winner-argon2 `test.c`):
        // password "password", salt "somesalt".
        let argon2id = "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ\
                        $nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4";
        assert!(verify_password("password", argon2id));
        assert!(!verify_password("Password", argon2id));
        assert!(needs_rehash(argon2id));
        // The same suite's mismatch case: this hash is of "passwore".
        let mismatch = "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ\
                        $8iIuixkI73Js3G1uMbezQXD0b8LG4SXGsOwoQkdAQIM";
        assert!(!verify_password("password", mismatch));
    }

    #[test]
    fn unicode_compositions_match() {
        let composed = "Ma\u{00f1}ana es otro d\u{00ed}a";
        let decomposed = "Man\u{0303}ana es otro di\u{0301}a";
        let hash = hash_password(composed).unwrap();
        assert!(verify_password(decomposed, &hash));
    }

    #[test]
    fn malformed_or_hostile_hashes_never_match_or_panic() {
        let hostile = [
            "",
            "plain text",
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$",
            "$argon2id$v=19$m=4294967295,t=2,p=1$c29tZXNhbHQ$ZnwwN7Q7nAcsm0DEAupthVkAVGdDkI8hhY9P",
            "$argon2id$v=19$m=19456,t=4294967295,p=1$c29tZXNhbHQ$ZnwwN7Q7nAcsm0DEAupthVkAVGdDkI8h",
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
            "$pbkdf2-sha256$29000$N2bMWcvZGwMgZEypFWIsRQ$rn6hI6Y9OfCkf6zTtOhGzIMJjUnUVKLjRfXhRT3A",
            "$argon2id$v=19$m=19456,t=2,p=1$ü$ü",
        ];
        for stored in hostile {
            assert!(!verify_password("password", stored), "{stored}");
            assert!(needs_rehash(stored), "{stored}");
        }
    }

    #[test]
    fn older_parameters_need_rehash() {
        let weaker = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        )
        .hash_password(
            b"a long enough password",
            &SaltString::encode_b64(b"saltsalt").unwrap(),
        )
        .unwrap()
        .to_string();
        assert!(verify_password("a long enough password", &weaker));
        assert!(needs_rehash(&weaker));
    }

    #[test]
    fn unknown_users_never_verify() {
        assert!(!verify_unknown_user("aloft dummy password for timing"));
        assert!(!verify_unknown_user("anything"));
    }

    #[test]
    fn policy_table() {
        use PolicyViolation::*;
        let table: [(&str, Result<(), PolicyViolation>); 18] = [
            ("short", Err(TooShort)),
            ("elevenchars", Err(TooShort)),
            ("ñandú ñandú", Err(TooShort)),
            ("aaaaaaaaaaaa", Err(Repetitive)),
            ("............", Err(Repetitive)),
            ("password1234", Err(Common)),
            ("PASSWORD1234", Err(Common)),
            ("Password1234!", Err(Common)),
            ("P@ssw0rd2024!", Err(Common)),
            ("2024Welcome!!", Err(Common)),
            ("qwerty123456", Err(Common)),
            ("123456789012", Err(Common)),
            ("Aloft-2024-!!", Err(Common)),
            ("correct horse battery staple", Ok(())),
            ("tangerine-kayak-57", Ok(())),
            ("пароль-лётчика-7", Ok(())),
            ("登机口在第十二号门请准时", Ok(())),
            ("passwordsarehard", Ok(())),
        ];
        for (password, want) in table {
            assert_eq!(check_password_policy(password), want, "{password}");
        }
        assert_eq!(check_password_policy(&"ab".repeat(129)), Err(TooLong));
        assert_eq!(check_password_policy(&"ab".repeat(128)), Ok(()));
    }

    #[test]
    fn policy_messages_are_sentences() {
        assert_eq!(
            PolicyViolation::TooShort.to_string(),
            "The password must be at least 12 characters long."
        );
        assert!(PolicyViolation::Common.to_string().ends_with('.'));
    }
}
