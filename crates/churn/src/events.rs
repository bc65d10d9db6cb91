//! What the churn domain publishes (a model was trained: ids and aggregate figures, never a
//! customer) and what it records in the audit trail.

use aloft_kernel::event_types::{DomainEvent, EventType};
use serde::Serialize;
use utoipa::ToSchema;

/// CloudEvents `source` of this domain.
pub const EVENT_SOURCE: &str = "/aloft/churn";

/// `aloft.model.trained`: a predictive model was trained and stored.
pub const MODEL_TRAINED: &str = "aloft.model.trained";

/// `aloft.model.trained`, version 1.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ModelTrained {
    /// The stored model.
    pub model_id: String,
    /// Its kind (`churn`).
    pub kind: String,
    /// Its version within the kind.
    pub version: i64,
    /// Validation AUC, a decimal string with three places.
    pub auc: String,
    /// Training rows (customers at the training cutoff).
    pub train_rows: u64,
    /// Validation rows (customers at the validation cutoff).
    pub validation_rows: u64,
}

impl DomainEvent for ModelTrained {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        MODEL_TRAINED
    }
    fn subject(&self) -> Option<String> {
        Some(self.model_id.clone())
    }
}

/// The event types this domain publishes.
pub fn event_types() -> Vec<EventType> {
    vec![EventType::of::<ModelTrained>(
        MODEL_TRAINED,
        "A predictive model (defection risk) was trained on the airline's history and stored.",
    )]
}

/// Audit actions of the churn domain.
pub mod audit {
    use aloft_kernel::audit::AuditAction;

    /// `churn.score_read`: a customer's defection risk, expected value and explanation (derived
    /// from their travel, feedback and spend) were shown.
    pub const SCORE_READ: AuditAction = AuditAction::new("churn.score_read");
    /// `churn.model_trained`: every customer's history was read to train a model, which was
    /// stored.
    pub const MODEL_TRAINED: AuditAction = AuditAction::new("churn.model_trained");

    /// Every action of this domain.
    pub const ALL: &[AuditAction] = &[SCORE_READ, MODEL_TRAINED];
}
