//! The case store and its operations. Every change, its CloudEvent, its audit entry and the
//! passenger's notification commit in one transaction; a refused request changes nothing.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

use aloft_kernel::db::{from_db_time, now, to_db_time};
use aloft_kernel::{AccessContext, CloudEvent, Database, StorageError, WriteTx};
use aloft_vocab::CustomerId;

use crate::calendar::Calendars;
use crate::events::{
    CaseAssigned, CaseLinked, CaseMessageAdded, CaseOpened, CaseSlaBreached, CaseSlaWarning,
    CaseStateChanged, audit,
};
use crate::model::{
    AgentSlot, BusinessCalendar, Category, NegativeWords, Priority, PriorityInputs, PriorityReason,
    SUPERVISOR_QUEUE, Sentiment, SlaClock, SlaStatus, TransitionError, Workflow, pick_agent,
    prioritise, route, sla_targets,
};

/// Mail template: the passenger's case was opened.
pub const TEMPLATE_OPENED: &str = "case-opened";
/// Mail template: the passenger's case changed state.
pub const TEMPLATE_STATUS: &str = "case-status";
/// Mail template: an agent replied.
pub const TEMPLATE_REPLY: &str = "case-reply";
/// Mail template: the case is closed.
pub const TEMPLATE_CLOSED: &str = "case-closed";

/// The passenger notifications' templates (registered by the composition root).
pub fn mail_templates() -> Vec<aloft_mail::Template> {
    use aloft_mail::{Template, Translation};
    vec![
        Template::new(
            TEMPLATE_OPENED,
            Translation::new(
                "We have your request: {{subject}}",
                "Thank you for contacting us. Your case {{reference}} is open and a member of our team will answer you. Reply to this message to add anything.",
            ),
        )
        .language(
            "de",
            Translation::new(
                "Wir haben Ihr Anliegen erhalten: {{subject}}",
                "Vielen Dank für Ihre Nachricht. Ihr Fall {{reference}} ist eröffnet; unser Team meldet sich bei Ihnen.",
            ),
        ),
        Template::new(
            TEMPLATE_STATUS,
            Translation::new(
                "Your case {{reference}}: {{state}}",
                "Your case {{reference}} ({{subject}}) is now: {{state}}.",
            ),
        ),
        Template::new(
            TEMPLATE_REPLY,
            Translation::new(
                "A reply about your case {{reference}}",
                "{{message}}\n\nReply to this message to answer.",
            ),
        ),
        Template::new(
            TEMPLATE_CLOSED,
            Translation::new(
                "Your case {{reference}} is closed",
                "Your case {{reference}} ({{subject}}) is closed. Thank you for your patience; you can rate how we handled it in your account.",
            ),
        ),
        crate::disruptions::mail_template(),
    ]
}

/// What case management needs of the customers domain: facts that weigh on priority and the
/// address notifications go to. Read under the caller's access context (audited by the owner).
pub trait CustomerFacts: Send + Sync {
    /// The facts of `customer`, `None` if there is no such customer.
    fn facts<'a>(
        &'a self,
        customer: CustomerId,
    ) -> futures_util::future::BoxFuture<'a, Result<Option<Facts>, StorageError>>;

    /// The customers whose e-mail address is `email` (inbound mail is filed only when exactly
    /// one is). The default finds none: owners that can look addresses up override it.
    fn by_email<'a>(
        &'a self,
        email: &'a str,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<CustomerId>, StorageError>> {
        let _ = email;
        Box::pin(async { Ok(Vec::new()) })
    }

    /// The facts of many customers at once (irregular operations: a whole flight); customers
    /// not found are left out. The default asks one by one; owners with a bulk read override it.
    fn facts_many<'a>(
        &'a self,
        customers: &'a [CustomerId],
    ) -> futures_util::future::BoxFuture<
        'a,
        Result<std::collections::HashMap<CustomerId, Facts>, StorageError>,
    > {
        Box::pin(async move {
            let mut out = std::collections::HashMap::new();
            for c in customers {
                if let Some(f) = self.facts(*c).await? {
                    out.insert(*c, f);
                }
            }
            Ok(out)
        })
    }
}

/// What irregular operations need of travel: the passengers booked on a flight.
pub trait FlightManifest: Send + Sync {
    /// Every booking holding `flight_key` (`LH400 2026-07-01`): the passenger, their record
    /// locator and the booking document (segments with their schedule).
    fn passengers<'a>(
        &'a self,
        flight_key: &'a str,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<ManifestEntry>, StorageError>>;

    /// The record locators of a passenger's bookings with a flight within a year either side
    /// of now, each with a label (`ABC123 — LH400 2026-07-01`), for the self-service form's
    /// choice. The caller has established that `customer` is the passenger themself.
    fn bookings_of<'a>(
        &'a self,
        customer: CustomerId,
    ) -> futures_util::future::BoxFuture<'a, Result<Vec<(String, String)>, StorageError>> {
        let _ = customer;
        Box::pin(async { Ok(Vec::new()) })
    }

    /// The departure station (IATA) of the first flight of `customer`'s booking `locator`, if
    /// known: a case about that booking runs its SLA clocks on that station's calendar. The
    /// default knows none.
    fn station_of<'a>(
        &'a self,
        customer: CustomerId,
        locator: &'a str,
    ) -> futures_util::future::BoxFuture<'a, Result<Option<String>, StorageError>> {
        let _ = (customer, locator);
        Box::pin(async { Ok(None) })
    }
}

/// One passenger's booking on a flight.
#[derive(Debug, Clone)]
pub struct ManifestEntry {
    /// The passenger.
    pub customer: CustomerId,
    /// The booking's record locator, if it has one.
    pub record_locator: Option<String>,
    /// The booking document (travel's `Booking` JSON).
    pub booking: serde_json::Value,
}

/// A customer's facts as cases use them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Frequent-flyer tier, lower-case.
    pub tier: Option<String>,
    /// A standing special service request for assistance (WCHR, BLND, DEAF…).
    pub special_assistance: bool,
    /// Language for messages (BCP 47).
    pub language: Option<String>,
    /// E-mail address for notifications.
    pub email: Option<String>,
}

/// Tunables of case management.
#[derive(Debug, Clone)]
pub struct CasesConfig {
    /// The team's business calendar (opening hours and holidays in the station's zone).
    pub calendar: BusinessCalendar,
    /// An assignee who has not acted for this long loses the case to the next agent.
    pub reassign_after: Duration,
}

impl Default for CasesConfig {
    fn default() -> Self {
        Self {
            calendar: BusinessCalendar::always(chrono_tz::UTC),
            reassign_after: Duration::hours(4),
        }
    }
}

/// The SLA clocks of one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clocks {
    /// Until the first agent response; stopped (`None`) once answered.
    pub first_response: Option<SlaClock>,
    /// Until the next agent response after a customer message.
    pub next_response: Option<SlaClock>,
    /// Until resolution; stopped once resolved.
    pub resolution: Option<SlaClock>,
}

impl Clocks {
    fn each(&mut self) -> [(&'static str, &mut Option<SlaClock>); 3] {
        [
            ("first_response", &mut self.first_response),
            ("next_response", &mut self.next_response),
            ("resolution", &mut self.resolution),
        ]
    }
}

/// The SLA due instants the API shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SlaView {
    /// First response due (null once answered or while paused).
    pub first_response_due: Option<DateTime<Utc>>,
    /// Next response due (null when no customer message awaits an answer, or while paused).
    pub next_response_due: Option<DateTime<Utc>>,
    /// Resolution due (null once resolved or while paused).
    pub resolution_due: Option<DateTime<Utc>>,
    /// Whether the clocks are paused (waiting for the customer).
    pub paused: bool,
}

/// A case as the API returns it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Case {
    /// Identifier (UUIDv7).
    pub id: String,
    /// The customer.
    pub customer_id: String,
    /// Category.
    pub category: Category,
    /// Subject line.
    pub subject: String,
    /// The customer's description.
    pub description: String,
    /// Where it came from.
    pub channel: String,
    /// The booking it concerns.
    pub booking_reference: Option<String>,
    /// The station (IATA) whose business calendar its SLA clocks run on; null: the default
    /// calendar.
    pub station: Option<String>,
    /// Workflow state.
    pub state: String,
    /// Workflow version the case follows.
    pub workflow_version: i64,
    /// Priority.
    pub priority: Priority,
    /// Why.
    pub priority_reasons: Vec<PriorityReason>,
    /// Queue.
    pub queue: String,
    /// Agent, if assigned.
    pub assignee: Option<String>,
    /// SLA due instants.
    pub sla: SlaView,
    /// Opened at.
    pub opened_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Rating of the resolution (1–5), once given.
    pub csat: Option<i64>,
    /// Increases with every change.
    pub version: i64,
    #[serde(skip)]
    pub(crate) clocks: Clocks,
    #[serde(skip)]
    pub(crate) last_agent_action_at: DateTime<Utc>,
    #[serde(skip)]
    pub(crate) sla_flags: Vec<String>,
    #[serde(skip)]
    pub(crate) language: Option<String>,
}

/// One entry of a case's timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Entry {
    /// When.
    pub at: DateTime<Utc>,
    /// Who (staff actor id, `customer`, or `system:cases`).
    pub actor: String,
    /// `opened`, `message`, `transition`, `assigned`, `linked`, `sla`.
    pub kind: String,
    /// For messages: `agent` or `customer`.
    pub author: Option<String>,
    /// For messages: the text.
    pub body: Option<String>,
    /// The entry's facts.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// A request to open a case (validated by the routes).
#[derive(Debug, Clone)]
pub struct NewCase {
    /// The customer.
    pub customer_id: CustomerId,
    /// Category.
    pub category: Category,
    /// Subject.
    pub subject: String,
    /// Description.
    pub description: String,
    /// Channel.
    pub channel: String,
    /// Booking reference (upper-case), if any.
    pub booking_reference: Option<String>,
    /// A queue chosen by the caller instead of routing.
    pub queue: Option<String>,
    /// A regulatory deadline that applies.
    pub regulatory_deadline: Option<DateTime<Utc>>,
}

/// What opening did.
#[derive(Debug, Clone)]
pub enum Opened {
    /// A new case.
    New(Case),
    /// The matter was already open: the request was linked to this case.
    Linked(Case),
}

/// Why an operation is refused.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// No such case.
    #[error("no such case")]
    NotFound,
    /// No such customer.
    #[error("no such customer")]
    UnknownCustomer,
    /// The workflow refuses the transition.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The case is closed.
    #[error("the case is closed")]
    Closed,
    /// Another request changed the case at the same moment; retry.
    #[error("the case changed meanwhile; retry")]
    Busy,
    /// A notification could not be queued (a template problem: a bug).
    #[error("notification: {0}")]
    Mail(String),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<sqlx::Error> for CaseError {
    fn from(e: sqlx::Error) -> Self {
        CaseError::Storage(e.into())
    }
}

impl From<aloft_mail::QueueError> for CaseError {
    fn from(e: aloft_mail::QueueError) -> Self {
        match e {
            aloft_mail::QueueError::Storage(s) => CaseError::Storage(s),
            other => CaseError::Mail(other.to_string()),
        }
    }
}

/// A transition request.
#[derive(Debug, Clone, Default)]
pub struct TransitionRequest {
    /// Target state.
    pub to: String,
    /// Fields given with it (`resolution`, `reason`, `message`), non-empty ones only.
    pub fields: std::collections::BTreeMap<String, String>,
}

/// An agent's routing settings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AgentSettings {
    /// Queues they take cases from.
    pub queues: Vec<String>,
    /// Languages they answer in (empty: any).
    #[serde(default)]
    pub languages: Vec<String>,
    /// Most open cases at once.
    pub capacity: i64,
    /// Taking work now.
    pub available: bool,
}

/// Case management over its tables.
#[derive(Clone)]
pub struct Cases {
    pub(crate) db: Database,
    pub(crate) mailer: Option<aloft_mail::Mailer>,
    pub(crate) customers: Arc<dyn CustomerFacts>,
    sentiment: Arc<dyn Sentiment>,
    pub(crate) config: Arc<CasesConfig>,
    pub(crate) manifest: Option<Arc<dyn FlightManifest>>,
    /// The calendars in force, read from `case_calendars` and kept for [`CALENDARS_TTL`].
    pub(crate) calendars: Arc<std::sync::RwLock<CachedCalendars>>,
}

/// The calendars read and when (`None` before the first read or after a save).
pub(crate) type CachedCalendars = Option<(std::time::Instant, Arc<Calendars>)>;

/// How long calendars read from the database are kept before they are read again: another
/// instance sees a saved calendar within this time (the instance that saves it at once).
pub const CALENDARS_TTL: std::time::Duration = std::time::Duration::from_secs(10);

impl std::fmt::Debug for Cases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cases")
    }
}

pub(crate) const COLUMNS: &str = "id, customer_id, category, subject, description, channel, \
    booking_reference, station, state, workflow_version, priority, priority_reasons, queue, assignee, \
    language, opened_at, updated_at, last_agent_action_at, clocks, sla_flags, csat, version";

pub(crate) fn opt_time(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(to_db_time)
}

impl Cases {
    /// Case management on `db`, notifying through `mailer`.
    pub fn new(
        db: Database,
        mailer: Option<aloft_mail::Mailer>,
        customers: Arc<dyn CustomerFacts>,
        config: CasesConfig,
    ) -> Self {
        Self {
            db,
            mailer,
            customers,
            sentiment: Arc::new(NegativeWords),
            config: Arc::new(config),
            manifest: None,
            calendars: Arc::default(),
        }
    }

    /// The same reading flight manifests from `manifest` (irregular operations).
    pub fn with_manifest(mut self, manifest: Arc<dyn FlightManifest>) -> Self {
        self.manifest = Some(manifest);
        self
    }

    /// The same with another sentiment scorer.
    pub fn with_sentiment(mut self, sentiment: Arc<dyn Sentiment>) -> Self {
        self.sentiment = sentiment;
        self
    }

    /// The database.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// The calendars in force as last read (the default calendar alone before the first read).
    pub(crate) fn book(&self) -> Arc<Calendars> {
        let cache = self.calendars.read().unwrap_or_else(|e| e.into_inner());
        match &*cache {
            Some((_, book)) => book.clone(),
            None => Arc::new(Calendars::new(self.config.calendar.clone())),
        }
    }

    /// Reads the calendars again when the copy in memory is older than [`CALENDARS_TTL`]. A
    /// stored definition that no longer compiles is skipped (the default applies), never
    /// fatal: the API refuses such definitions, so this only guards against hand edits.
    pub(crate) async fn refresh_calendars(&self) -> Result<(), StorageError> {
        let fresh = self
            .calendars
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < CALENDARS_TTL);
        if fresh {
            return Ok(());
        }
        let rows = sqlx::query("SELECT station, definition FROM case_calendars")
            .fetch_all(self.db.pool())
            .await?;
        let mut book = Calendars::new(self.config.calendar.clone());
        for r in rows {
            let station: String = r.try_get("station")?;
            let def: String = r.try_get("definition")?;
            let Some(cal) = serde_json::from_str::<crate::calendar::CalendarDef>(&def)
                .ok()
                .and_then(|d| d.compile().ok())
            else {
                continue;
            };
            if station == crate::calendar::DEFAULT_STATION {
                book.default = cal;
            } else {
                book.stations.insert(station, cal);
            }
        }
        *self.calendars.write().unwrap_or_else(|e| e.into_inner()) =
            Some((std::time::Instant::now(), Arc::new(book)));
        Ok(())
    }

    /// Forgets the calendars read, so the next operation reads them again (after a save).
    pub(crate) fn forget_calendars(&self) {
        *self.calendars.write().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The current workflow (the shipped one until the CMP manager saves another), stored
    /// on first use so cases can always find the version they follow.
    pub async fn current_workflow(&self) -> Result<Workflow, StorageError> {
        let row =
            sqlx::query("SELECT definition FROM case_workflows ORDER BY version DESC LIMIT 1")
                .fetch_optional(self.db.pool())
                .await?;
        if let Some(row) = row {
            let def: String = row.try_get("definition")?;
            return serde_json::from_str(&def).map_err(|e| StorageError::Corrupt(e.to_string()));
        }
        let shipped = Workflow::shipped();
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO case_workflows (version, definition, created_at, created_by) \
             VALUES ($1, $2, $3, 'system:cases') ON CONFLICT (version) DO NOTHING",
        )
        .bind(shipped.version)
        .bind(serde_json::to_string(&shipped).unwrap_or_default())
        .bind(to_db_time(now()))
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(shipped)
    }

    /// The workflow of version `v`.
    pub async fn workflow(&self, v: i64) -> Result<Workflow, StorageError> {
        let row = sqlx::query("SELECT definition FROM case_workflows WHERE version = $1")
            .bind(v)
            .fetch_optional(self.db.pool())
            .await?;
        match row {
            Some(row) => {
                let def: String = row.try_get("definition")?;
                serde_json::from_str(&def).map_err(|e| StorageError::Corrupt(e.to_string()))
            }
            None if v == 1 => Ok(Workflow::shipped()),
            None => Err(StorageError::Corrupt(format!(
                "workflow version {v} missing"
            ))),
        }
    }

    /// Due instants on the calendar of `station`.
    pub(crate) fn clocks_view_at(
        &self,
        clocks: &Clocks,
        paused: bool,
        station: Option<&str>,
    ) -> SlaView {
        let book = self.book();
        let cal = book.of(station);
        SlaView {
            first_response_due: clocks.first_response.and_then(|c| c.due(cal)),
            next_response_due: clocks.next_response.and_then(|c| c.due(cal)),
            resolution_due: clocks.resolution.and_then(|c| c.due(cal)),
            paused,
        }
    }

    /// Opens a case, or links the request to the open case about the same matter. Its SLA
    /// clocks run on the calendar of the departure station of the booking it concerns (when
    /// the flight manifest knows it), else on the default calendar.
    pub async fn open(&self, new: NewCase, ctx: &AccessContext) -> Result<Opened, CaseError> {
        self.open_at(new, None, ctx).await
    }

    /// Opens a case whose clocks run on the calendar of `station` (IATA code); `None`: the
    /// booking's departure station if known, else the default calendar.
    pub async fn open_at(
        &self,
        new: NewCase,
        station: Option<String>,
        ctx: &AccessContext,
    ) -> Result<Opened, CaseError> {
        self.open_claimed(new, station, ctx, None)
            .await?
            .ok_or(CaseError::NotFound)
    }

    /// Opens (or links) a case on behalf of an event subscriber (`crate::rules`): the
    /// delivery's record is the first write of the case's transaction, so one event opens one
    /// case however often it is handed over. `None`: this event was acted on before.
    pub async fn open_for_event(
        &self,
        new: NewCase,
        ctx: &AccessContext,
        delivery: &aloft_kernel::subscriptions::Delivery,
    ) -> Result<Option<Opened>, CaseError> {
        self.open_claimed(new, None, ctx, Some(delivery)).await
    }

    /// A write transaction, claiming `delivery` first when there is one (`None`: claimed before).
    async fn begin_claimed(
        &self,
        delivery: Option<&aloft_kernel::subscriptions::Delivery>,
    ) -> Result<Option<WriteTx>, StorageError> {
        match delivery {
            Some(d) => d.begin().await,
            None => self.db.begin_write().await.map(Some),
        }
    }

    /// [`Cases::open_at`], its transaction claiming `delivery` when there is one.
    async fn open_claimed(
        &self,
        new: NewCase,
        station: Option<String>,
        ctx: &AccessContext,
        delivery: Option<&aloft_kernel::subscriptions::Delivery>,
    ) -> Result<Option<Opened>, CaseError> {
        let station = match (station, &new.booking_reference, &self.manifest) {
            (Some(s), _, _) => Some(s),
            (None, Some(locator), Some(manifest)) => {
                manifest.station_of(new.customer_id, locator).await?
            }
            _ => None,
        };
        self.refresh_calendars().await?;
        let facts = self
            .customers
            .facts(new.customer_id)
            .await?
            .ok_or(CaseError::UnknownCustomer)?;
        let matter = format!(
            "{}|{}|{}",
            new.customer_id,
            new.category.as_str(),
            new.booking_reference.as_deref().unwrap_or("")
        );
        if let Some(case) = self.open_matter(&matter).await? {
            return Ok(self
                .link(case, &new, ctx, delivery)
                .await?
                .map(Opened::Linked));
        }
        let workflow = self.current_workflow().await?;
        let at = now();
        let text = format!("{}\n{}", new.subject, new.description);
        let prioritised = prioritise(
            &PriorityInputs {
                category: new.category,
                tier: facts.tier.as_deref(),
                special_assistance: facts.special_assistance,
                text: &text,
                regulatory_deadline: new.regulatory_deadline,
                opened_at: at,
                now: at,
            },
            self.sentiment.as_ref(),
        );
        let targets = sla_targets(new.category, prioritised.priority);
        let clocks = Clocks {
            first_response: Some(SlaClock::start(targets.first_response, at)),
            next_response: None,
            resolution: Some(SlaClock::start(targets.resolution, at)),
        };
        let queue = new
            .queue
            .clone()
            .unwrap_or_else(|| route(new.category).to_owned());
        let id = uuid::Uuid::now_v7().to_string();

        let Some(mut tx) = self.begin_claimed(delivery).await? else {
            return Ok(None);
        };
        let view = self.clocks_view_at(&clocks, false, station.as_deref());
        let inserted = sqlx::query(
            "INSERT INTO cases (id, customer_id, category, subject, description, channel, \
             booking_reference, matter, state, is_open, workflow_version, priority, \
             priority_rank, priority_reasons, queue, assignee, language, opened_at, updated_at, \
             last_agent_action_at, clocks, first_response_due, next_response_due, \
             resolution_due, sla_flags, version, station) VALUES ($1, $2, $3, $4, $5, $6, $7, \
             $8, $9, 1, $10, $11, $12, $13, $14, $15, $16, $17, $17, $17, $18, $19, NULL, $20, \
             '[]', 1, $21) ON CONFLICT DO NOTHING",
        )
        .bind(&id)
        .bind(new.customer_id.to_string())
        .bind(new.category.as_str())
        .bind(&new.subject)
        .bind(&new.description)
        .bind(&new.channel)
        .bind(&new.booking_reference)
        .bind(&matter)
        .bind(&workflow.initial)
        .bind(workflow.version)
        .bind(prioritised.priority.as_str())
        .bind(prioritised.priority as i32)
        .bind(serde_json::to_string(&prioritised.reasons).unwrap_or_default())
        .bind(&queue)
        .bind(None::<String>)
        .bind(&facts.language)
        .bind(to_db_time(at))
        .bind(serde_json::to_string(&clocks).unwrap_or_default())
        .bind(opt_time(view.first_response_due))
        .bind(opt_time(view.resolution_due))
        .bind(&station)
        .execute(tx.conn())
        .await?
        .rows_affected();
        if inserted == 0 {
            // Another request opened the same matter meanwhile: link to it instead.
            drop(tx);
            let case = self
                .open_matter(&matter)
                .await?
                .ok_or(CaseError::NotFound)?;
            return Ok(self
                .link(case, &new, ctx, delivery)
                .await?
                .map(Opened::Linked));
        }
        // The write above holds the write lock; routing reads the agents after it.
        let assignee = self
            .assign_in(&mut tx, &queue, facts.language.as_deref(), at)
            .await?;
        if assignee.is_some() {
            sqlx::query("UPDATE cases SET assignee = $1 WHERE id = $2")
                .bind(&assignee)
                .bind(&id)
                .execute(tx.conn())
                .await?;
        }
        entry(
            &mut tx,
            &id,
            at,
            &ctx.actor.id,
            "opened",
            None,
            Some(&new.description),
            serde_json::json!({"channel": new.channel, "queue": queue, "assignee": assignee,
                               "priority": prioritised.priority.as_str()}),
        )
        .await?;
        tx.emit(&CloudEvent::of(&CaseOpened {
            case_id: id.clone(),
            customer_id: new.customer_id.to_string(),
            category: new.category.as_str().into(),
            channel: new.channel.clone(),
            priority: prioritised.priority.as_str().into(),
            queue: queue.clone(),
            assignee: assignee.clone(),
        }))
        .await?;
        tx.audit(&[ctx.entry(
            audit::OPENED,
            "case",
            Some(id.clone()),
            vec![
                "customer_id".into(),
                "category".into(),
                "loyalty_tier".into(),
                "special_service_requests".into(),
            ],
            "success",
        )])
        .await?;
        if let Some(email) = &facts.email {
            self.notify(
                &mut tx,
                email,
                facts.language.as_deref(),
                TEMPLATE_OPENED,
                &format!("case-opened:{id}"),
                serde_json::json!({"subject": new.subject, "reference": short_ref(&id)}),
            )
            .await?;
        }
        tx.commit().await?;
        let case = self.get_raw(&id).await?.ok_or(CaseError::NotFound)?;
        Ok(Some(Opened::New(case)))
    }

    pub(crate) async fn notify(
        &self,
        tx: &mut WriteTx,
        to: &str,
        language: Option<&str>,
        template: &str,
        key: &str,
        params: serde_json::Value,
    ) -> Result<(), CaseError> {
        let Some(mailer) = &self.mailer else {
            return Ok(());
        };
        match mailer
            .queue(
                tx,
                aloft_mail::Message {
                    to: to.to_owned(),
                    template: template.to_owned(),
                    language: language.unwrap_or("en").to_owned(),
                    params,
                    idempotency_key: key.to_owned(),
                },
            )
            .await
        {
            Ok(_) => Ok(()),
            // A profile's address the mail service refuses: the case goes on without e-mail.
            Err(aloft_mail::QueueError::BadRecipient) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn link(
        &self,
        case: Case,
        new: &NewCase,
        ctx: &AccessContext,
        delivery: Option<&aloft_kernel::subscriptions::Delivery>,
    ) -> Result<Option<Case>, CaseError> {
        let at = now();
        let Some(mut tx) = self.begin_claimed(delivery).await? else {
            return Ok(None);
        };
        entry(
            &mut tx,
            &case.id,
            at,
            &ctx.actor.id,
            "linked",
            Some("customer"),
            Some(&format!("{}\n{}", new.subject, new.description)),
            serde_json::json!({"channel": new.channel}),
        )
        .await?;
        sqlx::query("UPDATE cases SET updated_at = $1, version = version + 1 WHERE id = $2")
            .bind(to_db_time(at))
            .bind(&case.id)
            .execute(tx.conn())
            .await?;
        tx.emit(&CloudEvent::of(&CaseLinked {
            case_id: case.id.clone(),
            customer_id: case.customer_id.clone(),
            channel: new.channel.clone(),
        }))
        .await?;
        tx.audit(&[ctx.entry(
            audit::OPENED,
            "case",
            Some(case.id.clone()),
            vec!["linked".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        self.get_raw(&case.id)
            .await?
            .ok_or(CaseError::NotFound)
            .map(Some)
    }

    async fn open_matter(&self, matter: &str) -> Result<Option<Case>, StorageError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM cases WHERE matter = $1 AND is_open = 1"
        ))
        .bind(matter)
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|r| self.decode(&r)).transpose()
    }

    /// The first write of a transaction that routes a case: claims the case at the version
    /// read (SQLite needs a write before any read in a write transaction; the version guards
    /// against a concurrent change). `false`: it changed meanwhile.
    async fn claim(&self, tx: &mut WriteTx, case: &Case) -> Result<bool, StorageError> {
        Ok(
            sqlx::query("UPDATE cases SET version = version WHERE id = $1 AND version = $2")
                .bind(&case.id)
                .bind(case.version)
                .execute(tx.conn())
                .await?
                .rows_affected()
                == 1,
        )
    }

    /// Picks an agent of `queue` by round-robin and books the assignment (their last-assigned
    /// instant) in `tx`; `None` when nobody has room.
    async fn assign_in(
        &self,
        tx: &mut WriteTx,
        queue: &str,
        language: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Option<String>, StorageError> {
        let rows = sqlx::query(
            "SELECT a.agent_id, a.queues, a.languages, a.capacity, a.available, \
             a.last_assigned_at, (SELECT COUNT(*) FROM cases c WHERE c.assignee = a.agent_id \
             AND c.is_open = 1) AS open_count FROM case_agents a WHERE a.available = 1",
        )
        .fetch_all(tx.conn())
        .await?;
        let mut agents = Vec::new();
        for r in rows {
            let queues: String = r.try_get("queues")?;
            if !queues.split_whitespace().any(|q| q == queue) {
                continue;
            }
            let languages: String = r.try_get("languages")?;
            let last: Option<String> = r.try_get("last_assigned_at")?;
            agents.push(AgentSlot {
                id: r.try_get("agent_id")?,
                available: r.try_get::<i32, _>("available")? == 1,
                capacity: r.try_get("capacity")?,
                open: r.try_get("open_count")?,
                last_assigned: last.as_deref().map(from_db_time).transpose()?,
                languages: languages.split_whitespace().map(str::to_owned).collect(),
            });
        }
        let Some(agent) = pick_agent(&agents, language) else {
            return Ok(None);
        };
        sqlx::query("UPDATE case_agents SET last_assigned_at = $1 WHERE agent_id = $2")
            .bind(to_db_time(at))
            .bind(&agent.id)
            .execute(tx.conn())
            .await?;
        Ok(Some(agent.id.clone()))
    }

    /// Sets an agent's queues, languages, capacity and availability.
    pub async fn configure_agent(
        &self,
        agent: &str,
        settings: &AgentSettings,
        ctx: &AccessContext,
    ) -> Result<(), StorageError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO case_agents (agent_id, queues, languages, capacity, available) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (agent_id) DO UPDATE SET \
             queues = excluded.queues, languages = excluded.languages, \
             capacity = excluded.capacity, available = excluded.available",
        )
        .bind(agent)
        .bind(settings.queues.join(" "))
        .bind(settings.languages.join(" "))
        .bind(settings.capacity)
        .bind(i32::from(settings.available))
        .execute(tx.conn())
        .await?;
        tx.audit(&[ctx.entry(
            audit::AGENT_CONFIGURED,
            "case_agent",
            Some(agent.to_owned()),
            vec![
                "queues".into(),
                "languages".into(),
                "capacity".into(),
                "available".into(),
            ],
            "success",
        )])
        .await?;
        tx.commit().await
    }

    /// A case with its timeline; the read is audited.
    pub async fn get(
        &self,
        id: &str,
        ctx: &AccessContext,
    ) -> Result<(Case, Vec<Entry>), CaseError> {
        let case = self.get_raw(id).await?.ok_or(CaseError::NotFound)?;
        let entries = self.entries(id).await?;
        let mut tx = self.db.begin_write().await?;
        tx.audit(&[ctx.entry(
            audit::READ,
            "case",
            Some(id.to_owned()),
            vec!["case".into(), "timeline".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok((case, entries))
    }

    pub(crate) async fn entries(&self, id: &str) -> Result<Vec<Entry>, StorageError> {
        let rows = sqlx::query(
            "SELECT at, actor, kind, author, body, detail FROM case_entries \
             WHERE case_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let at: String = r.try_get("at")?;
                let detail: String = r.try_get("detail")?;
                Ok(Entry {
                    at: from_db_time(&at)?,
                    actor: r.try_get("actor")?,
                    kind: r.try_get("kind")?,
                    author: r.try_get("author")?,
                    body: r.try_get("body")?,
                    detail: serde_json::from_str(&detail).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// A case without auditing (the caller audits).
    pub async fn get_raw(&self, id: &str) -> Result<Option<Case>, StorageError> {
        self.refresh_calendars().await?;
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM cases WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|r| self.decode(&r)).transpose()
    }

    pub(crate) fn decode(&self, r: &sqlx::any::AnyRow) -> Result<Case, StorageError> {
        let bad = |e: String| StorageError::Corrupt(e);
        let category: String = r.try_get("category")?;
        let priority: String = r.try_get("priority")?;
        let reasons: String = r.try_get("priority_reasons")?;
        let clocks: String = r.try_get("clocks")?;
        let flags: String = r.try_get("sla_flags")?;
        let opened: String = r.try_get("opened_at")?;
        let updated: String = r.try_get("updated_at")?;
        let acted: String = r.try_get("last_agent_action_at")?;
        let state: String = r.try_get("state")?;
        let station: Option<String> = r.try_get("station")?;
        let clocks: Clocks = serde_json::from_str(&clocks).map_err(|e| bad(e.to_string()))?;
        let paused = [
            clocks.first_response,
            clocks.resolution,
            clocks.next_response,
        ]
        .iter()
        .flatten()
        .any(|c| c.running_since.is_none());
        Ok(Case {
            id: r.try_get("id")?,
            customer_id: r.try_get("customer_id")?,
            category: Category::parse(&category).ok_or_else(|| bad(category.clone()))?,
            subject: r.try_get("subject")?,
            description: r.try_get("description")?,
            channel: r.try_get("channel")?,
            booking_reference: r.try_get("booking_reference")?,
            state,
            workflow_version: r.try_get("workflow_version")?,
            priority: Priority::parse(&priority).ok_or_else(|| bad(priority.clone()))?,
            priority_reasons: serde_json::from_str(&reasons).map_err(|e| bad(e.to_string()))?,
            queue: r.try_get("queue")?,
            assignee: r.try_get("assignee")?,
            sla: self.clocks_view_at(&clocks, paused, station.as_deref()),
            station,
            opened_at: from_db_time(&opened)?,
            updated_at: from_db_time(&updated)?,
            csat: r.try_get("csat")?,
            version: r.try_get("version")?,
            clocks,
            last_agent_action_at: from_db_time(&acted)?,
            sla_flags: serde_json::from_str(&flags).unwrap_or_default(),
            language: r.try_get("language")?,
        })
    }

    /// Writes a case's changed state, clocks and assignment (optimistic on `version`).
    async fn save(
        &self,
        tx: &mut WriteTx,
        case: &Case,
        is_open: bool,
        at: DateTime<Utc>,
    ) -> Result<bool, StorageError> {
        let view = self.clocks_view_at(&case.clocks, false, case.station.as_deref());
        let done = sqlx::query(
            "UPDATE cases SET state = $1, is_open = $2, queue = $3, assignee = $4, \
             clocks = $5, first_response_due = $6, next_response_due = $7, resolution_due = $8, \
             sla_flags = $9, updated_at = $10, last_agent_action_at = $11, \
             resolved_at = CASE WHEN resolved_at IS NULL AND $12 = 1 THEN $10 ELSE resolved_at END, \
             closed_at = CASE WHEN $2 = 0 THEN $10 ELSE closed_at END, \
             first_responded_at = CASE WHEN first_responded_at IS NULL AND $13 = 1 THEN $10 \
             ELSE first_responded_at END, version = version + 1 WHERE id = $14 AND version = $15",
        )
        .bind(&case.state)
        .bind(i32::from(is_open))
        .bind(&case.queue)
        .bind(&case.assignee)
        .bind(serde_json::to_string(&case.clocks).unwrap_or_default())
        .bind(opt_time(view.first_response_due))
        .bind(opt_time(view.next_response_due))
        .bind(opt_time(view.resolution_due))
        .bind(serde_json::to_string(&case.sla_flags).unwrap_or_default())
        .bind(to_db_time(at))
        .bind(to_db_time(case.last_agent_action_at))
        .bind(i32::from(case.clocks.resolution.is_none()))
        .bind(i32::from(case.clocks.first_response.is_none()))
        .bind(&case.id)
        .bind(case.version)
        .execute(tx.conn())
        .await?
        .rows_affected();
        Ok(done == 1)
    }

    /// Moves a case to another state of its workflow; refused (nothing changes) when the
    /// workflow does not allow it or a required field is missing.
    pub async fn transition(
        &self,
        id: &str,
        req: &TransitionRequest,
        ctx: &AccessContext,
    ) -> Result<Case, CaseError> {
        let mut case = self.get_raw(id).await?.ok_or(CaseError::NotFound)?;
        let workflow = self.workflow(case.workflow_version).await?;
        if workflow.is_terminal(&case.state) {
            return Err(CaseError::Closed);
        }
        workflow.check(&case.state, &req.to, |f| req.fields.contains_key(f))?;
        let at = now();
        let from = std::mem::replace(&mut case.state, req.to.clone());
        let cal = self.book().of(case.station.as_deref()).clone();
        let message = req.fields.get("message");
        if message.is_some() {
            answer(&mut case, at, &cal);
        }
        if workflow.is_resolved(&req.to) {
            stop_clock(&mut case, "resolution", at, &cal);
            stop_clock(&mut case, "next_response", at, &cal);
            stop_clock(&mut case, "first_response", at, &cal);
        } else if workflow.is_resolved(&from) {
            // Reopened: the resolution clock restarts with its full target.
            let t = sla_targets(case.category, case.priority);
            case.clocks.resolution = Some(SlaClock::start(t.resolution, at));
        }
        for (_, c) in case.clocks.each() {
            if let Some(c) = c {
                if workflow.pauses(&req.to) {
                    c.pause(at, &cal);
                } else {
                    c.resume(at);
                }
            }
        }
        case.last_agent_action_at = at;
        let is_open = !workflow.is_terminal(&req.to);
        let mut tx = self.db.begin_write().await?;
        if !self.save(&mut tx, &case, is_open, at).await? {
            return Err(CaseError::Busy);
        }
        entry(
            &mut tx,
            id,
            at,
            &ctx.actor.id,
            "transition",
            message.map(|_| "agent"),
            message.map(String::as_str),
            serde_json::json!({"from": from, "to": req.to,
                "fields": req.fields.iter().filter(|(k, _)| k.as_str() != "message")
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                    .collect::<serde_json::Map<_, _>>()}),
        )
        .await?;
        tx.emit(&CloudEvent::of(&CaseStateChanged {
            case_id: id.to_owned(),
            customer_id: case.customer_id.clone(),
            from: from.clone(),
            to: req.to.clone(),
            workflow_version: case.workflow_version,
        }))
        .await?;
        tx.audit(&[ctx.entry(
            audit::TRANSITIONED,
            "case",
            Some(id.to_owned()),
            vec!["state".into()],
            "success",
        )])
        .await?;
        if let Some(facts) = self.passenger_address(&case).await? {
            let state_label = workflow
                .state(&req.to)
                .map_or(req.to.clone(), |s| s.label.clone());
            let (template, key) = if is_open {
                (
                    TEMPLATE_STATUS,
                    format!("case-status:{id}:{}", case.version + 1),
                )
            } else {
                (TEMPLATE_CLOSED, format!("case-closed:{id}"))
            };
            let mut params = serde_json::json!({"reference": short_ref(id),
                "subject": case.subject, "state": state_label});
            if let Some(m) = message {
                params["message"] = serde_json::Value::String(m.clone());
            }
            let template = if message.is_some() && is_open {
                TEMPLATE_REPLY
            } else {
                template
            };
            self.notify(
                &mut tx,
                &facts.0,
                facts.1.as_deref(),
                template,
                &key,
                params,
            )
            .await?;
        }
        tx.commit().await?;
        self.get_raw(id).await?.ok_or(CaseError::NotFound)
    }

    async fn passenger_address(
        &self,
        case: &Case,
    ) -> Result<Option<(String, Option<String>)>, StorageError> {
        if self.mailer.is_none() {
            return Ok(None);
        }
        let Some(customer) = CustomerId::parse(&case.customer_id) else {
            return Ok(None);
        };
        Ok(self
            .customers
            .facts(customer)
            .await?
            .and_then(|f| f.email.map(|e| (e, f.language.or(case.language.clone())))))
    }

    /// Adds a message. An agent's message answers the customer (stops the first- and
    /// next-response clocks); a customer's message resumes paused clocks, moves a case that
    /// waits for them back to work, and starts the next-response clock.
    pub async fn add_message(
        &self,
        id: &str,
        from_customer: bool,
        body: &str,
        ctx: &AccessContext,
    ) -> Result<Case, CaseError> {
        let mut case = self.get_raw(id).await?.ok_or(CaseError::NotFound)?;
        let workflow = self.workflow(case.workflow_version).await?;
        if workflow.is_terminal(&case.state) {
            return Err(CaseError::Closed);
        }
        let at = now();
        let from_state = case.state.clone();
        if from_customer {
            if workflow.pauses(&case.state) && !workflow.is_resolved(&case.state) {
                // The reply the case waited for: back to work (the workflow's way back).
                let back = workflow
                    .next(&case.state)
                    .find(|t| {
                        !workflow.pauses(&t.to)
                            && !workflow.is_resolved(&t.to)
                            && t.required.is_empty()
                    })
                    .map(|t| t.to.clone());
                if let Some(to) = back {
                    case.state = to;
                }
                for (_, c) in case.clocks.each() {
                    if let Some(c) = c {
                        c.resume(at);
                    }
                }
            }
            if case.clocks.next_response.is_none() && case.clocks.first_response.is_none() {
                let t = sla_targets(case.category, case.priority);
                case.clocks.next_response = Some(SlaClock::start(t.next_response, at));
            }
        } else {
            let cal = self.book().of(case.station.as_deref()).clone();
            answer(&mut case, at, &cal);
            case.last_agent_action_at = at;
        }
        let mut tx = self.db.begin_write().await?;
        if !self.save(&mut tx, &case, true, at).await? {
            return Err(CaseError::Busy);
        }
        let author = if from_customer { "customer" } else { "agent" };
        entry(
            &mut tx,
            id,
            at,
            &ctx.actor.id,
            "message",
            Some(author),
            Some(body),
            serde_json::json!({}),
        )
        .await?;
        tx.emit(&CloudEvent::of(&CaseMessageAdded {
            case_id: id.to_owned(),
            customer_id: case.customer_id.clone(),
            author: author.into(),
        }))
        .await?;
        if from_state != case.state {
            tx.emit(&CloudEvent::of(&CaseStateChanged {
                case_id: id.to_owned(),
                customer_id: case.customer_id.clone(),
                from: from_state,
                to: case.state.clone(),
                workflow_version: case.workflow_version,
            }))
            .await?;
        }
        tx.audit(&[ctx.entry(
            audit::MESSAGE_ADDED,
            "case",
            Some(id.to_owned()),
            vec!["message".into()],
            "success",
        )])
        .await?;
        if !from_customer && let Some((to, lang)) = self.passenger_address(&case).await? {
            self.notify(
                &mut tx,
                &to,
                lang.as_deref(),
                TEMPLATE_REPLY,
                &format!("case-reply:{id}:{}", case.version + 1),
                serde_json::json!({"reference": short_ref(id), "message": body}),
            )
            .await?;
        }
        tx.commit().await?;
        self.get_raw(id).await?.ok_or(CaseError::NotFound)
    }

    /// Gives a case to another queue or agent, with a reason (manual assignment, transfer).
    pub async fn assign(
        &self,
        id: &str,
        queue: &str,
        assignee: Option<&str>,
        reason: &str,
        ctx: &AccessContext,
    ) -> Result<Case, CaseError> {
        let mut case = self.get_raw(id).await?.ok_or(CaseError::NotFound)?;
        let at = now();
        let mut tx = self.db.begin_write().await?;
        if !self.claim(&mut tx, &case).await? {
            return Err(CaseError::Busy);
        }
        case.queue = queue.to_owned();
        case.assignee = match assignee {
            Some(a) => Some(a.to_owned()),
            None => {
                self.assign_in(&mut tx, queue, case.language.as_deref(), at)
                    .await?
            }
        };
        case.last_agent_action_at = at;
        let is_open = true;
        if !self.save(&mut tx, &case, is_open, at).await? {
            return Err(CaseError::Busy);
        }
        record_assignment(&mut tx, &case, at, &ctx.actor.id, "transfer", Some(reason)).await?;
        tx.audit(&[ctx.entry(
            audit::ASSIGNED,
            "case",
            Some(id.to_owned()),
            vec!["queue".into(), "assignee".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        self.get_raw(id).await?.ok_or(CaseError::NotFound)
    }

    /// The SLA sweep (a scheduled job, once per slot across instances): raises each warning
    /// and breach once, escalates breached cases to the supervisor queue, and gives cases
    /// whose assignee has been silent too long to the next agent. Returns how many cases it
    /// changed.
    pub async fn sweep(&self, at: DateTime<Utc>) -> Result<usize, CaseError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM cases WHERE is_open = 1 AND (first_response_due IS NOT NULL \
             OR next_response_due IS NOT NULL OR resolution_due IS NOT NULL OR assignee IS NOT NULL) \
             ORDER BY resolution_due LIMIT 5000"
        ))
        .fetch_all(self.db.pool())
        .await?;
        self.refresh_calendars().await?;
        let book = self.book();
        let ctx = AccessContext::system("cases");
        let mut changed = 0;
        for row in rows {
            let mut case = self.decode(&row)?;
            let cal = book.of(case.station.as_deref()).clone();
            let mut events: Vec<CloudEvent> = Vec::new();
            let mut escalate = false;
            let clocks = case.clocks;
            for (name, clock) in [
                ("first_response", clocks.first_response),
                ("next_response", clocks.next_response),
                ("resolution", clocks.resolution),
            ] {
                let Some(clock) = clock else { continue };
                let status = clock.status(at, &cal);
                let mut raise = |flag: String, ev: CloudEvent| {
                    if !case.sla_flags.contains(&flag) {
                        case.sla_flags.push(flag);
                        events.push(ev);
                        true
                    } else {
                        false
                    }
                };
                if matches!(status, SlaStatus::AtRisk | SlaStatus::Breached) {
                    raise(
                        format!("{name}:warning"),
                        CloudEvent::of(&CaseSlaWarning {
                            case_id: case.id.clone(),
                            customer_id: case.customer_id.clone(),
                            clock: name.into(),
                        }),
                    );
                }
                if status == SlaStatus::Breached
                    && raise(
                        format!("{name}:breached"),
                        CloudEvent::of(&CaseSlaBreached {
                            case_id: case.id.clone(),
                            customer_id: case.customer_id.clone(),
                            clock: name.into(),
                        }),
                    )
                {
                    escalate = true;
                }
            }
            let silent = case.assignee.is_some()
                && at - case.last_agent_action_at >= self.config.reassign_after;
            if events.is_empty() && !silent {
                continue;
            }
            let mut tx = self.db.begin_write().await?;
            if !self.claim(&mut tx, &case).await? {
                continue; // changed meanwhile: the next sweep looks again
            }
            let mut reason = None;
            if escalate && case.queue != SUPERVISOR_QUEUE {
                case.queue = SUPERVISOR_QUEUE.to_owned();
                case.assignee = self
                    .assign_in(&mut tx, SUPERVISOR_QUEUE, case.language.as_deref(), at)
                    .await?;
                reason = Some("escalation");
            } else if silent {
                let previous = case.assignee.take();
                let next = self
                    .assign_in(&mut tx, &case.queue, case.language.as_deref(), at)
                    .await?;
                // Never "reassign" to the same silent agent.
                case.assignee = next.filter(|n| Some(n) != previous.as_ref());
                case.last_agent_action_at = at;
                reason = Some("reassignment");
            }
            if !self.save(&mut tx, &case, true, at).await? {
                continue; // changed meanwhile: the next sweep looks again
            }
            tx.emit_all(&events).await?;
            if let Some(reason) = reason {
                record_assignment(&mut tx, &case, at, &ctx.actor.id, reason, None).await?;
                tx.audit(&[ctx.entry(
                    audit::ASSIGNED,
                    "case",
                    Some(case.id.clone()),
                    vec!["queue".into(), "assignee".into()],
                    "success",
                )])
                .await?;
            }
            tx.commit().await?;
            changed += 1;
        }
        Ok(changed)
    }

    /// A page of the work queue: open cases of `queue` or of `assignee`, most urgent first
    /// (priority, then age), after the keyset `after` (`rank|opened_at|id`).
    pub async fn work_queue(
        &self,
        filter: QueueFilter<'_>,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Case>, StorageError> {
        self.refresh_calendars().await?;
        let (cond, value) = match filter {
            QueueFilter::Assignee(a) => ("assignee = $1", a.to_owned()),
            QueueFilter::Queue(q) => ("queue = $1", q.to_owned()),
        };
        let mut sql = format!("SELECT {COLUMNS} FROM cases WHERE {cond} AND is_open = 1");
        let keys = after.and_then(|a| {
            let mut parts = a.splitn(3, '|');
            Some((
                parts.next()?.parse::<i32>().ok()?,
                parts.next()?.to_owned(),
                parts.next()?.to_owned(),
            ))
        });
        if keys.is_some() {
            sql.push_str(
                " AND (priority_rank > $2 OR (priority_rank = $2 AND (opened_at > $3 OR \
                 (opened_at = $3 AND id > $4))))",
            );
        }
        sql.push_str(&format!(
            " ORDER BY priority_rank, opened_at, id LIMIT {}",
            limit.clamp(1, 200)
        ));
        let mut q = sqlx::query(&sql).bind(value);
        if let Some((rank, opened, id)) = keys {
            q = q.bind(rank).bind(opened).bind(id);
        }
        q.fetch_all(self.db.pool())
            .await?
            .iter()
            .map(|r| self.decode(r))
            .collect()
    }

    /// The cases of one customer, newest first (the customer 360° tab); the read is audited.
    pub async fn of_customer(
        &self,
        customer: &str,
        ctx: &AccessContext,
    ) -> Result<Vec<Case>, StorageError> {
        self.refresh_calendars().await?;
        let list = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM cases WHERE customer_id = $1 ORDER BY opened_at DESC LIMIT 50"
        ))
        .bind(customer)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|r| self.decode(r))
        .collect::<Result<Vec<_>, _>>()?;
        let mut tx = self.db.begin_write().await?;
        tx.audit(&[ctx.entry(
            audit::READ,
            "customer",
            Some(customer.to_owned()),
            vec!["cases".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(list)
    }

    /// Open cases with an SLA clock due before `until` (at risk or breached), soonest first.
    pub async fn at_risk(
        &self,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Case>, StorageError> {
        self.refresh_calendars().await?;
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM cases WHERE is_open = 1 AND (resolution_due < $1 \
             OR first_response_due < $1 OR next_response_due < $1) \
             ORDER BY resolution_due, id LIMIT {}",
            limit.clamp(1, 200)
        ))
        .bind(to_db_time(until))
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|r| self.decode(r))
        .collect()
    }
}

/// Which work queue.
#[derive(Debug, Clone, Copy)]
pub enum QueueFilter<'a> {
    /// Cases assigned to this agent.
    Assignee(&'a str),
    /// Cases in this queue.
    Queue(&'a str),
}

/// The keyset of a case in the work-queue order.
pub fn cursor_of(case: &Case) -> String {
    format!(
        "{}|{}|{}",
        case.priority as i32,
        to_db_time(case.opened_at),
        case.id
    )
}

/// An agent answered: the first- and next-response clocks stop.
fn answer(case: &mut Case, at: DateTime<Utc>, cal: &BusinessCalendar) {
    stop_clock(case, "first_response", at, cal);
    stop_clock(case, "next_response", at, cal);
}

/// Stops one of the case's clocks. When it stops past its target the case keeps the flag
/// `<clock>:missed`: the stopped clock is gone, and the sweep may never have seen the breach
/// (it runs once a minute), yet the attainment report must count the miss — with a GROUP BY
/// over the flags, not by replaying each case's clocks.
fn stop_clock(case: &mut Case, name: &str, at: DateTime<Utc>, cal: &BusinessCalendar) {
    let clock = match name {
        "first_response" => case.clocks.first_response.take(),
        "next_response" => case.clocks.next_response.take(),
        _ => case.clocks.resolution.take(),
    };
    let flag = format!("{name}:missed");
    if clock.is_some_and(|c| c.status(at, cal) == SlaStatus::Breached)
        && !case.sla_flags.contains(&flag)
    {
        case.sla_flags.push(flag);
    }
}

/// The short reference passengers see (`C-` and the id's last eight characters).
pub fn short_ref(id: &str) -> String {
    format!("C-{}", &id[id.len().saturating_sub(8)..]).to_uppercase()
}

async fn record_assignment(
    tx: &mut WriteTx,
    case: &Case,
    at: DateTime<Utc>,
    actor: &str,
    why: &str,
    reason: Option<&str>,
) -> Result<(), StorageError> {
    entry(
        tx,
        &case.id,
        at,
        actor,
        "assigned",
        None,
        None,
        serde_json::json!({"queue": case.queue, "assignee": case.assignee, "why": why,
                           "reason": reason}),
    )
    .await?;
    tx.emit(&CloudEvent::of(&CaseAssigned {
        case_id: case.id.clone(),
        customer_id: case.customer_id.clone(),
        queue: case.queue.clone(),
        assignee: case.assignee.clone(),
        reason: why.into(),
    }))
    .await
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn entry(
    tx: &mut WriteTx,
    case: &str,
    at: DateTime<Utc>,
    actor: &str,
    kind: &str,
    author: Option<&str>,
    body: Option<&str>,
    detail: serde_json::Value,
) -> Result<(), StorageError> {
    sqlx::query(
        "INSERT INTO case_entries (case_id, at, actor, kind, author, body, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(case)
    .bind(to_db_time(at))
    .bind(actor)
    .bind(kind)
    .bind(author)
    .bind(body)
    .bind(detail.to_string())
    .execute(tx.conn())
    .await?;
    Ok(())
}
