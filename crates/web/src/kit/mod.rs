//! The component kit: the building blocks every page is made of, so that pages look and behave
//! alike and accessibility is solved once. Each component is a function returning markup (or a
//! small builder where there are many options); `/ui` shows every one of them.
//!
//! Conventions the components keep: no inline script or style (the CSP forbids both); every
//! control has a visible label; status is never told by colour alone (badges carry text, charts
//! carry a data table); nothing is wider than a phone screen without scrolling inside itself.

pub mod chart;
pub mod form;
pub mod table;

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use maud::{Markup, html};
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

pub use chart::{BarChart, Series, TimeChart};
pub use form::{Field, FieldKind, FormData, FormErrors, error_summary, field_id};
pub use table::{Column, DataTable, SortDir, Sorting};

/// The meaning of a badge or notice; also told in words, never by colour alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Plain information.
    Neutral,
    /// Worth noticing (a tier, a preference).
    Info,
    /// Done, fine.
    Good,
    /// Needs attention (special assistance, a document to check).
    Warn,
    /// Something is wrong (a breach, a denial).
    Bad,
}

impl Tone {
    fn class(self) -> &'static str {
        match self {
            Tone::Neutral => "badge",
            Tone::Info => "badge info",
            Tone::Good => "badge good",
            Tone::Warn => "badge warn",
            Tone::Bad => "badge bad",
        }
    }
}

/// A small label: a tier, an SSR code, a consent state, a status.
pub fn badge(text: &str, tone: Tone) -> Markup {
    html! { span class=(tone.class()) { (text) } }
}

/// A badge with an explanation for screen readers and a tooltip (`WCHR` → "wheelchair").
pub fn badge_titled(text: &str, title: &str, tone: Tone) -> Markup {
    html! { abbr class=(tone.class()) title=(title) { (text) } }
}

/// A step of the breadcrumb trail.
#[derive(Debug, Clone, Copy)]
pub struct Crumb<'a> {
    /// What it says.
    pub label: &'a str,
    /// Where it leads.
    pub href: &'a str,
}

/// The heading of a page: breadcrumbs (where this page sits), the title, an optional line under
/// it, and the page's main actions on the right (wrapping below on a phone).
pub fn page_header(
    crumbs: &[Crumb<'_>],
    title: &str,
    subtitle: Option<Markup>,
    actions: Option<Markup>,
) -> Markup {
    html! {
        @if !crumbs.is_empty() {
            nav.breadcrumbs aria-label="Breadcrumb" {
                ol {
                    @for c in crumbs {
                        li { a href=(c.href) { (c.label) } }
                    }
                    li aria-current="page" { (title) }
                }
            }
        }
        div.page-header {
            div {
                h1 { (title) }
                @if let Some(s) = subtitle { p.subtitle { (s) } }
            }
            @if let Some(a) = actions { div.actions { (a) } }
        }
    }
}

/// A description list of label → value pairs (a profile's facts); empty values show a dash.
pub fn facts(rows: &[(&str, Markup)]) -> Markup {
    html! {
        dl.facts {
            @for (label, value) in rows {
                div {
                    dt { (label) }
                    dd { (value) }
                }
            }
        }
    }
}

/// A value or a dash for "not known".
pub fn or_dash(value: Option<impl std::fmt::Display>) -> Markup {
    match value {
        Some(v) => html! { (v.to_string()) },
        None => html! { span.muted aria-label="not known" { "—" } },
    }
}

/// What a list says when it has nothing to show: what is missing and what to do next.
pub fn empty_state(title: &str, detail: &str, action: Option<Markup>) -> Markup {
    html! {
        div.empty-state role="status" {
            p { strong { (title) } }
            p { (detail) }
            @if let Some(a) = action { p { (a) } }
        }
    }
}

/// One tab of [`tabs`]: a link to a view of the same thing.
#[derive(Debug, Clone, Copy)]
pub struct Tab<'a> {
    /// What it says.
    pub label: &'a str,
    /// Where it leads.
    pub href: &'a str,
    /// Whether it is the view shown.
    pub current: bool,
}

/// Tabs as links (each view has its own address, works without script and with the back
/// button); scrolls sideways inside itself on a phone.
pub fn tabs(label: &str, items: &[Tab<'_>]) -> Markup {
    html! {
        nav.tabs aria-label=(label) {
            ul {
                @for t in items {
                    li {
                        @if t.current {
                            a href=(t.href) aria-current="page" { (t.label) }
                        } @else {
                            a href=(t.href) { (t.label) }
                        }
                    }
                }
            }
        }
    }
}

/// One entry of an activity feed.
#[derive(Debug, Clone)]
pub struct FeedItem {
    /// When it happened, as shown (local or UTC, the caller decides).
    pub when: String,
    /// The machine-readable instant for `<time datetime>`.
    pub datetime: String,
    /// What happened, in a few words.
    pub title: String,
    /// Badges next to the title.
    pub badges: Vec<Markup>,
    /// A line of context (who, where).
    pub meta: Option<String>,
    /// The details, shown when expanded (notes, texts, fields).
    pub details: Option<Markup>,
    /// Kind, for the icon and the filter (`flight`, `call`, `email`, …).
    pub kind: &'static str,
}

/// A feed of activity (the timeline): newest first, details expandable with the keyboard.
pub fn feed(items: &[FeedItem]) -> Markup {
    html! {
        ol.feed {
            @for item in items {
                li class={ "feed-item kind-" (item.kind) } {
                    div.feed-head {
                        time datetime=(item.datetime) { (item.when) }
                        span.feed-title { (item.title) }
                        @for b in &item.badges { " " (b) }
                    }
                    @if let Some(meta) = &item.meta { p.feed-meta { (meta) } }
                    @if let Some(details) = &item.details {
                        details {
                            summary { "Details" span.visually-hidden { " of " (item.title) } }
                            div.feed-details { (details) }
                        }
                    }
                }
            }
        }
    }
}

/// A button that posts `action` after the user confirms `question` in a dialog (app.js opens a
/// native `<dialog>`; without script the form posts directly, so pages must treat the post as
/// the confirmation and make it reversible or audited).
pub fn confirm_button(
    action: &str,
    label: &str,
    question: &str,
    hidden: &[(&str, &str)],
) -> Markup {
    html! {
        form.confirm method="post" action=(action) data-confirm=(question) {
            (crate::csrf_field())
            @for (name, value) in hidden {
                input type="hidden" name=(name) value=(value);
            }
            button.secondary type="submit" { (label) }
        }
    }
}

/// A notice in the page (`role=status`, read out by screen readers without moving focus).
pub fn notice(text: &str, tone: Tone) -> Markup {
    let class = match tone {
        Tone::Bad => "notice bad",
        Tone::Warn => "notice warn",
        Tone::Good => "notice good",
        _ => "notice",
    };
    html! { div class=(class) role=(if tone == Tone::Bad { "alert" } else { "status" }) { (text) } }
}

/// A filter bar: a GET form of filters above a list; `controls` are the inputs (use
/// [`form::Field`]), applied with one button, cleared with a link to `clear_href`.
pub fn filter_bar(action: &str, label: &str, controls: Markup, clear_href: &str) -> Markup {
    html! {
        form.filter-bar method="get" action=(action) role="search" aria-label=(label) {
            (controls)
            div.filter-actions {
                button type="submit" { "Apply" }
                a href=(clear_href) { "Clear" }
            }
        }
    }
}

/// The cookie that carries a notice over a redirect (short-lived, HTTP only, same site).
const FLASH_COOKIE: &str = "aloft_flash";
/// Clears [`FLASH_COOKIE`] once the notice was shown.
pub(crate) const FLASH_CLEAR: &str = "aloft_flash=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict";

/// A 303 redirect to `location` (a path of this site) that shows `message` as a toast on the
/// page it leads to (post/redirect/get with feedback).
pub fn redirect_with_notice(location: &str, message: &str) -> Response {
    let location = if location.starts_with('/') && !location.starts_with("//") {
        location
    } else {
        "/"
    };
    let cookie = format!(
        "{FLASH_COOKIE}={}; Path=/; Max-Age=60; HttpOnly; SameSite=Strict",
        utf8_percent_encode(message, NON_ALPHANUMERIC)
    );
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The notice carried by the request's cookie, if any (at most 200 characters are shown).
pub(crate) fn flash_from(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix("aloft_flash="))
        .find(|v| !v.is_empty())
        .map(|v| {
            percent_decode_str(v)
                .decode_utf8_lossy()
                .chars()
                .take(200)
                .collect()
        })
}

/// The toast of the current request's notice, if one was carried over a redirect.
pub fn toast() -> Markup {
    html! {
        @if let Some(text) = crate::workspace::current_flash() {
            div.toast role="status" aria-live="polite" { (text) }
        }
    }
}

/// A grid of key figures (counts on a home panel): value large, label small.
pub fn stats(items: &[(&str, String, Option<&str>)]) -> Markup {
    html! {
        ul.stats {
            @for (label, value, href) in items {
                li {
                    @if let Some(href) = href {
                        a href=(href) { span.stat-value { (value) } span.stat-label { (label) } }
                    } @else {
                        span.stat-value { (value) } span.stat-label { (label) }
                    }
                }
            }
        }
    }
}

/// A panel's heading and body, as the start page draws it.
pub fn panel(id: &str, title: &str, body: Markup) -> Markup {
    let heading = format!("{id}-title");
    html! {
        section.panel id=(id) aria-labelledby=(heading) {
            h2 id=(heading) { (title) }
            (body)
        }
    }
}
