//! The passenger portal's page frame (`/my`): the workspace's stylesheet and component kit, the
//! brand leading to `/my`, the passenger's tabs (the [`PortalEntry`]s modules declare) and
//! sign-out — and nothing of the staff workspace (no rail, no global search, no staff links).
//!
//! It lives here rather than in the portal crate so that every module serving passengers (cases,
//! claims, consent) renders its `/my/...` pages into the same frame without depending on the
//! portal, and the portal shows their tabs without knowing them.
//!
//! [`PortalEntry`]: crate::PortalEntry

use aloft_authz::{Realm, current_principal};
use maud::{DOCTYPE, Markup, html};

use crate::kit::{self, Tab};
use crate::workspace;

/// A portal page. `current` is the href of the tab the page belongs to (`"/my/cases"` for a
/// case's page too); an empty `current`, or a request without a signed-in passenger, draws the
/// signed-out frame (sign-up, sign-in, verify): no tabs, no sign-out.
pub fn layout(title: &str, current: &str, content: Markup) -> Markup {
    let signed_in =
        !current.is_empty() && current_principal().is_some_and(|p| p.realm == Realm::Passenger);
    let entries = workspace::current();
    let tabs: Vec<Tab> = entries
        .portal_entries()
        .iter()
        .map(|e| Tab {
            label: e.label,
            href: e.href,
            current: e.href == current,
        })
        .collect();
    html! {
        (DOCTYPE)
        html lang="en" {
            (crate::head(title, false))
            body.shell.portal {
                a.skip-link href="#main" { "Skip to main content" }
                header.topbar {
                    a.brand href="/my" { strong { "Aloft" } span.portal-tagline { " · My travel" } }
                    @if signed_in {
                        form.sign-out.portal-sign-out method="post" action="/my/sign-out" {
                            (crate::csrf_field())
                            button.secondary.outline type="submit" { "Sign out" }
                        }
                    }
                }
                div.frame {
                    main #main tabindex="-1" {
                        @if signed_in && !tabs.is_empty() {
                            (kit::tabs("Your account", &tabs))
                        }
                        (kit::toast())
                        (content)
                        footer {
                            small { "Aloft — your airline account. We show and change only your own data; every look at it is recorded." }
                        }
                    }
                }
            }
        }
    }
}

/// The panels of the portal's overview page (`/my`) that the signed-in passenger may see,
/// rendered concurrently, in their order; each renders its own [`crate::kit::panel`]. The
/// overview places them in its grid.
pub async fn panels() -> Markup {
    let Some(principal) = current_principal() else {
        return html! {};
    };
    let workspace = workspace::current();
    let panels: Vec<_> = workspace.portal_panels(Some(&principal)).collect();
    let rendered =
        futures_util::future::join_all(panels.iter().map(|p| (p.render)(principal.clone()))).await;
    html! {
        @for body in rendered { (body) }
    }
}
