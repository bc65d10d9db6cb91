//! The style guide at `/ui`: every component of the kit, rendered by the kit itself with sample
//! airline data, so designers, developers and the accessibility checks see the real thing.

use axum::response::Response;
use http::StatusCode;
use maud::html;

use crate::kit::{
    self, BarChart, Column, Crumb, DataTable, FeedItem, Field, FieldKind, FormErrors, Series,
    SortDir, Sorting, Tab, TimeChart, Tone,
};
use crate::{Section, layout, page};

pub(crate) async fn style_guide() -> Response {
    let mut errors = FormErrors::new();
    errors.add("flight", "Enter a flight number like LH400.");
    let table = DataTable::new(
        "Departures from DXB today",
        vec![
            Column::new("Flight").sortable("flight"),
            Column::new("To"),
            Column::new("Departs").sortable("departs"),
            Column::new("Passengers").numeric(),
        ],
    )
    .rows(vec![
        vec![
            html! { a href="#" { "EK29" } },
            html! { "LHR" },
            html! { "08:15" },
            html! { "312" },
        ],
        vec![
            html! { a href="#" { "EK203" } },
            html! { "JFK" },
            html! { "09:40" },
            html! { "488" },
        ],
    ])
    .sorted(
        "/ui?",
        Some(Sorting {
            key: "departs".into(),
            dir: SortDir::Asc,
        }),
    )
    .next_after(Some("EK203".into()));
    let feed = [
        FeedItem {
            when: "2 Jul 2026, 14:05".into(),
            datetime: "2026-07-02T12:05:00Z".into(),
            title: "Call — baggage delayed".into(),
            badges: vec![kit::badge("negative", Tone::Bad)],
            meta: Some("Contact centre · Priya Nair".into()),
            details: Some(
                html! { p { "Passenger reports bag LH 123456 missing since FRA; asked for a delivery address." } },
            ),
            kind: "call",
        },
        FeedItem {
            when: "1 Jul 2026, 10:00".into(),
            datetime: "2026-07-01T08:00:00Z".into(),
            title: "Flight LH400 FRA → JFK, delayed 3 h 25 min".into(),
            badges: vec![kit::badge("delay", Tone::Warn)],
            meta: Some("Seat 32A · bag tag 0220123456".into()),
            details: None,
            kind: "flight",
        },
    ];
    page(
        StatusCode::OK,
        layout(
            "Style guide",
            Section::HOME,
            html! {
                (kit::page_header(
                    &[Crumb { label: "Home", href: "/" }],
                    "Style guide",
                    Some(html! { "Every component of the kit, as pages use it." }),
                    Some(html! { a role="button" href="#forms" { "Primary action" } " " a.secondary role="button" href="#tables" { "Secondary" } }),
                ))
                (kit::tabs("Style guide sections", &[
                    Tab { label: "Badges", href: "#badges", current: true },
                    Tab { label: "Tables", href: "#tables", current: false },
                    Tab { label: "Feed", href: "#feed", current: false },
                    Tab { label: "Forms", href: "#forms", current: false },
                    Tab { label: "Charts", href: "#charts", current: false },
                ]))
                section #badges {
                    h2 { "Badges, notices and facts" }
                    p {
                        (kit::badge("Gold", Tone::Info)) " "
                        (kit::badge_titled("WCHR", "Wheelchair: can climb stairs, not long distances", Tone::Warn)) " "
                        (kit::badge_titled("VGML", "Vegetarian meal", Tone::Neutral)) " "
                        (kit::badge("E-mail consent", Tone::Good)) " "
                        (kit::badge("Denied", Tone::Bad))
                    }
                    (kit::notice("Profile saved.", Tone::Good))
                    (kit::notice("Passport expires before the return flight.", Tone::Warn))
                    (kit::stats(&[("Departures today", "14".into(), Some("#tables")), ("Passengers with PRM", "9".into(), None)]))
                    (kit::facts(&[
                        ("Loyalty number", html! { "LH 992 001 234" }),
                        ("Tier", kit::badge("Senator", Tone::Info)),
                        ("Home airport", kit::or_dash(None::<&str>)),
                    ]))
                    (kit::empty_state("No open cases", "When this passenger contacts us about a problem, the case shows here.", Some(html! { a href="#forms" { "Open a case" } })))
                }
                section #tables {
                    h2 { "Data table and filter bar" }
                    (kit::filter_bar("/ui", "Filter departures",
                        Field::new("status", "Status", FieldKind::Select(vec![("".into(), "Any".into()), ("open".into(), "Check-in open".into())])).render(&FormErrors::new()),
                        "/ui"))
                    (table.render())
                }
                section #feed {
                    h2 { "Activity feed" }
                    (kit::feed(&feed))
                }
                section #forms {
                    h2 { "Forms" }
                    (kit::error_summary(&errors))
                    form method="post" action="/ui" {
                        (Field::text("flight", "Flight number").value(Some("LH4000X")).hint("Carrier code and number, like LH400").required().render(&errors))
                        (Field::new("note", "Note", FieldKind::TextArea).render(&errors))
                        (Field::new("prm", "Needs assistance at the airport", FieldKind::Checkbox).render(&errors))
                        button type="button" { "Save" }
                    }
                    h3 { "Confirmation" }
                    (kit::confirm_button("/ui", "Revoke access", "Revoke this client's access? Integrations using it stop at once.", &[]))
                }
                section #charts {
                    h2 { "Charts" }
                    (BarChart { title: "Customers by tier".into(), unit: "customers".into(), bars: vec![
                        ("Blue".into(), 61_204), ("Silver".into(), 22_310), ("Gold".into(), 9_870), ("Platinum".into(), 1_250),
                    ] }.render())
                    (TimeChart { title: "Sign-in failures per hour".into(), buckets: (6..18).map(|h| format!("{h:02}:00")).collect(), series: vec![
                        Series { name: "Failed sign-ins".into(), values: vec![1, 0, 2, 5, 3, 1, 0, 0, 12, 4, 2, 1] },
                        Series { name: "Denials".into(), values: vec![0, 0, 1, 0, 0, 2, 0, 1, 3, 0, 0, 0] },
                    ] }.render())
                }
            },
        ),
    )
}
