//! The web UI shell: the page layout every domain's pages render into, and the vendored static
//! assets (Pico CSS, htmx, Swagger UI) compiled into the binary — nothing is fetched from a CDN.
//!
//! Accessibility is built into the shell: a skip link, landmark regions (`header`, `nav`, `main`),
//! `aria-current` on the active section, a visible focus ring, and a language attribute. Pages add
//! their content inside `main`. No inline script or style anywhere (the CSP forbids them).

use axum::Router;
use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{StatusCode, header};
use maud::{DOCTYPE, Markup, html};

use std::sync::Arc;

use aloft_authz::{Access, CSRF_FIELD, Principal, Realm, RoutePolicy, current_principal};

/// A section of the product (one per domain page group), named by a stable id; the layout marks
/// the navigation entry of the page's section as current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section(&'static str);

impl Section {
    /// The start page.
    pub const HOME: Section = Section("home");

    /// A section with a stable id.
    pub const fn new(id: &'static str) -> Self {
        Self(id)
    }
}

/// One entry of the navigation, declared by the module that serves the page. Shown only to
/// principals the route gate would let through, so nobody is offered a link that answers 403.
#[derive(Debug, Clone, Copy)]
pub struct NavEntry {
    /// The section the entry opens.
    pub section: Section,
    /// Where it links.
    pub href: &'static str,
    /// Its label.
    pub label: &'static str,
    /// What the section is for, in a sentence (the start page's card).
    pub summary: &'static str,
    /// Who may follow it (the same access as the route's policy).
    pub access: Access,
    /// Position in the navigation (lower first); ties keep registration order.
    pub order: u16,
}

impl NavEntry {
    /// Whether `principal` may follow this entry.
    pub fn visible_to(&self, principal: Option<&Principal>) -> bool {
        match self.access {
            Access::Public => true,
            Access::SignInStep => principal.is_some(),
            Access::Staff => {
                principal.is_some_and(|p| p.fully_authenticated && p.realm == Realm::Staff)
            }
            Access::Permission(perm) => principal.is_some_and(|p| p.can(perm)),
        }
    }
}

/// The navigation of one assembled application: every module's entries, in order.
#[derive(Debug, Clone, Default)]
pub struct Navigation(Arc<Vec<NavEntry>>);

impl Navigation {
    /// The navigation over `entries`, sorted by their order.
    pub fn new(mut entries: Vec<NavEntry>) -> Self {
        entries.sort_by_key(|e| e.order);
        Self(Arc::new(entries))
    }

    /// The entries `principal` may follow.
    pub fn visible_to<'a>(
        &'a self,
        principal: Option<&'a Principal>,
    ) -> impl Iterator<Item = &'a NavEntry> + 'a {
        self.0.iter().filter(move |e| e.visible_to(principal))
    }
}

tokio::task_local! {
    static NAVIGATION: Navigation;
}

/// Middleware: makes the application's navigation available to [`layout`] while the request
/// is handled (pages render without passing it around).
pub async fn provide_navigation(
    axum::extract::State(nav): axum::extract::State<Navigation>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    NAVIGATION.scope(nav, next.run(req)).await
}

fn navigation() -> Navigation {
    NAVIGATION.try_with(|n| n.clone()).unwrap_or_default()
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
pub fn layout(title: &str, section: Section, content: Markup) -> Markup {
    let principal = current_principal().filter(|p| p.fully_authenticated);
    let nav = navigation();
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false}"#;
                title { (title) " — Aloft" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/assets/pico.min.css";
                link rel="stylesheet" href="/assets/app.css";
                script src="/assets/htmx.min.js" defer {}
            }
            body {
                a.skip-link href="#main" { "Skip to main content" }
                header.container {
                    nav aria-label="Main" {
                        ul {
                            li { a.brand href="/" { strong { "Aloft" } } }
                        }
                        ul {
                            @for entry in nav.visible_to(principal.as_ref()) {
                                li {
                                    @if entry.section == section {
                                        a href=(entry.href) aria-current="page" { (entry.label) }
                                    } @else {
                                        a href=(entry.href) { (entry.label) }
                                    }
                                }
                            }
                            @if let Some(p) = &principal {
                                li.user-menu {
                                    details.dropdown {
                                        summary { (p.display_name) }
                                        ul dir="rtl" {
                                            li dir="ltr" { small { (p.role_label) } }
                                            li dir="ltr" { a href="/account" { "Account security" } }
                                            li dir="ltr" {
                                                form.sign-out method="post" action="/sign-out" {
                                                    (csrf_field())
                                                    button.secondary type="submit" { "Sign out" }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                main.container #main tabindex="-1" {
                    (content)
                }
                footer.container {
                    small { "Aloft — customer management for airlines. " a href="/api/docs" { "API reference" } }
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
        RoutePolicy::new("GET", "/assets/{name}", Access::Public),
        RoutePolicy::new("GET", "/api/docs", Access::Public),
    ]
};

/// The start page: one card per section the signed-in principal may open.
pub async fn home() -> Response {
    let principal = current_principal();
    let nav = navigation();
    page(
        StatusCode::OK,
        layout(
            "Home",
            Section::HOME,
            html! {
                h1 { "Aloft" }
                p { "One trustworthy view of every passenger, across every touchpoint." }
                div.grid.cards {
                    @for entry in nav.visible_to(principal.as_ref()) {
                        article {
                            h2 { a href=(entry.href) { (entry.label) } }
                            p { (entry.summary) }
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

/// Routes of the shell: `/`, `/assets/{name}`, `/api/docs`.
pub fn routes() -> Router {
    Router::new()
        .route("/", get(home))
        .route("/assets/{name}", get(asset))
        .route("/api/docs", get(api_docs))
}
