//! Encryption of a profile's sensitive fields at rest, and the blind indexes that keep exact
//! search on them working.
//!
//! Each customer has their own data key (AES-256), stored only wrapped by the instance's master
//! key. Each sensitive field — e-mail, phone, passport number, date of birth, postal address — is
//! encrypted on its own with AES-256-GCM, the customer id and the field name bound as associated
//! data, so a ciphertext copied to another row or field does not decrypt. The plain part of the
//! profile (names, tier, preferences) stays readable for name search.
//!
//! Exact look-ups by e-mail, phone, loyalty and passport number use blind indexes: a keyed
//! HMAC of the canonical value, one key per field. Destroying a customer's data key makes their
//! sensitive fields unreadable everywhere, backups included (crypto-shredding, for erasure).

use std::sync::Arc;

use serde_json::{Map, Value};

use aloft_kernel::keys::{SharedKeys, open_fields, seal_fields};
use aloft_security::{BlindIndex, CryptoError, DataKey, WrappedKey};

/// Profile fields encrypted at rest.
pub const SENSITIVE_FIELDS: &[&str] = &[
    "email",
    "phone",
    "passport_number",
    "date_of_birth",
    "address",
];

/// What is stored for a customer's sensitive fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedFields {
    /// The customer's data key, wrapped by the master key (`<key id>:<base64>`).
    pub data_key: String,
    /// A JSON object: field name → base64 ciphertext of the field's JSON value.
    pub fields: String,
}

/// Encrypts and decrypts sensitive fields and computes blind indexes.
#[derive(Clone)]
pub struct Vault {
    keys: SharedKeys,
    indexes: Arc<[BlindIndex; 4]>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault").field("keys", &self.keys).finish()
    }
}

/// Which blind index.
#[derive(Debug, Clone, Copy)]
pub enum Indexed {
    /// Canonical (lower-case) e-mail.
    Email = 0,
    /// E.164 phone.
    Phone = 1,
    /// Canonical loyalty number.
    Loyalty = 2,
    /// Canonical passport number.
    Passport = 3,
}

impl Vault {
    /// A vault over the instance keys (a rotation adopted by `keys` applies at once).
    pub fn new(keys: impl Into<SharedKeys>) -> Self {
        let keys = keys.into();
        let now = keys.get();
        let indexes = Arc::new([
            now.keyring.blind_index("customer.email"),
            now.keyring.blind_index("customer.phone"),
            now.keyring.blind_index("customer.loyalty_number"),
            now.keyring.blind_index("customer.passport_number"),
        ]);
        Self { keys, indexes }
    }

    /// Unwraps a data key; a key id this process does not know yet (a rotation by another
    /// process) makes it re-read the key file once and try again.
    fn unwrap_key(&self, wrapped: &WrappedKey) -> Result<DataKey, CryptoError> {
        match self.keys.get().keyring.unwrap(wrapped) {
            Err(CryptoError::UnknownKeyId(_)) if self.keys.reload().unwrap_or(false) => {
                self.keys.get().keyring.unwrap(wrapped)
            }
            other => other,
        }
    }

    /// A customer's data key, unwrapped from its stored form (`<key id>:<base64>`).
    pub fn unwrap_data_key(&self, stored: &str) -> Result<DataKey, CryptoError> {
        self.unwrap_key(&stored.parse()?)
    }

    /// The data key re-wrapped under the current master key, or `None` if it already is.
    pub fn rewrap(&self, data_key: &str) -> Result<Option<String>, CryptoError> {
        let wrapped: WrappedKey = data_key.parse()?;
        let keys = self.keys.get();
        if keys.keyring.is_current(&wrapped) {
            return Ok(None);
        }
        let dek = self.unwrap_key(&wrapped)?;
        Ok(Some(self.keys.get().keyring.wrap(&dek)?.to_string()))
    }

    /// The id of the master key new data keys are wrapped with.
    pub fn current_master_id(&self) -> String {
        self.keys.get().master_key_id().to_owned()
    }

    /// The blind index of an already canonical value.
    pub fn index(&self, which: Indexed, canonical: &str) -> String {
        self.indexes[which as usize].compute_exact(canonical.as_bytes())
    }

    /// Moves the sensitive fields out of `doc` and encrypts them for customer `id`, under the
    /// customer's existing data key when given (updates), else a new one.
    pub fn seal(
        &self,
        id: &str,
        doc: &mut Value,
        existing: Option<&str>,
    ) -> Result<SealedFields, CryptoError> {
        self.seal_keeping_key(id, doc, existing)
            .map(|(sealed, _)| sealed)
    }

    /// [`Vault::seal`], also returning the unwrapped data key: a profile created in another
    /// domain's transaction (the ingest pipeline's) has its key needed before it is stored.
    pub fn seal_keeping_key(
        &self,
        id: &str,
        doc: &mut Value,
        existing: Option<&str>,
    ) -> Result<(SealedFields, DataKey), CryptoError> {
        let (dek, wrapped) = match existing {
            Some(text) => {
                let wrapped: WrappedKey = text.parse()?;
                (self.unwrap_key(&wrapped)?, text.to_owned())
            }
            None => {
                let dek = DataKey::generate();
                let wrapped = self.keys.get().keyring.wrap(&dek)?.to_string();
                (dek, wrapped)
            }
        };
        let sealed = seal_fields(&dek, id, doc, SENSITIVE_FIELDS);
        Ok((
            SealedFields {
                data_key: wrapped,
                fields: Value::Object(sealed).to_string(),
            },
            dek,
        ))
    }

    /// Decrypts the sealed fields of customer `id` back into `doc`.
    pub fn open(
        &self,
        id: &str,
        doc: &mut Value,
        sealed: &SealedFields,
    ) -> Result<(), CryptoError> {
        let parsed: Map<String, Value> =
            serde_json::from_str(&sealed.fields).map_err(|_| CryptoError::Malformed)?;
        if parsed.is_empty() {
            return Ok(());
        }
        let wrapped: WrappedKey = sealed.data_key.parse()?;
        let dek = self.unwrap_key(&wrapped)?;
        open_fields(&dek, id, doc, parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aloft_security::{IndexKey, MasterKey};
    use serde_json::json;

    fn vault() -> Vault {
        Vault::new(Arc::new(aloft_kernel::keys::InstanceKeys::new(
            MasterKey::generate(),
            IndexKey::generate(),
        )))
    }

    #[test]
    fn sensitive_fields_leave_the_document_and_come_back() {
        let v = vault();
        let original = json!({"first_name": "Ana", "email": "ana@example.com", "date_of_birth": "1990-01-02",
            "address": {"line1": "1 Main St", "city": "Lisbon", "country": "PT"}, "passport_number": "P1234567"});
        let mut doc = original.clone();
        let sealed = v.seal("c1", &mut doc, None).unwrap();
        assert_eq!(
            doc,
            json!({"first_name": "Ana"}),
            "only the plain part stays"
        );
        for secret in ["ana@example.com", "1990-01-02", "Main St", "P1234567"] {
            assert!(!sealed.fields.contains(secret) && !sealed.data_key.contains(secret));
        }
        v.open("c1", &mut doc, &sealed).unwrap();
        assert_eq!(doc, original);
    }

    #[test]
    fn ciphertexts_are_bound_to_their_customer_and_field() {
        let v = vault();
        let mut doc = json!({"email": "ana@example.com", "phone": "+351210000000"});
        let sealed = v.seal("c1", &mut doc, None).unwrap();
        let mut other = json!({});
        assert!(
            v.open("c2", &mut other, &sealed).is_err(),
            "another customer id"
        );
        let swapped: Map<String, Value> = serde_json::from_str(&sealed.fields).unwrap();
        let swapped = json!({"email": swapped["phone"], "phone": swapped["email"]}).to_string();
        let mut doc2 = json!({});
        assert!(
            v.open(
                "c1",
                &mut doc2,
                &SealedFields {
                    data_key: sealed.data_key.clone(),
                    fields: swapped
                }
            )
            .is_err(),
            "fields swapped"
        );
    }

    #[test]
    fn updates_keep_the_data_key_and_another_instance_cannot_read() {
        let v = vault();
        let mut doc = json!({"email": "ana@example.com"});
        let first = v.seal("c1", &mut doc, None).unwrap();
        let mut doc = json!({"email": "ana@new.example"});
        let second = v.seal("c1", &mut doc, Some(&first.data_key)).unwrap();
        assert_eq!(first.data_key, second.data_key);
        let mut read = json!({});
        assert!(
            vault().open("c1", &mut read, &second).is_err(),
            "other keys"
        );
    }

    #[test]
    fn blind_indexes_match_equal_values_per_field_only() {
        let v = vault();
        assert_eq!(
            v.index(Indexed::Email, "a@b.co"),
            v.index(Indexed::Email, "a@b.co")
        );
        assert_ne!(
            v.index(Indexed::Email, "a@b.co"),
            v.index(Indexed::Phone, "a@b.co")
        );
        assert_ne!(
            v.index(Indexed::Email, "a@b.co"),
            vault().index(Indexed::Email, "a@b.co")
        );
    }
}
