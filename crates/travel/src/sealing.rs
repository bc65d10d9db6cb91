//! Encryption at rest of what people wrote and how they paid: interaction subjects and bodies
//! (call notes, e-mail and chat transcripts), feedback text, chauffeur pick-up and drop-off
//! places (often home addresses) and purchase payment references (processor tokens).
//!
//! Each such top-level field is taken out of the stored document and encrypted on its own with
//! AES-256-GCM under the **customer's** data key (the same key as their profile's sensitive
//! fields), the travel record id and field name bound as associated data. So:
//! - destroying a customer's data key makes their notes and messages unreadable everywhere,
//!   backups included (crypto-shredding, used for erasure);
//! - a ciphertext copied to another record or field does not decrypt.
//!
//! Whether a re-sent record is the one already stored is decided by a keyed digest of the whole
//! plaintext document ([`aloft_security::content_digest`]), never by comparing plaintext.
//!
//! The data keys come from the customers domain through [`CustomerKeys`] (this crate does not
//! depend on that one); the binary connects them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use uuid::Uuid;

use aloft_kernel::StorageError;
pub use aloft_kernel::keys::{CustomerKeys, CustomerKeysFuture};
use aloft_kernel::keys::{open_fields, seal_fields};
use aloft_security::{DataKey, content_digest, decrypt_text, encrypt_text};

use crate::model::{CustomerId, RecordKind};

/// The fields of a record kind that are encrypted at rest.
pub fn sealed_fields(kind: RecordKind) -> &'static [&'static str] {
    match kind {
        RecordKind::Interaction => &["subject", "body"],
        RecordKind::Feedback => &["text"],
        RecordKind::ChauffeurRide => &["pickup", "dropoff"],
        RecordKind::Purchase => &["payment"],
        _ => &[],
    }
}

/// The field name bound into a timeline entry's encrypted detail.
pub const DETAIL_FIELD: &str = "timeline.detail";

/// Data keys made up on first use and kept in memory: for tests, examples and benchmarks of
/// this crate alone, where no customer profiles exist. Production wires the customers domain.
#[derive(Default)]
pub struct EphemeralKeys {
    keys: Mutex<HashMap<Uuid, Arc<[u8; 32]>>>,
}

impl EphemeralKeys {
    /// An empty key set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets a customer's key, as erasure destroys it.
    pub fn destroy(&self, customer: CustomerId) {
        self.keys
            .lock()
            .expect("keys lock")
            .remove(&customer.as_uuid());
    }
}

impl CustomerKeys for EphemeralKeys {
    fn data_keys<'a>(&'a self, customers: &'a [Uuid]) -> CustomerKeysFuture<'a> {
        let mut keys = self.keys.lock().expect("keys lock");
        let out = customers
            .iter()
            .map(|c| {
                let bytes = keys
                    .entry(*c)
                    .or_insert_with(|| Arc::new(*DataKey::generate().as_bytes()));
                (*c, DataKey::from_bytes(**bytes))
            })
            .collect();
        Box::pin(async move { Ok(out) })
    }
}

/// A document split for storage: the plain part and the sealed fields.
pub struct Sealed {
    /// The document without its sensitive fields.
    pub document: String,
    /// JSON object field → ciphertext ([`aloft_kernel::keys::seal_fields`]), or `None` when
    /// the kind has no sensitive field present.
    pub sealed: Option<String>,
}

/// The keyed digest of a plaintext document (see the module documentation).
pub fn digest(key: &DataKey, document: &str) -> String {
    content_digest(key, document.as_bytes())
}

/// Splits `document` (a record of `kind` with id `record_id`) into its stored parts.
pub fn seal(key: &DataKey, record_id: &str, kind: RecordKind, document: &Value) -> Sealed {
    let mut plain = document.clone();
    let sealed = seal_fields(key, record_id, &mut plain, sealed_fields(kind));
    Sealed {
        document: plain.to_string(),
        sealed: (!sealed.is_empty()).then(|| Value::Object(sealed).to_string()),
    }
}

/// Puts the sealed fields back into the plain part of a document.
pub fn open(
    key: &DataKey,
    record_id: &str,
    document: &mut Value,
    sealed: &str,
) -> Result<(), StorageError> {
    let bad = || StorageError::Corrupt(format!("travel record {record_id}: sealed fields"));
    let parsed: Map<String, Value> = serde_json::from_str(sealed).map_err(|_| bad())?;
    open_fields(key, record_id, document, parsed).map_err(|_| bad())
}

/// Encrypts a timeline entry's private detail (an interaction's subject).
pub fn seal_detail(key: &DataKey, entry_id: &str, detail: &str) -> String {
    encrypt_text(key, entry_id, DETAIL_FIELD, detail)
}

/// Decrypts a timeline entry's private detail; `None` if it cannot be read (key destroyed).
pub fn open_detail(key: &DataKey, entry_id: &str, stored: &str) -> Option<String> {
    decrypt_text(key, entry_id, DETAIL_FIELD, stored).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sensitive_fields_leave_the_document_and_come_back() {
        let key = DataKey::generate();
        let doc = json!({"source": "genesys", "source_record_id": "c1", "channel": "call",
            "subject": "Refund please", "body": "Lives at 7 Canary Lane"});
        let s = seal(&key, "r1", RecordKind::Interaction, &doc);
        assert!(!s.document.contains("Canary") && !s.document.contains("Refund"));
        let sealed = s.sealed.clone().unwrap();
        assert!(!sealed.contains("Canary"));
        let mut back: Value = serde_json::from_str(&s.document).unwrap();
        open(&key, "r1", &mut back, &sealed).unwrap();
        assert_eq!(back, doc);
        assert!(
            open(&key, "r2", &mut back.clone(), &sealed).is_err(),
            "bound to the record id"
        );
        assert!(
            open(&DataKey::generate(), "r1", &mut back, &sealed).is_err(),
            "another key cannot read it"
        );
    }

    #[test]
    fn the_digest_recognises_equal_content_only_under_the_same_key() {
        let key = DataKey::generate();
        let doc = json!({"text": "x"});
        let text = doc.to_string();
        assert_eq!(digest(&key, &text), digest(&key, &text));
        let (a, b) = (
            seal(&key, "r1", RecordKind::Feedback, &doc),
            seal(&key, "r1", RecordKind::Feedback, &doc),
        );
        assert_ne!(a.sealed, b.sealed, "fresh nonces");
        assert_ne!(
            digest(&key, &text),
            digest(&key, &json!({"text": "y"}).to_string())
        );
        assert_ne!(digest(&key, &text), digest(&DataKey::generate(), &text));
    }

    #[test]
    fn kinds_without_sensitive_fields_store_everything_plain() {
        let key = DataKey::generate();
        let doc = json!({"airport": "LHR"});
        let s = seal(&key, "r1", RecordKind::LoungeVisit, &doc);
        assert!(s.sealed.is_none());
        assert_eq!(s.document, doc.to_string());
    }

    #[test]
    fn details_round_trip_and_are_bound_to_their_entry() {
        let key = DataKey::generate();
        let ct = seal_detail(&key, "e.00", "Delayed flight");
        assert_eq!(
            open_detail(&key, "e.00", &ct).as_deref(),
            Some("Delayed flight")
        );
        assert_eq!(open_detail(&key, "e.01", &ct), None);
    }
}
