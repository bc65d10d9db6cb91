//! Predictive models trained on the airline's own history (issue 22, item 3): the risk that a
//! customer defects (takes no flight in the next six months) and their expected value.
//!
//! The pure core — [`features`] (a history as of a cutoff), [`logistic`] (L2-regularised
//! logistic regression by gradient descent), [`metrics`] (AUC, calibration, Brier) and
//! [`model`] (the time-based split, scores explained in words, expected value in integer minor
//! units) — does no IO and reads no clock. Around it: [`storage`] (histories read from the
//! database, models stored there, every score read audited), the API and pages, the demo data.

#![forbid(unsafe_code)]

pub use routes::ChurnModule;
pub use storage::{ChurnError, ChurnStore};

pub mod demo;
pub mod events;
pub mod features;
pub mod logistic;
pub mod metrics;
pub mod model;
pub mod pages;
pub mod permissions;
pub mod routes;
pub mod storage;

/// The currency spend is counted in (purchases and ancillaries in other currencies are left
/// out: Aloft keeps no exchange rates).
pub const SPEND_CURRENCY: &str = "EUR";
