//! Demo privacy data (`aloft serve --demo`):
//! - the demo travellers' consents, as they would have given them on the website, in the app
//!   or by phone — most allow personalised offers, fewer marketing by each channel, a few object
//!   to analytics — so offers, audiences and the consent statistics have a realistic mix
//!   (deterministic by the traveller's place in the list); added once, while no consent is held;
//! - a few open data-subject requests at different points of their deadline — one overdue, one
//!   due soon, some on track — so the DPO console and a request's page have something to show;
//!   added once, while no request exists.

use aloft_kernel::AccessContext;
use aloft_kernel::db::to_db_time;
use aloft_module::{DemoContext, DemoData};
use futures_util::future::BoxFuture;

use crate::model::{ConsentChange, purpose};
use crate::requests::{NewRequest, RequestKind, RequestState, Transition, deadline};
use crate::service::Requests;
use crate::store::insert_change;

/// Which demo travellers give which consent: (purpose, channel, touchpoint, the traveller's
/// index modulo `of` below `share`, granted). Roughly: three in four allow personalisation, three
/// in five marketing e-mail, three in ten texts, two in five app push, one in three disruption
/// alerts by SMS; one in seventeen objected to analytics.
const CONSENTS: &[(&str, &str, &str, u64, u64, bool)] = &[
    ("personalisation", "any", "web", 4, 3, true),
    ("marketing_email", "email", "web", 5, 3, true),
    ("marketing_sms", "sms", "app", 10, 3, true),
    ("marketing_push", "push", "app", 5, 2, true),
    ("disruption_alerts", "sms", "app", 3, 1, true),
    ("analytics", "any", "contact_centre", 17, 1, false),
];

/// Records the demo travellers' consents through the one consent writer (history, state, mask,
/// event, audit), 500 changes a transaction. Returns how many were recorded; none while any
/// consent is held.
async fn load_consents(r: &Requests, demo: &DemoContext) -> anyhow::Result<usize> {
    let db = r.consents().db();
    let held: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM privacy_consents")
        .fetch_one(db.pool())
        .await?;
    if held > 0 {
        return Ok(0);
    }
    let ctx = AccessContext::system("demo");
    let mut changes = Vec::new();
    for (i, customer) in demo.travellers.iter().enumerate() {
        for (code, channel, source, of, share, granted) in CONSENTS {
            if (i as u64 + demo.seed) % of >= *share {
                continue;
            }
            let p = purpose(code).ok_or_else(|| anyhow::anyhow!("demo purpose {code}"))?;
            let basis = if *granted {
                "consent"
            } else {
                p.bases[p.bases.len() - 1]
            };
            changes.push((
                *customer,
                ConsentChange {
                    purpose: p,
                    channel,
                    granted: *granted,
                    lawful_basis: basis,
                    notice_version: p.notices[p.notices.len() - 1].0,
                    source,
                    proof: format!("demo {source} preference record {}", i + 1),
                },
            ));
        }
    }
    for part in changes.chunks(500) {
        let mut tx = db.begin_write().await?;
        for (customer, change) in part {
            insert_change(&mut tx, *customer, change, &ctx).await?;
        }
        tx.commit().await?;
    }
    Ok(changes.len())
}

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
            if demo.travellers.is_empty() {
                return Ok(None);
            }
            let consents = load_consents(&self.0, demo).await?;
            let db = self.0.consents().db();
            let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM privacy_requests")
                .fetch_one(db.pool())
                .await?;
            if existing > 0 {
                return Ok(
                    (consents > 0).then(|| format!("{consents} consents of demo travellers"))
                );
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
                "{consents} consents of demo travellers; {opened} data-subject requests on the privacy console"
            )))
        })
    }
}
