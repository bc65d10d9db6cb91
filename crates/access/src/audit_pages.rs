//! The audit trail in the web UI, for the data privacy officer and security operations: the
//! whole trail newest first in keyset pages, filtered by date range (UTC), action (one, or a
//! family such as `auth.*`), actor (by username or id), record and client address; actors and
//! accounts shown by name; the filtered trail exported as CSV (the export itself audited); and
//! the hash chain verified on demand (the verification audited too, so its last result is the
//! chain status other pages show).

use std::collections::BTreeSet;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use http::{StatusCode, header};
use maud::{Markup, html};

use aloft_authz::Roles;
use aloft_kernel::AccessContext;
use aloft_kernel::audit::{self, AuditAction, TrailCursor, TrailQuery};
use aloft_kernel::db::Database;
use aloft_security::audit_chain::AuditRecord;
use aloft_web::kit::{
    self, Column, Crumb, DataTable, Field, FieldKind, FormErrors, Tone, form::FormData,
};
use aloft_web::{Section, layout, page};

use crate::directory::{Named, fallback_name, names_of};

/// The audit section of the workspace.
pub const SECTION: Section = Section::new("audit");

/// `audit.exported`: a filtered part of the trail left as a CSV file (fields name the filters).
pub const AUDIT_EXPORTED: AuditAction = AuditAction::new("audit.exported");
/// `audit.verified`: the hash chain was checked (outcome `intact` or `broken`; the record id
/// is the number of records checked).
pub const AUDIT_VERIFIED: AuditAction = AuditAction::new("audit.verified");
/// The actions the audit pages record.
pub const ACTIONS: &[AuditAction] = &[AUDIT_EXPORTED, AUDIT_VERIFIED];

/// Records per page of the trail.
pub const PAGE_SIZE: u32 = 50;
/// Most records one CSV export holds (a longer trail is exported a date range at a time).
pub const EXPORT_LIMIT: usize = 50_000;

/// Only those who answer for security and privacy read the trail.
pub const POLICY: &[aloft_authz::RoutePolicy] = {
    use crate::permissions::AUDIT_READ;
    use aloft_authz::{Access, RoutePolicy};
    &[
        RoutePolicy::new("GET", "/audit", Access::Permission(AUDIT_READ)),
        RoutePolicy::new("GET", "/audit/verify", Access::Permission(AUDIT_READ)),
        RoutePolicy::new("GET", "/audit/export.csv", Access::Permission(AUDIT_READ)),
    ]
};

/// What the audit pages work with: the trail's database, every action the application
/// records (the filter offers them by name) and the role catalogue (role labels).
#[derive(Clone)]
struct Trail {
    db: Database,
    actions: std::sync::Arc<Vec<AuditAction>>,
    roles: Roles,
}

/// `/audit`, `/audit/export.csv` and `/audit/verify`, offering `actions` in the filter.
pub fn routes(db: Database, mut actions: Vec<AuditAction>, roles: Roles) -> Router {
    actions.extend_from_slice(ACTIONS);
    actions.sort();
    actions.dedup();
    Router::new()
        .route("/audit", get(search_page))
        .route("/audit/export.csv", get(export_csv))
        .route("/audit/verify", get(verify_page))
        .with_state(Trail {
            db,
            actions: std::sync::Arc::new(actions),
            roles,
        })
}

/// An instant of the trail as people read it: `Sun 6 Dec 2026, 06:04:39 UTC`.
pub fn readable(at: &str) -> String {
    match DateTime::parse_from_rfc3339(at) {
        Ok(t) => t
            .with_timezone(&Utc)
            .format("%a %-d %b %Y, %H:%M:%S UTC")
            .to_string(),
        Err(_) => at.to_owned(),
    }
}

/// The families of actions (`auth`, `customer`…) that have more than one action.
fn families(actions: &[AuditAction]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for a in actions {
        if let Some((family, _)) = a.as_str().split_once('.')
            && !out.contains(&family)
            && actions
                .iter()
                .filter(|b| b.as_str().starts_with(&format!("{family}.")))
                .count()
                > 1
        {
            out.push(family);
        }
    }
    out.sort();
    out
}

/// The filters of the trail as submitted, checked.
#[derive(Debug, Default)]
struct Filters {
    form: FormData,
    query: TrailQuery,
    errors: FormErrors,
}

impl Filters {
    /// The filters of `pairs`; actions named by a family (`auth.*`) expand to every action of
    /// the family; an actor given by username is looked up.
    async fn read(trail: &Trail, pairs: Vec<(String, String)>) -> Self {
        let form = FormData::from_pairs(pairs);
        let mut errors = FormErrors::new();
        let mut query = TrailQuery {
            limit: PAGE_SIZE,
            ..TrailQuery::default()
        };
        let from: Option<NaiveDate> = form.optional("from", "a date like 2026-12-06", &mut errors);
        let to: Option<NaiveDate> = form.optional("to", "a date like 2026-12-06", &mut errors);
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            errors.add("to", "Enter an end date on or after the start date.");
        }
        query.from = from.map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
        query.to = to
            .and_then(|d| d.succ_opt())
            .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
        if let Some(action) = form.text("action") {
            if let Some(family) = action.strip_suffix(".*") {
                let prefix = format!("{family}.");
                query.actions = trail
                    .actions
                    .iter()
                    .filter(|a| a.as_str().starts_with(&prefix))
                    .map(|a| a.as_str().to_owned())
                    .collect();
            } else if trail.actions.iter().any(|a| a.as_str() == action) {
                query.actions = vec![action.to_owned()];
            }
            if query.actions.is_empty() {
                errors.add("action", "Choose an action from the list.");
            }
        }
        if let Some(actor) = form.text("actor") {
            let id = match crate::directory::account_id_of(&trail.db, actor).await {
                Ok(Some(id)) => id,
                _ => actor.to_owned(),
            };
            query.actor_id = Some(id);
        }
        query.resource_id = form.text("record").map(str::to_owned);
        query.client_address = form.text("address").map(str::to_owned);
        if let Some(after) = form.text("after") {
            match TrailCursor::parse(after) {
                Some(c) => query.before = Some(c),
                None => errors.add("after", "The page link is damaged; start from the newest."),
            }
        }
        Self {
            form,
            query,
            errors,
        }
    }

    /// The filters as a query string (without the page cursor), for links and the export.
    fn query_string(&self) -> String {
        let mut out = Vec::new();
        for name in ["from", "to", "action", "actor", "record", "address"] {
            if let Some(v) = self.form.text(name) {
                out.push(format!(
                    "{name}={}",
                    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                ));
            }
        }
        out.join("&")
    }

    /// The names of the filters in use (recorded with an export).
    fn in_use(&self) -> Vec<String> {
        ["from", "to", "action", "actor", "record", "address"]
            .into_iter()
            .filter(|n| self.form.text(n).is_some())
            .map(str::to_owned)
            .collect()
    }
}

/// The names of every actor and account a page of records mentions.
async fn names_for(
    db: &Database,
    records: &[AuditRecord],
) -> std::collections::HashMap<String, Named> {
    let mut ids: BTreeSet<String> = BTreeSet::new();
    for r in records {
        ids.insert(r.actor_id.clone());
        if (r.resource_type == "staff_account" || r.resource_type == "api_client")
            && let Some(id) = &r.resource_id
        {
            ids.insert(id.clone());
        }
    }
    names_of(db, &ids).await.unwrap_or_default()
}

fn actor_cell(
    r: &AuditRecord,
    names: &std::collections::HashMap<String, Named>,
    roles: &Roles,
) -> Markup {
    let href = format!(
        "/audit?actor={}",
        percent_encoding::utf8_percent_encode(&r.actor_id, percent_encoding::NON_ALPHANUMERIC)
    );
    let role = roles
        .get(&r.actor_role)
        .map_or(r.actor_role.as_str(), |d| d.label);
    html! {
        @match names.get(&r.actor_id) {
            Some(n) => a href=(href) title={ (n.kind) " " (r.actor_id) } { (n.name) },
            None => a href=(href) title=(r.actor_id) { (fallback_name(&r.actor_id)) },
        }
        br;
        small.muted {
            @if let Some(n) = names.get(&r.actor_id).filter(|n| !n.detail.is_empty()) { (n.detail) " · " }
            (role)
        }
    }
}

/// An instant on two lines: the day, then the time.
fn when_cell(at: &str) -> Markup {
    match DateTime::parse_from_rfc3339(at) {
        Ok(t) => {
            let t = t.with_timezone(&Utc);
            html! {
                time datetime=(at) title=(readable(at)) {
                    (t.format("%a %-d %b %Y")) br; (t.format("%H:%M:%S"))
                }
            }
        }
        Err(_) => html! { (at) },
    }
}

fn record_cell(r: &AuditRecord, names: &std::collections::HashMap<String, Named>) -> Markup {
    let Some(id) = &r.resource_id else {
        return html! { span.muted { (r.resource_type) } };
    };
    let filter = format!(
        "/audit?record={}",
        percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC)
    );
    match (&r.resource_type[..], names.get(id)) {
        ("customer", _) => html! {
            a href={ "/customers/" (id) } title={ "customer " (id) } { "Customer " (short(id)) }
            " " a.muted href=(filter) aria-label={ "Trail of customer " (id) } { "(trail)" }
        },
        (_, Some(n)) => html! { a href=(filter) title={ (n.kind) " " (id) } { (n.name) } },
        (kind, None) => {
            html! { a href=(filter) title=(id) { (kind.replace('_', " ")) " " (short(id)) } }
        }
    }
}

/// The first eight characters of a long id (the full id is in the link's title).
fn short(id: &str) -> String {
    if id.chars().count() > 13 {
        let head: String = id.chars().take(8).collect();
        format!("{head}…")
    } else {
        id.to_owned()
    }
}

fn outcome_badge(outcome: &str) -> Markup {
    let tone = match outcome {
        "success" | "intact" => Tone::Good,
        "denied" | "failure" | "broken" => Tone::Bad,
        "error" => Tone::Warn,
        _ => Tone::Neutral,
    };
    kit::badge(outcome, tone)
}

async fn search_page(
    State(trail): State<Trail>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let filters = Filters::read(&trail, pairs).await;
    let found = if filters.errors.is_empty() {
        Some(audit::trail(&trail.db, &filters.query).await)
    } else {
        None
    };
    let status = match &found {
        Some(Err(_)) => StatusCode::SERVICE_UNAVAILABLE,
        Some(Ok(_)) => StatusCode::OK,
        None => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let names = match &found {
        Some(Ok(p)) => names_for(&trail.db, &p.records).await,
        _ => Default::default(),
    };
    let qs = filters.query_string();
    let export_href = if qs.is_empty() {
        "/audit/export.csv".to_owned()
    } else {
        format!("/audit/export.csv?{qs}")
    };
    let base = format!("/audit?{qs}");
    let can_monitor = aloft_authz::current_principal()
        .is_some_and(|p| p.can(crate::permissions::SECURITY_MONITOR));
    let mut action_options = vec![(String::new(), "Any action".to_owned())];
    for family in families(&trail.actions) {
        action_options.push((
            format!("{family}.*"),
            format!("{family}.* (every {family} action)"),
        ));
    }
    action_options.extend(
        trail
            .actions
            .iter()
            .map(|a| (a.as_str().to_owned(), a.as_str().to_owned())),
    );
    let errors = &filters.errors;
    let controls = html! {
        (Field::new("action", "Action", FieldKind::Select(action_options)).value(filters.form.text("action")).render(errors))
        (Field::new("from", "From (UTC)", FieldKind::Input("date")).value(filters.form.text("from")).render(errors))
        (Field::new("to", "To (UTC, inclusive)", FieldKind::Input("date")).value(filters.form.text("to")).render(errors))
        (Field::text("actor", "Actor").hint("Username or id").autocomplete("off").value(filters.form.text("actor")).render(errors))
        (Field::text("record", "Record").hint("Customer, account or client id").autocomplete("off").value(filters.form.text("record")).render(errors))
        (Field::text("address", "Client address").autocomplete("off").value(filters.form.text("address")).render(errors))
    };
    let actions = html! {
        a role="button" class="secondary" href=(export_href) download { "Export CSV" }
        a role="button" class="secondary" href="/audit/verify" { "Verify the chain" }
        @if can_monitor { a role="button" class="secondary" href="/security" { "Sign-in anomalies" } }
    };
    let markup = html! {
        (kit::page_header(
            &[Crumb { label: "Home", href: "/" }],
            "Audit trail",
            Some(html! { "Every read and change of customer data, every sign-in and refusal: who, when, which record and fields (names only), from where. Newest first; times in UTC." }),
            Some(actions),
        ))
        (kit::error_summary(errors))
        (kit::filter_bar("/audit", "Filter the audit trail", controls, "/audit"))
        @match &found {
            None => {},
            Some(Err(_)) => (kit::notice("The audit trail cannot be read right now. Please try again in a moment.", Tone::Bad)),
            Some(Ok(p)) if p.records.is_empty() => (kit::empty_state(
                "No audit record matches",
                "Widen the date range or choose another action.",
                Some(html! { a href="/audit" { "Show the whole trail" } }),
            )),
            Some(Ok(p)) => {
                @let rows = p.records.iter().map(|r| vec![
                    when_cell(&r.occurred_at),
                    actor_cell(r, &names, &trail.roles),
                    html! { code { (r.action) } br; (outcome_badge(&r.outcome)) },
                    record_cell(r, &names),
                    html! { (if r.fields.is_empty() { "—".to_owned() } else { r.fields.join(", ") }) },
                    html! { (r.client_address.as_deref().unwrap_or("—")) },
                    html! { span title={ "request " (r.request_id) } { "#" (r.sequence) } },
                ]).collect::<Vec<_>>();
                @let caption = if filters.query.before.is_some() { "Audit records (older page)" } else { "Audit records, newest first" };
                (DataTable::new(caption, vec![
                    Column::new("When (UTC)"), Column::new("Actor and role"), Column::new("Action and outcome"),
                    Column::new("Record"), Column::new("Fields"), Column::new("Client"), Column::new("No."),
                ])
                .id("audit-records")
                .rows(rows)
                .sorted(base.clone(), None)
                .next_after(p.next.as_ref().map(TrailCursor::encode))
                .render())
                @if filters.query.before.is_some() {
                    p { a href=(base) { "← Back to the newest records" } }
                }
            }
        }
    };
    page(status, layout("Audit trail", SECTION, markup))
}

/// A CSV cell: quoted, quotes doubled, and a text a spreadsheet would run as a formula
/// (`=`, `+`, `-`, `@`, tab or carriage return first) made inert with a leading apostrophe.
pub fn csv_cell(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

async fn export_csv(
    State(trail): State<Trail>,
    ctx: AccessContext,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    let mut filters = Filters::read(&trail, pairs).await;
    if !filters.errors.is_empty() {
        let msg: Vec<&str> = filters.errors.iter().map(|(_, m)| m).collect();
        return (StatusCode::UNPROCESSABLE_ENTITY, msg.join(" ")).into_response();
    }
    filters.query.before = None;
    filters.query.limit = 2_000;
    // Recorded before anything leaves: who exported which part of the trail.
    let recorded = async {
        let mut tx = trail.db.begin_write().await?;
        tx.audit(&[ctx.entry(
            AUDIT_EXPORTED,
            "audit_trail",
            None,
            filters.in_use(),
            "success",
        )])
        .await?;
        tx.commit().await
    }
    .await;
    if recorded.is_err() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "The export cannot be recorded in the audit trail right now; nothing was exported.",
        )
            .into_response();
    }
    let mut out = String::from(
        "sequence,occurred_at_utc,actor_id,actor_name,actor_role,action,resource_type,resource_id,resource_name,fields,purpose,outcome,client_address,request_id\r\n",
    );
    let mut rows = 0usize;
    let mut truncated = false;
    loop {
        let Ok(p) = audit::trail(&trail.db, &filters.query).await else {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "The audit trail cannot be read right now. Please try again in a moment.",
            )
                .into_response();
        };
        let names = names_for(&trail.db, &p.records).await;
        for r in &p.records {
            if rows == EXPORT_LIMIT {
                truncated = true;
                break;
            }
            let actor_name = names
                .get(&r.actor_id)
                .map(Named::full)
                .unwrap_or_else(|| fallback_name(&r.actor_id));
            let resource_name = r
                .resource_id
                .as_ref()
                .and_then(|id| names.get(id))
                .map(Named::full)
                .unwrap_or_default();
            let cells = [
                r.sequence.to_string(),
                r.occurred_at.clone(),
                r.actor_id.clone(),
                actor_name,
                r.actor_role.clone(),
                r.action.clone(),
                r.resource_type.clone(),
                r.resource_id.clone().unwrap_or_default(),
                resource_name,
                r.fields.join(";"),
                r.purpose.clone().unwrap_or_default(),
                r.outcome.clone(),
                r.client_address.clone().unwrap_or_default(),
                r.request_id.clone(),
            ];
            let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
            out.push_str(&line.join(","));
            out.push_str("\r\n");
            rows += 1;
        }
        match p.next {
            Some(next) if !truncated => filters.query.before = Some(next),
            _ => break,
        }
    }
    let filename = format!(
        "attachment; filename=\"audit-trail-{}.csv\"",
        Utc::now().format("%Y%m%dT%H%M%SZ")
    );
    let mut response = (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, filename),
        ],
        out,
    )
        .into_response();
    if truncated {
        response.headers_mut().insert(
            "x-aloft-export-truncated",
            http::HeaderValue::from_static("true"),
        );
    }
    response
}

/// The last verification of the chain (from the trail itself): when, by whom, the outcome
/// and how many records it covered.
#[derive(Debug, Clone)]
pub struct LastVerification {
    /// When (RFC 3339 UTC).
    pub at: String,
    /// `intact` or `broken`.
    pub outcome: String,
    /// How many records were checked (intact) or where the break is (broken).
    pub records: String,
}

/// The newest `audit.verified` record, if the chain was ever verified from the pages.
pub async fn last_verification(
    db: &Database,
) -> Result<Option<LastVerification>, aloft_kernel::StorageError> {
    let p = audit::trail(
        db,
        &TrailQuery {
            actions: vec![AUDIT_VERIFIED.as_str().to_owned()],
            limit: 1,
            ..TrailQuery::default()
        },
    )
    .await?;
    Ok(p.records.into_iter().next().map(|r| LastVerification {
        at: r.occurred_at,
        outcome: r.outcome,
        records: r.resource_id.unwrap_or_default(),
    }))
}

async fn verify_page(State(trail): State<Trail>, ctx: AccessContext) -> Response {
    let db = trail.db;
    let result = audit::verify(&db).await;
    let (outcome, checked) = match &result {
        Ok(Ok(n)) => ("intact", n.to_string()),
        Ok(Err(broken)) => ("broken", broken.sequence.to_string()),
        Err(_) => ("error", String::new()),
    };
    if outcome != "error" {
        let recorded = async {
            let mut tx = db.begin_write().await?;
            tx.audit(&[ctx.entry(
                AUDIT_VERIFIED,
                "audit_trail",
                Some(checked),
                vec![],
                outcome,
            )])
            .await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = recorded {
            tracing::warn!(error = %e, "the chain verification could not be recorded");
        }
    }
    let crumbs = [
        Crumb {
            label: "Home",
            href: "/",
        },
        Crumb {
            label: "Audit trail",
            href: "/audit",
        },
    ];
    let (status, title, markup) = match result {
        Ok(Ok(n)) => (
            StatusCode::OK,
            "Audit chain verified",
            html! {
                (kit::notice(&format!("All {n} record(s) are intact: every hash and every link checks out."), Tone::Good))
            },
        ),
        Ok(Err(broken)) => (
            StatusCode::OK,
            "Audit chain broken",
            html! {
                (kit::notice(&format!("{broken}. Records from this one on cannot be trusted; preserve the database and investigate."), Tone::Bad))
            },
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Cannot verify now",
            html! {
                (kit::notice("The audit trail cannot be read right now. Please try again in a moment.", Tone::Bad))
            },
        ),
    };
    page(
        status,
        layout(
            "Audit chain",
            SECTION,
            html! {
                (kit::page_header(&crumbs, title, Some(html! { "Checked " (readable(&aloft_kernel::db::to_db_time(Utc::now()))) }), None))
                (markup)
                p { a href="/audit" { "Back to the audit trail" } }
            },
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_made_inert() {
        assert_eq!(csv_cell("plain"), "\"plain\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        for lead in ["+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_cell(lead).starts_with("\"'"), "{lead}");
        }
        assert_eq!(csv_cell("a,b\nc"), "\"a,b\nc\"");
    }

    #[test]
    fn instants_read_as_people_read_them() {
        assert_eq!(
            readable("2026-12-06T06:04:39.123456Z"),
            "Sun 6 Dec 2026, 06:04:39 UTC"
        );
    }

    #[test]
    fn families_are_offered_for_actions_that_share_a_prefix() {
        let a = [
            AuditAction::new("auth.a"),
            AuditAction::new("auth.b"),
            AuditAction::new("solo.x"),
        ];
        assert_eq!(families(&a), vec!["auth"]);
    }
}
