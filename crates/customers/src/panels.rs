//! What the customers domain contributes to the workspace beyond its pages: the global search
//! source (names, e-mails, phones, loyalty and passport numbers) and start-page panels — a
//! search box and the agent's recently opened customers for contact-centre work, recent tier
//! changes for the loyalty manager. Everything is read through the principal's row scope and
//! audited like the pages' reads.

use maud::{Markup, html};
use sqlx::Row;

use aloft_authz::{Access, Principal};
use aloft_kernel::AccessContext;
use aloft_kernel::audit::AuditFilter;
use aloft_web::kit::{self, Column, DataTable, Tone};
use aloft_web::{HomePanel, SearchHit, SearchSource};

use crate::model::CustomerId;
use crate::permissions::{CUSTOMER_READ, CUSTOMER_WRITE, LOYALTY_MANAGE};
use crate::storage::{Customer, CustomerStore, Reader};

/// How many hits the global search shows from this source.
const SEARCH_HITS: usize = 10;

/// The global search source: whatever identifies a passenger.
pub fn search_source(store: CustomerStore) -> SearchSource {
    SearchSource::new(
        "customers",
        Access::Permission(CUSTOMER_READ),
        move |principal, q| {
            let store = store.clone();
            async move { search(&store, &principal, &q).await }
        },
    )
}

async fn search(store: &CustomerStore, principal: &Principal, q: &str) -> Vec<SearchHit> {
    let mut found: Vec<Customer> = Vec::new();
    for query in crate::pages::interpret(q) {
        match store.search(&query, Reader::request(Some(principal))).await {
            Ok(page) if !page.items.is_empty() => {
                found = page.items;
                break;
            }
            Ok(_) => {}
            Err(_) => return Vec::new(),
        }
    }
    found.truncate(SEARCH_HITS);
    let ctx = AccessContext::current();
    if store
        .record_reads(&ctx, crate::events::audit::CUSTOMER_SEARCH, &found)
        .await
        .is_err()
    {
        return Vec::new();
    }
    found.iter().map(hit).collect()
}

fn hit(c: &Customer) -> SearchHit {
    let p = &c.profile;
    let detail = [
        p.loyalty_tier.map(|t| format!("{} tier", t.as_str())),
        p.loyalty_number.as_ref().map(ToString::to_string),
        p.location
            .as_ref()
            .and_then(|l| l.home_airport.as_ref())
            .map(|a| format!("home {a}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    SearchHit {
        kind: "Customers",
        title: p.display_name(),
        detail,
        href: format!("/customers/{}", c.id),
    }
}

/// The start-page panels of this domain.
pub fn home_panels(store: CustomerStore) -> Vec<HomePanel> {
    let s = store.clone();
    let find = HomePanel::new(
        "find-customer",
        Access::Permission(CUSTOMER_READ),
        10,
        |p: Principal| async move { find_panel(&p) },
    );
    let recent = HomePanel::new(
        "recent-customers",
        Access::Permission(CUSTOMER_READ),
        11,
        move |p| {
            let s = s.clone();
            async move { recent_panel(&s, &p).await }
        },
    );
    let s = store;
    let tiers = HomePanel::new(
        "tier-changes",
        Access::Permission(LOYALTY_MANAGE),
        40,
        move |p| {
            let s = s.clone();
            async move { tier_changes_panel(&s, &p).await }
        },
    );
    vec![find, recent, tiers]
}

fn find_panel(p: &Principal) -> Markup {
    kit::panel(
        "find-customer",
        "Find a passenger",
        html! {
            form method="get" action="/search" {
                label for="home-q" { "Name, e-mail, phone, loyalty number, PNR, bag tag or flight" }
                div.search-row {
                    input #home-q type="search" name="q" autocomplete="off";
                    button type="submit" { "Search" }
                }
            }
            @if p.can(CUSTOMER_WRITE) {
                p { a href="/customers/new" { "Create a customer profile" } }
            }
        },
    )
}

/// The customers this principal opened most recently (from their own audit trail: what they
/// read, newest first), still within their row scope.
async fn recent_panel(store: &CustomerStore, p: &Principal) -> Markup {
    let records = aloft_kernel::audit::search(
        store.database(),
        &AuditFilter {
            resource_id: None,
            actor_id: Some(p.subject.clone()),
            action: Some(crate::events::audit::CUSTOMER_READ.as_str().to_string()),
            limit: 60,
        },
    )
    .await;
    let Ok(records) = records else {
        return kit::panel(
            "recent-customers",
            "Recently opened",
            kit::notice("Recent customers cannot be loaded right now.", Tone::Bad),
        );
    };
    let mut ids: Vec<CustomerId> = Vec::new();
    for r in &records {
        if let Some(id) = r.resource_id.as_deref().and_then(CustomerId::parse)
            && !ids.contains(&id)
        {
            ids.push(id);
        }
        if ids.len() == 8 {
            break;
        }
    }
    let mut shown: Vec<Customer> = Vec::new();
    for id in ids {
        if matches!(store.visible(Reader::request(Some(p)), id).await, Ok(true))
            && let Ok(Some(c)) = store.get(id).await
            && c.merged_into.is_none()
        {
            shown.push(c);
        }
    }
    if store
        .record_reads(
            &AccessContext::current(),
            crate::events::audit::CUSTOMER_SEARCH,
            &shown,
        )
        .await
        .is_err()
    {
        return kit::panel(
            "recent-customers",
            "Recently opened",
            kit::notice("Recent customers cannot be loaded right now.", Tone::Bad),
        );
    }
    kit::panel(
        "recent-customers",
        "Recently opened",
        html! {
            @if shown.is_empty() {
                (kit::empty_state("No customers opened yet", "Profiles you open appear here for a quick return.", None))
            } @else {
                ul.plain-list {
                    @for c in &shown {
                        li {
                            a href={ "/customers/" (c.id) } { (c.profile.display_name()) }
                            @if let Some(t) = c.profile.loyalty_tier { " " (kit::badge(t.as_str(), Tone::Info)) }
                        }
                    }
                }
            }
        },
    )
}

/// Recent loyalty tier changes (from the domain's change log), for the loyalty manager.
async fn tier_changes_panel(store: &CustomerStore, p: &Principal) -> Markup {
    if !p.can(CUSTOMER_READ) {
        return html! {};
    }
    let rows = sqlx::query(
        "SELECT customer_id, changed_at FROM customer_changes \
         WHERE changed_fields LIKE '%loyalty_tier%' ORDER BY changed_at DESC LIMIT 10",
    )
    .fetch_all(store.database().pool())
    .await;
    let Ok(rows) = rows else {
        return kit::panel(
            "tier-changes",
            "Recent tier changes",
            kit::notice("Tier changes cannot be loaded right now.", Tone::Bad),
        );
    };
    let mut shown: Vec<(Customer, String)> = Vec::new();
    for r in rows {
        let id: String = r.get("customer_id");
        let at: String = r.get("changed_at");
        if let Some(id) = CustomerId::parse(&id)
            && let Ok(Some(c)) = store.get(id).await
        {
            shown.push((c, at));
        }
    }
    let customers: Vec<Customer> = shown.iter().map(|(c, _)| c.clone()).collect();
    if store
        .record_reads(
            &AccessContext::current(),
            crate::events::audit::CUSTOMER_SEARCH,
            &customers,
        )
        .await
        .is_err()
    {
        return kit::panel(
            "tier-changes",
            "Recent tier changes",
            kit::notice("Tier changes cannot be loaded right now.", Tone::Bad),
        );
    }
    let table = DataTable::new(
        "Latest tier changes",
        vec![
            Column::new("Customer"),
            Column::new("Tier now"),
            Column::new("Changed"),
        ],
    )
    .rows(
        shown
            .iter()
            .map(|(c, at)| {
                vec![
                    html! { a href={ "/customers/" (c.id) } { (c.profile.display_name()) } },
                    kit::or_dash(c.profile.loyalty_tier.map(|t| t.as_str())),
                    html! { (at.get(..16).unwrap_or(at).replace('T', " ")) " UTC" },
                ]
            })
            .collect(),
    );
    kit::panel(
        "tier-changes",
        "Recent tier changes",
        html! {
            @if shown.is_empty() {
                (kit::empty_state("No tier changes yet", "Upgrades and downgrades made in Aloft or sent by the loyalty system appear here.", None))
            } @else {
                (table.render())
            }
        },
    )
}
