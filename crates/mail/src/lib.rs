//! Outgoing e-mail for every domain (case acknowledgements, compensation decisions, privacy
//! request receipts), sent through the job queue so that a message is neither lost nor sent
//! twice.
//!
//! Flow (the outbox pattern): a domain calls [`Mailer::queue`] inside the [`WriteTx`] of the
//! change that causes the message. The message is rendered from its [`Template`] there and
//! stored in `mail_messages` with a `mail.send` job, both keyed by the caller's idempotency key
//! (one per causing event), so queueing the same message again is a no-op and a rolled-back
//! change sends nothing. The job's handler ([`Mailer::handler`], registered with the
//! application's [`aloft_kernel::jobs::JobRunner`]) hands the message to the SMTP server:
//! 4xx replies and outages are retried with back-off, a 5xx reply fails the job with the
//! server's reason. Without an SMTP server (development), the handler keeps the message for
//! the mail catcher page ([`catcher_routes`]) instead.
//!
//! "Never twice": the handler stamps `delivered_at` as soon as the server accepted the message
//! and checks it before sending, so a retried or re-run job does not send again. One window
//! remains — the process dying between the server's acceptance and the stamp — in which the
//! message may be sent a second time; it carries the same `Message-ID` both times
//! (`<message id@sender domain>`), by which receiving systems recognise the duplicate.
//!
//! Privacy: logs name the job, message id and template, never the recipient, the parameters
//! or the text. The rendered message is personal data and lives only in `mail_messages`.
//!
//! Kept in its own crate because lettre is large: the kernel stays lean.

pub mod catcher;
pub mod editor;
pub mod permissions;
pub mod smtp;
pub mod template;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sqlx::Row;

use aloft_kernel::db::{Database, StorageError, WriteTx, from_db_time, now, to_db_time};
use aloft_kernel::jobs::{Job, JobError, JobFuture, JobHandler, Jobs, NewJob};

pub use catcher::{CATCHER_POLICY, catcher_routes};
pub use permissions::{MAIL_CATCHER_READ, MAIL_TEMPLATES_MANAGE, PERMISSIONS};
pub use smtp::{ConfigError, Security, SmtpUrl};
pub use template::{RenderError, Rendered, Template, Templates, Translation};

/// The job kind that delivers one message; register [`Mailer::handler`] under it.
pub const JOB_KIND: &str = "mail.send";

/// How Aloft sends mail.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// The SMTP server (see [`smtp`] for the URL forms); `None` keeps messages for the
    /// development catcher instead of sending them.
    pub smtp_url: Option<String>,
    /// The sender, `Name <address@domain>` or `address@domain`. Its domain also names the
    /// messages (`Message-ID`).
    pub from: String,
    /// Attempts before a message's job fails (with the default back-off, 20 attempts span
    /// about 12 hours of outage).
    pub max_attempts: u32,
}

impl MailConfig {
    /// Sends through `smtp_url` (or keeps mail for the catcher) as `from`.
    pub fn new(smtp_url: Option<String>, from: impl Into<String>) -> Self {
        Self {
            smtp_url,
            from: from.into(),
            max_attempts: 20,
        }
    }
}

/// One message to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The recipient's address (`addr@domain`).
    pub to: String,
    /// The [`Template`]'s name.
    pub template: String,
    /// The recipient's language (BCP 47); English when the template lacks it.
    pub language: String,
    /// The template's parameters, a JSON object.
    pub params: serde_json::Value,
    /// Names the message for good: one per causing event (`case-ack:<case id>`). Queueing a
    /// second message with the same key does nothing.
    pub idempotency_key: String,
}

/// What [`Mailer::queue`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Queued {
    /// A new message, with its id.
    New(String),
    /// A message with this idempotency key was queued before; nothing was added.
    Duplicate,
}

/// Why a message could not be queued. Never quotes the address or parameter values.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The template is unknown or its parameters do not fit it (a programming error).
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The recipient is not an e-mail address.
    #[error("the recipient is not a valid e-mail address")]
    BadRecipient,
    /// The database refused the write.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A stored message (the catcher page, tests, support).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// UUIDv7; also the local part of its `Message-ID`.
    pub id: String,
    /// The caller's idempotency key.
    pub idempotency_key: String,
    /// The template it was rendered from.
    pub template: String,
    /// The language it was rendered in.
    pub language: String,
    /// The recipient.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: Option<String>,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
    /// When the SMTP server accepted it (or the catcher kept it).
    pub delivered_at: Option<DateTime<Utc>>,
    /// `smtp` or `catcher`.
    pub delivered_via: Option<String>,
}

/// Queues messages and delivers them. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    /// The templates as shipped (the domains' code).
    templates: Templates,
    /// The shipped templates with the CMP manager's texts applied ([`editor`]), reloaded when
    /// older than [`editor::RELOAD_AFTER`] (another instance may have saved one).
    effective: std::sync::RwLock<editor::Effective>,
    from: Mailbox,
    domain: String,
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
    max_attempts: u32,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("smtp", &self.inner.smtp.is_some())
            .field("domain", &self.inner.domain)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer on `db` that can send `templates`. Checks the configuration now, so a bad URL
    /// or sender stops start-up rather than every later delivery.
    pub fn new(
        db: Database,
        config: &MailConfig,
        templates: Templates,
    ) -> Result<Self, ConfigError> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e: lettre::address::AddressError| ConfigError::From(e.to_string()))?;
        let domain = from.email.domain().to_owned();
        let smtp = config
            .smtp_url
            .as_deref()
            .map(|url| SmtpUrl::parse(url)?.transport())
            .transpose()?;
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                effective: std::sync::RwLock::new(editor::Effective::shipped(&templates)),
                templates,
                from,
                domain,
                smtp,
                max_attempts: config.max_attempts.max(1),
            }),
        })
    }

    /// Whether messages go to an SMTP server (else to the development catcher).
    pub fn sends_over_smtp(&self) -> bool {
        self.inner.smtp.is_some()
    }

    /// Renders `message` and queues it with its `mail.send` job inside the caller's
    /// transaction: both commit with the caller's change or not at all. A message whose
    /// idempotency key was queued before is not queued again. On SQLite, this may be the
    /// transaction's first statement (it is a write).
    pub async fn queue(&self, tx: &mut WriteTx, message: Message) -> Result<Queued, QueueError> {
        let templates = self.templates_in(tx).await;
        let (template, rendered) =
            templates.render(&message.template, &message.language, &message.params)?;
        let to: lettre::Address = message
            .to
            .trim()
            .parse()
            .map_err(|_| QueueError::BadRecipient)?;
        let id = uuid::Uuid::now_v7().to_string();
        let inserted = sqlx::query(
            "INSERT INTO mail_messages (id, idempotency_key, template, language, to_address, subject, \
             text_body, html_body, queued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(&id)
        .bind(&message.idempotency_key)
        .bind(template)
        .bind(&rendered.language)
        .bind(to.to_string())
        .bind(&rendered.subject)
        .bind(&rendered.text)
        .bind(rendered.html)
        .bind(to_db_time(now()))
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?;
        if inserted.rows_affected() == 0 {
            return Ok(Queued::Duplicate);
        }
        Jobs::enqueue(
            tx,
            NewJob::new(JOB_KIND, serde_json::json!({ "message": id }))
                .dedupe(job_key(&message.idempotency_key))
                .max_attempts(self.inner.max_attempts),
        )
        .await?;
        Ok(Queued::New(id))
    }

    /// The `mail.send` handler, to register with the job runner under [`JOB_KIND`].
    pub fn handler(&self) -> Arc<dyn JobHandler> {
        Arc::new(self.clone())
    }

    /// Delivers the message of one `mail.send` job, unless it was delivered already.
    async fn deliver(&self, job: &Job) -> Result<(), JobError> {
        let inner = &self.inner;
        let id = job
            .payload
            .get("message")
            .and_then(|v| v.as_str())
            .ok_or_else(|| JobError::Fail("the job names no message".into()))?;
        let Some(message) = load(&inner.db, "id", id).await? else {
            return Err(JobError::Fail(
                "the message no longer exists (erased?)".into(),
            ));
        };
        if message.delivered_at.is_some() {
            tracing::info!(job = %job.id, message = %id, template = %message.template, "mail already delivered; not sending it again");
            return Ok(());
        }
        let via = match &inner.smtp {
            None => "catcher",
            Some(transport) => {
                let email = self.build(&message)?;
                transport.send(email).await.map_err(|e| {
                    let outcome = smtp::classify(&e);
                    tracing::info!(job = %job.id, message = %id, template = %message.template, attempt = job.attempts, permanent = matches!(outcome, JobError::Fail(_)), "SMTP delivery failed");
                    outcome
                })?;
                "smtp"
            }
        };
        let mut tx = inner.db.begin_write().await?;
        sqlx::query(
            "UPDATE mail_messages SET delivered_at = $1, delivered_via = $2 \
             WHERE id = $3 AND delivered_at IS NULL",
        )
        .bind(to_db_time(now()))
        .bind(via)
        .bind(id)
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?;
        tx.commit().await?;
        tracing::info!(job = %job.id, message = %id, template = %message.template, via, "mail delivered");
        Ok(())
    }

    fn build(&self, m: &StoredMessage) -> Result<lettre::Message, JobError> {
        let to: lettre::Address = m
            .to
            .parse()
            .map_err(|_| JobError::Fail("the recipient is not a valid e-mail address".into()))?;
        let builder = lettre::Message::builder()
            .from(self.inner.from.clone())
            .to(Mailbox::new(None, to))
            .subject(m.subject.clone())
            .message_id(Some(format!("<{}@{}>", m.id, self.inner.domain)));
        match &m.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                m.text.clone(),
                html.clone(),
            )),
            None => builder.header(ContentType::TEXT_PLAIN).body(m.text.clone()),
        }
        .map_err(|e| JobError::Fail(format!("the message cannot be built: {e}")))
    }
}

impl JobHandler for Mailer {
    fn run<'a>(&'a self, job: &'a Job) -> JobFuture<'a> {
        Box::pin(self.deliver(job))
    }
}

/// The dedupe key of the `mail.send` job of the message queued under `idempotency_key`
/// (find it with [`Jobs::by_dedupe_key`]).
pub fn job_key(idempotency_key: &str) -> String {
    format!("{JOB_KIND}:{idempotency_key}")
}

/// The message queued under `idempotency_key`.
pub async fn message_by_key(
    db: &Database,
    idempotency_key: &str,
) -> Result<Option<StoredMessage>, StorageError> {
    load(db, "idempotency_key", idempotency_key).await
}

/// Messages the development catcher kept, newest first.
pub async fn caught(db: &Database, limit: i64) -> Result<Vec<StoredMessage>, StorageError> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM mail_messages WHERE delivered_via = 'catcher' \
         ORDER BY delivered_at DESC, id DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(from_row).collect()
}

/// One message the catcher kept.
pub async fn caught_one(db: &Database, id: &str) -> Result<Option<StoredMessage>, StorageError> {
    Ok(load(db, "id", id)
        .await?
        .filter(|m| m.delivered_via.as_deref() == Some("catcher")))
}

const COLUMNS: &str = "id, idempotency_key, template, language, to_address, subject, text_body, \
                       html_body, queued_at, delivered_at, delivered_via";

async fn load(
    db: &Database,
    column: &'static str,
    value: &str,
) -> Result<Option<StoredMessage>, StorageError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM mail_messages WHERE {column} = $1"
    ))
    .bind(value)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(from_row).transpose()
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<StoredMessage, StorageError> {
    let delivered_at: Option<String> = row.try_get("delivered_at")?;
    Ok(StoredMessage {
        id: row.try_get("id")?,
        idempotency_key: row.try_get("idempotency_key")?,
        template: row.try_get("template")?,
        language: row.try_get("language")?,
        to: row.try_get("to_address")?,
        subject: row.try_get("subject")?,
        text: row.try_get("text_body")?,
        html: row.try_get("html_body")?,
        queued_at: from_db_time(&row.try_get::<String, _>("queued_at")?)?,
        delivered_at: delivered_at.as_deref().map(from_db_time).transpose()?,
        delivered_via: row.try_get("delivered_via")?,
    })
}

/// Outgoing mail as the application assembles it: the `mail.send` job and, when no SMTP server
/// is configured, the development mail catcher's pages.
pub struct MailModule {
    mailer: Mailer,
}

impl MailModule {
    /// The module over `mailer`.
    pub fn new(mailer: Mailer) -> Self {
        Self { mailer }
    }
}

impl aloft_module::DomainModule for MailModule {
    fn name(&self) -> &'static str {
        "mail"
    }

    fn permissions(&self) -> Vec<aloft_authz::PermissionInfo> {
        PERMISSIONS.to_vec()
    }

    fn policies(&self) -> Vec<aloft_authz::RoutePolicy> {
        let mut all = editor::POLICY.to_vec();
        if !self.mailer.sends_over_smtp() {
            all.extend_from_slice(CATCHER_POLICY);
        }
        all
    }

    fn page_routes(&self) -> axum::Router {
        let editor = editor::page_routes(self.mailer.clone());
        if self.mailer.sends_over_smtp() {
            editor
        } else {
            editor.merge(catcher_routes(self.mailer.inner.db.clone()))
        }
    }

    fn api_routes(&self) -> utoipa_axum::router::OpenApiRouter {
        editor::api_routes(self.mailer.clone())
    }

    fn api_tags(&self) -> Vec<(&'static str, &'static str)> {
        vec![(
            "mail",
            "Outgoing e-mail: the texts of the messages Aloft sends, per language",
        )]
    }

    fn events(&self) -> Vec<aloft_kernel::event_types::EventType> {
        editor::event_types()
    }

    fn navigation(&self) -> Vec<aloft_web::NavEntry> {
        let mut all = vec![editor::nav_entry()];
        if self.mailer.sends_over_smtp() {
            return all;
        }
        all.push(aloft_web::NavEntry {
            section: catcher::SECTION,
            href: "/mail/catcher",
            label: "Mail catcher",
            summary: "Development only: the e-mail Aloft would have sent (no SMTP server is \
                      configured).",
            access: aloft_authz::Access::Permission(MAIL_CATCHER_READ),
            order: 95,
        });
        all
    }

    fn jobs(&self) -> Vec<(&'static str, Arc<dyn JobHandler>)> {
        vec![(JOB_KIND, self.mailer.handler())]
    }
}
