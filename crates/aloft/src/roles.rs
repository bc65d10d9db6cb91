//! The airline's roles: which permissions each job holds and which rows it sees. Data, not
//! code: a new domain registers its permissions through its module, and this table says which
//! roles hold them. Shown to the CMP manager on `/access/roles`.
//!
//! Least privilege: a role gets what its job needs and nothing more, so the administrator
//! manages accounts but reads no customer data, and the marketing manager and data analyst see
//! aggregates, not individual profiles.

use aloft_access::permissions::{
    ACCESS_APPROVE, ACCESS_REVIEW, ACCOUNTS_MANAGE, API_CLIENTS_MANAGE, AUDIT_READ, CONFIG_REVIEW,
    SECURITY_MONITOR,
};
use aloft_analytics::permissions::{AUDIENCE_EXPORT, OFFER_MAKE, OFFER_REPORT, SEGMENT_BUILD};
use aloft_authz::{Permission, PermissionInfo, Realm, RoleDef, Roles, ScopeRule};
use aloft_cases::permissions::{CASE_CONFIGURE, CASE_SUPERVISE, CASE_WORK};
use aloft_churn::permissions::{CHURN_MODEL_READ, CHURN_SCORE_READ};
use aloft_customers::permissions::{
    CUSTOMER_READ, CUSTOMER_WRITE, OWN_PROFILE, OWN_RECORD, ROSTER, STATION, TRAVEL_DOCUMENT_READ,
};
use aloft_departure::permissions::{CHECKIN_CONSOLE, CREW_MANIFEST};
use aloft_ingest::permissions::{IDENTITY_REVIEW, RECORDS_INGEST};
use aloft_insights::permissions::{AGGREGATES_READ, POPULATION_READ, RETAIL_READ, TRAVEL_READ};
use aloft_insights::permissions::{
    COMPENSATION_READ as INSIGHTS_COMPENSATION, DISRUPTION_READ as INSIGHTS_DISRUPTION,
    OVERVIEW_READ as INSIGHTS_OVERVIEW, SENTIMENT_READ as INSIGHTS_SENTIMENT,
};
use aloft_privacy::permissions::{CONSENT_READ, CONSENT_WRITE};
use aloft_rights::routes::COMPENSATION_EVALUATE;
use aloft_travel::permissions::{INTERACTION_READ, INTERACTION_WRITE, TIMELINE_READ};

/// Read the Prometheus metrics at `/metrics` on the main listener. No personal data, but a map
/// of the system's routes, load and error rates — operators' business, not every staff member's
/// (or the internet's). Scrapers on an internal network use `--metrics-bind` instead.
pub const OPS_METRICS_READ: Permission = Permission::new("ops.metrics.read");

/// The permissions the binary declares for its own routes (`app::APP_POLICY`), as modules
/// declare theirs.
pub const APP_PERMISSIONS: &[PermissionInfo] = &[PermissionInfo {
    permission: OPS_METRICS_READ,
    description: "Read the Prometheus metrics at /metrics",
}];

/// Role ids, as tokens, accounts, the CLI and the audit trail name them.
pub mod ids {
    /// Answers calls, chats and e-mails; looks after bookings and profiles.
    pub const CONTACT_CENTRE_AGENT: &str = "contact_centre_agent";
    /// Checks passengers in at an airport station.
    pub const CHECKIN_AGENT: &str = "checkin_agent";
    /// Serves passengers on board their flights.
    pub const CABIN_CREW: &str = "cabin_crew";
    /// Handles complaints, claims and compensation.
    pub const CUSTOMER_AFFAIRS_EXECUTIVE: &str = "customer_affairs_executive";
    /// Runs the frequent-flyer programme.
    pub const LOYALTY_MANAGER: &str = "loyalty_manager";
    /// Plans campaigns from segments and consented audiences.
    pub const MARKETING_MANAGER: &str = "marketing_manager";
    /// Sells on board and on the web.
    pub const INFLIGHT_RETAILER: &str = "inflight_retailer";
    /// Builds analyses and models on pseudonymised data.
    pub const DATA_ANALYST: &str = "data_analyst";
    /// Answers for GDPR: subject requests, erasure, consent, audit.
    pub const DATA_PRIVACY_OFFICER: &str = "data_privacy_officer";
    /// Watches security: audit trail, sign-in anomalies, keys.
    pub const SECURITY_OPERATIONS_MANAGER: &str = "security_operations_manager";
    /// Owns the CMP itself: configuration, role review.
    pub const CMP_MANAGER: &str = "cmp_manager";
    /// Manages staff accounts and integration clients (not customer data).
    pub const ADMINISTRATOR: &str = "administrator";
    /// A traveller using self-service.
    pub const PASSENGER: &str = aloft_access::tokens::PASSENGER_ROLE;
}

const fn staff(
    id: &'static str,
    label: &'static str,
    description: &'static str,
    permissions: &'static [aloft_authz::Permission],
) -> RoleDef {
    RoleDef {
        id,
        label,
        description,
        realm: Realm::Staff,
        permissions,
        scope: ScopeRule::Unlimited,
    }
}

/// Every role, in the order pages list them.
pub const ROLES: &[RoleDef] = &[
    staff(
        ids::CONTACT_CENTRE_AGENT,
        "Contact centre agent",
        "Answers calls, chats and e-mails; looks after bookings and profiles.",
        &[
            CUSTOMER_READ,
            CUSTOMER_WRITE,
            TIMELINE_READ,
            INTERACTION_READ,
            INTERACTION_WRITE,
            COMPENSATION_EVALUATE,
            CONSENT_READ,
            CONSENT_WRITE,
            CASE_WORK,
            CHURN_SCORE_READ,
            OFFER_MAKE,
        ],
    ),
    RoleDef {
        scope: ScopeRule::FromCredential(STATION),
        ..staff(
            ids::CHECKIN_AGENT,
            "Check-in agent",
            "Checks passengers in at an airport station: sees passengers departing from it soon.",
            &[
                CUSTOMER_READ,
                CUSTOMER_WRITE,
                TRAVEL_DOCUMENT_READ,
                TIMELINE_READ,
                INTERACTION_WRITE,
                CHECKIN_CONSOLE,
            ],
        )
    },
    RoleDef {
        scope: ScopeRule::OfSubject(ROSTER),
        ..staff(
            ids::CABIN_CREW,
            "Cabin crew",
            "Serves passengers on board: sees the passengers of the flights on their roster.",
            &[CUSTOMER_READ, TIMELINE_READ, CREW_MANIFEST],
        )
    },
    staff(
        ids::CUSTOMER_AFFAIRS_EXECUTIVE,
        "Customer affairs executive",
        "Handles complaints, claims and compensation.",
        &[
            CUSTOMER_READ,
            CUSTOMER_WRITE,
            TIMELINE_READ,
            INTERACTION_READ,
            INTERACTION_WRITE,
            COMPENSATION_EVALUATE,
            aloft_compensation::permissions::COMPENSATION_APPROVE,
            CASE_WORK,
            CASE_SUPERVISE,
            CHURN_SCORE_READ,
            OFFER_MAKE,
            INSIGHTS_SENTIMENT,
            INSIGHTS_DISRUPTION,
            INSIGHTS_COMPENSATION,
        ],
    ),
    staff(
        ids::LOYALTY_MANAGER,
        "Loyalty manager",
        "Runs the frequent-flyer programme; works the identity review queue.",
        &[
            CUSTOMER_READ,
            CUSTOMER_WRITE,
            TIMELINE_READ,
            INTERACTION_READ,
            INTERACTION_WRITE,
            IDENTITY_REVIEW,
            aloft_customers::permissions::LOYALTY_MANAGE,
            AGGREGATES_READ,
            POPULATION_READ,
            SEGMENT_BUILD,
            CHURN_SCORE_READ,
            OFFER_MAKE,
            OFFER_REPORT,
        ],
    ),
    staff(
        ids::MARKETING_MANAGER,
        "Marketing manager",
        "Plans campaigns from segments and consented audiences.",
        &[
            AGGREGATES_READ,
            POPULATION_READ,
            TRAVEL_READ,
            SEGMENT_BUILD,
            OFFER_REPORT,
            AUDIENCE_EXPORT,
            INSIGHTS_SENTIMENT,
            INSIGHTS_DISRUPTION,
        ],
    ),
    staff(
        ids::INFLIGHT_RETAILER,
        "In-flight retailer",
        "Builds product bundles from purchase data.",
        &[AGGREGATES_READ, RETAIL_READ],
    ),
    staff(
        ids::DATA_ANALYST,
        "Data analyst",
        "Builds analyses and models on pseudonymised data.",
        &[
            CHURN_MODEL_READ,
            AGGREGATES_READ,
            POPULATION_READ,
            TRAVEL_READ,
            RETAIL_READ,
            INSIGHTS_SENTIMENT,
            INSIGHTS_DISRUPTION,
            INSIGHTS_COMPENSATION,
            INSIGHTS_OVERVIEW,
        ],
    ),
    staff(
        ids::DATA_PRIVACY_OFFICER,
        "Data privacy officer",
        "Answers for GDPR: subject requests, erasure, consent, the audit trail.",
        &[
            CUSTOMER_READ,
            CUSTOMER_WRITE,
            TRAVEL_DOCUMENT_READ,
            TIMELINE_READ,
            INTERACTION_READ,
            AUDIT_READ,
            ACCESS_REVIEW,
            ACCESS_APPROVE,
            IDENTITY_REVIEW,
            aloft_mail::MAIL_CATCHER_READ,
            CONSENT_READ,
            CONSENT_WRITE,
            aloft_privacy::permissions::REQUESTS_MANAGE,
            aloft_privacy::permissions::HOLDS_MANAGE,
        ],
    ),
    staff(
        ids::SECURITY_OPERATIONS_MANAGER,
        "Security operations manager",
        "Watches security: the audit trail, sign-in anomalies, access.",
        &[
            AUDIT_READ,
            ACCESS_REVIEW,
            ACCESS_APPROVE,
            OPS_METRICS_READ,
            SECURITY_MONITOR,
        ],
    ),
    staff(
        ids::CMP_MANAGER,
        "CMP manager",
        "Owns the CMP itself: configuration, role review, source integrations.",
        &[
            CHURN_MODEL_READ,
            ACCESS_REVIEW,
            RECORDS_INGEST,
            aloft_privacy::permissions::CONSENT_EVENTS_SEND,
            CONFIG_REVIEW,
            aloft_compensation::permissions::COMPENSATION_PROCESS,
            aloft_compensation::permissions::GOODWILL_POLICY,
            aloft_compensation::permissions::COMPENSATION_SETTINGS,
            CASE_CONFIGURE,
            aloft_cases::permissions::CASE_WORKFLOW_MANAGE,
            aloft_cases::permissions::CASE_DISRUPTIONS,
            aloft_cases::permissions::CASE_INBOUND_MAIL,
            aloft_webhooks::WEBHOOK_MANAGE,
            aloft_mail::MAIL_TEMPLATES_MANAGE,
            INSIGHTS_OVERVIEW,
        ],
    ),
    staff(
        ids::ADMINISTRATOR,
        "Administrator",
        "Manages staff accounts and integration clients; reads no customer data.",
        &[
            ACCESS_REVIEW,
            ACCOUNTS_MANAGE,
            API_CLIENTS_MANAGE,
            OPS_METRICS_READ,
        ],
    ),
    RoleDef {
        id: ids::PASSENGER,
        label: "Passenger",
        description: "A traveller using self-service: their own profile only.",
        realm: Realm::Passenger,
        permissions: &[OWN_PROFILE],
        scope: ScopeRule::FromCredential(OWN_RECORD),
    },
];

/// Every domain's registered permissions (what each module's `permissions()` returns; a test
/// holds the two equal), known without building the application so that the CLI can check
/// roles and scopes.
pub fn registered_permissions() -> Vec<PermissionInfo> {
    [
        aloft_customers::permissions::PERMISSIONS,
        aloft_travel::permissions::PERMISSIONS,
        aloft_ingest::permissions::PERMISSIONS,
        aloft_access::permissions::PERMISSIONS,
        aloft_departure::permissions::PERMISSIONS,
        aloft_cases::permissions::PERMISSIONS,
        aloft_mail::PERMISSIONS,
        aloft_insights::permissions::PERMISSIONS,
        aloft_rights::routes::PERMISSIONS,
        aloft_analytics::permissions::PERMISSIONS,
        aloft_privacy::permissions::PERMISSIONS,
        aloft_compensation::permissions::PERMISSIONS,
        aloft_churn::permissions::PERMISSIONS,
        aloft_webhooks::PERMISSIONS,
        APP_PERMISSIONS,
    ]
    .concat()
}

/// The role catalogue of this application.
pub fn catalogue() -> Roles {
    Roles::new(ROLES.to_vec(), registered_permissions())
}
