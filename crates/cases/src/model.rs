//! The case rules, pure and tested without IO: categories, workflows as data (versioned: an
//! open case keeps the version it was opened under), priority with its reasons, SLA targets on
//! business-hours calendars with clocks that pause while the customer is asked, and routing to
//! queues with round-robin assignment under capacity limits.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub mod irregular;

// ---------------------------------------------------------------------------------------------
// Categories
// ---------------------------------------------------------------------------------------------

/// What a case is about. The category chooses the workflow, the severity, the SLA and the queue.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// A complaint about the service.
    Complaint,
    /// Delayed, damaged or lost baggage.
    Baggage,
    /// A refund of a ticket or an ancillary.
    Refund,
    /// A claim under EU261/UK261/APPR or the Montreal Convention.
    CompensationClaim,
    /// Assistance for a passenger with reduced mobility or other needs.
    SpecialAssistance,
    /// Praise.
    Compliment,
    /// An idea for the airline.
    Suggestion,
    /// Anything else.
    GeneralEnquiry,
}

impl Category {
    /// Every category, in the order forms list them.
    pub const ALL: [Category; 8] = [
        Category::Complaint,
        Category::Baggage,
        Category::Refund,
        Category::CompensationClaim,
        Category::SpecialAssistance,
        Category::Compliment,
        Category::Suggestion,
        Category::GeneralEnquiry,
    ];

    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Complaint => "complaint",
            Self::Baggage => "baggage",
            Self::Refund => "refund",
            Self::CompensationClaim => "compensation_claim",
            Self::SpecialAssistance => "special_assistance",
            Self::Compliment => "compliment",
            Self::Suggestion => "suggestion",
            Self::GeneralEnquiry => "general_enquiry",
        }
    }

    /// The category named `s`, if any.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// How it reads on screen.
    pub fn label(self) -> &'static str {
        match self {
            Self::Complaint => "Complaint",
            Self::Baggage => "Baggage",
            Self::Refund => "Refund",
            Self::CompensationClaim => "Compensation claim",
            Self::SpecialAssistance => "Special assistance",
            Self::Compliment => "Compliment",
            Self::Suggestion => "Suggestion",
            Self::GeneralEnquiry => "General enquiry",
        }
    }

    /// Base severity (points towards priority): what is at stake for the passenger if the case
    /// waits. A passenger needing assistance, or without their bag, cannot wait; praise can.
    pub fn severity(self) -> i32 {
        match self {
            Self::SpecialAssistance => 40,
            Self::Baggage => 30,
            Self::CompensationClaim | Self::Complaint => 25,
            Self::Refund => 20,
            Self::GeneralEnquiry => 10,
            Self::Suggestion | Self::Compliment => 0,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Workflows
// ---------------------------------------------------------------------------------------------

/// One state of a workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StateDef {
    /// Stable name (`waiting_for_customer`).
    pub name: String,
    /// How it reads on screen.
    pub label: String,
    /// SLA clocks pause here: the airline waits for the customer.
    #[serde(default)]
    pub pauses_clock: bool,
    /// The case is finished here (it no longer counts as open, no clock runs).
    #[serde(default)]
    pub terminal: bool,
    /// The case counts as resolved here (the resolution clock stops).
    #[serde(default)]
    pub resolved: bool,
}

/// An allowed move between two states, with the fields the move needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TransitionDef {
    /// From this state.
    pub from: String,
    /// To this state.
    pub to: String,
    /// Fields the request must carry, non-empty (`resolution`, `reason`).
    #[serde(default)]
    pub required: Vec<String>,
}

/// A workflow: states and transitions, as data. Versioned: a change makes a new version, and a
/// case keeps the version it was opened under, so editing a workflow never strands an open case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Workflow {
    /// Version number (1, 2, …).
    pub version: i64,
    /// The state a new case starts in.
    pub initial: String,
    /// The states.
    pub states: Vec<StateDef>,
    /// The allowed transitions.
    pub transitions: Vec<TransitionDef>,
    /// The categories new cases may take, with their labels (a subset of [`Category::ALL`]:
    /// severity, SLA and routing are code). Versions stored before categories were data
    /// read as all eight.
    #[serde(default = "CategoryDef::all")]
    pub categories: Vec<CategoryDef>,
}

/// A category as a workflow offers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CategoryDef {
    /// One of the category names (`baggage`).
    pub name: String,
    /// How it reads on screen and in forms.
    pub label: String,
}

impl CategoryDef {
    /// Every category with its shipped label.
    pub fn all() -> Vec<CategoryDef> {
        Category::ALL
            .into_iter()
            .map(|c| CategoryDef {
                name: c.as_str().into(),
                label: c.label().into(),
            })
            .collect()
    }
}

/// One thing wrong with a workflow definition: the JSON pointer of the bad field and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowProblem {
    /// JSON pointer into the definition (`/transitions/3/to`).
    pub pointer: String,
    /// What is wrong, in words.
    pub message: String,
}

/// Whether `s` is a stable name: 1–40 of `a-z`, `0-9`, `_`, starting with a letter.
pub fn is_slug(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Why a transition is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The target state is not part of the case's workflow.
    #[error("{0} is not a state of this workflow")]
    UnknownState(String),
    /// The workflow has no move from the current state to the target.
    #[error("a case in {from} cannot move to {to}")]
    NotAllowed {
        /// Current state.
        from: String,
        /// Requested state.
        to: String,
    },
    /// A field the transition needs is missing or empty.
    #[error("{0} is required for this transition")]
    MissingField(String),
}

/// Why a workflow definition is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    /// A transition or the initial state names a state that is not defined.
    #[error("{0} names an undefined state")]
    UndefinedState(String),
    /// Two states share a name.
    #[error("state {0} is defined twice")]
    DuplicateState(String),
    /// No terminal state: cases could never finish.
    #[error("no terminal state")]
    NoTerminal,
}

impl Workflow {
    /// The state named `name`.
    pub fn state(&self, name: &str) -> Option<&StateDef> {
        self.states.iter().find(|s| s.name == name)
    }

    /// Whether the state pauses SLA clocks.
    pub fn pauses(&self, name: &str) -> bool {
        self.state(name).is_some_and(|s| s.pauses_clock)
    }

    /// Whether the state is terminal.
    pub fn is_terminal(&self, name: &str) -> bool {
        self.state(name).is_some_and(|s| s.terminal)
    }

    /// Whether the state counts as resolved (or finished).
    pub fn is_resolved(&self, name: &str) -> bool {
        self.state(name).is_some_and(|s| s.resolved || s.terminal)
    }

    /// The moves allowed from `from`.
    pub fn next(&self, from: &str) -> impl Iterator<Item = &TransitionDef> {
        self.transitions.iter().filter(move |t| t.from == from)
    }

    /// Checks a transition: the target exists, the move is allowed, every required field is
    /// present. `present` says whether a field is given (non-empty).
    pub fn check(
        &self,
        from: &str,
        to: &str,
        present: impl Fn(&str) -> bool,
    ) -> Result<&TransitionDef, TransitionError> {
        if self.state(to).is_none() {
            return Err(TransitionError::UnknownState(to.to_owned()));
        }
        let t = self
            .transitions
            .iter()
            .find(|t| t.from == from && t.to == to)
            .ok_or_else(|| TransitionError::NotAllowed {
                from: from.to_owned(),
                to: to.to_owned(),
            })?;
        if let Some(missing) = t.required.iter().find(|f| !present(f)) {
            return Err(TransitionError::MissingField(missing.clone()));
        }
        Ok(t)
    }

    /// Checks the definition is coherent (what the CMP manager saves must be usable).
    pub fn validate(&self) -> Result<(), WorkflowError> {
        let mut names = BTreeSet::new();
        for s in &self.states {
            if !names.insert(s.name.as_str()) {
                return Err(WorkflowError::DuplicateState(s.name.clone()));
            }
        }
        if !names.contains(self.initial.as_str()) {
            return Err(WorkflowError::UndefinedState(self.initial.clone()));
        }
        for t in &self.transitions {
            for n in [&t.from, &t.to] {
                if !names.contains(n.as_str()) {
                    return Err(WorkflowError::UndefinedState(n.clone()));
                }
            }
        }
        if !self.states.iter().any(|s| s.terminal) {
            return Err(WorkflowError::NoTerminal);
        }
        Ok(())
    }

    /// Every problem of a definition the CMP manager wants to publish, each named by its JSON
    /// pointer, in document order (empty: it can be published). Beyond [`Workflow::validate`]:
    /// names are slugs and labels are given; the initial state is not terminal; nothing leaves
    /// a terminal state; no transition is listed twice or loops to its own state; required
    /// fields are slugs named once; every state is reachable from the initial one and can
    /// reach a terminal one (no case can be stranded); at least one category, each a known
    /// one, named once, labelled. Removing a state or a category that open cases use is
    /// allowed: they keep the version they were opened under.
    pub fn problems(&self) -> Vec<WorkflowProblem> {
        let mut out = Vec::new();
        fn bad(out: &mut Vec<WorkflowProblem>, pointer: String, message: String) {
            out.push(WorkflowProblem { pointer, message })
        }
        let mut names = BTreeSet::new();
        if self.states.is_empty() {
            bad(
                &mut out,
                "/states".into(),
                "must list at least two states".into(),
            );
        }
        for (i, s) in self.states.iter().enumerate() {
            if !is_slug(&s.name) {
                bad(
                    &mut out,
                    format!("/states/{i}/name"),
                    format!(
                        "{:?} is not a name: use 1-40 lower-case letters, digits and _, starting with a letter",
                        s.name
                    ),
                );
            } else if !names.insert(s.name.as_str()) {
                bad(
                    &mut out,
                    format!("/states/{i}/name"),
                    format!("state {} is defined twice", s.name),
                );
            }
            if s.label.trim().is_empty() || s.label.chars().count() > 80 {
                bad(
                    &mut out,
                    format!("/states/{i}/label"),
                    "must be 1-80 characters".into(),
                );
            }
        }
        let defined = |n: &str| self.states.iter().any(|s| s.name == n);
        if !defined(&self.initial) {
            bad(
                &mut out,
                "/initial".into(),
                format!("{:?} is not one of the states", self.initial),
            );
        } else if self.is_terminal(&self.initial) {
            bad(
                &mut out,
                "/initial".into(),
                format!(
                    "{} is a closing state: a new case would be finished at once",
                    self.initial
                ),
            );
        }
        if !self.states.is_empty() && !self.states.iter().any(|s| s.terminal) {
            bad(
                &mut out,
                "/states".into(),
                "no closing (terminal) state: cases could never finish".into(),
            );
        }
        let mut pairs = BTreeSet::new();
        for (i, t) in self.transitions.iter().enumerate() {
            for (field, n) in [("from", &t.from), ("to", &t.to)] {
                if !defined(n) {
                    bad(
                        &mut out,
                        format!("/transitions/{i}/{field}"),
                        format!("{n:?} is not one of the states"),
                    );
                }
            }
            if defined(&t.from) && self.is_terminal(&t.from) {
                bad(
                    &mut out,
                    format!("/transitions/{i}/from"),
                    format!("{} is a closing state: nothing leaves it", t.from),
                );
            }
            if t.from == t.to {
                bad(
                    &mut out,
                    format!("/transitions/{i}/to"),
                    format!("a transition from {} to itself is not a move", t.from),
                );
            } else if !pairs.insert((t.from.as_str(), t.to.as_str())) {
                bad(
                    &mut out,
                    format!("/transitions/{i}"),
                    format!("{} to {} is listed twice", t.from, t.to),
                );
            }
            let mut seen = BTreeSet::new();
            for (j, f) in t.required.iter().enumerate() {
                if !is_slug(f) {
                    bad(
                        &mut out,
                        format!("/transitions/{i}/required/{j}"),
                        format!("{f:?} is not a field name: use lower-case letters, digits and _"),
                    );
                } else if matches!(f.as_str(), "to" | "csrf") || !seen.insert(f.as_str()) {
                    bad(
                        &mut out,
                        format!("/transitions/{i}/required/{j}"),
                        format!("{f} cannot be required here (reserved or listed twice)"),
                    );
                }
            }
        }
        // Reachability, only when the names hold together (otherwise the errors above say it).
        if out.is_empty() {
            fn reach<'a>(
                ts: &'a [TransitionDef],
                start: &'a str,
                forward: bool,
            ) -> BTreeSet<&'a str> {
                let mut seen: BTreeSet<&str> = BTreeSet::from([start]);
                let mut todo = vec![start];
                while let Some(n) = todo.pop() {
                    for t in ts {
                        let (a, b) = if forward {
                            (t.from.as_str(), t.to.as_str())
                        } else {
                            (t.to.as_str(), t.from.as_str())
                        };
                        if a == n && seen.insert(b) {
                            todo.push(b);
                        }
                    }
                }
                seen
            }
            let from_initial = reach(&self.transitions, &self.initial, true);
            let mut to_terminal = BTreeSet::new();
            for s in self.states.iter().filter(|s| s.terminal) {
                to_terminal.extend(reach(&self.transitions, &s.name, false));
            }
            for (i, s) in self.states.iter().enumerate() {
                if !from_initial.contains(s.name.as_str()) {
                    bad(
                        &mut out,
                        format!("/states/{i}/name"),
                        format!("{} cannot be reached from {}", s.name, self.initial),
                    );
                } else if !to_terminal.contains(s.name.as_str()) {
                    bad(
                        &mut out,
                        format!("/states/{i}/name"),
                        format!("a case in {} could never reach a closing state", s.name),
                    );
                }
            }
        }
        if self.categories.is_empty() {
            bad(
                &mut out,
                "/categories".into(),
                "must offer at least one category".into(),
            );
        }
        let mut cats = BTreeSet::new();
        for (i, c) in self.categories.iter().enumerate() {
            if Category::parse(&c.name).is_none() {
                bad(
                    &mut out,
                    format!("/categories/{i}/name"),
                    format!(
                        "{:?} is not a category; one of: {}",
                        c.name,
                        Category::ALL.map(Category::as_str).join(", ")
                    ),
                );
            } else if !cats.insert(c.name.as_str()) {
                bad(
                    &mut out,
                    format!("/categories/{i}/name"),
                    format!("{} is listed twice", c.name),
                );
            }
            if c.label.trim().is_empty() || c.label.chars().count() > 80 {
                bad(
                    &mut out,
                    format!("/categories/{i}/label"),
                    "must be 1-80 characters".into(),
                );
            }
        }
        out
    }

    /// Whether new cases may take `category` under this workflow.
    pub fn offers(&self, category: Category) -> bool {
        self.categories.iter().any(|c| c.name == category.as_str())
    }

    /// The categories a new case may take under this workflow, as form choices (name, label),
    /// in the workflow's order: the forms offer what the workflow offers.
    pub fn category_choices(&self) -> Vec<(String, String)> {
        self.categories
            .iter()
            .filter(|c| Category::parse(&c.name).is_some())
            .map(|c| (c.name.clone(), c.label.clone()))
            .collect()
    }

    /// How `category` reads under this workflow (its own label, else the shipped one).
    pub fn category_label(&self, category: Category) -> String {
        self.categories
            .iter()
            .find(|c| c.name == category.as_str())
            .map_or_else(|| category.label().to_owned(), |c| c.label.clone())
    }

    /// The shipped default: new → in progress ⇄ waiting for customer → resolved → closed, with
    /// a reopen, and closing a new case (spam, duplicate) only with a reason.
    pub fn shipped() -> Self {
        fn s(name: &str, label: &str, pauses: bool, resolved: bool, terminal: bool) -> StateDef {
            StateDef {
                name: name.into(),
                label: label.into(),
                pauses_clock: pauses,
                terminal,
                resolved,
            }
        }
        fn t(from: &str, to: &str, required: &[&str]) -> TransitionDef {
            TransitionDef {
                from: from.into(),
                to: to.into(),
                required: required.iter().map(|r| (*r).to_owned()).collect(),
            }
        }
        Workflow {
            version: 1,
            initial: "new".into(),
            states: vec![
                s("new", "New", false, false, false),
                s("in_progress", "In progress", false, false, false),
                s(
                    "waiting_for_customer",
                    "Waiting for customer",
                    true,
                    false,
                    false,
                ),
                s("resolved", "Resolved", true, true, false),
                s("closed", "Closed", false, true, true),
            ],
            transitions: vec![
                t("new", "in_progress", &[]),
                t("new", "waiting_for_customer", &["message"]),
                t("new", "closed", &["reason"]),
                t("in_progress", "waiting_for_customer", &["message"]),
                t("in_progress", "resolved", &["resolution"]),
                t("waiting_for_customer", "in_progress", &[]),
                t("waiting_for_customer", "resolved", &["resolution"]),
                t("waiting_for_customer", "closed", &["reason"]),
                t("resolved", "closed", &[]),
                t("resolved", "in_progress", &["reason"]),
            ],
            categories: CategoryDef::all(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Priority
// ---------------------------------------------------------------------------------------------

/// Case priority, most urgent first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Act now.
    Urgent,
    /// Today.
    High,
    /// In the normal course.
    Normal,
    /// When time allows.
    Low,
}

impl Priority {
    /// Every priority, most urgent first.
    pub const ALL: [Priority; 4] = [Self::Urgent, Self::High, Self::Normal, Self::Low];

    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Urgent => "urgent",
            Self::High => "high",
            Self::Normal => "normal",
            Self::Low => "low",
        }
    }

    /// The priority named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The priority of a score (sum of the reasons' points).
    pub fn of_score(score: i32) -> Self {
        match score {
            s if s >= 70 => Self::Urgent,
            s if s >= 45 => Self::High,
            s if s >= 15 => Self::Normal,
            _ => Self::Low,
        }
    }
}

/// One reason that raised (or set) a case's priority, so the agent sees why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PriorityReason {
    /// Stable code (`category_severity`, `tier`, `special_assistance`, `negative_sentiment`,
    /// `regulatory_deadline`, `age`, `override`).
    pub code: String,
    /// What it means for this case, in words.
    pub detail: String,
    /// Points it adds.
    pub points: i32,
}

/// Scores the tone of a customer's message: the more negative, the higher. Behind a trait so a
/// better model can replace the word list without touching the priority rules.
pub trait Sentiment: Send + Sync {
    /// A negativity score from 0 (neutral or positive) to 100.
    fn negativity(&self, text: &str) -> u8;
}

/// The shipped heuristic: counts words of anger and distress (English, German, French, Spanish).
#[derive(Debug, Clone, Copy, Default)]
pub struct NegativeWords;

const NEGATIVE_WORDS: &[&str] = &[
    "angry",
    "furious",
    "unacceptable",
    "disgusted",
    "disgusting",
    "terrible",
    "awful",
    "worst",
    "horrible",
    "outrageous",
    "lawyer",
    "legal",
    "scandal",
    "never again",
    "ruined",
    "stranded",
    "lost",
    "rude",
    "appalling",
    "disappointed",
    "inakzeptabel",
    "wütend",
    "skandal",
    "inacceptable",
    "furieux",
    "inaceptable",
];

impl Sentiment for NegativeWords {
    fn negativity(&self, text: &str) -> u8 {
        let lower = text.to_lowercase();
        let hits = NEGATIVE_WORDS.iter().filter(|w| lower.contains(*w)).count();
        let shouting = text.matches('!').count() >= 3;
        let score = hits * 30 + if shouting { 20 } else { 0 };
        score.min(100) as u8
    }
}

/// What priority is computed from.
#[derive(Debug, Clone)]
pub struct PriorityInputs<'a> {
    /// The category.
    pub category: Category,
    /// The customer's frequent-flyer tier, lower-case (`gold`), if any.
    pub tier: Option<&'a str>,
    /// The customer needs special assistance (standing PRM SSR, or the category itself).
    pub special_assistance: bool,
    /// The customer's words (subject and description or latest message).
    pub text: &'a str,
    /// A regulatory deadline that applies (e.g. a claim answer due), if any.
    pub regulatory_deadline: Option<DateTime<Utc>>,
    /// When the case was opened.
    pub opened_at: DateTime<Utc>,
    /// Now.
    pub now: DateTime<Utc>,
}

/// The computed priority and every reason for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Prioritised {
    /// The priority.
    pub priority: Priority,
    /// Why, in the order the rules apply.
    pub reasons: Vec<PriorityReason>,
}

/// Computes a case's priority with its reasons: severity by category, customer tier, special
/// assistance, sentiment of the message, a regulatory deadline within a week, and age.
pub fn prioritise(inputs: &PriorityInputs<'_>, sentiment: &dyn Sentiment) -> Prioritised {
    let mut reasons = Vec::new();
    let mut add = |code: &str, detail: String, points: i32| {
        if points != 0 {
            reasons.push(PriorityReason {
                code: code.into(),
                detail,
                points,
            });
        }
    };
    add(
        "category_severity",
        format!(
            "{} cases weigh {}",
            inputs.category.label(),
            inputs.category.severity()
        ),
        inputs.category.severity(),
    );
    if let Some(tier) = inputs.tier {
        let points = match tier.to_ascii_lowercase().as_str() {
            "platinum" | "diamond" => 25,
            "gold" => 20,
            "silver" => 10,
            _ => 0,
        };
        add("tier", format!("{tier} frequent flyer"), points);
    }
    if inputs.special_assistance && inputs.category != Category::SpecialAssistance {
        add(
            "special_assistance",
            "The passenger needs special assistance".into(),
            20,
        );
    }
    let negativity = sentiment.negativity(inputs.text);
    if negativity >= 30 {
        add(
            "negative_sentiment",
            format!("The message reads as upset (negativity {negativity}/100)"),
            i32::from(negativity) / 4,
        );
    }
    if let Some(deadline) = inputs.regulatory_deadline {
        let left = deadline - inputs.now;
        if left <= Duration::days(7) {
            add(
                "regulatory_deadline",
                format!(
                    "A regulatory deadline falls on {}",
                    deadline.format("%Y-%m-%d")
                ),
                if left <= Duration::days(2) { 30 } else { 15 },
            );
        }
    }
    let age = inputs.now - inputs.opened_at;
    if age >= Duration::days(3) {
        add(
            "age",
            format!("Open for {} days", age.num_days()),
            (age.num_days() as i32 * 3).min(20),
        );
    }
    let score = reasons.iter().map(|r| r.points).sum();
    Prioritised {
        priority: Priority::of_score(score),
        reasons,
    }
}

/// Why a priority override is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an override needs a reason")]
pub struct OverrideWithoutReason;

/// An agent sets the priority by hand: allowed only with a reason, which joins the reasons.
pub fn override_priority(
    computed: &Prioritised,
    to: Priority,
    reason: &str,
) -> Result<Prioritised, OverrideWithoutReason> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(OverrideWithoutReason);
    }
    let mut reasons = computed.reasons.clone();
    reasons.push(PriorityReason {
        code: "override".into(),
        detail: format!("Set to {} by an agent: {reason}", to.as_str()),
        points: 0,
    });
    Ok(Prioritised {
        priority: to,
        reasons,
    })
}

// ---------------------------------------------------------------------------------------------
// Business-hours calendars and SLA clocks
// ---------------------------------------------------------------------------------------------

/// When a team works: opening hours per weekday in a station's time zone, minus holidays.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessCalendar {
    /// The station's IANA time zone.
    pub tz: Tz,
    /// Opening hours by weekday (Monday first): opens and closes (local), `None` for closing
    /// at midnight; a day without hours is not worked.
    pub week: [Option<(NaiveTime, Option<NaiveTime>)>; 7],
    /// Holidays (local dates) on which nobody works.
    pub holidays: BTreeSet<NaiveDate>,
}

impl BusinessCalendar {
    /// Round the clock, every day (a contact centre that never closes).
    pub fn always(tz: Tz) -> Self {
        Self {
            tz,
            week: [Some((NaiveTime::MIN, None)); 7],
            holidays: BTreeSet::new(),
        }
    }

    /// Monday to Friday, `opens`–`closes` local time.
    pub fn weekdays(tz: Tz, opens: NaiveTime, closes: NaiveTime) -> Self {
        let mut week = [None; 7];
        for d in week.iter_mut().take(5) {
            *d = Some((opens, Some(closes)));
        }
        Self {
            tz,
            week,
            holidays: BTreeSet::new(),
        }
    }

    /// The same calendar with these holidays.
    pub fn with_holidays(mut self, holidays: impl IntoIterator<Item = NaiveDate>) -> Self {
        self.holidays.extend(holidays);
        self
    }

    /// The same calendar with `day`'s hours set (`None`: not worked).
    pub fn with_day(mut self, day: Weekday, hours: Option<(NaiveTime, Option<NaiveTime>)>) -> Self {
        self.week[day.num_days_from_monday() as usize] = hours;
        self
    }

    /// The working window of local date `d` in UTC, if it is a working day. Opening and
    /// closing are local wall-clock times, so a window on a DST change day is an hour shorter
    /// or longer in real time; a time that falls into a DST gap moves to the first valid
    /// instant after it.
    fn window(&self, d: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if self.holidays.contains(&d) {
            return None;
        }
        let (opens, closes) = self.week[d.weekday().num_days_from_monday() as usize]?;
        let local = |date: NaiveDate, t: NaiveTime| {
            // A DST gap or fold: take the earliest valid instant.
            self.tz
                .from_local_datetime(&date.and_time(t))
                .earliest()
                .or_else(|| {
                    self.tz
                        .from_local_datetime(&(date.and_time(t) + Duration::hours(1)))
                        .earliest()
                })
                .map(|x| x.with_timezone(&Utc))
        };
        let start = local(d, opens)?;
        let end = match closes {
            Some(c) => local(d, c)?,
            None => local(d.succ_opt()?, NaiveTime::MIN)?,
        };
        (end > start).then_some((start, end))
    }

    /// The instant `minutes` business minutes after `from`.
    pub fn add(&self, from: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
        let mut left = Duration::minutes(minutes.max(0));
        let mut day = from.with_timezone(&self.tz).date_naive();
        // Bounded: a calendar with no working day at all gives up after ten years.
        for _ in 0..3660 {
            if let Some((start, end)) = self.window(day) {
                let begin = start.max(from);
                if begin < end {
                    let available = end - begin;
                    if left <= available {
                        return begin + left;
                    }
                    left -= available;
                }
            }
            day = match day.succ_opt() {
                Some(d) => d,
                None => break,
            };
        }
        from + left
    }

    /// Business minutes between `from` and `to` (0 if `to` is not later).
    pub fn minutes_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        let mut total = Duration::zero();
        let mut day = from.with_timezone(&self.tz).date_naive();
        let last = to.with_timezone(&self.tz).date_naive();
        while day <= last {
            if let Some((start, end)) = self.window(day) {
                let a = start.max(from);
                let b = end.min(to);
                if b > a {
                    total += b - a;
                }
            }
            day = match day.succ_opt() {
                Some(d) => d,
                None => break,
            };
        }
        total.num_minutes()
    }
}

/// SLA targets in business minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct SlaTargets {
    /// First response to the customer.
    pub first_response: i64,
    /// Each next response after a customer's message.
    pub next_response: i64,
    /// Resolution.
    pub resolution: i64,
}

/// The shipped SLA policy by category × priority (business minutes): regulatory and
/// assistance matters are tight; praise and ideas are loose.
pub fn sla_targets(category: Category, priority: Priority) -> SlaTargets {
    let (first, next, resolution) = match priority {
        Priority::Urgent => (60, 120, 8 * 60),
        Priority::High => (4 * 60, 8 * 60, 3 * 8 * 60),
        Priority::Normal => (8 * 60, 16 * 60, 5 * 8 * 60),
        Priority::Low => (16 * 60, 24 * 60, 10 * 8 * 60),
    };
    let factor = match category {
        Category::Compliment | Category::Suggestion => 2,
        _ => 1,
    };
    SlaTargets {
        first_response: first * factor,
        next_response: next * factor,
        resolution: resolution * factor,
    }
}

/// An SLA clock: a target in business minutes, the minutes already used, and whether it runs.
/// It pauses while the case waits for the customer and resumes on their reply, keeping what was
/// used; the due instant moves by the paused business time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaClock {
    /// The target (business minutes).
    pub target: i64,
    /// Business minutes used while it ran, up to the last pause.
    pub used: i64,
    /// Since when it runs; `None` while paused or stopped.
    pub running_since: Option<DateTime<Utc>>,
}

impl SlaClock {
    /// A clock that starts at `at`.
    pub fn start(target: i64, at: DateTime<Utc>) -> Self {
        Self {
            target,
            used: 0,
            running_since: Some(at),
        }
    }

    /// Pauses it (no effect if already paused).
    pub fn pause(&mut self, at: DateTime<Utc>, cal: &BusinessCalendar) {
        if let Some(since) = self.running_since.take() {
            self.used += cal.minutes_between(since, at);
        }
    }

    /// Resumes it (no effect if running).
    pub fn resume(&mut self, at: DateTime<Utc>) {
        if self.running_since.is_none() {
            self.running_since = Some(at);
        }
    }

    /// When it is due, if running.
    pub fn due(&self, cal: &BusinessCalendar) -> Option<DateTime<Utc>> {
        self.running_since
            .map(|since| cal.add(since, (self.target - self.used).max(0)))
    }

    /// Business minutes used by `now`.
    pub fn used_at(&self, now: DateTime<Utc>, cal: &BusinessCalendar) -> i64 {
        self.used
            + self
                .running_since
                .map_or(0, |since| cal.minutes_between(since, now))
    }

    /// Where it stands at `now`.
    pub fn status(&self, now: DateTime<Utc>, cal: &BusinessCalendar) -> SlaStatus {
        let used = self.used_at(now, cal);
        if used >= self.target {
            SlaStatus::Breached
        } else if used * 100 >= self.target * WARN_AT_PERCENT {
            SlaStatus::AtRisk
        } else {
            SlaStatus::OnTrack
        }
    }
}

/// A clock warns at this share of its target used.
pub const WARN_AT_PERCENT: i64 = 75;

/// Where an SLA clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlaStatus {
    /// Less than the warning share used.
    OnTrack,
    /// Past the warning share: escalate soon.
    AtRisk,
    /// The target is missed.
    Breached,
}

// ---------------------------------------------------------------------------------------------
// Routing and assignment
// ---------------------------------------------------------------------------------------------

/// A queue and what it takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct QueueDef {
    /// Stable name (`baggage`).
    pub name: &'static str,
    /// How it reads on screen.
    pub label: &'static str,
    /// The categories routed to it.
    pub categories: &'static [Category],
}

/// The supervisor queue escalations go to.
pub const SUPERVISOR_QUEUE: &str = "supervisors";

/// The shipped queues.
pub const QUEUES: &[QueueDef] = &[
    QueueDef {
        name: "customer_care",
        label: "Customer care",
        categories: &[
            Category::Complaint,
            Category::GeneralEnquiry,
            Category::Compliment,
            Category::Suggestion,
        ],
    },
    QueueDef {
        name: "baggage",
        label: "Baggage services",
        categories: &[Category::Baggage],
    },
    QueueDef {
        name: "claims",
        label: "Refunds and claims",
        categories: &[Category::Refund, Category::CompensationClaim],
    },
    QueueDef {
        name: "assistance",
        label: "Special assistance",
        categories: &[Category::SpecialAssistance],
    },
    QueueDef {
        name: irregular::DISRUPTION_QUEUE,
        label: "Irregular operations",
        categories: &[],
    },
    QueueDef {
        name: SUPERVISOR_QUEUE,
        label: "Supervisors (escalations)",
        categories: &[],
    },
];

/// The queue a new case of `category` goes to.
pub fn route(category: Category) -> &'static str {
    QUEUES
        .iter()
        .find(|q| q.categories.contains(&category))
        .map_or("customer_care", |q| q.name)
}

/// Whether `name` is a queue.
pub fn is_queue(name: &str) -> bool {
    QUEUES.iter().any(|q| q.name == name)
}

/// An agent as routing sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSlot {
    /// The staff actor id.
    pub id: String,
    /// Taking work now.
    pub available: bool,
    /// Most open cases they may hold.
    pub capacity: i64,
    /// Open cases they hold.
    pub open: i64,
    /// When they were last given a case (`None`: never).
    pub last_assigned: Option<DateTime<Utc>>,
    /// Languages they answer in (empty: any).
    pub languages: Vec<String>,
}

/// Round-robin among the queue's available agents with room: the one given a case longest ago
/// (never given one first, then by id for a stable order), who speaks the customer's language
/// when the case has one and someone does. `None`: nobody has room; the case waits in the queue.
pub fn pick_agent<'a>(agents: &'a [AgentSlot], language: Option<&str>) -> Option<&'a AgentSlot> {
    let free = || agents.iter().filter(|a| a.available && a.open < a.capacity);
    let speaks = |a: &&AgentSlot| {
        language.is_none_or(|l| {
            a.languages.is_empty()
                || a.languages.iter().any(|x| {
                    x.eq_ignore_ascii_case(l)
                        || l.to_ascii_lowercase()
                            .starts_with(&format!("{}-", x.to_ascii_lowercase()))
                })
        })
    };
    let order = |a: &&AgentSlot, b: &&AgentSlot| {
        a.last_assigned
            .cmp(&b.last_assigned)
            .then_with(|| a.id.cmp(&b.id))
    };
    free()
        .filter(speaks)
        .min_by(order)
        .or_else(|| free().min_by(order))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_shipped_workflow_is_coherent_and_refuses_illegal_moves() {
        let w = Workflow::shipped();
        w.validate().unwrap();
        assert!(w.check("new", "in_progress", |_| false).is_ok());
        assert_eq!(
            w.check("new", "resolved", |_| true).unwrap_err(),
            TransitionError::NotAllowed {
                from: "new".into(),
                to: "resolved".into()
            }
        );
        assert_eq!(
            w.check("in_progress", "resolved", |_| false).unwrap_err(),
            TransitionError::MissingField("resolution".into())
        );
        assert!(
            w.check("in_progress", "resolved", |f| f == "resolution")
                .is_ok()
        );
        assert_eq!(
            w.check("new", "teleported", |_| true).unwrap_err(),
            TransitionError::UnknownState("teleported".into())
        );
        assert!(w.pauses("waiting_for_customer"));
        assert!(w.is_terminal("closed"));
        let mut broken = w.clone();
        broken.transitions.push(TransitionDef {
            from: "new".into(),
            to: "nowhere".into(),
            required: vec![],
        });
        assert_eq!(
            broken.validate(),
            Err(WorkflowError::UndefinedState("nowhere".into()))
        );
    }

    fn pointers(w: &Workflow) -> Vec<String> {
        w.problems().into_iter().map(|p| p.pointer).collect()
    }

    #[test]
    fn a_definition_is_checked_and_each_problem_named_by_pointer() {
        assert!(Workflow::shipped().problems().is_empty());
        // An unknown state in a transition.
        let mut w = Workflow::shipped();
        w.transitions[2].to = "archived".into();
        assert_eq!(pointers(&w), ["/transitions/2/to"]);
        // A duplicate state name, a bad name, an empty label.
        let mut w = Workflow::shipped();
        w.states[1].name = "new".into();
        w.states[2].label = " ".into();
        let p = pointers(&w);
        assert!(p.contains(&"/states/1/name".to_owned()), "{p:?}");
        assert!(p.contains(&"/states/2/label".to_owned()), "{p:?}");
        // No closing state; an initial state that is not defined.
        let mut w = Workflow::shipped();
        for s in &mut w.states {
            s.terminal = false;
        }
        w.initial = "start".into();
        let p = pointers(&w);
        assert!(p.contains(&"/states".to_owned()), "{p:?}");
        assert!(p.contains(&"/initial".to_owned()), "{p:?}");
        // An unreachable state, and a state with no way to a closing one.
        let mut w = Workflow::shipped();
        w.states.push(StateDef {
            name: "limbo".into(),
            label: "Limbo".into(),
            pauses_clock: false,
            terminal: false,
            resolved: false,
        });
        assert_eq!(pointers(&w), ["/states/5/name"]);
        w.transitions.push(TransitionDef {
            from: "new".into(),
            to: "limbo".into(),
            required: vec![],
        });
        let problems = w.problems();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("never reach a closing state"));
        // Leaving a closing state, a loop, a duplicate move, a bad required field.
        let mut w = Workflow::shipped();
        w.transitions.push(TransitionDef {
            from: "closed".into(),
            to: "new".into(),
            required: vec![],
        });
        w.transitions.push(TransitionDef {
            from: "new".into(),
            to: "new".into(),
            required: vec![],
        });
        w.transitions.push(w.transitions[0].clone());
        w.transitions[1].required = vec!["Message!".into()];
        assert_eq!(
            pointers(&w),
            [
                "/transitions/1/required/0",
                "/transitions/10/from",
                "/transitions/11/to",
                "/transitions/12"
            ]
        );
        // Categories: known ones, once each, at least one.
        let mut w = Workflow::shipped();
        w.categories[0].name = "lost_pets".into();
        w.categories[2].name = "baggage".into();
        assert_eq!(pointers(&w), ["/categories/0/name", "/categories/2/name"]);
        w.categories.clear();
        assert_eq!(pointers(&w), ["/categories"]);
    }

    #[test]
    fn a_stored_version_without_categories_offers_them_all() {
        let mut json = serde_json::to_value(Workflow::shipped()).unwrap();
        json.as_object_mut().unwrap().remove("categories");
        let w: Workflow = serde_json::from_value(json).unwrap();
        assert!(Category::ALL.into_iter().all(|c| w.offers(c)));
        let mut fewer = w.clone();
        fewer.categories.retain(|c| c.name != "suggestion");
        fewer.categories[0].label = "Complaints".into();
        assert!(!fewer.offers(Category::Suggestion));
        assert!(
            !fewer
                .category_choices()
                .iter()
                .any(|(name, _)| name == "suggestion")
        );
        assert_eq!(w.category_choices().len(), Category::ALL.len());
        assert_eq!(fewer.category_label(Category::Complaint), "Complaints");
        assert_eq!(fewer.category_label(Category::Suggestion), "Suggestion");
    }

    #[test]
    fn a_workflow_round_trips_as_data() {
        let w = Workflow::shipped();
        let json = serde_json::to_string(&w).unwrap();
        let back: Workflow = serde_json::from_str(&json).unwrap();
        assert_eq!(back, w);
    }

    #[test]
    fn priority_is_explained() {
        let now = at("2026-12-06T10:00:00Z");
        let p = prioritise(
            &PriorityInputs {
                category: Category::Baggage,
                tier: Some("gold"),
                special_assistance: true,
                text: "My bag is LOST and this is unacceptable!!!",
                regulatory_deadline: None,
                opened_at: now,
                now,
            },
            &NegativeWords,
        );
        let codes: Vec<&str> = p.reasons.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "category_severity",
                "tier",
                "special_assistance",
                "negative_sentiment"
            ]
        );
        assert_eq!(p.priority, Priority::Urgent);

        let calm = prioritise(
            &PriorityInputs {
                category: Category::Compliment,
                tier: None,
                special_assistance: false,
                text: "Lovely crew on LH400, thank you",
                regulatory_deadline: None,
                opened_at: now,
                now,
            },
            &NegativeWords,
        );
        assert_eq!(calm.priority, Priority::Low);
        assert!(calm.reasons.is_empty());

        let old_claim = prioritise(
            &PriorityInputs {
                category: Category::CompensationClaim,
                tier: None,
                special_assistance: false,
                text: "Claim for LH400",
                regulatory_deadline: Some(now + Duration::days(1)),
                opened_at: now - Duration::days(10),
                now,
            },
            &NegativeWords,
        );
        assert_eq!(old_claim.priority, Priority::Urgent);
        assert!(old_claim.reasons.iter().any(|r| r.code == "age"));
    }

    #[test]
    fn an_override_needs_a_reason_and_keeps_the_computed_ones() {
        let base = Prioritised {
            priority: Priority::Low,
            reasons: vec![],
        };
        assert_eq!(
            override_priority(&base, Priority::High, "  "),
            Err(OverrideWithoutReason)
        );
        let o = override_priority(&base, Priority::High, "Press enquiry").unwrap();
        assert_eq!(o.priority, Priority::High);
        assert_eq!(o.reasons[0].code, "override");
    }

    fn frankfurt() -> BusinessCalendar {
        BusinessCalendar::weekdays(
            chrono_tz::Europe::Berlin,
            NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
        )
        .with_holidays([NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()])
    }

    #[test]
    fn business_time_skips_nights_weekends_and_holidays_in_the_station_zone() {
        let cal = frankfurt();
        // Friday 16:00 Berlin (15:00Z) + 2 h → Monday 10:00 Berlin (09:00Z).
        assert_eq!(
            cal.add(at("2026-12-04T15:00:00Z"), 120),
            at("2026-12-07T09:00:00Z")
        );
        // Thursday 24 Dec 16:30 + 60 min → Christmas is a holiday → Monday 28 Dec 09:30 Berlin.
        assert_eq!(
            cal.add(at("2026-12-24T15:30:00Z"), 60),
            at("2026-12-28T08:30:00Z")
        );
        // Saturday night: nothing counts.
        assert_eq!(
            cal.minutes_between(at("2026-12-05T20:00:00Z"), at("2026-12-06T20:00:00Z")),
            0
        );
        assert_eq!(
            cal.minutes_between(at("2026-12-04T15:00:00Z"), at("2026-12-07T09:00:00Z")),
            120
        );
        // Round the clock, in New York.
        let ny = BusinessCalendar::always(chrono_tz::America::New_York);
        assert_eq!(
            ny.add(at("2026-12-05T23:00:00Z"), 180),
            at("2026-12-06T02:00:00Z")
        );
    }

    #[test]
    fn clocks_pause_while_waiting_for_the_customer_and_resume_on_reply() {
        let cal = frankfurt();
        // Opened Monday 09:00 Berlin with an 8-hour resolution target.
        let mut clock = SlaClock::start(480, at("2026-12-07T08:00:00Z"));
        assert_eq!(clock.due(&cal), Some(at("2026-12-07T16:00:00Z")));
        // Two hours of work, then the agent asks the customer.
        clock.pause(at("2026-12-07T10:00:00Z"), &cal);
        assert_eq!(clock.used, 120);
        assert_eq!(clock.due(&cal), None);
        // Paused time never counts, however long.
        assert_eq!(clock.used_at(at("2026-12-09T12:00:00Z"), &cal), 120);
        assert_eq!(
            clock.status(at("2026-12-09T12:00:00Z"), &cal),
            SlaStatus::OnTrack
        );
        // The customer replies on Wednesday 10:00 Berlin: six hours left → 16:00 Berlin.
        clock.resume(at("2026-12-09T09:00:00Z"));
        assert_eq!(clock.due(&cal), Some(at("2026-12-09T15:00:00Z")));
        assert_eq!(
            clock.status(at("2026-12-09T13:00:00Z"), &cal),
            SlaStatus::AtRisk
        );
        assert_eq!(
            clock.status(at("2026-12-09T15:00:00Z"), &cal),
            SlaStatus::Breached
        );
        // Pausing twice or resuming a running clock changes nothing.
        let before = clock;
        clock.resume(at("2026-12-09T10:00:00Z"));
        assert_eq!(clock, before);
    }

    #[test]
    fn sla_targets_follow_priority_and_type() {
        assert!(
            sla_targets(Category::Complaint, Priority::Urgent).first_response
                < sla_targets(Category::Complaint, Priority::Low).first_response
        );
        assert_eq!(
            sla_targets(Category::Compliment, Priority::Low).resolution,
            2 * sla_targets(Category::Complaint, Priority::Low).resolution
        );
    }

    #[test]
    fn routing_sends_each_category_to_its_queue() {
        assert_eq!(route(Category::Baggage), "baggage");
        assert_eq!(route(Category::CompensationClaim), "claims");
        assert_eq!(route(Category::SpecialAssistance), "assistance");
        assert_eq!(route(Category::Compliment), "customer_care");
        for c in Category::ALL {
            assert!(is_queue(route(c)));
            assert_eq!(Category::parse(c.as_str()), Some(c));
        }
        assert!(!is_queue("nowhere"));
    }

    #[test]
    fn round_robin_respects_availability_capacity_and_language() {
        let t0 = at("2026-12-06T08:00:00Z");
        let agent = |id: &str, available, open, last: Option<i64>, langs: &[&str]| AgentSlot {
            id: id.into(),
            available,
            capacity: 3,
            open,
            last_assigned: last.map(|m| t0 + Duration::minutes(m)),
            languages: langs.iter().map(|l| (*l).to_owned()).collect(),
        };
        let agents = vec![
            agent("ana", true, 1, Some(10), &["en"]),
            agent("ben", true, 0, Some(5), &["de", "en"]),
            agent("cai", false, 0, None, &[]),
            agent("dee", true, 3, None, &[]),
        ];
        // Ben was given a case longest ago; Cai is away, Dee is full.
        assert_eq!(pick_agent(&agents, None).unwrap().id, "ben");
        assert_eq!(pick_agent(&agents, Some("de-DE")).unwrap().id, "ben");
        let mut after = agents.clone();
        after[1].last_assigned = Some(t0 + Duration::minutes(20));
        after[1].open = 1;
        assert_eq!(pick_agent(&after, None).unwrap().id, "ana");
        // Nobody speaks French: still someone with room.
        assert_eq!(pick_agent(&after, Some("fr")).unwrap().id, "ana");
        let full: Vec<AgentSlot> = agents
            .iter()
            .cloned()
            .map(|mut a| {
                a.open = 3;
                a
            })
            .collect();
        assert_eq!(pick_agent(&full, None), None);
    }
}
