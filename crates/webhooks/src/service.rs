//! Endpoints, deliveries and sending (migration 0053).
//!
//! How an event reaches a receiver, and why nothing is lost or doubled:
//! 1. The subscription `webhooks.deliver` (`aloft_kernel::subscriptions`) hands over each
//!    committed event of the families endpoints can take. In the transaction that records that
//!    hand-over, one `webhook_deliveries` row per active endpoint taking the event (unique per
//!    endpoint and event) and one `webhooks.send` job per row are written — so each event is
//!    queued once per endpoint, whatever is replayed.
//! 2. The job posts the CloudEvent (structured mode) with a Standard Webhooks signature. A 2xx
//!    marks the row delivered; anything else, a timeout or a refused connection is recorded on
//!    the row (attempts, status, error) and retried with the job runner's back-off (5 s, 10 s,
//!    20 s … up to an hour; [`MAX_ATTEMPTS`] tries), then the row is marked failed — visible on
//!    `/webhooks` and in `GET /api/v1/webhooks/{id}/deliveries`.
//! 3. A receiver that answered 2xx but whose answer was lost (a crash right after) may get the
//!    event again: `webhook-id` (the event's id) is the same on every try, for it to ignore.
//!
//! Secrets are 32 random bytes, sealed at rest with the instance's account-secrets key (bound to
//! the endpoint's id) and shown once, when the endpoint is created.

use std::sync::Arc;
use std::time::Duration;

use aloft_kernel::audit::AuditAction;
use aloft_kernel::db::{now, to_db_time};
use aloft_kernel::jobs::{JobError, Jobs, NewJob};
use aloft_kernel::keys::InstanceKeys;
use aloft_kernel::subscriptions::{Delivery, EventHandler, HandlerError, Subscription};
use aloft_kernel::{AccessContext, ApiError, CloudEvent, Database, FieldError, StorageError};
use aloft_security::crypto::{DataKey, decrypt_text, encrypt_text};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use crate::model::{self, Answer, FAMILIES};

/// Job kind of one delivery attempt.
pub const SEND: &str = "webhooks.send";

/// The subscription's name.
pub const SUBSCRIPTION: &str = "webhooks.deliver";

/// Tries per delivery (the last about an hour after the first failure… then failed).
pub const MAX_ATTEMPTS: u32 = 10;

/// How long a receiver has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Audit actions.
pub mod audit {
    use super::AuditAction;
    /// An endpoint was added.
    pub const CREATED: AuditAction = AuditAction::new("webhook.endpoint_created");
    /// An endpoint was removed (deliveries stop; its history stays).
    pub const REMOVED: AuditAction = AuditAction::new("webhook.endpoint_removed");
    /// Every action of this module.
    pub const ALL: &[AuditAction] = &[CREATED, REMOVED];
}

/// A configured receiver.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Endpoint {
    /// Its id.
    pub id: String,
    /// What it is, in the CMP manager's words.
    pub name: String,
    /// Where events are posted.
    pub url: String,
    /// The event type prefixes it takes (`aloft.case.`).
    pub families: Vec<String>,
    /// Removed endpoints take nothing more.
    pub active: bool,
    /// When and by whom it was added.
    pub created_at: String,
    /// Who added it.
    pub created_by: String,
}

/// One event on its way to one endpoint.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryView {
    /// Its id.
    pub id: String,
    /// The event's id (`webhook-id`).
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    /// Tries so far.
    pub attempts: i64,
    /// The receiver's last HTTP status, if it answered.
    pub last_status: Option<i64>,
    /// Why the last try did not deliver.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: String,
    /// When it was delivered.
    pub delivered_at: Option<String>,
}

type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The webhooks store and sender.
#[derive(Clone)]
pub struct Webhooks {
    db: Database,
    keys: Arc<InstanceKeys>,
    client: HttpClient,
}

fn storage(e: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(e.to_string())
}

impl Webhooks {
    /// Over `db`, sealing secrets with `keys`.
    pub fn new(db: Database, keys: Arc<InstanceKeys>) -> Self {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        Self {
            db,
            keys,
            client: Client::builder(hyper_util::rt::TokioExecutor::new()).build(https),
        }
    }

    /// Adds an endpoint; its secret is returned here and never again. Every problem is named.
    pub async fn create(
        &self,
        name: &str,
        url: &str,
        families: &[String],
        ctx: &AccessContext,
    ) -> Result<(Endpoint, String), ApiError> {
        let mut errors = Vec::new();
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(FieldError::new("/name", "is required (1-100 characters)"));
        }
        if let Err(e) = model::check_url(url.trim()) {
            errors.push(FieldError::new("/url", e));
        }
        if families.is_empty() {
            errors.push(FieldError::new(
                "/families",
                "names at least one family of events",
            ));
        }
        for (i, f) in families.iter().enumerate() {
            if !FAMILIES.iter().any(|(p, _)| p == f) {
                errors.push(FieldError::new(
                    format!("/families/{i}"),
                    format!(
                        "is not a family of events; one of: {}",
                        FAMILIES
                            .iter()
                            .map(|(p, _)| *p)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::Invalid(errors));
        }
        let id = uuid::Uuid::now_v7().to_string();
        let secret = model::secret_text(DataKey::generate().as_bytes());
        let sealed = encrypt_text(
            &self.keys.account_secrets_key(),
            &id,
            "webhook_secret",
            &secret,
        );
        let at = now();
        let mut families = families.to_vec();
        families.dedup();
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, name, url, families, secret, active, created_at, \
             created_by) VALUES ($1, $2, $3, $4, $5, 1, $6, $7)",
        )
        .bind(&id)
        .bind(name)
        .bind(url.trim())
        .bind(serde_json::to_string(&families).unwrap_or_default())
        .bind(sealed)
        .bind(to_db_time(at))
        .bind(&ctx.actor.id)
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?;
        tx.audit(&[ctx.entry(
            audit::CREATED,
            "webhook_endpoint",
            Some(id.clone()),
            vec!["name".into(), "url".into(), "families".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        let endpoint = self.get(&id).await?.ok_or(ApiError::NotFound("webhook"))?;
        Ok((endpoint, secret))
    }

    /// Every endpoint, active first, newest first.
    pub async fn list(&self) -> Result<Vec<Endpoint>, StorageError> {
        let rows = sqlx::query(
            "SELECT id, name, url, families, active, created_at, created_by \
             FROM webhook_endpoints ORDER BY active DESC, created_at DESC",
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(endpoint_of).collect()
    }

    /// One endpoint.
    pub async fn get(&self, id: &str) -> Result<Option<Endpoint>, StorageError> {
        sqlx::query(
            "SELECT id, name, url, families, active, created_at, created_by \
             FROM webhook_endpoints WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        .as_ref()
        .map(endpoint_of)
        .transpose()
    }

    /// Removes an endpoint: nothing more is queued for it and what is queued is not sent; its
    /// deliveries stay for the record.
    pub async fn remove(&self, id: &str, ctx: &AccessContext) -> Result<Endpoint, ApiError> {
        let mut tx = self.db.begin_write().await?;
        let n = sqlx::query("UPDATE webhook_endpoints SET active = 0 WHERE id = $1 AND active = 1")
            .bind(id)
            .execute(tx.conn())
            .await
            .map_err(StorageError::from)?
            .rows_affected();
        if n == 0 {
            return Err(ApiError::NotFound("webhook"));
        }
        tx.audit(&[ctx.entry(
            audit::REMOVED,
            "webhook_endpoint",
            Some(id.to_owned()),
            vec!["active".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        self.get(id).await?.ok_or(ApiError::NotFound("webhook"))
    }

    /// An endpoint's deliveries, newest first.
    pub async fn deliveries(
        &self,
        endpoint: &str,
        limit: i64,
    ) -> Result<Vec<DeliveryView>, StorageError> {
        let rows = sqlx::query(
            "SELECT id, event_id, event_type, state, attempts, last_status, last_error, \
             created_at, delivered_at FROM webhook_deliveries WHERE endpoint_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(endpoint)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeliveryView {
                    id: r.try_get("id")?,
                    event_id: r.try_get("event_id")?,
                    event_type: r.try_get("event_type")?,
                    state: r.try_get("state")?,
                    attempts: r.try_get("attempts")?,
                    last_status: r.try_get("last_status")?,
                    last_error: r.try_get("last_error")?,
                    created_at: r.try_get("created_at")?,
                    delivered_at: r.try_get("delivered_at")?,
                })
            })
            .collect()
    }

    /// Queues `event` for every active endpoint that takes it, in the delivery's transaction.
    async fn queue(&self, event: &CloudEvent, delivery: Delivery) -> Result<(), HandlerError> {
        let targets: Vec<String> = self
            .list()
            .await?
            .into_iter()
            .filter(|e| e.active && model::takes(&e.families, &event.event_type))
            .map(|e| e.id)
            .collect();
        if targets.is_empty() {
            return Ok(());
        }
        let Some(mut tx) = delivery.begin().await? else {
            return Ok(());
        };
        let payload = serde_json::to_string(event).map_err(storage)?;
        let at = to_db_time(now());
        for endpoint in targets {
            let id = uuid::Uuid::now_v7().to_string();
            let inserted = sqlx::query(
                "INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, payload, \
                 state, attempts, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) ON CONFLICT DO NOTHING",
            )
            .bind(&id)
            .bind(&endpoint)
            .bind(&event.id)
            .bind(&event.event_type)
            .bind(&payload)
            .bind(&at)
            .execute(tx.conn())
            .await
            .map_err(StorageError::from)?
            .rows_affected();
            if inserted == 1 {
                Jobs::enqueue(
                    &mut tx,
                    NewJob::new(SEND, serde_json::json!({ "delivery": id }))
                        .dedupe(format!("webhook:{id}"))
                        .max_attempts(MAX_ATTEMPTS),
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// One try of delivery `id` (attempt `attempt` of `max`).
    pub async fn send(&self, id: &str, attempt: u32, max: u32) -> Result<(), JobError> {
        let retry = |e: StorageError| JobError::Retry(e.to_string());
        let row = sqlx::query(
            "SELECT d.event_id, d.payload, d.state, e.id AS endpoint_id, e.url, e.secret, e.active \
             FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             WHERE d.id = $1",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await
        .map_err(|e| retry(e.into()))?
        .ok_or_else(|| JobError::Fail("no such delivery".into()))?;
        let state: String = row.try_get("state").map_err(|e| retry(e.into()))?;
        if state != "pending" {
            return Ok(());
        }
        let active: i64 = row.try_get("active").map_err(|e| retry(e.into()))?;
        if active == 0 {
            self.record(id, "failed", None, Some("the endpoint was removed"))
                .await
                .map_err(retry)?;
            return Ok(());
        }
        let get = |c: &str| -> Result<String, JobError> {
            row.try_get::<String, _>(c).map_err(|e| retry(e.into()))
        };
        let (event_id, payload, endpoint, url, sealed) = (
            get("event_id")?,
            get("payload")?,
            get("endpoint_id")?,
            get("url")?,
            get("secret")?,
        );
        let secret = decrypt_text(
            &self.keys.account_secrets_key(),
            &endpoint,
            "webhook_secret",
            &sealed,
        )
        .ok()
        .and_then(|s| model::secret_bytes(&s))
        .ok_or_else(|| JobError::Fail("the endpoint's secret cannot be opened".into()))?;
        let timestamp = now().timestamp();
        let request = http::Request::post(&url)
            .header(http::header::CONTENT_TYPE, "application/cloudevents+json")
            .header(http::header::USER_AGENT, "Aloft-Webhooks/1")
            .header("webhook-id", &event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                model::signature(&secret, &event_id, timestamp, payload.as_bytes()),
            )
            .body(Full::new(Bytes::from(payload)))
            .map_err(|e| JobError::Fail(format!("the address cannot be used: {e}")))?;
        let outcome = match tokio::time::timeout(TIMEOUT, self.client.request(request)).await {
            Err(_) => Err((None, format!("no answer within {} s", TIMEOUT.as_secs()))),
            Ok(Err(e)) => Err((None, format!("cannot reach the endpoint: {e}"))),
            Ok(Ok(resp)) => {
                let code = resp.status().as_u16();
                match model::answer(code) {
                    Answer::Delivered => Ok(code),
                    Answer::Retry => Err((Some(code), format!("the endpoint answered {code}"))),
                }
            }
        };
        match outcome {
            Ok(code) => {
                self.record(id, "delivered", Some(code), None)
                    .await
                    .map_err(retry)?;
                metrics::counter!("aloft_webhook_deliveries_total", "outcome" => "delivered")
                    .increment(1);
                Ok(())
            }
            Err((code, why)) => {
                let last = attempt >= max;
                self.record(
                    id,
                    if last { "failed" } else { "pending" },
                    code,
                    Some(&why),
                )
                .await
                .map_err(retry)?;
                metrics::counter!("aloft_webhook_deliveries_total", "outcome" => if last { "failed" } else { "retried" })
                    .increment(1);
                tracing::warn!(delivery = id, attempt, "webhook not delivered; will retry");
                Err(JobError::Retry(why))
            }
        }
    }

    async fn record(
        &self,
        id: &str,
        state: &str,
        status: Option<u16>,
        error: Option<&str>,
    ) -> Result<(), StorageError> {
        let at = to_db_time(now());
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "UPDATE webhook_deliveries SET state = $1, attempts = attempts + 1, last_status = $2, \
             last_error = $3, updated_at = $4, \
             delivered_at = CASE WHEN $1 = 'delivered' THEN $4 ELSE delivered_at END \
             WHERE id = $5",
        )
        .bind(state)
        .bind(status.map(i64::from))
        .bind(error)
        .bind(&at)
        .bind(id)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

fn endpoint_of(r: &sqlx::any::AnyRow) -> Result<Endpoint, StorageError> {
    let families: String = r.try_get("families")?;
    let active: i64 = r.try_get("active")?;
    Ok(Endpoint {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        url: r.try_get("url")?,
        families: serde_json::from_str(&families).map_err(storage)?,
        active: active == 1,
        created_at: r.try_get("created_at")?,
        created_by: r.try_get("created_by")?,
    })
}

struct Queue(Webhooks);

impl EventHandler for Queue {
    fn handle<'a>(
        &'a self,
        event: &'a CloudEvent,
        delivery: Delivery,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.0.queue(event, delivery))
    }
}

/// The subscription that queues deliveries.
pub fn subscription(webhooks: Webhooks) -> Subscription {
    Subscription {
        name: SUBSCRIPTION,
        event_types: FAMILIES.iter().map(|(p, _)| format!("{p}*")).collect(),
        handler: Arc::new(Queue(webhooks)),
    }
}
