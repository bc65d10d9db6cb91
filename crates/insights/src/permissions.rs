//! What the insights domain lets roles do. Every permission here reads aggregates only: counts
//! of groups of at least k customers, never a name, an id or a contact. None of them lets a role
//! see an individual profile, so none needs (or implies) `customer.read`.

use aloft_authz::{Permission, PermissionInfo};

/// Open the insights overview (`/insights`): when the snapshot was taken, how many customers it
/// covers, and the areas the role may read.
pub const AGGREGATES_READ: Permission = Permission::new("insights.aggregates.read");
/// Aggregates of the customer population: loyalty tier, nationality, home airport, age band.
pub const POPULATION_READ: Permission = Permission::new("insights.population.read");
/// Aggregates of travel: routes, cabins, months.
pub const TRAVEL_READ: Permission = Permission::new("insights.travel.read");
/// Aggregates of retail: purchases and ancillaries by category and product, and the preference
/// mix (seat, meal, special service requests, drink).
pub const RETAIL_READ: Permission = Permission::new("insights.retail.read");

/// The permissions this domain registers, with what they allow.
pub const PERMISSIONS: &[PermissionInfo] = &[
    PermissionInfo {
        permission: AGGREGATES_READ,
        description: "Open the insights overview (pseudonymised aggregates, no individual data)",
    },
    PermissionInfo {
        permission: POPULATION_READ,
        description: "Read aggregates of the customer population (tier, nationality, home airport, age band)",
    },
    PermissionInfo {
        permission: TRAVEL_READ,
        description: "Read aggregates of travel (routes, cabins, months)",
    },
    PermissionInfo {
        permission: RETAIL_READ,
        description: "Read aggregates of purchases, ancillaries and the preference mix",
    },
];
