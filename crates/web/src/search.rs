//! The global search (`/search?q=`): asks every search source the principal may use at once
//! and lists what they found, grouped by kind. A single hit opens directly (scanning a bag tag or
//! typing a PNR lands on the thing itself).

use std::time::Duration;

use axum::extract::Query;
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use maud::html;
use serde::Deserialize;

use aloft_authz::current_principal;

use crate::kit::{self, Crumb};
use crate::workspace::{self, SearchHit};
use crate::{Section, layout, page};

/// How long one source may take before the page is shown without it.
const SOURCE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Deserialize)]
pub(crate) struct SearchQuery {
    #[serde(default)]
    q: String,
}

pub(crate) async fn search_page(Query(query): Query<SearchQuery>) -> Response {
    let Some(principal) = current_principal().filter(|p| p.fully_authenticated) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let q: String = query.q.trim().chars().take(100).collect();
    let workspace = workspace::current();
    let mut hits: Vec<SearchHit> = Vec::new();
    let mut slow = 0;
    if !q.is_empty() {
        let finds = workspace
            .search_sources(Some(&principal))
            .map(|s| tokio::time::timeout(SOURCE_TIMEOUT, (s.find)(principal.clone(), q.clone())));
        for result in futures_util::future::join_all(finds).await {
            match result {
                Ok(found) => hits.extend(found),
                Err(_) => slow += 1,
            }
        }
    }
    if hits.len() == 1
        && slow == 0
        && hits[0].href.starts_with('/')
        && !hits[0].href.starts_with("//")
    {
        return Redirect::to(&hits[0].href).into_response();
    }
    let mut kinds: Vec<&'static str> = hits.iter().map(|h| h.kind).collect();
    kinds.dedup();
    kinds.sort_unstable();
    kinds.dedup();
    page(
        StatusCode::OK,
        layout(
            "Search",
            Section::HOME,
            html! {
                (kit::page_header(&[Crumb { label: "Home", href: "/" }], "Search", None, None))
                form.search-page method="get" action="/search" {
                    label for="search-q" { "Name, e-mail, phone, loyalty number, PNR, bag tag or flight number" }
                    div.search-row {
                        input #search-q type="search" name="q" value=(q) autocomplete="off";
                        button type="submit" { "Search" }
                    }
                }
                @if slow > 0 {
                    (kit::notice("Some sources did not answer in time; their results are missing. Try again.", kit::Tone::Warn))
                }
                @if q.is_empty() {
                    (kit::empty_state("Type what you know", "A name (\"mull\" finds Müller), an e-mail, a phone number in national or international form, a loyalty number, a PNR, a bag tag or a flight number.", None))
                } @else if hits.is_empty() {
                    (kit::empty_state(&format!("Nothing found for “{q}”"), "Check the spelling, or search by another detail you know. Only what your role may see is searched.", None))
                } @else {
                    p role="status" { (hits.len()) " found" }
                    @for kind in &kinds {
                        section.search-group aria-label=(kind) {
                            h2 { (kind) }
                            ul.hits {
                                @for hit in hits.iter().filter(|h| h.kind == *kind) {
                                    li {
                                        a href=(hit.href) { (hit.title) }
                                        @if !hit.detail.is_empty() { " " span.muted { (hit.detail) } }
                                    }
                                }
                            }
                        }
                    }
                }
            },
        ),
    )
}
