//! The churn API and the module that brings the defection model to the application:
//! - `GET /api/v1/customers/{id}/churn` (`churn.score.read`): a customer's risk, expected
//!   value and top reasons, from the newest model; audited. Only with the customer's
//!   personalisation consent given now and processing unrestricted: else a 409 saying why.
//! - `GET /api/v1/models/churn` (`churn.model.read`): the newest model's validation metrics,
//!   calibration table and coefficients (aggregates only).

use std::sync::Arc;

use aloft_authz::{Access, PermissionInfo, RoutePolicy, RowScope};
use aloft_kernel::{AccessContext, ApiError, Problem};
use aloft_module::DemoData;
use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::model::{Coefficient, LeftOut, Metrics};
pub use crate::permissions::{CHURN_MODEL_READ, CHURN_SCORE_READ, PERMISSIONS};
use crate::storage::{ChurnError, ChurnStore, CustomerScore};

/// Who may call the API.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new(
        "GET",
        "/api/v1/customers/{id}/churn",
        Access::Permission(CHURN_SCORE_READ),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/models/churn",
        Access::Permission(CHURN_MODEL_READ),
    ),
];

/// Maps the domain's errors to problems.
pub fn api_error(e: ChurnError) -> ApiError {
    match e {
        ChurnError::Storage(s) => s.into(),
        ChurnError::NotFound => ApiError::NotFound("customer"),
        ChurnError::NoModel => ApiError::NotFound("churn model"),
        ChurnError::Train(t) => ApiError::Internal(t.to_string()),
        ChurnError::Withheld(why) => ApiError::Problem(
            Problem::new(
                axum::http::StatusCode::CONFLICT,
                "consent-required",
                "The customer may not be profiled",
            )
            .with_detail(format!("No retention risk: {}.", why.reason())),
        ),
    }
}

/// Whether the caller's row scope covers every customer. The roles holding
/// `churn.score.read` are unscoped; a scoped principal sees no score (fail closed).
pub fn sees_every_customer() -> bool {
    aloft_authz::current_principal().is_some_and(|p| matches!(p.scope, RowScope::All))
}

/// A customer's defection risk in the next six months, their expected value (spend) in that
/// window and the features that explain the risk most, in words. The read is audited.
#[utoipa::path(
    get,
    path = "/api/v1/customers/{id}/churn",
    tag = "churn",
    params(("id" = String, Path, description = "The customer id")),
    responses(
        (status = 200, description = "The score and its explanation", body = CustomerScore),
        (status = 404, description = "No such customer, or no model trained yet", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The customer has not given personalisation consent, or their processing is restricted: no score is computed (the detail says which)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn customer_churn(
    State(store): State<ChurnStore>,
    ctx: AccessContext,
    Path(id): Path<String>,
) -> Result<Json<CustomerScore>, ApiError> {
    if !sees_every_customer() {
        return Err(ApiError::NotFound("customer"));
    }
    store
        .score(&id, &ctx, aloft_kernel::db::now())
        .await
        .map(Json)
        .map_err(api_error)
}

/// The newest defection model as the model page shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelSummary {
    /// Row id.
    pub id: String,
    /// Version.
    pub version: i64,
    /// When it was trained.
    pub trained_at: String,
    /// The training cutoff.
    pub train_cutoff: String,
    /// The validation cutoff.
    pub validation_cutoff: String,
    /// The label window in days.
    pub window_days: i64,
    /// Validation results.
    pub metrics: Metrics,
    /// Weight per feature (standardised).
    pub coefficients: Vec<Coefficient>,
    /// Customers the training left out for the privacy register's `analytics` purpose.
    pub left_out: LeftOut,
}

/// The newest defection model's validation metrics (AUC, Brier, calibration by decile,
/// expected-value error) and coefficients. Aggregates only.
#[utoipa::path(
    get,
    path = "/api/v1/models/churn",
    tag = "churn",
    responses(
        (status = 200, description = "The newest model", body = ModelSummary),
        (status = 404, description = "No model trained yet", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn churn_model(State(store): State<ChurnStore>) -> Result<Json<ModelSummary>, ApiError> {
    summary(&store).await.map(Json).map_err(api_error)
}

/// The newest model's summary.
pub async fn summary(store: &ChurnStore) -> Result<ModelSummary, ChurnError> {
    let s = store.latest().await?.ok_or(ChurnError::NoModel)?;
    Ok(ModelSummary {
        coefficients: s.model.coefficients(),
        id: s.id,
        version: s.version,
        trained_at: s.model.trained_at,
        train_cutoff: s.model.train_cutoff,
        validation_cutoff: s.model.validation_cutoff,
        window_days: s.model.window_days,
        metrics: s.model.metrics,
        left_out: s.model.left_out,
    })
}

/// The defection model as the application assembles it.
pub struct ChurnModule {
    store: ChurnStore,
    travel: Option<aloft_travel::TravelStore>,
}

impl ChurnModule {
    /// The module on `store`.
    pub fn new(store: ChurnStore) -> Self {
        Self {
            store,
            travel: None,
        }
    }

    /// Records the demo history through `travel` (`aloft serve --demo`).
    pub fn with_travel(mut self, travel: aloft_travel::TravelStore) -> Self {
        self.travel = Some(travel);
        self
    }
}

impl aloft_module::DomainModule for ChurnModule {
    fn name(&self) -> &'static str {
        "churn"
    }

    fn permissions(&self) -> Vec<PermissionInfo> {
        PERMISSIONS.to_vec()
    }

    fn policies(&self) -> Vec<RoutePolicy> {
        [POLICY, crate::pages::POLICY].concat()
    }

    fn api_routes(&self) -> OpenApiRouter {
        OpenApiRouter::new()
            .routes(routes!(customer_churn))
            .routes(routes!(churn_model))
            .with_state(self.store.clone())
    }

    fn page_routes(&self) -> axum::Router {
        crate::pages::routes(self.store.clone())
    }

    fn navigation(&self) -> Vec<aloft_web::NavEntry> {
        vec![aloft_web::NavEntry {
            section: crate::pages::SECTION,
            href: crate::pages::PATH,
            label: "Defection model",
            summary: "How well the defection (churn) model predicts: AUC, calibration by \
                      decile, Brier score and what each feature weighs.",
            access: Access::Permission(CHURN_MODEL_READ),
            order: 66,
        }]
    }

    fn record_views(&self) -> Vec<aloft_web::RecordView> {
        crate::pages::record_views(self.store.clone())
    }

    fn events(&self) -> Vec<aloft_kernel::event_types::EventType> {
        crate::events::event_types()
    }

    fn demo_data(&self) -> Option<Arc<dyn DemoData>> {
        self.travel.clone().map(|travel| {
            Arc::new(crate::demo::Demo {
                store: self.store.clone(),
                travel,
            }) as Arc<dyn DemoData>
        })
    }

    fn api_tags(&self) -> Vec<(&'static str, &'static str)> {
        vec![(
            "churn",
            "Predictive models: a customer's defection risk and expected value, explained",
        )]
    }
}
