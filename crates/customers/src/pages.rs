//! Server-rendered customer pages: search, profile view, create and edit.
//!
//! One search box takes whatever the agent has — a name, an e-mail, a phone number, a loyalty or
//! passport number — and recognises which it is. With JavaScript, results update as the agent
//! types (htmx swaps only the results region, announced politely to screen readers); without it,
//! the form submits normally. Forms use the same validation as the API and show every error next
//! to its field plus a summary at the top that receives focus.

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Map, Value};

use aloft_authz::{Access, CSRF_FIELD, RoutePolicy};
use aloft_web::kit::{self, Crumb, Tab, Tone};
use aloft_web::{Placement, RecordView, Section, layout, page};

use crate::disclosure::Disclosure;
use aloft_kernel::{AccessContext, FieldError};

use crate::model::{
    Channel, CustomerId, DeviceType, Gender, LoyaltyTier, MEAL_CODES, PhoneNumber, Profile,
    SSR_CODES, SeatPreference,
};
use crate::storage::{Customer, CustomerError, CustomerQuery, CustomerStore, Reader};

/// The customers section of the workspace.
pub const SECTION: Section = Section::new("customers");

/// Who may open the customer pages.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new(
        "GET",
        "/customers",
        Access::Permission(crate::permissions::CUSTOMER_READ),
    ),
    RoutePolicy::new(
        "GET",
        "/customers/results",
        Access::Permission(crate::permissions::CUSTOMER_READ),
    ),
    RoutePolicy::new(
        "GET",
        "/customers/new",
        Access::Permission(crate::permissions::CUSTOMER_WRITE),
    ),
    RoutePolicy::new(
        "POST",
        "/customers/new",
        Access::Permission(crate::permissions::CUSTOMER_WRITE),
    ),
    RoutePolicy::new(
        "GET",
        "/customers/{id}",
        Access::Permission(crate::permissions::CUSTOMER_READ),
    ),
    RoutePolicy::new(
        "GET",
        "/customers/{id}/edit",
        Access::Permission(crate::permissions::CUSTOMER_WRITE),
    ),
    RoutePolicy::new(
        "POST",
        "/customers/{id}/edit",
        Access::Permission(crate::permissions::CUSTOMER_WRITE),
    ),
];

/// The customer pages.
pub fn routes(store: CustomerStore) -> Router {
    Router::new()
        .route("/customers", get(search_page))
        .route("/customers/results", get(results_fragment))
        .route("/customers/new", get(new_form).post(create))
        .route("/customers/{id}", get(view))
        .route("/customers/{id}/edit", get(edit_form).post(save))
        .with_state(store)
}

#[derive(Debug, Deserialize)]
struct SearchForm {
    #[serde(default)]
    q: String,
}

/// Country calling codes tried for a phone number typed in national form (`050 123 4567`,
/// `0171 5550100`): the markets of the demo airline's network. Numbers typed in international form
/// (`+44…`, `0044…`) need no guess.
const NATIONAL_CALLING_CODES: &[&str] = &[
    "971", "44", "49", "33", "34", "39", "31", "41", "43", "1", "91", "966", "974", "65", "61",
    "81", "86", "27", "20", "90",
];

/// Recognises what the agent typed: e-mail, phone, a document/loyalty number, or a name.
pub(crate) fn interpret(q: &str) -> Vec<CustomerQuery> {
    let q = q.trim();
    let base = CustomerQuery {
        limit: 25,
        ..Default::default()
    };
    if q.is_empty() {
        return vec![];
    }
    if q.contains('@') {
        return vec![CustomerQuery {
            email: Some(q.to_lowercase()),
            ..base
        }];
    }
    let digits = q.chars().filter(char::is_ascii_digit).count();
    let mut out = Vec::new();
    if q.starts_with('+')
        || (digits >= 7 && q.chars().all(|c| c.is_ascii_digit() || " -().".contains(c)))
    {
        let bare: String = q.chars().filter(char::is_ascii_digit).collect();
        let candidates: Vec<String> = if q.starts_with('+') {
            vec![q.to_owned()]
        } else if let Some(international) = bare.strip_prefix("00") {
            // 00 is the international call prefix in most of the world.
            vec![format!("+{international}")]
        } else if let Some(national) = bare.strip_prefix('0') {
            // A national number (trunk prefix 0): the country is not typed, so try the
            // airline's markets; each try is one exact index lookup.
            NATIONAL_CALLING_CODES
                .iter()
                .map(|cc| format!("+{cc}{national}"))
                .collect()
        } else {
            vec![format!("+{bare}")]
        };
        let phones: Vec<CustomerQuery> = candidates
            .iter()
            .filter_map(|c| PhoneNumber::parse(c).ok())
            .map(|p| CustomerQuery {
                phone: Some(p.as_str().to_owned()),
                ..base.clone()
            })
            .collect();
        // Phone first; a number that is also a loyalty number is tried next.
        out.extend(phones);
    }
    let compact: String = q
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if digits > 0 && compact.chars().all(|c| c.is_ascii_alphanumeric()) {
        out.push(CustomerQuery {
            loyalty_number: Some(compact.clone()),
            ..base.clone()
        });
        out.push(CustomerQuery {
            passport_number: Some(compact),
            ..base.clone()
        });
    }
    if digits == 0 {
        out.push(CustomerQuery {
            name: Some(q.to_owned()),
            ..base
        });
    }
    out
}

async fn find(store: &CustomerStore, q: &str) -> Result<Vec<Customer>, CustomerError> {
    let principal = aloft_authz::current_principal();
    for query in interpret(q) {
        let page = store
            .search(&query, Reader::request(principal.as_ref()))
            .await?;
        if !page.items.is_empty() {
            return Ok(page.items);
        }
    }
    Ok(vec![])
}

fn results(q: &str, found: &Result<Vec<Customer>, CustomerError>) -> Markup {
    html! {
        @match found {
            _ if q.trim().is_empty() => p.muted { "Type at least a few letters of a name, or an exact e-mail, phone, loyalty or passport number." },
            Err(_) => p role="alert" { "Search is unavailable right now. Please try again in a moment." },
            Ok(items) if items.is_empty() => p { "No customer matches this search." },
            Ok(items) => {
                p { (items.len()) @if items.len() == 25 { "+" } " customer(s) found." }
                div.table-wrap {
                    table {
                        caption.muted { "Search results" }
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Loyalty" } th scope="col" { "E-mail" } th scope="col" { "Home airport" } } }
                        tbody {
                            @for c in items {
                                tr {
                                    td { a href={ "/customers/" (c.id) } { (c.profile.display_name()) } }
                                    td { (opt(c.profile.loyalty_number.as_ref())) " " @if let Some(t) = c.profile.loyalty_tier { span.tag { (t.as_str()) } } }
                                    td { (opt(c.profile.email.as_ref())) }
                                    td { (opt(c.profile.location.as_ref().and_then(|l| l.home_airport.as_ref()))) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn opt<T: std::fmt::Display>(v: Option<&T>) -> String {
    v.map(ToString::to_string).unwrap_or_else(|| "—".into())
}

async fn search_page(
    State(store): State<CustomerStore>,
    ctx: AccessContext,
    Query(form): Query<SearchForm>,
) -> Response {
    let found = match find(&store, &form.q).await {
        // Shown only once the search is in the audit trail.
        Ok(items) => match store
            .record_reads(&ctx, crate::events::audit::CUSTOMER_SEARCH, &items)
            .await
        {
            Ok(()) => Ok(items),
            Err(e) => Err(e.into()),
        },
        Err(e) => Err(e),
    };
    let status = if found.is_err() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    page(
        status,
        layout(
            "Customers",
            crate::pages::SECTION,
            html! {
                h1 { "Customers" }
                p { a href="/customers/new" role="button" { "New customer" } }
                form role="search" method="get" action="/customers" {
                    label for="q" { "Find a customer" }
                    input #q type="search" name="q" value=(form.q) autocomplete="off"
                        aria-describedby="q-hint"
                        hx-get="/customers/results" hx-trigger="input changed delay:250ms, search"
                        hx-target="#results" hx-push-url="false";
                    small #q-hint { "Name (accents optional), e-mail, phone, loyalty or passport number." }
                    button type="submit" { "Search" }
                }
                section #results aria-live="polite" aria-label="Search results" {
                    (results(&form.q, &found))
                }
            },
        ),
    )
}

async fn results_fragment(
    State(store): State<CustomerStore>,
    ctx: AccessContext,
    Query(form): Query<SearchForm>,
) -> Response {
    let found = match find(&store, &form.q).await {
        // Shown only once the search is in the audit trail.
        Ok(items) => match store
            .record_reads(&ctx, crate::events::audit::CUSTOMER_SEARCH, &items)
            .await
        {
            Ok(()) => Ok(items),
            Err(e) => Err(e.into()),
        },
        Err(e) => Err(e),
    };
    page(StatusCode::OK, results(&form.q, &found))
}

fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        layout(
            "Customer not found",
            crate::pages::SECTION,
            html! {
                h1 { "Customer not found" }
                p { "No customer has this id. " a href="/customers" { "Search customers" } "." }
            },
        ),
    )
}

fn unavailable() -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        layout(
            "Temporarily unavailable",
            crate::pages::SECTION,
            html! {
                h1 { "Temporarily unavailable" }
                p { "The customer database cannot be reached right now. Nothing was lost; please try again in a moment." }
            },
        ),
    )
}

/// The customer, if it exists and the signed-in principal's row scope includes it (a check-in
/// agent sees only passengers departing from their station; others get "not found").
async fn load(store: &CustomerStore, id: &str) -> Result<Customer, Response> {
    let id = CustomerId::parse(id).ok_or_else(not_found)?;
    let principal = aloft_authz::current_principal();
    match store.visible(Reader::request(principal.as_ref()), id).await {
        Ok(true) => {}
        Ok(false) => return Err(not_found()),
        Err(_) => return Err(unavailable()),
    }
    match store.get(id).await {
        Ok(Some(c)) => Ok(c),
        Ok(None) => Err(not_found()),
        Err(_) => Err(unavailable()),
    }
}

/// The tab of the 360° page the customers module draws itself.
const OVERVIEW: &str = "overview";

/// Whether an SSR code is about reduced mobility or another assistance need (PRM), as opposed
/// to a pet or an unaccompanied minor: PRM codes get the warning tone in the header.
fn is_prm(code: &str) -> bool {
    code.starts_with("WC")
        || matches!(
            code,
            "BLND" | "DEAF" | "DPNA" | "MAAS" | "MEDA" | "OXYG" | "STCR"
        )
}

/// The customer 360° page: a header with who the passenger is and what to watch for (tier,
/// SSR/PRM, special meal, contact preferences, and the header alerts other modules contribute —
/// next flight, open disruptions), quick actions, then tabs: the overview drawn here and every
/// tab other modules contribute (timeline, travel, interactions, suggestions, sources). Each tab
/// has its own address (`?tab=`).
async fn view(
    State(store): State<CustomerStore>,
    ctx: AccessContext,
    Path(id): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let c = match load(&store, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Some(survivor) = c.merged_into {
        return axum::response::Redirect::to(&format!("/customers/{survivor}")).into_response();
    }
    if store
        .record_reads(
            &ctx,
            crate::events::audit::CUSTOMER_READ,
            std::slice::from_ref(&c),
        )
        .await
        .is_err()
    {
        return unavailable();
    }
    let Some(principal) = aloft_authz::current_principal() else {
        return not_found();
    };
    let workspace = aloft_web::workspace::current();
    let tab = query
        .iter()
        .find(|(k, _)| k == "tab")
        .map(|(_, v)| v.as_str())
        .unwrap_or(OVERVIEW)
        .to_string();
    let views: Vec<&RecordView> = workspace
        .record_views("customer", Placement::Tab, Some(&principal))
        .collect();
    let chosen = views.iter().find(|v| v.id == tab);
    if tab != OVERVIEW && chosen.is_none() {
        return not_found();
    }
    let customer_id = c.id.to_string();
    let header_views: Vec<&RecordView> = workspace
        .record_views("customer", Placement::Header, Some(&principal))
        .collect();
    let header_items = futures_util::future::join_all(
        header_views
            .iter()
            .map(|v| (v.render)(principal.clone(), customer_id.clone(), query.clone())),
    );
    let body = async {
        match chosen {
            Some(v) => (v.render)(principal.clone(), customer_id.clone(), query.clone()).await,
            None => overview(&c),
        }
    };
    let (header_items, body) = tokio::join!(header_items, body);
    let p = &c.profile;
    let prefs = &p.preferences;
    let base = format!("/customers/{}", c.id);
    let mut tab_links: Vec<(String, &str, bool)> =
        vec![(base.clone(), "Overview", tab == OVERVIEW)];
    for v in &views {
        tab_links.push((format!("{base}?tab={}", v.id), v.label, v.id == tab));
    }
    let tabs: Vec<Tab<'_>> = tab_links
        .iter()
        .map(|(href, label, current)| Tab {
            label,
            href,
            current: *current,
        })
        .collect();
    let can_write = principal.can(crate::permissions::CUSTOMER_WRITE);
    let can_log = workspace
        .record_views("customer", Placement::Tab, Some(&principal))
        .any(|v| v.id == "interactions");
    let title = p.display_name();
    let subtitle = html! {
        span.badges {
            @if let Some(tier) = p.loyalty_tier {
                (kit::badge(&format!("{} tier", capitalise(tier.as_str())), Tone::Info)) " "
            }
            @for code in &prefs.special_service_requests {
                (kit::badge_titled(code.as_str(), code.describe(), if is_prm(code.as_str()) { Tone::Warn } else { Tone::Neutral })) " "
            }
            @if let Some(meal) = &prefs.meal {
                (kit::badge_titled(meal.as_str(), meal.describe(), Tone::Neutral)) " "
            }
        }
        span.contact-prefs {
            @if let Some(ch) = prefs.communication_channel { "Prefers " (ch.as_str()) }
            @if let Some(lang) = &prefs.language { " · speaks " (lang) }
            @if let Some(n) = &p.loyalty_number { " · " (n) }
        }
    };
    let actions = html! {
        @if can_log {
            a role="button" href={ (base) "?tab=interactions#log" } { "Log an interaction" }
        }
        @if can_write {
            a.secondary role="button" href={ (base) "/edit" } { "Edit profile" }
        }
    };
    page(
        StatusCode::OK,
        layout(
            &title,
            crate::pages::SECTION,
            html! {
                div.record-header {
                    (kit::page_header(&[Crumb { label: "Customers", href: "/customers" }], &title, Some(subtitle), Some(actions)))
                    @if header_items.iter().any(|m| !m.0.is_empty()) {
                        div.record-alerts aria-label="At a glance" role="group" {
                            @for item in &header_items { (item) }
                        }
                    }
                }
                (kit::tabs("Customer views", &tabs))
                (body)
            },
        ),
    )
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|f| f.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The overview tab: the profile's facts, grouped as an agent reads them.
fn overview(c: &Customer) -> Markup {
    let disclosure = Disclosure::current();
    let p = &c.profile;
    let prefs = &p.preferences;
    let text = |v: Option<String>| kit::or_dash(v);
    let address = p.address.as_ref().map(|a| {
        [
            Some(a.line1.to_string()),
            a.line2.as_ref().map(ToString::to_string),
            Some(a.city.to_string()),
            a.region.as_ref().map(ToString::to_string),
            a.postal_code.as_ref().map(ToString::to_string),
            Some(a.country.to_string()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
    });
    let ssrs = (!prefs.special_service_requests.is_empty()).then(|| {
        prefs
            .special_service_requests
            .iter()
            .map(|c| format!("{c} ({})", c.describe()))
            .collect::<Vec<_>>()
            .join("; ")
    });
    let device = p.device.as_ref().map(|d| {
        [
            d.device_type.map(|t| t.as_str().to_string()),
            d.os.as_ref().map(ToString::to_string),
            d.browser.as_ref().map(ToString::to_string),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
    });
    let location = p.location.as_ref().map(|l| {
        [
            l.city.as_ref().map(ToString::to_string),
            l.country.as_ref().map(ToString::to_string),
            l.home_airport.as_ref().map(|a| format!("home airport {a}")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
    });
    let passport = p.passport_number.as_ref().map(|v| {
        if disclosure.shows("passport_number") {
            v.as_str().to_owned()
        } else {
            crate::disclosure::mask(v.as_str())
        }
    });
    html! {
        div.overview {
            section aria-labelledby="h-identity" {
                h2 #h-identity { "Identity" }
                (kit::facts(&[
                    ("Title", text(p.title.as_ref().map(ToString::to_string))),
                    ("First name", text(Some(p.first_name.to_string()))),
                    ("Middle name", text(p.middle_name.as_ref().map(ToString::to_string))),
                    ("Last name", text(Some(p.last_name.to_string()))),
                    ("Gender", text(p.gender.map(|g| g.as_str().to_string()))),
                    ("Date of birth", text(p.date_of_birth.map(|d| d.to_string()))),
                    ("Nationality", text(p.nationality.as_ref().map(ToString::to_string))),
                ]))
            }
            section aria-labelledby="h-contact" {
                h2 #h-contact { "Contact" }
                (kit::facts(&[
                    ("E-mail", text(p.email.as_ref().map(ToString::to_string))),
                    ("Phone", text(p.phone.as_ref().map(ToString::to_string))),
                    ("Address", text(address)),
                    ("Preferred channel", text(prefs.communication_channel.map(|c| c.as_str().to_string()))),
                    ("Language", text(prefs.language.as_ref().map(ToString::to_string))),
                ]))
            }
            section aria-labelledby="h-travel" {
                h2 #h-travel { "Loyalty and documents" }
                (kit::facts(&[
                    ("Loyalty number", text(p.loyalty_number.as_ref().map(ToString::to_string))),
                    ("Tier", text(p.loyalty_tier.map(|t| capitalise(t.as_str())))),
                    ("Passport number", text(passport)),
                    ("Passport expiry", text(p.passport_expiry.map(|d| d.to_string()))),
                ]))
            }
            section aria-labelledby="h-prefs" {
                h2 #h-prefs { "Preferences" }
                (kit::facts(&[
                    ("Seat", text(prefs.seat.map(|v| v.as_str().replace('_', " ")))),
                    ("Meal", text(prefs.meal.as_ref().map(|m| format!("{m} ({})", m.describe())))),
                    ("Drink", text(prefs.drink.as_ref().map(ToString::to_string))),
                    ("Special service", text(ssrs)),
                ]))
            }
            section aria-labelledby="h-digital" {
                h2 #h-digital { "Digital footprint" }
                (kit::facts(&[
                    ("Device", text(device)),
                    ("Location", text(location)),
                ]))
            }
            section.wide aria-labelledby="h-sources" {
                h2 #h-sources { "Sources and merges" }
                div #sources hx-get={ "/customers/" (c.id) "/sources" } hx-trigger="load" hx-swap="innerHTML" {
                    p { a href={ "/customers/" (c.id) "/sources" } { "Open the source records" } }
                }
            }
            p.muted { small { "Profile version " (c.version) " · created " (c.created_at.format("%Y-%m-%d %H:%M UTC")) " · updated " (c.updated_at.format("%Y-%m-%d %H:%M UTC")) } }
        }
    }
}

/// Form field names: JSON pointer segments joined with dots (`address.line1`).
const TEXT_FIELDS: &[(&str, &str, &str, &str)] = &[
    // (name, label, input type, autocomplete)
    ("title", "Title", "text", "honorific-prefix"),
    ("first_name", "First name", "text", "given-name"),
    ("middle_name", "Middle name", "text", "additional-name"),
    ("last_name", "Last name", "text", "family-name"),
    ("date_of_birth", "Date of birth", "date", "bday"),
    (
        "nationality",
        "Nationality (ISO country code, e.g. AE)",
        "text",
        "off",
    ),
    ("email", "E-mail", "email", "email"),
    (
        "phone",
        "Phone (international, e.g. +971 4 555 0100)",
        "tel",
        "tel",
    ),
    ("passport_number", "Passport number", "text", "off"),
    ("passport_expiry", "Passport expiry", "date", "off"),
    ("loyalty_number", "Loyalty number", "text", "off"),
    ("address.line1", "Address line 1", "text", "address-line1"),
    ("address.line2", "Address line 2", "text", "address-line2"),
    ("address.city", "City", "text", "address-level2"),
    (
        "address.region",
        "Region or state",
        "text",
        "address-level1",
    ),
    ("address.postal_code", "Postal code", "text", "postal-code"),
    ("address.country", "Country (ISO code)", "text", "country"),
    ("preferences.drink", "Preferred drink", "text", "off"),
    (
        "preferences.language",
        "Language (e.g. en, ar, zh-Hans)",
        "text",
        "off",
    ),
    ("device.os", "Operating system", "text", "off"),
    ("device.browser", "Browser or app", "text", "off"),
    ("location.city", "City (location)", "text", "off"),
    (
        "location.country",
        "Country (location, ISO code)",
        "text",
        "off",
    ),
    (
        "location.home_airport",
        "Home airport (IATA code)",
        "text",
        "off",
    ),
];

/// Whether form field `name` belongs in the fieldset of `group` (a name prefix; device and
/// location share one fieldset).
fn in_group(group: &str, name: &str) -> bool {
    match group {
        "" => !name.contains('.'),
        "device." => name.starts_with("device.") || name.starts_with("location."),
        prefix => name.starts_with(prefix),
    }
}

fn field_id(name: &str) -> String {
    format!("f-{}", name.replace(['.', '_'], "-"))
}

fn pointer_to_name(pointer: &str) -> String {
    let mut parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    // Errors inside the SSR list belong to the list's fieldset.
    if parts.len() == 3 && parts[1] == "special_service_requests" {
        parts.pop();
    }
    parts.join(".")
}

/// The current form values by field name, from a profile document.
fn values_of(doc: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    if let Value::Object(top) = doc {
        for (k, v) in top {
            match v {
                Value::Object(inner) => {
                    for (ik, iv) in inner {
                        out.insert(format!("{k}.{ik}"), iv.clone());
                    }
                }
                other => {
                    out.insert(k.clone(), other.clone());
                }
            }
        }
    }
    out
}

/// Turns submitted form pairs into a full profile document (empty inputs are omitted).
fn document_from_form(pairs: &[(String, String)]) -> Value {
    let mut doc = Map::new();
    let mut ssrs = Vec::new();
    for (name, value) in pairs {
        let v = value.trim();
        if v.is_empty() || name == "version" || name == "confirm_new" || name == CSRF_FIELD {
            continue;
        }
        if name == "preferences.special_service_requests" {
            ssrs.push(Value::String(v.to_owned()));
            continue;
        }
        match name.split_once('.') {
            Some((outer, inner)) => {
                let entry = doc
                    .entry(outer.to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = entry {
                    m.insert(inner.to_owned(), Value::String(v.to_owned()));
                }
            }
            None => {
                doc.insert(name.clone(), Value::String(v.to_owned()));
            }
        }
    }
    if !ssrs.is_empty() {
        let prefs = doc
            .entry("preferences")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = prefs {
            m.insert("special_service_requests".into(), Value::Array(ssrs));
        }
    }
    Value::Object(doc)
}

fn select(
    name: &str,
    label: &str,
    options: &[(&str, String)],
    current: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let id = field_id(name);
    html! {
        label for=(id) { (label) }
        select #(id) name=(name) aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| format!("{id}-error"))] {
            option value="" { "—" }
            @for (value, text) in options {
                option value=(value) selected[current == Some(*value)] { (text) }
            }
        }
        @if let Some(e) = error { span.field-error #{ (id) "-error" } { (e) } }
    }
}

fn choices<T: Copy>(all: &[T], text: impl Fn(T) -> &'static str) -> Vec<(&'static str, String)> {
    all.iter()
        .map(|v| (text(*v), text(*v).replace('_', " ")))
        .collect()
}

fn form_page(
    title: &str,
    action: &str,
    values: &Map<String, Value>,
    errors: &[FieldError],
    version: Option<i64>,
    notice: Option<&str>,
) -> Markup {
    let disclosure = Disclosure::current();
    let error_for = |name: &str| -> Option<String> {
        let msgs: Vec<&str> = errors
            .iter()
            .filter(|e| pointer_to_name(&e.pointer) == name)
            .map(|e| e.detail.as_str())
            .collect();
        (!msgs.is_empty()).then(|| msgs.join("; "))
    };
    let text = |name: &str| {
        values
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let ssrs: Vec<String> = values
        .get("preferences.special_service_requests")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let meals: Vec<(&str, String)> = MEAL_CODES
        .iter()
        .map(|(c, d)| (*c, format!("{c} — {d}")))
        .collect();
    html! {
        h1 { (title) }
        @if let Some(n) = notice {
            div.error-summary role="alert" { p { (n) } }
        }
        @if !errors.is_empty() {
            div.error-summary #error-summary tabindex="-1" role="alert" aria-labelledby="error-summary-title" {
                h2 #error-summary-title { "Please correct " (errors.len()) " field(s)" }
                ul {
                    @for e in errors {
                        @let name = pointer_to_name(&e.pointer);
                        li { a href={ "#" (field_id(&name)) } { (if name.is_empty() { "Form".to_owned() } else { name.replace(['.', '_'], " ") }) ": " (e.detail) } }
                    }
                }
            }
        }
        form method="post" action=(action) novalidate {
            (aloft_web::csrf_field())
            @if values.get("confirm_new").and_then(Value::as_str) == Some("offer") {
                label.confirm-new for="confirm-new" {
                    input #confirm-new type="checkbox" name="confirm_new" value="yes";
                    " I checked: this is a different person — create a new profile"
                }
            }
            @if let Some(v) = version { input type="hidden" name="version" value=(v); }
            @for (group, legend) in [("", "Identity and contact"), ("address.", "Postal address"), ("preferences.", "Preferences"), ("device.", "Device and location")] {
                fieldset {
                    legend { strong { (legend) } }
                    @if group.is_empty() {
                        (select("gender", "Gender", &choices(Gender::ALL, Gender::as_str), values.get("gender").and_then(Value::as_str), error_for("gender").as_deref()))
                        (select("loyalty_tier", "Loyalty tier", &choices(LoyaltyTier::ALL, LoyaltyTier::as_str), values.get("loyalty_tier").and_then(Value::as_str), error_for("loyalty_tier").as_deref()))
                    }
                    @if group == "preferences." {
                        (select("preferences.seat", "Seat", &choices(SeatPreference::ALL, SeatPreference::as_str), values.get("preferences.seat").and_then(Value::as_str), error_for("preferences.seat").as_deref()))
                        (select("preferences.meal", "Special meal", &meals, values.get("preferences.meal").and_then(Value::as_str), error_for("preferences.meal").as_deref()))
                        (select("preferences.communication_channel", "Preferred contact channel", &choices(Channel::ALL, Channel::as_str), values.get("preferences.communication_channel").and_then(Value::as_str), error_for("preferences.communication_channel").as_deref()))
                    }
                    @if group == "device." {
                        (select("device.device_type", "Device type", &choices(DeviceType::ALL, DeviceType::as_str), values.get("device.device_type").and_then(Value::as_str), error_for("device.device_type").as_deref()))
                    }
                    @for (name, label, kind, autocomplete) in TEXT_FIELDS.iter().filter(|(n, ..)| in_group(group, n)) {
                        @let id = field_id(name);
                        @let err = error_for(name);
                        @let required = matches!(*name, "first_name" | "last_name");
                        label for=(id) { (label) @if required { " (required)" } }
                        @if version.is_some() && !disclosure.shows(name) {
                            // Shown masked and not submitted: saving leaves it as it is.
                            input #(id) type="text" value=(crate::disclosure::mask(&text(name))) readonly aria-describedby={ (id) "-note" };
                            small #{ (id) "-note" } { "Only check-in agents and the data privacy officer see and change travel document numbers." }
                        } @else {
                            input #(id) type=(kind) name=(name) value=(text(name)) autocomplete=(autocomplete)
                                required[required]
                                aria-invalid=[err.as_ref().map(|_| "true")]
                                aria-describedby=[err.as_ref().map(|_| format!("{id}-error"))];
                        }
                        @if let Some(e) = &err { span.field-error #{ (id) "-error" } { (e) } }
                    }
                    @if group == "preferences." {
                        fieldset #(field_id("preferences.special_service_requests")) {
                            legend { "Special service requests" }
                            @for (code, description) in SSR_CODES {
                                @let id = format!("ssr-{code}");
                                label for=(id) {
                                    input #(id) type="checkbox" name="preferences.special_service_requests" value=(code) checked[ssrs.iter().any(|s| s == code)];
                                    (code) " — " (description)
                                }
                            }
                            @if let Some(e) = error_for("preferences.special_service_requests") { span.field-error { (e) } }
                        }
                    }
                }
            }
            button type="submit" { "Save" }
        }
    }
}

async fn new_form() -> Response {
    page(
        StatusCode::OK,
        layout(
            "New customer",
            crate::pages::SECTION,
            form_page(
                "New customer",
                "/customers/new",
                &Map::new(),
                &[],
                None,
                None,
            ),
        ),
    )
}

async fn create(
    State(store): State<CustomerStore>,
    ctx: AccessContext,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let doc = document_from_form(&pairs);
    let confirmed = pairs.iter().any(|(k, v)| k == "confirm_new" && v == "yes");
    let result = match Profile::parse(&doc, chrono::Utc::now().date_naive()) {
        Ok(profile) => {
            if !confirmed {
                let principal = aloft_authz::current_principal();
                match crate::duplicates::possible_duplicates(
                    &store,
                    Reader::request(principal.as_ref()),
                    &profile,
                )
                .await
                {
                    Ok(found) if !found.is_empty() => {
                        return duplicate_warning(&store, &ctx, &doc, &found).await;
                    }
                    Ok(_) => {}
                    Err(_) => return unavailable(),
                }
            }
            store.create(profile, &ctx).await
        }
        Err(errors) => Err(CustomerError::Invalid(errors)),
    };
    match result {
        Ok(c) => Redirect::to(&format!("/customers/{}", c.id)).into_response(),
        Err(e) => {
            let (status, errors) = form_errors(e);
            let markup = form_page(
                "New customer",
                "/customers/new",
                &values_of(&doc),
                &errors,
                None,
                None,
            );
            page(
                status,
                layout("New customer", crate::pages::SECTION, markup),
            )
        }
    }
}

/// The form again, above it the profiles that may be the same person (audited as a search),
/// each with the evidence and a link, and the choice to create the new profile anyway.
async fn duplicate_warning(
    store: &CustomerStore,
    ctx: &AccessContext,
    doc: &Value,
    found: &[crate::duplicates::PossibleDuplicate],
) -> Response {
    let shown: Vec<Customer> = found.iter().map(|d| d.customer.clone()).collect();
    if store
        .record_reads(ctx, crate::events::audit::CUSTOMER_SEARCH, &shown)
        .await
        .is_err()
    {
        return unavailable();
    }
    let warning = html! {
        section.duplicate-warning #duplicates role="alert" aria-labelledby="dup-title" tabindex="-1" {
            h2 #dup-title { "This passenger may already have a profile" }
            p { "Open the existing profile instead of creating a second one, or confirm below that this is a different person." }
            ul {
                @for d in found {
                    li {
                        a href={ "/customers/" (d.customer.id) } { (d.customer.profile.display_name()) }
                        " — " (format!("{:.0} %", d.probability * 100.0)) " likely the same person"
                        @if !d.evidence.is_empty() { br; small.muted { "Agrees on: " (d.evidence) } }
                    }
                }
            }
        }
    };
    let mut values = values_of(doc);
    values.insert("confirm_new".into(), Value::String("offer".into()));
    let markup = html! {
        (warning)
        (form_page("New customer", "/customers/new", &values, &[], None, None))
    };
    page(
        StatusCode::CONFLICT,
        layout("New customer", crate::pages::SECTION, markup),
    )
}

fn form_errors(e: CustomerError) -> (StatusCode, Vec<FieldError>) {
    match e {
        CustomerError::Invalid(errs) => (StatusCode::UNPROCESSABLE_ENTITY, errs),
        CustomerError::Duplicate(err) => (StatusCode::CONFLICT, vec![err]),
        CustomerError::NotFound => (StatusCode::NOT_FOUND, vec![]),
        CustomerError::StaleVersion => (StatusCode::PRECONDITION_FAILED, vec![]),
        CustomerError::Merged(survivor) => (
            StatusCode::CONFLICT,
            vec![FieldError::new(
                "",
                format!("this profile was merged into customer {survivor}; edit that profile"),
            )],
        ),
        CustomerError::Storage(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            vec![FieldError::new(
                "",
                "the database is unavailable; nothing was saved, please try again",
            )],
        ),
    }
}

async fn edit_form(
    State(store): State<CustomerStore>,
    ctx: AccessContext,
    Path(id): Path<String>,
) -> Response {
    let c = match load(&store, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    if store
        .record_reads(
            &ctx,
            crate::events::audit::CUSTOMER_READ,
            std::slice::from_ref(&c),
        )
        .await
        .is_err()
    {
        return unavailable();
    }
    let title = format!("Edit {}", c.profile.display_name());
    let markup = form_page(
        &title,
        &format!("/customers/{}/edit", c.id),
        &values_of(&c.profile.to_document()),
        &[],
        Some(c.version),
        None,
    );
    page(
        StatusCode::OK,
        layout(&title, crate::pages::SECTION, markup),
    )
}

async fn save(
    State(store): State<CustomerStore>,
    ctx: AccessContext,
    Path(id): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let current = match load(&store, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let version = pairs
        .iter()
        .find(|(k, _)| k == "version")
        .and_then(|(_, v)| v.parse::<i64>().ok());
    let doc = document_from_form(&pairs);
    // The form holds every field: fields left empty are cleared (merge patch with nulls).
    let mut patch = doc.clone();
    let disclosure = Disclosure::current();
    if let Value::Object(p) = &mut patch {
        for field in crate::model::PROFILE_FIELDS {
            if disclosure.shows(field) {
                p.entry(field.to_string()).or_insert(Value::Null);
            } else {
                // Not shown to this agent, so not in their form: leave it untouched.
                p.remove(*field);
            }
        }
    }
    let today = chrono::Utc::now().date_naive();
    match store.update(current.id, version, &patch, today, &ctx).await {
        Ok(c) => Redirect::to(&format!("/customers/{}", c.id)).into_response(),
        Err(CustomerError::StaleVersion) => {
            // Show the latest values so the agent can re-apply their change knowingly.
            let latest = store
                .get(current.id)
                .await
                .ok()
                .flatten()
                .unwrap_or(current);
            let title = format!("Edit {}", latest.profile.display_name());
            let markup = form_page(
                &title,
                &format!("/customers/{}/edit", latest.id),
                &values_of(&latest.profile.to_document()),
                &[],
                Some(latest.version),
                Some(
                    "Someone else changed this profile while you were editing. The form now shows their version; please apply your change again.",
                ),
            );
            page(
                StatusCode::CONFLICT,
                layout(&title, crate::pages::SECTION, markup),
            )
        }
        Err(e) => {
            let (status, errors) = form_errors(e);
            let title = format!("Edit {}", current.profile.display_name());
            let markup = form_page(
                &title,
                &format!("/customers/{}/edit", current.id),
                &values_of(&doc),
                &errors,
                version,
                None,
            );
            page(status, layout(&title, crate::pages::SECTION, markup))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_box_recognises_what_was_typed() {
        assert!(interpret("Zoe@Example.com")[0].email.is_some());
        assert_eq!(
            interpret("+44 1632 960961")[0].phone.as_deref(),
            Some("+441632960961")
        );
        let doc = interpret("AL123456789");
        assert!(doc[0].loyalty_number.is_some() && doc[1].passport_number.is_some());
        assert_eq!(interpret("Müller")[0].name.as_deref(), Some("Müller"));
        assert!(interpret("   ").is_empty());
        // National form: the trunk 0 dropped, each market's calling code tried.
        let national = interpret("050 123 4567");
        assert!(
            national
                .iter()
                .any(|q| q.phone.as_deref() == Some("+971501234567")),
            "{national:?}"
        );
        assert_eq!(
            interpret("0044 1632 960961")[0].phone.as_deref(),
            Some("+441632960961")
        );
    }

    #[test]
    fn form_fields_become_a_profile_document() {
        let pairs: Vec<(String, String)> = [
            ("first_name", "Zoë"),
            ("last_name", "Ng"),
            ("address.city", "Paris"),
            ("email", " "),
            ("preferences.special_service_requests", "WCHR"),
            ("preferences.special_service_requests", "DEAF"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let doc = document_from_form(&pairs);
        assert_eq!(doc["address"]["city"], "Paris");
        assert!(doc.get("email").is_none());
        assert_eq!(
            doc["preferences"]["special_service_requests"],
            serde_json::json!(["WCHR", "DEAF"])
        );
        assert_eq!(
            pointer_to_name("/preferences/special_service_requests/1"),
            "preferences.special_service_requests"
        );
    }
}
