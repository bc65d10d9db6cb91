//! What the privacy domain lets roles do.

use aloft_authz::{Permission, PermissionInfo};

/// Read a passenger's consents and the purpose register.
pub const CONSENT_READ: Permission = Permission::new("privacy.consent.read");
/// Record a consent given or withdrawn on a passenger's behalf (by phone, at the airport).
pub const CONSENT_WRITE: Permission = Permission::new("privacy.consent.write");
/// Send consent events from source systems (the website's preference centre, the app, a
/// partner's booking flow): an integration's permission, which reads no customer data.
pub const CONSENT_EVENTS_SEND: Permission = Permission::new("privacy.consent.events.send");

/// Handle data-subject requests: export everything held about a person.
pub const REQUESTS_MANAGE: Permission = Permission::new("privacy.requests.manage");

/// Place and lift legal holds (a person's data, or a data category, kept from retention and
/// erasure for a claim, an investigation or an audit). Its own permission, not part of handling
/// requests: a hold overrides the right to erasure (GDPR Art. 17(3)(e)), so who may place one
/// is granted on its own (the data privacy officer only).
pub const HOLDS_MANAGE: Permission = Permission::new("privacy.holds.manage");

/// The permissions this domain registers, with what they allow.
pub const PERMISSIONS: &[PermissionInfo] = &[
    PermissionInfo {
        permission: CONSENT_READ,
        description: "Read a passenger's consents and their history, and the purpose register",
    },
    PermissionInfo {
        permission: CONSENT_EVENTS_SEND,
        description: "Send consent events from a source system (integrations); reads no customer data",
    },
    PermissionInfo {
        permission: CONSENT_WRITE,
        description: "Record a passenger's consent given or withdrawn, with its source and proof",
    },
    PermissionInfo {
        permission: REQUESTS_MANAGE,
        description: "Handle data-subject requests: export everything held about a person (JSON, CSV)",
    },
    PermissionInfo {
        permission: HOLDS_MANAGE,
        description: "Place and lift legal holds that keep a person's data or a data category from retention and erasure",
    },
];
