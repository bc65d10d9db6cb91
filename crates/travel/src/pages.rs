//! The travel domain's part of the customer 360° page, contributed as record views (see
//! `aloft_web::RecordView`): the header alerts (next flight, recent disruptions) and the
//! Timeline, Travel, Interactions and Suggestions tabs. Every view checks that the customer is
//! within the principal's row scope and audits what it reads; the words people wrote (call
//! notes, e-mail bodies, feedback text) are decrypted only for holders of `interaction.read`,
//! and each such read is audited with the fields shown.

use chrono::{Duration, Utc};
use maud::{Markup, html};
use uuid::Uuid;

use aloft_authz::{Access, Principal};
use aloft_kernel::AccessContext;
use aloft_web::kit::{self, Column, DataTable, FeedItem, Tone};
use aloft_web::{Placement, RecordView};

use crate::model::{CustomerId, Record, RecordKind, SegmentStatus};
use crate::permissions::{INTERACTION_READ, INTERACTION_WRITE, TIMELINE_READ};
use crate::routes::{TimelineState, kind_label};
use crate::timeline::{TimelineCursor, TimelineEntry, TimelineKind, TimelineQuery};

/// The record views of the travel domain on customer pages.
pub fn record_views(state: TimelineState) -> Vec<RecordView> {
    let access = Access::Permission(TIMELINE_READ);
    let s = state.clone();
    let header = RecordView::new(
        "customer",
        "travel-alerts",
        "At a glance",
        access,
        10,
        Placement::Header,
        move |p, id, _| {
            let s = s.clone();
            async move { alerts(&s, &p, &id).await }
        },
    );
    let s = state.clone();
    let timeline = RecordView::new(
        "customer",
        "timeline",
        "Timeline",
        access,
        10,
        Placement::Tab,
        move |p, id, q| {
            let s = s.clone();
            async move { timeline_tab(&s, &p, &id, &q).await }
        },
    );
    let s = state.clone();
    let travel = RecordView::new(
        "customer",
        "travel",
        "Travel",
        access,
        20,
        Placement::Tab,
        move |p, id, q| {
            let s = s.clone();
            async move { travel_tab(&s, &p, &id, &q).await }
        },
    );
    let s = state.clone();
    let interactions = RecordView::new(
        "customer",
        "interactions",
        "Interactions",
        access,
        30,
        Placement::Tab,
        move |p, id, q| {
            let s = s.clone();
            async move { interactions_tab(&s, &p, &id, &q).await }
        },
    );
    let s = state;
    let suggestions = RecordView::new(
        "customer",
        "suggestions",
        "Preferences and suggestions",
        access,
        40,
        Placement::Tab,
        move |p, id, _| {
            let s = s.clone();
            async move { suggestions_tab(&s, &p, &id).await }
        },
    );
    vec![header, timeline, travel, interactions, suggestions]
}

fn unavailable() -> Markup {
    kit::notice(
        "This part of the profile cannot be loaded right now. Try again in a moment.",
        Tone::Bad,
    )
}

fn get<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The customer, if visible to the principal (row scope); `None` shows nothing.
async fn visible(state: &TimelineState, id: &str) -> Option<CustomerId> {
    let customer = CustomerId::parse(id)?;
    state.ensure_visible(customer).await.ok()?;
    Some(customer)
}

/// Records the read of `fields` of `customer` under the page's request context.
async fn audit(
    state: &TimelineState,
    action: aloft_kernel::audit::AuditAction,
    customer: CustomerId,
    fields: &[&str],
) -> bool {
    let Some(auditor) = &state.auditor else {
        return true;
    };
    let ctx = AccessContext::current();
    auditor
        .record(ctx.entry(
            action,
            "customer",
            Some(customer.to_string()),
            fields.iter().map(|f| f.to_string()).collect(),
            "success",
        ))
        .await
        .is_ok()
}

fn when(e: &TimelineEntry) -> (String, String) {
    (
        e.occurred_at.format("%a %e %b %Y, %H:%M UTC").to_string(),
        e.occurred_at.to_rfc3339(),
    )
}

/// Header alerts: the next flight, and disruptions of the last 14 days.
async fn alerts(state: &TimelineState, _p: &Principal, id: &str) -> Markup {
    let Some(customer) = visible(state, id).await else {
        return html! {};
    };
    let now = Utc::now();
    let mut upcoming = TimelineQuery::newest(100).of_kinds(&[TimelineKind::Flight]);
    upcoming.from = Some(now);
    let mut recent = TimelineQuery::newest(50).of_kinds(&[TimelineKind::Flight]);
    recent.from = Some(now - Duration::days(14));
    recent.to = Some(now);
    let (Ok(upcoming), Ok(recent)) = (
        state.store.timeline(customer, &upcoming).await,
        state.store.timeline(customer, &recent).await,
    ) else {
        return unavailable();
    };
    if !audit(
        state,
        crate::events::audit::CUSTOMER_TIMELINE_READ,
        customer,
        &["next_flight", "disruptions"],
    )
    .await
    {
        return unavailable();
    }
    // Newest first: the last upcoming entry is the soonest.
    let next = upcoming.entries.last();
    let mut disrupted = Vec::new();
    let mut ids: Vec<Uuid> = recent.entries.iter().map(|e| e.record.record_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let Ok(bookings) = state.store.get_many(&ids).await else {
        return unavailable();
    };
    for stored in &bookings {
        if stored.customer_id == Some(customer)
            && let Record::Booking(b) = &stored.record
        {
            for seg in &b.segments {
                let late = seg.delay_minutes.unwrap_or(0) >= 60;
                if (seg.status == SegmentStatus::Cancelled || late)
                    && seg.scheduled_departure.utc >= now - Duration::days(14)
                    && seg.scheduled_departure.utc <= now
                {
                    disrupted.push(match seg.status {
                        SegmentStatus::Cancelled => format!(
                            "{} {}–{} cancelled",
                            seg.flight_number, seg.origin, seg.destination
                        ),
                        _ => format!(
                            "{} {}–{} delayed {} min",
                            seg.flight_number,
                            seg.origin,
                            seg.destination,
                            seg.delay_minutes.unwrap_or(0)
                        ),
                    });
                }
            }
        }
    }
    html! {
        @if let Some(n) = next {
            p.alert-item { strong { "Next flight: " } (n.summary) " — " time datetime=(n.occurred_at.to_rfc3339()) { (n.occurred_at.format("%a %e %b, %H:%M UTC")) } }
        } @else {
            p.alert-item.muted { "No upcoming flight booked." }
        }
        @for d in &disrupted {
            p.alert-item { (kit::badge("Disruption", Tone::Bad)) " " (d) }
        }
    }
}

/// The timeline tab: every entry, newest first, filterable by kind, paged by keyset; the
/// details of interactions and feedback hold their text for holders of `interaction.read`.
async fn timeline_tab(
    state: &TimelineState,
    p: &Principal,
    id: &str,
    q: &[(String, String)],
) -> Markup {
    let Some(customer) = visible(state, id).await else {
        return html! {};
    };
    let asked: Vec<&str> = q
        .iter()
        .filter(|(k, _)| k == "kind")
        .map(|(_, v)| v.as_str())
        .collect();
    let chosen: Vec<TimelineKind> = asked
        .iter()
        .filter_map(|v| TimelineKind::parse(v).ok())
        .collect();
    // Other modules' entries (compensation, cases): shown unless a filter leaves them out.
    let workspace = aloft_web::workspace::current();
    let sources: Vec<&aloft_web::TimelineSource> = workspace
        .timeline_sources(Some(p))
        .filter(|s| asked.is_empty() || asked.contains(&s.id))
        .collect();
    let mut query = TimelineQuery::newest(25).of_kinds(&chosen);
    query.cursor = get(q, "cursor").and_then(TimelineCursor::decode);
    let page = if !asked.is_empty() && chosen.is_empty() {
        // Only other modules' kinds were chosen.
        crate::TimelinePage {
            entries: Vec::new(),
            next: None,
        }
    } else {
        let Ok(page) = state.store.timeline(customer, &query).await else {
            return unavailable();
        };
        page
    };
    // This page covers (oldest entry shown, the cursor]; the last page reaches back to the start.
    let before = query.cursor.as_ref().map(|c| c.occurred_at);
    let after = page
        .next
        .as_ref()
        .and_then(|_| page.entries.last().map(|e| e.occurred_at));
    let contributed: Vec<aloft_web::DatedItem> = futures_util::future::join_all(
        sources
            .iter()
            .map(|s| (s.entries)(p.clone(), customer.to_string(), after, before, 50)),
    )
    .await
    .into_iter()
    .flatten()
    .collect();
    if !audit(
        state,
        crate::events::audit::CUSTOMER_TIMELINE_READ,
        customer,
        &["timeline"],
    )
    .await
    {
        return unavailable();
    }
    let texts = texts_of(state, p, customer, &page.entries).await;
    let Ok(texts) = texts else {
        return unavailable();
    };
    let mut dated: Vec<aloft_web::DatedItem> = page
        .entries
        .iter()
        .map(|e| {
            let (when, datetime) = when(e);
            (
                e.occurred_at,
                FeedItem {
                    when,
                    datetime,
                    title: e.summary.clone(),
                    badges: vec![kit::badge(kind_label(e.kind), Tone::Neutral)],
                    meta: None,
                    details: texts
                        .iter()
                        .find(|(rid, _)| *rid == e.record.record_id)
                        .map(|(_, m)| m.clone()),
                    kind: feed_kind(e.kind),
                },
            )
        })
        .collect();
    dated.extend(contributed);
    dated.sort_by_key(|d| std::cmp::Reverse(d.0));
    let items: Vec<FeedItem> = dated.into_iter().map(|(_, item)| item).collect();
    let base = format!("/customers/{customer}?tab=timeline");
    let filter: String = asked.iter().map(|k| format!("&kind={k}")).collect();
    let older = page
        .next
        .map(|c| format!("{base}{filter}&cursor={}", c.encode()));
    html! {
        form.filter-bar.kinds method="get" action={ "/customers/" (customer) } aria-label="Filter the timeline" {
            input type="hidden" name="tab" value="timeline";
            fieldset {
                legend { "Show only" }
                div.kind-choices {
                    @for k in TimelineKind::ALL {
                        label for={ "k-" (k.as_str()) } {
                            input #{ "k-" (k.as_str()) } type="checkbox" name="kind" value=(k.as_str()) checked[chosen.contains(k)];
                            " " (kind_label(*k))
                        }
                    }
                    @for s in workspace.timeline_sources(Some(p)) {
                        label for={ "k-" (s.id) } {
                            input #{ "k-" (s.id) } type="checkbox" name="kind" value=(s.id) checked[asked.contains(&s.id)];
                            " " (s.label)
                        }
                    }
                }
            }
            div.filter-actions {
                button type="submit" { "Apply" }
                a href=(base) { "Clear" }
            }
        }
        @if items.is_empty() {
            (kit::empty_state("Nothing on the timeline", "Flights, bags, purchases, calls and feedback appear here as the source systems send them.", None))
        } @else {
            (kit::feed(&items))
        }
        @if let Some(link) = older { nav.pager aria-label="Timeline pages" { a rel="next" href=(link) { "Older entries →" } } }
    }
}

fn feed_kind(k: TimelineKind) -> &'static str {
    match k {
        TimelineKind::Flight => "flight",
        TimelineKind::Interaction => "call",
        TimelineKind::Feedback => "feedback",
        TimelineKind::Baggage => "baggage",
        _ => "other",
    }
}

/// The texts of the interactions and feedback among `entries`, decrypted, for a principal who
/// may read them (one audit record naming the fields); empty for everyone else.
async fn texts_of(
    state: &TimelineState,
    p: &Principal,
    customer: CustomerId,
    entries: &[TimelineEntry],
) -> Result<Vec<(Uuid, Markup)>, ()> {
    if !p.can(INTERACTION_READ) {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = entries
        .iter()
        .filter(|e| {
            matches!(
                e.record.record_kind,
                RecordKind::Interaction | RecordKind::Feedback
            )
        })
        .map(|e| e.record.record_id)
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for stored in state.store.get_many(&ids).await.map_err(|_| ())? {
        if stored.customer_id == Some(customer)
            && let Some(m) = text_markup(&stored.record)
        {
            out.push((stored.id, m));
        }
    }
    if !audit(
        state,
        crate::events::audit::CUSTOMER_INTERACTIONS_READ,
        customer,
        &["interaction.body", "feedback.text"],
    )
    .await
    {
        return Err(());
    }
    Ok(out)
}

fn text_markup(record: &Record) -> Option<Markup> {
    match record {
        Record::Interaction(i) => Some(html! {
            @if let Some(s) = &i.subject { p { strong { (s.as_str()) } } }
            @if let Some(b) = &i.body { p.pre-wrap { (b.as_str()) } } @else { p.muted { "No notes were recorded." } }
            p.muted { small {
                (i.channel.as_str().replace('_', " ")) " · " (i.direction.as_str())
                @if let Some(d) = i.duration_seconds { " · " (d / 60) " min " (d % 60) " s" }
                @if let Some(pnr) = &i.record_locator { " · booking " (pnr) }
            } }
        }),
        Record::Feedback(f) => Some(html! {
            p.pre-wrap { (f.text.as_str()) }
            p.muted { small {
                (f.kind.as_str())
                @if let Some(r) = f.rating { " · rated " (r) }
                @if let Some(n) = &f.flight_number { " · flight " (n) }
            } }
        }),
        _ => None,
    }
}

/// The travel tab: bookings with their segments (e-ticket, seat, gate, status, bags).
async fn travel_tab(
    state: &TimelineState,
    _p: &Principal,
    id: &str,
    q: &[(String, String)],
) -> Markup {
    let Some(customer) = visible(state, id).await else {
        return html! {};
    };
    let mut query = TimelineQuery::newest(50).of_kinds(&[TimelineKind::Flight]);
    query.cursor = get(q, "cursor").and_then(TimelineCursor::decode);
    let Ok(page) = state.store.timeline(customer, &query).await else {
        return unavailable();
    };
    // Every booking of the page in one read, shown in the timeline's order.
    let mut ids: Vec<Uuid> = Vec::new();
    for e in &page.entries {
        if !ids.contains(&e.record.record_id) {
            ids.push(e.record.record_id);
        }
    }
    let Ok(mut stored) = state.store.get_many(&ids).await else {
        return unavailable();
    };
    stored.sort_by_key(|r| ids.iter().position(|i| *i == r.id));
    let mut rows = Vec::new();
    for stored in &stored {
        if stored.customer_id != Some(customer) {
            continue;
        }
        let Record::Booking(b) = &stored.record else {
            continue;
        };
        for seg in &b.segments {
            let status = match seg.status {
                SegmentStatus::Cancelled => kit::badge("cancelled", Tone::Bad),
                SegmentStatus::Delayed => kit::badge(
                    &format!("delayed {} min", seg.delay_minutes.unwrap_or(0)),
                    Tone::Warn,
                ),
                SegmentStatus::NoShow => kit::badge("no-show", Tone::Warn),
                other => kit::badge(&other.as_str().replace('_', " "), Tone::Neutral),
            };
            rows.push(vec![
                html! { (b.record_locator) },
                html! { (seg.flight_number) },
                html! { (seg.origin) " → " (seg.destination) },
                html! { time datetime=(seg.scheduled_departure.utc.to_rfc3339()) { (seg.scheduled_departure.local.format("%e %b %Y %H:%M")) } " " small.muted { (seg.scheduled_departure.zone.name()) } },
                html! { (seg.cabin.as_str().replace('_', " ")) },
                kit::or_dash(seg.seat.as_ref()),
                kit::or_dash(seg.gate.as_ref()),
                kit::or_dash(seg.ticket_number.as_ref()),
                html! { @if seg.bag_tags.is_empty() { "—" } @else { (seg.bag_tags.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ")) } },
                status,
            ]);
        }
    }
    if !audit(
        state,
        crate::events::audit::CUSTOMER_TIMELINE_READ,
        customer,
        &["bookings"],
    )
    .await
    {
        return unavailable();
    }
    let older = page
        .next
        .map(|c| format!("/customers/{customer}?tab=travel&cursor={}", c.encode()));
    html! {
        @if rows.is_empty() {
            (kit::empty_state("No bookings", "Bookings appear here when the reservation system sends them.", None))
        } @else {
            (DataTable::new("Bookings and flights, newest first", vec![
                Column::new("PNR"), Column::new("Flight"), Column::new("Route"), Column::new("Departs (local)"),
                Column::new("Cabin"), Column::new("Seat"), Column::new("Gate"), Column::new("E-ticket"),
                Column::new("Bags"), Column::new("Status"),
            ]).id("bookings").rows(rows).render())
        }
        @if let Some(link) = older { nav.pager aria-label="Booking pages" { a rel="next" href=(link) { "Older bookings →" } } }
    }
}

/// The interactions tab: log a call, e-mail or chat (one click from the header), then every
/// interaction and piece of feedback with its text for those allowed to read it.
async fn interactions_tab(
    state: &TimelineState,
    p: &Principal,
    id: &str,
    q: &[(String, String)],
) -> Markup {
    let Some(customer) = visible(state, id).await else {
        return html! {};
    };
    let mut query =
        TimelineQuery::newest(25).of_kinds(&[TimelineKind::Interaction, TimelineKind::Feedback]);
    query.cursor = get(q, "cursor").and_then(TimelineCursor::decode);
    let Ok(page) = state.store.timeline(customer, &query).await else {
        return unavailable();
    };
    if !audit(
        state,
        crate::events::audit::CUSTOMER_TIMELINE_READ,
        customer,
        &["interactions"],
    )
    .await
    {
        return unavailable();
    }
    let Ok(texts) = texts_of(state, p, customer, &page.entries).await else {
        return unavailable();
    };
    let items: Vec<FeedItem> = page
        .entries
        .iter()
        .map(|e| {
            let (when, datetime) = when(e);
            FeedItem {
                when,
                datetime,
                title: e.summary.clone(),
                badges: vec![kit::badge(kind_label(e.kind), Tone::Neutral)],
                meta: None,
                details: texts
                    .iter()
                    .find(|(rid, _)| *rid == e.record.record_id)
                    .map(|(_, m)| m.clone()),
                kind: feed_kind(e.kind),
            }
        })
        .collect();
    let older = page.next.map(|c| {
        format!(
            "/customers/{customer}?tab=interactions&cursor={}",
            c.encode()
        )
    });
    html! {
        @if p.can(INTERACTION_WRITE) {
            section.log-interaction #log aria-labelledby="log-title" {
                h2 #log-title { "Log an interaction" }
                (crate::routes::interaction_form(customer, None))
            }
        }
        h2 { "Calls, e-mails, chats and feedback" }
        @if !p.can(INTERACTION_READ) {
            (kit::notice("Your role sees that contacts happened, not what was said.", Tone::Neutral))
        }
        @if items.is_empty() {
            (kit::empty_state("No interactions yet", "Calls, e-mails, chats and feedback appear here.", None))
        } @else {
            (kit::feed(&items))
        }
        @if let Some(link) = older { nav.pager aria-label="Interaction pages" { a rel="next" href=(link) { "Older →" } } }
    }
}

/// Preferences and suggestions: stated seat and meal, and what the passenger's history suggests.
async fn suggestions_tab(state: &TimelineState, _p: &Principal, id: &str) -> Markup {
    let Some(customer) = visible(state, id).await else {
        return html! {};
    };
    let (seat, meal) = match &state.stated {
        Some(s) => match s.stated(customer).await {
            Ok(Some(v)) => v,
            Ok(None) => (None, None),
            Err(_) => return unavailable(),
        },
        None => (None, None),
    };
    let Ok((bookings, ancillaries)) = state.store.preference_history(customer).await else {
        return unavailable();
    };
    if !audit(
        state,
        crate::events::audit::CUSTOMER_SUGGESTIONS_READ,
        customer,
        &["preferences"],
    )
    .await
    {
        return unavailable();
    }
    let s = crate::preferences::suggest(seat.as_deref(), meal.as_deref(), &bookings, &ancillaries);
    let row = |label: &str, sug: &Option<crate::preferences::Suggestion>| -> Markup {
        match sug {
            Some(x) => html! { (x.value.replace('_', " ")) br; small.muted { (x.reason) } },
            None => html! { span.muted { "No clear " (label) " preference yet." } },
        }
    };
    html! {
        section aria-labelledby="sugg-title" {
            h2 #sugg-title { "For the next flight" }
            (kit::facts(&[("Seat", row("seat", &s.seat)), ("Meal", row("meal", &s.meal))]))
            p.muted { small { "Stated preferences come first; otherwise what the passenger chose at least three times with 60 % agreeing." } }
        }
    }
}
