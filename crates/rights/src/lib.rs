//! Passenger rights as code: what a disrupted passenger is owed under EU261, UK261, Canada's
//! APPR and the Montreal Convention (checked baggage), with the reasons and the legal sources.
//!
//! - [`claim`] — the evaluation contract's claim, parsed; every bad or missing fact is named by
//!   its JSON pointer, so nothing incomplete is ever judged.
//! - [`rules`] — amounts, thresholds and reductions as versioned configuration (`rules.json`),
//!   chosen by the day of the first departure.
//! - [`decide`] — the rules of each regime. A journey of several flights on one booking is
//!   judged as a whole: distance from first departure to final destination, delay at the final
//!   destination (C-559/16 *Bossen*; C-11/11 *Folkerts*).
//!
//! - [`routes`] — `POST /api/v1/compensation/evaluate` and the module.
//! - [`pages`] — `/compensation/claim`, the agent's claim form answering at once.
//!
//! The rules are pure: no IO, no clock, no database — the same claim gives the same decision everywhere
//! (the CLI, the API, automatic processing of disruptions).

#![forbid(unsafe_code)]

pub mod claim;
pub mod decide;
pub mod pages;
pub mod routes;
pub mod rules;

pub use claim::{Claim, ClaimError, Regime};
pub use decide::{Decision, Decisions, Money, evaluate};
pub use routes::RightsModule;
pub use rules::Rules;

/// A rules document that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("the passenger-rights rules are not usable: {0}")]
pub struct RulesError(pub String);

/// Parses a claim (the contract's JSON) and judges it.
///
/// # Errors
/// Every problem of the claim, each with its JSON pointer.
pub fn evaluate_json(
    claim: &serde_json::Value,
    rules: &Rules,
) -> Result<Decisions, Vec<ClaimError>> {
    let claim = claim::parse(claim)?;
    evaluate(&claim, rules)
}
