//! Irregular operations: a flight disruption opens (or links) a case for every affected
//! passenger, in bulk.
//!
//! How it arrives and why it runs once: `POST /api/v1/cases/disruptions` stores the report
//! (once per flight and kind; a replay finds it) and enqueues a `cases.disruption` job in the
//! same transaction, so a report acknowledged survives a restart and is processed by exactly one
//! runner across every instance. Processing is itself idempotent: each passenger's outcome is
//! a row keyed by disruption and customer, committed with their case, so a job retried after a
//! crash part-way through skips the passengers already done and a second run creates nothing.
//!
//! Why bulk: a cancelled wide-body flight is hundreds of passengers, a hub meltdown thousands,
//! all at once. The cases, their timeline entries, the passengers' outcome rows, the
//! CloudEvents and the audit entries are rendered ahead as multi-row statements
//! ([`Statements`]) and written a few thousand passengers per transaction; each passenger's
//! notification is queued with the mailer in the same transaction as their case.

use std::collections::{HashMap, HashSet};

use futures_util::{StreamExt, TryStreamExt};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use aloft_kernel::db::{from_db_time, now, to_db_time};
use aloft_kernel::jobs::{Jobs, NewJob};
use aloft_kernel::statements::Statements;
use aloft_kernel::{AccessContext, CloudEvent, StorageError};
use aloft_vocab::CustomerId;

use crate::events::{CaseLinked, CaseOpened, DisruptionProcessed, audit};
use crate::model::irregular::{
    AffectedPassenger, DISRUPTION_QUEUE, DisruptionKind, DisruptionReport, delay_of,
    departure_station, onward_connection, opens_cases, parse_report, prioritise_affected, score,
};
use crate::model::{Category, Prioritised, SlaClock, sla_targets};
use crate::service::{CaseError, Cases, Clocks, Facts, ManifestEntry, opt_time, short_ref};

/// Job kind that processes one reported disruption.
pub const DISRUPTION_JOB: &str = "cases.disruption";

/// Channel of the cases irregular operations open.
pub const CHANNEL: &str = "irregular_operations";

/// Mail template: the passenger's flight is disrupted and a case is open for them.
pub const TEMPLATE_DISRUPTION: &str = "case-disruption";

/// Passengers per write transaction: large enough that round trips do not dominate, small
/// enough that a retry after a failure redoes little and SQLite's write slot is released often.
const PASSENGERS_PER_TRANSACTION: usize = 1_000;

/// Batches written at once on PostgreSQL.
const BATCHES_AT_ONCE: usize = 4;

/// Rows per multi-row `INSERT` (27 values a case row: 5,400 parameters, under every limit).
const ROWS_PER_STATEMENT: usize = 200;

/// A disruption reported to case management, with what processing did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Disruption {
    /// Identifier (UUIDv7).
    pub id: String,
    /// The flight (`LH400 2026-07-01`).
    pub flight: String,
    /// `cancellation` or `delay`.
    pub kind: String,
    /// The reported delay, if given in minutes.
    pub delay_minutes: Option<i64>,
    /// When it was reported.
    pub received_at: DateTime<Utc>,
    /// `queued` until processed, then `done`.
    pub state: String,
    /// Passengers on the flight (processed).
    pub passengers: i64,
    /// Cases opened.
    pub opened: i64,
    /// Open cases the disruption was linked to instead.
    pub linked: i64,
    /// When processing finished.
    pub finished_at: Option<DateTime<Utc>>,
}

/// What one processing run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Processed {
    /// Distinct passengers booked on the flight.
    pub passengers: usize,
    /// Cases opened by this run.
    pub opened: usize,
    /// Open cases linked by this run.
    pub linked: usize,
    /// Passengers an earlier run had handled already.
    pub already: usize,
    /// Passengers whose delay is too short to open a case.
    pub not_affected: usize,
}

/// One affected passenger's plan: open a case or link to their open one.
struct Plan {
    customer: CustomerId,
    facts: Facts,
    record_locator: Option<String>,
    prioritised: Prioritised,
    score: i32,
    link: Option<String>,
    /// Where the disrupted flight leaves from: the case's business calendar.
    station: Option<String>,
}

/// The passenger notification's template (registered with the other case templates).
pub(crate) fn mail_template() -> aloft_mail::Template {
    use aloft_mail::{Template, Translation};
    Template::new(
        TEMPLATE_DISRUPTION,
        Translation::new(
            "Your flight {{flight}}: we are looking after you",
            "Your flight {{flight}} on {{date}} is {{what}}. We have opened case {{reference}} for you: our team will contact you about rebooking, care and your rights. Reply to this message to tell us what you need.",
        ),
    )
    .language(
        "de",
        Translation::new(
            "Ihr Flug {{flight}}: wir kümmern uns um Sie",
            "Ihr Flug {{flight}} am {{date}} ist {{what_de}}. Wir haben den Fall {{reference}} für Sie eröffnet; unser Team meldet sich zu Umbuchung, Betreuung und Ihren Rechten.",
        ),
    )
}

fn decode_disruption(r: &sqlx::any::AnyRow) -> Result<Disruption, StorageError> {
    let received: String = r.try_get("received_at")?;
    let finished: Option<String> = r.try_get("finished_at")?;
    Ok(Disruption {
        id: r.try_get("id")?,
        flight: r.try_get("flight")?,
        kind: r.try_get("kind")?,
        delay_minutes: r.try_get("delay_minutes")?,
        received_at: from_db_time(&received)?,
        state: r.try_get("state")?,
        passengers: r.try_get("passengers")?,
        opened: r.try_get("opened")?,
        linked: r.try_get("linked")?,
        finished_at: finished.as_deref().map(from_db_time).transpose()?,
    })
}

const DISRUPTION_COLUMNS: &str = "id, flight, kind, delay_minutes, received_at, state, \
    passengers, opened, linked, finished_at";

const CASE_INSERT: &str = "INSERT INTO cases (id, customer_id, category, subject, description, \
    channel, booking_reference, matter, state, is_open, workflow_version, priority, priority_rank, \
    priority_reasons, queue, assignee, language, opened_at, updated_at, last_agent_action_at, \
    clocks, first_response_due, next_response_due, resolution_due, sla_flags, version, flight, \
    station) VALUES ";
const CASE_COLUMNS: usize = 28;

impl Cases {
    /// Records a reported disruption and enqueues its processing, once per flight and kind:
    /// `true` when it is new, `false` when it had been reported before (nothing is added).
    pub async fn report_disruption(
        &self,
        report: &DisruptionReport,
        document: &serde_json::Value,
        ctx: &AccessContext,
    ) -> Result<(Disruption, bool), CaseError> {
        let flight = report.flight_key();
        let id = uuid::Uuid::now_v7().to_string();
        let mut tx = self.db.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO case_disruptions (id, flight, kind, delay_minutes, document, \
             received_at, state) VALUES ($1, $2, $3, $4, $5, $6, 'queued') \
             ON CONFLICT (flight, kind) DO NOTHING",
        )
        .bind(&id)
        .bind(&flight)
        .bind(report.kind.as_str())
        .bind(report.delay_minutes)
        .bind(document.to_string())
        .bind(to_db_time(now()))
        .execute(tx.conn())
        .await?
        .rows_affected()
            == 1;
        if inserted {
            Jobs::enqueue(
                &mut tx,
                NewJob::new(DISRUPTION_JOB, serde_json::json!({ "disruption": id }))
                    .dedupe(format!("{DISRUPTION_JOB}:{id}")),
            )
            .await?;
            tx.audit(&[ctx.entry(
                audit::DISRUPTION_REPORTED,
                "case_disruption",
                Some(id.clone()),
                vec!["flight".into(), "kind".into()],
                "success",
            )])
            .await?;
        }
        tx.commit().await?;
        let row = sqlx::query(&format!(
            "SELECT {DISRUPTION_COLUMNS} FROM case_disruptions WHERE flight = $1 AND kind = $2"
        ))
        .bind(&flight)
        .bind(report.kind.as_str())
        .fetch_one(self.db.pool())
        .await?;
        Ok((decode_disruption(&row)?, inserted))
    }

    /// A reported disruption, `None` if there is no such id.
    pub async fn disruption(&self, id: &str) -> Result<Option<Disruption>, StorageError> {
        sqlx::query(&format!(
            "SELECT {DISRUPTION_COLUMNS} FROM case_disruptions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        .map(|r| decode_disruption(&r))
        .transpose()
    }

    /// Processes a reported disruption (the `cases.disruption` job): for every passenger
    /// booked on the flight whom it affects, links it to their open case about the same flight
    /// or booking, or opens one — prioritised by tier, then special assistance, then an onward
    /// connection at risk — with its timeline entry, CloudEvent, audit entry and notification.
    /// Passengers handled by an earlier run are skipped, so running it again creates nothing.
    pub async fn process_disruption(&self, id: &str) -> Result<Processed, CaseError> {
        let ctx = AccessContext::system("cases");
        let row = sqlx::query(&format!(
            "SELECT {DISRUPTION_COLUMNS}, document FROM case_disruptions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or(CaseError::NotFound)?;
        let disruption = decode_disruption(&row)?;
        if disruption.state == "done" {
            // Processed before (a job replayed by hand, a retry after the last commit).
            return Ok(Processed {
                passengers: disruption.passengers as usize,
                already: (disruption.opened + disruption.linked) as usize,
                ..Processed::default()
            });
        }
        let document: String = row.try_get("document")?;
        let document: serde_json::Value = serde_json::from_str(&document)
            .map_err(|e| StorageError::Corrupt(format!("disruption {id}: {e}")))?;
        let report = parse_report(&document).map_err(|_| {
            StorageError::Corrupt(format!("disruption {id}: the stored report does not parse"))
        })?;
        let flight = report.flight_key();
        let manifest = self
            .manifest
            .as_ref()
            .ok_or_else(|| StorageError::Unavailable("no flight manifest is configured".into()))?;

        // Distinct passengers, each with their first booking holding the flight.
        let mut seen = HashSet::new();
        let entries: Vec<ManifestEntry> = manifest
            .passengers(&flight)
            .await?
            .into_iter()
            .filter(|e| seen.insert(e.customer))
            .collect();
        let done: HashSet<String> = sqlx::query(
            "SELECT customer_id FROM case_disruption_passengers WHERE disruption_id = $1",
        )
        .bind(id)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|r| r.try_get("customer_id"))
        .collect::<Result<_, _>>()?;
        let mut out = Processed {
            passengers: entries.len(),
            ..Processed::default()
        };
        let mut todo = Vec::new();
        for e in entries {
            if done.contains(&e.customer.to_string()) {
                out.already += 1;
            } else if !opens_cases(report.kind, delay_of(&report, &e.booking)) {
                out.not_affected += 1;
            } else {
                todo.push(e);
            }
        }

        let ids: Vec<CustomerId> = todo.iter().map(|e| e.customer).collect();
        let read_started = std::time::Instant::now();
        let (facts, open) = futures_util::future::try_join(
            self.customers.facts_many(&ids),
            self.open_cases_of(&ids),
        )
        .await?;
        let read_ms = read_started.elapsed().as_millis();
        let mut plans: Vec<Plan> = todo
            .into_iter()
            .map(|e| {
                let facts = facts.get(&e.customer).cloned().unwrap_or_default();
                let connection = onward_connection(&e.booking, &report.flight, report.date);
                let station = departure_station(&e.booking, &report.flight, report.date);
                let prioritised = prioritise_affected(
                    report.kind,
                    &flight,
                    delay_of(&report, &e.booking),
                    &AffectedPassenger {
                        tier: facts.tier.as_deref(),
                        special_assistance: facts.special_assistance,
                        connection: connection.as_deref(),
                    },
                );
                let record_locator = e.record_locator.map(|r| r.to_ascii_uppercase());
                let matter = matter_of(e.customer, record_locator.as_deref(), &flight);
                let link = open.get(&e.customer).and_then(|cases| {
                    cases
                        .iter()
                        .find(|c| {
                            c.flight.as_deref() == Some(flight.as_str())
                                || c.matter == matter
                                || (record_locator.is_some()
                                    && c.booking_reference.as_deref().map(str::to_ascii_uppercase)
                                        == record_locator)
                        })
                        .map(|c| c.id.clone())
                });
                Plan {
                    customer: e.customer,
                    score: score(&prioritised),
                    prioritised,
                    facts,
                    record_locator,
                    link,
                    station,
                }
            })
            .collect();
        // Most urgent first: they get the earliest opening instants, so within a priority the
        // work queue (priority, opened_at, id) lists them in the disruption's order.
        plans.sort_by(|a, b| b.score.cmp(&a.score).then(a.customer.cmp(&b.customer)));

        let workflow = self.current_workflow().await?;
        let at = now();
        let write_started = std::time::Instant::now();
        // PostgreSQL takes the batches side by side (each its own transaction and connection;
        // they share no row until the audit chain's tip, taken last); SQLite has one write slot.
        let at_once = match self.db.backend() {
            aloft_kernel::Backend::Postgres => BATCHES_AT_ONCE,
            _ => 1,
        };
        let batch = BatchContext {
            id,
            flight: &flight,
            report: &report,
            workflow: &workflow,
            at,
            ctx: &ctx,
        };
        let mut writes = Vec::new();
        for (n, chunk) in plans.chunks(PASSENGERS_PER_TRANSACTION).enumerate() {
            writes.push(self.write_batch(&batch, n * PASSENGERS_PER_TRANSACTION, chunk));
        }
        let counts: Vec<(usize, usize)> = futures_util::stream::iter(writes)
            .buffer_unordered(at_once)
            .try_collect()
            .await?;
        for (opened, linked) in counts {
            out.opened += opened;
            out.linked += linked;
        }
        tracing::info!(
            disruption = id,
            passengers = out.passengers,
            opened = out.opened,
            linked = out.linked,
            read_ms,
            write_ms = write_started.elapsed().as_millis(),
            "disruption processed"
        );

        // The totals over every run, and the disruption done.
        let counts = sqlx::query(
            "SELECT outcome, COUNT(*) AS n FROM case_disruption_passengers \
             WHERE disruption_id = $1 GROUP BY outcome",
        )
        .bind(id)
        .fetch_all(self.db.pool())
        .await?;
        let mut totals = (0i64, 0i64);
        for r in counts {
            let outcome: String = r.try_get("outcome")?;
            let n: i64 = r.try_get("n")?;
            if outcome == "opened" {
                totals.0 = n;
            } else {
                totals.1 = n;
            }
        }
        let mut tx = self.db.begin_write().await?;
        let finished = sqlx::query(
            "UPDATE case_disruptions SET state = 'done', passengers = $1, opened = $2, \
             linked = $3, finished_at = $4 WHERE id = $5 AND state = 'queued'",
        )
        .bind(out.passengers as i64)
        .bind(totals.0)
        .bind(totals.1)
        .bind(to_db_time(now()))
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected()
            == 1;
        // A run that found every passenger done (a replay) announces nothing again.
        if finished && (out.opened + out.linked > 0 || out.already == 0) {
            let event = DisruptionProcessed {
                disruption_id: id.to_owned(),
                flight: flight.clone(),
                kind: report.kind.as_str().into(),
                passengers: out.passengers as i64,
                opened: totals.0,
                linked: totals.1,
            };
            tx.emit(&CloudEvent::of(&event)).await?;
            tx.audit(&[ctx.entry(
                audit::DISRUPTION_PROCESSED,
                "case_disruption",
                Some(id.to_owned()),
                vec!["cases".into()],
                "success",
            )])
            .await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Writes one batch of passengers in one transaction: their notifications (first: the
    /// transaction's first statement is a write), then the outcome rows, cases, link updates,
    /// timeline entries, CloudEvents and audit entries rendered as multi-row statements.
    /// Returns (opened, linked).
    async fn write_batch(
        &self,
        b: &BatchContext<'_>,
        first: usize,
        batch: &[Plan],
    ) -> Result<(usize, usize), CaseError> {
        let (id, flight, report, workflow, at, ctx) =
            (b.id, b.flight, b.report, b.workflow, b.at, b.ctx);
        let flight = flight.to_owned();
        let mut out = (0usize, 0usize);
        let mut st = Statements::new(self.db.backend());
        let mut events = Vec::with_capacity(batch.len());
        let mut audit_entries = Vec::with_capacity(batch.len());
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut case_rows = Vec::new();
        let mut entry_rows = Vec::with_capacity(batch.len());
        let mut linked_ids = Vec::new();
        let mut mails = Vec::new();
        for (sequence, p) in (first as i64..).zip(batch) {
            let opened_at = at + Duration::microseconds(sequence);
            let (case_id, new) = match &p.link {
                Some(c) => (c.clone(), false),
                None => (uuid::Uuid::now_v7().to_string(), true),
            };
            outcomes.push((
                p.customer.to_string(),
                case_id.clone(),
                if new { "opened" } else { "linked" },
            ));
            let detail = serde_json::json!({"channel": CHANNEL, "disruption": id,
                    "flight": flight, "kind": report.kind.as_str(),
                    "priority": p.prioritised.priority.as_str(), "queue": DISRUPTION_QUEUE});
            let subject = subject_of(report);
            if new {
                let targets = sla_targets(Category::CompensationClaim, p.prioritised.priority);
                let clocks = Clocks {
                    first_response: Some(SlaClock::start(targets.first_response, opened_at)),
                    next_response: None,
                    resolution: Some(SlaClock::start(targets.resolution, opened_at)),
                };
                let view = self.clocks_view_at(&clocks, false, p.station.as_deref());
                case_rows.push(CaseRow {
                    id: case_id.clone(),
                    customer: p.customer.to_string(),
                    subject: subject.clone(),
                    booking: p.record_locator.clone(),
                    matter: matter_of(p.customer, p.record_locator.as_deref(), &flight),
                    state: workflow.initial.clone(),
                    workflow: workflow.version,
                    priority: p.prioritised.priority.as_str(),
                    rank: p.prioritised.priority as i32,
                    reasons: serde_json::to_string(&p.prioritised.reasons).unwrap_or_default(),
                    language: p.facts.language.clone(),
                    opened_at: to_db_time(opened_at),
                    clocks: serde_json::to_string(&clocks).unwrap_or_default(),
                    first_response_due: opt_time(view.first_response_due),
                    resolution_due: opt_time(view.resolution_due),
                    station: p.station.clone(),
                });
                events.push(CloudEvent::of(&CaseOpened {
                    case_id: case_id.clone(),
                    customer_id: p.customer.to_string(),
                    category: Category::CompensationClaim.as_str().into(),
                    channel: CHANNEL.into(),
                    priority: p.prioritised.priority.as_str().into(),
                    queue: DISRUPTION_QUEUE.into(),
                    assignee: None,
                }));
                entry_rows.push((case_id.clone(), "opened", Some(description()), detail));
                audit_entries.push(ctx.entry(
                    audit::OPENED,
                    "case",
                    Some(case_id.clone()),
                    vec![
                        "customer_id".into(),
                        "category".into(),
                        "loyalty_tier".into(),
                        "special_service_requests".into(),
                        "booking".into(),
                    ],
                    "success",
                ));
                out.0 += 1;
            } else {
                linked_ids.push(case_id.clone());
                events.push(CloudEvent::of(&CaseLinked {
                    case_id: case_id.clone(),
                    customer_id: p.customer.to_string(),
                    channel: CHANNEL.into(),
                }));
                entry_rows.push((case_id.clone(), "linked", Some(subject.clone()), detail));
                audit_entries.push(ctx.entry(
                    audit::OPENED,
                    "case",
                    Some(case_id.clone()),
                    vec!["linked".into(), "flight".into()],
                    "success",
                ));
                out.1 += 1;
            }
            if let Some(email) = &p.facts.email {
                mails.push((
                    email.clone(),
                    p.facts.language.clone(),
                    format!("case-disruption:{id}:{}", p.customer),
                    case_id,
                ));
            }
        }
        // The outcome rows first: the transaction's first statement is a write, and a
        // passenger handled concurrently makes the batch fail (and the job retry) rather
        // than open twice.
        st.insert(
            "INSERT INTO case_disruption_passengers (disruption_id, customer_id, case_id, \
                 outcome) VALUES ",
            "",
            4,
            ROWS_PER_STATEMENT * 4,
            outcomes,
            |v, (customer, case, outcome)| {
                v.bind(id.to_owned())
                    .bind(customer)
                    .bind(case)
                    .bind(outcome);
            },
        );
        let stamp = to_db_time(at);
        st.insert(
            CASE_INSERT,
            "",
            CASE_COLUMNS,
            ROWS_PER_STATEMENT,
            case_rows,
            |v, c| {
                v.bind(c.id)
                    .bind(c.customer)
                    .bind(Category::CompensationClaim.as_str())
                    .bind(c.subject)
                    .bind(description())
                    .bind(CHANNEL)
                    .bind(c.booking)
                    .bind(c.matter)
                    .bind(c.state)
                    .bind(1i32)
                    .bind(c.workflow)
                    .bind(c.priority)
                    .bind(c.rank)
                    .bind(c.reasons)
                    .bind(DISRUPTION_QUEUE)
                    .bind(None::<String>)
                    .bind(c.language)
                    .bind(c.opened_at.clone())
                    .bind(c.opened_at.clone())
                    .bind(c.opened_at)
                    .bind(c.clocks)
                    .bind(c.first_response_due)
                    .bind(None::<String>)
                    .bind(c.resolution_due)
                    .bind("[]")
                    .bind(1i64)
                    .bind(flight.clone())
                    .bind(c.station);
            },
        );
        for chunk in linked_ids.chunks(ROWS_PER_STATEMENT) {
            let params: Vec<String> = (3..chunk.len() + 3).map(|i| format!("${i}")).collect();
            let chunk = chunk.to_vec();
            let (stamp, flight) = (stamp.clone(), flight.clone());
            st.push(
                format!(
                    "UPDATE cases SET updated_at = $1, version = version + 1, \
                         flight = COALESCE(flight, $2) WHERE id IN ({})",
                    params.join(", ")
                ),
                move |v| {
                    v.bind(stamp).bind(flight);
                    for id in chunk {
                        v.bind(id);
                    }
                },
            );
        }
        st.insert(
            "INSERT INTO case_entries (case_id, at, actor, kind, author, body, detail) VALUES ",
            "",
            7,
            ROWS_PER_STATEMENT * 3,
            entry_rows,
            |v, (case, kind, body, detail)| {
                v.bind(case)
                    .bind(stamp.clone())
                    .bind(ctx.actor.id.clone())
                    .bind(kind)
                    .bind(None::<String>)
                    .bind(body)
                    .bind(detail.to_string());
            },
        );
        st.emit(&events)?;
        st.audit(audit_entries);
        let mut tx = self.db.begin_write().await?;
        for (to, language, key, case_id) in mails {
            let (what, what_de) = match report.kind {
                DisruptionKind::Cancellation => ("cancelled", "annulliert"),
                DisruptionKind::Delay => ("delayed", "verspätet"),
            };
            self.notify(
                &mut tx,
                &to,
                language.as_deref(),
                TEMPLATE_DISRUPTION,
                &key,
                serde_json::json!({"flight": report.flight, "date": report.date.to_string(),
                        "what": what, "what_de": what_de, "reference": short_ref(&case_id)}),
            )
            .await?;
        }
        // The audit chain's tip is taken last and held only until the commit.
        tx.execute(st).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// The open cases of these customers (chunks of 500 ids), newest first per customer.
    async fn open_cases_of(
        &self,
        customers: &[CustomerId],
    ) -> Result<HashMap<CustomerId, Vec<OpenCase>>, StorageError> {
        let mut out: HashMap<CustomerId, Vec<OpenCase>> = HashMap::new();
        for chunk in customers.chunks(500) {
            let params: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT id, customer_id, matter, booking_reference, flight FROM cases \
                 WHERE is_open = 1 AND customer_id IN ({}) ORDER BY opened_at DESC",
                params.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for c in chunk {
                q = q.bind(c.to_string());
            }
            for r in q.fetch_all(self.db.pool()).await? {
                let customer: String = r.try_get("customer_id")?;
                let Some(customer) = CustomerId::parse(&customer) else {
                    continue;
                };
                out.entry(customer).or_default().push(OpenCase {
                    id: r.try_get("id")?,
                    matter: r.try_get("matter")?,
                    booking_reference: r.try_get("booking_reference")?,
                    flight: r.try_get("flight")?,
                });
            }
        }
        Ok(out)
    }
}

/// What every batch of one run shares.
struct BatchContext<'a> {
    id: &'a str,
    flight: &'a str,
    report: &'a DisruptionReport,
    workflow: &'a crate::model::Workflow,
    at: DateTime<Utc>,
    ctx: &'a AccessContext,
}

struct OpenCase {
    id: String,
    matter: String,
    booking_reference: Option<String>,
    flight: Option<String>,
}

struct CaseRow {
    id: String,
    customer: String,
    subject: String,
    booking: Option<String>,
    matter: String,
    state: String,
    workflow: i64,
    priority: &'static str,
    rank: i32,
    reasons: String,
    language: Option<String>,
    opened_at: String,
    clocks: String,
    first_response_due: Option<String>,
    resolution_due: Option<String>,
    station: Option<String>,
}

/// The matter of a disruption case: the passenger's claim about the booking (so a claim the
/// passenger opens later about the same booking links to it), or about the flight when the
/// booking has no record locator.
fn matter_of(customer: CustomerId, record_locator: Option<&str>, flight: &str) -> String {
    match record_locator {
        Some(r) => format!("{customer}|{}|{r}", Category::CompensationClaim.as_str()),
        None => format!("{customer}|disruption|{flight}"),
    }
}

fn subject_of(report: &DisruptionReport) -> String {
    match report.kind {
        DisruptionKind::Cancellation => {
            format!("Flight {} on {} cancelled", report.flight, report.date)
        }
        DisruptionKind::Delay => format!("Flight {} on {} delayed", report.flight, report.date),
    }
}

fn description() -> String {
    "Opened by irregular operations for a passenger of the disrupted flight: rebooking or \
     refund, care, and the passenger's rights."
        .into()
}
