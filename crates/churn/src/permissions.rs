//! What the churn domain lets roles do. The composition root grants these to roles.

use aloft_authz::{Permission, PermissionInfo};

/// See one customer's defection risk, expected value and the features behind them on the
/// 360° page or through the API. A customer-data permission (it reveals their travel,
/// complaints and spend in summary): for the roles that look after customers, not analysts.
pub const CHURN_SCORE_READ: Permission = Permission::new("churn.score.read");
/// See the model's performance (AUC, calibration, Brier, coefficients): aggregates only, no
/// customer. For data analysts and the CMP manager.
pub const CHURN_MODEL_READ: Permission = Permission::new("churn.model.read");

/// The permissions this crate registers.
pub const PERMISSIONS: &[PermissionInfo] = &[
    PermissionInfo {
        permission: CHURN_SCORE_READ,
        description: "See a customer's defection risk, expected value and the features that explain them",
    },
    PermissionInfo {
        permission: CHURN_MODEL_READ,
        description: "See the defection model's performance: AUC, calibration table, Brier score, coefficients",
    },
];
