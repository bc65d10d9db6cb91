//! The "Retention risk" tab of the customer 360° page (defection risk, expected value, the
//! features behind the risk in words; every view audited) and the model page for data
//! analysts and the CMP manager (`/models/churn`: AUC, Brier, the calibration chart with its
//! table, the coefficients). Kit only.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};

use aloft_authz::{Access, Principal, RoutePolicy, RowScope};
use aloft_kernel::AccessContext;
use aloft_web::kit::chart::{Series, TimeChart};
use aloft_web::kit::{self, Column, Crumb, DataTable, Tone};
use aloft_web::{Placement, RecordView, Section, layout, page};

use crate::features::FEATURES;
use crate::permissions::{CHURN_MODEL_READ, CHURN_SCORE_READ};
use crate::routes::summary;
use crate::storage::{ChurnError, ChurnStore, CustomerScore, decimal};

/// The models section of the workspace.
pub const SECTION: Section = Section::new("models");

/// The model page.
pub const PATH: &str = "/models/churn";

/// Who may open the pages.
pub const POLICY: &[RoutePolicy] = &[RoutePolicy::new(
    "GET",
    PATH,
    Access::Permission(CHURN_MODEL_READ),
)];

/// The page routes.
pub fn routes(store: ChurnStore) -> Router {
    Router::new().route(PATH, get(model_page)).with_state(store)
}

/// The tab's id (`/customers/{id}?tab=churn`).
pub const TAB: &str = "churn";

fn ctx_of(p: &Principal) -> AccessContext {
    let mut ctx = AccessContext::system("churn");
    ctx.actor = p.actor();
    ctx
}

fn words_of(code: &str) -> &'static str {
    FEATURES
        .iter()
        .find(|f| f.code == code)
        .map_or("", |f| f.words)
}

/// The "Retention risk" tab of the customer 360° page.
pub fn record_views(store: ChurnStore) -> Vec<RecordView> {
    vec![RecordView::new(
        "customer",
        TAB,
        "Retention risk",
        Access::Permission(CHURN_SCORE_READ),
        46,
        Placement::Tab,
        move |principal, id, _| {
            let store = store.clone();
            async move {
                if !matches!(principal.scope, RowScope::All) {
                    return kit::notice(
                        "Retention risk is not available for your role's customers.",
                        Tone::Warn,
                    );
                }
                match store
                    .score(&id, &ctx_of(&principal), aloft_kernel::db::now())
                    .await
                {
                    Ok(s) => risk_tab(&s, principal.can(CHURN_MODEL_READ)),
                    Err(ChurnError::NoModel) => kit::empty_state(
                        "No defection model yet",
                        "A model is trained with `aloft model train churn`; the risk appears here afterwards.",
                        None,
                    ),
                    Err(ChurnError::NotFound) => {
                        kit::notice("This customer has no retention risk.", Tone::Warn)
                    }
                    Err(ChurnError::Withheld(why)) => {
                        kit::notice(&format!("No retention risk: {}.", why.reason()), Tone::Warn)
                    }
                    Err(_) => kit::notice(
                        "The retention risk cannot be worked out right now.",
                        Tone::Bad,
                    ),
                }
            }
        },
    )]
}

fn band_badge(band: &str) -> Markup {
    match band {
        "high" => kit::badge("high risk", Tone::Bad),
        "medium" => kit::badge("medium risk", Tone::Warn),
        _ => kit::badge("low risk", Tone::Good),
    }
}

fn risk_tab(s: &CustomerScore, sees_model: bool) -> Markup {
    let months = s.window_days / 30;
    html! {
        section #churn-risk aria-labelledby="churn-risk-title" {
            h2 #churn-risk-title { "Defection risk" }
            p #churn-summary {
                (band_badge(&s.score.band)) " "
                strong { (s.score.risk_percent) " %" }
                " chance of taking no flight with us in the next " (months) " months."
            }
            (kit::facts(&[
                ("Expected spend, next 6 months", html! { (s.expected_value) " " (s.currency) }),
                ("Spend, last 12 months", html! { (decimal(s.score.spend_12m_minor)) " " (s.currency) }),
                ("Flew in the last 12 months", html! { (if s.score.active { "yes" } else { "no: the risk is an extrapolation" }) }),
                ("Model", html! {
                    "version " (s.model_version)
                    @if sees_model { " (" a href=(PATH) { "performance" } ")" }
                }),
            ]))
            h3 { "Why" }
            @if s.score.reasons.is_empty() {
                p { "Nothing sets this customer apart from the average customer." }
            } @else {
                ol #churn-reasons {
                    @for r in &s.score.reasons {
                        li data-feature=(r.feature) {
                            (r.words)
                            " "
                            @if r.contribution > 0.0 {
                                (kit::badge(&format!("+{:.2}", r.contribution), Tone::Bad))
                            } @else {
                                (kit::badge(&format!("{:.2}", r.contribution), Tone::Good))
                            }
                        }
                    }
                }
                p.hint { "The figures are each feature's effect on the log-odds of defecting against the average customer: positive raises the risk." }
            }
            p.hint { "Expected spend is (1 − risk) × the last 12 months' spend at the same pace, in euros." }
        }
    }
}

fn pct(v: f64) -> String {
    format!("{:.1} %", v * 100.0)
}

async fn model_page(State(store): State<ChurnStore>) -> Response {
    let title = "Defection model";
    let crumbs = [Crumb {
        label: "Home",
        href: "/",
    }];
    let s = match summary(&store).await {
        Ok(s) => s,
        Err(ChurnError::NoModel) => {
            return page(
                StatusCode::OK,
                layout(
                    title,
                    SECTION,
                    html! {
                        (kit::page_header(&crumbs, title, None, None))
                        (kit::empty_state("No model trained yet", "Train one with `aloft model train churn`; its performance appears here.", None))
                    },
                ),
            );
        }
        Err(_) => {
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                layout(
                    title,
                    SECTION,
                    kit::notice(
                        "The model is unavailable right now; try again shortly.",
                        Tone::Bad,
                    ),
                ),
            );
        }
    };
    let m = &s.metrics;
    let calibration = TimeChart {
        title: "Calibration: predicted and observed defection by decile of predicted risk (%)"
            .into(),
        buckets: m
            .calibration
            .iter()
            .map(|b| format!("D{}", b.decile))
            .collect(),
        series: vec![
            Series {
                name: "Predicted %".into(),
                values: m
                    .calibration
                    .iter()
                    .map(|b| (b.predicted * 100.0).round() as u64)
                    .collect(),
            },
            Series {
                name: "Observed %".into(),
                values: m
                    .calibration
                    .iter()
                    .map(|b| (b.observed * 100.0).round() as u64)
                    .collect(),
            },
        ],
    };
    let table = DataTable::new(
        "Reliability table: validation customers by decile of predicted risk",
        vec![
            Column::new("Decile"),
            Column::new("Customers").numeric(),
            Column::new("Predicted").numeric(),
            Column::new("Observed").numeric(),
        ],
    )
    .id("churn-calibration")
    .rows(
        m.calibration
            .iter()
            .map(|b| {
                vec![
                    html! { (b.decile) },
                    html! { (b.count) },
                    html! { (pct(b.predicted)) },
                    html! { (pct(b.observed)) },
                ]
            })
            .collect(),
    );
    let mut coefficients = s.coefficients.clone();
    coefficients.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()));
    let weights = DataTable::new(
        "What each feature weighs (log-odds per standard deviation; positive raises the risk)",
        vec![Column::new("Feature"), Column::new("Weight").numeric()],
    )
    .id("churn-coefficients")
    .rows(
        coefficients
            .iter()
            .map(|c| {
                vec![
                    html! { (words_of(&c.feature)) " " code { (c.feature) } },
                    html! { (format!("{:+.3}", c.weight)) },
                ]
            })
            .collect(),
    );
    page(
        StatusCode::OK,
        layout(
            title,
            SECTION,
            html! {
                (kit::page_header(
                    &crumbs,
                    title,
                    Some(html! {
                        "Version " (s.version) ", trained " (s.trained_at.replace('T', " ")) ". "
                        "Defected = no flight in the " (s.window_days) " days after a cutoff. "
                        "Trained at " (s.train_cutoff.get(..10).unwrap_or(&s.train_cutoff))
                        ", validated at the later cutoff " (s.validation_cutoff.get(..10).unwrap_or(&s.validation_cutoff)) "."
                    }),
                    None,
                ))
                (kit::stats(&[
                    ("AUC (validation)", format!("{:.3}", m.auc), None),
                    ("Brier score", format!("{:.4}", m.brier), None),
                    ("Brier, base rate only", format!("{:.4}", m.brier_baseline), None),
                    ("Validation customers", m.validation_rows.to_string(), None),
                    ("Validation customers who defected", m.validation_defected.to_string(), None),
                    ("Training customers", m.train_rows.to_string(), None),
                    ("Training customers who defected", m.train_defected.to_string(), None),
                    ("Left out: objected to analytics", s.left_out.objected.to_string(), None),
                    ("Left out: processing restricted", s.left_out.restricted.to_string(), None),
                ]))
                section #churn-calibration-section aria-labelledby="churn-cal-title" {
                    h2 #churn-cal-title { "Calibration" }
                    (calibration.render())
                    (table.render())
                }
                section aria-labelledby="churn-value-title" {
                    h2 #churn-value-title { "Expected value" }
                    p {
                        "Expected spend in the window = (1 − risk) × the trailing 12 months' spend × "
                        (s.window_days) "/365. On the validation customers its mean absolute error was "
                        strong { (decimal(m.value_mae_minor)) " EUR" }
                        " against " (decimal(m.value_mae_naive_minor)) " EUR for the same forecast without the risk; they spent "
                        (decimal(m.value_mean_actual_minor)) " EUR on average."
                    }
                }
                section aria-labelledby="churn-weights-title" {
                    h2 #churn-weights-title { "Coefficients" }
                    (weights.render())
                }
            },
        ),
    )
}
