//! In-app notices for staff (issue 19, item 8): an agent learns in the workspace that a case was
//! given to them, escalated to them, answered by the passenger, or is about to miss (or missed)
//! its SLA — without watching the queue.
//!
//! A durable subscription (`cases.staff_notices`, `aloft_kernel::subscriptions`) turns case
//! events into one notice per event for the case's agent, written in the transaction that
//! records the delivery: never twice, none lost across a restart. Notices name the case by its
//! reference and category only — no passenger's words. `GET /api/v1/case-notices`, `POST
//! /api/v1/case-notices/read`, the page `/cases/notices` and the start-page panel "Notices"
//! show each agent their own (`case.work`; the reader is the recipient, so nothing else leaks).
//! Kept 90 days.

use std::sync::Arc;

use aloft_authz::{Access, Principal, RoutePolicy};
use aloft_kernel::db::{from_db_time, now, to_db_time};
use aloft_kernel::subscriptions::{Delivery, EventHandler, HandlerError, Subscription};
use aloft_kernel::{AccessContext, ApiError, CloudEvent, Database, StorageError};
use aloft_web::kit::{self, Column, Crumb, DataTable, Tone};
use aloft_web::{HomePanel, csrf_field, layout, page};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use futures_util::future::BoxFuture;
use maud::html;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::events::{
    CASE_ASSIGNED, CASE_MESSAGE_ADDED, CASE_OPENED, CASE_SLA_BREACHED, CASE_SLA_WARNING,
};
use crate::model::Category;
use crate::pages::SECTION;
use crate::permissions::CASE_WORK;
use crate::service::{Cases, short_ref};

/// The subscription's name.
pub const SUBSCRIPTION: &str = "cases.staff_notices";

/// How long notices are kept.
const KEEP_DAYS: i64 = 90;

/// Job kind of the daily pruning of notices older than [`KEEP_DAYS`].
pub const PRUNE_JOB: &str = "cases.notices_prune";

/// One notice.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Notice {
    /// Its id.
    pub id: String,
    /// The case it is about.
    pub case_id: String,
    /// `assigned`, `escalated`, `replied`, `sla_warning`, `sla_breached`.
    pub kind: String,
    /// What happened, in words.
    pub text: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// When the agent marked it read.
    pub read_at: Option<String>,
}

/// What a case event means for its agent: (recipient, kind, text), or nothing.
pub fn notice_of(
    event_type: &str,
    data: &serde_json::Value,
    assignee_now: Option<&str>,
) -> Option<(String, &'static str, String)> {
    let s = |k: &str| data.get(k).and_then(|v| v.as_str());
    let case = short_ref(s("case_id")?);
    match event_type {
        CASE_OPENED => {
            let category = s("category")
                .and_then(Category::parse)
                .map_or("case", |c| c.label());
            Some((
                s("assignee")?.to_owned(),
                "assigned",
                format!(
                    "New {} case {case} is yours ({} priority).",
                    category.to_lowercase(),
                    s("priority").unwrap_or("normal")
                ),
            ))
        }
        CASE_ASSIGNED => {
            let who = s("assignee")?.to_owned();
            Some(match s("reason") {
                Some("escalation") => (
                    who,
                    "escalated",
                    format!("Case {case} was escalated to you."),
                ),
                Some(reason) => (
                    who,
                    "assigned",
                    format!("Case {case} is yours now ({reason})."),
                ),
                None => (who, "assigned", format!("Case {case} is yours now.")),
            })
        }
        CASE_MESSAGE_ADDED if s("author") == Some("customer") => Some((
            assignee_now?.to_owned(),
            "replied",
            format!("The passenger replied on case {case}."),
        )),
        CASE_SLA_WARNING => Some((
            assignee_now?.to_owned(),
            "sla_warning",
            format!(
                "Case {case}: the {} target is near.",
                clock_words(s("clock"))
            ),
        )),
        CASE_SLA_BREACHED => Some((
            assignee_now?.to_owned(),
            "sla_breached",
            format!(
                "Case {case}: the {} target was missed.",
                clock_words(s("clock"))
            ),
        )),
        _ => None,
    }
}

fn clock_words(clock: Option<&str>) -> &'static str {
    match clock {
        Some("first_response") => "first-response",
        Some("next_response") => "next-response",
        _ => "resolution",
    }
}

/// Staff notices: the store and the subscriber.
#[derive(Clone)]
pub struct Notices {
    db: Database,
    cases: Cases,
}

impl Notices {
    /// Over the cases' database.
    pub fn new(cases: Cases) -> Self {
        Self {
            db: cases.db().clone(),
            cases,
        }
    }

    /// `recipient`'s notices, newest first (only unread ones with `unread`).
    pub async fn of(
        &self,
        recipient: &str,
        unread: bool,
        limit: i64,
    ) -> Result<Vec<Notice>, StorageError> {
        let sql = format!(
            "SELECT id, case_id, kind, text, created_at, read_at FROM case_notices \
             WHERE recipient = $1 {} ORDER BY created_at DESC, id DESC LIMIT $2",
            if unread { "AND read_at IS NULL" } else { "" }
        );
        let rows = sqlx::query(&sql)
            .bind(recipient)
            .bind(limit)
            .fetch_all(self.db.pool())
            .await?;
        rows.iter()
            .map(|r| {
                let at: String = r.try_get("created_at")?;
                let read: Option<String> = r.try_get("read_at")?;
                Ok(Notice {
                    id: r.try_get("id")?,
                    case_id: r.try_get("case_id")?,
                    kind: r.try_get("kind")?,
                    text: r.try_get("text")?,
                    created_at: from_db_time(&at)?.to_rfc3339(),
                    read_at: read
                        .map(|t| from_db_time(&t).map(|t| t.to_rfc3339()))
                        .transpose()?,
                })
            })
            .collect()
    }

    /// How many unread notices `recipient` has.
    pub async fn unread(&self, recipient: &str) -> Result<i64, StorageError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM case_notices WHERE recipient = $1 AND read_at IS NULL",
        )
        .bind(recipient)
        .fetch_one(self.db.pool())
        .await?)
    }

    /// Marks every notice of `recipient` read; how many were unread.
    pub async fn mark_read(&self, recipient: &str) -> Result<u64, StorageError> {
        let mut tx = self.db.begin_write().await?;
        let n = sqlx::query(
            "UPDATE case_notices SET read_at = $1 WHERE recipient = $2 AND read_at IS NULL",
        )
        .bind(to_db_time(now()))
        .bind(recipient)
        .execute(tx.conn())
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n)
    }

    /// Deletes every notice older than [`KEEP_DAYS`] (read or not: the case keeps the history;
    /// a notice is only a pointer to it). Run daily by [`PRUNE_JOB`]; how many went.
    pub async fn prune(&self, at: chrono::DateTime<chrono::Utc>) -> Result<u64, StorageError> {
        prune(&self.db, at).await
    }
}

/// [`Notices::prune`] on `db`.
pub async fn prune(
    db: &aloft_kernel::Database,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<u64, StorageError> {
    let mut tx = db.begin_write().await?;
    let n = sqlx::query("DELETE FROM case_notices WHERE created_at < $1")
        .bind(to_db_time(at - chrono::Duration::days(KEEP_DAYS)))
        .execute(tx.conn())
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(n)
}

impl Notices {
    async fn handle(&self, event: &CloudEvent, delivery: Delivery) -> Result<(), HandlerError> {
        let needs_case = matches!(
            event.event_type.as_str(),
            CASE_MESSAGE_ADDED | CASE_SLA_WARNING | CASE_SLA_BREACHED
        );
        let assignee = match (
            needs_case,
            event.data.get("case_id").and_then(|c| c.as_str()),
        ) {
            (true, Some(id)) => self.cases.get_raw(id).await?.and_then(|c| c.assignee),
            _ => None,
        };
        let Some((recipient, kind, text)) =
            notice_of(&event.event_type, &event.data, assignee.as_deref())
        else {
            return Ok(());
        };
        let Some(mut tx) = delivery.begin().await? else {
            return Ok(());
        };
        sqlx::query(
            "INSERT INTO case_notices (id, recipient, case_id, kind, text, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(&recipient)
        .bind(
            event
                .data
                .get("case_id")
                .and_then(|c| c.as_str())
                .unwrap_or(""),
        )
        .bind(kind)
        .bind(&text)
        .bind(to_db_time(event.time))
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?;
        tx.commit().await?;
        Ok(())
    }
}

struct Notifier(Notices);

impl EventHandler for Notifier {
    fn handle<'a>(
        &'a self,
        event: &'a CloudEvent,
        delivery: Delivery,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(self.0.handle(event, delivery))
    }
}

/// The subscription that writes notices.
pub fn subscription(notices: Notices) -> Subscription {
    Subscription {
        name: SUBSCRIPTION,
        event_types: [
            CASE_OPENED,
            CASE_ASSIGNED,
            CASE_MESSAGE_ADDED,
            CASE_SLA_WARNING,
            CASE_SLA_BREACHED,
        ]
        .map(str::to_owned)
        .to_vec(),
        handler: Arc::new(Notifier(notices)),
    }
}

/// Who may call what: every case worker, for their own notices.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new("GET", "/api/v1/case-notices", Access::Permission(CASE_WORK)),
    RoutePolicy::new(
        "POST",
        "/api/v1/case-notices/read",
        Access::Permission(CASE_WORK),
    ),
    RoutePolicy::new("GET", "/cases/notices", Access::Permission(CASE_WORK)),
    RoutePolicy::new("POST", "/cases/notices/read", Access::Permission(CASE_WORK)),
];

/// Which notices.
#[derive(Debug, Deserialize, IntoParams)]
pub struct NoticeQuery {
    /// Only unread ones.
    #[serde(default)]
    pub unread: bool,
}

/// The caller's notices, newest first (the last 100).
#[utoipa::path(get, path = "/api/v1/case-notices", tag = "cases", params(NoticeQuery),
    responses((status = 200, description = "The caller's notices", body = [Notice])))]
async fn list(
    State(n): State<Notices>,
    ctx: AccessContext,
    Query(q): Query<NoticeQuery>,
) -> Result<Json<Vec<Notice>>, ApiError> {
    Ok(Json(n.of(&ctx.actor.id, q.unread, 100).await?))
}

/// How many notices were marked read.
#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedRead {
    /// Notices that were unread.
    pub marked: u64,
}

/// Mark every notice of the caller read.
#[utoipa::path(post, path = "/api/v1/case-notices/read", tag = "cases",
    responses((status = 200, description = "Marked", body = MarkedRead)))]
async fn read_all(
    State(n): State<Notices>,
    ctx: AccessContext,
) -> Result<Json<MarkedRead>, ApiError> {
    Ok(Json(MarkedRead {
        marked: n.mark_read(&ctx.actor.id).await?,
    }))
}

/// The API routes.
pub fn api_routes(notices: Notices) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(read_all))
        .with_state(notices)
}

fn table(list: &[Notice]) -> maud::Markup {
    DataTable::new(
        "Your notices, newest first",
        vec![Column::new("What"), Column::new("When"), Column::new("")],
    )
    .rows(
        list.iter()
            .map(|n| {
                vec![
                    html! { a href=(format!("/cases/{}", n.case_id)) { (n.text) } },
                    html! { (n.created_at.get(..16).unwrap_or(&n.created_at).replace('T', " ")) " UTC" },
                    if n.read_at.is_none() {
                        kit::badge("new", if n.kind == "sla_breached" { Tone::Bad } else { Tone::Info })
                    } else {
                        html! {}
                    },
                ]
            })
            .collect(),
    )
    .render()
}

/// `GET /cases/notices`.
async fn notices_page(State(n): State<Notices>, ctx: AccessContext) -> Response {
    let list = match n.of(&ctx.actor.id, false, 100).await {
        Ok(l) => l,
        Err(_) => {
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                layout(
                    "Notices",
                    SECTION,
                    kit::notice("Notices cannot be read right now.", Tone::Bad),
                ),
            );
        }
    };
    let unread = list.iter().filter(|n| n.read_at.is_none()).count();
    page(
        StatusCode::OK,
        layout(
            "Notices",
            SECTION,
            html! {
                (kit::page_header(&[Crumb { label: "Home", href: "/" }, Crumb { label: "Cases", href: "/cases" }], "Notices",
                    Some(html! { "Cases given or escalated to you, passengers' replies, and SLA targets near or missed." }), None))
                @if list.is_empty() {
                    (kit::empty_state("No notices", "You will see here what happens to your cases.", None))
                } @else {
                    p { (unread) " unread." }
                    @if unread > 0 {
                        form method="post" action="/cases/notices/read" {
                            (csrf_field())
                            button.secondary type="submit" { "Mark all as read" }
                        }
                    }
                    (table(&list))
                }
            },
        ),
    )
}

/// `POST /cases/notices/read`.
async fn read_page(State(n): State<Notices>, ctx: AccessContext) -> Response {
    match n.mark_read(&ctx.actor.id).await {
        Ok(_) => kit::redirect_with_notice("/cases/notices", "All notices marked read."),
        Err(_) => kit::redirect_with_notice("/cases/notices", "Not marked: try again."),
    }
}

/// The pages.
pub fn routes(notices: Notices) -> axum::Router {
    axum::Router::new()
        .route("/cases/notices", get(notices_page))
        .route("/cases/notices/read", post(read_page))
        .with_state(notices)
}

/// The start page's "Notices" panel: the unread ones.
pub fn home_panels(notices: Notices) -> Vec<HomePanel> {
    vec![HomePanel::new(
        "case-notices",
        Access::Permission(CASE_WORK),
        11,
        move |p: Principal| {
            let notices = notices.clone();
            async move {
                let body = match notices.of(&p.subject, true, 5).await {
                    Ok(list) if list.is_empty() => {
                        html! { p { "Nothing new. " a href="/cases/notices" { "All notices" } } }
                    }
                    Ok(list) => html! {
                        (table(&list))
                        p { a href="/cases/notices" { "All notices" } }
                    },
                    Err(_) => kit::notice("Notices cannot be read right now.", Tone::Bad),
                };
                kit::panel("case-notices", "Notices", body)
            }
        },
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_case_event_tells_its_agent_in_words_without_the_passengers() {
        let id = "0193a1b2-0000-7000-8000-00000000abcd";
        let opened = serde_json::json!({"case_id": id, "customer_id": "c", "category": "baggage",
            "channel": "email", "priority": "urgent", "queue": "baggage", "assignee": "agent-ana"});
        let (who, kind, text) = notice_of(CASE_OPENED, &opened, None).unwrap();
        assert_eq!((who.as_str(), kind), ("agent-ana", "assigned"));
        assert_eq!(
            text,
            format!(
                "New baggage case {} is yours (urgent priority).",
                short_ref(id)
            )
        );
        let unassigned = serde_json::json!({"case_id": id, "assignee": null, "category": "refund"});
        assert!(notice_of(CASE_OPENED, &unassigned, None).is_none());
        let escalated = serde_json::json!({"case_id": id, "queue": "supervisors",
            "assignee": "sup-sam", "reason": "escalation"});
        assert_eq!(
            notice_of(CASE_ASSIGNED, &escalated, None).unwrap().1,
            "escalated"
        );
        let reply = serde_json::json!({"case_id": id, "author": "customer"});
        assert_eq!(
            notice_of(CASE_MESSAGE_ADDED, &reply, Some("agent-ana"))
                .unwrap()
                .1,
            "replied"
        );
        assert!(
            notice_of(CASE_MESSAGE_ADDED, &reply, None).is_none(),
            "nobody's case"
        );
        let own = serde_json::json!({"case_id": id, "author": "agent"});
        assert!(notice_of(CASE_MESSAGE_ADDED, &own, Some("agent-ana")).is_none());
        let breach = serde_json::json!({"case_id": id, "clock": "first_response"});
        assert_eq!(
            notice_of(CASE_SLA_BREACHED, &breach, Some("agent-ana"))
                .unwrap()
                .2,
            format!(
                "Case {}: the first-response target was missed.",
                short_ref(id)
            )
        );
    }
}
