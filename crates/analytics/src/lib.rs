//! Analytics and personalisation (issue 22): segments over customers' travel, loyalty,
//! preferences, interactions, sentiment, cases and consent.
//!
//! So far the pure core: [`segment`], the rule language — validation that names every bad
//! field by JSON pointer (served as a 422) and compilation to one SQL condition over the facts
//! table, identical on SQLite and PostgreSQL but for the parameter syntax.

#![forbid(unsafe_code)]

pub use routes::AnalyticsModule;

pub mod audience;
pub mod builder;
pub mod dashboard;
pub mod derive;
pub mod events;
pub mod membership;
pub mod nba;
pub mod offers;
pub mod pages;
pub mod permissions;
pub mod routes;
pub mod segment;
pub mod segment_pages;
pub mod storage;
