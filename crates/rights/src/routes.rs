//! `POST /api/v1/compensation/evaluate`: the evaluation contract over HTTP, and the module that
//! brings it to the application. The claim names flights and facts, never a person: nothing
//! to audit, nothing stored.

use std::sync::Arc;

use aloft_authz::{Access, Permission, PermissionInfo, RoutePolicy};
use aloft_kernel::http::JsonBody;
use aloft_kernel::{ApiError, FieldError, Problem};
use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{Decisions, Rules, evaluate_json};

/// Judge a claim under the passenger-rights regimes (no personal data involved).
pub const COMPENSATION_EVALUATE: Permission = Permission::new("compensation.evaluate");

/// The permissions this crate registers.
pub const PERMISSIONS: &[PermissionInfo] = &[PermissionInfo {
    permission: COMPENSATION_EVALUATE,
    description: "Evaluate a passenger's entitlement under EU261, UK261, APPR and the Montreal Convention",
}];

/// Who may call each route.
pub const POLICY: &[RoutePolicy] = &[RoutePolicy::new(
    "POST",
    "/api/v1/compensation/evaluate",
    Access::Permission(COMPENSATION_EVALUATE),
)];

/// Evaluate a claim: one decision per regime, with reasons and legal citations.
#[utoipa::path(
    post,
    path = "/api/v1/compensation/evaluate",
    tag = "compensation",
    request_body(content = serde_json::Value, description = "A claim: `itinerary` (the flights of one booking), `disruption` (kind, cause and the facts the kind needs), `regimes` (null: every regime that applies). See README, Compensation."),
    responses(
        (status = 200, description = "One decision per regime evaluated", body = Decisions),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A fact is missing or invalid; every one is named by its JSON pointer", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn evaluate_claim(
    State(rules): State<Arc<Rules>>,
    JsonBody(claim): JsonBody,
) -> Result<Json<Decisions>, ApiError> {
    evaluate_json(&claim, &rules).map(Json).map_err(|errors| {
        ApiError::Invalid(
            errors
                .into_iter()
                .map(|e| FieldError::new(e.pointer, e.message))
                .collect(),
        )
    })
}

/// The passenger-rights engine as the application assembles it.
pub struct RightsModule {
    rules: Arc<Rules>,
}

impl RightsModule {
    /// The module judging by `rules`.
    pub fn new(rules: Rules) -> Self {
        Self {
            rules: Arc::new(rules),
        }
    }
}

impl aloft_module::DomainModule for RightsModule {
    fn name(&self) -> &'static str {
        "compensation"
    }

    fn permissions(&self) -> Vec<PermissionInfo> {
        PERMISSIONS.to_vec()
    }

    fn policies(&self) -> Vec<RoutePolicy> {
        [POLICY, crate::pages::POLICY].concat()
    }

    fn page_routes(&self) -> axum::Router {
        crate::pages::routes(self.rules.clone())
    }

    fn navigation(&self) -> Vec<aloft_web::NavEntry> {
        vec![aloft_web::NavEntry {
            section: crate::pages::SECTION,
            href: "/compensation/claim",
            label: "Compensation",
            summary: "What a disrupted passenger is owed, with the reasons and the law.",
            access: Access::Permission(COMPENSATION_EVALUATE),
            order: 40,
        }]
    }

    fn api_routes(&self) -> OpenApiRouter {
        OpenApiRouter::new()
            .routes(routes!(evaluate_claim))
            .with_state(self.rules.clone())
    }

    fn api_tags(&self) -> Vec<(&'static str, &'static str)> {
        vec![(
            "compensation",
            "Passenger rights: what a disrupted passenger is owed, with reasons and citations",
        )]
    }
}
