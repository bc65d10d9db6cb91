//! Demo data-subject requests (`aloft serve --demo`): a few open requests of the demo travellers
//! at different points of their deadline — one overdue, one due soon, some on track — so the DPO
//! console and a request's page have something to show. Idempotent: nothing is added once any
//! request exists.

use aloft_kernel::AccessContext;
use aloft_kernel::db::to_db_time;
use aloft_module::{DemoContext, DemoData};
use futures_util::future::BoxFuture;

use crate::requests::{NewRequest, RequestKind, RequestState, Transition, deadline};
use crate::service::Requests;

/// (kind, channel, what they wrote, days since receipt, state reached).
const SAMPLES: &[(RequestKind, &str, &str, u64, RequestState)] = &[
    (
        RequestKind::Access,
        "email",
        "Please send me a copy of all personal data you hold about me.",
        40,
        RequestState::InProgress,
    ),
    (
        RequestKind::Erasure,
        "letter",
        "I no longer fly with you. Delete my account and everything about me.",
        26,
        RequestState::IdentityVerified,
    ),
    (
        RequestKind::Objection,
        "web",
        "Stop using my travel history for offers.",
        3,
        RequestState::Received,
    ),
    (
        RequestKind::Rectification,
        "phone",
        "My surname is misspelt on my profile.",
        10,
        RequestState::Received,
    ),
    (
        RequestKind::Portability,
        "self_service",
        "",
        1,
        RequestState::IdentityVerified,
    ),
];

/// Loads the demo requests.
pub struct Demo(pub Requests);

impl DemoData for Demo {
    fn load<'a>(&'a self, demo: &'a DemoContext) -> BoxFuture<'a, anyhow::Result<Option<String>>> {
        Box::pin(async move {
            let db = self.0.consents().db();
            let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM privacy_requests")
                .fetch_one(db.pool())
                .await?;
            if existing > 0 || demo.travellers.is_empty() {
                return Ok(None);
            }
            let ctx = AccessContext::system("demo");
            let b = db.backend();
            let mut opened = 0;
            for (customer, (kind, channel, details, days, state)) in
                demo.travellers.iter().skip(3).zip(SAMPLES)
            {
                let new = NewRequest {
                    customer_id: customer.to_string(),
                    kind: *kind,
                    channel,
                    details: (*details).to_owned(),
                };
                let r = self
                    .0
                    .open(&new, None, &ctx)
                    .await
                    .map_err(|e| anyhow::anyhow!("demo request: {e}"))?;
                let path = [RequestState::IdentityVerified, RequestState::InProgress];
                let upto = path.iter().position(|s| s == state).map_or(0, |i| i + 1);
                for to in &path[..upto] {
                    let t = Transition {
                        to: *to,
                        note: "Checked against the booking and the e-mail on file".into(),
                        purposes: Vec::new(),
                        corrected_fields: Vec::new(),
                    };
                    self.0
                        .transition(&r.id, &t, &ctx)
                        .await
                        .map_err(|e| anyhow::anyhow!("demo request: {e}"))?;
                }
                // Received earlier than now: the deadline follows the receipt.
                let received = demo.now - chrono::Days::new(*days);
                let at = to_db_time(received);
                sqlx::query(&format!(
                    "UPDATE privacy_requests SET received_at = {}, deadline = {} WHERE id = {}",
                    b.param(1),
                    b.param(2),
                    b.param(3)
                ))
                .bind(&at)
                .bind(deadline(received).format("%Y-%m-%d").to_string())
                .bind(&r.id)
                .execute(db.pool())
                .await?;
                sqlx::query(&format!(
                    "UPDATE privacy_request_steps SET at = {} WHERE request_id = {} AND to_state = 'received'",
                    b.param(1),
                    b.param(2)
                ))
                .bind(&at)
                .bind(&r.id)
                .execute(db.pool())
                .await?;
                opened += 1;
            }
            Ok(Some(format!(
                "{opened} data-subject requests on the privacy console"
            )))
        })
    }
}
