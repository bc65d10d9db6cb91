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

/// Sentiment and complaint trends: texts (interactions, feedback, cases) by topic, route and
/// week with their sentiment labels — counts only, never a text.
pub const SENTIMENT_READ: Permission = Permission::new("insights.sentiment.read");
/// Disruption exposure: passengers on cancelled or ≥ 3 h late flights by route and week.
pub const DISRUPTION_READ: Permission = Permission::new("insights.disruption.read");
/// Compensation proposals by status (counts).
pub const COMPENSATION_READ: Permission = Permission::new("insights.compensation.read");
/// The CMP overview: the platform's headline figures across domains and segment sizes.
pub const OVERVIEW_READ: Permission = Permission::new("insights.overview.read");

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
    PermissionInfo {
        permission: SENTIMENT_READ,
        description: "Read sentiment and complaint trends by topic, route and week (counts only, never a text)",
    },
    PermissionInfo {
        permission: DISRUPTION_READ,
        description: "Read disruption exposure: passengers on cancelled or 3-hour-late flights by route and week",
    },
    PermissionInfo {
        permission: COMPENSATION_READ,
        description: "Read the volume of compensation proposals by status (counts only)",
    },
    PermissionInfo {
        permission: OVERVIEW_READ,
        description: "Open the CMP overview: headline figures across the platform and segment sizes",
    },
];
