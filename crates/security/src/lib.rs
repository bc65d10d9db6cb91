//! The security core of Aloft: the pure rules and primitives that sign-in, data protection and
//! auditing are built on, kept apart from storage and HTTP so they can be reviewed and tested on
//! their own.
//!
//! - [`totp`] — the second sign-in factor (RFC 6238 TOTP) and one-time recovery codes.
//! - [`password`] — Argon2id password hashing and the password policy.
//! - [`pan`] — finding and masking payment card numbers in free text (PCI DSS).
//! - [`crypto`] — field encryption at rest with per-customer data keys wrapped under a rotatable
//!   master key, and blind indexes for exact-match search over encrypted fields.
//! - [`audit_chain`] — the hash-chained, tamper-evident audit record and its verification.
//!
//! Invariants every module keeps:
//! - **No IO.** Nothing here reads files, the environment, the network or the clock; callers
//!   pass key text, times and records in. The only outside input is the operating system's
//!   secure random source.
//! - **Secrets stay secret.** Keys and shared secrets are zeroized when dropped and never appear
//!   in `Debug` or `Display` output; error messages never contain secret or personal values.
//! - **Constant-time comparison** wherever a secret is compared (TOTP codes, password hashes,
//!   AEAD tags).
//! - **Versioned formats.** Every stored format (ciphertexts, wrapped keys, PHC strings, audit
//!   hashes) carries a version or label so it can evolve without ambiguity.

pub mod audit_chain;
pub mod crypto;
pub mod pan;
pub mod password;
mod rng;
pub mod token;
pub mod totp;

pub use audit_chain::{
    AuditRecord, BreakReason, ChainBreak, GENESIS_HASH, compute_hash, verify_chain,
    verify_chain_from,
};
pub use crypto::{
    BlindIndex, CryptoError, DataKey, IndexKey, KeyProvider, Keyring, LocalKeyProvider, MasterKey,
    WrappedKey, content_digest, decrypt_field, decrypt_text, encrypt_field, encrypt_text,
};
pub use pan::{CardNetwork, find_card_numbers, mask_pan, redact_card_numbers};
pub use password::{
    PasswordError, PolicyViolation, check_password_policy, hash_password, verify_password,
};
pub use token::{constant_time_eq, random_token, sha256, sha256_hex};
pub use totp::{TotpError, TotpSecret, recovery_codes};
