//! [`CustomerId`]: the identifier of a golden customer profile, shared by every domain that
//! records something about a customer.
//!
//! Why here: customers owns the profile, travel and ingest record against it, the binary joins
//! them. With one type, an id flows between them as it is, with no conversion through text.

use std::fmt;

use serde::{Serialize, Serializer};
use uuid::Uuid;

/// The stable, unique identifier of a customer profile (UUIDv7: sortable by creation time, so
/// keyset pagination by id follows creation order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CustomerId(Uuid);

impl CustomerId {
    /// A new identifier (UUIDv7, now).
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    /// Parses the canonical hyphenated form (other UUID spellings are accepted too).
    pub fn parse(s: &str) -> Option<Self> {
        Uuid::try_parse(s).ok().map(Self)
    }

    /// Wraps a UUID read from elsewhere (a link, a stored row).
    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }

    /// The UUID, by value (it is `Copy`).
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl fmt::Display for CustomerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl Serialize for CustomerId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        for _ in 0..1000 {
            let id = CustomerId::generate();
            assert_eq!(CustomerId::parse(&id.to_string()), Some(id));
            assert_eq!(CustomerId::from_uuid(id.as_uuid()), id);
            assert_eq!(
                serde_json::to_value(id).unwrap(),
                serde_json::Value::String(id.to_string())
            );
        }
    }

    #[test]
    fn later_ids_sort_after_earlier_ones() {
        let a = CustomerId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = CustomerId::generate();
        assert!(a < b);
        assert!(
            a.to_string() < b.to_string(),
            "text order is creation order too"
        );
    }

    #[test]
    fn parse_refuses_what_is_not_a_uuid() {
        assert_eq!(CustomerId::parse("not-a-uuid"), None);
        assert_eq!(CustomerId::parse(""), None);
    }
}
