//! `POST /api/v1/segments/preview`: how many customers a rule selects (the segment builder's
//! live count), and the module that brings analytics to the application. A count reveals no
//! one, so nothing is audited; a rule with an unknown field or a wrong type is a 422 naming it.

use std::sync::Arc;

use aloft_authz::{Access, Permission, PermissionInfo, RoutePolicy};
use aloft_kernel::http::JsonBody;
use aloft_kernel::jobs::{JobError, JobHandler, Schedule, handler_fn};
use aloft_kernel::{ApiError, FieldError, Problem};
use aloft_module::{DemoContext, DemoData};
use axum::Json;
use axum::extract::State;
use futures_util::future::BoxFuture;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::segment::parse;
use crate::storage::SegmentStore;

/// Build customer segments and see their size (no one is listed).
pub const SEGMENT_BUILD: Permission = Permission::new("segment.build");

/// The permissions this crate registers.
pub const PERMISSIONS: &[PermissionInfo] = &[PermissionInfo {
    permission: SEGMENT_BUILD,
    description: "Build customer segments from rules and preview how many customers they hold",
}];

/// Who may call each route.
pub const POLICY: &[RoutePolicy] = &[RoutePolicy::new(
    "POST",
    "/api/v1/segments/preview",
    Access::Permission(SEGMENT_BUILD),
)];

/// The size of a segment now.
#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    /// Customers the rule selects.
    pub count: u64,
    /// When it was counted (RFC 3339 UTC).
    pub counted_at: String,
}

/// Count the customers a segment rule selects.
#[utoipa::path(
    post,
    path = "/api/v1/segments/preview",
    tag = "analytics",
    request_body(content = serde_json::Value, description = "`{\"rule\": …}`: a condition `{field, op, value}` or a group `{all: […]}`, `{any: […]}`, `{not: …}`. Fields: see ARCHITECTURE, crates/analytics."),
    responses(
        (status = 200, description = "The count", body = Preview),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown field, operator or a wrong type, each named by its JSON pointer", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn preview(
    State(store): State<Arc<SegmentStore>>,
    JsonBody(body): JsonBody,
) -> Result<Json<Preview>, ApiError> {
    let Some(rule) = body.get("rule") else {
        return Err(ApiError::field("/rule", "missing: the segment rule"));
    };
    let rule = parse(rule).map_err(|errors| {
        ApiError::Invalid(
            errors
                .into_iter()
                .map(|e| FieldError::new(format!("/rule{}", e.pointer), e.detail))
                .collect(),
        )
    })?;
    let now = chrono::Utc::now();
    let count = store.count(&rule, now).await?;
    Ok(Json(Preview {
        count,
        counted_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }))
}

/// The job that derives every customer's segment facts again.
pub const REBUILD_JOB: &str = "analytics.facts.rebuild";

/// How often the facts are derived again (until they are kept current from events).
pub const REBUILD_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Demo data: the facts of the demo population, so segment counts mean something at once.
struct Demo(Arc<SegmentStore>);

impl DemoData for Demo {
    fn load<'a>(&'a self, demo: &'a DemoContext) -> BoxFuture<'a, anyhow::Result<Option<String>>> {
        Box::pin(async move {
            let n = self.0.rebuild(demo.now).await?;
            Ok(Some(format!("analytics: segment facts of {n} customers")))
        })
    }
}

/// Analytics as the application assembles it.
pub struct AnalyticsModule {
    store: Arc<SegmentStore>,
}

impl AnalyticsModule {
    /// The module on `store`.
    pub fn new(store: SegmentStore) -> Self {
        Self {
            store: Arc::new(store),
        }
    }
}

impl aloft_module::DomainModule for AnalyticsModule {
    fn name(&self) -> &'static str {
        "analytics"
    }

    fn permissions(&self) -> Vec<PermissionInfo> {
        PERMISSIONS.to_vec()
    }

    fn policies(&self) -> Vec<RoutePolicy> {
        POLICY.to_vec()
    }

    fn api_routes(&self) -> OpenApiRouter {
        OpenApiRouter::new()
            .routes(routes!(preview))
            .with_state(self.store.clone())
    }

    fn jobs(&self) -> Vec<(&'static str, Arc<dyn JobHandler>)> {
        let store = self.store.clone();
        vec![(
            REBUILD_JOB,
            handler_fn(move |_job| {
                let store = store.clone();
                async move {
                    store
                        .rebuild(chrono::Utc::now())
                        .await
                        .map(|_| ())
                        .map_err(JobError::from)
                }
            }),
        )]
    }

    fn schedules(&self) -> Vec<Schedule> {
        vec![Schedule::every(REBUILD_JOB, REBUILD_EVERY)]
    }

    fn demo_data(&self) -> Option<Arc<dyn DemoData>> {
        Some(Arc::new(Demo(self.store.clone())))
    }

    fn api_tags(&self) -> Vec<(&'static str, &'static str)> {
        vec![(
            "analytics",
            "Segments and personalisation: rules over travel, loyalty, preferences and sentiment",
        )]
    }
}
