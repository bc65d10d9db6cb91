//! Next best action served and recorded (migration 0034): the arbitration of [`crate::nba`]
//! fed with one customer's facts derived now, their consents from the privacy register and
//! their real offer history; offers made and the customer's answers, each with its event and
//! audit record in one transaction; the report by action.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use aloft_kernel::db::{from_db_time, to_db_time};
use aloft_kernel::events::CloudEvent;
use aloft_kernel::{AccessContext, ApiError, Database, FieldError, StorageError};

use crate::events::{OfferAnswered, OfferMade, audit};
use crate::nba::{
    self, Action, CURRENCY, Channel, Consents, Contact, ContactPolicy, Decision, OFFER_TTL_DAYS,
    Outcome, decimal,
};
use crate::storage::{SegmentStore, write_facts_on};

/// Why an offer operation did not happen (nothing changed).
#[derive(Debug, thiserror::Error)]
pub enum OfferError {
    /// No such customer or offer.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The contact policy or eligibility forbids it now, or the offer was already answered or
    /// has expired: a conflict with the current state, named by its field.
    #[error("{}", .0.detail)]
    Conflict(FieldError),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<sqlx::Error> for OfferError {
    fn from(e: sqlx::Error) -> Self {
        OfferError::Storage(e.into())
    }
}

impl From<OfferError> for ApiError {
    fn from(e: OfferError) -> Self {
        match e {
            OfferError::NotFound(what) => ApiError::NotFound(what),
            OfferError::Conflict(f) => ApiError::Conflict(f),
            OfferError::Storage(e) => e.into(),
        }
    }
}

/// An amount as the API shows it: a decimal string and its currency.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Amount {
    /// Decimal text (`"250.00"`), never a JSON number.
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
}

impl Amount {
    fn of(minor: i64) -> Self {
        Self {
            amount: decimal(minor),
            currency: CURRENCY.to_owned(),
        }
    }
}

/// The action chosen for a customer now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChosenAction {
    /// The action's code (`service_recovery_voucher`).
    pub code: String,
    /// What the agent sees.
    pub label: String,
    /// The channel to offer it on (`agent`, `email`, `sms`, `push`, `outbound_call`).
    pub channel: String,
    /// Cost to the airline.
    pub cost: Amount,
    /// Expected value.
    pub expected_value: Amount,
    /// Expected value − cost.
    pub net_value: Amount,
}

/// How one action of the catalogue fared.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsideredAction {
    /// The action's code.
    pub code: String,
    /// Its label.
    pub label: String,
    /// `chosen`, `not_eligible`, `frequency_cap`, `quiet_period`, `no_consent` or
    /// `lower_value`.
    pub outcome: String,
    /// Why, in a sentence.
    pub reason: String,
    /// The channel it would use, when one is allowed.
    pub channel: Option<String>,
    /// Expected value − cost.
    pub net_value: Amount,
}

/// A customer's next best action with its explanation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NextBestAction {
    /// The customer.
    pub customer_id: String,
    /// The action to offer now; `null` when none is both eligible and allowed.
    pub action: Option<ChosenAction>,
    /// Why it won, in a sentence.
    pub explanation: String,
    /// Every action of the catalogue, best net value first, with why it was passed over.
    pub considered: Vec<ConsideredAction>,
    /// When it was decided (RFC 3339 UTC).
    pub decided_at: String,
}

impl NextBestAction {
    fn of(customer: &str, d: &Decision, now: DateTime<Utc>) -> Self {
        Self {
            customer_id: customer.to_owned(),
            action: d.chosen.as_ref().map(|c| ChosenAction {
                code: c.action.code.to_owned(),
                label: c.action.label.to_owned(),
                channel: c.channel.as_str().to_owned(),
                cost: Amount::of(c.action.cost_minor),
                expected_value: Amount::of(c.action.expected_value_minor),
                net_value: Amount::of(c.action.net_value_minor()),
            }),
            explanation: d.explanation.clone(),
            considered: d
                .considered
                .iter()
                .map(|c| ConsideredAction {
                    code: c.action.to_owned(),
                    label: c.label.to_owned(),
                    outcome: c.outcome.as_str().to_owned(),
                    reason: c.reason.clone(),
                    channel: c.channel.map(|ch| ch.as_str().to_owned()),
                    net_value: Amount::of(c.net_value_minor),
                })
                .collect(),
            decided_at: to_db_time(now),
        }
    }
}

/// An offer made to a customer and its outcome.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Offer {
    /// The offer.
    pub id: String,
    /// The customer.
    pub customer_id: String,
    /// The action's code.
    pub action: String,
    /// The channel.
    pub channel: String,
    /// Cost when it was made.
    pub cost: Amount,
    /// Expected value when it was made.
    pub expected_value: Amount,
    /// `offered` (waiting for the answer), `accepted`, `declined` or `expired` (no answer
    /// within the offer's time to live).
    pub status: String,
    /// When it was made (RFC 3339 UTC).
    pub offered_at: String,
    /// Who made it (actor id).
    pub offered_by: String,
    /// When the customer answered.
    pub outcome_at: Option<String>,
    /// Who recorded the answer.
    pub outcome_by: Option<String>,
}

/// One line of the report by action.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportLine {
    /// The action's code.
    pub action: String,
    /// Its label.
    pub label: String,
    /// Offers made in the period.
    pub offered: i64,
    /// Of them, accepted.
    pub accepted: i64,
    /// Of them, declined.
    pub declined: i64,
    /// Of them, unanswered past their time to live.
    pub expired: i64,
    /// Accepted ÷ offered, in percent with one decimal place, as text (`"33.3"`); `null` when
    /// nothing was offered.
    pub acceptance_rate: Option<String>,
}

/// `accepted / offered` in percent, one decimal place, rounded half up; integer arithmetic.
pub fn rate(accepted: i64, offered: i64) -> Option<String> {
    if offered <= 0 {
        return None;
    }
    let tenths = (accepted * 1000 + offered / 2) / offered;
    Some(format!("{}.{}", tenths / 10, tenths % 10))
}

/// Serves and records next best actions.
#[derive(Clone)]
pub struct Offers {
    db: Database,
    facts: SegmentStore,
    policy: ContactPolicy,
}

const COLUMNS: &str = "id, customer_id, action, channel, cost_minor, expected_value_minor, \
    currency, status, offered_at, offered_by, outcome_at, outcome_by";

fn decode(r: &sqlx::any::AnyRow, now: DateTime<Utc>) -> Result<Offer, StorageError> {
    let status: String = r.try_get("status")?;
    let offered_at: String = r.try_get("offered_at")?;
    let status = if status == "offered"
        && from_db_time(&offered_at)? + Duration::days(OFFER_TTL_DAYS) <= now
    {
        "expired".to_owned()
    } else {
        status
    };
    let currency: String = r.try_get("currency")?;
    let money = |minor: i64| Amount {
        amount: decimal(minor),
        currency: currency.clone(),
    };
    Ok(Offer {
        id: r.try_get("id")?,
        customer_id: r.try_get("customer_id")?,
        action: r.try_get("action")?,
        channel: r.try_get("channel")?,
        cost: money(r.try_get("cost_minor")?),
        expected_value: money(r.try_get("expected_value_minor")?),
        status,
        offered_at,
        offered_by: r.try_get("offered_by")?,
        outcome_at: r.try_get("outcome_at")?,
        outcome_by: r.try_get("outcome_by")?,
    })
}

/// What a decision was made from.
struct Inputs {
    facts: crate::storage::CustomerFacts,
    consents: Consents,
    history: Vec<Contact>,
}

impl Offers {
    /// The service on `db`, deriving facts with `facts`.
    pub fn new(db: Database, facts: SegmentStore) -> Self {
        Self {
            db,
            facts,
            policy: ContactPolicy::default(),
        }
    }

    /// The offers made to `customer` since `since`, newest first.
    pub async fn of_customer(
        &self,
        customer: &str,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Offer>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM analytics_offers WHERE customer_id = $1 AND offered_at >= $2 \
             ORDER BY offered_at DESC, id DESC"
        ))
        .bind(customer)
        .bind(to_db_time(since))
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(|r| decode(r, now)).collect()
    }

    async fn inputs(&self, customer: &str, now: DateTime<Utc>) -> Result<Inputs, OfferError> {
        let (facts, consents) = self
            .facts
            .derive_one_with_consents(customer, now)
            .await?
            .ok_or(OfferError::NotFound("customer"))?;
        let consents = Consents(consents);
        let mut conn = self.db.pool().acquire().await?;
        let history = history_on(&mut conn, customer, self.policy, now).await?;
        Ok(Inputs {
            facts,
            consents,
            history,
        })
    }

    /// The customer's next best action now, with why every other action was passed over.
    /// The read of their facts, consents and offers is audited before it is returned.
    pub async fn next_best_action(
        &self,
        customer: &str,
        ctx: &AccessContext,
        now: DateTime<Utc>,
    ) -> Result<NextBestAction, OfferError> {
        let i = self.inputs(customer, now).await?;
        let d = nba::arbitrate(
            nba::catalogue(),
            &i.facts,
            &i.consents,
            &i.history,
            self.policy,
            now,
        );
        let mut tx = self.db.begin_write().await?;
        tx.audit(&[ctx.entry(
            audit::NEXT_BEST_ACTION_READ,
            "customer",
            Some(customer.to_owned()),
            vec!["segment_facts".into(), "consents".into(), "offers".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(NextBestAction::of(customer, &d, now))
    }

    /// Records that `action` was offered to `customer` on `channel`, after checking again
    /// that the customer is eligible and the contact policy allows it (frequency cap, channel
    /// consent, quiet period) — a refusal is a conflict naming `/action` or `/channel`. The
    /// row, `aloft.offer.made` and the audit record commit together.
    ///
    /// With `answer` (an agent offering in a conversation and hearing the answer at once), the
    /// offer is recorded already answered — `aloft.offer.made` and `aloft.offer.accepted` or
    /// `declined` in the same transaction.
    pub async fn make(
        &self,
        customer: &str,
        action: &'static Action,
        channel: Channel,
        answer: Option<bool>,
        ctx: &AccessContext,
        now: DateTime<Utc>,
    ) -> Result<Offer, OfferError> {
        let i = self.inputs(customer, now).await?;
        let check = |history: &[Contact]| {
            nba::allowed(
                action,
                Some(channel),
                &i.facts,
                &i.consents,
                history,
                self.policy,
                now,
            )
            .map_err(|(outcome, reason)| {
                let pointer = match outcome {
                    Outcome::NoConsent | Outcome::QuietPeriod => "/channel",
                    _ => "/action",
                };
                OfferError::Conflict(FieldError::new(pointer, reason))
            })
        };
        check(&i.history)?;
        let mut tx = self.db.begin_write().await?;
        // Serialise offers to one customer: the upsert of their facts row locks it (PostgreSQL;
        // SQLite has one writer anyway), then the history is read again inside the transaction,
        // so two concurrent offers cannot both pass a frequency cap or the quiet period. The
        // facts row is refreshed with what was just derived. (The consent lock first: the
        // upsert locks the facts row, see `lock_against_consent_changes`.)
        crate::storage::lock_against_consent_changes(tx.conn(), self.db.backend()).await?;
        sqlx::query(
            "INSERT INTO analytics_customer_facts (customer_id, updated_at) VALUES ($1, $2) \
             ON CONFLICT (customer_id) DO UPDATE SET updated_at = excluded.updated_at",
        )
        .bind(customer)
        .bind(to_db_time(now))
        .execute(tx.conn())
        .await?;
        write_facts_on(
            tx.conn(),
            self.db.backend(),
            std::slice::from_ref(&i.facts),
            now,
            false,
        )
        .await?;
        let history = history_on(tx.conn(), customer, self.policy, now).await?;
        check(&history)?;
        let id = uuid::Uuid::now_v7().to_string();
        let status = match answer {
            None => "offered",
            Some(true) => "accepted",
            Some(false) => "declined",
        };
        let answered = answer.map(|_| (to_db_time(now), ctx.actor.id.clone()));
        sqlx::query(&format!(
            "INSERT INTO analytics_offers ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ))
        .bind(&id)
        .bind(customer)
        .bind(action.code)
        .bind(channel.as_str())
        .bind(action.cost_minor)
        .bind(action.expected_value_minor)
        .bind(CURRENCY)
        .bind(status)
        .bind(to_db_time(now))
        .bind(&ctx.actor.id)
        .bind(answered.as_ref().map(|a| a.0.clone()))
        .bind(answered.as_ref().map(|a| a.1.clone()))
        .execute(tx.conn())
        .await?;
        tx.emit(&CloudEvent::of(&OfferMade {
            offer_id: id.clone(),
            customer_id: customer.to_owned(),
            action: action.code.to_owned(),
            channel: channel.as_str().to_owned(),
            cost: decimal(action.cost_minor),
            expected_value: decimal(action.expected_value_minor),
            currency: CURRENCY.to_owned(),
        }))
        .await?;
        let mut entries = vec![ctx.entry(
            audit::OFFER_MADE,
            "customer",
            Some(customer.to_owned()),
            vec!["offers".into()],
            "success",
        )];
        if answer.is_some() {
            tx.emit(&CloudEvent::of(&OfferAnswered {
                offer_id: id.clone(),
                customer_id: customer.to_owned(),
                action: action.code.to_owned(),
                channel: channel.as_str().to_owned(),
                outcome: status.to_owned(),
            }))
            .await?;
            entries.push(ctx.entry(
                audit::OFFER_ANSWERED,
                "customer",
                Some(customer.to_owned()),
                vec!["offers".into()],
                "success",
            ));
        }
        tx.audit(&entries).await?;
        tx.commit().await?;
        Ok(Offer {
            id,
            customer_id: customer.to_owned(),
            action: action.code.to_owned(),
            channel: channel.as_str().to_owned(),
            cost: Amount::of(action.cost_minor),
            expected_value: Amount::of(action.expected_value_minor),
            status: status.into(),
            offered_at: to_db_time(now),
            offered_by: ctx.actor.id.clone(),
            outcome_at: answered.as_ref().map(|a| a.0.clone()),
            outcome_by: answered.map(|a| a.1),
        })
    }

    /// One offer.
    pub async fn get(&self, id: &str, now: DateTime<Utc>) -> Result<Option<Offer>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM analytics_offers WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|r| decode(&r, now)).transpose()
    }

    /// Records the customer's answer (`accepted` or `declined`) to an offer — once: the
    /// update only matches an offer still waiting within its time to live, so of two
    /// concurrent answers one wins and the other is a conflict. The change, its event and the
    /// audit record commit together.
    pub async fn answer(
        &self,
        id: &str,
        accepted: bool,
        ctx: &AccessContext,
        now: DateTime<Utc>,
    ) -> Result<Offer, OfferError> {
        let outcome = if accepted { "accepted" } else { "declined" };
        let mut tx = self.db.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE analytics_offers SET status = $1, outcome_at = $2, outcome_by = $3 \
             WHERE id = $4 AND status = 'offered' AND offered_at > $5",
        )
        .bind(outcome)
        .bind(to_db_time(now))
        .bind(&ctx.actor.id)
        .bind(id)
        .bind(to_db_time(now - Duration::days(OFFER_TTL_DAYS)))
        .execute(tx.conn())
        .await?
        .rows_affected();
        if changed == 0 {
            drop(tx);
            return Err(match self.get(id, now).await? {
                None => OfferError::NotFound("offer"),
                Some(o) if o.status == "expired" => OfferError::Conflict(FieldError::new(
                    "/outcome",
                    format!("the offer expired {OFFER_TTL_DAYS} days after it was made"),
                )),
                Some(o) => OfferError::Conflict(FieldError::new(
                    "/outcome",
                    format!("the offer was already answered: {}", o.status),
                )),
            });
        }
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM analytics_offers WHERE id = $1"
        ))
        .bind(id)
        .fetch_one(tx.conn())
        .await?;
        let offer = decode(&row, now)?;
        tx.emit(&CloudEvent::of(&OfferAnswered {
            offer_id: offer.id.clone(),
            customer_id: offer.customer_id.clone(),
            action: offer.action.clone(),
            channel: offer.channel.clone(),
            outcome: outcome.to_owned(),
        }))
        .await?;
        tx.audit(&[ctx.entry(
            audit::OFFER_ANSWERED,
            "customer",
            Some(offer.customer_id.clone()),
            vec!["offers".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(offer)
    }

    /// Demo data: the best action offered to up to 60 demo travellers over the last three
    /// weeks, a third accepted, a third declined, a third unanswered (older ones then count as
    /// expired), so the report means something at once. Idempotent: nothing when any offer
    /// exists. Returns how many were made.
    pub async fn demo_offers(
        &self,
        travellers: &[String],
        seed: u64,
        now: DateTime<Utc>,
    ) -> Result<usize, OfferError> {
        let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM analytics_offers")
            .fetch_one(self.db.pool())
            .await?;
        if existing > 0 {
            return Ok(0);
        }
        let ctx = AccessContext::system("demo");
        let mut made = 0;
        for (i, customer) in travellers.iter().take(60).enumerate() {
            let at = now - Duration::days((i % 21) as i64) - Duration::hours((i % 7) as i64);
            let inputs = match self.inputs(customer, at).await {
                Ok(i) => i,
                Err(OfferError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            let d = nba::arbitrate(
                nba::catalogue(),
                &inputs.facts,
                &inputs.consents,
                &inputs.history,
                self.policy,
                at,
            );
            let Some(c) = d.chosen else { continue };
            let answer = match (seed as usize + i) % 3 {
                0 => Some(true),
                1 => Some(false),
                _ => None,
            };
            match self
                .make(customer, c.action, c.channel, answer, &ctx, at)
                .await
            {
                Ok(_) => made += 1,
                Err(OfferError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(made)
    }

    /// Offers made in `[from, to)` by action, every action of the catalogue listed (in
    /// catalogue order), then any action no longer in it.
    pub async fn report(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<ReportLine>, StorageError> {
        let rows = sqlx::query(
            "SELECT action, COUNT(*) AS offered, \
             SUM(CASE WHEN status = 'accepted' THEN 1 ELSE 0 END) AS accepted, \
             SUM(CASE WHEN status = 'declined' THEN 1 ELSE 0 END) AS declined, \
             SUM(CASE WHEN status = 'offered' AND offered_at <= $3 THEN 1 ELSE 0 END) AS expired \
             FROM analytics_offers WHERE offered_at >= $1 AND offered_at < $2 GROUP BY action",
        )
        .bind(to_db_time(from))
        .bind(to_db_time(to))
        .bind(to_db_time(now - Duration::days(OFFER_TTL_DAYS)))
        .fetch_all(self.db.pool())
        .await?;
        let mut counts = std::collections::BTreeMap::new();
        for r in &rows {
            let action: String = r.try_get("action")?;
            let n = |c: &str| -> Result<i64, StorageError> { Ok(r.try_get::<i64, _>(c)?) };
            counts.insert(
                action,
                (n("offered")?, n("accepted")?, n("declined")?, n("expired")?),
            );
        }
        let mut lines = Vec::new();
        for a in nba::catalogue() {
            let c = counts.remove(a.code).unwrap_or_default();
            lines.push(line(a.code, a.label, c));
        }
        for (code, c) in counts {
            lines.push(line(&code, "(no longer in the catalogue)", c));
        }
        Ok(lines)
    }
}

fn line(
    code: &str,
    label: &str,
    (offered, accepted, declined, expired): (i64, i64, i64, i64),
) -> ReportLine {
    ReportLine {
        action: code.to_owned(),
        label: label.to_owned(),
        offered,
        accepted,
        declined,
        expired,
        acceptance_rate: rate(accepted, offered),
    }
}

/// The customer's offers within the contact policy's window (30 days, or the quiet period if
/// longer), as the arbitration needs them, read on `conn` (inside a transaction when given).
async fn history_on(
    conn: &mut sqlx::AnyConnection,
    customer: &str,
    policy: ContactPolicy,
    now: DateTime<Utc>,
) -> Result<Vec<Contact>, StorageError> {
    let since = now - Duration::days(30.max(policy.quiet_days));
    let rows = sqlx::query(
        "SELECT action, channel, offered_at FROM analytics_offers \
         WHERE customer_id = $1 AND offered_at >= $2",
    )
    .bind(customer)
    .bind(to_db_time(since))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let at: String = r.try_get("offered_at")?;
            Ok(Contact {
                action: r.try_get("action")?,
                channel: r.try_get("channel")?,
                at: from_db_time(&at)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acceptance_rate_is_exact_text() {
        assert_eq!(rate(1, 3).as_deref(), Some("33.3"));
        assert_eq!(rate(2, 3).as_deref(), Some("66.7"));
        assert_eq!(rate(3, 3).as_deref(), Some("100.0"));
        assert_eq!(rate(0, 5).as_deref(), Some("0.0"));
        assert_eq!(rate(0, 0), None);
    }
}
