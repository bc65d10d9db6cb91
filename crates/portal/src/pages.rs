//! The signed-in pages: overview, profile and preferences, trips and timeline, sign-in
//! security. Every page shows the one customer of the session's row scope — no page takes a
//! customer id from the request — reads it through the customers store's own scope check, and
//! records the read in the audit trail before showing anything.

use std::sync::Arc;

use aloft_authz::{Principal, current_principal};
use aloft_customers::model::{Channel, MEAL_CODES, SeatPreference};
use aloft_customers::permissions::OWN_RECORD;
use aloft_customers::{Customer, CustomerError, CustomerId, Reader};
use aloft_kernel::{AccessContext, ApiError, StorageError};
use aloft_travel::{TimelineCursor, TimelineEntry, TimelineKind, TimelineQuery};
use aloft_web::kit::{
    self, FeedItem, Field, FieldKind, FormErrors, Tone, error_summary, facts, or_dash,
    redirect_with_notice,
};
use axum::Form;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::Utc;
use http::StatusCode;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::Portal;
use crate::shell::{Place, csrf_field, layout, page};

/// What a passenger may see of their own timeline: their travel, not staff's notes of calls.
const PASSENGER_KINDS: &[TimelineKind] = &[
    TimelineKind::Flight,
    TimelineKind::Ancillary,
    TimelineKind::Purchase,
    TimelineKind::PostOrder,
    TimelineKind::Feedback,
    TimelineKind::LoungeVisit,
    TimelineKind::ChauffeurRide,
    TimelineKind::Baggage,
];

/// The signed-in passenger and their customer id (from the session's row scope only).
fn own() -> Result<(Principal, CustomerId), ApiError> {
    let p = current_principal().ok_or(ApiError::NotFound("customer"))?;
    let id = p
        .scope
        .value_of(OWN_RECORD)
        .and_then(CustomerId::parse)
        .ok_or(ApiError::NotFound("customer"))?;
    Ok((p, id))
}

/// The passenger's own profile, through the store's row scope, its read audited first.
async fn load(portal: &Portal, ctx: &AccessContext) -> Result<(Principal, Customer), ApiError> {
    let (p, id) = own()?;
    if !portal.customers.visible(Reader::Principal(&p), id).await? {
        return Err(ApiError::NotFound("customer"));
    }
    let customer = portal
        .customers
        .get(id)
        .await?
        .ok_or(ApiError::NotFound("customer"))?;
    portal
        .customers
        .record_reads(
            ctx,
            aloft_customers::events::audit::CUSTOMER_READ_OWN,
            std::slice::from_ref(&customer),
        )
        .await?;
    Ok((p, customer))
}

/// A page of the passenger's own timeline, its read audited first.
async fn timeline(
    portal: &Portal,
    ctx: &AccessContext,
    customer: CustomerId,
    query: &TimelineQuery,
) -> Result<aloft_travel::TimelinePage, ApiError> {
    let page = portal.travel.timeline(customer, query).await?;
    if let Some(auditor) = &portal.auditor {
        auditor
            .record(ctx.entry(
                aloft_travel::events::audit::CUSTOMER_TIMELINE_READ,
                "customer",
                Some(customer.to_string()),
                vec!["timeline".into()],
                "success",
            ))
            .await
            .map_err(StorageError::from)?;
    }
    Ok(page)
}

fn when(entry: &TimelineEntry) -> String {
    entry
        .occurred_at
        .format("%a %-d %b %Y, %H:%M UTC")
        .to_string()
}

fn tier_badge(c: &Customer) -> Markup {
    match c.profile.loyalty_tier {
        Some(t) => kit::badge(&format!("{} member", capitalise(t.as_str())), Tone::Info),
        None => kit::badge("Member", Tone::Neutral),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn name_of(c: &Customer) -> String {
    format!("{} {}", c.profile.first_name, c.profile.last_name)
}

/// The upcoming flights (soonest first) and the most recent past ones.
async fn flights(
    portal: &Portal,
    ctx: &AccessContext,
    customer: CustomerId,
) -> Result<(Vec<TimelineEntry>, Vec<TimelineEntry>), ApiError> {
    let now = Utc::now();
    let mut upcoming_q = TimelineQuery::newest(100).of_kinds(&[TimelineKind::Flight]);
    upcoming_q.from = Some(now);
    let mut upcoming = timeline(portal, ctx, customer, &upcoming_q).await?.entries;
    upcoming.reverse();
    let mut past_q = TimelineQuery::newest(20).of_kinds(&[TimelineKind::Flight]);
    past_q.to = Some(now);
    let past = portal.travel.timeline(customer, &past_q).await?.entries;
    Ok((upcoming, past))
}

/// `GET /my`.
pub async fn home(
    State(portal): State<Arc<Portal>>,
    ctx: AccessContext,
) -> Result<Response, ApiError> {
    let (_, c) = load(&portal, &ctx).await?;
    let (upcoming, _) = flights(&portal, &ctx, c.id).await?;
    let next = upcoming.first();
    let next_card = match next {
        Some(e) => segment_card(&portal, c.id, e).await?,
        None => None,
    };
    let body = html! {
        (kit::page_header(&[], &format!("Hello, {}", c.profile.first_name),
            Some(html! { (tier_badge(&c)) @if let Some(n) = &c.profile.loyalty_number { " · Loyalty number " (n.to_string()) } }),
            Some(html! { a role="button" href="/my/profile" { "Update my preferences" } })))
        div.portal-grid {
            (kit::panel("next-trip", "Your next trip", html! {
                @match next {
                    Some(e) => {
                        @if let Some(card) = &next_card { (card) } @else {
                            p.portal-next-when { time datetime=(e.occurred_at.to_rfc3339()) { (when(e)) } }
                            p { (e.summary) }
                        }
                        p { a href="/my/trips" { "All your trips" } }
                    }
                    None => (kit::empty_state("No upcoming flights", "When you book a flight with us, it appears here with its times and seat.", Some(html! { a href="/my/trips" { "See your past trips" } })))
                }
            }))
            (kit::panel("my-details", "Your details", facts(&[
                ("Name", html! { (name_of(&c)) }),
                ("E-mail", or_dash(c.profile.email.as_ref())),
                ("Phone", or_dash(c.profile.phone.as_ref())),
                ("Seat", or_dash(c.profile.preferences.seat.map(seat_label))),
                ("Meal", or_dash(c.profile.preferences.meal.as_ref().map(|m| m.to_string()))),
            ])))
            (aloft_web::portal::panels().await)
        }
    };
    Ok(page(
        StatusCode::OK,
        layout("My account", Place::Home, body),
    ))
}

/// A place as passengers know it: the city (or airport name) and its code.
fn place(code: &str) -> String {
    match aloft_travel::airports::lookup(code) {
        Some(a) if !a.city.is_empty() => format!("{} ({code})", a.city),
        Some(a) => format!("{} ({code})", a.name),
        None => code.to_owned(),
    }
}

/// The flight segment behind a timeline entry, in local times with their zones: flight, route,
/// departure and arrival, cabin, seat, gate, status, booking reference. `None` if the record is
/// not a booking of this customer.
async fn segment_card(
    portal: &Portal,
    customer: CustomerId,
    entry: &TimelineEntry,
) -> Result<Option<Markup>, ApiError> {
    let Some(stored) = portal.travel.get(entry.record.record_id).await? else {
        return Ok(None);
    };
    if stored.customer_id != Some(customer) {
        return Ok(None);
    }
    let aloft_travel::Record::Booking(booking) = &stored.record else {
        return Ok(None);
    };
    let ordinal: usize = entry
        .entry_id
        .rsplit('.')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let Some(seg) = booking.segments.get(ordinal) else {
        return Ok(None);
    };
    let local = |t: &aloft_travel::model::ScheduledTime| {
        format!(
            "{} ({})",
            t.local.format("%a %-d %b %Y, %H:%M"),
            t.zone.name()
        )
    };
    Ok(Some(html! {
        p.portal-next-when {
            (seg.flight_number.to_string()) " · " (place(seg.origin.as_str())) " → " (place(seg.destination.as_str()))
        }
        (facts(&[
            ("Departs", html! { time datetime=(seg.scheduled_departure.utc.to_rfc3339()) { (local(&seg.scheduled_departure)) } }),
            ("Arrives", html! { time datetime=(seg.scheduled_arrival.utc.to_rfc3339()) { (local(&seg.scheduled_arrival)) } }),
            ("Cabin", html! { (capitalise(&seg.cabin.as_str().replace('_', " "))) }),
            ("Seat", or_dash(seg.seat.as_ref().map(|s| s.to_string()))),
            ("Gate", or_dash(seg.gate.as_ref().map(|g| g.to_string()))),
            ("Status", html! { (capitalise(&seg.status.as_str().replace('_', " "))) }),
            ("Booking reference", html! { (booking.record_locator.to_string()) }),
        ]))
    }))
}

fn seat_label(s: SeatPreference) -> &'static str {
    match s {
        SeatPreference::Aisle => "Aisle",
        SeatPreference::Window => "Window",
        SeatPreference::Middle => "Middle",
        SeatPreference::NoPreference => "No preference",
    }
}

fn channel_label(c: Channel) -> &'static str {
    match c {
        Channel::Email => "E-mail",
        Channel::Sms => "Text message",
        Channel::Phone => "Phone call",
        Channel::Post => "Post",
        Channel::App => "App message",
    }
}

fn profile_page(
    status: StatusCode,
    c: &Customer,
    values: Option<&[(String, String)]>,
    errors: &FormErrors,
    message: Option<(&str, Tone)>,
) -> Response {
    let prefs = &c.profile.preferences;
    let address = c.profile.address.as_ref();
    let stored: Vec<(&str, Option<String>)> = vec![
        ("email", c.profile.email.as_ref().map(|e| e.to_string())),
        ("phone", c.profile.phone.as_ref().map(|p| p.to_string())),
        ("address.line1", address.map(|a| a.line1.to_string())),
        (
            "address.line2",
            address.and_then(|a| a.line2.as_ref().map(|l| l.to_string())),
        ),
        ("address.city", address.map(|a| a.city.to_string())),
        (
            "address.region",
            address.and_then(|a| a.region.as_ref().map(|r| r.to_string())),
        ),
        (
            "address.postal_code",
            address.and_then(|a| a.postal_code.as_ref().map(|p| p.to_string())),
        ),
        ("address.country", address.map(|a| a.country.to_string())),
        (
            "preferences.seat",
            prefs.seat.map(|s| s.as_str().to_owned()),
        ),
        (
            "preferences.meal",
            prefs.meal.as_ref().map(|m| m.to_string()),
        ),
        (
            "preferences.drink",
            prefs.drink.as_ref().map(|d| d.to_string()),
        ),
        (
            "preferences.language",
            prefs.language.as_ref().map(|l| l.to_string()),
        ),
        (
            "preferences.communication_channel",
            prefs.communication_channel.map(|ch| ch.as_str().to_owned()),
        ),
    ];
    let value = |name: &str| -> Option<String> {
        match values {
            Some(v) => v.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
            None => stored
                .iter()
                .find(|(k, _)| *k == name)
                .and_then(|(_, v)| v.clone()),
        }
    };
    let mut seats = vec![(String::new(), "No preference stated".to_owned())];
    seats.extend(
        SeatPreference::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), seat_label(*s).to_owned())),
    );
    let mut meals = vec![(String::new(), "Standard meal".to_owned())];
    meals.extend(
        MEAL_CODES
            .iter()
            .map(|(code, label)| ((*code).to_owned(), format!("{label} ({code})"))),
    );
    let mut channels = vec![(String::new(), "No preference stated".to_owned())];
    channels.extend(
        Channel::ALL
            .iter()
            .map(|ch| (ch.as_str().to_owned(), channel_label(*ch).to_owned())),
    );
    let body = html! {
        (kit::page_header(&[], "Profile and preferences",
            Some(html! { "Keep your contact details and travel preferences up to date. Names, travel documents and your membership are changed by our service team." }), None))
        @if let Some((m, tone)) = message { (kit::notice(m, tone)) }
        (error_summary(errors))
        section.portal-section aria-labelledby="about-you" {
            h2 #about-you { "About you" }
            (facts(&[
                ("Name", html! { (name_of(c)) }),
                ("Membership", tier_badge(c)),
                ("Loyalty number", or_dash(c.profile.loyalty_number.as_ref().map(|n| n.to_string()))),
            ]))
        }
        form.portal-form method="post" action="/my/profile" novalidate {
            (csrf_field())
            input type="hidden" name="version" value=(c.version);
            div.portal-fieldsets {
            fieldset {
                legend { "Contact details" }
                (Field::new("email", "E-mail address", FieldKind::Input("email")).autocomplete("email")
                    .hint("Where we write to you. You keep signing in with the address you signed up with.")
                    .value(value("email")).render(errors))
                (Field::new("phone", "Phone number", FieldKind::Input("tel")).autocomplete("tel")
                    .hint("With the country code, e.g. +44 20 7946 0000.").value(value("phone")).render(errors))
                (Field::new("preferences.communication_channel", "How should we contact you?", FieldKind::Select(channels))
                    .value(value("preferences.communication_channel")).render(errors))
                (Field::text("preferences.language", "Language for service and messages").autocomplete("language")
                    .hint("A language code such as en, de, fr or pt-BR.").value(value("preferences.language")).render(errors))
            }
            fieldset {
                legend { "Postal address" }
                (Field::text("address.line1", "Street and number").autocomplete("address-line1")
                    .value(value("address.line1")).render(errors))
                (Field::text("address.line2", "Flat, building, c/o").autocomplete("address-line2")
                    .value(value("address.line2")).render(errors))
                (Field::text("address.city", "City or town").autocomplete("address-level2")
                    .value(value("address.city")).render(errors))
                (Field::text("address.region", "State, province or county").autocomplete("address-level1")
                    .value(value("address.region")).render(errors))
                (Field::text("address.postal_code", "Postal code").autocomplete("postal-code")
                    .value(value("address.postal_code")).render(errors))
                (Field::text("address.country", "Country").autocomplete("country")
                    .hint("Two-letter code, e.g. GB, DE, AE.").value(value("address.country")).render(errors))
            }
            fieldset {
                legend { "On board" }
                (Field::new("preferences.seat", "Seat", FieldKind::Select(seats))
                    .value(value("preferences.seat")).render(errors))
                (Field::new("preferences.meal", "Meal", FieldKind::Select(meals))
                    .value(value("preferences.meal")).render(errors))
                (Field::text("preferences.drink", "Favourite drink").hint("In your own words, e.g. sparkling water.")
                    .value(value("preferences.drink")).render(errors))
            }
            }
            button type="submit" { "Save changes" }
        }
    };
    page(
        status,
        layout("Profile and preferences", Place::Profile, body),
    )
}

/// `GET /my/profile`.
pub async fn profile(
    State(portal): State<Arc<Portal>>,
    ctx: AccessContext,
) -> Result<Response, ApiError> {
    let (_, c) = load(&portal, &ctx).await?;
    Ok(profile_page(
        StatusCode::OK,
        &c,
        None,
        &FormErrors::new(),
        None,
    ))
}

/// The patch value of form field `name`: its text, `null` when left blank (removes the value),
/// `None` when the form did not send the field at all (leaves the value alone).
fn text_or_null(pairs: &[(String, String)], name: &str) -> Option<Value> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| match v.trim() {
            "" => Value::Null,
            v => Value::String(v.to_owned()),
        })
}

/// `POST /my/profile`: a merge patch of the self-service fields, naming the version the form
/// showed (a change made meanwhile elsewhere is not overwritten).
pub async fn save_profile(
    State(portal): State<Arc<Portal>>,
    ctx: AccessContext,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let (p, id) = own()?;
    if !portal.customers.visible(Reader::Principal(&p), id).await? {
        return Err(ApiError::NotFound("customer"));
    }
    let version = pairs
        .iter()
        .find(|(k, _)| k == "version")
        .and_then(|(_, v)| v.trim().parse::<i64>().ok());
    let fields = |prefix: &str, keys: &[&str]| -> Map<String, Value> {
        keys.iter()
            .filter_map(|k| {
                Some((
                    (*k).to_owned(),
                    text_or_null(&pairs, &format!("{prefix}{k}"))?,
                ))
            })
            .collect()
    };
    let mut patch = fields("", &["email", "phone"]);
    let prefs = fields(
        "preferences.",
        &["seat", "meal", "drink", "language", "communication_channel"],
    );
    if !prefs.is_empty() {
        patch.insert("preferences".into(), Value::Object(prefs));
    }
    let address = fields(
        "address.",
        &["line1", "line2", "city", "region", "postal_code", "country"],
    );
    // A blank address removes it; a partly filled one is checked whole (line, city, country).
    if !address.is_empty() {
        let blank = address.values().all(Value::is_null);
        patch.insert(
            "address".into(),
            if blank {
                Value::Null
            } else {
                Value::Object(address)
            },
        );
    }
    let patch = Value::Object(patch);
    let Some(version) = version else {
        return Err(ApiError::Malformed("the form names no version".into()));
    };
    match portal
        .customers
        .update(id, Some(version), &patch, Utc::now().date_naive(), &ctx)
        .await
    {
        Ok(_) => Ok(redirect_with_notice(
            "/my/profile",
            "Saved. Thank you for keeping your details up to date.",
        )),
        Err(CustomerError::Invalid(fields)) => {
            let (_, c) = load(&portal, &ctx).await?;
            let mut errors = FormErrors::new();
            for f in fields {
                let name = f.pointer.trim_start_matches('/').replace('/', ".");
                let name = if name.starts_with("preferences.")
                    || name.starts_with("address.")
                    || name == "email"
                    || name == "phone"
                {
                    name
                } else if name == "address" {
                    "address.line1".to_owned()
                } else {
                    "email".to_owned()
                };
                errors.add(&name, capitalise(&f.detail));
            }
            Ok(profile_page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &c,
                Some(&pairs),
                &errors,
                None,
            ))
        }
        Err(CustomerError::StaleVersion) => {
            let (_, c) = load(&portal, &ctx).await?;
            Ok(profile_page(
                StatusCode::CONFLICT,
                &c,
                None,
                &FormErrors::new(),
                Some((
                    "Your profile changed since you opened this page (perhaps on another device). This is the current version; please make your change again.",
                    Tone::Warn,
                )),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// `?cursor=` of the trips page.
#[derive(Debug, Deserialize)]
pub struct TripsQuery {
    cursor: Option<String>,
}

fn kind_label(k: TimelineKind) -> &'static str {
    match k {
        TimelineKind::Flight => "Flight",
        TimelineKind::Ancillary => "Extra",
        TimelineKind::Purchase => "Purchase",
        TimelineKind::PostOrder => "Document",
        TimelineKind::Interaction => "Contact",
        TimelineKind::Feedback => "Feedback",
        TimelineKind::LoungeVisit => "Lounge",
        TimelineKind::ChauffeurRide => "Chauffeur",
        TimelineKind::Baggage => "Baggage",
    }
}

fn flight_list(entries: &[TimelineEntry]) -> Markup {
    html! {
        ul.portal-trips {
            @for e in entries {
                li {
                    time datetime=(e.occurred_at.to_rfc3339()) { (when(e)) }
                    span { (e.summary) }
                }
            }
        }
    }
}

/// `GET /my/trips`: upcoming and past flights, then everything on the passenger's travel
/// record, newest first, with older pages.
pub async fn trips(
    State(portal): State<Arc<Portal>>,
    ctx: AccessContext,
    Query(q): Query<TripsQuery>,
) -> Result<Response, ApiError> {
    let (p, id) = own()?;
    if !portal.customers.visible(Reader::Principal(&p), id).await? {
        return Err(ApiError::NotFound("customer"));
    }
    let (upcoming, past) = flights(&portal, &ctx, id).await?;
    let mut query = TimelineQuery::newest(25).of_kinds(PASSENGER_KINDS);
    query.cursor = q.cursor.as_deref().and_then(TimelineCursor::decode);
    let record = portal.travel.timeline(id, &query).await?;
    let items: Vec<FeedItem> = record
        .entries
        .iter()
        .map(|e| FeedItem {
            when: when(e),
            datetime: e.occurred_at.to_rfc3339(),
            title: e.summary.clone(),
            badges: vec![kit::badge(kind_label(e.kind), Tone::Neutral)],
            meta: None,
            details: None,
            kind: e.kind.as_str(),
        })
        .collect();
    let body = html! {
        (kit::page_header(&[], "Your trips", Some(html! { "Times are shown in UTC." }), None))
        section.portal-section aria-labelledby="upcoming" {
            h2 #upcoming { "Upcoming flights" }
            @if upcoming.is_empty() {
                (kit::empty_state("No upcoming flights", "Flights you book with us appear here.", None))
            } @else {
                (flight_list(&upcoming))
            }
        }
        section.portal-section aria-labelledby="past" {
            h2 #past { "Past flights" }
            @if past.is_empty() {
                (kit::empty_state("No past flights yet", "Your flights with us appear here once you have flown.", None))
            } @else {
                (flight_list(&past))
            }
        }
        section.portal-section aria-labelledby="record" {
            h2 #record { "Your travel record" }
            p.muted { "Flights, bags, extras, purchases, lounge visits and your feedback, newest first." }
            @if items.is_empty() {
                (kit::empty_state("Nothing recorded yet", "What happens on your journeys with us appears here.", None))
            } @else {
                (kit::feed(&items))
            }
            @if let Some(next) = &record.next {
                p { a href={ "/my/trips?cursor=" (next.encode()) "#record" } { "Older entries" } }
            }
        }
    };
    Ok(page(
        StatusCode::OK,
        layout("Your trips", Place::Trips, body),
    ))
}

fn account_of(p: &Principal) -> Result<&str, ApiError> {
    p.subject
        .strip_prefix("passenger:")
        .ok_or(ApiError::NotFound("passenger account"))
}

async fn security_page(
    portal: &Portal,
    p: &Principal,
    status: StatusCode,
    message: Option<(&str, Tone)>,
    recovery: Option<&[String]>,
) -> Result<Response, ApiError> {
    let account = account_of(p)?;
    let (enabled, left) = portal.passengers.second_factor_status(account).await?;
    let setup = if enabled {
        None
    } else {
        let session = p.session.clone().unwrap_or_default();
        let secret = portal
            .passengers
            .pending_second_factor(account, &session)
            .await?;
        Some((
            aloft_security::totp::otpauth_uri("Aloft", "My Aloft account", &secret),
            secret.to_base32().to_string(),
        ))
    };
    let body = html! {
        (kit::page_header(&[], "Sign-in security", Some(html! { "A second step makes your account safe even if someone learns your password." }), None))
        @if let Some((m, tone)) = message { (kit::notice(m, tone)) }
        @if let Some(codes) = recovery {
            section.portal-section aria-labelledby="recovery" {
                h2 #recovery { "Your recovery codes" }
                p { "Keep these somewhere safe. Each works once, instead of a code from your app, if you lose your phone. We show them only now." }
                ul.recovery-codes { @for c in codes { li { code { (c) } } } }
            }
        }
        section.portal-section aria-labelledby="second-step" {
            h2 #second-step { "Second step when signing in" }
            @if enabled {
                p { (kit::badge("On", Tone::Good)) " Signing in asks for a code from your authenticator app. " (left) " recovery code" @if left != 1 { "s" } " left." }
                form.portal-form method="post" action="/my/security/disable" {
                    (csrf_field())
                    (Field::text("code", "To turn it off, enter a current code or a recovery code").required()
                        .autocomplete("one-time-code").render(&FormErrors::new()))
                    button.secondary type="submit" { "Turn off the second step" }
                }
            } @else if let Some((uri, key)) = &setup {
                p { (kit::badge("Off", Tone::Warn)) " Turn it on with an authenticator app (such as Google Authenticator, Microsoft Authenticator or 1Password)." }
                ol {
                    li { "Scan this code with the app, or type the key below it." }
                    li { "Enter the six-digit code the app shows." }
                }
                div.qr { (aloft_access::pages::qr_svg(uri)) }
                p { "Key: " code.totp-key { (key) } }
                form.portal-form method="post" action="/my/security/enable" {
                    (csrf_field())
                    (Field::text("code", "Six-digit code from the app").required()
                        .autocomplete("one-time-code").render(&FormErrors::new()))
                    button type="submit" { "Turn on the second step" }
                }
            }
        }
    };
    Ok(page(
        status,
        layout("Sign-in security", Place::Security, body),
    ))
}

/// `GET /my/security`.
pub async fn security(State(portal): State<Arc<Portal>>) -> Result<Response, ApiError> {
    let (p, _) = own()?;
    security_page(&portal, &p, StatusCode::OK, None, None).await
}

/// `{code}` of the security forms.
#[derive(Debug, Deserialize)]
pub struct CodeForm {
    code: String,
}

/// `POST /my/security/enable`.
pub async fn enable_second_factor(
    State(portal): State<Arc<Portal>>,
    ctx: AccessContext,
    Form(form): Form<CodeForm>,
) -> Result<Response, ApiError> {
    let (p, _) = own()?;
    let account = account_of(&p)?;
    let session = p.session.clone().unwrap_or_default();
    match portal
        .passengers
        .enable_second_factor(account, &session, &form.code, &ctx)
        .await?
    {
        Some(codes) => {
            security_page(
                &portal,
                &p,
                StatusCode::OK,
                Some(("The second step is on.", Tone::Good)),
                Some(&codes),
            )
            .await
        }
        None => {
            security_page(
                &portal,
                &p,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some((
                    "That code is not right. Check the app's clock and enter the newest code.",
                    Tone::Bad,
                )),
                None,
            )
            .await
        }
    }
}

/// `POST /my/security/disable`.
pub async fn disable_second_factor(
    State(portal): State<Arc<Portal>>,
    ctx: AccessContext,
    Form(form): Form<CodeForm>,
) -> Result<Response, ApiError> {
    let (p, _) = own()?;
    let account = account_of(&p)?;
    match portal
        .passengers
        .disable_second_factor(account, &form.code, &ctx)
        .await
    {
        Ok(true) => Ok(redirect_with_notice(
            "/my/security",
            "The second step is off. You sign in with your password only.",
        )),
        Ok(false) => {
            security_page(
                &portal,
                &p,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(("That code is not right.", Tone::Bad)),
                None,
            )
            .await
        }
        Err(e @ ApiError::Problem(_)) => {
            let text = e.to_problem().detail.unwrap_or_default();
            security_page(
                &portal,
                &p,
                StatusCode::TOO_MANY_REQUESTS,
                Some((&text, Tone::Bad)),
                None,
            )
            .await
        }
        Err(e) => Err(e),
    }
}
