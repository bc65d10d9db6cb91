//! Field-level masking: what of a profile the caller may see unmasked.
//!
//! Least privilege applies inside a record too. Travel document numbers are needed at check-in
//! and by the data privacy officer; everyone else who may read a profile sees the number masked
//! to its last three characters, enough to confirm it with the passenger on the phone.
//! Pure: decided from the principal's permissions, applied to the JSON document.

use serde_json::Value;

use aloft_authz::Principal;

/// Profile fields that need [`crate::permissions::TRAVEL_DOCUMENT_READ`] to be seen unmasked.
pub const TRAVEL_DOCUMENT_FIELDS: &[&str] = &["passport_number"];

/// What one caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disclosure {
    /// Travel document numbers unmasked.
    pub travel_documents: bool,
}

impl Disclosure {
    /// Everything (Aloft's own jobs, exports for the data subject).
    pub const FULL: Disclosure = Disclosure {
        travel_documents: true,
    };

    /// What `principal` may see; nothing sensitive without a principal.
    pub fn for_principal(principal: Option<&Principal>) -> Self {
        Self {
            travel_documents: principal
                .is_some_and(|p| p.can(crate::permissions::TRAVEL_DOCUMENT_READ)),
        }
    }

    /// For the request being handled (the route gate sets the principal).
    pub fn current() -> Self {
        Self::for_principal(aloft_authz::current_principal().as_ref())
    }

    /// Whether `field` is shown unmasked.
    pub fn shows(self, field: &str) -> bool {
        self.travel_documents || !TRAVEL_DOCUMENT_FIELDS.contains(&field)
    }

    /// Masks, in a profile document (or a customer resource), every field this caller may not
    /// see.
    pub fn apply(self, doc: &mut Value) {
        if self.travel_documents {
            return;
        }
        if let Value::Object(map) = doc {
            for field in TRAVEL_DOCUMENT_FIELDS {
                if let Some(Value::String(v)) = map.get_mut(*field) {
                    *v = mask(v);
                }
            }
        }
    }
}

/// `X1234567` → `•••••567`: the last three characters, the rest hidden (and its length kept
/// vague for short numbers).
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let keep = if chars.len() > 6 { 3 } else { 0 };
    let hidden = chars.len().saturating_sub(keep).max(5);
    let mut out: String = "•".repeat(hidden);
    out.extend(&chars[chars.len() - keep..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::{CUSTOMER_READ, TRAVEL_DOCUMENT_READ};
    use aloft_authz::{Permission, Realm, RowScope};
    use serde_json::json;

    fn principal(permissions: &[Permission]) -> Principal {
        Principal {
            subject: "u".into(),
            display_name: "U".into(),
            role: "test",
            role_label: "Test",
            realm: Realm::Staff,
            scope: RowScope::All,
            fully_authenticated: true,
            permissions: permissions.into(),
            csrf_token: None,
            session: None,
        }
    }

    #[test]
    fn passport_numbers_are_masked_without_the_travel_document_permission() {
        let doc = json!({"first_name": "Ana", "passport_number": "X1234567"});
        for (permissions, unmasked) in [
            (&[CUSTOMER_READ, TRAVEL_DOCUMENT_READ][..], true),
            (&[CUSTOMER_READ][..], false),
        ] {
            let mut d = doc.clone();
            Disclosure::for_principal(Some(&principal(permissions))).apply(&mut d);
            let shown = d["passport_number"].as_str().unwrap();
            assert_eq!(shown == "X1234567", unmasked, "{permissions:?}");
            assert_eq!(d["first_name"], "Ana");
        }
        let mut d = doc.clone();
        Disclosure::for_principal(None).apply(&mut d);
        assert_eq!(d["passport_number"], "•••••567");
    }

    #[test]
    fn short_values_reveal_nothing() {
        assert_eq!(mask("AB12"), "•••••");
        assert_eq!(mask("X1234567"), "•••••567");
    }
}
