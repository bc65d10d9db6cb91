//! What analytics lets roles do. The composition root grants these to roles.

use aloft_authz::{Permission, PermissionInfo};

/// Build customer segments and see their size (no one is listed).
pub const SEGMENT_BUILD: Permission = Permission::new("segment.build");
/// Serve the next best action to one customer: see it with its explanation, record that it
/// was offered and the customer's answer. For the roles that talk to customers; it reveals
/// the customer's segment facts, so it is not an aggregate permission.
pub const OFFER_MAKE: Permission = Permission::new("offer.make");
/// Read the outcome report of offers by action (counts and rates, no customer).
pub const OFFER_REPORT: Permission = Permission::new("offer.report");

/// Release a saved segment's audience (CSV with contacts, or ids to the marketing platform),
/// members without the purpose's consent left out. Separate from building: an export
/// releases people, a count does not.
pub const AUDIENCE_EXPORT: Permission = Permission::new("audience.export");

/// The permissions this crate registers.
pub const PERMISSIONS: &[PermissionInfo] = &[
    PermissionInfo {
        permission: SEGMENT_BUILD,
        description: "Build customer segments from rules and preview how many customers they hold",
    },
    PermissionInfo {
        permission: OFFER_MAKE,
        description: "See a customer's next best action with its explanation; record offers made and the customer's answer",
    },
    PermissionInfo {
        permission: OFFER_REPORT,
        description: "Read the report of offers by action: offered, accepted, declined, expired, acceptance rate",
    },
    PermissionInfo {
        permission: AUDIENCE_EXPORT,
        description: "Export a segment's audience as CSV or publish it to the marketing platform; members without the purpose's consent are left out and counted",
    },
];
