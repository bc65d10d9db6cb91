//! The CMP manager's own texts of the messages Aloft sends: each shipped [`Template`] may be
//! given another subject and body per language — replacing the shipped text of a language or
//! adding a language the code does not ship (a passenger whose language has a text gets it; the
//! others keep the primary-language-then-English fallback of [`Template::render`]).
//!
//! Why edits are checked against the shipped template: a message is rendered inside the
//! transaction of the change that causes it (a case opened, a claim decided), so a text with a
//! placeholder its sender does not provide would make those changes fail. [`Template::check`]
//! refuses such a text when it is saved, naming the placeholders the message does provide.
//!
//! Storage: `mail_template_texts` (migration 0057), every version kept; the newest version of a
//! (template, language) applies, and a version without a subject returns to the shipped text.
//! Each save commits with its `aloft.mail.template_saved` event and its audit entry. A running
//! instance picks up texts saved by another within [`RELOAD_AFTER`]; its own saves at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use http::StatusCode;
use maud::{Markup, html};
use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use aloft_authz::{Access, RoutePolicy};
use aloft_kernel::audit::AuditAction;
use aloft_kernel::db::{StorageError, WriteTx, now, to_db_time};
use aloft_kernel::event_types::{DomainEvent, EventType};
use aloft_kernel::fields::FieldReader;
use aloft_kernel::http::JsonBody;
use aloft_kernel::{AccessContext, ApiError, CloudEvent, FieldError, Problem};
use aloft_web::kit::{
    self, Column, Crumb, DataTable, Field, FieldKind, FormData, FormErrors, Tone,
};
use aloft_web::{NavEntry, Section, csrf_field, layout, page};

use crate::permissions::MAIL_TEMPLATES_MANAGE;
use crate::template::is_language_tag;
use crate::{Mailer, Template, Templates, Translation};

/// How long a running instance uses the texts it loaded before it reads them again.
pub const RELOAD_AFTER: Duration = Duration::from_secs(5);

/// The workspace section of the template pages.
pub const SECTION: Section = Section::new("mail-templates");

/// `aloft.mail.template_saved`: a template's text for a language was saved or reset.
pub const TEMPLATE_SAVED: &str = "aloft.mail.template_saved";

/// Audit action of a saved (or reset) text.
pub const AUDIT_SAVED: AuditAction = AuditAction::new("mail.template_saved");

/// Every audit action of this module.
pub const AUDIT_ACTIONS: &[AuditAction] = &[AUDIT_SAVED];

/// Who may call the routes.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new(
        "GET",
        "/api/v1/mail-templates",
        Access::Permission(MAIL_TEMPLATES_MANAGE),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/mail-templates/{name}",
        Access::Permission(MAIL_TEMPLATES_MANAGE),
    ),
    RoutePolicy::new(
        "PUT",
        "/api/v1/mail-templates/{name}/{language}",
        Access::Permission(MAIL_TEMPLATES_MANAGE),
    ),
    RoutePolicy::new(
        "DELETE",
        "/api/v1/mail-templates/{name}/{language}",
        Access::Permission(MAIL_TEMPLATES_MANAGE),
    ),
    RoutePolicy::new(
        "GET",
        "/mail/templates",
        Access::Permission(MAIL_TEMPLATES_MANAGE),
    ),
    RoutePolicy::new(
        "GET",
        "/mail/templates/{name}",
        Access::Permission(MAIL_TEMPLATES_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/mail/templates/{name}",
        Access::Permission(MAIL_TEMPLATES_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/mail/templates/{name}/{language}/reset",
        Access::Permission(MAIL_TEMPLATES_MANAGE),
    ),
];

/// The templates messages are rendered from right now: shipped, with the saved texts applied.
pub(crate) struct Effective {
    loaded: Option<Instant>,
    templates: Arc<Templates>,
}

impl Effective {
    /// The shipped templates, to be completed by the first load.
    pub(crate) fn shipped(templates: &Templates) -> Self {
        Self {
            loaded: None,
            templates: Arc::new(templates.clone()),
        }
    }
}

/// One saved version of a template's text for a language.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SavedText {
    /// The template.
    pub template: String,
    /// The language tag (lower-case BCP 47).
    pub language: String,
    /// Version of this (template, language), from 1.
    pub version: i64,
    /// Subject line; null: this version returned to the shipped text.
    pub subject: Option<String>,
    /// Plain-text body.
    pub text: Option<String>,
    /// HTML body, if any.
    pub html: Option<String>,
    /// Who saved it.
    pub saved_by: String,
    /// When (UTC, RFC 3339).
    pub saved_at: String,
}

/// A language's text as it is sent now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CurrentText {
    /// The language tag.
    pub language: String,
    /// `shipped`, `edited` (a shipped language with the CMP manager's text) or `added` (a
    /// language only the CMP manager's text provides).
    pub source: String,
    /// The saved version in use, if edited or added.
    pub version: Option<i64>,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body, if any.
    pub html: Option<String>,
}

/// A template as the editor shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateView {
    /// Its name (stable; stored with each message).
    pub name: String,
    /// The placeholders its sender provides: the only ones a text may use.
    pub placeholders: Vec<String>,
    /// Its texts by language, as sent now (English first).
    pub texts: Vec<CurrentText>,
    /// Every saved version, newest first (empty for a template never edited).
    pub history: Vec<SavedText>,
}

/// `aloft.mail.template_saved`, version 1.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TemplateSaved {
    /// The template.
    pub template: String,
    /// The language.
    pub language: String,
    /// The new version.
    pub version: i64,
    /// Whether the version returns to the shipped text.
    pub reset: bool,
}

impl DomainEvent for TemplateSaved {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = "/aloft/mail";
    fn event_type(&self) -> &'static str {
        TEMPLATE_SAVED
    }
    fn subject(&self) -> Option<String> {
        Some(format!("{}/{}", self.template, self.language))
    }
}

/// The event types of this module.
pub fn event_types() -> Vec<EventType> {
    vec![EventType::of::<TemplateSaved>(
        TEMPLATE_SAVED,
        "The CMP manager saved (or reset to the shipped text) a mail template's text for a language.",
    )]
}

/// Why a text was not saved.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// No shipped template has that name.
    #[error("no such template")]
    UnknownTemplate,
    /// The language tag is malformed.
    #[error("not a language tag")]
    BadLanguage,
    /// The text is refused, per field.
    #[error("invalid text")]
    Invalid(Vec<(&'static str, String)>),
    /// The caller edited an older version than the current one.
    #[error("version {current} is current")]
    Stale {
        /// The current version.
        current: i64,
    },
    /// A reset of a language that has no saved text in use.
    #[error("nothing to reset")]
    NothingToReset,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl Mailer {
    /// The templates to render from inside `tx`: the cached set, reloaded (within `tx`, so a
    /// busy pool cannot hold it up) when older than [`RELOAD_AFTER`]. A failed reload keeps
    /// the texts loaded before.
    pub(crate) async fn templates_in(&self, tx: &mut WriteTx) -> Arc<Templates> {
        {
            let e = self.read_effective();
            if e.loaded.is_some_and(|at| at.elapsed() < RELOAD_AFTER) {
                return e.templates.clone();
            }
        }
        match current_rows(tx).await {
            Ok(rows) => self.install(rows),
            Err(e) => {
                tracing::warn!(error = %e, "mail templates: saved texts not reloaded");
                self.read_effective().templates.clone()
            }
        }
    }

    fn read_effective(&self) -> std::sync::RwLockReadGuard<'_, Effective> {
        self.inner
            .effective
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Applies the saved texts `rows` to the shipped templates and caches the result.
    fn install(&self, rows: Vec<SavedText>) -> Arc<Templates> {
        let merged = Arc::new(merge(&self.inner.templates, &rows));
        let mut e = self
            .inner
            .effective
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *e = Effective {
            loaded: Some(Instant::now()),
            templates: merged.clone(),
        };
        merged
    }

    /// The shipped templates (the code's texts).
    pub fn shipped_templates(&self) -> &Templates {
        &self.inner.templates
    }

    /// Template `name` as the editor shows it, or `None` if no template has that name.
    pub async fn template_view(&self, name: &str) -> Result<Option<TemplateView>, StorageError> {
        let Some(shipped) = self.inner.templates.get(name) else {
            return Ok(None);
        };
        let rows = sqlx::query(
            "SELECT template, language, version, subject, text_body, html_body, saved_by, \
             saved_at FROM mail_template_texts WHERE template = $1 \
             ORDER BY saved_at DESC, version DESC",
        )
        .bind(name)
        .fetch_all(self.inner.db.pool())
        .await?;
        let history = rows.iter().map(saved_of).collect::<Result<Vec<_>, _>>()?;
        Ok(Some(view_of(shipped, &history)))
    }

    /// Every template with its languages as sent now (names sorted).
    pub async fn template_views(&self) -> Result<Vec<TemplateView>, StorageError> {
        let rows = {
            let mut conn = self.inner.db.pool().acquire().await?;
            current_rows_on(&mut conn).await?
        };
        Ok(self
            .inner
            .templates
            .all()
            .into_iter()
            .map(|t| {
                let mine: Vec<SavedText> = rows
                    .iter()
                    .filter(|r| r.template == t.name())
                    .cloned()
                    .collect();
                let mut v = view_of(t, &mine);
                v.history.clear();
                v
            })
            .collect())
    }

    /// Saves `text` (or, with `None`, returns to the shipped text) as the next version of
    /// template `name` in `language`; `expected`: the version the editor started from (0: none
    /// saved), refused as stale when another was saved meanwhile. The event and the audit
    /// entry commit with it.
    pub async fn save_template_text(
        &self,
        name: &str,
        language: &str,
        text: Option<Translation>,
        expected: Option<i64>,
        ctx: &AccessContext,
    ) -> Result<SavedText, EditError> {
        let shipped = self
            .inner
            .templates
            .get(name)
            .ok_or(EditError::UnknownTemplate)?;
        let language = language.trim().to_ascii_lowercase();
        if !is_language_tag(&language) {
            return Err(EditError::BadLanguage);
        }
        if let Some(t) = &text {
            let problems = shipped.check(t);
            if !problems.is_empty() {
                return Err(EditError::Invalid(problems));
            }
        }
        let mut tx = self.inner.db.begin_write().await?;
        let latest = sqlx::query(
            "SELECT version, subject FROM mail_template_texts WHERE template = $1 AND language = $2 \
             ORDER BY version DESC LIMIT 1",
        )
        .bind(name)
        .bind(&language)
        .fetch_optional(tx.conn())
        .await
        .map_err(StorageError::from)?;
        let (current, in_use) = match &latest {
            Some(r) => (
                r.try_get::<i64, _>("version").map_err(StorageError::from)?,
                r.try_get::<Option<String>, _>("subject")
                    .map_err(StorageError::from)?
                    .is_some(),
            ),
            None => (0, false),
        };
        if let Some(expected) = expected
            && expected != current
        {
            return Err(EditError::Stale { current });
        }
        if text.is_none() && !in_use {
            return Err(EditError::NothingToReset);
        }
        let saved = SavedText {
            template: name.to_owned(),
            language: language.clone(),
            version: current + 1,
            subject: text.as_ref().map(|t| t.subject.trim().to_owned()),
            text: text.as_ref().map(|t| t.text.clone()),
            html: text.as_ref().and_then(|t| t.html.clone()),
            saved_by: ctx.actor.id.clone(),
            saved_at: to_db_time(now()),
        };
        let inserted = sqlx::query(
            "INSERT INTO mail_template_texts (template, language, version, subject, text_body, \
             html_body, saved_by, saved_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (template, language, version) DO NOTHING",
        )
        .bind(&saved.template)
        .bind(&saved.language)
        .bind(saved.version)
        .bind(&saved.subject)
        .bind(&saved.text)
        .bind(&saved.html)
        .bind(&saved.saved_by)
        .bind(&saved.saved_at)
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?;
        if inserted.rows_affected() == 0 {
            return Err(EditError::Stale {
                current: current + 1,
            });
        }
        tx.emit(&CloudEvent::of(&TemplateSaved {
            template: saved.template.clone(),
            language: saved.language.clone(),
            version: saved.version,
            reset: saved.subject.is_none(),
        }))
        .await?;
        tx.audit(&[ctx.entry(
            AUDIT_SAVED,
            "mail_template",
            Some(format!("{name}/{language}")),
            if saved.subject.is_none() {
                vec!["reset".into()]
            } else {
                ["subject", "text", "html"]
                    .into_iter()
                    .take(if saved.html.is_some() { 3 } else { 2 })
                    .map(str::to_owned)
                    .collect()
            },
            "success",
        )])
        .await?;
        tx.commit().await?;
        // This instance sends with the new text from the next message on.
        self.inner
            .effective
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .loaded = None;
        Ok(saved)
    }
}

/// The newest saved version of every (template, language).
async fn current_rows(tx: &mut WriteTx) -> Result<Vec<SavedText>, StorageError> {
    current_rows_on(tx.conn()).await
}

async fn current_rows_on(conn: &mut sqlx::AnyConnection) -> Result<Vec<SavedText>, StorageError> {
    let rows = sqlx::query(
        "SELECT t.template, t.language, t.version, t.subject, t.text_body, t.html_body, \
         t.saved_by, t.saved_at FROM mail_template_texts t \
         JOIN (SELECT template, language, MAX(version) AS version FROM mail_template_texts \
               GROUP BY template, language) m \
         ON t.template = m.template AND t.language = m.language AND t.version = m.version",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(saved_of).collect()
}

fn saved_of(r: &sqlx::any::AnyRow) -> Result<SavedText, StorageError> {
    Ok(SavedText {
        template: r.try_get("template")?,
        language: r.try_get("language")?,
        version: r.try_get("version")?,
        subject: r.try_get("subject")?,
        text: r.try_get("text_body")?,
        html: r.try_get("html_body")?,
        saved_by: r.try_get("saved_by")?,
        saved_at: r.try_get("saved_at")?,
    })
}

/// The shipped templates with the saved texts in use (`current`: the newest version of each
/// template and language) applied. A text of a template no longer shipped is ignored.
pub fn merge(shipped: &Templates, current: &[SavedText]) -> Templates {
    let mut out = shipped.clone();
    for t in shipped.all() {
        let mut merged = t.clone();
        let mut changed = false;
        for row in current.iter().filter(|r| r.template == t.name()) {
            if let (Some(subject), Some(text)) = (&row.subject, &row.text) {
                let mut tr = Translation::new(subject.clone(), text.clone());
                tr.html = row.html.clone();
                merged = merged.language(&row.language, tr);
                changed = true;
            }
        }
        if changed {
            out = out.with(merged);
        }
    }
    out
}

/// `shipped` as the editor shows it, with `saved` (newest first for the history; the newest
/// per language applies).
fn view_of(shipped: &Template, saved: &[SavedText]) -> TemplateView {
    let mut texts: Vec<CurrentText> = shipped
        .translations()
        .iter()
        .map(|(tag, t)| CurrentText {
            language: tag.clone(),
            source: "shipped".into(),
            version: None,
            subject: t.subject.clone(),
            text: t.text.clone(),
            html: t.html.clone(),
        })
        .collect();
    let mut latest: Vec<&SavedText> = Vec::new();
    for s in saved {
        match latest.iter_mut().find(|l| l.language == s.language) {
            Some(l) if l.version < s.version => *l = s,
            Some(_) => {}
            None => latest.push(s),
        }
    }
    for s in latest {
        let (Some(subject), Some(text)) = (&s.subject, &s.text) else {
            continue;
        };
        let current = CurrentText {
            language: s.language.clone(),
            source: "edited".into(),
            version: Some(s.version),
            subject: subject.clone(),
            text: text.clone(),
            html: s.html.clone(),
        };
        match texts.iter_mut().find(|t| t.language == s.language) {
            Some(t) => *t = current,
            None => texts.push(CurrentText {
                source: "added".into(),
                ..current
            }),
        }
    }
    let mut history = saved.to_vec();
    history.sort_by(|a, b| b.saved_at.cmp(&a.saved_at).then(b.version.cmp(&a.version)));
    TemplateView {
        name: shipped.name().to_owned(),
        placeholders: shipped.placeholders(),
        texts,
        history,
    }
}

// ---------------------------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------------------------

/// `/api/v1/mail-templates…`.
pub fn api_routes(mailer: Mailer) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(list_templates))
        .routes(routes!(get_template))
        .routes(routes!(put_text, reset_text))
        .with_state(mailer)
}

fn api_error(e: EditError) -> ApiError {
    match e {
        EditError::UnknownTemplate => ApiError::NotFound("mail template"),
        EditError::BadLanguage => ApiError::field(
            "/language",
            "must be a language tag such as de, pt-br or zh-hant (lower-case)",
        ),
        EditError::Invalid(problems) => ApiError::Invalid(
            problems
                .into_iter()
                .map(|(field, message)| FieldError::new(format!("/{field}"), message))
                .collect(),
        ),
        EditError::Stale { current } => ApiError::Conflict(FieldError::new(
            "/version",
            format!("version {current} was saved meanwhile; start from it"),
        )),
        EditError::NothingToReset => ApiError::NotFound("saved text for this language"),
        EditError::Storage(e) => e.into(),
    }
}

/// Every template with its languages as sent now.
#[utoipa::path(
    get,
    path = "/api/v1/mail-templates",
    tag = "mail",
    responses(
        (status = 200, description = "The templates (history left out)", body = [TemplateView]),
        (status = 503, description = "Storage unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_templates(State(mailer): State<Mailer>) -> Result<Json<Vec<TemplateView>>, ApiError> {
    Ok(Json(mailer.template_views().await?))
}

/// One template: its placeholders, its texts as sent now, every saved version.
#[utoipa::path(
    get,
    path = "/api/v1/mail-templates/{name}",
    tag = "mail",
    params(("name" = String, Path, description = "Template name, e.g. `case.opened`")),
    responses(
        (status = 200, description = "The template", body = TemplateView),
        (status = 404, description = "No such template", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn get_template(
    State(mailer): State<Mailer>,
    Path(name): Path<String>,
) -> Result<Json<TemplateView>, ApiError> {
    mailer
        .template_view(&name)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound("mail template"))
}

/// Saves the template's text for a language as its next version (replacing the shipped text
/// of that language, or adding the language).
#[utoipa::path(
    put,
    path = "/api/v1/mail-templates/{name}/{language}",
    tag = "mail",
    params(
        ("name" = String, Path, description = "Template name"),
        ("language" = String, Path, description = "Language tag (`de`, `pt-br`)"),
    ),
    request_body(content = serde_json::Value, description = "`subject`, `text`, optional `html`, optional `version` (the version edited; 0 when none was saved): a stale version is refused with 409."),
    responses(
        (status = 200, description = "Saved", body = SavedText),
        (status = 404, description = "No such template", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another version was saved meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is refused (an unknown placeholder, an empty subject…), named by pointer; nothing saved", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn put_text(
    State(mailer): State<Mailer>,
    ctx: AccessContext,
    Path((name, language)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> Result<Json<SavedText>, ApiError> {
    let Some(obj) = body.as_object() else {
        return Err(ApiError::field("", "must be a JSON object"));
    };
    let mut errors = Vec::new();
    let mut r = FieldReader::new(obj, "", &mut errors);
    r.reject_unknown(&["subject", "text", "html", "version"]);
    let subject = r.req("subject", |s| Ok::<_, String>(s.to_owned()));
    let text = r.req("text", |s| Ok::<_, String>(s.to_owned()));
    let html = r.opt("html", |s| Ok::<_, String>(s.to_owned()));
    let version = match obj.get("version") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => match v.as_i64().filter(|n| *n >= 0) {
            Some(n) => Some(n),
            None => {
                errors.push(FieldError::new("/version", "must be a whole number ≥ 0"));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let (Some(subject), Some(text)) = (subject, text) else {
        return Err(ApiError::Invalid(errors));
    };
    let mut t = Translation::new(subject, text);
    t.html = html.filter(|h| !h.trim().is_empty());
    mailer
        .save_template_text(&name, &language, Some(t), version, &ctx)
        .await
        .map(Json)
        .map_err(api_error)
}

/// Returns the language to the shipped text (or, for an added language, removes it) as the
/// next version.
#[utoipa::path(
    delete,
    path = "/api/v1/mail-templates/{name}/{language}",
    tag = "mail",
    params(
        ("name" = String, Path, description = "Template name"),
        ("language" = String, Path, description = "Language tag"),
    ),
    responses(
        (status = 200, description = "Reset; the version recorded", body = SavedText),
        (status = 404, description = "No such template, or no saved text in use for the language", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn reset_text(
    State(mailer): State<Mailer>,
    ctx: AccessContext,
    Path((name, language)): Path<(String, String)>,
) -> Result<Json<SavedText>, ApiError> {
    mailer
        .save_template_text(&name, &language, None, None, &ctx)
        .await
        .map(Json)
        .map_err(api_error)
}

// ---------------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------------

/// The workspace entry (CMP manager).
pub fn nav_entry() -> NavEntry {
    NavEntry {
        section: SECTION,
        href: "/mail/templates",
        label: "Mail templates",
        summary: "The texts of the e-mail Aloft sends passengers and staff, per language.",
        access: Access::Permission(MAIL_TEMPLATES_MANAGE),
        order: 94,
    }
}

/// `/mail/templates` and `/mail/templates/{name}` (with its save and reset forms).
pub fn page_routes(mailer: Mailer) -> axum::Router {
    axum::Router::new()
        .route("/mail/templates", get(list_page))
        .route("/mail/templates/{name}", get(template_page).post(save_page))
        .route("/mail/templates/{name}/{language}/reset", post(reset_page))
        .with_state(mailer)
}

fn unavailable() -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        layout(
            "Mail templates",
            SECTION,
            kit::notice(
                "The mail templates cannot be read right now; try again shortly.",
                Tone::Bad,
            ),
        ),
    )
}

fn source_badge(source: &str) -> Markup {
    match source {
        "edited" => kit::badge("Edited", Tone::Info),
        "added" => kit::badge("Added", Tone::Good),
        _ => kit::badge("As shipped", Tone::Neutral),
    }
}

/// `GET /mail/templates`.
async fn list_page(State(mailer): State<Mailer>) -> Response {
    let Ok(views) = mailer.template_views().await else {
        return unavailable();
    };
    let table = DataTable::new(
        "Messages Aloft sends, by template",
        vec![
            Column::new("Template"),
            Column::new("Subject (English)"),
            Column::new("Languages"),
        ],
    )
    .id("mail-templates")
    .rows(
        views
            .iter()
            .map(|v| {
                vec![
                    html! { a href={ "/mail/templates/" (v.name) } { code { (v.name) } } },
                    html! { (v.texts.first().map(|t| t.subject.as_str()).unwrap_or_default()) },
                    html! {
                        @for t in &v.texts {
                            span.lang { (t.language) @if t.source != "shipped" { " " (source_badge(&t.source)) } } " "
                        }
                    },
                ]
            })
            .collect(),
    )
    .render();
    page(
        StatusCode::OK,
        layout(
            "Mail templates",
            SECTION,
            html! {
                (kit::page_header(&[Crumb { label: "Home", href: "/" }], "Mail templates",
                    Some(html! { "Each message has a text per language; a passenger gets theirs, else English. Change a text or add a language — every version is kept and audited." }), None))
                (table)
            },
        ),
    )
}

/// Sample values for the preview: each placeholder shown by name.
fn sample_params(placeholders: &[String]) -> serde_json::Value {
    let mut root = serde_json::Map::new();
    for p in placeholders {
        let parts: Vec<&str> = p.split('.').collect();
        let mut node = &mut root;
        for (i, part) in parts.iter().enumerate() {
            if i + 1 == parts.len() {
                node.insert(
                    (*part).to_owned(),
                    serde_json::Value::String(format!("[{p}]")),
                );
            } else {
                let next = node
                    .entry((*part).to_owned())
                    .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
                let serde_json::Value::Object(map) = next else {
                    break;
                };
                node = map;
            }
        }
    }
    serde_json::Value::Object(root)
}

fn template_view_page(
    status: StatusCode,
    view: &TemplateView,
    form: &FormData,
    errors: &FormErrors,
) -> Response {
    let placeholders = view
        .placeholders
        .iter()
        .map(|p| format!("{{{{{p}}}}}"))
        .collect::<Vec<_>>()
        .join(", ");
    let params = sample_params(&view.placeholders);
    let mut languages: Vec<(String, String)> = view
        .texts
        .iter()
        .map(|t| (t.language.clone(), t.language.clone()))
        .collect();
    languages.push((String::new(), "Another language…".into()));
    let history = DataTable::new(
        "Saved versions, newest first",
        vec![
            Column::new("Language"),
            Column::new("Version"),
            Column::new("Change"),
            Column::new("By"),
            Column::new("At (UTC)"),
        ],
    )
    .id("template-history")
    .rows(
        view.history
            .iter()
            .map(|h| {
                vec![
                    html! { (h.language) },
                    html! { (h.version) },
                    html! { @match &h.subject { Some(s) => { "Saved: " (s) }, None => "Back to the shipped text" } },
                    html! { (h.saved_by) },
                    html! { (h.saved_at) },
                ]
            })
            .collect(),
    )
    .render();
    let action = format!("/mail/templates/{}", view.name);
    let body = html! {
        (kit::page_header(&[Crumb { label: "Home", href: "/" }, Crumb { label: "Mail templates", href: "/mail/templates" }],
            &view.name, Some(html! { "Placeholders this message provides: " code { (placeholders) } }), None))
        @for t in &view.texts {
            article.mail-language aria-labelledby={ "lang-" (t.language) } {
                h2 id={ "lang-" (t.language) } { (t.language) " " (source_badge(&t.source)) }
                @let preview = Template::new("preview", Translation { subject: t.subject.clone(), text: t.text.clone(), html: None })
                    .render("en", &params);
                (kit::facts(&[
                    ("Subject", html! { (t.subject) }),
                    ("Text", html! { pre.mail-text { (t.text) } }),
                    ("Preview", match &preview {
                        Ok(r) => html! { strong { (r.subject) } pre.mail-text { (r.text) } },
                        Err(_) => html! { "—" },
                    }),
                ]))
                p { a href={ (action) "?language=" (t.language) "#edit-text" } { "Edit the " (t.language) " text" } }
                @if t.source != "shipped" {
                    (kit::confirm_button(&format!("{action}/{}/reset", t.language),
                        if t.source == "added" { "Remove this language" } else { "Back to the shipped text" },
                        "Return this language to the shipped text? The saved versions stay in the history.", &[]))
                }
            }
        }
        section aria-labelledby="edit-text" {
            h2 #edit-text { "Change a text or add a language" }
            (kit::error_summary(errors))
            form method="post" action=(action) {
                (csrf_field())
                (Field::new("language", "Language", FieldKind::Select(languages)).value(form.text("language")).render(errors))
                (Field::text("other_language", "Or another language").hint("A language tag such as pt, pt-br or ja").value(form.text("other_language")).render(errors))
                (Field::text("subject", "Subject").value(form.text("subject")).required().render(errors))
                (Field::new("text", "Text", FieldKind::TextArea).hint("Plain text; the placeholders above are filled in for each message").value(form.text("text")).required().render(errors))
                button type="submit" { "Save as a new version" }
            }
        }
        @if !view.history.is_empty() {
            section aria-labelledby="history" {
                h2 #history { "History" }
                (history)
            }
        }
    };
    page(status, layout(&view.name, SECTION, body))
}

#[derive(serde::Deserialize)]
struct EditQuery {
    language: Option<String>,
}

/// `GET /mail/templates/{name}` (`?language=de`: the form holds that language's text to edit).
async fn template_page(
    State(mailer): State<Mailer>,
    Path(name): Path<String>,
    Query(q): Query<EditQuery>,
) -> Response {
    match mailer.template_view(&name).await {
        Ok(Some(view)) => {
            let editing = q
                .language
                .as_deref()
                .and_then(|l| view.texts.iter().find(|t| t.language == l));
            let form = match editing {
                Some(t) => FormData::from_pairs(vec![
                    ("language".to_owned(), t.language.clone()),
                    ("subject".to_owned(), t.subject.clone()),
                    ("text".to_owned(), t.text.clone()),
                ]),
                None => FormData::from_pairs(vec![]),
            };
            template_view_page(StatusCode::OK, &view, &form, &FormErrors::new())
        }
        Ok(None) => page(
            StatusCode::NOT_FOUND,
            layout(
                "Mail templates",
                SECTION,
                kit::empty_state(
                    "No such template",
                    "Aloft sends no message of this name.",
                    Some(html! { a href="/mail/templates" { "All templates" } }),
                ),
            ),
        ),
        Err(_) => unavailable(),
    }
}

/// `POST /mail/templates/{name}`: saves a text as the language's next version.
async fn save_page(
    State(mailer): State<Mailer>,
    ctx: AccessContext,
    Path(name): Path<String>,
    form: FormData,
) -> Response {
    let Ok(Some(view)) = mailer.template_view(&name).await else {
        return unavailable();
    };
    let language = form
        .text("other_language")
        .map(str::to_owned)
        .or_else(|| form.text("language").map(str::to_owned));
    let mut errors = FormErrors::new();
    let Some(language) = language else {
        errors.add(
            "other_language",
            "Choose a language or enter a language tag.",
        );
        return template_view_page(StatusCode::UNPROCESSABLE_ENTITY, &view, &form, &errors);
    };
    let text = Translation::new(
        form.text("subject").unwrap_or_default().to_owned(),
        form.text("text").unwrap_or_default().replace("\r\n", "\n"),
    );
    // The page saves on top of the newest version (no version check: every version stays in
    // the history, so a text saved meanwhile is not lost). The API offers the check.
    match mailer
        .save_template_text(&name, &language, Some(text), None, &ctx)
        .await
    {
        Ok(saved) => kit::redirect_with_notice(
            &format!("/mail/templates/{name}"),
            &format!(
                "Saved the {} text as version {}; messages use it from now on.",
                saved.language, saved.version
            ),
        ),
        Err(EditError::BadLanguage) => {
            errors.add(
                "other_language",
                "Enter a language tag such as pt, pt-br or ja.",
            );
            template_view_page(StatusCode::UNPROCESSABLE_ENTITY, &view, &form, &errors)
        }
        Err(EditError::Invalid(problems)) => {
            for (field, message) in problems {
                let label = match field {
                    "subject" => "The subject",
                    "text" => "The text",
                    _ => "The HTML",
                };
                errors.add(
                    if field == "html" { "text" } else { field },
                    format!("{label} {message}."),
                );
            }
            template_view_page(StatusCode::UNPROCESSABLE_ENTITY, &view, &form, &errors)
        }
        Err(EditError::Stale { .. }) => kit::redirect_with_notice(
            &format!("/mail/templates/{name}"),
            "Not saved: someone saved this language meanwhile. Check their text and try again.",
        ),
        Err(_) => unavailable(),
    }
}

/// `POST /mail/templates/{name}/{language}/reset`.
async fn reset_page(
    State(mailer): State<Mailer>,
    ctx: AccessContext,
    Path((name, language)): Path<(String, String)>,
) -> Response {
    match mailer
        .save_template_text(&name, &language, None, None, &ctx)
        .await
    {
        Ok(_) => kit::redirect_with_notice(
            &format!("/mail/templates/{name}"),
            &format!("The {language} text is back to the shipped one."),
        ),
        Err(EditError::NothingToReset | EditError::UnknownTemplate | EditError::BadLanguage) => {
            kit::redirect_with_notice(
                &format!("/mail/templates/{name}"),
                "Nothing to reset: this language has no saved text in use.",
            )
        }
        Err(_) => unavailable(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shipped() -> Templates {
        Templates::new().with(
            Template::new(
                "case.opened",
                Translation::new("Case {{reference}}", "We opened {{reference}}."),
            )
            .language(
                "de",
                Translation::new("Fall {{reference}}", "Wir haben {{reference}} eröffnet."),
            ),
        )
    }

    fn saved(language: &str, version: i64, subject: Option<&str>) -> SavedText {
        SavedText {
            template: "case.opened".into(),
            language: language.into(),
            version,
            subject: subject.map(str::to_owned),
            text: subject.map(|s| format!("{s} — {{{{reference}}}}")),
            html: None,
            saved_by: "cmp".into(),
            saved_at: format!("2026-12-07T00:00:0{version}Z"),
        }
    }

    #[test]
    fn saved_texts_replace_or_add_languages_and_a_reset_returns_to_the_shipped_one() {
        let p = json!({"reference": "C-1"});
        let merged = merge(
            &shipped(),
            &[
                saved("pt", 1, Some("Caso {{reference}}")),
                saved("de", 2, None),
            ],
        );
        let (_, pt) = merged.render("case.opened", "pt-BR", &p).unwrap();
        assert_eq!(
            (pt.language.as_str(), pt.subject.as_str()),
            ("pt", "Caso C-1")
        );
        let (_, de) = merged.render("case.opened", "de", &p).unwrap();
        assert_eq!(de.subject, "Fall C-1", "reset: the shipped German");
        let (_, en) = merged.render("case.opened", "fr", &p).unwrap();
        assert_eq!(en.subject, "Case C-1", "others fall back to English");
    }

    #[test]
    fn the_view_marks_each_language_and_keeps_history_newest_first() {
        let t = shipped();
        let v = view_of(
            t.get("case.opened").unwrap(),
            &[
                saved("de", 1, Some("Ihr Fall {{reference}}")),
                saved("pt", 1, Some("Caso {{reference}}")),
                saved("de", 2, Some("Fall Nr. {{reference}}")),
            ],
        );
        let sources: Vec<(&str, &str)> = v
            .texts
            .iter()
            .map(|t| (t.language.as_str(), t.source.as_str()))
            .collect();
        assert_eq!(
            sources,
            [("en", "shipped"), ("de", "edited"), ("pt", "added")]
        );
        assert_eq!(v.texts[1].subject, "Fall Nr. {{reference}}");
        assert_eq!(v.history[0].version, 2);
        assert_eq!(v.placeholders, ["reference"]);
    }

    #[test]
    fn preview_values_name_their_placeholder() {
        let p = sample_params(&["flight.number".into(), "reference".into()]);
        assert_eq!(
            p,
            json!({"flight": {"number": "[flight.number]"}, "reference": "[reference]"})
        );
    }
}
