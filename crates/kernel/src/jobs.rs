//! Scheduled and delayed work that runs once across every Aloft process sharing a database.
//!
//! Why: domains need work that happens later or elsewhere than the request that causes it — a
//! mail sent after the case is stored, a compensation clock that escalates after 14 days, a
//! privacy erasure once its grace period ends. Such work must survive a crash, must not run in
//! three processes at once, and must commit with the change that causes it.
//!
//! Flow: a domain calls [`Jobs::enqueue`] inside the [`WriteTx`] that changes state, so the job
//! exists exactly when the change does (the outbox pattern). A [`JobRunner`] in every process
//! claims due jobs with a **lease** (owner + expiry) — on PostgreSQL with
//! `FOR UPDATE SKIP LOCKED`, so runners never wait for each other; on SQLite inside the
//! serialised write transaction — runs their [`JobHandler`], and records the outcome:
//! done, retry later ([`JobError::Retry`], exponential back-off with jitter, capped), or failed
//! ([`JobError::Fail`], or attempts exhausted). While a job runs, its runner extends the lease;
//! a job whose lease ran out (its process died) is claimed again by any runner.
//! [`Schedule::every`] keeps one pending occurrence per time slot of a recurring job, named by
//! its dedupe key `kind@<slot start>`, so every slot runs once however many runners there are.
//!
//! Guarantees and their limits:
//! - A job is claimed by one runner at a time, and only the runner holding the current claim
//!   can finish it (`attempts` fences the outcome), so a job finishes at most once.
//! - While its process lives, a handler runs once per attempt: the lease is renewed every third
//!   of its length. If the process dies mid-job (or is cut off from the database for longer than
//!   the lease), the job runs again elsewhere: handlers whose effect lies outside the database
//!   must be idempotent or check for an earlier effect (the mail handler records deliveries).
//! - Leases compare instants of the runners' clocks, which must agree to well within the lease
//!   (NTP); the default lease is a minute.
//! - A dedupe key holds as long as its row is kept ([`Jobs::prune`] deletes finished rows).
//!
//! Logs name job ids, kinds and attempts, never payloads or failure reasons (a reason may quote
//! personal data, e.g. an SMTP reply naming the recipient); reasons are kept in `last_error`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Row;
use tokio::sync::broadcast;
use tokio::task::JoinSet;

use crate::db::{Backend, Database, StorageError, WriteTx, from_db_time, now, to_db_time};

/// How many times a job is tried by default before it is marked failed.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;

/// The longest failure reason kept in `last_error` (characters).
const MAX_REASON: usize = 1000;

/// A job to enqueue. Built with [`NewJob::new`] and refined with its builder methods.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// Which handler runs it (`mail.send`, `cases.escalate`…).
    pub kind: String,
    /// The handler's input. Keep it to identifiers where possible: payloads are stored in the
    /// clear and kept until the row is pruned.
    pub payload: serde_json::Value,
    /// When it becomes due (now, or later for delayed work).
    pub run_at: DateTime<Utc>,
    /// Names the logical job: a second enqueue with the same key is a no-op, even after the
    /// first has run (as long as its row is kept).
    pub dedupe_key: Option<String>,
    /// How many attempts before the job is marked failed (at least 1).
    pub max_attempts: u32,
}

impl NewJob {
    /// A job of `kind` with `payload`, due now, without dedupe key, tried up to
    /// [`DEFAULT_MAX_ATTEMPTS`] times.
    pub fn new(kind: impl Into<String>, payload: serde_json::Value) -> Self {
        Self {
            kind: kind.into(),
            payload,
            run_at: now(),
            dedupe_key: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    /// Due at `run_at` instead of now.
    pub fn at(mut self, run_at: DateTime<Utc>) -> Self {
        self.run_at = run_at;
        self
    }

    /// Due `delay` from now.
    pub fn after(mut self, delay: Duration) -> Self {
        self.run_at = later(now(), delay);
        self
    }

    /// Enqueued at most once under `key` (an event id, an idempotency key).
    pub fn dedupe(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }

    /// Tried at most `n` times (at least once).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }
}

/// What [`Jobs::enqueue`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enqueued {
    /// A new job, with its id.
    New(String),
    /// A job with the same dedupe key exists already; nothing was added.
    Duplicate,
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for `run_at` (or for a runner).
    Pending,
    /// Claimed by a runner whose lease has not yet been released.
    Running,
    /// Finished successfully.
    Done,
    /// Given up: failed permanently or ran out of attempts.
    Failed,
}

impl JobState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<Self, StorageError> {
        Ok(match s {
            "pending" => JobState::Pending,
            "running" => JobState::Running,
            "done" => JobState::Done,
            "failed" => JobState::Failed,
            other => {
                return Err(StorageError::Corrupt(format!(
                    "unknown job state {other:?}"
                )));
            }
        })
    }
}

/// A stored job, as a handler receives it and as [`Jobs::get`] reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// UUIDv7.
    pub id: String,
    /// Which handler runs it.
    pub kind: String,
    /// The handler's input.
    pub payload: serde_json::Value,
    /// The logical job's name, if any.
    pub dedupe_key: Option<String>,
    /// Where it is in its life.
    pub state: JobState,
    /// When it is (or was last) due.
    pub run_at: DateTime<Utc>,
    /// Claims so far; inside a handler, the number of this attempt (1 for the first).
    pub attempts: u32,
    /// The limit of attempts.
    pub max_attempts: u32,
    /// The runner that holds (or last held) it.
    pub lease_owner: Option<String>,
    /// Until when the current claim holds.
    pub lease_until: Option<DateTime<Utc>>,
    /// Why the last attempt did not succeed.
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// When it ended (done or failed).
    pub finished_at: Option<DateTime<Utc>>,
}

impl Job {
    /// Whether this is the last attempt the job will get.
    pub fn is_last_attempt(&self) -> bool {
        self.attempts >= self.max_attempts
    }
}

/// Why a handler did not finish its job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// A passing problem (a service down, a 4xx SMTP reply): try again after a back-off, until
    /// the job's attempts run out.
    #[error("will retry: {0}")]
    Retry(String),
    /// A lasting problem (a 5xx SMTP reply, a record that no longer exists): mark the job
    /// failed now, with the reason.
    #[error("failed: {0}")]
    Fail(String),
}

impl From<StorageError> for JobError {
    /// Storage trouble is passing unless stored data is corrupt.
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Corrupt(_) => JobError::Fail(e.to_string()),
            _ => JobError::Retry(e.to_string()),
        }
    }
}

/// The future a [`JobHandler`] returns.
pub type JobFuture<'a> = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send + 'a>>;

/// Runs jobs of one kind. Registered with a [`JobRunner`] under that kind.
pub trait JobHandler: Send + Sync + 'static {
    /// Does the job's work. `Ok` marks it done; see [`JobError`] for the rest. A panic counts
    /// as [`JobError::Retry`].
    fn run<'a>(&'a self, job: &'a Job) -> JobFuture<'a>;
}

struct FnHandler<F>(F);

impl<F, Fut> JobHandler for FnHandler<F>
where
    F: Fn(Job) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), JobError>> + Send + 'static,
{
    fn run<'a>(&'a self, job: &'a Job) -> JobFuture<'a> {
        Box::pin((self.0)(job.clone()))
    }
}

/// A handler from an async closure that takes the job by value (small handlers, tests).
pub fn handler_fn<F, Fut>(f: F) -> Arc<dyn JobHandler>
where
    F: Fn(Job) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), JobError>> + Send + 'static,
{
    Arc::new(FnHandler(f))
}

/// Counts of jobs by state (operations pages, tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    /// Waiting.
    pub pending: i64,
    /// Claimed.
    pub running: i64,
    /// Finished.
    pub done: i64,
    /// Given up.
    pub failed: i64,
}

/// Enqueueing and reading jobs.
#[derive(Debug, Clone, Copy)]
pub struct Jobs;

const COLUMNS: &str = "id, kind, payload, dedupe_key, state, run_at, attempts, max_attempts, \
                       lease_owner, lease_until, last_error, created_at, finished_at";

impl Jobs {
    /// Adds `job` inside the caller's transaction, so it commits (and becomes visible to
    /// runners) with the change that causes it, or not at all. With a dedupe key already
    /// taken, nothing is added. On SQLite, the transaction's first statement must be a write:
    /// this insert is one.
    pub async fn enqueue(tx: &mut WriteTx, job: NewJob) -> Result<Enqueued, StorageError> {
        let id = uuid::Uuid::now_v7().to_string();
        let payload = serde_json::to_string(&job.payload)
            .map_err(|e| StorageError::Corrupt(format!("job payload not serialisable: {e}")))?;
        let done = sqlx::query(
            "INSERT INTO jobs (id, kind, payload, dedupe_key, state, run_at, attempts, max_attempts, created_at) \
             VALUES ($1, $2, $3, $4, 'pending', $5, 0, $6, $7) ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(&id)
        .bind(&job.kind)
        .bind(payload)
        .bind(job.dedupe_key)
        .bind(to_db_time(job.run_at))
        .bind(i64::from(job.max_attempts.max(1)))
        .bind(to_db_time(now()))
        .execute(tx.conn())
        .await?;
        Ok(if done.rows_affected() == 1 {
            Enqueued::New(id)
        } else {
            Enqueued::Duplicate
        })
    }

    /// Adds `job` in a transaction of its own (work not tied to a state change).
    pub async fn enqueue_now(db: &Database, job: NewJob) -> Result<Enqueued, StorageError> {
        let mut tx = db.begin_write().await?;
        let outcome = Self::enqueue(&mut tx, job).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// One job by id.
    pub async fn get(db: &Database, id: &str) -> Result<Option<Job>, StorageError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
        row.map(|r| job_from_row(&r)).transpose()
    }

    /// The job enqueued under `key`, if its row is kept.
    pub async fn by_dedupe_key(db: &Database, key: &str) -> Result<Option<Job>, StorageError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM jobs WHERE dedupe_key = $1"))
            .bind(key)
            .fetch_optional(db.pool())
            .await?;
        row.map(|r| job_from_row(&r)).transpose()
    }

    /// Every kept job of `kind`, oldest due first (diagnostics, tests).
    pub async fn of_kind(db: &Database, kind: &str) -> Result<Vec<Job>, StorageError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE kind = $1 ORDER BY run_at, id"
        ))
        .bind(kind)
        .fetch_all(db.pool())
        .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// How many jobs are in each state.
    pub async fn counts(db: &Database) -> Result<JobCounts, StorageError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM jobs GROUP BY state")
                .fetch_all(db.pool())
                .await?;
        let mut counts = JobCounts::default();
        for (state, n) in rows {
            match JobState::parse(&state)? {
                JobState::Pending => counts.pending = n,
                JobState::Running => counts.running = n,
                JobState::Done => counts.done = n,
                JobState::Failed => counts.failed = n,
            }
        }
        Ok(counts)
    }

    /// Deletes jobs that finished (done or failed) longer than `keep` ago; returns how many.
    /// Their dedupe keys are forgotten with them, so keep finished jobs longer than anyone
    /// could enqueue the same logical job again.
    pub async fn prune(db: &Database, keep: Duration) -> Result<u64, StorageError> {
        let cutoff = chrono::Duration::from_std(keep)
            .ok()
            .and_then(|keep| now().checked_sub_signed(keep))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let mut tx = db.begin_write().await?;
        let done =
            sqlx::query("DELETE FROM jobs WHERE state IN ('done', 'failed') AND finished_at < $1")
                .bind(to_db_time(cutoff))
                .execute(tx.conn())
                .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}

/// `t + d`, or the far future when that overflows (an absurd setting must not panic).
fn later(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn job_from_row(row: &sqlx::any::AnyRow) -> Result<Job, StorageError> {
    let time = |name: &str| -> Result<DateTime<Utc>, StorageError> {
        from_db_time(&row.try_get::<String, _>(name)?)
    };
    let maybe_time = |name: &str| -> Result<Option<DateTime<Utc>>, StorageError> {
        row.try_get::<Option<String>, _>(name)?
            .map(|s| from_db_time(&s))
            .transpose()
    };
    let count = |name: &str| -> Result<u32, StorageError> {
        Ok(u32::try_from(row.try_get::<i64, _>(name)?).unwrap_or(u32::MAX))
    };
    let payload: String = row.try_get("payload")?;
    Ok(Job {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| StorageError::Corrupt(format!("job payload: {e}")))?,
        dedupe_key: row.try_get("dedupe_key")?,
        state: JobState::parse(&row.try_get::<String, _>("state")?)?,
        run_at: time("run_at")?,
        attempts: count("attempts")?,
        max_attempts: count("max_attempts")?,
        lease_owner: row.try_get("lease_owner")?,
        lease_until: maybe_time("lease_until")?,
        last_error: row.try_get("last_error")?,
        created_at: time("created_at")?,
        finished_at: maybe_time("finished_at")?,
    })
}

/// A recurring job: one occurrence per slot of `interval` (slots are aligned to the Unix epoch,
/// so every runner computes the same ones). Each runner makes sure the next slot's occurrence
/// exists, enqueued with the dedupe key `kind@<slot start>`; the key makes it one row however
/// many runners try, and a slot whose occurrence already ran is never enqueued again. Slots
/// missed while no runner ran are not made up: after an outage the pending occurrence runs once
/// and the schedule carries on. The handler gets `{"slot": "<slot start>"}` as payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    kind: &'static str,
    interval: Duration,
    max_attempts: u32,
}

impl Schedule {
    /// `kind` once every `interval` (at least a millisecond).
    pub fn every(kind: &'static str, interval: Duration) -> Self {
        Self {
            kind,
            interval: interval.max(Duration::from_millis(1)),
            max_attempts: 3,
        }
    }

    /// Tries an occurrence at most `n` times (default 3); a failed occurrence does not stop the
    /// next slot's.
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }

    /// The job kind.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The start of the slot that contains `t`.
    pub fn slot_of(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let step = i64::try_from(self.interval.as_micros()).unwrap_or(i64::MAX);
        let micros = t.timestamp_micros();
        DateTime::from_timestamp_micros(micros - micros.rem_euclid(step)).unwrap_or(t)
    }

    /// The dedupe key of the occurrence for the slot starting at `slot`.
    pub fn key(&self, slot: DateTime<Utc>) -> String {
        format!("{}@{}", self.kind, to_db_time(slot))
    }

    /// The occurrence for the slot starting at `slot`.
    pub fn occurrence(&self, slot: DateTime<Utc>) -> NewJob {
        NewJob::new(self.kind, serde_json::json!({ "slot": to_db_time(slot) }))
            .at(slot)
            .dedupe(self.key(slot))
            .max_attempts(self.max_attempts)
    }

    fn next_slot(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        later(self.slot_of(t), self.interval)
    }
}

/// How long to wait before attempt `n + 1` after attempt `n` asked to retry: `base · 2^(n-1)`,
/// capped at `max`, then a random point in its upper half (jitter, so jobs that failed together
/// do not retry together).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait after the first attempt (before jitter).
    pub base: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    /// 5 s, 10 s, 20 s… up to an hour.
    fn default() -> Self {
        Self {
            base: Duration::from_secs(5),
            max: Duration::from_secs(3600),
        }
    }
}

impl Backoff {
    /// The wait after attempt `attempt` (1-based) failed, before jitter.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(32);
        self.base
            .checked_mul(1u32 << doublings.min(31))
            .unwrap_or(self.max)
            .min(self.max)
    }

    /// The wait after attempt `attempt` failed, with jitter: in `[ceiling / 2, ceiling]`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let half = ceiling / 2;
        let random = (uuid::Uuid::new_v4().as_u128() as u64) as f64 / u64::MAX as f64;
        half + half.mul_f64(random)
    }
}

/// How a [`JobRunner`] works.
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// Jobs this runner runs at once.
    pub concurrency: usize,
    /// How long a claim holds without renewal. The runner renews it every third of this
    /// while the job runs; a dead runner's jobs are taken over this long after it died.
    pub lease: Duration,
    /// How often the runner looks for due jobs when it found none.
    pub poll: Duration,
    /// Waits between attempts.
    pub backoff: Backoff,
}

impl Default for RunnerSettings {
    /// 4 at once, a one-minute lease, polling every half second.
    fn default() -> Self {
        Self {
            concurrency: 4,
            lease: Duration::from_secs(60),
            poll: Duration::from_millis(500),
            backoff: Backoff::default(),
        }
    }
}

/// What became of one attempt; [`JobRunner::subscribe`] tells them as they happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done.
    Done,
    /// Will be tried again at this instant.
    Retrying(DateTime<Utc>),
    /// Given up, with the reason.
    Failed(String),
    /// Another runner took the job over (this runner's lease ran out) before the outcome could
    /// be recorded; the other runner's outcome counts.
    LeaseLost,
}

/// One attempt's outcome, as told by [`JobRunner::subscribe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The job.
    pub job_id: String,
    /// Its kind.
    pub kind: String,
    /// Which attempt (1-based).
    pub attempt: u32,
    /// What became of it.
    pub outcome: Outcome,
}

/// Claims due jobs and runs them with their kind's handler. One per process; any number of
/// processes may run one on the same database. Only kinds it has a handler for are claimed, so
/// processes of different versions can share a queue.
pub struct JobRunner {
    db: Database,
    handlers: Arc<HashMap<&'static str, Arc<dyn JobHandler>>>,
    kinds: Vec<&'static str>,
    schedules: Vec<Schedule>,
    settings: RunnerSettings,
    owner: String,
    outcomes: broadcast::Sender<Attempt>,
}

impl std::fmt::Debug for JobRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobRunner")
            .field("owner", &self.owner)
            .field("kinds", &self.kinds)
            .field("schedules", &self.schedules)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl JobRunner {
    /// A runner on `db` for the kinds in `handlers`, with default settings and a fresh owner id.
    pub fn new(db: Database, handlers: HashMap<&'static str, Arc<dyn JobHandler>>) -> Self {
        let mut kinds: Vec<&'static str> = handlers.keys().copied().collect();
        kinds.sort_unstable();
        Self {
            db,
            handlers: Arc::new(handlers),
            kinds,
            schedules: Vec::new(),
            settings: RunnerSettings::default(),
            owner: format!("runner-{}", uuid::Uuid::now_v7()),
            outcomes: broadcast::channel(4096).0,
        }
    }

    /// With other settings.
    pub fn with_settings(mut self, settings: RunnerSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Also keeps `schedule`'s next occurrence enqueued. Its kind needs a handler here.
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedules.push(schedule);
        self
    }

    /// This runner's lease owner id (stored in `lease_owner`).
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Outcomes of attempts from now on (tests, diagnostics). Lagging receivers lose the oldest.
    pub fn subscribe(&self) -> broadcast::Receiver<Attempt> {
        self.outcomes.subscribe()
    }

    /// Runs until `shutdown` resolves, then stops claiming, waits for the jobs it is running
    /// (renewing their leases meanwhile) and returns. Looks for due jobs every
    /// [`RunnerSettings::poll`], at once after a full batch; backs off while the database is
    /// unreachable. Dropping the future abandons the running jobs (their leases expire and
    /// another runner takes them over).
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        for s in &self.schedules {
            if !self.kinds.contains(&s.kind) {
                tracing::warn!(kind = s.kind, "schedule without a handler; it will not run");
            }
        }
        tokio::pin!(shutdown);
        let mut running: JoinSet<Result<(), JobError>> = JoinSet::new();
        let mut claimed: HashMap<tokio::task::Id, Job> = HashMap::new();
        let mut stopping = false;
        let mut renew = tokio::time::interval(self.settings.lease / 3);
        renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ensured: Vec<Option<DateTime<Utc>>> = vec![None; self.schedules.len()];
        let mut trouble = Duration::ZERO;
        let concurrency = self.settings.concurrency.max(1);
        loop {
            let mut again = false;
            if !stopping {
                self.ensure_schedules(&mut ensured).await;
                let room = concurrency.saturating_sub(running.len());
                if room > 0 {
                    match self.claim(room).await {
                        Ok(jobs) => {
                            trouble = Duration::ZERO;
                            again = jobs.len() == room;
                            for job in jobs {
                                if let Some(job) = self.admit(job).await {
                                    let handler = self.handlers[job.kind.as_str()].clone();
                                    let for_task = job.clone();
                                    let handle =
                                        running.spawn(async move { handler.run(&for_task).await });
                                    claimed.insert(handle.id(), job);
                                }
                            }
                        }
                        Err(e) => {
                            trouble =
                                (trouble * 2).clamp(self.settings.poll, Duration::from_secs(10));
                            tracing::warn!(error = %e, "job runner cannot claim jobs; will retry");
                        }
                    }
                }
            }
            if stopping && running.is_empty() {
                break;
            }
            let wait = if again && running.len() < concurrency {
                Duration::ZERO
            } else {
                trouble.max(self.settings.poll)
            };
            tokio::select! {
                _ = &mut shutdown, if !stopping => {
                    stopping = true;
                    tracing::info!(running = running.len(), "job runner stopping; waiting for running jobs");
                }
                Some(done) = running.join_next_with_id(), if !running.is_empty() => {
                    let (id, result) = match done {
                        Ok((id, result)) => (id, result),
                        Err(e) => {
                            let reason = if e.is_panic() { "the handler panicked" } else { "the handler was cancelled" };
                            (e.id(), Err(JobError::Retry(reason.into())))
                        }
                    };
                    if let Some(job) = claimed.remove(&id) {
                        self.finish(&job, result).await;
                    }
                }
                _ = renew.tick(), if !running.is_empty() => {
                    if let Err(e) = self.renew_leases().await {
                        tracing::warn!(error = %e, "job runner cannot renew its leases; will retry");
                    }
                }
                _ = tokio::time::sleep(wait), if !stopping => {}
            }
        }
        tracing::info!("job runner stopped");
    }

    /// Makes sure every schedule's next occurrence is enqueued (once per slot and runner).
    async fn ensure_schedules(&self, ensured: &mut [Option<DateTime<Utc>>]) {
        let t = now();
        for (schedule, last) in self.schedules.iter().zip(ensured.iter_mut()) {
            let next = schedule.next_slot(t);
            if *last == Some(next) {
                continue;
            }
            match Jobs::enqueue_now(&self.db, schedule.occurrence(next)).await {
                Ok(_) => *last = Some(next),
                Err(e) => {
                    tracing::warn!(error = %e, kind = schedule.kind, "cannot enqueue a scheduled job; will retry")
                }
            }
        }
    }

    /// Claims up to `limit` due jobs (pending and due, or running with an expired lease).
    async fn claim(&self, limit: usize) -> Result<Vec<Job>, StorageError> {
        if self.kinds.is_empty() {
            return Ok(Vec::new());
        }
        let t = now();
        let due =
            "((state = 'pending' AND run_at <= $1) OR (state = 'running' AND lease_until < $2))";
        // A read first: most polls find nothing, and then take no write lock (SQLite's one
        // write slot) and write nothing.
        let found: Option<i64> =
            sqlx::query_scalar(&format!("SELECT 1 FROM jobs WHERE {due} LIMIT 1"))
                .bind(to_db_time(t))
                .bind(to_db_time(t))
                .fetch_optional(self.db.pool())
                .await?;
        if found.is_none() {
            metrics::gauge!("aloft_jobs_queue_lag_seconds").set(0.0);
            return Ok(Vec::new());
        }
        let lease_until = later(t, self.settings.lease);
        let kinds = (0..self.kinds.len())
            .map(|i| format!("${}", i + 6))
            .collect::<Vec<_>>()
            .join(", ");
        let lock = match self.db.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM jobs \
                 WHERE ((state = 'pending' AND run_at <= $3) OR (state = 'running' AND lease_until < $4)) \
                 AND kind IN ({kinds}) ORDER BY run_at LIMIT $5{lock}) \
             RETURNING {COLUMNS}"
        );
        let mut query = sqlx::query(&sql)
            .bind(&self.owner)
            .bind(to_db_time(lease_until))
            .bind(to_db_time(t))
            .bind(to_db_time(t))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX));
        for kind in &self.kinds {
            query = query.bind(*kind);
        }
        let mut tx = self.db.begin_write().await?;
        let rows = query.fetch_all(tx.conn()).await?;
        tx.commit().await?;
        let mut jobs = rows
            .iter()
            .map(job_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        jobs.sort_by_key(|j| j.run_at);
        let lag = jobs
            .first()
            .map(|j| (t - j.run_at).to_std().unwrap_or_default())
            .unwrap_or_default();
        metrics::gauge!("aloft_jobs_queue_lag_seconds").set(lag.as_secs_f64());
        Ok(jobs)
    }

    /// Runs a claimed job unless it has had all its attempts (a job whose process kept dying
    /// under it: it is marked failed rather than tried forever).
    async fn admit(&self, job: Job) -> Option<Job> {
        if job.attempts <= job.max_attempts {
            return Some(job);
        }
        let reason = format!(
            "gave up after {} attempts: the last one's lease expired (its process stopped?)",
            job.max_attempts
        );
        self.finish(&job, Err(JobError::Fail(reason))).await;
        None
    }

    /// Records the outcome of `job`'s current attempt, if this runner still holds it.
    async fn finish(&self, job: &Job, result: Result<(), JobError>) {
        let t = now();
        let kind = job.kind.clone();
        let (state, run_at, error, outcome) = match result {
            Ok(()) => (JobState::Done, None, None, Outcome::Done),
            Err(JobError::Retry(reason)) if !job.is_last_attempt() => {
                let at = later(t, self.settings.backoff.delay(job.attempts));
                (
                    JobState::Pending,
                    Some(at),
                    Some(reason),
                    Outcome::Retrying(at),
                )
            }
            Err(JobError::Retry(reason)) => {
                let reason = format!("gave up after {} attempts: {reason}", job.attempts);
                (
                    JobState::Failed,
                    None,
                    Some(reason.clone()),
                    Outcome::Failed(reason),
                )
            }
            Err(JobError::Fail(reason)) => (
                JobState::Failed,
                None,
                Some(reason.clone()),
                Outcome::Failed(reason),
            ),
        };
        let error = error.map(|e| e.chars().take(MAX_REASON).collect::<String>());
        let finished = matches!(state, JobState::Done | JobState::Failed).then(|| to_db_time(t));
        let recorded = async {
            let mut tx = self.db.begin_write().await?;
            let done = sqlx::query(
                "UPDATE jobs SET state = $1, run_at = COALESCE($2, run_at), last_error = $3, \
                 finished_at = $4, lease_until = NULL \
                 WHERE id = $5 AND lease_owner = $6 AND attempts = $7 AND state = 'running'",
            )
            .bind(state.as_str())
            .bind(run_at.map(to_db_time))
            .bind(error)
            .bind(finished)
            .bind(&job.id)
            .bind(&self.owner)
            .bind(i64::from(job.attempts))
            .execute(tx.conn())
            .await?;
            tx.commit().await?;
            Ok::<bool, StorageError>(done.rows_affected() == 1)
        };
        let outcome = match recorded.await {
            Ok(true) => outcome,
            Ok(false) => Outcome::LeaseLost,
            Err(e) => {
                // The claim stays; its lease expires and the job is tried again.
                tracing::warn!(error = %e, job = %job.id, kind = %kind, "cannot record a job's outcome; it will run again");
                return;
            }
        };
        let labels = [("kind", kind.clone())];
        match &outcome {
            Outcome::Done => {
                metrics::counter!("aloft_jobs_run_total", &labels).increment(1);
                tracing::debug!(job = %job.id, kind = %kind, attempt = job.attempts, "job done");
            }
            Outcome::Retrying(at) => {
                metrics::counter!("aloft_jobs_retried_total", &labels).increment(1);
                tracing::info!(job = %job.id, kind = %kind, attempt = job.attempts, retry_at = %to_db_time(*at), "job will be retried");
            }
            Outcome::Failed(_) => {
                metrics::counter!("aloft_jobs_failed_total", &labels).increment(1);
                tracing::warn!(job = %job.id, kind = %kind, attempt = job.attempts, "job failed; the reason is in its last_error");
            }
            Outcome::LeaseLost => {
                metrics::counter!("aloft_jobs_lease_lost_total", &labels).increment(1);
                tracing::warn!(job = %job.id, kind = %kind, attempt = job.attempts, "job's lease was taken over before it finished");
            }
        }
        let _ = self.outcomes.send(Attempt {
            job_id: job.id.clone(),
            kind,
            attempt: job.attempts,
            outcome,
        });
    }

    /// Extends the lease of every job this runner is running.
    async fn renew_leases(&self) -> Result<(), StorageError> {
        let until = later(now(), self.settings.lease);
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "UPDATE jobs SET lease_until = $1 WHERE lease_owner = $2 AND state = 'running'",
        )
        .bind(to_db_time(until))
        .bind(&self.owner)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap_with_jitter_in_the_upper_half() {
        let b = Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
        };
        assert_eq!(b.ceiling(1), Duration::from_secs(1));
        assert_eq!(b.ceiling(2), Duration::from_secs(2));
        assert_eq!(b.ceiling(6), Duration::from_secs(32));
        assert_eq!(b.ceiling(7), Duration::from_secs(60));
        assert_eq!(b.ceiling(1000), Duration::from_secs(60));
        for attempt in 1..10 {
            let d = b.delay(attempt);
            assert!(
                d >= b.ceiling(attempt) / 2 && d <= b.ceiling(attempt),
                "{d:?}"
            );
        }
    }

    #[test]
    fn slots_are_aligned_to_the_epoch() {
        let s = Schedule::every("clock", Duration::from_secs(60));
        let t: DateTime<Utc> = "2026-03-12T10:15:42.5Z".parse().unwrap();
        assert_eq!(
            s.slot_of(t),
            "2026-03-12T10:15:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            s.next_slot(t),
            "2026-03-12T10:16:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(s.key(s.slot_of(t)), "clock@2026-03-12T10:15:00.000000Z");
        let occurrence = s.occurrence(s.next_slot(t));
        assert_eq!(
            occurrence.dedupe_key.as_deref(),
            Some("clock@2026-03-12T10:16:00.000000Z")
        );
        assert_eq!(occurrence.payload["slot"], "2026-03-12T10:16:00.000000Z");
    }
}
