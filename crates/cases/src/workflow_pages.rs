//! `/cases/workflow` — the CMP manager's page for the case workflow and the stations'
//! business-hours calendars: the current version (states, transitions with their required
//! fields, categories), every version with the open cases following it, and two plain forms —
//! one line per state, transition or category in a text box, so it works without script and
//! with any assistive technology. Problems are told by box and line, in the form's words.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use http::StatusCode;
use maud::{Markup, html};

use aloft_authz::{Access, RoutePolicy};
use aloft_kernel::AccessContext;
use aloft_web::kit::{self, Column, Crumb, DataTable, Field, FieldKind, FormData, Tone};
use aloft_web::{csrf_field, layout, page};

use crate::calendar::{CalendarDef, DAYS, DayHours, is_station};
use crate::model::{CategoryDef, StateDef, TransitionDef, Workflow, WorkflowProblem};
use crate::pages::SECTION;
use crate::permissions::CASE_WORKFLOW_MANAGE;
use crate::service::Cases;
use crate::settings::{SettingsError, StoredCalendar, WorkflowVersion};

/// Who may open the page and post its forms.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new(
        "GET",
        "/cases/workflow",
        Access::Permission(CASE_WORKFLOW_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/cases/workflow",
        Access::Permission(CASE_WORKFLOW_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/cases/workflow/calendar",
        Access::Permission(CASE_WORKFLOW_MANAGE),
    ),
];

/// The page routes.
pub fn routes(cases: Cases) -> Router {
    Router::new()
        .route("/cases/workflow", get(show).post(publish))
        .route("/cases/workflow/calendar", post(save_calendar))
        .with_state(cases)
}

// ---------------------------------------------------------------------------------------------
// The text forms: one line per item
// ---------------------------------------------------------------------------------------------

const FLAG_PAUSES: &str = "pauses";
const FLAG_RESOLVED: &str = "resolved";
const FLAG_CLOSING: &str = "closing";

/// The states box: `name | Label | flags` (flags: pauses, resolved, closing).
pub fn states_text(w: &Workflow) -> String {
    w.states
        .iter()
        .map(|s| {
            let flags: Vec<&str> = [
                (s.pauses_clock, FLAG_PAUSES),
                (s.resolved, FLAG_RESOLVED),
                (s.terminal, FLAG_CLOSING),
            ]
            .into_iter()
            .filter_map(|(on, f)| on.then_some(f))
            .collect();
            if flags.is_empty() {
                format!("{} | {}", s.name, s.label)
            } else {
                format!("{} | {} | {}", s.name, s.label, flags.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The transitions box: `from -> to | required, fields`.
pub fn transitions_text(w: &Workflow) -> String {
    w.transitions
        .iter()
        .map(|t| {
            if t.required.is_empty() {
                format!("{} -> {}", t.from, t.to)
            } else {
                format!("{} -> {} | {}", t.from, t.to, t.required.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The categories box: `name | Label`.
pub fn categories_text(w: &Workflow) -> String {
    w.categories
        .iter()
        .map(|c| format!("{} | {}", c.name, c.label))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Non-blank lines of a box with their line numbers (1-based).
fn lines(text: &str) -> Vec<(usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
        .collect()
}

/// A box's problems gathered per field, each told by line ("line 3: …").
#[derive(Default)]
struct Problems(Vec<(String, Vec<String>)>);

impl Problems {
    fn add(&mut self, field: &str, message: String) {
        match self.0.iter_mut().find(|(f, _)| f == field) {
            Some((_, list)) => list.push(message),
            None => self.0.push((field.to_owned(), vec![message])),
        }
    }

    fn into_errors(self) -> kit::FormErrors {
        let mut errors = kit::FormErrors::new();
        for (field, list) in self.0 {
            errors.add(&field, list.join("; "));
        }
        errors
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Where each item of the parsed definition came from, to tell problems by line.
struct Origin {
    states: Vec<usize>,
    transitions: Vec<usize>,
    categories: Vec<usize>,
}

/// Reads the workflow form; what cannot be read is told by box and line.
fn parse_workflow(form: &FormData) -> Result<(Workflow, Origin), Problems> {
    let mut p = Problems::default();
    let text = |n: &str| form.text(n).unwrap_or_default().to_owned();
    let (states_box, transitions_box, categories_box) =
        (text("states"), text("transitions"), text("categories"));
    let mut origin = Origin {
        states: vec![],
        transitions: vec![],
        categories: vec![],
    };
    let mut states = Vec::new();
    for (n, line) in lines(&states_box) {
        let parts: Vec<&str> = line.split('|').map(str::trim).collect();
        if parts.len() < 2 || parts.len() > 3 {
            p.add(
                "states",
                format!(
                    "line {n}: write name | Label, then optionally | pauses, resolved, closing"
                ),
            );
            continue;
        }
        let mut s = StateDef {
            name: parts[0].to_owned(),
            label: parts[1].to_owned(),
            pauses_clock: false,
            terminal: false,
            resolved: false,
        };
        for flag in parts
            .get(2)
            .map(|f| {
                f.split([',', ' '])
                    .filter(|x| !x.is_empty())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
        {
            match flag {
                FLAG_PAUSES => s.pauses_clock = true,
                FLAG_RESOLVED => s.resolved = true,
                FLAG_CLOSING => s.terminal = true,
                other => p.add(
                    "states",
                    format!("line {n}: {other:?} is not a flag; use pauses, resolved or closing"),
                ),
            }
        }
        states.push(s);
        origin.states.push(n);
    }
    let mut transitions = Vec::new();
    for (n, line) in lines(&transitions_box) {
        let (moves, required) = match line.split_once('|') {
            Some((m, r)) => (m, r),
            None => (line, ""),
        };
        let Some((from, to)) = moves.split_once("->") else {
            p.add(
                "transitions",
                format!("line {n}: write from -> to, then optionally | the required fields"),
            );
            continue;
        };
        transitions.push(TransitionDef {
            from: from.trim().to_owned(),
            to: to.trim().to_owned(),
            required: required
                .split([',', ' '])
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect(),
        });
        origin.transitions.push(n);
    }
    let mut categories = Vec::new();
    for (n, line) in lines(&categories_box) {
        let Some((name, label)) = line.split_once('|') else {
            p.add("categories", format!("line {n}: write name | Label"));
            continue;
        };
        categories.push(CategoryDef {
            name: name.trim().to_owned(),
            label: label.trim().to_owned(),
        });
        origin.categories.push(n);
    }
    if !p.is_empty() {
        return Err(p);
    }
    Ok((
        Workflow {
            version: 0,
            initial: text("initial").trim().to_owned(),
            states,
            transitions,
            categories,
        },
        origin,
    ))
}

/// Tells the definition's problems (by JSON pointer) by box and line.
fn tell(problems: Vec<WorkflowProblem>, origin: &Origin) -> Problems {
    let mut p = Problems::default();
    for problem in problems {
        let mut parts = problem.pointer.trim_start_matches('/').split('/');
        let list = parts.next().unwrap_or_default();
        let index: Option<usize> = parts.next().and_then(|i| i.parse().ok());
        let lines = match list {
            "states" => &origin.states,
            "transitions" => &origin.transitions,
            "categories" => &origin.categories,
            _ => {
                p.add("initial", problem.message);
                continue;
            }
        };
        let message = match index.and_then(|i| lines.get(i)) {
            Some(n) => format!("line {n}: {}", problem.message),
            None => problem.message,
        };
        p.add(list, message);
    }
    p
}

/// The hours box: `mon 09:00-17:00` per day worked.
fn hours_text(def: &CalendarDef) -> String {
    def.hours
        .iter()
        .map(|h| format!("{} {}-{}", h.day, h.opens, h.closes))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads the calendar form.
fn parse_calendar(form: &FormData) -> Result<(String, CalendarDef, Vec<usize>), Problems> {
    let mut p = Problems::default();
    let station = form.text("station").unwrap_or_default().trim().to_owned();
    let station = if station.eq_ignore_ascii_case("default") {
        "default".to_owned()
    } else {
        station.to_ascii_uppercase()
    };
    if !is_station(&station) {
        p.add(
            "station",
            "Enter an airport code of three letters (FRA), or default.".into(),
        );
    }
    let hours_box = form.text("hours").unwrap_or_default().to_owned();
    let mut hours = Vec::new();
    let mut origin = Vec::new();
    for (n, line) in lines(&hours_box) {
        let parsed = line.split_once(' ').and_then(|(day, span)| {
            let (opens, closes) = span.trim().split_once('-')?;
            Some(DayHours {
                day: day.trim().to_ascii_lowercase(),
                opens: opens.trim().to_owned(),
                closes: closes.trim().to_owned(),
            })
        });
        match parsed {
            Some(h) => {
                hours.push(h);
                origin.push(n);
            }
            None => p.add(
                "hours",
                format!("line {n}: write a day and its hours, like mon 09:00-17:00"),
            ),
        }
    }
    let holidays = lines(form.text("holidays").unwrap_or_default())
        .into_iter()
        .map(|(_, l)| l.to_owned())
        .collect();
    if !p.is_empty() {
        return Err(p);
    }
    Ok((
        station,
        CalendarDef {
            time_zone: form.text("time_zone").unwrap_or_default().trim().to_owned(),
            hours,
            holidays,
        },
        origin,
    ))
}

/// Tells a calendar's problems by field and line.
fn tell_calendar(problems: Vec<WorkflowProblem>, origin: &[usize]) -> Problems {
    let mut p = Problems::default();
    for problem in problems {
        let mut parts = problem.pointer.trim_start_matches('/').split('/');
        let field = parts.next().unwrap_or_default();
        let index: Option<usize> = parts.next().and_then(|i| i.parse().ok());
        match field {
            "hours" => {
                let message = match index.and_then(|i| origin.get(i)) {
                    Some(n) => format!("line {n}: {}", problem.message),
                    None => problem.message,
                };
                p.add("hours", message);
            }
            "holidays" => p.add("holidays", problem.message),
            _ => p.add("time_zone", problem.message),
        }
    }
    p
}

// ---------------------------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------------------------

fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn yes(b: bool) -> Markup {
    html! { @if b { "Yes" } @else { "No" } }
}

fn current_tables(w: &Workflow) -> Markup {
    let states = DataTable::new(
        "States",
        vec![
            Column::new("Name"),
            Column::new("Label"),
            Column::new("SLA clocks pause"),
            Column::new("Counts as resolved"),
            Column::new("Closing"),
        ],
    )
    .id("wf-states")
    .rows(
        w.states
            .iter()
            .map(|s| {
                vec![
                    html! { code { (s.name) } @if s.name == w.initial { " (initial)" } },
                    html! { (s.label) },
                    yes(s.pauses_clock),
                    yes(s.resolved || s.terminal),
                    yes(s.terminal),
                ]
            })
            .collect(),
    )
    .render();
    let transitions = DataTable::new(
        "Allowed transitions",
        vec![
            Column::new("From"),
            Column::new("To"),
            Column::new("Required fields"),
        ],
    )
    .id("wf-transitions")
    .rows(
        w.transitions
            .iter()
            .map(|t| {
                vec![
                    html! { code { (t.from) } },
                    html! { code { (t.to) } },
                    html! {
                        @if t.required.is_empty() { "None" }
                        @else { (t.required.join(", ")) }
                    },
                ]
            })
            .collect(),
    )
    .render();
    let categories = DataTable::new(
        "Categories new cases may take",
        vec![Column::new("Name"), Column::new("Label")],
    )
    .id("wf-categories")
    .rows(
        w.categories
            .iter()
            .map(|c| vec![html! { code { (c.name) } }, html! { (c.label) }])
            .collect(),
    )
    .render();
    html! { (states) (transitions) (categories) }
}

fn history_table(history: &[WorkflowVersion]) -> Markup {
    DataTable::new(
        "Versions, newest first",
        vec![
            Column::new("Version"),
            Column::new("Published"),
            Column::new("By"),
            Column::new("Open cases following it"),
        ],
    )
    .id("wf-history")
    .rows(
        history
            .iter()
            .map(|v| {
                vec![
                    html! { (v.version) },
                    html! { (when(v.published_at)) },
                    html! { (v.published_by) },
                    html! { (v.open_cases) },
                ]
            })
            .collect(),
    )
    .render()
}

fn calendars_table(calendars: &[StoredCalendar]) -> Markup {
    DataTable::new(
        "Business calendars by station",
        vec![
            Column::new("Station"),
            Column::new("Time zone"),
            Column::new("Opening hours"),
            Column::new("Holidays"),
            Column::new("Version"),
            Column::new("Saved"),
        ],
    )
    .id("wf-calendars")
    .rows(
        calendars
            .iter()
            .map(|c| {
                vec![
                    html! { code { (c.station) } },
                    html! { (c.definition.time_zone) },
                    html! {
                        @for h in &c.definition.hours { (h.day) " " (h.opens) "–" (h.closes) br; }
                    },
                    html! {
                        @if c.definition.holidays.is_empty() { "None" }
                        @else { (c.definition.holidays.join(", ")) }
                    },
                    html! { (c.version) },
                    html! { (when(c.updated_at)) " by " (c.updated_by) },
                ]
            })
            .collect(),
    )
    .render()
}

struct View<'a> {
    workflow: &'a Workflow,
    history: &'a [WorkflowVersion],
    calendars: &'a [StoredCalendar],
    wf_form: &'a FormData,
    wf_errors: &'a kit::FormErrors,
    cal_form: &'a FormData,
    cal_errors: &'a kit::FormErrors,
}

fn render(status: StatusCode, v: &View<'_>) -> Response {
    let w = v.workflow;
    let current = v
        .history
        .iter()
        .find(|h| h.version == w.version)
        .map(|h| format!("Published {} by {}.", when(h.published_at), h.published_by))
        .unwrap_or_default();
    let day_names = DAYS.join(", ");
    page(
        status,
        layout(
            "Case workflow",
            SECTION,
            html! {
                (kit::page_header(&[Crumb { label: "Home", href: "/" }, Crumb { label: "Cases", href: "/cases" }],
                    "Case workflow",
                    Some(html! { "States, transitions, required fields and categories of cases, and the business hours SLA clocks run on. A change is published as a new version: new cases follow it, open cases keep the version they were opened under." }),
                    None))
                section aria-labelledby="wf-current" {
                    h2 #wf-current { "Current workflow: version " (w.version) }
                    p { (current) " New cases start in " code { (w.initial) } "." }
                    (current_tables(w))
                }
                section aria-labelledby="wf-versions" {
                    h2 #wf-versions { "Version history" }
                    (history_table(v.history))
                }
                section aria-labelledby="wf-edit" {
                    h2 #wf-edit { "Publish a new version" }
                    p { "One item per line. A state: " code { "name | Label" } ", then optionally " code { "| pauses, resolved, closing" } " (SLA clocks pause; counts as resolved; the case is finished). A transition: " code { "from -> to" } ", then optionally " code { "| required, fields" } " (agents give them when they move the case; the case page offers message, reason and resolution). A category: " code { "name | Label" } ", one of complaint, baggage, refund, compensation_claim, special_assistance, compliment, suggestion, general_enquiry." }
                    (kit::error_summary(v.wf_errors))
                    form method="post" action="/cases/workflow" {
                        (csrf_field())
                        (Field::text("initial", "Initial state").hint("The state a new case starts in").value(v.wf_form.text("initial")).required().render(v.wf_errors))
                        (Field::new("states", "States", FieldKind::TextArea).hint("name | Label | flags").value(v.wf_form.text("states")).required().render(v.wf_errors))
                        (Field::new("transitions", "Allowed transitions", FieldKind::TextArea).hint("from -> to | required fields").value(v.wf_form.text("transitions")).required().render(v.wf_errors))
                        (Field::new("categories", "Categories", FieldKind::TextArea).hint("name | Label").value(v.wf_form.text("categories")).required().render(v.wf_errors))
                        button type="submit" { "Publish version " (w.version + 1) }
                    }
                }
                section aria-labelledby="wf-calendars-title" {
                    h2 #wf-calendars-title { "Business hours by station" }
                    p { "A case's SLA clocks run on the calendar of its station (given when it is opened, or the departure station of its booking), else on the " code { "default" } " calendar — round the clock in UTC until one is saved." }
                    @if v.calendars.is_empty() {
                        (kit::empty_state("No calendars saved yet", "Every case runs round the clock in UTC.", None))
                    } @else {
                        (calendars_table(v.calendars))
                    }
                    h3 #wf-calendar-form { "Save a station's calendar" }
                    (kit::error_summary(v.cal_errors))
                    form method="post" action="/cases/workflow/calendar" {
                        (csrf_field())
                        (Field::text("station", "Station").hint("Airport code (FRA), or default; an existing one is replaced").value(v.cal_form.text("station")).required().render(v.cal_errors))
                        (Field::text("time_zone", "Time zone").hint("IANA name, like Europe/Berlin or America/New_York").value(v.cal_form.text("time_zone")).required().render(v.cal_errors))
                        (Field::new("hours", "Opening hours", FieldKind::TextArea).hint(&format!("One day worked per line, like mon 09:00-17:00 (days: {day_names}; 24:00 for midnight)")).value(v.cal_form.text("hours")).required().render(v.cal_errors))
                        (Field::new("holidays", "Holidays", FieldKind::TextArea).hint("One date per line, like 2026-12-25").value(v.cal_form.text("holidays")).render(v.cal_errors))
                        button type="submit" { "Save calendar" }
                    }
                }
            },
        ),
    )
}

fn workflow_form(w: &Workflow) -> FormData {
    FormData::from_pairs(vec![
        ("initial".into(), w.initial.clone()),
        ("states".into(), states_text(w)),
        ("transitions".into(), transitions_text(w)),
        ("categories".into(), categories_text(w)),
    ])
}

fn calendar_form() -> FormData {
    let example = CalendarDef {
        time_zone: "Europe/Berlin".into(),
        hours: ["mon", "tue", "wed", "thu", "fri"]
            .iter()
            .map(|d| DayHours {
                day: (*d).into(),
                opens: "08:00".into(),
                closes: "18:00".into(),
            })
            .collect(),
        holidays: vec![],
    };
    FormData::from_pairs(vec![
        ("time_zone".into(), example.time_zone.clone()),
        ("hours".into(), hours_text(&example)),
    ])
}

fn unavailable() -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        layout(
            "Case workflow",
            SECTION,
            kit::notice("The case workflow cannot be read right now.", Tone::Bad),
        ),
    )
}

/// Everything the page shows besides the forms.
async fn load(cases: &Cases) -> Option<(Workflow, Vec<WorkflowVersion>, Vec<StoredCalendar>)> {
    let workflow = cases.current_workflow().await.ok()?;
    let history = cases.workflow_history().await.ok()?;
    let calendars = cases.calendars().await.ok()?;
    Some((workflow, history, calendars))
}

/// `GET /cases/workflow`.
async fn show(State(cases): State<Cases>) -> Response {
    let Some((workflow, history, calendars)) = load(&cases).await else {
        return unavailable();
    };
    render(
        StatusCode::OK,
        &View {
            workflow: &workflow,
            history: &history,
            calendars: &calendars,
            wf_form: &workflow_form(&workflow),
            wf_errors: &kit::FormErrors::new(),
            cal_form: &calendar_form(),
            cal_errors: &kit::FormErrors::new(),
        },
    )
}

/// `POST /cases/workflow`: publishes the form's definition as the next version.
async fn publish(State(cases): State<Cases>, ctx: AccessContext, form: FormData) -> Response {
    let Some((workflow, history, calendars)) = load(&cases).await else {
        return unavailable();
    };
    let refuse = |errors: kit::FormErrors| {
        render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &View {
                workflow: &workflow,
                history: &history,
                calendars: &calendars,
                wf_form: &form,
                wf_errors: &errors,
                cal_form: &calendar_form(),
                cal_errors: &kit::FormErrors::new(),
            },
        )
    };
    let (definition, origin) = match parse_workflow(&form) {
        Ok(x) => x,
        Err(p) => return refuse(p.into_errors()),
    };
    match cases.publish_workflow(definition, &ctx).await {
        Ok(w) => kit::redirect_with_notice(
            "/cases/workflow",
            &format!(
                "Published version {}. New cases follow it; open cases keep theirs.",
                w.version
            ),
        ),
        Err(SettingsError::Invalid(problems)) => refuse(tell(problems, &origin).into_errors()),
        Err(SettingsError::Conflict) => kit::redirect_with_notice(
            "/cases/workflow",
            "Not published: another version was published at the same moment. Check it and try again.",
        ),
        Err(SettingsError::Storage(_)) => {
            kit::redirect_with_notice("/cases/workflow", "Not published: try again.")
        }
    }
}

/// `POST /cases/workflow/calendar`: saves a station's calendar.
async fn save_calendar(State(cases): State<Cases>, ctx: AccessContext, form: FormData) -> Response {
    let Some((workflow, history, calendars)) = load(&cases).await else {
        return unavailable();
    };
    let refuse = |errors: kit::FormErrors| {
        render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &View {
                workflow: &workflow,
                history: &history,
                calendars: &calendars,
                wf_form: &workflow_form(&workflow),
                wf_errors: &kit::FormErrors::new(),
                cal_form: &form,
                cal_errors: &errors,
            },
        )
    };
    let (station, definition, origin) = match parse_calendar(&form) {
        Ok(x) => x,
        Err(p) => return refuse(p.into_errors()),
    };
    match cases.save_calendar(&station, &definition, &ctx).await {
        Ok(c) => kit::redirect_with_notice(
            "/cases/workflow",
            &format!(
                "Saved the calendar of {} (version {}).",
                c.station, c.version
            ),
        ),
        Err(SettingsError::Invalid(problems)) => {
            refuse(tell_calendar(problems, &origin).into_errors())
        }
        Err(_) => kit::redirect_with_notice("/cases/workflow", "Not saved: try again."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> FormData {
        FormData::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn the_boxes_round_trip_the_shipped_workflow() {
        let w = Workflow::shipped();
        let f = workflow_form(&w);
        let (back, origin) = parse_workflow(&f).ok().unwrap();
        assert_eq!(back.states, w.states);
        assert_eq!(back.transitions, w.transitions);
        assert_eq!(back.categories, w.categories);
        assert_eq!(back.initial, w.initial);
        assert_eq!(origin.states, [1, 2, 3, 4, 5]);
    }

    #[test]
    fn problems_are_told_by_box_and_line() {
        let f = form(&[
            ("initial", "new"),
            (
                "states",
                "new | New\n\nopen | Open\nclosed | Closed | closing",
            ),
            (
                "transitions",
                "new -> open\nopen -> archived\nopen -> closed",
            ),
            ("categories", "complaint | Complaint"),
        ]);
        let (w, origin) = parse_workflow(&f).ok().unwrap();
        let errors = tell(w.problems(), &origin).into_errors();
        assert_eq!(
            errors.of("transitions"),
            Some("line 2: \"archived\" is not one of the states")
        );
        let f = form(&[
            ("initial", "new"),
            ("states", "new | New | sleepy"),
            ("transitions", "new to closed"),
            ("categories", "complaint"),
        ]);
        let errors = parse_workflow(&f).err().unwrap().into_errors();
        assert!(
            errors
                .of("states")
                .unwrap()
                .starts_with("line 1: \"sleepy\"")
        );
        assert!(
            errors
                .of("transitions")
                .unwrap()
                .starts_with("line 1: write from -> to")
        );
        assert!(
            errors
                .of("categories")
                .unwrap()
                .starts_with("line 1: write name | Label")
        );
    }

    #[test]
    fn the_calendar_form_reads_days_and_tells_bad_lines() {
        let f = form(&[
            ("station", "fra"),
            ("time_zone", "Europe/Berlin"),
            ("hours", "mon 09:00-17:00\nsat 10:00-14:00"),
            ("holidays", "2026-12-25\n\n2026-12-26"),
        ]);
        let (station, def, _) = parse_calendar(&f).ok().unwrap();
        assert_eq!(station, "FRA");
        assert_eq!(def.hours.len(), 2);
        assert_eq!(def.holidays, ["2026-12-25", "2026-12-26"]);
        assert!(def.compile().is_ok());
        let f = form(&[
            ("station", "FRA"),
            ("time_zone", "Europe/Berlin"),
            ("hours", "mon 09:00-17:00\nfunday 10:00-14:00"),
        ]);
        let (_, def, origin) = parse_calendar(&f).ok().unwrap();
        let errors = tell_calendar(def.compile().unwrap_err(), &origin).into_errors();
        assert!(
            errors
                .of("hours")
                .unwrap()
                .starts_with("line 2: \"funday\"")
        );
    }
}
