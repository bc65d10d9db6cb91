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

use crate::access::{CSRF_FIELD, Permission, Principal, current_principal};

/// The product's sections, one per domain, in navigation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The start page.
    Home,
    /// Customer profiles.
    Customers,
    /// Data stewardship: the identity review queue (uncertain matches), merges.
    Identity,
    /// The audit trail (privacy and security teams).
    Audit,
    /// Roles and permissions, accounts, integration clients.
    Access,
    /// The interactive API reference.
    Api,
}

impl Section {
    const NAV: [(Section, &'static str, &'static str); 6] = [
        (Section::Home, "/", "Home"),
        (Section::Customers, "/customers", "Customers"),
        (Section::Identity, "/identity/reviews", "Identity review"),
        (Section::Audit, "/audit", "Audit trail"),
        (Section::Access, "/access/roles", "Access"),
        (Section::Api, "/api/docs", "API reference"),
    ];

    /// Whether the signed-in principal may open this section (links they cannot use are not
    /// shown; the route gate enforces it regardless).
    fn visible_to(self, principal: Option<&Principal>) -> bool {
        let needs = match self {
            Section::Home | Section::Api => return true,
            Section::Customers => Permission::CustomerRead,
            Section::Identity => Permission::IdentityReview,
            Section::Audit => Permission::AuditRead,
            Section::Access => Permission::AccessReview,
        };
        principal.is_some_and(|p| p.can(needs))
    }
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
                            @for (s, href, label) in Section::NAV.iter().skip(1).filter(|(s, _, _)| s.visible_to(principal.as_ref())) {
                                li {
                                    @if *s == section {
                                        a href=(href) aria-current="page" { (label) }
                                    } @else {
                                        a href=(href) { (label) }
                                    }
                                }
                            }
                            @if let Some(p) = &principal {
                                li.user-menu {
                                    details.dropdown {
                                        summary { (p.display_name) }
                                        ul dir="rtl" {
                                            li dir="ltr" { small { (p.role.label()) } }
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
pub const POLICY: &[crate::access::RoutePolicy] = {
    use crate::access::{Access, RoutePolicy};
    &[
        RoutePolicy::new("GET", "/", Access::Staff),
        RoutePolicy::new("GET", "/assets/{name}", Access::Public),
        RoutePolicy::new("GET", "/api/docs", Access::Public),
    ]
};

/// The start page: one card per domain.
pub async fn home() -> Response {
    page(
        StatusCode::OK,
        layout(
            "Home",
            Section::Home,
            html! {
                h1 { "Aloft" }
                p { "One trustworthy view of every passenger, across every touchpoint." }
                div.grid {
                    article {
                        h2 { a href="/customers" { "Customers" } }
                        p { "Find a passenger by name, e-mail, phone, loyalty or passport number; view and edit the profile." }
                    }
                    article {
                        h2 { a href="/audit" { "Audit trail" } }
                        p { "Who read or changed which customer's data, when and from where; verify the tamper-evident chain." }
                    }
                    article {
                        h2 { a href="/api/docs" { "API reference" } }
                        p { "Every endpoint, its fields and its errors, with a console to try them." }
                    }
                }
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
            Section::Home,
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
