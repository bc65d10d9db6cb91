//! `/cases/event-rules` — the CMP manager's page for the rules that open cases from other
//! systems' events (`crate::rules`): the rules in force, in the order they are tried, each
//! switched on or off or removed with one button, and a plain form to add one (conditions one
//! per line, `path = value`). Every change is a new version through the same `EventRules::save`
//! as the API (versioned, evented, audited; a change made on a stale version is refused).

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use http::StatusCode;
use maud::html;

use aloft_authz::{Access, RoutePolicy};
use aloft_kernel::{AccessContext, ApiError};
use aloft_web::kit::{
    self, Column, Crumb, DataTable, Field, FieldKind, FormData, FormErrors, Tone,
};
use aloft_web::{csrf_field, layout, page};

use crate::model::Category;
use crate::pages::SECTION;
use crate::permissions::CASE_CONFIGURE;
use crate::rules::{EventRule, EventRules, RuleSet, ruleable_types};

/// The page's path.
pub const PATH: &str = "/cases/event-rules";

/// Who may open the page and post its forms.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new("GET", PATH, Access::Permission(CASE_CONFIGURE)),
    RoutePolicy::new("POST", PATH, Access::Permission(CASE_CONFIGURE)),
    RoutePolicy::new(
        "POST",
        "/cases/event-rules/{index}/toggle",
        Access::Permission(CASE_CONFIGURE),
    ),
    RoutePolicy::new(
        "POST",
        "/cases/event-rules/{index}/remove",
        Access::Permission(CASE_CONFIGURE),
    ),
];

/// The page routes.
pub fn routes(rules: EventRules) -> Router {
    Router::new()
        .route(PATH, get(show).post(add))
        .route("/cases/event-rules/{index}/toggle", post(toggle))
        .route("/cases/event-rules/{index}/remove", post(remove))
        .with_state(rules)
}

/// A travel record type's words (`aloft.travel.baggage_event.recorded` → "baggage event").
fn kind_words(event_type: &str) -> String {
    event_type
        .strip_prefix("aloft.travel.")
        .and_then(|t| t.strip_suffix(".recorded"))
        .unwrap_or(event_type)
        .replace('_', " ")
}

fn view(status: StatusCode, set: &RuleSet, form: &FormData, errors: &FormErrors) -> Response {
    let table = DataTable::new(
        "Rules, in the order they are tried",
        vec![
            Column::new("Rule"),
            Column::new("When"),
            Column::new("Opens"),
            Column::new("State"),
            Column::new("Actions"),
        ],
    )
    .rows(
        set.rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let category = Category::parse(&r.category).map_or(r.category.as_str(), |c| c.label());
                vec![
                    html! { (r.name) },
                    html! {
                        "a " (kind_words(&r.event_type)) " is recorded"
                        @for (path, value) in &r.when {
                            br; code { (path) " = " (value) }
                        }
                    },
                    html! {
                        (category) " case: " (r.subject)
                        @if let Some(b) = &r.booking_from { br; small { "booking from " code { (b) } } }
                    },
                    if r.enabled { kit::badge("on", Tone::Good) } else { kit::badge("off", Tone::Neutral) },
                    html! {
                        form method="post" action=(format!("/cases/event-rules/{i}/toggle")) {
                            (csrf_field())
                            input type="hidden" name="version" value=(set.version);
                            button.secondary type="submit" { @if r.enabled { "Switch off" } @else { "Switch on" } }
                        }
                        (kit::confirm_button(&format!("/cases/event-rules/{i}/remove"), "Remove",
                            &format!("Remove the rule {}? Cases it opened stay.", r.name),
                            &[("version", &set.version.to_string())]))
                    },
                ]
            })
            .collect(),
    )
    .render();
    let kinds: Vec<(String, String)> = ruleable_types()
        .into_iter()
        .map(|t| (t.to_owned(), kind_words(t)))
        .collect();
    let categories: Vec<(String, String)> = Category::ALL
        .iter()
        .map(|c| (c.as_str().to_owned(), c.label().to_owned()))
        .collect();
    page(
        status,
        layout(
            "Case event rules",
            SECTION,
            html! {
                (kit::page_header(&[Crumb { label: "Home", href: "/" }, Crumb { label: "Cases", href: "/cases" }], "Case event rules",
                    Some(html! { "When another system records something about a passenger, a rule can open a case before they call. The first rule that matches opens the case (or joins the open one about the same matter); each event is acted on once. Version " (set.version) ", saved by " (set.saved_by) "." }), None))
                @if set.rules.is_empty() {
                    (kit::empty_state("No rules", "Events open no case. Add a rule below.", None))
                } @else {
                    (table)
                }
                section aria-labelledby="rule-new" {
                    h2 #rule-new { "Add a rule" }
                    (kit::error_summary(errors))
                    form method="post" action=(PATH) {
                        (csrf_field())
                        input type="hidden" name="version" value=(set.version);
                        (Field::text("name", "Name").value(form.text("name")).required().render(errors))
                        (Field::new("event_type", "When a … is recorded", FieldKind::Select(kinds)).value(form.text("event_type")).render(errors))
                        (Field::new("when", "Conditions", FieldKind::TextArea).hint("One per line: path = value (facts.event = mishandled). All must hold.").value(form.text("when")).render(errors))
                        (Field::new("category", "Case category", FieldKind::Select(categories)).value(form.text("category")).render(errors))
                        (Field::text("subject", "Case subject").hint("{facts.bag_tag} is replaced by that value of the event").value(form.text("subject")).required().render(errors))
                        (Field::text("booking_from", "Booking reference from").hint("Optional: the path of the booking reference (facts.record_locator)").value(form.text("booking_from")).render(errors))
                        button type="submit" { "Add rule" }
                    }
                }
            },
        ),
    )
}

async fn render(
    rules: &EventRules,
    status: StatusCode,
    form: &FormData,
    errors: &FormErrors,
) -> Response {
    match rules.current().await {
        Ok(set) => view(status, &set, form, errors),
        Err(_) => page(
            StatusCode::SERVICE_UNAVAILABLE,
            layout(
                "Case event rules",
                SECTION,
                kit::notice("The rules cannot be read right now.", Tone::Bad),
            ),
        ),
    }
}

/// `GET /cases/event-rules`.
async fn show(State(rules): State<EventRules>) -> Response {
    render(
        &rules,
        StatusCode::OK,
        &FormData::from_pairs(vec![]),
        &FormErrors::new(),
    )
    .await
}

/// Saves `change` of the set at the form's version; refusals become the form's words.
async fn save(
    rules: &EventRules,
    ctx: &AccessContext,
    form: &FormData,
    change: impl FnOnce(&mut Vec<EventRule>) -> Result<(), FormErrors>,
) -> Response {
    let current = match rules.current().await {
        Ok(c) => c,
        Err(_) => return kit::redirect_with_notice(PATH, "Not saved: try again."),
    };
    let version = form.text("version").and_then(|v| v.parse::<i64>().ok());
    let mut list = current.rules.clone();
    if let Err(errors) = change(&mut list) {
        return render(rules, StatusCode::UNPROCESSABLE_ENTITY, form, &errors).await;
    }
    match rules.save(list, version, ctx).await {
        Ok(set) => kit::redirect_with_notice(PATH, &format!("Saved as version {}.", set.version)),
        Err(ApiError::Conflict(_)) => kit::redirect_with_notice(
            PATH,
            "Someone changed the rules meanwhile: here they are now; apply your change again.",
        ),
        Err(ApiError::Invalid(list)) => {
            let mut errors = FormErrors::new();
            for e in list {
                let field = e.pointer.rsplit('/').next().unwrap_or("name").to_owned();
                let field = match field.as_str() {
                    "name" | "event_type" | "category" | "subject" | "booking_from" => field,
                    _ => "when".to_owned(),
                };
                errors.add(&field, format!("This {}", e.detail));
            }
            render(rules, StatusCode::UNPROCESSABLE_ENTITY, form, &errors).await
        }
        Err(_) => kit::redirect_with_notice(PATH, "Not saved: try again."),
    }
}

/// `POST /cases/event-rules`: adds a rule at the end.
async fn add(State(rules): State<EventRules>, ctx: AccessContext, form: FormData) -> Response {
    let f = form.clone();
    save(&rules, &ctx, &form, move |list| {
        let mut errors = FormErrors::new();
        let mut when = std::collections::BTreeMap::new();
        for (n, line) in f.text("when").unwrap_or("").lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match line.split_once('=') {
                Some((p, v)) if !p.trim().is_empty() && !v.trim().is_empty() => {
                    when.insert(p.trim().to_owned(), v.trim().to_owned());
                }
                _ => errors.add("when", format!("Line {} is not “path = value”.", n + 1)),
            }
        }
        let name = f.text("name").map(str::to_owned);
        if name.is_none() {
            errors.add("name", "Enter a name.");
        }
        let subject = f.text("subject").map(str::to_owned);
        if subject.is_none() {
            errors.add("subject", "Enter the subject of the case.");
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        list.push(EventRule {
            name: name.unwrap_or_default(),
            event_type: f.text("event_type").map(str::to_owned).unwrap_or_default(),
            when,
            category: f.text("category").map(str::to_owned).unwrap_or_default(),
            subject: subject.unwrap_or_default(),
            booking_from: f.text("booking_from").map(str::to_owned),
            enabled: true,
        });
        Ok(())
    })
    .await
}

/// `POST /cases/event-rules/{index}/toggle`.
async fn toggle(
    State(rules): State<EventRules>,
    ctx: AccessContext,
    Path(index): Path<usize>,
    form: FormData,
) -> Response {
    save(&rules, &ctx, &form, |list| match list.get_mut(index) {
        Some(r) => {
            r.enabled = !r.enabled;
            Ok(())
        }
        None => {
            let mut e = FormErrors::new();
            e.add("name", "That rule is no longer there.");
            Err(e)
        }
    })
    .await
}

/// `POST /cases/event-rules/{index}/remove`.
async fn remove(
    State(rules): State<EventRules>,
    ctx: AccessContext,
    Path(index): Path<usize>,
    form: FormData,
) -> Response {
    save(&rules, &ctx, &form, |list| {
        if index < list.len() {
            list.remove(index);
            Ok(())
        } else {
            let mut e = FormErrors::new();
            e.add("name", "That rule is no longer there.");
            Err(e)
        }
    })
    .await
}
