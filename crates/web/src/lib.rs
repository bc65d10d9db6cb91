//! The web workspace: the console shell every domain's pages render into (top bar with the
//! global search, navigation rail, toasts), the component kit ([`kit`]), what modules contribute
//! to the workspace ([`workspace`]: navigation, start-page panels, search sources), the start
//! page, the global search page, the style guide at `/ui`, and the vendored static assets (Pico
//! CSS, htmx, Swagger UI) compiled into the binary — nothing is fetched from a CDN.
//!
//! Accessibility is built into the shell: a skip link, landmark regions (`header`, `nav`, `main`),
//! `aria-current` on the active section, a visible focus ring, and a language attribute. Pages add
//! their content inside `main`. No inline script or style anywhere (the CSP forbids them).

pub mod kit;
pub mod portal;
mod search;
mod styleguide;
pub mod workspace;

pub use workspace::{
    ActorNames, DatedItem, HomePanel, NavEntry, Placement, PortalEntry, RecordView, SearchHit,
    SearchSource, Section, TimelineSource, Workspace, provide_workspace,
};

use axum::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{StatusCode, header};
use maud::{DOCTYPE, Markup, html};

use aloft_authz::{Access, CSRF_FIELD, RoutePolicy, current_principal};

/// The `<head>` of every page: the vendored stylesheets and scripts (htmx only where pages use
/// it), the title, and a CSP-safe htmx configuration (no eval, no inline indicator styles).
pub(crate) fn head(title: &str, htmx: bool) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false}"#;
            title { (title) " — Aloft" }
            link rel="icon" href="data:,";
            link rel="stylesheet" href="/assets/pico.min.css";
            link rel="stylesheet" href="/assets/app.css";
            @if htmx { script src="/assets/htmx.min.js" defer {} }
            script src="/assets/app.js" defer {}
        }
    }
}

/// The one navigation entry marked current: of the page's section, the entry whose address is
/// the longest prefix of the request's path (`/cases/dashboard` over `/cases`), else the
/// section's first — so a section with several entries marks one, not all.
fn current_entry(nav: &[&NavEntry], section: Section, path: &str) -> Option<&'static str> {
    let of_section = || nav.iter().filter(|e| e.section == section);
    of_section()
        .filter(|e| {
            let href = e.href.split('?').next().unwrap_or(e.href);
            path == href || path.starts_with(&format!("{}/", href.trim_end_matches('/')))
        })
        .max_by_key(|e| e.href.len())
        .or_else(|| of_section().next())
        .map(|e| e.href)
}

/// The hidden form field carrying the session's CSRF token; every `method="post"` form includes
/// it (the route gate rejects state changes without it).
pub fn csrf_field() -> Markup {
    let token = current_principal().and_then(|p| p.csrf_token);
    html! {
        @if let Some(token) = token {
            input type="hidden" name=(CSRF_FIELD) value=(token);
        }
    }
}

/// Renders a full page: `title` is the page's own name (the `<title>` adds "— Aloft").
///
/// The shell: a top bar (brand, the global search for staff, the user menu), the navigation
/// rail of the entries the principal may follow (a strip that scrolls sideways inside itself on
/// a phone), the toast of a notice carried over a redirect, then the page.
pub fn layout(title: &str, section: Section, content: Markup) -> Markup {
    let principal = current_principal().filter(|p| p.fully_authenticated);
    let workspace = workspace::current();
    let searches = workspace
        .search_sources(principal.as_ref())
        .next()
        .is_some();
    let nav: Vec<&NavEntry> = workspace.navigation(principal.as_ref()).collect();
    let current_href = current_entry(&nav, section, &workspace::current_path());
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, true))
            body.shell {
                a.skip-link href="#main" { "Skip to main content" }
                header.topbar {
                    a.brand href="/" { strong { "Aloft" } }
                    @if searches {
                        form.global-search method="get" action="/search" role="search" aria-label="Everything" {
                            label.visually-hidden for="global-q" { "Search passengers, bookings, bags and flights" }
                            input #global-q type="search" name="q" autocomplete="off"
                                placeholder="Name, e-mail, phone, loyalty no., PNR, bag tag, flight"
                                aria-keyshortcuts="/" data-shortcut="/";
                            button type="submit" { "Search" }
                        }
                    }
                    @if let Some(p) = &principal {
                        details.user-menu {
                            summary { (p.display_name) }
                            div.user-menu-panel {
                                p { small { (p.role_label) } }
                                @if p.realm == aloft_authz::Realm::Staff {
                                    p { a href="/account" { "Account security" } }
                                }
                                form.sign-out method="post" action="/sign-out" {
                                    (csrf_field())
                                    button.secondary type="submit" { "Sign out" }
                                }
                            }
                        }
                    }
                }
                div.frame {
                    @if !nav.is_empty() {
                        nav.rail aria-label="Main" {
                            ul {
                                li {
                                    @if section == Section::HOME {
                                        a href="/" aria-current="page" { "Home" }
                                    } @else {
                                        a href="/" { "Home" }
                                    }
                                }
                                @for entry in &nav {
                                    li {
                                        @if entry.section == section && Some(entry.href) == current_href {
                                            a href=(entry.href) aria-current="page" { (entry.label) }
                                        } @else {
                                            a href=(entry.href) { (entry.label) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    main #main tabindex="-1" {
                        (kit::toast())
                        (content)
                        footer {
                            small { "Aloft — customer management for airlines. " a href="/api/docs" { "API reference" } " · " a href="/ui" { "Style guide" } }
                        }
                    }
                }
            }
        }
    }
}

/// Turns markup into an HTML response with `status`.
pub fn page(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response()
}

/// Who may open the shell's routes.
pub const POLICY: &[RoutePolicy] = {
    &[
        RoutePolicy::new("GET", "/", Access::Staff),
        RoutePolicy::new("GET", "/search", Access::Staff),
        RoutePolicy::new("GET", "/ui", Access::Staff),
        RoutePolicy::new("GET", "/assets/{name}", Access::Public),
        RoutePolicy::new("GET", "/api/docs", Access::Public),
    ]
};

/// The start page: the panels of the signed-in principal's job (rendered concurrently), or a
/// short orientation when a role has none yet.
pub async fn home() -> Response {
    let principal = current_principal().filter(|p| p.fully_authenticated);
    let workspace = workspace::current();
    let panels: Vec<&HomePanel> = workspace.panels(principal.as_ref()).collect();
    let rendered = match &principal {
        Some(p) => {
            futures_util::future::join_all(panels.iter().map(|panel| (panel.render)(p.clone())))
                .await
        }
        None => Vec::new(),
    };
    let greeting = principal
        .as_ref()
        .map(|p| {
            if p.display_name == p.role_label {
                format!("Signed in as {}", p.role_label)
            } else {
                format!("{} — {}", p.display_name, p.role_label)
            }
        })
        .unwrap_or_default();
    let nav: Vec<&NavEntry> = workspace.navigation(principal.as_ref()).collect();
    page(
        StatusCode::OK,
        layout(
            "Home",
            Section::HOME,
            html! {
                (kit::page_header(&[], "Home", Some(html! { (greeting) }), None))
                @if rendered.is_empty() {
                    div.grid.cards {
                        @for entry in &nav {
                            article {
                                h2 { a href=(entry.href) { (entry.label) } }
                                p { (entry.summary) }
                            }
                        }
                    }
                } @else {
                    div.panels {
                        @for (panel, body) in panels.iter().zip(rendered) {
                            div class=(if panel.wide { "panel-slot wide" } else { "panel-slot" }) { (body) }
                        }
                    }
                }
            },
        ),
    )
}

/// A refusal rendered in the shell (the route gate's [`aloft_authz::RefusalPage`]).
pub fn refusal_page(status: StatusCode, title: &'static str, detail: &'static str) -> Response {
    page(
        status,
        layout(
            title,
            Section::HOME,
            html! {
                h1 { (title) }
                p { (detail) }
                p { a href="/" { "Back to the start page" } }
            },
        ),
    )
}

/// A not-found page for the UI.
pub async fn page_not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        layout(
            "Not found",
            Section::HOME,
            html! {
                h1 { "Page not found" }
                p { "There is nothing at this address. " a href="/" { "Go to the start page" } "." }
            },
        ),
    )
}

/// The interactive API reference (Swagger UI, vendored), reading `/api/openapi.json`.
pub async fn api_docs() -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "API reference — Aloft" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/assets/swagger-ui.css";
                link rel="stylesheet" href="/assets/app.css";
            }
            body {
                a.skip-link href="#swagger-ui" { "Skip to the API reference" }
                header.api-header {
                    a href="/" { "← Back to Aloft" }
                }
                main #swagger-ui aria-label="API reference" {}
                script src="/assets/swagger-ui-bundle.js" {}
                script src="/assets/swagger-init.js" {}
            }
        }
    };
    page(StatusCode::OK, markup)
}

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "pico.min.css",
        content_type: "text/css",
        bytes: include_bytes!("../assets/vendor/pico.min.css"),
    },
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript",
        bytes: include_bytes!("../assets/vendor/htmx.min.js"),
    },
    Asset {
        name: "swagger-ui.css",
        content_type: "text/css",
        bytes: include_bytes!("../assets/vendor/swagger-ui.css"),
    },
    Asset {
        name: "swagger-ui-bundle.js",
        content_type: "text/javascript",
        bytes: include_bytes!("../assets/vendor/swagger-ui-bundle.js"),
    },
    Asset {
        name: "swagger-init.js",
        content_type: "text/javascript",
        bytes: include_bytes!("../assets/swagger-init.js"),
    },
    Asset {
        name: "app.css",
        content_type: "text/css",
        bytes: include_bytes!("../assets/app.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript",
        bytes: include_bytes!("../assets/app.js"),
    },
];

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            a.bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Routes of the shell: `/`, `/search`, `/ui`, `/assets/{name}`, `/api/docs`.
pub fn routes() -> Router {
    Router::new()
        .route("/", get(home))
        .route("/search", get(search::search_page))
        .route("/ui", get(styleguide::style_guide))
        .route("/assets/{name}", get(asset))
        .route("/api/docs", get(api_docs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(section: &'static str, href: &'static str) -> NavEntry {
        NavEntry {
            section: Section::new(section),
            href,
            label: href,
            summary: "",
            access: Access::Public,
            order: 0,
        }
    }

    #[test]
    fn one_entry_of_a_section_is_current_the_longest_prefix_of_the_path() {
        let (cases, board, other) = (
            entry("cases", "/cases"),
            entry("cases", "/cases/dashboard"),
            entry("privacy", "/privacy"),
        );
        let nav = [&cases, &board, &other];
        let cases_section = Section::new("cases");
        assert_eq!(
            current_entry(&nav, cases_section, "/cases/dashboard"),
            Some("/cases/dashboard")
        );
        assert_eq!(
            current_entry(&nav, cases_section, "/cases/0190-abc"),
            Some("/cases")
        );
        assert_eq!(
            current_entry(&nav, cases_section, "/casesx"),
            Some("/cases"),
            "no prefix: the section's first"
        );
        assert_eq!(current_entry(&nav, Section::new("none"), "/cases"), None);
    }
}
