//! Automatic processing over the stores: a disruption judged for every passenger of the flight,
//! proposals stored once per passenger × flight × regime (the table's unique key), approval
//! below the limit at once, the rest by a customer affairs executive; every approval emits one
//! payment instruction and queues one mail to the passenger, in the transaction that approves.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use aloft_customers::{CustomerId, CustomerStore};
use aloft_kernel::audit::{AccessContext, Auditor};
use aloft_kernel::db::{from_db_time, now, to_db_time};
use aloft_kernel::events::CloudEvent;
use aloft_kernel::{Database, StorageError, WriteTx};
use aloft_mail::{Mailer, Message};
use aloft_rights::Rules;
use aloft_travel::TravelStore;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::Row;

use crate::events::{self, PaymentInstructed, Proposed};
use crate::model::{self, FlightDisruption, Method, Passage, Settings, Status};

/// The mail template of an approved compensation.
pub const APPROVED_TEMPLATE: &str = "compensation-approved";

/// Why a person's decision on a proposal was refused.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// No such proposal.
    #[error("no such proposal")]
    NotFound,
    /// Decided before (approved, rejected), or nothing to decide (not owed, awaiting facts).
    #[error("the proposal is {0}, not pending")]
    NotPending(String),
    /// Facts were given for a proposal that is not waiting for them.
    #[error("the proposal is {0}, not awaiting facts")]
    NotAwaitingFacts(String),
    /// The payment form is not allowed for the regime.
    #[error("{0}")]
    Method(&'static str),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Why a passenger's claim could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// The flight is not on any booking of the passenger.
    #[error("the flight is not on one of your bookings")]
    NotYourFlight,
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What a passenger's claim gave: the proposals about the flight, and whether this claim made
/// them (`false`: they existed — an earlier claim, or the airline's own processing).
#[derive(Debug, Clone)]
pub struct Claimed {
    /// Whether this claim stored them.
    pub created: bool,
    /// Every proposal about the passenger and the flight, one per regime.
    pub proposals: Vec<Proposal>,
}

impl Proposal {
    /// Whether it came from the passenger's own claim rather than a disruption the airline
    /// reported (its disruption id is then `claim:<id>`, which names no reported disruption).
    pub fn from_claim(&self) -> bool {
        self.disruption_id.starts_with("claim:")
    }
}

/// What processing a disruption did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Processed {
    /// The disruption (the same id for every replay of the same flight and kind).
    pub disruption_id: String,
    /// The flight (`LH400 2026-07-01`).
    pub flight: String,
    /// Passengers found on the flight's bookings.
    pub passengers: usize,
    /// Proposals made now (a replay makes none).
    pub created: usize,
    /// Of those, approved at once (below the automatic limit).
    pub approved: usize,
    /// Of those, queued for a customer affairs executive.
    pub pending: usize,
    /// Of those, waiting for a fact (arrival after a missed connection).
    pub awaiting_facts: usize,
    /// Proposals that existed already (replayed event): left as they were.
    pub already_proposed: usize,
    /// Goodwill benefits given under the published policy (miles, vouchers, lounge access).
    pub goodwill_awarded: usize,
}

/// One stored proposal.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Proposal {
    /// Its id.
    pub id: String,
    /// The passenger's profile.
    pub customer_id: String,
    /// The flight (`LH400 2026-07-01`).
    pub flight: String,
    /// `EU261`, `UK261`, `APPR`, `MONTREAL`.
    pub regime: String,
    /// The disruption that caused it.
    pub disruption_id: String,
    /// The booking (PNR) judged.
    pub record_locator: Option<String>,
    /// `pending`, `approved`, `rejected`, `not_owed`, `awaiting_facts`.
    pub status: String,
    /// What is owed (`null` when nothing is, or not yet known).
    pub amount: Option<String>,
    /// Its currency.
    pub currency: Option<String>,
    /// The rights engine's decision: eligible, reasons, citations, reductions, distance.
    #[schema(value_type = Object)]
    pub decision: Value,
    /// How it is paid, once approved.
    pub method: Option<String>,
    /// `auto` or the approving person's id.
    pub decided_by: Option<String>,
    /// How the passenger asked to be paid (`cash`, `voucher`, `miles`), if they chose.
    pub preferred_method: Option<String>,
    /// When the passenger agreed to a voucher or miles (Art. 7(3)), if they did.
    pub method_agreed_at: Option<String>,
    /// When approved or rejected.
    pub decided_at: Option<DateTime<Utc>>,
    /// When proposed.
    pub created_at: DateTime<Utc>,
}

/// A disruption as received.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Disruption {
    /// Its id.
    pub id: String,
    /// The flight (`LH400 2026-07-01`).
    pub flight: String,
    /// `delay` or `cancellation`.
    pub kind: String,
    /// The cause category.
    pub cause: String,
    /// The event as first received.
    #[schema(value_type = Object)]
    pub document: Value,
    /// When first received.
    pub received_at: DateTime<Utc>,
    /// How many times it was received again.
    pub replays: i64,
}

/// Compensation processing over the stores it reads and writes.
#[derive(Clone)]
pub struct Compensation {
    pub(crate) db: Database,
    travel: TravelStore,
    customers: CustomerStore,
    mailer: Mailer,
    rules: Arc<Rules>,
    settings: Arc<std::sync::RwLock<Arc<Settings>>>,
    pub(crate) auditor: Option<Auditor>,
}

const PROPOSAL_COLUMNS: &str = "id, customer_id, flight, regime, disruption_id, record_locator, status, amount, currency, decision, method, decided_by, decided_at, created_at";
/// What a read returns: the stored columns and the passenger's choice of payment.
const READ_COLUMNS: &str = "id, customer_id, flight, regime, disruption_id, record_locator, status, amount, currency, decision, method, decided_by, decided_at, created_at, preferred_method, method_agreed_at";

/// A proposal about to be stored (pure result of judging one passenger).
struct Draft {
    customer: CustomerId,
    regime: String,
    record_locator: Option<String>,
    status: Status,
    amount: Option<(String, String)>,
    decision: Value,
}

impl Compensation {
    /// Processing with `rules` and `settings`.
    pub fn new(
        db: Database,
        travel: TravelStore,
        customers: CustomerStore,
        mailer: Mailer,
        rules: Rules,
        settings: Settings,
        auditor: Option<Auditor>,
    ) -> Self {
        Self {
            db,
            travel,
            customers,
            mailer,
            rules: Arc::new(rules),
            settings: Arc::new(std::sync::RwLock::new(Arc::new(settings))),
            auditor,
        }
    }

    /// The travel store (bookings by flight).
    pub fn travel(&self) -> &TravelStore {
        &self.travel
    }

    /// The rules the engine judges by.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Judges `disruption` for every passenger of the flight and stores what is new.
    ///
    /// Idempotent: a passenger × flight × regime already proposed is left alone (the unique key
    /// decides, also between two processes replaying at once), so a replay neither proposes,
    /// pays nor mails twice.
    ///
    /// # Errors
    /// Storage failures; nothing is stored then.
    pub async fn process(
        &self,
        ctx: &AccessContext,
        disruption: &FlightDisruption,
        document: &Value,
    ) -> Result<Processed, StorageError> {
        // Settings saved by another instance apply from this processing on.
        self.refresh_settings().await?;
        let flight = disruption.flight_key();
        let manifest = self.travel.flight_manifest(&flight, None).await?;
        let existing: BTreeSet<(String, String)> =
            sqlx::query("SELECT customer_id, regime FROM compensation_proposals WHERE flight = $1")
                .bind(&flight)
                .fetch_all(self.db.pool())
                .await?
                .iter()
                .map(|r| Ok((r.try_get("customer_id")?, r.try_get("regime")?)))
                .collect::<Result<_, sqlx::Error>>()?;
        // Passengers whose goodwill was decided by an earlier run: a replay decides it again
        // for nobody (their facts are not re-derived from a partial picture).
        let goodwill_known: BTreeSet<String> = sqlx::query_scalar(
            "SELECT customer_id FROM compensation_goodwill_facts WHERE flight = $1",
        )
        .bind(&flight)
        .fetch_all(self.db.pool())
        .await?
        .into_iter()
        .collect();
        let mut goodwill_due = Vec::new();
        let mut seen = BTreeSet::new();
        let mut drafts = Vec::new();
        let mut already = 0;
        for p in &manifest {
            if !seen.insert(p.customer_id) {
                continue;
            }
            let record_locator = p
                .booking
                .get("record_locator")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let judged = self.judge(p.customer_id, &p.booking, disruption, record_locator);
            if !goodwill_known.contains(&p.customer_id.to_string()) {
                let owed = judged.iter().any(|d| d.amount.is_some());
                goodwill_due.push((
                    p.customer_id,
                    model::delay_minutes(&p.booking, disruption),
                    owed,
                ));
            }
            for draft in judged {
                if existing.contains(&(draft.customer.to_string(), draft.regime.clone())) {
                    already += 1;
                } else {
                    drafts.push(draft);
                }
            }
        }
        let approved_customers: BTreeSet<CustomerId> = drafts
            .iter()
            .filter(|d| d.status == Status::Approved)
            .map(|d| d.customer)
            .collect();
        // Goodwill depends on the tier: the profiles of passengers decided for the first time
        // are read with the contacts of those to notify (one read each, audited once).
        let tiers_for: BTreeSet<CustomerId> = goodwill_due.iter().map(|g| g.0).collect();
        let (contacts, tiers) = self.contacts(ctx, approved_customers, tiers_for).await?;
        let goodwill_facts: Vec<(CustomerId, crate::goodwill::Facts)> = goodwill_due
            .into_iter()
            .map(|(customer, delay, owed)| {
                (
                    customer,
                    crate::goodwill::Facts {
                        tier: tiers
                            .get(&customer)
                            .cloned()
                            .unwrap_or_else(|| "none".into()),
                        kind: disruption.kind.as_str().into(),
                        delay_minutes: delay,
                        legally_owed: owed,
                    },
                )
            })
            .collect();
        let policy = self.published_goodwill().await?;

        let mut tx = self.db.begin_write().await?;
        let at = to_db_time(now());
        sqlx::query(
            "INSERT INTO compensation_disruptions (id, flight, kind, cause, document, received_at, replays) \
             VALUES ($1, $2, $3, $4, $5, $6, 0) \
             ON CONFLICT (flight, kind) DO UPDATE SET replays = compensation_disruptions.replays + 1",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(&flight)
        .bind(disruption.kind.as_str())
        .bind(&disruption.cause)
        .bind(document.to_string())
        .bind(&at)
        .execute(tx.conn())
        .await?;
        let disruption_id: String = sqlx::query_scalar(
            "SELECT id FROM compensation_disruptions WHERE flight = $1 AND kind = $2",
        )
        .bind(&flight)
        .bind(disruption.kind.as_str())
        .fetch_one(tx.conn())
        .await?;
        let mut out = Processed {
            disruption_id: disruption_id.clone(),
            flight: flight.clone(),
            passengers: seen.len(),
            created: 0,
            approved: 0,
            pending: 0,
            awaiting_facts: 0,
            already_proposed: already,
            goodwill_awarded: 0,
        };
        // Multi-row inserts; `RETURNING` names the rows this transaction added, so a
        // proposal another process inserted meanwhile is neither announced nor paid twice.
        let drafts: Vec<(String, Draft)> = drafts
            .into_iter()
            .map(|d| (uuid::Uuid::now_v7().to_string(), d))
            .collect();
        let backend = aloft_kernel::Backend::of(tx.conn());
        let mut inserted = BTreeSet::new();
        for chunk in drafts.chunks(PROPOSALS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO compensation_proposals ({PROPOSAL_COLUMNS}) VALUES {} \
                 ON CONFLICT (customer_id, flight, regime) DO NOTHING RETURNING id",
                backend.values_rows(chunk.len(), 14)
            );
            let mut q = sqlx::query(&sql);
            for (id, d) in chunk {
                let (amount, currency) = d.amount.clone().unzip();
                let auto = d.status == Status::Approved;
                q = q
                    .bind(id.clone())
                    .bind(d.customer.to_string())
                    .bind(flight.clone())
                    .bind(d.regime.clone())
                    .bind(disruption_id.clone())
                    .bind(d.record_locator.clone())
                    .bind(d.status.as_str())
                    .bind(amount)
                    .bind(currency)
                    .bind(d.decision.to_string())
                    .bind(auto.then_some(Method::Cash.as_str()))
                    .bind(auto.then_some("auto"))
                    .bind(auto.then(|| at.clone()))
                    .bind(at.clone());
            }
            for row in q.fetch_all(tx.conn()).await? {
                inserted.insert(row.try_get::<String, _>("id")?);
            }
        }
        let mut announced = Vec::new();
        let mut paid = Vec::new();
        for (id, d) in &drafts {
            if !inserted.contains(id) {
                out.already_proposed += 1;
                continue;
            }
            out.created += 1;
            match d.status {
                Status::Approved => out.approved += 1,
                Status::Pending => out.pending += 1,
                Status::AwaitingFacts => out.awaiting_facts += 1,
                _ => {}
            }
            announced.push(CloudEvent::of(&Proposed {
                proposal_id: id.clone(),
                customer_id: d.customer.to_string(),
                flight: flight.clone(),
                regime: d.regime.clone(),
                status: d.status.as_str().into(),
            }));
            if let (Status::Approved, Some((amount, currency))) = (d.status, &d.amount) {
                paid.push(Paid {
                    proposal_id: id,
                    customer: d.customer,
                    flight: &flight,
                    regime: &d.regime,
                    amount,
                    currency,
                    method: Method::Cash,
                    approved_by: "auto",
                });
            }
        }
        announced.extend(paid.iter().map(payment_event));
        tx.emit_all(&announced).await?;
        out.goodwill_awarded = self
            .award_goodwill(&mut tx, &flight, policy.as_ref(), &goodwill_facts)
            .await?;
        for p in &paid {
            self.queue_mail(&mut tx, p, contacts.get(&p.customer))
                .await?;
        }
        tx.audit(&[ctx.entry(
            events::audit::DISRUPTION_PROCESSED,
            "flight",
            Some(flight.clone()),
            vec!["proposals".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// A passenger's own claim about `disruption` (built from their statement, cause unknown):
    /// judged on the booking that holds the flight and stored as proposals, one per regime —
    /// none approved without a person, since the facts are the passenger's word.
    ///
    /// The unique passenger × flight × regime key makes a second claim, or a claim after the
    /// airline's own processing of the flight, a no-op that returns the proposals there are.
    ///
    /// # Errors
    /// The flight is not on one of the passenger's bookings; storage failures (nothing stored).
    pub async fn claim(
        &self,
        ctx: &AccessContext,
        customer: CustomerId,
        disruption: &FlightDisruption,
    ) -> Result<Claimed, ClaimError> {
        // Settings saved by another instance apply from this processing on.
        self.refresh_settings().await?;
        let flight = disruption.flight_key();
        let existing = self.of_customer_on(customer, &flight).await?;
        if !existing.is_empty() {
            return Ok(Claimed {
                created: false,
                proposals: existing,
            });
        }
        let booking = self
            .travel
            .flight_manifest(&flight, None)
            .await?
            .into_iter()
            .find(|p| p.customer_id == customer)
            .ok_or(ClaimError::NotYourFlight)?
            .booking;
        let record_locator = booking
            .get("record_locator")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let claim_id = format!("claim:{}", uuid::Uuid::now_v7());
        let at = to_db_time(now());
        let mut tx = self.db.begin_write().await?;
        let mut announced = Vec::new();
        for mut d in self.judge(customer, &booking, disruption, record_locator) {
            if d.status == Status::Approved {
                d.status = Status::Pending;
            }
            let id = uuid::Uuid::now_v7().to_string();
            let (amount, currency) = d.amount.clone().unzip();
            let added = sqlx::query(&format!(
                "INSERT INTO compensation_proposals ({PROPOSAL_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, NULL, NULL, $11) \
                 ON CONFLICT (customer_id, flight, regime) DO NOTHING"
            ))
            .bind(&id)
            .bind(customer.to_string())
            .bind(&flight)
            .bind(&d.regime)
            .bind(&claim_id)
            .bind(d.record_locator.clone())
            .bind(d.status.as_str())
            .bind(amount)
            .bind(currency)
            .bind(d.decision.to_string())
            .bind(&at)
            .execute(tx.conn())
            .await
            .map_err(StorageError::from)?
            .rows_affected();
            if added == 1 {
                announced.push(CloudEvent::of(&Proposed {
                    proposal_id: id,
                    customer_id: customer.to_string(),
                    flight: flight.clone(),
                    regime: d.regime.clone(),
                    status: d.status.as_str().into(),
                }));
            }
        }
        tx.emit_all(&announced).await?;
        tx.audit(&[ctx.entry(
            events::audit::CLAIM_RECEIVED,
            "customer",
            Some(customer.to_string()),
            vec!["compensation".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(Claimed {
            created: !announced.is_empty(),
            proposals: self.of_customer_on(customer, &flight).await?,
        })
    }

    /// A passenger's proposals about one flight (`LH400 2026-07-01`).
    async fn of_customer_on(
        &self,
        customer: CustomerId,
        flight: &str,
    ) -> Result<Vec<Proposal>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {READ_COLUMNS} FROM compensation_proposals WHERE customer_id = $1 AND flight = $2 ORDER BY regime"
        ))
        .bind(customer.to_string())
        .bind(flight)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(decode).collect()
    }

    /// The settings processing and claims follow now (as last read from the database).
    pub fn settings(&self) -> Arc<Settings> {
        self.settings
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// Reads the newest saved settings (if the CMP manager saved any) so that every instance
    /// applies a change from its next processing on; the code's defaults until then.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn refresh_settings(&self) -> Result<Arc<Settings>, StorageError> {
        let saved: Option<String> = sqlx::query_scalar(
            "SELECT document FROM compensation_settings ORDER BY version DESC LIMIT 1",
        )
        .fetch_optional(self.db.pool())
        .await?;
        if let Some(doc) = saved {
            let base = self.settings();
            let parsed = serde_json::from_str::<Value>(&doc)
                .ok()
                .and_then(|v| model::parse_settings(&v, &base).ok())
                .ok_or_else(|| StorageError::Corrupt("compensation settings".into()))?;
            let fresh = Arc::new(parsed);
            if let Ok(mut guard) = self.settings.write() {
                *guard = fresh.clone();
            }
            return Ok(fresh);
        }
        Ok(self.settings())
    }

    /// Saves new settings (a new version, audited) and applies them here at once.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn save_settings(
        &self,
        ctx: &AccessContext,
        settings: Settings,
    ) -> Result<i64, StorageError> {
        let mut tx = self.db.begin_write().await?;
        // A write first (the write slot on SQLite); the primary key refuses a duplicate number.
        sqlx::query("UPDATE compensation_settings SET version = version WHERE version = -1")
            .execute(tx.conn())
            .await?;
        let version: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) + 1 FROM compensation_settings")
                .fetch_one(tx.conn())
                .await?;
        sqlx::query(
            "INSERT INTO compensation_settings (version, document, created_by, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(version)
        .bind(model::settings_document(&settings).to_string())
        .bind(&ctx.actor.id)
        .bind(to_db_time(now()))
        .execute(tx.conn())
        .await?;
        tx.audit(&[ctx.entry(
            events::audit::SETTINGS_CHANGED,
            "compensation_settings",
            Some(version.to_string()),
            vec![
                "auto_approve_up_to".into(),
                "minimum_connection_minutes".into(),
            ],
            "success",
        )])
        .await?;
        tx.commit().await?;
        if let Ok(mut guard) = self.settings.write() {
            *guard = Arc::new(settings);
        }
        Ok(version)
    }

    /// The proposals of one passenger of a disrupted flight (pure but for the rules).
    fn judge(
        &self,
        customer: CustomerId,
        booking: &Value,
        disruption: &FlightDisruption,
        record_locator: Option<String>,
    ) -> Vec<Draft> {
        let draft = |regime: &str, status: Status, amount, decision| Draft {
            customer,
            regime: regime.to_owned(),
            record_locator: record_locator.clone(),
            status,
            amount,
            decision,
        };
        let settings = self.settings();
        match model::passage(
            booking,
            disruption,
            settings.minimum_connection,
            &settings.carriers,
        ) {
            Err(e) => vec![draft(
                "ALL",
                Status::AwaitingFacts,
                None,
                json!({"eligible": false, "reasons": [e.to_string()], "citations": []}),
            )],
            Ok(Passage::MissedConnection { connection }) => vec![draft(
                "ALL",
                Status::AwaitingFacts,
                None,
                json!({
                    "eligible": false,
                    "reasons": [format!("The delay made the passenger miss the connection to {connection}; the arrival at the final destination is not known yet, so the claim is not judged until it is.")],
                    "citations": ["CJEU C-11/11 Folkerts (delay judged at the final destination)"],
                    "missed_connection": connection,
                }),
            )],
            Ok(Passage::Claim(claim)) => match aloft_rights::evaluate_json(&claim, &self.rules) {
                Err(errors) => vec![draft(
                    "ALL",
                    Status::AwaitingFacts,
                    None,
                    json!({
                        "eligible": false,
                        "reasons": errors.iter().map(|e| format!("{}: {}", e.pointer, e.message)).collect::<Vec<_>>(),
                        "citations": [],
                    }),
                )],
                Ok(decisions) => decisions
                    .decisions
                    .into_iter()
                    .map(|dec| {
                        let owed = dec.amount.as_ref().filter(|_| dec.eligible).and_then(|m| {
                            m.amount
                                .parse::<Decimal>()
                                .ok()
                                .map(|a| (m.currency.clone(), a))
                        });
                        let status =
                            settings.initial_status(owed.as_ref().map(|(c, a)| (c.as_str(), *a)));
                        let amount = owed.map(|(c, a)| (a.round_dp(2).to_string(), c));
                        let value = serde_json::to_value(&dec).unwrap_or(Value::Null);
                        draft(dec.regime, status, amount, value)
                    })
                    .collect(),
            },
        }
    }

    /// E-mail address and language of each customer to notify (`notify`), and the loyalty
    /// tier of each in `tiers_for`: one profile read per customer, audited as a read of those
    /// fields.
    async fn contacts(
        &self,
        ctx: &AccessContext,
        notify: BTreeSet<CustomerId>,
        tiers_for: BTreeSet<CustomerId>,
    ) -> Result<ContactsAndTiers, StorageError> {
        let customers: Vec<CustomerId> = notify.union(&tiers_for).copied().collect();
        // One query per 500 profiles (each opened with its own data key), not one round trip
        // per passenger: a storm of disruptions reads tens of thousands.
        let found = self.customers.get_all(&customers).await?;
        let mut out = HashMap::new();
        let mut tiers = HashMap::new();
        let mut entries = Vec::new();
        for c in found {
            let id = c.id;
            let mut fields = Vec::new();
            if tiers_for.contains(&id) {
                fields.push("loyalty_tier".to_owned());
                let tier = c.profile.loyalty_tier.map_or("none", |t| t.as_str());
                tiers.insert(id, tier.to_owned());
            }
            if notify.contains(&id) {
                fields.extend(["email".to_owned(), "preferences.language".to_owned()]);
                if let Some(email) = &c.profile.email {
                    let language = c
                        .profile
                        .preferences
                        .language
                        .as_ref()
                        .map_or("en", |l| l.as_str())
                        .to_owned();
                    out.insert(id, (email.as_str().to_owned(), language));
                }
            }
            entries.push(ctx.entry(
                events::audit::CONTACT_READ,
                "customer",
                Some(id.to_string()),
                fields,
                "success",
            ));
        }
        if let Some(auditor) = &self.auditor
            && !entries.is_empty()
        {
            auditor
                .record_all(entries)
                .await
                .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        }
        Ok((out, tiers))
    }

    /// Emits the payment instruction and queues the passenger's mail, inside `tx`.
    async fn instruct_payment(
        &self,
        tx: &mut WriteTx,
        paid: &Paid<'_>,
        contact: Option<&(String, String)>,
    ) -> Result<(), StorageError> {
        tx.emit(&payment_event(paid)).await?;
        self.queue_mail(tx, paid, contact).await
    }

    /// Queues the passenger's mail of an approved compensation, inside `tx` (once per proposal:
    /// the idempotency key names it).
    async fn queue_mail(
        &self,
        tx: &mut WriteTx,
        paid: &Paid<'_>,
        contact: Option<&(String, String)>,
    ) -> Result<(), StorageError> {
        if let Some((to, language)) = contact {
            let queued = self
                .mailer
                .queue(
                    tx,
                    Message {
                        to: to.clone(),
                        template: APPROVED_TEMPLATE.into(),
                        language: language.clone(),
                        params: json!({
                            "flight": paid.flight,
                            "amount": paid.amount,
                            "currency": paid.currency,
                            "regime": paid.regime,
                            "method": paid.method.as_str(),
                        }),
                        idempotency_key: format!("compensation:{}", paid.proposal_id),
                    },
                )
                .await;
            if let Err(e) = queued {
                // A bad address must not block the payment: Finance pays, the agent follows up.
                tracing::warn!(proposal = paid.proposal_id, error = %e, "compensation mail not queued");
            }
        }
        Ok(())
    }

    /// A customer affairs executive approves (paid as `method`) or rejects a pending proposal.
    ///
    /// # Errors
    /// Unknown or no longer pending proposal, a payment form the regime does not allow, storage.
    pub async fn decide(
        &self,
        ctx: &AccessContext,
        id: &str,
        approve: bool,
        method: Method,
        passenger_agreed: bool,
    ) -> Result<Proposal, DecideError> {
        let p = self.proposal(id).await?.ok_or(DecideError::NotFound)?;
        if p.status != Status::Pending.as_str() {
            return Err(DecideError::NotPending(p.status));
        }
        if approve {
            model::method_allowed(&p.regime, method, passenger_agreed)
                .map_err(DecideError::Method)?;
        }
        let customer = CustomerId::parse(&p.customer_id)
            .ok_or_else(|| StorageError::Corrupt(format!("proposal {id}: bad customer id")))?;
        let contacts = if approve {
            self.contacts(ctx, BTreeSet::from([customer]), BTreeSet::new())
                .await?
                .0
        } else {
            HashMap::new()
        };
        let status = if approve {
            Status::Approved
        } else {
            Status::Rejected
        };
        let mut tx = self.db.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE compensation_proposals SET status = $1, method = $2, decided_by = $3, decided_at = $4 \
             WHERE id = $5 AND status = 'pending'",
        )
        .bind(status.as_str())
        .bind(approve.then_some(method.as_str()))
        .bind(&ctx.actor.id)
        .bind(to_db_time(now()))
        .bind(id)
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?
        .rows_affected();
        if changed == 0 {
            // Decided by someone else in between: nothing changes.
            return Err(DecideError::NotPending("decided".into()));
        }
        if let (true, Some(amount), Some(currency)) = (approve, &p.amount, &p.currency) {
            let paid = Paid {
                proposal_id: id,
                customer,
                flight: &p.flight,
                regime: &p.regime,
                amount,
                currency,
                method,
                approved_by: &ctx.actor.id,
            };
            self.instruct_payment(&mut tx, &paid, contacts.get(&customer))
                .await?;
        }
        tx.audit(&[ctx.entry(
            events::audit::PROPOSAL_DECIDED,
            "compensation_proposal",
            Some(id.to_owned()),
            vec!["status".into(), "method".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        self.proposal(id).await?.ok_or(DecideError::NotFound)
    }

    /// Completes a proposal waiting for facts: the passenger who missed a connection reached
    /// the final destination at `final_arrival`. The booking is judged again as one journey with
    /// that arrival, and the waiting proposal is replaced by one per regime — approved at once
    /// below the automatic limit (with payment and mail, as when a disruption is processed),
    /// otherwise queued — in one transaction; a second call finds nothing waiting (409).
    ///
    /// # Errors
    /// Unknown proposal, not waiting for facts, the disruption or booking no longer readable,
    /// storage.
    pub async fn complete_facts(
        &self,
        ctx: &AccessContext,
        id: &str,
        final_arrival: chrono::DateTime<chrono::FixedOffset>,
    ) -> Result<Vec<Proposal>, DecideError> {
        // Settings saved by another instance apply from this processing on.
        self.refresh_settings().await?;
        let p = self.proposal(id).await?.ok_or(DecideError::NotFound)?;
        if p.status != Status::AwaitingFacts.as_str() {
            return Err(DecideError::NotAwaitingFacts(p.status));
        }
        let document: String =
            sqlx::query_scalar("SELECT document FROM compensation_disruptions WHERE id = $1")
                .bind(&p.disruption_id)
                .fetch_optional(self.db.pool())
                .await
                .map_err(StorageError::from)?
                .ok_or(DecideError::NotFound)?;
        let disruption = serde_json::from_str::<Value>(&document)
            .ok()
            .and_then(|d| model::parse_disruption(&d).ok())
            .ok_or_else(|| StorageError::Corrupt(format!("disruption {}", p.disruption_id)))?;
        let customer = CustomerId::parse(&p.customer_id)
            .ok_or_else(|| StorageError::Corrupt(format!("proposal {id}: bad customer id")))?;
        let mut booking = self
            .travel
            .flight_manifest(&p.flight, None)
            .await?
            .into_iter()
            .find(|m| m.customer_id == customer)
            .ok_or(DecideError::NotFound)?
            .booking;
        if let Some(last) = booking
            .get_mut("segments")
            .and_then(Value::as_array_mut)
            .and_then(|s| s.last_mut())
        {
            last["actual_arrival"] = json!(final_arrival.to_rfc3339());
        }
        let drafts = self.judge(customer, &booking, &disruption, p.record_locator.clone());
        let notify: BTreeSet<CustomerId> = drafts
            .iter()
            .filter(|d| d.status == Status::Approved)
            .map(|d| d.customer)
            .collect();
        let (contacts, _) = self.contacts(ctx, notify, BTreeSet::new()).await?;

        let mut tx = self.db.begin_write().await?;
        let taken = sqlx::query(
            "DELETE FROM compensation_proposals WHERE id = $1 AND status = 'awaiting_facts'",
        )
        .bind(id)
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?
        .rows_affected();
        if taken == 0 {
            // Completed by someone else in between: nothing changes.
            return Err(DecideError::NotAwaitingFacts("completed".into()));
        }
        let at = to_db_time(now());
        let mut made = Vec::new();
        for d in &drafts {
            let new_id = uuid::Uuid::now_v7().to_string();
            let (amount, currency) = d.amount.clone().unzip();
            let auto = d.status == Status::Approved;
            sqlx::query(&format!(
                "INSERT INTO compensation_proposals ({PROPOSAL_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            ))
            .bind(&new_id)
            .bind(customer.to_string())
            .bind(&p.flight)
            .bind(&d.regime)
            .bind(&p.disruption_id)
            .bind(d.record_locator.clone())
            .bind(d.status.as_str())
            .bind(amount)
            .bind(currency)
            .bind(d.decision.to_string())
            .bind(auto.then_some(Method::Cash.as_str()))
            .bind(auto.then_some("auto"))
            .bind(auto.then(|| at.clone()))
            .bind(&at)
            .execute(tx.conn())
            .await
            .map_err(StorageError::from)?;
            tx.emit(&CloudEvent::of(&Proposed {
                proposal_id: new_id.clone(),
                customer_id: customer.to_string(),
                flight: p.flight.clone(),
                regime: d.regime.clone(),
                status: d.status.as_str().into(),
            }))
            .await?;
            if let (Status::Approved, Some((amount, currency))) = (d.status, &d.amount) {
                let paid = Paid {
                    proposal_id: &new_id,
                    customer,
                    flight: &p.flight,
                    regime: &d.regime,
                    amount,
                    currency,
                    method: Method::Cash,
                    approved_by: "auto",
                };
                self.instruct_payment(&mut tx, &paid, contacts.get(&customer))
                    .await?;
            }
            made.push(new_id);
        }
        tx.audit(&[ctx.entry(
            events::audit::FACTS_COMPLETED,
            "compensation_proposal",
            Some(id.to_owned()),
            vec!["final_arrival".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        let mut out = Vec::new();
        for new_id in made {
            out.extend(self.proposal(&new_id).await?);
        }
        Ok(out)
    }

    /// The passenger chooses how a pending proposal of theirs is paid: money, or — by choosing
    /// it, their agreement (Art. 7(3)) — a travel voucher or miles where the regime allows. The
    /// executive's approval then pays as chosen.
    ///
    /// # Errors
    /// Not the passenger's or unknown (`NotFound`), no longer pending, a form the regime does
    /// not allow, storage.
    pub async fn choose_method(
        &self,
        ctx: &AccessContext,
        customer: CustomerId,
        id: &str,
        method: Method,
    ) -> Result<Proposal, DecideError> {
        let p = self
            .proposal(id)
            .await?
            .filter(|p| p.customer_id == customer.to_string())
            .ok_or(DecideError::NotFound)?;
        model::method_allowed(&p.regime, method, true).map_err(DecideError::Method)?;
        let mut tx = self.db.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE compensation_proposals SET preferred_method = $1, method_agreed_at = $2 \
             WHERE id = $3 AND customer_id = $4 AND status = 'pending'",
        )
        .bind(method.as_str())
        .bind((method != Method::Cash).then(|| to_db_time(now())))
        .bind(id)
        .bind(customer.to_string())
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?
        .rows_affected();
        if changed == 0 {
            return Err(DecideError::NotPending(p.status));
        }
        tx.audit(&[ctx.entry(
            events::audit::METHOD_CHOSEN,
            "compensation_proposal",
            Some(id.to_owned()),
            vec!["preferred_method".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        self.proposal(id).await?.ok_or(DecideError::NotFound)
    }

    /// Records that `ctx` was shown the proposals of `customer` (audited before they are shown).
    ///
    /// # Errors
    /// The audit trail is unavailable: show nothing.
    pub async fn audit_read(
        &self,
        ctx: &AccessContext,
        customer: &str,
    ) -> Result<(), StorageError> {
        if let Some(auditor) = &self.auditor {
            auditor
                .record(ctx.entry(
                    crate::pages::READ,
                    "customer",
                    Some(customer.to_owned()),
                    vec!["compensation".into()],
                    "success",
                ))
                .await
                .map_err(|e| StorageError::Unavailable(e.to_string()))?;
        }
        Ok(())
    }

    /// One proposal.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn proposal(&self, id: &str) -> Result<Option<Proposal>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {READ_COLUMNS} FROM compensation_proposals WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?;
        row.as_ref().map(decode).transpose()
    }

    /// Proposals in `status`, oldest first (the approval queue), at most `limit`.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn queue(&self, status: Status, limit: i64) -> Result<Vec<Proposal>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {READ_COLUMNS} FROM compensation_proposals WHERE status = $1 ORDER BY created_at, id LIMIT $2"
        ))
        .bind(status.as_str())
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(decode).collect()
    }

    /// A passenger's proposals, newest first.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn of_customer(&self, customer: CustomerId) -> Result<Vec<Proposal>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {READ_COLUMNS} FROM compensation_proposals WHERE customer_id = $1 ORDER BY created_at DESC, id DESC"
        ))
        .bind(customer.to_string())
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(decode).collect()
    }

    /// A disruption and its proposals.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn disruption(
        &self,
        id: &str,
    ) -> Result<Option<(Disruption, Vec<Proposal>)>, StorageError> {
        let Some(row) = sqlx::query(
            "SELECT id, flight, kind, cause, document, received_at, replays FROM compensation_disruptions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        else {
            return Ok(None);
        };
        let d = decode_disruption(&row)?;
        let rows = sqlx::query(&format!(
            "SELECT {READ_COLUMNS} FROM compensation_proposals WHERE disruption_id = $1 ORDER BY customer_id, regime"
        ))
        .bind(id)
        .fetch_all(self.db.pool())
        .await?;
        Ok(Some((
            d,
            rows.iter().map(decode).collect::<Result<_, _>>()?,
        )))
    }

    /// The newest disruptions.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn disruptions(&self, limit: i64) -> Result<Vec<Disruption>, StorageError> {
        let rows = sqlx::query(
            "SELECT id, flight, kind, cause, document, received_at, replays FROM compensation_disruptions ORDER BY received_at DESC, id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(decode_disruption).collect()
    }
}

/// The contacts of the passengers to notify (e-mail, language) and the tiers asked for.
type ContactsAndTiers = (
    HashMap<CustomerId, (String, String)>,
    HashMap<CustomerId, String>,
);

/// Proposals per multi-row insert (14 values each: well under every backend's limit).
const PROPOSALS_PER_STATEMENT: usize = 200;

/// The payment instruction of an approved proposal.
fn payment_event(paid: &Paid<'_>) -> CloudEvent {
    CloudEvent::of(&PaymentInstructed {
        proposal_id: paid.proposal_id.to_owned(),
        customer_id: paid.customer.to_string(),
        flight: paid.flight.to_owned(),
        regime: paid.regime.to_owned(),
        amount: paid.amount.to_owned(),
        currency: paid.currency.to_owned(),
        method: paid.method.as_str().into(),
        approved_by: if paid.approved_by == "auto" {
            "auto".into()
        } else {
            "person".into()
        },
    })
}

/// An approved payment, as instructed.
struct Paid<'a> {
    proposal_id: &'a str,
    customer: CustomerId,
    flight: &'a str,
    regime: &'a str,
    amount: &'a str,
    currency: &'a str,
    method: Method,
    approved_by: &'a str,
}

fn decode(r: &sqlx::any::AnyRow) -> Result<Proposal, StorageError> {
    let id: String = r.try_get("id")?;
    let corrupt = |what: &str| StorageError::Corrupt(format!("proposal {id}: bad {what}"));
    let decision: String = r.try_get("decision")?;
    let decided_at: Option<String> = r.try_get("decided_at")?;
    let created_at: String = r.try_get("created_at")?;
    Ok(Proposal {
        customer_id: r.try_get("customer_id")?,
        flight: r.try_get("flight")?,
        regime: r.try_get("regime")?,
        disruption_id: r.try_get("disruption_id")?,
        record_locator: r.try_get("record_locator")?,
        status: r.try_get("status")?,
        amount: r.try_get("amount")?,
        currency: r.try_get("currency")?,
        decision: serde_json::from_str(&decision).map_err(|_| corrupt("decision"))?,
        method: r.try_get("method")?,
        decided_by: r.try_get("decided_by")?,
        preferred_method: r.try_get("preferred_method")?,
        method_agreed_at: r.try_get("method_agreed_at")?,
        decided_at: decided_at
            .map(|t| from_db_time(&t))
            .transpose()
            .map_err(|_| corrupt("decided_at"))?,
        created_at: from_db_time(&created_at).map_err(|_| corrupt("created_at"))?,
        id,
    })
}

fn decode_disruption(r: &sqlx::any::AnyRow) -> Result<Disruption, StorageError> {
    let id: String = r.try_get("id")?;
    let document: String = r.try_get("document")?;
    let received: String = r.try_get("received_at")?;
    Ok(Disruption {
        flight: r.try_get("flight")?,
        kind: r.try_get("kind")?,
        cause: r.try_get("cause")?,
        document: serde_json::from_str(&document)
            .map_err(|_| StorageError::Corrupt(format!("disruption {id}: bad document")))?,
        received_at: from_db_time(&received)?,
        replays: r.try_get("replays")?,
        id,
    })
}

/// The mail template of an approved compensation (registered by the composition root).
pub fn mail_templates() -> Vec<aloft_mail::Template> {
    use aloft_mail::{Template, Translation};
    vec![
        Template::new(
            APPROVED_TEMPLATE,
            Translation::new(
                "Your compensation for flight {{flight}}",
                "We are sorry your journey on {{flight}} was disrupted. Under {{regime}} you are owed {{amount}} {{currency}}, which we are paying as {{method}}. You need do nothing more: the payment is on its way.",
            ),
        )
        .language(
            "de",
            Translation::new(
                "Ihre Entschädigung für Flug {{flight}}",
                "Es tut uns leid, dass Ihre Reise mit {{flight}} gestört war. Nach {{regime}} stehen Ihnen {{amount}} {{currency}} zu, die wir als {{method}} auszahlen. Sie müssen nichts weiter tun.",
            ),
        ),
    ]
}
