//! What the ingestion and identity domain lets roles do. The composition root grants these
//! permissions to roles; profile reads on its pages need the customers domain's
//! `customer.read`.

use aloft_authz::{Permission, PermissionInfo};

/// Send source-system records into Aloft (batch ingest API; integration clients).
pub const RECORDS_INGEST: Permission = Permission::new("records.ingest");
/// Work the identity review queue: confirm or reject uncertain matches, merge and unmerge
/// profiles (data stewards).
pub const IDENTITY_REVIEW: Permission = Permission::new("identity.review");

/// The permissions this domain registers, with what they allow.
pub const PERMISSIONS: &[PermissionInfo] = &[
    PermissionInfo {
        permission: RECORDS_INGEST,
        description: "Send source-system records (integrations)",
    },
    PermissionInfo {
        permission: IDENTITY_REVIEW,
        description: "Review uncertain matches, merge and unmerge profiles",
    },
];
